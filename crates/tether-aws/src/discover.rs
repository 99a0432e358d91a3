//! Discovery of AWS resources that tether did not create: those that carry HyperShift's cluster
//! tag, and those whose ids an import or the state names. Private Route 53 zones and IAM, which
//! EC2 filters cannot select, have their own listings.
//!
//! Each kind has one lister (see [`list_kind`]), the extension point for new kinds: it lists the
//! kind once with one EC2 filter and converts each item to the attributes that observation reports,
//! so that a plan compares an imported resource exactly as it compares one tether created.

use std::collections::{BTreeMap, BTreeSet};

use aws_sdk_ec2::types::{
    AttributeBooleanValue, Filter, Instance, InstanceStateName, InstanceType, IpPermission, IpRange, Ipv6Range,
    NatGateway, NatGatewayState, Reservation, RouteTable, SecurityGroup, Tag, Vpc, VpcAttributeName,
};
use futures::future::try_join_all;
use tether_engine::{ObserveScope, ProviderError};
use tether_model::{Address, Attributes, ObservedResource, Value};

use crate::client::AwsProvider;
use crate::error::send;
use crate::kind::Kind;
use crate::resources::optional_string;
use crate::tags::{ENVIRONMENT_TAG, observed_tags};

/// The tag value HyperShift gives `kubernetes.io/cluster/<infra id>` on what it created.
const OWNED: &str = "owned";

/// An existing AWS resource found by discovery.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Candidate {
    /// Its kind.
    pub kind: Kind,
    /// Its id, e.g. `vpc-0a1b…`.
    pub id: String,
    /// Its attributes in the shape observation reports, `tags` included.
    pub attributes: Attributes,
}

impl Candidate {
    /// Returns the value of tag `key`, if the resource carries it.
    pub fn tag(&self, key: &str) -> Option<&str> {
        self.attributes.get("tags")?.as_map()?.get(key)?.as_str()
    }
}

/// The selection of resources of a kind that one listing makes.
#[derive(Debug, Clone, Copy)]
enum Selector<'a> {
    /// Those tagged `kubernetes.io/cluster/<infra id>=owned`.
    Cluster(&'a str),
    /// Those with these ids.
    Ids(&'a BTreeSet<String>),
}

impl Selector<'_> {
    fn filter(&self, kind: Kind) -> Option<Filter> {
        match self {
            Selector::Cluster(infra_id) => {
                Some(Filter::builder().name(format!("tag:{}", cluster_tag(infra_id))).values(OWNED).build())
            }
            Selector::Ids(ids) => {
                let name = id_filter(kind)?;
                Some(Filter::builder().name(name).set_values(Some(ids.iter().cloned().collect())).build())
            }
        }
    }

    /// Checks an item again, because moto 5.2.5 ignores some filters (the tag filter of
    /// DescribeNatGateways among them).
    fn selects(&self, id: &str, tags: &[Tag]) -> bool {
        match self {
            Selector::Cluster(infra_id) => {
                let key = cluster_tag(infra_id);
                tags.iter().any(|tag| tag.key() == Some(key.as_str()) && tag.value() == Some(OWNED))
            }
            Selector::Ids(ids) => ids.contains(id),
        }
    }
}

/// HyperShift's cluster tag key for `infra_id`.
pub fn cluster_tag(infra_id: &str) -> String {
    format!("kubernetes.io/cluster/{infra_id}")
}

/// The EC2 filter that selects a kind by id; `None` for kinds without a lister.
fn id_filter(kind: Kind) -> Option<&'static str> {
    match kind {
        Kind::Vpc => Some("vpc-id"),
        Kind::InternetGateway => Some("internet-gateway-id"),
        Kind::Subnet => Some("subnet-id"),
        Kind::Eip => Some("allocation-id"),
        Kind::NatGateway => Some("nat-gateway-id"),
        Kind::RouteTable => Some("route-table-id"),
        Kind::SecurityGroup => Some("group-id"),
        Kind::Instance => Some("instance-id"),
        Kind::DhcpOptions => Some("dhcp-options-id"),
        Kind::VpcEndpoint => Some("vpc-endpoint-id"),
        _ => None,
    }
}

/// The IAM kinds, listed together: roles and instance profiles in one listing, OIDC providers in
/// another.
const IAM_KINDS: [Kind; 3] = [Kind::IamRole, Kind::InstanceProfile, Kind::OidcProvider];

/// True when discovery can list `kind`. Kinds without tags (routes, associations) are found
/// through their route tables instead, and the public zone is looked up by observation.
pub fn is_discoverable(kind: Kind) -> bool {
    id_filter(kind).is_some() || IAM_KINDS.contains(&kind) || kind == Kind::PrivateZone
}

/// ListTagsForResources accepts at most this many hosted zone ids per call.
const ZONE_TAG_BATCH: usize = 10;

