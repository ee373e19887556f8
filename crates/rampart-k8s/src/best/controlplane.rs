//! Control-plane flags of static pods (kube-apiserver, etcd, kubelet) as the CIS
//! Kubernetes Benchmark and Checkov check them: a container whose `command` runs the
//! binary, flags read from `command` and `args` (`--flag=value` or `--flag value`).

use super::{each_container, fast, Def};
use crate::object::{join_index, join_key};
use crate::podspec::Container;
use crate::rules::{Entry, Rule, Subject};
use rampart_core::{Finding, Severity};
use serde_json::Value;

#[derive(Clone, Copy)]
enum Want {
    /// The flag must be present with this value.
    Equals(&'static str),
    /// The flag must not be present.
    Absent,
    /// The flag must be present (any value).
    Present,
    /// If present, its comma-separated value must not contain this item.
    NotContains(&'static str),
    /// If present, its value must not be this one.
    NotEquals(&'static str),
}

struct Spec {
    slug: &'static str,
    binary: &'static str,
    flag: &'static str,
    want: Want,
    severity: Severity,
    title: &'static str,
    description: &'static str,
    remediation: &'static str,
    peer: &'static str,
}

const CIS: &str = "https://www.cisecurity.org/benchmark/kubernetes";
const APISERVER_URL: &str =
    "https://kubernetes.io/docs/reference/command-line-tools-reference/kube-apiserver/";

const SPECS: &[Spec] = &[
    Spec {
        slug: "apiserver-anonymous-auth",
        binary: "kube-apiserver",
        flag: "--anonymous-auth",
        want: Want::Equals("false"),
        severity: Severity::High,
        title: "kube-apiserver allows anonymous requests",
        description: "Without `--anonymous-auth=false` requests without credentials are served as `system:anonymous`; any RBAC mistake on that user is then reachable by anyone. (CIS 1.2.1)",
        remediation: "Pass `--anonymous-auth=false` to kube-apiserver.",
        peer: "CKV_K8S_68",
    },
    Spec {
        slug: "apiserver-basic-auth-file",
        binary: "kube-apiserver",
        flag: "--basic-auth-file",
        want: Want::Absent,
        severity: Severity::High,
        title: "kube-apiserver uses static basic-auth passwords",
        description: "`--basic-auth-file` holds plaintext passwords that cannot be rotated without a restart (removed in v1.19). (CIS 1.2.2)",
        remediation: "Remove `--basic-auth-file`; use certificates, OIDC or webhook token authentication.",
        peer: "CKV_K8S_69",
    },
    Spec {
        slug: "apiserver-token-auth-file",
        binary: "kube-apiserver",
        flag: "--token-auth-file",
        want: Want::Absent,
        severity: Severity::High,
        title: "kube-apiserver uses a static token file",
        description: "`--token-auth-file` tokens are long-lived plaintext secrets on the control-plane disk, valid until the API server restarts. (CIS 1.2.3)",
        remediation: "Remove `--token-auth-file`; use certificates, OIDC or service-account tokens.",
        peer: "CKV_K8S_70",
    },
    Spec {
        slug: "apiserver-kubelet-https",
        binary: "kube-apiserver",
        flag: "--kubelet-https",
        want: Want::NotEquals("false"),
        severity: Severity::High,
        title: "kube-apiserver talks to kubelets over plain HTTP",
        description: "`--kubelet-https=false` sends exec/log/port-forward traffic and credentials to kubelets unencrypted. (CIS 1.2.4)",
        remediation: "Remove `--kubelet-https=false`.",
        peer: "CKV_K8S_71",
    },
    Spec {
        slug: "apiserver-always-allow",
        binary: "kube-apiserver",
        flag: "--authorization-mode",
        want: Want::NotContains("AlwaysAllow"),
        severity: Severity::Critical,
        title: "kube-apiserver authorization mode AlwaysAllow",
        description: "`--authorization-mode=AlwaysAllow` authorises every authenticated request: RBAC is off. (CIS 1.2.7)",
        remediation: "Use `--authorization-mode=Node,RBAC`.",
        peer: "CKV_K8S_74",
    },
    Spec {
        slug: "apiserver-always-admit",
        binary: "kube-apiserver",
        flag: "--enable-admission-plugins",
        want: Want::NotContains("AlwaysAdmit"),
        severity: Severity::High,
        title: "kube-apiserver enables the AlwaysAdmit admission plugin",
        description: "`AlwaysAdmit` admits every request, whatever the other admission plugins say. (CIS 1.2.11)",
        remediation: "Remove `AlwaysAdmit` from `--enable-admission-plugins`.",
        peer: "CKV_K8S_79",
    },
    Spec {
        slug: "apiserver-insecure-bind-address",
        binary: "kube-apiserver",
        flag: "--insecure-bind-address",
        want: Want::Absent,
        severity: Severity::Critical,
        title: "kube-apiserver binds its insecure port to an address",
        description: "`--insecure-bind-address` serves the API without authentication or authorisation on that address. (CIS 1.2.18)",
        remediation: "Remove `--insecure-bind-address`.",
        peer: "CKV_K8S_86",
    },
    Spec {
        slug: "apiserver-insecure-port",
        binary: "kube-apiserver",
        flag: "--insecure-port",
        want: Want::Equals("0"),
        severity: Severity::Critical,
        title: "kube-apiserver insecure port not disabled",
        description: "Unless `--insecure-port=0`, older API servers serve unauthenticated, unauthorised HTTP on port 8080. (CIS 1.2.19)",
        remediation: "Pass `--insecure-port=0` (or upgrade to v1.24+, where the flag is gone).",
        peer: "CKV_K8S_88",
    },
    Spec {
        slug: "apiserver-profiling",
        binary: "kube-apiserver",
        flag: "--profiling",
        want: Want::Equals("false"),
        severity: Severity::Low,
        title: "kube-apiserver profiling is enabled",
        description: "Profiling endpoints reveal detailed system and program data and cost performance. (CIS 1.2.21)",
        remediation: "Pass `--profiling=false`.",
        peer: "CKV_K8S_90",
    },
    Spec {
        slug: "apiserver-audit-log",
        binary: "kube-apiserver",
        flag: "--audit-log-path",
        want: Want::Present,
        severity: Severity::Medium,
        title: "kube-apiserver has no audit log",
        description: "Without `--audit-log-path` there is no record of who did what in the cluster. (CIS 1.2.22)",
        remediation: "Pass `--audit-log-path` and an `--audit-policy-file`.",
        peer: "CKV_K8S_91",
    },
    Spec {
        slug: "apiserver-encryption-provider",
        binary: "kube-apiserver",
        flag: "--encryption-provider-config",
        want: Want::Present,
        severity: Severity::Medium,
        title: "kube-apiserver does not encrypt Secrets at rest",
        description: "Without `--encryption-provider-config` Secrets are stored in etcd as base64 only: an etcd backup is a copy of every credential. (CIS 1.2.33)",
        remediation: "Configure an `EncryptionConfiguration` (KMS v2 preferred) and pass `--encryption-provider-config`.",
        peer: "CKV_K8S_104",
    },
    Spec {
        slug: "etcd-auto-tls",
        binary: "etcd",
        flag: "--auto-tls",
        want: Want::NotEquals("true"),
        severity: Severity::High,
        title: "etcd uses self-signed client certificates (auto-tls)",
        description: "`--auto-tls=true` makes etcd generate self-signed certificates, so clients cannot authenticate it. (CIS 2.3)",
        remediation: "Remove `--auto-tls=true`; configure `--cert-file`/`--key-file` from your CA.",
        peer: "CKV_K8S_118",
    },
    Spec {
        slug: "kubelet-anonymous-auth",
        binary: "kubelet",
        flag: "--anonymous-auth",
        want: Want::Equals("false"),
        severity: Severity::High,
        title: "kubelet allows anonymous requests",
        description: "Without `--anonymous-auth=false` the kubelet API (exec, logs, pods) accepts unauthenticated requests. (CIS 4.2.1)",
        remediation: "Pass `--anonymous-auth=false` to the kubelet (or `authentication.anonymous.enabled: false`).",
        peer: "CKV_K8S_138",
    },
    Spec {
        slug: "kubelet-read-only-port",
        binary: "kubelet",
        flag: "--read-only-port",
        want: Want::Equals("0"),
        severity: Severity::Medium,
        title: "kubelet read-only port is open",
        description: "The kubelet read-only port (10255) serves pod specs and metrics without authentication. (CIS 4.2.4)",
        remediation: "Pass `--read-only-port=0`.",
        peer: "CKV_K8S_141",
    },
];

pub(super) fn rules() -> Vec<Entry> {
    SPECS
        .iter()
        .map(|s| {
            Def {
                slug: s.slug,
                severity: s.severity,
                title: s.title,
                description: s.description,
                remediation: s.remediation,
                references: &[CIS, APISERVER_URL],
                peers: std::slice::from_ref(&s.peer),
                tags: &["control-plane"],
            }
            .rule(fast!(check))
        })
        .collect()
}

/// `(field path, value)` of each `--flag` in `command` then `args`.
fn flags<'a>(c: &Container<'a>) -> Vec<(String, &'a str, Option<&'a str>)> {
    let mut out = Vec::new();
    for key in ["command", "args"] {
        let Some(list) = c.value.get(key).and_then(Value::as_array) else {
            continue;
        };
        let list_path = join_key(&c.path, key);
        for (i, item) in list.iter().enumerate() {
            let Some(s) = item.as_str() else { continue };
            if !s.starts_with("--") {
                continue;
            }
            let (name, value) = match s.split_once('=') {
                Some((n, v)) => (n, Some(v)),
                None => (
                    s,
                    list.get(i + 1)
                        .and_then(Value::as_str)
                        .filter(|v| !v.starts_with("--")),
                ),
            };
            out.push((join_index(&list_path, i), name, value));
        }
    }
    out
}

fn runs(c: &Container<'_>, binary: &str) -> bool {
    c.value
        .get("command")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .filter_map(Value::as_str)
        .any(|s| s.rsplit('/').next() == Some(binary))
}

fn check(rule: &Rule, obj: &Subject<'_>, out: &mut Vec<Finding>) {
    let slug = rule.meta.id.strip_prefix("k8s/").unwrap_or("");
    let Some(spec) = SPECS.iter().find(|s| s.slug == slug) else {
        return;
    };
    each_container(rule, obj, out, |c, _| {
        if !runs(c, spec.binary) {
            return None;
        }
        let fl = flags(c);
        let found = fl.iter().find(|(_, n, _)| *n == spec.flag);
        let cmd = join_key(&c.path, "command");
        let bad = match (spec.want, found) {
            (Want::Equals(v), Some((p, _, val))) => (*val != Some(v)).then(|| p.clone()),
            (Want::Equals(_) | Want::Present, None) => Some(cmd),
            (Want::Present, Some(_)) => None,
            (Want::Absent, Some((p, _, _))) => Some(p.clone()),
            (Want::Absent | Want::NotContains(_) | Want::NotEquals(_), None) => None,
            (Want::NotContains(x), Some((p, _, val))) => val
                .is_some_and(|v| v.split(',').any(|m| m.trim() == x))
                .then(|| p.clone()),
            (Want::NotEquals(x), Some((p, _, val))) => (*val == Some(x)).then(|| p.clone()),
        };
        bad.map(|field| {
            let how = match spec.want {
                Want::Equals(v) => format!("does not pass `{}={v}`", spec.flag),
                Want::Present => format!("does not pass `{}`", spec.flag),
                Want::Absent => format!("passes `{}`", spec.flag),
                Want::NotContains(x) => format!("includes `{x}` in `{}`", spec.flag),
                Want::NotEquals(x) => format!("passes `{}={x}`", spec.flag),
            };
            (field, format!("{} {how}", spec.binary))
        })
    });
}
