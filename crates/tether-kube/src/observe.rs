//! Observation: one labelled list call per kind, items mapped to addresses by annotation.

use std::collections::{BTreeMap, BTreeSet};

use futures::{StreamExt as _, TryStreamExt as _};
use kube::Resource as _;
use kube::api::{DynamicObject, ListParams};
use tether_engine::{ObserveScope, ProviderError};
use tether_model::{Address, Attributes, ObservedResource, ProviderId, Value};
use tracing::Instrument as _;

use crate::client::TetherKube;
use crate::error::KubeError;
use crate::object::{ADDRESS_ANNOTATION, KindRef, object_id, ownership_selector};
use crate::secrets::{Redactor, is_secret, protect_secret_data};

/// How many kinds are listed at the same time.
const CONCURRENT_LISTS: usize = 4;

/// The annotation `kubectl apply` writes. It repeats the whole object, Secret data included.
const LAST_APPLIED_ANNOTATION: &str = "kubectl.kubernetes.io/last-applied-configuration";

/// The observed attribute that summarises `metadata.managedFields`: a list of
/// `{manager, operation, fields}` with one entry per field manager and operation on the main
/// resource (subresources such as `status` are left out), `fields` being the dotted paths of the
/// fields that manager owns. Drift detection reads it (tether-plan's `drift` module); the planner
/// never compares it, because the file does not set it.
pub const FIELD_OWNERS_ATTRIBUTE: &str = "fieldOwners";

/// Metadata fields the server writes, which are never desired.
const SERVER_METADATA: [&str; 5] = ["managedFields", "resourceVersion", "uid", "creationTimestamp", "generation"];

/// An observed resource and the object it came from, e.g. `NodePool hcp-ai/gpu`.
struct Found {
    object: String,
    observed: ObservedResource,
}

impl TetherKube {
    /// Lists every kind that the desired resources or the state name, with this environment's
    /// label selector, and returns the objects sorted by address.
    pub(crate) async fn observe_owned(&self, scope: &ObserveScope<'_>) -> Result<Vec<ObservedResource>, ProviderError> {
        const OPERATION: &str = "observe of the management cluster";
        let selector =
            ownership_selector(scope.environment).map_err(|problem| ProviderError::permanent(OPERATION, problem))?;
        let kinds = kinds_to_observe(scope, self.provider).map_err(|error| error.into_provider_error(OPERATION))?;
        tracing::debug!(kinds = kinds.len(), "observing the management cluster");

        // The futures are built before the stream, because a closure inside the stream makes the
        // future too general for `async_trait`'s `Send` bound.
        let requests: Vec<_> = kinds.iter().map(|kind| self.list_kind(kind, &selector)).collect();
        let lists: Vec<Vec<Found>> =
            futures::stream::iter(requests).buffer_unordered(CONCURRENT_LISTS).try_collect().await?;

        let observed =
            merge_by_address(lists.into_iter().flatten()).map_err(|error| error.into_provider_error(OPERATION))?;
        // Objects the state records without tether's labels yet, e.g. imported ones, are read by name.
        let observed = self.observe_recorded(scope, observed).await?;
        tracing::debug!(resources = observed.len(), "management cluster observed");
        Ok(observed)
    }

    async fn list_kind(&self, kind: &KindRef, selector: &str) -> Result<Vec<Found>, ProviderError> {
        let span = tracing::debug_span!("kube_list", resource = %kind, action = "observe");
        async {
            let resolved = self
                .discovery
                .resolve(&self.client, kind)
                .await
                .map_err(|error| error.into_provider_error(format!("discovery of {kind}")))?;
            let operation = format!("list of {kind}");
            let items = self
                .list_items(&resolved.resource, selector)
                .await
                .map_err(|error| error.into_provider_error(&operation))?;
            tracing::debug!(items = items.len(), "listed");
            Ok(items.into_iter().filter_map(|item| to_observed(item, kind, self.provider)).collect())
        }
        .instrument(span)
        .await
    }

