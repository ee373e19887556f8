//! The Pod Security Standards controls, one function each, as Pod Security Admission
//! (`k8s.io/pod-security-admission/policy/check_*.go`) implements them, per version.
//!
//! Each check receives the pod (spec, template metadata, field paths) and the policy
//! minor version (`v1.<minor>`; `latest` is `u32::MAX`) and returns the violations with
//! the field path of the offending field.

use crate::object::{join_index, join_key};
use crate::podspec::{Container, PodSpec};
use serde_json::Value;

/// One violated field.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Violation {
    /// Field path in the object (`spec.containers[0].securityContext.privileged`).
    pub field_path: String,
    /// What is wrong, e.g. `container "app" sets securityContext.privileged=true`.
    pub message: String,
}

pub(crate) type CheckFn = fn(&PodSpec<'_>, &[Container<'_>], u32) -> Vec<Violation>;

fn v(field_path: String, message: String) -> Violation {
    Violation {
        field_path,
        message,
    }
}

fn is_true(v: Option<&Value>) -> bool {
    matches!(v, Some(Value::Bool(true)))
}

fn str_of(v: Option<&Value>) -> Option<&str> {
    v.and_then(Value::as_str)
}

fn pod_sc<'a>(ps: &PodSpec<'a>) -> Option<&'a Value> {
    ps.spec.get("securityContext").filter(|v| v.is_object())
}

/// `spec.os.name == "windows"`: PSA relaxes some restricted checks for Windows pods
/// from v1.25.
fn is_windows(ps: &PodSpec<'_>) -> bool {
    str_of(ps.spec.get("os").and_then(|o| o.get("name"))) == Some("windows")
}

/// `spec.hostUsers == false`: the pod runs in a user namespace.
fn in_user_namespace(ps: &PodSpec<'_>) -> bool {
    matches!(ps.spec.get("hostUsers"), Some(Value::Bool(false)))
}

fn sc_path(container_path: &str, field: &str) -> String {
    format!("{container_path}.securityContext.{field}")
}

// ---------------------------------------------------------------- baseline

/// `hostNamespaces`: hostNetwork, hostPID, hostIPC must be unset or false.
pub(crate) fn host_namespaces(ps: &PodSpec<'_>, _cs: &[Container<'_>], _v: u32) -> Vec<Violation> {
    let mut out = Vec::new();
    for key in ["hostNetwork", "hostPID", "hostIPC"] {
        if is_true(ps.spec.get(key)) {
            out.push(v(ps.field(key), format!("{key}=true")));
        }
    }
    out
}

/// `privileged`: no container may set `securityContext.privileged=true`.
pub(crate) fn privileged(_ps: &PodSpec<'_>, cs: &[Container<'_>], _v: u32) -> Vec<Violation> {
    let mut out = Vec::new();
    for c in cs {
        if is_true(c.security_context.and_then(|s| s.get("privileged"))) {
            out.push(v(
                sc_path(&c.path, "privileged"),
                format!(
                    "container \"{}\" must not set securityContext.privileged=true",
                    c.name
                ),
            ));
        }
    }
    out
}

const CAPS_BASELINE: &[&str] = &[
    "AUDIT_WRITE",
    "CHOWN",
    "DAC_OVERRIDE",
    "FOWNER",
    "FSETID",
    "KILL",
    "MKNOD",
    "NET_BIND_SERVICE",
    "SETFCAP",
    "SETGID",
    "SETPCAP",
    "SETUID",
    "SYS_CHROOT",
];

fn added_caps<'a>(c: &Container<'a>) -> Vec<(usize, &'a str)> {
    c.security_context
        .and_then(|s| s.get("capabilities"))
        .and_then(|c| c.get("add"))
        .and_then(Value::as_array)
        .map(|a| {
            a.iter()
                .enumerate()
                .map(|(i, v)| (i, v.as_str().unwrap_or("")))
                .collect()
        })
        .unwrap_or_default()
}

