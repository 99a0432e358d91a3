//! End-to-end tests of applies killed with SIGKILL while their state lives on the management
//! cluster (`--state-backend kubernetes`): the next plan shows only what remains, and the next
//! apply converges without duplicating any resource.
//!
//! moto must be installed first (`scripts/emulators install`; `scripts/test` does it).

mod support;

use std::collections::{BTreeMap, BTreeSet};
use std::time::{Duration, Instant};

use base64::Engine as _;
use serde_json::Value;
use support::{Harness, describe};
use tether_testkit::kube::Fault;

const NAMESPACE: &str = "hcp-ai";
const STATE_SECRET: &str = "tether-state-ai-dev";
const LEASE_NAME: &str = "tether-lock-ai-dev";

/// Polls until `done` returns true, failing after two minutes.
fn wait_until(what: &str, mut done: impl FnMut() -> bool) {
    let started = Instant::now();
    while !done() {
        assert!(started.elapsed() < Duration::from_secs(120), "timed out waiting until {what}");
        std::thread::sleep(Duration::from_millis(20));
    }
}

/// Reads the state from its Secret, or `None` while the Secret does not exist.
fn recorded_state(harness: &Harness) -> Option<Value> {
    let secret = harness.kube.get("v1", "Secret", Some(NAMESPACE), STATE_SECRET)?;
    let encoded = secret["data"]["state.json"].as_str()?;
    let bytes = base64::engine::general_purpose::STANDARD.decode(encoded).expect("the state is base64");
    Some(serde_json::from_slice(&bytes).expect("the state Secret holds whole JSON"))
}

fn recorded_addresses(harness: &Harness) -> BTreeSet<String> {
    let state = recorded_state(harness);
    let resources = state.as_ref().and_then(|state| state["resources"].as_object());
    resources.map(|resources| resources.keys().cloned().collect()).unwrap_or_default()
}

fn lease_holder(harness: &Harness) -> Option<String> {
    let lease = harness.kube.get("coordination.k8s.io/v1", "Lease", Some(NAMESPACE), LEASE_NAME)?;
    lease["spec"]["holderIdentity"].as_str().map(str::to_owned)
}

/// Returns the plan in its JSON form.
fn plan_json(harness: &Harness, file: &str) -> Value {
    let stdout = harness.tether_ok(&["plan", "--json", "--state-backend", "kubernetes", file]);
    serde_json::from_str(&stdout).expect("the plan is JSON")
}

/// Returns the addresses of the plan's changes with `action`.
fn planned(plan: &Value, action: &str) -> BTreeSet<String> {
    let changes = plan["resource_changes"].as_array().expect("resource_changes");
    let matching = changes.iter().filter(|change| action == "any" || change["action"] == action);
    matching.map(|change| change["address"].as_str().unwrap().to_owned()).collect()
}

/// Lists the EC2 resources per `tether.dev/address` tag and resource type, from one DescribeTags
/// call that does not go through tether.
fn tagged_ec2_resources(harness: &Harness) -> BTreeMap<String, Vec<String>> {
    use aws_sdk_ec2::config::{BehaviorVersion, Credentials, Region};
    use aws_sdk_ec2::types::Filter;

    let config = aws_sdk_ec2::Config::builder()
        .behavior_version(BehaviorVersion::latest())
        .endpoint_url(harness.moto.endpoint())
        .region(Region::new("ap-southeast-2"))
        .credentials_provider(Credentials::new("testing", "testing", None, None, "moto"))
        .build();
    let client = aws_sdk_ec2::Client::from_conf(config);
    let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
    let tags = runtime
        .block_on(
            client
                .describe_tags()
                .filters(Filter::builder().name("key").values("tether.dev/address").build())
                .max_results(1000)
                .send(),
        )
        .expect("DescribeTags succeeds");

    // The subnet router's root volume carries the router's tags, so the key includes the type.
    let mut by_address: BTreeMap<String, Vec<String>> = BTreeMap::new();
    for tag in tags.tags() {
        let (Some(address), Some(id)) = (tag.value(), tag.resource_id()) else { continue };
        let resource_type = tag.resource_type().map_or("unknown", |resource_type| resource_type.as_str());
        by_address.entry(format!("{address} ({resource_type})")).or_default().push(id.to_owned());
    }
    by_address
}

/// Terminated instances and deleted NAT gateways keep their tags in EC2; none may exist here,
/// because nothing in these applies deletes a resource.
fn assert_no_duplicates(harness: &Harness, file: &str, kill_point: &str) {
    for (address, ids) in tagged_ec2_resources(harness) {
        assert_eq!(ids.len(), 1, "{kill_point}: {address} exists more than once in EC2: {ids:?}");
    }
    let drift = harness.tether(&["drift", "--format", "json", "--state-backend", "kubernetes", file]);
    assert_eq!(drift.status.code(), Some(0), "{kill_point}: no resource outside the state:\n{}", describe(&drift));
    // Cluster objects have fixed names, so a second copy cannot exist; each must exist once.
    for name in ["ai-workers", "ai-gpu"] {
        let pool = harness.kube.get("hypershift.openshift.io/v1beta1", "NodePool", Some(NAMESPACE), name);
        assert!(pool.is_some(), "{kill_point}: the NodePool {name} exists");
    }
}

