//! `aws.subnet`: a subnet in one availability zone.

use aws_sdk_ec2::types::{ResourceType, Subnet};
use tether_engine::{ApplyRequest, DeleteRequest, ProviderError};
use tether_model::ObservedResource;

use super::{observed, optional_string, response_field};
use crate::attributes::AttributeReader;
use crate::client::AwsProvider;
use crate::error::{send, send_unless_absent};
use crate::kind::Kind;
use crate::tags::{
    desired_tags, environment_filter, observed_tags, owned_address, tag_specification, update_tags_only,
};

/// Lists the environment's subnets.
///
/// # Errors
/// Fails when DescribeSubnets fails.
pub(crate) async fn observe(
    ec2: &aws_sdk_ec2::Client,
    environment: &str,
) -> Result<Vec<ObservedResource>, ProviderError> {
    let request = ec2.describe_subnets().filters(environment_filter(environment));
    let subnets: Vec<Subnet> = send("DescribeSubnets", request.into_paginator().items().send().collect()).await?;

    let observed_subnets = subnets.iter().filter_map(|subnet| {
        let id = subnet.subnet_id()?;
        let address = owned_address(subnet.tags(), Kind::Subnet, id, environment)?;
        Some(observed(
            address,
            id,
            [
                ("vpc_id", optional_string(subnet.vpc_id())),
                ("cidr_block", optional_string(subnet.cidr_block())),
                ("availability_zone", optional_string(subnet.availability_zone())),
                ("tags", observed_tags(subnet.tags())),
            ],
        ))
    });
    Ok(observed_subnets.collect())
}

/// Creates the subnet with its tags.
///
/// # Errors
/// Fails on invalid attributes or when CreateSubnet fails, e.g. `InvalidSubnet.Conflict`.
pub(crate) async fn create(provider: &AwsProvider, request: &ApplyRequest<'_>) -> Result<String, ProviderError> {
    const OPERATION: &str = "CreateSubnet";
    let reader = AttributeReader::new(request.address, request.attributes, OPERATION);
    let vpc_id = reader.string("vpc_id")?;
    let cidr_block = reader.string("cidr_block")?;
    let availability_zone = reader.string("availability_zone")?;
    let tags = desired_tags(&reader, request.environment)?;

    let call = provider
        .ec2
        .create_subnet()
        .vpc_id(vpc_id)
        .cidr_block(cidr_block)
        .availability_zone(availability_zone)
        .tag_specifications(tag_specification(ResourceType::Subnet, &tags))
        .send();
    let output = send(OPERATION, call).await?;
    let id = response_field(output.subnet().and_then(Subnet::subnet_id), OPERATION, "Subnet.SubnetId")?;
    tracing::debug!(id, "subnet created");
    Ok(id.to_owned())
}

/// Updates the subnet's tags, the only attribute that changes in place.
///
/// # Errors
/// Fails when another attribute would change, or when a tag call fails.
pub(crate) async fn update(
    provider: &AwsProvider,
    request: &ApplyRequest<'_>,
    id: &str,
) -> Result<String, ProviderError> {
    update_tags_only(&provider.ec2, request, id, &["vpc_id", "cidr_block", "availability_zone"]).await
}

/// Deletes the subnet; one that is already gone counts as deleted.
///
/// # Errors
/// Fails when DeleteSubnet fails.
pub(crate) async fn delete(provider: &AwsProvider, request: &DeleteRequest<'_>) -> Result<(), ProviderError> {
    let call = provider.ec2.delete_subnet().subnet_id(request.id).send();
    send_unless_absent("DeleteSubnet", &["InvalidSubnetID.NotFound"], call).await?;
    Ok(())
}
