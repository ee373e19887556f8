//! Opt-in mutations as RFC 6902 JSON Patch operations: `seccompProfile: RuntimeDefault`,
//! `allowPrivilegeEscalation: false`, drop ALL capabilities, `runAsNonRoot: true` when
//! the user is known to be non-root, and tags pinned to digests.
//!
//! Only unset fields are filled in; an explicit value is never overwritten. Missing
//! parent objects are added whole (a `securityContext` is added as one object), so every
//! patch applies to the object as received.

use crate::settings::Mutations;
use rampart_k8s::podspec::{pod_spec, ContainerKind};
use serde_json::{json, Value};
use std::collections::BTreeMap;

/// What is known about an image's configured user (from its config blob).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ImageUser {
    /// A numeric UID (`USER 65532`, `USER 1000:1000`).
    Uid(u64),
    /// A user name (`USER nobody`): the kubelet cannot verify non-root for it.
    Name(String),
    /// No `USER`: root.
    Root,
}

impl ImageUser {
    /// From the image config's `User` field.
    pub fn from_config_user(u: &str) -> ImageUser {
        let user = u.split(':').next().unwrap_or("").trim();
        if user.is_empty() {
            return ImageUser::Root;
        }
        match user.parse::<u64>() {
            Ok(uid) => ImageUser::Uid(uid),
            Err(_) if user == "root" => ImageUser::Root,
            Err(_) => ImageUser::Name(user.to_string()),
        }
    }
}

/// Facts looked up before mutating: image user and resolved digest, by image string.
#[derive(Debug, Clone, Default)]
pub struct Lookups {
    /// Image → configured user (absent: unknown).
    pub users: BTreeMap<String, ImageUser>,
    /// Image → `sha256:…` digest of its tag.
    pub digests: BTreeMap<String, String>,
}

/// Escape one JSON Pointer reference token (`~` → `~0`, `/` → `~1`).
pub fn escape(token: &str) -> String {
    token.replace('~', "~0").replace('/', "~1")
}

/// A JSON Pointer from tokens.
pub fn pointer<S: AsRef<str>>(tokens: &[S]) -> String {
    let mut p = String::new();
    for t in tokens {
        p.push('/');
        p.push_str(&escape(t.as_ref()));
    }
    p
}

/// The patch and the notes (what was not mutated and why).
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Mutation {
    /// JSON Patch operations.
    pub patch: Vec<Value>,
    /// Human-readable notes, returned as warnings.
    pub notes: Vec<String>,
}

fn add(patch: &mut Vec<Value>, tokens: &[String], value: Value) {
    patch.push(json!({"op": "add", "path": pointer(tokens), "value": value}));
}

fn get_bool(v: Option<&Value>, k: &str) -> Option<bool> {
    v.and_then(|v| v.get(k)).and_then(Value::as_bool)
}

fn get_i64(v: Option<&Value>, k: &str) -> Option<i64> {
    v.and_then(|v| v.get(k)).and_then(Value::as_i64)
}

