//! The Kubernetes audit event model (`audit.k8s.io/v1` `Event` and `EventList`) and the
//! decoding of audit input: JSON lines, a single event, an `EventList`, or a JSON array.
//!
//! Rules read events through [`AuditEvent`], which keeps the decoded JSON document (so
//! `jevt.value[/json/pointer]` can reach any part of it) plus the event time.

use std::collections::BTreeMap;
use std::sync::Arc;

use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::json::J;

/// The typed shape of an `audit.k8s.io/v1` `Event` (the fields Rampart reads; unknown
/// fields are ignored). Useful for producers and tests; the rule engine itself works on
/// the raw document in [`AuditEvent`].
#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct Event {
    /// `Event`.
    #[serde(default)]
    pub kind: String,
    /// `audit.k8s.io/v1` (or `v1beta1`).
    #[serde(default)]
    pub api_version: String,
    /// `None`, `Metadata`, `Request` or `RequestResponse`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub level: Option<String>,
    /// Unique id of the request.
    #[serde(rename = "auditID")]
    pub audit_id: String,
    /// `RequestReceived`, `ResponseStarted`, `ResponseComplete` or `Panic`.
    pub stage: String,
    /// The request URI.
    #[serde(rename = "requestURI", default)]
    pub request_uri: String,
    /// The verb (`get`, `list`, `create`, …).
    #[serde(default)]
    pub verb: String,
    /// Who made the request.
    #[serde(default)]
    pub user: UserInfo,
    /// The impersonated user, if any.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub impersonated_user: Option<UserInfo>,
    /// Client addresses.
    #[serde(rename = "sourceIPs", default, skip_serializing_if = "Vec::is_empty")]
    pub source_ips: Vec<String>,
    /// The client's user agent.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub user_agent: Option<String>,
    /// The object the request targets.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub object_ref: Option<ObjectReference>,
    /// The response status.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub response_status: Option<Value>,
    /// The request body (at `Request` level and above).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub request_object: Option<Value>,
    /// The response body (at `RequestResponse` level).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub response_object: Option<Value>,
    /// When the request reached the API server (RFC 3339, micro-seconds).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub request_received_timestamp: Option<String>,
    /// When the stage was reached.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub stage_timestamp: Option<String>,
    /// Annotations (authorization decision and reason, pod security, …).
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub annotations: BTreeMap<String, String>,
}

/// `authentication.k8s.io/v1` `UserInfo`.
#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq)]
pub struct UserInfo {
    /// User name.
    #[serde(default)]
    pub username: String,
    /// UID.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub uid: Option<String>,
    /// Groups.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub groups: Vec<String>,
}

/// `audit.k8s.io/v1` `ObjectReference`.
#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct ObjectReference {
    /// Resource (`pods`, `secrets`, …).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub resource: Option<String>,
    /// Namespace.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub namespace: Option<String>,
    /// Name.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    /// UID.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub uid: Option<String>,
    /// API group.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub api_group: Option<String>,
    /// API version.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub api_version: Option<String>,
    /// Subresource (`exec`, `log`, …).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub subresource: Option<String>,
}

/// `audit.k8s.io/v1` `EventList`, as the API server's webhook backend sends it.
#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct EventList {
    /// `EventList`.
    #[serde(default)]
    pub kind: String,
    /// `audit.k8s.io/v1`.
    #[serde(default)]
    pub api_version: String,
    /// The events.
    #[serde(default)]
    pub items: Vec<Event>,
}

/// Why an input could not be used as an audit event.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum EventError {
    /// Not JSON at all.
    #[error("invalid JSON: {0}")]
    Json(String),
    /// JSON, but not an audit event (Falco says the same: "data not recognized as a k8s
    /// audit event").
    #[error("data not recognized as a k8s audit event")]
    NotAuditEvent,
}

self_cell::self_cell!(
    /// Input text and the JSON document borrowing from it.
    struct Doc {
        owner: Box<str>,
        #[covariant]
        dependent: Jv,
    }
    impl {Debug}
);

type Jv<'a> = J<'a>;

static NULL: J<'static> = J::Null;

#[derive(Debug, Clone, Copy)]
enum Item {
    Root,
    InList(usize),
    InArray(usize),
}

