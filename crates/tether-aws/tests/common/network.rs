//! A complete test network of every kind, created through the provider in dependency order.

use std::collections::BTreeMap;

use tether_aws::AwsProvider;
use tether_engine::Applied;
use tether_model::{Address, Attributes, Resource, Value};

use super::{AMI, attributes, create, ingress_rule, tagged};

/// The on-prem CIDR that the subnet router forwards to.
pub const ON_PREM_CIDR: &str = "192.168.0.0/16";

/// Every resource the network created, with the request attributes and the result.
pub struct Network {
    /// The environment's name.
    pub environment: String,
    /// The created resources in creation order.
    pub order: Vec<Address>,
    /// What each create returned.
    pub applied: BTreeMap<Address, Applied>,
}

impl Network {
    /// Creates every kind in dependency order. First come the VPC, its internet gateway, two
    /// subnets, an Elastic IP with a NAT gateway, and two route tables. Then the router's security
    /// group and instance (source/dest check off). Last come routes to the internet gateway, the
    /// NAT gateway and the instance, and two route-table associations.
    pub async fn create(provider: &AwsProvider, environment: &str) -> anyhow::Result<Network> {
        let mut network = Network { environment: environment.to_owned(), order: Vec::new(), applied: BTreeMap::new() };

        network.add(provider, "vpc", "main", |n| n.vpc_attributes()).await?;
        network
            .add(provider, "internet_gateway", "main", |n| {
                n.tagged_with("internet_gateway", "main", [("vpc_id", n.id_value("vpc", "main"))])
            })
            .await?;
        network.add(provider, "subnet", "public-a", |n| n.subnet_attributes("public-a", "10.0.0.0/20")).await?;
        network.add(provider, "subnet", "private-a", |n| n.subnet_attributes("private-a", "10.0.128.0/20")).await?;
        network
            .add(provider, "eip", "nat-a", |n| n.tagged_with("eip", "nat-a", [("domain", Value::from("vpc"))]))
            .await?;
        network.add(provider, "nat_gateway", "a", |n| n.nat_attributes()).await?;
        network
            .add(provider, "route_table", "public", |n| {
                n.tagged_with("route_table", "public", [("vpc_id", n.id_value("vpc", "main"))])
            })
            .await?;
        network
            .add(provider, "route_table", "private-a", |n| {
                n.tagged_with("route_table", "private-a", [("vpc_id", n.id_value("vpc", "main"))])
            })
            .await?;
        network.add(provider, "security_group", "router", |n| n.security_group_attributes()).await?;
        network.add(provider, "instance", "router", |n| n.instance_attributes()).await?;

        network
            .add(provider, "route", "public-default", |n| {
                n.route_attributes("public", "0.0.0.0/0", "gateway_id", ("internet_gateway", "main"))
            })
            .await?;
        network
            .add(provider, "route", "private-a-default", |n| {
                n.route_attributes("private-a", "0.0.0.0/0", "nat_gateway_id", ("nat_gateway", "a"))
            })
            .await?;
        network
            .add(provider, "route", "private-a-on-prem", |n| {
                n.route_attributes("private-a", ON_PREM_CIDR, "instance_id", ("instance", "router"))
            })
            .await?;
        network
            .add(provider, "route_table_association", "public-a", |n| n.association_attributes("public", "public-a"))
            .await?;
        network
            .add(provider, "route_table_association", "private-a", |n| {
                n.association_attributes("private-a", "private-a")
            })
            .await?;
        Ok(network)
    }

    async fn add(
        &mut self,
        provider: &AwsProvider,
        kind: &str,
        name: &str,
        build: impl FnOnce(&Network) -> Attributes,
    ) -> anyhow::Result<()> {
        let address = Address::aws(kind, name);
        let attributes = build(self);
        let applied = create(provider, &self.environment, &address, &attributes)
            .await
            .map_err(|error| anyhow::anyhow!("creating {address} failed: {error}: {}", error.source))?;
        self.order.push(address.clone());
        self.applied.insert(address, applied);
        Ok(())
    }

    /// The id of a created resource.
    pub fn id(&self, kind: &str, name: &str) -> &str {
        &self.applied[&Address::aws(kind, name)].id
    }

    /// The attributes a resource was created with.
    pub fn attributes(&self, kind: &str, name: &str) -> &Attributes {
        &self.applied[&Address::aws(kind, name)].attributes
    }