/// The result of one listing: candidates, and for route tables the tables themselves, whose routes
/// and associations observation matches.
#[derive(Debug, Default)]
struct Listing {
    candidates: Vec<Candidate>,
    tables: Vec<RouteTable>,
}

impl AwsProvider {
    /// Lists every discoverable kind once with HyperShift's cluster tag for `infra_id`, and once
    /// more by id for each kind that `ids` names. A resource found both ways is returned once.
    ///
    /// # Errors
    /// Fails when any call fails.
    pub async fn discover(
        &self,
        infra_id: &str,
        ids: &BTreeMap<Kind, BTreeSet<String>>,
    ) -> Result<Vec<Candidate>, ProviderError> {
        let kinds = Kind::ALL.into_iter().filter(|kind| id_filter(*kind).is_some());
        let tagged = kinds.map(|kind| list_kind(&self.ec2, kind, Selector::Cluster(infra_id)));
        let named = ids.iter().map(|(kind, ids)| list_kind(&self.ec2, *kind, Selector::Ids(ids)));
        let iam_ids: BTreeSet<String> =
            ids.iter().filter(|(kind, _)| IAM_KINDS.contains(kind)).flat_map(|(_, ids)| ids.iter().cloned()).collect();
        let zone_ids = ids.get(&Kind::PrivateZone).cloned().unwrap_or_default();
        let (tagged, named, iam, zones) = futures::try_join!(
            try_join_all(tagged),
            try_join_all(named),
            list_iam(self.iam(), Selector::Cluster(infra_id), &iam_ids),
            list_private_zones(self, Selector::Cluster(infra_id), &zone_ids),
        )?;

        let mut seen = BTreeSet::new();
        let ec2 = tagged.into_iter().chain(named).flat_map(|listing| listing.candidates);
        let all = ec2.chain(iam).chain(zones);
        let mut candidates: Vec<Candidate> = all.filter(|candidate| seen.insert(candidate.id.clone())).collect();
        candidates.sort_by(|left, right| (left.kind, &left.id).cmp(&(right.kind, &right.id)));
        tracing::debug!(count = candidates.len(), infra_id, "AWS resources discovered");
        Ok(candidates)
    }
}

/// The result of [`observe_recorded`]: resources at their state addresses, the route tables among
/// them with their routes and associations, and each VPC's DHCP options set by VPC id.
#[derive(Debug, Default)]
pub(crate) struct Recorded {
    pub(crate) resources: Vec<ObservedResource>,
    pub(crate) tables: Vec<RouteTable>,
    pub(crate) dhcp_by_vpc: BTreeMap<String, String>,
}

/// Observes the resources that the state records but that the listing by tether's tags did not
/// return, such as imported resources that do not carry tether's tags yet: one call per kind with
/// such ids. Returns them under their state address, and the route tables among them.
///
/// A resource that carries another environment's tag is not this environment's and is skipped.
///
/// # Errors
/// Fails when any call fails.
pub(crate) async fn observe_recorded(
    provider: &AwsProvider,
    scope: &ObserveScope<'_>,
    observed: &[ObservedResource],
) -> Result<Recorded, ProviderError> {
    let found: BTreeSet<&Address> = observed.iter().map(|resource| &resource.address).collect();
    let mut missing: BTreeMap<Kind, BTreeMap<String, Address>> = BTreeMap::new();
    for (address, resource) in &scope.state.resources {
        let Ok(kind) = Kind::of(address) else { continue };
        if is_discoverable(kind) && !found.contains(address) {
            missing.entry(kind).or_default().insert(resource.id.clone(), address.clone());
        }
    }
    if missing.is_empty() {
        return Ok(Recorded::default());
    }

    let id_sets: Vec<(Kind, BTreeSet<String>)> =
        missing.iter().map(|(kind, by_id)| (*kind, by_id.keys().cloned().collect())).collect();
    let (iam_sets, other_sets): (Vec<_>, Vec<_>) = id_sets.iter().partition(|(kind, _)| IAM_KINDS.contains(kind));
    let (zone_sets, ec2_sets): (Vec<_>, Vec<_>) =
        other_sets.into_iter().partition(|(kind, _)| *kind == Kind::PrivateZone);
    let iam_ids: BTreeSet<String> = iam_sets.iter().flat_map(|(_, ids)| ids.iter().cloned()).collect();
    let zone_ids: BTreeSet<String> = zone_sets.iter().flat_map(|(_, ids)| ids.iter().cloned()).collect();
    let listings = ec2_sets.iter().map(|(kind, ids)| list_kind(&provider.ec2, *kind, Selector::Ids(ids)));
    let iam = async {
        if iam_ids.is_empty() {
            return Ok(Vec::new());
        }
        list_iam(provider.iam(), Selector::Ids(&iam_ids), &BTreeSet::new()).await
    };
    let zones = async {
        if zone_ids.is_empty() {
            return Ok(Vec::new());
        }
        list_private_zones(provider, Selector::Ids(&zone_ids), &BTreeSet::new()).await
    };
    let (mut listings, iam, zones) = futures::try_join!(try_join_all(listings), iam, zones)?;
    listings.push(Listing { candidates: iam, tables: Vec::new() });
    listings.push(Listing { candidates: zones, tables: Vec::new() });

    let mut recorded = Recorded::default();
    for listing in listings {
        let tables = listing.tables.into_iter().filter(|table| belongs(table.tags(), scope.environment));
        recorded.tables.extend(tables);
        for candidate in listing.candidates {
            let Some(address) = missing.get(&candidate.kind).and_then(|by_id| by_id.get(&candidate.id)) else {
                continue;
            };
            if candidate.tag(ENVIRONMENT_TAG).is_some_and(|environment| environment != scope.environment) {
                tracing::warn!(id = candidate.id, %address, "recorded resource carries another environment's tag; ignored");
                continue;
            }
            let mut attributes = candidate.attributes;
            // Observation reports a VPC's DHCP options set apart, for `aws.dhcp_options_association`.
            if let Some(options) = attributes.remove("dhcp_options_id").and_then(|id| id.as_str().map(str::to_owned)) {
                recorded.dhcp_by_vpc.insert(candidate.id.clone(), options);
            }
            recorded.resources.push(ObservedResource { address: address.clone(), id: candidate.id, attributes });
        }
    }
    complete_recorded_zones(provider, scope, observed, &mut recorded.resources).await?;
    tracing::debug!(count = recorded.resources.len(), "recorded AWS resources observed by id");
    Ok(recorded)
}

