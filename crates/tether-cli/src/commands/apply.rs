//! `tether apply`: plan, confirm, and apply in dependency order.

use std::process::ExitCode;

use anyhow::{Context as _, anyhow};
use tether_engine::ApplyOptions;

use crate::args::ApplyArgs;
use crate::confirm::confirm_apply;
use crate::environment::Session;
use crate::exit::Failure;
use crate::progress::{ProgressLines, error_chain};

pub async fn run(args: &ApplyArgs) -> Result<ExitCode, Failure> {
    let session = Session::open(&args.environment).await?;
    let plan = session.plan().await?;
    print!("{}", tether_render::render_plan(&plan));
    if !plan.has_changes() {
        return Ok(ExitCode::SUCCESS);
    }
    if !args.auto_approve && !confirm_apply(session.name())? {
        eprintln!("Apply cancelled; nothing was changed.");
        return Ok(ExitCode::FAILURE);
    }

    let options = ApplyOptions { parallelism: usize::from(args.parallelism), ..ApplyOptions::default() };
    let (report, _state) = tether_engine::apply(
        &plan,
        &session.providers,
        &session.store,
        session.state.clone(),
        options,
        &ProgressLines::new(),
    )
    .await
    .context("cannot record progress in the state; what finished before this is recorded")?;

    let summary =
        format!("{} changed, {} failed, {} skipped", report.applied.len(), report.failed.len(), report.skipped.len());
    if report.succeeded() {
        println!("\nApply complete: {summary}.");
        return Ok(ExitCode::SUCCESS);
    }
    eprintln!("\nApply failed: {summary}. State records every change that finished.");
    for failure in &report.failed {
        eprintln!("  {}: {}", failure.address, error_chain(&failure.cause));
    }
    let first = &report.failed.first().map_or_else(String::new, |failure| failure.address.to_string());
    Err(Failure::Error(anyhow!("apply of environment `{}` failed at {first}", session.name())))
}