    /// Lists across all namespaces. The body is parsed here, not by kube, because kube logs a
    /// body it fails to decode and a Secret list contains Secret data.
    async fn list_items(
        &self,
        resource: &kube::api::ApiResource,
        selector: &str,
    ) -> Result<Vec<serde_json::Value>, KubeError> {
        let request = kube::core::Request::new(DynamicObject::url_path(resource, None))
            .list(&ListParams::default().labels(selector))
            .map_err(KubeError::build_request)?;
        tracing::trace!(uri = %request.uri(), "list request");

        let text = self
            .client
            .request_text(request)
            .await
            .map_err(|error| KubeError::from_kube(error, &Redactor::default()))?;
        let mut list: serde_json::Value = serde_json::from_str(&text).map_err(|error| KubeError::decode(&error))?;
        tracing::trace!(bytes = text.len(), "list response");

        match list.get_mut("items").map(serde_json::Value::take) {
            Some(serde_json::Value::Array(items)) => Ok(items),
            None | Some(serde_json::Value::Null) => Ok(Vec::new()),
            Some(_) => Err(KubeError::Decode { detail: "`items` is not a list".to_owned() }),
        }
    }
}

/// Collects the kinds of the desired resources and of `provider`'s resources in the state.
fn kinds_to_observe(scope: &ObserveScope<'_>, provider: ProviderId) -> Result<BTreeSet<KindRef>, KubeError> {
    let desired = scope.desired.iter().map(|resource| (&resource.address, &resource.attributes));
    let recorded = scope.state.resources.iter().map(|(address, resource)| (address, &resource.attributes));
    desired
        .chain(recorded)
        .filter(|(address, _)| address.provider() == provider)
        .map(|(address, attributes)| KindRef::from_attributes(address, attributes))
        .collect()
}

/// Converts a listed object into an observed resource, or skips it with a warning when it has no
/// valid address annotation of `provider`.
fn to_observed(object: serde_json::Value, kind: &KindRef, provider: ProviderId) -> Option<Found> {
    let metadata = &object["metadata"];
    let name = metadata["name"].as_str().unwrap_or_default();
    let id = object_id(metadata["namespace"].as_str(), name);
    let description = format!("{} {id}", kind.kind);

    let annotation = metadata["annotations"][ADDRESS_ANNOTATION].as_str();
    let address = match annotation.map(str::parse::<Address>) {
        Some(Ok(address)) if address.provider() == provider => address,
        _ => {
            tracing::warn!(object = %description, annotation, "ignoring an object with tether's labels but without a valid `{ADDRESS_ANNOTATION}` annotation for a cluster address");
            return None;
        }
    };

    let (id, attributes) = observed_attributes(object, kind)?;
    Some(Found { object: description, observed: ObservedResource { address, id, attributes } })
}

/// Converts a listed object into its id and observed attributes: server metadata removed,
/// `apiVersion` and `kind` set, Secret data sensitive. `None` when the object is not a JSON object.
pub(crate) fn observed_attributes(mut object: serde_json::Value, kind: &KindRef) -> Option<(String, Attributes)> {
    let metadata = &object["metadata"];
    let id = object_id(metadata["namespace"].as_str(), metadata["name"].as_str().unwrap_or_default());
    let owners = field_owners(&object["metadata"]["managedFields"]);
    strip_server_fields(&mut object);
    if let Some(owners) = owners {
        object[FIELD_OWNERS_ATTRIBUTE] = owners;
    }
    object["apiVersion"] = kind.api_version.clone().into();
    object["kind"] = kind.kind.clone().into();
    let Value::Map(mut attributes) = Value::from_json(&object) else {
        return None;
    };
    if is_secret(&kind.api_version, &kind.kind) {
        protect_secret_data(&mut attributes);
    }
    Some((id, attributes))
}

