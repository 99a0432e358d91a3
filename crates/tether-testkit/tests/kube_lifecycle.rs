//! The test API server driven by the real kube 5 client: status subresource, HyperShift
//! status helpers, finalizers, namespace deletion, watch, dry run, faults and server lifecycle.

use std::time::{Duration, Instant};

use futures::{StreamExt as _, TryStreamExt as _};
use k8s_openapi::api::core::v1::{ConfigMap, Namespace, Secret};
use kube::api::{
    ApiResource, DeleteParams, DynamicObject, GroupVersionKind, ListParams, Patch, PatchParams, PostParams, WatchEvent,
    WatchParams,
};
use kube::config::{KubeConfigOptions, Kubeconfig};
use kube::core::Status;
use kube::runtime::wait::await_condition;
use kube::{Api, Client, Config, ResourceExt};
use serde_json::{Value, json};
use tether_testkit::kube::{Fault, KubeTestServer};

const HYPERSHIFT: &str = "hypershift.openshift.io/v1beta1";

async fn client_for(server: &KubeTestServer) -> Client {
    let kubeconfig = Kubeconfig::from_yaml(&server.kubeconfig()).expect("kubeconfig parses");
    let config =
        Config::from_custom_kubeconfig(kubeconfig, &KubeConfigOptions::default()).await.expect("kubeconfig loads");
    Client::try_from(config).expect("client builds")
}

async fn connect() -> (KubeTestServer, Client) {
    let server = KubeTestServer::start().await.expect("test server starts");
    let client = client_for(&server).await;
    (server, client)
}

fn api_for(client: &Client, namespace: &str, kind: &str, plural: &str) -> Api<DynamicObject> {
    let gvk = GroupVersionKind::gvk("hypershift.openshift.io", "v1beta1", kind);
    Api::namespaced_with(client.clone(), namespace, &ApiResource::from_gvk_with_plural(&gvk, plural))
}

fn hosted_clusters(client: &Client, namespace: &str) -> Api<DynamicObject> {
    api_for(client, namespace, "HostedCluster", "hostedclusters")
}

fn object(kind: &str, name: &str, body: Value) -> DynamicObject {
    let mut value = json!({"apiVersion": HYPERSHIFT, "kind": kind, "metadata": {"name": name}});
    if let (Some(target), Some(fields)) = (value.as_object_mut(), body.as_object()) {
        target.extend(fields.clone());
    }
    serde_json::from_value(value).expect("valid object")
}

fn api_error<T: std::fmt::Debug>(result: Result<T, kube::Error>) -> Status {
    match result {
        Err(kube::Error::Api(status)) => *status,
        other => panic!("expected an API error, got {other:?}"),
    }
}

fn resource_version(object: &DynamicObject) -> u64 {
    object.resource_version().and_then(|version| version.parse().ok()).expect("numeric resourceVersion")
}

fn generation(object: &DynamicObject) -> i64 {
    object.metadata.generation.expect("generation set")
}

fn condition_status<'a>(object: &'a DynamicObject, condition_type: &str) -> Option<&'a str> {
    let conditions = object.data["status"]["conditions"].as_array()?;
    let condition = conditions.iter().find(|condition| condition["type"] == condition_type)?;
    condition["status"].as_str()
}

async fn create_namespace(client: &Client, name: &str) {
    let namespaces: Api<Namespace> = Api::all(client.clone());
    let namespace: Namespace = serde_json::from_value(json!({"metadata": {"name": name}})).expect("valid namespace");
    namespaces.create(&PostParams::default(), &namespace).await.expect("namespace created");
}

#[tokio::test]
async fn status_dropped_on_create() {
    let (_server, client) = connect().await;
    let api = hosted_clusters(&client, "default");
    let created = api
        .create(&PostParams::default(), &object("HostedCluster", "ai", json!({"spec": {"a": 1}, "status": {"x": 1}})))
        .await
        .expect("created");
    assert!(created.data.get("status").is_none(), "{:?}", created.data);
}

#[tokio::test]
async fn main_write_keeps_status() {
    let (server, client) = connect().await;
    let api = hosted_clusters(&client, "default");
    api.create(&PostParams::default(), &object("HostedCluster", "ai", json!({"spec": {"a": 1}})))
        .await
        .expect("created");
    server
        .set_status(HYPERSHIFT, "HostedCluster", Some("default"), "ai", json!({"phase": "Ready"}))
        .expect("status set");

    let patched = api
        .patch("ai", &PatchParams::default(), &Patch::Merge(json!({"spec": {"a": 2}, "status": {"phase": "Hacked"}})))
        .await
        .expect("patched");
    assert_eq!(patched.data["status"]["phase"], "Ready");
    assert_eq!(patched.data["spec"]["a"], 2);

    let applied = api
        .patch(
            "ai",
            &PatchParams::apply("tether"),
            &Patch::Apply(object("HostedCluster", "ai", json!({"spec": {"a": 2}, "status": {"phase": "Hacked"}}))),
        )
        .await
        .expect("applied");
    assert_eq!(applied.data["status"]["phase"], "Ready");
}

