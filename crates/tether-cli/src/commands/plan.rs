//! `tether plan`: observe, compare and print what apply would change.

use std::process::ExitCode;

use crate::args::EnvironmentArgs;
use crate::environment::Session;
use crate::exit::Failure;

pub async fn run(args: &EnvironmentArgs) -> Result<ExitCode, Failure> {
    let session = Session::open(args).await?;
    let plan = session.plan().await?;
    print!("{}", tether_render::render_plan(&plan));
    Ok(ExitCode::SUCCESS)
}