/// Compute the mutations of `obj` (any workload kind).
pub fn mutate(obj: &Value, m: &Mutations, resolve_digests: bool, lookups: &Lookups) -> Mutation {
    let mut out = Mutation::default();
    let Some(ps) = pod_spec(obj) else {
        return out;
    };
    let base: Vec<String> = ps.path.split('.').map(str::to_string).collect();
    let at = |extra: &[&str]| -> Vec<String> {
        let mut t = base.clone();
        t.extend(extra.iter().map(|s| s.to_string()));
        t
    };
    let windows = ps
        .spec
        .get("os")
        .and_then(|o| o.get("name"))
        .and_then(Value::as_str)
        == Some("windows");
    let pod_sc = ps.spec.get("securityContext").filter(|v| v.is_object());
    if m.seccomp_runtime_default && !windows {
        let profile = json!({"type": "RuntimeDefault"});
        match pod_sc {
            None => add(
                &mut out.patch,
                &at(&["securityContext"]),
                json!({"seccompProfile": profile}),
            ),
            Some(sc) if sc.get("seccompProfile").is_none() => add(
                &mut out.patch,
                &at(&["securityContext", "seccompProfile"]),
                profile,
            ),
            Some(_) => {}
        }
    }
    let pod_non_root = get_bool(pod_sc, "runAsNonRoot");
    let pod_uid = get_i64(pod_sc, "runAsUser");
    let list_key = |k: ContainerKind| match k {
        ContainerKind::Init => "initContainers",
        ContainerKind::Regular => "containers",
        ContainerKind::Ephemeral => "ephemeralContainers",
    };
    let mut counters: BTreeMap<&str, usize> = BTreeMap::new();
    for c in ps.containers() {
        let key = list_key(c.kind);
        let idx = counters.entry(key).or_insert(0);
        let i = *idx;
        *idx += 1;
        let ctoks = at(&[key, &i.to_string()]);
        let sc = c.value.get("securityContext").filter(|v| v.is_object());
        let mut fields: Vec<(&str, Value)> = Vec::new();
        let image = c.value.get("image").and_then(Value::as_str).unwrap_or("");
        // Resolving tags to digests.
        if resolve_digests && !image.contains('@') {
            if let Some(d) = lookups.digests.get(image) {
                let mut t = ctoks.clone();
                t.push("image".into());
                out.patch.push(
                    json!({"op": "replace", "path": pointer(&t), "value": format!("{image}@{d}")}),
                );
            }
        }
        if windows {
            continue;
        }
        let privileged = get_bool(sc, "privileged") == Some(true);
        let caps = sc
            .and_then(|s| s.get("capabilities"))
            .filter(|v| v.is_object());
        let adds_sys_admin = caps
            .and_then(|c| c.get("add"))
            .and_then(Value::as_array)
            .is_some_and(|a| {
                a.iter()
                    .filter_map(Value::as_str)
                    .any(|s| s == "SYS_ADMIN" || s == "CAP_SYS_ADMIN")
            });
        if m.disallow_privilege_escalation && get_bool(sc, "allowPrivilegeEscalation").is_none() {
            if privileged || adds_sys_admin {
                out.notes.push(format!(
                    "container {:?}: allowPrivilegeEscalation not set to false (privileged or CAP_SYS_ADMIN; the API server would reject it)",
                    c.name
                ));
            } else {
                fields.push(("allowPrivilegeEscalation", Value::from(false)));
            }
        }
        if m.drop_all_capabilities {
            match caps {
                None => fields.push(("capabilities", json!({"drop": ["ALL"]}))),
                Some(cv) => match cv.get("drop").and_then(Value::as_array) {
                    None => {
                        let mut t = ctoks.clone();
                        t.extend(["securityContext", "capabilities", "drop"].map(String::from));
                        add(&mut out.patch, &t, json!(["ALL"]));
                    }
                    Some(d) if !d.iter().any(|x| x.as_str() == Some("ALL")) => {
                        let mut t = ctoks.clone();
                        t.extend(
                            ["securityContext", "capabilities", "drop", "-"].map(String::from),
                        );
                        add(&mut out.patch, &t, Value::from("ALL"));
                    }
                    Some(_) => {}
                },
            }
        }
        if m.run_as_non_root && get_bool(sc, "runAsNonRoot").is_none() && pod_non_root.is_none() {
            let uid = get_i64(sc, "runAsUser").or(pod_uid);
            let safe = match uid {
                Some(0) => Err("runs as UID 0".to_string()),
                Some(_) => Ok(()),
                None => match lookups.users.get(image) {
                    Some(ImageUser::Uid(0)) | Some(ImageUser::Root) => {
                        Err(format!("image {image} runs as root"))
                    }
                    Some(ImageUser::Uid(_)) => Ok(()),
                    Some(ImageUser::Name(n)) => Err(format!(
                        "image {image} has non-numeric USER {n:?}, which the kubelet cannot verify"
                    )),
                    None => Err(format!("the user of image {image} is unknown (registry not reachable or not consulted)")),
                },
            };
            match safe {
                Ok(()) => fields.push(("runAsNonRoot", Value::from(true))),
                Err(why) => out.notes.push(format!(
                    "container {:?}: runAsNonRoot not set: {why}",
                    c.name
                )),
            }
        }
        if fields.is_empty() {
            continue;
        }
        match sc {
            None => {
                let obj: serde_json::Map<String, Value> = fields
                    .into_iter()
                    .map(|(k, v)| (k.to_string(), v))
                    .collect();
                let mut t = ctoks.clone();
                t.push("securityContext".into());
                add(&mut out.patch, &t, Value::Object(obj));
            }
            Some(_) => {
                for (k, v) in fields {
                    let mut t = ctoks.clone();
                    t.push("securityContext".into());
                    t.push(k.into());
                    add(&mut out.patch, &t, v);
                }
            }
        }
    }
    out
}

