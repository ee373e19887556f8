//! `admission.k8s.io/v1` AdmissionReview: parsing the request, building the response.
//!
//! Requests are read as JSON values (not strict types) so that a field the API server
//! adds in a later version never makes a request unreadable.

use serde_json::{json, Map, Value};
use std::collections::BTreeMap;

/// The only AdmissionReview version served.
pub const API_VERSION: &str = "admission.k8s.io/v1";

/// Why a body is not an AdmissionReview this webhook can answer (HTTP 400).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum ReviewError {
    /// Not JSON.
    #[error("request body is not JSON: {0}")]
    Json(String),
    /// JSON, but not an object with `apiVersion`/`kind`.
    #[error("request body is not an AdmissionReview (kind `{0}`)")]
    Kind(String),
    /// An AdmissionReview of another version (`admission.k8s.io/v1beta1`): the API server
    /// only sends the versions listed in `admissionReviewVersions`, so this is a
    /// misconfigured webhook.
    #[error("unsupported AdmissionReview apiVersion `{0}` (this webhook serves admission.k8s.io/v1; set admissionReviewVersions: [\"v1\"])")]
    ApiVersion(String),
    /// No `request`, or no `request.uid`.
    #[error("AdmissionReview has no request{0}")]
    NoRequest(&'static str),
}

/// The parts of an `AdmissionRequest` the webhook uses.
#[derive(Debug, Clone, Default)]
pub struct Request {
    /// `uid`, echoed in the response.
    pub uid: String,
    /// `kind.kind` (`Pod`, `Deployment` …).
    pub kind: String,
    /// `kind.group`.
    pub group: String,
    /// `resource.resource` (`pods`).
    pub resource: String,
    /// `subResource` (`ephemeralcontainers`, `status` …), empty for the main resource.
    pub sub_resource: String,
    /// `namespace` (empty for cluster-scoped objects).
    pub namespace: String,
    /// `name` (may be empty on CREATE with generateName).
    pub name: String,
    /// `CREATE`, `UPDATE`, `DELETE`, `CONNECT`.
    pub operation: String,
    /// `userInfo.username`.
    pub username: String,
    /// `userInfo.groups`.
    pub groups: Vec<String>,
    /// `dryRun`.
    pub dry_run: bool,
    /// `object` (`Null` when absent).
    pub object: Value,
    /// `oldObject` (`Null` when absent).
    pub old_object: Value,
}

fn s(v: &Value, k: &str) -> String {
    v.get(k).and_then(Value::as_str).unwrap_or("").to_string()
}

/// Parse an AdmissionReview body.
pub fn parse(body: &[u8]) -> Result<Request, ReviewError> {
    let v: Value = serde_json::from_slice(body).map_err(|e| ReviewError::Json(e.to_string()))?;
    let kind = v.get("kind").and_then(Value::as_str).unwrap_or("");
    if kind != "AdmissionReview" {
        return Err(ReviewError::Kind(kind.to_string()));
    }
    let api = v.get("apiVersion").and_then(Value::as_str).unwrap_or("");
    if api != API_VERSION {
        return Err(ReviewError::ApiVersion(api.to_string()));
    }
    let r = match v.get("request") {
        Some(r) if r.is_object() => r,
        _ => return Err(ReviewError::NoRequest("")),
    };
    let uid = s(r, "uid");
    if uid.is_empty() {
        return Err(ReviewError::NoRequest(" uid"));
    }
    let k = r.get("kind").cloned().unwrap_or(Value::Null);
    let user = r.get("userInfo").cloned().unwrap_or(Value::Null);
    let mut object = r.get("object").cloned().unwrap_or(Value::Null);
    let mut old_object = r.get("oldObject").cloned().unwrap_or(Value::Null);
    let namespace = s(r, "namespace");
    // Fill in what the API server leaves out of the object on CREATE (namespace, kind)
    // so that findings name the object fully.
    for o in [&mut object, &mut old_object] {
        if let Some(m) = o.as_object_mut() {
            if !namespace.is_empty() {
                if let Some(md) = m
                    .entry("metadata")
                    .or_insert_with(|| Value::Object(Map::new()))
                    .as_object_mut()
                {
                    md.entry("namespace")
                        .or_insert_with(|| Value::from(namespace.clone()));
                }
            }
            if !m.contains_key("kind") {
                if let Some(kk) = k.get("kind").and_then(Value::as_str) {
                    m.insert("kind".into(), Value::from(kk));
                }
            }
        }
    }
    Ok(Request {
        uid,
        kind: s(&k, "kind"),
        group: s(&k, "group"),
        resource: r
            .get("resource")
            .map(|x| s(x, "resource"))
            .unwrap_or_default(),
        sub_resource: s(r, "subResource"),
        namespace,
        name: s(r, "name"),
        operation: s(r, "operation"),
        username: s(&user, "username"),
        groups: user
            .get("groups")
            .and_then(Value::as_array)
            .map(|a| {
                a.iter()
                    .filter_map(Value::as_str)
                    .map(str::to_string)
                    .collect()
            })
            .unwrap_or_default(),
        dry_run: r.get("dryRun").and_then(Value::as_bool).unwrap_or(false),
        object,
        old_object,
    })
}

