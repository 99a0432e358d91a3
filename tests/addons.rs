//! End-to-end tests of add-ons: the `tether` binary against moto, a Kubernetes test server playing
//! the management cluster and HyperShift, and a second one playing the hosted cluster.
//!
//! moto must be installed first (`scripts/emulators install`; `scripts/test` does it).

mod support;

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Duration;

use support::{Harness, describe, edit, repository_root};
use tether_testkit::kube::{HostedClusterPlay, KubeTestServer, ResourceType};

const SUBSCRIPTIONS: &str = "operators.coreos.com/v1alpha1";
const HOSTED_CLUSTERS: &str = "hypershift.openshift.io/v1beta1";

/// Finds the summary line of `tether plan` output.
fn summary_line(plan: &str) -> &str {
    plan.lines().find(|line| line.starts_with("Plan: ") || line.starts_with("No changes.")).unwrap_or("")
}

/// Lists the resource headings of a plan, e.g. `hosted.subscription.gpu-operator will be updated in place`.
fn headings(plan: &str) -> Vec<&str> {
    plan.lines().filter_map(|line| line.strip_prefix("  # ")).filter(|line| !line.starts_with('(')).collect()
}

/// The emulators plus a hosted-cluster test server that the management server's HostedCluster
/// points at once it is Available, `delay` after tether creates it.
struct AddonHarness {
    harness: Harness,
    hosted: KubeTestServer,
    file: PathBuf,
}

impl AddonHarness {
    fn start(delay: Duration) -> AddonHarness {
        let harness = Harness::start();
        // A NodeFeatureRule is an operand that no preset makes, served as NFD's CRD serves it.
        let rule = ResourceType::namespaced("nfd.openshift.io/v1alpha1", "NodeFeatureRule", "nodefeaturerules");
        let hosted =
            KubeTestServer::builder().resource(rule).start_in_background().expect("hosted-cluster test server starts");
        harness.kube.play_hosted_cluster(HostedClusterPlay {
            namespace: "hcp-ai".to_owned(),
            name: "ai".to_owned(),
            kubeconfig: hosted.kubeconfig(),
            delay,
        });
        let examples = repository_root().join("examples");
        std::fs::copy(examples.join("ai-dev.toml"), harness.dir.path().join("ai-dev.toml")).expect("base copied");
        let file = harness.example("ai-dev-addons.toml");
        AddonHarness { harness, hosted, file }
    }

    fn file(&self) -> &str {
        self.file.to_str().expect("UTF-8 path")
    }

    fn plan(&self) -> String {
        self.harness.tether_ok(&["plan", self.file()])
    }

    fn apply_and_wait(&self) -> String {
        self.harness.tether_ok(&["apply", "--auto-approve", "--wait", "--timeout", "2m", self.file()])
    }

    /// Runs `tether plan --json` and checks the output against `schemas/plan.schema.json`.
    fn json_plan(&self) -> serde_json::Value {
        let json = self.harness.tether_ok(&["plan", "--json", self.file()]);
        let plan: serde_json::Value = serde_json::from_str(&json).expect("JSON plan");
        let schema_text = std::fs::read_to_string(repository_root().join("schemas/plan.schema.json")).unwrap();
        let schema: serde_json::Value = serde_json::from_str(&schema_text).unwrap();
        let validator = jsonschema::validator_for(&schema).expect("the plan schema compiles");
        let problems: Vec<String> = validator.iter_errors(&plan).map(|error| error.to_string()).collect();
        assert!(problems.is_empty(), "{problems:#?}");
        plan
    }

    /// Runs `kubectl ARGS --type merge -p PATCH` against the hosted cluster, as another client.
    fn kubectl_hosted(&self, args: &[&str], patch: &str) -> std::process::Output {
        let kubeconfig = self.harness.dir.path().join("hosted-kubeconfig");
        self.hosted.write_kubeconfig(&kubeconfig).unwrap();
        Command::new("kubectl")
            .args(["--kubeconfig", kubeconfig.to_str().unwrap()])
            .args(args)
            .args(["--type", "merge", "-p", patch])
            .output()
            .expect("kubectl runs")
    }

