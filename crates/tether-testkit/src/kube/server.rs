//! [`KubeTestServer`]: start and stop, the kubeconfig, and direct access for tests.

use std::net::SocketAddr;
use std::path::Path;
use std::sync::{Arc, mpsc};
use std::thread::JoinHandle;
use std::time::Duration;

use anyhow::Context as _;
use serde_json::Value;
use tokio::sync::watch;

use super::faults::{Fault, RecordedRequest};
use super::hypershift;
use super::metadata;
use super::resources::{ResourceTable, ResourceType};
use super::router::{self, ServerState, lock};
use super::store::ObjectKey;
use super::writes::{self, Address};

/// The field manager of status writes made through [`KubeTestServer::set_status`] and the
/// HyperShift helpers.
const STATUS_MANAGER: &str = "kube-test-server";

/// How long dropping a background server waits for its thread to finish.
const BACKGROUND_STOP_TIMEOUT: Duration = Duration::from_secs(5);

/// An in-memory Kubernetes API server on 127.0.0.1 for tests. Dropping it stops it.
///
/// ```no_run
/// # async fn example() -> anyhow::Result<()> {
/// use tether_testkit::kube::KubeTestServer;
///
/// let server = KubeTestServer::start().await?;
/// server.write_kubeconfig(std::path::Path::new("/tmp/kubeconfig"))?;
/// // Run kube or kubectl against it, then play HyperShift:
/// server.mark_hosted_cluster_available("clusters", "ai")?;
/// # Ok(())
/// # }
/// ```
#[derive(Debug)]
pub struct KubeTestServer {
    state: Arc<ServerState>,
    address: SocketAddr,
    shutdown: watch::Sender<bool>,
    background: Option<BackgroundThread>,
}

/// The thread of a server started with [`KubeTestServer::start_in_background`].
#[derive(Debug)]
struct BackgroundThread {
    handle: JoinHandle<()>,
    stopped: mpsc::Receiver<()>,
}

/// Configures a [`KubeTestServer`] before it starts: served types and listen address.
#[derive(Debug, Clone)]
pub struct KubeTestServerBuilder {
    resources: ResourceTable,
    address: SocketAddr,
}

impl Default for KubeTestServerBuilder {
    fn default() -> KubeTestServerBuilder {
        KubeTestServerBuilder { resources: ResourceTable::standard(), address: SocketAddr::from(([127, 0, 0, 1], 0)) }
    }
}

impl KubeTestServerBuilder {
    /// Adds a served type (or replaces the one with the same group and kind).
    pub fn resource(mut self, resource: ResourceType) -> KubeTestServerBuilder {
        self.resources = self.resources.with(resource);
        self
    }

    /// Replaces the whole table of served types.
    pub fn resources(mut self, resources: ResourceTable) -> KubeTestServerBuilder {
        self.resources = resources;
        self
    }

    /// Sets the listen address; the default is 127.0.0.1 on a free port.
    ///
    /// The server must only listen on a loopback address. `start` rejects anything else.
    pub fn address(mut self, address: SocketAddr) -> KubeTestServerBuilder {
        self.address = address;
        self
    }

    /// Binds and serves on the current tokio runtime.
    ///
    /// # Errors
    ///
    /// A non-loopback address, or a failure to bind.
    pub async fn start(self) -> anyhow::Result<KubeTestServer> {
        check_loopback(self.address)?;
        let listener = tokio::net::TcpListener::bind(self.address)
            .await
            .with_context(|| format!("failed to bind {}", self.address))?;
        let address = listener.local_addr()?;
        let (shutdown, stop) = watch::channel(false);
        let state = Arc::new(ServerState::new(self.resources, address, stop.clone()));

        tokio::spawn(serve(listener, state.clone(), stop));
        tracing::debug!(%address, "Kubernetes test API server started");
        Ok(KubeTestServer { state, address, shutdown, background: None })
    }

    /// Binds, then serves on a dedicated thread with its own single-threaded runtime.
    ///
    /// # Errors
    ///
    /// A non-loopback address, or a failure to bind, build the runtime or spawn the thread.
    pub fn start_in_background(self) -> anyhow::Result<KubeTestServer> {
        check_loopback(self.address)?;
        let listener =
            std::net::TcpListener::bind(self.address).with_context(|| format!("failed to bind {}", self.address))?;
        listener.set_nonblocking(true)?;
        let address = listener.local_addr()?;
        let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build()?;
        let (shutdown, stop) = watch::channel(false);
        let state = Arc::new(ServerState::new(self.resources, address, stop.clone()));

        let (stopped_sender, stopped) = mpsc::channel();
        let thread_state = state.clone();
        let handle = std::thread::Builder::new().name("kube-test-server".to_string()).spawn(move || {
            runtime.block_on(async move {
                match tokio::net::TcpListener::from_std(listener) {
                    Ok(listener) => serve(listener, thread_state, stop).await,
                    Err(error) => tracing::error!(%error, "Kubernetes test API server could not adopt its socket"),
                }
            });
            // A send error only means that `Drop` stopped waiting for the thread.
            let _ = stopped_sender.send(());
        })?;
        tracing::debug!(%address, "Kubernetes test API server started on a background thread");
        Ok(KubeTestServer { state, address, shutdown, background: Some(BackgroundThread { handle, stopped }) })
    }
}

