//! JUnit XML, the form GitLab, Jenkins and most CI dashboards show as test results.
//!
//! ```text
//! <testsuites name="rampart" tests failures errors skipped time>
//!   <testsuite name="rampart" …>
//!     <properties> target, scanners, fail_on, gate </properties>
//!     <testcase classname="RULE_ID" name="LOCATION" file="PATH">     one per finding
//!       <failure message="MESSAGE" type="SEVERITY">details</failure>  unsuppressed
//!       <skipped message="REASON"/>                                   suppressed
//!     <testcase classname="rampart" name="scan error: PATH">          one per scan error
//!       <error message="MESSAGE" type="scan-error"/>
//!     <testcase classname="rampart" name="rampart scan"/>             when nothing failed
//! ```
//!
//! Every finding is a failure whatever the gate says; the gate's verdict is in the
//! suite's properties.

use crate::RenderError;
use quick_xml::events::{BytesDecl, BytesEnd, BytesStart, BytesText, Event};
use quick_xml::Writer;
use rampart_core::{Finding, Report};
use std::io;

/// Render the report as JUnit XML, ending with a newline.
pub fn render(report: &Report) -> Result<String, RenderError> {
    let mut w = Writer::new_with_indent(Vec::new(), b' ', 2);
    write(&mut w, report)?;
    let mut out = String::from_utf8(w.into_inner())
        .map_err(|e| io::Error::new(io::ErrorKind::InvalidData, e))?;
    out.push('\n');
    Ok(out)
}

fn write(w: &mut Writer<Vec<u8>>, report: &Report) -> io::Result<()> {
    let failures = report.active().count();
    let skipped = report.findings.len() - failures;
    let errors = report.errors.len();
    let passing = usize::from(failures == 0);
    let tests = report.findings.len() + errors + passing;
    #[allow(clippy::cast_precision_loss)] // seconds for display
    let time = format!("{:.3}", report.duration_ms as f64 / 1000.0);
    let counts = [
        ("tests", tests.to_string()),
        ("failures", failures.to_string()),
        ("errors", errors.to_string()),
        ("skipped", skipped.to_string()),
        ("time", time),
    ];

    w.write_event(Event::Decl(BytesDecl::new("1.0", Some("UTF-8"), None)))?;
    let mut suites = BytesStart::new("testsuites");
    suites.push_attribute(("name", "rampart"));
    for (k, v) in &counts {
        suites.push_attribute((*k, v.as_str()));
    }
    w.write_event(Event::Start(suites))?;

    let mut suite = BytesStart::new("testsuite");
    suite.push_attribute(("name", "rampart"));
    for (k, v) in &counts {
        suite.push_attribute((*k, v.as_str()));
    }
    suite.push_attribute(("timestamp", xml_safe(&report.started_at).as_str()));
    w.write_event(Event::Start(suite))?;

    w.write_event(Event::Start(BytesStart::new("properties")))?;
    let gate = if report.summary.gate_failed {
        "failed"
    } else {
        "passed"
    };
    let gate = if !report.errors.is_empty() && !report.summary.errors_allowed {
        "incomplete"
    } else {
        gate
    };
    let mut props = vec![
        ("target", report.target.clone()),
        ("scanners", report.scanners.join(",")),
        ("tool_version", report.tool.version.clone()),
        ("fail_on", String::from(report.summary.fail_on)),
        ("gate", gate.to_string()),
    ];
    if let Some(c) = &report.summary.config {
        props.push(("config", format!("{} ({})", c.path, c.source)));
        props.push(("config_applied", c.applied.join("; ")));
        let refused: Vec<String> = c
            .refused
            .iter()
            .map(|r| format!("{}: {}", r.key, r.reason))
            .collect();
        props.push(("config_refused", refused.join("; ")));
    }
    if let Some(note) = crate::text::hidden_note(&report.summary) {
        props.push(("hidden", note));
    }
    for (name, value) in &props {
        let mut p = BytesStart::new("property");
        p.push_attribute(("name", *name));
        p.push_attribute(("value", one_line(value).as_str()));
        w.write_event(Event::Empty(p))?;
    }
    w.write_event(Event::End(BytesEnd::new("properties")))?;

    for f in &report.findings {
        finding(w, f)?;
    }
    for e in &report.errors {
        let mut case = BytesStart::new("testcase");
        case.push_attribute(("classname", "rampart"));
        case.push_attribute((
            "name",
            one_line(&format!("scan error: {}", e.path)).as_str(),
        ));
        case.push_attribute(("file", xml_safe(&e.path).as_str()));
        if let Some(l) = e.line {
            case.push_attribute(("line", l.to_string().as_str()));
        }
        w.write_event(Event::Start(case))?;
        let mut err = BytesStart::new("error");
        err.push_attribute(("message", one_line(&e.message).as_str()));
        err.push_attribute(("type", "scan-error"));
        w.write_event(Event::Empty(err))?;
        w.write_event(Event::End(BytesEnd::new("testcase")))?;
    }
    if passing == 1 {
        let mut case = BytesStart::new("testcase");
        case.push_attribute(("classname", "rampart"));
        case.push_attribute(("name", "rampart scan"));
        w.write_event(Event::Empty(case))?;
    }

    w.write_event(Event::End(BytesEnd::new("testsuite")))?;
    w.write_event(Event::End(BytesEnd::new("testsuites")))?;
    Ok(())
}

