//! `tether graph`: print the dependency graph in Graphviz DOT.

use std::process::ExitCode;

use crate::args::FileArgs;
use crate::environment;
use crate::exit::Failure;

pub fn run(args: &FileArgs) -> Result<ExitCode, Failure> {
    let loaded = environment::load(&args.file)?;
    print!("{}", loaded.desired.to_dot());
    Ok(ExitCode::SUCCESS)
}