/// Gives the recorded private zones the attributes that observation gives tagged ones: the VPC
/// association (one ListHostedZonesByVPC call per VPC) and the public zone the desired zone names.
/// Observation has already checked that this public zone exists, because the desired graph names it.
///
/// # Errors
/// Fails when a call fails.
async fn complete_recorded_zones(
    provider: &AwsProvider,
    scope: &ObserveScope<'_>,
    observed: &[ObservedResource],
    recorded: &mut [ObservedResource],
) -> Result<(), ProviderError> {
    let is_zone = |resource: &ObservedResource| Kind::of(&resource.address).ok() == Some(Kind::PrivateZone);
    if !recorded.iter().any(is_zone) {
        return Ok(());
    }
    let is_vpc = |resource: &&ObservedResource| Kind::of(&resource.address).ok() == Some(Kind::Vpc);
    let vpc_ids: BTreeSet<String> =
        observed.iter().chain(recorded.iter()).filter(is_vpc).map(|vpc| vpc.id.clone()).collect();
    let vpc_ids: Vec<String> = vpc_ids.into_iter().collect();
    let desired_zones =
        scope.desired.iter().filter(|resource| Kind::of(&resource.address).ok() == Some(Kind::PrivateZone));
    let region =
        desired_zones.clone().find_map(|resource| resource.attributes.get("vpc_region")?.as_str().map(str::to_owned));

    for zone in recorded.iter_mut().filter(|resource| is_zone(resource)) {
        zone.attributes.insert("vpc_id".to_owned(), Value::Null);
        let desired = desired_zones.clone().find(|resource| resource.address == zone.address);
        if let Some(public_zone) = desired.and_then(|resource| resource.attributes.get("public_zone")) {
            zone.attributes.insert("public_zone".to_owned(), public_zone.clone());
        }
    }
    crate::resources::hosted_zone::fill_vpc_associations(provider, region.as_deref(), &vpc_ids, recorded).await
}

