//! `aws.security_group`: a security group and its CIDR ingress rules. Egress stays at AWS's
//! default (all traffic allowed).

use std::collections::BTreeSet;

use aws_sdk_ec2::types::{IpPermission, IpRange, Ipv6Range, ResourceType, SecurityGroup};
use tether_engine::{ApplyRequest, DeleteRequest, ProviderError};
use tether_model::{ObservedResource, Value};

use super::{observed, optional_string, response_field};
use crate::attributes::{AttributeReader, ensure_unchanged};
use crate::client::AwsProvider;
use crate::error::{has_code, send, send_unless_absent};
use crate::idempotency::adopt_security_group;
use crate::kind::Kind;
use crate::tags::{desired_tags, environment_filter, observed_tags, owned_address, tag_specification, update_tags};

/// The protocol value that means "all protocols"; its rules have no ports.
const ALL_PROTOCOLS: &str = "-1";

/// One ingress rule for one CIDR. The field order is the sort order of the `ingress` attribute.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
struct IngressRule {
    protocol: String,
    from_port: Option<i64>,
    to_port: Option<i64>,
    cidr: String,
}

impl IngressRule {
    /// Reads a rule in the attribute's shape; `None` when the value is not a valid rule.
    fn from_value(value: &Value) -> Option<IngressRule> {
        let map = value.as_map()?;
        let protocol = map.get("protocol")?.as_str()?.to_owned();
        let cidr = map.get("cidr")?.as_str()?.to_owned();
        let from_port = map.get("from_port").map(Value::as_int);
        let to_port = map.get("to_port").map(Value::as_int);

        match (protocol == ALL_PROTOCOLS, from_port, to_port) {
            (true, None, None) => Some(IngressRule { protocol, from_port: None, to_port: None, cidr }),
            (false, Some(Some(from)), Some(Some(to))) if is_port(from) && is_port(to) => {
                Some(IngressRule { protocol, from_port: Some(from), to_port: Some(to), cidr })
            }
            _ => None,
        }
    }

    fn to_value(&self) -> Value {
        let mut entries =
            vec![("protocol", Value::from(self.protocol.as_str())), ("cidr", Value::from(self.cidr.as_str()))];
        if let (Some(from), Some(to)) = (self.from_port, self.to_port) {
            entries.push(("from_port", Value::Int(from)));
            entries.push(("to_port", Value::Int(to)));
        }
        Value::map(entries)
    }

    fn to_permission(&self) -> IpPermission {
        // `from_value` and `observed_rules` only hold ports within `is_port`, which fit in an i32.
        let port = |port: Option<i64>| port.and_then(|port| i32::try_from(port).ok());
        let builder = IpPermission::builder()
            .ip_protocol(&self.protocol)
            .set_from_port(port(self.from_port))
            .set_to_port(port(self.to_port));
        if self.cidr.contains(':') {
            builder.ipv6_ranges(Ipv6Range::builder().cidr_ipv6(&self.cidr).build()).build()
        } else {
            builder.ip_ranges(IpRange::builder().cidr_ip(&self.cidr).build()).build()
        }
    }
}

/// True for a TCP or UDP port, or an ICMP type or code, where -1 means "all".
fn is_port(port: i64) -> bool {
    (-1..=65535).contains(&port)
}

/// Splits AWS permissions into CIDR rules, one per CIDR.
///
/// NOTE: rules that name another security group or a prefix list have no place in the
/// `ingress` attribute, so they are not observed and never revoked.
fn observed_rules(permissions: &[IpPermission]) -> BTreeSet<IngressRule> {
    let mut rules = BTreeSet::new();
    for permission in permissions {
        let protocol = permission.ip_protocol().unwrap_or(ALL_PROTOCOLS).to_owned();
        let all = protocol == ALL_PROTOCOLS;
        let from_port = permission.from_port().filter(|_| !all).map(i64::from);
        let to_port = permission.to_port().filter(|_| !all).map(i64::from);

        let ipv4 = permission.ip_ranges().iter().filter_map(IpRange::cidr_ip);
        let ipv6 = permission.ipv6_ranges().iter().filter_map(Ipv6Range::cidr_ipv6);
        for cidr in ipv4.chain(ipv6) {
            rules.insert(IngressRule { protocol: protocol.clone(), from_port, to_port, cidr: cidr.to_owned() });
        }
    }
    rules
}

