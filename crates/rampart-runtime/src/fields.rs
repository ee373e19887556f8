//! Fields of the `k8s_audit` source: every `ka.*` field of Falco's k8saudit plugin, the
//! `jevt.*`/`json.*` fields of the json plugin, and the `evt.*` fields Falco gives every
//! plugin event.
//!
//! Semantics follow the plugin: a value that is not a JSON string is rendered as compact
//! JSON; a missing value means "not available", which makes every comparison (including
//! `!=`) false and `exists` false; list fields (`ka.req.pod.containers.image`, …) yield one
//! value per container/item and skip missing ones.

use std::borrow::Cow;

use crate::json::J;

use crate::condition::{FieldRef, Transformer};
use crate::event::AuditEvent;

/// What part of the audit event a field reads, for deriving an audit `Policy`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Needs {
    /// Metadata only (user, verb, objectRef, annotations, responseStatus, …).
    Metadata,
    /// The request body (`requestObject`): level `Request` or above.
    Request,
    /// The response body (`responseObject`): level `RequestResponse`.
    Response,
}

/// What argument a field takes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ArgKind {
    /// None.
    None,
    /// Optional numeric index (`[0]`) selecting one container/item.
    Index,
    /// Required key (`ka.uri.param[command]`).
    Key,
    /// Required JSON pointer (`jevt.value[/requestObject/spec]`).
    Pointer,
}

