//! End-to-end tests of saved plans, `--detailed-exitcode`, `--json` and `tether show`, with the
//! `tether` binary against a fresh moto and Kubernetes test server each.

mod support;

use std::process::Command;

use base64::Engine as _;
use support::{Harness, describe, edit, repository_root};

fn plan_schema() -> jsonschema::Validator {
    let path = repository_root().join("schemas/plan.schema.json");
    let schema: serde_json::Value = serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap();
    jsonschema::validator_for(&schema).unwrap()
}

fn assert_valid_plan_json(stdout: &str) -> serde_json::Value {
    let json: serde_json::Value = serde_json::from_str(stdout).unwrap_or_else(|error| panic!("{error}:\n{stdout}"));
    let validator = plan_schema();
    let errors: Vec<String> =
        validator.iter_errors(&json).map(|error| format!("{error} at {}", error.instance_path)).collect();
    assert!(errors.is_empty(), "{}", errors.join("\n"));
    json
}

#[test]
fn detailed_exitcode_reports_changes() {
    let harness = Harness::start();
    let file = harness.example("ai-dev.toml");
    let file = file.to_str().unwrap();

    let pending = harness.tether(&["plan", "--detailed-exitcode", file]);
    assert_eq!(pending.status.code(), Some(2), "{}", describe(&pending));
    let plain = harness.tether(&["plan", file]);
    assert_eq!(plain.status.code(), Some(0), "without the flag changes exit 0:\n{}", describe(&plain));

    harness.tether_ok(&["apply", "--auto-approve", file]);
    let converged = harness.tether(&["plan", "--detailed-exitcode", file]);
    assert_eq!(converged.status.code(), Some(0), "{}", describe(&converged));

    let missing = harness.tether(&["plan", "--detailed-exitcode", "missing.toml"]);
    assert_eq!(missing.status.code(), Some(1), "{}", describe(&missing));
}

#[test]
fn saved_plan_applies_unchanged() {
    let harness = Harness::start();
    let file = harness.example("ai-dev.toml");
    let file = file.to_str().unwrap();

    harness.tether_ok(&["plan", "-out", "ai-dev.plan", file]);
    let shown = harness.tether_ok(&["show", "ai-dev.plan"]);
    assert!(shown.contains("Plan: 38 to add, 0 to change, 0 to destroy."), "{shown}");
    let shown_json = harness.tether_ok(&["show", "--json", "ai-dev.plan"]);
    assert_eq!(assert_valid_plan_json(&shown_json)["summary"]["add"], 38);

    let applied = harness.tether(&["apply", "ai-dev.plan"]);
    assert!(applied.status.success(), "a saved plan needs no confirmation:\n{}", describe(&applied));
    let stderr = String::from_utf8_lossy(&applied.stderr);
    assert!(stderr.contains("Applying the plan file ai-dev.plan"), "{stderr}");

    let state: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(harness.dir.path().join(".tether/ai-dev.state.json")).unwrap())
            .unwrap();
    let resources = state["resources"].as_object().unwrap();
    assert_eq!(resources.len(), 38, "{resources:?}");
    let gpu = &resources["cluster.node_pool.gpu"]["attributes"]["spec"];
    assert_eq!(gpu["platform"]["aws"]["instanceType"], "g6.xlarge");
    let after = harness.tether_ok(&["plan", file]);
    assert!(after.starts_with("No changes."), "{after}");

    // A second saved plan, against resources that now exist.
    edit(std::path::Path::new(file), "autoscaling = { min = 0, max = 2 }", "autoscaling = { min = 0, max = 3 }");
    harness.tether_ok(&["plan", "--out", "scale.plan", file]);
    harness.tether_ok(&["apply", "scale.plan"]);
    let gpu = harness.kube.get("hypershift.openshift.io/v1beta1", "NodePool", Some("hcp-ai"), "ai-gpu").unwrap();
    assert_eq!(gpu["spec"]["autoScaling"]["max"], 3);
    let state: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(harness.dir.path().join(".tether/ai-dev.state.json")).unwrap())
            .unwrap();
    assert_eq!(state["resources"]["cluster.node_pool.gpu"]["attributes"]["spec"]["autoScaling"]["max"], 3);
    let last = harness.tether_ok(&["plan", file]);
    assert!(last.starts_with("No changes."), "{last}");
}

