//! End-to-end tests: the `tether` binary against a fresh moto and Kubernetes test server each.
//!
//! moto must be installed first (`scripts/emulators install`; `scripts/test` does it).

mod support;

use std::path::Path;
use std::process::Command;

use base64::Engine as _;
use support::{Harness, describe, edit, repository_root};

/// Finds the summary line of `tether plan` output.
fn summary_line(plan: &str) -> &str {
    plan.lines().find(|line| line.starts_with("Plan: ") || line.starts_with("No changes.")).unwrap_or("")
}

/// Lists the resource headings of a plan, e.g. `cluster.node_pool.gpu will be updated in place`.
fn headings(plan: &str) -> Vec<&str> {
    plan.lines().filter_map(|line| line.strip_prefix("  # ")).filter(|line| !line.starts_with('(')).collect()
}

#[test]
fn apply_converges_then_plans_single_changes() {
    let harness = Harness::start();
    let file = harness.example("ai-dev.toml");
    let file = file.to_str().unwrap();

    let first = harness.tether_ok(&["plan", file]);
    assert_eq!(summary_line(&first), "Plan: 38 to add, 0 to change, 0 to destroy.", "{first}");
    assert_eq!(first.matches("Note: the on-prem route MachineConfig").count(), 1, "{first}");
    assert!(first.contains("at rest (autoscaled pools at min): +$1.0454/hour, +$763.14/month"), "{first}");
    assert!(
        first.trim_end().ends_with("with the roles in `rolesRef`"),
        "the placement summary ends the plan:\n{first}"
    );

    harness.tether_ok(&["apply", "--auto-approve", file]);
    let second = harness.tether_ok(&["plan", file]);
    assert_eq!(summary_line(&second), "No changes. Environment `ai-dev` matches its file.", "{second}");
    assert!(!second.contains("Note: the on-prem route"), "the route caveat comes only with its creation:\n{second}");
    assert!(second.contains("+$0.0000/hour, +$0.00/month (before $1.0454/hour, after $1.0454/hour)"), "{second}");
    assert!(
        second.contains("2 × m6i.2xlarge (8 vCPU, 32 GiB) in the private subnet of ap-southeast-2a"),
        "existing subnets are followed by their AWS id:\n{second}"
    );

    edit(Path::new(file), "autoscaling = { min = 0, max = 2 }", "autoscaling = { min = 0, max = 4 }");
    let scaled = harness.tether_ok(&["plan", file]);
    assert_eq!(summary_line(&scaled), "Plan: 0 to add, 1 to change, 0 to destroy.", "{scaled}");
    assert_eq!(headings(&scaled), ["cluster.node_pool.gpu will be updated in place"], "{scaled}");
    assert!(scaled.contains("~ spec.autoScaling.max = 2 -> 4"), "{scaled}");
    harness.tether_ok(&["apply", "--auto-approve", file]);

    // Untainted pools must keep two nodes in total, so a second untainted pool takes over before
    // `workers` goes; adding it is one create, and removing `workers` is then exactly one delete.
    let base = "\n[pools.base]\ninstance_type = \"m6i.2xlarge\"\nreplicas = 2\n";
    std::fs::write(file, std::fs::read_to_string(file).unwrap() + base).unwrap();
    let grown = harness.tether_ok(&["plan", file]);
    assert_eq!(summary_line(&grown), "Plan: 1 to add, 0 to change, 0 to destroy.", "{grown}");
    harness.tether_ok(&["apply", "--auto-approve", file]);

    let text = std::fs::read_to_string(file).unwrap();
    let start = text.find("[pools.workers]").unwrap();
    let end = text.find("[pools.gpu]").unwrap();
    std::fs::write(file, format!("{}{}", &text[..start], &text[end..])).unwrap();
    let shrunk = harness.tether_ok(&["plan", file]);
    assert_eq!(summary_line(&shrunk), "Plan: 0 to add, 0 to change, 1 to destroy.", "{shrunk}");
    assert_eq!(headings(&shrunk), ["cluster.node_pool.workers will be destroyed"], "{shrunk}");
    harness.tether_ok(&["apply", "--auto-approve", file]);
    assert!(harness.kube.get("hypershift.openshift.io/v1beta1", "NodePool", Some("hcp-ai"), "ai-workers").is_none());
    let last = harness.tether_ok(&["plan", file]);
    assert!(summary_line(&last).starts_with("No changes."), "{last}");
}

