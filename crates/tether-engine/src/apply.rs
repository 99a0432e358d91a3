//! The executor: walks a plan's changes in dependency order with bounded parallelism and
//! records each finished change in the state store before reporting it.

use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;
use std::time::{Duration, Instant};

use tether_model::{Action, Address, Attributes, Plan, PlanSummary, ProviderId, ResourceChange, State};
use tokio::task::{JoinError, JoinSet};
use tracing::Instrument as _;

use crate::walk::{Interrupt, Step, Stop, Walk};
use crate::{Applied, ApplyRequest, DeleteRequest, Provider, ProviderError, StateError, StateStore};

/// The providers an apply may call, by the address prefix they own.
pub type Providers = BTreeMap<ProviderId, Arc<dyn Provider>>;

/// Settings of one apply.
#[derive(Debug, Clone)]
pub struct ApplyOptions {
    /// Maximum number of changes in flight at once.
    pub parallelism: usize,
    /// Upper bound on one provider call, after which the change counts as failed.
    pub operation_timeout: Duration,
    /// Asks the apply to stop early, e.g. on Ctrl-C; by default nothing does.
    pub interrupt: Interrupt,
}

impl Default for ApplyOptions {
    fn default() -> ApplyOptions {
        ApplyOptions {
            parallelism: 10,
            operation_timeout: Duration::from_secs(20 * 60),
            interrupt: Interrupt::default(),
        }
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
        /// The provider's id of the resource; `None` after a delete.
        id: Option<&'a str>,
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
    /// How far the apply was asked to stop before it ran out of changes.
    pub interrupted: Stop,
    /// Changes never started because the apply was interrupted.
    pub not_started: Vec<(Address, Action)>,
    /// Changes in flight when a second interrupt stopped the wait for them. Their outcome is
    /// unknown, and the next plan observes what they did.
    pub abandoned: Vec<(Address, Action)>,
}

impl ApplyReport {
    /// True when every change finished.
    pub fn succeeded(&self) -> bool {
        self.failed.is_empty() && self.skipped.is_empty() && self.not_started.is_empty() && self.abandoned.is_empty()
    }

    /// Counts the finished changes in the plan's terms: added, changed, destroyed.
    pub fn applied_summary(&self) -> PlanSummary {
        PlanSummary::from_actions(self.applied.iter().map(|(_, action)| *action))
    }
}

/// Applies a plan, saving state after every finished change.
///
/// After [`Stop::Drain`] is requested through `options.interrupt`, no new change starts and the
/// apply returns once the changes in flight end. After [`Stop::Abandon`] it returns at once.
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

    // Each step runs as its own task, so the provider calls in flight go on while this task
    // saves state, and dropping the set on return cancels what is still running.
    let mut running: JoinSet<(Step, Outcome)> = JoinSet::new();
    let mut started = BTreeSet::new();
    let mut in_flight = BTreeSet::new();
    let mut report = ApplyReport::default();
    let interrupt = &options.interrupt;
    loop {
        while running.len() < options.parallelism.max(1) && interrupt.requested() == Stop::No {
            let Some(step) = walk.next_ready() else { break };
            let change = walk.changes[&step.address];
            observer.on_event(&ApplyEvent::Started { address: &change.address, action: step.action(change) });
            let after = walk.resolve_after(change);
            started.insert(step.clone());
            in_flight.insert(step.clone());
            let call = StepCall::new(step, change, after, providers, plan, options.operation_timeout);
            running.spawn(call.run());
        }
        let next = tokio::select! {
            biased;
            () = interrupt.reached(Stop::Abandon) => None,
            next = running.join_next() => next,
        };
        let Some(next) = next else { break };

        // Steps that ended meanwhile share one save, so that a batch of changes finishing
        // together costs one fsync instead of one each before their dependents can start.
        let mut ended = vec![step_result(next)];
        while let Some(next) = running.try_join_next() {
            ended.push(step_result(next));
        }
        let mut finished = Vec::new();
        for (step, outcome) in ended {
            in_flight.remove(&step);
            match outcome {
                Ok((applied, elapsed)) => {
                    let id = applied.as_ref().map(|applied| applied.id.clone());
                    walk.record(&step, applied);
                    finished.push((step, elapsed, id));
                }
                Err(cause) => fail_step(&mut walk, &mut report, observer, step, cause),
            }
        }
        if finished.is_empty() {
            continue;
        }

        // Dependents start only after this save, so every finished change is recorded first.
        store.save(&walk.state).await?;
        for (step, elapsed, id) in finished {
            let action = step.action(walk.changes[&step.address]);
            let id = id.as_deref();
            observer.on_event(&ApplyEvent::Finished { address: &step.address, action, elapsed, id });
            report.applied.push((step.address.clone(), action));
            walk.release_dependents(&step);
        }
    }