#[test]
fn saved_plan_rejected_after_cluster_change() {
    let harness = Harness::start();
    let file = harness.example("ai-dev.toml");
    let file = file.to_str().unwrap();
    harness.tether_ok(&["apply", "--auto-approve", file]);

    edit(std::path::Path::new(file), "autoscaling = { min = 0, max = 2 }", "autoscaling = { min = 0, max = 3 }");
    harness.tether_ok(&["plan", "-out=scale.plan", file]);
    // Someone scales the workers pool by hand after the plan was saved.
    let patched = Command::new("kubectl")
        .args(["--kubeconfig", harness.kubeconfig.to_str().unwrap(), "-n", "hcp-ai", "patch", "nodepool", "ai-workers"])
        .args(["--type", "merge", "-p", r#"{"spec":{"replicas":5}}"#])
        .output()
        .unwrap();
    assert!(patched.status.success(), "{}", describe(&patched));

    let refused = harness.tether(&["apply", "scale.plan"]);
    assert_eq!(refused.status.code(), Some(1), "{}", describe(&refused));
    let stderr = String::from_utf8_lossy(&refused.stderr);
    assert!(stderr.contains("no longer matches"), "{stderr}");
    assert!(stderr.contains("cluster.node_pool.workers"), "the difference names the pool:\n{stderr}");
    assert!(stderr.contains("saved plan: no-op"), "{stderr}");
    assert!(stderr.contains("fresh plan: update"), "{stderr}");
    assert!(stderr.contains("spec.replicas = 5 -> 2"), "{stderr}");
    assert!(!stderr.contains("cluster.node_pool.gpu\n"), "the unchanged gpu change is not listed:\n{stderr}");
    let gpu = harness.kube.get("hypershift.openshift.io/v1beta1", "NodePool", Some("hcp-ai"), "ai-gpu").unwrap();
    assert_eq!(gpu["spec"]["autoScaling"]["max"], 2, "nothing was applied");
}

#[test]
fn show_rejects_environment_file() {
    let harness = Harness::start();
    let file = harness.example("ai-dev.toml");
    let output = harness.tether(&["show", file.to_str().unwrap()]);
    assert_eq!(output.status.code(), Some(1), "{}", describe(&output));
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(stderr.contains("is not a plan file"), "{stderr}");
}

#[test]
fn prod_example_converges() {
    let harness = Harness::start();
    let file = harness.example("ai-prod.toml");
    let file = file.to_str().unwrap();
    harness.tether_ok(&["apply", "--auto-approve", file]);
    let output = harness.tether(&["plan", "--detailed-exitcode", file]);
    assert_eq!(output.status.code(), Some(0), "a second plan has no changes:\n{}", describe(&output));
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(stdout.starts_with("No changes."), "{stdout}");
}

#[test]
fn secret_absent_from_every_output() {
    let harness = Harness::start();
    let file = harness.example("ai-dev.toml");
    let file = file.to_str().unwrap();
    let secret = std::fs::read_to_string(harness.dir.path().join("pull-secret.example.json")).unwrap();
    let auth = "ZmFrZS11c2VyOmZha2UtcGFzc3dvcmQtbm90LWEtcmVhbC1zZWNyZXQ=";
    let decoded_auth = "fake-password-not-a-real-secret";
    let encoded = base64::engine::general_purpose::STANDARD.encode(&secret);

    let runs: [&[&str]; 7] = [
        &["plan", file],
        &["plan", "--json", file],
        &["-vv", "plan", "-out", "first.plan", file],
        &["show", "first.plan"],
        &["show", "--json", "first.plan"],
        &["-vv", "apply", "--json", "first.plan"],
        &["-vv", "plan", "--json", file],
    ];
    let mut outputs = Vec::new();
    for args in runs {
        let output = harness.tether(args);
        assert!(output.status.success(), "{}", describe(&output));
        outputs.push((args.join(" "), describe(&output)));
    }
    for saved in ["first.plan", ".tether/ai-dev.state.json"] {
        outputs.push((saved.to_owned(), std::fs::read_to_string(harness.dir.path().join(saved)).unwrap()));
    }
    for (source, text) in &outputs {
        assert!(!text.contains(auth), "the registry credential leaked in {source}:\n{text}");
        assert!(!text.contains(decoded_auth), "the decoded credential leaked in {source}:\n{text}");
        assert!(!text.contains(&encoded), "the base64 pull secret leaked in {source}:\n{text}");
        assert!(!text.contains(secret.trim()), "the pull secret leaked in {source}:\n{text}");
    }
    assert!(outputs[0].1.contains("(sensitive, sha256:"), "the plan shows the masked secret:\n{}", outputs[0].1);
    let json = assert_valid_plan_json(
        outputs[1].1.split("--- stdout\n").nth(1).unwrap().split("\n--- stderr").next().unwrap(),
    );
    let secret_change = json["resource_changes"]
        .as_array()
        .unwrap()
        .iter()
        .find(|change| change["address"] == "cluster.secret.pull-secret")
        .unwrap();
    assert_eq!(secret_change["after_sensitive"]["data"][".dockerconfigjson"], true);
}
