//! The terminal table: findings grouped by file, then a summary and the gate verdict.
//!
//! ```text
//! src/config.py
//!   L12:5  HIGH      secret/aws-access-key  AWS access key ID  AKIA************
//!
//! summary
//!   ...
//! gate: failed (fail-on high)
//! ```
//!
//! Colours are written only when [`RenderOptions::color`] is set. Scanned text (messages,
//! evidence, paths) has its control characters escaped, so a finding can never emit
//! terminal escape sequences of its own.

use crate::text::{human_bytes, visible};
use crate::RenderOptions;
use owo_colors::{OwoColorize, Style};
use rampart_core::{Finding, Location, Report, Severity};
use std::borrow::Cow;
use std::collections::HashMap;
use std::fmt::Write as _;

/// Render the report as a terminal table, ending with a newline.
pub fn render(report: &Report, opts: &RenderOptions) -> String {
    let mut out = String::new();
    // `write!` into a `String` cannot fail.
    let _ = write_report(&mut out, report, opts);
    out
}

struct Painter {
    color: bool,
}

impl Painter {
    fn paint(&self, s: &str, style: Style) -> String {
        let mut out = String::new();
        self.paint_into(&mut out, s, style, 0);
        out
    }

    /// Append `s`, left-aligned in `width` characters, in `style` when colouring.
    fn paint_into(&self, out: &mut String, s: &str, style: Style, width: usize) {
        if self.color {
            let _ = write!(out, "{}", format_args!("{s:<width$}").style(style));
        } else {
            out.push_str(s);
            let n = s.chars().count();
            out.extend(std::iter::repeat_n(' ', width.saturating_sub(n)));
        }
    }
}

fn severity_style(s: Severity) -> Style {
    match s {
        Severity::Critical => Style::new().bright_red().bold(),
        Severity::High => Style::new().red(),
        Severity::Unknown => Style::new().magenta(),
        Severity::Medium => Style::new().yellow(),
        Severity::Low => Style::new().blue(),
        Severity::Info => Style::new().dimmed(),
    }
}

/// One printed finding line, before padding and colouring.
struct Row<'a> {
    finding: &'a Finding,
    at: String,
    severity: &'static str,
    rule: Cow<'a, str>,
}

fn severity_label(s: Severity) -> &'static str {
    match s {
        Severity::Critical => "CRITICAL",
        Severity::High => "HIGH",
        Severity::Unknown => "UNKNOWN",
        Severity::Medium => "MEDIUM",
        Severity::Low => "LOW",
        Severity::Info => "INFO",
    }
}

fn write_report(out: &mut String, report: &Report, opts: &RenderOptions) -> std::fmt::Result {
    let p = Painter { color: opts.color };
    let shown = report
        .findings
        .iter()
        .filter(|f| opts.show_suppressed || !f.is_suppressed());

    // Group by file path (or the location's display when there is no file), keeping
    // the report's order: findings arrive sorted by path, so groups are contiguous
    // except for location kinds without a path, which `finalize` sorts first.
    let mut groups: Vec<(Cow<'_, str>, Vec<Row<'_>>)> = Vec::new();
    let mut index: HashMap<Cow<'_, str>, usize> = HashMap::new();
    for f in shown {
        let key = f
            .location
            .path()
            .map_or_else(|| Cow::Owned(f.location.display()), Cow::Borrowed);
        let row = Row {
            finding: f,
            at: match f.location.span() {
                Some(s) => format!("L{}:{}", s.start_line, s.start_column),
                None => "-".to_string(),
            },
            severity: severity_label(f.severity),
            rule: visible(&f.rule_id),
        };
        // Contiguous groups: compare with the last one before hashing.
        if let Some(last) = groups.last_mut().filter(|(k, _)| *k == key) {
            last.1.push(row);
            continue;
        }
        match index.get(&key) {
            Some(&i) => groups[i].1.push(row),
            None => {
                index.insert(key.clone(), groups.len());
                groups.push((key, vec![row]));
            }
        }
    }
    let rows = || groups.iter().flat_map(|(_, r)| r);
    let w_at = rows().map(|r| r.at.len()).max().unwrap_or(0);
    let w_sev = rows().map(|r| r.severity.len()).max().unwrap_or(0);
    let w_rule = rows().map(|r| r.rule.chars().count()).max().unwrap_or(0);

    let w = Widths {
        at: w_at,
        sev: w_sev,
        rule: w_rule,
    };
    let mut line = String::new();
    for (key, rows) in &groups {
        writeln!(
            out,
            "{}",
            p.paint(&visible(key), Style::new().bold().underline())
        )?;
        // Advisories of one package go under one line for that package.
        let mut packages: Vec<(PackageKey<'_>, Vec<&Row<'_>>)> = Vec::new();
        for r in rows {
            match package_key(r.finding) {
                Some(k) => match packages.iter_mut().find(|(pk, _)| *pk == k) {
                    Some((_, v)) => v.push(r),
                    None => packages.push((k, vec![r])),
                },
                None => write_row(out, &mut line, &p, r, &w, 2, true),
            }
        }
        for (k, mut prows) in packages {
            prows.sort_by(|a, b| {
                rank(b.finding.severity)
                    .cmp(&rank(a.finding.severity))
                    .then_with(|| a.rule.cmp(&b.rule))
            });
            writeln!(
                out,
                "  {}",
                p.paint(&package_line(&k, &prows), Style::new().bold())
            )?;
            for r in prows {
                write_row(out, &mut line, &p, r, &w, 4, false);
            }
        }
        writeln!(out)?;
    }
    if groups.is_empty() {
        writeln!(out, "No findings.\n")?;
    }

    summary(out, report, &p)
}