/// Lists the IAM roles with their instance profiles (one paginated GetAccountAuthorizationDetails
/// listing) and the OIDC providers (ListOpenIDConnectProviders, then one
/// GetOpenIDConnectProvider per selected provider), in observation's shapes.
///
/// IAM has no tag filter, and `hcp` names what it creates after the infra id, so the cluster
/// selector takes roles and profiles named `<infra id>-…` and providers whose URL ends with
/// `/<infra id>`. `extra_ids` adds roles (by ARN), profiles (by name) and providers (by ARN).
async fn list_iam(
    iam: &aws_sdk_iam::Client,
    selector: Selector<'_>,
    extra_ids: &BTreeSet<String>,
) -> Result<Vec<Candidate>, ProviderError> {
    let selects = |id: &str, name: &str| match selector {
        Selector::Cluster(infra_id) => name.starts_with(&format!("{infra_id}-")) || extra_ids.contains(id),
        Selector::Ids(ids) => ids.contains(id),
    };
    let mut candidates = Vec::new();
    let mut profiles = BTreeSet::new();
    for role in list_role_details(iam).await? {
        let tags = iam_ec2_tags(role.tags());
        let (arn, name) = (role.arn().unwrap_or_default(), role.role_name().unwrap_or_default());
        if selects(arn, name) {
            let policies = role.role_policy_list().iter().filter_map(|policy| {
                let document = crate::resources::iam::decode_policy(policy.policy_document()?);
                Some((policy.policy_name()?.to_owned(), Value::String(document)))
            });
            let trust = role.assume_role_policy_document().map(crate::resources::iam::decode_policy);
            let attributes = [
                ("name", Value::from(name)),
                ("path", role.path().map_or(Value::Null, Value::from)),
                ("assume_role_policy", trust.map_or(Value::Null, Value::String)),
                ("inline_policies", Value::Map(policies.collect())),
            ];
            candidates.push(candidate(Kind::IamRole, arn, &tags, attributes));
        }
        for profile in role.instance_profile_list() {
            let name = profile.instance_profile_name();
            if selects(name, name) && profiles.insert(name.to_owned()) {
                let role_name = profile.roles().iter().map(|role| role.role_name()).min();
                let attributes =
                    [("name", Value::from(name)), ("role_name", role_name.map_or(Value::Null, Value::from))];
                candidates.push(candidate(Kind::InstanceProfile, name, &iam_ec2_tags(profile.tags()), attributes));
            }
        }
    }

    let listed = send("ListOpenIDConnectProviders", iam.list_open_id_connect_providers().send()).await?;
    let arns = listed.open_id_connect_provider_list().iter().filter_map(|entry| entry.arn());
    let wanted: Vec<&str> = arns
        .filter(|arn| match selector {
            Selector::Cluster(infra_id) => arn.ends_with(&format!("/{infra_id}")) || extra_ids.contains(*arn),
            Selector::Ids(ids) => ids.contains(*arn),
        })
        .collect();
    for arn in wanted {
        let call = iam.get_open_id_connect_provider().open_id_connect_provider_arn(arn).send();
        let details = send("GetOpenIDConnectProvider", call).await?;
        let url = details.url().map(|url| format!("https://{}", url.trim_start_matches("https://")));
        let mut client_ids: Vec<&str> = details.client_id_list().iter().map(String::as_str).collect();
        client_ids.sort_unstable();
        let attributes = [
            ("url", url.map_or(Value::Null, Value::String)),
            ("client_ids", Value::List(client_ids.into_iter().map(Value::from).collect())),
        ];
        candidates.push(candidate(Kind::OidcProvider, arn, &iam_ec2_tags(details.tags()), attributes));
    }
    Ok(candidates)
}

/// Lists the private Route 53 hosted zones (one paginated ListHostedZones call, then one
/// ListTagsForResources call per 10 private zones) with their names and tags. Route 53 has no tag
/// filter, so the cluster selector reads the tags of every private zone in the account and keeps
/// those with HyperShift's cluster tag. `extra_ids` adds zones by id (`Z…`, without
/// `/hostedzone/`). Without a Route 53 client this lists nothing.
async fn list_private_zones(
    provider: &AwsProvider,
    selector: Selector<'_>,
    extra_ids: &BTreeSet<String>,
) -> Result<Vec<Candidate>, ProviderError> {
    let Some(route53) = provider.route53.as_ref() else { return Ok(Vec::new()) };
    let zones: Vec<aws_sdk_route53::types::HostedZone> =
        send("ListHostedZones", route53.list_hosted_zones().into_paginator().items().send().collect()).await?;
    let private: Vec<&aws_sdk_route53::types::HostedZone> = zones
        .iter()
        .filter(|zone| zone.config().is_some_and(aws_sdk_route53::types::HostedZoneConfig::private_zone))
        .filter(|zone| match selector {
            Selector::Cluster(_) => true,
            Selector::Ids(ids) => ids.contains(zone_id(zone.id())),
        })
        .collect();

    let mut tags_by_id: BTreeMap<String, Vec<Tag>> = BTreeMap::new();
    for batch in private.chunks(ZONE_TAG_BATCH) {
        let ids = batch.iter().map(|zone| zone_id(zone.id()).to_owned()).collect();
        let call = route53
            .list_tags_for_resources()
            .resource_type(aws_sdk_route53::types::TagResourceType::Hostedzone)
            .set_resource_ids(Some(ids))
            .send();
        let output = send("ListTagsForResources", call).await?;
        for set in output.resource_tag_sets() {
            let tags = set
                .tags()
                .iter()
                .map(|tag| Tag::builder().set_key(tag.key.clone()).set_value(tag.value.clone()).build());
            tags_by_id.insert(zone_id(set.resource_id().unwrap_or_default()).to_owned(), tags.collect());
        }
    }

    let selected = private.into_iter().filter_map(|zone| {
        let id = zone_id(zone.id());
        let tags = tags_by_id.get(id).map(Vec::as_slice).unwrap_or_default();
        (selector.selects(id, tags) || extra_ids.contains(id)).then_some(())?;
        let name = zone.name().trim_end_matches('.').to_ascii_lowercase();
        Some(candidate(Kind::PrivateZone, id, tags, [("name", Value::String(name))]))
    });
    Ok(selected.collect())
}

