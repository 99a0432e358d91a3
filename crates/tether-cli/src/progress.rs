//! Apply progress: a live display on a terminal, timestamped lines elsewhere, and a stream of
//! JSON events on stdout with `--json`.

use std::collections::BTreeMap;
use std::io::{IsTerminal as _, Write as _};
use std::sync::{Mutex, PoisonError};
use std::time::{Duration, Instant};

use indicatif::{MultiProgress, ProgressBar, ProgressDrawTarget, ProgressStyle};
use serde_json::{Value as Json, json};
use tether_engine::{ApplyEvent, ApplyObserver, ApplyReport, Stop};
use tether_model::{Action, Plan};

/// How often the live display redraws its elapsed times.
const TICK: Duration = Duration::from_millis(200);

/// The progress output of one apply, chosen by `--json` and by whether stderr is a terminal.
pub enum Progress {
    /// An indicatif display on stderr.
    Live(LiveProgress),
    /// One timestamped line per event on stderr.
    Lines(ProgressLines),
    /// One JSON event per line on stdout.
    Json(JsonEvents),
}

impl Progress {
    /// Starts the clock and picks the output. The live display needs a terminal on stderr and no
    /// debug logging, because log lines written between two redraws would tear the display.
    pub fn start(plan: &Plan, json: bool) -> Progress {
        if json {
            return Progress::Json(JsonEvents::new());
        }
        let terminal = std::io::stderr().is_terminal() && std::env::var_os("TERM").is_none_or(|term| term != "dumb");
        let quiet_logs = tracing::level_filters::LevelFilter::current() <= tracing::Level::WARN;
        if terminal && quiet_logs {
            Progress::Live(LiveProgress::new(step_count(plan), ProgressDrawTarget::stderr()))
        } else {
            Progress::Lines(ProgressLines::new())
        }
    }

    /// Returns the observer that the engine reports to.
    pub fn observer(&self) -> &dyn ApplyObserver {
        match self {
            Progress::Live(live) => live,
            Progress::Lines(lines) => lines,
            Progress::Json(events) => events,
        }
    }

    /// Ends the output: the live display clears its bars, and the JSON stream gets its summary
    /// event. `None` means the apply stopped on an error before it finished, which has no summary.
    pub fn finish(&self, report: Option<&ApplyReport>) {
        match self {
            Progress::Live(live) => live.finish(),
            Progress::Lines(_) => {}
            Progress::Json(events) => {
                if let Some(report) = report {
                    events.summary(report);
                }
            }
        }
    }
}

/// Writes the plan that apply is about to carry out as the first JSON event, followed by the
/// summary event when there is nothing to apply.
pub fn print_plan_event(plan: &Plan) {
    let events = JsonEvents::new();
    let mut document = tether_render::plan_json(plan);
    crate::estimates::add_to_plan_json(&mut document, plan);
    events.emit("plan", json!({ "plan": document }));
    if !plan.has_changes() {
        events.summary(&ApplyReport::default());
    }
}

/// Counts the steps the engine walks: one per create, update or delete, two per replacement.
fn step_count(plan: &Plan) -> u64 {
    let steps = |action: Action| match action {
        Action::NoOp => 0,
        Action::Create | Action::Update | Action::Delete => 1,
        Action::Replace => 2,
    };
    plan.changes.iter().map(|change| steps(change.action)).sum()
}

fn doing(action: Action) -> &'static str {
    match action {
        Action::NoOp => "checking",
        Action::Create => "creating",
        Action::Update => "updating",
        Action::Replace => "replacing",
        Action::Delete => "destroying",
    }
}

fn done(action: Action) -> &'static str {
    match action {
        Action::NoOp => "unchanged",
        Action::Create => "created",
        Action::Update => "updated",
        Action::Replace => "replaced",
        Action::Delete => "destroyed",
    }
}

/// Formats an error and its causes on one line.
pub fn error_chain(error: &dyn std::error::Error) -> String {
    let mut text = error.to_string();
    let mut source = error.source();
    while let Some(cause) = source {
        text.push_str(": ");
        text.push_str(&cause.to_string());
        source = cause.source();
    }
    // Provider messages can echo presigned URLs and tokens.
    tether_model::redact_credentials(&text).into_owned()
}

/// Locks a mutex and goes on with the data of a thread that panicked while holding it, because
/// progress output is best effort and must not turn one panic into two.
fn lock<T>(mutex: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    mutex.lock().unwrap_or_else(PoisonError::into_inner)
}

