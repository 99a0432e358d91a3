//! `tether drift FILE --fix`: report the drift, show the plan that puts the drifted resources back,
//! and apply it under the state lock, recorded in the history as an apply.

use std::process::ExitCode;

use anyhow::{Context as _, anyhow};
use tether_engine::ApplyOptions;
use tether_plan::{DriftInput, FixPlan, PlanInput, classify_drift, fix_plan};

use crate::args::{DriftArgs, DriftFormat};
use crate::environment::Session;
use crate::exit::Failure;
use crate::progress::{Progress, error_chain};
use crate::signals::SignalWatch;

/// Exit code when drift remains that the fix does not touch (unmanaged resources).
const DRIFT_REMAINS: u8 = 2;

/// Runs `drift --fix`.
///
/// # Errors
/// Fails on an invalid file, a held lock, a failed read, a refused or impossible confirmation, or
/// a failed change.
pub async fn run(args: &DriftArgs) -> Result<ExitCode, Failure> {
    if args.format != DriftFormat::Text {
        return Err(Failure::Error(anyhow!(
            "--format is not supported with --fix, which prints text; remove --format"
        )));
    }
    let session = Session::open_locked(&args.environment, "drift --fix", args.lock_timeout).await?;
    let observed = session.observe().await.context("cannot check for drift")?;
    let ignore = super::ignore_rules(&session);
    let report = classify_drift(&DriftInput {
        environment: session.name(),
        desired: &session.environment.desired,
        observed: &observed,
        state: &session.state,
        ignore: &ignore,
    });
    print!("{}", crate::drift_render::render_text(&report));
    if !report.has_drift() {
        return Ok(ExitCode::SUCCESS);
    }

    let input = PlanInput {
        environment: session.name(),
        desired: &session.environment.desired,
        observed: &observed,
        state: &session.state,
    };
    let full = tether_plan::plan(&input).context("cannot plan")?;
    let fix = fix_plan(&full, &report, &session.state);
    println!("\nThe plan that puts the drifted resources back:\n");
    crate::commands::plan::print_plan(&fix.plan, false);
    print_notes(&fix);
    if !fix.plan.has_changes() {
        println!("\nNothing to put back.");
        return Ok(remaining(&fix));
    }

    if !args.auto_approve && !crate::confirm::confirm_apply(session.name())? {
        eprintln!("Fix cancelled; nothing was changed.");
        return Ok(ExitCode::FAILURE);
    }
    execute(&session, &fix).await
}

/// Says what the fix applies beyond the drift, and what it leaves alone.
fn print_notes(fix: &FixPlan) {
    if !fix.with_pending.is_empty() {
        println!("\nThese drifted resources also have unapplied changes in the file, which the fix applies too:");
        for address in &fix.with_pending {
            println!("  {address}");
        }
    }
    let pending: Vec<_> = fix.left_out.iter().filter(|(address, _)| !fix.not_fixed.contains(address)).collect();
    if !pending.is_empty() {
        println!("\nLeft for `tether apply`: pending changes of resources that did not drift:");
        for (address, action) in pending {
            println!("  {action} {address}");
        }
    }
    if !fix.not_fixed.is_empty() {
        println!(
            "\nLeft alone: resources with this environment's marks that the state has no record of. Delete them, or remove their `tether.dev/environment` mark:"
        );
        for address in &fix.not_fixed {
            println!("  {address}");
        }
    }
}

fn remaining(fix: &FixPlan) -> ExitCode {
    if fix.not_fixed.is_empty() { ExitCode::SUCCESS } else { ExitCode::from(DRIFT_REMAINS) }
}

/// Applies the fix as `tether apply` applies a plan: history record first, the state saved after
/// each change, Ctrl-C letting the changes in flight finish.
// TODO: share one execution path with `commands::apply` instead of following it here.
async fn execute(session: &Session, fix: &FixPlan) -> Result<ExitCode, Failure> {
    let options = ApplyOptions::default();
    let signals = SignalWatch::install(options.interrupt.clone()).context("cannot listen for Ctrl-C and SIGTERM")?;
    let audit = crate::audit::start(session, &fix.plan).await?;
    let progress = Progress::start(&fix.plan, false);
    let outcome = tether_engine::apply(
        &fix.plan,
        &session.providers,
        session.store.as_ref(),
        session.state.clone(),
        options,
        progress.observer(),
    )
    .await;
    progress.finish(outcome.as_ref().ok().map(|(report, _)| report));
    let (report, _state) =
        outcome.context("cannot record progress in the state; what finished before this is recorded")?;
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
    if let Some(received) = signals.received() {
        eprintln!("\nFix interrupted by {}: {summary}. State records every change that finished.", received.name());
        return Ok(ExitCode::from(received.exit_code()));
    }
    if report.succeeded() {
        println!("\nFix complete: {summary}.");
        return Ok(remaining(fix));
    }
    eprintln!("\nFix failed: {summary}. State records every change that finished.");
    for failure in &report.failed {
        eprintln!("  {}: {}", failure.address, error_chain(&failure.cause));
    }
    Err(Failure::Error(anyhow!("the fix of environment `{}` failed", session.name())))
}
