//! The test API server driven by the real kube 5 client: discovery, CRUD, errors, optimistic
//! concurrency, selectors and server-side apply.

use std::collections::BTreeMap;

use k8s_openapi::api::coordination::v1::Lease;
use k8s_openapi::api::core::v1::{Namespace, Secret};
use kube::api::{
    ApiResource, DeleteParams, DynamicObject, GroupVersionKind, ListParams, Patch, PatchParams, PostParams,
};
use kube::config::{KubeConfigOptions, Kubeconfig};
use kube::core::Status;
use kube::discovery::{Discovery, Scope, pinned_kind};
use kube::{Api, Client, Config, ResourceExt};
use serde_json::{Value, json};
use tether_testkit::kube::KubeTestServer;

const HYPERSHIFT: &str = "hypershift.openshift.io/v1beta1";

async fn connect() -> (KubeTestServer, Client) {
    let server = KubeTestServer::start().await.expect("test server starts");
    let kubeconfig = Kubeconfig::from_yaml(&server.kubeconfig()).expect("kubeconfig parses");
    let config =
        Config::from_custom_kubeconfig(kubeconfig, &KubeConfigOptions::default()).await.expect("kubeconfig loads");
    let client = Client::try_from(config).expect("client builds");
    (server, client)
}

fn hosted_clusters(client: &Client, namespace: &str) -> Api<DynamicObject> {
    let gvk = GroupVersionKind::gvk("hypershift.openshift.io", "v1beta1", "HostedCluster");
    Api::namespaced_with(client.clone(), namespace, &ApiResource::from_gvk_with_plural(&gvk, "hostedclusters"))
}

fn machine_configs(client: &Client) -> Api<DynamicObject> {
    let gvk = GroupVersionKind::gvk("machineconfiguration.openshift.io", "v1", "MachineConfig");
    Api::all_with(client.clone(), &ApiResource::from_gvk_with_plural(&gvk, "machineconfigs"))
}

fn hosted_cluster(name: &str, spec: Value) -> Value {
    json!({"apiVersion": HYPERSHIFT, "kind": "HostedCluster", "metadata": {"name": name}, "spec": spec})
}

fn dynamic(value: Value) -> DynamicObject {
    serde_json::from_value(value).expect("valid object")
}

fn api_error<T: std::fmt::Debug>(result: Result<T, kube::Error>) -> Status {
    match result {
        Err(kube::Error::Api(status)) => *status,
        other => panic!("expected an API error, got {other:?}"),
    }
}

async fn create_namespace(client: &Client, name: &str) {
    let namespaces: Api<Namespace> = Api::all(client.clone());
    let namespace: Namespace = serde_json::from_value(json!({"metadata": {"name": name}})).expect("valid namespace");
    namespaces.create(&PostParams::default(), &namespace).await.expect("namespace created");
}

fn spec(object: &DynamicObject) -> &Value {
    &object.data["spec"]
}

fn resource_version(object: &DynamicObject) -> String {
    object.resource_version().expect("resourceVersion set")
}

fn generation(object: &DynamicObject) -> i64 {
    object.metadata.generation.expect("generation set")
}

#[tokio::test]
async fn discovery_run_lists_types() {
    let (_server, client) = connect().await;
    let discovery = Discovery::new(client).run().await.expect("discovery runs");

    let hypershift = discovery.get("hypershift.openshift.io").expect("hypershift group");
    let (resource, capabilities) = hypershift.recommended_kind("HostedCluster").expect("HostedCluster served");
    assert_eq!(resource.plural, "hostedclusters");
    assert_eq!(capabilities.scope, Scope::Namespaced);
    assert!(capabilities.subresources.iter().any(|(sub, _)| sub.plural == "status"), "status subresource listed");

    let machine_config = discovery.get("machineconfiguration.openshift.io").expect("machineconfiguration group");
    let (_, capabilities) = machine_config.recommended_kind("MachineConfig").expect("MachineConfig served");
    assert_eq!(capabilities.scope, Scope::Cluster);

    let operators = discovery.get("operators.coreos.com").expect("operators group");
    assert_eq!(operators.preferred_version_or_latest(), "v1");
    // As on a real cluster, Subscription exists only in v1alpha1, so `recommended_kind` (which
    // looks at the preferred version) misses it and callers must look across versions.
    assert!(operators.recommended_kind("Subscription").is_none());
    let subscription =
        operators.resources_by_stability().into_iter().find(|(resource, _)| resource.kind == "Subscription");
    assert_eq!(subscription.map(|(resource, _)| resource.version), Some("v1alpha1".to_string()));
}

