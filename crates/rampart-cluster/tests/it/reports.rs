//! PolicyReports: server-side apply with a field manager, and garbage collection of the
//! reports Rampart wrote about objects that are gone.

use crate::fake::{self, Pki, State};
use rampart_cluster::reports::{stamp, GcOptions, ReportWriter, Subject};
use rampart_cluster::{Cluster, ClusterOptions, Source};
use serde_json::{json, Value};
use std::sync::Arc;
use std::time::Duration;

fn report(ns: &str, name: &str, kind: &str, plural: &str) -> Value {
    let mut r = json!({"metadata": {"name": format!("rampart-{name}")}, "results": [], "summary": {"fail": 0}});
    stamp(
        &mut r,
        &Subject {
            api_version: "v1".into(),
            kind: kind.into(),
            plural: plural.into(),
            namespace: ns.into(),
            name: name.into(),
        },
    );
    r
}

/// Issue 14: PolicyReports about deleted objects were never collected. A report is
/// applied, its pod disappears, and garbage collection deletes the report, keeping the
/// report of a pod that exists, a report someone else wrote, and young reports.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_report_is_applied_then_collected_after_its_object_disappears() {
    let pki = Pki::new();
    let st = Arc::new(State::default());
    let addr = fake::serve(&pki, "127.0.0.1:0".parse().unwrap(), false, st.clone()).await;
    let dir = tempfile::tempdir().unwrap();
    let kc = fake::kubeconfig(
        dir.path(),
        &pki,
        &format!("https://127.0.0.1:{}", addr.port()),
        &[("a", json!({"token": "t"}))],
    );
    let c = Cluster::connect(&ClusterOptions::new(Source::Kubeconfig {
        path: Some(kc),
        context: None,
    }))
    .await
    .unwrap();
    st.pods
        .lock()
        .unwrap()
        .extend(["team/web".to_string(), "team/db".to_string()]);
    let w = ReportWriter::new(&c, "rampart-test");
    w.apply(&report("team", "web", "Pod", "pods"))
        .await
        .unwrap();
    w.apply(&report("team", "db", "Pod", "pods")).await.unwrap();
    // Applied in place: a second apply of the same report is one object.
    w.apply(&report("team", "web", "Pod", "pods"))
        .await
        .unwrap();
    let patches = st.requests(
        "PATCH",
        "/apis/wgpolicyk8s.io/v1alpha2/namespaces/team/policyreports/",
    );
    assert_eq!(patches.len(), 3);
    for p in &patches {
        assert!(
            p.contains("fieldManager=rampart-test") && p.contains("force=true"),
            "{p}"
        );
    }
    let cts: Vec<String> = st
        .seen
        .lock()
        .unwrap()
        .iter()
        .filter(|r| r.0 == "PATCH")
        .map(|r| r.3.clone())
        .collect();
    assert!(
        cts.iter().all(|c| c == "application/apply-patch+yaml"),
        "{cts:?}"
    );
    assert_eq!(st.reports.lock().unwrap().len(), 2);
    // Someone else's report about a missing pod: not Rampart's, never touched.
    let mut foreign = report("team", "ghost", "Pod", "pods");
    foreign["metadata"]["labels"]["app.kubernetes.io/managed-by"] = "kyverno".into();
    foreign["metadata"]["resourceVersion"] = "1".into();
    st.reports
        .lock()
        .unwrap()
        .insert("team/rampart-ghost".into(), foreign);

    // Nothing gone yet.
    let gc = GcOptions {
        min_age: Duration::ZERO,
        ..GcOptions::default()
    };
    let out = w.collect_garbage(&gc).await.unwrap();
    assert_eq!(
        (out.seen, out.kept, out.deleted.len()),
        (2, 2, 0),
        "{out:?}"
    );

    // The db pod is deleted.
    st.pods.lock().unwrap().retain(|p| p != "team/db");
    // Young reports are left alone (the fake's reports were created in 2020).
    let young = GcOptions {
        min_age: Duration::from_secs(u64::MAX / 4),
        ..GcOptions::default()
    };
    assert!(w.collect_garbage(&young).await.unwrap().deleted.is_empty());
    let out = w.collect_garbage(&gc).await.unwrap();
    assert_eq!(out.deleted, vec!["team/rampart-db".to_string()], "{out:?}");
    assert!(out.errors.is_empty(), "{out:?}");
    let left: Vec<String> = st.reports.lock().unwrap().keys().cloned().collect();
    assert_eq!(left, vec!["team/rampart-ghost", "team/rampart-web"]);
    let deletes = st.requests("DELETE", "/apis/");
    assert_eq!(deletes.len(), 1, "{deletes:?}");
    let lists = st.requests("GET", "/apis/wgpolicyk8s.io/v1alpha2/policyreports");
    assert!(
        lists
            .iter()
            .all(|l| l.contains("labelSelector=app.kubernetes.io")),
        "{lists:?}"
    );
}

/// A report whose object cannot be checked (the API errs) is kept and the error is
/// reported: nothing is deleted on an error.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn unresolvable_or_failing_checks_keep_the_report() {
    let pki = Pki::new();
    let st = Arc::new(State::default());
    let addr = fake::serve(&pki, "127.0.0.1:0".parse().unwrap(), false, st.clone()).await;
    let c = Cluster::connect(&ClusterOptions::new(Source::Server {
        url: format!("https://127.0.0.1:{}", addr.port()),
        ca_file: Some(pki.path("ca.crt")),
        token_file: None,
    }))
    .await
    .unwrap();
    let w = ReportWriter::new(&c, "rampart-test");
    // The fake does not serve deployments: GET answers 404 for the resource, which is
    // an object that does not exist; a scope without kind is unresolvable.
    let mut r = report("team", "noscope", "Pod", "pods");
    r["scope"] = json!({"name": "x"});
    w.apply(&r).await.unwrap();
    let out = w
        .collect_garbage(&GcOptions {
            min_age: Duration::ZERO,
            ..GcOptions::default()
        })
        .await
        .unwrap();
    assert_eq!(
        out.unresolved,
        vec!["team/rampart-noscope".to_string()],
        "{out:?}"
    );
    assert!(out.deleted.is_empty());
    assert_eq!(st.reports.lock().unwrap().len(), 1);
}
