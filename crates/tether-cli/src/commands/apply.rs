//! `tether apply`: plan, confirm, and apply in dependency order; or apply a saved plan file.

use std::process::ExitCode;

use anyhow::{Context as _, anyhow};
use tether_engine::{ApplyOptions, ApplyReport, Interrupt, Stop};
use tether_model::Plan;
use tether_plan::SavedPlan;

use crate::args::{ApplyArgs, EnvironmentArgs};
use crate::confirm::confirm_apply;
use crate::environment::Session;
use crate::exit::Failure;
use crate::signals::{Received, SignalWatch};
use crate::commands::plan::print_plan;
use crate::progress::{Progress, error_chain};

/// Maximum wait for the history record after a second signal.
const ABANDON_GRACE: std::time::Duration = std::time::Duration::from_secs(3);

pub async fn run(args: &ApplyArgs) -> Result<ExitCode, Failure> {
    if let Some(saved) = read_plan_file(&args.environment)? {
        return apply_saved(args, saved).await;
    }

    let session = Session::open_locked(&args.environment, "apply", args.lock_timeout).await?;
    let plan = session.plan().await?;
    print_apply_plan(&plan, args.json);
    if !plan.has_changes() {
        return record_adopted(&session, &plan).await;
    }
    if !args.auto_approve && !confirm_apply(session.name())? {
        eprintln!("Apply cancelled; nothing was changed.");
        return Ok(ExitCode::FAILURE);
    }
    execute(&session, &plan, &Execution::apply(args)).await
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

    print_apply_plan(&fresh, args.json);
    if !fresh.has_changes() {
        return record_adopted(&session, &fresh).await;
    }
    execute(&session, &fresh, &Execution::apply(args)).await
}

/// Records in the state the resources that a plan without changes found by their ownership marks
/// but the state lacks, e.g. those created by a run that was killed before it recorded them.
/// Otherwise `drift` would report them as unmanaged until the next change.
async fn record_adopted(session: &Session, plan: &Plan) -> Result<ExitCode, Failure> {
    let unrecorded = plan
        .changes
        .iter()
        .filter(|change| change.id.is_some() && !session.state.resources.contains_key(&change.address))
        .count();
    if unrecorded == 0 {
        return Ok(ExitCode::SUCCESS);
    }

    // With no change to make, the walk only records what the plan observed.
    let options = ApplyOptions::default();
    let providers = &session.providers;
    let store = session.store.as_ref();
    tether_engine::apply(plan, providers, store, session.state.clone(), options, &tether_engine::NoProgress)
        .await
        .context("cannot record the adopted resources in the state")?;
    eprintln!("Recorded {unrecorded} existing resources that carry the environment's marks in the state.");
    Ok(ExitCode::SUCCESS)
}

/// Prints the plan as text, or with `--json` as the first line of the event stream.
fn print_apply_plan(plan: &Plan, json: bool) {
    if json {
        crate::progress::print_plan_event(plan);
    } else {
        print_plan(plan, false);
    }
}

/// The settings in which `tether apply` and `tether drift --fix` differ when they apply a plan.
pub(crate) struct Execution {
    /// The word that starts the outcome lines, e.g. `Apply` in "Apply complete: ...".
    pub verb: &'static str,
    /// Maximum number of changes in flight.
    pub parallelism: usize,
    /// With `--wait`, how long to wait for the hosted cluster before its changes and for
    /// readiness after the apply.
    pub wait: Option<std::time::Duration>,
    /// With `--json`, stdout carries only the JSON events.
    pub json: bool,
    /// The exit code when every change succeeded.
    pub success: ExitCode,
}

impl Execution {
    /// Returns the execution that `tether apply` runs with `args`.
    fn apply(args: &ApplyArgs) -> Execution {
        Execution {
            verb: "Apply",
            parallelism: usize::from(args.parallelism),
            wait: args.wait.then_some(args.timeout),
            json: args.json,
            success: ExitCode::SUCCESS,
        }
    }
}

