//! Discovery of objects that tether did not create: lists of one kind in one namespace without
//! tether's label selector, for `tether import` and for objects that the state records but that
//! do not carry tether's labels yet.

use std::collections::{BTreeMap, BTreeSet};

use kube::Resource as _;
use kube::api::{DynamicObject, ListParams};
use tether_engine::{ObserveScope, ProviderError};
use tether_model::{Address, Attributes, ObservedResource, ProviderId};

use crate::client::TetherKube;
use crate::error::KubeError;
use crate::object::{KindRef, ObjectKey};
use crate::observe::observed_attributes;
use crate::secrets::Redactor;

/// An existing object found without a label selector.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FoundObject {
    /// `namespace/name`, or `name` for a cluster-scoped object.
    pub id: String,
    /// The object as observation reports it: server metadata removed, Secret data sensitive.
    pub attributes: Attributes,
}

impl TetherKube {
    /// Lists every object of `kind` in `namespace` (all objects for a cluster-scoped kind), with
    /// one list call and no label selector.
    ///
    /// # Errors
    /// Fails when the kind is not served or the list call fails.
    pub async fn find_objects(
        &self,
        kind: &KindRef,
        namespace: Option<&str>,
    ) -> Result<Vec<FoundObject>, ProviderError> {
        let operation = format!("list of {kind}");
        let items =
            self.list_unlabelled(kind, namespace).await.map_err(|error| error.into_provider_error(&operation))?;
        let found = items.into_iter().filter_map(|item| observed_attributes(item, kind));
        Ok(found.map(|(id, attributes)| FoundObject { id, attributes }).collect())
    }

    /// Adds to `observed` the objects the state records that the labelled lists did not return:
    /// one list per kind and namespace that has such objects.
    pub(crate) async fn observe_recorded(
        &self,
        scope: &ObserveScope<'_>,
        mut observed: Vec<ObservedResource>,
    ) -> Result<Vec<ObservedResource>, ProviderError> {
        let found: BTreeSet<&Address> = observed.iter().map(|resource| &resource.address).collect();
        let mut missing: BTreeMap<(KindRef, Option<String>), BTreeMap<String, Address>> = BTreeMap::new();
        for (address, resource) in &scope.state.resources {
            if address.provider() != ProviderId::Cluster || found.contains(address) {
                continue;
            }
            let Ok(kind) = KindRef::from_attributes(address, &resource.attributes) else { continue };
            let key = ObjectKey::from_id(kind.clone(), &resource.id);
            missing.entry((kind, key.namespace)).or_default().insert(resource.id.clone(), address.clone());
        }

        for ((kind, namespace), by_id) in missing {
            for object in self.find_objects(&kind, namespace.as_deref()).await? {
                let Some(address) = by_id.get(&object.id) else { continue };
                if !owned_by(&object.attributes, scope.environment) {
                    tracing::warn!(object = %object.id, %address, "recorded object belongs to another environment; ignored");
                    continue;
                }
                observed.push(ObservedResource {
                    address: address.clone(),
                    id: object.id,
                    attributes: object.attributes,
                });
            }
        }
        observed.sort_by(|left, right| left.address.cmp(&right.address));
        Ok(observed)
    }

    async fn list_unlabelled(
        &self,
        kind: &KindRef,
        namespace: Option<&str>,
    ) -> Result<Vec<serde_json::Value>, KubeError> {
        let resolved = self.discovery.resolve(&self.client, kind).await?;
        let namespace = if resolved.namespaced { namespace } else { None };
        let request = kube::core::Request::new(DynamicObject::url_path(&resolved.resource, namespace))
            .list(&ListParams::default())
            .map_err(KubeError::build_request)?;
        // The body is parsed here, not by kube, because kube logs a body it fails to decode.
        let text = self
            .client
            .request_text(request)
            .await
            .map_err(|error| KubeError::from_kube(error, &Redactor::default()))?;
        let mut list: serde_json::Value = serde_json::from_str(&text).map_err(|error| KubeError::decode(&error))?;
        match list.get_mut("items").map(serde_json::Value::take) {
            Some(serde_json::Value::Array(items)) => Ok(items),
            None | Some(serde_json::Value::Null) => Ok(Vec::new()),
            Some(_) => Err(KubeError::Decode { detail: "`items` is not a list".to_owned() }),
        }
    }
}

/// False when the object carries the environment label of another environment.
fn owned_by(attributes: &Attributes, environment: &str) -> bool {
    let label = attributes
        .get("metadata")
        .and_then(|metadata| metadata.get_path(&["labels", crate::object::ENVIRONMENT_LABEL]))
        .and_then(|value| value.as_str());
    label.is_none_or(|label| label == environment)
}

#[cfg(test)]
mod tests {
    use tether_model::Value;

    use super::*;

    #[test]
    fn another_environments_label_is_not_ours() {
        let labelled = |value: &str| {
            Attributes::from([(
                "metadata".to_owned(),
                Value::map([("labels", Value::map([(crate::object::ENVIRONMENT_LABEL, Value::from(value))]))]),
            )])
        };
        assert!(owned_by(&labelled("ai-dev"), "ai-dev"));
        assert!(!owned_by(&labelled("ai-prod"), "ai-dev"));
        assert!(owned_by(&Attributes::new(), "ai-dev"));
    }
}
