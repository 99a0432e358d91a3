//! The interface between the engine and a system it manages (AWS, the management cluster).

use async_trait::async_trait;
use tether_model::{Address, Attributes, ObservedResource, ProviderId, Resource, State};

/// A system whose resources tether reads and changes.
///
/// Each operation is an idempotent "ensure": calling it again after a partial failure
/// converges instead of duplicating. Retries of whole operations are the caller's policy.
#[async_trait]
pub trait Provider: Send + Sync {
    /// Returns the address prefix this provider owns.
    fn id(&self) -> ProviderId;

    /// Observes every resource that carries this environment's ownership marks, with one list
    /// call per kind, plus resources without marks that state or the desired graph identify
    /// (routes and route-table associations in AWS).
    ///
    /// # Errors
    /// Fails when any read fails. A failed or throttled read is an error, never an absent resource.
    async fn observe(&self, scope: &ObserveScope<'_>) -> Result<Vec<ObservedResource>, ProviderError>;

    /// Creates the resource and returns its identifier and attributes.
    ///
    /// # Errors
    /// Fails with the API's error when the resource cannot be created.
    async fn create(&self, request: &ApplyRequest<'_>) -> Result<Applied, ProviderError>;

    /// Changes an existing resource in place to match `request.attributes`.
    ///
    /// # Errors
    /// Fails with the API's error when the resource cannot be changed.
    async fn update(&self, request: &ApplyRequest<'_>) -> Result<Applied, ProviderError>;

    /// Deletes the resource. Deleting one that is already gone succeeds.
    ///
    /// # Errors
    /// Fails with the API's error when the resource cannot be deleted.
    async fn delete(&self, request: &DeleteRequest<'_>) -> Result<(), ProviderError>;
}

/// What a provider observes.
#[derive(Debug, Clone, Copy)]
pub struct ObserveScope<'a> {
    /// The environment's name; ownership marks carry it.
    pub environment: &'a str,
    /// Desired resources of this provider, references unresolved.
    pub desired: &'a [Resource],
    /// tether's record of what it applied, for resources that carry no marks.
    pub state: &'a State,
}

/// A create or an update of one resource.
#[derive(Debug, Clone, Copy)]
pub struct ApplyRequest<'a> {
    /// The environment's name.
    pub environment: &'a str,
    /// The resource's address.
    pub address: &'a Address,
    /// The existing resource's identifier; `None` for a create.
    pub id: Option<&'a str>,
    /// Desired attributes with every reference resolved.
    pub attributes: &'a Attributes,
    /// Observed attributes before the change; `None` for a create.
    pub before: Option<&'a Attributes>,
}

/// A delete of one resource.
#[derive(Debug, Clone, Copy)]
pub struct DeleteRequest<'a> {
    /// The environment's name.
    pub environment: &'a str,
    /// The resource's address.
    pub address: &'a Address,
    /// The resource's identifier.
    pub id: &'a str,
    /// The last known attributes (observed, or from state).
    pub attributes: &'a Attributes,
}

/// The result of a create or update.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Applied {
    /// The provider's identifier, e.g. `subnet-0a1b…` or `hcp-ai/ai`.
    pub id: String,
    /// The attributes as applied, recorded in state.
    pub attributes: Attributes,
}

/// A failed provider call.
///
/// The message names the operation; the API's own error is the source, so it is not repeated.
#[derive(Debug, thiserror::Error)]
#[error("{operation} failed")]
pub struct ProviderError {
    /// The operation attempted, e.g. `CreateSubnet` or `server-side apply of hcp-ai/ai`.
    pub operation: String,
    /// True for throttling, timeouts and server errors that a later attempt may get past.
    pub retryable: bool,
    /// The API's error.
    #[source]
    pub source: Box<dyn std::error::Error + Send + Sync>,
}

impl ProviderError {
    /// Creates an error that a retry will not fix.
    pub fn permanent(
        operation: impl Into<String>,
        source: impl Into<Box<dyn std::error::Error + Send + Sync>>,
    ) -> ProviderError {
        ProviderError { operation: operation.into(), retryable: false, source: source.into() }
    }

    /// Creates an error that a later attempt may get past.
    pub fn retryable(
        operation: impl Into<String>,
        source: impl Into<Box<dyn std::error::Error + Send + Sync>>,
    ) -> ProviderError {
        ProviderError { operation: operation.into(), retryable: true, source: source.into() }
    }
}
