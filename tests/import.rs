//! End-to-end tests of `tether import`: an environment built the way `hcp create cluster aws`
//! builds it (plain EC2 calls against moto, objects posted to the Kubernetes test server), plus a
//! subnet router made by hand, is taken over without creating or replacing anything.

mod support;

use std::io::{Read as _, Write as _};
use std::net::TcpStream;
use std::path::Path;

use aws_sdk_ec2::types::{
    AttributeBooleanValue, DomainType, Filter, IpPermission, IpRange, NewDhcpConfiguration, ResourceType, Tag,
    TagSpecification,
};
use base64::Engine as _;
use serde_json::{Value, json};
use support::{Harness, describe, runtime};

const REGION: &str = "ap-southeast-2";
const ZONE: &str = "ap-southeast-2a";
const RELEASE: &str = "quay.io/openshift-release-dev/ocp-release:4.21.12-x86_64";

/// The ids of what the test built.
struct Built {
    vpc: String,
    private_subnet: String,
    nat: String,
    router: Option<(String, String)>,
}

/// HyperShift's tags (`ec2Tags` in HyperShift's `cmd/infra/aws/ec2.go`) plus `Name` and any extra
/// tags.
fn hypershift_tags(name: Option<&str>, extra: &[(&str, &str)]) -> Vec<Tag> {
    let mut tags = vec![
        ("kubernetes.io/cluster/ai", "owned"),
        ("hypershift.openshift.io/infra-id", "ai"),
        ("hypershift.openshift.io/cluster-name", "ai"),
    ];
    tags.extend(name.map(|name| ("Name", name)));
    tags.extend_from_slice(extra);
    tags.into_iter().map(|(key, value)| Tag::builder().key(key).value(value).build()).collect()
}

fn tagging(resource: ResourceType, tags: Vec<Tag>) -> TagSpecification {
    TagSpecification::builder().resource_type(resource).set_tags(Some(tags)).build()
}

async fn tag(ec2: &aws_sdk_ec2::Client, id: &str, tags: Vec<Tag>) {
    ec2.create_tags().resources(id).set_tags(Some(tags)).send().await.unwrap();
}

/// Builds the AWS side in `hcp create cluster aws`'s order, names and layout for one zone,
/// optionally with a subnet router made by hand.
async fn build_aws(ec2: &aws_sdk_ec2::Client, with_router: bool) -> Built {
    let vpc = ec2
        .create_vpc()
        .cidr_block("10.1.0.0/16")
        .tag_specifications(tagging(ResourceType::Vpc, hypershift_tags(Some("ai-vpc"), &[])))
        .send()
        .await
        .unwrap();
    let vpc = vpc.vpc().unwrap().vpc_id().unwrap().to_owned();
    for hostnames in [false, true] {
        let on = AttributeBooleanValue::builder().value(true).build();
        let call = ec2.modify_vpc_attribute().vpc_id(&vpc);
        let call = if hostnames { call.enable_dns_hostnames(on) } else { call.enable_dns_support(on) };
        call.send().await.unwrap();
    }

    let configuration = |key: &str, value: &str| NewDhcpConfiguration::builder().key(key).values(value).build();
    let options = ec2
        .create_dhcp_options()
        .dhcp_configurations(configuration("domain-name", &format!("{REGION}.compute.internal")))
        .dhcp_configurations(configuration("domain-name-servers", "AmazonProvidedDNS"))
        .send()
        .await
        .unwrap();
    let options = options.dhcp_options().unwrap().dhcp_options_id().unwrap().to_owned();
    tag(ec2, &options, hypershift_tags(None, &[])).await;
    ec2.associate_dhcp_options().dhcp_options_id(&options).vpc_id(&vpc).send().await.unwrap();

    let gateway = ec2
        .create_internet_gateway()
        .tag_specifications(tagging(ResourceType::InternetGateway, hypershift_tags(Some("ai-igw"), &[])))
        .send()
        .await
        .unwrap();
    let gateway = gateway.internet_gateway().unwrap().internet_gateway_id().unwrap().to_owned();
    ec2.attach_internet_gateway().internet_gateway_id(&gateway).vpc_id(&vpc).send().await.unwrap();

    let subnet = |cidr: &'static str, name: String, extra: Vec<(&'static str, &'static str)>| {
        let vpc = vpc.clone();
        async move {
            let output = ec2
                .create_subnet()
                .vpc_id(vpc)
                .cidr_block(cidr)
                .availability_zone(ZONE)
                .tag_specifications(tagging(ResourceType::Subnet, hypershift_tags(Some(&name), &extra)))
                .send()
                .await
                .unwrap();
            output.subnet().unwrap().subnet_id().unwrap().to_owned()
        }
    };
    let private_extra = vec![("kubernetes.io/role/internal-elb", "1"), ("karpenter.sh/discovery", "ai")];
    let private_subnet = subnet("10.1.128.0/20", format!("ai-private-{ZONE}"), private_extra).await;
    let public_subnet = subnet("10.1.0.0/20", format!("ai-public-{ZONE}"), vec![("kubernetes.io/role/elb", "1")]).await;

    let address = ec2
        .allocate_address()
        .domain(DomainType::Vpc)
        .tag_specifications(tagging(ResourceType::ElasticIp, hypershift_tags(Some(&format!("ai-eip-{ZONE}")), &[])))
        .send()
        .await
        .unwrap();
    let nat = ec2
        .create_nat_gateway()
        .subnet_id(&public_subnet)
        .allocation_id(address.allocation_id().unwrap())
        .tag_specifications(tagging(ResourceType::Natgateway, hypershift_tags(Some(&format!("ai-nat-{ZONE}")), &[])))
        .send()
        .await
        .unwrap();
    let nat = nat.nat_gateway().unwrap().nat_gateway_id().unwrap().to_owned();

    let table = |name: String| {
        let vpc = vpc.clone();
        async move {
            let output = ec2
                .create_route_table()
                .vpc_id(vpc)
                .tag_specifications(tagging(ResourceType::RouteTable, hypershift_tags(Some(&name), &[])))
                .send()
                .await
                .unwrap();
            output.route_table().unwrap().route_table_id().unwrap().to_owned()
        }
    };
    let private_table = table(format!("ai-private-{ZONE}")).await;
    ec2.create_route()
        .route_table_id(&private_table)
        .destination_cidr_block("0.0.0.0/0")
        .nat_gateway_id(&nat)
        .send()
        .await
        .unwrap();
    ec2.associate_route_table().route_table_id(&private_table).subnet_id(&private_subnet).send().await.unwrap();

    // The public table becomes the VPC's main table.
    let public_table = table("ai-public".to_owned()).await;
    let main = ec2
        .describe_route_tables()
        .filters(Filter::builder().name("vpc-id").values(&vpc).build())
        .filters(Filter::builder().name("association.main").values("true").build())
        .send()
        .await
        .unwrap();
    let main_association = main.route_tables()[0].associations()[0].route_table_association_id().unwrap().to_owned();
    ec2.replace_route_table_association()
        .association_id(main_association)
        .route_table_id(&public_table)
        .send()
        .await
        .unwrap();
    ec2.create_route()
        .route_table_id(&public_table)
        .destination_cidr_block("0.0.0.0/0")
        .gateway_id(&gateway)
        .send()
        .await
        .unwrap();
    ec2.associate_route_table().route_table_id(&public_table).subnet_id(&public_subnet).send().await.unwrap();

    let endpoint = ec2
        .create_vpc_endpoint()
        .vpc_id(&vpc)
        .service_name(format!("com.amazonaws.{REGION}.s3"))
        .vpc_endpoint_type(aws_sdk_ec2::types::VpcEndpointType::Gateway)
        .route_table_ids(&private_table)
        .route_table_ids(&public_table)
        .send()
        .await
        .unwrap();
    let endpoint = endpoint.vpc_endpoint().unwrap().vpc_endpoint_id().unwrap().to_owned();
    tag(ec2, &endpoint, hypershift_tags(None, &[])).await;

    let router = match with_router {
        true => Some(build_router(ec2, &vpc, &public_subnet, &[&private_table, &public_table]).await),
        false => None,
    };
    Built { vpc, private_subnet, nat, router }
}