#[tokio::test]
async fn status_write_keeps_spec() {
    let (_server, client) = connect().await;
    let api = hosted_clusters(&client, "default");
    let created = api
        .create(&PostParams::default(), &object("HostedCluster", "ai", json!({"spec": {"a": 1}})))
        .await
        .expect("created");

    let patch =
        Patch::Merge(json!({"spec": {"a": 9}, "metadata": {"labels": {"x": "y"}}, "status": {"phase": "Ready"}}));
    let patched = api.patch_status("ai", &PatchParams::default(), &patch).await.expect("status patched");
    assert_eq!(patched.data["status"]["phase"], "Ready");
    assert_eq!(patched.data["spec"]["a"], 1, "a status write ignores spec");
    assert!(patched.labels().is_empty(), "a status write ignores metadata");
    assert_eq!(generation(&patched), 1);
    assert!(resource_version(&patched) > resource_version(&created));

    let fetched = api.get_status("ai").await.expect("status readable");
    assert_eq!(fetched.data["status"]["phase"], "Ready");
}

#[tokio::test]
async fn status_apply_and_replace() {
    let (_server, client) = connect().await;
    let api = hosted_clusters(&client, "default");
    api.create(&PostParams::default(), &object("HostedCluster", "ai", json!({"spec": {"a": 1}})))
        .await
        .expect("created");

    let applied = api
        .patch_status(
            "ai",
            &PatchParams::apply("hypershift"),
            &Patch::Apply(object("HostedCluster", "ai", json!({"status": {"phase": "Ready", "x": 1}}))),
        )
        .await
        .expect("status applied");
    assert_eq!(applied.data["status"], json!({"phase": "Ready", "x": 1}));

    let trimmed = api
        .patch_status(
            "ai",
            &PatchParams::apply("hypershift"),
            &Patch::Apply(object("HostedCluster", "ai", json!({"status": {"phase": "Ready"}}))),
        )
        .await
        .expect("status applied again");
    assert_eq!(trimmed.data["status"], json!({"phase": "Ready"}), "a dropped status field goes");

    let mut replacement = trimmed.clone();
    replacement.data["status"] = json!({"phase": "Done"});
    replacement.data["spec"] = json!({"a": 5});
    let replaced = api.replace_status("ai", &PostParams::default(), &replacement).await.expect("status replaced");
    assert_eq!(replaced.data["status"]["phase"], "Done");
    assert_eq!(replaced.data["spec"]["a"], 1);
    assert_eq!(generation(&replaced), 1);
}

#[tokio::test]
async fn hosted_cluster_marked_available() {
    let (server, client) = connect().await;
    let api = hosted_clusters(&client, "default");
    let created =
        api.create(&PostParams::default(), &object("HostedCluster", "ai", json!({"spec": {}}))).await.expect("created");

    server.mark_hosted_cluster_available("default", "ai").expect("marked");
    let marked = api.get("ai").await.expect("readable");
    assert_eq!(condition_status(&marked, "Available"), Some("True"));
    assert_eq!(condition_status(&marked, "Progressing"), Some("False"));
    assert_eq!(condition_status(&marked, "Degraded"), Some("False"));
    assert_eq!(generation(&marked), 1);
    assert!(resource_version(&marked) > resource_version(&created));

    let missing = server.mark_hosted_cluster_available("default", "missing");
    assert!(missing.is_err());
}

#[tokio::test]
async fn node_pool_replicas_reported() {
    let (server, client) = connect().await;
    let api = api_for(&client, "default", "NodePool", "nodepools");
    api.create(&PostParams::default(), &object("NodePool", "gpu", json!({"spec": {"replicas": 2}})))
        .await
        .expect("created");

    server.set_node_pool_replicas("default", "gpu", 2).expect("replicas set");
    let pool = api.get("gpu").await.expect("readable");
    assert_eq!(pool.data["status"]["replicas"], 2);
    assert_eq!(condition_status(&pool, "Ready"), Some("True"));
    assert_eq!(generation(&pool), 1);
}

#[tokio::test]
async fn set_status_rejects_plain_types() {
    let (server, _client) = connect().await;
    let result = server.set_status("v1", "Secret", Some("default"), "x", json!({}));
    assert!(result.is_err());
}