fn finding(w: &mut Writer<Vec<u8>>, f: &Finding) -> io::Result<()> {
    let mut case = BytesStart::new("testcase");
    case.push_attribute(("classname", one_line(&f.rule_id).as_str()));
    case.push_attribute(("name", one_line(&f.location.display()).as_str()));
    if let Some(p) = f.location.path() {
        case.push_attribute(("file", xml_safe(p).as_str()));
    }
    if let Some(l) = f.location.line() {
        case.push_attribute(("line", l.to_string().as_str()));
    }
    w.write_event(Event::Start(case))?;
    match &f.suppression {
        Some(s) => {
            let reason = match &s.reason {
                Some(r) => format!("suppressed ({}): {r}", s.kind.as_str()),
                None => format!("suppressed ({})", s.kind.as_str()),
            };
            let mut skipped = BytesStart::new("skipped");
            skipped.push_attribute(("message", one_line(&reason).as_str()));
            w.write_event(Event::Empty(skipped))?;
        }
        None => {
            let mut failure = BytesStart::new("failure");
            failure.push_attribute(("message", one_line(&f.message).as_str()));
            failure.push_attribute(("type", f.severity.as_str()));
            w.write_event(Event::Start(failure))?;
            w.write_event(Event::Text(BytesText::new(&xml_safe(&details(f)))))?;
            w.write_event(Event::End(BytesEnd::new("failure")))?;
        }
    }
    w.write_event(Event::End(BytesEnd::new("testcase")))
}

/// The body of a `<failure>`: everything a reader of the CI page needs.
fn details(f: &Finding) -> String {
    let mut s = format!(
        "{} [{}] {}\n{}\nLocation: {}\n",
        f.severity.as_str().to_ascii_uppercase(),
        f.rule_id,
        f.title,
        f.message,
        f.location.display()
    );
    if let Some(ev) = &f.evidence {
        s.push_str(&format!("Evidence: {ev}\n"));
    }
    if let rampart_core::Location::File {
        commit: Some(c), ..
    } = &f.location
    {
        s.push_str(&format!(
            "Commit: {} by {} <{}> on {}: {}\n",
            c.commit, c.author, c.email, c.date, c.summary
        ));
    }
    s.push_str(&format!("Remediation: {}\n", f.remediation));
    for r in &f.references {
        s.push_str(&format!("Reference: {r}\n"));
    }
    s.push_str(&format!("Fingerprint: {}", f.fingerprint));
    s
}

/// Drop characters XML 1.0 cannot carry at all (C0 controls but tab, CR, LF; U+FFFE/F).
fn xml_safe(s: &str) -> String {
    s.chars()
        .filter(|&c| {
            matches!(c, '\t' | '\n' | '\r') || !(c < ' ' || c == '\u{FFFE}' || c == '\u{FFFF}')
        })
        .collect()
}

/// An attribute value on one line (parsers would turn newlines into spaces anyway).
fn one_line(s: &str) -> String {
    xml_safe(s)
        .split(['\n', '\r'])
        .filter(|l| !l.is_empty())
        .collect::<Vec<_>>()
        .join(" ")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn xml_safe_drops_illegal_chars() {
        assert_eq!(xml_safe("a\u{0}b\u{1b}c\td\n"), "abc\td\n");
        assert_eq!(one_line("one\r\ntwo\nthree"), "one two three");
    }

    #[test]
    fn empty_report_has_one_passing_case() {
        let mut report = Report::new(".", vec![]);
        report.finalize(|_| None, Default::default());
        let xml = render(&report).unwrap();
        assert!(
            xml.contains(r#"tests="1" failures="0" errors="0" skipped="0""#),
            "{xml}"
        );
        assert!(xml.contains(r#"name="rampart scan""#), "{xml}");
    }
}
