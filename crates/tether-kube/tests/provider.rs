//! The provider against the Kubernetes test API server: apply, observe, update and delete.

mod common;

use std::collections::BTreeMap;

use common::{Desired, ENVIRONMENT, Harness, NAMESPACE, error_chain};
use serde_json::json;
use tether_model::{Address, ObservedResource, Value};

fn by_address(observed: Vec<ObservedResource>) -> BTreeMap<Address, ObservedResource> {
    observed.into_iter().map(|resource| (resource.address.clone(), resource)).collect()
}

/// Asserts that every desired attribute is observed with an equal value. Maps are compared key
/// by key, because the server adds keys of its own, such as the Namespace label
/// `kubernetes.io/metadata.name`. Lists and scalars must be equal.
fn assert_contains_desired(observed: &ObservedResource, desired: &Desired) {
    for (key, value) in &desired.attributes {
        assert_contains(observed.attributes.get(key), value, &format!("{} {key}", desired.address));
    }
}

fn assert_contains(observed: Option<&Value>, desired: &Value, path: &str) {
    match (observed, desired) {
        (Some(Value::Map(observed)), Value::Map(desired)) => {
            for (key, value) in desired {
                assert_contains(observed.get(key), value, &format!("{path}.{key}"));
            }
        }
        _ => assert_eq!(observed, Some(desired), "{path}"),
    }
}

/// Creates an object directly through kube, bypassing the provider.
async fn create_raw(harness: &Harness, plural_path: &str, object: serde_json::Value) {
    let client = kube::Client::try_from(
        kube::Config::from_custom_kubeconfig(
            kube::config::Kubeconfig::from_yaml(&harness.server.kubeconfig()).unwrap(),
            &kube::config::KubeConfigOptions::default(),
        )
        .await
        .unwrap(),
    )
    .unwrap();
    let body = serde_json::to_vec(&object).unwrap();
    let request = kube::core::Request::new(plural_path).create(&kube::api::PostParams::default(), body).unwrap();
    client.request_text(request).await.expect("the raw create succeeds");
}

#[tokio::test]
async fn applied_objects_observe_without_diff() {
    let harness = Harness::start().await;
    let desired = common::all(ENVIRONMENT);
    harness.create_all(ENVIRONMENT, &desired).await;

    let observed = by_address(harness.observe(ENVIRONMENT, &desired).await.unwrap());

    assert_eq!(observed.len(), desired.len(), "{:?}", observed.keys().collect::<Vec<_>>());
    for resource in &desired {
        let found = observed.get(&resource.address).unwrap_or_else(|| panic!("{} is not observed", resource.address));
        assert_contains_desired(found, resource);
    }
}

#[tokio::test]
async fn observed_ids_are_namespace_and_name() {
    let harness = Harness::start().await;
    let desired = common::all(ENVIRONMENT);
    harness.create_all(ENVIRONMENT, &desired).await;

    let observed = by_address(harness.observe(ENVIRONMENT, &desired).await.unwrap());
    let ids: BTreeMap<String, String> =
        observed.iter().map(|(address, resource)| (address.to_string(), resource.id.clone())).collect();

    assert_eq!(ids["cluster.namespace.hcp-ai"], "hcp-ai");
    assert_eq!(ids["cluster.secret.pull-secret"], "hcp-ai/ai-pull-secret");
    assert_eq!(ids["cluster.hosted_cluster.ai"], "hcp-ai/ai");
    assert_eq!(ids["cluster.node_pool.gpu"], "hcp-ai/ai-gpu");
    assert_eq!(ids["cluster.node_pool.general"], "hcp-ai/ai-general");
    assert_eq!(ids["cluster.machine_config.onprem-routes"], "99-master-onprem-routes");
}

