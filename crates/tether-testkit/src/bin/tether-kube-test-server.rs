//! `tether-kube-test-server`: runs the Kubernetes test API server until SIGTERM or SIGINT.
//!
//! It binds, writes a kubeconfig, prints exactly one line `listening on http://127.0.0.1:PORT`
//! to stdout, then serves. Logs go to stderr; `RUST_LOG` sets their level (default `info`).

use std::io::{IsTerminal as _, Write as _};
use std::net::SocketAddr;
use std::path::PathBuf;

use anyhow::Context as _;
use clap::Parser;
use tether_testkit::kube::KubeTestServer;
use tokio::signal::unix::{SignalKind, signal};

/// Runs tether's in-memory Kubernetes test API server.
#[derive(Debug, Parser)]
#[command(version)]
struct Args {
    /// Address to listen on; must be a loopback address. Port 0 picks a free port.
    #[arg(long, default_value = "127.0.0.1:0")]
    listen: SocketAddr,

    /// File to write the kubeconfig to (context `tether-test`).
    #[arg(long)]
    kubeconfig: PathBuf,
}

#[tokio::main(flavor = "current_thread")]
async fn main() -> anyhow::Result<()> {
    let args = Args::parse();
    tracing_subscriber::fmt()
        .with_writer(std::io::stderr)
        .with_ansi(std::io::stderr().is_terminal())
        .with_env_filter(tracing_subscriber::EnvFilter::try_from_default_env().unwrap_or_else(|_| "info".into()))
        .init();

    // Handlers go in before the line is printed, so a SIGTERM sent right after it still stops
    // the server cleanly instead of killing the process.
    let mut terminate = signal(SignalKind::terminate()).context("failed to install the SIGTERM handler")?;
    let mut interrupt = signal(SignalKind::interrupt()).context("failed to install the SIGINT handler")?;

    let server = KubeTestServer::builder().address(args.listen).start().await?;
    server.write_kubeconfig(&args.kubeconfig)?;
    let mut stdout = std::io::stdout().lock();
    writeln!(stdout, "listening on {}", server.url()).context("failed to write to stdout")?;
    stdout.flush().context("failed to flush stdout")?;
    drop(stdout);
    tracing::info!(url = %server.url(), kubeconfig = %args.kubeconfig.display(), "Kubernetes test API server started");

    let signal_name = tokio::select! {
        _ = terminate.recv() => "SIGTERM",
        _ = interrupt.recv() => "SIGINT",
    };
    tracing::info!(signal = signal_name, "Kubernetes test API server stopping");
    drop(server);
    Ok(())
}
