//! Client configuration: which kubeconfig and context to use, timeouts, and the provider value.

use std::fmt;
use std::path::PathBuf;
use std::time::Duration;

use kube::client::ClientBuilder;
use kube::config::{KubeConfigOptions, Kubeconfig, KubeconfigError};
use kube::{Client, Config};
use tower::buffer::BufferLayer;
use tower::retry::RetryLayer;

use crate::discovery::DiscoveryCache;
use crate::retry::{RetrySettings, TransientRetry};

/// Requests that may wait at once for the client's shared connection service; more wait to enqueue.
const REQUEST_QUEUE: usize = 1024;

/// The kubeconfig file and context that locate the management cluster and its credentials.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct KubeOptions {
    /// A kubeconfig file. Without one, `KUBECONFIG` (a list of files to merge) is read, and
    /// without that, `~/.kube/config`.
    pub kubeconfig: Option<PathBuf>,
    /// The context to use. Without one, the kubeconfig's `current-context` is used.
    pub context: Option<String>,
}

/// Timeouts and retries of every request to the API server.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ClientTimeouts {
    /// Time allowed to open a TCP connection (and finish TLS).
    pub connect: Duration,
    /// Time allowed between sending a request and each read of its response.
    pub read: Duration,
    /// Time allowed for each write of a request.
    pub write: Duration,
    /// Retries of throttled requests, server errors and dropped connections.
    pub retry: RetrySettings,
}

impl Default for ClientTimeouts {
    /// 10 s to connect and 30 s to read or write. These are chosen defaults, not measured ones:
    /// every call tether makes is a short list, get, apply or delete.
    fn default() -> ClientTimeouts {
        ClientTimeouts {
            connect: Duration::from_secs(10),
            read: Duration::from_secs(30),
            write: Duration::from_secs(30),
            retry: RetrySettings::default(),
        }
    }
}

/// A kubeconfig that cannot be turned into a client.
#[derive(Debug, thiserror::Error)]
pub enum ConnectError {
    /// The named kubeconfig file cannot be read or parsed.
    #[error("cannot read the kubeconfig {}", path.display())]
    ReadKubeconfig {
        /// The file.
        path: PathBuf,
        /// kube's error.
        #[source]
        source: KubeconfigError,
    },
    /// No usable client configuration: a missing file, an unknown context or a missing server URL.
    #[error("cannot load {} from {}", describe_context(.context.as_deref()), describe_kubeconfig(.path.as_ref()))]
    LoadKubeconfig {
        /// The kubeconfig file, when one was named.
        path: Option<PathBuf>,
        /// The context, when one was named.
        context: Option<String>,
        /// kube's error.
        #[source]
        source: KubeconfigError,
    },
    /// The client cannot be built from the configuration, e.g. an invalid certificate.
    #[error("cannot create a Kubernetes client for {cluster_url}")]
    Client {
        /// The API server's URL from the kubeconfig.
        cluster_url: String,
        /// kube's error.
        #[source]
        source: kube::Error,
    },
}

fn describe_context(context: Option<&str>) -> String {
    match context {
        Some(context) => format!("context `{context}`"),
        None => "the current context".to_owned(),
    }
}

fn describe_kubeconfig(path: Option<&PathBuf>) -> String {
    match path {
        Some(path) => format!("the kubeconfig {}", path.display()),
        None => "the kubeconfig in KUBECONFIG or ~/.kube/config".to_owned(),
    }
}

/// The management-cluster provider: applies, observes and deletes Kubernetes objects.
pub struct TetherKube {
    pub(crate) client: Client,
    pub(crate) discovery: DiscoveryCache,
    /// The provider whose addresses this client observes: `cluster`, or `hosted` for the client
    /// of the hosted cluster.
    pub(crate) provider: tether_model::ProviderId,
    cluster_url: String,
}

