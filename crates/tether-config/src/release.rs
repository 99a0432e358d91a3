//! OpenShift release versions read from release image tags, and the release rules a promotion must
//! keep: no downgrade, and no NodePool newer than its HostedCluster or more than 3 minor versions
//! older (HyperShift's `maxAllowedDiff` in `support/supportedversion/version.go`).

use std::cmp::Ordering;
use std::fmt;

use crate::model::Environment;

/// How many minor versions a NodePool may lag its HostedCluster.
pub const MAX_POOL_MINOR_LAG: u64 = 3;

/// An OpenShift version from a release image tag, e.g. `4.21.12` from `4.21.12-x86_64`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OcpVersion {
    /// Major version, 4 for OpenShift 4.
    pub major: u64,
    /// Minor version.
    pub minor: u64,
    /// Patch version.
    pub patch: u64,
    /// Pre-release part such as `rc.1` or `ec.2`; a pre-release sorts before its release.
    pub pre_release: Option<String>,
}

/// Orders by major, minor and patch; a pre-release comes before the release with the same numbers,
/// and pre-releases compare by their text.
impl Ord for OcpVersion {
    fn cmp(&self, other: &Self) -> Ordering {
        let numbers = (self.major, self.minor, self.patch).cmp(&(other.major, other.minor, other.patch));
        numbers.then_with(|| match (&self.pre_release, &other.pre_release) {
            (None, None) => Ordering::Equal,
            (None, Some(_)) => Ordering::Greater,
            (Some(_), None) => Ordering::Less,
            (Some(left), Some(right)) => left.cmp(right),
        })
    }
}

impl PartialOrd for OcpVersion {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}

impl fmt::Display for OcpVersion {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}.{}.{}", self.major, self.minor, self.patch)?;
        match &self.pre_release {
            Some(pre_release) => write!(f, "-{pre_release}"),
            None => Ok(()),
        }
    }
}

/// Reads the OpenShift version from a release image's tag. Returns `None` for an image pinned by
/// digest alone, or a tag that does not start with `MAJOR.MINOR.PATCH`.
pub fn release_version(image: &str) -> Option<OcpVersion> {
    let name_and_tag = image.split_once('@').map_or(image, |(name, _digest)| name);
    let last_slash = name_and_tag.rfind('/').unwrap_or(0);
    let colon = name_and_tag.rfind(':').filter(|colon| *colon > last_slash)?;
    let tag = &name_and_tag[colon + 1..];

    let (numbers, suffix) = match tag.find('-') {
        Some(dash) => (&tag[..dash], Some(&tag[dash + 1..])),
        None => (tag, None),
    };
    let mut parts = numbers.split('.').map(|part| part.parse::<u64>().ok());
    let (Some(Some(major)), Some(Some(minor)), Some(Some(patch)), None) =
        (parts.next(), parts.next(), parts.next(), parts.next())
    else {
        return None;
    };
    Some(OcpVersion { major, minor, patch, pre_release: suffix.and_then(pre_release) })
}

/// Returns the pre-release part of a tag suffix such as `rc.1-x86_64`; architecture suffixes such as
/// `x86_64` or `multi` are not pre-releases.
fn pre_release(suffix: &str) -> Option<String> {
    let first = suffix.split('-').next()?;
    let is_pre_release = ["rc.", "ec.", "fc."].iter().any(|prefix| first.starts_with(prefix));
    is_pre_release.then(|| first.to_owned())
}

/// A release change that a promotion must not make.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ReleaseViolation {
    /// A release would move to an older version.
    #[error("`{path}` would move from {current} down to {promoted}; OpenShift does not support downgrades")]
    Downgrade {
        /// The setting, e.g. `cluster.release_image`.
        path: String,
        /// The version now in the target file.
        current: OcpVersion,
        /// The version the promotion would write.
        promoted: OcpVersion,
    },
    /// A pool's release would be newer than the control plane's.
    #[error(
        "pool `{pool}` would run {pool_version}, newer than the control plane's {cluster_version}; promote `cluster.release_image` first"
    )]
    PoolNewerThanControlPlane {
        /// The pool's name.
        pool: String,
        /// The pool's release after the promotion.
        pool_version: OcpVersion,
        /// The control plane's release after the promotion.
        cluster_version: OcpVersion,
    },
    /// A pool's release would lag the control plane's by more than [`MAX_POOL_MINOR_LAG`] minor versions.
    #[error(
        "pool `{pool}` would run {pool_version}, more than {MAX_POOL_MINOR_LAG} minor versions older than the control plane's {cluster_version}; promote the pool's `release_image` too"
    )]
    PoolTooOld {
        /// The pool's name.
        pool: String,
        /// The pool's release after the promotion.
        pool_version: OcpVersion,
        /// The control plane's release after the promotion.
        cluster_version: OcpVersion,
    },
}

