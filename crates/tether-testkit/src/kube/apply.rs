//! Server-side apply: merging an applied configuration into an object, conflicts between
//! field managers, and removal of fields a manager stopped applying.
//!
//! Simplified from the real field manager: maps merge key by key, every list is atomic
//! (replaced whole, even `listType=map` lists such as conditions), and `null` values in an
//! applied configuration are dropped as if the field were absent.

use serde_json::Value;

use super::fields::{self, FieldManagers, FieldPath, ManagerKey};

/// A field that another manager owns with a different value than the applied one.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Conflict {
    /// The ownership entry that contains the field.
    pub owner: ManagerKey,
    /// The field's path.
    pub path: FieldPath,
}

/// The object and ownership after an apply.
#[derive(Debug, Clone)]
pub(crate) struct Applied {
    pub object: Value,
    pub managers: FieldManagers,
}

/// Applies `config` for `applier` to `current` (the stored object, or a skeleton with only
/// identity fields when the apply creates it).
///
/// `config` must already be limited to the fields the request may touch (no `status` on the
/// main resource of a type with a status subresource, only `status` on `/status`).
///
/// # Errors
///
/// The conflicts, when another manager owns an applied field with a different value and
/// `force` is false. With `force`, the applier takes those fields over instead.
pub(crate) fn apply(
    current: &Value,
    managers: &FieldManagers,
    config: &Value,
    applier: &ManagerKey,
    force: bool,
) -> Result<Applied, Vec<Conflict>> {
    let config = without_nulls(config);
    let applied_paths = fields::leaf_paths(&fields::tracked(&config));
    let mut object = current.clone();
    merge(&mut object, &config);

    let mut managers = managers.clone();
    let conflicts = find_conflicts(current, &object, &managers, applier, &applied_paths);
    if !conflicts.is_empty() && !force {
        return Err(conflicts);
    }
    for conflict in &conflicts {
        managers.release(&conflict.owner, &conflict.path);
    }

    let previous = managers.owned(applier);
    for dropped in previous.difference(&applied_paths) {
        let reapplied = applied_paths.iter().any(|path| fields::related(path, dropped));
        if !reapplied && !managers.others_own_related(applier, dropped) {
            remove_field(&mut object, dropped, &managers);
        }
    }
    managers.set(applier.clone(), applied_paths);

    Ok(Applied { object, managers })
}

/// Lists the fields other managers own that the apply would change.
fn find_conflicts(
    before: &Value,
    after: &Value,
    managers: &FieldManagers,
    applier: &ManagerKey,
    applied_paths: &fields::FieldSet,
) -> Vec<Conflict> {
    let mut conflicts = Vec::new();
    for (key, owned) in managers.others(applier) {
        for path in owned {
            let touched = applied_paths.iter().any(|applied| fields::related(applied, path));
            let changed = fields::value_at(before, path) != fields::value_at(after, path);
            if touched && changed {
                conflicts.push(Conflict { owner: key.clone(), path: path.clone() });
            }
        }
    }
    conflicts
}

/// Merges an applied configuration: maps merge key by key, anything else replaces.
fn merge(target: &mut Value, config: &Value) {
    let (Value::Object(target_map), Value::Object(config_map)) = (&mut *target, config) else {
        *target = config.clone();
        return;
    };
    for (key, value) in config_map {
        match target_map.get_mut(key) {
            Some(existing) if existing.is_object() && value.is_object() => merge(existing, value),
            _ => {
                target_map.insert(key.clone(), value.clone());
            }
        }
    }
}

/// Returns a copy with every `null` map value removed, at any depth.
fn without_nulls(value: &Value) -> Value {
    match value {
        Value::Object(map) => Value::Object(
            map.iter()
                .filter(|(_, value)| !value.is_null())
                .map(|(key, value)| (key.clone(), without_nulls(value)))
                .collect(),
        ),
        Value::Array(items) => Value::Array(items.iter().map(without_nulls).collect()),
        other => other.clone(),
    }
}

/// Removes a field, then the maps it leaves empty, up to (not including) top-level fields such
/// as `spec`, and not an empty map that a manager owns as a leaf.
fn remove_field(object: &mut Value, path: &[String], managers: &FieldManagers) {
    remove_below(object, path, 0, managers);
}

