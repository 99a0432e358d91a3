//! The drift report as terminal text, Markdown and JSON.

use std::fmt::Write as _;

use tether_model::{Action, Value};
use tether_plan::{DriftKind, DriftReport, DriftedResource, PendingChange};
use tether_render::render_value;

/// Renders the report as text for a terminal.
pub fn render_text(report: &DriftReport) -> String {
    let mut out = String::new();
    if report.has_drift() {
        let _ = writeln!(
            out,
            "Drift in environment `{}`: {}.\n",
            report.environment,
            count(report.drift.len(), "resource differs", "resources differ") + " from what tether last applied"
        );
        for resource in &report.drift {
            write_drifted_text(&mut out, resource);
        }
    } else {
        let _ = writeln!(out, "No drift. Environment `{}` matches what tether last applied.", report.environment);
    }
    if !report.pending.is_empty() {
        if !out.ends_with("\n\n") {
            out.push('\n');
        }
        out.push_str("Pending changes: the file requests these, but they are not applied yet (not drift).\n");
        for change in &report.pending {
            let _ = writeln!(out, "  {} {}{}", change.action.marker(), change.address, paths_suffix(change));
        }
    }
    out
}

fn write_drifted_text(out: &mut String, resource: &DriftedResource) {
    let _ = writeln!(out, "  # {} {} ({})", resource.address, headline(resource.kind), resource.id);
    for attribute in &resource.attributes {
        let _ = writeln!(
            out,
            "      ~ {}: {} -> {}",
            attribute.path,
            shown(Some(&attribute.applied), 8),
            shown(attribute.observed.as_ref(), 8)
        );
    }
    out.push('\n');
}

/// Renders the report as Markdown, e.g. for an issue or a chat message.
pub fn render_markdown(report: &DriftReport) -> String {
    let mut out = String::new();
    if report.has_drift() {
        let _ = writeln!(out, "### Drift in `{}`\n", report.environment);
        out.push_str("| Resource | Drift | Attribute | Applied | Observed |\n| --- | --- | --- | --- | --- |\n");
        for resource in &report.drift {
            write_drifted_markdown(&mut out, resource);
        }
    } else {
        let _ = writeln!(out, "### No drift in `{}`", report.environment);
    }
    if !report.pending.is_empty() {
        out.push_str("\n**Pending changes** (in the file, not applied yet; not drift):\n\n");
        for change in &report.pending {
            let _ = writeln!(out, "- {} `{}`{}", change.action, change.address, paths_suffix(change));
        }
    }
    out
}

fn write_drifted_markdown(out: &mut String, resource: &DriftedResource) {
    let kind = headline(resource.kind);
    if resource.attributes.is_empty() {
        let _ = writeln!(out, "| `{}` | {kind} | | | |", resource.address);
    }
    for attribute in &resource.attributes {
        let cell = |value: Option<&Value>| shown(value, 0).replace('\n', " ").replace('|', "\\|");
        let _ = writeln!(
            out,
            "| `{}` | {kind} | `{}` | `{}` | `{}` |",
            resource.address,
            attribute.path,
            cell(Some(&attribute.applied)),
            cell(attribute.observed.as_ref())
        );
    }
}

/// Builds the report's JSON form, described by `schemas/drift.schema.json`.
pub fn report_json(report: &DriftReport) -> serde_json::Value {
    let count_kind = |kind: DriftKind| report.drift.iter().filter(|item| item.kind == kind).count();
    // Serializing the report cannot fail: every map key is a string.
    let mut document = serde_json::to_value(report).unwrap_or_default();
    document["has_drift"] = serde_json::Value::Bool(report.has_drift());
    document["summary"] = serde_json::json!({
        "changed": count_kind(DriftKind::Changed),
        "deleted": count_kind(DriftKind::Deleted),
        "unmanaged": count_kind(DriftKind::Unmanaged),
        "pending": report.pending.len(),
    });
    document
}

fn headline(kind: DriftKind) -> &'static str {
    match kind {
        DriftKind::Changed => "changed outside tether",
        DriftKind::Deleted => "deleted outside tether",
        DriftKind::Unmanaged => "carries this environment's marks but is not in the state",
    }
}

fn shown(value: Option<&Value>, indent: usize) -> String {
    value.map_or_else(|| "(absent)".to_owned(), |value| render_value(value, indent))
}

fn paths_suffix(change: &PendingChange) -> String {
    match change.action {
        Action::Update => format!(": {}", change.paths.join(", ")),
        _ => format!(" ({})", change.action),
    }
}

fn count(number: usize, one: &str, many: &str) -> String {
    if number == 1 { format!("1 {one}") } else { format!("{number} {many}") }
}

#[cfg(test)]
mod tests {
    use tether_model::Address;
    use tether_plan::{DriftedAttribute, PendingChange};

    use super::*;

    fn report() -> DriftReport {
        DriftReport {
            format_version: tether_plan::DRIFT_FORMAT_VERSION,
            environment: "ai-dev".to_owned(),
            drift: vec![
                DriftedResource {
                    address: Address::cluster("node_pool", "workers"),
                    kind: DriftKind::Changed,
                    id: "hcp-ai/ai-workers".to_owned(),
                    attributes: vec![DriftedAttribute {
                        path: "spec.replicas".to_owned(),
                        applied: Value::Int(2),
                        observed: Some(Value::Int(5)),
                    }],
                },
                DriftedResource {
                    address: Address::aws("route", "private-default"),
                    kind: DriftKind::Deleted,
                    id: "rtb-1_0.0.0.0/0".to_owned(),
                    attributes: Vec::new(),
                },
            ],
            pending: vec![PendingChange {
                address: Address::cluster("node_pool", "gpu"),
                action: Action::Update,
                paths: vec!["spec.autoScaling.max".to_owned()],
            }],
        }
    }

    #[test]
    fn text_lists_drift_then_pending() {
        let text = render_text(&report());
        let expected = "Drift in environment `ai-dev`: 2 resources differ from what tether last applied.\n\n  \
            # cluster.node_pool.workers changed outside tether (hcp-ai/ai-workers)\n      \
            ~ spec.replicas: 2 -> 5\n\n  \
            # aws.route.private-default deleted outside tether (rtb-1_0.0.0.0/0)\n\n\
            Pending changes: the file requests these, but they are not applied yet (not drift).\n  \
            ~ cluster.node_pool.gpu: spec.autoScaling.max\n";
        assert_eq!(text, expected);
    }

    #[test]
    fn markdown_has_one_row_per_attribute() {
        let markdown = render_markdown(&report());
        assert!(markdown.starts_with("### Drift in `ai-dev`\n"), "{markdown}");
        assert!(
            markdown
                .contains("| `cluster.node_pool.workers` | changed outside tether | `spec.replicas` | `2` | `5` |\n"),
            "{markdown}"
        );
        assert!(markdown.contains("| `aws.route.private-default` | deleted outside tether | | | |\n"), "{markdown}");
        assert!(markdown.contains("- update `cluster.node_pool.gpu`: spec.autoScaling.max\n"), "{markdown}");
    }

    #[test]
    fn json_counts_kinds() {
        let json = report_json(&report());
        assert_eq!(json["has_drift"], true);
        assert_eq!(json["summary"], serde_json::json!({"changed": 1, "deleted": 1, "unmanaged": 0, "pending": 1}));
    }
}
