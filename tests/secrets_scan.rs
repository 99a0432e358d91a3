//! End-to-end scan for secrets. Every output of a full apply, trace logs included, must be free of
//! the pull secret (raw, base64 and the registry credential inside it) and of the AWS credentials
//! in the environment. Provider errors are shown with their tokens and signed URLs redacted.
//!
//! moto must be installed first (`scripts/emulators install`; `scripts/test` does it).

mod support;

use std::process::Output;

use base64::Engine as _;
use support::{Harness, describe};
use tether_testkit::aws_proxy::AwsFault;

/// An AWS secret access key and session token that cannot occur by chance. moto does not check
/// signatures, so any value works against it.
const AWS_SECRET_KEY: &str = "tEtHeRsEcReTkEy0123456789abcdefghijklmno";
const AWS_SESSION_TOKEN: &str = "FwoGZXIvYXdzEtEtHeRsEsSiOnToKeN0123456789";

/// Runs `tether` with the distinctive credentials and trace logging.
fn run(harness: &Harness, args: &[&str]) -> Output {
    harness
        .command(args)
        .env("AWS_SECRET_ACCESS_KEY", AWS_SECRET_KEY)
        .env("AWS_SESSION_TOKEN", AWS_SESSION_TOKEN)
        .env("RUST_LOG", "trace")
        .output()
        .expect("tether runs")
}

/// Runs `tether`, asserts success and returns stdout and stderr.
fn run_ok(harness: &Harness, args: &[&str]) -> (String, String) {
    let output = run(harness, args);
    assert!(output.status.success(), "tether {args:?} failed:\n{}", describe(&output));
    (String::from_utf8_lossy(&output.stdout).into_owned(), String::from_utf8_lossy(&output.stderr).into_owned())
}

/// Lists the secret forms to look for: the pull secret file, its base64 and compact forms, the
/// registry credential in it and that credential decoded, and the AWS credentials.
fn secret_forms(harness: &Harness) -> Vec<(String, &'static str)> {
    let text = std::fs::read_to_string(harness.dir.path().join("pull-secret.example.json")).unwrap();
    let json: serde_json::Value = serde_json::from_str(&text).unwrap();
    let auth = json["auths"]["quay.io"]["auth"].as_str().unwrap().to_owned();
    let decoded = String::from_utf8(base64::engine::general_purpose::STANDARD.decode(&auth).unwrap()).unwrap();
    let compact = serde_json::to_string(&json).unwrap();
    let engine = base64::engine::general_purpose::STANDARD;
    vec![
        (text.trim().to_owned(), "the pull secret file"),
        (engine.encode(text.as_bytes()), "the pull secret file in base64"),
        (engine.encode(compact.as_bytes()), "the compact pull secret in base64"),
        (compact, "the compact pull secret"),
        (auth, "the registry credential"),
        (decoded, "the decoded registry credential"),
        (AWS_SECRET_KEY.to_owned(), "the AWS secret access key"),
        (AWS_SESSION_TOKEN.to_owned(), "the AWS session token"),
    ]
}

