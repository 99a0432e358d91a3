//! Destroy support: finds the objects in a VPC that tether does not own and that would make
//! DeleteVpc fail with `DependencyViolation`.
//!
//! HyperShift's controllers create such objects in the environment's VPC: the load balancers of
//! the hosted cluster's services (their network interfaces), the `<infra-id>-default-sg`
//! security group and the worker instances. tether never deletes them, so a destroy names them
//! before it changes anything.

use std::collections::BTreeSet;
use std::fmt;

use aws_sdk_ec2::types::{
    Filter, InstanceStateName, NatGateway, NatGatewayState, NetworkInterface, Reservation, RouteTable, Tag,
};
use tether_engine::ProviderError;

use crate::client::AwsProvider;
use crate::error::send;
use crate::resources::main_route_table::is_original_main_table;

/// An object in a VPC that tether does not own.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub struct VpcBlocker {
    /// The object's kind, e.g. `instance` or `network interface`.
    pub kind: &'static str,
    /// Its AWS id.
    pub id: String,
    /// A name, description or creating service that identifies it to a person.
    pub detail: String,
}

impl fmt::Display for VpcBlocker {
    fn fmt(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(formatter, "{} {}", self.kind, self.id)?;
        if !self.detail.is_empty() {
            write!(formatter, " ({})", self.detail)?;
        }
        Ok(())
    }
}

impl AwsProvider {
    /// Lists what in VPC `vpc_id` is neither in `owned_ids` nor deleted along with the VPC by AWS:
    /// instances not terminated, security groups other than the default one, network interfaces
    /// not attached to an instance (load balancers, endpoints of other services), subnets, route
    /// tables other than the main one, internet gateways and VPC endpoints.
    ///
    /// A network interface attached to an instance is not listed itself: its instance is, unless
    /// tether owns it. NAT gateways' interfaces go with tether's NAT gateways when their
    /// description names an owned gateway.
    ///
    /// # Errors
    /// Fails when a describe call fails; a failed read never counts as "nothing in the way".
    pub async fn find_vpc_blockers(
        &self,
        vpc_id: &str,
        owned_ids: &BTreeSet<String>,
    ) -> Result<Vec<VpcBlocker>, ProviderError> {
        let (instances, groups, interfaces, others) = futures::try_join!(
            self.foreign_instances(vpc_id, owned_ids),
            self.foreign_security_groups(vpc_id, owned_ids),
            self.foreign_network_interfaces(vpc_id, owned_ids),
            self.foreign_network_objects(vpc_id, owned_ids),
        )?;
        let mut blockers: Vec<VpcBlocker> = [instances, groups, interfaces, others].into_iter().flatten().collect();
        blockers.sort();
        Ok(blockers)
    }

    async fn foreign_instances(
        &self,
        vpc_id: &str,
        owned: &BTreeSet<String>,
    ) -> Result<Vec<VpcBlocker>, ProviderError> {
        let request = self.ec2.describe_instances().filters(vpc_filter("vpc-id", vpc_id));
        let reservations: Vec<_> =
            send("DescribeInstances", request.into_paginator().items().send().try_collect()).await?;
        let instances = reservations.iter().flat_map(|reservation| reservation.instances());
        let blockers = instances
            .filter(|instance| {
                let state = instance.state().and_then(|state| state.name());
                !matches!(state, Some(InstanceStateName::Terminated))
            })
            .filter_map(|instance| {
                let id = instance.instance_id()?;
                (!owned.contains(id)).then(|| VpcBlocker {
                    kind: "instance",
                    id: id.to_owned(),
                    detail: name_tag(instance.tags()).unwrap_or_default(),
                })
            });
        Ok(blockers.collect())
    }

    async fn foreign_security_groups(
        &self,
        vpc_id: &str,
        owned: &BTreeSet<String>,
    ) -> Result<Vec<VpcBlocker>, ProviderError> {
        let request = self.ec2.describe_security_groups().filters(vpc_filter("vpc-id", vpc_id));
        let groups: Vec<_> =
            send("DescribeSecurityGroups", request.into_paginator().items().send().try_collect()).await?;
        // AWS deletes a VPC's `default` group with the VPC.
        let blockers = groups.iter().filter(|group| group.group_name() != Some("default")).filter_map(|group| {
            let id = group.group_id()?;
            (!owned.contains(id)).then(|| VpcBlocker {
                kind: "security group",
                id: id.to_owned(),
                detail: group.group_name().unwrap_or_default().to_owned(),
            })
        });
        Ok(blockers.collect())
    }

