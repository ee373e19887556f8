//! Pod-level rules: service accounts, host access through volumes, process namespace,
//! scheduling and workload shape.

use super::{fast, report, Def};
use crate::object::{join_index, join_key, Object};
use crate::podspec::PodSpec;
use crate::rules::{Entry, Rule, Subject};
use rampart_core::{Finding, Severity};
use serde_json::Value;

const SA_URL: &str =
    "https://kubernetes.io/docs/tasks/configure-pod-container/configure-service-account/";
const HOSTPATH_URL: &str = "https://kubernetes.io/docs/concepts/storage/volumes/#hostpath";

pub(super) fn rules() -> Vec<Entry> {
    vec![
        Def {
            slug: "automount-service-account-token",
            severity: Severity::Medium,
            title: "Service account token is mounted into the pod",
            description: "Unless `automountServiceAccountToken: false`, every container gets an API token at `/var/run/secrets/kubernetes.io/serviceaccount`; most applications never call the API, and an attacker who gets code execution uses the token first.",
            remediation: "Set `automountServiceAccountToken: false` in the pod spec (or on the ServiceAccount) unless the pod talks to the Kubernetes API.",
            references: &[SA_URL, "CIS Kubernetes 5.1.6"],
            peers: &["CKV_K8S_38", "polaris:automountServiceAccountToken", "kubesec:AutomountServiceAccountToken"],
            tags: &["identity"],
        }
        .rule(fast!(automount)),
        Def {
            slug: "default-service-account",
            severity: Severity::Low,
            title: "Pod runs as the namespace's default service account",
            description: "Without `serviceAccountName` the pod uses `default`, which every other workload of the namespace shares: any RBAC granted to it is granted to all of them, and nothing can be scoped to this workload.",
            remediation: "Create a dedicated ServiceAccount per workload and set `serviceAccountName`.",
            references: &[SA_URL, "CIS Kubernetes 5.1.5"],
            peers: &["kube-linter:default-service-account"],
            tags: &["identity"],
        }
        .rule(fast!(default_sa)),
        Def {
            slug: "deprecated-service-account-field",
            severity: Severity::Info,
            title: "Pod uses the deprecated `serviceAccount` field",
            description: "`spec.serviceAccount` is a deprecated alias of `serviceAccountName`; tools and policies that read only the new field miss it.",
            remediation: "Rename `serviceAccount` to `serviceAccountName`.",
            references: &["https://kubernetes.io/docs/reference/kubernetes-api/workload-resources/pod-v1/#security"],
            peers: &["kube-linter:deprecated-service-account-field"],
            tags: &["correctness"],
        }
        .rule(fast!(deprecated_sa_field)),
        Def {
            slug: "host-aliases",
            severity: Severity::Low,
            title: "Pod overrides /etc/hosts with hostAliases",
            description: "`hostAliases` rewrites name resolution inside the pod, bypassing cluster DNS: it can silently redirect traffic (also an attacker's trick), and hard-coded IPs go stale.",
            remediation: "Use DNS (a Service, ExternalName or CoreDNS configuration) instead of `hostAliases`.",
            references: &["https://kubernetes.io/docs/tasks/network/customize-hosts-file-for-pods/"],
            peers: &["trivy:KSV-0007"],
            tags: &["hardening"],
        }
        .rule(fast!(host_aliases)),
        Def {
            slug: "share-process-namespace",
            severity: Severity::Medium,
            title: "Containers share the pod's process namespace",
            description: "With `shareProcessNamespace: true` every container sees and can signal the others' processes and read their environment and filesystem through `/proc/<pid>/root`, so a compromised sidecar reads the main container's secrets.",
            remediation: "Remove `shareProcessNamespace` (use `kubectl debug` with an ephemeral container for debugging).",
            references: &["https://kubernetes.io/docs/tasks/configure-pod-container/share-process-namespace/"],
            peers: &["polaris:hostProcessNamespace"],
            tags: &["hardening"],
        }
        .rule(fast!(share_pid)),
        Def {
            slug: "pod-security-context-missing",
            severity: Severity::Low,
            title: "Pod has no securityContext",
            description: "A pod without `spec.securityContext` sets none of `runAsNonRoot`, `runAsUser`, `fsGroup`, `seccompProfile` for its containers.",
            remediation: "Add a pod `securityContext` with `runAsNonRoot: true`, a `runAsUser`, and `seccompProfile.type: RuntimeDefault`.",
            references: &["https://kubernetes.io/docs/tasks/configure-pod-container/security-context/"],
            peers: &["CKV_K8S_29"],
            tags: &["hardening"],
        }
        .rule(fast!(pod_secctx)),
        Def {
            slug: "run-as-low-uid",
            severity: Severity::Low,
            title: "Containers do not run as a high UID (10000 or above)",
            description: "A UID below 10000 may coincide with a real user of the host (or root); if the container escapes, it acts with that user's rights. Container values override the pod's, as Checkov evaluates it; pods in a user namespace (`hostUsers: false`) are not reported.",
            remediation: "Set `securityContext.runAsUser` to 10000 or above (pod or every container).",
            references: &["https://kubernetes.io/docs/tasks/configure-pod-container/security-context/"],
            peers: &["CKV_K8S_40", "kubesec:RunAsUser", "trivy:KSV-0020"],
            tags: &["hardening"],
        }
        .rule(fast!(high_uid)),
        Def {
            slug: "docker-socket-mount",
            severity: Severity::Critical,
            title: "Container runtime socket mounted into the pod",
            description: "A hostPath volume of the Docker, containerd or CRI-O socket gives the pod full control of the node's container runtime: start a privileged container, read every other container. Read-only does not help.",
            remediation: "Remove the volume. For image builds use rootless BuildKit, kaniko or buildah; for monitoring use the kubelet/CRI APIs.",
            references: &[HOSTPATH_URL],
            peers: &["CKV_K8S_27", "kube-linter:docker-sock", "polaris:dockerSocket", "kubesec:DockerSock", "trivy:KSV-0006"],
            tags: &["host"],
        }
        .rule(fast!(docker_socket)),
        Def {
            slug: "sensitive-host-path",
            severity: Severity::High,
            title: "Sensitive host directory mounted into the pod",
            description: "A hostPath volume of `/`, `/etc`, `/proc`, `/sys`, `/dev`, `/boot`, `/root`, `/var/lib/kubelet`, `/var/run`, `/etc/kubernetes` (…) exposes node credentials, kubelet and kernel interfaces to the pod.",
            remediation: "Remove the hostPath volume; use a ConfigMap, Secret, CSI driver or the downward API instead.",
            references: &[HOSTPATH_URL, "CIS Kubernetes 5.2"],
            peers: &["kube-linter:sensitive-host-mounts"],
            tags: &["host"],
        }
        .rule(fast!(sensitive_host_path)),
        Def {
            slug: "mismatching-selector",
            severity: Severity::Medium,
            title: "Workload selector does not match its pod template labels",
            description: "Every `spec.selector.matchLabels` entry must be a label of `spec.template.metadata.labels`; otherwise the API rejects the object or the controller does not manage its own pods.",
            remediation: "Make `spec.selector.matchLabels` a subset of the template's labels.",
            references: &["https://kubernetes.io/docs/concepts/workloads/controllers/deployment/#selector"],
            peers: &["kube-linter:mismatching-selector"],
            tags: &["correctness"],
        }
        .rule(fast!(mismatching_selector)),
        Def {
            slug: "no-pod-anti-affinity",
            severity: Severity::Low,
            title: "Replicated workload may put all replicas on one node",
            description: "A Deployment or StatefulSet with two or more replicas and neither `podAntiAffinity` nor `topologySpreadConstraints` can be scheduled entirely onto one node or zone, which one failure then takes down.",
            remediation: "Add `topologySpreadConstraints` (by `kubernetes.io/hostname` and zone) or a preferred `podAntiAffinity`.",
            references: &["https://kubernetes.io/docs/concepts/scheduling-eviction/topology-spread-constraints/"],
            peers: &["kube-linter:no-anti-affinity", "polaris:topologySpreadConstraint"],
            tags: &["reliability"],
        }
        .rule(fast!(anti_affinity)),
        Def {
            slug: "job-ttl-missing",
            severity: Severity::Info,
            title: "Job has no ttlSecondsAfterFinished",
            description: "Finished Jobs and their pods stay until deleted by hand, piling up objects (and the logs and secrets they reference).",
            remediation: "Set `spec.ttlSecondsAfterFinished` on standalone Jobs (CronJobs have history limits).",
            references: &["https://kubernetes.io/docs/concepts/workloads/controllers/ttlafterfinished/"],
            peers: &["kube-linter:job-ttl-seconds-after-finished"],
            tags: &["reliability"],
        }
        .rule(fast!(job_ttl)),
    ]
}

