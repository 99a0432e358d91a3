//! State backends from the command line: choosing one, opening its store, and holding its lock
//! for the length of a command.

use std::path::PathBuf;
use std::time::Duration;

use anyhow::Context as _;
use tether_config::{Checked, StateBackend};
use tether_engine::{LocalStateStore, LockInfo, StateLock, StateStore};
use tether_kube::TetherKube;

use crate::args::EnvironmentArgs;

/// The state backend named on the command line.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum BackendChoice {
    /// A JSON file beside the environment file, locked with an OS file lock.
    Local,
    /// Secrets in `cluster.namespace` on the management cluster, locked with a Lease.
    Kubernetes,
}

impl From<BackendChoice> for StateBackend {
    fn from(choice: BackendChoice) -> StateBackend {
        match choice {
            BackendChoice::Local => StateBackend::Local,
            BackendChoice::Kubernetes => StateBackend::Kubernetes,
        }
    }
}

/// Returns the backend from `--state-backend`, else from `[state] backend` in the file, else local.
pub fn chosen_backend(args: &EnvironmentArgs, checked: &Checked) -> StateBackend {
    match args.state_backend {
        Some(choice) => choice.into(),
        None => checked.environment.state.as_ref().map(|state| state.backend).unwrap_or_default(),
    }
}

/// Opens the store of `backend` for the environment.
pub fn open_store(
    backend: StateBackend,
    args: &EnvironmentArgs,
    checked: &Checked,
    kube: &TetherKube,
) -> Box<dyn StateStore> {
    let name = &checked.environment.name;
    match backend {
        StateBackend::Local => Box::new(LocalStateStore::new(local_state_path(args, checked))),
        StateBackend::Kubernetes => Box::new(kube.state_store(&checked.environment.cluster.namespace, name)),
    }
}

/// `--state`, or `.tether/<environment>.state.json` beside the environment file.
pub fn local_state_path(args: &EnvironmentArgs, checked: &Checked) -> PathBuf {
    match &args.state {
        Some(path) => path.clone(),
        None => checked.base_dir.join(".tether").join(format!("{}.state.json", checked.environment.name)),
    }
}

/// Parses a duration such as `90s`, `5m`, `1h` or `0`; a bare number counts seconds.
///
/// # Errors
/// Returns a message for clap when the text is not a whole number with an optional unit.
pub fn parse_duration(text: &str) -> Result<Duration, String> {
    let text = text.trim();
    let split = text.find(|character: char| !character.is_ascii_digit()).unwrap_or(text.len());
    let (number, unit) = text.split_at(split);
    let invalid = || format!("invalid duration `{text}`: expected a whole number with s, m or h, e.g. 90s or 5m");
    let number: u64 = number.parse().map_err(|_| invalid())?;
    let seconds = match unit {
        "" | "s" => number,
        "m" => number.saturating_mul(60),
        "h" => number.saturating_mul(3600),
        _ => return Err(invalid()),
    };
    Ok(Duration::from_secs(seconds))
}

/// A held state lock that is released when dropped, on every path out of a command.
pub struct LockGuard {
    lock: Option<Box<dyn StateLock>>,
}

impl LockGuard {
    /// Takes the store's lock for `operation`, waiting up to `timeout` while someone else holds it.
    ///
    /// # Errors
    /// Fails when the lock stays held or the backend cannot be reached; the message names the holder.
    pub async fn acquire(store: &dyn StateStore, operation: &str, timeout: Duration) -> anyhow::Result<LockGuard> {
        let info = LockInfo::new(operation);
        let lock = tether_engine::acquire_lock(store, &info, timeout).await.with_context(|| {
            format!(
                "cannot lock the state in {}; wait for the other run, pass --lock-timeout to wait for it, or break a lock you know is abandoned with `tether force-unlock ID FILE`",
                store.describe()
            )
        })?;
        tracing::debug!(lock = %lock.info().id, "state lock taken");
        Ok(LockGuard { lock: Some(lock) })
    }

    /// Returns the held lock's description.
    pub fn info(&self) -> Option<&LockInfo> {
        self.lock.as_ref().map(|lock| lock.info())
    }
}

impl Drop for LockGuard {
    fn drop(&mut self) {
        let Some(lock) = self.lock.take() else { return };
        let id = lock.info().id.clone();
        // Releasing a Lease is a request to the API server. The CLI runs on a multi-threaded
        // runtime, where `block_in_place` lets this thread wait for it.
        let release = async move { lock.release().await };
        let result = match tokio::runtime::Handle::try_current() {
            Ok(handle) => tokio::task::block_in_place(|| handle.block_on(release)),
            Err(_) => return,
        };
        match result {
            Ok(()) => tracing::debug!(lock = %id, "state lock released"),
            Err(error) => eprintln!("warning: the state lock {id} was not released: {error}; it expires on its own"),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations_parse_with_units() {
        assert_eq!(parse_duration("0"), Ok(Duration::ZERO));
        assert_eq!(parse_duration("90s"), Ok(Duration::from_secs(90)));
        assert_eq!(parse_duration("5m"), Ok(Duration::from_secs(300)));
        assert_eq!(parse_duration("2h"), Ok(Duration::from_secs(7200)));
        assert_eq!(parse_duration("45"), Ok(Duration::from_secs(45)));
    }

    #[test]
    fn invalid_durations_are_rejected() {
        for text in ["", "5 minutes", "-1s", "1.5m", "m"] {
            assert!(parse_duration(text).is_err(), "{text}");
        }
    }
}
