//! End-to-end tests of SIGINT and SIGTERM during `tether destroy`. After the first signal no new
//! delete starts, and the deletes in flight finish. tether then lists what it did and did not
//! delete, releases the lock and exits 130 or 143. A second signal stops it at once. The AWS
//! proxy adds latency so that the signal arrives while the destroy is mid-way.
//!
//! moto must be installed first (`scripts/emulators install`; `scripts/test` does it).

mod support;

use std::process::{Child, Output, Stdio};
use std::time::{Duration, Instant};

use aws_sdk_ec2::config::{BehaviorVersion, Credentials, Region};
use aws_sdk_ec2::types::Filter;
use support::{Harness, describe};

/// Reads the local state file, or `None` while it does not exist or is being replaced.
fn recorded_resources(harness: &Harness) -> Option<serde_json::Map<String, serde_json::Value>> {
    let text = std::fs::read_to_string(harness.dir.path().join(".tether/ai-dev.state.json")).ok()?;
    let state: serde_json::Value = serde_json::from_str(&text).ok()?;
    state["resources"].as_object().cloned()
}

/// Counts the AWS resources that state records.
fn recorded_aws(harness: &Harness) -> Option<usize> {
    let resources = recorded_resources(harness)?;
    Some(resources.keys().filter(|address| address.starts_with("aws.")).count())
}

/// Applies `examples/ai-dev.toml` through the proxy; returns the file and how many AWS resources
/// state records.
fn applied_environment(harness: &Harness) -> (String, usize) {
    let file = harness.example("ai-dev.toml").display().to_string();
    harness.tether_ok(&["apply", "--auto-approve", &file]);
    let recorded = recorded_aws(harness).expect("apply wrote the state");
    assert!(recorded > 10, "apply recorded the AWS resources: {recorded}");
    (file, recorded)
}

/// Starts `tether destroy` and waits until state records fewer than `applied` AWS resources,
/// i.e. until at least one AWS delete finished.
fn start_destroy(harness: &Harness, file: &str, applied: usize) -> Child {
    let mut child = harness
        .command(&["destroy", "--auto-approve", "--allow-destroy-cluster", file])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("tether starts");
    let started = Instant::now();
    while recorded_aws(harness).is_none_or(|recorded| recorded >= applied) {
        if let Some(status) = child.try_wait().expect("the child can be polled") {
            panic!("the destroy ended before it was interrupted: {status}");
        }
        assert!(started.elapsed() < Duration::from_secs(180), "the destroy never deleted an AWS resource");
        std::thread::sleep(Duration::from_millis(20));
    }
    child
}

fn send(child: &Child, signal: &str) {
    let status =
        std::process::Command::new("kill").args(["-s", signal, &child.id().to_string()]).status().expect("kill runs");
    assert!(status.success(), "kill -s {signal} failed");
}

/// Returns the addresses on the report lines that start with `prefix`, e.g. `  done: delete aws.subnet.x`.
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

/// Lists the VPCs that still carry the environment's tag.
fn tagged_vpcs(harness: &Harness) -> Vec<String> {
    let config = aws_sdk_ec2::Config::builder()
        .behavior_version(BehaviorVersion::latest())
        .endpoint_url(harness.moto.endpoint())
        .region(Region::new("ap-southeast-2"))
        .credentials_provider(Credentials::new("testing", "testing", None, None, "moto"))
        .build();
    let ec2 = aws_sdk_ec2::Client::from_conf(config);
    let filter = Filter::builder().name("tag:tether.dev/environment").values("ai-dev").build();
    let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
    let vpcs = runtime.block_on(ec2.describe_vpcs().filters(filter).send()).unwrap();
    vpcs.vpcs().iter().filter_map(|vpc| vpc.vpc_id()).map(str::to_owned).collect()
}

/// Checks that a later destroy takes the lock, deletes the rest and leaves nothing tagged.
fn assert_resumes_and_finishes(harness: &Harness, file: &str) {
    harness.proxy().set_latency(Duration::ZERO);
    let stdout = harness.tether_ok(&["destroy", "--auto-approve", "--allow-destroy-cluster", file]);
    assert!(stdout.contains("Destroy complete"), "{stdout}");
    assert_eq!(recorded_resources(harness), Some(serde_json::Map::new()), "state records nothing");
    assert_eq!(tagged_vpcs(harness), Vec::<String>::new(), "the VPC is gone");
}

fn interrupted_once(signal: &str, code: i32) {
    let harness = Harness::start_with_proxy();
    let (file, applied) = applied_environment(&harness);
    harness.proxy().set_latency(Duration::from_millis(150));

    let child = start_destroy(&harness, &file, applied);
    send(&child, signal);
    let output = finish_within(child, Duration::from_secs(120));

    assert_eq!(output.status.code(), Some(code), "{}", describe(&output));
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(stderr.contains(&format!("SIG{signal} received: no new change starts")), "{stderr}");
    assert!(stderr.contains(&format!("Destroy interrupted by SIG{signal}")), "{stderr}");
    assert!(stderr.contains("  done: delete aws."), "what was deleted is listed:\n{stderr}");
    assert!(stderr.contains("  not started: delete aws.vpc.main"), "what was not is listed:\n{stderr}");
    assert!(stderr.contains(", 0 abandoned."), "deletes in flight were waited for:\n{stderr}");
    assert!(stderr.contains("Run `tether destroy` again"), "{stderr}");
    let recorded = recorded_resources(&harness).expect("state is valid JSON");
    for done in listed(&stderr, "  done: ") {
        assert!(!recorded.contains_key(&done), "{done} was deleted but state still records it:\n{stderr}");
    }
    let not_started = listed(&stderr, "  not started: ");
    for address in &not_started {
        assert!(recorded.contains_key(address), "{address} was never deleted but state forgot it");
    }
    assert_eq!(tagged_vpcs(&harness).len(), 1, "the VPC was not deleted");

    assert_resumes_and_finishes(&harness, &file);
}

#[test]
fn destroy_sigint_drains_and_exits_130() {
    interrupted_once("INT", 130);
}

#[test]
fn destroy_sigterm_drains_and_exits_143() {
    interrupted_once("TERM", 143);
}

#[test]
fn destroy_second_sigint_stops_at_once() {
    let harness = Harness::start_with_proxy();
    let (file, applied) = applied_environment(&harness);
    harness.proxy().set_latency(Duration::from_millis(150));

    let child = start_destroy(&harness, &file, applied);
    // Every call from here on takes 5 s, so deletes are in flight when the second signal comes.
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
    assert!(stderr.contains("Destroy interrupted by SIGINT"), "{stderr}");
    assert!(stderr.contains("  abandoned while in flight, outcome unknown: delete "), "{stderr}");
    assert!(recorded_resources(&harness).is_some(), "state stays valid JSON");

    assert_resumes_and_finishes(&harness, &file);
}
