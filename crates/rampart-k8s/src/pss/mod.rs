//! Pod Security Standards (baseline and restricted), as Pod Security Admission
//! implements each control, per version.
//!
//! Every control is a rule `k8s/pss-<control>`. [`evaluate_pss`] runs the controls of a
//! level at a version (what PSA's `enforce` would reject, with the field of each
//! violation); [`level_met`] tells the strictest level an object satisfies. Objects
//! without a pod spec (Services, ConfigMaps …) meet every level.
//!
//! ```
//! use rampart_k8s::{pss::{evaluate_pss, level_met, Level, PssVersion}, Object};
//! let pod = Object::from_value(serde_json::json!({
//!     "kind": "Pod", "metadata": {"name": "p"},
//!     "spec": {"hostNetwork": true, "containers": [{"name": "a", "image": "x"}]}
//! }));
//! let v = PssVersion::latest();
//! assert_eq!(level_met(&pod, &v), Level::Privileged);
//! let f = evaluate_pss(&pod, Level::Baseline, &v);
//! assert_eq!(f[0].rule_id, "k8s/pss-host-namespaces");
//! ```

mod checks;

pub use checks::{sysctls_allowed, Violation};

use crate::object::Object;
use crate::podspec::{pod_spec, PodSpec};
use crate::rules::{Context, Entry, Fast, PssRun, Rule, Subject};
use checks::CheckFn;
use rampart_core::{Finding, K8sObjectRef, RuleMeta, Severity};
use serde::{Deserialize, Serialize};
use std::fmt;
use std::str::FromStr;

/// The newest policy version this implementation knows (`latest` evaluates as this
/// and anything newer).
pub const LATEST_KNOWN: (u32, u32) = (1, 37);

/// A Pod Security Standards level.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Level {
    /// Unrestricted.
    Privileged,
    /// Minimally restrictive: prevents known privilege escalations.
    Baseline,
    /// Heavily restricted: current pod hardening best practices.
    Restricted,
}

impl Level {
    /// `privileged`, `baseline` or `restricted`.
    pub fn as_str(self) -> &'static str {
        match self {
            Level::Privileged => "privileged",
            Level::Baseline => "baseline",
            Level::Restricted => "restricted",
        }
    }
}

impl fmt::Display for Level {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Error parsing a level or version.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PssParseError {
    /// Not `privileged`, `baseline` or `restricted`.
    #[error(
        "unknown Pod Security Standards level `{0}` (expected privileged, baseline or restricted)"
    )]
    Level(String),
    /// Not `latest` or `vX.Y`.
    #[error(
        "invalid Pod Security Standards version `{0}` (expected `latest` or `v1.N`, e.g. v1.29)"
    )]
    Version(String),
}

impl FromStr for Level {
    type Err = PssParseError;
    fn from_str(s: &str) -> Result<Level, PssParseError> {
        match s.trim().to_ascii_lowercase().as_str() {
            "privileged" => Ok(Level::Privileged),
            "baseline" => Ok(Level::Baseline),
            "restricted" => Ok(Level::Restricted),
            _ => Err(PssParseError::Level(s.to_string())),
        }
    }
}

/// A policy version as in `pod-security.kubernetes.io/enforce-version`: `latest` or
/// `vMAJOR.MINOR`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Hash)]
pub struct PssVersion {
    /// `None` = latest.
    pub version: Option<(u32, u32)>,
}

impl PssVersion {
    /// `latest`.
    pub fn latest() -> PssVersion {
        PssVersion { version: None }
    }

    /// `v1.<minor>`.
    pub fn v1(minor: u32) -> PssVersion {
        PssVersion {
            version: Some((1, minor)),
        }
    }

    /// The minor version checks compare against (`latest` is `u32::MAX`; a major version
    /// above 1 is treated as latest).
    pub fn minor(&self) -> u32 {
        match self.version {
            None => u32::MAX,
            Some((1, m)) => m,
            Some((0, _)) => 0,
            Some(_) => u32::MAX,
        }
    }

