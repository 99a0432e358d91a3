//! Promotable and per-environment settings: the `x-tether-promotable` marks of the JSON Schema,
//! looked up by setting path.
//!
//! The marks sit on the model's fields as schemars attributes, so the committed schema and the
//! `diff` and `promote` commands read the same source. A setting takes the mark of its nearest
//! marked ancestor, itself included: `aws` is marked per-environment, so `aws.region` is too.

use std::fmt;

use serde_json::Value;

use crate::schema::schema_value;

/// The JSON Schema keyword that marks a setting promotable (`true`) or per-environment (`false`).
pub const PROMOTABLE_MARK: &str = "x-tether-promotable";

/// Whether a setting may be copied from one environment to another.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Promotion {
    /// Copied by `promote`: release images and pool shapes.
    Promotable,
    /// Never copied: identity, network, credential and storage settings, and whole pools.
    PerEnvironment,
}

/// A setting's path in an environment file, e.g. `pools.gpu.instance_type` or
/// `pools.gpu.labels."nvidia.com/gpu.present"`.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Default)]
pub struct SettingPath(Vec<String>);

/// A setting path that cannot be parsed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("invalid setting path `{path}`: {reason}")]
pub struct SettingPathError {
    path: String,
    reason: &'static str,
}

impl SettingPath {
    /// Creates a path from its keys.
    pub fn new(keys: impl IntoIterator<Item = impl Into<String>>) -> Self {
        SettingPath(keys.into_iter().map(Into::into).collect())
    }

    /// Parses a dotted path; a key with dots or other characters outside `A-Za-z0-9_-` is written in
    /// double quotes, as TOML writes it.
    ///
    /// # Errors
    ///
    /// Returns an error for an empty path, an empty key or an unterminated quote.
    pub fn parse(text: &str) -> Result<Self, SettingPathError> {
        let fail = |reason| SettingPathError { path: text.to_owned(), reason };
        let mut keys = Vec::new();
        let mut rest = text;
        loop {
            let (key, after) = if let Some(quoted) = rest.strip_prefix('"') {
                let end = quoted.find('"').ok_or_else(|| fail("a quoted key has no closing `\"`"))?;
                (&quoted[..end], &quoted[end + 1..])
            } else {
                let end = rest.find('.').unwrap_or(rest.len());
                (&rest[..end], &rest[end..])
            };
            if key.is_empty() {
                return Err(fail("a key is empty"));
            }
            keys.push(key.to_owned());
            match after.strip_prefix('.') {
                Some(next) => rest = next,
                None if after.is_empty() => return Ok(SettingPath(keys)),
                None => return Err(fail("a quoted key must be followed by `.` or the end")),
            }
        }
    }

    /// Returns the keys from the top of the file down.
    pub fn keys(&self) -> &[String] {
        &self.0
    }

    /// Returns this path extended by `key`.
    pub fn child(&self, key: &str) -> Self {
        let mut keys = self.0.clone();
        keys.push(key.to_owned());
        SettingPath(keys)
    }

    /// Returns true when `self` is `prefix` or lies below it.
    pub fn starts_with(&self, prefix: &SettingPath) -> bool {
        self.0.starts_with(&prefix.0)
    }
}

impl fmt::Display for SettingPath {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (position, key) in self.0.iter().enumerate() {
            if position > 0 {
                f.write_str(".")?;
            }
            let bare = !key.is_empty() && key.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-');
            if bare { f.write_str(key)? } else { write!(f, "{key:?}")? }
        }
        Ok(())
    }
}

/// Returns how the setting at `path` travels between environments, or `None` when the schema has no
/// such setting. A path above the marked fields (e.g. `cluster`) has no mark of its own and counts as
/// promotable, because only its marked settings below it are ever copied.
pub fn classify(path: &SettingPath) -> Option<Promotion> {
    let root = schema_value();
    let mut schema = root;
    let mut promotable = true;
    for key in path.keys() {
        let table = resolve(root, schema)?;
        schema = table
            .get("properties")
            .and_then(|properties| properties.get(key))
            .or_else(|| table.get("additionalProperties").filter(|value| value.is_object()))?;
        if let Some(mark) = schema.get(PROMOTABLE_MARK).and_then(Value::as_bool) {
            promotable = mark;
        }
    }
    Some(if promotable { Promotion::Promotable } else { Promotion::PerEnvironment })
}

