//! Kubernetes object identity read from attributes: kind, namespace, name and ownership marks.

use std::fmt;

use kube::api::GroupVersionKind;
use tether_model::{Address, Attributes, Value};

use crate::error::KubeError;

/// The label that marks an object as managed by tether.
pub const MANAGED_BY_LABEL: &str = tether_model::marks::MANAGED_BY_LABEL;
/// The value of [`MANAGED_BY_LABEL`] on tether's objects.
pub const MANAGED_BY_VALUE: &str = tether_model::marks::MANAGED_BY_VALUE;
/// The label that names the environment an object belongs to.
pub const ENVIRONMENT_LABEL: &str = tether_model::marks::ENVIRONMENT;
/// The annotation that contains an object's tether address, e.g. `cluster.node_pool.gpu`.
pub const ADDRESS_ANNOTATION: &str = tether_model::marks::ADDRESS;

/// A kind at one API version, e.g. `NodePool` in `hypershift.openshift.io/v1beta1`.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct KindRef {
    /// `apiVersion`: `v1` for the core group, otherwise `group/version`.
    pub api_version: String,
    /// `kind`, e.g. `NodePool`.
    pub kind: String,
}

impl KindRef {
    /// Reads `apiVersion` and `kind` from a resource's attributes.
    pub(crate) fn from_attributes(address: &Address, attributes: &Attributes) -> Result<KindRef, KubeError> {
        let api_version = required_string(address, attributes.get("apiVersion"), "apiVersion")?;
        let kind = required_string(address, attributes.get("kind"), "kind")?;
        Ok(KindRef { api_version: api_version.to_owned(), kind: kind.to_owned() })
    }

    /// Returns the API group, empty for the core group.
    pub fn group(&self) -> &str {
        self.api_version.rsplit_once('/').map_or("", |(group, _)| group)
    }

    /// Returns the API version without the group, e.g. `v1beta1`.
    pub fn version(&self) -> &str {
        self.api_version.rsplit_once('/').map_or(self.api_version.as_str(), |(_, version)| version)
    }

    pub(crate) fn to_gvk(&self) -> GroupVersionKind {
        GroupVersionKind::gvk(self.group(), self.version(), &self.kind)
    }
}

impl fmt::Display for KindRef {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} ({})", self.kind, self.api_version)
    }
}

/// One object: its kind, namespace (absent for cluster-scoped kinds) and name.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct ObjectKey {
    pub kind: KindRef,
    pub namespace: Option<String>,
    pub name: String,
}

impl ObjectKey {
    /// Reads the object's identity from a resource's attributes.
    pub(crate) fn from_attributes(address: &Address, attributes: &Attributes) -> Result<ObjectKey, KubeError> {
        let kind = KindRef::from_attributes(address, attributes)?;
        let metadata = attributes.get("metadata");
        let name = required_string(address, metadata.and_then(|m| m.get_path(&["name"])), "metadata.name")?;
        let namespace = match metadata.and_then(|m| m.get_path(&["namespace"])) {
            None => None,
            Some(value) => Some(required_string(address, Some(value), "metadata.namespace")?.to_owned()),
        };
        Ok(ObjectKey { kind, namespace, name: name.to_owned() })
    }

    /// Reads the object's identity from a provider id, `namespace/name` or `name`.
    pub(crate) fn from_id(kind: KindRef, id: &str) -> ObjectKey {
        match id.split_once('/') {
            Some((namespace, name)) => ObjectKey { kind, namespace: Some(namespace.to_owned()), name: name.to_owned() },
            None => ObjectKey { kind, namespace: None, name: id.to_owned() },
        }
    }

    /// Returns the provider id: `namespace/name`, or `name` for a cluster-scoped object.
    pub(crate) fn id(&self) -> String {
        object_id(self.namespace.as_deref(), &self.name)
    }
}

impl fmt::Display for ObjectKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} {}", self.kind.kind, self.id())
    }
}

/// Formats the provider id of an object: `namespace/name`, or `name` for a cluster-scoped object.
pub(crate) fn object_id(namespace: Option<&str>, name: &str) -> String {
    match namespace {
        Some(namespace) => format!("{namespace}/{name}"),
        None => name.to_owned(),
    }
}

/// Builds the label selector that finds this environment's objects.
///
/// # Errors
/// Returns a message when the environment name is not a valid label value.
pub(crate) fn ownership_selector(environment: &str) -> Result<String, String> {
    check_label_value(environment)?;
    Ok(format!("{MANAGED_BY_LABEL}={MANAGED_BY_VALUE},{ENVIRONMENT_LABEL}={environment}"))
}

/// Checks a Kubernetes label value: at most 63 characters of `[A-Za-z0-9._-]`, starting and
/// ending with a letter or digit.
fn check_label_value(value: &str) -> Result<(), String> {
    let allowed = |c: char| c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '-');
    let edges_ok =
        value.starts_with(|c: char| c.is_ascii_alphanumeric()) && value.ends_with(|c: char| c.is_ascii_alphanumeric());
    if value.len() > 63 || !value.chars().all(allowed) || !edges_ok {
        return Err(format!(
            "the environment name `{value}` is not a valid Kubernetes label value: use at most 63 letters, digits, `.`, `_` or `-`, starting and ending with a letter or digit"
        ));
    }
    Ok(())
}

