//! Lowering of the shipped example environments into their desired graphs.

use std::path::Path;

use tether_catalog::{DesiredGraph, lower};
use tether_model::{Address, Value};

fn example(name: &str) -> DesiredGraph {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../examples").join(name);
    let checked = tether_config::load(&path).unwrap_or_else(|diagnostics| panic!("{name} is valid: {diagnostics:?}"));
    lower(&checked).expect("example lowers")
}

fn attribute<'a>(graph: &'a DesiredGraph, address: &str, path: &[&str]) -> &'a Value {
    let resource = graph.get(&address.parse().unwrap()).unwrap_or_else(|| panic!("{address} is desired"));
    let (first, rest) = path.split_first().unwrap();
    resource.attributes[*first].get_path(rest).unwrap_or_else(|| panic!("{address} has {path:?}"))
}

#[test]
fn dev_example_lowers_to_expected_addresses() {
    let graph = example("ai-dev.toml");
    let addresses: Vec<String> = graph.resources().map(|resource| resource.address.to_string()).collect();
    assert_eq!(
        addresses,
        [
            "aws.dhcp_options.main",
            "aws.dhcp_options_association.main",
            "aws.eip.nat-ap-southeast-2a",
            "aws.iam_role.aws-ebs-csi-driver-controller",
            "aws.iam_role.cloud-controller",
            "aws.iam_role.cloud-network-config-controller",
            "aws.iam_role.control-plane-operator",
            "aws.iam_role.node-pool",
            "aws.iam_role.openshift-image-registry",
            "aws.iam_role.openshift-ingress",
            "aws.iam_role.worker",
            "aws.instance.subnet-router",
            "aws.instance_profile.worker",
            "aws.internet_gateway.main",
            "aws.main_route_table_association.main",
            "aws.nat_gateway.ap-southeast-2a",
            "aws.oidc_provider.main",
            "aws.private_zone.cluster",
            "aws.private_zone.local",
            "aws.route.private-ap-southeast-2a-default",
            "aws.route.private-ap-southeast-2a-onprem-192-168-6-0-24",
            "aws.route.public-default",
            "aws.route.public-onprem-192-168-6-0-24",
            "aws.route_table.private-ap-southeast-2a",
            "aws.route_table.public",
            "aws.route_table_association.private-ap-southeast-2a",
            "aws.route_table_association.public-ap-southeast-2a",
            "aws.security_group.subnet-router",
            "aws.subnet.private-ap-southeast-2a",
            "aws.subnet.public-ap-southeast-2a",
            "aws.vpc.main",
            "aws.vpc_endpoint.s3",
            "cluster.hosted_cluster.ai",
            "cluster.machine_config.master-routes",
            "cluster.namespace.hcp-ai",
            "cluster.node_pool.gpu",
            "cluster.node_pool.workers",
            "cluster.secret.pull-secret",
        ]
    );
}

#[test]
fn subnets_follow_hypershift_layout() {
    let graph = example("ai-dev.toml");
    assert_eq!(attribute(&graph, "aws.subnet.public-ap-southeast-2a", &["cidr_block"]), &Value::from("10.1.0.0/20"));
    assert_eq!(attribute(&graph, "aws.subnet.private-ap-southeast-2a", &["cidr_block"]), &Value::from("10.1.128.0/20"));
    assert_eq!(attribute(&graph, "aws.vpc.main", &["tags", "Name"]), &Value::from("ai-vpc"));
    assert_eq!(attribute(&graph, "aws.vpc.main", &["tags", "kubernetes.io/cluster/ai"]), &Value::from("owned"));
    assert_eq!(
        attribute(&graph, "aws.subnet.private-ap-southeast-2a", &["tags", "Name"]),
        &Value::from("ai-private-ap-southeast-2a")
    );
}

#[test]
fn subnet_router_forwards_without_source_check() {
    let graph = example("ai-dev.toml");
    assert_eq!(attribute(&graph, "aws.instance.subnet-router", &["source_dest_check"]), &Value::Bool(false));
    assert_eq!(attribute(&graph, "aws.instance.subnet-router", &["instance_type"]), &Value::from("t3.small"));
    let route = graph.get(&"aws.route.private-ap-southeast-2a-onprem-192-168-6-0-24".parse().unwrap()).unwrap();
    assert_eq!(route.attributes["destination_cidr_block"], Value::from("192.168.6.0/24"));
    assert_eq!(route.attributes["instance_id"], Value::reference_to_id(&Address::aws("instance", "subnet-router")));
}

