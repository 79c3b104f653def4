//! GitHub Actions workflow commands: one `::error`, `::warning` or `::notice` line per
//! diagnostic, so a pull request shows each finding as an annotation on its YAML line.
//! Every error is an annotation; of the warnings and advice of one code, the first few
//! are, and the rest is one annotation with their count and lines (GitHub shows at most
//! 50 annotations of each kind per step, and a pull request must not be buried in
//! advice repeated for every instance).
//!
//! Positions are those of SARIF (`sarif::region`): 1-based, columns in characters, the
//! end column just after the last character. GitHub accepts columns only on a one-line
//! annotation, so a span over several lines gives lines alone. Values are escaped as the
//! runner unescapes them: `%`, CR and LF everywhere, and `:` and `,` in properties too.

use crate::diagnostic::{Diagnostic, Severity};
use crate::render::sarif::{artifact_path, region};
use crate::render::{Block, Rest, blocks};
use crate::source::Source;

/// The workflow command of a severity: advice becomes a notice.
pub fn command(severity: Severity) -> &'static str {
    match severity {
        Severity::Error => "error",
        Severity::Warning => "warning",
        Severity::Advice => "notice",
    }
}

/// Escapes a command's message: `%`, `\r` and `\n` become `%25`, `%0D` and `%0A`.
pub fn escape_data(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '%' => out.push_str("%25"),
            '\r' => out.push_str("%0D"),
            '\n' => out.push_str("%0A"),
            c => out.push(c),
        }
    }
    out
}

/// Escapes a property value: as `escape_data`, and `:` and `,` become `%3A` and `%2C`,
/// since they would otherwise end the value.
pub fn escape_property(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '%' => out.push_str("%25"),
            '\r' => out.push_str("%0D"),
            '\n' => out.push_str("%0A"),
            ':' => out.push_str("%3A"),
            ',' => out.push_str("%2C"),
            c => out.push(c),
        }
    }
    out
}

/// One workflow command, without its newline.
fn annotation(file: &str, source: &Source, d: &Diagnostic) -> String {
    let mut properties: Vec<(&str, String)> = Vec::new();
    if !file.is_empty() {
        properties.push(("file", file.to_owned()));
    }
    if let Some(span) = d.primary_span() {
        let r = region(source, span);
        properties.push(("line", r.start_line.to_string()));
        if r.start_line == r.end_line {
            properties.push(("col", r.start_column.to_string()));
        }
        properties.push(("endLine", r.end_line.to_string()));
        if r.start_line == r.end_line {
            properties.push(("endColumn", r.end_column.to_string()));
        }
    }
    properties.push(("title", d.code.as_str().to_owned()));
    let properties: Vec<String> = properties
        .iter()
        .map(|(key, value)| format!("{key}={}", escape_property(value)))
        .collect();
    let message = match &d.help {
        Some(help) => format!("{}\n{help}", d.message),
        None => d.message.to_string(),
    };
    format!(
        "::{} {}::{}",
        command(d.severity()),
        properties.join(","),
        escape_data(&message)
    )
}

/// The annotations of one file's diagnostics: one newline-terminated line each, in the
/// order given, the help on a second line of the message; with `all`, one for every
/// finding, else warnings and advice beyond the first few of a code summed up.
pub fn github(source: &Source, diagnostics: &[Diagnostic], all: bool) -> String {
    let file = artifact_path(source.name());
    let mut out = String::new();
    for block in blocks(source, diagnostics, all) {
        match block {
            Block::Finding(d) => out.push_str(&annotation(&file, source, d)),
            Block::Rest(rest) => out.push_str(&rest_annotation(&file, &rest)),
        }
        out.push('\n');
    }
    out
}

/// The one annotation for the findings of a code beyond the first few, on the file.
fn rest_annotation(file: &str, rest: &Rest) -> String {
    let at = rest
        .named_lines()
        .map_or_else(String::new, |named| format!(" (lines {named})"));
    let mut properties = Vec::new();
    if !file.is_empty() {
        properties.push(format!("file={}", escape_property(file)));
    }
    properties.push(format!(
        "title={}",
        escape_property(&format!("{} ({} more)", rest.code.as_str(), rest.count()))
    ));
    format!(
        "::{} {}::{}",
        command(rest.severity),
        properties.join(","),
        escape_data(&format!(
            "{} more {} of {} like those above{at}\n`--verbose` annotates each; `--format json` or `--format sarif` lists each with its location",
            rest.count(),
            rest.noun(),
            rest.code.as_str()
        ))
    )
}
