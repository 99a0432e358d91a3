//! The verbs of collections, objects and `status` subresources: request decoding, the call
//! into the store, and the response.

use axum::body::Bytes;
use axum::http::request::Parts;
use axum::http::{Method, header};
use axum::response::Response;
use serde_json::{Value, json};

use super::deletes::{self, DeleteOptions, Deleted};
use super::error::{ApiError, Reason, delete_success, json_response};
use super::params::{Params, parse_dry_run};
use super::path::ResourcePath;
use super::resources::ResourceType;
use super::router::ServerState;
use super::selector::FieldSelector;
use super::store::ObjectKey;
use super::watch;
use super::writes::{self, Address, PatchBody, Saved, WriteOptions};

/// Serves a request below a group version.
///
/// # Errors
///
/// 404 for an unknown resource or a path of the wrong scope, 405 for an unsupported verb, and
/// whatever the store operation returns.
pub(crate) fn serve_resource(
    state: &ServerState,
    parts: &Parts,
    path: ResourcePath,
    body: Bytes,
) -> Result<Response, ApiError> {
    let (resource, status) = resolve(state, &path)?;
    let params = Params::parse(&parts.uri)?;
    let namespace = path.namespace.as_deref();
    let Some(name) = path.name.clone() else {
        // Across all namespaces, a namespaced type can only be listed or watched.
        let all_namespaces = resource.namespaced && namespace.is_none();
        if all_namespaces && parts.method != Method::GET {
            return Err(ApiError::method_not_allowed(parts.method.as_str()));
        }
        return match parts.method {
            Method::GET if params.watch => watch::serve(state, resource, namespace, params),
            Method::GET => Ok(list(state, resource, namespace, &params)),
            Method::POST => create(state, resource, namespace, parts, &body, &params),
            Method::DELETE => delete_collection(state, resource, namespace, &body, &params),
            _ => Err(ApiError::method_not_allowed(parts.method.as_str())),
        };
    };

    let address = Address { resource, namespace: path.namespace.clone(), name };
    match parts.method {
        Method::GET if params.watch && !status => {
            // A watch on an object path is a collection watch limited to that name.
            let by_name = FieldSelector::name(&address.name);
            let field_selector = params.field_selector.clone().and(by_name);
            let params = Params { field_selector, ..params };
            watch::serve(state, resource, namespace, params)
        }
        Method::GET => get(state, &address),
        Method::PUT => replace(state, &address, parts, &body, &params, status),
        Method::PATCH => patch(state, &address, parts, &body, &params, status),
        Method::DELETE if !status => delete(state, &address, &body, &params),
        _ => Err(ApiError::method_not_allowed(parts.method.as_str())),
    }
}

/// Finds the served type of a path and whether the path targets its `status` subresource.
fn resolve<'a>(state: &'a ServerState, path: &ResourcePath) -> Result<(&'a ResourceType, bool), ApiError> {
    let resource =
        state.resources.by_path(&path.group, &path.version, &path.plural).ok_or_else(ApiError::unknown_path)?;
    let wrong_scope =
        if resource.namespaced { path.name.is_some() && path.namespace.is_none() } else { path.namespace.is_some() };
    if wrong_scope {
        return Err(ApiError::unknown_path());
    }

    match path.subresource.as_deref() {
        None => Ok((resource, false)),
        Some("status") if resource.status_subresource => Ok((resource, true)),
        Some(_) => Err(ApiError::unknown_path()),
    }
}

fn list(state: &ServerState, resource: &ResourceType, namespace: Option<&str>, params: &Params) -> Response {
    let store = state.store();
    let qualified = resource.qualified_plural();
    let items: Vec<Value> = store
        .list(&qualified, namespace)
        .filter(|stored| params.label_selector.matches(&stored.object) && params.field_selector.matches(&stored.object))
        .map(|stored| stored.object.clone())
        .collect();
    json_response(200, &list_body(resource, store.resource_version(), items))
}