/// Apply `add`/`replace`/`remove` operations (what [`mutate`] emits) to a document. For
/// tests and `rampart admission` dry runs; errors name the failing pointer.
pub fn apply(doc: &mut Value, patch: &[Value]) -> Result<(), String> {
    for op in patch {
        let kind = op.get("op").and_then(Value::as_str).unwrap_or("");
        let path = op.get("path").and_then(Value::as_str).unwrap_or("");
        let value = op.get("value").cloned().unwrap_or(Value::Null);
        let tokens: Vec<String> = path
            .split('/')
            .skip(1)
            .map(|t| t.replace("~1", "/").replace("~0", "~"))
            .collect();
        let Some((last, parents)) = tokens.split_last() else {
            return Err(format!("{path}: cannot patch the root"));
        };
        let mut cur = &mut *doc;
        for t in parents {
            cur = match cur {
                Value::Object(m) => m.get_mut(t.as_str()),
                Value::Array(a) => t.parse::<usize>().ok().and_then(|i| a.get_mut(i)),
                _ => None,
            }
            .ok_or_else(|| format!("{path}: parent {t:?} does not exist"))?;
        }
        match (cur, kind) {
            (Value::Object(m), "add") => {
                m.insert(last.clone(), value);
            }
            (Value::Object(m), "replace") => {
                let slot = m
                    .get_mut(last.as_str())
                    .ok_or_else(|| format!("{path}: nothing to replace"))?;
                *slot = value;
            }
            (Value::Object(m), "remove") => {
                m.remove(last.as_str())
                    .ok_or_else(|| format!("{path}: nothing to remove"))?;
            }
            (Value::Array(a), "add") if last == "-" => a.push(value),
            (Value::Array(a), "add") => {
                let i: usize = last.parse().map_err(|_| format!("{path}: bad index"))?;
                if i > a.len() {
                    return Err(format!("{path}: index out of range"));
                }
                a.insert(i, value);
            }
            (Value::Array(a), "replace") => {
                let slot = last
                    .parse::<usize>()
                    .ok()
                    .and_then(|i| a.get_mut(i))
                    .ok_or_else(|| format!("{path}: bad index"))?;
                *slot = value;
            }
            _ => return Err(format!("{path}: unsupported operation {kind:?}")),
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn all() -> Mutations {
        Mutations {
            seccomp_runtime_default: true,
            disallow_privilege_escalation: true,
            drop_all_capabilities: true,
            run_as_non_root: true,
        }
    }

    #[test]
    fn pointer_escaping() {
        assert_eq!(
            pointer(&["metadata", "annotations", "a/b~c"]),
            "/metadata/annotations/a~1b~0c"
        );
    }

    #[test]
    fn adds_parents_when_missing_and_applies() {
        let mut dep = json!({"kind": "Deployment", "spec": {"template": {"spec": {
        "containers": [
            {"name": "a", "image": "ghcr.io/x/a:1"},
            {"name": "b", "image": "b", "securityContext": {"capabilities": {"drop": ["NET_RAW"]}, "runAsUser": 1000}}
        ]}}}});
        let mut l = Lookups::default();
        l.users
            .insert("ghcr.io/x/a:1".into(), ImageUser::Uid(65532));
        let m = mutate(&dep, &all(), false, &l);
        assert!(m.notes.is_empty(), "{:?}", m.notes);
        apply(&mut dep, &m.patch).unwrap();
        let spec = &dep["spec"]["template"]["spec"];
        assert_eq!(
            spec["securityContext"]["seccompProfile"]["type"],
            "RuntimeDefault"
        );
        let a = &spec["containers"][0]["securityContext"];
        assert_eq!(a["allowPrivilegeEscalation"], false);
        assert_eq!(a["capabilities"]["drop"], json!(["ALL"]));
        assert_eq!(a["runAsNonRoot"], true);
        let b = &spec["containers"][1]["securityContext"];
        assert_eq!(b["capabilities"]["drop"], json!(["NET_RAW", "ALL"]));
        assert_eq!(b["runAsNonRoot"], true);
        // Idempotent: nothing left to do.
        assert!(mutate(&dep, &all(), false, &l).patch.is_empty());
    }

    #[test]
    fn never_overrides_or_guesses() {
        let pod = json!({"kind": "Pod", "spec": {
        "securityContext": {"seccompProfile": {"type": "Localhost", "localhostProfile": "p"}},
        "containers": [
            {"name": "p", "image": "x", "securityContext": {"privileged": true}},
            {"name": "n", "image": "named"},
        ]}});
        let mut l = Lookups::default();
        l.users
            .insert("named".into(), ImageUser::Name("nobody".into()));
        let m = mutate(
            &pod,
            &Mutations {
                disallow_privilege_escalation: true,
                run_as_non_root: true,
                seccomp_runtime_default: true,
                ..Mutations::default()
            },
            false,
            &l,
        );
        assert!(m
            .patch
            .iter()
            .all(|p| p["path"] != "/spec/securityContext/seccompProfile"));
        assert!(m.patch.iter().all(|p| !p["path"]
            .as_str()
            .unwrap_or("")
            .starts_with("/spec/containers/0")));
        assert!(m.notes.iter().any(|n| n.contains("privileged")));
        assert!(m.notes.iter().any(|n| n.contains("unknown")));
        assert!(m.notes.iter().any(|n| n.contains("non-numeric")));
        assert_eq!(m.patch.len(), 1);
        assert_eq!(m.patch[0]["path"], "/spec/containers/1/securityContext");
        assert_eq!(
            m.patch[0]["value"],
            json!({"allowPrivilegeEscalation": false})
        );
    }

    #[test]
    fn pins_digests() {
        let mut pod =
            json!({"kind": "Pod", "spec": {"containers": [{"name": "a", "image": "r/a:1"}]}});
        let mut l = Lookups::default();
        l.digests.insert("r/a:1".into(), "sha256:00".into());
        let m = mutate(&pod, &Mutations::default(), true, &l);
        apply(&mut pod, &m.patch).unwrap();
        assert_eq!(pod["spec"]["containers"][0]["image"], "r/a:1@sha256:00");
    }

    #[test]
    fn image_user() {
        assert_eq!(
            ImageUser::from_config_user("1000:1000"),
            ImageUser::Uid(1000)
        );
        assert_eq!(ImageUser::from_config_user(""), ImageUser::Root);
        assert_eq!(ImageUser::from_config_user("root"), ImageUser::Root);
        assert_eq!(
            ImageUser::from_config_user("app"),
            ImageUser::Name("app".into())
        );
    }
}
