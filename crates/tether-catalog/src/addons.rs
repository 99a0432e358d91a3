//! Lowering of `[addons]` into hosted-cluster resources (Namespace, OperatorGroup, Subscription,
//! operands), and the plan notes that only add-ons need: waiting on the HostedCluster, operands
//! idle without GPU nodes, and operators left to OLM on delete.

use std::collections::BTreeMap;

use tether_config::{AddonSpec, Checked, OperandSpec};
use tether_model::{Action, Address, Attributes, Disruption, ProviderId, Resource, ResourceChange, Value};

use crate::cluster::kube_object;
use crate::marks::Owner;
use crate::tables;

/// OLM's API group versions of OperatorGroup and Subscription.
const OPERATOR_GROUP_API: &str = "operators.coreos.com/v1";
const SUBSCRIPTION_API: &str = "operators.coreos.com/v1alpha1";

/// Operand kinds that act only on nodes with a GPU: the NVIDIA GPU Operator's ClusterPolicy
/// deploys the driver, toolkit and device plugin as daemon sets on GPU nodes.
const GPU_OPERAND_KINDS: [(&str, &str); 1] = [("nvidia.com", "ClusterPolicy")];

/// Lowers every add-on. Each resource depends on the HostedCluster, because it lives in the
/// cluster that the HostedCluster runs, and on the add-on's previous resource: Namespace,
/// OperatorGroup, Subscription, operands.
pub(crate) fn lower(checked: &Checked, owner: &Owner) -> Vec<Resource> {
    let hosted_cluster = Address::cluster("hosted_cluster", &checked.environment.cluster.name);
    checked.addons().iter().flat_map(|addon| lower_addon(addon, owner, &hosted_cluster)).collect()
}

fn lower_addon(addon: &AddonSpec, owner: &Owner, hosted_cluster: &Address) -> Vec<Resource> {
    let namespace = Address::hosted("namespace", &addon.name);
    let operator_group = Address::hosted("operator_group", &addon.name);
    let subscription = Address::hosted("subscription", &addon.name);

    let namespace_object =
        kube_object("v1", "Namespace", owner.kube_metadata(&namespace, &addon.namespace, None, &[]), []);
    let target = if addon.all_namespaces {
        Value::Map(BTreeMap::new())
    } else {
        Value::map([("targetNamespaces", Value::List(vec![Value::string(addon.namespace.clone())]))])
    };
    let group_metadata = owner.kube_metadata(&operator_group, &addon.name, Some(&addon.namespace), &[]);
    let group_object = kube_object(OPERATOR_GROUP_API, "OperatorGroup", group_metadata, [("spec", target)]);
    let subscription_metadata = owner.kube_metadata(&subscription, &addon.package, Some(&addon.namespace), &[]);
    let subscription_object =
        kube_object(SUBSCRIPTION_API, "Subscription", subscription_metadata, [("spec", subscription_spec(addon))]);

    let mut resources = vec![
        Resource::new(namespace.clone(), namespace_object).depending_on(hosted_cluster),
        Resource::new(operator_group.clone(), group_object).depending_on(hosted_cluster).depending_on(&namespace),
        Resource::new(subscription.clone(), subscription_object)
            .depending_on(hosted_cluster)
            .depending_on(&operator_group),
    ];
    for operand in &addon.operands {
        let address = operand_address(addon, operand);
        let object = operand_object(operand, owner, &address);
        resources.push(Resource::new(address, object).depending_on(hosted_cluster).depending_on(&subscription));
    }
    resources
}

/// Returns the address of an operand, `hosted.operand.<add-on>-<key>`.
fn operand_address(addon: &AddonSpec, operand: &OperandSpec) -> Address {
    Address::hosted("operand", &format!("{}-{}", addon.name, operand.key))
}

