//! Environment file model, loading with source spans, validation and JSON Schema generation.
//!
//! An environment file is one TOML document that describes a hybrid Hosted Control Planes
//! environment. [`load`] parses it, checks every rule and reads the pull secret it names. It returns
//! either a [`Checked`] environment or [`Diagnostics`] that list every problem at once. Each problem
//! carries the TOML span it is about and help on how to fix it. [`schema_json`] generates the JSON
//! Schema that editors use to complete and check the file.

mod checked;
pub mod codes;
mod diagnostic;
mod load;
mod model;
mod schema;
mod secret;
mod spans;
mod syntax;
mod type_errors;
mod unknown_keys;
mod validate;

pub use checked::{Checked, Route};
pub use diagnostic::{Diagnostic, Diagnostics};
pub use load::{MAX_FILE_BYTES, load};
pub use miette::Severity;
pub use model::{
    Autoscaling, Aws, Cluster, DEFAULT_CLUSTER_NETWORK, DEFAULT_SERVICE_NETWORK, Environment, OnPrem, OnPremRoute,
    Pool, RootVolume, SubnetRouter, Taint,
};
pub use schema::schema_json;
pub use secret::PullSecret;
