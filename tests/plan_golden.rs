//! Golden tests of the human plan for typical edits of the example environment, each with
//! assertions on the plan data it renders. Observations are simulated: every resource of the
//! unedited example exists with its desired attributes.
//!
//! `TETHER_BLESS=1 cargo test --test plan_golden` rewrites the golden files under `tests/golden/`.

mod support;

use std::path::{Path, PathBuf};

use support::repository_root;
use tether_catalog::DesiredGraph;
use tether_model::{
    Action, ActionReason, Address, Disruption, NodeCount, ObservedResource, Plan, Reference, State, Value,
};
use tether_plan::PlanInput;

/// Lowers the example environment after replacing each `(from, to)` text in it.
fn desired_with(dir: &Path, edits: &[(&str, &str)]) -> DesiredGraph {
    let examples = repository_root().join("examples");
    std::fs::copy(examples.join("pull-secret.example.json"), dir.join("pull-secret.example.json")).unwrap();
    let mut text = std::fs::read_to_string(examples.join("ai-dev.toml")).unwrap();
    for (from, to) in edits {
        assert!(text.contains(from), "the example contains {from:?}");
        text = text.replacen(from, to, 1);
    }
    let file = dir.join("ai-dev.toml");
    std::fs::write(&file, text).unwrap();
    let checked = tether_config::load(&file).unwrap_or_else(|errors| panic!("{:?}", miette_free(&errors)));
    tether_catalog::lower(&checked).unwrap()
}

fn miette_free(errors: &tether_config::Diagnostics) -> String {
    format!("{errors}")
}

/// Every resource of `desired` as a provider would report it after apply, with made-up ids.
fn observed_after_apply(desired: &DesiredGraph) -> Vec<ObservedResource> {
    let id = |address: &Address| format!("id-{}-{}", address.kind(), address.name());
    let resolve = |reference: &Reference| Some(Value::String(id(&reference.address)));
    desired
        .resources()
        .map(|resource| ObservedResource {
            address: resource.address.clone(),
            id: id(&resource.address),
            attributes: resource
                .attributes
                .iter()
                .map(|(key, value)| (key.clone(), value.resolve_references(&resolve)))
                .collect(),
        })
        .collect()
}

/// Plans the example edited by `edits` against the unedited example, applied.
fn plan_edit(edits: &[(&str, &str)]) -> Plan {
    let dir = tempfile::tempdir().unwrap();
    let applied = observed_after_apply(&desired_with(dir.path(), &[]));
    let desired = desired_with(dir.path(), edits);
    let state = State::empty("ai-dev");
    tether_plan::plan(&PlanInput { environment: "ai-dev", desired: &desired, observed: &applied, state: &state })
        .unwrap()
}

/// Compares the rendered plan with `tests/golden/<name>.txt`, or rewrites it with `TETHER_BLESS=1`.
fn assert_golden(name: &str, plan: &Plan) {
    let rendered = tether_render::render_plan(plan);
    let path: PathBuf = repository_root().join("tests/golden").join(format!("{name}.txt"));
    if std::env::var_os("TETHER_BLESS").is_some_and(|value| value == "1") {
        std::fs::write(&path, &rendered).unwrap();
        return;
    }
    let expected = std::fs::read_to_string(&path)
        .unwrap_or_else(|error| panic!("{}: {error}; run with TETHER_BLESS=1 to create it", path.display()));
    assert_eq!(
        rendered,
        expected,
        "the plan differs from {}; rerun with TETHER_BLESS=1 if the change is intended",
        path.display()
    );
}

fn changed(plan: &Plan) -> Vec<(String, Action)> {
    plan.changes
        .iter()
        .filter(|change| change.action != Action::NoOp)
        .map(|change| (change.address.to_string(), change.action))
        .collect()
}

fn address(text: &str) -> Address {
    text.parse().unwrap()
}

#[test]
fn fresh_environment_golden() {
    let dir = tempfile::tempdir().unwrap();
    let desired = desired_with(dir.path(), &[]);
    let state = State::empty("ai-dev");
    let plan = tether_plan::plan(&PlanInput { environment: "ai-dev", desired: &desired, observed: &[], state: &state })
        .unwrap();

    assert_golden("fresh-environment", &plan);
    assert_eq!(plan.summary().add, desired.len());
    assert!(plan.changes.iter().all(|change| change.action == Action::Create));
    let disruptions: Vec<_> = plan.disruptions().collect();
    assert_eq!(disruptions.len(), 1, "{disruptions:?}");
    assert_eq!(disruptions[0].0, &address("cluster.machine_config.master-routes"));
    assert_eq!(disruptions[0].1, &Disruption::RollingReboot { role: "master".to_owned() });
    let route = plan.change(&address("aws.route.public-default")).unwrap();
    assert!(matches!(route.after.as_ref().unwrap()["gateway_id"], Value::Ref(_)));
    let rendered = tether_render::render_plan(&plan);
    assert!(rendered.contains("(known after apply)"), "{rendered}");
    assert!(rendered.contains("(sensitive, sha256:"), "{rendered}");
    assert!(rendered.contains("+   ip route replace 10.1.0.0/16 via 192.168.6.1 dev br-ex"), "{rendered}");
}

