//! Waiting until HyperShift reports the hosted cluster and its node pools ready.
//!
//! A HostedCluster is ready with `Available=True`, `Progressing=False` and `Degraded=False`, and a
//! NodePool with `Ready=True` and `status.replicas` at least the expected count, as HyperShift's
//! `ExpectedHCConditions` and `ExpectedNodePoolConditions` define them. Conditions whose
//! `observedGeneration` is older than the object's `metadata.generation` do not count.

use std::time::Duration;

use kube::api::{Api, DynamicObject};
use kube::discovery::ApiResource;
use serde_json::Value;

use crate::error::KubeError;
use crate::secrets::Redactor;

/// How often the objects are read again while waiting.
const POLL_INTERVAL: Duration = Duration::from_secs(2);

/// One object to wait for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReadinessTarget {
    /// The resource's address, for messages, e.g. `cluster.node_pool.gpu`.
    pub address: String,
    /// The object's namespace.
    pub namespace: String,
    /// The object's name.
    pub name: String,
    /// `HostedCluster` or `NodePool`.
    pub kind: ReadyKind,
}

/// The kinds whose readiness tether checks.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ReadyKind {
    /// A HostedCluster.
    HostedCluster,
    /// A NodePool with the minimum number of nodes it must report.
    NodePool {
        /// `spec.replicas`, or the autoscaling minimum.
        replicas: i64,
    },
}

/// A wait that ended without every object ready.
#[derive(Debug, thiserror::Error)]
pub enum WaitError {
    /// The timeout passed first.
    #[error("timed out after {waited:.0?} waiting for {address} to become ready: {last}")]
    TimedOut {
        /// How long tether waited.
        waited: Duration,
        /// The first object that was not ready.
        address: String,
        /// Its last condition message, or what is missing.
        last: String,
    },
    /// An object could not be read.
    #[error("cannot read {address} while waiting for it")]
    Read {
        /// The object's address.
        address: String,
        /// The API error.
        #[source]
        source: KubeError,
    },
}

fn api_resource(kind: ReadyKind) -> ApiResource {
    let (kind, plural) = match kind {
        ReadyKind::HostedCluster => ("HostedCluster", "hostedclusters"),
        ReadyKind::NodePool { .. } => ("NodePool", "nodepools"),
    };
    ApiResource {
        group: "hypershift.openshift.io".to_owned(),
        version: "v1beta1".to_owned(),
        api_version: "hypershift.openshift.io/v1beta1".to_owned(),
        kind: kind.to_owned(),
        plural: plural.to_owned(),
    }
}

/// Returns `None` when the object is ready, else why not.
pub fn not_ready_reason(object: &Value, kind: ReadyKind) -> Option<String> {
    let generation = object.pointer("/metadata/generation").and_then(Value::as_i64).unwrap_or(0);
    let conditions = object.pointer("/status/conditions").and_then(Value::as_array).cloned().unwrap_or_default();
    let expected: &[(&str, &str)] = match kind {
        ReadyKind::HostedCluster => &[("Available", "True"), ("Progressing", "False"), ("Degraded", "False")],
        ReadyKind::NodePool { .. } => &[("Ready", "True")],
    };
    for (condition_type, status) in expected {
        let Some(condition) = conditions.iter().find(|condition| condition["type"] == *condition_type) else {
            return Some(format!("no {condition_type} condition reported yet"));
        };
        let observed = condition["observedGeneration"].as_i64().unwrap_or(generation);
        let message = condition["message"].as_str().filter(|message| !message.is_empty());
        if condition["status"] != *status || observed < generation {
            let actual = condition["status"].as_str().unwrap_or("unset");
            let reason = condition["reason"].as_str().unwrap_or("");
            let detail = message.map(|message| format!(": {message}")).unwrap_or_default();
            return Some(format!("{condition_type}={actual} ({reason}){detail}"));
        }
    }
    if let ReadyKind::NodePool { replicas } = kind {
        let reported = object.pointer("/status/replicas").and_then(Value::as_i64).unwrap_or(0);
        if reported < replicas {
            return Some(format!("{reported} of {replicas} nodes reported"));
        }
    }
    None
}

/// Polls every target until all are ready or `timeout` passes.
///
/// # Errors
/// [`WaitError::TimedOut`] naming the first object not ready and its last condition message, or
/// [`WaitError::Read`] when an object cannot be read (a missing object counts as not ready).
pub async fn wait_ready(
    client: &kube::Client,
    targets: &[ReadinessTarget],
    timeout: Duration,
) -> Result<(), WaitError> {
    let started = tokio::time::Instant::now();
    loop {
        let mut pending = None;
        for target in targets {
            let api: Api<DynamicObject> =
                Api::namespaced_with(client.clone(), &target.namespace, &api_resource(target.kind));
            let object = api.get_opt(&target.name).await.map_err(|error| WaitError::Read {
                address: target.address.clone(),
                source: KubeError::from_kube(error, &Redactor::default()),
            })?;
            let reason = match object {
                None => Some("the object does not exist".to_owned()),
                Some(object) => not_ready_reason(&serde_json::to_value(object).unwrap_or_default(), target.kind),
            };
            if let Some(reason) = reason {
                pending = Some((target.address.clone(), reason));
                break;
            }
        }
        let Some((address, last)) = pending else { return Ok(()) };
        tracing::debug!(resource = %address, %last, "not ready yet");
        if started.elapsed() >= timeout {
            return Err(WaitError::TimedOut { waited: started.elapsed(), address, last });
        }
        tokio::time::sleep(POLL_INTERVAL.min(timeout.saturating_sub(started.elapsed()))).await;
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    #[test]
    fn available_cluster_is_ready() {
        let object = json!({"metadata": {"generation": 2}, "status": {"conditions": [
            {"type": "Available", "status": "True", "observedGeneration": 2},
            {"type": "Progressing", "status": "False", "observedGeneration": 2},
            {"type": "Degraded", "status": "False", "observedGeneration": 2},
        ]}});
        assert_eq!(not_ready_reason(&object, ReadyKind::HostedCluster), None);
    }

    #[test]
    fn stale_condition_is_not_ready() {
        let object = json!({"metadata": {"generation": 3}, "status": {"conditions": [
            {"type": "Available", "status": "True", "observedGeneration": 2, "reason": "AsExpected"},
        ]}});
        let reason = not_ready_reason(&object, ReadyKind::HostedCluster).unwrap();
        assert_eq!(reason, "Available=True (AsExpected)");
    }

    #[test]
    fn failing_condition_shows_message() {
        let object = json!({"status": {"conditions": [
            {"type": "Available", "status": "False", "reason": "WaitingForEtcd", "message": "etcd is not ready"},
        ]}});
        let reason = not_ready_reason(&object, ReadyKind::HostedCluster).unwrap();
        assert_eq!(reason, "Available=False (WaitingForEtcd): etcd is not ready");
    }

    #[test]
    fn node_pool_needs_replicas() {
        let object = json!({"status": {"replicas": 1, "conditions": [{"type": "Ready", "status": "True"}]}});
        let short = not_ready_reason(&object, ReadyKind::NodePool { replicas: 2 });
        assert_eq!(short.as_deref(), Some("1 of 2 nodes reported"));
        assert_eq!(not_ready_reason(&object, ReadyKind::NodePool { replicas: 1 }), None);
    }
}
