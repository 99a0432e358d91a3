//! Drift classification on hand-built state and observations.

use std::collections::BTreeSet;

use tether_catalog::DesiredGraph;
use tether_model::{Action, Address, Attributes, ObservedResource, Resource, State, StateResource, Value};
use tether_plan::{DriftInput, DriftKind, DriftedAttribute, IgnoreRule, classify_drift};

fn pool_spec(entries: Vec<(&str, Value)>) -> Attributes {
    Attributes::from([("spec".to_owned(), Value::map(entries))])
}

fn taint() -> Value {
    Value::List(vec![Value::map([("key", Value::from("nvidia.com/gpu")), ("effect", Value::from("NoSchedule"))])])
}

fn gpu_applied() -> Attributes {
    pool_spec(vec![("autoScaling", Value::map([("min", Value::Int(0)), ("max", Value::Int(2))])), ("taints", taint())])
}

fn state_with(resources: Vec<(Address, &str, Attributes)>) -> State {
    let mut state = State::empty("dev");
    for (address, id, attributes) in resources {
        state.resources.insert(address, StateResource { id: id.to_owned(), attributes, depends_on: BTreeSet::new() });
    }
    state
}

fn observed(address: &Address, id: &str, attributes: Attributes) -> ObservedResource {
    ObservedResource { address: address.clone(), id: id.to_owned(), attributes }
}

fn desired(resources: Vec<(Address, Attributes)>) -> DesiredGraph {
    DesiredGraph::new(resources.into_iter().map(|(address, attributes)| Resource::new(address, attributes))).unwrap()
}

#[test]
fn removed_taint_is_changed_drift() {
    let gpu = Address::cluster("node_pool", "gpu");
    let state = state_with(vec![(gpu.clone(), "hcp-ai/ai-gpu", gpu_applied())]);
    let now = pool_spec(vec![("autoScaling", Value::map([("min", Value::Int(0)), ("max", Value::Int(2))]))]);
    let graph = desired(vec![(gpu.clone(), gpu_applied())]);
    let observed = [observed(&gpu, "hcp-ai/ai-gpu", now)];

    let report = classify_drift(&DriftInput {
        environment: "dev",
        desired: &graph,
        observed: &observed,
        state: &state,
        ignore: &[],
    });

    assert_eq!(report.drift.len(), 1);
    assert_eq!(report.drift[0].kind, DriftKind::Changed);
    let expected = DriftedAttribute { path: "spec.taints".to_owned(), applied: taint(), observed: None };
    assert_eq!(report.drift[0].attributes, [expected]);
    assert!(report.pending.is_empty());
}

#[test]
fn autoscaled_replicas_are_not_drift() {
    let gpu = Address::cluster("node_pool", "gpu");
    let mut applied = gpu_applied();
    applied.insert("status".to_owned(), Value::map([("replicas", Value::Int(0))]));
    let state = state_with(vec![(gpu.clone(), "hcp-ai/ai-gpu", applied)]);
    let mut now = gpu_applied();
    if let Some(Value::Map(spec)) = now.get_mut("spec") {
        spec.insert("replicas".to_owned(), Value::Int(2));
    }
    now.insert("status".to_owned(), Value::map([("replicas", Value::Int(2))]));
    let graph = desired(vec![(gpu.clone(), gpu_applied())]);
    let observed = [observed(&gpu, "hcp-ai/ai-gpu", now)];

    let report = classify_drift(&DriftInput {
        environment: "dev",
        desired: &graph,
        observed: &observed,
        state: &state,
        ignore: &[],
    });

    assert!(!report.has_drift(), "{report:?}");
}

#[test]
fn fixed_replicas_changed_by_hand_are_drift() {
    let workers = Address::cluster("node_pool", "workers");
    let state = state_with(vec![(workers.clone(), "hcp-ai/ai-workers", pool_spec(vec![("replicas", Value::Int(2))]))]);
    let graph = desired(vec![(workers.clone(), pool_spec(vec![("replicas", Value::Int(2))]))]);
    let observed = [observed(&workers, "hcp-ai/ai-workers", pool_spec(vec![("replicas", Value::Int(5))]))];

    let report = classify_drift(&DriftInput {
        environment: "dev",
        desired: &graph,
        observed: &observed,
        state: &state,
        ignore: &[],
    });

    assert_eq!(report.drift.len(), 1);
    assert_eq!(report.drift[0].attributes[0].path, "spec.replicas");
    assert_eq!(report.drift[0].attributes[0].applied, Value::Int(2));
    assert_eq!(report.drift[0].attributes[0].observed, Some(Value::Int(5)));
}

