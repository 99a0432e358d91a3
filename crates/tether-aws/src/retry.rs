//! Retries: the SDK's retry policy for throttling, 5xx and connection failures, a log line per
//! retry, and bounded retries for calls that fail while a resource created in this run propagates.

use std::collections::BTreeSet;
use std::future::Future;
use std::hash::{BuildHasher as _, Hasher as _};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use aws_config::retry::RetryConfig;
use aws_sdk_ec2::config::interceptors::{
    BeforeTransmitInterceptorContextRef, FinalizerInterceptorContextRef, InterceptorContext,
};
use aws_sdk_ec2::config::retry::{ClassifyRetry, RetryAction};
use aws_sdk_ec2::config::{ConfigBag, Intercept, RuntimeComponents};
use aws_sdk_ec2::error::BoxError;
use aws_smithy_types::config_bag::{Storable, StoreReplace};
use tether_engine::ProviderError;
use tether_model::Address;

use crate::error::error_code;

/// Attempts per API call, the first included, unless `AWS_MAX_ATTEMPTS` sets another number.
pub const DEFAULT_MAX_ATTEMPTS: u32 = 5;

/// Upper bound of the first retry's backoff; each later retry doubles it, up to [`MAX_BACKOFF`].
/// The SDK draws each delay uniformly between zero and the bound ("full jitter").
pub const INITIAL_BACKOFF: Duration = Duration::from_secs(1);

/// Upper bound of any one retry's backoff.
pub const MAX_BACKOFF: Duration = Duration::from_secs(20);

/// The retry rule for a call that fails because a resource created in this run is not visible yet.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct SettlePolicy {
    /// Attempts, the first included.
    pub(crate) attempts: u32,
    /// Upper bound of the delay before the first retry; it doubles per retry.
    pub(crate) first_delay: Duration,
    /// Upper bound of any one delay.
    pub(crate) max_delay: Duration,
}

impl SettlePolicy {
    /// Six attempts over about 13 to 25 seconds: IAM and EC2 usually show a new resource to
    /// every endpoint within a few seconds.
    pub(crate) const DEFAULT: SettlePolicy =
        SettlePolicy { attempts: 6, first_delay: Duration::from_secs(1), max_delay: Duration::from_secs(10) };
}

/// Builds the SDK retry policy: standard mode, [`DEFAULT_MAX_ATTEMPTS`] attempts (or
/// `AWS_MAX_ATTEMPTS` when it is a positive number), jittered exponential backoff between
/// [`INITIAL_BACKOFF`] and [`MAX_BACKOFF`].
///
/// The SDK retries throttling codes (`Throttling`, `RequestLimitExceeded` and the like), HTTP
/// 500, 502, 503 and 504, timeouts and connection failures; [`TooManyRequests`] adds HTTP 429.
pub fn default_retry_config() -> RetryConfig {
    let attempts = std::env::var("AWS_MAX_ATTEMPTS")
        .ok()
        .and_then(|text| text.trim().parse::<u32>().ok())
        .filter(|attempts| *attempts > 0)
        .unwrap_or(DEFAULT_MAX_ATTEMPTS);
    RetryConfig::standard()
        .with_max_attempts(attempts)
        .with_initial_backoff(INITIAL_BACKOFF)
        .with_max_backoff(MAX_BACKOFF)
}

tokio::task_local! {
    /// The address of the resource whose create, update or delete is running in this task.
    static RESOURCE: Address;
}

/// Runs `operation` with `address` as the resource that retry log lines name.
pub(crate) async fn for_resource<T>(address: &Address, operation: impl Future<Output = T>) -> T {
    RESOURCE.scope(address.clone(), operation).await
}

/// The resource address for log lines: the one being changed, or `observation` while listing.
fn current_resource() -> String {
    RESOURCE.try_with(Address::to_string).unwrap_or_else(|_| "observation".to_owned())
}

/// An SDK interceptor that logs every retry of an API call with the resource address, the
/// operation, the attempt number and why the previous attempt failed.
#[derive(Debug, Clone, Copy)]
pub(crate) struct RetryLog;

