//! API errors and the `Status` bodies that carry them to clients.

use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde_json::{Value, json};

use super::resources::ResourceType;

/// A standard `Status.reason`. Clients compare these strings literally
/// (kube 5's `is_already_exists()` does), so each must match the Kubernetes spelling.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Reason {
    /// 400.
    BadRequest,
    /// 401.
    Unauthorized,
    /// 403.
    Forbidden,
    /// 404.
    NotFound,
    /// 405.
    MethodNotAllowed,
    /// 409 for a name that is taken.
    AlreadyExists,
    /// 409 for a stale write or an apply conflict.
    Conflict,
    /// 410 for a watch that starts before the retained history.
    Expired,
    /// 413.
    RequestEntityTooLarge,
    /// 415.
    UnsupportedMediaType,
    /// 422.
    Invalid,
    /// 429.
    TooManyRequests,
    /// 500.
    InternalError,
    /// 503.
    ServiceUnavailable,
    /// 504.
    Timeout,
    /// Any other code; Kubernetes spells this reason as the empty string.
    Unknown,
}

impl Reason {
    /// Returns the wire spelling of the reason.
    pub fn as_str(self) -> &'static str {
        match self {
            Reason::BadRequest => "BadRequest",
            Reason::Unauthorized => "Unauthorized",
            Reason::Forbidden => "Forbidden",
            Reason::NotFound => "NotFound",
            Reason::MethodNotAllowed => "MethodNotAllowed",
            Reason::AlreadyExists => "AlreadyExists",
            Reason::Conflict => "Conflict",
            Reason::Expired => "Expired",
            Reason::RequestEntityTooLarge => "RequestEntityTooLarge",
            Reason::UnsupportedMediaType => "UnsupportedMediaType",
            Reason::Invalid => "Invalid",
            Reason::TooManyRequests => "TooManyRequests",
            Reason::InternalError => "InternalError",
            Reason::ServiceUnavailable => "ServiceUnavailable",
            Reason::Timeout => "Timeout",
            Reason::Unknown => "",
        }
    }

    /// Returns the reason the API server uses for an HTTP status code.
    /// 409 maps to `Conflict`, because `AlreadyExists` only follows a create.
    pub fn for_code(code: u16) -> Reason {
        match code {
            400 => Reason::BadRequest,
            401 => Reason::Unauthorized,
            403 => Reason::Forbidden,
            404 => Reason::NotFound,
            405 => Reason::MethodNotAllowed,
            409 => Reason::Conflict,
            410 => Reason::Expired,
            413 => Reason::RequestEntityTooLarge,
            415 => Reason::UnsupportedMediaType,
            422 => Reason::Invalid,
            429 => Reason::TooManyRequests,
            500 => Reason::InternalError,
            503 => Reason::ServiceUnavailable,
            504 => Reason::Timeout,
            _ => Reason::Unknown,
        }
    }
}

/// One entry of `Status.details.causes`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StatusCause {
    /// Machine-readable cause, e.g. `FieldManagerConflict` or `FieldValueInvalid`.
    pub reason: String,
    /// Human-readable description.
    pub message: String,
    /// JSON path of the field, e.g. `.spec.release.image` or `metadata.resourceVersion`.
    pub field: String,
}

/// `Status.details`: which object the error is about.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct StatusDetails {
    /// Object name.
    pub name: String,
    /// API group, empty for the core group.
    pub group: String,
    /// Resource (plural) or kind, as the real server reports for this error.
    pub kind: String,
    /// Field-level causes.
    pub causes: Vec<StatusCause>,
}

/// An error the server returns as a `Status` body.
#[derive(Debug, Clone, thiserror::Error)]
#[error("{message} ({code} {})", reason.as_str())]
pub struct ApiError {
    /// HTTP status code.
    pub code: u16,
    /// `Status.reason`.
    pub reason: Reason,
    /// `Status.message`.
    pub message: String,
    /// `Status.details`, when the error concerns one object. Boxed to keep `Result`s small.
    pub details: Option<Box<StatusDetails>>,
}

impl ApiError {
    /// Builds an error with the reason's standard code and no details.
    pub fn new(reason: Reason, code: u16, message: impl Into<String>) -> ApiError {
        ApiError { code, reason, message: message.into(), details: None }
    }

    /// 400 BadRequest.
    pub fn bad_request(message: impl Into<String>) -> ApiError {
        ApiError::new(Reason::BadRequest, 400, message)
    }

    /// 404 for a path that names no resource the server serves.
    pub fn unknown_path() -> ApiError {
        ApiError::new(Reason::NotFound, 404, "the server could not find the requested resource")
    }

    /// 405 for a verb the path does not support.
    pub fn method_not_allowed(method: &str) -> ApiError {
        ApiError::new(
            Reason::MethodNotAllowed,
            405,
            format!("the server does not allow this method on the requested resource: {method}"),
        )
    }

    /// 415 for a body or patch media type the server does not decode.
    pub fn unsupported_media_type(media_type: &str) -> ApiError {
        ApiError::new(
            Reason::UnsupportedMediaType,
            415,
            format!(
                "the body of the request was in an unknown format - accepted media types include: application/json, application/json-patch+json, application/merge-patch+json, application/apply-patch+yaml; got {media_type:?}"
            ),
        )
    }

