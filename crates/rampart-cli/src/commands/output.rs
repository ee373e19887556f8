//! The tail every scanning command shares: suppressions, the gate, report files, the
//! table or report on standard output, and the exit code.

#![allow(clippy::print_stderr)]

use crate::exit;
use crate::settings::Settings;
use anyhow::{bail, Context, Result};
use rampart_core::report::DisplayFilter;
use rampart_core::sink::Sink;
use rampart_core::suppress::baseline::Baseline;
use rampart_core::suppress::ignore_file::IgnoreFile;
use rampart_core::Severity;
use rampart_core::{Report, RuleMeta};
use rampart_report::{render_to, Format, RenderOptions};
use std::io::Write as _;

/// Apply the ignore file, baseline and severity overrides, write every `--output`,
/// print warnings and the report, and return the exit code ([`exit_code`]).
///
/// `full_scan`: whether the whole tree was scanned (only then are unused ignores stale).
/// `meta`: the rule metadata for an id (for severity overrides and SARIF rules).
pub fn finish(
    mut report: Report,
    settings: &Settings,
    full_scan: bool,
    meta: impl Fn(&str) -> Option<RuleMeta>,
) -> Result<u8> {
    if let Some(e) = &settings.ignore_file_error {
        report.errors.push(e.clone());
    }
    let ignore_file = match &settings.ignore_file {
        Some(p) if p.is_file() => Some(IgnoreFile::load(p)?),
        Some(p) if settings.ignore_file_explicit => {
            bail!("ignore file {} does not exist", p.display())
        }
        _ => None,
    };
    let baseline = match &settings.baseline {
        Some(p) => Some(Baseline::load(p).context("cannot load baseline")?),
        None => None,
    };
    let sink = Sink {
        selection: settings.selection.clone(),
        ignore_file,
        baseline,
        fail_on: settings.fail_on,
        fail_on_unknown: settings.fail_on_unknown,
        report_stale: full_scan,
    };
    sink.finish(&mut report, meta);
    report.summary.errors_allowed = settings.allow_errors && !report.errors.is_empty();
    report.summary.config = settings.config_summary.clone();

    // The display filter comes after the gate: it only changes what is shown.
    let shown = settings
        .min_severity
        .map(|min| apply_display_filter(&mut report, min));
    let view = |fmt: Format| -> &Report {
        match &shown {
            Some(filtered) if fmt != Format::Json => filtered,
            _ => &report,
        }
    };

    let opts = RenderOptions {
        color: settings.color,
        show_suppressed: settings.show_suppressed,
        markdown_max_chars: settings.markdown_max_chars,
    };
    for (fmt, path) in &settings.outputs {
        let write = || -> anyhow::Result<()> {
            let mut w = std::io::BufWriter::new(std::fs::File::create(path)?);
            render_to(
                view(*fmt),
                *fmt,
                &RenderOptions {
                    color: false,
                    ..opts
                },
                &mut w,
            )?;
            w.flush()?;
            Ok(())
        };
        write().with_context(|| format!("cannot write report {}", path.display()))?;
    }
    for e in &report.errors {
        crate::say!("warning: {e}");
    }
    for st in &report.stale_ignores {
        crate::say!(
            "warning: stale ignore {} ({}): {}",
            st.source,
            st.rule,
            st.message
        );
    }
    if !settings.quiet {
        let mut out = std::io::BufWriter::with_capacity(1 << 16, std::io::stdout().lock());
        render_to(view(settings.format), settings.format, &opts, &mut out)?;
        out.flush()?;
    }
    Ok(exit_code(&report, settings))
}

/// Record in `report`'s summary what `--min-severity min` hides, and return the copy
/// the non-JSON formats show: the same report without the findings below `min`
/// (suppressed ones included). The gate and the counts by severity are not touched.
fn apply_display_filter(report: &mut Report, min: Severity) -> Report {
    let mut filter = DisplayFilter {
        min_severity: min,
        hidden: Default::default(),
    };
    for f in report.active() {
        if filter.hides(f.severity) {
            *filter.hidden.entry(f.severity).or_insert(0) += 1;
        }
    }
    report.summary.display_filter = Some(filter.clone());
    // Only the findings shown are copied.
    let findings = std::mem::take(&mut report.findings);
    let mut shown = report.clone();
    shown.findings = findings
        .iter()
        .filter(|f| !filter.hides(f.severity))
        .cloned()
        .collect();
    report.findings = findings;
    shown
}

/// The exit code of a finished run: 2 when something was not checked (the report's
/// `errors`) unless `--allow-errors`, else 1 when the gate (or stale ignores with
/// `--fail-on-stale-ignores`) failed, else 0. Errors outrank the gate: a run that could
/// not look at everything has no verdict to give.
pub fn exit_code(report: &Report, settings: &Settings) -> u8 {
    if !report.errors.is_empty() && !settings.allow_errors {
        crate::say!(
            "error: {} problem(s) left content unchecked (listed above and in the report); \
             exiting 2 (--allow-errors reports them as warnings and lets the gate decide)",
            report.errors.len()
        );
        return exit::ERROR;
    }
    let stale_gate = settings.fail_on_stale_ignores && !report.stale_ignores.is_empty();
    if report.summary.gate_failed || stale_gate {
        exit::GATE_FAILED
    } else {
        exit::CLEAN
    }
}
