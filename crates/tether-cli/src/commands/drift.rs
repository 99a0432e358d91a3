//! `tether drift`: observe, compare with what tether last applied, and report drift apart from
//! pending changes; once, or at every interval with `--watch`.

mod fix;

use std::process::ExitCode;

use anyhow::Context as _;
use tether_plan::{DriftInput, DriftReport, IgnoreRule, classify_drift};

use crate::args::{DriftArgs, DriftFormat};
use crate::drift_render::{render_markdown, render_text, report_json};
use crate::drift_watch::{DriftMetrics, lock, serve_metrics};
use crate::environment::Session;
use crate::exit::Failure;

/// Exit code when drift is found.
const DRIFT_FOUND: u8 = 2;

/// Runs one drift check, or checks until interrupted with `--watch`.
///
/// # Errors
/// Fails on an invalid file, an unreadable state, any failed or throttled read (a read that did not
/// succeed is never taken for a deleted resource), or a failed notification.
pub async fn run(args: &DriftArgs) -> Result<ExitCode, Failure> {
    if let Some(url) = &args.notify_webhook {
        crate::webhook::check_url(url).map_err(anyhow::Error::from)?;
    }
    if args.emit_cronjob {
        return emit_cronjob(args);
    }
    if args.fix {
        return fix::run(args).await;
    }
    if args.watch {
        return watch(args).await;
    }

    let (report, session) = check(args).await?;
    print_report(&report, args.format);
    if let Some(url) = &args.notify_webhook {
        crate::drift_notify::notify(url, session.store.as_ref(), session.name(), &report).await?;
    }
    if report.has_drift() {
        return Ok(ExitCode::from(DRIFT_FOUND));
    }
    Ok(ExitCode::SUCCESS)
}

/// Observes and classifies once; returns the report and the session, whose state store keeps
/// the last announced drift.
async fn check(args: &DriftArgs) -> anyhow::Result<(DriftReport, Session)> {
    let session = Session::open(&args.environment).await.map_err(failure_to_error)?;
    let observed = session.observe().await.context("cannot check for drift")?;
    let ignore = ignore_rules(&session);
    let input = DriftInput {
        environment: session.name(),
        desired: &session.environment.desired,
        observed: &observed,
        state: &session.state,
        ignore: &ignore,
    };
    let report = classify_drift(&input);
    Ok((report, session))
}

/// Checks at every `--interval` until interrupted, printing a report only when the drift differs
/// from the previous successful check. A failed check is logged and counted, and the loop goes on.
async fn watch(args: &DriftArgs) -> Result<ExitCode, Failure> {
    let loaded = crate::environment::load(&args.environment.file)?;
    let metrics = DriftMetrics::shared(&loaded.checked.environment.name);
    if let Some(address) = args.metrics_address {
        serve_metrics(address, metrics.clone()).await?;
    }

    let mut previous: Option<serde_json::Value> = None;
    let mut ticker = tokio::time::interval(args.interval);
    ticker.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        tokio::select! {
            _ = ticker.tick() => {}
            _ = tokio::signal::ctrl_c() => return Ok(ExitCode::SUCCESS),
        }
        match watch_once(args, &mut previous).await {
            Ok(report) => lock(&metrics).record_success(&report),
            Err(error) => {
                lock(&metrics).record_error();
                tracing::error!(error = format!("{error:#}"), "drift check failed; retrying at the next interval");
            }
        }
    }
}

async fn watch_once(args: &DriftArgs, previous: &mut Option<serde_json::Value>) -> anyhow::Result<DriftReport> {
    let (report, session) = check(args).await?;
    let drift = report_json(&report)["drift"].clone();
    if previous.as_ref() != Some(&drift) {
        print_report(&report, args.format);
        *previous = Some(drift);
    }
    if let Some(url) = &args.notify_webhook {
        crate::drift_notify::notify(url, session.store.as_ref(), session.name(), &report).await?;
    }
    Ok(report)
}

fn print_report(report: &DriftReport, format: DriftFormat) {
    match format {
        DriftFormat::Text => print!("{}", render_text(report)),
        DriftFormat::Markdown => print!("{}", render_markdown(report)),
        // Serializing a `serde_json::Value` cannot fail.
        DriftFormat::Json => println!("{}", serde_json::to_string_pretty(&report_json(report)).unwrap_or_default()),
    }
}

/// Reads the `[[drift.ignore]]` rules of the environment file.
fn ignore_rules(session: &Session) -> Vec<IgnoreRule> {
    let settings = session.environment.checked.environment.drift.as_ref();
    let rules = settings.map(|settings| settings.ignore.as_slice()).unwrap_or_default();
    rules.iter().map(|rule| IgnoreRule { resource: rule.resource.clone(), path: rule.path.clone() }).collect()
}

/// Turns a failure into an error for the watch loop; configuration diagnostics are printed first.
fn failure_to_error(failure: Failure) -> anyhow::Error {
    match failure {
        Failure::Error(error) => error,
        Failure::Diagnostics(diagnostics) => {
            eprintln!("{:?}", miette::Report::new(diagnostics));
            anyhow::anyhow!("the environment file is invalid")
        }
    }
}

/// Prints the CronJob manifests instead of checking.
// TODO: support `--notify-webhook` through a Secret reference for the URL, never the URL in the
// manifest. Until then the argument parser rejects `--emit-cronjob` with `--notify-webhook`.
fn emit_cronjob(args: &DriftArgs) -> Result<ExitCode, Failure> {
    let loaded = crate::environment::load(&args.environment.file)?;
    let file = &args.environment.file;
    let source = std::fs::read_to_string(file).with_context(|| format!("cannot read {}", file.display()))?;
    let options = crate::cronjob::CronJobOptions {
        image: args.image.clone().unwrap_or_default(),
        schedule: args.schedule.clone(),
        aws_credentials_secret: args.aws_credentials_secret.clone().unwrap_or_default(),
    };
    print!("{}", crate::cronjob::manifests(&loaded.checked, &source, &options)?);
    Ok(ExitCode::SUCCESS)
}
