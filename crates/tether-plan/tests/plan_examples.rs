//! Planning the example environment against simulated observations.

use std::path::Path;

use tether_catalog::DesiredGraph;
use tether_model::{Action, Address, Attributes, ObservedResource, Reference, State, Value};
use tether_plan::{PlanInput, plan};

fn desired() -> DesiredGraph {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../examples/ai-dev.toml");
    tether_catalog::lower(&tether_config::load(&path).expect("example is valid")).unwrap()
}

/// Simulates what providers report after applying everything: each resource with a made-up id and
/// its desired attributes, references replaced by those ids.
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

fn plan_for(desired: &DesiredGraph, observed: &[ObservedResource]) -> tether_model::Plan {
    let state = State::empty("ai-dev");
    plan(&PlanInput { environment: "ai-dev", desired, observed, state: &state }).unwrap()
}

#[test]
fn fresh_environment_creates_everything() {
    let desired = desired();
    let plan = plan_for(&desired, &[]);
    assert_eq!(plan.summary().add, desired.len());
    assert!(plan.changes.iter().all(|change| change.action == Action::Create));
    let route = plan.change(&"aws.route.public-default".parse().unwrap()).unwrap();
    let after = route.after.as_ref().unwrap();
    assert!(matches!(after["gateway_id"], Value::Ref(_)), "unknown until the gateway exists");
}

#[test]
fn applied_environment_plans_no_changes() {
    let desired = desired();
    let plan = plan_for(&desired, &observed_after_apply(&desired));
    let changed: Vec<String> = plan
        .changes
        .iter()
        .filter(|change| change.action != Action::NoOp)
        .map(|change| change.address.to_string())
        .collect();
    assert!(changed.is_empty(), "{changed:?}");
    assert!(!plan.has_changes());
}

#[test]
fn server_added_fields_are_not_changes() {
    let desired = desired();
    let mut observed = observed_after_apply(&desired);
    let pool = observed.iter_mut().find(|resource| resource.address == Address::cluster("node_pool", "gpu")).unwrap();
    pool.attributes.insert("status".to_owned(), Value::map([("replicas", Value::Int(1))]));
    let Some(Value::Map(spec)) = pool.attributes.get_mut("spec") else { panic!("spec is a map") };
    spec.insert("nodeDrainTimeout".to_owned(), Value::from("0s"));
    assert!(!plan_for(&desired, &observed).has_changes());
}

#[test]
fn changed_scaling_is_one_update() {
    let desired = desired();
    let mut observed = observed_after_apply(&desired);
    let pool = observed.iter_mut().find(|resource| resource.address == Address::cluster("node_pool", "gpu")).unwrap();
    let Some(Value::Map(spec)) = pool.attributes.get_mut("spec") else { panic!("spec is a map") };
    spec.insert("autoScaling".to_owned(), Value::map([("min", Value::Int(0)), ("max", Value::Int(4))]));
    let plan = plan_for(&desired, &observed);
    let changes: Vec<_> = plan.changes.iter().filter(|change| change.action != Action::NoOp).collect();
    assert_eq!(changes.len(), 1);
    assert_eq!(changes[0].action, Action::Update);
    assert_eq!(changes[0].attribute_changes[0].path, "spec.autoScaling.max");
}

#[test]
fn changed_cidr_forces_replacement() {
    let desired = desired();
    let mut observed = observed_after_apply(&desired);
    let subnet = observed
        .iter_mut()
        .find(|resource| resource.address.to_string() == "aws.subnet.public-ap-southeast-2a")
        .unwrap();
    subnet.attributes.insert("cidr_block".to_owned(), Value::from("10.1.64.0/20"));
    let address = subnet.address.clone();
    let plan = plan_for(&desired, &observed);
    let change = plan.change(&address).unwrap();
    assert_eq!(change.action, Action::Replace);
    assert!(change.attribute_changes[0].forces_replacement);
}

#[test]
fn router_replacement_creates_before_destroying() {
    let desired = desired();
    let mut observed = observed_after_apply(&desired);
    let router =
        observed.iter_mut().find(|resource| resource.address.to_string() == "aws.instance.subnet-router").unwrap();
    router.attributes.insert("instance_type".to_owned(), Value::from("t3.micro"));
    let plan = plan_for(&desired, &observed);
    let change = plan.change(&"aws.instance.subnet-router".parse().unwrap()).unwrap();
    assert_eq!(change.action, Action::Replace);
    assert!(change.create_before_destroy);
    assert_eq!(change.marker(), "+/-");
    let subnet = plan.change(&"aws.subnet.public-ap-southeast-2a".parse().unwrap()).unwrap();
    assert!(!subnet.create_before_destroy, "only replacements of kinds that allow two copies");
}

#[test]
fn observed_extra_resource_is_deleted() {
    let desired = desired();
    let mut observed = observed_after_apply(&desired);
    observed.push(ObservedResource {
        address: Address::cluster("node_pool", "old"),
        id: "hcp-ai/ai-old".to_owned(),
        attributes: Attributes::new(),
    });
    let plan = plan_for(&desired, &observed);
    let change = plan.change(&Address::cluster("node_pool", "old")).unwrap();
    assert_eq!(change.action, Action::Delete);
    assert_eq!(plan.summary().destroy, 1);
}

#[test]
fn duplicate_observation_is_an_error() {
    let desired = desired();
    let mut observed = observed_after_apply(&desired);
    let mut twin = observed[0].clone();
    twin.id = "vpc-twin".to_owned();
    observed.push(twin);
    let state = State::empty("ai-dev");
    let error =
        plan(&PlanInput { environment: "ai-dev", desired: &desired, observed: &observed, state: &state }).unwrap_err();
    assert!(error.to_string().contains("claimed by more than one resource"), "{error}");
}

#[test]
fn plan_is_deterministic() {
    let desired = desired();
    let observed = observed_after_apply(&desired);
    let first = serde_json::to_string(&plan_for(&desired, &observed)).unwrap();
    let second = serde_json::to_string(&plan_for(&desired, &observed)).unwrap();
    assert_eq!(first, second);
}
