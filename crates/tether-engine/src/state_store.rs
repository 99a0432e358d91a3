//! State storage: the `StateStore` trait and the local file backend.

use std::io::Write;
use std::path::{Path, PathBuf};

use async_trait::async_trait;
use tether_model::{STATE_FORMAT_VERSION, State};

use crate::local_lock;
use crate::lock::{LockError, LockInfo, StateLock};

/// Stores tether's record of what it applied.
#[async_trait]
pub trait StateStore: Send + Sync {
    /// Reads the state; `None` when nothing was stored yet.
    ///
    /// # Errors
    /// Fails when the stored state cannot be read, is corrupt, comes from a newer tether, or
    /// belongs to another environment.
    async fn load(&self, environment: &str) -> Result<Option<State>, StateError>;

    /// Replaces the stored state atomically: a reader sees the old or the new state, never a mix.
    ///
    /// # Errors
    /// Fails when the state cannot be written.
    async fn save(&self, state: &State) -> Result<(), StateError>;

    /// Describes where the state lives, for messages.
    fn describe(&self) -> String;

    /// Takes the state's lock for `info` without waiting; see [`crate::acquire_lock`] to wait.
    ///
    /// # Errors
    /// [`LockError::Held`] with the holder's description when someone else holds it, or the
    /// backend's error.
    async fn lock(&self, info: &LockInfo) -> Result<Box<dyn StateLock>, LockError>;

    /// Breaks the lock with id `id` that another process holds, and returns what it described.
    ///
    /// # Errors
    /// Fails when no lock or another lock is held, or when the backend cannot break it.
    async fn force_unlock(&self, id: &str) -> Result<LockInfo, LockError>;

    /// Reads the auxiliary document `name` that is kept with the environment's state, such as the
    /// last announced drift; `None` when none was saved. Documents are not part of the state: they
    /// hold no secrets and no record of what was applied. See [`check_document_name`].
    ///
    /// # Errors
    /// Fails on an invalid name, or when the document cannot be read or is not JSON.
    async fn load_document(&self, environment: &str, name: &str) -> Result<Option<serde_json::Value>, StateError>;

    /// Replaces the document `name` atomically: a reader sees the old or the new document.
    ///
    /// # Errors
    /// Fails on an invalid name, or when the document cannot be written.
    async fn save_document(
        &self,
        environment: &str,
        name: &str,
        document: &serde_json::Value,
    ) -> Result<(), StateError>;
}

/// Checks a document name: 1 to 40 lowercase letters, digits and inner hyphens, so that it fits in
/// a file name and in a Kubernetes object name.
///
/// # Errors
/// Returns [`StateError::InvalidDocumentName`].
pub fn check_document_name(name: &str) -> Result<(), StateError> {
    let allowed = name.bytes().all(|byte| byte.is_ascii_lowercase() || byte.is_ascii_digit() || byte == b'-');
    if name.is_empty() || name.len() > 40 || !allowed || name.starts_with('-') || name.ends_with('-') {
        return Err(StateError::InvalidDocumentName { name: name.to_owned() });
    }
    Ok(())
}

