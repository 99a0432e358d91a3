//! Logging to stderr with `tracing`; plan output goes to stdout and never mixes with logs.

use std::io::IsTerminal as _;

use tracing_subscriber::EnvFilter;

/// Sets up logging: warnings by default, debug with `-v`, trace with `-vv`; `RUST_LOG` wins.
/// By default the kube client's own error events are off, because tether reports the same
/// failure with its full cause chain.
pub fn init(verbose: u8) {
    let default = match verbose {
        0 => "warn,kube_client=off",
        1 => "tether_cli=debug,tether_engine=debug,tether_aws=debug,tether_kube=debug,warn",
        _ => "trace",
    };
    let filter = EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new(default));
    let _ = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .with_ansi(std::io::stderr().is_terminal())
        .with_target(false)
        .try_init();
}
