//! End-to-end tests under injected faults: throttling, server errors and reset connections from
//! AWS (through the fault proxy in front of moto) and from the Kubernetes test server. Transient
//! faults must be retried until the apply converges without duplicates. A persistent fault must end
//! the apply with the resource named, the lock released and what finished recorded.
//!
//! moto must be installed first (`scripts/emulators install`; `scripts/test` does it).

mod support;

use std::collections::BTreeSet;

use support::{Harness, describe};
use tether_testkit::aws_proxy::AwsFault;
use tether_testkit::kube::Fault;

/// Injects about 10% faults on every AWS call: 4% throttling, 3% 503 and 3% reset connections.
/// The seeds make each run choose the same calls.
fn inject_transient_aws_faults(harness: &Harness) {
    let proxy = harness.proxy();
    proxy.inject(AwsFault::error(400, "Throttling").ratio(0.04, 1));
    proxy.inject(AwsFault::error(503, "ServiceUnavailable").ratio(0.03 / 0.96, 2));
    proxy.inject(AwsFault::reset().ratio(0.03 / 0.93, 3));
}

fn state_addresses(harness: &Harness) -> BTreeSet<String> {
    let text = std::fs::read_to_string(harness.dir.path().join(".tether/ai-dev.state.json")).expect("state exists");
    let state: serde_json::Value = serde_json::from_str(&text).expect("state is JSON");
    state["resources"].as_object().expect("resources map").keys().cloned().collect()
}

/// Lists the addresses that state must record after the plan is applied: everything the JSON
/// plan names, created or found existing (the base domain's public zone), but not deleted.
fn planned_addresses(harness: &Harness, file: &str) -> BTreeSet<String> {
    let stdout = harness.tether_ok(&["plan", "--json", file]);
    let plan: serde_json::Value = serde_json::from_str(&stdout).expect("plan JSON");
    let changes = plan["resource_changes"].as_array().expect("resource changes");
    let kept = changes.iter().filter(|change| change["action"] != "delete");
    kept.map(|change| change["address"].as_str().expect("address").to_owned()).collect()
}

/// Counts the calls of `action` that returned HTTP 200.
fn successful_calls(harness: &Harness, action: &str) -> usize {
    harness.proxy().calls().iter().filter(|call| call.action == action && call.status == 200).count()
}

fn assert_converged(harness: &Harness, file: &str) {
    let plan = harness.tether_ok(&["plan", file]);
    assert!(plan.starts_with("No changes."), "{plan}");
}

#[test]
fn apply_converges_under_aws_faults() {
    let harness = Harness::start_with_proxy();
    let file = harness.example("ai-dev.toml");
    let file = file.to_str().unwrap();
    let expected = planned_addresses(&harness, file);
    inject_transient_aws_faults(&harness);

    let output = harness.tether(&["apply", "--auto-approve", file]);

    let injected = harness.proxy().calls().iter().filter(|call| call.injected).count();
    let total = harness.proxy().calls().len();
    assert!(injected > 0, "the proxy injected no fault in {total} calls");
    assert!(output.status.success(), "{injected} of {total} AWS calls failed on purpose:\n{}", describe(&output));
    assert_eq!(state_addresses(&harness), expected, "state records exactly the planned resources");
    for (action, count) in [("CreateVpc", 1), ("CreateSubnet", 2), ("CreateNatGateway", 1), ("RunInstances", 1)] {
        assert_eq!(successful_calls(&harness, action), count, "{action} succeeded more or less than once per resource");
    }
    harness.proxy().clear_faults();
    assert_converged(&harness, file);
}

#[test]
fn plan_under_aws_faults_sees_no_changes() {
    let harness = Harness::start_with_proxy();
    let file = harness.example("ai-dev.toml");
    let file = file.to_str().unwrap();
    harness.tether_ok(&["apply", "--auto-approve", file]);
    inject_transient_aws_faults(&harness);

    for run in 0..3 {
        let output = harness.tether(&["plan", "--detailed-exitcode", file]);

        assert_eq!(
            output.status.code(),
            Some(0),
            "run {run}: a throttled read is not a missing resource:\n{}",
            describe(&output)
        );
    }
    assert!(harness.proxy().calls().iter().any(|call| call.injected), "the proxy injected no fault");
}

