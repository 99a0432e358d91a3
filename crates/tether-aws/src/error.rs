//! Errors: AWS API failures mapped to `ProviderError`, and requests rejected before any call.

use std::fmt;
use std::future::Future;

use aws_sdk_ec2::config::http::HttpResponse;
use aws_sdk_ec2::error::{ProvideErrorMetadata, SdkError};
use tether_engine::ProviderError;
use tether_model::Address;

/// AWS error codes that mean "slow down" or "try again later", across EC2, IAM and STS.
const RETRYABLE_CODES: &[&str] = &[
    "Throttling",
    "ThrottlingException",
    "ThrottledException",
    "RequestThrottled",
    "RequestThrottledException",
    "RequestLimitExceeded",
    "TooManyRequestsException",
    "PriorRequestNotComplete",
    "RequestTimeout",
    "RequestTimeoutException",
    "InternalError",
    "InternalFailure",
    "ServiceUnavailable",
    "Unavailable",
    "EC2ThrottledException",
];

/// An error that AWS (or the SDK on the way to AWS) returned for one API call.
///
/// Its `Display` carries the AWS error code and message, e.g.
/// `InvalidVpcID.NotFound: The vpc ID 'vpc-123' does not exist (HTTP 400)`, because the SDK's own
/// `Display` is often only "service error".
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ApiError {
    code: Option<String>,
    message: Option<String>,
    http_status: Option<u16>,
    /// The SDK error's full chain, used when AWS returned no code (timeouts, connection errors,
    /// responses that are not AWS errors).
    detail: String,
}

impl ApiError {
    /// Returns the AWS error code, e.g. `InvalidSubnet.Conflict`; `None` when no AWS error was parsed.
    pub fn code(&self) -> Option<&str> {
        self.code.as_deref()
    }

    /// Returns the AWS error message.
    pub fn message(&self) -> Option<&str> {
        self.message.as_deref()
    }

    /// Returns the HTTP status of the response; `None` when no response arrived.
    pub fn http_status(&self) -> Option<u16> {
        self.http_status
    }

    /// Builds an error with only a code, as AWS returns it with HTTP 400.
    #[cfg(test)]
    pub(crate) fn for_test(code: &str) -> ApiError {
        ApiError { code: Some(code.to_owned()), message: None, http_status: Some(400), detail: String::new() }
    }

    fn from_sdk<E>(error: &SdkError<E, HttpResponse>) -> ApiError
    where
        E: ProvideErrorMetadata + std::error::Error + 'static,
    {
        ApiError {
            code: error.code().map(str::to_owned),
            message: error.message().map(str::to_owned),
            http_status: error.raw_response().map(|response| response.status().as_u16()),
            detail: error_chain(error),
        }
    }
}

/// Joins the `Display` of an error and of each of its sources with `: `.
fn error_chain(error: &(dyn std::error::Error + 'static)) -> String {
    let mut text = error.to_string();
    let mut source = error.source();
    while let Some(cause) = source {
        text.push_str(": ");
        text.push_str(&cause.to_string());
        source = cause.source();
    }
    text
}

impl fmt::Display for ApiError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match (&self.code, self.http_status) {
            (Some(code), status) => {
                write!(f, "{code}: {}", self.message.as_deref().unwrap_or("(no message)"))?;
                if let Some(status) = status {
                    write!(f, " (HTTP {status})")?;
                }
                Ok(())
            }
            (None, Some(status)) => write!(f, "HTTP {status} without an AWS error code: {}", self.detail),
            (None, None) => f.write_str(&self.detail),
        }
    }
}

impl std::error::Error for ApiError {}

