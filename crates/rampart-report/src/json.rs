//! `rampart.report/v1`: the serde serialization of [`Report`], pretty-printed.
//!
//! The field-by-field schema and the versioning policy are in `docs/report-json.md`.
//! Because the document *is* the serde form of `rampart_core::Report`, a v1 report
//! read back with `serde_json::from_str::<Report>` gives the same report (baselines rely
//! on this).

use crate::RenderError;
use rampart_core::Report;
use std::io::Write as _;

/// Render the report as pretty JSON, ending with a newline.
pub fn render(report: &Report) -> Result<String, RenderError> {
    let mut out = serde_json::to_string_pretty(report)?;
    out.push('\n');
    Ok(out)
}

/// Write the report as pretty JSON into `w`, ending with a newline.
pub fn render_to(report: &Report, w: &mut dyn std::io::Write) -> Result<(), RenderError> {
    // A buffer of its own: serde_json writes token by token, and calls through
    // `dyn Write` would not be inlined.
    let mut w = std::io::BufWriter::with_capacity(1 << 16, w);
    serde_json::to_writer_pretty(&mut w, report).map_err(RenderError::from_json)?;
    w.write_all(b"\n").map_err(RenderError::Write)?;
    w.flush().map_err(RenderError::Write)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::fixture;

    #[test]
    fn round_trips_through_serde() {
        let report = fixture::report();
        let text = render(&report).unwrap();
        let back: Report = serde_json::from_str(&text).unwrap();
        assert_eq!(back.findings, report.findings);
        assert_eq!(back.rules, report.rules);
        assert_eq!(back.stale_ignores, report.stale_ignores);
        assert_eq!(back.errors, report.errors);
        assert_eq!(render(&back).unwrap(), text);
    }

    #[test]
    fn schema_tag_is_v1() {
        let v: serde_json::Value =
            serde_json::from_str(&render(&fixture::report()).unwrap()).unwrap();
        assert_eq!(v["schema"], "rampart.report/v1");
    }
}