#[tokio::test]
async fn pinned_kind_hosted_cluster() {
    let (_server, client) = connect().await;
    let gvk = GroupVersionKind::gvk("hypershift.openshift.io", "v1beta1", "HostedCluster");
    let (resource, capabilities) = pinned_kind(&client, &gvk).await.expect("kind found");

    assert_eq!(resource.plural, "hostedclusters");
    assert_eq!(resource.api_version, HYPERSHIFT);
    assert_eq!(capabilities.scope, Scope::Namespaced);
    assert_eq!(capabilities.subresources.len(), 1);
}

#[tokio::test]
async fn namespace_create_and_duplicate() {
    let (_server, client) = connect().await;
    let namespaces: Api<Namespace> = Api::all(client.clone());
    create_namespace(&client, "clusters").await;

    let namespace = namespaces.get("clusters").await.expect("namespace readable");
    let phase = namespace.status.as_ref().and_then(|status| status.phase.as_deref());
    assert_eq!(phase, Some("Active"));
    let finalizers = namespace.spec.as_ref().and_then(|spec| spec.finalizers.clone());
    assert_eq!(finalizers, Some(vec!["kubernetes".to_string()]));
    assert_eq!(namespace.labels().get("kubernetes.io/metadata.name").map(String::as_str), Some("clusters"));

    let duplicate: Namespace =
        serde_json::from_value(json!({"metadata": {"name": "clusters"}})).expect("valid namespace");
    let status = api_error(namespaces.create(&PostParams::default(), &duplicate).await);
    assert!(status.is_already_exists(), "{status:?}");
    assert_eq!(status.code, 409);
    assert_eq!(status.message, "namespaces \"clusters\" already exists");
}

#[tokio::test]
async fn namespace_list_has_defaults() {
    let (_server, client) = connect().await;
    let namespaces: Api<Namespace> = Api::all(client);
    let list = namespaces.list(&ListParams::default()).await.expect("list works");
    let names: Vec<String> = list.items.iter().map(ResourceExt::name_any).collect();
    assert_eq!(names, ["default", "kube-node-lease", "kube-public", "kube-system"]);
    assert_eq!(list.metadata.resource_version.as_deref(), Some("4"));
}

#[tokio::test]
async fn secret_apply_round_trip() {
    let (_server, client) = connect().await;
    let secrets: Api<Secret> = Api::namespaced(client, "default");
    let applied = json!({
        "apiVersion": "v1", "kind": "Secret",
        "metadata": {"name": "tether-state"},
        "stringData": {"state.json": "{\"serial\":1}"},
    });
    secrets.patch("tether-state", &PatchParams::apply("tether"), &Patch::Apply(&applied)).await.expect("apply creates");

    let secret = secrets.get("tether-state").await.expect("secret readable");
    let data = secret.data.expect("data set");
    assert_eq!(data["state.json"].0, b"{\"serial\":1}");
    assert_eq!(secret.type_.as_deref(), Some("Opaque"));
    assert_eq!(secret.string_data, None);
    assert_eq!(secret.metadata.generation, None, "built-in Secret has no generation");
}

