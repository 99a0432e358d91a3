//! `tether history FILE`: list the environment's applies as recorded on the management cluster.

use std::process::ExitCode;

use anyhow::Context as _;
use tether_engine::AuditRecord;

use crate::args::HistoryArgs;
use crate::environment::Session;
use crate::exit::Failure;

/// Prints one block per apply, oldest first, or the records as a JSON array with `--json`.
///
/// # Errors
/// Fails when the management cluster cannot be reached or a record is corrupt.
pub async fn run(args: &HistoryArgs) -> Result<ExitCode, Failure> {
    let session = Session::connect(&args.environment).await?;
    let namespace = &session.environment.checked.environment.cluster.namespace;
    let records = session.kube.history(namespace, session.name()).list().await.context("cannot read the history")?;

    if args.json {
        // Records hold strings, numbers and timestamps, which always serialize.
        println!("{}", serde_json::to_string_pretty(&records).unwrap_or_default());
        return Ok(ExitCode::SUCCESS);
    }
    if records.is_empty() {
        println!("No applies recorded for `{}` in namespace {namespace}.", session.name());
    }
    for record in &records {
        print!("{}", render(record));
    }
    Ok(ExitCode::SUCCESS)
}

fn render(record: &AuditRecord) -> String {
    let second = |time: jiff::Timestamp| time.round(jiff::Unit::Second).unwrap_or(time);
    let finished = record.finished.map_or_else(|| "-".to_owned(), |time| second(time).to_string());
    let summary = record.summary;
    format!(
        "{started}  {outcome}  {added} added, {changed} changed, {destroyed} destroyed; {failed} failed, {skipped} skipped\n  \
         by {holder}\n  finished {finished}, id {id}, tether {version}\n  environment file sha256:{file}, plan {plan}\n",
        started = second(record.started),
        outcome = record.outcome,
        added = summary.added,
        changed = summary.changed,
        destroyed = summary.destroyed,
        failed = summary.failed,
        skipped = summary.skipped,
        holder = record.holder,
        id = record.id,
        version = record.tether_version,
        file = record.environment_digest,
        plan = record.plan_digest,
    )
}
