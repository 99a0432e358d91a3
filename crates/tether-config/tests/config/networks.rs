//! Address range rules: CIDR syntax, host bits, the VPC's /16, and overlaps.

use crate::support::{Case, help};

#[test]
fn vpc_cidr_without_prefix() {
    let case = Case::new("vpc_cidr_without_prefix").replace("vpc_cidr = \"10.1.0.0/16\"", "vpc_cidr = \"10.1.0.0\"");

    let found = case.only("tether::config::invalid_cidr");

    assert_eq!(found.message(), "VPC CIDR `10.1.0.0` has no prefix length");
    assert_eq!(help(&found), "give an IPv4 network address and prefix length, e.g. `10.1.0.0/16`");
    assert_eq!(case.text_at(&found), "10.1.0.0");
}

#[test]
fn onprem_network_bad_prefix() {
    let case = Case::new("onprem_network_bad_prefix").replace("[\"192.168.6.0/24\"]", "[\"192.168.6.0/33\"]");

    let found = case.only("tether::config::invalid_cidr");

    assert_eq!(
        found.message(),
        "on-prem network `192.168.6.0/33` has a prefix length that is not a number from 0 to 32"
    );
    assert_eq!(case.text_at(&found), "192.168.6.0/33");
}

#[test]
fn ipv6_cidr_rejected() {
    let case = Case::new("ipv6_cidr_rejected")
        .replace("service_network = \"172.31.0.0/16\"", "service_network = \"fd02::/112\"");

    let found = case.only("tether::config::invalid_cidr");

    assert_eq!(found.message(), "service network `fd02::/112` is an IPv6 CIDR, but only IPv4 is supported");
    assert_eq!(case.text_at(&found), "fd02::/112");
}

#[test]
fn vpc_cidr_host_bits() {
    let case = Case::new("vpc_cidr_host_bits").replace("vpc_cidr = \"10.1.0.0/16\"", "vpc_cidr = \"10.1.2.3/16\"");

    let found = case.only("tether::config::cidr_host_bits");

    assert_eq!(found.message(), "VPC CIDR `10.1.2.3/16` has host bits set after the /16 prefix");
    assert_eq!(help(&found), "give the network address: `10.1.0.0/16`");
    assert_eq!(case.text_at(&found), "10.1.2.3/16");
}

#[test]
fn cluster_network_host_bits() {
    let case = Case::new("cluster_network_host_bits")
        .replace("cluster_network = \"10.132.0.0/14\"", "cluster_network = \"10.133.0.0/14\"");

    let found = case.only("tether::config::cidr_host_bits");

    assert_eq!(help(&found), "give the network address: `10.132.0.0/14`");
    assert_eq!(case.text_at(&found), "10.133.0.0/14");
}

#[test]
fn vpc_cidr_not_slash_16() {
    let case = Case::new("vpc_cidr_not_slash_16").replace("vpc_cidr = \"10.1.0.0/16\"", "vpc_cidr = \"10.1.0.0/20\"");

    let found = case.only("tether::config::vpc_cidr_prefix");

    assert_eq!(found.message(), "VPC CIDR `10.1.0.0/20` is a /20, but HyperShift requires a /16");
    assert!(help(&found).starts_with("use a /16 such as `10.1.0.0/16`"), "{}", help(&found));
    assert_eq!(case.text_at(&found), "10.1.0.0/20");
}

#[test]
fn onprem_network_overlaps_vpc() {
    let case = Case::new("onprem_network_overlaps_vpc")
        .replace("[\"192.168.6.0/24\"]", "[\"192.168.6.0/24\", \"10.1.4.0/24\"]");

    let found = case.only("tether::config::cidr_overlap");

    assert_eq!(found.message(), "on-prem network `10.1.4.0/24` overlaps VPC CIDR `10.1.0.0/16`");
    assert!(help(&found).starts_with("choose ranges that do not overlap"));
    assert_eq!(case.labelled_texts(&found), ["10.1.4.0/24", "10.1.0.0/16"]);
}

