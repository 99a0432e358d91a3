//! Where each part of an environment runs: on the on-prem management cluster or in AWS, and the
//! network paths between them. It reads the attributes the catalogue lowers to, so it works on the
//! desired graph and on a plan's desired attributes alike.

use std::collections::BTreeMap;

use tether_model::{Action, Address, Attributes, PlacedItem, Placement, Plan, Value};

use crate::DesiredGraph;
use crate::tables;

/// Describes where the resources of the desired graph run.
pub fn placement_desired(desired: &DesiredGraph) -> Placement {
    let resources = desired.resources().map(|resource| (resource.address.clone(), resource.attributes.clone()));
    placement(resources.collect())
}

/// Describes where the resources run once the plan is applied; deleted resources are left out.
pub fn placement_plan(plan: &Plan) -> Placement {
    let resources = plan.changes.iter().filter(|change| change.action != Action::Delete).filter_map(|change| {
        let mut attributes = change.after.clone()?;
        // A planned reference to an existing resource holds its AWS id, so the view keeps each
        // resource's id beside its attributes to follow such references.
        if let Some(id) = &change.id {
            attributes.insert("id".to_owned(), Value::String(id.clone()));
        }
        Some((change.address.clone(), attributes))
    });
    placement(resources.collect())
}

/// Returns the one-time note for a plan that creates (or re-creates) an on-prem route
/// MachineConfig, or `None` when the plan creates none.
pub fn route_caveat(plan: &Plan) -> Option<String> {
    let creates_route = plan.changes.iter().any(|change| {
        change.address.kind() == "machine_config" && matches!(change.action, Action::Create | Action::Replace)
    });
    creates_route.then(|| {
        "the on-prem route MachineConfig changes the routing table of the management cluster's nodes, which \
         host-network traffic uses; with OVN-Kubernetes' default shared gateway mode (`routingViaHost: false`), \
         pod traffic leaves through OVS and does not use it, so pods that must reach the VPC need local gateway \
         mode (`routingViaHost: true`) or a route on the on-prem network's router"
            .to_owned()
    })
}

fn placement(resources: BTreeMap<Address, Attributes>) -> Placement {
    let view = View { resources };
    Placement { management_cluster: view.management_cluster(), aws: view.aws(), crossings: view.crossings() }
}

struct View {
    resources: BTreeMap<Address, Attributes>,
}

impl View {
    fn of_kind<'a>(&'a self, kind: &'a str) -> impl Iterator<Item = (&'a Address, &'a Attributes)> + 'a {
        self.resources.iter().filter(move |(address, _)| address.kind() == kind)
    }

    fn hosted_cluster(&self) -> Option<&Attributes> {
        self.of_kind("hosted_cluster").map(|(_, attributes)| attributes).next()
    }

    fn management_cluster(&self) -> Vec<PlacedItem> {
        let mut items = Vec::new();
        if let Some(cluster) = self.hosted_cluster() {
            let name = text(cluster, &["metadata", "name"]);
            let namespace = text(cluster, &["metadata", "namespace"]);
            let image = text(cluster, &["spec", "release", "image"]);
            let release =
                tether_config::release_version(image).map_or_else(|| image.to_owned(), |version| version.to_string());
            items.push(item(
                "control plane",
                format!(
                    "HostedCluster `{name}` in namespace `{namespace}`; its pods run in namespace `{namespace}-{name}`, release {release}"
                ),
            ));
            let volume = ["spec", "etcd", "managed", "storage", "persistentVolume"];
            let class = text(cluster, &[&volume[..], &["storageClassName"]].concat());
            let size = text(cluster, &[&volume[..], &["size"]].concat());
            items.push(item("etcd", format!("{size} persistent volume on storage class `{class}`")));
            items.push(item("endpoints", services(cluster)));
        }
        for (_, secret) in self.of_kind("secret") {
            let name = text(secret, &["metadata", "name"]);
            let namespace = text(secret, &["metadata", "namespace"]);
            items.push(item("pull secret", format!("Secret `{name}` in namespace `{namespace}`")));
        }
        for (_, config) in self.of_kind("machine_config") {
            let name = text(config, &["metadata", "name"]);
            let role = text(config, &["metadata", "labels", "machineconfiguration.openshift.io/role"]);
            items.push(item(
                "node routes",
                format!(
                    "MachineConfig `{name}` on the `{role}` nodes; creating or changing it reboots them one at a time"
                ),
            ));
        }
        items
    }

    fn aws(&self) -> Vec<PlacedItem> {
        let mut items = Vec::new();
        if let Some(cluster) = self.hosted_cluster() {
            let region = text(cluster, &["spec", "platform", "aws", "region"]);
            let vpc = self.of_kind("vpc").map(|(_, vpc)| text(vpc, &["cidr_block"])).next().unwrap_or("unknown");
            items.push(item("region", format!("`{region}`, VPC {vpc}, zones {}", self.zones().join(", "))));
        }
        for (address, pool) in self.of_kind("node_pool") {
            items.push(item(&format!("pool {}", address.name()), self.node_pool(pool)));
        }
        let gateways: Vec<&str> = self.of_kind("nat_gateway").map(|(address, _)| address.name()).collect();
        if !gateways.is_empty() {
            items.push(item("NAT gateways", format!("{} in {}", gateways.len(), gateways.join(", "))));
        }
        for (_, router) in self.of_kind("instance") {
            let instance_type = text(router, &["instance_type"]);
            let zone = self.subnet_zone(router.get("subnet_id"));
            items.push(item("subnet router", format!("1 × {instance_type} in the public subnet of {zone}")));
        }
        items
    }

