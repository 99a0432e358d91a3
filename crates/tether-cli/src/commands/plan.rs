//! `tether plan`: observe, compare and print what apply would change, optionally saving the plan.

use std::process::ExitCode;

use anyhow::Context as _;
use tether_model::Plan;
use tether_plan::SavedPlan;

use crate::args::PlanArgs;
use crate::environment::Session;
use crate::exit::Failure;

/// Exit code of `--detailed-exitcode` when the plan has changes.
const CHANGES_PRESENT: u8 = 2;

pub async fn run(args: &PlanArgs) -> Result<ExitCode, Failure> {
    let session = Session::open(&args.environment).await?;
    let plan = session.plan().await?;
    crate::commands::output::print_plan_as(&plan, args.json, &args.output)?;

    if let Some(out) = &args.out {
        let environment_file = std::path::absolute(&args.environment.file)
            .with_context(|| format!("cannot resolve the path {}", args.environment.file.display()))?;
        SavedPlan::new(environment_file, plan.clone()).write(out).map_err(anyhow::Error::from)?;
        eprintln!("Saved the plan to {0}. Apply exactly this plan with `tether apply {0}`.", out.display());
    }

    if args.detailed_exitcode && plan.has_changes() {
        return Ok(ExitCode::from(CHANGES_PRESENT));
    }
    Ok(ExitCode::SUCCESS)
}

/// Prints a plan to stdout, as text or in its versioned JSON form.
pub(crate) fn print_plan(plan: &Plan, json: bool) {
    if json {
        let mut document = tether_render::plan_json(plan);
        crate::estimates::add_to_plan_json(&mut document, plan);
        // Serializing a `serde_json::Value` cannot fail.
        println!("{}", serde_json::to_string_pretty(&document).unwrap_or_default());
    } else {
        print!("{}", tether_render::render_plan(plan));
        print!("{}", crate::estimates::plan_epilogue(plan));
    }
}
