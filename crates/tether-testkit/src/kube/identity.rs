//! Checks that a request names its object consistently (body against path), names for POST
//! bodies, and whether the target namespace accepts new objects.

use serde_json::Value;

use super::error::ApiError;
use super::metadata::{self, meta_str};
use super::resources::ResourceType;
use super::store::{ObjectKey, Store};
use super::writes::Address;

pub(crate) fn object_name(store: &mut Store, resource: &ResourceType, body: &mut Value) -> Result<String, ApiError> {
    if let Some(name) = meta_str(body, "name").filter(|name| !name.is_empty()) {
        return Ok(name.to_string());
    }
    let Some(prefix) = meta_str(body, "generateName").filter(|prefix| !prefix.is_empty()) else {
        let message = "Required value: name or generateName is required";
        return Err(ApiError::invalid(resource, "", "metadata.name", message));
    };
    let name = format!("{prefix}{}", generated_suffix(&store.next_uid()));
    metadata::metadata_mut(body).insert("name".to_string(), Value::String(name.clone()));
    Ok(name)
}

/// Derives five characters from a fresh uid, from the alphabet the real server draws from.
fn generated_suffix(uid: &str) -> String {
    const ALPHABET: &[u8] = b"bcdfghjklmnpqrstvwxz2456789";
    let mut n = u64::from_str_radix(&uid[uid.len() - 12..], 16).unwrap_or_default();
    (0..5)
        .map(|_| {
            let c = ALPHABET[(n % ALPHABET.len() as u64) as usize] as char;
            n /= ALPHABET.len() as u64;
            c
        })
        .collect()
}

/// Checks that a body names the object of the path, then fills in `apiVersion`, `kind`,
/// `metadata.name` and `metadata.namespace` (or removes the namespace for cluster-scoped types).
pub(crate) fn check_identity(address: &Address, object: &mut Value) -> Result<(), ApiError> {
    if !object.is_object() {
        return Err(ApiError::bad_request("the request body must be a JSON object"));
    }
    if let Some(mismatch) = identity_mismatch(address, object) {
        return Err(ApiError::bad_request(mismatch));
    }

    let resource = address.resource;
    object["apiVersion"] = Value::String(resource.api_version());
    object["kind"] = Value::String(resource.kind.clone());
    let metadata = metadata::metadata_mut(object);
    metadata.insert("name".to_string(), Value::String(address.name.clone()));
    match &address.namespace {
        Some(namespace) if resource.namespaced => {
            metadata.insert("namespace".to_string(), Value::String(namespace.clone()))
        }
        _ => metadata.remove("namespace"),
    };
    Ok(())
}

/// Returns the message for the first identity field that the body sets to another value than the path.
fn identity_mismatch(address: &Address, object: &Value) -> Option<String> {
    let resource = address.resource;
    let api_version = resource.api_version();
    let field = |name: &str| object.get(name).and_then(Value::as_str);

    if let Some(sent) = field("apiVersion").filter(|sent| *sent != api_version) {
        return Some(format!(
            "the API version in the data ({sent}) does not match the expected API version ({api_version})"
        ));
    }
    if let Some(sent) = field("kind").filter(|sent| *sent != resource.kind) {
        return Some(format!("the kind in the data ({sent}) does not match the expected kind ({})", resource.kind));
    }
    if let Some(sent) = meta_str(object, "name").filter(|sent| *sent != address.name) {
        return Some(format!("the name of the object ({sent}) does not match the name on the URL ({})", address.name));
    }
    let sent_namespace = meta_str(object, "namespace").filter(|sent| !sent.is_empty());
    let namespace_differs = sent_namespace.is_some_and(|sent| Some(sent) != address.namespace.as_deref());
    (resource.namespaced && namespace_differs)
        .then(|| "the namespace of the provided object does not match the namespace sent on the request".to_string())
}

/// An applied configuration must state `apiVersion`, `kind` and `metadata.name`, and they must match the path.
pub(crate) fn check_apply_identity(address: &Address, config: &Value) -> Result<(), ApiError> {
    let missing = ["apiVersion", "kind"]
        .into_iter()
        .find(|field| config.get(*field).and_then(Value::as_str).is_none_or(str::is_empty));
    if let Some(field) = missing {
        return Err(ApiError::bad_request(format!("{field} must be set in an applied configuration")));
    }
    if meta_str(config, "name").is_none_or(str::is_empty) {
        return Err(ApiError::bad_request("metadata.name must be set in an applied configuration"));
    }
    check_identity(address, &mut config.clone())
}

/// Rejects creates in a namespace that is missing (404) or terminating (403).
pub(crate) fn ensure_namespace_accepts(store: &Store, address: &Address) -> Result<(), ApiError> {
    let Some(namespace) = address.namespace.as_deref().filter(|_| address.resource.namespaced) else {
        return Ok(());
    };
    match store.get(&ObjectKey::namespace(namespace)) {
        None => Err(ApiError::namespace_not_found(namespace)),
        Some(stored) if metadata::is_deleting(&stored.object) => {
            let cause = format!("unable to create new content in namespace {namespace} because it is being terminated");
            Err(ApiError::forbidden(address.resource, &address.name, &cause))
        }
        Some(_) => Ok(()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn generated_names_differ() {
        let first = generated_suffix(&metadata::uid(1));
        let second = generated_suffix(&metadata::uid(2));
        assert_eq!(first.len(), 5);
        assert_ne!(first, second);
    }
}