#[derive(Debug, Clone, Copy)]
enum K {
    Str(&'static [&'static str]),
    Annotation(&'static str),
    List(&'static [&'static str]),
    Ctr(&'static str, &'static [&'static str]),
    CtrImage(&'static str),
    CtrRepo(&'static str),
    CtrHostPort(&'static str),
    CtrEff(&'static str, &'static str),
    CtrJoin(&'static str, &'static str),
    FirstImage,
    FirstRepo,
    AnyPrivileged,
    VolumeHostpathKey,
    Volumes(&'static [&'static str]),
    VolumeType,
    RulesField(&'static str),
    UriParam,
    HasName,
    Subjects(&'static str),
    SubjectsSaNs,
    TargetPodName,
    SourceIps,
    ClusterName,
    JPointer,
    JObj,
    RawTime,
    TimeHms,
    TimeS,
    TimeIso,
    DateTime,
    EvtNum,
    EvtSource,
    EvtType,
    Hostname,
    PluginName,
}

/// Static description of a field.
#[derive(Debug)]
pub struct FieldInfo {
    /// Name, e.g. `ka.user.name`.
    pub name: &'static str,
    /// Whether it yields a list of values.
    pub list: bool,
    /// Whether it is numeric (compared as numbers).
    pub numeric: bool,
    /// Its argument.
    pub arg: ArgKind,
    /// What part of the event it reads.
    pub needs: Needs,
    /// One-line description.
    pub desc: &'static str,
    kind: K,
}

const fn f(
    name: &'static str,
    list: bool,
    arg: ArgKind,
    needs: Needs,
    kind: K,
    desc: &'static str,
) -> FieldInfo {
    FieldInfo {
        name,
        list,
        numeric: false,
        arg,
        needs,
        desc,
        kind,
    }
}

const fn num(name: &'static str, kind: K, desc: &'static str) -> FieldInfo {
    FieldInfo {
        name,
        list: false,
        numeric: true,
        arg: ArgKind::None,
        needs: Needs::Metadata,
        desc,
        kind,
    }
}

use ArgKind as A;
use Needs::{Metadata as M, Request as R, Response as Rs};

macro_rules! ctr_fields {
    ($p:literal, $key:literal, $what:literal) => {
        [
            f(
                concat!($p, ".name"),
                true,
                A::Index,
                R,
                K::Ctr($key, &["name"]),
                concat!("Names of the pod's ", $what, "."),
            ),
            f(
                concat!($p, ".image"),
                true,
                A::Index,
                R,
                K::CtrImage($key),
                concat!("Images of the pod's ", $what, "."),
            ),
            f(
                concat!($p, ".image.repository"),
                true,
                A::Index,
                R,
                K::CtrRepo($key),
                concat!(
                    "Image repositories (no tag or digest) of the pod's ",
                    $what,
                    "."
                ),
            ),
            f(
                concat!($p, ".command"),
                true,
                A::Index,
                R,
                K::CtrJoin($key, "command"),
                concat!(
                    "Commands of the pod's ",
                    $what,
                    " (one value per container, space-joined)."
                ),
            ),
            f(
                concat!($p, ".args"),
                true,
                A::Index,
                R,
                K::CtrJoin($key, "args"),
                concat!(
                    "Args of the pod's ",
                    $what,
                    " (one value per container, space-joined)."
                ),
            ),
            f(
                concat!($p, ".privileged"),
                true,
                A::Index,
                R,
                K::Ctr($key, &["securityContext", "privileged"]),
                concat!("securityContext.privileged of the pod's ", $what, "."),
            ),
            f(
                concat!($p, ".allow_privilege_escalation"),
                true,
                A::Index,
                R,
                K::Ctr($key, &["securityContext", "allowPrivilegeEscalation"]),
                concat!(
                    "securityContext.allowPrivilegeEscalation of the pod's ",
                    $what,
                    "."
                ),
            ),
            f(
                concat!($p, ".read_only_fs"),
                true,
                A::Index,
                R,
                K::Ctr($key, &["securityContext", "readOnlyRootFilesystem"]),
                concat!(
                    "securityContext.readOnlyRootFilesystem of the pod's ",
                    $what,
                    "."
                ),
            ),
            f(
                concat!($p, ".run_as_user"),
                true,
                A::Index,
                R,
                K::Ctr($key, &["securityContext", "runAsUser"]),
                concat!("securityContext.runAsUser of the pod's ", $what, "."),
            ),
            f(
                concat!($p, ".eff_run_as_user"),
                true,
                A::Index,
                R,
                K::CtrEff($key, "runAsUser"),
                concat!(
                    "Effective uid of the pod's ",
                    $what,
                    " (container, else pod, else 0)."
                ),
            ),
            f(
                concat!($p, ".run_as_group"),
                true,
                A::Index,
                R,
                K::Ctr($key, &["securityContext", "runAsGroup"]),
                concat!("securityContext.runAsGroup of the pod's ", $what, "."),
            ),
            f(
                concat!($p, ".eff_run_as_group"),
                true,
                A::Index,
                R,
                K::CtrEff($key, "runAsGroup"),
                concat!(
                    "Effective gid of the pod's ",
                    $what,
                    " (container, else pod, else 0)."
                ),
            ),
            f(
                concat!($p, ".proc_mount"),
                true,
                A::Index,
                R,
                K::Ctr($key, &["securityContext", "procMount"]),
                concat!("securityContext.procMount of the pod's ", $what, "."),
            ),
            f(
                concat!($p, ".add_capabilities"),
                true,
                A::Index,
                R,
                K::Ctr($key, &["securityContext", "capabilities", "add"]),
                concat!("Capabilities added to the pod's ", $what, "."),
            ),
            f(
                concat!($p, ".host_port"),
                true,
                A::Index,
                R,
                K::CtrHostPort($key),
                concat!(
                    "hostPort (else containerPort) values of the pod's ",
                    $what,
                    "."
                ),
            ),
        ]
    };
}

static CONTAINERS: [FieldInfo; 15] =
    ctr_fields!("ka.req.pod.containers", "containers", "containers");
static INIT_CONTAINERS: [FieldInfo; 15] = ctr_fields!(
    "ka.req.pod.initContainers",
    "initContainers",
    "init containers"
);
static EPHEMERAL_CONTAINERS: [FieldInfo; 15] = ctr_fields!(
    "ka.req.pod.ephemeralContainers",
    "ephemeralContainers",
    "ephemeral containers"
);

static FIELDS: &[FieldInfo] = &[
    f(
        "ka.auditid",
        false,
        A::None,
        M,
        K::Str(&["auditID"]),
        "The unique id of the audit event.",
    ),
    f(
        "ka.stage",
        false,
        A::None,
        M,
        K::Str(&["stage"]),
        "Stage of the request (RequestReceived, ResponseComplete, …).",
    ),
    f(
        "ka.auth.decision",
        false,
        A::None,
        M,
        K::Annotation("authorization.k8s.io/decision"),
        "The authorization decision.",
    ),
    f(
        "ka.auth.reason",
        false,
        A::None,
        M,
        K::Annotation("authorization.k8s.io/reason"),
        "The authorization reason.",
    ),
    f(
        "ka.auth.openshift.decision",
        false,
        A::None,
        M,
        K::Annotation("authorization.openshift.io/decision"),
        "The OpenShift apiserver's authorization decision.",
    ),
    f(
        "ka.auth.openshift.username",
        false,
        A::None,
        M,
        K::Annotation("authentication.openshift.io/username"),
        "The user name of an OpenShift authentication.",
    ),
    f(
        "ka.validations.admission.policy.failure",
        false,
        A::None,
        M,
        K::Annotation("validation.policy.admission.k8s.io/validation_failure"),
        "The failure reported by a ValidatingAdmissionPolicy.",
    ),
    f(
        "ka.security.pod.violations",
        false,
        A::None,
        M,
        K::Annotation("pod-security.kubernetes.io/audit-violations"),
        "Pod Security admission audit violations.",
    ),
    f(
        "ka.user.name",
        false,
        A::None,
        M,
        K::Str(&["user", "username"]),
        "The user name performing the request.",
    ),
    f(
        "ka.user.groups",
        true,
        A::None,
        M,
        K::List(&["user", "groups"]),
        "The groups of the user.",
    ),
    f(
        "ka.impuser.name",
        false,
        A::None,
        M,
        K::Str(&["impersonatedUser", "username"]),
        "The impersonated user name.",
    ),
    f(
        "ka.verb",
        false,
        A::None,
        M,
        K::Str(&["verb"]),
        "The action being performed.",
    ),
    f(
        "ka.uri",
        false,
        A::None,
        M,
        K::Str(&["requestURI"]),
        "The request URI as sent from client to server.",
    ),
    f(
        "ka.uri.param",
        false,
        A::Key,
        M,
        K::UriParam,
        "The value of a query parameter of the URI (first value).",
    ),
    f(
        "ka.target.name",
        false,
        A::None,
        M,
        K::Str(&["objectRef", "name"]),
        "The target object name.",
    ),
    f(
        "ka.target.namespace",
        false,
        A::None,
        M,
        K::Str(&["objectRef", "namespace"]),
        "The target object namespace.",
    ),
    f(
        "ka.target.resource",
        false,
        A::None,
        M,
        K::Str(&["objectRef", "resource"]),
        "The target object resource.",
    ),
    f(
        "ka.target.subresource",
        false,
        A::None,
        M,
        K::Str(&["objectRef", "subresource"]),
        "The target object subresource.",
    ),
    f(
        "ka.target.pod.name",
        false,
        A::None,
        M,
        K::TargetPodName,
        "The target pod name (when the resource is pods).",
    ),
    f(
        "ka.req.binding.subjects",
        true,
        A::None,
        R,
        K::List(&["requestObject", "subjects"]),
        "The subjects of a (cluster) role binding, as JSON.",
    ),
    f(
        "ka.req.binding.subjects.user_names",
        true,
        A::None,
        R,
        K::Subjects("User"),
        "User subjects of a binding.",
    ),
    f(
        "ka.req.binding.subjects.serviceaccount_names",
        true,
        A::None,
        R,
        K::Subjects("ServiceAccount"),
        "ServiceAccount subjects of a binding.",
    ),
    f(
        "ka.req.binding.subjects.serviceaccount_ns_names",
        true,
        A::None,
        R,
        K::SubjectsSaNs,
        "ServiceAccount subjects of a binding as namespace:name.",
    ),
    f(
        "ka.req.binding.subjects.group_names",
        true,
        A::None,
        R,
        K::Subjects("Group"),
        "Group subjects of a binding.",
    ),
    f(
        "ka.req.binding.role",
        false,
        A::None,
        R,
        K::Str(&["requestObject", "roleRef", "name"]),
        "The role referenced by a binding.",
    ),
    f(
        "ka.req.binding.subject.has_name",
        false,
        A::Key,
        M,
        K::HasName,
        "Deprecated; always true.",
    ),
    f(
        "ka.req.configmap.name",
        false,
        A::None,
        M,
        K::Str(&["objectRef", "name"]),
        "The configmap name.",
    ),
    f(
        "ka.req.configmap.obj",
        false,
        A::None,
        R,
        K::Str(&["requestObject", "data"]),
        "The configmap's data, as JSON.",
    ),
    f(
        "ka.req.container.image",
        false,
        A::None,
        R,
        K::FirstImage,
        "Deprecated: image of the first container.",
    ),
    f(
        "ka.req.container.image.repository",
        false,
        A::None,
        R,
        K::FirstRepo,
        "Deprecated: repository of the first container's image.",
    ),
    f(
        "ka.req.pod.host_ipc",
        false,
        A::None,
        R,
        K::Str(&["requestObject", "spec", "hostIPC"]),
        "The pod's hostIPC flag.",
    ),
    f(
        "ka.req.pod.host_network",
        false,
        A::None,
        R,
        K::Str(&["requestObject", "spec", "hostNetwork"]),
        "The pod's hostNetwork flag.",
    ),
    f(
        "ka.req.container.host_network",
        false,
        A::None,
        R,
        K::Str(&["requestObject", "spec", "hostNetwork"]),
        "Deprecated alias of ka.req.pod.host_network.",
    ),
    f(
        "ka.req.pod.host_pid",
        false,
        A::None,
        R,
        K::Str(&["requestObject", "spec", "hostPID"]),
        "The pod's hostPID flag.",
    ),
    f(
        "ka.req.container.privileged",
        false,
        A::None,
        R,
        K::AnyPrivileged,
        "Deprecated: true if any container is privileged.",
    ),
    f(
        "ka.req.pod.run_as_user",
        false,
        A::None,
        R,
        K::Str(&["requestObject", "spec", "securityContext", "runAsUser"]),
        "The pod-level runAsUser.",
    ),
    f(
        "ka.req.pod.run_as_group",
        false,
        A::None,
        R,
        K::Str(&["requestObject", "spec", "securityContext", "runAsGroup"]),
        "The pod-level runAsGroup.",
    ),
    f(
        "ka.req.pod.fs_group",
        false,
        A::None,
        R,
        K::Str(&["requestObject", "spec", "securityContext", "fsGroup"]),
        "The pod-level fsGroup.",
    ),
    f(
        "ka.req.pod.supplemental_groups",
        true,
        A::None,
        R,
        K::List(&[
            "requestObject",
            "spec",
            "securityContext",
            "supplementalGroups",
        ]),
        "The pod-level supplementalGroups.",
    ),
    f(
        "ka.req.role.rules",
        true,
        A::None,
        R,
        K::List(&["requestObject", "rules"]),
        "The rules of a (cluster) role, as JSON.",
    ),
    f(
        "ka.req.role.rules.apiGroups",
        true,
        A::Index,
        R,
        K::RulesField("apiGroups"),
        "The apiGroups of a role's rules.",
    ),
    f(
        "ka.req.role.rules.nonResourceURLs",
        true,
        A::Index,
        R,
        K::RulesField("nonResourceURLs"),
        "The nonResourceURLs of a role's rules.",
    ),
    f(
        "ka.req.role.rules.verbs",
        true,
        A::Index,
        R,
        K::RulesField("verbs"),
        "The verbs of a role's rules.",
    ),
    f(
        "ka.req.role.rules.resources",
        true,
        A::Index,
        R,
        K::RulesField("resources"),
        "The resources of a role's rules.",
    ),
    f(
        "ka.req.service.type",
        false,
        A::None,
        R,
        K::Str(&["requestObject", "spec", "type"]),
        "The service type.",
    ),
    f(
        "ka.req.service.ports",
        true,
        A::Index,
        R,
        K::Volumes(&["requestObject", "spec", "ports"]),
        "The service's ports, as JSON.",
    ),
    f(
        "ka.req.pod.volumes.hostpath",
        true,
        A::Index,
        R,
        K::Volumes(&["requestObject", "spec", "volumes", "hostPath", "path"]),
        "hostPath paths of the pod's volumes.",
    ),
    f(
        "ka.req.volume.hostpath",
        false,
        A::Key,
        R,
        K::VolumeHostpathKey,
        "Deprecated: true if a hostPath volume uses the path (a trailing * matches a prefix).",
    ),
    f(
        "ka.req.pod.volumes.flexvolume_driver",
        true,
        A::Index,
        R,
        K::Volumes(&["requestObject", "spec", "volumes", "flexVolume", "driver"]),
        "flexVolume drivers of the pod's volumes.",
    ),
    f(
        "ka.req.pod.volumes.volume_type",
        true,
        A::Index,
        R,
        K::VolumeType,
        "Volume types of the pod's volumes.",
    ),
    f(
        "ka.resp.name",
        false,
        A::None,
        Rs,
        K::Str(&["responseObject", "metadata", "name"]),
        "The response object name.",
    ),
    f(
        "ka.response.code",
        false,
        A::None,
        M,
        K::Str(&["responseStatus", "code"]),
        "The response code.",
    ),
    f(
        "ka.response.reason",
        false,
        A::None,
        M,
        K::Str(&["responseStatus", "reason"]),
        "The response reason (usually failures only).",
    ),
    f(
        "ka.useragent",
        false,
        A::None,
        M,
        K::Str(&["userAgent"]),
        "The client's user agent.",
    ),
    f(
        "ka.sourceips",
        true,
        A::Index,
        M,
        K::SourceIps,
        "The client's IP addresses.",
    ),
    f(
        "ka.cluster.name",
        false,
        A::None,
        M,
        K::ClusterName,
        "The cluster name (from the monitor's configuration).",
    ),
    f(
        "jevt.value",
        false,
        A::Pointer,
        M,
        K::JPointer,
        "The value at a JSON pointer in the event (JSON if not a string).",
    ),
    f(
        "jevt.obj",
        false,
        A::None,
        Rs,
        K::JObj,
        "The whole event as JSON.",
    ),
    num(
        "jevt.rawtime",
        K::RawTime,
        "Event time in nanoseconds since the epoch.",
    ),
    f(
        "jevt.time",
        false,
        A::None,
        M,
        K::TimeHms,
        "Event time as HH:MM:SS.nnnnnnnnn.",
    ),
    f(
        "jevt.time.iso8601",
        false,
        A::None,
        M,
        K::TimeIso,
        "Event time in ISO 8601.",
    ),
    f(
        "json.value",
        false,
        A::Pointer,
        M,
        K::JPointer,
        "Alias of jevt.value.",
    ),
    f(
        "json.obj",
        false,
        A::None,
        Rs,
        K::JObj,
        "Alias of jevt.obj.",
    ),
    num("json.rawtime", K::RawTime, "Alias of jevt.rawtime."),
    f(
        "evt.time",
        false,
        A::None,
        M,
        K::TimeHms,
        "Event time as HH:MM:SS.nnnnnnnnn.",
    ),
    num(
        "evt.time.s",
        K::TimeS,
        "Event time as seconds since the epoch.",
    ),
    f(
        "evt.time.iso8601",
        false,
        A::None,
        M,
        K::TimeIso,
        "Event time in ISO 8601.",
    ),
    f(
        "evt.datetime",
        false,
        A::None,
        M,
        K::DateTime,
        "Event date and time, YYYY-MM-DD HH:MM:SS.nnnnnnnnn.",
    ),
    num(
        "evt.rawtime",
        K::RawTime,
        "Event time in nanoseconds since the epoch.",
    ),
    num("evt.num", K::EvtNum, "Event number (1-based, per monitor)."),
    f(
        "evt.source",
        false,
        A::None,
        M,
        K::EvtSource,
        "The event source (k8s_audit).",
    ),
    f(
        "evt.type",
        false,
        A::None,
        M,
        K::EvtType,
        "The event type (pluginevent, as Falco reports plugin events).",
    ),
    f(
        "evt.hostname",
        false,
        A::None,
        M,
        K::Hostname,
        "The monitor's host name.",
    ),
    f(
        "evt.pluginname",
        false,
        A::None,
        M,
        K::PluginName,
        "The plugin name Falco would report (k8saudit).",
    ),
];

/// Every field, in documentation order.
pub fn all_fields() -> impl Iterator<Item = &'static FieldInfo> {
    FIELDS
        .iter()
        .chain(CONTAINERS.iter())
        .chain(INIT_CONTAINERS.iter())
        .chain(EPHEMERAL_CONTAINERS.iter())
}

/// Look up a field by name.
pub fn lookup(name: &str) -> Option<&'static FieldInfo> {
    all_fields().find(|f| f.name == name)
}

/// Values extracted from one event.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Vals<'e> {
    /// Not available.
    None,
    /// One value.
    One(Cow<'e, str>),
    /// Several values (a list field).
    Many(Vec<Cow<'e, str>>),
}

impl<'e> Vals<'e> {
    /// The values as a slice (empty when not available).
    pub fn as_slice(&self) -> &[Cow<'e, str>] {
        match self {
            Vals::None => &[],
            Vals::One(v) => std::slice::from_ref(v),
            Vals::Many(v) => v,
        }
    }

    /// Whether there is no value.
    pub fn is_empty(&self) -> bool {
        self.as_slice().is_empty()
    }
}

/// Per-evaluation context.
#[derive(Debug, Clone, Copy)]
pub struct Ctx<'e> {
    /// The event.
    pub ev: &'e AuditEvent,
    /// The event number.
    pub num: u64,
    /// Host name for `evt.hostname` and alerts.
    pub hostname: &'e str,
    /// Cluster name for `ka.cluster.name`, if configured.
    pub cluster: Option<&'e str>,
}

/// The resolved argument of a field.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Arg {
    /// None.
    None,
    /// An index.
    Index(usize),
    /// A key.
    Key(String),
    /// A JSON pointer.
    Pointer(String),
}

/// A field resolved at load time: what to extract and how to transform it.
#[derive(Debug, Clone)]
pub struct Extractor {
    /// The field.
    pub info: &'static FieldInfo,
    /// Its argument.
    pub arg: Arg,
    /// Transformers, outermost first.
    pub transformers: Vec<Transformer>,
    /// JSON pointer tokens (unescaped), for pointer fields.
    ptr: Vec<String>,
}

impl Extractor {
    /// Resolve a parsed field reference; unknown fields and bad arguments are errors.
    pub fn resolve(r: &FieldRef) -> Result<Extractor, String> {
        let info = lookup(&r.name).ok_or_else(|| format!("unknown field '{}'", r.name))?;
        let arg = match (info.arg, &r.arg) {
            (A::None, None) => Arg::None,
            (A::None, Some(a)) => {
                return Err(format!(
                    "field '{}' does not take an argument (got [{a}])",
                    r.name
                ))
            }
            (A::Index, None) => Arg::None,
            (A::Index, Some(a)) => Arg::Index(a.trim().parse::<usize>().map_err(|_| {
                format!(
                    "field '{}' takes a numeric index argument, got [{a}]",
                    r.name
                )
            })?),
            (A::Key, Some(a)) if !a.is_empty() => Arg::Key(a.clone()),
            (A::Key, _) => return Err(format!("field '{}' requires a key argument", r.name)),
            (A::Pointer, Some(a)) if a.is_empty() || a.starts_with('/') => Arg::Pointer(a.clone()),
            (A::Pointer, Some(a)) => {
                return Err(format!(
                    "field '{}' takes a JSON pointer argument starting with '/', got [{a}]",
                    r.name
                ))
            }
            (A::Pointer, None) => {
                return Err(format!(
                    "field '{}' requires a JSON pointer argument",
                    r.name
                ))
            }
        };
        let ptr = match &arg {
            Arg::Pointer(p) => p
                .split('/')
                .skip(1)
                .map(|t| t.replace("~1", "/").replace("~0", "~"))
                .collect(),
            _ => Vec::new(),
        };
        Ok(Extractor {
            info,
            arg,
            transformers: r.transformers.clone(),
            ptr,
        })
    }

    /// Whether the (transformed) field yields a list.
    pub fn is_list(&self) -> bool {
        self.info.list && !self.transformers.contains(&Transformer::Len)
    }

    /// Whether the (transformed) field is numeric.
    pub fn is_numeric(&self) -> bool {
        self.info.numeric || self.transformers.first() == Some(&Transformer::Len)
    }

    /// What part of the event this field reads.
    pub fn needs(&self) -> Needs {
        if let Arg::Pointer(p) = &self.arg {
            if p.starts_with("/requestObject") {
                return Needs::Request;
            }
            if p.starts_with("/responseObject") || p.is_empty() {
                return Needs::Response;
            }
            return Needs::Metadata;
        }
        self.info.needs
    }

    /// Extract the values from an event.
    pub fn extract<'e>(&self, ctx: &Ctx<'e>) -> Vals<'e> {
        let raw = if let K::JPointer = self.info.kind {
            ctx.ev
                .doc()
                .pointer(&self.ptr)
                .map_or(Vals::None, |v| Vals::One(json_str(v)))
        } else {
            extract_raw(self.info.kind, &self.arg, ctx)
        };
        if self.transformers.is_empty() {
            return raw;
        }
        let mut vals = raw;
        for t in self.transformers.iter().rev() {
            vals = transform(*t, vals);
        }
        vals
    }
}