/// A state that could not be read or written.
#[derive(Debug, thiserror::Error)]
pub enum StateError {
    /// Reading or writing the file failed.
    #[error("cannot access the state file {path}")]
    Io {
        /// The state file.
        path: PathBuf,
        /// The operating system's error.
        #[source]
        source: std::io::Error,
    },
    /// The file is not a valid state file.
    #[error("the state file {path} is corrupt; restore it from a backup or move it away to start over")]
    Corrupt {
        /// The state file.
        path: PathBuf,
        /// The parse error.
        #[source]
        source: serde_json::Error,
    },
    /// The file was written by a newer tether.
    #[error(
        "the state file {path} has format version {found}, newer than {supported} that this tether reads; upgrade tether"
    )]
    NewerFormat {
        /// The state file.
        path: PathBuf,
        /// The version in the file.
        found: u32,
        /// The version this build reads.
        supported: u32,
    },
    /// A remote backend failed to read, write or decode the state.
    #[error("cannot {operation} the state in {location}")]
    Remote {
        /// The failed operation, e.g. `read` or `write`.
        operation: &'static str,
        /// The state's location, e.g. `Secret hcp-ai/tether-state-ai-dev`.
        location: String,
        /// The backend's error.
        #[source]
        source: Box<dyn std::error::Error + Send + Sync>,
    },
    /// Another process wrote the state since this one read it.
    #[error(
        "the state in {location} changed since this process read it, so it was not overwritten; run the command again"
    )]
    Conflict {
        /// The state's location.
        location: String,
    },
    /// A document name that [`check_document_name`] refuses; a programming error, not user input.
    #[error("`{name}` is not a valid document name: use 1 to 40 lowercase letters, digits and inner hyphens")]
    InvalidDocumentName {
        /// The refused name.
        name: String,
    },
    /// A document kept beside the state file could not be read or written.
    #[error("cannot access the document {path}")]
    DocumentIo {
        /// The document's file.
        path: PathBuf,
        /// The operating system's error.
        #[source]
        source: std::io::Error,
    },
    /// A document is not valid JSON.
    #[error("the document {location} is corrupt; delete it, tether writes it again")]
    DocumentCorrupt {
        /// The document's file or object.
        location: String,
        /// The parse error.
        #[source]
        source: serde_json::Error,
    },
    /// The file belongs to another environment.
    #[error(
        "the state file {path} belongs to environment `{found}`, not `{expected}`; pass the state file of `{expected}`"
    )]
    WrongEnvironment {
        /// The state file.
        path: PathBuf,
        /// The environment in the file.
        found: String,
        /// The environment being planned.
        expected: String,
    },
}

/// State in a JSON file, written atomically (temporary file, fsync, rename) with owner-only permissions.
#[derive(Debug, Clone)]
pub struct LocalStateStore {
    path: PathBuf,
}

impl LocalStateStore {
    /// Creates a store at `path`. The file itself is created on the first save.
    pub fn new(path: impl Into<PathBuf>) -> LocalStateStore {
        LocalStateStore { path: path.into() }
    }

    /// Returns the state file's path.
    pub fn path(&self) -> &Path {
        &self.path
    }

    fn io_error(&self, source: std::io::Error) -> StateError {
        StateError::Io { path: self.path.clone(), source }
    }

    fn parse(&self, bytes: &[u8], environment: &str) -> Result<State, StateError> {
        #[derive(serde::Deserialize)]
        struct Header {
            format_version: u32,
        }
        let header: Header =
            serde_json::from_slice(bytes).map_err(|source| StateError::Corrupt { path: self.path.clone(), source })?;
        if header.format_version > STATE_FORMAT_VERSION {
            return Err(StateError::NewerFormat {
                path: self.path.clone(),
                found: header.format_version,
                supported: STATE_FORMAT_VERSION,
            });
        }
        let state: State =
            serde_json::from_slice(bytes).map_err(|source| StateError::Corrupt { path: self.path.clone(), source })?;
        if state.environment != environment {
            return Err(StateError::WrongEnvironment {
                path: self.path.clone(),
                found: state.environment,
                expected: environment.to_owned(),
            });
        }
        Ok(state)
    }

    /// Returns the file of document `name`: `<environment>.<name>.json` beside the state file,
    /// where `<environment>` is the state file's name without `.state.json` (or `.json`).
    pub fn document_path(&self, name: &str) -> PathBuf {
        let file_name = self.path.file_name().and_then(|file_name| file_name.to_str()).unwrap_or("state.json");
        let stem =
            file_name.strip_suffix(".state.json").or_else(|| file_name.strip_suffix(".json")).unwrap_or(file_name);
        self.path.with_file_name(format!("{stem}.{name}.json"))
    }

    fn write_atomically(&self, bytes: &[u8]) -> Result<(), StateError> {
        write_file_atomically(&self.path, bytes).map_err(|error| self.io_error(error))
    }
}

