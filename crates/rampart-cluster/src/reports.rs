//! PolicyReports (`wgpolicyk8s.io/v1alpha2`): writing them by server-side apply, and
//! collecting the ones Rampart wrote about objects that are gone.
//!
//! Every report Rampart writes carries the label [`MANAGED_BY_LABEL`]`=`[`MANAGED_BY`],
//! a `scope` naming the object it is about (`apiVersion`, `kind`, `name`,
//! `namespace`), and the object's resource (plural) in the annotation
//! [`SCOPE_RESOURCE_ANNOTATION`] ([`stamp`] sets all of them). The garbage collector
//! ([`ReportWriter::collect_garbage`]) lists only reports with that label, asks the API
//! server for each one's object, and deletes the report when the object does not exist
//! (`404`), with a precondition on the report's `resourceVersion` so that a report
//! re-applied meanwhile is kept. Reports younger than [`GcOptions::min_age`] are left
//! alone: an admission decision is reported before the object is stored.

use crate::list::{list_all, ListOptions};
use crate::{Cluster, ClusterError};
use kube::api::{ApiResource, DeleteParams, DynamicObject, Patch, PatchParams, Preconditions};
use kube::core::GroupVersionKind;
use kube::ResourceExt as _;
use serde_json::Value;
use std::collections::HashMap;
use std::time::Duration;

/// The PolicyReport API version.
pub const API_VERSION: &str = "wgpolicyk8s.io/v1alpha2";
/// The label every report Rampart writes carries (with [`MANAGED_BY`]).
pub const MANAGED_BY_LABEL: &str = "app.kubernetes.io/managed-by";
/// The value of [`MANAGED_BY_LABEL`].
pub const MANAGED_BY: &str = "rampart";
/// The annotation holding the plural resource of the report's object (`pods`).
pub const SCOPE_RESOURCE_ANNOTATION: &str = "rampart.dev/scope-resource";

/// The namespaced `PolicyReport` resource.
pub fn policy_report_resource() -> ApiResource {
    ApiResource {
        group: "wgpolicyk8s.io".into(),
        version: "v1alpha2".into(),
        api_version: API_VERSION.into(),
        kind: "PolicyReport".into(),
        plural: "policyreports".into(),
    }
}

/// The object a report is about.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Subject {
    /// `v1`, `apps/v1`.
    pub api_version: String,
    /// `Pod`.
    pub kind: String,
    /// `pods` (may be empty: then discovery finds it during garbage collection).
    pub plural: String,
    /// Namespace.
    pub namespace: String,
    /// Name.
    pub name: String,
}

/// Set what makes `report` one of Rampart's about `subject`: `apiVersion`, `kind`,
/// the namespace, the managed-by label, `scope` and the resource annotation (the name,
/// results and summary are the caller's).
pub fn stamp(report: &mut Value, subject: &Subject) {
    if !report.is_object() {
        *report = Value::Object(Default::default());
    }
    report["apiVersion"] = API_VERSION.into();
    report["kind"] = "PolicyReport".into();
    if !report["metadata"].is_object() {
        report["metadata"] = Value::Object(Default::default());
    }
    let meta = &mut report["metadata"];
    meta["namespace"] = subject.namespace.clone().into();
    for field in ["labels", "annotations"] {
        if !meta[field].is_object() {
            meta[field] = Value::Object(Default::default());
        }
    }
    meta["labels"][MANAGED_BY_LABEL] = MANAGED_BY.into();
    meta["annotations"][SCOPE_RESOURCE_ANNOTATION] = subject.plural.clone().into();
    report["scope"] = serde_json::json!({
        "apiVersion": subject.api_version,
        "kind": subject.kind,
        "name": subject.name,
        "namespace": subject.namespace,
    });
}

/// What garbage collection does.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GcOptions {
    /// Only in this namespace (`None`: all).
    pub namespace: Option<String>,
    /// Leave reports created less than this long ago.
    pub min_age: Duration,
    /// Most reports deleted in one pass (the rest wait for the next one).
    pub max_deletes: usize,
    /// Paging of the report list.
    pub list: ListOptions,
}

