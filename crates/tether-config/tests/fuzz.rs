//! Property tests of the environment loader: generated TOML and mutated copies of every example in
//! `examples/` never make `load` panic or hang, and every problem it reports points inside the file
//! that it names.
//!
//! The default budget is proptest's 256 cases per property, a few seconds in all. Run it longer with
//! `PROPTEST_CASES=100000 cargo nextest run -p tether-config --test fuzz`. Proptest saves each failing
//! input in `tests/proptest-regressions/fuzz.txt` and replays it first on the next run. Problems that
//! the hostile-file tests found are kept as plain tests in `tests/config/hostile.rs`.

use std::fs;
use std::path::{Path, PathBuf};
use std::sync::{LazyLock, mpsc};
use std::time::Duration;

use proptest::prelude::*;
use proptest::test_runner::Config;
use tether_config::{Diagnostic, Diagnostics, load};

/// Maximum time one load may take before the case counts as a hang. A valid example loads in a few
/// milliseconds, so this only trips on a real loop.
const HANG_LIMIT: Duration = Duration::from_secs(10);

/// The example environment files the mutations start from: every `*.toml` file in `examples/`,
/// sorted by name, so an example added there is fuzzed without editing this file.
static EXAMPLES: LazyLock<Vec<String>> = LazyLock::new(|| {
    let entries = fs::read_dir(examples_dir()).expect("list the examples folder");
    let mut names: Vec<String> = entries
        .map(|entry| entry.expect("read an examples folder entry").file_name().to_string_lossy().into_owned())
        .filter(|name| name.ends_with(".toml"))
        .collect();
    names.sort();
    names
});

fn examples_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../examples")
}

/// Returns a fresh folder for one property, holding a copy of every file in `examples/`, so the
/// pull secret and the base files that examples name in `extends` resolve as they do there.
fn case_dir(name: &str) -> PathBuf {
    let dir = Path::new(env!("CARGO_TARGET_TMPDIR")).join("tether-config-fuzz").join(name);
    if dir.exists() {
        fs::remove_dir_all(&dir).expect("remove the previous run's folder");
    }
    fs::create_dir_all(&dir).expect("create the fuzz folder");
    for entry in fs::read_dir(examples_dir()).expect("list the examples folder") {
        let entry = entry.expect("read an examples folder entry");
        if entry.file_type().expect("read an entry's type").is_file() {
            fs::copy(entry.path(), dir.join(entry.file_name())).expect("copy an example file");
        }
    }
    dir
}

fn example_bytes(index: usize) -> Vec<u8> {
    fs::read(examples_dir().join(&EXAMPLES[index])).expect("read an example environment file")
}

/// Writes `bytes` as `env.toml` in `dir` and loads it on another thread, failing the case when the
/// load panics or takes longer than [`HANG_LIMIT`].
fn load_bytes(dir: &Path, bytes: &[u8]) -> Result<Result<(), Diagnostics>, TestCaseError> {
    let path = dir.join("env.toml");
    fs::write(&path, bytes).expect("write the environment file");

    let (sender, receiver) = mpsc::channel();
    let worker = std::thread::spawn(move || {
        let outcome = load(&path).map(|_| ());
        // The receiver is gone only when the case already failed as a hang.
        let _ = sender.send(outcome);
    });
    match receiver.recv_timeout(HANG_LIMIT) {
        Ok(outcome) => {
            worker.join().map_err(|_| TestCaseError::fail("the loader thread panicked after answering"))?;
            Ok(outcome)
        }
        Err(mpsc::RecvTimeoutError::Disconnected) => Err(TestCaseError::fail("the loader panicked")),
        Err(mpsc::RecvTimeoutError::Timeout) => Err(TestCaseError::fail(format!("the loader ran over {HANG_LIMIT:?}"))),
    }
}

/// Returns the bytes of the file that a diagnostic's labels point into: `bytes` for the loaded
/// `env.toml`, or a base file that it names in `extends`, read from `dir`. `None` when the
/// diagnostic has no source.
fn labelled_file(dir: &Path, bytes: &[u8], entry: &Diagnostic) -> Result<Option<Vec<u8>>, TestCaseError> {
    let Some(source) = miette::Diagnostic::source_code(entry) else {
        return Ok(None);
    };
    let start = miette::SourceSpan::from((0, 0));
    let contents = source.read_span(&start, 0, 0).map_err(|error| TestCaseError::fail(error.to_string()))?;
    let name = contents.name().ok_or_else(|| TestCaseError::fail(format!("unnamed source for {}", entry.code())))?;
    let path = dir.join(name);
    if path == dir.join("env.toml") {
        return Ok(Some(bytes.to_vec()));
    }
    fs::read(&path)
        .map(Some)
        .map_err(|error| TestCaseError::fail(format!("source {name} of {}: {error}", entry.code())))
}