/// Builds a Subscription's spec; `startingCSV` is left out unless pinned.
fn subscription_spec(addon: &AddonSpec) -> Value {
    let mut spec = vec![
        ("name", Value::string(addon.package.clone())),
        ("channel", Value::string(addon.channel.clone())),
        ("source", Value::string(addon.source.clone())),
        ("sourceNamespace", Value::string(addon.source_namespace.clone())),
        ("installPlanApproval", Value::from(addon.approval.as_str())),
    ];
    if let Some(csv) = &addon.starting_csv {
        spec.push(("startingCSV", Value::string(csv.clone())));
    }
    Value::map(spec)
}

fn operand_object(operand: &OperandSpec, owner: &Owner, address: &Address) -> Attributes {
    let metadata = owner.kube_metadata(address, &operand.name, operand.namespace.as_deref(), &[]);
    let mut object = kube_object(&operand.api_version, &operand.kind, metadata, []);
    for (key, value) in &operand.fields {
        object.insert(key.clone(), Value::from_json(value));
    }
    object
}

/// Adds the add-on notes to a plan's changes. A hosted-cluster change waits on a HostedCluster
/// that is not Available. A GPU operand notes that the GPU pools have no nodes. An updated
/// Subscription notes its upgrade, and a deleted one that its operator stays.
pub fn annotate_plan(changes: &mut [ResourceChange]) {
    let cluster_state = hosted_cluster_state(changes);
    let gpu_idle = idle_gpu_pool(changes);
    for change in changes.iter_mut().filter(|change| change.address.provider() == ProviderId::Hosted) {
        if change.action == Action::NoOp {
            continue;
        }
        if change.action != Action::Delete
            && let Some((cluster, because)) = &cluster_state
        {
            let waiting = Disruption::WaitsForHostedCluster { cluster: cluster.clone(), because: because.clone() };
            change.disruption.push(waiting);
        }
        if change.action != Action::Delete
            && let Some(pool) = &gpu_idle
            && needs_gpu_nodes(change)
        {
            change.disruption.push(Disruption::IdleWithoutGpuNodes { pool: pool.clone() });
        }
        if change.action == Action::Delete && change.address.kind() == "subscription" {
            change.disruption.push(left_to_olm(change));
        }
        if change.action == Action::Update
            && change.address.kind() == "subscription"
            && let Some(upgrade) = upgrade(change)
        {
            change.disruption.push(upgrade);
        }
    }
}

/// Returns the HostedCluster's address and why the hosted cluster cannot be reached yet, or
/// `None` when it reports `Available=True` and a kubeconfig.
fn hosted_cluster_state(changes: &[ResourceChange]) -> Option<(String, String)> {
    let change = changes
        .iter()
        .find(|change| change.address.provider() == ProviderId::Cluster && change.address.kind() == "hosted_cluster")?;
    let because = match change.action {
        Action::Create => "it is created by this plan".to_owned(),
        Action::Replace => "it is replaced by this plan".to_owned(),
        Action::Delete => "it is deleted by this plan".to_owned(),
        Action::NoOp | Action::Update => unavailable_reason(change.before.as_ref()?)?,
    };
    Some((change.address.to_string(), because))
}

/// Returns why an observed HostedCluster is not usable for add-ons, or `None` when it reports
/// `Available=True` and names its kubeconfig Secret.
fn unavailable_reason(observed: &Attributes) -> Option<String> {
    let status = observed.get("status");
    let conditions = status.and_then(|status| status.get_path(&["conditions"]));
    let available = match conditions {
        Some(Value::List(items)) => {
            items.iter().find(|item| item.get_path(&["type"]) == Some(&Value::from("Available")))
        }
        _ => None,
    };
    let Some(available) = available else {
        return Some("it reports no Available condition yet".to_owned());
    };
    let state = available.get_path(&["status"]).and_then(Value::as_str).unwrap_or("Unknown");
    if state != "True" {
        let reason = available.get_path(&["reason"]).and_then(Value::as_str).unwrap_or("no reason given");
        return Some(format!("it reports Available={state}, {reason}"));
    }
    let kubeconfig = status.and_then(|status| status.get_path(&["kubeconfig", "name"]));
    if kubeconfig.and_then(Value::as_str).is_none_or(str::is_empty) {
        return Some("it names no kubeconfig Secret in status.kubeconfig yet".to_owned());
    }
    None
}