#[test]
fn kubectl_sees_cluster_and_pools() {
    let harness = Harness::start();
    let file = harness.example("ai-dev.toml");
    harness.tether_ok(&["apply", "--auto-approve", file.to_str().unwrap()]);
    let Some(kubectl) = kubectl() else { return };

    let output = Command::new(kubectl)
        .args([
            "--kubeconfig",
            harness.kubeconfig.to_str().unwrap(),
            "get",
            "hostedclusters,nodepools",
            "-A",
            "-o",
            "json",
        ])
        .output()
        .unwrap();
    assert!(output.status.success(), "{}", describe(&output));
    let list: serde_json::Value = serde_json::from_slice(&output.stdout).unwrap();
    let items = list["items"].as_array().unwrap();
    let find = |kind: &str, name: &str| {
        items
            .iter()
            .find(|item| item["kind"] == kind && item["metadata"]["name"] == name)
            .unwrap_or_else(|| panic!("{kind} {name} listed"))
    };
    let release = "quay.io/openshift-release-dev/ocp-release:4.21.12-x86_64";

    let cluster = find("HostedCluster", "ai");
    assert_eq!(cluster["metadata"]["namespace"], "hcp-ai");
    assert_eq!(cluster["spec"]["release"]["image"], release);
    assert!(cluster["spec"]["platform"]["aws"]["cloudProviderConfig"]["vpc"].as_str().unwrap().starts_with("vpc-"));

    let workers = find("NodePool", "ai-workers");
    assert_eq!(workers["spec"]["release"]["image"], release);
    assert_eq!(workers["spec"]["platform"]["aws"]["instanceType"], "m6i.2xlarge");
    assert_eq!(workers["spec"]["platform"]["aws"]["instanceProfile"], "ai-worker");
    assert_eq!(workers["spec"]["replicas"], 2);

    let gpu = find("NodePool", "ai-gpu");
    assert_eq!(gpu["spec"]["platform"]["aws"]["instanceType"], "g6.xlarge");
    assert_eq!(gpu["spec"]["autoScaling"], serde_json::json!({"min": 0, "max": 2}));
    assert!(gpu["spec"].get("replicas").is_none());
    assert_eq!(
        gpu["spec"]["taints"],
        serde_json::json!([{"key": "nvidia.com/gpu", "value": "present", "effect": "NoSchedule"}])
    );
    assert!(gpu["spec"]["platform"]["aws"]["subnet"]["id"].as_str().unwrap().starts_with("subnet-"));
}

#[test]
fn applied_objects_validate_against_crds() {
    // The CRD files are not part of the repository; CI provides them beside the checkout.
    let crds = match std::env::var_os("TETHER_CRD_DIR") {
        Some(dir) => std::path::PathBuf::from(dir),
        None => repository_root().join("../shared/reference/crds"),
    };
    assert!(
        crds.is_dir(),
        "the HyperShift and MachineConfig CRDs are expected in {}; set TETHER_CRD_DIR to their folder",
        crds.display()
    );
    let harness = Harness::start();
    let file = harness.example("ai-dev.toml");
    harness.tether_ok(&["apply", "--auto-approve", file.to_str().unwrap()]);

    let cases = [
        ("hostedclusters-Hypershift-Default.crd.yaml", "HostedCluster", Some("hcp-ai"), "ai"),
        ("nodepools-Default.crd.yaml", "NodePool", Some("hcp-ai"), "ai-gpu"),
        ("nodepools-Default.crd.yaml", "NodePool", Some("hcp-ai"), "ai-workers"),
        ("0000_80_machine-config_01_machineconfigs.crd.yaml", "MachineConfig", None, "99-master-tether-ai-dev-routes"),
    ];
    for (crd_file, kind, namespace, name) in cases {
        let schema = crd_schema(&crds.join(crd_file));
        let api_version = format!("{}/{}", schema.group, schema.version);
        let mut object =
            harness.kube.get(&api_version, kind, namespace, name).unwrap_or_else(|| panic!("{kind} {name} exists"));
        strip_server_fields(&mut object);
        let validator = jsonschema::validator_for(&schema.openapi).unwrap();
        let errors: Vec<String> =
            validator.iter_errors(&object).map(|error| format!("{} at {}", error, error.instance_path)).collect();
        assert!(errors.is_empty(), "{kind} {name} does not match its CRD:\n{}", errors.join("\n"));
    }
}

