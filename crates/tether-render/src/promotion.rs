//! Output of `tether promote`: the resources a file edit changes, and the edit as a unified diff.

use std::fmt::Write as _;

use tether_model::{Action, Plan};

use crate::value::render_value;

/// Renders the plan between the resources of an environment file before and after an edit. The text
/// states that this is the change in the file, not a live plan against AWS or the cluster.
pub fn render_file_impact(plan: &Plan, file: &str) -> String {
    let mut out = format!(
        "Impact on `{}`: the change in the resources that {file} describes. This is not a live plan: \
         run `tether plan` to compare with AWS and the management cluster.\n",
        plan.environment
    );
    if !plan.has_changes() {
        out.push_str("  No resource changes.\n");
        return out;
    }
    for change in plan.changes.iter().filter(|change| change.action != Action::NoOp) {
        let heading = match change.action {
            Action::NoOp => "is unchanged",
            Action::Create => "will be created",
            Action::Update => "will be updated in place",
            Action::Replace => "will be replaced",
            Action::Delete => "will be destroyed",
        };
        let _ = writeln!(out, "{:>5} {} {heading}", change.action.marker(), change.address);
        for attribute in &change.attribute_changes {
            let before =
                attribute.before.as_ref().map_or_else(|| "(not set)".to_owned(), |value| render_value(value, 10));
            let after =
                attribute.after.as_ref().map_or_else(|| "(not set)".to_owned(), |value| render_value(value, 10));
            let _ = writeln!(out, "        {} = {before} -> {after}", attribute.path);
        }
        for disruption in &change.disruption {
            let _ = writeln!(out, "        disruption: {disruption}");
        }
    }
    let _ = writeln!(out, "File impact: {}.", plan.summary());
    out
}

/// Renders a unified diff of a file's text before and after an edit, with `a/` and `b/` headers.
pub fn render_file_diff(path: &str, before: &str, after: &str) -> String {
    similar::TextDiff::from_lines(before, after)
        .unified_diff()
        .context_radius(3)
        .header(&format!("a/{path}"), &format!("b/{path}"))
        .to_string()
}