/// Returns the NodePool name of the GPU pools when no GPU pool has or will keep a node: every
/// NodePool with a GPU instance type is at a fixed 0 replicas, or autoscales from 0 and reports
/// no nodes. `None` when a GPU node exists or no pool has GPUs.
fn idle_gpu_pool(changes: &[ResourceChange]) -> Option<String> {
    let pools: Vec<&ResourceChange> = changes
        .iter()
        .filter(|change| change.address.provider() == ProviderId::Cluster && change.address.kind() == "node_pool")
        .filter(|change| change.action != Action::Delete)
        .filter(|change| {
            let instance_type = attribute(change.after.as_ref(), &["spec", "platform", "aws", "instanceType"]);
            instance_type.and_then(Value::as_str).and_then(tables::gpus).is_some()
        })
        .collect();
    if pools.is_empty() || !pools.iter().all(|pool| pool_at_zero(pool)) {
        return None;
    }
    let names: Vec<&str> = pools
        .iter()
        .map(|pool| {
            attribute(pool.after.as_ref(), &["metadata", "name"]).and_then(Value::as_str).unwrap_or(pool.address.name())
        })
        .collect();
    Some(names.join(", "))
}

fn pool_at_zero(pool: &ResourceChange) -> bool {
    let after = pool.after.as_ref();
    let fixed = attribute(after, &["spec", "replicas"]).and_then(Value::as_int);
    let minimum = attribute(after, &["spec", "autoScaling", "min"]).and_then(Value::as_int);
    let reported = attribute(pool.before.as_ref(), &["status", "replicas"]).and_then(Value::as_int).unwrap_or(0);
    match (fixed, minimum) {
        (_, Some(minimum)) => minimum == 0 && reported == 0,
        (Some(fixed), None) => fixed == 0,
        (None, None) => reported == 0,
    }
}

fn needs_gpu_nodes(change: &ResourceChange) -> bool {
    let after = change.after.as_ref();
    let api_version = attribute(after, &["apiVersion"]).and_then(Value::as_str).unwrap_or_default();
    let kind = attribute(after, &["kind"]).and_then(Value::as_str).unwrap_or_default();
    let group = api_version.split_once('/').map_or("", |(group, _)| group);
    GPU_OPERAND_KINDS.iter().any(|(gpu_group, gpu_kind)| *gpu_group == group && *gpu_kind == kind)
}

fn left_to_olm(change: &ResourceChange) -> Disruption {
    let before = change.before.as_ref();
    let text = |path: &[&str]| attribute(before, path).and_then(Value::as_str).unwrap_or("unknown").to_owned();
    Disruption::OperatorLeftToOlm { package: text(&["spec", "name"]), namespace: text(&["metadata", "namespace"]) }
}

/// Describes a channel or starting-CSV change of a Subscription as an operator upgrade.
fn upgrade(change: &ResourceChange) -> Option<Disruption> {
    let moves: Vec<String> = change
        .attribute_changes
        .iter()
        .filter_map(|attribute| {
            let field = match attribute.path.as_str() {
                "spec.channel" => "channel",
                "spec.startingCSV" => "starting CSV",
                _ => return None,
            };
            let text = |value: Option<&Value>| value.and_then(Value::as_str).unwrap_or("none").to_owned();
            Some(format!("{field} {} -> {}", text(attribute.before.as_ref()), text(attribute.after.as_ref())))
        })
        .collect();
    if moves.is_empty() {
        return None;
    }
    let package = attribute(change.after.as_ref(), &["spec", "name"]).and_then(Value::as_str).unwrap_or("unknown");
    Some(Disruption::OperatorUpgrade { package: package.to_owned(), changes: moves.join(", ") })
}