/// The record that [`RetryLog`] keeps between the attempts of one API call.
#[derive(Debug, Clone, Default)]
struct AttemptRecord {
    attempts: u32,
    last_failure: Option<String>,
}

impl Storable for AttemptRecord {
    type Storer = StoreReplace<AttemptRecord>;
}

impl Intercept for RetryLog {
    fn name(&self) -> &'static str {
        "RetryLog"
    }

    fn read_before_attempt(
        &self,
        context: &BeforeTransmitInterceptorContextRef<'_>,
        _runtime_components: &RuntimeComponents,
        cfg: &mut ConfigBag,
    ) -> Result<(), BoxError> {
        let record = cfg.load::<AttemptRecord>().cloned().unwrap_or_default();
        let attempt = record.attempts + 1;
        if attempt > 1 {
            let request = context.request();
            let body = request.body().bytes().map(String::from_utf8_lossy).unwrap_or_default();
            tracing::warn!(
                resource = current_resource(),
                operation = operation_name(request.method(), request.uri(), &body),
                attempt,
                previous = record.last_failure.as_deref().unwrap_or("unknown failure"),
                "retrying AWS call"
            );
        }
        cfg.interceptor_state().store_put(AttemptRecord { attempts: attempt, last_failure: None });
        Ok(())
    }

    fn read_after_attempt(
        &self,
        context: &FinalizerInterceptorContextRef<'_>,
        _runtime_components: &RuntimeComponents,
        cfg: &mut ConfigBag,
    ) -> Result<(), BoxError> {
        let failure = match (context.response(), context.output_or_error()) {
            (Some(response), _) if !response.status().is_success() => Some(format!("HTTP {}", response.status())),
            (None, Some(Err(error))) => Some(error.to_string()),
            _ => None,
        };
        let mut record = cfg.load::<AttemptRecord>().cloned().unwrap_or_default();
        record.last_failure = failure;
        cfg.interceptor_state().store_put(record);
        Ok(())
    }
}

/// Names an API call: the Query protocol's `Action` (EC2, IAM, STS), else method and path (REST
/// services such as Route 53).
fn operation_name(method: &str, uri: &str, body: &str) -> String {
    let action = body.split('&').find_map(|pair| pair.strip_prefix("Action="));
    match action {
        Some(action) => action.to_owned(),
        None => {
            let path = uri.split("://").nth(1).and_then(|rest| rest.find('/').map(|at| &rest[at..])).unwrap_or(uri);
            format!("{method} {}", path.split('?').next().unwrap_or(path))
        }
    }
}

/// A retry classifier for HTTP 429 (Too Many Requests), which the SDK's own classifiers retry
/// only when the body carries a throttling code.
#[derive(Debug, Clone, Copy)]
pub(crate) struct TooManyRequests;

impl ClassifyRetry for TooManyRequests {
    fn classify_retry(&self, context: &InterceptorContext) -> RetryAction {
        match context.response() {
            Some(response) if response.status().as_u16() == 429 => RetryAction::throttling_error(),
            _ => RetryAction::NoActionIndicated,
        }
    }

    fn name(&self) -> &'static str {
        "TooManyRequests"
    }
}

/// The ids of the resources that one provider created, shared by its clones.
#[derive(Debug, Clone, Default)]
pub(crate) struct CreatedInRun {
    ids: Arc<Mutex<BTreeSet<String>>>,
}

impl CreatedInRun {
    /// Records a created resource's id.
    pub(crate) fn record(&self, id: &str) {
        self.lock().insert(id.to_owned());
    }

    /// True when any of `ids` was created by this provider.
    pub(crate) fn contains_any(&self, ids: &[&str]) -> bool {
        let created = self.lock();
        ids.iter().any(|id| created.contains(*id))
    }

