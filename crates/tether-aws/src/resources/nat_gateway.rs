//! `aws.nat_gateway`: a public NAT gateway with one Elastic IP.

use aws_sdk_ec2::types::{NatGateway, NatGatewayState, ResourceType};
use tether_engine::{ApplyRequest, DeleteRequest, ProviderError};
use tether_model::{ObservedResource, Value};

use super::{observed, optional_string, response_field};
use crate::attributes::AttributeReader;
use crate::client::AwsProvider;
use crate::error::{AwsError, has_code, send, send_unless_absent};
use crate::idempotency::client_token;
use crate::kind::Kind;
use crate::retry::{SettlePolicy, retry_while_settling};
use crate::tags::{
    desired_tags, environment_filter, observed_tags, owned_address, tag_specification, update_tags_only,
};
use crate::wait::wait_until;

const NOT_FOUND: &[&str] = &["NatGatewayNotFound", "InvalidNatGatewayID.NotFound"];

/// Lists the environment's NAT gateways, skipping deleted, deleting and failed ones.
///
/// # Errors
/// Fails when DescribeNatGateways fails.
pub(crate) async fn observe(
    ec2: &aws_sdk_ec2::Client,
    environment: &str,
) -> Result<Vec<ObservedResource>, ProviderError> {
    let request = ec2.describe_nat_gateways().filter(environment_filter(environment));
    let gateways: Vec<NatGateway> =
        send("DescribeNatGateways", request.into_paginator().items().send().collect()).await?;

    let observed_gateways = gateways.iter().filter(|gateway| is_live(gateway.state())).filter_map(|gateway| {
        let id = gateway.nat_gateway_id()?;
        let address = owned_address(gateway.tags(), Kind::NatGateway, id, environment)?;
        Some(observed(
            address,
            id,
            [
                ("subnet_id", optional_string(gateway.subnet_id())),
                ("allocation_id", allocation_id(gateway).map_or(Value::Null, Value::from)),
                ("tags", observed_tags(gateway.tags())),
            ],
        ))
    });
    Ok(observed_gateways.collect())
}

/// True for a gateway that exists or is being created.
fn is_live(state: Option<&NatGatewayState>) -> bool {
    !matches!(state, Some(NatGatewayState::Deleted | NatGatewayState::Deleting | NatGatewayState::Failed))
}

/// Returns the allocation id of the gateway's primary address, or of the first address when none
/// is marked primary.
fn allocation_id(gateway: &NatGateway) -> Option<&str> {
    let addresses = gateway.nat_gateway_addresses();
    let primary = addresses.iter().find(|address| address.is_primary() == Some(true));
    primary.or(addresses.first()).and_then(|address| address.allocation_id())
}

/// Creates the gateway with an idempotency token, then waits until it is available.
///
/// # Errors
/// Fails on invalid attributes, when an API call fails, when the gateway fails, or (retryably)
/// when it is not available within the wait limit.
pub(crate) async fn create(provider: &AwsProvider, request: &ApplyRequest<'_>) -> Result<String, ProviderError> {
    const OPERATION: &str = "CreateNatGateway";
    let reader = AttributeReader::new(request.address, request.attributes, OPERATION);
    let subnet_id = reader.string("subnet_id")?;
    let allocation_id = reader.string("allocation_id")?;
    let tags = desired_tags(&reader, request.environment)?;

    let create_with_token = |superseded: Option<String>| {
        let token = client_token(request.environment, request.address, request.attributes, superseded.as_deref());
        let call = provider
            .ec2
            .create_nat_gateway()
            .subnet_id(subnet_id)
            .allocation_id(allocation_id)
            .client_token(token)
            .tag_specifications(tag_specification(ResourceType::Natgateway, &tags))
            .send();
        send(OPERATION, call)
    };

    // A subnet or Elastic IP created moments ago may not be visible to CreateNatGateway yet.
    let settling =
        ["InvalidSubnet", "InvalidSubnetID.NotFound", "InvalidElasticIpID.NotFound", "InvalidAllocationID.NotFound"];
    let mut output = retry_while_settling(
        &provider.created,
        SettlePolicy::DEFAULT,
        OPERATION,
        &settling,
        &[subnet_id, allocation_id],
        || create_with_token(None),
    )
    .await?;
    let mut gateway = response_field(output.nat_gateway(), OPERATION, "NatGateway")?;
    if !is_live(gateway.state()) {
        // The token belongs to an earlier gateway that is gone, so AWS returned that one again.
        let superseded = gateway.nat_gateway_id().map(str::to_owned);
        output = create_with_token(superseded).await?;
        gateway = response_field(output.nat_gateway(), OPERATION, "NatGateway")?;
    }

    let id = response_field(gateway.nat_gateway_id(), OPERATION, "NatGateway.NatGatewayId")?.to_owned();
    tracing::debug!(id, "NAT gateway created");
    wait_until(provider.wait_limits, "DescribeNatGateways", &id, "available", || poll_available(&provider.ec2, &id))
        .await?;
    Ok(id)
}

