//! `rampart.report/v1`: the serde serialization of [`Report`], pretty-printed.
//!
//! The field-by-field schema and the versioning policy are in `docs/report-json.md`.
//! Because the document *is* the serde form of `rampart_core::Report`, a v1 report
//! read back with `serde_json::from_str::<Report>` gives the same report (baselines rely
//! on this).

use crate::RenderError;
use rampart_core::Report;

/// Render the report as pretty JSON, ending with a newline.
pub fn render(report: &Report) -> Result<String, RenderError> {
    let mut out = serde_json::to_string_pretty(report)?;
    out.push('\n');
    Ok(out)
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
