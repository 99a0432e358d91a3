//! Route rules: destination, gateway and device syntax, the gateway's network, and MachineConfig roles.

use tether_config::Severity;

use crate::support::{Case, help};

#[test]
fn gateway_outside_onprem_networks() {
    let case =
        Case::new("gateway_outside_onprem_networks").replace("gateway = \"192.168.6.1\"", "gateway = \"192.168.7.1\"");

    let found = case.only("tether::config::gateway_outside_onprem");

    assert_eq!(found.message(), "route gateway `192.168.7.1` is not inside any on-prem network");
    assert_eq!(help(&found), "use a gateway address inside one of `onprem.networks`, or add its network there");
    assert_eq!(case.text_at(&found), "192.168.7.1");
}

#[test]
fn gateway_with_prefix_length() {
    let case =
        Case::new("gateway_with_prefix_length").replace("gateway = \"192.168.6.1\"", "gateway = \"192.168.6.1/24\"");

    let found = case.only("tether::config::invalid_gateway");

    assert_eq!(found.message(), "route gateway `192.168.6.1/24` is not an IPv4 address");
    assert!(help(&found).contains("without a prefix length"));
    assert_eq!(case.text_at(&found), "192.168.6.1/24");
}

#[test]
fn destination_malformed() {
    let case =
        Case::new("destination_malformed").replace("destination = \"10.1.0.0/16\"", "destination = \"10.1.0/16\"");

    let found = case.only("tether::config::invalid_cidr");

    assert_eq!(found.message(), "route destination `10.1.0/16` does not start with an IPv4 address");
    assert!(help(&found).starts_with("give the destination network as an IPv4 CIDR"));
    assert_eq!(case.text_at(&found), "10.1.0/16");
}

#[test]
fn destination_host_bits() {
    let case =
        Case::new("destination_host_bits").replace("destination = \"10.1.0.0/16\"", "destination = \"10.1.0.1/16\"");

    let found = case.only("tether::config::cidr_host_bits");

    assert_eq!(found.message(), "route destination `10.1.0.1/16` has host bits set after the /16 prefix");
    assert_eq!(help(&found), "give the network address: `10.1.0.0/16`");
    assert_eq!(case.text_at(&found), "10.1.0.1/16");
}

#[test]
fn device_with_space() {
    let case = Case::new("device_with_space").replace("device = \"br-ex\"", "device = \"br ex\"");

    let found = case.only("tether::config::invalid_device");

    assert_eq!(found.message(), "route device `br ex` contains ' ', which an interface name cannot contain");
    assert!(help(&found).contains("`br-ex`"));
    assert_eq!(case.text_at(&found), "br ex");
}

#[test]
fn destination_outside_vpc_warns() {
    let case = Case::new("destination_outside_vpc_warns")
        // A pool that autoscales from zero would add its own warning.
        .replace("autoscaling = { min = 0, max = 2 }", "autoscaling = { min = 1, max = 2 }")
        .replace("destination = \"10.1.0.0/16\"", "destination = \"10.9.0.0/16\"");

    let checked = case.load().expect("a warning does not stop loading");

    assert_eq!(checked.warnings.len(), 1);
    let warning = &checked.warnings[0];
    assert_eq!(warning.code(), "tether::config::route_outside_vpc");
    assert_eq!(warning.severity(), Severity::Warning);
    assert_eq!(warning.message(), "route destination `10.9.0.0/16` does not reach the VPC CIDR `10.1.0.0/16`");
    assert!(help(warning).ends_with("use `10.1.0.0/16`"));
    assert_eq!(case.text_at(warning), "10.9.0.0/16");
}

#[test]
fn routes_without_roles() {
    let case =
        Case::new("routes_without_roles").replace("machine_config_roles = [\"master\"]", "machine_config_roles = []");

    let found = case.only("tether::config::no_machine_config_roles");

    assert_eq!(found.message(), "`onprem.machine_config_roles` is empty, so no node gets the routes");
    assert!(help(&found).contains("`[\"master\"]`"));
    assert_eq!(case.text_at(&found), "[]");
}

#[test]
fn duplicate_role() {
    let case = Case::new("duplicate_role")
        .replace("machine_config_roles = [\"master\"]", "machine_config_roles = [\"master\", \"master\"]");

    let found = case.only("tether::config::duplicate_entry");

    assert_eq!(found.message(), "MachineConfig role `master` is listed twice");
    assert_eq!(help(&found), "remove the repeated role");
    let span = found.span().expect("span");
    assert_eq!(&case.source[span.clone()], "master");
    let first = case.source.find("\"master\", \"master\"").expect("edited line") + 1;
    assert!(span.start > first, "the primary label is on the second entry");
}

#[test]
fn role_not_a_label() {
    let case = Case::new("role_not_a_label")
        .replace("machine_config_roles = [\"master\"]", "machine_config_roles = [\"Master\"]");

    let found = case.only("tether::config::invalid_dns_label");

    assert!(found.message().starts_with("MachineConfig role `Master` contains the uppercase letter `M`"));
    assert_eq!(case.text_at(&found), "Master");
}

#[test]
fn routes_are_optional() {
    let case = Case::new("routes_are_optional")
        .replace("[[onprem.routes]]", "")
        .replace("destination = \"10.1.0.0/16\"\n", "")
        .replace("gateway = \"192.168.6.1\"\n", "")
        .replace("device = \"br-ex\"\n", "");

    let checked = case.load().expect("an environment without routes is valid");

    assert!(checked.routes.is_empty());
}
