//! The bookkeeping of one apply: which steps wait for which, what is known so far, and the
//! state as it changes.
//!
//! A change becomes one or two steps. A create or update is one apply step, and a delete is one
//! delete step. A replacement is a delete step followed by an apply step that creates the
//! resource again. Apply steps run after the apply steps of what they depend on. Delete steps
//! run in reverse: a resource is deleted only after everything that depended on it, so a
//! replaced VPC goes after its replaced subnets and comes back before them. A replacement marked
//! create-before-destroy runs its apply step first, and deletes the old copy only once its
//! dependents have moved to the new one.
//!
//! Of the steps that are ready, the walk starts first the one with the longest chain of steps
//! still waiting behind it, so that a free slot goes to the critical path rather than to a leaf.

use std::cmp::Reverse;
use std::collections::{BTreeMap, BTreeSet, VecDeque};
use std::sync::Arc;

use tokio::sync::watch;

use tether_model::{Action, Address, Attributes, Plan, Reference, ResourceChange, State, StateResource, Value};

use crate::Applied;
use crate::apply::ChangeError;

/// The half of a change that a step performs.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub(crate) enum Phase {
    /// Deleting the existing resource (a delete, or the first half of a replacement).
    Delete,
    /// Creating or updating the resource (a create, an update, or the second half of a replacement).
    Apply,
}

/// One unit of work: a phase of one resource's change.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub(crate) struct Step {
    pub address: Address,
    pub phase: Phase,
}

impl Step {
    /// Returns the action this step performs on its own. The halves of a replacement are a
    /// delete and a create, so events and counts describe what really happened.
    pub fn action(&self, change: &ResourceChange) -> Action {
        match (self.phase, change.action) {
            (Phase::Delete, _) => Action::Delete,
            (Phase::Apply, Action::Replace) => Action::Create,
            (Phase::Apply, action) => action,
        }
    }
}

fn phases(change: &ResourceChange) -> &'static [Phase] {
    match change.action {
        Action::NoOp => &[],
        Action::Create | Action::Update => &[Phase::Apply],
        Action::Delete => &[Phase::Delete],
        Action::Replace => &[Phase::Delete, Phase::Apply],
    }
}

/// The mutable bookkeeping of one apply.
pub(crate) struct Walk<'a> {
    pub changes: BTreeMap<Address, &'a ResourceChange>,
    /// For each pending step, the steps it still waits for.
    waiting_on: BTreeMap<Step, BTreeSet<Step>>,
    /// For each step, the steps waiting for it.
    dependents: BTreeMap<Step, BTreeSet<Step>>,
    /// For each step, the number of steps in the longest chain that starts with it and follows
    /// `dependents`. A step that nothing waits for has 1.
    chain_length: BTreeMap<Step, usize>,
    /// Steps whose dependencies all finished, longest chain first and then in step order.
    ready: BTreeSet<(Reverse<usize>, Step)>,
    /// Identifiers and attributes known so far, for resolving references.
    known: BTreeMap<Address, (Option<String>, Attributes)>,
    pub state: State,
}

