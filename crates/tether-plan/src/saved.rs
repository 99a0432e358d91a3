//! Plan files: a plan saved by `tether plan -out` and applied later by `tether apply FILE`.
//!
//! A plan file contains no secret plaintext, because sensitive values serialize as digests.
//! Apply therefore lowers the environment file again, plans afresh and applies only when the
//! fresh plan equals the saved one.

use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};
use tether_model::Plan;

/// The `kind` marker that identifies a plan file.
pub const PLAN_FILE_KIND: &str = "tether-plan-file";

/// The plan file format this version of tether reads and writes.
pub const PLAN_FILE_FORMAT_VERSION: u32 = 1;

/// A plan saved to a file together with the environment file it was made from.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SavedPlan {
    /// Always [`PLAN_FILE_KIND`].
    pub kind: String,
    /// [`PLAN_FILE_FORMAT_VERSION`] when written.
    pub format_version: u32,
    /// The environment file, as an absolute path.
    pub environment_file: PathBuf,
    /// The plan, with its fingerprint of the desired resources, observations and state.
    pub plan: Plan,
}

/// A plan file that cannot be read or written.
#[derive(Debug, thiserror::Error)]
pub enum PlanFileError {
    /// Reading or writing the file failed.
    #[error("cannot access the plan file {path}")]
    Io {
        /// The plan file.
        path: PathBuf,
        /// The operating system's error.
        #[source]
        source: std::io::Error,
    },
    /// The file is JSON but not a valid plan file.
    #[error("{path} is not a valid tether plan file; create one with `tether plan -out FILE`")]
    Invalid {
        /// The file.
        path: PathBuf,
        /// The parse error.
        #[source]
        source: serde_json::Error,
    },
    /// The file is JSON with another `kind` than a plan file's.
    #[error("{path} has kind `{kind}`, not `{PLAN_FILE_KIND}`; create a plan file with `tether plan -out FILE`")]
    WrongKind {
        /// The file.
        path: PathBuf,
        /// The kind in the file.
        kind: String,
    },
    /// The plan cannot be encoded as JSON.
    #[error("cannot encode the plan for {path}")]
    Encode {
        /// The plan file.
        path: PathBuf,
        /// The encoding error.
        #[source]
        source: serde_json::Error,
    },
    /// The file was written by a newer tether.
    #[error("the plan file {path} has format version {found}, newer than {supported} that this tether reads")]
    NewerFormat {
        /// The plan file.
        path: PathBuf,
        /// The version in the file.
        found: u32,
        /// The version this build reads.
        supported: u32,
    },
}

impl SavedPlan {
    /// Wraps a plan for saving.
    pub fn new(environment_file: PathBuf, plan: Plan) -> SavedPlan {
        SavedPlan { kind: PLAN_FILE_KIND.to_owned(), format_version: PLAN_FILE_FORMAT_VERSION, environment_file, plan }
    }

    /// True when `bytes` start like a plan file rather than an environment file: with a JSON
    /// object. An environment file is TOML, which cannot start with `{`. [`SavedPlan::read`]
    /// then checks the content.
    pub fn is_plan_file(bytes: &[u8]) -> bool {
        bytes.iter().find(|byte| !byte.is_ascii_whitespace()) == Some(&b'{')
    }

    /// Reads a plan file.
    ///
    /// # Errors
    /// Fails when the file cannot be read, is not a plan file, or comes from a newer tether.
    pub fn read(path: &Path) -> Result<SavedPlan, PlanFileError> {
        /// The fields every plan file format keeps, read first so that a newer format is named as
        /// such instead of failing on fields this version does not know.
        #[derive(Deserialize)]
        struct Header {
            kind: String,
            format_version: u32,
        }

        let bytes = std::fs::read(path).map_err(|source| PlanFileError::Io { path: path.to_owned(), source })?;
        let invalid = |source| PlanFileError::Invalid { path: path.to_owned(), source };
        let header: Header = serde_json::from_slice(&bytes).map_err(invalid)?;
        if header.kind != PLAN_FILE_KIND {
            return Err(PlanFileError::WrongKind { path: path.to_owned(), kind: header.kind });
        }
        if header.format_version > PLAN_FILE_FORMAT_VERSION {
            return Err(PlanFileError::NewerFormat {
                path: path.to_owned(),
                found: header.format_version,
                supported: PLAN_FILE_FORMAT_VERSION,
            });
        }
        serde_json::from_slice(&bytes).map_err(invalid)
    }

