//! The `kubernetes` state backend: the state in Secrets in one namespace of the management
//! cluster, written with optimistic concurrency, and a `coordination.k8s.io/v1` Lease as its lock.
//!
//! The Secret `tether-state-<environment>` is the index. A state up to the chunk size sits in its
//! `state.json` key. A larger state is split into chunk Secrets
//! `tether-state-<environment>-<serial>-<n>`, written first, and the index then names their
//! serial, count and SHA-256 in one conditional update. A reader therefore sees the old or the
//! new state, never a mix. Chunks of other serials are deleted after the index moves on.

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};

use async_trait::async_trait;
use k8s_openapi::ByteString;
use k8s_openapi::api::core::v1::{ConfigMap, Namespace, Secret};
use kube::api::{Api, DeleteParams, ListParams, ObjectMeta, Patch, PatchParams, PostParams};
use sha2::{Digest as _, Sha256};
use tether_engine::{LockError, LockInfo, StateError, StateLock, StateStore, check_document_name};
use tether_model::{STATE_FORMAT_VERSION, State};

use crate::error::KubeError;
use crate::lease::{self, LeaseStatus};
use crate::secrets::Redactor;

/// The label that marks the state's Secrets with their environment. tether's ownership labels
/// are left off, so that observation does not take these Secrets for resources.
pub const STATE_LABEL: &str = "tether.dev/state-of";

/// The default chunk size: half of the 1 MiB limit of a Secret, leaving room for base64 and
/// metadata.
pub const DEFAULT_CHUNK_BYTES: usize = 512 * 1024;

const STATE_KEY: &str = "state.json";
const CHUNKS_KEY: &str = "chunks";
const SERIAL_KEY: &str = "serial";
const DIGEST_KEY: &str = "sha256";
/// The key of a document's JSON in its ConfigMap.
const DOCUMENT_KEY: &str = "document.json";

/// State in Secrets of one namespace on the management cluster, locked by a Lease.
pub struct KubeStateStore {
    client: kube::Client,
    namespace: String,
    environment: String,
    chunk_bytes: usize,
    /// The index Secret's `resourceVersion` as last read or written, for conditional updates.
    seen_version: Mutex<Option<String>>,
    /// Whether chunk Secrets may exist: the state read was chunked, or a save wrote chunks.
    may_have_chunks: AtomicBool,
    /// The Lease this process holds, shared with its renewal task.
    lease: Arc<LeaseStatus>,
}

impl KubeStateStore {
    /// Creates a store for `environment` in `namespace`. Nothing is sent yet.
    pub fn new(client: kube::Client, namespace: &str, environment: &str) -> KubeStateStore {
        KubeStateStore {
            client,
            namespace: namespace.to_owned(),
            environment: environment.to_owned(),
            chunk_bytes: DEFAULT_CHUNK_BYTES,
            seen_version: Mutex::new(None),
            may_have_chunks: AtomicBool::new(false),
            lease: Arc::new(LeaseStatus::default()),
        }
    }

    /// Sets the chunk size in bytes (at least 1), e.g. to exercise chunking with a small state.
    pub fn with_chunk_bytes(mut self, chunk_bytes: usize) -> KubeStateStore {
        self.chunk_bytes = chunk_bytes.max(1);
        self
    }

    /// Returns the namespace of the state's Secrets.
    pub fn namespace(&self) -> &str {
        &self.namespace
    }

    fn secrets(&self) -> Api<Secret> {
        Api::namespaced(self.client.clone(), &self.namespace)
    }

    fn index_name(&self) -> String {
        format!("tether-state-{}", self.environment)
    }

    fn remote_error(
        &self,
        operation: &'static str,
        source: impl Into<Box<dyn std::error::Error + Send + Sync>>,
    ) -> StateError {
        StateError::Remote { operation, location: self.describe(), source: source.into() }
    }

    fn kube_error(&self, operation: &'static str, error: kube::Error) -> StateError {
        match KubeError::from_kube(error, &Redactor::default()) {
            KubeError::Api { code: 409, .. } => StateError::Conflict { location: self.describe() },
            error => self.remote_error(operation, error),
        }
    }

