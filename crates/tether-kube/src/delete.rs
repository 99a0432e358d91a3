//! Delete of objects with tether's labels, with background propagation. NotFound counts as success.

use kube::Resource as _;
use kube::api::{DeleteParams, DynamicObject, GetParams, Preconditions};
use tether_engine::{DeleteRequest, ProviderError};
use tracing::Instrument as _;

use crate::client::TetherKube;
use crate::error::KubeError;
use crate::object::{KindRef, ObjectKey, has_ownership_labels};
use crate::secrets::Redactor;

impl TetherKube {
    /// Deletes the object that `request.id` names, after checking that it still carries this
    /// environment's labels.
    pub(crate) async fn delete_object(&self, request: &DeleteRequest<'_>) -> Result<(), ProviderError> {
        let span = tracing::debug_span!("kube_delete", resource = %request.address, action = "delete");
        async {
            let kind = KindRef::from_attributes(request.address, request.attributes)
                .map_err(|error| error.into_provider_error(format!("delete of {}", request.address)))?;
            let key = ObjectKey::from_id(kind, request.id);
            let operation = format!("delete of {key}");
            self.send_delete(request, &key).await.map_err(|error| error.into_provider_error(operation))
        }
        .instrument(span)
        .await
    }

    /// Reads the object, checks its labels, then deletes it on the condition that its uid is
    /// unchanged, so an object created again in between is not deleted unchecked.
    async fn send_delete(&self, request: &DeleteRequest<'_>, key: &ObjectKey) -> Result<(), KubeError> {
        let resolved = self.discovery.resolve(&self.client, &key.kind).await?;
        resolved.check_scope(request.address, key)?;
        let path = DynamicObject::url_path(&resolved.resource, key.namespace.as_deref());
        let redactor = Redactor::from_attributes(request.attributes);

        let Some(live) = self.get_object(&path, &key.name, &redactor).await? else {
            tracing::debug!(id = %key.id(), "already deleted");
            return Ok(());
        };
        if !has_ownership_labels(&live, request.environment) {
            return Err(KubeError::NotManaged { object: key.to_string(), environment: request.environment.to_owned() });
        }
        let uid = live["metadata"]["uid"].as_str().map(str::to_owned);
        drop(live);

        let params = DeleteParams::background().preconditions(Preconditions { uid, resource_version: None });
        let http = kube::core::Request::new(path).delete(&key.name, &params).map_err(KubeError::build_request)?;
        tracing::trace!(uri = %http.uri(), "delete request");
        match self.client.request_text(http).await.map_err(|error| KubeError::from_kube(error, &redactor)) {
            Err(error) if error.is_not_found() => tracing::debug!(id = %key.id(), "deleted by someone else"),
            Err(error) => return Err(error),
            Ok(_) => tracing::debug!(id = %key.id(), "delete accepted"),
        }
        Ok(())
    }

    /// Reads one object, or `None` when it does not exist. kube does not decode the body, because it
    /// logs a body it fails to decode.
    pub(crate) async fn get_object(
        &self,
        path: &str,
        name: &str,
        redactor: &Redactor,
    ) -> Result<Option<serde_json::Value>, KubeError> {
        let http = kube::core::Request::new(path).get(name, &GetParams::default()).map_err(KubeError::build_request)?;
        tracing::trace!(uri = %http.uri(), "get request");
        let text = match self.client.request_text(http).await.map_err(|error| KubeError::from_kube(error, redactor)) {
            Ok(text) => text,
            Err(error) if error.is_not_found() => return Ok(None),
            Err(error) => return Err(error),
        };
        serde_json::from_str(&text).map(Some).map_err(|error| KubeError::decode(&error))
    }
}
