//! `tether validate`: check an environment file.

use std::process::ExitCode;

use crate::args::FileArgs;
use crate::environment;
use crate::exit::Failure;

pub fn run(args: &FileArgs) -> Result<ExitCode, Failure> {
    let loaded = environment::load(&args.file)?;
    let name = &loaded.checked.environment.name;
    println!("{} is valid: environment `{name}`, {} resources.", args.file.display(), loaded.desired.len());
    Ok(ExitCode::SUCCESS)
}
