//! Core vocabulary: resource addresses, attribute values, desired and observed resources, state and plans.
//!
//! This crate does no I/O. Every map is a `BTreeMap` so that walks, renderings and digests are
//! deterministic.

mod address;
mod disruption;
mod estimate;
pub mod marks;
mod plan;
mod redact;
mod resource;
mod state;
mod value;

pub use address::{Address, AddressError, ProviderId};
pub use disruption::{Disruption, NodeCount};
pub use estimate::{CostChange, CostEstimate, CostKind, CostLine, CostTotals, PlacedItem, Placement, PriceSource, Usd};
pub use plan::{Action, ActionReason, AttributeChange, PLAN_FORMAT_VERSION, Plan, PlanSummary, ResourceChange};
pub use redact::{REDACTED, redact_credentials};
pub use resource::{Attributes, ObservedResource, Resource};
pub use state::{STATE_FORMAT_VERSION, State, StateResource};
pub use value::{Reference, Sensitive, UnresolvedValue, Value};
