//! Per-container rules: resources, probes, images, environment, capabilities, ports.

use super::{cname, each_container, fast, parse_image, str_list, Def};
use crate::object::{join_index, join_key};
use crate::podspec::{Container, ContainerKind, PodSpec};
use crate::rules::{Entry, Rule, Subject};
use rampart_core::{Finding, Severity};
use serde_json::Value;

const RESOURCES_URL: &str =
    "https://kubernetes.io/docs/concepts/configuration/manage-resources-containers/";
const PROBES_URL: &str = "https://kubernetes.io/docs/tasks/configure-pod-container/configure-liveness-readiness-startup-probes/";
const IMAGES_URL: &str = "https://kubernetes.io/docs/concepts/containers/images/";
const SECCTX_URL: &str =
    "https://kubernetes.io/docs/tasks/configure-pod-container/security-context/";

pub(super) fn rules() -> Vec<Entry> {
    vec![
        Def {
            slug: "cpu-requests-missing",
            severity: Severity::Low,
            title: "Container has no CPU request",
            description: "Without `resources.requests.cpu` the scheduler cannot place the pod by its real needs and the container gets the lowest CPU share under contention (BestEffort/Burstable QoS).",
            remediation: "Set `resources.requests.cpu` on every container (and init container), e.g. `cpu: 100m`.",
            references: &[RESOURCES_URL, "CIS Kubernetes 5.7 (resource management)"],
            peers: &["CKV_K8S_10", "kube-linter:unset-cpu-requirements", "polaris:cpuRequestsMissing", "kubesec:RequestsCPU", "trivy:KSV-0015"],
            tags: &["resources"],
        }
        .rule(fast!(cpu_requests)),
        Def {
            slug: "cpu-limits-missing",
            severity: Severity::Low,
            title: "Container has no CPU limit",
            description: "Without `resources.limits.cpu` a container can use every CPU of the node, starving its neighbours (noisy neighbour, denial of service).",
            remediation: "Set `resources.limits.cpu`, or enforce a default with a `LimitRange` in the namespace.",
            references: &[RESOURCES_URL],
            peers: &["CKV_K8S_11", "kube-linter:unset-cpu-requirements", "polaris:cpuLimitsMissing", "kubesec:LimitsCPU", "trivy:KSV-0011"],
            tags: &["resources"],
        }
        .rule(fast!(cpu_limits)),
        Def {
            slug: "memory-requests-missing",
            severity: Severity::Low,
            title: "Container has no memory request",
            description: "Without `resources.requests.memory` the pod may be scheduled on a node without room for it and is among the first evicted under memory pressure.",
            remediation: "Set `resources.requests.memory` on every container, e.g. `memory: 128Mi`.",
            references: &[RESOURCES_URL],
            peers: &["CKV_K8S_12", "kube-linter:unset-memory-requirements", "polaris:memoryRequestsMissing", "kubesec:RequestsMemory", "trivy:KSV-0016"],
            tags: &["resources"],
        }
        .rule(fast!(memory_requests)),
        Def {
            slug: "memory-limits-missing",
            severity: Severity::Medium,
            title: "Container has no memory limit",
            description: "Without `resources.limits.memory` a leaking or compromised container can exhaust the node's memory and get other workloads OOM-killed.",
            remediation: "Set `resources.limits.memory`, or enforce a default with a `LimitRange`.",
            references: &[RESOURCES_URL],
            peers: &["CKV_K8S_13", "kube-linter:unset-memory-requirements", "polaris:memoryLimitsMissing", "kubesec:LimitsMemory", "trivy:KSV-0018"],
            tags: &["resources"],
        }
        .rule(fast!(memory_limits)),
        Def {
            slug: "liveness-probe-missing",
            severity: Severity::Low,
            title: "Container has no liveness probe",
            description: "Without a `livenessProbe` the kubelet cannot restart a container that is running but hung. Jobs, CronJobs, init and ephemeral containers are not checked.",
            remediation: "Add a `livenessProbe` (HTTP, TCP, gRPC or exec) that fails when the process is stuck.",
            references: &[PROBES_URL],
            peers: &["CKV_K8S_8", "kube-linter:no-liveness-probe", "polaris:livenessProbeMissing"],
            tags: &["reliability"],
        }
        .rule(fast!(liveness)),
        Def {
            slug: "readiness-probe-missing",
            severity: Severity::Low,
            title: "Container has no readiness probe",
            description: "Without a `readinessProbe` traffic is sent to the container as soon as it starts, before it can serve, and keeps being sent when it cannot. Jobs, CronJobs, init and ephemeral containers are not checked.",
            remediation: "Add a `readinessProbe` that succeeds only when the container can serve requests.",
            references: &[PROBES_URL],
            peers: &["CKV_K8S_9", "kube-linter:no-readiness-probe", "polaris:readinessProbeMissing"],
            tags: &["reliability"],
        }
        .rule(fast!(readiness)),
        Def {
            slug: "image-tag-latest",
            severity: Severity::Medium,
            title: "Container image uses the `latest` tag",
            description: "`:latest` is mutable: what runs depends on when the node pulled it, rollbacks are impossible and a poisoned push is deployed silently. An image pinned by digest is not reported.",
            remediation: "Pin a version tag (`nginx:1.27.2`), better a digest (`nginx@sha256:…`).",
            references: &[IMAGES_URL],
            peers: &["CKV_K8S_14", "kube-linter:latest-tag", "polaris:tagNotSpecified", "trivy:KSV-0013"],
            tags: &["supply-chain"],
        }
        .rule(fast!(image_latest)),
        Def {
            slug: "image-tag-missing",
            severity: Severity::Medium,
            title: "Container image has no tag (or no image at all)",
            description: "An image without tag or digest means `:latest`, with the same problems: mutable, not reproducible, not roll-backable. A container without any `image` is also reported.",
            remediation: "Pin a version tag, better a digest (`image: registry/app:1.4.2@sha256:…`).",
            references: &[IMAGES_URL],
            peers: &["CKV_K8S_14", "kube-linter:latest-tag", "polaris:tagNotSpecified", "trivy:KSV-0013"],
            tags: &["supply-chain"],
        }
        .rule(fast!(image_untagged)),
        Def {
            slug: "image-without-digest",
            severity: Severity::Low,
            title: "Container image is not pinned by digest",
            description: "Tags can be moved to other content; only a digest (`@sha256:…`) names immutable content, so what was scanned and signed is what runs.",
            remediation: "Reference images by digest (`app:1.4.2@sha256:…`); tools like Renovate or `crane digest` keep digests current.",
            references: &[IMAGES_URL, "https://slsa.dev/"],
            peers: &["CKV_K8S_43"],
            tags: &["supply-chain"],
        }
        .rule(fast!(image_digest)),
        Def {
            slug: "image-pull-policy-not-always",
            severity: Severity::Low,
            title: "Image pull policy is not `Always`",
            description: "With `IfNotPresent` (the default for a fixed tag) a node reuses a cached image: a re-pushed tag is not picked up and the registry's pull authorisation (imagePullSecrets) is not re-checked, so any pod on the node may run a private image another pod pulled. Follows Checkov's semantics: unset counts as `Always` only for `:latest` or untagged images.",
            remediation: "Set `imagePullPolicy: Always` (cheap with a registry cache), or enable the `AlwaysPullImages` admission plugin.",
            references: &["https://kubernetes.io/docs/concepts/containers/images/#image-pull-policy"],
            peers: &["CKV_K8S_15", "polaris:pullPolicyNotAlways"],
            tags: &["supply-chain"],
        }
        .rule(fast!(pull_policy)),
        Def {
            slug: "env-secret-literal",
            severity: Severity::High,
            title: "Secret-looking environment variable has a literal value",
            description: "An environment variable whose name says password, secret, token or key has its value written in the manifest: the secret lives in the repository, in `kubectl get -o yaml` output and in every copy of the manifest.",
            remediation: "Move the value into a Secret (from External Secrets, Sealed Secrets or Vault) and reference it with `valueFrom.secretKeyRef`, better mount it as a file.",
            references: &["https://kubernetes.io/docs/concepts/configuration/secret/", "CWE-798"],
            peers: &["kube-linter:env-var-secret", "polaris:sensitiveContainerEnvVar"],
            tags: &["secrets"],
        }
        .rule(fast!(env_secret_literal)),
        Def {
            slug: "env-secret-ref",
            severity: Severity::Low,
            title: "Secret exposed as an environment variable",
            description: "`valueFrom.secretKeyRef` / `envFrom.secretRef` put the secret in the process environment, where it is inherited by child processes, shown by crash reporters and `/proc/<pid>/environ`, and often logged. Files are safer and can be rotated without a restart.",
            remediation: "Mount the Secret as a volume (`volumes[].secret`) and read it from the file.",
            references: &["https://kubernetes.io/docs/concepts/configuration/secret/#using-secrets-as-files-from-a-pod", "CIS Kubernetes 5.4.1"],
            peers: &["CKV_K8S_35"],
            tags: &["secrets"],
        }
        .rule(fast!(env_secret_ref)),
        Def {
            slug: "read-only-root-filesystem",
            severity: Severity::Medium,
            title: "Container root filesystem is writable",
            description: "Without `securityContext.readOnlyRootFilesystem: true` an attacker in the container can drop tools and binaries, modify the application and persist across process restarts.",
            remediation: "Set `securityContext.readOnlyRootFilesystem: true` and mount an `emptyDir` where the application must write (`/tmp`, caches).",
            references: &[SECCTX_URL],
            peers: &["CKV_K8S_22", "kube-linter:no-read-only-root-fs", "polaris:notReadOnlyRootFilesystem", "kubesec:ReadOnlyRootFilesystem", "trivy:KSV-0014"],
            tags: &["hardening"],
        }
        .rule(fast!(read_only_root)),
        Def {
            slug: "net-raw-capability",
            severity: Severity::Medium,
            title: "Container keeps the NET_RAW capability",
            description: "NET_RAW is in the default capability set of most runtimes; it allows raw and packet sockets, so a compromised container can spoof packets, sniff and ARP/DNS-poison its node network. The container neither drops `NET_RAW` nor `ALL` (or adds it back).",
            remediation: "Add `securityContext.capabilities.drop: [\"ALL\"]` (or at least `NET_RAW`) and add back only what is needed.",
            references: &[SECCTX_URL, "CIS Kubernetes 5.2.7"],
            peers: &["CKV_K8S_28", "trivy:KSV-0119"],
            tags: &["hardening"],
        }
        .rule(fast!(net_raw)),
        Def {
            slug: "cap-sys-admin",
            severity: Severity::High,
            title: "Container adds CAP_SYS_ADMIN",
            description: "SYS_ADMIN is \"the new root\": mount, namespaces, BPF, many kernel interfaces. With it a container escape is usually a few commands away.",
            remediation: "Remove `SYS_ADMIN` from `securityContext.capabilities.add`; find the narrower capability the workload needs.",
            references: &[SECCTX_URL, "https://man7.org/linux/man-pages/man7/capabilities.7.html"],
            peers: &["CKV_K8S_39", "kubesec:CapSysAdmin", "trivy:KSV-0005"],
            tags: &["hardening"],
        }
        .rule(fast!(cap_sys_admin)),
        Def {
            slug: "capabilities-added",
            severity: Severity::Low,
            title: "Container adds Linux capabilities",
            description: "Every capability added beyond the runtime's default set widens what a compromised process can do to the kernel. Pod Security `baseline` allows some additions; this rule reports any.",
            remediation: "Remove `securityContext.capabilities.add`, or justify each entry (suppress with a reason).",
            references: &[SECCTX_URL, "CIS Kubernetes 5.2.8"],
            peers: &["CKV_K8S_25", "trivy:KSV-0022"],
            tags: &["hardening"],
        }
        .rule(fast!(caps_added)),
        Def {
            slug: "container-security-context-missing",
            severity: Severity::Low,
            title: "Container has no securityContext",
            description: "A container without `securityContext` runs with every runtime default: writable root filesystem, privilege escalation allowed, default capabilities, whatever user the image says.",
            remediation: "Give each container a `securityContext` with at least `allowPrivilegeEscalation: false`, `readOnlyRootFilesystem: true`, `runAsNonRoot: true` and `capabilities.drop: [\"ALL\"]`.",
            references: &[SECCTX_URL],
            peers: &["CKV_K8S_30"],
            tags: &["hardening"],
        }
        .rule(fast!(container_secctx)),
        Def {
            slug: "kubernetes-dashboard",
            severity: Severity::Medium,
            title: "Kubernetes dashboard is deployed",
            description: "The Kubernetes dashboard has a long history of being exposed with cluster-admin rights (Tesla's cryptojacking incident). Reported when an image is `kubernetes-dashboard`/`kubernetesui` or the pod is labelled `app`/`k8s-app: kubernetes-dashboard`.",
            remediation: "Do not deploy the dashboard in production clusters; if needed, bind it to a read-only role and reach it only through `kubectl proxy`.",
            references: &["https://github.com/kubernetes/dashboard"],
            peers: &["CKV_K8S_33"],
            tags: &["exposure"],
        }
        .rule(fast!(dashboard)),
        Def {
            slug: "tiller-deployed",
            severity: Severity::High,
            title: "Helm v2 Tiller is deployed",
            description: "Tiller (Helm 2, end of life since 2020) runs with cluster-admin rights and an unauthenticated gRPC endpoint: anyone who reaches port 44134 controls the cluster.",
            remediation: "Migrate to Helm 3 (no in-cluster component) and remove Tiller.",
            references: &["https://helm.sh/docs/faq/changes_since_helm2/#removal-of-tiller"],
            peers: &["CKV_K8S_34"],
            tags: &["exposure"],
        }
        .rule(fast!(tiller)),
        Def {
            slug: "tiller-listener",
            severity: Severity::High,
            title: "Tiller listens on all interfaces",
            description: "A Tiller container without `--listen=localhost:44134` (or `127.0.0.1`) accepts unauthenticated gRPC from every pod in the cluster.",
            remediation: "Remove Tiller; until then pass `--listen=localhost:44134`.",
            references: &["https://helm.sh/docs/faq/changes_since_helm2/#removal-of-tiller"],
            peers: &["CKV_K8S_45"],
            tags: &["exposure"],
        }
        .rule(fast!(tiller_listener)),
        Def {
            slug: "ssh-port-exposed",
            severity: Severity::Medium,
            title: "Container exposes port 22 (SSH)",
            description: "An SSH server in a container is a second, usually less audited, way in; containers are replaced, not logged into.",
            remediation: "Remove the SSH server and port; use `kubectl exec`/`kubectl debug` with RBAC and audit logging.",
            references: &["https://docs.kubelinter.io/#/generated/checks?id=ssh-port"],
            peers: &["kube-linter:ssh-port"],
            tags: &["exposure"],
        }
        .rule(fast!(ssh_port)),
        Def {
            slug: "privileged-port",
            severity: Severity::Low,
            title: "Container listens on a privileged port (below 1024)",
            description: "Binding a port below 1024 needs root or `NET_BIND_SERVICE` in the container, which non-root hardening otherwise avoids.",
            remediation: "Listen on a port of 1024 or above and map it in the Service (`port: 80, targetPort: 8080`).",
            references: &["https://docs.kubelinter.io/#/generated/checks?id=privileged-ports"],
            peers: &["kube-linter:privileged-ports", "trivy:KSV-0117"],
            tags: &["hardening"],
        }
        .rule(fast!(privileged_port)),
        Def {
            slug: "writable-host-mount",
            severity: Severity::Medium,
            title: "Container mounts a hostPath volume writable",
            description: "A writable hostPath mount lets the container change the node's files: plant binaries, cron jobs, kubelet config or other pods' data.",
            remediation: "Set `readOnly: true` on the `volumeMounts` entry, or replace the hostPath volume.",
            references: &["https://kubernetes.io/docs/concepts/storage/volumes/#hostpath"],
            peers: &["kube-linter:writable-host-mount"],
            tags: &["hardening"],
        }
        .rule(fast!(writable_host_mount)),
        Def {
            slug: "duplicate-env-var",
            severity: Severity::Low,
            title: "Environment variable defined twice",
            description: "When a container's `env` lists the same name twice the last one silently wins, which hides configuration mistakes (and sometimes an overridden security setting).",
            remediation: "Keep one entry per variable name.",
            references: &["https://docs.kubelinter.io/#/generated/checks?id=duplicate-env-var"],
            peers: &["kube-linter:duplicate-env-var"],
            tags: &["correctness"],
        }
        .rule(fast!(duplicate_env)),
        Def {
            slug: "dangerous-git-sync",
            severity: Severity::High,
            title: "git-sync configured with GITSYNC_GIT",
            description: "`GITSYNC_GIT` (`GIT_SYNC_GIT` in v3) names the binary git-sync executes: whoever can edit the workload's environment gets code execution, with the pod's (often privileged, e.g. ingress-nginx) rights (Akamai, DEF CON 2024).",
            remediation: "Do not set `GITSYNC_GIT`/`GIT_SYNC_GIT`; restrict who may edit workloads that run git-sync.",
            references: &["https://www.akamai.com/blog/security-research/2024-august-kubernetes-gitsync-command-injection-defcon"],
            peers: &["CKV_K8S_159"],
            tags: &["exposure"],
        }
        .rule(fast!(git_sync)),
    ]
}