#[tokio::test]
async fn hosted_cluster_crud_dynamic() {
    let (_server, client) = connect().await;
    create_namespace(&client, "clusters").await;
    let api = hosted_clusters(&client, "clusters");

    let created = api
        .create(&PostParams::default(), &dynamic(hosted_cluster("ai", json!({"release": {"image": "a"}}))))
        .await
        .expect("created");
    assert_eq!(generation(&created), 1);
    assert!(created.uid().is_some_and(|uid| uid.len() == 36), "uid set");
    let timestamp = created.metadata.creation_timestamp.clone().expect("creationTimestamp set");
    assert_eq!(timestamp.0.subsec_nanosecond(), 0, "whole seconds");
    assert_eq!(created.namespace().as_deref(), Some("clusters"));

    let fetched = api.get("ai").await.expect("readable");
    assert_eq!(spec(&fetched)["release"]["image"], "a");
    assert_eq!(resource_version(&fetched), resource_version(&created));

    let mut changed = fetched.clone();
    changed.data["spec"]["release"]["image"] = json!("b");
    let replaced = api.replace("ai", &PostParams::default(), &changed).await.expect("replaced");
    assert_eq!(generation(&replaced), 2);
    assert_ne!(resource_version(&replaced), resource_version(&fetched));

    let mut relabelled = replaced.clone();
    relabelled.labels_mut().insert("env".to_string(), "test".to_string());
    let relabelled = api.replace("ai", &PostParams::default(), &relabelled).await.expect("relabelled");
    assert_eq!(generation(&relabelled), 2, "metadata changes keep the generation");

    let deleted = api.delete("ai", &DeleteParams::default()).await.expect("deleted");
    assert!(deleted.is_right(), "immediate delete returns a Status");
    let status = api_error(api.get("ai").await);
    assert!(status.is_not_found(), "{status:?}");
}

#[tokio::test]
async fn not_found_status_body() {
    let (_server, client) = connect().await;
    let status = api_error(hosted_clusters(&client, "default").get("missing").await);

    assert_eq!(status.code, 404);
    assert_eq!(status.reason, "NotFound");
    assert_eq!(status.message, "hostedclusters.hypershift.openshift.io \"missing\" not found");
    let details = status.details.expect("details set");
    assert_eq!(details.name, "missing");
    assert_eq!(details.group, "hypershift.openshift.io");
    assert_eq!(details.kind, "hostedclusters");
}

#[tokio::test]
async fn create_in_missing_namespace() {
    let (_server, client) = connect().await;
    let api = hosted_clusters(&client, "nope");
    let status = api_error(api.create(&PostParams::default(), &dynamic(hosted_cluster("ai", json!({})))).await);
    assert_eq!(status.code, 404);
    assert_eq!(status.message, "namespaces \"nope\" not found");

    let apply = api.patch("ai", &PatchParams::apply("tether"), &Patch::Apply(hosted_cluster("ai", json!({})))).await;
    assert_eq!(api_error(apply).code, 404, "an apply cannot create in a missing namespace either");
}

#[tokio::test]
async fn create_needs_namespace_path() {
    let (_server, client) = connect().await;
    let gvk = GroupVersionKind::gvk("hypershift.openshift.io", "v1beta1", "HostedCluster");
    let all: Api<DynamicObject> = Api::all_with(client, &ApiResource::from_gvk_with_plural(&gvk, "hostedclusters"));
    let result = all.create(&PostParams::default(), &dynamic(hosted_cluster("ai", json!({})))).await;
    assert_eq!(api_error(result).code, 405);
}

#[tokio::test]
async fn invalid_name_rejected() {
    let (_server, client) = connect().await;
    let status = api_error(
        hosted_clusters(&client, "default")
            .create(&PostParams::default(), &dynamic(hosted_cluster("Not_Valid", json!({}))))
            .await,
    );
    assert_eq!(status.code, 422);
    assert_eq!(status.reason, "Invalid");
}

