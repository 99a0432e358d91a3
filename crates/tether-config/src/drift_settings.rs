//! The `[drift]` table: settings of `tether drift`.

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

/// Settings of drift detection.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[schemars(deny_unknown_fields)]
pub struct DriftSettings {
    /// Attributes whose changes outside tether are not reported as drift, e.g. a field another
    /// controller of this site writes.
    #[serde(default)]
    pub ignore: Vec<DriftIgnore>,
}

/// One attribute, or every attribute below it, that drift detection skips.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[schemars(deny_unknown_fields)]
pub struct DriftIgnore {
    /// Resource address, `provider.kind.name` (e.g. `cluster.node_pool.gpu`), or `provider.kind.*`
    /// for every resource of a kind.
    pub resource: String,
    /// Dotted attribute path, e.g. `spec.replicas` or `tags`; attributes below it are skipped too.
    pub path: String,
    /// The reason the attribute is skipped, for readers of the file.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
}
