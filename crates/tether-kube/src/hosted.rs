//! The hosted-cluster provider: add-ons and their operands in the cluster that a HostedCluster runs.
//!
//! tether reaches the hosted cluster through the kubeconfig Secret that the HostedCluster's
//! `status.kubeconfig.name` names in the HostedCluster's namespace (key `kubeconfig`), once the
//! HostedCluster reports `Available=True`. The kubeconfig is read at observe and apply time, kept
//! in memory only, and never logged or stored. Applies, observes and deletes reuse the
//! management-cluster code with a second client.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use async_trait::async_trait;
use base64::Engine as _;
use kube::api::{DynamicObject, GetParams};
use kube::config::{KubeConfigOptions, Kubeconfig};
use kube::discovery::ApiResource;
use kube::{Client, Config};
use tether_engine::{Applied, ApplyRequest, DeleteRequest, ObserveScope, Provider, ProviderError};
use tether_model::{ObservedResource, ProviderId, Resource, State};

use crate::client::{ClientTimeouts, TetherKube};
use crate::error::KubeError;
use crate::object::KindRef;
use crate::secrets::Redactor;

/// How often the HostedCluster, or discovery of an operand's kind, is read again while waiting.
const POLL_INTERVAL: Duration = Duration::from_secs(2);

/// How long an operand's create waits for its kind to be served, a chosen bound. The operator's
/// ClusterServiceVersion installs the CustomResourceDefinition. OLM runs it only after it has
/// resolved the InstallPlan of the Subscription created just before.
const OPERAND_KIND_WAIT: Duration = Duration::from_secs(10 * 60);

/// The HostedCluster whose hosted cluster this provider manages.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HostedTarget {
    /// Its address, e.g. `cluster.hosted_cluster.ai`, for messages.
    pub address: String,
    /// Its namespace on the management cluster.
    pub namespace: String,
    /// Its name.
    pub name: String,
}

/// A failure to reach the hosted cluster or to find an operand's kind in it.
#[derive(Debug, thiserror::Error)]
pub enum HostedError {
    /// The HostedCluster is missing, not Available, or names no kubeconfig.
    #[error(
        "waiting on {cluster} to report Available ({reason}); run `tether apply --wait` to wait for it, or apply again once it is Available"
    )]
    NotAvailable {
        /// The HostedCluster's address.
        cluster: String,
        /// Its Available condition, or the missing part.
        reason: String,
    },
    /// Waiting ran out before the HostedCluster became Available.
    #[error("timed out after {waited:.0?} waiting on {cluster} to report Available ({reason})")]
    TimedOut {
        /// The HostedCluster's address.
        cluster: String,
        /// Its last Available condition, or the missing part.
        reason: String,
        /// How long tether waited.
        waited: Duration,
    },
    /// The kubeconfig Secret is missing or unusable. The message never contains its contents.
    #[error("the kubeconfig Secret {secret} of {cluster} is unusable: {problem}")]
    Kubeconfig {
        /// The HostedCluster's address.
        cluster: String,
        /// `namespace/name` of the Secret.
        secret: String,
        /// The problem, described without the Secret's data.
        problem: String,
    },
    /// An operand's kind is still not served after [`OPERAND_KIND_WAIT`].
    #[error(
        "{kind} is not served by the hosted cluster after {waited:.0?}; check that the add-on's Subscription installed its operator (`oc get csv -n <namespace>`)"
    )]
    KindNotServed {
        /// The operand's kind.
        kind: KindRef,
        /// How long tether waited.
        waited: Duration,
    },
    /// A call to either cluster failed.
    #[error(transparent)]
    Kube(#[from] KubeError),
}

/// The hosted-cluster provider, for addresses `hosted.<kind>.<name>`.
pub struct TetherHosted {
    management: Arc<TetherKube>,
    target: HostedTarget,
    /// How long a change waits for the HostedCluster to become Available; `None` fails at once.
    wait: Mutex<Option<Duration>>,
    /// The hosted cluster's client, once reached.
    connection: tokio::sync::Mutex<Option<Arc<TetherKube>>>,
}

impl std::fmt::Debug for TetherHosted {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TetherHosted").field("target", &self.target).finish_non_exhaustive()
    }
}

/// The outcome of reading the HostedCluster: a client, or the reason there is none yet.
enum Reach {
    Ready(Arc<TetherKube>),
    NotYet(String),
}

impl TetherHosted {
    /// Builds the provider. No request is sent until the first operation.
    pub fn new(management: Arc<TetherKube>, target: HostedTarget) -> TetherHosted {
        TetherHosted { management, target, wait: Mutex::new(None), connection: tokio::sync::Mutex::new(None) }
    }