fn transform<'e>(t: Transformer, v: Vals<'e>) -> Vals<'e> {
    match t {
        Transformer::Len => match v {
            Vals::None => Vals::One(Cow::Borrowed("0")),
            Vals::One(s) => Vals::One(Cow::Owned(s.chars().count().to_string())),
            Vals::Many(m) => Vals::One(Cow::Owned(m.len().to_string())),
        },
        _ => {
            let map = |s: Cow<'e, str>| -> Option<Cow<'e, str>> {
                match t {
                    Transformer::ToLower => Some(Cow::Owned(s.to_lowercase())),
                    Transformer::ToUpper => Some(Cow::Owned(s.to_uppercase())),
                    Transformer::Basename => {
                        let b = s.rsplit('/').next().unwrap_or("").to_string();
                        Some(Cow::Owned(b))
                    }
                    Transformer::B64 => b64_decode(&s).map(Cow::Owned),
                    Transformer::Len => None,
                }
            };
            match v {
                Vals::None => Vals::None,
                Vals::One(s) => map(s).map_or(Vals::None, Vals::One),
                Vals::Many(m) => Vals::Many(m.into_iter().filter_map(map).collect()),
            }
        }
    }
}

/// Standard base64 (padding optional, as before), strict otherwise: data after the
/// padding or non-zero leftover bits are not decoded.
fn b64_decode(s: &str) -> Option<String> {
    use base64::engine::{general_purpose, DecodePaddingMode, GeneralPurpose};
    use base64::Engine as _;
    const ENGINE: GeneralPurpose = GeneralPurpose::new(
        &base64::alphabet::STANDARD,
        general_purpose::PAD.with_decode_padding_mode(DecodePaddingMode::Indifferent),
    );
    String::from_utf8(ENGINE.decode(s).ok()?).ok()
}