/// Checks what a rejection must look like: at least one error, every diagnostic with a code, a
/// message and help, and every label inside the file it names, on character boundaries.
fn check_rejection(dir: &Path, bytes: &[u8], diagnostics: &Diagnostics) -> Result<(), TestCaseError> {
    prop_assert!(diagnostics.has_errors(), "a rejection without an error: {diagnostics:?}");
    for entry in diagnostics.iter() {
        prop_assert!(entry.code().starts_with("tether::config::"), "code {}", entry.code());
        prop_assert!(!entry.message().is_empty(), "empty message for {}", entry.code());
        prop_assert!(entry.help().is_some_and(|help| !help.is_empty()), "no help for {}", entry.message());
        let file = labelled_file(dir, bytes, entry)?;
        prop_assert!(file.is_some() || entry.labels().next().is_none(), "labels without a source: {entry:?}");
        let file = file.unwrap_or_default();
        let text = String::from_utf8_lossy(&file);
        for (span, _) in entry.labels() {
            prop_assert!(span.start <= span.end && span.end <= file.len(), "{span:?} outside {} bytes", file.len());
            if std::str::from_utf8(&file).is_ok() {
                prop_assert!(
                    text.is_char_boundary(span.start) && text.is_char_boundary(span.end),
                    "{span:?} splits a character"
                );
            }
        }
        if needs_span(entry.code()) {
            prop_assert!(entry.span().is_some(), "no span for {}: {}", entry.code(), entry.message());
        }
    }
    Ok(())
}

/// True for problems that are always about one place in the file. The others may concern the file
/// as a whole (not UTF-8, too large, a missing top-level table) or a file it refers to.
fn needs_span(code: &str) -> bool {
    matches!(code, "tether::config::toml_syntax" | "tether::config::invalid_type" | "tether::config::unknown_key")
}

fn load_and_check(dir: &Path, bytes: &[u8]) -> Result<(), TestCaseError> {
    match load_bytes(dir, bytes)? {
        Ok(()) => Ok(()),
        Err(diagnostics) => check_rejection(dir, bytes, &diagnostics),
    }
}

/// One edit of an example file.
#[derive(Debug, Clone)]
enum Mutation {
    /// XORs the byte at a position with a non-zero mask.
    FlipByte { at: usize, mask: u8 },
    /// Cuts the file at a position.
    Truncate { at: usize },
    /// Repeats one line right after itself.
    DuplicateLine { line: usize },
    /// Removes one line.
    DeleteLine { line: usize },
    /// Exchanges the values of two `key = value` lines.
    SwapValues { first: usize, second: usize },
    /// Inserts text at a position.
    Insert { at: usize, text: String },
}

fn mutation() -> impl Strategy<Value = Mutation> {
    // Positions are drawn large and reduced modulo the file's size when applied.
    let position = any::<usize>();
    prop_oneof![
        (position, 1..=u8::MAX).prop_map(|(at, mask)| Mutation::FlipByte { at, mask }),
        position.prop_map(|at| Mutation::Truncate { at }),
        position.prop_map(|line| Mutation::DuplicateLine { line }),
        position.prop_map(|line| Mutation::DeleteLine { line }),
        (position, position).prop_map(|(first, second)| Mutation::SwapValues { first, second }),
        (position, fragment()).prop_map(|(at, text)| Mutation::Insert { at, text }),
    ]
}

