//! `tether diff` and `tether promote` on real files with comments and unusual layout, run as a user
//! would: what is written, what never is, `--check` exit codes and the release refusals.

mod support;

use std::fs;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use support::{describe, repository_root};

const RELEASE: &str = "quay.io/openshift-release-dev/ocp-release";

/// A prod file written by hand: comments, odd spacing, a dotted key, a pool table
/// split into a sub-table and keys in an unusual order.
const PROD: &str = r#"#:schema ../schemas/environment.schema.json
# Production.   Change with care!

name    =   "ai-prod"   # environment name

[cluster]
  # indented keys
  name = "ai-prod"
  namespace = "hcp-ai-prod"
  infra_id = "ai-prod"
  base_domain = "prod.example.com"
  release_image = 'quay.io/openshift-release-dev/ocp-release:4.21.12-x86_64'    # literal string, comment kept
  etcd_storage_class = "ceph-rbd"
  pull_secret_file = "pull-secret.example.json"

[aws]
account_id = "210987654321"
region = "eu-west-1"
zones = [
  "eu-west-1a",   # first
  "eu-west-1b",
]
vpc_cidr = "10.2.0.0/16"
role_arn = "arn:aws:iam::210987654321:role/prod-role"

[onprem]
networks = ["192.168.7.0/24"]

[[onprem.routes]]
destination = "10.2.0.0/16"
gateway = "192.168.7.1"
device = "br-ex"

[subnet_router]
ami = "ami-12c6146b"
instance_type = "t3.medium"

[pools.workers]
replicas = 3                      # prod runs more
instance_type = "m6i.2xlarge"

[pools.gpu]
labels = { "nvidia.com/gpu.present" = "true" }
taints = [{ key = "nvidia.com/gpu", value = "present", effect = "NoSchedule" }]
root_volume.size_gib = 120        # dotted key
instance_type="g6.xlarge"
# bounds as a sub-table
[pools.gpu.autoscaling]
max = 2     # two GPUs at most
min = 1
"#;

/// One folder with the example dev file, the prod file above and the example pull secret.
struct Setup {
    dir: tempfile::TempDir,
}

impl Setup {
    /// Writes dev as `examples/ai-dev.toml` with each `(from, to)` replacement applied once.
    fn new(dev_edits: &[(&str, &str)]) -> Setup {
        let dir = tempfile::tempdir().expect("create a folder");
        let examples = repository_root().join("examples");
        fs::copy(examples.join("pull-secret.example.json"), dir.path().join("pull-secret.example.json"))
            .expect("copy the pull secret");
        let mut dev = fs::read_to_string(examples.join("ai-dev.toml")).expect("read the dev example");
        for (from, to) in dev_edits {
            assert_eq!(dev.matches(from).count(), 1, "expected one {from:?} in the dev example");
            dev = dev.replacen(from, to, 1);
        }
        fs::write(dir.path().join("dev.toml"), dev).expect("write dev.toml");
        fs::write(dir.path().join("prod.toml"), PROD).expect("write prod.toml");
        Setup { dir }
    }

    fn path(&self, name: &str) -> PathBuf {
        self.dir.path().join(name)
    }

    fn read(&self, name: &str) -> String {
        fs::read_to_string(self.path(name)).expect("read a test file")
    }

    fn tether(&self, args: &[&str]) -> Output {
        tether(args, self.dir.path())
    }
}

fn tether(args: &[&str], dir: &Path) -> Output {
    Command::new(env!("CARGO_BIN_EXE_tether")).args(args).current_dir(dir).output().expect("tether runs")
}

fn stdout(output: &Output) -> String {
    String::from_utf8_lossy(&output.stdout).into_owned()
}

fn stderr(output: &Output) -> String {
    String::from_utf8_lossy(&output.stderr).into_owned()
}

fn release(tag: &str) -> String {
    format!("{RELEASE}:{tag}")
}

/// Sets up a dev file one release ahead of prod, with a bigger GPU pool.
fn dev_ahead() -> Setup {
    let new_release = release("4.21.14-x86_64");
    Setup::new(&[
        (&release("4.21.12-x86_64"), &new_release),
        ("instance_type = \"g6.xlarge\"", "instance_type = \"g6.2xlarge\""),
        ("autoscaling = { min = 0, max = 2 }", "autoscaling = { min = 1, max = 4 }"),
    ])
}

const PROMOTE: &[&str] = &["promote", "--from", "dev.toml", "--to", "prod.toml"];

fn promote_with<'a>(extra: &[&'a str]) -> Vec<&'a str> {
    PROMOTE.iter().chain(extra).copied().collect()
}

