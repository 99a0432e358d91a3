//! The audit record of each apply, written to the environment's history on the management
//! cluster before the first change and updated when the apply ends.

use anyhow::Context as _;
use sha2::{Digest as _, Sha256};
use tether_engine::{ApplyReport, AuditRecord, AuditSummary};
use tether_model::Plan;

use crate::environment::Session;

/// Writes the record of an apply that is about to start.
///
/// # Errors
/// Fails when the session holds no lock or the history cannot be written; the apply must then
/// not start, so that no apply goes unrecorded.
pub async fn start(session: &Session, plan: &Plan) -> anyhow::Result<AuditRecord> {
    let lock = session.lock.as_ref().and_then(|guard| guard.info()).context("an apply runs under the state lock")?;
    let checked = &session.environment.checked;
    let record = AuditRecord::start(lock, session.name(), &checked.source_digest, &plan_digest(plan));
    history(session)
        .record(&record)
        .await
        .context("cannot record the apply in the history on the management cluster, so nothing was changed")?;
    Ok(record)
}

/// Records how the apply ended. A failure here only warns, because the changes are made and
/// recorded in the state already.
pub async fn finish(session: &Session, mut record: AuditRecord, report: &ApplyReport) {
    let applied = report.applied_summary();
    record.finish(AuditSummary {
        added: applied.add,
        changed: applied.change,
        destroyed: applied.destroy,
        failed: report.failed.len(),
        skipped: report.skipped.len(),
    });
    if let Err(error) = history(session).record(&record).await {
        eprintln!("warning: the history record {} stays unfinished: {error:#}", record.id);
    }
}

fn history(session: &Session) -> tether_kube::History {
    session.kube.history(&session.environment.checked.environment.cluster.namespace, session.name())
}

/// Returns `sha256:` and the SHA-256 of the plan's JSON form. Sensitive values appear in that
/// form only as their digests.
pub fn plan_digest(plan: &Plan) -> String {
    // A plan contains strings, numbers and maps with string keys, which always serialize.
    let json = serde_json::to_vec(plan).unwrap_or_default();
    let digest: String = Sha256::digest(&json).iter().map(|byte| format!("{byte:02x}")).collect();
    format!("sha256:{digest}")
}
