//! Client configuration: kubeconfig path, context selection and their errors.

mod common;

use common::{ENVIRONMENT, Harness};
use tether_kube::{ConnectError, KubeOptions, TetherKube};
use tether_testkit::kube::KubeTestServer;

#[tokio::test]
async fn connect_with_path_and_context() {
    let server = KubeTestServer::start().await.unwrap();
    let directory = tempfile::tempdir().unwrap();
    let kubeconfig = directory.path().join("config");
    server.write_kubeconfig(&kubeconfig).unwrap();
    let options = KubeOptions { kubeconfig: Some(kubeconfig), context: Some("tether-test".to_owned()) };

    let provider = TetherKube::connect(&options).await.unwrap();

    assert_eq!(provider.cluster_url().trim_end_matches('/'), server.url());
}

#[tokio::test]
async fn connected_provider_observes() {
    let harness = Harness::start().await;
    harness.create_all(ENVIRONMENT, &[common::namespace(ENVIRONMENT)]).await;

    let observed = harness.observe(ENVIRONMENT, &[common::namespace(ENVIRONMENT)]).await.unwrap();

    assert_eq!(observed.len(), 1);
}

#[tokio::test]
async fn unknown_context_is_rejected() {
    let server = KubeTestServer::start().await.unwrap();
    let directory = tempfile::tempdir().unwrap();
    let kubeconfig = directory.path().join("config");
    server.write_kubeconfig(&kubeconfig).unwrap();
    let options = KubeOptions { kubeconfig: Some(kubeconfig.clone()), context: Some("production".to_owned()) };

    let error = TetherKube::connect(&options).await.unwrap_err();

    assert!(matches!(error, ConnectError::LoadKubeconfig { .. }), "{error:?}");
    let message = error.to_string();
    assert_eq!(message, format!("cannot load context `production` from the kubeconfig {}", kubeconfig.display()));
}

#[tokio::test]
async fn missing_kubeconfig_is_rejected() {
    let directory = tempfile::tempdir().unwrap();
    let kubeconfig = directory.path().join("absent");
    let options = KubeOptions { kubeconfig: Some(kubeconfig.clone()), context: None };

    let error = TetherKube::connect(&options).await.unwrap_err();

    assert!(matches!(error, ConnectError::ReadKubeconfig { .. }), "{error:?}");
    assert_eq!(error.to_string(), format!("cannot read the kubeconfig {}", kubeconfig.display()));
}
