//! Drift notifications and their record: which drift was last announced, so that the same drift
//! is never announced twice, and its resolution once.

use std::path::{Path, PathBuf};

use anyhow::Context as _;
use serde::{Deserialize, Serialize};
use tether_plan::{DriftKind, DriftReport};

use crate::drift_render::report_json;

/// The drift last announced to the webhook, in a JSON file beside the state file.
#[derive(Debug, Default, Serialize, Deserialize)]
struct NotificationRecord {
    /// The `drift` list of the last report announced; empty after a resolution was announced.
    announced: serde_json::Value,
}

/// Returns the path of an environment's notification record: `<state file stem>.drift.json` beside the
/// state file.
pub fn record_path(state_file: &Path) -> PathBuf {
    let stem = state_file.file_name().and_then(|name| name.to_str()).unwrap_or("state.json");
    let stem = stem.strip_suffix(".state.json").or_else(|| stem.strip_suffix(".json")).unwrap_or(stem);
    state_file.with_file_name(format!("{stem}.drift.json"))
}

/// Posts to the webhook when the drift differs from what was last announced: new or changed drift,
/// or its resolution. Records what was announced only after the webhook accepted it, so a failed
/// post is tried again at the next check.
///
/// # Errors
/// Fails when the record cannot be read or written, or the POST fails.
pub async fn notify(url: &str, record_file: &Path, report: &DriftReport) -> anyhow::Result<bool> {
    let record = read_record(record_file)?;
    let current = report_json(report)["drift"].clone();
    let previous_had_drift = record.announced.as_array().is_some_and(|items| !items.is_empty());
    if current == record.announced || (!report.has_drift() && !previous_had_drift) {
        return Ok(false);
    }

    let message = message(report);
    crate::webhook::post(url, &message).await.context("cannot send the drift notification")?;
    let record = NotificationRecord { announced: current };
    // Serializing a `serde_json::Value` cannot fail.
    let bytes = serde_json::to_vec_pretty(&record).unwrap_or_default();
    if let Some(parent) = record_file.parent() {
        std::fs::create_dir_all(parent).with_context(|| format!("cannot create {}", parent.display()))?;
    }
    std::fs::write(record_file, bytes).with_context(|| format!("cannot write {}", record_file.display()))?;
    Ok(true)
}

fn read_record(path: &Path) -> anyhow::Result<NotificationRecord> {
    match std::fs::read(path) {
        Ok(bytes) => serde_json::from_slice(&bytes)
            .with_context(|| format!("the drift notification record {} is corrupt; delete it", path.display())),
        Err(error) if error.kind() == std::io::ErrorKind::NotFound => Ok(NotificationRecord::default()),
        Err(error) => Err(error).with_context(|| format!("cannot read {}", path.display())),
    }
}

/// Builds the webhook message: a Slack-compatible `text`, the event, and the report's JSON form.
pub fn message(report: &DriftReport) -> serde_json::Value {
    let (event, text) = if report.has_drift() {
        let lines: Vec<String> = report
            .drift
            .iter()
            .map(|item| {
                let what = match item.kind {
                    DriftKind::Changed => "changed outside tether",
                    DriftKind::Deleted => "deleted outside tether",
                    DriftKind::Unmanaged => "carries this environment's marks but is not in the state",
                };
                let paths: Vec<&str> = item.attributes.iter().map(|attribute| attribute.path.as_str()).collect();
                let paths = if paths.is_empty() { String::new() } else { format!(" ({})", paths.join(", ")) };
                format!("• `{}` {what}{paths}", item.address)
            })
            .collect();
        ("drift", format!("tether: drift in `{}`:\n{}", report.environment, lines.join("\n")))
    } else {
        (
            "resolved",
            format!("tether: drift in `{}` is resolved; it matches what tether last applied.", report.environment),
        )
    };
    serde_json::json!({
        "text": text,
        "event": event,
        "environment": report.environment,
        "report": report_json(report),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn record_beside_state_file() {
        let path = record_path(Path::new("/x/.tether/ai-dev.state.json"));
        assert_eq!(path, Path::new("/x/.tether/ai-dev.drift.json"));
        assert_eq!(record_path(Path::new("s.json")), Path::new("s.drift.json"));
    }
}
