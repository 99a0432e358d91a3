//! The pure planner: desired, observed and state into a [`Plan`].
//!
//! Planning is deterministic: the same inputs give the same plan, byte for byte once serialized.

mod destroy;
mod diff;
mod disruption;
mod drift;
mod drift_fix;
mod drift_owners;
mod planner;
mod saved;

pub use destroy::{DestroyInput, DestroyPlan, LOOKUP_KINDS, PROTECTED_KINDS, plan_destroy};
pub use diff::diff_attributes;
pub use drift_fix::{FixPlan, fix_plan};
pub use drift_owners::FIELD_OWNERS_ATTRIBUTE;
pub use drift::{
    DRIFT_FORMAT_VERSION, DriftInput, DriftKind, DriftReport, DriftedAttribute, DriftedResource, IgnoreRule,
    PendingChange, classify_drift,
};
pub use planner::{PlanError, PlanInput, plan};
pub use saved::{PLAN_FILE_FORMAT_VERSION, PLAN_FILE_KIND, PlanFileError, SavedPlan};
pub use tether_model::Plan;
