//! End-to-end tests of tether's AWS retry rules, with errors injected by the AWS proxy in front
//! of moto: throttling and server errors, resources created in this run that are not visible
//! yet, and creates that collide with an existing resource.
//!
//! The harness sets `AWS_MAX_ATTEMPTS=3`, so each call is tried at most three times.

mod support;

use std::process::Stdio;
use std::time::{Duration, Instant};

use aws_sdk_ec2::config::Credentials;
use aws_sdk_ec2::types::{Filter, ResourceType, Tag, TagSpecification};
use support::{Harness, describe, runtime};
use tether_testkit::aws_proxy::{AwsCall, AwsFault};

fn count(calls: &[AwsCall], action: &str) -> usize {
    calls.iter().filter(|call| call.action == action).count()
}

/// Applies `examples/ai-dev.toml` and returns the text of a plan made right after, with no fault.
fn applied_environment() -> (Harness, String, String) {
    let harness = Harness::start_with_proxy();
    let file = harness.example("ai-dev.toml").display().to_string();
    harness.tether_ok(&["apply", &file, "--auto-approve"]);
    let baseline = harness.tether_ok(&["plan", &file]);
    harness.proxy().reset_calls();
    (harness, file, baseline)
}

#[test]
fn throttled_describe_retried_in_plan() {
    let (harness, file, baseline) = applied_environment();
    harness.proxy().inject(AwsFault::error(400, "Throttling").action("DescribeSubnets").times(1));

    let output = harness.tether(&["plan", &file]);

    assert!(output.status.success(), "{}", describe(&output));
    assert_eq!(String::from_utf8_lossy(&output.stdout), baseline, "the plan equals one made without throttling");
    let calls = harness.proxy().calls();
    assert_eq!(count(&calls, "DescribeSubnets"), 2, "one throttled call and one retry");
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(stderr.contains("retrying AWS call"), "the retry is logged:\n{stderr}");
    assert!(stderr.contains("DescribeSubnets"), "the log names the operation:\n{stderr}");
    assert!(stderr.contains("attempt=2"), "the log names the attempt:\n{stderr}");
}

#[test]
fn server_errors_and_429_retried() {
    let (harness, file, baseline) = applied_environment();
    harness.proxy().inject(AwsFault::error(503, "ServiceUnavailable").action("DescribeVpcs").times(1));
    harness.proxy().inject(AwsFault::error(429, "TooManyRequests").action("DescribeInstances").times(1));
    harness.proxy().inject(AwsFault::reset().action("DescribeRouteTables").times(1));

    let output = harness.tether(&["plan", &file]);

    assert!(output.status.success(), "{}", describe(&output));
    assert_eq!(String::from_utf8_lossy(&output.stdout), baseline);
    let calls = harness.proxy().calls();
    for action in ["DescribeVpcs", "DescribeInstances"] {
        let injected = calls.iter().filter(|call| call.action == action && call.injected).count();
        assert_eq!(injected, 1, "{action} failed once");
        assert!(count(&calls, action) >= 2, "{action} was retried");
    }
}

#[test]
fn persistent_throttling_fails_not_deleted() {
    let (harness, file, _) = applied_environment();
    harness.proxy().inject(AwsFault::error(400, "RequestLimitExceeded").action("DescribeSubnets"));

    let plan = harness.tether(&["plan", &file]);

    assert_eq!(plan.status.code(), Some(1), "{}", describe(&plan));
    let stderr = String::from_utf8_lossy(&plan.stderr);
    assert!(stderr.contains("DescribeSubnets"), "the error names the read:\n{stderr}");
    assert!(stderr.contains("RequestLimitExceeded"), "the error names AWS's code:\n{stderr}");
    let stdout = String::from_utf8_lossy(&plan.stdout);
    assert!(!stdout.contains("will be created"), "a throttled read is not a missing subnet:\n{stdout}");
    assert_eq!(count(&harness.proxy().calls(), "DescribeSubnets"), 3, "retries are bounded");

    harness.proxy().reset_calls();
    let apply = harness.tether(&["apply", &file, "--auto-approve"]);
    assert!(!apply.status.success(), "{}", describe(&apply));
    let writes: Vec<String> = harness
        .proxy()
        .calls()
        .iter()
        .filter(|call| call.action.starts_with("Create") || call.action.starts_with("Delete"))
        .map(|call| call.action.clone())
        .collect();
    assert_eq!(writes, Vec::<String>::new(), "apply changed nothing");
}