/// Where an apply is killed: after the Lease is taken and before the first record, or once the
/// state records at least this many resources.
#[derive(Debug, Clone, Copy)]
enum KillPoint {
    LockTaken,
    Recorded(usize),
}

fn kill_apply(harness: &Harness, file: &str, point: KillPoint) -> u32 {
    // The history record that ends the apply (a replace of its ConfigMap) is held for 5 s, so the
    // apply cannot exit before the kill even when a loaded machine runs the polling below late.
    // The fault is injected first because the first matching fault wins. The apply is killed
    // before that write, so the fault delays the next apply's record once instead.
    harness.kube.inject_fault(Fault::delay(Duration::from_secs(5)).on("PUT", "/configmaps/tether-history-"));
    // Every other request to the management cluster takes 30 ms, so each state write does too,
    // and the polling below observes most counts before the next change is recorded.
    harness.kube.inject_fault(Fault::delay(Duration::from_millis(30)).times(u32::MAX));
    let mut child = harness
        .command(&["apply", "--auto-approve", "--parallelism", "1", "--state-backend", "kubernetes", file])
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn()
        .expect("tether starts");
    match point {
        KillPoint::LockTaken => wait_until("the Lease is taken", || lease_holder(harness).is_some()),
        KillPoint::Recorded(count) => {
            wait_until(&format!("{count} resources are recorded"), || recorded_addresses(harness).len() >= count);
        }
    }
    let exited = child.try_wait().expect("the apply's status can be read");
    assert!(exited.is_none(), "the apply ended before the kill at {point:?}: {exited:?}");
    child.kill().expect("SIGKILL is sent");
    child.wait().expect("the killed process is reaped");
    child.id()
}

#[test]
fn killed_kubernetes_apply_converges() {
    let (resources, creates) = {
        let harness = Harness::start();
        let file = harness.example("ai-dev.toml");
        let plan = plan_json(&harness, file.to_str().unwrap());
        (planned(&plan, "any"), planned(&plan, "create"))
    };
    let count = resources.len();
    let points = [
        KillPoint::LockTaken,
        KillPoint::Recorded(1),
        KillPoint::Recorded(count / 4),
        KillPoint::Recorded(count / 2),
        KillPoint::Recorded(count * 3 / 4),
        KillPoint::Recorded(count - 1),
    ];

    for (index, point) in points.into_iter().enumerate() {
        let harness = Harness::start();
        let file = harness.example("ai-dev.toml");
        let file = file.to_str().unwrap();
        let kill_point = format!("kill at {point:?}");
        let pid = kill_apply(&harness, file, point);

        let recorded = recorded_addresses(&harness);
        let plan = plan_json(&harness, file);
        let remaining: BTreeSet<String> = creates.difference(&recorded).cloned().collect();
        let to_add = planned(&plan, "create");
        let to_update = planned(&plan, "update");
        let to_do: BTreeSet<String> = to_add.union(&to_update).cloned().collect();
        let summary = &plan["summary"];
        let destroyed: BTreeSet<String> =
            planned(&plan, "delete").union(&planned(&plan, "replace")).cloned().collect();
        assert_eq!(
            summary["destroy"],
            0,
            "{kill_point}: {} recorded, yet {summary}: {destroyed:?}\n{:#}",
            recorded.len(),
            plan["resource_changes"]
        );
        // With one change in flight, at most one resource exists without a record. The plan adopts
        // it by its tags instead of creating it again, or updates it if the kill cut its change
        // short (e.g. a role whose inline policy was not put yet). An association that exists with
        // its VPC (the DHCP options') is an update too.
        assert!(to_do.is_subset(&remaining), "{kill_point}: plans {to_do:?}, but only {remaining:?} remain");
        assert!(to_do.len() + 1 >= remaining.len(), "{kill_point}: plans {to_do:?}, yet {remaining:?} remain");

        let holder = lease_holder(&harness).unwrap_or_else(|| panic!("{kill_point}: the Lease is still held"));
        if index == 0 {
            let refused = harness.tether(&["apply", "--auto-approve", "--state-backend", "kubernetes", file]);
            assert_eq!(refused.status.code(), Some(1), "{}", describe(&refused));
            let stderr = String::from_utf8_lossy(&refused.stderr);
            assert!(stderr.contains(&format!("(pid {pid})")), "the dead holder is named:\n{stderr}");
        }
        harness.tether_ok(&["force-unlock", &holder, "--state-backend", "kubernetes", file]);

        harness.tether_ok(&["apply", "--auto-approve", "--state-backend", "kubernetes", file]);
        let last = harness.tether(&["plan", "--detailed-exitcode", "--state-backend", "kubernetes", file]);
        assert_eq!(last.status.code(), Some(0), "{kill_point}: the next apply converges:\n{}", describe(&last));
        assert_eq!(recorded_addresses(&harness), resources, "{kill_point}: the state records every resource");
        assert_no_duplicates(&harness, file, &kill_point);
        assert!(!harness.dir.path().join(".tether/ai-dev.state.json").exists(), "{kill_point}: no local state");
    }
}