#[tokio::test]
async fn stale_put_conflicts() {
    let (_server, client) = connect().await;
    let api = hosted_clusters(&client, "default");
    let created =
        api.create(&PostParams::default(), &dynamic(hosted_cluster("ai", json!({"n": 1})))).await.expect("created");

    let mut first = created.clone();
    first.data["spec"]["n"] = json!(2);
    api.replace("ai", &PostParams::default(), &first).await.expect("first writer wins");

    let mut second = created.clone();
    second.data["spec"]["n"] = json!(3);
    let status = api_error(api.replace("ai", &PostParams::default(), &second).await);
    assert!(status.is_conflict(), "{status:?}");
    assert!(status.message.contains("the object has been modified"), "{}", status.message);
    assert_eq!(spec(&api.get("ai").await.expect("readable"))["n"], 2);
}

#[tokio::test]
async fn custom_resource_put_needs_version() {
    let (_server, client) = connect().await;
    let api = hosted_clusters(&client, "default");
    api.create(&PostParams::default(), &dynamic(hosted_cluster("ai", json!({})))).await.expect("created");

    let unconditional = dynamic(hosted_cluster("ai", json!({"n": 1})));
    let status = api_error(api.replace("ai", &PostParams::default(), &unconditional).await);
    assert_eq!(status.code, 422);
    assert!(status.message.contains("metadata.resourceVersion"), "{}", status.message);
}

#[tokio::test]
async fn secret_put_unconditional() {
    let (_server, client) = connect().await;
    let secrets: Api<Secret> = Api::namespaced(client, "default");
    let secret: Secret =
        serde_json::from_value(json!({"metadata": {"name": "s"}, "stringData": {"k": "1"}})).expect("valid secret");
    secrets.create(&PostParams::default(), &secret).await.expect("created");

    let replacement: Secret =
        serde_json::from_value(json!({"metadata": {"name": "s"}, "stringData": {"k": "2"}})).expect("valid secret");
    let replaced =
        secrets.replace("s", &PostParams::default(), &replacement).await.expect("PUT without resourceVersion works");
    assert_eq!(replaced.data.expect("data")["k"].0, b"2");
}

#[tokio::test]
async fn patch_version_precondition() {
    let (_server, client) = connect().await;
    let api = hosted_clusters(&client, "default");
    let created =
        api.create(&PostParams::default(), &dynamic(hosted_cluster("ai", json!({"n": 1})))).await.expect("created");
    let version = resource_version(&created);

    let current = json!({"metadata": {"resourceVersion": version}, "spec": {"n": 2}});
    let patched =
        api.patch("ai", &PatchParams::default(), &Patch::Merge(&current)).await.expect("current version accepted");
    assert_eq!(spec(&patched)["n"], 2);

    let stale = json!({"metadata": {"resourceVersion": version}, "spec": {"n": 3}});
    let status = api_error(api.patch("ai", &PatchParams::default(), &Patch::Merge(&stale)).await);
    assert!(status.is_conflict(), "{status:?}");
}

#[tokio::test]
async fn merge_and_json_patch() {
    let (_server, client) = connect().await;
    let api = hosted_clusters(&client, "default");
    api.create(&PostParams::default(), &dynamic(hosted_cluster("ai", json!({"a": 1, "b": [1, 2]}))))
        .await
        .expect("created");

    let merged = api
        .patch("ai", &PatchParams::default(), &Patch::Merge(json!({"spec": {"a": null, "c": 3}})))
        .await
        .expect("merge patch");
    assert_eq!(spec(&merged), &json!({"b": [1, 2], "c": 3}));

    let operations: json_patch::Patch = serde_json::from_value(json!([
        {"op": "add", "path": "/spec/b/-", "value": 3},
        {"op": "replace", "path": "/spec/c", "value": 4},
    ]))
    .expect("valid JSON patch");
    let patched = api.patch("ai", &PatchParams::default(), &Patch::<()>::Json(operations)).await.expect("JSON patch");
    assert_eq!(spec(&patched), &json!({"b": [1, 2, 3], "c": 4}));
    assert_eq!(generation(&patched), 3);

    let failing: json_patch::Patch =
        serde_json::from_value(json!([{"op": "test", "path": "/spec/c", "value": 5}])).expect("valid JSON patch");
    let status = api_error(api.patch("ai", &PatchParams::default(), &Patch::<()>::Json(failing)).await);
    assert_eq!(status.code, 422);
}