#[test]
fn nat_not_found_on_create_route_retried() {
    let harness = Harness::start_with_proxy();
    let file = harness.example("ai-dev.toml").display().to_string();
    let fault =
        AwsFault::error(400, "InvalidNatGatewayID.NotFound").action("CreateRoute").body_contains("NatGatewayId");
    harness.proxy().inject(fault.times(1));

    let output = harness.tether(&["apply", &file, "--auto-approve"]);

    assert!(output.status.success(), "{}", describe(&output));
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(stderr.contains("not visible yet; retrying"), "the retry is logged:\n{stderr}");
    assert!(stderr.contains("aws.route."), "the log names the route:\n{stderr}");
    let calls = harness.proxy().calls();
    let injected = calls.iter().filter(|call| call.action == "CreateRoute" && call.injected).count();
    assert_eq!(injected, 1);
    let second = harness.tether_ok(&["plan", &file, "--detailed-exitcode"]);
    assert!(second.contains("No changes"), "the route exists after the retry:\n{second}");
}

#[test]
fn new_address_not_visible_to_nat_retried() {
    let harness = Harness::start_with_proxy();
    let file = harness.example("ai-dev.toml").display().to_string();
    harness.proxy().inject(AwsFault::error(400, "InvalidElasticIpID.NotFound").action("CreateNatGateway").times(1));

    let output = harness.tether(&["apply", &file, "--auto-approve"]);

    assert!(output.status.success(), "{}", describe(&output));
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(stderr.contains("not visible yet; retrying"), "the retry is logged:\n{stderr}");
    assert!(stderr.contains("aws.nat_gateway.ap-southeast-2a"), "the log names the NAT gateway:\n{stderr}");
    assert_eq!(count(&harness.proxy().calls(), "CreateNatGateway"), 2, "one failure and one retry");
}

/// Applies the example while CreateSecurityGroup is held back, and creates a group of the same
/// name in the new VPC meanwhile, tagged with `tags`. Returns the apply's output and the group's id.
fn apply_racing_security_group(harness: &Harness, tags: &[(&str, &str)]) -> (std::process::Output, String) {
    let file = harness.example("ai-dev.toml").display().to_string();
    harness.proxy().inject(AwsFault::delay(Duration::from_secs(4)).action("CreateSecurityGroup").times(1));
    let mut command = harness.command(&["apply", &file, "--auto-approve"]);
    let child = command.stdout(Stdio::piped()).stderr(Stdio::piped()).spawn().expect("tether starts");

    let ec2 = harness.ec2_client();
    let environment = Filter::builder().name("tag:tether.dev/environment").values("ai-dev").build();
    let group_id = runtime().block_on(async {
        let deadline = Instant::now() + Duration::from_secs(30);
        let vpc_id = loop {
            let vpcs = ec2.describe_vpcs().filters(environment.clone()).send().await.unwrap();
            if let Some(vpc) = vpcs.vpcs().first() {
                break vpc.vpc_id().unwrap().to_owned();
            }
            assert!(Instant::now() < deadline, "tether created no VPC");
            tokio::time::sleep(Duration::from_millis(50)).await;
        };
        let tags: Vec<Tag> = tags.iter().map(|(key, value)| Tag::builder().key(*key).value(*value).build()).collect();
        let mut request = ec2.create_security_group().vpc_id(vpc_id).group_name("ai-subnet-router").description("x");
        if !tags.is_empty() {
            let specification =
                TagSpecification::builder().resource_type(ResourceType::SecurityGroup).set_tags(Some(tags)).build();
            request = request.tag_specifications(specification);
        }
        request.send().await.unwrap().group_id().unwrap().to_owned()
    });

    let output = child.wait_with_output().expect("tether finishes");
    (output, group_id)
}

