//! End-to-end tests of `tether apply --json`: the event stream on stdout, checked against
//! `schemas/apply-events.schema.json` and against what the apply did.
//!
//! moto must be installed first (`scripts/emulators install`; `scripts/test` does it).

mod support;

use std::collections::BTreeMap;

use serde_json::Value;
use support::{Harness, describe, repository_root};
use tether_testkit::kube::Fault;

fn validator(schema: &str) -> jsonschema::Validator {
    let path = repository_root().join("schemas").join(schema);
    let schema: Value = serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap();
    jsonschema::validator_for(&schema).expect("the schema compiles")
}

/// Parses stdout as JSON lines and checks each line against the event schema, and the plan event's
/// plan against the plan schema.
fn parse_events(stdout: &[u8]) -> Vec<Value> {
    let events_schema = validator("apply-events.schema.json");
    let plan_schema = validator("plan.schema.json");
    let stdout = String::from_utf8(stdout.to_vec()).expect("stdout is UTF-8");
    let mut events = Vec::new();
    for line in stdout.lines() {
        let event: Value = serde_json::from_str(line).unwrap_or_else(|error| panic!("not JSON ({error}): {line}"));
        let errors: Vec<String> = events_schema.iter_errors(&event).map(|error| error.to_string()).collect();
        assert!(errors.is_empty(), "{line}\ndoes not match the event schema: {errors:#?}");
        if event["type"] == "plan" {
            let errors: Vec<String> = plan_schema.iter_errors(&event["plan"]).map(|error| error.to_string()).collect();
            assert!(errors.is_empty(), "the plan event does not match the plan schema: {errors:#?}");
        }
        events.push(event);
    }
    events
}

fn of_type<'a>(events: &'a [Value], kind: &str) -> Vec<&'a Value> {
    events.iter().filter(|event| event["type"] == kind).collect()
}

/// Returns the position of the event of `kind` for `address`, failing when there is none.
fn position(events: &[Value], kind: &str, address: &str) -> usize {
    events
        .iter()
        .position(|event| event["type"] == kind && event["address"] == address)
        .unwrap_or_else(|| panic!("no {kind} event for {address}"))
}

#[test]
fn json_events_follow_schema() {
    let harness = Harness::start();
    let file = harness.example("ai-dev.toml");
    let output = harness.tether(&["-v", "apply", "--json", "--auto-approve", file.to_str().unwrap()]);
    assert!(output.status.success(), "{}", describe(&output));
    let events = parse_events(&output.stdout);

    assert_eq!(events.first().unwrap()["type"], "plan");
    let last = events.last().unwrap();
    assert_eq!(last["type"], "summary", "the summary ends the stream");
    let planned = events[0]["plan"]["summary"]["add"].as_u64().unwrap();
    assert!(planned > 10, "a fresh environment creates every resource: {}", events[0]["plan"]["summary"]);
    assert_eq!(last["outcome"], "succeeded");
    assert_eq!(last["added"], planned);
    assert_eq!(last["failed"], 0);
    assert_eq!(last["skipped"], 0);
    assert!(of_type(&events, "fail").is_empty());
    assert!(of_type(&events, "skip").is_empty());

    let starts = of_type(&events, "start");
    let finishes = of_type(&events, "finish");
    assert_eq!(starts.len() as u64, planned, "one start per created resource");
    let mut finished: BTreeMap<&str, usize> = BTreeMap::new();
    for event in &finishes {
        *finished.entry(event["address"].as_str().unwrap()).or_default() += 1;
        assert!(event["id"].as_str().is_some_and(|id| !id.is_empty()), "a create has an id: {event}");
    }
    for start in &starts {
        let address = start["address"].as_str().unwrap();
        assert_eq!(finished.get(address), Some(&1), "{address} finishes exactly once");
        assert!(position(&events, "start", address) < position(&events, "finish", address));
    }

    // A change starts only after what it depends on finished.
    let vpc_finished = position(&events, "finish", "aws.vpc.main");
    assert!(vpc_finished < position(&events, "start", "aws.subnet.private-ap-southeast-2a"));
    assert!(
        position(&events, "finish", "cluster.hosted_cluster.ai") < position(&events, "start", "cluster.node_pool.gpu")
    );

    let timestamps: Vec<&str> = events.iter().map(|event| event["timestamp"].as_str().unwrap()).collect();
    assert!(timestamps.is_sorted(), "events are in time order: {timestamps:?}");

    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(stderr.contains("DEBUG"), "-v logs go to stderr:\n{stderr}");
    assert!(!stderr.contains("\"type\":\"start\""), "no event on stderr:\n{stderr}");
}

