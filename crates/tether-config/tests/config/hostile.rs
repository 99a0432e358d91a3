//! Hostile and odd environment files: redefined tables, nesting past the parser's limit, line
//! endings and byte-order marks from other editors, a file at the size limit, and names that only
//! break once tether builds AWS names from them.

use std::fs;

use tether_config::MAX_FILE_BYTES;

use crate::support::{Case, help};

#[test]
fn dotted_key_redefining_table() {
    let case = Case::new("dotted_key_redefining_table")
        .replace("name = \"ai-dev\"\n", "name = \"ai-dev\"\ncluster.name = \"x\"\n");

    let found = case.only("tether::config::toml_syntax");

    assert_eq!(found.message(), "invalid TOML: duplicate key");
    assert_eq!(case.text_at(&found), "cluster");
    assert_eq!(help(&found), "fix the TOML syntax at the marked position");
}

#[test]
fn table_header_repeated() {
    let case = Case::new("table_header_repeated").append("\n[aws]\nregion = \"us-east-1\"\n");

    let found = case.only("tether::config::toml_syntax");

    assert_eq!(found.message(), "invalid TOML: duplicate key");
    assert_eq!(case.text_at(&found), "aws");
    let second = case.source.rfind("[aws]").expect("the repeated header") + 1;
    assert_eq!(found.span().expect("a span").start, second);
}

#[test]
fn deeply_nested_arrays_rejected() {
    let depth = 100_000;
    let value = format!("{}{}", "[".repeat(depth), "]".repeat(depth));
    let case = Case::new("deeply_nested_arrays_rejected").replace("name = \"ai-dev\"", &format!("name = {value}"));

    let found = case.only("tether::config::toml_syntax");

    assert_eq!(found.message(), "invalid TOML: cannot recurse further; max recursion depth met");
    assert_eq!(case.text_at(&found), "[");
}

#[test]
fn deeply_nested_inline_tables_rejected() {
    let depth = 100_000;
    let value = format!("{}1{}", "{a=".repeat(depth), "}".repeat(depth));
    let case =
        Case::new("deeply_nested_inline_tables_rejected").replace("name = \"ai-dev\"", &format!("name = {value}"));

    let found = case.only("tether::config::toml_syntax");

    assert_eq!(found.message(), "invalid TOML: cannot recurse further; max recursion depth met");
    assert!(found.span().is_some());
}

#[test]
fn deeply_nested_table_header_rejected() {
    let header = vec!["a"; 20_000].join(".");
    let case = Case::new("deeply_nested_table_header_rejected").append(&format!("\n[{header}]\nb = 1\n"));

    let found = case.only("tether::config::toml_syntax");

    // The parser gives no position here, so the label marks the most nested line.
    assert_eq!(found.message(), "invalid TOML: recursion limit");
    assert_eq!(case.text_at(&found), format!("[{header}]"));
    assert_eq!(found.labels().next().and_then(|(_, text)| text), Some("the most deeply nested line"));
}

#[test]
fn deeply_nested_dotted_key_rejected() {
    let key = vec!["q"; 20_000].join(".");
    let case = Case::new("deeply_nested_dotted_key_rejected")
        .replace("name = \"ai-dev\"\n", &format!("name = \"ai-dev\"\n{key} = 1\n"));

    let found = case.only("tether::config::toml_syntax");

    assert_eq!(found.message(), "invalid TOML: recursion limit");
    assert_eq!(case.text_at(&found), format!("{key} = 1"));
}

#[test]
fn crlf_line_endings_accepted() {
    let mut case = Case::new("crlf_line_endings_accepted");
    case.source = case.source.replace('\n', "\r\n");

    let checked = case.load().expect("CRLF line endings are valid TOML");

    assert_eq!(checked.environment.name, "ai-dev");
}

#[test]
fn crlf_error_span_exact() {
    let mut case = Case::new("crlf_error_span_exact").replace("replicas = 2", "replicas = \"2\"");
    case.source = case.source.replace('\n', "\r\n");

    let found = case.only("tether::config::invalid_type");

    assert_eq!(case.text_at(&found), "\"2\"");
}

#[test]
fn byte_order_mark_keeps_spans() {
    let mut case = Case::new("byte_order_mark_keeps_spans").replace("replicas = 2", "replicas = \"2\"");
    case.source.insert(0, '\u{feff}');

    let found = case.only("tether::config::invalid_type");

    assert_eq!(case.text_at(&found), "\"2\"");
}

#[test]
fn nul_byte_in_string_rejected() {
    let case = Case::new("nul_byte_in_string_rejected").replace("name = \"ai-dev\"", "name = \"ai\u{0}dev\"");

    let found = case.only("tether::config::toml_syntax");

    assert!(found.message().starts_with("invalid TOML: invalid basic string"), "{}", found.message());
    assert_eq!(case.text_at(&found), "\u{0}");
}

