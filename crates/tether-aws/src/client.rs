//! The provider's SDK clients: built from the standard AWS environment or from a given `SdkConfig`.

use std::time::Duration;

use aws_config::timeout::TimeoutConfig;
use aws_config::{BehaviorVersion, Region, SdkConfig};

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

/// The AWS provider: observes and changes the EC2 resources of one environment in one region.
///
/// The IAM and STS clients share its configuration; no resource kind uses them yet.
#[derive(Debug, Clone)]
pub struct AwsProvider {
    pub(crate) ec2: aws_sdk_ec2::Client,
    iam: aws_sdk_iam::Client,
    sts: aws_sdk_sts::Client,
    pub(crate) wait_limits: WaitLimits,
}

impl AwsProvider {
    /// Builds a provider for `region` from the standard AWS environment: the credential chain
    /// (environment, `AWS_PROFILE` and the shared files, web identity, container and instance
    /// metadata), `AWS_ENDPOINT_URL`, `AWS_MAX_ATTEMPTS` and `AWS_RETRY_MODE`.
    ///
    /// The `region` argument wins over `AWS_REGION`. Calls time out after [`CONNECT_TIMEOUT`]
    /// to connect, [`ATTEMPT_TIMEOUT`] per attempt and [`OPERATION_TIMEOUT`] in all. Credentials
    /// are resolved lazily, so missing credentials surface as an error of the first API call.
    pub async fn from_environment(region: &str) -> AwsProvider {
        let config = aws_config::defaults(BehaviorVersion::latest())
            .region(Region::new(region.to_owned()))
            .timeout_config(default_timeouts())
            .load()
            .await;
        AwsProvider::from_sdk_config(&config)
    }

    /// Builds a provider from an existing configuration, keeping its endpoint, credentials,
    /// retry and timeout settings as they are (tests point it at an emulator this way).
    pub fn from_sdk_config(config: &SdkConfig) -> AwsProvider {
        AwsProvider::from_clients(
            aws_sdk_ec2::Client::new(config),
            aws_sdk_iam::Client::new(config),
            aws_sdk_sts::Client::new(config),
        )
    }

    /// Builds a provider from ready clients, e.g. ones with extra SDK interceptors.
    pub fn from_clients(ec2: aws_sdk_ec2::Client, iam: aws_sdk_iam::Client, sts: aws_sdk_sts::Client) -> AwsProvider {
        AwsProvider { ec2, iam, sts, wait_limits: WaitLimits::default() }
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

/// Builds the timeouts that [`AwsProvider::from_environment`] sets.
pub fn default_timeouts() -> TimeoutConfig {
    TimeoutConfig::builder()
        .connect_timeout(CONNECT_TIMEOUT)
        .operation_attempt_timeout(ATTEMPT_TIMEOUT)
        .operation_timeout(OPERATION_TIMEOUT)
        .build()
}
