//! `deploy/`: the Helm chart rendered with its defaults equals the plain manifests; both
//! are what the issue asks for (replicas, PDB, webhooks, RBAC, restricted pod spec); and
//! Rampart's own k8s rules find nothing at medium or above in them (dogfooding).
//!
//! Helm is not installed here, so the chart is rendered by the minimal Go-template
//! renderer below. It supports exactly what the templates use: `{{ .Values.x.y }}`,
//! `{{ .Release.Namespace }}`, `{{ .Chart.AppVersion }}`, `{{- if X }}`/`{{- else }}`/
//! `{{- end }}` and the `{{-`/`-}}` whitespace trimming; anything else fails the test,
//! so the templates cannot drift into syntax this check does not understand.
//!
//! Regenerate the manifests after changing the chart: `RAMPART_BLESS=1 cargo test -p
//! rampart-admission --test deploy`.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use rampart_k8s::pss::{level_met, Level, PssVersion};
use rampart_k8s::Object;
use serde_json::Value;
use std::path::{Path, PathBuf};

const NAMESPACE: &str = "rampart";

fn root() -> PathBuf {
    rampart_testkit::workspace_root()
}

enum Seg {
    Text(String),
    Action(String),
}

fn lookup<'a>(values: &'a serde_yaml::Value, path: &str) -> &'a serde_yaml::Value {
    let mut v = values;
    for k in path.split('.') {
        v = v
            .get(k)
            .unwrap_or_else(|| panic!("values.yaml has no `{path}`"));
    }
    v
}

fn scalar(v: &serde_yaml::Value) -> String {
    match v {
        serde_yaml::Value::String(s) => s.clone(),
        serde_yaml::Value::Bool(b) => b.to_string(),
        serde_yaml::Value::Number(n) => n.to_string(),
        serde_yaml::Value::Null => String::new(),
        other => panic!("template prints a non-scalar value {other:?}"),
    }
}

fn eval(expr: &str, values: &serde_yaml::Value, ns: &str) -> serde_yaml::Value {
    let e = expr.trim();
    if let Some(p) = e.strip_prefix(".Values.") {
        return lookup(values, p).clone();
    }
    match e {
        ".Release.Namespace" => serde_yaml::Value::String(ns.to_string()),
        ".Chart.AppVersion" => serde_yaml::Value::String("0.1.0".into()),
        _ => panic!("unsupported template expression `{e}`"),
    }
}

fn truthy(v: &serde_yaml::Value) -> bool {
    match v {
        serde_yaml::Value::Null => false,
        serde_yaml::Value::Bool(b) => *b,
        serde_yaml::Value::String(s) => !s.is_empty(),
        serde_yaml::Value::Number(n) => n.as_f64() != Some(0.0),
        serde_yaml::Value::Sequence(s) => !s.is_empty(),
        serde_yaml::Value::Mapping(m) => !m.is_empty(),
        serde_yaml::Value::Tagged(_) => true,
    }
}

/// Render one template.
fn render(tpl: &str, values: &serde_yaml::Value, ns: &str) -> String {
    let mut segs = Vec::new();
    let mut rest = tpl;
    while let Some(i) = rest.find("{{") {
        let mut text = rest[..i].to_string();
        let after = &rest[i + 2..];
        let j = after.find("}}").expect("unclosed {{");
        let mut body = &after[..j];
        if let Some(b) = body.strip_prefix('-') {
            text = text.trim_end().to_string();
            body = b;
        }
        let mut trim_next = false;
        if let Some(b) = body.strip_suffix('-') {
            body = b;
            trim_next = true;
        }
        segs.push(Seg::Text(text));
        segs.push(Seg::Action(body.trim().to_string()));
        rest = &after[j + 2..];
        if trim_next {
            rest = rest.trim_start();
        }
    }
    segs.push(Seg::Text(rest.to_string()));
    // (this branch is active, some branch of this if was taken)
    let mut stack: Vec<(bool, bool)> = Vec::new();
    let mut out = String::new();
    let active = |stack: &Vec<(bool, bool)>| stack.iter().all(|(a, _)| *a);
    for s in segs {
        match s {
            Seg::Text(t) => {
                if active(&stack) {
                    out.push_str(&t);
                }
            }
            Seg::Action(a) => {
                if let Some(cond) = a.strip_prefix("if ") {
                    let c = truthy(&eval(cond, values, ns));
                    stack.push((c, c));
                } else if a == "else" {
                    let top = stack.last_mut().expect("else without if");
                    top.0 = !top.1;
                    top.1 = true;
                } else if a == "end" {
                    stack.pop().expect("end without if");
                } else if active(&stack) {
                    out.push_str(&scalar(&eval(&a, values, ns)));
                }
            }
        }
    }
    assert!(stack.is_empty(), "unterminated if");
    out
}