/// `capabilities_baseline`: added capabilities only from the default set.
pub(crate) fn capabilities_baseline(
    _ps: &PodSpec<'_>,
    cs: &[Container<'_>],
    _v: u32,
) -> Vec<Violation> {
    let mut out = Vec::new();
    for c in cs {
        for (i, cap) in added_caps(c) {
            if !CAPS_BASELINE.contains(&cap) {
                out.push(v(
                    join_index(&sc_path(&c.path, "capabilities.add"), i),
                    format!(
                        "container \"{}\" must not include \"{cap}\" in securityContext.capabilities.add",
                        c.name
                    ),
                ));
            }
        }
    }
    out
}

fn volumes<'a>(ps: &PodSpec<'a>) -> Vec<(usize, &'a Value)> {
    ps.spec
        .get("volumes")
        .and_then(Value::as_array)
        .map(|a| a.iter().enumerate().collect())
        .unwrap_or_default()
}

/// `hostPathVolumes`: no hostPath volumes.
pub(crate) fn host_path_volumes(
    ps: &PodSpec<'_>,
    _cs: &[Container<'_>],
    _v: u32,
) -> Vec<Violation> {
    let mut out = Vec::new();
    for (i, vol) in volumes(ps) {
        if vol.get("hostPath").is_some_and(|h| !h.is_null()) {
            let name = str_of(vol.get("name")).unwrap_or("");
            out.push(v(
                join_key(&join_index(&ps.field("volumes"), i), "hostPath"),
                format!("hostPath volume \"{name}\""),
            ));
        }
    }
    out
}

/// `hostPorts`: no container port may set a non-zero hostPort.
pub(crate) fn host_ports(_ps: &PodSpec<'_>, cs: &[Container<'_>], _v: u32) -> Vec<Violation> {
    let mut out = Vec::new();
    for c in cs {
        let Some(ports) = c.value.get("ports").and_then(Value::as_array) else {
            continue;
        };
        for (i, p) in ports.iter().enumerate() {
            let hp = p.get("hostPort");
            let nonzero = match hp {
                Some(Value::Number(n)) => n.as_f64() != Some(0.0),
                Some(Value::Null) | None => false,
                Some(_) => true,
            };
            if nonzero {
                out.push(v(
                    format!("{}.ports[{i}].hostPort", c.path),
                    format!(
                        "container \"{}\" uses hostPort {}",
                        c.name,
                        hp.map(Value::to_string).unwrap_or_default()
                    ),
                ));
            }
        }
    }
    out
}

const APPARMOR_ANNOTATION: &str = "container.apparmor.security.beta.kubernetes.io/";

fn annotations<'a>(ps: &PodSpec<'a>) -> Vec<(&'a str, &'a Value)> {
    ps.metadata
        .and_then(|m| m.get("annotations"))
        .and_then(Value::as_object)
        .map(|m| m.iter().map(|(k, v)| (k.as_str(), v)).collect())
        .unwrap_or_default()
}

fn annotation_path(ps: &PodSpec<'_>, key: &str) -> String {
    let meta = match ps.path {
        "spec" => "metadata".to_string(),
        p => format!("{}.metadata", crate::object::parent_path(p)),
    };
    join_key(&join_key(&meta, "annotations"), key)
}

/// `appArmorProfile`: the AppArmor annotations and `appArmorProfile` fields may only
/// select `runtime/default` / `localhost/*` (`RuntimeDefault` / `Localhost`).
pub(crate) fn apparmor_profile(ps: &PodSpec<'_>, cs: &[Container<'_>], _v: u32) -> Vec<Violation> {
    let mut out = Vec::new();
    for (k, val) in annotations(ps) {
        if k.starts_with(APPARMOR_ANNOTATION) {
            let s = val.as_str().unwrap_or("");
            let ok = s.is_empty() || s == "runtime/default" || s.starts_with("localhost/");
            if !ok {
                out.push(v(
                    annotation_path(ps, k),
                    format!("forbidden AppArmor profile {k}=\"{s}\""),
                ));
            }
        }
    }
    let bad_type = |sc: Option<&Value>| -> Option<String> {
        let t = str_of(sc?.get("appArmorProfile")?.get("type"))?;
        (t != "RuntimeDefault" && t != "Localhost").then(|| t.to_string())
    };
    if let Some(t) = bad_type(pod_sc(ps)) {
        out.push(v(
            format!("{}.securityContext.appArmorProfile.type", ps.path),
            format!("pod must not set securityContext.appArmorProfile.type to \"{t}\""),
        ));
    }
    for c in cs {
        if let Some(t) = bad_type(c.security_context) {
            out.push(v(
                sc_path(&c.path, "appArmorProfile.type"),
                format!(
                    "container \"{}\" must not set securityContext.appArmorProfile.type to \"{t}\"",
                    c.name
                ),
            ));
        }
    }
    out
}

