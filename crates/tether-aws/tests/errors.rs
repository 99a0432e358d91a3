//! Errors: AWS codes and messages, retryability, and requests rejected before any call.

mod common;

use std::net::TcpListener;

use common::network::Network;
use common::{code, create, delete, observe, tagged, update};
use tether_aws::AwsProvider;
use tether_model::{Address, Attributes, State, Value};

fn subnet_attributes(address: &Address, vpc_id: &str, cidr: &str) -> Attributes {
    tagged(
        "dev",
        address,
        [
            ("vpc_id", Value::from(vpc_id)),
            ("cidr_block", Value::from(cidr)),
            ("availability_zone", Value::from("ap-southeast-2a")),
        ],
    )
}

#[tokio::test]
async fn api_error_carries_code_and_message() -> anyhow::Result<()> {
    let emulator = common::start().await?;
    let network = Network::create(&emulator.provider, "dev").await?;
    let address = Address::aws("subnet", "overlap");

    let attributes = subnet_attributes(&address, network.id("vpc", "main"), "10.0.0.0/24");
    let error = create(&emulator.provider, "dev", &address, &attributes).await.unwrap_err();

    assert_eq!(error.operation, "CreateSubnet");
    assert!(!error.retryable);
    assert_eq!(code(&error), Some("InvalidSubnet.Conflict"));
    let message = error.source.to_string();
    assert!(message.starts_with("InvalidSubnet.Conflict: "), "{message}");
    assert!(message.contains("10.0.0.0/24"), "{message}");
    assert!(message.ends_with("(HTTP 400)"), "{message}");
    Ok(())
}

#[tokio::test]
async fn dependency_violation_reported() -> anyhow::Result<()> {
    let emulator = common::start().await?;
    let network = Network::create(&emulator.provider, "dev").await?;
    let address = Address::aws("vpc", "main");

    let error =
        delete(&emulator.provider, "dev", &address, network.id("vpc", "main"), network.attributes("vpc", "main"))
            .await
            .unwrap_err();

    assert_eq!(error.operation, "DeleteVpc");
    assert_eq!(code(&error), Some("DependencyViolation"));
    Ok(())
}

#[tokio::test]
async fn invalid_attribute_rejected_before_call() -> anyhow::Result<()> {
    let emulator = common::start().await?;
    let address = Address::aws("vpc", "main");
    let mut attributes = tagged(
        "dev",
        &address,
        [("enable_dns_support", Value::Bool(true)), ("enable_dns_hostnames", Value::Bool(true))],
    );
    attributes.insert("cidr_block".to_owned(), Value::Int(16));

    let error = create(&emulator.provider, "dev", &address, &attributes).await.unwrap_err();

    assert_eq!(error.operation, "CreateVpc");
    assert_eq!(error.source.to_string(), "attribute `cidr_block` of aws.vpc.main is invalid: expected a string");
    assert_eq!(emulator.calls.total(), 0);
    Ok(())
}

#[tokio::test]
async fn missing_ownership_tag_rejected() -> anyhow::Result<()> {
    let emulator = common::start().await?;
    let address = Address::aws("eip", "nat-a");
    let attributes = tagged("staging", &address, [("domain", Value::from("vpc"))]);

    let error = create(&emulator.provider, "dev", &address, &attributes).await.unwrap_err();

    assert_eq!(error.source.to_string(), "the tags of aws.eip.nat-a must contain `tether.dev/environment=dev`");
    assert_eq!(emulator.calls.total(), 0);
    Ok(())
}

#[tokio::test]
async fn route_needs_exactly_one_target() -> anyhow::Result<()> {
    let emulator = common::start().await?;
    let address = Address::aws("route", "default");
    let attributes = common::attributes([
        ("route_table_id", Value::from("rtb-1")),
        ("destination_cidr_block", Value::from("0.0.0.0/0")),
        ("gateway_id", Value::from("igw-1")),
        ("nat_gateway_id", Value::from("nat-1")),
    ]);

    let error = create(&emulator.provider, "dev", &address, &attributes).await.unwrap_err();

    assert!(
        error.source.to_string().contains("exactly one of gateway_id, nat_gateway_id and instance_id"),
        "{}",
        error.source
    );
    assert_eq!(emulator.calls.total(), 0);
    Ok(())
}

#[tokio::test]
async fn unsupported_kind_rejected() -> anyhow::Result<()> {
    let emulator = common::start().await?;
    let address = Address::aws("bucket", "logs");

    let error = create(&emulator.provider, "dev", &address, &Attributes::new()).await.unwrap_err();

    assert_eq!(error.source.to_string(), "aws.bucket.logs: `bucket` is not an AWS resource kind that tether manages");
    Ok(())
}

#[tokio::test]
async fn immutable_change_rejected() -> anyhow::Result<()> {
    let emulator = common::start().await?;
    let network = Network::create(&emulator.provider, "dev").await?;
    let address = Address::aws("subnet", "public-a");
    let before = network.attributes("subnet", "public-a").clone();
    let mut after = before.clone();
    after.insert("cidr_block".to_owned(), Value::from("10.0.64.0/20"));
    emulator.calls.reset();

    let error = update(&emulator.provider, "dev", &address, network.id("subnet", "public-a"), &before, &after)
        .await
        .unwrap_err();

    assert!(
        error.source.to_string().contains("`cidr_block` of aws.subnet.public-a cannot change in place"),
        "{}",
        error.source
    );
    assert_eq!(emulator.calls.total(), 0);
    Ok(())
}

/// Returns the URL of a 127.0.0.1 port with nothing listening: bound once, then released.
fn closed_port_endpoint() -> anyhow::Result<String> {
    let listener = TcpListener::bind("127.0.0.1:0")?;
    let port = listener.local_addr()?.port();
    drop(listener);
    Ok(format!("http://127.0.0.1:{port}"))
}

#[tokio::test]
async fn unreachable_endpoint_is_retryable_error() -> anyhow::Result<()> {
    let provider = AwsProvider::from_sdk_config(&common::sdk_config(&closed_port_endpoint()?));

    let error = observe(&provider, "dev", &[], &State::empty("dev")).await.unwrap_err();

    assert!(error.retryable, "{error}: {}", error.source);
    assert_eq!(code(&error), None);
    assert!(error.operation.starts_with("Describe"), "{}", error.operation);
    assert!(error.source.to_string().contains("dispatch failure"), "{}", error.source);
    Ok(())
}
