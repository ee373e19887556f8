#![allow(clippy::unwrap_used, clippy::expect_used, clippy::print_stderr)]

use super::*;
use serde_json::{json, Value};

fn load_fixture(path: &std::path::Path) -> Object {
    let text = std::fs::read_to_string(path).unwrap();
    let mut l = crate::load::load_str(&text, Some("fixture.yaml"));
    assert!(l.errors.is_empty(), "{}: {:?}", path.display(), l.errors);
    assert_eq!(l.objects.len(), 1, "{}", path.display());
    l.objects.remove(0)
}

/// Kubernetes' own Pod Security Admission fixtures: every pass/fail pod of every level,
/// version and check must get PSA's verdict.
#[test]
fn psa_fixtures_every_version() {
    let Some(root) = rampart_testkit::corpus("psa-fixtures") else {
        return;
    };
    let index = std::fs::read_to_string(root.join("index.jsonl")).unwrap();
    let mut n = 0usize;
    let mut wrong = Vec::new();
    for line in index.lines().filter(|l| !l.trim().is_empty()) {
        let row: Value = serde_json::from_str(line).unwrap();
        let s = |k: &str| row[k].as_str().unwrap().to_string();
        let obj = load_fixture(&root.join(s("path")));
        let level: Level = s("level").parse().unwrap();
        let version: PssVersion = s("version").parse().unwrap();
        let ok = allowed(&obj, level, &version);
        let findings = evaluate_pss(&obj, level, &version);
        assert_eq!(ok, findings.is_empty(), "{}", s("path"));
        let expect_pass = s("expect") == "pass";
        if !expect_pass && !ok {
            // The violation maps to the fixture's check (or the check that replaces it
            // at the restricted level, as in PSA).
            let check = s("check");
            let ps = crate::podspec::pod_spec(&obj.value).unwrap();
            let got: Vec<String> = violations(&ps, level, &version)
                .into_iter()
                .map(|(c, _)| c.to_ascii_lowercase())
                .collect();
            let accept = [
                check.clone(),
                format!("{check}_baseline"),
                format!("{check}_restricted"),
                check.replace("_baseline", "_restricted"),
            ];
            if !got.iter().any(|g| accept.contains(g)) {
                wrong.push(format!(
                    "{}: violations {got:?} do not name {check}",
                    s("path")
                ));
            }
        }
        if ok != expect_pass {
            wrong.push(format!(
                "{} (got {})",
                s("path"),
                if ok { "pass" } else { "fail" }
            ));
        }
        n += 1;
    }
    eprintln!("psa-fixtures: {n} fixtures, {} wrong", wrong.len());
    assert!(n >= 4500, "only {n} fixtures");
    assert!(
        wrong.is_empty(),
        "{} wrong verdicts:\n{}",
        wrong.len(),
        wrong.join("\n")
    );
}

