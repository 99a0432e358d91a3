//! End-to-end tests of the AWS infrastructure `hcp create cluster aws` makes: `tether apply` of the
//! three-zone example, checked resource by resource in moto with the AWS SDK, then planned again.

mod support;

use std::collections::BTreeSet;
use std::path::Path;

use aws_sdk_ec2::config::{BehaviorVersion, Credentials, Region};
use aws_sdk_ec2::types::{Filter, NatGateway, RouteTable};
use base64::Engine as _;
use support::{Harness, describe, edit};

const REGION: &str = "ap-southeast-2";
const ZONES: [&str; 3] = ["ap-southeast-2a", "ap-southeast-2b", "ap-southeast-2c"];
const COMPONENT_ROLES: [&str; 7] = [
    "ai-openshift-ingress",
    "ai-openshift-image-registry",
    "ai-aws-ebs-csi-driver-controller",
    "ai-cloud-controller",
    "ai-node-pool",
    "ai-control-plane-operator",
    "ai-cloud-network-config-controller",
];

/// The SDK clients of the checks, pointed at the test's moto.
struct Clients {
    ec2: aws_sdk_ec2::Client,
    iam: aws_sdk_iam::Client,
    route53: aws_sdk_route53::Client,
    runtime: tokio::runtime::Runtime,
}

impl Clients {
    fn new(harness: &Harness) -> Clients {
        let endpoint = harness.moto.endpoint();
        let credentials = Credentials::new("testing", "testing", None, None, "moto");
        let ec2 = aws_sdk_ec2::Config::builder()
            .behavior_version(BehaviorVersion::latest())
            .endpoint_url(&endpoint)
            .region(Region::new(REGION))
            .credentials_provider(credentials.clone())
            .build();
        let iam = aws_sdk_iam::Config::builder()
            .behavior_version(aws_sdk_iam::config::BehaviorVersion::latest())
            .endpoint_url(&endpoint)
            .region(aws_sdk_iam::config::Region::new(REGION))
            .credentials_provider(credentials.clone())
            .build();
        let route53 = aws_sdk_route53::Config::builder()
            .behavior_version(aws_sdk_route53::config::BehaviorVersion::latest())
            .endpoint_url(&endpoint)
            .region(aws_sdk_route53::config::Region::new(REGION))
            .credentials_provider(credentials)
            .build();
        Clients {
            ec2: aws_sdk_ec2::Client::from_conf(ec2),
            iam: aws_sdk_iam::Client::from_conf(iam),
            route53: aws_sdk_route53::Client::from_conf(route53),
            runtime: tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap(),
        }
    }

    /// Returns the id of the VPC tagged `Name=ai-vpc`.
    fn vpc_id(&self) -> String {
        let filter = Filter::builder().name("tag:Name").values("ai-vpc").build();
        let output = self.runtime.block_on(self.ec2.describe_vpcs().filters(filter).send()).unwrap();
        assert_eq!(output.vpcs().len(), 1, "one VPC named ai-vpc");
        output.vpcs()[0].vpc_id().unwrap().to_owned()
    }

    fn route_tables(&self, vpc_id: &str) -> Vec<RouteTable> {
        let filter = Filter::builder().name("vpc-id").values(vpc_id).build();
        let output = self.runtime.block_on(self.ec2.describe_route_tables().filters(filter).send()).unwrap();
        output.route_tables().to_vec()
    }

    fn nat_gateways(&self, vpc_id: &str) -> Vec<NatGateway> {
        let filters = [
            Filter::builder().name("vpc-id").values(vpc_id).build(),
            Filter::builder().name("state").values("available").build(),
        ];
        let call = self.ec2.describe_nat_gateways().set_filter(Some(filters.to_vec())).send();
        self.runtime.block_on(call).unwrap().nat_gateways().to_vec()
    }
}

fn tag<'a>(tags: &'a [aws_sdk_ec2::types::Tag], key: &str) -> Option<&'a str> {
    tags.iter().find(|tag| tag.key() == Some(key)).and_then(|tag| tag.value())
}

fn table_named<'a>(tables: &'a [RouteTable], name: &str) -> &'a RouteTable {
    tables.iter().find(|table| tag(table.tags(), "Name") == Some(name)).unwrap_or_else(|| panic!("table {name}"))
}

