//! Warnings for pools that autoscale from zero, which HyperShift on AWS supports only under
//! conditions.
//!
//! Facts from HyperShift's NodePool controller and the OpenShift product guidance:
//! - The minimum written for the cluster autoscaler is raised to 1 unless the HyperShift operator
//!   runs with `--scale-from-zero-provider aws` and AWS credentials, or the machine template
//!   reports its capacity (which CAPA never fills).
//! - With the provider on, the controller writes the pool's taints to the annotation
//!   `capacity.cluster-autoscaler.kubernetes.io/taints`, from which the autoscaler reads the taints
//!   of a node group at zero. It writes CPU, memory and GPU only under `machine.openshift.io/*`,
//!   which the autoscaler's clusterapi provider does not read. The fix is an open pull request,
//!   https://github.com/openshift/hypershift/pull/9110, so scale-up from zero is unverified on every
//!   release.
//! - The product guidance needs OpenShift 4.18 or newer with an operator that has the backport,
//!   and `min = 0` only on tainted pools.

use super::Checker;
use super::capacity::is_untainted;
use crate::codes;
use crate::diagnostic::Diagnostic;
use crate::model::Pool;
use crate::release::{OcpVersion, release_version};
use crate::spans::KeyPath;

/// The first OpenShift minor version whose HyperShift supports autoscaling from zero on AWS.
const FIRST_SUPPORTED_MINOR: u64 = 18;

const UNVERIFIED_HELP: &str = "install the HyperShift operator with `--scale-from-zero-provider aws` and \
    `--scale-from-zero-creds` or `--scale-from-zero-secret`, then test that a pending pod scales this pool up: \
    the autoscaler ignores the capacity HyperShift writes under `machine.openshift.io/*` until \
    https://github.com/openshift/hypershift/pull/9110 is released; use `min = 1` where that fails";

/// Warns about each pool whose autoscaling minimum is 0.
pub(crate) fn check(checker: &mut Checker<'_>) {
    let release = release_version(&checker.environment.cluster.release_image);
    for (name, pool) in &checker.environment.pools {
        let Some(bounds) = pool.autoscaling else {
            continue;
        };
        if bounds.min != 0 || bounds.max < 1 || pool.replicas.is_some() {
            continue;
        }
        let span = checker.spans.value(&KeyPath::of(&["pools"]).key(name).key("autoscaling").key("min"));
        let diagnostic = warning(name, pool, release.as_ref()).with_label(span, "scales from zero");
        checker.report(diagnostic);
    }
}

fn warning(name: &str, pool: &Pool, release: Option<&OcpVersion>) -> Diagnostic {
    let untainted = if is_untainted(pool) {
        "; the pool has no `NoSchedule` taint, and the product guidance allows `min = 0` only on tainted pools"
    } else {
        ""
    };
    match release {
        Some(version) if version.major == 4 && version.minor < FIRST_SUPPORTED_MINOR => {
            let message = format!(
                "pool `{name}` autoscales from zero, but the HostedCluster runs {version} and HyperShift on AWS supports that only from 4.{FIRST_SUPPORTED_MINOR}, so the pool's taints never reach the autoscaler's node template{untainted}"
            );
            Diagnostic::warning(codes::SCALE_FROM_ZERO, message).with_help(format!(
                "set `min = 1`, or upgrade `cluster.release_image` to 4.{FIRST_SUPPORTED_MINOR} or newer with a HyperShift operator that supports scale from zero"
            ))
        }
        Some(version) => {
            let message = format!(
                "pool `{name}` autoscales from zero: on {version}, HyperShift keeps at least 1 node unless its operator runs with an AWS scale-from-zero provider, which also passes the pool's taints to the autoscaler{untainted}"
            );
            Diagnostic::warning(codes::SCALE_FROM_ZERO, message).with_help(UNVERIFIED_HELP)
        }
        None => {
            let message = format!(
                "pool `{name}` autoscales from zero, which needs OpenShift 4.{FIRST_SUPPORTED_MINOR} or newer, but `cluster.release_image` has no version to check{untainted}"
            );
            Diagnostic::warning(codes::SCALE_FROM_ZERO, message).with_help(UNVERIFIED_HELP)
        }
    }
}