    /// 404 NotFound for one object: `secrets "x" not found`.
    pub fn not_found(resource: &ResourceType, name: &str) -> ApiError {
        let message = format!("{} \"{name}\" not found", resource.qualified_plural());
        ApiError::new(Reason::NotFound, 404, message).with_resource(resource, name)
    }

    /// 404 for a namespace that does not exist: `namespaces "x" not found`.
    pub fn namespace_not_found(namespace: &str) -> ApiError {
        let details =
            StatusDetails { name: namespace.to_string(), kind: "namespaces".to_string(), ..StatusDetails::default() };
        ApiError::new(Reason::NotFound, 404, format!("namespaces \"{namespace}\" not found")).with_details(details)
    }

    /// 409 AlreadyExists for a create over an existing name.
    pub fn already_exists(resource: &ResourceType, name: &str) -> ApiError {
        let message = format!("{} \"{name}\" already exists", resource.qualified_plural());
        ApiError::new(Reason::AlreadyExists, 409, message).with_resource(resource, name)
    }

    /// 409 Conflict for a write based on a stale `resourceVersion`.
    pub fn stale(resource: &ResourceType, name: &str) -> ApiError {
        let message = format!(
            "Operation cannot be fulfilled on {} \"{name}\": the object has been modified; please apply your changes to the latest version and try again",
            resource.qualified_plural()
        );
        ApiError::new(Reason::Conflict, 409, message).with_resource(resource, name)
    }

    /// 409 Conflict for a failed delete precondition.
    pub fn precondition_failed(resource: &ResourceType, name: &str, detail: String) -> ApiError {
        let message = format!(
            "Operation cannot be fulfilled on {} \"{name}\": Precondition failed: {detail}",
            resource.qualified_plural()
        );
        ApiError::new(Reason::Conflict, 409, message).with_resource(resource, name)
    }

    /// 422 Invalid with one field cause: `HostedCluster.hypershift.openshift.io "x" is invalid: field: message`.
    pub fn invalid(resource: &ResourceType, name: &str, field: &str, message: &str) -> ApiError {
        let full = format!("{} \"{name}\" is invalid: {field}: {message}", resource.qualified_kind());
        let cause = StatusCause {
            reason: "FieldValueInvalid".to_string(),
            message: message.to_string(),
            field: field.to_string(),
        };
        let details = StatusDetails {
            name: name.to_string(),
            group: resource.group.clone(),
            kind: resource.kind.clone(),
            causes: vec![cause],
        };
        ApiError::new(Reason::Invalid, 422, full).with_details(details)
    }

    /// 403 Forbidden about one object.
    pub fn forbidden(resource: &ResourceType, name: &str, cause: &str) -> ApiError {
        let message = format!("{} \"{name}\" is forbidden: {cause}", resource.qualified_plural());
        ApiError::new(Reason::Forbidden, 403, message).with_resource(resource, name)
    }

    /// Attaches details naming the object by resource (plural) and group, as NotFound and Conflict do.
    pub fn with_resource(self, resource: &ResourceType, name: &str) -> ApiError {
        let details = StatusDetails {
            name: name.to_string(),
            group: resource.group.clone(),
            kind: resource.plural.clone(),
            causes: Vec::new(),
        };
        self.with_details(details)
    }

    /// Replaces the details.
    pub fn with_details(mut self, details: StatusDetails) -> ApiError {
        self.details = Some(Box::new(details));
        self
    }

    /// Renders the `Status` body.
    pub fn to_status(&self) -> Value {
        let mut status = json!({
            "kind": "Status",
            "apiVersion": "v1",
            "metadata": {},
            "status": "Failure",
            "message": self.message,
            "reason": self.reason.as_str(),
            "code": self.code,
        });
        if let Some(details) = &self.details {
            status["details"] = details_json(details);
        }
        status
    }
}

/// Renders details, leaving out empty fields as the real server does.
fn details_json(details: &StatusDetails) -> Value {
    let mut out = serde_json::Map::new();
    for (key, value) in [("name", &details.name), ("group", &details.group), ("kind", &details.kind)] {
        if !value.is_empty() {
            out.insert(key.to_string(), Value::String(value.clone()));
        }
    }
    if !details.causes.is_empty() {
        let causes = details
            .causes
            .iter()
            .map(|cause| json!({"reason": cause.reason, "message": cause.message, "field": cause.field}))
            .collect();
        out.insert("causes".to_string(), Value::Array(causes));
    }
    Value::Object(out)
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        json_response(self.code, &self.to_status())
    }
}

/// Builds a JSON response with the given status code.
pub(crate) fn json_response(code: u16, body: &Value) -> Response {
    let status = StatusCode::from_u16(code).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
    let mut response = (status, body.to_string()).into_response();
    response.headers_mut().insert(header::CONTENT_TYPE, HeaderValue::from_static("application/json"));
    response
}

/// Builds the `Status` of an immediate delete: 200, `status: Success`.
pub(crate) fn delete_success(resource: &ResourceType, name: &str, uid: &str) -> Value {
    let mut details = json!({"name": name, "kind": resource.plural, "uid": uid});
    if !resource.group.is_empty() {
        details["group"] = Value::String(resource.group.clone());
    }
    json!({
        "kind": "Status",
        "apiVersion": "v1",
        "metadata": {},
        "status": "Success",
        "details": details,
    })
}