#[tokio::test]
async fn finalizer_holds_deletion() {
    let (_server, client) = connect().await;
    let api = hosted_clusters(&client, "default");
    let body = json!({"metadata": {"name": "ai", "finalizers": ["hypershift.openshift.io/finalizer"]}, "spec": {}});
    api.create(&PostParams::default(), &object("HostedCluster", "ai", body)).await.expect("created");

    let deleted = api.delete("ai", &DeleteParams::default()).await.expect("delete accepted");
    let pending = deleted.left().expect("object returned while finalizers remain");
    assert!(pending.metadata.deletion_timestamp.is_some());
    assert_eq!(generation(&pending), 2, "deletion bumps the generation");
    assert!(api.get("ai").await.is_ok(), "still stored");

    let add = Patch::Merge(json!({"metadata": {"finalizers": ["hypershift.openshift.io/finalizer", "other"]}}));
    assert_eq!(
        api_error(api.patch("ai", &PatchParams::default(), &add).await).code,
        422,
        "no new finalizers while deleting"
    );

    api.patch("ai", &PatchParams::default(), &Patch::Merge(json!({"metadata": {"finalizers": null}})))
        .await
        .expect("finalizers cleared");
    assert!(api_error(api.get("ai").await).is_not_found());
}

#[tokio::test]
async fn delete_preconditions_checked() {
    let (_server, client) = connect().await;
    let api = hosted_clusters(&client, "default");
    let created =
        api.create(&PostParams::default(), &object("HostedCluster", "ai", json!({"spec": {}}))).await.expect("created");

    let wrong_uid = DeleteParams {
        preconditions: Some(kube::api::Preconditions { uid: Some("nope".to_string()), resource_version: None }),
        ..DeleteParams::default()
    };
    let status = api_error(api.delete("ai", &wrong_uid).await);
    assert!(status.is_conflict(), "{status:?}");
    assert!(status.message.contains("Precondition failed"), "{}", status.message);

    let right = DeleteParams {
        preconditions: Some(kube::api::Preconditions {
            uid: created.uid(),
            resource_version: created.resource_version(),
        }),
        ..DeleteParams::default()
    };
    api.delete("ai", &right).await.expect("matching preconditions delete");
}

#[tokio::test]
async fn namespace_delete_cascades() {
    let (server, client) = connect().await;
    create_namespace(&client, "clusters").await;
    let secrets: Api<Secret> = Api::namespaced(client.clone(), "clusters");
    let secret: Secret = serde_json::from_value(json!({"metadata": {"name": "pull-secret"}})).expect("valid secret");
    secrets.create(&PostParams::default(), &secret).await.expect("secret created");
    let api = hosted_clusters(&client, "clusters");
    let finalized =
        json!({"metadata": {"name": "ai", "finalizers": ["hypershift.openshift.io/finalizer"]}, "spec": {}});
    api.create(&PostParams::default(), &object("HostedCluster", "ai", finalized)).await.expect("created");

    let namespaces: Api<Namespace> = Api::all(client.clone());
    let pending = namespaces
        .delete("clusters", &DeleteParams::default())
        .await
        .expect("delete accepted")
        .left()
        .expect("namespace finalized");
    let phase = pending.status.and_then(|status| status.phase);
    assert_eq!(phase.as_deref(), Some("Terminating"));
    assert!(api_error(secrets.get("pull-secret").await).is_not_found());
    assert!(api.get("ai").await.expect("finalized by its finalizer").metadata.deletion_timestamp.is_some());

    let status = api_error(secrets.create(&PostParams::default(), &secret).await);
    assert_eq!(status.code, 403, "no new objects in a terminating namespace");

    api.patch("ai", &PatchParams::default(), &Patch::Merge(json!({"metadata": {"finalizers": []}})))
        .await
        .expect("finalizer removed");
    assert!(server.get("v1", "Namespace", None, "clusters").is_none(), "namespace gone with its last object");
}

#[tokio::test]
async fn default_namespace_protected() {
    let (_server, client) = connect().await;
    let namespaces: Api<Namespace> = Api::all(client);
    let status = api_error(namespaces.delete("default", &DeleteParams::default()).await);
    assert_eq!(status.code, 403);
    assert_eq!(status.reason, "Forbidden");
}