fn summary_line(plan: &str) -> &str {
    plan.lines().find(|line| line.starts_with("Plan: ") || line.starts_with("No changes.")).unwrap_or("")
}

/// Copies the three-zone example and gives its subnet router user data.
fn three_zone_example(harness: &Harness) -> String {
    let file = harness.example("ai-dev-3az.toml");
    std::fs::write(harness.dir.path().join("router-user-data.sh"), "#!/bin/sh\necho vpn-client-agent-token-42\n")
        .unwrap();
    edit(&file, "# user_data_file = \"router-user-data.sh\"", "user_data_file = \"router-user-data.sh\"");
    file.to_str().unwrap().to_owned()
}

#[test]
fn three_zones_create_hypershift_infrastructure() {
    let harness = Harness::start();
    let file = three_zone_example(&harness);

    let plan = harness.tether_ok(&["plan", &file]);
    assert!(!plan.contains("vpn-client-agent-token-42"), "user data is never printed:\n{plan}");
    harness.tether_ok(&["apply", "--auto-approve", &file]);
    let again = harness.tether_ok(&["plan", &file]);
    assert_eq!(summary_line(&again), "No changes. Environment `ai-dev-3az` matches its file.", "{again}");

    let clients = Clients::new(&harness);
    let vpc_id = clients.vpc_id();
    check_networking(&clients, &vpc_id);
    check_private_zones(&clients, &vpc_id);
    check_iam(&clients);
    check_cluster_references(&harness, &clients);
    check_router(&clients, &vpc_id);
}

fn check_networking(clients: &Clients, vpc_id: &str) {
    let vpc_filter = Filter::builder().name("vpc-id").values(vpc_id).build();
    let vpcs = clients.runtime.block_on(clients.ec2.describe_vpcs().vpc_ids(vpc_id).send()).unwrap();
    let options_id = vpcs.vpcs()[0].dhcp_options_id().unwrap().to_owned();
    let options = clients.runtime.block_on(clients.ec2.describe_dhcp_options().dhcp_options_ids(&options_id).send());
    let options = options.unwrap().dhcp_options()[0].clone();
    let domain = options.dhcp_configurations().iter().find(|entry| entry.key() == Some("domain-name")).unwrap();
    assert_eq!(domain.values()[0].value(), Some("ap-southeast-2.compute.internal"));
    assert_eq!(tag(options.tags(), "kubernetes.io/cluster/ai"), Some("owned"));
    assert_eq!(tag(options.tags(), "Name"), None, "HyperShift gives DHCP options no Name");

    let subnets = clients.runtime.block_on(clients.ec2.describe_subnets().filters(vpc_filter).send()).unwrap();
    let mut layout: Vec<(String, String)> = subnets
        .subnets()
        .iter()
        .map(|subnet| (tag(subnet.tags(), "Name").unwrap().to_owned(), subnet.cidr_block().unwrap().to_owned()))
        .collect();
    layout.sort();
    let expected: Vec<(String, String)> = ZONES
        .iter()
        .enumerate()
        .flat_map(|(index, zone)| {
            [
                (format!("ai-private-{zone}"), format!("10.1.{}.0/20", 128 + 16 * index)),
                (format!("ai-public-{zone}"), format!("10.1.{}.0/20", 16 * index)),
            ]
        })
        .collect::<BTreeSet<_>>()
        .into_iter()
        .collect();
    assert_eq!(layout, expected);
    for subnet in subnets.subnets() {
        let name = tag(subnet.tags(), "Name").unwrap();
        if name.starts_with("ai-private-") {
            assert_eq!(tag(subnet.tags(), "kubernetes.io/role/internal-elb"), Some("1"), "{name}");
            assert_eq!(tag(subnet.tags(), "karpenter.sh/discovery"), Some("ai"), "{name}");
            assert_eq!(tag(subnet.tags(), "kubernetes.io/role/elb"), None, "{name}");
        } else {
            assert_eq!(tag(subnet.tags(), "kubernetes.io/role/elb"), Some("1"), "{name}");
            assert_eq!(tag(subnet.tags(), "kubernetes.io/role/internal-elb"), None, "{name}");
        }
        assert_eq!(tag(subnet.tags(), "kubernetes.io/cluster/ai"), Some("owned"), "{name}");
        assert_eq!(tag(subnet.tags(), "hypershift.openshift.io/infra-id"), Some("ai"), "{name}");
    }

    let tables = clients.route_tables(vpc_id);
    let public = table_named(&tables, "ai-public");
    assert!(public.associations().iter().any(|association| association.main() == Some(true)), "main table");

    let nats = clients.nat_gateways(vpc_id);
    let mut nat_names: Vec<&str> = nats.iter().map(|nat| tag(nat.tags(), "Name").unwrap()).collect();
    nat_names.sort_unstable();
    assert_eq!(nat_names, ["ai-nat-ap-southeast-2a", "ai-nat-ap-southeast-2b", "ai-nat-ap-southeast-2c"]);

    let endpoints = clients.runtime.block_on(clients.ec2.describe_vpc_endpoints().send()).unwrap();
    let endpoints: Vec<_> =
        endpoints.vpc_endpoints().iter().filter(|endpoint| endpoint.vpc_id() == Some(vpc_id)).collect();
    assert_eq!(endpoints.len(), 1, "one S3 endpoint");
    assert_eq!(endpoints[0].service_name(), Some("com.amazonaws.ap-southeast-2.s3"));
    let on_tables: BTreeSet<&str> = endpoints[0].route_table_ids().iter().map(String::as_str).collect();
    let mut names = vec!["ai-public".to_owned()];
    names.extend(ZONES.iter().map(|zone| format!("ai-private-{zone}")));
    let tether_tables: BTreeSet<&str> =
        names.iter().map(|name| table_named(&tables, name).route_table_id().unwrap()).collect();
    assert_eq!(on_tables, tether_tables, "the S3 endpoint is on every route table");
}

