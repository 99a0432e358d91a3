//! `aws.private_zone`: a private Route 53 hosted zone associated with the VPC.
//!
//! A private zone's optional `public_zone` attribute names the public zone of the base domain,
//! which must already exist, as for `hcp create cluster aws`. Observation looks it up and fails
//! without it; tether never creates, changes or deletes it.
//!
//! Observation lists every hosted zone once (ListHostedZones), reads the tags of the private
//! zones whose names the environment uses in one ListTagsForResources call per 10 zones, and
//! reads each tether VPC's zone associations with one ListHostedZonesByVPC call.

use std::collections::{BTreeMap, BTreeSet};
use std::time::{SystemTime, UNIX_EPOCH};

use aws_sdk_route53::types::{HostedZone, HostedZoneConfig, Tag as ZoneTag, TagResourceType, Vpc, VpcRegion};
use tether_engine::{ApplyRequest, DeleteRequest, ObserveScope, ProviderError};
use tether_model::{Address, Attributes, ObservedResource, Value};

use super::observed;
use crate::attributes::{AttributeReader, changed};
use crate::client::AwsProvider;
use crate::error::{send, send_unless_absent};
use crate::kind::Kind;
use crate::tags::{desired_tags, observed_tags, owned_address};

/// ListTagsForResources accepts at most this many zone ids per call.
const TAG_BATCH: usize = 10;

/// A Route 53 problem that is not an API error.
#[derive(Debug, thiserror::Error)]
pub(crate) enum ZoneError {
    /// The public zone the environment's base domain names does not exist.
    #[error(
        "the public hosted zone `{domain}` does not exist in this AWS account; create it (e.g. `aws route53 \
         create-hosted-zone --name {domain} --caller-reference <unique text>`) and delegate the domain to it, or \
         correct `cluster.base_domain`"
    )]
    PublicZoneMissing {
        /// The base domain.
        domain: String,
    },
    /// More than one public zone has the base domain's name.
    #[error("{count} public hosted zones are named `{domain}`; keep one, so that the cluster's records have one home")]
    PublicZoneAmbiguous {
        /// The base domain.
        domain: String,
        /// How many zones have that name.
        count: usize,
    },
    /// A Route 53 kind was requested from a provider built without a Route 53 client.
    #[error("this AWS provider has no Route 53 client; build it with `from_sdk_config` or add one with `with_route53`")]
    NoClient,
}

impl ZoneError {
    fn into_provider_error(self, operation: &str) -> ProviderError {
        ProviderError::permanent(operation, self)
    }
}

/// Returns the provider's Route 53 client.
fn client<'a>(provider: &'a AwsProvider, operation: &str) -> Result<&'a aws_sdk_route53::Client, ProviderError> {
    provider.route53.as_ref().ok_or_else(|| ZoneError::NoClient.into_provider_error(operation))
}

/// `ai.hcp.example.com.` and `AI.hcp.example.com` are one zone name.
fn zone_name(name: &str) -> String {
    name.trim_end_matches('.').to_ascii_lowercase()
}

/// `/hostedzone/Z123` as `Z123`, the form ListTagsForResources and `spec.dns` take.
fn short_id(id: &str) -> &str {
    id.rsplit('/').next().unwrap_or(id)
}

/// Route 53 tags in the EC2 SDK's shape, so that the shared ownership checks apply.
fn ec2_tags(tags: &[ZoneTag]) -> Vec<aws_sdk_ec2::types::Tag> {
    tags.iter()
        .map(|tag| aws_sdk_ec2::types::Tag::builder().set_key(tag.key.clone()).set_value(tag.value.clone()).build())
        .collect()
}

/// Lists the private zones that the desired graph or the state names, each with its zone name.
fn requested_zones(scope: &ObserveScope<'_>) -> Vec<(Address, String)> {
    let from_desired = scope.desired.iter().map(|resource| (&resource.address, &resource.attributes));
    let from_state = scope.state.resources.iter().map(|(address, resource)| (address, &resource.attributes));
    let mut found: Vec<(Address, String)> = from_desired
        .chain(from_state)
        .filter(|(address, _)| Kind::of(address).ok() == Some(Kind::PrivateZone))
        .filter_map(|(address, attributes)| Some((address.clone(), zone_name(attributes.get("name")?.as_str()?))))
        .collect();
    found.sort();
    found.dedup();
    found
}

/// Lists the desired private zones that name a public zone, with that zone's name.
fn requested_public_zones(scope: &ObserveScope<'_>) -> Vec<(Address, String)> {
    let named = scope.desired.iter().filter(|resource| Kind::of(&resource.address).ok() == Some(Kind::PrivateZone));
    let public = named.filter_map(|resource| {
        let domain = resource.attributes.get("public_zone")?.as_str()?;
        Some((resource.address.clone(), domain.to_owned()))
    });
    public.collect()
}