struct Widths {
    at: usize,
    sev: usize,
    rule: usize,
}

fn write_row(
    out: &mut String,
    line: &mut String,
    p: &Painter,
    r: &Row<'_>,
    w: &Widths,
    indent: usize,
    with_context: bool,
) {
    let f = r.finding;
    let suppressed = f.is_suppressed();
    let sev_style = if suppressed {
        Style::new().dimmed()
    } else {
        severity_style(f.severity)
    };
    line.clear();
    line.extend(std::iter::repeat_n(' ', indent));
    p.paint_into(line, &r.at, Style::new().dimmed(), w.at);
    line.push_str("  ");
    p.paint_into(line, r.severity, sev_style, w.sev);
    line.push_str("  ");
    p.paint_into(line, &r.rule, Style::new().cyan(), w.rule);
    line.push_str("  ");
    line.push_str(&visible(&f.message));
    if let Some(ctx) = context(&f.location).filter(|_| with_context) {
        line.push_str("  ");
        p.paint_into(line, &visible(&ctx), Style::new().dimmed(), 0);
    }
    if let Some(ev) = f
        .evidence
        .as_ref()
        .filter(|ev| !f.message.contains(ev.as_str()))
    {
        line.push_str("  ");
        p.paint_into(line, &visible(ev), Style::new().magenta(), 0);
    }
    if let Some(s) = &f.suppression {
        let mut tag = format!("[suppressed: {}", s.kind.as_str());
        if let Some(reason) = &s.reason {
            tag.push_str(&format!(" — {reason}"));
        }
        tag.push(']');
        line.push_str("  ");
        p.paint_into(line, &visible(&tag), Style::new().dimmed(), 0);
    }
    out.push_str(line.trim_end());
    out.push('\n');
}

/// (ecosystem, name, version) of a vulnerability finding on a package.
type PackageKey<'a> = (&'a str, &'a str, &'a str);

fn package_key(f: &Finding) -> Option<PackageKey<'_>> {
    match &f.location {
        Location::Package {
            ecosystem,
            name,
            version,
            ..
        } if f.rule_id.starts_with("vuln/") => Some((ecosystem, name, version)),
        _ => None,
    }
}

/// Display order: `Unknown` next to `High`, where the default gate counts it.
fn rank(s: Severity) -> usize {
    Severity::ALL_DESC.len() - Severity::ALL_DESC.iter().position(|x| *x == s).unwrap_or(0)
}

/// `django 3.2.1: 24 advisories (3 high, 20 unknown, 1 low); upgrade to 3.2.25 fixes
/// all` (or `no single fix`, or `no fix known`), from the findings' `smallest_fix` and
/// `fixed_versions` properties.
fn package_line(k: &PackageKey<'_>, rows: &[&Row<'_>]) -> String {
    let n = rows.len();
    let counts: Vec<String> = Severity::ALL_DESC
        .iter()
        .filter_map(|sev| {
            let c = rows.iter().filter(|r| r.finding.severity == *sev).count();
            (c > 0).then(|| format!("{c} {sev}"))
        })
        .collect();
    let fix = rows
        .iter()
        .find_map(|r| r.finding.properties.get("smallest_fix")?.as_str());
    let any_fixed = rows.iter().any(|r| {
        r.finding
            .properties
            .get("fixed_versions")
            .and_then(|v| v.as_array())
            .is_some_and(|a| !a.is_empty())
    });
    let remedy = match fix {
        Some(v) => format!("upgrade to {} fixes all", visible(v)),
        None if any_fixed => "no single fix".to_string(),
        None => "no fix known".to_string(),
    };
    format!(
        "{} {}: {n} {} ({}); {remedy}",
        visible(k.1),
        visible(k.2),
        if n == 1 { "advisory" } else { "advisories" },
        counts.join(", ")
    )
}