/// Summarises `managedFields` as [`FIELD_OWNERS_ATTRIBUTE`] describes; `None` when the server
/// returned none, so that drift detection compares every field as tether's.
fn field_owners(managed_fields: &serde_json::Value) -> Option<serde_json::Value> {
    let entries = managed_fields.as_array().filter(|entries| !entries.is_empty())?;
    let owners: Vec<serde_json::Value> = entries
        .iter()
        .filter(|entry| entry["subresource"].as_str().is_none_or(str::is_empty))
        .filter(|entry| entry["fieldsType"].as_str().is_none_or(|kind| kind == "FieldsV1"))
        .map(|entry| {
            let mut fields = BTreeSet::new();
            if let Some(root) = entry["fieldsV1"].as_object() {
                owned_paths(root, &mut Vec::new(), &mut fields);
            }
            serde_json::json!({
                "manager": entry["manager"].as_str().unwrap_or_default(),
                "operation": entry["operation"].as_str().unwrap_or_default(),
                "fields": fields.into_iter().collect::<Vec<String>>(),
            })
        })
        .collect();
    Some(serde_json::Value::Array(owners))
}

/// Collects the dotted paths that a `fieldsV1` tree owns. `f:<name>` descends into a field, an
/// empty tree or `.` owns the field itself, and list members (`k:`, `v:`, `i:`) count as owning
/// part of the list, which drift compares whole.
fn owned_paths(tree: &serde_json::Map<String, serde_json::Value>, path: &mut Vec<String>, out: &mut BTreeSet<String>) {
    if tree.is_empty() && !path.is_empty() {
        out.insert(path.join("."));
        return;
    }
    for (key, child) in tree {
        match (key.strip_prefix("f:"), child.as_object()) {
            (Some(name), Some(child)) => {
                path.push(name.to_owned());
                owned_paths(child, path, out);
                path.pop();
            }
            _ if !path.is_empty() => {
                out.insert(path.join("."));
            }
            _ => {}
        }
    }
}

/// Removes the metadata the server writes and the `kubectl apply` annotation.
fn strip_server_fields(object: &mut serde_json::Value) {
    let Some(metadata) = object.get_mut("metadata").and_then(serde_json::Value::as_object_mut) else {
        return;
    };
    for field in SERVER_METADATA {
        metadata.remove(field);
    }
    if let Some(annotations) = metadata.get_mut("annotations").and_then(serde_json::Value::as_object_mut) {
        annotations.remove(LAST_APPLIED_ANNOTATION);
        if annotations.is_empty() {
            metadata.remove("annotations");
        }
    }
}

/// Sorts observed resources by address.
///
/// # Errors
/// Returns [`KubeError::DuplicateAddress`] when two objects claim one address.
fn merge_by_address(found: impl IntoIterator<Item = Found>) -> Result<Vec<ObservedResource>, KubeError> {
    let mut by_address: BTreeMap<Address, Found> = BTreeMap::new();
    for item in found {
        if let Some(existing) = by_address.get(&item.observed.address) {
            let (first, second) = sorted_pair(existing.object.clone(), item.object);
            return Err(KubeError::DuplicateAddress { address: item.observed.address, first, second });
        }
        by_address.insert(item.observed.address.clone(), item);
    }
    Ok(by_address.into_values().map(|item| item.observed).collect())
}

fn sorted_pair(a: String, b: String) -> (String, String) {
    if a <= b { (a, b) } else { (b, a) }
}

#[cfg(test)]
mod tests {
    use serde_json::json;
    use tether_model::{Attributes, Resource, Sensitive, State, StateResource};

    use super::*;

    fn observe_one(object: serde_json::Value, kind: &KindRef) -> Option<(Address, String, Attributes)> {
        to_observed(object, kind, ProviderId::Cluster)
            .map(|found| (found.observed.address, found.observed.id, found.observed.attributes))
    }

    fn kind(api_version: &str, kind: &str) -> KindRef {
        KindRef { api_version: api_version.to_owned(), kind: kind.to_owned() }
    }

