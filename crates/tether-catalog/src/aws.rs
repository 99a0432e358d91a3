//! Lowering of the AWS side: HyperShift's VPC layout, DNS zones and IAM, plus the subnet router.
//!
//! Names and the CIDR layout follow `hcp create cluster aws` (HyperShift's `create infra aws`):
//! per zone index `i`, the public subnet is `A.B.(16*i).0/20` and the private one
//! `A.B.(128+16*i).0/20` of the /16 VPC.

use std::net::Ipv4Addr;

use ipnet::Ipv4Net;
use tether_config::{Checked, NAT_SINGLE};
use tether_model::{Address, Attributes, Resource, Sensitive, Value};

use crate::iam;
use crate::marks::Owner;

/// Tag key holding the SHA-256 digest of the subnet router's user data, so that observation can
/// compare it without reading the user data back. The AWS provider reads the same key.
pub(crate) const USER_DATA_DIGEST_TAG: &str = "tether.dev/user-data-sha256";

/// The AWS resources and the addresses the cluster side refers to.
pub(crate) struct Network {
    pub resources: Vec<Resource>,
    pub vpc: Address,
    /// The private subnet of each zone, in the file's zone order.
    pub private_subnets: Vec<(String, Address)>,
    /// Each `rolesRef` field with the address of its role.
    pub roles: Vec<(&'static str, Address)>,
    /// The workers' instance profile.
    pub instance_profile: Address,
    /// The OIDC issuer URL that the roles trust.
    pub issuer_url: String,
}

impl Owner {
    /// Builds the AWS tags of a resource that HyperShift gives no `Name` (DHCP options, the S3
    /// endpoint, hosted zones, IAM).
    pub(crate) fn aws_tags_without_name(&self, address: &Address) -> Value {
        let mut tags = self.aws_tags(address, "");
        if let Value::Map(map) = &mut tags {
            map.remove("Name");
        }
        tags
    }
}

pub(crate) fn lower(checked: &Checked, owner: &Owner) -> Network {
    let infra_id = &owner.infra_id;
    let mut lowering = Lowering { owner, resources: Vec::new() };

    let vpc = lowering.add(
        "vpc",
        "main",
        &format!("{infra_id}-vpc"),
        [
            ("cidr_block", Value::string(checked.vpc_cidr.to_string())),
            ("enable_dns_support", Value::Bool(true)),
            ("enable_dns_hostnames", Value::Bool(true)),
        ],
    );
    lowering.dhcp_options(&checked.environment.aws.region, &vpc);
    let gateway = lowering.add(
        "internet_gateway",
        "main",
        &format!("{infra_id}-igw"),
        [("vpc_id", Value::reference_to_id(&vpc))],
    );
    let public_table = lowering.add(
        "route_table",
        "public",
        &format!("{infra_id}-public"),
        [("vpc_id", Value::reference_to_id(&vpc))],
    );
    lowering.add_untagged(
        "main_route_table_association",
        "main",
        [("vpc_id", Value::reference_to_id(&vpc)), ("route_table_id", Value::reference_to_id(&public_table))],
    );
    lowering.route(&public_table, "public-default", "0.0.0.0/0", "gateway_id", &gateway);

    let mut route_tables = vec![("public".to_owned(), public_table.clone())];
    let mut public_subnets = Vec::new();
    let mut private_subnets = Vec::new();
    let single_nat = checked.environment.aws.nat == NAT_SINGLE;
    let mut shared_nat = None;
    for (index, zone) in checked.environment.aws.zones.iter().enumerate() {
        let zone_resources = lowering.zone(&vpc, checked.vpc_cidr, index, zone, &public_table, shared_nat.as_ref());
        if single_nat && shared_nat.is_none() {
            shared_nat = Some(zone_resources.nat);
        }
        route_tables.push((format!("private-{zone}"), zone_resources.private_table));
        public_subnets.push(zone_resources.public_subnet);
        private_subnets.push((zone.clone(), zone_resources.private_subnet));
    }

    lowering.s3_endpoint(&checked.environment.aws.region, &vpc, &route_tables);
    lowering.hosted_zones(checked, &vpc);
    lowering.subnet_router(checked, &vpc, &public_subnets[0], &route_tables);

    let iam = iam::lower(checked, owner);
    lowering.resources.extend(iam.resources);
    Network {
        resources: lowering.resources,
        vpc,
        private_subnets,
        roles: iam.roles,
        instance_profile: iam.instance_profile,
        issuer_url: iam::issuer_url(checked),
    }
}

struct Lowering<'a> {
    owner: &'a Owner,
    resources: Vec<Resource>,
}