impl TetherKube {
    /// Builds a provider from a kubeconfig with the default [`ClientTimeouts`].
    ///
    /// No request is sent yet: an unreachable server shows in the first operation.
    ///
    /// # Errors
    /// Fails when the kubeconfig cannot be read, has no such context, or names an invalid server
    /// URL or certificate.
    pub async fn connect(options: &KubeOptions) -> Result<TetherKube, ConnectError> {
        TetherKube::connect_with_timeouts(options, ClientTimeouts::default()).await
    }

    /// Builds a provider from a kubeconfig with the given timeouts.
    ///
    /// kube's own retry of 429, 503 and 504 responses is turned off in favour of tether's, which
    /// is bounded by `timeouts.retry`, also covers 500, 502 and dropped connections, and logs each
    /// retry. An error that outlasts the retries reaches the engine marked retryable.
    ///
    /// # Errors
    /// As [`TetherKube::connect`].
    pub async fn connect_with_timeouts(
        options: &KubeOptions,
        timeouts: ClientTimeouts,
    ) -> Result<TetherKube, ConnectError> {
        let mut config = load_config(options).await?;
        config.connect_timeout = Some(timeouts.connect);
        config.read_timeout = Some(timeouts.read);
        config.write_timeout = Some(timeouts.write);
        // Counts the read timeout from when a request is sent, not from when its pooled
        // connection went idle.
        config.reset_reader_on_write = true;
        config.default_retry = false;

        let cluster_url = config.cluster_url.to_string();
        let client = ClientBuilder::try_from(config)
            .map_err(|source| ConnectError::Client { cluster_url: cluster_url.clone(), source })?
            .with_layer(&BufferLayer::new(REQUEST_QUEUE))
            .with_layer(&RetryLayer::new(TransientRetry::new(timeouts.retry)))
            .build();
        tracing::debug!(%cluster_url, "Kubernetes client created");
        Ok(TetherKube::from_client(client, cluster_url))
    }

    /// Builds a provider over an existing client, e.g. one with custom middleware.
    pub fn from_client(client: Client, cluster_url: impl Into<String>) -> TetherKube {
        TetherKube {
            client,
            discovery: DiscoveryCache::default(),
            provider: tether_model::ProviderId::Cluster,
            cluster_url: cluster_url.into(),
        }
    }

    /// Returns the API server's URL.
    pub fn cluster_url(&self) -> &str {
        &self.cluster_url
    }
}

impl fmt::Debug for TetherKube {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("TetherKube").field("cluster_url", &self.cluster_url).finish_non_exhaustive()
    }
}

async fn load_config(options: &KubeOptions) -> Result<Config, ConnectError> {
    let kubeconfig_options = KubeConfigOptions { context: options.context.clone(), ..KubeConfigOptions::default() };
    let load_error = |source| ConnectError::LoadKubeconfig {
        path: options.kubeconfig.clone(),
        context: options.context.clone(),
        source,
    };
    match &options.kubeconfig {
        Some(path) => {
            let kubeconfig = Kubeconfig::read_from(path)
                .map_err(|source| ConnectError::ReadKubeconfig { path: path.clone(), source })?;
            Config::from_custom_kubeconfig(kubeconfig, &kubeconfig_options).await.map_err(load_error)
        }
        None => Config::from_kubeconfig(&kubeconfig_options).await.map_err(load_error),
    }
}

impl TetherKube {
    /// Returns a `kubernetes` state store for `environment` in `namespace` over this client.
    pub fn state_store(&self, namespace: &str, environment: &str) -> crate::KubeStateStore {
        crate::KubeStateStore::new(self.client.clone(), namespace, environment)
    }

    /// Waits until every target reports ready; see [`crate::ReadyKind`] for what ready means.
    ///
    /// # Errors
    /// Fails on timeout, naming the first object not ready and its last condition message.
    pub async fn wait_ready(
        &self,
        targets: &[crate::ReadinessTarget],
        timeout: std::time::Duration,
    ) -> Result<(), crate::WaitError> {
        crate::readiness::wait_ready(&self.client, targets, timeout).await
    }

    /// Returns the apply history of `environment` kept in `namespace`, over this client.
    pub fn history(&self, namespace: &str, environment: &str) -> crate::History {
        crate::History::new(self.client.clone(), namespace, environment)
    }
}
