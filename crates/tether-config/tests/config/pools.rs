//! Pool rules: size, taints, labels, root volume, and an environment without pools.

use tether_config::Severity;

use crate::support::{Case, help};

#[test]
fn replicas_and_autoscaling_together() {
    let case = Case::new("replicas_and_autoscaling_together")
        .replace("replicas = 2", "replicas = 2\nautoscaling = { min = 1, max = 3 }");

    let found = case.only("tether::config::replicas_and_autoscaling");

    assert_eq!(found.message(), "pool sets both `replicas` and `autoscaling`");
    assert_eq!(help(&found), "remove `replicas` to let the pool autoscale, or remove `autoscaling` for a fixed size");
    assert_eq!(case.labelled_texts(&found), ["replicas", "autoscaling"]);
}

#[test]
fn neither_replicas_nor_autoscaling() {
    let case = Case::new("neither_replicas_nor_autoscaling").replace("replicas = 2\n", "");

    let found = case.only("tether::config::no_replicas_or_autoscaling");

    assert_eq!(found.message(), "pool sets neither `replicas` nor `autoscaling`");
    assert!(help(&found).starts_with("add `replicas = 2` for a fixed size"));
    assert_eq!(case.text_at(&found), "workers");
}

#[test]
fn autoscaling_min_above_max() {
    let case = Case::new("autoscaling_min_above_max")
        .replace("autoscaling = { min = 0, max = 2 }", "autoscaling = { min = 3, max = 2 }");

    let found = case.only("tether::config::autoscaling_min_above_max");

    assert_eq!(found.message(), "autoscaling `min` 3 is greater than `max` 2");
    assert_eq!(help(&found), "make `min` at most `max`");
    assert_eq!(case.labelled_texts(&found), ["3", "2"]);
}

#[test]
fn autoscaling_max_zero() {
    let case = Case::new("autoscaling_max_zero")
        .replace("autoscaling = { min = 0, max = 2 }", "autoscaling = { min = 0, max = 0 }");

    let found = case.only("tether::config::autoscaling_max_below_one");

    assert_eq!(found.message(), "autoscaling `max` is 0, but it must be at least 1");
    assert!(help(&found).contains("use `replicas = 0`"));
    assert_eq!(case.text_at(&found), "0");
    let max_position = case.source.find("max = 0").expect("edited line") + "max = ".len();
    assert_eq!(found.span().expect("span").start, max_position);
}

#[test]
fn negative_replicas() {
    let case = Case::new("negative_replicas").replace("replicas = 2", "replicas = -1");

    let found = case.only("tether::config::negative_replicas");

    assert_eq!(found.message(), "`replicas` is -1, a negative node count");
    assert_eq!(help(&found), "give 0 or more replicas");
    assert_eq!(case.text_at(&found), "-1");
}

#[test]
fn negative_autoscaling_min() {
    let case = Case::new("negative_autoscaling_min")
        .replace("autoscaling = { min = 0, max = 2 }", "autoscaling = { min = -2, max = 2 }");

    let found = case.only("tether::config::negative_replicas");

    assert_eq!(found.message(), "autoscaling `min` is -2, a negative node count");
    assert_eq!(case.text_at(&found), "-2");
}

#[test]
fn taint_effect_wrong_case() {
    let case = Case::new("taint_effect_wrong_case").replace("effect = \"NoSchedule\"", "effect = \"noschedule\"");

    let found = case.only("tether::config::invalid_taint_effect");

    assert_eq!(found.message(), "taint effect `noschedule` is not `NoSchedule`, `PreferNoSchedule` or `NoExecute`");
    assert_eq!(help(&found), "did you mean `NoSchedule`? Effects are case-sensitive");
    assert_eq!(case.text_at(&found), "noschedule");
}

#[test]
fn taint_effect_unknown() {
    let case = Case::new("taint_effect_unknown").replace("effect = \"NoSchedule\"", "effect = \"Evict\"");

    let found = case.only("tether::config::invalid_taint_effect");

    assert_eq!(help(&found), "use `NoSchedule`, `PreferNoSchedule` or `NoExecute`");
    assert_eq!(case.text_at(&found), "Evict");
}