    fn subscription(&self, namespace: &str, package: &str) -> Option<serde_json::Value> {
        self.hosted.get(SUBSCRIPTIONS, "Subscription", Some(namespace), package)
    }
}

#[test]
fn addons_apply_converge_upgrade_and_remove() {
    let setup = AddonHarness::start(Duration::ZERO);

    let first = setup.plan();
    assert!(first.contains("# hosted.subscription.gpu-operator will be created"), "{first}");
    assert!(
        first.contains(
            "waits on cluster.hosted_cluster.ai to report Available (it is created by this plan); its current form in the hosted cluster is known after apply"
        ),
        "{first}"
    );
    assert!(
        first.contains("hosted.operand.gpu-operator-cluster-policy: does nothing until a GPU node exists: NodePool ai-gpu has no nodes now"),
        "{first}"
    );
    assert!(!first.contains("openshift-ai-data-science-cluster: does nothing"), "{first}");
    let first_json = setup.json_plan();
    let kinds: Vec<&str> =
        first_json["disruption"].as_array().unwrap().iter().filter_map(|item| item["description"].as_str()).collect();
    assert_eq!(
        kinds.iter().filter(|text| text.starts_with("waits on cluster.hosted_cluster.ai")).count(),
        12,
        "{kinds:#?}"
    );

    setup.apply_and_wait();
    let gpu = setup.subscription("nvidia-gpu-operator", "gpu-operator-certified").expect("GPU Operator Subscription");
    assert_eq!(gpu["spec"]["channel"], "stable");
    assert_eq!(gpu["spec"]["source"], "certified-operators");
    assert_eq!(gpu["spec"]["sourceNamespace"], "openshift-marketplace");
    assert_eq!(gpu["spec"]["installPlanApproval"], "Automatic");
    assert!(setup.subscription("openshift-nfd", "nfd").is_some());
    assert!(setup.subscription("redhat-ods-operator", "rhods-operator").is_some());
    let group = setup.hosted.get("operators.coreos.com/v1", "OperatorGroup", Some("openshift-ai"), "openshift-ai");
    assert!(group.is_none(), "the OperatorGroup lives in the install namespace");
    let group = setup
        .hosted
        .get("operators.coreos.com/v1", "OperatorGroup", Some("nvidia-gpu-operator"), "gpu-operator")
        .expect("GPU Operator OperatorGroup");
    assert_eq!(group["spec"]["targetNamespaces"], serde_json::json!(["nvidia-gpu-operator"]));
    let policy = setup.hosted.get("nvidia.com/v1", "ClusterPolicy", None, "gpu-cluster-policy").expect("ClusterPolicy");
    assert_eq!(policy["spec"]["driver"]["enabled"], true);
    assert!(
        setup
            .hosted
            .get("nfd.openshift.io/v1", "NodeFeatureDiscovery", Some("openshift-nfd"), "nfd-instance")
            .is_some()
    );
    let science = setup.hosted.get("datasciencecluster.opendatahub.io/v1", "DataScienceCluster", None, "default-dsc");
    assert!(science.is_some());
    assert!(
        setup
            .harness
            .kube
            .get(SUBSCRIPTIONS, "Subscription", Some("nvidia-gpu-operator"), "gpu-operator-certified")
            .is_none(),
        "add-ons go to the hosted cluster, not the management cluster"
    );
    check_with_kubectl(&setup);

    let second = setup.plan();
    assert_eq!(summary_line(&second), "No changes. Environment `ai-dev` matches its file.", "{second}");
    olm_writes_are_not_changes(&setup);

    let file = Path::new(setup.file());
    edit(file, "[addons.gpu-operator]\nchannel = \"stable\"", "[addons.gpu-operator]\nchannel = \"v25.3\"");
    let upgrade = setup.plan();
    assert_eq!(summary_line(&upgrade), "Plan: 0 to add, 1 to change, 0 to destroy.", "{upgrade}");
    assert_eq!(headings(&upgrade), ["hosted.subscription.gpu-operator will be updated in place"], "{upgrade}");
    assert!(upgrade.contains("~ spec.channel = \"stable\" -> \"v25.3\""), "{upgrade}");
    assert!(
        upgrade.contains("upgrades operator gpu-operator-certified in place (channel stable -> v25.3)"),
        "{upgrade}"
    );
    setup.apply_and_wait();
    let gpu = setup.subscription("nvidia-gpu-operator", "gpu-operator-certified").expect("GPU Operator Subscription");
    assert_eq!(gpu["spec"]["channel"], "v25.3");

    starting_csv_change_is_upgrade(&setup);
    drift_on_subscription(&setup);
    remove_openshift_ai(&setup);
    operands_inline_and_from_file(&setup);
}

