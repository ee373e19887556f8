//! `rampart admission`: the validating/mutating admission webhook.
//!
//! ```text
//! rampart admission certs --out certs --dns rampart-admission.rampart.svc
//! rampart admission serve --tls-cert certs/tls.crt --tls-key certs/tls.key --config rampart.yaml
//! rampart admission review request.json            # one AdmissionReview, offline
//! ```

use std::io::Write;
use std::path::PathBuf;
use std::sync::Arc;

use anyhow::{bail, Context, Result};
use clap::{Args, Subcommand};
use rampart_admission::engine::Engine;
use rampart_admission::metrics::Metrics;
use rampart_admission::mutate::Lookups;
use rampart_admission::registry::Registry;
use rampart_admission::server::{self, ServeSetup, ServerOptions};
use rampart_admission::settings::Settings;
use rampart_cluster::{ClusterOptions, Source};
use rampart_core::config::Config;

use crate::exit;

/// `rampart admission`.
#[derive(Debug, Args)]
pub struct AdmissionCmd {
    /// What to do.
    #[command(subcommand)]
    pub command: AdmissionSub,
}

/// `rampart admission <command>`.
#[derive(Debug, Subcommand)]
pub enum AdmissionSub {
    /// Serve the webhook over HTTPS: /validate, /mutate, /healthz, /readyz, /metrics.
    Serve(Box<ServeArgs>),
    /// Write a CA and a serving certificate (ca.crt, tls.crt, tls.key) and print the
    /// caBundle for the webhook configurations.
    Certs(CertsArgs),
    /// Answer one AdmissionReview (JSON file or `-`) offline, as /validate would (or
    /// /mutate with --mutate), and print the AdmissionReview response. Exit 1 if denied.
    Review(ReviewArgs),
}

/// Settings shared by `serve` and `review`.
#[derive(Debug, Args, Clone, Default)]
pub struct PolicyArgs {
    /// rampart.yaml with an `admission:` section (default: enforce baseline, warn
    /// restricted, no mutations).
    #[arg(long, value_name = "FILE")]
    pub config: Option<PathBuf>,
    /// A directory of Rego policies usable as a level (`rampart.dev/enforce: NAME`):
    /// `NAME=DIR`, or `DIR` (named after the directory). Repeatable.
    #[arg(long = "policy", value_name = "[NAME=]DIR")]
    pub policies: Vec<String>,
}

/// `rampart admission serve`.
#[derive(Debug, Args)]
pub struct ServeArgs {
    /// Address to listen on.
    #[arg(long, value_name = "ADDR", default_value = "0.0.0.0:8443")]
    pub listen: String,
    /// PEM certificate chain (re-read when the file changes).
    #[arg(long, value_name = "FILE", requires = "tls_key")]
    pub tls_cert: Option<PathBuf>,
    /// PEM private key (re-read when the file changes).
    #[arg(long, value_name = "FILE", requires = "tls_cert")]
    pub tls_key: Option<PathBuf>,
    /// Require client certificates chaining to this PEM CA (mutual TLS: the API server
    /// authenticates with the client certificate of its admission kubeconfig).
    #[arg(long, value_name = "FILE", requires = "tls_cert")]
    pub client_ca: Option<PathBuf>,
    /// Serve plain HTTP (only behind a TLS-terminating proxy; the API server needs TLS).
    #[arg(long, conflicts_with = "tls_cert")]
    pub insecure_http: bool,
    /// Policy settings.
    #[command(flatten)]
    pub policy: PolicyArgs,
    /// Where namespace labels come from: `auto` (the API server when running in a
    /// cluster or given --kubeconfig/--kube-server, else none), `kube` (required),
    /// `none` (cluster defaults everywhere).
    #[arg(long, value_name = "SOURCE", default_value = "auto")]
    pub namespaces: String,
    /// Kubeconfig file instead of the in-cluster service account (contexts, client
    /// certificates, tokens, token files, exec credential plugins).
    #[arg(long, value_name = "FILE", conflicts_with = "kube_server")]
    pub kubeconfig: Option<PathBuf>,
    /// Context of --kubeconfig (default: its current-context).
    #[arg(long, value_name = "NAME", requires = "kubeconfig")]
    pub kube_context: Option<String>,
    /// API server URL instead of the in-cluster service account (`https://host:6443`,
    /// `https://[fd00::1]:6443`).
    #[arg(long, value_name = "URL")]
    pub kube_server: Option<String>,
    /// Bearer token file for --kube-server (re-read every minute: rotated tokens).
    #[arg(long, value_name = "FILE", requires = "kube_server")]
    pub kube_token_file: Option<PathBuf>,
    /// CA file for --kube-server.
    #[arg(long, value_name = "FILE", requires = "kube_server")]
    pub kube_ca_file: Option<PathBuf>,
    /// Create PolicyReports (wgpolicyk8s.io/v1alpha2) for audit-mode violations (also
    /// `admission.policy_reports` in the config).
    #[arg(long)]
    pub policy_reports: bool,
    /// Largest AdmissionReview accepted: bytes, or `512K`, `8M` … (larger: 413).
    #[arg(long, value_name = "SIZE", default_value = "8M", value_parser = crate::args::parse_size_usize)]
    pub max_body_bytes: usize,
    /// On SIGTERM, keep serving this many seconds with /readyz failing (so endpoints
    /// drop the pod first), then drain in-flight requests.
    #[arg(long, value_name = "SECONDS", default_value_t = 0)]
    pub shutdown_delay: u64,
    /// CA file to verify HTTPS registries (tag → digest and image-user lookups).
    #[arg(long, value_name = "FILE")]
    pub registry_ca_file: Option<PathBuf>,
    /// A non-public destination registry lookups may reach: `HOST`, `HOST:PORT` or a
    /// CIDR (in-cluster registries; loopback, private, link-local and metadata addresses
    /// are refused otherwise). Repeatable; adds to `admission.images.private_registries`.
    #[arg(long, value_name = "HOST[:PORT]|CIDR")]
    pub registry_allow: Vec<String>,
    /// No startup line on standard error (audit lines are still written).
    #[arg(long, short = 'q')]
    pub quiet: bool,
}

