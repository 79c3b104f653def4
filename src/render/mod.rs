//! Renderers: functions from typed results to text. Nothing here decides anything.

pub mod context;
pub mod github;
pub mod json;
pub mod mermaid;
pub mod plan_json;
pub mod plan_markdown;
pub mod plan_text;
pub mod sarif;
pub mod state_text;
pub mod state_view;
pub mod text;

use crate::diagnostic::{Code, Diagnostic, Severity};
use crate::source::Source;

/// How many warnings of one code a report (text, GitHub annotations, SARIF) shows
/// before it sums up the rest.
pub const WARNINGS_PER_CODE: usize = 3;

/// How many advice notes of one code a report shows before it sums up the rest: one,
/// since advice repeats the same words for every instance it concerns.
pub const ADVICE_PER_CODE: usize = 1;

/// How many findings of this severity and one code a report shows one by one.
pub fn shown_per_code(severity: Severity) -> usize {
    match severity {
        Severity::Error => usize::MAX,
        Severity::Warning => WARNINGS_PER_CODE,
        Severity::Advice => ADVICE_PER_CODE,
    }
}

/// `1 step`, `2 steps`: a count with its noun in the number it takes.
pub fn counted(n: usize, one: &str, many: &str) -> String {
    format!("{n} {}", if n == 1 { one } else { many })
}

/// The lines a summing-up note names, at most.
const LINES_NAMED: usize = 5;

/// What a report shows, in order.
pub(crate) enum Block<'d> {
    /// One finding, in full.
    Finding(&'d Diagnostic),
    /// The findings of one code beyond the first few.
    Rest(Rest<'d>),
}

/// Findings of one code not shown one by one.
pub(crate) struct Rest<'d> {
    /// Their code.
    pub code: Code,
    /// Their severity (warning or advice).
    pub severity: Severity,
    /// The first lines they point at.
    pub lines: Vec<usize>,
    /// The findings themselves, in their order.
    pub findings: Vec<&'d Diagnostic>,
}

impl Rest<'_> {
    /// How many.
    pub fn count(&self) -> usize {
        self.findings.len()
    }

    /// `advice notes`, `warning`...
    pub fn noun(&self) -> &'static str {
        match (self.severity, self.count() == 1) {
            (Severity::Warning, true) => "warning",
            (Severity::Warning, false) => "warnings",
            (_, true) => "advice note",
            (_, false) => "advice notes",
        }
    }

    /// `539, 543, ...`: the lines named, and an ellipsis when there are more; `None`
    /// when the findings point at no line.
    pub fn named_lines(&self) -> Option<String> {
        if self.lines.is_empty() {
            return None;
        }
        let named: Vec<String> = self.lines.iter().map(ToString::to_string).collect();
        let more = if self.count() > self.lines.len() {
            ", ..."
        } else {
            ""
        };
        Some(format!("{}{more}", named.join(", ")))
    }
}

/// The blocks of a report: every error, the first three warnings and the first advice
/// note of each code in their order (all of them with `all`), then one summing-up note per
/// code with more, in the order of their codes' first findings.
pub(crate) fn blocks<'d>(
    source: &Source,
    diagnostics: &'d [Diagnostic],
    all: bool,
) -> Vec<Block<'d>> {
    let mut seen: std::collections::HashMap<Code, usize> = std::collections::HashMap::new();
    let mut out = Vec::new();
    let mut rests: Vec<Rest<'d>> = Vec::new();
    for d in diagnostics {
        if all || d.severity() == Severity::Error {
            out.push(Block::Finding(d));
            continue;
        }
        let n = seen.entry(d.code).or_default();
        *n += 1;
        if *n <= shown_per_code(d.severity()) {
            out.push(Block::Finding(d));
            continue;
        }
        let rest = match rests.iter().position(|r| r.code == d.code) {
            Some(i) => &mut rests[i],
            None => {
                rests.push(Rest {
                    code: d.code,
                    severity: d.severity(),
                    lines: Vec::new(),
                    findings: Vec::new(),
                });
                rests.last_mut().expect("just pushed")
            }
        };
        rest.findings.push(d);
        if let Some(span) = d.primary_span()
            && rest.lines.len() < LINES_NAMED
        {
            rest.lines.push(source.line_column(span.offset()).0);
        }
    }
    out.extend(rests.into_iter().map(Block::Rest));
    out
}
