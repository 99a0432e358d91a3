//! One module per subcommand.

mod apply;
mod comment;
mod cost;
mod destroy;
mod diff;
mod drift;
mod force_unlock;
mod graph;
mod history;
mod import;
mod output;
mod plan;
mod promote;
mod schema;
mod show;
mod state;
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
        Command::Destroy(args) => destroy::run(&args).await,
        Command::Show(args) if args.output.format.is_some() => output::show(&args),
        Command::Show(args) => show::run(&args),
        Command::Graph(args) => graph::run(&args),
        Command::Cost(args) => cost::run(&args),
        Command::Diff(args) => diff::run(&args),
        Command::Drift(args) => drift::run(&args).await,
        Command::Promote(args) => promote::run(&args),
        Command::Schema => schema::run(),
        Command::ForceUnlock(args) => force_unlock::run(&args).await,
        Command::History(args) => history::run(&args).await,
        Command::Import(args) => import::run(&args).await,
        Command::State(command) => state::run(&command).await,
        Command::Comment(command) => comment::run(&command).await,
    }
}
