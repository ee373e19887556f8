//! `rampart monitor`: Falco-compatible runtime detection over Kubernetes audit events.
//!
//! ```text
//! rampart monitor --from-file audit.log                    # Falco text alerts
//! rampart monitor --from-file audit.log --format sarif     # a Rampart report
//! rampart monitor --from-file /var/log/audit.log --follow --format falco-json
//! kubectl ... | rampart monitor --from-file -              # JSON lines on stdin
//! rampart monitor audit-policy -r my_rules.yaml            # what to audit for these rules
//! rampart monitor check -r my_rules.yaml                   # validate rules files
//! ```

use std::fs::File;
use std::io::{BufWriter, IsTerminal, Write};
use std::path::PathBuf;
use std::sync::atomic::AtomicBool;
use std::time::Duration;

use anyhow::{bail, Context, Result};
use clap::{Args, Subcommand};
use rampart_core::severity::FailOn;
use rampart_report::{render, RenderOptions};
use rampart_runtime::policy::audit_policy;
use rampart_runtime::{
    Alert, Engine, EngineOptions, Follower, Monitor, MonitorOptions, Priority, Ruleset,
};

use crate::exit;

/// `rampart monitor`.
#[derive(Debug, Args)]
#[command(args_conflicts_with_subcommands = true)]
pub struct MonitorCmd {
    /// A helper instead of monitoring.
    #[command(subcommand)]
    pub command: Option<MonitorSub>,
    /// Monitoring options.
    #[command(flatten)]
    pub args: MonitorArgs,
}

/// `rampart monitor <helper>`.
#[derive(Debug, Subcommand)]
pub enum MonitorSub {
    /// Print a Kubernetes audit Policy recording what the loaded rules need
    /// (RequestResponse where a rule reads request/response bodies, Metadata elsewhere).
    AuditPolicy(RuleArgs),
    /// Load and compile rules files; print warnings and a summary; exit 2 on errors.
    Check(RuleArgs),
}

/// Which rules to load.
#[derive(Debug, Args, Clone, Default)]
pub struct RuleArgs {
    /// Falco rules file or directory (`*.yaml`); repeatable, loaded in order so later
    /// files append to or override earlier ones. Default: the built-in rules (Falco's
    /// k8s_audit_rules.yaml).
    #[arg(short = 'r', long = "rules", value_name = "FILE|DIR")]
    pub rules: Vec<PathBuf>,
    /// Load the built-in rules before the `-r` files (to tune them with appends and
    /// overrides).
    #[arg(long)]
    pub builtin: bool,
    /// Host name for alerts (default: this machine's).
    #[arg(long, value_name = "NAME")]
    pub hostname: Option<String>,
    /// Cluster name, available to rules as `ka.cluster.name`.
    #[arg(long, value_name = "NAME")]
    pub cluster_name: Option<String>,
}

