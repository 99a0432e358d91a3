//! Drift classification: what changed outside tether since it last applied (state against
//! observed), kept apart from pending changes (desired against state).

use std::collections::BTreeMap;

use serde::Serialize;
use tether_catalog::{DesiredGraph, foreign_owner, kind_schema};
use tether_model::{Action, Address, AttributeChange, Attributes, ObservedResource, Reference, State, Value};

use crate::diff::diff_attributes;
use crate::drift_owners::{FIELD_OWNERS_ATTRIBUTE, taken_over_by};

/// The drift report format this version of tether writes.
pub const DRIFT_FORMAT_VERSION: u32 = 1;

/// Everything drift is classified from.
#[derive(Debug, Clone, Copy)]
pub struct DriftInput<'a> {
    /// The environment's name.
    pub environment: &'a str,
    /// The resources the environment file requests.
    pub desired: &'a DesiredGraph,
    /// The resources the providers reported, all reads having succeeded.
    pub observed: &'a [ObservedResource],
    /// The record of what tether last applied.
    pub state: &'a State,
    /// Attributes excluded by the environment file's ignore rules.
    pub ignore: &'a [IgnoreRule],
}

/// An attribute that drift detection skips, from the environment file's `[[drift.ignore]]`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IgnoreRule {
    /// A resource address, or `provider.kind.*` for every resource of a kind.
    pub resource: String,
    /// Dotted attribute path; attributes below it are skipped too.
    pub path: String,
}

impl IgnoreRule {
    /// True when the rule names `address`, directly or through its kind.
    pub fn matches(&self, address: &Address) -> bool {
        match self.resource.strip_suffix(".*") {
            Some(kind) => kind == format!("{}.{}", address.provider(), address.kind()),
            None => self.resource == address.to_string(),
        }
    }
}

/// Drift and pending changes of one environment, sorted by address.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct DriftReport {
    /// [`DRIFT_FORMAT_VERSION`].
    pub format_version: u32,
    /// The environment's name.
    pub environment: String,
    /// Resources that differ from what tether last applied.
    pub drift: Vec<DriftedResource>,
    /// Changes in the file that are not applied yet; never drift.
    pub pending: Vec<PendingChange>,
}

/// The kind of drift of one resource.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum DriftKind {
    /// Attributes tether applied have other values now.
    Changed,
    /// The resource tether applied was not observed.
    Deleted,
    /// The resource carries this environment's marks but the state has no record of it.
    Unmanaged,
}

/// One drifted resource.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct DriftedResource {
    /// The resource's address.
    pub address: Address,
    /// The kind of drift.
    pub kind: DriftKind,
    /// The provider's identifier: the observed one, or the recorded one of a deleted resource.
    pub id: String,
    /// For [`DriftKind::Changed`], each attribute that differs, sorted by path; otherwise empty.
    pub attributes: Vec<DriftedAttribute>,
}

/// One attribute that differs from what tether applied.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct DriftedAttribute {
    /// Dotted path, e.g. `spec.taints`.
    pub path: String,
    /// The value tether applied. Only applied attributes are compared, so it is always present.
    pub applied: Value,
    /// The value observed now; `None` when the attribute is gone.
    pub observed: Option<Value>,
}

/// A change the file requests that tether has not applied.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct PendingChange {
    /// The resource's address.
    pub address: Address,
    /// [`Action::Create`], [`Action::Update`] or [`Action::Delete`].
    pub action: Action,
    /// For an update, the attribute paths whose desired value differs from the applied one.
    pub paths: Vec<String>,
}

impl DriftReport {
    /// True when any resource drifted. Pending changes do not count.
    pub fn has_drift(&self) -> bool {
        !self.drift.is_empty()
    }
}

/// Classifies drift and pending changes.
///
/// Only attributes recorded in state are compared, so fields tether never set (server defaults,
/// other controllers' fields) are not drift. Fields that the catalogue lists as written by someone
/// else under the applied configuration are skipped too, and so are fields that another field
/// manager took over with server-side apply (see [`crate::drift_owners`]).
pub fn classify_drift(input: &DriftInput<'_>) -> DriftReport {
    let observed: BTreeMap<&Address, &ObservedResource> =
        input.observed.iter().map(|resource| (&resource.address, resource)).collect();
    let mut drift = Vec::new();

    for (address, recorded) in &input.state.resources {
        match observed.get(address) {
            None => drift.push(DriftedResource {
                address: address.clone(),
                kind: DriftKind::Deleted,
                id: recorded.id.clone(),
                attributes: Vec::new(),
            }),
            Some(resource) => {
                let ignored: Vec<&str> =
                    input.ignore.iter().filter(|rule| rule.matches(address)).map(|rule| rule.path.as_str()).collect();
                let attributes = drifted_attributes(address, &recorded.attributes, &resource.attributes, &ignored);
                if !attributes.is_empty() {
                    let id = resource.id.clone();
                    drift.push(DriftedResource { address: address.clone(), kind: DriftKind::Changed, id, attributes });
                }
            }
        }
    }

    let unrecorded = input.observed.iter().filter(|resource| !input.state.resources.contains_key(&resource.address));
    drift.extend(unrecorded.map(|resource| DriftedResource {
        address: resource.address.clone(),
        kind: DriftKind::Unmanaged,
        id: resource.id.clone(),
        attributes: Vec::new(),
    }));
    drift.sort_by(|left, right| left.address.cmp(&right.address));

    DriftReport {
        format_version: DRIFT_FORMAT_VERSION,
        environment: input.environment.to_owned(),
        drift,
        pending: pending_changes(input.desired, input.state),
    }
}

