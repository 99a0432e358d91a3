//! Per-kind rules the planner needs: which attributes cannot change in place, and which
//! maps are compared whole instead of key by key.

use tether_model::{Address, ProviderId, Value};

/// The planner's rules for one resource kind.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct KindSchema {
    /// The provider owning the kind.
    pub provider: ProviderId,
    /// The kind as it appears in addresses.
    pub kind: &'static str,
    /// Position in creation order among the provider's kinds: a kind may depend only on kinds
    /// of lower rank. Deletes of resources that state has no record of run in reverse rank.
    pub rank: u8,
    /// Dotted attribute paths whose change requires deleting and re-creating the resource.
    pub forces_replacement: &'static [&'static str],
    /// Dotted paths of maps compared whole: a key present only in the observed map is a
    /// difference. Other maps are compared only on the keys tether sets, because servers add
    /// their own (defaults, status, other controllers' labels).
    pub exact_maps: &'static [&'static str],
    /// The effect of this kind's changes on running nodes.
    pub nodes: NodeEffects,
    /// True when a replacement can create the new copy before deleting the old one, because two
    /// copies can exist at once (no unique name, CIDR or held address between them).
    pub create_before_destroy: bool,
    /// Paths among [`KindSchema::forces_replacement`] that an update can set while the resource
    /// has no value for them, e.g. the VPC of an internet gateway that a killed run created but
    /// never attached. Changing a value that is set still replaces the resource.
    pub set_in_place_when_unset: &'static [&'static str],
}

/// The reach of a kind's changes into running nodes, from HyperShift's NodePool rollout rules and
/// the Machine Config Operator's update behaviour.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum NodeEffects {
    /// The kind runs no nodes, or its changes do not reach them.
    None,
    /// A HyperShift NodePool.
    NodePool {
        /// Dotted paths whose change rolls out new nodes (a new machine template or payload).
        rollout: &'static [&'static str],
        /// Dotted paths whose change reaches only nodes created afterwards.
        new_nodes_only: &'static [&'static str],
    },
    /// A HyperShift HostedCluster: replacing it replaces the hosted control plane.
    HostedCluster,
    /// A MachineConfig: creating, changing or deleting one drains and reboots each node of the
    /// MachineConfigPool named by this label, because a dispatcher script is not one of the
    /// Machine Config Operator's rebootless cases.
    MachineConfig {
        /// The label whose value names the MachineConfigPool.
        role_label: &'static str,
    },
}

impl KindSchema {
    /// True when a change at `path` (dotted) touches an attribute that forces replacement:
    /// the path is one of them, lies inside one, or contains one.
    pub fn forces_replacement(&self, path: &str) -> bool {
        self.forces_replacement.iter().any(|forced| overlaps(path, forced))
    }

    /// Returns true when a change of `path` replaces the resource, given its observed value: a
    /// path in [`KindSchema::set_in_place_when_unset`] without a value is set by an update.
    pub fn replaces_on_change(&self, path: &str, observed: Option<&Value>) -> bool {
        let unset = observed.is_none_or(|value| matches!(value, Value::Null));
        self.forces_replacement(path) && !(unset && self.set_in_place_when_unset.contains(&path))
    }

    /// Returns the paths among `paths` that lie inside or contain one of `fields`.
    pub fn matching<'p>(fields: &[&str], paths: impl IntoIterator<Item = &'p str>) -> Vec<String> {
        paths.into_iter().filter(|path| fields.iter().any(|field| overlaps(path, field))).map(str::to_owned).collect()
    }

    /// True when the map at `path` is compared whole.
    pub fn is_exact_map(&self, path: &str) -> bool {
        self.exact_maps.contains(&path)
    }
}

fn overlaps(path: &str, other: &str) -> bool {
    let within = |inner: &str, outer: &str| {
        inner == outer || (inner.starts_with(outer) && inner.as_bytes().get(outer.len()) == Some(&b'.'))
    };
    within(path, other) || within(other, path)
}

const AWS_TAGS: &[&str] = &["tags"];

