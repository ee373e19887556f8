//! GitHub-flavoured Markdown, for pull-request comments and CI job summaries.
//!
//! Sections: title and gate, a summary table by severity, the findings table (severity,
//! rule, location, message), the suppressed count, stale ignores and scan errors. Text
//! from scanned content is escaped so it can neither break a table nor inject markup.

use rampart_core::{Report, Severity};
use std::fmt::Write as _;

/// Render the report as Markdown, ending with a newline.
pub fn render(report: &Report) -> String {
    let mut out = String::new();
    // `write!` into a `String` cannot fail.
    let _ = write_report(&mut out, report);
    out
}

fn write_report(out: &mut String, report: &Report) -> std::fmt::Result {
    let s = &report.summary;
    writeln!(out, "# Rampart report\n")?;
    let gate = if !report.errors.is_empty() && !s.errors_allowed {
        if s.gate_failed {
            "❌ **incomplete** (scan errors; findings alone: failed)"
        } else {
            "❌ **incomplete** (scan errors; findings alone: passed)"
        }
    } else if s.gate_failed {
        "❌ **failed**"
    } else {
        "✅ **passed**"
    };
    writeln!(
        out,
        "Gate: {gate} (fail-on `{}`) · target {} · scanners {} · rampart {}\n",
        String::from(s.fail_on),
        cell(&report.target),
        cell(&report.scanners.join(", ")),
        cell(&report.tool.version),
    )?;

    writeln!(out, "## Summary\n")?;
    writeln!(out, "| Severity | Findings |")?;
    writeln!(out, "|---|---:|")?;
    let mut total = 0;
    for sev in Severity::ALL_DESC {
        let n = s.by_severity.get(&sev).copied().unwrap_or(0);
        total += n;
        if sev == Severity::Unknown && n == 0 {
            // A row only when there are some: reports without them stay as they were.
            continue;
        }
        writeln!(out, "| {} | {n} |", severity_label(sev))?;
    }
    writeln!(out, "| **Total** | **{total}** |\n")?;

    let suppressed: u64 = s.suppressed.values().sum();
    if suppressed == 0 {
        writeln!(out, "Suppressed: 0")?;
    } else {
        let by_kind: Vec<String> = s
            .suppressed
            .iter()
            .map(|(k, n)| format!("{k} {n}"))
            .collect();
        writeln!(out, "Suppressed: {suppressed} ({})", by_kind.join(", "))?;
    }
    if let Some(note) = crate::text::hidden_note(s) {
        writeln!(out, "\nNot shown: {}", cell(&note))?;
    }
    write!(
        out,
        "\nScanned {} ({})",
        crate::text::count(s.files_scanned, "file", "files"),
        crate::text::count(s.bytes_scanned, "byte", "bytes")
    )?;
    if s.commits_scanned > 0 {
        write!(out, " in {} commits", s.commits_scanned)?;
    }
    let skipped: u64 = s.skipped.values().sum();
    if skipped > 0 {
        let by_reason: Vec<String> = s.skipped.iter().map(|(k, n)| format!("{k} {n}")).collect();
        write!(out, "; skipped {skipped} ({})", cell(&by_reason.join(", ")))?;
    }
    writeln!(out, ".\n")?;

    writeln!(out, "## Findings\n")?;
    // Worst first; the report's path order is kept within a severity.
    let mut active: Vec<_> = report.active().collect();
    active.sort_by_key(|f| std::cmp::Reverse(f.severity));
    if active.is_empty() {
        writeln!(out, "No findings.")?;
    } else {
        writeln!(out, "| Severity | Rule | Location | Message |")?;
        writeln!(out, "|---|---|---|---|")?;
        for f in active {
            let mut msg = cell(&f.message);
            if let Some(ev) = &f.evidence {
                write!(msg, " ({})", code(ev))?;
            }
            writeln!(
                out,
                "| {} | {} | {} | {} |",
                severity_label(f.severity),
                code(&f.rule_id),
                cell(&f.location.display()),
                msg
            )?;
        }
    }

    if !report.stale_ignores.is_empty() {
        writeln!(out, "\n## Stale ignores\n")?;
        writeln!(out, "| Kind | Source | Rule | Why |")?;
        writeln!(out, "|---|---|---|---|")?;
        for st in &report.stale_ignores {
            writeln!(
                out,
                "| {} | {} | {} | {} |",
                cell(&st.kind),
                cell(&st.source),
                code(&st.rule),
                cell(&st.message)
            )?;
        }
    }

    if let Some(c) = &s.config {
        writeln!(
            out,
            "\n## Configuration\n\n{} ({}): {} applied, {} refused\n",
            code(&c.path),
            cell(&c.source),
            c.applied.len(),
            c.refused.len()
        )?;
        for a in &c.applied {
            writeln!(out, "- applied: {}", code(a))?;
        }
        for e in &c.excludes {
            let state = if e.applied {
                "hid"
            } else {
                "would hide (refused)"
            };
            writeln!(
                out,
                "- exclude {}: {state} {} file(s)",
                code(&e.pattern),
                e.files
            )?;
        }
        for r in &c.refused {
            writeln!(out, "- **refused**: {}: {}", code(&r.key), cell(&r.reason))?;
        }
    }

    if !report.errors.is_empty() {
        let allowed = if s.errors_allowed {
            " (allowed with --allow-errors)"
        } else {
            " (not checked: the run exits 2)"
        };
        writeln!(out, "\n## Errors{allowed}\n")?;
        for e in &report.errors {
            let at = match e.line {
                Some(l) => format!("{}:{l}", e.path),
                None => e.path.clone(),
            };
            writeln!(out, "- {}: {}", cell(&at), cell(&e.message))?;
        }
    }
    Ok(())
}