    fn crossings(&self) -> Vec<PlacedItem> {
        let mut items = Vec::new();
        let vpc = self.of_kind("vpc").map(|(_, vpc)| text(vpc, &["cidr_block"])).next().unwrap_or("the VPC");
        let mut onprem: Vec<&str> = self
            .of_kind("route")
            .filter(|(_, route)| route.contains_key("instance_id"))
            .map(|(_, route)| text(route, &["destination_cidr_block"]))
            .collect();
        onprem.sort_unstable();
        onprem.dedup();
        if !onprem.is_empty() {
            items.push(item(
                "on-prem ↔ VPC",
                format!(
                    "{} ↔ {vpc} through the subnet router; the VPC's route tables send on-prem traffic to it",
                    onprem.join(", ")
                ),
            ));
        }
        if self.of_kind("machine_config").next().is_some() {
            items.push(item(
                "management nodes → VPC",
                "host-network traffic follows the route MachineConfig; pod traffic does not with OVN-Kubernetes' default shared gateway mode".to_owned(),
            ));
        }
        if self.hosted_cluster().is_some() {
            items.push(item(
                "workers → control plane",
                "nodes in AWS reach the API server, Ignition, Konnectivity and OAuth endpoints on the management cluster".to_owned(),
            ));
            items.push(item(
                "control plane → AWS",
                "HyperShift's controllers on the management cluster call the AWS APIs with the roles in `rolesRef`"
                    .to_owned(),
            ));
        }
        items
    }

    fn node_pool(&self, pool: &Attributes) -> String {
        let name = text(pool, &["metadata", "name"]);
        let instance_type = text(pool, &["spec", "platform", "aws", "instanceType"]);
        let size = match number(pool, &["spec", "autoScaling", "min"]) {
            Some(min) => format!("{min} to {}", number(pool, &["spec", "autoScaling", "max"]).unwrap_or(min)),
            None => number(pool, &["spec", "replicas"]).unwrap_or(0).to_string(),
        };
        let zone = self.subnet_zone(lookup(pool, &["spec", "platform", "aws", "subnet", "id"]));
        let disk_size = number(pool, &["spec", "platform", "aws", "rootVolume", "size"]).unwrap_or(0);
        let disk_type = text(pool, &["spec", "platform", "aws", "rootVolume", "type"]);
        format!(
            "NodePool `{name}`: {size} × {instance_type}{} in the private subnet of {zone}; root volumes {disk_size} GiB {disk_type} EBS in {zone}",
            shape(instance_type)
        )
    }

    /// Returns the zone of the subnet a reference points at, or `unknown` when the subnet is not
    /// in view (an existing subnet is referred to by its AWS id once planned).
    fn subnet_zone(&self, subnet: Option<&Value>) -> String {
        let zone = match subnet {
            Some(Value::Ref(reference)) => self.resources.get(&reference.address),
            Some(Value::String(id)) => self
                .of_kind("subnet")
                .map(|(_, attributes)| attributes)
                .find(|attributes| attributes.get("id").and_then(Value::as_str) == Some(id.as_str())),
            _ => None,
        };
        zone.map_or_else(|| "an unknown zone".to_owned(), |subnet| text(subnet, &["availability_zone"]).to_owned())
    }

    fn zones(&self) -> Vec<&str> {
        let mut zones: Vec<&str> =
            self.of_kind("subnet").map(|(_, subnet)| text(subnet, &["availability_zone"])).collect();
        zones.sort_unstable();
        zones.dedup();
        zones
    }
}

/// Describes the publishing strategy of each HostedCluster service.
fn services(cluster: &Attributes) -> String {
    let Some(Value::List(services)) = lookup(cluster, &["spec", "services"]) else {
        return "no services listed".to_owned();
    };
    let mut by_strategy: BTreeMap<&str, Vec<&str>> = BTreeMap::new();
    for service in services {
        let name = service.get_path(&["service"]).and_then(Value::as_str).unwrap_or("unknown");
        let strategy =
            service.get_path(&["servicePublishingStrategy", "type"]).and_then(Value::as_str).unwrap_or("unknown");
        by_strategy.entry(strategy).or_default().push(name);
    }
    let parts: Vec<String> =
        by_strategy.iter().map(|(strategy, names)| format!("{} as {strategy}", names.join(", "))).collect();
    parts.join("; ")
}

/// Returns ` (4 vCPU, 16 GiB, 1 GPU)` for a type in the instance table, or nothing.
fn shape(instance_type: &str) -> String {
    let Some(known) = tables::instance_types().types.get(instance_type) else {
        return String::new();
    };
    let gpus = match known.gpus {
        0 => String::new(),
        1 => ", 1 GPU".to_owned(),
        count => format!(", {count} GPUs"),
    };
    format!(" ({} vCPU, {} GiB{gpus})", known.vcpus, known.memory_gib)
}

fn item(name: &str, detail: String) -> PlacedItem {
    PlacedItem { name: name.to_owned(), detail }
}

fn lookup<'a>(attributes: &'a Attributes, path: &[&str]) -> Option<&'a Value> {
    let (first, rest) = path.split_first()?;
    attributes.get(*first)?.get_path(rest)
}

/// Returns the text at `path`, or `unknown` when it is missing or not yet known.
fn text<'a>(attributes: &'a Attributes, path: &[&str]) -> &'a str {
    lookup(attributes, path).and_then(Value::as_str).unwrap_or("unknown")
}

fn number(attributes: &Attributes, path: &[&str]) -> Option<i64> {
    lookup(attributes, path)?.as_int()
}
