//! Lowering of the management-cluster side: Namespace, pull secret, HostedCluster, NodePools
//! and the route MachineConfigs.

use base64::Engine as _;
use tether_config::Checked;
use tether_model::{Address, Attributes, Resource, Sensitive, Value};

use crate::aws::Network;
use crate::marks::Owner;
use crate::routes;

const HYPERSHIFT_API: &str = "hypershift.openshift.io/v1beta1";

pub(crate) fn lower(checked: &Checked, owner: &Owner, network: &Network) -> Vec<Resource> {
    let cluster = &checked.environment.cluster;
    let namespace = Address::cluster("namespace", &cluster.namespace);
    let secret = Address::cluster("secret", "pull-secret");
    let hosted_cluster = Address::cluster("hosted_cluster", &cluster.name);

    let mut resources = vec![
        Resource::new(
            namespace.clone(),
            kube_object("v1", "Namespace", owner.kube_metadata(&namespace, &cluster.namespace, None, &[]), []),
        ),
        pull_secret(checked, owner, &secret).depending_on(&namespace),
        Resource::new(hosted_cluster.clone(), hosted_cluster_object(checked, owner, network, &hosted_cluster))
            .depending_on(&namespace)
            .depending_on(&secret),
    ];
    for pool_name in checked.environment.pools.keys() {
        let address = Address::cluster("node_pool", pool_name);
        let object = node_pool_object(checked, owner, network, &address, pool_name);
        resources.push(Resource::new(address, object).depending_on(&hosted_cluster));
    }
    resources.extend(routes::machine_configs(checked, owner));
    resources
}

/// Builds a Kubernetes object's attributes: apiVersion, kind, metadata and the kind's own fields.
pub(crate) fn kube_object<const N: usize>(
    api_version: &str,
    kind: &str,
    metadata: Value,
    fields: [(&str, Value); N],
) -> Attributes {
    let mut attributes = Attributes::new();
    attributes.insert("apiVersion".to_owned(), Value::from(api_version));
    attributes.insert("kind".to_owned(), Value::from(kind));
    attributes.insert("metadata".to_owned(), metadata);
    attributes.extend(fields.into_iter().map(|(key, value)| (key.to_owned(), value)));
    attributes
}

/// Builds the pull secret, named `<cluster>-pull-secret` as `hcp` names it. Its data is
/// sensitive, so plans and state contain only its digest.
fn pull_secret(checked: &Checked, owner: &Owner, address: &Address) -> Resource {
    let cluster = &checked.environment.cluster;
    let name = format!("{}-pull-secret", cluster.name);
    let encoded = base64::engine::general_purpose::STANDARD.encode(checked.pull_secret.expose().as_bytes());
    let metadata = owner.kube_metadata(address, &name, Some(&cluster.namespace), &[]);
    Resource::new(
        address.clone(),
        kube_object(
            "v1",
            "Secret",
            metadata,
            [
                ("type", Value::from("kubernetes.io/dockerconfigjson")),
                ("data", Value::map([(".dockerconfigjson", Value::Sensitive(Sensitive::new(&encoded)))])),
            ],
        ),
    )
}

