//! The `x-tether-promotable` marks in the JSON Schema, and the comparison of the two examples.

use serde_json::Value;
use tether_config::{PROMOTABLE_MARK, Promotion, SettingPath};

use crate::support::Case;

/// Collects every property path of the schema below `schema` whose nearest mark is missing.
fn unmarked(root: &Value, schema: &Value, path: &str, marked: bool, found: &mut Vec<String>) {
    let schema = match schema.get("$ref").and_then(Value::as_str) {
        Some(reference) => root.pointer(reference.trim_start_matches('#')).expect("a local $ref resolves"),
        None => schema,
    };
    let Some(properties) = schema.get("properties").and_then(Value::as_object) else {
        if !marked {
            found.push(path.to_owned());
        }
        return;
    };
    for (key, property) in properties {
        let child = if path.is_empty() { key.clone() } else { format!("{path}.{key}") };
        let marked = marked || property.get(PROMOTABLE_MARK).is_some();
        let target = property.get("additionalProperties").filter(|value| value.is_object()).unwrap_or(property);
        unmarked(root, target, &child, marked, found);
    }
}

#[test]
fn every_setting_has_a_mark() {
    let schema: Value = serde_json::from_str(&tether_config::schema_json()).expect("the schema is JSON");
    let mut found = Vec::new();

    unmarked(&schema, &schema, "", false, &mut found);

    assert!(found.is_empty(), "settings without a promotable mark: {found:?}");
}

#[test]
fn committed_schema_carries_marks() {
    let schema: Value = serde_json::from_str(&tether_config::schema_json()).expect("the schema is JSON");

    assert_eq!(schema["$defs"]["Cluster"]["properties"]["release_image"][PROMOTABLE_MARK], true);
    assert_eq!(schema["$defs"]["Cluster"]["properties"]["base_domain"][PROMOTABLE_MARK], false);
    assert_eq!(schema["$defs"]["Pool"]["properties"]["instance_type"][PROMOTABLE_MARK], true);
    assert_eq!(schema["$defs"]["Pool"]["properties"]["replicas"][PROMOTABLE_MARK], false);
    assert_eq!(schema["properties"]["aws"][PROMOTABLE_MARK], false);
}

#[test]
fn examples_differ_only_per_environment() {
    let dev = Case::new("examples_differ_dev").load().expect("the dev example loads");
    let prod = Case::new("examples_differ_prod")
        .replace("name = \"ai-dev\"", "name = \"ai-prod\"")
        .replace("vpc_cidr = \"10.1.0.0/16\"", "vpc_cidr = \"10.2.0.0/16\"")
        .replace("destination = \"10.1.0.0/16\"", "destination = \"10.2.0.0/16\"")
        .replace("g6.xlarge", "g5.xlarge")
        .load()
        .expect("the edited example loads");

    let differences = tether_config::compare(&dev.environment, &prod.environment);

    let listed: Vec<(String, Promotion)> =
        differences.iter().map(|difference| (difference.path.to_string(), difference.promotion)).collect();
    let expected = [
        ("name", Promotion::PerEnvironment),
        ("aws.vpc_cidr", Promotion::PerEnvironment),
        ("onprem.routes", Promotion::PerEnvironment),
        ("pools.gpu.instance_type", Promotion::Promotable),
    ];
    let expected: Vec<(String, Promotion)> = expected.iter().map(|(path, kind)| ((*path).to_owned(), *kind)).collect();
    assert_eq!(listed, expected);
    assert_eq!(differences[3].from, Some(Value::from("g6.xlarge")));
    assert_eq!(differences[3].to, Some(Value::from("g5.xlarge")));
    assert_eq!(differences[3].path, SettingPath::parse("pools.gpu.instance_type").expect("a valid path"));
}
