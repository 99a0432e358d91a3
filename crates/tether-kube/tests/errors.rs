//! Provider errors against the Kubernetes test API server: retryable classes, unserved kinds,
//! and Secret data kept out of every error and Debug output.

mod common;

use std::time::Duration;

use common::{ENVIRONMENT, Harness, PULL_SECRET, error_chain, pull_secret_base64};
use tether_engine::ProviderError;
use tether_kube::ClientTimeouts;
use tether_testkit::kube::{Fault, KubeTestServer, ResourceTable, ResourceType};

/// Asserts that neither the pull secret's plaintext, its base64 form, nor the registry token
/// inside it appears in any rendering of `text`.
fn assert_no_pull_secret(text: &str) {
    let token = "dGV0aGVyLXRlc3Q6c2VrcmV0LXB1bGwtdG9rZW4=";
    for secret in [PULL_SECRET, pull_secret_base64().as_str(), token, "sekret-pull-token"] {
        assert!(!text.contains(secret), "`{secret}` appears in: {text}");
    }
}

fn renderings(error: &ProviderError) -> String {
    format!("{error}\n{}\n{error:?}\n{error:#?}", error_chain(error))
}

#[tokio::test]
async fn secret_apply_into_missing_namespace_hides_data() {
    let harness = Harness::start().await;

    let error = harness.create(ENVIRONMENT, &common::pull_secret(ENVIRONMENT)).await.unwrap_err();

    assert!(!error.retryable);
    assert_eq!(error.operation, "server-side apply of Secret hcp-ai/ai-pull-secret");
    let chain = error_chain(&error);
    assert!(chain.contains("404 NotFound"), "{chain}");
    assert!(chain.contains("namespaces \"hcp-ai\" not found"), "{chain}");
    assert_no_pull_secret(&renderings(&error));
}

#[tokio::test]
async fn secret_apply_server_error_hides_data() {
    let harness = Harness::start().await;
    harness.create_all(ENVIRONMENT, &[common::namespace(ENVIRONMENT)]).await;
    harness.server.inject_fault(Fault::fail(500).on("PATCH", "/secrets/").times(10));

    let error = harness.create(ENVIRONMENT, &common::pull_secret(ENVIRONMENT)).await.unwrap_err();

    assert!(error.retryable);
    assert!(error_chain(&error).contains("500 InternalError"), "{}", error_chain(&error));
    assert_no_pull_secret(&renderings(&error));
}

#[tokio::test]
async fn observed_secret_debug_hides_data() {
    let harness = Harness::start().await;
    let desired = [common::namespace(ENVIRONMENT), common::pull_secret(ENVIRONMENT)];
    harness.create_all(ENVIRONMENT, &desired).await;

    let observed = harness.observe(ENVIRONMENT, &desired).await.unwrap();
    let applied = harness.create(ENVIRONMENT, &desired[1]).await.unwrap();

    assert_no_pull_secret(&format!("{observed:?} {observed:#?}"));
    assert_no_pull_secret(&format!("{applied:?}"));
    assert_no_pull_secret(&format!("{:?}", harness.provider));
    assert_no_pull_secret(&serde_json::to_string(&observed[1].attributes).unwrap());
}

#[tokio::test]
async fn secret_list_failure_hides_data() {
    let harness = Harness::start().await;
    let desired = [common::namespace(ENVIRONMENT), common::pull_secret(ENVIRONMENT)];
    harness.create_all(ENVIRONMENT, &desired).await;
    harness.server.inject_fault(Fault::fail(503).on("GET", "/secrets").times(10));

    let error = harness.observe(ENVIRONMENT, &desired).await.unwrap_err();

    assert!(error.retryable);
    assert_eq!(error.operation, "list of Secret (v1)");
    assert_no_pull_secret(&renderings(&error));
}

