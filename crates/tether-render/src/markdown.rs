//! The Markdown form of a plan for pull-request comments: a summary line, a warning banner, one
//! collapsible section per resource with a `diff` block, and a hidden marker that finds the comment
//! again. Values are masked exactly as in the terminal form.

use std::fmt::Write as _;

use tether_model::{Action, ActionReason, AttributeChange, Attributes, Disruption, Plan, ResourceChange, Value};

use crate::embedded;
use crate::value::render_value;

/// GitHub's maximum length of an issue or pull-request comment body, in characters.
pub const GITHUB_COMMENT_MAX_CHARS: usize = 65_536;

/// How many destroys, replacements and disruptions the banner names before it counts the rest.
const BANNER_ITEMS: usize = 10;

/// A place that holds the complete plan when a comment leaves part of it out.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum FullPlanLocation {
    /// A file next to the comment, e.g. a CI artifact, by its path.
    File(String),
    /// The CI job summary, with the URL of the CI run when it is known.
    JobSummary {
        /// The run's web address, e.g. `https://github.com/OWNER/NAME/actions/runs/ID`.
        url: Option<String>,
    },
}

/// Options of [`render_markdown`].
#[derive(Debug, Clone, Default)]
pub struct MarkdownOptions {
    /// The maximum length of the result in UTF-8 bytes; `None` for no limit. A body never has
    /// more characters than bytes, so a byte limit of [`GITHUB_COMMENT_MAX_CHARS`] keeps it within
    /// GitHub's limit. The summary and the banner are always kept whole.
    pub max_bytes: Option<usize>,
    /// Places that hold the full plan, named in the closing line about what was left out.
    pub full_plan: Vec<FullPlanLocation>,
    /// Text shown collapsed after the resources, e.g. the cost estimate. Under `max_bytes` it is
    /// left out first: it appears only when every resource is shown in full.
    pub appendix: Option<Appendix>,
}

/// A collapsed block of plain text after the resources.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Appendix {
    /// The block's title, e.g. `Cost estimate and placement`.
    pub title: String,
    /// The text, shown verbatim in a code block.
    pub text: String,
}

/// Builds the hidden HTML comment that identifies the plan comment of one environment. Characters other
/// than ASCII letters, digits, `.`, `_` and `-` are percent-encoded, so the name cannot end the
/// HTML comment.
pub fn comment_marker(environment: &str) -> String {
    let mut name = String::new();
    for byte in environment.bytes() {
        if byte.is_ascii_alphanumeric() || matches!(byte, b'.' | b'_' | b'-') {
            name.push(char::from(byte));
        } else {
            let _ = write!(name, "%{byte:02X}");
        }
    }
    format!("<!-- tether-plan environment={name} -->")
}

/// Renders a plan as Markdown for a pull-request comment.
///
/// Resources that destroy or disrupt nodes come first. Under `options.max_bytes`, each resource
/// is first given one line, in that order, and then as many as fit get their full section; the
/// rest are left out, and a closing line states that and where the full plan is.
pub fn render_markdown(plan: &Plan, options: &MarkdownOptions) -> String {
    let mut out = render_head(plan);
    let marker = comment_marker(&plan.environment);
    let appendix = options.appendix.as_ref().map(render_appendix);
    let appendix_title = options.appendix.as_ref().map(|appendix| appendix.title.as_str());

    let mut changes: Vec<&ResourceChange> =
        plan.changes.iter().filter(|change| change.action != Action::NoOp).collect();
    changes.sort_by_key(|change| priority(change));
    let sections: Vec<Section> = changes.iter().map(|change| Section::new(change)).collect();
    let forms = match options.max_bytes {
        None => vec![Form::Full; sections.len()],
        Some(max) => {
            let worst_tail = render_tail(sections.len(), sections.len(), appendix_title, options);
            let reserved = out.len() + worst_tail.len() + marker.len() + 2;
            choose_forms(&sections, max.saturating_sub(reserved))
        }
    };

    write_sections(&mut out, &sections, &forms);
    let shortened = forms.iter().filter(|form| **form == Form::Short).count();
    let omitted = forms.iter().filter(|form| **form == Form::Omitted).count();
    let mut dropped = None;
    if let Some(appendix) = &appendix {
        let tail = render_tail(shortened, omitted, None, options);
        let length = out.len() + appendix.len() + tail.len() + marker.len() + 1;
        let fits = options.max_bytes.is_none_or(|max| length <= max);
        if fits && shortened + omitted == 0 {
            out.push_str(appendix);
        } else {
            dropped = appendix_title;
        }
    }
    if shortened + omitted > 0 || dropped.is_some() {
        out.push_str(&render_tail(shortened, omitted, dropped, options));
    }
    let _ = writeln!(out, "{marker}");
    out
}