/// `/hostedzone/Z123` as `Z123`, the id form of the state and of ListTagsForResources.
fn zone_id(id: &str) -> &str {
    id.rsplit('/').next().unwrap_or(id)
}

async fn list_role_details(iam: &aws_sdk_iam::Client) -> Result<Vec<aws_sdk_iam::types::RoleDetail>, ProviderError> {
    let mut roles = Vec::new();
    let mut marker: Option<String> = None;
    loop {
        let call = iam
            .get_account_authorization_details()
            .filter(aws_sdk_iam::types::EntityType::Role)
            .set_marker(marker.take())
            .send();
        let output = send("GetAccountAuthorizationDetails", call).await?;
        roles.extend(output.role_detail_list().iter().cloned());
        match output.marker() {
            Some(next) if output.is_truncated() => marker = Some(next.to_owned()),
            _ => return Ok(roles),
        }
    }
}

/// IAM tags in the EC2 SDK's shape, as observation converts them.
fn iam_ec2_tags(tags: &[aws_sdk_iam::types::Tag]) -> Vec<Tag> {
    tags.iter().map(|tag| Tag::builder().key(tag.key()).value(tag.value()).build()).collect()
}

/// False when the tags name another environment.
fn belongs(tags: &[Tag], environment: &str) -> bool {
    tags.iter().all(|tag| tag.key() != Some(ENVIRONMENT_TAG) || tag.value() == Some(environment))
}

/// Lists one kind with one filter and converts the selected items; the per-kind extension point.
async fn list_kind(ec2: &aws_sdk_ec2::Client, kind: Kind, selector: Selector<'_>) -> Result<Listing, ProviderError> {
    let Some(filter) = selector.filter(kind) else {
        return Ok(Listing::default());
    };
    let candidates = match kind {
        Kind::Vpc => vpcs(ec2, filter, selector).await?,
        Kind::InternetGateway => internet_gateways(ec2, filter, selector).await?,
        Kind::Subnet => subnets(ec2, filter, selector).await?,
        Kind::Eip => elastic_ips(ec2, filter, selector).await?,
        Kind::NatGateway => nat_gateways(ec2, filter, selector).await?,
        Kind::RouteTable => return route_tables(ec2, filter, selector).await,
        Kind::SecurityGroup => security_groups(ec2, filter, selector).await?,
        Kind::Instance => instances(ec2, filter, selector).await?,
        Kind::DhcpOptions => dhcp_options(ec2, filter, selector).await?,
        Kind::VpcEndpoint => vpc_endpoints(ec2, filter, selector).await?,
        _ => Vec::new(),
    };
    Ok(Listing { candidates, tables: Vec::new() })
}

fn candidate<const N: usize>(kind: Kind, id: &str, tags: &[Tag], attributes: [(&str, Value); N]) -> Candidate {
    let mut attributes: Attributes = attributes.into_iter().map(|(name, value)| (name.to_owned(), value)).collect();
    attributes.insert("tags".to_owned(), observed_tags(tags));
    Candidate { kind, id: id.to_owned(), attributes }
}

async fn vpcs(
    ec2: &aws_sdk_ec2::Client,
    filter: Filter,
    selector: Selector<'_>,
) -> Result<Vec<Candidate>, ProviderError> {
    let request = ec2.describe_vpcs().filters(filter);
    let vpcs: Vec<Vpc> = send("DescribeVpcs", request.into_paginator().items().send().collect()).await?;
    let selected = vpcs.iter().filter(|vpc| selector.selects(vpc.vpc_id().unwrap_or_default(), vpc.tags()));
    try_join_all(selected.map(|vpc| vpc_candidate(ec2, vpc))).await
}

/// Reads a VPC's two DNS attributes, one DescribeVpcAttribute call each as the API requires.
async fn vpc_candidate(ec2: &aws_sdk_ec2::Client, vpc: &Vpc) -> Result<Candidate, ProviderError> {
    let id = vpc.vpc_id().unwrap_or_default();
    let read = |name: VpcAttributeName| async move {
        let call = ec2.describe_vpc_attribute().vpc_id(id).attribute(name.clone()).send();
        let output = send("DescribeVpcAttribute", call).await?;
        let value = match name {
            VpcAttributeName::EnableDnsSupport => output.enable_dns_support(),
            _ => output.enable_dns_hostnames(),
        };
        Ok::<Value, ProviderError>(value.and_then(AttributeBooleanValue::value).map_or(Value::Null, Value::Bool))
    };
    let (support, hostnames) =
        futures::try_join!(read(VpcAttributeName::EnableDnsSupport), read(VpcAttributeName::EnableDnsHostnames))?;
    Ok(candidate(
        Kind::Vpc,
        id,
        vpc.tags(),
        [
            ("cidr_block", optional_string(vpc.cidr_block())),
            ("enable_dns_support", support),
            ("enable_dns_hostnames", hostnames),
            // Observed for `aws.dhcp_options_association`, as the VPC's own observation does.
            ("dhcp_options_id", optional_string(vpc.dhcp_options_id())),
        ],
    ))
}