/// The webhook's answer for one request.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Response {
    /// `allowed`.
    pub allowed: bool,
    /// `status.code` when denied (403) or on an internal error (500).
    pub code: u16,
    /// `status.message`.
    pub message: String,
    /// `warnings` (shown by kubectl).
    pub warnings: Vec<String>,
    /// `auditAnnotations` (recorded in the API server's audit log).
    pub audit_annotations: BTreeMap<String, String>,
    /// RFC 6902 JSON Patch operations (sent base64 with `patchType: JSONPatch`).
    pub patch: Vec<Value>,
}

impl Response {
    /// An allowed response with nothing else.
    pub fn allow() -> Response {
        Response {
            allowed: true,
            ..Response::default()
        }
    }

    /// The AdmissionReview JSON for `uid`.
    pub fn to_review(&self, uid: &str) -> Value {
        use base64::Engine as _;
        let mut r = Map::new();
        r.insert("uid".into(), Value::from(uid));
        r.insert("allowed".into(), Value::from(self.allowed));
        if !self.allowed || self.code != 0 {
            let code = if self.code == 0 { 403 } else { self.code };
            r.insert(
                "status".into(),
                json!({
                    "metadata": {},
                    "status": "Failure",
                    "code": code,
                    "reason": if code == 403 { "Forbidden" } else { "InternalError" },
                    "message": self.message,
                }),
            );
        }
        if !self.warnings.is_empty() {
            r.insert("warnings".into(), Value::from(self.warnings.clone()));
        }
        if !self.audit_annotations.is_empty() {
            r.insert(
                "auditAnnotations".into(),
                Value::Object(
                    self.audit_annotations
                        .iter()
                        .map(|(k, v)| (k.clone(), Value::from(v.clone())))
                        .collect(),
                ),
            );
        }
        if !self.patch.is_empty() {
            let text = Value::Array(self.patch.clone()).to_string();
            r.insert("patchType".into(), Value::from("JSONPatch"));
            r.insert(
                "patch".into(),
                Value::from(base64::engine::general_purpose::STANDARD.encode(text)),
            );
        }
        json!({"apiVersion": API_VERSION, "kind": "AdmissionReview", "response": r})
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_and_fills_namespace() {
        let body = json!({"apiVersion": API_VERSION, "kind": "AdmissionReview", "request": {
            "uid": "u1", "kind": {"group": "", "version": "v1", "kind": "Pod"},
            "resource": {"resource": "pods"}, "namespace": "ns", "operation": "CREATE",
            "userInfo": {"username": "alice", "groups": ["dev"]}, "dryRun": true,
            "object": {"metadata": {"name": "p"}, "spec": {}}}});
        let r = parse(body.to_string().as_bytes()).unwrap();
        assert_eq!((r.uid.as_str(), r.kind.as_str()), ("u1", "Pod"));
        assert_eq!(r.groups, vec!["dev"]);
        assert!(r.dry_run);
        assert_eq!(r.object["metadata"]["namespace"], "ns");
        assert_eq!(r.object["kind"], "Pod");
        assert!(r.old_object.is_null());
    }

    #[test]
    fn rejects_what_is_not_a_v1_review() {
        assert!(matches!(parse(b"{"), Err(ReviewError::Json(_))));
        assert!(matches!(parse(b"[]"), Err(ReviewError::Kind(_))));
        let v1beta1 = json!({"apiVersion": "admission.k8s.io/v1beta1", "kind": "AdmissionReview", "request": {"uid": "x"}});
        assert!(matches!(
            parse(v1beta1.to_string().as_bytes()),
            Err(ReviewError::ApiVersion(_))
        ));
        let no_uid = json!({"apiVersion": API_VERSION, "kind": "AdmissionReview", "request": {}});
        assert!(matches!(
            parse(no_uid.to_string().as_bytes()),
            Err(ReviewError::NoRequest(_))
        ));
    }

    #[test]
    fn response_shape() {
        let r = Response {
            allowed: false,
            message: "no".into(),
            warnings: vec!["w".into()],
            patch: vec![json!({"op": "add", "path": "/a", "value": 1})],
            ..Response::default()
        };
        let v = r.to_review("abc");
        assert_eq!(v["apiVersion"], API_VERSION);
        assert_eq!(v["response"]["uid"], "abc");
        assert_eq!(v["response"]["allowed"], false);
        assert_eq!(v["response"]["status"]["code"], 403);
        assert_eq!(v["response"]["status"]["reason"], "Forbidden");
        assert_eq!(v["response"]["warnings"][0], "w");
        assert_eq!(v["response"]["patchType"], "JSONPatch");
        assert_eq!(
            v["response"]["patch"],
            "W3sib3AiOiJhZGQiLCJwYXRoIjoiL2EiLCJ2YWx1ZSI6MX1d"
        );
        let ok = Response::allow().to_review("x");
        assert!(ok["response"].get("status").is_none());
    }
}