/// Observes the environment's private zones and checks that the public zones they name exist.
/// Makes no call when the environment has no zone.
///
/// # Errors
/// Fails when a call fails, and when a named public zone does not exist or is not unique.
pub(crate) async fn observe(
    provider: &AwsProvider,
    scope: &ObserveScope<'_>,
) -> Result<Vec<ObservedResource>, ProviderError> {
    let private = requested_zones(scope);
    if private.is_empty() {
        return Ok(Vec::new());
    }
    let route53 = client(provider, "ListHostedZones")?;
    let zones: Vec<HostedZone> =
        send("ListHostedZones", route53.list_hosted_zones().into_paginator().items().send().collect()).await?;

    let public = requested_public_zones(scope);
    for (_, domain) in &public {
        check_public_zone(&zones, domain)?;
    }

    let names: BTreeSet<&str> = private.iter().map(|(_, name)| name.as_str()).collect();
    let candidates: Vec<&HostedZone> =
        zones.iter().filter(|zone| is_private(zone) && names.contains(zone_name(zone.name()).as_str())).collect();
    let mut observed_zones = observe_private(route53, scope.environment, &candidates).await?;

    // The public zone exists (checked above), so the observed lookup equals the desired one.
    for zone in &mut observed_zones {
        if let Some((_, domain)) = public.iter().find(|(address, _)| *address == zone.address) {
            zone.attributes.insert("public_zone".to_owned(), Value::from(domain.as_str()));
        }
    }
    Ok(observed_zones)
}

/// Fails unless exactly one public zone is named `domain`.
fn check_public_zone(zones: &[HostedZone], domain: &str) -> Result<(), ProviderError> {
    let requested = zone_name(domain);
    let count = zones.iter().filter(|zone| !is_private(zone) && zone_name(zone.name()) == requested).count();
    match count {
        1 => Ok(()),
        0 => Err(ZoneError::PublicZoneMissing { domain: requested }.into_provider_error("ListHostedZones")),
        count => {
            Err(ZoneError::PublicZoneAmbiguous { domain: requested, count }.into_provider_error("ListHostedZones"))
        }
    }
}

fn is_private(zone: &HostedZone) -> bool {
    zone.config().is_some_and(|config| config.private_zone())
}

/// Reads the tags of the candidate zones and keeps those with this environment's marks. Their
/// `vpc_id` is filled in later by [`fill_vpc_associations`].
async fn observe_private(
    route53: &aws_sdk_route53::Client,
    environment: &str,
    candidates: &[&HostedZone],
) -> Result<Vec<ObservedResource>, ProviderError> {
    let mut tags_by_id: BTreeMap<String, Vec<ZoneTag>> = BTreeMap::new();
    for batch in candidates.chunks(TAG_BATCH) {
        let ids = batch.iter().map(|zone| short_id(zone.id()).to_owned()).collect();
        let call = route53
            .list_tags_for_resources()
            .resource_type(TagResourceType::Hostedzone)
            .set_resource_ids(Some(ids))
            .send();
        let output = send("ListTagsForResources", call).await?;
        for set in output.resource_tag_sets() {
            if let Some(id) = set.resource_id() {
                tags_by_id.insert(short_id(id).to_owned(), set.tags().to_vec());
            }
        }
    }

    let owned = candidates.iter().filter_map(|zone| {
        let id = short_id(zone.id());
        let tags = ec2_tags(tags_by_id.get(id).map(Vec::as_slice).unwrap_or_default());
        let address = owned_address(&tags, Kind::PrivateZone, id, environment)?;
        Some(observed(
            address,
            id,
            [("name", Value::string(zone_name(zone.name()))), ("vpc_id", Value::Null), ("tags", observed_tags(&tags))],
        ))
    });
    Ok(owned.collect())
}

/// Sets `vpc_id` and `vpc_region` of the observed private zones from the zone associations of
/// the observed VPCs: one ListHostedZonesByVPC call per VPC.
///
/// # Errors
/// Fails when a call fails.
pub(crate) async fn fill_vpc_associations(
    provider: &AwsProvider,
    region: Option<&str>,
    vpc_ids: &[String],
    zones: &mut [ObservedResource],
) -> Result<(), ProviderError> {
    const OPERATION: &str = "ListHostedZonesByVPC";
    let zones_present = zones.iter().any(|zone| Kind::of(&zone.address).ok() == Some(Kind::PrivateZone));
    let Some(region) = region.filter(|_| zones_present) else {
        return Ok(());
    };
    let route53 = client(provider, OPERATION)?;
    let mut vpc_of_zone: BTreeMap<String, String> = BTreeMap::new();
    for vpc_id in vpc_ids {
        let call = route53.list_hosted_zones_by_vpc().vpc_id(vpc_id).vpc_region(VpcRegion::from(region)).send();
        let output = send(OPERATION, call).await?;
        for summary in output.hosted_zone_summaries() {
            vpc_of_zone.insert(short_id(summary.hosted_zone_id()).to_owned(), vpc_id.clone());
        }
    }

    for zone in zones.iter_mut().filter(|zone| Kind::of(&zone.address).ok() == Some(Kind::PrivateZone)) {
        if let Some(vpc_id) = vpc_of_zone.get(&zone.id) {
            zone.attributes.insert("vpc_id".to_owned(), Value::from(vpc_id.as_str()));
            zone.attributes.insert("vpc_region".to_owned(), Value::from(region));
        }
    }
    Ok(())
}

