//! Disruption analysis: what each planned change does to running nodes, from catalogue facts.

use tether_catalog::{KindSchema, NodeEffects, kind_schema};
use tether_model::{Action, Attributes, Disruption, NodeCount, ResourceChange, Value};

/// Lists what `change` does to running nodes. Kinds without node effects give none.
pub fn analyse(change: &ResourceChange) -> Vec<Disruption> {
    let Some(schema) = kind_schema(&change.address) else { return Vec::new() };
    match schema.nodes {
        NodeEffects::None => Vec::new(),
        NodeEffects::NodePool { rollout, new_nodes_only } => node_pool(change, rollout, new_nodes_only),
        NodeEffects::MachineConfig { role_label } => machine_config(change, role_label),
        NodeEffects::HostedCluster if change.action == Action::Replace => {
            vec![Disruption::ClusterReplaced { cluster: object_name(change) }]
        }
        NodeEffects::HostedCluster => Vec::new(),
    }
}

fn node_pool(change: &ResourceChange, rollout: &[&str], new_nodes_only: &[&str]) -> Vec<Disruption> {
    let pool = object_name(change);
    match change.action {
        Action::NoOp | Action::Create => Vec::new(),
        Action::Delete | Action::Replace => {
            vec![Disruption::PoolRemoved { pool, nodes: node_count(change) }]
        }
        Action::Update => {
            let changed = || change.attribute_changes.iter().map(|attribute| attribute.path.as_str());
            let mut disruption = Vec::new();
            let rolled = KindSchema::matching(rollout, changed());
            if !rolled.is_empty() {
                disruption.push(Disruption::RollingReplacement {
                    pool: pool.clone(),
                    nodes: node_count(change),
                    paths: rolled,
                });
            }
            let later = KindSchema::matching(new_nodes_only, changed());
            if !later.is_empty() {
                disruption.push(Disruption::NewNodesOnly { pool, paths: later });
            }
            disruption
        }
    }
}

fn machine_config(change: &ResourceChange, role_label: &str) -> Vec<Disruption> {
    if change.action == Action::NoOp || (change.action == Action::Update && only_labels_changed(change, role_label)) {
        return Vec::new();
    }
    let role = [change.after.as_ref(), change.before.as_ref()]
        .into_iter()
        .flatten()
        .find_map(|attributes| string_at(attributes, &["metadata", "labels", role_label]))
        .unwrap_or_else(|| "master".to_owned());
    vec![Disruption::RollingReboot { role }]
}

/// Returns true when an update changes only labels and annotations and keeps the role label. The Machine
/// Config Operator renders a pool's configuration from the `spec` of the MachineConfigs its role
/// label selects, so such an update (tether adding its ownership labels, say) reboots nothing.
fn only_labels_changed(change: &ResourceChange, role_label: &str) -> bool {
    let metadata_only = change.attribute_changes.iter().all(|attribute| {
        ["metadata.labels", "metadata.annotations"].iter().any(|prefix| {
            attribute.path == *prefix
                || (attribute.path.starts_with(prefix) && attribute.path.as_bytes().get(prefix.len()) == Some(&b'.'))
        })
    });
    let role = |side: Option<&Attributes>| {
        side.and_then(|attributes| string_at(attributes, &["metadata", "labels", role_label]))
    };
    metadata_only && role(change.before.as_ref()) == role(change.after.as_ref())
}

/// Counts the nodes a pool runs now: the observed `status.replicas`, else the fixed replica
/// count, else the autoscaling maximum as an upper bound.
fn node_count(change: &ResourceChange) -> NodeCount {
    let before = change.before.as_ref();
    if let Some(count) = before.and_then(|attributes| int_at(attributes, &["status", "replicas"])) {
        return NodeCount::Exactly(count);
    }
    let sides = [before, change.after.as_ref()];
    if let Some(count) = sides.iter().flatten().find_map(|attributes| int_at(attributes, &["spec", "replicas"])) {
        return NodeCount::Exactly(count);
    }
    let maximum = sides.iter().flatten().find_map(|attributes| int_at(attributes, &["spec", "autoScaling", "max"]));
    NodeCount::AtMost(maximum.unwrap_or(0))
}

fn object_name(change: &ResourceChange) -> String {
    [change.after.as_ref(), change.before.as_ref()]
        .into_iter()
        .flatten()
        .find_map(|attributes| string_at(attributes, &["metadata", "name"]))
        .unwrap_or_else(|| change.address.name().to_owned())
}

fn value_at<'a>(attributes: &'a Attributes, path: &[&str]) -> Option<&'a Value> {
    let (first, rest) = path.split_first()?;
    attributes.get(*first)?.get_path(rest)
}

