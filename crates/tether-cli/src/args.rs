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
    Plan(PlanArgs),
    /// Plan, ask for confirmation, and make the changes. FILE may also be a plan file saved by
    /// `tether plan -out`, which is applied only if nothing changed since it was made.
    Apply(ApplyArgs),
    /// Plan the deletion of everything tether owns in the environment (found by its tags, labels
    /// and state, also resources no longer in the file), ask for confirmation, and delete it in
    /// reverse dependency order. The HostedCluster and its NodePools need --allow-destroy-cluster.
    Destroy(DestroyArgs),
    /// Print a plan file saved by `tether plan -out`.
    Show(ShowArgs),
    /// Print the environment's resource dependency graph in Graphviz DOT.
    Graph(FileArgs),
    /// Print the estimated hourly and monthly cost of the file's node pools, NAT gateways and subnet
    /// router at on-demand list prices, per item, at rest and at peak.
    Cost(CostArgs),
    /// Compare two environment files setting by setting: promotable differences, then per-environment
    /// ones.
    Diff(DiffArgs),
    /// Copy promotable settings (release images, pool shapes) from one environment file into another,
    /// editing the target in place.
    Promote(PromoteArgs),
    /// Report what changed in AWS and on the management cluster since tether last applied, apart
    /// from changes in the file not applied yet. Exits with 0 when nothing drifted, 1 on an error
    /// and 2 when something drifted.
    Drift(DriftArgs),
    /// Print the JSON Schema of environment files.
    Schema,
    /// Break the state lock with id ID that a crashed or stuck run left, and print whose run it was.
    ForceUnlock(ForceUnlockArgs),
    /// Work with the state store.
    #[command(subcommand)]
    State(StateCommand),
    /// List the environment's applies, destroys, imports and drift fixes as recorded on the management
    /// cluster: who, when, from where, the file and plan digests, the counts and the outcome.
    History(HistoryArgs),
    /// Post a saved plan as a pull-request comment, or update the comment posted before.
    #[command(subcommand)]
    Comment(CommentCommand),
    /// Take over an environment built without tether: find its resources by HyperShift's tags and
    /// names, match them to the file's addresses and record them in the state, changing nothing.
    /// With --generate, write an environment file that describes what exists.
    Import(ImportArgs),
}

/// An environment file.
#[derive(Debug, Args)]
pub struct FileArgs {
    /// The environment file (TOML).
    pub file: PathBuf,
}

/// Arguments of `cost`.
#[derive(Debug, Args)]
pub struct CostArgs {
    /// The environment file (TOML).
    pub file: PathBuf,

    /// Print the estimate as JSON, with the same figures as the text.
    #[arg(long)]
    pub json: bool,
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

    /// The state backend [default: `[state] backend` in the environment file, else local].
    #[arg(long, value_enum, value_name = "BACKEND")]
    pub state_backend: Option<crate::backend::BackendChoice>,
}

/// Arguments of `import`.
#[derive(Debug, Args)]
pub struct ImportArgs {
    /// The environment file (TOML) whose resources to import.
    #[arg(required_unless_present = "generate")]
    pub file: Option<PathBuf>,

    /// Print the matches without writing the state.
    #[arg(long, conflicts_with = "generate")]
    pub dry_run: bool,

    /// Write an environment file describing the existing environment to OUT instead of importing.
    #[arg(long, value_name = "OUT", conflicts_with = "file", requires_all = ["infra_id", "namespace", "name"])]
    pub generate: Option<PathBuf>,

    /// With --generate: the HyperShift infra id, as in the `kubernetes.io/cluster/<infra-id>` tag.
    #[arg(long, value_name = "ID", requires = "generate")]
    pub infra_id: Option<String>,

    /// With --generate: the HostedCluster's namespace on the management cluster.
    #[arg(long, value_name = "NS", requires = "generate")]
    pub namespace: Option<String>,

    /// With --generate: the HostedCluster's name.
    #[arg(long, value_name = "NAME", requires = "generate")]
    pub name: Option<String>,

    /// With --generate: the AWS region to list when the HostedCluster names none.
    #[arg(long, value_name = "REGION", default_value = "us-east-1", requires = "generate")]
    pub region: String,

    /// The state file [default: `.tether/<environment>.state.json` beside the environment file].
    #[arg(long, value_name = "FILE", conflicts_with = "generate")]
    pub state: Option<PathBuf>,