    /// Parse `latest`, `v1.25` or `1.25`; `None`/empty is latest.
    pub fn parse_opt(s: Option<&str>) -> Result<PssVersion, PssParseError> {
        match s.map(str::trim) {
            None | Some("") => Ok(PssVersion::latest()),
            Some(s) => s.parse(),
        }
    }
}

impl FromStr for PssVersion {
    type Err = PssParseError;
    fn from_str(s: &str) -> Result<PssVersion, PssParseError> {
        let t = s.trim();
        if t.eq_ignore_ascii_case("latest") {
            return Ok(PssVersion::latest());
        }
        let err = || PssParseError::Version(s.to_string());
        let body = t.strip_prefix('v').unwrap_or(t);
        let (maj, min) = body.split_once('.').ok_or_else(err)?;
        let maj: u32 = maj.parse().map_err(|_| err())?;
        let min: u32 = min.parse().map_err(|_| err())?;
        if maj != 1 {
            return Err(err());
        }
        Ok(PssVersion {
            version: Some((maj, min)),
        })
    }
}

impl fmt::Display for PssVersion {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.version {
            None => f.write_str("latest"),
            Some((a, b)) => write!(f, "v{a}.{b}"),
        }
    }
}

/// One control as PSA registers it.
pub(crate) struct Control {
    /// Upstream check id (`hostNamespaces`, `seccompProfile_restricted` …).
    pub upstream: &'static str,
    /// Rule slug after `k8s/pss-`.
    pub slug: &'static str,
    pub level: Level,
    /// First policy minor version with the check.
    pub since: u32,
    /// Baseline checks this one replaces when evaluating the restricted level.
    pub overrides: &'static [&'static str],
    pub check: CheckFn,
    pub title: &'static str,
    pub description: &'static str,
    pub remediation: &'static str,
    /// Peer-tool ids that check the same thing (`CKV_K8S_n`, `trivy:KSV-nnnn`,
    /// `kube-linter:x`, `polaris:x`, `kubesec:x`), as on the best-practice rules; a
    /// comment on the control says where a peer is narrower or wider than PSA.
    pub peers: &'static [&'static str],
}

macro_rules! control {
    ($up:expr, $slug:expr, $lvl:ident, $since:expr, $ov:expr, $f:path, $title:expr, $desc:expr, $rem:expr, $peers:expr) => {
        Control {
            upstream: $up,
            slug: $slug,
            level: Level::$lvl,
            since: $since,
            overrides: $ov,
            check: $f,
            title: $title,
            description: $desc,
            remediation: $rem,
            peers: $peers,
        }
    };
}

