//! Field ownership: the leaf paths of an object and the set each field manager owns.
//!
//! A leaf is any value that is not a non-empty map: scalars, lists (lists are atomic here) and
//! empty maps. Paths name map keys from the object root, e.g. `["spec", "release", "image"]`.

use std::collections::{BTreeMap, BTreeSet};

use serde_json::{Map, Value};

/// Map keys from the object root to a leaf.
pub(crate) type FieldPath = Vec<String>;

/// A set of leaf paths.
pub(crate) type FieldSet = BTreeSet<FieldPath>;

/// The metadata fields whose ownership is tracked. The rest of `metadata` (name, uid,
/// resourceVersion, ...) belongs to the server, as do `apiVersion` and `kind`.
const TRACKED_METADATA: [&str; 4] = ["labels", "annotations", "finalizers", "ownerReferences"];

/// The kind of write that gave a manager its fields. A manager name has separate sets for apply and for
/// other writes, as `managedFields` entries do.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub(crate) enum Operation {
    /// Server-side apply.
    Apply,
    /// POST, PUT, merge patch or JSON patch.
    Update,
}

/// Identifies one ownership entry: manager name, operation and whether it wrote `/status`.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub(crate) struct ManagerKey {
    pub manager: String,
    pub operation: Operation,
    pub status: bool,
}

impl ManagerKey {
    /// Builds a key.
    pub fn new(manager: &str, operation: Operation, status: bool) -> ManagerKey {
        ManagerKey { manager: manager.to_string(), operation, status }
    }
}

/// The owned field sets of one object, by manager.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub(crate) struct FieldManagers {
    entries: BTreeMap<ManagerKey, FieldSet>,
}

impl FieldManagers {
    /// Returns the set a manager owns, empty when it owns nothing.
    pub fn owned(&self, key: &ManagerKey) -> FieldSet {
        self.entries.get(key).cloned().unwrap_or_default()
    }

    /// Replaces a manager's set; an empty set removes the entry.
    pub fn set(&mut self, key: ManagerKey, fields: FieldSet) {
        if fields.is_empty() {
            self.entries.remove(&key);
        } else {
            self.entries.insert(key, fields);
        }
    }

    /// Returns every entry in key order: manager name, then operation, then subresource.
    pub fn entries(&self) -> impl Iterator<Item = (&ManagerKey, &FieldSet)> {
        self.entries.iter()
    }

    /// Returns every entry except `key`.
    pub fn others<'a>(&'a self, key: &'a ManagerKey) -> impl Iterator<Item = (&'a ManagerKey, &'a FieldSet)> + 'a {
        self.entries.iter().filter(move |(other, _)| *other != key)
    }

    /// Removes one path from one entry, as a forced apply does when it takes the path over.
    pub fn release(&mut self, key: &ManagerKey, path: &FieldPath) {
        if let Some(fields) = self.entries.get_mut(key) {
            fields.remove(path);
            if fields.is_empty() {
                self.entries.remove(key);
            }
        }
    }

    /// Tests whether any entry other than `key` owns a path related to `path`.
    pub fn others_own_related(&self, key: &ManagerKey, path: &[String]) -> bool {
        self.others(key).any(|(_, fields)| fields.iter().any(|owned| related(owned, path)))
    }

    /// Tests whether any entry owns exactly `path`.
    pub fn anyone_owns(&self, path: &[String]) -> bool {
        self.entries.values().any(|fields| fields.iter().any(|owned| owned.as_slice() == path))
    }

    /// Records a non-apply write: `key` becomes owner of every leaf the write added or changed,
    /// other entries lose those leaves, and leaves the write removed are dropped from all entries.
    /// Non-apply writes never conflict.
    pub fn record_update(&mut self, key: ManagerKey, old: &Value, new: &Value) {
        let mut changed = FieldSet::new();
        let mut removed = FieldSet::new();
        diff_leaves(Some(&tracked(old)), Some(&tracked(new)), &mut Vec::new(), &mut changed, &mut removed);
        if changed.is_empty() && removed.is_empty() {
            return;
        }

        for fields in self.entries.values_mut() {
            fields.retain(|owned| {
                let overwritten = changed.iter().any(|path| related(path, owned));
                let deleted = removed.iter().any(|path| owned.starts_with(path));
                !overwritten && !deleted
            });
        }
        self.entries.entry(key).or_default().extend(changed);
        self.entries.retain(|_, fields| !fields.is_empty());
    }
}

/// Returns the part of an object whose ownership is tracked: everything except `apiVersion`,
/// `kind` and the server's metadata.
pub(crate) fn tracked(object: &Value) -> Value {
    let mut out = object.as_object().cloned().unwrap_or_default();
    out.remove("apiVersion");
    out.remove("kind");
    if let Some(Value::Object(metadata)) = out.remove("metadata") {
        let tracked_metadata: Map<String, Value> =
            metadata.into_iter().filter(|(key, _)| TRACKED_METADATA.contains(&key.as_str())).collect();
        if !tracked_metadata.is_empty() {
            out.insert("metadata".to_string(), Value::Object(tracked_metadata));
        }
    }
    Value::Object(out)
}

