//! Golden tests of the Markdown plan, each with assertions on the plan data it renders. Plans are
//! built in code.
//!
//! `TETHER_BLESS=1 cargo test -p tether-render --test markdown` rewrites the files under
//! `tests/golden/`.

use std::collections::BTreeSet;
use std::path::PathBuf;

use tether_model::{
    Action, ActionReason, Address, AttributeChange, Attributes, Disruption, NodeCount, PLAN_FORMAT_VERSION, Plan,
    ResourceChange, Sensitive, Value,
};
use tether_render::{
    Appendix, FullPlanLocation, GITHUB_COMMENT_MAX_CHARS, MarkdownOptions, comment_marker, render_markdown,
};

fn address(text: &str) -> Address {
    text.parse().unwrap()
}

fn attributes(entries: &[(&str, Value)]) -> Attributes {
    entries.iter().map(|(key, value)| ((*key).to_owned(), value.clone())).collect()
}

fn change(text: &str, action: Action) -> ResourceChange {
    ResourceChange {
        address: address(text),
        action,
        reasons: Vec::new(),
        id: None,
        before: None,
        after: None,
        attribute_changes: Vec::new(),
        depends_on: BTreeSet::new(),
        disruption: Vec::new(),
        create_before_destroy: false,
    }
}

fn attribute(path: &str, before: Option<Value>, after: Option<Value>) -> AttributeChange {
    AttributeChange { path: path.to_owned(), before, after, forces_replacement: false }
}

fn plan(changes: Vec<ResourceChange>) -> Plan {
    let mut changes = changes;
    changes.sort_by(|left, right| left.address.cmp(&right.address));
    Plan {
        format_version: PLAN_FORMAT_VERSION,
        environment: "ai-dev".to_owned(),
        changes,
        fingerprint: "sha256:00".to_owned(),
    }
}

fn github_options() -> MarkdownOptions {
    MarkdownOptions { max_bytes: Some(GITHUB_COMMENT_MAX_CHARS), full_plan: Vec::new(), appendix: None }
}

/// Compares `rendered` with `tests/golden/<name>.md`, or rewrites it with `TETHER_BLESS=1`.
fn assert_golden(name: &str, rendered: &str) {
    let path: PathBuf = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/golden").join(format!("{name}.md"));
    if std::env::var_os("TETHER_BLESS").is_some_and(|value| value == "1") {
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(&path, rendered).unwrap();
        return;
    }
    let expected = std::fs::read_to_string(&path)
        .unwrap_or_else(|error| panic!("{}: {error}; run with TETHER_BLESS=1 to create it", path.display()));
    assert_eq!(
        rendered,
        expected,
        "the Markdown differs from {}; rerun with TETHER_BLESS=1 if intended",
        path.display()
    );
}

/// Builds a plan with a node pool whose maximum grows, a new subnet that refers to the VPC, and a new pull secret.
fn small_change() -> Plan {
    let vpc = address("aws.vpc.main");
    let mut subnet = change("aws.subnet.private-b", Action::Create);
    subnet.reasons = vec![ActionReason::NotFound];
    subnet.after = Some(attributes(&[
        ("cidr_block", Value::from("10.1.32.0/20")),
        ("vpc_id", Value::reference_to_id(&vpc)),
        ("tags", Value::map([("Name", Value::from("ai-private-b"))])),
    ]));
    let mut secret = change("cluster.secret.pull-secret", Action::Create);
    secret.reasons = vec![ActionReason::NotFound];
    secret.after =
        Some(attributes(&[("data", Value::map([(".dockerconfigjson", Value::Sensitive(Sensitive::new("hunter2")))]))]));
    let mut pool = change("cluster.node_pool.workers", Action::Update);
    pool.reasons = vec![ActionReason::AttributesDiffer];
    pool.id = Some("hcp-ai/ai-workers".to_owned());
    pool.attribute_changes = vec![attribute("spec.autoScaling.max", Some(Value::Int(2)), Some(Value::Int(3)))];
    plan(vec![subnet, secret, pool])
}