#[test]
fn taint_key_two_slashes() {
    let case = Case::new("taint_key_two_slashes").replace("key = \"nvidia.com/gpu\"", "key = \"nvidia.com/gpu/a\"");

    let found = case.only("tether::config::invalid_taint_key");

    assert_eq!(found.message(), "taint key `nvidia.com/gpu/a` has more than one `/`");
    assert!(help(&found).contains("e.g. `nvidia.com/gpu`"));
    assert_eq!(case.text_at(&found), "nvidia.com/gpu/a");
}

#[test]
fn taint_value_with_space() {
    let case = Case::new("taint_value_with_space").replace("value = \"present\"", "value = \"is present\"");

    let found = case.only("tether::config::invalid_taint_value");

    assert_eq!(
        found.message(),
        "taint value `is present` contains ' '; only letters, digits, `-`, `_` and `.` are allowed"
    );
    assert!(help(&found).contains("e.g. `present`"));
    assert_eq!(case.text_at(&found), "is present");
}

#[test]
fn taint_without_value_is_valid() {
    let case = Case::new("taint_without_value_is_valid").replace("value = \"present\", ", "");

    let checked = case.load().expect("a taint value is optional");

    assert_eq!(checked.environment.pools["gpu"].taints[0].value, None);
}

#[test]
fn label_key_invalid() {
    let case = Case::new("label_key_invalid").replace(
        "labels = { \"nvidia.com/gpu.present\" = \"true\" }",
        "labels = { \"nvidia.com/gpu present\" = \"true\" }",
    );

    let found = case.only("tether::config::invalid_label_key");

    assert_eq!(
        found.message(),
        "label key `nvidia.com/gpu present` contains ' '; only letters, digits, `-`, `_` and `.` are allowed"
    );
    assert!(help(&found).contains("e.g. `nvidia.com/gpu.present`"));
    assert_eq!(case.text_at(&found), "\"nvidia.com/gpu present\"");
}

#[test]
fn label_value_invalid() {
    let case = Case::new("label_value_invalid")
        .replace("\"nvidia.com/gpu.present\" = \"true\"", "\"nvidia.com/gpu.present\" = \"-true\"");

    let found = case.only("tether::config::invalid_label_value");

    assert_eq!(found.message(), "label value `-true` does not start and end with a letter or digit");
    assert!(help(&found).contains("e.g. `true`"));
    assert_eq!(case.text_at(&found), "-true");
}

#[test]
fn root_volume_too_small() {
    let case = Case::new("root_volume_too_small").replace("size_gib = 120", "size_gib = 4");

    let found = case.only("tether::config::root_volume_too_small");

    assert_eq!(found.message(), "root volume size 4 GiB is below the minimum of 8 GiB");
    assert!(help(&found).starts_with("give at least 8 GiB"));
    assert_eq!(case.text_at(&found), "4");
}

#[test]
fn root_volume_type_unknown() {
    let case = Case::new("root_volume_type_unknown").replace("type = \"gp3\"", "type = \"gp4\"");

    let found = case.only("tether::config::invalid_volume_type");

    assert_eq!(found.message(), "root volume type `gp4` is not an EBS volume type");
    assert!(help(&found).contains("`gp3` is the usual choice"));
    assert_eq!(case.text_at(&found), "gp4");
}

#[test]
fn no_pools_warns() {
    let source = std::fs::read_to_string(crate::support::examples_dir().join("ai-dev.toml")).expect("read example");
    let without_pools = &source[..source.find("# Each [pools.NAME]").expect("pools section")];
    let mut case = Case::new("no_pools_warns");
    case.source = without_pools.to_owned();

    let checked = case.load().expect("a warning does not stop loading");

    assert_eq!(checked.warnings.len(), 1);
    let warning = &checked.warnings[0];
    assert_eq!(warning.code(), "tether::config::no_pools");
    assert_eq!(warning.severity(), Severity::Warning);
    assert_eq!(warning.message(), "the environment has no node pools, so the hosted cluster gets no workers");
    assert!(help(warning).starts_with("add a pool, e.g. `[pools.workers]`"));
    assert_eq!(warning.span(), None);
}
