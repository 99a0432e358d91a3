//! Attribute values as plan text: strings quoted, secrets masked, references pending.

use std::fmt::Write as _;

use tether_model::Value;

/// Placeholder for a value known only once apply has created what it refers to.
pub const KNOWN_AFTER_APPLY: &str = "(known after apply)";

/// Renders a value; nested lists and maps span several lines, indented by `indent` spaces.
pub fn render_value(value: &Value, indent: usize) -> String {
    let mut text = String::new();
    write_value(&mut text, value, indent);
    text
}

fn write_value(out: &mut String, value: &Value, indent: usize) {
    match value {
        Value::Null => out.push_str("null"),
        Value::Bool(flag) => out.push_str(if *flag { "true" } else { "false" }),
        Value::Int(number) => {
            let _ = write!(out, "{number}");
        }
        Value::String(text) => out.push_str(&quote(text)),
        Value::Unknown | Value::Ref(_) => out.push_str(KNOWN_AFTER_APPLY),
        Value::Sensitive(secret) => {
            let _ = write!(out, "(sensitive, {})", secret.short_digest());
        }
        Value::List(items) if items.is_empty() => out.push_str("[]"),
        Value::List(items) => {
            out.push_str("[\n");
            for item in items {
                pad(out, indent + 4);
                write_value(out, item, indent + 4);
                out.push_str(",\n");
            }
            pad(out, indent);
            out.push(']');
        }
        Value::Map(map) if map.is_empty() => out.push_str("{}"),
        Value::Map(map) => {
            out.push_str("{\n");
            let width = map.keys().map(|key| map_key(key).len()).max().unwrap_or(0);
            for (key, item) in map {
                pad(out, indent + 4);
                let _ = write!(out, "{:<width$} = ", map_key(key));
                write_value(out, item, indent + 4);
                out.push('\n');
            }
            pad(out, indent);
            out.push('}');
        }
    }
}

/// Quotes a string JSON-style, so control characters and quotes in values stay visible.
fn quote(text: &str) -> String {
    serde_json::to_string(text).unwrap_or_else(|_| format!("{text:?}"))
}

/// Map keys are bare when they are plain identifiers, quoted otherwise (`"kubernetes.io/…"`).
fn map_key(key: &str) -> String {
    let bare = !key.is_empty() && key.chars().all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-');
    if bare { key.to_owned() } else { quote(key) }
}

fn pad(out: &mut String, width: usize) {
    out.extend(std::iter::repeat_n(' ', width));
}

#[cfg(test)]
mod tests {
    use super::*;
    use tether_model::{Address, Sensitive};

    #[test]
    fn secret_renders_masked() {
        let text = render_value(&Value::Sensitive(Sensitive::new("hunter2")), 0);
        assert!(text.starts_with("(sensitive, sha256:"), "{text}");
        assert!(!text.contains("hunter2"));
    }

    #[test]
    fn reference_renders_known_after_apply() {
        let text = render_value(&Value::reference_to_id(&Address::aws("vpc", "main")), 0);
        assert_eq!(text, KNOWN_AFTER_APPLY);
    }

    #[test]
    fn map_keys_align_and_quote() {
        let value = Value::map([("Name", Value::from("ai-vpc")), ("kubernetes.io/cluster/ai", Value::from("owned"))]);
        let expected =
            "{\n    Name                       = \"ai-vpc\"\n    \"kubernetes.io/cluster/ai\" = \"owned\"\n}";
        assert_eq!(render_value(&value, 0), expected);
    }
}