    report.interrupted = interrupt.requested();
    let with_action = |step: Step| {
        let action = step.action(walk.changes[&step.address]);
        (step.address, action)
    };
    report.abandoned = in_flight.into_iter().map(with_action).collect();
    report.not_started = walk.not_started(&started).into_iter().map(with_action).collect();
    if report.interrupted != Stop::No {
        tracing::debug!(
            abandoned = report.abandoned.len(),
            not_started = report.not_started.len(),
            "apply interrupted"
        );
    }
    Ok((report, walk.state))
}

type Outcome = Result<(Option<Applied>, Duration), ChangeError>;

/// Returns a step task's result, and re-raises a panic of the provider in this task.
fn step_result(joined: Result<(Step, Outcome), JoinError>) -> (Step, Outcome) {
    match joined {
        Ok(result) => result,
        Err(error) if error.is_panic() => std::panic::resume_unwind(error.into_panic()),
        // Tasks are cancelled only when the set is dropped, after which nothing joins them.
        Err(error) => panic!("a step's task ended without a result: {error}"),
    }
}

/// Reports a failed step and skips every step that depends on it.
fn fail_step(
    walk: &mut Walk<'_>,
    report: &mut ApplyReport,
    observer: &dyn ApplyObserver,
    step: Step,
    cause: ChangeError,
) {
    let action = step.action(walk.changes[&step.address]);
    let failure = ApplyFailure { address: step.address.clone(), action, cause };
    observer.on_event(&ApplyEvent::Failed { failure: &failure });

    // The second half of a failed replacement is not a separate skip worth reporting.
    let skipped = walk.skip_dependents(&step).into_iter().filter(|skipped| skipped.address != step.address);
    for skipped in skipped.collect::<Vec<_>>() {
        let skipped_action = skipped.action(walk.changes[&skipped.address]);
        observer.on_event(&ApplyEvent::Skipped {
            address: &skipped.address,
            action: skipped_action,
            because: &step.address,
        });
        report.skipped.push((skipped.address, skipped_action, step.address.clone()));
    }
    report.failed.push(failure);
}

/// One step's provider call with owned inputs, so that it can run as a task of its own.
struct StepCall {
    step: Step,
    change: ResourceChange,
    after: Result<Attributes, ChangeError>,
    provider: Option<Arc<dyn Provider>>,
    environment: String,
    operation_timeout: Duration,
    span: tracing::Span,
}

impl StepCall {
    fn new(
        step: Step,
        change: &ResourceChange,
        after: Result<Attributes, ChangeError>,
        providers: &Providers,
        plan: &Plan,
        operation_timeout: Duration,
    ) -> StepCall {
        // The span is created here, inside the apply's span, so that the task's logs nest under it.
        let span = tracing::debug_span!("change", resource = %change.address, action = %step.action(change));
        StepCall {
            provider: providers.get(&change.address.provider()).cloned(),
            change: change.clone(),
            environment: plan.environment.clone(),
            step,
            after,
            operation_timeout,
            span,
        }
    }

    async fn run(self) -> (Step, Outcome) {
        let StepCall { step, change, after, provider, environment, operation_timeout, span } = self;
        let action = step.action(&change);
        let outcome = async {
            let provider = provider.ok_or(ChangeError::NoProvider(change.address.provider()))?;
            let started = Instant::now();
            let call = call_provider(provider.as_ref(), &change, action, after?, &environment);
            let applied = tokio::time::timeout(operation_timeout, call)
                .await
                .map_err(|_| ChangeError::TimedOut(operation_timeout))??;
            tracing::debug!(elapsed_ms = started.elapsed().as_millis() as u64, "change finished");
            Ok((applied, started.elapsed()))
        }
        .instrument(span)
        .await;
        (step, outcome)
    }
}

/// Performs one step's action: `Create` creates even when the change is a replacement, because
/// its delete step already ran.
async fn call_provider(
    provider: &dyn Provider,
    change: &ResourceChange,
    action: Action,
    after: Attributes,
    environment: &str,
) -> Result<Option<Applied>, ChangeError> {
    let id = change.id.as_deref().unwrap_or_default();
    let create = ApplyRequest { environment, address: &change.address, id: None, attributes: &after, before: None };
    match action {
        Action::NoOp => Ok(None),
        Action::Create => Ok(Some(provider.create(&create).await?)),
        Action::Update => {
            let update = ApplyRequest { id: Some(id), before: change.before.as_ref(), ..create };
            Ok(Some(provider.update(&update).await?))
        }
        // A step never carries `Replace`: a replacement arrives as a delete step and a create step.
        Action::Replace | Action::Delete => {
            let empty = Attributes::new();
            let attributes = change.before.as_ref().unwrap_or(&empty);
            provider.delete(&DeleteRequest { environment, address: &change.address, id, attributes }).await?;
            Ok(None)
        }
    }
}