    fn labels(&self, part: &str) -> BTreeMap<String, String> {
        BTreeMap::from([
            (STATE_LABEL.to_owned(), self.environment.clone()),
            ("tether.dev/state-part".to_owned(), part.to_owned()),
        ])
    }

    /// Returns the name of document `name`'s ConfigMap: `tether-<environment>-<name>`. Documents
    /// hold no secrets, so a ConfigMap suffices.
    fn document_name(&self, name: &str) -> String {
        format!("tether-{}-{name}", self.environment)
    }

    fn config_maps(&self) -> Api<ConfigMap> {
        Api::namespaced(self.client.clone(), &self.namespace)
    }

    fn document_error(&self, operation: &'static str, object: &str, error: kube::Error) -> StateError {
        let source = Box::new(KubeError::from_kube(error, &Redactor::default()));
        StateError::Remote { operation, location: format!("ConfigMap {}/{object}", self.namespace), source }
    }

    /// Reads the chunks that the index names and checks their digest.
    async fn read_chunks(&self, index: &BTreeMap<String, ByteString>) -> Result<Vec<u8>, StateError> {
        let text = |key: &str| index.get(key).and_then(|value| String::from_utf8(value.0.clone()).ok());
        let (Some(count), Some(serial), Some(digest)) = (text(CHUNKS_KEY), text(SERIAL_KEY), text(DIGEST_KEY)) else {
            return Err(self.remote_error("parse", "the index Secret has neither `state.json` nor a chunk list"));
        };
        let count: usize = count.parse().map_err(|_| self.remote_error("parse", "the chunk count is not a number"))?;
        let mut bytes = Vec::new();
        for part in 0..count {
            let name = format!("{}-{serial}-{part}", self.index_name());
            let chunk = self.secrets().get(&name).await.map_err(|error| self.kube_error("read", error))?;
            let data = chunk.data.and_then(|mut data| data.remove(STATE_KEY)).unwrap_or_default();
            bytes.extend(data.0);
        }
        if hex_digest(&bytes) != digest {
            return Err(self.remote_error("parse", "the chunks do not match the digest in the index Secret"));
        }
        Ok(bytes)
    }

    fn parse(&self, bytes: &[u8]) -> Result<State, StateError> {
        #[derive(serde::Deserialize)]
        struct Header {
            format_version: u32,
        }
        let header: Header = serde_json::from_slice(bytes).map_err(|error| self.remote_error("parse", error))?;
        if header.format_version > STATE_FORMAT_VERSION {
            let message = format!(
                "format version {} is newer than {STATE_FORMAT_VERSION} that this tether reads; upgrade tether",
                header.format_version
            );
            return Err(self.remote_error("parse", message));
        }
        let state: State = serde_json::from_slice(bytes).map_err(|error| self.remote_error("parse", error))?;
        if state.environment != self.environment {
            let message = format!("it belongs to environment `{}`, not `{}`", state.environment, self.environment);
            return Err(self.remote_error("parse", message));
        }
        Ok(state)
    }

    /// Writes chunk Secrets for a state larger than one chunk and returns the index entries.
    async fn write_chunks(&self, serial: u64, bytes: &[u8]) -> Result<BTreeMap<String, ByteString>, StateError> {
        let chunks: Vec<&[u8]> = bytes.chunks(self.chunk_bytes).collect();
        for (part, chunk) in chunks.iter().enumerate() {
            let secret = Secret {
                metadata: ObjectMeta {
                    name: Some(format!("{}-{serial}-{part}", self.index_name())),
                    labels: Some(self.labels("chunk")),
                    ..ObjectMeta::default()
                },
                data: Some(BTreeMap::from([(STATE_KEY.to_owned(), ByteString(chunk.to_vec()))])),
                ..Secret::default()
            };
            match self.secrets().create(&PostParams::default(), &secret).await {
                Ok(_) => {}
                // A chunk left by a run that stopped before moving the index is replaced.
                Err(kube::Error::Api(status)) if status.code == 409 => {
                    let name = secret.metadata.name.clone().unwrap_or_default();
                    self.secrets()
                        .replace(&name, &PostParams::default(), &secret)
                        .await
                        .map_err(|error| self.kube_error("write", error))?;
                }
                Err(error) => return Err(self.kube_error("write", error)),
            }
        }
        Ok(BTreeMap::from([
            (CHUNKS_KEY.to_owned(), ByteString(chunks.len().to_string().into_bytes())),
            (SERIAL_KEY.to_owned(), ByteString(serial.to_string().into_bytes())),
            (DIGEST_KEY.to_owned(), ByteString(hex_digest(bytes).into_bytes())),
        ]))
    }