/// `seLinuxOptions`: type only from the allowed set, no user, no role.
pub(crate) fn selinux_options(ps: &PodSpec<'_>, cs: &[Container<'_>], ver: u32) -> Vec<Violation> {
    let allowed = |t: &str| {
        matches!(
            t,
            "" | "container_t" | "container_init_t" | "container_kvm_t"
        ) || (ver >= 31 && t == "container_engine_t")
    };
    let mut out = Vec::new();
    let mut check = |opts: Option<&Value>, base: String, who: String| {
        let Some(o) = opts.filter(|o| o.is_object()) else {
            return;
        };
        let t = str_of(o.get("type")).unwrap_or("");
        if !allowed(t) {
            out.push(v(
                format!("{base}.type"),
                format!("{who} sets forbidden securityContext.seLinuxOptions type \"{t}\""),
            ));
        }
        for f in ["user", "role"] {
            if !str_of(o.get(f)).unwrap_or("").is_empty() {
                out.push(v(
                    format!("{base}.{f}"),
                    format!("{who} sets securityContext.seLinuxOptions.{f}, which may not be set"),
                ));
            }
        }
    };
    check(
        pod_sc(ps).and_then(|s| s.get("seLinuxOptions")),
        format!("{}.securityContext.seLinuxOptions", ps.path),
        "pod".to_string(),
    );
    for c in cs {
        check(
            c.security_context.and_then(|s| s.get("seLinuxOptions")),
            sc_path(&c.path, "seLinuxOptions"),
            format!("container \"{}\"", c.name),
        );
    }
    out
}

fn proc_mount_strict(_ps: &PodSpec<'_>, cs: &[Container<'_>]) -> Vec<Violation> {
    let mut out = Vec::new();
    for c in cs {
        let Some(pm) = c.security_context.and_then(|s| s.get("procMount")) else {
            continue;
        };
        if pm.is_null() {
            continue;
        }
        let s = pm.as_str().unwrap_or("");
        if s != "Default" {
            out.push(v(
                sc_path(&c.path, "procMount"),
                format!(
                    "container \"{}\" must not set securityContext.procMount to \"{s}\"",
                    c.name
                ),
            ));
        }
    }
    out
}