#[tokio::test]
async fn secret_delete_failure_hides_data() {
    let harness = Harness::start().await;
    let desired = [common::namespace(ENVIRONMENT), common::pull_secret(ENVIRONMENT)];
    harness.create_all(ENVIRONMENT, &desired).await;
    harness.server.inject_fault(Fault::fail(500).on("DELETE", "/secrets/").times(10));

    let error = harness.delete(ENVIRONMENT, "hcp-ai/ai-pull-secret", &desired[1]).await.unwrap_err();

    assert!(error.retryable);
    assert_eq!(error.operation, "delete of Secret hcp-ai/ai-pull-secret");
    assert_no_pull_secret(&renderings(&error));
}

#[tokio::test]
async fn throttled_apply_retried_then_succeeds() {
    let harness = Harness::start().await;
    harness.create_all(ENVIRONMENT, &[common::namespace(ENVIRONMENT)]).await;
    harness.server.inject_fault(Fault::throttle(1).on("PATCH", "/hostedclusters/"));
    let before = harness.server.requests().len();

    harness.create(ENVIRONMENT, &common::hosted_cluster(ENVIRONMENT)).await.unwrap();

    let patches = harness.server.requests()[before..].iter().filter(|request| request.method == "PATCH").count();
    assert_eq!(patches, 2, "one throttled attempt, then one that succeeds");
}

#[tokio::test]
async fn persistent_throttling_ends_retryable() {
    let harness = Harness::start().await;
    harness.create_all(ENVIRONMENT, &[common::namespace(ENVIRONMENT)]).await;
    harness.server.inject_fault(Fault::throttle(0).on("PATCH", "/hostedclusters/").times(10));
    let before = harness.server.requests().len();

    let error = harness.create(ENVIRONMENT, &common::hosted_cluster(ENVIRONMENT)).await.unwrap_err();

    assert!(error.retryable);
    assert_eq!(error.operation, "server-side apply of HostedCluster hcp-ai/ai");
    assert!(error_chain(&error).contains("429 TooManyRequests"), "{}", error_chain(&error));
    let patches = harness.server.requests()[before..].iter().filter(|request| request.method == "PATCH").count();
    assert_eq!(patches, tether_kube::RetrySettings::default().max_attempts as usize, "bounded retries");
}

#[tokio::test]
async fn invalid_apply_is_not_retryable() {
    let harness = Harness::start().await;
    harness.create_all(ENVIRONMENT, &[common::namespace(ENVIRONMENT)]).await;
    harness.server.inject_fault(Fault::fail(422).on("PATCH", "/nodepools/"));

    let error = harness.create(ENVIRONMENT, &common::node_pool(ENVIRONMENT, "gpu", "g6.xlarge", 2)).await.unwrap_err();

    assert!(!error.retryable);
    assert!(error_chain(&error).contains("422 Invalid"), "{}", error_chain(&error));
}

#[tokio::test]
async fn slow_response_times_out_retryable() {
    let server = KubeTestServer::start().await.unwrap();
    let timeouts = ClientTimeouts { read: Duration::from_millis(300), ..ClientTimeouts::default() };
    let harness = Harness::with_timeouts(server, timeouts).await;
    harness.server.inject_fault(Fault::delay(Duration::from_secs(3)).on("GET", "/api/v1").times(10));

    let error = harness.observe(ENVIRONMENT, &[common::namespace(ENVIRONMENT)]).await.unwrap_err();

    assert!(error.retryable, "{}", error_chain(&error));
    assert!(error_chain(&error).contains("did not respond"), "{}", error_chain(&error));
}

