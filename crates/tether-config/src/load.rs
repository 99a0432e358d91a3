//! Loading an environment file: read with a size limit, parse with spans, deserialize while collecting
//! unknown keys, then validate.

use std::fmt::Write as _;
use std::io::Read;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use sha2::{Digest, Sha256};
use toml::de::DeTable;

use crate::checked::{Checked, SourceMap};
use crate::codes;
use crate::diagnostic::{Diagnostic, Diagnostics, SourceFile};
use crate::extends::Layers;
use crate::model::Environment;
use crate::spans::{KeyPath, SpanIndex};
use crate::unknown_keys;
use crate::validate;

/// Largest environment file that [`load`] reads, in bytes (1 MiB); real ones are a few KiB.
pub const MAX_FILE_BYTES: u64 = 1024 * 1024;

/// Loads the environment file at `path`: parses it, checks every rule, and reads the files it refers
/// to. Relative paths in the file resolve against the file's folder.
///
/// # Errors
///
/// Returns every problem found, errors and warnings together, when there is at least one error.
/// Loading stops at the first problem when the file cannot be read, is over [`MAX_FILE_BYTES`], is
/// not UTF-8, is not valid TOML, or has a missing key or a value of the wrong type. Otherwise every
/// problem is reported at once.
pub fn load(path: &Path) -> Result<Checked, Diagnostics> {
    let fail = |entries: Vec<Diagnostic>| Diagnostics::new(path, entries);

    let layers = Layers::read(path).map_err(|diagnostic| fail(vec![diagnostic]))?;
    let text = layers.combined_text();
    let source = layers.combined_source().clone();
    let rehome = |found: Vec<Diagnostic>| found.into_iter().map(|entry| layers.rehome(entry)).collect::<Vec<_>>();

    let document = layers.merged();
    let spans = SpanIndex::build(text, document.get_ref());
    let (environment, mut found) = deserialize(document, &spans, &source);
    let Some(environment) = environment else {
        return Err(fail(rehome(found)));
    };

    let base_dir = base_dir(path);
    let validation = validate::run(&environment, &spans, &source, &base_dir);
    found.extend(validation.diagnostics);
    let values = match validation.values {
        Some(values) if !found.iter().any(Diagnostic::is_error) => values,
        _ => return Err(fail(rehome(found))),
    };

    Ok(Checked {
        environment,
        path: path.to_path_buf(),
        base_dir,
        source_digest: sha256_hex(text.as_bytes()),
        vpc_cidr: values.vpc_cidr,
        onprem_networks: values.onprem_networks,
        cluster_network: values.cluster_network,
        service_network: values.service_network,
        routes: values.routes,
        pull_secret: values.pull_secret,
        subnet_router_user_data: values.subnet_router_user_data,
        warnings: rehome(found),
        source_map: SourceMap { spans, source, layers: Arc::new(layers) },
    })
}

/// Reads the file as UTF-8 text, rejecting one over [`MAX_FILE_BYTES`] before reading it whole.
pub(crate) fn read_text(path: &Path) -> Result<String, Diagnostic> {
    let bytes = read_file(path)?;
    String::from_utf8(bytes).map_err(|error| not_utf8(path, &error))
}

/// Reads the file, rejecting one over [`MAX_FILE_BYTES`] before reading it whole.
fn read_file(path: &Path) -> Result<Vec<u8>, Diagnostic> {
    let unreadable = |error: std::io::Error| {
        let message = match error.kind() {
            std::io::ErrorKind::NotFound => {
                format!("environment file {} not found", path.display())
            }
            _ => format!("cannot read environment file {}: {error}", path.display()),
        };
        Diagnostic::error(codes::FILE_UNREADABLE, message)
            .with_help("check the path; to start a new environment, copy `examples/ai-dev.toml`")
    };
    let too_large = |size: u64| {
        let message = format!(
            "environment file {} is {size} bytes, more than the limit of {MAX_FILE_BYTES} bytes (1 MiB)",
            path.display()
        );
        Diagnostic::error(codes::FILE_TOO_LARGE, message)
            .with_help("an environment file is a few KiB of TOML; check that the path names the right file")
    };

    let metadata = std::fs::metadata(path).map_err(unreadable)?;
    if metadata.is_dir() {
        let error = std::io::Error::new(std::io::ErrorKind::IsADirectory, "it is a directory");
        return Err(unreadable(error));
    }
    if metadata.len() > MAX_FILE_BYTES {
        return Err(too_large(metadata.len()));
    }

    // The file may have grown since the metadata call, so the read stops one byte past the limit.
    let mut bytes = Vec::new();
    std::fs::File::open(path)
        .and_then(|file| file.take(MAX_FILE_BYTES + 1).read_to_end(&mut bytes))
        .map_err(unreadable)?;
    if bytes.len() as u64 > MAX_FILE_BYTES {
        return Err(too_large(bytes.len() as u64));
    }
    Ok(bytes)
}