/// `procMount` (baseline): only `Default`; from v1.35 anything is allowed for pods in a
/// user namespace (`hostUsers: false`).
pub(crate) fn proc_mount_baseline(
    ps: &PodSpec<'_>,
    cs: &[Container<'_>],
    ver: u32,
) -> Vec<Violation> {
    if ver >= 35 && in_user_namespace(ps) {
        return Vec::new();
    }
    proc_mount_strict(ps, cs)
}

/// `procMount_restricted` (v1.35+): only `Default`, user namespace or not.
pub(crate) fn proc_mount_restricted(
    ps: &PodSpec<'_>,
    cs: &[Container<'_>],
    _v: u32,
) -> Vec<Violation> {
    proc_mount_strict(ps, cs)
}

const SECCOMP_POD_ANNOTATION: &str = "seccomp.security.alpha.kubernetes.io/pod";
const SECCOMP_CONTAINER_ANNOTATION: &str = "container.seccomp.security.alpha.kubernetes.io/";

/// `seccompProfile_baseline`: before v1.19 the seccomp annotations must not be
/// `unconfined`; from v1.19 the `seccompProfile.type` fields must not be `Unconfined`.
pub(crate) fn seccomp_baseline(ps: &PodSpec<'_>, cs: &[Container<'_>], ver: u32) -> Vec<Violation> {
    let mut out = Vec::new();
    if ver < 19 {
        for (k, val) in annotations(ps) {
            let relevant = k == SECCOMP_POD_ANNOTATION
                || (k.starts_with(SECCOMP_CONTAINER_ANNOTATION)
                    && k.len() > SECCOMP_CONTAINER_ANNOTATION.len());
            if relevant && val.as_str() == Some("unconfined") {
                out.push(v(
                    annotation_path(ps, k),
                    format!("forbidden seccomp profile {k}=\"unconfined\""),
                ));
            }
        }
        return out;
    }
    let unconfined = |sc: Option<&Value>| {
        str_of(
            sc.and_then(|s| s.get("seccompProfile"))
                .and_then(|p| p.get("type")),
        ) == Some("Unconfined")
    };
    if unconfined(pod_sc(ps)) {
        out.push(v(
            format!("{}.securityContext.seccompProfile.type", ps.path),
            "pod must not set securityContext.seccompProfile.type to \"Unconfined\"".into(),
        ));
    }
    for c in cs {
        if unconfined(c.security_context) {
            out.push(v(
                sc_path(&c.path, "seccompProfile.type"),
                format!(
                    "container \"{}\" must not set securityContext.seccompProfile.type to \"Unconfined\"",
                    c.name
                ),
            ));
        }
    }
    out
}

/// The sysctls Pod Security Admission allows at `v1.<ver>`.
pub fn sysctls_allowed(ver: u32) -> Vec<&'static str> {
    let mut v = vec![
        "kernel.shm_rmid_forced",
        "net.ipv4.ip_local_port_range",
        "net.ipv4.tcp_syncookies",
        "net.ipv4.ping_group_range",
        "net.ipv4.ip_unprivileged_port_start",
    ];
    if ver >= 27 {
        v.push("net.ipv4.ip_local_reserved_ports");
    }
    if ver >= 29 {
        v.extend([
            "net.ipv4.tcp_keepalive_time",
            "net.ipv4.tcp_fin_timeout",
            "net.ipv4.tcp_keepalive_intvl",
            "net.ipv4.tcp_keepalive_probes",
        ]);
    }
    if ver >= 32 {
        v.extend(["net.ipv4.tcp_rmem", "net.ipv4.tcp_wmem"]);
    }
    if ver >= 37 {
        v.extend([
            "net.ipv4.tcp_slow_start_after_idle",
            "net.ipv4.tcp_notsent_lowat",
        ]);
    }
    v
}

/// `sysctls`: only the allowed (namespaced, isolated) sysctls.
pub(crate) fn sysctls(ps: &PodSpec<'_>, _cs: &[Container<'_>], ver: u32) -> Vec<Violation> {
    let allowed = sysctls_allowed(ver);
    let mut out = Vec::new();
    let Some(list) = pod_sc(ps)
        .and_then(|s| s.get("sysctls"))
        .and_then(Value::as_array)
    else {
        return out;
    };
    for (i, s) in list.iter().enumerate() {
        let name = str_of(s.get("name")).unwrap_or("");
        if !allowed.contains(&name) {
            out.push(v(
                format!("{}.securityContext.sysctls[{i}].name", ps.path),
                format!("forbidden sysctl \"{name}\""),
            ));
        }
    }
    out
}

