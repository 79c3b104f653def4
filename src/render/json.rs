//! Machine-readable diagnostics: the shape shared by `validate` and `plan`.

use serde::Serialize;

use crate::diagnostic::{Code, Counts, Diagnostic, Severity};
use crate::source::Source;

/// The format version of every JSON document nicplan prints.
pub const FORMAT_VERSION: &str = "1";

/// One label, with its position.
#[derive(Debug, Serialize, schemars::JsonSchema)]
pub struct JsonLabel<'a> {
    /// What the label says.
    pub text: &'a str,
    /// 1-based line of its first character.
    pub line: usize,
    /// 1-based column, in characters.
    pub column: usize,
    /// 1-based line of its last character.
    pub end_line: usize,
    /// 1-based column just after its last character.
    pub end_column: usize,
}

/// One diagnostic as JSON.
#[derive(Debug, Serialize, schemars::JsonSchema)]
pub struct JsonDiagnostic<'a> {
    /// The rule's code, `nicplan::...`.
    pub code: Code,
    /// `error`, `warning` or `advice`.
    pub severity: Severity,
    /// One sentence.
    pub message: &'a str,
    /// The file, when the finding points into one.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub file: Option<&'a str>,
    /// Line of the offending value.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub line: Option<usize>,
    /// Column of the offending value.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub column: Option<usize>,
    /// How to fix it.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub help: Option<&'a str>,
    /// Every label, the offending value first.
    pub labels: Vec<JsonLabel<'a>>,
}

impl<'a> JsonDiagnostic<'a> {
    /// Positions a diagnostic in its source.
    pub fn new(source: &'a Source, d: &'a Diagnostic) -> JsonDiagnostic<'a> {
        let labels: Vec<JsonLabel<'a>> = d
            .labels
            .iter()
            .map(|l| {
                let r = super::sarif::region(source, l.span);
                JsonLabel {
                    text: &l.text,
                    line: r.start_line,
                    column: r.start_column,
                    end_line: r.end_line,
                    end_column: r.end_column,
                }
            })
            .collect();
        let first = labels.first();
        JsonDiagnostic {
            code: d.code,
            severity: d.severity(),
            message: &d.message,
            file: first.map(|_| source.name()),
            line: first.map(|l| l.line),
            column: first.map(|l| l.column),
            help: d.help.as_deref(),
            labels,
        }
    }
}

/// The `validate --format json` document.
#[derive(Serialize, schemars::JsonSchema)]
#[schemars(title = "nicplan validate output")]
pub struct Document<'a> {
    /// Always "1".
    pub format_version: &'static str,
    /// Whether the file has no error.
    pub valid: bool,
    /// Findings per severity.
    pub summary: Counts,
    /// Every finding, in file order.
    pub diagnostics: Vec<JsonDiagnostic<'a>>,
}

/// The `validate --format json` document, pretty-printed, ending in a newline.
pub fn diagnostics(source: &Source, diagnostics: &[Diagnostic]) -> String {
    let mut out = Vec::new();
    if let Err(e) = write_diagnostics(&mut out, source, diagnostics) {
        return format!("{{\"error\": \"{e}\"}}\n");
    }
    String::from_utf8(out).unwrap_or_default()
}

/// [`diagnostics`], written to `out` as it is made: each finding is put in its shape
/// when its turn comes, so a file with many thousand findings is never held twice.
pub fn write_diagnostics(
    out: &mut dyn std::io::Write,
    source: &Source,
    diagnostics: &[Diagnostic],
) -> std::io::Result<()> {
    /// The findings, each made into its JSON shape as it is written.
    struct Each<'a> {
        source: &'a Source,
        diagnostics: &'a [Diagnostic],
    }
    impl Serialize for Each<'_> {
        fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
            serializer.collect_seq(
                self.diagnostics
                    .iter()
                    .map(|d| JsonDiagnostic::new(self.source, d)),
            )
        }
    }
    /// [`Document`], field for field.
    #[derive(Serialize)]
    struct Streamed<'a> {
        format_version: &'static str,
        valid: bool,
        summary: Counts,
        diagnostics: Each<'a>,
    }
    let counts = Counts::of(diagnostics);
    let document = Streamed {
        format_version: FORMAT_VERSION,
        valid: counts.errors == 0,
        summary: counts,
        diagnostics: Each {
            source,
            diagnostics,
        },
    };
    serde_json::to_writer_pretty(&mut *out, &document)?;
    out.write_all(b"\n")
}
