//! Watch: newline-delimited JSON events, replayed from a `resourceVersion`, then live.
//!
//! Without a `resourceVersion` (or with `0`) a watch first reports every matching object as
//! `ADDED`. With a selector, an object that starts or stops matching is reported as `ADDED` or
//! `DELETED`, as the real watch cache does. Bookmarks are not sent.

use std::collections::VecDeque;
use std::convert::Infallible;
use std::sync::Arc;
use std::time::Duration;

use axum::body::{Body, Bytes};
use axum::http::{HeaderValue, header};
use axum::response::Response;
use serde_json::{Value, json};
use tokio::sync::{broadcast, watch};
use tokio::time::Instant;

use super::error::{ApiError, Reason};
use super::params::Params;
use super::resources::ResourceType;
use super::router::ServerState;
use super::selector::{FieldSelector, LabelSelector};
use super::store::{EventType, WatchEvent};

/// How long a watch without `timeoutSeconds` stays open: the real server's default minimum
/// request timeout (30 minutes).
const DEFAULT_TIMEOUT: Duration = Duration::from_secs(1800);

/// The selection of events that one watch delivers.
struct EventFilter {
    resource: String,
    namespace: Option<String>,
    labels: LabelSelector,
    fields: FieldSelector,
}

impl EventFilter {
    fn matches(&self, object: &Value) -> bool {
        let namespace = object.pointer("/metadata/namespace").and_then(Value::as_str).unwrap_or_default();
        self.namespace.as_deref().is_none_or(|wanted| wanted == namespace)
            && self.labels.matches(object)
            && self.fields.matches(object)
    }

    /// Returns the event type to send for an event, or `None` when the watch should not see it.
    fn translate(&self, event: &WatchEvent) -> Option<EventType> {
        if event.resource != self.resource {
            return None;
        }
        let now = self.matches(&event.object);
        let before = event.previous.as_ref().is_some_and(|previous| self.matches(previous));
        match (event.event_type, before, now) {
            (EventType::Modified, false, true) => Some(EventType::Added),
            (EventType::Modified, true, false) => Some(EventType::Deleted),
            (EventType::Modified, true, true) => Some(EventType::Modified),
            (other, _, true) if other != EventType::Modified => Some(other),
            _ => None,
        }
    }
}

/// Opens a watch on a collection (a GET with `watch=true`).
///
/// # Errors
///
/// 400 for a `resourceVersion` that is not a number. A version older than the kept history is
/// reported inside the stream as an `ERROR` event with 410 Expired, as the real server does.
pub(crate) fn serve(
    state: &ServerState,
    resource: &ResourceType,
    namespace: Option<&str>,
    params: Params,
) -> Result<Response, ApiError> {
    let since = parse_since(params.resource_version.as_deref())?;
    let timeout = params.timeout_seconds.map_or(DEFAULT_TIMEOUT, Duration::from_secs);
    let filter = EventFilter {
        resource: resource.qualified_plural(),
        namespace: namespace.map(str::to_string),
        labels: params.label_selector,
        fields: params.field_selector,
    };

    let (pending, receiver) = open(state, &filter, since);
    let stream =
        WatchStream { pending, receiver, filter, deadline: Instant::now() + timeout, shutdown: state.shutdown.clone() };
    let body = Body::from_stream(futures::stream::unfold(stream, WatchStream::next));
    let mut response = Response::new(body);
    response.headers_mut().insert(header::CONTENT_TYPE, HeaderValue::from_static("application/json"));
    Ok(response)
}

/// Reads the watch's `resourceVersion`: `None` (absent or `0`) starts from the current objects.
fn parse_since(resource_version: Option<&str>) -> Result<Option<u64>, ApiError> {
    match resource_version {
        None | Some("0") => Ok(None),
        Some(text) => text
            .parse::<u64>()
            .map(Some)
            .map_err(|_| ApiError::bad_request(format!("resourceVersion: invalid value {text:?}: expected a number"))),
    }
}

/// Collects the first lines of a watch (current objects or replayed events, or an `ERROR`
/// for expired history) and subscribes to live events, both under one store lock.
fn open(
    state: &ServerState,
    filter: &EventFilter,
    since: Option<u64>,
) -> (VecDeque<Bytes>, Option<broadcast::Receiver<Arc<WatchEvent>>>) {
    let store = state.store();
    let mut pending = VecDeque::new();
    let start = match since {
        Some(version) => version,
        None => {
            let current = store
                .list(&filter.resource, filter.namespace.as_deref())
                .filter(|stored| filter.matches(&stored.object));
            pending.extend(current.map(|stored| event_line(EventType::Added.as_str(), &stored.object)));
            store.resource_version()
        }
    };

    match store.subscribe(start) {
        Ok(subscription) => {
            let replay = subscription.replay.iter();
            pending
                .extend(replay.filter_map(|event| Some(event_line(filter.translate(event)?.as_str(), &event.object))));
            (pending, Some(subscription.live))
        }
        Err(expired) => {
            let status = ApiError::new(Reason::Expired, 410, expired.to_string()).to_status();
            pending.push_back(event_line("ERROR", &status));
            (pending, None)
        }
    }
}

fn event_line(event_type: &str, object: &Value) -> Bytes {
    let mut line = json!({"type": event_type, "object": object}).to_string();
    line.push('\n');
    Bytes::from(line)
}

/// The state of one open watch.
struct WatchStream {
    pending: VecDeque<Bytes>,
    /// `None` once only `pending` remains to be sent.
    receiver: Option<broadcast::Receiver<Arc<WatchEvent>>>,
    filter: EventFilter,
    deadline: Instant,
    shutdown: watch::Receiver<bool>,
}

impl WatchStream {
    /// Yields the next line. The stream ends at the deadline, at server shutdown, or when the
    /// watch fell too far behind the live events, so the client watches again from its last version.
    async fn next(mut self) -> Option<(Result<Bytes, Infallible>, WatchStream)> {
        loop {
            if let Some(line) = self.pending.pop_front() {
                return Some((Ok(line), self));
            }
            let receiver = self.receiver.as_mut()?;
            if *self.shutdown.borrow() {
                return None;
            }
            let event = tokio::select! {
                _ = tokio::time::sleep_until(self.deadline) => return None,
                _ = self.shutdown.changed() => return None,
                received = receiver.recv() => received.ok()?,
            };
            if let Some(event_type) = self.filter.translate(&event) {
                self.pending.push_back(event_line(event_type.as_str(), &event.object));
            }
        }
    }
}
