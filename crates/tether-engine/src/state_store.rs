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

    fn write_atomically(&self, bytes: &[u8]) -> Result<(), StateError> {
        let directory = match self.path.parent() {
            Some(parent) if !parent.as_os_str().is_empty() => parent.to_path_buf(),
            _ => PathBuf::from("."),
        };
        std::fs::create_dir_all(&directory).map_err(|error| self.io_error(error))?;
        let mut file = tempfile::Builder::new()
            .prefix(".tether-state-")
            .tempfile_in(&directory)
            .map_err(|error| self.io_error(error))?;
        restrict_to_owner(file.as_file()).map_err(|error| self.io_error(error))?;
        file.write_all(bytes).map_err(|error| self.io_error(error))?;
        file.as_file().sync_all().map_err(|error| self.io_error(error))?;
        file.persist(&self.path).map_err(|error| self.io_error(error.error))?;
        // The rename is durable only once the directory entry is on disk.
        if let Ok(handle) = std::fs::File::open(&directory) {
            let _ = handle.sync_all();
        }
        Ok(())
    }
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
