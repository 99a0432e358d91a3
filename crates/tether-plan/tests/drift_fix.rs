//! `drift --fix` plans: only the drifted resources' changes, on hand-built inputs.

use std::collections::BTreeSet;

use tether_catalog::DesiredGraph;
use tether_model::{Action, Address, Attributes, ObservedResource, Reference, Resource, State, StateResource, Value};
use tether_plan::{DriftInput, PlanInput, classify_drift, fix_plan, plan};

fn attributes(entries: Vec<(&str, Value)>) -> Attributes {
    entries.into_iter().map(|(key, value)| (key.to_owned(), value)).collect()
}

fn vpc() -> (Address, Attributes) {
    (Address::aws("vpc", "main"), attributes(vec![("cidr_block", Value::from("10.1.0.0/16"))]))
}

fn subnet(name: &str, cidr: &str) -> (Address, Attributes) {
    let vpc_id = Value::Ref(Reference::id(&Address::aws("vpc", "main")));
    (Address::aws("subnet", name), attributes(vec![("vpc_id", vpc_id), ("cidr_block", Value::from(cidr))]))
}

/// Replaces references with the ids that the vpc had when it was applied.
fn as_applied(attributes: &Attributes, vpc_id: &str) -> Attributes {
    let resolve = |_: &Reference| Some(Value::from(vpc_id));
    attributes.iter().map(|(key, value)| (key.clone(), value.resolve_references(&resolve))).collect()
}

struct Case {
    desired: DesiredGraph,
    observed: Vec<ObservedResource>,
    state: State,
}

impl Case {
    fn fix(&self) -> tether_plan::FixPlan {
        let report = classify_drift(&DriftInput {
            environment: "dev",
            desired: &self.desired,
            observed: &self.observed,
            state: &self.state,
            ignore: &[],
        });
        let input =
            PlanInput { environment: "dev", desired: &self.desired, observed: &self.observed, state: &self.state };
        fix_plan(&plan(&input).unwrap(), &report, &self.state)
    }
}

/// Builds a case from what was applied, what is observed now and what the file requests.
fn case(
    applied: Vec<(Address, Attributes)>,
    observed: Vec<(Address, Attributes)>,
    desired: Vec<(Address, Attributes)>,
) -> Case {
    let mut state = State::empty("dev");
    for (address, attributes) in applied {
        let id = format!("{}-1", address.kind());
        let record = StateResource { id, attributes: as_applied(&attributes, "vpc-1"), depends_on: BTreeSet::new() };
        state.resources.insert(address, record);
    }
    let observed = observed
        .into_iter()
        .map(|(address, attributes)| ObservedResource {
            id: format!("{}-1", address.kind()),
            attributes: as_applied(&attributes, "vpc-1"),
            address,
        })
        .collect();
    let desired =
        DesiredGraph::new(desired.into_iter().map(|(address, attributes)| Resource::new(address, attributes))).unwrap();
    Case { desired, observed, state }
}

fn action(fix: &tether_plan::FixPlan, address: &Address) -> Action {
    fix.plan.change(address).unwrap_or_else(|| panic!("{address} planned")).action
}

#[test]
fn pending_change_of_other_resource_is_left_out() {
    let (a, b) = (subnet("a", "10.1.1.0/24"), subnet("b", "10.1.2.0/24"));
    let edited_a = subnet("a", "10.1.9.0/24");
    let b_in_file = (
        b.0.clone(),
        attributes(vec![
            ("vpc_id", b.1["vpc_id"].clone()),
            ("cidr_block", Value::from("10.1.2.0/24")),
            ("tags", Value::map([("team", Value::from("ml"))])),
        ]),
    );
    let case =
        case(vec![vpc(), a.clone(), b.clone()], vec![vpc(), edited_a, b.clone()], vec![vpc(), a.clone(), b_in_file]);

    let fix = case.fix();

    assert_ne!(action(&fix, &a.0), Action::NoOp, "the drifted subnet is put back");
    assert_eq!(action(&fix, &b.0), Action::NoOp, "the file's new tag stays pending");
    assert_eq!(fix.left_out, [(b.0.clone(), Action::Update)]);
    let kept = fix.plan.change(&b.0).unwrap();
    assert_eq!(kept.after.as_ref(), Some(&case.state.resources[&b.0].attributes), "the record stays as it was");
    assert!(fix.with_pending.is_empty());
}

#[test]
fn recreated_resource_takes_its_dependents_along() {
    let (a, b) = (subnet("a", "10.1.1.0/24"), subnet("b", "10.1.2.0/24"));
    let vpc_address = vpc().0;
    let case = case(vec![vpc(), a.clone(), b.clone()], vec![a.clone(), b.clone()], vec![vpc(), a.clone(), b.clone()]);

    let fix = case.fix();

    assert_eq!(action(&fix, &vpc_address), Action::Create);
    assert_ne!(action(&fix, &a.0), Action::NoOp, "subnet a moves to the new vpc");
    assert_ne!(action(&fix, &b.0), Action::NoOp, "subnet b moves to the new vpc");
    assert!(fix.left_out.is_empty(), "{:?}", fix.left_out);
}

#[test]
fn unmanaged_resource_is_not_deleted() {
    let extra = subnet("extra", "10.1.200.0/24");
    let case = case(vec![vpc()], vec![vpc(), extra.clone()], vec![vpc()]);

    let fix = case.fix();

    assert_eq!(action(&fix, &extra.0), Action::NoOp);
    assert_eq!(fix.plan.change(&extra.0).unwrap().id, None, "no id, so apply does not record it");
    assert_eq!(fix.left_out, [(extra.0.clone(), Action::Delete)]);
    assert_eq!(fix.not_fixed, [extra.0]);
    assert!(!fix.plan.has_changes());
}

#[test]
fn drifted_resource_with_file_change_gets_both() {
    let a = subnet("a", "10.1.1.0/24");
    let mut tagged = a.clone();
    tagged.1.insert("tags".to_owned(), Value::map([("team", Value::from("ml"))]));
    let edited = subnet("a", "10.1.9.0/24");
    let case = case(vec![vpc(), a.clone()], vec![vpc(), edited], vec![vpc(), tagged]);

    let fix = case.fix();

    assert_ne!(action(&fix, &a.0), Action::NoOp);
    assert_eq!(fix.with_pending, [a.0]);
}
