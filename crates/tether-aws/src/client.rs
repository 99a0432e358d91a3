//! The provider's SDK clients: built from the standard AWS environment or from a given `SdkConfig`.

use std::time::Duration;

use aws_config::sts::AssumeRoleProvider;
use aws_config::timeout::TimeoutConfig;
use aws_config::{BehaviorVersion, Region, SdkConfig};
use aws_sdk_ec2::config::SharedCredentialsProvider;

use crate::retry::{CreatedInRun, RetryLog, TooManyRequests, default_retry_config};

/// Time allowed to open a TCP (and TLS) connection to an AWS endpoint: 5 seconds.
pub const CONNECT_TIMEOUT: Duration = Duration::from_secs(5);

/// Time allowed for one HTTP attempt of an API call, response included: 30 seconds.
pub const ATTEMPT_TIMEOUT: Duration = Duration::from_secs(30);

/// Time allowed for a whole API call, all retries and their back-off included: 120 seconds.
pub const OPERATION_TIMEOUT: Duration = Duration::from_secs(120);

/// Default limit for waiting on a resource state (an instance terminated, a NAT gateway
/// available or deleted): 10 minutes. AWS usually needs one to five minutes for these.
pub const DEFAULT_WAIT_TIMEOUT: Duration = Duration::from_secs(600);

/// Default interval between two polls of a resource state: 5 seconds. The first poll is immediate.
pub const DEFAULT_POLL_INTERVAL: Duration = Duration::from_secs(5);

/// Limits for waiting until a resource reaches a state.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct WaitLimits {
    /// How long to wait before giving up with a retryable error.
    pub timeout: Duration,
    /// Time between two polls.
    pub poll_interval: Duration,
}

impl Default for WaitLimits {
    fn default() -> WaitLimits {
        WaitLimits { timeout: DEFAULT_WAIT_TIMEOUT, poll_interval: DEFAULT_POLL_INTERVAL }
    }
}

/// The session name that tether gives the sessions of an assumed `[aws] role_arn`; CloudTrail
/// shows it as the caller.
const ROLE_SESSION_NAME: &str = "tether";

/// The AWS provider: observes and changes the resources of one environment in one region.
///
/// Every client retries throttling, 5xx responses and connection failures with jittered
/// exponential backoff (see [`default_retry_config`]) and logs each retry.
#[derive(Debug, Clone)]
pub struct AwsProvider {
    pub(crate) ec2: aws_sdk_ec2::Client,
    iam: aws_sdk_iam::Client,
    sts: aws_sdk_sts::Client,
    pub(crate) wait_limits: WaitLimits,
    /// Ids of the resources this provider created, for retries that only make sense while a
    /// resource created moments ago propagates.
    pub(crate) created: CreatedInRun,
    /// The Route 53 client for the hosted zones; `None` when built by [`AwsProvider::from_clients`]
    /// without [`AwsProvider::with_route53`].
    pub(crate) route53: Option<aws_sdk_route53::Client>,
}

impl AwsProvider {
    /// Builds a provider for `region` from the standard AWS environment: the credential chain
    /// (environment, `AWS_PROFILE` and the shared files, web identity, container and instance
    /// metadata), `AWS_ENDPOINT_URL`, `AWS_MAX_ATTEMPTS` and `AWS_RETRY_MODE`.
    ///
    /// The `region` argument wins over `AWS_REGION`. Calls time out after [`CONNECT_TIMEOUT`]
    /// to connect, [`ATTEMPT_TIMEOUT`] per attempt and [`OPERATION_TIMEOUT`] in all, and retry as
    /// [`default_retry_config`] says. Credentials are resolved lazily, so missing credentials
    /// surface as an error of the first API call.
    pub async fn from_environment(region: &str) -> AwsProvider {
        AwsProvider::from_sdk_config(&load_config(region).await)
    }