    fn listed_node_pool() -> serde_json::Value {
        json!({
            "metadata": {
                "name": "gpu", "namespace": "hcp-ai", "uid": "u-1", "resourceVersion": "42", "generation": 3,
                "creationTimestamp": "2025-01-01T00:00:00Z", "managedFields": [{"manager": "tether"}],
                "labels": {"app.kubernetes.io/managed-by": "tether", "tether.dev/environment": "ai-dev"},
                "annotations": {"tether.dev/address": "cluster.node_pool.gpu", LAST_APPLIED_ANNOTATION: "{}"},
                "deletionTimestamp": "2025-01-02T00:00:00Z"
            },
            "spec": {"autoScaling": {"min": 0, "max": 2}},
            "status": {"replicas": 1}
        })
    }

    #[test]
    fn observed_object_drops_server_metadata() {
        let (address, id, attributes) =
            observe_one(listed_node_pool(), &kind("hypershift.openshift.io/v1beta1", "NodePool")).unwrap();
        assert_eq!(address, Address::cluster("node_pool", "gpu"));
        assert_eq!(id, "hcp-ai/gpu");
        let metadata = attributes["metadata"].as_map().unwrap();
        let keys: Vec<&str> = metadata.keys().map(String::as_str).collect();
        assert_eq!(keys, ["annotations", "deletionTimestamp", "labels", "name", "namespace"]);
        assert_eq!(metadata["annotations"], Value::map([(ADDRESS_ANNOTATION, Value::from("cluster.node_pool.gpu"))]));
    }

    #[test]
    fn observed_object_keeps_status_and_sets_kind() {
        let (_, _, attributes) =
            observe_one(listed_node_pool(), &kind("hypershift.openshift.io/v1beta1", "NodePool")).unwrap();
        assert_eq!(attributes["status"].get_path(&["replicas"]), Some(&Value::Int(1)));
        assert_eq!(attributes["kind"], Value::from("NodePool"));
        assert_eq!(attributes["apiVersion"], Value::from("hypershift.openshift.io/v1beta1"));
    }

    #[test]
    fn managed_fields_become_field_owners() {
        let mut object = listed_node_pool();
        object["metadata"]["managedFields"] = json!([
            {"manager": "tether", "operation": "Apply", "apiVersion": "hypershift.openshift.io/v1beta1",
             "fieldsType": "FieldsV1", "fieldsV1": {
                "f:metadata": {"f:labels": {"f:app.kubernetes.io/managed-by": {}}},
                "f:spec": {"f:autoScaling": {"f:max": {}, "f:min": {}},
                           "f:taints": {"k:{\"effect\":\"NoSchedule\",\"key\":\"nvidia.com/gpu\"}": {".": {}, "f:value": {}}}}}},
            {"manager": "kubectl-edit", "operation": "Update", "time": "2025-01-01T00:00:00Z",
             "fieldsType": "FieldsV1", "fieldsV1": {"f:spec": {"f:release": {".": {}, "f:image": {}}}}},
            {"manager": "nodepool-controller", "operation": "Update", "subresource": "status",
             "fieldsType": "FieldsV1", "fieldsV1": {"f:status": {"f:replicas": {}}}}
        ]);

        let (_, _, attributes) = observe_one(object, &kind("hypershift.openshift.io/v1beta1", "NodePool")).unwrap();

        let expected = Value::from_json(&json!([
            {"manager": "tether", "operation": "Apply", "fields": [
                "metadata.labels.app.kubernetes.io/managed-by", "spec.autoScaling.max", "spec.autoScaling.min",
                "spec.taints"]},
            {"manager": "kubectl-edit", "operation": "Update", "fields": ["spec.release", "spec.release.image"]}
        ]));
        assert_eq!(attributes[FIELD_OWNERS_ATTRIBUTE], expected);
        assert!(!attributes["metadata"].as_map().unwrap().contains_key("managedFields"));
    }