async fn dhcp_options(
    ec2: &aws_sdk_ec2::Client,
    filter: Filter,
    selector: Selector<'_>,
) -> Result<Vec<Candidate>, ProviderError> {
    use aws_sdk_ec2::types::{DhcpConfiguration, DhcpOptions};
    let request = ec2.describe_dhcp_options().filters(filter);
    let sets: Vec<DhcpOptions> = send("DescribeDhcpOptions", request.into_paginator().items().send().collect()).await?;
    let converted = sets.iter().filter_map(|set| {
        let id = set.dhcp_options_id()?;
        selector.selects(id, set.tags()).then_some(())?;
        let values = |key: &str| -> Vec<Value> {
            let configuration = set.dhcp_configurations().iter().find(|entry| entry.key() == Some(key));
            let values = configuration.map(DhcpConfiguration::values).unwrap_or_default();
            values.iter().filter_map(|value| value.value()).map(Value::from).collect()
        };
        let domain_name = values("domain-name").into_iter().next().unwrap_or(Value::Null);
        Some(candidate(
            Kind::DhcpOptions,
            id,
            set.tags(),
            [("domain_name", domain_name), ("domain_name_servers", Value::List(values("domain-name-servers")))],
        ))
    });
    Ok(converted.collect())
}

async fn vpc_endpoints(
    ec2: &aws_sdk_ec2::Client,
    filter: Filter,
    selector: Selector<'_>,
) -> Result<Vec<Candidate>, ProviderError> {
    use aws_sdk_ec2::types::{VpcEndpoint, VpcEndpointType};
    const ENDED: [&str; 4] = ["deleting", "deleted", "rejected", "failed"];
    // moto 5.2.5 rejects the `vpc-endpoint-id` filter, so a listing by id lists every endpoint
    // and keeps the named ones below.
    let filter = matches!(selector, Selector::Cluster(_)).then_some(filter);
    let request = ec2.describe_vpc_endpoints().set_filters(filter.map(|filter| vec![filter]));
    let endpoints: Vec<VpcEndpoint> =
        send("DescribeVpcEndpoints", request.into_paginator().items().send().collect()).await?;
    let live = endpoints.iter().filter(|endpoint| {
        let state = endpoint.state().map(|state| state.as_str().to_ascii_lowercase());
        !state.is_some_and(|state| ENDED.contains(&state.as_str()))
    });
    let converted = live.filter_map(|endpoint| {
        let id = endpoint.vpc_endpoint_id()?;
        selector.selects(id, endpoint.tags()).then_some(())?;
        let mut table_ids: Vec<&str> = endpoint.route_table_ids().iter().map(String::as_str).collect();
        table_ids.sort_unstable();
        Some(candidate(
            Kind::VpcEndpoint,
            id,
            endpoint.tags(),
            [
                ("vpc_id", optional_string(endpoint.vpc_id())),
                ("service_name", optional_string(endpoint.service_name())),
                ("vpc_endpoint_type", optional_string(endpoint.vpc_endpoint_type().map(VpcEndpointType::as_str))),
                ("route_table_ids", Value::List(table_ids.into_iter().map(Value::from).collect())),
            ],
        ))
    });
    Ok(converted.collect())
}

async fn internet_gateways(
    ec2: &aws_sdk_ec2::Client,
    filter: Filter,
    selector: Selector<'_>,
) -> Result<Vec<Candidate>, ProviderError> {
    use aws_sdk_ec2::types::{AttachmentStatus, InternetGateway};
    let request = ec2.describe_internet_gateways().filters(filter);
    let gateways: Vec<InternetGateway> =
        send("DescribeInternetGateways", request.into_paginator().items().send().collect()).await?;
    let converted = gateways.iter().filter_map(|gateway| {
        let id = gateway.internet_gateway_id()?;
        selector.selects(id, gateway.tags()).then_some(())?;
        let attached = gateway.attachments().iter().find(|attachment| {
            !matches!(attachment.state(), Some(AttachmentStatus::Detached | AttachmentStatus::Detaching))
        });
        let vpc_id = optional_string(attached.and_then(|attachment| attachment.vpc_id()));
        Some(candidate(Kind::InternetGateway, id, gateway.tags(), [("vpc_id", vpc_id)]))
    });
    Ok(converted.collect())
}

