//! Environment file model, loading with source spans, validation and JSON Schema generation.
//!
//! An environment file is one TOML document that describes a hybrid Hosted Control Planes
//! environment. [`load`] parses it, checks every rule and reads the pull secret it names. It returns
//! either a [`Checked`] environment or [`Diagnostics`] that list every problem at once. Each problem
//! carries the TOML span it is about and help on how to fix it. [`schema_json`] generates the JSON
//! Schema that editors use to complete and check the file.

mod addons;
mod checked;
pub mod codes;
mod compare;
mod diagnostic;
mod drift_settings;
mod edit;
mod extends;
mod import_settings;
mod load;
mod model;
mod promotable;
mod release;
mod schema;
mod secret;
mod spans;
mod syntax;
mod type_errors;
mod unknown_keys;
mod validate;

pub use addons::{ADDON_PRESETS, Addon, AddonSpec, Approval, Operand, OperandSpec};
pub use checked::{Checked, Route};
pub use compare::{Difference, compare};
pub use diagnostic::{Diagnostic, Diagnostics, PRINTED_ENTRIES};
pub use drift_settings::{DriftIgnore, DriftSettings};
pub use edit::{EditError, SettingEdit, apply_edits};
pub use import_settings::ImportSettings;
pub use load::{MAX_FILE_BYTES, load};
pub use miette::Severity;
pub use model::{
    Autoscaling, Aws, Cluster, DEFAULT_CLUSTER_NETWORK, DEFAULT_SERVICE_NETWORK, Environment, NAT_PER_ZONE, NAT_SINGLE,
    OnPrem, OnPremRoute, Pool, RootVolume, StateBackend, StateSettings, SubnetRouter, Taint,
};
pub use promotable::{PROMOTABLE_MARK, Promotion, SettingPath, SettingPathError, classify, has_promotable_below};
pub use release::{MAX_POOL_MINOR_LAG, OcpVersion, ReleaseCheck, ReleaseViolation, check_releases, release_version};
pub use schema::schema_json;
pub use secret::PullSecret;