/// Monitoring options.
#[derive(Debug, Args, Clone, Default)]
pub struct MonitorArgs {
    /// Rules.
    #[command(flatten)]
    pub rules: RuleArgs,
    /// Audit log to read: JSON lines, an `EventList` or a JSON array of events; `-` reads
    /// JSON lines from standard input.
    #[arg(long, value_name = "FILE|-")]
    pub from_file: Option<PathBuf>,
    /// Keep reading the file as it grows, surviving rotation (like `tail -F`).
    #[arg(long, requires = "from_file")]
    pub follow: bool,
    /// Serve the audit webhook backend on this address (e.g. `0.0.0.0:9765`): the API
    /// server POSTs `EventList` batches (`--audit-webhook-config-file`). Also serves
    /// `/metrics`, `/healthz` and `/readyz`. Runs until SIGINT/SIGTERM.
    #[arg(long, value_name = "ADDR", conflicts_with = "from_file")]
    pub listen: Option<String>,
    /// PEM certificate chain for --listen.
    #[arg(long, value_name = "FILE", requires = "tls_key")]
    pub tls_cert: Option<PathBuf>,
    /// PEM private key for --listen.
    #[arg(long, value_name = "FILE", requires = "tls_cert")]
    pub tls_key: Option<PathBuf>,
    /// Require client certificates chaining to this PEM CA on --listen (mutual TLS: the
    /// API server's audit webhook kubeconfig carries the client certificate).
    #[arg(long, value_name = "FILE", requires = "tls_cert")]
    pub client_ca: Option<PathBuf>,
    /// Serve plain HTTP (behind a TLS-terminating proxy); --listen otherwise needs TLS.
    #[arg(long)]
    pub insecure_http: bool,
    /// Largest batch accepted by --listen: bytes, or `512K`, `32M` … (larger: 413).
    #[arg(long, value_name = "SIZE", default_value = "32M", value_parser = crate::args::parse_size_usize)]
    pub max_body_bytes: usize,
    /// Alerts queued for the sinks before new ones are dropped (and counted).
    #[arg(long, value_name = "N", default_value_t = 10_000)]
    pub queue_size: usize,
    /// Also POST each alert (Falco JSON) to this `http://` or `https://` URL, e.g.
    /// Falcosidekick; retried with backoff. Repeatable. With --listen only.
    #[arg(long, value_name = "URL", requires = "listen")]
    pub sink_http: Vec<String>,
    /// CA certificates (PEM) to verify `https://` sinks (default: the system bundle).
    #[arg(long, value_name = "FILE", requires = "sink_http")]
    pub sink_ca_file: Option<PathBuf>,
    /// `text` (Falco's text alerts; the default), `falco-json` (Falco's JSON alerts, one
    /// per line), or a report: `table`, `json`, `sarif`, `junit`, `markdown`.
    #[arg(long, short = 'f', value_name = "FORMAT")]
    pub format: Option<String>,
    /// Write alerts or the report to this file instead of standard output:
    /// `FORMAT=PATH` (e.g. `sarif=alerts.sarif`, `falco-json=alerts.jsonl`) or `PATH`
    /// (in the --format format).
    #[arg(long, short = 'o', value_name = "[FORMAT=]PATH")]
    pub output: Option<String>,
    /// `output`'s path, once parsed.
    #[arg(skip)]
    pub output_path: Option<PathBuf>,
    /// Drop alerts below this priority (emergency, alert, critical, error, warning,
    /// notice, informational, debug).
    #[arg(long, value_name = "PRIORITY", default_value = "debug")]
    pub min_priority: String,
    /// Per-rule rate limit: at most this many alerts per second per rule (after a burst
    /// of --rate-burst); repeats are counted and summarised. 0 = no limit.
    #[arg(long, value_name = "PER_SECOND", default_value_t = 0.0)]
    pub rate_limit: f64,
    /// Burst allowed by --rate-limit.
    #[arg(long, value_name = "N", default_value_t = 10)]
    pub rate_burst: u32,
    /// Exit 1 when an alert maps to a finding at or above this severity
    /// (critical|high|medium|low|info|none; default none).
    #[arg(long, value_name = "SEVERITY")]
    pub fail_on: Option<String>,
    /// No summary on standard error.
    #[arg(long, short = 'q')]
    pub quiet: bool,
}

enum Out {
    Text,
    FalcoJson,
    Report(rampart_report::Format),
}