#[test]
fn duplicate_group_adopted_when_tagged() {
    let harness = Harness::start_with_proxy();
    let tags = [("tether.dev/environment", "ai-dev"), ("tether.dev/address", "aws.security_group.subnet-router")];

    let (output, group_id) = apply_racing_security_group(&harness, &tags);

    assert!(output.status.success(), "{}", describe(&output));
    let state = std::fs::read_to_string(harness.dir.path().join(".tether/ai-dev.state.json")).unwrap();
    let state: serde_json::Value = serde_json::from_str(&state).unwrap();
    assert_eq!(state["resources"]["aws.security_group.subnet-router"]["id"], group_id.as_str());
}

#[test]
fn duplicate_group_untagged_refused() {
    let harness = Harness::start_with_proxy();

    let (output, group_id) = apply_racing_security_group(&harness, &[]);

    assert!(!output.status.success(), "{}", describe(&output));
    // The failure appears in the progress lines and in the closing summary.
    let text = describe(&output);
    assert!(text.contains(&format!("security group {group_id} (ai-subnet-router)")), "{text}");
    assert!(text.contains("carries no tether tags"), "{text}");
    assert!(text.contains("aws.security_group.subnet-router cannot be created"), "{text}");
}

fn iam_client(harness: &Harness) -> aws_sdk_iam::Client {
    let config = aws_sdk_iam::Config::builder()
        .behavior_version(aws_sdk_iam::config::BehaviorVersion::latest())
        .endpoint_url(harness.moto.endpoint())
        .region(aws_sdk_iam::config::Region::new("ap-southeast-2"))
        .credentials_provider(Credentials::new("testing", "testing", None, None, "moto"))
        .build();
    aws_sdk_iam::Client::from_conf(config)
}

/// The error IAM returns for a trust policy that names an OIDC provider it cannot see yet.
fn invalid_principal() -> AwsFault {
    AwsFault::error(400, "MalformedPolicyDocument")
        .message("Invalid principal in policy: \"Federated\"")
        .action("CreateRole")
}

#[test]
fn new_oidc_provider_not_visible_retried() {
    let harness = Harness::start_with_proxy();
    let file = harness.example("ai-dev.toml").display().to_string();
    harness.proxy().inject(invalid_principal().body_contains("ai-node-pool").times(1));

    let output = harness.tether(&["apply", &file, "--auto-approve"]);

    assert!(output.status.success(), "{}", describe(&output));
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(stderr.contains("not visible yet; retrying"), "the retry is logged:\n{stderr}");
    assert!(stderr.contains("aws.iam_role.node-pool"), "the log names the role:\n{stderr}");
    assert!(stderr.contains("attempt=2"), "the log names the attempt:\n{stderr}");
    let calls = harness.proxy().calls();
    assert_eq!(calls.iter().filter(|call| call.action == "CreateRole" && call.injected).count(), 1);
    let plan = harness.tether_ok(&["plan", &file]);
    assert!(plan.contains("No changes"), "the role exists after the retry:\n{plan}");
}

#[test]
fn older_oidc_provider_not_retried() {
    let (harness, file, _) = applied_environment();
    let iam = iam_client(&harness);
    runtime().block_on(async {
        let policy = iam.delete_role_policy().role_name("ai-node-pool").policy_name("ai-node-pool");
        policy.send().await.unwrap();
        iam.delete_role().role_name("ai-node-pool").send().await.unwrap();
    });
    harness.proxy().inject(invalid_principal());

    let output = harness.tether(&["apply", &file, "--auto-approve"]);

    assert!(!output.status.success(), "{}", describe(&output));
    let text = describe(&output);
    assert!(text.contains("MalformedPolicyDocument"), "AWS's code is shown:\n{text}");
    assert!(!text.contains("not visible yet"), "a provider from an earlier run gets no grace:\n{text}");
    assert_eq!(count(&harness.proxy().calls(), "CreateRole"), 1, "CreateRole was tried once");
}

