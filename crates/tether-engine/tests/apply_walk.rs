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
