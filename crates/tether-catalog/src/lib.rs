//! The catalogue of hybrid HCP resources: each kind's schema and the lowering of an
//! environment into the desired graph.

mod aws;
mod cluster;
mod graph;
mod marks;
mod routes;
mod schema;

pub use graph::{DesiredGraph, GraphError, lower};
pub use marks::{ADDRESS_MARK, ENVIRONMENT_MARK, MANAGED_BY_LABEL, MANAGED_BY_VALUE};
pub use schema::{KindSchema, kind_schema};