    fn id_value(&self, kind: &str, name: &str) -> Value {
        Value::from(self.id(kind, name))
    }

    fn tagged_with<const N: usize>(&self, kind: &str, name: &str, pairs: [(&str, Value); N]) -> Attributes {
        tagged(&self.environment, &Address::aws(kind, name), pairs)
    }

    fn vpc_attributes(&self) -> Attributes {
        self.tagged_with(
            "vpc",
            "main",
            [
                ("cidr_block", Value::from("10.0.0.0/16")),
                ("enable_dns_support", Value::Bool(true)),
                ("enable_dns_hostnames", Value::Bool(true)),
            ],
        )
    }

    fn subnet_attributes(&self, name: &str, cidr: &str) -> Attributes {
        self.tagged_with(
            "subnet",
            name,
            [
                ("vpc_id", self.id_value("vpc", "main")),
                ("cidr_block", Value::from(cidr)),
                ("availability_zone", Value::from("ap-southeast-2a")),
            ],
        )
    }

    fn nat_attributes(&self) -> Attributes {
        self.tagged_with(
            "nat_gateway",
            "a",
            [("subnet_id", self.id_value("subnet", "public-a")), ("allocation_id", self.id_value("eip", "nat-a"))],
        )
    }

    fn security_group_attributes(&self) -> Attributes {
        self.tagged_with(
            "security_group",
            "router",
            [
                ("vpc_id", self.id_value("vpc", "main")),
                ("group_name", Value::from("ai-x7k2p-router")),
                ("description", Value::from("Subnet router for on-prem traffic")),
                (
                    "ingress",
                    Value::List(vec![
                        ingress_rule("-1", None, ON_PREM_CIDR),
                        ingress_rule("tcp", Some((22, 22)), "10.0.0.0/16"),
                    ]),
                ),
            ],
        )
    }

    fn instance_attributes(&self) -> Attributes {
        self.tagged_with(
            "instance",
            "router",
            [
                ("ami", Value::from(AMI)),
                ("instance_type", Value::from("t3.small")),
                ("subnet_id", self.id_value("subnet", "public-a")),
                ("security_group_ids", Value::List(vec![self.id_value("security_group", "router")])),
                ("source_dest_check", Value::Bool(false)),
            ],
        )
    }

    fn route_attributes(
        &self,
        table: &str,
        destination: &str,
        target_attribute: &str,
        target: (&str, &str),
    ) -> Attributes {
        attributes([
            ("route_table_id", self.id_value("route_table", table)),
            ("destination_cidr_block", Value::from(destination)),
            (target_attribute, self.id_value(target.0, target.1)),
        ])
    }

    fn association_attributes(&self, table: &str, subnet: &str) -> Attributes {
        attributes([
            ("route_table_id", self.id_value("route_table", table)),
            ("subnet_id", self.id_value("subnet", subnet)),
        ])
    }

    /// Builds the desired routes and associations as the catalogue lowers them, with every id a
    /// reference.
    pub fn desired_untagged(&self) -> Vec<Resource> {
        let reference = |kind: &str, name: &str| Value::reference_to_id(&Address::aws(kind, name));
        let route = |name: &str, table: &str, destination: &str, target_attribute: &str, target: (&str, &str)| {
            Resource::new(
                Address::aws("route", name),
                attributes([
                    ("route_table_id", reference("route_table", table)),
                    ("destination_cidr_block", Value::from(destination)),
                    (target_attribute, reference(target.0, target.1)),
                ]),
            )
        };
        let association = |name: &str, table: &str, subnet: &str| {
            Resource::new(
                Address::aws("route_table_association", name),
                attributes([
                    ("route_table_id", reference("route_table", table)),
                    ("subnet_id", reference("subnet", subnet)),
                ]),
            )
        };

        vec![
            route("public-default", "public", "0.0.0.0/0", "gateway_id", ("internet_gateway", "main")),
            route("private-a-default", "private-a", "0.0.0.0/0", "nat_gateway_id", ("nat_gateway", "a")),
            route("private-a-on-prem", "private-a", ON_PREM_CIDR, "instance_id", ("instance", "router")),
            association("public-a", "public", "public-a"),
            association("private-a", "private-a", "private-a"),
        ]
    }
}