/// Reads the desired `ingress` attribute.
fn desired_rules(reader: &AttributeReader<'_>) -> Result<BTreeSet<IngressRule>, ProviderError> {
    let expected = "a list of {protocol, cidr, from_port, to_port} maps, with both ports given \
                    except for protocol \"-1\", which has none";
    reader
        .list("ingress")?
        .iter()
        .map(|value| IngressRule::from_value(value).ok_or_else(|| reader.invalid("ingress", expected)))
        .collect()
}

/// Reads the rules in an observed `ingress` attribute, as [`observe`] wrote it.
fn rules_in(attributes: Option<&tether_model::Attributes>) -> BTreeSet<IngressRule> {
    let items = attributes.and_then(|attributes| attributes.get("ingress"));
    match items {
        Some(Value::List(items)) => items.iter().filter_map(IngressRule::from_value).collect(),
        _ => BTreeSet::new(),
    }
}

/// Lists the environment's security groups with their ingress rules.
///
/// # Errors
/// Fails when DescribeSecurityGroups fails.
pub(crate) async fn observe(
    ec2: &aws_sdk_ec2::Client,
    environment: &str,
) -> Result<Vec<ObservedResource>, ProviderError> {
    let request = ec2.describe_security_groups().filters(environment_filter(environment));
    let groups: Vec<SecurityGroup> =
        send("DescribeSecurityGroups", request.into_paginator().items().send().collect()).await?;

    let observed_groups = groups.iter().filter_map(|group| {
        let id = group.group_id()?;
        let address = owned_address(group.tags(), Kind::SecurityGroup, id, environment)?;
        let ingress = observed_rules(group.ip_permissions()).iter().map(IngressRule::to_value).collect();
        Some(observed(
            address,
            id,
            [
                ("vpc_id", optional_string(group.vpc_id())),
                ("group_name", optional_string(group.group_name())),
                ("description", optional_string(group.description())),
                ("ingress", Value::List(ingress)),
                ("tags", observed_tags(group.tags())),
            ],
        ))
    });
    Ok(observed_groups.collect())
}

/// Creates the group with its tags, then authorizes its ingress rules.
///
/// # Errors
/// Fails on invalid attributes, when an API call fails, or when a group of that name exists
/// without tether's tags for this address (one with them is adopted).
pub(crate) async fn create(provider: &AwsProvider, request: &ApplyRequest<'_>) -> Result<String, ProviderError> {
    const OPERATION: &str = "CreateSecurityGroup";
    let reader = AttributeReader::new(request.address, request.attributes, OPERATION);
    let vpc_id = reader.string("vpc_id")?;
    let group_name = reader.string("group_name")?;
    let description = reader.string("description")?;
    let rules = desired_rules(&reader)?;
    let tags = desired_tags(&reader, request.environment)?;

    let call = provider
        .ec2
        .create_security_group()
        .vpc_id(vpc_id)
        .group_name(group_name)
        .description(description)
        .tag_specifications(tag_specification(ResourceType::SecurityGroup, &tags))
        .send();
    let output = match send(OPERATION, call).await {
        Ok(output) => output,
        // An earlier run may have created the group and died before recording it.
        Err(error) if has_code(&error, &["InvalidGroup.Duplicate"]) => {
            return adopt_security_group(provider, request, vpc_id, group_name).await;
        }
        Err(error) => return Err(error),
    };
    let id = response_field(output.group_id(), OPERATION, "GroupId")?.to_owned();
    tracing::debug!(id, "security group created");

    authorize(provider, &id, &rules).await?;
    Ok(id)
}

/// Authorizes the missing ingress rules, revokes the extra ones and updates the tags.
///
/// # Errors
/// Fails when the VPC, name or description would change, or when an API call fails.
pub(crate) async fn update(
    provider: &AwsProvider,
    request: &ApplyRequest<'_>,
    id: &str,
) -> Result<String, ProviderError> {
    const OPERATION: &str = "AuthorizeSecurityGroupIngress";
    let reader = AttributeReader::new(request.address, request.attributes, OPERATION);
    let desired = desired_rules(&reader)?;
    let tags = desired_tags(&reader, request.environment)?;
    let immutable = ["vpc_id", "group_name", "description"];
    ensure_unchanged(request.address, request.before, request.attributes, &immutable, OPERATION)?;

    let current = rules_in(request.before);
    let missing: BTreeSet<IngressRule> = desired.difference(&current).cloned().collect();
    let extra: BTreeSet<IngressRule> = current.difference(&desired).cloned().collect();
    authorize(provider, id, &missing).await?;
    revoke(provider, id, &extra).await?;

    update_tags(&provider.ec2, id, request.before, &tags).await?;
    Ok(id.to_owned())
}

