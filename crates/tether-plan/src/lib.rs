//! The pure planner: desired, observed and state into a [`Plan`].
//!
//! Planning is deterministic: the same inputs give the same plan, byte for byte once serialized.

mod diff;
mod planner;

pub use diff::diff_attributes;
pub use planner::{PlanError, PlanInput, plan};
pub use tether_model::Plan;