/// The value as a string: JSON strings as-is, anything else as compact JSON.
pub fn json_str<'a>(v: &'a J<'a>) -> Cow<'a, str> {
    match v {
        J::Str(s) => Cow::Borrowed(s.as_ref()),
        other => Cow::Owned(other.to_string()),
    }
}

fn path<'a>(v: &'a J<'a>, keys: &[&str]) -> Option<&'a J<'a>> {
    let mut cur = v;
    for k in keys {
        cur = cur.get(k)?;
    }
    Some(cur)
}

/// The k8saudit plugin's recursive walk: arrays met along the path are either fanned out
/// (no index; a missing value becomes `None`) or indexed.
fn values_rec<'a>(
    v: &'a J<'a>,
    idx: Option<usize>,
    keys: &[&str],
    out: &mut Vec<Option<&'a J<'a>>>,
) -> bool {
    let mut cur = v;
    for (i, k) in keys.iter().enumerate() {
        if let J::Arr(arr) = cur {
            match idx {
                None => {
                    for e in arr {
                        let mut sub = Vec::new();
                        if values_rec(e, idx, &keys[i..], &mut sub) {
                            out.extend(sub);
                        } else {
                            out.push(None);
                        }
                    }
                    return true;
                }
                Some(n) => match arr.get(n) {
                    Some(e) => cur = e,
                    None => return false,
                },
            }
        }
        if !k.is_empty() {
            match cur.get(k) {
                Some(x) => cur = x,
                None => return false,
            }
        }
    }
    out.push(Some(cur));
    true
}

