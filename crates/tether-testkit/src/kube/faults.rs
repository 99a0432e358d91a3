//! Fault injection (fail or delay the next matching requests) and the request log.

use std::time::Duration;

use axum::http::{HeaderValue, header};
use axum::response::Response;

use super::error::{ApiError, Reason, json_response};

/// A scripted failure or delay for the next requests that match a method and a path substring.
///
/// ```
/// use std::time::Duration;
/// use tether_testkit::kube::Fault;
///
/// // The next two PATCH requests to any HostedCluster get 409 Conflict.
/// let conflict = Fault::fail(409).on("PATCH", "/hostedclusters/").times(2);
/// // The next request of any kind gets 429 with `Retry-After: 3`.
/// let throttled = Fault::throttle(3);
/// // The next GET of a Lease waits half a second, then succeeds.
/// let slow = Fault::delay(Duration::from_millis(500)).on("GET", "/leases/");
/// # let _ = (conflict, throttled, slow);
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Fault {
    /// HTTP method to match, case-insensitive; `None` matches every method.
    pub method: Option<String>,
    /// Substring the request path (without the query) must contain; empty matches every path.
    pub path_contains: String,
    /// How many matching requests the fault affects before it is used up.
    pub count: u32,
    /// The effect on those requests.
    pub effect: FaultEffect,
}

/// The effect of a [`Fault`] on a request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum FaultEffect {
    /// Respond with this HTTP status and a `Status` body whose reason matches it (409 Conflict,
    /// 500 InternalError, 503 ServiceUnavailable, ...). A 429 carries `Retry-After: 1`.
    Fail {
        /// HTTP status code.
        code: u16,
    },
    /// Respond with 429 TooManyRequests and a `Retry-After` header.
    Throttle {
        /// Value of `Retry-After`, in seconds.
        retry_after_seconds: u64,
    },
    /// Wait, then serve the request normally.
    Delay(Duration),
}

impl Fault {
    /// Fails the next request with `code`; narrow it with [`Fault::on`] and [`Fault::times`].
    pub fn fail(code: u16) -> Fault {
        Fault { method: None, path_contains: String::new(), count: 1, effect: FaultEffect::Fail { code } }
    }

    /// Throttles the next request: 429 with `Retry-After: retry_after_seconds`.
    pub fn throttle(retry_after_seconds: u64) -> Fault {
        Fault { effect: FaultEffect::Throttle { retry_after_seconds }, ..Fault::fail(429) }
    }

    /// Delays the next request by `duration`.
    pub fn delay(duration: Duration) -> Fault {
        Fault { method: None, path_contains: String::new(), count: 1, effect: FaultEffect::Delay(duration) }
    }

    /// Limits the fault to one method (e.g. `PATCH`) and paths containing `path_contains`.
    pub fn on(mut self, method: &str, path_contains: &str) -> Fault {
        self.method = Some(method.to_string());
        self.path_contains = path_contains.to_string();
        self
    }

    /// Sets how many matching requests the fault affects.
    pub fn times(mut self, count: u32) -> Fault {
        self.count = count;
        self
    }

    fn matches(&self, method: &str, path: &str) -> bool {
        let method_matches = self.method.as_deref().is_none_or(|wanted| wanted.eq_ignore_ascii_case(method));
        self.count > 0 && method_matches && path.contains(&self.path_contains)
    }
}

/// One request the server served. [`KubeTestServer::requests`](super::KubeTestServer::requests)
/// lists them in the order their responses started.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RecordedRequest {
    /// HTTP method, e.g. `PATCH`.
    pub method: String,
    /// Path without the query, e.g. `/api/v1/namespaces/default/secrets/x`.
    pub path: String,
    /// Raw query string as sent (still percent-encoded), if any.
    pub query: Option<String>,
    /// Decoded `fieldManager` query parameter, if any.
    pub field_manager: Option<String>,
    /// HTTP status of the response (for a watch, of its headers).
    pub status: u16,
    /// Whether an injected [`Fault`] failed or delayed this request.
    pub faulted: bool,
}

/// Takes the first fault that matches a request and counts it down; used-up faults are dropped.
pub(crate) fn take_fault(faults: &mut Vec<Fault>, method: &str, path: &str) -> Option<FaultEffect> {
    let index = faults.iter().position(|fault| fault.matches(method, path))?;
    let fault = &mut faults[index];
    fault.count -= 1;
    let effect = fault.effect.clone();
    if fault.count == 0 {
        faults.remove(index);
    }
    Some(effect)
}

/// Builds the response of a failing fault.
pub(crate) fn fault_response(code: u16, retry_after_seconds: Option<u64>, method: &str, path: &str) -> Response {
    let reason = Reason::for_code(code);
    let message = format!("fault injected by the test server into {method} {path}");
    let mut response = json_response(code, &ApiError::new(reason, code, message).to_status());
    let retry_after = retry_after_seconds.or((code == 429).then_some(1));
    if let Some(seconds) = retry_after {
        response.headers_mut().insert(header::RETRY_AFTER, HeaderValue::from(seconds));
    }
    response
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counts_down_and_drops() {
        let mut faults = vec![Fault::fail(500).on("patch", "/hostedclusters/").times(2)];
        assert_eq!(take_fault(&mut faults, "GET", "/apis/x/hostedclusters/a"), None);
        assert_eq!(take_fault(&mut faults, "PATCH", "/apis/x/hostedclusters/a"), Some(FaultEffect::Fail { code: 500 }));
        assert_eq!(take_fault(&mut faults, "PATCH", "/apis/x/hostedclusters/a"), Some(FaultEffect::Fail { code: 500 }));
        assert_eq!(take_fault(&mut faults, "PATCH", "/apis/x/hostedclusters/a"), None);
        assert!(faults.is_empty());
    }

    #[test]
    fn first_match_wins() {
        let mut faults = vec![Fault::fail(409), Fault::fail(503)];
        assert_eq!(take_fault(&mut faults, "GET", "/api"), Some(FaultEffect::Fail { code: 409 }));
        assert_eq!(take_fault(&mut faults, "GET", "/api"), Some(FaultEffect::Fail { code: 503 }));
    }

    #[test]
    fn throttle_sets_retry_after() {
        let response = fault_response(429, Some(3), "GET", "/api");
        assert_eq!(response.status().as_u16(), 429);
        assert_eq!(response.headers()[header::RETRY_AFTER], "3");
    }
}