#[test]
fn machine_config_carries_dispatcher_script() {
    let harness = Harness::start();
    let file = harness.example("ai-dev.toml");
    harness.tether_ok(&["apply", "--auto-approve", file.to_str().unwrap()]);

    let config = harness
        .kube
        .get("machineconfiguration.openshift.io/v1", "MachineConfig", None, "99-master-tether-ai-dev-routes")
        .expect("route MachineConfig exists");
    assert_eq!(config["metadata"]["labels"]["machineconfiguration.openshift.io/role"], "master");
    let file = &config["spec"]["config"]["storage"]["files"][0];
    assert_eq!(file["mode"], 493);
    assert_eq!(file["path"], "/etc/NetworkManager/dispatcher.d/30-tether-ai-dev-routes");
    let source = file["contents"]["source"].as_str().unwrap();
    let payload = source.strip_prefix("data:text/plain;charset=utf-8;base64,").expect("base64 data URL");
    let script = String::from_utf8(base64::engine::general_purpose::STANDARD.decode(payload).unwrap()).unwrap();
    assert!(script.starts_with("#!/bin/bash\n"), "{script}");
    assert!(script.contains("ip route replace 10.1.0.0/16 via 192.168.6.1 dev br-ex"), "{script}");
}

#[test]
fn pull_secret_never_printed_or_stored() {
    let harness = Harness::start();
    let file = harness.example("ai-dev.toml");
    let file = file.to_str().unwrap();
    let secret = std::fs::read_to_string(harness.dir.path().join("pull-secret.example.json")).unwrap();
    let auth = "ZmFrZS11c2VyOmZha2UtcGFzc3dvcmQtbm90LWEtcmVhbC1zZWNyZXQ=";
    let encoded = base64::engine::general_purpose::STANDARD.encode(&secret);

    let mut outputs = Vec::new();
    for args in [vec!["plan", file], vec!["apply", "--auto-approve", file], vec!["-vv", "plan", file]] {
        let output = harness.tether(&args);
        assert!(output.status.success(), "{}", describe(&output));
        outputs.push(describe(&output));
    }
    outputs.push(std::fs::read_to_string(harness.dir.path().join(".tether/ai-dev.state.json")).unwrap());
    for text in &outputs {
        assert!(!text.contains(auth), "the registry credential leaked:\n{text}");
        assert!(!text.contains(&encoded), "the base64 pull secret leaked:\n{text}");
    }
    assert!(outputs[0].contains("(sensitive, sha256:"), "the plan shows the masked secret:\n{}", outputs[0]);
}

#[test]
fn apply_without_terminal_refuses() {
    let harness = Harness::start();
    let file = harness.example("ai-dev.toml");
    let output = harness.tether(&["apply", file.to_str().unwrap()]);
    assert_eq!(output.status.code(), Some(1), "{}", describe(&output));
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(stderr.contains("--auto-approve"), "{stderr}");
    assert!(harness.kube.get("v1", "Namespace", None, "hcp-ai").is_none(), "nothing was applied");
}

#[test]
fn failed_change_names_resource_and_keeps_state() {
    let harness = Harness::start();
    let file = harness.example("ai-dev.toml");
    // Every write of a HostedCluster fails with a server error; the AWS side and the other
    // cluster objects must still be applied and recorded.
    harness.kube.inject_fault(tether_testkit::kube::Fault::fail(500).on("PATCH", "/hostedclusters/").times(1000));
    let output = harness.tether(&["apply", "--auto-approve", file.to_str().unwrap()]);
    assert_eq!(output.status.code(), Some(1), "{}", describe(&output));
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(stderr.contains("cluster.hosted_cluster.ai"), "{stderr}");
    assert!(stderr.contains("cluster.node_pool.gpu: skipped because cluster.hosted_cluster.ai failed"), "{stderr}");

    let state: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(harness.dir.path().join(".tether/ai-dev.state.json")).unwrap())
            .unwrap();
    let resources = state["resources"].as_object().unwrap();
    assert!(resources.contains_key("aws.vpc.main"), "finished changes are recorded");
    assert!(resources.contains_key("cluster.secret.pull-secret"));
    assert!(!resources.contains_key("cluster.hosted_cluster.ai"));
}

