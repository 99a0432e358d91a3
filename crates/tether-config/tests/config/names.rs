//! Name rules: DNS-1123 labels and subdomains, derived name lengths, and release image pull specs.

use crate::support::{Case, help};

const LABEL_HELP: &str =
    "use 1 to 63 lowercase letters, digits and `-`, starting and ending with a letter or digit, e.g. `ai-dev`";

#[test]
fn environment_name_uppercase() {
    let case = Case::new("environment_name_uppercase").replace("name = \"ai-dev\"", "name = \"AI-dev\"");

    let found = case.only("tether::config::invalid_dns_label");

    assert_eq!(
        found.message(),
        "environment name `AI-dev` contains the uppercase letter `A`; only lowercase letters, digits and `-` are allowed"
    );
    assert_eq!(help(&found), LABEL_HELP);
    assert_eq!(case.text_at(&found), "AI-dev");
}

#[test]
fn cluster_name_trailing_dash() {
    let case = Case::new("cluster_name_trailing_dash").replace("name = \"ai\" ", "name = \"ai-\" ");

    let found = case.only("tether::config::invalid_dns_label");

    assert_eq!(found.message(), "cluster name `ai-` ends with `-`");
    assert_eq!(help(&found), LABEL_HELP);
    assert_eq!(case.text_at(&found), "ai-");
}

#[test]
fn namespace_too_long() {
    let long = "n".repeat(64);
    let case = Case::new("namespace_too_long").replace("namespace = \"hcp-ai\"", &format!("namespace = \"{long}\""));

    let found = case.only("tether::config::invalid_dns_label");

    assert_eq!(found.message(), format!("namespace `{long}` is 64 characters long, more than 63"));
    assert_eq!(case.text_at(&found), long);
}

#[test]
fn infra_id_underscore() {
    let case = Case::new("infra_id_underscore").replace("infra_id = \"ai\"", "infra_id = \"ai_1\"");

    let found = case.only("tether::config::invalid_dns_label");

    assert_eq!(found.message(), "infra id `ai_1` contains '_'; only lowercase letters, digits and `-` are allowed");
    assert_eq!(case.text_at(&found), "ai_1");
}

#[test]
fn empty_name_is_reported_as_empty() {
    let case = Case::new("empty_name_is_reported_as_empty").replace("name = \"ai-dev\"", "name = \"\"");

    let found = case.only("tether::config::invalid_dns_label");

    assert_eq!(found.message(), "environment name is empty");
    assert_eq!(case.text_at(&found), "");
}

#[test]
fn pool_name_not_a_label() {
    let case = Case::new("pool_name_not_a_label").replace("[pools.gpu]", "[pools.GPU]");

    let found = case.only("tether::config::invalid_dns_label");

    assert!(found.message().starts_with("pool name `GPU` contains the uppercase letter `G`"), "{}", found.message());
    assert_eq!(help(&found), LABEL_HELP);
    assert_eq!(case.text_at(&found), "GPU");
}

#[test]
fn node_pool_name_too_long() {
    let pool = "p".repeat(61);
    let case = Case::new("node_pool_name_too_long").replace("[pools.gpu]", &format!("[pools.{pool}]"));

    let found = case.only("tether::config::node_pool_name_too_long");

    assert_eq!(
        found.message(),
        format!("NodePool name `ai-{pool}` (cluster name `-` pool name) is 64 characters long, more than 63")
    );
    assert!(help(&found).starts_with("shorten the pool name or `cluster.name`"));
    assert_eq!(case.labelled_texts(&found), [pool.as_str(), "ai"]);
}

#[test]
fn control_plane_namespace_too_long() {
    let namespace = "n".repeat(61);
    let case = Case::new("control_plane_namespace_too_long")
        .replace("namespace = \"hcp-ai\"", &format!("namespace = \"{namespace}\""));

    let found = case.only("tether::config::control_plane_namespace_too_long");

    assert_eq!(
        found.message(),
        format!(
            "control plane namespace `{namespace}-ai` (namespace `-` cluster name) is 64 characters long, more than 63"
        )
    );
    assert!(help(&found).starts_with("shorten `cluster.namespace` or `cluster.name`"));
    assert_eq!(case.labelled_texts(&found), [namespace.as_str(), "ai"]);
}

