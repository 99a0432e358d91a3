//! An HTTP proxy on 127.0.0.1 in front of the AWS emulator that adds latency, injects faults and
//! records every call.
//!
//! moto serves one request at a time, so latency added inside it would serialise a parallel
//! apply and measure moto instead of tether. The proxy waits concurrently, one task per request,
//! and forwards to moto only after the wait. It also answers some calls itself with AWS-shaped
//! errors, closed connections or late answers, so tests can check retries and failure handling,
//! and it keeps a log of the calls (service, action, status, timing) for tests that check how
//! many calls tether makes or in which order.

use std::net::SocketAddr;
use std::sync::mpsc;
use std::sync::{Arc, Mutex, MutexGuard};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use anyhow::Context as _;
use http_body_util::{BodyExt as _, Full};
use hyper::body::{Bytes, Incoming};
use hyper::header::{self, HeaderValue};
use hyper::{Request, Response, StatusCode};
use hyper_util::client::legacy::Client;
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::rt::{TokioExecutor, TokioIo};
use tokio::sync::watch;

/// One call that reached the proxy.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AwsCall {
    /// Service from the SigV4 credential scope: `ec2`, `iam`, `sts`, `route53`; `unknown` if unsigned.
    pub service: String,
    /// The query protocol's `Action` (e.g. `CreateRoute`), or `METHOD /path` for REST calls.
    pub action: String,
    /// HTTP status of the response, or 0 when the proxy closed the connection without responding.
    pub status: u16,
    /// True when a fault rule responded to (or delayed) this call instead of a plain forward.
    pub injected: bool,
    /// When the request arrived.
    pub started: Instant,
    /// When the answer left (or the connection was closed).
    pub finished: Instant,
}

/// The effect of a matching fault rule.
#[derive(Debug, Clone)]
enum Effect {
    Error { status: u16, code: String, message: Option<String> },
    Reset,
    Delay(Duration),
}

/// A fault rule: an effect and the calls it applies to. Built with [`AwsFault::error`],
/// [`AwsFault::reset`] or [`AwsFault::delay`] and narrowed with the other methods.
#[derive(Debug, Clone)]
pub struct AwsFault {
    effect: Effect,
    action: Option<String>,
    service: Option<String>,
    body_contains: Option<String>,
    /// Matching calls this rule still applies to; `None` applies to all.
    remaining: Option<usize>,
    /// Fraction of matching calls to apply to, with the state of a SplitMix64 generator.
    ratio: Option<(f64, u64)>,
}

impl AwsFault {
    /// Answers with HTTP `http_status` and an AWS error body carrying `code` (e.g. `Throttling`,
    /// `InvalidNatGatewayID.NotFound`), shaped for the service the call went to.
    pub fn error(http_status: u16, code: &str) -> AwsFault {
        AwsFault::with_effect(Effect::Error { status: http_status, code: code.to_owned(), message: None })
    }

    /// Sets the `<Message>` of an [`AwsFault::error`] body, e.g. to check how tether shows a
    /// provider's message; other effects ignore it.
    pub fn message(mut self, text: &str) -> AwsFault {
        if let Effect::Error { message, .. } = &mut self.effect {
            *message = Some(text.to_owned());
        }
        self
    }

    /// Closes the connection without answering, as a reset connection looks to the client.
    pub fn reset() -> AwsFault {
        AwsFault::with_effect(Effect::Reset)
    }

    /// Forwards the call, but only after `delay` (on top of the proxy's latency), to exceed a
    /// client's timeout.
    pub fn delay(delay: Duration) -> AwsFault {
        AwsFault::with_effect(Effect::Delay(delay))
    }

    fn with_effect(effect: Effect) -> AwsFault {
        AwsFault { effect, action: None, service: None, body_contains: None, remaining: None, ratio: None }
    }

    /// Applies only to calls with this action (exact match; see [`AwsCall::action`]).
    pub fn action(mut self, action: &str) -> AwsFault {
        self.action = Some(action.to_owned());
        self
    }

    /// Applies only to calls to this service (`ec2`, `iam`, `sts`, `route53`).
    pub fn service(mut self, service: &str) -> AwsFault {
        self.service = Some(service.to_owned());
        self
    }

    /// Applies only to calls whose URL or decoded form body contains `needle`, e.g. a route
    /// table id or a CIDR block.
    pub fn body_contains(mut self, needle: &str) -> AwsFault {
        self.body_contains = Some(needle.to_owned());
        self
    }

