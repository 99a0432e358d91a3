//! `aws.main_route_table_association`: the association that makes a route table the VPC's main
//! table, the table every subnet without its own association uses. Every VPC has exactly one, so
//! "create" moves it from the table AWS made with the VPC to the desired one.

use aws_sdk_ec2::types::{Filter, RouteTable, RouteTableAssociation};
use tether_engine::{ApplyRequest, DeleteRequest, ProviderError};
use tether_model::{ObservedResource, Value};

use super::{observed, response_field};
use crate::attributes::AttributeReader;
use crate::client::AwsProvider;
use crate::error::send;
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

/// Leaves the main association in place: a VPC always has a main table, and deleting the VPC
/// removes it.
pub(crate) fn delete(request: &DeleteRequest<'_>) {
    tracing::debug!(id = request.id, "the main route table association stays until its VPC is deleted");
}