async fn subnets(
    ec2: &aws_sdk_ec2::Client,
    filter: Filter,
    selector: Selector<'_>,
) -> Result<Vec<Candidate>, ProviderError> {
    let request = ec2.describe_subnets().filters(filter);
    let subnets: Vec<aws_sdk_ec2::types::Subnet> =
        send("DescribeSubnets", request.into_paginator().items().send().collect()).await?;
    let converted = subnets.iter().filter_map(|subnet| {
        let id = subnet.subnet_id()?;
        selector.selects(id, subnet.tags()).then_some(())?;
        Some(candidate(
            Kind::Subnet,
            id,
            subnet.tags(),
            [
                ("vpc_id", optional_string(subnet.vpc_id())),
                ("cidr_block", optional_string(subnet.cidr_block())),
                ("availability_zone", optional_string(subnet.availability_zone())),
            ],
        ))
    });
    Ok(converted.collect())
}

async fn elastic_ips(
    ec2: &aws_sdk_ec2::Client,
    filter: Filter,
    selector: Selector<'_>,
) -> Result<Vec<Candidate>, ProviderError> {
    let output = send("DescribeAddresses", ec2.describe_addresses().filters(filter).send()).await?;
    let converted = output.addresses().iter().filter_map(|elastic_ip| {
        let id = elastic_ip.allocation_id()?;
        selector.selects(id, elastic_ip.tags()).then_some(())?;
        let domain = elastic_ip.domain().map_or(Value::Null, |domain| Value::from(domain.as_str()));
        Some(candidate(Kind::Eip, id, elastic_ip.tags(), [("domain", domain)]))
    });
    Ok(converted.collect())
}

async fn nat_gateways(
    ec2: &aws_sdk_ec2::Client,
    filter: Filter,
    selector: Selector<'_>,
) -> Result<Vec<Candidate>, ProviderError> {
    let request = ec2.describe_nat_gateways().filter(filter);
    let gateways: Vec<NatGateway> =
        send("DescribeNatGateways", request.into_paginator().items().send().collect()).await?;
    let live = |gateway: &&NatGateway| {
        !matches!(gateway.state(), Some(NatGatewayState::Deleted | NatGatewayState::Deleting | NatGatewayState::Failed))
    };
    let converted = gateways.iter().filter(live).filter_map(|gateway| {
        let id = gateway.nat_gateway_id()?;
        selector.selects(id, gateway.tags()).then_some(())?;
        let addresses = gateway.nat_gateway_addresses();
        let primary = addresses.iter().find(|address| address.is_primary() == Some(true)).or(addresses.first());
        let allocation_id = optional_string(primary.and_then(|address| address.allocation_id()));
        Some(candidate(
            Kind::NatGateway,
            id,
            gateway.tags(),
            [("subnet_id", optional_string(gateway.subnet_id())), ("allocation_id", allocation_id)],
        ))
    });
    Ok(converted.collect())
}

async fn route_tables(
    ec2: &aws_sdk_ec2::Client,
    filter: Filter,
    selector: Selector<'_>,
) -> Result<Listing, ProviderError> {
    let request = ec2.describe_route_tables().filters(filter);
    let mut tables: Vec<RouteTable> =
        send("DescribeRouteTables", request.into_paginator().items().send().collect()).await?;
    tables.retain(|table| selector.selects(table.route_table_id().unwrap_or_default(), table.tags()));
    let candidates = tables
        .iter()
        .filter_map(|table| {
            let id = table.route_table_id()?;
            Some(candidate(Kind::RouteTable, id, table.tags(), [("vpc_id", optional_string(table.vpc_id()))]))
        })
        .collect();
    Ok(Listing { candidates, tables })
}

async fn security_groups(
    ec2: &aws_sdk_ec2::Client,
    filter: Filter,
    selector: Selector<'_>,
) -> Result<Vec<Candidate>, ProviderError> {
    let request = ec2.describe_security_groups().filters(filter);
    let groups: Vec<SecurityGroup> =
        send("DescribeSecurityGroups", request.into_paginator().items().send().collect()).await?;
    let converted = groups.iter().filter_map(|group| {
        let id = group.group_id()?;
        selector.selects(id, group.tags()).then_some(())?;
        Some(candidate(
            Kind::SecurityGroup,
            id,
            group.tags(),
            [
                ("vpc_id", optional_string(group.vpc_id())),
                ("group_name", optional_string(group.group_name())),
                ("description", optional_string(group.description())),
                ("ingress", Value::List(ingress_rules(group.ip_permissions()))),
            ],
        ))
    });
    Ok(converted.collect())
}

