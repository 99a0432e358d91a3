//! Hybrid-HCP rules: untainted capacity, release skew between pools and the HostedCluster, and
//! autoscaling from zero.

use tether_config::Severity;

use crate::support::{Case, help};

const GPU_POOL: &str = "instance_type = \"g6.xlarge\"";

fn with_pool_release(name: &str, image: &str) -> Case {
    Case::new(name).replace(GPU_POOL, &format!("{GPU_POOL}\nrelease_image = \"{image}\""))
}

#[test]
fn untainted_pool_with_one_node() {
    let case = Case::new("untainted_pool_with_one_node").replace("replicas = 2", "replicas = 1");

    let found = case.only("tether::config::untainted_nodes_too_few");

    assert_eq!(
        found.message(),
        "pools without a `NoSchedule` or `NoExecute` taint keep 1 nodes in total, but cluster workloads need at least 2"
    );
    assert!(help(&found).starts_with("give untainted pools at least 2 nodes in total"));
    assert_eq!(case.labelled_texts(&found), ["1"]);
}

#[test]
fn untainted_pools_add_up() {
    let case = Case::new("untainted_pools_add_up")
        .replace("replicas = 2", "replicas = 1")
        .append("\n[pools.batch]\ninstance_type = \"m6i.2xlarge\"\nautoscaling = { min = 1, max = 4 }\n");

    let checked = case.load().expect("two untainted pools of one node each are enough");

    assert!(checked.warnings.iter().all(|warning| warning.code() != "tether::config::untainted_nodes_too_few"));
}

#[test]
fn only_tainted_pools() {
    let case = Case::new("only_tainted_pools").replace(
        "replicas = 2",
        "replicas = 2\ntaints = [{ key = \"dedicated\", value = \"infra\", effect = \"NoExecute\" }]",
    );

    let found = case.only("tether::config::untainted_nodes_too_few");

    assert!(found.message().contains("keep 0 nodes in total"), "{}", found.message());
    let labels: Vec<&str> = found.labels().filter_map(|(_, text)| text).collect();
    assert_eq!(labels, ["`gpu` is tainted", "`workers` is tainted"]);
}

#[test]
fn prefer_no_schedule_counts_as_untainted() {
    let case = Case::new("prefer_no_schedule_counts_as_untainted")
        .replace("replicas = 2", "replicas = 2\ntaints = [{ key = \"dedicated\", effect = \"PreferNoSchedule\" }]");

    assert!(case.load().is_ok());
}

#[test]
fn pool_release_newer_than_cluster() {
    let case = with_pool_release(
        "pool_release_newer_than_cluster",
        "quay.io/openshift-release-dev/ocp-release:4.21.13-x86_64",
    );

    let found = case.only("tether::config::release_skew");

    assert_eq!(found.message(), "pool `gpu` runs release 4.21.13, newer than the HostedCluster's 4.21.12");
    assert!(help(&found).starts_with("a NodePool may not be newer than its control plane"));
    assert_eq!(
        case.labelled_texts(&found),
        [
            "quay.io/openshift-release-dev/ocp-release:4.21.13-x86_64",
            "quay.io/openshift-release-dev/ocp-release:4.21.12-x86_64"
        ]
    );
}

#[test]
fn pool_release_too_old() {
    let case = with_pool_release("pool_release_too_old", "quay.io/openshift-release-dev/ocp-release:4.17.30-x86_64");

    let found = case.only("tether::config::release_skew");

    assert_eq!(
        found.message(),
        "pool `gpu` runs release 4.17.30, 4 minor versions behind the HostedCluster's 4.21.12; HyperShift allows at most 3"
    );
    assert_eq!(help(&found), "give this pool 4.18 or newer, up to 4.21.12");
}

#[test]
fn pool_release_within_skew() {
    for (name, tag) in [("skew_three_minors", "4.18.0-x86_64"), ("skew_older_patch", "4.21.3-x86_64")] {
        let case = with_pool_release(name, &format!("quay.io/openshift-release-dev/ocp-release:{tag}"));

        let checked = case.load().unwrap_or_else(|found| panic!("{tag} is within the skew: {found:#?}"));

        assert!(checked.warnings.iter().all(|warning| warning.code() != "tether::config::release_skew"));
    }
}

#[test]
fn digest_only_pool_release_cannot_be_checked() {
    let digest = "sha256:0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef";
    let image = format!("quay.io/openshift-release-dev/ocp-release@{digest}");
    let case = with_pool_release("digest_only_pool_release_cannot_be_checked", &image);

    let checked = case.load().expect("a digest-only release is valid");

    let note = checked
        .warnings
        .iter()
        .find(|warning| warning.code() == "tether::config::release_version_unknown")
        .expect("a note that the skew check cannot run");
    assert_eq!(note.severity(), Severity::Advice);
    assert!(note.message().contains("because it is named by digest only"), "{}", note.message());
    assert_eq!(case.text_at(note), image);
}

#[test]
fn scale_from_zero_warns_on_supported_release() {
    let case = Case::new("scale_from_zero_warns_on_supported_release");

    let checked = case.load().expect("a warning does not stop loading");

    let codes: Vec<&str> = checked.warnings.iter().map(|warning| warning.code()).collect();
    assert_eq!(codes, ["tether::config::scale_from_zero"]);
    let warning = &checked.warnings[0];
    assert_eq!(warning.severity(), Severity::Warning);
    assert!(
        warning.message().starts_with("pool `gpu` autoscales from zero: on 4.21.12, HyperShift keeps at least 1 node")
    );
    assert!(help(warning).contains("--scale-from-zero-provider aws"));
    assert_eq!(case.text_at(warning), "0");
}

#[test]
fn scale_from_zero_before_4_18() {
    let case = Case::new("scale_from_zero_before_4_18").replace("4.21.12-x86_64", "4.17.9-x86_64");

    let checked = case.load().expect("a warning does not stop loading");

    let warning = &checked.warnings[0];
    assert_eq!(warning.code(), "tether::config::scale_from_zero");
    assert!(warning.message().contains("supports that only from 4.18"), "{}", warning.message());
    assert!(help(warning).starts_with("set `min = 1`"));
}

#[test]
fn scale_from_zero_untainted_pool() {
    let case = Case::new("scale_from_zero_untainted_pool")
        .replace("taints = [{ key = \"nvidia.com/gpu\", value = \"present\", effect = \"NoSchedule\" }]\n", "");

    let checked = case.load().expect("a warning does not stop loading");

    let warning = checked.warnings.iter().find(|warning| warning.code() == "tether::config::scale_from_zero");
    let message = warning.expect("a scale-from-zero warning").message();
    assert!(message.contains("allows `min = 0` only on tainted pools"), "{message}");
}

#[test]
fn autoscaling_from_one_has_no_warning() {
    let case = Case::new("autoscaling_from_one_has_no_warning")
        .replace("autoscaling = { min = 0, max = 2 }", "autoscaling = { min = 1, max = 2 }");

    let checked = case.load().expect("valid file");

    assert!(checked.warnings.is_empty(), "{:#?}", checked.warnings);
}
