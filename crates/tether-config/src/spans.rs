//! Byte spans of every key and value in a parsed environment file, looked up by key path.

use std::collections::BTreeMap;
use std::fmt;
use std::ops::Range;

use toml::de::{DeTable, DeValue};

/// One step in a key path: a table key or an array index.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub(crate) enum Segment {
    Key(String),
    Index(usize),
}

/// The path of a key from the document root, e.g. `pools.gpu.taints[0].key`.
#[derive(Debug, Clone, Default, PartialEq, Eq, PartialOrd, Ord)]
pub(crate) struct KeyPath(Vec<Segment>);

impl KeyPath {
    /// Returns the path of the document root.
    pub(crate) fn root() -> Self {
        KeyPath(Vec::new())
    }

    /// Returns the path of the top-level keys in `keys`, one level each.
    pub(crate) fn of(keys: &[&str]) -> Self {
        KeyPath(keys.iter().map(|key| Segment::Key((*key).to_owned())).collect())
    }

    /// Returns this path extended by a table key.
    pub(crate) fn key(&self, key: &str) -> Self {
        let mut segments = self.0.clone();
        segments.push(Segment::Key(key.to_owned()));
        KeyPath(segments)
    }

    /// Returns this path extended by an array index.
    pub(crate) fn index(&self, index: usize) -> Self {
        let mut segments = self.0.clone();
        segments.push(Segment::Index(index));
        KeyPath(segments)
    }

    pub(crate) fn push(&mut self, segment: Segment) {
        self.0.push(segment);
    }

    pub(crate) fn segments(&self) -> &[Segment] {
        &self.0
    }

    /// Returns the path without its last segment, or `None` at the root.
    pub(crate) fn parent(&self) -> Option<KeyPath> {
        let (_, rest) = self.0.split_last()?;
        Some(KeyPath(rest.to_vec()))
    }

    /// Returns the last segment's key, or `None` when it is an index or the path is the root.
    pub(crate) fn last_key(&self) -> Option<&str> {
        match self.0.last()? {
            Segment::Key(key) => Some(key),
            Segment::Index(_) => None,
        }
    }

    pub(crate) fn is_root(&self) -> bool {
        self.0.is_empty()
    }
}

/// Writes the path as TOML would address it, quoting keys that are not bare keys.
impl fmt::Display for KeyPath {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (position, segment) in self.0.iter().enumerate() {
            match segment {
                Segment::Index(index) => write!(f, "[{index}]")?,
                Segment::Key(key) => {
                    if position > 0 {
                        f.write_str(".")?;
                    }
                    if is_bare_key(key) {
                        f.write_str(key)?;
                    } else {
                        write!(f, "{key:?}")?;
                    }
                }
            }
        }
        Ok(())
    }
}

fn is_bare_key(key: &str) -> bool {
    !key.is_empty() && key.bytes().all(|byte| byte.is_ascii_alphanumeric() || byte == b'_' || byte == b'-')
}

/// Position of one key and its value in the source text.
#[derive(Debug, Clone)]
struct Entry {
    /// The key's text; `None` for array elements.
    key: Option<Range<usize>>,
    /// The whole value, quotes and brackets included; for a table from a `[header]`, the header.
    value: Range<usize>,
    /// For a string written without escapes, its text between the quotes.
    string_text: Option<Range<usize>>,
}

/// Spans of every key and value in one environment file.
#[derive(Debug, Clone, Default)]
pub(crate) struct SpanIndex {
    entries: BTreeMap<KeyPath, Entry>,
}

impl SpanIndex {
    /// Records the spans of every key and value below `root`.
    pub(crate) fn build(source: &str, root: &DeTable<'_>) -> Self {
        let mut index = SpanIndex::default();
        index.add_table(source, &KeyPath::root(), root);
        index
    }

    fn add_table(&mut self, source: &str, path: &KeyPath, table: &DeTable<'_>) {
        for (key, value) in table {
            let child = path.key(key.get_ref());
            self.add_value(source, child, Some(key.span()), value);
        }
    }

    fn add_value(
        &mut self,
        source: &str,
        path: KeyPath,
        key: Option<Range<usize>>,
        value: &toml::Spanned<DeValue<'_>>,
    ) {
        match value.get_ref() {
            DeValue::Table(table) => self.add_table(source, &path, table),
            DeValue::Array(array) => {
                for (position, element) in array.iter().enumerate() {
                    self.add_value(source, path.index(position), None, element);
                }
            }
            _ => {}
        }
        let string_text = match value.get_ref() {
            DeValue::String(text) => unquoted_text(source, value.span(), text),
            _ => None,
        };
        let entry = Entry { key, value: value.span(), string_text };
        self.entries.insert(path, entry);
    }

    /// Returns the span of the value at `path`. For a string without escapes, that is its text between
    /// the quotes, so a label underlines exactly the offending text.
    pub(crate) fn value(&self, path: &KeyPath) -> Option<Range<usize>> {
        let entry = self.entries.get(path)?;
        Some(entry.string_text.clone().unwrap_or_else(|| entry.value.clone()))
    }

    /// Returns the span of `part`, a byte range inside the string at `path`. When the string has
    /// escapes, its text and the source differ, so this returns the whole value's span instead.
    pub(crate) fn value_part(&self, path: &KeyPath, part: Range<usize>) -> Option<Range<usize>> {
        let entry = self.entries.get(path)?;
        match &entry.string_text {
            Some(text) if part.end <= text.len() => Some(text.start + part.start..text.start + part.end),
            _ => Some(entry.value.clone()),
        }
    }

    /// Returns the span of the key at `path`, or of the value for an array element.
    pub(crate) fn key(&self, path: &KeyPath) -> Option<Range<usize>> {
        let entry = self.entries.get(path)?;
        Some(entry.key.clone().unwrap_or_else(|| entry.value.clone()))
    }

    /// Returns the path of the deepest value whose whole span is `span`, if any.
    pub(crate) fn path_of_value(&self, span: &Range<usize>) -> Option<&KeyPath> {
        self.entries
            .iter()
            .filter(|(_, entry)| entry.value == *span)
            .map(|(path, _)| path)
            .max_by_key(|path| path.segments().len())
    }
}

/// Returns the range between the quotes of a one-line string whose source text equals its value.
fn unquoted_text(source: &str, span: Range<usize>, value: &str) -> Option<Range<usize>> {
    let raw = source.get(span.clone())?;
    let quote = raw.chars().next()?;
    let is_one_line_string = (quote == '"' || quote == '\'')
        && raw.len() >= 2
        && raw.ends_with(quote)
        && !raw.starts_with("\"\"\"")
        && !raw.starts_with("'''");
    if !is_one_line_string {
        return None;
    }
    let inner = span.start + 1..span.end - 1;
    (source.get(inner.clone())? == value).then_some(inner)
}
