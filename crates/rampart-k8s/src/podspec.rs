//! One pod-spec extraction for every workload kind.

use crate::object::{join_index, join_key};
use serde_json::Value;

/// The pod spec of a workload and where it sits in the object.
#[derive(Debug, Clone, Copy)]
pub struct PodSpec<'a> {
    /// The pod spec (`spec` of a Pod, `spec.template.spec` of a Deployment, …).
    pub spec: &'a Value,
    /// Its field path (`spec`, `spec.template.spec`, `spec.jobTemplate.spec.template.spec`).
    pub path: &'static str,
    /// The pod template's metadata (the object's own for a Pod), for annotations.
    pub metadata: Option<&'a Value>,
}

/// Which list a container is in.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ContainerKind {
    /// `initContainers`.
    Init,
    /// `containers`.
    Regular,
    /// `ephemeralContainers`.
    Ephemeral,
}

/// One container of a pod spec.
#[derive(Debug, Clone)]
pub struct Container<'a> {
    /// The container.
    pub value: &'a Value,
    /// Its field path (`spec.template.spec.containers[0]`).
    pub path: String,
    /// Which list.
    pub kind: ContainerKind,
    /// `name`, or `""`.
    pub name: &'a str,
    /// `securityContext`, when it is a map.
    pub security_context: Option<&'a Value>,
}

/// The pod spec of any workload: Pod, Deployment, StatefulSet, DaemonSet, ReplicaSet,
/// Job, CronJob, ReplicationController, PodTemplate, and any object with a
/// `spec.template.spec` pod spec (Argo Rollouts, OpenKruise …).
pub fn pod_spec(obj: &Value) -> Option<PodSpec<'_>> {
    let kind = obj.get("kind").and_then(Value::as_str).unwrap_or("");
    let is_pod_spec = |v: &Value| v.get("containers").is_some_and(Value::is_array);
    match kind {
        "Pod" => {
            let spec = obj.get("spec")?;
            is_pod_spec(spec).then_some(PodSpec {
                spec,
                path: "spec",
                metadata: obj.get("metadata"),
            })
        }
        "PodTemplate" => {
            let t = obj.get("template")?;
            let spec = t.get("spec")?;
            is_pod_spec(spec).then_some(PodSpec {
                spec,
                path: "template.spec",
                metadata: t.get("metadata"),
            })
        }
        "CronJob" => {
            let t = obj
                .get("spec")?
                .get("jobTemplate")?
                .get("spec")?
                .get("template")?;
            let spec = t.get("spec")?;
            is_pod_spec(spec).then_some(PodSpec {
                spec,
                path: "spec.jobTemplate.spec.template.spec",
                metadata: t.get("metadata"),
            })
        }
        _ => {
            let t = obj.get("spec")?.get("template")?;
            let spec = t.get("spec")?;
            is_pod_spec(spec).then_some(PodSpec {
                spec,
                path: "spec.template.spec",
                metadata: t.get("metadata"),
            })
        }
    }
}

impl<'a> PodSpec<'a> {
    /// Field path of a key of the pod spec (`hostNetwork` → `spec.template.spec.hostNetwork`).
    pub fn field(&self, key: &str) -> String {
        join_key(self.path, key)
    }

    /// Every container: init, regular, then ephemeral.
    pub fn containers(&self) -> Vec<Container<'a>> {
        let mut out = Vec::new();
        for (key, kind) in [
            ("initContainers", ContainerKind::Init),
            ("containers", ContainerKind::Regular),
            ("ephemeralContainers", ContainerKind::Ephemeral),
        ] {
            if let Some(list) = self.spec.get(key).and_then(Value::as_array) {
                let list_path = join_key(self.path, key);
                for (i, c) in list.iter().enumerate() {
                    out.push(Container {
                        value: c,
                        path: join_index(&list_path, i),
                        kind,
                        name: c.get("name").and_then(Value::as_str).unwrap_or(""),
                        security_context: c.get("securityContext").filter(|v| v.is_object()),
                    });
                }
            }
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn workloads_share_one_extraction() {
        let c = json!({"containers": [{"name": "a"}], "initContainers": [{"name": "i"}]});
        let pod = json!({"kind": "Pod", "spec": c});
        let dep = json!({"kind": "Deployment", "spec": {"template": {"spec": c}}});
        let cron = json!({"kind": "CronJob", "spec": {"jobTemplate": {"spec": {"template": {"spec": c}}}}});
        let custom = json!({"kind": "Rollout", "spec": {"template": {"spec": c}}});
        assert_eq!(pod_spec(&pod).map(|p| p.path), Some("spec"));
        assert_eq!(pod_spec(&dep).map(|p| p.path), Some("spec.template.spec"));
        assert_eq!(
            pod_spec(&cron).map(|p| p.path),
            Some("spec.jobTemplate.spec.template.spec")
        );
        assert_eq!(
            pod_spec(&custom).map(|p| p.path),
            Some("spec.template.spec")
        );
        assert!(pod_spec(&json!({"kind": "Service", "spec": {}})).is_none());
        let containers = pod_spec(&dep).map(|p| p.containers()).unwrap_or_default();
        assert_eq!(containers.len(), 2);
        assert_eq!(containers[0].path, "spec.template.spec.initContainers[0]");
        assert_eq!(containers[1].name, "a");
    }
}
