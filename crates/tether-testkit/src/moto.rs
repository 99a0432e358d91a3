//! Launcher for the moto AWS emulator: one fresh `moto_server` process per test, on 127.0.0.1.
//!
//! Each [`MotoServer`] owns its child process, so tests that start their own are isolated by
//! construction and need no reset calls. Dropping it kills the process.

use std::collections::VecDeque;
use std::io::{BufRead, BufReader, Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, ChildStderr, Command, Stdio};
use std::sync::mpsc::{self, Receiver, RecvTimeoutError, Sender};
use std::sync::{Arc, Mutex};
use std::thread;
use std::time::{Duration, Instant};

use anyhow::{Context, bail};

/// Environment variable that overrides the path of the `moto_server` executable.
pub const MOTO_SERVER_ENV: &str = "TETHER_MOTO_SERVER";

/// Environment variables that [`MotoServer::apply_client_env`] removes from a child process,
/// because each could send requests past the emulator or select a real profile.
pub const CONFLICTING_AWS_ENV: &[&str] = &[
    "AWS_PROFILE",
    "AWS_DEFAULT_PROFILE",
    "AWS_SESSION_TOKEN",
    "AWS_IGNORE_CONFIGURED_ENDPOINT_URLS",
    "AWS_ENDPOINT_URL_EC2",
    "AWS_ENDPOINT_URL_IAM",
    "AWS_ENDPOINT_URL_STS",
    "AWS_ENDPOINT_URL_ROUTE_53",
];

/// Time allowed from spawning `moto_server` until `GET /moto-api/` returns 200.
/// Start-up took about 0.3 s on an idle 2-core machine (Python imports dominate), so this leaves
/// room for a loaded CI machine.
const START_TIMEOUT: Duration = Duration::from_secs(30);

/// Interval between readiness checks.
const POLL_INTERVAL: Duration = Duration::from_millis(50);

/// Number of stderr lines kept to explain a failed start.
const STDERR_TAIL_LINES: usize = 30;

/// Prefix of the line that werkzeug (moto's HTTP server) logs once it listens.
const LISTENING_PREFIX: &str = "Running on http://127.0.0.1:";

/// A running `moto_server` child process bound to 127.0.0.1.
///
/// Dropping it kills the process and waits for it to exit, which closes its port.
#[derive(Debug)]
pub struct MotoServer {
    child: Child,
    /// Port that moto bound; 0 until its start-up line has been read.
    port: u16,
    /// Holds the empty AWS config and credentials files named in [`MotoServer::client_env`].
    aws_files: tempfile::TempDir,
    stderr_tail: Arc<Mutex<VecDeque<String>>>,
}

impl MotoServer {
    /// Starts moto_server on a free 127.0.0.1 port and waits until `GET /moto-api/` returns 200.
    ///
    /// The executable is `$TETHER_MOTO_SERVER` if set, else
    /// `<workspace root>/target/emulators/venv/bin/moto_server`. moto binds port 0, so the kernel
    /// picks the port and two tests cannot race for the same one. This call blocks the thread for
    /// the start-up time (about 0.3 s), so async tests may prefer `spawn_blocking`.
    ///
    /// # Errors
    ///
    /// Returns an error that names the path and says to run `scripts/emulators install` when the
    /// executable is missing, and one with moto's last stderr lines when it exits early or does not
    /// respond to `GET /moto-api/` within 30 s.
    pub fn start() -> anyhow::Result<MotoServer> {
        let executable = moto_server_path()?;
        let aws_files = empty_aws_files()?;

        let mut server = spawn(&executable, aws_files)?;
        let deadline = Instant::now() + START_TIMEOUT;

        let port_receiver = server.read_stderr_in_background()?;
        server.port = server.wait_for_port(&port_receiver, deadline)?;

        server.wait_until_ready(deadline)?;
        Ok(server)
    }

    /// Returns the base URL, `http://127.0.0.1:PORT`.
    pub fn endpoint(&self) -> String {
        format!("http://127.0.0.1:{}", self.port)
    }

    /// Returns the port that moto listens on.
    pub fn port(&self) -> u16 {
        self.port
    }

