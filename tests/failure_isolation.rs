//! End-to-end test of failure isolation. The AWS proxy in front of moto fails the calls for one
//! subnet's routing. The rest of the environment is applied, the dependents of the failed changes
//! are skipped and reported once each, and a later apply converges.
//!
//! moto must be installed first (`scripts/emulators install`; `scripts/test` does it).

mod support;

use std::collections::BTreeSet;

use serde_json::Value;
use support::{Harness, describe};
use tether_testkit::aws_proxy::AwsFault;

const PRIVATE_TABLE: &str = "aws.route_table.private-ap-southeast-2a";
const PUBLIC_ONPREM_ROUTE: &str = "aws.route.public-onprem-192-168-6-0-24";

/// The dependents of the private route table, which the apply must skip because of it.
const SKIPPED: [&str; 4] = [
    "aws.route.private-ap-southeast-2a-default",
    "aws.route.private-ap-southeast-2a-onprem-192-168-6-0-24",
    "aws.route_table_association.private-ap-southeast-2a",
    "aws.vpc_endpoint.s3",
];

fn recorded_addresses(harness: &Harness) -> BTreeSet<String> {
    let text = std::fs::read_to_string(harness.dir.path().join(".tether/ai-dev.state.json")).expect("state file");
    let state: Value = serde_json::from_str(&text).expect("the state is JSON");
    state["resources"].as_object().expect("resources").keys().cloned().collect()
}

/// Returns the address of each `ADDRESS: skipped because FAILED failed` progress line.
fn skip_lines(stderr: &str) -> Vec<(&str, &str)> {
    stderr
        .lines()
        .filter_map(|line| {
            let (_, rest) = line.split_once("s] ")?;
            let (address, because) = rest.split_once(": skipped because ")?;
            Some((address, because.strip_suffix(" failed")?))
        })
        .collect()
}

#[test]
fn route_failure_leaves_rest_applied() {
    let harness = Harness::start_with_proxy();
    let file = harness.example("ai-dev.toml");
    let file = file.to_str().unwrap();
    let planned: Value = serde_json::from_str(&harness.tether_ok(&["plan", "--json", file])).unwrap();
    let changes = planned["resource_changes"].as_array().unwrap();
    let address = |change: &Value| change["address"].as_str().unwrap().to_owned();
    // Every planned resource, including those that exist already (a no-op is recorded too).
    let planned: BTreeSet<String> = changes.iter().map(address).collect();
    let creates = changes.iter().filter(|change| change["action"] == "create").count();

    // The private subnet's route table fails at creation. The public table's route to the on-prem
    // network fails too, and the private table's route with that CIDR is never attempted.
    let invalid = "InvalidParameterValue";
    let proxy = harness.proxy();
    proxy.inject(AwsFault::error(400, invalid).action("CreateRouteTable").body_contains(PRIVATE_TABLE));
    proxy.inject(AwsFault::error(400, invalid).action("CreateRoute").body_contains("192.168.6.0/24"));

    let failed = harness.tether(&["apply", "--auto-approve", file]);
    assert_eq!(failed.status.code(), Some(1), "{}", describe(&failed));
    let stderr = String::from_utf8_lossy(&failed.stderr);

    let mut skipped = skip_lines(&stderr);
    skipped.sort_unstable();
    let expected: Vec<(&str, &str)> = SKIPPED.iter().map(|address| (*address, PRIVATE_TABLE)).collect();
    assert_eq!(skipped, expected, "each dependent is skipped once, because of the table:\n{stderr}");
    assert!(stderr.contains("Apply failed: "), "{stderr}");
    assert!(stderr.contains("; 2 failed, 4 skipped."), "{stderr}");
    for address in [PRIVATE_TABLE, PUBLIC_ONPREM_ROUTE] {
        let listed = format!("  {address}: ");
        assert_eq!(stderr.matches(&listed).count(), 1, "the failure of {address} is listed once:\n{stderr}");
    }
    assert!(stderr.contains(invalid), "the AWS error code is shown:\n{stderr}");
    assert!(!proxy.calls().iter().any(|call| call.action == "CreateVpcEndpoint"), "a skipped change makes no AWS call");

    // Everything else, the cluster side included, is applied and recorded.
    let recorded = recorded_addresses(&harness);
    let not_applied: BTreeSet<String> =
        SKIPPED.iter().chain(&[PRIVATE_TABLE, PUBLIC_ONPREM_ROUTE]).map(|address| (*address).to_owned()).collect();
    let expected: BTreeSet<String> = planned.difference(&not_applied).cloned().collect();
    assert_eq!(recorded, expected, "the state records every change that finished");
    for address in ["cluster.hosted_cluster.ai", "cluster.node_pool.workers", "cluster.machine_config.master-routes"] {
        assert!(recorded.contains(address), "{address} is applied");
    }
    let hosted_cluster = harness.kube.get("hypershift.openshift.io/v1beta1", "HostedCluster", Some("hcp-ai"), "ai");
    assert!(hosted_cluster.is_some(), "the HostedCluster exists on the management cluster");
    let finished = stderr.lines().filter(|line| line.contains(": created in ")).count();
    assert_eq!(finished, creates - not_applied.len(), "one progress line per finished change:\n{stderr}");

    // Without the faults, the next apply creates only what is missing, and then nothing is left.
    proxy.clear_faults();
    let retried = harness.tether_ok(&["apply", "--auto-approve", file]);
    assert!(retried.contains("Plan: 6 to add, 0 to change, 0 to destroy."), "{retried}");
    assert!(retried.contains("Apply complete: 6 added, 0 changed, 0 destroyed; 0 failed, 0 skipped."), "{retried}");
    let last = harness.tether(&["plan", "--detailed-exitcode", file]);
    assert_eq!(last.status.code(), Some(0), "the environment converged:\n{}", describe(&last));
    assert_eq!(recorded_addresses(&harness), planned);
}
