//! Human-readable diagnostics, drawn by miette: the file, the line, a caret under the
//! value, the labels, the help.
//!
//! Every error is drawn. Warnings and advice of one code are drawn the first
//! [`super::shown_per_code`] times (three warnings, one advice note); the rest become one
//! note with their count and lines, so that thousands of instances with the same advice
//! do not bury what matters (`--verbose` draws every one; JSON output keeps each
//! finding; GitHub annotations and SARIF are summed up the same way).

use std::borrow::Cow;

use miette::{GraphicalReportHandler, GraphicalTheme};

use super::{Block, Rest, blocks};
use crate::diagnostic::{Counts, Diagnostic, Label, Report, Severity};
use crate::source::Source;

/// The text with every control character but newline and tab written as an escape
/// (`\u{1b}`): a name, an ID or a file read back into a message must not move the
/// cursor, recolour, retitle or clear the terminal that shows it.
pub fn escape_controls(text: &str) -> Cow<'_, str> {
    if !text.chars().any(is_hostile_control) {
        return Cow::Borrowed(text);
    }
    let mut out = String::with_capacity(text.len() + 8);
    for c in text.chars() {
        if is_hostile_control(c) {
            out.extend(c.escape_unicode());
        } else {
            out.push(c);
        }
    }
    Cow::Owned(out)
}

/// The source with each control character but line ends and tabs replaced by as many
/// `?` as it has bytes, so every span still points at the same bytes.
fn blank_controls(text: &str) -> Cow<'_, str> {
    if !text.chars().any(|c| is_hostile_control(c) && c != '\r') {
        return Cow::Borrowed(text);
    }
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        if is_hostile_control(c) && c != '\r' {
            out.extend(std::iter::repeat_n('?', c.len_utf8()));
        } else {
            out.push(c);
        }
    }
    Cow::Owned(out)
}

fn is_hostile_control(c: char) -> bool {
    c.is_control() && c != '\n' && c != '\t'
}

/// The diagnostic with its words made safe to print.
fn printable(diagnostic: &Diagnostic) -> Diagnostic {
    Diagnostic {
        message: escape_controls(&diagnostic.message).into(),
        labels: diagnostic
            .labels
            .iter()
            .map(|l| Label {
                span: l.span,
                text: escape_controls(&l.text).into_owned().into(),
            })
            .collect(),
        help: diagnostic
            .help
            .as_deref()
            .map(|h| escape_controls(h).into_owned().into()),
        ..diagnostic.clone()
    }
}

/// How to draw.
#[derive(Clone, Copy, Debug)]
pub struct Style {
    /// ANSI colours (only on a terminal, never with `NO_COLOR`).
    pub color: bool,
    /// Wrap width in columns.
    pub width: usize,
    /// Every warning and advice note drawn, not only the first of each code.
    pub all: bool,
}

impl Default for Style {
    fn default() -> Style {
        Style {
            color: false,
            width: 100,
            all: false,
        }
    }
}

/// The block of a summing-up note.
fn rest_block(rest: &Rest) -> String {
    let glyph = match rest.severity {
        Severity::Warning => "⚠",
        _ => "☞",
    };
    let verb = if rest.count() == 1 { "is" } else { "are" };
    let lines = match rest.named_lines() {
        Some(named) => format!(
            " (line{} {named})",
            if rest.count() == 1 { "" } else { "s" }
        ),
        None => String::new(),
    };
    format!(
        "{code}\n\n  {glyph} {count} more {noun} like those above {verb} not shown{lines}\n  help: `--verbose` shows every one; `--format json` lists each with its location\n\n",
        code = rest.code,
        count = rest.count(),
        noun = rest.noun(),
    )
}

/// The most characters a drawn label may sit from its line's start, or cover.
const WIDEST_DRAWN: usize = 10_000;

fn too_wide(source: &Source, label: &Label) -> bool {
    let bytes = source.text().as_bytes();
    let offset = label.span.offset().min(bytes.len());
    let line_start = bytes[..offset]
        .iter()
        .rposition(|&b| b == b'\n')
        .map_or(0, |i| i + 1);
    let line_end = bytes[offset..]
        .iter()
        .position(|&b| b == b'\n')
        .map_or(bytes.len(), |i| offset + i);
    line_end - line_start > WIDEST_DRAWN || label.span.len() > WIDEST_DRAWN
}

/// Every diagnostic, then a closing line with the counts.
pub fn diagnostics(source: &Source, diagnostics: &[Diagnostic], style: Style) -> String {
    let mut out = String::new();
    each_report(source, diagnostics, style, |_, block| out.push_str(&block));
    let source_name = escape_controls(source.name());
    let counts = Counts::of(diagnostics);
    if counts.errors == 0 {
        out.push_str(&format!("{source_name} is valid ({counts}).\n"));
    } else {
        out.push_str(&format!("{source_name} is not valid: {counts}.\n"));
    }
    out
}

/// Renders each diagnostic drawn (see the module's note) as its own block, ending in a
/// blank line, and hands it to `each` with whether it is the last, one at a time: a run
/// with many findings is never held whole.
pub fn each_report(
    source: &Source,
    diagnostics: &[Diagnostic],
    style: Style,
    mut each: impl FnMut(bool, String),
) {
    let theme = if style.color {
        GraphicalTheme::unicode()
    } else {
        GraphicalTheme::unicode_nocolor()
    };
    let handler = GraphicalReportHandler::new_themed(theme)
        .with_width(style.width)
        // Wrapping splits names such as `web-1` and zones at their hyphens; long lines
        // read better than broken names.
        .with_wrap_lines(false)
        .with_links(false)
        .with_urls(false);
    let source = &Source::new(
        escape_controls(source.name()),
        blank_controls(source.text()),
    );
    let blocks = blocks(source, diagnostics, style.all);
    let last = blocks.len().saturating_sub(1);
    for (i, block) in blocks.into_iter().enumerate() {
        let diagnostic = match block {
            Block::Finding(d) => d,
            Block::Rest(rest) => {
                each(i == last, rest_block(&rest));
                continue;
            }
        };
        let mut out = String::new();
        let mut diagnostic = printable(diagnostic);
        // A label far along a very long line cannot be drawn (the drawing's widths have
        // a limit): such labels are written as FILE:LINE:COLUMN lines instead.
        let (wide, drawn): (Vec<Label>, Vec<Label>) = std::mem::take(&mut diagnostic.labels)
            .into_vec()
            .into_iter()
            .partition(|l| too_wide(source, l));
        diagnostic.labels = drawn.into_boxed_slice();
        let diagnostic = &diagnostic;
        let report = Report { diagnostic, source };
        if handler.render_report(&mut out, &report).is_err() {
            // miette fails only on a span outside the file; fall back to the message.
            out.push_str(&format!("{}: {}\n", diagnostic.code, diagnostic.message));
        }
        if !out.ends_with('\n') {
            out.push('\n');
        }
        for label in &wide {
            let (line, column) = source.line_column(label.span.offset());
            out.push_str(&format!(
                "  at {}:{line}:{column}: {}\n",
                source.name(),
                label.text
            ));
        }
        out.push('\n');
        each(i == last, out);
    }
}