/// Short pieces of TOML syntax and odd characters, the kind a bad edit leaves behind.
fn fragment() -> impl Strategy<Value = String> {
    let pieces = prop::sample::select(vec![
        "[",
        "]",
        "[[",
        "]]",
        "{",
        "}",
        "=",
        "\"",
        "'",
        "\"\"\"",
        "'''",
        "\\",
        "\\u",
        "\n",
        "\r\n",
        "\r",
        "#",
        ",",
        ".",
        " = 1",
        "inf",
        "nan",
        "-0",
        "0x",
        "1979-05-27T07:32:00Z",
        "true",
        "\u{0}",
        "\u{feff}",
        "é",
        "𝄞",
        "[pools.x]",
        "[[onprem.routes]]",
        "a.b.c = 1",
        "name = \"x\"",
        "[addons.gpu-operator]",
        "[addons.x.operands.y]",
        "channel = \"stable\"",
        "operands.cluster-policy.file = \"absent.json\"",
        "[import]",
        "[import.route_tables]",
        "subnet_router_instance = \"i-0\"",
        "zones = []",
        "extends = \"env.toml\"",
    ]);
    prop::collection::vec(pieces, 1..6).prop_map(|pieces| pieces.concat())
}

fn lines_of(bytes: &[u8]) -> Vec<Vec<u8>> {
    bytes.split_inclusive(|&byte| byte == b'\n').map(<[u8]>::to_vec).collect()
}

/// Splits a `key = value` line at its first `=`; `None` for headers, comments and blank lines.
fn split_assignment(line: &[u8]) -> Option<(Vec<u8>, Vec<u8>)> {
    let trimmed = line.iter().position(|byte| !byte.is_ascii_whitespace())?;
    if matches!(line[trimmed], b'#' | b'[') {
        return None;
    }
    let equals = line.iter().position(|&byte| byte == b'=')?;
    Some((line[..=equals].to_vec(), line[equals + 1..].to_vec()))
}

fn apply_mutation(bytes: &mut Vec<u8>, mutation: &Mutation) {
    if bytes.is_empty() {
        return;
    }
    match mutation {
        Mutation::FlipByte { at, mask } => {
            let at = at % bytes.len();
            bytes[at] ^= mask;
        }
        Mutation::Truncate { at } => bytes.truncate(at % bytes.len()),
        Mutation::DuplicateLine { line } => {
            let mut lines = lines_of(bytes);
            let line = line % lines.len();
            lines.insert(line, lines[line].clone());
            *bytes = lines.concat();
        }
        Mutation::DeleteLine { line } => {
            let mut lines = lines_of(bytes);
            lines.remove(line % lines.len());
            *bytes = lines.concat();
        }
        Mutation::SwapValues { first, second } => {
            let mut lines = lines_of(bytes);
            let assignments: Vec<usize> =
                (0..lines.len()).filter(|&index| split_assignment(&lines[index]).is_some()).collect();
            if assignments.is_empty() {
                return;
            }
            let first = assignments[first % assignments.len()];
            let second = assignments[second % assignments.len()];
            // unwrap: both lines were selected because they split.
            let (first_key, first_value) = split_assignment(&lines[first]).expect("an assignment");
            let (second_key, second_value) = split_assignment(&lines[second]).expect("an assignment");
            lines[first] = [first_key, second_value].concat();
            lines[second] = [second_key, first_value].concat();
            *bytes = lines.concat();
        }
        Mutation::Insert { at, text } => {
            let at = at % (bytes.len() + 1);
            bytes.splice(at..at, text.bytes());
        }
    }
}

/// A TOML value for generated documents.
#[derive(Debug, Clone)]
enum Generated {
    Scalar(String),
    Array(Vec<Generated>),
    Table(Vec<(String, Generated)>),
}

impl Generated {
    fn render(&self, out: &mut String) {
        match self {
            Generated::Scalar(text) => out.push_str(text),
            Generated::Array(items) => {
                out.push('[');
                for (index, item) in items.iter().enumerate() {
                    if index > 0 {
                        out.push_str(", ");
                    }
                    item.render(out);
                }
                out.push(']');
            }
            Generated::Table(entries) => {
                out.push('{');
                for (index, (key, value)) in entries.iter().enumerate() {
                    if index > 0 {
                        out.push_str(", ");
                    }
                    out.push_str(key);
                    out.push_str(" = ");
                    value.render(out);
                }
                out.push('}');
            }
        }
    }
}

