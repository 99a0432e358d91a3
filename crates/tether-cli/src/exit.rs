//! Failures and how they are shown: configuration diagnostics through miette, everything else
//! as `error:` followed by its causes.

use std::process::ExitCode;

/// A command that did not succeed.
#[derive(Debug)]
pub enum Failure {
    /// The environment file has problems; each is rendered with its source line.
    Diagnostics(tether_config::Diagnostics),
    /// Any other error, with its chain of causes.
    Error(anyhow::Error),
}

impl From<anyhow::Error> for Failure {
    fn from(error: anyhow::Error) -> Failure {
        Failure::Error(error)
    }
}

impl Failure {
    /// Prints the failure to stderr and returns exit code 1.
    pub fn report(self) -> ExitCode {
        match self {
            Failure::Diagnostics(diagnostics) => {
                eprintln!("{:?}", miette::Report::new(diagnostics));
            }
            Failure::Error(error) => {
                // Provider messages can echo presigned URLs and tokens.
                let redact = |text: String| tether_model::redact_credentials(&text).into_owned();
                eprintln!("error: {}", redact(error.to_string()));
                for cause in error.chain().skip(1) {
                    eprintln!("  caused by: {}", redact(cause.to_string()));
                }
            }
        }
        ExitCode::FAILURE
    }
}
