//! End-to-end tests of `tether drift`: apply, change things behind tether's back through the AWS
//! SDK (against moto) and the Kubernetes test server's HTTP API, then check the report exactly.

mod support;

use std::io::{Read as _, Write as _};
use std::net::TcpStream;
use std::path::Path;

use aws_sdk_ec2::types::{AttributeBooleanValue, ResourceType, Tag, TagSpecification};
use serde_json::{Value, json};
use support::{Harness, describe, edit, repository_root, runtime};
use tether_testkit::kube::Fault;

const NODE_POOLS: &str = "/apis/hypershift.openshift.io/v1beta1/namespaces/hcp-ai/nodepools";

/// Applies `ai-dev.toml` and returns the harness and the file's path.
fn applied_environment() -> (Harness, String) {
    let harness = Harness::start();
    let file = harness.example("ai-dev.toml").to_str().unwrap().to_owned();
    harness.tether_ok(&["apply", "--auto-approve", &file]);
    (harness, file)
}

/// Runs `tether drift --format json`, checks its exit code and that the output matches
/// `schemas/drift.schema.json`, and returns the report.
fn drift_json(harness: &Harness, file: &str, expected_code: i32) -> Value {
    let output = harness.tether(&["drift", file, "--format", "json"]);
    assert_eq!(output.status.code(), Some(expected_code), "{}", describe(&output));
    let report: Value = serde_json::from_slice(&output.stdout).expect("drift prints JSON");
    let schema: Value =
        serde_json::from_str(&std::fs::read_to_string(repository_root().join("schemas/drift.schema.json")).unwrap())
            .unwrap();
    let validator = jsonschema::validator_for(&schema).expect("the drift schema compiles");
    let errors: Vec<String> = validator.iter_errors(&report).map(|error| error.to_string()).collect();
    assert!(errors.is_empty(), "the report does not match its schema: {errors:?}\n{report:#}");
    report
}

/// Lists `(address, kind, attribute paths)` of every drifted resource.
fn drift_summary(report: &Value) -> Vec<(String, String, Vec<String>)> {
    let text = |value: &Value| value.as_str().unwrap().to_owned();
    report["drift"]
        .as_array()
        .unwrap()
        .iter()
        .map(|item| {
            let paths = item["attributes"].as_array().unwrap().iter().map(|attribute| text(&attribute["path"]));
            (text(&item["address"]), text(&item["kind"]), paths.collect())
        })
        .collect()
}

fn drifted<'a>(report: &'a Value, address: &str) -> &'a Value {
    let items = report["drift"].as_array().unwrap();
    items.iter().find(|item| item["address"] == address).unwrap_or_else(|| panic!("{address} drifted: {report:#}"))
}

/// Sends one PATCH as the field manager `someone-else` to the Kubernetes test server over plain
/// HTTP and asserts it succeeded.
fn kube_patch(harness: &Harness, path: &str, content_type: &str, body: &Value) {
    kube_patch_with_query(harness, path, "fieldManager=someone-else", content_type, body);
}

/// Sends one PATCH with the query string `query` and asserts it succeeded.
fn kube_patch_with_query(harness: &Harness, path: &str, query: &str, content_type: &str, body: &Value) {
    let address = harness.kube.url().trim_start_matches("http://").to_owned();
    let body = body.to_string();
    let mut stream = TcpStream::connect(&address).expect("test server reachable");
    let request = format!(
        "PATCH {path}?{query} HTTP/1.1\r\nHost: {address}\r\nContent-Type: {content_type}\r\n\
         Content-Length: {}\r\nConnection: close\r\n\r\n{body}",
        body.len()
    );
    stream.write_all(request.as_bytes()).unwrap();
    let mut response = String::new();
    stream.read_to_string(&mut response).unwrap();
    assert!(response.starts_with("HTTP/1.1 200"), "PATCH {path} failed:\n{response}");
}

/// Reads the id that the state records for `address`.
fn recorded_id(harness: &Harness, address: &str) -> String {
    let state = std::fs::read_to_string(harness.dir.path().join(".tether/ai-dev.state.json")).unwrap();
    let state: Value = serde_json::from_str(&state).unwrap();
    state["resources"][address]["id"].as_str().unwrap_or_else(|| panic!("{address} recorded")).to_owned()
}

fn recorded_addresses(harness: &Harness, kind_prefix: &str) -> Vec<String> {
    let state = std::fs::read_to_string(harness.dir.path().join(".tether/ai-dev.state.json")).unwrap();
    let state: Value = serde_json::from_str(&state).unwrap();
    state["resources"].as_object().unwrap().keys().filter(|key| key.starts_with(kind_prefix)).cloned().collect()
}

