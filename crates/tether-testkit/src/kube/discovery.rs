//! Version and legacy discovery documents: `/version`, `/api`, `/apis`, groups and resource lists.
//!
//! Aggregated discovery (`apidiscovery.k8s.io/v2`) is not served. kubectl falls back to these
//! documents when a response is plain `application/json`, and kube's `Discovery::run` and
//! `pinned_kind` use only them.

use serde_json::{Value, json};

use super::error::ApiError;
use super::resources::{ResourceTable, ResourceType};

/// The Kubernetes minor version the server reports: the release of the kubectl it is checked with.
const MINOR_VERSION: &str = "32";

/// Verbs of a collection and its objects.
const RESOURCE_VERBS: [&str; 8] = ["create", "delete", "deletecollection", "get", "list", "patch", "update", "watch"];

/// Verbs of a `status` subresource.
const STATUS_VERBS: [&str; 3] = ["get", "patch", "update"];

/// `GET /version`.
pub(crate) fn version() -> Value {
    json!({
        "major": "1",
        "minor": MINOR_VERSION,
        "gitVersion": format!("v1.{MINOR_VERSION}.0-tether-test"),
        "gitCommit": "",
        "gitTreeState": "clean",
        "buildDate": "1970-01-01T00:00:00Z",
        "goVersion": "",
        "compiler": "",
        "platform": "linux/amd64",
    })
}

/// `GET /api`: the core group's versions.
pub(crate) fn core_versions(table: &ResourceTable, server_address: &str) -> Value {
    let mut versions: Vec<String> = Vec::new();
    for resource in table.iter().filter(|resource| resource.group.is_empty()) {
        if !versions.contains(&resource.version) {
            versions.push(resource.version.clone());
        }
    }
    json!({
        "kind": "APIVersions",
        "versions": versions,
        "serverAddressByClientCIDRs": [{"clientCIDR": "0.0.0.0/0", "serverAddress": server_address}],
    })
}

/// `GET /apis`: every named group.
pub(crate) fn groups(table: &ResourceTable) -> Value {
    let groups: Vec<Value> = table.groups().iter().map(|(name, versions)| group_body(name, versions)).collect();
    json!({"kind": "APIGroupList", "apiVersion": "v1", "groups": groups})
}

/// `GET /apis/{group}`.
///
/// # Errors
///
/// 404 for a group the server does not serve.
pub(crate) fn group(table: &ResourceTable, name: &str) -> Result<Value, ApiError> {
    let groups = table.groups();
    let (_, versions) = groups.iter().find(|(group, _)| group == name).ok_or_else(ApiError::unknown_path)?;
    let mut body = group_body(name, versions);
    body["kind"] = json!("APIGroup");
    body["apiVersion"] = json!("v1");
    Ok(body)
}

fn group_body(name: &str, versions: &[String]) -> Value {
    let entries: Vec<Value> = versions
        .iter()
        .map(|version| json!({"groupVersion": format!("{name}/{version}"), "version": version}))
        .collect();
    json!({"name": name, "versions": entries, "preferredVersion": entries.first().cloned().unwrap_or(Value::Null)})
}

/// `GET /api/v1` or `GET /apis/{group}/{version}`: the resources of one group version, each
/// followed by its `status` subresource where it has one.
///
/// # Errors
///
/// 404 for a group version the server does not serve.
pub(crate) fn resource_list(table: &ResourceTable, group: &str, version: &str) -> Result<Value, ApiError> {
    let members: Vec<&ResourceType> =
        table.iter().filter(|resource| resource.group == group && resource.version == version).collect();
    if members.is_empty() {
        return Err(ApiError::unknown_path());
    }

    let mut resources = Vec::new();
    for resource in members {
        let mut entry = json!({
            "name": resource.plural,
            "singularName": resource.singular(),
            "namespaced": resource.namespaced,
            "kind": resource.kind,
            "verbs": RESOURCE_VERBS,
        });
        if !resource.short_names.is_empty() {
            entry["shortNames"] = json!(resource.short_names);
        }
        resources.push(entry);
        if resource.status_subresource {
            resources.push(json!({
                "name": format!("{}/status", resource.plural),
                "singularName": "",
                "namespaced": resource.namespaced,
                "kind": resource.kind,
                "verbs": STATUS_VERBS,
            }));
        }
    }

    let group_version = if group.is_empty() { version.to_string() } else { format!("{group}/{version}") };
    Ok(json!({"kind": "APIResourceList", "apiVersion": "v1", "groupVersion": group_version, "resources": resources}))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn operators_prefers_v1() {
        let body = group(&ResourceTable::standard(), "operators.coreos.com").expect("group served");
        assert_eq!(body["preferredVersion"]["version"], "v1");
        assert_eq!(body["versions"][1]["version"], "v1alpha1");
    }

    #[test]
    fn status_entries_follow_resources() {
        let body = resource_list(&ResourceTable::standard(), "hypershift.openshift.io", "v1beta1")
            .expect("group version served");
        let names: Vec<&str> =
            body["resources"].as_array().into_iter().flatten().filter_map(|r| r["name"].as_str()).collect();
        assert_eq!(names, ["hostedclusters", "hostedclusters/status", "nodepools", "nodepools/status"]);
        assert_eq!(body["resources"][0]["shortNames"], json!(["hc", "hcs"]));
    }

    #[test]
    fn unknown_group_version() {
        let error =
            resource_list(&ResourceTable::standard(), "hypershift.openshift.io", "v1alpha1").expect_err("not served");
        assert_eq!(error.code, 404);
    }
}
