//! IPv4 CIDR parsing that distinguishes a malformed value from one with host bits set.

use std::net::Ipv4Addr;

use ipnet::Ipv4Net;

/// Reason a value is not a usable IPv4 network.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum CidrError {
    /// Not an IPv4 CIDR at all, with a phrase that states the reason.
    Malformed(String),
    /// A valid CIDR whose address has bits set after the prefix; `network` is the network address.
    HostBits { network: Ipv4Net },
}

/// Parses `a.b.c.d/len` and requires the address to be the network address.
pub(crate) fn parse_network(text: &str) -> Result<Ipv4Net, CidrError> {
    let Some((address, _)) = text.split_once('/') else {
        let reason = if text.parse::<Ipv4Addr>().is_ok() {
            "has no prefix length".to_owned()
        } else {
            "is not an IPv4 CIDR".to_owned()
        };
        return Err(CidrError::Malformed(reason));
    };
    let network = text.parse::<Ipv4Net>().map_err(|_| {
        let reason = if address.contains(':') {
            "is an IPv6 CIDR, but only IPv4 is supported"
        } else if address.parse::<Ipv4Addr>().is_ok() {
            "has a prefix length that is not a number from 0 to 32"
        } else {
            "does not start with an IPv4 address"
        };
        CidrError::Malformed(reason.to_owned())
    })?;
    if network.trunc() != network {
        return Err(CidrError::HostBits { network: network.trunc() });
    }
    Ok(network)
}

/// Returns true when the two networks share at least one address.
pub(crate) fn overlaps(left: Ipv4Net, right: Ipv4Net) -> bool {
    left.contains(&right.network()) || right.contains(&left.network())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parse_network_sorts_errors() {
        assert!(parse_network("10.1.0.0/16").is_ok());
        assert!(matches!(parse_network("10.1.0.0"), Err(CidrError::Malformed(_))));
        assert!(matches!(parse_network("10.1.0.0/33"), Err(CidrError::Malformed(_))));
        assert!(matches!(parse_network("10.1.0/16"), Err(CidrError::Malformed(_))));
        assert!(matches!(parse_network("fd00::/8"), Err(CidrError::Malformed(_))));
        let expected = "10.1.0.0/16".parse().ok();
        match parse_network("10.1.2.3/16") {
            Err(CidrError::HostBits { network }) => assert_eq!(Some(network), expected),
            other => panic!("expected host bits, got {other:?}"),
        }
    }

    #[test]
    fn overlaps_detects_nesting_both_ways() {
        let vpc: Ipv4Net = "10.1.0.0/16".parse().expect("valid CIDR");
        let inner: Ipv4Net = "10.1.2.0/24".parse().expect("valid CIDR");
        let other: Ipv4Net = "10.2.0.0/16".parse().expect("valid CIDR");
        assert!(overlaps(vpc, inner));
        assert!(overlaps(inner, vpc));
        assert!(!overlaps(vpc, other));
    }
}