    /// Writes the plan file.
    ///
    /// # Errors
    /// Fails when the plan cannot be encoded or the file cannot be written.
    pub fn write(&self, path: &Path) -> Result<(), PlanFileError> {
        let mut bytes = serde_json::to_vec_pretty(self)
            .map_err(|source| PlanFileError::Encode { path: path.to_owned(), source })?;
        bytes.push(b'\n');
        write_owner_only(path, &bytes).map_err(|source| PlanFileError::Io { path: path.to_owned(), source })
    }
}

/// Writes `bytes` to `path`, readable and writable by the owner only: a plan file shows the
/// environment's layout, ids and secret digests.
fn write_owner_only(path: &Path, bytes: &[u8]) -> std::io::Result<()> {
    use std::io::Write as _;

    let mut options = std::fs::OpenOptions::new();
    options.write(true).create(true).truncate(true);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
    let mut file = options.open(path)?;
    // `mode` applies only to a new file, so an existing one is narrowed here.
    #[cfg(unix)]
    file.set_permissions(std::os::unix::fs::PermissionsExt::from_mode(0o600))?;
    file.write_all(bytes)
}

#[cfg(test)]
mod tests {
    use super::*;
    use tether_model::{PLAN_FORMAT_VERSION, Sensitive, Value};

    fn plan() -> Plan {
        Plan {
            format_version: PLAN_FORMAT_VERSION,
            environment: "ai-dev".to_owned(),
            changes: Vec::new(),
            fingerprint: "sha256:00".to_owned(),
        }
    }

    #[test]
    fn plan_file_round_trips() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("ai-dev.plan");
        let saved = SavedPlan::new(PathBuf::from("/work/ai-dev.toml"), plan());
        saved.write(&path).unwrap();
        let bytes = std::fs::read(&path).unwrap();
        assert!(SavedPlan::is_plan_file(&bytes));
        assert_eq!(SavedPlan::read(&path).unwrap(), saved);
    }

    #[test]
    fn environment_file_is_not_a_plan_file() {
        assert!(!SavedPlan::is_plan_file(b"name = \"ai-dev\"\n"));
        assert!(SavedPlan::is_plan_file(b"  {\"kind\": \"something-else\"}"));
    }

    #[test]
    fn other_json_is_rejected() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("other.json");
        let mut saved = SavedPlan::new(PathBuf::from("/work/ai-dev.toml"), plan());
        saved.kind = "something-else".to_owned();
        saved.write(&path).unwrap();
        assert!(matches!(SavedPlan::read(&path), Err(PlanFileError::WrongKind { .. })));
        std::fs::write(&path, "{\"plan\": 1}").unwrap();
        assert!(matches!(SavedPlan::read(&path), Err(PlanFileError::Invalid { .. })));
    }

    #[test]
    fn newer_plan_file_with_unknown_layout_is_rejected() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("ai-dev.plan");
        std::fs::write(&path, r#"{"kind": "tether-plan-file", "format_version": 2, "plans": []}"#).unwrap();

        let error = SavedPlan::read(&path).unwrap_err();

        assert!(matches!(error, PlanFileError::NewerFormat { found: 2, .. }), "{error}");
    }

    #[cfg(unix)]
    #[test]
    fn plan_file_is_owner_only() {
        use std::os::unix::fs::PermissionsExt as _;

        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("ai-dev.plan");
        std::fs::write(&path, "old").unwrap();
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o644)).unwrap();

        SavedPlan::new(PathBuf::from("/work/ai-dev.toml"), plan()).write(&path).unwrap();

        assert_eq!(std::fs::metadata(&path).unwrap().permissions().mode() & 0o777, 0o600);
    }

    #[test]
    fn newer_plan_file_is_rejected() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("ai-dev.plan");
        let mut saved = SavedPlan::new(PathBuf::from("/work/ai-dev.toml"), plan());
        saved.format_version = PLAN_FILE_FORMAT_VERSION + 1;
        saved.write(&path).unwrap();
        assert!(matches!(SavedPlan::read(&path), Err(PlanFileError::NewerFormat { .. })));
    }

    #[test]
    fn plan_file_contains_no_plaintext() {
        let secret = Value::Sensitive(Sensitive::new("hunter2"));
        let json = serde_json::to_string(&secret).unwrap();
        assert!(!json.contains("hunter2"), "{json}");
    }
}
