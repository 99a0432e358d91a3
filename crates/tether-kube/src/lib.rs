//! Management-cluster provider over kube and k8s-openapi with server-side apply.
//!
//! [`TetherKube`] implements the engine's `Provider` for addresses `cluster.<kind>.<name>`.
//! A resource's attributes are the whole Kubernetes object (`apiVersion`, `kind`, `metadata`,
//! `spec`, `data`, `type`), and any kind the server serves works, built-in or custom.
//!
//! - Observe lists each kind once across all namespaces with tether's label selector and maps
//!   objects to addresses by the `tether.dev/address` annotation.
//! - Create and update are one server-side apply with field manager `tether` and force.
//! - Delete removes only objects that carry tether's labels, with background propagation.
//!
//! Secret `data` values are `Value::Sensitive` both ways and never reach logs or errors.

mod apply;
mod client;
mod delete;
mod discover;
mod discovery;
mod error;
mod history;
mod hosted;
mod lease;
mod object;
mod observe;
mod provider;
mod readiness;
mod retry;
mod secrets;
mod state_store;

pub use apply::FIELD_MANAGER;
pub use client::{ClientTimeouts, ConnectError, KubeOptions, TetherKube};
pub use discover::FoundObject;
pub use error::KubeError;
pub use history::{HISTORY_LABEL, History, HistoryError};
pub use hosted::{HostedError, HostedTarget, TetherHosted};
pub use lease::{LEASE_DURATION, LOCK_ANNOTATION};
pub use object::{ADDRESS_ANNOTATION, ENVIRONMENT_LABEL, KindRef, MANAGED_BY_LABEL, MANAGED_BY_VALUE};
pub use readiness::{ReadinessTarget, ReadyKind, WaitError, not_ready_reason};
pub use retry::RetrySettings;
pub use state_store::{DEFAULT_CHUNK_BYTES, KubeStateStore, STATE_LABEL};