fn attribute<'a>(attributes: Option<&'a Attributes>, path: &[&str]) -> Option<&'a Value> {
    let (first, rest) = path.split_first()?;
    attributes?.get(*first)?.get_path(rest)
}

#[cfg(test)]
mod tests {
    use tether_model::AttributeChange;

    use super::*;

    fn change(address: Address, action: Action, before: Option<Value>, after: Option<Value>) -> ResourceChange {
        let attributes = |value: Option<Value>| match value {
            Some(Value::Map(map)) => Some(map),
            _ => None,
        };
        ResourceChange {
            address,
            action,
            reasons: Vec::new(),
            id: None,
            before: attributes(before),
            after: attributes(after),
            attribute_changes: Vec::new(),
            depends_on: Default::default(),
            disruption: Vec::new(),
            create_before_destroy: false,
        }
    }

    fn available_cluster() -> ResourceChange {
        let status = Value::map([
            ("conditions", Value::List(vec![Value::map([("type", "Available".into()), ("status", "True".into())])])),
            ("kubeconfig", Value::map([("name", Value::from("ai-admin-kubeconfig"))])),
        ]);
        let observed = Value::map([("status", status)]);
        change(
            Address::cluster("hosted_cluster", "ai"),
            Action::NoOp,
            Some(observed),
            Some(Value::map([("spec", Value::map([("x", Value::Int(1))]))])),
        )
    }

    fn gpu_pool(minimum: i64, reported: i64) -> ResourceChange {
        let spec = Value::map([
            ("autoScaling", Value::map([("min", Value::Int(minimum)), ("max", Value::Int(2))])),
            ("platform", Value::map([("aws", Value::map([("instanceType", Value::from("g6.xlarge"))]))])),
        ]);
        let after = Value::map([("metadata", Value::map([("name", Value::from("ai-gpu"))])), ("spec", spec)]);
        let before = Value::map([("status", Value::map([("replicas", Value::Int(reported))]))]);
        change(Address::cluster("node_pool", "gpu"), Action::NoOp, Some(before), Some(after))
    }

    fn cluster_policy() -> ResourceChange {
        let after = Value::map([("apiVersion", Value::from("nvidia.com/v1")), ("kind", Value::from("ClusterPolicy"))]);
        change(Address::hosted("operand", "gpu-operator-cluster-policy"), Action::Create, None, Some(after))
    }

    #[test]
    fn created_cluster_makes_addons_wait() {
        let cluster = change(Address::cluster("hosted_cluster", "ai"), Action::Create, None, None);
        let mut changes = vec![cluster, cluster_policy()];
        annotate_plan(&mut changes);
        assert!(changes[1].disruption.contains(&Disruption::WaitsForHostedCluster {
            cluster: "cluster.hosted_cluster.ai".to_owned(),
            because: "it is created by this plan".to_owned(),
        }));
    }

    #[test]
    fn available_cluster_needs_no_wait() {
        let mut changes = vec![available_cluster(), cluster_policy()];
        annotate_plan(&mut changes);
        assert!(changes[1].disruption.iter().all(|note| !matches!(note, Disruption::WaitsForHostedCluster { .. })));
    }

    #[test]
    fn unavailable_cluster_reason_is_shown() {
        let observed = Value::map([(
            "status",
            Value::map([(
                "conditions",
                Value::List(vec![Value::map([
                    ("type", "Available".into()),
                    ("status", "False".into()),
                    ("reason", "WaitingForEtcd".into()),
                ])]),
            )]),
        )]);
        let cluster = change(Address::cluster("hosted_cluster", "ai"), Action::NoOp, Some(observed), None);
        assert_eq!(
            hosted_cluster_state(&[cluster]),
            Some(("cluster.hosted_cluster.ai".to_owned(), "it reports Available=False, WaitingForEtcd".to_owned()))
        );
    }

