//! The executor: walks a plan's changes in dependency order with bounded parallelism and
//! records each finished change in the state store before reporting it.

use std::collections::{BTreeMap, BTreeSet, VecDeque};
use std::sync::Arc;
use std::time::{Duration, Instant};

use futures::stream::{FuturesUnordered, StreamExt};
use tether_model::{Action, Address, Attributes, Plan, PlanSummary, ProviderId, ResourceChange, State, StateResource, Value};
use tracing::Instrument as _;

use crate::{Applied, ApplyRequest, DeleteRequest, Provider, ProviderError, StateError, StateStore};

/// The providers an apply may call, by the address prefix they own.
pub type Providers = BTreeMap<ProviderId, Arc<dyn Provider>>;

/// Settings of one apply.
#[derive(Debug, Clone, Copy)]
pub struct ApplyOptions {
    /// Maximum number of changes in flight at once.
    pub parallelism: usize,
    /// Upper bound on one provider call, after which the change counts as failed.
    pub operation_timeout: Duration,
}

impl Default for ApplyOptions {
    fn default() -> ApplyOptions {
        ApplyOptions { parallelism: 10, operation_timeout: Duration::from_secs(20 * 60) }
    }
}

/// Something that happened during an apply, for progress displays.
#[derive(Debug)]
pub enum ApplyEvent<'a> {
    /// A change started.
    Started {
        /// The resource.
        address: &'a Address,
        /// The action being applied.
        action: Action,
    },
    /// A change finished and is recorded in state.
    Finished {
        /// The resource.
        address: &'a Address,
        /// The action applied.
        action: Action,
        /// How long the provider took.
        elapsed: Duration,
    },
    /// A change failed.
    Failed {
        /// The failure.
        failure: &'a ApplyFailure,
    },
    /// A change was not attempted because something it depends on failed.
    Skipped {
        /// The resource.
        address: &'a Address,
        /// The action that was not applied.
        action: Action,
        /// The failed change that caused the skip.
        because: &'a Address,
    },
}

/// Receives apply events; the CLI turns them into progress lines.
pub trait ApplyObserver: Send + Sync {
    /// Called once per event, from the task driving the apply.
    fn on_event(&self, event: &ApplyEvent<'_>);
}

/// An observer that ignores every event.
#[derive(Debug, Default, Clone, Copy)]
pub struct NoProgress;

impl ApplyObserver for NoProgress {
    fn on_event(&self, _event: &ApplyEvent<'_>) {}
}

/// One change that failed.
#[derive(Debug, thiserror::Error)]
#[error("{action} of {address} failed")]
pub struct ApplyFailure {
    /// The resource.
    pub address: Address,
    /// The action attempted.
    pub action: Action,
    /// The cause.
    #[source]
    pub cause: ChangeError,
}

/// The cause of one failed change.
#[derive(Debug, thiserror::Error)]
pub enum ChangeError {
    /// The provider call failed.
    #[error(transparent)]
    Provider(#[from] ProviderError),
    /// The provider call did not finish in time.
    #[error("no answer within {0:?}")]
    TimedOut(Duration),
    /// No provider is configured for the address's prefix.
    #[error("no provider for `{0}` resources")]
    NoProvider(ProviderId),
    /// A reference could not be resolved, which means the plan is inconsistent.
    #[error("`{0}` has no value yet")]
    Unresolved(String),
}

/// The outcome of an apply.
#[derive(Debug, Default)]
pub struct ApplyReport {
    /// Changes that finished, in the order they finished.
    pub applied: Vec<(Address, Action)>,
    /// Changes that failed.
    pub failed: Vec<ApplyFailure>,
    /// Changes not attempted, with the failed change that caused each skip.
    pub skipped: Vec<(Address, Action, Address)>,
}

impl ApplyReport {
    /// True when every change finished.
    pub fn succeeded(&self) -> bool {
        self.failed.is_empty() && self.skipped.is_empty()
    }