/// One audit event ready for rule evaluation: the decoded document (shared by all the
/// events of one `EventList`) and the event time.
#[derive(Debug, Clone)]
pub struct AuditEvent {
    doc: Arc<Doc>,
    item: Item,
    time_ns: u64,
}

fn parse_doc(text: &str) -> Result<Arc<Doc>, EventError> {
    Doc::try_new(Box::from(text), |s| serde_json::from_str::<J<'_>>(s))
        .map(Arc::new)
        .map_err(|e| EventError::Json(e.to_string()))
}

impl AuditEvent {
    fn at(doc: Arc<Doc>, item: Item) -> Result<AuditEvent, EventError> {
        let mut ev = AuditEvent {
            doc,
            item,
            time_ns: 0,
        };
        let d = ev.doc();
        let has_id = d.get("auditID").and_then(J::as_str).is_some();
        if !matches!(d, J::Obj(_)) || !has_id {
            return Err(EventError::NotAuditEvent);
        }
        ev.time_ns = ["stageTimestamp", "requestReceivedTimestamp", "timestamp"]
            .iter()
            .find_map(|k| d.get(k).and_then(J::as_str).and_then(parse_time_ns))
            .unwrap_or_else(now_ns);
        Ok(ev)
    }

    /// Wrap a decoded JSON document. It must be an object with an `auditID` (what the
    /// k8saudit plugin requires).
    pub fn from_value(doc: Value) -> Result<AuditEvent, EventError> {
        AuditEvent::from_json(&doc.to_string())
    }

    /// Decode one JSON event.
    pub fn from_json(text: &str) -> Result<AuditEvent, EventError> {
        AuditEvent::at(parse_doc(text)?, Item::Root)
    }

    /// Build from the typed model.
    pub fn from_event(event: &Event) -> Result<AuditEvent, EventError> {
        let text = serde_json::to_string(event).map_err(|e| EventError::Json(e.to_string()))?;
        AuditEvent::from_json(&text)
    }

    /// The event's JSON document.
    pub fn doc(&self) -> &J<'_> {
        let root = self.doc.borrow_dependent();
        let found = match self.item {
            Item::Root => Some(root),
            Item::InList(i) => match root.get("items") {
                Some(J::Arr(a)) => a.get(i),
                _ => None,
            },
            Item::InArray(i) => match root {
                J::Arr(a) => a.get(i),
                _ => None,
            },
        };
        found.unwrap_or(&NULL)
    }

    /// The event as a `serde_json::Value`.
    pub fn to_value(&self) -> Value {
        self.doc().to_value()
    }

    /// Event time in nanoseconds since the Unix epoch (from `stageTimestamp`, else
    /// `requestReceivedTimestamp`, else `timestamp`; the time of decoding when none
    /// parses, as the k8saudit plugin does).
    pub fn time_ns(&self) -> u64 {
        self.time_ns
    }

    /// A string member at a path of keys.
    pub fn str_at(&self, path: &[&str]) -> Option<&str> {
        let mut v = self.doc();
        for p in path {
            v = v.get(p)?;
        }
        v.as_str()
    }
}

fn now_ns() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(1, |d| u64::try_from(d.as_nanos()).unwrap_or(u64::MAX))
}

fn parse_time_ns(s: &str) -> Option<u64> {
    let t = chrono::DateTime::parse_from_rfc3339(s).ok()?;
    let ns = t.timestamp_nanos_opt()?;
    u64::try_from(ns).ok()
}

/// Decode audit input that may be a single event, an `EventList`, a JSON array of events,
/// or JSON lines (one event, list or array per line). Each item yields its own result so
/// one bad record never hides the others.
pub fn decode_events(text: &str) -> Vec<Result<AuditEvent, EventError>> {
    let mut out = Vec::new();
    let trimmed = text.trim_start();
    // A whole-document parse first: a pretty-printed EventList spans several lines.
    if trimmed.starts_with('[') || (trimmed.starts_with('{') && !looks_like_json_lines(trimmed)) {
        if let Ok(doc) = parse_doc(text) {
            push_doc(doc, &mut out);
            return out;
        }
    }
    for line in text.lines() {
        decode_line(line, &mut out);
    }
    out
}

