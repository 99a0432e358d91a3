//! Rules for address ranges: CIDR syntax, the VPC's /16, and overlaps between every pair of ranges.

use std::ops::Range;

use ipnet::Ipv4Net;

use super::Checker;
use crate::codes;
use crate::diagnostic::Diagnostic;
use crate::spans::KeyPath;
use crate::syntax::cidr::{CidrError, overlaps, parse_network};

/// Internal ranges that OpenShift's OVN-Kubernetes uses by default, with the name of each. A cluster
/// can move them, but tether sets no such option, so the defaults apply.
const OVN_RESERVED: [(&str, &str); 3] = [
    ("100.64.0.0/16", "OVN-Kubernetes join subnet"),
    ("100.88.0.0/16", "OVN-Kubernetes transit switch subnet"),
    ("169.254.0.0/17", "OVN-Kubernetes masquerade subnet"),
];

/// The environment's address ranges; each is `None` when it failed to parse.
pub(crate) struct Networks {
    pub(crate) vpc: Option<Ipv4Net>,
    pub(crate) onprem: Vec<Option<Ipv4Net>>,
    pub(crate) cluster: Option<Ipv4Net>,
    pub(crate) service: Option<Ipv4Net>,
}

impl Networks {
    /// Returns the on-prem networks when every one of them parsed.
    pub(crate) fn all_onprem(&self) -> Option<Vec<Ipv4Net>> {
        self.onprem.iter().copied().collect()
    }

    /// Returns the VPC, on-prem, cluster and service networks when every one of them parsed.
    pub(crate) fn complete(&self) -> Option<(Ipv4Net, Vec<Ipv4Net>, Ipv4Net, Ipv4Net)> {
        Some((self.vpc?, self.all_onprem()?, self.cluster?, self.service?))
    }
}

/// A range taking part in the overlap check, described for messages.
struct NamedRange {
    network: Ipv4Net,
    /// E.g. "VPC CIDR `10.1.0.0/16`".
    description: String,
    /// Span of the range in the file; `None` for a default or a reserved range.
    span: Option<Range<usize>>,
    /// The key that sets the range, e.g. `cluster.cluster_network`; `None` for a reserved range.
    key: Option<KeyPath>,
    reserved: bool,
}

/// Parses and checks every address range, then checks each pair for overlap.
pub(crate) fn check(checker: &mut Checker<'_>) -> Networks {
    let environment = checker.environment;
    let vpc = parse_cidr(checker, &KeyPath::of(&["aws", "vpc_cidr"]), "VPC CIDR", &environment.aws.vpc_cidr);
    if let Some(vpc) = vpc {
        check_vpc_prefix(checker, vpc);
    }

    let onprem = parse_onprem(checker);

    let cluster_text = &environment.cluster.cluster_network;
    let cluster = parse_cidr(checker, &KeyPath::of(&["cluster", "cluster_network"]), "cluster network", cluster_text);
    let service_text = &environment.cluster.service_network;
    let service = parse_cidr(checker, &KeyPath::of(&["cluster", "service_network"]), "service network", service_text);

    let networks = Networks { vpc, onprem, cluster, service };
    check_overlaps(checker, &named_ranges(checker, &networks));
    networks
}

/// Parses every on-prem network, and reports an empty list.
fn parse_onprem(checker: &mut Checker<'_>) -> Vec<Option<Ipv4Net>> {
    let networks = &checker.environment.onprem.networks;
    let networks_path = KeyPath::of(&["onprem", "networks"]);
    if networks.is_empty() {
        let diagnostic = Diagnostic::error(codes::NO_ONPREM_NETWORKS, "`onprem.networks` is empty")
            .with_label(checker.spans.value(&networks_path), "no networks")
            .with_help(
                "list the on-prem CIDRs that reach the VPC through the subnet router, e.g. `[\"192.168.6.0/24\"]`",
            );
        checker.report(diagnostic);
    }

    networks
        .iter()
        .enumerate()
        .map(|(position, text)| parse_cidr(checker, &networks_path.index(position), "on-prem network", text))
        .collect()
}

