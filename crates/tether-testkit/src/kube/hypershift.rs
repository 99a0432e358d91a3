//! Status that HyperShift would write: HostedCluster availability and NodePool replicas, and a
//! player that makes a HostedCluster Available with a kubeconfig for a second test server.

use std::sync::Arc;
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use serde_json::{Map, Value, json};

use super::metadata;
use super::router::ServerState;
use super::store::ObjectKey;
use super::writes::{self, Address, WriteOptions};

/// The field manager of the player's writes.
const PLAYER_MANAGER: &str = "hypershift-operator";

/// How often the player looks for its HostedCluster.
const PLAYER_POLL: Duration = Duration::from_millis(50);

/// The settings of [`crate::kube::KubeTestServer::play_hosted_cluster`] for one HostedCluster.
#[derive(Debug, Clone)]
pub struct HostedClusterPlay {
    /// The HostedCluster's namespace.
    pub namespace: String,
    /// The HostedCluster's name.
    pub name: String,
    /// The hosted cluster's kubeconfig, e.g. another test server's
    /// [`crate::kube::KubeTestServer::kubeconfig`].
    pub kubeconfig: String,
    /// How long the HostedCluster exists before it becomes Available.
    pub delay: Duration,
}

/// Starts a thread that waits until the HostedCluster exists for `play.delay`, then writes the
/// Secret `<name>-admin-kubeconfig` (key `kubeconfig`) beside it and a status with
/// `Available=True`, `Progressing=False`, `Degraded=False` and `kubeconfig.name`, as HyperShift
/// does. From then on it reports every NodePool of the namespace Ready with its `replicas` (or
/// autoscaling minimum) as nodes. The thread ends when the server stops.
pub(crate) fn spawn_player(state: Arc<ServerState>, play: HostedClusterPlay) -> JoinHandle<()> {
    std::thread::spawn(move || {
        let mut first_seen: Option<Instant> = None;
        let mut available = false;
        while !*state.shutdown.borrow() {
            let step =
                if available { report_node_pools(&state, &play) } else { play_once(&state, &play, &mut first_seen) };
            match step {
                Ok(done) => available |= done,
                Err(error) => {
                    tracing::error!(%error, "the HyperShift player failed");
                    return;
                }
            }
            std::thread::sleep(PLAYER_POLL);
        }
    })
}

/// Marks each NodePool of the namespace Ready with its expected node count, where it differs.
fn report_node_pools(state: &ServerState, play: &HostedClusterPlay) -> Result<bool, String> {
    let node_pool =
        state.resources.by_kind("hypershift.openshift.io/v1beta1", "NodePool").ok_or("NodePool is not served")?;
    let mut store = state.store();
    let pools: Vec<Value> =
        store.list(&node_pool.qualified_plural(), Some(&play.namespace)).map(|stored| stored.object.clone()).collect();
    for pool in pools {
        let spec = &pool["spec"];
        let replicas = spec["replicas"].as_i64().or(spec["autoScaling"]["min"].as_i64()).unwrap_or(0);
        let generation = pool.pointer("/metadata/generation").and_then(Value::as_i64).unwrap_or(0);
        let ready = pool["status"]["replicas"].as_i64() == Some(replicas)
            && pool["status"]["conditions"].as_array().is_some_and(|conditions| {
                conditions.iter().any(|condition| {
                    condition["type"] == "Ready" && condition["observedGeneration"].as_i64() == Some(generation)
                })
            });
        if ready {
            continue;
        }
        let name = pool["metadata"]["name"].as_str().unwrap_or_default().to_owned();
        let status = node_pool_replicas(pool.get("status"), replicas, generation, &metadata::now());
        let address = Address { resource: node_pool, namespace: Some(play.namespace.clone()), name };
        writes::write_status(&mut store, &address, status, PLAYER_MANAGER)
            .map_err(|error| format!("cannot write a NodePool status: {error:?}"))?;
    }
    Ok(true)
}