fn spec_field_or_root(ps: &PodSpec<'_>, key: &str) -> String {
    if ps.spec.get(key).is_some() {
        ps.field(key)
    } else {
        ps.path.to_string()
    }
}

fn automount(rule: &Rule, obj: &Subject<'_>, out: &mut Vec<Finding>) {
    let Some(ps) = obj.pod else {
        return;
    };
    if ps
        .spec
        .get("automountServiceAccountToken")
        .and_then(Value::as_bool)
        == Some(false)
    {
        return;
    }
    report(
        &rule.meta,
        obj,
        &spec_field_or_root(&ps, "automountServiceAccountToken"),
        "pod does not set `automountServiceAccountToken: false`".into(),
        out,
    );
}

fn default_sa(rule: &Rule, obj: &Subject<'_>, out: &mut Vec<Finding>) {
    let Some(ps) = obj.pod else {
        return;
    };
    let sa = ps
        .spec
        .get("serviceAccountName")
        .or_else(|| ps.spec.get("serviceAccount"))
        .and_then(Value::as_str)
        .unwrap_or("");
    if sa.is_empty() || sa == "default" {
        report(
            &rule.meta,
            obj,
            &spec_field_or_root(&ps, "serviceAccountName"),
            "pod uses the `default` service account".into(),
            out,
        );
    }
}

