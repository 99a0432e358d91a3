//! `metadata.managedFields` of the test API server, read through the real kube client: entries
//! recorded by server-side apply and by other writes, ownership moving between managers, and the
//! writes that must leave ownership alone (no-ops, dry runs).

use std::io::{Read as _, Write as _};
use std::net::TcpStream;

use kube::api::{ApiResource, DynamicObject, GroupVersionKind, Patch, PatchParams, PostParams};
use kube::config::{KubeConfigOptions, Kubeconfig};
use kube::{Api, Client, Config};
use serde_json::{Value, json};
use tether_testkit::kube::KubeTestServer;

const HYPERSHIFT: &str = "hypershift.openshift.io/v1beta1";
const HOSTED_CLUSTERS: &str = "/apis/hypershift.openshift.io/v1beta1/namespaces/default/hostedclusters";

async fn connect() -> (KubeTestServer, Client) {
    let server = KubeTestServer::start().await.expect("test server starts");
    let kubeconfig = Kubeconfig::from_yaml(&server.kubeconfig()).expect("kubeconfig parses");
    let config =
        Config::from_custom_kubeconfig(kubeconfig, &KubeConfigOptions::default()).await.expect("kubeconfig loads");
    let client = Client::try_from(config).expect("client builds");
    (server, client)
}

fn hosted_clusters(client: &Client) -> Api<DynamicObject> {
    let gvk = GroupVersionKind::gvk("hypershift.openshift.io", "v1beta1", "HostedCluster");
    Api::namespaced_with(client.clone(), "default", &ApiResource::from_gvk_with_plural(&gvk, "hostedclusters"))
}

fn hosted_cluster(labels: Value, spec: Value) -> Value {
    json!({
        "apiVersion": HYPERSHIFT, "kind": "HostedCluster",
        "metadata": {"name": "ai", "namespace": "default", "labels": labels},
        "spec": spec
    })
}

/// Applies the reference configuration as `tether`: one label, the release image and the replica count.
async fn apply_as_tether(api: &Api<DynamicObject>) -> DynamicObject {
    let config = hosted_cluster(json!({"app": "ai"}), json!({"release": {"image": "a"}, "replicas": 2}));
    api.patch("ai", &PatchParams::apply("tether"), &Patch::Apply(config)).await.expect("tether applies")
}

/// Returns the parameters of a merge or JSON patch by `manager`.
fn patch_params(manager: &str) -> PatchParams {
    PatchParams { field_manager: Some(manager.to_owned()), ..PatchParams::default() }
}

/// Returns the object's `managedFields` as JSON.
fn managed_fields(object: &DynamicObject) -> Value {
    serde_json::to_value(&object.metadata.managed_fields).expect("managedFields serialise")
}

/// Returns the `fieldsV1` of one entry, `None` when the object has no such entry.
fn fields_of(object: &DynamicObject, manager: &str, operation: &str) -> Option<Value> {
    let entries = object.metadata.managed_fields.as_ref()?;
    let entry = entries
        .iter()
        .find(|entry| entry.manager.as_deref() == Some(manager) && entry.operation.as_deref() == Some(operation))?;
    serde_json::to_value(entry.fields_v1.as_ref()?).ok()
}

/// Sends one request over plain HTTP with the given user agent and returns the response body.
fn raw_request(server: &KubeTestServer, method: &str, path: &str, user_agent: &str, body: &Value) -> Value {
    let address = server.url().trim_start_matches("http://").to_owned();
    let body = body.to_string();
    let mut stream = TcpStream::connect(&address).expect("test server reachable");
    let request = format!(
        "{method} {path} HTTP/1.1\r\nHost: {address}\r\nUser-Agent: {user_agent}\r\n\
         Content-Type: application/merge-patch+json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
        body.len()
    );
    stream.write_all(request.as_bytes()).expect("request sent");
    let mut response = String::new();
    stream.read_to_string(&mut response).expect("response read");
    assert!(response.starts_with("HTTP/1.1 200"), "{method} {path} failed:\n{response}");
    let (_, body) = response.split_once("\r\n\r\n").expect("a response body");
    serde_json::from_str(body).expect("the body is JSON")
}