/// Makes the HostedCluster Available once it has existed for the delay; true when done.
fn play_once(state: &ServerState, play: &HostedClusterPlay, first_seen: &mut Option<Instant>) -> Result<bool, String> {
    let hosted_cluster = state
        .resources
        .by_kind("hypershift.openshift.io/v1beta1", "HostedCluster")
        .ok_or("HostedCluster is not served")?;
    let secret_type = state.resources.by_kind("v1", "Secret").ok_or("Secret is not served")?;
    let mut store = state.store();
    let key = ObjectKey::new(hosted_cluster, Some(&play.namespace), &play.name);
    let Some(current) = store.get(&key).map(|stored| stored.object.clone()) else {
        *first_seen = None;
        return Ok(false);
    };
    if first_seen.get_or_insert_with(Instant::now).elapsed() < play.delay {
        return Ok(false);
    }

    let secret_name = format!("{}-admin-kubeconfig", play.name);
    let secret = json!({
        "apiVersion": "v1",
        "kind": "Secret",
        "metadata": {"name": secret_name, "namespace": play.namespace},
        "stringData": {"kubeconfig": play.kubeconfig},
    });
    let options = WriteOptions { manager: PLAYER_MANAGER.to_string(), dry_run: false, force: false, status: false };
    if store.get(&ObjectKey::new(secret_type, Some(&play.namespace), &secret_name)).is_none() {
        writes::create(&mut store, secret_type, Some(&play.namespace), secret, &options)
            .map_err(|error| format!("cannot create the kubeconfig Secret: {error:?}"))?;
    }

    let generation = current.pointer("/metadata/generation").and_then(Value::as_i64).unwrap_or(0);
    let mut status = hosted_cluster_available(current.get("status"), generation, &metadata::now());
    status["kubeconfig"] = json!({"name": secret_name});
    let address =
        Address { resource: hosted_cluster, namespace: Some(play.namespace.clone()), name: play.name.clone() };
    writes::write_status(&mut store, &address, status, PLAYER_MANAGER)
        .map_err(|error| format!("cannot write the HostedCluster status: {error:?}"))?;
    Ok(true)
}

/// Returns a HostedCluster status with `Available=True`, `Progressing=False` and
/// `Degraded=False` (what HyperShift counts as ready), keeping the other fields of `current`.
pub(crate) fn hosted_cluster_available(current: Option<&Value>, generation: i64, now: &str) -> Value {
    let mut status = status_map(current);
    let wanted = [("Available", "True"), ("Progressing", "False"), ("Degraded", "False")];
    for (condition_type, condition_status) in wanted {
        set_condition(&mut status, condition_type, condition_status, generation, now);
    }
    Value::Object(status)
}

/// Returns a NodePool status with `replicas` and `Ready=True`, keeping the other fields of `current`.
pub(crate) fn node_pool_replicas(current: Option<&Value>, replicas: i64, generation: i64, now: &str) -> Value {
    let mut status = status_map(current);
    status.insert("replicas".to_string(), json!(replicas));
    set_condition(&mut status, "Ready", "True", generation, now);
    Value::Object(status)
}

fn status_map(current: Option<&Value>) -> Map<String, Value> {
    current.and_then(Value::as_object).cloned().unwrap_or_default()
}

/// Inserts or updates one condition of `status.conditions`. `lastTransitionTime` changes only
/// when the condition's status does, as for `metav1.Condition`.
fn set_condition(
    status: &mut Map<String, Value>,
    condition_type: &str,
    condition_status: &str,
    generation: i64,
    now: &str,
) {
    let conditions = status.entry("conditions").or_insert_with(|| json!([]));
    if !conditions.is_array() {
        *conditions = json!([]);
    }
    // unwrap: the lines above made `conditions` an array.
    let conditions = conditions.as_array_mut().unwrap();

    let existing = conditions.iter().position(|condition| condition["type"] == condition_type);
    let transition_time = existing
        .map(|index| &conditions[index])
        .filter(|condition| condition["status"] == condition_status)
        .and_then(|condition| condition.get("lastTransitionTime").cloned())
        .unwrap_or_else(|| json!(now));
    let condition = json!({
        "type": condition_type,
        "status": condition_status,
        "reason": "AsExpected",
        "message": "",
        "observedGeneration": generation,
        "lastTransitionTime": transition_time,
    });
    match existing {
        Some(index) => conditions[index] = condition,
        None => conditions.push(condition),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn available_keeps_other_fields() {
        let current = json!({"version": {"desired": {}}, "conditions": [{"type": "Available", "status": "False"}]});
        let status = hosted_cluster_available(Some(&current), 2, "2025-01-01T00:00:00Z");
        assert_eq!(status["version"], json!({"desired": {}}));
        let conditions = status["conditions"].as_array().expect("conditions list");
        assert_eq!(conditions.len(), 3);
        assert_eq!(conditions[0]["type"], "Available");
        assert_eq!(conditions[0]["status"], "True");
        assert_eq!(conditions[0]["observedGeneration"], 2);
    }

    #[test]
    fn transition_time_kept_when_unchanged() {
        let first = node_pool_replicas(None, 2, 1, "2025-01-01T00:00:00Z");
        let second = node_pool_replicas(Some(&first), 3, 1, "2025-06-01T00:00:00Z");
        assert_eq!(second["replicas"], 3);
        assert_eq!(second["conditions"][0]["lastTransitionTime"], "2025-01-01T00:00:00Z");
    }
}
