//! Documents kept with the state in the `kubernetes` backend, e.g. the last announced drift.

mod common;

use common::{ENVIRONMENT, Harness, NAMESPACE};
use serde_json::json;
use tether_engine::{StateError, StateStore as _};

#[tokio::test]
async fn document_round_trips_through_a_config_map() {
    let harness = Harness::start().await;
    let store = harness.provider.state_store(NAMESPACE, ENVIRONMENT);
    assert_eq!(store.load_document(ENVIRONMENT, "drift-report").await.unwrap(), None);

    let first = json!({"announced": [{"address": "cluster.node_pool.gpu", "kind": "changed"}]});
    store.save_document(ENVIRONMENT, "drift-report", &first).await.unwrap();
    let second = json!({"announced": []});
    store.save_document(ENVIRONMENT, "drift-report", &second).await.unwrap();

    let fresh = harness.provider.state_store(NAMESPACE, ENVIRONMENT);
    assert_eq!(fresh.load_document(ENVIRONMENT, "drift-report").await.unwrap(), Some(second.clone()));
    let stored = harness.server.get("v1", "ConfigMap", Some(NAMESPACE), "tether-ai-dev-drift-report").unwrap();
    assert_eq!(stored["metadata"]["labels"]["tether.dev/state-of"], ENVIRONMENT);
    let text = stored["data"]["document.json"].as_str().unwrap();
    assert_eq!(serde_json::from_str::<serde_json::Value>(text).unwrap(), second);
    assert_eq!(fresh.load(ENVIRONMENT).await.unwrap(), None, "a document is not the state");
}

#[tokio::test]
async fn corrupt_document_names_its_config_map() {
    let harness = Harness::start().await;
    harness.server.create(json!({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": NAMESPACE}})).unwrap();
    harness
        .server
        .create(json!({
            "apiVersion": "v1", "kind": "ConfigMap",
            "metadata": {"name": "tether-ai-dev-drift-report", "namespace": NAMESPACE},
            "data": {"document.json": "{"}
        }))
        .unwrap();
    let store = harness.provider.state_store(NAMESPACE, ENVIRONMENT);

    let error = store.load_document(ENVIRONMENT, "drift-report").await.unwrap_err();
    assert!(matches!(error, StateError::DocumentCorrupt { .. }), "{error}");
    assert!(error.to_string().contains("ConfigMap hcp-ai/tether-ai-dev-drift-report"), "{error}");
}
