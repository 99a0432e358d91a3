//! `tether destroy`: plan the deletion of everything tether owns in the environment, check that
//! nothing foreign is in the way, confirm, and delete in reverse dependency order.

use std::collections::BTreeSet;
use std::io::{BufRead as _, IsTerminal as _, Write as _};
use std::process::ExitCode;

use anyhow::{Context as _, anyhow, bail};
use tether_aws::{AwsProvider, VpcBlocker};
use tether_engine::{ApplyOptions, ApplyReport, Interrupt};
use tether_model::{Address, Plan, ProviderId};
use tether_plan::{DestroyInput, DestroyPlan};

use crate::args::DestroyArgs;
use crate::commands::plan::print_plan;
use crate::environment::Session;
use crate::exit::Failure;
use crate::progress::{ProgressLines, error_chain};
use crate::signals::{Received, SignalWatch};

pub async fn run(args: &DestroyArgs) -> Result<ExitCode, Failure> {
    let session = Session::open_locked(&args.environment, "destroy", args.lock_timeout).await?;
    let destroy = plan(&session).await?;
    print_plan(&destroy.plan, args.json);
    for namespace in &destroy.kept_for_history {
        eprintln!(
            "Keeping {namespace}: it holds tether's history of this environment (and its state with the \
             kubernetes backend). Delete it with `kubectl delete namespace {}` once you no longer need them.",
            namespace.name()
        );
    }
    if !destroy.plan.has_changes() {
        eprintln!("Nothing to destroy: no resource of environment `{}` carries tether's marks.", session.name());
        return Ok(ExitCode::SUCCESS);
    }

    reject_protected(&destroy, args.allow_destroy_cluster)?;
    reject_vpc_blockers(&session, &destroy.plan).await?;
    if !args.auto_approve && !confirm_destroy(session.name())? {
        eprintln!("Destroy cancelled; nothing was changed.");
        return Ok(ExitCode::FAILURE);
    }
    execute(args, &session, &destroy.plan).await
}

/// Observes what tether owns and plans a delete of each.
async fn plan(session: &Session) -> anyhow::Result<DestroyPlan> {
    let observed = session.observe().await?;
    let input = DestroyInput {
        environment: session.name(),
        desired: &session.environment.desired,
        observed: &observed,
        state: &session.state,
    };
    tether_plan::plan_destroy(&input).context("cannot plan the destroy")
}

/// Refuses a destroy that would delete the HostedCluster or a NodePool without the flag.
fn reject_protected(destroy: &DestroyPlan, allowed: bool) -> anyhow::Result<()> {
    if allowed || destroy.protected.is_empty() {
        return Ok(());
    }
    let names: Vec<String> = destroy.protected.iter().map(Address::to_string).collect();
    bail!(
        "destroy would delete {}, which removes the hosted control plane or its worker nodes, so nothing was \
         changed; run again with --allow-destroy-cluster to delete them too",
        names.join(", ")
    )
}

/// Fails, naming them, when a VPC to delete holds objects that tether does not own (HyperShift's
/// load balancers, security groups or workers, or anything made by hand), because DeleteVpc
/// would fail on them with `DependencyViolation` after everything else was gone.
async fn reject_vpc_blockers(session: &Session, plan: &Plan) -> anyhow::Result<()> {
    let vpc_ids: Vec<&str> = plan
        .changes
        .iter()
        .filter(|change| change.address.provider() == ProviderId::Aws && change.address.kind() == "vpc")
        .filter_map(|change| change.id.as_deref())
        .collect();
    if vpc_ids.is_empty() {
        return Ok(());
    }
    let aws: &AwsProvider = &session.aws;
    let owned: BTreeSet<String> = plan
        .changes
        .iter()
        .filter(|change| change.address.provider() == ProviderId::Aws)
        .filter_map(|change| change.id.clone())
        .collect();

    let mut report = Vec::new();
    for vpc_id in vpc_ids {
        let blockers = aws
            .find_vpc_blockers(vpc_id, &owned)
            .await
            .with_context(|| format!("cannot list what VPC {vpc_id} contains"))?;
        report.extend(blockers.iter().map(|blocker: &VpcBlocker| format!("\n  {vpc_id}: {blocker}")));
    }
    if report.is_empty() {
        return Ok(());
    }
    Err(anyhow!(
        "the VPC holds objects that tether did not create and does not delete, so the VPC could not be deleted \
         and nothing was changed:{}\nDelete the hosted cluster's services and node pools first (HyperShift then \
         removes its load balancers, security groups and workers), or delete these objects by hand, then run \
         destroy again",
        report.concat()
    ))
}