#[tokio::test]
async fn dry_run_stores_nothing() {
    let (server, client) = connect().await;
    let api = hosted_clusters(&client, "default");
    let before = server.requests().len();
    let params = PostParams { dry_run: true, ..PostParams::default() };
    let preview =
        api.create(&params, &object("HostedCluster", "ai", json!({"spec": {}}))).await.expect("dry run accepted");
    assert_eq!(generation(&preview), 1);
    assert!(server.get(HYPERSHIFT, "HostedCluster", Some("default"), "ai").is_none());

    api.create(&PostParams::default(), &object("HostedCluster", "ai", json!({"spec": {"a": 1}})))
        .await
        .expect("created");
    let dry_apply = PatchParams::apply("tether").dry_run();
    let previewed = api
        .patch("ai", &dry_apply, &Patch::Apply(object("HostedCluster", "ai", json!({"spec": {"a": 1, "b": 2}}))))
        .await
        .expect("dry apply");
    assert_eq!(previewed.data["spec"]["b"], 2);
    let stored = server.get(HYPERSHIFT, "HostedCluster", Some("default"), "ai").expect("stored");
    assert_eq!(stored["spec"], json!({"a": 1}));
    assert!(server.requests().len() > before);
}

#[tokio::test]
async fn await_condition_sees_available() {
    let (server, client) = connect().await;
    let api = hosted_clusters(&client, "default");
    api.create(&PostParams::default(), &object("HostedCluster", "ai", json!({"spec": {}}))).await.expect("created");

    let is_available = |object: Option<&DynamicObject>| {
        object.is_some_and(|object| condition_status(object, "Available") == Some("True"))
    };
    let waiter = tokio::spawn(await_condition(api.clone(), "ai", is_available));
    tokio::time::sleep(Duration::from_millis(200)).await;
    server.mark_hosted_cluster_available("default", "ai").expect("marked");

    let found = tokio::time::timeout(Duration::from_secs(10), waiter)
        .await
        .expect("condition met in time")
        .expect("task joins")
        .expect("watch works");
    let found = found.expect("object present");
    assert_eq!(condition_status(&found, "Available"), Some("True"));
}

#[tokio::test]
async fn watch_replays_from_version() {
    let (_server, client) = connect().await;
    let config_maps: Api<ConfigMap> = Api::namespaced(client, "default");
    let start = config_maps
        .list(&ListParams::default())
        .await
        .expect("list works")
        .metadata
        .resource_version
        .expect("list version");

    let config_map: ConfigMap =
        serde_json::from_value(json!({"metadata": {"name": "a"}, "data": {"k": "1"}})).expect("valid config map");
    config_maps.create(&PostParams::default(), &config_map).await.expect("created");
    config_maps.patch("a", &PatchParams::default(), &Patch::Merge(json!({"data": {"k": "2"}}))).await.expect("patched");
    config_maps.delete("a", &DeleteParams::default()).await.expect("deleted");

    let stream = config_maps.watch(&WatchParams::default().timeout(1), &start).await.expect("watch opens");
    let events: Vec<WatchEvent<ConfigMap>> = stream.try_collect().await.expect("stream ends cleanly at the timeout");
    let kinds: Vec<&str> = events
        .iter()
        .map(|event| match event {
            WatchEvent::Added(_) => "ADDED",
            WatchEvent::Modified(_) => "MODIFIED",
            WatchEvent::Deleted(_) => "DELETED",
            WatchEvent::Bookmark(_) => "BOOKMARK",
            WatchEvent::Error(_) => "ERROR",
        })
        .collect();
    assert_eq!(kinds, ["ADDED", "MODIFIED", "DELETED"]);
}

#[tokio::test]
async fn watch_live_with_selector() {
    let (_server, client) = connect().await;
    let config_maps: Api<ConfigMap> = Api::namespaced(client, "default");
    let params = WatchParams::default().labels("app=tether").timeout(10);
    let mut stream = config_maps.watch(&params, "0").await.expect("watch opens").boxed();

    let other: ConfigMap = serde_json::from_value(json!({"metadata": {"name": "other"}})).expect("valid config map");
    config_maps.create(&PostParams::default(), &other).await.expect("created");
    let ours: ConfigMap = serde_json::from_value(json!({"metadata": {"name": "ours", "labels": {"app": "tether"}}}))
        .expect("valid config map");
    config_maps.create(&PostParams::default(), &ours).await.expect("created");
    config_maps
        .patch("ours", &PatchParams::default(), &Patch::Merge(json!({"metadata": {"labels": {"app": null}}})))
        .await
        .expect("unlabelled");

    let first = stream.try_next().await.expect("event").expect("stream open");
    assert!(matches!(&first, WatchEvent::Added(object) if object.name_any() == "ours"), "{first:?}");
    let second = stream.try_next().await.expect("event").expect("stream open");
    assert!(
        matches!(&second, WatchEvent::Deleted(object) if object.name_any() == "ours"),
        "an object that stops matching is deleted for the watch: {second:?}"
    );
}