#[test]
fn gpu_instance_type_golden() {
    let plan = plan_edit(&[("instance_type = \"g6.xlarge\"", "instance_type = \"g6e.xlarge\"")]);

    assert_golden("gpu-instance-type", &plan);
    assert_eq!(changed(&plan), [("cluster.node_pool.gpu".to_owned(), Action::Update)]);
    let change = plan.change(&address("cluster.node_pool.gpu")).unwrap();
    assert_eq!(change.reasons, [ActionReason::AttributesDiffer]);
    assert_eq!(
        change.disruption,
        [Disruption::RollingReplacement {
            pool: "ai-gpu".to_owned(),
            nodes: NodeCount::AtMost(2),
            paths: vec!["spec.platform.aws.instanceType".to_owned()],
        }]
    );
}

#[test]
fn gpu_taint_golden() {
    let plan =
        plan_edit(&[("value = \"present\", effect = \"NoSchedule\"", "value = \"true\", effect = \"NoSchedule\"")]);

    assert_golden("gpu-taint", &plan);
    assert_eq!(changed(&plan), [("cluster.node_pool.gpu".to_owned(), Action::Update)]);
    let change = plan.change(&address("cluster.node_pool.gpu")).unwrap();
    assert_eq!(
        change.disruption,
        [Disruption::NewNodesOnly { pool: "ai-gpu".to_owned(), paths: vec!["spec.taints".to_owned()] }]
    );
    let rendered = tether_render::render_plan(&plan);
    assert!(rendered.contains("reach only nodes that NodePool ai-gpu creates from now on"), "{rendered}");
    assert!(!rendered.contains("replaces"), "a taint change replaces no node:\n{rendered}");
}

#[test]
fn route_change_golden() {
    let plan = plan_edit(&[("gateway = \"192.168.6.1\"", "gateway = \"192.168.6.254\"")]);

    assert_golden("route-change", &plan);
    assert_eq!(changed(&plan), [("cluster.machine_config.master-routes".to_owned(), Action::Update)]);
    let change = plan.change(&address("cluster.machine_config.master-routes")).unwrap();
    assert_eq!(change.disruption, [Disruption::RollingReboot { role: "master".to_owned() }]);
    let rendered = tether_render::render_plan(&plan);
    assert!(rendered.contains("-   ip route replace 10.1.0.0/16 via 192.168.6.1 dev br-ex"), "{rendered}");
    assert!(rendered.contains("+   ip route replace 10.1.0.0/16 via 192.168.6.254 dev br-ex"), "{rendered}");
    assert!(!rendered.contains(";base64,"), "the script is shown decoded, not as base64:\n{rendered}");
}

#[test]
fn vpc_cidr_golden() {
    let plan = plan_edit(&[
        ("vpc_cidr = \"10.1.0.0/16\"", "vpc_cidr = \"10.4.0.0/16\""),
        ("destination = \"10.1.0.0/16\"", "destination = \"10.4.0.0/16\""),
    ]);

    assert_golden("vpc-cidr", &plan);
    let vpc = plan.change(&address("aws.vpc.main")).unwrap();
    assert_eq!(vpc.action, Action::Replace);
    assert_eq!(vpc.reasons, [ActionReason::ForcesReplacement { paths: vec!["cidr_block".to_owned()] }]);
    let cluster = plan.change(&address("cluster.hosted_cluster.ai")).unwrap();
    assert_eq!(cluster.action, Action::Replace, "the machine network is immutable");
    assert_eq!(cluster.disruption, [Disruption::ClusterReplaced { cluster: "ai".to_owned() }]);
    let json = tether_render::plan_json(&plan);
    let vpc_json =
        json["resource_changes"].as_array().unwrap().iter().find(|change| change["address"] == "aws.vpc.main").unwrap();
    assert_eq!(vpc_json["actions"], serde_json::json!(["delete", "create"]));
    assert_eq!(vpc_json["replace_paths"], serde_json::json!(["cidr_block"]));
    let rendered = tether_render::render_plan(&plan);
    assert!(rendered.contains("-/+ aws.vpc.main {"), "{rendered}");
    assert!(rendered.contains("cidr_block = \"10.1.0.0/16\" -> \"10.4.0.0/16\" # forces replacement"), "{rendered}");
}

#[test]
fn plan_json_validates_against_schema() {
    let schema_path = repository_root().join("schemas/plan.schema.json");
    let schema: serde_json::Value = serde_json::from_str(&std::fs::read_to_string(&schema_path).unwrap()).unwrap();
    let validator = jsonschema::validator_for(&schema).unwrap();
    let dir = tempfile::tempdir().unwrap();
    let desired = desired_with(dir.path(), &[]);
    let state = State::empty("ai-dev");
    let fresh =
        tether_plan::plan(&PlanInput { environment: "ai-dev", desired: &desired, observed: &[], state: &state })
            .unwrap();
    let plans = [
        fresh,
        plan_edit(&[("instance_type = \"g6.xlarge\"", "instance_type = \"g6e.xlarge\"")]),
        plan_edit(&[
            ("vpc_cidr = \"10.1.0.0/16\"", "vpc_cidr = \"10.4.0.0/16\""),
            ("destination = \"10.1.0.0/16\"", "destination = \"10.4.0.0/16\""),
        ]),
    ];
    for plan in &plans {
        let json = tether_render::plan_json(plan);
        let errors: Vec<String> =
            validator.iter_errors(&json).map(|error| format!("{error} at {}", error.instance_path)).collect();
        assert!(errors.is_empty(), "{}", errors.join("\n"));
    }
}