impl Default for GcOptions {
    /// All namespaces, reports older than 10 minutes, at most 1,000 deletions a pass.
    fn default() -> GcOptions {
        GcOptions {
            namespace: None,
            min_age: Duration::from_secs(600),
            max_deletes: 1000,
            list: ListOptions::default(),
        }
    }
}

/// What a garbage collection pass did.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct GcOutcome {
    /// Rampart's reports seen.
    pub seen: usize,
    /// Deleted reports (`namespace/name`): their object does not exist.
    pub deleted: Vec<String>,
    /// Kept: too young, or their object exists.
    pub kept: usize,
    /// Kept because their scope names no object this client can look up (no
    /// apiVersion/kind/name, or a kind discovery does not know).
    pub unresolved: Vec<String>,
    /// Kept because a request failed (`namespace/name: why`): nothing is deleted on an
    /// error.
    pub errors: Vec<String>,
}

/// Writes and collects PolicyReports as one field manager.
#[derive(Debug, Clone)]
pub struct ReportWriter {
    cluster: Cluster,
    field_manager: String,
}

fn str_at<'a>(v: &'a Value, path: &[&str]) -> Option<&'a str> {
    let mut cur = v;
    for p in path {
        cur = cur.get(*p)?;
    }
    cur.as_str().filter(|s| !s.is_empty())
}

impl ReportWriter {
    /// A writer applying as `field_manager` (`rampart-admission`).
    pub fn new(cluster: &Cluster, field_manager: &str) -> ReportWriter {
        ReportWriter {
            cluster: cluster.clone(),
            field_manager: field_manager.to_string(),
        }
    }

    /// Server-side apply of `report` (forced: this manager owns its fields), creating it
    /// or replacing what this manager set before.
    pub async fn apply(&self, report: &Value) -> Result<(), ClusterError> {
        let (Some(ns), Some(name)) = (
            str_at(report, &["metadata", "namespace"]),
            str_at(report, &["metadata", "name"]),
        ) else {
            return Err(ClusterError::Api(
                "PolicyReport without metadata.namespace and metadata.name".into(),
            ));
        };
        let api = self.cluster.api(&policy_report_resource(), Some(ns));
        let pp = PatchParams::apply(&self.field_manager).force();
        let what = format!("apply PolicyReport {ns}/{name}");
        self.cluster
            .bounded(&what, api.patch(name, &pp, &Patch::Apply(report)))
            .await
            .map(|_| ())
    }

    /// The resource of a report's object: from the annotation, else by discovery (one
    /// request per group/version, remembered for the pass).
    async fn resolve(
        &self,
        report: &DynamicObject,
        found: &mut HashMap<(String, String), Option<ApiResource>>,
    ) -> Result<Option<ApiResource>, ClusterError> {
        let scope = report.data.get("scope").cloned().unwrap_or(Value::Null);
        let (Some(api_version), Some(kind)) =
            (str_at(&scope, &["apiVersion"]), str_at(&scope, &["kind"]))
        else {
            return Ok(None);
        };
        let (group, version) = match api_version.split_once('/') {
            Some((g, v)) => (g, v),
            None => ("", api_version),
        };
        let gvk = GroupVersionKind::gvk(group, version, kind);
        if let Some(plural) = report
            .annotations()
            .get(SCOPE_RESOURCE_ANNOTATION)
            .filter(|p| !p.is_empty())
        {
            return Ok(Some(ApiResource::from_gvk_with_plural(&gvk, plural)));
        }
        let key = (api_version.to_string(), kind.to_string());
        if let Some(r) = found.get(&key) {
            return Ok(r.clone());
        }
        let client = self.cluster.client();
        let r = match tokio::time::timeout(
            self.cluster.request_timeout(),
            kube::discovery::pinned_kind(&client, &gvk),
        )
        .await
        {
            Err(_) => {
                return Err(ClusterError::Timeout(
                    format!("discover {api_version} {kind}"),
                    self.cluster.request_timeout(),
                ))
            }
            Ok(Ok((ar, _))) => Some(ar),
            Ok(Err(e)) if crate::status_of(&e) == Some(404) => None,
            Ok(Err(kube::Error::Discovery(_))) => None,
            Ok(Err(e)) => return Err(ClusterError::api("discovery", e)),
        };
        found.insert(key, r.clone());
        Ok(r)
    }

