//! Golden tests of the cost estimate and the placement summary for both examples, with
//! assertions on the data they render: `tether cost` run as a user would, the cost change of a
//! plan for a fresh environment, and where each part runs.
//!
//! `TETHER_BLESS=1 cargo test --test estimates_golden` rewrites the files under `tests/golden/estimates/`.

mod support;

use std::path::{Path, PathBuf};
use std::process::Command;

use support::{describe, repository_root};
use tether_catalog::DesiredGraph;
use tether_model::{Plan, State, Usd};
use tether_plan::PlanInput;

const EXAMPLES: [&str; 2] = ["ai-dev", "ai-prod"];

fn example_path(name: &str) -> PathBuf {
    repository_root().join("examples").join(format!("{name}.toml"))
}

fn lower(name: &str) -> (tether_config::Checked, DesiredGraph) {
    let checked = tether_config::load(&example_path(name)).expect("the example is valid");
    let desired = tether_catalog::lower(&checked).expect("the example lowers");
    (checked, desired)
}

/// Plans the example against nothing observed, as for a fresh environment.
fn fresh_plan(name: &str, desired: &DesiredGraph) -> Plan {
    let state = State::empty(name);
    tether_plan::plan(&PlanInput { environment: name, desired, observed: &[], state: &state }).expect("plan")
}

/// Compares `rendered` with `tests/golden/estimates/<file>`, or rewrites it with `TETHER_BLESS=1`.
fn assert_golden(file: &str, rendered: &str) {
    let path = repository_root().join("tests/golden/estimates").join(file);
    if std::env::var_os("TETHER_BLESS").is_some_and(|value| value == "1") {
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(&path, rendered).unwrap();
        return;
    }
    let expected = std::fs::read_to_string(&path)
        .unwrap_or_else(|error| panic!("{}: {error}; run with TETHER_BLESS=1 to create it", path.display()));
    assert_eq!(rendered, expected, "{} differs; rerun with TETHER_BLESS=1 if the change is intended", path.display());
}

fn tether(args: &[&str], dir: &Path) -> std::process::Output {
    Command::new(env!("CARGO_BIN_EXE_tether")).args(args).current_dir(dir).output().expect("tether runs")
}

#[test]
fn cost_command_breakdown() {
    for name in EXAMPLES {
        let output = tether(&["cost", &format!("examples/{name}.toml")], &repository_root());
        assert!(output.status.success(), "{}", describe(&output));
        let stdout = String::from_utf8(output.stdout).unwrap();

        assert!(stdout.contains("Prices as of 2025-06-01"), "the price table's date is printed:\n{stdout}");
        assert!(stdout.contains("an estimate"), "{stdout}");
        assert!(stdout.contains("pool gpu (g6.xlarge)         0 to 2  no price data"), "{stdout}");
        assert_golden(&format!("{name}-cost.txt"), &stdout);
    }
}

#[test]
fn cost_estimate_of_examples() {
    for name in EXAMPLES {
        let (checked, desired) = lower(name);

        let estimate = tether_catalog::estimate_desired(&desired, &checked.environment.aws.region);

        let totals = estimate.totals();
        // Two m6i.2xlarge at $0.48, one NAT gateway at $0.059 and a t3.small at $0.0264 an hour.
        assert_eq!(totals.hourly_at_rest, Usd(2 * 480_000 + 59_000 + 26_400));
        assert_eq!(totals.hourly_at_peak, totals.hourly_at_rest, "the GPU pool has no price in ap-southeast-2");
        let unpriced: Vec<String> = estimate.unpriced().map(|line| line.address.to_string()).collect();
        assert_eq!(unpriced, ["cluster.node_pool.gpu"]);
    }
}

#[test]
fn plan_cost_change_for_fresh_environment() {
    for name in EXAMPLES {
        let (_, desired) = lower(name);
        let plan = fresh_plan(name, &desired);
        let region = tether_catalog::plan_region(&plan).expect("the plan names the region");

        let cost = tether_catalog::estimate_plan(&plan, &region);

        assert_eq!(region, "ap-southeast-2");
        assert!(cost.before.lines.is_empty(), "nothing exists before a fresh apply");
        assert_eq!(cost.difference().hourly_at_rest, Usd(1_045_400));
        let rendered = tether_render::render_cost_change(&cost);
        assert!(rendered.contains("+$1.0454/hour, +$763.14/month"), "{rendered}");
        assert_golden(&format!("{name}-plan-cost.txt"), &rendered);

        let json = tether_render::cost_json(&cost);
        assert_eq!(json["change"]["hourly_at_rest"], 1.0454);
        assert_eq!(json["change"]["monthly_at_rest"], 763.1420);
        assert_eq!(json["prices"]["as_of"], "2025-06-01");
        assert_eq!(json["after"]["unpriced"][0], "cluster.node_pool.gpu");
    }
}

#[test]
fn placement_of_examples() {
    for name in EXAMPLES {
        let (_, desired) = lower(name);

        let placement = tether_catalog::placement_desired(&desired);

        let names = |items: &[tether_model::PlacedItem]| items.iter().map(|item| item.name.clone()).collect::<Vec<_>>();
        assert_eq!(
            names(&placement.management_cluster),
            ["control plane", "etcd", "endpoints", "pull secret", "node routes"]
        );
        assert_eq!(names(&placement.aws), ["region", "pool gpu", "pool workers", "NAT gateways", "subnet router"]);
        assert_eq!(
            names(&placement.crossings),
            ["on-prem ↔ VPC", "management nodes → VPC", "workers → control plane", "control plane → AWS"]
        );
        assert_eq!(placement.management_cluster[1].detail, "8Gi persistent volume on storage class `lvms-vg1`");
        assert_golden(&format!("{name}-placement.txt"), &tether_render::render_placement(&placement));
    }
}

#[test]
fn plan_placement_matches_desired() {
    let (_, desired) = lower("ai-dev");
    let plan = fresh_plan("ai-dev", &desired);

    assert_eq!(tether_catalog::placement_plan(&plan), tether_catalog::placement_desired(&desired));
}

#[test]
fn route_caveat_once_when_route_created() {
    let (_, desired) = lower("ai-dev");
    let plan = fresh_plan("ai-dev", &desired);

    let caveat = tether_catalog::route_caveat(&plan).expect("a fresh plan creates the route MachineConfig");

    assert!(caveat.contains("routingViaHost: false"), "{caveat}");
    assert!(caveat.contains("pod traffic"), "{caveat}");
}

#[test]
fn cost_command_json() {
    let output = tether(&["cost", "--json", "examples/ai-prod.toml"], &repository_root());
    assert!(output.status.success(), "{}", describe(&output));

    let document: serde_json::Value = serde_json::from_slice(&output.stdout).expect("cost --json prints JSON");

    assert_eq!(document["environment"], "ai-prod");
    assert_eq!(document["estimate"], true);
    assert_eq!(document["prices"]["as_of"], "2025-06-01");
    assert_eq!(document["cost"]["hourly_at_rest"], 1.0454);
    assert_eq!(document["cost"]["monthly_at_peak"], 763.142);
    assert_eq!(document["cost"]["lines"][0]["address"], "cluster.node_pool.gpu");
    assert_eq!(document["cost"]["lines"][0]["unit_hourly"], serde_json::Value::Null);
    assert_eq!(document["cost"]["unpriced"], serde_json::json!(["cluster.node_pool.gpu"]));
}
