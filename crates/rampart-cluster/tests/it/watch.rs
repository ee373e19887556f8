//! The watch cache: resume after the server ends a watch, relist on 410 Gone (status or
//! ERROR event), abandon a silent watch, report staleness.

use crate::fake::{self, eventually, ns_obj, Pki, State, WatchStep};
use rampart_cluster::list::ListOptions;
use rampart_cluster::watch::{WatchOptions, Watcher};
use rampart_cluster::{ApiResource, Cluster, ClusterOptions, Source};
use serde_json::{json, Value};
use std::collections::BTreeMap;
use std::sync::atomic::Ordering;
use std::sync::Arc;
use std::time::Duration;

type Labels = BTreeMap<String, String>;

fn namespaces() -> ApiResource {
    ApiResource {
        group: String::new(),
        version: "v1".into(),
        api_version: "v1".into(),
        kind: "Namespace".into(),
        plural: "namespaces".into(),
    }
}

async fn setup(opts: WatchOptions) -> (Arc<State>, Watcher<Labels>, tempfile::TempDir, Pki) {
    let pki = Pki::new();
    let st = Arc::new(State::default());
    st.namespaces
        .lock()
        .unwrap()
        .insert("team".into(), json!({"level": "baseline"}));
    *st.list_rv.lock().unwrap() = "10".into();
    let addr = fake::serve(&pki, "127.0.0.1:0".parse().unwrap(), false, st.clone()).await;
    let dir = tempfile::tempdir().unwrap();
    let kc = fake::kubeconfig(
        dir.path(),
        &pki,
        &format!("https://localhost:{}", addr.port()),
        &[("a", json!({"token": "t"}))],
    );
    let c = Cluster::connect(&ClusterOptions::new(Source::Kubeconfig {
        path: Some(kc),
        context: None,
    }))
    .await
    .unwrap();
    let w = Watcher::new(&c, namespaces(), None, opts, |o| {
        o.metadata.labels.clone().unwrap_or_default()
    });
    (st, w, dir, pki)
}

fn ev(kind: &str, name: &str, rv: &str, labels: Value) -> Value {
    json!({"type": kind, "object": ns_obj(name, rv, labels)})
}

fn level(w: &Labels) -> Option<&str> {
    w.get("level").map(String::as_str)
}

/// The server ends a watch (its timeoutSeconds): the client watches again from the
/// last resourceVersion it saw (a bookmark's included), without relisting.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_watch_ended_by_the_server_resumes_from_the_last_version() {
    let (st, w, _d, _p) = setup(WatchOptions {
        timeout_seconds: 7,
        ..WatchOptions::default()
    })
    .await;
    st.watch_plan.lock().unwrap().extend([
        WatchStep::Events(vec![
            ev("MODIFIED", "team", "11", json!({"level": "restricted"})),
            ev("ADDED", "new", "12", json!({})),
            json!({"type": "BOOKMARK", "object": {"kind": "Namespace", "apiVersion": "v1", "metadata": {"resourceVersion": "13"}}}),
        ]),
        WatchStep::Events(vec![ev("DELETED", "new", "14", json!({}))]),
    ]);
    let cache = w.cache();
    let task = tokio::spawn(w.run());
    assert!(
        eventually(10, || cache.get("team").as_ref().and_then(level)
            == Some("restricted")
            && cache.get("new").is_none()
            && cache.stats.watches.load(Ordering::Relaxed) >= 3)
        .await,
        "{cache:?}"
    );
    task.abort();
    let watches = st.requests("GET", "/api/v1/namespaces?");
    let watches: Vec<&String> = watches.iter().filter(|p| p.contains("watch=")).collect();
    assert!(watches[0].contains("resourceVersion=10"), "{watches:?}");
    assert!(watches[0].contains("timeoutSeconds=7"), "{watches:?}");
    assert!(watches[1].contains("resourceVersion=13"), "{watches:?}");
    assert!(watches[2].contains("resourceVersion=14"), "{watches:?}");
    assert_eq!(
        cache.stats.lists.load(Ordering::Relaxed),
        1,
        "resumed, not relisted"
    );
    assert!(cache.fresh());
}

