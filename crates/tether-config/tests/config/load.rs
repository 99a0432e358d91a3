//! Loading: unreadable and oversized files, TOML syntax and type errors, unknown keys, and reporting
//! several problems at once.

use std::fs;

use tether_config::{MAX_FILE_BYTES, Severity, load};

use crate::support::{Case, help};

#[test]
fn missing_file_is_reported() {
    let case = Case::new("missing_file_is_reported");

    let diagnostics = load(&case.dir.join("absent.toml")).expect_err("the file does not exist");

    let entry = diagnostics.iter().next().expect("one diagnostic");
    assert_eq!(entry.code(), "tether::config::file_unreadable");
    assert!(entry.message().contains("absent.toml not found"), "{}", entry.message());
    assert!(help(entry).contains("examples/ai-dev.toml"));
    assert_eq!(entry.span(), None);
}

#[test]
fn directory_is_reported() {
    let case = Case::new("directory_is_reported");

    let diagnostics = load(&case.dir).expect_err("a directory is not a file");

    let entry = diagnostics.iter().next().expect("one diagnostic");
    assert_eq!(entry.code(), "tether::config::file_unreadable");
    assert!(entry.message().contains("directory"), "{}", entry.message());
}

#[test]
fn oversized_file_is_rejected_before_parsing() {
    let case = Case::new("oversized_file_is_rejected_before_parsing");
    let path = case.dir.join("big.toml");
    // Not TOML at all, so a parse would fail with another code.
    let size = usize::try_from(MAX_FILE_BYTES).expect("1 MiB fits in usize") + 1;
    fs::write(&path, "{".repeat(size)).expect("write the large file");

    let diagnostics = load(&path).expect_err("the file is over the limit");

    assert_eq!(diagnostics.len(), 1);
    let entry = diagnostics.iter().next().expect("one diagnostic");
    assert_eq!(entry.code(), "tether::config::file_too_large");
    assert!(
        entry.message().contains("1048577 bytes, more than the limit of 1048576 bytes (1 MiB)"),
        "{}",
        entry.message()
    );
    assert!(help(entry).contains("right file"));
}

#[test]
fn non_utf8_file_is_reported() {
    let case = Case::new("non_utf8_file_is_reported");
    let path = case.dir.join("latin1.toml");
    fs::write(&path, b"name = \"caf\xe9\"\n").expect("write the file");

    let diagnostics = load(&path).expect_err("the file is not UTF-8");

    let entry = diagnostics.iter().next().expect("one diagnostic");
    assert_eq!(entry.code(), "tether::config::not_utf8");
    assert!(entry.message().contains("invalid byte at offset 11"), "{}", entry.message());
    assert!(help(entry).contains("UTF-8"));
}

#[test]
fn toml_syntax_error_points_at_position() {
    let case = Case::new("toml_syntax_error_points_at_position").replace("replicas = 2", "replicas = 2 3");

    let found = case.only("tether::config::toml_syntax");

    assert_eq!(found.message(), "invalid TOML: string values must be quoted, expected literal string");
    assert_eq!(help(&found), "fix the TOML syntax at the marked position");
    assert_eq!(case.text_at(&found), "2 3");
}

#[test]
fn duplicate_key_is_a_syntax_error() {
    let case = Case::new("duplicate_key_is_a_syntax_error").replace("replicas = 2", "replicas = 2\nreplicas = 3");

    let found = case.only("tether::config::toml_syntax");

    assert!(found.message().contains("duplicate key"), "{}", found.message());
    assert_eq!(case.text_at(&found), "replicas");
}

#[test]
fn wrong_type_names_key_and_types() {
    let case = Case::new("wrong_type_names_key_and_types").replace("replicas = 2", "replicas = \"2\"");

    let found = case.only("tether::config::invalid_type");

    assert_eq!(found.message(), "`pools.workers.replicas` has the wrong type: expected an integer, found string \"2\"");
    assert!(help(&found).starts_with("write an integer here. `replicas`: Fixed node count"), "{}", help(&found));
    assert_eq!(case.text_at(&found), "\"2\"");
}

#[test]
fn account_id_as_integer_is_a_type_error() {
    let case = Case::new("account_id_as_integer_is_a_type_error")
        .replace("account_id = \"123456789012\"", "account_id = 123456789012");

    let found = case.only("tether::config::invalid_type");

    assert_eq!(found.message(), "`aws.account_id` has the wrong type: expected a string, found integer `123456789012`");
    assert!(help(&found).contains("12 digits"), "{}", help(&found));
    assert_eq!(case.text_at(&found), "123456789012");
}

#[test]
fn missing_key_points_at_its_table() {
    let case = Case::new("missing_key_points_at_its_table").replace("region = \"ap-southeast-2\"\n", "");

    let found = case.only("tether::config::missing_key");

    assert_eq!(found.message(), "missing key `region` in `[aws]`");
    assert!(help(&found).starts_with("add `region` to `[aws]`. `region`: AWS region"), "{}", help(&found));
    assert_eq!(case.text_at(&found), "[aws]");
}

#[test]
fn unknown_key_suggests_close_match() {
    let case = Case::new("unknown_key_suggests_close_match")
        .replace("region = \"ap-southeast-2\"", "region = \"ap-southeast-2\"\nregoin = \"x\"");

    let found = case.only("tether::config::unknown_key");

    assert_eq!(found.message(), "unknown key `regoin` in `[aws]`");
    assert!(help(&found).starts_with("did you mean `region`?"), "{}", help(&found));
    assert!(help(&found).contains("`account_id`, `nat`, `oidc_bucket`, `oidc_bucket_region`, `region`, `role_arn`, `sts_credentials_file`, `vpc_cidr`, `zones`"));
    assert_eq!(case.text_at(&found), "regoin");
}

