//! The catalogue's checks of environment files: GPU pools and instance type offerings, each with a
//! bad file and a good one built from the `ai-dev` example.

use std::fs;
use std::path::{Path, PathBuf};

use tether_catalog::{advice_codes, advise};
use tether_config::{Diagnostic, Severity};

fn examples_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../examples")
}

/// The `ai-dev` example with each `(from, to)` replaced once, written to a folder of its own.
struct Case {
    source: String,
    diagnostics: Vec<Diagnostic>,
}

impl Case {
    fn new(name: &str, edits: &[(&str, &str)]) -> Case {
        let dir = Path::new(env!("CARGO_TARGET_TMPDIR")).join("tether-catalog-advice").join(name);
        fs::create_dir_all(&dir).unwrap();
        fs::copy(examples_dir().join("pull-secret.example.json"), dir.join("pull-secret.example.json")).unwrap();
        let mut source = fs::read_to_string(examples_dir().join("ai-dev.toml")).unwrap();
        for (from, to) in edits {
            assert_eq!(source.matches(from).count(), 1, "expected exactly one {from:?}");
            source = source.replacen(from, to, 1);
        }
        let path = dir.join("env.toml");
        fs::write(&path, &source).unwrap();
        let checked = tether_config::load(&path).unwrap_or_else(|found| panic!("{name} loads: {found:?}"));
        Case { source, diagnostics: advise(&checked) }
    }

    fn codes(&self) -> Vec<&str> {
        self.diagnostics.iter().map(Diagnostic::code).collect()
    }

    fn find(&self, code: &str) -> &Diagnostic {
        self.diagnostics
            .iter()
            .find(|found| found.code() == code)
            .unwrap_or_else(|| panic!("no {code}: {:#?}", self.diagnostics))
    }

    fn text_at(&self, diagnostic: &Diagnostic) -> &str {
        &self.source[diagnostic.span().expect("a span")]
    }
}

const GPU_TAINT: &str = "taints = [{ key = \"nvidia.com/gpu\", value = \"present\", effect = \"NoSchedule\" }]\n";

#[test]
fn example_gets_only_offering_note() {
    let case = Case::new("example_gets_only_offering_note", &[]);

    assert_eq!(case.codes(), [advice_codes::OFFERING_UNKNOWN]);
    let note = &case.diagnostics[0];
    assert_eq!(note.severity(), Severity::Advice);
    assert_eq!(case.text_at(note), "g6.xlarge");
    assert!(note.message().contains("has no data for `g6.xlarge` in `ap-southeast-2`"), "{}", note.message());
}

#[test]
fn gpu_pool_without_taint() {
    let case = Case::new("gpu_pool_without_taint", &[(GPU_TAINT, "")]);

    let warning = case.find(advice_codes::GPU_POOL_UNTAINTED);

    assert_eq!(warning.severity(), Severity::Warning);
    assert_eq!(
        warning.message(),
        "pool `gpu` runs `g6.xlarge`, which has GPUs, but has no `nvidia.com/gpu` taint with effect `NoSchedule`, so pods that need no GPU can land on its expensive nodes"
    );
    assert!(warning.help().unwrap().starts_with("add `taints = [{ key = \"nvidia.com/gpu\""));
    assert_eq!(case.text_at(warning), "g6.xlarge");
}

#[test]
fn gpu_pool_with_prefer_no_schedule_taint() {
    let case = Case::new(
        "gpu_pool_with_prefer_no_schedule_taint",
        &[("effect = \"NoSchedule\"", "effect = \"PreferNoSchedule\"")],
    );

    assert!(case.codes().contains(&advice_codes::GPU_POOL_UNTAINTED), "{:?}", case.codes());
}

#[test]
fn gpu_family_size_not_in_table() {
    let case = Case::new("gpu_family_size_not_in_table", &[(GPU_TAINT, ""), ("\"g6.xlarge\"", "\"g6.12xlarge\"")]);

    let warning = case.find(advice_codes::GPU_POOL_UNTAINTED);

    assert_eq!(case.text_at(warning), "g6.12xlarge");
}