#[tokio::test]
async fn noop_write_keeps_version() {
    let (_server, client) = connect().await;
    let api = hosted_clusters(&client, "default");
    let created =
        api.create(&PostParams::default(), &dynamic(hosted_cluster("ai", json!({"a": 1})))).await.expect("created");

    let patched =
        api.patch("ai", &PatchParams::default(), &Patch::Merge(json!({"spec": {"a": 1}}))).await.expect("no-op patch");
    assert_eq!(resource_version(&patched), resource_version(&created));
    let replaced = api.replace("ai", &PostParams::default(), &created).await.expect("no-op PUT");
    assert_eq!(resource_version(&replaced), resource_version(&created));
}

async fn labelled_secret(secrets: &Api<Secret>, name: &str, labels: Value) {
    let secret: Secret =
        serde_json::from_value(json!({"metadata": {"name": name, "labels": labels}})).expect("valid secret");
    secrets.create(&PostParams::default(), &secret).await.expect("secret created");
}

async fn names_matching(secrets: &Api<Secret>, selector: &str) -> Vec<String> {
    let list = secrets
        .list(&ListParams::default().labels(selector))
        .await
        .unwrap_or_else(|error| panic!("{selector}: {error}"));
    list.items.iter().map(ResourceExt::name_any).collect()
}

#[tokio::test]
async fn label_selector_operators() {
    let (_server, client) = connect().await;
    let secrets: Api<Secret> = Api::namespaced(client, "default");
    labelled_secret(&secrets, "a", json!({"env": "prod", "tier": "web"})).await;
    labelled_secret(&secrets, "b", json!({"env": "dev"})).await;
    labelled_secret(&secrets, "c", json!({})).await;

    assert_eq!(names_matching(&secrets, "env=prod").await, ["a"]);
    assert_eq!(names_matching(&secrets, "env==dev").await, ["b"]);
    assert_eq!(names_matching(&secrets, "env!=prod").await, ["b", "c"]);
    assert_eq!(names_matching(&secrets, "env in (prod,dev)").await, ["a", "b"]);
    assert_eq!(names_matching(&secrets, "env notin (prod)").await, ["b", "c"]);
    assert_eq!(names_matching(&secrets, "tier").await, ["a"]);
    assert_eq!(names_matching(&secrets, "!env").await, ["c"]);
    assert_eq!(names_matching(&secrets, "env in (prod, dev),!tier").await, ["b"]);
}

#[tokio::test]
async fn list_metadata_and_kinds() {
    let (server, client) = connect().await;
    let secrets: Api<Secret> = Api::namespaced(client, "default");
    labelled_secret(&secrets, "a", json!({})).await;

    let list = secrets.list(&ListParams::default()).await.expect("list works");
    assert_eq!(list.types.kind, "SecretList");
    assert_eq!(list.types.api_version, "v1");
    let version: u64 = list.metadata.resource_version.as_deref().and_then(|v| v.parse().ok()).expect("numeric version");
    assert_eq!(version, 5);

    let listed = server.get("v1", "Secret", Some("default"), "a").expect("stored");
    assert_eq!(listed["kind"], "Secret");
    assert_eq!(listed["apiVersion"], "v1");
}

#[tokio::test]
async fn field_selector_name_namespace() {
    let (_server, client) = connect().await;
    create_namespace(&client, "other").await;
    let default_secrets: Api<Secret> = Api::namespaced(client.clone(), "default");
    let other_secrets: Api<Secret> = Api::namespaced(client.clone(), "other");
    labelled_secret(&default_secrets, "a", json!({})).await;
    labelled_secret(&default_secrets, "b", json!({})).await;
    labelled_secret(&other_secrets, "a", json!({})).await;

    let all: Api<Secret> = Api::all(client);
    let by_name = all.list(&ListParams::default().fields("metadata.name=a")).await.expect("list by name");
    assert_eq!(by_name.items.len(), 2);
    let by_both = all
        .list(&ListParams::default().fields("metadata.name=a,metadata.namespace=other"))
        .await
        .expect("list by name and namespace");
    assert_eq!(by_both.items.len(), 1);
    assert_eq!(by_both.items[0].namespace().as_deref(), Some("other"));

    let status = api_error(all.list(&ListParams::default().fields("type=Opaque")).await);
    assert_eq!(status.code, 400);
    assert_eq!(status.reason, "BadRequest");
}

