//! The API server side: a Namespace watch cache (list, then watch from the list's
//! `resourceVersion`, relisting on `410 Gone` or a failed stream) and the PolicyReport
//! writer for audit-mode decisions (one report per resource, applied in place: see
//! [`crate::reports`]).
//!
//! The cache must never freeze silently, since it decides which namespaces are
//! enforced:
//!
//! - every watch asks the server to end it after [`WatchOptions::timeout_seconds`], and
//!   the client gives up on a stream that sends nothing for
//!   [`WatchOptions::idle_timeout`] (a half-open connection), then watches again;
//! - the cache records when it last heard from the API server (a list, a watch
//!   accepted, an event or bookmark, a watch ended by the server); past
//!   [`WatchOptions::stale_after`] without news it reports not ready, so `/readyz` fails
//!   and the Service stops routing to this replica;
//! - the service-account token is re-read from its file periodically and after a 401
//!   (projected tokens rotate; a token read once expires).
//!
//! This is a deliberately small client over [`rampart_net::http`]'s one HTTP client,
//! not the `kube` crate: `kube` with `k8s-openapi` would add several hundred thousand
//! lines of generated types and their build time (minutes on CI's two cores) for two
//! endpoints, and the one Kubernetes client of the design (`rampart-cluster`, over
//! `kube`) does not exist yet; when it does, this module moves onto it. It speaks the
//! API server's documented list/watch protocol: one JSON `WatchEvent` per line,
//! `ADDED`/`MODIFIED`/`DELETED`/`BOOKMARK`/`ERROR`.

use crate::engine::{AuditEvent, AuditSink};
use crate::metrics::Metrics;
use crate::namespaces::{Labels, NamespaceSource, StaticNamespaces};
use crate::reports::{self, ReportQueue};
use axum::body::Bytes;
use http_body_util::BodyExt;
use hyper::header::{self, HeaderName, HeaderValue};
use hyper::Method;
use rampart_net::egress::EgressPolicy;
use rampart_net::http::{HttpClient, Url};
use serde_json::{json, Value};
use std::collections::HashMap;
use std::io::{Read as _, Write as _};
use std::path::{Path, PathBuf};
use std::sync::atomic::Ordering;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};
use tokio::sync::Notify;

/// In-cluster service-account files.
const SA_DIR: &str = "/var/run/secrets/kubernetes.io/serviceaccount";
/// How often the in-cluster token file is re-read (client-go re-reads every minute).
const TOKEN_REREAD: Duration = Duration::from_secs(60);
/// Largest token file read.
const MAX_TOKEN_FILE: u64 = 64 << 10;
/// Largest list response.
const MAX_LIST: usize = 64 << 20;
/// Largest single watch event.
const MAX_EVENT: usize = 16 << 20;

/// Errors reaching the API server.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum KubeError {
    /// Configuration (no in-cluster environment, unreadable token/CA).
    #[error("kubernetes client: {0}")]
    Config(String),
    /// A request failed.
    #[error("kubernetes API: {0}")]
    Api(String),
}

/// Where the bearer token comes from.
#[derive(Debug)]
enum Token {
    None,
    Static(String),
    File {
        path: PathBuf,
        every: Duration,
        current: Mutex<Option<(String, Instant)>>,
    },
}

fn read_token(path: &Path) -> Result<String, KubeError> {
    let f = std::fs::File::open(path)
        .map_err(|e| KubeError::Config(format!("{}: {e}", path.display())))?;
    let mut s = String::new();
    f.take(MAX_TOKEN_FILE)
        .read_to_string(&mut s)
        .map_err(|e| KubeError::Config(format!("{}: {e}", path.display())))?;
    let t = s.trim().to_string();
    if t.is_empty() {
        return Err(KubeError::Config(format!(
            "{}: empty token",
            path.display()
        )));
    }
    Ok(t)
}

impl Token {
    /// The token, re-read from its file when older than its interval (or `force`). A
    /// failed re-read keeps the previous token.
    fn get(&self, force: bool) -> Option<String> {
        match self {
            Token::None => None,
            Token::Static(t) => Some(t.clone()),
            Token::File {
                path,
                every,
                current,
            } => {
                let mut cur = current.lock().ok()?;
                let due = match &*cur {
                    None => true,
                    Some((_, at)) => force || at.elapsed() >= *every,
                };
                if due {
                    match read_token(path) {
                        Ok(t) => *cur = Some((t, Instant::now())),
                        Err(_) => {
                            if let Some((_, at)) = cur.as_mut() {
                                *at = Instant::now();
                            }
                        }
                    }
                }
                cur.as_ref().map(|(t, _)| t.clone())
            }
        }
    }
}