    /// Applies only to the first `n` matching calls; later ones are forwarded untouched.
    pub fn times(mut self, n: usize) -> AwsFault {
        self.remaining = Some(n);
        self
    }

    /// Applies to a pseudo-random `fraction` (0.0 to 1.0) of matching calls. The choice depends
    /// only on `seed` and the order of matching calls, so a test run can be repeated.
    pub fn ratio(mut self, fraction: f64, seed: u64) -> AwsFault {
        self.ratio = Some((fraction.clamp(0.0, 1.0), seed));
        self
    }

    fn matches(&self, call: &CallFacts) -> bool {
        self.action.as_ref().is_none_or(|action| *action == call.action)
            && self.service.as_ref().is_none_or(|service| *service == call.service)
            && self.body_contains.as_ref().is_none_or(|needle| call.searchable.contains(needle.as_str()))
    }

    /// Decides whether this matching call gets the effect, and counts it.
    fn take(&mut self) -> bool {
        if self.remaining == Some(0) {
            return false;
        }
        if let Some((fraction, state)) = &mut self.ratio {
            let draw = (split_mix_64(state) >> 11) as f64 / (1u64 << 53) as f64;
            if draw >= *fraction {
                return false;
            }
        }
        if let Some(remaining) = &mut self.remaining {
            *remaining -= 1;
        }
        true
    }
}

/// The SplitMix64 step: a small, well-spread generator, enough for choosing calls.
fn split_mix_64(state: &mut u64) -> u64 {
    *state = state.wrapping_add(0x9E37_79B9_7F4A_7C15);
    let mut z = *state;
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^ (z >> 31)
}

/// Facts about a call, gathered before the proxy responds.
struct CallFacts {
    service: String,
    action: String,
    /// The URL and the percent-decoded body, for [`AwsFault::body_contains`].
    searchable: String,
}

#[derive(Default)]
struct Shared {
    latency: Duration,
    faults: Vec<AwsFault>,
    calls: Vec<AwsCall>,
}

struct ProxyState {
    upstream: String,
    client: Client<HttpConnector, Full<Bytes>>,
    shared: Mutex<Shared>,
}

impl ProxyState {
    fn lock(&self) -> MutexGuard<'_, Shared> {
        // A panic while holding the lock leaves plain data that is still usable.
        self.shared.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
    }
}

/// A running proxy. Dropping it stops the server thread.
pub struct AwsProxy {
    state: Arc<ProxyState>,
    address: SocketAddr,
    shutdown: watch::Sender<bool>,
    thread: Option<(JoinHandle<()>, mpsc::Receiver<()>)>,
}

impl std::fmt::Debug for AwsProxy {
    fn fmt(&self, formatter: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        formatter
            .debug_struct("AwsProxy")
            .field("address", &self.address)
            .field("upstream", &self.state.upstream)
            .finish()
    }
}

impl AwsProxy {
    /// Starts a proxy on a free 127.0.0.1 port that forwards to `upstream` (e.g. moto's
    /// endpoint, `http://127.0.0.1:PORT`). It runs on its own thread and runtime, so sync and
    /// async tests can both use it.
    ///
    /// # Errors
    ///
    /// Fails when `upstream` is not an `http://127.0.0.1` or `http://localhost` URL, or when the
    /// port cannot be bound.
    pub fn start(upstream: &str) -> anyhow::Result<AwsProxy> {
        AwsProxy::start_on(upstream, SocketAddr::from(([127, 0, 0, 1], 0)))
    }