    /// Returns the operating-system process id of the `moto_server` process.
    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    /// Environment variables a child `tether` process needs to reach this emulator and nothing else
    /// (the same set as the env file that `scripts/emulators up` writes, with this endpoint).
    ///
    /// The AWS config and credentials files point at empty files owned by this server, so no real
    /// profile is read. Also remove [`CONFLICTING_AWS_ENV`] from the child, or use
    /// [`MotoServer::apply_client_env`], which does both.
    pub fn client_env(&self) -> Vec<(String, String)> {
        let config_file = self.aws_files.path().join("config");
        let credentials_file = self.aws_files.path().join("credentials");

        [
            ("AWS_ENDPOINT_URL", self.endpoint()),
            ("AWS_ACCESS_KEY_ID", "testing".to_owned()),
            ("AWS_SECRET_ACCESS_KEY", "testing".to_owned()),
            ("AWS_REGION", "ap-southeast-2".to_owned()),
            // The AWS CLI and boto3 read AWS_DEFAULT_REGION instead of AWS_REGION.
            ("AWS_DEFAULT_REGION", "ap-southeast-2".to_owned()),
            ("AWS_EC2_METADATA_DISABLED", "true".to_owned()),
            ("AWS_CONFIG_FILE", config_file.display().to_string()),
            ("AWS_SHARED_CREDENTIALS_FILE", credentials_file.display().to_string()),
            ("AWS_MAX_ATTEMPTS", "3".to_owned()),
        ]
        .into_iter()
        .map(|(name, value)| (name.to_owned(), value))
        .collect()
    }

    /// Removes [`CONFLICTING_AWS_ENV`] from `command` and sets [`MotoServer::client_env`] on it.
    pub fn apply_client_env<'a>(&self, command: &'a mut Command) -> &'a mut Command {
        for name in CONFLICTING_AWS_ENV {
            command.env_remove(name);
        }
        command.envs(self.client_env())
    }

    /// Starts a thread that keeps draining moto's stderr (werkzeug logs every request there, and a
    /// full pipe would block the server), keeps its last lines, and sends the listening port once.
    fn read_stderr_in_background(&mut self) -> anyhow::Result<Receiver<u16>> {
        // unwrap: `spawn` always sets stderr to a pipe.
        let stderr = self.child.stderr.take().unwrap();
        let tail = Arc::clone(&self.stderr_tail);
        let (sender, receiver) = mpsc::channel();

        thread::Builder::new()
            .name(format!("moto-stderr-{}", self.child.id()))
            .spawn(move || drain_stderr(stderr, &tail, &sender))
            .context("failed to start the thread that reads moto_server's stderr")?;
        Ok(receiver)
    }

    /// Waits for werkzeug's "Running on http://127.0.0.1:PORT" line and returns the port.
    fn wait_for_port(&mut self, receiver: &Receiver<u16>, deadline: Instant) -> anyhow::Result<u16> {
        loop {
            match receiver.recv_timeout(POLL_INTERVAL) {
                Ok(port) => return Ok(port),
                Err(RecvTimeoutError::Timeout) => {}
                // The reader stopped at end of file without a port, so moto closed stderr, which
                // almost always means it exited. The kill keeps the wait bounded if it did not.
                Err(RecvTimeoutError::Disconnected) => {
                    let _ = self.child.kill();
                    let status = self.child.wait().context("failed to wait for moto_server")?;
                    bail!(self.start_failure(&format!("moto_server exited during start-up ({status})")));
                }
            }

            self.fail_if_exited()?;
            if Instant::now() >= deadline {
                bail!(self.start_failure(&format!(
                    "moto_server did not report its listening address within {} s",
                    START_TIMEOUT.as_secs()
                )));
            }
        }
    }

    /// Polls `GET /moto-api/` until it returns 200.
    fn wait_until_ready(&mut self, deadline: Instant) -> anyhow::Result<()> {
        let address = SocketAddr::from(([127, 0, 0, 1], self.port));

        loop {
            self.fail_if_exited()?;

            let last_result = match http_get_status(address, "/moto-api/") {
                Ok(200) => return Ok(()),
                Ok(status) => format!("HTTP status {status}"),
                Err(error) => error.to_string(),
            };

            if Instant::now() >= deadline {
                bail!(self.start_failure(&format!(
                    "moto_server at {} did not respond to GET /moto-api/ within {} s (last result: {last_result})",
                    self.endpoint(),
                    START_TIMEOUT.as_secs()
                )));
            }
            thread::sleep(POLL_INTERVAL);
        }
    }

    fn fail_if_exited(&mut self) -> anyhow::Result<()> {
        let status = self.child.try_wait().context("failed to check whether moto_server runs")?;
        match status {
            Some(status) => {
                bail!(self.start_failure(&format!("moto_server exited during start-up ({status})")))
            }
            None => Ok(()),
        }
    }

    /// Builds a start-up error message that ends with moto's last stderr lines.
    fn start_failure(&self, summary: &str) -> String {
        // The reader thread may still be appending the last lines after the process exited.
        thread::sleep(Duration::from_millis(100));

        let tail = lock_tail(&self.stderr_tail);
        let mut message = format!("{summary}; last lines of its stderr:");
        if tail.is_empty() {
            message.push_str("\n    (empty)");
        }
        for line in tail.iter() {
            message.push_str("\n    ");
            message.push_str(line);
        }
        message
    }
}