pub(crate) fn controls() -> &'static [Control] {
    use checks::*;
    static CONTROLS: &[Control] = &[
        // Each peer checks one of the three namespaces (narrower); the control fails on any.
        control!("hostNamespaces", "host-namespaces", Baseline, 0, &[], host_namespaces,
            "Pod shares a host namespace",
            "Sharing the host's network, PID or IPC namespace (hostNetwork, hostPID, hostIPC) lets a pod see and affect host processes and traffic. Pod Security Standards baseline forbids it.",
            "Remove hostNetwork, hostPID and hostIPC or set them to false.",
            &["CKV_K8S_17", "CKV_K8S_18", "CKV_K8S_19", "trivy:KSV-0008", "trivy:KSV-0009", "trivy:KSV-0010", "kube-linter:host-ipc", "kube-linter:host-network", "kube-linter:host-pid", "polaris:hostIPCSet", "polaris:hostNetworkSet", "polaris:hostPIDSet"]),
        control!("privileged", "privileged", Baseline, 0, &[], privileged,
            "Privileged container",
            "A privileged container has all capabilities and access to every host device; it is root on the node. Pod Security Standards baseline forbids it.",
            "Remove securityContext.privileged or set it to false; grant only the specific capabilities needed.",
            &["CKV_K8S_16", "trivy:KSV-0017", "kube-linter:privileged-container", "polaris:runAsPrivileged", "kubesec:Privileged"]),
        // CKV_K8S_25 is wider: it fails any added capability, even one of the default set.
        control!("capabilities_baseline", "capabilities-baseline", Baseline, 0, &[], capabilities_baseline,
            "Container adds a capability beyond the default set",
            "Adding capabilities beyond the container runtime's default set (AUDIT_WRITE, CHOWN, DAC_OVERRIDE, FOWNER, FSETID, KILL, MKNOD, NET_BIND_SERVICE, SETFCAP, SETGID, SETPCAP, SETUID, SYS_CHROOT), e.g. SYS_ADMIN or NET_ADMIN, is forbidden by Pod Security Standards baseline.",
            "Remove the capability from securityContext.capabilities.add.",
            &["CKV_K8S_25"]),
        control!("hostPathVolumes", "host-path-volumes", Baseline, 0, &[], host_path_volumes,
            "hostPath volume",
            "hostPath volumes mount a directory of the node into the pod, which can expose the node's file system, credentials and container runtime socket. Pod Security Standards baseline forbids them.",
            "Use a persistentVolumeClaim, emptyDir, configMap or secret volume instead.",
            &["trivy:KSV-0023"]),
        control!("hostPorts", "host-ports", Baseline, 0, &[], host_ports,
            "Container uses a hostPort",
            "hostPort binds a port on the node's network interfaces, bypassing network policy and limiting scheduling. Pod Security Standards baseline forbids non-zero host ports.",
            "Remove ports[].hostPort and expose the pod through a Service.",
            &["CKV_K8S_26", "trivy:KSV-0024", "polaris:hostPortSet"]),
        // KSV-0002 is wider: it accepts only runtime/default, not localhost/ profiles.
        control!("appArmorProfile", "apparmor-profile", Baseline, 0, &[], apparmor_profile,
            "AppArmor profile disabled or overridden",
            "The AppArmor profile (container.apparmor.security.beta.kubernetes.io/* annotations or securityContext.appArmorProfile) may only be runtime/default (RuntimeDefault) or a localhost profile; Unconfined disables AppArmor.",
            "Remove the Unconfined AppArmor setting or use RuntimeDefault / a Localhost profile.",
            &["trivy:KSV-0002"]),
        control!("seLinuxOptions", "selinux-options", Baseline, 0, &[], selinux_options,
            "Custom SELinux options",
            "Setting a custom SELinux user or role, or a type other than container_t, container_init_t, container_kvm_t (or container_engine_t from v1.31), can escape the container's SELinux confinement.",
            "Remove seLinuxOptions.user and role and use an allowed type (or none).",
            &["trivy:KSV-0025"]),
        // KSV-0027 and unsafe-proc-mount ignore the v1.35 user-namespace exemption (wider).
        control!("procMount_baseline", "proc-mount", Baseline, 0, &[], proc_mount_baseline,
            "Unmasked /proc mount",
            "securityContext.procMount other than Default unmasks /proc paths that the runtime hides. From v1.35 baseline allows it for pods in a user namespace (hostUsers: false).",
            "Remove securityContext.procMount or set it to Default.",
            &["trivy:KSV-0027", "kube-linter:unsafe-proc-mount"]),
        control!("seccompProfile_baseline", "seccomp-profile-baseline", Baseline, 0, &[], seccomp_baseline,
            "Seccomp explicitly disabled",
            "Setting the seccomp profile to Unconfined (seccompProfile.type, or the seccomp annotations before v1.19) removes the system call filter.",
            "Remove the Unconfined seccomp setting; use RuntimeDefault.",
            &["trivy:KSV-0104"]),
        control!("sysctls", "sysctls", Baseline, 0, &[], sysctls,
            "Unsafe sysctl",
            "Only namespaced, isolated sysctls are allowed (kernel.shm_rmid_forced, net.ipv4.ip_local_port_range, net.ipv4.tcp_syncookies, net.ipv4.ping_group_range, net.ipv4.ip_unprivileged_port_start; ip_local_reserved_ports from v1.27; tcp_keepalive_time, tcp_fin_timeout, tcp_keepalive_intvl, tcp_keepalive_probes from v1.29; tcp_rmem, tcp_wmem from v1.32; tcp_slow_start_after_idle, tcp_notsent_lowat from v1.37).",
            "Remove the sysctl from spec.securityContext.sysctls.",
            &["trivy:KSV-0026"]),
        control!("windowsHostProcess", "windows-host-process", Baseline, 0, &[], windows_host_process,
            "Windows HostProcess container",
            "Windows HostProcess containers run directly on the host with full privileges. Pod Security Standards baseline forbids them.",
            "Remove securityContext.windowsOptions.hostProcess or set it to false.",
            &["trivy:KSV-0103"]),
        control!("hostProbesAndHostLifecycle", "host-probes-and-lifecycle", Baseline, 34, &[], host_probes_and_lifecycle,
            "Probe or lifecycle handler targets another host",
            "A probe or lifecycle handler with httpGet.host or tcpSocket.host makes the kubelet connect to an arbitrary host (server-side request forgery). Forbidden by baseline from v1.34.",
            "Remove the host field so the handler targets the pod's own IP.",
            &[]),
        control!("restrictedVolumes", "restricted-volumes", Restricted, 0, &[], restricted_volumes,
            "Volume type not allowed by the restricted profile",
            "The restricted profile allows only configMap, csi, downwardAPI, emptyDir, ephemeral, persistentVolumeClaim, projected and secret volumes.",
            "Replace the volume with one of the allowed types (usually a persistentVolumeClaim).",
            &["trivy:KSV-0028"]),
        // The peers do not exempt Windows pods (wider).
        control!("allowPrivilegeEscalation", "allow-privilege-escalation", Restricted, 8, &[], allow_privilege_escalation,
            "Privilege escalation not disabled",
            "Every container must set securityContext.allowPrivilegeEscalation=false so setuid binaries cannot gain privileges (not required for Windows pods from v1.25).",
            "Set securityContext.allowPrivilegeEscalation: false on every container.",
            &["CKV_K8S_20", "trivy:KSV-0001", "polaris:privilegeEscalationAllowed"]),
        // CKV_K8S_23, polaris and kube-linter also accept a non-zero runAsUser without
        // runAsNonRoot (narrower); KSV-0012 wants runAsNonRoot as PSA does.
        control!("runAsNonRoot", "run-as-non-root", Restricted, 0, &[], run_as_non_root,
            "Containers may run as root",
            "The pod or every container must set securityContext.runAsNonRoot=true, and no container may set it to false.",
            "Set spec.securityContext.runAsNonRoot: true (and a non-zero runAsUser).",
            &["CKV_K8S_23", "trivy:KSV-0012", "polaris:runAsRootAllowed", "kube-linter:run-as-non-root"]),
        control!("runAsUser", "run-as-user", Restricted, 23, &[], run_as_user,
            "Runs as user 0 (root)",
            "Neither the pod nor a container may set securityContext.runAsUser to 0 (from v1.23).",
            "Set runAsUser to a non-zero UID or remove it and use runAsNonRoot.",
            &["trivy:KSV-0105"]),
        // CKV_K8S_31 does not exempt Windows pods (wider) and accepts the deprecated
        // seccomp annotations (narrower).
        control!("seccompProfile_restricted", "seccomp-profile-restricted", Restricted, 19, &["seccompProfile_baseline"], seccomp_restricted,
            "Seccomp profile not set to RuntimeDefault or Localhost",
            "The pod or every container must set securityContext.seccompProfile.type to RuntimeDefault or Localhost (from v1.19; not required for Windows pods from v1.25).",
            "Set spec.securityContext.seccompProfile.type: RuntimeDefault.",
            &["CKV_K8S_31", "trivy:KSV-0030"]),
        // CKV_K8S_37 wants drop ALL (in any case) but does not look at
        // capabilities.add (narrower).
        control!("capabilities_restricted", "capabilities-restricted", Restricted, 22, &["capabilities_baseline"], capabilities_restricted,
            "Capabilities not dropped",
            "Every container must drop ALL capabilities and may add back only NET_BIND_SERVICE (from v1.22; not required for Windows pods from v1.25).",
            "Set securityContext.capabilities.drop: [\"ALL\"] and add only NET_BIND_SERVICE if needed.",
            &["CKV_K8S_37", "trivy:KSV-0106"]),
        control!("procMount_restricted", "proc-mount-restricted", Restricted, 35, &["procMount_baseline"], proc_mount_restricted,
            "Unmasked /proc mount (restricted)",
            "From v1.35 the restricted profile forbids securityContext.procMount other than Default even for pods in a user namespace.",
            "Remove securityContext.procMount or set it to Default.",
            &["trivy:KSV-0027", "kube-linter:unsafe-proc-mount"]),
    ];
    CONTROLS
}

