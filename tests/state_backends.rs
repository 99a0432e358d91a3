//! End-to-end tests of state backends, locks and history: the `tether` binary against a fresh
//! moto and Kubernetes test server each.
//!
//! moto must be installed first (`scripts/emulators install`; `scripts/test` does it).

mod support;

use std::collections::BTreeSet;
use std::process::Child;
use std::time::{Duration, Instant};

use serde_json::{Value, json};
use support::{Harness, describe};
use tether_testkit::kube::Fault;

const LEASE: (&str, &str) = ("coordination.k8s.io/v1", "Lease");
const NAMESPACE: &str = "hcp-ai";
const LEASE_NAME: &str = "tether-lock-ai-dev";

/// Starts an apply whose HostedCluster write takes `delay`, so that it holds the lock meanwhile.
fn start_slow_apply(harness: &Harness, file: &str, backend: &str, delay: Duration) -> Child {
    harness.kube.inject_fault(Fault::delay(delay).on("PATCH", "/hostedclusters/"));
    harness
        .command(&["apply", "--auto-approve", "--state-backend", backend, file])
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .expect("tether starts")
}

/// Polls until `locked` returns true, failing after a minute.
fn wait_until(what: &str, mut locked: impl FnMut() -> bool) {
    let started = Instant::now();
    while !locked() {
        assert!(started.elapsed() < Duration::from_secs(60), "timed out waiting until {what}");
        std::thread::sleep(Duration::from_millis(50));
    }
}

fn lease(harness: &Harness) -> Option<Value> {
    harness.kube.get(LEASE.0, LEASE.1, Some(NAMESPACE), LEASE_NAME)
}

fn lease_holder(harness: &Harness) -> String {
    lease(harness).and_then(|lease| lease["spec"]["holderIdentity"].as_str().map(str::to_owned)).unwrap_or_default()
}

fn finish(child: Child) {
    let output = child.wait_with_output().expect("tether finishes");
    assert!(output.status.success(), "the first apply failed:\n{}", describe(&output));
}

/// Checks that a second apply is refused at once, naming the first one's process, and that a
/// third apply with `--lock-timeout` waits for the lock and then finds nothing to do.
fn second_apply_refused_then_waits(harness: &Harness, file: &str, backend: &str, first: Child) {
    let refused = harness.tether(&["apply", "--auto-approve", "--state-backend", backend, file]);
    assert_eq!(refused.status.code(), Some(1), "{}", describe(&refused));
    let stderr = String::from_utf8_lossy(&refused.stderr);
    assert!(stderr.contains("the state is locked: lock "), "{stderr}");
    assert!(stderr.contains(&format!("(pid {})", first.id())), "the holder's process is named:\n{stderr}");
    assert!(stderr.contains("for `apply` since"), "{stderr}");
    assert!(stderr.contains("--lock-timeout"), "{stderr}");

    let waited = harness.tether(&["apply", "--auto-approve", "--lock-timeout", "2m", "--state-backend", backend, file]);
    assert!(waited.status.success(), "{}", describe(&waited));
    let stdout = String::from_utf8_lossy(&waited.stdout);
    assert!(stdout.contains("No changes."), "the waiting apply ran after the first one:\n{stdout}");
    finish(first);
}

#[test]
fn concurrent_local_apply_is_refused() {
    let harness = Harness::start();
    let file = harness.example("ai-dev.toml");
    let file = file.to_str().unwrap();
    let lock_file = harness.dir.path().join(".tether/ai-dev.state.json.lock");

    let first = start_slow_apply(&harness, file, "local", Duration::from_secs(4));
    wait_until("the local lock is taken", || {
        std::fs::read_to_string(&lock_file).is_ok_and(|text| text.contains(&format!("\"pid\": {}", first.id())))
    });
    second_apply_refused_then_waits(&harness, file, "local", first);
    assert_eq!(std::fs::read_to_string(&lock_file).unwrap(), "", "a released lock leaves an empty file");
}

#[test]
fn concurrent_kubernetes_apply_is_refused() {
    let harness = Harness::start();
    let file = harness.example("ai-dev.toml");
    let file = file.to_str().unwrap();

    let first = start_slow_apply(&harness, file, "kubernetes", Duration::from_secs(4));
    wait_until("the Lease is taken", || !lease_holder(&harness).is_empty());
    let annotation = lease(&harness).unwrap()["metadata"]["annotations"]["tether.dev/lock"].clone();
    let holder: Value = serde_json::from_str(annotation.as_str().unwrap()).unwrap();
    assert_eq!(holder["holder"]["pid"], first.id());
    assert_eq!(holder["operation"], "apply");

    second_apply_refused_then_waits(&harness, file, "kubernetes", first);
    assert_eq!(lease_holder(&harness), "", "the last apply released the Lease");
    assert!(!harness.dir.path().join(".tether/ai-dev.state.json").exists(), "no local state was written");
}

