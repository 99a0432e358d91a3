//! Version skew between each pool's release and the HostedCluster's.
//!
//! HyperShift rejects a NodePool release newer than its control plane's and allows one at most
//! three minor versions older (`maxAllowedDiff := 3` in HyperShift's `support/supportedversion`;
//! the NodePool API documentation still says two). A NodePool outside that range gets the
//! condition `SupportedVersionSkew=False`.

use super::Checker;
use crate::codes;
use crate::diagnostic::Diagnostic;
use crate::release::{MAX_POOL_MINOR_LAG, OcpVersion, release_version};
use crate::spans::KeyPath;
use crate::syntax::image::check_pull_spec;

/// Checks each pool that overrides `release_image` against `cluster.release_image`.
pub(crate) fn check(checker: &mut Checker<'_>) {
    let cluster_image = &checker.environment.cluster.release_image;
    for (name, pool) in &checker.environment.pools {
        let Some(pool_image) = pool.release_image.as_deref() else {
            continue;
        };
        if pool_image == cluster_image {
            continue;
        }
        let pool_path = KeyPath::of(&["pools"]).key(name).key("release_image");
        let Some(cluster_version) = release_version(cluster_image) else {
            report_unknown(checker, name, &KeyPath::of(&["cluster", "release_image"]), cluster_image);
            continue;
        };
        match release_version(pool_image) {
            Some(pool_version) => check_skew(checker, name, &pool_path, &pool_version, &cluster_version),
            None => report_unknown(checker, name, &pool_path, pool_image),
        }
    }
}

fn check_skew(checker: &mut Checker<'_>, name: &str, path: &KeyPath, pool: &OcpVersion, cluster: &OcpVersion) {
    let Some((message, help)) = skew_problem(name, pool, cluster) else {
        return;
    };
    let diagnostic = Diagnostic::error(codes::RELEASE_SKEW, message)
        .with_label(checker.spans.value(path), format!("release {pool}"))
        .with_label(checker.value_span(&["cluster", "release_image"]), format!("HostedCluster release {cluster}"))
        .with_help(help);
    checker.report(diagnostic);
}

/// Returns the message and help for a pool release outside the allowed skew, or `None` within it.
fn skew_problem(name: &str, pool: &OcpVersion, cluster: &OcpVersion) -> Option<(String, String)> {
    if pool > cluster {
        let message = format!("pool `{name}` runs release {pool}, newer than the HostedCluster's {cluster}");
        let help = format!(
            "a NodePool may not be newer than its control plane: upgrade `cluster.release_image` first, or give this pool {cluster} or older"
        );
        return Some((message, help));
    }
    if pool.major != cluster.major {
        let message =
            format!("pool `{name}` runs release {pool}, a different major version from the HostedCluster's {cluster}");
        return Some((message, format!("give this pool a {}.x release no newer than {cluster}", cluster.major)));
    }

    // The pool is not newer and has the same major version, so its minor is at most the cluster's.
    let behind = cluster.minor - pool.minor;
    if behind <= MAX_POOL_MINOR_LAG {
        return None;
    }
    let message = format!(
        "pool `{name}` runs release {pool}, {behind} minor versions behind the HostedCluster's {cluster}; HyperShift allows at most {MAX_POOL_MINOR_LAG}"
    );
    let oldest = cluster.minor - MAX_POOL_MINOR_LAG;
    Some((message, format!("give this pool {}.{oldest} or newer, up to {cluster}", cluster.major)))
}

/// Notes that the skew rule cannot run because `image` carries no version; an invalid image is
/// reported by its own rule instead.
fn report_unknown(checker: &mut Checker<'_>, pool: &str, path: &KeyPath, image: &str) {
    if check_pull_spec(image).is_err() {
        return;
    }
    let reason = match tag(image) {
        Some(tag) => format!("its tag `{tag}` is not a `major.minor.patch` version"),
        None => "it is named by digest only".to_owned(),
    };
    let message = format!(
        "cannot check the version skew of pool `{pool}` against the HostedCluster: `{image}` has no version, because {reason}"
    );
    let diagnostic = Diagnostic::advice(codes::RELEASE_VERSION_UNKNOWN, message)
        .with_label(checker.spans.value(path), "no version")
        .with_help(
            "name the release by its version tag, e.g. `quay.io/openshift-release-dev/ocp-release:4.21.12-x86_64`, or check by hand that the pool is not newer than the HostedCluster and at most 3 minor versions older",
        );
    checker.report(diagnostic);
}

/// Returns the tag of a valid pull spec, or `None` when it is named by digest only.
fn tag(image: &str) -> Option<&str> {
    let name_and_tag = image.split_once('@').map_or(image, |(name, _digest)| name);
    let last_slash = name_and_tag.rfind('/').unwrap_or(0);
    let colon = name_and_tag.rfind(':').filter(|colon| *colon > last_slash)?;
    Some(&name_and_tag[colon + 1..])
}