/// How to reach the API server.
#[derive(Clone)]
pub struct KubeClient {
    base: Url,
    http: HttpClient,
    token: Arc<Token>,
}

impl std::fmt::Debug for KubeClient {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "KubeClient({})", self.base.origin())
    }
}

fn tls_with_ca(ca: &Path) -> Result<HttpClient, KubeError> {
    let tls =
        rampart_net::tls::client_config(Some(ca)).map_err(|e| KubeError::Config(e.to_string()))?;
    Ok(HttpClient::new(Ok(tls), EgressPolicy::unrestricted()))
}

impl KubeClient {
    /// From the pod's service account (`KUBERNETES_SERVICE_HOST`/`_PORT`, token, CA);
    /// the token file is re-read every minute.
    pub fn in_cluster() -> Result<KubeClient, KubeError> {
        let host = std::env::var("KUBERNETES_SERVICE_HOST").map_err(|_| {
            KubeError::Config(
                "KUBERNETES_SERVICE_HOST is not set (not in a cluster; use --kube-server)".into(),
            )
        })?;
        let port = std::env::var("KUBERNETES_SERVICE_PORT")
            .ok()
            .and_then(|p| p.parse::<u16>().ok())
            .unwrap_or(443);
        let dir = PathBuf::from(SA_DIR);
        let host = host.trim_matches(['[', ']']);
        let server = if host.contains(':') {
            format!("https://[{host}]:{port}")
        } else {
            format!("https://{host}:{port}")
        };
        let client = KubeClient::new(&server, None, Some(&dir.join("ca.crt")))?;
        read_token(&dir.join("token"))?;
        Ok(client.with_token_file(&dir.join("token"), TOKEN_REREAD))
    }

    /// An explicit server (`https://host:port` or `http://127.0.0.1:port` for tests),
    /// with an optional bearer token and CA file.
    pub fn new(
        server: &str,
        token: Option<String>,
        ca: Option<&Path>,
    ) -> Result<KubeClient, KubeError> {
        let base = Url::parse(server.trim_end_matches('/'))
            .map_err(|e| KubeError::Config(format!("{e} (expected http(s)://host:port)")))?;
        let mut http = match (base.https, ca) {
            (false, _) => HttpClient::new(
                Err(rampart_net::NetError::Tls("plain HTTP".into())),
                EgressPolicy::unrestricted(),
            ),
            (true, Some(ca)) => tls_with_ca(ca)?,
            (true, None) => {
                return Err(KubeError::Config(format!(
                    "{server}: a CA file is needed for https"
                )))
            }
        };
        http.timeout = Duration::from_secs(30);
        http.max_body = MAX_LIST;
        http.user_agent = "rampart-admission".into();
        Ok(KubeClient {
            base,
            http,
            token: Arc::new(token.map_or(Token::None, Token::Static)),
        })
    }

    /// Read the bearer token from `path` now and again every `every` (and after a 401).
    pub fn with_token_file(mut self, path: &Path, every: Duration) -> KubeClient {
        self.token = Arc::new(Token::File {
            path: path.to_path_buf(),
            every,
            current: Mutex::new(None),
        });
        self
    }

    fn url(&self, path: &str) -> Url {
        let mut u = self.base.clone();
        u.path_and_query = path.to_string();
        u
    }

    fn headers(
        &self,
        force_token: bool,
        content_type: Option<&'static str>,
    ) -> Vec<(HeaderName, HeaderValue)> {
        let mut h = vec![(header::ACCEPT, HeaderValue::from_static("application/json"))];
        if let Some(ct) = content_type {
            h.push((header::CONTENT_TYPE, HeaderValue::from_static(ct)));
        }
        if let Some(t) = self.token.get(force_token) {
            if let Ok(v) = HeaderValue::from_str(&format!("Bearer {t}")) {
                h.push((header::AUTHORIZATION, v));
            }
        }
        h
    }

    /// A streaming GET (a watch): the response with its body unread.
    async fn stream(
        &self,
        path: &str,
    ) -> Result<hyper::Response<hyper::body::Incoming>, KubeError> {
        let api = |e: &dyn std::fmt::Display| KubeError::Api(format!("GET {path}: {e}"));
        let url = self.url(path);
        let mut resp = self
            .http
            .send(Method::GET, &url, &self.headers(false, None), Bytes::new())
            .await
            .map_err(|e| api(&e))?;
        if resp.status().as_u16() == 401 {
            resp = self
                .http
                .send(Method::GET, &url, &self.headers(true, None), Bytes::new())
                .await
                .map_err(|e| api(&e))?;
        }
        Ok(resp)
    }