#[test]
fn persistent_aws_fault_names_resource() {
    let harness = Harness::start_with_proxy();
    let file = harness.example("ai-dev.toml");
    let file = file.to_str().unwrap();
    harness.proxy().inject(AwsFault::error(500, "InternalError").action("CreateNatGateway"));

    let output = harness.tether(&["apply", "--auto-approve", file]);

    assert_eq!(output.status.code(), Some(1), "{}", describe(&output));
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(stderr.contains("aws.nat_gateway.ap-southeast-2a"), "the failed resource is named:\n{stderr}");
    assert!(stderr.contains("InternalError"), "the AWS error code is shown:\n{stderr}");
    let recorded = state_addresses(&harness);
    for finished in ["aws.vpc.main", "aws.subnet.public-ap-southeast-2a", "aws.eip.nat-ap-southeast-2a"] {
        assert!(recorded.contains(finished), "{finished} finished and is recorded: {recorded:?}");
    }
    assert!(!recorded.contains("aws.nat_gateway.ap-southeast-2a"), "{recorded:?}");
    assert!(!recorded.contains("aws.route.private-ap-southeast-2a-default"), "a dependent was skipped: {recorded:?}");

    // The lock was released: the next apply runs, finishes the rest and creates nothing twice.
    harness.proxy().clear_faults();
    harness.tether_ok(&["apply", "--auto-approve", file]);
    assert_converged(&harness, file);
    assert_eq!(successful_calls(&harness, "CreateVpc"), 1);
    assert_eq!(successful_calls(&harness, "CreateNatGateway"), 1);
}

#[test]
fn kubernetes_faults_retried_to_success() {
    let harness = Harness::start_with_proxy();
    let file = harness.example("ai-dev.toml");
    let file = file.to_str().unwrap();
    harness.kube.inject_fault(Fault::throttle(0).on("PATCH", "/hostedclusters/").times(2));
    harness.kube.inject_fault(Fault::fail(503).on("PATCH", "/nodepools/").times(2));
    harness.kube.inject_fault(Fault::fail(500).on("GET", "/namespaces").times(1));

    harness.tether_ok(&["apply", "--auto-approve", file]);

    assert_converged(&harness, file);
    let node_pools = harness.kube.get("hypershift.openshift.io/v1beta1", "NodePool", Some("hcp-ai"), "ai-gpu");
    assert!(node_pools.is_some(), "the NodePool exists after its retried apply");
}

#[test]
fn persistent_kubernetes_fault_names_resource() {
    let harness = Harness::start_with_proxy();
    let file = harness.example("ai-dev.toml");
    let file = file.to_str().unwrap();
    // More failures than the client's attempts for both NodePools.
    harness.kube.inject_fault(Fault::fail(500).on("PATCH", "/nodepools/").times(8));

    let output = harness.tether(&["apply", "--auto-approve", file]);

    assert_eq!(output.status.code(), Some(1), "{}", describe(&output));
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(stderr.contains("cluster.node_pool."), "the failed NodePool is named:\n{stderr}");
    assert!(stderr.contains("500"), "the status is shown:\n{stderr}");
    let recorded = state_addresses(&harness);
    assert!(recorded.contains("cluster.hosted_cluster.ai"), "{recorded:?}");
    assert!(recorded.contains("aws.vpc.main"), "{recorded:?}");

    harness.tether_ok(&["apply", "--auto-approve", file]);
    assert_converged(&harness, file);
}

#[test]
fn slow_create_times_out_without_duplicate() {
    let harness = Harness::start_with_proxy();
    let file = harness.example("ai-dev.toml");
    let file = file.to_str().unwrap();
    // Longer than one attempt may take (30 s), so the client gives up on this attempt and retries.
    // Whether or not the slow call still reaches moto later, the environment must end with one VPC.
    harness.proxy().inject(AwsFault::delay(std::time::Duration::from_secs(32)).action("CreateVpc").times(1));

    let output = harness.tether(&["apply", "--auto-approve", file]);

    assert!(output.status.success(), "{}", describe(&output));
    harness.proxy().clear_faults();
    assert_converged(&harness, file);
    assert_eq!(count_vpcs(&harness), 1, "the environment has exactly one VPC");
}

/// Counts the VPCs in moto that carry the environment's tag.
fn count_vpcs(harness: &Harness) -> usize {
    use aws_sdk_ec2::config::{BehaviorVersion, Credentials, Region};

    let config = aws_sdk_ec2::Config::builder()
        .behavior_version(BehaviorVersion::latest())
        .endpoint_url(harness.moto.endpoint())
        .region(Region::new("ap-southeast-2"))
        .credentials_provider(Credentials::new("testing", "testing", None, None, "moto"))
        .build();
    let client = aws_sdk_ec2::Client::from_conf(config);
    let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
    let output = runtime.block_on(client.describe_vpcs().send()).unwrap();
    let tagged = output.vpcs().iter().filter(|vpc| {
        vpc.tags()
            .iter()
            .any(|tag| tag.value() == Some("ai-dev") && tag.key().is_some_and(|key| key.contains("environment")))
    });
    tagged.count()
}
