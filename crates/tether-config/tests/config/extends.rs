//! `extends`: a chain of base files whose values the extending file overrides, diagnostics in the
//! file a value came from, and the errors for a missing base and a cycle.

use std::fs;
use std::path::{Path, PathBuf};

use miette::Diagnostic as _;
use tether_config::Diagnostic;

use crate::support::examples_dir;

/// Creates a fresh folder with the example pull secret in a `shared` subfolder.
fn folder(name: &str) -> PathBuf {
    let dir = Path::new(env!("CARGO_TARGET_TMPDIR")).join("tether-config-extends").join(name);
    if dir.exists() {
        fs::remove_dir_all(&dir).expect("remove the previous run's folder");
    }
    fs::create_dir_all(dir.join("shared")).expect("create the test folder");
    fs::copy(examples_dir().join("pull-secret.example.json"), dir.join("shared/pull-secret.json"))
        .expect("copy the example pull secret");
    dir
}

fn write(dir: &Path, name: &str, text: &str) -> PathBuf {
    let path = dir.join(name);
    fs::write(&path, text).expect("write a test file");
    path
}

/// The root base, in `shared/`: everything but the environment's name and pools.
const ROOT: &str = r#"# shared by every environment
[cluster]
name = "ai"
namespace = "hcp-ai"
infra_id = "ai"
base_domain = "hcp.example.com"
release_image = "quay.io/openshift-release-dev/ocp-release:4.21.12-x86_64"
etcd_storage_class = "lvms-vg1"
pull_secret_file = "pull-secret.json"     # beside this file

[aws]
account_id = "123456789012"
region = "ap-southeast-2"
zones = ["ap-southeast-2a"]
vpc_cidr = "10.1.0.0/16"

[onprem]
networks = ["192.168.6.0/24"]

[subnet_router]
instance_type = "t3.small"
ami = "ami-12c6146b"

[pools.workers]
instance_type = "m6i.2xlarge"
replicas = 2
"#;

/// The middle of the chain: a newer release for every environment that extends it.
const MIDDLE: &str = r#"extends = "shared/root.toml"
[cluster]
release_image = "quay.io/openshift-release-dev/ocp-release:4.21.14-x86_64"
"#;

/// Returns the name of the file that the diagnostic's source is.
fn source_name(diagnostic: &Diagnostic) -> String {
    let span = diagnostic.span().expect("the diagnostic has a span");
    let source = diagnostic.source_code().expect("the diagnostic has a source");
    let contents = source.read_span(&span.into(), 0, 0).expect("the span lies in the source");
    contents.name().expect("the source is named").to_owned()
}

/// Returns the text under the diagnostic's primary label, read from the file it names.
fn labelled_text(diagnostic: &Diagnostic) -> String {
    let span = diagnostic.span().expect("the diagnostic has a span");
    let text = fs::read_to_string(source_name(diagnostic)).expect("read the file the diagnostic names");
    text[span].to_owned()
}

#[test]
fn chain_overrides_base_values() {
    let dir = folder("chain_overrides_base_values");
    write(&dir, "shared/root.toml", ROOT);
    write(&dir, "middle.toml", MIDDLE);
    let leaf = write(&dir, "dev.toml", "extends = \"middle.toml\"\nname = \"ai-dev\"\n[pools.workers]\nreplicas = 3\n");

    let checked = tether_config::load(&leaf).expect("the chain loads");

    let environment = &checked.environment;
    assert_eq!(environment.name, "ai-dev");
    assert_eq!(environment.extends.as_deref(), Some("middle.toml"));
    assert!(environment.cluster.release_image.ends_with(":4.21.14-x86_64"), "the middle file overrides the root");
    assert_eq!(environment.cluster.base_domain, "hcp.example.com", "the root's value is kept");
    assert_eq!(environment.pools["workers"].replicas, Some(3), "the leaf overrides one key of the pool");
    assert_eq!(environment.pools["workers"].instance_type, "m6i.2xlarge", "the pool's other keys are kept");
    assert_eq!(checked.pull_secret_path(), dir.join("shared/pull-secret.json"));
}

