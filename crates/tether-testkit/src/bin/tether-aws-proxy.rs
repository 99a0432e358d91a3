//! `tether-aws-proxy`: runs the AWS proxy of `tether_testkit::aws_proxy` in front of an emulator
//! until SIGTERM or SIGINT, for benchmark scripts and manual runs.
//!
//! It prints exactly one line, `listening on http://127.0.0.1:PORT`, to stdout once it serves.

use std::io::Write as _;
use std::net::SocketAddr;
use std::time::Duration;

use anyhow::Context as _;
use clap::Parser;
use tether_testkit::aws_proxy::AwsProxy;
use tokio::signal::unix::{SignalKind, signal};

/// Forwards AWS API calls to a local emulator, adding a fixed latency to each.
#[derive(Debug, Parser)]
#[command(version)]
struct Args {
    /// The emulator's URL, e.g. http://127.0.0.1:5000; must be on this machine.
    #[arg(long)]
    upstream: String,

    /// Latency added to every call, in milliseconds.
    #[arg(long, default_value_t = 0)]
    latency_ms: u64,

    /// Address to listen on; must be a loopback address. Port 0 picks a free port.
    #[arg(long, default_value = "127.0.0.1:0")]
    listen: SocketAddr,
}

#[tokio::main(flavor = "current_thread")]
async fn main() -> anyhow::Result<()> {
    let args = Args::parse();
    let mut terminate = signal(SignalKind::terminate()).context("failed to install the SIGTERM handler")?;
    let mut interrupt = signal(SignalKind::interrupt()).context("failed to install the SIGINT handler")?;

    let proxy = AwsProxy::start_on(&args.upstream, args.listen)?;
    proxy.set_latency(Duration::from_millis(args.latency_ms));
    let mut stdout = std::io::stdout().lock();
    writeln!(stdout, "listening on {}", proxy.endpoint()).context("failed to write to stdout")?;
    stdout.flush().context("failed to flush stdout")?;
    drop(stdout);

    tokio::select! {
        _ = terminate.recv() => {},
        _ = interrupt.recv() => {},
    }
    let calls = proxy.calls().len();
    eprintln!("tether-aws-proxy: forwarded or answered {calls} calls");
    Ok(())
}
