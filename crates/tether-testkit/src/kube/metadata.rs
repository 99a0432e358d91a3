//! Server-set metadata (uid, timestamps, generation), name rules and the defaults that
//! Namespace and Secret get on every write.

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD as BASE64;
use serde_json::{Map, Value, json};

use super::error::ApiError;
use super::resources::ResourceType;

/// Metadata that clients cannot set: a write keeps the stored values, or the server sets them.
const SERVER_METADATA: [&str; 8] = [
    "uid",
    "creationTimestamp",
    "deletionTimestamp",
    "deletionGracePeriodSeconds",
    "generation",
    "resourceVersion",
    "managedFields",
    "selfLink",
];

/// Namespaces the real server refuses to delete.
pub(crate) const PROTECTED_NAMESPACES: [&str; 3] = ["default", "kube-system", "kube-public"];

/// Returns the current time as RFC 3339 in whole seconds, ending in `Z`.
pub(crate) fn now() -> String {
    jiff::Timestamp::now().strftime("%Y-%m-%dT%H:%M:%SZ").to_string()
}

/// Formats the n-th uid of a server as a version-4-shaped UUID. Deterministic, unique per server.
pub(crate) fn uid(n: u64) -> String {
    format!("00000000-0000-4000-8000-{n:012x}")
}

/// Returns `metadata`, creating it when missing.
pub(crate) fn metadata_mut(object: &mut Value) -> &mut Map<String, Value> {
    if !object.get("metadata").is_some_and(Value::is_object) {
        object["metadata"] = json!({});
    }
    // unwrap: the line above made `metadata` a map.
    object["metadata"].as_object_mut().unwrap()
}

/// Returns a string field of `metadata`.
pub(crate) fn meta_str<'a>(object: &'a Value, field: &str) -> Option<&'a str> {
    object.get("metadata")?.get(field)?.as_str()
}

/// Returns `metadata.finalizers`, empty when absent.
pub(crate) fn finalizers(object: &Value) -> Vec<String> {
    let list = object.pointer("/metadata/finalizers").and_then(Value::as_array);
    list.map(|items| items.iter().filter_map(Value::as_str).map(str::to_string).collect()).unwrap_or_default()
}

/// Tests whether deletion has started.
pub(crate) fn is_deleting(object: &Value) -> bool {
    meta_str(object, "deletionTimestamp").is_some()
}

/// Replaces the server-owned metadata of `new` with the values of `old`. For a create (`old`
/// is `None`) it removes them, except `resourceVersion`, which the caller checks first.
pub(crate) fn carry_server_metadata(old: Option<&Value>, new: &mut Value) {
    let old_metadata = old.and_then(|old| old.get("metadata")).and_then(Value::as_object);
    let metadata = metadata_mut(new);
    for field in SERVER_METADATA {
        metadata.remove(field);
        let stored_value = old_metadata.and_then(|old| old.get(field));
        if let Some(value) = stored_value.filter(|_| field != "managedFields" && field != "selfLink") {
            metadata.insert(field.to_string(), value.clone());
        }
    }
}

/// Sets `metadata.generation`: 1 on create, +1 when anything outside `metadata` (and outside
/// `status`, for types with a status subresource) changed.
pub(crate) fn set_generation(resource: &ResourceType, old: Option<&Value>, new: &mut Value) {
    if !resource.tracks_generation {
        return;
    }
    let generation = match old {
        None => 1,
        Some(old) => {
            let previous = old.pointer("/metadata/generation").and_then(Value::as_i64).unwrap_or(1);
            let changed = generation_content(resource, old) != generation_content(resource, new);
            if changed { previous + 1 } else { previous }
        }
    };
    metadata_mut(new).insert("generation".to_string(), json!(generation));
}

fn generation_content(resource: &ResourceType, object: &Value) -> Map<String, Value> {
    let mut content = object.as_object().cloned().unwrap_or_default();
    content.remove("metadata");
    if resource.status_subresource {
        content.remove("status");
    }
    content
}

/// Checks an object name against the rule of its type: DNS label for Namespaces, path segment
/// for RBAC objects (`system:` names have colons), DNS subdomain for the rest.
///
/// # Errors
///
/// 422 Invalid naming the rule.
pub(crate) fn validate_name(resource: &ResourceType, name: &str) -> Result<(), ApiError> {
    let problem = if resource.group == "rbac.authorization.k8s.io" {
        (name == "." || name == ".." || name.contains(['/', '%']))
            .then_some("may not be '.' or '..' and may not contain '/' or '%'")
    } else if resource.group.is_empty() && resource.kind == "Namespace" {
        (!is_dns_label(name)).then_some("a lowercase RFC 1123 label must consist of lower case alphanumeric characters or '-', start and end with an alphanumeric character, and be at most 63 characters")
    } else {
        (!is_dns_subdomain(name)).then_some("a lowercase RFC 1123 subdomain must consist of lower case alphanumeric characters, '-' or '.', start and end with an alphanumeric character, and be at most 253 characters")
    };
    match problem {
        Some(rule) => {
            Err(ApiError::invalid(resource, name, "metadata.name", &format!("Invalid value: {name:?}: {rule}")))
        }
        None => Ok(()),
    }
}

fn is_dns_label(name: &str) -> bool {
    let bytes = name.as_bytes();
    let edges_ok =
        bytes.first().is_some_and(u8::is_ascii_alphanumeric) && bytes.last().is_some_and(u8::is_ascii_alphanumeric);
    name.len() <= 63 && edges_ok && bytes.iter().all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || *b == b'-')
}

