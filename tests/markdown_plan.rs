//! End-to-end tests of `--format markdown` on `plan` and `show`, with the `tether` binary against a
//! fresh moto and Kubernetes test server.

mod support;

use support::{Harness, describe};

#[test]
fn plan_and_show_print_markdown() {
    let harness = Harness::start();
    let file = harness.example("ai-dev.toml");
    let file = file.to_str().unwrap();

    let markdown =
        harness.tether_ok(&["plan", "--format", "markdown", "--full-output", "full.md", "-out", "ai-dev.plan", file]);
    assert!(markdown.starts_with("### tether plan for `ai-dev`: 38 to add, 0 to change, 0 to destroy\n"), "{markdown}");
    assert!(
        markdown.contains("> **This plan disrupts running nodes.**"),
        "the route MachineConfig reboots masters:\n{markdown}"
    );
    assert!(
        markdown.contains("<details open><summary><code>+</code> <b>cluster.machine_config.master-routes</b>"),
        "{markdown}"
    );
    assert!(markdown.contains("(sensitive, sha256:"), "secrets are masked as in the terminal:\n{markdown}");
    assert!(!markdown.contains("auths"), "the pull secret's plaintext never appears:\n{markdown}");
    assert!(markdown.ends_with("<!-- tether-plan environment=ai-dev -->\n"), "{markdown}");
    assert!(markdown.contains("<details><summary>Cost estimate and placement</summary>"), "{markdown}");
    assert!(markdown.contains("Where things run:"), "{markdown}");
    let full = std::fs::read_to_string(harness.dir.path().join("full.md")).unwrap();
    assert_eq!(full, markdown, "a plan within the limit is printed whole");

    let shown = harness.tether_ok(&["show", "--format", "markdown", "ai-dev.plan"]);
    assert_eq!(shown, markdown, "a saved plan shows the same Markdown");
    let text = harness.tether_ok(&["show", "--format", "text", "ai-dev.plan"]);
    assert!(text.contains("Plan: 38 to add, 0 to change, 0 to destroy."), "{text}");

    let misuse = harness.tether(&["show", "--format", "json", "--full-output", "x.md", "ai-dev.plan"]);
    assert_eq!(misuse.status.code(), Some(1), "{}", describe(&misuse));
    assert!(String::from_utf8_lossy(&misuse.stderr).contains("use it with --format markdown"), "{}", describe(&misuse));
    let conflict = harness.tether(&["show", "--format", "markdown", "--json", "ai-dev.plan"]);
    assert_eq!(conflict.status.code(), Some(2), "{}", describe(&conflict));
}
