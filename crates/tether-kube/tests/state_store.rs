//! The `kubernetes` state backend against the Kubernetes test API server: chunking, conditional
//! writes and the Lease lock.

mod common;

use std::collections::BTreeSet;

use common::{ENVIRONMENT, Harness, NAMESPACE};
use tether_engine::{LockError, LockInfo, StateError, StateStore as _};
use tether_model::{Address, Attributes, State, StateResource, Value};

/// Builds a state with `count` resources, each carrying a 100-character attribute.
fn state_with(count: usize, serial: u64) -> State {
    let mut state = State::empty(ENVIRONMENT);
    state.serial = serial;
    for index in 0..count {
        let attributes = Attributes::from([("note".to_owned(), Value::from("x".repeat(100).as_str()))]);
        let resource = StateResource { id: format!("id-{index}"), attributes, depends_on: BTreeSet::new() };
        state.resources.insert(Address::cluster("config_map", &format!("c{index}")), resource);
    }
    state
}

fn state_secrets(harness: &Harness) -> Vec<String> {
    let mut names: Vec<String> = (0..50)
        .flat_map(|serial| (0..50).map(move |part| format!("tether-state-{ENVIRONMENT}-{serial}-{part}")))
        .filter(|name| harness.server.get("v1", "Secret", Some(NAMESPACE), name).is_some())
        .collect();
    names.sort();
    names
}

#[tokio::test]
async fn large_state_is_chunked_and_read_back() {
    let harness = Harness::start().await;
    let store = harness.provider.state_store(NAMESPACE, ENVIRONMENT).with_chunk_bytes(1024);
    let _lock = store.lock(&LockInfo::new("test")).await.unwrap();

    let large = state_with(30, 1);
    store.save(&large).await.unwrap();
    let chunks = state_secrets(&harness);
    assert!(chunks.len() > 3, "a state of several KiB takes several 1 KiB chunks: {chunks:?}");
    assert!(chunks.iter().all(|name| name.starts_with("tether-state-ai-dev-1-")), "{chunks:?}");
    assert_eq!(store.load(ENVIRONMENT).await.unwrap(), Some(large));

    let larger = state_with(40, 2);
    store.save(&larger).await.unwrap();
    assert!(state_secrets(&harness).iter().all(|name| name.starts_with("tether-state-ai-dev-2-")), "old chunks go");

    let small = state_with(0, 3);
    store.save(&small).await.unwrap();
    assert_eq!(state_secrets(&harness), Vec::<String>::new(), "an unchunked state leaves no chunks");
    let fresh = harness.provider.state_store(NAMESPACE, ENVIRONMENT);
    assert_eq!(fresh.load(ENVIRONMENT).await.unwrap(), Some(small));
}

#[tokio::test]
async fn stale_writer_gets_conflict() {
    let harness = Harness::start().await;
    let first = harness.provider.state_store(NAMESPACE, ENVIRONMENT);
    let second = harness.provider.state_store(NAMESPACE, ENVIRONMENT);
    let _lock = first.lock(&LockInfo::new("test")).await.unwrap();
    first.save(&state_with(1, 1)).await.unwrap();
    second.load(ENVIRONMENT).await.unwrap();
    first.save(&state_with(2, 2)).await.unwrap();

    let error = second.save(&state_with(3, 3)).await.unwrap_err();
    assert!(matches!(error, StateError::Conflict { .. }), "{error}");
    assert_eq!(first.load(ENVIRONMENT).await.unwrap(), Some(state_with(2, 2)));
}

#[tokio::test]
async fn lease_lock_refuses_second_holder() {
    let harness = Harness::start().await;
    let store = harness.provider.state_store(NAMESPACE, ENVIRONMENT);
    let first = LockInfo::new("apply");
    let held = store.lock(&first).await.unwrap();

    let error = store.lock(&LockInfo::new("apply")).await.err().expect("the second lock is refused");
    let LockError::Held(holder) = error else { panic!("expected Held, got {error}") };
    assert_eq!(holder.id, first.id);
    assert_eq!(holder.holder, first.holder);
    assert!(holder.expires.is_some());

    held.release().await.unwrap();
    assert!(store.lock(&LockInfo::new("apply")).await.is_ok(), "a released lock can be taken");
}

#[tokio::test]
async fn force_unlock_breaks_lease_once() {
    let harness = Harness::start().await;
    let store = harness.provider.state_store(NAMESPACE, ENVIRONMENT);
    let info = LockInfo::new("apply");
    let _held = store.lock(&info).await.unwrap();

    let broken = store.force_unlock(&info.id).await.unwrap();
    assert_eq!(broken.id, info.id);
    let again = store.force_unlock(&info.id).await.unwrap_err();
    assert!(matches!(again, LockError::NotLocked { .. }), "{again}");
}