/// Returns the leaf paths below the root of a map.
pub(crate) fn leaf_paths(value: &Value) -> FieldSet {
    let mut out = FieldSet::new();
    if let Value::Object(map) = value {
        for (key, child) in map {
            collect_leaves(child, &mut vec![key.clone()], &mut out);
        }
    }
    out
}

fn collect_leaves(value: &Value, path: &mut FieldPath, out: &mut FieldSet) {
    match value {
        Value::Object(map) if !map.is_empty() => {
            for (key, child) in map {
                path.push(key.clone());
                collect_leaves(child, path, out);
                path.pop();
            }
        }
        _ => {
            out.insert(path.clone());
        }
    }
}

/// Walks two versions of a value and collects the leaves that were added or changed and the
/// paths that were removed.
fn diff_leaves(
    old: Option<&Value>,
    new: Option<&Value>,
    path: &mut FieldPath,
    changed: &mut FieldSet,
    removed: &mut FieldSet,
) {
    match (old, new) {
        (Some(Value::Object(old_map)), Some(Value::Object(new_map)))
            if path.is_empty() || (!new_map.is_empty() && !old_map.is_empty()) =>
        {
            let keys: BTreeSet<&String> = old_map.keys().chain(new_map.keys()).collect();
            for key in keys {
                path.push(key.clone());
                diff_leaves(old_map.get(key), new_map.get(key), path, changed, removed);
                path.pop();
            }
        }
        (Some(_), None) => {
            removed.insert(path.clone());
        }
        (None, Some(new_value)) => collect_leaves(new_value, path, changed),
        (Some(old_value), Some(new_value)) if old_value != new_value => collect_leaves(new_value, path, changed),
        _ => {}
    }
}

/// Tests whether one path is a prefix of the other (or equal): writing one can change the other.
pub(crate) fn related(a: &[String], b: &[String]) -> bool {
    a.starts_with(b) || b.starts_with(a)
}

/// Returns the value at a path, if present.
pub(crate) fn value_at<'a>(value: &'a Value, path: &[String]) -> Option<&'a Value> {
    path.iter().try_fold(value, |node, key| node.as_object()?.get(key))
}

/// Formats a path as in conflict messages: `.spec.release.image`.
pub(crate) fn display_path(path: &[String]) -> String {
    path.iter().map(|key| format!(".{key}")).collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn path(text: &str) -> FieldPath {
        text.split('.').map(str::to_string).collect()
    }

    #[test]
    fn leaves_stop_at_lists_and_empty_maps() {
        let leaves = leaf_paths(&json!({"spec": {"a": 1, "list": [{"x": 1}], "empty": {}}}));
        let expected: FieldSet = [path("spec.a"), path("spec.list"), path("spec.empty")].into();
        assert_eq!(leaves, expected);
    }

    #[test]
    fn tracked_keeps_labels_only_metadata() {
        let object = json!({
            "apiVersion": "v1", "kind": "ConfigMap",
            "metadata": {"name": "x", "resourceVersion": "3", "labels": {"a": "b"}},
            "data": {"k": "v"}
        });
        assert_eq!(tracked(&object), json!({"metadata": {"labels": {"a": "b"}}, "data": {"k": "v"}}));
        assert_eq!(tracked(&json!({"metadata": {"name": "x"}})), json!({}));
    }

    #[test]
    fn update_takes_changed_fields() {
        let first = ManagerKey::new("first", Operation::Apply, false);
        let second = ManagerKey::new("second", Operation::Update, false);
        let mut managers = FieldManagers::default();
        managers.set(first.clone(), [path("spec.a"), path("spec.b")].into());

        managers.record_update(
            second.clone(),
            &json!({"spec": {"a": 1, "b": 2}}),
            &json!({"spec": {"a": 9, "b": 2, "c": 3}}),
        );

        assert_eq!(managers.owned(&first), [path("spec.b")].into());
        assert_eq!(managers.owned(&second), [path("spec.a"), path("spec.c")].into());
    }

    #[test]
    fn update_removal_drops_ownership() {
        let first = ManagerKey::new("first", Operation::Apply, false);
        let mut managers = FieldManagers::default();
        managers.set(first.clone(), [path("spec.m.x"), path("spec.b")].into());

        let writer = ManagerKey::new("writer", Operation::Update, false);
        managers.record_update(writer.clone(), &json!({"spec": {"m": {"x": 1}, "b": 2}}), &json!({"spec": {"b": 2}}));

        assert_eq!(managers.owned(&first), [path("spec.b")].into());
        assert!(managers.owned(&writer).is_empty());
    }

    #[test]
    fn map_replaced_by_scalar_is_one_leaf() {
        let writer = ManagerKey::new("writer", Operation::Update, false);
        let mut managers = FieldManagers::default();
        managers.record_update(writer.clone(), &json!({"spec": {"m": {"x": 1}}}), &json!({"spec": {"m": 5}}));
        assert_eq!(managers.owned(&writer), [path("spec.m")].into());
    }

    #[test]
    fn related_paths() {
        assert!(related(&path("spec.a"), &path("spec.a.b")));
        assert!(related(&path("spec.a.b"), &path("spec.a")));
        assert!(related(&path("spec.a"), &path("spec.a")));
        assert!(!related(&path("spec.a"), &path("spec.ab")));
    }

    #[test]
    fn display_dotted() {
        assert_eq!(display_path(&path("spec.release.image")), ".spec.release.image");
    }
}
