//! Request paths: which endpoint `/version`, `/api/...` or `/apis/...` names.

/// An endpoint of the API, parsed from the request path alone.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum ApiPath {
    /// `/version`.
    Version,
    /// `/api`: the core group's versions.
    CoreVersions,
    /// `/apis`: all named groups.
    Groups,
    /// `/apis/{group}`.
    Group(String),
    /// `/api/v1` (group empty) or `/apis/{group}/{version}`: the resource list.
    GroupVersion { group: String, version: String },
    /// A collection, an object or an object's subresource.
    Resource(ResourcePath),
    /// `/openapi/v3`: the index of OpenAPI v3 documents.
    OpenApiRoot,
    /// `/openapi/v3/api/v1` or `/openapi/v3/apis/{group}/{version}`.
    OpenApiGroupVersion { group: String, version: String },
}

/// The parts of a path below a group version.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct ResourcePath {
    /// API group, empty for the core group.
    pub group: String,
    /// API version.
    pub version: String,
    /// Namespace from `namespaces/{ns}/...`; `None` for cluster-scoped paths and for lists across all namespaces.
    pub namespace: Option<String>,
    /// Plural resource name.
    pub plural: String,
    /// Object name; `None` for a collection.
    pub name: Option<String>,
    /// Subresource, e.g. `status`.
    pub subresource: Option<String>,
}

/// Subresources of a Namespace. `/api/v1/namespaces/x/status` names one of them, not a
/// collection called `status` inside namespace `x`, because no resource has those names.
const NAMESPACE_SUBRESOURCES: [&str; 2] = ["status", "finalize"];

/// Parses a request path; `None` for paths outside the API.
pub(crate) fn parse_path(path: &str) -> Option<ApiPath> {
    let trimmed = path.trim_end_matches('/');
    let segments: Vec<&str> = trimmed.split('/').skip(1).collect();
    if segments.iter().any(|segment| segment.is_empty()) {
        return None;
    }

    match segments.as_slice() {
        ["version"] => Some(ApiPath::Version),
        ["api"] => Some(ApiPath::CoreVersions),
        ["apis"] => Some(ApiPath::Groups),
        ["apis", group] => Some(ApiPath::Group(group.to_string())),
        ["openapi", "v3"] => Some(ApiPath::OpenApiRoot),
        ["openapi", "v3", "api", version] => {
            Some(ApiPath::OpenApiGroupVersion { group: String::new(), version: version.to_string() })
        }
        ["openapi", "v3", "apis", group, version] => {
            Some(ApiPath::OpenApiGroupVersion { group: group.to_string(), version: version.to_string() })
        }
        ["api", version, rest @ ..] => parse_below_version("", version, rest),
        ["apis", group, version, rest @ ..] => parse_below_version(group, version, rest),
        _ => None,
    }
}