fn deprecated_sa_field(rule: &Rule, obj: &Subject<'_>, out: &mut Vec<Finding>) {
    let Some(ps) = obj.pod else {
        return;
    };
    if ps.spec.get("serviceAccount").is_some_and(|v| !v.is_null()) {
        report(
            &rule.meta,
            obj,
            &ps.field("serviceAccount"),
            "pod spec uses `serviceAccount` instead of `serviceAccountName`".into(),
            out,
        );
    }
}

fn host_aliases(rule: &Rule, obj: &Subject<'_>, out: &mut Vec<Finding>) {
    let Some(ps) = obj.pod else {
        return;
    };
    if ps
        .spec
        .get("hostAliases")
        .and_then(Value::as_array)
        .is_some_and(|a| !a.is_empty())
    {
        report(
            &rule.meta,
            obj,
            &ps.field("hostAliases"),
            "pod sets `hostAliases`".into(),
            out,
        );
    }
}

fn share_pid(rule: &Rule, obj: &Subject<'_>, out: &mut Vec<Finding>) {
    let Some(ps) = obj.pod else {
        return;
    };
    if ps
        .spec
        .get("shareProcessNamespace")
        .and_then(Value::as_bool)
        == Some(true)
    {
        report(
            &rule.meta,
            obj,
            &ps.field("shareProcessNamespace"),
            "pod sets `shareProcessNamespace: true`".into(),
            out,
        );
    }
}

fn pod_secctx(rule: &Rule, obj: &Subject<'_>, out: &mut Vec<Finding>) {
    let Some(ps) = obj.pod else {
        return;
    };
    let set = ps
        .spec
        .get("securityContext")
        .and_then(Value::as_object)
        .is_some_and(|m| !m.is_empty());
    if !set {
        report(
            &rule.meta,
            obj,
            &spec_field_or_root(&ps, "securityContext"),
            "pod has no `securityContext`".into(),
            out,
        );
    }
}

#[derive(PartialEq, Clone, Copy)]
enum Uid {
    Absent,
    High,
    Low,
}

fn uid_of(v: &Value) -> Uid {
    match v
        .get("securityContext")
        .and_then(|s| s.get("runAsUser"))
        .and_then(Value::as_i64)
    {
        None => Uid::Absent,
        Some(n) if n >= 10000 => Uid::High,
        Some(_) => Uid::Low,
    }
}

fn high_uid(rule: &Rule, obj: &Subject<'_>, out: &mut Vec<Finding>) {
    let Some(ps) = obj.pod else {
        return;
    };
    // With user namespaces (`hostUsers: false`) container UIDs never map to host UIDs.
    if ps.spec.get("hostUsers").and_then(Value::as_bool) == Some(false) {
        return;
    }
    let pod = uid_of(ps.spec);
    // Regular containers only, as Checkov; a container value overrides the pod's.
    let containers: Vec<_> = obj
        .containers
        .iter()
        .filter(|c| c.kind == crate::podspec::ContainerKind::Regular)
        .collect();
    let bad = containers.iter().find(|c| {
        let u = uid_of(c.value);
        u == Uid::Low || (u == Uid::Absent && pod != Uid::High)
    });
    let field = match bad {
        Some(c) if uid_of(c.value) == Uid::Low => {
            join_key(&join_key(&c.path, "securityContext"), "runAsUser")
        }
        Some(_) if pod == Uid::Low => join_key(&ps.field("securityContext"), "runAsUser"),
        Some(c) => c.path.clone(),
        None if containers.is_empty() && pod != Uid::High => ps.path.to_string(),
        None => return,
    };
    report(
        &rule.meta,
        obj,
        &field,
        "a container may run with a UID below 10000".into(),
        out,
    );
}

fn host_paths<'a>(ps: &PodSpec<'a>) -> Vec<(usize, &'a str)> {
    ps.spec
        .get("volumes")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .enumerate()
        .filter_map(|(i, v)| {
            v.get("hostPath")
                .and_then(|h| h.get("path"))
                .and_then(Value::as_str)
                .map(|p| (i, p))
        })
        .collect()
}