    /// Server-side apply of `body` at `path` (see [`reports::apply_path`]): the HTTP status.
    async fn apply(&self, path: &str, body: &Value) -> Result<u16, KubeError> {
        let (status, _) = self
            .json(
                "PATCH",
                path,
                Some((body.clone(), reports::APPLY_CONTENT_TYPE)),
            )
            .await?;
        Ok(status)
    }

    /// A request with an optional body and its content type: the status and JSON answer.
    async fn json(
        &self,
        method: &str,
        path: &str,
        body: Option<(Value, &'static str)>,
    ) -> Result<(u16, Value), KubeError> {
        let api = |e: &dyn std::fmt::Display| KubeError::Api(format!("{method} {path}: {e}"));
        let m = Method::from_bytes(method.as_bytes()).map_err(|e| api(&e))?;
        let url = self.url(path);
        let content_type = body.as_ref().map(|(_, ct)| *ct);
        let bytes = body.map(|(v, _)| Bytes::from(v.to_string()));
        let mut reply = None;
        for force in [false, true] {
            let r = self
                .http
                .fetch(
                    m.clone(),
                    &url,
                    &self.headers(force, content_type),
                    bytes.clone().unwrap_or_default(),
                )
                .await
                .map_err(|e| api(&e))?;
            let retry = r.status == 401 && !force;
            reply = Some(r);
            if !retry {
                break;
            }
        }
        let r = reply.ok_or_else(|| api(&"no answer"))?;
        let v = serde_json::from_slice(&r.body).unwrap_or(Value::Null);
        Ok((r.status, v))
    }
}

fn labels_of(ns: &Value) -> Labels {
    ns.get("metadata")
        .and_then(|m| m.get("labels"))
        .and_then(Value::as_object)
        .map(|m| {
            m.iter()
                .filter_map(|(k, v)| v.as_str().map(|s| (k.clone(), s.to_string())))
                .collect()
        })
        .unwrap_or_default()
}

fn name_of(ns: &Value) -> Option<&str> {
    ns.get("metadata")?.get("name")?.as_str()
}

/// Timing of the Namespace watch.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WatchOptions {
    /// Asked of the server: end each watch after this many seconds.
    pub timeout_seconds: u32,
    /// Give up on a watch stream that sends nothing for this long (a half-open
    /// connection) and watch again.
    pub idle_timeout: Duration,
    /// Report not ready when nothing was heard from the API server for this long.
    pub stale_after: Duration,
    /// Longest wait between retries after errors (starting at 1 s, doubling).
    pub retry_max: Duration,
}

impl Default for WatchOptions {
    /// 240 s watches, 270 s idle timeout, stale after 330 s, retries up to 30 s apart.
    fn default() -> WatchOptions {
        WatchOptions {
            timeout_seconds: 240,
            idle_timeout: Duration::from_secs(270),
            stale_after: Duration::from_secs(330),
            retry_max: Duration::from_secs(30),
        }
    }
}

/// The Namespace labels as last synced, ready only while fresh (see the module
/// documentation). Give it to [`crate::engine::Engine::with_namespaces`].
#[derive(Debug)]
pub struct NamespaceCache {
    store: Arc<StaticNamespaces>,
    heard: Mutex<Option<Instant>>,
    stale_after: Duration,
}

impl NamespaceCache {
    fn touch(&self) {
        if let Ok(mut h) = self.heard.lock() {
            *h = Some(Instant::now());
        }
    }

    /// Time since the API server was last heard from (`None`: never).
    pub fn age(&self) -> Option<Duration> {
        self.heard.lock().ok()?.map(|at| at.elapsed())
    }
}

impl NamespaceSource for NamespaceCache {
    fn labels(&self, name: &str) -> Option<Labels> {
        self.store.labels(name)
    }

    fn ready(&self) -> bool {
        self.store.ready() && self.age().is_some_and(|a| a < self.stale_after)
    }
}

/// Why a watch ended.
enum WatchEnd {
    /// The server ended it: watch again from this resourceVersion.
    Resume(String),
    /// Silent for the idle timeout: watch again from this resourceVersion.
    Idle(String),
    /// `410 Gone`: relist.
    Expired,
}

