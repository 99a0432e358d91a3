//! Decides one action per resource from desired, observed and state.

use std::collections::{BTreeMap, BTreeSet};

use sha2::{Digest, Sha256};
use tether_catalog::{DesiredGraph, kind_schema};
use tether_model::{
    Action, ActionReason, Address, Attributes, ObservedResource, PLAN_FORMAT_VERSION, Plan, Reference, Resource,
    ResourceChange, State, Value,
};

use crate::diff::diff_attributes;

/// Everything a plan is computed from.
#[derive(Debug, Clone, Copy)]
pub struct PlanInput<'a> {
    /// The environment's name.
    pub environment: &'a str,
    /// The resources the environment file requests.
    pub desired: &'a DesiredGraph,
    /// The resources the providers reported.
    pub observed: &'a [ObservedResource],
    /// The record of what tether last applied.
    pub state: &'a State,
}

/// Inputs from which no plan can be made.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum PlanError {
    /// Two observed resources carry the same address mark.
    #[error(
        "`{address}` is claimed by more than one resource ({ids}); remove the `tether.dev/address` mark from all but one"
    )]
    DuplicateObservation {
        /// The contested address.
        address: Address,
        /// The identifiers of the claimants, comma-separated.
        ids: String,
    },
    /// A desired resource refers to one that neither exists nor is planned.
    #[error("`{from}` refers to `{reference}`, which is neither planned nor observed")]
    UnresolvableReference {
        /// The referring resource.
        from: Address,
        /// The reference.
        reference: Reference,
    },
}

/// Computes the plan.
///
/// # Errors
/// Fails when two observed resources claim one address, or a reference cannot be resolved.
pub fn plan(input: &PlanInput<'_>) -> Result<Plan, PlanError> {
    let observed = index_observed(input.observed)?;
    let mut changes: BTreeMap<Address, ResourceChange> = BTreeMap::new();

    for address in input.desired.creation_order() {
        // unwrap: creation_order lists only addresses of the graph.
        let resource = input.desired.get(address).unwrap();
        let change = plan_desired(resource, observed.get(address).copied(), &changes)?;
        changes.insert(address.clone(), change);
    }

    let deleted: Vec<&ObservedResource> =
        observed.values().copied().filter(|resource| input.desired.get(&resource.address).is_none()).collect();
    for resource in &deleted {
        let change = plan_delete(resource, &deleted, input.state);
        changes.insert(resource.address.clone(), change);
    }

    for change in changes.values_mut() {
        change.disruption = crate::disruption::analyse(change);
    }
    let mut changes: Vec<ResourceChange> = changes.into_values().collect();
    tether_catalog::annotate_plan(&mut changes);

    Ok(Plan {
        format_version: PLAN_FORMAT_VERSION,
        environment: input.environment.to_owned(),
        changes,
        fingerprint: fingerprint(input),
    })
}

fn index_observed(observed: &[ObservedResource]) -> Result<BTreeMap<Address, &ObservedResource>, PlanError> {
    let mut index: BTreeMap<Address, &ObservedResource> = BTreeMap::new();
    for resource in observed {
        if let Some(previous) = index.insert(resource.address.clone(), resource) {
            let mut ids = [previous.id.as_str(), resource.id.as_str()];
            ids.sort_unstable();
            return Err(PlanError::DuplicateObservation { address: resource.address.clone(), ids: ids.join(", ") });
        }
    }
    Ok(index)
}

/// Resolves references to resources that exist and keep their identity; references to
/// resources being created or replaced stay references, known after apply.
fn resolve(resource: &Resource, planned: &BTreeMap<Address, ResourceChange>) -> Result<Attributes, PlanError> {
    let mut failure = None;
    let resolved = resource
        .attributes
        .iter()
        .map(|(key, value)| {
            let value = value.resolve_references(&|reference| match planned.get(&reference.address) {
                Some(change) if matches!(change.action, Action::Create | Action::Replace) => None,
                Some(change) if reference.attribute == "id" => change.id.clone().map(Value::String),
                Some(change) => change.after.as_ref().and_then(|after| after.get(&reference.attribute).cloned()),
                None => None,
            });
            value.for_each_reference(&mut |reference| {
                if !planned.contains_key(&reference.address) && failure.is_none() {
                    failure = Some(reference.clone());
                }
            });
            (key.clone(), value)
        })
        .collect();
    match failure {
        Some(reference) => Err(PlanError::UnresolvableReference { from: resource.address.clone(), reference }),
        None => Ok(resolved),
    }
}

