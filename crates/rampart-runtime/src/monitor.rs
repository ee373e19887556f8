//! The monitor: feeds audit input through the engine, applies `--min-priority` and
//! per-rule rate limiting, keeps counters, and turns alerts into a Rampart report.
//! Also the sources: a file (optionally followed across rotation) or any reader.

use std::collections::BTreeMap;
use std::fs::File;
use std::io::{self, BufRead, BufReader, Read, Seek, SeekFrom};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use rampart_core::{Report, ScanError};

use crate::alert::{rule_meta, Alert, RateLimiter};
use crate::engine::Engine;
use crate::event::{decode_events, decode_line, AuditEvent, EventError};
use crate::rules::Priority;

/// How the monitor filters alerts.
#[derive(Debug, Clone)]
pub struct MonitorOptions {
    /// Drop alerts less severe than this.
    pub min_priority: Priority,
    /// Per-rule rate limit: alerts per second and burst (`None`: unlimited).
    pub rate_limit: Option<(f64, u32)>,
}

impl Default for MonitorOptions {
    fn default() -> Self {
        MonitorOptions {
            min_priority: Priority::Debug,
            rate_limit: None,
        }
    }
}

/// Counters.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Stats {
    /// Audit events evaluated.
    pub events: u64,
    /// Inputs that were not audit events (bad JSON, wrong shape).
    pub parse_errors: u64,
    /// Alerts emitted, by rule.
    pub alerts_by_rule: BTreeMap<String, u64>,
    /// Alerts below `min_priority`.
    pub below_min_priority: u64,
    /// Alerts suppressed by rate limiting.
    pub rate_limited: u64,
    /// The first few parse errors, for logs.
    pub error_samples: Vec<String>,
}

impl Stats {
    /// Total alerts emitted.
    pub fn alerts(&self) -> u64 {
        self.alerts_by_rule.values().sum()
    }
}

const MAX_SAMPLES: usize = 5;

/// The engine plus filtering and counters.
#[derive(Debug)]
pub struct Monitor {
    engine: Engine,
    opts: MonitorOptions,
    limiter: Option<RateLimiter>,
    stats: Stats,
    scratch: Vec<Alert>,
}

impl Monitor {
    /// A monitor over compiled rules.
    pub fn new(engine: Engine, opts: MonitorOptions) -> Monitor {
        let limiter = opts
            .rate_limit
            .map(|(rate, burst)| RateLimiter::new(rate, burst));
        Monitor {
            engine,
            opts,
            limiter,
            stats: Stats::default(),
            scratch: Vec::new(),
        }
    }

    /// The engine.
    pub fn engine(&self) -> &Engine {
        &self.engine
    }

    /// The counters.
    pub fn stats(&self) -> &Stats {
        &self.stats
    }

    /// Evaluate one event, appending the alerts that pass the filters.
    pub fn process_event(&mut self, ev: &AuditEvent, out: &mut Vec<Alert>) {
        self.stats.events += 1;
        self.scratch.clear();
        self.engine
            .process_into(ev, self.stats.events, &mut self.scratch);
        let now_s = ev.time_ns() as f64 / 1e9;
        for a in self.scratch.drain(..) {
            if !a.priority.at_least(self.opts.min_priority) {
                self.stats.below_min_priority += 1;
                continue;
            }
            if let Some(l) = &mut self.limiter {
                if !l.allow(&a.rule, now_s) {
                    self.stats.rate_limited += 1;
                    continue;
                }
            }
            *self.stats.alerts_by_rule.entry(a.rule.clone()).or_insert(0) += 1;
            out.push(a);
        }
    }

    /// Record an input error.
    pub fn record_error(&mut self, e: &EventError) {
        self.stats.parse_errors += 1;
        if self.stats.error_samples.len() < MAX_SAMPLES {
            self.stats.error_samples.push(e.to_string());
        }
    }

