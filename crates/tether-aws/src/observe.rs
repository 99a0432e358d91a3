//! Observation: one list call per kind, all kinds at once, then the untagged routes and
//! route-table associations read from the listed route tables.

use std::collections::{BTreeMap, BTreeSet};

use aws_sdk_ec2::types::RouteTable;
use tether_engine::{ObserveScope, ProviderError};
use tether_model::{Address, Attributes, ObservedResource, Value};

use crate::client::AwsProvider;
use crate::error::AwsError;
use crate::kind::Kind;
use crate::resources::{
    dhcp_options, eip, hosted_zone, iam, instance, internet_gateway, main_route_table, nat_gateway, route, route_table,
    route_table_association, security_group, subnet, vpc, vpc_endpoint,
};

/// A route or association that the state or the desired graph names, resolved to ids: the route
/// table it belongs to and its key in that table (a route's destination CIDR, an association's
/// subnet id).
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Claim {
    /// The route's or association's address.
    pub(crate) address: Address,
    /// The id of the route table.
    pub(crate) route_table_id: String,
    /// The destination CIDR of a route, or the subnet id of an association.
    pub(crate) key: String,
}

/// Observes every resource of the environment.
///
/// Calls per observation: one listing per kind (more only when a listing has several pages),
/// plus two DescribeVpcAttribute calls per VPC; for the hosted zones one ListTagsForResources
/// call per 10 private zones and one ListHostedZonesByVPC call per VPC; for the OIDC provider one
/// GetOpenIDConnectProvider call. Route 53 and IAM are not called when the environment has none
/// of their kinds.
///
/// # Errors
/// Fails when any call fails, and when two resources carry the same address tag.
pub(crate) async fn observe(
    provider: &AwsProvider,
    scope: &ObserveScope<'_>,
) -> Result<Vec<ObservedResource>, ProviderError> {
    let (ec2, environment) = (&provider.ec2, scope.environment);
    let ((ec2_resources, mut dhcp_by_vpc), tables, mut zones, iam_resources) = futures::try_join!(
        observe_ec2(ec2, environment),
        route_table::list(ec2, environment),
        hosted_zone::observe(provider, scope),
        iam::observe(provider, scope),
    )?;

    let vpc_ids: Vec<String> = ec2_resources
        .iter()
        .filter(|resource| resource.address.kind() == Kind::Vpc.as_str())
        .map(|vpc| vpc.id.clone())
        .collect();
    hosted_zone::fill_vpc_associations(provider, zone_region(scope).as_deref(), &vpc_ids, &mut zones).await?;

    let tagged = [ec2_resources, route_table::observed_tables(&tables, environment), zones, iam_resources];
    let mut observed: Vec<ObservedResource> = tagged.into_iter().flatten().collect();
    // Resources the state records without tether's tags yet, e.g. imported ones, are read by id.
    let recorded = crate::discover::observe_recorded(provider, scope, &observed).await?;
    observed.extend(recorded.resources);
    dhcp_by_vpc.extend(recorded.dhcp_by_vpc);
    let tables = [tables, recorded.tables].concat();
    reject_duplicates(&observed)?;

    let (routes, associations) = {
        let by_address: BTreeMap<&Address, &ObservedResource> =
            observed.iter().map(|resource| (&resource.address, resource)).collect();
        let route_claims = claims(scope, Kind::Route, "destination_cidr_block", &by_address);
        let association_claims = claims(scope, Kind::RouteTableAssociation, "subnet_id", &by_address);
        let main_claims = claims(scope, Kind::MainRouteTableAssociation, "vpc_id", &by_address);
        let mut associations = claim_each(&tables, &association_claims, route_table_association::find);
        associations.extend(claim_each(&tables, &main_claims, main_route_table::find));
        associations.extend(dhcp_associations(scope, &by_address, &dhcp_by_vpc));
        (claim_each(&tables, &route_claims, route::find), associations)
    };
    observed.extend(routes);
    observed.extend(associations);

    observed.sort_by(|left, right| left.address.cmp(&right.address));
    tracing::debug!(count = observed.len(), "AWS resources observed");
    Ok(observed)
}

