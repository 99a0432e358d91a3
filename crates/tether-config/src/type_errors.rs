//! Diagnostics for deserialization errors: a missing key, or a value of the wrong type.

use std::ops::Range;

use crate::codes;
use crate::diagnostic::Diagnostic;
use crate::schema::{description, is_table};
use crate::spans::{KeyPath, SpanIndex};

/// Turns a `toml` deserialization error into a diagnostic, naming the key it is about when the error's
/// span identifies one.
pub(crate) fn describe(error: &toml::de::Error, spans: &SpanIndex) -> Diagnostic {
    let span = error.span().filter(|span| !span.is_empty());
    let path = span.as_ref().and_then(|span| spans.path_of_value(span)).cloned();
    let message = error.message();

    if let Some(key) = message.strip_prefix("missing field `").and_then(|rest| rest.strip_suffix('`')) {
        return missing_key(key, &path.unwrap_or_default(), span);
    }
    match message.strip_prefix("invalid type: ").and_then(|rest| rest.split_once(", expected ")) {
        Some((found, expected)) => wrong_type(found, expected, path.as_ref(), span),
        None => {
            let subject = path.map_or_else(|| "invalid value".to_owned(), |path| format!("invalid value for `{path}`"));
            Diagnostic::error(codes::INVALID_TYPE, format!("{subject}: {message}"))
                .with_label(span, "invalid value")
                .with_help("fix the value; `schemas/environment.schema.json` describes the type of every key")
        }
    }
}

fn missing_key(key: &str, table: &KeyPath, span: Option<Range<usize>>) -> Diagnostic {
    let key_path = table.key(key);
    let place = if table.is_root() { "at the top level".to_owned() } else { format!("in `[{table}]`") };
    let addition = if is_table(&key_path) {
        format!("add a `[{key_path}]` table")
    } else if table.is_root() {
        format!("add `{key}` at the top level")
    } else {
        format!("add `{key}` to `[{table}]`")
    };
    let help = match description(&key_path) {
        Some(description) => format!("{addition}. `{key}`: {description}"),
        None => addition,
    };
    Diagnostic::error(codes::MISSING_KEY, format!("missing key `{key}` {place}"))
        .with_label(span, format!("`{key}` missing here"))
        .with_help(help)
}

fn wrong_type(found: &str, expected: &str, path: Option<&KeyPath>, span: Option<Range<usize>>) -> Diagnostic {
    let expected = plain_type(expected);
    let subject = path.map_or_else(|| "a value".to_owned(), |path| format!("`{path}`"));
    let message = format!("{subject} has the wrong type: expected {expected}, found {found}");
    let described = path.and_then(|path| Some((path.last_key()?, description(path)?)));
    let help = match described {
        Some((key, description)) => format!("write {expected} here. `{key}`: {description}"),
        None => format!("write {expected} here"),
    };
    Diagnostic::error(codes::INVALID_TYPE, message).with_label(span, format!("expected {expected}")).with_help(help)
}

/// Turns serde's name for the expected type into the TOML word for it.
fn plain_type(expected: &str) -> String {
    let plain = match expected {
        "i8" | "i16" | "i32" | "i64" | "u8" | "u16" | "u32" | "u64" => "an integer",
        "a boolean" => "a boolean (`true` or `false`)",
        "a string" => "a string",
        "a sequence" => "an array",
        "a map" => "a table",
        other if other.starts_with("struct ") => "a table",
        other => other,
    };
    plain.to_owned()
}
