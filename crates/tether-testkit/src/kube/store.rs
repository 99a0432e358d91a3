//! The in-memory object store: objects by key, the one `resourceVersion` counter, and the
//! event history that watches replay.

use std::collections::{BTreeMap, VecDeque};
use std::sync::Arc;

use serde_json::Value;
use tokio::sync::broadcast;

use super::fields::FieldManagers;
use super::metadata;
use super::resources::ResourceType;

/// How many events the history keeps for watches that start from an older `resourceVersion`.
/// A watch from before the oldest kept event gets 410 Expired, and kube's watcher then lists again.
pub(crate) const HISTORY_LIMIT: usize = 10_000;

/// How many live events a slow watch may fall behind before the server ends it.
const LIVE_EVENT_BUFFER: usize = 4_096;

/// Identifies one stored object. The derived order (resource, namespace, name) is the order
/// of list responses.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub(crate) struct ObjectKey {
    /// Group-qualified plural, e.g. `hostedclusters.hypershift.openshift.io`.
    pub resource: String,
    /// Namespace, empty for cluster-scoped objects.
    pub namespace: String,
    /// Object name.
    pub name: String,
}

impl ObjectKey {
    /// Builds a key.
    pub fn new(resource: &ResourceType, namespace: Option<&str>, name: &str) -> ObjectKey {
        ObjectKey {
            resource: resource.qualified_plural(),
            namespace: namespace.unwrap_or_default().to_string(),
            name: name.to_string(),
        }
    }

    /// Returns the key of a Namespace object.
    pub fn namespace(name: &str) -> ObjectKey {
        ObjectKey { resource: "namespaces".to_string(), namespace: String::new(), name: name.to_string() }
    }
}

/// One stored object with its field ownership.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct StoredObject {
    /// The object as clients read it, with `apiVersion`, `kind` and full metadata.
    pub object: Value,
    /// Field ownership by manager.
    pub managers: FieldManagers,
}

/// The type of a watch event.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum EventType {
    Added,
    Modified,
    Deleted,
}

impl EventType {
    /// Returns the wire spelling.
    pub fn as_str(self) -> &'static str {
        match self {
            EventType::Added => "ADDED",
            EventType::Modified => "MODIFIED",
            EventType::Deleted => "DELETED",
        }
    }
}

/// A change to one object, as watches deliver it.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct WatchEvent {
    pub resource_version: u64,
    pub event_type: EventType,
    /// Group-qualified plural of the object's type.
    pub resource: String,
    /// The object after the change; for `DELETED`, its last state with the deletion's version.
    pub object: Value,
    /// The object before a `MODIFIED` change, so that a filtered watch can report an object
    /// that starts or stops matching as `ADDED` or `DELETED`.
    pub previous: Option<Value>,
}

/// The start of a watch: kept events to replay, then a receiver of live ones.
#[derive(Debug)]
pub(crate) struct Subscription {
    pub replay: Vec<Arc<WatchEvent>>,
    pub live: broadcast::Receiver<Arc<WatchEvent>>,
}

/// A watch asked for history the store no longer keeps.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("too old resource version: {requested} (oldest kept: {oldest_kept})")]
pub(crate) struct HistoryExpired {
    pub requested: u64,
    pub oldest_kept: u64,
}

/// All objects of the server.
#[derive(Debug)]
pub(crate) struct Store {
    objects: BTreeMap<ObjectKey, StoredObject>,
    resource_version: u64,
    uids_issued: u64,
    history: VecDeque<Arc<WatchEvent>>,
    /// The highest version dropped from `history`; watches from before it cannot be replayed.
    trimmed_through: u64,
    live: broadcast::Sender<Arc<WatchEvent>>,
}

impl Default for Store {
    fn default() -> Store {
        Store {
            objects: BTreeMap::new(),
            resource_version: 0,
            uids_issued: 0,
            history: VecDeque::new(),
            trimmed_through: 0,
            live: broadcast::channel(LIVE_EVENT_BUFFER).0,
        }
    }
}

impl Store {
    /// Returns the version of the latest write, the `resourceVersion` of lists.
    pub fn resource_version(&self) -> u64 {
        self.resource_version
    }

    /// Returns a stored object.
    pub fn get(&self, key: &ObjectKey) -> Option<&StoredObject> {
        self.objects.get(key)
    }