fn render_appendix(appendix: &Appendix) -> String {
    let mut text = appendix.text.clone();
    if !text.ends_with('\n') {
        text.push('\n');
    }
    let fence = fence_for(&text);
    format!(
        "<details><summary>{}</summary>\n\n{fence}text\n{text}{fence}\n\n</details>\n\n",
        html_escape(&appendix.title)
    )
}

/// Renders the summary line, the banner, and a blank line.
fn render_head(plan: &Plan) -> String {
    let environment = code_span(&plan.environment);
    if !plan.has_changes() {
        return format!(
            "### tether plan for {environment}: no changes\n\nNo changes. Environment {environment} matches its file.\n\n"
        );
    }
    let mut out = format!("### tether plan for {environment}: {}\n\n", plan.summary());
    write_banner(&mut out, plan);
    out
}

/// Writes a warning when the plan destroys or replaces a resource or disrupts running nodes.
fn write_banner(out: &mut String, plan: &Plan) {
    let changed = |action: Action| plan.changes.iter().filter(move |change| change.action == action);
    let destroyed: Vec<String> =
        changed(Action::Delete).map(|change| format!("destroys {}", code_span(&change.address.to_string()))).collect();
    let replaced: Vec<String> =
        changed(Action::Replace).map(|change| format!("replaces {}", code_span(&change.address.to_string()))).collect();
    let disruptive: Vec<String> = plan
        .disruptions()
        .filter(|(_, disruption)| disrupts_nodes(disruption))
        .map(|(address, disruption)| {
            format!("{}: {}", code_span(&address.to_string()), escape_text(&disruption.to_string()))
        })
        .collect();
    if destroyed.is_empty() && replaced.is_empty() && disruptive.is_empty() {
        return;
    }

    let mut headline = Vec::new();
    if !destroyed.is_empty() {
        headline.push(format!("destroys {}", count(destroyed.len(), "resource")));
    }
    if !replaced.is_empty() {
        headline.push(format!("replaces {}", count(replaced.len(), "resource")));
    }
    if !disruptive.is_empty() {
        headline.push("disrupts running nodes".to_owned());
    }
    let headline = join_words(&headline);
    let _ = writeln!(out, "> [!WARNING]\n> **This plan {headline}.**\n>");
    let items: Vec<String> = destroyed.into_iter().chain(replaced).chain(disruptive).collect();
    for item in items.iter().take(BANNER_ITEMS) {
        let _ = writeln!(out, "> - {item}");
    }
    if items.len() > BANNER_ITEMS {
        let _ = writeln!(out, "> - and {} more, each listed below", items.len() - BANNER_ITEMS);
    }
    out.push('\n');
}

/// True for a disruption that replaces, removes or reboots running nodes.
fn disrupts_nodes(disruption: &Disruption) -> bool {
    disruption.touches_nodes()
}

