//! End-to-end tests of `tether destroy` against moto and the Kubernetes test server.
//!
//! moto deletes a subnet that still contains a NAT gateway, a security group in use and the VPC
//! of an attached gateway. These tests therefore check the order of the calls tether makes, as
//! the AWS proxy records them, instead of relying on the emulator to reject a delete.

mod support;

use aws_sdk_ec2::config::Credentials;
use aws_sdk_ec2::types::{Filter, InstanceStateName, NatGatewayState};
use support::{Harness, describe, runtime};
use tether_testkit::aws_proxy::{AwsCall, AwsFault};

const ENVIRONMENT_TAG: &str = "tether.dev/environment";

fn iam_client(harness: &Harness) -> aws_sdk_iam::Client {
    let config = aws_sdk_iam::Config::builder()
        .behavior_version(aws_sdk_iam::config::BehaviorVersion::latest())
        .endpoint_url(harness.moto.endpoint())
        .region(aws_sdk_iam::config::Region::new("ap-southeast-2"))
        .credentials_provider(Credentials::new("testing", "testing", None, None, "moto"))
        .build();
    aws_sdk_iam::Client::from_conf(config)
}

fn route53_client(harness: &Harness) -> aws_sdk_route53::Client {
    let config = aws_sdk_route53::Config::builder()
        .behavior_version(aws_sdk_route53::config::BehaviorVersion::latest())
        .endpoint_url(harness.moto.endpoint())
        .region(aws_sdk_route53::config::Region::new("ap-southeast-2"))
        .credentials_provider(Credentials::new("testing", "testing", None, None, "moto"))
        .build();
    aws_sdk_route53::Client::from_conf(config)
}

fn environment_filter() -> Filter {
    Filter::builder().name(format!("tag:{ENVIRONMENT_TAG}")).values("ai-dev").build()
}

/// Applies `examples/ai-dev.toml` through the proxy, then clears the calls the proxy recorded.
fn applied_environment() -> (Harness, String) {
    let harness = Harness::start_with_proxy();
    let file = harness.example("ai-dev.toml").display().to_string();
    harness.tether_ok(&["apply", &file, "--auto-approve"]);
    harness.proxy().reset_calls();
    (harness, file)
}

/// Returns the id of the environment's VPC.
fn tether_vpc_id(harness: &Harness) -> String {
    let ec2 = harness.ec2_client();
    let vpcs = runtime().block_on(ec2.describe_vpcs().filters(environment_filter()).send()).unwrap();
    vpcs.vpcs()[0].vpc_id().unwrap().to_owned()
}

/// Lists what still carries the environment's tag: every EC2, IAM and Route 53 kind tether
/// creates, with terminated instances and deleted NAT gateways and endpoints left out because AWS
/// keeps listing them for a while.
fn remaining_tagged(harness: &Harness) -> Vec<String> {
    let mut remaining = remaining_tagged_ec2(harness);
    remaining.extend(remaining_tagged_iam(harness));
    remaining.extend(remaining_tagged_zones(harness));
    remaining
}

fn is_environment_tag(key: Option<&str>, value: Option<&str>) -> bool {
    key == Some(ENVIRONMENT_TAG) && value == Some("ai-dev")
}

fn remaining_tagged_iam(harness: &Harness) -> Vec<String> {
    let iam = iam_client(harness);
    runtime().block_on(async {
        let mut remaining = Vec::new();
        let details = iam.get_account_authorization_details().send().await.unwrap();
        for role in details.role_detail_list() {
            if role.tags().iter().any(|tag| is_environment_tag(Some(tag.key()), Some(tag.value()))) {
                remaining.push(format!("role {:?}", role.role_name()));
            }
            for profile in role.instance_profile_list() {
                if profile.tags().iter().any(|tag| is_environment_tag(Some(tag.key()), Some(tag.value()))) {
                    remaining.push(format!("instance profile {}", profile.instance_profile_name()));
                }
            }
        }
        let providers = iam.list_open_id_connect_providers().send().await.unwrap();
        for arn in providers.open_id_connect_provider_list().iter().filter_map(|entry| entry.arn()) {
            let details = iam.get_open_id_connect_provider().open_id_connect_provider_arn(arn).send().await.unwrap();
            if details.tags().iter().any(|tag| is_environment_tag(Some(tag.key()), Some(tag.value()))) {
                remaining.push(format!("OIDC provider {arn}"));
            }
        }
        remaining
    })
}