/// A subnet router made by hand: a group named and described as tether describes it (EC2 cannot
/// change either in place), an instance with the source/destination check off, and routes to
/// the on-prem network in every table. Only `Name` tags, no HyperShift tags.
async fn build_router(ec2: &aws_sdk_ec2::Client, vpc: &str, subnet: &str, tables: &[&str]) -> (String, String) {
    let group = ec2
        .create_security_group()
        .group_name("ai-subnet-router")
        .description("tether subnet router: traffic between the VPC and the on-prem networks")
        .vpc_id(vpc)
        .send()
        .await
        .unwrap();
    let group = group.group_id().unwrap().to_owned();
    let ranges = ["10.1.0.0/16", "192.168.6.0/24"].map(|cidr| IpRange::builder().cidr_ip(cidr).build());
    let all = IpPermission::builder().ip_protocol("-1").set_ip_ranges(Some(ranges.to_vec())).build();
    ec2.authorize_security_group_ingress().group_id(&group).ip_permissions(all).send().await.unwrap();
    let name = vec![Tag::builder().key("Name").value("ai-subnet-router").build()];
    tag(ec2, &group, name.clone()).await;

    let instances = ec2
        .run_instances()
        .image_id("ami-12c6146b")
        .instance_type(aws_sdk_ec2::types::InstanceType::T3Small)
        .subnet_id(subnet)
        .security_group_ids(&group)
        .min_count(1)
        .max_count(1)
        .tag_specifications(tagging(ResourceType::Instance, name))
        .send()
        .await
        .unwrap();
    let instance = instances.instances()[0].instance_id().unwrap().to_owned();
    let off = AttributeBooleanValue::builder().value(false).build();
    ec2.modify_instance_attribute().instance_id(&instance).source_dest_check(off).send().await.unwrap();
    for table in tables {
        let route = ec2.create_route().route_table_id(*table).destination_cidr_block("192.168.6.0/24");
        route.instance_id(&instance).send().await.unwrap();
    }
    (instance, group)
}

/// Creates the two private zones `hcp create cluster aws` associates with the VPC, with the
/// cluster's tags and no `Name` tag, and returns their ids.
async fn build_private_zones(harness: &Harness, vpc: &str) -> Vec<String> {
    use aws_sdk_route53::types::{HostedZoneConfig, Tag as ZoneTag, TagResourceType, Vpc, VpcRegion};
    let config = aws_sdk_route53::Config::builder()
        .behavior_version(aws_sdk_route53::config::BehaviorVersion::latest())
        .endpoint_url(harness.moto.endpoint())
        .region(aws_sdk_route53::config::Region::new("us-east-1"))
        .credentials_provider(aws_sdk_route53::config::Credentials::new("testing", "testing", None, None, "moto"))
        .build();
    let route53 = aws_sdk_route53::Client::from_conf(config);
    let mut ids = Vec::new();
    for name in ["ai.hcp.example.com", "ai.hypershift.local"] {
        let output = route53
            .create_hosted_zone()
            .name(name)
            .caller_reference(format!("hcp-{name}"))
            .vpc(Vpc::builder().vpc_id(vpc).vpc_region(VpcRegion::from(REGION)).build())
            .hosted_zone_config(HostedZoneConfig::builder().private_zone(true).build())
            .send()
            .await
            .unwrap();
        let id = output.hosted_zone().unwrap().id().rsplit('/').next().unwrap().to_owned();
        let tags = hypershift_tags(None, &[])
            .into_iter()
            .map(|tag| ZoneTag::builder().key(tag.key().unwrap()).value(tag.value().unwrap()).build());
        let call = route53.change_tags_for_resource().resource_type(TagResourceType::Hostedzone).resource_id(&id);
        call.set_add_tags(Some(tags.collect())).send().await.unwrap();
        ids.push(id);
    }
    ids
}

