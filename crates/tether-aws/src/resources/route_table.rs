//! `aws.route_table`: a route table. Its routes and associations are separate kinds, read from
//! the same listing.

use aws_sdk_ec2::types::{ResourceType, RouteTable};
use tether_engine::{ApplyRequest, DeleteRequest, ProviderError};
use tether_model::ObservedResource;

use super::{observed, optional_string, response_field};
use crate::attributes::AttributeReader;
use crate::client::AwsProvider;
use crate::error::{send, send_unless_absent};
use crate::kind::Kind;
use crate::tags::{
    desired_tags, environment_filter, has_environment_tag, observed_tags, owned_address, tag_specification,
    update_tags_only,
};

/// Lists the environment's route tables with their routes and associations.
///
/// # Errors
/// Fails when DescribeRouteTables fails.
pub(crate) async fn list(ec2: &aws_sdk_ec2::Client, environment: &str) -> Result<Vec<RouteTable>, ProviderError> {
    let request = ec2.describe_route_tables().filters(environment_filter(environment));
    let mut tables: Vec<RouteTable> =
        send("DescribeRouteTables", request.into_paginator().items().send().collect()).await?;
    // Routes and associations are matched through these tables, so keep only this environment's
    // even if a server ignores the tag filter.
    tables.retain(|table| has_environment_tag(table.tags(), environment));
    Ok(tables)
}

/// Converts the route tables that carry a valid address tag to observed resources.
pub(crate) fn observed_tables(tables: &[RouteTable], environment: &str) -> Vec<ObservedResource> {
    let observed_tables = tables.iter().filter_map(|table| {
        let id = table.route_table_id()?;
        let address = owned_address(table.tags(), Kind::RouteTable, id, environment)?;
        Some(observed(
            address,
            id,
            [("vpc_id", optional_string(table.vpc_id())), ("tags", observed_tags(table.tags()))],
        ))
    });
    observed_tables.collect()
}

/// Creates the route table with its tags.
///
/// # Errors
/// Fails on invalid attributes or when CreateRouteTable fails.
pub(crate) async fn create(provider: &AwsProvider, request: &ApplyRequest<'_>) -> Result<String, ProviderError> {
    const OPERATION: &str = "CreateRouteTable";
    let reader = AttributeReader::new(request.address, request.attributes, OPERATION);
    let vpc_id = reader.string("vpc_id")?;
    let tags = desired_tags(&reader, request.environment)?;

    let call = provider
        .ec2
        .create_route_table()
        .vpc_id(vpc_id)
        .tag_specifications(tag_specification(ResourceType::RouteTable, &tags))
        .send();
    let output = send(OPERATION, call).await?;
    let id = response_field(
        output.route_table().and_then(RouteTable::route_table_id),
        OPERATION,
        "RouteTable.RouteTableId",
    )?;
    tracing::debug!(id, "route table created");
    Ok(id.to_owned())
}

/// Updates the table's tags, the only attribute that changes in place.
///
/// # Errors
/// Fails when `vpc_id` would change, or when a tag call fails.
pub(crate) async fn update(
    provider: &AwsProvider,
    request: &ApplyRequest<'_>,
    id: &str,
) -> Result<String, ProviderError> {
    update_tags_only(&provider.ec2, request, id, &["vpc_id"]).await
}

/// Deletes the route table; one that is already gone counts as deleted.
///
/// # Errors
/// Fails when DeleteRouteTable fails, e.g. with `DependencyViolation` while associations remain.
pub(crate) async fn delete(provider: &AwsProvider, request: &DeleteRequest<'_>) -> Result<(), ProviderError> {
    let call = provider.ec2.delete_route_table().route_table_id(request.id).send();
    send_unless_absent("DeleteRouteTable", &["InvalidRouteTableID.NotFound"], call).await?;
    Ok(())
}