struct ZoneResources {
    public_subnet: Address,
    private_subnet: Address,
    private_table: Address,
    /// The NAT gateway the zone's private table routes through.
    nat: Address,
}

impl Lowering<'_> {
    /// Adds a tagged resource and returns its address.
    fn add<const N: usize>(
        &mut self,
        kind: &str,
        name: &str,
        name_tag: &str,
        attributes: [(&str, Value); N],
    ) -> Address {
        let address = Address::aws(kind, name);
        let mut attributes: Attributes = attributes.into_iter().map(|(key, value)| (key.to_owned(), value)).collect();
        attributes.insert("tags".to_owned(), self.owner.aws_tags(&address, name_tag));
        self.resources.push(Resource::new(address.clone(), attributes));
        address
    }

    /// Adds a resource tagged with the ownership marks but no `Name`, as HyperShift leaves it.
    fn add_unnamed<const N: usize>(&mut self, kind: &str, name: &str, attributes: [(&str, Value); N]) -> Address {
        let address = Address::aws(kind, name);
        let mut attributes: Attributes = attributes.into_iter().map(|(key, value)| (key.to_owned(), value)).collect();
        attributes.insert("tags".to_owned(), self.owner.aws_tags_without_name(&address));
        self.resources.push(Resource::new(address.clone(), attributes));
        address
    }

    /// Adds the DHCP options HyperShift gives the VPC and their association with it. AWS names
    /// instances `ip-….ec2.internal` in us-east-1 and `ip-….<region>.compute.internal` elsewhere.
    fn dhcp_options(&mut self, region: &str, vpc: &Address) {
        let domain =
            if region == "us-east-1" { "ec2.internal".to_owned() } else { format!("{region}.compute.internal") };
        let options = self.add_unnamed(
            "dhcp_options",
            "main",
            [
                ("domain_name", Value::string(domain)),
                ("domain_name_servers", Value::List(vec![Value::from("AmazonProvidedDNS")])),
            ],
        );
        self.add_untagged(
            "dhcp_options_association",
            "main",
            [("vpc_id", Value::reference_to_id(vpc)), ("dhcp_options_id", Value::reference_to_id(&options))],
        );
    }

    /// Adds the S3 gateway endpoint on every route table, so that traffic to S3 (image registry,
    /// ignition payloads) leaves neither through a NAT gateway nor through the internet gateway.
    fn s3_endpoint(&mut self, region: &str, vpc: &Address, route_tables: &[(String, Address)]) {
        let table_ids = route_tables.iter().map(|(_, table)| Value::reference_to_id(table)).collect();
        self.add_unnamed(
            "vpc_endpoint",
            "s3",
            [
                ("vpc_id", Value::reference_to_id(vpc)),
                ("service_name", Value::string(format!("com.amazonaws.{region}.s3"))),
                ("vpc_endpoint_type", Value::from("Gateway")),
                ("route_table_ids", Value::List(table_ids)),
            ],
        );
    }

    /// Adds the two private zones HyperShift associates with the VPC: `<name>.<base domain>` for
    /// the cluster's records and `<name>.hypershift.local` for PrivateLink records. The first names
    /// the public zone of the base domain, which must already exist: observation looks it up and
    /// fails without it, and tether never creates, changes or deletes it.
    fn hosted_zones(&mut self, checked: &Checked, vpc: &Address) {
        let cluster = &checked.environment.cluster;
        let region = &checked.environment.aws.region;
        for (name, zone) in [
            ("cluster", format!("{}.{}", cluster.name, cluster.base_domain)),
            ("local", format!("{}.hypershift.local", cluster.name)),
        ] {
            self.add_unnamed(
                "private_zone",
                name,
                [
                    ("name", Value::string(zone)),
                    ("vpc_id", Value::reference_to_id(vpc)),
                    ("vpc_region", Value::string(region.clone())),
                ],
            );
            if name == "cluster" {
                let public_zone = Value::string(cluster.base_domain.clone());
                // unwrap: `add_unnamed` pushed the zone just before.
                self.resources.last_mut().unwrap().attributes.insert("public_zone".to_owned(), public_zone);
            }
        }
    }

    /// Adds tags to a resource added before.
    fn add_tags<const N: usize>(&mut self, address: &Address, tags: [(&str, &str); N]) {
        let resource = self.resources.iter_mut().rfind(|resource| &resource.address == address);
        if let Some(Value::Map(map)) = resource.and_then(|resource| resource.attributes.get_mut("tags")) {
            map.extend(tags.into_iter().map(|(key, value)| (key.to_owned(), Value::from(value))));
        }
    }

    /// Adds an untagged resource (routes and associations cannot carry tags).
    fn add_untagged<const N: usize>(&mut self, kind: &str, name: &str, attributes: [(&str, Value); N]) -> Address {
        let address = Address::aws(kind, name);
        let attributes = attributes.into_iter().map(|(key, value)| (key.to_owned(), value)).collect();
        self.resources.push(Resource::new(address.clone(), attributes));
        address
    }

    fn route(&mut self, table: &Address, name: &str, destination: &str, target_kind: &str, target: &Address) {
        self.add_untagged(
            "route",
            name,
            [
                ("route_table_id", Value::reference_to_id(table)),
                ("destination_cidr_block", Value::from(destination)),
                (target_kind, Value::reference_to_id(target)),
            ],
        );
    }

    fn associate(&mut self, name: &str, table: &Address, subnet: &Address) {
        self.add_untagged(
            "route_table_association",
            name,
            [("route_table_id", Value::reference_to_id(table)), ("subnet_id", Value::reference_to_id(subnet))],
        );
    }

    fn zone(
        &mut self,
        vpc: &Address,
        vpc_cidr: Ipv4Net,
        index: usize,
        zone: &str,
        public_table: &Address,
        shared_nat: Option<&Address>,
    ) -> ZoneResources {
        let infra_id = self.owner.infra_id.clone();
        let public_subnet = self.add(
            "subnet",
            &format!("public-{zone}"),
            &format!("{infra_id}-public-{zone}"),
            [
                ("vpc_id", Value::reference_to_id(vpc)),
                ("cidr_block", Value::string(zone_subnet(vpc_cidr, index, false).to_string())),
                ("availability_zone", Value::from(zone)),
            ],
        );
        let private_subnet = self.add(
            "subnet",
            &format!("private-{zone}"),
            &format!("{infra_id}-private-{zone}"),
            [
                ("vpc_id", Value::reference_to_id(vpc)),
                ("cidr_block", Value::string(zone_subnet(vpc_cidr, index, true).to_string())),
                ("availability_zone", Value::from(zone)),
            ],
        );
        // The tags by which the cloud provider picks subnets for internet-facing and internal load
        // balancers, and Karpenter picks subnets for its nodes, as HyperShift sets them.
        self.add_tags(&public_subnet, [("kubernetes.io/role/elb", "1")]);
        self.add_tags(
            &private_subnet,
            [("kubernetes.io/role/internal-elb", "1"), ("karpenter.sh/discovery", infra_id.as_str())],
        );
        let nat = match shared_nat {
            Some(nat) => nat.clone(),
            None => {
                let address = self.add(
                    "eip",
                    &format!("nat-{zone}"),
                    &format!("{infra_id}-eip-{zone}"),
                    [("domain", Value::from("vpc"))],
                );
                self.add(
                    "nat_gateway",
                    zone,
                    &format!("{infra_id}-nat-{zone}"),
                    [
                        ("subnet_id", Value::reference_to_id(&public_subnet)),
                        ("allocation_id", Value::reference_to_id(&address)),
                    ],
                )
            }
        };
        let private_table = self.add(
            "route_table",
            &format!("private-{zone}"),
            &format!("{infra_id}-private-{zone}"),
            [("vpc_id", Value::reference_to_id(vpc))],
        );
        self.route(&private_table, &format!("private-{zone}-default"), "0.0.0.0/0", "nat_gateway_id", &nat);
        self.associate(&format!("public-{zone}"), public_table, &public_subnet);
        self.associate(&format!("private-{zone}"), &private_table, &private_subnet);
        ZoneResources { public_subnet, private_subnet, private_table, nat }
    }

    /// Adds the subnet router: an instance in the first public subnet that forwards between the
    /// VPC and the on-prem networks. Without source NAT it forwards packets it did not originate,
    /// which AWS drops unless the source/destination check is off.
    fn subnet_router(
        &mut self,
        checked: &Checked,
        vpc: &Address,
        subnet: &Address,
        route_tables: &[(String, Address)],
    ) {
        let router = &checked.environment.subnet_router;
        let infra_id = self.owner.infra_id.clone();
        let mut sources: Vec<Ipv4Net> = checked.onprem_networks.clone();
        sources.push(checked.vpc_cidr);
        sources.sort();
        sources.dedup();
        let ingress = sources
            .iter()
            .map(|cidr| Value::map([("protocol", Value::from("-1")), ("cidr", Value::string(cidr.to_string()))]))
            .collect();
        let group = self.add(
            "security_group",
            "subnet-router",
            &format!("{infra_id}-subnet-router"),
            [
                ("vpc_id", Value::reference_to_id(vpc)),
                ("group_name", Value::string(format!("{infra_id}-subnet-router"))),
                ("description", Value::from("tether subnet router: traffic between the VPC and the on-prem networks")),
                ("ingress", Value::List(ingress)),
            ],
        );
        let instance = self.add(
            "instance",
            "subnet-router",
            &format!("{infra_id}-subnet-router"),
            [
                ("ami", Value::string(router.ami.clone())),
                ("instance_type", Value::string(router.instance_type.clone())),
                ("subnet_id", Value::reference_to_id(subnet)),
                ("security_group_ids", Value::List(vec![Value::reference_to_id(&group)])),
                ("source_dest_check", Value::Bool(router.source_nat)),
            ],
        );
        if let Some(user_data) = &checked.subnet_router_user_data {
            self.attach_user_data(&instance, user_data);
        }
        for network in &checked.onprem_networks {
            for (table_name, table) in route_tables {
                let name = format!("{table_name}-onprem-{}", cidr_slug(*network));
                self.route(table, &name, &network.to_string(), "instance_id", &instance);
            }
        }
    }
}