    async fn foreign_network_interfaces(
        &self,
        vpc_id: &str,
        owned: &BTreeSet<String>,
    ) -> Result<Vec<VpcBlocker>, ProviderError> {
        let interfaces = self.ec2.describe_network_interfaces().filters(vpc_filter("vpc-id", vpc_id));
        let gateways = self.ec2.describe_nat_gateways().filter(vpc_filter("vpc-id", vpc_id));
        let instances = self.ec2.describe_instances().filters(vpc_filter("vpc-id", vpc_id));
        let (interfaces, gateways, reservations) = futures::try_join!(
            send("DescribeNetworkInterfaces", interfaces.into_paginator().items().send().try_collect()),
            send("DescribeNatGateways", gateways.into_paginator().items().send().try_collect()),
            send("DescribeInstances", instances.into_paginator().items().send().try_collect()),
        )?;
        let going_away = interfaces_going_away(&gateways, &reservations, owned);

        let blockers = interfaces
            .iter()
            .filter(|interface| !goes_with_owned(interface, owned, &going_away))
            .filter_map(|interface| {
                let id = interface.network_interface_id()?;
                let detail = interface.description().filter(|text| !text.is_empty());
                let detail = detail.or(interface.interface_type().map(|kind| kind.as_str())).unwrap_or_default();
                Some(VpcBlocker { kind: "network interface", id: id.to_owned(), detail: detail.to_owned() })
            });
        Ok(blockers.collect())
    }

    /// Lists subnets, non-main route tables, internet gateways and VPC endpoints that tether does not own.
    async fn foreign_network_objects(
        &self,
        vpc_id: &str,
        owned: &BTreeSet<String>,
    ) -> Result<Vec<VpcBlocker>, ProviderError> {
        let subnets = self.ec2.describe_subnets().filters(vpc_filter("vpc-id", vpc_id));
        let tables = self.ec2.describe_route_tables().filters(vpc_filter("vpc-id", vpc_id));
        let gateways = self.ec2.describe_internet_gateways().filters(vpc_filter("attachment.vpc-id", vpc_id));
        let endpoints = self.ec2.describe_vpc_endpoints().filters(vpc_filter("vpc-id", vpc_id));
        let (subnets, tables, gateways, endpoints) = futures::try_join!(
            send("DescribeSubnets", subnets.into_paginator().items().send().try_collect()),
            send("DescribeRouteTables", tables.into_paginator().items().send().try_collect()),
            send("DescribeInternetGateways", gateways.into_paginator().items().send().try_collect()),
            send("DescribeVpcEndpoints", endpoints.into_paginator().items().send().try_collect()),
        )?;

        let mut blockers = Vec::new();
        let mut add = |kind: &'static str, id: Option<&str>, detail: Option<String>| {
            if let Some(id) = id.filter(|id| !owned.contains(*id)) {
                blockers.push(VpcBlocker { kind, id: id.to_owned(), detail: detail.unwrap_or_default() });
            }
        };
        for subnet in &subnets {
            add("subnet", subnet.subnet_id(), subnet.cidr_block().map(str::to_owned));
        }
        // Destroy makes the table AWS created with the VPC main again before it deletes tether's main
        // table, and AWS deletes a main table with its VPC, so one such table is no obstacle.
        let owned_main =
            tables.iter().any(|table| is_main(table) && table.route_table_id().is_some_and(|id| owned.contains(id)));
        let original = tables
            .iter()
            .find(|table| owned_main && is_original_main_table(table))
            .and_then(RouteTable::route_table_id);
        let others = tables.iter().filter(|table| !is_main(table) && table.route_table_id() != original);
        for table in others {
            add("route table", table.route_table_id(), name_tag(table.tags()));
        }
        for gateway in &gateways {
            add("internet gateway", gateway.internet_gateway_id(), name_tag(gateway.tags()));
        }
        // AWS keeps listing a deleted endpoint for a while.
        let live_endpoints = endpoints.iter().filter(|endpoint| {
            let state = endpoint.state().map(|state| state.as_str().to_ascii_lowercase());
            !matches!(state.as_deref(), Some("deleted" | "deleting"))
        });
        for endpoint in live_endpoints {
            add("VPC endpoint", endpoint.vpc_endpoint_id(), endpoint.service_name().map(str::to_owned));
        }
        Ok(blockers)
    }
}

fn is_main(table: &RouteTable) -> bool {
    table.associations().iter().any(|association| association.main() == Some(true))
}

fn vpc_filter(name: &str, vpc_id: &str) -> Filter {
    Filter::builder().name(name).values(vpc_id).build()
}

fn name_tag(tags: &[Tag]) -> Option<String> {
    tags.iter().find(|tag| tag.key() == Some("Name")).and_then(Tag::value).map(str::to_owned)
}