#[tokio::test]
async fn create_returns_id_and_desired_attributes() {
    let harness = Harness::start().await;
    harness.create_all(ENVIRONMENT, &[common::namespace(ENVIRONMENT)]).await;
    let node_pool = common::node_pool(ENVIRONMENT, "gpu", "g6.xlarge", 2);

    let applied = harness.create(ENVIRONMENT, &node_pool).await.unwrap();

    assert_eq!(applied.id, "hcp-ai/ai-gpu");
    assert_eq!(applied.attributes, node_pool.attributes);
}

#[tokio::test]
async fn secret_data_compares_by_digest() {
    let harness = Harness::start().await;
    let desired = [common::namespace(ENVIRONMENT), common::pull_secret(ENVIRONMENT)];
    harness.create_all(ENVIRONMENT, &desired).await;

    let stored = harness.server.get("v1", "Secret", Some(NAMESPACE), "ai-pull-secret").expect("the Secret is stored");
    assert_eq!(stored["data"][".dockerconfigjson"], json!(common::pull_secret_base64()));
    assert_eq!(stored["type"], json!("kubernetes.io/dockerconfigjson"));

    let observed = by_address(harness.observe(ENVIRONMENT, &desired).await.unwrap());
    let secret = &observed[&Address::cluster("secret", "pull-secret")];
    let value = secret.attributes["data"].get_path(&[".dockerconfigjson"]).unwrap();
    assert!(matches!(value, Value::Sensitive(_)), "{value:?}");
    assert_eq!(value, desired[1].attributes["data"].get_path(&[".dockerconfigjson"]).unwrap());
}

#[tokio::test]
async fn namespace_label_from_server_is_observed() {
    let harness = Harness::start().await;
    let desired = [common::namespace(ENVIRONMENT)];
    harness.create_all(ENVIRONMENT, &desired).await;

    let observed = harness.observe(ENVIRONMENT, &desired).await.unwrap();

    let labels = observed[0].attributes["metadata"].get_path(&["labels", "kubernetes.io/metadata.name"]);
    assert_eq!(labels, Some(&Value::from(NAMESPACE)));
}

#[tokio::test]
async fn observed_metadata_has_no_server_fields() {
    let harness = Harness::start().await;
    let desired = [common::namespace(ENVIRONMENT), common::hosted_cluster(ENVIRONMENT)];
    harness.create_all(ENVIRONMENT, &desired).await;

    let observed = by_address(harness.observe(ENVIRONMENT, &desired).await.unwrap());
    let metadata = observed[&Address::cluster("hosted_cluster", "ai")].attributes["metadata"].as_map().unwrap().clone();

    for field in ["managedFields", "resourceVersion", "uid", "creationTimestamp", "generation"] {
        assert!(!metadata.contains_key(field), "metadata.{field} is observed");
    }
    let stored = harness.server.get("hypershift.openshift.io/v1beta1", "HostedCluster", Some(NAMESPACE), "ai").unwrap();
    assert!(stored["metadata"]["uid"].is_string(), "the server sets uid: {stored}");
}

#[tokio::test]
async fn node_pool_update_changes_max() {
    let harness = Harness::start().await;
    let desired = common::all(ENVIRONMENT);
    harness.create_all(ENVIRONMENT, &desired).await;
    let scaled = common::node_pool(ENVIRONMENT, "gpu", "g6.xlarge", 6);

    harness.update(ENVIRONMENT, "hcp-ai/ai-gpu", &scaled).await.unwrap();

    let observed = by_address(harness.observe(ENVIRONMENT, &desired).await.unwrap());
    let node_pool = &observed[&Address::cluster("node_pool", "gpu")];
    assert_eq!(node_pool.attributes["spec"].get_path(&["autoScaling", "max"]), Some(&Value::Int(6)));
    assert_contains_desired(node_pool, &scaled);
    let stored = harness.server.get("hypershift.openshift.io/v1beta1", "NodePool", Some(NAMESPACE), "ai-gpu").unwrap();
    assert_eq!(stored["spec"]["autoScaling"]["max"], json!(6));
}