async fn authorize(provider: &AwsProvider, id: &str, rules: &BTreeSet<IngressRule>) -> Result<(), ProviderError> {
    if rules.is_empty() {
        return Ok(());
    }
    let permissions = rules.iter().map(IngressRule::to_permission).collect();
    let call =
        provider.ec2.authorize_security_group_ingress().group_id(id).set_ip_permissions(Some(permissions)).send();
    send("AuthorizeSecurityGroupIngress", call).await?;
    tracing::debug!(id, count = rules.len(), "ingress rules authorized");
    Ok(())
}

async fn revoke(provider: &AwsProvider, id: &str, rules: &BTreeSet<IngressRule>) -> Result<(), ProviderError> {
    if rules.is_empty() {
        return Ok(());
    }
    let permissions = rules.iter().map(IngressRule::to_permission).collect();
    let call = provider.ec2.revoke_security_group_ingress().group_id(id).set_ip_permissions(Some(permissions)).send();
    send_unless_absent("RevokeSecurityGroupIngress", &["InvalidPermission.NotFound"], call).await?;
    tracing::debug!(id, count = rules.len(), "ingress rules revoked");
    Ok(())
}

/// Deletes the group; one that is already gone counts as deleted.
///
/// # Errors
/// Fails when DeleteSecurityGroup fails, e.g. with `DependencyViolation` while an instance uses it.
pub(crate) async fn delete(provider: &AwsProvider, request: &DeleteRequest<'_>) -> Result<(), ProviderError> {
    let call = provider.ec2.delete_security_group().group_id(request.id).send();
    send_unless_absent("DeleteSecurityGroup", &["InvalidGroup.NotFound"], call).await?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn permission(protocol: &str, ports: Option<(i32, i32)>, cidrs: &[&str]) -> IpPermission {
        let mut builder = IpPermission::builder().ip_protocol(protocol);
        if let Some((from, to)) = ports {
            builder = builder.from_port(from).to_port(to);
        }
        for cidr in cidrs {
            builder = builder.ip_ranges(IpRange::builder().cidr_ip(*cidr).build());
        }
        builder.build()
    }

    #[test]
    fn rules_split_per_cidr_and_sorted() {
        let permissions = [
            permission("tcp", Some((22, 22)), &["10.1.0.0/16", "10.0.0.0/16"]),
            permission("-1", Some((-1, -1)), &["192.168.0.0/16"]),
        ];
        let values: Vec<Value> = observed_rules(&permissions).iter().map(IngressRule::to_value).collect();
        assert_eq!(
            values,
            [
                Value::map([("protocol", Value::from("-1")), ("cidr", Value::from("192.168.0.0/16"))]),
                Value::map([
                    ("protocol", Value::from("tcp")),
                    ("cidr", Value::from("10.0.0.0/16")),
                    ("from_port", Value::Int(22)),
                    ("to_port", Value::Int(22)),
                ]),
                Value::map([
                    ("protocol", Value::from("tcp")),
                    ("cidr", Value::from("10.1.0.0/16")),
                    ("from_port", Value::Int(22)),
                    ("to_port", Value::Int(22)),
                ]),
            ]
        );
    }

    #[test]
    fn rule_round_trips_through_value() {
        let rule = IngressRule {
            protocol: "udp".to_owned(),
            from_port: Some(4789),
            to_port: Some(4789),
            cidr: "10.0.0.0/8".to_owned(),
        };
        assert_eq!(IngressRule::from_value(&rule.to_value()), Some(rule));
    }

    #[test]
    fn ports_on_all_protocols_rule_rejected() {
        let value = Value::map([
            ("protocol", Value::from("-1")),
            ("cidr", Value::from("10.0.0.0/8")),
            ("from_port", Value::Int(0)),
            ("to_port", Value::Int(0)),
        ]);
        assert_eq!(IngressRule::from_value(&value), None);
    }

    #[test]
    fn tcp_rule_without_ports_rejected() {
        let value = Value::map([("protocol", Value::from("tcp")), ("cidr", Value::from("10.0.0.0/8"))]);
        assert_eq!(IngressRule::from_value(&value), None);
    }
}
