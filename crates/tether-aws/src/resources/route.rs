//! `aws.route`: one route of a route table, with exactly one target. Routes carry no tags, so
//! observation reads them from the environment's route tables (see [`find`]).

use aws_sdk_ec2::types::{Route, RouteTable};
use tether_engine::{ApplyRequest, DeleteRequest, ProviderError};
use tether_model::{Attributes, ObservedResource, Value};

use crate::attributes::{AttributeReader, ensure_unchanged};
use crate::client::AwsProvider;
use crate::error::{AwsError, has_code, send, send_unless_absent};
use crate::observe::Claim;
use crate::retry::{SettlePolicy, retry_while_settling};

/// The route's target: exactly one of these attributes is set.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Target<'a> {
    Gateway(&'a str),
    NatGateway(&'a str),
    Instance(&'a str),
}

impl<'a> Target<'a> {
    fn read(reader: &AttributeReader<'a>) -> Result<Target<'a>, ProviderError> {
        let gateway = reader.optional_string("gateway_id")?;
        let nat_gateway = reader.optional_string("nat_gateway_id")?;
        let instance = reader.optional_string("instance_id")?;

        match (gateway, nat_gateway, instance) {
            (Some(id), None, None) => Ok(Target::Gateway(id)),
            (None, Some(id), None) => Ok(Target::NatGateway(id)),
            (None, None, Some(id)) => Ok(Target::Instance(id)),
            _ => Err(reader.invalid("gateway_id", "exactly one of gateway_id, nat_gateway_id and instance_id")),
        }
    }
}

impl Target<'_> {
    fn id(&self) -> &str {
        match self {
            Target::Gateway(id) | Target::NatGateway(id) | Target::Instance(id) => id,
        }
    }
}

/// Builds the route's id: `<route table id>_<destination CIDR>`.
pub(crate) fn route_id(route_table_id: &str, destination: &str) -> String {
    format!("{route_table_id}_{destination}")
}

/// Splits a route id into its route table id and destination.
fn parse_route_id(id: &str) -> Result<(&str, &str), AwsError> {
    match id.split_once('_') {
        Some((table, destination)) if !table.is_empty() && !destination.is_empty() => Ok((table, destination)),
        _ => Err(AwsError::InvalidId {
            id: id.to_owned(),
            kind: "route",
            expected: "`<route table id>_<destination CIDR>`",
        }),
    }
}

/// Finds the route that `claim` names: in the table `claim.route_table_id`, the route whose
/// destination is `claim.key`. The `local` route and prefix-list routes (S3 endpoints) are never
/// matched, because they have no destination CIDR that tether manages.
pub(crate) fn find(tables: &[RouteTable], claim: &Claim) -> Option<ObservedResource> {
    let table = tables.iter().find(|table| table.route_table_id() == Some(claim.route_table_id.as_str()))?;
    let route =
        table.routes().iter().find(|route| is_managed(route) && route.destination_cidr_block() == Some(&claim.key))?;

    let mut attributes = Attributes::from([
        ("route_table_id".to_owned(), Value::from(claim.route_table_id.as_str())),
        ("destination_cidr_block".to_owned(), Value::from(claim.key.as_str())),
    ]);
    if let Some((name, value)) = observed_target(route) {
        attributes.insert(name.to_owned(), value);
    }
    let id = route_id(&claim.route_table_id, &claim.key);
    Some(ObservedResource { address: claim.address.clone(), id, attributes })
}

fn is_managed(route: &Route) -> bool {
    let local = route.gateway_id() == Some("local");
    let prefix_list = route.destination_prefix_list_id().is_some();
    !local && !prefix_list && route.destination_cidr_block().is_some()
}

/// Reads the one target attribute of an observed route. AWS fills in the network interface as well
/// for a route to an instance, so the instance id wins.
fn observed_target(route: &Route) -> Option<(&'static str, Value)> {
    if let Some(id) = route.instance_id() {
        return Some(("instance_id", Value::from(id)));
    }
    if let Some(id) = route.nat_gateway_id() {
        return Some(("nat_gateway_id", Value::from(id)));
    }
    route.gateway_id().map(|id| ("gateway_id", Value::from(id)))
}

/// Creates the route. A route already at that destination (from an earlier, interrupted apply)
/// is pointed at the desired target with ReplaceRoute.
///
/// # Errors
/// Fails on invalid attributes or when the API call fails.
pub(crate) async fn create(provider: &AwsProvider, request: &ApplyRequest<'_>) -> Result<String, ProviderError> {
    const OPERATION: &str = "CreateRoute";
    let reader = AttributeReader::new(request.address, request.attributes, OPERATION);
    let route_table_id = reader.string("route_table_id")?;
    let destination = reader.string("destination_cidr_block")?;
    let target = Target::read(&reader)?;

    let create_route = || {
        let call = provider.ec2.create_route().route_table_id(route_table_id).destination_cidr_block(destination);
        let call = match target {
            Target::Gateway(id) => call.gateway_id(id),
            Target::NatGateway(id) => call.nat_gateway_id(id),
            Target::Instance(id) => call.instance_id(id),
        };
        send(OPERATION, call.send())
    };
    // A target or table created moments ago may not be visible to CreateRoute yet.
    let settling = [
        "InvalidNatGatewayID.NotFound",
        "InvalidGatewayID.NotFound",
        "InvalidInstanceID.NotFound",
        "InvalidRouteTableID.NotFound",
    ];
    let dependencies = [route_table_id, target.id()];
    let policy = SettlePolicy::DEFAULT;
    let created = retry_while_settling(&provider.created, policy, OPERATION, &settling, &dependencies, create_route);
    match created.await {
        Ok(_) => tracing::debug!(route_table_id, destination, "route created"),
        Err(error) if has_code(&error, &["RouteAlreadyExists"]) => {
            tracing::debug!(route_table_id, destination, "route exists; replacing its target");
            replace(provider, route_table_id, destination, target).await?;
        }
        Err(error) => return Err(error),
    }
    Ok(route_id(route_table_id, destination))
}

/// Points the route at the desired target with ReplaceRoute.
///
/// # Errors
/// Fails when the table or destination would change, or when ReplaceRoute fails.
pub(crate) async fn update(provider: &AwsProvider, request: &ApplyRequest<'_>) -> Result<String, ProviderError> {
    const OPERATION: &str = "ReplaceRoute";
    let reader = AttributeReader::new(request.address, request.attributes, OPERATION);
    let route_table_id = reader.string("route_table_id")?;
    let destination = reader.string("destination_cidr_block")?;
    let target = Target::read(&reader)?;
    let immutable = ["route_table_id", "destination_cidr_block"];
    ensure_unchanged(request.address, request.before, request.attributes, &immutable, OPERATION)?;

    replace(provider, route_table_id, destination, target).await?;
    Ok(route_id(route_table_id, destination))
}

async fn replace(
    provider: &AwsProvider,
    route_table_id: &str,
    destination: &str,
    target: Target<'_>,
) -> Result<(), ProviderError> {
    let call = provider.ec2.replace_route().route_table_id(route_table_id).destination_cidr_block(destination);
    let call = match target {
        Target::Gateway(id) => call.gateway_id(id),
        Target::NatGateway(id) => call.nat_gateway_id(id),
        Target::Instance(id) => call.instance_id(id),
    };
    send("ReplaceRoute", call.send()).await?;
    Ok(())
}

/// Deletes the route named by the id; a route or table that is already gone counts as deleted.
///
/// # Errors
/// Fails when the id is malformed or DeleteRoute fails.
pub(crate) async fn delete(provider: &AwsProvider, request: &DeleteRequest<'_>) -> Result<(), ProviderError> {
    const OPERATION: &str = "DeleteRoute";
    let (route_table_id, destination) =
        parse_route_id(request.id).map_err(|error| error.into_provider_error(OPERATION))?;

    let call = provider.ec2.delete_route().route_table_id(route_table_id).destination_cidr_block(destination).send();
    send_unless_absent(OPERATION, &["InvalidRoute.NotFound", "InvalidRouteTableID.NotFound"], call).await?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use tether_model::Address;

    use super::*;

    fn table() -> RouteTable {
        let local = Route::builder().destination_cidr_block("10.0.0.0/16").gateway_id("local").build();
        let s3 = Route::builder().destination_prefix_list_id("pl-6ca54005").gateway_id("vpce-1").build();
        let default = Route::builder()
            .destination_cidr_block("0.0.0.0/0")
            .instance_id("i-1")
            .network_interface_id("eni-1")
            .build();
        RouteTable::builder().route_table_id("rtb-1").routes(local).routes(s3).routes(default).build()
    }

    fn claim(destination: &str) -> Claim {
        Claim {
            address: Address::aws("route", "default"),
            route_table_id: "rtb-1".to_owned(),
            key: destination.to_owned(),
        }
    }

    #[test]
    fn route_found_with_instance_target() {
        let resource = find(&[table()], &claim("0.0.0.0/0")).unwrap();
        assert_eq!(resource.id, "rtb-1_0.0.0.0/0");
        assert_eq!(resource.attributes["instance_id"], Value::from("i-1"));
        assert_eq!(resource.attributes.len(), 3);
        assert!(!resource.attributes.contains_key("gateway_id"));
    }

    #[test]
    fn local_route_never_matched() {
        assert!(find(&[table()], &claim("10.0.0.0/16")).is_none());
    }

    #[test]
    fn route_id_round_trips() {
        assert_eq!(parse_route_id(&route_id("rtb-1", "0.0.0.0/0")).unwrap(), ("rtb-1", "0.0.0.0/0"));
        assert!(parse_route_id("rtb-1").is_err());
    }
}