/// Sends one request to the Kubernetes test server and asserts it succeeded.
fn kube_send(harness: &Harness, method: &str, path: &str, body: &Value) {
    let address = harness.kube.url().trim_start_matches("http://").to_owned();
    let body = body.to_string();
    let mut stream = TcpStream::connect(&address).expect("test server reachable");
    let request = format!(
        "{method} {path} HTTP/1.1\r\nHost: {address}\r\nContent-Type: application/json\r\n\
         Content-Length: {}\r\nConnection: close\r\n\r\n{body}",
        body.len()
    );
    stream.write_all(request.as_bytes()).unwrap();
    let mut response = String::new();
    stream.read_to_string(&mut response).unwrap();
    assert!(response.starts_with("HTTP/1.1 20"), "{method} {path} failed:\n{response}");
}

/// The objects `hcp create cluster aws` renders for cluster `ai` in `hcp-ai` (one zone, pools
/// `ai-workers` and `ai-gpu`), without tether's labels.
fn build_cluster(harness: &Harness, built: &Built, pull_secret: &Path, machine_config: Option<Value>) {
    kube_send(
        harness,
        "POST",
        "/api/v1/namespaces",
        &json!({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "hcp-ai"}}),
    );
    let secret = base64::engine::general_purpose::STANDARD.encode(std::fs::read(pull_secret).unwrap());
    kube_send(
        harness,
        "POST",
        "/api/v1/namespaces/hcp-ai/secrets",
        &json!({"apiVersion": "v1", "kind": "Secret", "metadata": {"name": "ai-pull-secret", "namespace": "hcp-ai"},
                "type": "kubernetes.io/dockerconfigjson", "data": {".dockerconfigjson": secret}}),
    );

    let role = |suffix: &str| format!("arn:aws:iam::123456789012:role/ai-{suffix}");
    let service =
        |name: &str, strategy: &str| json!({"service": name, "servicePublishingStrategy": {"type": strategy}});
    let hosted_cluster = json!({
        "apiVersion": "hypershift.openshift.io/v1beta1", "kind": "HostedCluster",
        "metadata": {"name": "ai", "namespace": "hcp-ai"},
        "spec": {
            "release": {"image": RELEASE}, "pullSecret": {"name": "ai-pull-secret"}, "infraID": "ai",
            "issuerURL": issuer_url(),
            "dns": {"baseDomain": "hcp.example.com"}, "controllerAvailabilityPolicy": "SingleReplica",
            "networking": {"networkType": "OVNKubernetes", "clusterNetwork": [{"cidr": "10.132.0.0/14"}],
                           "serviceNetwork": [{"cidr": "172.31.0.0/16"}], "machineNetwork": [{"cidr": "10.1.0.0/16"}]},
            "etcd": {"managementType": "Managed", "managed": {"storage": {"type": "PersistentVolume",
                     "persistentVolume": {"storageClassName": "lvms-vg1", "size": "8Gi"}}}},
            "services": [service("APIServer", "LoadBalancer"), service("OAuthServer", "Route"),
                         service("Konnectivity", "Route"), service("Ignition", "Route")],
            "platform": {"type": "AWS", "aws": {
                "region": REGION, "endpointAccess": "Public",
                "cloudProviderConfig": {"vpc": built.vpc, "zone": ZONE, "subnet": {"id": built.private_subnet}},
                "rolesRef": {"ingressARN": role("openshift-ingress"), "imageRegistryARN": role("openshift-image-registry"),
                             "storageARN": role("aws-ebs-csi-driver-controller"), "networkARN": role("cloud-network-config-controller"),
                             "kubeCloudControllerARN": role("cloud-controller"), "nodePoolManagementARN": role("node-pool"),
                             "controlPlaneOperatorARN": role("control-plane-operator")}}}
        }
    });
    kube_send(
        harness,
        "POST",
        "/apis/hypershift.openshift.io/v1beta1/namespaces/hcp-ai/hostedclusters",
        &hosted_cluster,
    );

    let pool = |name: &str, instance_type: &str, scaling: (&str, Value), extra: Value| {
        let mut spec = json!({
            "clusterName": "ai", "release": {"image": RELEASE}, "management": {"upgradeType": "Replace"}, "arch": "amd64",
            "platform": {"type": "AWS", "aws": {"instanceType": instance_type, "instanceProfile": "ai-worker",
                         "subnet": {"id": built.private_subnet}, "rootVolume": {"size": 120, "type": "gp3"}}}
        });
        spec[scaling.0] = scaling.1;
        for (key, value) in extra.as_object().unwrap() {
            spec[key] = value.clone();
        }
        json!({"apiVersion": "hypershift.openshift.io/v1beta1", "kind": "NodePool",
               "metadata": {"name": name, "namespace": "hcp-ai"}, "spec": spec})
    };
    let node_pools = "/apis/hypershift.openshift.io/v1beta1/namespaces/hcp-ai/nodepools";
    kube_send(harness, "POST", node_pools, &pool("ai-workers", "m6i.2xlarge", ("replicas", json!(2)), json!({})));
    let gpu_extra = json!({"taints": [{"key": "nvidia.com/gpu", "value": "present", "effect": "NoSchedule"}],
                           "nodeLabels": {"nvidia.com/gpu.present": "true"}});
    kube_send(
        harness,
        "POST",
        node_pools,
        &pool("ai-gpu", "g6.xlarge", ("autoScaling", json!({"min": 0, "max": 2})), gpu_extra),
    );

    if let Some(machine_config) = machine_config {
        kube_send(harness, "POST", "/apis/machineconfiguration.openshift.io/v1/machineconfigs", &machine_config);
    }
}

