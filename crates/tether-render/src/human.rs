//! The terminal form of a plan, modelled on Terraform's: one block per changed resource, then
//! a summary line.

use std::fmt::Write as _;

use tether_model::{Action, ActionReason, Attributes, Plan, ResourceChange};

use crate::value::render_value;

/// Renders a plan for a terminal. Unchanged resources are not listed.
pub fn render_plan(plan: &Plan) -> String {
    if !plan.has_changes() {
        return format!("No changes. Environment `{}` matches its file.\n", plan.environment);
    }
    let mut out = String::from("tether will perform the following actions:\n\n");
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
    let marker = change.action.marker();
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
        let _ = writeln!(out, "      + {key:<width$} = {}", render_value(value, 8));
    }
}

fn write_attribute_changes(out: &mut String, change: &ResourceChange) {
    for attribute in &change.attribute_changes {
        let marker = if attribute.before.is_none() { "+" } else { "~" };
        let before = match &attribute.before {
            Some(value) => format!("{} -> ", render_value(value, 8)),
            None => String::new(),
        };
        let after = match &attribute.after {
            Some(value) => render_value(value, 8),
            None => "null".to_owned(),
        };
        let note = if attribute.forces_replacement { " # forces replacement" } else { "" };
        let _ = writeln!(out, "      {marker} {} = {before}{after}{note}", attribute.path);
    }
}

fn forced_paths(change: &ResourceChange) -> Option<&[String]> {
    change.reasons.iter().find_map(|reason| match reason {
        ActionReason::ForcesReplacement { paths } => Some(paths.as_slice()),
        _ => None,
    })
}
