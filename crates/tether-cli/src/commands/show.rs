//! `tether show`: print a plan file saved by `tether plan -out`.

use std::process::ExitCode;

use anyhow::{Context as _, anyhow};
use tether_plan::SavedPlan;

use crate::args::ShowArgs;
use crate::commands::plan::print_plan;
use crate::exit::Failure;

pub fn run(args: &ShowArgs) -> Result<ExitCode, Failure> {
    let bytes = std::fs::read(&args.file).with_context(|| format!("cannot read {}", args.file.display()))?;
    if !SavedPlan::is_plan_file(&bytes) {
        return Err(Failure::Error(anyhow!(
            "{0} is not a plan file; `tether show` prints files saved by `tether plan -out FILE`, and `tether plan {0}` plans an environment file",
            args.file.display()
        )));
    }
    let saved = SavedPlan::read(&args.file).map_err(anyhow::Error::from)?;
    print_plan(&saved.plan, args.json);
    Ok(ExitCode::SUCCESS)
}