#[test]
fn no_changes_golden() {
    let mut unchanged = change("aws.vpc.main", Action::NoOp);
    unchanged.id = Some("vpc-123".to_owned());
    let plan = plan(vec![unchanged]);
    let rendered = render_markdown(&plan, &github_options());

    assert_golden("no-changes", &rendered);
    assert!(!plan.has_changes());
    assert!(rendered.starts_with("### tether plan for `ai-dev`: no changes\n"), "{rendered}");
    assert!(rendered.contains("No changes."), "{rendered}");
    assert!(rendered.contains(&comment_marker("ai-dev")), "{rendered}");
    assert!(!rendered.contains("<details"), "{rendered}");
}

#[test]
fn small_change_golden() {
    let plan = small_change();
    let rendered = render_markdown(&plan, &github_options());

    assert_golden("small-change", &rendered);
    assert_eq!(plan.summary().to_string(), "2 to add, 1 to change, 0 to destroy");
    assert!(rendered.starts_with("### tether plan for `ai-dev`: 2 to add, 1 to change, 0 to destroy\n"), "{rendered}");
    assert!(!rendered.contains("[!WARNING]"), "nothing destroyed or disrupted:\n{rendered}");
    assert!(!rendered.contains("hunter2"), "{rendered}");
    let digest = Sensitive::new("hunter2").short_digest();
    let secret_line = format!("+ data = {{\n+     \".dockerconfigjson\" = (sensitive, {digest})\n+ }}\n");
    assert!(rendered.contains(&secret_line), "{rendered}");
    assert!(rendered.contains("+ vpc_id = (known after apply)\n"), "{rendered}");
    assert!(rendered.contains("- spec.autoScaling.max = 2\n+ spec.autoScaling.max = 3\n"), "{rendered}");
    let update = rendered.find("cluster.node_pool.workers</b>").unwrap();
    let create = rendered.find("aws.subnet.private-b</b>").unwrap();
    assert!(update < create, "updates come before creates:\n{rendered}");
}

#[test]
fn destroy_golden() {
    let mut old = change("aws.subnet.private-old", Action::Delete);
    old.reasons = vec![ActionReason::NotInConfiguration];
    old.id = Some("subnet-0abc".to_owned());
    old.before = Some(attributes(&[
        ("cidr_block", Value::from("10.1.64.0/20")),
        ("tags", Value::map([("Name", Value::from("</details><script>alert(1)</script>\n```\n# @team"))])),
    ]));
    let plan = plan(vec![old, small_change().change(&address("cluster.node_pool.workers")).unwrap().clone()]);
    let rendered = render_markdown(&plan, &github_options());

    assert_golden("destroy", &rendered);
    assert_eq!(plan.summary().destroy, 1);
    assert!(rendered.contains("> [!WARNING]\n> **This plan destroys 1 resource.**"), "{rendered}");
    assert!(rendered.contains("> - destroys `aws.subnet.private-old`"), "{rendered}");
    let destroy = rendered.find("aws.subnet.private-old</b>").unwrap();
    let update = rendered.find("cluster.node_pool.workers</b>").unwrap();
    assert!(destroy < update, "destroys come first:\n{rendered}");
    assert!(rendered.contains("<details open><summary><code>-</code>"), "{rendered}");
    assert_eq!(
        rendered.lines().filter(|line| *line == "</details>").count(),
        2,
        "a value cannot close a section:\n{rendered}"
    );
    assert!(!rendered.contains("<script>alert(1)</script>\n"), "the value stays one quoted line:\n{rendered}");
}