fn rec<'a>(v: &'a J<'a>, idx: Option<usize>, keys: &[&str]) -> Option<Vec<Option<&'a J<'a>>>> {
    let mut out = Vec::new();
    values_rec(v, idx, keys, &mut out).then_some(out)
}

fn skip_nil<'a>(vals: Vec<Option<&'a J<'a>>>) -> Vals<'a> {
    Vals::Many(vals.into_iter().flatten().map(json_str).collect())
}

fn index(arg: &Arg) -> Option<usize> {
    match arg {
        Arg::Index(i) => Some(*i),
        _ => None,
    }
}

fn images<'a>(doc: &'a J<'a>, key: &str, idx: Option<usize>) -> Option<Vec<Cow<'a, str>>> {
    let vals = rec(doc, idx, &["requestObject", "spec", key, "image"])?;
    // The plugin fails the whole extraction when one container lacks an image.
    vals.into_iter().map(|v| v.map(json_str)).collect()
}

/// The repository part of an image as written (`nginx:1.2` → `nginx`,
/// `localhost:5000/app:1` → `localhost:5000/app`), not normalised, as the plugin gives
/// it. An image that is not a valid reference is returned whole: it matches no list of
/// repositories (a pod with it cannot be pulled either).
fn repo(image: &str) -> Cow<'_, str> {
    match rampart_core::ImageRef::parse(image) {
        // The written name is a prefix of the image string.
        Ok(r) => Cow::Borrowed(image.get(..r.written_name().len()).unwrap_or(image)),
        Err(_) => Cow::Borrowed(image),
    }
}