fn values(overrides: &[(&str, serde_yaml::Value)]) -> serde_yaml::Value {
    let text = std::fs::read_to_string(root().join("deploy/helm/rampart/values.yaml")).unwrap();
    let mut v: serde_yaml::Value = serde_yaml::from_str(&text).unwrap();
    for (path, val) in overrides {
        let mut cur = &mut v;
        let parts: Vec<&str> = path.split('.').collect();
        for p in &parts[..parts.len() - 1] {
            cur = cur.get_mut(*p).unwrap();
        }
        cur[parts[parts.len() - 1]] = val.clone();
    }
    v
}

fn docs_of(text: &str) -> Vec<Value> {
    text.split("\n---")
        .filter_map(|d| {
            let v: serde_yaml::Value =
                serde_yaml::from_str(d).unwrap_or_else(|e| panic!("{e}\n{d}"));
            (!v.is_null()).then(|| serde_json::to_value(v).unwrap())
        })
        .collect()
}

/// Render the chart: one YAML stream, templates in file-name order.
fn render_chart(values: &serde_yaml::Value) -> String {
    let dir = root().join("deploy/helm/rampart/templates");
    let mut files: Vec<PathBuf> = std::fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "yaml"))
        .collect();
    files.sort();
    let mut out = String::new();
    for f in files {
        let rendered = render(&std::fs::read_to_string(&f).unwrap(), values, NAMESPACE);
        if docs_of(&rendered).is_empty() {
            continue;
        }
        let name = f.file_name().unwrap().to_string_lossy().into_owned();
        out.push_str(&format!("---\n# Source: rampart/templates/{name}\n"));
        out.push_str(rendered.trim_start_matches('\n').trim_end());
        out.push('\n');
    }
    out
}

fn find<'a>(docs: &'a [Value], kind: &str) -> Vec<&'a Value> {
    docs.iter().filter(|d| d["kind"] == kind).collect()
}

const HEADER: &str = "# Generated from deploy/helm/rampart with its default values (namespace `rampart`).\n# Do not edit: change the chart, then `RAMPART_BLESS=1 cargo test -p rampart-admission --test deploy`.\n# Create the namespace first: kubectl create namespace rampart\n";

#[test]
fn manifests_equal_the_chart_defaults() {
    let rendered = format!("{HEADER}{}", render_chart(&values(&[])));
    let path = root().join("deploy/manifests/rampart-admission.yaml");
    if std::env::var("RAMPART_BLESS").is_ok_and(|v| v == "1") {
        std::fs::write(&path, &rendered).unwrap();
    }
    let on_disk = std::fs::read_to_string(&path).unwrap();
    assert_eq!(
        docs_of(&on_disk),
        docs_of(&rendered),
        "deploy/manifests is out of date: RAMPART_BLESS=1 cargo test -p rampart-admission --test deploy"
    );
}

#[test]
fn chart_has_what_a_webhook_deployment_needs() {
    let docs = docs_of(&render_chart(&values(&[])));
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
    let docs = docs_of(&render_chart(&values(&[
        ("certManager.enabled", serde_yaml::Value::Bool(false)),
        ("caBundle", serde_yaml::Value::String("Q0E=".into())),
        ("policyReports", serde_yaml::Value::Bool(true)),
        ("mutating.enabled", serde_yaml::Value::Bool(false)),
    ])));
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
    assert_eq!(role["rules"][1]["verbs"], serde_json::json!(["create"]));
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
fn renderer_understands_what_the_templates_use() {
    let v: serde_yaml::Value = serde_yaml::from_str("a: {b: 1}\nt: true\nf: false\ns: ''").unwrap();
    assert_eq!(render("x: {{ .Values.a.b }}", &v, "ns"), "x: 1");
    assert_eq!(
        render(
            "a\n{{- if .Values.t }}\nb{{- else }}\nc{{- end }}\n",
            &v,
            "ns"
        ),
        "a\nb\n"
    );
    assert_eq!(
        render(
            "a\n{{- if .Values.f }}\nb{{- else }}\nc{{- end }}\n",
            &v,
            "ns"
        ),
        "a\nc\n"
    );
    assert_eq!(
        render(
            "{{ if .Values.s }}x{{ end }}{{ .Release.Namespace }}",
            &v,
            "ns"
        ),
        "ns"
    );
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
