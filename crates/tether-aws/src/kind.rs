//! The AWS resource kinds this provider manages, named as in addresses (`aws.<kind>.<name>`).

use std::fmt;

use tether_model::{Address, ProviderId};

use crate::error::AwsError;

/// An AWS resource kind.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Kind {
    /// A VPC with its DNS attributes.
    Vpc,
    /// An internet gateway attached to one VPC.
    InternetGateway,
    /// A subnet.
    Subnet,
    /// An Elastic IP address in the VPC domain.
    Eip,
    /// A NAT gateway.
    NatGateway,
    /// A route table.
    RouteTable,
    /// One route in a route table; it carries no tags.
    Route,
    /// The association of a route table with a subnet; it carries no tags.
    RouteTableAssociation,
    /// A security group and its ingress rules.
    SecurityGroup,
    /// An EC2 instance, such as the subnet router.
    Instance,
    /// A DHCP options set.
    DhcpOptions,
    /// The association of a DHCP options set with a VPC; it carries no tags, and its id is the
    /// VPC's id.
    DhcpOptionsAssociation,
    /// The association that makes a route table the VPC's main table; it carries no tags.
    MainRouteTableAssociation,
    /// A gateway VPC endpoint, such as the one for S3.
    VpcEndpoint,
    /// A private Route 53 hosted zone associated with the VPC.
    PrivateZone,
    /// An IAM OpenID Connect provider; its id is its ARN.
    OidcProvider,
    /// An IAM role with its trust policy and inline policies; its id is its ARN.
    IamRole,
    /// An IAM instance profile holding one role; its id is its name.
    InstanceProfile,
}

impl Kind {
    /// Every kind, in creation order.
    pub const ALL: [Kind; 18] = [
        Kind::Vpc,
        Kind::DhcpOptions,
        Kind::DhcpOptionsAssociation,
        Kind::InternetGateway,
        Kind::Subnet,
        Kind::Eip,
        Kind::NatGateway,
        Kind::RouteTable,
        Kind::MainRouteTableAssociation,
        Kind::Route,
        Kind::RouteTableAssociation,
        Kind::VpcEndpoint,
        Kind::SecurityGroup,
        Kind::Instance,
        Kind::PrivateZone,
        Kind::OidcProvider,
        Kind::IamRole,
        Kind::InstanceProfile,
    ];

    /// The kind's name in addresses, e.g. `nat_gateway`.
    pub fn as_str(self) -> &'static str {
        match self {
            Kind::Vpc => "vpc",
            Kind::InternetGateway => "internet_gateway",
            Kind::Subnet => "subnet",
            Kind::Eip => "eip",
            Kind::NatGateway => "nat_gateway",
            Kind::RouteTable => "route_table",
            Kind::Route => "route",
            Kind::RouteTableAssociation => "route_table_association",
            Kind::SecurityGroup => "security_group",
            Kind::Instance => "instance",
            Kind::DhcpOptions => "dhcp_options",
            Kind::DhcpOptionsAssociation => "dhcp_options_association",
            Kind::MainRouteTableAssociation => "main_route_table_association",
            Kind::VpcEndpoint => "vpc_endpoint",
            Kind::PrivateZone => "private_zone",
            Kind::OidcProvider => "oidc_provider",
            Kind::IamRole => "iam_role",
            Kind::InstanceProfile => "instance_profile",
        }
    }

    /// Reads the kind of an AWS address.
    ///
    /// # Errors
    /// Returns [`AwsError::UnsupportedKind`] for a cluster address or an unknown kind.
    pub fn of(address: &Address) -> Result<Kind, AwsError> {
        let kind = Kind::ALL.into_iter().find(|kind| kind.as_str() == address.kind());
        match kind {
            Some(kind) if address.provider() == ProviderId::Aws => Ok(kind),
            _ => Err(AwsError::UnsupportedKind { address: address.clone() }),
        }
    }

    /// True for kinds that carry tags, and so tether's ownership marks.
    pub fn is_tagged(self) -> bool {
        !matches!(
            self,
            Kind::Route | Kind::RouteTableAssociation | Kind::DhcpOptionsAssociation | Kind::MainRouteTableAssociation
        )
    }
}

impl fmt::Display for Kind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn kind_read_from_address() {
        assert_eq!(Kind::of(&Address::aws("nat_gateway", "a")).ok(), Some(Kind::NatGateway));
        assert_eq!(Kind::of(&Address::aws("route_table_association", "a")).ok(), Some(Kind::RouteTableAssociation));
    }

    #[test]
    fn unknown_kind_rejected() {
        assert!(Kind::of(&Address::aws("bucket", "a")).is_err());
        assert!(Kind::of(&Address::cluster("vpc", "a")).is_err());
    }
}
