//! Rules for node pools: names, sizes, taints, labels, root volumes and release images.

use super::aws::INSTANCE_TYPE;
use super::names::{DNS_LABEL, RELEASE_IMAGE};
use super::{Checker, SyntaxRule};
use crate::codes;
use crate::diagnostic::Diagnostic;
use crate::model::{Autoscaling, Pool, Taint};
use crate::spans::KeyPath;
use crate::syntax::aws::VOLUME_TYPES;
use crate::syntax::names::{DNS_LABEL_MAX, check_label_value, check_qualified_name};

/// Taint effects that Kubernetes accepts.
const TAINT_EFFECTS: [&str; 3] = ["NoSchedule", "PreferNoSchedule", "NoExecute"];

/// Smallest root volume that a NodePool accepts, in GiB.
const ROOT_VOLUME_MIN_GIB: i64 = 8;

const TAINT_KEY: SyntaxRule = SyntaxRule {
    code: codes::INVALID_TAINT_KEY,
    check: check_qualified_name,
    label: "not a qualified name",
    help: "use an optional DNS subdomain prefix and `/`, then 1 to 63 letters, digits, `-`, `_` and `.`, e.g. `nvidia.com/gpu`",
};

const TAINT_VALUE: SyntaxRule = SyntaxRule {
    code: codes::INVALID_TAINT_VALUE,
    check: check_label_value,
    label: "not a valid taint value",
    help: "use at most 63 letters, digits, `-`, `_` and `.`, starting and ending with a letter or digit, e.g. `present`",
};

const LABEL_KEY: SyntaxRule = SyntaxRule {
    code: codes::INVALID_LABEL_KEY,
    check: check_qualified_name,
    label: "not a qualified name",
    help: "use an optional DNS subdomain prefix and `/`, then 1 to 63 letters, digits, `-`, `_` and `.`, e.g. `nvidia.com/gpu.present`",
};

const LABEL_VALUE: SyntaxRule = SyntaxRule {
    code: codes::INVALID_LABEL_VALUE,
    check: check_label_value,
    label: "not a valid label value",
    help: "use at most 63 letters, digits, `-`, `_` and `.`, starting and ending with a letter or digit, e.g. `true`",
};

/// Checks every pool, and warns when there is none.
pub(crate) fn check(checker: &mut Checker<'_>) {
    let environment = checker.environment;
    if environment.pools.is_empty() {
        let diagnostic = Diagnostic::warning(
            codes::NO_POOLS,
            "the environment has no node pools, so the hosted cluster gets no workers",
        )
        .with_help("add a pool, e.g. `[pools.workers]` with `instance_type = \"m6i.2xlarge\"` and `replicas = 2`");
        checker.report(diagnostic);
    }
    for (name, pool) in &environment.pools {
        let path = KeyPath::of(&["pools"]).key(name);
        check_pool_name(checker, &path, name);
        checker.check_syntax(
            checker.spans.value(&path.key("instance_type")),
            "instance type",
            &pool.instance_type,
            &INSTANCE_TYPE,
        );
        check_size(checker, &path, pool);
        for (position, taint) in pool.taints.iter().enumerate() {
            check_taint(checker, &path.key("taints").index(position), taint);
        }
        check_labels(checker, &path, pool);
        check_root_volume(checker, &path, pool);
        if let Some(image) = &pool.release_image {
            checker.check_syntax(
                checker.spans.value(&path.key("release_image")),
                "release image",
                image,
                &RELEASE_IMAGE,
            );
        }
    }
}

/// Checks the pool's table key, and that the NodePool name `<cluster>-<pool>` fits in a label.
fn check_pool_name(checker: &mut Checker<'_>, path: &KeyPath, name: &str) {
    let span = checker.spans.key(path);
    if !checker.check_syntax(span.clone(), "pool name", name, &DNS_LABEL) {
        return;
    }
    let node_pool = format!("{}-{name}", checker.environment.cluster.name);
    if node_pool.len() <= DNS_LABEL_MAX {
        return;
    }
    let message = format!(
        "NodePool name `{node_pool}` (cluster name `-` pool name) is {} characters long, more than {DNS_LABEL_MAX}",
        node_pool.len()
    );
    let diagnostic = Diagnostic::error(codes::NODE_POOL_NAME_TOO_LONG, message)
        .with_label(span, "pool name")
        .with_label(checker.value_span(&["cluster", "name"]), "cluster name")
        .with_help(format!(
            "shorten the pool name or `cluster.name` so that `<cluster>-<pool>` fits in {DNS_LABEL_MAX} characters"
        ));
    checker.report(diagnostic);
}

