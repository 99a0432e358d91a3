//! The catalogue of hybrid HCP resources: each kind's schema and the lowering of an
//! environment into the desired graph.
//!
//! It also ships dated data tables (instance types, regional offerings, on-demand prices) and
//! what is computed from them: advice on an environment file, cost estimates of the billed AWS
//! resources, and the summary of what runs on the management cluster and what runs in AWS.

mod addons;
mod advice;
mod aws;
mod cluster;
mod cost;
mod graph;
mod iam;
mod marks;
mod normalize;
mod ownership;
mod placement;
mod routes;
mod schema;
mod tables;

pub use addons::annotate_plan;
pub use advice::{advise, codes as advice_codes};
pub use cost::{estimate, estimate_desired, estimate_plan, plan_region};
pub use graph::{DesiredGraph, GraphError, lower};
pub use marks::{ADDRESS_MARK, ENVIRONMENT_MARK, MANAGED_BY_LABEL, MANAGED_BY_VALUE};
pub use normalize::{desired_as_stored, equivalent, observed_without_server_fields};
pub use ownership::{ForeignField, foreign_fields, foreign_owner};
pub use placement::{placement_desired, placement_plan, route_caveat};
pub use schema::{KindSchema, NodeEffects, kind_schema};
pub use tables::{DataTable, data_tables, price_source};
