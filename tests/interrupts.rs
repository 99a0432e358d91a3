//! End-to-end tests of SIGINT and SIGTERM during an apply. The first signal lets the changes in
//! flight finish, then tether releases the lock and exits 130 or 143. A second signal stops it at
//! once. The AWS proxy adds latency so that the signal arrives while the apply is mid-way.
//!
//! moto must be installed first (`scripts/emulators install`; `scripts/test` does it).

mod support;

use std::process::{Child, Output, Stdio};
use std::time::{Duration, Instant};

use support::{Harness, describe};

/// Reads the local state file, or `None` while it does not exist or is being replaced.
fn recorded_resources(harness: &Harness) -> Option<serde_json::Map<String, serde_json::Value>> {
    let text = std::fs::read_to_string(harness.dir.path().join(".tether/ai-dev.state.json")).ok()?;
    let state: serde_json::Value = serde_json::from_str(&text).ok()?;
    state["resources"].as_object().cloned()
}

/// Starts `tether apply` and waits until state records at least `finished` changes.
fn start_apply(harness: &Harness, file: &str, finished: usize) -> Child {
    let mut child = harness
        .command(&["apply", "--auto-approve", file])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("tether starts");
    let started = Instant::now();
    while recorded_resources(harness).is_none_or(|resources| resources.len() < finished) {
        if let Some(status) = child.try_wait().expect("the child can be polled") {
            panic!("the apply ended before it was interrupted: {status}");
        }
        assert!(started.elapsed() < Duration::from_secs(180), "the apply never reached {finished} changes");
        std::thread::sleep(Duration::from_millis(20));
    }
    child
}

fn send(child: &Child, signal: &str) {
    let status =
        std::process::Command::new("kill").args(["-s", signal, &child.id().to_string()]).status().expect("kill runs");
    assert!(status.success(), "kill -s {signal} failed");
}

/// Returns the addresses on the report lines that start with `prefix`, e.g. `  done: create aws.vpc.main`.
fn listed(stderr: &str, prefix: &str) -> Vec<String> {
    let lines = stderr.lines().filter_map(|line| line.strip_prefix(prefix));
    lines.filter_map(|rest| rest.split_whitespace().nth(1)).map(str::to_owned).collect()
}