/// Writes the Lease that a run on another machine left, renewed `renewed_ago` seconds ago.
fn leave_lease(harness: &Harness, id: &str, renewed_ago: i64) {
    let renewed = jiff::Timestamp::now().checked_sub(jiff::SignedDuration::from_secs(renewed_ago)).unwrap();
    let info = json!({
        "id": id,
        "holder": {"user": "alice", "host": "build-7", "pid": 4242, "ci_run": "https://ci.example.com/runs/9"},
        "operation": "apply",
        "created": renewed.to_string(),
    });
    harness.kube.create(json!({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": NAMESPACE}})).unwrap();
    harness
        .kube
        .create(json!({
            "apiVersion": "coordination.k8s.io/v1",
            "kind": "Lease",
            "metadata": {"name": LEASE_NAME, "namespace": NAMESPACE, "annotations": {"tether.dev/lock": info.to_string()}},
            "spec": {
                "holderIdentity": id,
                "leaseDurationSeconds": 60,
                "acquireTime": renewed.to_string(),
                "renewTime": renewed.to_string(),
            },
        }))
        .unwrap();
}

#[test]
fn expired_lease_is_taken_over() {
    let harness = Harness::start();
    let file = harness.example("ai-dev.toml");
    let file = file.to_str().unwrap();
    leave_lease(&harness, "crashed-run", 600);

    let output = harness.tether(&["apply", "--auto-approve", "--state-backend", "kubernetes", file]);
    assert!(output.status.success(), "{}", describe(&output));
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(stderr.contains("taking over an expired state lock"), "{stderr}");
    let lease = lease(&harness).unwrap();
    assert_eq!(lease["spec"]["leaseTransitions"], 1, "{lease}");
    assert!(lease["spec"].get("holderIdentity").is_none_or(Value::is_null), "released after the apply: {lease}");
}

#[test]
fn live_lease_refuses_until_force_unlock() {
    let harness = Harness::start();
    let file = harness.example("ai-dev.toml");
    let file = file.to_str().unwrap();
    leave_lease(&harness, "stuck-run", 5);

    let refused = harness.tether(&["apply", "--auto-approve", "--state-backend", "kubernetes", file]);
    assert_eq!(refused.status.code(), Some(1), "{}", describe(&refused));
    let stderr = String::from_utf8_lossy(&refused.stderr);
    assert!(
        stderr.contains("lock stuck-run held by alice@build-7 (pid 4242, CI run https://ci.example.com/runs/9)"),
        "{stderr}"
    );
    assert!(stderr.contains("unless renewed"), "{stderr}");

    let wrong = harness.tether(&["force-unlock", "other-id", "--state-backend", "kubernetes", file]);
    assert_eq!(wrong.status.code(), Some(1), "{}", describe(&wrong));
    assert!(String::from_utf8_lossy(&wrong.stderr).contains("is not locked by other-id"), "{}", describe(&wrong));

    let broken = harness.tether_ok(&["force-unlock", "stuck-run", "--state-backend", "kubernetes", file]);
    assert!(broken.contains("Broke the state lock stuck-run"), "{broken}");
    assert!(broken.contains("held by alice@build-7 (pid 4242, CI run https://ci.example.com/runs/9)"), "{broken}");
    assert_eq!(lease_holder(&harness), "");
    harness.tether_ok(&["apply", "--auto-approve", "--state-backend", "kubernetes", file]);
}

#[test]
fn history_records_each_apply() {
    let harness = Harness::start();
    let path = harness.example("ai-dev.toml");
    let file = path.to_str().unwrap();
    harness.tether_ok(&["apply", "--auto-approve", file]);
    harness.kube.inject_fault(Fault::fail(500).on("PATCH", "/nodepools/").times(1000));
    support::edit(&path, "replicas = 2", "replicas = 3");
    let failed = harness.tether(&["apply", "--auto-approve", file]);
    assert_eq!(failed.status.code(), Some(1), "{}", describe(&failed));

    let records: Value = serde_json::from_str(&harness.tether_ok(&["history", "--json", file])).unwrap();
    let records = records.as_array().unwrap();
    assert_eq!(records.len(), 2, "{records:?}");
    let (first, second) = (&records[0], &records[1]);
    assert_eq!(first["outcome"], "succeeded");
    assert_eq!(first["summary"], json!({"added": 38, "changed": 0, "destroyed": 0, "failed": 0, "skipped": 0}));
    assert_eq!(second["outcome"], "failed");
    assert_eq!(second["summary"]["failed"], 1);
    assert_ne!(first["environment_digest"], second["environment_digest"], "the file changed in between");
    assert!(first["plan_digest"].as_str().unwrap().starts_with("sha256:"));
    assert!(first["holder"]["host"].is_string());
    assert!(first["finished"].is_string());

    let text = harness.tether_ok(&["history", file]);
    assert_eq!(text.matches(" by ").count(), 2, "{text}");
    assert!(text.contains("succeeded  38 added, 0 changed, 0 destroyed; 0 failed, 0 skipped"), "{text}");
    let secret = std::fs::read_to_string(harness.dir.path().join("pull-secret.example.json")).unwrap();
    for record in records {
        assert!(
            !record.to_string().contains("ZmFrZS11c2VyOmZha2UtcGFzc3dvcmQtbm90LWEtcmVhbC1zZWNyZXQ="),
            "no secret in history"
        );
        assert!(!record.to_string().contains(secret.trim()), "no secret in history");
    }
}

#[test]
fn state_migrates_local_to_kubernetes() {
    let harness = Harness::start();
    let file = harness.example("ai-dev.toml");
    let file = file.to_str().unwrap();
    harness.tether_ok(&["apply", "--auto-approve", file]);
    let local: Value =
        serde_json::from_str(&std::fs::read_to_string(harness.dir.path().join(".tether/ai-dev.state.json")).unwrap())
            .unwrap();

    let output = harness.tether_ok(&["state", "migrate", "--from", "local", "--to", "kubernetes", file]);
    assert!(output.contains("Copied the state of `ai-dev`"), "{output}");
    assert!(output.contains("Set `[state] backend = \"kubernetes\"`"), "{output}");

    let secret = harness.kube.get("v1", "Secret", Some(NAMESPACE), "tether-state-ai-dev").expect("state Secret");
    let encoded = secret["data"]["state.json"].as_str().unwrap();
    use base64::Engine as _;
    let bytes = base64::engine::general_purpose::STANDARD.decode(encoded).unwrap();
    let migrated: Value = serde_json::from_slice(&bytes).unwrap();
    assert_eq!(migrated, local);
    assert!(
        !String::from_utf8_lossy(&bytes).contains("ZmFrZS11c2VyOmZha2UtcGFzc3dvcmQtbm90LWEtcmVhbC1zZWNyZXQ="),
        "only digests of secrets"
    );

    std::fs::remove_file(harness.dir.path().join(".tether/ai-dev.state.json")).unwrap();
    std::fs::write(file, std::fs::read_to_string(file).unwrap() + "\n[state]\nbackend = \"kubernetes\"\n").unwrap();
    let plan = harness.tether_ok(&["plan", file]);
    assert!(plan.contains("No changes."), "plan reads the migrated state:\n{plan}");

    let again = harness.tether(&["state", "migrate", "--from", "local", "--to", "kubernetes", file]);
    assert_eq!(again.status.code(), Some(1), "{}", describe(&again));
    assert!(String::from_utf8_lossy(&again.stderr).contains("has no state"), "{}", describe(&again));
}

/// Counts the resources that the local state file records, or `None` while it does not parse.
fn recorded_resources(harness: &Harness) -> Option<usize> {
    let text = std::fs::read_to_string(harness.dir.path().join(".tether/ai-dev.state.json")).ok()?;
    let state: Value = serde_json::from_str(&text).ok()?;
    state["resources"].as_object().map(serde_json::Map::len)
}

/// Returns the addresses of the plan's changes with `action`, from `tether plan --json`.
fn planned(harness: &Harness, file: &str, action: &str) -> BTreeSet<String> {
    let plan: Value = serde_json::from_str(&harness.tether_ok(&["plan", "--json", file])).expect("the plan is JSON");
    let changes = plan["resource_changes"].as_array().expect("resource_changes");
    let matching = changes.iter().filter(|change| change["action"] == action);
    matching.map(|change| change["address"].as_str().unwrap().to_owned()).collect()
}

/// Counts the AWS calls of `action` that returned HTTP 200.
fn successful_calls(harness: &Harness, action: &str) -> usize {
    harness.proxy().calls().iter().filter(|call| call.action == action && call.status == 200).count()
}

#[test]
fn killed_apply_converges_on_next_apply() {
    // 0 kills the apply after it saved the state it starts from and before any change finished.
    for kill_after in [0, 1, 5, 10, 15, 20] {
        let harness = Harness::start_with_proxy();
        let file = harness.example("ai-dev.toml");
        let file = file.to_str().unwrap();
        let creates = planned(&harness, file, "create");
        // Each AWS call takes 50 ms, so the apply runs for several seconds after each kill point.
        harness.proxy().set_latency(Duration::from_millis(50));
        let mut child = harness
            .command(&["apply", "--auto-approve", "--parallelism", "1", file])
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::null())
            .spawn()
            .expect("tether starts");
        wait_until(&format!("{kill_after} resources are recorded"), || {
            recorded_resources(&harness).is_some_and(|count| count >= kill_after)
        });
        let exited = child.try_wait().expect("the apply's status can be read");
        assert!(exited.is_none(), "kill after {kill_after}: the apply ended before the kill: {exited:?}");
        child.kill().expect("SIGKILL is sent");
        child.wait().expect("the killed process is reaped");

        let recorded = recorded_resources(&harness).expect("the state file is whole after SIGKILL");
        let remaining = creates.len() - recorded;
        let to_add = planned(&harness, file, "create");
        let to_update = planned(&harness, file, "update");
        // With one change in flight, at most one resource exists without a record. The plan adopts
        // it by its tags, or updates it when the kill cut its change short.
        assert!(to_add.is_subset(&creates), "kill after {kill_after}: plans to create {to_add:?}");
        assert!(to_add.len() <= remaining, "kill after {kill_after}: {recorded} recorded, yet {to_add:?}");
        assert!(
            to_add.len() + to_update.len() + 1 >= remaining,
            "kill after {kill_after}: {remaining} remain, yet the plan has {to_add:?} and {to_update:?}"
        );

        harness.proxy().set_latency(Duration::ZERO);
        harness.tether_ok(&["apply", "--auto-approve", file]);
        let last = harness.tether_ok(&["plan", file]);
        assert!(last.contains("No changes."), "kill after {kill_after}: the second apply converges:\n{last}");
        assert_eq!(recorded_resources(&harness), Some(creates.len()), "kill after {kill_after}: all recorded");
        for action in ["CreateVpc", "CreateInternetGateway", "RunInstances"] {
            assert_eq!(successful_calls(&harness, action), 1, "kill after {kill_after}: {action} ran once");
        }
    }
}

fn hypershift_object(harness: &Harness, kind: &str, name: &str) -> Option<Value> {
    harness.kube.get("hypershift.openshift.io/v1beta1", kind, Some(NAMESPACE), name)
}

#[test]
fn apply_wait_ends_when_hypershift_reports_ready() {
    let harness = Harness::start();
    let file = harness.example("ai-dev.toml");
    let child = harness
        .command(&["apply", "--auto-approve", "--wait", "--timeout", "2m", file.to_str().unwrap()])
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .expect("tether starts");
    wait_until("both NodePools exist", || {
        hypershift_object(&harness, "NodePool", "ai-workers").is_some()
            && hypershift_object(&harness, "NodePool", "ai-gpu").is_some()
    });

    harness.kube.mark_hosted_cluster_available(NAMESPACE, "ai").unwrap();
    harness.kube.set_node_pool_replicas(NAMESPACE, "ai-workers", 1).unwrap();
    std::thread::sleep(Duration::from_secs(3));
    harness.kube.set_node_pool_replicas(NAMESPACE, "ai-workers", 2).unwrap();
    harness.kube.set_node_pool_replicas(NAMESPACE, "ai-gpu", 0).unwrap();

    let output = child.wait_with_output().expect("tether finishes");
    assert!(output.status.success(), "{}", describe(&output));
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(stderr.contains("The hosted cluster is available and every node pool reports its nodes."), "{stderr}");
}

#[test]
fn apply_wait_timeout_names_condition() {
    let harness = Harness::start();
    let file = harness.example("ai-dev.toml");
    let child = harness
        .command(&["apply", "--auto-approve", "--wait", "--timeout", "5s", file.to_str().unwrap()])
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .expect("tether starts");
    wait_until("the HostedCluster exists", || hypershift_object(&harness, "HostedCluster", "ai").is_some());
    let failing = json!({"conditions": [{
        "type": "Available", "status": "False", "reason": "EtcdWaitingForQuorum",
        "message": "etcd has 1 of 3 members", "observedGeneration": 1,
    }]});
    harness
        .kube
        .set_status("hypershift.openshift.io/v1beta1", "HostedCluster", Some(NAMESPACE), "ai", failing)
        .unwrap();

    let output = child.wait_with_output().expect("tether finishes");
    assert_eq!(output.status.code(), Some(1), "{}", describe(&output));
    let stderr = String::from_utf8_lossy(&output.stderr);
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(stdout.contains("Apply complete"), "the apply itself succeeded:\n{stdout}");
    assert!(
        stderr.contains(
            "timed out after 5s waiting for cluster.hosted_cluster.ai to become ready: \
             Available=False (EtcdWaitingForQuorum): etcd has 1 of 3 members"
        ),
        "{stderr}"
    );
}