/// Writes what OLM writes on a Subscription: a status with the installed CSV and OLM's package
/// label. tether compares Subscriptions on the fields it sets, so neither is a change or drift.
fn olm_writes_are_not_changes(setup: &AddonHarness) {
    let status = serde_json::json!({
        "state": "AtLatestKnown",
        "currentCSV": "gpu-operator-certified.v25.3.0",
        "installedCSV": "gpu-operator-certified.v25.3.0",
        "conditions": [{"type": "CatalogSourcesUnhealthy", "status": "False"}],
    });
    setup
        .hosted
        .set_status(SUBSCRIPTIONS, "Subscription", Some("nvidia-gpu-operator"), "gpu-operator-certified", status)
        .expect("Subscription status written");
    let label = r#"{"metadata":{"labels":{"operators.coreos.com/gpu-operator-certified.nvidia-gpu-operator":""}}}"#;
    let output =
        setup.kubectl_hosted(&["patch", "subscription", "gpu-operator-certified", "-n", "nvidia-gpu-operator"], label);
    assert!(output.status.success(), "{}", describe(&output));

    let plan = setup.plan();
    assert_eq!(summary_line(&plan), "No changes. Environment `ai-dev` matches its file.", "{plan}");
    let drift = setup.harness.tether(&["drift", setup.file()]);
    assert_eq!(drift.status.code(), Some(0), "{}", describe(&drift));
}

/// Pins a starting CSV: one Subscription update, shown as an operator upgrade. The pin is taken
/// out again without applying it, and the plan is empty again.
fn starting_csv_change_is_upgrade(setup: &AddonHarness) {
    let file = Path::new(setup.file());
    let pin = "starting_csv = \"gpu-operator-certified.v25.3.0\"\n";
    edit(file, "channel = \"v25.3\"\n", &format!("channel = \"v25.3\"\n{pin}"));

    let upgrade = setup.plan();
    assert_eq!(summary_line(&upgrade), "Plan: 0 to add, 1 to change, 0 to destroy.", "{upgrade}");
    assert_eq!(headings(&upgrade), ["hosted.subscription.gpu-operator will be updated in place"], "{upgrade}");
    assert!(upgrade.contains("+ spec.startingCSV = \"gpu-operator-certified.v25.3.0\""), "{upgrade}");
    assert!(
        upgrade.contains(
            "upgrades operator gpu-operator-certified in place (starting CSV none -> gpu-operator-certified.v25.3.0)"
        ),
        "{upgrade}"
    );

    edit(file, pin, "");
    let reverted = setup.plan();
    assert!(summary_line(&reverted).starts_with("No changes."), "{reverted}");
}