    /// Sets how long creates, updates and deletes wait for the HostedCluster to become Available;
    /// `None`, the default, fails them at once with [`HostedError::NotAvailable`].
    pub fn wait_for_cluster(&self, wait: Option<Duration>) {
        *self.wait.lock().unwrap_or_else(std::sync::PoisonError::into_inner) = wait;
    }

    /// Returns the hosted cluster's client, waiting for Availability when allowed.
    async fn connected(&self) -> Result<Arc<TetherKube>, HostedError> {
        let wait = *self.wait.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
        let started = tokio::time::Instant::now();
        let mut announced = false;
        loop {
            let reason = match self.reach().await? {
                Reach::Ready(client) => return Ok(client),
                Reach::NotYet(reason) => reason,
            };
            let cluster = self.target.address.clone();
            let Some(wait) = wait else {
                return Err(HostedError::NotAvailable { cluster, reason });
            };
            if started.elapsed() >= wait {
                return Err(HostedError::TimedOut { cluster, reason, waited: started.elapsed() });
            }
            if !announced {
                tracing::info!(cluster = %self.target.address, %reason, "waiting for the HostedCluster to report Available");
                announced = true;
            }
            tokio::time::sleep(POLL_INTERVAL.min(wait.saturating_sub(started.elapsed()))).await;
        }
    }

    /// Reads the HostedCluster and, once it is Available, connects with its kubeconfig. The
    /// client is kept, so later calls send no request to the management cluster.
    async fn reach(&self) -> Result<Reach, HostedError> {
        let mut connection = self.connection.lock().await;
        if let Some(client) = connection.as_ref() {
            return Ok(Reach::Ready(client.clone()));
        }
        let Some(hosted_cluster) = self.read_hosted_cluster().await? else {
            return Ok(Reach::NotYet("it does not exist yet".to_owned()));
        };
        let secret_name = match availability(&hosted_cluster) {
            Ok(secret_name) => secret_name,
            Err(reason) => return Ok(Reach::NotYet(reason)),
        };
        let client = Arc::new(self.connect(&secret_name).await?);
        *connection = Some(client.clone());
        Ok(Reach::Ready(client))
    }

    async fn read_hosted_cluster(&self) -> Result<Option<serde_json::Value>, HostedError> {
        let resource = ApiResource {
            group: "hypershift.openshift.io".to_owned(),
            version: "v1beta1".to_owned(),
            api_version: "hypershift.openshift.io/v1beta1".to_owned(),
            kind: "HostedCluster".to_owned(),
            plural: "hostedclusters".to_owned(),
        };
        self.get(&resource, &self.target.name).await
    }

    /// Reads one object of the HostedCluster's namespace from the management cluster, or `None`
    /// when it does not exist. kube does not decode the body, because it logs a body it fails to
    /// decode and a Secret contains the kubeconfig.
    async fn get(&self, resource: &ApiResource, name: &str) -> Result<Option<serde_json::Value>, HostedError> {
        use kube::Resource as _;
        let path = DynamicObject::url_path(resource, Some(&self.target.namespace));
        let request =
            kube::core::Request::new(path).get(name, &GetParams::default()).map_err(KubeError::build_request)?;
        let text = match self.management.client.request_text(request).await {
            Ok(text) => text,
            Err(error) => {
                let error = KubeError::from_kube(error, &Redactor::default());
                return if error.is_not_found() { Ok(None) } else { Err(error.into()) };
            }
        };
        let object = serde_json::from_str(&text).map_err(|error| KubeError::decode(&error))?;
        Ok(Some(object))
    }

