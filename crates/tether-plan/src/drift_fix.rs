//! `tether drift --fix`: the part of a plan that puts drifted resources back.
//!
//! A full plan brings everything to what the file requests, pending changes included. The fix
//! keeps only the changes of resources that drifted (changed or deleted outside tether) and of
//! the resources that must follow them because they refer to a drifted resource that is created
//! again or replaced. Every other change becomes a no-op that keeps the state's record as it is,
//! so a pending change in the file stays pending and `tether apply` still shows it. A drifted
//! resource whose file entry also changed is brought to what the file says, as
//! `terraform apply -target` would; the fix lists those. Unmanaged resources (carrying the
//! environment's marks without a record in the state) are left alone: tether does not delete
//! what it has no record of creating.

use std::collections::BTreeSet;

use tether_model::{Action, Address, Plan, ResourceChange, State};

use crate::drift::{DriftKind, DriftReport};

/// The plan of a fix and what it leaves out.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FixPlan {
    /// The plan to apply: the drifted resources' changes, and no-ops everywhere else.
    pub plan: Plan,
    /// Drifted resources that also have unapplied changes in the file, which the fix applies too.
    pub with_pending: Vec<Address>,
    /// Changes of the full plan that the fix does not make, with their action: pending changes
    /// of resources that did not drift, and deletes of unmanaged resources.
    pub left_out: Vec<(Address, Action)>,
    /// Drifted resources that the fix does not touch: unmanaged ones.
    pub not_fixed: Vec<Address>,
}

/// Restricts `plan`, made from the same observation as `report`, to the changes that put the
/// drifted resources back. `state` is the record both were made from.
pub fn fix_plan(plan: &Plan, report: &DriftReport, state: &State) -> FixPlan {
    let fixed = fixed_addresses(plan, report);
    let pending: BTreeSet<&Address> = report.pending.iter().map(|change| &change.address).collect();

    let mut left_out = Vec::new();
    let changes = plan
        .changes
        .iter()
        .map(|change| {
            if change.action == Action::NoOp || fixed.contains(&change.address) {
                return change.clone();
            }
            left_out.push((change.address.clone(), change.action));
            unchanged(change, state)
        })
        .collect();

    let not_fixed =
        report.drift.iter().filter(|item| item.kind == DriftKind::Unmanaged).map(|item| item.address.clone()).collect();
    FixPlan {
        plan: Plan { changes, ..plan.clone() },
        with_pending: fixed.iter().filter(|address| pending.contains(address)).cloned().collect(),
        left_out,
        not_fixed,
    }
}

/// Collects the resources whose changes the fix makes: the changed and deleted ones, then, until
/// nothing is added, those whose desired attributes refer to one that is created or replaced.
fn fixed_addresses(plan: &Plan, report: &DriftReport) -> BTreeSet<Address> {
    let drifted = report.drift.iter().filter(|item| matches!(item.kind, DriftKind::Changed | DriftKind::Deleted));
    let mut fixed: BTreeSet<Address> = drifted.map(|item| item.address.clone()).collect();
    fixed.retain(|address| plan.change(address).is_some_and(|change| change.action != Action::NoOp));

    loop {
        let renewed: BTreeSet<&Address> = plan
            .changes
            .iter()
            .filter(|change| fixed.contains(&change.address))
            .filter(|change| matches!(change.action, Action::Create | Action::Replace))
            .map(|change| &change.address)
            .collect();
        let followers: Vec<Address> = plan
            .changes
            .iter()
            .filter(|change| change.action != Action::NoOp && !fixed.contains(&change.address))
            .filter(|change| refers_to_any(change, &renewed))
            .map(|change| change.address.clone())
            .collect();
        if followers.is_empty() {
            return fixed;
        }
        fixed.extend(followers);
    }
}

fn refers_to_any(change: &ResourceChange, addresses: &BTreeSet<&Address>) -> bool {
    let mut found = false;
    for value in change.after.iter().flat_map(|after| after.values()) {
        value.for_each_reference(&mut |reference| found |= addresses.contains(&reference.address));
    }
    found
}

/// Builds a no-op that leaves the resource and its record as they are. Apply records a no-op's
/// desired attributes in the state, so they are set to the recorded ones. A resource without a
/// record gets no identifier, which keeps it out of the state.
fn unchanged(change: &ResourceChange, state: &State) -> ResourceChange {
    let recorded = state.resources.get(&change.address);
    ResourceChange {
        address: change.address.clone(),
        action: Action::NoOp,
        reasons: Vec::new(),
        id: recorded.and(change.id.clone()),
        before: change.before.clone(),
        after: recorded.map(|recorded| recorded.attributes.clone()),
        attribute_changes: Vec::new(),
        depends_on: change.depends_on.clone(),
        disruption: Vec::new(),
        create_before_destroy: false,
    }
}