/// Lists the tagged EC2 kinds other than route tables, all at once.
/// Also returns each VPC's DHCP options set by VPC id.
async fn observe_ec2(
    ec2: &aws_sdk_ec2::Client,
    environment: &str,
) -> Result<(Vec<ObservedResource>, BTreeMap<String, String>), ProviderError> {
    let ((vpcs, dhcp_by_vpc), options, gateways, subnets, addresses, nat_gateways, endpoints, groups, instances) = futures::try_join!(
        vpc::observe(ec2, environment),
        dhcp_options::observe(ec2, environment),
        internet_gateway::observe(ec2, environment),
        subnet::observe(ec2, environment),
        eip::observe(ec2, environment),
        nat_gateway::observe(ec2, environment),
        vpc_endpoint::observe(ec2, environment),
        security_group::observe(ec2, environment),
        instance::observe(ec2, environment),
    )?;
    let all = [vpcs, options, gateways, subnets, addresses, nat_gateways, endpoints, groups, instances];
    Ok((all.into_iter().flatten().collect(), dhcp_by_vpc))
}

/// Reads the region of the private zones' VPC associations from the desired graph or the state.
fn zone_region(scope: &ObserveScope<'_>) -> Option<String> {
    let desired = scope.desired.iter().map(|resource| (&resource.address, &resource.attributes));
    let recorded = scope.state.resources.iter().map(|(address, resource)| (address, &resource.attributes));
    desired
        .chain(recorded)
        .filter(|(address, _)| Kind::of(address).ok() == Some(Kind::PrivateZone))
        .find_map(|(_, attributes)| attributes.get("vpc_region")?.as_str().map(str::to_owned))
}

/// Observes each DHCP options association, state first, from the observed VPC it names.
fn dhcp_associations(
    scope: &ObserveScope<'_>,
    by_address: &BTreeMap<&Address, &ObservedResource>,
    dhcp_by_vpc: &BTreeMap<String, String>,
) -> Vec<ObservedResource> {
    let from_state = scope.state.resources.iter().map(|(address, resource)| (address, &resource.attributes));
    let from_desired = scope.desired.iter().map(|resource| (&resource.address, &resource.attributes));
    let mut found = Vec::new();
    for (address, attributes) in from_state.chain(from_desired) {
        if Kind::of(address).ok() != Some(Kind::DhcpOptionsAssociation) {
            continue;
        }
        if found.iter().any(|resource: &ObservedResource| &resource.address == address) {
            continue;
        }
        let Some(vpc_id) = resolve(attributes, "vpc_id", by_address) else { continue };
        if let Some(options_id) = dhcp_by_vpc.get(&vpc_id) {
            found.push(dhcp_options::observe_association(address, &vpc_id, options_id));
        }
    }
    found
}

/// Fails when two observed resources share an address: observation cannot tell which one is meant.
fn reject_duplicates(observed: &[ObservedResource]) -> Result<(), ProviderError> {
    let mut ids_by_address: BTreeMap<&Address, Vec<String>> = BTreeMap::new();
    for resource in observed {
        ids_by_address.entry(&resource.address).or_default().push(resource.id.clone());
    }

    match ids_by_address.into_iter().find(|(_, ids)| ids.len() > 1) {
        Some((address, mut ids)) => {
            ids.sort();
            Err(AwsError::DuplicateAddress { address: address.clone(), ids }.into_provider_error("observe"))
        }
        None => Ok(()),
    }
}

/// Collects the claims of one untagged kind: state resources first (tether made those), then desired
/// ones, each in address order. A resource whose route table or key cannot be resolved yet
/// (its table does not exist) makes no claim.
fn claims(
    scope: &ObserveScope<'_>,
    kind: Kind,
    key_attribute: &str,
    by_address: &BTreeMap<&Address, &ObservedResource>,
) -> Vec<Claim> {
    let from_state = scope.state.resources.iter().map(|(address, resource)| (address, &resource.attributes));
    let from_desired = scope.desired.iter().map(|resource| (&resource.address, &resource.attributes));

    from_state
        .chain(from_desired)
        .filter(|(address, _)| Kind::of(address).ok() == Some(kind))
        .filter_map(|(address, attributes)| {
            Some(Claim {
                address: address.clone(),
                route_table_id: resolve(attributes, "route_table_id", by_address)?,
                key: resolve(attributes, key_attribute, by_address)?,
            })
        })
        .collect()
}