/// Replaces the GPU Operator's ClusterPolicy with one read from a JSON file and adds an inline
/// NodeFeatureRule to Node Feature Discovery: one update and one create, both in the hosted
/// cluster, and then an empty plan.
fn operands_inline_and_from_file(setup: &AddonHarness) {
    let policy = serde_json::json!({
        "apiVersion": "nvidia.com/v1",
        "kind": "ClusterPolicy",
        "metadata": {"name": "gpu-cluster-policy"},
        "spec": {"driver": {"enabled": false}, "devicePlugin": {"enabled": true}},
    });
    let policy_file = setup.harness.dir.path().join("cluster-policy.json");
    std::fs::write(&policy_file, serde_json::to_string_pretty(&policy).unwrap()).unwrap();
    let mut text = std::fs::read_to_string(setup.file()).unwrap();
    text.push_str(
        "\n[addons.gpu-operator.operands.cluster-policy]\nfile = \"cluster-policy.json\"\n\
         \n[addons.node-feature-discovery.operands.gpu-rule]\n\
         api_version = \"nfd.openshift.io/v1alpha1\"\nkind = \"NodeFeatureRule\"\nname = \"nvidia-gpu\"\n\
         namespace = \"openshift-nfd\"\n\
         spec = { rules = [{ name = \"nvidia-gpu\", labels = { \"nvidia.com/gpu.present\" = \"true\" } }] }\n",
    );
    std::fs::write(setup.file(), text).unwrap();

    let plan = setup.plan();
    assert_eq!(summary_line(&plan), "Plan: 1 to add, 1 to change, 0 to destroy.", "{plan}");
    assert!(
        plan.contains("hosted.operand.gpu-operator-cluster-policy: does nothing until a GPU node exists"),
        "{plan}"
    );
    assert_eq!(
        headings(&plan),
        [
            "hosted.operand.gpu-operator-cluster-policy will be updated in place",
            "hosted.operand.node-feature-discovery-gpu-rule will be created",
        ],
        "{plan}"
    );

    setup.apply_and_wait();
    let policy = setup.hosted.get("nvidia.com/v1", "ClusterPolicy", None, "gpu-cluster-policy").expect("ClusterPolicy");
    assert_eq!(policy["spec"]["driver"]["enabled"], false);
    assert!(policy["spec"].get("dcgm").is_none(), "the file's spec replaces the preset's: {policy}");
    let rule = setup
        .hosted
        .get("nfd.openshift.io/v1alpha1", "NodeFeatureRule", Some("openshift-nfd"), "nvidia-gpu")
        .expect("NodeFeatureRule");
    assert_eq!(rule["spec"]["rules"][0]["labels"]["nvidia.com/gpu.present"], "true");
    assert_eq!(rule["metadata"]["labels"]["app.kubernetes.io/managed-by"], "tether");
    let last = setup.plan();
    assert!(summary_line(&last).starts_with("No changes."), "{last}");
}

