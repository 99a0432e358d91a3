//! `tether schema`: print the JSON Schema of environment files.

use std::process::ExitCode;

use crate::exit::Failure;

pub fn run() -> Result<ExitCode, Failure> {
    print!("{}", tether_config::schema_json());
    Ok(ExitCode::SUCCESS)
}