/// `rampart admission certs`.
#[derive(Debug, Args)]
pub struct CertsArgs {
    /// Directory to write ca.crt, tls.crt and tls.key into (created if missing).
    #[arg(long, value_name = "DIR")]
    pub out: PathBuf,
    /// DNS name (or IP) of the webhook Service, e.g. `rampart-admission.rampart.svc`.
    /// Repeatable.
    #[arg(long, value_name = "NAME", required = true)]
    pub dns: Vec<String>,
    /// Validity in days.
    #[arg(long, value_name = "DAYS", default_value_t = 365)]
    pub days: i64,
    /// Replace existing files (atomically; links at the paths are replaced, not
    /// followed). Without it, existing files are an error and nothing is written.
    #[arg(long)]
    pub force: bool,
}

/// `rampart admission review`.
#[derive(Debug, Args)]
pub struct ReviewArgs {
    /// AdmissionReview JSON file, or `-` for standard input.
    pub file: PathBuf,
    /// Answer as /mutate (print the patch, decoded, under `response.patchDecoded`).
    #[arg(long)]
    pub mutate: bool,
    /// Labels of the request's namespace, `KEY=VALUE` (repeatable), e.g.
    /// `rampart.dev/enforce=restricted`.
    #[arg(long = "namespace-label", value_name = "KEY=VALUE")]
    pub namespace_labels: Vec<String>,
    /// Policy settings.
    #[command(flatten)]
    pub policy: PolicyArgs,
}

/// Run `rampart admission`.
pub fn run(cmd: AdmissionCmd) -> Result<u8> {
    match cmd.command {
        AdmissionSub::Serve(a) => serve(*a),
        AdmissionSub::Certs(a) => certs(&a),
        AdmissionSub::Review(a) => review(&a),
    }
}

fn engine(p: &PolicyArgs) -> Result<Engine> {
    let config = match &p.config {
        Some(path) => Config::load(path)?,
        None => Config::default(),
    };
    let mut sets: Vec<(String, Vec<PathBuf>)> = config
        .admission
        .policy_sets
        .iter()
        .map(|(k, v)| (k.clone(), v.clone()))
        .collect();
    for spec in &p.policies {
        let (name, dir) = match spec.split_once('=') {
            Some((n, d)) => (n.to_string(), PathBuf::from(d)),
            None => {
                let d = PathBuf::from(spec);
                let n = d
                    .file_name()
                    .map(|f| f.to_string_lossy().into_owned())
                    .unwrap_or_else(|| "custom".into());
                (n, d)
            }
        };
        sets.push((name, vec![dir]));
    }
    let mut cfg = config.admission.clone();
    for (n, _) in &sets {
        cfg.policy_sets.entry(n.clone()).or_default();
    }
    let settings = Settings::from_config(&cfg)?;
    let mut engine = Engine::new(settings);
    for (name, dirs) in sets {
        let set =
            rampart_policy::load(&dirs, &[]).with_context(|| format!("policy set `{name}`"))?;
        engine = engine.with_policy_set(&name, set);
    }
    Ok(engine)
}