#[test]
fn no_drift_right_after_apply() {
    let (harness, file) = applied_environment();

    let report = drift_json(&harness, &file, 0);
    assert_eq!(report["has_drift"], false, "{report:#}");
    assert_eq!(report["drift"], json!([]));
    assert_eq!(report["pending"], json!([]));

    let text = harness.tether_ok(&["drift", &file]);
    assert_eq!(text.trim_end(), "No drift. Environment `ai-dev` matches what tether last applied.");
}

#[test]
fn cluster_changes_reported_exactly() {
    let (harness, file) = applied_environment();
    let json_patch = "application/json-patch+json";
    let merge_patch = "application/merge-patch+json";

    kube_patch(
        &harness,
        &format!("{NODE_POOLS}/ai-gpu"),
        json_patch,
        &json!([{"op": "remove", "path": "/spec/taints"}]),
    );
    kube_patch(&harness, &format!("{NODE_POOLS}/ai-workers"), merge_patch, &json!({"spec": {"replicas": 5}}));
    // The autoscaler owns an autoscaled pool's replicas: not drift.
    kube_patch(&harness, &format!("{NODE_POOLS}/ai-gpu"), merge_patch, &json!({"spec": {"replicas": 1}}));
    harness.kube.set_node_pool_replicas("hcp-ai", "ai-gpu", 1).unwrap();

    let report = drift_json(&harness, &file, 2);
    assert_eq!(
        drift_summary(&report),
        [
            ("cluster.node_pool.gpu".to_owned(), "changed".to_owned(), vec!["spec.taints".to_owned()]),
            ("cluster.node_pool.workers".to_owned(), "changed".to_owned(), vec!["spec.replicas".to_owned()]),
        ],
        "{report:#}"
    );
    let taints = &drifted(&report, "cluster.node_pool.gpu")["attributes"][0];
    assert_eq!(taints["applied"], json!([{"key": "nvidia.com/gpu", "value": "present", "effect": "NoSchedule"}]));
    assert_eq!(taints["observed"], Value::Null);
    let replicas = &drifted(&report, "cluster.node_pool.workers")["attributes"][0];
    assert_eq!((replicas["applied"].clone(), replicas["observed"].clone()), (json!(2), json!(5)));
    assert_eq!(report["pending"], json!([]));

    let text = String::from_utf8(harness.tether(&["drift", &file]).stdout).unwrap();
    assert!(text.contains("  # cluster.node_pool.workers changed outside tether (hcp-ai/ai-workers)\n"), "{text}");
    assert!(text.contains("      ~ spec.replicas: 2 -> 5\n"), "{text}");
}

#[test]
fn unapplied_file_change_is_pending_not_drift() {
    let (harness, file) = applied_environment();
    edit(Path::new(&file), "autoscaling = { min = 0, max = 2 }", "autoscaling = { min = 0, max = 4 }");

    let report = drift_json(&harness, &file, 0);
    assert_eq!(report["drift"], json!([]), "{report:#}");
    assert_eq!(
        report["pending"],
        json!([{"address": "cluster.node_pool.gpu", "action": "update", "paths": ["spec.autoScaling.max"]}])
    );

    let text = harness.tether_ok(&["drift", &file]);
    assert!(text.contains("  ~ cluster.node_pool.gpu: spec.autoScaling.max\n"), "{text}");
}

#[test]
fn failed_read_is_an_error_not_a_deletion() {
    let (harness, file) = applied_environment();
    harness.kube.inject_fault(Fault::fail(500).on("GET", "/nodepools").times(1000));

    let output = harness.tether(&["drift", &file, "--format", "json"]);
    assert_eq!(output.status.code(), Some(1), "{}", describe(&output));
    assert!(output.stdout.is_empty(), "{}", describe(&output));
    assert!(String::from_utf8_lossy(&output.stderr).contains("cannot check for drift"), "{}", describe(&output));
}

