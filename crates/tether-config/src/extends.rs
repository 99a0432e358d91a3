//! `extends = "base.toml"`: an environment file that overrides the values of a base file, which may
//! extend another in turn.
//!
//! Every file of the chain is parsed on its own, then the documents are merged: a table merges key by
//! key, any other value (arrays included) replaces the base's value whole. The merged document's
//! spans point into one combined text, the files' texts one after another, so the span index and the
//! rules see a single document. [`Layers::rehome`] then moves each diagnostic back into the file its
//! value came from.

use std::ops::Range;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use miette::NamedSource;
use toml::Spanned;
use toml::de::{DeTable, DeValue};

use crate::codes;
use crate::diagnostic::{Diagnostic, SourceFile};
use crate::load::{parse, read_text};

/// Settings that hold file paths relative to the folder of the file that sets them.
const RELATIVE_PATH_SETTINGS: [[&str; 2]; 2] = [["cluster", "pull_secret_file"], ["aws", "sts_credentials_file"]];

/// One file of an `extends` chain.
struct Layer {
    text: String,
    source: SourceFile,
    /// Start of this file's text in the combined text.
    offset: usize,
    /// This file's folder relative to the first file's folder; empty for the first file.
    relative_dir: PathBuf,
}

/// The files of an `extends` chain, the file given first and the last base last.
pub(crate) struct Layers {
    layers: Vec<Layer>,
    combined: String,
    combined_source: SourceFile,
}

impl Layers {
    /// Reads the file at `path` and every base it extends, directly or through other bases.
    ///
    /// # Errors
    ///
    /// Returns the first problem: an unreadable or invalid file, an `extends` that is not a string or
    /// names a missing file, or a cycle.
    pub(crate) fn read(path: &Path) -> Result<Layers, Diagnostic> {
        let mut layers: Vec<Layer> = Vec::new();
        let mut visited: Vec<PathBuf> = Vec::new();
        let mut next = Some((path.to_path_buf(), PathBuf::new()));
        let mut offset = 0;
        while let Some((file, relative_dir)) = next.take() {
            let text = read_text(&file)?;
            let source: SourceFile =
                Arc::new(NamedSource::new(file.display().to_string(), text.clone()).with_language("toml"));
            visited.push(std::fs::canonicalize(&file).unwrap_or_else(|_| file.clone()));

            if let Some((base, span)) = extends_value(&text, &source)? {
                let base_path = match file.parent() {
                    Some(folder) if !folder.as_os_str().is_empty() => folder.join(&base),
                    _ => PathBuf::from(&base),
                };
                check_base(&base_path, &visited, &file, span, &source)?;
                let base_folder = Path::new(&base).parent().unwrap_or(Path::new(""));
                next = Some((base_path, relative_dir.join(base_folder)));
            }
            let length = text.len();
            layers.push(Layer { text, source, offset, relative_dir });
            offset += length + 1;
        }

        let combined = layers.iter().map(|layer| layer.text.as_str()).collect::<Vec<_>>().join("\n");
        // NOTE: diagnostics raised after loading (through `Checked::locate`) use this combined source,
        // so for a chain they name all its files and count lines through the combined text.
        let combined_source = match layers.as_slice() {
            [only] => Arc::clone(&only.source),
            _ => {
                let names: Vec<String> = layers.iter().map(|layer| layer.source.name().to_owned()).collect();
                Arc::new(NamedSource::new(names.join(" + "), combined.clone()).with_language("toml"))
            }
        };
        Ok(Layers { layers, combined, combined_source })
    }

    /// Returns the files' texts one after another, separated by a newline; for a file without
    /// `extends`, its own text.
    pub(crate) fn combined_text(&self) -> &str {
        &self.combined
    }

    /// Returns the combined text as a source for diagnostics before [`Layers::rehome`].
    pub(crate) fn combined_source(&self) -> &SourceFile {
        &self.combined_source
    }

    /// Returns the merged document, its spans pointing into [`Layers::combined_text`].
    pub(crate) fn merged(&self) -> Spanned<DeTable<'_>> {
        let mut merged = DeTable::new();
        let mut root_span = 0..0;
        for layer in self.layers.iter().rev() {
            // unwrap: `Layers::read` parsed every file and stopped at the first syntax error.
            let document = DeTable::parse(&layer.text).expect("each file parsed when read");
            // The first file's root span is the document's span, as it is without `extends`.
            root_span = document.span();
            let mut table = shift_table(document.into_inner(), layer.offset);
            rewrite_relative_paths(&mut table, &layer.relative_dir);
            overlay(&mut merged, table);
        }
        Spanned::new(root_span, merged)
    }

    /// Moves a diagnostic whose labels point into the combined text into the file its primary label
    /// lies in, dropping labels in other files. A diagnostic without labels goes to the first file.
    pub(crate) fn rehome(&self, diagnostic: Diagnostic) -> Diagnostic {
        let start = diagnostic.span().map_or(0, |span| span.start);
        // The first file starts at offset 0, so the search always finds a file.
        let layer = self.layers.iter().rev().find(|layer| layer.offset <= start).unwrap_or(&self.layers[0]);
        let range = layer.offset..layer.offset + layer.text.len();
        diagnostic.move_into(range, &layer.source)
    }
}

