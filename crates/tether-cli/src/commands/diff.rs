//! `tether diff`: compare two environment files setting by setting.

use std::fmt::Write as _;
use std::path::Path;
use std::process::ExitCode;

use tether_config::Difference;

use crate::args::DiffArgs;
use crate::environment;
use crate::exit::Failure;

pub fn run(args: &DiffArgs) -> Result<ExitCode, Failure> {
    let from = environment::load(&args.from)?;
    let to = environment::load(&args.to)?;

    let differences = tether_config::compare(&from.checked.environment, &to.checked.environment);
    print!("{}", render_differences(&differences, &args.from, &args.to));
    Ok(ExitCode::SUCCESS)
}

/// Renders the differences in two groups: promotable first, then per-environment.
fn render_differences(differences: &[Difference], from: &Path, to: &Path) -> String {
    let (promotable, per_environment): (Vec<&Difference>, Vec<&Difference>) =
        differences.iter().partition(|difference| difference.is_promotable());
    let (from, to) = (from.display().to_string(), to.display().to_string());
    let mut out = String::new();

    let _ = writeln!(out, "Promotable differences ({}; `tether promote` copies these):", promotable.len());
    if promotable.is_empty() {
        out.push_str("  none\n");
    }
    for difference in &promotable {
        write_difference(&mut out, difference, &from, &to);
    }
    let _ = writeln!(
        out,
        "\nPer-environment differences ({}; for information only, never promoted):",
        per_environment.len()
    );
    if per_environment.is_empty() {
        out.push_str("  none\n");
    }
    for difference in &per_environment {
        write_difference(&mut out, difference, &from, &to);
    }
    out
}

fn write_difference(out: &mut String, difference: &Difference, from: &str, to: &str) {
    let width = from.len().max(to.len()) + 1;
    let _ = writeln!(out, "  {}", difference.path);
    let _ = writeln!(out, "    {:<width$} {}", format!("{from}:"), render_setting(difference.from.as_ref()));
    let _ = writeln!(out, "    {:<width$} {}", format!("{to}:"), render_setting(difference.to.as_ref()));
}

/// Renders a setting's value as compact JSON, or `(not set)` when the file leaves it out.
pub(super) fn render_setting(value: Option<&serde_json::Value>) -> String {
    value.map_or_else(|| "(not set)".to_owned(), serde_json::Value::to_string)
}
