//! The pull secret file: resolved against the environment file's folder, checked for shape, and never
//! shown in Debug output or messages.

use std::fs;

use crate::support::{Case, help};

/// A pull secret whose content must not leak into any output.
const CANARY: &str = "c2VjcmV0LWNhbmFyeS0xMjM0";

fn with_secret(name: &str, contents: &str) -> Case {
    let case = Case::new(name);
    fs::write(case.dir.join("pull-secret.example.json"), contents).expect("write the pull secret");
    case
}

#[test]
fn pull_secret_missing() {
    let case = Case::new("pull_secret_missing").replace("pull-secret.example.json", "absent.json");

    let found = case.only("tether::config::pull_secret_missing");

    let expected_path = case.dir.join("absent.json");
    assert_eq!(
        found.message(),
        format!("pull secret file `absent.json` not found (looked for {})", expected_path.display())
    );
    assert!(help(&found).contains("https://console.redhat.com/openshift/install/pull-secret"));
    assert!(help(&found).contains("relative path resolves against the environment file's folder"));
    assert_eq!(case.text_at(&found), "absent.json");
}

#[test]
fn pull_secret_is_directory() {
    let case = Case::new("pull_secret_is_directory").replace("pull-secret.example.json", "secrets");
    fs::create_dir_all(case.dir.join("secrets")).expect("create the directory");

    let found = case.only("tether::config::pull_secret_not_a_file");

    assert!(found.message().starts_with("pull secret file `secrets` is a directory or another non-file"));
    assert_eq!(help(&found), "point `cluster.pull_secret_file` at the pull secret's JSON file");
    assert_eq!(case.text_at(&found), "secrets");
}

#[test]
fn pull_secret_not_json() {
    let case = with_secret("pull_secret_not_json", &format!("auths: {CANARY}\n"));

    let found = case.only("tether::config::pull_secret_invalid_json");

    assert_eq!(
        found.message(),
        "pull secret file `pull-secret.example.json` is not valid JSON (syntax error at line 1, column 1)"
    );
    assert!(help(&found).contains("a JSON object with an `auths` object"));
    assert_eq!(case.text_at(&found), "pull-secret.example.json");
    let diagnostics = case.diagnostics();
    assert!(!format!("{diagnostics:?} {diagnostics}").contains(CANARY));
    assert!(!diagnostics.iter().any(|entry| entry.message().contains(CANARY) || help(entry).contains(CANARY)));
}

#[test]
fn pull_secret_without_auths() {
    let case = with_secret("pull_secret_without_auths", &format!("{{\"auth\": \"{CANARY}\"}}"));

    let found = case.only("tether::config::pull_secret_no_auths");

    assert_eq!(found.message(), "pull secret file `pull-secret.example.json` has no `auths` object at the top level");
    assert!(help(&found).contains("{\"auths\":"));
    assert!(!found.message().contains(CANARY));
    assert_eq!(case.text_at(&found), "pull-secret.example.json");
}

#[test]
fn pull_secret_auths_not_object() {
    let case = with_secret("pull_secret_auths_not_object", &format!("{{\"auths\": [\"{CANARY}\"]}}"));

    let found = case.only("tether::config::pull_secret_no_auths");

    assert!(!format!("{found:?}").contains(CANARY));
}

#[test]
fn pull_secret_resolves_against_file_folder() {
    let case =
        Case::new("pull_secret_resolves_against_file_folder").replace("pull-secret.example.json", "secrets/pull.json");
    fs::create_dir_all(case.dir.join("secrets")).expect("create the folder");
    fs::write(case.dir.join("secrets/pull.json"), "{\"auths\": {}}").expect("write the pull secret");

    let checked = case.load().expect("the relative path resolves next to the environment file");

    assert_eq!(checked.pull_secret.expose(), "{\"auths\": {}}");
    assert_eq!(checked.pull_secret_path(), case.dir.join("secrets/pull.json"));
}

#[test]
fn pull_secret_path_empty() {
    let case = Case::new("pull_secret_path_empty").replace("\"pull-secret.example.json\"", "\"\"");

    let found = case.only("tether::config::invalid_path");

    assert_eq!(found.message(), "pull secret file path is empty");
}

#[test]
fn checked_debug_hides_pull_secret() {
    let case = with_secret(
        "checked_debug_hides_pull_secret",
        &format!("{{\"auths\": {{\"quay.io\": {{\"auth\": \"{CANARY}\"}}}}}}"),
    );

    let checked = case.load().expect("valid file");

    assert!(checked.pull_secret.expose().contains(CANARY));
    let debug = format!("{checked:?}");
    assert!(!debug.contains(CANARY), "{debug}");
    assert!(debug.contains("PullSecret(<redacted>)"));
    assert!(!format!("{checked:#?}").contains(CANARY));
    assert!(!format!("{:?}", checked.pull_secret).contains(CANARY));
}

#[test]
fn pull_secret_not_utf8() {
    let case = Case::new("pull_secret_not_utf8");
    fs::write(case.dir.join("pull-secret.example.json"), b"{\"auths\": \"\xff\"}").expect("write the pull secret");

    let found = case.only("tether::config::pull_secret_unreadable");

    assert_eq!(found.message(), "pull secret file `pull-secret.example.json` is not UTF-8");
    assert!(help(&found).starts_with("check the file's permissions, or download the pull secret again"));
    assert_eq!(case.text_at(&found), "pull-secret.example.json");
}

#[test]
fn pull_secret_too_large() {
    let case = with_secret("pull_secret_too_large", &" ".repeat(1024 * 1024 + 1));

    let found = case.only("tether::config::pull_secret_unreadable");

    assert_eq!(found.message(), "pull secret file `pull-secret.example.json` is larger than 1048576 bytes");
}