/// Writes `bytes` to `path` through a temporary file in the same directory (fsync, rename), with
/// owner-only permissions, so that a reader sees the old or the new content.
fn write_file_atomically(path: &Path, bytes: &[u8]) -> std::io::Result<()> {
    let directory = match path.parent() {
        Some(parent) if !parent.as_os_str().is_empty() => parent.to_path_buf(),
        _ => PathBuf::from("."),
    };
    std::fs::create_dir_all(&directory)?;
    let mut file = tempfile::Builder::new().prefix(".tether-state-").tempfile_in(&directory)?;
    restrict_to_owner(file.as_file())?;
    file.write_all(bytes)?;
    file.as_file().sync_all()?;
    file.persist(path).map_err(|error| error.error)?;
    // The rename is durable only once the directory entry is on disk.
    if let Ok(handle) = std::fs::File::open(&directory) {
        let _ = handle.sync_all();
    }
    Ok(())
}

#[cfg(unix)]
fn restrict_to_owner(file: &std::fs::File) -> std::io::Result<()> {
    use std::os::unix::fs::PermissionsExt;
    file.set_permissions(std::fs::Permissions::from_mode(0o600))
}

#[cfg(not(unix))]
fn restrict_to_owner(_file: &std::fs::File) -> std::io::Result<()> {
    Ok(())
}

#[async_trait]
impl StateStore for LocalStateStore {
    async fn load(&self, environment: &str) -> Result<Option<State>, StateError> {
        let bytes = match std::fs::read(&self.path) {
            Ok(bytes) => bytes,
            Err(error) if error.kind() == std::io::ErrorKind::NotFound => return Ok(None),
            Err(error) => return Err(self.io_error(error)),
        };
        self.parse(&bytes, environment).map(Some)
    }

    async fn save(&self, state: &State) -> Result<(), StateError> {
        let mut bytes = serde_json::to_vec_pretty(state)
            .map_err(|source| StateError::Corrupt { path: self.path.clone(), source })?;
        bytes.push(b'\n');
        self.write_atomically(&bytes)
    }

    fn describe(&self) -> String {
        format!("local file {}", self.path.display())
    }

    async fn lock(&self, info: &LockInfo) -> Result<Box<dyn StateLock>, LockError> {
        let lock = local_lock::take(&local_lock::lock_path(&self.path), info)?;
        Ok(Box::new(lock))
    }

    async fn force_unlock(&self, id: &str) -> Result<LockInfo, LockError> {
        local_lock::force_unlock(&local_lock::lock_path(&self.path), id)
    }

    /// Reads the document beside the state file, which already belongs to one environment.
    async fn load_document(&self, _environment: &str, name: &str) -> Result<Option<serde_json::Value>, StateError> {
        check_document_name(name)?;
        let path = self.document_path(name);
        let bytes = match std::fs::read(&path) {
            Ok(bytes) => bytes,
            Err(error) if error.kind() == std::io::ErrorKind::NotFound => return Ok(None),
            Err(source) => return Err(StateError::DocumentIo { path, source }),
        };
        let location = path.display().to_string();
        serde_json::from_slice(&bytes).map(Some).map_err(|source| StateError::DocumentCorrupt { location, source })
    }