fn check_private_zones(clients: &Clients, vpc_id: &str) {
    let call = clients
        .route53
        .list_hosted_zones_by_vpc()
        .vpc_id(vpc_id)
        .vpc_region(aws_sdk_route53::types::VpcRegion::from(REGION))
        .send();
    let output = clients.runtime.block_on(call).unwrap();
    let mut names: Vec<&str> = output.hosted_zone_summaries().iter().map(|zone| zone.name()).collect();
    names.sort_unstable();
    assert_eq!(names, ["ai.hcp.example.com.", "ai.hypershift.local."]);
}

fn check_iam(clients: &Clients) {
    let providers = clients.runtime.block_on(clients.iam.list_open_id_connect_providers().send()).unwrap();
    let arns: Vec<&str> = providers.open_id_connect_provider_list().iter().filter_map(|entry| entry.arn()).collect();
    assert_eq!(
        arns,
        ["arn:aws:iam::123456789012:oidc-provider/hypershift-oidc-123456789012.s3.ap-southeast-2.amazonaws.com/ai"]
    );

    for name in COMPONENT_ROLES.iter().copied().chain(["ai-worker-role"]) {
        let role = clients.runtime.block_on(clients.iam.get_role().role_name(name).send());
        let role = role.unwrap_or_else(|error| panic!("role {name}: {error:?}"));
        let tags = role.role().unwrap().tags();
        let environment = tags.iter().find(|tag| tag.key() == "tether.dev/environment").map(|tag| tag.value());
        assert_eq!(environment, Some("ai-dev-3az"), "{name} carries the environment tag");
    }
    let trust = clients.runtime.block_on(clients.iam.get_role().role_name("ai-node-pool").send()).unwrap();
    let trust = trust.role().unwrap().assume_role_policy_document().unwrap().to_owned();
    assert!(trust.contains("capa-controller-manager"), "trust policy names the service account: {trust}");

    let profile =
        clients.runtime.block_on(clients.iam.get_instance_profile().instance_profile_name("ai-worker").send());
    let profile = profile.unwrap();
    let roles: Vec<&str> = profile.instance_profile().unwrap().roles().iter().map(|role| role.role_name()).collect();
    assert_eq!(roles, ["ai-worker-role"]);
}