#[tokio::test]
async fn fault_fails_then_recovers() {
    let (server, client) = connect().await;
    let secrets: Api<Secret> = Api::namespaced(client, "default");
    server.inject_fault(Fault::fail(500).on("GET", "/secrets/").times(2));

    assert_eq!(api_error(secrets.get("x").await).code, 500);
    let second = api_error(secrets.get("x").await);
    assert_eq!(second.code, 500);
    assert_eq!(second.reason, "InternalError");
    assert!(api_error(secrets.get("x").await).is_not_found(), "the fault is used up");

    let faulted = server.requests().iter().filter(|request| request.faulted).count();
    assert_eq!(faulted, 2);
}

#[tokio::test]
async fn fault_conflict_on_patch() {
    let (server, client) = connect().await;
    let api = hosted_clusters(&client, "default");
    server.inject_fault(Fault::fail(409).on("PATCH", "/hostedclusters/ai"));
    let status = api_error(
        api.patch(
            "ai",
            &PatchParams::apply("tether"),
            &Patch::Apply(object("HostedCluster", "ai", json!({"spec": {}}))),
        )
        .await,
    );
    assert!(status.is_conflict(), "{status:?}");
    api.patch("ai", &PatchParams::apply("tether"), &Patch::Apply(object("HostedCluster", "ai", json!({"spec": {}}))))
        .await
        .expect("second try works");
}

#[tokio::test]
async fn throttle_honours_retry_after() {
    let (server, client) = connect().await;
    let secrets: Api<Secret> = Api::namespaced(client, "default");
    server.inject_fault(Fault::throttle(1).on("GET", "/secrets"));

    let started = Instant::now();
    let list = secrets.list(&ListParams::default()).await.expect("kube retries a 429");
    assert!(list.items.is_empty());
    assert!(started.elapsed() >= Duration::from_secs(1), "waited for Retry-After: {:?}", started.elapsed());

    let statuses: Vec<u16> = server
        .requests()
        .iter()
        .filter(|request| request.path.ends_with("/secrets"))
        .map(|request| request.status)
        .collect();
    assert_eq!(statuses, [429, 200]);
}

#[tokio::test]
async fn delay_slows_request() {
    let (server, client) = connect().await;
    let secrets: Api<Secret> = Api::namespaced(client, "default");
    server.inject_fault(Fault::delay(Duration::from_millis(300)).on("GET", "/secrets"));

    let started = Instant::now();
    secrets.list(&ListParams::default()).await.expect("delayed request succeeds");
    assert!(started.elapsed() >= Duration::from_millis(300), "{:?}", started.elapsed());
}

#[test]
fn background_server_serves_sync_tests() {
    let server = KubeTestServer::start_in_background().expect("background server starts");
    let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build().expect("runtime builds");
    runtime.block_on(async {
        let client = client_for(&server).await;
        let api = hosted_clusters(&client, "default");
        api.create(&PostParams::default(), &object("HostedCluster", "ai", json!({"spec": {}}))).await.expect("created");
    });
    assert!(server.get(HYPERSHIFT, "HostedCluster", Some("default"), "ai").is_some());

    let address = server.url().trim_start_matches("http://").to_string();
    drop(server);
    assert!(std::net::TcpStream::connect(&address).is_err(), "dropped server no longer listens on {address}");
}

#[tokio::test]
async fn drop_stops_server() {
    let server = KubeTestServer::start().await.expect("server starts");
    let address = server.url().trim_start_matches("http://").to_string();
    assert!(tokio::net::TcpStream::connect(&address).await.is_ok());
    drop(server);

    let deadline = Instant::now() + Duration::from_secs(5);
    while tokio::net::TcpStream::connect(&address).await.is_ok() {
        assert!(Instant::now() < deadline, "server still listening on {address}");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

#[tokio::test]
async fn kubeconfig_file_loads() {
    let server = KubeTestServer::start().await.expect("server starts");
    let directory = tempfile::tempdir().expect("temporary directory");
    let path = directory.path().join("kubeconfig");
    server.write_kubeconfig(&path).expect("kubeconfig written");

    let kubeconfig = Kubeconfig::read_from(&path).expect("kubeconfig reads");
    assert_eq!(kubeconfig.current_context.as_deref(), Some("tether-test"));
    let config =
        Config::from_custom_kubeconfig(kubeconfig, &KubeConfigOptions::default()).await.expect("kubeconfig loads");
    assert_eq!(config.default_namespace, "default");
    assert_eq!(config.cluster_url.to_string(), format!("{}/", server.url()));
}
