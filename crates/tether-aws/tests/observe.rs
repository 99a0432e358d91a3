//! Observation against moto: ownership filtering, call counts and ambiguous tags.

mod common;

use aws_sdk_ec2::types::{ResourceType, Tag, TagSpecification};
use common::network::Network;
use common::{create, observe, state_of, tagged};
use tether_aws::{ADDRESS_TAG, ENVIRONMENT_TAG};
use tether_model::{Address, State, Value};

/// Creates a VPC behind the provider's back with the given tags.
async fn create_raw_vpc(ec2: &aws_sdk_ec2::Client, cidr: &str, tags: &[(&str, &str)]) -> anyhow::Result<String> {
    let mut request = ec2.create_vpc().cidr_block(cidr);
    if !tags.is_empty() {
        let tags = tags.iter().map(|(key, value)| Tag::builder().key(*key).value(*value).build()).collect();
        request = request.tag_specifications(
            TagSpecification::builder().resource_type(ResourceType::Vpc).set_tags(Some(tags)).build(),
        );
    }
    let output = request.send().await?;
    Ok(output.vpc().and_then(|vpc| vpc.vpc_id()).unwrap_or_default().to_owned())
}

fn vpc_attributes(environment: &str, address: &Address, cidr: &str) -> tether_model::Attributes {
    tagged(
        environment,
        address,
        [
            ("cidr_block", Value::from(cidr)),
            ("enable_dns_support", Value::Bool(true)),
            ("enable_dns_hostnames", Value::Bool(false)),
        ],
    )
}

#[tokio::test]
async fn other_environments_ignored() -> anyhow::Result<()> {
    let emulator = common::start().await?;
    let main = Address::aws("vpc", "main");
    let dev = create(&emulator.provider, "dev", &main, &vpc_attributes("dev", &main, "10.0.0.0/16")).await?;
    create(&emulator.provider, "staging", &main, &vpc_attributes("staging", &main, "10.1.0.0/16")).await?;
    create_raw_vpc(&emulator.ec2, "10.2.0.0/16", &[]).await?;
    create_raw_vpc(&emulator.ec2, "10.3.0.0/16", &[(ENVIRONMENT_TAG, "dev")]).await?;
    create_raw_vpc(&emulator.ec2, "10.4.0.0/16", &[(ENVIRONMENT_TAG, "dev"), (ADDRESS_TAG, "aws.subnet.main")]).await?;
    create_raw_vpc(&emulator.ec2, "10.5.0.0/16", &[(ENVIRONMENT_TAG, "dev"), (ADDRESS_TAG, "not an address")]).await?;

    let observed = observe(&emulator.provider, "dev", &[], &State::empty("dev")).await?;

    assert_eq!(observed.keys().collect::<Vec<_>>(), [&main]);
    assert_eq!(observed[&main].id, dev.id);
    assert_eq!(observed[&main].attributes, dev.attributes);
    Ok(())
}

#[tokio::test]
async fn default_vpc_not_observed() -> anyhow::Result<()> {
    let emulator = common::start().await?;
    let default_vpcs = emulator.ec2.describe_vpcs().send().await?;
    assert!(default_vpcs.vpcs().iter().any(|vpc| vpc.is_default() == Some(true)), "moto has a default VPC");

    let observed = observe(&emulator.provider, "dev", &[], &State::empty("dev")).await?;
    assert!(observed.is_empty(), "{observed:?}");
    Ok(())
}