fn severity_label(s: Severity) -> &'static str {
    match s {
        Severity::Critical => "🟥 critical",
        Severity::High => "🟧 high",
        Severity::Unknown => "❔ unknown",
        Severity::Medium => "🟨 medium",
        Severity::Low => "🟦 low",
        Severity::Info => "⬜ info",
    }
}

/// Escape text for a table cell or a list item: Markdown punctuation is backslash-escaped,
/// `<`/`>`/`&` become entities (no raw HTML), and line breaks become `<br>`.
pub fn cell(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    let mut chars = s.chars().peekable();
    while let Some(c) = chars.next() {
        match c {
            '\r' => {
                if chars.peek() != Some(&'\n') {
                    out.push_str("<br>");
                }
            }
            '\n' => out.push_str("<br>"),
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '\\' | '`' | '*' | '_' | '[' | ']' | '|' | '~' | '#' | '!' => {
                out.push('\\');
                out.push(c);
            }
            c if c.is_control() => out.push(' '),
            c => out.push(c),
        }
    }
    out
}

/// A code span that survives backticks and pipes in `s` (GFM splits cells on `|` even
/// inside code spans, so it is escaped there too).
fn code(s: &str) -> String {
    let one_line: String = s
        .chars()
        .map(|c| if c.is_control() { ' ' } else { c })
        .collect::<String>()
        .replace('|', "\\|");
    let mut ticks = 1;
    while one_line.contains(&"`".repeat(ticks)) {
        ticks += 1;
    }
    let fence = "`".repeat(ticks);
    if ticks > 1 || one_line.starts_with(' ') || one_line.ends_with(' ') {
        format!("{fence} {one_line} {fence}")
    } else {
        format!("{fence}{one_line}{fence}")
    }
}

/// The rule reference page (`docs/rules/<area>.md`): an index table, then one section per
/// rule with its description, remediation, references and peer ids. Generated from the
/// registry so it can never drift from the rules (a test checks the committed copy).
pub fn rule_docs(area: &str, rules: &[rampart_core::RuleMeta]) -> String {
    use std::fmt::Write as _;
    let mut s = String::new();
    let _ = writeln!(
        s,
        "<!-- @generated by `RAMPART_UPDATE_DOCS=1 cargo test -p rampart-cli --test docs`; do not edit -->\n"
    );
    let _ = writeln!(s, "# `{area}` rules ({} rules)\n", rules.len());
    let _ = writeln!(s, "| id | severity | title |\n|---|---|---|");
    for r in rules {
        let anchor = r.id.replace(['/', '.'], "");
        let _ = writeln!(
            s,
            "| [`{}`](#{anchor}) | {} | {} |",
            r.id,
            r.severity,
            cell(&r.title)
        );
    }
    for r in rules {
        let _ = writeln!(s, "\n## {}\n", r.id);
        let _ = writeln!(s, "**{}** — severity `{}`\n", r.title.trim(), r.severity);
        let _ = writeln!(s, "{}\n", r.description.trim());
        let _ = writeln!(s, "**Remediation.** {}", r.remediation.trim());
        if !r.references.is_empty() {
            let _ = writeln!(s, "\n**References.**\n");
            for x in &r.references {
                let _ = writeln!(s, "- {x}");
            }
        }
        if !r.peers.is_empty() {
            let _ = writeln!(s, "\n**Peer rules.** {}", r.peers.join(", "));
        }
    }
    s
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cells_cannot_break_tables() {
        assert_eq!(cell("a|b\nc\r\nd"), "a\\|b<br>c<br>d");
        assert_eq!(
            cell("__init__.py <script>"),
            "\\_\\_init\\_\\_.py &lt;script&gt;"
        );
        assert!(!cell("x\x1by").contains('\x1b'));
    }

    #[test]
    fn code_spans() {
        assert_eq!(code("secret/aws"), "`secret/aws`");
        assert_eq!(code("a`b"), "`` a`b ``");
        assert_eq!(code("a|b"), "`a\\|b`");
    }
}
