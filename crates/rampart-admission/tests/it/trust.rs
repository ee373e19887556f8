//! What a request, a policy or a pod must not be able to decide (issue 13, the engine
//! side), each through the real TLS server:
//!
//! - an UPDATE that changes a violating value in place is evaluated like a CREATE (only
//!   updates that leave everything but the metadata unchanged keep old violations);
//! - a Rego rule's kind (deny/warn), not its id, decides whether it denies, and a policy
//!   cannot claim a built-in rule id;
//! - `/mutate` looks up only images the image policy allows;
//! - `/metrics` stays bounded whatever rule ids and namespaces requests carry;
//! - a slow policy ends before the webhook deadline with the configured failure answer;
//! - `admission certs` creates `tls.key` 0600, never follows a link, never clobbers.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use crate::common;

use common::*;
use rampart_admission::engine::Engine;
use rampart_admission::namespaces::StaticNamespaces;
use rampart_admission::settings::{ModeSetting, Settings, Target};
use serde_json::{json, Value};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

fn pod(spec: Value) -> Value {
    json!({"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "p", "namespace": "default"}, "spec": spec})
}

fn update(uid: &str, old: &Value, new: &Value) -> Value {
    let mut r = create(uid, "default", new.clone());
    r["request"]["operation"] = json!("UPDATE");
    r["request"]["oldObject"] = old.clone();
    r
}

fn caps_pod(cap: &str) -> Value {
    pod(json!({"containers": [{"name": "a", "image": "nginx:1",
        "securityContext": {"capabilities": {"add": [cap]}}}]}))
}

fn host_path_pod(path: &str) -> Value {
    pod(json!({"containers": [{"name": "a", "image": "nginx:1"}],
        "volumes": [{"name": "v", "hostPath": {"path": path}}]}))
}

fn image_pod(image: &str) -> Value {
    pod(json!({"containers": [{"name": "a", "image": image}]}))
}

fn message(r: &Value) -> &str {
    r["status"]["message"].as_str().unwrap_or("")
}

/// Issue 13: old and new violations were compared by (rule, field) only, so a violating
/// value could be swapped for a worse one in place.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn updates_that_change_a_violating_value_are_evaluated_fully() {
    let mut settings = Settings::default();
    settings.images.allowed_registries = vec!["ghcr.io/acme/*".into()];
    let s = start(Engine::new(settings)).await;
    for (uid, old, new, rule) in [
        (
            "caps",
            caps_pod("NET_ADMIN"),
            caps_pod("SYS_ADMIN"),
            "k8s/pss-capabilities",
        ),
        (
            "hostpath",
            host_path_pod("/var/log"),
            host_path_pod("/"),
            "k8s/pss-host-path-volumes",
        ),
        (
            "image",
            image_pod("docker.io/evil/a:1"),
            image_pod("docker.io/evil/b:1"),
            "admission/image-registry",
        ),
    ] {
        let (_, text) = post(&s, "/validate", &update(uid, &old, &new)).await;
        let r = response(&text);
        assert_eq!(r["allowed"], false, "{uid}: {r}");
        assert!(message(&r).contains(rule), "{uid}: {r}");
    }

    // PSA compatibility: a metadata-only update of an already-violating pod is allowed
    // (with a warning), and so is an update that removes a violation.
    for old in [
        caps_pod("SYS_ADMIN"),
        host_path_pod("/"),
        image_pod("docker.io/evil/a:1"),
    ] {
        let mut relabelled = old.clone();
        relabelled["metadata"]["labels"] = json!({"release": "2"});
        relabelled["metadata"]["annotations"] = json!({"note": "x"});
        let (_, text) = post(&s, "/validate", &update("meta", &old, &relabelled)).await;
        let r = response(&text);
        assert_eq!(r["allowed"], true, "{r}");
        assert!(r["warnings"].to_string().contains("does not worsen"), "{r}");
    }
    // A metadata change that a check reads (an AppArmor annotation) is not metadata-only.
    let old = caps_pod("SYS_ADMIN");
    let mut apparmor = old.clone();
    apparmor["metadata"]["annotations"] =
        json!({"container.apparmor.security.beta.kubernetes.io/a": "unconfined"});
    let (_, text) = post(&s, "/validate", &update("aa", &old, &apparmor)).await;
    assert_eq!(response(&text)["allowed"], false, "{text}");
}

fn policy_set(src: &str) -> rampart_policy::PolicySet {
    rampart_policy::from_sources(vec![("p.rego".into(), src.into())], &[]).unwrap()
}

fn policy_engine(src: &str, settings: Settings) -> Engine {
    let ns = Arc::new(StaticNamespaces::new());
    ns.insert(
        "t",
        [("rampart.dev/enforce".to_string(), "team".to_string())].into(),
    );
    Engine::new(settings)
        .with_policy_set("team", policy_set(src))
        .with_namespaces(ns)
}

/// Issue 13: warn or deny was inferred from the rule-id string.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_rule_kind_not_its_id_decides_warn_or_deny() {
    let src = r#"package main
warn contains {"msg": "a warning with its own id", "id": "team-note"} if input.kind == "Pod"
deny contains {"msg": "a denial named like a warning", "id": "warnings-are-denials"} if input.metadata.labels.deny == "yes"
deny contains {"msg": "claims a built-in id", "id": "k8s/pss-privileged"} if input.metadata.labels.claim == "yes"
"#;
    let s = start(policy_engine(src, Settings::default())).await;
    let plain = image_pod("nginx:1");
    let (_, text) = post(&s, "/validate", &create("w", "t", plain.clone())).await;
    let r = response(&text);
    assert_eq!(r["allowed"], true, "a warn rule must not deny: {r}");
    assert!(
        r["warnings"].to_string().contains("policy/team-note"),
        "{r}"
    );

    let mut denied = plain.clone();
    denied["metadata"]["labels"] = json!({"deny": "yes"});
    let (_, text) = post(&s, "/validate", &create("d", "t", denied)).await;
    let r = response(&text);
    assert_eq!(r["allowed"], false, "a deny rule must deny: {r}");
    assert!(message(&r).contains("policy/warnings-are-denials"), "{r}");

    let mut claim = plain;
    claim["metadata"]["labels"] = json!({"claim": "yes"});
    let (_, text) = post(&s, "/validate", &create("c", "t", claim)).await;
    let r = response(&text);
    assert_eq!(r["allowed"], false, "{r}");
    let m = message(&r);
    assert!(m.contains("policy/k8s/pss-privileged"), "{m}");
    assert!(
        !m.replace("policy/k8s/pss-privileged", "")
            .contains("k8s/pss-privileged"),
        "a policy finding must not carry a built-in rule id: {m}"
    );
}

