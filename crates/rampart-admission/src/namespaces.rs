//! Where namespace labels come from: a watch cache of the API server's Namespaces
//! ([`namespace_watcher`], over `rampart-cluster`'s [`Watcher`]) or a fixed map (tests,
//! `--namespace-labels`).
//!
//! The watch cache decides which namespaces are enforced, so it is ready only while it
//! is fresh: synced by a first list and heard from within
//! [`WatchOptions::stale_after`] (see [`rampart_cluster::watch`]). Until then `/readyz`
//! fails and the Service routes around this replica.

use rampart_cluster::watch::{WatchCache, WatchOptions, Watcher};
use rampart_cluster::{ApiResource, Cluster, DynamicObject};
use std::collections::{BTreeMap, HashMap};
use std::sync::{Arc, RwLock};

/// Labels of a namespace.
pub type Labels = BTreeMap<String, String>;

/// A source of namespace labels.
pub trait NamespaceSource: Send + Sync {
    /// The labels of `name`, or `None` when the namespace is not known (yet).
    fn labels(&self, name: &str) -> Option<Labels>;
    /// True once the source has its initial state (`/readyz`).
    fn ready(&self) -> bool;
}

/// A fixed, in-memory map (also the store behind the kube watch cache).
#[derive(Debug, Default)]
pub struct StaticNamespaces {
    map: RwLock<HashMap<String, Labels>>,
    ready: std::sync::atomic::AtomicBool,
}

impl StaticNamespaces {
    /// An empty, ready source (every namespace gets the cluster defaults).
    pub fn new() -> StaticNamespaces {
        let s = StaticNamespaces::default();
        s.set_ready(true);
        s
    }

    /// Set the labels of one namespace.
    pub fn insert(&self, name: &str, labels: Labels) {
        if let Ok(mut m) = self.map.write() {
            m.insert(name.to_string(), labels);
        }
    }

    /// Forget a namespace.
    pub fn remove(&self, name: &str) {
        if let Ok(mut m) = self.map.write() {
            m.remove(name);
        }
    }

    /// Replace everything (a fresh list).
    pub fn replace_all(&self, all: HashMap<String, Labels>) {
        if let Ok(mut m) = self.map.write() {
            *m = all;
        }
    }

    /// Mark ready (or not).
    pub fn set_ready(&self, ready: bool) {
        self.ready
            .store(ready, std::sync::atomic::Ordering::Release);
    }

    /// Number of namespaces known.
    pub fn len(&self) -> usize {
        self.map.read().map(|m| m.len()).unwrap_or(0)
    }

    /// True when no namespace is known.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

impl NamespaceSource for StaticNamespaces {
    fn labels(&self, name: &str) -> Option<Labels> {
        self.map.read().ok().and_then(|m| m.get(name).cloned())
    }

    fn ready(&self) -> bool {
        self.ready.load(std::sync::atomic::Ordering::Acquire)
    }
}

/// The Namespace labels as last synced by a [`Watcher`], ready only while fresh.
#[derive(Debug, Clone)]
pub struct NamespaceCache(pub Arc<WatchCache<Labels>>);

impl NamespaceSource for NamespaceCache {
    fn labels(&self, name: &str) -> Option<Labels> {
        self.0.get(name)
    }

    fn ready(&self) -> bool {
        self.0.fresh()
    }
}

fn labels_of(ns: &DynamicObject) -> Labels {
    ns.metadata.labels.clone().unwrap_or_default()
}

/// A watcher of the cluster's Namespaces keeping their labels, and the cache it fills
/// (give the cache to [`crate::engine::Engine::with_namespaces`], spawn
/// [`Watcher::run`]).
pub fn namespace_watcher(
    cluster: &Cluster,
    opts: WatchOptions,
) -> (Watcher<Labels>, Arc<NamespaceCache>) {
    let resource = ApiResource {
        group: String::new(),
        version: "v1".into(),
        api_version: "v1".into(),
        kind: "Namespace".into(),
        plural: "namespaces".into(),
    };
    let w = Watcher::new(cluster, resource, None, opts, labels_of);
    let cache = Arc::new(NamespaceCache(w.cache()));
    (w, cache)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn static_source() {
        let s = StaticNamespaces::new();
        assert!(s.ready() && s.is_empty());
        s.insert("a", [("k".to_string(), "v".to_string())].into());
        assert_eq!(s.labels("a").unwrap()["k"], "v");
        s.remove("a");
        assert!(s.labels("a").is_none());
    }
}
