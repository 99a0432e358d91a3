//! Rules for the files the environment refers to: the pull secret (read and checked now) and the STS
//! credentials (path syntax only).

use std::path::Path;

use super::Checker;
use crate::codes;
use crate::diagnostic::Diagnostic;
use crate::secret::{PullSecret, PullSecretError, read_pull_secret};

/// Download page for pull secrets, for help texts.
const PULL_SECRET_SOURCE: &str = "https://console.redhat.com/openshift/install/pull-secret";

/// Checks both file paths and reads the pull secret; returns it when it is usable.
pub(crate) fn check(checker: &mut Checker<'_>, base_dir: &Path) -> Option<PullSecret> {
    if let Some(file) = &checker.environment.aws.sts_credentials_file {
        check_path(checker, &["aws", "sts_credentials_file"], "STS credentials file", file);
    }

    let file = &checker.environment.cluster.pull_secret_file;
    if !check_path(checker, &["cluster", "pull_secret_file"], "pull secret file", file) {
        return None;
    }
    let resolved = base_dir.join(file);
    let error = match read_pull_secret(&resolved) {
        Ok(secret) => return Some(secret),
        Err(error) => error,
    };

    let (code, detail, help) = describe_problem(&error, &resolved);
    let message = format!("pull secret file `{file}` {error}{detail}");
    let diagnostic = Diagnostic::error(code, message)
        .with_label(checker.value_span(&["cluster", "pull_secret_file"]), "pull secret")
        .with_help(help);
    checker.report(diagnostic);
    None
}

/// Returns the code, a detail to append to the message, and the help text for a pull secret problem.
fn describe_problem(error: &PullSecretError, resolved: &Path) -> (&'static str, String, String) {
    match error {
        PullSecretError::NotFound => (
            codes::PULL_SECRET_MISSING,
            format!(" (looked for {})", resolved.display()),
            format!(
                "save the pull secret from {PULL_SECRET_SOURCE} at that path, or correct `cluster.pull_secret_file`; a relative path resolves against the environment file's folder"
            ),
        ),
        PullSecretError::NotAFile => (
            codes::PULL_SECRET_NOT_A_FILE,
            format!(" ({})", resolved.display()),
            "point `cluster.pull_secret_file` at the pull secret's JSON file".to_owned(),
        ),
        PullSecretError::Unreadable(_) | PullSecretError::TooLarge | PullSecretError::NotUtf8 => (
            codes::PULL_SECRET_UNREADABLE,
            String::new(),
            format!("check the file's permissions, or download the pull secret again from {PULL_SECRET_SOURCE}"),
        ),
        PullSecretError::InvalidJson { .. } => (
            codes::PULL_SECRET_INVALID_JSON,
            String::new(),
            format!("save the pull secret exactly as downloaded from {PULL_SECRET_SOURCE}: a JSON object with an `auths` object"),
        ),
        PullSecretError::NoAuths => (
            codes::PULL_SECRET_NO_AUTHS,
            String::new(),
            "a pull secret is a JSON object such as `{\"auths\": {\"quay.io\": {\"auth\": \"...\"}}}`; download it again if it was edited".to_owned(),
        ),
    }
}

/// Checks that `file` can be a path: not empty and without NUL characters. Returns true when it can.
fn check_path(checker: &mut Checker<'_>, keys: &[&str], subject: &str, file: &str) -> bool {
    let reason = if file.is_empty() {
        "is empty"
    } else if file.contains('\0') {
        "contains a NUL character"
    } else {
        return true;
    };
    let diagnostic = Diagnostic::error(codes::INVALID_PATH, format!("{subject} path {reason}"))
        .with_label(checker.value_span(keys), "not a file path")
        .with_help("give the file's path, absolute or relative to the environment file's folder");
    checker.report(diagnostic);
    false
}

/// AWS's limit on an instance's user data before base64 encoding, in bytes.
const MAX_USER_DATA_BYTES: u64 = 16_384;

/// Reads `subnet_router.user_data_file` when it is set. Returns `Some(None)` without the setting,
/// `Some(Some(text))` for a usable file and `None` after reporting a problem.
pub(crate) fn check_user_data(checker: &mut Checker<'_>, base_dir: &Path) -> Option<Option<String>> {
    let keys = ["subnet_router", "user_data_file"];
    let Some(file) = checker.environment.subnet_router.user_data_file.clone() else {
        return Some(None);
    };
    if !check_path(checker, &keys, "user data file", &file) {
        return None;
    }

    let resolved = base_dir.join(&file);
    let problem = match std::fs::metadata(&resolved) {
        Err(error) if error.kind() == std::io::ErrorKind::NotFound => {
            format!("does not exist (looked for {})", resolved.display())
        }
        Err(error) => format!("cannot be read: {error}"),
        Ok(metadata) if !metadata.is_file() => format!("is not a file ({})", resolved.display()),
        Ok(metadata) if metadata.len() > MAX_USER_DATA_BYTES => {
            format!("has {} bytes, more than the {MAX_USER_DATA_BYTES} bytes EC2 accepts as user data", metadata.len())
        }
        Ok(_) => match std::fs::read(&resolved).map(String::from_utf8) {
            Ok(Ok(text)) => return Some(Some(text)),
            Ok(Err(_)) => "is not UTF-8 text".to_owned(),
            Err(error) => format!("cannot be read: {error}"),
        },
    };

    let diagnostic = Diagnostic::error(codes::USER_DATA_UNREADABLE, format!("user data file `{file}` {problem}"))
        .with_label(checker.value_span(&keys), "user data file")
        .with_help(
            "create the file, or correct or remove `subnet_router.user_data_file`; a relative path resolves \
             against the environment file's folder",
        );
    checker.report(diagnostic);
    None
}