    fn process_results(
        &mut self,
        results: Vec<Result<AuditEvent, EventError>>,
        out: &mut Vec<Alert>,
    ) {
        for r in results {
            match r {
                Ok(ev) => self.process_event(&ev, out),
                Err(e) => self.record_error(&e),
            }
        }
    }

    /// Process one line of JSON-lines input (an event, an `EventList` or an array).
    pub fn process_line(&mut self, line: &str, out: &mut Vec<Alert>) {
        let mut results = Vec::new();
        decode_line(line, &mut results);
        self.process_results(results, out);
    }

    /// Process a whole input: JSON lines, a (pretty-printed) `EventList` or an array.
    pub fn process_text(&mut self, text: &str, out: &mut Vec<Alert>) {
        self.process_results(decode_events(text), out);
    }

    /// Process a whole stream, calling `emit` with each batch of alerts (return false to
    /// stop). JSON lines are streamed line by line, so memory stays flat on large logs; a
    /// document whose first line is not complete JSON (a pretty-printed `EventList` or
    /// array) is read whole.
    pub fn process_reader(
        &mut self,
        mut r: impl BufRead,
        emit: &mut dyn FnMut(&mut Vec<Alert>) -> bool,
    ) -> io::Result<()> {
        let mut batch = Vec::new();
        let mut first = String::new();
        loop {
            first.clear();
            if r.read_line(&mut first)? == 0 {
                return Ok(());
            }
            if !first.trim().is_empty() {
                break;
            }
        }
        if serde_json::from_str::<serde::de::IgnoredAny>(first.trim()).is_err()
            && first.trim_start().starts_with(['{', '['])
        {
            let mut rest = String::new();
            r.read_to_string(&mut rest)?;
            first.push_str(&rest);
            self.process_text(&first, &mut batch);
            emit(&mut batch);
            return Ok(());
        }
        self.process_line(&first, &mut batch);
        if !emit(&mut batch) {
            return Ok(());
        }
        let mut line = String::new();
        loop {
            line.clear();
            if r.read_line(&mut line)? == 0 {
                return Ok(());
            }
            self.process_line(&line, &mut batch);
            if !batch.is_empty() && !emit(&mut batch) {
                return Ok(());
            }
        }
    }

    /// Lines summarising suppressed repeats and input errors (empty when there are none).
    pub fn summary(&self) -> Vec<String> {
        let mut lines = self
            .limiter
            .as_ref()
            .map(RateLimiter::summary)
            .unwrap_or_default();
        if self.stats.parse_errors > 0 {
            lines.push(format!(
                "skipped {} input record(s) that were not audit events (first: {})",
                self.stats.parse_errors,
                self.stats
                    .error_samples
                    .first()
                    .map(String::as_str)
                    .unwrap_or("")
            ));
        }
        lines
    }

    /// A Rampart report of `alerts`: one finding per alert, rule metadata for every rule
    /// that fired, input errors as scan errors.
    pub fn report(&self, alerts: &[Alert], target: &str) -> Report {
        let mut report = Report::new(target, vec!["runtime".to_string()]);
        report.findings = alerts.iter().map(Alert::to_finding).collect();
        for s in &self.stats.error_samples {
            report.errors.push(ScanError {
                path: target.to_string(),
                line: None,
                message: s.clone(),
            });
        }
        if self.stats.rate_limited > 0 {
            report.skip("rate-limited alerts", self.stats.rate_limited);
        }
        if self.stats.below_min_priority > 0 {
            report.skip("alerts below --min-priority", self.stats.below_min_priority);
        }
        report
    }

    /// Rule metadata by id, for [`Report::finalize`].
    pub fn rule_lookup(&self) -> impl Fn(&str) -> Option<rampart_core::RuleMeta> + '_ {
        move |id: &str| {
            self.engine
                .rules()
                .iter()
                .map(rule_meta)
                .find(|m| m.id == id)
        }
    }
}