#[test]
fn node_pools_reference_private_subnet_and_profile() {
    let graph = example("ai-dev.toml");
    let pool = graph.get(&Address::cluster("node_pool", "gpu")).unwrap();
    let subnet = Value::reference_to_id(&Address::aws("subnet", "private-ap-southeast-2a"));
    assert_eq!(attribute(&graph, "cluster.node_pool.gpu", &["spec", "platform", "aws", "subnet", "id"]), &subnet);
    assert_eq!(
        attribute(&graph, "cluster.node_pool.gpu", &["spec", "platform", "aws", "instanceProfile"]),
        &Value::reference_to_id(&Address::aws("instance_profile", "worker"))
    );
    let profile = graph.get(&Address::aws("instance_profile", "worker")).unwrap();
    assert_eq!(profile.attributes["name"], Value::from("ai-worker"));
    assert!(pool.depends_on.contains(&Address::aws("instance_profile", "worker")), "{:?}", pool.depends_on);
    assert_eq!(attribute(&graph, "cluster.node_pool.gpu", &["spec", "autoScaling", "min"]), &Value::Int(0));
    assert_eq!(attribute(&graph, "cluster.node_pool.workers", &["spec", "replicas"]), &Value::Int(2));
    assert_eq!(attribute(&graph, "cluster.node_pool.workers", &["metadata", "name"]), &Value::from("ai-workers"));
    assert!(pool.depends_on.contains(&Address::cluster("hosted_cluster", "ai")));
}

#[test]
fn hosted_cluster_points_at_vpc_and_roles() {
    let graph = example("ai-dev.toml");
    let vpc = Value::reference_to_id(&Address::aws("vpc", "main"));
    assert_eq!(
        attribute(&graph, "cluster.hosted_cluster.ai", &["spec", "platform", "aws", "cloudProviderConfig", "vpc"]),
        &vpc
    );
    assert_eq!(
        attribute(
            &graph,
            "cluster.hosted_cluster.ai",
            &["spec", "platform", "aws", "rolesRef", "nodePoolManagementARN"]
        ),
        &Value::reference_to_id(&Address::aws("iam_role", "node-pool"))
    );
    let role = graph.get(&Address::aws("iam_role", "node-pool")).unwrap();
    assert_eq!(role.attributes["name"], Value::from("ai-node-pool"));
    assert_eq!(
        attribute(
            &graph,
            "cluster.hosted_cluster.ai",
            &["spec", "etcd", "managed", "storage", "persistentVolume", "storageClassName"]
        ),
        &Value::from("lvms-vg1")
    );
    let hosted = graph.get(&Address::cluster("hosted_cluster", "ai")).unwrap();
    assert!(hosted.depends_on.contains(&Address::cluster("secret", "pull-secret")));
}

#[test]
fn pull_secret_is_sensitive() {
    let graph = example("ai-dev.toml");
    let data = attribute(&graph, "cluster.secret.pull-secret", &["data", ".dockerconfigjson"]);
    assert!(matches!(data, Value::Sensitive(_)), "{data:?}");
    let json = serde_json::to_string(&graph.resources().collect::<Vec<_>>()).unwrap();
    assert!(!json.contains("ZmFrZS11c2Vy"), "the desired graph serializes without the secret");
}

#[test]
fn machine_config_file_is_executable() {
    let graph = example("ai-dev.toml");
    let files = attribute(&graph, "cluster.machine_config.master-routes", &["spec", "config", "storage", "files"]);
    let Value::List(files) = files else { panic!("files is a list") };
    assert_eq!(files[0].get_path(&["mode"]), Some(&Value::Int(493)));
}

#[test]
fn creation_order_respects_dependencies() {
    let graph = example("ai-dev.toml");
    let position = |address: &str| graph.creation_order().iter().position(|item| item.to_string() == address).unwrap();
    assert!(position("aws.vpc.main") < position("aws.subnet.public-ap-southeast-2a"));
    assert!(position("aws.nat_gateway.ap-southeast-2a") < position("aws.route.private-ap-southeast-2a-default"));
    assert!(position("aws.instance.subnet-router") < position("aws.route.public-onprem-192-168-6-0-24"));
    assert!(position("cluster.hosted_cluster.ai") < position("cluster.node_pool.gpu"));
    assert!(position("aws.subnet.private-ap-southeast-2a") < position("cluster.hosted_cluster.ai"));
}

#[test]
fn prod_example_has_its_own_identity() {
    let graph = example("ai-prod.toml");
    assert_eq!(attribute(&graph, "aws.vpc.main", &["cidr_block"]), &Value::from("10.2.0.0/16"));
    assert_eq!(attribute(&graph, "aws.vpc.main", &["tags", "tether.dev/environment"]), &Value::from("ai-prod"));
    assert!(graph.get(&Address::cluster("hosted_cluster", "ai-prod")).is_some());
}
