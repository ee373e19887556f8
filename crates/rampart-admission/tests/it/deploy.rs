//! `deploy/`: the Helm chart rendered with its defaults equals the plain manifests; both
//! are what the issue asks for (replicas, PDB, webhooks, RBAC, restricted pod spec); and
//! Rampart's own k8s rules find nothing at medium or above in them (dogfooding).
//!
//! The chart is rendered by Helm's own template engine: `helm` on PATH, or `RAMPART_HELM`
//! (`.ci/run` points it at `tools/helm-sdk-shim.py`, Helm v4's Go SDK from the PyPI
//! package helm-python-sdk). Without either the chart tests skip with a notice, unless
//! `RAMPART_REQUIRE_TOOLS=1`.
//!
//! Regenerate the manifests after changing the chart: `RAMPART_BLESS=1 cargo test -p
//! rampart-admission --test deploy`.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use rampart_k8s::pss::{level_met, Level, PssVersion};
use rampart_k8s::Object;
use serde_json::Value;
use std::path::{Path, PathBuf};
use std::process::Command;

const NAMESPACE: &str = "rampart";

fn root() -> PathBuf {
    rampart_testkit::workspace_root()
}

/// `helm template rampart deploy/helm/rampart --namespace rampart`, with `overrides`
/// (dotted path, value) passed as a values file; `None` when Helm is not available.
fn render_chart(overrides: &[(&str, Value)]) -> Option<String> {
    let helm = rampart_testkit::tool(
        "RAMPART_HELM",
        "helm",
        "install helm, or pip install helm-python-sdk==0.2.2 and use tools/helm-sdk-shim.py",
    )?;
    let mut values = serde_json::Map::new();
    for (path, val) in overrides {
        let parts: Vec<&str> = path.split('.').collect();
        let mut cur = &mut values;
        for p in &parts[..parts.len() - 1] {
            let entry = cur
                .entry((*p).to_string())
                .or_insert_with(|| Value::Object(Default::default()));
            cur = entry.as_object_mut().unwrap();
        }
        cur.insert(parts[parts.len() - 1].to_string(), val.clone());
    }
    let dir = tempfile::tempdir().unwrap();
    // JSON is YAML: Helm reads it as a values file.
    let file = dir.path().join("values.yaml");
    std::fs::write(&file, serde_json::to_string(&values).unwrap()).unwrap();
    let out = Command::new(helm)
        .args(["template", "rampart"])
        .arg(root().join("deploy/helm/rampart"))
        .args(["--namespace", NAMESPACE, "--values"])
        .arg(&file)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "helm template failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    Some(String::from_utf8(out.stdout).unwrap())
}

fn docs_of(text: &str) -> Vec<Value> {
    rampart_yaml::load_str(text, &rampart_yaml::Options::default())
        .into_iter()
        .map(|d| d.unwrap_or_else(|e| panic!("{e}\n{text}")).value)
        .filter(|v| !v.is_null())
        .collect()
}

fn find<'a>(docs: &'a [Value], kind: &str) -> Vec<&'a Value> {
    docs.iter().filter(|d| d["kind"] == kind).collect()
}

const HEADER: &str = "# Generated from deploy/helm/rampart with its default values (namespace `rampart`).\n# Do not edit: change the chart, then `RAMPART_BLESS=1 cargo test -p rampart-admission --test it deploy`.\n# Create the namespace first: kubectl create namespace rampart\n";

/// Documents in a stable order (Helm orders by kind for installation).
fn sorted_docs(text: &str) -> Vec<Value> {
    let mut docs = docs_of(text);
    docs.sort_by_key(|d| (d["kind"].to_string(), d["metadata"]["name"].to_string()));
    docs
}

#[test]
fn manifests_equal_the_chart_defaults() {
    let Some(rendered) = render_chart(&[]) else {
        return;
    };
    let path = root().join("deploy/manifests/rampart-admission.yaml");
    if std::env::var("RAMPART_BLESS").is_ok_and(|v| v == "1") {
        std::fs::write(&path, format!("{HEADER}{rendered}")).unwrap();
    }
    let on_disk = std::fs::read_to_string(&path).unwrap();
    assert!(sorted_docs(&rendered).len() >= 10);
    assert_eq!(
        sorted_docs(&on_disk),
        sorted_docs(&rendered),
        "deploy/manifests is out of date: RAMPART_BLESS=1 cargo test -p rampart-admission --test it deploy"
    );
}