/// The controls that apply at `level` and `minor`, with PSA's overrides applied.
fn active_controls(level: Level, minor: u32) -> Vec<&'static Control> {
    let applicable: Vec<&Control> = controls()
        .iter()
        .filter(|c| c.level <= level && c.level != Level::Privileged && minor >= c.since)
        .collect();
    let overridden: Vec<&str> = applicable
        .iter()
        .flat_map(|c| c.overrides.iter().copied())
        .collect();
    applicable
        .into_iter()
        .filter(|c| !overridden.contains(&c.upstream))
        .collect()
}

/// Whether each control of [`controls`] is active at `level` and `minor`.
pub(crate) fn active_mask(level: Level, minor: u32) -> Vec<bool> {
    let active = active_controls(level, minor);
    controls()
        .iter()
        .map(|c| active.iter().any(|a| a.upstream == c.upstream))
        .collect()
}

fn meta_of(c: &Control) -> RuleMeta {
    let upstream = c.upstream;
    RuleMeta {
        id: format!("k8s/pss-{}", c.slug),
        area: "k8s".into(),
        title: c.title.into(),
        severity: match c.level {
            Level::Restricted => Severity::Medium,
            _ => Severity::High,
        },
        description: c.description.into(),
        remediation: c.remediation.into(),
        references: vec![
            "https://kubernetes.io/docs/concepts/security/pod-security-standards/".into(),
            format!("PSA check {upstream}"),
        ],
        peers: c.peers.iter().map(|p| (*p).to_string()).collect(),
        tags: vec![
            "pss".into(),
            format!("pss-{}", c.level.as_str()),
            "kubernetes".into(),
        ],
    }
}

