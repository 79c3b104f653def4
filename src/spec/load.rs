//! Reading a desired-state file: bounded in time and memory whatever the input.
//!
//! The YAML budget grows with the input instead of sitting at serde-saphyr's fixed
//! defaults: an honest file of many thousand instances has more nodes than the default
//! allows, while an alias bomb is stopped by the replay limit, which stays fixed, and
//! by the node and event limits, which never exceed what the bytes could hold.

use serde_saphyr::{Budget, Options};

use super::File;
use crate::diagnostic::{Code, Diagnostic};
use crate::source::{Source, Span};

/// Files larger than this are refused before parsing (64 MiB; a file of 10,000
/// instances is about 2 MiB).
pub const MAX_FILE_BYTES: usize = 64 << 20;

/// Alias replays allowed whatever the file size: anchors save typing, they do not
/// multiply a file a thousandfold.
const MAX_REPLAYED_EVENTS: usize = 1_000_000;

/// Turns raw bytes into a source, or a diagnostic when they are too many or not UTF-8.
pub fn decode(name: &str, bytes: Vec<u8>) -> Result<Source, Box<(Source, Diagnostic)>> {
    if bytes.len() > MAX_FILE_BYTES {
        let diagnostic = Diagnostic::new(
            Code::Schema,
            format!(
                "the file is {} bytes, more than the {} bytes a desired-state file may have",
                bytes.len(),
                MAX_FILE_BYTES
            ),
        )
        .help("split the network across several files, one state each");
        return Err(Box::new((Source::new(name, ""), diagnostic)));
    }
    match String::from_utf8(bytes) {
        Ok(text) => Ok(Source::new(name, text)),
        Err(err) => {
            let offset = err.utf8_error().valid_up_to();
            let text = String::from_utf8_lossy(err.as_bytes()).into_owned();
            let diagnostic =
                Diagnostic::new(Code::Schema, "the file is not valid UTF-8 text".to_string())
                    .label(Span::new(offset, 1), "this byte is not UTF-8")
                    .help("save the file as UTF-8");
            Err(Box::new((Source::new(name, text), diagnostic)))
        }
    }
}

/// The parser options for an input of `len` bytes.
pub(crate) fn options(len: usize) -> Options {
    let mut budget = Budget::default();
    // Every node takes at least two bytes of input ("a," or "a\n"); events are nodes plus
    // their closing events. Aliases replay without bytes, hence their own fixed limit.
    budget.max_nodes = budget.max_nodes.max(len / 2 + 1);
    budget.max_events = budget.max_events.max(len + 1);
    budget.max_depth = 32;
    let mut options = Options::default();
    options.budget = Some(budget);
    options.alias_limits.max_total_replayed_events = MAX_REPLAYED_EVENTS;
    options.with_snippet = false;
    options
}

/// Parses a source into the file's types. A file that does not fit them gets every
/// schema finding there is, in file order (see `shape`); a file that is not YAML gets
/// the one finding where the parser stopped.
pub fn load(source: &Source) -> Result<File, Vec<Diagnostic>> {
    let text = source.text();
    if text.trim().is_empty()
        || text
            .lines()
            .all(|l| l.trim_start().starts_with('#') || l.trim().is_empty())
    {
        return Err(vec![
            Diagnostic::new(Code::Schema, "the file is empty")
                .help("a desired-state file starts with `version: 1`"),
        ]);
    }
    let file: File = match serde_saphyr::from_str_with_options(text, options(text.len())) {
        Ok(file) => file,
        Err(err) => {
            return Err(match super::shape::findings(source, options(text.len())) {
                Ok(all) if !all.is_empty() => all,
                // The plain reading names a broken YAML syntax as it is (an unclosed
                // bracket), where the typed one names what it expected there.
                Err(Some(syntax)) => vec![schema_diagnostic(source, &syntax)],
                _ => vec![schema_diagnostic(source, &err)],
            });
        }
    };
    if file.version.value != 1 {
        return Err(vec![version_finding(
            file.version.value,
            super::span_of(&file.version),
        )]);
    }
    Ok(file)
}

/// The help for an unknown field among the `known` ones of its block: the closest
/// names, or a part of one (`zone` for `availability_zone`), else every name.
pub(crate) fn unknown_field_help(field: &str, known: &[&str]) -> String {
    let mut close = crate::suggest::closest(field, known.iter().copied());
    if close.is_empty() && field.len() >= 3 {
        close = known
            .iter()
            .copied()
            .filter(|k| k.contains(field))
            .collect();
    }
    if close.is_empty() {
        format!("known fields here: {}", known.join(", "))
    } else {
        format!("did you mean {}?", crate::suggest::one_of(&close))
    }
}

/// The finding for a format version other than 1, written as `shown`.
pub(crate) fn version_finding(shown: impl std::fmt::Display, span: Span) -> Diagnostic {
    Diagnostic::new(
        Code::Schema,
        format!("format version {shown} is not supported"),
    )
    .label(span, "this nicplan reads version 1")
    .help("write `version: 1`")
}

