//! The real server over TLS: endpoints, AdmissionReview answers, bad input, panics,
//! deadlines, certificate reload, graceful shutdown.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use crate::common;

use base64::Engine as _;
use common::*;
use rampart_admission::engine::Engine;
use rampart_admission::images::{ImageRef, SignatureVerifier, Verdict};
use rampart_admission::mutate;
use rampart_admission::namespaces::StaticNamespaces;
use rampart_admission::settings::{Mutations, Settings};
use serde_json::{json, Value};
use std::sync::Arc;
use std::time::Duration;
use tokio_rustls::rustls;

fn pod(name: &str, spec: Value) -> Value {
    json!({"apiVersion": "v1", "kind": "Pod", "metadata": {"name": name}, "spec": spec})
}

fn privileged_pod() -> Value {
    pod(
        "p",
        json!({"containers": [{"name": "a", "image": "nginx:1", "securityContext": {"privileged": true}}]}),
    )
}

fn plain_pod() -> Value {
    pod(
        "ok",
        json!({"containers": [{"name": "a", "image": "nginx:1"}]}),
    )
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn validate_denies_with_rule_ids_and_fields_and_warns() {
    let s = start(Engine::new(Settings::default())).await;
    let (code, text) = post(
        &s,
        "/validate",
        &create("uid-1", "default", privileged_pod()),
    )
    .await;
    assert_eq!(code, 200);
    let r = response(&text);
    assert_eq!(r["uid"], "uid-1");
    assert_eq!(r["allowed"], false);
    assert_eq!(r["status"]["code"], 403);
    let msg = r["status"]["message"].as_str().unwrap();
    assert!(
        msg.contains("k8s/pss-privileged at spec.containers[0].securityContext.privileged"),
        "{msg}"
    );
    assert!(msg.contains("baseline:latest"), "{msg}");

    // Baseline passes; restricted (warn by default) is listed as warnings.
    let (_, text) = post(&s, "/validate", &create("uid-2", "default", plain_pod())).await;
    let r = response(&text);
    assert_eq!(r["allowed"], true);
    assert!(r.get("status").is_none());
    let warnings: Vec<&str> = r["warnings"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(Value::as_str)
        .collect();
    assert!(
        warnings
            .iter()
            .any(|w| w.contains("k8s/pss-run-as-non-root")),
        "{warnings:?}"
    );
    assert!(
        warnings
            .iter()
            .any(|w| w.contains("k8s/pss-allow-privilege-escalation at spec.containers[0]")),
        "{warnings:?}"
    );

    // Every workload kind goes through the same extraction.
    let dep = json!({"apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": "d"},
        "spec": {"template": {"spec": {"hostNetwork": true, "containers": [{"name": "a", "image": "x:1"}]}}}});
    let (_, text) = post(&s, "/validate", &create("uid-3", "default", dep)).await;
    let r = response(&text);
    assert_eq!(r["allowed"], false);
    assert!(r["status"]["message"]
        .as_str()
        .unwrap()
        .contains("spec.template.spec.hostNetwork"));
    let cron = json!({"apiVersion": "batch/v1", "kind": "CronJob", "metadata": {"name": "c"},
        "spec": {"jobTemplate": {"spec": {"template": {"spec": {"containers": [{"name": "a", "image": "x:1", "securityContext": {"privileged": true}}]}}}}}});
    let (_, text) = post(&s, "/validate", &create("uid-4", "default", cron)).await;
    assert_eq!(response(&text)["allowed"], false);

    // Unknown kinds and DELETE are allowed.
    let cm =
        json!({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "c"}, "data": {}});
    let (_, text) = post(&s, "/validate", &create("uid-5", "default", cm)).await;
    assert_eq!(response(&text)["allowed"], true);
    let mut del = create("uid-6", "default", privileged_pod());
    del["request"]["operation"] = json!("DELETE");
    let (_, text) = post(&s, "/validate", &del).await;
    assert_eq!(response(&text)["allowed"], true);

    let (code, metrics) = {
        let mut c = connect(&s).await;
        send(&mut c, "GET", "/metrics", Vec::new()).await
    };
    assert_eq!(code, 200);
    assert!(
        metrics.contains("rampart_admission_requests_total{endpoint=\"validate\",code=\"200\"} 6"),
        "{metrics}"
    );
    assert!(
        metrics.contains(
            "rampart_admission_violations_total{mode=\"enforce\",rule=\"k8s/pss-privileged\"} 2"
        ),
        "{metrics}"
    );
    assert!(metrics
        .contains("rampart_admission_request_duration_seconds_count{endpoint=\"validate\"} 6"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn namespace_labels_select_modes_and_exemptions_apply() {
    let ns = Arc::new(StaticNamespaces::new());
    ns.insert(
        "locked",
        [("rampart.dev/enforce".to_string(), "restricted".to_string())].into(),
    );
    ns.insert(
        "open",
        [
            ("rampart.dev/enforce".to_string(), "privileged".to_string()),
            ("rampart.dev/warn".to_string(), "privileged".to_string()),
            ("rampart.dev/audit".to_string(), "baseline".to_string()),
        ]
        .into(),
    );
    let mut settings = Settings::default();
    settings
        .exemptions
        .usernames
        .push("system:serviceaccount:kube-system:replicaset-controller".into());
    settings.exemptions.runtime_classes.push("kata".into());
    let s = start(Engine::new(settings).with_namespaces(ns)).await;

    let (_, text) = post(&s, "/validate", &create("a", "locked", plain_pod())).await;
    let r = response(&text);
    assert_eq!(r["allowed"], false);
    assert!(r["status"]["message"]
        .as_str()
        .unwrap()
        .contains("restricted:latest"));

    // privileged enforce + baseline audit: allowed, audited, annotated.
    let (_, text) = post(&s, "/validate", &create("b", "open", privileged_pod())).await;
    let r = response(&text);
    assert_eq!(r["allowed"], true);
    assert!(r["auditAnnotations"]["rampart.dev/audit-violations"]
        .as_str()
        .unwrap()
        .contains("k8s/pss-privileged"));
    {
        let events = s.audit.0.lock().unwrap();
        assert_eq!(events.len(), 1);
        assert_eq!(events[0].namespace, "open");
        assert_eq!(events[0].violations[0].rule_id, "k8s/pss-privileged");
    }

    // Exempt user and runtime class.
    let mut req = create("c", "locked", privileged_pod());
    req["request"]["userInfo"]["username"] =
        json!("system:serviceaccount:kube-system:replicaset-controller");
    let (_, text) = post(&s, "/validate", &req).await;
    let r = response(&text);
    assert_eq!(r["allowed"], true);
    assert!(r["auditAnnotations"]["rampart.dev/exempt"]
        .as_str()
        .unwrap()
        .starts_with("user"));
    let mut p = privileged_pod();
    p["spec"]["runtimeClassName"] = json!("kata");
    let (_, text) = post(&s, "/validate", &create("d", "locked", p)).await;
    assert_eq!(response(&text)["allowed"], true);

    // An invalid label on a Namespace is refused.
    let nsobj = json!({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "x", "labels": {"rampart.dev/enforce": "strict"}}});
    let (_, text) = post(&s, "/validate", &create("e", "", nsobj)).await;
    let r = response(&text);
    assert_eq!(r["allowed"], false);
    assert!(r["status"]["message"]
        .as_str()
        .unwrap()
        .contains("rampart.dev/enforce"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn updates_that_do_not_worsen_are_allowed_with_a_warning() {
    let s = start(Engine::new(Settings::default())).await;
    let old = privileged_pod();
    let mut same = old.clone();
    same["metadata"]["labels"] = json!({"x": "y"});
    let mut worse = old.clone();
    worse["spec"]["hostPID"] = json!(true);
    let update = |uid: &str, obj: &Value| {
        let mut r = create(uid, "default", obj.clone());
        r["request"]["operation"] = json!("UPDATE");
        r["request"]["oldObject"] = old.clone();
        r
    };
    let (_, text) = post(&s, "/validate", &update("u1", &same)).await;
    let r = response(&text);
    assert_eq!(r["allowed"], true, "{r}");
    assert!(r["warnings"].to_string().contains("does not worsen"));
    let (_, text) = post(&s, "/validate", &update("u2", &worse)).await;
    let r = response(&text);
    assert_eq!(r["allowed"], false);
    assert!(r["status"]["message"]
        .as_str()
        .unwrap()
        .contains("k8s/pss-host-namespaces"));

    // pods/ephemeralcontainers: a privileged debug container is refused.
    let mut eph = plain_pod();
    eph["spec"]["ephemeralContainers"] =
        json!([{"name": "dbg", "image": "busybox:1", "securityContext": {"privileged": true}}]);
    let mut r = create("u3", "default", eph);
    r["request"]["operation"] = json!("UPDATE");
    r["request"]["subResource"] = json!("ephemeralcontainers");
    r["request"]["oldObject"] = plain_pod();
    let (_, text) = post(&s, "/validate", &r).await;
    let resp = response(&text);
    assert_eq!(resp["allowed"], false);
    assert!(resp["status"]["message"]
        .as_str()
        .unwrap()
        .contains("spec.ephemeralContainers[0]"));
    // Other subresources are not evaluated.
    r["request"]["subResource"] = json!("status");
    let (_, text) = post(&s, "/validate", &r).await;
    assert_eq!(response(&text)["allowed"], true);

    // dryRun is evaluated the same way (the answer has no side effects either way).
    let mut dry = create("u4", "default", privileged_pod());
    dry["request"]["dryRun"] = json!(true);
    let (_, text) = post(&s, "/validate", &dry).await;
    assert_eq!(response(&text)["allowed"], false);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn mutate_returns_a_base64_json_patch_that_applies() {
    let settings = Settings {
        mutations: Mutations {
            seccomp_runtime_default: true,
            disallow_privilege_escalation: true,
            drop_all_capabilities: true,
            run_as_non_root: true,
        },
        ..Settings::default()
    };
    let s = start(Engine::new(settings)).await;
    let mut obj = plain_pod();
    obj["spec"]["containers"][0]["securityContext"] = json!({"runAsUser": 1000});
    let (code, text) = post(&s, "/mutate", &create("m1", "default", obj.clone())).await;
    assert_eq!(code, 200);
    let r = response(&text);
    assert_eq!(r["uid"], "m1");
    assert_eq!(r["allowed"], true);
    assert_eq!(r["patchType"], "JSONPatch");
    let patch: Vec<Value> = serde_json::from_slice(
        &base64::engine::general_purpose::STANDARD
            .decode(r["patch"].as_str().unwrap())
            .unwrap(),
    )
    .unwrap();
    mutate::apply(&mut obj, &patch).unwrap();
    // The mutated pod meets restricted: /validate in a restricted namespace admits it.
    let ns = Arc::new(StaticNamespaces::new());
    ns.insert(
        "r",
        [("rampart.dev/enforce".to_string(), "restricted".to_string())].into(),
    );
    let s2 = start(Engine::new(Settings::default()).with_namespaces(ns)).await;
    let (_, text) = post(&s2, "/validate", &create("m2", "r", obj)).await;
    let r = response(&text);
    assert_eq!(r["allowed"], true, "{r}");
    assert!(r.get("warnings").is_none(), "{r}");

    // Unknown image user: no runAsNonRoot, and a warning says why.
    let (_, text) = post(&s, "/mutate", &create("m3", "default", plain_pod())).await;
    let r = response(&text);
    assert!(
        r["warnings"].to_string().contains("runAsNonRoot not set"),
        "{r}"
    );
}

struct Faulty;

impl SignatureVerifier for Faulty {
    fn verify(&self, image: &ImageRef) -> Verdict {
        match image.path() {
            "library/panic" => panic!("verifier bug"),
            "library/slow" => {
                std::thread::sleep(Duration::from_millis(400));
                Verdict::Verified
            }
            _ => Verdict::NotApplicable,
        }
    }
}

fn image_pod(image: &str) -> Value {
    pod("i", json!({"containers": [{"name": "a", "image": image}]}))
}

/// References the container runtime refuses are not judged by the pieces a lenient
/// split finds: a path that walks out of the allowed repository, or a digest that is not
/// one, is `admission/image-invalid` (they were allowed as `ghcr.io/acme/…`, pinned).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn image_policy_judges_references_by_the_reference_grammar() {
    let mut settings = Settings::default();
    settings.images.allowed_registries = vec!["ghcr.io/acme/*".into()];
    settings.images.require_digest = true;
    settings.images.deny_latest = true;
    let s = start(Engine::new(settings)).await;
    let good = format!("ghcr.io/acme/app:1@sha256:{}", "ab".repeat(32));
    let (_, text) = post(&s, "/validate", &create("g", "default", image_pod(&good))).await;
    assert_eq!(response(&text)["allowed"], true, "{text}");
    for bad in [
        "ghcr.io/acme/app/../../../evil/app@sha256:0000000000000000000000000000000000000000000000000000000000000000",
        "ghcr.io/acme/app:1@sha256:abc",
        "ghcr.io/acme/App:1@sha256:0000000000000000000000000000000000000000000000000000000000000000",
    ] {
        let (_, text) = post(&s, "/validate", &create("b", "default", image_pod(bad))).await;
        let r = response(&text);
        assert_eq!(r["allowed"], false, "{bad}: {text}");
        let msg = r["status"]["message"].as_str().unwrap_or("");
        assert!(msg.contains("admission/image-invalid"), "{bad}: {msg}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bad_input_panics_and_deadlines_never_take_the_server_down() {
    // The expected panic is not printed (printing a backtrace can outlast the deadline).
    let default_hook = std::panic::take_hook();
    std::panic::set_hook(Box::new(move |info| {
        if info.payload().downcast_ref::<&str>() != Some(&"verifier bug") {
            default_hook(info);
        }
    }));
    let settings = Settings {
        timeout: Duration::from_millis(150),
        ..Settings::default()
    };
    let s = start_with(
        Engine::new(settings).with_verifier(Arc::new(Faulty)),
        None,
        |o| {
            o.max_body_bytes = 64 << 10;
        },
    )
    .await;
    let mut c = connect(&s).await;
    // Malformed JSON, wrong version, not a review: 400 (no uid to answer).
    let (code, text) = send(&mut c, "POST", "/validate", b"{not json".to_vec()).await;
    assert_eq!(code, 400, "{text}");
    let v1beta1 = json!({"apiVersion": "admission.k8s.io/v1beta1", "kind": "AdmissionReview", "request": {"uid": "x"}});
    let (code, text) = send(
        &mut c,
        "POST",
        "/validate",
        v1beta1.to_string().into_bytes(),
    )
    .await;
    assert_eq!(code, 400);
    assert!(text.contains("admission.k8s.io/v1"));
    let (code, _) = send(&mut c, "GET", "/validate", Vec::new()).await;
    assert_eq!(code, 405);
    // Too large: 413.
    let big = create(
        "big",
        "default",
        json!({"kind": "ConfigMap", "data": {"x": "a".repeat(100_000)}}),
    );
    let (code, _) = send(
        &mut connect(&s).await,
        "POST",
        "/validate",
        big.to_string().into_bytes(),
    )
    .await;
    assert_eq!(code, 413);
    // A panicking rule: 200, denied with code 500; the server keeps serving.
    let (code, text) = send(
        &mut connect(&s).await,
        "POST",
        "/validate",
        create("p", "default", image_pod("panic:1"))
            .to_string()
            .into_bytes(),
    )
    .await;
    assert_eq!(code, 200);
    let r = response(&text);
    assert_eq!(
        (r["allowed"].clone(), r["status"]["code"].clone()),
        (json!(false), json!(500))
    );
    assert!(
        r["status"]["message"]
            .as_str()
            .unwrap()
            .contains("panicked"),
        "{r}"
    );
    // Past the deadline: the same.
    let (_, text) = post(
        &s,
        "/validate",
        &create("slow", "default", image_pod("slow:1")),
    )
    .await;
    let r = response(&text);
    assert!(
        r["status"]["message"]
            .as_str()
            .unwrap()
            .contains("deadline"),
        "{r}"
    );
    // Still healthy.
    let mut c = connect(&s).await;
    assert_eq!(send(&mut c, "GET", "/healthz", Vec::new()).await.0, 200);
    assert_eq!(send(&mut c, "GET", "/readyz", Vec::new()).await.0, 200);
    let (_, text) = post(&s, "/validate", &create("ok", "default", plain_pod())).await;
    assert_eq!(response(&text)["allowed"], true);
    let m = s.metrics.render();
    assert!(m.contains("rampart_admission_panics_total 1"), "{m}");
    assert!(
        m.contains("rampart_admission_deadline_exceeded_total 1"),
        "{m}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn graceful_shutdown_drains_in_flight_requests() {
    let mut s = start_with(
        Engine::new(Settings::default()).with_verifier(Arc::new(Faulty)),
        None,
        |o| o.shutdown_delay = Duration::from_millis(300),
    )
    .await;
    let mut c = connect(&s).await;
    let body = create("slow", "default", image_pod("slow:1"))
        .to_string()
        .into_bytes();
    let inflight = tokio::spawn(async move { send(&mut c, "POST", "/validate", body).await });
    tokio::time::sleep(Duration::from_millis(100)).await;
    s.shutdown();
    // During the shutdown delay: not ready, but still serving new connections.
    tokio::time::sleep(Duration::from_millis(50)).await;
    let mut c2 = connect(&s).await;
    assert_eq!(send(&mut c2, "GET", "/readyz", Vec::new()).await.0, 503);
    let (code, text) = inflight.await.unwrap();
    assert_eq!(code, 200);
    assert_eq!(response(&text)["uid"], "slow");
    tokio::time::timeout(Duration::from_secs(5), s.done.take().unwrap())
        .await
        .unwrap()
        .unwrap();
    // Closed for new connections.
    assert!(tokio::net::TcpStream::connect(s.addr).await.is_err());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn certificate_files_are_reloaded_when_they_change() {
    let s = start(Engine::new(Settings::default())).await;
    let old_ca = client_config(&s.ca_pem);
    assert!(connect_with(s.addr, old_ca.clone()).await.is_ok());
    tokio::time::sleep(Duration::from_millis(1100)).await;
    let g = rampart_admission::certs::generate(&["localhost".into()], 2).unwrap();
    rampart_admission::certs::replace(&s.cert_dir(), &g).unwrap();
    let new_ca = client_config(&g.ca_crt);
    let mut ok = false;
    for _ in 0..30 {
        if connect_with(s.addr, new_ca.clone()).await.is_ok() {
            ok = true;
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert!(ok, "new certificate never served");
    // A fresh client (no TLS session to resume) that trusts only the old CA fails.
    drop(old_ca);
    assert!(connect_with(s.addr, client_config(&s.ca_pem))
        .await
        .is_err());
    let mut c = connect_with(s.addr, new_ca).await.unwrap();
    let (_, metrics) = send(&mut c, "GET", "/metrics", Vec::new()).await;
    assert!(
        metrics.contains("rampart_admission_cert_reloads_total 1"),
        "{metrics}"
    );
    assert!(
        metrics.contains("rampart_admission_cert_reload_failures_total 0"),
        "{metrics}"
    );
}

/// A half-written certificate is not served: the previous one stays, and the failed
/// reload is counted on `/metrics` (once per change of the files).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_broken_certificate_reload_keeps_the_old_one_and_is_counted() {
    let s = start(Engine::new(Settings::default())).await;
    tokio::time::sleep(Duration::from_millis(1100)).await;
    std::fs::write(
        s.cert_dir().join("tls.crt"),
        "-----BEGIN CERTIFICATE-----\nMIIB\n",
    )
    .unwrap();
    let ca = client_config(&s.ca_pem);
    for _ in 0..3 {
        assert!(connect_with(s.addr, ca.clone()).await.is_ok());
        tokio::time::sleep(Duration::from_millis(600)).await;
    }
    let mut c = connect_with(s.addr, ca).await.unwrap();
    let (_, metrics) = send(&mut c, "GET", "/metrics", Vec::new()).await;
    assert!(
        metrics.contains("rampart_admission_cert_reload_failures_total 1"),
        "{metrics}"
    );
    assert!(
        metrics.contains("rampart_admission_cert_reloads_total 0"),
        "{metrics}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_policy_set_can_be_a_namespace_level() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(
        dir.path().join("team.rego"),
        "package main\n\ndeny contains msg if {\n  input.kind == \"Pod\"\n  not input.metadata.labels.team\n  msg := \"pod has no team label\"\n}\n\nwarn contains msg if {\n  input.kind == \"Pod\"\n  msg := \"pods are watched\"\n}\n",
    )
    .unwrap();
    let set = rampart_policy::load(&[dir.path().to_path_buf()], &[]).unwrap();
    let ns = Arc::new(StaticNamespaces::new());
    ns.insert(
        "t",
        [("rampart.dev/enforce".to_string(), "team-rules".to_string())].into(),
    );
    let engine = Engine::new(Settings::default())
        .with_policy_set("team-rules", set)
        .with_namespaces(ns);
    let s = start(engine).await;
    let (_, text) = post(&s, "/validate", &create("p1", "t", plain_pod())).await;
    let r = response(&text);
    assert_eq!(r["allowed"], false, "{r}");
    let msg = r["status"]["message"].as_str().unwrap();
    assert!(
        msg.contains("policy/main/deny") && msg.contains("pod has no team label"),
        "{msg}"
    );
    assert!(
        r["warnings"].to_string().contains("pods are watched"),
        "{r}"
    );
    let mut labelled = plain_pod();
    labelled["metadata"]["labels"] = json!({"team": "a"});
    let (_, text) = post(&s, "/validate", &create("p2", "t", labelled)).await;
    let r = response(&text);
    assert_eq!(r["allowed"], true, "{r}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn exception_annotations_only_when_the_cluster_allows_them() {
    let mut p = privileged_pod();
    p["metadata"]["annotations"] =
        json!({"rampart.dev/ignore": "k8s/pss-privileged: node agent needs it"});
    let s = start(Engine::new(Settings::default())).await;
    let (_, text) = post(&s, "/validate", &create("x1", "default", p.clone())).await;
    assert_eq!(response(&text)["allowed"], false, "not honoured by default");
    let s = start(Engine::new(Settings {
        honor_exceptions: true,
        ..Settings::default()
    }))
    .await;
    let (_, text) = post(&s, "/validate", &create("x2", "default", p)).await;
    assert_eq!(response(&text)["allowed"], true, "{text}");
}

/// A CA and a client certificate (clientAuth) it signed: (CA PEM, client chain, key).
fn client_pki() -> (
    String,
    Vec<rustls::pki_types::CertificateDer<'static>>,
    rustls::pki_types::PrivateKeyDer<'static>,
) {
    use rcgen::{
        BasicConstraints, CertificateParams, DnType, ExtendedKeyUsagePurpose, IsCa, KeyPair,
    };
    let mut ca_params = CertificateParams::new(Vec::<String>::new()).unwrap();
    ca_params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
    ca_params
        .distinguished_name
        .push(DnType::CommonName, "test client CA");
    let ca_key = KeyPair::generate().unwrap();
    let ca = ca_params.self_signed(&ca_key).unwrap();
    let mut params = CertificateParams::new(vec!["kube-apiserver".to_string()]).unwrap();
    params.extended_key_usages = vec![ExtendedKeyUsagePurpose::ClientAuth];
    let key = KeyPair::generate().unwrap();
    let cert = params.signed_by(&key, &ca, &ca_key).unwrap();
    (
        ca.pem(),
        vec![cert.der().clone()],
        rustls::pki_types::PrivatePkcs8KeyDer::from(key.serialize_der()).into(),
    )
}

/// GET /healthz over a fresh TLS connection; any TLS or HTTP failure is an `Err`.
async fn healthz_with(
    addr: std::net::SocketAddr,
    cfg: Arc<rustls::ClientConfig>,
) -> Result<u16, String> {
    use http_body_util::{BodyExt, Full};
    let mut c = connect_with(addr, cfg).await?;
    c.ready().await.map_err(|e| e.to_string())?;
    let req = hyper::Request::get("/healthz")
        .header("host", "localhost")
        .body(Full::new(axum::body::Bytes::new()))
        .unwrap();
    let resp = c.send_request(req).await.map_err(|e| e.to_string())?;
    let code = resp.status().as_u16();
    resp.into_body()
        .collect()
        .await
        .map_err(|e| e.to_string())?;
    Ok(code)
}

fn client_with_cert(
    server_ca_pem: &str,
    chain: Vec<rustls::pki_types::CertificateDer<'static>>,
    key: rustls::pki_types::PrivateKeyDer<'static>,
) -> Arc<rustls::ClientConfig> {
    let mut roots = rustls::RootCertStore::empty();
    for c in rampart_net::pem::certs_from_pem(server_ca_pem.as_bytes()).unwrap() {
        roots.add(c).unwrap();
    }
    Arc::new(
        rustls::ClientConfig::builder_with_provider(Arc::new(
            rustls::crypto::ring::default_provider(),
        ))
        .with_safe_default_protocol_versions()
        .unwrap()
        .with_root_certificates(roots)
        .with_client_auth_cert(chain, key)
        .unwrap(),
    )
}

/// Issue 13: with a client CA, the webhook only talks to clients presenting a
/// certificate from it (the API server's `--admission-control-config-file` kubeconfig
/// client certificate): no certificate and a certificate from another CA are refused in
/// the handshake; the right one gets 200.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn client_certificates_are_required_with_a_client_ca() {
    let (client_ca, chain, key) = client_pki();
    let (_other_ca, wrong_chain, wrong_key) = client_pki();
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("client-ca.crt"), &client_ca).unwrap();
    let serving = rampart_admission::certs::generate(&["localhost".into()], 2).unwrap();
    rampart_admission::certs::write(dir.path(), &serving).unwrap();
    let files = rampart_admission::server::ServerTlsFiles::new(
        dir.path().join("tls.crt"),
        dir.path().join("tls.key"),
    )
    .with_client_ca(dir.path().join("client-ca.crt"));
    let s = start_with(Engine::new(Settings::default()), None, |o| {
        o.tls = Some(rampart_admission::server::tls_config(&files, o.net_metrics.clone()).unwrap());
    })
    .await;

    let no_cert = healthz_with(s.addr, client_config(&serving.ca_crt)).await;
    assert!(
        no_cert.is_err(),
        "a client without a certificate was served: {no_cert:?}"
    );
    let wrong = healthz_with(
        s.addr,
        client_with_cert(&serving.ca_crt, wrong_chain, wrong_key),
    )
    .await;
    assert!(
        wrong.is_err(),
        "a certificate from another CA was accepted: {wrong:?}"
    );
    let right = client_with_cert(&serving.ca_crt, chain, key);
    assert_eq!(healthz_with(s.addr, right.clone()).await, Ok(200));

    // Both refusals are counted as failed handshakes (just after the server's alert:
    // poll briefly).
    let mut metrics = String::new();
    for _ in 0..50 {
        let mut c = connect_with(s.addr, right.clone()).await.unwrap();
        metrics = send(&mut c, "GET", "/metrics", Vec::new()).await.1;
        if metrics.contains("rampart_admission_tls_handshake_failures_total 2") {
            break;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    assert!(
        metrics.contains("rampart_admission_tls_handshake_failures_total 2"),
        "{metrics}"
    );
}