impl Lowering<'_> {
    /// Gives the instance its user data as a sensitive value, so that plans and state show only
    /// its digest, and records the digest in a tag that observation reads back.
    fn attach_user_data(&mut self, instance: &Address, user_data: &str) {
        let sensitive = Sensitive::new(user_data);
        let digest = sensitive.digest().to_owned();
        // unwrap: `subnet_router` pushed the instance just before.
        let resource = self.resources.iter_mut().rfind(|resource| &resource.address == instance).unwrap();
        resource.attributes.insert("user_data".to_owned(), Value::Sensitive(sensitive));
        if let Some(Value::Map(tags)) = resource.attributes.get_mut("tags") {
            tags.insert(USER_DATA_DIGEST_TAG.to_owned(), Value::String(digest));
        }
    }
}

/// Computes the /20 of zone `index`: public ones from the bottom of the /16, private ones from
/// its middle.
fn zone_subnet(vpc_cidr: Ipv4Net, index: usize, private: bool) -> Ipv4Net {
    let [a, b, _, _] = vpc_cidr.network().octets();
    let base = if private { 128 } else { 0 };
    // Validation limits zones to 8, so the third octet stays below 256.
    let third = u8::try_from(base + 16 * index).unwrap_or(u8::MAX);
    // unwrap: 20 is a valid IPv4 prefix length.
    Ipv4Net::new(Ipv4Addr::new(a, b, third, 0), 20).unwrap()
}

/// `192.168.6.0/24` as `192-168-6-0-24`, usable in an address name.
fn cidr_slug(cidr: Ipv4Net) -> String {
    cidr.to_string().replace(['.', '/'], "-")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn zone_subnets_follow_hypershift_layout() {
        let vpc: Ipv4Net = "10.1.0.0/16".parse().unwrap();
        assert_eq!(zone_subnet(vpc, 0, false).to_string(), "10.1.0.0/20");
        assert_eq!(zone_subnet(vpc, 0, true).to_string(), "10.1.128.0/20");
        assert_eq!(zone_subnet(vpc, 1, false).to_string(), "10.1.16.0/20");
        assert_eq!(zone_subnet(vpc, 1, true).to_string(), "10.1.144.0/20");
    }

    #[test]
    fn cidr_slug_is_address_safe() {
        assert_eq!(cidr_slug("192.168.6.0/24".parse().unwrap()), "192-168-6-0-24");
    }
}