// A role's inline policies are compared whole: a policy tether does not write is a difference.
const IAM_ROLE_MAPS: &[&str] = &["tags", "inline_policies"];

// Kubernetes object identity: a new name or namespace is a different object.
const KUBE_IDENTITY: [&str; 4] = ["apiVersion", "kind", "metadata.name", "metadata.namespace"];

/// HostedCluster fields that HyperShift's API rejects changing (CEL rules) or marks immutable
/// in its Go types (region, VPC, roles); see the HostedCluster API reference.
const HOSTED_CLUSTER_FIXED: &[&str] = &[
    "apiVersion",
    "kind",
    "metadata.name",
    "metadata.namespace",
    "spec.infraID",
    "spec.issuerURL",
    "spec.dns.baseDomain",
    "spec.platform.type",
    "spec.platform.aws.region",
    "spec.platform.aws.cloudProviderConfig",
    "spec.platform.aws.rolesRef",
    "spec.networking.clusterNetwork",
    "spec.networking.serviceNetwork",
    "spec.networking.machineNetwork",
    "spec.etcd",
    "spec.services",
    "spec.controllerAvailabilityPolicy",
];

/// NodePool fields that are immutable in HyperShift's API.
const NODE_POOL_FIXED: &[&str] = &[
    "apiVersion",
    "kind",
    "metadata.name",
    "metadata.namespace",
    "spec.clusterName",
    "spec.management.upgradeType",
    "spec.arch",
    "spec.platform.type",
];

/// NodePool fields whose change rolls the pool's nodes: the release payload, the configuration
/// ConfigMaps and every AWS machine-template field. CAPA machine templates cannot be edited in
/// place, so HyperShift creates a new template and replaces the nodes.
const NODE_POOL_ROLLOUT: &[&str] = &[
    "spec.release",
    "spec.config",
    "spec.tuningConfig",
    "spec.platform.aws.ami",
    "spec.platform.aws.instanceType",
    "spec.platform.aws.instanceProfile",
    "spec.platform.aws.subnet",
    "spec.platform.aws.securityGroups",
    "spec.platform.aws.rootVolume",
    "spec.platform.aws.placement",
];

/// NodePool fields that HyperShift copies onto a Node once, when the Node registers.
const NODE_POOL_NEW_NODES_ONLY: &[&str] = &["spec.taints", "spec.nodeLabels"];

