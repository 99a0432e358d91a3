//! In-place edits of an environment file's TOML text that keep its comments, key order and layout:
//! only the edited values change.

use serde_json::Value;
use toml_edit::{Array, DocumentMut, InlineTable, Item, Table, TableLike};

use crate::promotable::SettingPath;

/// A setting to write, or to remove when `value` is `None`.
#[derive(Debug, Clone, PartialEq)]
pub struct SettingEdit {
    /// The setting.
    pub path: SettingPath,
    /// The new value, as it appears in the serialized model; `None` removes the key.
    pub value: Option<Value>,
}

/// An edit that cannot be made.
#[derive(Debug, thiserror::Error)]
pub enum EditError {
    /// The text is not valid TOML.
    #[error("cannot parse the file as TOML")]
    Parse(#[source] toml_edit::TomlError),
    /// A key on the way to the setting has a value that is not a table.
    #[error("cannot set `{path}`: `{parent}` is not a table")]
    NotATable {
        /// The setting.
        path: SettingPath,
        /// The key that is not a table.
        parent: String,
    },
    /// The value has no TOML form (JSON `null` or a float that TOML cannot write).
    #[error("cannot write the value of `{path}` as TOML")]
    UnsupportedValue {
        /// The setting.
        path: SettingPath,
    },
}

/// Applies `edits` to the TOML `text` and returns the new text. Everything but the edited values
/// stays byte for byte: a replaced value keeps the whitespace and comment around it, a new key goes at
/// the end of its table, and a missing table is added.
///
/// # Errors
///
/// Fails when `text` is not TOML, a key on a setting's path has a non-table value, or a value has no
/// TOML form.
pub fn apply_edits(text: &str, edits: &[SettingEdit]) -> Result<String, EditError> {
    let mut document: DocumentMut = text.parse().map_err(EditError::Parse)?;
    for edit in edits {
        apply_edit(document.as_table_mut(), edit)?;
    }

    // toml_edit writes every line break as `\n`, so a file with Windows line breaks gets them back.
    let edited = document.to_string();
    if text.contains("\r\n") {
        return Ok(edited.replace("\r\n", "\n").replace('\n', "\r\n"));
    }
    Ok(edited)
}

fn apply_edit(root: &mut Table, edit: &SettingEdit) -> Result<(), EditError> {
    let Some((last, parents)) = edit.path.keys().split_last() else {
        return Ok(());
    };
    let mut table: &mut dyn TableLike = root;
    let mut inside_inline_table = false;
    for (depth, key) in parents.iter().enumerate() {
        if table.get(key).is_none() {
            table.insert(key, new_table(inside_inline_table));
        }
        // unwrap: the key was inserted just above when it was missing.
        let item = table.get_mut(key).expect("the key exists");
        inside_inline_table = item.is_value();
        table = item.as_table_like_mut().ok_or_else(|| EditError::NotATable {
            path: edit.path.clone(),
            parent: SettingPath::new(edit.path.keys()[..=depth].iter().cloned()).to_string(),
        })?;
    }

    let Some(value) = &edit.value else {
        table.remove(last);
        return Ok(());
    };
    let unsupported = || EditError::UnsupportedValue { path: edit.path.clone() };
    let mut new_value = to_toml(value).ok_or_else(unsupported)?;
    match table.get_mut(last) {
        Some(Item::Value(old)) => {
            *new_value.decor_mut() = old.decor().clone();
            *old = new_value;
        }
        Some(item) => *item = Item::Value(new_value),
        None => {
            table.insert(last, Item::Value(new_value));
        }
    }
    Ok(())
}

/// Returns an empty table for a missing key on a setting's path: an inline table inside an inline
/// table, else an implicit table, so that only the tables that get keys are written as `[header]`s.
fn new_table(inside_inline_table: bool) -> Item {
    if inside_inline_table {
        return Item::Value(toml_edit::Value::InlineTable(InlineTable::new()));
    }
    let mut table = Table::new();
    table.set_implicit(true);
    Item::Table(table)
}

/// Converts a JSON value of the serialized model to a TOML value with default formatting.
fn to_toml(value: &Value) -> Option<toml_edit::Value> {
    let converted = match value {
        Value::Null => return None,
        Value::Bool(flag) => toml_edit::Value::from(*flag),
        Value::Number(number) => toml_edit::Value::from(number.as_i64()?),
        Value::String(text) => toml_edit::Value::from(text.as_str()),
        Value::Array(items) => {
            let converted: Option<Vec<toml_edit::Value>> = items.iter().map(to_toml).collect();
            toml_edit::Value::Array(converted?.into_iter().collect::<Array>())
        }
        Value::Object(fields) => {
            let mut table = InlineTable::new();
            for (key, field) in fields {
                table.insert(key, to_toml(field)?);
            }
            toml_edit::Value::InlineTable(table)
        }
    };
    Some(converted)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn edit(path: &str, value: Option<Value>) -> SettingEdit {
        SettingEdit { path: SettingPath::parse(path).expect("a valid path"), value }
    }

    #[test]
    fn replaced_value_keeps_its_comment() {
        let text = "# top\n[pools.gpu]\ninstance_type = \"g5.xlarge\"   # a comment\nreplicas = 2\n";

        let edited = apply_edits(text, &[edit("pools.gpu.instance_type", Some("g6.xlarge".into()))]);

        let expected = "# top\n[pools.gpu]\ninstance_type = \"g6.xlarge\"   # a comment\nreplicas = 2\n";
        assert_eq!(edited.expect("the edit applies"), expected);
    }

    #[test]
    fn inline_table_field_is_edited_in_place() {
        let text = "[pools.gpu]\nautoscaling = { min = 0,  max = 2 } # bounds\n";

        let edited = apply_edits(text, &[edit("pools.gpu.autoscaling.max", Some(4.into()))]);

        assert_eq!(edited.expect("the edit applies"), "[pools.gpu]\nautoscaling = { min = 0,  max = 4 } # bounds\n");
    }

    #[test]
    fn missing_key_and_table_are_added() {
        let text = "[cluster]\nname = \"ai\"\n\n[aws]\nregion = \"x\"\n";
        let edits = [
            edit("cluster.release_image", Some("quay.io/a/b:4.21.1".into())),
            edit("pools.gpu.release_image", Some("quay.io/a/b:4.21.1".into())),
        ];

        let edited = apply_edits(text, &edits).expect("the edits apply");

        assert!(edited.starts_with("[cluster]\nname = \"ai\"\nrelease_image = \"quay.io/a/b:4.21.1\"\n\n[aws]\n"));
        assert!(edited.ends_with("[pools.gpu]\nrelease_image = \"quay.io/a/b:4.21.1\"\n"), "{edited}");
    }

    #[test]
    fn array_of_tables_becomes_inline_array() {
        let text = "[pools.gpu]\nreplicas = 1\n\n[[pools.gpu.taints]]\nkey = \"a\"\neffect = \"NoSchedule\"\n";
        let taint = serde_json::json!([{ "key": "b", "effect": "NoExecute" }]);

        let edited = apply_edits(text, &[edit("pools.gpu.taints", Some(taint))]).expect("the edit applies");

        let parsed: toml::Table = toml::from_str(&edited).expect("the result is TOML");
        assert_eq!(parsed["pools"]["gpu"]["taints"][0]["key"].as_str(), Some("b"), "{edited}");
        assert_eq!(parsed["pools"]["gpu"]["replicas"].as_integer(), Some(1), "{edited}");
    }

    #[test]
    fn crlf_line_endings_are_kept() {
        let text = "[pools.gpu]\r\ninstance_type = \"g5.xlarge\" # c\r\nreplicas = 2\r\n";

        let edited = apply_edits(text, &[edit("pools.gpu.instance_type", Some("g6.xlarge".into()))]);

        let expected = "[pools.gpu]\r\ninstance_type = \"g6.xlarge\" # c\r\nreplicas = 2\r\n";
        assert_eq!(edited.expect("the edit applies"), expected);
    }

    #[test]
    fn none_removes_the_key() {
        let text = "[pools.gpu]\nrelease_image = \"quay.io/a/b:4.21.1\"\nreplicas = 2\n";

        let edited = apply_edits(text, &[edit("pools.gpu.release_image", None)]);

        assert_eq!(edited.expect("the edit applies"), "[pools.gpu]\nreplicas = 2\n");
    }

    #[test]
    fn scalar_parent_is_an_error() {
        let result = apply_edits("name = \"x\"\n", &[edit("name.more", Some(1.into()))]);

        assert!(matches!(result, Err(EditError::NotATable { .. })));
    }
}
