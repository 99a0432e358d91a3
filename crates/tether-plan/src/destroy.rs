//! Destroy planning: a delete for every resource of the environment that carries tether's marks
//! or that state records, in reverse dependency order.

use std::collections::{BTreeMap, BTreeSet};

use sha2::{Digest, Sha256};
use tether_catalog::{DesiredGraph, kind_schema};
use tether_model::{Action, Address, ObservedResource, PLAN_FORMAT_VERSION, Plan, ProviderId, ResourceChange, State};

use crate::planner::PlanError;

/// Kinds that a destroy deletes only when the user allows it explicitly: deleting the
/// HostedCluster removes the hosted control plane with its etcd data, and deleting a NodePool
/// drains and terminates its worker nodes.
pub const PROTECTED_KINDS: &[&str] = &["hosted_cluster", "node_pool"];

/// Kinds that tether only looks up and never owns: the public hosted zone of the base domain
/// exists before tether runs and outlives the environment. A destroy leaves them out.
pub const LOOKUP_KINDS: &[&str] = &["public_zone"];

/// Returns true for the management cluster's Namespace of the environment. A destroy keeps it,
/// because tether's history (and, with the `kubernetes` backend, its state) lives in it: deleting it
/// would delete the record of the environment's applies, and the destroy's own record with it.
fn holds_history(address: &Address) -> bool {
    address.provider() == ProviderId::Cluster && address.kind() == "namespace"
}

/// Everything a destroy plan is computed from.
#[derive(Debug, Clone, Copy)]
pub struct DestroyInput<'a> {
    /// The environment's name.
    pub environment: &'a str,
    /// The resources the environment file requests; their dependencies order the deletes.
    pub desired: &'a DesiredGraph,
    /// The resources the providers reported: only those with tether's marks for this
    /// environment, and the untagged ones (routes, associations) that state identifies.
    pub observed: &'a [ObservedResource],
    /// The record of what tether last applied; its dependencies order the deletes too.
    pub state: &'a State,
}

/// A destroy plan and the protected resources it would delete.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DestroyPlan {
    /// One delete per observed resource, each waiting for the deletes of its dependents.
    pub plan: Plan,
    /// The deletes of [`PROTECTED_KINDS`], in address order.
    pub protected: Vec<Address>,
    /// Owned resources the plan keeps: the management cluster's Namespace, which contains tether's
    /// history and may contain its state. The user deletes it once those records are no longer needed.
    pub kept_for_history: Vec<Address>,
}

/// Plans the deletion of every observed resource of the environment except [`LOOKUP_KINDS`].
///
/// A resource's dependencies are the union of those that state recorded and those the file
/// declares. A resource known to neither (found by its marks only) depends on the observed
/// resources of the same provider with a lower kind rank.
///
/// # Errors
/// Fails when two observed resources claim the same address.
pub fn plan_destroy(input: &DestroyInput<'_>) -> Result<DestroyPlan, PlanError> {
    let (history_holders, owned): (Vec<&ObservedResource>, Vec<&ObservedResource>) = input
        .observed
        .iter()
        .filter(|resource| !LOOKUP_KINDS.contains(&resource.address.kind()))
        .partition(|resource| holds_history(&resource.address));
    let kept_for_history = history_holders.into_iter().map(|resource| resource.address.clone()).collect();
    let observed = index_observed(&owned)?;

    let mut changes = Vec::with_capacity(observed.len());
    for resource in observed.values() {
        let depends_on = dependencies(resource, &observed, input);
        changes.push(ResourceChange {
            address: resource.address.clone(),
            action: Action::Delete,
            reasons: Vec::new(),
            id: Some(resource.id.clone()),
            before: Some(resource.attributes.clone()),
            after: None,
            attribute_changes: Vec::new(),
            depends_on,
            disruption: Vec::new(),
            create_before_destroy: false,
        });
    }
    for change in &mut changes {
        change.disruption = crate::disruption::analyse(change);
    }

    let protected = changes
        .iter()
        .filter(|change| PROTECTED_KINDS.contains(&change.address.kind()))
        .map(|change| change.address.clone())
        .collect();
    let plan = Plan {
        format_version: PLAN_FORMAT_VERSION,
        environment: input.environment.to_owned(),
        changes,
        fingerprint: fingerprint(input),
    };
    Ok(DestroyPlan { plan, protected, kept_for_history })
}

