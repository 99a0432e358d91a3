//! The HTTP entry point: request log, fault injection, and routing of each path to discovery
//! or to the resource handlers.

use std::net::SocketAddr;
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};

use axum::Router;
use axum::body::{Body, Bytes};
use axum::extract::{Request, State};
use axum::http::Method;
use axum::http::request::Parts;
use axum::response::{IntoResponse, Response};
use tokio::sync::watch;

use super::discovery;
use super::error::{ApiError, Reason, json_response};
use super::faults::{self, Fault, FaultEffect, RecordedRequest};
use super::handlers;
use super::openapi;
use super::params::Params;
use super::path::{ApiPath, parse_path};
use super::resources::ResourceTable;
use super::store::Store;
use super::writes::{self, WriteOptions};

/// The largest request body accepted, as on the real API server (3 MiB).
const MAX_BODY_BYTES: usize = 3 * 1024 * 1024;

/// Namespaces every real cluster starts with.
const INITIAL_NAMESPACES: [&str; 4] = ["default", "kube-system", "kube-public", "kube-node-lease"];

/// Everything the request handlers share.
#[derive(Debug)]
pub(crate) struct ServerState {
    pub resources: ResourceTable,
    pub store: Mutex<Store>,
    pub faults: Mutex<Vec<Fault>>,
    pub requests: Mutex<Vec<RecordedRequest>>,
    /// Turns true when the server stops; open watches end then.
    pub shutdown: watch::Receiver<bool>,
    /// The bound address, reported by `/api`.
    pub address: SocketAddr,
}

impl ServerState {
    /// Builds the state with the namespaces a new cluster has, when Namespace is served.
    pub fn new(resources: ResourceTable, address: SocketAddr, shutdown: watch::Receiver<bool>) -> ServerState {
        let mut store = Store::default();
        if let Some(namespace_type) = resources.namespace_type() {
            let options =
                WriteOptions { manager: "kube-apiserver".to_string(), dry_run: false, force: false, status: false };
            for name in INITIAL_NAMESPACES {
                let body = serde_json::json!({"metadata": {"name": name}});
                if let Err(error) = writes::create(&mut store, namespace_type, None, body, &options) {
                    tracing::error!(%error, namespace = name, "failed to create an initial namespace");
                }
            }
        }
        ServerState {
            resources,
            store: Mutex::new(store),
            faults: Mutex::new(Vec::new()),
            requests: Mutex::new(Vec::new()),
            shutdown,
            address,
        }
    }

    /// Locks the store. A handler that panicked leaves the store as it was before its write
    /// (writes are computed on copies), so a poisoned lock is still usable.
    pub fn store(&self) -> MutexGuard<'_, Store> {
        self.store.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

/// Locks a mutex, ignoring poisoning (the guarded lists stay valid after a panic).
pub(crate) fn lock<T>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    mutex.lock().unwrap_or_else(PoisonError::into_inner)
}

/// Builds the router: one fallback handler, because Kubernetes paths are parsed by hand.
pub(crate) fn router(state: Arc<ServerState>) -> Router {
    Router::new().fallback(handle).with_state(state)
}

async fn handle(State(state): State<Arc<ServerState>>, request: Request) -> Response {
    let (parts, body) = request.into_parts();
    let method = parts.method.as_str().to_string();
    let path = parts.uri.path().to_string();

    let effect = faults::take_fault(&mut lock(&state.faults), &method, &path);
    let faulted = effect.is_some();
    let response = match effect {
        Some(FaultEffect::Fail { code }) => faults::fault_response(code, None, &method, &path),
        Some(FaultEffect::Throttle { retry_after_seconds }) => {
            faults::fault_response(429, Some(retry_after_seconds), &method, &path)
        }
        Some(FaultEffect::Delay(duration)) => {
            tokio::time::sleep(duration).await;
            serve(&state, &parts, body).await
        }
        None => serve(&state, &parts, body).await,
    };

    let status = response.status().as_u16();
    tracing::debug!(%method, %path, query = parts.uri.query(), status, faulted, "served request");
    let field_manager = Params::parse(&parts.uri).ok().and_then(|params| params.field_manager);
    lock(&state.requests).push(RecordedRequest {
        method,
        path,
        query: parts.uri.query().map(str::to_string),
        field_manager,
        status,
        faulted,
    });
    response
}

async fn serve(state: &ServerState, parts: &Parts, body: Body) -> Response {
    let bytes = match axum::body::to_bytes(body, MAX_BODY_BYTES).await {
        Ok(bytes) => bytes,
        Err(error) => {
            let message = format!("the request body could not be read or exceeds {MAX_BODY_BYTES} bytes: {error}");
            return ApiError::new(Reason::RequestEntityTooLarge, 413, message).into_response();
        }
    };
    route(state, parts, bytes).unwrap_or_else(IntoResponse::into_response)
}

fn route(state: &ServerState, parts: &Parts, body: Bytes) -> Result<Response, ApiError> {
    let path = parse_path(parts.uri.path()).ok_or_else(ApiError::unknown_path)?;
    if let ApiPath::Resource(resource_path) = path {
        return handlers::serve_resource(state, parts, resource_path, body);
    }
    if parts.method != Method::GET {
        return Err(ApiError::method_not_allowed(parts.method.as_str()));
    }

    let document = match path {
        ApiPath::Version => discovery::version(),
        ApiPath::CoreVersions => discovery::core_versions(&state.resources, &state.address.to_string()),
        ApiPath::Groups => discovery::groups(&state.resources),
        ApiPath::Group(group) => discovery::group(&state.resources, &group)?,
        ApiPath::GroupVersion { group, version } => discovery::resource_list(&state.resources, &group, &version)?,
        ApiPath::OpenApiRoot => openapi::root(&state.resources),
        ApiPath::OpenApiGroupVersion { group, version } => openapi::group_version(&state.resources, &group, &version)?,
        ApiPath::Resource(_) => return Err(ApiError::unknown_path()),
    };
    Ok(json_response(200, &document))
}