    /// Returns the ARN of the role named `name` when this provider created it (a role's id is its
    /// ARN, `arn:aws:iam::<account>:role/<path>/<name>`).
    pub(crate) fn role_arn(&self, name: &str) -> Option<String> {
        let created = self.lock();
        let mut roles = created.iter().filter(|id| id.starts_with("arn:") && id.contains(":role/"));
        roles.find(|arn| arn.rsplit('/').next() == Some(name)).cloned()
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, BTreeSet<String>> {
        // A panic while holding this lock leaves a set of strings that is still valid.
        self.ids.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
    }
}

/// Calls `call` until it succeeds, retrying (at most `policy.attempts` attempts, with
/// jittered exponential delays) while it fails with one of `codes` and at least one of
/// `dependencies` was created in this run.
///
/// AWS is eventually consistent: a subnet, Elastic IP or NAT gateway created moments ago may
/// still be unknown to the next call that names it. A dependency that tether did not just create
/// gets no such grace, because the same error then means it really is missing.
///
/// # Errors
/// Returns the last error of `call`.
pub(crate) async fn retry_while_settling<T, F, Fut>(
    created: &CreatedInRun,
    policy: SettlePolicy,
    operation: &'static str,
    codes: &[&str],
    dependencies: &[&str],
    call: F,
) -> Result<T, ProviderError>
where
    F: FnMut() -> Fut,
    Fut: Future<Output = Result<T, ProviderError>>,
{
    let settling = |error: &ProviderError| error_code(error).is_some_and(|code| codes.contains(&code));
    retry_while_settling_if(created, policy, operation, settling, dependencies, call).await
}

/// As [`retry_while_settling`], with `settling` deciding which errors mean "not visible yet", e.g.
/// IAM's `MalformedPolicyDocument` only when its message is about an invalid principal.
///
/// # Errors
/// Returns the last error of `call`.
pub(crate) async fn retry_while_settling_if<T, F, Fut>(
    created: &CreatedInRun,
    policy: SettlePolicy,
    operation: &'static str,
    settling: impl Fn(&ProviderError) -> bool,
    dependencies: &[&str],
    mut call: F,
) -> Result<T, ProviderError>
where
    F: FnMut() -> Fut,
    Fut: Future<Output = Result<T, ProviderError>>,
{
    let mut attempt = 1;
    loop {
        let error = match call().await {
            Ok(output) => return Ok(output),
            Err(error) => error,
        };
        if attempt >= policy.attempts || !settling(&error) || !created.contains_any(dependencies) {
            return Err(error);
        }

        let delay = jittered(settle_delay(policy, attempt));
        tracing::warn!(
            resource = current_resource(),
            operation,
            code = error_code(&error),
            attempt = attempt + 1,
            delay_ms = delay.as_millis() as u64,
            "a resource created in this run is not visible yet; retrying"
        );
        tokio::time::sleep(delay).await;
        attempt += 1;
    }
}

/// The upper bound of the delay after failed attempt `attempt` (1-based).
fn settle_delay(policy: SettlePolicy, attempt: u32) -> Duration {
    let doubled = policy.first_delay.saturating_mul(1 << attempt.saturating_sub(1).min(16));
    doubled.min(policy.max_delay)
}

/// Draws a delay uniformly between half of `bound` and `bound`, so that concurrent retries spread out.
fn jittered(bound: Duration) -> Duration {
    // The standard library's per-process random hash keys are a sufficient source of jitter.
    let random = std::collections::hash_map::RandomState::new().build_hasher().finish();
    let fraction = 0.5 + (random % 1_000) as f64 / 2_000.0;
    bound.mul_f64(fraction)
}

#[cfg(test)]
mod tests {
    use std::sync::atomic::{AtomicU32, Ordering};

    use super::*;
    use crate::error::ApiError;

    const FAST: SettlePolicy =
        SettlePolicy { attempts: 4, first_delay: Duration::from_millis(2), max_delay: Duration::from_millis(5) };

    fn coded(code: &str) -> ProviderError {
        ProviderError::permanent("CreateRoute", ApiError::for_test(code))
    }