    /// Like [`AwsProxy::start`], on a given loopback address.
    ///
    /// # Errors
    ///
    /// As [`AwsProxy::start`], and when `address` is not a loopback address.
    pub fn start_on(upstream: &str, address: SocketAddr) -> anyhow::Result<AwsProxy> {
        let upstream = upstream.trim_end_matches('/').to_owned();
        anyhow::ensure!(
            upstream.starts_with("http://127.0.0.1:") || upstream.starts_with("http://localhost:"),
            "the AWS proxy forwards only to an emulator on this machine (http://127.0.0.1:PORT), not to {upstream}"
        );
        anyhow::ensure!(address.ip().is_loopback(), "the AWS proxy listens only on a loopback address, not {address}");

        let listener = std::net::TcpListener::bind(address).with_context(|| format!("failed to bind {address}"))?;
        listener.set_nonblocking(true)?;
        let address = listener.local_addr()?;
        let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build()?;
        let client = Client::builder(TokioExecutor::new()).build_http();
        let state = Arc::new(ProxyState { upstream, client, shared: Mutex::new(Shared::default()) });
        let (shutdown, stop) = watch::channel(false);
        let (stopped_sender, stopped) = mpsc::channel();

        let thread_state = state.clone();
        let handle = std::thread::Builder::new().name("aws-proxy".to_owned()).spawn(move || {
            runtime.block_on(async move {
                match tokio::net::TcpListener::from_std(listener) {
                    Ok(listener) => serve(listener, thread_state, stop).await,
                    Err(error) => tracing::error!(%error, "the AWS proxy could not adopt its socket"),
                }
            });
            // A send error only means that `Drop` stopped waiting.
            let _ = stopped_sender.send(());
        })?;
        Ok(AwsProxy { state, address, shutdown, thread: Some((handle, stopped)) })
    }

    /// Returns the URL to put in `AWS_ENDPOINT_URL`, `http://127.0.0.1:PORT`.
    pub fn endpoint(&self) -> String {
        format!("http://{}", self.address)
    }

    /// Sets the latency added before every call is forwarded or answered.
    pub fn set_latency(&self, per_call: Duration) {
        self.state.lock().latency = per_call;
    }

    /// Adds a fault rule. Rules are checked in the order they were added; the first one that
    /// matches a call and applies to it wins.
    pub fn inject(&self, fault: AwsFault) {
        self.state.lock().faults.push(fault);
    }

    /// Removes every fault rule.
    pub fn clear_faults(&self) {
        self.state.lock().faults.clear();
    }

    /// Returns every call so far, in arrival order.
    pub fn calls(&self) -> Vec<AwsCall> {
        let mut calls = self.state.lock().calls.clone();
        calls.sort_by_key(|call| call.started);
        calls
    }

    /// Forgets the calls recorded so far.
    pub fn reset_calls(&self) {
        self.state.lock().calls.clear();
    }
}

impl Drop for AwsProxy {
    fn drop(&mut self) {
        let _ = self.shutdown.send(true);
        if let Some((handle, stopped)) = self.thread.take() {
            // Requests in flight may hold the thread briefly; do not hang a test on them.
            if stopped.recv_timeout(Duration::from_secs(5)).is_ok() {
                let _ = handle.join();
            }
        }
    }
}

async fn serve(listener: tokio::net::TcpListener, state: Arc<ProxyState>, mut stop: watch::Receiver<bool>) {
    loop {
        let stream = tokio::select! {
            accepted = listener.accept() => match accepted {
                Ok((stream, _)) => stream,
                Err(error) => {
                    tracing::warn!(%error, "the AWS proxy failed to accept a connection");
                    continue;
                }
            },
            _ = stop.changed() => return,
        };
        let state = state.clone();
        tokio::spawn(async move {
            let service = hyper::service::service_fn(move |request| handle(state.clone(), request));
            // An error here is a client that went away or a reset this proxy injected.
            let _ = hyper::server::conn::http1::Builder::new().serve_connection(TokioIo::new(stream), service).await;
        });
    }
}

/// The error a service returns to make hyper close the connection without an answer.
#[derive(Debug, thiserror::Error)]
#[error("connection reset by a fault rule")]
struct InjectedReset;

async fn handle(state: Arc<ProxyState>, request: Request<Incoming>) -> Result<Response<Full<Bytes>>, InjectedReset> {
    let started = Instant::now();
    let (parts, body) = request.into_parts();
    let body = body.collect().await.map(|collected| collected.to_bytes()).unwrap_or_default();
    let facts = call_facts(&parts, &body);

    let (latency, effect) = {
        let mut shared = state.lock();
        let effect = shared
            .faults
            .iter_mut()
            .find_map(|fault| (fault.matches(&facts) && fault.take()).then(|| fault.effect.clone()));
        (shared.latency, effect)
    };
    tokio::time::sleep(latency).await;

    let injected = effect.is_some();
    let response = match effect {
        Some(Effect::Error { status, code, message }) => {
            Ok(error_response(&facts.service, status, &code, message.as_deref()))
        }
        Some(Effect::Reset) => Err(InjectedReset),
        Some(Effect::Delay(delay)) => {
            tokio::time::sleep(delay).await;
            Ok(forward(&state, parts, body).await)
        }
        None => Ok(forward(&state, parts, body).await),
    };

    let status = response.as_ref().map_or(0, |response| response.status().as_u16());
    state.lock().calls.push(AwsCall {
        service: facts.service,
        action: facts.action,
        status,
        injected,
        started,
        finished: Instant::now(),
    });
    response
}