#[test]
fn new_role_not_visible_to_profile_retried() {
    let harness = Harness::start_with_proxy();
    let file = harness.example("ai-dev.toml").display().to_string();
    let fault = AwsFault::error(404, "NoSuchEntity").message("The role with name ai-worker-role cannot be found.");
    harness.proxy().inject(fault.action("AddRoleToInstanceProfile").times(1));

    let output = harness.tether(&["apply", &file, "--auto-approve"]);

    assert!(output.status.success(), "{}", describe(&output));
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(stderr.contains("not visible yet; retrying"), "the retry is logged:\n{stderr}");
    assert!(stderr.contains("aws.instance_profile.worker"), "the log names the profile:\n{stderr}");
    assert_eq!(count(&harness.proxy().calls(), "AddRoleToInstanceProfile"), 2, "one failure and one retry");
}

#[test]
fn existing_untagged_role_refused() {
    let harness = Harness::start_with_proxy();
    let file = harness.example("ai-dev.toml").display().to_string();
    let iam = iam_client(&harness);
    let trust = r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"Service":"ec2.amazonaws.com"},"Action":"sts:AssumeRole"}]}"#;
    runtime().block_on(iam.create_role().role_name("ai-node-pool").assume_role_policy_document(trust).send()).unwrap();

    let output = harness.tether(&["apply", &file, "--auto-approve"]);

    assert!(!output.status.success(), "{}", describe(&output));
    let text = describe(&output);
    assert!(text.contains("aws.iam_role.node-pool cannot be created"), "{text}");
    assert!(text.contains("IAM role ai-node-pool already exists and carries no tether tags"), "{text}");
    let role = runtime().block_on(iam.get_role().role_name("ai-node-pool").send()).unwrap();
    let kept = role.role().unwrap().assume_role_policy_document().unwrap_or_default().to_owned();
    assert!(!kept.contains("capa-controller-manager"), "the role made by hand keeps its trust policy: {kept}");
}

#[test]
fn existing_tagged_role_adopted() {
    let harness = Harness::start_with_proxy();
    let file = harness.example("ai-dev.toml").display().to_string();
    harness
        .proxy()
        .inject(AwsFault::delay(Duration::from_secs(4)).action("CreateRole").body_contains("ai-node-pool").times(1));
    let child =
        harness.command(&["apply", &file, "--auto-approve"]).stdout(Stdio::piped()).stderr(Stdio::piped()).spawn();
    let child = child.expect("tether starts");

    // An earlier run that died after CreateRole left this role behind, with tether's tags.
    let iam = iam_client(&harness);
    let arn = runtime().block_on(async {
        let deadline = Instant::now() + Duration::from_secs(30);
        while iam.list_open_id_connect_providers().send().await.unwrap().open_id_connect_provider_list().is_empty() {
            assert!(Instant::now() < deadline, "tether created no OIDC provider");
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        let tags = [("tether.dev/environment", "ai-dev"), ("tether.dev/address", "aws.iam_role.node-pool")]
            .map(|(key, value)| aws_sdk_iam::types::Tag::builder().key(key).value(value).build().unwrap());
        let request = iam
            .create_role()
            .role_name("ai-node-pool")
            .assume_role_policy_document(r#"{"Version":"2012-10-17","Statement":[]}"#)
            .set_tags(Some(tags.to_vec()));
        request.send().await.unwrap().role().unwrap().arn().to_owned()
    });
    let output = child.wait_with_output().expect("tether finishes");

    assert!(output.status.success(), "{}", describe(&output));
    let state = std::fs::read_to_string(harness.dir.path().join(".tether/ai-dev.state.json")).unwrap();
    let state: serde_json::Value = serde_json::from_str(&state).unwrap();
    assert_eq!(state["resources"]["aws.iam_role.node-pool"]["id"], arn.as_str());
    let role = runtime().block_on(iam.get_role().role_name("ai-node-pool").send()).unwrap();
    let trust = role.role().unwrap().assume_role_policy_document().unwrap_or_default().to_owned();
    assert!(trust.contains("capa-controller-manager"), "the adopted role got the trust policy: {trust}");
}