#[test]
fn full_apply_outputs_free_of_secrets() {
    let harness = Harness::start_with_proxy();
    let file = harness.example("ai-dev.toml");
    let file = file.to_str().unwrap();
    let plan_file = harness.dir.path().join("ai-dev.plan");
    let plan_file = plan_file.to_str().unwrap();
    let mut outputs: Vec<(String, String)> = Vec::new();
    let mut record = |name: &str, (stdout, stderr): (String, String)| {
        outputs.push((format!("{name} stdout"), stdout));
        outputs.push((format!("{name} trace log"), stderr));
    };

    record("plan", run_ok(&harness, &["plan", file]));
    record("plan --json", run_ok(&harness, &["plan", "--json", file]));
    record("plan --format markdown", run_ok(&harness, &["plan", "--format", "markdown", file]));
    record("plan -out", run_ok(&harness, &["plan", "-out", plan_file, file]));
    record("show", run_ok(&harness, &["show", plan_file]));
    record("apply", run_ok(&harness, &["apply", plan_file]));
    harness.kube.set_node_pool_replicas("hcp-ai", "ai-workers", 5).ok();
    record("drift --format json", drift(&harness, file));
    let (history, history_log) = run_ok(&harness, &["history", "--json", file]);
    let records: serde_json::Value = serde_json::from_str(&history).expect("history JSON");
    outputs.push(("history --json".to_owned(), history));
    outputs.push(("history trace log".to_owned(), history_log));

    outputs.push(("plan file".to_owned(), std::fs::read_to_string(plan_file).unwrap()));
    let state_dir = harness.dir.path().join(".tether");
    for entry in std::fs::read_dir(&state_dir).unwrap() {
        let path = entry.unwrap().path();
        outputs.push((path.display().to_string(), std::fs::read_to_string(&path).unwrap_or_default()));
    }
    let ids = records.as_array().expect("history records").iter().map(|record| record["id"].as_str().unwrap());
    for id in ids {
        let name = format!("tether-history-ai-dev-{id}");
        let config_map = harness.kube.get("v1", "ConfigMap", Some("hcp-ai"), &name).expect("history ConfigMap");
        outputs.push((format!("ConfigMap {name}"), config_map.to_string()));
    }

    assert!(
        outputs.iter().any(|(name, text)| name == "apply trace log" && text.contains("TRACE")),
        "trace logging is on"
    );
    for (secret, what) in secret_forms(&harness) {
        for (name, text) in &outputs {
            assert!(!text.contains(&secret), "{what} appears in {name}");
        }
    }
}

/// Runs the drift check; exit code 2 reports drift and is not a failure here.
fn drift(harness: &Harness, file: &str) -> (String, String) {
    let output = run(harness, &["drift", "--format", "json", file]);
    assert!(matches!(output.status.code(), Some(0 | 2)), "{}", describe(&output));
    (String::from_utf8_lossy(&output.stdout).into_owned(), String::from_utf8_lossy(&output.stderr).into_owned())
}

#[test]
fn aws_error_tokens_redacted() {
    let harness = Harness::start_with_proxy();
    let file = harness.example("ai-dev.toml");
    let message = "Request https://ec2.amazonaws.com/?Action=CreateVpc&X-Amz-Credential=AKIDEXAMPLE%2F20260101&X-Amz-Security-Token=IQoJb3JpZ2luX2VjEXAMPLETOKEN&X-Amz-Signature=5d672d79c15b13162d9279b0855cfba6789a8edb4c82c400e06b5924a6f2b5d7 rejected; header Authorization: Bearer eyJhbGciOiJSUzI1NiJ9.c2VjcmV0.c2ln";
    harness.proxy().inject(AwsFault::error(400, "InvalidParameterValue").message(message).action("CreateVpc"));

    let output = harness.tether(&["apply", "--auto-approve", file.to_str().unwrap()]);

    assert_eq!(output.status.code(), Some(1), "{}", describe(&output));
    let shown = String::from_utf8_lossy(&output.stderr);
    assert!(shown.contains("InvalidParameterValue"), "the AWS error is shown:\n{shown}");
    assert!(shown.contains("X-Amz-Signature=[REDACTED]"), "{shown}");
    assert!(shown.contains("X-Amz-Security-Token=[REDACTED]"), "{shown}");
    assert!(shown.contains("Authorization: [REDACTED]"), "{shown}");
    for token in [
        "5d672d79c15b13162d9279b0855cfba6789a8edb4c82c400e06b5924a6f2b5d7",
        "IQoJb3JpZ2luX2VjEXAMPLETOKEN",
        "eyJhbGciOiJSUzI1NiJ9",
    ] {
        assert!(!shown.contains(token), "`{token}` is shown:\n{shown}");
    }
}
