//! Bounded, jittered retries of Kubernetes API requests that failed for a passing reason:
//! throttling, an overloaded or restarting API server, or a dropped connection.

use std::hash::{BuildHasher as _, RandomState};
use std::time::Duration;

use http::{Method, Request, Response, StatusCode};
use kube::client::Body;
use tower::BoxError;
use tower::retry::Policy;

/// How often and how patiently a request is retried.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RetrySettings {
    /// Attempts per request, the first one included; 1 turns retries off.
    pub max_attempts: u32,
    /// Upper bound of the wait before the first retry; it doubles for each later one.
    pub base_delay: Duration,
    /// Upper bound of any one wait, a server's `Retry-After` included.
    pub max_delay: Duration,
}

impl Default for RetrySettings {
    /// 4 attempts with waits of up to 0.25 s, 0.5 s and 1 s, and at most 10 s when the server requests
    /// a longer wait with `Retry-After`. These are chosen values, not measured ones: they ride out a
    /// brief throttle or an API server restart without holding an apply up for long.
    fn default() -> RetrySettings {
        RetrySettings { max_attempts: 4, base_delay: Duration::from_millis(250), max_delay: Duration::from_secs(10) }
    }
}

/// A `tower` retry policy over [`RetrySettings`]. Each request gets its own copy, so the attempt
/// count is per request.
#[derive(Debug, Clone)]
pub(crate) struct TransientRetry {
    settings: RetrySettings,
    attempt: u32,
}

impl TransientRetry {
    pub(crate) fn new(settings: RetrySettings) -> TransientRetry {
        TransientRetry { settings, attempt: 1 }
    }

    /// Returns the wait before the next attempt: a server's `Retry-After` when it gives one, else
    /// a random share of the doubled base delay ("full jitter"), so that clients throttled together
    /// do not come back together.
    fn delay(&self, retry_after: Option<Duration>) -> Duration {
        if let Some(retry_after) = retry_after {
            return retry_after.min(self.settings.max_delay);
        }
        let ceiling =
            self.settings.base_delay.saturating_mul(1 << (self.attempt - 1).min(16)).min(self.settings.max_delay);
        let random = RandomState::new().hash_one(self.attempt);
        let millis = u64::try_from(ceiling.as_millis()).unwrap_or(u64::MAX).max(1);
        Duration::from_millis(random % millis + 1)
    }
}

/// Says why a finished attempt is worth repeating, or `None` when it is not.
fn transient_reason<B>(method: &Method, result: &Result<Response<B>, BoxError>) -> Option<String> {
    // A POST creates, so repeating it is safe only when the server cannot have acted on it:
    // throttled (429), refused as unavailable (503), or never connected to.
    let repeatable = *method != Method::POST;
    match result {
        Ok(response) => {
            let status = response.status();
            let always = matches!(status, StatusCode::TOO_MANY_REQUESTS | StatusCode::SERVICE_UNAVAILABLE);
            let if_repeatable = matches!(
                status,
                StatusCode::INTERNAL_SERVER_ERROR | StatusCode::BAD_GATEWAY | StatusCode::GATEWAY_TIMEOUT
            );
            (always || (if_repeatable && repeatable)).then(|| format!("status {status}"))
        }
        Err(error) if repeatable || is_connect_error(error.as_ref()) => Some(error_chain(error.as_ref())),
        Err(_) => None,
    }
}

fn is_connect_error(error: &(dyn std::error::Error + 'static)) -> bool {
    let mut current = Some(error);
    while let Some(error) = current {
        if error.downcast_ref::<hyper_util::client::legacy::Error>().is_some_and(|error| error.is_connect()) {
            return true;
        }
        current = error.source();
    }
    false
}

fn error_chain(error: &(dyn std::error::Error + 'static)) -> String {
    let mut text = error.to_string();
    let mut current = error.source();
    while let Some(cause) = current {
        text.push_str(": ");
        text.push_str(&cause.to_string());
        current = cause.source();
    }
    text
}

fn retry_after<B>(result: &Result<Response<B>, BoxError>) -> Option<Duration> {
    let header = result.as_ref().ok()?.headers().get(http::header::RETRY_AFTER)?;
    let seconds: u64 = header.to_str().ok()?.trim().parse().ok()?;
    Some(Duration::from_secs(seconds))
}

impl<B> Policy<Request<Body>, Response<B>, BoxError> for TransientRetry {
    type Future = tokio::time::Sleep;

    fn retry(
        &mut self,
        request: &mut Request<Body>,
        result: &mut Result<Response<B>, BoxError>,
    ) -> Option<Self::Future> {
        let reason = transient_reason(request.method(), result)?;
        let method = request.method();
        // Only the path: a query may carry a label selector, never a secret, but it adds noise.
        let path = request.uri().path();
        if self.attempt >= self.settings.max_attempts {
            tracing::warn!(%method, path, attempt = self.attempt, reason, "Kubernetes request failed; no attempts left");
            return None;
        }

        let delay = self.delay(retry_after(result));
        tracing::warn!(
            %method,
            path,
            attempt = self.attempt,
            delay_ms = u64::try_from(delay.as_millis()).unwrap_or(u64::MAX),
            reason,
            "Kubernetes request failed; retrying"
        );
        self.attempt += 1;
        Some(tokio::time::sleep(delay))
    }

    fn clone_request(&mut self, request: &Request<Body>) -> Option<Request<Body>> {
        // A streamed body cannot be sent twice; every request tether makes has a buffered one.
        let body = request.body().try_clone()?;
        let mut clone =
            Request::builder().method(request.method().clone()).uri(request.uri().clone()).version(request.version());
        if let Some(headers) = clone.headers_mut() {
            headers.extend(request.headers().clone());
        }
        let mut clone = clone.body(body).ok()?;
        *clone.extensions_mut() = request.extensions().clone();
        Some(clone)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn response(status: u16) -> Result<Response<()>, BoxError> {
        Ok(Response::builder().status(status).body(()).expect("a valid response"))
    }

    #[test]
    fn throttling_is_retried_for_every_method() {
        for method in [Method::GET, Method::POST, Method::PATCH, Method::DELETE] {
            assert!(transient_reason(&method, &response(429)).is_some(), "{method}");
            assert!(transient_reason(&method, &response(503)).is_some(), "{method}");
        }
    }

    #[test]
    fn server_errors_not_retried_for_post() {
        assert!(transient_reason(&Method::POST, &response(500)).is_none());
        assert!(transient_reason(&Method::PATCH, &response(500)).is_some());
        assert!(transient_reason(&Method::GET, &response(504)).is_some());
    }

    #[test]
    fn client_errors_not_retried() {
        for status in [200, 400, 404, 409, 422] {
            assert!(transient_reason(&Method::GET, &response(status)).is_none(), "{status}");
        }
    }

    #[test]
    fn delay_stays_within_bounds() {
        let mut policy = TransientRetry::new(RetrySettings::default());
        for attempt in 1..=10 {
            policy.attempt = attempt;
            let delay = policy.delay(None);
            assert!(delay >= Duration::from_millis(1), "{delay:?}");
            assert!(delay <= Duration::from_secs(10), "{delay:?}");
        }
        assert_eq!(policy.delay(Some(Duration::from_secs(600))), Duration::from_secs(10));
        assert_eq!(policy.delay(Some(Duration::from_secs(2))), Duration::from_secs(2));
    }
}
