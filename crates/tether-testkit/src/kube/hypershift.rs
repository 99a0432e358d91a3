//! Status that HyperShift would write: HostedCluster availability and NodePool replicas.

use serde_json::{Map, Value, json};

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
