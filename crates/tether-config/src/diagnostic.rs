//! Diagnostics: one problem found in an environment file, and the list of them that [`crate::load`] returns.

use std::fmt;
use std::ops::Range;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use miette::{LabeledSpan, NamedSource, Severity, SourceCode};

/// The environment file's text, named by its path, shared by every diagnostic that points into it.
pub(crate) type SourceFile = Arc<NamedSource<String>>;

/// One problem in an environment file: what is wrong, where, and how to fix it.
///
/// The first label is the primary one and marks the offending text; [`Diagnostic::span`] returns it.
/// A diagnostic about the file as a whole (unreadable, too large) has no labels and no source.
#[derive(Clone)]
pub struct Diagnostic {
    code: &'static str,
    message: String,
    help: Option<String>,
    severity: Severity,
    labels: Vec<LabeledSpan>,
    source: Option<SourceFile>,
}

impl Diagnostic {
    /// Creates an error with a code, e.g. one from [`crate::codes`], and a message.
    pub fn error(code: &'static str, message: impl Into<String>) -> Self {
        Self::new(code, message.into(), Severity::Error)
    }

    /// Creates a warning: a likely problem that does not stop the file from loading.
    pub fn warning(code: &'static str, message: impl Into<String>) -> Self {
        Self::new(code, message.into(), Severity::Warning)
    }

    /// Creates advice: a note about the file that needs no change, shown as `advice`.
    pub fn advice(code: &'static str, message: impl Into<String>) -> Self {
        Self::new(code, message.into(), Severity::Advice)
    }

    fn new(code: &'static str, message: String, severity: Severity) -> Self {
        Diagnostic { code, message, help: None, severity, labels: Vec::new(), source: None }
    }

    /// Sets the help text: how to fix the problem.
    pub fn with_help(mut self, help: impl Into<String>) -> Self {
        self.help = Some(help.into());
        self
    }

    /// Adds a label at `span`; the first label added is the primary one. A missing span adds nothing,
    /// so callers can pass the span of a value that has a default and is not in the file.
    pub fn with_label(mut self, span: Option<Range<usize>>, text: impl Into<String>) -> Self {
        let Some(span) = span else {
            return self;
        };
        let label = if self.labels.is_empty() {
            LabeledSpan::new_primary_with_span(Some(text.into()), span)
        } else {
            LabeledSpan::new_with_span(Some(text.into()), span)
        };
        self.labels.push(label);
        self
    }

    /// Attaches the file that the labels point into.
    pub(crate) fn with_source(mut self, source: &SourceFile) -> Self {
        self.source = Some(Arc::clone(source));
        self
    }

    /// Moves the labels that lie in `range` of a combined text into `source`, the file whose text
    /// starts at `range.start`, and drops the other labels.
    pub(crate) fn move_into(mut self, range: Range<usize>, source: &SourceFile) -> Self {
        self.labels = self
            .labels
            .into_iter()
            .filter(|label| range.start <= label.offset() && label.offset() + label.len() <= range.end)
            .map(|label| {
                let span = (label.offset() - range.start, label.len());
                let text = label.label().map(str::to_owned);
                if label.primary() {
                    LabeledSpan::new_primary_with_span(text, span)
                } else {
                    LabeledSpan::new_with_span(text, span)
                }
            })
            .collect();
        self.with_source(source)
    }

    /// Returns the diagnostic code, e.g. `tether::config::cidr_overlap`.
    pub fn code(&self) -> &str {
        self.code
    }

    /// Returns the message: what is wrong with which value.
    pub fn message(&self) -> &str {
        &self.message
    }

    /// Returns the help text: how to fix the problem.
    pub fn help(&self) -> Option<&str> {
        self.help.as_deref()
    }

    /// Returns the byte range of the offending text in the environment file, if the problem has one.
    pub fn span(&self) -> Option<Range<usize>> {
        let primary = self.labels.iter().find(|label| label.primary()).or(self.labels.first())?;
        Some(primary.offset()..primary.offset() + primary.len())
    }

    /// Returns every labelled byte range with its label text, primary first.
    pub fn labels(&self) -> impl Iterator<Item = (Range<usize>, Option<&str>)> {
        self.labels.iter().map(|label| (label.offset()..label.offset() + label.len(), label.label()))
    }

    /// Returns whether this is an error or a warning.
    pub fn severity(&self) -> Severity {
        self.severity
    }

    /// Returns true for an error, false for a warning or advice.
    pub fn is_error(&self) -> bool {
        self.severity == Severity::Error
    }
}

