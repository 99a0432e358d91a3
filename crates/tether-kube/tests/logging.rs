//! Logs at `trace` level, kube's and hyper's included, never contain Secret data.

mod common;

use std::io::Write;
use std::sync::{Arc, Mutex};

use common::{ENVIRONMENT, Harness, PULL_SECRET, pull_secret_base64};
use tether_testkit::kube::Fault;

/// A tracing writer that appends every line to a shared buffer.
#[derive(Clone, Default)]
struct Captured(Arc<Mutex<Vec<u8>>>);

impl Write for Captured {
    fn write(&mut self, bytes: &[u8]) -> std::io::Result<usize> {
        self.0.lock().expect("the log buffer lock").extend_from_slice(bytes);
        Ok(bytes.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

impl Captured {
    fn text(&self) -> String {
        String::from_utf8_lossy(&self.0.lock().expect("the log buffer lock")).into_owned()
    }
}

#[tokio::test]
async fn trace_logs_never_contain_secret_data() {
    let captured = Captured::default();
    let writer = captured.clone();
    let subscriber = tracing_subscriber::fmt()
        .with_env_filter(tracing_subscriber::EnvFilter::new("trace,tether_testkit=off"))
        .with_writer(move || writer.clone())
        .with_ansi(false)
        .finish();
    let _guard = tracing::subscriber::set_default(subscriber);

    let harness = Harness::start().await;
    let desired = [common::namespace(ENVIRONMENT), common::pull_secret(ENVIRONMENT)];
    harness.create_all(ENVIRONMENT, &desired).await;
    harness.observe(ENVIRONMENT, &desired).await.unwrap();
    // More failures than the client's attempts, so the error reaches the caller.
    harness.server.inject_fault(Fault::fail(500).on("PATCH", "/secrets/").times(10));
    harness.create(ENVIRONMENT, &desired[1]).await.unwrap_err();
    harness.delete(ENVIRONMENT, "hcp-ai/ai-pull-secret", &desired[1]).await.unwrap();

    let logs = captured.text();
    assert!(logs.contains("kube_apply"), "the capture works: {logs}");
    assert!(logs.contains("resource=cluster.secret.pull-secret"), "{logs}");
    assert!(logs.contains("http.method=PATCH"), "kube's request spans are captured: {logs}");
    for secret in [PULL_SECRET, pull_secret_base64().as_str(), "sekret-pull-token"] {
        assert!(!logs.contains(secret), "`{secret}` is logged");
    }
}
