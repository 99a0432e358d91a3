//! Writes to the store: create, replace, patch, apply and status writes, with the checks the
//! real API server makes (identity, preconditions, namespace lifecycle) and the shared save step.

use std::collections::BTreeMap;

use serde_json::{Value, json};

use super::apply::{self, Conflict};
use super::error::{ApiError, Reason, StatusCause, StatusDetails};
use super::fields::{FieldManagers, ManagerKey, Operation, display_path};
use super::identity::{check_apply_identity, check_identity, ensure_namespace_accepts, object_name};
use super::managed_fields;
use super::metadata::{self, meta_str};
use super::resources::ResourceType;
use super::store::{EventType, ObjectKey, Store, StoredObject};

/// The object a write addresses.
#[derive(Debug, Clone)]
pub(crate) struct Address<'a> {
    pub resource: &'a ResourceType,
    /// Namespace from the path; `None` for cluster-scoped types.
    pub namespace: Option<String>,
    pub name: String,
}

impl Address<'_> {
    /// Returns the store key.
    pub fn key(&self) -> ObjectKey {
        ObjectKey::new(self.resource, self.namespace.as_deref(), &self.name)
    }
}

/// Options every write carries.
#[derive(Debug, Clone)]
pub(crate) struct WriteOptions {
    /// The `fieldManager`, or the default the server derives from the user agent.
    pub manager: String,
    /// `dryRun=All`: compute and check, but store nothing.
    pub dry_run: bool,
    /// `force=true` on an apply.
    pub force: bool,
    /// Whether the write targets the `/status` subresource.
    pub status: bool,
}

/// The body of a PATCH request, by content type.
#[derive(Debug, Clone)]
pub(crate) enum PatchBody {
    /// `application/merge-patch+json`, and strategic merge patch treated the same way.
    Merge(Value),
    /// `application/json-patch+json`.
    Json(json_patch::Patch),
    /// `application/apply-patch+yaml` with a JSON body: server-side apply.
    Apply(Value),
}

/// The result of a write.
#[derive(Debug, Clone)]
pub(crate) struct Saved {
    /// The object as stored (or as it would be, for a dry run).
    pub object: Value,
    /// Whether the write created the object (201 instead of 200).
    pub created: bool,
}

/// Creates an object from a POST body. The name comes from `metadata.name` or `generateName`.
///
/// # Errors
///
/// 400 for a body that does not match the path, 422 for a missing or invalid name, 404 for a
/// missing namespace, 409 AlreadyExists.
pub(crate) fn create(
    store: &mut Store,
    resource: &ResourceType,
    namespace: Option<&str>,
    mut body: Value,
    options: &WriteOptions,
) -> Result<Saved, ApiError> {
    if meta_str(&body, "resourceVersion").is_some_and(|version| !version.is_empty()) {
        return Err(ApiError::bad_request("resourceVersion should not be set on objects to be created"));
    }
    let name = object_name(store, resource, &mut body)?;
    let address = Address { resource, namespace: namespace.map(str::to_string), name };
    create_at(store, &address, body, options)
}

fn create_at(
    store: &mut Store,
    address: &Address,
    mut object: Value,
    options: &WriteOptions,
) -> Result<Saved, ApiError> {
    check_identity(address, &mut object)?;
    metadata::validate_name(address.resource, &address.name)?;
    ensure_namespace_accepts(store, address)?;
    if store.get(&address.key()).is_some() {
        return Err(ApiError::already_exists(address.resource, &address.name));
    }

    if address.resource.status_subresource {
        remove_key(&mut object, "status");
    }
    metadata::apply_kind_defaults(address.resource, &mut object, None)?;

    let writer = ManagerKey::new(&options.manager, Operation::Update, false);
    let mut managers = FieldManagers::default();
    managers.record_update(writer.clone(), &json!({}), &object);
    save(store, address, None, object, Ownership { managers, writer }, options.dry_run)
}

/// Replaces an object (PUT), or only its status when `options.status` is set.
///
/// # Errors
///
/// 404 for a missing object (unless the type creates on update), 409 for a stale
/// `resourceVersion`, 422 for a missing one on types that require it.
pub(crate) fn replace(
    store: &mut Store,
    address: &Address,
    body: Value,
    options: &WriteOptions,
) -> Result<Saved, ApiError> {
    let Some(old) = store.get(&address.key()).cloned() else {
        if address.resource.allows_create_on_update && !options.status {
            if meta_str(&body, "resourceVersion").is_some() {
                return Err(ApiError::stale(address.resource, &address.name));
            }
            return create_at(store, address, body, options);
        }
        return Err(ApiError::not_found(address.resource, &address.name));
    };

    match meta_str(&body, "resourceVersion") {
        Some(version) if Some(version) != meta_str(&old.object, "resourceVersion") => {
            return Err(ApiError::stale(address.resource, &address.name));
        }
        None if !address.resource.allows_unconditional_update => {
            return Err(resource_version_required(address));
        }
        _ => {}
    }
    finish_update(store, address, old, body, options)
}