/// Splits permissions into one `{protocol, cidr, from_port, to_port}` rule per CIDR, sorted as the
/// security group's observation sorts them (protocol, ports, CIDR); ports are left out for
/// protocol `-1`. Rules naming groups or prefix lists have no place in the attribute.
fn ingress_rules(permissions: &[IpPermission]) -> Vec<Value> {
    let mut rules: BTreeSet<(String, Option<i64>, Option<i64>, String)> = BTreeSet::new();
    for permission in permissions {
        let protocol = permission.ip_protocol().unwrap_or("-1").to_owned();
        let all = protocol == "-1";
        let from_port = permission.from_port().filter(|_| !all).map(i64::from);
        let to_port = permission.to_port().filter(|_| !all).map(i64::from);
        let ipv4 = permission.ip_ranges().iter().filter_map(IpRange::cidr_ip);
        let ipv6 = permission.ipv6_ranges().iter().filter_map(Ipv6Range::cidr_ipv6);
        for cidr in ipv4.chain(ipv6) {
            rules.insert((protocol.clone(), from_port, to_port, cidr.to_owned()));
        }
    }
    let rule = |(protocol, from_port, to_port, cidr): (String, Option<i64>, Option<i64>, String)| {
        let mut entries = vec![("protocol", Value::from(protocol.as_str())), ("cidr", Value::from(cidr.as_str()))];
        if let (Some(from), Some(to)) = (from_port, to_port) {
            entries.push(("from_port", Value::Int(from)));
            entries.push(("to_port", Value::Int(to)));
        }
        Value::map(entries)
    };
    rules.into_iter().map(rule).collect()
}

async fn instances(
    ec2: &aws_sdk_ec2::Client,
    filter: Filter,
    selector: Selector<'_>,
) -> Result<Vec<Candidate>, ProviderError> {
    const LIVE: [InstanceStateName; 4] = [
        InstanceStateName::Pending,
        InstanceStateName::Running,
        InstanceStateName::Stopping,
        InstanceStateName::Stopped,
    ];
    let live = Filter::builder()
        .name("instance-state-name")
        .set_values(Some(LIVE.iter().map(|state| state.as_str().to_owned()).collect()))
        .build();
    let request = ec2.describe_instances().filters(filter).filters(live);
    let reservations: Vec<Reservation> =
        send("DescribeInstances", request.into_paginator().items().send().collect()).await?;

    let is_live =
        |instance: &&Instance| instance.state().and_then(|state| state.name()).is_some_and(|s| LIVE.contains(s));
    let converted = reservations.iter().flat_map(Reservation::instances).filter(is_live).filter_map(|instance| {
        let id = instance.instance_id()?;
        selector.selects(id, instance.tags()).then_some(())?;
        let mut group_ids: Vec<&str> = instance.security_groups().iter().filter_map(|group| group.group_id()).collect();
        group_ids.sort_unstable();
        Some(candidate(
            Kind::Instance,
            id,
            instance.tags(),
            [
                ("ami", optional_string(instance.image_id())),
                ("instance_type", optional_string(instance.instance_type().map(InstanceType::as_str))),
                ("subnet_id", optional_string(instance.subnet_id())),
                ("security_group_ids", Value::List(group_ids.into_iter().map(Value::from).collect())),
                // The instance's own flag, as observation reads it.
                ("source_dest_check", instance.source_dest_check().map_or(Value::Null, Value::Bool)),
            ],
        ))
    });
    Ok(converted.collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ingress_rules_sorted_and_split_per_cidr() {
        let all = IpPermission::builder()
            .ip_protocol("-1")
            .ip_ranges(IpRange::builder().cidr_ip("192.168.6.0/24").build())
            .ip_ranges(IpRange::builder().cidr_ip("10.1.0.0/16").build())
            .build();
        let rules = ingress_rules(&[all]);
        let cidrs: Vec<&str> = rules.iter().filter_map(|rule| rule.get_path(&["cidr"])?.as_str()).collect();
        assert_eq!(cidrs, ["10.1.0.0/16", "192.168.6.0/24"]);
        assert!(rules[0].get_path(&["from_port"]).is_none());
    }

    #[test]
    fn cluster_selector_checks_the_tag_again() {
        let selector = Selector::Cluster("ai");
        let owned = [Tag::builder().key("kubernetes.io/cluster/ai").value("owned").build()];
        let other = [Tag::builder().key("kubernetes.io/cluster/other").value("owned").build()];
        assert!(selector.selects("nat-1", &owned));
        assert!(!selector.selects("nat-1", &other));
    }

    #[test]
    fn untagged_kinds_are_not_discoverable() {
        assert!(!is_discoverable(Kind::Route));
        assert!(!is_discoverable(Kind::RouteTableAssociation));
        assert!(is_discoverable(Kind::Vpc));
        assert!(is_discoverable(Kind::PrivateZone));
    }

    #[test]
    fn zone_ids_lose_their_prefix() {
        assert_eq!(zone_id("/hostedzone/Z0123ABC"), "Z0123ABC");
        assert_eq!(zone_id("Z0123ABC"), "Z0123ABC");
    }
}
