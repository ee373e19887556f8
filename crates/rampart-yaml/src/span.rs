//! Source spans.

use serde::{Deserialize, Serialize};

/// A 1-based line/column span. Columns count bytes within the line.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Default)]
pub struct Span {
    /// First line (1-based).
    pub start_line: usize,
    /// First column (1-based).
    pub start_column: usize,
    /// Last line (1-based, inclusive).
    pub end_line: usize,
    /// Column just after the last byte (1-based, exclusive).
    pub end_column: usize,
}

impl Span {
    /// Compute the span of `text[start..end]` (byte offsets).
    pub fn from_offsets(text: &[u8], start: usize, end: usize) -> Span {
        let start = start.min(text.len());
        let end = end.clamp(start, text.len());
        let (start_line, start_column) = line_col(text, start, 1, 0);
        // Walk from start to end only, so large files are not re-scanned.
        let newlines = memchr::memchr_iter(b'\n', &text[start..end]).count();
        let end_line = start_line + newlines;
        let end_line_start = if newlines == 0 {
            start - (start_column - 1)
        } else {
            memchr::memrchr(b'\n', &text[start..end]).map_or(start, |i| start + i + 1)
        };
        Span {
            start_line,
            start_column,
            end_line,
            end_column: end - end_line_start + 1,
        }
    }

    /// A span covering a whole line.
    pub fn line(line: usize) -> Span {
        Span {
            start_line: line,
            start_column: 1,
            end_line: line,
            end_column: 1,
        }
    }
}

/// 1-based line and column of byte offset `pos`.
fn line_col(text: &[u8], pos: usize, base_line: usize, base_off: usize) -> (usize, usize) {
    let slice = &text[base_off..pos];
    let line = base_line + memchr::memchr_iter(b'\n', slice).count();
    let line_start = memchr::memrchr(b'\n', slice).map_or(base_off, |i| base_off + i + 1);
    (line, pos - line_start + 1)
}
