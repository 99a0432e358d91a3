//! `tether cost`: print the estimated cost of an environment file's billed AWS resources, per item.

use std::process::ExitCode;

use crate::args::CostArgs;
use crate::environment;
use crate::exit::Failure;

pub fn run(args: &CostArgs) -> Result<ExitCode, Failure> {
    let loaded = environment::load(&args.file)?;
    let environment = &loaded.checked.environment;
    let estimate = tether_catalog::estimate_desired(&loaded.desired, &environment.aws.region);
    let prices = tether_catalog::price_source();
    if args.json {
        let document = tether_render::estimate_json(&environment.name, &estimate, &prices);
        // Serializing a `serde_json::Value` cannot fail.
        println!("{}", serde_json::to_string_pretty(&document).unwrap_or_default());
    } else {
        print!("{}", tether_render::render_cost_breakdown(&environment.name, &estimate, &prices));
    }
    Ok(ExitCode::SUCCESS)
}