    /// Builds a provider as [`AwsProvider::from_environment`] does, then, when `role_arn` is
    /// given, assumes that role with the credentials of the standard chain. The assumed role's
    /// temporary credentials are refreshed before they expire.
    pub async fn assuming_role(region: &str, role_arn: Option<&str>) -> AwsProvider {
        let base = load_config(region).await;
        let Some(role_arn) = role_arn else {
            return AwsProvider::from_sdk_config(&base);
        };

        let role = AssumeRoleProvider::builder(role_arn).session_name(ROLE_SESSION_NAME).configure(&base).build().await;
        let config = base.into_builder().credentials_provider(SharedCredentialsProvider::new(role)).build();
        AwsProvider::from_sdk_config(&config)
    }

    /// Builds a provider from an existing configuration, keeping its endpoint, credentials,
    /// retry and timeout settings as they are (tests point it at an emulator this way). Each
    /// client also logs its retries and retries HTTP 429 responses.
    pub fn from_sdk_config(config: &SdkConfig) -> AwsProvider {
        let ec2 =
            aws_sdk_ec2::config::Builder::from(config).interceptor(RetryLog).retry_classifier(TooManyRequests).build();
        let iam =
            aws_sdk_iam::config::Builder::from(config).interceptor(RetryLog).retry_classifier(TooManyRequests).build();
        let sts =
            aws_sdk_sts::config::Builder::from(config).interceptor(RetryLog).retry_classifier(TooManyRequests).build();
        let route53 = aws_sdk_route53::config::Builder::from(config)
            .interceptor(RetryLog)
            .retry_classifier(TooManyRequests)
            .build();
        AwsProvider::from_clients(
            aws_sdk_ec2::Client::from_conf(ec2),
            aws_sdk_iam::Client::from_conf(iam),
            aws_sdk_sts::Client::from_conf(sts),
        )
        .with_route53(aws_sdk_route53::Client::from_conf(route53))
    }

    /// Adds the Route 53 client that the hosted-zone kinds need.
    #[must_use]
    pub fn with_route53(mut self, route53: aws_sdk_route53::Client) -> AwsProvider {
        self.route53 = Some(route53);
        self
    }

    /// Builds a provider from ready clients, e.g. ones with extra SDK interceptors.
    pub fn from_clients(ec2: aws_sdk_ec2::Client, iam: aws_sdk_iam::Client, sts: aws_sdk_sts::Client) -> AwsProvider {
        AwsProvider {
            ec2,
            iam,
            sts,
            wait_limits: WaitLimits::default(),
            created: CreatedInRun::default(),
            route53: None,
        }
    }

    /// Replaces the limits for waiting on resource states (see [`WaitLimits`]).
    #[must_use]
    pub fn with_wait_limits(mut self, wait_limits: WaitLimits) -> AwsProvider {
        self.wait_limits = wait_limits;
        self
    }

    /// Returns the EC2 client.
    pub fn ec2(&self) -> &aws_sdk_ec2::Client {
        &self.ec2
    }

    /// Returns the IAM client.
    pub fn iam(&self) -> &aws_sdk_iam::Client {
        &self.iam
    }

    /// Returns the STS client.
    pub fn sts(&self) -> &aws_sdk_sts::Client {
        &self.sts
    }
}

/// Loads the standard AWS environment for `region` with tether's timeouts and retries.
async fn load_config(region: &str) -> SdkConfig {
    aws_config::defaults(BehaviorVersion::latest())
        .region(Region::new(region.to_owned()))
        .timeout_config(default_timeouts())
        .retry_config(default_retry_config())
        .load()
        .await
}

/// Builds the timeouts that [`AwsProvider::from_environment`] sets.
pub fn default_timeouts() -> TimeoutConfig {
    TimeoutConfig::builder()
        .connect_timeout(CONNECT_TIMEOUT)
        .operation_attempt_timeout(ATTEMPT_TIMEOUT)
        .operation_timeout(OPERATION_TIMEOUT)
        .build()
}