    /// Builds the hosted cluster's client from the kubeconfig Secret, with the management
    /// client's default timeouts and without kube's own retries.
    async fn connect(&self, secret_name: &str) -> Result<TetherKube, HostedError> {
        let secret_id = format!("{}/{secret_name}", self.target.namespace);
        let unusable = |problem: String| HostedError::Kubeconfig {
            cluster: self.target.address.clone(),
            secret: secret_id.clone(),
            problem,
        };
        let secret = self.get(&ApiResource::erase::<k8s_openapi::api::core::v1::Secret>(&()), secret_name).await?;
        let secret = secret.ok_or_else(|| unusable("it does not exist".to_owned()))?;
        let encoded =
            secret["data"]["kubeconfig"].as_str().ok_or_else(|| unusable("it has no `kubeconfig` key".to_owned()))?;
        let decoded = base64::engine::general_purpose::STANDARD
            .decode(encoded)
            .map_err(|_| unusable("its `kubeconfig` is not base64".to_owned()))?;
        drop(secret);
        let text = String::from_utf8(decoded).map_err(|_| unusable("its `kubeconfig` is not UTF-8".to_owned()))?;
        // kube's parse error describes the YAML position only, never the values.
        let kubeconfig =
            Kubeconfig::from_yaml(&text).map_err(|error| unusable(format!("not a kubeconfig: {error}")))?;
        drop(text);

        let mut config = Config::from_custom_kubeconfig(kubeconfig, &KubeConfigOptions::default())
            .await
            .map_err(|error| unusable(format!("not a usable kubeconfig: {error}")))?;
        let timeouts = ClientTimeouts::default();
        config.connect_timeout = Some(timeouts.connect);
        config.read_timeout = Some(timeouts.read);
        config.write_timeout = Some(timeouts.write);
        config.reset_reader_on_write = true;
        config.default_retry = false;
        let cluster_url = config.cluster_url.to_string();
        let client = Client::try_from(config).map_err(|error| unusable(format!("no client can be built: {error}")))?;
        tracing::debug!(cluster = %self.target.address, %cluster_url, "hosted cluster client created");

        let mut hosted = TetherKube::from_client(client, cluster_url);
        hosted.provider = ProviderId::Hosted;
        Ok(hosted)
    }

    /// Waits until the hosted cluster serves `kind`, for an operand whose operator may still be
    /// installing its CustomResourceDefinition.
    // TODO: no test reaches the waiting branch, because the Kubernetes test server serves a fixed
    // set of kinds from its start and cannot add a CRD's kind later, as OLM would.
    async fn wait_for_kind(&self, hosted: &TetherKube, kind: &KindRef) -> Result<(), HostedError> {
        let started = tokio::time::Instant::now();
        loop {
            match hosted.discovery.resolve(&hosted.client, kind).await {
                Ok(_) => return Ok(()),
                Err(KubeError::KindNotServed { .. }) if started.elapsed() < OPERAND_KIND_WAIT => {
                    tracing::debug!(%kind, "kind not served yet; waiting for the operator to install it");
                    tokio::time::sleep(POLL_INTERVAL).await;
                }
                Err(KubeError::KindNotServed { .. }) => {
                    return Err(HostedError::KindNotServed { kind: kind.clone(), waited: started.elapsed() });
                }
                Err(error) => return Err(error.into()),
            }
        }
    }

    async fn apply_hosted(&self, request: &ApplyRequest<'_>, action: &'static str) -> Result<Applied, ProviderError> {
        let operation = format!("{action} of {}", request.address);
        let hosted = self.connected().await.map_err(|error| provider_error(error, &operation))?;
        if request.address.kind() == "operand" {
            let kind = KindRef::from_attributes(request.address, request.attributes)
                .map_err(|error| error.into_provider_error(&operation))?;
            self.wait_for_kind(&hosted, &kind).await.map_err(|error| provider_error(error, &operation))?;
        }
        hosted.apply(request, action).await
    }
}

/// Returns the kubeconfig Secret's name of an Available HostedCluster, or why it is not usable.
fn availability(hosted_cluster: &serde_json::Value) -> Result<String, String> {
    let conditions = hosted_cluster.pointer("/status/conditions").and_then(serde_json::Value::as_array);
    let available = conditions.and_then(|items| items.iter().find(|item| item["type"] == "Available"));
    let Some(available) = available else {
        return Err("it reports no Available condition yet".to_owned());
    };
    if available["status"] != "True" {
        let state = available["status"].as_str().unwrap_or("Unknown");
        let reason = available["reason"].as_str().unwrap_or("no reason given");
        return Err(format!("it reports Available={state}, {reason}"));
    }
    match hosted_cluster.pointer("/status/kubeconfig/name").and_then(serde_json::Value::as_str) {
        Some(name) if !name.is_empty() => Ok(name.to_owned()),
        _ => Err("it names no kubeconfig Secret in status.kubeconfig yet".to_owned()),
    }
}

fn provider_error(error: HostedError, operation: &str) -> ProviderError {
    let retryable = matches!(&error, HostedError::Kube(kube) if kube.is_retryable());
    ProviderError { operation: operation.to_owned(), retryable, source: Box::new(error) }
}

#[async_trait]
impl Provider for TetherHosted {
    fn id(&self) -> ProviderId {
        ProviderId::Hosted
    }