    /// Delete Rampart's reports whose object is gone (see the module documentation).
    pub async fn collect_garbage(&self, opts: &GcOptions) -> Result<GcOutcome, ClusterError> {
        let list = ListOptions {
            label_selector: Some(format!("{MANAGED_BY_LABEL}={MANAGED_BY}")),
            ..opts.list.clone()
        };
        let reports = list_all(
            &self.cluster,
            &policy_report_resource(),
            opts.namespace.as_deref(),
            &list,
        )
        .await?;
        let mut out = GcOutcome {
            seen: reports.items.len(),
            ..GcOutcome::default()
        };
        let now = chrono::Utc::now();
        let mut found = HashMap::new();
        for report in &reports.items {
            let (Some(ns), name) = (report.namespace(), report.name_any()) else {
                out.unresolved.push(report.name_any());
                continue;
            };
            let id = format!("{ns}/{name}");
            // The server filtered by label; check again (a fake or old server may not).
            if report.labels().get(MANAGED_BY_LABEL).map(String::as_str) != Some(MANAGED_BY) {
                continue;
            }
            let young = report.creation_timestamp().is_some_and(|t| {
                let created = t.0.as_millisecond();
                let age_ms = now.timestamp_millis().saturating_sub(created);
                age_ms < i64::try_from(opts.min_age.as_millis()).unwrap_or(i64::MAX)
            });
            if young {
                out.kept += 1;
                continue;
            }
            let resource = match self.resolve(report, &mut found).await {
                Ok(Some(r)) => r,
                Ok(None) => {
                    out.unresolved.push(id);
                    continue;
                }
                Err(e) => {
                    out.errors.push(format!("{id}: {e}"));
                    continue;
                }
            };
            let Some(object) = report.data.get("scope").and_then(|s| str_at(s, &["name"])) else {
                out.unresolved.push(id);
                continue;
            };
            // The object lives in the report's namespace, whatever the scope says.
            let api = self.cluster.api(&resource, Some(&ns));
            let what = format!("get {} {ns}/{object}", resource.plural);
            match self.cluster.bounded(&what, api.get_opt(object)).await {
                Ok(Some(_)) => {
                    out.kept += 1;
                    continue;
                }
                Ok(None) => {}
                Err(e) => {
                    out.errors.push(format!("{id}: {e}"));
                    continue;
                }
            }
            if out.deleted.len() >= opts.max_deletes {
                out.kept += 1;
                continue;
            }
            let dp = DeleteParams {
                preconditions: Some(Preconditions {
                    resource_version: report.resource_version(),
                    uid: report.uid(),
                }),
                ..DeleteParams::default()
            };
            let reports_api = self.cluster.api(&policy_report_resource(), Some(&ns));
            let what = format!("delete PolicyReport {id}");
            match self
                .cluster
                .bounded(&what, reports_api.delete(&name, &dp))
                .await
            {
                Ok(_) => out.deleted.push(id),
                // Gone already, or changed since it was listed (409): nothing to do.
                Err(ClusterError::Api(m)) if m.contains("HTTP 404") || m.contains("HTTP 409") => {
                    out.kept += 1
                }
                Err(e) => out.errors.push(format!("{id}: {e}")),
            }
        }
        Ok(out)
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used)]
    use super::*;

    #[test]
    fn stamp_marks_the_report_as_rampart_s() {
        let mut r = serde_json::json!({"metadata": {"name": "rampart-pod-web-1", "labels": {"x": "y"}}, "results": []});
        stamp(
            &mut r,
            &Subject {
                api_version: "v1".into(),
                kind: "Pod".into(),
                plural: "pods".into(),
                namespace: "team".into(),
                name: "web".into(),
            },
        );
        assert_eq!(r["apiVersion"], API_VERSION);
        assert_eq!(r["metadata"]["namespace"], "team");
        assert_eq!(r["metadata"]["labels"]["x"], "y");
        assert_eq!(r["metadata"]["labels"][MANAGED_BY_LABEL], MANAGED_BY);
        assert_eq!(
            r["metadata"]["annotations"][SCOPE_RESOURCE_ANNOTATION],
            "pods"
        );
        assert_eq!(r["scope"]["apiVersion"], "v1");
        assert_eq!(r["scope"]["name"], "web");
        assert_eq!(r["results"], serde_json::json!([]));
    }
}