/// Keys of the real model, so that generated documents reach past the unknown-key check, plus a few
/// that no model has.
fn key() -> impl Strategy<Value = String> {
    prop::sample::select(vec![
        "name",
        "cluster",
        "namespace",
        "infra_id",
        "base_domain",
        "release_image",
        "etcd_storage_class",
        "pull_secret_file",
        "cluster_network",
        "service_network",
        "aws",
        "region",
        "account_id",
        "vpc_cidr",
        "zones",
        "role_arn",
        "onprem",
        "networks",
        "routes",
        "destination",
        "via",
        "device",
        "subnet_router",
        "instance_type",
        "ami",
        "source_nat",
        "pools",
        "workers",
        "gpu",
        "replicas",
        "autoscaling",
        "min",
        "max",
        "labels",
        "taints",
        "key",
        "value",
        "effect",
        "root_volume",
        "size_gib",
        "state",
        "backend",
        "drift",
        "ignore",
        "resource",
        "path",
        "reason",
        "extends",
        "addons",
        "gpu-operator",
        "node-feature-discovery",
        "openshift-ai",
        "package",
        "channel",
        "source",
        "source_namespace",
        "starting_csv",
        "approval",
        "all_namespaces",
        "operands",
        "enabled",
        "api_version",
        "kind",
        "spec",
        "file",
        "import",
        "subnet_router_instance",
        "subnet_router_security_group",
        "route_tables",
        "resources",
        "extends_not",
        "\"quoted key\"",
        "'lit'",
        "\"nvidia.com/gpu.present\"",
        "a.b",
    ])
    .prop_map(str::to_owned)
}

fn scalar() -> impl Strategy<Value = String> {
    prop_oneof![
        any::<i64>().prop_map(|number| number.to_string()),
        any::<bool>().prop_map(|flag| flag.to_string()),
        prop::sample::select(vec![
            "\"ai-dev\"",
            "\"ap-southeast-2\"",
            "\"ap-southeast-2a\"",
            "\"10.1.0.0/16\"",
            "\"10.0.0.0/8\"",
            "\"0.0.0.0/0\"",
            "\"::/0\"",
            "\"10.1.0.0/33\"",
            "\"123456789012\"",
            "\"ami-12c6146b\"",
            "\"quay.io/openshift-release-dev/ocp-release:4.21.12-x86_64\"",
            "\"pull-secret.example.json\"",
            "\"absent.json\"",
            "\"ai-dev.toml\"",
            "\"env.toml\"",
            "\"stable\"",
            "\"Manual\"",
            "\"nvidia.com/v1\"",
            "\"ClusterPolicy\"",
            "\"i-0123456789abcdef0\"",
            "\"rtb-0123456789abcdef0\"",
            "\"aws.eip.nat-ap-southeast-2a\"",
            "\".\"",
            "\"/\"",
            "\"\"",
            "\"NoSchedule\"",
            "\"m6i.xlarge\"",
            "\"x\\u0000y\"",
            "1.5",
            "-0.0",
            "inf",
            "nan",
            "1979-05-27",
            "07:32:00",
            "1979-05-27T07:32:00Z",
            "0x7fffffffffffffff",
            "\"\"\"multi\nline\"\"\"",
            "'''raw\\'''",
        ])
        .prop_map(str::to_owned),
        "[a-z0-9.-]{0,70}".prop_map(|text| format!("\"{text}\"")),
    ]
}

fn generated_value() -> impl Strategy<Value = Generated> {
    scalar().prop_map(Generated::Scalar).prop_recursive(4, 48, 6, |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..6).prop_map(Generated::Array),
            prop::collection::vec((key(), inner), 0..6).prop_map(Generated::Table),
        ]
    })
}

/// Generates a table header (`[a.b]` or `[[a.b]]`, or none for the top level) followed by assignments.
fn section() -> impl Strategy<Value = String> {
    let header = prop::option::of((any::<bool>(), prop::collection::vec(key(), 1..4)));
    let entries = prop::collection::vec((prop::collection::vec(key(), 1..3), generated_value()), 0..6);
    (header, entries).prop_map(|(header, entries)| {
        let mut out = String::new();
        if let Some((is_array, path)) = header {
            let path = path.join(".");
            out.push_str(&if is_array { format!("[[{path}]]\n") } else { format!("[{path}]\n") });
        }
        for (key_path, value) in entries {
            out.push_str(&key_path.join("."));
            out.push_str(" = ");
            value.render(&mut out);
            out.push('\n');
        }
        out
    })
}

fn generated_document() -> impl Strategy<Value = String> {
    prop::collection::vec(section(), 0..8).prop_map(|sections| sections.concat())
}