#[test]
fn disruptive_change_golden() {
    let mut pool = change("cluster.node_pool.gpu", Action::Update);
    pool.reasons = vec![ActionReason::AttributesDiffer];
    pool.attribute_changes = vec![attribute(
        "spec.platform.aws.instanceType",
        Some(Value::from("g6.xlarge")),
        Some(Value::from("g6e.xlarge")),
    )];
    pool.disruption = vec![Disruption::RollingReplacement {
        pool: "ai-gpu".to_owned(),
        nodes: NodeCount::AtMost(2),
        paths: vec!["spec.platform.aws.instanceType".to_owned()],
    }];
    let mut routes = change("cluster.machine_config.master-routes", Action::Update);
    routes.reasons = vec![ActionReason::AttributesDiffer];
    routes.attribute_changes = vec![attribute(
        "spec.config.storage.files",
        Some(Value::List(vec![Value::from(
            "data:text/plain;charset=utf-8;base64,aXAgcm91dGUgcmVwbGFjZSAxMC4xLjAuMC8xNiB2aWEgMTkyLjE2OC42LjEK",
        )])),
        Some(Value::List(vec![Value::from(
            "data:text/plain;charset=utf-8;base64,aXAgcm91dGUgcmVwbGFjZSAxMC4xLjAuMC8xNiB2aWEgMTkyLjE2OC42LjI1NAo=",
        )])),
    )];
    routes.disruption = vec![Disruption::RollingReboot { role: "master".to_owned() }];
    let mut cluster = change("cluster.hosted_cluster.ai", Action::Replace);
    cluster.reasons =
        vec![ActionReason::ForcesReplacement { paths: vec!["spec.networking.serviceNetwork".to_owned()] }];
    cluster.attribute_changes = vec![AttributeChange {
        forces_replacement: true,
        ..attribute(
            "spec.networking.serviceNetwork",
            Some(Value::from("172.30.0.0/16")),
            Some(Value::from("172.31.0.0/16")),
        )
    }];
    cluster.disruption = vec![Disruption::ClusterReplaced { cluster: "ai".to_owned() }];
    let mut taints = change("cluster.node_pool.workers", Action::Update);
    taints.attribute_changes = vec![attribute("spec.taints", None, Some(Value::List(vec![Value::from("dedicated")])))];
    taints.disruption =
        vec![Disruption::NewNodesOnly { pool: "ai-workers".to_owned(), paths: vec!["spec.taints".to_owned()] }];
    let plan = plan(vec![pool, routes, cluster, taints]);
    let rendered = render_markdown(&plan, &github_options());

    assert_golden("disruptive-change", &rendered);
    assert_eq!(plan.disruptions().count(), 4);
    assert!(rendered.contains("**This plan replaces 1 resource and disrupts running nodes.**"), "{rendered}");
    assert!(rendered.contains("> - `cluster.node_pool.gpu`: replaces up to 2 nodes of NodePool ai-gpu"), "{rendered}");
    assert!(rendered.contains("> - `cluster.machine_config.master-routes`: drains and reboots"), "{rendered}");
    assert!(!rendered.contains("> - `cluster.node_pool.workers`"), "new-nodes-only is no disruption:\n{rendered}");
    let order: Vec<usize> =
        ["hosted_cluster.ai</b>", "master-routes</b>", "node_pool.gpu</b>", "node_pool.workers</b>"]
            .iter()
            .map(|needle| rendered.find(needle).unwrap())
            .collect();
    assert!(order.windows(2).all(|pair| pair[0] < pair[1]), "replace, disruptions, then updates:\n{rendered}");
    assert!(
        rendered.contains(
            "- ip route replace 10.1.0.0/16 via 192.168.6.1\n+ ip route replace 10.1.0.0/16 via 192.168.6.254\n"
        ),
        "{rendered}"
    );
    assert!(rendered.contains("  # forces replacement"), "{rendered}");
}

/// Builds a plan of 400 new resources with large attributes, then one destroy and one pool rollout.
fn oversized_plan() -> Plan {
    let mut changes = Vec::new();
    for index in 0..400 {
        let mut subnet = change(&format!("aws.subnet.generated-{index:03}"), Action::Create);
        let tags: Vec<(String, Value)> = (0..20)
            .map(|tag| (format!("team.example.com/tag-{tag:02}"), Value::from(format!("value-{index}-{tag}"))))
            .collect();
        subnet.after = Some(attributes(&[
            ("cidr_block", Value::from(format!("10.{}.{}.0/24", index / 256, index % 256))),
            ("tags", Value::map(tags)),
        ]));
        changes.push(subnet);
    }
    let mut old = change("aws.subnet.zz-retired", Action::Delete);
    old.id = Some("subnet-0old".to_owned());
    changes.push(old);
    let mut pool = change("cluster.node_pool.gpu", Action::Update);
    pool.attribute_changes =
        vec![attribute("spec.release.image", Some(Value::from("4.18.1")), Some(Value::from("4.18.2")))];
    pool.disruption = vec![Disruption::RollingReplacement {
        pool: "ai-gpu".to_owned(),
        nodes: NodeCount::Exactly(3),
        paths: vec!["spec.release.image".to_owned()],
    }];
    changes.push(pool);
    plan(changes)
}

