//! Errors of the management-cluster provider and how they become a `ProviderError`.
//!
//! No variant contains a request or response body, and API messages pass through a
//! [`Redactor`] that replaces the request's Secret values, so that they stay out of an error's
//! `Display` and `Debug` output.

use tether_engine::ProviderError;
use tether_model::{Address, UnresolvedValue};

use crate::object::KindRef;
use crate::secrets::Redactor;

/// A failed call to the management cluster, or a resource that cannot be sent to it.
#[derive(Debug, thiserror::Error)]
pub enum KubeError {
    /// The API server returned an error status.
    #[error("the API server returned {code} {reason}: {message}")]
    Api {
        /// HTTP status code, e.g. 409.
        code: u16,
        /// `Status.reason`, e.g. `Conflict`, or empty when the server sent none.
        reason: String,
        /// `Status.message`, with any Secret value of the request replaced by `[redacted]`.
        message: String,
    },

    /// The request got no response: the connection failed, was reset or timed out.
    #[error("the API server did not respond")]
    Transport(#[source] Box<kube::Error>),

    /// The response was not the JSON that the request returns.
    #[error("the API server's response cannot be decoded: {detail}")]
    Decode {
        /// The error category and position, without the response's content.
        detail: String,
    },

    /// The kube client failed before sending the request.
    #[error("the Kubernetes client failed")]
    Client(#[source] Box<kube::Error>),

    /// Discovery found no API resource for the kind.
    #[error("the management cluster does not serve {kind}: {hint}")]
    KindNotServed {
        /// The kind and its API version.
        kind: KindRef,
        /// The missing CustomResourceDefinition or operator.
        hint: String,
    },

    /// The resource's attributes do not describe an object tether can send.
    #[error("{address} is not a valid Kubernetes object: {problem}")]
    InvalidObject {
        /// The resource's address.
        address: Address,
        /// The problem, e.g. `metadata.name must be a non-empty string`.
        problem: String,
    },

    /// An attribute still holds a reference or a value known only after apply.
    #[error("{address} contains a value that is not resolved")]
    Unresolved {
        /// The resource's address.
        address: Address,
        /// Which value.
        #[source]
        source: Box<UnresolvedValue>,
    },

    /// Two objects carry the same `tether.dev/address` annotation.
    #[error(
        "objects {first} and {second} both carry the annotation tether.dev/address={address}; remove it from the one tether does not manage"
    )]
    DuplicateAddress {
        /// The address both claim.
        address: Address,
        /// The first object's kind and id.
        first: String,
        /// The second object's kind and id.
        second: String,
    },

    /// A create found the object already there, labelled for another tether environment: two
    /// environment files name the same cluster objects, and applying both would make each take the
    /// objects back from the other.
    #[error(
        "{object} already exists and belongs to tether environment `{owner}`, not `{environment}`; give this environment its own cluster name and namespace, or destroy `{owner}` first"
    )]
    OtherEnvironment {
        /// The object's kind and id.
        object: String,
        /// The environment named by the object's `tether.dev/environment` label.
        owner: String,
        /// The environment being applied.
        environment: String,
    },

    /// A delete found an object without tether's labels for this environment.
    #[error(
        "{object} lacks the labels app.kubernetes.io/managed-by=tether and tether.dev/environment={environment}, so tether does not delete it"
    )]
    NotManaged {
        /// The object's kind and id.
        object: String,
        /// The environment whose labels were expected.
        environment: String,
    },
}

impl KubeError {
    /// Converts a kube client error, redacting Secret values from the API's message.
    pub(crate) fn from_kube(error: kube::Error, redactor: &Redactor) -> KubeError {
        match error {
            kube::Error::Api(status) => KubeError::Api {
                code: status.code,
                reason: status.reason.clone(),
                message: redactor.redact(&status.message),
            },
            kube::Error::HyperError(_) | kube::Error::Service(_) | kube::Error::ReadEvents(_) => {
                KubeError::Transport(Box::new(error))
            }
            // serde_json's message can quote a piece of the body, so only its position is kept.
            kube::Error::SerdeError(source) => KubeError::decode(&source),
            kube::Error::FromUtf8(_) => KubeError::Decode { detail: "the body is not valid UTF-8".to_owned() },
            other => KubeError::Client(Box::new(other)),
        }
    }

    /// Describes a decoding failure by its category and position only.
    pub(crate) fn decode(error: &serde_json::Error) -> KubeError {
        let detail = format!("{:?} error at line {} column {}", error.classify(), error.line(), error.column());
        KubeError::Decode { detail: detail.to_lowercase() }
    }

    /// Wraps a request that kube could not build.
    pub(crate) fn build_request(error: kube::core::request::Error) -> KubeError {
        KubeError::Client(Box::new(kube::Error::BuildRequest(error)))
    }

    /// True for throttling, server errors, timeouts and failed connections.
    pub fn is_retryable(&self) -> bool {
        match self {
            KubeError::Api { code, .. } => *code == 429 || *code >= 500,
            KubeError::Transport(_) => true,
            _ => false,
        }
    }

    /// True when the API server returned 404 Not Found.
    pub fn is_not_found(&self) -> bool {
        matches!(self, KubeError::Api { code: 404, .. })
    }

    /// Wraps the error for the engine, naming the operation that failed.
    pub(crate) fn into_provider_error(self, operation: impl Into<String>) -> ProviderError {
        let retryable = self.is_retryable();
        ProviderError { operation: operation.into(), retryable, source: Box::new(self) }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn api_error(code: u16, reason: &str, message: &str) -> kube::Error {
        let status = kube::core::Status::failure(message, reason).with_code(code);
        kube::Error::Api(status.boxed())
    }

    #[test]
    fn api_error_display_has_code_reason_message() {
        let error =
            KubeError::from_kube(api_error(409, "Conflict", "Apply failed with 1 conflict"), &Redactor::default());
        assert_eq!(error.to_string(), "the API server returned 409 Conflict: Apply failed with 1 conflict");
    }

    #[test]
    fn retryable_codes() {
        for (code, retryable) in
            [(429, true), (500, true), (503, true), (504, true), (404, false), (409, false), (422, false)]
        {
            let error = KubeError::from_kube(api_error(code, "", "x"), &Redactor::default());
            assert_eq!(error.is_retryable(), retryable, "code {code}");
        }
    }

    #[test]
    fn api_message_is_redacted() {
        let redactor = Redactor::from_secrets(["c2VjcmV0LXRva2Vu".to_owned()]);
        let message = "bad value \"c2VjcmV0LXRva2Vu\" decoded as \"secret-token\"";
        let error = KubeError::from_kube(api_error(422, "Invalid", message), &redactor);
        let text = format!("{error} {error:?}");
        assert!(!text.contains("c2VjcmV0LXRva2Vu"), "{text}");
        assert!(!text.contains("secret-token"), "{text}");
    }

    #[test]
    fn decode_error_omits_body() {
        let source = serde_json::from_str::<serde_json::Value>("{\"data\": hunter2}").unwrap_err();
        let error = KubeError::decode(&source);
        assert!(!error.to_string().contains("hunter2"), "{error}");
        assert!(error.to_string().contains("line 1"), "{error}");
    }

    #[test]
    fn provider_error_keeps_retryable_flag() {
        let error = KubeError::from_kube(api_error(429, "TooManyRequests", "slow down"), &Redactor::default());
        let provider_error = error.into_provider_error("list of Secret (v1)");
        assert!(provider_error.retryable);
        assert_eq!(provider_error.to_string(), "list of Secret (v1) failed");
    }
}
