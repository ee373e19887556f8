//! The API server side: a Namespace watch cache (list, then watch from the list's
//! `resourceVersion`, relisting on `410 Gone` or a dropped stream) and PolicyReport
//! creation for audit-mode decisions.
//!
//! This is a deliberately small client over the same hyper/rustls stack as the server
//! (the `kube` crate and `k8s-openapi` would roughly double the crate's build time for
//! two endpoints). It speaks the API server's documented list/watch protocol: one JSON
//! `WatchEvent` per line, `ADDED`/`MODIFIED`/`DELETED`/`BOOKMARK`/`ERROR`.

use crate::engine::{AuditEvent, AuditSink};
use crate::namespaces::{Labels, StaticNamespaces};
use axum::body::Bytes;
use http_body_util::{BodyExt, Full};
use hyper::Request;
use hyper_util::rt::TokioIo;
use serde_json::{json, Value};
use std::collections::HashMap;
use std::io::Write as _;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::mpsc;
use tokio_rustls::rustls;

/// In-cluster service-account files.
const SA_DIR: &str = "/var/run/secrets/kubernetes.io/serviceaccount";

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

/// How to reach the API server.
#[derive(Clone)]
pub struct KubeClient {
    https: bool,
    host: String,
    port: u16,
    token: Option<String>,
    tls: Option<Arc<rustls::ClientConfig>>,
}

impl std::fmt::Debug for KubeClient {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "KubeClient({}://{}:{})",
            if self.https { "https" } else { "http" },
            self.host,
            self.port
        )
    }
}

fn tls_with_ca(ca: &Path) -> Result<Arc<rustls::ClientConfig>, KubeError> {
    rampart_net::tls::client_config(Some(ca)).map_err(|e| KubeError::Config(e.to_string()))
}

impl KubeClient {
    /// From the pod's service account (`KUBERNETES_SERVICE_HOST`/`_PORT`, token, CA).
    pub fn in_cluster() -> Result<KubeClient, KubeError> {
        let host = std::env::var("KUBERNETES_SERVICE_HOST").map_err(|_| {
            KubeError::Config(
                "KUBERNETES_SERVICE_HOST is not set (not in a cluster; use --kube-server)".into(),
            )
        })?;
        let port = std::env::var("KUBERNETES_SERVICE_PORT")
            .ok()
            .and_then(|p| p.parse().ok())
            .unwrap_or(443);
        let dir = PathBuf::from(SA_DIR);
        let token = std::fs::read_to_string(dir.join("token"))
            .map_err(|e| KubeError::Config(format!("{SA_DIR}/token: {e}")))?;
        Ok(KubeClient {
            https: true,
            host: host.trim_matches(['[', ']']).to_string(),
            port,
            token: Some(token.trim().to_string()),
            tls: Some(tls_with_ca(&dir.join("ca.crt"))?),
        })
    }

    /// An explicit server (`https://host:port` or `http://127.0.0.1:port` for tests),
    /// with an optional bearer token and CA file.
    pub fn new(
        server: &str,
        token: Option<String>,
        ca: Option<&Path>,
    ) -> Result<KubeClient, KubeError> {
        let (https, rest) = if let Some(r) = server.strip_prefix("https://") {
            (true, r)
        } else if let Some(r) = server.strip_prefix("http://") {
            (false, r)
        } else {
            return Err(KubeError::Config(format!(
                "{server}: expected http(s)://host:port"
            )));
        };
        let rest = rest.trim_end_matches('/');
        let (host, port) = match rest.rsplit_once(':') {
            Some((h, p)) => (
                h,
                p.parse()
                    .map_err(|_| KubeError::Config(format!("{server}: bad port")))?,
            ),
            None => (rest, if https { 443 } else { 80 }),
        };
        let tls = match (https, ca) {
            (false, _) => None,
            (true, Some(ca)) => Some(tls_with_ca(ca)?),
            (true, None) => {
                return Err(KubeError::Config(format!(
                    "{server}: a CA file is needed for https"
                )))
            }
        };
        Ok(KubeClient {
            https,
            host: host.to_string(),
            port,
            token,
            tls,
        })
    }