fn owned_or_borrowed_repo(c: Cow<'_, str>) -> Cow<'_, str> {
    match c {
        Cow::Borrowed(s) => repo(s),
        Cow::Owned(s) => Cow::Owned(repo(&s).into_owned()),
    }
}

fn extract_raw<'e>(kind: K, arg: &Arg, ctx: &Ctx<'e>) -> Vals<'e> {
    let doc = ctx.ev.doc();
    match kind {
        K::Str(keys) => path(doc, keys).map_or(Vals::None, |v| Vals::One(json_str(v))),
        K::Annotation(key) => doc
            .get("annotations")
            .and_then(|a| a.get(key))
            .map_or(Vals::None, |v| Vals::One(json_str(v))),
        K::List(keys) => match path(doc, keys) {
            Some(J::Arr(a)) => Vals::Many(a.iter().map(json_str).collect()),
            _ => Vals::None,
        },
        K::Ctr(key, sub) => {
            let mut keys = vec!["requestObject", "spec", key];
            keys.extend_from_slice(sub);
            rec(doc, index(arg), &keys).map_or(Vals::None, skip_nil)
        }
        K::CtrImage(key) => images(doc, key, index(arg)).map_or(Vals::None, Vals::Many),
        K::CtrRepo(key) => images(doc, key, index(arg)).map_or(Vals::None, |v| {
            Vals::Many(v.into_iter().map(owned_or_borrowed_repo).collect())
        }),
        K::CtrHostPort(key) => {
            let Some(ports) = rec(doc, index(arg), &["requestObject", "spec", key, "ports"]) else {
                return Vals::None;
            };
            let mut out = Vec::new();
            for p in ports.into_iter().flatten() {
                let J::Arr(list) = p else {
                    return Vals::None;
                };
                for port in list {
                    if let Some(h) = port.get("hostPort") {
                        out.push(json_str(h));
                    } else if let Some(c) = port.get("containerPort") {
                        out.push(json_str(c));
                    }
                }
            }
            Vals::Many(out)
        }
        K::CtrEff(key, which) => {
            let pod = path(doc, &["requestObject", "spec", "securityContext", which])
                .map_or(Cow::Borrowed("0"), json_str);
            let Some(vals) = rec(
                doc,
                index(arg),
                &["requestObject", "spec", key, "securityContext", which],
            ) else {
                return Vals::None;
            };
            Vals::Many(
                vals.into_iter()
                    .map(|v| v.map_or_else(|| pod.clone(), json_str))
                    .collect(),
            )
        }
        K::CtrJoin(key, which) => {
            let Some(vals) = rec(doc, index(arg), &["requestObject", "spec", key, which]) else {
                return Vals::None;
            };
            Vals::Many(
                vals.into_iter()
                    .flatten()
                    .map(|v| match v {
                        J::Arr(items) => {
                            Cow::Owned(items.iter().map(json_str).collect::<Vec<_>>().join(" "))
                        }
                        other => json_str(other),
                    })
                    .collect(),
            )
        }
        K::FirstImage => images(doc, "containers", Some(0))
            .and_then(|v| v.into_iter().next())
            .map_or(Vals::None, Vals::One),
        K::FirstRepo => images(doc, "containers", Some(0))
            .and_then(|v| v.into_iter().next())
            .map_or(Vals::None, |c| Vals::One(owned_or_borrowed_repo(c))),
        K::AnyPrivileged => {
            let Some(vals) = rec(
                doc,
                None,
                &[
                    "requestObject",
                    "spec",
                    "containers",
                    "securityContext",
                    "privileged",
                ],
            ) else {
                return Vals::None;
            };
            let any = vals
                .into_iter()
                .flatten()
                .any(|v| v.as_bool() == Some(true));
            Vals::One(Cow::Borrowed(if any { "true" } else { "false" }))
        }
        K::VolumeHostpathKey => {
            let Arg::Key(key) = arg else {
                return Vals::None;
            };
            let Some(vals) = rec(
                doc,
                None,
                &["requestObject", "spec", "volumes", "hostPath", "path"],
            ) else {
                return Vals::None;
            };
            let prefix = key.strip_suffix('*');
            let hit = vals
                .into_iter()
                .flatten()
                .map(json_str)
                .any(|v| match prefix {
                    Some(p) => v.starts_with(p),
                    None => v == key.as_str(),
                });
            Vals::One(Cow::Borrowed(if hit { "true" } else { "false" }))
        }
        K::Volumes(keys) => rec(doc, index(arg), keys).map_or(Vals::None, skip_nil),
        K::VolumeType => {
            let Some(vals) = rec(doc, index(arg), &["requestObject", "spec", "volumes", ""]) else {
                return Vals::None;
            };
            let mut out = Vec::new();
            for v in vals.into_iter().flatten() {
                if let J::Obj(m) = v {
                    out.extend(
                        m.iter()
                            .map(|(k, _)| k)
                            .filter(|k| k.as_ref() != "name")
                            .map(|k| Cow::Borrowed(k.as_ref())),
                    );
                }
            }
            Vals::Many(out)
        }
        K::RulesField(which) => {
            let Some(vals) = rec(doc, index(arg), &["requestObject", "rules", which]) else {
                return Vals::None;
            };
            let mut out = Vec::new();
            for v in vals.into_iter().flatten() {
                if let J::Arr(items) = v {
                    out.extend(items.iter().map(json_str));
                }
            }
            Vals::Many(out)
        }
        K::UriParam => {
            let (Arg::Key(key), Some(uri)) = (arg, doc.get("requestURI").and_then(J::as_str))
            else {
                return Vals::None;
            };
            query_param(uri, key).map_or(Vals::None, |v| Vals::One(Cow::Owned(v)))
        }
        K::HasName => Vals::One(Cow::Borrowed("true")),
        K::Subjects(kind) => match path(doc, &["requestObject", "subjects"]) {
            Some(J::Arr(subjects)) => Vals::Many(
                subjects
                    .iter()
                    .filter(|s| s.get("kind").and_then(J::as_str) == Some(kind))
                    .filter_map(|s| s.get("name").map(json_str))
                    .collect(),
            ),
            _ => Vals::None,
        },
        K::SubjectsSaNs => match path(doc, &["requestObject", "subjects"]) {
            Some(J::Arr(subjects)) => Vals::Many(
                subjects
                    .iter()
                    .filter(|s| s.get("kind").and_then(J::as_str) == Some("ServiceAccount"))
                    .filter_map(|s| {
                        let name = s.get("name").map(json_str)?;
                        let ns = s.get("namespace").map(json_str).unwrap_or_default();
                        Some(Cow::Owned(format!("{ns}:{name}")))
                    })
                    .collect(),
            ),
            _ => Vals::None,
        },
        K::TargetPodName => {
            if ctx.ev.str_at(&["objectRef", "resource"]) == Some("pods") {
                path(doc, &["objectRef", "name"]).map_or(Vals::None, |v| Vals::One(json_str(v)))
            } else {
                Vals::None
            }
        }
        K::SourceIps => match doc.get("sourceIPs") {
            Some(J::Arr(a)) => match index(arg) {
                Some(i) => a.get(i).map_or(Vals::None, |v| Vals::One(json_str(v))),
                None => Vals::Many(a.iter().map(json_str).collect()),
            },
            _ => Vals::None,
        },
        K::ClusterName => ctx
            .cluster
            .map_or(Vals::None, |c| Vals::One(Cow::Borrowed(c))),
        // Pointer fields are extracted in Extractor::extract (pre-split tokens).
        K::JPointer => Vals::None,
        K::JObj => Vals::One(Cow::Owned(doc.to_string())),
        K::RawTime => Vals::One(Cow::Owned(ctx.ev.time_ns().to_string())),
        K::TimeS => Vals::One(Cow::Owned((ctx.ev.time_ns() / 1_000_000_000).to_string())),
        K::TimeHms => Vals::One(Cow::Owned(format_time(ctx.ev.time_ns(), TimeStyle::Hms))),
        K::TimeIso => Vals::One(Cow::Owned(format_time(ctx.ev.time_ns(), TimeStyle::Iso))),
        K::DateTime => Vals::One(Cow::Owned(format_time(
            ctx.ev.time_ns(),
            TimeStyle::DateTime,
        ))),
        K::EvtNum => Vals::One(Cow::Owned(ctx.num.to_string())),
        K::EvtSource => Vals::One(Cow::Borrowed("k8s_audit")),
        K::EvtType => Vals::One(Cow::Borrowed("pluginevent")),
        K::Hostname => Vals::One(Cow::Borrowed(ctx.hostname)),
        K::PluginName => Vals::One(Cow::Borrowed("k8saudit")),
    }
}

