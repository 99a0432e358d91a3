//! `metadata.managedFields`: the field ownership that writes record (see the `fields` module),
//! rendered as the API server returns it.
//!
//! The subset implemented:
//!
//! - one entry per manager name, operation and subresource, sorted by those three, each with
//!   `manager`, `operation` (`Apply` or `Update`), `apiVersion` (the type's one served version),
//!   `time`, `fieldsType: FieldsV1`, `fieldsV1`, and `subresource: status` for `/status` writes;
//! - `fieldsV1` names map keys as `f:<key>` and marks an owned field with an empty map, or with a
//!   `.` member when the manager also owns fields below it. Lists are atomic in this server, so a
//!   list is one owned field and there are no `k:`, `v:` or `i:` members;
//! - `time` is the time of the last write through the entry's manager and operation that changed
//!   the object. A write leaves the time of other entries as it was;
//! - `managedFields` in a request body is ignored. The real server would take it as the new
//!   ownership, or reset ownership when it is `[{}]`.

use serde_json::{Map, Value, json};

use super::fields::{FieldManagers, FieldSet, ManagerKey, Operation};
use super::metadata;

/// Sets `metadata.managedFields` of `object` from `managers`, or removes it when no one owns a
/// field. Entries that `previous` (the stored object) also has keep its `time`, and new ones get `now`.
pub(crate) fn set(
    object: &mut Value,
    managers: &FieldManagers,
    api_version: &str,
    previous: Option<&Value>,
    now: &str,
) {
    let previous_entries = previous.and_then(|previous| previous.pointer("/metadata/managedFields"));
    let entries: Vec<Value> = managers
        .entries()
        .map(|(key, fields)| {
            let time = previous_entries.and_then(|entries| find(entries, key)).and_then(|entry| entry.get("time"));
            let time = time.cloned().unwrap_or_else(|| Value::String(now.to_string()));
            entry(key, fields, api_version, time)
        })
        .collect();

    let metadata = metadata::metadata_mut(object);
    if entries.is_empty() {
        metadata.remove("managedFields");
    } else {
        metadata.insert("managedFields".to_string(), Value::Array(entries));
    }
}

/// Sets the `time` of the writer's entry to `now`, if the writer owns a field.
pub(crate) fn stamp_writer(object: &mut Value, writer: &ManagerKey, now: &str) {
    let Some(Value::Array(entries)) = object.pointer_mut("/metadata/managedFields") else {
        return;
    };
    if let Some(entry) = entries.iter_mut().find(|entry| is_entry_of(entry, writer)) {
        entry["time"] = Value::String(now.to_string());
    }
}

fn entry(key: &ManagerKey, fields: &FieldSet, api_version: &str, time: Value) -> Value {
    let mut entry = json!({
        "manager": key.manager,
        "operation": operation_name(key.operation),
        "apiVersion": api_version,
        "time": time,
        "fieldsType": "FieldsV1",
        "fieldsV1": fields_v1(fields),
    });
    if key.status {
        entry["subresource"] = json!("status");
    }
    entry
}

fn operation_name(operation: Operation) -> &'static str {
    match operation {
        Operation::Apply => "Apply",
        Operation::Update => "Update",
    }
}

fn find<'a>(entries: &'a Value, key: &ManagerKey) -> Option<&'a Value> {
    entries.as_array()?.iter().find(|entry| is_entry_of(entry, key))
}

fn is_entry_of(entry: &Value, key: &ManagerKey) -> bool {
    let subresource = entry.get("subresource").and_then(Value::as_str).filter(|name| !name.is_empty());
    entry.get("manager").and_then(Value::as_str) == Some(key.manager.as_str())
        && entry.get("operation").and_then(Value::as_str) == Some(operation_name(key.operation))
        && subresource == key.status.then_some("status")
}

