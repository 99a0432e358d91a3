//! Documents embedded in string attributes: base64 `data:` URLs (a MachineConfig's dispatcher
//! script) and JSON documents (IAM policies), decoded so a change shows as a line diff.

use std::collections::BTreeMap;
use std::fmt::Write as _;

use base64::Engine as _;
use similar::{ChangeTag, TextDiff};
use tether_model::Value;

/// A decoded document found inside an attribute value.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Document {
    /// The document's encoding, e.g. `base64 data URL` or `JSON document`.
    pub(crate) form: &'static str,
    /// The decoded text, one line per line of the document.
    pub(crate) text: String,
}

/// Decodes a string that is an embedded document; `None` for any other string.
pub(crate) fn decode(text: &str) -> Option<Document> {
    if let Some(rest) = text.strip_prefix("data:") {
        let (header, payload) = rest.split_once(',')?;
        if !header.ends_with(";base64") {
            return None;
        }
        let bytes = base64::engine::general_purpose::STANDARD.decode(payload).ok()?;
        return String::from_utf8(bytes).ok().map(|text| Document { form: "base64 data URL", text });
    }
    let trimmed = text.trim_start();
    if trimmed.starts_with('{') || trimmed.starts_with('[') {
        let json: serde_json::Value = serde_json::from_str(trimmed).ok()?;
        if json.is_object() || json.as_array().is_some_and(|items| !items.is_empty()) {
            let pretty = serde_json::to_string_pretty(&json).ok()?;
            return Some(Document { form: "JSON document", text: pretty + "\n" });
        }
    }
    None
}

/// Collects every embedded document inside `value`, keyed by its path below the value,
/// e.g. `[0].contents.source`.
pub(crate) fn collect(value: &Value) -> BTreeMap<String, Document> {
    let mut found = BTreeMap::new();
    walk(value, String::new(), &mut found);
    found
}

fn walk(value: &Value, path: String, found: &mut BTreeMap<String, Document>) {
    match value {
        Value::String(text) => {
            if let Some(document) = decode(text) {
                found.insert(path, document);
            }
        }
        Value::List(items) => {
            for (index, item) in items.iter().enumerate() {
                walk(item, format!("{path}[{index}]"), found);
            }
        }
        Value::Map(map) => {
            for (key, item) in map {
                walk(item, format!("{path}.{key}"), found);
            }
        }
        _ => {}
    }
}

/// Replaces each embedded document inside `value` with a short placeholder, because its
/// decoded text is shown separately.
pub(crate) fn summarise(value: &Value) -> Value {
    match value {
        Value::String(text) => match decode(text) {
            Some(document) => {
                Value::String(format!("({}, {} lines, decoded below)", document.form, document.text.lines().count()))
            }
            None => value.clone(),
        },
        Value::List(items) => Value::List(items.iter().map(summarise).collect()),
        Value::Map(map) => Value::Map(map.iter().map(|(key, item)| (key.clone(), summarise(item))).collect()),
        _ => value.clone(),
    }
}

/// Writes a line diff of two versions of a document, every line prefixed by `indent` spaces
/// and a `+`, `-` or space marker. A missing side counts as an empty document.
pub(crate) fn write_line_diff(out: &mut String, before: Option<&Document>, after: Option<&Document>, indent: usize) {
    let old = before.map_or("", |document| document.text.as_str());
    let new = after.map_or("", |document| document.text.as_str());
    let diff = TextDiff::from_lines(old, new);
    for change in diff.iter_all_changes() {
        let marker = match change.tag() {
            ChangeTag::Delete => '-',
            ChangeTag::Insert => '+',
            ChangeTag::Equal => ' ',
        };
        let line = change.value().trim_end_matches('\n');
        let _ = writeln!(out, "{:indent$}{marker} {line}", "");
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn data_url_decodes_to_text() {
        let payload = base64::engine::general_purpose::STANDARD.encode("#!/bin/bash\nexit 0\n");
        let document = decode(&format!("data:text/plain;charset=utf-8;base64,{payload}")).unwrap();
        assert_eq!(document.text, "#!/bin/bash\nexit 0\n");
    }

    #[test]
    fn json_policy_decodes_pretty() {
        let document = decode(r#"{"Version":"2012-10-17","Statement":[]}"#).unwrap();
        assert!(document.text.contains("\"Version\": \"2012-10-17\""), "{}", document.text);
    }

    #[test]
    fn plain_strings_are_not_documents() {
        assert_eq!(decode("m6i.2xlarge"), None);
        assert_eq!(decode("data:text/plain,hello"), None);
        assert_eq!(decode("{not json"), None);
    }

    #[test]
    fn line_diff_marks_changed_lines() {
        let before = Document { form: "test", text: "a\nb\n".to_owned() };
        let after = Document { form: "test", text: "a\nc\n".to_owned() };
        let mut out = String::new();
        write_line_diff(&mut out, Some(&before), Some(&after), 2);
        assert_eq!(out, "    a\n  - b\n  + c\n");
    }
}
