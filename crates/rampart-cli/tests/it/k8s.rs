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
    // bad.yaml was not checked: exit 2 (fail closed); with --allow-errors the gate
    // decides, and privileged is high.
    let (code, _, _) = rampart(&["k8s", ".", "--pss", "baseline", "-f", "json"], d.path());
    assert_eq!(code, 2, "bad.yaml was not checked");
    let (code, r, _) = rampart(
        &[
            "k8s",
            ".",
            "--pss",
            "baseline",
            "-f",
            "json",
            "--allow-errors",
        ],
        d.path(),
    );
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

/// A chart whose Deployment turns privileged from its values, with a partial, NOTES.txt
/// and a template that renders two documents.
fn write_chart(dir: &Path) {
    std::fs::create_dir_all(dir.join("chart/templates")).unwrap();
    let files = [
        ("chart/Chart.yaml", "apiVersion: v2\nname: web\nversion: 0.1.0\nappVersion: \"1.25\"\n"),
        ("chart/values.yaml", "privileged: false\nreplicas: 1\n"),
        ("chart/templates/_helpers.tpl", "{{- define \"web.name\" -}}{{ .Release.Name }}-web{{- end -}}\n"),
        ("chart/templates/NOTES.txt", "Installed {{ include \"web.name\" . }}.\n"),
        (
            "chart/templates/deployment.yaml",
            "apiVersion: apps/v1\nkind: Deployment\nmetadata:\n  name: {{ include \"web.name\" . }}\n  namespace: {{ .Release.Namespace }}\nspec:\n  replicas: {{ .Values.replicas }}\n  selector: {matchLabels: {app: web}}\n  template:\n    metadata: {labels: {app: web}}\n    spec:\n      containers:\n      - name: app\n        image: \"nginx:{{ .Chart.AppVersion }}\"\n        {{- if .Values.privileged }}\n        securityContext:\n          privileged: true\n        {{- end }}\n",
        ),
        (
            "chart/templates/services.yaml",
            "{{- range list \"a\" \"b\" }}\n---\napiVersion: v1\nkind: Service\nmetadata:\n  name: svc-{{ . }}\nspec:\n  type: NodePort\n  ports: [{port: 80}]\n{{- end }}\n",
        ),
    ];
    for (path, text) in files {
        std::fs::write(dir.join(path), text).unwrap();
    }
}

