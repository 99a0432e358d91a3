//! Kubernetes test API server: an in-memory API server on 127.0.0.1 that the real kube client
//! and kubectl reach through a generated kubeconfig.
//!
//! It serves the subset of the API that tether uses, with the real server's semantics:
//!
//! - `/version` and legacy discovery (`/api`, `/apis`, groups, resource lists with short names,
//!   verbs, scope and `<plural>/status` entries);
//! - get, list, create, replace, patch, delete and delete-collection for namespaced and
//!   cluster-scoped types, with 201 on create and standard `Status` error bodies;
//! - server-set metadata: `uid`, `creationTimestamp`, one `resourceVersion` counter (a no-op
//!   write keeps the version), `generation` bumps on changes outside metadata and status;
//! - optimistic concurrency: 409 on a stale PUT or a stale `resourceVersion` in a patch, 422 on
//!   a PUT without `resourceVersion` for types that require it, delete preconditions;
//! - label selectors (`=`, `==`, `!=`, `in`, `notin`, exists, `!exists`) and field selectors on
//!   `metadata.name` and `metadata.namespace`;
//! - server-side apply with field managers and `metadata.managedFields`, merge patch, JSON
//!   patch, `dryRun=All`;
//! - the `status` subresource, finalizers with `deletionTimestamp`, Namespace lifecycle
//!   (404 when creating in a missing namespace), Secret `stringData`;
//! - watch with replay from a `resourceVersion`, `timeoutSeconds` and selectors.
//!
//! More types can be served through [`KubeTestServer::builder`] and [`ResourceType`].
//! Tests can also play HyperShift ([`KubeTestServer::set_status`],
//! [`KubeTestServer::mark_hosted_cluster_available`]), inject faults ([`Fault`]) and count
//! requests ([`KubeTestServer::requests`]).
//!
//! # Simplifications
//!
//! These are deliberate. A test must not rely on behaviour the server only approximates here:
//!
//! - **No schema.** Custom resources are not validated, pruned or defaulted against their CRD,
//!   and built-in types are stored as sent (apart from the Namespace and Secret defaults).
//! - **Server-side apply is simplified.** Maps merge key by key. Every list is atomic and
//!   replaced whole, including lists that the real server merges by key (`conditions`,
//!   `ports`) or as a set (`finalizers`). `null` in an applied configuration is ignored. A
//!   dropped field is removed with the maps it leaves empty, but top-level fields such as
//!   `spec` stay.
//! - **`managedFields` is a subset.** Objects carry one entry per manager, operation and
//!   subresource. Because lists are atomic, `fieldsV1` has only `f:` and `.` members and
//!   names a list as one field. A `managedFields` sent in a request body is ignored.
//! - **Strategic merge patch is a JSON merge patch**, so it replaces lists whole.
//! - **Non-apply writes own fields**, as on a real cluster. POST, PUT and patches make their
//!   manager owner of every field they change. That manager is the `fieldManager`, else the
//!   user agent up to its first `/`. An apply that changes such a field conflicts.
//! - **Deletes** ignore grace periods and propagation policies, and no garbage collector follows
//!   `ownerReferences`. Deleting a Namespace deletes its objects at once. The Namespace stays
//!   (phase `Terminating`) only while objects with finalizers or its own finalizers remain.
//! - **Lists** return everything in one page: `limit` and `continue` are ignored, as is
//!   `resourceVersion` on a list (always the latest).
//! - **Watch** sends no bookmarks, keeps the last 10,000 events for replay (older versions get
//!   410 Expired), and ends after `timeoutSeconds` (30 minutes by default).
//! - **One version per type.** A type is served at exactly one group version, so there is no
//!   conversion. There is no aggregated discovery and no Table output (kubectl prints NAME and
//!   AGE).
//! - **OpenAPI v3 is a stub.** It only declares that PATCH takes `fieldValidation`, so kubectl
//!   leaves validation to the server, which ignores `fieldValidation=Strict`. There is no
//!   `/openapi/v2`.
//! - **JSON only.** Bodies in protobuf get 415, so kubectl's typed generators
//!   (`kubectl create configmap|secret|namespace NAME`) fail. `kubectl create -f` and
//!   `kubectl apply -f` send JSON and work.
//! - **No authentication or authorization.** Any token is accepted.
//! - **Initial namespaces.** The server starts with `default`, `kube-system`, `kube-public` and
//!   `kube-node-lease`, as a new cluster does. Their creation took `resourceVersion` 1 to 4.

mod apply;
mod deletes;
mod discovery;
mod error;
mod faults;
mod fields;
mod handlers;
mod hypershift;
mod identity;
mod managed_fields;
mod metadata;
mod openapi;
mod params;
mod path;
mod resources;
mod router;
mod selector;
mod server;
mod store;
mod watch;
mod writes;

pub use error::{ApiError, Reason, StatusCause, StatusDetails};
pub use faults::{Fault, FaultEffect, RecordedRequest};
pub use hypershift::HostedClusterPlay;
pub use resources::{ResourceTable, ResourceType};
pub use server::{KubeTestServer, KubeTestServerBuilder};