/// The order of sections: destroys, replacements, other disruptive changes, updates, creates.
fn priority(change: &ResourceChange) -> u8 {
    match change.action {
        Action::Delete => 0,
        Action::Replace => 1,
        _ if change.disruption.iter().any(disrupts_nodes) => 2,
        Action::Update => 3,
        Action::Create => 4,
        Action::NoOp => 5,
    }
}

/// How much of a resource's section a size-limited body shows.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Form {
    /// The collapsible section with its diff.
    Full,
    /// One list line naming the resource and its action.
    Short,
    /// Nothing; counted in the closing line.
    Omitted,
}

/// Both forms of one resource's section.
struct Section {
    full: String,
    short: String,
    /// True for a destroy, a replacement or a change that disrupts running nodes.
    urgent: bool,
}

impl Section {
    fn new(change: &ResourceChange) -> Section {
        let address = change.address.to_string();
        let heading = heading(change.action);
        let marker = change.marker();
        let urgent = priority(change) <= 2;
        let open = if urgent { " open" } else { "" };

        let mut full = format!(
            "<details{open}><summary><code>{}</code> <b>{}</b> {heading}</summary>\n\n",
            html_escape(marker),
            html_escape(&address)
        );
        write_explanations(&mut full, change);
        let diff = render_diff(change);
        let fence = fence_for(&diff);
        let _ = write!(full, "{fence}diff\n{diff}{fence}\n\n</details>\n\n");

        let short = format!("- {} {} {heading} (diff left out)\n", code_span(marker.trim()), code_span(&address));
        Section { full, short, urgent }
    }
}

fn heading(action: Action) -> &'static str {
    match action {
        Action::NoOp => "is unchanged",
        Action::Create => "will be created",
        Action::Update => "will be updated in place",
        Action::Replace => "must be replaced",
        Action::Delete => "will be destroyed",
    }
}

/// Writes why a resource is replaced and what its change does to running nodes, as a list.
fn write_explanations(out: &mut String, change: &ResourceChange) {
    let mut wrote = false;
    for reason in &change.reasons {
        if let ActionReason::ForcesReplacement { paths } = reason {
            let paths: Vec<String> = paths.iter().map(|path| code_span(path)).collect();
            let _ = writeln!(out, "- because {} cannot change in place", paths.join(", "));
            wrote = true;
        }
    }
    for disruption in &change.disruption {
        let label = if disrupts_nodes(disruption) { "**disruption**" } else { "note" };
        let _ = writeln!(out, "- {label}: {}", escape_text(&disruption.to_string()));
        wrote = true;
    }
    if wrote {
        out.push('\n');
    }
}

/// Renders the lines of a resource's `diff` block, each with its `+`, `-` or space marker in
/// column 0.
fn render_diff(change: &ResourceChange) -> String {
    let mut out = String::new();
    match change.action {
        Action::NoOp => {}
        Action::Delete => match &change.before {
            Some(before) if !before.is_empty() => write_attributes(&mut out, '-', before),
            _ => {
                let id = change.id.as_deref().unwrap_or("unknown id");
                let _ = writeln!(out, "- {} (id {id})", change.address);
            }
        },
        Action::Create => {
            if let Some(after) = &change.after {
                write_attributes(&mut out, '+', after);
            }
        }
        Action::Update | Action::Replace => {
            for attribute in &change.attribute_changes {
                write_attribute_change(&mut out, attribute);
            }
        }
    }
    out
}

fn write_attributes(out: &mut String, marker: char, attributes: &Attributes) {
    for (key, value) in attributes {
        write_value_lines(out, marker, key, &embedded::summarise(value), "");
        let (before, after) = if marker == '-' { (Some(value), None) } else { (None, Some(value)) };
        write_embedded_diffs(out, key, before, after);
    }
}

