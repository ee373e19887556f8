//! A watch cache: list (paginated), then watch from the list's `resourceVersion`.
//!
//! A cache that decides something (which namespaces are enforced) must never freeze
//! silently:
//!
//! - every watch asks the server to end it after [`WatchOptions::timeout_seconds`], and
//!   is then resumed from the last `resourceVersion` seen (bookmarks included), without
//!   a relist;
//! - a stream that sends nothing for [`WatchOptions::idle_timeout`] (a half-open
//!   connection) is abandoned and watched again from where it was;
//! - `410 Gone` (the `resourceVersion` is too old: as an HTTP status or an `ERROR`
//!   event) relists; other errors back off (1 s doubling up to
//!   [`WatchOptions::retry_max`]) and relist;
//! - the cache records when it last heard from the API server; past
//!   [`WatchOptions::stale_after`] without news, [`WatchCache::fresh`] is false.
//!
//! The cache keeps a projection of each object (`T`, e.g. a namespace's labels), keyed
//! by `namespace/name` (`name` for cluster-scoped objects), not the whole object.

use crate::list::{list_all, ListOptions};
use crate::{Cluster, ClusterError};
use kube::api::{ApiResource, DynamicObject, WatchEvent, WatchParams};
use kube::ResourceExt as _;
use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex, RwLock};
use std::time::{Duration, Instant};

/// Timing of a watch.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WatchOptions {
    /// Asked of the server: end each watch after this many seconds.
    pub timeout_seconds: u32,
    /// Abandon a watch stream that sends nothing for this long, and watch again.
    pub idle_timeout: Duration,
    /// [`WatchCache::fresh`] is false when nothing was heard for this long.
    pub stale_after: Duration,
    /// Longest wait between retries after errors (starting at 1 s, doubling).
    pub retry_max: Duration,
    /// Paging and bounds of the lists.
    pub list: ListOptions,
    /// Largest single watch event (one JSON line); a larger one is an error and a relist.
    pub max_event_bytes: usize,
}

impl Default for WatchOptions {
    /// 240 s watches, 270 s idle timeout, stale after 330 s, retries up to 30 s apart,
    /// events up to 16 MiB.
    fn default() -> WatchOptions {
        WatchOptions {
            timeout_seconds: 240,
            idle_timeout: Duration::from_secs(270),
            stale_after: Duration::from_secs(330),
            retry_max: Duration::from_secs(30),
            list: ListOptions::default(),
            max_event_bytes: 16 << 20,
        }
    }
}

/// Counters of a watch (for metrics and tests).
#[derive(Debug, Default)]
pub struct WatchStats {
    /// Complete lists.
    pub lists: AtomicU64,
    /// Watch requests accepted by the server.
    pub watches: AtomicU64,
    /// Relists because of `410 Gone`.
    pub expired: AtomicU64,
    /// Watches abandoned after the idle timeout.
    pub idle: AtomicU64,
    /// Lists or watches that failed.
    pub errors: AtomicU64,
}

/// The projected objects as last synced.
pub struct WatchCache<T> {
    map: RwLock<HashMap<String, T>>,
    synced: AtomicBool,
    heard: Mutex<Option<Instant>>,
    stale_after: Duration,
    /// Counters.
    pub stats: WatchStats,
    last_error: Mutex<Option<String>>,
}

impl<T: Clone> std::fmt::Debug for WatchCache<T> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("WatchCache")
            .field("len", &self.len())
            .field("synced", &self.synced())
            .field("age", &self.age())
            .finish()
    }
}

impl<T: Clone> WatchCache<T> {
    fn new(stale_after: Duration) -> WatchCache<T> {
        WatchCache {
            map: RwLock::new(HashMap::new()),
            synced: AtomicBool::new(false),
            heard: Mutex::new(None),
            stale_after,
            stats: WatchStats::default(),
            last_error: Mutex::new(None),
        }
    }

    /// The projection of the object `key` (`namespace/name`, or `name`).
    pub fn get(&self, key: &str) -> Option<T> {
        self.map.read().ok()?.get(key).cloned()
    }

    /// Every key and projection.
    pub fn snapshot(&self) -> Vec<(String, T)> {
        self.map
            .read()
            .map(|m| m.iter().map(|(k, v)| (k.clone(), v.clone())).collect())
            .unwrap_or_default()
    }

    /// Objects known.
    pub fn len(&self) -> usize {
        self.map.read().map(|m| m.len()).unwrap_or(0)
    }

    /// True when no object is known.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// True once a first list has completed.
    pub fn synced(&self) -> bool {
        self.synced.load(Ordering::Acquire)
    }