fn remaining_tagged_zones(harness: &Harness) -> Vec<String> {
    let route53 = route53_client(harness);
    runtime().block_on(async {
        let mut remaining = Vec::new();
        let zones = route53.list_hosted_zones().send().await.unwrap();
        for zone in zones.hosted_zones() {
            let id = zone.id().rsplit('/').next().unwrap().to_owned();
            let tags = route53
                .list_tags_for_resource()
                .resource_type(aws_sdk_route53::types::TagResourceType::Hostedzone)
                .resource_id(&id)
                .send()
                .await
                .unwrap();
            let tags = tags.resource_tag_set().map(|set| set.tags().to_vec()).unwrap_or_default();
            if tags.iter().any(|tag| is_environment_tag(tag.key(), tag.value())) {
                remaining.push(format!("hosted zone {} ({id})", zone.name()));
            }
        }
        remaining
    })
}

fn remaining_tagged_ec2(harness: &Harness) -> Vec<String> {
    let ec2 = harness.ec2_client();
    runtime().block_on(async {
        let mut remaining = Vec::new();
        let options = ec2.describe_dhcp_options().filters(environment_filter()).send().await.unwrap();
        remaining.extend(options.dhcp_options().iter().map(|set| format!("DHCP options {:?}", set.dhcp_options_id())));
        let endpoints = ec2.describe_vpc_endpoints().filters(environment_filter()).send().await.unwrap();
        remaining.extend(
            endpoints
                .vpc_endpoints()
                .iter()
                .filter(|endpoint| endpoint.state().is_none_or(|state| !state.as_str().eq_ignore_ascii_case("deleted")))
                .map(|endpoint| format!("VPC endpoint {:?}", endpoint.vpc_endpoint_id())),
        );
        let vpcs = ec2.describe_vpcs().filters(environment_filter()).send().await.unwrap();
        remaining.extend(vpcs.vpcs().iter().map(|vpc| format!("vpc {}", vpc.vpc_id().unwrap())));
        let subnets = ec2.describe_subnets().filters(environment_filter()).send().await.unwrap();
        remaining.extend(subnets.subnets().iter().map(|subnet| format!("subnet {}", subnet.subnet_id().unwrap())));
        let tables = ec2.describe_route_tables().filters(environment_filter()).send().await.unwrap();
        remaining.extend(tables.route_tables().iter().map(|table| format!("route table {:?}", table.route_table_id())));
        let groups = ec2.describe_security_groups().filters(environment_filter()).send().await.unwrap();
        remaining.extend(groups.security_groups().iter().map(|group| format!("security group {:?}", group.group_id())));
        let gateways = ec2.describe_internet_gateways().filters(environment_filter()).send().await.unwrap();
        remaining.extend(
            gateways.internet_gateways().iter().map(|gateway| format!("gateway {:?}", gateway.internet_gateway_id())),
        );
        let addresses = ec2.describe_addresses().filters(environment_filter()).send().await.unwrap();
        remaining.extend(addresses.addresses().iter().map(|address| format!("address {:?}", address.allocation_id())));
        let nats = ec2.describe_nat_gateways().filter(environment_filter()).send().await.unwrap();
        remaining.extend(
            nats.nat_gateways()
                .iter()
                .filter(|nat| !matches!(nat.state(), Some(NatGatewayState::Deleted | NatGatewayState::Deleting)))
                .filter(|nat| nat.tags().iter().any(|tag| tag.value() == Some("ai-dev")))
                .map(|nat| format!("NAT gateway {:?}", nat.nat_gateway_id())),
        );
        let reservations = ec2.describe_instances().filters(environment_filter()).send().await.unwrap();
        remaining.extend(
            reservations
                .reservations()
                .iter()
                .flat_map(|reservation| reservation.instances())
                .filter(|instance| {
                    instance.state().and_then(|state| state.name()) != Some(&InstanceStateName::Terminated)
                })
                .map(|instance| format!("instance {:?}", instance.instance_id())),
        );
        remaining
    })
}

/// Index of the first call with `action`; panics when there is none.
fn first(calls: &[AwsCall], action: &str) -> usize {
    calls.iter().position(|call| call.action == action).unwrap_or_else(|| panic!("no {action} call in {calls:#?}"))
}

/// Index of the last call with `action`; panics when there is none.
fn last(calls: &[AwsCall], action: &str) -> usize {
    calls.iter().rposition(|call| call.action == action).unwrap_or_else(|| panic!("no {action} call in {calls:#?}"))
}

