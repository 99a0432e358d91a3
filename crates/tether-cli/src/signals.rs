//! Ctrl-C (SIGINT) and SIGTERM during an apply: the first signal lets the changes in flight
//! finish, the second stops at once.
//!
//! NOTE: tether runs on Unix only, so this listens through `tokio::signal::unix`.

use std::sync::{Arc, OnceLock};

use tether_engine::{Interrupt, Stop};
use tokio::signal::unix::{SignalKind, signal};
use tokio::task::JoinHandle;

/// A signal that interrupts an apply.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Received {
    /// SIGINT, sent by Ctrl-C.
    Interrupt,
    /// SIGTERM, sent by `kill`, systemd or a CI runner that cancels a job.
    Terminate,
}

impl Received {
    /// Returns the signal's usual name.
    pub fn name(self) -> &'static str {
        match self {
            Received::Interrupt => "SIGINT",
            Received::Terminate => "SIGTERM",
        }
    }

    /// Returns the shell convention for a process ended by this signal: 128 plus its number.
    pub fn exit_code(self) -> u8 {
        match self {
            Received::Interrupt => 130,
            Received::Terminate => 143,
        }
    }
}

/// Listens for SIGINT and SIGTERM while it lives, raising `interrupt` on each.
///
/// While it lives the default action of both signals, ending the process, is off. After it is
/// dropped, the signals stay caught by tokio's handler with no listener, so the caller must not
/// run anything long afterwards without listening again.
pub struct SignalWatch {
    first: Arc<OnceLock<Received>>,
    task: JoinHandle<()>,
}

impl SignalWatch {
    /// Starts listening.
    ///
    /// # Errors
    /// Fails when a signal handler cannot be installed.
    pub fn install(interrupt: Interrupt) -> std::io::Result<SignalWatch> {
        let mut interrupts = signal(SignalKind::interrupt())?;
        let mut terminates = signal(SignalKind::terminate())?;
        let first = Arc::new(OnceLock::new());
        let first_seen = first.clone();
        let task = tokio::spawn(async move {
            loop {
                let received = tokio::select! {
                    Some(()) = interrupts.recv() => Received::Interrupt,
                    Some(()) = terminates.recv() => Received::Terminate,
                    else => return,
                };
                if first_seen.set(received).is_ok() {
                    eprintln!(
                        "\n{} received: no new change starts; waiting for the changes in flight to finish or time out. Press Ctrl-C again to stop at once.",
                        received.name()
                    );
                    interrupt.request(Stop::Drain);
                } else {
                    eprintln!("\n{} received again: stopping without waiting for the changes in flight.", received.name());
                    interrupt.request(Stop::Abandon);
                }
            }
        });
        Ok(SignalWatch { first, task })
    }

    /// Returns the first signal received, if any.
    pub fn received(&self) -> Option<Received> {
        self.first.get().copied()
    }
}

impl Drop for SignalWatch {
    fn drop(&mut self) {
        self.task.abort();
    }
}
