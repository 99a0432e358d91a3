//! Observation cost: the AWS calls of a `tether plan` after apply, counted by the AWS proxy, must
//! not grow with the number of resources of one kind. Three zones triple the subnets, NAT
//! gateways, Elastic IPs, route tables, routes and associations, and must not change the calls.

mod support;

use std::collections::BTreeMap;

use support::Harness;

/// Applies `examples/<example>` and counts the calls of the plan that follows, by service and action.
fn plan_calls(example: &str) -> BTreeMap<String, usize> {
    let harness = Harness::start_with_proxy();
    let file = harness.example(example).display().to_string();
    harness.tether_ok(&["apply", &file, "--auto-approve"]);
    harness.proxy().reset_calls();

    harness.tether_ok(&["plan", &file]);

    let mut counts = BTreeMap::new();
    for call in harness.proxy().calls() {
        *counts.entry(format!("{} {}", call.service, call.action)).or_default() += 1;
    }
    counts
}

#[test]
fn plan_calls_independent_of_zone_count() {
    let one_zone = plan_calls("ai-dev.toml");
    let three_zones = plan_calls("ai-dev-3az.toml");

    eprintln!("calls of a plan with one zone: {one_zone:#?}");
    assert_eq!(three_zones, one_zone, "three zones make the same calls as one");
    let describes: usize = one_zone.iter().filter(|(action, _)| action.contains(" Describe")).map(|(_, n)| n).sum();
    let total: usize = one_zone.values().sum();
    eprintln!("{total} calls in all, {describes} of them EC2 Describe calls");
}

#[test]
fn plan_lists_each_kind_once() {
    let counts = plan_calls("ai-dev-3az.toml");

    for action in [
        "ec2 DescribeVpcs",
        "ec2 DescribeSubnets",
        "ec2 DescribeNatGateways",
        "ec2 DescribeAddresses",
        "ec2 DescribeRouteTables",
        "ec2 DescribeSecurityGroups",
        "ec2 DescribeInstances",
        "ec2 DescribeInternetGateways",
    ] {
        assert_eq!(counts.get(action), Some(&1), "{action} is called once: {counts:#?}");
    }
}
