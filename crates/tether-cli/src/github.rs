//! A small client of GitHub's REST API for pull-request comments: find the comment that carries a
//! marker, create one, or update it.

use std::time::Duration;

use http_body_util::{BodyExt as _, Full};
use hyper::body::Bytes;
use hyper::header::{ACCEPT, AUTHORIZATION, CONTENT_TYPE, HeaderValue, USER_AGENT};
use hyper::{Method, Request, Uri};
use hyper_rustls::HttpsConnector;
use hyper_util::client::legacy::Client;
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::rt::TokioExecutor;
use serde_json::{Value as Json, json};

/// The REST API version tether is written against, sent as `X-GitHub-Api-Version`.
const API_VERSION: &str = "2022-11-28";

/// Comments per page when listing; 100 is the maximum GitHub serves.
const PAGE_SIZE: usize = 100;

/// Pages read at most while looking for the marker, i.e. the first 10,000 comments.
const MAX_PAGES: usize = 100;

/// How long one request may take, connection included.
const REQUEST_TIMEOUT: Duration = Duration::from_secs(30);

/// A connection or protocol error of the HTTP client.
pub type TransportError = Box<dyn std::error::Error + Send + Sync>;

/// A failed GitHub API call. No variant contains the token.
#[derive(Debug, thiserror::Error)]
pub enum GithubError {
    /// The API base URL cannot be used.
    #[error("invalid GitHub API URL `{url}`: {problem}")]
    InvalidUrl {
        /// The URL as given.
        url: String,
        /// The problem with it.
        problem: &'static str,
    },
    /// The token cannot be sent in an HTTP header.
    #[error("GITHUB_TOKEN contains characters that are not allowed in an HTTP header")]
    InvalidToken,
    /// The system's root certificates cannot be loaded.
    #[error("cannot load the system's root certificates for HTTPS")]
    Certificates(#[source] std::io::Error),
    /// The request failed before a response arrived.
    #[error("{method} {url} failed")]
    Transport {
        /// The request's method.
        method: Method,
        /// The request's URL.
        url: String,
        /// The connection or protocol error.
        #[source]
        source: TransportError,
    },
    /// No response arrived within [`REQUEST_TIMEOUT`].
    #[error("{method} {url} timed out after {} seconds", REQUEST_TIMEOUT.as_secs())]
    TimedOut {
        /// The request's method.
        method: Method,
        /// The request's URL.
        url: String,
    },
    /// GitHub returned an error status.
    #[error("GitHub rejected {method} {url} with status {status}: {message}")]
    Status {
        /// The request's method.
        method: Method,
        /// The request's URL.
        url: String,
        /// The HTTP status, e.g. `403 Forbidden`.
        status: String,
        /// The `message` of GitHub's JSON error, else the start of the response body.
        message: String,
    },
    /// The response is not the JSON that the API documents.
    #[error("the response to {method} {url} is not the expected JSON: {problem}")]
    Decode {
        /// The request's method.
        method: Method,
        /// The request's URL.
        url: String,
        /// What is missing or malformed.
        problem: String,
    },
}

/// An issue or pull-request comment.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Comment {
    /// The comment's id, used to update it.
    pub id: u64,
    /// The comment's web address, when GitHub returns one.
    pub html_url: Option<String>,
}

/// A client for one API base URL and token.
pub struct GithubClient {
    http: Client<HttpsConnector<HttpConnector>, Full<Bytes>>,
    api_url: String,
    token: String,
}

impl GithubClient {
    /// Creates a client for `api_url`, e.g. `https://api.github.com`.
    ///
    /// # Errors
    /// Fails for a URL that is not `https://` (or `http://` to a loopback address, for tests and
    /// local proxies), and when the system's root certificates cannot be loaded.
    pub fn new(api_url: &str, token: String) -> Result<GithubClient, GithubError> {
        check_api_url(api_url)?;
        HeaderValue::from_str(&format!("Bearer {token}")).map_err(|_| GithubError::InvalidToken)?;
        let connector = hyper_rustls::HttpsConnectorBuilder::new()
            .with_native_roots()
            .map_err(GithubError::Certificates)?
            .https_or_http()
            .enable_http1()
            .build();
        let http = Client::builder(TokioExecutor::new()).build(connector);
        Ok(GithubClient { http, api_url: api_url.trim_end_matches('/').to_owned(), token })
    }