fn check_loopback(address: SocketAddr) -> anyhow::Result<()> {
    anyhow::ensure!(
        address.ip().is_loopback(),
        "the Kubernetes test API server listens on loopback addresses only, not {address}"
    );
    Ok(())
}

/// Serves until the shutdown flag turns true, then lets open requests finish.
async fn serve(listener: tokio::net::TcpListener, state: Arc<ServerState>, mut stop: watch::Receiver<bool>) {
    let app = router::router(state);
    let stopped = async move {
        // An error means the sender is gone, which also means stop.
        let _ = stop.wait_for(|stop| *stop).await;
    };
    if let Err(error) = axum::serve(listener, app).with_graceful_shutdown(stopped).await {
        tracing::error!(%error, "Kubernetes test API server failed");
    }
    tracing::debug!("Kubernetes test API server stopped");
}

impl KubeTestServer {
    /// Returns a builder, to serve more types or listen on a chosen loopback address.
    pub fn builder() -> KubeTestServerBuilder {
        KubeTestServerBuilder::default()
    }

    /// Binds 127.0.0.1:0 and serves on the current tokio runtime.
    ///
    /// # Errors
    ///
    /// A failure to bind.
    pub async fn start() -> anyhow::Result<KubeTestServer> {
        KubeTestServer::builder().start().await
    }

    /// Starts on a dedicated background thread with its own runtime, for synchronous tests
    /// that run the `tether` binary as a child process.
    ///
    /// # Errors
    ///
    /// A failure to bind, build the runtime or spawn the thread.
    pub fn start_in_background() -> anyhow::Result<KubeTestServer> {
        KubeTestServer::builder().start_in_background()
    }

    /// Returns the base URL, `http://127.0.0.1:PORT`.
    pub fn url(&self) -> String {
        format!("http://{}", self.address)
    }

    /// Returns a kubeconfig whose current context `tether-test` points at the server over plain
    /// HTTP, with namespace `default` and a placeholder bearer token (the server checks no credentials).
    pub fn kubeconfig(&self) -> String {
        format!(
            "apiVersion: v1
kind: Config
clusters:
- name: tether-test
  cluster:
    server: {url}
contexts:
- name: tether-test
  context:
    cluster: tether-test
    user: tether-test
    namespace: default
current-context: tether-test
users:
- name: tether-test
  user:
    token: tether-test
preferences: {{}}
",
            url = self.url()
        )
    }

    /// Writes [`KubeTestServer::kubeconfig`] to a file.
    ///
    /// # Errors
    ///
    /// A failure to write the file.
    pub fn write_kubeconfig(&self, path: &Path) -> anyhow::Result<()> {
        std::fs::write(path, self.kubeconfig())
            .with_context(|| format!("failed to write kubeconfig {}", path.display()))
    }

    /// Reads an object as JSON, bypassing HTTP. `namespace` is `None` for cluster-scoped types.
    pub fn get(&self, api_version: &str, kind: &str, namespace: Option<&str>, name: &str) -> Option<Value> {
        let resource = self.state.resources.by_kind(api_version, kind)?;
        let store = self.state.store();
        store.get(&ObjectKey::new(resource, namespace, name)).map(|stored| stored.object.clone())
    }

    /// Creates an object as another client would, bypassing HTTP; its `apiVersion`, `kind` and
    /// `metadata.namespace` pick the type and namespace. Returns the stored object.
    ///
    /// # Errors
    ///
    /// A type that is not served, or whatever a POST of the object would fail with.
    pub fn create(&self, object: Value) -> anyhow::Result<Value> {
        let api_version = object["apiVersion"].as_str().unwrap_or_default();
        let kind = object["kind"].as_str().unwrap_or_default();
        let resource = self
            .state
            .resources
            .by_kind(api_version, kind)
            .with_context(|| format!("{kind} in {api_version} is not served"))?;
        let namespace = object.pointer("/metadata/namespace").and_then(Value::as_str).map(str::to_string);
        let options =
            writes::WriteOptions { manager: STATUS_MANAGER.to_string(), dry_run: false, force: false, status: false };
        let mut store = self.state.store();
        let saved = writes::create(&mut store, resource, namespace.as_deref(), object.clone(), &options)
            .map_err(|error| anyhow::anyhow!("cannot create the object: {error:?}"))?;
        Ok(saved.object)
    }