/// Returns true when a promotable setting lies at or below `path`, e.g. for `pools.gpu`, whose pool as
/// a whole is per-environment but whose instance type is promotable.
pub fn has_promotable_below(path: &SettingPath) -> bool {
    let root = schema_value();
    let mut schema = root;
    for key in path.keys() {
        let Some(table) = resolve(root, schema) else {
            return false;
        };
        let next = table
            .get("properties")
            .and_then(|properties| properties.get(key))
            .or_else(|| table.get("additionalProperties").filter(|value| value.is_object()));
        let Some(next) = next else {
            return false;
        };
        schema = next;
    }
    classify(path) == Some(Promotion::Promotable) || marks_promotable(root, schema, 0)
}

/// Returns true when `schema` or a schema below it carries a `true` mark. `depth` stops a recursive
/// schema, which the environment schema does not have.
fn marks_promotable(root: &Value, schema: &Value, depth: usize) -> bool {
    if depth > 16 {
        return false;
    }
    if schema.get(PROMOTABLE_MARK).and_then(Value::as_bool) == Some(true) {
        return true;
    }
    let Some(table) = resolve(root, schema) else {
        return false;
    };
    let properties = table.get("properties").and_then(Value::as_object).into_iter().flat_map(|map| map.values());
    let values = table.get("additionalProperties").filter(|value| value.is_object());
    properties.chain(values).any(|child| marks_promotable(root, child, depth + 1))
}

/// Follows a local `$ref` such as `#/$defs/Pool`.
fn resolve<'a>(root: &'a Value, schema: &'a Value) -> Option<&'a Value> {
    match schema.get("$ref").and_then(Value::as_str) {
        Some(reference) => root.pointer(reference.strip_prefix('#')?),
        None => Some(schema),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn class(path: &str) -> Option<Promotion> {
        classify(&SettingPath::parse(path).expect("a valid path"))
    }

    #[test]
    fn parse_and_display_round_trip() {
        let path = SettingPath::parse("pools.gpu.labels.\"nvidia.com/gpu.present\"").expect("a valid path");
        assert_eq!(path.keys(), ["pools", "gpu", "labels", "nvidia.com/gpu.present"]);
        assert_eq!(path.to_string(), "pools.gpu.labels.\"nvidia.com/gpu.present\"");
    }

    #[test]
    fn parse_rejects_empty_keys() {
        assert!(SettingPath::parse("").is_err());
        assert!(SettingPath::parse("pools..gpu").is_err());
        assert!(SettingPath::parse("pools.\"gpu").is_err());
        assert!(SettingPath::parse("pools.\"gpu\"x").is_err());
    }

    #[test]
    fn release_and_pool_shape_are_promotable() {
        assert_eq!(class("cluster.release_image"), Some(Promotion::Promotable));
        assert_eq!(class("pools.any.instance_type"), Some(Promotion::Promotable));
        assert_eq!(class("pools.any.autoscaling.max"), Some(Promotion::Promotable));
        assert_eq!(class("pools.any.labels.\"a.b/c\""), Some(Promotion::Promotable));
        assert_eq!(class("pools.any.root_volume.size_gib"), Some(Promotion::Promotable));
    }

    #[test]
    fn identity_network_and_credentials_stay() {
        for path in ["name", "aws.region", "aws.role_arn", "cluster.base_domain", "cluster.etcd_storage_class"] {
            assert_eq!(class(path), Some(Promotion::PerEnvironment), "{path}");
        }
        assert_eq!(class("onprem.routes"), Some(Promotion::PerEnvironment));
        assert_eq!(class("pools.gpu"), Some(Promotion::PerEnvironment));
        assert_eq!(class("pools.gpu.replicas"), Some(Promotion::PerEnvironment));
    }

    #[test]
    fn pool_contains_promotable_settings() {
        let below = |path: &str| has_promotable_below(&SettingPath::parse(path).expect("a valid path"));
        assert!(below("pools"));
        assert!(below("pools.gpu"));
        assert!(below("cluster"));
        assert!(below("cluster.release_image"));
        assert!(!below("aws"));
        assert!(!below("pools.gpu.replicas"));
        assert!(!below("cluster.colour"));
    }

    #[test]
    fn unknown_settings_have_no_class() {
        assert_eq!(class("cluster.colour"), None);
        assert_eq!(class("pools.gpu.instance_type.more"), None);
    }
}