#[test]
fn file_at_size_limit_loads() {
    let mut case = Case::new("file_at_size_limit_loads");
    let limit = usize::try_from(MAX_FILE_BYTES).expect("1 MiB fits in usize");
    // A comment line pads the file to exactly the limit.
    let padding = limit - case.source.len() - "\n".len();
    case.source.push_str(&format!("#{}\n", "x".repeat(padding - 1)));
    assert_eq!(case.source.len(), limit);

    let checked = case.load().expect("a file of exactly the limit is read");

    assert_eq!(checked.environment.name, "ai-dev");
}

#[test]
fn file_growing_past_limit_rejected() {
    let case = Case::new("file_growing_past_limit_rejected");
    let path = case.dir.join("env.toml");
    let size = usize::try_from(MAX_FILE_BYTES).expect("1 MiB fits in usize") * 3;
    fs::write(&path, "#".repeat(size)).expect("write the large file");

    let diagnostics = tether_config::load(&path).expect_err("the file is over the limit");

    let entry = diagnostics.iter().next().expect("one diagnostic");
    assert_eq!(entry.code(), "tether::config::file_too_large");
    assert!(entry.message().contains(&format!("is {size} bytes, more than the limit of 1048576 bytes")));
}

#[test]
fn infra_id_too_long_for_iam_roles() {
    let infra_id = "i".repeat(33);
    let case = Case::new("infra_id_too_long_for_iam_roles")
        .replace("infra_id = \"ai\" ", &format!("infra_id = \"{infra_id}\" "));

    let found = case.only("tether::config::infra_id_too_long");

    assert_eq!(
        found.message(),
        format!(
            "infra id `{infra_id}` is 33 characters long, so the IAM role name `{infra_id}-cloud-network-config-controller` would be longer than 64"
        )
    );
    assert_eq!(case.text_at(&found), infra_id);
    assert!(help(&found).starts_with("shorten `cluster.infra_id` to at most 32 characters"), "{}", help(&found));
}

#[test]
fn infra_id_at_iam_limit_accepted() {
    let infra_id = "i".repeat(32);
    let case = Case::new("infra_id_at_iam_limit_accepted")
        .replace("infra_id = \"ai\" ", &format!("infra_id = \"{infra_id}\" "));

    let checked = case.load().expect("a 32-character infra id fits every IAM role name");

    assert_eq!(checked.environment.cluster.infra_id, infra_id);
}

#[test]
fn extends_directory_rejected() {
    let case =
        Case::new("extends_directory_rejected").replace("name = \"ai-dev\"", "extends = \"base\"\nname = \"ai-dev\"");
    fs::create_dir_all(case.dir.join("base")).expect("create the folder");

    let diagnostics = case.diagnostics();

    let entry = diagnostics.iter().next().expect("one diagnostic");
    assert_eq!(entry.code(), "tether::config::file_unreadable");
    assert!(entry.message().ends_with("base: it is a directory"), "{}", entry.message());
}

#[test]
fn date_time_in_place_of_table() {
    // Found by the fuzzer: `toml` passes a date-time as a table with a private key, which the model
    // used to report as an unknown key `$__toml_private_datetime` without a position.
    let case = Case::new("date_time_in_place_of_table").append("\n[drift]\nignore = [1979-05-27]\n");

    let diagnostics = case.diagnostics();

    let found = diagnostics.iter().find(|entry| entry.code() == "tether::config::invalid_type").expect("a type error");
    assert_eq!(found.message(), "`drift.ignore[0]` has the wrong type: expected a table, found a date-time");
    assert_eq!(case.text_at(found), "1979-05-27");
    assert!(diagnostics.iter().all(|entry| !entry.message().contains("$__toml_private")), "{diagnostics:?}");
}

#[test]
fn many_diagnostics_print_errors_first() {
    let mut routes = String::new();
    for third in 0..60 {
        routes.push_str(&format!(
            "\n[[onprem.routes]]\ndestination = \"10.9.{third}.0/24\"\ngateway = \"192.168.6.1\"\ndevice = \"br-ex\"\n"
        ));
    }
    routes
        .push_str("\n[[onprem.routes]]\ndestination = \"10.1.0.0/16\"\ngateway = \"10.50.0.1\"\ndevice = \"br-ex\"\n");
    let case = Case::new("many_diagnostics_print_errors_first").append(&routes);

    let diagnostics = case.diagnostics();
    let printed: Vec<_> = miette::Diagnostic::related(&diagnostics).expect("entries").collect();

    assert!(diagnostics.len() > tether_config::PRINTED_ENTRIES);
    assert_eq!(printed.len(), tether_config::PRINTED_ENTRIES);
    assert_eq!(printed[0].severity(), Some(miette::Severity::Error));
    assert!(diagnostics.to_string().ends_with("(the first 50 are shown)"), "{diagnostics}");
}