/// A registry that counts the connections it gets and answers none of them.
async fn counting_registry() -> (String, Arc<AtomicUsize>) {
    let l = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = l.local_addr().unwrap().to_string();
    let n = Arc::new(AtomicUsize::new(0));
    let seen = n.clone();
    tokio::spawn(async move {
        while let Ok((sock, _)) = l.accept().await {
            seen.fetch_add(1, Ordering::SeqCst);
            drop(sock);
        }
    });
    (addr, n)
}

/// Issue 13: /mutate resolved every image, including the ones the policy denies, so a
/// pod could make the webhook contact any host.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn mutate_looks_up_only_allowed_images() {
    let (registry_addr, connections) = counting_registry().await;
    let mut settings = Settings::default();
    settings.images.allowed_registries =
        vec!["ghcr.io/acme/*".into(), format!("{registry_addr}/good/*")];
    settings.images.resolve_digests = true;
    settings.mutations.run_as_non_root = true;
    settings.timeout = Duration::from_millis(1500);
    // The egress policy lets the client reach this loopback registry, so only the
    // allow-list decides whether it is contacted (the positive control below proves it).
    let registry = rampart_admission::registry::Registry::new(vec![registry_addr.clone()])
        .with_egress(rampart_net::egress::EgressPolicy::with_allowed(&[&registry_addr]).unwrap());
    let engine = Engine::new(settings);
    let denied = image_pod(&format!("{registry_addr}/evil/app:1"));
    let (users, digests) = engine.lookups_needed(
        &rampart_admission::review::parse(
            create("l", "default", denied.clone())
                .to_string()
                .as_bytes(),
        )
        .unwrap(),
    );
    assert!(
        users.is_empty() && digests.is_empty(),
        "{users:?} {digests:?}"
    );
    let s = start_with(engine, Some(Arc::new(registry)), |_| {}).await;
    let (code, text) = post(&s, "/mutate", &create("m", "default", denied)).await;
    assert_eq!(code, 200, "{text}");
    assert_eq!(response(&text)["allowed"], true);
    assert_eq!(
        connections.load(Ordering::SeqCst),
        0,
        "the webhook contacted a registry the policy does not allow"
    );
    // Positive control: an allowed image on the same registry is looked up.
    let allowed = image_pod(&format!("{registry_addr}/good/app:1"));
    let (code, text) = post(&s, "/mutate", &create("n", "default", allowed)).await;
    assert_eq!(code, 200, "{text}");
    assert!(
        connections.load(Ordering::SeqCst) > 0,
        "an allowed image was not looked up: the test could not tell"
    );
}