fn string_at(attributes: &Attributes, path: &[&str]) -> Option<String> {
    value_at(attributes, path)?.as_str().map(str::to_owned)
}

fn int_at(attributes: &Attributes, path: &[&str]) -> Option<i64> {
    value_at(attributes, path)?.as_int()
}

#[cfg(test)]
mod tests {
    use super::*;
    use tether_model::{Address, AttributeChange};

    fn pool(spec: Value, status: Option<Value>) -> Attributes {
        let mut attributes: Attributes =
            [("metadata".to_owned(), Value::map([("name", Value::from("ai-workers"))])), ("spec".to_owned(), spec)]
                .into_iter()
                .collect();
        if let Some(status) = status {
            attributes.insert("status".to_owned(), status);
        }
        attributes
    }

    fn change(action: Action, before: Attributes, paths: &[&str]) -> ResourceChange {
        ResourceChange {
            address: Address::cluster("node_pool", "workers"),
            action,
            reasons: Vec::new(),
            id: Some("hcp-ai/ai-workers".to_owned()),
            before: Some(before.clone()),
            after: (action != Action::Delete).then_some(before),
            attribute_changes: paths
                .iter()
                .map(|path| AttributeChange {
                    path: (*path).to_owned(),
                    before: None,
                    after: None,
                    forces_replacement: false,
                })
                .collect(),
            depends_on: Default::default(),
            disruption: Vec::new(),
            create_before_destroy: false,
        }
    }

    fn machine_config(role: &str, owner: Option<&str>) -> Attributes {
        let mut labels = vec![("machineconfiguration.openshift.io/role", Value::from(role))];
        if let Some(owner) = owner {
            labels.push(("app.kubernetes.io/managed-by", Value::from(owner)));
        }
        [
            ("metadata".to_owned(), Value::map([("name", Value::from("99-routes")), ("labels", Value::map(labels))])),
            ("spec".to_owned(), Value::map([("config", Value::from("{}"))])),
        ]
        .into_iter()
        .collect()
    }

    fn machine_config_update(before: Attributes, after: Attributes, paths: &[&str]) -> ResourceChange {
        let mut change = change(Action::Update, before, paths);
        change.address = Address::cluster("machine_config", "routes");
        change.after = Some(after);
        change
    }

    #[test]
    fn label_update_reboots_nothing() {
        let change = machine_config_update(
            machine_config("master", None),
            machine_config("master", Some("tether")),
            &["metadata.labels.app.kubernetes.io/managed-by"],
        );
        assert!(analyse(&change).is_empty());
    }

    #[test]
    fn role_or_spec_change_reboots() {
        let role_moved = machine_config_update(
            machine_config("master", None),
            machine_config("worker", None),
            &["metadata.labels.machineconfiguration.openshift.io/role"],
        );
        assert_eq!(analyse(&role_moved), [Disruption::RollingReboot { role: "worker".to_owned() }]);
        let spec_changed = machine_config_update(
            machine_config("master", None),
            machine_config("master", Some("tether")),
            &["metadata.labels.app.kubernetes.io/managed-by", "spec.config"],
        );
        assert_eq!(analyse(&spec_changed), [Disruption::RollingReboot { role: "master".to_owned() }]);
    }

    #[test]
    fn deleted_pool_counts_observed_nodes() {
        let before = pool(Value::map([("replicas", Value::Int(2))]), Some(Value::map([("replicas", Value::Int(3))])));
        let disruption = analyse(&change(Action::Delete, before, &[]));
        assert_eq!(
            disruption,
            [Disruption::PoolRemoved { pool: "ai-workers".to_owned(), nodes: NodeCount::Exactly(3) }]
        );
    }

    #[test]
    fn scaling_disrupts_nothing() {
        let before = pool(Value::map([("replicas", Value::Int(2))]), None);
        assert!(analyse(&change(Action::Update, before, &["spec.replicas"])).is_empty());
    }

    #[test]
    fn release_and_labels_together() {
        let before = pool(Value::map([("replicas", Value::Int(2))]), None);
        let disruption = analyse(&change(Action::Update, before, &["spec.nodeLabels.team", "spec.release.image"]));
        assert_eq!(
            disruption,
            [
                Disruption::RollingReplacement {
                    pool: "ai-workers".to_owned(),
                    nodes: NodeCount::Exactly(2),
                    paths: vec!["spec.release.image".to_owned()],
                },
                Disruption::NewNodesOnly {
                    pool: "ai-workers".to_owned(),
                    paths: vec!["spec.nodeLabels.team".to_owned()],
                },
            ]
        );
    }
}