    /// Finds the oldest comment on an issue or pull request whose body contains `marker`,
    /// reading the comments page by page.
    ///
    /// # Errors
    /// Fails when a page cannot be read.
    pub async fn find_comment(
        &self,
        repository: &str,
        number: u64,
        marker: &str,
    ) -> Result<Option<Comment>, GithubError> {
        for page in 1..=MAX_PAGES {
            let path = format!("/repos/{repository}/issues/{number}/comments?per_page={PAGE_SIZE}&page={page}");
            let url = format!("{}{path}", self.api_url);
            let listed = self.send(Method::GET, &path, None).await?;
            let Some(comments) = listed.as_array() else {
                return Err(decode_error(Method::GET, url, "expected a list of comments"));
            };
            for comment in comments {
                let body = comment.get("body").and_then(Json::as_str).unwrap_or_default();
                if body.contains(marker) {
                    return parse_comment(comment).map(Some).map_err(|problem| decode_error(Method::GET, url, problem));
                }
            }
            if comments.len() < PAGE_SIZE {
                return Ok(None);
            }
        }
        // NOTE: a pull request with more than MAX_PAGES pages of comments gets a new comment.
        Ok(None)
    }

    /// Creates a comment on an issue or pull request.
    ///
    /// # Errors
    /// Fails when GitHub does not create it.
    pub async fn create_comment(&self, repository: &str, number: u64, body: &str) -> Result<Comment, GithubError> {
        let path = format!("/repos/{repository}/issues/{number}/comments");
        let created = self.send(Method::POST, &path, Some(json!({ "body": body }))).await?;
        parse_comment(&created)
            .map_err(|problem| decode_error(Method::POST, format!("{}{path}", self.api_url), problem))
    }

    /// Replaces the body of an existing comment.
    ///
    /// # Errors
    /// Fails when GitHub does not update it.
    pub async fn update_comment(&self, repository: &str, id: u64, body: &str) -> Result<Comment, GithubError> {
        let path = format!("/repos/{repository}/issues/comments/{id}");
        let updated = self.send(Method::PATCH, &path, Some(json!({ "body": body }))).await?;
        parse_comment(&updated)
            .map_err(|problem| decode_error(Method::PATCH, format!("{}{path}", self.api_url), problem))
    }

    /// Sends one request and returns the JSON of a successful response.
    async fn send(&self, method: Method, path: &str, body: Option<Json>) -> Result<Json, GithubError> {
        let url = format!("{}{path}", self.api_url);
        tracing::trace!(method = %method, url, "GitHub API request");
        let request = self.request(method.clone(), &url, body)?;
        let outcome = tokio::time::timeout(REQUEST_TIMEOUT, async {
            let response = self.http.request(request).await.map_err(|error| Box::new(error) as TransportError)?;
            let status = response.status();
            let bytes =
                response.into_body().collect().await.map_err(|error| Box::new(error) as TransportError)?.to_bytes();
            Ok::<_, TransportError>((status, bytes))
        })
        .await;
        let (status, bytes) = match outcome {
            Err(_) => return Err(GithubError::TimedOut { method, url }),
            Ok(Err(source)) => return Err(GithubError::Transport { method, url, source }),
            Ok(Ok(response)) => response,
        };

        if !status.is_success() {
            let message = self.redact(&error_message(&bytes));
            return Err(GithubError::Status { method, url, status: status.to_string(), message });
        }
        serde_json::from_slice(&bytes).map_err(|error| decode_error(method, url, error.to_string()))
    }

