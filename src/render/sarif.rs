//! SARIF 2.1.0: diagnostics as a static-analysis log, for GitHub code scanning and any
//! other SARIF viewer.
//!
//! One log holds one run: the tool with one rule per code, in catalogue order, and one
//! result per diagnostic, in the order given, except that warnings and advice repeated
//! beyond a few of one code are summed up in one result (see [`sarif`]). Lines and
//! columns are 1-based and columns count Unicode code points (as `Source::line_column` does; the run says so in
//! `columnKind`). A region ends as SARIF defines it: `endLine` is the line of its last
//! character and `endColumn` the column just after it. The output depends on nothing but
//! its input, so the same diagnostics always give the same bytes.

use std::borrow::Cow;

use serde::Serialize;

use crate::diagnostic::{Code, Diagnostic, Severity};
use crate::render::{Block, Rest, blocks};
use crate::source::{Source, Span};

/// Where the SARIF 2.1.0 JSON Schema is published, as named in every log.
pub const SCHEMA: &str = "https://json.schemastore.org/sarif-2.1.0.json";

/// The SARIF version every log declares.
pub const VERSION: &str = "2.1.0";

/// The position of a span in its file, in the units SARIF and GitHub annotations use.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Region {
    /// 1-based line of the first character.
    pub start_line: usize,
    /// 1-based column of the first character, in characters.
    pub start_column: usize,
    /// 1-based line of the last character (the start line for an empty span).
    pub end_line: usize,
    /// Column just after the last character (the start column for an empty span).
    pub end_column: usize,
}

/// Positions a span. Spans reaching past the end of the file or into a character are
/// cut back to the last whole character they cover.
pub fn region(source: &Source, span: Span) -> Region {
    let text = source.text();
    let start = text.floor_char_boundary(span.offset().min(text.len()));
    let end = text
        .floor_char_boundary(span.end().min(text.len()))
        .max(start);
    let (start_line, start_column) = source.line_column(start);
    // The end is placed after the last character rather than at the offset just past the
    // span: a span ending in a newline ends on its own line, not at column 1 of the next.
    match text[start..end].char_indices().next_back() {
        Some((last, _)) => {
            let (end_line, last_column) = source.line_column(start + last);
            Region {
                start_line,
                start_column,
                end_line,
                end_column: last_column + 1,
            }
        }
        None => Region {
            start_line,
            start_column,
            end_line: start_line,
            end_column: start_column,
        },
    }
}

/// A file name as a path relative to the repository: backslashes become slashes and
/// leading `./` go, because that is how code scanning and annotations match files.
pub fn artifact_path(name: &str) -> String {
    let mut path = name.replace('\\', "/");
    while let Some(rest) = path.strip_prefix("./") {
        path = rest.to_owned();
    }
    path
}

/// A file name as a SARIF `uri`: the artifact path with every byte that is not an
/// unreserved URI character or `/` percent-encoded, so spaces, `%`, `#` or a drive's `:`
/// still make a valid URI reference.
pub fn artifact_uri(name: &str) -> String {
    let mut uri = String::new();
    for byte in artifact_path(name).bytes() {
        if byte.is_ascii_alphanumeric() || matches!(byte, b'-' | b'.' | b'_' | b'~' | b'/') {
            uri.push(char::from(byte));
        } else {
            uri.push_str(&format!("%{byte:02X}"));
        }
    }
    uri
}

/// The SARIF `level` of a severity.
pub fn level(severity: Severity) -> &'static str {
    match severity {
        Severity::Error => "error",
        Severity::Warning => "warning",
        Severity::Advice => "note",
    }
}

#[derive(Serialize)]
struct Log<'a> {
    #[serde(rename = "$schema")]
    schema: &'static str,
    version: &'static str,
    runs: Vec<Run<'a>>,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct Run<'a> {
    tool: Tool,
    column_kind: &'static str,
    results: Vec<SarifResult<'a>>,
}

#[derive(Serialize)]
struct Tool {
    driver: Driver,
}