fn check_cluster_references(harness: &Harness, clients: &Clients) {
    let hosted = harness.kube.get("hypershift.openshift.io/v1beta1", "HostedCluster", Some("hcp-ai"), "ai").unwrap();
    let role = clients.runtime.block_on(clients.iam.get_role().role_name("ai-node-pool").send()).unwrap();
    let arn = role.role().unwrap().arn();
    assert_eq!(hosted["spec"]["platform"]["aws"]["rolesRef"]["nodePoolManagementARN"], arn);
    assert_eq!(hosted["spec"]["issuerURL"], "https://hypershift-oidc-123456789012.s3.ap-southeast-2.amazonaws.com/ai");
    let pool = harness.kube.get("hypershift.openshift.io/v1beta1", "NodePool", Some("hcp-ai"), "ai-gpu").unwrap();
    assert_eq!(pool["spec"]["platform"]["aws"]["instanceProfile"], "ai-worker");
}

fn check_router(clients: &Clients, vpc_id: &str) {
    let filters = [
        Filter::builder().name("vpc-id").values(vpc_id).build(),
        Filter::builder().name("group-name").values("ai-subnet-router").build(),
    ];
    let groups =
        clients.runtime.block_on(clients.ec2.describe_security_groups().set_filters(Some(filters.to_vec())).send());
    let groups = groups.unwrap();
    let sources: BTreeSet<&str> = groups.security_groups()[0]
        .ip_permissions()
        .iter()
        .flat_map(|permission| permission.ip_ranges())
        .filter_map(|range| range.cidr_ip())
        .collect();
    assert_eq!(sources, BTreeSet::from(["10.1.0.0/16", "192.168.6.0/24"]));

    let filter = Filter::builder().name("tag:Name").values("ai-subnet-router").build();
    let reservations = clients.runtime.block_on(clients.ec2.describe_instances().filters(filter).send()).unwrap();
    let instance_id = reservations.reservations()[0].instances()[0].instance_id().unwrap().to_owned();
    let attribute = aws_sdk_ec2::types::InstanceAttributeName::UserData;
    let call = clients.ec2.describe_instance_attribute().instance_id(instance_id).attribute(attribute).send();
    let encoded =
        clients.runtime.block_on(call).unwrap().user_data().and_then(|value| value.value()).unwrap().to_owned();
    let decoded = base64::engine::general_purpose::STANDARD.decode(encoded).unwrap();
    assert_eq!(String::from_utf8(decoded).unwrap(), "#!/bin/sh\necho vpn-client-agent-token-42\n");
}

#[test]
fn single_nat_shared_by_private_tables() {
    let harness = Harness::start();
    let file = harness.example("ai-dev-3az.toml");
    edit(&file, "nat = \"per-zone\"", "nat = \"single\"");
    let file = file.to_str().unwrap();

    harness.tether_ok(&["apply", "--auto-approve", file]);
    let again = harness.tether_ok(&["plan", file]);
    assert!(summary_line(&again).starts_with("No changes."), "{again}");

    let clients = Clients::new(&harness);
    let vpc_id = clients.vpc_id();
    let nats = clients.nat_gateways(&vpc_id);
    assert_eq!(nats.len(), 1, "one NAT gateway");
    let nat_id = nats[0].nat_gateway_id().unwrap();
    assert_eq!(tag(nats[0].tags(), "Name"), Some("ai-nat-ap-southeast-2a"));

    let tables = clients.route_tables(&vpc_id);
    for zone in ZONES {
        let table = table_named(&tables, &format!("ai-private-{zone}"));
        let default = table.routes().iter().find(|route| route.destination_cidr_block() == Some("0.0.0.0/0"));
        assert_eq!(default.and_then(|route| route.nat_gateway_id()), Some(nat_id), "{zone} routes through the NAT");
    }
}

#[test]
fn missing_public_zone_stops_plan() {
    let harness = Harness::start();
    let file = harness.example("ai-dev.toml");
    edit(&file, "base_domain = \"hcp.example.com\"", "base_domain = \"missing.example.com\"");

    let output = harness.tether(&["plan", file.to_str().unwrap()]);
    assert!(!output.status.success(), "{}", describe(&output));
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(stderr.contains("the public hosted zone `missing.example.com` does not exist"), "{stderr}");
    assert!(stderr.contains("correct `cluster.base_domain`"), "{stderr}");
}

