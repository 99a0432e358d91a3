//! The catalogue of hybrid HCP resources: each kind's schema and the lowering of an
//! environment into the desired graph.

mod aws;
mod cluster;
mod graph;
mod marks;
mod routes;
mod schema;

pub use graph::{lower, DesiredGraph, GraphError};
pub use marks::{ADDRESS_MARK, ENVIRONMENT_MARK, MANAGED_BY_LABEL, MANAGED_BY_VALUE};
pub use schema::{kind_schema, KindSchema};
