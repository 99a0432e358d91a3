//! `tether history FILE`: list the environment's applies, `drift --fix` runs, destroys and imports
//! as recorded on the management cluster.

use std::process::ExitCode;

use anyhow::Context as _;
use tether_engine::AuditRecord;

use crate::args::HistoryArgs;
use crate::environment::Session;
use crate::exit::Failure;

/// Prints one block per recorded run, oldest first, or the records as a JSON array with `--json`.
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
        println!("No runs recorded for `{}` in namespace {namespace}.", session.name());
    }
    for record in &records {
        print!("{}", render(record));
    }
    Ok(ExitCode::SUCCESS)
}

/// Renders one record: a line with the start, command, outcome and counts, then the holder, end,
/// id, version and digests. An import's counts are the resources it recorded; the other commands'
/// are changes.
fn render(record: &AuditRecord) -> String {
    let second = |time: jiff::Timestamp| time.round(jiff::Unit::Second).unwrap_or(time);
    let finished = record.finished.map_or_else(|| "-".to_owned(), |time| second(time).to_string());
    let summary = record.summary;
    let counts = if record.operation == "import" {
        format!("{} imported; {} failed", summary.imported, summary.failed)
    } else {
        format!(
            "{} added, {} changed, {} destroyed; {} failed, {} skipped",
            summary.added, summary.changed, summary.destroyed, summary.failed, summary.skipped
        )
    };
    format!(
        "{started}  {operation}  {outcome}  {counts}\n  \
         by {holder}\n  finished {finished}, id {id}, tether {version}\n  environment file sha256:{file}, plan {plan}\n",
        started = second(record.started),
        operation = record.operation,
        outcome = record.outcome,
        holder = record.holder,
        id = record.id,
        version = record.tether_version,
        file = record.environment_digest,
        plan = record.plan_digest,
    )
}