    /// The management cluster's kubeconfig [default: `$KUBECONFIG`, then `~/.kube/config`].
    #[arg(long, value_name = "FILE")]
    pub kubeconfig: Option<PathBuf>,

    /// The kubeconfig context to use [default: the current context].
    #[arg(long, value_name = "NAME")]
    pub context: Option<String>,

    /// Where the state lives [default: `[state] backend` in the environment file, else local].
    #[arg(long, value_enum, value_name = "BACKEND", conflicts_with = "generate")]
    pub state_backend: Option<crate::backend::BackendChoice>,

    /// How long to wait for another run's state lock, e.g. `90s` or `5m`.
    #[arg(long, value_name = "DURATION", default_value = "0", value_parser = crate::backend::parse_duration)]
    pub lock_timeout: std::time::Duration,
}

impl ImportArgs {
    /// The environment arguments of an import (not a --generate run).
    ///
    /// # Errors
    /// Fails when no environment file was given.
    pub fn environment_args(&self) -> anyhow::Result<EnvironmentArgs> {
        let file = self.file.clone().ok_or_else(|| anyhow::anyhow!("give the environment file to import"))?;
        Ok(EnvironmentArgs {
            file,
            state: self.state.clone(),
            kubeconfig: self.kubeconfig.clone(),
            context: self.context.clone(),
            state_backend: self.state_backend,
        })
    }
}

/// Arguments of `apply`.
#[derive(Debug, Args)]
pub struct ApplyArgs {
    #[command(flatten)]
    pub environment: EnvironmentArgs,

    /// Apply without asking for confirmation. Without a terminal, apply refuses unless this is set.
    #[arg(long)]
    pub auto_approve: bool,

    /// Print JSON lines on stdout instead of text: the plan, one event per start, finish, failure
    /// and skip of a change, and a summary (described by `schemas/apply-events.schema.json`).
    #[arg(long)]
    pub json: bool,

    /// Maximum number of changes in flight at once.
    #[arg(long, default_value_t = 10, value_parser = clap::value_parser!(u16).range(1..=256))]
    pub parallelism: u16,

    /// How long to wait for another run's state lock, e.g. `90s` or `5m`; `0` fails at once and
    /// names the holder.
    #[arg(long, value_name = "DURATION", default_value = "0", value_parser = crate::backend::parse_duration)]
    pub lock_timeout: std::time::Duration,

    /// After a successful apply, wait until the HostedCluster reports Available and each NodePool
    /// reports Ready with its expected node count.
    #[arg(long)]
    pub wait: bool,

    /// How long `--wait` waits, e.g. `45m`.
    #[arg(long, value_name = "DURATION", default_value = "30m", requires = "wait", value_parser = crate::backend::parse_duration)]
    pub timeout: std::time::Duration,
}

/// Arguments of `destroy`.
#[derive(Debug, Args)]
pub struct DestroyArgs {
    #[command(flatten)]
    pub environment: EnvironmentArgs,

    /// Destroy without asking for confirmation. Without a terminal, destroy refuses unless this is set.
    #[arg(long)]
    pub auto_approve: bool,

    /// Also delete the HostedCluster and its NodePools, which removes the hosted control plane
    /// and every worker node. Without it, destroy changes nothing while they exist.
    #[arg(long)]
    pub allow_destroy_cluster: bool,

    /// Print the plan in its versioned JSON form instead of text.
    #[arg(long)]
    pub json: bool,

    /// Maximum number of deletes in flight at once.
    #[arg(long, default_value_t = 10, value_parser = clap::value_parser!(u16).range(1..=256))]
    pub parallelism: u16,

    /// How long to wait for another run's state lock, e.g. `90s` or `5m`; `0` fails at once and
    /// names the holder.
    #[arg(long, value_name = "DURATION", default_value = "0", value_parser = crate::backend::parse_duration)]
    pub lock_timeout: std::time::Duration,
}

/// Arguments of `plan`.
#[derive(Debug, Args)]
pub struct PlanArgs {
    #[command(flatten)]
    pub environment: EnvironmentArgs,

    /// Save the plan to FILE, for `tether apply FILE` and `tether show FILE`. `-out FILE` also works.
    #[arg(long = "out", value_name = "FILE")]
    pub out: Option<PathBuf>,

    /// Print the plan in its versioned JSON form instead of text.
    #[arg(long)]
    pub json: bool,

    /// Exit with 0 when there are no changes, 1 on an error and 2 when there are changes.
    #[arg(long)]
    pub detailed_exitcode: bool,

    #[command(flatten)]
    pub output: OutputArgs,
}