#[test]
fn unknown_keys_are_all_reported() {
    let case = Case::new("unknown_keys_are_all_reported")
        .replace("name = \"ai-dev\"", "name = \"ai-dev\"\nowner = \"platform\"")
        .replace("replicas = 2", "replicas = 2\ncolour = \"blue\"")
        .replace("effect = \"NoSchedule\" }", "effect = \"NoSchedule\", operator = \"Exists\" }")
        .replace("device = \"br-ex\"", "device = \"br-ex\"\nmetric = 100");

    let diagnostics = case.diagnostics();

    let unknown: Vec<_> = diagnostics.iter().filter(|entry| entry.code() == "tether::config::unknown_key").collect();
    let keys: Vec<&str> = unknown.iter().map(|entry| case.text_at(entry)).collect();
    // In file order: `[pools.workers]` comes before `[pools.gpu]`.
    assert_eq!(keys, ["owner", "metric", "colour", "operator"]);
    assert_eq!(unknown[0].message(), "unknown key `owner` at the top level");
    assert_eq!(unknown[1].message(), "unknown key `metric` in `[onprem.routes[0]]`");
    assert_eq!(unknown[2].message(), "unknown key `colour` in `[pools.workers]`");
    assert_eq!(unknown[3].message(), "unknown key `operator` in `[pools.gpu.taints[0]]`");
    assert!(help(unknown[2]).starts_with("remove this key; the keys allowed in `[pools.workers]` are "));
    assert!(help(unknown[2]).contains("`replicas`"));
    assert!(help(unknown[3]).contains("`effect`, `key`, `value`"));
    assert_eq!(diagnostics.iter().filter(|entry| entry.is_error()).count(), 4);
}

#[test]
fn several_problems_are_reported_together() {
    let case = Case::new("several_problems_are_reported_together")
        // A pool that autoscales from zero would add its own warning.
        .replace("autoscaling = { min = 0, max = 2 }", "autoscaling = { min = 1, max = 2 }")
        .replace("vpc_cidr = \"10.1.0.0/16\"", "vpc_cidr = \"10.1.0.0/20\"")
        .replace("zones = [\"ap-southeast-2a\"]", "zones = [\"us-east-1a\"]")
        .replace("effect = \"NoSchedule\"", "effect = \"NoScheduel\"")
        .replace("replicas = 2", "replicas = 2\nautoscaling = { min = 1, max = 3 }")
        .replace("pull_secret_file = \"pull-secret.example.json\"", "pull_secret_file = \"absent.json\"")
        .replace("base_domain = \"hcp.example.com\"", "base_domain = \"hcp.example.com\"\nversion = \"4.21\"");

    let diagnostics = case.diagnostics();

    let codes: Vec<&str> = diagnostics.iter().map(|entry| entry.code()).collect();
    assert_eq!(
        codes,
        [
            "tether::config::unknown_key",
            "tether::config::pull_secret_missing",
            "tether::config::zone_not_in_region",
            "tether::config::vpc_cidr_prefix",
            "tether::config::replicas_and_autoscaling",
            "tether::config::invalid_taint_effect",
        ]
    );
    assert!(diagnostics.has_errors());
    assert!(diagnostics.iter().all(|entry| entry.help().is_some() && entry.span().is_some()));
    assert_eq!(diagnostics.to_string(), format!("invalid environment file {}: 6 errors", case.path().display()));
}

#[test]
fn warnings_come_with_errors() {
    let case = Case::new("warnings_come_with_errors")
        // A pool that autoscales from zero would add its own warning.
        .replace("autoscaling = { min = 0, max = 2 }", "autoscaling = { min = 1, max = 2 }")
        .replace("destination = \"10.1.0.0/16\"", "destination = \"10.9.0.0/16\"")
        .replace("ami = \"ami-12c6146b\"", "ami = \"ami-1\"");

    let diagnostics = case.diagnostics();

    let severities: Vec<Severity> = diagnostics.iter().map(|entry| entry.severity()).collect();
    assert_eq!(severities, [Severity::Warning, Severity::Error]);
    assert!(diagnostics.to_string().ends_with(": 1 error, 1 warning"), "{diagnostics}");
}

#[test]
fn miette_renders_source_line_and_help() {
    let case = Case::new("miette_renders_source_line_and_help").replace("ami = \"ami-12c6146b\"", "ami = \"ami-1\"");
    let diagnostics = case.diagnostics();

    let mut rendered = String::new();
    miette::NarratableReportHandler::new()
        .render_report(&mut rendered, &diagnostics)
        .expect("rendering to a String cannot fail");

    assert!(
        rendered.contains("subnet router AMI `ami-1` is not `ami-` followed by 8 or 17 lowercase hex digits"),
        "{rendered}"
    );
    assert!(rendered.contains("ami = \"ami-1\""), "{rendered}");
    assert!(rendered.contains("not an AMI id"), "{rendered}");
    assert!(rendered.contains("tether::config::invalid_ami"), "{rendered}");
    assert!(rendered.contains("env.toml"), "{rendered}");
}

#[test]
fn missing_table_is_named() {
    let start = "[subnet_router]";
    let end = "source_nat = false";
    let case = Case::new("missing_table_is_named");
    let from = case.source.find(start).expect("subnet router table");
    let to = case.source.find(end).expect("last subnet router key") + end.len();
    let removed = case.source[from..to].to_owned();
    let case = case.replace(&removed, "");

    let found = case.only("tether::config::missing_key");

    assert_eq!(found.message(), "missing key `subnet_router` at the top level");
    assert!(
        help(&found).starts_with("add a `[subnet_router]` table. `subnet_router`: The EC2 instance"),
        "{}",
        help(&found)
    );
    assert_eq!(found.span(), None);
}
