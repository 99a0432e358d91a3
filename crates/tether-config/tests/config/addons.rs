//! `[addons]`: presets, custom add-ons, operands inline and from files, and their diagnostics.

use std::fs;

use tether_config::Approval;

use crate::support::{Case, help};

fn with_addons(name: &str, text: &str) -> Case {
    Case::new(name).append(&format!("\n{text}"))
}

#[test]
fn preset_needs_only_channel() {
    let case = with_addons("preset_needs_only_channel", "[addons.gpu-operator]\nchannel = \"stable\"\n");

    let checked = case.load().expect("a preset with a channel is valid");

    let addons = checked.addons();
    assert_eq!(addons.len(), 1);
    let gpu = &addons[0];
    assert_eq!(gpu.package, "gpu-operator-certified");
    assert_eq!(gpu.source, "certified-operators");
    assert_eq!(gpu.source_namespace, "openshift-marketplace");
    assert_eq!(gpu.namespace, "nvidia-gpu-operator");
    assert_eq!(gpu.approval, Approval::Automatic);
    assert!(!gpu.all_namespaces);
    assert_eq!(gpu.operands.len(), 1);
    assert_eq!(gpu.operands[0].kind, "ClusterPolicy");
    assert_eq!(gpu.operands[0].namespace, None);
}

#[test]
fn preset_values_can_be_overridden() {
    let text = "[addons.openshift-ai]\nchannel = \"fast\"\nstarting_csv = \"rhods-operator.2.19.0\"\n\
                [addons.openshift-ai.operands.data-science-cluster]\n\
                spec = { components = { dashboard = { managementState = \"Removed\" } } }\n";
    let checked = with_addons("preset_values_can_be_overridden", text).load().expect("valid overrides");

    let addon = &checked.addons()[0];
    assert_eq!(addon.starting_csv.as_deref(), Some("rhods-operator.2.19.0"));
    assert!(addon.all_namespaces, "OpenShift AI's OperatorGroup targets every namespace");
    let operand = &addon.operands[0];
    assert_eq!(operand.name, "default-dsc");
    assert_eq!(operand.fields["spec"]["components"]["dashboard"]["managementState"], "Removed");
    assert!(operand.fields["spec"]["components"].get("workbenches").is_none(), "spec is replaced whole");
}

#[test]
fn preset_operand_can_be_dropped() {
    let text = "[addons.node-feature-discovery]\nchannel = \"stable\"\noperands.instance.enabled = false\n";
    let checked = with_addons("preset_operand_can_be_dropped", text).load().expect("valid");

    assert!(checked.addons()[0].operands.is_empty());
}

#[test]
fn custom_addon_needs_package_source_namespace() {
    let case =
        with_addons("custom_addon_needs_package_source_namespace", "[addons.my-operator]\nchannel = \"stable\"\n");

    let diagnostics = case.diagnostics();

    let messages: Vec<&str> =
        diagnostics.iter().filter(|entry| entry.is_error()).map(|entry| entry.message()).collect();
    assert_eq!(
        messages,
        [
            "add-on `my-operator` has no `package`, and `my-operator` is not a preset",
            "add-on `my-operator` has no `source`, and `my-operator` is not a preset",
            "add-on `my-operator` has no `namespace`, and `my-operator` is not a preset",
        ]
    );
    let first = diagnostics.iter().find(|entry| entry.is_error()).unwrap();
    assert_eq!(first.code(), "tether::config::addon_incomplete");
    assert!(help(first).contains("gpu-operator, node-feature-discovery, openshift-ai"), "{:?}", first.help());
}

#[test]
fn empty_channel_is_reported_at_its_value() {
    let case = with_addons("empty_channel_is_reported_at_its_value", "[addons.gpu-operator]\nchannel = \" \"\n");

    let found = case.only("tether::config::addon_invalid_value");

    assert_eq!(case.text_at(&found), " ");
}

#[test]
fn invalid_namespace_is_reported() {
    let text = "[addons.gpu-operator]\nchannel = \"stable\"\nnamespace = \"NVIDIA\"\n";
    let case = with_addons("invalid_namespace_is_reported", text);

    let found = case.only("tether::config::addon_invalid_value");

    assert_eq!(case.text_at(&found), "NVIDIA");
    assert!(found.message().starts_with("`namespace` `NVIDIA`"), "{}", found.message());
}

#[test]
fn shared_namespace_is_an_error() {
    let text = "[addons.gpu-operator]\nchannel = \"stable\"\n\
                [addons.node-feature-discovery]\nchannel = \"stable\"\nnamespace = \"nvidia-gpu-operator\"\n";
    let case = with_addons("shared_namespace_is_an_error", text);

    let found = case.only("tether::config::addon_namespace_shared");

    assert_eq!(
        found.message(),
        "add-ons `gpu-operator` and `node-feature-discovery` both install into namespace `nvidia-gpu-operator`"
    );
}

#[test]
fn manual_approval_warns() {
    let text = "[addons.gpu-operator]\nchannel = \"stable\"\napproval = \"Manual\"\n";
    let checked = with_addons("manual_approval_warns", text).load().expect("a warning does not stop loading");

    let codes: Vec<&str> = checked.warnings.iter().map(|warning| warning.code()).collect();
    assert!(codes.contains(&"tether::config::addon_manual_approval"), "{codes:?}");
    assert_eq!(checked.addons()[0].approval, Approval::Manual);
}

#[test]
fn operand_from_json_file() {
    let case = with_addons(
        "operand_from_json_file",
        "[addons.gpu-operator]\nchannel = \"stable\"\noperands.cluster-policy.file = \"policy.json\"\n",
    );
    let object = r#"{"apiVersion": "nvidia.com/v1", "kind": "ClusterPolicy",
        "metadata": {"name": "custom-policy"}, "spec": {"driver": {"enabled": false}}, "status": {"state": "ready"}}"#;
    fs::write(case.dir.join("policy.json"), object).unwrap();

    let checked = case.load().expect("valid operand file");

    let operand = &checked.addons()[0].operands[0];
    assert_eq!(operand.name, "custom-policy");
    assert_eq!(operand.fields["spec"]["driver"]["enabled"], false);
    assert!(!operand.fields.contains_key("status"), "status belongs to the operator");
}

#[test]
fn missing_operand_file_is_reported() {
    let text = "[addons.gpu-operator]\nchannel = \"stable\"\noperands.cluster-policy.file = \"absent.json\"\n";
    let case = with_addons("missing_operand_file_is_reported", text);

    let found = case.only("tether::config::addon_operand_file");

    assert_eq!(case.text_at(&found), "absent.json");
    assert!(found.message().starts_with("cannot read operand file"), "{}", found.message());
}

#[test]
fn operand_file_and_inline_keys_conflict() {
    let text = "[addons.gpu-operator]\nchannel = \"stable\"\n\
                operands.cluster-policy = { file = \"p.json\", kind = \"ClusterPolicy\" }\n";
    let case = with_addons("operand_file_and_inline_keys_conflict", text);

    let found = case.only("tether::config::addon_invalid_value");

    assert_eq!(found.message(), "operand has both `file` and inline keys");
}

#[test]
fn custom_operand_needs_group_version() {
    let text = "[addons.gpu-operator]\nchannel = \"stable\"\n\
                operands.extra = { api_version = \"v1\", kind = \"ConfigMap\", name = \"x\", namespace = \"nvidia-gpu-operator\" }\n";
    let case = with_addons("custom_operand_needs_group_version", text);

    let found = case.only("tether::config::addon_invalid_value");

    assert!(found.message().contains("is not `group/version`"), "{}", found.message());
}
