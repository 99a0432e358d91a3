//! The committed examples load without errors, warn only that the GPU pool scales from zero, and
//! parse to the values they spell out.

use std::net::Ipv4Addr;

use tether_config::{Route, load};

use crate::support::{Case, examples_dir};

#[test]
fn ai_dev_loads_clean() {
    let checked = load(&examples_dir().join("ai-dev.toml")).expect("ai-dev example is valid");

    let codes: Vec<&str> = checked.warnings.iter().map(|warning| warning.code()).collect();
    assert_eq!(codes, ["tether::config::scale_from_zero"], "{:#?}", checked.warnings);
    let environment = &checked.environment;
    assert_eq!(environment.name, "ai-dev");
    assert_eq!(environment.cluster.name, "ai");
    assert_eq!(environment.cluster.namespace, "hcp-ai");
    assert_eq!(environment.cluster.infra_id, "ai");
    assert_eq!(environment.cluster.base_domain, "hcp.example.com");
    assert_eq!(environment.aws.account_id, "123456789012");
    assert_eq!(environment.aws.region, "ap-southeast-2");
    assert_eq!(environment.aws.zones, ["ap-southeast-2a"]);
    assert_eq!(checked.vpc_cidr.to_string(), "10.1.0.0/16");
    assert_eq!(checked.cluster_network.to_string(), "10.132.0.0/14");
    assert_eq!(checked.service_network.to_string(), "172.31.0.0/16");
    assert_eq!(checked.onprem_networks.len(), 1);
    assert_eq!(checked.onprem_networks[0].to_string(), "192.168.6.0/24");
    assert_eq!(environment.onprem.machine_config_roles, ["master"]);
}

#[test]
fn ai_dev_parses_routes_and_pools() {
    let checked = load(&examples_dir().join("ai-dev.toml")).expect("ai-dev example is valid");

    let expected_route = Route {
        destination: "10.1.0.0/16".parse().expect("valid CIDR"),
        gateway: Ipv4Addr::new(192, 168, 6, 1),
        device: "br-ex".to_owned(),
    };
    assert_eq!(checked.routes, [expected_route]);

    let pools = &checked.environment.pools;
    assert_eq!(pools.keys().collect::<Vec<_>>(), ["gpu", "workers"]);
    assert_eq!(pools["workers"].instance_type, "m6i.2xlarge");
    assert_eq!(pools["workers"].replicas, Some(2));
    assert_eq!(pools["workers"].root_volume.size_gib, 120);
    assert_eq!(pools["workers"].root_volume.volume_type, "gp3");
    let gpu = &pools["gpu"];
    assert_eq!(gpu.instance_type, "g6.xlarge");
    let autoscaling = gpu.autoscaling.expect("gpu pool autoscales");
    assert_eq!((autoscaling.min, autoscaling.max), (0, 2));
    assert_eq!(gpu.taints.len(), 1);
    assert_eq!(gpu.taints[0].key, "nvidia.com/gpu");
    assert_eq!(gpu.taints[0].effect, "NoSchedule");
    assert_eq!(gpu.release_image_or(&checked.environment.cluster), checked.environment.cluster.release_image);
    assert_eq!(checked.node_pool_name("gpu"), "ai-gpu");
}

#[test]
fn ai_dev_reads_pull_secret_and_digest() {
    let checked = load(&examples_dir().join("ai-dev.toml")).expect("ai-dev example is valid");

    assert!(checked.pull_secret.expose().contains("\"auths\""));
    assert_eq!(checked.pull_secret_path(), examples_dir().join("pull-secret.example.json"));
    assert_eq!(checked.base_dir, examples_dir());
    assert_eq!(checked.source_digest.len(), 64);
    assert!(checked.source_digest.bytes().all(|byte| byte.is_ascii_hexdigit()));
    assert_eq!(checked.environment.subnet_router.instance_type, "t3.small");
    assert!(!checked.environment.subnet_router.source_nat);
}

#[test]
fn ai_prod_loads_clean() {
    let checked = load(&examples_dir().join("ai-prod.toml")).expect("ai-prod example is valid");

    let codes: Vec<&str> = checked.warnings.iter().map(|warning| warning.code()).collect();
    assert_eq!(codes, ["tether::config::scale_from_zero"], "{:#?}", checked.warnings);
    let environment = &checked.environment;
    assert_eq!(environment.name, "ai-prod");
    assert_eq!(environment.cluster.name, "ai-prod");
    assert_eq!(environment.cluster.namespace, "hcp-ai-prod");
    assert_eq!(environment.cluster.infra_id, "ai-prod");
    assert_eq!(environment.aws.account_id, "210987654321");
    assert_eq!(checked.vpc_cidr.to_string(), "10.2.0.0/16");
    assert_eq!(checked.routes[0].destination.to_string(), "10.2.0.0/16");
}

#[test]
fn examples_start_with_schema_line() {
    for name in ["ai-dev.toml", "ai-prod.toml"] {
        let text = std::fs::read_to_string(examples_dir().join(name)).expect("read the example");
        assert_eq!(text.lines().next(), Some("#:schema ../schemas/environment.schema.json"), "{name}");
    }
}

#[test]
fn digest_changes_with_content() {
    let first = Case::new("digest_first").load().expect("valid file");
    let second = Case::new("digest_second").append("# a comment\n").load().expect("valid file");

    assert_ne!(first.source_digest, second.source_digest);
}

#[test]
fn defaults_fill_optional_keys() {
    let case = Case::new("defaults_fill_optional_keys")
        .replace("cluster_network = \"10.132.0.0/14\"", "")
        .replace("service_network = \"172.31.0.0/16\"", "")
        .replace("machine_config_roles = [\"master\"]", "")
        .replace("source_nat = false", "")
        .replace("root_volume = { size_gib = 120, type = \"gp3\" }", "");

    let checked = case.load().expect("valid file");

    assert_eq!(checked.cluster_network.to_string(), tether_config::DEFAULT_CLUSTER_NETWORK);
    assert_eq!(checked.service_network.to_string(), tether_config::DEFAULT_SERVICE_NETWORK);
    assert_eq!(checked.environment.onprem.machine_config_roles, ["master"]);
    assert!(!checked.environment.subnet_router.source_nat);
    assert_eq!(checked.environment.pools["gpu"].root_volume.size_gib, 120);
    assert_eq!(checked.environment.pools["gpu"].root_volume.volume_type, "gp3");
}