fn not_ephemeral(c: &Container<'_>) -> bool {
    c.kind != ContainerKind::Ephemeral
}

fn resource_check(
    rule: &Rule,
    obj: &Subject<'_>,
    out: &mut Vec<Finding>,
    section: &str,
    resource: &str,
) {
    each_container(rule, obj, out, |c, _| {
        if !not_ephemeral(c) {
            return None;
        }
        let res = c.value.get("resources");
        let sec = res.and_then(|r| r.get(section));
        // A wrong type is a schema error the loader reports, not a missing value.
        if res.is_some_and(|r| !r.is_object() && !r.is_null())
            || sec.is_some_and(|s| !s.is_object() && !s.is_null())
        {
            return None;
        }
        if sec
            .and_then(|s| s.get(resource))
            .is_some_and(|v| !v.is_null())
        {
            return None;
        }
        let field = match (res, sec) {
            (Some(_), Some(_)) => join_key(&join_key(&c.path, "resources"), section),
            (Some(_), None) => join_key(&c.path, "resources"),
            _ => c.path.clone(),
        };
        Some((
            field,
            format!(
                "container {} has no `resources.{section}.{resource}`",
                cname(c)
            ),
        ))
    });
}

fn cpu_requests(rule: &Rule, obj: &Subject<'_>, out: &mut Vec<Finding>) {
    resource_check(rule, obj, out, "requests", "cpu");
}
fn cpu_limits(rule: &Rule, obj: &Subject<'_>, out: &mut Vec<Finding>) {
    resource_check(rule, obj, out, "limits", "cpu");
}
fn memory_requests(rule: &Rule, obj: &Subject<'_>, out: &mut Vec<Finding>) {
    resource_check(rule, obj, out, "requests", "memory");
}
fn memory_limits(rule: &Rule, obj: &Subject<'_>, out: &mut Vec<Finding>) {
    resource_check(rule, obj, out, "limits", "memory");
}