/// Keeps a [`StaticNamespaces`] store in sync with the API server's Namespaces.
#[derive(Debug)]
pub struct KubeNamespaces {
    client: KubeClient,
    store: Arc<StaticNamespaces>,
    cache: Arc<NamespaceCache>,
    opts: WatchOptions,
}

impl KubeNamespaces {
    /// A watcher feeding `store` (which stays not-ready until the first list), with
    /// the default [`WatchOptions`].
    pub fn new(client: KubeClient, store: Arc<StaticNamespaces>) -> KubeNamespaces {
        store.set_ready(false);
        let opts = WatchOptions::default();
        KubeNamespaces {
            cache: Arc::new(NamespaceCache {
                store: store.clone(),
                heard: Mutex::new(None),
                stale_after: opts.stale_after,
            }),
            client,
            store,
            opts,
        }
    }

    /// Other timing (call before [`KubeNamespaces::cache`]).
    pub fn with_options(mut self, opts: WatchOptions) -> KubeNamespaces {
        self.cache = Arc::new(NamespaceCache {
            store: self.store.clone(),
            heard: Mutex::new(None),
            stale_after: opts.stale_after,
        });
        self.opts = opts;
        self
    }

    /// The labels as a [`NamespaceSource`] that is ready only while fresh.
    pub fn cache(&self) -> Arc<NamespaceCache> {
        self.cache.clone()
    }

    /// List every Namespace; returns the list's `resourceVersion`.
    pub async fn list(&self) -> Result<String, KubeError> {
        let (status, v) = self.client.json("GET", "/api/v1/namespaces", None).await?;
        if status != 200 {
            return Err(KubeError::Api(format!(
                "list namespaces: HTTP {status}: {}",
                v.get("message").and_then(Value::as_str).unwrap_or("")
            )));
        }
        let mut all = HashMap::new();
        for item in v
            .get("items")
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
        {
            if let Some(n) = name_of(item) {
                all.insert(n.to_string(), labels_of(item));
            }
        }
        self.store.replace_all(all);
        self.store.set_ready(true);
        self.cache.touch();
        Ok(v.get("metadata")
            .and_then(|m| m.get("resourceVersion"))
            .and_then(Value::as_str)
            .unwrap_or("")
            .to_string())
    }

    /// Watch from `rv` until the stream ends or goes silent.
    async fn watch(&self, rv: &str) -> Result<WatchEnd, KubeError> {
        let path = format!(
            "/api/v1/namespaces?watch=1&allowWatchBookmarks=true&timeoutSeconds={}&resourceVersion={rv}",
            self.opts.timeout_seconds
        );
        let resp = self.client.stream(&path).await?;
        if resp.status().as_u16() == 410 {
            return Ok(WatchEnd::Expired);
        }
        if !resp.status().is_success() {
            return Err(KubeError::Api(format!(
                "watch namespaces: HTTP {}",
                resp.status()
            )));
        }
        self.cache.touch();
        let mut body = resp.into_body();
        let mut buf: Vec<u8> = Vec::new();
        let mut last = rv.to_string();
        loop {
            let frame = match tokio::time::timeout(self.opts.idle_timeout, body.frame()).await {
                Err(_) => return Ok(WatchEnd::Idle(last)),
                Ok(None) => break,
                Ok(Some(f)) => f.map_err(|e| KubeError::Api(format!("watch: {e}")))?,
            };
            let Ok(data) = frame.into_data() else {
                continue;
            };
            buf.extend_from_slice(&data);
            if buf.len() > MAX_EVENT {
                return Err(KubeError::Api("watch: event larger than 16 MiB".into()));
            }
            while let Some(i) = buf.iter().position(|b| *b == b'\n') {
                let line: Vec<u8> = buf.drain(..=i).collect();
                let Ok(ev) = serde_json::from_slice::<Value>(&line) else {
                    continue;
                };
                let obj = ev.get("object").cloned().unwrap_or(Value::Null);
                let kind = ev.get("type").and_then(Value::as_str).unwrap_or("");
                if kind == "ERROR" {
                    if obj.get("code").and_then(Value::as_u64) == Some(410) {
                        return Ok(WatchEnd::Expired);
                    }
                    return Err(KubeError::Api(format!("watch error: {obj}")));
                }
                self.cache.touch();
                if let Some(r) = obj
                    .get("metadata")
                    .and_then(|m| m.get("resourceVersion"))
                    .and_then(Value::as_str)
                {
                    last = r.to_string();
                }
                let Some(name) = name_of(&obj) else { continue };
                match kind {
                    "ADDED" | "MODIFIED" => self.store.insert(name, labels_of(&obj)),
                    "DELETED" => self.store.remove(name),
                    _ => {}
                }
            }
        }
        self.cache.touch();
        Ok(WatchEnd::Resume(last))
    }