/// Metadata of every PSS rule (`k8s/pss-*`).
pub fn metas() -> Vec<RuleMeta> {
    controls().iter().map(meta_of).collect()
}

/// The PSS rule ids that belong to `level` (baseline ids for `Baseline`, baseline and
/// restricted ids for `Restricted`).
pub fn rule_ids(level: Level) -> Vec<String> {
    controls()
        .iter()
        .filter(|c| c.level <= level && level != Level::Privileged)
        .map(|c| format!("k8s/pss-{}", c.slug))
        .collect()
}

/// The findings of `violations` of `control` on `obj` (`r` is `obj.object_ref()`).
fn to_findings(
    obj: &Object,
    r: &K8sObjectRef,
    control: &Control,
    meta: &RuleMeta,
    version: &str,
    violations: Vec<Violation>,
    out: &mut Vec<Finding>,
) {
    for viol in violations {
        let fp = rampart_core::fingerprint::fingerprint(&[
            &meta.id,
            obj.path.as_deref().unwrap_or(""),
            &r.kind,
            r.namespace.as_deref().unwrap_or(""),
            &r.name,
            &viol.field_path,
        ]);
        let mut f = Finding::new(
            meta,
            format!("{}: {}", control.title, viol.message),
            crate::best::location(obj, r, &viol.field_path),
            fp,
        );
        f.properties
            .insert("pss_level".into(), control.level.as_str().into());
        f.properties
            .insert("pss_control".into(), control.upstream.into());
        f.properties.insert("pss_version".into(), version.into());
        out.push(f);
    }
}