async fn forward(state: &ProxyState, parts: hyper::http::request::Parts, body: Bytes) -> Response<Full<Bytes>> {
    let path = parts.uri.path_and_query().map_or("/", |path| path.as_str());
    let uri = match format!("{}{path}", state.upstream).parse::<hyper::Uri>() {
        Ok(uri) => uri,
        Err(error) => return plain_response(StatusCode::BAD_GATEWAY, format!("bad upstream URL: {error}")),
    };
    let mut request = Request::builder().method(parts.method).uri(uri);
    for (name, value) in &parts.headers {
        if name != header::HOST {
            request = request.header(name, value);
        }
    }
    let request = match request.body(Full::new(body)) {
        Ok(request) => request,
        Err(error) => return plain_response(StatusCode::BAD_GATEWAY, format!("bad forwarded request: {error}")),
    };
    let answer = match state.client.request(request).await {
        Ok(answer) => answer,
        Err(error) => return plain_response(StatusCode::BAD_GATEWAY, format!("the emulator did not answer: {error}")),
    };
    let (mut parts, body) = answer.into_parts();
    let body = match body.collect().await {
        Ok(collected) => collected.to_bytes(),
        Err(error) => {
            return plain_response(StatusCode::BAD_GATEWAY, format!("the emulator's answer broke off: {error}"));
        }
    };
    // The whole body is sent with a length, so a chunked encoding from upstream no longer applies.
    parts.headers.remove(header::TRANSFER_ENCODING);
    parts.headers.insert(header::CONTENT_LENGTH, HeaderValue::from(body.len()));
    Response::from_parts(parts, Full::new(body))
}

fn plain_response(status: StatusCode, message: String) -> Response<Full<Bytes>> {
    let mut response = Response::new(Full::new(Bytes::from(message)));
    *response.status_mut() = status;
    response
}

/// Builds an error response in the shape the service's SDK parses: EC2's `<Response><Errors>` or the
/// `<ErrorResponse>` of the other query and REST-XML services.
fn error_response(service: &str, status: u16, code: &str, message: Option<&str>) -> Response<Full<Bytes>> {
    let message = message.unwrap_or("injected by tether-testkit's AWS proxy");
    let message = message.replace('&', "&amp;").replace('<', "&lt;").replace('>', "&gt;");
    let request_id = "00000000-0000-0000-0000-000000000000";
    let body = if service == "ec2" {
        format!(
            "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<Response><Errors><Error><Code>{code}</Code>\
             <Message>{message}</Message></Error></Errors><RequestID>{request_id}</RequestID></Response>"
        )
    } else {
        let fault_type = if status >= 500 { "Receiver" } else { "Sender" };
        format!(
            "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<ErrorResponse><Error><Type>{fault_type}</Type>\
             <Code>{code}</Code><Message>{message}</Message></Error><RequestId>{request_id}</RequestId></ErrorResponse>"
        )
    };
    let mut response = Response::new(Full::new(Bytes::from(body)));
    *response.status_mut() = StatusCode::from_u16(status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
    response.headers_mut().insert(header::CONTENT_TYPE, HeaderValue::from_static("text/xml"));
    response.headers_mut().insert("x-amzn-requestid", HeaderValue::from_static(request_id));
    response
}

fn call_facts(parts: &hyper::http::request::Parts, body: &[u8]) -> CallFacts {
    let service = parts
        .headers
        .get(header::AUTHORIZATION)
        .and_then(|value| value.to_str().ok())
        .and_then(signing_service)
        .unwrap_or("unknown")
        .to_owned();
    let form = percent_decode(&String::from_utf8_lossy(body));
    let query = parts.uri.query().map(percent_decode).unwrap_or_default();
    let action = form_value(&form, "Action")
        .or_else(|| form_value(&query, "Action"))
        .map_or_else(|| format!("{} {}", parts.method, parts.uri.path()), str::to_owned);
    let searchable = format!("{} {} {form}", percent_decode(&parts.uri.to_string()), query);
    CallFacts { service, action, searchable }
}

/// Returns the service of a SigV4 `Authorization` header: `Credential=KEY/DATE/REGION/SERVICE/aws4_request`.
fn signing_service(authorization: &str) -> Option<&str> {
    let scope = authorization.split("Credential=").nth(1)?;
    let scope = scope.split([',', ' ']).next()?;
    scope.split('/').nth(3)
}

/// Returns the value of `name` in a decoded `a=b&c=d` string.
fn form_value<'a>(form: &'a str, name: &str) -> Option<&'a str> {
    form.split('&').find_map(|pair| pair.split_once('=').filter(|(key, _)| *key == name).map(|(_, value)| value))
}

