//! End-to-end tests of damaged saved plan files and state: truncated, not JSON, from a newer
//! tether, or for another environment. Each is rejected with a message that says what to do, and
//! nothing is changed in AWS or on the cluster.
//!
//! moto must be installed first (`scripts/emulators install`; `scripts/test` does it).

mod support;

use std::path::{Path, PathBuf};

use base64::Engine as _;
use support::{Harness, describe};

fn state_path(harness: &Harness) -> PathBuf {
    harness.dir.path().join(".tether/ai-dev.state.json")
}

/// Asserts that nothing was created: no namespace on the cluster and no VPC call reached AWS.
fn assert_nothing_applied(harness: &Harness) {
    assert!(harness.kube.get("v1", "Namespace", None, "hcp-ai").is_none(), "the namespace was created");
    let proxy_calls = harness.proxy().calls();
    let creates: Vec<&str> =
        proxy_calls.iter().map(|call| call.action.as_str()).filter(|action| action.starts_with("Create")).collect();
    assert!(creates.is_empty(), "AWS create calls were made: {creates:?}");
}

/// Runs `tether` and asserts it failed with exit code 1 and `message` on stderr.
fn assert_rejected(harness: &Harness, args: &[&str], message: &str) -> String {
    let output = harness.tether(args);
    assert_eq!(output.status.code(), Some(1), "{}", describe(&output));
    let stderr = String::from_utf8_lossy(&output.stderr).into_owned();
    assert!(stderr.contains(message), "expected {message:?} in:\n{stderr}");
    stderr
}

fn write_state(harness: &Harness, text: &str) {
    std::fs::create_dir_all(harness.dir.path().join(".tether")).unwrap();
    std::fs::write(state_path(harness), text).unwrap();
}

/// Checks that plan and apply both reject the state in place, and that apply leaves it as it was.
fn assert_state_rejected(harness: &Harness, file: &str, message: &str) {
    let before = std::fs::read(state_path(harness)).unwrap();

    assert_rejected(harness, &["plan", file], message);
    assert_rejected(harness, &["apply", "--auto-approve", file], message);

    assert_eq!(std::fs::read(state_path(harness)).unwrap(), before, "the state file was rewritten");
    assert_nothing_applied(harness);
}