/// The issuer URL `hcp` gives the cluster: its OIDC bucket's URL with the infra id.
fn issuer_url() -> String {
    format!("https://hypershift-oidc-123456789012.s3.{REGION}.amazonaws.com/ai")
}

/// Creates the IAM roles, the worker instance profile and the OIDC provider that `hcp create
/// cluster aws` creates, with the names and policies of the catalogue for `file`.
fn build_iam(harness: &Harness, file: &Path) {
    let checked = tether_config::load(file).expect("the environment file is valid");
    let desired = tether_catalog::lower(&checked).expect("the file lowers");
    let config = aws_sdk_iam::Config::builder()
        .behavior_version(aws_sdk_iam::config::BehaviorVersion::latest())
        .endpoint_url(harness.moto.endpoint())
        .region(aws_sdk_iam::config::Region::new("us-east-1"))
        .credentials_provider(aws_sdk_iam::config::Credentials::new("testing", "testing", None, None, "moto"))
        .build();
    let iam = aws_sdk_iam::Client::from_conf(config);
    let text = |resource: &tether_model::Resource, key: &str| resource.attributes[key].as_str().unwrap().to_owned();
    let of_kind = |kind: &'static str| {
        desired.resources().filter(move |resource| resource.address.to_string().starts_with(&format!("aws.{kind}.")))
    };

    runtime().block_on(async {
        for role in of_kind("iam_role") {
            let name = text(role, "name");
            let call = iam.create_role().role_name(&name).path(text(role, "path"));
            call.assume_role_policy_document(text(role, "assume_role_policy")).send().await.unwrap();
            for (policy, document) in role.attributes["inline_policies"].as_map().unwrap() {
                let document = document.as_str().unwrap();
                iam.put_role_policy()
                    .role_name(&name)
                    .policy_name(policy)
                    .policy_document(document)
                    .send()
                    .await
                    .unwrap();
            }
        }
        for profile in of_kind("instance_profile") {
            let name = text(profile, "name");
            iam.create_instance_profile().instance_profile_name(&name).send().await.unwrap();
            let role = text(profile, "role_name");
            iam.add_role_to_instance_profile().instance_profile_name(&name).role_name(role).send().await.unwrap();
        }
        for provider in of_kind("oidc_provider") {
            let tether_model::Value::List(client_ids) = &provider.attributes["client_ids"] else {
                panic!("client ids")
            };
            let client_ids = client_ids.iter().map(|id| id.as_str().unwrap().to_owned()).collect();
            let call =
                iam.create_open_id_connect_provider().url(text(provider, "url")).set_client_id_list(Some(client_ids));
            call.send().await.unwrap();
        }
    });
}

/// The route MachineConfig as applied by hand: the catalogue's dispatcher script for `file`,
/// without tether's labels and annotation.
fn hand_applied_machine_config(file: &Path) -> Value {
    let checked = tether_config::load(file).expect("the environment file is valid");
    let desired = tether_catalog::lower(&checked).expect("the file lowers");
    let address = "cluster.machine_config.master-routes".parse().unwrap();
    let resource = desired.get(&address).expect("the file has a route MachineConfig");
    let mut object = serde_json::Map::new();
    for (key, value) in &resource.attributes {
        object.insert(key.clone(), value.to_wire_json().unwrap());
    }
    let mut object = Value::Object(object);
    let metadata = object["metadata"].as_object_mut().unwrap();
    metadata.remove("annotations");
    let labels = metadata["labels"].as_object_mut().unwrap();
    labels.retain(|key, _| key.starts_with("machineconfiguration.openshift.io/"));
    object
}

/// Runs `tether plan --json` and returns its resource changes.
fn plan_changes(harness: &Harness, file: &str) -> Vec<Value> {
    let plan: Value = serde_json::from_str(&harness.tether_ok(&["plan", "--json", file])).expect("plan JSON");
    plan["resource_changes"].as_array().unwrap().clone()
}

fn with_action<'a>(changes: &'a [Value], action: &str) -> Vec<&'a str> {
    changes
        .iter()
        .filter(|change| change["action"] == action)
        .map(|change| change["address"].as_str().unwrap())
        .collect()
}

fn state_id(harness: &Harness, address: &str) -> Option<String> {
    let path = harness.dir.path().join(".tether/ai-dev.state.json");
    let state: Value = serde_json::from_str(&std::fs::read_to_string(path).ok()?).ok()?;
    state["resources"][address]["id"].as_str().map(str::to_owned)
}

/// Copies `ai-dev.toml` and appends `[import]` with the router's ids.
fn environment_file(harness: &Harness, router: Option<&(String, String)>) -> String {
    let file = harness.example("ai-dev.toml");
    if let Some((instance, group)) = router {
        let mut text = std::fs::read_to_string(&file).unwrap();
        text.push_str(&format!(
            "\n[import]\nsubnet_router_instance = \"{instance}\"\nsubnet_router_security_group = \"{group}\"\n"
        ));
        std::fs::write(&file, text).unwrap();
    }
    file.to_str().unwrap().to_owned()
}

/// The mutating AWS calls in the proxy's log: every action that does not read.
fn writes(harness: &Harness) -> Vec<String> {
    let reads = ["Describe", "List", "Get"];
    let calls = harness.proxy().calls();
    // STS AssumeRole only obtains credentials for the role the file names; it changes nothing.
    let mutating = calls.iter().filter(|call| !(call.service == "sts" && call.action == "AssumeRole"));
    let mutating = mutating.filter(|call| !reads.iter().any(|read| call.action.starts_with(read)));
    // Route 53's REST reads: every GET, and ListTagsForResources, which is a POST.
    let mutating = mutating.filter(|call| !call.action.starts_with("GET "));
    mutating
        .filter(|call| call.action != "POST /2013-04-01/tags/hostedzone")
        .map(|call| format!("{} {}", call.service, call.action))
        .collect()
}