    /// Observes nothing while the HostedCluster is not Available and state records no hosted
    /// resource, because nothing in its cluster can exist yet. The plan then shows every desired
    /// resource as a create that waits on it. With recorded resources it fails instead. Kinds
    /// the hosted cluster does not serve yet have no objects.
    async fn observe(&self, scope: &ObserveScope<'_>) -> Result<Vec<ObservedResource>, ProviderError> {
        const OPERATION: &str = "observe of the hosted cluster";
        let recorded = scope.state.resources.keys().any(|address| address.provider() == ProviderId::Hosted);
        if scope.desired.is_empty() && !recorded {
            return Ok(Vec::new());
        }
        let hosted = match self.reach().await.map_err(|error| provider_error(error, OPERATION))? {
            Reach::Ready(hosted) => hosted,
            // Resources that state records cannot be checked, and reporting them as missing
            // would plan to create them again and show them as drift.
            Reach::NotYet(reason) if recorded => {
                let error = HostedError::NotAvailable { cluster: self.target.address.clone(), reason };
                return Err(provider_error(error, OPERATION));
            }
            Reach::NotYet(reason) => {
                tracing::debug!(cluster = %self.target.address, %reason, "hosted cluster not reachable yet");
                return Ok(Vec::new());
            }
        };

        let mut desired: Vec<Resource> = Vec::new();
        for resource in scope.desired {
            if served(&hosted, resource.address.kind(), &resource.address, &resource.attributes).await? {
                desired.push(resource.clone());
            }
        }
        let mut state = State { resources: Default::default(), ..scope.state.clone() };
        for (address, recorded) in &scope.state.resources {
            if address.provider() == ProviderId::Hosted
                && served(&hosted, address.kind(), address, &recorded.attributes).await?
            {
                state.resources.insert(address.clone(), recorded.clone());
            }
        }
        let filtered = ObserveScope { environment: scope.environment, desired: &desired, state: &state };
        hosted.observe_owned(&filtered).await
    }

    async fn create(&self, request: &ApplyRequest<'_>) -> Result<Applied, ProviderError> {
        self.apply_hosted(request, "create").await
    }

    async fn update(&self, request: &ApplyRequest<'_>) -> Result<Applied, ProviderError> {
        self.apply_hosted(request, "update").await
    }

    async fn delete(&self, request: &DeleteRequest<'_>) -> Result<(), ProviderError> {
        let operation = format!("delete of {}", request.address);
        let hosted = self.connected().await.map_err(|error| provider_error(error, &operation))?;
        hosted.delete_object(request).await
    }
}

/// True when the hosted cluster serves the resource's kind. Only operands' kinds can be missing:
/// their operator installs them.
async fn served(
    hosted: &TetherKube,
    kind: &str,
    address: &tether_model::Address,
    attributes: &tether_model::Attributes,
) -> Result<bool, ProviderError> {
    if kind != "operand" {
        return Ok(true);
    }
    let operation = format!("discovery for {address}");
    let kind = KindRef::from_attributes(address, attributes).map_err(|error| error.into_provider_error(&operation))?;
    match hosted.discovery.resolve(&hosted.client, &kind).await {
        Ok(_) => Ok(true),
        Err(KubeError::KindNotServed { .. }) => Ok(false),
        Err(error) => Err(error.into_provider_error(operation)),
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    #[test]
    fn available_cluster_names_its_secret() {
        let object = json!({"status": {
            "conditions": [{"type": "Available", "status": "True"}],
            "kubeconfig": {"name": "ai-admin-kubeconfig"},
        }});
        assert_eq!(availability(&object), Ok("ai-admin-kubeconfig".to_owned()));
    }

    #[test]
    fn unavailable_cluster_gives_reason() {
        let object =
            json!({"status": {"conditions": [{"type": "Available", "status": "False", "reason": "WaitingForEtcd"}]}});
        assert_eq!(availability(&object), Err("it reports Available=False, WaitingForEtcd".to_owned()));
        assert_eq!(availability(&json!({})), Err("it reports no Available condition yet".to_owned()));
    }

    #[test]
    fn available_cluster_without_kubeconfig_waits() {
        let object = json!({"status": {"conditions": [{"type": "Available", "status": "True"}]}});
        let reason = availability(&object).unwrap_err();
        assert!(reason.contains("status.kubeconfig"), "{reason}");
    }

    #[test]
    fn not_available_message_names_cluster_and_fix() {
        let error = HostedError::NotAvailable {
            cluster: "cluster.hosted_cluster.ai".to_owned(),
            reason: "it does not exist yet".to_owned(),
        };
        let message = error.to_string();
        assert!(message.starts_with("waiting on cluster.hosted_cluster.ai to report Available"), "{message}");
        assert!(message.contains("tether apply --wait"), "{message}");
    }
}