fn probe_check(rule: &Rule, obj: &Subject<'_>, out: &mut Vec<Finding>, probe: &str) {
    if matches!(obj.kind(), "Job" | "CronJob") {
        return;
    }
    each_container(rule, obj, out, |c, _| {
        if c.kind != ContainerKind::Regular || c.value.get(probe).is_some_and(|p| !p.is_null()) {
            return None;
        }
        Some((
            c.path.clone(),
            format!("container {} has no `{probe}`", cname(c)),
        ))
    });
}

fn liveness(rule: &Rule, obj: &Subject<'_>, out: &mut Vec<Finding>) {
    probe_check(rule, obj, out, "livenessProbe");
}
fn readiness(rule: &Rule, obj: &Subject<'_>, out: &mut Vec<Finding>) {
    probe_check(rule, obj, out, "readinessProbe");
}

fn image_of<'a>(c: &Container<'a>) -> Option<&'a str> {
    c.value
        .get("image")
        .and_then(Value::as_str)
        .filter(|s| !s.trim().is_empty())
}

fn image_latest(rule: &Rule, obj: &Subject<'_>, out: &mut Vec<Finding>) {
    each_container(rule, obj, out, |c, _| {
        let img = image_of(c)?;
        // An invalid reference is reported by image-without-digest/image-tag-missing.
        let r = parse_image(img).ok()?;
        (r.digest().is_none() && r.tag() == Some("latest")).then(|| {
            (
                join_key(&c.path, "image"),
                format!("container {} runs `{img}`", cname(c)),
            )
        })
    });
}

