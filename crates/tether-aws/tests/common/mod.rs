//! Shared setup for the tests against moto: the emulator, a provider pointed at it, an SDK
//! interceptor that counts API calls, and builders for every resource kind.

// Each test binary uses a different subset of these helpers.
#![allow(dead_code)]

pub mod network;

use std::collections::{BTreeMap, BTreeSet};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use aws_config::retry::RetryConfig;
use aws_config::timeout::TimeoutConfig;
use aws_config::{BehaviorVersion, Region, SdkConfig};
use aws_sdk_ec2::config::interceptors::BeforeTransmitInterceptorContextRef;
use aws_sdk_ec2::config::{ConfigBag, Credentials, Intercept, RuntimeComponents, SharedCredentialsProvider};
use aws_sdk_ec2::error::BoxError;
use tether_aws::{ADDRESS_TAG, AwsProvider, ENVIRONMENT_TAG, WaitLimits};
use tether_engine::{Applied, ApplyRequest, DeleteRequest, ObserveScope, Provider, ProviderError};
use tether_model::{Address, Attributes, ObservedResource, Resource, State, StateResource, Value};
use tether_testkit::moto::MotoServer;

/// The region every test uses; moto serves zones `a`, `b` and `c` in it.
pub const REGION: &str = "ap-southeast-2";

/// An AMI that moto preloads in every region.
pub const AMI: &str = "ami-12c6146b";

/// The HyperShift infra id used in the tags.
pub const INFRA_ID: &str = "ai-x7k2p";

/// Counts API calls by their `Action` (EC2, IAM and STS all use the Query protocol).
///
/// It counts HTTP attempts, so a retried call counts twice; moto does not throttle, so in
/// these tests an attempt is a call.
#[derive(Debug, Clone, Default)]
pub struct CallCounter {
    counts: Arc<Mutex<BTreeMap<String, usize>>>,
}

impl CallCounter {
    /// The counts since the last reset, by action name.
    pub fn counts(&self) -> BTreeMap<String, usize> {
        self.counts.lock().unwrap().clone()
    }

    /// The number of calls since the last reset.
    pub fn total(&self) -> usize {
        self.counts.lock().unwrap().values().sum()
    }

    /// Forgets every count.
    pub fn reset(&self) {
        self.counts.lock().unwrap().clear();
    }
}

impl Intercept for CallCounter {
    fn name(&self) -> &'static str {
        "CallCounter"
    }

    fn read_before_transmit(
        &self,
        context: &BeforeTransmitInterceptorContextRef<'_>,
        _runtime_components: &RuntimeComponents,
        _cfg: &mut ConfigBag,
    ) -> Result<(), BoxError> {
        let body = context.request().body().bytes().unwrap_or_default();
        let body = String::from_utf8_lossy(body);
        let action = body.split('&').find_map(|pair| pair.strip_prefix("Action=")).unwrap_or("(unknown)");
        *self.counts.lock().unwrap().entry(action.to_owned()).or_default() += 1;
        Ok(())
    }
}

/// A moto server and a provider that talks to it.
pub struct Emulator {
    /// Kept alive for the test's duration; dropping it stops moto.
    pub server: MotoServer,
    /// The provider under test, with the call counter on its EC2 client.
    pub provider: AwsProvider,
    /// Counts the provider's EC2 calls.
    pub calls: CallCounter,
    /// A plain EC2 client for arranging and checking things behind the provider's back.
    pub ec2: aws_sdk_ec2::Client,
}

/// Starts moto and builds a provider for it with static test credentials, two attempts per call
/// and short waits.
pub async fn start() -> anyhow::Result<Emulator> {
    let server = tokio::task::spawn_blocking(MotoServer::start).await??;
    let config = sdk_config(&server.endpoint());

    let calls = CallCounter::default();
    let ec2_config = aws_sdk_ec2::config::Builder::from(&config).interceptor(calls.clone()).build();
    let provider = AwsProvider::from_clients(
        aws_sdk_ec2::Client::from_conf(ec2_config),
        aws_sdk_iam::Client::new(&config),
        aws_sdk_sts::Client::new(&config),
    )
    .with_wait_limits(WaitLimits { timeout: Duration::from_secs(10), poll_interval: Duration::from_millis(50) });

    let ec2 = aws_sdk_ec2::Client::new(&config);
    Ok(Emulator { server, provider, calls, ec2 })
}