#[test]
fn diagnostic_names_the_base_file() {
    let dir = folder("diagnostic_names_the_base_file");
    write(&dir, "shared/root.toml", &ROOT.replace("vpc_cidr = \"10.1.0.0/16\"", "vpc_cidr = \"10.1.0.0/24\""));
    write(&dir, "middle.toml", MIDDLE);
    let leaf = write(&dir, "dev.toml", "extends = \"middle.toml\"\nname = \"Ai-Dev\"\n");

    let diagnostics = tether_config::load(&leaf).expect_err("both files have an error");

    let errors: Vec<&Diagnostic> = diagnostics.iter().filter(|entry| entry.is_error()).collect();
    let vpc = errors.iter().find(|entry| entry.code() == "tether::config::vpc_cidr_prefix").expect("a VPC error");
    assert!(source_name(vpc).ends_with("shared/root.toml"), "{}", source_name(vpc));
    assert_eq!(labelled_text(vpc), "10.1.0.0/24");
    let name = errors.iter().find(|entry| entry.code() == "tether::config::invalid_dns_label").expect("a name error");
    assert!(source_name(name).ends_with("dev.toml"), "{}", source_name(name));
    assert_eq!(labelled_text(name), "Ai-Dev");
}

#[test]
fn cycle_is_an_error() {
    let dir = folder("cycle_is_an_error");
    write(&dir, "shared/root.toml", &format!("extends = \"../dev.toml\"\n{ROOT}"));
    write(&dir, "middle.toml", MIDDLE);
    let leaf = write(&dir, "dev.toml", "extends = \"middle.toml\"\nname = \"ai-dev\"\n");

    let diagnostics = tether_config::load(&leaf).expect_err("a cycle does not load");

    let entries = diagnostics.into_vec();
    assert_eq!(entries.len(), 1);
    assert_eq!(entries[0].code(), "tether::config::extends_cycle");
    assert!(source_name(&entries[0]).ends_with("shared/root.toml"));
    assert_eq!(labelled_text(&entries[0]), "\"../dev.toml\"");
}

#[test]
fn self_extension_is_a_cycle() {
    let dir = folder("self_extension_is_a_cycle");
    let leaf = write(&dir, "dev.toml", "extends = \"dev.toml\"\nname = \"ai-dev\"\n");

    let diagnostics = tether_config::load(&leaf).expect_err("a cycle does not load");

    assert_eq!(diagnostics.iter().next().map(Diagnostic::code), Some("tether::config::extends_cycle"));
}

#[test]
fn missing_base_is_an_error() {
    let dir = folder("missing_base_is_an_error");
    let leaf = write(&dir, "dev.toml", "name = \"ai-dev\"\nextends = \"nowhere.toml\"\n");

    let diagnostics = tether_config::load(&leaf).expect_err("a missing base does not load");

    let entries = diagnostics.into_vec();
    assert_eq!(entries[0].code(), "tether::config::extends_not_found");
    assert_eq!(labelled_text(&entries[0]), "\"nowhere.toml\"");
    assert!(entries[0].message().contains("nowhere.toml"), "{}", entries[0].message());
}

#[test]
fn extends_of_wrong_type_is_an_error() {
    let dir = folder("extends_of_wrong_type_is_an_error");
    let leaf = write(&dir, "dev.toml", "extends = 3\nname = \"ai-dev\"\n");

    let diagnostics = tether_config::load(&leaf).expect_err("a number is not a path");

    let entries = diagnostics.into_vec();
    assert_eq!(entries[0].code(), "tether::config::invalid_type");
    assert!(entries[0].message().starts_with("`extends` has the wrong type"), "{}", entries[0].message());
}

#[test]
fn file_without_extends_keeps_its_digest() {
    let dir = folder("file_without_extends_keeps_its_digest");
    let text = fs::read_to_string(examples_dir().join("ai-dev.toml")).expect("read the example");
    fs::copy(examples_dir().join("pull-secret.example.json"), dir.join("pull-secret.example.json"))
        .expect("copy the example pull secret");
    let path = write(&dir, "dev.toml", &text);

    let checked = tether_config::load(&path).expect("the example loads");

    assert_eq!(checked.environment.extends, None);
    assert_eq!(checked.source_digest.len(), 64);
    let again = tether_config::load(&path).expect("the example loads");
    assert_eq!(checked.source_digest, again.source_digest);
}