/// Builds the `FieldsV1` tree of a set of leaf paths.
fn fields_v1(fields: &FieldSet) -> Value {
    let mut root = Map::new();
    for path in fields {
        // A set iterates a path's descendants right after the path itself.
        let owns_below = fields.range(path.clone()..).nth(1).is_some_and(|next| next.starts_with(path));
        let mut node = &mut root;
        for key in path {
            let child = node.entry(format!("f:{key}")).or_insert_with(|| json!({}));
            // unwrap: every node of the tree is inserted as a map just above.
            node = child.as_object_mut().unwrap();
        }
        if owns_below {
            node.insert(".".to_string(), json!({}));
        }
    }
    Value::Object(root)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn path(text: &str) -> Vec<String> {
        text.split('.').map(str::to_string).collect()
    }

    #[test]
    fn fields_v1_nests_f_keys() {
        let fields: FieldSet = [path("metadata.labels.app"), path("spec.replicas"), path("spec.taints")].into();
        assert_eq!(
            fields_v1(&fields),
            json!({"f:metadata": {"f:labels": {"f:app": {}}}, "f:spec": {"f:replicas": {}, "f:taints": {}}})
        );
    }

    #[test]
    fn fields_v1_marks_field_owned_with_children() {
        let fields: FieldSet = [path("spec.m"), path("spec.m.x"), path("spec.mz")].into();
        assert_eq!(fields_v1(&fields), json!({"f:spec": {"f:m": {".": {}, "f:x": {}}, "f:mz": {}}}));
    }

    #[test]
    fn entries_sorted_with_subresource() {
        let mut managers = FieldManagers::default();
        managers.set(ManagerKey::new("tether", Operation::Apply, false), [path("spec.a")].into());
        managers.set(ManagerKey::new("operator", Operation::Update, true), [path("status.ready")].into());
        let mut object = json!({"metadata": {"name": "x"}});

        set(&mut object, &managers, "example.com/v1", None, "2026-01-02T03:04:05Z");

        assert_eq!(
            object["metadata"]["managedFields"],
            json!([
                {"manager": "operator", "operation": "Update", "apiVersion": "example.com/v1",
                 "time": "2026-01-02T03:04:05Z", "fieldsType": "FieldsV1",
                 "fieldsV1": {"f:status": {"f:ready": {}}}, "subresource": "status"},
                {"manager": "tether", "operation": "Apply", "apiVersion": "example.com/v1",
                 "time": "2026-01-02T03:04:05Z", "fieldsType": "FieldsV1",
                 "fieldsV1": {"f:spec": {"f:a": {}}}}
            ])
        );
    }

    #[test]
    fn time_kept_until_writer_stamped() {
        let tether = ManagerKey::new("tether", Operation::Apply, false);
        let editor = ManagerKey::new("kubectl-edit", Operation::Update, false);
        let mut managers = FieldManagers::default();
        managers.set(tether.clone(), [path("spec.a")].into());
        let mut previous = json!({"metadata": {}});
        set(&mut previous, &managers, "v1", None, "2026-01-01T00:00:00Z");

        managers.set(editor.clone(), [path("spec.b")].into());
        let mut object = json!({"metadata": {}});
        set(&mut object, &managers, "v1", Some(&previous), "2026-01-02T00:00:00Z");
        let times = |object: &Value| -> Vec<Value> {
            object["metadata"]["managedFields"].as_array().unwrap().iter().map(|entry| entry["time"].clone()).collect()
        };
        assert_eq!(times(&object), [json!("2026-01-02T00:00:00Z"), json!("2026-01-01T00:00:00Z")]);

        stamp_writer(&mut object, &tether, "2026-01-03T00:00:00Z");
        assert_eq!(times(&object), [json!("2026-01-02T00:00:00Z"), json!("2026-01-03T00:00:00Z")]);
    }

    #[test]
    fn no_owners_removes_managed_fields() {
        let mut object = json!({"metadata": {"managedFields": [{"manager": "old"}]}});
        set(&mut object, &FieldManagers::default(), "v1", None, "2026-01-01T00:00:00Z");
        assert_eq!(object, json!({"metadata": {}}));
    }
}
