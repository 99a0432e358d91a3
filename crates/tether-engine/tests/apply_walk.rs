//! The executor's walk, driven with an in-memory provider that records the order of calls.

use std::collections::{BTreeMap, BTreeSet};
use std::sync::{Arc, Mutex};

use async_trait::async_trait;
use tether_engine::{
    Applied, ApplyOptions, ApplyRequest, DeleteRequest, LocalStateStore, NoProgress, ObserveScope, Provider,
    ProviderError, Providers, StateStore as _, apply,
};
use tether_model::{
    Action, Address, Attributes, ObservedResource, PLAN_FORMAT_VERSION, Plan, ProviderId, ResourceChange, State, Value,
};

/// Records calls; fails creates of the addresses in `failing`.
#[derive(Default)]
struct RecordingProvider {
    calls: Mutex<Vec<String>>,
    failing: BTreeSet<String>,
}

#[async_trait]
impl Provider for RecordingProvider {
    fn id(&self) -> ProviderId {
        ProviderId::Aws
    }

    async fn observe(&self, _scope: &ObserveScope<'_>) -> Result<Vec<ObservedResource>, ProviderError> {
        Ok(Vec::new())
    }

    async fn create(&self, request: &ApplyRequest<'_>) -> Result<Applied, ProviderError> {
        self.calls.lock().unwrap().push(format!("create {}", request.address));
        if self.failing.contains(&request.address.to_string()) {
            return Err(ProviderError::permanent("CreateThing", "InvalidParameterValue: injected"));
        }
        Ok(Applied { id: format!("id-{}", request.address.name()), attributes: request.attributes.clone() })
    }

    async fn update(&self, request: &ApplyRequest<'_>) -> Result<Applied, ProviderError> {
        self.calls.lock().unwrap().push(format!("update {}", request.address));
        Ok(Applied { id: request.id.unwrap_or_default().to_owned(), attributes: request.attributes.clone() })
    }

    async fn delete(&self, request: &DeleteRequest<'_>) -> Result<(), ProviderError> {
        self.calls.lock().unwrap().push(format!("delete {}", request.address));
        Ok(())
    }
}

fn change(name: &str, action: Action, depends_on: &[&str], after: Attributes) -> ResourceChange {
    ResourceChange {
        address: Address::aws("thing", name),
        action,
        reasons: Vec::new(),
        id: (action != Action::Create).then(|| format!("id-{name}")),
        before: (action != Action::Create).then(Attributes::new),
        after: (action != Action::Delete).then_some(after),
        attribute_changes: Vec::new(),
        depends_on: depends_on.iter().map(|name| Address::aws("thing", name)).collect(),
        disruption: Vec::new(),
        create_before_destroy: false,
    }
}

fn reference(name: &str) -> Attributes {
    BTreeMap::from([("parent".to_owned(), Value::reference_to_id(&Address::aws("thing", name)))])
}

fn plan(changes: Vec<ResourceChange>) -> Plan {
    Plan { format_version: PLAN_FORMAT_VERSION, environment: "test".to_owned(), changes, fingerprint: String::new() }
}

async fn run(
    plan: &Plan,
    provider: Arc<RecordingProvider>,
    parallelism: usize,
) -> (tether_engine::ApplyReport, State, State) {
    let dir = tempfile::tempdir().unwrap();
    let store = LocalStateStore::new(dir.path().join("state.json"));
    let providers: Providers = BTreeMap::from([(ProviderId::Aws, provider as Arc<dyn Provider>)]);
    let options = ApplyOptions { parallelism, ..ApplyOptions::default() };
    let (report, state) = apply(plan, &providers, &store, State::empty("test"), options, &NoProgress).await.unwrap();
    let saved = store.load("test").await.unwrap().unwrap();
    (report, state, saved)
}

#[tokio::test]
async fn creates_follow_dependencies_and_resolve_ids() {
    let provider = Arc::new(RecordingProvider::default());
    let plan = plan(vec![
        change("child", Action::Create, &["root"], reference("root")),
        change("root", Action::Create, &[], Attributes::new()),
    ]);
    let (report, state, saved) = run(&plan, provider.clone(), 4).await;
    assert!(report.succeeded());
    assert_eq!(*provider.calls.lock().unwrap(), ["create aws.thing.root", "create aws.thing.child"]);
    let child = &state.resources[&Address::aws("thing", "child")];
    assert_eq!(child.attributes["parent"], Value::from("id-root"));
    assert_eq!(saved, state);
}