fn not_utf8(path: &Path, error: &std::string::FromUtf8Error) -> Diagnostic {
    let offset = error.utf8_error().valid_up_to();
    let message = format!("environment file {} is not UTF-8: invalid byte at offset {offset}", path.display());
    Diagnostic::error(codes::NOT_UTF8, message).with_help("TOML files must be UTF-8; save the file with UTF-8 encoding")
}

/// Parses the TOML document, reporting the first syntax error by position.
pub(crate) fn parse<'i>(text: &'i str, source: &SourceFile) -> Result<toml::Spanned<DeTable<'i>>, Diagnostic> {
    let (document, errors) = DeTable::parse_recoverable(text);
    // The parser recovers and reports follow-on errors too; the earliest one is the real cause.
    let Some(first) = errors.iter().min_by_key(|error| error.span().map_or(usize::MAX, |span| span.start)) else {
        return Ok(document);
    };
    // The parser gives no position when it stops at its nesting limit, so the most nested line
    // is labelled instead.
    let (span, label) = match first.span() {
        Some(span) => (span, "here"),
        None => (most_nested_line(text), "the most deeply nested line"),
    };
    let diagnostic = Diagnostic::error(codes::TOML_SYNTAX, format!("invalid TOML: {}", first.message()))
        .with_label(Some(span), label)
        .with_help("fix the TOML syntax at the marked position")
        .with_source(source);
    Err(diagnostic)
}

/// Returns the span of the line with the most `.`, `[` and `{` characters, without its line break.
fn most_nested_line(text: &str) -> std::ops::Range<usize> {
    let mut best = 0..0;
    let mut best_depth = 0;
    let mut start = 0;
    for line in text.split_inclusive('\n') {
        let depth = line.bytes().filter(|byte| matches!(byte, b'.' | b'[' | b'{')).count();
        if depth > best_depth {
            best_depth = depth;
            best = start..start + line.trim_end_matches(['\r', '\n']).len();
        }
        start += line.len();
    }
    best
}

/// Deserializes the model, collecting every unknown key; a type error or missing key stops it.
fn deserialize(
    document: toml::Spanned<DeTable<'_>>,
    spans: &SpanIndex,
    source: &SourceFile,
) -> (Option<Environment>, Vec<Diagnostic>) {
    let mut unknown = Vec::new();
    let deserializer = toml::de::Deserializer::from(document);
    let result: Result<Environment, _> = serde_ignored::deserialize(deserializer, |path| {
        unknown.push(unknown_keys::key_path(&path));
    });

    let describe_ignored = |path: &KeyPath| match path.last_key() {
        Some(TOML_DATETIME_KEY) => date_time_in_place_of_table(path, spans),
        _ => unknown_keys::unknown_key(path, spans),
    };
    let mut found: Vec<Diagnostic> = unknown.iter().map(|path| describe_ignored(path).with_source(source)).collect();
    match result {
        Ok(environment) => (Some(environment), found),
        Err(error) => {
            found.push(crate::type_errors::describe(&error, spans).with_source(source));
            (None, found)
        }
    }
}

/// The key under which `toml` passes a date-time to serde, as a one-entry table.
const TOML_DATETIME_KEY: &str = "$__toml_private_datetime";

/// Describes a date-time where a table belongs. `toml` passes a date-time to serde as a table
/// with one private key, so the model ignores that key instead of failing on the type.
fn date_time_in_place_of_table(path: &KeyPath, spans: &SpanIndex) -> Diagnostic {
    let value = path.parent().unwrap_or_default();
    Diagnostic::error(codes::INVALID_TYPE, format!("`{value}` has the wrong type: expected a table, found a date-time"))
        .with_label(spans.value(&value), "expected a table")
        .with_help("write a table here; `schemas/environment.schema.json` describes the type of every key")
}

/// Returns the folder that relative paths resolve against: the file's parent, or `.` for a bare name.
pub(crate) fn base_dir(path: &Path) -> PathBuf {
    match path.parent() {
        Some(parent) if !parent.as_os_str().is_empty() => parent.to_path_buf(),
        _ => PathBuf::from("."),
    }
}

fn sha256_hex(bytes: &[u8]) -> String {
    let mut hex = String::with_capacity(64);
    for byte in Sha256::digest(bytes) {
        // unwrap: writing to a String cannot fail.
        write!(hex, "{byte:02x}").expect("writing to a String cannot fail");
    }
    hex
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn base_dir_of_bare_name_is_current_folder() {
        assert_eq!(base_dir(Path::new("env.toml")), PathBuf::from("."));
        assert_eq!(base_dir(Path::new("examples/env.toml")), PathBuf::from("examples"));
    }

    #[test]
    fn sha256_hex_matches_known_digest() {
        assert_eq!(sha256_hex(b"abc"), "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
    }

    #[test]
    fn key_path_display_quotes_dotted_keys() {
        let path = KeyPath::of(&["pools", "gpu", "labels"]).key("nvidia.com/gpu.present");
        assert_eq!(path.to_string(), "pools.gpu.labels.\"nvidia.com/gpu.present\"");
        assert_eq!(KeyPath::of(&["aws", "zones"]).index(2).to_string(), "aws.zones[2]");
    }
}
