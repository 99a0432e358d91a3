//! The environment's apply history on the management cluster: one ConfigMap per apply,
//! `tether-history-<environment>-<lock id>`, labelled with the environment.

use std::collections::BTreeMap;

use k8s_openapi::api::core::v1::ConfigMap;
use kube::api::{Api, ListParams, ObjectMeta, PostParams};
use tether_engine::AuditRecord;

use crate::error::KubeError;
use crate::secrets::Redactor;
use crate::state_store::ensure_namespace;

/// The label that marks history ConfigMaps with their environment.
pub const HISTORY_LABEL: &str = "tether.dev/history-of";

const RECORD_KEY: &str = "record.json";

/// A failure to read or write the history.
#[derive(Debug, thiserror::Error)]
pub enum HistoryError {
    /// The API server refused or could not be reached.
    #[error("cannot {operation} the apply history in namespace {namespace}")]
    Kube {
        /// `write` or `list`.
        operation: &'static str,
        /// The namespace.
        namespace: String,
        /// The API error.
        #[source]
        source: KubeError,
    },
    /// A ConfigMap does not hold a valid record.
    #[error("the history ConfigMap {namespace}/{name} does not hold a valid record")]
    Corrupt {
        /// The namespace.
        namespace: String,
        /// The ConfigMap.
        name: String,
        /// The parse error.
        #[source]
        source: serde_json::Error,
    },
}

/// The apply history of one environment in one namespace.
pub struct History {
    client: kube::Client,
    namespace: String,
    environment: String,
}

impl History {
    /// Creates the history of `environment` kept in `namespace`. Nothing is sent yet.
    pub fn new(client: kube::Client, namespace: &str, environment: &str) -> History {
        History { client, namespace: namespace.to_owned(), environment: environment.to_owned() }
    }

    fn api(&self) -> Api<ConfigMap> {
        Api::namespaced(self.client.clone(), &self.namespace)
    }

    fn error(&self, operation: &'static str, error: kube::Error) -> HistoryError {
        let source = KubeError::from_kube(error, &Redactor::default());
        HistoryError::Kube { operation, namespace: self.namespace.clone(), source }
    }

    /// Writes a record, creating its ConfigMap (and the namespace) or replacing it.
    ///
    /// # Errors
    /// Fails when the API server refuses the write.
    pub async fn record(&self, record: &AuditRecord) -> Result<(), HistoryError> {
        ensure_namespace(&self.client, &self.namespace).await.map_err(|error| self.error("write", error))?;
        let name = format!("tether-history-{}-{}", self.environment, record.id);
        let labels = BTreeMap::from([(HISTORY_LABEL.to_owned(), self.environment.clone())]);
        // An `AuditRecord` has only strings, numbers and timestamps, which serde_json always encodes.
        let text = serde_json::to_string_pretty(record).unwrap_or_default();
        let config_map = ConfigMap {
            metadata: ObjectMeta { name: Some(name.clone()), labels: Some(labels), ..ObjectMeta::default() },
            data: Some(BTreeMap::from([(RECORD_KEY.to_owned(), text)])),
            ..ConfigMap::default()
        };
        match self.api().create(&PostParams::default(), &config_map).await {
            Ok(_) => Ok(()),
            Err(kube::Error::Api(status)) if status.code == 409 => {
                self.api()
                    .replace(&name, &PostParams::default(), &config_map)
                    .await
                    .map_err(|error| self.error("write", error))?;
                Ok(())
            }
            Err(error) => Err(self.error("write", error)),
        }
    }

    /// Lists the records, oldest first; none when the namespace does not exist.
    ///
    /// # Errors
    /// Fails when the list call fails or a record is not valid JSON.
    pub async fn list(&self) -> Result<Vec<AuditRecord>, HistoryError> {
        let selector = format!("{HISTORY_LABEL}={}", self.environment);
        let config_maps = match self.api().list(&ListParams::default().labels(&selector)).await {
            Ok(list) => list.items,
            Err(kube::Error::Api(status)) if status.code == 404 => Vec::new(),
            Err(error) => return Err(self.error("list", error)),
        };
        let mut records = Vec::new();
        for config_map in config_maps {
            let name = config_map.metadata.name.unwrap_or_default();
            let text = config_map.data.and_then(|mut data| data.remove(RECORD_KEY)).unwrap_or_default();
            let record: AuditRecord = serde_json::from_str(&text).map_err(|source| HistoryError::Corrupt {
                namespace: self.namespace.clone(),
                name,
                source,
            })?;
            records.push(record);
        }
        records.sort_by(|a, b| a.started.cmp(&b.started).then_with(|| a.id.cmp(&b.id)));
        Ok(records)
    }
}