/// Checks that the pool has exactly one of `replicas` and `autoscaling`, with sensible numbers.
fn check_size(checker: &mut Checker<'_>, path: &KeyPath, pool: &Pool) {
    match (pool.replicas, pool.autoscaling) {
        (Some(_), Some(_)) => {
            let diagnostic =
                Diagnostic::error(codes::REPLICAS_AND_AUTOSCALING, "pool sets both `replicas` and `autoscaling`")
                    .with_label(checker.spans.key(&path.key("replicas")), "fixed size")
                    .with_label(checker.spans.key(&path.key("autoscaling")), "autoscaling")
                    .with_help("remove `replicas` to let the pool autoscale, or remove `autoscaling` for a fixed size");
            checker.report(diagnostic);
        }
        (None, None) => {
            let diagnostic =
                Diagnostic::error(codes::NO_REPLICAS_OR_AUTOSCALING, "pool sets neither `replicas` nor `autoscaling`")
                    .with_label(checker.spans.key(path), "no size")
                    .with_help("add `replicas = 2` for a fixed size, or `autoscaling = { min = 1, max = 3 }`");
            checker.report(diagnostic);
        }
        (Some(replicas), None) if replicas < 0 => {
            let diagnostic =
                Diagnostic::error(codes::NEGATIVE_REPLICAS, format!("`replicas` is {replicas}, a negative node count"))
                    .with_label(checker.spans.value(&path.key("replicas")), "negative")
                    .with_help("give 0 or more replicas");
            checker.report(diagnostic);
        }
        (None, Some(bounds)) => check_autoscaling(checker, &path.key("autoscaling"), bounds),
        (Some(_), None) => {}
    }
}

fn check_autoscaling(checker: &mut Checker<'_>, path: &KeyPath, bounds: Autoscaling) {
    let min_span = checker.spans.value(&path.key("min"));
    let max_span = checker.spans.value(&path.key("max"));
    if bounds.min < 0 {
        let diagnostic = Diagnostic::error(
            codes::NEGATIVE_REPLICAS,
            format!("autoscaling `min` is {}, a negative node count", bounds.min),
        )
        .with_label(min_span.clone(), "negative")
        .with_help("give a `min` of 0 or more");
        checker.report(diagnostic);
    }
    if bounds.max < 1 {
        let diagnostic = Diagnostic::error(
            codes::AUTOSCALING_MAX_BELOW_ONE,
            format!("autoscaling `max` is {}, but it must be at least 1", bounds.max),
        )
        .with_label(max_span.clone(), "below 1")
        .with_help("give a `max` of 1 or more; for a pool with no nodes, use `replicas = 0`");
        checker.report(diagnostic);
    }
    if bounds.min > bounds.max {
        let message = format!("autoscaling `min` {} is greater than `max` {}", bounds.min, bounds.max);
        let diagnostic = Diagnostic::error(codes::AUTOSCALING_MIN_ABOVE_MAX, message)
            .with_label(min_span, "greater than max")
            .with_label(max_span, "max")
            .with_help("make `min` at most `max`");
        checker.report(diagnostic);
    }
}

fn check_taint(checker: &mut Checker<'_>, path: &KeyPath, taint: &Taint) {
    checker.check_syntax(checker.spans.value(&path.key("key")), "taint key", &taint.key, &TAINT_KEY);
    if let Some(value) = &taint.value {
        checker.check_syntax(checker.spans.value(&path.key("value")), "taint value", value, &TAINT_VALUE);
    }
    if TAINT_EFFECTS.contains(&taint.effect.as_str()) {
        return;
    }

    let help = match TAINT_EFFECTS.iter().find(|effect| effect.eq_ignore_ascii_case(&taint.effect)) {
        Some(effect) => format!("did you mean `{effect}`? Effects are case-sensitive"),
        None => "use `NoSchedule`, `PreferNoSchedule` or `NoExecute`".to_owned(),
    };
    let message = format!("taint effect `{}` is not `NoSchedule`, `PreferNoSchedule` or `NoExecute`", taint.effect);
    let diagnostic = Diagnostic::error(codes::INVALID_TAINT_EFFECT, message)
        .with_label(checker.spans.value(&path.key("effect")), "unknown effect")
        .with_help(help);
    checker.report(diagnostic);
}

fn check_labels(checker: &mut Checker<'_>, path: &KeyPath, pool: &Pool) {
    for (key, value) in &pool.labels {
        let label_path = path.key("labels").key(key);
        checker.check_syntax(checker.spans.key(&label_path), "label key", key, &LABEL_KEY);
        checker.check_syntax(checker.spans.value(&label_path), "label value", value, &LABEL_VALUE);
    }
}

fn check_root_volume(checker: &mut Checker<'_>, path: &KeyPath, pool: &Pool) {
    let volume = &pool.root_volume;
    let volume_path = path.key("root_volume");
    if volume.size_gib < ROOT_VOLUME_MIN_GIB {
        let message =
            format!("root volume size {} GiB is below the minimum of {ROOT_VOLUME_MIN_GIB} GiB", volume.size_gib);
        let diagnostic = Diagnostic::error(codes::ROOT_VOLUME_TOO_SMALL, message)
            .with_label(checker.spans.value(&volume_path.key("size_gib")), "too small")
            .with_help("give at least 8 GiB; the `hcp` CLI's default is 120");
        checker.report(diagnostic);
    }
    if !VOLUME_TYPES.contains(&volume.volume_type.as_str()) {
        let message = format!("root volume type `{}` is not an EBS volume type", volume.volume_type);
        let diagnostic = Diagnostic::error(codes::INVALID_VOLUME_TYPE, message)
            .with_label(checker.spans.value(&volume_path.key("type")), "unknown volume type")
            .with_help(format!(
                "use one of {}; `gp3` is the usual choice",
                VOLUME_TYPES.map(|kind| format!("`{kind}`")).join(", ")
            ));
        checker.report(diagnostic);
    }
}
