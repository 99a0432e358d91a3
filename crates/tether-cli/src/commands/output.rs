//! Printing a plan in the form `--format` names, and the Markdown forms that `plan`, `show` and
//! `comment` share.

use std::path::Path;
use std::process::ExitCode;

use anyhow::{Context as _, bail};
use tether_model::Plan;
use tether_plan::SavedPlan;
use tether_render::{Appendix, FullPlanLocation, GITHUB_COMMENT_MAX_CHARS, MarkdownOptions, render_markdown};

use crate::args::{OutputArgs, OutputFormat, ShowArgs};
use crate::commands::plan::print_plan;
use crate::exit::Failure;

/// Prints a plan in the form `output.format` names, else as text or, with `json`, as JSON.
///
/// # Errors
/// Fails when `--full-output` is given without `--format markdown` or cannot be written.
pub fn print_plan_as(plan: &Plan, json: bool, output: &OutputArgs) -> anyhow::Result<()> {
    let format = output.format.unwrap_or(if json { OutputFormat::Json } else { OutputFormat::Text });
    if format != OutputFormat::Markdown {
        if output.full_output.is_some() {
            bail!("--full-output writes the Markdown form; use it with --format markdown");
        }
        print_plan(plan, format == OutputFormat::Json);
        return Ok(());
    }

    let mut locations = Vec::new();
    if let Some(path) = &output.full_output {
        write_full_markdown(plan, path)?;
        locations.push(FullPlanLocation::File(path.display().to_string()));
    }
    print!("{}", comment_markdown(plan, locations));
    Ok(())
}

/// `tether show FILE --format …`: prints a saved plan in the form `--format` names.
///
/// # Errors
/// Fails when the plan file cannot be read or the output cannot be written.
pub fn show(args: &ShowArgs) -> Result<ExitCode, Failure> {
    let saved = SavedPlan::read(&args.file).map_err(anyhow::Error::from)?;
    print_plan_as(&saved.plan, args.json, &args.output)?;
    Ok(ExitCode::SUCCESS)
}

/// Renders a plan as a comment body within GitHub's size limit, naming where the full plan is.
pub fn comment_markdown(plan: &Plan, full_plan: Vec<FullPlanLocation>) -> String {
    let options =
        MarkdownOptions { max_bytes: Some(GITHUB_COMMENT_MAX_CHARS), full_plan, appendix: Some(epilogue(plan)) };
    render_markdown(plan, &options)
}

/// Renders a plan as Markdown without a size limit.
pub fn full_markdown(plan: &Plan) -> String {
    render_markdown(plan, &MarkdownOptions { appendix: Some(epilogue(plan)), ..MarkdownOptions::default() })
}

/// Builds the appendix of notes, cost estimate and placement summary that follows a plan in the terminal.
fn epilogue(plan: &Plan) -> Appendix {
    let text = crate::estimates::plan_epilogue(plan);
    Appendix { title: "Cost estimate and placement".to_owned(), text: text.trim_start_matches('\n').to_owned() }
}

/// Writes the whole plan as Markdown to `path`, replacing the file.
///
/// # Errors
/// Fails when the file cannot be written.
pub fn write_full_markdown(plan: &Plan, path: &Path) -> anyhow::Result<()> {
    std::fs::write(path, full_markdown(plan))
        .with_context(|| format!("cannot write the full plan to {}", path.display()))
}
