//! End-to-end tests of `tether history`: which commands it lists, with which operation and
//! outcome, and that records written before they named their operation still read.

mod support;

use std::process::{Child, Output, Stdio};
use std::time::{Duration, Instant};

use serde_json::{Value, json};
use support::{Harness, describe};

/// Reads `tether history --json FILE`.
fn history_records(harness: &Harness, file: &str) -> Vec<Value> {
    let text = harness.tether_ok(&["history", "--json", file]);
    let records: Value = serde_json::from_str(&text).unwrap();
    records.as_array().unwrap().clone()
}

/// Counts the AWS resources that the local state records, or `None` while the file does not
/// exist or is being replaced.
fn recorded_aws(harness: &Harness) -> Option<usize> {
    let text = std::fs::read_to_string(harness.dir.path().join(".tether/ai-dev.state.json")).ok()?;
    let state: Value = serde_json::from_str(&text).ok()?;
    Some(state["resources"].as_object()?.keys().filter(|address| address.starts_with("aws.")).count())
}

/// Sends SIGINT to `child` once the state records fewer than `applied` AWS resources, that is
/// once at least one AWS delete finished, and waits up to 120 s for it to exit.
fn interrupt_after_first_delete(harness: &Harness, mut child: Child, applied: usize) -> Output {
    let started = Instant::now();
    while recorded_aws(harness).is_none_or(|recorded| recorded >= applied) {
        if let Some(status) = child.try_wait().unwrap() {
            panic!("the destroy ended before it was interrupted: {status}");
        }
        assert!(started.elapsed() < Duration::from_secs(180), "the destroy never deleted an AWS resource");
        std::thread::sleep(Duration::from_millis(20));
    }
    let sent = std::process::Command::new("kill").args(["-s", "INT", &child.id().to_string()]).status().unwrap();
    assert!(sent.success(), "kill -s INT failed");

    let signalled = Instant::now();
    while child.try_wait().unwrap().is_none() {
        if signalled.elapsed() > Duration::from_secs(120) {
            let _ = child.kill();
            panic!("tether did not exit within 120 s of SIGINT");
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    child.wait_with_output().unwrap()
}

/// Returns the number before ` destroyed` in the destroy's closing line, e.g.
/// `Destroy interrupted by SIGINT: 4 destroyed; …`.
fn destroyed_count(stderr: &str) -> u64 {
    let line = stderr.lines().find(|line| line.starts_with("Destroy interrupted by SIGINT: ")).expect("a summary line");
    let count = line.split(": ").nth(1).and_then(|rest| rest.split(' ').next());
    count.and_then(|count| count.parse().ok()).expect("a count of destroyed resources")
}

#[test]
fn interrupted_destroy_follows_apply() {
    let harness = Harness::start_with_proxy();
    let file = harness.example("ai-dev.toml").display().to_string();
    harness.tether_ok(&["apply", "--auto-approve", &file]);
    let applied = recorded_aws(&harness).expect("apply wrote the state");
    // Each AWS call takes 150 ms, so SIGINT arrives with most deletes not started. The namespace
    // that contains the history would be deleted last, so it and the apply's record remain.
    harness.proxy().set_latency(Duration::from_millis(150));
    let child = harness
        .command(&["destroy", "--auto-approve", "--allow-destroy-cluster", &file])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("tether starts");

    let output = interrupt_after_first_delete(&harness, child, applied);

    assert_eq!(output.status.code(), Some(130), "{}", describe(&output));
    let stderr = String::from_utf8_lossy(&output.stderr);
    let destroyed = destroyed_count(&stderr);
    assert!(destroyed > 0, "{stderr}");
    let records = history_records(&harness, &file);
    let operations: Vec<&Value> = records.iter().map(|record| &record["operation"]).collect();
    assert_eq!(operations, [&json!("apply"), &json!("destroy")], "{records:#?}");
    let (apply, destroy) = (&records[0], &records[1]);
    assert_eq!(apply["outcome"], "succeeded");
    assert_eq!(destroy["outcome"], "interrupted");
    assert_eq!(destroy["summary"]["destroyed"], destroyed);
    assert_eq!(destroy["summary"]["failed"], 0);
    assert!(destroy["finished"].is_string(), "the first signal lets the record finish");
    assert_ne!(destroy["id"], apply["id"], "each run has its own lock id");
    assert_ne!(destroy["plan_digest"], apply["plan_digest"], "the destroy plan is not the apply's");

    let text = harness.tether_ok(&["history", &file]);
    assert!(text.contains("  apply  succeeded  "), "{text}");
    assert!(text.contains(&format!("  destroy  interrupted  0 added, 0 changed, {destroyed} destroyed; ")), "{text}");
}

#[test]
fn record_without_operation_lists_as_apply() {
    let harness = Harness::start();
    let file = harness.example("ai-dev.toml").display().to_string();
    // A record as tether wrote it before records named their operation.
    let record = json!({
        "id": "0b7d6c1e-old",
        "environment": "ai-dev",
        "holder": {"user": "alice", "host": "build-7", "pid": 4242},
        "started": "2026-11-02T09:15:00Z",
        "finished": "2026-11-02T09:21:40Z",
        "environment_digest": "5f0c",
        "plan_digest": "sha256:9ab1",
        "summary": {"added": 38, "changed": 0, "destroyed": 0, "failed": 0, "skipped": 0},
        "outcome": "succeeded",
        "tether_version": "0.1.0"
    });
    harness.kube.create(json!({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "hcp-ai"}})).unwrap();
    harness
        .kube
        .create(json!({
            "apiVersion": "v1",
            "kind": "ConfigMap",
            "metadata": {
                "name": "tether-history-ai-dev-0b7d6c1e-old",
                "namespace": "hcp-ai",
                "labels": {"tether.dev/history-of": "ai-dev"}
            },
            "data": {"record.json": record.to_string()}
        }))
        .unwrap();

    let records = history_records(&harness, &file);

    assert_eq!(records.len(), 1, "{records:#?}");
    assert_eq!(records[0]["operation"], "apply");
    assert_eq!(records[0]["summary"]["added"], 38);
    let text = harness.tether_ok(&["history", &file]);
    assert!(text.contains("2026-11-02T09:15:00Z  apply  succeeded  38 added, 0 changed, 0 destroyed"), "{text}");
}
