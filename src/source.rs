//! A desired-state file held in memory, and the byte spans that point into it.
//!
//! Every diagnostic carries spans into one `Source`; line and column are computed here, on
//! demand, so the rest of the program deals only in byte offsets.

use miette::{MietteError, SourceCode, SourceSpan, SpanContents};

/// A byte range in a source file.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Default)]
pub struct Span {
    /// Byte offset of the first byte.
    pub offset: usize,
    /// Length in bytes.
    pub len: usize,
}

impl Span {
    /// A span of `len` bytes starting at `offset`.
    pub fn new(offset: usize, len: usize) -> Span {
        Span { offset, len }
    }
}

impl From<Span> for SourceSpan {
    fn from(span: Span) -> SourceSpan {
        SourceSpan::new(span.offset.into(), span.len)
    }
}

/// A value together with the span of the file it was read from.
#[derive(Clone, Debug, PartialEq, Eq)]
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
}

impl Source {
    /// A source named `name` (the path as the user gave it) holding `text`.
    pub fn new(name: impl Into<String>, text: impl Into<String>) -> Source {
        Source {
            name: name.into(),
            text: text.into(),
        }
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
        let before = &self.text[..offset];
        let line = before.bytes().filter(|&b| b == b'\n').count() + 1;
        let line_start = before.rfind('\n').map_or(0, |i| i + 1);
        let column = before[line_start..].chars().count() + 1;
        (line, column)
    }

    /// The text of a span, or an empty string when it does not fall on character
    /// boundaries inside the file.
    pub fn slice(&self, span: Span) -> &str {
        self.text
            .get(span.offset..span.offset.saturating_add(span.len))
            .unwrap_or("")
    }
}

impl SourceCode for Source {
    fn read_span<'a>(
        &'a self,
        span: &SourceSpan,
        context_lines_before: usize,
        context_lines_after: usize,
    ) -> Result<Box<dyn SpanContents<'a> + 'a>, MietteError> {
        let contents = self
            .text
            .read_span(span, context_lines_before, context_lines_after)?;
        // miette's `str` implementation reports the last line's index as the line count,
        // which makes distant labels merge into one long snippet; count the lines here.
        let data = contents.data();
        let newlines = data.iter().filter(|&&b| b == b'\n').count();
        let line_count = newlines + usize::from(!data.ends_with(b"\n"));
        Ok(Box::new(miette::MietteSpanContents::new_named(
            self.name.clone(),
            data,
            *contents.span(),
            contents.line(),
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
}