/// Reads the state file's bytes, or `None` before any state is written.
fn state_bytes(harness: &Harness) -> Option<Vec<u8>> {
    std::fs::read(harness.dir.path().join(".tether/ai-dev.state.json")).ok()
}

/// Reads `tether history --json FILE`.
fn history_records(harness: &Harness, file: &str) -> Vec<Value> {
    let text = harness.tether_ok(&["history", "--json", file]);
    let records: Value = serde_json::from_str(&text).unwrap();
    records.as_array().unwrap().clone()
}

/// Computes `sha256:` and the SHA-256 of the compact JSON object that maps each address in the
/// state to its id: what an import into an empty state records as its plan digest.
fn imported_listing_digest(harness: &Harness) -> String {
    use sha2::Digest as _;

    let path = harness.dir.path().join(".tether/ai-dev.state.json");
    let state: Value = serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap();
    let listing: std::collections::BTreeMap<&str, &str> = state["resources"]
        .as_object()
        .unwrap()
        .iter()
        .map(|(address, resource)| (address.as_str(), resource["id"].as_str().unwrap()))
        .collect();
    let digest = sha2::Sha256::digest(serde_json::to_vec(&listing).unwrap());
    let hex: String = digest.iter().map(|byte| format!("{byte:02x}")).collect();
    format!("sha256:{hex}")
}

/// Copies `ai-dev.toml` and appends `text`.
fn environment_file_with(harness: &Harness, text: &str) -> String {
    let file = harness.example("ai-dev.toml");
    let mut contents = std::fs::read_to_string(&file).unwrap();
    contents.push_str(text);
    std::fs::write(&file, contents).unwrap();
    file.to_str().unwrap().to_owned()
}

#[test]
fn import_takes_over_an_hcp_built_environment() {
    let harness = Harness::start_with_proxy();
    let ec2 = harness.ec2_client();
    let built = runtime().block_on(build_aws(&ec2, true));
    let zones = runtime().block_on(build_private_zones(&harness, &built.vpc));
    let file = environment_file(&harness, built.router.as_ref());
    let machine_config = hand_applied_machine_config(Path::new(&file));
    build_iam(&harness, Path::new(&file));
    build_cluster(&harness, &built, &harness.dir.path().join("pull-secret.example.json"), Some(machine_config));
    let hosted_cluster = || harness.kube.get("hypershift.openshift.io/v1beta1", "HostedCluster", Some("hcp-ai"), "ai");
    let version_before = hosted_cluster().unwrap()["metadata"]["resourceVersion"].clone();

    let dry_run = harness.tether_ok(&["import", "--dry-run", &file]);
    assert!(dry_run.contains(&format!("aws.vpc.main ← {}", built.vpc)), "{dry_run}");
    assert!(dry_run.contains("Dry run: the state was not changed."), "{dry_run}");
    assert!(state_bytes(&harness).is_none(), "--dry-run wrote the state");

    let report = harness.tether_ok(&["import", &file]);
    assert_eq!(writes(&harness), Vec::<String>::new(), "import changed something in AWS");
    let version_after = hosted_cluster().unwrap()["metadata"]["resourceVersion"].clone();
    assert_eq!(version_before, version_after, "import changed the HostedCluster");
    let (instance, group) = built.router.clone().unwrap();
    let role = "arn:aws:iam::123456789012:role/ai-node-pool";
    let provider =
        "arn:aws:iam::123456789012:oidc-provider/hypershift-oidc-123456789012.s3.ap-southeast-2.amazonaws.com/ai";
    for expected in [
        format!("aws.vpc.main ← {} (by Name tag)", built.vpc),
        format!("aws.nat_gateway.{ZONE} ← {}", built.nat),
        format!("aws.instance.subnet-router ← {instance} (by [import])"),
        format!("aws.security_group.subnet-router ← {group} (by [import])"),
        format!("aws.private_zone.cluster ← {} (by name)", zones[0]),
        format!("aws.private_zone.local ← {} (by name)", zones[1]),
        format!("aws.iam_role.node-pool ← {role} (by name)"),
        "aws.instance_profile.worker ← ai-worker (by name)".to_owned(),
        format!("aws.oidc_provider.main ← {provider} (by url)"),
        format!("aws.dhcp_options_association.main ← {} (by its VPC)", built.vpc),
        "cluster.hosted_cluster.ai ← hcp-ai/ai (by name)".to_owned(),
        "cluster.node_pool.gpu ← hcp-ai/ai-gpu (by name)".to_owned(),
    ] {
        assert!(report.contains(&expected), "missing `{expected}` in:\n{report}");
    }
    assert!(!report.contains("Not found"), "everything exists, yet some is listed as missing:\n{report}");
    assert_eq!(state_id(&harness, "aws.vpc.main").as_deref(), Some(built.vpc.as_str()));
    assert!(state_id(&harness, "aws.route.public-onprem-192-168-6-0-24").is_some(), "routes recorded");

    // The first plan only adds tether's marks (and drops tags the file does not name).
    let changes = plan_changes(&harness, &file);
    assert!(with_action(&changes, "replace").is_empty(), "{changes:#?}");
    assert!(with_action(&changes, "delete").is_empty(), "{changes:#?}");
    assert!(with_action(&changes, "create").is_empty(), "{changes:#?}");
    let updated = with_action(&changes, "update");
    for address in ["aws.vpc.main", "aws.private_zone.cluster", "cluster.hosted_cluster.ai"] {
        assert!(updated.contains(&address), "{address} not updated: {updated:?}");
    }
    for change in changes.iter().filter(|change| change["action"] == "update") {
        for attribute in change["attribute_changes"].as_array().unwrap() {
            let path = attribute["path"].as_str().unwrap();
            let marks = ["tags", "metadata.labels", "metadata.annotations"];
            assert!(marks.iter().any(|mark| path.starts_with(mark)), "{} changes {path}", change["address"]);
        }
    }

    harness.proxy().reset_calls();
    harness.tether_ok(&["apply", "--auto-approve", &file]);
    // AWS receives only tag writes: EC2's, IAM's and Route 53's (a POST to the zone's tags).
    let tag_writes = ["ec2 CreateTags", "ec2 DeleteTags", "iam TagRole", "iam TagInstanceProfile"];
    for call in writes(&harness) {
        let zone_tags = call.starts_with("route53 POST /2013-04-01/tags/hostedzone/");
        let iam_tags = call.starts_with("iam Tag") || call.starts_with("iam Untag");
        assert!(tag_writes.contains(&call.as_str()) || zone_tags || iam_tags, "apply made `{call}`");
    }
    let output = harness.tether(&["plan", "--detailed-exitcode", &file]);
    assert_eq!(output.status.code(), Some(0), "the second plan is not empty:\n{}", describe(&output));
    let operations: Vec<Value> =
        history_records(&harness, &file).iter().map(|record| record["operation"].clone()).collect();
    assert_eq!(operations, [json!("import"), json!("apply")], "the dry run records nothing");

    // Nothing was re-created: the ids are the ones built above.
    assert_eq!(state_id(&harness, "aws.vpc.main").as_deref(), Some(built.vpc.as_str()));
    assert_eq!(state_id(&harness, &format!("aws.nat_gateway.{ZONE}")).as_deref(), Some(built.nat.as_str()));
    assert_eq!(state_id(&harness, "aws.instance.subnet-router").as_deref(), Some(instance.as_str()));
    let vpcs = runtime().block_on(async {
        let filter = Filter::builder().name("tag:kubernetes.io/cluster/ai").values("owned").build();
        ec2.describe_vpcs().filters(filter).send().await.unwrap().vpcs().len()
    });
    assert_eq!(vpcs, 1);
}

