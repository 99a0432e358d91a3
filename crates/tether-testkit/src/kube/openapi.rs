//! A minimal OpenAPI v3 document: for each type, only a PATCH operation that declares the
//! `fieldValidation` query parameter.
//!
//! kubectl 1.32 reads it to decide that the server validates fields itself (`fieldValidation=Strict`),
//! and then skips client-side schema validation, which would need full schemas. The server
//! accepts the parameter but validates no fields, because it has no schemas.

use serde_json::{Map, Value, json};

use super::error::ApiError;
use super::resources::{ResourceTable, ResourceType};

/// `GET /openapi/v3`: one document per group version.
pub(crate) fn root(table: &ResourceTable) -> Value {
    let mut paths = Map::new();
    for resource in table.iter() {
        let key = group_version_path(&resource.group, &resource.version);
        let url = format!("/openapi/v3/{key}");
        paths.entry(key).or_insert_with(|| json!({"serverRelativeURL": url}));
    }
    json!({"paths": paths})
}

/// `GET /openapi/v3/api/v1` or `/openapi/v3/apis/{group}/{version}`.
///
/// # Errors
///
/// 404 for a group version the server does not serve.
pub(crate) fn group_version(table: &ResourceTable, group: &str, version: &str) -> Result<Value, ApiError> {
    let mut paths = Map::new();
    for resource in table.iter().filter(|resource| resource.group == group && resource.version == version) {
        paths.insert(object_path(resource), patch_operation(resource));
    }
    if paths.is_empty() {
        return Err(ApiError::unknown_path());
    }
    let title = if group.is_empty() { version.to_string() } else { format!("{group}/{version}") };
    Ok(json!({
        "openapi": "3.0.0",
        "info": {"title": "Kubernetes test API server", "version": title},
        "paths": paths,
    }))
}

/// Returns `api/v1` or `apis/{group}/{version}`: the keys of the root document.
fn group_version_path(group: &str, version: &str) -> String {
    if group.is_empty() { format!("api/{version}") } else { format!("apis/{group}/{version}") }
}

fn object_path(resource: &ResourceType) -> String {
    let prefix = group_version_path(&resource.group, &resource.version);
    let scope = if resource.namespaced { "namespaces/{namespace}/" } else { "" };
    format!("/{prefix}/{scope}{}/{{name}}", resource.plural)
}

fn patch_operation(resource: &ResourceType) -> Value {
    json!({
        "patch": {
            "operationId": format!("patch{}", resource.kind),
            "x-kubernetes-group-version-kind": {"group": resource.group, "version": resource.version, "kind": resource.kind},
            "parameters": [{"name": "fieldValidation", "in": "query", "schema": {"type": "string"}}],
            "responses": {"200": {"description": "OK"}},
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn root_lists_group_versions() {
        let body = root(&ResourceTable::standard());
        assert_eq!(body["paths"]["api/v1"]["serverRelativeURL"], "/openapi/v3/api/v1");
        assert_eq!(
            body["paths"]["apis/hypershift.openshift.io/v1beta1"]["serverRelativeURL"],
            "/openapi/v3/apis/hypershift.openshift.io/v1beta1"
        );
    }

    #[test]
    fn patch_declares_field_validation() {
        let body =
            group_version(&ResourceTable::standard(), "machineconfiguration.openshift.io", "v1").expect("served");
        let operation = &body["paths"]["/apis/machineconfiguration.openshift.io/v1/machineconfigs/{name}"]["patch"];
        assert_eq!(operation["x-kubernetes-group-version-kind"]["kind"], "MachineConfig");
        assert_eq!(operation["parameters"][0]["name"], "fieldValidation");
    }
}