fn serve(a: &MonitorArgs, listen: &str, out: Out, min_priority: Priority) -> Result<u8> {
    use rampart_runtime::server::{
        self, AlertFormat, HttpSink, Metrics, ServerOptions, Sink as SrvSink,
    };
    let addr: std::net::SocketAddr = listen
        .parse()
        .with_context(|| format!("invalid --listen address `{listen}` (expected HOST:PORT)"))?;
    let format = match out {
        Out::Text => AlertFormat::Text,
        Out::FalcoJson => AlertFormat::Json,
        Out::Report(_) => bail!(
            "--listen never ends, so it cannot produce a report; use --format text or falco-json"
        ),
    };
    let mut opts = ServerOptions::new(addr);
    opts.max_body_bytes = a.max_body_bytes;
    opts.queue_capacity = a.queue_size;
    opts.tls = match (&a.tls_cert, &a.tls_key) {
        (Some(c), Some(k)) => {
            let mut files = server::ServerTlsFiles::new(c, k);
            files.client_ca = a.client_ca.clone();
            Some(server::tls_config(&files, opts.net_metrics.clone())?)
        }
        _ if a.insecure_http => None,
        _ => {
            bail!("--listen needs --tls-cert and --tls-key (or --insecure-http behind a TLS proxy)")
        }
    };
    let scheme = if opts.tls.is_some() { "https" } else { "http" };
    let mut sinks = Vec::new();
    let writer: Box<dyn Write + Send> = match &a.output_path {
        Some(p) => Box::new(BufWriter::new(
            File::create(p).with_context(|| format!("cannot create {}", p.display()))?,
        )),
        None => Box::new(std::io::stdout()),
    };
    sinks.push(SrvSink::Writer(writer, format));
    for url in &a.sink_http {
        let mut sink = HttpSink::new(url)?;
        if let Some(ca) = &a.sink_ca_file {
            sink = sink.with_ca_file(ca)?;
        }
        sinks.push(SrvSink::Http(sink));
    }
    let engine = load_engine(&a.rules)?;
    if !a.quiet {
        for w in &engine.warnings {
            crate::say!("warning: {w}");
        }
        if let Some(s) = engine.skipped_summary() {
            crate::say!("note: {s}");
        }
    }
    let rate_limit = (a.rate_limit > 0.0).then_some((a.rate_limit, a.rate_burst));
    let mon = Monitor::new(
        engine,
        MonitorOptions {
            min_priority,
            rate_limit,
        },
    );
    let metrics = std::sync::Arc::new(Metrics::default());
    let quiet = a.quiet;
    let summary = server::run_until_signal(opts, mon, sinks, metrics, |bound| {
        if !quiet {
            crate::say!("rampart monitor: listening on {scheme}://{bound}");
        }
    })?;
    if !quiet {
        crate::say!(
            "rampart monitor: {} event(s), {} alert(s), {} delivered, {} dropped (queue full)",
            summary.events,
            summary.alerts,
            summary.delivered,
            summary.dropped
        );
        for n in &summary.notes {
            crate::say!("{n}");
        }
    }
    Ok(exit::CLEAN)
}

/// Where alerts go: written as they come (text, Falco JSON) or kept for a report.
struct Sink {
    writer: Box<dyn Write>,
    out: Out,
    kept: Vec<Alert>,
    err: Option<std::io::Error>,
}

impl Sink {
    /// Write or keep the batch; false once writing has failed (e.g. a closed pipe).
    fn emit(&mut self, batch: &mut Vec<Alert>) -> bool {
        if self.err.is_some() {
            batch.clear();
            return false;
        }
        let write = |w: &mut dyn Write, line: &str| writeln!(w, "{line}");
        for al in batch.drain(..) {
            let r = match self.out {
                // Event fields (user names, user agents) are the client's text.
                Out::Text => write(&mut self.writer, &rampart_report::visible(&al.to_text())),
                Out::FalcoJson => write(&mut self.writer, &al.to_json()),
                Out::Report(_) => {
                    self.kept.push(al);
                    Ok(())
                }
            };
            if let Err(e) = r {
                self.err = Some(e);
                return false;
            }
        }
        if !matches!(self.out, Out::Report(_)) {
            if let Err(e) = self.writer.flush() {
                self.err = Some(e);
                return false;
            }
        }
        true
    }
}

/// Run `rampart monitor`.
pub fn run(cmd: MonitorCmd) -> Result<u8> {
    match cmd.command {
        Some(MonitorSub::AuditPolicy(r)) => {
            let engine = load_engine(&r)?;
            crate::stdout(&audit_policy(&engine))?;
            Ok(exit::CLEAN)
        }
        Some(MonitorSub::Check(r)) => {
            let engine = load_engine(&r)?;
            for w in &engine.warnings {
                crate::say!("warning: {w}");
            }
            let enabled = engine.enabled_rules().count();
            let mut line = format!(
                "ok: {} k8s_audit rule(s) compiled, {enabled} active",
                engine.rules().len()
            );
            if let Some(s) = engine.skipped_summary() {
                line.push_str("; ");
                line.push_str(&s);
            }
            crate::stdout(&line)?;
            Ok(exit::CLEAN)
        }
        None => monitor(cmd.args),
    }
}