#[test]
fn aws_changes_reported_exactly() {
    let (harness, file) = applied_environment();
    let ec2 = harness.ec2_client();
    let runtime = runtime();

    let route = recorded_addresses(&harness, "aws.route.").into_iter().next().expect("a route is recorded");
    let route_id = recorded_id(&harness, &route);
    let (table, destination) = route_id.split_once('_').expect("route ids are TABLE_CIDR");
    let router = recorded_addresses(&harness, "aws.instance.").into_iter().next().expect("the router is recorded");
    let vpc = recorded_id(&harness, "aws.vpc.main");
    runtime.block_on(async {
        ec2.delete_route().route_table_id(table).destination_cidr_block(destination).send().await.unwrap();
        let enabled = AttributeBooleanValue::builder().value(true).build();
        let instance = recorded_id(&harness, &router);
        ec2.modify_instance_attribute().instance_id(instance).source_dest_check(enabled).send().await.unwrap();
        let name = Tag::builder().key("Name").value("edited-by-hand").build();
        ec2.create_tags().resources(&vpc).tags(name).send().await.unwrap();
        let tags = TagSpecification::builder()
            .resource_type(ResourceType::Subnet)
            .tags(Tag::builder().key("tether.dev/environment").value("ai-dev").build())
            .tags(Tag::builder().key("tether.dev/address").value("aws.subnet.extra").build())
            .build();
        ec2.create_subnet().vpc_id(&vpc).cidr_block("10.1.200.0/24").tag_specifications(tags).send().await.unwrap();
    });

    let report = drift_json(&harness, &file, 2);
    let mut expected = vec![
        (router.clone(), "changed".to_owned(), vec!["source_dest_check".to_owned()]),
        (route.clone(), "deleted".to_owned(), Vec::new()),
        ("aws.subnet.extra".to_owned(), "unmanaged".to_owned(), Vec::new()),
        ("aws.vpc.main".to_owned(), "changed".to_owned(), vec!["tags".to_owned()]),
    ];
    expected.sort();
    assert_eq!(drift_summary(&report), expected, "{report:#}");
    let check = &drifted(&report, &router)["attributes"][0];
    assert_eq!((check["applied"].clone(), check["observed"].clone()), (json!(false), json!(true)));
    let tags = &drifted(&report, "aws.vpc.main")["attributes"][0];
    assert_eq!(tags["observed"]["Name"], "edited-by-hand", "{tags:#}");
    assert_eq!(tags["applied"]["Name"], "ai-vpc", "{tags:#}");
    assert_eq!(drifted(&report, &route)["id"], route_id.as_str());
}

#[test]
fn deleted_subnet_reported() {
    let (harness, file) = applied_environment();
    let subnet = recorded_addresses(&harness, "aws.subnet.private").into_iter().next().expect("a private subnet");
    let subnet_id = recorded_id(&harness, &subnet);
    let ec2 = harness.ec2_client();
    runtime().block_on(async {
        ec2.delete_subnet().subnet_id(&subnet_id).send().await.unwrap();
    });

    let report = drift_json(&harness, &file, 2);
    let deleted: Vec<(String, String, Vec<String>)> =
        drift_summary(&report).into_iter().filter(|(address, _, _)| address.starts_with("aws.subnet.")).collect();
    assert_eq!(deleted, [(subnet.clone(), "deleted".to_owned(), Vec::new())], "{report:#}");
    assert_eq!(drifted(&report, &subnet)["id"], subnet_id.as_str());
}

#[test]
fn ignore_rule_in_file_skips_attribute() {
    let (harness, file) = applied_environment();
    let merge_patch = "application/merge-patch+json";
    kube_patch(&harness, &format!("{NODE_POOLS}/ai-workers"), merge_patch, &json!({"spec": {"replicas": 5}}));
    assert_eq!(drift_summary(&drift_json(&harness, &file, 2)).len(), 1);

    let rule = "\n[[drift.ignore]]\nresource = \"cluster.node_pool.workers\"\npath = \"spec.replicas\"\n";
    std::fs::write(&file, std::fs::read_to_string(&file).unwrap() + rule).unwrap();

    let report = drift_json(&harness, &file, 0);
    assert_eq!(report["drift"], json!([]), "{report:#}");
}

/// A webhook receiver on 127.0.0.1 that returns 200 and keeps each posted JSON body.
struct WebhookMock {
    url: String,
    posts: std::sync::Arc<std::sync::Mutex<Vec<Value>>>,
}

impl WebhookMock {
    fn start() -> WebhookMock {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let url = format!("http://{}/hook", listener.local_addr().unwrap());
        let posts = std::sync::Arc::new(std::sync::Mutex::new(Vec::new()));
        let received = posts.clone();
        std::thread::spawn(move || {
            for stream in listener.incoming().flatten() {
                if let Some(body) = read_request_body(stream) {
                    received.lock().unwrap().push(serde_json::from_slice(&body).unwrap());
                }
            }
        });
        WebhookMock { url, posts }
    }

    fn posts(&self) -> Vec<Value> {
        self.posts.lock().unwrap().clone()
    }

    /// Waits up to 60 seconds for `count` posts.
    fn wait_for(&self, count: usize) -> Vec<Value> {
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(60);
        while self.posts().len() < count && std::time::Instant::now() < deadline {
            std::thread::sleep(std::time::Duration::from_millis(100));
        }
        self.posts()
    }
}