/// Issue 13: metric labels took any rule id and namespace a request could produce.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn forged_reviews_do_not_grow_the_metrics() {
    // A policy whose rule id comes from the object: the worst case for the rule label.
    let src = r#"package main
deny contains {"msg": "x", "id": input.metadata.labels.rule} if input.metadata.labels.rule
"#;
    let mut settings = Settings::default();
    settings.defaults.enforce = ModeSetting {
        target: Target::PolicySet("team".into()),
        ..ModeSetting::level(rampart_k8s::pss::Level::Baseline)
    };
    let engine = Engine::new(settings).with_policy_set("team", policy_set(src));
    let s = start(engine).await;
    let before = s.metrics.render().lines().count();
    let bodies: Vec<Vec<u8>> = (0..10_000)
        .map(|i| {
            let mut p = image_pod("nginx:1");
            p["metadata"]["labels"] = json!({"rule": format!("forged-{i}")});
            create(&format!("u{i}"), &format!("ns-{i}"), p)
                .to_string()
                .into_bytes()
        })
        .collect();
    let answers = send_all(&s, "/validate", bodies, 8).await;
    assert!(answers.iter().all(|(c, _)| *c == 200));
    assert!(answers
        .iter()
        .all(|(_, t)| response(t)["allowed"] == json!(false)));
    let text = s.metrics.render();
    let lines = text.lines().count();
    eprintln!("exposition: {before} lines before, {lines} after 10,000 forged reviews");
    assert!(
        lines < before + 400,
        "exposition grew from {before} to {lines} lines"
    );
    assert!(
        !text.contains("forged-9999"),
        "request-chosen rule id exported"
    );
    // The denials are still counted, under a bounded label.
    assert!(
        text.contains("rule=\"policy/other\""),
        "{}",
        text.lines()
            .filter(|l| l.contains("violations_total{"))
            .take(5)
            .collect::<Vec<_>>()
            .join("\n")
    );
}

const SLOW: &str = r#"package main
deny contains msg if {
  n := count([x | some i in numbers.range(1, 4000); some j in numbers.range(1, 4000); x := i * j])
  n < 0
  msg := "never"
}
warn contains msg if {
  n := count([x | some i in numbers.range(1, 4000); some j in numbers.range(1, 4000); x := i + j])
  n < 0
  msg := "never"
}
"#;

/// Issue 13: Rego's own 5 s limit outlived the 2 s webhook deadline, so slow policies
/// kept blocking threads busy after the API server had given up.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_slow_policy_ends_before_the_deadline_with_the_failure_answer() {
    for allow in [false, true] {
        let settings = Settings {
            timeout: Duration::from_millis(1000),
            allow_on_error: allow,
            ..Settings::default()
        };
        let s = start(policy_engine(SLOW, settings)).await;
        let t = Instant::now();
        let (code, text) = post(&s, "/validate", &create("slow", "t", image_pod("nginx:1"))).await;
        let took = t.elapsed();
        eprintln!("slow policy answered in {took:?} (on_error allow: {allow})");
        assert_eq!(code, 200);
        let r = response(&text);
        assert!(
            took < Duration::from_millis(1000),
            "answered after {took:?}"
        );
        assert_eq!(r["allowed"], allow, "{r}");
        assert_eq!(r["status"]["code"], 500, "{r}");
        let m = message(&r);
        assert!(
            m.contains("policy set \"team\"") && m.contains("time limit"),
            "{m}"
        );
        // The evaluation ended by itself: the server's own deadline never fired.
        assert!(
            s.metrics
                .render()
                .contains("rampart_admission_deadline_exceeded_total 0"),
            "{}",
            s.metrics.render()
        );
    }
}