/// Read complete lines from a file as it grows, surviving rotation (the path replaced
/// by a new file, or the file truncated), like `tail -F`.
#[derive(Debug)]
pub struct Follower {
    path: PathBuf,
    reader: Option<BufReader<File>>,
    id: Option<FileId>,
    pos: u64,
    partial: String,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct FileId {
    dev: u64,
    ino: u64,
}

fn file_id(meta: &std::fs::Metadata) -> Option<FileId> {
    #[cfg(unix)]
    {
        use std::os::unix::fs::MetadataExt;
        Some(FileId {
            dev: meta.dev(),
            ino: meta.ino(),
        })
    }
    #[cfg(not(unix))]
    {
        let _ = meta;
        None
    }
}

impl Follower {
    /// Follow `path` from its beginning.
    pub fn new(path: &Path) -> Follower {
        Follower {
            path: path.to_path_buf(),
            reader: None,
            id: None,
            pos: 0,
            partial: String::new(),
        }
    }

    fn open(&mut self) -> io::Result<bool> {
        match File::open(&self.path) {
            Ok(f) => {
                self.id = f.metadata().ok().as_ref().and_then(file_id);
                self.reader = Some(BufReader::new(f));
                self.pos = 0;
                self.partial.clear();
                Ok(true)
            }
            Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(false),
            Err(e) => Err(e),
        }
    }

    /// Read every complete line available now, calling `on_line` for each. Returns the
    /// number of lines read.
    pub fn poll(&mut self, on_line: &mut dyn FnMut(&str)) -> io::Result<usize> {
        if self.reader.is_none() && !self.open()? {
            return Ok(0);
        }
        let mut n = self.drain(on_line)?;
        // Rotation: the path now names another file, or the file shrank.
        let rotated = match std::fs::metadata(&self.path) {
            Ok(meta) => {
                let id = file_id(&meta);
                (id.is_some() && id != self.id) || meta.len() < self.pos
            }
            Err(_) => false,
        };
        if rotated {
            n += self.drain(on_line)?;
            if !self.partial.is_empty() {
                let last = std::mem::take(&mut self.partial);
                on_line(&last);
                n += 1;
            }
            if self.open()? {
                n += self.drain(on_line)?;
            }
        }
        Ok(n)
    }

    fn drain(&mut self, on_line: &mut dyn FnMut(&str)) -> io::Result<usize> {
        let Some(r) = &mut self.reader else {
            return Ok(0);
        };
        let mut n = 0;
        loop {
            let mut buf = Vec::new();
            let read = r.read_until(b'\n', &mut buf)?;
            if read == 0 {
                break;
            }
            self.pos += read as u64;
            self.partial.push_str(&String::from_utf8_lossy(&buf));
            if self.partial.ends_with('\n') {
                let line = std::mem::take(&mut self.partial);
                on_line(line.trim_end_matches(['\n', '\r']));
                n += 1;
            }
        }
        // Clear EOF so later appends are seen.
        let pos = self.pos;
        r.seek(SeekFrom::Start(pos))?;
        Ok(n)
    }