#[tokio::test]
async fn apply_two_managers_merge() {
    let (server, client) = connect().await;
    let api = hosted_clusters(&client, "default");
    api.patch(
        "ai",
        &PatchParams::apply("tether"),
        &Patch::Apply(hosted_cluster("ai", json!({"release": {"image": "a"}}))),
    )
    .await
    .expect("first apply");
    let merged = api
        .patch(
            "ai",
            &PatchParams::apply("hypershift"),
            &Patch::Apply(hosted_cluster("ai", json!({"pullSecret": {"name": "ps"}}))),
        )
        .await
        .expect("second apply");

    assert_eq!(spec(&merged), &json!({"release": {"image": "a"}, "pullSecret": {"name": "ps"}}));
    assert_eq!(generation(&merged), 2);
    let applies: Vec<String> = server
        .requests()
        .iter()
        .filter(|request| request.method == "PATCH")
        .filter_map(|request| request.field_manager.clone())
        .collect();
    assert_eq!(applies, ["tether", "hypershift"]);
    let statuses: Vec<u16> =
        server.requests().iter().filter(|request| request.method == "PATCH").map(|request| request.status).collect();
    assert_eq!(statuses, [201, 200], "an apply that creates answers 201");
}

#[tokio::test]
async fn apply_conflict_then_force() {
    let (_server, client) = connect().await;
    let api = hosted_clusters(&client, "default");
    api.patch(
        "ai",
        &PatchParams::apply("tether"),
        &Patch::Apply(hosted_cluster("ai", json!({"release": {"image": "a"}}))),
    )
    .await
    .expect("first apply");

    let rival = Patch::Apply(hosted_cluster("ai", json!({"release": {"image": "b"}})));
    let status = api_error(api.patch("ai", &PatchParams::apply("other"), &rival).await);
    assert!(status.is_conflict(), "{status:?}");
    assert_eq!(status.message, "Apply failed with 1 conflict: conflict with \"tether\": .spec.release.image");
    let causes = status.details.expect("details").causes;
    assert_eq!(causes.len(), 1);
    assert_eq!(causes[0].reason, "FieldManagerConflict");
    assert_eq!(causes[0].field, ".spec.release.image");

    let forced = api.patch("ai", &PatchParams::apply("other").force(), &rival).await.expect("force takes over");
    assert_eq!(spec(&forced)["release"]["image"], "b");

    let back = api
        .patch(
            "ai",
            &PatchParams::apply("tether"),
            &Patch::Apply(hosted_cluster("ai", json!({"release": {"image": "a"}}))),
        )
        .await;
    assert!(api_error(back).is_conflict(), "ownership moved to the forcing manager");
}

#[tokio::test]
async fn apply_same_value_no_conflict() {
    let (_server, client) = connect().await;
    let api = hosted_clusters(&client, "default");
    let config = Patch::Apply(hosted_cluster("ai", json!({"release": {"image": "a"}})));
    api.patch("ai", &PatchParams::apply("tether"), &config).await.expect("first apply");
    api.patch("ai", &PatchParams::apply("other"), &config).await.expect("same value is shared, not a conflict");
}

