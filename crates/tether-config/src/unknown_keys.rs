//! Diagnostics for keys that the environment file's tables do not allow, with "did you mean" help.

use crate::codes;
use crate::diagnostic::Diagnostic;
use crate::schema::allowed_keys;
use crate::spans::{KeyPath, Segment, SpanIndex};

/// Converts a path that `serde_ignored` reports into a key path.
pub(crate) fn key_path(ignored: &serde_ignored::Path<'_>) -> KeyPath {
    let mut path = match ignored {
        serde_ignored::Path::Root => return KeyPath::root(),
        serde_ignored::Path::Seq { parent, .. }
        | serde_ignored::Path::Map { parent, .. }
        | serde_ignored::Path::Some { parent }
        | serde_ignored::Path::NewtypeStruct { parent }
        | serde_ignored::Path::NewtypeVariant { parent } => key_path(parent),
    };
    match ignored {
        serde_ignored::Path::Seq { index, .. } => path.push(Segment::Index(*index)),
        serde_ignored::Path::Map { key, .. } => path.push(Segment::Key(key.clone())),
        _ => {}
    }
    path
}

/// Builds the diagnostic for the unknown key at `path`.
pub(crate) fn unknown_key(path: &KeyPath, spans: &SpanIndex) -> Diagnostic {
    let table = path.parent().unwrap_or_default();
    let key = path.last_key().unwrap_or_default();
    let allowed = allowed_keys(&table);
    let place = if table.is_root() { "at the top level".to_owned() } else { format!("in `[{table}]`") };

    let listed = allowed.iter().map(|name| format!("`{name}`")).collect::<Vec<_>>().join(", ");
    let help = match closest(key, &allowed) {
        Some(suggestion) => {
            format!("did you mean `{suggestion}`? The keys allowed {place} are {listed}")
        }
        None if allowed.is_empty() => "remove this key".to_owned(),
        None => format!("remove this key; the keys allowed {place} are {listed}"),
    };

    Diagnostic::error(codes::UNKNOWN_KEY, format!("unknown key `{key}` {place}"))
        .with_label(spans.key(path), "unknown key")
        .with_help(help)
}

/// Returns the allowed key closest to `unknown` by edit distance, if it is close enough to be a typo.
fn closest<'a>(unknown: &str, allowed: &'a [String]) -> Option<&'a str> {
    let limit = (unknown.chars().count() / 3).max(1);
    allowed
        .iter()
        .map(|candidate| (edit_distance(unknown, candidate), candidate))
        .filter(|(distance, _)| *distance <= limit)
        .min_by_key(|(distance, _)| *distance)
        .map(|(_, candidate)| candidate.as_str())
}

/// Levenshtein distance between two strings, counted in characters.
fn edit_distance(left: &str, right: &str) -> usize {
    let right: Vec<char> = right.chars().collect();
    let mut previous: Vec<usize> = (0..=right.len()).collect();
    for (row, left_char) in left.chars().enumerate() {
        let mut current = vec![row + 1; right.len() + 1];
        for (column, right_char) in right.iter().enumerate() {
            let substitution = previous[column] + usize::from(left_char != *right_char);
            let deletion = previous[column + 1] + 1;
            let insertion = current[column] + 1;
            current[column + 1] = substitution.min(deletion).min(insertion);
        }
        previous = current;
    }
    previous[right.len()]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn edit_distance_counts_single_edits() {
        assert_eq!(edit_distance("region", "region"), 0);
        assert_eq!(edit_distance("regoin", "region"), 2);
        assert_eq!(edit_distance("zone", "zones"), 1);
        assert_eq!(edit_distance("", "abc"), 3);
    }

    #[test]
    fn closest_ignores_distant_keys() {
        let allowed = vec!["account_id".to_owned(), "region".to_owned()];
        assert_eq!(closest("regin", &allowed), Some("region"));
        assert_eq!(closest("colour", &allowed), None);
    }
}