impl Drop for MotoServer {
    fn drop(&mut self) {
        // Drop cannot report an error, and after a failed kill or wait there is nothing left to try.
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Returns the `moto_server` executable path, checking that it exists.
fn moto_server_path() -> anyhow::Result<PathBuf> {
    let override_path = std::env::var_os(MOTO_SERVER_ENV).map(PathBuf::from);
    let default_path = workspace_root().join("target/emulators/venv/bin/moto_server");
    resolve_moto_server(override_path, default_path)
}

/// Picks the override path if given, else the default one, and checks that it is a file.
fn resolve_moto_server(override_path: Option<PathBuf>, default_path: PathBuf) -> anyhow::Result<PathBuf> {
    if let Some(path) = override_path {
        if !path.is_file() {
            bail!(
                "moto_server not found at {} (set by {MOTO_SERVER_ENV}); point {MOTO_SERVER_ENV} at an \
                 installed moto_server, or unset it and run `scripts/emulators install`",
                path.display()
            );
        }
        return Ok(path);
    }

    if !default_path.is_file() {
        bail!(
            "moto_server not found at {}; run `scripts/emulators install` from the repository root \
             to install moto into that venv, or set {MOTO_SERVER_ENV} to another moto_server",
            default_path.display()
        );
    }
    Ok(default_path)
}

/// Returns the workspace root: this crate sits at `crates/tether-testkit`.
fn workspace_root() -> PathBuf {
    let manifest_dir = Path::new(env!("CARGO_MANIFEST_DIR"));
    // unwrap: CARGO_MANIFEST_DIR is an absolute path at least two levels deep in this workspace.
    manifest_dir.parent().and_then(Path::parent).unwrap().to_path_buf()
}

/// Creates a temporary directory with empty AWS `config` and `credentials` files.
fn empty_aws_files() -> anyhow::Result<tempfile::TempDir> {
    let dir = tempfile::Builder::new()
        .prefix("tether-moto-aws-")
        .tempdir()
        .context("failed to create a temporary directory for the empty AWS config files")?;

    for name in ["config", "credentials"] {
        let path = dir.path().join(name);
        std::fs::write(&path, "").with_context(|| format!("failed to create {}", path.display()))?;
    }
    Ok(dir)
}

/// Spawns `moto_server -H 127.0.0.1 -p 0` with stderr piped.
fn spawn(executable: &Path, aws_files: tempfile::TempDir) -> anyhow::Result<MotoServer> {
    // NOTE: with `-p 0`, moto's MOTO_PORT setting reads 0. Only moto's Lambda, Batch and Step
    // Functions emulation read it to call back into the server, and tether uses none of them.
    let child = Command::new(executable)
        .args(["-H", "127.0.0.1", "-p", "0"])
        // MOTO_ACCOUNT_ID would override the per-request `x-moto-account-id` header.
        .env_remove("MOTO_ACCOUNT_ID")
        .env("MOTO_IAM_LOAD_MANAGED_POLICIES", "true")
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .with_context(|| format!("failed to run {}", executable.display()))?;

    Ok(MotoServer {
        child,
        port: 0,
        aws_files,
        stderr_tail: Arc::new(Mutex::new(VecDeque::with_capacity(STDERR_TAIL_LINES))),
    })
}

/// Reads stderr to end of file, keeping the last lines and sending the listening port once.
fn drain_stderr(stderr: ChildStderr, tail: &Mutex<VecDeque<String>>, port_sender: &Sender<u16>) {
    let mut port_sent = false;

    for line in BufReader::new(stderr).lines() {
        let Ok(line) = line else { break };
        let line = strip_ansi_escapes(&line);

        if !port_sent && let Some(port) = parse_listening_port(&line) {
            // A send error means the launcher stopped waiting, so the port is no longer needed.
            let _ = port_sender.send(port);
            port_sent = true;
        }

        let mut tail = lock_tail(tail);
        if tail.len() == STDERR_TAIL_LINES {
            tail.pop_front();
        }
        tail.push_back(line);
    }
}

/// Parses the port from werkzeug's " * Running on http://127.0.0.1:PORT" line.
fn parse_listening_port(line: &str) -> Option<u16> {
    let (_, rest) = line.split_once(LISTENING_PREFIX)?;
    let digits: String = rest.chars().take_while(char::is_ascii_digit).collect();
    digits.parse().ok().filter(|&port| port != 0)
}

/// Removes terminal colour sequences (`ESC [ ... letter`), which werkzeug writes even into pipes.
fn strip_ansi_escapes(line: &str) -> String {
    let mut output = String::with_capacity(line.len());
    let mut chars = line.chars();

    while let Some(character) = chars.next() {
        if character != '\u{1b}' {
            output.push(character);
            continue;
        }
        if chars.next() == Some('[') {
            for code in chars.by_ref() {
                if code.is_ascii_alphabetic() {
                    break;
                }
            }
        }
    }
    output
}

fn lock_tail(tail: &Mutex<VecDeque<String>>) -> std::sync::MutexGuard<'_, VecDeque<String>> {
    // A poisoned lock only means the reader thread panicked mid-push, so the lines are still usable.
    tail.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
}

/// Sends `GET path` over HTTP/1.0 and returns the response's status code.
fn http_get_status(address: SocketAddr, path: &str) -> std::io::Result<u16> {
    let timeout = Duration::from_secs(2);
    let mut stream = TcpStream::connect_timeout(&address, timeout)?;
    stream.set_read_timeout(Some(timeout))?;
    stream.set_write_timeout(Some(timeout))?;

    write!(stream, "GET {path} HTTP/1.0\r\nHost: {address}\r\nConnection: close\r\n\r\n")?;
    stream.flush()?;

    let mut status_line = String::new();
    BufReader::new(stream.take(1024)).read_line(&mut status_line)?;
    parse_status_code(&status_line).ok_or_else(|| {
        std::io::Error::new(
            std::io::ErrorKind::InvalidData,
            format!("invalid HTTP status line {:?}", status_line.trim_end()),
        )
    })
}

/// Parses the code from a status line such as `HTTP/1.1 200 OK`.
fn parse_status_code(status_line: &str) -> Option<u16> {
    let mut parts = status_line.split_whitespace();
    let version = parts.next()?;
    if !version.starts_with("HTTP/") {
        return None;
    }
    parts.next()?.parse().ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn listening_port_parsed_from_werkzeug_line() {
        assert_eq!(parse_listening_port(" * Running on http://127.0.0.1:46187"), Some(46187));
    }

    #[test]
    fn listening_port_ignores_other_lines() {
        assert_eq!(parse_listening_port("Press CTRL+C to quit"), None);
        assert_eq!(parse_listening_port(" * Running on http://127.0.0.1:0"), None);
        assert_eq!(parse_listening_port(" * Running on http://127.0.0.1:"), None);
    }

    #[test]
    fn ansi_colour_codes_removed() {
        let line = "\u{1b}[31m\u{1b}[1mWARNING: This is a development server.\u{1b}[0m";
        assert_eq!(strip_ansi_escapes(line), "WARNING: This is a development server.");
    }

    #[test]
    fn status_code_parsed() {
        assert_eq!(parse_status_code("HTTP/1.1 200 OK\r\n"), Some(200));
        assert_eq!(parse_status_code("HTTP/1.0 404 NOT FOUND\r\n"), Some(404));
    }

    #[test]
    fn status_code_rejects_non_http() {
        assert_eq!(parse_status_code(""), None);
        assert_eq!(parse_status_code("SSH-2.0-OpenSSH_9.2\r\n"), None);
    }

    #[test]
    fn missing_default_executable_names_install_command() {
        let missing = PathBuf::from("/nonexistent/venv/bin/moto_server");
        let error = resolve_moto_server(None, missing).unwrap_err().to_string();
        assert!(error.contains("/nonexistent/venv/bin/moto_server"), "{error}");
        assert!(error.contains("scripts/emulators install"), "{error}");
    }

    #[test]
    fn missing_override_executable_names_variable() {
        let missing = PathBuf::from("/nonexistent/moto_server");
        let default = PathBuf::from("/nonexistent/default/moto_server");
        let error = resolve_moto_server(Some(missing), default).unwrap_err().to_string();
        assert!(error.contains("/nonexistent/moto_server"), "{error}");
        assert!(error.contains(MOTO_SERVER_ENV), "{error}");
        assert!(error.contains("scripts/emulators install"), "{error}");
    }

    #[test]
    fn override_executable_wins() {
        let file = tempfile::NamedTempFile::new().unwrap();
        let default = PathBuf::from("/nonexistent/default/moto_server");
        let resolved = resolve_moto_server(Some(file.path().to_path_buf()), default).unwrap();
        assert_eq!(resolved, file.path());
    }

    #[test]
    fn workspace_root_found() {
        assert!(workspace_root().join("Cargo.toml").is_file());
        assert!(workspace_root().join("crates/tether-testkit").is_dir());
    }
}