/// Creates the private zone associated with its VPC, then tags it.
///
/// # Errors
/// Fails on invalid attributes or when an API call fails. A zone created before a failed tag
/// call has no ownership marks, so observation cannot find it again.
pub(crate) async fn create_private(
    provider: &AwsProvider,
    request: &ApplyRequest<'_>,
) -> Result<String, ProviderError> {
    const OPERATION: &str = "CreateHostedZone";
    let route53 = client(provider, OPERATION)?;
    let reader = AttributeReader::new(request.address, request.attributes, OPERATION);
    let name = reader.string("name")?;
    let vpc_id = reader.string("vpc_id")?;
    let vpc_region = reader.string("vpc_region")?;
    let tags = desired_tags(&reader, request.environment)?;

    // Route 53 needs a caller reference that no earlier request used.
    let nanos = SystemTime::now().duration_since(UNIX_EPOCH).map(|elapsed| elapsed.as_nanos()).unwrap_or_default();
    let reference = format!("tether-{}-{nanos}", request.address);
    let vpc = Vpc::builder().vpc_id(vpc_id).vpc_region(VpcRegion::from(vpc_region)).build();
    let config = HostedZoneConfig::builder().private_zone(true).comment(format!("tether {}", request.address)).build();
    let call =
        route53.create_hosted_zone().name(name).caller_reference(reference).vpc(vpc).hosted_zone_config(config).send();
    let output = send(OPERATION, call).await?;
    let id = short_id(output.hosted_zone().map(HostedZone::id).unwrap_or_default()).to_owned();
    tracing::debug!(id, name, "private hosted zone created");

    change_tags(route53, &id, None, &tags).await?;
    Ok(id)
}

/// Updates the private zone's tags, the only attributes that change in place.
///
/// # Errors
/// Fails when a tag call fails.
pub(crate) async fn update_private(
    provider: &AwsProvider,
    request: &ApplyRequest<'_>,
    id: &str,
) -> Result<String, ProviderError> {
    const OPERATION: &str = "ChangeTagsForResource";
    let route53 = client(provider, OPERATION)?;
    let reader = AttributeReader::new(request.address, request.attributes, OPERATION);
    let tags = desired_tags(&reader, request.environment)?;
    crate::attributes::ensure_unchanged(request.address, request.before, request.attributes, &["name"], OPERATION)?;
    if changed(request.before, request.attributes, "tags") {
        change_tags(route53, id, request.before, &tags).await?;
    }
    Ok(id.to_owned())
}

/// Sets the desired tags and removes the observed keys that are no longer desired.
async fn change_tags(
    route53: &aws_sdk_route53::Client,
    id: &str,
    before: Option<&Attributes>,
    desired: &BTreeMap<String, String>,
) -> Result<(), ProviderError> {
    let observed_keys: Vec<String> = before
        .and_then(|before| before.get("tags"))
        .and_then(Value::as_map)
        .map(|tags| tags.keys().filter(|key| !desired.contains_key(*key)).cloned().collect())
        .unwrap_or_default();
    let add = desired.iter().map(|(key, value)| ZoneTag::builder().key(key).value(value).build()).collect();
    let call = route53
        .change_tags_for_resource()
        .resource_type(TagResourceType::Hostedzone)
        .resource_id(id)
        .set_add_tags(Some(add))
        .set_remove_tag_keys(Some(observed_keys).filter(|keys| !keys.is_empty()))
        .send();
    send("ChangeTagsForResource", call).await?;
    Ok(())
}

/// Deletes the private zone; one that is already gone counts as deleted.
///
/// # Errors
/// Fails when DeleteHostedZone fails, e.g. with `HostedZoneNotEmpty` while records other than
/// its NS and SOA records remain.
pub(crate) async fn delete_private(provider: &AwsProvider, request: &DeleteRequest<'_>) -> Result<(), ProviderError> {
    const OPERATION: &str = "DeleteHostedZone";
    let route53 = client(provider, OPERATION)?;
    send_unless_absent(OPERATION, &["NoSuchHostedZone"], route53.delete_hosted_zone().id(request.id).send()).await?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn zone_names_compare_without_dot_and_case() {
        assert_eq!(zone_name("AI.hcp.example.com."), "ai.hcp.example.com");
    }

    #[test]
    fn short_id_drops_prefix() {
        assert_eq!(short_id("/hostedzone/Z123"), "Z123");
        assert_eq!(short_id("Z123"), "Z123");
    }

    #[test]
    fn missing_public_zone_names_domain_and_fix() {
        let message = ZoneError::PublicZoneMissing { domain: "hcp.example.com".to_owned() }.to_string();
        assert!(message.contains("`hcp.example.com` does not exist"), "{message}");
        assert!(message.contains("correct `cluster.base_domain`"), "{message}");
    }
}
