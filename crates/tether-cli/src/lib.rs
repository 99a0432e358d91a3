//! The `tether` command-line tool: argument parsing, logging, error rendering and exit codes.
//! Each subcommand lives in its own module under `commands`.

mod args;
mod audit;
mod backend;
mod commands;
mod confirm;
mod cronjob;
mod drift_notify;
mod drift_render;
mod drift_watch;
mod environment;
mod estimates;
mod exit;
mod github;
mod import_generate;
mod import_match;
mod logging;
mod progress;
mod promotion;
mod readiness;
mod signals;
mod webhook;

use std::process::ExitCode;

use clap::Parser as _;

pub use exit::Failure;

/// Parses the command line, runs the command and turns its outcome into an exit code:
/// 0 on success, 1 on any error, and 2 where a command reports a difference (`plan
/// --detailed-exitcode` with changes, `promote --check` with a lagging target). An apply
/// stopped by SIGINT exits with 130 and one stopped by SIGTERM with 143.
pub fn main() -> ExitCode {
    let args = args::Cli::parse_from(args::accept_single_dash_out(std::env::args_os()));
    logging::init(args.verbose);
    let runtime = match tokio::runtime::Builder::new_multi_thread().enable_all().build() {
        Ok(runtime) => runtime,
        Err(error) => {
            eprintln!("error: cannot start the async runtime: {error}");
            return ExitCode::FAILURE;
        }
    };
    match runtime.block_on(commands::run(args.command)) {
        Ok(code) => code,
        Err(failure) => failure.report(),
    }
}
