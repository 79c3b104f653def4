//! Human-readable diagnostics, drawn by miette: the file, the line, a caret under the
//! value, the labels, the help.
//!
//! Every error is drawn. Warnings and advice of one code are drawn the first
//! [`SHOWN_PER_CODE`] times; the rest become one note with their count and lines, so
//! that thousands of instances with the same advice do not bury what matters
//! (`--verbose` draws every one; JSON and SARIF output keep each finding, GitHub
//! annotations are summed up the same way).

use std::borrow::Cow;

use miette::{GraphicalReportHandler, GraphicalTheme};

use crate::diagnostic::{Code, Counts, Diagnostic, Label, Report, Severity};
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

/// How many warnings or advice notes of one code a report draws before it sums up the
/// rest.
pub const SHOWN_PER_CODE: usize = 3;

/// The lines a summing-up note names, at most.
const LINES_NAMED: usize = 5;

/// What a report draws, in order.
pub(crate) enum Block<'d> {
    /// One finding, in full.
    Finding(&'d Diagnostic),
    /// The findings of one code beyond the first few.
    Rest(Rest),
}

/// Findings of one code not drawn one by one.
pub(crate) struct Rest {
    /// Their code.
    pub code: Code,
    /// Their severity (warning or advice).
    pub severity: Severity,
    /// How many.
    pub count: usize,
    /// The first lines they point at.
    pub lines: Vec<usize>,
}

/// The blocks of a report: every error and the first few warnings and advice notes of
/// each code in their order, then one summing-up note per code with more.
pub(crate) fn blocks<'d>(
    source: &Source,
    diagnostics: &'d [Diagnostic],
    all: bool,
) -> Vec<Block<'d>> {
    let groupable = |d: &Diagnostic| !all && d.severity() != Severity::Error;
    let mut per_code: std::collections::HashMap<Code, usize> = std::collections::HashMap::new();
    for d in diagnostics.iter().filter(|d| groupable(d)) {
        *per_code.entry(d.code).or_default() += 1;
    }
    let mut drawn: std::collections::HashMap<Code, usize> = std::collections::HashMap::new();
    let mut out = Vec::new();
    let mut rests: Vec<Rest> = Vec::new();
    for d in diagnostics {
        if !groupable(d) || per_code[&d.code] <= SHOWN_PER_CODE {
            out.push(Block::Finding(d));
            continue;
        }
        let n = drawn.entry(d.code).or_default();
        *n += 1;
        if *n <= SHOWN_PER_CODE {
            out.push(Block::Finding(d));
            continue;
        }
        let rest = match rests.iter().position(|r| r.code == d.code) {
            Some(i) => &mut rests[i],
            None => {
                rests.push(Rest {
                    code: d.code,
                    severity: d.severity(),
                    count: 0,
                    lines: Vec::new(),
                });
                rests.last_mut().expect("just pushed")
            }
        };
        rest.count += 1;
        if let Some(span) = d.primary_span()
            && rest.lines.len() < LINES_NAMED
        {
            rest.lines.push(source.line_column(span.offset).0);
        }
    }
    out.extend(rests.into_iter().map(Block::Rest));
    out
}

impl Rest {
    fn render(&self) -> String {
        let one = self.count == 1;
        let (glyph, noun) = match (self.severity, one) {
            (Severity::Warning, true) => ("⚠", "warning"),
            (Severity::Warning, false) => ("⚠", "warnings"),
            (_, true) => ("☞", "advice note"),
            (_, false) => ("☞", "advice notes"),
        };
        let verb = if one { "is" } else { "are" };
        let lines = if self.lines.is_empty() {
            String::new()
        } else {
            let named: Vec<String> = self.lines.iter().map(ToString::to_string).collect();
            let more = if self.count > self.lines.len() {
                ", ..."
            } else {
                ""
            };
            format!(
                " (line{} {}{more})",
                if one { "" } else { "s" },
                named.join(", ")
            )
        };
        format!(
            "{code}\n\n  {glyph} {count} more {noun} like those above {verb} not shown{lines}\n  help: `--verbose` shows every one; `--format json` lists each with its location\n\n",
            code = self.code,
            count = self.count,
        )
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
                each(i == last, rest.render());
                continue;
            }
        };
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
        each(i == last, out);
    }
}
