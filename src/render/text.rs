//! Human-readable diagnostics, drawn by miette: the file, the line, a caret under the
//! value, the labels, the help.

use miette::{GraphicalReportHandler, GraphicalTheme};

use crate::diagnostic::{Counts, Diagnostic, Report};
use crate::source::Source;

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
    let mut out = String::new();
    for diagnostic in diagnostics {
        let report = Report { diagnostic, source };
        if handler.render_report(&mut out, &report).is_err() {
            // miette fails only on a span outside the file; fall back to the message.
            out.push_str(&format!("{}: {}\n", diagnostic.code, diagnostic.message));
        }
        if !out.ends_with('\n') {
            out.push('\n');
        }
        out.push('\n');
    }
    let counts = Counts::of(diagnostics);
    if counts.errors == 0 {
        out.push_str(&format!("{} is valid ({counts}).\n", source.name()));
    } else {
        out.push_str(&format!("{} is not valid: {counts}.\n", source.name()));
    }
    out
}
