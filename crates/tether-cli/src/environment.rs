//! Steps every environment command shares: load and validate the file, lower it, read state,
//! connect the providers, observe, and plan.

use std::sync::Arc;

use anyhow::Context as _;
use tether_catalog::DesiredGraph;
use tether_config::Checked;
use tether_engine::{ObserveScope, Provider, Providers, StateStore};
use tether_model::{ObservedResource, Plan, ProviderId, Resource, State};
use tether_plan::PlanInput;

use crate::args::EnvironmentArgs;
use crate::backend::{self, LockGuard};
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
    let hidden = notes.len().saturating_sub(tether_config::PRINTED_ENTRIES);
    for note in notes.into_iter().take(tether_config::PRINTED_ENTRIES) {
        eprintln!("{:?}", miette::Report::new(note));
    }
    if hidden > 0 {
        eprintln!("warning: {hidden} more warnings are not shown; fix the ones above and validate again");
    }
    let desired = tether_catalog::lower(&checked)
        .with_context(|| format!("cannot build the resource graph of {}", file.display()))?;
    Ok(LoadedEnvironment { checked, desired })
}

/// Builds the AWS provider, assuming `aws.role_arn` when the file sets it, and refuses to go on
/// unless the credentials belong to `aws.account_id`. Every command that reaches AWS passes here
/// first, so nothing is read or changed in a wrong account.
///
/// # Errors
/// Fails when STS cannot tell the caller's account, or the account differs from the file's.
async fn connect_aws(settings: &tether_config::Aws) -> anyhow::Result<tether_aws::AwsProvider> {
    let aws = tether_aws::AwsProvider::assuming_role(&settings.region, settings.role_arn.as_deref()).await;
    aws.verify_account(&settings.account_id).await?;
    Ok(aws)
}

/// Builds the hosted-cluster provider for the environment's HostedCluster. It reads the
/// HostedCluster only when it first observes or applies.
fn hosted_provider(checked: &Checked, kube: &Arc<tether_kube::TetherKube>) -> tether_kube::TetherHosted {
    let cluster = &checked.environment.cluster;
    let target = tether_kube::HostedTarget {
        address: format!("cluster.hosted_cluster.{}", cluster.name),
        namespace: cluster.namespace.clone(),
        name: cluster.name.clone(),
    };
    tether_kube::TetherHosted::new(kube.clone(), target)
}

/// An environment with its state store and connected providers.
pub struct Session {
    pub environment: LoadedEnvironment,
    pub store: Box<dyn StateStore>,
    pub state: State,
    pub providers: Providers,
    /// The AWS provider, also in `providers`, for checks beyond the `Provider` trait.
    pub aws: Arc<tether_aws::AwsProvider>,
    /// The management-cluster client, which also serves the `kubernetes` state backend.
    pub kube: Arc<tether_kube::TetherKube>,
    /// The hosted-cluster provider, also in `providers`, whose changes may wait for the
    /// HostedCluster to become Available.
    pub hosted: Arc<tether_kube::TetherHosted>,
    /// The state lock, when the command took one; dropping the session releases it.
    pub lock: Option<LockGuard>,
}

impl Session {
    /// Loads the environment, reads its state and connects to AWS and the management cluster.
    ///
    /// # Errors
    /// Fails on an invalid file, an unreadable state, or a provider that cannot be set up.
    pub async fn open(args: &EnvironmentArgs) -> Result<Session, Failure> {
        let mut session = Session::connect(args).await?;
        session.read_state().await?;
        Ok(session)
    }

    /// As [`Session::open`], but takes the state lock for `operation` before reading the state,
    /// waiting up to `lock_timeout` for another holder.
    ///
    /// # Errors
    /// As [`Session::open`], and fails when the lock stays held, naming its holder.
    pub async fn open_locked(
        args: &EnvironmentArgs,
        operation: &str,
        lock_timeout: std::time::Duration,
    ) -> Result<Session, Failure> {
        let mut session = Session::connect(args).await?;
        session.lock = Some(LockGuard::acquire(session.store.as_ref(), operation, lock_timeout).await?);
        session.read_state().await?;
        Ok(session)
    }

    /// Loads the environment, opens its state store and connects the providers, without reading
    /// the state.
    ///
    /// # Errors
    /// Fails on an invalid file or a provider that cannot be set up.
    pub async fn connect(args: &EnvironmentArgs) -> Result<Session, Failure> {
        let environment = load(&args.file)?;
        let aws = Arc::new(connect_aws(&environment.checked.environment.aws).await?);
        let kube_options =
            tether_kube::KubeOptions { kubeconfig: args.kubeconfig.clone(), context: args.context.clone() };
        let kube = tether_kube::TetherKube::connect(&kube_options)
            .await
            .context("cannot connect to the management cluster")?;
        let kube = Arc::new(kube);
        let backend = backend::chosen_backend(args, &environment.checked);
        let store = backend::open_store(backend, args, &environment.checked, &kube);
        let mut providers = Providers::new();
        providers.insert(ProviderId::Aws, aws.clone() as Arc<dyn Provider>);
        providers.insert(ProviderId::Cluster, kube.clone() as Arc<dyn Provider>);
        let hosted = Arc::new(hosted_provider(&environment.checked, &kube));
        providers.insert(ProviderId::Hosted, hosted.clone() as Arc<dyn Provider>);
        let state = State::empty(&environment.checked.environment.name);
        Ok(Session { environment, store, state, providers, aws, kube, hosted, lock: None })
    }

    async fn read_state(&mut self) -> Result<(), Failure> {
        let name = self.name().to_owned();
        let stored = self
            .store
            .load(&name)
            .await
            .with_context(|| format!("cannot read the state in {}", self.store.describe()))?;
        self.state = stored.unwrap_or_else(|| State::empty(&name));
        Ok(())
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

    /// Observes every provider concurrently.
    ///
    /// # Errors
    /// Fails when any read fails or is throttled.
    pub async fn observe(&self) -> anyhow::Result<Vec<ObservedResource>> {
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
