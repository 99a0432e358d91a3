//! `tether drift --watch`: a check at every interval, a report only when the drift changes, and
//! Prometheus metrics over HTTP.

use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use anyhow::Context as _;
use tether_plan::DriftReport;

/// The watch loop's counters, served at `/metrics`.
#[derive(Debug, Default)]
pub struct DriftMetrics {
    environment: String,
    drifted: Option<usize>,
    last_success_seconds: Option<f64>,
    errors: u64,
}

/// Metrics shared between the loop and the HTTP server.
pub type SharedMetrics = Arc<Mutex<DriftMetrics>>;

impl DriftMetrics {
    /// Creates empty metrics for an environment.
    pub fn shared(environment: &str) -> SharedMetrics {
        Arc::new(Mutex::new(DriftMetrics { environment: environment.to_owned(), ..DriftMetrics::default() }))
    }

    /// Records a successful check.
    pub fn record_success(&mut self, report: &DriftReport) {
        self.drifted = Some(report.drift.len());
        let now = SystemTime::now().duration_since(UNIX_EPOCH).unwrap_or_default();
        self.last_success_seconds = Some(now.as_secs_f64());
    }

    /// Records a failed check.
    pub fn record_error(&mut self) {
        self.errors += 1;
    }

    /// Renders the metrics in the Prometheus text exposition format. Gauges without a successful
    /// check yet are left out.
    pub fn render(&self) -> String {
        let label = format!("{{environment=\"{}\"}}", self.environment.replace(['\\', '"'], "_"));
        let mut out = String::new();
        out.push_str("# HELP tether_drift_resources Resources that drifted at the last successful check.\n");
        out.push_str("# TYPE tether_drift_resources gauge\n");
        if let Some(drifted) = self.drifted {
            out.push_str(&format!("tether_drift_resources{label} {drifted}\n"));
        }
        out.push_str("# HELP tether_drift_last_success_timestamp_seconds Unix time of the last successful check.\n");
        out.push_str("# TYPE tether_drift_last_success_timestamp_seconds gauge\n");
        if let Some(seconds) = self.last_success_seconds {
            out.push_str(&format!("tether_drift_last_success_timestamp_seconds{label} {seconds:.3}\n"));
        }
        out.push_str("# HELP tether_drift_check_errors_total Checks that failed.\n");
        out.push_str("# TYPE tether_drift_check_errors_total counter\n");
        out.push_str(&format!("tether_drift_check_errors_total{label} {}\n", self.errors));
        out
    }
}

/// Serves `GET /metrics` on `address` until the process ends.
///
/// # Errors
/// Fails when the address cannot be bound.
pub async fn serve_metrics(address: SocketAddr, metrics: SharedMetrics) -> anyhow::Result<()> {
    let listener = tokio::net::TcpListener::bind(address)
        .await
        .with_context(|| format!("cannot listen for metrics on {address}"))?;
    let router = axum::Router::new().route(
        "/metrics",
        axum::routing::get(move || {
            let metrics = Arc::clone(&metrics);
            async move {
                let body = lock(&metrics).render();
                ([(axum::http::header::CONTENT_TYPE, "text/plain; version=0.0.4")], body)
            }
        }),
    );
    tracing::info!(%address, "serving drift metrics at /metrics");
    tokio::spawn(async move {
        if let Err(error) = axum::serve(listener, router).await {
            tracing::error!(%error, "the metrics server stopped");
        }
    });
    Ok(())
}

/// Locks the metrics; a panic while holding the lock leaves plain counters, still usable.
pub fn lock(metrics: &SharedMetrics) -> std::sync::MutexGuard<'_, DriftMetrics> {
    metrics.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
}

/// Parses an interval such as `30s`, `15m` or `1h`; at least one second.
///
/// # Errors
/// Returns a message for a value without a unit, with another unit, or under one second.
pub fn parse_interval(text: &str) -> Result<Duration, String> {
    let split = text.find(|c: char| !c.is_ascii_digit()).unwrap_or(text.len());
    let (number, unit) = text.split_at(split);
    let number: u64 = number.parse().map_err(|_| format!("`{text}` is not a number followed by s, m or h"))?;
    let seconds = match unit {
        "s" => number,
        "m" => number.saturating_mul(60),
        "h" => number.saturating_mul(3600),
        _ => return Err(format!("`{text}` needs a unit: s, m or h, e.g. 15m")),
    };
    if seconds == 0 {
        return Err("the interval must be at least 1s".to_owned());
    }
    Ok(Duration::from_secs(seconds))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn interval_units() {
        assert_eq!(parse_interval("15m"), Ok(Duration::from_secs(900)));
        assert_eq!(parse_interval("2s"), Ok(Duration::from_secs(2)));
        assert_eq!(parse_interval("1h"), Ok(Duration::from_secs(3600)));
        assert!(parse_interval("15").is_err());
        assert!(parse_interval("0s").is_err());
        assert!(parse_interval("1d").is_err());
    }

    #[test]
    fn metrics_render_in_text_format() {
        let mut metrics = DriftMetrics { environment: "ai-dev".to_owned(), ..DriftMetrics::default() };
        metrics.record_error();
        let text = metrics.render();
        assert!(text.contains("tether_drift_check_errors_total{environment=\"ai-dev\"} 1\n"), "{text}");
        assert!(!text.contains("tether_drift_resources{"), "{text}");
    }
}
