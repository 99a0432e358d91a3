//! Plans: the changes from observed to desired, computed as data before anything is rendered.

use std::collections::BTreeSet;
use std::fmt;

use serde::{Deserialize, Serialize};

use crate::{Address, Attributes, Disruption, Value};

/// The plan format this version of tether reads and writes.
pub const PLAN_FORMAT_VERSION: u32 = 1;

/// The operation apply performs on one resource.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Action {
    /// Nothing: observed matches desired.
    NoOp,
    /// Create a resource that does not exist.
    Create,
    /// Change attributes in place.
    Update,
    /// Delete and create again, because an attribute cannot change in place.
    Replace,
    /// Delete a resource the file no longer requests.
    Delete,
}

impl Action {
    /// Returns the marker used in plans: `+`, `~`, `-/+`, `-`, or a space.
    pub fn marker(self) -> &'static str {
        match self {
            Action::NoOp => " ",
            Action::Create => "+",
            Action::Update => "~",
            Action::Replace => "-/+",
            Action::Delete => "-",
        }
    }
}

impl fmt::Display for Action {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Action::NoOp => "no-op",
            Action::Create => "create",
            Action::Update => "update",
            Action::Replace => "replace",
            Action::Delete => "delete",
        })
    }
}

/// The explanation of a planner decision. It explains an action and never changes one.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "reason", rename_all = "kebab-case")]
pub enum ActionReason {
    /// No resource with this address was observed.
    NotFound,
    /// Observed attributes differ from desired ones that can change in place.
    AttributesDiffer,
    /// These attribute paths differ and cannot change in place.
    ForcesReplacement {
        /// Attribute paths, e.g. `cidr_block`.
        paths: Vec<String>,
    },
    /// The resource carries tether's marks for this environment but the file no longer requests it.
    NotInConfiguration,
}

/// One attribute that changes, addressed by a dotted path such as `spec.autoScaling.max`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AttributeChange {
    /// Dotted path from the resource's top-level attribute.
    pub path: String,
    /// The observed value; `None` when absent.
    pub before: Option<Value>,
    /// The desired value; `None` when it goes away. May hold references known after apply.
    pub after: Option<Value>,
    /// True when this change alone forces a replacement.
    pub forces_replacement: bool,
}

/// The planned change of one resource.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ResourceChange {
    /// The resource's address.
    pub address: Address,
    /// The operation apply performs.
    pub action: Action,
    /// Why; empty for [`Action::NoOp`].
    pub reasons: Vec<ActionReason>,
    /// The provider's identifier of the existing resource, if one exists.
    pub id: Option<String>,
    /// Observed attributes, absent for a create.
    pub before: Option<Attributes>,
    /// Desired attributes, absent for a delete. References to resources that exist are resolved;
    /// the others stay references, shown as known after apply.
    pub after: Option<Attributes>,
    /// Attribute-level differences, sorted by path.
    pub attribute_changes: Vec<AttributeChange>,
    /// Resources that must be applied first (for a delete: that must be deleted after it).
    pub depends_on: BTreeSet<Address>,
    /// The effects on running nodes, empty when the change touches none.
    #[serde(default)]
    pub disruption: Vec<Disruption>,
    /// For a replacement: the new copy is created, and dependents moved to it, before the old one
    /// is deleted. Otherwise the old one is deleted first.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub create_before_destroy: bool,
}

impl ResourceChange {
    /// Returns the plan marker: the action's, except `+/-` for a replacement that creates before
    /// it destroys, as Terraform writes it.
    pub fn marker(&self) -> &'static str {
        if self.action == Action::Replace && self.create_before_destroy { "+/-" } else { self.action.marker() }
    }
}

/// Counts of planned actions, in Terraform's terms: a replacement adds one and destroys one.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct PlanSummary {
    /// Creates plus replacements.
    pub add: usize,
    /// In-place updates.
    pub change: usize,
    /// Deletes plus replacements.
    pub destroy: usize,
}

impl PlanSummary {
    /// Counts actions: a replacement adds one and destroys one, a no-op counts nowhere.
    pub fn from_actions(actions: impl IntoIterator<Item = Action>) -> PlanSummary {
        let mut summary = PlanSummary::default();
        for action in actions {
            match action {
                Action::NoOp => {}
                Action::Create => summary.add += 1,
                Action::Update => summary.change += 1,
                Action::Replace => {
                    summary.add += 1;
                    summary.destroy += 1;
                }
                Action::Delete => summary.destroy += 1,
            }
        }
        summary
    }
}

impl fmt::Display for PlanSummary {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} to add, {} to change, {} to destroy", self.add, self.change, self.destroy)
    }
}

/// A complete, immutable plan: every resource's change and what the plan was based on.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Plan {
    /// [`PLAN_FORMAT_VERSION`] when written.
    pub format_version: u32,
    /// The environment's name.
    pub environment: String,
    /// One entry per resource that is desired, observed or in state, sorted by address.
    /// No-op entries carry the identifiers that dependents need at apply time.
    pub changes: Vec<ResourceChange>,
    /// SHA-256 over the desired resources, the observations and the state the plan was made from.
    pub fingerprint: String,
}

impl Plan {
    /// Counts of creates, updates and deletes.
    pub fn summary(&self) -> PlanSummary {
        PlanSummary::from_actions(self.changes.iter().map(|change| change.action))
    }

    /// True when applying the plan would change anything.
    pub fn has_changes(&self) -> bool {
        self.changes.iter().any(|change| change.action != Action::NoOp)
    }

    /// Lists every disruption of running nodes that applying the plan causes, in address order.
    pub fn disruptions(&self) -> impl Iterator<Item = (&Address, &Disruption)> {
        self.changes.iter().flat_map(|change| change.disruption.iter().map(move |item| (&change.address, item)))
    }

    /// Finds the change for one address.
    pub fn change(&self, address: &Address) -> Option<&ResourceChange> {
        self.changes.iter().find(|change| change.address == *address)
    }
}