fn image_untagged(rule: &Rule, obj: &Subject<'_>, out: &mut Vec<Finding>) {
    each_container(rule, obj, out, |c, _| match image_of(c) {
        None => Some((
            c.path.clone(),
            format!("container {} has no image", cname(c)),
        )),
        Some(img) => match parse_image(img) {
            Err(e) => Some((
                join_key(&c.path, "image"),
                format!(
                    "container {} image `{img}` is not a valid image reference ({e})",
                    cname(c)
                ),
            )),
            Ok(r) => (r.digest().is_none() && r.tag().is_none()).then(|| {
                (
                    join_key(&c.path, "image"),
                    format!("container {} runs `{img}` without a tag", cname(c)),
                )
            }),
        },
    });
}

fn image_digest(rule: &Rule, obj: &Subject<'_>, out: &mut Vec<Finding>) {
    each_container(rule, obj, out, |c, _| match image_of(c) {
        None => Some((
            c.path.clone(),
            format!("container {} has no image", cname(c)),
        )),
        Some(img) => match parse_image(img) {
            Err(e) => Some((
                join_key(&c.path, "image"),
                format!(
                    "container {} image `{img}` is not a valid image reference ({e})",
                    cname(c)
                ),
            )),
            Ok(r) => r.digest().is_none().then(|| {
                (
                    join_key(&c.path, "image"),
                    format!(
                        "container {} image `{img}` is not pinned by digest",
                        cname(c)
                    ),
                )
            }),
        },
    });
}