/// What the line needs beyond the group header: the Kubernetes object, the commit, the
/// package or image.
fn context(loc: &Location) -> Option<String> {
    match loc {
        Location::File { commit, .. } => commit.as_ref().map(|c| {
            let short = c.commit.get(..12).unwrap_or(&c.commit);
            format!("@ {short} {} {}", c.author, c.date)
        }),
        Location::K8sObject {
            object,
            field_path,
            path,
            ..
        } => match (path, field_path) {
            // Without a file the object is already the group header.
            (None, Some(fp)) => Some(fp.clone()),
            (None, None) => None,
            (Some(_), Some(fp)) => Some(format!("{} {fp}", object.display())),
            (Some(_), None) => Some(object.display()),
        },
        Location::Package {
            ecosystem,
            name,
            version,
            found_in: Some(_),
            ..
        } => Some(format!("{ecosystem}/{name}@{version}")),
        Location::Image { path: Some(_), .. } => Some(loc.display()),
        _ => None,
    }
}

fn summary(out: &mut String, report: &Report, p: &Painter) -> std::fmt::Result {
    let s = &report.summary;
    let head = Style::new().bold();
    writeln!(out, "{}", p.paint("summary", head))?;
    writeln!(out, "  target:         {}", visible(&report.target))?;
    write!(
        out,
        "  scanned:        {}",
        crate::text::count(s.files_scanned, "file", "files"),
    )?;
    // Scanners that read no file content (a lockfile-only or image scan) have no byte
    // count worth printing.
    if s.bytes_scanned > 0 {
        write!(out, ", {}", human_bytes(s.bytes_scanned))?;
    }
    if s.commits_scanned > 0 {
        write!(out, ", {} commits", s.commits_scanned)?;
    }
    writeln!(out)?;
    if !s.skipped.is_empty() {
        let parts: Vec<String> = s
            .skipped
            .iter()
            .map(|(reason, n)| format!("{} {n}", visible(reason)))
            .collect();
        writeln!(out, "  skipped:        {}", parts.join(", "))?;
    }
    let total: u64 = s.by_severity.values().sum();
    if total == 0 {
        writeln!(out, "  findings:       none")?;
    } else {
        let parts: Vec<String> = Severity::ALL_DESC
            .iter()
            .filter_map(|sev| {
                let n = *s.by_severity.get(sev)?;
                (n > 0).then(|| p.paint(&format!("{n} {sev}"), severity_style(*sev)))
            })
            .collect();
        writeln!(out, "  findings:       {total} ({})", parts.join(", "))?;
    }
    let suppressed: u64 = s.suppressed.values().sum();
    if suppressed > 0 {
        let parts: Vec<String> = s
            .suppressed
            .iter()
            .map(|(k, n)| format!("{k} {n}"))
            .collect();
        writeln!(out, "  suppressed:     {suppressed} ({})", parts.join(", "))?;
    }
    if let Some(note) = crate::text::hidden_note(s) {
        writeln!(out, "  hidden:         {note}")?;
    }
    if !report.stale_ignores.is_empty() {
        writeln!(out, "  stale ignores:  {}", report.stale_ignores.len())?;
        for st in &report.stale_ignores {
            writeln!(
                out,
                "    {}  {}  {}: {}",
                visible(&st.source),
                visible(&st.kind),
                visible(&st.rule),
                visible(&st.message)
            )?;
        }
    }
    if !report.errors.is_empty() {
        let n = report.errors.len();
        writeln!(
            out,
            "  {}",
            p.paint(&format!("errors:         {n}"), Style::new().yellow())
        )?;
        for e in &report.errors {
            writeln!(out, "    {}", visible(&e.to_string()))?;
        }
    }
    if let Some(c) = &s.config {
        config_lines(out, c)?;
    }
    let mut fail_on = String::from(s.fail_on);
    if !s.fail_on_unknown.is_default() {
        fail_on.push_str(&format!(
            ", fail-on-unknown {}",
            String::from(s.fail_on_unknown)
        ));
    }
    let verdict = if s.gate_failed {
        p.paint("failed", Style::new().red().bold())
    } else {
        p.paint("passed", Style::new().green().bold())
    };
    if !report.errors.is_empty() && !s.errors_allowed {
        let n = report.errors.len();
        return writeln!(
            out,
            "gate: {} ({n} error(s): not everything was checked; findings alone: {verdict}, fail-on {fail_on})",
            p.paint("incomplete", Style::new().red().bold())
        );
    }
    if s.errors_allowed {
        return writeln!(
            out,
            "gate: {verdict} (fail-on {fail_on}; {} error(s) allowed)",
            report.errors.len()
        );
    }
    writeln!(out, "gate: {verdict} (fail-on {fail_on})")
}