/// 422 for a PUT without `resourceVersion`. The real server names the resource, not the kind, here.
fn resource_version_required(address: &Address) -> ApiError {
    let mut error = ApiError::invalid(
        address.resource,
        &address.name,
        "metadata.resourceVersion",
        "Invalid value: 0x0: must be specified for an update",
    );
    error.message = format!(
        "{} \"{}\" is invalid: metadata.resourceVersion: Invalid value: 0x0: must be specified for an update",
        address.resource.qualified_plural(),
        address.name
    );
    if let Some(details) = &mut error.details {
        details.kind = address.resource.plural.clone();
    }
    error
}

/// Patches an object (or its status) with a merge patch, a JSON patch or an apply.
///
/// # Errors
///
/// 404 for a missing object (an apply creates it instead), 409 when a `resourceVersion` in the
/// patch is stale or an apply conflicts, 422 for a JSON patch that does not apply.
pub(crate) fn patch(
    store: &mut Store,
    address: &Address,
    body: PatchBody,
    options: &WriteOptions,
) -> Result<Saved, ApiError> {
    let (merge_document, json_operations) = match body {
        PatchBody::Apply(config) => return apply_config(store, address, config, options),
        PatchBody::Merge(document) => (Some(document), None),
        PatchBody::Json(operations) => (None, Some(operations)),
    };
    let old = store.get(&address.key()).cloned().ok_or_else(|| ApiError::not_found(address.resource, &address.name))?;

    let mut patched = old.object.clone();
    if let Some(document) = merge_document {
        json_patch::merge(&mut patched, &document);
    }
    if let Some(operations) = json_operations {
        json_patch::patch(&mut patched, &operations).map_err(|error| {
            ApiError::new(
                Reason::Invalid,
                422,
                format!("the server rejected our request due to an error in our request: {error}"),
            )
        })?;
    }

    // A resourceVersion that the patch sets is a precondition on the stored version.
    let patched_version = meta_str(&patched, "resourceVersion");
    if patched_version.is_some_and(|version| Some(version) != meta_str(&old.object, "resourceVersion")) {
        return Err(ApiError::stale(address.resource, &address.name));
    }
    finish_update(store, address, old, patched, options)
}

/// Replaces the status of a stored object, as an unconditional PUT to `/status` by `manager` would.
///
/// # Errors
///
/// 404 for a missing object.
pub(crate) fn write_status(
    store: &mut Store,
    address: &Address,
    status: Value,
    manager: &str,
) -> Result<Saved, ApiError> {
    let old = store.get(&address.key()).cloned().ok_or_else(|| ApiError::not_found(address.resource, &address.name))?;
    let options = WriteOptions { manager: manager.to_string(), dry_run: false, force: false, status: true };
    finish_update(store, address, old, json!({"status": status}), &options)
}

/// Finishes a PUT or non-apply PATCH: keeps what the target may not change, records
/// ownership and saves.
fn finish_update(
    store: &mut Store,
    address: &Address,
    old: StoredObject,
    mut new: Value,
    options: &WriteOptions,
) -> Result<Saved, ApiError> {
    check_identity(address, &mut new)?;
    let new = if options.status {
        with_status_of(&old.object, &new)
    } else {
        keep_stored_status(address.resource, &old.object, new)
    };
    let new = check_main_write(address, &old.object, new, options.status)?;

    let writer = ManagerKey::new(&options.manager, Operation::Update, options.status);
    let mut managers = old.managers.clone();
    managers.record_update(writer.clone(), &old.object, &new);
    save(store, address, Some(&old), new, Ownership { managers, writer }, options.dry_run)
}

/// Applies the kind defaults and the finalizer rule to writes of the main resource.
fn check_main_write(address: &Address, old: &Value, mut new: Value, status: bool) -> Result<Value, ApiError> {
    if status {
        return Ok(new);
    }
    metadata::apply_kind_defaults(address.resource, &mut new, Some(old))?;
    if metadata::is_deleting(old) {
        let existing = metadata::finalizers(old);
        let added: Vec<String> = metadata::finalizers(&new).into_iter().filter(|f| !existing.contains(f)).collect();
        if !added.is_empty() {
            let message = format!(
                "Forbidden: no new finalizers can be added if the object is being deleted, found new finalizers {added:?}"
            );
            return Err(ApiError::invalid(address.resource, &address.name, "metadata.finalizers", &message));
        }
    }
    Ok(new)
}