/// The outcome of checking a promotion's releases.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ReleaseCheck {
    /// Changes the promotion must not make.
    pub violations: Vec<ReleaseViolation>,
    /// Release images whose version cannot be read (pinned by digest), so no rule was checked for them.
    pub unjudged: Vec<String>,
}

/// Checks the releases of `promoted` against `current`, the same environment before the promotion.
/// Only releases that change, and pools whose release or control plane changes, are checked, so an
/// older problem in the file does not block an unrelated promotion.
pub fn check_releases(current: &Environment, promoted: &Environment) -> ReleaseCheck {
    let mut check = ReleaseCheck::default();
    let old_cluster = &current.cluster.release_image;
    let new_cluster = &promoted.cluster.release_image;
    check.compare_versions("cluster.release_image", old_cluster, new_cluster);

    for (name, pool) in &promoted.pools {
        let new_pool = pool.release_image_or(&promoted.cluster);
        let old_pool = current.pools.get(name).map(|old| old.release_image_or(&current.cluster));
        if old_pool == Some(new_pool) && old_cluster == new_cluster {
            continue;
        }
        if let Some(old_pool) = old_pool {
            check.compare_versions(&format!("pools.{name}.release_image"), old_pool, new_pool);
        }
        check.compare_skew(name, new_pool, new_cluster);
    }
    check
}

impl ReleaseCheck {
    fn version(&mut self, image: &str) -> Option<OcpVersion> {
        let version = release_version(image);
        if version.is_none() && !self.unjudged.iter().any(|seen| seen == image) {
            self.unjudged.push(image.to_owned());
        }
        version
    }

    fn compare_versions(&mut self, path: &str, current: &str, promoted: &str) {
        if current == promoted {
            return;
        }
        let (Some(current), Some(promoted)) = (self.version(current), self.version(promoted)) else {
            return;
        };
        if promoted < current {
            self.violations.push(ReleaseViolation::Downgrade { path: path.to_owned(), current, promoted });
        }
    }

    fn compare_skew(&mut self, pool: &str, pool_image: &str, cluster_image: &str) {
        let (Some(pool_version), Some(cluster_version)) = (self.version(pool_image), self.version(cluster_image))
        else {
            return;
        };
        let pool = pool.to_owned();
        if pool_version > cluster_version {
            self.violations.push(ReleaseViolation::PoolNewerThanControlPlane { pool, pool_version, cluster_version });
        } else if pool_version.major != cluster_version.major
            || cluster_version.minor - pool_version.minor > MAX_POOL_MINOR_LAG
        {
            self.violations.push(ReleaseViolation::PoolTooOld { pool, pool_version, cluster_version });
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn version(tag: &str) -> OcpVersion {
        release_version(&format!("quay.io/openshift-release-dev/ocp-release:{tag}")).expect("a version")
    }

    #[test]
    fn version_reads_tag_numbers() {
        let parsed = version("4.21.12-x86_64");
        assert_eq!((parsed.major, parsed.minor, parsed.patch), (4, 21, 12));
        assert_eq!(parsed.pre_release, None);
        assert_eq!(version("4.22.0-rc.1-multi").pre_release.as_deref(), Some("rc.1"));
        assert_eq!(version("4.21.3").to_string(), "4.21.3");
    }

    #[test]
    fn version_is_none_without_tag_or_numbers() {
        let digest = "sha256:0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef";
        assert_eq!(release_version(&format!("quay.io/ocp/release@{digest}")), None);
        assert_eq!(release_version("quay.io/ocp/release:latest"), None);
        assert_eq!(release_version("registry.local:5000/ocp/release"), None);
        assert!(release_version(&format!("quay.io/ocp/release:4.21.1-x86_64@{digest}")).is_some());
    }

    #[test]
    fn versions_order_numerically_with_pre_releases_first() {
        assert!(version("4.21.10-x86_64") > version("4.21.9-x86_64"));
        assert!(version("4.22.0-rc.1-x86_64") < version("4.22.0-x86_64"));
        assert!(version("4.22.0-rc.1-x86_64") > version("4.21.30-x86_64"));
    }
}
