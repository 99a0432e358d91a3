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