fn parse_below_version(group: &str, version: &str, rest: &[&str]) -> Option<ApiPath> {
    let (namespace, plural, name, subresource) = match rest {
        [] => {
            return Some(ApiPath::GroupVersion { group: group.to_string(), version: version.to_string() });
        }
        ["namespaces", namespace, sub] if NAMESPACE_SUBRESOURCES.contains(sub) => {
            (None, "namespaces", Some(*namespace), Some(*sub))
        }
        ["namespaces", namespace, plural] => (Some(*namespace), *plural, None, None),
        ["namespaces", namespace, plural, name] => (Some(*namespace), *plural, Some(*name), None),
        ["namespaces", namespace, plural, name, sub] => (Some(*namespace), *plural, Some(*name), Some(*sub)),
        [plural] => (None, *plural, None, None),
        [plural, name] => (None, *plural, Some(*name), None),
        [plural, name, sub] => (None, *plural, Some(*name), Some(*sub)),
        _ => return None,
    };

    Some(ApiPath::Resource(ResourcePath {
        group: group.to_string(),
        version: version.to_string(),
        namespace: namespace.map(str::to_string),
        plural: plural.to_string(),
        name: name.map(str::to_string),
        subresource: subresource.map(str::to_string),
    }))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn resource(path: &str) -> ResourcePath {
        match parse_path(path) {
            Some(ApiPath::Resource(resource)) => resource,
            other => panic!("{path} parsed as {other:?}"),
        }
    }

    #[test]
    fn discovery_paths() {
        assert_eq!(parse_path("/version"), Some(ApiPath::Version));
        assert_eq!(parse_path("/api"), Some(ApiPath::CoreVersions));
        assert_eq!(parse_path("/apis/"), Some(ApiPath::Groups));
        assert_eq!(parse_path("/apis/batch"), Some(ApiPath::Group("batch".to_string())));
        assert_eq!(
            parse_path("/api/v1"),
            Some(ApiPath::GroupVersion { group: String::new(), version: "v1".to_string() })
        );
        assert_eq!(
            parse_path("/apis/hypershift.openshift.io/v1beta1"),
            Some(ApiPath::GroupVersion {
                group: "hypershift.openshift.io".to_string(),
                version: "v1beta1".to_string()
            })
        );
    }

    #[test]
    fn openapi_paths() {
        assert_eq!(parse_path("/openapi/v3"), Some(ApiPath::OpenApiRoot));
        assert_eq!(
            parse_path("/openapi/v3/apis/batch/v1"),
            Some(ApiPath::OpenApiGroupVersion { group: "batch".to_string(), version: "v1".to_string() })
        );
        assert_eq!(parse_path("/openapi/v2"), None);
    }

    #[test]
    fn namespace_object_not_collection() {
        let path = resource("/api/v1/namespaces/x");
        assert_eq!(path.plural, "namespaces");
        assert_eq!(path.name.as_deref(), Some("x"));
        assert_eq!(path.namespace, None);
        assert_eq!(path.subresource, None);
    }

    #[test]
    fn namespace_status_subresource() {
        let path = resource("/api/v1/namespaces/x/status");
        assert_eq!(path.plural, "namespaces");
        assert_eq!(path.name.as_deref(), Some("x"));
        assert_eq!(path.subresource.as_deref(), Some("status"));
    }

    #[test]
    fn namespaced_collection() {
        let path = resource("/api/v1/namespaces/x/secrets");
        assert_eq!(path.namespace.as_deref(), Some("x"));
        assert_eq!(path.plural, "secrets");
        assert_eq!(path.name, None);
    }

    #[test]
    fn namespaced_object_and_status() {
        let path = resource("/apis/hypershift.openshift.io/v1beta1/namespaces/clusters/hostedclusters/ai/status");
        assert_eq!(path.group, "hypershift.openshift.io");
        assert_eq!(path.version, "v1beta1");
        assert_eq!(path.namespace.as_deref(), Some("clusters"));
        assert_eq!(path.plural, "hostedclusters");
        assert_eq!(path.name.as_deref(), Some("ai"));
        assert_eq!(path.subresource.as_deref(), Some("status"));
    }

    #[test]
    fn cluster_scoped_object() {
        let path = resource("/apis/machineconfiguration.openshift.io/v1/machineconfigs/99-worker");
        assert_eq!(path.namespace, None);
        assert_eq!(path.plural, "machineconfigs");
        assert_eq!(path.name.as_deref(), Some("99-worker"));
    }

    #[test]
    fn all_namespaces_collection() {
        let path = resource("/apis/hypershift.openshift.io/v1beta1/hostedclusters");
        assert_eq!(path.namespace, None);
        assert_eq!(path.name, None);
    }

    #[test]
    fn rejected_paths() {
        for path in ["/", "/healthz", "/api//v1", "/api/v1/namespaces/x/secrets/y/status/extra", "/apis/a/v1/b/c/d/e"] {
            assert_eq!(parse_path(path), None, "{path}");
        }
    }
}