/// Checks that desired attributes carry tether's labels for `environment` and the annotation
/// `tether.dev/address=<address>`, so that observation finds the object again.
pub(crate) fn check_ownership_marks(
    address: &Address,
    attributes: &Attributes,
    environment: &str,
) -> Result<(), KubeError> {
    let metadata = attributes.get("metadata");
    let expected = [
        (["labels", MANAGED_BY_LABEL], MANAGED_BY_VALUE.to_owned()),
        (["labels", ENVIRONMENT_LABEL], environment.to_owned()),
        (["annotations", ADDRESS_ANNOTATION], address.to_string()),
    ];
    for (path, value) in expected {
        let found = metadata.and_then(|m| m.get_path(&path)).and_then(Value::as_str);
        if found != Some(value.as_str()) {
            return Err(KubeError::InvalidObject {
                address: address.clone(),
                problem: format!("metadata.{}.{} must be `{value}`", path[0], path[1]),
            });
        }
    }
    Ok(())
}

/// True when an object's labels mark it as tether's, in `environment`.
/// Returns the environment named by the object's tether labels when it is not `environment`.
pub(crate) fn other_environment<'a>(object: &'a serde_json::Value, environment: &str) -> Option<&'a str> {
    let labels = &object["metadata"]["labels"];
    if labels[MANAGED_BY_LABEL] != MANAGED_BY_VALUE {
        return None;
    }
    labels[ENVIRONMENT_LABEL].as_str().filter(|owner| *owner != environment)
}

pub(crate) fn has_ownership_labels(object: &serde_json::Value, environment: &str) -> bool {
    let labels = &object["metadata"]["labels"];
    labels[MANAGED_BY_LABEL] == MANAGED_BY_VALUE && labels[ENVIRONMENT_LABEL] == environment
}

fn required_string<'a>(address: &Address, value: Option<&'a Value>, path: &str) -> Result<&'a str, KubeError> {
    match value.and_then(Value::as_str) {
        Some(text) if !text.is_empty() => Ok(text),
        _ => Err(KubeError::InvalidObject {
            address: address.clone(),
            problem: format!("{path} must be a non-empty string"),
        }),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn node_pool(namespace: Option<&str>) -> Attributes {
        let mut metadata = vec![("name", Value::from("gpu"))];
        if let Some(namespace) = namespace {
            metadata.push(("namespace", Value::from(namespace)));
        }
        Attributes::from([
            ("apiVersion".to_owned(), Value::from("hypershift.openshift.io/v1beta1")),
            ("kind".to_owned(), Value::from("NodePool")),
            ("metadata".to_owned(), Value::map(metadata)),
        ])
    }

    #[test]
    fn kind_ref_splits_group_and_version() {
        let kind = KindRef { api_version: "hypershift.openshift.io/v1beta1".to_owned(), kind: "NodePool".to_owned() };
        assert_eq!(kind.group(), "hypershift.openshift.io");
        assert_eq!(kind.version(), "v1beta1");
        let core = KindRef { api_version: "v1".to_owned(), kind: "Secret".to_owned() };
        assert_eq!(core.group(), "");
        assert_eq!(core.version(), "v1");
    }

    #[test]
    fn object_key_reads_namespace_and_name() {
        let address = Address::cluster("node_pool", "gpu");
        let key = ObjectKey::from_attributes(&address, &node_pool(Some("hcp-ai"))).unwrap();
        assert_eq!(key.id(), "hcp-ai/gpu");
        assert_eq!(key.to_string(), "NodePool hcp-ai/gpu");
        let cluster_scoped = ObjectKey::from_attributes(&address, &node_pool(None)).unwrap();
        assert_eq!(cluster_scoped.id(), "gpu");
    }

    #[test]
    fn object_key_requires_name() {
        let address = Address::cluster("node_pool", "gpu");
        let mut attributes = node_pool(None);
        attributes.insert("metadata".to_owned(), Value::map([("namespace", Value::from("hcp-ai"))]));
        let error = ObjectKey::from_attributes(&address, &attributes).unwrap_err();
        assert!(error.to_string().contains("metadata.name must be a non-empty string"), "{error}");
    }

    #[test]
    fn object_key_from_id_round_trips() {
        let kind = KindRef { api_version: "v1".to_owned(), kind: "Secret".to_owned() };
        assert_eq!(ObjectKey::from_id(kind.clone(), "hcp-ai/pull-secret").id(), "hcp-ai/pull-secret");
        assert_eq!(ObjectKey::from_id(kind, "onprem-routes").namespace, None);
    }

    #[test]
    fn selector_names_both_labels() {
        assert_eq!(
            ownership_selector("ai-dev").unwrap(),
            "app.kubernetes.io/managed-by=tether,tether.dev/environment=ai-dev"
        );
    }

    #[test]
    fn selector_rejects_invalid_environment() {
        for environment in ["", "-dev", "ai dev", "a,b", &"x".repeat(64)] {
            assert!(ownership_selector(environment).is_err(), "{environment:?}");
        }
    }

    #[test]
    fn ownership_marks_are_required() {
        let address = Address::cluster("node_pool", "gpu");
        let mut attributes = node_pool(Some("hcp-ai"));
        let error = check_ownership_marks(&address, &attributes, "ai-dev").unwrap_err();
        assert!(error.to_string().contains("metadata.labels.app.kubernetes.io/managed-by must be `tether`"), "{error}");

        let metadata = Value::map([
            ("name", Value::from("gpu")),
            (
                "labels",
                Value::map([(MANAGED_BY_LABEL, Value::from("tether")), (ENVIRONMENT_LABEL, Value::from("ai-dev"))]),
            ),
            ("annotations", Value::map([(ADDRESS_ANNOTATION, Value::from("cluster.node_pool.gpu"))])),
        ]);
        attributes.insert("metadata".to_owned(), metadata);
        assert!(check_ownership_marks(&address, &attributes, "ai-dev").is_ok());
        assert!(check_ownership_marks(&address, &attributes, "ai-prod").is_err());
    }
}