fn remove_below(node: &mut Value, path: &[String], depth: usize, managers: &FieldManagers) {
    let Some((key, rest)) = path.split_first() else {
        return;
    };
    let Some(map) = node.as_object_mut() else {
        return;
    };
    if rest.is_empty() {
        map.remove(key);
        return;
    }
    let Some(child) = map.get_mut(key) else {
        return;
    };
    remove_below(child, rest, depth + 1, managers);

    let child_path = &path[..path.len() - rest.len()];
    let emptied = child.as_object().is_some_and(|child| child.is_empty());
    if emptied && depth > 0 && !managers.anyone_owns(child_path) {
        map.remove(key);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::kube::fields::Operation;
    use serde_json::json;

    fn key(manager: &str) -> ManagerKey {
        ManagerKey::new(manager, Operation::Apply, false)
    }

    fn path(text: &str) -> FieldPath {
        text.split('.').map(str::to_string).collect()
    }

    fn apply_ok(current: &Value, managers: &FieldManagers, config: Value, manager: &str) -> Applied {
        apply(current, managers, &config, &key(manager), false)
            .unwrap_or_else(|conflicts| panic!("conflicts: {conflicts:?}"))
    }

    #[test]
    fn two_managers_merge() {
        let first = apply_ok(&json!({}), &FieldManagers::default(), json!({"spec": {"a": 1}}), "first");
        let second = apply_ok(&first.object, &first.managers, json!({"spec": {"b": 2}}), "second");

        assert_eq!(second.object, json!({"spec": {"a": 1, "b": 2}}));
        assert_eq!(second.managers.owned(&key("first")), [path("spec.a")].into());
        assert_eq!(second.managers.owned(&key("second")), [path("spec.b")].into());
    }

    #[test]
    fn conflict_on_different_value() {
        let first = apply_ok(&json!({}), &FieldManagers::default(), json!({"spec": {"a": 1}}), "first");
        let conflicts = apply(&first.object, &first.managers, &json!({"spec": {"a": 2}}), &key("second"), false)
            .expect_err("second manager changes a field the first owns");
        assert_eq!(conflicts, vec![Conflict { owner: key("first"), path: path("spec.a") }]);
    }

    #[test]
    fn same_value_is_shared() {
        let first = apply_ok(&json!({}), &FieldManagers::default(), json!({"spec": {"a": 1}}), "first");
        let second = apply_ok(&first.object, &first.managers, json!({"spec": {"a": 1}}), "second");
        assert_eq!(second.managers.owned(&key("first")), [path("spec.a")].into());
        assert_eq!(second.managers.owned(&key("second")), [path("spec.a")].into());
    }

    #[test]
    fn force_transfers_ownership() {
        let first = apply_ok(&json!({}), &FieldManagers::default(), json!({"spec": {"a": 1, "b": 1}}), "first");
        let forced = apply(&first.object, &first.managers, &json!({"spec": {"a": 2}}), &key("second"), true)
            .expect("force never conflicts");

        assert_eq!(forced.object, json!({"spec": {"a": 2, "b": 1}}));
        assert_eq!(forced.managers.owned(&key("first")), [path("spec.b")].into());
        assert_eq!(forced.managers.owned(&key("second")), [path("spec.a")].into());
    }

    #[test]
    fn dropped_field_removed() {
        let first = apply_ok(&json!({}), &FieldManagers::default(), json!({"spec": {"a": 1, "m": {"x": 1}}}), "first");
        let again = apply_ok(&first.object, &first.managers, json!({"spec": {"a": 1}}), "first");
        assert_eq!(again.object, json!({"spec": {"a": 1}}), "the emptied map spec.m goes too");
    }

    #[test]
    fn dropped_field_kept_when_shared() {
        let first = apply_ok(&json!({}), &FieldManagers::default(), json!({"spec": {"a": 1, "b": 2}}), "first");
        let second = apply_ok(&first.object, &first.managers, json!({"spec": {"b": 2}}), "second");
        let again = apply_ok(&second.object, &second.managers, json!({"spec": {"a": 1}}), "first");

        assert_eq!(again.object, json!({"spec": {"a": 1, "b": 2}}));
        assert_eq!(again.managers.owned(&key("second")), [path("spec.b")].into());
    }

    #[test]
    fn top_level_map_kept_when_emptied() {
        let first = apply_ok(&json!({}), &FieldManagers::default(), json!({"spec": {"a": 1}}), "first");
        let again = apply_ok(&first.object, &first.managers, json!({}), "first");
        assert_eq!(again.object, json!({"spec": {}}));
    }

    #[test]
    fn lists_replaced_whole() {
        let first = apply_ok(&json!({}), &FieldManagers::default(), json!({"spec": {"l": [1, 2]}}), "first");
        let again = apply_ok(&first.object, &first.managers, json!({"spec": {"l": [3]}}), "first");
        assert_eq!(again.object, json!({"spec": {"l": [3]}}));
    }

    #[test]
    fn update_owner_conflicts_with_apply() {
        let writer = ManagerKey::new("writer", Operation::Update, false);
        let mut managers = FieldManagers::default();
        managers.record_update(writer, &json!({}), &json!({"spec": {"a": 1}}));

        let conflicts =
            apply(&json!({"spec": {"a": 1}}), &managers, &json!({"spec": {"a": 2}}), &key("applier"), false)
                .expect_err("a POST makes its manager owner");
        assert_eq!(conflicts[0].owner.manager, "writer");
    }

    #[test]
    fn nulls_ignored() {
        let first = apply_ok(
            &json!({"spec": {"a": 1}}),
            &FieldManagers::default(),
            json!({"spec": {"a": null, "b": 2}}),
            "first",
        );
        assert_eq!(first.object, json!({"spec": {"a": 1, "b": 2}}));
    }
}
