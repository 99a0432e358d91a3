//! Create and update: server-side apply with field manager `tether`, forcing ownership.

use kube::Resource as _;
use kube::api::{DynamicObject, Patch, PatchParams};
use tether_engine::{Applied, ApplyRequest, ProviderError};
use tether_model::Value;
use tracing::Instrument as _;

use crate::client::TetherKube;
use crate::error::KubeError;
use crate::object::{ObjectKey, check_ownership_marks, other_environment};
use crate::secrets::{Redactor, check_secret_data, is_secret};

/// The field manager of every apply. tether owns the fields it applies.
pub const FIELD_MANAGER: &str = "tether";

impl TetherKube {
    /// Applies the desired object and returns its id with the attributes as sent.
    ///
    /// `action` is `create` or `update`. Both send the same server-side apply, which creates a
    /// missing object and takes over fields another manager set.
    pub(crate) async fn apply(
        &self,
        request: &ApplyRequest<'_>,
        action: &'static str,
    ) -> Result<Applied, ProviderError> {
        let span = tracing::debug_span!("kube_apply", resource = %request.address, action);
        async {
            let key = checked_key(request)
                .map_err(|error| error.into_provider_error(format!("server-side apply of {}", request.address)))?;
            let operation = format!("server-side apply of {key}");
            let redactor = Redactor::from_attributes(request.attributes);
            self.send_apply(request, action, &key, &redactor)
                .await
                .map_err(|error| error.into_provider_error(operation))?;

            tracing::debug!(id = %key.id(), "applied");
            Ok(Applied { id: key.id(), attributes: request.attributes.clone() })
        }
        .instrument(span)
        .await
    }

    async fn send_apply(
        &self,
        request: &ApplyRequest<'_>,
        action: &'static str,
        key: &ObjectKey,
        redactor: &Redactor,
    ) -> Result<(), KubeError> {
        let resolved = self.discovery.resolve(&self.client, &key.kind).await?;
        resolved.check_scope(request.address, key)?;
        if action == "create" {
            // Observation lists only this environment's objects, so an object of another
            // environment with the same name looks missing, and the forced apply would take it over.
            let path = DynamicObject::url_path(&resolved.resource, key.namespace.as_deref());
            let live = self.get_object(&path, &key.name, redactor).await?;
            if let Some(owner) = live.as_ref().and_then(|live| other_environment(live, request.environment)) {
                return Err(KubeError::OtherEnvironment {
                    object: key.to_string(),
                    owner: owner.to_owned(),
                    environment: request.environment.to_owned(),
                });
            }
        }
        let body = Value::Map(request.attributes.clone())
            .to_wire_json()
            .map_err(|source| KubeError::Unresolved { address: request.address.clone(), source: Box::new(source) })?;

        let params = PatchParams::apply(FIELD_MANAGER).force();
        let path = DynamicObject::url_path(&resolved.resource, key.namespace.as_deref());
        let http = kube::core::Request::new(path)
            .patch(&key.name, &params, &Patch::Apply(&body))
            .map_err(KubeError::build_request)?;
        drop(body);
        tracing::trace!(uri = %http.uri(), bytes = http.body().len(), "apply request");

        // The response is the stored object with any Secret data, so it is dropped unread.
        let response = self.client.request_text(http).await.map_err(|error| KubeError::from_kube(error, redactor))?;
        tracing::trace!(bytes = response.len(), "apply response");
        Ok(())
    }
}

/// Reads the object's identity and checks what can be checked before any request: the
/// ownership marks, Secret data, and that an update does not rename the object.
fn checked_key(request: &ApplyRequest<'_>) -> Result<ObjectKey, KubeError> {
    let key = ObjectKey::from_attributes(request.address, request.attributes)?;
    check_ownership_marks(request.address, request.attributes, request.environment)?;
    if is_secret(&key.kind.api_version, &key.kind.kind) {
        check_secret_data(request.address, request.attributes)?;
    }
    if let Some(id) = request.id.filter(|id| *id != key.id()) {
        return Err(KubeError::InvalidObject {
            address: request.address.clone(),
            problem: format!("an update cannot rename the object from {id} to {}; replace it instead", key.id()),
        });
    }
    Ok(key)
}

#[cfg(test)]
mod tests {
    use tether_model::{Address, Attributes};

    use super::*;
    use crate::object::{ADDRESS_ANNOTATION, ENVIRONMENT_LABEL, MANAGED_BY_LABEL};

    fn namespace_attributes(name: &str) -> Attributes {
        let metadata = Value::map([
            ("name", Value::from(name)),
            (
                "labels",
                Value::map([(MANAGED_BY_LABEL, Value::from("tether")), (ENVIRONMENT_LABEL, Value::from("ai-dev"))]),
            ),
            ("annotations", Value::map([(ADDRESS_ANNOTATION, Value::from("cluster.namespace.hcp-ai"))])),
        ]);
        Attributes::from([
            ("apiVersion".to_owned(), Value::from("v1")),
            ("kind".to_owned(), Value::from("Namespace")),
            ("metadata".to_owned(), metadata),
        ])
    }

    fn request<'a>(address: &'a Address, attributes: &'a Attributes, id: Option<&'a str>) -> ApplyRequest<'a> {
        ApplyRequest { environment: "ai-dev", address, id, attributes, before: None }
    }

    #[test]
    fn update_cannot_rename() {
        let address = Address::cluster("namespace", "hcp-ai");
        let attributes = namespace_attributes("hcp-ai-2");
        let error = checked_key(&request(&address, &attributes, Some("hcp-ai"))).unwrap_err();
        assert!(error.to_string().contains("cannot rename the object from hcp-ai to hcp-ai-2"), "{error}");
    }

    #[test]
    fn matching_id_passes() {
        let address = Address::cluster("namespace", "hcp-ai");
        let attributes = namespace_attributes("hcp-ai");
        let key = checked_key(&request(&address, &attributes, Some("hcp-ai"))).unwrap();
        assert_eq!(key.id(), "hcp-ai");
    }

    #[test]
    fn other_environment_marks_are_rejected() {
        let address = Address::cluster("namespace", "hcp-ai");
        let attributes = namespace_attributes("hcp-ai");
        let other = ApplyRequest { environment: "ai-prod", ..request(&address, &attributes, None) };
        let error = checked_key(&other).unwrap_err();
        assert!(error.to_string().contains("tether.dev/environment must be `ai-prod`"), "{error}");
    }
}
