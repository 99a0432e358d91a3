//! kubectl 1.32 as an independent client of the test API server, and the server binary's
//! command-line contract. kubectl tests are skipped, with a printed reason, where
//! `/usr/bin/kubectl` is missing.

use std::io::{BufRead as _, BufReader, Write as _};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::time::{Duration, Instant};

use serde_json::{Value, json};
use tempfile::TempDir;
use tether_testkit::kube::KubeTestServer;

const KUBECTL: &str = "/usr/bin/kubectl";
const HYPERSHIFT: &str = "hypershift.openshift.io/v1beta1";

/// A background test server with a kubeconfig and a private kubectl cache directory.
struct Kubectl {
    server: KubeTestServer,
    directory: TempDir,
}

impl Kubectl {
    /// Starts a server, or returns `None` (after printing why) when kubectl is missing.
    fn start() -> Option<Kubectl> {
        if !Path::new(KUBECTL).exists() {
            eprintln!("skipping: {KUBECTL} is missing");
            return None;
        }
        let server = KubeTestServer::start_in_background().expect("test server starts");
        let directory = tempfile::tempdir().expect("temporary directory");
        server.write_kubeconfig(&directory.path().join("kubeconfig")).expect("kubeconfig written");
        Some(Kubectl { server, directory })
    }

    fn command(&self, args: &[&str]) -> Command {
        let mut command = Command::new(KUBECTL);
        command
            .arg("--kubeconfig")
            .arg(self.directory.path().join("kubeconfig"))
            .arg("--cache-dir")
            .arg(self.directory.path().join("cache"))
            .args(args)
            .stdin(Stdio::null());
        command
    }

    fn run(&self, args: &[&str]) -> Output {
        self.command(args).output().expect("kubectl runs")
    }

    /// Runs kubectl, asserts success and returns stdout.
    fn run_ok(&self, args: &[&str]) -> String {
        let output = self.run(args);
        assert!(output.status.success(), "kubectl {args:?} failed: {}", String::from_utf8_lossy(&output.stderr));
        String::from_utf8(output.stdout).expect("UTF-8 output")
    }

    /// Runs kubectl with `manifest` as JSON on stdin (for `-f -`).
    fn run_with_manifest(&self, args: &[&str], manifest: &Value) -> Output {
        let mut child = self
            .command(args)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("kubectl starts");
        let mut stdin = child.stdin.take().expect("stdin piped");
        stdin.write_all(manifest.to_string().as_bytes()).expect("manifest written");
        drop(stdin);
        child.wait_with_output().expect("kubectl finishes")
    }

    fn apply(&self, manifest: &Value, extra: &[&str]) -> Output {
        let mut args = vec!["apply", "--server-side", "-f", "-"];
        args.extend_from_slice(extra);
        self.run_with_manifest(&args, manifest)
    }
}

fn hosted_cluster(namespace: &str, name: &str, image: &str) -> Value {
    json!({
        "apiVersion": HYPERSHIFT,
        "kind": "HostedCluster",
        "metadata": {"name": name, "namespace": namespace},
        "spec": {"release": {"image": image}},
    })
}

fn assert_success(output: &Output) {
    assert!(output.status.success(), "kubectl failed: {}", String::from_utf8_lossy(&output.stderr));
}

#[test]
fn kubectl_get_all_namespaces() {
    let Some(kubectl) = Kubectl::start() else {
        return;
    };
    assert_success(&kubectl.run_with_manifest(
        &["create", "-f", "-"],
        &json!({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "clusters"}}),
    ));
    assert_success(&kubectl.apply(&hosted_cluster("clusters", "ai", "a"), &[]));
    assert_success(&kubectl.apply(&hosted_cluster("default", "ml", "a"), &[]));

    let table = kubectl.run_ok(&["get", "hc", "-A"]);
    let rows: Vec<Vec<&str>> = table.lines().map(|line| line.split_whitespace().collect()).collect();
    assert_eq!(rows[0][..2], ["NAMESPACE", "NAME"]);
    assert_eq!(rows[1][..2], ["clusters", "ai"]);
    assert_eq!(rows[2][..2], ["default", "ml"]);

    let names = kubectl.run_ok(&["get", "hostedclusters.hypershift.openshift.io", "-n", "clusters", "-o", "name"]);
    assert_eq!(names.trim(), "hostedcluster.hypershift.openshift.io/ai");
}

