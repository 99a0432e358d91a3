//! The pull secret: read from its file, checked for shape, and kept out of every Debug output and
//! message.

use std::fmt;
use std::io::{self, Read};
use std::path::Path;

/// Largest pull secret file read; real ones are a few KiB.
const PULL_SECRET_MAX_BYTES: u64 = 1024 * 1024;

/// The contents of the pull secret file: a JSON object with an `auths` object.
///
/// Its `Debug` output shows only `<redacted>`, and it implements neither `Display` nor `Serialize`,
/// so the contents reach a log or message only through an explicit [`PullSecret::expose`].
#[derive(Clone, PartialEq, Eq)]
pub struct PullSecret(String);

impl PullSecret {
    /// Returns the pull secret's JSON text, for the Secret that the hosted cluster pulls images with.
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for PullSecret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("PullSecret(<redacted>)")
    }
}

/// Reason a pull secret file cannot be used. Messages never include the file's contents.
#[derive(Debug, thiserror::Error)]
pub(crate) enum PullSecretError {
    #[error("not found")]
    NotFound,
    #[error("is a directory or another non-file")]
    NotAFile,
    #[error("cannot be read: {0}")]
    Unreadable(io::Error),
    #[error("is larger than {PULL_SECRET_MAX_BYTES} bytes")]
    TooLarge,
    #[error("is not UTF-8")]
    NotUtf8,
    #[error("is not valid JSON (syntax error at line {line}, column {column})")]
    InvalidJson { line: usize, column: usize },
    #[error("has no `auths` object at the top level")]
    NoAuths,
}

/// Reads the pull secret at `path` and checks that it is a JSON object with an `auths` object.
///
/// # Errors
///
/// Returns a [`PullSecretError`] when the file is missing, not a regular file, unreadable, larger than
/// 1 MiB, not UTF-8, not JSON, or has no `auths` object.
pub(crate) fn read_pull_secret(path: &Path) -> Result<PullSecret, PullSecretError> {
    let metadata = std::fs::metadata(path).map_err(|error| match error.kind() {
        io::ErrorKind::NotFound => PullSecretError::NotFound,
        _ => PullSecretError::Unreadable(error),
    })?;
    if !metadata.is_file() {
        return Err(PullSecretError::NotAFile);
    }

    let mut bytes = Vec::new();
    std::fs::File::open(path)
        .and_then(|file| file.take(PULL_SECRET_MAX_BYTES + 1).read_to_end(&mut bytes))
        .map_err(PullSecretError::Unreadable)?;
    if bytes.len() as u64 > PULL_SECRET_MAX_BYTES {
        return Err(PullSecretError::TooLarge);
    }
    let text = String::from_utf8(bytes).map_err(|_| PullSecretError::NotUtf8)?;

    // The error's position is kept and its Display dropped, so no fragment of the secret can leak.
    let json: serde_json::Value = serde_json::from_str(&text)
        .map_err(|error| PullSecretError::InvalidJson { line: error.line(), column: error.column() })?;
    if !json.get("auths").is_some_and(serde_json::Value::is_object) {
        return Err(PullSecretError::NoAuths);
    }
    Ok(PullSecret(text))
}