fn write_attribute_change(out: &mut String, attribute: &AttributeChange) {
    let path = &attribute.path;
    let note = if attribute.forces_replacement { "  # forces replacement" } else { "" };
    let before = attribute.before.as_ref().map(embedded::summarise);
    let after = attribute.after.as_ref().map(embedded::summarise);
    if before.is_some() && before == after {
        let _ = writeln!(out, "  {path}: only embedded documents change, shown decoded{note}");
    } else {
        if let Some(value) = &before {
            write_value_lines(out, '-', path, value, if after.is_some() { "" } else { note });
        }
        if let Some(value) = &after {
            write_value_lines(out, '+', path, value, note);
        }
    }
    write_embedded_diffs(out, path, attribute.before.as_ref(), attribute.after.as_ref());
}

/// Writes `path = value`, putting `marker` in front of every line of a value that spans several.
fn write_value_lines(out: &mut String, marker: char, path: &str, value: &Value, note: &str) {
    let rendered = format!("{path} = {}{note}", render_value(value, 0));
    for line in rendered.lines() {
        let _ = writeln!(out, "{marker} {line}");
    }
}

/// Writes a line diff of each embedded document (a base64 script, a JSON policy) that differs
/// between the two versions of an attribute.
fn write_embedded_diffs(out: &mut String, path: &str, before: Option<&Value>, after: Option<&Value>) {
    let old = before.map(embedded::collect).unwrap_or_default();
    let new = after.map(embedded::collect).unwrap_or_default();
    let mut inner_paths: Vec<&String> = old.keys().chain(new.keys()).collect();
    inner_paths.sort_unstable();
    inner_paths.dedup();
    for inner in inner_paths {
        let (old_document, new_document) = (old.get(inner), new.get(inner));
        let Some(form) = old_document.or(new_document).map(|document| document.form) else { continue };
        if old_document == new_document {
            continue;
        }
        let _ = writeln!(out, "  # {path}{inner}, decoded from its {form}:");
        embedded::write_line_diff(out, old_document, new_document, 0);
    }
}

/// Picks each section's form so that all of them fit in `budget` bytes. Destroys and disruptive
/// changes get their full section first while it fits; then every other section gets a line, in
/// priority order, and then its full section in priority order while that fits.
fn choose_forms(sections: &[Section], budget: usize) -> Vec<Form> {
    // One byte more per section for the blank line that may separate a list from a full section.
    let full_cost = |section: &Section| section.full.len() + 1;
    let short_cost = |section: &Section| section.short.len() + 1;
    let mut forms = vec![Form::Omitted; sections.len()];
    let mut used = 0;
    for (form, section) in forms.iter_mut().zip(sections) {
        if section.urgent && used + full_cost(section) <= budget {
            used += full_cost(section);
            *form = Form::Full;
        } else if used + short_cost(section) <= budget {
            used += short_cost(section);
            *form = Form::Short;
        } else {
            break;
        }
    }
    for (form, section) in forms.iter_mut().zip(sections) {
        if *form == Form::Omitted {
            break;
        }
        let extra = full_cost(section).saturating_sub(short_cost(section));
        if *form == Form::Short && used + extra <= budget {
            used += extra;
            *form = Form::Full;
        }
    }
    forms
}

fn write_sections(out: &mut String, sections: &[Section], forms: &[Form]) {
    let mut in_list = false;
    for (section, form) in sections.iter().zip(forms) {
        match form {
            Form::Full => {
                if in_list {
                    out.push('\n');
                }
                out.push_str(&section.full);
                in_list = false;
            }
            Form::Short => {
                out.push_str(&section.short);
                in_list = true;
            }
            Form::Omitted => {}
        }
    }
    if in_list {
        out.push('\n');
    }
}