#[test]
fn kubectl_short_names() {
    let Some(kubectl) = Kubectl::start() else {
        return;
    };
    for short_name in ["ns", "cm", "sa", "cj", "hc", "hcs", "np", "nps", "mc", "mcp", "sub", "og"] {
        let output = kubectl.run(&["get", short_name]);
        assert!(output.status.success(), "kubectl get {short_name}: {}", String::from_utf8_lossy(&output.stderr));
    }
}

#[test]
fn kubectl_apply_server_side() {
    let Some(kubectl) = Kubectl::start() else {
        return;
    };
    let first = kubectl.apply(&hosted_cluster("default", "ai", "a"), &[]);
    assert_success(&first);
    assert!(String::from_utf8_lossy(&first.stdout).contains("serverside-applied"));

    let rival = kubectl.apply(&hosted_cluster("default", "ai", "b"), &["--field-manager", "other"]);
    assert!(!rival.status.success(), "a second manager conflicts");
    let message = String::from_utf8_lossy(&rival.stderr);
    assert!(message.contains("conflict with \"kubectl\""), "{message}");
    assert!(message.contains(".spec.release.image"), "{message}");

    assert_success(
        &kubectl.apply(&hosted_cluster("default", "ai", "b"), &["--field-manager", "other", "--force-conflicts"]),
    );
    let stored = kubectl.server.get(HYPERSHIFT, "HostedCluster", Some("default"), "ai").expect("stored");
    assert_eq!(stored["spec"]["release"]["image"], "b");
    assert_eq!(stored["metadata"]["generation"], 2);
}

#[test]
fn kubectl_wait_available() {
    let Some(kubectl) = Kubectl::start() else {
        return;
    };
    assert_success(&kubectl.apply(&hosted_cluster("default", "ai", "a"), &[]));

    let waiter = kubectl
        .command(&["wait", "--for=condition=Available", "hc/ai", "-n", "default", "--timeout=30s"])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("kubectl wait starts");
    std::thread::sleep(Duration::from_millis(500));
    kubectl.server.mark_hosted_cluster_available("default", "ai").expect("marked available");

    let output = waiter.wait_with_output().expect("kubectl wait finishes");
    assert_success(&output);
    assert!(String::from_utf8_lossy(&output.stdout).contains("condition met"));
}

#[test]
fn kubectl_status_patch_and_delete() {
    let Some(kubectl) = Kubectl::start() else {
        return;
    };
    assert_success(&kubectl.apply(&hosted_cluster("default", "ai", "a"), &[]));

    let status = r#"{"status":{"phase":"Ready"},"spec":{"release":{"image":"ignored"}}}"#;
    kubectl.run_ok(&["patch", "hc", "ai", "--subresource=status", "--type=merge", "-p", status]);
    let stored = kubectl.server.get(HYPERSHIFT, "HostedCluster", Some("default"), "ai").expect("stored");
    assert_eq!(stored["status"]["phase"], "Ready");
    assert_eq!(stored["spec"]["release"]["image"], "a");
    assert_eq!(stored["metadata"]["generation"], 1);

    kubectl.run_ok(&["delete", "hc", "ai", "--wait=true"]);
    assert!(kubectl.server.get(HYPERSHIFT, "HostedCluster", Some("default"), "ai").is_none());
}

