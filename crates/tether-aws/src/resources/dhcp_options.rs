//! `aws.dhcp_options` and `aws.dhcp_options_association`: the VPC's DHCP options set and its
//! association with the VPC. The association has no tags and no id of its own, so its id is the
//! VPC's id and it is observed through the VPC's `dhcp_options_id`.

use aws_sdk_ec2::types::{DhcpConfiguration, DhcpOptions, NewDhcpConfiguration};
use tether_engine::{ApplyRequest, DeleteRequest, ProviderError};
use tether_model::{Address, ObservedResource, Value};

use super::{observed, response_field};
use crate::attributes::AttributeReader;
use crate::client::AwsProvider;
use crate::error::{send, send_unless_absent};
use crate::kind::Kind;
use crate::tags::{desired_tags, environment_filter, observed_tags, owned_address, sdk_tags, update_tags_only};

/// The DHCP options set every VPC falls back to when its own set is removed.
const DEFAULT_OPTIONS: &str = "default";

/// Lists the environment's DHCP options sets.
///
/// # Errors
/// Fails when DescribeDhcpOptions fails.
pub(crate) async fn observe(
    ec2: &aws_sdk_ec2::Client,
    environment: &str,
) -> Result<Vec<ObservedResource>, ProviderError> {
    let request = ec2.describe_dhcp_options().filters(environment_filter(environment));
    let sets: Vec<DhcpOptions> = send("DescribeDhcpOptions", request.into_paginator().items().send().collect()).await?;

    let owned = sets.iter().filter_map(|set| {
        let id = set.dhcp_options_id()?;
        let address = owned_address(set.tags(), Kind::DhcpOptions, id, environment)?;
        let values = |key: &str| -> Vec<Value> {
            let configuration = set.dhcp_configurations().iter().find(|entry| entry.key() == Some(key));
            let values = configuration.map(DhcpConfiguration::values).unwrap_or_default();
            values.iter().filter_map(|value| value.value()).map(Value::from).collect()
        };
        let domain_name = values("domain-name").into_iter().next().unwrap_or(Value::Null);
        Some(observed(
            address,
            id,
            [
                ("domain_name", domain_name),
                ("domain_name_servers", Value::List(values("domain-name-servers"))),
                ("tags", observed_tags(set.tags())),
            ],
        ))
    });
    Ok(owned.collect())
}

/// Creates the options set, then tags it: moto 5.2.5 drops the tag specification of
/// CreateDhcpOptions, and a separate CreateTags works on AWS as well.
///
/// # Errors
/// Fails on invalid attributes or when an API call fails. A set created before a failed
/// CreateTags has no ownership marks, so observation cannot find it again.
pub(crate) async fn create(provider: &AwsProvider, request: &ApplyRequest<'_>) -> Result<String, ProviderError> {
    const OPERATION: &str = "CreateDhcpOptions";
    let reader = AttributeReader::new(request.address, request.attributes, OPERATION);
    let domain_name = reader.string("domain_name")?;
    let servers = reader.string_list("domain_name_servers")?;
    let tags = desired_tags(&reader, request.environment)?;

    let configurations = vec![
        NewDhcpConfiguration::builder().key("domain-name").values(domain_name).build(),
        NewDhcpConfiguration::builder().key("domain-name-servers").set_values(Some(servers)).build(),
    ];
    let call = provider.ec2.create_dhcp_options().set_dhcp_configurations(Some(configurations)).send();
    let output = send(OPERATION, call).await?;
    let id = response_field(output.dhcp_options().and_then(DhcpOptions::dhcp_options_id), OPERATION, "DhcpOptionsId")?
        .to_owned();

    let tagging = provider.ec2.create_tags().resources(&id).set_tags(Some(sdk_tags(&tags))).send();
    send("CreateTags", tagging).await?;
    tracing::debug!(id, "DHCP options created");
    Ok(id)
}

/// Updates the set's tags; its options cannot change in place.
///
/// # Errors
/// Fails when an option would change, or when a tag call fails.
pub(crate) async fn update(
    provider: &AwsProvider,
    request: &ApplyRequest<'_>,
    id: &str,
) -> Result<String, ProviderError> {
    update_tags_only(&provider.ec2, request, id, &["domain_name", "domain_name_servers"]).await
}

/// Deletes the set; one that is already gone counts as deleted.
///
/// # Errors
/// Fails when DeleteDhcpOptions fails, e.g. while a VPC still uses the set.
pub(crate) async fn delete(provider: &AwsProvider, request: &DeleteRequest<'_>) -> Result<(), ProviderError> {
    let call = provider.ec2.delete_dhcp_options().dhcp_options_id(request.id).send();
    send_unless_absent("DeleteDhcpOptions", &["InvalidDhcpOptionID.NotFound", "InvalidDhcpOptionsID.NotFound"], call)
        .await?;
    Ok(())
}

/// Observes an association from the VPC it names: the VPC's current options set, whichever it is,
/// so that a VPC using another set shows as a change.
pub(crate) fn observe_association(address: &Address, vpc_id: &str, options_id: &str) -> ObservedResource {
    observed(address.clone(), vpc_id, [("vpc_id", Value::from(vpc_id)), ("dhcp_options_id", Value::from(options_id))])
}

/// Associates the options set with the VPC; the association's id is the VPC's id.
///
/// # Errors
/// Fails on invalid attributes or when AssociateDhcpOptions fails.
pub(crate) async fn associate(provider: &AwsProvider, request: &ApplyRequest<'_>) -> Result<String, ProviderError> {
    const OPERATION: &str = "AssociateDhcpOptions";
    let reader = AttributeReader::new(request.address, request.attributes, OPERATION);
    let vpc_id = reader.string("vpc_id")?;
    let options_id = reader.string("dhcp_options_id")?;

    let call = provider.ec2.associate_dhcp_options().vpc_id(vpc_id).dhcp_options_id(options_id).send();
    send(OPERATION, call).await?;
    tracing::debug!(vpc_id, options_id, "DHCP options associated");
    Ok(vpc_id.to_owned())
}

/// Puts the VPC back on AWS's default options; a VPC that is already gone counts as done.
///
/// # Errors
/// Fails when AssociateDhcpOptions fails.
pub(crate) async fn disassociate(provider: &AwsProvider, request: &DeleteRequest<'_>) -> Result<(), ProviderError> {
    let call = provider.ec2.associate_dhcp_options().vpc_id(request.id).dhcp_options_id(DEFAULT_OPTIONS).send();
    send_unless_absent("AssociateDhcpOptions", &["InvalidVpcID.NotFound"], call).await?;
    Ok(())
}