/// Removes the OpenShift AI add-on: four deletes, operand first and Namespace last, with the note
/// that the operator's ClusterServiceVersion stays with OLM.
fn remove_openshift_ai(setup: &AddonHarness) {
    let text = std::fs::read_to_string(setup.file()).unwrap();
    let start = text.find("[addons.openshift-ai]").unwrap();
    let end = text.find("# An operand can be changed").unwrap();
    std::fs::write(setup.file(), format!("{}{}", &text[..start], &text[end..])).unwrap();

    let removal = setup.plan();
    assert_eq!(summary_line(&removal), "Plan: 0 to add, 0 to change, 4 to destroy.", "{removal}");
    assert!(
        removal.contains(
            "hosted.subscription.openshift-ai: leaves the installed operator rhods-operator to OLM: tether does not delete its ClusterServiceVersion in redhat-ods-operator"
        ),
        "{removal}"
    );

    // For a delete, `depends_on` lists what is deleted after it.
    let plan = setup.json_plan();
    let deleted_after = |address: &str| -> Vec<String> {
        let changes = plan["resource_changes"].as_array().expect("changes listed");
        let change = changes.iter().find(|change| change["address"] == address).expect("change listed");
        assert_eq!(change["action"], "delete", "{address}");
        let list = change["depends_on"].as_array().expect("depends_on listed");
        list.iter().map(|item| item.as_str().unwrap().to_owned()).collect()
    };
    let operand = deleted_after("hosted.operand.openshift-ai-data-science-cluster");
    assert!(operand.contains(&"hosted.subscription.openshift-ai".to_owned()), "{operand:?}");
    let subscription = deleted_after("hosted.subscription.openshift-ai");
    assert!(subscription.contains(&"hosted.operator_group.openshift-ai".to_owned()), "{subscription:?}");
    let group = deleted_after("hosted.operator_group.openshift-ai");
    assert!(group.contains(&"hosted.namespace.openshift-ai".to_owned()), "{group:?}");

    let output = setup.harness.tether(&["apply", "--auto-approve", setup.file()]);
    assert!(output.status.success(), "{}", describe(&output));
    let events = String::from_utf8_lossy(&output.stderr).into_owned() + &String::from_utf8_lossy(&output.stdout);
    let order = [
        "hosted.operand.openshift-ai-data-science-cluster",
        "hosted.subscription.openshift-ai",
        "hosted.operator_group.openshift-ai",
        "hosted.namespace.openshift-ai",
    ];
    let finished: Vec<usize> = order
        .iter()
        .map(|address| {
            events
                .lines()
                .position(|line| line.contains(address) && line.to_lowercase().contains("destroyed"))
                .unwrap_or_else(|| panic!("no finished delete of {address} in:\n{events}"))
        })
        .collect();
    assert!(finished.windows(2).all(|pair| pair[0] < pair[1]), "deletes out of order {finished:?}:\n{events}");

    assert!(setup.subscription("redhat-ods-operator", "rhods-operator").is_none());
    assert!(
        setup.hosted.get("datasciencecluster.opendatahub.io/v1", "DataScienceCluster", None, "default-dsc").is_none()
    );
    assert!(setup.subscription("nvidia-gpu-operator", "gpu-operator-certified").is_some());
    let last = setup.plan();
    assert!(summary_line(&last).starts_with("No changes."), "{last}");
}

/// Changes the GPU Operator's channel behind tether's back: `tether drift` reports it like any
/// other drift, and apply puts it back.
fn drift_on_subscription(setup: &AddonHarness) {
    let kubeconfig = setup.harness.dir.path().join("hosted-kubeconfig");
    setup.hosted.write_kubeconfig(&kubeconfig).unwrap();
    let patch = r#"{"spec":{"channel":"fast"}}"#;
    let output = Command::new("kubectl")
        .args(["--kubeconfig", kubeconfig.to_str().unwrap(), "patch", "subscription", "gpu-operator-certified"])
        .args(["-n", "nvidia-gpu-operator", "--type", "merge", "-p", patch])
        .output()
        .expect("kubectl runs");
    assert!(output.status.success(), "{}", describe(&output));

    let drift = setup.harness.tether(&["drift", setup.file()]);
    assert_eq!(drift.status.code(), Some(2), "{}", describe(&drift));
    let report = String::from_utf8_lossy(&drift.stdout);
    assert!(report.contains("hosted.subscription.gpu-operator"), "{report}");
    assert!(report.contains("spec.channel"), "{report}");

    setup.apply_and_wait();
    let gpu = setup.subscription("nvidia-gpu-operator", "gpu-operator-certified").expect("GPU Operator Subscription");
    assert_eq!(gpu["spec"]["channel"], "v25.3");
}

/// Lists the Subscriptions of the hosted cluster with kubectl, an independent client, when it is
/// installed.
fn check_with_kubectl(setup: &AddonHarness) {
    let Ok(probe) = Command::new("kubectl").arg("version").arg("--client").output() else { return };
    if !probe.status.success() {
        return;
    }
    let kubeconfig = setup.harness.dir.path().join("hosted-kubeconfig");
    setup.hosted.write_kubeconfig(&kubeconfig).unwrap();
    let output = Command::new("kubectl")
        .args(["--kubeconfig", kubeconfig.to_str().unwrap(), "get", "subscriptions", "-A", "-o", "json"])
        .output()
        .unwrap();
    assert!(output.status.success(), "{}", describe(&output));
    let list: serde_json::Value = serde_json::from_slice(&output.stdout).unwrap();
    let mut packages: Vec<&str> =
        list["items"].as_array().unwrap().iter().map(|item| item["spec"]["name"].as_str().unwrap()).collect();
    packages.sort_unstable();
    assert_eq!(packages, ["gpu-operator-certified", "nfd", "rhods-operator"]);
}

