//! GitHub-flavoured Markdown, for pull-request comments and CI job summaries.
//!
//! Sections: title and gate, a summary table by severity, the findings table (severity,
//! rule, location, message), the suppressed count, stale ignores and scan errors. Text
//! from scanned content is escaped so it can neither break a table nor inject markup.

use rampart_core::{Report, Severity};
use std::fmt::Write as _;

/// GitHub's limit on the body of an issue or pull-request comment (65,536 characters);
/// the CLI's default for `--markdown-max-chars`.
pub const GITHUB_COMMENT_LIMIT: usize = 65_536;

/// Room kept for the "not shown" section when a report is cut.
const NOTE_RESERVE: usize = 1_024;

/// Render the report as Markdown, ending with a newline, however long.
pub fn render(report: &Report) -> String {
    render_limited(report, None)
}

/// Render the report as Markdown in at most `max` bytes (so at most `max` characters
/// too): the title and summary, then the worst findings that fit, then the counts of the
/// findings left out by severity and a note naming the limit. Stale ignores, the
/// configuration and scan errors follow, themselves cut to a quarter of the budget.
/// `None`: no limit.
pub fn render_limited(report: &Report, max: Option<usize>) -> String {
    let mut head = String::new();
    let mut tail = String::new();
    // `write!` into a `String` cannot fail.
    let _ = write_head(&mut head, report);
    let _ = write_tail(&mut tail, report);
    let rows = finding_rows(report);
    let table_head = "| Severity | Rule | Location | Message |\n|---|---|---|---|\n";
    let full_len =
        head.len() + table_head.len() + rows.iter().map(|r| r.1.len()).sum::<usize>() + tail.len();
    let Some(max) = max.filter(|m| full_len > *m) else {
        let mut out = head;
        if rows.is_empty() {
            out.push_str("No findings.\n");
        } else {
            out.push_str(table_head);
            for (_, r) in &rows {
                out.push_str(r);
            }
        }
        out.push_str(&tail);
        return out;
    };
    let tail = cut_lines(&tail, max / 4);
    let mut budget = max
        .saturating_sub(head.len() + table_head.len() + tail.len())
        .saturating_sub(NOTE_RESERVE);
    let mut out = head;
    let mut shown = 0;
    if !rows.is_empty() {
        out.push_str(table_head);
        for (_, r) in &rows {
            if r.len() > budget {
                break;
            }
            budget -= r.len();
            out.push_str(r);
            shown += 1;
        }
    }
    let mut left: std::collections::BTreeMap<std::cmp::Reverse<Severity>, u64> =
        std::collections::BTreeMap::new();
    for (sev, _) in &rows[shown..] {
        *left.entry(std::cmp::Reverse(*sev)).or_insert(0) += 1;
    }
    let counts: Vec<String> = left
        .iter()
        .map(|(sev, n)| format!("{n} {}", sev.0))
        .collect();
    let _ = write!(
        out,
        "\n### Not shown\n\n{} of {} findings not listed ({}): this report is cut to \
         {max} characters (`--markdown-max-chars`, GitHub's comment limit is {}). Every \
         finding is in the JSON and SARIF reports.\n",
        rows.len() - shown,
        rows.len(),
        counts.join(", "),
        GITHUB_COMMENT_LIMIT
    );
    out.push_str(&tail);
    if out.len() > max {
        // Only a pathological head (a huge target name) gets here.
        let note = "\n\n(cut: over `--markdown-max-chars`)\n";
        let note = if note.len() < max { note } else { "" };
        let mut end = max - note.len();
        while end > 0 && !out.is_char_boundary(end) {
            end -= 1;
        }
        out.truncate(end);
        out.push_str(note);
    }
    out
}

/// The first lines of `text` that fit in `max` bytes, and a line saying how many more
/// there were.
fn cut_lines(text: &str, max: usize) -> String {
    if text.len() <= max {
        return text.to_string();
    }
    let mut out = String::new();
    let mut lines = text.split_inclusive('\n');
    for line in lines.by_ref() {
        if out.len() + line.len() + 80 > max {
            let more = 1 + lines.count();
            let _ = writeln!(
                out,
                "\n… {more} more line(s) not shown (`--markdown-max-chars`)"
            );
            return out;
        }
        out.push_str(line);
    }
    out
}

/// One table row per unsuppressed finding, worst first (the report's path order kept
/// within a severity).
fn finding_rows(report: &Report) -> Vec<(Severity, String)> {
    let mut active: Vec<_> = report.active().collect();
    active.sort_by_key(|f| std::cmp::Reverse(f.severity));
    active
        .into_iter()
        .map(|f| {
            let mut msg = cell(&f.message);
            if let Some(ev) = &f.evidence {
                let _ = write!(msg, " ({})", code(ev));
            }
            (
                f.severity,
                format!(
                    "| {} | {} | {} | {} |\n",
                    severity_label(f.severity),
                    code(&f.rule_id),
                    cell(&f.location.display()),
                    msg
                ),
            )
        })
        .collect()
}

fn write_head(out: &mut String, report: &Report) -> std::fmt::Result {
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
    Ok(())
}

fn write_tail(out: &mut String, report: &Report) -> std::fmt::Result {
    let s = &report.summary;
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
        "<!-- @generated by `RAMPART_UPDATE_DOCS=1 cargo test -p rampart-cli --test it docs`; do not edit -->\n"
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
    fn limited_reports_never_exceed_the_limit() {
        let report = crate::fixture::report();
        let full = render(&report);
        assert_eq!(render_limited(&report, Some(full.len())), full);
        for max in [0, 1, 10, 100, 500, 1_000, 2_000, full.len() - 1] {
            let out = render_limited(&report, Some(max));
            assert!(out.len() <= max, "{max}: {} bytes", out.len());
        }
        let cut = render_limited(&report, Some(full.len() - 1));
        assert!(cut.contains("### Not shown"), "{cut}");
    }

    #[test]
    fn code_spans() {
        assert_eq!(code("secret/aws"), "`secret/aws`");
        assert_eq!(code("a`b"), "`` a`b ``");
        assert_eq!(code("a|b"), "`a\\|b`");
    }
}