#[test]
fn truncated_state_rejected() {
    let harness = Harness::start_with_proxy();
    let file = harness.example("ai-dev.toml");
    write_state(&harness, r#"{"format_version": 1, "environment": "ai-dev", "serial": 4, "resources": {"aws.vpc.ma"#);

    let stderr = String::from_utf8_lossy(&harness.tether(&["plan", file.to_str().unwrap()]).stderr).into_owned();

    assert!(stderr.contains("is corrupt; restore it from a backup or move it away to start over"), "{stderr}");
    assert!(stderr.contains("EOF while parsing"), "the parser's reason is shown:\n{stderr}");
    assert_state_rejected(&harness, file.to_str().unwrap(), "ai-dev.state.json is corrupt");
}

#[test]
fn state_not_json_rejected() {
    let harness = Harness::start_with_proxy();
    let file = harness.example("ai-dev.toml");
    write_state(&harness, "\u{0}\u{1}binary garbage");

    assert_state_rejected(&harness, file.to_str().unwrap(), "ai-dev.state.json is corrupt");
}

#[test]
fn newer_state_rejected() {
    let harness = Harness::start_with_proxy();
    let file = harness.example("ai-dev.toml");
    write_state(&harness, r#"{"format_version": 7, "environment": "ai-dev", "lineage": "new", "records": []}"#);

    assert_state_rejected(
        &harness,
        file.to_str().unwrap(),
        "has format version 7, newer than 1 that this tether reads; upgrade tether",
    );
}

#[test]
fn state_of_other_environment_rejected() {
    let harness = Harness::start_with_proxy();
    let file = harness.example("ai-dev.toml");
    write_state(&harness, r#"{"format_version": 1, "environment": "ai-prod", "serial": 3, "resources": {}}"#);

    assert_state_rejected(&harness, file.to_str().unwrap(), "belongs to environment `ai-prod`, not `ai-dev`");
}

#[test]
fn corrupt_kubernetes_state_rejected() {
    let harness = Harness::start_with_proxy();
    let file = harness.example("ai-dev.toml");
    let file = file.to_str().unwrap();
    harness
        .kube
        .create(serde_json::json!({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "hcp-ai"}}))
        .unwrap();
    let garbage = base64::engine::general_purpose::STANDARD.encode("{\"format_version\": 1, \"environ");
    harness
        .kube
        .create(serde_json::json!({
            "apiVersion": "v1",
            "kind": "Secret",
            "metadata": {"name": "tether-state-ai-dev", "namespace": "hcp-ai"},
            "data": {"state.json": garbage},
        }))
        .unwrap();

    for args in [
        ["plan", "--state-backend", "kubernetes", file].as_slice(),
        &["apply", "--auto-approve", "--state-backend", "kubernetes", file],
    ] {
        let stderr = assert_rejected(&harness, args, "cannot read the state in");
        assert!(stderr.contains("tether-state-ai-dev"), "the Secret is named:\n{stderr}");
    }
    let secret = harness.kube.get("v1", "Secret", Some("hcp-ai"), "tether-state-ai-dev").unwrap();
    assert_eq!(secret["data"]["state.json"], garbage.as_str(), "the Secret was not overwritten");
    assert!(harness.kube.get("hypershift.openshift.io/v1beta1", "HostedCluster", Some("hcp-ai"), "ai").is_none());
}

/// Saves a plan file for the example and returns its path.
fn saved_plan(harness: &Harness, file: &Path) -> PathBuf {
    let plan = harness.dir.path().join("ai-dev.plan");
    harness.tether_ok(&["plan", "-out", plan.to_str().unwrap(), file.to_str().unwrap()]);
    plan
}

#[test]
fn truncated_plan_file_rejected() {
    let harness = Harness::start_with_proxy();
    let file = harness.example("ai-dev.toml");
    let plan = saved_plan(&harness, &file);
    let bytes = std::fs::read(&plan).unwrap();
    std::fs::write(&plan, &bytes[..bytes.len() / 2]).unwrap();

    assert_rejected(
        &harness,
        &["apply", plan.to_str().unwrap()],
        "is not a valid tether plan file; create one with `tether plan -out FILE`",
    );
    assert_nothing_applied(&harness);
}

#[test]
fn newer_plan_file_rejected() {
    let harness = Harness::start_with_proxy();
    let plan = harness.dir.path().join("ai-dev.plan");
    std::fs::write(&plan, r#"{"kind": "tether-plan-file", "format_version": 9, "stages": []}"#).unwrap();

    assert_rejected(
        &harness,
        &["apply", plan.to_str().unwrap()],
        "has format version 9, newer than 1 that this tether reads",
    );
    assert_nothing_applied(&harness);
}

#[test]
fn plan_file_of_renamed_environment_rejected() {
    let harness = Harness::start_with_proxy();
    let file = harness.example("ai-dev.toml");
    let plan = saved_plan(&harness, &file);
    support::edit(&file, "name = \"ai-dev\"", "name = \"ai-other\"");

    let stderr = assert_rejected(&harness, &["apply", plan.to_str().unwrap()], "is stale, so nothing was changed");

    assert!(stderr.contains("no longer matches"), "{stderr}");
    assert_nothing_applied(&harness);
}

#[test]
fn plan_file_with_edited_change_rejected() {
    let harness = Harness::start_with_proxy();
    let file = harness.example("ai-dev.toml");
    let plan = saved_plan(&harness, &file);
    let text = std::fs::read_to_string(&plan).unwrap();
    assert!(text.contains("m6i.2xlarge"), "the plan names the workers' instance type");
    std::fs::write(&plan, text.replace("m6i.2xlarge", "m6i.metal")).unwrap();

    assert_rejected(&harness, &["apply", plan.to_str().unwrap()], "is stale, so nothing was changed");
    assert_nothing_applied(&harness);
}

#[cfg(unix)]
#[test]
fn state_and_plan_files_owner_only() {
    use std::os::unix::fs::PermissionsExt as _;

    let harness = Harness::start_with_proxy();
    let file = harness.example("ai-dev.toml");
    let plan = saved_plan(&harness, &file);
    harness.tether_ok(&["apply", plan.to_str().unwrap()]);

    for path in [plan, state_path(&harness)] {
        let mode = std::fs::metadata(&path).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode, 0o600, "{} has mode {mode:o}", path.display());
    }
}