#[tokio::test]
async fn failure_skips_dependents_only() {
    let provider =
        Arc::new(RecordingProvider { failing: BTreeSet::from(["aws.thing.root".to_owned()]), ..Default::default() });
    let plan = plan(vec![
        change("root", Action::Create, &[], Attributes::new()),
        change("child", Action::Create, &["root"], reference("root")),
        change("grandchild", Action::Create, &["child"], reference("child")),
        change("other", Action::Create, &[], Attributes::new()),
    ]);
    let (report, _state, saved) = run(&plan, provider, 4).await;
    assert_eq!(report.failed.len(), 1);
    assert_eq!(report.failed[0].address, Address::aws("thing", "root"));
    let skipped: Vec<String> = report.skipped.iter().map(|(address, _, _)| address.to_string()).collect();
    assert_eq!(skipped, ["aws.thing.child", "aws.thing.grandchild"]);
    assert!(report.skipped.iter().all(|(_, _, because)| *because == Address::aws("thing", "root")));
    assert!(saved.resources.contains_key(&Address::aws("thing", "other")), "independent branch recorded");
    assert!(!saved.resources.contains_key(&Address::aws("thing", "root")));
}

#[tokio::test]
async fn deletes_run_in_reverse_dependency_order() {
    let provider = Arc::new(RecordingProvider::default());
    let plan = plan(vec![
        change("vpc", Action::Delete, &[], Attributes::new()),
        change("subnet", Action::Delete, &["vpc"], Attributes::new()),
        change("route", Action::Delete, &["subnet"], Attributes::new()),
    ]);
    let (report, state, _saved) = run(&plan, provider.clone(), 4).await;
    assert!(report.succeeded());
    assert_eq!(
        *provider.calls.lock().unwrap(),
        ["delete aws.thing.route", "delete aws.thing.subnet", "delete aws.thing.vpc"]
    );
    assert!(state.resources.is_empty());
}

#[tokio::test]
async fn replacement_deletes_dependents_first_and_creates_them_last() {
    let provider = Arc::new(RecordingProvider::default());
    let plan = plan(vec![
        change("vpc", Action::Replace, &[], Attributes::new()),
        change("subnet", Action::Replace, &["vpc"], reference("vpc")),
        change("unrelated", Action::NoOp, &[], Attributes::new()),
    ]);
    let (report, state, _saved) = run(&plan, provider.clone(), 4).await;
    assert!(report.succeeded());
    assert_eq!(
        *provider.calls.lock().unwrap(),
        ["delete aws.thing.subnet", "delete aws.thing.vpc", "create aws.thing.vpc", "create aws.thing.subnet"]
    );
    let subnet = &state.resources[&Address::aws("thing", "subnet")];
    assert_eq!(subnet.attributes["parent"], Value::from("id-vpc"), "the new VPC's id");
    assert_eq!(
        tether_model::PlanSummary::from_actions(report.applied.iter().map(|(_, action)| *action)).to_string(),
        "2 to add, 0 to change, 2 to destroy"
    );
}

#[tokio::test]
async fn create_before_destroy_moves_dependents_first() {
    let provider = Arc::new(RecordingProvider::default());
    let mut router = change("router", Action::Replace, &[], Attributes::new());
    router.create_before_destroy = true;
    let plan = plan(vec![router, change("route", Action::Update, &["router"], reference("router"))]);
    let (report, state, saved) = run(&plan, provider.clone(), 4).await;
    assert!(report.succeeded());
    assert_eq!(
        *provider.calls.lock().unwrap(),
        ["create aws.thing.router", "update aws.thing.route", "delete aws.thing.router"]
    );
    assert_eq!(state.resources[&Address::aws("thing", "router")].id, "id-router", "the new copy stays recorded");
    assert_eq!(saved, state);
}

#[tokio::test]
async fn failed_replacement_create_keeps_delete_recorded() {
    let provider =
        Arc::new(RecordingProvider { failing: BTreeSet::from(["aws.thing.vpc".to_owned()]), ..Default::default() });
    let plan = plan(vec![
        change("vpc", Action::Replace, &[], Attributes::new()),
        change("subnet", Action::Create, &["vpc"], reference("vpc")),
    ]);
    let (report, _state, saved) = run(&plan, provider, 4).await;
    assert_eq!(report.failed.len(), 1);
    assert_eq!(report.failed[0].action, Action::Create);
    let skipped: Vec<String> = report.skipped.iter().map(|(address, _, _)| address.to_string()).collect();
    assert_eq!(skipped, ["aws.thing.subnet"], "the replacement's own halves are not reported as skipped");
    assert!(!saved.resources.contains_key(&Address::aws("thing", "vpc")), "the finished delete is recorded");
}