/// Decode one line of JSON-lines input (an event, an `EventList` or an array), appending
/// the results. Blank lines yield nothing.
pub fn decode_line(line: &str, out: &mut Vec<Result<AuditEvent, EventError>>) {
    let line = line.trim();
    if line.is_empty() {
        return;
    }
    match parse_doc(line) {
        Ok(doc) => push_doc(doc, out),
        Err(e) => out.push(Err(e)),
    }
}

fn looks_like_json_lines(text: &str) -> bool {
    // More than one non-empty line, each starting with `{`: JSON lines.
    let mut lines = text.lines().map(str::trim).filter(|l| !l.is_empty());
    let first = lines.next();
    let second = lines.next();
    matches!((first, second), (Some(a), Some(b)) if a.starts_with('{') && a.ends_with('}') && b.starts_with('{'))
}

fn is_list(v: &J<'_>) -> bool {
    v.get("kind").and_then(J::as_str) == Some("EventList")
}

/// Flatten a decoded document (event, `EventList` or array) into events.
fn push_doc(doc: Arc<Doc>, out: &mut Vec<Result<AuditEvent, EventError>>) {
    let root = doc.borrow_dependent();
    match root {
        J::Arr(items) => {
            for (i, item) in items.iter().enumerate() {
                if matches!(item, J::Arr(_)) || is_list(item) {
                    // Nested lists are rare: decode them on their own.
                    match parse_doc(&item.to_string()) {
                        Ok(d) => push_doc(d, out),
                        Err(e) => out.push(Err(e)),
                    }
                } else {
                    out.push(AuditEvent::at(doc.clone(), Item::InArray(i)));
                }
            }
        }
        J::Obj(_) if is_list(root) => match root.get("items") {
            Some(J::Arr(items)) => {
                for i in 0..items.len() {
                    out.push(AuditEvent::at(doc.clone(), Item::InList(i)));
                }
            }
            Some(J::Null) | None => {}
            Some(_) => out.push(Err(EventError::NotAuditEvent)),
        },
        _ => out.push(AuditEvent::at(doc.clone(), Item::Root)),
    }
}

/// Flatten a decoded `serde_json::Value` (event, `EventList` or array) into events.
pub fn push_value(v: Value, out: &mut Vec<Result<AuditEvent, EventError>>) {
    match parse_doc(&v.to_string()) {
        Ok(doc) => push_doc(doc, out),
        Err(e) => out.push(Err(e)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const EV: &str = r#"{"kind":"Event","apiVersion":"audit.k8s.io/v1","auditID":"a","stage":"ResponseComplete","verb":"get","requestURI":"/api","user":{"username":"u"},"stageTimestamp":"2024-01-02T03:04:05.123456Z"}"#;

    #[test]
    fn decodes_json_lines_lists_and_arrays() {
        let lines = format!("{EV}\n\n{EV}\n");
        assert_eq!(decode_events(&lines).len(), 2);
        let list = format!("{{\"kind\":\"EventList\",\"apiVersion\":\"audit.k8s.io/v1\",\"items\":[{EV},{EV},{EV}]}}");
        assert_eq!(decode_events(&list).len(), 3);
        let arr = format!("[\n{EV},\n{EV}\n]");
        assert_eq!(decode_events(&arr).len(), 2);
    }

    #[test]
    fn rejects_non_events() {
        let r = decode_events("{\"kind\": 0}\nnot json\n");
        assert_eq!(r[0].as_ref().unwrap_err(), &EventError::NotAuditEvent);
        assert!(matches!(r[1], Err(EventError::Json(_))));
        assert_eq!(
            EventError::NotAuditEvent.to_string(),
            "data not recognized as a k8s audit event"
        );
    }

    #[test]
    fn time_from_stage_timestamp() {
        let e = AuditEvent::from_json(EV).unwrap();
        assert_eq!(e.time_ns(), 1_704_164_645_123_456_000);
    }

    #[test]
    fn typed_roundtrip() {
        let e: Event = serde_json::from_str(EV).unwrap();
        assert_eq!(e.user.username, "u");
        let a = AuditEvent::from_event(&e).unwrap();
        assert_eq!(a.str_at(&["verb"]), Some("get"));
    }
}