/// Lists the calls that change something in AWS.
fn writes(calls: &[AwsCall]) -> Vec<String> {
    let changing = ["Create", "Delete", "Terminate", "Detach", "Release", "Disassociate", "Replace", "Modify"];
    calls
        .iter()
        .filter(|call| changing.iter().any(|prefix| call.action.starts_with(prefix)))
        .map(|call| call.action.clone())
        .collect()
}

#[test]
fn destroy_removes_only_tethers_resources() {
    let (harness, file) = applied_environment();
    let ec2 = harness.ec2_client();
    let by_hand = runtime().block_on(ec2.create_vpc().cidr_block("10.9.0.0/16").send()).unwrap();
    let by_hand_id = by_hand.vpc().unwrap().vpc_id().unwrap().to_owned();
    assert!(!remaining_tagged(&harness).is_empty(), "apply tagged what it created");

    let stdout = harness.tether_ok(&["destroy", &file, "--auto-approve", "--allow-destroy-cluster"]);

    assert!(stdout.contains("Destroy complete"), "{stdout}");
    assert_eq!(remaining_tagged(&harness), Vec::<String>::new(), "nothing with the environment's tag remains");
    let survivors = runtime().block_on(ec2.describe_vpcs().vpc_ids(&by_hand_id).send()).unwrap();
    assert_eq!(survivors.vpcs().len(), 1, "the VPC made by hand survives");
    let state = std::fs::read_to_string(harness.dir.path().join(".tether/ai-dev.state.json")).unwrap();
    let state: serde_json::Value = serde_json::from_str(&state).unwrap();
    // The kept namespace keeps its labels, so the next apply or destroy finds it without a record.
    assert_eq!(state["resources"], serde_json::json!({}), "state records nothing");
    assert!(kept_namespace_named(&harness, &file), "destroy says why it keeps the namespace");

    let again = harness.tether_ok(&["destroy", &file, "--auto-approve", "--allow-destroy-cluster"]);
    assert!(!again.contains("Destroy complete"), "a second destroy has nothing to do:\n{again}");
    check_destroy_recorded(&harness, &file, &stdout);
}

/// Runs a destroy that has nothing left to delete and checks that it names the kept namespace.
fn kept_namespace_named(harness: &Harness, file: &str) -> bool {
    let output = harness.tether(&["destroy", file, "--auto-approve", "--allow-destroy-cluster"]);
    let stderr = String::from_utf8_lossy(&output.stderr);
    stderr.contains("Keeping cluster.namespace.hcp-ai") && stderr.contains("kubectl delete namespace hcp-ai")
}

/// Checks that the history contains the apply's record and one destroy record whose counts match
/// the printed summary line. The second destroy had nothing to do, so it records nothing.
fn check_destroy_recorded(harness: &Harness, file: &str, stdout: &str) {
    let text = harness.tether_ok(&["history", "--json", file]);
    let records: serde_json::Value = serde_json::from_str(&text).unwrap();
    let records = records.as_array().unwrap();
    let operations: Vec<&str> = records.iter().map(|record| record["operation"].as_str().unwrap()).collect();
    assert_eq!(operations, ["apply", "destroy"], "the kept namespace keeps the apply's record: {records:#?}");

    let destroy = &records[1];
    let destroyed: u64 = stdout
        .split("Destroy complete: ")
        .nth(1)
        .and_then(|rest| rest.split(' ').next())
        .and_then(|count| count.parse().ok())
        .expect("a count of destroyed resources");
    assert!(destroyed > 0, "{stdout}");
    assert_eq!(destroy["outcome"], "succeeded");
    assert_eq!(destroy["summary"]["destroyed"], destroyed);
    assert_eq!(destroy["summary"]["added"], 0);
    assert_eq!(destroy["summary"]["failed"], 0);
    assert!(destroy["finished"].is_string());
    assert!(destroy["plan_digest"].as_str().unwrap().starts_with("sha256:"));

    let text = harness.tether_ok(&["history", file]);
    let expected = format!("  destroy  succeeded  0 added, 0 changed, {destroyed} destroyed; 0 failed, 0 skipped\n");
    assert!(text.contains(&expected), "{text}");
}