/// Arguments of `show`.
#[derive(Debug, Args)]
pub struct ShowArgs {
    /// The plan file.
    pub file: PathBuf,

    /// Print the plan in its versioned JSON form instead of text.
    #[arg(long)]
    pub json: bool,

    #[command(flatten)]
    pub output: OutputArgs,
}

/// The form in which `plan` and `show` print a plan.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum OutputFormat {
    /// Text for a terminal.
    Text,
    /// The versioned JSON form, as with `--json`.
    Json,
    /// Markdown for a pull-request comment, within GitHub's 65,536-character limit.
    Markdown,
}

/// The output form of `plan` and `show`.
#[derive(Debug, Args)]
pub struct OutputArgs {
    /// How to print the plan [default: text, or json with `--json`].
    #[arg(long, value_enum, conflicts_with = "json")]
    pub format: Option<OutputFormat>,

    /// With `--format markdown`, also write the whole plan as Markdown, without the size limit, to
    /// FILE (e.g. a CI artifact), and name FILE where the printed plan leaves something out.
    #[arg(long, value_name = "FILE", requires = "format")]
    pub full_output: Option<PathBuf>,
}

/// The code hosts that `tether comment` posts to.
#[derive(Debug, Subcommand)]
pub enum CommentCommand {
    /// Create or update the plan comment on a GitHub pull request. The token comes from
    /// `GITHUB_TOKEN`. When `GITHUB_STEP_SUMMARY` is set, the full plan is also appended there.
    Github(GithubCommentArgs),
}

/// Arguments of `comment github`.
#[derive(Debug, Args)]
pub struct GithubCommentArgs {
    /// The repository, as OWNER/NAME.
    #[arg(long, value_name = "OWNER/NAME")]
    pub repository: String,

    /// The pull request's number.
    #[arg(long, value_name = "N", value_parser = clap::value_parser!(u64).range(1..))]
    pub pull_request: u64,

    /// The plan file saved by `tether plan -out FILE`.
    #[arg(long, value_name = "FILE")]
    pub plan: PathBuf,

    /// The GitHub REST API's base URL; for GitHub Enterprise Server, `https://HOST/api/v3`.
    #[arg(long, value_name = "URL", env = "GITHUB_API_URL", default_value = "https://api.github.com")]
    pub api_url: String,

    /// Also write the whole plan as Markdown, without the size limit, to FILE (e.g. a CI
    /// artifact), and name FILE in the comment when it leaves something out.
    #[arg(long, value_name = "FILE")]
    pub full_output: Option<PathBuf>,
}

/// Rewrites Terraform's single-dash `-out FILE` and `-out=FILE` into `--out`, which clap parses.
pub fn accept_single_dash_out(arguments: impl IntoIterator<Item = std::ffi::OsString>) -> Vec<std::ffi::OsString> {
    arguments
        .into_iter()
        .map(|argument| match argument.to_str() {
            Some("-out") => "--out".into(),
            Some(text) if text.starts_with("-out=") => format!("-{text}").into(),
            _ => argument,
        })
        .collect()
}

/// Arguments of `diff`.
#[derive(Debug, Args)]
pub struct DiffArgs {
    /// The environment file to compare from, e.g. dev.
    pub from: PathBuf,
    /// The environment file to compare with, e.g. prod.
    pub to: PathBuf,
}

/// Arguments of `promote`.
#[derive(Debug, Args)]
pub struct PromoteArgs {
    /// The environment file whose promotable settings are copied, e.g. dev.
    #[arg(long, value_name = "FILE")]
    pub from: PathBuf,

    /// The environment file that is edited in place, e.g. prod.
    #[arg(long, value_name = "FILE")]
    pub to: PathBuf,

    /// Promote only the settings at or below these paths, e.g. `cluster.release_image` or
    /// `pools.gpu`. Naming a per-environment setting is an error.
    #[arg(long, value_name = "PATH", num_args = 1..)]
    pub only: Vec<String>,

    /// Print the change to the target file as a diff and write nothing.
    #[arg(long, conflicts_with = "check")]
    pub dry_run: bool,

    /// Write nothing; exit with 2 when the target lags the source in a promotable setting and 0 when
    /// they are in step.
    #[arg(long)]
    pub check: bool,
}

/// Arguments of `drift`.
#[derive(Debug, Args)]
pub struct DriftArgs {
    #[command(flatten)]
    pub environment: EnvironmentArgs,

