//! Ignore rules of `[drift]`: each names a resource address (or a kind with `*`) and a dotted path.

use super::Checker;
use crate::codes;
use crate::diagnostic::Diagnostic;
use crate::spans::KeyPath;

/// Checks the form of each `[[drift.ignore]]` rule.
pub(crate) fn check(checker: &mut Checker<'_>) {
    let Some(settings) = &checker.environment.drift else { return };
    let problems: Vec<(KeyPath, String, &str)> = settings
        .ignore
        .iter()
        .enumerate()
        .flat_map(|(position, rule)| {
            let rule_path = KeyPath::of(&["drift", "ignore"]).index(position);
            let resource =
                address_problem(&rule.resource).map(|problem| (rule_path.key("resource"), problem, "address"));
            let path = path_problem(&rule.path).map(|problem| (rule_path.key("path"), problem, "path"));
            resource.into_iter().chain(path)
        })
        .collect();

    for (path, problem, what) in problems {
        let help = match what {
            "address" => {
                "write `provider.kind.name` with provider `aws`, `cluster` or `hosted`, e.g. `cluster.node_pool.gpu`, or `cluster.node_pool.*` for every pool"
            }
            _ => "write a dotted attribute path as in `tether drift` output, e.g. `spec.replicas`",
        };
        let diagnostic =
            Diagnostic::error(codes::INVALID_DRIFT_IGNORE, format!("invalid drift ignore {what}: {problem}"))
                .with_label(checker.spans.value(&path), problem)
                .with_help(help);
        checker.report(diagnostic);
    }
}

/// Describes what is wrong with an address pattern, or returns `None` when it is valid.
fn address_problem(resource: &str) -> Option<String> {
    let parts: Vec<&str> = resource.split('.').collect();
    let [provider, kind, name] = parts.as_slice() else {
        return Some(format!("`{resource}` does not have the form `provider.kind.name`"));
    };
    if !matches!(*provider, "aws" | "cluster" | "hosted") {
        return Some(format!("`{resource}` does not start with `aws.`, `cluster.` or `hosted.`"));
    }
    let invalid = |part: &str| part.is_empty() || part.contains(char::is_whitespace);
    if invalid(kind) || invalid(name) || (name.contains('*') && *name != "*") {
        return Some(format!(
            "`{resource}` has an empty kind or name, whitespace, or a `*` that is not the whole name"
        ));
    }
    None
}

/// Describes what is wrong with a dotted attribute path, or returns `None` when it is valid.
fn path_problem(path: &str) -> Option<String> {
    let invalid = |segment: &str| segment.is_empty() || segment.contains(char::is_whitespace);
    path.split('.').any(invalid).then(|| format!("`{path}` has an empty segment or whitespace"))
}