impl<'a> Walk<'a> {
    pub fn new(plan: &'a Plan, state: State) -> Walk<'a> {
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

        let waiting_on = step_dependencies(&changes);
        let mut dependents: BTreeMap<Step, BTreeSet<Step>> = BTreeMap::new();
        for (step, waits) in &waiting_on {
            for dependency in waits {
                dependents.entry(dependency.clone()).or_default().insert(step.clone());
            }
        }
        let chain_length = chain_lengths(&waiting_on, &dependents);
        let mut walk = Walk { changes, waiting_on, dependents, chain_length, ready: BTreeSet::new(), known, state };
        let initial: Vec<Step> =
            walk.waiting_on.iter().filter(|(_, waits)| waits.is_empty()).map(|(step, _)| step.clone()).collect();
        for step in initial {
            walk.mark_ready(step);
        }
        walk
    }

    fn mark_ready(&mut self, step: Step) {
        let length = self.chain_length.get(&step).copied().unwrap_or(1);
        self.ready.insert((Reverse(length), step));
    }

    /// Takes the ready step to start next: the one with the longest chain of steps behind it,
    /// and of equal ones the first in step order, so that the same plan starts in the same order.
    pub fn next_ready(&mut self) -> Option<Step> {
        self.ready.pop_first().map(|(_, step)| step)
    }

    /// Brings state in line with what the plan observed before anything changes: resources
    /// that exist unchanged are recorded (e.g. after a lost state file), and records of
    /// resources that are neither desired nor observed any more are dropped.
    pub fn reconcile_state_with_plan(&mut self) {
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

    /// Resolves the references in a change's desired attributes with what is known now.
    pub fn resolve_after(&self, change: &ResourceChange) -> Result<Attributes, ChangeError> {
        let Some(after) = &change.after else { return Ok(Attributes::new()) };
        let resolve = |reference: &Reference| {
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

    /// Records a finished step in state: a delete removes the resource, an apply stores it. The
    /// late delete of a create-before-destroy replacement leaves the new copy's record alone.
    pub fn record(&mut self, step: &Step, applied: Option<Applied>) {
        let change = self.changes[&step.address];
        if step.phase == Phase::Delete && change.create_before_destroy && change.action == Action::Replace {
            self.state.serial += 1;
            return;
        }
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

    /// Makes the steps that waited only for `finished` ready.
    pub fn release_dependents(&mut self, finished: &Step) {
        for dependent in self.dependents.get(finished).cloned().unwrap_or_default() {
            if let Some(waits) = self.waiting_on.get_mut(&dependent) {
                waits.remove(finished);
                if waits.is_empty() {
                    self.mark_ready(dependent);
                }
            }
        }
    }

    /// Lists the steps that are still part of the walk but not in `started`, in step order: what an
    /// interrupted apply never began.
    pub fn not_started(&self, started: &BTreeSet<Step>) -> Vec<Step> {
        self.waiting_on.keys().filter(|step| !started.contains(*step)).cloned().collect()
    }

    /// Removes every transitive dependent of a failed step from the walk and returns them.
    pub fn skip_dependents(&mut self, failed: &Step) -> Vec<Step> {
        let mut skipped = Vec::new();
        let mut queue: VecDeque<Step> = self.dependents.get(failed).cloned().unwrap_or_default().into_iter().collect();
        while let Some(step) = queue.pop_front() {
            if self.waiting_on.remove(&step).is_some() {
                queue.extend(self.dependents.get(&step).cloned().unwrap_or_default());
                skipped.push(step);
            }
        }
        skipped
    }
}

/// Lists, for every step, the steps it waits for.
fn step_dependencies(changes: &BTreeMap<Address, &ResourceChange>) -> BTreeMap<Step, BTreeSet<Step>> {
    let has =
        |address: &Address, phase: Phase| changes.get(address).is_some_and(|change| phases(change).contains(&phase));
    let step = |address: &Address, phase: Phase| Step { address: address.clone(), phase };
    let mut waiting_on: BTreeMap<Step, BTreeSet<Step>> = BTreeMap::new();
    for change in changes.values() {
        let address = &change.address;
        for phase in phases(change) {
            waiting_on.entry(step(address, *phase)).or_default();
        }
        if change.action == Action::Replace && change.create_before_destroy {
            waiting_on.entry(step(address, Phase::Delete)).or_default().insert(step(address, Phase::Apply));
        } else if change.action == Action::Replace {
            waiting_on.entry(step(address, Phase::Apply)).or_default().insert(step(address, Phase::Delete));
        }

        for dependency in &change.depends_on {
            if has(address, Phase::Apply) && has(dependency, Phase::Apply) {
                waiting_on.entry(step(address, Phase::Apply)).or_default().insert(step(dependency, Phase::Apply));
            }
            if has(address, Phase::Delete) && has(dependency, Phase::Delete) {
                waiting_on.entry(step(dependency, Phase::Delete)).or_default().insert(step(address, Phase::Delete));
            }
            // The old copy of a create-before-destroy replacement goes only once its dependents
            // point at the new copy.
            let moves_first = changes.get(dependency).is_some_and(|target| target.create_before_destroy);
            if moves_first && has(address, Phase::Apply) {
                waiting_on.entry(step(dependency, Phase::Delete)).or_default().insert(step(address, Phase::Apply));
            }
        }
    }
    waiting_on
}

/// Counts, for every step, the steps on the longest chain from it through the steps that wait
/// for it, itself included. Steps on a cycle, which a valid plan does not have, count 1.
fn chain_lengths(
    waiting_on: &BTreeMap<Step, BTreeSet<Step>>,
    dependents: &BTreeMap<Step, BTreeSet<Step>>,
) -> BTreeMap<Step, usize> {
    // Kahn's algorithm gives an order in which every step comes after the steps it waits for.
    let mut unfinished: BTreeMap<&Step, usize> = waiting_on.iter().map(|(step, waits)| (step, waits.len())).collect();
    let mut queue: VecDeque<&Step> =
        unfinished.iter().filter(|(_, count)| **count == 0).map(|(step, _)| *step).collect();
    let mut order = Vec::with_capacity(waiting_on.len());
    while let Some(step) = queue.pop_front() {
        order.push(step);
        for dependent in dependents.get(step).into_iter().flatten() {
            if let Some(count) = unfinished.get_mut(dependent) {
                *count -= 1;
                if *count == 0 {
                    queue.push_back(dependent);
                }
            }
        }
    }

    // Walking that order backwards, every dependent's length is known before its dependencies'.
    let mut lengths: BTreeMap<Step, usize> = BTreeMap::new();
    for step in order.into_iter().rev() {
        let longest_behind =
            dependents.get(step).into_iter().flatten().filter_map(|dependent| lengths.get(dependent)).max();
        lengths.insert(step.clone(), 1 + longest_behind.copied().unwrap_or(0));
    }
    lengths
}

/// How far a running apply has been asked to stop. The levels only go up.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, PartialOrd, Ord)]
pub enum Stop {
    /// Keep going.
    #[default]
    No,
    /// Start no new change, but wait for the ones in flight to finish or time out and record them.
    Drain,
    /// Stop waiting for the changes in flight. What finished before is already recorded, because
    /// each finished change is saved to state on its own.
    Abandon,
}

/// A stop request shared between the code that interrupts an apply (the CLI's signal handler) and the
/// apply itself. Clones share one request.
#[derive(Debug, Clone)]
pub struct Interrupt {
    level: Arc<watch::Sender<Stop>>,
}

impl Default for Interrupt {
    fn default() -> Interrupt {
        Interrupt { level: Arc::new(watch::Sender::new(Stop::No)) }
    }
}

impl Interrupt {
    /// Raises the request to `stop`; a lower level than the current one changes nothing.
    pub fn request(&self, stop: Stop) {
        self.level.send_if_modified(|level| {
            let raised = stop > *level;
            if raised {
                *level = stop;
            }
            raised
        });
    }

    /// Returns the current request.
    pub fn requested(&self) -> Stop {
        *self.level.borrow()
    }

    /// Waits until the request reaches `stop`.
    pub async fn reached(&self, stop: Stop) {
        let mut receiver = self.level.subscribe();
        // The sender lives in `self`, so the channel cannot close while this waits.
        let _ = receiver.wait_for(|level| *level >= stop).await;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn interrupt_levels_only_rise() {
        let interrupt = Interrupt::default();
        let shared = interrupt.clone();
        assert_eq!(interrupt.requested(), Stop::No);

        shared.request(Stop::Abandon);
        interrupt.request(Stop::Drain);

        assert_eq!(interrupt.requested(), Stop::Abandon);
        interrupt.reached(Stop::Drain).await;
    }
}
