//! The JSON Schema: the committed file matches the generated one, and every object is closed and
//! described.

use std::path::Path;

use serde_json::Value;

const SCHEMA_PATH: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/../../schemas/environment.schema.json");

#[test]
fn committed_schema_is_current() {
    let generated = tether_config::schema_json();
    if std::env::var_os("TETHER_BLESS").is_some_and(|value| value == "1") {
        std::fs::write(SCHEMA_PATH, &generated).expect("write the schema");
        return;
    }

    let committed = std::fs::read_to_string(Path::new(SCHEMA_PATH)).unwrap_or_default();
    assert!(
        committed == generated,
        "schemas/environment.schema.json is out of date. Regenerate it with \
         `cargo run -p tether-cli -- schema > schemas/environment.schema.json` \
         or `TETHER_BLESS=1 cargo test -p tether-config`"
    );
}

#[test]
fn schema_ends_with_newline() {
    let generated = tether_config::schema_json();

    assert!(generated.ends_with("}\n"));
    assert!(!generated.ends_with("\n\n"));
}

#[test]
fn schema_objects_are_closed_and_described() {
    let schema: Value = serde_json::from_str(&tether_config::schema_json()).expect("the schema is JSON");
    let definitions = schema["$defs"].as_object().expect("the schema has $defs");

    let mut objects = vec![("Environment", &schema)];
    objects.extend(definitions.iter().map(|(name, definition)| (name.as_str(), definition)));
    for (name, object) in objects {
        assert_eq!(object["additionalProperties"], Value::Bool(false), "{name} allows unknown keys");
        let properties = object["properties"].as_object().expect("an object schema has properties");
        for (key, property) in properties {
            assert!(property["description"].is_string(), "{name}.{key} has no description");
        }
    }
}

#[test]
fn schema_has_no_null_types() {
    let text = tether_config::schema_json();

    assert!(!text.contains("\"null\""), "TOML has no null, so the schema must not allow it");
}

#[test]
fn schema_records_defaults_and_required_keys() {
    let schema: Value = serde_json::from_str(&tether_config::schema_json()).expect("the schema is JSON");
    let cluster = &schema["$defs"]["Cluster"];

    assert_eq!(cluster["properties"]["cluster_network"]["default"], "10.132.0.0/14");
    assert_eq!(cluster["properties"]["service_network"]["default"], "172.31.0.0/16");
    let required: Vec<&str> =
        cluster["required"].as_array().expect("required keys").iter().filter_map(Value::as_str).collect();
    assert!(required.contains(&"release_image"));
    assert!(!required.contains(&"cluster_network"));
    let effect = &schema["$defs"]["Taint"]["properties"]["effect"]["enum"];
    assert_eq!(effect, &serde_json::json!(["NoSchedule", "PreferNoSchedule", "NoExecute"]));
}
