//! The audit record of each run that changes what tether manages (apply, `drift --fix`, destroy,
//! import), written to the environment's history on the management cluster before the first
//! change and updated when the run ends. The record's operation is the state lock's.

use std::collections::BTreeMap;
use std::time::Duration;

use anyhow::Context as _;
use sha2::{Digest as _, Sha256};
use tether_engine::{ApplyReport, AuditRecord, AuditSummary, Stop};
use tether_model::{Address, Plan, StateResource};

use crate::environment::Session;

/// How long the record of a run stopped by a second signal may take to write before the process
/// exits anyway, leaving the record unfinished.
const ABANDON_GRACE: Duration = Duration::from_secs(3);

/// Writes the record of an apply, `drift --fix` or destroy that is about to start.
///
/// # Errors
/// Fails when the session holds no lock or the history cannot be written. The run must then not
/// start, so that no change goes unrecorded.
pub async fn start(session: &Session, plan: &Plan) -> anyhow::Result<AuditRecord> {
    start_with_digest(session, &plan_digest(plan)).await
}

/// Writes the record of an import that is about to write the state. Its plan digest is
/// [`import_digest`] of the resources to record.
///
/// # Errors
/// As [`start`]: the import must then not write the state.
pub async fn start_import(
    session: &Session,
    imported: &BTreeMap<Address, StateResource>,
) -> anyhow::Result<AuditRecord> {
    start_with_digest(session, &import_digest(imported)).await
}

async fn start_with_digest(session: &Session, digest: &str) -> anyhow::Result<AuditRecord> {
    let lock = session
        .lock
        .as_ref()
        .and_then(|guard| guard.info())
        .context("missing state lock: a recorded run must hold it")?;
    let checked = &session.environment.checked;
    let record = AuditRecord::start(lock, session.name(), &checked.source_digest, digest);
    history(session).record(&record).await.with_context(|| {
        format!("cannot record `{}` in the history on the management cluster, so nothing was changed", lock.operation)
    })?;
    Ok(record)
}

/// Records how the run ended. A failure here only warns, because the changes are made and
/// recorded in the state already.
pub async fn finish(session: &Session, mut record: AuditRecord, report: &ApplyReport) {
    let applied = report.applied_summary();
    let summary = AuditSummary {
        added: applied.add,
        changed: applied.change,
        destroyed: applied.destroy,
        failed: report.failed.len(),
        skipped: report.skipped.len(),
        imported: 0,
    };
    // A signal that arrived after the last change started leaves nothing undone.
    let interrupted = report.interrupted != Stop::No && !(report.not_started.is_empty() && report.abandoned.is_empty());
    record.finish(summary, interrupted);
    write_end(session, &record).await;
}

/// As [`finish`], but after a second signal ([`Stop::Abandon`]) it waits at most 3 s for the
/// write, so that an API server that hangs does not hold the exit up for its timeouts and
/// retries. The record then stays unfinished, which shows the interruption.
pub async fn finish_in_time(session: &Session, record: AuditRecord, report: &ApplyReport) {
    if report.interrupted != Stop::Abandon {
        finish(session, record, report).await;
        return;
    }
    let id = record.id.clone();
    if tokio::time::timeout(ABANDON_GRACE, finish(session, record, report)).await.is_err() {
        eprintln!("warning: the history record {id} stays unfinished");
    }
}

/// Records how an import ended: `imported` resources recorded, or all of them counted as failed
/// when the state could not be written.
pub async fn finish_import(session: &Session, mut record: AuditRecord, imported: usize, saved: bool) {
    let summary = if saved {
        AuditSummary { imported, ..AuditSummary::default() }
    } else {
        AuditSummary { failed: imported, ..AuditSummary::default() }
    };
    record.finish(summary, false);
    write_end(session, &record).await;
}

async fn write_end(session: &Session, record: &AuditRecord) {
    if let Err(error) = history(session).record(record).await {
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
    sha256_hex(&json)
}

/// Returns `sha256:` and the SHA-256 of the compact JSON object that maps each imported address
/// to its id, in address order: the listing `tether import` prints, without the ways each was found.
pub fn import_digest(imported: &BTreeMap<Address, StateResource>) -> String {
    let listing: BTreeMap<String, &str> =
        imported.iter().map(|(address, resource)| (address.to_string(), resource.id.as_str())).collect();
    // A map of strings always serializes.
    let json = serde_json::to_vec(&listing).unwrap_or_default();
    sha256_hex(&json)
}

fn sha256_hex(bytes: &[u8]) -> String {
    let digest: String = Sha256::digest(bytes).iter().map(|byte| format!("{byte:02x}")).collect();
    format!("sha256:{digest}")
}