#[test]
fn ambiguous_vpcs_are_refused_with_their_ids() {
    let harness = Harness::start();
    let ec2 = harness.ec2_client();
    let ids: Vec<String> = runtime().block_on(async {
        let mut ids = Vec::new();
        for cidr in ["10.1.0.0/16", "10.2.0.0/16"] {
            let tags = tagging(ResourceType::Vpc, hypershift_tags(Some("ai-vpc"), &[]));
            let output = ec2.create_vpc().cidr_block(cidr).tag_specifications(tags).send().await.unwrap();
            ids.push(output.vpc().unwrap().vpc_id().unwrap().to_owned());
        }
        ids
    });
    let file = environment_file(&harness, None);

    let output = harness.tether(&["import", &file]);
    assert_eq!(output.status.code(), Some(1), "{}", describe(&output));
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(stderr.contains("`aws.vpc.main` matches 2 existing resources named `ai-vpc`"), "{stderr}");
    for id in &ids {
        assert!(stderr.contains(id.as_str()), "{id} not named:\n{stderr}");
    }
    assert!(!harness.dir.path().join(".tether/ai-dev.state.json").exists());
}

#[test]
fn partial_environment_lists_missing_and_foreign_resources() {
    let harness = Harness::start();
    let ec2 = harness.ec2_client();
    let (vpc, default_group) = runtime().block_on(async {
        let tags = tagging(ResourceType::Vpc, hypershift_tags(Some("ai-vpc"), &[]));
        let vpc = ec2.create_vpc().cidr_block("10.1.0.0/16").tag_specifications(tags).send().await.unwrap();
        let vpc = vpc.vpc().unwrap().vpc_id().unwrap().to_owned();
        // The worker group that HyperShift's control-plane operator creates; the file has none.
        let group = ec2
            .create_security_group()
            .group_name("ai-default-sg")
            .description("default worker security group")
            .vpc_id(&vpc)
            .send()
            .await
            .unwrap();
        let group = group.group_id().unwrap().to_owned();
        tag(&ec2, &group, hypershift_tags(Some("ai-default-sg"), &[])).await;
        (vpc, group)
    });
    let file = environment_file(&harness, None);
    // A NodePool of this cluster that the file has no pool for.
    harness.kube.create(json!({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "hcp-ai"}})).unwrap();
    let extra_pool = json!({"apiVersion": "hypershift.openshift.io/v1beta1", "kind": "NodePool",
        "metadata": {"name": "ai-extra", "namespace": "hcp-ai"},
        "spec": {"clusterName": "ai", "replicas": 1, "management": {"upgradeType": "Replace"},
                 "platform": {"type": "AWS", "aws": {"instanceType": "m6i.large"}}, "release": {"image": RELEASE}}});
    harness.kube.create(extra_pool).unwrap();

    let report = harness.tether_ok(&["import", &file]);
    assert!(report.contains(&format!("aws.vpc.main ← {vpc}")), "{report}");
    let missing = report.split("Not found; the next apply creates them").nth(1).expect("a list of missing resources");
    for address in [format!("aws.subnet.private-{ZONE}"), "cluster.hosted_cluster.ai".to_owned()] {
        assert!(missing.contains(&address), "{address} not listed as missing:\n{report}");
    }
    let foreign = report.split("Found but not described by the file").nth(1).expect("a list of foreign resources");
    assert!(foreign.contains(&format!("security_group {default_group} (ai-default-sg)")), "{report}");
    assert!(foreign.contains("NodePool hcp-ai/ai-extra"), "{report}");
    assert_eq!(state_id(&harness, "aws.vpc.main").as_deref(), Some(vpc.as_str()));
    assert_eq!(state_id(&harness, &format!("aws.subnet.private-{ZONE}")), None);
    let matched: usize = report
        .split("Matched ")
        .nth(1)
        .and_then(|rest| rest.split(' ').next())
        .and_then(|count| count.parse().ok())
        .expect("a count of matched resources");
    assert!(matched > 0, "{report}");
    let records = history_records(&harness, &file);
    assert_eq!(records.len(), 1, "{records:#?}");
    let record = &records[0];
    assert_eq!(record["operation"], "import");
    assert_eq!(record["outcome"], "succeeded");
    assert_eq!(record["summary"]["imported"], matched);
    assert_eq!(record["plan_digest"], imported_listing_digest(&harness), "digest of the address-to-id listing");
    let text = harness.tether_ok(&["history", &file]);
    assert!(text.contains(&format!("  import  succeeded  {matched} imported; 0 failed\n")), "{text}");

    // A later dry run lists the subnet made since, and leaves the state byte for byte as it was.
    let subnet = runtime().block_on(async {
        let tags = tagging(ResourceType::Subnet, hypershift_tags(Some(&format!("ai-private-{ZONE}")), &[]));
        let call = ec2.create_subnet().vpc_id(&vpc).cidr_block("10.1.128.0/20").availability_zone(ZONE);
        let output = call.tag_specifications(tags).send().await.unwrap();
        output.subnet().unwrap().subnet_id().unwrap().to_owned()
    });
    let before = state_bytes(&harness).expect("the import wrote the state");
    let dry_run = harness.tether_ok(&["import", "--dry-run", &file]);
    assert!(dry_run.contains(&format!("aws.subnet.private-{ZONE} ← {subnet} (by Name tag)")), "{dry_run}");
    assert!(dry_run.contains("aws.vpc.main\n"), "the recorded VPC is not listed as recorded:\n{dry_run}");
    assert_eq!(state_bytes(&harness), Some(before), "--dry-run changed the state");
    assert_eq!(history_records(&harness, &file).len(), 1, "--dry-run wrote a history record");
}