    /// How to print the report.
    #[arg(long, value_enum, default_value = "text")]
    pub format: DriftFormat,

    /// Check at every interval until interrupted, printing a report only when the drift changes.
    #[arg(long)]
    pub watch: bool,

    /// Time between checks with `--watch`: a number and a unit, s, m or h.
    #[arg(long, value_name = "DURATION", default_value = "15m", requires = "watch",
          value_parser = crate::drift_watch::parse_interval)]
    pub interval: std::time::Duration,

    /// With `--watch`, serve Prometheus metrics at http://ADDRESS/metrics, e.g. 127.0.0.1:9464.
    #[arg(long, value_name = "ADDRESS", requires = "watch")]
    pub metrics_address: Option<std::net::SocketAddr>,

    /// POST a JSON message with a Slack-compatible `text` field to URL when drift appears, changes
    /// or is resolved; the same drift is announced once. The last announced report is kept in the
    /// state store (`<environment>.drift-report.json` beside a local state file, a ConfigMap with
    /// the `kubernetes` backend).
    #[arg(long, value_name = "URL")]
    pub notify_webhook: Option<String>,

    /// Print, instead of checking, a Kubernetes CronJob with its ServiceAccount, RBAC and ConfigMap
    /// that runs this check on the management cluster. The environment must use the `kubernetes`
    /// state backend.
    #[arg(long, conflicts_with_all = ["watch", "notify_webhook"], requires_all = ["image", "aws_credentials_secret"])]
    pub emit_cronjob: bool,

    /// With `--emit-cronjob`, the container image that contains `tether`.
    #[arg(long, value_name = "IMAGE", requires = "emit_cronjob")]
    pub image: Option<String>,

    /// With `--emit-cronjob`, the cron schedule of the check.
    #[arg(long, value_name = "CRON", default_value = "*/15 * * * *", requires = "emit_cronjob")]
    pub schedule: String,

    /// With `--emit-cronjob`, the Secret in the cluster's namespace whose keys become the job's
    /// environment variables: `AWS_ACCESS_KEY_ID`, `AWS_SECRET_ACCESS_KEY` and the like.
    #[arg(long, value_name = "NAME", requires = "emit_cronjob")]
    pub aws_credentials_secret: Option<String>,

    /// Show the plan that puts the drifted resources back to the file, and apply it after
    /// confirmation. Pending changes of resources that did not drift are left for `tether apply`.
    #[arg(long, conflicts_with_all = ["watch", "emit_cronjob", "notify_webhook"])]
    pub fix: bool,

    /// With `--fix`, apply without asking. Without a terminal, `--fix` refuses unless this is set.
    #[arg(long, requires = "fix")]
    pub auto_approve: bool,

    /// With `--fix`, how long to wait for another run's state lock, e.g. `90s`; `0` fails at once.
    #[arg(long, value_name = "DURATION", default_value = "0", requires = "fix",
          value_parser = crate::backend::parse_duration)]
    pub lock_timeout: std::time::Duration,
}

/// The form in which `drift` prints its report.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum DriftFormat {
    /// Text for a terminal.
    Text,
    /// Markdown, e.g. for an issue or a chat message.
    Markdown,
    /// The versioned JSON form described by `schemas/drift.schema.json`.
    Json,
}

/// Arguments of `force-unlock`.
#[derive(Debug, Args)]
pub struct ForceUnlockArgs {
    /// The lock id, as printed by the run that was refused the lock.
    pub id: String,

    #[command(flatten)]
    pub environment: EnvironmentArgs,
}

/// Subcommands of `state`.
#[derive(Debug, Subcommand)]
pub enum StateCommand {
    /// Copy the state from one backend to the other under both backends' locks, verify the copy,
    /// and leave the source in place.
    Migrate(MigrateArgs),
}

/// Arguments of `state migrate`.
#[derive(Debug, Args)]
pub struct MigrateArgs {
    #[command(flatten)]
    pub environment: EnvironmentArgs,

    /// The backend to copy from.
    #[arg(long, value_enum, value_name = "BACKEND")]
    pub from: crate::backend::BackendChoice,

    /// The backend to copy to.
    #[arg(long, value_enum, value_name = "BACKEND")]
    pub to: crate::backend::BackendChoice,
}

/// Arguments of `history`.
#[derive(Debug, Args)]
pub struct HistoryArgs {
    #[command(flatten)]
    pub environment: EnvironmentArgs,

    /// Print the records as a JSON array.
    #[arg(long)]
    pub json: bool,
}