#[tokio::test]
async fn apply_dropped_field_removed() {
    let (_server, client) = connect().await;
    let api = hosted_clusters(&client, "default");
    let full = json!({"release": {"image": "a"}, "dns": {"baseDomain": "example.com"}, "shared": 1});
    api.patch("ai", &PatchParams::apply("tether"), &Patch::Apply(hosted_cluster("ai", full)))
        .await
        .expect("first apply");
    api.patch("ai", &PatchParams::apply("other"), &Patch::Apply(hosted_cluster("ai", json!({"shared": 1}))))
        .await
        .expect("co-owner");

    let trimmed = api
        .patch(
            "ai",
            &PatchParams::apply("tether"),
            &Patch::Apply(hosted_cluster("ai", json!({"release": {"image": "a"}}))),
        )
        .await
        .expect("trimmed apply");
    assert_eq!(spec(&trimmed), &json!({"release": {"image": "a"}, "shared": 1}), "dns removed, shared kept");
}

#[tokio::test]
async fn apply_noop_keeps_version() {
    let (_server, client) = connect().await;
    let api = hosted_clusters(&client, "default");
    let config = Patch::Apply(hosted_cluster("ai", json!({"release": {"image": "a"}})));
    let first = api.patch("ai", &PatchParams::apply("tether"), &config).await.expect("first apply");
    let second = api.patch("ai", &PatchParams::apply("tether"), &config).await.expect("second apply");
    assert_eq!(resource_version(&second), resource_version(&first));
    assert_eq!(generation(&second), 1);
}

#[tokio::test]
async fn apply_over_post_conflicts() {
    let (_server, client) = connect().await;
    let api = hosted_clusters(&client, "default");
    let post = PostParams { field_manager: Some("creator".to_string()), ..PostParams::default() };
    api.create(&post, &dynamic(hosted_cluster("ai", json!({"release": {"image": "a"}})))).await.expect("created");

    let status = api_error(
        api.patch(
            "ai",
            &PatchParams::apply("tether"),
            &Patch::Apply(hosted_cluster("ai", json!({"release": {"image": "b"}}))),
        )
        .await,
    );
    assert_eq!(
        status.message,
        format!("Apply failed with 1 conflict: conflict with \"creator\" using {HYPERSHIFT}: .spec.release.image")
    );
}

#[tokio::test]
async fn apply_requires_field_manager() {
    let (_server, client) = connect().await;
    let api = hosted_clusters(&client, "default");
    let params = PatchParams { field_manager: None, ..PatchParams::apply("unused") };
    let status = api_error(api.patch("ai", &params, &Patch::Apply(hosted_cluster("ai", json!({})))).await);
    assert_eq!(status.code, 422);
}

#[tokio::test]
async fn apply_identity_must_match() {
    let (_server, client) = connect().await;
    let api = hosted_clusters(&client, "default");
    let status = api_error(
        api.patch("ai", &PatchParams::apply("tether"), &Patch::Apply(hosted_cluster("other", json!({})))).await,
    );
    assert_eq!(status.code, 400);
    assert!(status.message.contains("does not match the name on the URL"), "{}", status.message);
}

#[tokio::test]
async fn machine_config_cluster_scoped_apply() {
    let (server, client) = connect().await;
    let api = machine_configs(&client);
    let config = json!({
        "apiVersion": "machineconfiguration.openshift.io/v1",
        "kind": "MachineConfig",
        "metadata": {"name": "99-worker-ssh", "labels": {"machineconfiguration.openshift.io/role": "worker"}},
        "spec": {"config": {"ignition": {"version": "3.2.0"}}},
    });
    let applied =
        api.patch("99-worker-ssh", &PatchParams::apply("tether"), &Patch::Apply(&config)).await.expect("apply creates");
    assert_eq!(applied.namespace(), None);
    assert_eq!(generation(&applied), 1);

    let listed = api
        .list(&ListParams::default().labels("machineconfiguration.openshift.io/role=worker"))
        .await
        .expect("list works");
    assert_eq!(listed.items.len(), 1);
    let stored =
        server.get("machineconfiguration.openshift.io/v1", "MachineConfig", None, "99-worker-ssh").expect("stored");
    assert_eq!(stored["spec"]["config"]["ignition"]["version"], "3.2.0");
}

