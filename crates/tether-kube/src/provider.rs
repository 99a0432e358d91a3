//! The `Provider` implementation: the engine's entry points, one per operation.

use async_trait::async_trait;
use tether_engine::{Applied, ApplyRequest, DeleteRequest, ObserveScope, Provider, ProviderError};
use tether_model::{ObservedResource, ProviderId};

use crate::client::TetherKube;

#[async_trait]
impl Provider for TetherKube {
    fn id(&self) -> ProviderId {
        ProviderId::Cluster
    }

    /// Lists each kind of the desired resources and the state once, across all namespaces, with
    /// the selector `app.kubernetes.io/managed-by=tether,tether.dev/environment=<environment>`.
    async fn observe(&self, scope: &ObserveScope<'_>) -> Result<Vec<ObservedResource>, ProviderError> {
        self.observe_owned(scope).await
    }

    async fn create(&self, request: &ApplyRequest<'_>) -> Result<Applied, ProviderError> {
        self.apply(request, "create").await
    }

    async fn update(&self, request: &ApplyRequest<'_>) -> Result<Applied, ProviderError> {
        self.apply(request, "update").await
    }

    async fn delete(&self, request: &DeleteRequest<'_>) -> Result<(), ProviderError> {
        self.delete_object(request).await
    }
}
