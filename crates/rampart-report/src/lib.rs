//! Rampart's report renderers.
//!
//! Every renderer takes a finalized [`Report`] (findings sorted, suppressions applied,
//! `rules` filled, summary computed by [`Report::finalize`]) and returns the whole
//! document as a `String`. Nothing here prints, reads files or looks at the terminal:
//! the CLI decides where the text goes and whether colours are wanted.
//!
//! | format | module | what |
//! |---|---|---|
//! | `table` | [`table`] | terminal table grouped by file, with a summary and the gate |
//! | `json` | [`json`] | `rampart.report/v1`, the serde form of [`Report`] (docs/report-json.md) |
//! | `sarif` | [`sarif`] | SARIF 2.1.0 for code-scanning UIs |
//! | `junit` | [`junit`] | JUnit XML, one test case per finding |
//! | `markdown` | [`markdown`] | GitHub-flavoured Markdown for PR comments and job summaries |
//!
//! ```
//! use rampart_core::Report;
//! use rampart_report::{render, Format, RenderOptions};
//!
//! let mut report = Report::new(".", vec!["secrets".to_string()]);
//! report.finalize(|_| None, Default::default());
//! let format: Format = "markdown".parse().unwrap();
//! let text = render(&report, format, &RenderOptions::default()).unwrap();
//! assert!(text.starts_with("# Rampart report"));
//! ```

use rampart_core::Report;
use std::fmt;
use std::str::FromStr;

pub mod json;
pub mod junit;
pub mod markdown;
pub mod sarif;
pub mod table;

mod text;

pub use text::{count, visible};

/// An output format.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Format {
    /// Human-readable terminal table (the default).
    Table,
    /// `rampart.report/v1` JSON.
    Json,
    /// SARIF 2.1.0.
    Sarif,
    /// JUnit XML.
    Junit,
    /// GitHub-flavoured Markdown.
    Markdown,
}

impl Format {
    /// Every format, in the order shown in help texts.
    pub const ALL: [Format; 5] = [
        Format::Table,
        Format::Json,
        Format::Sarif,
        Format::Junit,
        Format::Markdown,
    ];

    /// The name used on the command line and in configuration.
    pub fn as_str(self) -> &'static str {
        match self {
            Format::Table => "table",
            Format::Json => "json",
            Format::Sarif => "sarif",
            Format::Junit => "junit",
            Format::Markdown => "markdown",
        }
    }

    /// The usual file extension (without the dot) for `--output` files.
    pub fn extension(self) -> &'static str {
        match self {
            Format::Table => "txt",
            Format::Json => "json",
            Format::Sarif => "sarif",
            Format::Junit => "xml",
            Format::Markdown => "md",
        }
    }
}

impl fmt::Display for Format {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A format name that is not one of [`Format::ALL`].
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("unknown report format `{0}` (expected table, json, sarif, junit or markdown)")]
pub struct UnknownFormat(pub String);

impl FromStr for Format {
    type Err = UnknownFormat;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Format::ALL
            .into_iter()
            .find(|f| f.as_str().eq_ignore_ascii_case(s))
            .ok_or_else(|| UnknownFormat(s.to_string()))
    }
}

/// Options that change how a report is shown (not what it contains).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct RenderOptions {
    /// Use ANSI colours (table only). The CLI sets it when stdout is a terminal and
    /// `NO_COLOR` is unset; renderers never look at the terminal themselves.
    pub color: bool,
    /// List suppressed findings in the table too (they are always counted in the summary).
    pub show_suppressed: bool,
    /// Cut the Markdown report to at most this many bytes (so characters), worst
    /// findings first, then counts and a note ([`markdown::render_limited`]). `None`: no
    /// limit (the CLI's default is [`markdown::GITHUB_COMMENT_LIMIT`]).
    pub markdown_max_chars: Option<usize>,
}