    /// Poll every `interval` until `stop` is set.
    pub fn run(
        &mut self,
        interval: Duration,
        stop: &AtomicBool,
        on_line: &mut dyn FnMut(&str),
    ) -> io::Result<()> {
        while !stop.load(Ordering::Relaxed) {
            if self.poll(on_line)? == 0 {
                std::thread::sleep(interval);
            }
        }
        self.poll(on_line)?;
        Ok(())
    }
}

/// Read all of `r` into a string (lossy UTF-8).
pub fn read_all(mut r: impl Read) -> io::Result<String> {
    let mut buf = Vec::new();
    r.read_to_end(&mut buf)?;
    Ok(String::from_utf8_lossy(&buf).into_owned())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{EngineOptions, Ruleset};
    use std::io::Write;

    const RULES: &str = r#"
- rule: Any get
  desc: d
  condition: ka.verb = get
  output: get by %ka.user.name
  priority: NOTICE
  source: k8s_audit
- rule: Any delete
  desc: d
  condition: ka.verb = delete
  output: delete by %ka.user.name
  priority: CRITICAL
  source: k8s_audit
"#;

    fn ev(verb: &str, sec: u32) -> String {
        format!(
            r#"{{"auditID":"{sec}","stage":"ResponseComplete","verb":"{verb}","user":{{"username":"u"}},"objectRef":{{"resource":"pods","namespace":"ns","name":"p"}},"stageTimestamp":"2024-01-01T00:00:{sec:02}Z"}}"#
        )
    }

    fn monitor(opts: MonitorOptions) -> Monitor {
        let mut rs = Ruleset::new();
        rs.load_str("r.yaml", RULES).unwrap();
        Monitor::new(
            Engine::compile(&rs, EngineOptions::default()).unwrap(),
            opts,
        )
    }

    #[test]
    fn min_priority_and_rate_limit() {
        let mut m = monitor(MonitorOptions {
            min_priority: Priority::Warning,
            rate_limit: Some((1.0, 1)),
        });
        let mut out = Vec::new();
        let text = [
            ev("get", 1),
            ev("delete", 1),
            ev("delete", 1),
            ev("delete", 3),
            "garbage".into(),
        ]
        .join("\n");
        m.process_text(&text, &mut out);
        assert_eq!(out.len(), 2);
        assert_eq!(m.stats().events, 4);
        assert_eq!(m.stats().below_min_priority, 1);
        assert_eq!(m.stats().rate_limited, 1);
        assert_eq!(m.stats().parse_errors, 1);
        assert_eq!(m.summary().len(), 2);
        let mut report = m.report(&out, "audit.log");
        report.finalize(m.rule_lookup(), Default::default());
        assert_eq!(report.findings[0].rule_id, "runtime/any-delete");
        assert_eq!(
            report.findings[0].severity,
            rampart_core::Severity::Critical
        );
        assert_eq!(report.rules.len(), 1);
    }

    #[test]
    fn reader_streams_lines_or_reads_documents() {
        for text in [
            format!("\n{}\n{}\n", ev("delete", 1), ev("get", 2)),
            format!(
                "{{\n \"kind\": \"EventList\",\n \"items\": [\n{},\n{}\n]}}\n",
                ev("delete", 1),
                ev("get", 2)
            ),
            format!("[\n{},\n{}\n]", ev("delete", 1), ev("get", 2)),
        ] {
            let mut m = monitor(MonitorOptions::default());
            let mut got = Vec::new();
            m.process_reader(text.as_bytes(), &mut |b| {
                got.append(b);
                true
            })
            .unwrap();
            assert_eq!(got.len(), 2, "{text}");
            assert_eq!(m.stats().parse_errors, 0, "{text}");
        }
    }

    #[test]
    fn follower_survives_rotation_and_truncation() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("audit.log");
        let mut f = File::create(&p).unwrap();
        writeln!(f, "a").unwrap();
        write!(f, "b").unwrap();
        f.flush().unwrap();
        let mut fol = Follower::new(&p);
        let mut lines = Vec::new();
        fol.poll(&mut |l| lines.push(l.to_string())).unwrap();
        assert_eq!(lines, ["a"]);
        writeln!(f).unwrap();
        writeln!(f, "c").unwrap();
        fol.poll(&mut |l| lines.push(l.to_string())).unwrap();
        assert_eq!(lines, ["a", "b", "c"]);
        // Rotate: rename and create a new file.
        writeln!(f, "d").unwrap();
        std::fs::rename(&p, dir.path().join("audit.log.1")).unwrap();
        let mut g = File::create(&p).unwrap();
        writeln!(g, "e").unwrap();
        fol.poll(&mut |l| lines.push(l.to_string())).unwrap();
        assert_eq!(lines, ["a", "b", "c", "d", "e"]);
        // Truncate in place (copytruncate).
        let mut h = File::create(&p).unwrap();
        fol.poll(&mut |l| lines.push(l.to_string())).unwrap();
        writeln!(h, "f").unwrap();
        fol.poll(&mut |l| lines.push(l.to_string())).unwrap();
        assert_eq!(lines.last().map(String::as_str), Some("f"));
    }
}