#[tokio::test]
async fn noop_resources_are_recorded_in_state() {
    let provider = Arc::new(RecordingProvider::default());
    let plan = plan(vec![
        change("existing", Action::NoOp, &[], Attributes::new()),
        change("new", Action::Create, &["existing"], reference("existing")),
    ]);
    let (_report, state, _saved) = run(&plan, provider.clone(), 1).await;
    assert_eq!(state.resources[&Address::aws("thing", "existing")].id, "id-existing");
    assert_eq!(state.resources[&Address::aws("thing", "new")].attributes["parent"], Value::from("id-existing"));
    assert_eq!(*provider.calls.lock().unwrap(), ["create aws.thing.new"]);
}

#[tokio::test]
async fn independent_changes_run_concurrently_up_to_parallelism() {
    /// Counts changes in flight and remembers the maximum.
    #[derive(Default)]
    struct SlowProvider {
        in_flight: Mutex<(usize, usize)>,
    }

    #[async_trait]
    impl Provider for SlowProvider {
        fn id(&self) -> ProviderId {
            ProviderId::Aws
        }
        async fn observe(&self, _scope: &ObserveScope<'_>) -> Result<Vec<ObservedResource>, ProviderError> {
            Ok(Vec::new())
        }
        async fn create(&self, request: &ApplyRequest<'_>) -> Result<Applied, ProviderError> {
            {
                let mut counts = self.in_flight.lock().unwrap();
                counts.0 += 1;
                counts.1 = counts.1.max(counts.0);
            }
            tokio::time::sleep(std::time::Duration::from_millis(20)).await;
            self.in_flight.lock().unwrap().0 -= 1;
            Ok(Applied { id: request.address.name().to_owned(), attributes: Attributes::new() })
        }
        async fn update(&self, _request: &ApplyRequest<'_>) -> Result<Applied, ProviderError> {
            unreachable!("the plan has creates only")
        }
        async fn delete(&self, _request: &DeleteRequest<'_>) -> Result<(), ProviderError> {
            unreachable!("the plan has creates only")
        }
    }

    let provider = Arc::new(SlowProvider::default());
    let changes = (0..8).map(|index| change(&format!("n{index}"), Action::Create, &[], Attributes::new())).collect();
    let plan = plan(changes);
    let dir = tempfile::tempdir().unwrap();
    let store = LocalStateStore::new(dir.path().join("state.json"));
    let providers: Providers = BTreeMap::from([(ProviderId::Aws, provider.clone() as Arc<dyn Provider>)]);
    let options = ApplyOptions { parallelism: 3, ..ApplyOptions::default() };
    let (report, _) = apply(&plan, &providers, &store, State::empty("test"), options, &NoProgress).await.unwrap();
    assert!(report.succeeded());
    assert_eq!(provider.in_flight.lock().unwrap().1, 3);
}

#[tokio::test]
async fn longest_chain_starts_first() {
    let provider = Arc::new(RecordingProvider::default());
    // The leaves sort before the chain, so a walk in address order would start them first and
    // leave the chain's head waiting for the only slot.
    let mut changes: Vec<ResourceChange> =
        (0..4).map(|index| change(&format!("a-leaf-{index}"), Action::Create, &[], Attributes::new())).collect();
    changes.push(change("z-chain-1", Action::Create, &[], Attributes::new()));
    changes.push(change("z-chain-2", Action::Create, &["z-chain-1"], reference("z-chain-1")));
    changes.push(change("z-chain-3", Action::Create, &["z-chain-2"], reference("z-chain-2")));
    let plan = plan(changes);

    let (report, _state, _saved) = run(&plan, provider.clone(), 1).await;

    assert!(report.succeeded());
    assert_eq!(
        *provider.calls.lock().unwrap(),
        [
            "create aws.thing.z-chain-1",
            "create aws.thing.z-chain-2",
            // The chain's last change has nothing behind it, like the leaves, so the address
            // decides.
            "create aws.thing.a-leaf-0",
            "create aws.thing.a-leaf-1",
            "create aws.thing.a-leaf-2",
            "create aws.thing.a-leaf-3",
            "create aws.thing.z-chain-3",
        ]
    );
}

#[tokio::test]
async fn released_dependent_overtakes_shorter_ready_changes() {
    let provider = Arc::new(RecordingProvider::default());
    // Finishing `b-root` releases `b-mid`, whose chain is two steps long, so it starts before the
    // leaves that were ready earlier. It ties with `c-short-root`, and the address breaks the tie.
    let plan = plan(vec![
        change("a-leaf-1", Action::Create, &[], Attributes::new()),
        change("a-leaf-2", Action::Create, &[], Attributes::new()),
        change("b-root", Action::Create, &[], Attributes::new()),
        change("b-mid", Action::Create, &["b-root"], reference("b-root")),
        change("b-tail", Action::Create, &["b-mid"], reference("b-mid")),
        change("c-short-root", Action::Create, &[], Attributes::new()),
        change("c-short-tail", Action::Create, &["c-short-root"], reference("c-short-root")),
    ]);

    let (report, _state, _saved) = run(&plan, provider.clone(), 1).await;

    assert!(report.succeeded());
    assert_eq!(
        *provider.calls.lock().unwrap(),
        [
            "create aws.thing.b-root",
            "create aws.thing.b-mid",
            "create aws.thing.c-short-root",
            "create aws.thing.a-leaf-1",
            "create aws.thing.a-leaf-2",
            "create aws.thing.b-tail",
            "create aws.thing.c-short-tail",
        ]
    );
}