    /// Plays HyperShift: replaces `.status` of an object (bumps resourceVersion, not
    /// generation), and watches see the change.
    ///
    /// # Errors
    ///
    /// A type that is not served or has no status subresource, or a missing object.
    pub fn set_status(
        &self,
        api_version: &str,
        kind: &str,
        namespace: Option<&str>,
        name: &str,
        status: Value,
    ) -> anyhow::Result<()> {
        self.update_status(api_version, kind, namespace, name, |_, _| status)
    }

    /// Convenience for HyperShift: HostedCluster conditions Available=True, Progressing=False
    /// and Degraded=False, with `observedGeneration` set to the current generation.
    ///
    /// # Errors
    ///
    /// A missing HostedCluster.
    pub fn mark_hosted_cluster_available(&self, namespace: &str, name: &str) -> anyhow::Result<()> {
        self.update_status(
            "hypershift.openshift.io/v1beta1",
            "HostedCluster",
            Some(namespace),
            name,
            |current, generation| hypershift::hosted_cluster_available(current, generation, &metadata::now()),
        )
    }

    /// Plays HyperShift for one HostedCluster in the background: once it has existed for
    /// `play.delay`, it becomes Available and its status names a kubeconfig Secret for
    /// `play.kubeconfig`, e.g. a second test server playing the hosted cluster.
    pub fn play_hosted_cluster(&self, play: hypershift::HostedClusterPlay) -> std::thread::JoinHandle<()> {
        hypershift::spawn_player(self.state.clone(), play)
    }

    /// Sets a NodePool's `status.replicas` and a Ready=True condition.
    ///
    /// # Errors
    ///
    /// A missing NodePool.
    pub fn set_node_pool_replicas(&self, namespace: &str, name: &str, replicas: i64) -> anyhow::Result<()> {
        self.update_status(
            "hypershift.openshift.io/v1beta1",
            "NodePool",
            Some(namespace),
            name,
            |current, generation| hypershift::node_pool_replicas(current, replicas, generation, &metadata::now()),
        )
    }

    /// Computes a new status from the current status and generation, and writes it under one lock.
    fn update_status(
        &self,
        api_version: &str,
        kind: &str,
        namespace: Option<&str>,
        name: &str,
        new_status: impl FnOnce(Option<&Value>, i64) -> Value,
    ) -> anyhow::Result<()> {
        let resource = self
            .state
            .resources
            .by_kind(api_version, kind)
            .with_context(|| format!("{kind} in {api_version} is not served"))?;
        anyhow::ensure!(resource.status_subresource, "{kind} in {api_version} has no status subresource");
        let address = Address {
            resource,
            namespace: namespace.filter(|_| resource.namespaced).map(str::to_string),
            name: name.to_string(),
        };

        let mut store = self.state.store();
        let current = store.get(&address.key()).map(|stored| stored.object.clone());
        let current = current.with_context(|| format!("{} {name:?} not found", resource.qualified_plural()))?;
        let generation = current.pointer("/metadata/generation").and_then(Value::as_i64).unwrap_or(0);
        let status = new_status(current.get("status"), generation);
        writes::write_status(&mut store, &address, status, STATUS_MANAGER)?;
        Ok(())
    }

    /// Fails or delays the next requests that match; see [`Fault`].
    pub fn inject_fault(&self, fault: Fault) {
        lock(&self.state.faults).push(fault);
    }

    /// Returns every request served so far, in order of completion.
    pub fn requests(&self) -> Vec<RecordedRequest> {
        lock(&self.state.requests).clone()
    }
}

impl Drop for KubeTestServer {
    fn drop(&mut self) {
        // A send error means the serving task is already gone.
        let _ = self.shutdown.send(true);
        let Some(background) = self.background.take() else {
            return;
        };
        match background.stopped.recv_timeout(BACKGROUND_STOP_TIMEOUT) {
            Ok(()) | Err(mpsc::RecvTimeoutError::Disconnected) => {
                if background.handle.join().is_err() {
                    tracing::warn!("Kubernetes test API server thread panicked");
                }
            }
            Err(mpsc::RecvTimeoutError::Timeout) => {
                tracing::warn!(timeout = ?BACKGROUND_STOP_TIMEOUT, "Kubernetes test API server thread did not stop in time; leaving it behind");
            }
        }
    }
}
