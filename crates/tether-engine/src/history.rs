//! Audit records: one per run that changes what tether manages (apply, `drift --fix`, destroy,
//! import), saying who ran what, from where, and how it ended.

use serde::{Deserialize, Serialize};

use crate::LockInfo;

/// One run as recorded in the environment's history. It contains digests and counts only, never
/// an attribute value, so no secret can enter it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AuditRecord {
    /// The run's state lock id, which also names the record.
    pub id: String,
    /// The command that ran, as its state lock names it: `apply`, `drift --fix`, `destroy` or
    /// `import`. Records written before this field existed were all applies, so they read as `apply`.
    #[serde(default = "default_operation")]
    pub operation: String,
    /// The environment's name.
    pub environment: String,
    /// The user, host, process and CI run that ran the command.
    pub holder: crate::LockHolder,
    /// When it started.
    pub started: jiff::Timestamp,
    /// When it ended; `None` while running or after the process died.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub finished: Option<jiff::Timestamp>,
    /// SHA-256 of the environment file's bytes, as lowercase hex.
    pub environment_digest: String,
    /// SHA-256 of the plan's JSON form (the destroy plan's for `destroy`), as lowercase hex,
    /// `sha256:` prefixed. An import has no plan, so its record has the SHA-256 of the compact JSON
    /// object that maps each imported address to the id recorded for it, in address order.
    pub plan_digest: String,
    /// The counts of what happened.
    pub summary: AuditSummary,
    /// The result.
    pub outcome: Outcome,
    /// The tether version that ran.
    pub tether_version: String,
}

fn default_operation() -> String {
    "apply".to_owned()
}

/// The counts of one run.
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
    /// Existing resources an import recorded in the state. It is 0 for every other command and in
    /// records written before this field existed, and left out of the JSON form when 0.
    #[serde(default, skip_serializing_if = "is_zero")]
    pub imported: usize,
}

fn is_zero(count: &usize) -> bool {
    *count == 0
}

/// The result of a run.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Outcome {
    /// Still running, or stopped before it could record its end (killed, lost its connection).
    Unfinished,
    /// Every change finished.
    Succeeded,
    /// At least one change failed or was skipped.
    Failed,
    /// SIGINT or SIGTERM stopped the run before every change started or while some were in flight.
    Interrupted,
}

impl std::fmt::Display for Outcome {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Outcome::Unfinished => "unfinished",
            Outcome::Succeeded => "succeeded",
            Outcome::Failed => "failed",
            Outcome::Interrupted => "interrupted",
        })
    }
}

impl AuditRecord {
    /// Starts the record of a run under `lock`, whose operation names the command.
    pub fn start(lock: &LockInfo, environment: &str, environment_digest: &str, plan_digest: &str) -> AuditRecord {
        AuditRecord {
            id: lock.id.clone(),
            operation: lock.operation.clone(),
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

    /// Records the end of the run with its counts. `interrupted` means a signal left changes not
    /// started or abandoned in flight, and it takes precedence over failures, which the counts show.
    pub fn finish(&mut self, summary: AuditSummary, interrupted: bool) {
        self.finished = Some(jiff::Timestamp::now());
        self.outcome = if interrupted {
            Outcome::Interrupted
        } else if summary.failed == 0 && summary.skipped == 0 {
            Outcome::Succeeded
        } else {
            Outcome::Failed
        };
        self.summary = summary;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A record as tether wrote it before records named their operation or counted imports.
    const RECORD_WITHOUT_OPERATION: &str = r#"{
      "id": "0b7d6c1e",
      "environment": "ai-dev",
      "holder": {"user": "alice", "host": "build-7", "pid": 4242},
      "started": "2026-11-02T09:15:00Z",
      "finished": "2026-11-02T09:21:40Z",
      "environment_digest": "5f0c",
      "plan_digest": "sha256:9ab1",
      "summary": {"added": 38, "changed": 0, "destroyed": 0, "failed": 0, "skipped": 0},
      "outcome": "succeeded",
      "tether_version": "0.1.0"
    }"#;

    #[test]
    fn old_record_reads_as_apply() {
        let record: AuditRecord = serde_json::from_str(RECORD_WITHOUT_OPERATION).unwrap();

        assert_eq!(record.operation, "apply");
        assert_eq!(record.summary.imported, 0);
        assert_eq!(record.summary.added, 38);
        assert_eq!(record.outcome, Outcome::Succeeded);
    }

    #[test]
    fn start_takes_operation_from_lock() {
        let lock = LockInfo::new("destroy");

        let record = AuditRecord::start(&lock, "ai-dev", "5f0c", "sha256:9ab1");

        assert_eq!(record.operation, "destroy");
        let written = serde_json::to_value(&record).unwrap();
        assert_eq!(written["operation"], "destroy");
        assert_eq!(written["summary"].get("imported"), None, "a count of 0 imports is left out");
    }

    #[test]
    fn finish_picks_outcome() {
        let lock = LockInfo::new("apply");
        let failed = AuditSummary { failed: 1, ..AuditSummary::default() };
        let cases = [
            (AuditSummary::default(), false, Outcome::Succeeded),
            (failed, false, Outcome::Failed),
            (AuditSummary { skipped: 2, ..AuditSummary::default() }, false, Outcome::Failed),
            (AuditSummary::default(), true, Outcome::Interrupted),
            (failed, true, Outcome::Interrupted),
        ];
        for (summary, interrupted, expected) in cases {
            let mut record = AuditRecord::start(&lock, "ai-dev", "5f0c", "sha256:9ab1");
            record.finish(summary, interrupted);
            assert_eq!(record.outcome, expected, "{summary:?}, interrupted {interrupted}");
            assert!(record.finished.is_some());
        }
    }
}
