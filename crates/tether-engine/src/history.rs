//! Audit records: one per apply, saying who applied what, from where, and how it ended.

use serde::{Deserialize, Serialize};

use crate::LockInfo;

/// One apply as recorded in the environment's history. It contains digests and counts only, never
/// an attribute value, so no secret can enter it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AuditRecord {
    /// The apply's state lock id, which also names the record.
    pub id: String,
    /// The environment's name.
    pub environment: String,
    /// The user, host, process and CI run that applied.
    pub holder: crate::LockHolder,
    /// When it started.
    pub started: jiff::Timestamp,
    /// When it ended; `None` while running or after the process died.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub finished: Option<jiff::Timestamp>,
    /// SHA-256 of the environment file's bytes, as lowercase hex.
    pub environment_digest: String,
    /// SHA-256 of the plan's JSON form, as lowercase hex, `sha256:` prefixed.
    pub plan_digest: String,
    /// The counts of what happened.
    pub summary: AuditSummary,
    /// The result.
    pub outcome: Outcome,
    /// The tether version that applied.
    pub tether_version: String,
}

/// The counts of one apply.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct AuditSummary {
    /// Resources created, replacements included.
    pub added: usize,
    /// Resources updated in place.
    pub changed: usize,
    /// Resources deleted, replacements included.
    pub destroyed: usize,
    /// Changes that failed.
    pub failed: usize,
    /// Changes skipped because something they depend on failed.
    pub skipped: usize,
}

/// The result of an apply.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Outcome {
    /// Still running, or stopped before it could record its end (killed, lost its connection).
    Unfinished,
    /// Every change finished.
    Succeeded,
    /// At least one change failed or was skipped.
    Failed,
}

impl std::fmt::Display for Outcome {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Outcome::Unfinished => "unfinished",
            Outcome::Succeeded => "succeeded",
            Outcome::Failed => "failed",
        })
    }
}

impl AuditRecord {
    /// Starts the record of an apply under `lock`.
    pub fn start(lock: &LockInfo, environment: &str, environment_digest: &str, plan_digest: &str) -> AuditRecord {
        AuditRecord {
            id: lock.id.clone(),
            environment: environment.to_owned(),
            holder: lock.holder.clone(),
            started: jiff::Timestamp::now(),
            finished: None,
            environment_digest: environment_digest.to_owned(),
            plan_digest: plan_digest.to_owned(),
            summary: AuditSummary::default(),
            outcome: Outcome::Unfinished,
            tether_version: env!("CARGO_PKG_VERSION").to_owned(),
        }
    }

    /// Records the end of the apply with its counts.
    pub fn finish(&mut self, summary: AuditSummary) {
        self.finished = Some(jiff::Timestamp::now());
        self.outcome = if summary.failed == 0 && summary.skipped == 0 { Outcome::Succeeded } else { Outcome::Failed };
        self.summary = summary;
    }
}
