//! `aws.internet_gateway`: an internet gateway and its attachment to one VPC.

use aws_sdk_ec2::types::{AttachmentStatus, InternetGateway, ResourceType};
use tether_engine::{ApplyRequest, DeleteRequest, ProviderError};
use tether_model::{ObservedResource, Value};

use super::{observed, response_field};
use crate::attributes::{AttributeReader, changed};
use crate::client::AwsProvider;
use crate::error::{send, send_unless_absent};
use crate::kind::Kind;
use crate::tags::{desired_tags, environment_filter, observed_tags, owned_address, tag_specification, update_tags};

const NOT_FOUND: &[&str] = &["InvalidInternetGatewayID.NotFound"];

/// Lists the environment's internet gateways; `vpc_id` comes from the attachment, and is null
/// when the gateway is detached.
///
/// # Errors
/// Fails when DescribeInternetGateways fails.
pub(crate) async fn observe(
    ec2: &aws_sdk_ec2::Client,
    environment: &str,
) -> Result<Vec<ObservedResource>, ProviderError> {
    let request = ec2.describe_internet_gateways().filters(environment_filter(environment));
    let gateways: Vec<InternetGateway> =
        send("DescribeInternetGateways", request.into_paginator().items().send().collect()).await?;

    let observed_gateways = gateways.iter().filter_map(|gateway| {
        let id = gateway.internet_gateway_id()?;
        let address = owned_address(gateway.tags(), Kind::InternetGateway, id, environment)?;
        let vpc_id = attached_vpc(gateway).map_or(Value::Null, Value::from);
        Some(observed(address, id, [("vpc_id", vpc_id), ("tags", observed_tags(gateway.tags()))]))
    });
    Ok(observed_gateways.collect())
}

/// Returns the VPC that the gateway is attached to, or being attached to.
fn attached_vpc(gateway: &InternetGateway) -> Option<&str> {
    gateway
        .attachments()
        .iter()
        .find(|attachment| {
            !matches!(attachment.state(), Some(AttachmentStatus::Detached | AttachmentStatus::Detaching))
        })
        .and_then(|attachment| attachment.vpc_id())
}

/// Creates the gateway with its tags, then attaches it to `vpc_id`.
///
/// # Errors
/// Fails on invalid attributes or when an API call fails. A gateway created before a failed
/// attachment stays, tagged and detached, so the next plan updates it.
pub(crate) async fn create(provider: &AwsProvider, request: &ApplyRequest<'_>) -> Result<String, ProviderError> {
    const OPERATION: &str = "CreateInternetGateway";
    let reader = AttributeReader::new(request.address, request.attributes, OPERATION);
    let vpc_id = reader.string("vpc_id")?;
    let tags = desired_tags(&reader, request.environment)?;

    let tag_specification = tag_specification(ResourceType::InternetGateway, &tags);
    let output =
        send(OPERATION, provider.ec2.create_internet_gateway().tag_specifications(tag_specification).send()).await?;
    let gateway = output.internet_gateway();
    let id = response_field(
        gateway.and_then(InternetGateway::internet_gateway_id),
        OPERATION,
        "InternetGateway.InternetGatewayId",
    )?;
    tracing::debug!(id, "internet gateway created");

    attach(&provider.ec2, id, vpc_id).await?;
    Ok(id.to_owned())
}

/// Moves the gateway to another VPC when `vpc_id` changed, and updates its tags.
///
/// # Errors
/// Fails on invalid attributes or when an API call fails.
pub(crate) async fn update(
    provider: &AwsProvider,
    request: &ApplyRequest<'_>,
    id: &str,
) -> Result<String, ProviderError> {
    let reader = AttributeReader::new(request.address, request.attributes, "AttachInternetGateway");
    let vpc_id = reader.string("vpc_id")?;
    let tags = desired_tags(&reader, request.environment)?;

    if changed(request.before, request.attributes, "vpc_id") {
        let attached = request.before.and_then(|before| before.get("vpc_id")).and_then(Value::as_str);
        if let Some(old_vpc_id) = attached {
            detach(&provider.ec2, id, old_vpc_id).await?;
        }
        attach(&provider.ec2, id, vpc_id).await?;
    }

    update_tags(&provider.ec2, id, request.before, &tags).await?;
    Ok(id.to_owned())
}

/// Detaches the gateway from its VPC, then deletes it; a gateway already gone counts as deleted.
///
/// # Errors
/// Fails when DetachInternetGateway or DeleteInternetGateway fails.
pub(crate) async fn delete(provider: &AwsProvider, request: &DeleteRequest<'_>) -> Result<(), ProviderError> {
    if let Some(vpc_id) = request.attributes.get("vpc_id").and_then(Value::as_str) {
        detach(&provider.ec2, request.id, vpc_id).await?;
    }

    let call = provider.ec2.delete_internet_gateway().internet_gateway_id(request.id).send();
    send_unless_absent("DeleteInternetGateway", NOT_FOUND, call).await?;
    Ok(())
}

async fn attach(ec2: &aws_sdk_ec2::Client, id: &str, vpc_id: &str) -> Result<(), ProviderError> {
    let call = ec2.attach_internet_gateway().internet_gateway_id(id).vpc_id(vpc_id).send();
    send("AttachInternetGateway", call).await?;
    tracing::debug!(id, vpc_id, "internet gateway attached");
    Ok(())
}

/// Detaches the gateway; a gateway that is gone or no longer attached needs nothing.
async fn detach(ec2: &aws_sdk_ec2::Client, id: &str, vpc_id: &str) -> Result<(), ProviderError> {
    let call = ec2.detach_internet_gateway().internet_gateway_id(id).vpc_id(vpc_id).send();
    let absent_codes = [NOT_FOUND[0], "Gateway.NotAttached", "InvalidVpcID.NotFound"];
    send_unless_absent("DetachInternetGateway", &absent_codes, call).await?;
    Ok(())
}