fn config() -> Config {
    // `Config::default()` reads PROPTEST_CASES; a longer run only needs that variable.
    Config {
        failure_persistence: Some(Box::new(proptest::test_runner::FileFailurePersistence::Direct(concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/tests/proptest-regressions/fuzz.txt"
        )))),
        ..Config::default()
    }
}

proptest! {
    #![proptest_config(config())]

    #[test]
    fn mutated_examples_never_panic(example in 0..EXAMPLES.len(), mutations in prop::collection::vec(mutation(), 1..4)) {
        let dir = case_dir("mutated_examples_never_panic");
        let mut bytes = example_bytes(example);
        for mutation in &mutations {
            apply_mutation(&mut bytes, mutation);
        }
        load_and_check(&dir, &bytes)?;
    }

    #[test]
    fn generated_documents_never_panic(document in generated_document()) {
        let dir = case_dir("generated_documents_never_panic");
        load_and_check(&dir, document.as_bytes())?;
    }

    #[test]
    fn example_with_generated_section_never_panics(example in 0..EXAMPLES.len(), extra in section()) {
        let dir = case_dir("example_with_generated_section_never_panics");
        let mut bytes = example_bytes(example);
        bytes.extend_from_slice(b"\n");
        bytes.extend_from_slice(extra.as_bytes());
        load_and_check(&dir, &bytes)?;
    }
}

#[test]
fn unmutated_examples_load() {
    let dir = case_dir("unmutated_examples_load");
    for index in 0..EXAMPLES.len() {
        let outcome = load_bytes(&dir, &example_bytes(index)).expect("no panic or hang");
        assert!(outcome.is_ok(), "{}: {outcome:?}", EXAMPLES[index]);
    }
}

/// The mutations start from the examples with the newer sections too, not only the two base ones.
#[test]
fn examples_cover_addons_and_zones() {
    let dir = case_dir("examples_cover_addons_and_zones");
    let loaded: Vec<tether_config::Checked> = EXAMPLES
        .iter()
        .map(|name| load(&dir.join(name)).unwrap_or_else(|diagnostics| panic!("{name}: {diagnostics:?}")))
        .collect();

    assert!(EXAMPLES.len() >= 4, "{:?}", *EXAMPLES);
    assert!(loaded.iter().any(|checked| !checked.environment.addons.is_empty()), "no example with [addons]");
    assert!(loaded.iter().any(|checked| checked.environment.aws.zones.len() == 3), "no example with 3 zones");
    assert!(loaded.iter().any(|checked| checked.environment.extends.is_some()), "no example with `extends`");
}

/// A file that never ends, read through its path, is rejected after [`tether_config::MAX_FILE_BYTES`]
/// + 1 bytes. Its size in the metadata is 0, so only the bounded read stops it: reading it whole
/// would never finish.
#[cfg(target_os = "linux")]
#[test]
fn endless_file_rejected_after_limit() {
    let (sender, receiver) = mpsc::channel();
    std::thread::spawn(move || {
        let _ = sender.send(load(Path::new("/dev/zero")).map(|_| ()));
    });
    let outcome = receiver.recv_timeout(HANG_LIMIT).expect("the load stops at the size limit");

    let diagnostics = outcome.expect_err("an endless file is over the limit");
    let entry = diagnostics.iter().next().expect("one diagnostic");
    assert_eq!(entry.code(), "tether::config::file_too_large");
    let read = tether_config::MAX_FILE_BYTES + 1;
    assert!(entry.message().contains(&format!("is {read} bytes, more than the limit")), "{}", entry.message());
}

/// A problem in the base file of an `extends` chain points into the base file, not into the file
/// loaded: this case has an error label in the loaded file and a warning label in its base.
#[test]
fn base_file_labels_checked_against_base() {
    let dir = case_dir("base_file_labels_checked_against_base");
    let mut bytes = fs::read(examples_dir().join("ai-dev-addons.toml")).expect("read the add-ons example");
    bytes.extend_from_slice(b"\ninfra_id = 0\n");

    load_and_check(&dir, &bytes).expect("every label lies inside the file it names");
}

/// The fuzzer's first crasher: `toml` passed the date-time as a table with a private key, and the
/// loader reported that key as unknown, without a span.
#[test]
fn date_time_as_table_regression() {
    let dir = case_dir("date_time_as_table_regression");

    load_and_check(&dir, b"drift = [[1979-05-27]]\n").expect("a rejection whose every error has a span");
}
