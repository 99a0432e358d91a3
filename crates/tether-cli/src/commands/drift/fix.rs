//! `tether drift FILE --fix`: report the drift, show the plan that puts the drifted resources back,
//! and apply it under the state lock through `tether apply`'s execution, recorded in the history
//! as an apply.

use std::process::ExitCode;

use anyhow::{Context as _, anyhow};
use tether_engine::ApplyOptions;
use tether_plan::{DriftInput, FixPlan, PlanInput, classify_drift, fix_plan};

use crate::args::{DriftArgs, DriftFormat};
use crate::commands::apply::Execution;
use crate::environment::Session;
use crate::exit::Failure;

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

/// Applies the fix as `tether apply` applies a plan. Success leaves exit code 2 when unmanaged
/// resources remain.
async fn execute(session: &Session, fix: &FixPlan) -> Result<ExitCode, Failure> {
    let execution = Execution {
        verb: "Fix",
        parallelism: ApplyOptions::default().parallelism,
        wait: None,
        json: false,
        success: remaining(fix),
    };
    crate::commands::apply::execute(session, &fix.plan, &execution).await
}