    fn request(&self, method: Method, url: &str, body: Option<Json>) -> Result<Request<Full<Bytes>>, GithubError> {
        let uri: Uri =
            url.parse().map_err(|_| GithubError::InvalidUrl { url: url.to_owned(), problem: "not a URL" })?;
        let mut authorization =
            HeaderValue::from_str(&format!("Bearer {}", self.token)).map_err(|_| GithubError::InvalidToken)?;
        authorization.set_sensitive(true);
        let bytes = body.map(|json| Bytes::from(json.to_string())).unwrap_or_default();
        Request::builder()
            .method(method)
            .uri(uri)
            .header(AUTHORIZATION, authorization)
            .header(ACCEPT, "application/vnd.github+json")
            .header("X-GitHub-Api-Version", API_VERSION)
            .header(USER_AGENT, concat!("tether/", env!("CARGO_PKG_VERSION")))
            .header(CONTENT_TYPE, "application/json")
            .body(Full::new(bytes))
            .map_err(|_| GithubError::InvalidUrl { url: url.to_owned(), problem: "not a valid request URL" })
    }

    /// Replaces the token wherever it appears in `text`.
    fn redact(&self, text: &str) -> String {
        if self.token.is_empty() { text.to_owned() } else { text.replace(&self.token, "[redacted]") }
    }
}

/// Accepts `https://HOST…`, and `http://` only to 127.0.0.1, `[::1]` or localhost, so the token
/// never crosses a network unencrypted.
fn check_api_url(url: &str) -> Result<(), GithubError> {
    let invalid = |problem| GithubError::InvalidUrl { url: url.to_owned(), problem };
    let uri: Uri = url.parse().map_err(|_| invalid("not a URL"))?;
    let host = uri.host().ok_or_else(|| invalid("no host"))?;
    match uri.scheme_str() {
        Some("https") => Ok(()),
        Some("http") if matches!(host, "127.0.0.1" | "[::1]" | "::1" | "localhost") => Ok(()),
        Some("http") => Err(invalid("plain http is allowed only to a loopback address; use https://")),
        _ => Err(invalid("expected https://")),
    }
}

fn parse_comment(json: &Json) -> Result<Comment, String> {
    let id = json.get("id").and_then(Json::as_u64).ok_or("the comment has no numeric `id`")?;
    let html_url = json.get("html_url").and_then(Json::as_str).map(str::to_owned);
    Ok(Comment { id, html_url })
}

fn decode_error(method: Method, url: String, problem: impl Into<String>) -> GithubError {
    GithubError::Decode { method, url, problem: problem.into() }
}

/// GitHub's error `message`, else the first 200 characters of the body.
fn error_message(bytes: &[u8]) -> String {
    let json: Option<Json> = serde_json::from_slice(bytes).ok();
    if let Some(message) = json.as_ref().and_then(|json| json.get("message")).and_then(Json::as_str) {
        return message.to_owned();
    }
    let text = String::from_utf8_lossy(bytes);
    let text = text.trim();
    if text.is_empty() { "(empty response body)".to_owned() } else { text.chars().take(200).collect() }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn api_url_needs_https_off_loopback() {
        assert!(check_api_url("https://api.github.com").is_ok());
        assert!(check_api_url("https://ghe.example.com/api/v3").is_ok());
        assert!(check_api_url("http://127.0.0.1:8080").is_ok());
        assert!(check_api_url("http://ghe.example.com/api/v3").is_err());
        assert!(check_api_url("ftp://ghe.example.com").is_err());
        assert!(check_api_url("not a url").is_err());
    }

    #[test]
    fn error_message_prefers_json_message() {
        assert_eq!(error_message(br#"{"message":"Bad credentials"}"#), "Bad credentials");
        assert_eq!(error_message(b"<html>oops</html>"), "<html>oops</html>");
        assert_eq!(error_message(b""), "(empty response body)");
    }
}