    async fn send(
        &self,
        method: &str,
        path: &str,
        body: Option<Value>,
    ) -> Result<hyper::Response<hyper::body::Incoming>, KubeError> {
        let api = |e: &dyn std::fmt::Display| KubeError::Api(format!("{method} {path}: {e}"));
        let tcp = tokio::net::TcpStream::connect((self.host.as_str(), self.port))
            .await
            .map_err(|e| api(&e))?;
        let mut b = Request::builder()
            .method(method)
            .uri(path)
            .header(hyper::header::HOST, format!("{}:{}", self.host, self.port))
            .header(hyper::header::ACCEPT, "application/json")
            .header(hyper::header::USER_AGENT, "rampart-admission");
        if let Some(t) = &self.token {
            b = b.header(hyper::header::AUTHORIZATION, format!("Bearer {t}"));
        }
        let bytes = match &body {
            Some(v) => {
                b = b.header(hyper::header::CONTENT_TYPE, "application/json");
                Bytes::from(v.to_string())
            }
            None => Bytes::new(),
        };
        let req = b.body(Full::new(bytes)).map_err(|e| api(&e))?;
        macro_rules! go {
            ($io:expr) => {{
                let (mut sender, conn) = hyper::client::conn::http1::handshake($io)
                    .await
                    .map_err(|e| api(&e))?;
                tokio::spawn(async move {
                    let _ = conn.await;
                });
                sender.send_request(req).await.map_err(|e| api(&e))
            }};
        }
        match &self.tls {
            None => go!(TokioIo::new(tcp)),
            Some(cfg) => {
                let name = rustls::pki_types::ServerName::try_from(self.host.clone())
                    .map_err(|e| api(&e))?;
                let tls = tokio_rustls::TlsConnector::from(cfg.clone())
                    .connect(name, tcp)
                    .await
                    .map_err(|e| api(&e))?;
                go!(TokioIo::new(tls))
            }
        }
    }