fn hosted_cluster_object(checked: &Checked, owner: &Owner, network: &Network, address: &Address) -> Attributes {
    let environment = &checked.environment;
    let cluster = &environment.cluster;
    let (first_zone, first_subnet) = &network.private_subnets[0];
    // A role's id is its ARN, so each reference resolves to the ARN and orders the roles first.
    let roles = network.roles.iter().map(|(field, role)| (*field, Value::reference_to_id(role)));
    let services =
        [("APIServer", "LoadBalancer"), ("OAuthServer", "Route"), ("Konnectivity", "Route"), ("Ignition", "Route")]
            .into_iter()
            .map(|(service, strategy)| {
                Value::map([
                    ("service", Value::from(service)),
                    ("servicePublishingStrategy", Value::map([("type", Value::from(strategy))])),
                ])
            })
            .collect();
    let cidr_list = |cidr: String| Value::List(vec![Value::map([("cidr", Value::string(cidr))])]);

    let spec = Value::map([
        ("release", Value::map([("image", Value::string(cluster.release_image.clone()))])),
        ("pullSecret", Value::map([("name", Value::string(format!("{}-pull-secret", cluster.name)))])),
        ("infraID", Value::string(cluster.infra_id.clone())),
        ("issuerURL", Value::string(network.issuer_url.clone())),
        ("dns", Value::map([("baseDomain", Value::string(cluster.base_domain.clone()))])),
        ("controllerAvailabilityPolicy", Value::from("SingleReplica")),
        (
            "networking",
            Value::map([
                ("networkType", Value::from("OVNKubernetes")),
                ("clusterNetwork", cidr_list(checked.cluster_network.to_string())),
                ("serviceNetwork", cidr_list(checked.service_network.to_string())),
                ("machineNetwork", cidr_list(checked.vpc_cidr.to_string())),
            ]),
        ),
        (
            "etcd",
            Value::map([
                ("managementType", Value::from("Managed")),
                (
                    "managed",
                    Value::map([(
                        "storage",
                        Value::map([
                            ("type", Value::from("PersistentVolume")),
                            (
                                "persistentVolume",
                                Value::map([
                                    ("storageClassName", Value::string(cluster.etcd_storage_class.clone())),
                                    ("size", Value::from("8Gi")),
                                ]),
                            ),
                        ]),
                    )]),
                ),
            ]),
        ),
        ("services", Value::List(services)),
        (
            "platform",
            Value::map([
                ("type", Value::from("AWS")),
                (
                    "aws",
                    Value::map([
                        ("region", Value::string(environment.aws.region.clone())),
                        ("endpointAccess", Value::from("Public")),
                        (
                            "cloudProviderConfig",
                            Value::map([
                                ("vpc", Value::reference_to_id(&network.vpc)),
                                ("zone", Value::string(first_zone.clone())),
                                ("subnet", Value::map([("id", Value::reference_to_id(first_subnet))])),
                            ]),
                        ),
                        ("rolesRef", Value::map(roles)),
                    ]),
                ),
            ]),
        ),
    ]);
    let metadata = owner.kube_metadata(address, &cluster.name, Some(&cluster.namespace), &[]);
    kube_object(HYPERSHIFT_API, "HostedCluster", metadata, [("spec", spec)])
}

/// Builds the NodePool `<cluster>-<pool>` in the first zone's private subnet, where HyperShift
/// always places workers. `instanceProfile` is set explicitly because, left empty, HyperShift
/// falls back to `<infra-id>-worker-profile`, which `hcp` never creates.
fn node_pool_object(
    checked: &Checked,
    owner: &Owner,
    network: &Network,
    address: &Address,
    pool_name: &str,
) -> Attributes {
    let cluster = &checked.environment.cluster;
    let pool = &checked.environment.pools[pool_name];
    let (_, subnet) = &network.private_subnets[0];
    let root_volume = &pool.root_volume;

    let mut spec = vec![
        ("clusterName", Value::string(cluster.name.clone())),
        ("release", Value::map([("image", Value::from(pool.release_image_or(cluster)))])),
        ("management", Value::map([("upgradeType", Value::from("Replace"))])),
        ("arch", Value::from("amd64")),
        (
            "platform",
            Value::map([
                ("type", Value::from("AWS")),
                (
                    "aws",
                    Value::map([
                        ("instanceType", Value::string(pool.instance_type.clone())),
                        // The instance profile's id is its name.
                        ("instanceProfile", Value::reference_to_id(&network.instance_profile)),
                        ("subnet", Value::map([("id", Value::reference_to_id(subnet))])),
                        (
                            "rootVolume",
                            Value::map([
                                ("size", Value::Int(root_volume.size_gib)),
                                ("type", Value::string(root_volume.volume_type.clone())),
                            ]),
                        ),
                    ]),
                ),
            ]),
        ),
    ];
    match (&pool.autoscaling, pool.replicas) {
        (Some(scaling), _) => {
            spec.push(("autoScaling", Value::map([("min", Value::Int(scaling.min)), ("max", Value::Int(scaling.max))])))
        }
        (None, replicas) => spec.push(("replicas", Value::Int(replicas.unwrap_or(0)))),
    }
    if !pool.taints.is_empty() {
        let taints = pool.taints.iter().map(|taint| {
            let mut entry =
                vec![("key", Value::string(taint.key.clone())), ("effect", Value::string(taint.effect.clone()))];
            if let Some(value) = &taint.value {
                entry.push(("value", Value::string(value.clone())));
            }
            Value::map(entry)
        });
        spec.push(("taints", Value::List(taints.collect())));
    }
    if !pool.labels.is_empty() {
        spec.push((
            "nodeLabels",
            Value::map(pool.labels.iter().map(|(key, value)| (key.clone(), Value::string(value.clone())))),
        ));
    }

    let name = checked.node_pool_name(pool_name);
    let metadata = owner.kube_metadata(address, &name, Some(&cluster.namespace), &[]);
    kube_object(HYPERSHIFT_API, "NodePool", metadata, [("spec", Value::map(spec))])
}
