//! Fields of tether's resources that another actor writes, so that drift detection does not report
//! their changes.

use tether_model::{Address, Attributes, ProviderId};

/// An attribute path that belongs to someone other than tether, under a condition.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ForeignField {
    /// Dotted attribute path; paths inside it belong to the same owner.
    pub path: &'static str,
    /// Dotted path that must be set in what tether applied for the rule to hold; `None` when the
    /// rule always holds.
    pub when_set: Option<&'static str>,
    /// The actor that writes the field, for reports.
    pub owner: &'static str,
}

/// Status is written by the controllers of every Kubernetes kind.
const KUBE_STATUS: ForeignField = ForeignField { path: "status", when_set: None, owner: "the object's controller" };

/// An autoscaled NodePool's node count is the cluster autoscaler's, and HyperShift's controller
/// writes the status.
const NODE_POOL: &[ForeignField] = &[
    ForeignField { path: "spec.replicas", when_set: Some("spec.autoScaling"), owner: "the cluster autoscaler" },
    KUBE_STATUS,
];

/// HyperShift fills in the cluster ID and its own defaults in a HostedCluster's spec.
const HOSTED_CLUSTER: &[ForeignField] = &[
    ForeignField { path: "spec.clusterID", when_set: None, owner: "HyperShift" },
    ForeignField { path: "spec.fips", when_set: None, owner: "HyperShift" },
    KUBE_STATUS,
];

const KUBE_DEFAULT: &[ForeignField] = &[KUBE_STATUS];

/// Lists the fields of `address`'s kind that others write. AWS's own `aws:` tags are not listed
/// because observation drops them.
pub fn foreign_fields(address: &Address) -> &'static [ForeignField] {
    match (address.provider(), address.kind()) {
        (ProviderId::Cluster, "node_pool") => NODE_POOL,
        (ProviderId::Cluster, "hosted_cluster") => HOSTED_CLUSTER,
        (ProviderId::Cluster | ProviderId::Hosted, _) => KUBE_DEFAULT,
        (ProviderId::Aws, _) => &[],
    }
}

/// Returns the owner of `path` when someone other than tether writes it, given the attributes
/// tether applied.
pub fn foreign_owner(address: &Address, applied: &Attributes, path: &str) -> Option<&'static str> {
    foreign_fields(address)
        .iter()
        .filter(|field| path_within(path, field.path))
        .find(|field| field.when_set.is_none_or(|condition| is_set(applied, condition)))
        .map(|field| field.owner)
}

/// True when `path` is `outer` or lies inside it.
fn path_within(path: &str, outer: &str) -> bool {
    path == outer || (path.starts_with(outer) && path.as_bytes().get(outer.len()) == Some(&b'.'))
}

fn is_set(attributes: &Attributes, path: &str) -> bool {
    let mut keys = path.split('.');
    let Some(first) = keys.next() else { return false };
    let rest: Vec<&str> = keys.collect();
    attributes
        .get(first)
        .and_then(|value| value.get_path(&rest))
        .is_some_and(|value| *value != tether_model::Value::Null)
}

#[cfg(test)]
mod tests {
    use tether_model::Value;

    use super::*;

    fn spec(entries: Vec<(&str, Value)>) -> Attributes {
        Attributes::from([("spec".to_owned(), Value::map(entries))])
    }

    #[test]
    fn autoscaled_replicas_belong_to_autoscaler() {
        let pool = Address::cluster("node_pool", "gpu");
        let applied = spec(vec![("autoScaling", Value::map([("min", Value::Int(0)), ("max", Value::Int(2))]))]);
        assert_eq!(foreign_owner(&pool, &applied, "spec.replicas"), Some("the cluster autoscaler"));
        assert_eq!(foreign_owner(&pool, &applied, "spec.autoScaling.max"), None);
    }

    #[test]
    fn fixed_replicas_belong_to_tether() {
        let pool = Address::cluster("node_pool", "workers");
        let applied = spec(vec![("replicas", Value::Int(2))]);
        assert_eq!(foreign_owner(&pool, &applied, "spec.replicas"), None);
    }

    #[test]
    fn status_is_never_tethers() {
        let namespace = Address::cluster("namespace", "hcp-ai");
        assert!(foreign_owner(&namespace, &Attributes::new(), "status.phase").is_some());
        assert!(foreign_owner(&namespace, &Attributes::new(), "statusx").is_none());
        assert!(foreign_owner(&Address::aws("vpc", "main"), &Attributes::new(), "status").is_none());
    }
}
