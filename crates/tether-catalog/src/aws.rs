//! Lowering of the AWS side: HyperShift's VPC layout plus the subnet router.
//!
//! Names and the CIDR layout follow `hcp create cluster aws` (HyperShift's `create infra aws`):
//! per zone index `i`, the public subnet is `A.B.(16*i).0/20` and the private one
//! `A.B.(128+16*i).0/20` of the /16 VPC.

use std::net::Ipv4Addr;

use ipnet::Ipv4Net;
use tether_config::Checked;
use tether_model::{Address, Attributes, Resource, Value};

use crate::marks::Owner;

/// The AWS resources and the addresses the cluster side refers to.
pub(crate) struct Network {
    pub resources: Vec<Resource>,
    pub vpc: Address,
    /// The private subnet of each zone, in the file's zone order.
    pub private_subnets: Vec<(String, Address)>,
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
    lowering.route(&public_table, "public-default", "0.0.0.0/0", "gateway_id", &gateway);

    let mut route_tables = vec![("public".to_owned(), public_table.clone())];
    let mut public_subnets = Vec::new();
    let mut private_subnets = Vec::new();
    for (index, zone) in checked.environment.aws.zones.iter().enumerate() {
        let zone_resources = lowering.zone(&vpc, checked.vpc_cidr, index, zone, &public_table);
        route_tables.push((format!("private-{zone}"), zone_resources.private_table));
        public_subnets.push(zone_resources.public_subnet);
        private_subnets.push((zone.clone(), zone_resources.private_subnet));
    }

    lowering.subnet_router(checked, &vpc, &public_subnets[0], &route_tables);
    Network { resources: lowering.resources, vpc, private_subnets }
}

struct Lowering<'a> {
    owner: &'a Owner,
    resources: Vec<Resource>,
}

struct ZoneResources {
    public_subnet: Address,
    private_subnet: Address,
    private_table: Address,
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
        let address = self.add(
            "eip",
            &format!("nat-{zone}"),
            &format!("{infra_id}-eip-{zone}"),
            [("domain", Value::from("vpc"))],
        );
        let nat = self.add(
            "nat_gateway",
            zone,
            &format!("{infra_id}-nat-{zone}"),
            [
                ("subnet_id", Value::reference_to_id(&public_subnet)),
                ("allocation_id", Value::reference_to_id(&address)),
            ],
        );
        let private_table = self.add(
            "route_table",
            &format!("private-{zone}"),
            &format!("{infra_id}-private-{zone}"),
            [("vpc_id", Value::reference_to_id(vpc))],
        );
        self.route(&private_table, &format!("private-{zone}-default"), "0.0.0.0/0", "nat_gateway_id", &nat);
        self.associate(&format!("public-{zone}"), public_table, &public_subnet);
        self.associate(&format!("private-{zone}"), &private_table, &private_subnet);
        ZoneResources { public_subnet, private_subnet, private_table }
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
        for network in &checked.onprem_networks {
            for (table_name, table) in route_tables {
                let name = format!("{table_name}-onprem-{}", cidr_slug(*network));
                self.route(table, &name, &network.to_string(), "instance_id", &instance);
            }
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