#[test]
fn gpu_pool_with_fixed_replicas() {
    let case = Case::new(
        "gpu_pool_with_fixed_replicas",
        &[
            ("autoscaling = { min = 0, max = 2 }", "replicas = 2"),
            ("region = \"ap-southeast-2\"", "region = \"us-east-1\""),
            ("zones = [\"ap-southeast-2a\"]", "zones = [\"us-east-1a\"]"),
        ],
    );

    let note = case.find(advice_codes::GPU_POOL_IDLE);

    assert_eq!(note.severity(), Severity::Advice);
    assert_eq!(
        note.message(),
        "pool `gpu` keeps 2 `g6.xlarge` GPU nodes running while idle, about $1.61 an hour at on-demand list prices (an estimate)"
    );
    assert!(note.help().unwrap().contains("`autoscaling = { min = 0, max = 2 }`"));
    assert_eq!(case.text_at(note), "2");
}

#[test]
fn gpu_pool_with_zero_replicas() {
    let case = Case::new("gpu_pool_with_zero_replicas", &[("autoscaling = { min = 0, max = 2 }", "replicas = 0")]);

    assert!(!case.codes().contains(&advice_codes::GPU_POOL_IDLE), "{:?}", case.codes());
}

#[test]
fn instance_type_not_offered() {
    let case = Case::new(
        "instance_type_not_offered",
        &[
            ("region = \"ap-southeast-2\"", "region = \"ap-southeast-4\""),
            ("zones = [\"ap-southeast-2a\"]", "zones = [\"ap-southeast-4a\"]"),
            ("\"g6.xlarge\"", "\"p5.48xlarge\""),
        ],
    );

    let warning = case.find(advice_codes::INSTANCE_TYPE_NOT_OFFERED);

    assert_eq!(warning.severity(), Severity::Warning);
    assert!(warning.message().starts_with("instance type `p5.48xlarge` is not offered in zone `ap-southeast-4a`"));
    assert!(warning.message().contains("as of 2025-06-01"), "{}", warning.message());
    assert!(warning.help().unwrap().contains("describe-instance-type-offerings"));
    assert_eq!(case.text_at(warning), "p5.48xlarge");
}

#[test]
fn instance_types_offered_pass() {
    let case = Case::new("instance_types_offered_pass", &[("\"g6.xlarge\"", "\"m6i.2xlarge\""), (GPU_TAINT, "")]);

    assert!(case.diagnostics.is_empty(), "{:#?}", case.diagnostics);
}

#[test]
fn zone_without_offering_data() {
    let case = Case::new(
        "zone_without_offering_data",
        &[
            ("region = \"ap-southeast-2\"", "region = \"eu-west-1\""),
            ("zones = [\"ap-southeast-2a\"]", "zones = [\"eu-west-1a\"]"),
        ],
    );

    let notes: Vec<&Diagnostic> =
        case.diagnostics.iter().filter(|found| found.code() == advice_codes::OFFERING_UNKNOWN).collect();

    assert_eq!(notes.len(), 3, "one note per instance type: {notes:#?}");
    assert!(notes[0].message().contains("no data for zone `eu-west-1a`"), "{}", notes[0].message());
}

#[test]
fn advice_points_into_extended_base() {
    let dir =
        Path::new(env!("CARGO_TARGET_TMPDIR")).join("tether-catalog-advice").join("advice_points_into_extended_base");
    fs::create_dir_all(&dir).unwrap();
    fs::copy(examples_dir().join("pull-secret.example.json"), dir.join("pull-secret.example.json")).unwrap();
    let base = fs::read_to_string(examples_dir().join("ai-dev.toml")).unwrap().replacen(GPU_TAINT, "", 1);
    fs::write(dir.join("base.toml"), &base).unwrap();
    let overlay = "extends = \"base.toml\"\nname = \"ai-test\"\n";
    fs::write(dir.join("env.toml"), overlay).unwrap();
    let checked = tether_config::load(&dir.join("env.toml")).unwrap_or_else(|found| panic!("loads: {found:?}"));

    let diagnostics = advise(&checked);

    let warning = diagnostics.iter().find(|found| found.code() == advice_codes::GPU_POOL_UNTAINTED).expect("a warning");
    let span = warning.span().expect("a span");
    assert_eq!(&base[span], "g6.xlarge", "the span lies in the base file that sets the pool");
}