/// Server-side apply of `config` to the main resource or, with `options.status`, to `/status`.
fn apply_config(
    store: &mut Store,
    address: &Address,
    config: Value,
    options: &WriteOptions,
) -> Result<Saved, ApiError> {
    check_apply_identity(address, &config)?;
    let old = store.get(&address.key()).cloned();
    let stored_version = old.as_ref().and_then(|old| meta_str(&old.object, "resourceVersion"));
    if meta_str(&config, "resourceVersion").is_some_and(|version| Some(version) != stored_version) {
        return Err(ApiError::stale(address.resource, &address.name));
    }
    if old.is_none() {
        if options.status {
            return Err(ApiError::not_found(address.resource, &address.name));
        }
        metadata::validate_name(address.resource, &address.name)?;
        ensure_namespace_accepts(store, address)?;
    }

    let base = old.as_ref().map_or_else(|| skeleton(address), |old| old.object.clone());
    let managers = old.as_ref().map(|old| old.managers.clone()).unwrap_or_default();
    let scoped = scope_config(address.resource, config, options.status);
    let applier = ManagerKey::new(&options.manager, Operation::Apply, options.status);
    let applied = apply::apply(&base, &managers, &scoped, &applier, options.force)
        .map_err(|conflicts| conflict_error(address, &conflicts))?;

    let mut object = applied.object;
    check_identity(address, &mut object)?;
    let object = match &old {
        Some(old) => check_main_write(address, &old.object, object, options.status)?,
        None => {
            metadata::apply_kind_defaults(address.resource, &mut object, None)?;
            object
        }
    };
    let ownership = Ownership { managers: applied.managers, writer: applier };
    save(store, address, old.as_ref(), object, ownership, options.dry_run)
}

/// Limits an applied configuration to what the target may change: only `status` on
/// `/status`, everything but `status` on the main resource of a type with a status subresource.
fn scope_config(resource: &ResourceType, mut config: Value, status: bool) -> Value {
    if status {
        let status_value = config.get("status").cloned();
        return status_value.map_or_else(|| json!({}), |value| json!({"status": value}));
    }
    if resource.status_subresource {
        remove_key(&mut config, "status");
    }
    config
}

/// Builds the identity fields of an object that an apply creates.
fn skeleton(address: &Address) -> Value {
    let mut object = json!({
        "apiVersion": address.resource.api_version(),
        "kind": address.resource.kind,
        "metadata": {"name": address.name},
    });
    if let Some(namespace) = &address.namespace {
        object["metadata"]["namespace"] = Value::String(namespace.clone());
    }
    object
}

/// 409 Conflict listing each field another manager owns, with `FieldManagerConflict` causes.
fn conflict_error(address: &Address, conflicts: &[Conflict]) -> ApiError {
    let api_version = address.resource.api_version();
    let causes: Vec<StatusCause> = conflicts
        .iter()
        .map(|conflict| StatusCause {
            reason: "FieldManagerConflict".to_string(),
            message: format!("conflict with {}", describe_owner(&conflict.owner, &api_version)),
            field: display_path(&conflict.path),
        })
        .collect();

    let message = conflict_message(conflicts, &api_version);

    let details = StatusDetails {
        name: address.name.clone(),
        group: address.resource.group.clone(),
        kind: address.resource.plural.clone(),
        causes,
    };
    ApiError::new(Reason::Conflict, 409, message).with_details(details)
}

/// Formats the conflict message as the real server does: one line for one conflict, else the
/// paths grouped under each owner (owners sorted), one `- path` line each.
fn conflict_message(conflicts: &[Conflict], api_version: &str) -> String {
    if let [only] = conflicts {
        let owner = describe_owner(&only.owner, api_version);
        return format!("Apply failed with 1 conflict: conflict with {owner}: {}", display_path(&only.path));
    }
    let mut by_owner: BTreeMap<String, Vec<String>> = BTreeMap::new();
    for conflict in conflicts {
        let owner = describe_owner(&conflict.owner, api_version);
        by_owner.entry(owner).or_default().push(display_path(&conflict.path));
    }
    let mut lines = Vec::new();
    for (owner, paths) in by_owner {
        lines.push(format!("conflicts with {owner}:"));
        lines.extend(paths.iter().map(|path| format!("- {path}")));
    }
    format!("Apply failed with {} conflicts: {}", conflicts.len(), lines.join("\n"))
}

