//! API discovery: which resource serves a kind and whether it is namespaced, cached per kind.

use std::collections::HashMap;
use std::sync::Mutex;

use kube::Client;
use kube::discovery::{ApiResource, Scope};
use tether_model::Address;

use crate::error::KubeError;
use crate::object::{KindRef, ObjectKey};
use crate::secrets::Redactor;

/// The API resource that serves a kind.
#[derive(Debug, Clone)]
pub(crate) struct ResolvedKind {
    /// Group, version, kind and plural, as the server reports them.
    pub resource: ApiResource,
    /// True for namespaced kinds, false for cluster-scoped ones such as Namespace or MachineConfig.
    pub namespaced: bool,
}

impl ResolvedKind {
    /// Checks that an object of a namespaced kind has a namespace and one of a cluster-scoped
    /// kind has none. A namespace on a cluster-scoped object would never be observed back, so
    /// the plan would never settle.
    pub(crate) fn check_scope(&self, address: &Address, key: &ObjectKey) -> Result<(), KubeError> {
        let problem = match (self.namespaced, &key.namespace) {
            (true, None) => format!("{} is namespaced, so metadata.namespace is required", key.kind.kind),
            (false, Some(_)) => format!("{} is cluster-scoped, so metadata.namespace must be absent", key.kind.kind),
            _ => return Ok(()),
        };
        Err(KubeError::InvalidObject { address: address.clone(), problem })
    }
}

/// Discovery results by kind, kept for the provider's lifetime.
///
/// Only successful lookups are cached, so a CustomResourceDefinition installed later is found
/// on the next lookup.
#[derive(Debug, Default)]
pub(crate) struct DiscoveryCache {
    resolved: Mutex<HashMap<KindRef, ResolvedKind>>,
}

impl DiscoveryCache {
    /// Resolves a kind with one discovery request for its group version, or from the cache.
    ///
    /// # Errors
    /// Returns [`KubeError::KindNotServed`] when the server does not serve the kind, or the
    /// discovery request's error.
    pub(crate) async fn resolve(&self, client: &Client, kind: &KindRef) -> Result<ResolvedKind, KubeError> {
        if let Some(resolved) = self.cached(kind) {
            return Ok(resolved);
        }

        tracing::trace!(%kind, "discovery request");
        let (resource, capabilities) = match kube::discovery::pinned_kind(client, &kind.to_gvk()).await {
            Ok(found) => found,
            Err(error) => return Err(not_served_or(error, kind)),
        };
        let resolved = ResolvedKind { resource, namespaced: capabilities.scope == Scope::Namespaced };
        tracing::debug!(%kind, plural = %resolved.resource.plural, namespaced = resolved.namespaced, "kind resolved");

        self.lock().insert(kind.clone(), resolved.clone());
        Ok(resolved)
    }

    fn cached(&self, kind: &KindRef) -> Option<ResolvedKind> {
        self.lock().get(kind).cloned()
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<KindRef, ResolvedKind>> {
        // A panic while holding the lock cannot leave the map half-written (one insert), so a
        // poisoned lock is still safe to use.
        self.resolved.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
    }
}

/// Maps a discovery failure. A missing group version (404) or a missing kind in a served group
/// version means the kind is not served. Any other failure is the request's own error.
fn not_served_or(error: kube::Error, kind: &KindRef) -> KubeError {
    let not_served = match &error {
        kube::Error::Api(status) => status.code == 404,
        kube::Error::Discovery(kube::error::DiscoveryError::MissingKind(_)) => true,
        _ => false,
    };
    if not_served {
        return KubeError::KindNotServed { kind: kind.clone(), hint: missing_kind_hint(kind) };
    }
    KubeError::from_kube(error, &Redactor::default())
}

/// Says what to install for a kind the server does not serve.
fn missing_kind_hint(kind: &KindRef) -> String {
    let crd = match (kind.group(), kind.kind.as_str()) {
        ("hypershift.openshift.io", "HostedCluster") => Some("hostedclusters.hypershift.openshift.io"),
        ("hypershift.openshift.io", "NodePool") => Some("nodepools.hypershift.openshift.io"),
        ("machineconfiguration.openshift.io", "MachineConfig") => {
            Some("machineconfigs.machineconfiguration.openshift.io")
        }
        _ => None,
    };
    let installer = match kind.group() {
        "hypershift.openshift.io" => Some("install the HyperShift operator on the management cluster"),
        "machineconfiguration.openshift.io" => {
            Some("the management cluster must run the OpenShift Machine Config Operator")
        }
        _ => None,
    };
    match (crd, installer) {
        (Some(crd), Some(installer)) => format!("the CustomResourceDefinition {crd} is not installed; {installer}"),
        (None, Some(installer)) => {
            format!("no CustomResourceDefinition in {} defines it; {installer}", kind.api_version)
        }
        _ if kind.group().is_empty() => format!("the core API {} has no kind {}", kind.api_version, kind.kind),
        _ => format!("no CustomResourceDefinition in {} defines it; install the one that does", kind.api_version),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn kind(api_version: &str, kind: &str) -> KindRef {
        KindRef { api_version: api_version.to_owned(), kind: kind.to_owned() }
    }

    #[test]
    fn hint_names_hypershift_crd() {
        let hint = missing_kind_hint(&kind("hypershift.openshift.io/v1beta1", "HostedCluster"));
        assert_eq!(
            hint,
            "the CustomResourceDefinition hostedclusters.hypershift.openshift.io is not installed; install the HyperShift operator on the management cluster"
        );
    }

    #[test]
    fn hint_names_machine_config_crd() {
        let hint = missing_kind_hint(&kind("machineconfiguration.openshift.io/v1", "MachineConfig"));
        assert!(hint.contains("machineconfigs.machineconfiguration.openshift.io"), "{hint}");
    }

    #[test]
    fn hint_for_unknown_group() {
        let hint = missing_kind_hint(&kind("example.com/v1", "Widget"));
        assert_eq!(hint, "no CustomResourceDefinition in example.com/v1 defines it; install the one that does");
    }

    #[test]
    fn missing_group_version_is_not_served() {
        let status =
            kube::core::Status::failure("the server could not find the requested resource", "NotFound").with_code(404);
        let error =
            not_served_or(kube::Error::Api(status.boxed()), &kind("hypershift.openshift.io/v1beta1", "NodePool"));
        assert!(matches!(error, KubeError::KindNotServed { .. }), "{error}");
        assert!(error.to_string().contains("nodepools.hypershift.openshift.io"), "{error}");
    }

    #[test]
    fn server_error_stays_retryable() {
        let status = kube::core::Status::failure("etcd is down", "InternalError").with_code(500);
        let error = not_served_or(kube::Error::Api(status.boxed()), &kind("v1", "Secret"));
        assert!(error.is_retryable(), "{error}");
    }
}
