//! Deletes: preconditions, finalizers and `deletionTimestamp`, and the Namespace lifecycle.
//!
//! Simplified from the real server: deleting a Namespace removes its objects at once (objects
//! with finalizers get a `deletionTimestamp` instead), and the Namespace itself goes as soon as
//! it is empty and has no `metadata.finalizers`. `spec.finalizers: [kubernetes]` does not hold
//! it, because the server plays the namespace controller. No garbage collection follows
//! `ownerReferences`, and `gracePeriodSeconds` and `propagationPolicy` are ignored.

use serde_json::{Value, json};

use super::error::ApiError;
use super::metadata::{self, PROTECTED_NAMESPACES, meta_str};
use super::store::{EventType, ObjectKey, Store, StoredObject};
use super::writes::Address;

/// `DeleteOptions` fields the server honours.
#[derive(Debug, Clone, Default)]
pub(crate) struct DeleteOptions {
    /// `preconditions.uid`.
    pub uid: Option<String>,
    /// `preconditions.resourceVersion`.
    pub resource_version: Option<String>,
    /// `dryRun: [All]`, from the body or the query.
    pub dry_run: bool,
}

/// The outcome of a delete.
#[derive(Debug, Clone)]
pub(crate) enum Deleted {
    /// The object is gone; the response is a `Status` of Success.
    Removed { uid: String },
    /// Finalizers (or, for a Namespace, its objects) hold the object; the response is the
    /// object with `deletionTimestamp` set.
    Pending(Value),
}

/// Deletes one object.
///
/// # Errors
///
/// 404 for a missing object, 409 for a failed precondition, 403 for `default`, `kube-system`
/// and `kube-public`.
pub(crate) fn delete(store: &mut Store, address: &Address, options: &DeleteOptions) -> Result<Deleted, ApiError> {
    let key = address.key();
    let stored = store.get(&key).cloned().ok_or_else(|| ApiError::not_found(address.resource, &address.name))?;
    check_preconditions(address, &stored.object, options)?;
    let is_namespace = key.resource == "namespaces";
    if is_namespace && PROTECTED_NAMESPACES.contains(&address.name.as_str()) {
        return Err(ApiError::forbidden(address.resource, &address.name, "this namespace may not be deleted"));
    }

    let uid = meta_str(&stored.object, "uid").unwrap_or_default().to_string();
    let removal_blocked = !metadata::finalizers(&stored.object).is_empty()
        || (is_namespace && !store.keys_in_namespace(&address.name).is_empty());
    if options.dry_run {
        return Ok(match removal_blocked {
            true => Deleted::Pending(deleting_copy(&stored.object)),
            false => Deleted::Removed { uid },
        });
    }

    if is_namespace {
        return Ok(delete_namespace(store, &key, stored, uid));
    }
    if removal_blocked {
        return Ok(Deleted::Pending(mark_deleting(store, key, stored)));
    }
    store.remove(&key, stored.object);
    finish_namespace(store, &key.namespace);
    Ok(Deleted::Removed { uid })
}

fn check_preconditions(address: &Address, object: &Value, options: &DeleteOptions) -> Result<(), ApiError> {
    let checks = [("UID", &options.uid, "uid"), ("ResourceVersion", &options.resource_version, "resourceVersion")];
    for (label, expected, field) in checks {
        let actual = meta_str(object, field).unwrap_or_default();
        if let Some(expected) = expected.as_deref().filter(|expected| *expected != actual) {
            let detail = format!("{label} in precondition: {expected}, {label} in object meta: {actual}");
            return Err(ApiError::precondition_failed(address.resource, &address.name, detail));
        }
    }
    Ok(())
}

/// Returns the object as deletion marks it: `deletionTimestamp`, a zero grace period, and
/// `generation` + 1 when the object has one.
fn deleting_copy(object: &Value) -> Value {
    let mut object = object.clone();
    if metadata::is_deleting(&object) {
        return object;
    }
    let generation = object.pointer("/metadata/generation").and_then(Value::as_i64);
    let metadata = metadata::metadata_mut(&mut object);
    metadata.insert("deletionTimestamp".to_string(), Value::String(metadata::now()));
    metadata.insert("deletionGracePeriodSeconds".to_string(), json!(0));
    if let Some(generation) = generation.filter(|generation| *generation > 0) {
        metadata.insert("generation".to_string(), json!(generation + 1));
    }
    object
}

/// Stores the object with its deletion marks; an object already being deleted is left alone.
fn mark_deleting(store: &mut Store, key: ObjectKey, stored: StoredObject) -> Value {
    if metadata::is_deleting(&stored.object) {
        return stored.object;
    }
    let object = deleting_copy(&stored.object);
    store.put(key, StoredObject { object, managers: stored.managers }, EventType::Modified)
}

/// Deletes a Namespace's objects, then the Namespace if nothing blocks its removal, else marks it
/// Terminating.
fn delete_namespace(store: &mut Store, key: &ObjectKey, stored: StoredObject, uid: String) -> Deleted {
    for content_key in store.keys_in_namespace(&key.name) {
        let Some(content) = store.get(&content_key).cloned() else {
            continue;
        };
        if metadata::finalizers(&content.object).is_empty() {
            store.remove(&content_key, content.object);
        } else {
            mark_deleting(store, content_key, content);
        }
    }

    let emptied = store.keys_in_namespace(&key.name).is_empty();
    if emptied && metadata::finalizers(&stored.object).is_empty() {
        store.remove(key, stored.object);
        return Deleted::Removed { uid };
    }
    if metadata::is_deleting(&stored.object) {
        return Deleted::Pending(stored.object);
    }
    let mut object = deleting_copy(&stored.object);
    object["status"] = json!({"phase": "Terminating"});
    Deleted::Pending(store.put(key.clone(), StoredObject { object, managers: stored.managers }, EventType::Modified))
}

/// Removes a terminating Namespace once its last object and finalizer are gone.
pub(crate) fn finish_namespace(store: &mut Store, namespace: &str) {
    if namespace.is_empty() || !store.keys_in_namespace(namespace).is_empty() {
        return;
    }
    let key = ObjectKey::namespace(namespace);
    let Some(stored) = store.get(&key).cloned() else {
        return;
    };
    if metadata::is_deleting(&stored.object) && metadata::finalizers(&stored.object).is_empty() {
        store.remove(&key, stored.object);
    }
}