/// Prints each apply event as a line on stderr with the time since the apply started.
pub struct ProgressLines {
    started: Instant,
}

impl ProgressLines {
    /// Starts the clock.
    pub fn new() -> ProgressLines {
        ProgressLines { started: Instant::now() }
    }
}

impl ApplyObserver for ProgressLines {
    fn on_event(&self, event: &ApplyEvent<'_>) {
        let at = self.started.elapsed().as_secs_f64();
        eprintln!("[{at:6.1}s] {}", describe(event));
    }
}

/// Describes an event in one line without a timestamp, as the plain lines and the live display
/// print it.
fn describe(event: &ApplyEvent<'_>) -> String {
    match event {
        ApplyEvent::Started { address, action } => format!("{address}: {}...", doing(*action)),
        ApplyEvent::Finished { address, action, elapsed, id: _ } => {
            format!("{address}: {} in {:.1}s", done(*action), elapsed.as_secs_f64())
        }
        ApplyEvent::Failed { failure } => {
            format!("{}: {} failed: {}", failure.address, doing(failure.action), error_chain(&failure.cause))
        }
        ApplyEvent::Skipped { address, action: _, because } => format!("{address}: skipped because {because} failed"),
    }
}

/// The live display: an overall bar, below it one line per running change with its elapsed
/// time, and above them a permanent line per finished, failed or skipped change.
pub struct LiveProgress {
    multi: MultiProgress,
    overall: ProgressBar,
    /// The line of each running step, by address and the step's action (a replacement's two
    /// steps never run at once, but they have different actions).
    running: Mutex<BTreeMap<(String, Action), ProgressBar>>,
    counts: Mutex<OutcomeCounts>,
}

#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
struct OutcomeCounts {
    failed: usize,
    skipped: usize,
}

impl LiveProgress {
    /// Creates the display for `total` steps, drawn to `target`.
    pub fn new(total: u64, target: ProgressDrawTarget) -> LiveProgress {
        let multi = MultiProgress::with_draw_target(target);
        let overall = multi.add(ProgressBar::new(total));
        overall.set_style(
            ProgressStyle::with_template("[{elapsed:>4}] [{bar:30}] {pos}/{len} changes {msg}")
                // unwrap: the template is a constant that parses.
                .unwrap()
                .progress_chars("=> "),
        );
        overall.enable_steady_tick(TICK);
        LiveProgress {
            multi,
            overall,
            running: Mutex::new(BTreeMap::new()),
            counts: Mutex::new(OutcomeCounts::default()),
        }
    }

    fn started(&self, address: String, action: Action) {
        let line = self.multi.add(ProgressBar::new_spinner());
        line.set_style(
            ProgressStyle::with_template("  {spinner} {msg} {elapsed}")
                // unwrap: the template is a constant that parses.
                .unwrap(),
        );
        line.set_message(format!("{address}: {}", doing(action)));
        line.enable_steady_tick(TICK);
        lock(&self.running).insert((address, action), line);
    }

    /// Ends a step's line and prints `text` above the display in its place.
    fn ended(&self, address: String, action: Option<Action>, text: String) {
        if let Some(action) = action
            && let Some(line) = lock(&self.running).remove(&(address, action))
        {
            line.finish_and_clear();
            self.multi.remove(&line);
        }
        // A failed write to the terminal loses only this line, and the summary still follows.
        let _ = self.multi.println(text);
        self.overall.inc(1);

        let counts = *lock(&self.counts);
        let mut message = Vec::new();
        if counts.failed > 0 {
            message.push(format!("{} failed", counts.failed));
        }
        if counts.skipped > 0 {
            message.push(format!("{} skipped", counts.skipped));
        }
        self.overall.set_message(message.join(", "));
    }

    /// Clears the bars, leaving the permanent lines.
    pub fn finish(&self) {
        for (_, line) in std::mem::take(&mut *lock(&self.running)) {
            line.finish_and_clear();
            self.multi.remove(&line);
        }
        self.overall.finish_and_clear();
    }
}