#[tokio::test]
async fn describe_calls_independent_of_count() -> anyhow::Result<()> {
    let emulator = common::start().await?;
    let network = Network::create(&emulator.provider, "dev").await?;
    let state = state_of("dev", &network.applied);

    emulator.calls.reset();
    observe(&emulator.provider, "dev", &[], &state).await?;
    let small = emulator.calls.counts();

    for (index, cidr) in ["10.0.16.0/20", "10.0.32.0/20", "10.0.144.0/20"].into_iter().enumerate() {
        let address = Address::aws("subnet", &format!("extra-{index}"));
        let attributes = tagged(
            "dev",
            &address,
            [
                ("vpc_id", Value::from(network.id("vpc", "main"))),
                ("cidr_block", Value::from(cidr)),
                ("availability_zone", Value::from("ap-southeast-2b")),
            ],
        );
        create(&emulator.provider, "dev", &address, &attributes).await?;
    }
    emulator.calls.reset();
    let observed = observe(&emulator.provider, "dev", &[], &state).await?;
    let large = emulator.calls.counts();

    assert_eq!(observed.len(), network.order.len() + 3);
    assert_eq!(small, large);
    for action in [
        "DescribeVpcs",
        "DescribeDhcpOptions",
        "DescribeInternetGateways",
        "DescribeSubnets",
        "DescribeAddresses",
        "DescribeNatGateways",
        "DescribeRouteTables",
        "DescribeSecurityGroups",
        "DescribeInstances",
        "DescribeVpcEndpoints",
    ] {
        assert_eq!(large.get(action), Some(&1), "{action} in {large:?}");
    }
    assert_eq!(large.get("DescribeVpcAttribute"), Some(&2), "{large:?}");
    assert_eq!(large.values().sum::<usize>(), 12, "{large:?}");
    Ok(())
}

#[tokio::test]
async fn duplicate_address_tag_rejected() -> anyhow::Result<()> {
    let emulator = common::start().await?;
    let tags = [(ENVIRONMENT_TAG, "dev"), (ADDRESS_TAG, "aws.vpc.main")];
    let first = create_raw_vpc(&emulator.ec2, "10.0.0.0/16", &tags).await?;
    let second = create_raw_vpc(&emulator.ec2, "10.1.0.0/16", &tags).await?;

    let error = observe(&emulator.provider, "dev", &[], &State::empty("dev")).await.unwrap_err();

    let message = error.source.to_string();
    assert!(message.contains("aws.vpc.main is carried by several AWS resources"), "{message}");
    assert!(message.contains(&first), "{message}");
    assert!(message.contains(&second), "{message}");
    assert!(!error.retryable);
    Ok(())
}

#[tokio::test]
async fn unclaimed_routes_not_observed() -> anyhow::Result<()> {
    let emulator = common::start().await?;
    let network = Network::create(&emulator.provider, "dev").await?;
    let table_id = network.id("route_table", "public");
    let call = emulator.ec2.create_route().route_table_id(table_id).destination_cidr_block("172.16.0.0/12");
    call.gateway_id(network.id("internet_gateway", "main")).send().await?;

    let state = state_of("dev", &network.applied);
    let observed = observe(&emulator.provider, "dev", &[], &state).await?;

    let route_ids: Vec<&str> = observed
        .values()
        .filter(|resource| resource.address.kind() == "route")
        .map(|resource| resource.id.as_str())
        .collect();
    assert_eq!(route_ids.len(), 3, "{route_ids:?}");
    assert!(!route_ids.iter().any(|id| id.ends_with("172.16.0.0/12") || id.ends_with("10.0.0.0/16")), "{route_ids:?}");
    Ok(())
}

#[tokio::test]
async fn two_environments_stay_apart() -> anyhow::Result<()> {
    // moto 5.2.5 ignores the tag filter of DescribeNatGateways, so this catches a provider that
    // trusts the filter alone.
    let emulator = common::start().await?;
    let dev = Network::create(&emulator.provider, "dev").await?;
    let prod = Network::create(&emulator.provider, "prod").await?;

    let observed = observe(&emulator.provider, "dev", &dev.desired_untagged(), &State::empty("dev")).await?;
    let gateway = Address::aws("nat_gateway", "a");
    assert_eq!(observed.get(&gateway).map(|item| item.id.as_str()), Some(dev.id("nat_gateway", "a")));
    for resource in observed.values() {
        assert_ne!(
            resource.id,
            prod.id(resource.address.kind(), resource.address.name()),
            "{} is prod's",
            resource.address
        );
    }
    Ok(())
}