/// Reads one HTTP request, returns 200 to the client and returns its body.
fn read_request_body(mut stream: TcpStream) -> Option<Vec<u8>> {
    let mut buffer = Vec::new();
    let mut chunk = [0_u8; 4096];
    loop {
        let read = stream.read(&mut chunk).ok()?;
        if read == 0 {
            return None;
        }
        buffer.extend_from_slice(&chunk[..read]);
        let Some(end) = buffer.windows(4).position(|window| window == b"\r\n\r\n") else { continue };
        let head = String::from_utf8_lossy(&buffer[..end]).to_ascii_lowercase();
        let length: usize = head
            .lines()
            .find_map(|line| line.strip_prefix("content-length:"))
            .and_then(|value| value.trim().parse().ok())
            .unwrap_or(0);
        if buffer.len() >= end + 4 + length {
            stream.write_all(b"HTTP/1.1 200 OK\r\ncontent-length: 2\r\nconnection: close\r\n\r\nok").ok()?;
            return Some(buffer[end + 4..end + 4 + length].to_vec());
        }
    }
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port()
}

fn get_metrics(address: &str) -> Option<String> {
    let mut stream = TcpStream::connect(address).ok()?;
    let request = format!("GET /metrics HTTP/1.1\r\nHost: {address}\r\nConnection: close\r\n\r\n");
    stream.write_all(request.as_bytes()).ok()?;
    let mut response = String::new();
    stream.read_to_string(&mut response).ok()?;
    Some(response)
}

#[test]
fn watch_announces_drift_and_resolution_once() {
    let (harness, file) = applied_environment();
    let webhook = WebhookMock::start();
    let metrics_address = format!("127.0.0.1:{}", free_port());
    let workers = format!("{NODE_POOLS}/ai-workers");
    let merge_patch = "application/merge-patch+json";

    let mut command = std::process::Command::new(env!("CARGO_BIN_EXE_tether"));
    command
        .args(["drift", &file, "--watch", "--interval", "1s", "--notify-webhook", &webhook.url])
        .args(["--metrics-address", &metrics_address])
        .current_dir(harness.dir.path())
        .env("KUBECONFIG", &harness.kubeconfig)
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped());
    harness.moto.apply_client_env(&mut command);
    let mut watcher = command.spawn().unwrap();

    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(60);
    let gauge = "tether_drift_resources{environment=\"ai-dev\"} 0\n";
    while !get_metrics(&metrics_address).is_some_and(|text| text.contains(gauge)) {
        assert!(std::time::Instant::now() < deadline, "no successful check within 60 seconds");
        std::thread::sleep(std::time::Duration::from_millis(200));
    }

    kube_patch(&harness, &workers, merge_patch, &json!({"spec": {"replicas": 5}}));
    let posts = webhook.wait_for(1);
    assert_eq!(posts.len(), 1, "{posts:#?}");
    assert_eq!(posts[0]["event"], "drift");
    let text = posts[0]["text"].as_str().unwrap();
    assert_eq!(
        text,
        "tether: drift in `ai-dev`:\n• `cluster.node_pool.workers` changed outside tether (spec.replicas)"
    );

    kube_patch(&harness, &workers, merge_patch, &json!({"spec": {"replicas": 2}}));
    let posts = webhook.wait_for(2);
    assert_eq!(posts.len(), 2, "{posts:#?}");
    assert_eq!(posts[1]["event"], "resolved");

    std::thread::sleep(std::time::Duration::from_secs(3));
    let metrics = get_metrics(&metrics_address).unwrap();
    watcher.kill().unwrap();
    let output = watcher.wait_with_output().unwrap();
    let stdout = String::from_utf8_lossy(&output.stdout);

    assert_eq!(webhook.posts().len(), 2, "only the drift and its resolution are announced");
    assert_eq!(stdout.matches("Drift in environment `ai-dev`").count(), 1, "{stdout}");
    assert_eq!(stdout.matches("No drift.").count(), 2, "the first check and the resolution:\n{stdout}");
    assert!(metrics.contains("tether_drift_check_errors_total{environment=\"ai-dev\"} 0\n"), "{metrics}");
    assert!(metrics.contains("tether_drift_last_success_timestamp_seconds{environment=\"ai-dev\"} "), "{metrics}");
}