/// Names an ownership entry as the real server does in conflicts: `"tether"` for an apply,
/// `"tether" using v1` for another write, with the subresource where there is one.
fn describe_owner(owner: &ManagerKey, api_version: &str) -> String {
    let mut text = format!("{:?}", owner.manager);
    if owner.status {
        text.push_str(" with subresource \"status\"");
    }
    if owner.operation == Operation::Update {
        text.push_str(&format!(" using {api_version}"));
    }
    text
}

/// Returns `old` with the status of `new`: a `/status` write changes nothing else.
fn with_status_of(old: &Value, new: &Value) -> Value {
    let mut object = old.clone();
    match new.get("status") {
        Some(status) => object["status"] = status.clone(),
        None => remove_key(&mut object, "status"),
    }
    object
}

/// Puts the stored status back into a main-resource write of a type with a status subresource.
fn keep_stored_status(resource: &ResourceType, old: &Value, mut new: Value) -> Value {
    if resource.status_subresource {
        match old.get("status") {
            Some(status) => new["status"] = status.clone(),
            None => remove_key(&mut new, "status"),
        }
    }
    new
}

fn remove_key(object: &mut Value, key: &str) {
    if let Some(map) = object.as_object_mut() {
        map.remove(key);
    }
}

/// Field ownership after a write, and the entry of the manager that made it.
pub(crate) struct Ownership {
    pub managers: FieldManagers,
    pub writer: ManagerKey,
}

/// Saves a write. This last step, shared by all writes, sets server metadata, `managedFields`
/// and generation, detects no-ops and dry runs, removes an object whose last finalizer is gone,
/// and stores.
pub(crate) fn save(
    store: &mut Store,
    address: &Address,
    old: Option<&StoredObject>,
    mut object: Value,
    ownership: Ownership,
    dry_run: bool,
) -> Result<Saved, ApiError> {
    let Ownership { managers, writer } = ownership;
    let old_object = old.map(|old| &old.object);
    let now = metadata::now();
    metadata::carry_server_metadata(old_object, &mut object);
    metadata::set_generation(address.resource, old_object, &mut object);
    managed_fields::set(&mut object, &managers, &address.resource.api_version(), old_object, &now);
    if let Some(old) = old.filter(|old| old.object == object && old.managers == managers) {
        return Ok(Saved { object: old.object.clone(), created: false });
    }
    managed_fields::stamp_writer(&mut object, &writer, &now);

    let created = old.is_none();
    if created {
        let metadata = metadata::metadata_mut(&mut object);
        metadata.insert("uid".to_string(), Value::String(store.next_uid()));
        metadata.insert("creationTimestamp".to_string(), Value::String(metadata::now()));
    }
    if dry_run {
        return Ok(Saved { object, created });
    }

    let key = address.key();
    if metadata::is_deleting(&object) && metadata::finalizers(&object).is_empty() && !has_content(store, &key) {
        let object = store.remove(&key, object);
        super::deletes::finish_namespace(store, &key.namespace);
        return Ok(Saved { object, created });
    }
    let event_type = if created { EventType::Added } else { EventType::Modified };
    let object = store.put(key, StoredObject { object, managers }, event_type);
    Ok(Saved { object, created })
}

/// Tests whether `key` is a Namespace that still contains objects.
fn has_content(store: &Store, key: &ObjectKey) -> bool {
    key.resource == "namespaces" && !store.keys_in_namespace(&key.name).is_empty()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn conflict(manager: &str, operation: Operation, path: &str) -> Conflict {
        Conflict {
            owner: ManagerKey::new(manager, operation, false),
            path: path.split('.').map(str::to_string).collect(),
        }
    }

    #[test]
    fn one_conflict_message() {
        let conflicts = [conflict("tether", Operation::Apply, "spec.a")];
        assert_eq!(
            conflict_message(&conflicts, "v1"),
            "Apply failed with 1 conflict: conflict with \"tether\": .spec.a"
        );
    }

    #[test]
    fn conflicts_grouped_by_owner() {
        let conflicts = [
            conflict("tether", Operation::Apply, "spec.a"),
            conflict("creator", Operation::Update, "spec.b"),
            conflict("tether", Operation::Apply, "spec.c"),
        ];
        let expected = "Apply failed with 3 conflicts: conflicts with \"creator\" using v1:\n- .spec.b\nconflicts with \"tether\":\n- .spec.a\n- .spec.c";
        assert_eq!(conflict_message(&conflicts, "v1"), expected);
    }
}