#[test]
fn oversized_plan_golden() {
    let plan = oversized_plan();
    let options = MarkdownOptions {
        max_bytes: Some(GITHUB_COMMENT_MAX_CHARS),
        full_plan: vec![FullPlanLocation::JobSummary { url: Some("https://github.com/o/n/actions/runs/7".to_owned()) }],
        appendix: None,
    };
    let rendered = render_markdown(&plan, &options);
    let unlimited = render_markdown(&plan, &MarkdownOptions::default());

    assert_golden("oversized", &rendered);
    assert!(unlimited.len() > 3 * GITHUB_COMMENT_MAX_CHARS, "the plan needs shortening: {} bytes", unlimited.len());
    assert!(rendered.len() <= GITHUB_COMMENT_MAX_CHARS, "{} bytes", rendered.len());
    assert!(rendered.chars().count() <= GITHUB_COMMENT_MAX_CHARS);
    assert_eq!(plan.summary().to_string(), "400 to add, 1 to change, 1 to destroy");
    assert!(
        rendered.starts_with("### tether plan for `ai-dev`: 400 to add, 1 to change, 1 to destroy\n"),
        "summary intact"
    );
    assert!(rendered.contains("> - destroys `aws.subnet.zz-retired`"), "banner intact");
    assert!(rendered.contains("> - `cluster.node_pool.gpu`: replaces 3 nodes of NodePool ai-gpu"), "banner intact");
    assert!(rendered.contains("<details open><summary><code>-</code> <b>aws.subnet.zz-retired</b>"), "destroy in full");
    assert!(rendered.contains("<details open><summary><code>~</code> <b>cluster.node_pool.gpu</b>"), "rollout in full");
    assert!(
        rendered.contains("- `+` `aws.subnet.generated-399` will be created (diff left out)\n"),
        "every resource named"
    );
    assert!(rendered.contains("the diff of "), "{}", &rendered[rendered.len() - 600..]);
    assert!(
        rendered
            .contains("The full plan is in the [job summary](https://github.com/o/n/actions/runs/7) of this CI run.")
    );
    assert!(rendered.ends_with(&format!("{}\n", comment_marker("ai-dev"))));
    assert!(unlimited.contains("<b>aws.subnet.generated-399</b>"));
    assert!(!unlimited.contains("Left out"));
}

#[test]
fn tight_limit_leaves_resources_out() {
    let plan = oversized_plan();
    let options = MarkdownOptions {
        max_bytes: Some(8_000),
        full_plan: vec![FullPlanLocation::File("plan.md".to_owned())],
        appendix: Some(cost_appendix()),
    };
    let rendered = render_markdown(&plan, &options);

    assert!(rendered.len() <= 8_000, "{} bytes", rendered.len());
    assert!(rendered.contains("resources entirely"), "{rendered}");
    assert!(rendered.contains("The full plan is in the file `plan.md`."), "{rendered}");
    assert!(rendered.contains("<b>aws.subnet.zz-retired</b>"), "the destroy is kept:\n{rendered}");
    assert!(!rendered.contains("Estimated cost change"), "the appendix goes first:\n{rendered}");
    assert!(rendered.contains("resources entirely and the section \"Cost estimate and placement\"."), "{rendered}");
}

fn cost_appendix() -> Appendix {
    Appendix {
        title: "Cost estimate and placement".to_owned(),
        text: "Estimated cost change: +$0.4120/hour\n```\n</details>\n".to_owned(),
    }
}

#[test]
fn appendix_follows_resources() {
    let plan = small_change();
    let options = MarkdownOptions { appendix: Some(cost_appendix()), ..github_options() };
    let rendered = render_markdown(&plan, &options);

    let appendix = "<details><summary>Cost estimate and placement</summary>\n\n````text\nEstimated cost change: +$0.4120/hour\n```\n</details>\n````\n\n</details>\n\n<!-- tether-plan";
    assert!(rendered.contains(appendix), "{rendered}");
    assert!(rendered.find("pull-secret</b>").unwrap() < rendered.find("Cost estimate").unwrap(), "{rendered}");
    assert!(!rendered.contains("Left out"), "{rendered}");
}
