//! The `tether` command-line tool: argument parsing, logging, error rendering and exit codes.
//! Each subcommand lives in its own module under `commands`.

mod args;
mod commands;
mod confirm;
mod environment;
mod exit;
mod logging;
mod progress;

use std::process::ExitCode;

use clap::Parser as _;

pub use exit::Failure;

/// Parses the command line, runs the command and turns its outcome into an exit code:
/// 0 on success, 1 on any error.
pub fn main() -> ExitCode {
    let args = args::Cli::parse();
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
