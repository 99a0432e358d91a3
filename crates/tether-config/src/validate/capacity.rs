//! The rule that untainted pools keep at least two nodes, so that cluster workloads can schedule.
//!
//! OpenShift's own workloads (ingress routers, monitoring, the image registry) tolerate no custom
//! taints and run two replicas. The product guidance for scaling HyperShift node pools to and from
//! zero recommends at least two untainted baseline nodes and `min = 0` only on tainted pools.

use super::Checker;
use crate::codes;
use crate::diagnostic::Diagnostic;
use crate::model::Pool;
use crate::spans::KeyPath;

/// Nodes that pools without a blocking taint must keep in total.
pub(crate) const MIN_UNTAINTED_NODES: i64 = 2;

/// Taint effects that keep pods without a toleration off a node; `PreferNoSchedule` does not.
const BLOCKING_EFFECTS: [&str; 2] = ["NoSchedule", "NoExecute"];

/// Returns true when the pool has no taint that keeps ordinary pods off its nodes.
pub(crate) fn is_untainted(pool: &Pool) -> bool {
    !pool.taints.iter().any(|taint| BLOCKING_EFFECTS.contains(&taint.effect.as_str()))
}

/// Returns the node count a pool keeps when idle: `replicas`, or the autoscaling `min`. Returns
/// `None` when the size is invalid, which the pool rules report.
fn nodes_at_rest(pool: &Pool) -> Option<i64> {
    match (pool.replicas, pool.autoscaling) {
        (Some(replicas), None) if replicas >= 0 => Some(replicas),
        (None, Some(bounds)) if bounds.min >= 0 && bounds.min <= bounds.max => Some(bounds.min),
        _ => None,
    }
}

/// Reports when the untainted pools keep fewer than [`MIN_UNTAINTED_NODES`] nodes in total. A file
/// without pools, or with a pool whose size is invalid, is left to the other pool rules.
pub(crate) fn check(checker: &mut Checker<'_>) {
    let pools = &checker.environment.pools;
    if pools.is_empty() {
        return;
    }
    let mut untainted_nodes = 0;
    for pool in pools.values() {
        let Some(nodes) = nodes_at_rest(pool) else {
            return;
        };
        if is_untainted(pool) {
            untainted_nodes += nodes;
        }
    }
    if untainted_nodes >= MIN_UNTAINTED_NODES {
        return;
    }

    let message = format!(
        "pools without a `NoSchedule` or `NoExecute` taint keep {untainted_nodes} nodes in total, but cluster workloads need at least {MIN_UNTAINTED_NODES}"
    );
    let mut diagnostic = Diagnostic::error(codes::UNTAINTED_NODES_TOO_FEW, message);
    let untainted: Vec<(&String, &Pool)> = pools.iter().filter(|(_, pool)| is_untainted(pool)).collect();
    for (name, pool) in &untainted {
        diagnostic = diagnostic.with_label(size_span(checker, name, pool), format!("`{name}` keeps this many"));
    }
    if untainted.is_empty() {
        for name in pools.keys() {
            let taints = KeyPath::of(&["pools"]).key(name).key("taints");
            diagnostic = diagnostic.with_label(checker.spans.value(&taints), format!("`{name}` is tainted"));
        }
    }
    let help = "give untainted pools at least 2 nodes in total, e.g. `[pools.workers]` with `replicas = 2`; \
        OpenShift's routers, monitoring and registry tolerate no custom taints, so they run only there";
    checker.report(diagnostic.with_help(help));
}

/// Returns the span of the value that sets the pool's idle size: `replicas` or `autoscaling.min`.
fn size_span(checker: &Checker<'_>, name: &str, pool: &Pool) -> Option<std::ops::Range<usize>> {
    let path = KeyPath::of(&["pools"]).key(name);
    match pool.replicas {
        Some(_) => checker.spans.value(&path.key("replicas")),
        None => checker.spans.value(&path.key("autoscaling").key("min")),
    }
}