/// Why a report could not be rendered.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum RenderError {
    /// Serializing JSON (report or SARIF) failed.
    #[error("cannot serialize the report as JSON: {0}")]
    Json(#[from] serde_json::Error),
    /// Writing XML failed.
    #[error("cannot write the JUnit XML: {0}")]
    Xml(#[from] std::io::Error),
    /// Writing the rendered report failed.
    #[error("cannot write the report: {0}")]
    Write(#[source] std::io::Error),
}

/// Render `report` in `format`.
pub fn render(
    report: &Report,
    format: Format,
    opts: &RenderOptions,
) -> Result<String, RenderError> {
    match format {
        Format::Table => Ok(table::render(report, opts)),
        Format::Json => json::render(report),
        Format::Sarif => sarif::render(report),
        Format::Junit => junit::render(report),
        Format::Markdown => Ok(markdown::render_limited(report, opts.markdown_max_chars)),
    }
}

impl RenderError {
    /// A serde_json error; a failed write stays an [`std::io::Error`] of the same kind, so
    /// callers can still tell a closed pipe (serde_json's error does not expose it as a
    /// source).
    fn from_json(e: serde_json::Error) -> RenderError {
        match e.io_error_kind() {
            Some(kind) => RenderError::Write(std::io::Error::new(kind, e)),
            None => RenderError::Json(e),
        }
    }
}

/// Write `value` as pretty JSON and a newline into `w`, through a buffer of its own:
/// serde_json writes token by token, and calls through `dyn Write` would not be inlined.
fn write_pretty_json<T: serde::Serialize>(
    value: &T,
    w: &mut dyn std::io::Write,
) -> Result<(), RenderError> {
    use std::io::Write as _;
    let mut w = std::io::BufWriter::with_capacity(1 << 16, w);
    serde_json::to_writer_pretty(&mut w, value).map_err(RenderError::from_json)?;
    w.write_all(b"\n").map_err(RenderError::Write)?;
    w.flush().map_err(RenderError::Write)
}

/// Render `report` in `format` into `w`. JSON and SARIF are serialized straight into the
/// writer, so the document is never held in memory whole (a 10,000-manifest scan makes a
/// 140 MB JSON report); the other formats are rendered first. Pass a buffered writer.
pub fn render_to(
    report: &Report,
    format: Format,
    opts: &RenderOptions,
    w: &mut dyn std::io::Write,
) -> Result<(), RenderError> {
    match format {
        Format::Json => write_pretty_json(report, w),
        Format::Sarif => write_pretty_json(&sarif::to_sarif(report), w),
        _ => {
            let text = render(report, format, opts)?;
            w.write_all(text.as_bytes()).map_err(RenderError::Write)
        }
    }
}

#[cfg(test)]
#[path = "../tests/it/common/mod.rs"]
pub(crate) mod fixture;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn format_names_round_trip() {
        for f in Format::ALL {
            assert_eq!(f.to_string().parse::<Format>(), Ok(f));
        }
        assert_eq!("SARIF".parse::<Format>(), Ok(Format::Sarif));
        let err = "html".parse::<Format>().unwrap_err();
        assert!(err.to_string().contains("`html`"), "{err}");
    }

    #[test]
    fn render_to_writes_what_render_returns() {
        let report = fixture::report();
        for f in Format::ALL {
            let opts = RenderOptions::default();
            let mut out = Vec::new();
            render_to(&report, f, &opts, &mut out).unwrap();
            assert_eq!(
                String::from_utf8(out).unwrap(),
                render(&report, f, &opts).unwrap(),
                "{f}"
            );
        }
    }

    /// A reader that went away after `n` bytes.
    struct ClosedPipe(usize);

    impl std::io::Write for ClosedPipe {
        fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
            if self.0 == 0 {
                return Err(std::io::ErrorKind::BrokenPipe.into());
            }
            let n = buf.len().min(self.0);
            self.0 -= n;
            Ok(n)
        }
        fn flush(&mut self) -> std::io::Result<()> {
            Ok(())
        }
    }

    #[test]
    fn a_closed_pipe_is_an_io_error_of_that_kind() {
        let report = fixture::report();
        for f in Format::ALL {
            let err =
                render_to(&report, f, &RenderOptions::default(), &mut ClosedPipe(10)).unwrap_err();
            match err {
                RenderError::Write(e) => {
                    assert_eq!(e.kind(), std::io::ErrorKind::BrokenPipe, "{f}");
                }
                other => panic!("{f}: {other:?}"),
            }
        }
    }

    #[test]
    fn every_format_renders_the_fixture() {
        let report = fixture::report();
        for f in Format::ALL {
            let out = render(&report, f, &RenderOptions::default()).unwrap();
            assert!(!out.is_empty(), "{f} rendered nothing");
            assert!(
                out.ends_with('\n'),
                "{f} output does not end with a newline"
            );
        }
    }
}
