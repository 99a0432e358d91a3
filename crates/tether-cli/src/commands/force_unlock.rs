//! `tether force-unlock ID FILE`: break a state lock that a crashed or stuck run left behind.

use std::process::ExitCode;

use anyhow::Context as _;

use crate::args::ForceUnlockArgs;
use crate::environment::Session;
use crate::exit::Failure;

/// Breaks the lock and prints whose run held it and what that risks.
///
/// # Errors
/// Fails when the state is not locked, is locked under another id, or the backend refuses.
pub async fn run(args: &ForceUnlockArgs) -> Result<ExitCode, Failure> {
    let session = Session::connect(&args.environment).await?;
    let location = session.store.describe();
    let broken = session
        .store
        .force_unlock(&args.id)
        .await
        .with_context(|| format!("cannot break the state lock {} of {location}", args.id))?;

    println!("Broke the state lock {} of {location}.", broken.id);
    println!("It was held by {} for `{}` since {}.", broken.holder, broken.operation, broken.created);
    println!(
        "If that run is still going, it can no longer renew the lock and stops at its next state write, \
         but a change it has in flight may finish unrecorded. Run `tether plan {}` to see what it left; \
         the next apply adopts resources it created by their tags and labels.",
        args.environment.file.display()
    );
    Ok(ExitCode::SUCCESS)
}