#[test]
fn invalid_nat_and_missing_user_data_named() {
    let harness = Harness::start();
    let file = harness.example("ai-dev.toml");
    edit(&file, "nat = \"per-zone\"", "nat = \"one\"");
    edit(&file, "# user_data_file = \"router-user-data.sh\"", "user_data_file = \"absent.sh\"");

    let output = harness.tether(&["plan", file.to_str().unwrap()]);
    assert!(!output.status.success(), "{}", describe(&output));
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(stderr.contains("`aws.nat` is `one`"), "{stderr}");
    assert!(stderr.contains("user data file `absent.sh` does not exist"), "{stderr}");
    assert!(Path::new(&file).exists());
}

#[test]
fn respelled_policies_and_reordered_tags_plan_empty() {
    let harness = Harness::start();
    let file = harness.example("ai-dev.toml");
    let file = file.to_str().unwrap();
    harness.tether_ok(&["apply", "--auto-approve", file]);
    let clients = Clients::new(&harness);

    // The same trust policy with keys in another order, one-item lists for scalars, and spaces.
    let role = clients.runtime.block_on(clients.iam.get_role().role_name("ai-node-pool").send()).unwrap();
    let written = role.role().unwrap().assume_role_policy_document().unwrap();
    let written = percent_decoded(written);
    let written: serde_json::Value = serde_json::from_str(&written).unwrap();
    let statement = &written["Statement"][0];
    let condition = statement["Condition"]["StringEquals"].as_object().unwrap();
    let (key, subject) = condition.iter().next().unwrap();
    let respelled = format!(
        r#"{{ "Statement": [ {{ "Condition": {{ "StringEquals": {{ "{key}": [{subject}] }} }},
            "Action": ["sts:AssumeRoleWithWebIdentity"], "Principal": {{ "Federated": [{}] }}, "Effect": "Allow" }} ],
            "Version": "2012-10-17" }}"#,
        statement["Principal"]["Federated"]
    );
    let call = clients.iam.update_assume_role_policy().role_name("ai-node-pool").policy_document(respelled).send();
    clients.runtime.block_on(call).unwrap();

    // The worker policy with its actions reversed and `Resource` as a one-item list.
    let worker_policy = r#"{"Statement":[{"Resource":["*"],"Action":["ec2:DescribeRegions","ec2:DescribeInstances"],
        "Effect":"Allow"}],"Version":"2012-10-17"}"#;
    let call = clients
        .iam
        .put_role_policy()
        .role_name("ai-worker-role")
        .policy_name("ai-worker-policy")
        .policy_document(worker_policy)
        .send();
    clients.runtime.block_on(call).unwrap();

    // Removing and adding a tag again moves it to the end of the role's tag list.
    let untag = clients.iam.untag_role().role_name("ai-worker-role").tag_keys("hypershift.openshift.io/infra-id");
    clients.runtime.block_on(untag.send()).unwrap();
    let tag = aws_sdk_iam::types::Tag::builder().key("hypershift.openshift.io/infra-id").value("ai").build().unwrap();
    clients.runtime.block_on(clients.iam.tag_role().role_name("ai-worker-role").tags(tag).send()).unwrap();

    let plan = harness.tether_ok(&["plan", file]);
    assert!(summary_line(&plan).starts_with("No changes."), "{plan}");
}

/// Decodes a percent-encoded policy document as IAM returns it.
fn percent_decoded(text: &str) -> String {
    let mut bytes = Vec::new();
    let mut rest = text.as_bytes();
    while let Some((&byte, tail)) = rest.split_first() {
        match byte {
            b'%' if tail.len() >= 2 => {
                let hex = std::str::from_utf8(&tail[..2]).unwrap();
                bytes.push(u8::from_str_radix(hex, 16).unwrap());
                rest = &tail[2..];
            }
            b'+' => {
                bytes.push(b' ');
                rest = tail;
            }
            _ => {
                bytes.push(byte);
                rest = tail;
            }
        }
    }
    String::from_utf8(bytes).unwrap()
}