fn serve(a: ServeArgs) -> Result<u8> {
    let addr: std::net::SocketAddr = a
        .listen
        .parse()
        .with_context(|| format!("invalid --listen `{}` (expected HOST:PORT)", a.listen))?;
    let metrics = Arc::new(Metrics::default());
    let mut opts = ServerOptions::new(addr);
    opts.max_body_bytes = a.max_body_bytes;
    opts.shutdown_delay = std::time::Duration::from_secs(a.shutdown_delay);
    let engine = engine(&a.policy)?;
    opts.tls = match (&a.tls_cert, &a.tls_key) {
        (Some(c), Some(k)) => {
            let mut files = server::ServerTlsFiles::new(c, k);
            files.client_ca = a.client_ca.clone().or(engine.settings.client_ca.clone());
            Some(server::tls_config(&files, opts.net_metrics.clone())?)
        }
        _ if a.insecure_http && engine.settings.client_ca.is_some() => {
            bail!("admission.client_ca needs TLS: it cannot be enforced with --insecure-http")
        }
        _ if a.insecure_http => None,
        _ => bail!("serve needs --tls-cert and --tls-key (or --insecure-http behind a TLS proxy)"),
    };
    let explicit = match (&a.kubeconfig, &a.kube_server) {
        (Some(path), _) => Some(Source::Kubeconfig {
            path: Some(path.clone()),
            context: a.kube_context.clone(),
        }),
        (None, Some(url)) => Some(Source::Server {
            url: url.clone(),
            ca_file: a.kube_ca_file.clone(),
            token_file: a.kube_token_file.clone(),
        }),
        (None, None) => None,
    };
    let in_cluster = std::env::var_os("KUBERNETES_SERVICE_HOST").is_some();
    let kube = match (a.namespaces.as_str(), explicit) {
        ("none", _) => None,
        ("kube" | "auto", Some(source)) => Some(ClusterOptions::new(source)),
        ("kube", None) => Some(ClusterOptions::new(Source::InCluster)),
        // In a pod, a broken service account is an error, not a silent fallback.
        ("auto", None) if in_cluster => Some(ClusterOptions::new(Source::InCluster)),
        ("auto", None) => None,
        (other, _) => bail!("--namespaces `{other}` (expected auto, kube or none)"),
    };
    let policy_reports = a.policy_reports || engine.settings.policy_reports;
    if policy_reports && kube.is_none() {
        bail!("PolicyReports need the API server (run in a cluster or pass --kubeconfig or --kube-server)");
    }
    let needs_registry =
        engine.settings.images.resolve_digests || engine.settings.mutations.run_as_non_root;
    let mut private = engine.settings.images.private_registries.clone();
    private.extend(a.registry_allow.iter().cloned());
    let egress = rampart_admission::registry::EgressPolicy::with_allowed(&private)
        .context("--registry-allow")?;
    let registry = needs_registry.then(|| {
        let r =
            Registry::new(engine.settings.images.insecure_registries.clone()).with_egress(egress);
        match &a.registry_ca_file {
            Some(ca) => r.with_ca_file(ca),
            None => r,
        }
    });
    let scheme = if opts.tls.is_some() { "https" } else { "http" };
    let quiet = a.quiet;
    let ns_note = if kube.is_some() {
        "namespace labels from the API server"
    } else {
        "no namespace labels (cluster defaults everywhere)"
    };
    let d = engine.settings.defaults.clone();
    let setup = ServeSetup {
        opts,
        engine,
        kube,
        policy_reports,
        report_gc_every: std::time::Duration::from_secs(600),
        audit_log: Box::new(std::io::stderr()),
        registry,
        metrics,
    };
    server::serve_until_signal(setup, |bound| {
        if !quiet {
            eprintln!(
                "rampart admission: listening on {scheme}://{bound} (defaults: enforce {}, warn {}, audit {}; {ns_note})",
                d.enforce, d.warn, d.audit
            );
        }
    })?;
    Ok(exit::CLEAN)
}

fn certs(a: &CertsArgs) -> Result<u8> {
    let g = rampart_admission::certs::generate(&a.dns, a.days)?;
    if a.force {
        rampart_admission::certs::replace(&a.out, &g)?;
    } else {
        rampart_admission::certs::write(&a.out, &g)?;
    }
    eprintln!(
        "wrote {0}/ca.crt, {0}/tls.crt, {0}/tls.key; caBundle:",
        a.out.display()
    );
    let mut out = std::io::stdout().lock();
    writeln!(out, "{}", g.ca_bundle())?;
    Ok(exit::CLEAN)
}

fn review(a: &ReviewArgs) -> Result<u8> {
    use std::io::Read as _;
    let body = if a.file.as_os_str() == "-" {
        let mut b = Vec::new();
        std::io::stdin().read_to_end(&mut b)?;
        b
    } else {
        std::fs::read(&a.file).with_context(|| format!("cannot read {}", a.file.display()))?
    };
    let req =
        rampart_admission::review::parse(&body).with_context(|| format!("{}", a.file.display()))?;
    let ns = Arc::new(rampart_admission::namespaces::StaticNamespaces::new());
    let mut labels = std::collections::BTreeMap::new();
    for kv in &a.namespace_labels {
        let Some((k, v)) = kv.split_once('=') else {
            bail!("--namespace-label `{kv}`: expected KEY=VALUE");
        };
        labels.insert(k.to_string(), v.to_string());
    }
    ns.insert(&req.namespace, labels);
    let engine = engine(&a.policy)?.with_namespaces(ns);
    let outcome = if a.mutate {
        engine.mutate(&req, &Lookups::default())
    } else {
        engine.validate(&req)
    };
    let mut v = outcome.response.to_review(&req.uid);
    if a.mutate && !outcome.response.patch.is_empty() {
        v["response"]["patchDecoded"] = serde_json::Value::Array(outcome.response.patch.clone());
    }
    let mut out = std::io::stdout().lock();
    writeln!(out, "{}", serde_json::to_string_pretty(&v)?)?;
    Ok(if outcome.response.allowed {
        exit::CLEAN
    } else {
        exit::GATE_FAILED
    })
}