    /// Time since the API server was last heard from (`None`: never).
    pub fn age(&self) -> Option<Duration> {
        self.heard.lock().ok()?.map(|at| at.elapsed())
    }

    /// Synced, and heard from within [`WatchOptions::stale_after`].
    pub fn fresh(&self) -> bool {
        self.synced() && self.age().is_some_and(|a| a < self.stale_after)
    }

    /// The last list or watch error (cleared by the next successful list).
    pub fn last_error(&self) -> Option<String> {
        self.last_error.lock().ok()?.clone()
    }

    fn touch(&self) {
        if let Ok(mut h) = self.heard.lock() {
            *h = Some(Instant::now());
        }
    }

    fn set_error(&self, e: Option<String>) {
        if let Ok(mut l) = self.last_error.lock() {
            *l = e;
        }
    }
}

/// The cache key of an object: `namespace/name`, or `name` when cluster-scoped.
pub fn key_of(obj: &DynamicObject) -> String {
    match obj.namespace() {
        Some(ns) if !ns.is_empty() => format!("{ns}/{}", obj.name_any()),
        _ => obj.name_any(),
    }
}

/// Why a watch ended.
enum WatchEnd {
    /// Ended by the server or abandoned when idle: watch again from this version.
    Resume(String),
    /// `410 Gone`: relist.
    Expired,
}

type Projection<T> = Arc<dyn Fn(&DynamicObject) -> T + Send + Sync>;

/// Keeps a [`WatchCache`] in sync with one resource.
pub struct Watcher<T> {
    cluster: Cluster,
    resource: ApiResource,
    namespace: Option<String>,
    project: Projection<T>,
    cache: Arc<WatchCache<T>>,
    opts: WatchOptions,
}

impl<T> std::fmt::Debug for Watcher<T> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Watcher({} on {:?})", self.resource.plural, self.cluster)
    }
}