#[test]
fn one_shot_checks_announce_same_drift_once() {
    let (harness, file) = applied_environment();
    let webhook = WebhookMock::start();
    let workers = format!("{NODE_POOLS}/ai-workers");
    let merge_patch = "application/merge-patch+json";
    kube_patch(&harness, &workers, merge_patch, &json!({"spec": {"replicas": 5}}));

    for _ in 0..2 {
        let output = harness.tether(&["drift", &file, "--notify-webhook", &webhook.url]);
        assert_eq!(output.status.code(), Some(2), "{}", describe(&output));
    }
    assert_eq!(webhook.posts().len(), 1, "{:#?}", webhook.posts());
    let record = harness.dir.path().join(".tether/ai-dev.drift-report.json");
    let remembered: Value = serde_json::from_str(&std::fs::read_to_string(&record).unwrap()).unwrap();
    assert_eq!(remembered["drift"][0]["address"], "cluster.node_pool.workers", "{remembered:#}");

    kube_patch(&harness, &workers, merge_patch, &json!({"spec": {"replicas": 2}}));
    for _ in 0..2 {
        let output = harness.tether(&["drift", &file, "--notify-webhook", &webhook.url]);
        assert_eq!(output.status.code(), Some(0), "{}", describe(&output));
    }
    let posts = webhook.posts();
    assert_eq!(posts.len(), 2, "the drift once and its resolution once: {posts:#?}");
    assert_eq!((posts[0]["event"].as_str(), posts[1]["event"].as_str()), (Some("drift"), Some("resolved")));
}

#[test]
fn one_shot_checks_remember_announcement_on_the_cluster() {
    let harness = Harness::start();
    let file = harness.example("ai-dev.toml").to_str().unwrap().to_owned();
    std::fs::write(&file, std::fs::read_to_string(&file).unwrap() + "\n[state]\nbackend = \"kubernetes\"\n").unwrap();
    harness.tether_ok(&["apply", "--auto-approve", &file]);
    let webhook = WebhookMock::start();
    let workers = format!("{NODE_POOLS}/ai-workers");
    kube_patch(&harness, &workers, "application/merge-patch+json", &json!({"spec": {"replicas": 5}}));

    for _ in 0..2 {
        let output = harness.tether(&["drift", &file, "--notify-webhook", &webhook.url]);
        assert_eq!(output.status.code(), Some(2), "{}", describe(&output));
    }

    assert_eq!(webhook.posts().len(), 1, "{:#?}", webhook.posts());
    let config_map = harness.kube.get("v1", "ConfigMap", Some("hcp-ai"), "tether-ai-dev-drift-report");
    let text = config_map.expect("the report is kept in a ConfigMap")["data"]["document.json"].clone();
    let remembered: Value = serde_json::from_str(text.as_str().unwrap()).unwrap();
    assert_eq!(remembered["drift"][0]["address"], "cluster.node_pool.workers", "{remembered:#}");
    assert!(!harness.dir.path().join(".tether/ai-dev.drift-report.json").exists(), "nothing is kept locally");
}

#[test]
fn field_managers_other_apply_and_kubectl_edit() {
    let (harness, file) = applied_environment();
    // HyperShift's operator writes into the HostedCluster spec with its own field manager.
    let hosted_cluster = "/apis/hypershift.openshift.io/v1beta1/namespaces/hcp-ai/hostedclusters/ai";
    let applied = json!({
        "apiVersion": "hypershift.openshift.io/v1beta1", "kind": "HostedCluster",
        "metadata": {"name": "ai", "namespace": "hcp-ai"},
        "spec": {"controllerAvailabilityPolicy": "SingleReplica", "infraID": "ai"}
    });
    kube_patch(&harness, hosted_cluster, "application/apply-patch+yaml", &applied);
    let report = drift_json(&harness, &file, 0);
    assert_eq!(report["drift"], json!([]), "{report:#}");

    // `kubectl edit` with an editor that drops the taints from the JSON it is given.
    let editor = harness.dir.path().join("drop-taints.py");
    let script = "import json, sys\npath = sys.argv[-1]\nobject = json.load(open(path))\n\
                  del object['spec']['taints']\njson.dump(object, open(path, 'w'))\n";
    std::fs::write(&editor, script).unwrap();
    let edit_command = ["edit", "nodepool", "ai-gpu", "-n", "hcp-ai", "-o", "json"];
    let edited = kubectl_with_editor(&harness, &edit_command, &format!("python3 {}", editor.display()));
    assert!(edited.status.success(), "{}", describe(&edited));

    let report = drift_json(&harness, &file, 2);
    let expected = [("cluster.node_pool.gpu".to_owned(), "changed".to_owned(), vec!["spec.taints".to_owned()])];
    assert_eq!(drift_summary(&report), expected, "{report:#}");
}