/// Returns true once the gateway is available. A gateway not listed yet is still pending,
/// because EC2 reads are eventually consistent.
async fn poll_available(ec2: &aws_sdk_ec2::Client, id: &str) -> Result<bool, ProviderError> {
    const OPERATION: &str = "DescribeNatGateways";
    let output = match send(OPERATION, ec2.describe_nat_gateways().nat_gateway_ids(id).send()).await {
        Ok(output) => output,
        Err(error) if has_code(&error, NOT_FOUND) => return Ok(false),
        Err(error) => return Err(error),
    };
    let Some(gateway) = output.nat_gateways().first() else {
        return Ok(false);
    };

    match gateway.state() {
        Some(NatGatewayState::Available) => Ok(true),
        Some(NatGatewayState::Pending) | None => Ok(false),
        Some(state) => {
            let reason = gateway.failure_message().unwrap_or("AWS gave no reason");
            let error = AwsError::FailedState {
                id: id.to_owned(),
                state: state.as_str().to_owned(),
                reason: reason.to_owned(),
            };
            Err(error.into_provider_error(OPERATION))
        }
    }
}

/// Updates the gateway's tags, the only attribute that changes in place.
///
/// # Errors
/// Fails when the subnet or address would change, or when a tag call fails.
pub(crate) async fn update(
    provider: &AwsProvider,
    request: &ApplyRequest<'_>,
    id: &str,
) -> Result<String, ProviderError> {
    update_tags_only(&provider.ec2, request, id, &["subnet_id", "allocation_id"]).await
}

/// Deletes the gateway and waits until it is gone, so that its Elastic IP and subnet can go next.
///
/// # Errors
/// Fails when an API call fails, or (retryably) when the gateway is not deleted within the wait limit.
pub(crate) async fn delete(provider: &AwsProvider, request: &DeleteRequest<'_>) -> Result<(), ProviderError> {
    let call = provider.ec2.delete_nat_gateway().nat_gateway_id(request.id).send();
    if send_unless_absent("DeleteNatGateway", NOT_FOUND, call).await?.is_none() {
        return Ok(());
    }

    let id = request.id;
    wait_until(provider.wait_limits, "DescribeNatGateways", id, "deleted", || poll_deleted(&provider.ec2, id)).await
}

/// Returns true once the gateway is deleted or no longer listed.
async fn poll_deleted(ec2: &aws_sdk_ec2::Client, id: &str) -> Result<bool, ProviderError> {
    let output = match send("DescribeNatGateways", ec2.describe_nat_gateways().nat_gateway_ids(id).send()).await {
        Ok(output) => output,
        Err(error) if has_code(&error, NOT_FOUND) => return Ok(true),
        Err(error) => return Err(error),
    };
    let state = output.nat_gateways().first().and_then(NatGateway::state);
    Ok(matches!(state, None | Some(NatGatewayState::Deleted | NatGatewayState::Failed)))
}
