//! A desired-state file held in memory, and the byte spans that point into it.
//!
//! Every diagnostic carries spans into one `Source`; line and column are computed here, on
//! demand, so the rest of the program deals only in byte offsets. The offsets of the line
//! starts are indexed once, so finding a line, and the few lines of a snippet around a
//! span, costs a binary search and those lines, however large the file and however many
//! findings it has.

use miette::{MietteError, SourceCode, SourceSpan, SpanContents};

/// A byte range in a source file. Offsets are 32 bits: a desired-state file is at most
/// 64 MiB, and a model holds several spans per resource.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Default)]
pub struct Span {
    offset: u32,
    len: u32,
}

impl Span {
    /// A span of `len` bytes starting at `offset` (each held to 4 GiB).
    pub fn new(offset: usize, len: usize) -> Span {
        Span {
            offset: u32::try_from(offset).unwrap_or(u32::MAX),
            len: u32::try_from(len).unwrap_or(u32::MAX),
        }
    }

    /// Byte offset of the first byte.
    pub fn offset(&self) -> usize {
        self.offset as usize
    }

    /// Length in bytes.
    pub fn len(&self) -> usize {
        self.len as usize
    }

    /// Whether it covers no byte.
    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// Byte offset one past the last byte.
    pub fn end(&self) -> usize {
        self.offset() + self.len()
    }
}

impl From<Span> for SourceSpan {
    fn from(span: Span) -> SourceSpan {
        SourceSpan::new(span.offset().into(), span.len())
    }
}

/// A value together with the span of the file it was read from.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct At<T> {
    /// The value.
    pub value: T,
    /// Where it stands in the file.
    pub span: Span,
}

impl<T> At<T> {
    /// Pairs a value with its span.
    pub fn new(value: T, span: Span) -> At<T> {
        At { value, span }
    }
}

/// A named file's text.
#[derive(Clone, Debug)]
pub struct Source {
    name: String,
    text: String,
    /// The byte offset of the start of every line: 0, then one past every `\n` (32
    /// bits, as spans are).
    line_starts: Vec<u32>,
}

/// Lines taken beyond a snippet's context on each side, so that the snippet found in
/// them is the one the whole text would give (a lone `\r` also ends a line for miette).
const SNIPPET_MARGIN: usize = 2;

impl Source {
    /// A source named `name` (the path as the user gave it) holding `text`.
    pub fn new(name: impl Into<String>, text: impl Into<String>) -> Source {
        let text = text.into();
        let line_starts = std::iter::once(0)
            .chain(
                text.match_indices('\n')
                    .map(|(i, _)| u32::try_from(i + 1).unwrap_or(u32::MAX)),
            )
            .collect();
        Source {
            name: name.into(),
            text,
            line_starts,
        }
    }

    /// The index (0-based) of the line holding byte `offset`.
    fn line_index(&self, offset: usize) -> usize {
        self.line_starts
            .partition_point(|&start| start as usize <= offset)
            .saturating_sub(1)
    }

    /// The file name as given on the command line.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// The whole text.
    pub fn text(&self) -> &str {
        &self.text
    }

    /// 1-based line and column (in characters) of a byte offset; offsets past the end or
    /// inside a character are clamped to the nearest character boundary before them.
    pub fn line_column(&self, offset: usize) -> (usize, usize) {
        let mut offset = offset.min(self.text.len());
        while !self.text.is_char_boundary(offset) {
            offset -= 1;
        }
        let line = self.line_index(offset);
        let column = self.text[self.line_starts[line] as usize..offset]
            .chars()
            .count()
            + 1;
        (line + 1, column)
    }

    /// The text of a span, or an empty string when it does not fall on character
    /// boundaries inside the file.
    pub fn slice(&self, span: Span) -> &str {
        self.text.get(span.offset()..span.end()).unwrap_or("")
    }
}