fn pull_policy(rule: &Rule, obj: &Subject<'_>, out: &mut Vec<Finding>) {
    each_container(rule, obj, out, |c, _| {
        let img = image_of(c)?;
        match c.value.get("imagePullPolicy") {
            Some(p) => (p.as_str() != Some("Always")).then(|| {
                (
                    join_key(&c.path, "imagePullPolicy"),
                    format!(
                        "container {} has `imagePullPolicy: {}`",
                        cname(c),
                        p.as_str().unwrap_or("?")
                    ),
                )
            }),
            None => {
                let r = parse_image(img).ok();
                let tag = r.as_ref().and_then(|r| r.tag()).unwrap_or("");
                (!tag.is_empty() && tag != "latest").then(|| {
                    (
                        c.path.clone(),
                        format!(
                            "container {} has no `imagePullPolicy` (defaults to IfNotPresent for tag `{tag}`)",
                            cname(c)
                        ),
                    )
                })
            }
        }
    });
}

/// Whether an environment variable name says it holds a secret (the shared heuristic,
/// [`rampart_core::secret_name::looks_like_secret_name`]).
pub(crate) fn secretish_name(name: &str) -> bool {
    rampart_core::secret_name::looks_like_secret_name(name)
}

/// Whether a literal value could be a real secret (not empty, not a placeholder,
/// not a reference to another variable, not a boolean or a path).
pub(crate) fn secretish_value(v: &str) -> bool {
    let v = v.trim();
    v.len() >= 4
        && !v.starts_with("$(")
        && !v.starts_with("${")
        && !v.contains("{{")
        && !v.starts_with('/')
        && !matches!(
            v.to_ascii_lowercase().as_str(),
            "true" | "false" | "none" | "null" | "changeme" | "<none>" | "xxxx"
        )
}