impl ApplyObserver for LiveProgress {
    fn on_event(&self, event: &ApplyEvent<'_>) {
        match event {
            ApplyEvent::Started { address, action } => self.started(address.to_string(), *action),
            ApplyEvent::Finished { address, action, .. } => {
                self.ended(address.to_string(), Some(*action), describe(event));
            }
            ApplyEvent::Failed { failure } => {
                lock(&self.counts).failed += 1;
                self.ended(failure.address.to_string(), Some(failure.action), describe(event));
            }
            ApplyEvent::Skipped { address, .. } => {
                lock(&self.counts).skipped += 1;
                self.ended(address.to_string(), None, describe(event));
            }
        }
    }
}

/// Writes one JSON object per line to stdout for each event, described by
/// `schemas/apply-events.schema.json`.
pub struct JsonEvents {
    started: Instant,
}

/// Version of the event format; readers reject a major version they do not know. Version 1.1
/// added the summary's `interrupted`, `not_started` and `abandoned`.
const EVENTS_FORMAT_VERSION: &str = "1.1";

impl JsonEvents {
    /// Starts the clock that the summary's elapsed time counts from.
    pub fn new() -> JsonEvents {
        JsonEvents { started: Instant::now() }
    }

    /// Writes one event: `type`, `format_version` and `timestamp`, then `fields`.
    fn emit(&self, kind: &str, fields: Json) {
        // A fixed three-digit fraction keeps the timestamps sortable as strings.
        let timestamp = jiff::Timestamp::now().strftime("%Y-%m-%dT%H:%M:%S%.3fZ");
        let mut event =
            json!({ "type": kind, "format_version": EVENTS_FORMAT_VERSION, "timestamp": timestamp.to_string() });
        if let (Some(event), Json::Object(fields)) = (event.as_object_mut(), fields) {
            event.extend(fields);
        }
        // A closed stdout (e.g. `| head`) must not stop the apply, so a failed write is dropped.
        let mut stdout = std::io::stdout().lock();
        let _ = writeln!(stdout, "{event}");
        let _ = stdout.flush();
    }

    /// Writes the summary event that ends the stream.
    fn summary(&self, report: &ApplyReport) {
        self.emit("summary", summary_json(report, self.started.elapsed()));
    }
}

/// Returns the summary event's fields for `report`, after `elapsed` since the walk started.
fn summary_json(report: &ApplyReport, elapsed: Duration) -> Json {
    let applied = report.applied_summary();
    let outcome = if report.succeeded() { "succeeded" } else { "failed" };
    json!({
        "outcome": outcome,
        "added": applied.add,
        "changed": applied.change,
        "destroyed": applied.destroy,
        "failed": report.failed.len(),
        "skipped": report.skipped.len(),
        "interrupted": report.interrupted != Stop::No,
        "not_started": report.not_started.len(),
        "abandoned": report.abandoned.len(),
        "elapsed_ms": millis(elapsed),
    })
}

fn millis(duration: Duration) -> u64 {
    u64::try_from(duration.as_millis()).unwrap_or(u64::MAX)
}

/// Returns an event's type and fields in the JSON form, apart from the common fields.
fn event_json(event: &ApplyEvent<'_>) -> (&'static str, Json) {
    match event {
        ApplyEvent::Started { address, action } => {
            ("start", json!({ "address": address.to_string(), "action": action.to_string() }))
        }
        ApplyEvent::Finished { address, action, elapsed, id } => (
            "finish",
            json!({
                "address": address.to_string(),
                "action": action.to_string(),
                "id": id,
                "elapsed_ms": millis(*elapsed),
            }),
        ),
        ApplyEvent::Failed { failure } => (
            "fail",
            json!({
                "address": failure.address.to_string(),
                "action": failure.action.to_string(),
                "error": error_chain(&failure.cause),
            }),
        ),
        ApplyEvent::Skipped { address, action, because } => (
            "skip",
            json!({ "address": address.to_string(), "action": action.to_string(), "because": because.to_string() }),
        ),
    }
}

impl ApplyObserver for JsonEvents {
    fn on_event(&self, event: &ApplyEvent<'_>) {
        let (kind, fields) = event_json(event);
        self.emit(kind, fields);
    }
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use tether_engine::{ApplyFailure, ChangeError};
    use tether_model::Address;

    use super::*;

    fn address(text: &str) -> Address {
        text.parse().unwrap()
    }