#[tokio::test]
async fn apply_records_apply_entry() {
    let (_server, client) = connect().await;
    let applied = apply_as_tether(&hosted_clusters(&client)).await;

    let entries = managed_fields(&applied);
    assert_eq!(entries.as_array().map(Vec::len), Some(1), "{entries:#}");
    let entry = &entries[0];
    assert_eq!(entry["manager"], "tether");
    assert_eq!(entry["operation"], "Apply");
    assert_eq!(entry["apiVersion"], HYPERSHIFT);
    assert_eq!(entry["fieldsType"], "FieldsV1");
    assert!(entry["time"].as_str().is_some_and(|time| time.ends_with('Z')), "{entry:#}");
    assert_eq!(entry.get("subresource"), None, "{entry:#}");
    assert_eq!(
        entry["fieldsV1"],
        json!({"f:metadata": {"f:labels": {"f:app": {}}}, "f:spec": {"f:release": {"f:image": {}}, "f:replicas": {}}})
    );
}

#[tokio::test]
async fn get_and_list_return_managed_fields() {
    let (_server, client) = connect().await;
    let api = hosted_clusters(&client);
    let applied = apply_as_tether(&api).await;

    let fetched = api.get("ai").await.expect("get");
    let listed = api.list(&Default::default()).await.expect("list");
    assert_eq!(managed_fields(&fetched), managed_fields(&applied));
    assert_eq!(managed_fields(&listed.items[0]), managed_fields(&applied));
}

#[tokio::test]
async fn merge_patch_moves_changed_field() {
    let (_server, client) = connect().await;
    let api = hosted_clusters(&client);
    apply_as_tether(&api).await;

    let patch = json!({"spec": {"replicas": 5, "release": {"image": "a"}}});
    let patched = api.patch("ai", &patch_params("kubectl-patch"), &Patch::Merge(patch)).await.unwrap();

    assert_eq!(fields_of(&patched, "kubectl-patch", "Update"), Some(json!({"f:spec": {"f:replicas": {}}})));
    assert_eq!(
        fields_of(&patched, "tether", "Apply"),
        Some(json!({"f:metadata": {"f:labels": {"f:app": {}}}, "f:spec": {"f:release": {"f:image": {}}}})),
        "the unchanged image stays tether's"
    );
}

#[tokio::test]
async fn json_patch_removal_drops_ownership() {
    let (_server, client) = connect().await;
    let api = hosted_clusters(&client);
    apply_as_tether(&api).await;

    let removal: json_patch::Patch =
        serde_json::from_value(json!([{"op": "remove", "path": "/spec/release"}])).expect("valid JSON patch");
    let params = patch_params("kubectl-edit");
    let patched = api.patch("ai", &params, &Patch::<()>::Json(removal)).await.expect("JSON patch");

    assert_eq!(
        fields_of(&patched, "tether", "Apply"),
        Some(json!({"f:metadata": {"f:labels": {"f:app": {}}}, "f:spec": {"f:replicas": {}}}))
    );
    assert_eq!(fields_of(&patched, "kubectl-edit", "Update"), None, "a removal owns nothing");
}

#[tokio::test]
async fn put_extends_update_entry() {
    let (_server, client) = connect().await;
    let api = hosted_clusters(&client);
    let applied = apply_as_tether(&api).await;
    let params = PostParams { field_manager: Some("console".to_owned()), ..PostParams::default() };

    let mut edited = applied.clone();
    edited.data["spec"]["replicas"] = json!(3);
    let first = api.replace("ai", &params, &edited).await.expect("first PUT");
    let mut edited = first.clone();
    edited.metadata.labels.get_or_insert_default().insert("team".to_owned(), "ml".to_owned());
    let second = api.replace("ai", &params, &edited).await.expect("second PUT");

    assert_eq!(
        fields_of(&second, "console", "Update"),
        Some(json!({"f:metadata": {"f:labels": {"f:team": {}}}, "f:spec": {"f:replicas": {}}})),
        "the second write adds to the first one's entry"
    );
    let entries = managed_fields(&second);
    assert_eq!(entries.as_array().map(Vec::len), Some(2), "{entries:#}");
}

#[tokio::test]
async fn forced_apply_takes_field() {
    let (_server, client) = connect().await;
    let api = hosted_clusters(&client);
    apply_as_tether(&api).await;

    let rival = hosted_cluster(json!({"team": "ml"}), json!({"replicas": 4}));
    let forced = api.patch("ai", &PatchParams::apply("autoscaler").force(), &Patch::Apply(rival)).await.unwrap();

    assert_eq!(
        fields_of(&forced, "autoscaler", "Apply"),
        Some(json!({"f:metadata": {"f:labels": {"f:team": {}}}, "f:spec": {"f:replicas": {}}}))
    );
    assert_eq!(
        fields_of(&forced, "tether", "Apply"),
        Some(json!({"f:metadata": {"f:labels": {"f:app": {}}}, "f:spec": {"f:release": {"f:image": {}}}}))
    );
}