#[test]
fn promote_changes_only_promoted_values() {
    let setup = dev_ahead();

    let output = setup.tether(PROMOTE);

    assert_eq!(output.status.code(), Some(0), "{}", describe(&output));
    let expected = PROD
        .replace("ocp-release:4.21.12-x86_64'", "ocp-release:4.21.14-x86_64\"")
        .replace("release_image = 'quay.io", "release_image = \"quay.io")
        .replace("instance_type=\"g6.xlarge\"", "instance_type=\"g6.2xlarge\"")
        .replace("max = 2     # two GPUs at most", "max = 4     # two GPUs at most");
    assert_eq!(setup.read("prod.toml"), expected, "every byte but the promoted values is kept");
    let printed = stdout(&output);
    assert!(printed.contains("Promoting 3 settings"), "{printed}");
    assert!(printed.contains("This is not a live plan"), "{printed}");
    assert!(printed.contains("~ cluster.node_pool.gpu will be updated in place"), "{printed}");
    assert!(printed.contains("aws.account_id"), "per-environment differences are listed as not promoted:\n{printed}");
}

#[test]
fn promote_never_writes_per_environment_values() {
    let setup = dev_ahead();

    let output = setup.tether(PROMOTE);

    assert!(output.status.success(), "{}", describe(&output));
    let prod = setup.read("prod.toml");
    for kept in ["210987654321", "eu-west-1", "prod.example.com", "ceph-rbd", "10.2.0.0/16", "replicas = 3", "min = 1"]
    {
        assert!(prod.contains(kept), "prod keeps {kept}");
    }
    for never in ["123456789012", "ap-southeast-2", "hcp.example.com", "lvms-vg1", "10.1.0.0/16", "ai-dev"] {
        assert!(!prod.contains(never), "dev's {never} is not copied");
    }
}

#[test]
fn check_exits_two_until_promoted() {
    let setup = dev_ahead();

    let lagging = setup.tether(&promote_with(&["--check"]));
    assert_eq!(lagging.status.code(), Some(2), "{}", describe(&lagging));
    assert!(stdout(&lagging).contains("pools.gpu.instance_type"), "{}", stdout(&lagging));
    assert_eq!(setup.read("prod.toml"), PROD, "--check writes nothing");

    let promoted = setup.tether(PROMOTE);
    assert!(promoted.status.success(), "{}", describe(&promoted));

    let in_step = setup.tether(&promote_with(&["--check"]));
    assert_eq!(in_step.status.code(), Some(0), "{}", describe(&in_step));
    assert!(stdout(&in_step).contains("in step"), "{}", stdout(&in_step));
}

#[test]
fn dry_run_prints_diff_only() {
    let setup = dev_ahead();

    let output = setup.tether(&promote_with(&["--dry-run"]));

    assert!(output.status.success(), "{}", describe(&output));
    let printed = stdout(&output);
    assert!(printed.starts_with("--- a/prod.toml\n+++ b/prod.toml\n"), "{printed}");
    assert!(printed.contains("+instance_type=\"g6.2xlarge\""), "{printed}");
    assert!(printed.contains("-max = 2     # two GPUs at most"), "{printed}");
    assert!(!printed.contains("Promoting"), "{printed}");
    assert_eq!(setup.read("prod.toml"), PROD, "a dry run writes nothing");
    let leftovers: Vec<_> = fs::read_dir(setup.dir.path()).expect("list the folder").collect();
    assert_eq!(leftovers.len(), 3, "no temporary file is left behind");
}

#[test]
fn only_limits_the_promotion() {
    let setup = dev_ahead();

    let output = setup.tether(&promote_with(&["--only", "pools.gpu.instance_type"]));

    assert!(output.status.success(), "{}", describe(&output));
    let expected = PROD.replace("instance_type=\"g6.xlarge\"", "instance_type=\"g6.2xlarge\"");
    assert_eq!(setup.read("prod.toml"), expected);
}

#[test]
fn only_rejects_per_environment_setting() {
    let setup = dev_ahead();

    for path in ["aws.region", "cluster.base_domain", "pools.gpu.replicas", "aws"] {
        let output = setup.tether(&promote_with(&["--only", path]));

        assert_eq!(output.status.code(), Some(1), "{}", describe(&output));
        let message = stderr(&output);
        assert!(message.contains(&format!("`--only {path}` names a per-environment setting")), "{message}");
        assert!(message.contains("never copies"), "{message}");
    }
    let unknown = setup.tether(&promote_with(&["--only", "cluster.colour"]));
    assert_eq!(unknown.status.code(), Some(1), "{}", describe(&unknown));
    assert!(stderr(&unknown).contains("names no setting"), "{}", stderr(&unknown));
    assert_eq!(setup.read("prod.toml"), PROD);
}