#[tokio::test]
async fn replacement_chain_counts_both_halves() {
    let provider = Arc::new(RecordingProvider::default());
    // The replaced VPC's chain is four steps long (delete subnet, delete VPC, create VPC, create
    // subnet), longer than the three creates of `a-new`, so the subnet's delete starts first.
    let plan = plan(vec![
        change("a-new-1", Action::Create, &[], Attributes::new()),
        change("a-new-2", Action::Create, &["a-new-1"], reference("a-new-1")),
        change("a-new-3", Action::Create, &["a-new-2"], reference("a-new-2")),
        change("vpc", Action::Replace, &[], Attributes::new()),
        change("vpc-subnet", Action::Replace, &["vpc"], reference("vpc")),
    ]);

    let (report, _state, _saved) = run(&plan, provider.clone(), 1).await;

    assert!(report.succeeded());
    let calls = provider.calls.lock().unwrap().clone();
    assert_eq!(calls.len(), 7, "{calls:#?}");
    assert_eq!(calls[0], "delete aws.thing.vpc-subnet", "{calls:#?}");
}

/// Checks, before each create, that everything the resource depends on is in the saved state file.
struct StateCheckingProvider {
    state_file: std::path::PathBuf,
    depends_on: BTreeMap<String, BTreeSet<Address>>,
    unrecorded: Mutex<Vec<String>>,
}

#[async_trait]
impl Provider for StateCheckingProvider {
    fn id(&self) -> ProviderId {
        ProviderId::Aws
    }

    async fn observe(&self, _scope: &ObserveScope<'_>) -> Result<Vec<ObservedResource>, ProviderError> {
        Ok(Vec::new())
    }

    async fn create(&self, request: &ApplyRequest<'_>) -> Result<Applied, ProviderError> {
        let saved: State = serde_json::from_slice(&std::fs::read(&self.state_file).unwrap()).unwrap();
        for dependency in self.depends_on.get(&request.address.to_string()).into_iter().flatten() {
            if !saved.resources.contains_key(dependency) {
                self.unrecorded.lock().unwrap().push(format!("{} before {dependency}", request.address));
            }
        }
        Ok(Applied { id: format!("id-{}", request.address.name()), attributes: request.attributes.clone() })
    }

    async fn update(&self, _request: &ApplyRequest<'_>) -> Result<Applied, ProviderError> {
        unreachable!("the plan has creates only")
    }

    async fn delete(&self, _request: &DeleteRequest<'_>) -> Result<(), ProviderError> {
        unreachable!("the plan has creates only")
    }
}

#[tokio::test]
async fn dependents_start_after_dependency_is_saved() {
    // Four roots finish at once and share a save; each has two dependents.
    let mut changes = Vec::new();
    for root in 0..4 {
        let name = format!("root-{root}");
        changes.push(change(&name, Action::Create, &[], Attributes::new()));
        for child in 0..2 {
            changes.push(change(&format!("child-{root}-{child}"), Action::Create, &[&name], reference(&name)));
        }
    }
    let plan = plan(changes);
    let dir = tempfile::tempdir().unwrap();
    let state_file = dir.path().join("state.json");
    let depends_on =
        plan.changes.iter().map(|change| (change.address.to_string(), change.depends_on.clone())).collect();
    let provider =
        Arc::new(StateCheckingProvider { state_file: state_file.clone(), depends_on, unrecorded: Mutex::default() });
    let store = LocalStateStore::new(&state_file);
    let providers: Providers = BTreeMap::from([(ProviderId::Aws, provider.clone() as Arc<dyn Provider>)]);
    let options = ApplyOptions { parallelism: 4, ..ApplyOptions::default() };

    let (report, state) = apply(&plan, &providers, &store, State::empty("test"), options, &NoProgress).await.unwrap();

    assert!(report.succeeded());
    assert_eq!(state.resources.len(), 12);
    assert_eq!(*provider.unrecorded.lock().unwrap(), Vec::<String>::new(), "a dependent started before its record");
    assert_eq!(store.load("test").await.unwrap().unwrap(), state);
}