#[tokio::test]
async fn repeated_apply_keeps_resource_version() {
    let harness = Harness::start().await;
    let desired = [common::namespace(ENVIRONMENT), common::hosted_cluster(ENVIRONMENT)];
    harness.create_all(ENVIRONMENT, &desired).await;
    let version = |harness: &Harness| {
        let stored =
            harness.server.get("hypershift.openshift.io/v1beta1", "HostedCluster", Some(NAMESPACE), "ai").unwrap();
        stored["metadata"]["resourceVersion"].clone()
    };
    let before = version(&harness);

    harness.update(ENVIRONMENT, "hcp-ai/ai", &desired[1]).await.unwrap();

    assert_eq!(version(&harness), before);
}

#[tokio::test]
async fn deleted_node_pool_is_not_observed() {
    let harness = Harness::start().await;
    let desired = common::all(ENVIRONMENT);
    harness.create_all(ENVIRONMENT, &desired).await;
    let gpu = common::node_pool(ENVIRONMENT, "gpu", "g6.xlarge", 2);

    harness.delete(ENVIRONMENT, "hcp-ai/ai-gpu", &gpu).await.unwrap();

    let observed = by_address(harness.observe(ENVIRONMENT, &desired).await.unwrap());
    assert!(!observed.contains_key(&gpu.address));
    assert!(observed.contains_key(&Address::cluster("node_pool", "general")));
    assert!(harness.server.get("hypershift.openshift.io/v1beta1", "NodePool", Some(NAMESPACE), "ai-gpu").is_none());
}

#[tokio::test]
async fn delete_of_missing_object_succeeds() {
    let harness = Harness::start().await;
    harness.create_all(ENVIRONMENT, &[common::namespace(ENVIRONMENT)]).await;
    let gpu = common::node_pool(ENVIRONMENT, "gpu", "g6.xlarge", 2);

    harness.create(ENVIRONMENT, &gpu).await.unwrap();
    harness.delete(ENVIRONMENT, "hcp-ai/ai-gpu", &gpu).await.unwrap();
    let second = harness.delete(ENVIRONMENT, "hcp-ai/ai-gpu", &gpu).await;

    assert!(second.is_ok(), "{}", second.map_err(|error| error_chain(&error)).unwrap_err());
}

#[tokio::test]
async fn delete_uses_background_propagation() {
    let harness = Harness::start().await;
    let desired = [common::machine_config(ENVIRONMENT)];
    harness.create_all(ENVIRONMENT, &desired).await;

    harness.delete(ENVIRONMENT, "99-master-onprem-routes", &desired[0]).await.unwrap();

    let requests = harness.server.requests();
    let delete = requests.iter().find(|request| request.method == "DELETE").expect("a DELETE request");
    assert_eq!(delete.path, "/apis/machineconfiguration.openshift.io/v1/machineconfigs/99-master-onprem-routes");
    assert_eq!(delete.status, 200);
}

#[tokio::test]
async fn delete_rejects_object_without_labels() {
    let harness = Harness::start().await;
    harness.create_all(ENVIRONMENT, &[common::namespace(ENVIRONMENT)]).await;
    let unmanaged = json!({
        "apiVersion": "hypershift.openshift.io/v1beta1", "kind": "NodePool",
        "metadata": {"name": "ai-gpu", "namespace": NAMESPACE, "annotations": {"tether.dev/address": "cluster.node_pool.gpu"}},
        "spec": {"clusterName": "ai"}
    });
    create_raw(&harness, "/apis/hypershift.openshift.io/v1beta1/namespaces/hcp-ai/nodepools", unmanaged).await;
    let gpu = common::node_pool(ENVIRONMENT, "gpu", "g6.xlarge", 2);

    let error = harness.delete(ENVIRONMENT, "hcp-ai/ai-gpu", &gpu).await.unwrap_err();

    assert!(!error.retryable);
    assert!(error_chain(&error).contains("NodePool hcp-ai/ai-gpu lacks the labels"), "{}", error_chain(&error));
    assert!(harness.server.get("hypershift.openshift.io/v1beta1", "NodePool", Some(NAMESPACE), "ai-gpu").is_some());
}

