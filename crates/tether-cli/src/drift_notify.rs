//! Drift notifications and their record: which drift was last announced, so that the same drift
//! is never announced twice, and its resolution once.

use anyhow::Context as _;
use tether_engine::StateStore;
use tether_plan::{DriftKind, DriftReport};

use crate::drift_render::report_json;

/// The name of the state store document that contains the last announced drift report.
pub const REPORT_DOCUMENT: &str = "drift-report";

/// Posts to the webhook when the drift differs from what was last announced: new or changed drift,
/// or its resolution. The last announced report is kept in the state store as the document
/// [`REPORT_DOCUMENT`], so separate runs (one-shot checks, a restarted `--watch`) announce the same drift once. It is
/// saved only after the webhook accepted the post, so a failed post is tried again at the next check.
/// Returns whether a message was posted.
///
/// # Errors
/// Fails when the document cannot be read or written, or the POST fails.
pub async fn notify(
    url: &str,
    store: &dyn StateStore,
    environment: &str,
    report: &DriftReport,
) -> anyhow::Result<bool> {
    let where_kept = || format!("the last announced drift in {}", store.describe());
    let last = store
        .load_document(environment, REPORT_DOCUMENT)
        .await
        .with_context(|| format!("cannot read {}", where_kept()))?;
    let announced = last.as_ref().map_or(serde_json::Value::Null, |document| document["drift"].clone());
    if !should_announce(report, &announced) {
        return Ok(false);
    }

    crate::webhook::post(url, &message(report)).await.context("cannot send the drift notification")?;
    store
        .save_document(environment, REPORT_DOCUMENT, &report_json(report))
        .await
        .with_context(|| format!("cannot record {}", where_kept()))?;
    Ok(true)
}

/// Tests whether `report` is news, given the `drift` list of the last announced report (`null`
/// when nothing was announced yet). A first check without drift is not news.
fn should_announce(report: &DriftReport, announced: &serde_json::Value) -> bool {
    let current = report_json(report)["drift"].clone();
    let announced_drift = announced.as_array().is_some_and(|items| !items.is_empty());
    current != *announced && (report.has_drift() || announced_drift)
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

    fn report(drift: Vec<tether_plan::DriftedResource>) -> DriftReport {
        DriftReport { format_version: 1, environment: "ai-dev".to_owned(), drift, pending: Vec::new() }
    }

    fn deleted(name: &str) -> tether_plan::DriftedResource {
        tether_plan::DriftedResource {
            address: tether_model::Address::aws("subnet", name),
            kind: DriftKind::Deleted,
            id: format!("subnet-{name}"),
            attributes: Vec::new(),
        }
    }

    #[test]
    fn announces_new_changed_and_resolved_drift_once() {
        let none = report(Vec::new());
        let one = report(vec![deleted("a")]);
        let two = report(vec![deleted("a"), deleted("b")]);
        let drift_of = |report: &DriftReport| report_json(report)["drift"].clone();

        assert!(!should_announce(&none, &serde_json::Value::Null), "a first clean check is not news");
        assert!(should_announce(&one, &serde_json::Value::Null));
        assert!(!should_announce(&one, &drift_of(&one)), "the same drift again");
        assert!(should_announce(&two, &drift_of(&one)), "the drift changed");
        assert!(should_announce(&none, &drift_of(&two)), "the resolution");
        assert!(!should_announce(&none, &drift_of(&none)), "the resolution again");
    }
}