/// Returns the `extends` value and its span, if the file has one.
fn extends_value(text: &str, source: &SourceFile) -> Result<Option<(String, Range<usize>)>, Diagnostic> {
    let document = parse(text, source)?;
    let Some(value) = document.get_ref().get("extends") else {
        return Ok(None);
    };
    match value.get_ref() {
        DeValue::String(base) => Ok(Some((base.to_string(), value.span()))),
        other => {
            let message = format!("`extends` has the wrong type: expected a string, found {}", other.type_str());
            let diagnostic = Diagnostic::error(codes::INVALID_TYPE, message)
                .with_label(Some(value.span()), "expected a string")
                .with_help("write the base file's path as a string, e.g. `extends = \"base.toml\"`")
                .with_source(source);
            Err(diagnostic)
        }
    }
}

/// Checks that the base file exists and is not already in the chain.
fn check_base(
    base_path: &Path,
    visited: &[PathBuf],
    file: &Path,
    span: Range<usize>,
    source: &SourceFile,
) -> Result<(), Diagnostic> {
    let Ok(canonical) = std::fs::canonicalize(base_path) else {
        let message = format!("base file {} named by `extends` not found", base_path.display());
        return Err(Diagnostic::error(codes::EXTENDS_NOT_FOUND, message)
            .with_label(Some(span), "base file")
            .with_help(format!("`extends` resolves against the folder of {}; correct the path", file.display()))
            .with_source(source));
    };
    if visited.contains(&canonical) {
        let message =
            format!("`extends` in {} leads back to {}: the chain is a cycle", file.display(), base_path.display());
        return Err(Diagnostic::error(codes::EXTENDS_CYCLE, message)
            .with_label(Some(span), "closes the cycle")
            .with_help("remove `extends` from one file of the chain; the last base must extend nothing")
            .with_source(source));
    }
    Ok(())
}

/// Returns `table` with every span moved by `offset`.
fn shift_table(table: DeTable<'_>, offset: usize) -> DeTable<'_> {
    let mut shifted = DeTable::new();
    for (key, mut value) in table {
        shift_value(&mut value, offset);
        let key_span = key.span();
        shifted.insert(Spanned::new(key_span.start + offset..key_span.end + offset, key.into_inner()), value);
    }
    shifted
}

fn shift_value(value: &mut Spanned<DeValue<'_>>, offset: usize) {
    let span = value.span();
    let mut inner = std::mem::replace(value.get_mut(), DeValue::Boolean(false));
    match &mut inner {
        DeValue::Table(table) => *table = shift_table(std::mem::take(table), offset),
        DeValue::Array(array) => array.iter_mut().for_each(|element| shift_value(element, offset)),
        _ => {}
    }
    *value = Spanned::new(span.start + offset..span.end + offset, inner);
}

/// Merges `over` into `base`: tables merge key by key, other values replace the base's.
fn overlay<'a>(base: &mut DeTable<'a>, over: DeTable<'a>) {
    for (key, value) in over {
        let merges =
            value.get_ref().is_table() && matches!(base.get(&key).map(Spanned::get_ref), Some(DeValue::Table(_)));
        if merges {
            if let DeValue::Table(from) = value.into_inner()
                && let Some(DeValue::Table(into)) = base.get_mut(&key).map(Spanned::get_mut)
            {
                overlay(into, from);
            }
            continue;
        }
        base.remove(&key);
        base.insert(key, value);
    }
}

/// Rewrites relative file paths set in a base file in another folder so that they resolve against the
/// first file's folder, as [`crate::Checked`] resolves them.
fn rewrite_relative_paths(table: &mut DeTable<'_>, relative_dir: &Path) {
    if relative_dir.as_os_str().is_empty() {
        return;
    }
    for [section, key] in RELATIVE_PATH_SETTINGS {
        let Some(DeValue::Table(section)) = table.get_mut(section).map(Spanned::get_mut) else {
            continue;
        };
        let Some(DeValue::String(path)) = section.get_mut(key).map(Spanned::get_mut) else {
            continue;
        };
        if Path::new(path.as_ref()).is_relative() && !path.is_empty() {
            *path = relative_dir.join(path.as_ref()).display().to_string().into();
        }
    }
}
