//! `aws.vpc_endpoint`: a gateway VPC endpoint, such as the S3 endpoint HyperShift attaches to
//! every route table.

use std::collections::BTreeSet;

use aws_sdk_ec2::types::{ResourceType, VpcEndpoint, VpcEndpointType};
use tether_engine::{ApplyRequest, DeleteRequest, ProviderError};
use tether_model::{ObservedResource, Value};

use super::{observed, optional_string, response_field};
use crate::attributes::{AttributeReader, ensure_unchanged};
use crate::client::AwsProvider;
use crate::error::{send, send_unless_absent};
use crate::kind::Kind;
use crate::tags::{desired_tags, environment_filter, observed_tags, owned_address, tag_specification, update_tags};

/// Endpoint states in which the endpoint is gone or going. EC2 reports them in lower case, which
/// the SDK's enum does not parse, so they are compared as text.
const ENDED_STATES: [&str; 4] = ["deleting", "deleted", "rejected", "failed"];

/// Lists the environment's VPC endpoints that are not deleted or being deleted.
///
/// # Errors
/// Fails when DescribeVpcEndpoints fails.
pub(crate) async fn observe(
    ec2: &aws_sdk_ec2::Client,
    environment: &str,
) -> Result<Vec<ObservedResource>, ProviderError> {
    let request = ec2.describe_vpc_endpoints().filters(environment_filter(environment));
    let endpoints: Vec<VpcEndpoint> =
        send("DescribeVpcEndpoints", request.into_paginator().items().send().collect()).await?;

    let live = endpoints.iter().filter(|endpoint| {
        let state = endpoint.state().map(|state| state.as_str().to_ascii_lowercase());
        !state.is_some_and(|state| ENDED_STATES.contains(&state.as_str()))
    });
    let owned = live.filter_map(|endpoint| {
        let id = endpoint.vpc_endpoint_id()?;
        let address = owned_address(endpoint.tags(), Kind::VpcEndpoint, id, environment)?;
        let mut table_ids: Vec<&str> = endpoint.route_table_ids().iter().map(String::as_str).collect();
        table_ids.sort_unstable();
        Some(observed(
            address,
            id,
            [
                ("vpc_id", optional_string(endpoint.vpc_id())),
                ("service_name", optional_string(endpoint.service_name())),
                ("vpc_endpoint_type", optional_string(endpoint.vpc_endpoint_type().map(VpcEndpointType::as_str))),
                ("route_table_ids", Value::List(table_ids.into_iter().map(Value::from).collect())),
                ("tags", observed_tags(endpoint.tags())),
            ],
        ))
    });
    Ok(owned.collect())
}

/// Creates the endpoint on its route tables, with its tags.
///
/// # Errors
/// Fails on invalid attributes or when CreateVpcEndpoint fails.
pub(crate) async fn create(provider: &AwsProvider, request: &ApplyRequest<'_>) -> Result<String, ProviderError> {
    const OPERATION: &str = "CreateVpcEndpoint";
    let reader = AttributeReader::new(request.address, request.attributes, OPERATION);
    let vpc_id = reader.string("vpc_id")?;
    let service_name = reader.string("service_name")?;
    let endpoint_type = reader.string("vpc_endpoint_type")?;
    let table_ids = reader.string_list("route_table_ids")?;
    let tags = desired_tags(&reader, request.environment)?;

    let call = provider
        .ec2
        .create_vpc_endpoint()
        .vpc_id(vpc_id)
        .service_name(service_name)
        .vpc_endpoint_type(VpcEndpointType::from(endpoint_type))
        .set_route_table_ids(Some(table_ids))
        .tag_specifications(tag_specification(ResourceType::VpcEndpoint, &tags))
        .send();
    let output = send(OPERATION, call).await?;
    let id = response_field(output.vpc_endpoint().and_then(VpcEndpoint::vpc_endpoint_id), OPERATION, "VpcEndpointId")?;
    tracing::debug!(id, "VPC endpoint created");
    Ok(id.to_owned())
}

/// Adds and removes route tables, then updates the tags.
///
/// # Errors
/// Fails when the VPC, service or type would change, or when an API call fails.
pub(crate) async fn update(
    provider: &AwsProvider,
    request: &ApplyRequest<'_>,
    id: &str,
) -> Result<String, ProviderError> {
    const OPERATION: &str = "ModifyVpcEndpoint";
    let reader = AttributeReader::new(request.address, request.attributes, OPERATION);
    let desired: BTreeSet<String> = reader.string_list("route_table_ids")?.into_iter().collect();
    let tags = desired_tags(&reader, request.environment)?;
    let immutable = ["vpc_id", "service_name", "vpc_endpoint_type"];
    ensure_unchanged(request.address, request.before, request.attributes, &immutable, OPERATION)?;

    let current: BTreeSet<String> = match request.before.and_then(|before| before.get("route_table_ids")) {
        Some(Value::List(ids)) => ids.iter().filter_map(Value::as_str).map(str::to_owned).collect(),
        _ => BTreeSet::new(),
    };
    let added: Vec<String> = desired.difference(&current).cloned().collect();
    let removed: Vec<String> = current.difference(&desired).cloned().collect();
    if !added.is_empty() || !removed.is_empty() {
        let call = provider
            .ec2
            .modify_vpc_endpoint()
            .vpc_endpoint_id(id)
            .set_add_route_table_ids(Some(added).filter(|ids| !ids.is_empty()))
            .set_remove_route_table_ids(Some(removed).filter(|ids| !ids.is_empty()))
            .send();
        send(OPERATION, call).await?;
    }

    update_tags(&provider.ec2, id, request.before, &tags).await?;
    Ok(id.to_owned())
}

/// Deletes the endpoint, which also removes its routes; one that is already gone counts as deleted.
///
/// # Errors
/// Fails when DeleteVpcEndpoints fails.
pub(crate) async fn delete(provider: &AwsProvider, request: &DeleteRequest<'_>) -> Result<(), ProviderError> {
    let call = provider.ec2.delete_vpc_endpoints().vpc_endpoint_ids(request.id).send();
    send_unless_absent("DeleteVpcEndpoints", &["InvalidVpcEndpointId.NotFound"], call).await?;
    Ok(())
}