#[test]
fn onprem_networks_overlap_each_other() {
    let case = Case::new("onprem_networks_overlap_each_other")
        .replace("[\"192.168.6.0/24\"]", "[\"192.168.0.0/16\", \"192.168.6.0/24\"]");

    let found = case.only("tether::config::cidr_overlap");

    assert_eq!(found.message(), "on-prem network `192.168.6.0/24` overlaps on-prem network `192.168.0.0/16`");
    assert_eq!(case.labelled_texts(&found), ["192.168.6.0/24", "192.168.0.0/16"]);
}

#[test]
fn service_network_overlaps_cluster_network() {
    let case = Case::new("service_network_overlaps_cluster_network")
        .replace("service_network = \"172.31.0.0/16\"", "service_network = \"10.134.0.0/16\"");

    let found = case.only("tether::config::cidr_overlap");

    assert_eq!(found.message(), "service network `10.134.0.0/16` overlaps cluster network `10.132.0.0/14`");
    assert_eq!(case.labelled_texts(&found), ["10.134.0.0/16", "10.132.0.0/14"]);
}

#[test]
fn service_network_overlaps_ovn_join_subnet() {
    let case = Case::new("service_network_overlaps_ovn_join_subnet")
        .replace("service_network = \"172.31.0.0/16\"", "service_network = \"100.64.0.0/16\"");

    let found = case.only("tether::config::cidr_overlap");

    assert_eq!(found.message(), "service network `100.64.0.0/16` overlaps OVN-Kubernetes join subnet `100.64.0.0/16`");
    assert_eq!(help(&found), "OVN-Kubernetes uses 100.64.0.0/16 inside every cluster; choose a range outside it");
    assert_eq!(case.labelled_texts(&found), ["100.64.0.0/16"]);
}

#[test]
fn onprem_network_overlaps_ovn_masquerade_subnet() {
    let case = Case::new("onprem_network_overlaps_ovn_masquerade_subnet")
        .replace("[\"192.168.6.0/24\"]", "[\"192.168.6.0/24\", \"169.254.100.0/24\"]");

    let found = case.only("tether::config::cidr_overlap");

    assert_eq!(
        found.message(),
        "on-prem network `169.254.100.0/24` overlaps OVN-Kubernetes masquerade subnet `169.254.0.0/17`"
    );
    assert_eq!(case.text_at(&found), "169.254.100.0/24");
}

#[test]
fn vpc_overlaps_ovn_transit_subnet() {
    let case = Case::new("vpc_overlaps_ovn_transit_subnet")
        .replace("vpc_cidr = \"10.1.0.0/16\"", "vpc_cidr = \"100.88.0.0/16\"")
        .replace("destination = \"10.1.0.0/16\"", "destination = \"100.88.0.0/16\"");

    let found = case.only("tether::config::cidr_overlap");

    assert_eq!(
        found.message(),
        "VPC CIDR `100.88.0.0/16` overlaps OVN-Kubernetes transit switch subnet `100.88.0.0/16`"
    );
    assert_eq!(case.text_at(&found), "100.88.0.0/16");
}

#[test]
fn vpc_overlaps_default_cluster_network() {
    let case = Case::new("vpc_overlaps_default_cluster_network")
        .replace("cluster_network = \"10.132.0.0/14\"", "")
        .replace("vpc_cidr = \"10.1.0.0/16\"", "vpc_cidr = \"10.133.0.0/16\"")
        .replace("destination = \"10.1.0.0/16\"", "destination = \"10.133.0.0/16\"");

    let found = case.only("tether::config::cidr_overlap");

    assert_eq!(found.message(), "VPC CIDR `10.133.0.0/16` overlaps default cluster network `10.132.0.0/14`");
    assert_eq!(
        help(&found),
        "choose a range outside 10.132.0.0/14, or set `cluster.cluster_network` to a range that does not overlap"
    );
    assert_eq!(case.labelled_texts(&found), ["10.133.0.0/16"]);
}

#[test]
fn empty_onprem_networks() {
    let case = Case::new("empty_onprem_networks").replace("[\"192.168.6.0/24\"]", "[]");

    let found = case.only("tether::config::no_onprem_networks");

    assert_eq!(found.message(), "`onprem.networks` is empty");
    assert!(help(&found).contains("e.g. `[\"192.168.6.0/24\"]`"));
    assert_eq!(case.text_at(&found), "[]");
}