#[test]
fn import_table_takes_route_tables_made_by_hand() {
    let harness = Harness::start();
    let ec2 = harness.ec2_client();
    let (vpc, table) = runtime().block_on(async {
        let tags = tagging(ResourceType::Vpc, hypershift_tags(Some("ai-vpc"), &[]));
        let vpc = ec2.create_vpc().cidr_block("10.1.0.0/16").tag_specifications(tags).send().await.unwrap();
        let vpc = vpc.vpc().unwrap().vpc_id().unwrap().to_owned();
        // No tags at all: discovery by tag cannot find it.
        let table = ec2.create_route_table().vpc_id(&vpc).send().await.unwrap();
        (vpc, table.route_table().unwrap().route_table_id().unwrap().to_owned())
    });

    // An id that does not exist stops the import and names the entry.
    let missing = "eipalloc-0123456789abcdef0";
    let text = format!(
        "\n[import]\nroute_tables = {{ public = \"{table}\" }}\nresources = {{ \"aws.eip.nat-{ZONE}\" = \"{missing}\" }}\n"
    );
    let file = environment_file_with(&harness, &text);
    let output = harness.tether(&["import", &file]);
    assert_eq!(output.status.code(), Some(1), "{}", describe(&output));
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(stderr.contains(&format!("`[import]` names `{missing}` for `aws.eip.nat-{ZONE}`")), "{stderr}");
    assert!(state_bytes(&harness).is_none(), "a failed import wrote the state");

    let file = environment_file_with(&harness, &format!("\n[import]\nroute_tables = {{ public = \"{table}\" }}\n"));
    let report = harness.tether_ok(&["import", &file]);
    assert!(report.contains(&format!("aws.route_table.public ← {table} (by [import])")), "{report}");
    assert!(report.contains(&format!("aws.vpc.main ← {vpc} (by Name tag)")), "{report}");
    assert_eq!(state_id(&harness, "aws.route_table.public").as_deref(), Some(table.as_str()));
    let changes = plan_changes(&harness, &file);
    let table_change = changes.iter().find(|change| change["address"] == "aws.route_table.public").unwrap();
    assert_eq!(table_change["action"], "update", "{table_change:#}");
}

#[test]
fn import_waits_for_the_state_lock() {
    let harness = Harness::start();
    let file = environment_file(&harness, None);
    // A live lock of a run on another machine, in the Kubernetes backend.
    let renewed = jiff::Timestamp::now().to_string();
    let info = json!({"id": "other-run", "holder": {"user": "alice", "host": "build-7", "pid": 4242},
                      "operation": "apply", "created": renewed});
    harness.kube.create(json!({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "hcp-ai"}})).unwrap();
    harness
        .kube
        .create(json!({"apiVersion": "coordination.k8s.io/v1", "kind": "Lease",
            "metadata": {"name": "tether-lock-ai-dev", "namespace": "hcp-ai", "annotations": {"tether.dev/lock": info.to_string()}},
            "spec": {"holderIdentity": "other-run", "leaseDurationSeconds": 60, "acquireTime": renewed, "renewTime": renewed}}))
        .unwrap();

    let refused = harness.tether(&["import", "--state-backend", "kubernetes", &file]);
    assert_eq!(refused.status.code(), Some(1), "{}", describe(&refused));
    let stderr = String::from_utf8_lossy(&refused.stderr);
    assert!(stderr.contains("lock other-run held by alice@build-7 (pid 4242)"), "{stderr}");

    // A dry run writes nothing, so it needs no lock.
    let dry_run = harness.tether_ok(&["import", "--dry-run", "--state-backend", "kubernetes", &file]);
    assert!(dry_run.contains("Dry run: the state was not changed."), "{dry_run}");
}