fn normalize(p: &str) -> &str {
    let t = p.trim_end_matches('/');
    if t.is_empty() {
        "/"
    } else {
        t
    }
}

fn is_runtime_socket(p: &str) -> bool {
    let p = normalize(p);
    [
        "/var/run/docker.sock",
        "/run/docker.sock",
        "/var/run/containerd/containerd.sock",
        "/run/containerd/containerd.sock",
        "/var/run/crio/crio.sock",
        "/run/crio/crio.sock",
        "/var/run/cri-dockerd.sock",
    ]
    .contains(&p)
}

fn docker_socket(rule: &Rule, obj: &Subject<'_>, out: &mut Vec<Finding>) {
    let Some(ps) = obj.pod else {
        return;
    };
    for (i, p) in host_paths(&ps) {
        if is_runtime_socket(p) {
            let field = join_key(
                &join_key(&join_index(&ps.field("volumes"), i), "hostPath"),
                "path",
            );
            report(
                &rule.meta,
                obj,
                &field,
                format!("pod mounts `{p}` from the host"),
                out,
            );
        }
    }
}

const SENSITIVE: &[&str] = &[
    "/",
    "/boot",
    "/dev",
    "/etc",
    "/lib",
    "/proc",
    "/sys",
    "/usr",
    "/root",
    "/home",
    "/var/run",
    "/run",
    "/var/lib/kubelet",
    "/var/lib/docker",
    "/var/lib/containerd",
    "/var/lib/etcd",
    "/etc/kubernetes",
    "/etc/kubernetes/pki",
];

fn sensitive_host_path(rule: &Rule, obj: &Subject<'_>, out: &mut Vec<Finding>) {
    let Some(ps) = obj.pod else {
        return;
    };
    for (i, p) in host_paths(&ps) {
        let n = normalize(p);
        if SENSITIVE.contains(&n) {
            let field = join_key(
                &join_key(&join_index(&ps.field("volumes"), i), "hostPath"),
                "path",
            );
            report(
                &rule.meta,
                obj,
                &field,
                format!("pod mounts host directory `{p}`"),
                out,
            );
        }
    }
}

fn mismatching_selector(rule: &Rule, obj: &Subject<'_>, out: &mut Vec<Finding>) {
    if !matches!(
        obj.kind(),
        "Deployment" | "StatefulSet" | "DaemonSet" | "ReplicaSet"
    ) {
        return;
    }
    let spec = obj.value.get("spec");
    let Some(sel) = spec
        .and_then(|s| s.get("selector"))
        .and_then(|s| s.get("matchLabels"))
        .and_then(Value::as_object)
    else {
        return;
    };
    let labels = spec
        .and_then(|s| s.get("template"))
        .and_then(|t| t.get("metadata"))
        .and_then(|m| m.get("labels"))
        .and_then(Value::as_object);
    for (k, v) in sel {
        if labels.and_then(|l| l.get(k)) != Some(v) {
            report(
                &rule.meta,
                obj,
                &join_key("spec.selector.matchLabels", k),
                format!("selector label `{k}` is not a label of the pod template"),
                out,
            );
            return;
        }
    }
}

/// `spec.replicas` (default 1).
pub(crate) fn replicas(obj: &Object) -> i64 {
    obj.value
        .get("spec")
        .and_then(|s| s.get("replicas"))
        .and_then(Value::as_i64)
        .unwrap_or(1)
}

fn anti_affinity(rule: &Rule, obj: &Subject<'_>, out: &mut Vec<Finding>) {
    if !matches!(obj.kind(), "Deployment" | "StatefulSet") || replicas(obj) < 2 {
        return;
    }
    let Some(ps) = obj.pod else {
        return;
    };
    let has_aa = ps
        .spec
        .get("affinity")
        .and_then(|a| a.get("podAntiAffinity"))
        .is_some();
    let has_tsc = ps
        .spec
        .get("topologySpreadConstraints")
        .and_then(Value::as_array)
        .is_some_and(|a| !a.is_empty());
    if !has_aa && !has_tsc {
        report(
            &rule.meta,
            obj,
            "spec.replicas",
            format!(
                "{} replicas without podAntiAffinity or topologySpreadConstraints",
                replicas(obj)
            ),
            out,
        );
    }
}

fn job_ttl(rule: &Rule, obj: &Subject<'_>, out: &mut Vec<Finding>) {
    if obj.kind() != "Job" {
        return;
    }
    let owned = obj
        .value
        .get("metadata")
        .and_then(|m| m.get("ownerReferences"))
        .is_some();
    let ttl = obj
        .value
        .get("spec")
        .and_then(|s| s.get("ttlSecondsAfterFinished"))
        .is_some();
    if !owned && !ttl {
        report(
            &rule.meta,
            obj,
            "spec",
            "Job has no `ttlSecondsAfterFinished`".into(),
            out,
        );
    }
}