fn index_observed<'a>(
    observed: &[&'a ObservedResource],
) -> Result<BTreeMap<&'a Address, &'a ObservedResource>, PlanError> {
    let mut index = BTreeMap::new();
    for &resource in observed {
        if let Some(previous) = index.insert(&resource.address, resource) {
            let mut ids = [previous.id.as_str(), resource.id.as_str()];
            ids.sort_unstable();
            return Err(PlanError::DuplicateObservation { address: resource.address.clone(), ids: ids.join(", ") });
        }
    }
    Ok(index)
}

/// Lists the observed resources that `resource` depends on, so that its delete waits for theirs
/// to be preceded by its own (the engine runs deletes in reverse).
fn dependencies(
    resource: &ObservedResource,
    observed: &BTreeMap<&Address, &ObservedResource>,
    input: &DestroyInput<'_>,
) -> BTreeSet<Address> {
    let address = &resource.address;
    let recorded = input.state.resources.get(address).map(|recorded| &recorded.depends_on);
    let declared = input.desired.get(address).map(|desired| &desired.depends_on);

    let mut depends_on: BTreeSet<Address> = recorded.into_iter().chain(declared).flatten().cloned().collect();
    if recorded.is_none() && declared.is_none() {
        let own_rank = kind_schema(address).map(|schema| schema.rank);
        let lower_ranked = observed.keys().filter(|other| other.provider() == address.provider()).filter(|other| {
            let other_rank = kind_schema(other).map(|schema| schema.rank);
            matches!((other_rank, own_rank), (Some(other), Some(own)) if other < own)
        });
        depends_on.extend(lower_ranked.map(|other| (*other).clone()));
    }
    depends_on.retain(|dependency| observed.contains_key(dependency));
    depends_on
}

/// Computes a digest of the inputs; `destroy` is part of it so that a destroy plan never equals
/// an apply plan of the same inputs.
fn fingerprint(input: &DestroyInput<'_>) -> String {
    let mut hasher = Sha256::new();
    let mut observed: Vec<&ObservedResource> = input.observed.iter().collect();
    observed.sort_by(|left, right| left.address.cmp(&right.address));
    hasher.update(b"destroy\0");
    // Serializing these model types does not fail, because every map key is a `String`. Should it
    // fail, the empty buffer only weakens the fingerprint.
    hasher.update(serde_json::to_vec(&observed).unwrap_or_default());
    hasher.update(serde_json::to_vec(input.state).unwrap_or_default());
    format!("sha256:{:x}", hasher.finalize())
}

#[cfg(test)]
mod tests {
    use tether_model::{Attributes, StateResource};

    use super::*;

    fn observed(address: &Address, id: &str) -> ObservedResource {
        ObservedResource { address: address.clone(), id: id.to_owned(), attributes: Attributes::new() }
    }

    fn destroy(observed: &[ObservedResource], state: &State) -> DestroyPlan {
        let desired = DesiredGraph::new([]).unwrap();
        let input = DestroyInput { environment: "dev", desired: &desired, observed, state };
        plan_destroy(&input).unwrap()
    }