#[tokio::test]
async fn lease_create_race() {
    let (_server, client) = connect().await;
    let leases: Api<Lease> = Api::namespaced(client, "default");
    let lease: Lease =
        serde_json::from_value(json!({"metadata": {"name": "tether-lock"}, "spec": {"holderIdentity": "a"}}))
            .expect("valid lease");
    leases.create(&PostParams::default(), &lease).await.expect("first create wins");
    let status = api_error(leases.create(&PostParams::default(), &lease).await);
    assert!(status.is_already_exists(), "{status:?}");

    let seen_by_b = leases.get("tether-lock").await.expect("readable");
    let seen_by_c = seen_by_b.clone();
    let mut take_b = seen_by_b;
    take_b.spec.get_or_insert_default().holder_identity = Some("b".to_string());
    leases.replace("tether-lock", &PostParams::default(), &take_b).await.expect("first take-over wins");
    let mut take_c = seen_by_c;
    take_c.spec.get_or_insert_default().holder_identity = Some("c".to_string());
    let status = api_error(leases.replace("tether-lock", &PostParams::default(), &take_c).await);
    assert!(status.is_conflict(), "second take-over gets 409: {status:?}");
}

#[tokio::test]
async fn lease_put_creates() {
    let (_server, client) = connect().await;
    let leases: Api<Lease> = Api::namespaced(client, "default");
    let lease: Lease =
        serde_json::from_value(json!({"metadata": {"name": "via-put"}, "spec": {"holderIdentity": "a"}}))
            .expect("valid lease");
    let created = leases.replace("via-put", &PostParams::default(), &lease).await.expect("PUT creates a Lease");
    assert!(created.metadata.uid.is_some());

    let mut unconditional = lease.clone();
    unconditional.spec.get_or_insert_default().holder_identity = Some("b".to_string());
    let status = api_error(leases.replace("via-put", &PostParams::default(), &unconditional).await);
    assert_eq!(status.code, 422, "Lease updates need a resourceVersion");
}

#[tokio::test]
async fn generate_name_creates_unique() {
    let (_server, client) = connect().await;
    let secrets: Api<Secret> = Api::namespaced(client, "default");
    let template: Secret = serde_json::from_value(json!({"metadata": {"generateName": "run-"}})).expect("valid secret");
    let first = secrets.create(&PostParams::default(), &template).await.expect("first created");
    let second = secrets.create(&PostParams::default(), &template).await.expect("second created");
    assert!(first.name_any().starts_with("run-"));
    assert_eq!(first.name_any().len(), "run-".len() + 5);
    assert_ne!(first.name_any(), second.name_any());
}

#[tokio::test]
async fn labels_map_round_trip() {
    let (_server, client) = connect().await;
    let api = hosted_clusters(&client, "default");
    let mut object = dynamic(hosted_cluster("ai", json!({})));
    object.metadata.labels = Some(BTreeMap::from([("app.kubernetes.io/managed-by".to_string(), "tether".to_string())]));
    api.create(&PostParams::default(), &object).await.expect("created");

    let found =
        api.list(&ListParams::default().labels("app.kubernetes.io/managed-by=tether")).await.expect("list works");
    assert_eq!(found.items.len(), 1);
}

#[tokio::test]
async fn apply_get_loop_stays_fast() {
    let (_server, client) = connect().await;
    let api = hosted_clusters(&client, "default");
    let started = std::time::Instant::now();
    for n in 0..200 {
        let config = Patch::Apply(hosted_cluster("ai", json!({"replicas": n})));
        api.patch("ai", &PatchParams::apply("tether"), &config).await.expect("apply works");
        let fetched = api.get("ai").await.expect("get works");
        assert_eq!(spec(&fetched)["replicas"], n);
    }
    // A generous bound: it only catches a server that slows down as requests pile up.
    let elapsed = started.elapsed();
    assert!(elapsed < std::time::Duration::from_secs(30), "200 apply and get pairs took {elapsed:?}");
}