#[test]
fn kubectl_label_selector() {
    let Some(kubectl) = Kubectl::start() else {
        return;
    };
    kubectl.run_ok(&["label", "ns", "default", "env=prod"]);
    kubectl.run_ok(&["label", "ns", "kube-public", "env=dev"]);

    let selected = kubectl.run_ok(&["get", "ns", "-l", "env in (prod,dev)", "-o", "name"]);
    assert_eq!(selected.lines().collect::<Vec<_>>(), ["namespace/default", "namespace/kube-public"]);
    let excluded = kubectl.run_ok(&["get", "ns", "-l", "env notin (prod)", "-o", "name"]);
    assert_eq!(
        excluded.lines().collect::<Vec<_>>(),
        ["namespace/kube-node-lease", "namespace/kube-public", "namespace/kube-system"]
    );
}

#[test]
fn kubectl_not_found_message() {
    let Some(kubectl) = Kubectl::start() else {
        return;
    };
    let output = kubectl.run(&["get", "hc", "missing"]);
    assert!(!output.status.success());
    let message = String::from_utf8_lossy(&output.stderr);
    assert!(
        message.contains("Error from server (NotFound): hostedclusters.hypershift.openshift.io \"missing\" not found"),
        "{message}"
    );
}

/// The server binary as a child process, stopped by its process id.
struct ServerProcess {
    child: Child,
}

impl ServerProcess {
    fn terminate(mut self) -> std::process::ExitStatus {
        let pid = self.child.id().to_string();
        let sent = Command::new("kill").args(["-TERM", &pid]).status().expect("kill runs");
        assert!(sent.success(), "SIGTERM delivered to {pid}");
        let deadline = Instant::now() + Duration::from_secs(10);
        loop {
            if let Some(status) = self.child.try_wait().expect("child status readable") {
                return status;
            }
            assert!(Instant::now() < deadline, "server {pid} did not stop after SIGTERM");
            std::thread::sleep(Duration::from_millis(20));
        }
    }
}

impl Drop for ServerProcess {
    fn drop(&mut self) {
        // Only reached when a test failed before `terminate`; ends the process this test started.
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn server_binary() -> PathBuf {
    PathBuf::from(env!("CARGO_BIN_EXE_tether-kube-test-server"))
}

#[test]
fn binary_prints_listening_line() {
    let directory = tempfile::tempdir().expect("temporary directory");
    let kubeconfig = directory.path().join("kubeconfig");
    let child = Command::new(server_binary())
        .args(["--listen", "127.0.0.1:0", "--kubeconfig"])
        .arg(&kubeconfig)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .expect("server binary starts");
    let mut process = ServerProcess { child };

    let stdout = process.child.stdout.take().expect("stdout piped");
    let mut line = String::new();
    BufReader::new(stdout).read_line(&mut line).expect("first line readable");
    let url =
        line.trim_end().strip_prefix("listening on ").unwrap_or_else(|| panic!("unexpected line {line:?}")).to_string();
    assert!(url.starts_with("http://127.0.0.1:"), "{url}");

    let written = std::fs::read_to_string(&kubeconfig).expect("kubeconfig written before the line");
    assert!(written.contains(&format!("server: {url}")), "{written}");
    let address = url.trim_start_matches("http://");
    assert!(std::net::TcpStream::connect(address).is_ok(), "server accepts connections on {address}");

    let status = process.terminate();
    assert!(status.success(), "clean exit on SIGTERM: {status}");
}

#[test]
fn binary_rejects_public_address() {
    let directory = tempfile::tempdir().expect("temporary directory");
    let output = Command::new(server_binary())
        .args(["--listen", "0.0.0.0:0", "--kubeconfig"])
        .arg(directory.path().join("kubeconfig"))
        .stdin(Stdio::null())
        .output()
        .expect("server binary runs");
    assert!(!output.status.success());
    assert!(output.stdout.is_empty(), "no listening line");
    assert!(
        String::from_utf8_lossy(&output.stderr).contains("loopback"),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
}
