//! The local backend's lock: an OS advisory lock on `<state file>.lock`, which ends with the
//! process that holds it, plus the holder's description written into that file.

use std::fs::{File, OpenOptions, TryLockError};
use std::io::{Read as _, Seek as _, SeekFrom, Write as _};
use std::path::{Path, PathBuf};

use async_trait::async_trait;

use crate::lock::{LockError, LockInfo, StateLock};

/// A held lock on a local state file.
#[derive(Debug)]
pub(crate) struct LocalLock {
    file: File,
    path: PathBuf,
    info: LockInfo,
}

/// Returns the lock file beside a state file: `<state file>.lock`.
pub(crate) fn lock_path(state_path: &Path) -> PathBuf {
    let mut name = state_path.as_os_str().to_owned();
    name.push(".lock");
    PathBuf::from(name)
}

fn backend_error(operation: &'static str, path: &Path, source: std::io::Error) -> LockError {
    LockError::Backend { operation, location: path.display().to_string(), source: Box::new(source) }
}

fn open_lock_file(path: &Path) -> Result<File, LockError> {
    if let Some(parent) = path.parent().filter(|parent| !parent.as_os_str().is_empty()) {
        std::fs::create_dir_all(parent).map_err(|error| backend_error("take", path, error))?;
    }
    let mut options = OpenOptions::new();
    options.read(true).write(true).create(true).truncate(false);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
    options.open(path).map_err(|error| backend_error("take", path, error))
}

/// Reads the holder's description from a lock file; `None` when it is empty or unreadable, e.g.
/// while its holder is still writing it.
fn read_holder(file: &mut File) -> Option<LockInfo> {
    let mut text = String::new();
    file.seek(SeekFrom::Start(0)).ok()?;
    file.read_to_string(&mut text).ok()?;
    serde_json::from_str(&text).ok()
}

/// Takes the lock without waiting.
pub(crate) fn take(path: &Path, info: &LockInfo) -> Result<LocalLock, LockError> {
    let mut file = open_lock_file(path)?;
    match file.try_lock() {
        Ok(()) => {}
        Err(TryLockError::WouldBlock) => return Err(LockError::Held(Box::new(holder_or_unknown(&mut file)))),
        Err(TryLockError::Error(error)) => return Err(backend_error("take", path, error)),
    }
    let text = serde_json::to_string_pretty(info).map_err(|error| backend_error("take", path, error.into()))?;
    let write = |file: &mut File| -> std::io::Result<()> {
        file.set_len(0)?;
        file.seek(SeekFrom::Start(0))?;
        file.write_all(text.as_bytes())?;
        file.sync_all()
    };
    write(&mut file).map_err(|error| backend_error("take", path, error))?;
    Ok(LocalLock { file, path: path.to_owned(), info: info.clone() })
}

/// Reads the holder's description, or makes a placeholder when the holder has not written it yet.
fn holder_or_unknown(file: &mut File) -> LockInfo {
    read_holder(file).unwrap_or_else(|| LockInfo {
        id: "unknown".to_owned(),
        holder: crate::LockHolder { user: "unknown".to_owned(), host: "unknown".to_owned(), pid: 0, ci_run: None },
        operation: "unknown".to_owned(),
        created: jiff::Timestamp::now(),
        expires: None,
    })
}

/// Explains why a local lock cannot be broken: the OS releases it only when its process ends.
pub(crate) fn force_unlock(path: &Path, id: &str) -> Result<LockInfo, LockError> {
    let mut file = match File::open(path) {
        Ok(file) => file,
        Err(error) if error.kind() == std::io::ErrorKind::NotFound => {
            return Err(LockError::NotLocked { location: path.display().to_string() });
        }
        Err(error) => return Err(backend_error("read", path, error)),
    };
    match file.try_lock() {
        Ok(()) => Err(LockError::NotLocked { location: path.display().to_string() }),
        Err(TryLockError::WouldBlock) => {
            let current = holder_or_unknown(&mut file);
            if current.id != id {
                return Err(LockError::OtherHolder { id: id.to_owned(), current: Box::new(current) });
            }
            Err(LockError::CannotBreak {
                reason: format!(
                    "{current} is an OS file lock on {}, which ends only with its process; stop process {} on {} instead",
                    path.display(),
                    current.holder.pid,
                    current.holder.host
                ),
            })
        }
        Err(TryLockError::Error(error)) => Err(backend_error("read", path, error)),
    }
}

#[async_trait]
impl StateLock for LocalLock {
    fn info(&self) -> &LockInfo {
        &self.info
    }

    async fn release(self: Box<Self>) -> Result<(), LockError> {
        // The file stays: deleting it would let a process that opened it before the delete lock
        // an unlinked file while another locks a new one.
        self.file.set_len(0).map_err(|error| backend_error("release", &self.path, error))?;
        self.file.unlock().map_err(|error| backend_error("release", &self.path, error))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn second_lock_is_refused_with_holder() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("state.json.lock");
        let first = LockInfo::new("apply");
        let _held = take(&path, &first).unwrap();

        let error = take(&path, &LockInfo::new("apply")).unwrap_err();
        let LockError::Held(holder) = error else { panic!("expected Held, got {error}") };
        assert_eq!(*holder, first);
    }

    #[test]
    fn released_lock_can_be_taken_again() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("state.json.lock");
        let held = take(&path, &LockInfo::new("apply")).unwrap();
        tokio::runtime::Builder::new_current_thread().build().unwrap().block_on(Box::new(held).release()).unwrap();
        assert!(take(&path, &LockInfo::new("apply")).is_ok());
    }

    #[test]
    fn force_unlock_of_live_lock_names_process() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("state.json.lock");
        let info = LockInfo::new("apply");
        let _held = take(&path, &info).unwrap();

        let error = force_unlock(&path, &info.id).unwrap_err();
        assert!(matches!(error, LockError::CannotBreak { .. }), "{error}");
        assert!(error.to_string().contains(&format!("stop process {}", std::process::id())), "{error}");
        let other = force_unlock(&path, "other-id").unwrap_err();
        assert!(matches!(other, LockError::OtherHolder { .. }), "{other}");
    }

    #[test]
    fn force_unlock_without_lock_reports_not_locked() {
        let dir = tempfile::tempdir().unwrap();
        let error = force_unlock(&dir.path().join("state.json.lock"), "id").unwrap_err();
        assert!(matches!(error, LockError::NotLocked { .. }), "{error}");
    }
}