fn env_secret_literal(rule: &Rule, obj: &Subject<'_>, out: &mut Vec<Finding>) {
    for c in &obj.containers {
        let Some(env) = c.value.get("env").and_then(Value::as_array) else {
            continue;
        };
        let env_path = join_key(&c.path, "env");
        for (i, e) in env.iter().enumerate() {
            let name = e.get("name").and_then(Value::as_str).unwrap_or("");
            let Some(value) = e.get("value").and_then(Value::as_str) else {
                continue;
            };
            if secretish_name(name) && secretish_value(value) {
                super::report(
                    &rule.meta,
                    obj,
                    &join_key(&join_index(&env_path, i), "value"),
                    format!("container {} sets `{name}` to a literal value", cname(c)),
                    out,
                );
            }
        }
    }
}

fn env_secret_ref(rule: &Rule, obj: &Subject<'_>, out: &mut Vec<Finding>) {
    each_container(rule, obj, out, |c, _| {
        if let Some(env) = c.value.get("env").and_then(Value::as_array) {
            for (i, e) in env.iter().enumerate() {
                if e.get("valueFrom")
                    .and_then(|v| v.get("secretKeyRef"))
                    .is_some()
                {
                    let name = e.get("name").and_then(Value::as_str).unwrap_or("");
                    return Some((
                        join_key(&join_index(&join_key(&c.path, "env"), i), "valueFrom"),
                        format!(
                            "container {} reads Secret into environment variable `{name}`",
                            cname(c)
                        ),
                    ));
                }
            }
        }
        if let Some(ef) = c.value.get("envFrom").and_then(Value::as_array) {
            for (i, e) in ef.iter().enumerate() {
                if e.get("secretRef").is_some() {
                    return Some((
                        join_key(&join_index(&join_key(&c.path, "envFrom"), i), "secretRef"),
                        format!(
                            "container {} loads a whole Secret into its environment",
                            cname(c)
                        ),
                    ));
                }
            }
        }
        None
    });
}

fn sec_ctx<'a>(c: &Container<'a>) -> Option<&'a Value> {
    c.security_context
}

