//! `aws.vpc`: a VPC, its two DNS attributes and its tags.

use std::collections::BTreeMap;

use aws_sdk_ec2::types::{AttributeBooleanValue, ResourceType, Vpc, VpcAttributeName};
use futures::future::try_join_all;
use tether_engine::{ApplyRequest, DeleteRequest, ProviderError};
use tether_model::{Address, ObservedResource, Value};

use super::{observed, optional_string, response_field};
use crate::attributes::{AttributeReader, changed, ensure_unchanged};
use crate::client::AwsProvider;
use crate::error::{send, send_unless_absent};
use crate::kind::Kind;
use crate::tags::{desired_tags, environment_filter, observed_tags, owned_address, tag_specification, update_tags};

/// Lists the environment's VPCs, then reads the DNS attributes of each (two calls per VPC).
/// Also returns each VPC's DHCP options set by VPC id, from which `aws.dhcp_options_association`
/// is observed.
///
/// # Errors
/// Fails when any call fails.
pub(crate) async fn observe(
    ec2: &aws_sdk_ec2::Client,
    environment: &str,
) -> Result<(Vec<ObservedResource>, BTreeMap<String, String>), ProviderError> {
    let request = ec2.describe_vpcs().filters(environment_filter(environment));
    let vpcs: Vec<Vpc> = send("DescribeVpcs", request.into_paginator().items().send().collect()).await?;

    let owned: Vec<(Address, &Vpc)> = vpcs
        .iter()
        .filter_map(|vpc| {
            let id = vpc.vpc_id()?;
            Some((owned_address(vpc.tags(), Kind::Vpc, id, environment)?, vpc))
        })
        .collect();
    let dhcp_options = owned
        .iter()
        .filter_map(|(_, vpc)| Some((vpc.vpc_id()?.to_owned(), vpc.dhcp_options_id()?.to_owned())))
        .collect();
    let observed = try_join_all(owned.into_iter().map(|(address, vpc)| observe_one(ec2, address, vpc))).await?;
    Ok((observed, dhcp_options))
}

async fn observe_one(
    ec2: &aws_sdk_ec2::Client,
    address: Address,
    vpc: &Vpc,
) -> Result<ObservedResource, ProviderError> {
    let id = vpc.vpc_id().unwrap_or_default();
    let (dns_support, dns_hostnames) = futures::try_join!(
        read_dns_attribute(ec2, id, VpcAttributeName::EnableDnsSupport),
        read_dns_attribute(ec2, id, VpcAttributeName::EnableDnsHostnames),
    )?;

    Ok(observed(
        address,
        id,
        [
            ("cidr_block", optional_string(vpc.cidr_block())),
            ("enable_dns_support", Value::Bool(dns_support)),
            ("enable_dns_hostnames", Value::Bool(dns_hostnames)),
            ("tags", observed_tags(vpc.tags())),
        ],
    ))
}

async fn read_dns_attribute(
    ec2: &aws_sdk_ec2::Client,
    id: &str,
    name: VpcAttributeName,
) -> Result<bool, ProviderError> {
    const OPERATION: &str = "DescribeVpcAttribute";
    let output = send(OPERATION, ec2.describe_vpc_attribute().vpc_id(id).attribute(name.clone()).send()).await?;

    let value = match name {
        VpcAttributeName::EnableDnsSupport => output.enable_dns_support(),
        _ => output.enable_dns_hostnames(),
    };
    response_field(value.and_then(AttributeBooleanValue::value), OPERATION, "EnableDns*.Value")
}

/// Creates the VPC with its tags, then sets both DNS attributes.
///
/// # Errors
/// Fails on invalid attributes or when an API call fails. A VPC created before a failed
/// attribute change stays, tagged, so the next plan updates it.
pub(crate) async fn create(provider: &AwsProvider, request: &ApplyRequest<'_>) -> Result<String, ProviderError> {
    const OPERATION: &str = "CreateVpc";
    let reader = AttributeReader::new(request.address, request.attributes, OPERATION);
    let cidr_block = reader.string("cidr_block")?;
    let dns_support = reader.bool("enable_dns_support")?;
    let dns_hostnames = reader.bool("enable_dns_hostnames")?;
    let tags = desired_tags(&reader, request.environment)?;

    let call = provider
        .ec2
        .create_vpc()
        .cidr_block(cidr_block)
        .tag_specifications(tag_specification(ResourceType::Vpc, &tags))
        .send();
    let output = send(OPERATION, call).await?;
    let id = response_field(output.vpc().and_then(Vpc::vpc_id), OPERATION, "Vpc.VpcId")?.to_owned();
    tracing::debug!(id, "VPC created");

    modify_dns_attributes(&provider.ec2, &id, Some(dns_support), Some(dns_hostnames)).await?;
    Ok(id)
}

/// Changes the DNS attributes and tags that differ from the observed ones.
///
/// # Errors
/// Fails when `cidr_block` would change, or when an API call fails.
pub(crate) async fn update(
    provider: &AwsProvider,
    request: &ApplyRequest<'_>,
    id: &str,
) -> Result<String, ProviderError> {
    const OPERATION: &str = "ModifyVpcAttribute";
    let reader = AttributeReader::new(request.address, request.attributes, OPERATION);
    let dns_support = reader.bool("enable_dns_support")?;
    let dns_hostnames = reader.bool("enable_dns_hostnames")?;
    let tags = desired_tags(&reader, request.environment)?;
    ensure_unchanged(request.address, request.before, request.attributes, &["cidr_block"], OPERATION)?;

    let before = request.before;
    let support_change = changed(before, request.attributes, "enable_dns_support").then_some(dns_support);
    let hostnames_change = changed(before, request.attributes, "enable_dns_hostnames").then_some(dns_hostnames);
    modify_dns_attributes(&provider.ec2, id, support_change, hostnames_change).await?;

    update_tags(&provider.ec2, id, before, &tags).await?;
    Ok(id.to_owned())
}

/// Sets the DNS attributes given as `Some`, one call each as the API requires.
///
/// DNS hostnames need DNS support, so support goes first when it is switched on and last
/// when it is switched off.
async fn modify_dns_attributes(
    ec2: &aws_sdk_ec2::Client,
    id: &str,
    dns_support: Option<bool>,
    dns_hostnames: Option<bool>,
) -> Result<(), ProviderError> {
    let set_support = async {
        if let Some(flag) = dns_support {
            let value = AttributeBooleanValue::builder().value(flag).build();
            send("ModifyVpcAttribute", ec2.modify_vpc_attribute().vpc_id(id).enable_dns_support(value).send()).await?;
        }
        Ok::<(), ProviderError>(())
    };
    let set_hostnames = async {
        if let Some(flag) = dns_hostnames {
            let value = AttributeBooleanValue::builder().value(flag).build();
            send("ModifyVpcAttribute", ec2.modify_vpc_attribute().vpc_id(id).enable_dns_hostnames(value).send())
                .await?;
        }
        Ok::<(), ProviderError>(())
    };

    if dns_support == Some(true) {
        set_support.await?;
        set_hostnames.await
    } else {
        set_hostnames.await?;
        set_support.await
    }
}

/// Deletes the VPC; one that is already gone counts as deleted.
///
/// # Errors
/// Fails when DeleteVpc fails, e.g. with `DependencyViolation` while subnets remain.
pub(crate) async fn delete(provider: &AwsProvider, request: &DeleteRequest<'_>) -> Result<(), ProviderError> {
    let call = provider.ec2.delete_vpc().vpc_id(request.id).send();
    send_unless_absent("DeleteVpc", &["InvalidVpcID.NotFound"], call).await?;
    Ok(())
}