    /// Counts the finished changes in the plan's terms: added, changed, destroyed.
    pub fn applied_summary(&self) -> PlanSummary {
        PlanSummary::from_actions(self.applied.iter().map(|(_, action)| *action))
    }
}

/// Applies a plan, saving state after every finished change.
///
/// # Errors
/// Fails only when state cannot be saved. No further change starts after that, and the last
/// saved state contains every change that finished before. Failed changes are in the report.
pub async fn apply(
    plan: &Plan,
    providers: &Providers,
    store: &dyn StateStore,
    state: State,
    options: ApplyOptions,
    observer: &dyn ApplyObserver,
) -> Result<(ApplyReport, State), StateError> {
    let mut walk = Walk::new(plan, state);
    walk.reconcile_state_with_plan();
    store.save(&walk.state).await?;

    let mut running = FuturesUnordered::new();
    let mut report = ApplyReport::default();
    loop {
        while running.len() < options.parallelism.max(1) {
            let Some(address) = walk.ready.pop_front() else { break };
            let change = walk.changes[&address];
            observer.on_event(&ApplyEvent::Started { address: &change.address, action: change.action });
            running.push(run_change(change, walk.resolve_after(change), providers, plan, options));
        }
        let Some((address, outcome)) = running.next().await else { break };
        let change = walk.changes[&address];
        match outcome {
            Ok((applied, elapsed)) => {
                walk.record(change, applied);
                store.save(&walk.state).await?;
                observer.on_event(&ApplyEvent::Finished { address: &address, action: change.action, elapsed });
                report.applied.push((address.clone(), change.action));
                walk.release_dependents(&address);
            }
            Err(cause) => {
                let failure = ApplyFailure { address: address.clone(), action: change.action, cause };
                observer.on_event(&ApplyEvent::Failed { failure: &failure });
                for skipped in walk.skip_dependents(&address) {
                    let action = walk.changes[&skipped].action;
                    observer.on_event(&ApplyEvent::Skipped { address: &skipped, action, because: &address });
                    report.skipped.push((skipped, action, address.clone()));
                }
                report.failed.push(failure);
            }
        }
    }
    Ok((report, walk.state))
}

type Outcome = Result<(Option<Applied>, Duration), ChangeError>;

async fn run_change(
    change: &ResourceChange,
    after: Result<Attributes, ChangeError>,
    providers: &Providers,
    plan: &Plan,
    options: ApplyOptions,
) -> (Address, Outcome) {
    let span = tracing::debug_span!("change", resource = %change.address, action = %change.action);
    let outcome = async {
        let provider =
            providers.get(&change.address.provider()).ok_or(ChangeError::NoProvider(change.address.provider()))?;
        let started = Instant::now();
        let call = call_provider(provider.as_ref(), change, after?, &plan.environment);
        let applied = tokio::time::timeout(options.operation_timeout, call)
            .await
            .map_err(|_| ChangeError::TimedOut(options.operation_timeout))??;
        tracing::debug!(elapsed_ms = started.elapsed().as_millis() as u64, "change finished");
        Ok((applied, started.elapsed()))
    }
    .instrument(span)
    .await;
    (change.address.clone(), outcome)
}

async fn call_provider(
    provider: &dyn Provider,
    change: &ResourceChange,
    after: Attributes,
    environment: &str,
) -> Result<Option<Applied>, ChangeError> {
    let id = change.id.as_deref().unwrap_or_default();
    let empty = Attributes::new();
    let delete = DeleteRequest {
        environment,
        address: &change.address,
        id,
        attributes: change.before.as_ref().unwrap_or(&empty),
    };
    let create = ApplyRequest { environment, address: &change.address, id: None, attributes: &after, before: None };
    match change.action {
        Action::NoOp => Ok(None),
        Action::Create => Ok(Some(provider.create(&create).await?)),
        Action::Update => {
            let update = ApplyRequest { id: Some(id), before: change.before.as_ref(), ..create };
            Ok(Some(provider.update(&update).await?))
        }
        // TODO: create before destroy where the kind allows two copies at once.
        Action::Replace => {
            provider.delete(&delete).await?;
            Ok(Some(provider.create(&create).await?))
        }
        Action::Delete => {
            provider.delete(&delete).await?;
            Ok(None)
        }
    }
}

/// The mutable bookkeeping of one apply.
struct Walk<'a> {
    changes: BTreeMap<Address, &'a ResourceChange>,
    /// For each pending change, the changes it still waits for.
    waiting_on: BTreeMap<Address, BTreeSet<Address>>,
    /// For each change, the changes waiting for it.
    dependents: BTreeMap<Address, BTreeSet<Address>>,
    ready: VecDeque<Address>,
    /// Identifiers and attributes known so far, for resolving references.
    known: BTreeMap<Address, (Option<String>, Attributes)>,
    state: State,
}

impl<'a> Walk<'a> {
    fn new(plan: &'a Plan, state: State) -> Walk<'a> {
        let changes: BTreeMap<Address, &ResourceChange> = plan
            .changes
            .iter()
            .filter(|change| change.action != Action::NoOp)
            .map(|change| (change.address.clone(), change))
            .collect();
        let known = plan
            .changes
            .iter()
            .map(|change| (change.address.clone(), (change.id.clone(), change.after.clone().unwrap_or_default())))
            .collect();

        let mut waiting_on: BTreeMap<Address, BTreeSet<Address>> =
            changes.keys().map(|address| (address.clone(), BTreeSet::new())).collect();
        for change in changes.values() {
            for dependency in change.depends_on.iter().filter(|dependency| changes.contains_key(*dependency)) {
                let dependency_action = changes[dependency].action;
                match (change.action, dependency_action) {
                    // Deletes run in reverse: the dependency goes after its dependent.
                    (Action::Delete, Action::Delete) => {
                        waiting_on.entry(dependency.clone()).or_default().insert(change.address.clone());
                    }
                    (Action::Delete, _) | (_, Action::Delete) => {}
                    _ => {
                        waiting_on.entry(change.address.clone()).or_default().insert(dependency.clone());
                    }
                }
            }
        }
        let mut dependents: BTreeMap<Address, BTreeSet<Address>> = BTreeMap::new();
        for (address, waits) in &waiting_on {
            for dependency in waits {
                dependents.entry(dependency.clone()).or_default().insert(address.clone());
            }
        }
        let ready =
            waiting_on.iter().filter(|(_, waits)| waits.is_empty()).map(|(address, _)| address.clone()).collect();
        Walk { changes, waiting_on, dependents, ready, known, state }
    }

    /// Brings state in line with what the plan observed before anything changes: resources
    /// that exist unchanged are recorded (e.g. after a lost state file), and records of
    /// resources that are neither desired nor observed any more are dropped.
    fn reconcile_state_with_plan(&mut self) {
        let planned: BTreeSet<&Address> = self.known.keys().collect();
        self.state.resources.retain(|address, _| planned.contains(address));
        for (address, (id, attributes)) in &self.known {
            let is_noop = !self.changes.contains_key(address);
            if let (true, Some(id)) = (is_noop, id) {
                let depends_on =
                    self.state.resources.get(address).map(|recorded| recorded.depends_on.clone()).unwrap_or_default();
                self.state.resources.insert(
                    address.clone(),
                    StateResource { id: id.clone(), attributes: attributes.clone(), depends_on },
                );
            }
        }
        self.state.serial += 1;
    }

    fn resolve_after(&self, change: &ResourceChange) -> Result<Attributes, ChangeError> {
        let Some(after) = &change.after else { return Ok(Attributes::new()) };
        let resolve = |reference: &tether_model::Reference| {
            let (id, attributes) = self.known.get(&reference.address)?;
            if reference.attribute == "id" {
                id.clone().map(Value::String)
            } else {
                attributes.get(&reference.attribute).cloned()
            }
        };
        let mut resolved = Attributes::new();
        for (key, value) in after {
            let value = value.resolve_references(&resolve);
            let mut missing = None;
            value.for_each_reference(&mut |reference| missing = Some(reference.to_string()));
            if let Some(reference) = missing {
                return Err(ChangeError::Unresolved(reference));
            }
            resolved.insert(key.clone(), value);
        }
        Ok(resolved)
    }

    fn record(&mut self, change: &ResourceChange, applied: Option<Applied>) {
        match applied {
            Some(applied) => {
                self.known.insert(change.address.clone(), (Some(applied.id.clone()), applied.attributes.clone()));
                self.state.resources.insert(
                    change.address.clone(),
                    StateResource {
                        id: applied.id,
                        attributes: applied.attributes,
                        depends_on: change.depends_on.clone(),
                    },
                );
            }
            None => {
                self.state.resources.remove(&change.address);
            }
        }
        self.state.serial += 1;
    }

    fn release_dependents(&mut self, finished: &Address) {
        for dependent in self.dependents.get(finished).cloned().unwrap_or_default() {
            if let Some(waits) = self.waiting_on.get_mut(&dependent) {
                waits.remove(finished);
                if waits.is_empty() {
                    self.ready.push_back(dependent);
                }
            }
        }
    }

    /// Removes every transitive dependent of a failed change from the walk and returns them.
    fn skip_dependents(&mut self, failed: &Address) -> Vec<Address> {
        let mut skipped = Vec::new();
        let mut queue: VecDeque<Address> =
            self.dependents.get(failed).cloned().unwrap_or_default().into_iter().collect();
        while let Some(address) = queue.pop_front() {
            if self.waiting_on.remove(&address).is_some() {
                queue.extend(self.dependents.get(&address).cloned().unwrap_or_default());
                skipped.push(address);
            }
        }
        skipped
    }
}
