//! The terminal form of a plan, modelled on Terraform's: one block per changed resource, then
//! a summary line.

use std::fmt::Write as _;

use tether_model::{Action, ActionReason, Attributes, Plan, ResourceChange, Value};

use crate::embedded;
use crate::value::render_value;

/// Renders a plan for a terminal. Unchanged resources are not listed.
pub fn render_plan(plan: &Plan) -> String {
    if !plan.has_changes() {
        return format!("No changes. Environment `{}` matches its file.\n", plan.environment);
    }
    let mut out = String::new();
    write_disruption_banner(&mut out, plan);
    out.push_str("tether will perform the following actions:\n\n");
    let changed = plan.changes.iter().filter(|change| change.action != Action::NoOp);
    for change in changed {
        write_change(&mut out, change);
        out.push('\n');
    }
    let _ = writeln!(out, "Plan: {}.", plan.summary());
    out
}

fn write_change(out: &mut String, change: &ResourceChange) {
    let address = &change.address;
    let marker = change.marker();
    let heading = match change.action {
        Action::NoOp => "is unchanged",
        Action::Create => "will be created",
        Action::Update => "will be updated in place",
        Action::Replace => "must be replaced",
        Action::Delete => "will be destroyed",
    };
    let _ = writeln!(out, "  # {address} {heading}");
    if let Some(paths) = forced_paths(change) {
        let _ = writeln!(out, "  # (because {} cannot change in place)", paths.join(", "));
    }
    if change.action == Action::Replace && change.create_before_destroy {
        let _ = writeln!(out, "  # (the new one is created first; the old one is deleted once nothing uses it)");
    }
    for disruption in &change.disruption {
        let _ = writeln!(out, "  # (disruption: {disruption})");
    }

    match change.action {
        Action::NoOp => {}
        Action::Delete => {
            let id = change.id.as_deref().unwrap_or("unknown id");
            let _ = writeln!(out, "{marker:>3} {address} (id {id})");
        }
        Action::Create => {
            let _ = writeln!(out, "{marker:>3} {address} {{");
            write_created_attributes(out, change.after.as_ref());
            out.push_str("    }\n");
        }
        Action::Update | Action::Replace => {
            let _ = writeln!(out, "{marker:>3} {address} {{");
            write_attribute_changes(out, change);
            out.push_str("    }\n");
        }
    }
}

fn write_created_attributes(out: &mut String, attributes: Option<&Attributes>) {
    let Some(attributes) = attributes else { return };
    let width = attributes.keys().map(String::len).max().unwrap_or(0);
    for (key, value) in attributes {
        let _ = writeln!(out, "      + {key:<width$} = {}", render_value(&embedded::summarise(value), 8));
        write_embedded_diffs(out, key, None, Some(value));
    }
}

fn write_attribute_changes(out: &mut String, change: &ResourceChange) {
    for attribute in &change.attribute_changes {
        let marker = if attribute.before.is_none() { "+" } else { "~" };
        let before_summary = attribute.before.as_ref().map(embedded::summarise);
        let after_summary = attribute.after.as_ref().map(embedded::summarise);
        let note = if attribute.forces_replacement { " # forces replacement" } else { "" };
        if before_summary.is_some() && before_summary == after_summary {
            let _ = writeln!(out, "      ~ {} = (only embedded documents change, shown decoded){note}", attribute.path);
            write_embedded_diffs(out, &attribute.path, attribute.before.as_ref(), attribute.after.as_ref());
            continue;
        }
        let before = match &before_summary {
            Some(value) => format!("{} -> ", render_value(value, 8)),
            None => String::new(),
        };
        let after = match &after_summary {
            Some(value) => render_value(value, 8),
            None => "null".to_owned(),
        };
        let _ = writeln!(out, "      {marker} {} = {before}{after}{note}", attribute.path);
        write_embedded_diffs(out, &attribute.path, attribute.before.as_ref(), attribute.after.as_ref());
    }
}

/// Writes a line diff for each embedded document (a base64 script, a JSON policy) that differs
/// between the two versions of an attribute.
fn write_embedded_diffs(out: &mut String, path: &str, before: Option<&Value>, after: Option<&Value>) {
    let old = before.map(embedded::collect).unwrap_or_default();
    let new = after.map(embedded::collect).unwrap_or_default();
    let mut inner_paths: Vec<&String> = old.keys().chain(new.keys()).collect();
    inner_paths.sort_unstable();
    inner_paths.dedup();
    for inner in inner_paths {
        let (old_document, new_document) = (old.get(inner), new.get(inner));
        if old_document == new_document {
            continue;
        }
        // unwrap: the path came from one of the two maps.
        let form = old_document.or(new_document).unwrap().form;
        let _ = writeln!(out, "        # {path}{inner}, decoded from its {form}:");
        embedded::write_line_diff(out, old_document, new_document, 10);
    }
}