fn is_dns_subdomain(name: &str) -> bool {
    name.len() <= 253 && name.split('.').all(is_dns_label)
}

/// Applies the defaults and checks of built-in kinds on every write: Namespace labels and
/// phase, Secret `stringData` folding and `type`. `old` is the stored object on updates.
///
/// # Errors
///
/// 400 for Secret data that is not base64, 422 for a changed Secret type.
pub(crate) fn apply_kind_defaults(
    resource: &ResourceType,
    object: &mut Value,
    old: Option<&Value>,
) -> Result<(), ApiError> {
    if !resource.group.is_empty() {
        return Ok(());
    }
    match resource.kind.as_str() {
        "Namespace" => {
            default_namespace(object, old.is_none());
            Ok(())
        }
        "Secret" => default_secret(resource, object, old),
        _ => Ok(()),
    }
}

/// Adds the `kubernetes.io/metadata.name` label, and on create `spec.finalizers: [kubernetes]`
/// and `status.phase: Active`.
fn default_namespace(object: &mut Value, creating: bool) {
    let name = meta_str(object, "name").unwrap_or_default().to_string();
    let metadata = metadata_mut(object);
    let labels = metadata.entry("labels").or_insert_with(|| json!({}));
    if let Some(labels) = labels.as_object_mut() {
        labels.insert("kubernetes.io/metadata.name".to_string(), Value::String(name));
    }
    if creating {
        if !object.get("spec").is_some_and(Value::is_object) {
            object["spec"] = json!({});
        }
        if object.pointer("/spec/finalizers").is_none() {
            object["spec"]["finalizers"] = json!(["kubernetes"]);
        }
        object["status"] = json!({"phase": "Active"});
    }
}

/// Folds `stringData` into base64 `data`, defaults `type` to `Opaque` and keeps it immutable.
fn default_secret(resource: &ResourceType, object: &mut Value, old: Option<&Value>) -> Result<(), ApiError> {
    let name = meta_str(object, "name").unwrap_or_default().to_string();
    let Some(secret) = object.as_object_mut() else {
        return Ok(());
    };

    if let Some(Value::Object(string_data)) = secret.remove("stringData") {
        let data = secret.entry("data").or_insert_with(|| json!({}));
        if let Some(data) = data.as_object_mut() {
            for (key, value) in string_data {
                let text = value.as_str().unwrap_or_default();
                data.insert(key, Value::String(BASE64.encode(text)));
            }
        }
    }
    if let Some(Value::Object(data)) = secret.get("data") {
        for (key, value) in data {
            let decodes = value.as_str().is_some_and(|text| BASE64.decode(text).is_ok());
            if !decodes {
                return Err(ApiError::bad_request(format!("Secret {name:?}: data[{key:?}] is not valid base64")));
            }
        }
    }

    let secret_type = secret.entry("type").or_insert_with(|| json!("Opaque")).clone();
    let old_type = old.and_then(|old| old.get("type"));
    if old_type.is_some_and(|old_type| *old_type != secret_type) {
        return Err(ApiError::invalid(
            resource,
            &name,
            "type",
            &format!("Invalid value: {secret_type}: field is immutable"),
        ));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn timestamp_whole_seconds_utc() {
        let stamp = now();
        assert_eq!(stamp.len(), "2025-01-02T03:04:05Z".len(), "{stamp}");
        assert!(stamp.ends_with('Z'), "{stamp}");
    }

    #[test]
    fn generation_ignores_metadata_and_status() {
        let resource = ResourceType::namespaced("example.com/v1", "Thing", "things").with_status();
        let old = json!({"metadata": {"generation": 3}, "spec": {"a": 1}, "status": {"x": 1}});
        let mut relabelled = json!({"metadata": {"labels": {"a": "b"}}, "spec": {"a": 1}, "status": {"x": 2}});
        set_generation(&resource, Some(&old), &mut relabelled);
        assert_eq!(relabelled["metadata"]["generation"], 3);

        let mut respecced = json!({"metadata": {}, "spec": {"a": 2}});
        set_generation(&resource, Some(&old), &mut respecced);
        assert_eq!(respecced["metadata"]["generation"], 4);
    }

    #[test]
    fn secret_string_data_folded() {
        let resource = ResourceType::namespaced("v1", "Secret", "secrets").builtin();
        let mut secret = json!({"metadata": {"name": "s"}, "stringData": {"token": "abc"}});
        apply_kind_defaults(&resource, &mut secret, None).expect("valid secret");
        assert_eq!(secret, json!({"metadata": {"name": "s"}, "data": {"token": "YWJj"}, "type": "Opaque"}));
    }

    #[test]
    fn name_rules() {
        let secret = ResourceType::namespaced("v1", "Secret", "secrets").builtin();
        let namespace = ResourceType::cluster_scoped("v1", "Namespace", "namespaces").builtin();
        let role =
            ResourceType::cluster_scoped("rbac.authorization.k8s.io/v1", "ClusterRole", "clusterroles").builtin();
        assert!(validate_name(&secret, "a.b-c").is_ok());
        assert!(validate_name(&secret, "Upper").is_err());
        assert!(validate_name(&namespace, "a.b").is_err());
        assert!(validate_name(&role, "system:aggregate-to-admin").is_ok());
        assert!(validate_name(&role, "a/b").is_err());
    }
}
