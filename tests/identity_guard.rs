//! End-to-end tests of the identity guard: tether checks with STS which account the credentials
//! belong to and refuses to read or change anything in an account the file does not name.
//!
//! moto's test credentials belong to account 123456789012, the account of `examples/ai-dev.toml`.

mod support;

use support::{Harness, describe, edit};
use tether_testkit::aws_proxy::AwsCall;

/// The account that the edited file names; moto's credentials are not in it.
const OTHER_ACCOUNT: &str = "210987654321";

/// Copies the example and points it at [`OTHER_ACCOUNT`], without a role to assume.
fn file_for_other_account(harness: &Harness) -> String {
    let file = harness.example("ai-dev.toml");
    edit(&file, r#"account_id = "123456789012""#, &format!(r#"account_id = "{OTHER_ACCOUNT}""#));
    edit(&file, r#"role_arn = "arn:aws:iam::123456789012:role/hypershift-cli-role""#, "");
    file.display().to_string()
}

/// The calls that were not to STS.
fn non_sts_calls(calls: &[AwsCall]) -> Vec<String> {
    calls.iter().filter(|call| call.service != "sts").map(|call| format!("{} {}", call.service, call.action)).collect()
}

fn assert_refused(output: &std::process::Output) {
    assert!(!output.status.success(), "expected a refusal:\n{}", describe(output));
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(stderr.contains(OTHER_ACCOUNT), "the file's account is named:\n{stderr}");
    assert!(stderr.contains("123456789012"), "the caller's account is named:\n{stderr}");
    assert!(stderr.contains("aws.account_id"), "the setting to fix is named:\n{stderr}");
}

#[test]
fn plan_in_wrong_account_refused() {
    let harness = Harness::start_with_proxy();
    let file = file_for_other_account(&harness);

    let output = harness.tether(&["plan", &file]);

    assert_refused(&output);
    let calls = harness.proxy().calls();
    assert!(calls.iter().any(|call| call.action == "GetCallerIdentity"), "{calls:?}");
    assert_eq!(non_sts_calls(&calls), Vec::<String>::new(), "nothing but STS was called");
}

#[test]
fn apply_in_wrong_account_refused() {
    let harness = Harness::start_with_proxy();
    let file = file_for_other_account(&harness);

    let output = harness.tether(&["apply", &file, "--auto-approve"]);

    assert_refused(&output);
    let calls = harness.proxy().calls();
    assert_eq!(non_sts_calls(&calls), Vec::<String>::new(), "no read or write reached AWS");
    let state = harness.dir.path().join(".tether/ai-dev.state.json");
    assert!(!state.exists(), "no state was written");
}

#[test]
fn drift_in_wrong_account_refused() {
    let harness = Harness::start_with_proxy();
    let file = file_for_other_account(&harness);

    let output = harness.tether(&["drift", &file]);

    assert_refused(&output);
    assert_eq!(non_sts_calls(&harness.proxy().calls()), Vec::<String>::new());
}

#[test]
fn role_assumed_before_any_read() {
    let harness = Harness::start_with_proxy();
    let file = harness.example("ai-dev.toml");

    let output = harness.tether(&["plan", &file.display().to_string()]);

    // The plan itself may fail for reasons outside the guard; what matters is the order of calls.
    let calls = harness.proxy().calls();
    let position = |action: &str| calls.iter().position(|call| call.action == action);
    let assume = position("AssumeRole").unwrap_or_else(|| panic!("AssumeRole called:\n{}", describe(&output)));
    let identity = position("GetCallerIdentity").expect("GetCallerIdentity called");
    let first_other = calls.iter().position(|call| call.service != "sts").unwrap_or(calls.len());
    assert!(assume < identity, "the role is assumed before the identity check: {calls:?}");
    assert!(identity < first_other, "the identity check precedes every other call: {calls:?}");
}

#[test]
fn destroy_in_wrong_account_refused() {
    let harness = Harness::start_with_proxy();
    let file = harness.example("ai-dev.toml");
    harness.tether_ok(&["apply", &file.display().to_string(), "--auto-approve"]);
    let recorded = std::fs::read_to_string(harness.dir.path().join(".tether/ai-dev.state.json")).unwrap();
    edit(&file, r#"account_id = "123456789012""#, &format!(r#"account_id = "{OTHER_ACCOUNT}""#));
    edit(&file, r#"role_arn = "arn:aws:iam::123456789012:role/hypershift-cli-role""#, "");
    harness.proxy().reset_calls();

    let output = harness.tether(&["destroy", &file.display().to_string(), "--auto-approve", "--allow-destroy-cluster"]);

    assert_refused(&output);
    assert_eq!(non_sts_calls(&harness.proxy().calls()), Vec::<String>::new(), "no read or delete reached AWS");
    let after = std::fs::read_to_string(harness.dir.path().join(".tether/ai-dev.state.json")).unwrap();
    assert_eq!(after, recorded, "state is unchanged");
}