    #[test]
    fn without_managed_fields_there_are_no_field_owners() {
        let mut object = listed_node_pool();
        object["metadata"].as_object_mut().unwrap().remove("managedFields");
        let (_, _, attributes) = observe_one(object, &kind("hypershift.openshift.io/v1beta1", "NodePool")).unwrap();
        assert!(!attributes.contains_key(FIELD_OWNERS_ATTRIBUTE));
    }

    #[test]
    fn cluster_scoped_id_is_name() {
        let object = json!({"metadata": {"name": "onprem-routes", "annotations": {"tether.dev/address": "cluster.machine_config.onprem-routes"}}});
        let (_, id, _) = observe_one(object, &kind("machineconfiguration.openshift.io/v1", "MachineConfig")).unwrap();
        assert_eq!(id, "onprem-routes");
    }

    #[test]
    fn object_without_valid_annotation_is_skipped() {
        let node_pool = kind("hypershift.openshift.io/v1beta1", "NodePool");
        for annotations in
            [json!({}), json!({"tether.dev/address": "not an address"}), json!({"tether.dev/address": "aws.vpc.main"})]
        {
            let object = json!({"metadata": {"name": "x", "namespace": "y", "annotations": annotations}});
            assert!(observe_one(object, &node_pool).is_none(), "{annotations}");
        }
    }

    #[test]
    fn observed_secret_data_is_sensitive() {
        let object = json!({
            "metadata": {"name": "pull-secret", "namespace": "hcp-ai", "annotations": {"tether.dev/address": "cluster.secret.pull-secret"}},
            "type": "kubernetes.io/dockerconfigjson",
            "data": {".dockerconfigjson": "e30="}
        });
        let (_, _, attributes) = observe_one(object, &kind("v1", "Secret")).unwrap();
        let value = attributes["data"].get_path(&[".dockerconfigjson"]).unwrap();
        assert_eq!(value, &Value::Sensitive(Sensitive::new("e30=")));
        assert!(matches!(value, Value::Sensitive(_)));
    }

    #[test]
    fn duplicate_address_is_an_error() {
        let node_pool = kind("hypershift.openshift.io/v1beta1", "NodePool");
        let mut copy = listed_node_pool();
        copy["metadata"]["namespace"] = json!("other");
        let found = [
            to_observed(listed_node_pool(), &node_pool, ProviderId::Cluster).unwrap(),
            to_observed(copy, &node_pool, ProviderId::Cluster).unwrap(),
        ];
        let error = merge_by_address(found).unwrap_err();
        assert_eq!(
            error.to_string(),
            "objects NodePool hcp-ai/gpu and NodePool other/gpu both carry the annotation tether.dev/address=cluster.node_pool.gpu; remove it from the one tether does not manage"
        );
    }

    #[test]
    fn kinds_come_from_desired_and_state() {
        let secret = Attributes::from([
            ("apiVersion".to_owned(), Value::from("v1")),
            ("kind".to_owned(), Value::from("Secret")),
        ]);
        let desired = [Resource::new(Address::cluster("secret", "pull-secret"), secret.clone())];
        let mut state = State::empty("ai-dev");
        let machine_config = Attributes::from([
            ("apiVersion".to_owned(), Value::from("machineconfiguration.openshift.io/v1")),
            ("kind".to_owned(), Value::from("MachineConfig")),
        ]);
        let recorded = |attributes| StateResource { id: "x".to_owned(), attributes, depends_on: BTreeSet::new() };
        state.resources.insert(Address::cluster("secret", "old"), recorded(secret));
        state.resources.insert(Address::cluster("machine_config", "routes"), recorded(machine_config));
        state.resources.insert(Address::aws("vpc", "main"), recorded(Attributes::new()));

        let scope = ObserveScope { environment: "ai-dev", desired: &desired, state: &state };
        let kinds: Vec<String> =
            kinds_to_observe(&scope, ProviderId::Cluster).unwrap().iter().map(ToString::to_string).collect();
        assert_eq!(kinds, ["MachineConfig (machineconfiguration.openshift.io/v1)", "Secret (v1)"]);
    }
}