#[test]
fn base_domain_empty_part() {
    let case = Case::new("base_domain_empty_part")
        .replace("base_domain = \"hcp.example.com\"", "base_domain = \"hcp..example.com\"");

    let found = case.only("tether::config::invalid_dns_subdomain");

    assert_eq!(found.message(), "base domain `hcp..example.com` has an empty part between dots");
    assert!(help(&found).contains("e.g. `hcp.example.com`"));
    assert_eq!(case.text_at(&found), "hcp..example.com");
}

#[test]
fn etcd_storage_class_uppercase() {
    let case = Case::new("etcd_storage_class_uppercase")
        .replace("etcd_storage_class = \"lvms-vg1\"", "etcd_storage_class = \"LVMS\"");

    let found = case.only("tether::config::invalid_dns_subdomain");

    assert!(
        found
            .message()
            .starts_with("etcd storage class `LVMS` has a part `LVMS` that contains the uppercase letter `L`")
    );
    assert_eq!(case.text_at(&found), "LVMS");
}

#[test]
fn release_image_without_tag() {
    let case = Case::new("release_image_without_tag").replace(":4.21.12-x86_64\"", "\"");

    let found = case.only("tether::config::invalid_release_image");

    assert_eq!(
        found.message(),
        "release image `quay.io/openshift-release-dev/ocp-release` has neither a tag nor a digest"
    );
    assert!(help(&found).starts_with("give `registry/repository:tag` or `registry/repository@sha256:"));
    assert_eq!(case.text_at(&found), "quay.io/openshift-release-dev/ocp-release");
}

#[test]
fn release_image_uppercase_repository() {
    let case = Case::new("release_image_uppercase_repository")
        .replace("openshift-release-dev/ocp-release", "OpenShift/ocp-release");

    let found = case.only("tether::config::invalid_release_image");

    assert_eq!(
        found.message(),
        "release image `quay.io/OpenShift/ocp-release:4.21.12-x86_64` has a repository path component `OpenShift` that is not lowercase"
    );
    assert_eq!(case.text_at(&found), "quay.io/OpenShift/ocp-release:4.21.12-x86_64");
}

#[test]
fn release_image_without_registry() {
    let case = Case::new("release_image_without_registry").replace("quay.io/openshift-release-dev/", "");

    let found = case.only("tether::config::invalid_release_image");

    assert_eq!(found.message(), "release image `ocp-release:4.21.12-x86_64` has no registry host, e.g. `quay.io/`");
    assert_eq!(case.text_at(&found), "ocp-release:4.21.12-x86_64");
}

#[test]
fn release_image_short_digest() {
    let case = Case::new("release_image_short_digest").replace(":4.21.12-x86_64\"", "@sha256:abc\"");

    let found = case.only("tether::config::invalid_release_image");

    assert!(found.message().ends_with("has a digest that is not `sha256:` followed by 64 lowercase hex digits"));
    assert_eq!(case.text_at(&found), "quay.io/openshift-release-dev/ocp-release@sha256:abc");
}

#[test]
fn pool_release_image_override_checked() {
    let case = Case::new("pool_release_image_override_checked").replace(
        "instance_type = \"g6.xlarge\"",
        "instance_type = \"g6.xlarge\"\nrelease_image = \"quay.io/ocp-release\"",
    );

    let found = case.only("tether::config::invalid_release_image");

    assert_eq!(found.message(), "release image `quay.io/ocp-release` has neither a tag nor a digest");
    assert_eq!(case.text_at(&found), "quay.io/ocp-release");
}

#[test]
fn pool_release_image_override_accepted() {
    let digest = "sha256:0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef";
    let image = format!("quay.io/openshift-release-dev/ocp-release@{digest}");
    let case = Case::new("pool_release_image_override_accepted").replace(
        "instance_type = \"g6.xlarge\"",
        &format!("instance_type = \"g6.xlarge\"\nrelease_image = \"{image}\""),
    );

    let checked = case.load().expect("valid override");

    let gpu = &checked.environment.pools["gpu"];
    assert_eq!(gpu.release_image_or(&checked.environment.cluster), image);
}