#[derive(Serialize)]
struct Driver {
    name: &'static str,
    version: &'static str,
    rules: Vec<Rule>,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct Rule {
    id: &'static str,
    short_description: Message<'static>,
    default_configuration: Configuration,
}

#[derive(Serialize)]
struct Configuration {
    level: &'static str,
}

#[derive(Serialize)]
struct Message<'a> {
    text: Cow<'a, str>,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct SarifResult<'a> {
    rule_id: &'static str,
    #[serde(skip_serializing_if = "Option::is_none")]
    rule_index: Option<usize>,
    level: &'static str,
    message: Message<'a>,
    locations: Vec<Location<'a>>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    related_locations: Vec<Location<'a>>,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct Location<'a> {
    #[serde(skip_serializing_if = "Option::is_none")]
    id: Option<usize>,
    physical_location: PhysicalLocation,
    #[serde(skip_serializing_if = "Option::is_none")]
    message: Option<Message<'a>>,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct PhysicalLocation {
    artifact_location: ArtifactLocation,
    region: LocationRegion,
}

#[derive(Serialize)]
struct ArtifactLocation {
    uri: String,
}

/// A labelled span's region, or only the first line for a finding about the whole file.
#[derive(Serialize)]
#[serde(untagged)]
enum LocationRegion {
    Span(Region),
    #[serde(rename_all = "camelCase")]
    File {
        start_line: usize,
    },
}

fn rules() -> Vec<Rule> {
    Code::ALL
        .iter()
        .map(|&code| Rule {
            id: code.as_str(),
            short_description: Message {
                text: code.summary().into(),
            },
            default_configuration: Configuration {
                level: level(code.severity()),
            },
        })
        .collect()
}

fn physical(source: &Source, span: Option<Span>) -> PhysicalLocation {
    PhysicalLocation {
        artifact_location: ArtifactLocation {
            uri: artifact_uri(source.name()),
        },
        region: match span {
            Some(span) => LocationRegion::Span(region(source, span)),
            None => LocationRegion::File { start_line: 1 },
        },
    }
}

fn result<'a>(source: &Source, d: &'a Diagnostic) -> SarifResult<'a> {
    let text = match &d.help {
        Some(help) => format!("{} Help: {help}", d.message).into(),
        None => d.message.as_ref().into(),
    };
    // Code scanning drops results without a location, so a finding about the whole file
    // points at its first line.
    let location = Location {
        id: None,
        physical_location: physical(source, d.primary_span()),
        message: d
            .labels
            .first()
            .filter(|l| !l.text.is_empty())
            .map(|l| Message {
                text: l.text.as_ref().into(),
            }),
    };
    let related_locations = d
        .labels
        .iter()
        .enumerate()
        .skip(1)
        .map(|(id, label)| Location {
            id: Some(id),
            physical_location: physical(source, Some(label.span)),
            message: Some(Message {
                text: label.text.as_ref().into(),
            }),
        })
        .collect();
    SarifResult {
        rule_id: d.code.as_str(),
        rule_index: Code::ALL.iter().position(|&c| c == d.code),
        level: level(d.severity()),
        message: Message { text },
        locations: vec![location],
        related_locations,
    }
}

/// The related locations one summing-up result lists at most (GitHub code scanning
/// reads no more than 1,000 locations of a result).
const RELATED_MAX: usize = 1000;

/// The one result for the findings of a code beyond the first few: on the first of
/// them, each of them (up to [`RELATED_MAX`]) a related location with its message.
fn rest_result<'a>(source: &Source, rest: &Rest<'a>) -> SarifResult<'a> {
    let listed = rest.findings.len().min(RELATED_MAX);
    let unlisted = if listed < rest.count() {
        format!(
            " The first {listed} are its related locations; `--verbose` or `--format json` lists each."
        )
    } else {
        " Each is one of its related locations; `--verbose` makes each a result of its own."
            .to_string()
    };
    let first = rest.findings.first().and_then(|d| d.primary_span());
    SarifResult {
        rule_id: rest.code.as_str(),
        rule_index: Code::ALL.iter().position(|&c| c == rest.code),
        level: level(rest.severity),
        message: Message {
            text: format!(
                "{} more {} of {} like the results before it.{unlisted}",
                rest.count(),
                rest.noun(),
                rest.code.as_str()
            )
            .into(),
        },
        locations: vec![Location {
            id: None,
            physical_location: physical(source, first),
            message: None,
        }],
        related_locations: rest
            .findings
            .iter()
            .take(RELATED_MAX)
            .enumerate()
            .map(|(i, d)| Location {
                id: Some(i + 1),
                physical_location: physical(source, d.primary_span()),
                message: Some(Message {
                    text: d.message.as_ref().into(),
                }),
            })
            .collect(),
    }
}

/// One SARIF 2.1.0 log, pretty-printed and ending in a newline, holding the findings of
/// every `(source, diagnostics)` pair in one run, in the order given: with `all`, a
/// result per finding; else every error, the first few warnings and advice notes of
/// each code in a source, and one result summing up the rest of each code, whose
/// related locations are those findings, so code scanning shows a pull request a few
/// alerts per code rather than one per instance.
pub fn sarif(runs: &[(&Source, &[Diagnostic])], all: bool) -> String {
    let log = Log {
        schema: SCHEMA,
        version: VERSION,
        runs: vec![Run {
            tool: Tool {
                driver: Driver {
                    name: "nicplan",
                    version: env!("CARGO_PKG_VERSION"),
                    rules: rules(),
                },
            },
            column_kind: "unicodeCodePoints",
            results: runs
                .iter()
                .flat_map(|&(source, diagnostics)| {
                    blocks(source, diagnostics, all)
                        .into_iter()
                        .map(move |block| match block {
                            Block::Finding(d) => result(source, d),
                            Block::Rest(rest) => rest_result(source, &rest),
                        })
                })
                .collect(),
        }],
    };
    // Strings and integers cannot fail to serialise; should it happen anyway, the output
    // must not be a valid log without the findings, which CI would read as a clean run.
    let mut out = serde_json::to_string_pretty(&log)
        .unwrap_or_else(|e| serde_json::json!({ "error": e.to_string() }).to_string());
    out.push('\n');
    out
}
