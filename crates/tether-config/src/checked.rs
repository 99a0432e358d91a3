//! An environment file that passed validation, with its values parsed into typed form.

use std::fmt;
use std::net::Ipv4Addr;
use std::ops::Range;
use std::path::PathBuf;
use std::sync::Arc;

use ipnet::Ipv4Net;

use crate::diagnostic::{Diagnostic, SourceFile};
use crate::extends::Layers;
use crate::model::Environment;
use crate::secret::PullSecret;
use crate::spans::{KeyPath, SpanIndex};

/// An environment file that passed validation.
///
/// `environment` is the model as written; the other fields are its checked values in parsed form,
/// in the same order as in the file.
#[derive(Debug, Clone)]
pub struct Checked {
    /// The serde model as written, with defaults filled in.
    pub environment: Environment,
    /// The environment file's path, as given to [`crate::load`].
    pub path: PathBuf,
    /// The folder that relative paths in the file resolve against: the file's parent folder.
    pub base_dir: PathBuf,
    /// SHA-256 of the file's bytes, as lowercase hex.
    pub source_digest: String,
    /// `aws.vpc_cidr`.
    pub vpc_cidr: Ipv4Net,
    /// `onprem.networks`.
    pub onprem_networks: Vec<Ipv4Net>,
    /// `cluster.cluster_network`.
    pub cluster_network: Ipv4Net,
    /// `cluster.service_network`.
    pub service_network: Ipv4Net,
    /// `onprem.routes`.
    pub routes: Vec<Route>,
    /// The contents of `cluster.pull_secret_file`.
    pub pull_secret: PullSecret,
    /// The contents of `subnet_router.user_data_file`, when set.
    pub subnet_router_user_data: Option<String>,
    /// Advice that did not stop the file from loading.
    pub warnings: Vec<Diagnostic>,
    /// The file's text and the spans of its keys and values, for diagnostics raised after loading.
    pub(crate) source_map: SourceMap,
}

/// The environment file's text and the span of each key and value in it. With `extends`, the text is
/// the files of the chain combined, and `layers` moves a diagnostic into the file it points at.
#[derive(Clone)]
pub(crate) struct SourceMap {
    pub(crate) spans: SpanIndex,
    pub(crate) source: SourceFile,
    pub(crate) layers: Arc<Layers>,
}

/// Leaves out the texts, which the environment files already show.
impl fmt::Debug for SourceMap {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SourceMap").field("source", &self.source.name()).finish_non_exhaustive()
    }
}

impl Checked {
    /// Returns the path of `cluster.pull_secret_file`, resolved against [`Checked::base_dir`].
    pub fn pull_secret_path(&self) -> PathBuf {
        self.base_dir.join(&self.environment.cluster.pull_secret_file)
    }

    /// Returns the path of `aws.sts_credentials_file`, resolved against [`Checked::base_dir`], if set.
    pub fn sts_credentials_path(&self) -> Option<PathBuf> {
        let file = self.environment.aws.sts_credentials_file.as_ref()?;
        Some(self.base_dir.join(file))
    }

    /// Returns the span of the value at the key path `keys`, e.g. `["pools", "gpu", "instance_type"]`,
    /// or `None` when the file does not spell that value out.
    pub fn value_span(&self, keys: &[&str]) -> Option<Range<usize>> {
        self.source_map.spans.value(&KeyPath::of(keys))
    }

    /// Returns the span of the key at the key path `keys`, e.g. `["pools", "gpu"]` for the pool's
    /// table header.
    pub fn key_span(&self, keys: &[&str]) -> Option<Range<usize>> {
        self.source_map.spans.key(&KeyPath::of(keys))
    }

    /// Attaches the environment file's text to a diagnostic about it, so that its labels show the
    /// lines they point at.
    pub fn locate(&self, diagnostic: Diagnostic) -> Diagnostic {
        self.source_map.layers.rehome(diagnostic.with_source(&self.source_map.source))
    }

    /// Returns the NodePool name of the pool called `pool`: `<cluster name>-<pool name>`.
    pub fn node_pool_name(&self, pool: &str) -> String {
        format!("{}-{pool}", self.environment.cluster.name)
    }
}

/// One static route on the management cluster's nodes, parsed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Route {
    /// Destination network.
    pub destination: Ipv4Net,
    /// Next-hop address, inside one of the on-prem networks.
    pub gateway: Ipv4Addr,
    /// Network interface, e.g. `br-ex`.
    pub device: String,
}
