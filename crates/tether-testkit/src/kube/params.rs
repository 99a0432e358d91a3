//! Query parameters of API requests, decoded as forms are (`+` is a space, because kube
//! form-encodes selectors such as `env in (a,b)`).

use axum::extract::Query;
use axum::http::Uri;

use super::error::ApiError;
use super::selector::{FieldSelector, LabelSelector};

/// The query parameters the server honours. Others, such as `limit`, `continue`,
/// `propagationPolicy` and `fieldValidation`, are accepted and ignored.
#[derive(Debug, Clone, Default)]
pub(crate) struct Params {
    pub label_selector: LabelSelector,
    pub field_selector: FieldSelector,
    /// `fieldManager`, as sent.
    pub field_manager: Option<String>,
    /// `force=true` on an apply.
    pub force: bool,
    /// `dryRun=All`.
    pub dry_run: bool,
    /// `watch=true` on a GET.
    pub watch: bool,
    /// `resourceVersion` on a watch: where its replay starts.
    pub resource_version: Option<String>,
    /// `timeoutSeconds` on a watch.
    pub timeout_seconds: Option<u64>,
}

impl Params {
    /// Parses the query of a request URI.
    ///
    /// # Errors
    ///
    /// 400 BadRequest for a malformed query, selector, boolean, number or `dryRun` value.
    pub fn parse(uri: &Uri) -> Result<Params, ApiError> {
        let Query(pairs) = Query::<Vec<(String, String)>>::try_from_uri(uri)
            .map_err(|error| ApiError::bad_request(format!("invalid query string: {error}")))?;

        let mut params = Params::default();
        for (key, value) in pairs {
            match key.as_str() {
                "labelSelector" => {
                    params.label_selector =
                        LabelSelector::parse(&value).map_err(|error| ApiError::bad_request(error.to_string()))?;
                }
                "fieldSelector" => {
                    params.field_selector =
                        FieldSelector::parse(&value).map_err(|error| ApiError::bad_request(error.to_string()))?;
                }
                "fieldManager" => params.field_manager = Some(value),
                "force" => params.force = parse_bool(&key, &value)?,
                "watch" => params.watch = parse_bool(&key, &value)?,
                "dryRun" => params.dry_run = parse_dry_run(&value)?,
                "resourceVersion" => params.resource_version = Some(value).filter(|value| !value.is_empty()),
                "timeoutSeconds" => {
                    let seconds = value.parse::<u64>().map_err(|_| {
                        ApiError::bad_request(format!(
                            "timeoutSeconds: invalid value {value:?}: expected a whole number of seconds"
                        ))
                    })?;
                    params.timeout_seconds = Some(seconds);
                }
                _ => {}
            }
        }
        Ok(params)
    }
}

fn parse_bool(key: &str, value: &str) -> Result<bool, ApiError> {
    match value {
        "true" | "1" => Ok(true),
        "false" | "0" | "" => Ok(false),
        _ => Err(ApiError::bad_request(format!("{key}: invalid value {value:?}: expected true or false"))),
    }
}

/// Accepts `All`, the only dry-run mode, or an empty value (no dry run).
pub(crate) fn parse_dry_run(value: &str) -> Result<bool, ApiError> {
    match value {
        "All" => Ok(true),
        "" => Ok(false),
        _ => Err(ApiError::bad_request(format!("dryRun: unsupported value {value:?}: supported values: \"All\""))),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::kube::selector::Operator;

    fn parse(query: &str) -> Result<Params, ApiError> {
        let uri: Uri = format!("/api/v1/secrets?{query}").parse().expect("valid test URI");
        Params::parse(&uri)
    }

    #[test]
    fn plus_decodes_as_space() {
        let params = parse("labelSelector=env+in+%28a%2Cb%29").expect("valid query");
        let requirement = &params.label_selector.requirements[0];
        assert_eq!(requirement.key, "env");
        assert_eq!(requirement.operator, Operator::In);
        assert_eq!(requirement.values, vec!["a".to_string(), "b".to_string()]);
    }

    #[test]
    fn apply_options() {
        let params = parse("fieldManager=tether&force=true&dryRun=All").expect("valid query");
        assert_eq!(params.field_manager.as_deref(), Some("tether"));
        assert!(params.force);
        assert!(params.dry_run);
    }

    #[test]
    fn watch_options() {
        let params =
            parse("watch=1&resourceVersion=12&timeoutSeconds=5&fieldSelector=metadata.name%3Dai").expect("valid query");
        assert!(params.watch);
        assert_eq!(params.resource_version.as_deref(), Some("12"));
        assert_eq!(params.timeout_seconds, Some(5));
    }

    #[test]
    fn bad_values() {
        for query in
            ["force=yes", "dryRun=Some", "timeoutSeconds=-1", "labelSelector=a+in+()", "fieldSelector=spec.x%3D1"]
        {
            let error = parse(query).expect_err(query);
            assert_eq!(error.code, 400, "{query}");
        }
    }
}
