//! `[[drift.ignore]]` rules: accepted forms and malformed addresses and paths.

use crate::support::Case;

fn with_rule(name: &str, resource: &str, path: &str) -> Case {
    Case::new(name).append(&format!("\n[[drift.ignore]]\nresource = \"{resource}\"\npath = \"{path}\"\n"))
}

#[test]
fn ignore_rules_accepted() {
    let case = with_rule("ignore_rules_accepted", "cluster.node_pool.*", "spec.nodeLabels").append(
        "\n[[drift.ignore]]\nresource = \"aws.vpc.main\"\npath = \"tags.CostCenter\"\nreason = \"set by finance\"\n",
    );

    let checked = case.load().expect("the rules are valid");

    let rules = &checked.environment.drift.as_ref().expect("drift settings").ignore;
    assert_eq!(rules.len(), 2);
    assert_eq!(rules[1].reason.as_deref(), Some("set by finance"));
}

#[test]
fn ignore_rule_with_bad_address() {
    let case = with_rule("ignore_rule_with_bad_address", "gcp.vpc.main", "tags");

    let found = case.only("tether::config::invalid_drift_ignore");

    assert_eq!(
        found.message(),
        "invalid drift ignore address: `gcp.vpc.main` does not start with `aws.`, `cluster.` or `hosted.`"
    );
    assert_eq!(case.text_at(&found), "gcp.vpc.main");
}

#[test]
fn ignore_rule_with_partial_wildcard() {
    let case = with_rule("ignore_rule_with_partial_wildcard", "cluster.node_pool.g*", "spec");

    let found = case.only("tether::config::invalid_drift_ignore");

    assert!(found.message().contains("a `*` that is not the whole name"), "{}", found.message());
}

#[test]
fn ignore_rule_with_empty_path_segment() {
    let case = with_rule("ignore_rule_with_empty_path_segment", "cluster.node_pool.gpu", "spec..replicas");

    let found = case.only("tether::config::invalid_drift_ignore");

    assert_eq!(found.message(), "invalid drift ignore path: `spec..replicas` has an empty segment or whitespace");
    assert_eq!(case.text_at(&found), "spec..replicas");
}
