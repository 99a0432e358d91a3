//! One module per subcommand.

mod apply;
mod graph;
mod plan;
mod schema;
mod validate;

use std::process::ExitCode;

use crate::args::Command;
use crate::exit::Failure;

/// Runs a subcommand.
///
/// # Errors
/// Returns the command's failure, which the caller reports.
pub async fn run(command: Command) -> Result<ExitCode, Failure> {
    match command {
        Command::Validate(args) => validate::run(&args),
        Command::Plan(args) => plan::run(&args).await,
        Command::Apply(args) => apply::run(&args).await,
        Command::Graph(args) => graph::run(&args),
        Command::Schema => schema::run(),
    }
}