    #[test]
    fn operation_named_by_action_or_path() {
        assert_eq!(
            operation_name("POST", "http://127.0.0.1:1/", "Action=DescribeVpcs&Version=2016-11-15"),
            "DescribeVpcs"
        );
        assert_eq!(
            operation_name("POST", "http://127.0.0.1:1/2013-04-01/hostedzone?x=1", ""),
            "POST /2013-04-01/hostedzone"
        );
    }

    #[test]
    fn settle_delays_double_up_to_limit() {
        let policy = SettlePolicy::DEFAULT;
        assert_eq!(settle_delay(policy, 1), Duration::from_secs(1));
        assert_eq!(settle_delay(policy, 2), Duration::from_secs(2));
        assert_eq!(settle_delay(policy, 4), Duration::from_secs(8));
        assert_eq!(settle_delay(policy, 5), policy.max_delay);
        assert_eq!(settle_delay(policy, 40), policy.max_delay);
    }

    #[test]
    fn jitter_stays_within_bound() {
        for _ in 0..100 {
            let delay = jittered(Duration::from_secs(2));
            assert!(delay >= Duration::from_secs(1), "{delay:?}");
            assert!(delay <= Duration::from_secs(2), "{delay:?}");
        }
    }

    #[tokio::test]
    async fn settling_retried_for_created_dependency() {
        let created = CreatedInRun::default();
        created.record("nat-1");
        let calls = AtomicU32::new(0);
        let result =
            retry_while_settling(&created, FAST, "CreateRoute", &["InvalidNatGatewayID.NotFound"], &["nat-1"], || {
                let call = calls.fetch_add(1, Ordering::SeqCst);
                async move { if call < 2 { Err(coded("InvalidNatGatewayID.NotFound")) } else { Ok(call) } }
            })
            .await;
        assert_eq!(result.unwrap(), 2);
        assert_eq!(calls.load(Ordering::SeqCst), 3);
    }

    #[tokio::test]
    async fn settling_not_retried_for_older_dependency() {
        let created = CreatedInRun::default();
        let calls = AtomicU32::new(0);
        let result: Result<(), _> =
            retry_while_settling(&created, FAST, "CreateRoute", &["InvalidNatGatewayID.NotFound"], &["nat-1"], || {
                calls.fetch_add(1, Ordering::SeqCst);
                async { Err(coded("InvalidNatGatewayID.NotFound")) }
            })
            .await;
        assert!(result.is_err());
        assert_eq!(calls.load(Ordering::SeqCst), 1);
    }

    #[tokio::test]
    async fn settling_bounded() {
        let created = CreatedInRun::default();
        created.record("subnet-1");
        let calls = AtomicU32::new(0);
        let result: Result<(), _> =
            retry_while_settling(&created, FAST, "CreateNatGateway", &["InvalidSubnet"], &["subnet-1"], || {
                calls.fetch_add(1, Ordering::SeqCst);
                async { Err(coded("InvalidSubnet")) }
            })
            .await;
        assert!(result.is_err());
        assert_eq!(calls.load(Ordering::SeqCst), FAST.attempts);
    }

    #[test]
    fn created_role_found_by_name() {
        let created = CreatedInRun::default();
        created.record("arn:aws:iam::123456789012:role/ai-worker-role");
        created.record("subnet-1");
        assert_eq!(
            created.role_arn("ai-worker-role").as_deref(),
            Some("arn:aws:iam::123456789012:role/ai-worker-role")
        );
        assert_eq!(created.role_arn("worker-role"), None);
        assert_eq!(created.role_arn("subnet-1"), None);
    }

    #[tokio::test]
    async fn other_codes_not_retried() {
        let created = CreatedInRun::default();
        created.record("nat-1");
        let calls = AtomicU32::new(0);
        let result: Result<(), _> =
            retry_while_settling(&created, FAST, "CreateRoute", &["InvalidNatGatewayID.NotFound"], &["nat-1"], || {
                calls.fetch_add(1, Ordering::SeqCst);
                async { Err(coded("RouteAlreadyExists")) }
            })
            .await;
        assert!(result.is_err());
        assert_eq!(calls.load(Ordering::SeqCst), 1);
    }
}
