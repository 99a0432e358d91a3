//! `tether state migrate`: copy the state between backends under both backends' locks.

use std::process::ExitCode;

use anyhow::{Context as _, anyhow};
use tether_model::State;

use crate::args::{MigrateArgs, StateCommand};
use crate::backend::{self, LockGuard};
use crate::environment::Session;
use crate::exit::Failure;

/// Runs a `state` subcommand.
///
/// # Errors
/// Returns the subcommand's failure.
pub async fn run(command: &StateCommand) -> Result<ExitCode, Failure> {
    match command {
        StateCommand::Migrate(args) => migrate(args).await,
    }
}

/// Copies the state, reads the copy back and compares it; the source stays as it was.
async fn migrate(args: &MigrateArgs) -> Result<ExitCode, Failure> {
    if args.from == args.to {
        return Err(Failure::Error(anyhow!("--from and --to name the same backend; nothing to migrate")));
    }
    let session = Session::connect(&args.environment).await?;
    let checked = &session.environment.checked;
    let name = session.name().to_owned();
    let source = backend::open_store(args.from.into(), &args.environment, checked, &session.kube);
    let target = backend::open_store(args.to.into(), &args.environment, checked, &session.kube);
    let (from, to) = (source.describe(), target.describe());

    let _source_lock = LockGuard::acquire(source.as_ref(), "state migrate", std::time::Duration::ZERO).await?;
    let _target_lock = LockGuard::acquire(target.as_ref(), "state migrate", std::time::Duration::ZERO).await?;
    let state = source
        .load(&name)
        .await
        .with_context(|| format!("cannot read the state in {from}"))?
        .ok_or_else(|| anyhow!("{from} has no state for environment `{name}`, so there is nothing to migrate"))?;
    check_target_is_empty(target.load(&name).await.with_context(|| format!("cannot read the state in {to}"))?, &to)?;

    target.save(&state).await.with_context(|| format!("cannot write the state to {to}"))?;
    let copy = target.load(&name).await.with_context(|| format!("cannot read back the state in {to}"))?;
    if copy.as_ref() != Some(&state) {
        return Err(Failure::Error(anyhow!("the state read back from {to} differs from {from}; keep using {from}")));
    }

    println!(
        "Copied the state of `{name}` (serial {}, {} resources) from {from} to {to}.",
        state.serial,
        state.resources.len()
    );
    println!("The copy was read back and matches. {from} is unchanged; keep it as a backup or remove it.");
    if !matches!(args.environment.state_backend, Some(choice) if choice == args.to) {
        let backend = match args.to {
            backend::BackendChoice::Local => "local",
            backend::BackendChoice::Kubernetes => "kubernetes",
        };
        println!(
            "Set `[state] backend = \"{backend}\"` in {} so that plan and apply use it.",
            args.environment.file.display()
        );
    }
    Ok(ExitCode::SUCCESS)
}

/// Refuses to overwrite a target that already records resources.
fn check_target_is_empty(target: Option<State>, location: &str) -> Result<(), Failure> {
    match target {
        Some(state) if !state.resources.is_empty() => Err(Failure::Error(anyhow!(
            "{location} already has state for `{}` with {} resources (serial {}); it was not overwritten",
            state.environment,
            state.resources.len(),
            state.serial
        ))),
        _ => Ok(()),
    }
}
