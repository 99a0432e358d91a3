//! `aws.main_route_table_association`: the association that makes a route table the VPC's main
//! table, the table every subnet without its own association uses. Every VPC has exactly one, so
//! "create" moves it from the table AWS made with the VPC to the desired one.

use aws_sdk_ec2::types::{Filter, RouteTable, RouteTableAssociation};
use tether_engine::{ApplyRequest, DeleteRequest, ProviderError};
use tether_model::{ObservedResource, Value};

use super::{observed, response_field};
use crate::attributes::AttributeReader;
use crate::client::AwsProvider;
use crate::error::{AwsError, send};
use crate::observe::Claim;

/// Finds the main association of the table `claim.route_table_id`, when that table is the main
/// table of its VPC. `claim.key` is the VPC id.
pub(crate) fn find(tables: &[RouteTable], claim: &Claim) -> Option<ObservedResource> {
    let table = tables.iter().find(|table| table.route_table_id() == Some(claim.route_table_id.as_str()))?;
    let association = main_association(table)?;
    let id = association.route_table_association_id()?;
    Some(observed(
        claim.address.clone(),
        id,
        [
            ("vpc_id", Value::from(table.vpc_id().unwrap_or(claim.key.as_str()))),
            ("route_table_id", Value::from(claim.route_table_id.as_str())),
        ],
    ))
}

fn main_association(table: &RouteTable) -> Option<&RouteTableAssociation> {
    table.associations().iter().find(|association| association.main() == Some(true))
}

/// Makes the table the VPC's main table: finds the VPC's current main association and replaces
/// its table. Returns the new association's id.
///
/// # Errors
/// Fails on invalid attributes, when the VPC has no main table, or when an API call fails.
pub(crate) async fn create(provider: &AwsProvider, request: &ApplyRequest<'_>) -> Result<String, ProviderError> {
    const OPERATION: &str = "ReplaceRouteTableAssociation";
    let reader = AttributeReader::new(request.address, request.attributes, OPERATION);
    let vpc_id = reader.string("vpc_id")?;
    let route_table_id = reader.string("route_table_id")?;

    let filters = [
        Filter::builder().name("vpc-id").values(vpc_id).build(),
        Filter::builder().name("association.main").values("true").build(),
    ];
    let call = provider.ec2.describe_route_tables().set_filters(Some(filters.to_vec())).send();
    let output = send("DescribeRouteTables", call).await?;
    let current = output.route_tables().iter().find_map(main_association);
    let current_id = response_field(
        current.and_then(RouteTableAssociation::route_table_association_id),
        "DescribeRouteTables",
        "RouteTables.Associations.Main",
    )?;

    replace(provider, current_id, route_table_id).await
}

/// Points the main association at the desired table again.
///
/// # Errors
/// Fails on invalid attributes or when ReplaceRouteTableAssociation fails.
pub(crate) async fn update(
    provider: &AwsProvider,
    request: &ApplyRequest<'_>,
    id: &str,
) -> Result<String, ProviderError> {
    let reader = AttributeReader::new(request.address, request.attributes, "ReplaceRouteTableAssociation");
    let route_table_id = reader.string("route_table_id")?;
    replace(provider, id, route_table_id).await
}

async fn replace(provider: &AwsProvider, association_id: &str, route_table_id: &str) -> Result<String, ProviderError> {
    const OPERATION: &str = "ReplaceRouteTableAssociation";
    let call = provider
        .ec2
        .replace_route_table_association()
        .association_id(association_id)
        .route_table_id(route_table_id)
        .send();
    let output = send(OPERATION, call).await?;
    let id = response_field(output.new_association_id(), OPERATION, "NewAssociationId")?.to_owned();
    tracing::debug!(id, route_table_id, "main route table replaced");
    Ok(id)
}

/// Hands the main-table role back to the table AWS made with the VPC, when tether's table still
/// has it. AWS refuses DeleteRouteTable on a main table, and DeleteVpc while a non-main table
/// remains. Once main again, the original table is deleted with the VPC.
///
/// The original table is recognised by [`is_original_main_table`], because its id is not
/// recorded when tether replaces it. A VPC that is gone or whose main table is another one needs
/// nothing.
///
/// # Errors
/// Fails on invalid attributes, when a call fails, or when no table can take the role back.
pub(crate) async fn delete(provider: &AwsProvider, request: &DeleteRequest<'_>) -> Result<(), ProviderError> {
    const OPERATION: &str = "ReplaceRouteTableAssociation";
    let reader = AttributeReader::new(request.address, request.attributes, OPERATION);
    let vpc_id = reader.string("vpc_id")?;
    let route_table_id = reader.string("route_table_id")?;

    let call = provider.ec2.describe_route_tables().filters(Filter::builder().name("vpc-id").values(vpc_id).build());
    let tables: Vec<RouteTable> =
        send("DescribeRouteTables", call.into_paginator().items().send().try_collect()).await?;
    let main = tables.iter().find_map(|table| Some((table, main_association(table)?)));
    let Some((main_table, association)) = main.filter(|(table, _)| table.route_table_id() == Some(route_table_id))
    else {
        tracing::debug!(vpc_id, route_table_id, "the table is not the VPC's main table; nothing to hand back");
        return Ok(());
    };
    let association_id =
        response_field(association.route_table_association_id(), "DescribeRouteTables", "AssociationId")?;

    let original = tables.iter().filter(|table| table.route_table_id() != main_table.route_table_id());
    let Some(original_id) = original.filter(|table| is_original_main_table(table)).find_map(RouteTable::route_table_id)
    else {
        let error =
            AwsError::NoOriginalMainTable { vpc_id: vpc_id.to_owned(), route_table_id: route_table_id.to_owned() };
        return Err(error.into_provider_error(OPERATION));
    };
    replace(provider, association_id, original_id).await?;
    Ok(())
}

/// True for a table that looks like the one AWS made with the VPC, after tether made its own table
/// main: no tags, no subnet associations, and only the `local` route.
pub(crate) fn is_original_main_table(table: &RouteTable) -> bool {
    let only_local = table.routes().iter().all(|route| route.gateway_id() == Some("local"));
    table.tags().is_empty() && table.associations().is_empty() && only_local
}