/// `windowsHostProcess`: no `windowsOptions.hostProcess=true`.
pub(crate) fn windows_host_process(
    ps: &PodSpec<'_>,
    cs: &[Container<'_>],
    _v: u32,
) -> Vec<Violation> {
    let hp = |sc: Option<&Value>| {
        is_true(
            sc.and_then(|s| s.get("windowsOptions"))
                .and_then(|w| w.get("hostProcess")),
        )
    };
    let mut out = Vec::new();
    if hp(pod_sc(ps)) {
        out.push(v(
            format!("{}.securityContext.windowsOptions.hostProcess", ps.path),
            "pod must not set securityContext.windowsOptions.hostProcess=true".into(),
        ));
    }
    for c in cs {
        if hp(c.security_context) {
            out.push(v(
                sc_path(&c.path, "windowsOptions.hostProcess"),
                format!(
                    "container \"{}\" must not set securityContext.windowsOptions.hostProcess=true",
                    c.name
                ),
            ));
        }
    }
    out
}

/// `hostProbesAndHostLifecycle` (v1.34+): probes and lifecycle handlers must not set
/// `host`.
pub(crate) fn host_probes_and_lifecycle(
    _ps: &PodSpec<'_>,
    cs: &[Container<'_>],
    _v: u32,
) -> Vec<Violation> {
    let mut out = Vec::new();
    for c in cs {
        let mut handlers: Vec<(String, &Value)> = Vec::new();
        for p in ["livenessProbe", "readinessProbe", "startupProbe"] {
            if let Some(h) = c.value.get(p) {
                handlers.push((format!("{}.{p}", c.path), h));
            }
        }
        if let Some(l) = c.value.get("lifecycle") {
            for p in ["postStart", "preStop"] {
                if let Some(h) = l.get(p) {
                    handlers.push((format!("{}.lifecycle.{p}", c.path), h));
                }
            }
        }
        for (path, h) in handlers {
            for kind in ["httpGet", "tcpSocket"] {
                let host = str_of(h.get(kind).and_then(|k| k.get("host"))).unwrap_or("");
                if !host.is_empty() {
                    out.push(v(
                        format!("{path}.{kind}.host"),
                        format!(
                            "container \"{}\" uses probe or lifecycle host \"{host}\"",
                            c.name
                        ),
                    ));
                }
            }
        }
    }
    out
}

// -------------------------------------------------------------- restricted

const ALLOWED_VOLUME_SOURCES: &[&str] = &[
    "configMap",
    "csi",
    "downwardAPI",
    "emptyDir",
    "ephemeral",
    "persistentVolumeClaim",
    "projected",
    "secret",
];

/// `restrictedVolumes`: only configMap, csi, downwardAPI, emptyDir, ephemeral,
/// persistentVolumeClaim, projected and secret volumes.
pub(crate) fn restricted_volumes(
    ps: &PodSpec<'_>,
    _cs: &[Container<'_>],
    _v: u32,
) -> Vec<Violation> {
    let mut out = Vec::new();
    for (i, vol) in volumes(ps) {
        let Some(m) = vol.as_object() else { continue };
        let name = str_of(vol.get("name")).unwrap_or("");
        for (k, val) in m {
            if k == "name" || val.is_null() || ALLOWED_VOLUME_SOURCES.contains(&k.as_str()) {
                continue;
            }
            out.push(v(
                join_key(&join_index(&ps.field("volumes"), i), k),
                format!("volume \"{name}\" uses restricted volume type \"{k}\""),
            ));
        }
    }
    out
}

/// `allowPrivilegeEscalation` (v1.8+): every container sets it to false (not required
/// for Windows pods from v1.25).
pub(crate) fn allow_privilege_escalation(
    ps: &PodSpec<'_>,
    cs: &[Container<'_>],
    ver: u32,
) -> Vec<Violation> {
    if ver >= 25 && is_windows(ps) {
        return Vec::new();
    }
    let mut out = Vec::new();
    for c in cs {
        let ape = c
            .security_context
            .and_then(|s| s.get("allowPrivilegeEscalation"));
        if !matches!(ape, Some(Value::Bool(false))) {
            out.push(v(
                sc_path(&c.path, "allowPrivilegeEscalation"),
                format!(
                    "container \"{}\" must set securityContext.allowPrivilegeEscalation=false",
                    c.name
                ),
            ));
        }
    }
    out
}

/// `runAsNonRoot`: the pod or every container sets `runAsNonRoot: true`, and no
/// container sets it to false.
pub(crate) fn run_as_non_root(ps: &PodSpec<'_>, cs: &[Container<'_>], _v: u32) -> Vec<Violation> {
    let mut out = Vec::new();
    let mut pod_ok = false;
    match pod_sc(ps).and_then(|s| s.get("runAsNonRoot")) {
        Some(Value::Bool(true)) => pod_ok = true,
        Some(Value::Bool(false)) => out.push(v(
            format!("{}.securityContext.runAsNonRoot", ps.path),
            "pod must not set securityContext.runAsNonRoot=false".into(),
        )),
        _ => {}
    }
    for c in cs {
        match c.security_context.and_then(|s| s.get("runAsNonRoot")) {
            Some(Value::Bool(true)) => {}
            Some(Value::Bool(false)) => out.push(v(
                sc_path(&c.path, "runAsNonRoot"),
                format!(
                    "container \"{}\" must not set securityContext.runAsNonRoot=false",
                    c.name
                ),
            )),
            _ if pod_ok => {}
            _ => out.push(v(
                sc_path(&c.path, "runAsNonRoot"),
                format!(
                    "pod or container \"{}\" must set securityContext.runAsNonRoot=true",
                    c.name
                ),
            )),
        }
    }
    out
}

/// `runAsUser` (v1.23+): neither the pod nor a container sets `runAsUser: 0`.
pub(crate) fn run_as_user(ps: &PodSpec<'_>, cs: &[Container<'_>], _v: u32) -> Vec<Violation> {
    let zero = |sc: Option<&Value>| {
        sc.and_then(|s| s.get("runAsUser"))
            .and_then(Value::as_f64)
            .is_some_and(|n| n == 0.0)
    };
    let mut out = Vec::new();
    if zero(pod_sc(ps)) {
        out.push(v(
            format!("{}.securityContext.runAsUser", ps.path),
            "pod must not set runAsUser=0".into(),
        ));
    }
    for c in cs {
        if zero(c.security_context) {
            out.push(v(
                sc_path(&c.path, "runAsUser"),
                format!("container \"{}\" must not set runAsUser=0", c.name),
            ));
        }
    }
    out
}

/// `seccompProfile_restricted` (v1.19+): the pod or every container sets
/// `seccompProfile.type` to `RuntimeDefault` or `Localhost` (not required for Windows
/// pods from v1.25).
pub(crate) fn seccomp_restricted(
    ps: &PodSpec<'_>,
    cs: &[Container<'_>],
    ver: u32,
) -> Vec<Violation> {
    if ver >= 25 && is_windows(ps) {
        return Vec::new();
    }
    let typ = |sc: Option<&Value>| -> Option<String> {
        let p = sc?.get("seccompProfile").filter(|p| p.is_object())?;
        Some(str_of(p.get("type")).unwrap_or("").to_string())
    };
    let valid = |t: &str| t == "RuntimeDefault" || t == "Localhost";
    let mut out = Vec::new();
    let mut pod_ok = false;
    if let Some(t) = typ(pod_sc(ps)) {
        if valid(&t) {
            pod_ok = true;
        } else {
            out.push(v(
                format!("{}.securityContext.seccompProfile.type", ps.path),
                format!("pod must not set securityContext.seccompProfile.type to \"{t}\""),
            ));
        }
    }
    for c in cs {
        match typ(c.security_context) {
            Some(t) if valid(&t) => {}
            Some(t) => out.push(v(
                sc_path(&c.path, "seccompProfile.type"),
                format!(
                    "container \"{}\" must not set securityContext.seccompProfile.type to \"{t}\"",
                    c.name
                ),
            )),
            None if pod_ok => {}
            None => out.push(v(
                sc_path(&c.path, "seccompProfile"),
                format!(
                    "pod or container \"{}\" must set securityContext.seccompProfile.type to \"RuntimeDefault\" or \"Localhost\"",
                    c.name
                ),
            )),
        }
    }
    out
}

/// `capabilities_restricted` (v1.22+): every container drops `ALL` and adds at most
/// `NET_BIND_SERVICE` (not required for Windows pods from v1.25).
pub(crate) fn capabilities_restricted(
    ps: &PodSpec<'_>,
    cs: &[Container<'_>],
    ver: u32,
) -> Vec<Violation> {
    if ver >= 25 && is_windows(ps) {
        return Vec::new();
    }
    let mut out = Vec::new();
    for c in cs {
        let caps = c.security_context.and_then(|s| s.get("capabilities"));
        let drops_all = caps
            .and_then(|c| c.get("drop"))
            .and_then(Value::as_array)
            .is_some_and(|d| d.iter().any(|x| x.as_str() == Some("ALL")));
        if !drops_all {
            out.push(v(
                sc_path(&c.path, "capabilities.drop"),
                format!(
                    "container \"{}\" must set securityContext.capabilities.drop=[\"ALL\"]",
                    c.name
                ),
            ));
        }
        for (i, cap) in added_caps(c) {
            if cap != "NET_BIND_SERVICE" {
                out.push(v(
                    join_index(&sc_path(&c.path, "capabilities.add"), i),
                    format!(
                        "container \"{}\" must not include \"{cap}\" in securityContext.capabilities.add",
                        c.name
                    ),
                ));
            }
        }
    }
    out
}