/// Returns whether the user typed `yes`. Without a terminal on stdin, destroy cannot ask.
fn confirm_destroy(environment: &str) -> anyhow::Result<bool> {
    let stdin = std::io::stdin();
    if !stdin.is_terminal() {
        bail!(
            "cannot ask for confirmation: stdin is not a terminal; review the plan and run again with --auto-approve"
        );
    }
    eprint!(
        "\nDestroy every resource above in environment `{environment}`? This cannot be undone. Only `yes` is \
         accepted.\n  Enter a value: "
    );
    std::io::stderr().flush().context("cannot write the prompt")?;
    let mut answer = String::new();
    stdin.lock().read_line(&mut answer).context("cannot read the confirmation from stdin")?;
    Ok(answer.trim() == "yes")
}

/// Deletes in reverse dependency order. The first SIGINT or SIGTERM lets the deletes in flight
/// finish and starts no new one; a second stops at once. Either way the state records every
/// delete that finished, and the lock is released when the session is dropped. The history
/// records the destroy before the first delete and its counts and outcome at the end.
async fn execute(args: &DestroyArgs, session: &Session, plan: &Plan) -> Result<ExitCode, Failure> {
    let interrupt = Interrupt::default();
    let signals = SignalWatch::install(interrupt.clone()).context("cannot listen for Ctrl-C and SIGTERM")?;
    let options = ApplyOptions { parallelism: usize::from(args.parallelism), interrupt, ..ApplyOptions::default() };
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
    crate::audit::finish_in_time(session, audit, &report).await;
    if let Some(received) = signals.received() {
        return Ok(report_interrupted(&report, received));
    }

    let applied = report.applied_summary();
    let summary =
        format!("{} destroyed; {} failed, {} skipped", applied.destroy, report.failed.len(), report.skipped.len());
    if report.succeeded() {
        if args.json {
            eprintln!("\nDestroy complete: {summary}.");
        } else {
            println!("\nDestroy complete: {summary}.");
        }
        return Ok(ExitCode::SUCCESS);
    }
    eprintln!("\nDestroy failed: {summary}. State records every delete that finished.");
    for failure in &report.failed {
        eprintln!("  {}: {}", failure.address, error_chain(&failure.cause));
    }
    let first = report.failed.first().map_or_else(String::new, |failure| failure.address.to_string());
    Err(Failure::Error(anyhow!("destroy of environment `{}` failed at {first}", session.name())))
}

/// Prints which deletes an interrupted destroy finished, which failed, which never started and
/// which it stopped waiting for, and returns the signal's exit code (130 or 143).
fn report_interrupted(report: &ApplyReport, received: Received) -> ExitCode {
    eprintln!(
        "\nDestroy interrupted by {}: {} destroyed; {} failed, {} skipped, {} not started, {} abandoned. State \
         records every delete that finished.",
        received.name(),
        report.applied_summary().destroy,
        report.failed.len(),
        report.skipped.len(),
        report.not_started.len(),
        report.abandoned.len(),
    );
    super::apply::list_interrupted_changes(report);
    if !report.succeeded() {
        eprintln!("Run `tether destroy` again to delete what is left.");
    }
    ExitCode::from(received.exit_code())
}
