//! Apply progress on stderr: one line per start, finish, failure and skip.

use std::time::Instant;

use tether_engine::{ApplyEvent, ApplyObserver};
use tether_model::Action;

/// Prints each apply event as a line with the time since the apply started.
pub struct ProgressLines {
    started: Instant,
}

impl ProgressLines {
    /// Starts the clock.
    pub fn new() -> ProgressLines {
        ProgressLines { started: Instant::now() }
    }
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

impl ApplyObserver for ProgressLines {
    fn on_event(&self, event: &ApplyEvent<'_>) {
        let at = self.started.elapsed().as_secs_f64();
        match event {
            ApplyEvent::Started { address, action } => eprintln!("[{at:6.1}s] {address}: {}...", doing(*action)),
            ApplyEvent::Finished { address, action, elapsed } => {
                eprintln!("[{at:6.1}s] {address}: {} in {:.1}s", done(*action), elapsed.as_secs_f64());
            }
            ApplyEvent::Failed { failure } => {
                eprintln!(
                    "[{at:6.1}s] {}: {} failed: {}",
                    failure.address,
                    doing(failure.action),
                    error_chain(&failure.cause)
                );
            }
            ApplyEvent::Skipped { address, because, .. } => {
                eprintln!("[{at:6.1}s] {address}: skipped because {because} failed");
            }
        }
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
    text
}