fn load_engine(r: &RuleArgs) -> Result<Engine> {
    let mut rs = Ruleset::new();
    if r.rules.is_empty() || r.builtin {
        rs.load_builtin().context("built-in rules failed to load")?;
    }
    for p in &r.rules {
        rs.load_path(p).map_err(|e| anyhow::anyhow!("{e}"))?;
    }
    let mut opts = EngineOptions::default();
    if let Some(h) = &r.hostname {
        opts.hostname = h.clone();
    }
    opts.cluster = r.cluster_name.clone();
    let engine =
        Engine::compile(&rs, opts).map_err(|e| anyhow::anyhow!("rules failed to compile:\n{e}"))?;
    // An empty rule set watches nothing: that is a configuration error, not a quiet run.
    if engine.rules().is_empty() {
        bail!(
            "no k8s_audit rule compiled from {}: a monitor without rules detects nothing \
             (check the files' `source: k8s_audit` and conditions, or drop -r to use the \
             built-in rules)",
            describe_rule_sources(r)
        );
    }
    if engine.enabled_rules().count() == 0 {
        bail!(
            "every k8s_audit rule loaded from {} is disabled: a monitor without enabled \
             rules detects nothing",
            describe_rule_sources(r)
        );
    }
    Ok(engine)
}

fn describe_rule_sources(r: &RuleArgs) -> String {
    let mut parts: Vec<String> = r.rules.iter().map(|p| p.display().to_string()).collect();
    if r.rules.is_empty() || r.builtin {
        parts.insert(0, "the built-in rules".into());
    }
    parts.join(", ")
}

/// The monitor's one output: `-o FORMAT=PATH` names the format as `-o` does for the
/// scanning commands (it must agree with an explicit `-f`), `-o PATH` takes `-f`'s.
fn output_spec(format: Option<&str>, output: Option<&str>) -> Result<(String, Option<PathBuf>)> {
    const ALERTS: [&str; 3] = ["text", "falco-json", "falco"];
    let Some(spec) = output else {
        return Ok((format.unwrap_or("text").to_string(), None));
    };
    if let Some((f, p)) = spec.split_once('=') {
        let known = ALERTS.contains(&f) || f.parse::<rampart_report::Format>().is_ok();
        if known {
            if let Some(explicit) = format.filter(|e| !e.eq_ignore_ascii_case(f)) {
                bail!("--output `{spec}` names format `{f}` but --format is `{explicit}`: the monitor writes one stream");
            }
            return Ok((f.to_ascii_lowercase(), Some(PathBuf::from(p))));
        }
        if !f.contains(['/', '.']) {
            bail!(
                "--output `{spec}`: unknown format `{f}` (expected text, falco-json, table, json, sarif, junit or markdown)"
            );
        }
    }
    Ok((
        format.unwrap_or("text").to_string(),
        Some(PathBuf::from(spec)),
    ))
}

