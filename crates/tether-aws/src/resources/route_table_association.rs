//! `aws.route_table_association`: a route table associated with a subnet. Associations carry no
//! tags, so observation reads them from the environment's route tables (see [`find`]).

use aws_sdk_ec2::types::{RouteTable, RouteTableAssociation, RouteTableAssociationStateCode};
use tether_engine::{ApplyRequest, DeleteRequest, ProviderError};
use tether_model::{ObservedResource, Value};

use super::{observed, response_field};
use crate::attributes::{AttributeReader, changed, ensure_unchanged};
use crate::client::AwsProvider;
use crate::error::{has_code, send, send_unless_absent};
use crate::observe::Claim;

/// Finds the association that `claim` names: in the table `claim.route_table_id`, the live
/// association with the subnet `claim.key`. Main-table and gateway associations are never matched.
pub(crate) fn find(tables: &[RouteTable], claim: &Claim) -> Option<ObservedResource> {
    let table = tables.iter().find(|table| table.route_table_id() == Some(claim.route_table_id.as_str()))?;
    let association = find_in_table(table, &claim.key)?;
    let id = association.route_table_association_id()?;

    Some(observed(
        claim.address.clone(),
        id,
        [
            ("route_table_id", Value::from(claim.route_table_id.as_str())),
            ("subnet_id", Value::from(claim.key.as_str())),
        ],
    ))
}

fn find_in_table<'a>(table: &'a RouteTable, subnet_id: &str) -> Option<&'a RouteTableAssociation> {
    table.associations().iter().find(|association| {
        let state = association.association_state().and_then(|state| state.state());
        let ended = matches!(
            state,
            Some(
                RouteTableAssociationStateCode::Disassociated
                    | RouteTableAssociationStateCode::Disassociating
                    | RouteTableAssociationStateCode::Failed
            )
        );
        association.subnet_id() == Some(subnet_id) && association.main() != Some(true) && !ended
    })
}

/// Associates the table with the subnet. If this association already exists (from an earlier,
/// interrupted apply), its id is looked up and returned.
///
/// # Errors
/// Fails on invalid attributes or when the API call fails, e.g. `Resource.AlreadyAssociated`
/// when the subnet is associated with another table.
pub(crate) async fn create(provider: &AwsProvider, request: &ApplyRequest<'_>) -> Result<String, ProviderError> {
    const OPERATION: &str = "AssociateRouteTable";
    let reader = AttributeReader::new(request.address, request.attributes, OPERATION);
    let route_table_id = reader.string("route_table_id")?;
    let subnet_id = reader.string("subnet_id")?;

    let call = provider.ec2.associate_route_table().route_table_id(route_table_id).subnet_id(subnet_id).send();
    let error = match send(OPERATION, call).await {
        Ok(output) => return Ok(response_field(output.association_id(), OPERATION, "AssociationId")?.to_owned()),
        Err(error) if has_code(&error, &["Resource.AlreadyAssociated"]) => error,
        Err(error) => return Err(error),
    };

    let existing = existing_association(provider, route_table_id, subnet_id).await?;
    existing.ok_or(error)
}

/// Looks up the id of the association between the table and the subnet, if there is one.
async fn existing_association(
    provider: &AwsProvider,
    route_table_id: &str,
    subnet_id: &str,
) -> Result<Option<String>, ProviderError> {
    let call = provider.ec2.describe_route_tables().route_table_ids(route_table_id).send();
    let output = send("DescribeRouteTables", call).await?;

    let association = output.route_tables().iter().find_map(|table| find_in_table(table, subnet_id));
    Ok(association.and_then(RouteTableAssociation::route_table_association_id).map(str::to_owned))
}

/// Moves the subnet to another route table with ReplaceRouteTableAssociation, which returns a
/// new association id.
///
/// # Errors
/// Fails when `subnet_id` would change, or when the API call fails.
pub(crate) async fn update(
    provider: &AwsProvider,
    request: &ApplyRequest<'_>,
    id: &str,
) -> Result<String, ProviderError> {
    const OPERATION: &str = "ReplaceRouteTableAssociation";
    let reader = AttributeReader::new(request.address, request.attributes, OPERATION);
    let route_table_id = reader.string("route_table_id")?;
    ensure_unchanged(request.address, request.before, request.attributes, &["subnet_id"], OPERATION)?;

    if !changed(request.before, request.attributes, "route_table_id") {
        return Ok(id.to_owned());
    }
    let call = provider.ec2.replace_route_table_association().association_id(id).route_table_id(route_table_id).send();
    let output = send(OPERATION, call).await?;
    Ok(response_field(output.new_association_id(), OPERATION, "NewAssociationId")?.to_owned())
}

/// Disassociates the table from the subnet; an association already gone counts as deleted.
///
/// # Errors
/// Fails when DisassociateRouteTable fails.
pub(crate) async fn delete(provider: &AwsProvider, request: &DeleteRequest<'_>) -> Result<(), ProviderError> {
    let call = provider.ec2.disassociate_route_table().association_id(request.id).send();
    send_unless_absent("DisassociateRouteTable", &["InvalidAssociationID.NotFound"], call).await?;
    Ok(())
}
