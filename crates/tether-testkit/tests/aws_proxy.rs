//! The AWS proxy against a real moto: forwarding, the call log, injected faults and concurrent
//! latency.

use std::time::Duration;

use aws_sdk_ec2::config::{BehaviorVersion, Credentials, Region};
use tether_testkit::aws_proxy::{AwsFault, AwsProxy};
use tether_testkit::moto::MotoServer;

/// Builds an EC2 client for `endpoint` that tries each call once, so injected faults reach the test.
fn ec2(endpoint: &str) -> aws_sdk_ec2::Client {
    let config = aws_sdk_ec2::Config::builder()
        .behavior_version(BehaviorVersion::latest())
        .endpoint_url(endpoint)
        .region(Region::new("ap-southeast-2"))
        .credentials_provider(Credentials::new("testing", "testing", None, None, "moto"))
        .retry_config(aws_sdk_ec2::config::retry::RetryConfig::disabled())
        .build();
    aws_sdk_ec2::Client::from_conf(config)
}

fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_multi_thread().worker_threads(2).enable_all().build().unwrap()
}

fn start() -> (MotoServer, AwsProxy) {
    let moto = MotoServer::start().expect("moto starts; run `scripts/emulators install` first");
    let proxy = AwsProxy::start(&moto.endpoint()).expect("proxy starts");
    (moto, proxy)
}

#[test]
fn forwards_calls_and_records_service_action_and_status() {
    let (_moto, proxy) = start();
    let client = ec2(&proxy.endpoint());
    let vpc = runtime().block_on(client.create_vpc().cidr_block("10.9.0.0/16").send()).expect("CreateVpc answered");
    assert!(vpc.vpc().and_then(|vpc| vpc.vpc_id()).is_some_and(|id| id.starts_with("vpc-")));

    let calls = proxy.calls();
    assert_eq!(calls.len(), 1, "{calls:?}");
    assert_eq!((calls[0].service.as_str(), calls[0].action.as_str(), calls[0].status), ("ec2", "CreateVpc", 200));
    assert!(!calls[0].injected);
}

#[test]
fn injected_error_reaches_the_sdk_with_its_code_only_as_often_as_asked() {
    let (_moto, proxy) = start();
    proxy.inject(AwsFault::error(400, "Throttling").action("DescribeVpcs").times(1));
    let client = ec2(&proxy.endpoint());
    let runtime = runtime();

    let error = runtime.block_on(client.describe_vpcs().send()).expect_err("the first call is throttled");
    let code = aws_sdk_ec2::error::ProvideErrorMetadata::code(&error).map(str::to_owned);
    assert_eq!(code.as_deref(), Some("Throttling"), "{error:?}");
    runtime.block_on(client.describe_vpcs().send()).expect("the second call is forwarded");

    let statuses: Vec<_> = proxy.calls().iter().map(|call| (call.status, call.injected)).collect();
    assert_eq!(statuses, [(400, true), (200, false)]);
}

#[test]
fn body_contains_narrows_a_fault_to_one_resource() {
    let (_moto, proxy) = start();
    let client = ec2(&proxy.endpoint());
    let runtime = runtime();
    proxy.inject(AwsFault::error(503, "Unavailable").action("CreateVpc").body_contains("10.8.0.0/16"));

    runtime.block_on(client.create_vpc().cidr_block("10.7.0.0/16").send()).expect("another CIDR is forwarded");
    let error = runtime.block_on(client.create_vpc().cidr_block("10.8.0.0/16").send()).expect_err("this CIDR fails");
    assert_eq!(aws_sdk_ec2::error::ProvideErrorMetadata::code(&error), Some("Unavailable"), "{error:?}");
}

#[test]
fn reset_closes_the_connection_without_an_answer() {
    let (_moto, proxy) = start();
    proxy.inject(AwsFault::reset().action("DescribeVpcs"));
    let client = ec2(&proxy.endpoint());

    let error = runtime().block_on(client.describe_vpcs().send()).expect_err("no answer");
    assert!(matches!(error, aws_sdk_ec2::error::SdkError::DispatchFailure(_)), "{error:?}");
    assert_eq!(proxy.calls()[0].status, 0);
}

#[test]
fn latency_overlaps_across_concurrent_calls() {
    let (_moto, proxy) = start();
    proxy.set_latency(Duration::from_millis(300));
    let client = ec2(&proxy.endpoint());

    runtime().block_on(async {
        let calls = (0..4).map(|_| client.describe_vpcs().send());
        for result in futures::future::join_all(calls).await {
            result.expect("DescribeVpcs answered");
        }
    });

    // Every call waited its latency, and all four waited at the same time: the last one started
    // before the first one finished.
    let calls = proxy.calls();
    assert_eq!(calls.len(), 4);
    assert!(calls.iter().all(|call| call.finished - call.started >= Duration::from_millis(300)), "{calls:?}");
    let last_start = calls.iter().map(|call| call.started).max().unwrap();
    let first_finish = calls.iter().map(|call| call.finished).min().unwrap();
    assert!(last_start < first_finish, "calls were served one after another: {calls:?}");
}