fn monitor(mut a: MonitorArgs) -> Result<u8> {
    let (format, output) = output_spec(a.format.as_deref(), a.output.as_deref())?;
    a.output_path = output;
    let out_kind = match format.as_str() {
        "text" => Out::Text,
        "falco-json" | "falco" => Out::FalcoJson,
        other => Out::Report(
            other
                .parse()
                .map_err(|e| anyhow::anyhow!("{e}; or `text`, `falco-json` for alerts"))?,
        ),
    };
    let min_priority = Priority::parse(&a.min_priority).with_context(|| {
        format!(
            "invalid --min-priority `{}` (emergency … debug)",
            a.min_priority
        )
    })?;
    let fail_on: FailOn = match &a.fail_on {
        Some(s) => s
            .parse()
            .map_err(|e: String| anyhow::anyhow!("invalid --fail-on: {e}"))?,
        None => FailOn::None,
    };
    if let Some(listen) = &a.listen {
        return serve(&a, listen, out_kind, min_priority);
    }
    let Some(source) = a.from_file.clone() else {
        bail!(
            "nothing to read: pass --from-file FILE (or `-` for standard input), or --listen ADDR"
        );
    };
    if a.follow && matches!(out_kind, Out::Report(_)) {
        bail!(
            "--follow never ends, so it cannot produce a report; use --format text or falco-json"
        );
    }
    if a.follow && source.as_os_str() == "-" {
        bail!("--follow needs a file, not standard input");
    }
    let engine = load_engine(&a.rules)?;
    if !a.quiet {
        for w in &engine.warnings {
            crate::say!("warning: {w}");
        }
        if let Some(s) = engine.skipped_summary() {
            crate::say!("note: {s}");
        }
    }
    let rate_limit = (a.rate_limit > 0.0).then_some((a.rate_limit, a.rate_burst));
    let mut mon = Monitor::new(
        engine,
        MonitorOptions {
            min_priority,
            rate_limit,
        },
    );

    let writer: Box<dyn Write> = match &a.output_path {
        Some(p) => Box::new(BufWriter::new(
            File::create(p).with_context(|| format!("cannot create {}", p.display()))?,
        )),
        None => Box::new(BufWriter::new(std::io::stdout().lock())),
    };
    let mut sink = Sink {
        writer,
        out: out_kind,
        kept: Vec::new(),
        err: None,
    };
    let mut batch: Vec<Alert> = Vec::new();
    let target = source.display().to_string();
    if a.follow {
        let mut follower = Follower::new(&source);
        let stop = AtomicBool::new(false);
        let quiet = a.quiet;
        let mut on_line = |line: &str| {
            let before = mon.stats().parse_errors;
            mon.process_line(line, &mut batch);
            // A long-running follow logs the first few bad records as they come.
            let s = mon.stats();
            if !quiet && s.parse_errors > before && s.parse_errors <= 5 {
                if let Some(sample) = s.error_samples.last() {
                    crate::say!("warning: skipped a record that is not an audit event: {sample}");
                }
            }
            sink.emit(&mut batch);
        };
        follower
            .run(Duration::from_millis(200), &stop, &mut on_line)
            .with_context(|| format!("following {}", source.display()))?;
    } else if source.as_os_str() == "-" {
        let stdin = std::io::stdin();
        mon.process_reader(stdin.lock(), &mut |b| sink.emit(b))
            .context("reading standard input")?;
    } else {
        let file =
            File::open(&source).with_context(|| format!("cannot read {}", source.display()))?;
        mon.process_reader(std::io::BufReader::with_capacity(1 << 20, file), &mut |b| {
            sink.emit(b)
        })
        .with_context(|| format!("cannot read {}", source.display()))?;
    }
    if let Some(e) = sink.err.take() {
        return Err(e.into());
    }
    let Sink {
        mut writer,
        out: out_kind,
        kept,
        ..
    } = sink;

    let mut code = exit::CLEAN;
    if let Out::Report(format) = out_kind {
        let mut report = mon.report(&kept, &target);
        report.finalize(mon.rule_lookup(), fail_on);
        let color = a.output_path.is_none()
            && std::io::stdout().is_terminal()
            && std::env::var_os("NO_COLOR").is_none();
        let text = render(
            &report,
            format,
            &RenderOptions {
                color,
                show_suppressed: false,
                markdown_max_chars: Some(rampart_report::markdown::GITHUB_COMMENT_LIMIT),
            },
        )?;
        writer.write_all(text.as_bytes())?;
        if !text.ends_with('\n') {
            writer.write_all(b"\n")?;
        }
        if report.summary.gate_failed {
            code = exit::GATE_FAILED;
        }
    } else if let FailOn::AtLeast(min) = fail_on {
        // Streaming formats: the gate looks at what fired.
        let tripped = mon.engine().rules().iter().any(|r| {
            mon.stats().alerts_by_rule.contains_key(&r.name)
                && rampart_runtime::alert::severity_of(r.priority) >= min
        });
        if tripped {
            code = exit::GATE_FAILED;
        }
    }
    writer.flush()?;
    drop(writer);
    if !a.quiet {
        let s = mon.stats();
        crate::say!(
            "rampart monitor: {} event(s), {} alert(s) from {} rule(s), {} input error(s)",
            s.events,
            s.alerts(),
            s.alerts_by_rule.len(),
            s.parse_errors
        );
        for line in mon.summary() {
            crate::say!("{line}");
        }
    }
    Ok(code)
}
