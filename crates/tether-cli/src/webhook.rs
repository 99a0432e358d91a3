//! Drift notifications: a JSON POST to a webhook with a Slack-compatible `text` field.

use std::time::Duration;

use http_body_util::{BodyExt as _, Full};
use hyper::body::Bytes;
use hyper::header::{CONTENT_TYPE, USER_AGENT};
use hyper::{Method, Request, Uri};
use hyper_util::client::legacy::Client;
use hyper_util::rt::TokioExecutor;

/// Time allowed for one POST, connection included.
const POST_TIMEOUT: Duration = Duration::from_secs(30);

/// A notification that could not be delivered.
#[derive(Debug, thiserror::Error)]
pub enum WebhookError {
    /// The URL is not `https://`, or `http://` to a loopback address.
    #[error("invalid webhook URL `{url}`: {problem}")]
    InvalidUrl {
        /// The URL as given.
        url: String,
        /// The problem with it.
        problem: &'static str,
    },
    /// The system's root certificates could not be loaded.
    #[error("cannot load the system's root certificates")]
    Certificates(#[source] std::io::Error),
    /// The request could not be sent or its response read.
    #[error("POST to the webhook failed")]
    Transport(#[source] Box<dyn std::error::Error + Send + Sync>),
    /// No response within [`POST_TIMEOUT`].
    #[error("POST to the webhook timed out after {} seconds", POST_TIMEOUT.as_secs())]
    TimedOut,
    /// The webhook returned an error status.
    #[error("the webhook returned HTTP {0}")]
    Status(String),
}

/// Checks that `url` is `https://`, or `http://` to 127.0.0.1, `[::1]` or localhost, because chat
/// webhook URLs carry their credential in the path.
///
/// # Errors
/// Returns the problem with the URL.
pub fn check_url(url: &str) -> Result<Uri, WebhookError> {
    let invalid = |problem| WebhookError::InvalidUrl { url: url.to_owned(), problem };
    let uri: Uri = url.parse().map_err(|_| invalid("not a URL"))?;
    let host = uri.host().ok_or_else(|| invalid("no host"))?;
    match uri.scheme_str() {
        Some("https") => Ok(uri),
        Some("http") if matches!(host, "127.0.0.1" | "[::1]" | "::1" | "localhost") => Ok(uri),
        Some("http") => Err(invalid("plain http is allowed only to a loopback address; use https://")),
        _ => Err(invalid("expected https://")),
    }
}

/// Posts `message` as JSON to `url`.
///
/// # Errors
/// Fails on an invalid URL, a transport error, a timeout or a non-2xx status.
pub async fn post(url: &str, message: &serde_json::Value) -> Result<(), WebhookError> {
    let uri = check_url(url)?;
    let connector = hyper_rustls::HttpsConnectorBuilder::new()
        .with_native_roots()
        .map_err(WebhookError::Certificates)?
        .https_or_http()
        .enable_http1()
        .build();
    let http = Client::builder(TokioExecutor::new()).build(connector);
    let request = Request::builder()
        .method(Method::POST)
        .uri(uri)
        .header(CONTENT_TYPE, "application/json")
        .header(USER_AGENT, concat!("tether/", env!("CARGO_PKG_VERSION")))
        .body(Full::new(Bytes::from(message.to_string())))
        .map_err(|error| WebhookError::Transport(Box::new(error)))?;

    let exchange = async {
        let response = http.request(request).await.map_err(|error| WebhookError::Transport(Box::new(error)))?;
        let status = response.status();
        response.into_body().collect().await.map_err(|error| WebhookError::Transport(Box::new(error)))?;
        Ok::<_, WebhookError>(status)
    };
    let status = tokio::time::timeout(POST_TIMEOUT, exchange).await.map_err(|_| WebhookError::TimedOut)??;
    if !status.is_success() {
        return Err(WebhookError::Status(status.to_string()));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn plain_http_only_to_loopback() {
        assert!(check_url("http://127.0.0.1:9/hook").is_ok());
        assert!(check_url("https://hooks.example.com/services/x").is_ok());
        assert!(matches!(check_url("http://hooks.example.com/x"), Err(WebhookError::InvalidUrl { .. })));
        assert!(matches!(check_url("ftp://127.0.0.1/x"), Err(WebhookError::InvalidUrl { .. })));
    }
}