    #[test]
    fn cluster_policy_idle_while_gpu_pool_is_empty() {
        let mut changes = vec![available_cluster(), gpu_pool(0, 0), cluster_policy()];
        annotate_plan(&mut changes);
        assert_eq!(changes[2].disruption, [Disruption::IdleWithoutGpuNodes { pool: "ai-gpu".to_owned() }]);

        let mut running = vec![available_cluster(), gpu_pool(0, 1), cluster_policy()];
        annotate_plan(&mut running);
        assert!(running[2].disruption.is_empty(), "a GPU node exists");
    }

    #[test]
    fn deleted_subscription_leaves_operator() {
        let before = Value::map([
            ("metadata", Value::map([("namespace", Value::from("nvidia-gpu-operator"))])),
            ("spec", Value::map([("name", Value::from("gpu-operator-certified"))])),
        ]);
        let mut changes =
            vec![change(Address::hosted("subscription", "gpu-operator"), Action::Delete, Some(before), None)];
        annotate_plan(&mut changes);
        assert_eq!(
            changes[0].disruption,
            [Disruption::OperatorLeftToOlm {
                package: "gpu-operator-certified".to_owned(),
                namespace: "nvidia-gpu-operator".to_owned(),
            }]
        );
    }

    #[test]
    fn channel_change_is_an_upgrade() {
        let after = Value::map([("spec", Value::map([("name", Value::from("nfd"))]))]);
        let mut subscription = change(Address::hosted("subscription", "nfd"), Action::Update, None, Some(after));
        subscription.attribute_changes.push(AttributeChange {
            path: "spec.channel".to_owned(),
            before: Some(Value::from("stable")),
            after: Some(Value::from("4.21")),
            forces_replacement: false,
        });
        let mut changes = vec![available_cluster(), subscription];
        annotate_plan(&mut changes);
        assert_eq!(
            changes[1].disruption,
            [Disruption::OperatorUpgrade { package: "nfd".to_owned(), changes: "channel stable -> 4.21".to_owned() }]
        );
    }

    #[test]
    fn starting_csv_change_is_an_upgrade() {
        let after = Value::map([("spec", Value::map([("name", Value::from("gpu-operator-certified"))]))]);
        let mut subscription =
            change(Address::hosted("subscription", "gpu-operator"), Action::Update, None, Some(after));
        subscription.attribute_changes.push(AttributeChange {
            path: "spec.startingCSV".to_owned(),
            before: Some(Value::from("gpu-operator-certified.v25.3.0")),
            after: Some(Value::from("gpu-operator-certified.v25.3.1")),
            forces_replacement: false,
        });
        subscription.attribute_changes.push(AttributeChange {
            path: "spec.installPlanApproval".to_owned(),
            before: Some(Value::from("Automatic")),
            after: Some(Value::from("Manual")),
            forces_replacement: false,
        });
        let mut changes = vec![available_cluster(), subscription];
        annotate_plan(&mut changes);
        assert_eq!(
            changes[1].disruption,
            [Disruption::OperatorUpgrade {
                package: "gpu-operator-certified".to_owned(),
                changes: "starting CSV gpu-operator-certified.v25.3.0 -> gpu-operator-certified.v25.3.1".to_owned(),
            }],
            "only the channel and starting CSV make an upgrade"
        );
    }

    #[test]
    fn approval_change_alone_is_no_upgrade() {
        let after = Value::map([("spec", Value::map([("name", Value::from("nfd"))]))]);
        let mut subscription = change(Address::hosted("subscription", "nfd"), Action::Update, None, Some(after));
        subscription.attribute_changes.push(AttributeChange {
            path: "spec.installPlanApproval".to_owned(),
            before: Some(Value::from("Automatic")),
            after: Some(Value::from("Manual")),
            forces_replacement: false,
        });
        let mut changes = vec![available_cluster(), subscription];
        annotate_plan(&mut changes);
        assert!(changes[1].disruption.is_empty(), "{:?}", changes[1].disruption);
    }
}