/// Compares what tether applied with what is observed, on the applied attributes only.
/// Paths in `ignored` are removed from both sides first, so a rule may name a key inside a map
/// that is compared whole, such as one tag.
fn drifted_attributes(
    address: &Address,
    applied: &Attributes,
    observed: &Attributes,
    ignored: &[&str],
) -> Vec<DriftedAttribute> {
    let comparable = comparable_applied(address, applied);
    let mut stored = tether_catalog::desired_as_stored(address, &comparable);
    let mut reported = tether_catalog::observed_without_server_fields(address, &stored, observed);
    for path in ignored {
        remove_path(&mut stored, path);
        remove_path(&mut reported, path);
    }
    diff_attributes(kind_schema(address), &stored, &reported)
        .into_iter()
        .filter(|change| foreign_owner(address, applied, &change.path).is_none())
        .filter(|change| taken_over_by(observed, &change.path).is_none())
        .map(|AttributeChange { path, before, after, forces_replacement: _ }| DriftedAttribute {
            path,
            // `diff_attributes` always sets `after` to the applied (left-hand) value.
            applied: after.unwrap_or_default(),
            observed: before,
        })
        .collect()
}

/// Drops what cannot be compared with an observation. A Secret's `stringData` is recorded as the
/// digest of its plaintext, while the API server returns base64 `data`, whose digest differs.
// TODO: record the digest of the stored form at apply so Secret contents can be checked too.
fn comparable_applied(address: &Address, applied: &Attributes) -> Attributes {
    let mut attributes = applied.clone();
    attributes.remove(FIELD_OWNERS_ATTRIBUTE);
    if address.kind() == "secret" {
        attributes.remove("stringData");
    }
    attributes
}

/// Lists desired resources that state lacks or records with other attributes, and recorded
/// resources the file no longer requests.
fn pending_changes(desired: &DesiredGraph, state: &State) -> Vec<PendingChange> {
    let mut pending = Vec::new();
    for resource in desired.resources() {
        let Some(recorded) = state.resources.get(&resource.address) else {
            pending.push(PendingChange {
                address: resource.address.clone(),
                action: Action::Create,
                paths: Vec::new(),
            });
            continue;
        };
        let wanted = resolve_from_state(&resource.attributes, state);
        // A record made from an observation (an import) may carry the observed field owners,
        // which the file never sets.
        let mut applied = recorded.attributes.clone();
        applied.remove(FIELD_OWNERS_ATTRIBUTE);
        let paths = changed_paths(&resource.address, &wanted, &applied);
        if !paths.is_empty() {
            pending.push(PendingChange { address: resource.address.clone(), action: Action::Update, paths });
        }
    }

    let removed = state.resources.keys().filter(|address| desired.get(address).is_none());
    pending.extend(removed.map(|address| PendingChange {
        address: address.clone(),
        action: Action::Delete,
        paths: Vec::new(),
    }));
    pending.sort_by(|left, right| left.address.cmp(&right.address));
    pending
}

/// Paths set in either the desired or the recorded attributes whose values differ.
fn changed_paths(address: &Address, desired: &Attributes, recorded: &Attributes) -> Vec<String> {
    let schema = kind_schema(address);
    let mut paths: Vec<String> =
        diff_attributes(schema, desired, recorded).into_iter().map(|change| change.path).collect();
    let dropped = diff_attributes(schema, recorded, desired).into_iter().filter(|change| change.before.is_none());
    paths.extend(dropped.map(|change| change.path));
    paths.sort();
    paths.dedup();
    paths
}

/// Replaces references with the recorded identifiers and attributes of the referenced resources.
/// A reference to an unrecorded resource stays, and compares as a difference.
fn resolve_from_state(attributes: &Attributes, state: &State) -> Attributes {
    let resolve = |reference: &Reference| {
        let recorded = state.resources.get(&reference.address)?;
        match reference.attribute.as_str() {
            "id" => Some(Value::String(recorded.id.clone())),
            name => recorded.attributes.get(name).cloned(),
        }
    };
    attributes.iter().map(|(key, value)| (key.clone(), value.resolve_references(&resolve))).collect()
}

/// Removes the value at a dotted path, if present.
fn remove_path(attributes: &mut Attributes, path: &str) {
    let keys: Vec<&str> = path.split('.').collect();
    let Some((last, parents)) = keys.split_last() else { return };
    let mut map = attributes;
    for key in parents {
        match map.get_mut(*key) {
            Some(Value::Map(inner)) => map = inner,
            _ => return,
        }
    }
    map.remove(*last);
}