#[test]
fn destroy_calls_in_reverse_dependency_order() {
    let (harness, file) = applied_environment();

    harness.tether_ok(&["destroy", &file, "--auto-approve", "--allow-destroy-cluster"]);

    let calls = harness.proxy().calls();
    let first_subnet_delete = first(&calls, "DeleteSubnet");
    assert!(last(&calls, "DeleteRoute") < first_subnet_delete, "routes go before subnets");
    assert!(last(&calls, "DeleteNatGateway") < first_subnet_delete, "NAT gateways go before their subnets");
    assert!(
        last(&calls, "DeleteNatGateway") < first(&calls, "ReleaseAddress"),
        "a NAT gateway goes before its address"
    );
    assert!(
        last(&calls, "DisassociateRouteTable") < first(&calls, "DeleteRouteTable"),
        "associations go before their tables"
    );
    assert!(
        last(&calls, "TerminateInstances") < first(&calls, "DeleteSecurityGroup"),
        "the router goes before its group"
    );
    assert!(last(&calls, "TerminateInstances") < first_subnet_delete, "the router goes before its subnet");
    let vpc_delete = first(&calls, "DeleteVpc");
    assert!(last(&calls, "DetachInternetGateway") < vpc_delete, "the gateway is detached before the VPC goes");
    assert!(last(&calls, "DeleteSubnet") < vpc_delete, "subnets go before the VPC");
    assert!(last(&calls, "DeleteSecurityGroup") < vpc_delete, "security groups go before the VPC");
    assert_eq!(vpc_delete, last(&calls, "DeleteVpc"), "one VPC is deleted");
    assert!(last(&calls, "DeleteVpcEndpoints") < first(&calls, "DeleteRouteTable"), "the S3 endpoint goes first");
    let zone_delete = calls.iter().rposition(|call| call.action.starts_with("DELETE /2013-04-01/hostedzone/"));
    assert!(zone_delete.is_some_and(|zone| zone < vpc_delete), "private zones go before their VPC: {calls:#?}");
    assert!(
        last(&calls, "ReplaceRouteTableAssociation") < first(&calls, "DeleteRouteTable"),
        "the VPC's own table is made main again before tether's main table is deleted"
    );

    assert!(
        last(&calls, "RemoveRoleFromInstanceProfile") < first(&calls, "DeleteInstanceProfile"),
        "the role leaves the profile before the profile goes"
    );
    // Roles are deleted in parallel, so only the first pair is ordered across roles.
    assert!(first(&calls, "DeleteRolePolicy") < first(&calls, "DeleteRole"), "inline policies go before a role");
    let count = |action: &str| calls.iter().filter(|call| call.action == action && call.status == 200).count();
    assert_eq!(count("DeleteRole"), 8, "seven component roles and the worker role");
    assert_eq!(count("DeleteRolePolicy"), 8, "one inline policy per role");
    let provider_delete = first(&calls, "DeleteOpenIDConnectProvider");
    let roles_before = calls[..provider_delete].iter().filter(|call| call.action == "DeleteRole").count();
    assert!(roles_before >= 7, "the seven roles that trust the OIDC provider go before it: {roles_before}");
}

#[test]
fn main_table_handed_back_to_vpc() {
    let (harness, file) = applied_environment();
    let ec2 = harness.ec2_client();
    let vpc_id = tether_vpc_id(&harness);
    let tables_in_vpc = || {
        let filter = Filter::builder().name("vpc-id").values(&vpc_id).build();
        runtime().block_on(ec2.describe_route_tables().filters(filter).send()).unwrap().route_tables().to_vec()
    };
    let original = tables_in_vpc()
        .iter()
        .find(|table| table.tags().is_empty())
        .and_then(|table| table.route_table_id())
        .expect("the table AWS made with the VPC")
        .to_owned();
    // Keep the VPC, so that its tables can be read after the destroy.
    harness.proxy().inject(AwsFault::error(400, "DependencyViolation").action("DeleteVpc"));

    let output = harness.tether(&["destroy", &file, "--auto-approve", "--allow-destroy-cluster"]);

    assert!(!output.status.success(), "{}", describe(&output));
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(stderr.contains("Destroy failed"), "{stderr}");
    assert!(stderr.contains("aws.vpc.main"), "the failed delete is named:\n{stderr}");
    let tables = tables_in_vpc();
    let ids: Vec<&str> = tables.iter().filter_map(|table| table.route_table_id()).collect();
    assert_eq!(ids, [original.as_str()], "only the VPC's own table is left");
    let main = tables[0].associations().iter().any(|association| association.main() == Some(true));
    assert!(main, "the VPC's own table is its main table again");
}