/// Decodes `%XX` escapes and `+`; leaves malformed escapes as they are.
fn percent_decode(text: &str) -> String {
    let bytes = text.as_bytes();
    let mut decoded = Vec::with_capacity(bytes.len());
    let mut index = 0;
    while index < bytes.len() {
        match bytes[index] {
            b'+' => decoded.push(b' '),
            b'%' if index + 2 < bytes.len() => match (hex_digit(bytes[index + 1]), hex_digit(bytes[index + 2])) {
                (Some(high), Some(low)) => {
                    decoded.push(high << 4 | low);
                    index += 2;
                }
                _ => decoded.push(b'%'),
            },
            byte => decoded.push(byte),
        }
        index += 1;
    }
    String::from_utf8_lossy(&decoded).into_owned()
}

fn hex_digit(byte: u8) -> Option<u8> {
    (byte as char).to_digit(16).and_then(|digit| u8::try_from(digit).ok())
}

// The server side of this file is tested by tests/aws_proxy.rs against a real moto.
#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn signing_service_reads_the_credential_scope() {
        let header = "AWS4-HMAC-SHA256 Credential=testing/20261204/ap-southeast-2/ec2/aws4_request, \
                      SignedHeaders=host;x-amz-date, Signature=abc";
        assert_eq!(signing_service(header), Some("ec2"));
        assert_eq!(signing_service("Bearer token"), None);
    }

    #[test]
    fn percent_decode_handles_escapes_plus_and_malformed_input() {
        assert_eq!(percent_decode("10.1.0.0%2F16+x"), "10.1.0.0/16 x");
        assert_eq!(percent_decode("100%"), "100%");
        assert_eq!(percent_decode("%zz"), "%zz");
    }

    #[test]
    fn form_value_finds_the_action() {
        assert_eq!(form_value("Action=CreateRoute&Version=2016-11-15", "Action"), Some("CreateRoute"));
        assert_eq!(form_value("Version=1", "Action"), None);
    }

    fn facts(action: &str, body: &str) -> CallFacts {
        CallFacts { service: "ec2".to_owned(), action: action.to_owned(), searchable: body.to_owned() }
    }

    #[test]
    fn times_limits_matching_calls() {
        let mut fault = AwsFault::error(400, "Throttling").action("CreateRoute").times(2);
        let call = facts("CreateRoute", "");
        assert!(fault.matches(&call));
        assert!(!fault.matches(&facts("CreateVpc", "")));
        assert_eq!([fault.take(), fault.take(), fault.take()], [true, true, false]);
    }

    #[test]
    fn ratio_repeatable_and_near_fraction() {
        let draws = |seed| {
            let mut fault = AwsFault::reset().ratio(0.1, seed);
            (0..10_000).map(|_| fault.take()).collect::<Vec<_>>()
        };
        assert_eq!(draws(7), draws(7));
        let hits = draws(7).into_iter().filter(|hit| *hit).count();
        assert!((800..1200).contains(&hits), "{hits} of 10000 calls chosen for a 10% ratio");
    }

    #[test]
    fn body_contains_matches_the_decoded_body() {
        let fault = AwsFault::error(400, "X").body_contains("10.1.0.0/16");
        assert!(fault.matches(&facts("CreateRoute", "Action=CreateRoute&DestinationCidrBlock=10.1.0.0/16")));
        assert!(!fault.matches(&facts("CreateRoute", "Action=CreateRoute")));
    }

    #[test]
    fn start_refuses_a_remote_upstream() {
        let error = AwsProxy::start("http://192.0.2.1:80").unwrap_err();
        assert!(error.to_string().contains("only to an emulator on this machine"), "{error}");
    }
}