/// Applies `plan`: the history record first, the state saved after each change, Ctrl-C letting
/// the changes in flight finish, and every failure listed at the end.
///
/// # Errors
/// Fails when the history record cannot start, the state cannot be saved, or a change fails.
pub(crate) async fn execute(session: &Session, plan: &Plan, execution: &Execution) -> Result<ExitCode, Failure> {
    let interrupt = Interrupt::default();
    let signals = SignalWatch::install(interrupt.clone()).context("cannot listen for Ctrl-C and SIGTERM")?;
    let mut options =
        ApplyOptions { parallelism: execution.parallelism, interrupt: interrupt.clone(), ..ApplyOptions::default() };
    if let Some(timeout) = execution.wait {
        // Hosted-cluster changes first wait up to the timeout for the HostedCluster to become
        // Available; without `--wait` they fail at once, naming what they wait on.
        session.hosted.wait_for_cluster(Some(timeout));
        options.operation_timeout = options.operation_timeout.max(timeout + std::time::Duration::from_secs(60));
    }
    let audit = crate::audit::start(session, plan).await?;
    let progress = Progress::start(plan, execution.json);
    let outcome = tether_engine::apply(
        plan,
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
    if report.interrupted == Stop::Abandon {
        // A second signal asks to stop now, so an API server that hangs must not hold the exit up
        // for its timeouts and retries. The record then stays unfinished, which shows the interruption.
        let finishing = crate::audit::finish(session, audit, &report);
        if tokio::time::timeout(ABANDON_GRACE, finishing).await.is_err() {
            eprintln!("warning: the history record of this apply stays unfinished");
        }
    } else {
        crate::audit::finish(session, audit, &report).await;
    }
    if let Some(received) = signals.received() {
        return Ok(report_interrupted(execution.verb, &report, received));
    }

    let applied = report.applied_summary();
    let summary = format!(
        "{} added, {} changed, {} destroyed; {} failed, {} skipped",
        applied.add,
        applied.change,
        applied.destroy,
        report.failed.len(),
        report.skipped.len()
    );
    let verb = execution.verb;
    if report.succeeded() {
        // With `--json`, stdout holds only the JSON events.
        if execution.json {
            eprintln!("\n{verb} complete: {summary}.");
        } else {
            println!("\n{verb} complete: {summary}.");
        }
        if let Some(timeout) = execution.wait {
            tokio::select! {
                waited = crate::readiness::wait(session, timeout) => waited?,
                () = interrupt.reached(Stop::Drain) => {
                    eprintln!("Stopped waiting for readiness; every change is applied.");
                    let received = signals.received().unwrap_or(Received::Interrupt);
                    return Ok(ExitCode::from(received.exit_code()));
                }
            }
        }
        return Ok(execution.success);
    }
    eprintln!("\n{verb} failed: {summary}. State records every change that finished.");
    for failure in &report.failed {
        eprintln!("  {}: {}", failure.address, error_chain(&failure.cause));
    }
    let first = &report.failed.first().map_or_else(String::new, |failure| failure.address.to_string());
    let operation = verb.to_lowercase();
    Err(Failure::Error(anyhow!("{operation} of environment `{}` failed at {first}", session.name())))
}

/// Lists each change of an interrupted run on stderr: done, failed, skipped, not started, and
/// abandoned while in flight. `apply`, `drift --fix` and `destroy` share it.
pub(crate) fn list_interrupted_changes(report: &ApplyReport) {
    for (address, action) in &report.applied {
        eprintln!("  done: {action} {address}");
    }
    for failure in &report.failed {
        eprintln!("  failed: {} {}: {}", failure.action, failure.address, error_chain(&failure.cause));
    }
    for (address, action, because) in &report.skipped {
        eprintln!("  skipped: {action} {address} (because {because} failed)");
    }
    for (address, action) in &report.not_started {
        eprintln!("  not started: {action} {address}");
    }
    for (address, action) in &report.abandoned {
        eprintln!("  abandoned while in flight, outcome unknown: {action} {address}");
    }
}

/// Prints what an interrupted apply did and did not do, and returns the signal's exit code.
fn report_interrupted(verb: &str, report: &ApplyReport, received: Received) -> ExitCode {
    let applied = report.applied_summary();
    eprintln!(
        "\n{verb} interrupted by {}: {} added, {} changed, {} destroyed; {} failed, {} skipped, {} not started, {} abandoned. State records every change that finished.",
        received.name(),
        applied.add,
        applied.change,
        applied.destroy,
        report.failed.len(),
        report.skipped.len(),
        report.not_started.len(),
        report.abandoned.len(),
    );
    list_interrupted_changes(report);
    if report.interrupted == Stop::Abandon || !report.not_started.is_empty() || !report.failed.is_empty() {
        eprintln!("Run `tether plan` to see what is left, then `tether apply` to finish.");
    }
    ExitCode::from(received.exit_code())
}