#[test]
fn missing_and_unrecorded_resources_are_drift() {
    let route = Address::aws("route", "private-default");
    let extra = Address::aws("subnet", "extra");
    let state = state_with(vec![(route.clone(), "rtb-1_0.0.0.0/0", Attributes::new())]);
    let graph = desired(vec![(route.clone(), Attributes::new())]);
    let observed = [observed(&extra, "subnet-9", Attributes::new())];

    let report = classify_drift(&DriftInput {
        environment: "dev",
        desired: &graph,
        observed: &observed,
        state: &state,
        ignore: &[],
    });

    let kinds: Vec<(String, DriftKind)> =
        report.drift.iter().map(|item| (item.address.to_string(), item.kind)).collect();
    assert_eq!(
        kinds,
        [
            ("aws.route.private-default".to_owned(), DriftKind::Deleted),
            ("aws.subnet.extra".to_owned(), DriftKind::Unmanaged)
        ]
    );
    assert_eq!(report.drift[0].id, "rtb-1_0.0.0.0/0");
}

#[test]
fn unapplied_file_change_is_pending_not_drift() {
    let workers = Address::cluster("node_pool", "workers");
    let applied = pool_spec(vec![("replicas", Value::Int(2))]);
    let state = state_with(vec![(workers.clone(), "hcp-ai/ai-workers", applied.clone())]);
    let graph = desired(vec![
        (workers.clone(), pool_spec(vec![("replicas", Value::Int(3))])),
        (Address::cluster("namespace", "new"), Attributes::new()),
    ]);
    let observed = [observed(&workers, "hcp-ai/ai-workers", applied)];

    let report = classify_drift(&DriftInput {
        environment: "dev",
        desired: &graph,
        observed: &observed,
        state: &state,
        ignore: &[],
    });

    assert!(!report.has_drift(), "{report:?}");
    let pending: Vec<(String, Action, Vec<String>)> =
        report.pending.iter().map(|item| (item.address.to_string(), item.action, item.paths.clone())).collect();
    assert_eq!(
        pending,
        [
            ("cluster.namespace.new".to_owned(), Action::Create, Vec::new()),
            ("cluster.node_pool.workers".to_owned(), Action::Update, vec!["spec.replicas".to_owned()]),
        ]
    );
}

#[test]
fn reference_resolved_from_state_is_not_pending() {
    let vpc = Address::aws("vpc", "main");
    let subnet = Address::aws("subnet", "a");
    let state = state_with(vec![
        (vpc.clone(), "vpc-1", Attributes::new()),
        (subnet.clone(), "subnet-1", Attributes::from([("vpc_id".to_owned(), Value::from("vpc-1"))])),
    ]);
    let graph = desired(vec![
        (vpc.clone(), Attributes::new()),
        (subnet.clone(), Attributes::from([("vpc_id".to_owned(), Value::reference_to_id(&vpc))])),
    ]);

    let report =
        classify_drift(&DriftInput { environment: "dev", desired: &graph, observed: &[], state: &state, ignore: &[] });

    assert!(report.pending.is_empty(), "{:?}", report.pending);
    assert_eq!(report.drift.len(), 2);
    assert!(report.drift.iter().all(|item| item.kind == DriftKind::Deleted));
}

#[test]
fn edited_tag_is_drift() {
    let vpc = Address::aws("vpc", "main");
    let tags = |name: &str| Attributes::from([("tags".to_owned(), Value::map([("Name", Value::from(name))]))]);
    let state = state_with(vec![(vpc.clone(), "vpc-1", tags("ai-vpc"))]);
    let graph = desired(vec![(vpc.clone(), tags("ai-vpc"))]);
    let observed = [observed(&vpc, "vpc-1", tags("renamed"))];

    let report = classify_drift(&DriftInput {
        environment: "dev",
        desired: &graph,
        observed: &observed,
        state: &state,
        ignore: &[],
    });

    assert_eq!(report.drift.len(), 1);
    assert_eq!(report.drift[0].attributes[0].path, "tags");
}

#[test]
fn ignore_rules_skip_paths_and_map_keys() {
    let vpc = Address::aws("vpc", "main");
    let workers = Address::cluster("node_pool", "workers");
    let tags = |cost: &str| {
        Attributes::from([(
            "tags".to_owned(),
            Value::map([("Name", Value::from("ai-vpc")), ("CostCenter", Value::from(cost))]),
        )])
    };
    let state = state_with(vec![
        (vpc.clone(), "vpc-1", tags("1")),
        (workers.clone(), "hcp-ai/ai-workers", pool_spec(vec![("replicas", Value::Int(2))])),
    ]);
    let graph =
        desired(vec![(vpc.clone(), tags("1")), (workers.clone(), pool_spec(vec![("replicas", Value::Int(2))]))]);
    let observed = [
        observed(&vpc, "vpc-1", tags("2")),
        observed(&workers, "hcp-ai/ai-workers", pool_spec(vec![("replicas", Value::Int(3))])),
    ];
    let ignore = [
        IgnoreRule { resource: "aws.vpc.main".to_owned(), path: "tags.CostCenter".to_owned() },
        IgnoreRule { resource: "cluster.node_pool.*".to_owned(), path: "spec.replicas".to_owned() },
    ];

    let report = classify_drift(&DriftInput {
        environment: "dev",
        desired: &graph,
        observed: &observed,
        state: &state,
        ignore: &ignore,
    });

    assert!(!report.has_drift(), "{report:?}");
}