const fn aws(kind: &'static str, rank: u8, forces_replacement: &'static [&'static str]) -> KindSchema {
    KindSchema {
        provider: ProviderId::Aws,
        kind,
        rank,
        forces_replacement,
        exact_maps: AWS_TAGS,
        nodes: NodeEffects::None,
        create_before_destroy: false,
        set_in_place_when_unset: &[],
    }
}

const fn cluster(kind: &'static str, rank: u8, forces_replacement: &'static [&'static str]) -> KindSchema {
    KindSchema {
        provider: ProviderId::Cluster,
        kind,
        rank,
        forces_replacement,
        exact_maps: &[],
        nodes: NodeEffects::None,
        create_before_destroy: false,
        set_in_place_when_unset: &[],
    }
}

const fn hosted(kind: &'static str, rank: u8, exact_maps: &'static [&'static str]) -> KindSchema {
    KindSchema { provider: ProviderId::Hosted, exact_maps, ..cluster(kind, rank, &KUBE_IDENTITY) }
}

const fn with_nodes(schema: KindSchema, nodes: NodeEffects) -> KindSchema {
    KindSchema { nodes, ..schema }
}

const SCHEMAS: &[KindSchema] = &[
    aws("vpc", 0, &["cidr_block"]),
    aws("eip", 0, &["domain"]),
    // DHCP options cannot be changed once created.
    aws("dhcp_options", 0, &["domain_name", "domain_name_servers"]),
    aws("oidc_provider", 0, &["url", "client_ids"]),
    KindSchema { exact_maps: IAM_ROLE_MAPS, ..aws("iam_role", 1, &["name", "path"]) },
    aws("instance_profile", 2, &["name"]),
    aws("dhcp_options_association", 1, &[]),
    aws("private_zone", 1, &["name", "vpc_id", "vpc_region"]),
    KindSchema { set_in_place_when_unset: &["vpc_id"], ..aws("internet_gateway", 1, &["vpc_id"]) },
    aws("subnet", 1, &["vpc_id", "cidr_block", "availability_zone"]),
    aws("route_table", 1, &["vpc_id"]),
    aws("security_group", 1, &["vpc_id", "group_name", "description"]),
    aws("nat_gateway", 2, &["subnet_id", "allocation_id"]),
    // Two subnet routers can run side by side while the routes move to the new one. A NAT
    // gateway cannot, because its Elastic IP stays with the old gateway until that is deleted.
    // User data takes effect only at first boot, so new user data needs a new instance.
    KindSchema {
        create_before_destroy: true,
        ..aws("instance", 2, &["ami", "instance_type", "subnet_id", "user_data"])
    },
    aws("route_table_association", 2, &["route_table_id", "subnet_id"]),
    aws("main_route_table_association", 2, &["vpc_id"]),
    aws("vpc_endpoint", 2, &["vpc_id", "service_name", "vpc_endpoint_type"]),
    aws("route", 3, &["route_table_id", "destination_cidr_block"]),
    cluster("namespace", 0, &KUBE_IDENTITY),
    with_nodes(
        cluster("machine_config", 0, &KUBE_IDENTITY),
        NodeEffects::MachineConfig { role_label: "machineconfiguration.openshift.io/role" },
    ),
    cluster("secret", 1, &["apiVersion", "kind", "metadata.name", "metadata.namespace", "type"]),
    with_nodes(cluster("hosted_cluster", 2, HOSTED_CLUSTER_FIXED), NodeEffects::HostedCluster),
    with_nodes(
        cluster("node_pool", 3, NODE_POOL_FIXED),
        NodeEffects::NodePool { rollout: NODE_POOL_ROLLOUT, new_nodes_only: NODE_POOL_NEW_NODES_ONLY },
    ),
    hosted("namespace", 0, &[]),
    hosted("operator_group", 1, &[]),
    // A Subscription's spec is compared key by key, so a channel change shows as itself. A
    // removed `startingCSV` pin is not a difference, which is harmless: OLM reads it only when
    // it first installs the operator.
    hosted("subscription", 2, &[]),
    hosted("operand", 3, &[]),
];

/// Looks up the schema of an address's kind. It returns `None` for a kind this catalogue does
/// not know, which the planner treats as having no replacement rules.
pub fn kind_schema(address: &Address) -> Option<&'static KindSchema> {
    SCHEMAS.iter().find(|schema| schema.provider == address.provider() && schema.kind == address.kind())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn replacement_matches_nested_and_enclosing_paths() {
        let schema = kind_schema(&Address::cluster("hosted_cluster", "ai")).unwrap();
        assert!(schema.forces_replacement("spec.etcd.managed.storage.persistentVolume.storageClassName"));
        assert!(schema.forces_replacement("spec"));
        assert!(!schema.forces_replacement("spec.release.image"));
        assert!(!schema.forces_replacement("spec.etcdx"));
    }

    #[test]
    fn node_pool_scaling_is_in_place() {
        let schema = kind_schema(&Address::cluster("node_pool", "gpu")).unwrap();
        assert!(!schema.forces_replacement("spec.autoScaling.max"));
        assert!(schema.forces_replacement("spec.arch"));
    }

    #[test]
    fn node_pool_rollout_paths_match_nested_changes() {
        let schema = kind_schema(&Address::cluster("node_pool", "gpu")).unwrap();
        let NodeEffects::NodePool { rollout, new_nodes_only } = schema.nodes else {
            panic!("a NodePool has node effects");
        };
        let paths = ["spec.platform.aws.instanceType", "spec.taints", "spec.autoScaling.max"];
        assert_eq!(KindSchema::matching(rollout, paths), ["spec.platform.aws.instanceType"]);
        assert_eq!(KindSchema::matching(new_nodes_only, paths), ["spec.taints"]);
    }
}