/// Finds kubectl on this machine, or prints a note and returns `None`.
fn kubectl() -> Option<&'static str> {
    let path = "/usr/bin/kubectl";
    if Path::new(path).exists() {
        Some(path)
    } else {
        eprintln!("skipping the kubectl checks: {path} is missing");
        None
    }
}

struct CrdSchema {
    group: String,
    version: String,
    openapi: serde_json::Value,
}

/// Reads the storage version's `openAPIV3Schema` from a CRD file.
fn crd_schema(path: &Path) -> CrdSchema {
    let text = std::fs::read_to_string(path).unwrap_or_else(|error| panic!("{}: {error}", path.display()));
    let crd: serde_json::Value = serde_yaml::from_str(&text).unwrap();
    let version =
        crd["spec"]["versions"].as_array().unwrap().iter().find(|version| version["storage"] == true).unwrap();
    CrdSchema {
        group: crd["spec"]["group"].as_str().unwrap().to_owned(),
        version: version["name"].as_str().unwrap().to_owned(),
        openapi: version["schema"]["openAPIV3Schema"].clone(),
    }
}

/// Removes what the API server adds, so only what tether sent is validated.
fn strip_server_fields(object: &mut serde_json::Value) {
    if let Some(metadata) = object["metadata"].as_object_mut() {
        for key in ["uid", "resourceVersion", "creationTimestamp", "generation", "managedFields"] {
            metadata.remove(key);
        }
    }
    if let Some(map) = object.as_object_mut() {
        map.remove("status");
    }
}

#[test]
fn plan_json_carries_cost_and_placement() {
    let harness = Harness::start();
    let file = harness.example("ai-dev.toml");

    let stdout = harness.tether_ok(&["plan", "--json", file.to_str().unwrap()]);

    let plan: serde_json::Value = serde_json::from_str(&stdout).expect("plan --json prints JSON");
    let cost = &plan["cost"];
    assert_eq!(cost["estimate"], true);
    assert_eq!(cost["region"], "ap-southeast-2");
    assert_eq!(cost["prices"]["as_of"], "2025-06-01");
    assert_eq!(cost["change"]["hourly_at_rest"], 1.0454);
    assert_eq!(cost["change"]["monthly_at_rest"], 763.142);
    assert_eq!(cost["after"]["unpriced"], serde_json::json!(["cluster.node_pool.gpu"]));
    assert_eq!(
        plan["placement"]["management_cluster"][1]["detail"],
        "8Gi persistent volume on storage class `lvms-vg1`"
    );
    assert_eq!(plan["notes"].as_array().map(Vec::len), Some(1), "the route caveat: {}", plan["notes"]);
}

#[test]
fn other_environments_objects_not_taken() {
    let harness = Harness::start();
    let dev = harness.example("ai-dev.toml");
    harness.tether_ok(&["apply", "--auto-approve", dev.to_str().unwrap()]);
    // A second file with the same cluster names under another environment name, and its own state.
    let other = harness.dir.path().join("ai-other.toml");
    std::fs::copy(&dev, &other).unwrap();
    support::edit(&other, "name = \"ai-dev\"", "name = \"ai-other\"");

    let output = harness.tether(&["apply", "--auto-approve", other.to_str().unwrap()]);

    assert_eq!(output.status.code(), Some(1), "{}", support::describe(&output));
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        stderr.contains("Namespace hcp-ai already exists and belongs to tether environment `ai-dev`, not `ai-other`"),
        "{stderr}"
    );
    let namespace = harness.kube.get("v1", "Namespace", None, "hcp-ai").expect("the namespace exists");
    assert_eq!(namespace["metadata"]["labels"]["tether.dev/environment"], "ai-dev", "its labels are unchanged");
    let plan = harness.tether(&["plan", "--detailed-exitcode", dev.to_str().unwrap()]);
    assert_eq!(plan.status.code(), Some(0), "ai-dev still plans no changes:\n{}", support::describe(&plan));
}