    /// Returns the objects of one type in key order, limited to one namespace if given.
    pub fn list<'a>(
        &'a self,
        resource: &'a str,
        namespace: Option<&'a str>,
    ) -> impl Iterator<Item = &'a StoredObject> + 'a {
        self.objects
            .iter()
            .filter(move |(key, _)| key.resource == resource && namespace.is_none_or(|ns| key.namespace == ns))
            .map(|(_, stored)| stored)
    }

    /// Returns the keys of all objects inside a namespace.
    pub fn keys_in_namespace(&self, namespace: &str) -> Vec<ObjectKey> {
        self.objects.keys().filter(|key| key.namespace == namespace).cloned().collect()
    }

    /// Issues a new uid.
    pub fn next_uid(&mut self) -> String {
        self.uids_issued += 1;
        metadata::uid(self.uids_issued)
    }

    /// Stores an object under a new `resourceVersion`, records the event and returns the object.
    pub fn put(&mut self, key: ObjectKey, mut stored: StoredObject, event_type: EventType) -> Value {
        let version = self.bump(&mut stored.object);
        let object = stored.object.clone();
        let previous = self.objects.insert(key.clone(), stored).map(|old| old.object);
        self.record(WatchEvent {
            resource_version: version,
            event_type,
            resource: key.resource,
            object: object.clone(),
            previous,
        });
        object
    }

    /// Removes an object, records a `DELETED` event carrying `last_state` under a new
    /// `resourceVersion`, and returns that state.
    pub fn remove(&mut self, key: &ObjectKey, mut last_state: Value) -> Value {
        self.objects.remove(key);
        let version = self.bump(&mut last_state);
        let event = WatchEvent {
            resource_version: version,
            event_type: EventType::Deleted,
            resource: key.resource.clone(),
            object: last_state.clone(),
            previous: None,
        };
        self.record(event);
        last_state
    }

    fn bump(&mut self, object: &mut Value) -> u64 {
        self.resource_version += 1;
        let version = self.resource_version;
        metadata::metadata_mut(object).insert("resourceVersion".to_string(), Value::String(version.to_string()));
        version
    }

    fn record(&mut self, event: WatchEvent) {
        let event = Arc::new(event);
        if self.history.len() == HISTORY_LIMIT
            && let Some(dropped) = self.history.pop_front()
        {
            self.trimmed_through = dropped.resource_version;
        }
        self.history.push_back(event.clone());
        // A send error only means that no watch is open.
        let _ = self.live.send(event);
    }

    /// Returns the events after `since` and a receiver for later ones. Taking both under the
    /// store's lock means no event falls between them.
    ///
    /// # Errors
    ///
    /// [`HistoryExpired`] when events after `since` were already dropped from the history.
    pub fn subscribe(&self, since: u64) -> Result<Subscription, HistoryExpired> {
        if since < self.trimmed_through {
            return Err(HistoryExpired { requested: since, oldest_kept: self.trimmed_through + 1 });
        }
        let replay = self.history.iter().filter(|event| event.resource_version > since).cloned().collect();
        Ok(Subscription { replay, live: self.live.subscribe() })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn key(name: &str) -> ObjectKey {
        ObjectKey { resource: "configmaps".to_string(), namespace: "default".to_string(), name: name.to_string() }
    }

    fn stored(name: &str) -> StoredObject {
        StoredObject { object: json!({"metadata": {"name": name}}), managers: FieldManagers::default() }
    }

    #[test]
    fn versions_from_one_counter() {
        let mut store = Store::default();
        let first = store.put(key("a"), stored("a"), EventType::Added);
        let second = store.put(key("b"), stored("b"), EventType::Added);
        let deleted = store.remove(&key("a"), first.clone());

        assert_eq!(first["metadata"]["resourceVersion"], "1");
        assert_eq!(second["metadata"]["resourceVersion"], "2");
        assert_eq!(deleted["metadata"]["resourceVersion"], "3");
        assert_eq!(store.resource_version(), 3);
    }

    #[test]
    fn old_versions_expire() {
        let mut store = Store::default();
        for n in 0..=HISTORY_LIMIT {
            store.put(key(&n.to_string()), stored("x"), EventType::Added);
        }
        assert_eq!(
            store.subscribe(0).map(|subscription| subscription.replay.len()).err(),
            Some(HistoryExpired { requested: 0, oldest_kept: 2 })
        );
        assert_eq!(store.subscribe(1).map(|subscription| subscription.replay.len()).ok(), Some(HISTORY_LIMIT));
    }

    #[test]
    fn replay_after_version() {
        let mut store = Store::default();
        store.put(key("a"), stored("a"), EventType::Added);
        store.put(key("b"), stored("b"), EventType::Added);
        let replay = store.subscribe(1).expect("history kept").replay;
        assert_eq!(replay.len(), 1);
        assert_eq!(replay[0].object["metadata"]["name"], "b");
    }
}