#[test]
fn ignore_rule_for_other_resource_keeps_drift() {
    let rule = IgnoreRule { resource: "cluster.node_pool.gpu".to_owned(), path: "spec.replicas".to_owned() };
    assert!(!rule.matches(&Address::cluster("node_pool", "workers")));
    assert!(rule.matches(&Address::cluster("node_pool", "gpu")));
    let kind_rule = IgnoreRule { resource: "aws.subnet.*".to_owned(), path: "tags".to_owned() };
    assert!(kind_rule.matches(&Address::aws("subnet", "private-a")));
    assert!(!kind_rule.matches(&Address::aws("vpc", "main")));
}

/// Builds the `fieldOwners` summary that the Kubernetes provider makes of `managedFields`.
fn field_owners(entries: &[(&str, &str, &[&str])]) -> Value {
    let entry = |(manager, operation, fields): &(&str, &str, &[&str])| {
        Value::map([
            ("manager", Value::from(*manager)),
            ("operation", Value::from(*operation)),
            ("fields", Value::List(fields.iter().map(|field| Value::from(*field)).collect())),
        ])
    };
    Value::List(entries.iter().map(entry).collect())
}

fn classify_one(address: &Address, applied: Attributes, now: Attributes) -> tether_plan::DriftReport {
    let state = state_with(vec![(address.clone(), "hcp-ai/x", applied.clone())]);
    let graph = desired(vec![(address.clone(), applied)]);
    let observed = [observed(address, "hcp-ai/x", now)];
    classify_drift(&DriftInput { environment: "dev", desired: &graph, observed: &observed, state: &state, ignore: &[] })
}

#[test]
fn field_another_manager_applied_is_not_drift() {
    let cluster = Address::cluster("hosted_cluster", "ai");
    let release = |image: &str| Value::map([("image", Value::from(image))]);
    let applied = pool_spec(vec![("release", release("quay.io/ocp:4.21.12")), ("pullSecret", Value::from("ps"))]);
    let mut now = pool_spec(vec![("release", release("quay.io/ocp:4.21.13")), ("pullSecret", Value::from("other"))]);
    let owners: &[(&str, &str, &[&str])] = &[
        ("tether", "Apply", &["spec.pullSecret"]),
        ("hypershift-operator", "Apply", &["spec.release.image"]),
        ("kubectl-edit", "Update", &["spec.pullSecret"]),
    ];
    now.insert("fieldOwners".to_owned(), field_owners(owners));

    let report = classify_one(&cluster, applied, now);

    let paths: Vec<&str> = report.drift[0].attributes.iter().map(|attribute| attribute.path.as_str()).collect();
    assert_eq!(paths, ["spec.pullSecret"], "HyperShift applied the release image; tether still owns the pull secret");
}

#[test]
fn removed_taint_is_drift_whoever_owns_the_rest() {
    let gpu = Address::cluster("node_pool", "gpu");
    let mut now = pool_spec(vec![("autoScaling", Value::map([("min", Value::Int(0)), ("max", Value::Int(2))]))]);
    let owners: &[(&str, &str, &[&str])] = &[("tether", "Apply", &["spec.autoScaling.max", "spec.autoScaling.min"])];
    now.insert("fieldOwners".to_owned(), field_owners(owners));

    let report = classify_one(&gpu, gpu_applied(), now);

    assert_eq!(report.drift.len(), 1);
    let paths: Vec<&str> = report.drift[0].attributes.iter().map(|attribute| attribute.path.as_str()).collect();
    assert_eq!(paths, ["spec.taints"]);
}

#[test]
fn replicas_scaled_by_kubectl_are_drift() {
    let workers = Address::cluster("node_pool", "workers");
    let mut now = pool_spec(vec![("replicas", Value::Int(5))]);
    now.insert("fieldOwners".to_owned(), field_owners(&[("kubectl-scale", "Update", &["spec.replicas"])]));

    let report = classify_one(&workers, pool_spec(vec![("replicas", Value::Int(2))]), now);

    assert_eq!(report.drift.len(), 1, "{report:?}");
    assert_eq!(report.drift[0].attributes[0].path, "spec.replicas");
}
