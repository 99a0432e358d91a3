//! Bounded polling until a resource reaches a state.

use std::future::Future;
use std::time::Instant;

use tether_engine::ProviderError;

use crate::client::WaitLimits;
use crate::error::AwsError;

/// Calls `poll` until it returns `true`, sleeping `limits.poll_interval` between calls.
///
/// The first poll is immediate. `state` and `id` name what is awaited in the timeout error.
///
/// # Errors
/// Returns the first error of `poll`, or a retryable [`AwsError::WaitTimedOut`] (named
/// `operation`) when `limits.timeout` would pass before the next poll.
pub(crate) async fn wait_until<F, Fut>(
    limits: WaitLimits,
    operation: &'static str,
    id: &str,
    state: &'static str,
    mut poll: F,
) -> Result<(), ProviderError>
where
    F: FnMut() -> Fut,
    Fut: Future<Output = Result<bool, ProviderError>>,
{
    let started = Instant::now();
    loop {
        if poll().await? {
            tracing::debug!(id, state, elapsed_ms = started.elapsed().as_millis() as u64, "state reached");
            return Ok(());
        }

        if started.elapsed() + limits.poll_interval > limits.timeout {
            let error = AwsError::WaitTimedOut { id: id.to_owned(), state, seconds: limits.timeout.as_secs() };
            return Err(error.into_provider_error(operation));
        }
        tracing::debug!(id, state, "waiting");
        tokio::time::sleep(limits.poll_interval).await;
    }
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::*;

    #[tokio::test]
    async fn wait_succeeds_on_later_poll() {
        let limits = WaitLimits { timeout: Duration::from_secs(1), poll_interval: Duration::from_millis(1) };
        let mut polls = 0;
        let result = wait_until(limits, "DescribeInstances", "i-1", "terminated", || {
            polls += 1;
            let done = polls == 3;
            async move { Ok(done) }
        })
        .await;
        assert!(result.is_ok());
        assert_eq!(polls, 3);
    }

    #[tokio::test]
    async fn wait_times_out_retryably() {
        let limits = WaitLimits { timeout: Duration::from_millis(20), poll_interval: Duration::from_millis(5) };
        let error =
            wait_until(limits, "DescribeInstances", "i-1", "terminated", || async { Ok(false) }).await.unwrap_err();
        assert!(error.retryable);
        assert_eq!(error.source.to_string(), "i-1 did not become `terminated` within 0 s");
    }
}
