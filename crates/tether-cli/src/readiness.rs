//! `apply --wait`: after a successful apply, wait until HyperShift reports the hosted cluster
//! available and each node pool's nodes ready.

use std::time::Duration;

use anyhow::Context as _;
use tether_kube::{ReadinessTarget, ReadyKind};

use crate::environment::Session;

/// Lists what to wait for: the HostedCluster, then every NodePool with its expected node count
/// (`replicas`, or the autoscaling minimum).
fn targets(session: &Session) -> Vec<ReadinessTarget> {
    let checked = &session.environment.checked;
    let cluster = &checked.environment.cluster;
    let mut targets = vec![ReadinessTarget {
        address: format!("cluster.hosted_cluster.{}", cluster.name),
        namespace: cluster.namespace.clone(),
        name: cluster.name.clone(),
        kind: ReadyKind::HostedCluster,
    }];
    for (pool_name, pool) in &checked.environment.pools {
        let replicas = pool.replicas.or(pool.autoscaling.map(|bounds| bounds.min)).unwrap_or(0);
        targets.push(ReadinessTarget {
            address: format!("cluster.node_pool.{pool_name}"),
            namespace: cluster.namespace.clone(),
            name: checked.node_pool_name(pool_name),
            kind: ReadyKind::NodePool { replicas },
        });
    }
    targets
}

/// Waits up to `timeout` and prints a line when everything is ready.
///
/// # Errors
/// Fails on timeout, naming the resource and its last condition message.
pub async fn wait(session: &Session, timeout: Duration) -> anyhow::Result<()> {
    let targets = targets(session);
    eprintln!("Waiting up to {timeout:?} for the hosted cluster and {} node pools to become ready.", targets.len() - 1);
    session.kube.wait_ready(&targets, timeout).await.context("the apply finished, but the environment is not ready")?;
    eprintln!("The hosted cluster is available and every node pool reports its nodes.");
    Ok(())
}
