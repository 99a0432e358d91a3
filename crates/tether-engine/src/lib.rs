//! The async executor, the `Provider` and `StateStore` traits, the local state store and state locks.

mod apply;
mod history;
mod local_lock;
mod lock;
mod provider;
mod state_store;
mod walk;

pub use apply::{
    ApplyEvent, ApplyFailure, ApplyObserver, ApplyOptions, ApplyReport, ChangeError, NoProgress, Providers, apply,
};
pub use history::{AuditRecord, AuditSummary, Outcome};
pub use lock::{LockError, LockHolder, LockInfo, StateLock, acquire_lock};
pub use provider::{Applied, ApplyRequest, DeleteRequest, ObserveScope, Provider, ProviderError};
pub use state_store::{LocalStateStore, StateError, StateStore, check_document_name};
pub use walk::{Interrupt, Stop};
