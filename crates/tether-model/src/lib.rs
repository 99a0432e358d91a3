//! Core vocabulary: resource addresses, attribute values, desired and observed resources, state and plans.
//!
//! This crate does no I/O. Every map is a `BTreeMap` so that walks, renderings and digests are
//! deterministic.

mod address;
mod plan;
mod resource;
mod state;
mod value;

pub use address::{Address, AddressError, ProviderId};
pub use plan::{Action, ActionReason, AttributeChange, Plan, PlanSummary, ResourceChange, PLAN_FORMAT_VERSION};
pub use resource::{Attributes, ObservedResource, Resource};
pub use state::{State, StateResource, STATE_FORMAT_VERSION};
pub use value::{Reference, Sensitive, UnresolvedValue, Value};