/// `410 Gone`, as the watch's HTTP status or as an ERROR event, relists (the cache is
/// replaced by what the server has now) and watches from the new list's version, not
/// from the expired one.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn gone_relists() {
    let (st, w, _d, _p) = setup(WatchOptions::default()).await;
    *st.list_rv.lock().unwrap() = "20".into();
    st.watch_plan.lock().unwrap().extend([
        WatchStep::Events(vec![ev(
            "MODIFIED",
            "team",
            "21",
            json!({"level": "restricted"}),
        )]),
        WatchStep::Gone,
        WatchStep::ErrorGone,
    ]);
    let cache = w.cache();
    let task = tokio::spawn(w.run());
    assert!(
        eventually(10, || cache.stats.expired.load(Ordering::Relaxed) >= 2
            && cache.stats.watches.load(Ordering::Relaxed) >= 3)
        .await,
        "{:?}",
        cache.stats
    );
    task.abort();
    assert_eq!(cache.stats.lists.load(Ordering::Relaxed), 3);
    assert_eq!(cache.stats.errors.load(Ordering::Relaxed), 0);
    // The relist replaced the watched state with the server's.
    assert_eq!(cache.get("team").as_ref().and_then(level), Some("baseline"));
    let watches: Vec<String> = st
        .requests("GET", "/api/v1/namespaces?")
        .into_iter()
        .filter(|p| p.contains("watch="))
        .collect();
    let rvs: Vec<&str> = watches
        .iter()
        .map(|w| {
            w.split('&')
                .find(|kv| kv.starts_with("resourceVersion="))
                .unwrap_or("")
        })
        .collect();
    assert_eq!(
        &rvs[..4],
        [
            "resourceVersion=20",
            "resourceVersion=21",
            "resourceVersion=20",
            "resourceVersion=20"
        ],
        "{watches:?}"
    );
}

/// A watch that goes silent (a half-open connection) is abandoned after the idle
/// timeout and watched again; meanwhile the cache turns stale, and fresh again once
/// the server answers.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_silent_watch_is_abandoned_and_the_cache_goes_stale() {
    let (st, w, _d, _p) = setup(WatchOptions {
        idle_timeout: Duration::from_millis(800),
        stale_after: Duration::from_millis(400),
        list: ListOptions::default(),
        ..WatchOptions::default()
    })
    .await;
    st.watch_plan.lock().unwrap().extend([
        WatchStep::Silent,
        WatchStep::Events(vec![json!({"type": "BOOKMARK", "object": {"kind": "Namespace", "apiVersion": "v1", "metadata": {"resourceVersion": "30"}}})]),
    ]);
    let cache = w.cache();
    let task = tokio::spawn(w.run());
    assert!(
        eventually(5, || cache.fresh()).await,
        "never fresh after the list"
    );
    assert!(
        eventually(5, || !cache.fresh()).await,
        "stayed fresh on a silent watch"
    );
    assert!(
        eventually(5, || cache.stats.idle.load(Ordering::Relaxed) >= 1).await,
        "the silent watch was never abandoned"
    );
    assert!(eventually(5, || cache.stats.watches.load(Ordering::Relaxed) >= 3).await);
    task.abort();
    assert_eq!(cache.stats.lists.load(Ordering::Relaxed), 1);
    let watches: Vec<String> = st
        .requests("GET", "/api/v1/namespaces?")
        .into_iter()
        .filter(|p| p.contains("watch="))
        .collect();
    assert!(watches[1].contains("resourceVersion=10"), "{watches:?}");
    assert!(watches[2].contains("resourceVersion=30"), "{watches:?}");
}

/// A watch event larger than the bound (here a never-ending line) is an error and a
/// relist, not unbounded memory (`kube`'s own watch reader has no line limit: it kept
/// buffering and waited for the idle timeout).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_oversized_watch_event_is_an_error() {
    let (st, w, _d, _p) = setup(WatchOptions {
        max_event_bytes: 64 << 10,
        ..WatchOptions::default()
    })
    .await;
    st.watch_plan
        .lock()
        .unwrap()
        .push_back(WatchStep::Huge(4 << 20));
    let cache = w.cache();
    let task = tokio::spawn(w.run());
    let errored = eventually(5, || cache.stats.errors.load(Ordering::Relaxed) >= 1).await;
    task.abort();
    assert!(errored, "{:?}", cache.stats);
    let e = cache.last_error().unwrap_or_default();
    assert!(e.contains("larger than 65536 bytes"), "{e}");
}