/// The configuration file, what it set and what it was refused.
fn config_lines(out: &mut String, c: &rampart_core::report::ConfigSummary) -> std::fmt::Result {
    writeln!(
        out,
        "  config:         {} ({}): {} applied, {} refused",
        visible(&c.path),
        visible(&c.source),
        c.applied.len(),
        c.refused.len()
    )?;
    for a in &c.applied {
        writeln!(out, "    applied  {}", visible(a))?;
    }
    for e in &c.excludes {
        let state = if e.applied { "hid" } else { "would hide" };
        writeln!(
            out,
            "    exclude  {}  {state} {} file(s)",
            visible(&e.pattern),
            e.files
        )?;
    }
    for r in &c.refused {
        writeln!(
            out,
            "    refused  {}: {}",
            visible(&r.key),
            visible(&r.reason)
        )?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::fixture;

    #[test]
    fn colour_only_when_asked() {
        let report = fixture::report();
        let plain = render(&report, &RenderOptions::default());
        assert!(!plain.contains('\x1b'), "{plain}");
        let coloured = render(
            &report,
            &RenderOptions {
                color: true,
                show_suppressed: false,
                ..RenderOptions::default()
            },
        );
        assert!(coloured.contains('\x1b'));
    }

    #[test]
    fn suppressed_hidden_unless_asked() {
        let report = fixture::report();
        let hidden = render(&report, &RenderOptions::default());
        assert!(!hidden.contains("[suppressed"), "{hidden}");
        assert!(hidden.contains("suppressed:     1 (inline 1)"), "{hidden}");
        let shown = render(
            &report,
            &RenderOptions {
                color: false,
                show_suppressed: true,
                ..RenderOptions::default()
            },
        );
        assert!(shown.contains("[suppressed: inline"), "{shown}");
    }

    #[test]
    fn empty_report() {
        let mut report = Report::new(".", vec![]);
        report.finalize(|_| None, Default::default());
        let out = render(&report, &RenderOptions::default());
        assert!(out.starts_with("No findings."), "{out}");
        assert!(out.ends_with("gate: passed (fail-on high)\n"), "{out}");
    }

    #[test]
    fn config_and_incomplete_runs_are_shown() {
        use rampart_core::report::{ConfigSummary, ExcludeEffect, RefusedSetting};
        let mut report = fixture::report();
        assert!(!report.errors.is_empty());
        report.summary.config = Some(ConfigSummary {
            path: "repo/rampart.yaml".into(),
            source: "repository".into(),
            applied: vec!["exclude: vendor/**".into()],
            refused: vec![RefusedSetting {
                key: "output".into(),
                reason: "runner-only \x1b]0;x\x07".into(),
            }],
            excludes: vec![ExcludeEffect {
                pattern: "vendor/**".into(),
                files: 3,
                applied: true,
            }],
        });
        let out = render(&report, &RenderOptions::default());
        assert!(
            out.contains("config:         repo/rampart.yaml (repository): 1 applied, 1 refused"),
            "{out}"
        );
        assert!(out.contains("exclude  vendor/**  hid 3 file(s)"), "{out}");
        assert!(out.contains("refused  output: runner-only"), "{out}");
        assert!(!out.contains('\x1b'), "{out}");
        assert!(out.contains("gate: incomplete ("), "{out}");
        report.summary.errors_allowed = true;
        let out = render(&report, &RenderOptions::default());
        assert!(out.contains("error(s) allowed)"), "{out}");
    }
}