/// Resolves an attribute to a string: the string itself, or the observed value of a reference.
fn resolve(attributes: &Attributes, name: &str, by_address: &BTreeMap<&Address, &ObservedResource>) -> Option<String> {
    match attributes.get(name)? {
        Value::String(text) => Some(text.clone()),
        Value::Ref(reference) => {
            let target = by_address.get(&reference.address)?;
            if reference.attribute == "id" {
                Some(target.id.clone())
            } else {
                target.attributes.get(&reference.attribute)?.as_str().map(str::to_owned)
            }
        }
        _ => None,
    }
}

/// Matches claims to what the route tables contain. Each address is observed at most once
/// (its first matching claim wins) and each AWS route or association belongs to one address
/// only, so that a renamed resource does not make the same route appear twice.
fn claim_each(
    tables: &[RouteTable],
    claims: &[Claim],
    find: impl Fn(&[RouteTable], &Claim) -> Option<ObservedResource>,
) -> Vec<ObservedResource> {
    let mut found_addresses = BTreeSet::new();
    let mut claimed_ids = BTreeSet::new();
    let mut observed = Vec::new();

    for claim in claims {
        if found_addresses.contains(&claim.address) {
            continue;
        }
        let Some(resource) = find(tables, claim) else {
            continue;
        };
        if claimed_ids.insert(resource.id.clone()) {
            found_addresses.insert(claim.address.clone());
            observed.push(resource);
        }
    }
    observed
}

#[cfg(test)]
mod tests {
    use aws_sdk_ec2::types::Route;
    use tether_model::{Resource, State, StateResource};

    use super::*;

    fn observed_table() -> ObservedResource {
        ObservedResource {
            address: Address::aws("route_table", "public"),
            id: "rtb-1".to_owned(),
            attributes: Attributes::new(),
        }
    }

    fn route_attributes(table: Value) -> Attributes {
        Attributes::from([
            ("route_table_id".to_owned(), table),
            ("destination_cidr_block".to_owned(), Value::from("0.0.0.0/0")),
            ("gateway_id".to_owned(), Value::from("igw-1")),
        ])
    }

    fn tables() -> Vec<RouteTable> {
        let route = Route::builder().destination_cidr_block("0.0.0.0/0").gateway_id("igw-1").build();
        vec![RouteTable::builder().route_table_id("rtb-1").routes(route).build()]
    }

    #[test]
    fn desired_reference_resolved_to_observed_id() {
        let table = observed_table();
        let by_address = BTreeMap::from([(&table.address, &table)]);
        let attributes = route_attributes(Value::reference_to_id(&table.address));
        assert_eq!(resolve(&attributes, "route_table_id", &by_address).as_deref(), Some("rtb-1"));
    }

    #[test]
    fn route_claimed_once_state_first() {
        let table = observed_table();
        let by_address = BTreeMap::from([(&table.address, &table)]);
        let mut state = State::empty("dev");
        let state_route = StateResource {
            id: "rtb-1_0.0.0.0/0".to_owned(),
            attributes: route_attributes(Value::from("rtb-1")),
            depends_on: BTreeSet::new(),
        };
        state.resources.insert(Address::aws("route", "old-name"), state_route);
        let desired = [Resource::new(
            Address::aws("route", "new-name"),
            route_attributes(Value::reference_to_id(&table.address)),
        )];
        let scope = ObserveScope { environment: "dev", desired: &desired, state: &state };

        let claims = claims(&scope, Kind::Route, "destination_cidr_block", &by_address);
        assert_eq!(claims.len(), 2);
        let observed = claim_each(&tables(), &claims, route::find);
        assert_eq!(observed.len(), 1);
        assert_eq!(observed[0].address, Address::aws("route", "old-name"));
    }

    #[test]
    fn duplicate_address_rejected() {
        let mut second = observed_table();
        second.id = "rtb-2".to_owned();
        let error = reject_duplicates(&[observed_table(), second]).unwrap_err();
        assert!(error.source.to_string().contains("(rtb-1, rtb-2)"), "{}", error.source);
    }
}
