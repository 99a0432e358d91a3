//! Rules for the routes on the management cluster's nodes and the MachineConfig pools that get them.

use std::collections::BTreeMap;
use std::net::Ipv4Addr;

use ipnet::Ipv4Net;

use super::names::DNS_LABEL;
use super::networks::Networks;
use super::{Checker, SyntaxRule};
use crate::checked::Route;
use crate::codes;
use crate::diagnostic::Diagnostic;
use crate::model::OnPremRoute;
use crate::spans::KeyPath;
use crate::syntax::cidr::{CidrError, overlaps, parse_network};
use crate::syntax::names::check_interface_name;

const DEVICE: SyntaxRule = SyntaxRule {
    code: codes::INVALID_DEVICE,
    check: check_interface_name,
    label: "not an interface name",
    help: "give the node's network interface, e.g. `br-ex` on OVN-Kubernetes nodes",
};

/// Checks every route and the MachineConfig roles; returns the parsed routes when all of them parsed.
pub(crate) fn check(checker: &mut Checker<'_>, networks: &Networks) -> Option<Vec<Route>> {
    check_roles(checker);

    let routes_path = KeyPath::of(&["onprem", "routes"]);
    let mut parsed = Vec::new();
    let mut all_parsed = true;
    for (position, route) in checker.environment.onprem.routes.iter().enumerate() {
        match check_route(checker, &routes_path.index(position), route, networks) {
            Some(route) => parsed.push(route),
            None => all_parsed = false,
        }
    }
    all_parsed.then_some(parsed)
}

fn check_route(checker: &mut Checker<'_>, path: &KeyPath, route: &OnPremRoute, networks: &Networks) -> Option<Route> {
    let destination = parse_destination(checker, path, &route.destination);
    let gateway = parse_gateway(checker, path, &route.gateway);
    let device_ok =
        checker.check_syntax(checker.spans.value(&path.key("device")), "route device", &route.device, &DEVICE);

    if let Some(gateway) = gateway {
        check_gateway_network(checker, path, gateway, networks);
    }
    if let (Some(destination), Some(vpc)) = (destination, networks.vpc) {
        check_destination_reaches_vpc(checker, path, destination, vpc);
    }

    Some(Route { destination: destination?, gateway: gateway?, device: device_ok.then(|| route.device.clone())? })
}

/// Reports a gateway outside every on-prem network, unless some on-prem network failed to parse.
fn check_gateway_network(checker: &mut Checker<'_>, path: &KeyPath, gateway: Ipv4Addr, networks: &Networks) {
    let Some(onprem) = networks.all_onprem() else {
        return;
    };
    if onprem.is_empty() || onprem.iter().any(|network| network.contains(&gateway)) {
        return;
    }
    let message = format!("route gateway `{gateway}` is not inside any on-prem network");
    let diagnostic = Diagnostic::error(codes::GATEWAY_OUTSIDE_ONPREM, message)
        .with_label(checker.spans.value(&path.key("gateway")), "outside `onprem.networks`")
        .with_help("use a gateway address inside one of `onprem.networks`, or add its network there");
    checker.report(diagnostic);
}

/// Warns about a route that does not lead into the VPC, which is what these routes are for.
fn check_destination_reaches_vpc(checker: &mut Checker<'_>, path: &KeyPath, destination: Ipv4Net, vpc: Ipv4Net) {
    if overlaps(destination, vpc) {
        return;
    }
    let message = format!("route destination `{destination}` does not reach the VPC CIDR `{vpc}`");
    let diagnostic = Diagnostic::warning(codes::ROUTE_OUTSIDE_VPC, message)
        .with_label(checker.spans.value(&path.key("destination")), "outside the VPC")
        .with_help(format!("these routes send traffic for the VPC through the subnet router; use `{vpc}`"));
    checker.report(diagnostic);
}

fn parse_destination(checker: &mut Checker<'_>, path: &KeyPath, text: &str) -> Option<Ipv4Net> {
    let span = checker.spans.value(&path.key("destination"));
    let diagnostic = match parse_network(text) {
        Ok(network) => return Some(network),
        Err(CidrError::Malformed(reason)) => {
            Diagnostic::error(codes::INVALID_CIDR, format!("route destination `{text}` {reason}"))
                .with_label(span, "not an IPv4 CIDR")
                .with_help("give the destination network as an IPv4 CIDR, usually the VPC CIDR, e.g. `10.1.0.0/16`")
        }
        Err(CidrError::HostBits { network }) => {
            let message =
                format!("route destination `{text}` has host bits set after the /{} prefix", network.prefix_len());
            Diagnostic::error(codes::CIDR_HOST_BITS, message)
                .with_label(span, "host bits set")
                .with_help(format!("give the network address: `{network}`"))
        }
    };
    checker.report(diagnostic);
    None
}

fn parse_gateway(checker: &mut Checker<'_>, path: &KeyPath, text: &str) -> Option<Ipv4Addr> {
    if let Ok(address) = text.parse::<Ipv4Addr>() {
        return Some(address);
    }
    let diagnostic =
        Diagnostic::error(codes::INVALID_GATEWAY, format!("route gateway `{text}` is not an IPv4 address"))
            .with_label(checker.spans.value(&path.key("gateway")), "not an IPv4 address")
            .with_help("give the next hop's IPv4 address without a prefix length, e.g. `192.168.6.1`");
    checker.report(diagnostic);
    None
}

/// Checks `onprem.machine_config_roles`: DNS-1123 labels, no repeats, and at least one when there are
/// routes to deliver.
fn check_roles(checker: &mut Checker<'_>) {
    let onprem = &checker.environment.onprem;
    let roles_path = KeyPath::of(&["onprem", "machine_config_roles"]);
    if onprem.machine_config_roles.is_empty() && !onprem.routes.is_empty() {
        let diagnostic = Diagnostic::error(
            codes::NO_MACHINE_CONFIG_ROLES,
            "`onprem.machine_config_roles` is empty, so no node gets the routes",
        )
        .with_label(checker.spans.value(&roles_path), "no roles")
        .with_help("name the MachineConfigPools whose nodes need the routes, e.g. `[\"master\"]`");
        checker.report(diagnostic);
    }

    let mut first_seen: BTreeMap<&str, usize> = BTreeMap::new();
    for (position, role) in onprem.machine_config_roles.iter().enumerate() {
        let span = checker.spans.value(&roles_path.index(position));
        if let Some(&earlier) = first_seen.get(role.as_str()) {
            let diagnostic =
                Diagnostic::error(codes::DUPLICATE_ENTRY, format!("MachineConfig role `{role}` is listed twice"))
                    .with_label(span, "duplicate")
                    .with_label(checker.spans.value(&roles_path.index(earlier)), "first listed here")
                    .with_help("remove the repeated role");
            checker.report(diagnostic);
            continue;
        }
        first_seen.insert(role, position);
        checker.check_syntax(span, "MachineConfig role", role, &DNS_LABEL);
    }
}
