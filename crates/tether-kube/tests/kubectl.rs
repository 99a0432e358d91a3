//! kubectl 1.32 as an independent client lists and reads what the provider applied.

mod common;

use std::path::Path;

use common::{ENVIRONMENT, Harness, NAMESPACE};

const KUBECTL: &str = "/usr/bin/kubectl";

/// Runs kubectl against the harness's kubeconfig with a private cache directory and returns
/// its standard output.
async fn kubectl(harness: &Harness, cache: &Path, arguments: &[&str]) -> String {
    let output = tokio::process::Command::new(KUBECTL)
        .arg("--kubeconfig")
        .arg(&harness.kubeconfig)
        .arg("--cache-dir")
        .arg(cache)
        .args(arguments)
        .output()
        .await
        .expect("kubectl runs");
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(output.status.success(), "kubectl {arguments:?} failed: {stderr}");
    String::from_utf8(output.stdout).expect("kubectl prints UTF-8")
}

fn kubectl_missing() -> bool {
    if Path::new(KUBECTL).exists() {
        return false;
    }
    println!("skipped: {KUBECTL} is not installed");
    true
}

#[tokio::test]
async fn kubectl_lists_hosted_clusters_and_node_pools() {
    if kubectl_missing() {
        return;
    }
    let harness = Harness::start().await;
    harness.create_all(ENVIRONMENT, &common::all(ENVIRONMENT)).await;
    let cache = tempfile::tempdir().unwrap();

    let output = kubectl(&harness, cache.path(), &["get", "hostedclusters,nodepools", "-A", "-o", "json"]).await;

    let list: serde_json::Value = serde_json::from_str(&output).expect("kubectl prints JSON");
    let mut objects: Vec<(String, String, String)> = list["items"]
        .as_array()
        .expect("a list")
        .iter()
        .map(|item| {
            let text = |value: &serde_json::Value| value.as_str().unwrap_or_default().to_owned();
            (text(&item["kind"]), text(&item["metadata"]["namespace"]), text(&item["metadata"]["name"]))
        })
        .collect();
    objects.sort();
    let expected = [("HostedCluster", "ai"), ("NodePool", "ai-general"), ("NodePool", "ai-gpu")]
        .map(|(kind, name)| (kind.to_owned(), NAMESPACE.to_owned(), name.to_owned()));
    assert_eq!(objects, expected);
}

#[tokio::test]
async fn kubectl_sees_applied_fields_and_labels() {
    if kubectl_missing() {
        return;
    }
    let harness = Harness::start().await;
    harness.create_all(ENVIRONMENT, &common::all(ENVIRONMENT)).await;
    let cache = tempfile::tempdir().unwrap();

    let output = kubectl(
        &harness,
        cache.path(),
        &[
            "get",
            "nodepools",
            "-n",
            NAMESPACE,
            "-l",
            "tether.dev/environment=ai-dev",
            "-o",
            "jsonpath={.items[*].spec.autoScaling.max}",
        ],
    )
    .await;
    let mut maxima: Vec<&str> = output.split_whitespace().collect();
    maxima.sort_unstable();
    assert_eq!(maxima, ["2", "4"]);

    let routes = kubectl(
        &harness,
        cache.path(),
        &["get", "machineconfig", "99-master-onprem-routes", "-o", "jsonpath={.spec.config.storage.files[0].mode}"],
    )
    .await;
    assert_eq!(routes, "493");
}
