//! The versioned JSON form of a plan, described by `schemas/plan.schema.json`.
//!
//! Values are plain JSON. A value known only after apply is `null` with `true` at its place in
//! the `*_unknown` mask, and a sensitive value is its `sha256:` digest with `true` at its place
//! in the `*_sensitive` mask, so the plaintext never appears.

use serde_json::{Map, Value as Json, json};
use tether_model::{Action, ActionReason, AttributeChange, Attributes, Plan, ResourceChange, Value};

/// The version of the JSON plan form; a change that breaks readers increments it.
pub const PLAN_JSON_FORMAT_VERSION: &str = "1.0";

/// Builds the JSON form of a plan.
pub fn plan_json(plan: &Plan) -> Json {
    let summary = plan.summary();
    let disruption: Vec<Json> = plan
        .disruptions()
        .map(|(address, disruption)| json!({ "address": address.to_string(), "description": disruption.to_string() }))
        .collect();
    json!({
        "format_version": PLAN_JSON_FORMAT_VERSION,
        "environment": plan.environment,
        "fingerprint": plan.fingerprint,
        "has_changes": plan.has_changes(),
        "summary": { "add": summary.add, "change": summary.change, "destroy": summary.destroy },
        "disruption": disruption,
        "resource_changes": plan.changes.iter().map(resource_change).collect::<Vec<_>>(),
    })
}

fn resource_change(change: &ResourceChange) -> Json {
    let replace_paths: Vec<&str> = change
        .reasons
        .iter()
        .filter_map(|reason| match reason {
            ActionReason::ForcesReplacement { paths } => Some(paths),
            _ => None,
        })
        .flatten()
        .map(String::as_str)
        .collect();
    json!({
        "address": change.address.to_string(),
        "provider": change.address.provider().as_str(),
        "kind": change.address.kind(),
        "name": change.address.name(),
        "action": change.action.to_string(),
        "actions": actions(change),
        "id": change.id,
        "reasons": serde_json::to_value(&change.reasons).unwrap_or_default(),
        "before": attributes(change.before.as_ref()),
        "after": attributes(change.after.as_ref()),
        "before_sensitive": mask(change.before.as_ref(), is_sensitive),
        "after_sensitive": mask(change.after.as_ref(), is_sensitive),
        "after_unknown": mask(change.after.as_ref(), is_unknown),
        "replace_paths": replace_paths,
        "attribute_changes": change.attribute_changes.iter().map(attribute_change).collect::<Vec<_>>(),
        "depends_on": change.depends_on.iter().map(ToString::to_string).collect::<Vec<_>>(),
        "disruption": change.disruption.iter().map(|item| {
            let mut data = serde_json::to_value(item).unwrap_or_default();
            if let Some(object) = data.as_object_mut() {
                object.insert("description".to_owned(), Json::String(item.to_string()));
            }
            data
        }).collect::<Vec<_>>(),
    })
}

/// Terraform's action lists: a replacement is a delete then a create, or a create then a delete when
/// it creates before it destroys.
fn actions(change: &ResourceChange) -> Vec<&'static str> {
    if change.action == Action::Replace && change.create_before_destroy {
        return vec!["create", "delete"];
    }
    match change.action {
        Action::NoOp => vec!["no-op"],
        Action::Create => vec!["create"],
        Action::Update => vec!["update"],
        Action::Replace => vec!["delete", "create"],
        Action::Delete => vec!["delete"],
    }
}

fn attribute_change(change: &AttributeChange) -> Json {
    let side = |value: Option<&Value>| value.map_or(Json::Null, plain);
    let side_mask = |value: Option<&Value>, test: fn(&Value) -> bool| {
        value.and_then(|value| value_mask(value, test)).unwrap_or(Json::Bool(false))
    };
    json!({
        "path": change.path,
        "before": side(change.before.as_ref()),
        "after": side(change.after.as_ref()),
        "before_sensitive": side_mask(change.before.as_ref(), is_sensitive),
        "after_sensitive": side_mask(change.after.as_ref(), is_sensitive),
        "after_unknown": side_mask(change.after.as_ref(), is_unknown),
        "forces_replacement": change.forces_replacement,
    })
}

fn attributes(attributes: Option<&Attributes>) -> Json {
    match attributes {
        Some(map) => Json::Object(map.iter().map(|(key, value)| (key.clone(), plain(value))).collect()),
        None => Json::Null,
    }
}

/// Converts a value to plain JSON: unknown values and references become `null`, secrets their digest.
fn plain(value: &Value) -> Json {
    match value {
        Value::Null | Value::Unknown | Value::Ref(_) => Json::Null,
        Value::Bool(flag) => Json::Bool(*flag),
        Value::Int(number) => Json::from(*number),
        Value::String(text) => Json::String(text.clone()),
        Value::Sensitive(secret) => Json::String(secret.digest().to_owned()),
        Value::List(items) => Json::Array(items.iter().map(plain).collect()),
        Value::Map(map) => Json::Object(map.iter().map(|(key, item)| (key.clone(), plain(item))).collect()),
    }
}

fn is_sensitive(value: &Value) -> bool {
    matches!(value, Value::Sensitive(_))
}

fn is_unknown(value: &Value) -> bool {
    matches!(value, Value::Unknown | Value::Ref(_))
}

/// Builds a mask object for a resource's attributes: `{}` when nothing matches.
fn mask(attributes: Option<&Attributes>, test: fn(&Value) -> bool) -> Json {
    let mut object = Map::new();
    for (key, value) in attributes.into_iter().flatten() {
        if let Some(inner) = value_mask(value, test) {
            object.insert(key.clone(), inner);
        }
    }
    Json::Object(object)
}

/// Mirrors a value's shape with `true` where `test` is true, or returns `None` when it is true nowhere inside.
fn value_mask(value: &Value, test: fn(&Value) -> bool) -> Option<Json> {
    if test(value) {
        return Some(Json::Bool(true));
    }
    match value {
        Value::List(items) => {
            let masks: Vec<Option<Json>> = items.iter().map(|item| value_mask(item, test)).collect();
            masks
                .iter()
                .any(Option::is_some)
                .then(|| Json::Array(masks.into_iter().map(|inner| inner.unwrap_or(Json::Bool(false))).collect()))
        }
        Value::Map(map) => {
            let object: Map<String, Json> =
                map.iter().filter_map(|(key, item)| value_mask(item, test).map(|inner| (key.clone(), inner))).collect();
            (!object.is_empty()).then_some(Json::Object(object))
        }
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use tether_model::{Address, Sensitive};

    #[test]
    fn masks_mark_secrets_and_unknowns() {
        let values: Attributes = [
            ("data".to_owned(), Value::map([("k", Value::Sensitive(Sensitive::new("hunter2")))])),
            ("vpc_id".to_owned(), Value::reference_to_id(&Address::aws("vpc", "main"))),
            ("list".to_owned(), Value::List(vec![Value::from("a"), Value::Unknown])),
        ]
        .into_iter()
        .collect();
        assert_eq!(mask(Some(&values), is_sensitive), json!({"data": {"k": true}}));
        assert_eq!(mask(Some(&values), is_unknown), json!({"vpc_id": true, "list": [false, true]}));
        let plain = attributes(Some(&values));
        assert!(plain["data"]["k"].as_str().unwrap().starts_with("sha256:"));
        assert!(!plain.to_string().contains("hunter2"));
        assert_eq!(plain["vpc_id"], Json::Null);
    }
}