/// Leaves out the source text, which the environment file already shows.
impl fmt::Debug for Diagnostic {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Diagnostic")
            .field("code", &self.code)
            .field("severity", &self.severity)
            .field("message", &self.message)
            .field("help", &self.help)
            .field("span", &self.span())
            .finish_non_exhaustive()
    }
}

impl fmt::Display for Diagnostic {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message)
    }
}

impl std::error::Error for Diagnostic {}

impl miette::Diagnostic for Diagnostic {
    fn code<'a>(&'a self) -> Option<Box<dyn fmt::Display + 'a>> {
        Some(Box::new(self.code))
    }

    fn severity(&self) -> Option<Severity> {
        Some(self.severity)
    }

    fn help<'a>(&'a self) -> Option<Box<dyn fmt::Display + 'a>> {
        self.help.as_ref().map(|help| Box::new(help) as Box<dyn fmt::Display>)
    }

    fn source_code(&self) -> Option<&dyn SourceCode> {
        self.source.as_ref().map(|source| source as &dyn SourceCode)
    }

    fn labels(&self) -> Option<Box<dyn Iterator<Item = LabeledSpan> + '_>> {
        if self.labels.is_empty() {
            return None;
        }
        Some(Box::new(self.labels.iter().cloned()))
    }
}

/// The number of entries a report prints with their source lines. Each printed entry finds its line
/// by scanning the file, so printing thousands of entries of a large file takes minutes.
pub const PRINTED_ENTRIES: usize = 50;

/// Every problem found in one environment file, errors and warnings, in the order they appear in it.
///
/// As a [`miette::Diagnostic`] it reports a one-line summary and shows each entry through `related()`.
#[derive(Debug, Clone)]
pub struct Diagnostics {
    path: PathBuf,
    entries: Vec<Diagnostic>,
}

impl Diagnostics {
    /// Collects `entries` for the file at `path`, sorted by position; entries without a span come first.
    pub(crate) fn new(path: &Path, mut entries: Vec<Diagnostic>) -> Self {
        entries.sort_by_key(|entry| entry.span().map_or(0, |span| span.start));
        Diagnostics { path: path.to_path_buf(), entries }
    }

    /// Returns the path of the environment file these diagnostics are about.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Iterates over every entry, errors and warnings.
    pub fn iter(&self) -> std::slice::Iter<'_, Diagnostic> {
        self.entries.iter()
    }

    /// Returns the number of entries.
    pub fn len(&self) -> usize {
        self.entries.len()
    }

    /// Returns true when there are no entries.
    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    /// Returns true when at least one entry is an error.
    pub fn has_errors(&self) -> bool {
        self.entries.iter().any(Diagnostic::is_error)
    }

    /// Returns the entries.
    pub fn into_vec(self) -> Vec<Diagnostic> {
        self.entries
    }

    fn count(&self, severity: Severity) -> usize {
        self.entries.iter().filter(|entry| entry.severity == severity).count()
    }
}

impl<'a> IntoIterator for &'a Diagnostics {
    type Item = &'a Diagnostic;
    type IntoIter = std::slice::Iter<'a, Diagnostic>;

    fn into_iter(self) -> Self::IntoIter {
        self.entries.iter()
    }
}

impl fmt::Display for Diagnostics {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let errors = self.count(Severity::Error);
        let warnings = self.count(Severity::Warning);
        write!(f, "invalid environment file {}: {}", self.path.display(), plural(errors, "error"))?;
        if warnings > 0 {
            write!(f, ", {}", plural(warnings, "warning"))?;
        }
        if self.entries.len() > PRINTED_ENTRIES {
            write!(f, " (the first {PRINTED_ENTRIES} are shown)")?;
        }
        Ok(())
    }
}

impl std::error::Error for Diagnostics {}

impl miette::Diagnostic for Diagnostics {
    fn code<'a>(&'a self) -> Option<Box<dyn fmt::Display + 'a>> {
        Some(Box::new("tether::config::invalid"))
    }

    fn related<'a>(&'a self) -> Option<Box<dyn Iterator<Item = &'a dyn miette::Diagnostic> + 'a>> {
        // Past the limit, errors go first so that no error hides behind warnings.
        let errors_first = self.entries.len() > PRINTED_ENTRIES;
        let errors = self.entries.iter().filter(move |entry| !errors_first || entry.is_error());
        let warnings = self.entries.iter().filter(move |entry| errors_first && !entry.is_error());
        Some(Box::new(errors.chain(warnings).take(PRINTED_ENTRIES).map(|entry| entry as &dyn miette::Diagnostic)))
    }
}

/// Formats a count with its noun, e.g. `1 error`, `3 errors`.
fn plural(count: usize, noun: &str) -> String {
    if count == 1 { format!("{count} {noun}") } else { format!("{count} {noun}s") }
}
