//! Logging to stderr with `tracing`; plan output goes to stdout and never mixes with logs.

use tracing_subscriber::EnvFilter;

/// Sets up logging: warnings by default, debug with `-v`, trace with `-vv`; `RUST_LOG` wins.
pub fn init(verbose: u8) {
    let default = match verbose {
        0 => "warn",
        1 => "tether=debug,tether_engine=debug,tether_aws=debug,tether_kube=debug,warn",
        _ => "trace",
    };
    let filter = EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new(default));
    let _ =
        tracing_subscriber::fmt().with_env_filter(filter).with_writer(std::io::stderr).with_target(false).try_init();
}