#[cfg(unix)]
mod certs {
    use rampart_admission::certs;
    use std::os::unix::fs::{FileTypeExt, PermissionsExt};
    use std::time::Duration;

    fn generated() -> certs::Generated {
        certs::generate(&["svc.ns.svc".into()], 2).unwrap()
    }

    fn mode(p: &std::path::Path) -> u32 {
        std::fs::symlink_metadata(p).unwrap().permissions().mode() & 0o777
    }

    /// Issue 13: `tls.key` was written with the default mode and chmodded afterwards,
    /// through any link or FIFO already at the path.
    #[test]
    fn key_is_created_private_and_links_are_not_followed() {
        let dir = tempfile::tempdir().unwrap();
        let out = dir.path().join("c");
        certs::write(&out, &generated()).unwrap();
        assert_eq!(mode(&out.join("tls.key")), 0o600);
        assert_eq!(mode(&out.join("tls.crt")), 0o644);

        // Existing files are refused (nothing is overwritten) …
        let err = certs::write(&out, &generated()).unwrap_err().to_string();
        assert!(err.contains("exists") && err.contains("--force"), "{err}");
        // … and replaced on request, still 0600, atomically.
        let g = generated();
        certs::replace(&out, &g).unwrap();
        assert_eq!(
            std::fs::read_to_string(out.join("tls.key")).unwrap(),
            g.tls_key
        );
        assert_eq!(mode(&out.join("tls.key")), 0o600);

        // A link planted at tls.key is never written through.
        let victim = dir.path().join("victim");
        std::fs::write(&victim, "precious").unwrap();
        std::fs::set_permissions(&victim, std::fs::Permissions::from_mode(0o644)).unwrap();
        let linked = dir.path().join("l");
        std::fs::create_dir(&linked).unwrap();
        std::os::unix::fs::symlink(&victim, linked.join("tls.key")).unwrap();
        assert!(certs::write(&linked, &generated()).is_err());
        assert_eq!(std::fs::read_to_string(&victim).unwrap(), "precious");
        certs::replace(&linked, &generated()).unwrap();
        assert_eq!(std::fs::read_to_string(&victim).unwrap(), "precious");
        assert_eq!(mode(&victim), 0o644);
        let meta = std::fs::symlink_metadata(linked.join("tls.key")).unwrap();
        assert!(
            meta.file_type().is_file(),
            "the link was replaced by a file"
        );
        assert_eq!(meta.permissions().mode() & 0o777, 0o600);
    }

    /// A FIFO at tls.key made the old writer block forever (it opened it for writing);
    /// now it is an existing file like any other.
    #[test]
    fn a_fifo_at_the_key_path_does_not_hang() {
        let dir = tempfile::tempdir().unwrap();
        let fifo = dir.path().join("tls.key");
        let status = std::process::Command::new("mkfifo")
            .arg(&fifo)
            .status()
            .unwrap();
        assert!(status.success());
        let d = dir.path().to_path_buf();
        let (tx, rx) = std::sync::mpsc::channel();
        std::thread::spawn(move || {
            let _ = tx.send(certs::write(&d, &generated()).map_err(|e| e.to_string()));
        });
        let r = rx
            .recv_timeout(Duration::from_secs(10))
            .expect("certs::write blocked on a FIFO");
        assert!(r.is_err(), "{r:?}");
        assert!(std::fs::symlink_metadata(&fifo)
            .unwrap()
            .file_type()
            .is_fifo());
    }
}