/// Parses one CIDR and reports a malformed one or one with host bits set.
fn parse_cidr(checker: &mut Checker<'_>, path: &KeyPath, subject: &str, text: &str) -> Option<Ipv4Net> {
    let span = checker.spans.value(path);
    let diagnostic = match parse_network(text) {
        Ok(network) => return Some(network),
        Err(CidrError::Malformed(reason)) => {
            Diagnostic::error(codes::INVALID_CIDR, format!("{subject} `{text}` {reason}"))
                .with_label(span, "not an IPv4 CIDR")
                .with_help("give an IPv4 network address and prefix length, e.g. `10.1.0.0/16`")
        }
        Err(CidrError::HostBits { network }) => {
            let message = format!("{subject} `{text}` has host bits set after the /{} prefix", network.prefix_len());
            Diagnostic::error(codes::CIDR_HOST_BITS, message)
                .with_label(span, "host bits set")
                .with_help(format!("give the network address: `{network}`"))
        }
    };
    checker.report(diagnostic);
    None
}

fn check_vpc_prefix(checker: &mut Checker<'_>, vpc: Ipv4Net) {
    if vpc.prefix_len() == 16 {
        return;
    }
    // unwrap: 16 is a valid IPv4 prefix length.
    let suggestion = Ipv4Net::new(vpc.network(), 16).expect("16 is a valid prefix length").trunc();
    let message = format!("VPC CIDR `{vpc}` is a /{}, but HyperShift requires a /16", vpc.prefix_len());
    let diagnostic = Diagnostic::error(codes::VPC_CIDR_PREFIX, message)
        .with_label(checker.value_span(&["aws", "vpc_cidr"]), "not a /16")
        .with_help(format!(
            "use a /16 such as `{suggestion}`: HyperShift cuts a public and a private /20 per zone from it"
        ));
    checker.report(diagnostic);
}

/// Lists the parsed ranges in file order, then the reserved ones.
fn named_ranges(checker: &Checker<'_>, networks: &Networks) -> Vec<NamedRange> {
    let mut ranges = Vec::new();
    let mut add = |network: Option<Ipv4Net>, path: KeyPath, subject: &str| {
        let Some(network) = network else { return };
        let span = checker.spans.value(&path);
        let default = if span.is_none() { "default " } else { "" };
        ranges.push(NamedRange {
            network,
            description: format!("{default}{subject} `{network}`"),
            span,
            key: Some(path),
            reserved: false,
        });
    };

    add(networks.vpc, KeyPath::of(&["aws", "vpc_cidr"]), "VPC CIDR");
    for (position, network) in networks.onprem.iter().enumerate() {
        add(*network, KeyPath::of(&["onprem", "networks"]).index(position), "on-prem network");
    }
    add(networks.cluster, KeyPath::of(&["cluster", "cluster_network"]), "cluster network");
    add(networks.service, KeyPath::of(&["cluster", "service_network"]), "service network");

    for (text, name) in OVN_RESERVED {
        ranges.push(NamedRange {
            network: text.parse().expect("reserved ranges are valid CIDRs"), // unwrap: constant above
            description: format!("{name} `{text}`"),
            span: None,
            key: None,
            reserved: true,
        });
    }
    ranges
}

/// Reports each overlapping pair once; the message's subject is the later range that is in the file.
fn check_overlaps(checker: &mut Checker<'_>, ranges: &[NamedRange]) {
    for (position, earlier) in ranges.iter().enumerate() {
        for later in &ranges[position + 1..] {
            if (earlier.reserved && later.reserved) || !overlaps(earlier.network, later.network) {
                continue;
            }
            let (subject, other) = if later.span.is_some() { (later, earlier) } else { (earlier, later) };
            if subject.span.is_none() && other.span.is_none() {
                // Two defaults or a default and a reserved range: nothing in the file to point at.
                continue;
            }
            checker.report(overlap_diagnostic(subject, other));
        }
    }
}

fn overlap_diagnostic(subject: &NamedRange, other: &NamedRange) -> Diagnostic {
    let help = if other.reserved {
        format!("OVN-Kubernetes uses {} inside every cluster; choose a range outside it", other.network)
    } else if let (None, Some(key)) = (&other.span, &other.key) {
        format!("choose a range outside {}, or set `{key}` to a range that does not overlap", other.network)
    } else {
        "choose ranges that do not overlap: the routers cannot tell which network an address in both belongs to"
            .to_owned()
    };
    Diagnostic::error(codes::CIDR_OVERLAP, format!("{} overlaps {}", subject.description, other.description))
        .with_label(subject.span.clone(), format!("overlaps {}", other.network))
        .with_label(other.span.clone(), "overlapping range")
        .with_help(help)
}