fn read_only_root(rule: &Rule, obj: &Subject<'_>, out: &mut Vec<Finding>) {
    each_container(rule, obj, out, |c, _| {
        let sc = sec_ctx(c);
        let v = sc.and_then(|s| s.get("readOnlyRootFilesystem"));
        if v.and_then(Value::as_bool) == Some(true) {
            return None;
        }
        let field = match (sc, v) {
            (_, Some(_)) => join_key(
                &join_key(&c.path, "securityContext"),
                "readOnlyRootFilesystem",
            ),
            (Some(_), None) => join_key(&c.path, "securityContext"),
            _ => c.path.clone(),
        };
        Some((
            field,
            format!(
                "container {} does not set `readOnlyRootFilesystem: true`",
                cname(c)
            ),
        ))
    });
}

fn caps<'a>(c: &Container<'a>, which: &str) -> Vec<&'a str> {
    str_list(
        sec_ctx(c)
            .and_then(|s| s.get("capabilities"))
            .and_then(|k| k.get(which)),
    )
}

fn caps_path(c: &Container<'_>, which: &str) -> String {
    join_key(
        &join_key(&join_key(&c.path, "securityContext"), "capabilities"),
        which,
    )
}

fn cap_is(cap: &str, name: &str) -> bool {
    let u = cap.trim().to_ascii_uppercase();
    u == name || u.strip_prefix("CAP_") == Some(name)
}

fn net_raw(rule: &Rule, obj: &Subject<'_>, out: &mut Vec<Finding>) {
    each_container(rule, obj, out, |c, _| {
        if c.kind == ContainerKind::Ephemeral {
            return None;
        }
        let add = caps(c, "add");
        if add.iter().any(|a| cap_is(a, "NET_RAW") || cap_is(a, "ALL")) {
            return Some((
                caps_path(c, "add"),
                format!("container {} adds NET_RAW", cname(c)),
            ));
        }
        let drop = caps(c, "drop");
        if drop
            .iter()
            .any(|d| cap_is(d, "NET_RAW") || cap_is(d, "ALL"))
        {
            return None;
        }
        let field = if sec_ctx(c).and_then(|s| s.get("capabilities")).is_some() {
            join_key(&join_key(&c.path, "securityContext"), "capabilities")
        } else {
            c.path.clone()
        };
        Some((
            field,
            format!("container {} does not drop NET_RAW (or ALL)", cname(c)),
        ))
    });
}

fn cap_sys_admin(rule: &Rule, obj: &Subject<'_>, out: &mut Vec<Finding>) {
    each_container(rule, obj, out, |c, _| {
        let add = caps(c, "add");
        add.iter().any(|a| cap_is(a, "SYS_ADMIN")).then(|| {
            (
                caps_path(c, "add"),
                format!("container {} adds SYS_ADMIN", cname(c)),
            )
        })
    });
}

fn caps_added(rule: &Rule, obj: &Subject<'_>, out: &mut Vec<Finding>) {
    each_container(rule, obj, out, |c, _| {
        let add = caps(c, "add");
        (!add.is_empty()).then(|| {
            (
                caps_path(c, "add"),
                format!("container {} adds {}", cname(c), add.join(", ")),
            )
        })
    });
}

fn container_secctx(rule: &Rule, obj: &Subject<'_>, out: &mut Vec<Finding>) {
    each_container(rule, obj, out, |c, _| {
        if c.kind == ContainerKind::Ephemeral
            || sec_ctx(c).is_some_and(|s| s.as_object().is_some_and(|m| !m.is_empty()))
        {
            return None;
        }
        Some((
            c.path.clone(),
            format!("container {} has no securityContext", cname(c)),
        ))
    });
}

fn label<'a>(meta: Option<&'a Value>, key: &str) -> Option<&'a str> {
    meta.and_then(|m| m.get("labels"))
        .and_then(|l| l.get(key))
        .and_then(Value::as_str)
}

fn dashboard(rule: &Rule, obj: &Subject<'_>, out: &mut Vec<Finding>) {
    let mut labelled = false;
    each_container(rule, obj, out, |c, ps: &PodSpec<'_>| {
        if let Some(img) = image_of(c) {
            if img.contains("kubernetes-dashboard") || img.contains("kubernetesui") {
                return Some((
                    join_key(&c.path, "image"),
                    format!(
                        "container {} runs the Kubernetes dashboard (`{img}`)",
                        cname(c)
                    ),
                ));
            }
        }
        if !labelled
            && (label(ps.metadata, "app") == Some("kubernetes-dashboard")
                || label(ps.metadata, "k8s-app") == Some("kubernetes-dashboard"))
        {
            labelled = true;
            return Some((
                c.path.clone(),
                "pod is labelled as the Kubernetes dashboard".to_string(),
            ));
        }
        None
    });
}