#[tokio::test]
async fn same_value_write_takes_nothing() {
    let (_server, client) = connect().await;
    let api = hosted_clusters(&client);
    let applied = apply_as_tether(&api).await;

    let params = patch_params("kubectl-patch");
    let patched = api.patch("ai", &params, &Patch::Merge(json!({"spec": {"replicas": 2}}))).await.unwrap();

    assert_eq!(managed_fields(&patched), managed_fields(&applied), "a no-op write changes no entry");
    assert_eq!(patched.metadata.resource_version, applied.metadata.resource_version);
}

#[tokio::test]
async fn noop_apply_keeps_time_and_version() {
    let (_server, client) = connect().await;
    let api = hosted_clusters(&client);
    let first = apply_as_tether(&api).await;
    // `time` has whole seconds: a new time would differ after this pause.
    tokio::time::sleep(std::time::Duration::from_millis(1100)).await;
    let second = apply_as_tether(&api).await;

    assert_eq!(managed_fields(&second), managed_fields(&first));
    assert_eq!(second.metadata.resource_version, first.metadata.resource_version);
}

#[tokio::test]
async fn dry_run_leaves_stored_ownership() {
    let (_server, client) = connect().await;
    let api = hosted_clusters(&client);
    let applied = apply_as_tether(&api).await;

    // A null `labels` is left out of the applied configuration.
    let rival = hosted_cluster(Value::Null, json!({"replicas": 4}));
    let params = PatchParams::apply("autoscaler").force().dry_run();
    let preview = api.patch("ai", &params, &Patch::Apply(rival)).await.expect("dry-run apply");

    assert_eq!(fields_of(&preview, "autoscaler", "Apply"), Some(json!({"f:spec": {"f:replicas": {}}})));
    let stored = api.get("ai").await.expect("get");
    assert_eq!(managed_fields(&stored), managed_fields(&applied), "a dry run stores nothing");
}

#[tokio::test]
async fn status_write_has_subresource() {
    let (server, client) = connect().await;
    let api = hosted_clusters(&client);
    apply_as_tether(&api).await;

    server.set_status(HYPERSHIFT, "HostedCluster", Some("default"), "ai", json!({"version": "4.17"})).unwrap();
    let object = api.get("ai").await.expect("get");

    let entries = managed_fields(&object);
    let status_entry = entries
        .as_array()
        .unwrap()
        .iter()
        .find(|entry| entry["subresource"] == "status")
        .unwrap_or_else(|| panic!("a status entry: {entries:#}"));
    assert_eq!(status_entry["operation"], "Update");
    assert_eq!(status_entry["fieldsV1"], json!({"f:status": {"f:version": {}}}));
    assert_eq!(fields_of(&object, "tether", "Apply").unwrap()["f:spec"]["f:replicas"], json!({}));
}

/// A blocking test: the raw request below would stall a server that ran on the test's runtime.
#[test]
fn manager_defaults_to_user_agent() {
    let server = KubeTestServer::start_in_background().expect("test server starts");
    server.create(hosted_cluster(json!({"app": "ai"}), json!({"replicas": 2}))).expect("created");

    let patched = raw_request(
        &server,
        "PATCH",
        &format!("{HOSTED_CLUSTERS}/ai"),
        "kubectl/v1.32.0 (linux/amd64) kubernetes/abcdef",
        &json!({"spec": {"replicas": 6}}),
    );

    let entries = patched["metadata"]["managedFields"].as_array().expect("managedFields");
    let update = entries.iter().find(|entry| entry["manager"] == "kubectl").expect("an entry of `kubectl`");
    assert_eq!(update["operation"], "Update");
    assert_eq!(update["fieldsV1"], json!({"f:spec": {"f:replicas": {}}}));
}

#[tokio::test]
async fn sent_managed_fields_ignored() {
    let (_server, client) = connect().await;
    let api = hosted_clusters(&client);
    let applied = apply_as_tether(&api).await;

    let mut forged = applied.clone();
    let entry = json!({"manager": "intruder", "operation": "Apply", "fieldsType": "FieldsV1", "fieldsV1": {}});
    forged.metadata.managed_fields = Some(vec![serde_json::from_value(entry).expect("valid entry")]);
    let params = PostParams { field_manager: Some("console".to_owned()), ..PostParams::default() };
    let replaced = api.replace("ai", &params, &forged).await.expect("PUT");

    assert_eq!(managed_fields(&replaced), managed_fields(&applied));
}