/// The closing line: what was left out, and where the full plan is.
fn render_tail(shortened: usize, omitted: usize, appendix: Option<&str>, options: &MarkdownOptions) -> String {
    let mut parts = Vec::new();
    if shortened > 0 {
        parts.push(format!("the diff of {}", count(shortened, "resource")));
    }
    if omitted > 0 {
        parts.push(format!("{} entirely", count(omitted, "resource")));
    }
    if let Some(title) = appendix {
        parts.push(format!("the section \"{}\"", escape_text(title)));
    }
    let limit = options.max_bytes.unwrap_or(GITHUB_COMMENT_MAX_CHARS);
    let mut out = format!(
        "---\n**Left out to stay within the comment size limit ({limit} characters):** {}.",
        join_words(&parts)
    );
    let places: Vec<String> = options.full_plan.iter().map(describe_location).collect();
    if places.is_empty() {
        out.push_str(" Run `tether show` on the saved plan to see all of it.");
    } else {
        let _ = write!(out, " The full plan is in {}.", places.join(" and in "));
    }
    out.push_str("\n\n");
    out
}

fn describe_location(location: &FullPlanLocation) -> String {
    match location {
        FullPlanLocation::File(path) => format!("the file {}", code_span(path)),
        FullPlanLocation::JobSummary { url: Some(url) } => {
            format!("the [job summary]({}) of this CI run", url.replace(' ', "%20").replace(')', "%29"))
        }
        FullPlanLocation::JobSummary { url: None } => "the job summary of this CI run".to_owned(),
    }
}

/// Joins phrases as `a`, `a and b`, `a, b and c`.
fn join_words(phrases: &[String]) -> String {
    match phrases.split_last() {
        Some((last, rest)) if !rest.is_empty() => format!("{} and {last}", rest.join(", ")),
        _ => phrases.join(""),
    }
}

/// `1 resource`, `2 resources`.
fn count(number: usize, noun: &str) -> String {
    if number == 1 { format!("1 {noun}") } else { format!("{number} {noun}s") }
}

/// A code fence longer than any run of backticks in `content`, so no line of it can close the fence.
fn fence_for(content: &str) -> String {
    "`".repeat(longest_backtick_run(content).max(2) + 1)
}

fn longest_backtick_run(text: &str) -> usize {
    let mut longest = 0;
    let mut current = 0;
    for character in text.chars() {
        current = if character == '`' { current + 1 } else { 0 };
        longest = longest.max(current);
    }
    longest
}

/// A Markdown code span around `text`, delimited by more backticks than `text` contains in a row.
fn code_span(text: &str) -> String {
    let ticks = "`".repeat(longest_backtick_run(text) + 1);
    let pad = if text.starts_with('`') || text.ends_with('`') { " " } else { "" };
    format!("{ticks}{pad}{text}{pad}{ticks}")
}

/// Escapes text for HTML, inside tags such as `<summary>`.
fn html_escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for character in text.chars() {
        match character {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            _ => out.push(character),
        }
    }
    out
}

/// Escapes text for a Markdown paragraph: HTML characters become entities, Markdown punctuation is
/// backslash-escaped, and line breaks become spaces, so a value cannot start a new block.
fn escape_text(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for character in text.chars() {
        match character {
            '&' | '<' | '>' => out.push_str(&html_escape(&character.to_string())),
            '\\' | '`' | '*' | '_' | '[' | ']' | '#' | '|' | '~' | '!' | '@' => {
                out.push('\\');
                out.push(character);
            }
            '\n' | '\r' => out.push(' '),
            _ => out.push(character),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn marker_encodes_comment_breakers() {
        assert_eq!(comment_marker("ai-dev"), "<!-- tether-plan environment=ai-dev -->");
        assert_eq!(comment_marker("a-->b c"), "<!-- tether-plan environment=a--%3Eb%20c -->");
    }

    #[test]
    fn fence_outgrows_backticks() {
        assert_eq!(fence_for("+ a = 1\n"), "```");
        assert_eq!(fence_for("+ ````\n"), "`````");
    }

    #[test]
    fn text_escapes_markdown_and_html() {
        assert_eq!(escape_text("<b>*x*</b>\n# y"), "&lt;b&gt;\\*x\\*&lt;/b&gt; \\# y");
        assert_eq!(code_span("a`b"), "``a`b``");
    }
}