    async fn json(
        &self,
        method: &str,
        path: &str,
        body: Option<Value>,
    ) -> Result<(u16, Value), KubeError> {
        let resp = tokio::time::timeout(Duration::from_secs(30), self.send(method, path, body))
            .await
            .map_err(|_| KubeError::Api(format!("{method} {path}: timed out")))??;
        let status = resp.status().as_u16();
        let body = http_body_util::Limited::new(resp.into_body(), 64 << 20)
            .collect()
            .await
            .map_err(|e| KubeError::Api(format!("{method} {path}: {e}")))?
            .to_bytes();
        let v = serde_json::from_slice(&body).unwrap_or(Value::Null);
        Ok((status, v))
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

/// Keeps a [`StaticNamespaces`] store in sync with the API server's Namespaces.
#[derive(Debug)]
pub struct KubeNamespaces {
    client: KubeClient,
    store: Arc<StaticNamespaces>,
}

impl KubeNamespaces {
    /// A watcher feeding `store` (which stays not-ready until the first list).
    pub fn new(client: KubeClient, store: Arc<StaticNamespaces>) -> KubeNamespaces {
        store.set_ready(false);
        KubeNamespaces { client, store }
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
        Ok(v.get("metadata")
            .and_then(|m| m.get("resourceVersion"))
            .and_then(Value::as_str)
            .unwrap_or("")
            .to_string())
    }

    /// Watch from `rv` until the stream ends; returns the last resourceVersion seen, or
    /// `None` when the server said it is too old (410: relist).
    pub async fn watch(&self, rv: &str) -> Result<Option<String>, KubeError> {
        let path = format!(
            "/api/v1/namespaces?watch=1&allowWatchBookmarks=true&timeoutSeconds=300&resourceVersion={rv}"
        );
        let resp = self.client.send("GET", &path, None).await?;
        if resp.status().as_u16() == 410 {
            return Ok(None);
        }
        if !resp.status().is_success() {
            return Err(KubeError::Api(format!(
                "watch namespaces: HTTP {}",
                resp.status()
            )));
        }
        let mut body = resp.into_body();
        let mut buf: Vec<u8> = Vec::new();
        let mut last = rv.to_string();
        while let Some(frame) = body.frame().await {
            let frame = frame.map_err(|e| KubeError::Api(format!("watch: {e}")))?;
            let Ok(data) = frame.into_data() else {
                continue;
            };
            buf.extend_from_slice(&data);
            if buf.len() > (16 << 20) {
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
                        return Ok(None);
                    }
                    return Err(KubeError::Api(format!("watch error: {obj}")));
                }
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
        Ok(Some(last))
    }

    /// List and watch forever (backing off 1–30 s after errors). Spawn it.
    pub async fn run(self) {
        let mut backoff = Duration::from_secs(1);
        let mut rv: Option<String> = None;
        loop {
            let current = match rv.take() {
                Some(r) => Ok(r),
                None => self.list().await,
            };
            match current {
                Ok(r) => match self.watch(&r).await {
                    Ok(next) => {
                        rv = next;
                        backoff = Duration::from_secs(1);
                        continue;
                    }
                    Err(_) => rv = None,
                },
                Err(_) => rv = None,
            }
            tokio::time::sleep(backoff).await;
            backoff = (backoff * 2).min(Duration::from_secs(30));
        }
    }
}

/// A PolicyReport (`wgpolicyk8s.io/v1alpha2`) for one audited decision.
pub fn policy_report(ev: &AuditEvent) -> Value {
    use sha2::Digest as _;
    let id = hex::encode(
        &sha2::Sha256::digest(format!(
            "{}/{}/{}/{}",
            ev.namespace, ev.kind, ev.name, ev.uid
        ))[..6],
    );
    let results: Vec<Value> = ev
        .violations
        .iter()
        .map(|v| {
            json!({
                "source": "rampart",
                "policy": ev.policy,
                "rule": v.rule_id,
                "result": "fail",
                "scored": true,
                "severity": "medium",
                "message": if v.field.is_empty() { v.message.clone() } else { format!("{}: {}", v.field, v.message) },
                "timestamp": {"seconds": chrono::Utc::now().timestamp(), "nanos": 0},
                "resources": [{"kind": ev.kind, "name": ev.name, "namespace": ev.namespace}],
            })
        })
        .collect();
    json!({
        "apiVersion": "wgpolicyk8s.io/v1alpha2",
        "kind": "PolicyReport",
        "metadata": {
            "name": format!("rampart-audit-{id}"),
            "namespace": ev.namespace,
            "labels": {"app.kubernetes.io/managed-by": "rampart"},
        },
        "scope": {"kind": ev.kind, "name": ev.name, "namespace": ev.namespace},
        "summary": {"pass": 0, "fail": results.len(), "warn": 0, "error": 0, "skip": 0},
        "results": results,
    })
}

/// Writes audit events: one JSON line per event to a writer (stderr in the CLI) and,
/// when a client is given, a PolicyReport through the API server (never for dry runs,
/// nor for cluster-scoped objects). Reports are created by a background task fed through
/// a bounded queue, so the request path never waits on the API server.
pub struct JsonAuditSink {
    writer: std::sync::Mutex<Box<dyn std::io::Write + Send>>,
    reports: Option<mpsc::Sender<Value>>,
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

    /// Also create PolicyReports with `client` (call inside a Tokio runtime).
    pub fn with_policy_reports(mut self, client: KubeClient) -> JsonAuditSink {
        let (tx, mut rx) = mpsc::channel::<Value>(1024);
        tokio::spawn(async move {
            while let Some(report) = rx.recv().await {
                let ns = report["metadata"]["namespace"]
                    .as_str()
                    .unwrap_or("")
                    .to_string();
                let path = format!("/apis/wgpolicyk8s.io/v1alpha2/namespaces/{ns}/policyreports");
                let _ = client.json("POST", &path, Some(report)).await;
            }
        });
        self.reports = Some(tx);
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
        if let Some(tx) = &self.reports {
            if !ev.dry_run && !ev.namespace.is_empty() {
                let _ = tx.try_send(policy_report(ev));
            }
        }
    }
}