#[test]
fn destroy_without_terminal_asks_for_flag() {
    let (harness, file) = applied_environment();

    let output = harness.tether(&["destroy", &file, "--allow-destroy-cluster"]);

    assert!(!output.status.success(), "{}", describe(&output));
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(stderr.contains("stdin is not a terminal"), "{stderr}");
    assert!(stderr.contains("--auto-approve"), "the flag is named:\n{stderr}");
    assert_eq!(writes(&harness.proxy().calls()), Vec::<String>::new(), "nothing changed in AWS");
}

#[test]
fn destroy_without_flag_refuses_cluster() {
    let (harness, file) = applied_environment();

    let output = harness.tether(&["destroy", &file, "--auto-approve"]);

    assert!(!output.status.success(), "{}", describe(&output));
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(stderr.contains("--allow-destroy-cluster"), "the flag is named:\n{stderr}");
    assert!(stderr.contains("cluster.hosted_cluster.ai"), "the cluster is named:\n{stderr}");
    assert_eq!(writes(&harness.proxy().calls()), Vec::<String>::new(), "nothing changed in AWS");
    assert!(!remaining_tagged(&harness).is_empty());
}

#[test]
fn foreign_objects_in_vpc_named() {
    let (harness, file) = applied_environment();
    let ec2 = harness.ec2_client();
    let vpc_id = tether_vpc_id(&harness);
    let (group_id, interface_id, worker_id) = runtime().block_on(async {
        let group = ec2
            .create_security_group()
            .vpc_id(&vpc_id)
            .group_name("ai-default-sg")
            .description("made by HyperShift's controllers")
            .send()
            .await
            .unwrap();
        let subnets = ec2.describe_subnets().filters(environment_filter()).send().await.unwrap();
        let subnet_id = subnets.subnets()[0].subnet_id().unwrap().to_owned();
        let interface = ec2
            .create_network_interface()
            .subnet_id(&subnet_id)
            .description("ELB net/a1b2c3/d4e5f6")
            .send()
            .await
            .unwrap();
        let interface_id = interface.network_interface().unwrap().network_interface_id().unwrap().to_owned();
        let name = aws_sdk_ec2::types::Tag::builder().key("Name").value("ai-workers-x7k2p").build();
        let tags = aws_sdk_ec2::types::TagSpecification::builder()
            .resource_type(aws_sdk_ec2::types::ResourceType::Instance)
            .tags(name)
            .build();
        let worker = ec2
            .run_instances()
            .image_id("ami-12c6146b")
            .instance_type(aws_sdk_ec2::types::InstanceType::T3Small)
            .min_count(1)
            .max_count(1)
            .subnet_id(subnet_id)
            .tag_specifications(tags)
            .send()
            .await
            .unwrap();
        let worker_id = worker.instances()[0].instance_id().unwrap().to_owned();
        (group.group_id().unwrap().to_owned(), interface_id, worker_id)
    });
    harness.proxy().reset_calls();

    let output = harness.tether(&["destroy", &file, "--auto-approve", "--allow-destroy-cluster"]);

    assert!(!output.status.success(), "{}", describe(&output));
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(stderr.contains(&format!("security group {group_id} (ai-default-sg)")), "{stderr}");
    assert!(stderr.contains(&format!("network interface {interface_id} (ELB net/a1b2c3/d4e5f6)")), "{stderr}");
    assert!(stderr.contains(&format!("instance {worker_id} (ai-workers-x7k2p)")), "{stderr}");
    assert!(!stderr.contains("DependencyViolation"), "{stderr}");
    assert_eq!(writes(&harness.proxy().calls()), Vec::<String>::new(), "nothing changed in AWS");
}

#[test]
fn removed_from_file_still_destroyed() {
    let (harness, file) = applied_environment();
    support::edit(
        std::path::Path::new(&file),
        "[pools.gpu]\ninstance_type = \"g6.xlarge\"\nautoscaling = { min = 0, max = 2 }\n\
         # Taints and labels reach only nodes created after a change.\n\
         taints = [{ key = \"nvidia.com/gpu\", value = \"present\", effect = \"NoSchedule\" }]\n\
         labels = { \"nvidia.com/gpu.present\" = \"true\" }",
        "",
    );

    let output = harness.tether(&["destroy", &file, "--auto-approve", "--allow-destroy-cluster"]);

    assert!(output.status.success(), "{}", describe(&output));
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(stdout.contains("cluster.node_pool.gpu"), "the pool no longer in the file is destroyed:\n{stdout}");
}