/// Builds an SDK configuration for `endpoint` that reads nothing from the environment.
pub fn sdk_config(endpoint: &str) -> SdkConfig {
    let credentials = Credentials::new("testing", "testing", None, None, "tether-aws-tests");
    SdkConfig::builder()
        .behavior_version(BehaviorVersion::latest())
        .region(Region::new(REGION))
        .endpoint_url(endpoint)
        .credentials_provider(SharedCredentialsProvider::new(credentials))
        .retry_config(RetryConfig::standard().with_max_attempts(2).with_initial_backoff(Duration::from_millis(10)))
        .timeout_config(TimeoutConfig::builder().operation_timeout(Duration::from_secs(30)).build())
        .build()
}

/// Builds the tags that the catalogue gives a resource: tether's marks plus HyperShift's.
pub fn tags(environment: &str, address: &Address) -> Value {
    Value::map([
        (ENVIRONMENT_TAG.to_owned(), Value::from(environment)),
        (ADDRESS_TAG.to_owned(), Value::from(address.to_string())),
        (format!("kubernetes.io/cluster/{INFRA_ID}"), Value::from("owned")),
        ("hypershift.openshift.io/infra-id".to_owned(), Value::from(INFRA_ID)),
        ("hypershift.openshift.io/cluster-name".to_owned(), Value::from("ai")),
        ("Name".to_owned(), Value::from(format!("{INFRA_ID}-{}", address.name()))),
    ])
}

/// Attributes from `(name, value)` pairs.
pub fn attributes<const N: usize>(pairs: [(&str, Value); N]) -> Attributes {
    pairs.into_iter().map(|(name, value)| (name.to_owned(), value)).collect()
}

/// Attributes of a tagged resource: `pairs` plus the catalogue's tags.
pub fn tagged<const N: usize>(environment: &str, address: &Address, pairs: [(&str, Value); N]) -> Attributes {
    let mut attributes = attributes(pairs);
    attributes.insert("tags".to_owned(), tags(environment, address));
    attributes
}

/// Builds an ingress rule in the attribute's shape. `ports` is `None` for protocol `-1`.
pub fn ingress_rule(protocol: &str, ports: Option<(i64, i64)>, cidr: &str) -> Value {
    let mut entries = vec![("protocol", Value::from(protocol)), ("cidr", Value::from(cidr))];
    if let Some((from, to)) = ports {
        entries.push(("from_port", Value::Int(from)));
        entries.push(("to_port", Value::Int(to)));
    }
    Value::map(entries)
}

/// Creates a resource through the provider.
pub async fn create(
    provider: &AwsProvider,
    environment: &str,
    address: &Address,
    attributes: &Attributes,
) -> Result<Applied, ProviderError> {
    let request = ApplyRequest { environment, address, id: None, attributes, before: None };
    provider.create(&request).await
}

/// Updates a resource from `before` to `after`.
pub async fn update(
    provider: &AwsProvider,
    environment: &str,
    address: &Address,
    id: &str,
    before: &Attributes,
    after: &Attributes,
) -> Result<Applied, ProviderError> {
    let request = ApplyRequest { environment, address, id: Some(id), attributes: after, before: Some(before) };
    provider.update(&request).await
}

/// Deletes a resource.
pub async fn delete(
    provider: &AwsProvider,
    environment: &str,
    address: &Address,
    id: &str,
    attributes: &Attributes,
) -> Result<(), ProviderError> {
    provider.delete(&DeleteRequest { environment, address, id, attributes }).await
}

/// Observes the environment and returns the resources by address.
pub async fn observe(
    provider: &AwsProvider,
    environment: &str,
    desired: &[Resource],
    state: &State,
) -> Result<BTreeMap<Address, ObservedResource>, ProviderError> {
    let scope = ObserveScope { environment, desired, state };
    let observed = provider.observe(&scope).await?;
    Ok(observed.into_iter().map(|resource| (resource.address.clone(), resource)).collect())
}

/// A state that records `applied` resources, as the executor would after apply.
pub fn state_of(environment: &str, applied: &BTreeMap<Address, Applied>) -> State {
    let mut state = State::empty(environment);
    for (address, applied) in applied {
        let resource = StateResource {
            id: applied.id.clone(),
            attributes: applied.attributes.clone(),
            depends_on: BTreeSet::new(),
        };
        state.resources.insert(address.clone(), resource);
    }
    state
}

/// The AWS error code of a provider error.
pub fn code(error: &ProviderError) -> Option<&str> {
    tether_aws::error_code(error)
}
