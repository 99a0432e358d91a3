//! Steps every environment command shares: load and validate the file, lower it, read state,
//! connect the providers, observe, and plan.

use std::path::PathBuf;
use std::sync::Arc;

use anyhow::Context as _;
use tether_catalog::DesiredGraph;
use tether_config::Checked;
use tether_engine::{LocalStateStore, ObserveScope, Provider, Providers, StateStore as _};
use tether_model::{ObservedResource, Plan, ProviderId, Resource, State};
use tether_plan::PlanInput;

use crate::args::EnvironmentArgs;
use crate::exit::Failure;

/// A validated environment file and its desired graph.
pub struct LoadedEnvironment {
    pub checked: Checked,
    pub desired: DesiredGraph,
}

/// Loads, validates and lowers an environment file. Warnings and advice, the file's own and the
/// catalogue's, go to stderr.
///
/// # Errors
/// Returns every problem in the file as diagnostics, or a lowering error.
pub fn load(file: &std::path::Path) -> Result<LoadedEnvironment, Failure> {
    let checked = tether_config::load(file).map_err(Failure::Diagnostics)?;
    let mut notes = checked.warnings.clone();
    notes.extend(tether_catalog::advise(&checked));
    notes.sort_by_key(|note| note.span().map_or(0, |span| span.start));
    for note in notes {
        eprintln!("{:?}", miette::Report::new(note));
    }
    let desired = tether_catalog::lower(&checked)
        .with_context(|| format!("cannot build the resource graph of {}", file.display()))?;
    Ok(LoadedEnvironment { checked, desired })
}

/// An environment with its state store and connected providers.
pub struct Session {
    pub environment: LoadedEnvironment,
    pub store: LocalStateStore,
    pub state: State,
    pub providers: Providers,
}

impl Session {
    /// Loads the environment, reads its state and connects to AWS and the management cluster.
    ///
    /// # Errors
    /// Fails on an invalid file, an unreadable state file, or a provider that cannot be set up.
    pub async fn open(args: &EnvironmentArgs) -> Result<Session, Failure> {
        let environment = load(&args.file)?;
        let name = environment.checked.environment.name.clone();
        let store = LocalStateStore::new(state_path(args, &environment.checked));
        let state = store.load(&name).await.context("cannot read the state")?.unwrap_or_else(|| State::empty(&name));

        let aws = tether_aws::AwsProvider::from_environment(&environment.checked.environment.aws.region).await;
        let kube_options =
            tether_kube::KubeOptions { kubeconfig: args.kubeconfig.clone(), context: args.context.clone() };
        let kube = tether_kube::TetherKube::connect(&kube_options)
            .await
            .context("cannot connect to the management cluster")?;
        let mut providers = Providers::new();
        providers.insert(ProviderId::Aws, Arc::new(aws) as Arc<dyn Provider>);
        providers.insert(ProviderId::Cluster, Arc::new(kube) as Arc<dyn Provider>);
        Ok(Session { environment, store, state, providers })
    }

    /// Returns the environment's name.
    pub fn name(&self) -> &str {
        &self.environment.checked.environment.name
    }

    /// Observes every provider concurrently and plans.
    ///
    /// # Errors
    /// Fails when any observation fails or the inputs admit no plan.
    pub async fn plan(&self) -> anyhow::Result<Plan> {
        let observed = self.observe().await?;
        let input = PlanInput {
            environment: self.name(),
            desired: &self.environment.desired,
            observed: &observed,
            state: &self.state,
        };
        tether_plan::plan(&input).context("cannot plan")
    }

    async fn observe(&self) -> anyhow::Result<Vec<ObservedResource>> {
        let _span = tracing::debug_span!("observe", environment = self.name()).entered();
        let by_provider: Vec<(ProviderId, Vec<Resource>)> = self
            .providers
            .keys()
            .map(|id| {
                let desired =
                    self.environment.desired.resources().filter(|resource| resource.address.provider() == *id);
                (*id, desired.cloned().collect())
            })
            .collect();
        let observations = by_provider.iter().map(|(id, desired)| async move {
            let scope = ObserveScope { environment: self.name(), desired, state: &self.state };
            self.providers[id].observe(&scope).await.with_context(|| format!("cannot observe {id} resources"))
        });
        let results = futures::future::try_join_all(observations).await?;
        Ok(results.into_iter().flatten().collect())
    }
}

/// `--state`, or `.tether/<environment>.state.json` beside the environment file.
fn state_path(args: &EnvironmentArgs, checked: &Checked) -> PathBuf {
    match &args.state {
        Some(path) => path.clone(),
        None => checked.base_dir.join(".tether").join(format!("{}.state.json", checked.environment.name)),
    }
}
