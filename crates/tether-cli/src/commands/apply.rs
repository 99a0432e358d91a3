//! `tether apply`: plan, confirm, and apply in dependency order; or apply a saved plan file.

use std::process::ExitCode;

use anyhow::{Context as _, anyhow};
use tether_engine::ApplyOptions;
use tether_model::Plan;
use tether_plan::SavedPlan;

use crate::args::{ApplyArgs, EnvironmentArgs};
use crate::commands::plan::print_plan;
use crate::confirm::confirm_apply;
use crate::environment::Session;
use crate::exit::Failure;
use crate::progress::{ProgressLines, error_chain};

pub async fn run(args: &ApplyArgs) -> Result<ExitCode, Failure> {
    if let Some(saved) = read_plan_file(&args.environment)? {
        return apply_saved(args, saved).await;
    }

    let session = Session::open_locked(&args.environment, "apply", args.lock_timeout).await?;
    let plan = session.plan().await?;
    print_plan(&plan, args.json);
    if !plan.has_changes() {
        return Ok(ExitCode::SUCCESS);
    }
    if !args.auto_approve && !confirm_apply(session.name())? {
        eprintln!("Apply cancelled; nothing was changed.");
        return Ok(ExitCode::FAILURE);
    }
    execute(args, &session, &plan).await
}

/// Reads FILE as a plan file when it starts like one; `None` for an environment file.
fn read_plan_file(args: &EnvironmentArgs) -> Result<Option<SavedPlan>, Failure> {
    let bytes = std::fs::read(&args.file).with_context(|| format!("cannot read {}", args.file.display()))?;
    if !SavedPlan::is_plan_file(&bytes) {
        return Ok(None);
    }
    Ok(Some(SavedPlan::read(&args.file).map_err(anyhow::Error::from)?))
}

/// Applies a saved plan without asking, as Terraform does, but only when a fresh plan from the
/// same environment file equals it. The fresh plan carries the secrets' plaintext, which the
/// plan file never contains.
async fn apply_saved(args: &ApplyArgs, saved: SavedPlan) -> Result<ExitCode, Failure> {
    let plan_file = args.environment.file.display().to_string();
    eprintln!("Applying the plan file {plan_file}, made from {}.", saved.environment_file.display());
    let environment = EnvironmentArgs {
        file: saved.environment_file.clone(),
        state: args.environment.state.clone(),
        kubeconfig: args.environment.kubeconfig.clone(),
        context: args.environment.context.clone(),
        state_backend: args.environment.state_backend,
    };
    let session = Session::open_locked(&environment, "apply", args.lock_timeout).await?;
    let fresh = session.plan().await?;
    if fresh != saved.plan {
        eprintln!("The plan file {plan_file} no longer matches the environment, its state or what is running:");
        eprint!("{}", tether_render::render_plan_difference(&saved.plan, &fresh));
        return Err(Failure::Error(anyhow!(
            "the plan file {plan_file} is stale, so nothing was changed; run `tether plan -out {plan_file}` again and review the new plan"
        )));
    }

    print_plan(&fresh, args.json);
    if !fresh.has_changes() {
        return Ok(ExitCode::SUCCESS);
    }
    execute(args, &session, &fresh).await
}

async fn execute(args: &ApplyArgs, session: &Session, plan: &Plan) -> Result<ExitCode, Failure> {
    let options = ApplyOptions { parallelism: usize::from(args.parallelism), ..ApplyOptions::default() };
    let audit = crate::audit::start(session, plan).await?;
    let (report, _state) = tether_engine::apply(
        plan,
        &session.providers,
        session.store.as_ref(),
        session.state.clone(),
        options,
        &ProgressLines::new(),
    )
    .await
    .context("cannot record progress in the state; what finished before this is recorded")?;
    crate::audit::finish(session, audit, &report).await;

    let applied = report.applied_summary();
    let summary = format!(
        "{} added, {} changed, {} destroyed; {} failed, {} skipped",
        applied.add,
        applied.change,
        applied.destroy,
        report.failed.len(),
        report.skipped.len()
    );
    if report.succeeded() {
        // With `--json`, stdout holds only the JSON plan.
        if args.json {
            eprintln!("\nApply complete: {summary}.");
        } else {
            println!("\nApply complete: {summary}.");
        }
        if args.wait {
            crate::readiness::wait(session, args.timeout).await?;
        }
        return Ok(ExitCode::SUCCESS);
    }
    eprintln!("\nApply failed: {summary}. State records every change that finished.");
    for failure in &report.failed {
        eprintln!("  {}: {}", failure.address, error_chain(&failure.cause));
    }
    let first = &report.failed.first().map_or_else(String::new, |failure| failure.address.to_string());
    Err(Failure::Error(anyhow!("apply of environment `{}` failed at {first}", session.name())))
}