fn plan_desired(
    resource: &Resource,
    observed: Option<&ObservedResource>,
    planned: &BTreeMap<Address, ResourceChange>,
) -> Result<ResourceChange, PlanError> {
    let after = resolve(resource, planned)?;
    let Some(observed) = observed else {
        return Ok(ResourceChange {
            address: resource.address.clone(),
            action: Action::Create,
            reasons: vec![ActionReason::NotFound],
            id: None,
            before: None,
            after: Some(after),
            attribute_changes: Vec::new(),
            depends_on: resource.depends_on.clone(),
            disruption: Vec::new(),
            create_before_destroy: false,
        });
    };

    let stored = tether_catalog::desired_as_stored(&resource.address, &after);
    let reported = tether_catalog::observed_without_server_fields(&resource.address, &stored, &observed.attributes);
    let attribute_changes = diff_attributes(kind_schema(&resource.address), &stored, &reported);
    let forced: Vec<String> =
        attribute_changes.iter().filter(|change| change.forces_replacement).map(|change| change.path.clone()).collect();
    let (action, reasons) = if !forced.is_empty() {
        (Action::Replace, vec![ActionReason::ForcesReplacement { paths: forced }])
    } else if !attribute_changes.is_empty() {
        (Action::Update, vec![ActionReason::AttributesDiffer])
    } else {
        (Action::NoOp, Vec::new())
    };
    Ok(ResourceChange {
        address: resource.address.clone(),
        action,
        reasons,
        id: Some(observed.id.clone()),
        before: Some(observed.attributes.clone()),
        after: Some(after),
        attribute_changes,
        depends_on: resource.depends_on.clone(),
        disruption: Vec::new(),
        create_before_destroy: action == Action::Replace
            && kind_schema(&resource.address).is_some_and(|schema| schema.create_before_destroy),
    })
}

/// Plans a delete. It waits for the deletes of everything that depended on the resource: the
/// dependencies come from state, or from kind ranks when state has no record of it.
fn plan_delete(resource: &ObservedResource, deleted: &[&ObservedResource], state: &State) -> ResourceChange {
    let depends_on: BTreeSet<Address> = match state.resources.get(&resource.address) {
        Some(recorded) => recorded.depends_on.clone(),
        None => {
            let rank = kind_schema(&resource.address).map(|schema| schema.rank);
            deleted
                .iter()
                .filter(|other| other.address.provider() == resource.address.provider())
                .filter(|other| {
                    let other_rank = kind_schema(&other.address).map(|schema| schema.rank);
                    matches!((other_rank, rank), (Some(other), Some(own)) if other < own)
                })
                .map(|other| other.address.clone())
                .collect()
        }
    };
    ResourceChange {
        address: resource.address.clone(),
        action: Action::Delete,
        reasons: vec![ActionReason::NotInConfiguration],
        id: Some(resource.id.clone()),
        before: Some(resource.attributes.clone()),
        after: None,
        attribute_changes: Vec::new(),
        depends_on,
        disruption: Vec::new(),
        create_before_destroy: false,
    }
}

/// Computes a digest of everything the plan was computed from.
fn fingerprint(input: &PlanInput<'_>) -> String {
    let mut hasher = Sha256::new();
    let mut observed: Vec<&ObservedResource> = input.observed.iter().collect();
    observed.sort_by(|left, right| left.address.cmp(&right.address));
    let desired: Vec<&Resource> = input.desired.resources().collect();
    // Serializing these model types cannot fail because every map key is a string; an empty
    // buffer would only weaken the fingerprint, never crash.
    hasher.update(serde_json::to_vec(&desired).unwrap_or_default());
    hasher.update(serde_json::to_vec(&observed).unwrap_or_default());
    hasher.update(serde_json::to_vec(input.state).unwrap_or_default());
    format!("sha256:{:x}", hasher.finalize())
}
