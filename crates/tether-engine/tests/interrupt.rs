//! Interrupting an apply: a drain request lets the changes in flight finish and starts nothing
//! new, and an abandon request returns at once. A provider whose creates wait on a gate simulates
//! slow cloud calls.

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};

use async_trait::async_trait;
use tether_engine::{
    Applied, ApplyOptions, ApplyRequest, DeleteRequest, Interrupt, LocalStateStore, NoProgress, ObserveScope, Provider,
    ProviderError, Providers, StateStore as _, Stop, apply,
};
use tether_model::{
    Action, Address, Attributes, ObservedResource, PLAN_FORMAT_VERSION, Plan, ProviderId, ResourceChange, State,
};
use tokio::sync::Notify;

/// Creates wait until `gate` opens; each create that starts is counted.
#[derive(Default)]
struct GatedProvider {
    started: Mutex<Vec<String>>,
    entered: Notify,
    gate: Notify,
}

#[async_trait]
impl Provider for GatedProvider {
    fn id(&self) -> ProviderId {
        ProviderId::Aws
    }

    async fn observe(&self, _scope: &ObserveScope<'_>) -> Result<Vec<ObservedResource>, ProviderError> {
        Ok(Vec::new())
    }

    async fn create(&self, request: &ApplyRequest<'_>) -> Result<Applied, ProviderError> {
        self.started.lock().unwrap().push(request.address.to_string());
        self.entered.notify_one();
        self.gate.notified().await;
        Ok(Applied { id: format!("id-{}", request.address.name()), attributes: request.attributes.clone() })
    }

    async fn update(&self, _request: &ApplyRequest<'_>) -> Result<Applied, ProviderError> {
        unreachable!("the plan has only creates")
    }

    async fn delete(&self, _request: &DeleteRequest<'_>) -> Result<(), ProviderError> {
        unreachable!("the plan has only creates")
    }
}

/// Returns a plan of creates: a chain `a <- b <- c` and an independent `d`.
fn plan() -> Plan {
    let change = |name: &str, depends_on: &[&str]| ResourceChange {
        address: Address::aws("thing", name),
        action: Action::Create,
        reasons: Vec::new(),
        id: None,
        before: None,
        after: Some(Attributes::new()),
        attribute_changes: Vec::new(),
        depends_on: depends_on.iter().map(|name| Address::aws("thing", name)).collect(),
        disruption: Vec::new(),
        create_before_destroy: false,
    };
    let changes = vec![change("a", &[]), change("b", &["a"]), change("c", &["b"]), change("d", &[])];
    Plan { format_version: PLAN_FORMAT_VERSION, environment: "test".to_owned(), changes, fingerprint: String::new() }
}

fn names(list: &[(Address, Action)]) -> Vec<String> {
    list.iter().map(|(address, _)| address.to_string()).collect()
}

#[tokio::test]
async fn drain_finishes_in_flight_and_starts_nothing() {
    let provider = Arc::new(GatedProvider::default());
    let providers: Providers = BTreeMap::from([(ProviderId::Aws, provider.clone() as Arc<dyn Provider>)]);
    let dir = tempfile::tempdir().unwrap();
    let store = LocalStateStore::new(dir.path().join("state.json"));
    let interrupt = Interrupt::default();
    // One change at a time, so `a` is in flight and `b`, `c`, `d` wait.
    let options = ApplyOptions { parallelism: 1, interrupt: interrupt.clone(), ..ApplyOptions::default() };
    let plan = plan();

    let applying = apply(&plan, &providers, &store, State::empty("test"), options, &NoProgress);
    let interrupting = async {
        provider.entered.notified().await;
        interrupt.request(Stop::Drain);
        provider.gate.notify_one();
    };
    let ((report, state), ()) = tokio::join!(async { applying.await.unwrap() }, interrupting);

    assert_eq!(*provider.started.lock().unwrap(), ["aws.thing.a"]);
    assert_eq!(names(&report.applied), ["aws.thing.a"]);
    assert_eq!(names(&report.not_started), ["aws.thing.b", "aws.thing.c", "aws.thing.d"]);
    assert!(report.abandoned.is_empty());
    assert_eq!(report.interrupted, Stop::Drain);
    assert!(!report.succeeded());
    let saved = store.load("test").await.unwrap().unwrap();
    assert_eq!(saved, state);
    assert_eq!(saved.resources.keys().map(ToString::to_string).collect::<Vec<_>>(), ["aws.thing.a"]);
}

#[tokio::test]
async fn abandon_returns_without_waiting() {
    let provider = Arc::new(GatedProvider::default());
    let providers: Providers = BTreeMap::from([(ProviderId::Aws, provider.clone() as Arc<dyn Provider>)]);
    let dir = tempfile::tempdir().unwrap();
    let store = LocalStateStore::new(dir.path().join("state.json"));
    let interrupt = Interrupt::default();
    let options = ApplyOptions { parallelism: 4, interrupt: interrupt.clone(), ..ApplyOptions::default() };
    let plan = plan();

    let applying = apply(&plan, &providers, &store, State::empty("test"), options, &NoProgress);
    let interrupting = async {
        provider.entered.notified().await;
        interrupt.request(Stop::Drain);
        interrupt.request(Stop::Abandon);
    };
    // The gate never opens: only the abandon request can end the apply.
    let ((report, state), ()) = tokio::join!(async { applying.await.unwrap() }, interrupting);

    assert!(report.applied.is_empty());
    assert_eq!(names(&report.abandoned), ["aws.thing.a", "aws.thing.d"]);
    assert_eq!(names(&report.not_started), ["aws.thing.b", "aws.thing.c"]);
    assert_eq!(report.interrupted, Stop::Abandon);
    assert!(state.resources.is_empty());
    assert_eq!(store.load("test").await.unwrap().unwrap(), state);
}