/// Run the controls of `level` at `version` on one object: one finding per violated
/// field. Empty when the object meets the level (or has no pod spec).
pub fn evaluate_pss(obj: &Object, level: Level, version: &PssVersion) -> Vec<Finding> {
    let Some(ps) = pod_spec(&obj.value) else {
        return Vec::new();
    };
    let containers = ps.containers();
    let r = obj.object_ref();
    let version_str = version.to_string();
    let mut out = Vec::new();
    for c in active_controls(level, version.minor()) {
        let v = (c.check)(&ps, &containers, version.minor());
        if !v.is_empty() {
            to_findings(obj, &r, c, &meta_of(c), &version_str, v, &mut out);
        }
    }
    out
}

/// The violations of `level` at `version` for a pod spec, without building findings:
/// `(upstream check id, violation)`.
pub fn violations(
    ps: &PodSpec<'_>,
    level: Level,
    version: &PssVersion,
) -> Vec<(&'static str, Violation)> {
    let containers = ps.containers();
    let mut out = Vec::new();
    for c in active_controls(level, version.minor()) {
        for v in (c.check)(ps, &containers, version.minor()) {
            out.push((c.upstream, v));
        }
    }
    out
}

fn meets(ps: &PodSpec<'_>, level: Level, minor: u32) -> bool {
    let containers = ps.containers();
    active_controls(level, minor)
        .iter()
        .all(|c| (c.check)(ps, &containers, minor).is_empty())
}

/// The strictest level `obj` satisfies at `version` (Restricted for objects without a
/// pod spec).
pub fn level_met(obj: &Object, version: &PssVersion) -> Level {
    let Some(ps) = pod_spec(&obj.value) else {
        return Level::Restricted;
    };
    let m = version.minor();
    if meets(&ps, Level::Restricted, m) {
        Level::Restricted
    } else if meets(&ps, Level::Baseline, m) {
        Level::Baseline
    } else {
        Level::Privileged
    }
}

/// Whether `obj` satisfies `level` at `version` (what PSA `enforce` would admit).
pub fn allowed(obj: &Object, level: Level, version: &PssVersion) -> bool {
    match pod_spec(&obj.value) {
        None => true,
        Some(ps) => meets(&ps, level, version.minor()),
    }
}

/// [`Rule::check`] of every PSS rule: finds the control by the rule's id.
fn check_rule(rule: &Rule, obj: &Object, ctx: &Context, out: &mut Vec<Finding>) {
    let Some(slug) = rule.meta.id.strip_prefix("k8s/pss-") else {
        return;
    };
    let Some(i) = controls().iter().position(|c| c.slug == slug) else {
        return;
    };
    let pss = PssRun::new(ctx);
    run_control(rule, i, &Subject::new(obj, &pss), out);
}

/// Run the control at index `i` of [`controls`] as `rule` on a prepared subject, if
/// the run's level and version include it.
pub(crate) fn run_control(rule: &Rule, i: usize, s: &Subject<'_>, out: &mut Vec<Finding>) {
    if !s.pss.active.get(i).copied().unwrap_or(false) {
        return;
    }
    let (Some(c), Some(ps)) = (controls().get(i), s.pod) else {
        return;
    };
    let v = (c.check)(&ps, &s.containers, s.pss.minor);
    if !v.is_empty() {
        let (r, _) = s.object_ref();
        to_findings(s.obj, r, c, &rule.meta, &s.pss.version_str, v, out);
    }
}

/// One rule per PSS control, with its internal check.
pub(crate) fn entries() -> Vec<Entry> {
    controls()
        .iter()
        .enumerate()
        .map(|(i, c)| {
            (
                Rule {
                    meta: meta_of(c),
                    check: check_rule,
                },
                Fast::Pss(i),
            )
        })
        .collect()
}

/// One rule per PSS control. Which run is decided by [`Context::pss_level`] (default
/// restricted, i.e. every control) and [`Context::pss_version`] (default latest).
pub fn rules() -> Vec<Rule> {
    entries().into_iter().map(|(r, _)| r).collect()
}

#[cfg(test)]
mod tests;