    /// Deletes chunk Secrets that the index no longer names.
    async fn delete_stale_chunks(&self, keep_serial: Option<u64>) -> Result<(), StateError> {
        let selector = format!("{STATE_LABEL}={},tether.dev/state-part=chunk", self.environment);
        let chunks = self
            .secrets()
            .list(&ListParams::default().labels(&selector))
            .await
            .map_err(|error| self.kube_error("list", error))?;
        let keep = keep_serial.map(|serial| format!("{}-{serial}-", self.index_name()));
        for chunk in chunks {
            let name = chunk.metadata.name.unwrap_or_default();
            if keep.as_deref().is_some_and(|prefix| name.starts_with(prefix)) {
                continue;
            }
            match self.secrets().delete(&name, &DeleteParams::default()).await {
                Ok(_) => {}
                Err(kube::Error::Api(status)) if status.code == 404 => {}
                Err(error) => return Err(self.kube_error("delete", error)),
            }
        }
        Ok(())
    }

    /// Creates or conditionally replaces the index Secret.
    async fn write_index(&self, data: BTreeMap<String, ByteString>) -> Result<(), StateError> {
        let seen = lock_ignoring_poison(&self.seen_version).clone();
        let mut secret = Secret {
            metadata: ObjectMeta {
                name: Some(self.index_name()),
                labels: Some(self.labels("index")),
                ..ObjectMeta::default()
            },
            data: Some(data),
            ..Secret::default()
        };
        let written = match seen {
            None => self.secrets().create(&PostParams::default(), &secret).await,
            Some(version) => {
                secret.metadata.resource_version = Some(version);
                self.secrets().replace(&self.index_name(), &PostParams::default(), &secret).await
            }
        };
        let written = written.map_err(|error| self.kube_error("write", error))?;
        *lock_ignoring_poison(&self.seen_version) = written.metadata.resource_version;
        Ok(())
    }
}

/// Creates the namespace when it is missing, so that the first apply can lock, save and record
/// its history there.
///
/// NOTE: this is `cluster.namespace`, which tether also manages, so deleting the environment's
/// Namespace deletes its state, Lease and history with it.
pub(crate) async fn ensure_namespace(client: &kube::Client, name: &str) -> Result<(), kube::Error> {
    let namespaces: Api<Namespace> = Api::all(client.clone());
    if namespaces.get_opt(name).await?.is_some() {
        return Ok(());
    }
    let namespace = Namespace {
        metadata: ObjectMeta { name: Some(name.to_owned()), ..ObjectMeta::default() },
        ..Namespace::default()
    };
    match namespaces.create(&PostParams::default(), &namespace).await {
        Err(kube::Error::Api(status)) if status.code == 409 => Ok(()),
        result => result.map(|_| ()),
    }
}

fn hex_digest(bytes: &[u8]) -> String {
    Sha256::digest(bytes).iter().map(|byte| format!("{byte:02x}")).collect()
}

pub(crate) fn lock_ignoring_poison<T>(mutex: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    mutex.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
}

