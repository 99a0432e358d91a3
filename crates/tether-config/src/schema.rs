//! JSON Schema of the environment file, for editors (the file's `#:schema` line) and for key lookups.

use std::sync::OnceLock;

use schemars::generate::SchemaSettings;
use serde_json::Value;

use crate::model::Environment;

/// Generates the JSON Schema (draft 2020-12) of [`Environment`], pretty-printed and ending in a newline.
///
/// `schemas/environment.schema.json` in the repository is this output.
pub fn schema_json() -> String {
    let mut text = serde_json::to_string_pretty(schema_value()).expect("a serde_json::Value always serializes"); // unwrap: a Value has only string keys
    text.push('\n');
    text
}

/// Returns the schema as a JSON value, generated once per process.
pub(crate) fn schema_value() -> &'static Value {
    static SCHEMA: OnceLock<Value> = OnceLock::new();
    SCHEMA.get_or_init(generate)
}

fn generate() -> Value {
    let generator = SchemaSettings::draft2020_12().into_generator();
    let mut schema = generator.into_root_schema_for::<Environment>().to_value();
    remove_null(&mut schema);
    put_header_first(schema)
}

/// Moves `$schema`, `title` and `description` to the top of the root object, where a reader of the
/// committed file looks for them.
fn put_header_first(schema: Value) -> Value {
    let Value::Object(mut fields) = schema else {
        return schema;
    };
    let mut ordered = serde_json::Map::new();
    for key in ["$schema", "title", "description"] {
        if let Some(value) = fields.remove(key) {
            ordered.insert(key.to_owned(), value);
        }
    }
    ordered.extend(fields);
    Value::Object(ordered)
}

/// Removes the `null` alternative that schemars adds for `Option` fields, because TOML has no null:
/// an optional key is one that is left out.
fn remove_null(schema: &mut Value) {
    match schema {
        Value::Object(object) => {
            if let Some(Value::Array(types)) = object.get_mut("type") {
                types.retain(|kind| kind != "null");
                if let [only] = types.as_slice() {
                    let only = only.clone();
                    object.insert("type".to_owned(), only);
                }
            }
            if let Some(Value::Array(branches)) = object.get("anyOf") {
                let non_null: Vec<Value> = branches
                    .iter()
                    .filter(|branch| branch.get("type").is_none_or(|kind| kind != "null"))
                    .cloned()
                    .collect();
                if let [only] = non_null.as_slice() {
                    let only = only.clone();
                    object.remove("anyOf");
                    if let Value::Object(fields) = only {
                        object.extend(fields);
                    }
                }
            }
            object.values_mut().for_each(remove_null);
        }
        Value::Array(items) => items.iter_mut().for_each(remove_null),
        _ => {}
    }
}

/// Returns the keys allowed in the table at `path`, sorted, or an empty list when the schema does not
/// describe that table (e.g. a free-form map such as a pool's `labels`).
pub(crate) fn allowed_keys(path: &crate::spans::KeyPath) -> Vec<String> {
    let root = schema_value();
    let Some(table) = descend(root, root, path.segments()).and_then(|schema| resolve(root, schema)) else {
        return Vec::new();
    };
    let mut keys: Vec<String> = table
        .get("properties")
        .and_then(Value::as_object)
        .map(|properties| properties.keys().cloned().collect())
        .unwrap_or_default();
    keys.sort();
    keys
}

/// Follows `segments` from `schema` through properties, map values, array items and `$ref`s. The
/// schema returned is the one at the last step, before following its own `$ref`, so that it keeps the
/// field's description.
fn descend<'a>(root: &'a Value, schema: &'a Value, segments: &[crate::spans::Segment]) -> Option<&'a Value> {
    use crate::spans::Segment;

    let Some((first, rest)) = segments.split_first() else {
        return Some(schema);
    };
    let schema = resolve(root, schema)?;
    let next = match first {
        Segment::Key(key) => schema
            .get("properties")
            .and_then(|properties| properties.get(key))
            .or_else(|| schema.get("additionalProperties").filter(|value| value.is_object()))?,
        Segment::Index(_) => schema.get("items")?,
    };
    descend(root, next, rest)
}

/// Follows a local `$ref` such as `#/$defs/Cluster`.
fn resolve<'a>(root: &'a Value, schema: &'a Value) -> Option<&'a Value> {
    match schema.get("$ref").and_then(Value::as_str) {
        Some(reference) => root.pointer(reference.strip_prefix('#')?),
        None => Some(schema),
    }
}

/// Returns the schema's description of the key at `path`, from the model's doc comments.
pub(crate) fn description(path: &crate::spans::KeyPath) -> Option<String> {
    let root = schema_value();
    let schema = descend(root, root, path.segments())?;
    let text = schema.get("description").and_then(Value::as_str)?;
    Some(text.replace('\n', " "))
}

/// Returns true when the key at `path` holds a table with fixed keys, such as `[aws]`.
pub(crate) fn is_table(path: &crate::spans::KeyPath) -> bool {
    let root = schema_value();
    descend(root, root, path.segments())
        .and_then(|schema| resolve(root, schema))
        .is_some_and(|schema| schema.get("properties").is_some())
}