fn list_body(resource: &ResourceType, resource_version: u64, items: Vec<Value>) -> Value {
    json!({
        "apiVersion": resource.api_version(),
        "kind": resource.list_kind(),
        "metadata": {"resourceVersion": resource_version.to_string()},
        "items": items,
    })
}

fn get(state: &ServerState, address: &Address) -> Result<Response, ApiError> {
    let store = state.store();
    let stored = store.get(&address.key()).ok_or_else(|| ApiError::not_found(address.resource, &address.name))?;
    Ok(json_response(200, &stored.object))
}

fn create(
    state: &ServerState,
    resource: &ResourceType,
    namespace: Option<&str>,
    parts: &Parts,
    body: &Bytes,
    params: &Params,
) -> Result<Response, ApiError> {
    let object = json_body(parts, body)?;
    let options = write_options(parts, params, false);
    let saved = writes::create(&mut state.store(), resource, namespace, object, &options)?;
    Ok(saved_response(saved))
}

fn replace(
    state: &ServerState,
    address: &Address,
    parts: &Parts,
    body: &Bytes,
    params: &Params,
    status: bool,
) -> Result<Response, ApiError> {
    let object = json_body(parts, body)?;
    let options = write_options(parts, params, status);
    let saved = writes::replace(&mut state.store(), address, object, &options)?;
    Ok(saved_response(saved))
}

fn patch(
    state: &ServerState,
    address: &Address,
    parts: &Parts,
    body: &Bytes,
    params: &Params,
    status: bool,
) -> Result<Response, ApiError> {
    let patch = patch_body(parts, body)?;
    let is_apply = matches!(patch, PatchBody::Apply(_));
    if is_apply && params.field_manager.as_deref().is_none_or(str::is_empty) {
        return Err(patch_options_invalid("fieldManager: Required value: is required for apply patch"));
    }
    if !is_apply && params.force {
        return Err(patch_options_invalid("force: Forbidden: may not be specified for non-apply patch"));
    }

    let options = write_options(parts, params, status);
    let saved = writes::patch(&mut state.store(), address, patch, &options)?;
    Ok(saved_response(saved))
}

fn patch_options_invalid(detail: &str) -> ApiError {
    ApiError::new(Reason::Invalid, 422, format!("PatchOptions.meta.k8s.io \"\" is invalid: {detail}"))
}

fn delete(state: &ServerState, address: &Address, body: &Bytes, params: &Params) -> Result<Response, ApiError> {
    let options = delete_options(body, params)?;
    let deleted = deletes::delete(&mut state.store(), address, &options)?;
    Ok(match deleted {
        Deleted::Removed { uid } => json_response(200, &delete_success(address.resource, &address.name, &uid)),
        Deleted::Pending(object) => json_response(200, &object),
    })
}

/// Deletes every object of a collection that the selectors match; responds with their last states.
fn delete_collection(
    state: &ServerState,
    resource: &ResourceType,
    namespace: Option<&str>,
    body: &Bytes,
    params: &Params,
) -> Result<Response, ApiError> {
    let options = delete_options(body, params)?;
    let mut store = state.store();
    let qualified = resource.qualified_plural();
    let targets: Vec<(ObjectKey, Value)> = store
        .list(&qualified, namespace)
        .filter(|stored| params.label_selector.matches(&stored.object) && params.field_selector.matches(&stored.object))
        .map(|stored| {
            (ObjectKey::new(resource, namespace_of(&stored.object), name_of(&stored.object)), stored.object.clone())
        })
        .collect();

    let mut items = Vec::new();
    for (key, object) in targets {
        let namespace = Some(key.namespace).filter(|namespace| !namespace.is_empty());
        let address = Address { resource, namespace, name: key.name };
        match deletes::delete(&mut store, &address, &options)? {
            Deleted::Removed { .. } => items.push(object),
            Deleted::Pending(pending) => items.push(pending),
        }
    }
    Ok(json_response(200, &list_body(resource, store.resource_version(), items)))
}