#[test]
fn chart_has_what_a_webhook_deployment_needs() {
    let Some(rendered) = render_chart(&[]) else {
        return;
    };
    let docs = docs_of(&rendered);
    let dep = find(&docs, "Deployment")[0];
    assert!(dep["spec"]["replicas"].as_u64().unwrap() >= 2);
    let obj = Object::from_value(dep.clone());
    assert_eq!(level_met(&obj, &PssVersion::latest()), Level::Restricted);
    let pdb = find(&docs, "PodDisruptionBudget")[0];
    assert_eq!(pdb["spec"]["selector"], dep["spec"]["selector"]);
    assert_eq!(find(&docs, "Service").len(), 1);
    for kind in [
        "ValidatingWebhookConfiguration",
        "MutatingWebhookConfiguration",
    ] {
        let w = find(&docs, kind)[0];
        assert_eq!(
            w["metadata"]["annotations"]["cert-manager.io/inject-ca-from"],
            "rampart/rampart-admission-tls"
        );
        let hook = &w["webhooks"][0];
        assert!(hook["failurePolicy"].is_string(), "{kind}");
        assert!(hook["timeoutSeconds"].as_u64().unwrap() <= 10);
        assert_eq!(hook["sideEffects"], "None");
        assert_eq!(hook["admissionReviewVersions"], serde_json::json!(["v1"]));
        let excluded = &hook["namespaceSelector"]["matchExpressions"][0];
        assert_eq!(excluded["operator"], "NotIn");
        assert_eq!(
            excluded["values"],
            serde_json::json!(["kube-system", "rampart"])
        );
    }
    assert_eq!(find(&docs, "Certificate").len(), 1);
    // RBAC: namespaces read-only, nothing else by default.
    let role = find(&docs, "ClusterRole")[0];
    assert_eq!(role["rules"].as_array().unwrap().len(), 1);
    assert_eq!(
        role["rules"][0]["verbs"],
        serde_json::json!(["get", "list", "watch"])
    );
    // The embedded rampart.yaml is a valid configuration.
    let cm = find(&docs, "ConfigMap")[0];
    let cfg = rampart_core::config::Config::parse(
        cm["data"]["rampart.yaml"].as_str().unwrap(),
        Path::new("rampart.yaml"),
    )
    .unwrap();
    let s = rampart_admission::settings::Settings::from_config(&cfg.admission).unwrap();
    assert!(s.mutations.seccomp_runtime_default);
    assert!(s.exemptions.namespaces.contains(&"rampart".to_string()));
}

#[test]
fn chart_options_switch_tls_and_policy_reports() {
    let Some(rendered) = render_chart(&[
        ("certManager.enabled", Value::Bool(false)),
        ("caBundle", Value::String("Q0E=".into())),
        ("policyReports", Value::Bool(true)),
        ("mutating.enabled", Value::Bool(false)),
    ]) else {
        return;
    };
    let docs = docs_of(&rendered);
    assert!(find(&docs, "Certificate").is_empty() && find(&docs, "Issuer").is_empty());
    assert!(find(&docs, "MutatingWebhookConfiguration").is_empty());
    let w = find(&docs, "ValidatingWebhookConfiguration")[0];
    assert!(w["metadata"].get("annotations").is_none());
    assert_eq!(w["webhooks"][0]["clientConfig"]["caBundle"], "Q0E=");
    assert_eq!(w["webhooks"][0]["sideEffects"], "NoneOnDryRun");
    let role = find(&docs, "ClusterRole")[0];
    assert_eq!(
        role["rules"][1]["resources"],
        serde_json::json!(["policyreports"])
    );
    // Server-side apply: `patch`, plus `create` for a report that does not exist yet;
    // `list` and `delete` for the garbage collection of reports whose object is gone.
    assert_eq!(
        role["rules"][1]["verbs"],
        serde_json::json!(["create", "patch", "list", "delete"])
    );
}

#[test]
fn rampart_k8s_finds_nothing_medium_or_above_in_deploy() {
    let path = root().join("deploy/manifests/rampart-admission.yaml");
    let text = std::fs::read_to_string(&path).unwrap();
    let loaded =
        rampart_k8s::load::load_str(&text, Some("deploy/manifests/rampart-admission.yaml"));
    assert!(loaded.objects.len() >= 10, "{}", loaded.objects.len());
    let findings = rampart_k8s::check_set(&loaded.objects, &rampart_k8s::Context::default());
    let serious: Vec<String> = findings
        .iter()
        .filter(|f| f.severity >= rampart_core::Severity::Medium)
        .map(|f| format!("{} {}: {}", f.rule_id, f.severity, f.message))
        .collect();
    assert!(serious.is_empty(), "{serious:#?}");
}

#[test]
fn dockerfile_is_multi_stage_static_non_root_and_clean() {
    let text = std::fs::read_to_string(root().join("Dockerfile")).unwrap();
    let froms: Vec<&str> = text
        .lines()
        .filter(|l| l.trim_start().to_ascii_uppercase().starts_with("FROM "))
        .collect();
    assert!(froms.len() >= 2, "multi-stage");
    assert_eq!(froms.last().unwrap().trim(), "FROM scratch");
    let last_stage = &text[text.rfind("FROM scratch").unwrap()..];
    assert!(
        !last_stage.contains("\nRUN "),
        "no shell in the final image"
    );
    let user = last_stage
        .lines()
        .find_map(|l| l.strip_prefix("USER "))
        .expect("USER in the final stage");
    let uid: u32 = user
        .split(':')
        .next()
        .unwrap()
        .parse()
        .expect("numeric USER");
    assert!(uid > 0);
    assert!(
        text.contains("x86_64-unknown-linux-musl"),
        "static musl build"
    );
    let result = rampart_iac::scan_file("Dockerfile", text.as_bytes()).unwrap();
    assert!(result.errors.is_empty(), "{:?}", result.errors);
    let serious: Vec<String> = result
        .findings
        .iter()
        .filter(|f| f.severity >= rampart_core::Severity::Medium)
        .map(|f| format!("{} {}: {}", f.rule_id, f.severity, f.message))
        .collect();
    assert!(serious.is_empty(), "{serious:#?}");
}