/// Writes a short banner listing every disruption, before the changes.
fn write_disruption_banner(out: &mut String, plan: &Plan) {
    let mut disruptions = plan.disruptions().peekable();
    if disruptions.peek().is_none() {
        return;
    }
    out.push_str("Effects on the running environment:\n");
    for (address, disruption) in disruptions {
        let _ = writeln!(out, "  ! {address}: {disruption}");
    }
    out.push('\n');
}

fn forced_paths(change: &ResourceChange) -> Option<&[String]> {
    change.reasons.iter().find_map(|reason| match reason {
        ActionReason::ForcesReplacement { paths } => Some(paths.as_slice()),
        _ => None,
    })
}

/// Describes how a saved plan differs from a fresh plan of the same environment: each resource
/// whose planned change differs, with the fresh plan's attribute changes.
pub fn render_plan_difference(saved: &Plan, fresh: &Plan) -> String {
    let mut out = String::new();
    let mut addresses: Vec<_> = saved.changes.iter().chain(&fresh.changes).map(|change| &change.address).collect();
    addresses.sort_unstable();
    addresses.dedup();
    for address in addresses {
        let (old, new) = (saved.change(address), fresh.change(address));
        if old == new {
            continue;
        }
        let action = |change: Option<&ResourceChange>| change.map(|change| change.action);
        let describe =
            |change: Option<&ResourceChange>| action(change).map_or("absent".to_owned(), |planned| planned.to_string());
        let _ = writeln!(out, "  {address}");
        let _ = writeln!(out, "      saved plan: {}", describe(old));
        let _ = writeln!(out, "      fresh plan: {}", describe(new));
        match new {
            Some(change) if !change.attribute_changes.is_empty() => write_attribute_changes(&mut out, change),
            _ if action(old) == action(new) => {
                out.push_str("      (same action; observed attributes outside the file's fields changed)\n");
            }
            _ => {}
        }
    }
    if out.is_empty() && saved.fingerprint != fresh.fingerprint {
        out.push_str("  The planned changes are the same, but what they were planned from changed: an observed\n");
        out.push_str("  attribute the file does not set, or the state.\n");
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use tether_model::{Address, AttributeChange, PLAN_FORMAT_VERSION};

    fn plan(action: Action, replicas: Option<i64>) -> Plan {
        let attribute_changes = replicas
            .map(|replicas| AttributeChange {
                path: "spec.replicas".to_owned(),
                before: Some(Value::Int(5)),
                after: Some(Value::Int(replicas)),
                forces_replacement: false,
            })
            .into_iter()
            .collect();
        let change = ResourceChange {
            address: Address::cluster("node_pool", "workers"),
            action,
            reasons: Vec::new(),
            id: Some("hcp-ai/ai-workers".to_owned()),
            before: None,
            after: None,
            attribute_changes,
            depends_on: Default::default(),
            disruption: Vec::new(),
            create_before_destroy: false,
        };
        Plan {
            format_version: PLAN_FORMAT_VERSION,
            environment: "ai-dev".to_owned(),
            changes: vec![change],
            fingerprint: format!("sha256:{}", replicas.unwrap_or(0)),
        }
    }

    #[test]
    fn difference_lists_changed_resource() {
        let text = render_plan_difference(&plan(Action::NoOp, None), &plan(Action::Update, Some(2)));
        assert!(text.contains("  cluster.node_pool.workers\n"), "{text}");
        assert!(text.contains("saved plan: no-op"), "{text}");
        assert!(text.contains("fresh plan: update"), "{text}");
        assert!(text.contains("~ spec.replicas = 5 -> 2"), "{text}");
    }

    #[test]
    fn difference_of_equal_changes_names_inputs() {
        let mut fresh = plan(Action::NoOp, None);
        fresh.fingerprint = "sha256:1".to_owned();
        let text = render_plan_difference(&plan(Action::NoOp, None), &fresh);
        assert!(text.contains("what they were planned from changed"), "{text}");
    }
}