/// A request that the provider rejects before calling AWS, or an AWS response it cannot use.
#[derive(Debug, thiserror::Error)]
pub enum AwsError {
    /// The address's kind is not one this provider manages.
    #[error("{address}: `{kind}` is not an AWS resource kind that tether manages", kind = address.kind())]
    UnsupportedKind {
        /// The resource's address.
        address: Address,
    },
    /// An update request carries no resource id.
    #[error("an update of {address} needs the id of the existing resource")]
    MissingId {
        /// The resource's address.
        address: Address,
    },
    /// A required attribute is absent.
    #[error("{address} has no attribute `{attribute}`")]
    MissingAttribute {
        /// The resource's address.
        address: Address,
        /// The attribute's name.
        attribute: String,
    },
    /// An attribute has the wrong type or an invalid value.
    #[error("attribute `{attribute}` of {address} is invalid: expected {expected}")]
    InvalidAttribute {
        /// The resource's address.
        address: Address,
        /// The attribute's name.
        attribute: String,
        /// A description of a valid value.
        expected: String,
    },
    /// An update would change an attribute that AWS cannot change in place.
    #[error("attribute `{attribute}` of {address} cannot change in place; plan a replacement instead")]
    ImmutableAttribute {
        /// The resource's address.
        address: Address,
        /// The attribute's name.
        attribute: String,
    },
    /// The desired tags lack one of tether's ownership marks, so the resource could not be found again.
    #[error("the tags of {address} must contain `{key}={expected}`")]
    MissingOwnershipTag {
        /// The resource's address.
        address: Address,
        /// The tag key, e.g. `tether.dev/address`.
        key: &'static str,
        /// The value the tag must have.
        expected: String,
    },
    /// Several AWS resources carry the same address tag, so observation cannot tell which one is meant.
    #[error(
        "{address} is carried by several AWS resources ({ids}); delete the extra ones or remove their \
         `tether.dev/address` tag",
        ids = ids.join(", ")
    )]
    DuplicateAddress {
        /// The address found more than once.
        address: Address,
        /// The ids of the resources that carry it, sorted.
        ids: Vec<String>,
    },
    /// A create collided with an existing resource that tether may not adopt.
    #[error(
        "{address} cannot be created because {existing} already exists and {reason}; delete or rename it, or, if \
         an earlier run of tether created it for this address, tag it with `tether.dev/environment={environment}` \
         and `tether.dev/address={address}` so that tether adopts it"
    )]
    NotAdoptable {
        /// The address being created.
        address: Address,
        /// The environment's name.
        environment: String,
        /// The existing resource, e.g. `security group sg-0a1b (ai-subnet-router)`.
        existing: String,
        /// The reason it cannot be adopted, e.g. `carries no tether tags`.
        reason: String,
    },
    /// Destroy cannot make another table the VPC's main table, so tether's table cannot be deleted.
    #[error(
        "route table {route_table_id} is the main table of {vpc_id}, and the VPC has no untagged table without \
         subnets or routes to take that role back, so AWS would refuse to delete it; create an empty route table in \
         the VPC and run destroy again"
    )]
    NoOriginalMainTable {
        /// The VPC.
        vpc_id: String,
        /// tether's table, still the main one.
        route_table_id: String,
    },
    /// A resource identifier does not have the form this provider writes.
    #[error("`{id}` is not a valid {kind} id: expected {expected}")]
    InvalidId {
        /// The identifier.
        id: String,
        /// The resource kind.
        kind: &'static str,
        /// A description of a valid id.
        expected: &'static str,
    },
    /// A successful response lacks a field that AWS always fills in.
    #[error("the response has no `{field}`")]
    MissingResponseField {
        /// The field's name in the API model.
        field: &'static str,
    },
    /// A resource reached a state from which it does not recover, e.g. a failed NAT gateway.
    #[error("{id} is in state `{state}`: {reason}")]
    FailedState {
        /// The resource's AWS id.
        id: String,
        /// The state AWS reported.
        state: String,
        /// AWS's explanation, when it gives one.
        reason: String,
    },
    /// A resource did not reach the expected state within the wait limit.
    #[error("{id} did not become `{state}` within {seconds} s")]
    WaitTimedOut {
        /// The resource's AWS id.
        id: String,
        /// The expected state.
        state: &'static str,
        /// The wait limit in seconds.
        seconds: u64,
    },
}

impl AwsError {
    /// Wraps this error as a [`ProviderError`] for `operation`; only a timed-out wait is retryable.
    pub(crate) fn into_provider_error(self, operation: &str) -> ProviderError {
        match self {
            AwsError::WaitTimedOut { .. } => ProviderError::retryable(operation, self),
            other => ProviderError::permanent(operation, other),
        }
    }
}

/// Sends one API call, traces it, and maps an SDK error to a [`ProviderError`] named `operation`.
///
/// # Errors
/// Returns the mapped error; it is retryable for throttling, 5xx responses, timeouts and
/// connection failures.
pub(crate) async fn send<T, E>(
    operation: &'static str,
    call: impl Future<Output = Result<T, SdkError<E, HttpResponse>>>,
) -> Result<T, ProviderError>
where
    E: ProvideErrorMetadata + std::error::Error + Send + Sync + 'static,
{
    tracing::trace!(operation, "sending request");
    let result = call.await;
    match &result {
        Ok(_) => tracing::trace!(operation, "request succeeded"),
        Err(error) => tracing::trace!(operation, code = error.code(), "request failed"),
    }
    result.map_err(|error| map_sdk_error(operation, &error))
}