#[test]
fn addons_wait_for_hosted_cluster() {
    // Long enough that the HostedCluster is still not Available when `apply --wait` starts,
    // after two failed applies and a plan of a few seconds each.
    let setup = AddonHarness::start(Duration::from_secs(15));

    let output = setup.harness.tether(&["apply", "--auto-approve", setup.file()]);
    assert!(!output.status.success(), "apply without --wait must stop before the add-ons:\n{}", describe(&output));
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(stderr.contains("waiting on cluster.hosted_cluster.ai to report Available"), "{}", describe(&output));
    assert!(stderr.contains("tether apply --wait"), "{}", describe(&output));
    assert!(setup.harness.kube.get(HOSTED_CLUSTERS, "HostedCluster", Some("hcp-ai"), "ai").is_some());
    assert!(setup.subscription("nvidia-gpu-operator", "gpu-operator-certified").is_none());

    let waiting = setup.plan();
    assert!(waiting.contains("# hosted.subscription.gpu-operator will be created"), "{waiting}");
    assert!(
        waiting
            .contains("waits on cluster.hosted_cluster.ai to report Available (it reports no Available condition yet)"),
        "{waiting}"
    );

    let short = setup.harness.tether(&["apply", "--auto-approve", "--wait", "--timeout", "1s", setup.file()]);
    assert_eq!(short.status.code(), Some(1), "{}", describe(&short));
    let stderr = String::from_utf8_lossy(&short.stderr);
    assert!(stderr.contains("waiting on cluster.hosted_cluster.ai to report Available"), "{}", describe(&short));
    assert!(stderr.contains("timed out after 1"), "{}", describe(&short));
    assert!(setup.subscription("nvidia-gpu-operator", "gpu-operator-certified").is_none());

    let hosted_cluster = setup.harness.kube.get(HOSTED_CLUSTERS, "HostedCluster", Some("hcp-ai"), "ai").unwrap();
    assert!(hosted_cluster["status"]["kubeconfig"].is_null(), "not Available yet, so `--wait` has to wait");
    setup.apply_and_wait();
    assert!(setup.subscription("nvidia-gpu-operator", "gpu-operator-certified").is_some());
    let settled = setup.plan();
    assert_eq!(summary_line(&settled), "No changes. Environment `ai-dev` matches its file.", "{settled}");

    kubeconfig_follows_status_reference(&setup);
}

/// Points the HostedCluster's `status.kubeconfig` at another Secret: tether reads that Secret,
/// so a missing one is an error naming it, and once it exists the plan is empty again.
fn kubeconfig_follows_status_reference(setup: &AddonHarness) {
    let management = &setup.harness.kube;
    let current = management.get(HOSTED_CLUSTERS, "HostedCluster", Some("hcp-ai"), "ai").unwrap();
    let mut status = current["status"].clone();
    status["kubeconfig"] = serde_json::json!({"name": "ai-rotated-kubeconfig"});
    management.set_status(HOSTED_CLUSTERS, "HostedCluster", Some("hcp-ai"), "ai", status).unwrap();

    let output = setup.harness.tether(&["plan", setup.file()]);
    assert_eq!(output.status.code(), Some(1), "{}", describe(&output));
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        stderr.contains(
            "the kubeconfig Secret hcp-ai/ai-rotated-kubeconfig of cluster.hosted_cluster.ai is unusable: it does not exist"
        ),
        "{}",
        describe(&output)
    );

    management
        .create(serde_json::json!({
            "apiVersion": "v1",
            "kind": "Secret",
            "metadata": {"name": "ai-rotated-kubeconfig", "namespace": "hcp-ai"},
            "stringData": {"kubeconfig": setup.hosted.kubeconfig()},
        }))
        .expect("Secret created");
    let plan = setup.plan();
    assert_eq!(summary_line(&plan), "No changes. Environment `ai-dev` matches its file.", "{plan}");
}