#[tokio::test]
async fn object_being_deleted_is_observed() {
    let harness = Harness::start().await;
    harness.create_all(ENVIRONMENT, &[common::namespace(ENVIRONMENT)]).await;
    let mut gpu = common::node_pool(ENVIRONMENT, "gpu", "g6.xlarge", 2);
    if let Some(Value::Map(metadata)) = gpu.attributes.get_mut("metadata") {
        metadata.insert("finalizers".to_owned(), Value::List(vec![Value::from("hypershift.openshift.io/finalizer")]));
    }
    harness.create(ENVIRONMENT, &gpu).await.unwrap();

    harness.delete(ENVIRONMENT, "hcp-ai/ai-gpu", &gpu).await.unwrap();

    let observed = by_address(harness.observe(ENVIRONMENT, std::slice::from_ref(&gpu)).await.unwrap());
    let metadata = observed[&gpu.address].attributes["metadata"].as_map().unwrap().clone();
    assert!(matches!(metadata.get("deletionTimestamp"), Some(Value::String(_))), "{metadata:?}");
}

#[tokio::test]
async fn status_is_observed() {
    let harness = Harness::start().await;
    let desired = [
        common::namespace(ENVIRONMENT),
        common::hosted_cluster(ENVIRONMENT),
        common::node_pool(ENVIRONMENT, "gpu", "g6.xlarge", 2),
    ];
    harness.create_all(ENVIRONMENT, &desired).await;
    harness.server.mark_hosted_cluster_available(NAMESPACE, "ai").unwrap();
    harness.server.set_node_pool_replicas(NAMESPACE, "ai-gpu", 2).unwrap();

    let observed = by_address(harness.observe(ENVIRONMENT, &desired).await.unwrap());

    let node_pool = &observed[&Address::cluster("node_pool", "gpu")];
    assert_eq!(node_pool.attributes["status"].get_path(&["replicas"]), Some(&Value::Int(2)));
    let hosted_cluster = &observed[&Address::cluster("hosted_cluster", "ai")];
    let conditions = hosted_cluster.attributes["status"].get_path(&["conditions"]);
    assert!(matches!(conditions, Some(Value::List(items)) if !items.is_empty()), "{conditions:?}");
}

#[tokio::test]
async fn other_environments_are_not_observed() {
    let harness = Harness::start().await;
    let desired = common::all(ENVIRONMENT);
    harness.create_all(ENVIRONMENT, &desired).await;
    let production = common::node_pool("ai-prod", "prod-gpu", "g6.xlarge", 2);
    harness.create("ai-prod", &production).await.unwrap();
    let unlabelled = json!({
        "apiVersion": "hypershift.openshift.io/v1beta1", "kind": "NodePool",
        "metadata": {"name": "manual", "namespace": NAMESPACE, "annotations": {"tether.dev/address": "cluster.node_pool.manual"}},
        "spec": {"clusterName": "ai"}
    });
    create_raw(&harness, "/apis/hypershift.openshift.io/v1beta1/namespaces/hcp-ai/nodepools", unlabelled).await;

    let observed = by_address(harness.observe(ENVIRONMENT, &desired).await.unwrap());

    let addresses: Vec<String> = observed.keys().map(ToString::to_string).collect();
    let expected: Vec<String> = {
        let mut all: Vec<String> = desired.iter().map(|resource| resource.address.to_string()).collect();
        all.sort();
        all
    };
    assert_eq!(addresses, expected);
    let production_view = by_address(harness.observe("ai-prod", std::slice::from_ref(&production)).await.unwrap());
    assert_eq!(production_view.keys().collect::<Vec<_>>(), [&production.address]);
}

