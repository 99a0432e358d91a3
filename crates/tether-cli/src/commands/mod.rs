//! One module per subcommand.

mod apply;
mod comment;
mod cost;
mod diff;
mod graph;
mod output;
mod plan;
mod promote;
mod schema;
mod show;
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
        Command::Show(args) if args.output.format.is_some() => output::show(&args),
        Command::Show(args) => show::run(&args),
        Command::Graph(args) => graph::run(&args),
        Command::Cost(args) => cost::run(&args),
        Command::Diff(args) => diff::run(&args),
        Command::Promote(args) => promote::run(&args),
        Command::Schema => schema::run(),
        Command::Comment(command) => comment::run(&command).await,
    }
}