    /// List and watch forever (backing off 1 s up to [`WatchOptions::retry_max`] after
    /// errors, relisting after them). Spawn it.
    pub async fn run(self) {
        let mut backoff = Duration::from_secs(1);
        let mut rv: Option<String> = None;
        loop {
            let current = match rv.take() {
                Some(r) => Ok(r),
                None => self.list().await,
            };
            let failed = match current {
                Ok(r) => match self.watch(&r).await {
                    Ok(WatchEnd::Resume(next)) | Ok(WatchEnd::Idle(next)) => {
                        rv = Some(next);
                        false
                    }
                    Ok(WatchEnd::Expired) => false,
                    Err(_) => true,
                },
                Err(_) => true,
            };
            if failed {
                tokio::time::sleep(backoff).await;
                backoff = (backoff * 2).min(self.opts.retry_max.max(Duration::from_secs(1)));
            } else {
                backoff = Duration::from_secs(1);
            }
        }
    }
}

/// Writes audit events: one JSON line per event to a writer (stderr in the CLI) and,
/// when a client is given, a PolicyReport per resource through the API server (never
/// for dry runs, nor for cluster-scoped objects; see [`crate::reports`]). Reports are
/// coalesced in a bounded [`ReportQueue`] and applied (server-side apply, `PATCH`) by a
/// background task, so the request path never waits on the API server and every
/// decision about one resource updates the same report in place.
pub struct JsonAuditSink {
    writer: std::sync::Mutex<Box<dyn std::io::Write + Send>>,
    reports: Option<ReportWriter>,
}

/// The queue shared with the background task that applies the reports.
struct ReportWriter {
    queue: Arc<Mutex<ReportQueue>>,
    wake: Arc<Notify>,
    metrics: Arc<Metrics>,
}

impl std::fmt::Debug for JsonAuditSink {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("JsonAuditSink").finish()
    }
}

impl JsonAuditSink {
    /// Log lines only.
    pub fn new(writer: Box<dyn std::io::Write + Send>) -> JsonAuditSink {
        JsonAuditSink {
            writer: std::sync::Mutex::new(writer),
            reports: None,
        }
    }

    /// Also write PolicyReports with `client` (call inside a Tokio runtime), counting
    /// reports written, failed and dropped (a bound reached) in `metrics`.
    pub fn with_policy_reports(
        mut self,
        client: KubeClient,
        metrics: Arc<Metrics>,
    ) -> JsonAuditSink {
        let queue = Arc::new(Mutex::new(ReportQueue::new()));
        let wake = Arc::new(Notify::new());
        let (q, w, m) = (queue.clone(), wake.clone(), metrics.clone());
        tokio::spawn(async move {
            loop {
                w.notified().await;
                let batch = match q.lock() {
                    Ok(mut q) => q.drain(),
                    Err(_) => return,
                };
                for report in batch {
                    let Some(path) = reports::apply_path(&report) else {
                        m.policy_reports_failed.fetch_add(1, Ordering::Relaxed);
                        continue;
                    };
                    let ok = client
                        .apply(&path, &report)
                        .await
                        .is_ok_and(|status| (200..300).contains(&status));
                    let counter = if ok {
                        &m.policy_reports_written
                    } else {
                        &m.policy_reports_failed
                    };
                    counter.fetch_add(1, Ordering::Relaxed);
                }
            }
        });
        self.reports = Some(ReportWriter {
            queue,
            wake,
            metrics,
        });
        self
    }
}

impl AuditSink for JsonAuditSink {
    fn record(&self, ev: &AuditEvent) {
        let line = json!({
            "time": chrono::Utc::now().to_rfc3339(),
            "level": "audit",
            "msg": "rampart admission audit",
            "event": ev,
        });
        if let Ok(mut w) = self.writer.lock() {
            let _ = writeln!(w, "{line}");
            let _ = w.flush();
        }
        if let Some(r) = &self.reports {
            if ev.dry_run || ev.namespace.is_empty() {
                return;
            }
            let queued = r.queue.lock().is_ok_and(|mut q| q.push(ev));
            if queued {
                r.wake.notify_one();
            } else {
                r.metrics
                    .policy_reports_dropped
                    .fetch_add(1, Ordering::Relaxed);
            }
        }
    }
}