#[test]
fn json_events_report_failure_and_skips() {
    let harness = Harness::start();
    let file = harness.example("ai-dev.toml");
    harness.kube.inject_fault(Fault::fail(500).on("PATCH", "/secrets/ai-pull-secret").times(1000));
    let output = harness.tether(&["apply", "--json", "--auto-approve", file.to_str().unwrap()]);
    assert_eq!(output.status.code(), Some(1), "{}", describe(&output));
    let events = parse_events(&output.stdout);

    let failures = of_type(&events, "fail");
    assert_eq!(failures.len(), 1, "{failures:#?}");
    assert_eq!(failures[0]["address"], "cluster.secret.pull-secret");
    assert!(failures[0]["error"].as_str().unwrap().contains("500"), "{}", failures[0]);

    let mut skipped: Vec<&str> =
        of_type(&events, "skip").iter().map(|event| event["address"].as_str().unwrap()).collect();
    skipped.sort_unstable();
    assert_eq!(skipped, ["cluster.hosted_cluster.ai", "cluster.node_pool.gpu", "cluster.node_pool.workers"]);
    for skip in of_type(&events, "skip") {
        assert_eq!(skip["because"], "cluster.secret.pull-secret");
        assert_eq!(skip["action"], "create");
    }
    for address in skipped {
        assert!(
            !events.iter().any(|event| event["type"] == "start" && event["address"] == address),
            "{address} never started"
        );
    }

    let summary = events.last().unwrap();
    assert_eq!(summary["type"], "summary");
    assert_eq!(summary["outcome"], "failed");
    assert_eq!(summary["failed"], 1);
    assert_eq!(summary["skipped"], 3);
    assert_eq!(summary["added"].as_u64().unwrap() as usize, of_type(&events, "finish").len());
}

#[test]
fn json_apply_without_changes() {
    let harness = Harness::start();
    let file = harness.example("ai-dev.toml");
    let file = file.to_str().unwrap();
    harness.tether_ok(&["apply", "--auto-approve", file]);

    let output = harness.tether(&["apply", "--json", "--auto-approve", file]);
    assert!(output.status.success(), "{}", describe(&output));
    let events = parse_events(&output.stdout);
    let kinds: Vec<&str> = events.iter().map(|event| event["type"].as_str().unwrap()).collect();
    assert_eq!(kinds, ["plan", "summary"]);
    assert_eq!(events[0]["plan"]["has_changes"], false);
    assert_eq!(events[1]["outcome"], "succeeded");
    assert_eq!(events[1]["added"], 0);
}

#[test]
fn plain_lines_without_terminal() {
    let harness = Harness::start();
    let file = harness.example("ai-dev.toml");
    let output = harness.tether(&["apply", "--auto-approve", file.to_str().unwrap()]);
    assert!(output.status.success(), "{}", describe(&output));
    let stderr = String::from_utf8_lossy(&output.stderr);
    let line = stderr.lines().find(|line| line.contains("aws.vpc.main: created in ")).expect("a line per finish");
    assert!(line.starts_with('['), "lines start with the elapsed time: {line}");
    assert!(line.contains("s] "), "lines start with the elapsed time: {line}");
    assert!(!stderr.contains('\u{1b}'), "no terminal escapes without a terminal:\n{stderr}");
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(stdout.contains("Apply complete: "), "{stdout}");
}

#[test]
fn live_display_on_terminal() {
    let harness = Harness::start();
    let file = harness.example("ai-dev.toml");
    let tether = harness.command(&["apply", "--auto-approve", file.to_str().unwrap()]);

    // `script` from util-linux runs the command on a pseudo-terminal and copies what it writes.
    let command_line = format!("{} apply --auto-approve {}", env!("CARGO_BIN_EXE_tether"), file.display());
    let mut script = std::process::Command::new("script");
    script.args(["--quiet", "--return", "--command", &command_line, "/dev/null"]);
    script.current_dir(harness.dir.path()).env("TERM", "xterm-256color").env_remove("RUST_LOG");
    for (key, value) in tether.get_envs() {
        match value {
            Some(value) => script.env(key, value),
            None => script.env_remove(key),
        };
    }
    let output = script.output().expect("script runs");
    assert!(output.status.success(), "{}", describe(&output));

    let screen = String::from_utf8_lossy(&output.stdout);
    assert!(screen.contains("\u{1b}["), "the display moves the cursor:\n{screen}");
    assert!(screen.contains(" changes"), "the overall bar is drawn:\n{screen}");
    assert!(screen.contains("aws.vpc.main: created in "), "finished changes stay on screen:\n{screen}");
    assert!(!screen.contains("s] aws.vpc.main"), "no plain lines on a terminal:\n{screen}");
    assert!(screen.contains("Apply complete: "), "{screen}");
}
