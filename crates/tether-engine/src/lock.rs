//! State locks: who holds one, the held-lock trait that backends implement, and waiting for a lock.

use std::fmt;
use std::time::Duration;

use async_trait::async_trait;
use serde::{Deserialize, Serialize};

use crate::StateStore;

/// The person, machine and process behind a lock.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct LockHolder {
    /// The operating-system user, from `USER`, `USERNAME` or `LOGNAME`.
    pub user: String,
    /// The machine's host name.
    pub host: String,
    /// The process id on that host.
    pub pid: u32,
    /// The CI run's URL (GitHub Actions, GitLab CI, Jenkins) when running in one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ci_run: Option<String>,
}

impl LockHolder {
    /// Describes the current process.
    pub fn current() -> LockHolder {
        let user = ["USER", "USERNAME", "LOGNAME"]
            .iter()
            .find_map(|name| std::env::var(name).ok().filter(|value| !value.is_empty()))
            .unwrap_or_else(|| "unknown".to_owned());
        let host =
            hostname::get().ok().and_then(|name| name.into_string().ok()).unwrap_or_else(|| "unknown".to_owned());
        LockHolder { user, host, pid: std::process::id(), ci_run: ci_run_url() }
    }
}

/// Returns the URL of the CI run this process belongs to, from the variables that GitHub Actions,
/// GitLab CI and Jenkins set.
fn ci_run_url() -> Option<String> {
    let variable = |name: &str| std::env::var(name).ok().filter(|value| !value.is_empty());
    if let (Some(server), Some(repository), Some(run)) =
        (variable("GITHUB_SERVER_URL"), variable("GITHUB_REPOSITORY"), variable("GITHUB_RUN_ID"))
    {
        return Some(format!("{server}/{repository}/actions/runs/{run}"));
    }
    variable("CI_JOB_URL").or_else(|| variable("BUILD_URL"))
}

impl fmt::Display for LockHolder {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}@{} (pid {}", self.user, self.host, self.pid)?;
        if let Some(run) = &self.ci_run {
            write!(f, ", CI run {run}")?;
        }
        write!(f, ")")
    }
}

/// One lock on an environment's state: its id, holder, operation and times.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct LockInfo {
    /// A random UUID, the argument of `tether force-unlock`.
    pub id: String,
    /// The holder.
    pub holder: LockHolder,
    /// The command that took it, e.g. `apply`.
    pub operation: String,
    /// When it was taken.
    pub created: jiff::Timestamp,
    /// When it expires unless its holder renews it; `None` for a lock that ends with its process.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub expires: Option<jiff::Timestamp>,
}

impl LockInfo {
    /// Describes a new lock for `operation`, held by the current process from now on.
    pub fn new(operation: &str) -> LockInfo {
        LockInfo {
            id: uuid::Uuid::new_v4().to_string(),
            holder: LockHolder::current(),
            operation: operation.to_owned(),
            created: jiff::Timestamp::now(),
            expires: None,
        }
    }
}

impl fmt::Display for LockInfo {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let created = self.created.round(jiff::Unit::Second).unwrap_or(self.created);
        write!(f, "lock {} held by {} for `{}` since {created}", self.id, self.holder, self.operation)?;
        if let Some(expires) = self.expires {
            let expires = expires.round(jiff::Unit::Second).unwrap_or(expires);
            write!(f, ", expiring at {expires} unless renewed")?;
        }
        Ok(())
    }
}

/// A lock that could not be taken, released or broken.
#[derive(Debug, thiserror::Error)]
pub enum LockError {
    /// Someone else holds the lock.
    #[error("the state is locked: {0}")]
    Held(Box<LockInfo>),
    /// Someone else held the lock for the whole `--lock-timeout`.
    #[error("the state is still locked after waiting {waited:.1?}: {info}")]
    TimedOut {
        /// How long this process waited.
        waited: Duration,
        /// The lock that is still held.
        info: Box<LockInfo>,
    },
    /// `force-unlock` named a lock that is not the one held.
    #[error("the state is not locked by {id}; it is locked by {current}")]
    OtherHolder {
        /// The id given.
        id: String,
        /// The lock actually held.
        current: Box<LockInfo>,
    },
    /// `force-unlock` found no lock.
    #[error("the state of {location} is not locked")]
    NotLocked {
        /// The state's location.
        location: String,
    },
    /// The lock cannot be broken from another process.
    #[error("{reason}")]
    CannotBreak {
        /// Why, and what to do instead.
        reason: String,
    },
    /// This process's lock expired and another process took it over.
    #[error("this apply lost its state lock {id}: {reason}")]
    Lost {
        /// This process's lock id.
        id: String,
        /// The lock or release found instead.
        reason: String,
    },
    /// The backend failed to read or write the lock.
    #[error("cannot {operation} the state lock at {location}")]
    Backend {
        /// `take`, `renew`, `release` or `read`.
        operation: &'static str,
        /// The lock's location.
        location: String,
        /// The backend's error.
        #[source]
        source: Box<dyn std::error::Error + Send + Sync>,
    },
}

/// A held state lock. Dropping it without [`StateLock::release`] leaves the lock to end with the
/// process (file locks) or to expire (leases).
#[async_trait]
pub trait StateLock: Send + Sync {
    /// Returns the lock's description.
    fn info(&self) -> &LockInfo;

    /// Releases the lock.
    ///
    /// # Errors
    /// Fails when the backend cannot be reached; the lock then ends as if the process had died.
    async fn release(self: Box<Self>) -> Result<(), LockError>;
}

/// How often a process waiting for a lock tries again.
const LOCK_RETRY_INTERVAL: Duration = Duration::from_secs(1);

/// Takes the store's lock, trying again every second for up to `timeout` while someone else holds it.
///
/// # Errors
/// [`LockError::Held`] at once when `timeout` is zero, [`LockError::TimedOut`] when the lock stayed
/// held, or the backend's error.
pub async fn acquire_lock(
    store: &dyn StateStore,
    info: &LockInfo,
    timeout: Duration,
) -> Result<Box<dyn StateLock>, LockError> {
    let started = tokio::time::Instant::now();
    let mut announced = false;
    loop {
        let held = match store.lock(info).await {
            Ok(lock) => return Ok(lock),
            Err(LockError::Held(held)) => held,
            Err(error) => return Err(error),
        };
        let waited = started.elapsed();
        if timeout.is_zero() {
            return Err(LockError::Held(held));
        }
        if waited >= timeout {
            return Err(LockError::TimedOut { waited, info: held });
        }
        if !announced {
            tracing::info!(holder = %held.holder, lock = %held.id, "waiting for the state lock");
            announced = true;
        }
        tokio::time::sleep(LOCK_RETRY_INTERVAL.min(timeout - waited)).await;
    }
}
