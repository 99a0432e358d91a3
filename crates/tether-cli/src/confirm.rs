//! Asking the user to confirm an apply.

use std::io::{BufRead as _, IsTerminal as _, Write as _};

use anyhow::{Context as _, bail};

/// Returns whether the user typed `yes`. Without a terminal on stdin, apply cannot ask, so it
/// refuses unless `--auto-approve` was given.
///
/// # Errors
/// Fails when stdin is not a terminal, or reading it fails.
pub fn confirm_apply(environment: &str) -> anyhow::Result<bool> {
    let stdin = std::io::stdin();
    if !stdin.is_terminal() {
        bail!(
            "cannot ask for confirmation: stdin is not a terminal; review the plan and run again with --auto-approve"
        );
    }
    eprint!("\nApply these changes to environment `{environment}`? Only `yes` is accepted.\n  Enter a value: ");
    std::io::stderr().flush().context("cannot write the prompt")?;
    let mut answer = String::new();
    stdin.lock().read_line(&mut answer).context("cannot read the confirmation from stdin")?;
    Ok(answer.trim() == "yes")
}