/// `rampart k8s` on a chart with Helm's real template engine (`helm`, or the
/// helm-python-sdk stand-in that `.ci/run` installs as `helm`): values files reach the
/// templates, every rendered object points at its template file, partials and NOTES.txt
/// are not objects, and a template error is reported while the rest is still scanned.
#[test]
fn chart_is_rendered_with_helm_and_values_files() {
    let Some(helm) = rampart_testkit::tool(
        "RAMPART_HELM",
        "helm",
        "install helm, or pip install helm-python-sdk==0.2.2 and use tools/helm-sdk-shim.py",
    ) else {
        return;
    };
    let bin_dir = helm.parent().unwrap().to_path_buf();
    let path = std::env::join_paths(
        std::iter::once(bin_dir).chain(std::env::split_paths(&std::env::var_os("PATH").unwrap())),
    )
    .unwrap();
    let run = |args: &[&str], dir: &Path| {
        let out = Command::new(env!("CARGO_BIN_EXE_rampart"))
            .args(args)
            .current_dir(dir)
            .env("PATH", &path)
            .output()
            .unwrap();
        let stderr = String::from_utf8_lossy(&out.stderr).to_string();
        let json: Value =
            serde_json::from_slice(&out.stdout).unwrap_or_else(|e| panic!("{e}: {stderr}"));
        (out.status.code(), json, stderr)
    };
    let d = tempfile::tempdir().unwrap();
    write_chart(d.path());
    std::fs::write(
        d.path().join("prod.yaml"),
        "privileged: true\nreplicas: 3\n",
    )
    .unwrap();

    let (_, r, err) = run(&["k8s", ".", "-f", "json"], d.path());
    assert!(r["errors"].as_array().unwrap().is_empty(), "{r:#} {err}");
    assert!(findings(&r, "k8s/pss-privileged").is_empty());
    let nodeport = findings(&r, "k8s/service-node-port");
    let mut names: Vec<&str> = nodeport
        .iter()
        .map(|f| f["location"]["object"]["name"].as_str().unwrap())
        .collect();
    names.sort_unstable();
    assert_eq!(names, ["svc-a", "svc-b"], "both documents of one template");
    for f in r["findings"].as_array().unwrap() {
        let p = f["location"]["path"].as_str().unwrap();
        assert!(
            p == "chart/templates/deployment.yaml" || p == "chart/templates/services.yaml",
            "{p}"
        );
    }
    // The release name and namespace reach the templates.
    let any_deploy = r["findings"]
        .as_array()
        .unwrap()
        .iter()
        .find(|f| f["location"]["object"]["kind"] == "Deployment")
        .expect("some Deployment finding");
    assert_eq!(any_deploy["location"]["object"]["name"], "rampart-web");

    let (code, r, _) = run(
        &["k8s", ".", "--values", "prod.yaml", "-f", "json"],
        d.path(),
    );
    assert_eq!(code, Some(1));
    let p = findings(&r, "k8s/pss-privileged");
    assert_eq!(p.len(), 1, "{r:#}");
    assert_eq!(p[0]["location"]["path"], "chart/templates/deployment.yaml");
    // The field's line in the template (`privileged: true` is verbatim there).
    assert_eq!(p[0]["location"]["span"]["start_line"], 17, "{:#}", p[0]);
    // A templated value maps by its key (`image: "nginx:{{ .Chart.AppVersion }}"`).
    let digest = findings(&r, "k8s/image-without-digest");
    assert_eq!(digest.len(), 1, "{r:#}");
    assert_eq!(digest[0]["location"]["span"]["start_line"], 14);

    // The release namespace: Helm's `default` is reported; `--helm-namespace` sets it.
    let in_default = |r: &Value| {
        findings(r, "k8s/default-namespace")
            .iter()
            .any(|f| f["location"]["object"]["kind"] == "Deployment")
    };
    assert!(in_default(&r));
    let (_, r, _) = run(
        &["k8s", ".", "--helm-namespace", "shop", "-f", "json"],
        d.path(),
    );
    assert!(!in_default(&r), "{r:#}");
    assert!(r["findings"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|f| f["location"]["object"]["kind"] == "Deployment")
        .all(|f| f["location"]["object"]["namespace"] == "shop"));

    // A template error: the chart is reported skipped with Helm's message; the plain
    // manifest beside it is still scanned.
    std::fs::write(
        d.path().join("chart/templates/broken.yaml"),
        "kind: {{ .Values.nope.deeper }}\n",
    )
    .unwrap();
    std::fs::write(d.path().join("deploy.yaml"), DEPLOY).unwrap();
    let (_, r, _) = run(&["k8s", ".", "-f", "json"], d.path());
    let errors = r["errors"].as_array().unwrap();
    assert!(
        errors.iter().any(|e| e["path"] == "chart"
            && e["message"]
                .as_str()
                .unwrap()
                .contains("helm template failed")
            && e["message"].as_str().unwrap().contains("broken.yaml")),
        "{errors:#?}"
    );
    assert!(!findings(&r, "k8s/pss-privileged").is_empty());
    assert!(findings(&r, "k8s/pss-privileged")
        .iter()
        .all(|f| f["location"]["path"] == "deploy.yaml"));
}

#[test]
fn chart_without_helm_is_reported_skipped() {
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
    // No helm on PATH (kubectl is not needed either: there is no kustomization).
    let out = Command::new(env!("CARGO_BIN_EXE_rampart"))
        .args(["k8s", ".", "-f", "json"])
        .current_dir(d.path())
        .env("PATH", "/nonexistent")
        .output()
        .unwrap();
    let r: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert!(r["findings"].as_array().unwrap().is_empty());
    let errors = r["errors"].as_array().unwrap();
    assert!(errors.iter().any(|e| e["message"]
        .as_str()
        .unwrap()
        .contains("Helm chart skipped")));
    // A chart that was not rendered was not checked: the gate must not pass (was exit 0).
    assert_eq!(
        out.status.code(),
        Some(2),
        "a skipped chart passed the gate"
    );
}

/// A reader that stops early (`rampart k8s -f json | head`) is not an error: every
/// format exits 0 with nothing on stderr, also when the report is streamed.
#[test]
fn closed_stdout_is_not_an_error() {
    use std::io::Read as _;
    let d = tempfile::tempdir().unwrap();
    let mut many = String::new();
    for i in 0..300 {
        many.push_str(&format!(
            "---\napiVersion: v1\nkind: Pod\nmetadata: {{name: p{i}}}\nspec:\n  containers:\n  - {{name: c, image: nginx}}\n"
        ));
    }
    std::fs::write(d.path().join("pods.yaml"), many).unwrap();
    for format in ["json", "sarif", "table"] {
        let mut child = Command::new(env!("CARGO_BIN_EXE_rampart"))
            .args(["k8s", ".", "--fail-on", "none", "-f", format])
            .current_dir(d.path())
            .stdout(std::process::Stdio::piped())
            .stderr(std::process::Stdio::piped())
            .spawn()
            .unwrap();
        let mut first = [0u8; 64];
        child.stdout.take().unwrap().read_exact(&mut first).unwrap();
        // stdout is dropped here: the rest of the report hits a closed pipe.
        let out = child.wait_with_output().unwrap();
        assert_eq!(
            out.status.code(),
            Some(0),
            "{format}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        assert!(
            !String::from_utf8_lossy(&out.stderr).contains("error"),
            "{format}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
    }
}