/// Waits for the child, failing after `limit`.
fn finish_within(mut child: Child, limit: Duration) -> Output {
    let started = Instant::now();
    while child.try_wait().expect("the child can be polled").is_none() {
        if started.elapsed() > limit {
            let _ = child.kill();
            panic!("tether did not exit within {limit:?} of the signal");
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    child.wait_with_output().expect("output collected")
}

/// Counts the calls of `action` that returned HTTP 200.
fn successful_calls(harness: &Harness, action: &str) -> usize {
    harness.proxy().calls().iter().filter(|call| call.action == action && call.status == 200).count()
}

/// Checks that a later apply takes the lock, finishes the rest and converges without creating
/// anything twice.
fn assert_resumes_and_converges(harness: &Harness, file: &str) {
    harness.proxy().set_latency(Duration::ZERO);
    harness.tether_ok(&["apply", "--auto-approve", file]);
    let plan = harness.tether_ok(&["plan", file]);
    assert!(plan.starts_with("No changes."), "{plan}");
    assert_eq!(successful_calls(harness, "CreateVpc"), 1, "the VPC was created once");
    assert_eq!(successful_calls(harness, "CreateInternetGateway"), 1, "the gateway was created once");
}

fn interrupted_once(signal: &str, code: i32) {
    let harness = Harness::start_with_proxy();
    let file = harness.example("ai-dev.toml");
    let file = file.to_str().unwrap();
    harness.proxy().set_latency(Duration::from_millis(150));

    let child = start_apply(&harness, file, 2);
    send(&child, signal);
    let output = finish_within(child, Duration::from_secs(120));

    assert_eq!(output.status.code(), Some(code), "{}", describe(&output));
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(stderr.contains(&format!("SIG{signal} received: no new change starts")), "{stderr}");
    assert!(stderr.contains(&format!("Apply interrupted by SIG{signal}")), "{stderr}");
    assert!(stderr.contains("  done: create aws."), "what finished is listed:\n{stderr}");
    assert!(stderr.contains("  not started: create cluster.hosted_cluster.ai"), "what did not is listed:\n{stderr}");
    assert!(stderr.contains(", 0 abandoned."), "in-flight changes were waited for:\n{stderr}");
    let recorded = recorded_resources(&harness).expect("state is valid JSON");
    for done in listed(&stderr, "  done: ") {
        assert!(recorded.contains_key(&done), "{done} finished but is not recorded:\n{stderr}");
    }
    for not_started in listed(&stderr, "  not started: ") {
        assert!(!recorded.contains_key(&not_started), "{not_started} never started but is recorded");
    }

    assert_resumes_and_converges(&harness, file);
}

#[test]
fn sigint_drains_and_exits_130() {
    interrupted_once("INT", 130);
}

#[test]
fn sigterm_drains_and_exits_143() {
    interrupted_once("TERM", 143);
}

#[test]
fn second_sigint_stops_at_once() {
    let harness = Harness::start_with_proxy();
    let file = harness.example("ai-dev.toml");
    let file = file.to_str().unwrap();
    harness.proxy().set_latency(Duration::from_millis(150));

    let child = start_apply(&harness, file, 2);
    // Every call from here on takes 5 s, so changes are in flight when the second signal comes.
    harness.proxy().set_latency(Duration::from_secs(5));
    std::thread::sleep(Duration::from_millis(300));
    send(&child, "INT");
    std::thread::sleep(Duration::from_millis(300));
    send(&child, "INT");
    let second = Instant::now();
    let output = finish_within(child, Duration::from_secs(60));

    assert!(second.elapsed() < Duration::from_secs(4), "tether waited for calls in flight: {:?}", second.elapsed());
    assert_eq!(output.status.code(), Some(130), "{}", describe(&output));
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(stderr.contains("SIGINT received again: stopping without waiting"), "{stderr}");
    assert!(stderr.contains("  abandoned while in flight, outcome unknown: "), "{stderr}");
    assert!(recorded_resources(&harness).is_some_and(|resources| resources.len() >= 2), "state stays valid");

    assert_resumes_and_converges(&harness, file);
}

#[test]
fn json_summary_counts_interrupted_changes() {
    let harness = Harness::start_with_proxy();
    let file = harness.example("ai-dev.toml");
    let file = file.to_str().unwrap();
    harness.proxy().set_latency(Duration::from_millis(150));

    let mut child = harness
        .command(&["apply", "--json", "--auto-approve", file])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("tether starts");
    // The plan event alone can exceed a pipe's buffer, so stdout is read while the apply runs.
    let mut stdout = child.stdout.take().expect("stdout is piped");
    let reader = std::thread::spawn(move || {
        let mut text = String::new();
        std::io::Read::read_to_string(&mut stdout, &mut text).expect("stdout is UTF-8");
        text
    });
    let started = Instant::now();
    while recorded_resources(&harness).is_none_or(|resources| resources.len() < 2) {
        assert!(child.try_wait().expect("the child can be polled").is_none(), "the apply ended before the signal");
        assert!(started.elapsed() < Duration::from_secs(180), "the apply never recorded 2 changes");
        std::thread::sleep(Duration::from_millis(20));
    }
    send(&child, "INT");
    let output = finish_within(child, Duration::from_secs(120));
    let stdout = reader.join().expect("the reader thread ends");

    assert_eq!(output.status.code(), Some(130), "{}", describe(&output));
    let schema_path = support::repository_root().join("schemas/apply-events.schema.json");
    let schema: serde_json::Value = serde_json::from_str(&std::fs::read_to_string(schema_path).unwrap()).unwrap();
    let validator = jsonschema::validator_for(&schema).expect("the schema compiles");
    let events: Vec<serde_json::Value> =
        stdout.lines().map(|line| serde_json::from_str(line).expect("each line is JSON")).collect();
    for event in &events {
        let errors: Vec<String> = validator.iter_errors(event).map(|error| error.to_string()).collect();
        assert!(errors.is_empty(), "{event}\ndoes not match the event schema: {errors:#?}");
    }

    let count = |kind: &str| events.iter().filter(|event| event["type"] == kind).count() as u64;
    let summary = events.last().expect("events were written");
    assert_eq!(summary["type"], "summary", "the summary ends the stream");
    assert_eq!(summary["outcome"], "failed");
    assert_eq!(summary["interrupted"], true);
    assert_eq!(summary["abandoned"], 0, "the first signal waits for changes in flight");
    assert_eq!(summary["added"].as_u64(), Some(count("finish")), "{summary}");
    let planned = events[0]["plan"]["summary"]["add"].as_u64().expect("the plan event counts its creates");
    let not_started = summary["not_started"].as_u64().expect("not_started is a count");
    assert!(not_started > 0, "the signal came before the last change started: {summary}");
    assert_eq!(count("start") + not_started, planned, "every planned change started or is counted as not started");
}