/// Like [`send`], but treats the error codes in `absent_codes` as "the resource is already gone"
/// and returns `None` for them.
///
/// # Errors
/// Returns any other error, mapped as [`send`] does.
pub(crate) async fn send_unless_absent<T, E>(
    operation: &'static str,
    absent_codes: &[&str],
    call: impl Future<Output = Result<T, SdkError<E, HttpResponse>>>,
) -> Result<Option<T>, ProviderError>
where
    E: ProvideErrorMetadata + std::error::Error + Send + Sync + 'static,
{
    match send(operation, call).await {
        Ok(output) => Ok(Some(output)),
        Err(error) if has_code(&error, absent_codes) => {
            tracing::debug!(operation, code = error_code(&error), "resource already absent");
            Ok(None)
        }
        Err(error) => Err(error),
    }
}

/// Returns the AWS error code inside a [`ProviderError`] made by this crate, if any.
pub fn error_code(error: &ProviderError) -> Option<&str> {
    error.source.downcast_ref::<ApiError>().and_then(ApiError::code)
}

/// True when `error` carries one of `codes`.
pub(crate) fn has_code(error: &ProviderError, codes: &[&str]) -> bool {
    error_code(error).is_some_and(|code| codes.contains(&code))
}

/// Maps an SDK error to a [`ProviderError`], classifying whether a later attempt may succeed.
pub(crate) fn map_sdk_error<E>(operation: &str, error: &SdkError<E, HttpResponse>) -> ProviderError
where
    E: ProvideErrorMetadata + std::error::Error + Send + Sync + 'static,
{
    let api_error = ApiError::from_sdk(error);
    let retryable = match error {
        SdkError::TimeoutError(_) => true,
        SdkError::DispatchFailure(failure) => !failure.is_user(),
        SdkError::ResponseError(_) | SdkError::ServiceError(_) => is_retryable_response(&api_error),
        SdkError::ConstructionFailure(_) => false,
        // SdkError is non-exhaustive; an unknown failure is not assumed to be transient.
        _ => false,
    };

    if retryable {
        ProviderError::retryable(operation, api_error)
    } else {
        ProviderError::permanent(operation, api_error)
    }
}

fn is_retryable_response(error: &ApiError) -> bool {
    let server_error = error.http_status.is_some_and(|status| status >= 500);
    let retryable_code = error.code().is_some_and(|code| RETRYABLE_CODES.contains(&code));
    server_error || retryable_code
}

#[cfg(test)]
mod tests {
    use super::*;

    fn api_error(code: Option<&str>, status: Option<u16>) -> ApiError {
        ApiError {
            code: code.map(str::to_owned),
            message: Some("message text".to_owned()),
            http_status: status,
            detail: "dispatch failure: connection refused".to_owned(),
        }
    }

    #[test]
    fn display_carries_code_and_message() {
        let text = api_error(Some("InvalidVpcID.NotFound"), Some(400)).to_string();
        assert_eq!(text, "InvalidVpcID.NotFound: message text (HTTP 400)");
    }

    #[test]
    fn display_without_code_uses_detail() {
        assert_eq!(api_error(None, None).to_string(), "dispatch failure: connection refused");
        let with_status = api_error(None, Some(500)).to_string();
        assert!(with_status.starts_with("HTTP 500 without an AWS error code"), "{with_status}");
    }

    #[test]
    fn throttling_and_server_errors_retryable() {
        assert!(is_retryable_response(&api_error(Some("RequestLimitExceeded"), Some(503))));
        assert!(is_retryable_response(&api_error(Some("Throttling"), Some(400))));
        assert!(is_retryable_response(&api_error(None, Some(500))));
    }

    #[test]
    fn client_errors_permanent() {
        assert!(!is_retryable_response(&api_error(Some("InvalidSubnet.Conflict"), Some(400))));
        assert!(!is_retryable_response(&api_error(Some("UnauthorizedOperation"), Some(403))));
    }

    #[test]
    fn wait_timeout_retryable() {
        let error = AwsError::WaitTimedOut { id: "i-1".to_owned(), state: "terminated", seconds: 5 };
        assert!(error.into_provider_error("TerminateInstances").retryable);
    }
}