/// The byte offset of a 1-based line and column (in characters), when the text has
/// them.
fn offset_of(text: &str, line: u64, column: u64) -> Option<usize> {
    let line = usize::try_from(line.checked_sub(1)?).ok()?;
    let start = if line == 0 {
        0
    } else {
        text.match_indices('\n').nth(line - 1)?.0 + 1
    };
    let column = usize::try_from(column.saturating_sub(1)).ok()?;
    let rest = &text[start..];
    Some(
        start
            + rest
                .char_indices()
                .nth(column)
                .map_or(rest.len(), |(i, _)| i),
    )
}

fn schema_diagnostic(source: &Source, err: &serde_saphyr::Error) -> Diagnostic {
    let raw = err.without_snippet().to_string();
    let (message, label, help) = explain(&raw);
    let mut diagnostic = Diagnostic::new(Code::Schema, message);
    if let Some(location) = err.location() {
        let span = location.span();
        let offset = span
            .byte_offset()
            .and_then(|o| usize::try_from(o).ok())
            .or_else(|| offset_of(source.text(), location.line(), location.column()))
            .unwrap_or(0)
            .min(source.text().len());
        // A tab is reported after it; point at the first tab of the line's indent.
        let offset = if raw.starts_with("tabs disallowed") {
            let line_start = source.text()[..offset].rfind('\n').map_or(0, |i| i + 1);
            source.text()[line_start..]
                .find('\t')
                .map_or(offset, |i| line_start + i)
        } else {
            offset
        };
        let len = span
            .byte_len()
            .and_then(|l| usize::try_from(l).ok())
            .unwrap_or(0);
        let len = len.min(source.text().len() - offset).max(1);
        diagnostic = diagnostic.label(Span::new(offset, len), label);
    }
    if let Some(help) = help {
        diagnostic = diagnostic.help(help);
    }
    diagnostic
}

/// Rewrites the parser's message for people who write YAML, not Rust: its first line,
/// without the location it appends (ours is a span), with a label and help where the
/// message is one we recognise.
fn explain(raw: &str) -> (String, String, Option<String>) {
    let first = raw.lines().next().unwrap_or(raw).trim();
    let first = match first.rfind(" at line ") {
        Some(i) => &first[..i],
        None => first,
    };
    let message = first.trim_end_matches('.').to_string();
    if let Some(rest) = message.strip_prefix("duplicate mapping key: ") {
        let key = rest
            .split(", set DuplicateKeyPolicy")
            .next()
            .unwrap_or(rest);
        return (
            format!("`{key}` is declared twice in the same map"),
            "declared again here".into(),
            Some("each key may appear once; rename or merge the two".into()),
        );
    }
    if let Some(rest) = message.strip_prefix("unknown field `") {
        let (field, expected) = rest.split_once("`, expected one of ").unwrap_or((rest, ""));
        let field = field.trim_end_matches('`');
        let known: Vec<&str> = expected.split(", ").filter(|s| !s.is_empty()).collect();
        return (
            format!("unknown field `{field}`"),
            "not a field of this block".into(),
            Some(unknown_field_help(field, &known)),
        );
    }
    if message.starts_with("tabs disallowed") {
        return (
            "a tab indents this line; YAML indents with spaces only".into(),
            "a tab".into(),
            Some("replace the tab with spaces".into()),
        );
    }
    if let Some(rest) = message.strip_prefix("unclosed bracket '") {
        let open = rest.chars().next().unwrap_or('[');
        let close = if open == '{' { '}' } else { ']' };
        return (
            format!("the `{open}` opened here is never closed"),
            format!("opened here, no `{close}` follows"),
            Some(format!("close it with `{close}`")),
        );
    }
    if let Some(rest) = message.strip_prefix("mismatched bracket '") {
        let open = rest.chars().next().unwrap_or('[');
        let close = if open == '{' { '}' } else { ']' };
        let found = rest
            .rsplit("closed by '")
            .next()
            .and_then(|r| r.chars().next())
            .unwrap_or('?');
        return (
            format!("the `{open}` opened here is closed by `{found}`"),
            format!("opened here; `{close}` closes it"),
            Some(format!("close the `{open}` with `{close}`")),
        );
    }
    if message.starts_with("multiple YAML documents detected") {
        return (
            "the file holds more than one YAML document".into(),
            "another document starts here".into(),
            Some("a desired-state file is one document: remove the `---` line and merge the two, or split them into two files".into()),
        );
    }
    if message.starts_with("recursive references require") {
        return (
            "an alias refers to the anchor it sits inside of, which would repeat forever".into(),
            "here".into(),
            Some("an alias may only repeat a value that is complete before it".into()),
        );
    }
    if message.starts_with("cannot deserialize null into") {
        return (
            "expected a value, found nothing (null)".into(),
            "empty here".into(),
            Some("write the value, or remove the key".into()),
        );
    }
    let readable = match message.as_str() {
        "invalid i64" | "invalid u32" | "invalid u64" => "expected an integer".to_string(),
        "expected string scalar" => "expected a string".to_string(),
        "invalid boolean" => "expected true or false".to_string(),
        _ => message,
    };
    (readable, "here".into(), None)
}
