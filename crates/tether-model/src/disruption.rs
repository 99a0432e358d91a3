//! Disruption: the effect of a planned change on running nodes, computed by the planner and shown by
//! every renderer.

use std::fmt;

use serde::{Deserialize, Serialize};

/// The effect of one change on running nodes. The planner derives it from catalogue facts about
/// HyperShift NodePools and MachineConfigs; it only informs and never changes an action.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "kebab-case")]
pub enum Disruption {
    /// The NodePool's nodes are replaced by a rolling update. With upgrade type `Replace`,
    /// HyperShift creates each new node before it removes an old one (maxSurge 1, maxUnavailable 0).
    RollingReplacement {
        /// The NodePool's name on the cluster.
        pool: String,
        /// How many nodes are replaced.
        nodes: NodeCount,
        /// Attribute paths that trigger the rollout.
        paths: Vec<String>,
    },
    /// The NodePool is deleted, with all its nodes; a replacement creates a new pool afterwards.
    PoolRemoved {
        /// The NodePool's name on the cluster.
        pool: String,
        /// How many nodes go away.
        nodes: NodeCount,
    },
    /// The change reaches only nodes created after it; existing nodes keep their old taints and labels.
    NewNodesOnly {
        /// The NodePool's name on the cluster.
        pool: String,
        /// Attribute paths that existing nodes do not receive.
        paths: Vec<String>,
    },
    /// The HostedCluster is deleted and created again: its control plane and the etcd data in
    /// its control-plane namespace go away first.
    ClusterReplaced {
        /// The HostedCluster's name.
        cluster: String,
    },
    /// The Machine Config Operator drains and reboots every node of the MachineConfigPool,
    /// one at a time by default.
    RollingReboot {
        /// The MachineConfigPool role, e.g. `master`.
        role: String,
    },
    /// The resource lives in the hosted cluster, which tether reaches only once its HostedCluster
    /// reports `Available=True` and a kubeconfig. Until then its observed form is unknown.
    WaitsForHostedCluster {
        /// The HostedCluster's address, e.g. `cluster.hosted_cluster.ai`.
        cluster: String,
        /// The reason it is not reachable yet, e.g. `it is created by this plan`.
        because: String,
    },
    /// An operand that acts only on GPU nodes, while the GPU NodePool has none.
    IdleWithoutGpuNodes {
        /// The NodePool's name on the cluster.
        pool: String,
    },
    /// A Subscription's channel or starting CSV changes: OLM upgrades the operator in place.
    OperatorUpgrade {
        /// The OLM package, e.g. `gpu-operator-certified`.
        package: String,
        /// The changed fields with old and new values, e.g. `channel stable -> v25.3`.
        changes: String,
    },
    /// An Operator Lifecycle Manager Subscription is deleted: the operator it installed keeps its
    /// ClusterServiceVersion, which OLM owns.
    OperatorLeftToOlm {
        /// The OLM package, e.g. `gpu-operator-certified`.
        package: String,
        /// The namespace of the Subscription and its ClusterServiceVersion.
        namespace: String,
    },
}

impl Disruption {
    /// True when the change replaces, removes or reboots running nodes; false for notes about
    /// what a change does not reach.
    pub fn touches_nodes(&self) -> bool {
        match self {
            Disruption::RollingReplacement { .. }
            | Disruption::PoolRemoved { .. }
            | Disruption::ClusterReplaced { .. }
            | Disruption::RollingReboot { .. } => true,
            Disruption::NewNodesOnly { .. }
            | Disruption::WaitsForHostedCluster { .. }
            | Disruption::IdleWithoutGpuNodes { .. }
            | Disruption::OperatorUpgrade { .. }
            | Disruption::OperatorLeftToOlm { .. } => false,
        }
    }
}

/// The number of nodes a rollout touches.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(tag = "kind", content = "count", rename_all = "kebab-case")]
pub enum NodeCount {
    /// A fixed-size pool's replica count, or the number of nodes it reports.
    Exactly(i64),
    /// An autoscaling pool: every running node, at most its maximum.
    AtMost(i64),
}

impl fmt::Display for NodeCount {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let plural = |count: i64| if count == 1 { "node" } else { "nodes" };
        match *self {
            NodeCount::Exactly(count) => write!(f, "{count} {}", plural(count)),
            NodeCount::AtMost(count) => write!(f, "up to {count} {}", plural(count)),
        }
    }
}

impl fmt::Display for Disruption {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Disruption::RollingReplacement { pool, nodes, .. } => write!(
                f,
                "replaces {nodes} of NodePool {pool}, one at a time; each new node starts before an old one is removed"
            ),
            Disruption::PoolRemoved { pool, nodes } => {
                write!(f, "deletes NodePool {pool} and its {nodes}; their workloads must find room elsewhere")
            }
            Disruption::NewNodesOnly { pool, paths } => write!(
                f,
                "{} reach only nodes that NodePool {pool} creates from now on; existing nodes keep their current values",
                paths.join(", ")
            ),
            Disruption::ClusterReplaced { cluster } => write!(
                f,
                "deletes HostedCluster {cluster} with its control plane and etcd data, then creates a new cluster"
            ),
            Disruption::RollingReboot { role } => write!(
                f,
                "drains and reboots every node of the management cluster's `{role}` MachineConfigPool, one at a time"
            ),
            Disruption::WaitsForHostedCluster { cluster, because } => write!(
                f,
                "waits on {cluster} to report Available ({because}); its current form in the hosted cluster is known after apply"
            ),
            Disruption::IdleWithoutGpuNodes { pool } => {
                write!(f, "does nothing until a GPU node exists: NodePool {pool} has no nodes now")
            }
            Disruption::OperatorUpgrade { package, changes } => write!(
                f,
                "upgrades operator {package} in place ({changes}); OLM installs the new version, after approval when approval is Manual"
            ),
            Disruption::OperatorLeftToOlm { package, namespace } => write!(
                f,
                "leaves the installed operator {package} to OLM: tether does not delete its ClusterServiceVersion in {namespace}, which goes only with that namespace, and the CRDs it installed stay"
            ),
        }
    }
}
