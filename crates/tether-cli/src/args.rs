//! Command-line arguments.

use std::path::PathBuf;

use clap::{Args, Parser, Subcommand};

/// Plan and apply hybrid OpenShift Hosted Control Planes environments: the control plane on an
/// on-prem management cluster, worker node pools in AWS.
#[derive(Debug, Parser)]
#[command(name = "tether", version, about)]
pub struct Cli {
    /// Log more to stderr: -v for debug, -vv for trace. `RUST_LOG` overrides it.
    #[arg(short, long, action = clap::ArgAction::Count, global = true)]
    pub verbose: u8,

    #[command(subcommand)]
    pub command: Command,
}

/// The subcommands.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Check an environment file and report every problem at once.
    Validate(FileArgs),
    /// Show what apply would change in AWS and on the management cluster.
    Plan(EnvironmentArgs),
    /// Plan, ask for confirmation, and make the changes.
    Apply(ApplyArgs),
    /// Print the environment's resource dependency graph in Graphviz DOT.
    Graph(FileArgs),
    /// Print the JSON Schema of environment files.
    Schema,
}

/// An environment file.
#[derive(Debug, Args)]
pub struct FileArgs {
    /// The environment file (TOML).
    pub file: PathBuf,
}

/// An environment file and how to reach what it describes.
#[derive(Debug, Args)]
pub struct EnvironmentArgs {
    /// The environment file (TOML).
    pub file: PathBuf,

    /// The state file [default: `.tether/<environment>.state.json` beside the environment file].
    #[arg(long, value_name = "FILE")]
    pub state: Option<PathBuf>,

    /// The management cluster's kubeconfig [default: `$KUBECONFIG`, then `~/.kube/config`].
    #[arg(long, value_name = "FILE")]
    pub kubeconfig: Option<PathBuf>,

    /// The kubeconfig context to use [default: the current context].
    #[arg(long, value_name = "NAME")]
    pub context: Option<String>,
}

/// Arguments of `apply`.
#[derive(Debug, Args)]
pub struct ApplyArgs {
    #[command(flatten)]
    pub environment: EnvironmentArgs,

    /// Apply without asking for confirmation. Without a terminal, apply refuses unless this is set.
    #[arg(long)]
    pub auto_approve: bool,

    /// Maximum number of changes in flight at once.
    #[arg(long, default_value_t = 10, value_parser = clap::value_parser!(u16).range(1..=256))]
    pub parallelism: u16,
}