#[tokio::test]
async fn observe_lists_each_kind_once() {
    let harness = Harness::start().await;
    let desired = common::all(ENVIRONMENT);
    harness.create_all(ENVIRONMENT, &desired).await;
    let before = harness.server.requests().len();

    harness.observe(ENVIRONMENT, &desired).await.unwrap();

    let requests = harness.server.requests();
    let lists: Vec<&str> = requests[before..]
        .iter()
        .filter(|request| {
            request.method == "GET" && request.query.as_deref().is_some_and(|query| query.contains("labelSelector"))
        })
        .map(|request| request.path.as_str())
        .collect();
    let mut sorted = lists.clone();
    sorted.sort_unstable();
    assert_eq!(
        sorted,
        [
            "/api/v1/namespaces",
            "/api/v1/secrets",
            "/apis/hypershift.openshift.io/v1beta1/hostedclusters",
            "/apis/hypershift.openshift.io/v1beta1/nodepools",
            "/apis/machineconfiguration.openshift.io/v1/machineconfigs",
        ]
    );
    let other = requests[before..].iter().filter(|request| !lists.contains(&request.path.as_str())).count();
    assert_eq!(other, 0, "discovery is cached from the applies: {:?}", &requests[before..]);
}

#[tokio::test]
async fn observe_selector_names_environment() {
    let harness = Harness::start().await;
    let desired = [common::namespace(ENVIRONMENT)];
    harness.create_all(ENVIRONMENT, &desired).await;
    let before = harness.server.requests().len();

    harness.observe(ENVIRONMENT, &desired).await.unwrap();

    let requests = harness.server.requests();
    let query = requests[before..].iter().find_map(|request| request.query.clone()).expect("a list query");
    assert!(query.contains("app.kubernetes.io%2Fmanaged-by%3Dtether%2Ctether.dev%2Fenvironment%3Dai-dev"), "{query}");
}

#[tokio::test]
async fn apply_uses_field_manager_tether_with_force() {
    let harness = Harness::start().await;
    harness.create_all(ENVIRONMENT, &[common::namespace(ENVIRONMENT)]).await;

    let requests = harness.server.requests();
    let patch = requests.iter().find(|request| request.method == "PATCH").expect("a PATCH request");
    assert_eq!(patch.path, "/api/v1/namespaces/hcp-ai");
    assert_eq!(patch.field_manager.as_deref(), Some("tether"));
    assert!(patch.query.as_deref().unwrap_or_default().contains("force=true"), "{:?}", patch.query);
}

#[tokio::test]
async fn apply_takes_over_fields_of_other_manager() {
    let harness = Harness::start().await;
    harness.create_all(ENVIRONMENT, &[common::namespace(ENVIRONMENT)]).await;
    let mut manual = serde_json::to_value(&common::node_pool(ENVIRONMENT, "gpu", "g6.xlarge", 9).attributes).unwrap();
    manual["metadata"]["name"] = json!("ai-gpu");
    create_raw(&harness, "/apis/hypershift.openshift.io/v1beta1/namespaces/hcp-ai/nodepools", manual).await;
    let gpu = common::node_pool(ENVIRONMENT, "gpu", "g6.xlarge", 2);

    harness.update(ENVIRONMENT, "hcp-ai/ai-gpu", &gpu).await.unwrap();

    let stored = harness.server.get("hypershift.openshift.io/v1beta1", "NodePool", Some(NAMESPACE), "ai-gpu").unwrap();
    assert_eq!(stored["spec"]["autoScaling"]["max"], json!(2));
}

#[tokio::test]
async fn empty_scope_sends_no_requests() {
    let harness = Harness::start().await;

    let observed = harness.observe(ENVIRONMENT, &[]).await.unwrap();

    assert!(observed.is_empty());
    assert!(harness.server.requests().is_empty());
}