fn is_tiller(c: &Container<'_>, ps: &PodSpec<'_>) -> bool {
    image_of(c).is_some_and(|i| i.contains("tiller"))
        || (label(ps.metadata, "app") == Some("helm")
            && label(ps.metadata, "name") == Some("tiller"))
}

fn tiller(rule: &Rule, obj: &Subject<'_>, out: &mut Vec<Finding>) {
    each_container(rule, obj, out, |c, ps| {
        is_tiller(c, ps).then(|| {
            (
                c.path.clone(),
                format!("container {} is Helm v2 Tiller", cname(c)),
            )
        })
    });
}

fn tiller_listener(rule: &Rule, obj: &Subject<'_>, out: &mut Vec<Finding>) {
    each_container(rule, obj, out, |c, ps| {
        if !is_tiller(c, ps) {
            return None;
        }
        let args = str_list(c.value.get("args"));
        let local = args.iter().any(|a| {
            a.contains("--listen") && (a.contains("localhost") || a.contains("127.0.0.1"))
        });
        (!local).then(|| {
            (
                c.path.clone(),
                format!(
                    "Tiller container {} does not pass `--listen=localhost:44134`",
                    cname(c)
                ),
            )
        })
    });
}

fn ports<'a>(c: &Container<'a>) -> impl Iterator<Item = (usize, i64)> + 'a {
    c.value
        .get("ports")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .enumerate()
        .filter_map(|(i, p)| {
            p.get("containerPort")
                .and_then(Value::as_i64)
                .map(|n| (i, n))
        })
}

fn ssh_port(rule: &Rule, obj: &Subject<'_>, out: &mut Vec<Finding>) {
    each_container(rule, obj, out, |c, _| {
        let (i, _) = ports(c).find(|&(_, p)| p == 22)?;
        Some((
            join_key(&join_index(&join_key(&c.path, "ports"), i), "containerPort"),
            format!("container {} exposes port 22", cname(c)),
        ))
    });
}

fn privileged_port(rule: &Rule, obj: &Subject<'_>, out: &mut Vec<Finding>) {
    each_container(rule, obj, out, |c, _| {
        let (i, p) = ports(c).find(|&(_, p)| p > 0 && p < 1024)?;
        Some((
            join_key(&join_index(&join_key(&c.path, "ports"), i), "containerPort"),
            format!("container {} listens on port {p}", cname(c)),
        ))
    });
}

fn writable_host_mount(rule: &Rule, obj: &Subject<'_>, out: &mut Vec<Finding>) {
    each_container(rule, obj, out, |c, ps| {
        let host_vols: Vec<&str> = ps
            .spec
            .get("volumes")
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
            .filter(|v| v.get("hostPath").is_some())
            .filter_map(|v| v.get("name").and_then(Value::as_str))
            .collect();
        let mounts = c.value.get("volumeMounts").and_then(Value::as_array)?;
        for (i, m) in mounts.iter().enumerate() {
            let name = m.get("name").and_then(Value::as_str).unwrap_or("");
            if host_vols.contains(&name) && m.get("readOnly").and_then(Value::as_bool) != Some(true)
            {
                return Some((
                    join_index(&join_key(&c.path, "volumeMounts"), i),
                    format!(
                        "container {} mounts hostPath volume `{name}` writable",
                        cname(c)
                    ),
                ));
            }
        }
        None
    });
}

fn duplicate_env(rule: &Rule, obj: &Subject<'_>, out: &mut Vec<Finding>) {
    each_container(rule, obj, out, |c, _| {
        let env = c.value.get("env").and_then(Value::as_array)?;
        let mut seen = std::collections::HashSet::new();
        for (i, e) in env.iter().enumerate() {
            let Some(n) = e.get("name").and_then(Value::as_str) else {
                continue;
            };
            if !seen.insert(n) {
                return Some((
                    join_index(&join_key(&c.path, "env"), i),
                    format!("container {} sets `{n}` twice", cname(c)),
                ));
            }
        }
        None
    });
}

fn git_sync(rule: &Rule, obj: &Subject<'_>, out: &mut Vec<Finding>) {
    each_container(rule, obj, out, |c, _| {
        let env = c.value.get("env").and_then(Value::as_array)?;
        let i = env.iter().position(|e| {
            matches!(
                e.get("name").and_then(Value::as_str),
                Some("GITSYNC_GIT" | "GIT_SYNC_GIT")
            )
        })?;
        Some((
            join_index(&join_key(&c.path, "env"), i),
            format!("container {} sets the git binary of git-sync", cname(c)),
        ))
    });
}