#[test]
fn downgrade_is_rejected() {
    let older = release("4.21.10-x86_64");
    let setup = Setup::new(&[(&release("4.21.12-x86_64"), &older)]);

    let output = setup.tether(PROMOTE);

    assert_eq!(output.status.code(), Some(1), "{}", describe(&output));
    let message = stderr(&output);
    assert!(message.contains("`cluster.release_image` would move from 4.21.12 down to 4.21.10"), "{message}");
    assert_eq!(setup.read("prod.toml"), PROD);
}

#[test]
fn pool_newer_than_control_plane_is_rejected() {
    let pool_release = format!("release_image = \"{}\"\n", release("4.21.14-x86_64"));
    let setup = Setup::new(&[
        (&release("4.21.12-x86_64"), &release("4.21.14-x86_64")),
        ("[pools.gpu]\n", &format!("[pools.gpu]\n{pool_release}")),
    ]);

    let output = setup.tether(&promote_with(&["--only", "pools.gpu.release_image"]));

    assert_eq!(output.status.code(), Some(1), "{}", describe(&output));
    let message = stderr(&output);
    assert!(message.contains("pool `gpu` would run 4.21.14, newer than the control plane's 4.21.12"), "{message}");
    assert!(message.contains("promote `cluster.release_image` first"), "{message}");
    assert_eq!(setup.read("prod.toml"), PROD);

    let both = setup.tether(&promote_with(&["--only", "cluster.release_image", "pools.gpu.release_image"]));
    assert!(both.status.success(), "{}", describe(&both));
}

#[test]
fn digest_release_is_not_judged() {
    let digest = format!("{RELEASE}@sha256:{}", "0123456789abcdef".repeat(4));
    let setup = Setup::new(&[(&release("4.21.12-x86_64"), &digest)]);

    let output = setup.tether(&promote_with(&["--dry-run"]));

    assert!(output.status.success(), "{}", describe(&output));
    let message = stderr(&output);
    assert!(message.contains("pinned by digest and carries no version"), "{message}");
}

#[test]
fn diff_groups_promotable_and_per_environment() {
    let setup = dev_ahead();

    let output = setup.tether(&["diff", "dev.toml", "prod.toml"]);

    assert!(output.status.success(), "{}", describe(&output));
    let printed = stdout(&output);
    let (promotable, per_environment) =
        printed.split_once("Per-environment differences").expect("two groups are printed");
    assert!(promotable.contains("cluster.release_image"), "{printed}");
    assert!(promotable.contains("pools.gpu.autoscaling.max"), "{printed}");
    assert!(!promotable.contains("aws.region"), "{printed}");
    assert!(per_environment.contains("aws.region"), "{printed}");
    assert!(per_environment.contains("pools.workers.replicas"), "{printed}");
    assert!(per_environment.contains("for information only"), "{printed}");
}

#[test]
fn promote_writes_override_into_extending_file() {
    let setup = dev_ahead();
    let (header, body) = PROD.split_once("[cluster]").expect("prod has a cluster table");
    let base = format!("[cluster]{body}");
    fs::write(setup.path("base.toml"), &base).expect("write base.toml");
    let prod = format!("{header}extends = \"base.toml\"   # shared prod settings\n");
    fs::write(setup.path("prod.toml"), &prod).expect("write prod.toml");

    let output = setup.tether(&promote_with(&["--only", "pools.gpu.instance_type"]));

    assert!(output.status.success(), "{}", describe(&output));
    assert_eq!(setup.read("base.toml"), base, "the base file is never edited");
    let written = setup.read("prod.toml");
    assert!(written.starts_with(&prod), "{written}");
    assert!(written.ends_with("[pools.gpu]\ninstance_type = \"g6.2xlarge\"\n"), "{written}");
    let check = setup.tether(&promote_with(&["--only", "pools.gpu.instance_type", "--check"]));
    assert_eq!(check.status.code(), Some(0), "{}", describe(&check));
}

#[test]
fn inherited_value_cannot_be_removed() {
    let setup = Setup::new(&[]);
    let (header, body) = PROD.split_once("[cluster]").expect("prod has a cluster table");
    let pinned = format!("[pools.gpu]\nrelease_image = \"{}\"\n", release("4.21.12-x86_64"));
    let base = format!("[cluster]{body}").replace("[pools.gpu]\n", &pinned);
    fs::write(setup.path("base.toml"), &base).expect("write base.toml");
    let prod = format!("{header}extends = \"base.toml\"\n");
    fs::write(setup.path("prod.toml"), &prod).expect("write prod.toml");

    let output = setup.tether(&promote_with(&["--only", "pools.gpu.release_image"]));

    assert_eq!(output.status.code(), Some(1), "{}", describe(&output));
    let message = stderr(&output);
    assert!(message.contains("cannot promote `pools.gpu.release_image`"), "{message}");
    assert!(message.contains("inherits it from a base file"), "{message}");
    assert_eq!(setup.read("prod.toml"), prod, "nothing is written");
    assert_eq!(setup.read("base.toml"), base, "the base file is never edited");
}