    async fn save_document(
        &self,
        _environment: &str,
        name: &str,
        document: &serde_json::Value,
    ) -> Result<(), StateError> {
        check_document_name(name)?;
        let path = self.document_path(name);
        // Serializing a `serde_json::Value` cannot fail.
        let mut bytes = serde_json::to_vec_pretty(document).unwrap_or_default();
        bytes.push(b'\n');
        write_file_atomically(&path, &bytes).map_err(|source| StateError::DocumentIo { path, source })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn runtime() -> tokio::runtime::Runtime {
        tokio::runtime::Builder::new_current_thread().build().unwrap()
    }

    #[test]
    fn local_store_round_trips() {
        let dir = tempfile::tempdir().unwrap();
        let store = LocalStateStore::new(dir.path().join("ai-dev.tfstate.json"));
        let mut state = State::empty("ai-dev");
        state.serial = 3;
        runtime().block_on(store.save(&state)).unwrap();
        let loaded = runtime().block_on(store.load("ai-dev")).unwrap();
        assert_eq!(loaded, Some(state));
    }

    #[test]
    fn local_store_missing_file_is_empty() {
        let dir = tempfile::tempdir().unwrap();
        let store = LocalStateStore::new(dir.path().join("none.json"));
        assert_eq!(runtime().block_on(store.load("ai-dev")).unwrap(), None);
    }

    #[test]
    fn local_store_rejects_other_environment() {
        let dir = tempfile::tempdir().unwrap();
        let store = LocalStateStore::new(dir.path().join("state.json"));
        runtime().block_on(store.save(&State::empty("ai-prod"))).unwrap();
        let error = runtime().block_on(store.load("ai-dev")).unwrap_err();
        assert!(matches!(error, StateError::WrongEnvironment { .. }), "{error}");
    }

    #[test]
    fn local_store_rejects_truncated_file() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("state.json");
        std::fs::write(&path, br#"{"format_version": 1, "environment": "ai-d"#).unwrap();
        let error = runtime().block_on(LocalStateStore::new(&path).load("ai-dev")).unwrap_err();
        assert!(matches!(error, StateError::Corrupt { .. }), "{error}");
    }

    #[test]
    fn local_store_rejects_newer_format() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("state.json");
        std::fs::write(&path, br#"{"format_version": 99}"#).unwrap();
        let error = runtime().block_on(LocalStateStore::new(&path).load("ai-dev")).unwrap_err();
        assert!(matches!(error, StateError::NewerFormat { found: 99, .. }), "{error}");
    }

    #[test]
    fn local_documents_round_trip_beside_state_file() {
        let dir = tempfile::tempdir().unwrap();
        let store = LocalStateStore::new(dir.path().join("ai-dev.state.json"));
        assert_eq!(runtime().block_on(store.load_document("ai-dev", "drift-report")).unwrap(), None);

        let document = serde_json::json!({"announced": [{"address": "cluster.node_pool.gpu"}]});
        runtime().block_on(store.save_document("ai-dev", "drift-report", &document)).unwrap();

        assert!(dir.path().join("ai-dev.drift-report.json").is_file());
        assert!(!dir.path().join("ai-dev.state.json").exists(), "a document is not the state");
        let loaded = runtime().block_on(store.load_document("ai-dev", "drift-report")).unwrap();
        assert_eq!(loaded, Some(document));
    }

    #[test]
    fn document_names_are_checked() {
        for name in ["drift-report", "a", "x1"] {
            assert!(check_document_name(name).is_ok(), "{name}");
        }
        for name in ["", "-a", "a-", "Drift", "a/b", "a.b", "../x", &"a".repeat(41)] {
            assert!(matches!(check_document_name(name), Err(StateError::InvalidDocumentName { .. })), "{name}");
        }
        let store = LocalStateStore::new("/nonexistent/ai-dev.state.json");
        let error = runtime().block_on(store.load_document("ai-dev", "../state")).unwrap_err();
        assert!(matches!(error, StateError::InvalidDocumentName { .. }), "{error}");
    }

    #[test]
    fn corrupt_document_names_its_file() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("s.drift-report.json"), b"{").unwrap();
        let store = LocalStateStore::new(dir.path().join("s.json"));
        let error = runtime().block_on(store.load_document("ai-dev", "drift-report")).unwrap_err();
        assert!(error.to_string().contains("s.drift-report.json is corrupt"), "{error}");
    }

    #[cfg(unix)]
    #[test]
    fn local_document_is_owner_only() {
        use std::os::unix::fs::PermissionsExt;
        let dir = tempfile::tempdir().unwrap();
        let store = LocalStateStore::new(dir.path().join("ai-dev.state.json"));
        runtime().block_on(store.save_document("ai-dev", "drift-report", &serde_json::json!({}))).unwrap();
        let metadata = std::fs::metadata(dir.path().join("ai-dev.drift-report.json")).unwrap();
        assert_eq!(metadata.permissions().mode() & 0o777, 0o600);
    }

    #[cfg(unix)]
    #[test]
    fn local_store_file_is_owner_only() {
        use std::os::unix::fs::PermissionsExt;
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("state.json");
        runtime().block_on(LocalStateStore::new(&path).save(&State::empty("ai-dev"))).unwrap();
        let mode = std::fs::metadata(&path).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode, 0o600);
    }
}