fn namespace_of(object: &Value) -> Option<&str> {
    object.pointer("/metadata/namespace").and_then(Value::as_str)
}

fn name_of(object: &Value) -> &str {
    object.pointer("/metadata/name").and_then(Value::as_str).unwrap_or_default()
}

/// Reads `DeleteOptions` from the body (kube sends one with every delete) and `dryRun` from the query.
fn delete_options(body: &Bytes, params: &Params) -> Result<DeleteOptions, ApiError> {
    let mut options = DeleteOptions { dry_run: params.dry_run, ..DeleteOptions::default() };
    if body.iter().all(u8::is_ascii_whitespace) {
        return Ok(options);
    }
    let document: Value = serde_json::from_slice(body)
        .map_err(|error| ApiError::bad_request(format!("DeleteOptions is not valid JSON: {error}")))?;
    let precondition =
        |field: &str| document.pointer(&format!("/preconditions/{field}")).and_then(Value::as_str).map(str::to_string);
    options.uid = precondition("uid");
    options.resource_version = precondition("resourceVersion");
    for mode in document.get("dryRun").and_then(Value::as_array).into_iter().flatten() {
        options.dry_run |= parse_dry_run(mode.as_str().unwrap_or_default())?;
    }
    Ok(options)
}

fn write_options(parts: &Parts, params: &Params, status: bool) -> WriteOptions {
    WriteOptions {
        manager: params.field_manager.clone().unwrap_or_else(|| default_manager(parts)),
        dry_run: params.dry_run,
        force: params.force,
        status,
    }
}

/// Returns the manager of a write without `fieldManager`: the user agent up to its first `/`, as the
/// real server derives it.
fn default_manager(parts: &Parts) -> String {
    let agent = parts.headers.get(header::USER_AGENT).and_then(|value| value.to_str().ok()).unwrap_or_default();
    let prefix = agent.split('/').next().unwrap_or_default();
    if prefix.is_empty() { "unknown".to_string() } else { prefix.to_string() }
}

fn saved_response(saved: Saved) -> Response {
    json_response(if saved.created { 201 } else { 200 }, &saved.object)
}

/// Returns the media type of the body without parameters, lowercased; empty when absent.
fn media_type(parts: &Parts) -> String {
    let value = parts.headers.get(header::CONTENT_TYPE).and_then(|value| value.to_str().ok()).unwrap_or_default();
    value.split(';').next().unwrap_or_default().trim().to_ascii_lowercase()
}

/// Decodes a POST or PUT body, which must be JSON.
fn json_body(parts: &Parts, body: &Bytes) -> Result<Value, ApiError> {
    let media = media_type(parts);
    if !media.is_empty() && media != "application/json" {
        return Err(ApiError::unsupported_media_type(&media));
    }
    parse_json(body)
}

fn parse_json(body: &Bytes) -> Result<Value, ApiError> {
    serde_json::from_slice(body)
        .map_err(|error| ApiError::bad_request(format!("the request body is not valid JSON: {error}")))
}

/// Decodes a PATCH body by content type. Apply bodies must be JSON, which kube and kubectl send.
fn patch_body(parts: &Parts, body: &Bytes) -> Result<PatchBody, ApiError> {
    let media = media_type(parts);
    match media.as_str() {
        "application/merge-patch+json" | "application/strategic-merge-patch+json" => {
            Ok(PatchBody::Merge(parse_json(body)?))
        }
        "application/json-patch+json" => serde_json::from_slice(body)
            .map(PatchBody::Json)
            .map_err(|error| ApiError::bad_request(format!("the JSON patch is malformed: {error}"))),
        "application/apply-patch+yaml" => Ok(PatchBody::Apply(parse_json(body)?)),
        _ => Err(ApiError::unsupported_media_type(&media)),
    }
}