#[test]
fn generated_file_imports_without_replacements() {
    let harness = Harness::start();
    let ec2 = harness.ec2_client();
    let built = runtime().block_on(build_aws(&ec2, false));
    let pull_secret = harness.example("ai-dev.toml").with_file_name("pull-secret.example.json");
    build_cluster(&harness, &built, &pull_secret, None);
    build_iam(&harness, &harness.example("ai-dev.toml"));

    // No --region: the HostedCluster names its region.
    harness.tether_ok(&[
        "import",
        "--generate",
        "generated.toml",
        "--infra-id",
        "ai",
        "--namespace",
        "hcp-ai",
        "--name",
        "ai",
    ]);
    let generated = std::fs::read_to_string(harness.dir.path().join("generated.toml")).unwrap();
    for expected in [
        "vpc_cidr = \"10.1.0.0/16\"\n",
        &format!("region = \"{REGION}\"\n"),
        &format!("zones = [\"{ZONE}\"]\n"),
        &format!("release_image = \"{RELEASE}\"\n"),
        "account_id = \"123456789012\"\n",
        "[pools.\"gpu\"]\ninstance_type = \"g6.xlarge\"\nautoscaling = { min = 0, max = 2 }\n",
        "taints = [{ key = \"nvidia.com/gpu\", value = \"present\", effect = \"NoSchedule\" }]\n",
        "labels = { \"nvidia.com/gpu.present\" = \"true\" }\n",
        "[pools.\"workers\"]\ninstance_type = \"m6i.2xlarge\"\nreplicas = 2\n",
        "cluster_network = \"10.132.0.0/14\"\n",
        "service_network = \"172.31.0.0/16\"\n",
        "networks = [\"192.168.0.0/24\"]   # guessed:",
        "oidc_bucket = \"hypershift-oidc-123456789012\"\n",
    ] {
        assert!(generated.contains(expected), "missing `{expected}` in:\n{generated}");
    }
    // Every guessed value carries its reason; the pull secret is named, never copied.
    for line in ["name = \"ai\"   # guessed:", "pull_secret_file = \"pull-secret.json\"   # guessed:"] {
        assert!(generated.contains(line), "missing `{line}` in:\n{generated}");
    }
    let secret = std::fs::read(&pull_secret).unwrap();
    let secret_json: Value = serde_json::from_slice(&secret).unwrap();
    let auth = secret_json["auths"]["quay.io"]["auth"].as_str().unwrap();
    let encoded = base64::engine::general_purpose::STANDARD.encode(&secret);
    for leaked in [auth, encoded.as_str(), "auths"] {
        assert!(!generated.contains(leaked), "the generated file contains the pull secret:\n{generated}");
    }
    std::fs::copy(&pull_secret, harness.dir.path().join("pull-secret.json")).unwrap();

    harness.tether_ok(&["import", "generated.toml"]);
    // The generated file names the environment after the cluster.
    let state = std::fs::read_to_string(harness.dir.path().join(".tether/ai.state.json")).unwrap();
    for leaked in [auth, encoded.as_str()] {
        assert!(!state.contains(leaked), "the state contains the pull secret");
    }
    let changes = plan_changes(&harness, "generated.toml");
    assert!(with_action(&changes, "replace").is_empty(), "{changes:#?}");
    assert!(with_action(&changes, "delete").is_empty(), "{changes:#?}");
    let updated = with_action(&changes, "update");
    assert!(updated.contains(&"aws.vpc.main"), "{changes:#?}");
    assert!(updated.contains(&"cluster.hosted_cluster.ai"), "{changes:#?}");
    let created = with_action(&changes, "create");
    for kept in
        ["aws.vpc.main", "aws.nat_gateway.ap-southeast-2a", "cluster.hosted_cluster.ai", "cluster.node_pool.gpu"]
    {
        assert!(!created.contains(&kept), "{kept} would be created: {created:?}");
    }
}

#[test]
fn invalid_import_entries_are_reported_at_their_line() {
    let dir = tempfile::tempdir().unwrap();
    let examples = support::repository_root().join("examples");
    for name in ["ai-dev.toml", "pull-secret.example.json"] {
        std::fs::copy(examples.join(name), dir.path().join(name)).unwrap();
    }
    let file = dir.path().join("ai-dev.toml");
    let mut text = std::fs::read_to_string(&file).unwrap();
    text.push_str("\n[import]\nsubnet_router_instance = \"sg-0123456789abcdef0\"\nroute_tables = { private-us-east-1a = \"rtb-0a1b2c3d\" }\n");
    text.push_str("resources = { \"aws.eip\" = \"eipalloc-0123456789abcdef0\", \"aws.instance.subnet-router\" = \"i-0123456789abcdef0\" }\n");
    std::fs::write(&file, text).unwrap();

    let output = std::process::Command::new(env!("CARGO_BIN_EXE_tether")).arg("validate").arg(&file).output().unwrap();
    assert_eq!(output.status.code(), Some(1), "{}", describe(&output));
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_eq!(stderr.matches("tether::config::invalid_import").count(), 4, "{stderr}");
    assert!(stderr.contains("ai-dev.toml:62:27]"), "the instance id's span:\n{stderr}");
    assert!(stderr.contains("╰── `sg-0123456789abcdef0` is not an id of kind `instance`"), "{stderr}");
    assert!(stderr.contains("ai-dev.toml:63:18]"), "the route table name's span:\n{stderr}");
    assert!(stderr.contains("╰── `private-us-east-1a` is not a route table of this file"), "{stderr}");
    assert!(stderr.contains("ai-dev.toml:64:"), "the `resources` entries' spans:\n{stderr}");
    assert!(stderr.contains("`aws.eip` does not have the form `provider.kind.name`"), "{stderr}");
    let duplicate = "`aws.instance.subnet-router` is also given by another key of `[import]`";
    assert!(stderr.contains(duplicate), "{stderr}");
}