/// How to render an event time.
#[derive(Debug, Clone, Copy)]
pub enum TimeStyle {
    /// `HH:MM:SS.nnnnnnnnn` (Falco's output prefix).
    Hms,
    /// `YYYY-MM-DDTHH:MM:SS.nnnnnnnnnZ`.
    Iso,
    /// `YYYY-MM-DD HH:MM:SS.nnnnnnnnn`.
    DateTime,
}

/// Render nanoseconds since the epoch (UTC).
pub fn format_time(ns: u64, style: TimeStyle) -> String {
    let secs = i64::try_from(ns / 1_000_000_000).unwrap_or(0);
    let nanos = u32::try_from(ns % 1_000_000_000).unwrap_or(0);
    let Some(t) = chrono::DateTime::from_timestamp(secs, nanos) else {
        return ns.to_string();
    };
    match style {
        TimeStyle::Hms => t.format("%H:%M:%S.%9f").to_string(),
        TimeStyle::Iso => t.format("%Y-%m-%dT%H:%M:%S.%9fZ").to_string(),
        TimeStyle::DateTime => t.format("%Y-%m-%d %H:%M:%S.%9f").to_string(),
    }
}

/// The first value of query parameter `key` in `uri`, percent-decoded.
pub fn query_param(uri: &str, key: &str) -> Option<String> {
    let query = uri.split_once('?')?.1;
    let query = query.split('#').next().unwrap_or("");
    // `;` separates pairs as well as `&` (as before); decoding is form-urlencoded.
    for part in query.split(';') {
        if let Some((_, v)) = form_urlencoded::parse(part.as_bytes()).find(|(k, _)| k == key) {
            return Some(v.into_owned());
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::condition::parse_field;

    fn ev(json: &str) -> AuditEvent {
        AuditEvent::from_json(json).unwrap()
    }

    fn get(field: &str, e: &AuditEvent) -> Vec<String> {
        let x = Extractor::resolve(&parse_field(field).unwrap()).unwrap();
        let ctx = Ctx {
            ev: e,
            num: 1,
            hostname: "h",
            cluster: None,
        };
        x.extract(&ctx)
            .as_slice()
            .iter()
            .map(|c| c.to_string())
            .collect()
    }

    const POD: &str = r#"{"auditID":"x","stage":"ResponseComplete","verb":"create","requestURI":"/api/v1/namespaces/default/pods/p/exec?command=ls&command=-l&container=c%20x","objectRef":{"resource":"pods","namespace":"default","name":"p"},"responseStatus":{"code":201},
      "requestObject":{"spec":{"securityContext":{"runAsUser":7},"containers":[{"name":"a","image":"nginx:1.2","securityContext":{"privileged":true}},{"name":"b","image":"reg.io/x/y@sha256:abababababababababababababababababababababababababababababababab","ports":[{"containerPort":80},{"containerPort":81,"hostPort":8081}]}],
      "volumes":[{"name":"v","hostPath":{"path":"/proc/1"}},{"name":"w","emptyDir":{}}]}}}"#;

    #[test]
    fn pod_fields() {
        let e = ev(POD);
        assert_eq!(
            get("ka.req.pod.containers.image", &e),
            ["nginx:1.2", "reg.io/x/y@sha256:abababababababababababababababababababababababababababababababab"]
        );
        assert_eq!(
            get("ka.req.pod.containers.image.repository", &e),
            ["nginx", "reg.io/x/y"]
        );
        assert_eq!(
            get("ka.req.pod.containers.image[1]", &e),
            ["reg.io/x/y@sha256:abababababababababababababababababababababababababababababababab"]
        );
        assert_eq!(get("ka.req.pod.containers.privileged", &e), ["true"]);
        assert_eq!(get("ka.req.container.privileged", &e), ["true"]);
        assert_eq!(get("ka.req.pod.containers.eff_run_as_user", &e), ["7", "7"]);
        assert_eq!(get("ka.req.pod.containers.host_port", &e), ["80", "8081"]);
        assert_eq!(get("ka.req.pod.volumes.hostpath", &e), ["/proc/1"]);
        assert_eq!(get("ka.req.volume.hostpath[/proc*]", &e), ["true"]);
        assert_eq!(get("ka.req.volume.hostpath[/proc]", &e), ["false"]);
        assert_eq!(
            get("ka.req.pod.volumes.volume_type", &e),
            ["hostPath", "emptyDir"]
        );
        assert_eq!(get("ka.response.code", &e), ["201"]);
        assert_eq!(get("ka.uri.param[command]", &e), ["ls"]);
        assert_eq!(get("ka.uri.param[container]", &e), ["c x"]);
        assert!(get("ka.uri.param[nope]", &e).is_empty());
        assert!(get("ka.req.pod.initContainers.image", &e).is_empty());
        assert_eq!(get("jevt.value[/objectRef/name]", &e), ["p"]);
        assert_eq!(get("ka.target.pod.name", &e), ["p"]);
        assert_eq!(get("len(ka.req.pod.containers.image)", &e), ["2"]);
        assert_eq!(get("toupper(ka.verb)", &e), ["CREATE"]);
    }

    #[test]
    fn resolve_errors() {
        let r = |s: &str| Extractor::resolve(&parse_field(s).unwrap()).map(|_| ());
        assert!(r("ka.nope").unwrap_err().contains("unknown field"));
        assert!(r("ka.uri.param").is_err());
        assert!(r("jevt.value").is_err());
        assert!(r("jevt.value[stage]").is_err());
        assert!(r("ka.verb[1]").is_err());
        assert!(r("ka.req.pod.containers.image[x]").is_err());
        assert!(r("ka.req.pod.containers.image[0]").is_ok());
    }

    #[test]
    fn time_formats() {
        assert_eq!(
            format_time(1_540_476_552_930_484_000, TimeStyle::Hms),
            "14:09:12.930484000"
        );
        assert_eq!(
            format_time(1_540_476_552_930_484_000, TimeStyle::Iso),
            "2018-10-25T14:09:12.930484000Z"
        );
    }

    #[test]
    fn b64() {
        assert_eq!(b64_decode("aGVsbG8=").as_deref(), Some("hello"));
        assert_eq!(b64_decode("!!"), None);
        assert_eq!(b64_decode("aGVsbG8").as_deref(), Some("hello"));
        // Data after the padding is not ignored: `aGVsbG8=` followed by more base64
        // is not the encoding of `hello`.
        assert_eq!(b64_decode("aGVsbG8=ZXZpbA=="), None);
        // Leftover bits that are not zero: not a canonical encoding of anything.
        assert_eq!(b64_decode("aGVsbG9="), None);
    }

    #[test]
    fn image_repository_keeps_the_registry_port() {
        let e = ev(
            r#"{"auditID":"x","stage":"ResponseComplete","verb":"create","requestURI":"/api/v1/namespaces/d/pods","objectRef":{"resource":"pods","namespace":"d","name":"p"},
          "requestObject":{"spec":{"containers":[{"name":"a","image":"localhost:5000/team/app:1.2"},{"name":"b","image":"Bad Image:x"},{"name":"c","image":"ghcr.io/o/r:1@sha256:0000000000000000000000000000000000000000000000000000000000000000"}]}}}"#,
        );
        assert_eq!(
            get("ka.req.pod.containers.image.repository", &e),
            ["localhost:5000/team/app", "Bad Image:x", "ghcr.io/o/r"]
        );
        assert_eq!(
            get("ka.req.container.image.repository", &e),
            ["localhost:5000/team/app"]
        );
    }

    #[test]
    fn query_params_decode() {
        let u = "/api/v1/x?a+b=c%20d&dryRun=%41ll;z=%zz&k=%E2%82%AC";
        assert_eq!(query_param(u, "a b").as_deref(), Some("c d"));
        assert_eq!(query_param(u, "dryRun").as_deref(), Some("All"));
        assert_eq!(query_param(u, "z").as_deref(), Some("%zz"));
        assert_eq!(query_param(u, "k").as_deref(), Some("\u{20ac}"));
        assert_eq!(query_param(u, "nope"), None);
    }
}