    #[test]
    fn live_display_tracks_running_changes() {
        let live = LiveProgress::new(3, ProgressDrawTarget::hidden());
        let vpc = address("aws.vpc.main");
        let subnet = address("aws.subnet.private-a");
        let route = address("aws.route_table.private-a");

        live.on_event(&ApplyEvent::Started { address: &vpc, action: Action::Create });
        live.on_event(&ApplyEvent::Started { address: &subnet, action: Action::Create });
        assert_eq!(lock(&live.running).len(), 2);

        let elapsed = Duration::from_millis(1200);
        live.on_event(&ApplyEvent::Finished { address: &vpc, action: Action::Create, elapsed, id: Some("vpc-1") });
        assert_eq!(lock(&live.running).len(), 1);
        assert_eq!(live.overall.position(), 1);

        let cause = ChangeError::Unresolved("aws.vpc.main.id".to_owned());
        let failure = ApplyFailure { address: subnet.clone(), action: Action::Create, cause };
        live.on_event(&ApplyEvent::Failed { failure: &failure });
        live.on_event(&ApplyEvent::Skipped { address: &route, action: Action::Create, because: &subnet });
        assert!(lock(&live.running).is_empty());
        assert_eq!(live.overall.position(), 3);
        assert_eq!(live.overall.message(), "1 failed, 1 skipped");

        live.finish();
        assert!(live.overall.is_finished());
    }

    #[test]
    fn replacement_steps_have_separate_lines() {
        let live = LiveProgress::new(2, ProgressDrawTarget::hidden());
        let router = address("aws.instance.router");
        live.on_event(&ApplyEvent::Started { address: &router, action: Action::Create });
        live.on_event(&ApplyEvent::Started { address: &router, action: Action::Delete });
        assert_eq!(lock(&live.running).len(), 2);
        let elapsed = Duration::ZERO;
        live.on_event(&ApplyEvent::Finished { address: &router, action: Action::Delete, elapsed, id: None });
        let remaining: Vec<_> = lock(&live.running).keys().cloned().collect();
        assert_eq!(remaining, vec![("aws.instance.router".to_owned(), Action::Create)]);
    }

    #[test]
    fn summary_counts_interrupted_changes() {
        let report = ApplyReport {
            applied: vec![(address("aws.vpc.main"), Action::Create)],
            interrupted: Stop::Abandon,
            not_started: vec![
                (address("aws.subnet.private-a"), Action::Create),
                (address("aws.route_table.private-a"), Action::Create),
            ],
            abandoned: vec![(address("aws.internet_gateway.main"), Action::Create)],
            ..ApplyReport::default()
        };

        let fields = summary_json(&report, Duration::from_millis(2500));

        assert_eq!(fields["outcome"], "failed");
        assert_eq!(fields["added"], 1);
        assert_eq!(fields["interrupted"], true);
        assert_eq!(fields["not_started"], 2);
        assert_eq!(fields["abandoned"], 1);
        assert_eq!(fields["elapsed_ms"], 2500);
    }

    #[test]
    fn summary_of_finished_apply() {
        let fields = summary_json(&ApplyReport::default(), Duration::ZERO);
        assert_eq!(fields["outcome"], "succeeded");
        assert_eq!(fields["interrupted"], false);
        assert_eq!(fields["not_started"], 0);
        assert_eq!(fields["abandoned"], 0);
    }

    #[test]
    fn events_carry_their_fields() {
        let vpc = address("aws.vpc.main");
        let subnet = address("aws.subnet.private-a");
        let elapsed = Duration::from_millis(1500);

        let (kind, fields) =
            event_json(&ApplyEvent::Finished { address: &vpc, action: Action::Create, elapsed, id: Some("vpc-1") });
        assert_eq!(kind, "finish");
        assert_eq!(fields, json!({"address": "aws.vpc.main", "action": "create", "id": "vpc-1", "elapsed_ms": 1500}));

        let (kind, fields) =
            event_json(&ApplyEvent::Skipped { address: &subnet, action: Action::Delete, because: &vpc });
        assert_eq!(kind, "skip");
        assert_eq!(fields, json!({"address": "aws.subnet.private-a", "action": "delete", "because": "aws.vpc.main"}));

        let cause = ChangeError::TimedOut(Duration::from_secs(5));
        let failure = ApplyFailure { address: vpc.clone(), action: Action::Update, cause };
        let (kind, fields) = event_json(&ApplyEvent::Failed { failure: &failure });
        assert_eq!(kind, "fail");
        assert_eq!(fields["error"], "no answer within 5s");
    }
}
