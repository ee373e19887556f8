//! `rampart k8s` through the real binary.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use serde_json::Value;
use std::path::Path;
use std::process::Command;

fn rampart(args: &[&str], dir: &Path) -> (i32, Value, String) {
    let out = Command::new(env!("CARGO_BIN_EXE_rampart"))
        .args(args)
        .current_dir(dir)
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout).to_string();
    let json = serde_json::from_str(&stdout).unwrap_or(Value::Null);
    (
        out.status.code().unwrap_or(-1),
        json,
        String::from_utf8_lossy(&out.stderr).to_string(),
    )
}

const DEPLOY: &str = "\
apiVersion: apps/v1
kind: Deployment
metadata:
  name: web
  namespace: prod
  annotations:
    rampart.dev/ignore: \"k8s/pss-host-namespaces: needs the node network; expires 2099-03-01\"
spec:
  selector: {matchLabels: {app: web}}
  template:
    metadata: {labels: {app: web}}
    spec:
      hostNetwork: true
      containers:
      - name: app
        image: nginx:1.25
        securityContext:
          privileged: true
";

fn findings<'a>(r: &'a Value, rule: &str) -> Vec<&'a Value> {
    r["findings"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|f| f["rule_id"] == rule)
        .collect()
}

#[test]
fn pss_findings_spans_levels_and_exceptions() {
    let d = tempfile::tempdir().unwrap();
    std::fs::write(d.path().join("deploy.yaml"), DEPLOY).unwrap();
    std::fs::write(d.path().join("values.yaml"), "replicas: 3\n").unwrap();
    std::fs::write(
        d.path().join("bad.yaml"),
        "apiVersion: v1\nkind: Pod\nmetadata: [x\n",
    )
    .unwrap();
    let (code, r, _) = rampart(&["k8s", ".", "--pss", "baseline", "-f", "json"], d.path());
    assert_eq!(code, 1, "privileged is high: gate fails");
    let p = findings(&r, "k8s/pss-privileged");
    assert_eq!(p.len(), 1);
    assert_eq!(p[0]["location"]["span"]["start_line"], 18);
    assert_eq!(p[0]["location"]["path"], "deploy.yaml");
    assert_eq!(
        p[0]["location"]["field_path"],
        "spec.template.spec.containers[0].securityContext.privileged"
    );
    let h = findings(&r, "k8s/pss-host-namespaces");
    assert_eq!(h[0]["suppression"]["reason"], "needs the node network");
    let lvl = findings(&r, "k8s/pss-level");
    assert_eq!(lvl.len(), 1);
    assert_eq!(lvl[0]["properties"]["pss_level_met"], "privileged");
    // Baseline only: no restricted control ran.
    assert!(findings(&r, "k8s/pss-run-as-non-root").is_empty());
    let errors = r["errors"].as_array().unwrap();
    assert!(
        errors
            .iter()
            .any(|e| e["path"] == "bad.yaml" && e["line"] == 3),
        "{errors:?}"
    );
}

#[test]
fn pss_version_and_ignore_file_by_object() {
    let d = tempfile::tempdir().unwrap();
    let pod = "apiVersion: v1\nkind: Pod\nmetadata: {name: p, namespace: team}\nspec:\n  securityContext:\n    sysctls:\n    - {name: net.ipv4.tcp_keepalive_time, value: '60'}\n  containers:\n  - {name: c, image: x}\n";
    std::fs::write(d.path().join("pod.yaml"), pod).unwrap();
    let (_, old, _) = rampart(
        &[
            "k8s",
            ".",
            "--pss",
            "baseline",
            "--pss-version",
            "v1.28",
            "-f",
            "json",
        ],
        d.path(),
    );
    assert_eq!(findings(&old, "k8s/pss-sysctls").len(), 1);
    let (_, new, _) = rampart(
        &[
            "k8s",
            ".",
            "--pss",
            "baseline",
            "--pss-version",
            "v1.29",
            "-f",
            "json",
        ],
        d.path(),
    );
    assert!(findings(&new, "k8s/pss-sysctls").is_empty());
    assert_eq!(
        findings(&new, "k8s/pss-level")[0]["properties"]["pss_level_met"],
        "baseline"
    );
    std::fs::write(
        d.path().join(".rampartignore.yaml"),
        "ignores:\n  - rule: k8s/pss-sysctls\n    kind: Pod\n    namespace: team\n    name: p\n    reason: tuned keepalive\n",
    )
    .unwrap();
    let (_, ig, _) = rampart(
        &["k8s", ".", "--pss-version", "v1.28", "-f", "json"],
        d.path(),
    );
    let s = findings(&ig, "k8s/pss-sysctls");
    assert_eq!(s[0]["suppression"]["kind"], "ignore_file");
    let (code, _, err) = rampart(&["k8s", ".", "--pss-version", "v9"], d.path());
    assert_eq!(code, 2, "{err}");
    assert!(err.contains("--pss-version"), "{err}");
}

#[test]
fn chart_without_helm_is_reported_skipped() {
    if rampart_k8s::render::on_path("helm").is_some() {
        return;
    }
    let d = tempfile::tempdir().unwrap();
    std::fs::create_dir_all(d.path().join("chart/templates")).unwrap();
    std::fs::write(
        d.path().join("chart/Chart.yaml"),
        "apiVersion: v2\nname: c\nversion: 0.1.0\n",
    )
    .unwrap();
    std::fs::write(
        d.path().join("chart/templates/pod.yaml"),
        "apiVersion: v1\nkind: Pod\nmetadata: {name: {{ .Release.Name }}}\n",
    )
    .unwrap();
    let (_, r, _) = rampart(&["k8s", ".", "-f", "json"], d.path());
    assert!(r["findings"].as_array().unwrap().is_empty());
    let errors = r["errors"].as_array().unwrap();
    assert!(errors.iter().any(|e| e["message"]
        .as_str()
        .unwrap()
        .contains("Helm chart skipped")));
}
