//! Human-readable diagnostics, drawn by miette: the file, the line, a caret under the
//! value, the labels, the help.

use std::borrow::Cow;

use miette::{GraphicalReportHandler, GraphicalTheme};

use crate::diagnostic::{Counts, Diagnostic, Label, Report};
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
        message: escape_controls(&diagnostic.message).into_owned(),
        labels: diagnostic
            .labels
            .iter()
            .map(|l| Label {
                span: l.span,
                text: escape_controls(&l.text).into_owned(),
            })
            .collect(),
        help: diagnostic
            .help
            .as_deref()
            .map(|h| escape_controls(h).into_owned()),
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
}

impl Default for Style {
    fn default() -> Style {
        Style {
            color: false,
            width: 100,
        }
    }
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

/// Renders each diagnostic as its own block (ending in a blank line) and hands it to
/// `each` with its position, one at a time: a run with many findings is never held
/// whole.
pub fn each_report(
    source: &Source,
    diagnostics: &[Diagnostic],
    style: Style,
    mut each: impl FnMut(usize, String),
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
    for (i, diagnostic) in diagnostics.iter().enumerate() {
        let mut out = String::new();
        let diagnostic = &printable(diagnostic);
        let report = Report { diagnostic, source };
        if handler.render_report(&mut out, &report).is_err() {
            // miette fails only on a span outside the file; fall back to the message.
            out.push_str(&format!("{}: {}\n", diagnostic.code, diagnostic.message));
        }
        if !out.ends_with('\n') {
            out.push('\n');
        }
        out.push('\n');
        each(i, out);
    }
}