impl SourceCode for Source {
    fn read_span<'a>(
        &'a self,
        span: &SourceSpan,
        context_lines_before: usize,
        context_lines_after: usize,
    ) -> Result<Box<dyn SpanContents<'a> + 'a>, MietteError> {
        // miette's own reading of a `str` walks from the start of the text, for every
        // snippet; it walks here only the lines around the span, which it finds by the
        // index, and its answer is moved back to where those lines stand in the file.
        let len = self.text.len();
        let end = span.offset().saturating_add(span.len());
        let (first_line, window) = if end > len {
            // Out of bounds: miette says so, as for the whole text.
            (0, self.text.as_bytes())
        } else {
            let first_line = self
                .line_index(span.offset())
                .saturating_sub(context_lines_before + SNIPPET_MARGIN);
            let last_line = self.line_index(end) + context_lines_after + SNIPPET_MARGIN;
            let from = self.line_starts[first_line] as usize;
            let to = self
                .line_starts
                .get(last_line + 1)
                .map_or(len, |&start| start as usize);
            (first_line, &self.text.as_bytes()[from..to])
        };
        let from = self.line_starts[first_line] as usize;
        let local = SourceSpan::new((span.offset() - from).into(), span.len());
        let contents = <[u8] as SourceCode>::read_span(
            window,
            &local,
            context_lines_before,
            context_lines_after,
        )?;
        // miette's `str` implementation reports the last line's index as the line count,
        // which makes distant labels merge into one long snippet; count the lines here.
        let data = contents.data();
        let newlines = data.iter().filter(|&&b| b == b'\n').count();
        let line_count = newlines + usize::from(!data.ends_with(b"\n"));
        let found = contents.span();
        Ok(Box::new(miette::MietteSpanContents::new_named(
            self.name.clone(),
            data,
            SourceSpan::new((found.offset() + from).into(), found.len()),
            contents.line() + first_line,
            contents.column(),
            line_count,
        )))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn line_and_column_are_one_based_and_count_characters() {
        let src = Source::new("f.yaml", "a: 1\nbé: x\n");
        assert_eq!(src.line_column(0), (1, 1));
        assert_eq!(src.line_column(5), (2, 1));
        // 'x' sits after "bé: " which is 5 bytes but 4 characters.
        assert_eq!(src.line_column(10), (2, 5));
        assert_eq!(src.line_column(7), (2, 2), "inside 'é' clamps back");
        assert_eq!(src.line_column(999), (3, 1));
    }

    #[test]
    fn snippets_from_the_index_are_the_ones_the_whole_text_gives() {
        let mut text = String::new();
        for i in 0..400 {
            text.push_str(&"  ".repeat(i % 4));
            text.push_str(&format!("key{i}: välue {i}"));
            // Some blank lines, some CRLF, one line without an end.
            text.push_str(match i % 7 {
                0 => "\n\n",
                3 => "\r\n",
                _ => "\n",
            });
        }
        text.push_str("last: line");
        let src = Source::new("f.yaml", text.clone());
        let boundaries: Vec<usize> = (0..=text.len())
            .filter(|&i| text.is_char_boundary(i))
            .collect();
        for (n, &offset) in boundaries.iter().enumerate().step_by(37) {
            for len in [0usize, 1, 5, 60, 900] {
                for (before, after) in [(0, 0), (1, 1), (2, 3), (5, 0)] {
                    let span = SourceSpan::new(offset.into(), len.min(text.len() - offset));
                    let whole = text.read_span(&span, before, after).expect("whole text");
                    let indexed = src.read_span(&span, before, after).expect("indexed");
                    let at = format!("span {n} {offset}+{len}, context {before}/{after}");
                    assert_eq!(indexed.data(), whole.data(), "{at}");
                    assert_eq!(indexed.span(), whole.span(), "{at}");
                    assert_eq!(indexed.line(), whole.line(), "{at}");
                    assert_eq!(indexed.column(), whole.column(), "{at}");
                }
            }
        }
        let past = SourceSpan::new((text.len() + 1).into(), 3);
        assert!(src.read_span(&past, 1, 1).is_err());
    }
}
