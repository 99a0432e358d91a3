//! The async executor, the `Provider` and `StateStore` traits, and the local state store.

mod apply;
mod provider;
mod state_store;

pub use apply::{
    ApplyEvent, ApplyFailure, ApplyObserver, ApplyOptions, ApplyReport, ChangeError, NoProgress, Providers, apply,
};
pub use provider::{Applied, ApplyRequest, DeleteRequest, ObserveScope, Provider, ProviderError};
pub use state_store::{LocalStateStore, StateError, StateStore};