/// Lists the interfaces that AWS deletes along with something else: those of owned NAT gateways,
/// of NAT gateways being deleted or deleted, and of terminated instances. The last two matter when
/// a destroy runs again after an interrupted one, and because moto keeps such interfaces listed.
fn interfaces_going_away<'a>(
    gateways: &'a [NatGateway],
    reservations: &'a [Reservation],
    owned: &BTreeSet<String>,
) -> BTreeSet<&'a str> {
    let ending = |gateway: &&NatGateway| {
        let state = gateway.state();
        matches!(state, Some(NatGatewayState::Deleting | NatGatewayState::Deleted))
            || gateway.nat_gateway_id().is_some_and(|id| owned.contains(id))
    };
    let nat_interfaces = gateways
        .iter()
        .filter(ending)
        .flat_map(|gateway| gateway.nat_gateway_addresses())
        .filter_map(|address| address.network_interface_id());

    let terminated = reservations.iter().flat_map(|reservation| reservation.instances()).filter(|instance| {
        let state = instance.state().and_then(|state| state.name());
        matches!(state, Some(InstanceStateName::Terminated | InstanceStateName::ShuttingDown))
    });
    let instance_interfaces = terminated
        .flat_map(|instance| instance.network_interfaces())
        .filter_map(|interface| interface.network_interface_id());
    nat_interfaces.chain(instance_interfaces).collect()
}

/// True for an interface that goes away with something tether deletes: it is attached to an
/// instance (which is checked on its own), it is in `going_away` (see [`interfaces_going_away`]), or
/// its description names an owned NAT gateway as AWS writes it ("Interface for NAT Gateway nat-…").
fn goes_with_owned(interface: &NetworkInterface, owned: &BTreeSet<String>, going_away: &BTreeSet<&str>) -> bool {
    if interface.attachment().and_then(|attachment| attachment.instance_id()).is_some() {
        return true;
    }
    if interface.network_interface_id().is_some_and(|id| going_away.contains(id)) {
        return true;
    }
    let description = interface.description().unwrap_or_default();
    owned.iter().any(|id| id.starts_with("nat-") && description.contains(id.as_str()))
}

#[cfg(test)]
mod tests {
    use aws_sdk_ec2::types::NetworkInterfaceAttachment;

    use super::*;

    #[test]
    fn blocker_display_names_kind_id_detail() {
        let blocker =
            VpcBlocker { kind: "security group", id: "sg-1".to_owned(), detail: "ai-x7k2p-default-sg".to_owned() };
        assert_eq!(blocker.to_string(), "security group sg-1 (ai-x7k2p-default-sg)");
        let bare = VpcBlocker { kind: "subnet", id: "subnet-1".to_owned(), detail: String::new() };
        assert_eq!(bare.to_string(), "subnet subnet-1");
    }

    #[test]
    fn interfaces_of_ending_gateways_and_instances_go_away() {
        use aws_sdk_ec2::types::{Instance, InstanceNetworkInterface, InstanceState, NatGatewayAddress};

        let gateway = |id: &str, state: NatGatewayState, interface: &str| {
            let address = NatGatewayAddress::builder().network_interface_id(interface).build();
            NatGateway::builder().nat_gateway_id(id).state(state).nat_gateway_addresses(address).build()
        };
        let gateways = [
            gateway("nat-owned", NatGatewayState::Available, "eni-owned"),
            gateway("nat-deleted", NatGatewayState::Deleted, "eni-deleted"),
            gateway("nat-foreign", NatGatewayState::Available, "eni-foreign"),
        ];
        let instance = |state: InstanceStateName, interface: &str| {
            Instance::builder()
                .state(InstanceState::builder().name(state).build())
                .network_interfaces(InstanceNetworkInterface::builder().network_interface_id(interface).build())
                .build()
        };
        let reservation = Reservation::builder()
            .instances(instance(InstanceStateName::Terminated, "eni-terminated"))
            .instances(instance(InstanceStateName::Running, "eni-running"))
            .build();
        let owned = BTreeSet::from(["nat-owned".to_owned()]);

        let reservations = [reservation];
        let going = interfaces_going_away(&gateways, &reservations, &owned);
        assert_eq!(going, BTreeSet::from(["eni-deleted", "eni-owned", "eni-terminated"]));
    }

    #[test]
    fn interfaces_of_owned_nat_and_instances_skipped() {
        let owned = BTreeSet::from(["nat-1".to_owned()]);
        let nat = NetworkInterface::builder().description("Interface for NAT Gateway nat-1").build();
        let other_nat = NetworkInterface::builder().description("Interface for NAT Gateway nat-2").build();
        let attached = NetworkInterface::builder()
            .attachment(NetworkInterfaceAttachment::builder().instance_id("i-9").build())
            .build();
        let load_balancer = NetworkInterface::builder().description("ELB net/a1b2/c3d4").build();
        let listed = NetworkInterface::builder().network_interface_id("eni-1").build();
        let nat_interfaces = BTreeSet::from(["eni-1"]);
        let none = BTreeSet::new();

        assert!(goes_with_owned(&nat, &owned, &none));
        assert!(!goes_with_owned(&other_nat, &owned, &none));
        assert!(goes_with_owned(&attached, &owned, &none));
        assert!(!goes_with_owned(&load_balancer, &owned, &none));
        assert!(goes_with_owned(&listed, &owned, &nat_interfaces));
        assert!(!goes_with_owned(&listed, &owned, &none));
    }
}