#[tokio::test]
async fn unreachable_server_is_retryable() {
    let directory = tempfile::tempdir().unwrap();
    let kubeconfig = directory.path().join("kubeconfig");
    let server = KubeTestServer::start().await.unwrap();
    server.write_kubeconfig(&kubeconfig).unwrap();
    drop(server);
    let options = tether_kube::KubeOptions { kubeconfig: Some(kubeconfig), context: None };
    let provider = tether_kube::TetherKube::connect(&options).await.unwrap();

    let namespace = common::namespace(ENVIRONMENT);
    let resources = [tether_model::Resource::new(namespace.address, namespace.attributes)];
    let state = tether_model::State::empty(ENVIRONMENT);
    let scope = tether_engine::ObserveScope { environment: ENVIRONMENT, desired: &resources, state: &state };
    let error = tether_engine::Provider::observe(&provider, &scope).await.unwrap_err();

    assert!(error.retryable, "{}", error_chain(&error));
    assert!(error_chain(&error).contains("did not respond"), "{}", error_chain(&error));
}

#[tokio::test]
async fn unserved_hypershift_names_missing_crd() {
    let core_only = ResourceTable::empty()
        .with(ResourceType::cluster_scoped("v1", "Namespace", "namespaces").builtin().with_status())
        .with(ResourceType::namespaced("v1", "Secret", "secrets").builtin());
    let server = KubeTestServer::builder().resources(core_only).start().await.unwrap();
    let harness = Harness::with_server(server).await;
    let desired = [common::namespace(ENVIRONMENT), common::hosted_cluster(ENVIRONMENT)];

    let error = harness.observe(ENVIRONMENT, &desired).await.unwrap_err();

    assert!(!error.retryable);
    assert_eq!(error.operation, "discovery of HostedCluster (hypershift.openshift.io/v1beta1)");
    let chain = error_chain(&error);
    assert!(chain.contains("does not serve HostedCluster (hypershift.openshift.io/v1beta1)"), "{chain}");
    assert!(
        chain.contains("the CustomResourceDefinition hostedclusters.hypershift.openshift.io is not installed"),
        "{chain}"
    );
    assert!(chain.contains("install the HyperShift operator"), "{chain}");
}

#[tokio::test]
async fn unserved_kind_in_served_group() {
    let harness = Harness::start().await;
    harness.create_all(ENVIRONMENT, &[common::namespace(ENVIRONMENT)]).await;
    let mut control_plane = common::node_pool(ENVIRONMENT, "gpu", "g6.xlarge", 2);
    control_plane.attributes.insert("kind".to_owned(), tether_model::Value::from("HostedControlPlane"));

    let error = harness.create(ENVIRONMENT, &control_plane).await.unwrap_err();

    let chain = error_chain(&error);
    assert!(chain.contains("does not serve HostedControlPlane (hypershift.openshift.io/v1beta1)"), "{chain}");
    assert!(chain.contains("install the HyperShift operator"), "{chain}");
}

#[tokio::test]
async fn cluster_scoped_kind_rejects_namespace() {
    let harness = Harness::start().await;
    let mut machine_config = common::machine_config(ENVIRONMENT);
    if let Some(tether_model::Value::Map(metadata)) = machine_config.attributes.get_mut("metadata") {
        metadata.insert("namespace".to_owned(), tether_model::Value::from("hcp-ai"));
    }

    let error = harness.create(ENVIRONMENT, &machine_config).await.unwrap_err();

    let chain = error_chain(&error);
    assert!(chain.contains("MachineConfig is cluster-scoped, so metadata.namespace must be absent"), "{chain}");
    assert!(harness.server.requests().iter().all(|request| request.method != "PATCH"));
}

#[tokio::test]
async fn missing_marks_are_rejected_before_sending() {
    let harness = Harness::start().await;
    let mut namespace = common::namespace(ENVIRONMENT);
    if let Some(tether_model::Value::Map(metadata)) = namespace.attributes.get_mut("metadata") {
        metadata.remove("annotations");
    }

    let error = harness.create(ENVIRONMENT, &namespace).await.unwrap_err();

    let chain = error_chain(&error);
    assert!(chain.contains("metadata.annotations.tether.dev/address must be `cluster.namespace.hcp-ai`"), "{chain}");
    assert!(harness.server.requests().is_empty());
}