fn pod(spec: Value) -> Object {
    Object::from_value(
        json!({"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "p"}, "spec": spec}),
    )
}

fn restricted_ok_container() -> Value {
    json!({"name": "c", "image": "x", "securityContext": {"allowPrivilegeEscalation": false, "capabilities": {"drop": ["ALL"]}}})
}

fn ids(obj: &Object, level: Level, version: &str) -> Vec<String> {
    let mut v: Vec<String> = evaluate_pss(obj, level, &version.parse().unwrap())
        .into_iter()
        .map(|f| f.rule_id)
        .collect();
    v.dedup();
    v
}

/// One pod that must fire and one that must not, per control.
#[test]
fn each_control_fires_and_does_not_fire() {
    let base = || json!({"securityContext": {"runAsNonRoot": true, "seccompProfile": {"type": "RuntimeDefault"}}, "containers": [restricted_ok_container()]});
    let with = |patch: &dyn Fn(&mut Value)| {
        let mut s = base();
        patch(&mut s);
        pod(s)
    };
    assert!(ids(&pod(base()), Level::Restricted, "latest").is_empty());
    type Patch = Box<dyn Fn(&mut Value)>;
    let cases: Vec<(&str, Patch, Patch)> = vec![
        (
            "host-namespaces",
            Box::new(|s| s["hostPID"] = json!(true)),
            Box::new(|s| s["hostPID"] = json!(false)),
        ),
        (
            "privileged",
            Box::new(|s| s["containers"][0]["securityContext"]["privileged"] = json!(true)),
            Box::new(|s| s["containers"][0]["securityContext"]["privileged"] = json!(false)),
        ),
        (
            "capabilities-restricted",
            Box::new(|s| {
                s["containers"][0]["securityContext"]["capabilities"]["add"] = json!(["SYS_ADMIN"])
            }),
            Box::new(|s| {
                s["containers"][0]["securityContext"]["capabilities"]["add"] =
                    json!(["NET_BIND_SERVICE"])
            }),
        ),
        (
            "host-path-volumes",
            Box::new(|s| s["volumes"] = json!([{"name": "h", "hostPath": {"path": "/"}}])),
            Box::new(|s| s["volumes"] = json!([{"name": "e", "emptyDir": {}}])),
        ),
        (
            "host-ports",
            Box::new(|s| {
                s["containers"][0]["ports"] = json!([{"containerPort": 80, "hostPort": 80}])
            }),
            Box::new(|s| {
                s["containers"][0]["ports"] = json!([{"containerPort": 80, "hostPort": 0}])
            }),
        ),
        (
            "apparmor-profile",
            Box::new(|s| s["securityContext"]["appArmorProfile"] = json!({"type": "Unconfined"})),
            Box::new(|s| {
                s["securityContext"]["appArmorProfile"] = json!({"type": "RuntimeDefault"})
            }),
        ),
        (
            "selinux-options",
            Box::new(|s| s["securityContext"]["seLinuxOptions"] = json!({"type": "spc_t"})),
            Box::new(|s| {
                s["securityContext"]["seLinuxOptions"] =
                    json!({"type": "container_t", "level": "s0:c1"})
            }),
        ),
        (
            "proc-mount-restricted",
            Box::new(|s| s["containers"][0]["securityContext"]["procMount"] = json!("Unmasked")),
            Box::new(|s| s["containers"][0]["securityContext"]["procMount"] = json!("Default")),
        ),
        (
            "seccomp-profile-restricted",
            Box::new(|s| s["securityContext"]["seccompProfile"] = json!({"type": "Unconfined"})),
            Box::new(|s| {
                s["securityContext"]["seccompProfile"] =
                    json!({"type": "Localhost", "localhostProfile": "p.json"})
            }),
        ),
        (
            "sysctls",
            Box::new(|s| {
                s["securityContext"]["sysctls"] = json!([{"name": "kernel.msgmax", "value": "1"}])
            }),
            Box::new(|s| {
                s["securityContext"]["sysctls"] =
                    json!([{"name": "net.ipv4.tcp_syncookies", "value": "1"}])
            }),
        ),
        (
            "windows-host-process",
            Box::new(|s| s["securityContext"]["windowsOptions"] = json!({"hostProcess": true})),
            Box::new(|s| s["securityContext"]["windowsOptions"] = json!({"hostProcess": false})),
        ),
        (
            "host-probes-and-lifecycle",
            Box::new(|s| {
                s["containers"][0]["livenessProbe"] =
                    json!({"httpGet": {"host": "169.254.169.254", "port": 80}})
            }),
            Box::new(|s| s["containers"][0]["livenessProbe"] = json!({"httpGet": {"port": 80}})),
        ),
        (
            "restricted-volumes",
            Box::new(|s| {
                s["volumes"] = json!([{"name": "n", "nfs": {"server": "x", "path": "/"}}])
            }),
            Box::new(|s| s["volumes"] = json!([{"name": "c", "configMap": {"name": "x"}}])),
        ),
        (
            "allow-privilege-escalation",
            Box::new(|s| {
                s["containers"][0]["securityContext"]["allowPrivilegeEscalation"] = json!(true)
            }),
            Box::new(|s| {
                s["containers"][0]["securityContext"]["allowPrivilegeEscalation"] = json!(false)
            }),
        ),
        (
            "run-as-non-root",
            Box::new(|s| s["containers"][0]["securityContext"]["runAsNonRoot"] = json!(false)),
            Box::new(|s| s["containers"][0]["securityContext"]["runAsNonRoot"] = json!(true)),
        ),
        (
            "run-as-user",
            Box::new(|s| s["securityContext"]["runAsUser"] = json!(0)),
            Box::new(|s| s["securityContext"]["runAsUser"] = json!(1000)),
        ),
    ];
    for (slug, fire, quiet) in cases {
        let id = format!("k8s/pss-{slug}");
        let f = ids(&with(&*fire), Level::Restricted, "latest");
        assert!(f.contains(&id), "{id} must fire, got {f:?}");
        let q = ids(&with(&*quiet), Level::Restricted, "latest");
        assert!(q.is_empty(), "{id} must not fire, got {q:?}");
    }
    // Before v1.35 the baseline procMount control reports it.
    let mut s = base();
    s["containers"][0]["securityContext"]["procMount"] = json!("Unmasked");
    assert!(ids(&pod(s), Level::Restricted, "v1.34").contains(&"k8s/pss-proc-mount".to_string()));
}

#[test]
fn versions_and_levels() {
    let sysctl = pod(
        json!({"securityContext": {"sysctls": [{"name": "net.ipv4.tcp_keepalive_time", "value": "1"}]}, "containers": [{"name": "c"}]}),
    );
    assert_eq!(
        ids(&sysctl, Level::Baseline, "v1.28"),
        vec!["k8s/pss-sysctls"]
    );
    assert!(ids(&sysctl, Level::Baseline, "v1.29").is_empty());
    let root = pod(json!({"securityContext": {"runAsUser": 0}, "containers": [{"name": "c"}]}));
    assert!(!ids(&root, Level::Restricted, "v1.22").contains(&"k8s/pss-run-as-user".to_string()));
    assert!(ids(&root, Level::Restricted, "v1.23").contains(&"k8s/pss-run-as-user".to_string()));
    assert_eq!(level_met(&root, &PssVersion::latest()), Level::Baseline);
    let svc = Object::from_value(json!({"apiVersion": "v1", "kind": "Service"}));
    assert_eq!(level_met(&svc, &PssVersion::latest()), Level::Restricted);
    assert!("v2.0".parse::<PssVersion>().is_err());
    assert_eq!("1.25".parse::<PssVersion>().unwrap(), PssVersion::v1(25));
    assert_eq!(PssVersion::latest().to_string(), "latest");
    // Finding points at the field.
    let priv_pod =
        pod(json!({"containers": [{"name": "c", "securityContext": {"privileged": true}}]}));
    let f = evaluate_pss(&priv_pod, Level::Baseline, &PssVersion::latest());
    match &f[0].location {
        rampart_core::Location::K8sObject { field_path, .. } => {
            assert_eq!(
                field_path.as_deref(),
                Some("spec.containers[0].securityContext.privileged")
            )
        }
        other => panic!("{other:?}"),
    }
    // Context level: baseline runs no restricted control.
    let ctx = Context {
        pss_version: None,
        pss_level: Some(Level::Baseline),
    };
    let all = crate::rules::check_object(&root, &ctx);
    assert!(all.iter().all(|f| !f.rule_id.starts_with("k8s/pss-run-as")));
    assert_eq!(metas().len(), controls().len());
    for m in metas() {
        assert!(m.problems().is_empty(), "{:?}", m.problems());
    }
}