#[async_trait]
impl StateStore for KubeStateStore {
    async fn load(&self, environment: &str) -> Result<Option<State>, StateError> {
        debug_assert_eq!(environment, self.environment);
        let index = self.secrets().get_opt(&self.index_name()).await.map_err(|error| self.kube_error("read", error))?;
        let Some(index) = index else {
            *lock_ignoring_poison(&self.seen_version) = None;
            return Ok(None);
        };
        *lock_ignoring_poison(&self.seen_version) = index.metadata.resource_version.clone();
        let data = index.data.unwrap_or_default();
        let bytes = match data.get(STATE_KEY) {
            Some(state) => state.0.clone(),
            None => {
                self.may_have_chunks.store(true, Ordering::Relaxed);
                self.read_chunks(&data).await?
            }
        };
        self.parse(&bytes).map(Some)
    }

    async fn save(&self, state: &State) -> Result<(), StateError> {
        if let Some(lost) = self.lease.lost() {
            return Err(self.remote_error("write", lost));
        }
        let bytes = serde_json::to_vec(state).map_err(|error| self.remote_error("encode", error))?;
        if bytes.len() <= self.chunk_bytes {
            self.write_index(BTreeMap::from([(STATE_KEY.to_owned(), ByteString(bytes))])).await?;
            if self.may_have_chunks.swap(false, Ordering::Relaxed) {
                self.delete_stale_chunks(None).await?;
            }
            return Ok(());
        }
        self.may_have_chunks.store(true, Ordering::Relaxed);
        let index = self.write_chunks(state.serial, &bytes).await?;
        self.write_index(index).await?;
        self.delete_stale_chunks(Some(state.serial)).await
    }

    fn describe(&self) -> String {
        format!("Secret {}/{}", self.namespace, self.index_name())
    }

    async fn lock(&self, info: &LockInfo) -> Result<Box<dyn StateLock>, LockError> {
        ensure_namespace(&self.client, &self.namespace).await.map_err(|error| LockError::Backend {
            operation: "take",
            location: format!("namespace {}", self.namespace),
            source: Box::new(KubeError::from_kube(error, &Redactor::default())),
        })?;
        let leases = Api::namespaced(self.client.clone(), &self.namespace);
        let held = lease::take(leases, &self.environment, info, self.lease.clone()).await?;
        Ok(Box::new(held))
    }

    async fn force_unlock(&self, id: &str) -> Result<LockInfo, LockError> {
        lease::force_unlock(Api::namespaced(self.client.clone(), &self.namespace), &self.environment, id).await
    }

    async fn load_document(&self, environment: &str, name: &str) -> Result<Option<serde_json::Value>, StateError> {
        debug_assert_eq!(environment, self.environment);
        check_document_name(name)?;
        let object = self.document_name(name);
        let found =
            self.config_maps().get_opt(&object).await.map_err(|error| self.document_error("read", &object, error))?;
        let Some(text) = found.and_then(|config_map| config_map.data).and_then(|mut data| data.remove(DOCUMENT_KEY))
        else {
            return Ok(None);
        };
        let location = format!("ConfigMap {}/{object}", self.namespace);
        serde_json::from_str(&text).map(Some).map_err(|source| StateError::DocumentCorrupt { location, source })
    }

    /// Writes the ConfigMap with one server-side apply, which replaces it atomically.
    async fn save_document(
        &self,
        environment: &str,
        name: &str,
        document: &serde_json::Value,
    ) -> Result<(), StateError> {
        debug_assert_eq!(environment, self.environment);
        check_document_name(name)?;
        let object = self.document_name(name);
        ensure_namespace(&self.client, &self.namespace)
            .await
            .map_err(|error| self.document_error("write", &object, error))?;
        let config_map = ConfigMap {
            metadata: ObjectMeta {
                name: Some(object.clone()),
                labels: Some(self.labels("document")),
                ..ObjectMeta::default()
            },
            // Serializing a `serde_json::Value` cannot fail.
            data: Some(BTreeMap::from([(
                DOCUMENT_KEY.to_owned(),
                serde_json::to_string(document).unwrap_or_default(),
            )])),
            ..ConfigMap::default()
        };
        let params = PatchParams::apply(crate::FIELD_MANAGER).force();
        self.config_maps()
            .patch(&object, &params, &Patch::Apply(&config_map))
            .await
            .map_err(|error| self.document_error("write", &object, error))?;
        Ok(())
    }
}