/// Reads a NodePool of the environment from the test server.
fn node_pool(harness: &Harness, name: &str) -> Value {
    let pool = harness.kube.get("hypershift.openshift.io/v1beta1", "NodePool", Some("hcp-ai"), name);
    pool.unwrap_or_else(|| panic!("NodePool {name} exists"))
}

/// Returns the `fieldsV1` of one `managedFields` entry, `None` when there is no such entry.
fn owned_fields(object: &Value, manager: &str, operation: &str) -> Option<Value> {
    let entries = object["metadata"]["managedFields"].as_array()?;
    let entry = entries.iter().find(|entry| entry["manager"] == manager && entry["operation"] == operation)?;
    Some(entry["fieldsV1"].clone())
}

/// Builds a server-side apply configuration of a NodePool with only `fields` besides its identity.
fn node_pool_config(name: &str, fields: Value) -> Value {
    let mut config = json!({
        "apiVersion": "hypershift.openshift.io/v1beta1", "kind": "NodePool",
        "metadata": {"name": name, "namespace": "hcp-ai"}
    });
    for (key, value) in fields.as_object().unwrap() {
        match (config.get_mut(key), value) {
            (Some(Value::Object(existing)), Value::Object(more)) => existing.extend(more.clone()),
            _ => config[key] = value.clone(),
        }
    }
    config
}

#[test]
fn forced_apply_by_other_manager_is_not_drift() {
    let (harness, file) = applied_environment();
    let config = node_pool_config("ai-workers", json!({"spec": {"replicas": 5}}));
    kube_patch_with_query(
        &harness,
        &format!("{NODE_POOLS}/ai-workers"),
        "fieldManager=capacity-planner&force=true",
        "application/apply-patch+yaml",
        &config,
    );

    let pool = node_pool(&harness, "ai-workers");
    assert_eq!(pool["spec"]["replicas"], 5);
    assert_eq!(owned_fields(&pool, "capacity-planner", "Apply"), Some(json!({"f:spec": {"f:replicas": {}}})));
    let tether_fields = owned_fields(&pool, "tether", "Apply").expect("tether still owns the rest");
    assert_eq!(tether_fields["f:spec"].get("f:replicas"), None, "the forced apply took the field: {tether_fields:#}");

    // A manager that takes a field from tether with a forced server-side apply declares it on
    // purpose, so the field is no longer tether's and its new value is not drift.
    let report = drift_json(&harness, &file, 0);
    assert_eq!(report["drift"], json!([]), "{report:#}");
    assert_eq!(report["pending"], json!([]), "{report:#}");
}

#[test]
fn other_manager_extra_label_is_not_drift() {
    let (harness, file) = applied_environment();
    let config = node_pool_config(
        "ai-workers",
        json!({"metadata": {"labels": {"example.com/team": "ml"}, "annotations": {"example.com/owner": "ml-platform"}}}),
    );
    kube_patch_with_query(
        &harness,
        &format!("{NODE_POOLS}/ai-workers"),
        "fieldManager=team-bot",
        "application/apply-patch+yaml",
        &config,
    );

    let pool = node_pool(&harness, "ai-workers");
    let expected = json!({"f:metadata": {
        "f:annotations": {"f:example.com/owner": {}},
        "f:labels": {"f:example.com/team": {}}
    }});
    assert_eq!(owned_fields(&pool, "team-bot", "Apply"), Some(expected));
    assert_eq!(pool["metadata"]["labels"]["app.kubernetes.io/managed-by"], "tether", "tether's labels stay");

    let report = drift_json(&harness, &file, 0);
    assert_eq!(report["drift"], json!([]), "{report:#}");
}