impl<T: Clone + Send + Sync + 'static> Watcher<T> {
    /// A watcher of `resource` in `namespace` (`None`: all, or cluster-scoped), keeping
    /// `project(object)` per object.
    pub fn new(
        cluster: &Cluster,
        resource: ApiResource,
        namespace: Option<&str>,
        opts: WatchOptions,
        project: impl Fn(&DynamicObject) -> T + Send + Sync + 'static,
    ) -> Watcher<T> {
        Watcher {
            cluster: cluster.clone(),
            resource,
            namespace: namespace.map(str::to_string),
            project: Arc::new(project),
            cache: Arc::new(WatchCache::new(opts.stale_after)),
            opts,
        }
    }

    /// The cache this watcher fills.
    pub fn cache(&self) -> Arc<WatchCache<T>> {
        self.cache.clone()
    }

    /// List every object (all pages) and replace the cache; returns the list's
    /// `resourceVersion`.
    pub async fn list(&self) -> Result<String, ClusterError> {
        let listed = list_all(
            &self.cluster,
            &self.resource,
            self.namespace.as_deref(),
            &self.opts.list,
        )
        .await?;
        let all: HashMap<String, T> = listed
            .items
            .iter()
            .map(|o| (key_of(o), (self.project)(o)))
            .collect();
        if let Ok(mut m) = self.cache.map.write() {
            *m = all;
        }
        self.cache.synced.store(true, Ordering::Release);
        self.cache.stats.lists.fetch_add(1, Ordering::Relaxed);
        self.cache.set_error(None);
        self.cache.touch();
        Ok(listed.resource_version)
    }

    fn apply(
        &self,
        ev: WatchEvent<DynamicObject>,
        last: &mut String,
    ) -> Result<bool, ClusterError> {
        let (obj, deleted) = match ev {
            WatchEvent::Added(o) | WatchEvent::Modified(o) => (o, false),
            WatchEvent::Deleted(o) => (o, true),
            WatchEvent::Bookmark(b) => {
                *last = b.metadata.resource_version;
                return Ok(false);
            }
            WatchEvent::Error(s) if s.code == 410 => return Ok(true),
            WatchEvent::Error(s) => {
                return Err(ClusterError::Api(format!(
                    "watch {}: HTTP {}: {}",
                    self.resource.plural, s.code, s.message
                )))
            }
        };
        if let Some(rv) = obj.resource_version() {
            *last = rv;
        }
        let key = key_of(&obj);
        if let Ok(mut m) = self.cache.map.write() {
            if deleted {
                m.remove(&key);
            } else {
                m.insert(key, (self.project)(&obj));
            }
        }
        Ok(false)
    }

    /// Watch from `rv` until the server ends the stream, it goes silent, or it expires.
    ///
    /// The request is `kube`'s ([`kube::core::Request::watch`]) sent with `kube`'s
    /// client; the body is read here, one JSON event per line, so that an event larger
    /// than [`WatchOptions::max_event_bytes`] is an error instead of unbounded memory.
    async fn watch(&self, rv: &str) -> Result<WatchEnd, ClusterError> {
        use http_body_util::BodyExt as _;
        use kube::Resource as _;
        let what = format!("watch {}", self.resource.plural);
        let wp = WatchParams::default().timeout(self.opts.timeout_seconds);
        let path = DynamicObject::url_path(&self.resource, self.namespace.as_deref());
        let mut req = kube::core::Request::new(path)
            .watch(&wp, rv)
            .map_err(|e| ClusterError::Api(format!("{what}: {e}")))?;
        req.headers_mut().insert(
            http::header::ACCEPT_ENCODING,
            http::HeaderValue::from_static("identity"),
        );
        let client = self.cluster.client();
        let sent = client.send(req.map(kube::client::Body::from));
        let resp = match tokio::time::timeout(self.opts.idle_timeout, sent).await {
            Err(_) => {
                self.cache.stats.idle.fetch_add(1, Ordering::Relaxed);
                return Ok(WatchEnd::Resume(rv.to_string()));
            }
            Ok(Err(e)) => return Err(ClusterError::api(&what, e)),
            Ok(Ok(r)) => r,
        };
        let status = resp.status().as_u16();
        if status == 410 {
            return Ok(WatchEnd::Expired);
        }
        if !(200..300).contains(&status) {
            return Err(ClusterError::Api(format!("{what}: HTTP {status}")));
        }
        self.cache.stats.watches.fetch_add(1, Ordering::Relaxed);
        self.cache.touch();
        let mut body = resp.into_body();
        let mut buf: Vec<u8> = Vec::new();
        let mut last = rv.to_string();
        loop {
            let frame = match tokio::time::timeout(self.opts.idle_timeout, body.frame()).await {
                Err(_) => {
                    self.cache.stats.idle.fetch_add(1, Ordering::Relaxed);
                    return Ok(WatchEnd::Resume(last));
                }
                Ok(None) => break,
                // A connection cut mid-stream: resume from what was seen (the API server
                // answers 410 if that is too old).
                Ok(Some(Err(_))) => return Ok(WatchEnd::Resume(last)),
                Ok(Some(Ok(f))) => f,
            };
            let Ok(data) = frame.into_data() else {
                continue;
            };
            buf.extend_from_slice(&data);
            while let Some(i) = buf.iter().position(|b| *b == b'\n') {
                let line: Vec<u8> = buf.drain(..=i).collect();
                if line.iter().all(u8::is_ascii_whitespace) {
                    continue;
                }
                let ev: WatchEvent<DynamicObject> = serde_json::from_slice(&line)
                    .map_err(|e| ClusterError::Api(format!("{what}: bad event: {e}")))?;
                if self.apply(ev, &mut last)? {
                    return Ok(WatchEnd::Expired);
                }
                self.cache.touch();
            }
            if buf.len() > self.opts.max_event_bytes {
                return Err(ClusterError::TooLarge(format!(
                    "{what}: an event larger than {} bytes",
                    self.opts.max_event_bytes
                )));
            }
        }
        // Ended by the server (its timeoutSeconds): it is alive.
        self.cache.touch();
        Ok(WatchEnd::Resume(last))
    }

    /// List and watch forever. Spawn it; abort the task to stop.
    pub async fn run(self) {
        let mut backoff = Duration::from_secs(1);
        let mut rv: Option<String> = None;
        loop {
            let current = match rv.take() {
                Some(r) => Ok(r),
                None => self.list().await,
            };
            let result = match current {
                Ok(r) => self.watch(&r).await,
                Err(e) => Err(e),
            };
            match result {
                Ok(WatchEnd::Resume(next)) => {
                    rv = Some(next);
                    backoff = Duration::from_secs(1);
                }
                Ok(WatchEnd::Expired) => {
                    self.cache.stats.expired.fetch_add(1, Ordering::Relaxed);
                    backoff = Duration::from_secs(1);
                }
                Err(e) => {
                    self.cache.stats.errors.fetch_add(1, Ordering::Relaxed);
                    self.cache.set_error(Some(e.to_string()));
                    tokio::time::sleep(backoff).await;
                    backoff = (backoff * 2).min(self.opts.retry_max.max(Duration::from_secs(1)));
                }
            }
        }
    }
}
