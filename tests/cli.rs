//! Commands that need no emulator: `validate`, `graph` and `schema`, run as a user would.

mod support;

use std::process::{Command, Output};

use support::{describe, repository_root};

fn tether(args: &[&str], dir: &std::path::Path) -> Output {
    Command::new(env!("CARGO_BIN_EXE_tether")).args(args).current_dir(dir).output().expect("tether runs")
}

fn example_copy(dir: &std::path::Path) -> std::path::PathBuf {
    let examples = repository_root().join("examples");
    for file in ["ai-dev.toml", "pull-secret.example.json"] {
        std::fs::copy(examples.join(file), dir.join(file)).unwrap();
    }
    dir.join("ai-dev.toml")
}

#[test]
fn validate_accepts_examples() {
    let root = repository_root();
    for example in ["examples/ai-dev.toml", "examples/ai-prod.toml"] {
        let output = tether(&["validate", example], &root);
        assert!(output.status.success(), "{}", describe(&output));
        let stdout = String::from_utf8_lossy(&output.stdout);
        assert!(stdout.contains("is valid"), "{stdout}");
    }
}

#[test]
fn validate_reports_every_problem_with_lines() {
    let dir = tempfile::tempdir().unwrap();
    let file = example_copy(dir.path());
    let text = std::fs::read_to_string(&file)
        .unwrap()
        .replace("vpc_cidr = \"10.1.0.0/16\"", "vpc_cidr = \"10.1.0.0/20\"")
        .replace("effect = \"NoSchedule\"", "effect = \"NoScheduling\"");
    std::fs::write(&file, text).unwrap();

    let output = tether(&["validate", file.to_str().unwrap()], dir.path());
    assert_eq!(output.status.code(), Some(1), "{}", describe(&output));
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(stderr.contains("/16"), "the VPC size rule is reported:\n{stderr}");
    assert!(stderr.contains("NoScheduling"), "the taint effect is reported:\n{stderr}");
    assert!(stderr.contains("ai-dev.toml:"), "diagnostics name the file and line:\n{stderr}");
    assert!(output.stdout.is_empty(), "nothing on stdout for an invalid file");
}

#[test]
fn validate_missing_file_fails_cleanly() {
    let dir = tempfile::tempdir().unwrap();
    let output = tether(&["validate", "nowhere.toml"], dir.path());
    assert_eq!(output.status.code(), Some(1), "{}", describe(&output));
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(stderr.contains("nowhere.toml"), "{stderr}");
    assert!(!stderr.contains("panicked"), "{stderr}");
}

#[test]
fn graph_prints_dot_with_dependencies() {
    let root = repository_root();
    let output = tether(&["graph", "examples/ai-dev.toml"], &root);
    assert!(output.status.success(), "{}", describe(&output));
    let dot = String::from_utf8(output.stdout).unwrap();
    assert!(dot.starts_with("digraph tether {"), "{dot}");
    assert!(dot.contains("\"aws.subnet.private-ap-southeast-2a\" -> \"aws.vpc.main\";"), "{dot}");
    assert!(dot.contains("\"cluster.node_pool.gpu\" -> \"cluster.hosted_cluster.ai\";"), "{dot}");
    assert!(
        dot.contains("\"aws.route.private-ap-southeast-2a-onprem-192-168-6-0-24\" -> \"aws.instance.subnet-router\";"),
        "{dot}"
    );
}

#[test]
fn schema_command_matches_committed_file() {
    let root = repository_root();
    let output = tether(&["schema"], &root);
    assert!(output.status.success(), "{}", describe(&output));
    let committed = std::fs::read_to_string(root.join("schemas/environment.schema.json")).unwrap();
    assert_eq!(
        String::from_utf8(output.stdout).unwrap(),
        committed,
        "regenerate with `cargo run -q -p tether-cli -- schema > schemas/environment.schema.json`"
    );
}

#[test]
fn validate_warns_about_untainted_gpu_pool() {
    let dir = tempfile::tempdir().unwrap();
    let file = example_copy(dir.path());
    let text = std::fs::read_to_string(&file)
        .unwrap()
        .replace("taints = [{ key = \"nvidia.com/gpu\", value = \"present\", effect = \"NoSchedule\" }]\n", "");
    std::fs::write(&file, text).unwrap();

    let output = tether(&["validate", file.to_str().unwrap()], dir.path());
    assert!(output.status.success(), "warnings do not fail validation: {}", describe(&output));
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(stderr.contains("tether::catalog::gpu_pool_untainted"), "{stderr}");
    assert!(stderr.contains("tether::config::scale_from_zero"), "{stderr}");
}

#[test]
fn validate_rejects_too_few_untainted_nodes() {
    let dir = tempfile::tempdir().unwrap();
    let file = example_copy(dir.path());
    let text = std::fs::read_to_string(&file).unwrap().replace("replicas = 2", "replicas = 1");
    std::fs::write(&file, text).unwrap();

    let output = tether(&["validate", file.to_str().unwrap()], dir.path());
    assert_eq!(output.status.code(), Some(1), "{}", describe(&output));
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(stderr.contains("tether::config::untainted_nodes_too_few"), "{stderr}");
}