#[test]
fn kubectl_patch_and_replace_are_drift() {
    let (harness, file) = applied_environment();
    let patched = kubectl(
        &harness,
        &["patch", "nodepool", "ai-workers", "-n", "hcp-ai", "--type", "merge", "-p", r#"{"spec":{"replicas":5}}"#],
        None,
    );
    assert!(patched.status.success(), "{}", describe(&patched));
    let mut gpu = node_pool(&harness, "ai-gpu");
    gpu["spec"]["autoScaling"]["max"] = json!(3);
    let replaced = kubectl(&harness, &["replace", "-f", "-"], Some(&gpu.to_string()));
    assert!(replaced.status.success(), "{}", describe(&replaced));

    let workers = node_pool(&harness, "ai-workers");
    assert_eq!(owned_fields(&workers, "kubectl-patch", "Update"), Some(json!({"f:spec": {"f:replicas": {}}})));
    assert_eq!(owned_fields(&workers, "tether", "Apply").unwrap()["f:spec"].get("f:replicas"), None);
    let gpu = node_pool(&harness, "ai-gpu");
    let max = json!({"f:spec": {"f:autoScaling": {"f:max": {}}}});
    assert_eq!(owned_fields(&gpu, "kubectl-replace", "Update"), Some(max));

    // Writes that are not server-side applies take fields silently, so they stay drift.
    let report = drift_json(&harness, &file, 2);
    assert_eq!(
        drift_summary(&report),
        [
            ("cluster.node_pool.gpu".to_owned(), "changed".to_owned(), vec!["spec.autoScaling.max".to_owned()]),
            ("cluster.node_pool.workers".to_owned(), "changed".to_owned(), vec!["spec.replicas".to_owned()]),
        ],
        "{report:#}"
    );
    let max = &drifted(&report, "cluster.node_pool.gpu")["attributes"][0];
    assert_eq!((max["applied"].clone(), max["observed"].clone()), (json!(2), json!(3)));
}

fn kubectl_with_editor(harness: &Harness, args: &[&str], editor: &str) -> std::process::Output {
    std::process::Command::new("/usr/bin/kubectl")
        .arg("--kubeconfig")
        .arg(&harness.kubeconfig)
        .args(args)
        .env("KUBE_EDITOR", editor)
        .output()
        .unwrap()
}

/// Reads the gpu pool's taints from the test server.
fn gpu_taints(harness: &Harness) -> Value {
    let pool = harness.kube.get("hypershift.openshift.io/v1beta1", "NodePool", Some("hcp-ai"), "ai-gpu").unwrap();
    pool["spec"]["taints"].clone()
}

#[test]
fn fix_restores_removed_taint_and_leaves_pending_changes() {
    let (harness, file) = applied_environment();
    let gpu = format!("{NODE_POOLS}/ai-gpu");
    kube_patch(&harness, &gpu, "application/json-patch+json", &json!([{"op": "remove", "path": "/spec/taints"}]));
    edit(Path::new(&file), "replicas = 2", "replicas = 3");

    let refused = harness.tether(&["drift", &file, "--fix"]);
    assert_eq!(refused.status.code(), Some(1), "{}", describe(&refused));
    assert!(String::from_utf8_lossy(&refused.stderr).contains("stdin is not a terminal"), "{}", describe(&refused));
    assert_eq!(gpu_taints(&harness), Value::Null, "nothing changed without confirmation");

    let fixed = harness.tether(&["drift", &file, "--fix", "--auto-approve"]);
    assert_eq!(fixed.status.code(), Some(0), "{}", describe(&fixed));
    let stdout = String::from_utf8_lossy(&fixed.stdout);
    let (_, plan) = stdout.split_once("The plan that puts the drifted resources back:").expect("a plan");
    assert!(plan.contains("~ cluster.node_pool.gpu {"), "{stdout}");
    assert!(!plan.contains("~ cluster.node_pool.workers {"), "the pending change is not applied:\n{stdout}");
    assert!(stdout.contains("Left for `tether apply`: pending changes of resources that did not drift:\n  update cluster.node_pool.workers\n"), "{stdout}");
    assert!(stdout.contains("Fix complete: 0 added, 1 changed, 0 destroyed; 0 failed, 0 skipped."), "{stdout}");
    assert_eq!(gpu_taints(&harness), json!([{"key": "nvidia.com/gpu", "value": "present", "effect": "NoSchedule"}]));

    let report = drift_json(&harness, &file, 0);
    assert_eq!(report["drift"], json!([]), "{report:#}");
    let pending = json!([{"address": "cluster.node_pool.workers", "action": "update", "paths": ["spec.replicas"]}]);
    assert_eq!(report["pending"], pending, "the file's change is still pending");
    let history = harness.tether_ok(&["history", &file]);
    assert_eq!(history.lines().filter(|line| line.contains("succeeded")).count(), 2, "apply and the fix:\n{history}");
}

#[test]
fn fix_recreates_deleted_route_and_leaves_unmanaged_subnet() {
    let (harness, file) = applied_environment();
    let route = recorded_addresses(&harness, "aws.route.").into_iter().next().expect("a route is recorded");
    let route_id = recorded_id(&harness, &route);
    let (table, destination) = route_id.split_once('_').expect("route ids are TABLE_CIDR");
    let vpc = recorded_id(&harness, "aws.vpc.main");
    let ec2 = harness.ec2_client();
    runtime().block_on(async {
        ec2.delete_route().route_table_id(table).destination_cidr_block(destination).send().await.unwrap();
        let tags = TagSpecification::builder()
            .resource_type(ResourceType::Subnet)
            .tags(Tag::builder().key("tether.dev/environment").value("ai-dev").build())
            .tags(Tag::builder().key("tether.dev/address").value("aws.subnet.extra").build())
            .build();
        ec2.create_subnet().vpc_id(&vpc).cidr_block("10.1.200.0/24").tag_specifications(tags).send().await.unwrap();
    });

    let output = harness.tether(&["drift", &file, "--fix", "--auto-approve"]);
    assert_eq!(output.status.code(), Some(2), "the unmanaged subnet remains: {}", describe(&output));
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(stdout.contains(&format!("+ {route}")), "{stdout}");
    assert!(stdout.contains("Left alone: resources with this environment's marks"), "{stdout}");
    assert!(stdout.contains("Fix complete: 1 added, 0 changed, 0 destroyed"), "{stdout}");

    let report = drift_json(&harness, &file, 2);
    let expected = [("aws.subnet.extra".to_owned(), "unmanaged".to_owned(), Vec::new())];
    assert_eq!(drift_summary(&report), expected, "{report:#}");
}

fn kubectl(harness: &Harness, args: &[&str], input: Option<&str>) -> std::process::Output {
    let path = "/usr/bin/kubectl";
    assert!(Path::new(path).exists(), "kubectl is needed at {path}");
    let mut child = std::process::Command::new(path)
        .arg("--kubeconfig")
        .arg(&harness.kubeconfig)
        .args(args)
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let mut stdin = child.stdin.take().unwrap();
    stdin.write_all(input.unwrap_or_default().as_bytes()).unwrap();
    drop(stdin);
    child.wait_with_output().unwrap()
}

#[test]
fn cronjob_manifest_passes_server_dry_run() {
    let harness = Harness::start();
    let file = harness.example("ai-dev.toml").to_str().unwrap().to_owned();
    let emit = [
        "drift",
        file.as_str(),
        "--emit-cronjob",
        "--image",
        "quay.io/example/tether:0.1.0",
        "--aws-credentials-secret",
        "tether-aws",
    ];

    let local = harness.tether(&emit);
    assert_eq!(local.status.code(), Some(1), "{}", describe(&local));
    assert!(String::from_utf8_lossy(&local.stderr).contains("set `[state] backend = \"kubernetes\"`"));

    std::fs::write(&file, std::fs::read_to_string(&file).unwrap() + "\n[state]\nbackend = \"kubernetes\"\n").unwrap();
    let manifests = harness.tether_ok(&emit);
    let documents: Vec<Value> = manifests
        .split("---\n")
        .filter(|text| !text.trim().is_empty())
        .map(|text| serde_yaml::from_str(text).unwrap())
        .collect();
    let kinds: Vec<&str> = documents.iter().map(|document| document["kind"].as_str().unwrap()).collect();
    assert_eq!(
        kinds,
        ["ServiceAccount", "ClusterRole", "ClusterRoleBinding", "Role", "RoleBinding", "ConfigMap", "CronJob"]
    );
    let cron_job = &documents[6];
    let pod = &cron_job["spec"]["jobTemplate"]["spec"]["template"]["spec"];
    assert_eq!(pod["serviceAccountName"], "tether-drift-ai-dev");
    assert_eq!(pod["containers"][0]["args"], json!(["drift", "/etc/tether/environment.toml", "--format", "json"]));
    assert_eq!(documents[5]["data"]["environment.toml"], std::fs::read_to_string(&file).unwrap().as_str());

    let namespace_manifest = "apiVersion: v1\nkind: Namespace\nmetadata:\n  name: hcp-ai\n";
    let namespace = kubectl(&harness, &["apply", "-f", "-"], Some(namespace_manifest));
    assert!(namespace.status.success(), "{}", describe(&namespace));
    let dry_run = kubectl(&harness, &["apply", "--dry-run=server", "-f", "-"], Some(&manifests));
    assert!(dry_run.status.success(), "{}", describe(&dry_run));
    let stdout = String::from_utf8_lossy(&dry_run.stdout);
    assert_eq!(stdout.matches("(server dry run)").count(), 7, "{stdout}");
    assert!(stdout.contains("cronjob.batch/tether-drift-ai-dev created (server dry run)"), "{stdout}");
    let listed = kubectl(&harness, &["get", "cronjobs", "-n", "hcp-ai", "-o", "name"], None);
    assert_eq!(String::from_utf8_lossy(&listed.stdout), "", "a dry run stores nothing");

    // What the job runs: a check that reads the state from the cluster.
    harness.tether_ok(&["apply", "--auto-approve", &file]);
    assert!(!harness.dir.path().join(".tether/ai-dev.state.json").exists(), "the state lives on the cluster");
    let report = drift_json(&harness, &file, 0);
    assert_eq!(report["drift"], json!([]), "{report:#}");
}