    fn change<'a>(plan: &'a DestroyPlan, address: &Address) -> &'a ResourceChange {
        plan.plan.changes.iter().find(|change| &change.address == address).unwrap()
    }

    #[test]
    fn every_observed_resource_deleted() {
        let vpc = Address::aws("vpc", "main");
        let subnet = Address::aws("subnet", "private-a");
        let plan = destroy(&[observed(&vpc, "vpc-1"), observed(&subnet, "subnet-1")], &State::empty("dev"));

        assert_eq!(plan.plan.changes.len(), 2);
        assert!(plan.plan.changes.iter().all(|change| change.action == Action::Delete));
        assert!(plan.protected.is_empty());
    }

    #[test]
    fn unrecorded_resources_ordered_by_rank() {
        let vpc = Address::aws("vpc", "main");
        let subnet = Address::aws("subnet", "private-a");
        let route = Address::aws("route", "default");
        let all = [observed(&vpc, "vpc-1"), observed(&subnet, "subnet-1"), observed(&route, "rtb-1_0.0.0.0/0")];
        let plan = destroy(&all, &State::empty("dev"));

        assert_eq!(change(&plan, &vpc).depends_on, BTreeSet::new());
        assert_eq!(change(&plan, &subnet).depends_on, BTreeSet::from([vpc.clone()]));
        assert_eq!(change(&plan, &route).depends_on, BTreeSet::from([vpc, subnet]));
    }

    #[test]
    fn recorded_dependencies_kept_when_observed() {
        let vpc = Address::aws("vpc", "main");
        let gone = Address::aws("internet_gateway", "gone");
        let subnet = Address::aws("subnet", "private-a");
        let mut state = State::empty("dev");
        let recorded = StateResource {
            id: "subnet-1".to_owned(),
            attributes: Attributes::new(),
            depends_on: BTreeSet::from([vpc.clone(), gone]),
        };
        state.resources.insert(subnet.clone(), recorded);
        let plan = destroy(&[observed(&vpc, "vpc-1"), observed(&subnet, "subnet-1")], &state);

        assert_eq!(change(&plan, &subnet).depends_on, BTreeSet::from([vpc]));
    }

    #[test]
    fn public_zone_never_deleted() {
        let zone = Address::aws("public_zone", "base");
        let vpc = Address::aws("vpc", "main");
        let plan = destroy(&[observed(&zone, "Z1"), observed(&vpc, "vpc-1")], &State::empty("dev"));

        let addresses: Vec<&Address> = plan.plan.changes.iter().map(|change| &change.address).collect();
        assert_eq!(addresses, vec![&vpc]);
    }

    #[test]
    fn cluster_and_pools_protected() {
        let cluster = Address::cluster("hosted_cluster", "ai");
        let pool = Address::cluster("node_pool", "gpu");
        let namespace = Address::cluster("namespace", "hcp-ai");
        let all = [observed(&cluster, "hcp-ai/ai"), observed(&pool, "hcp-ai/gpu"), observed(&namespace, "hcp-ai")];
        let plan = destroy(&all, &State::empty("dev"));

        assert_eq!(plan.protected, vec![cluster, pool]);
    }

    #[test]
    fn history_namespace_kept() {
        let cluster = Address::cluster("hosted_cluster", "ai");
        let namespace = Address::cluster("namespace", "hcp-ai");
        let addon_namespace = Address::hosted("namespace", "gpu-operator");
        let all =
            [observed(&cluster, "hcp-ai/ai"), observed(&namespace, "hcp-ai"), observed(&addon_namespace, "nvidia")];
        let plan = destroy(&all, &State::empty("dev"));

        let deleted: Vec<&Address> = plan.plan.changes.iter().map(|change| &change.address).collect();
        assert_eq!(deleted, vec![&cluster, &addon_namespace]);
        assert_eq!(plan.kept_for_history, vec![namespace]);
        assert!(change(&plan, &cluster).depends_on.is_empty(), "no delete waits on the kept namespace");
    }

    #[test]
    fn duplicate_observation_rejected() {
        let vpc = Address::aws("vpc", "main");
        let desired = DesiredGraph::new([]).unwrap();
        let state = State::empty("dev");
        let all = [observed(&vpc, "vpc-1"), observed(&vpc, "vpc-2")];
        let input = DestroyInput { environment: "dev", desired: &desired, observed: &all, state: &state };
        assert!(matches!(plan_destroy(&input), Err(PlanError::DuplicateObservation { .. })));
    }
}
