#![allow(clippy::unwrap_used, clippy::expect_used)]

use super::*;
use serde_json::json;

fn span(l1: usize, c1: usize, l2: usize, c2: usize) -> Span {
    Span {
        start_line: l1,
        start_column: c1,
        end_line: l2,
        end_column: c2,
    }
}

const MULTI: &str = "\
# leading comment
apiVersion: v1
kind: Pod
metadata:
  name: web   # trailing comment
  namespace: prod
spec:
  containers:
  - name: app
    image: \"nginx:1.25\"
    securityContext:
      privileged: true
---
apiVersion: v1
kind: Service
metadata: {name: svc}
---
just: config
";

#[test]
fn multi_document_with_spans() {
    let l = load_str(MULTI, Some("a.yaml"));
    assert!(l.errors.is_empty(), "{:?}", l.errors);
    assert_eq!(l.objects.len(), 2);
    assert_eq!(l.other_documents, 1);
    let pod = &l.objects[0];
    assert_eq!(pod.name(), "web");
    assert_eq!(pod.namespace(), Some("prod"));
    assert_eq!(pod.doc_index, 0);
    assert_eq!(pod.spans()["metadata.name"], span(5, 3, 5, 12));
    assert_eq!(pod.spans()["spec.containers[0]"], span(9, 5, 12, 23));
    assert_eq!(pod.spans()["spec"], span(7, 1, 12, 23));
    assert_eq!(pod.spans()[""], span(2, 1, 12, 23));
    assert_eq!(pod.spans()["spec.containers[0].image"], span(10, 5, 10, 24));
    assert_eq!(
        pod.spans()["spec.containers[0].securityContext.privileged"],
        span(12, 7, 12, 23)
    );
    assert_eq!(
        pod.value["spec"]["containers"][0]["securityContext"]["privileged"],
        json!(true)
    );
    assert_eq!(pod.spans()[""].start_line, 2);
    let svc = &l.objects[1];
    assert_eq!(svc.doc_index, 1);
    assert_eq!(svc.spans()["metadata.name"], span(16, 12, 16, 21));
    assert_eq!(
        svc.location("metadata.name"),
        rampart_core::Location::K8sObject {
            object: svc.object_ref(),
            field_path: Some("metadata.name".into()),
            path: Some("a.yaml".into()),
            span: Some(span(16, 12, 16, 21)),
        }
    );
}

#[test]
fn bad_document_reported_rest_loads() {
    let text = "apiVersion: v1\nkind: Pod\nmetadata: {name: a}\n---\napiVersion: v1\nkind: Pod\nmetadata: [unclosed\n---\napiVersion: v1\nkind: ConfigMap\nmetadata: {name: c}\n";
    let l = load_str(text, None);
    assert_eq!(l.objects.len(), 2);
    assert_eq!(l.errors.len(), 1);
    let e = &l.errors[0];
    assert_eq!(e.doc_index, 1);
    let line = e.line.unwrap();
    assert!((7..=8).contains(&line), "{e:?}");
    assert_eq!(l.objects[1].kind(), "ConfigMap");
    assert_eq!(l.objects[1].spans()["metadata.name"].start_line, 11);
}

#[test]
fn anchors_aliases_and_merge_keys() {
    let text = "\
apiVersion: apps/v1
kind: Deployment
metadata:
  name: d
  labels: &labels
    app: web
spec:
  selector:
    matchLabels: *labels
  template:
    metadata:
      labels:
        <<: *labels
        tier: front
    spec:
      containers:
      - name: a
        image: x
";
    let l = load_str(text, None);
    assert!(l.errors.is_empty(), "{:?}", l.errors);
    let d = &l.objects[0];
    assert_eq!(
        d.value["spec"]["selector"]["matchLabels"],
        json!({"app": "web"})
    );
    assert_eq!(
        d.value["spec"]["template"]["metadata"]["labels"],
        json!({"app": "web", "tier": "front"})
    );
    // The alias's inner field keeps the anchored text's span.
    assert_eq!(
        d.spans()["spec.selector.matchLabels.app"],
        span(6, 5, 6, 13)
    );
    assert_eq!(
        d.spans()["spec.template.metadata.labels.tier"].start_line,
        14
    );
}

#[test]
fn billion_laughs_is_bounded() {
    let mut text = String::from("apiVersion: v1\nkind: ConfigMap\nmetadata: {name: x}\ndata:\n  a0: &a0 [lol, lol, lol, lol, lol, lol, lol, lol, lol, lol]\n");
    for i in 1..10 {
        let refs = vec![format!("*a{}", i - 1); 10].join(", ");
        text.push_str(&format!("  a{i}: &a{i} [{refs}]\n"));
    }
    let l = load_str(&text, Some("bomb.yaml"));
    assert!(l.objects.is_empty());
    assert_eq!(l.errors.len(), 1);
    assert!(l.errors[0].message.contains("alias"), "{:?}", l.errors);
}

#[test]
fn deep_nesting_is_bounded() {
    let text = format!(
        "apiVersion: v1\nkind: X\nspec: {}{}\n",
        "[".repeat(5000),
        "]".repeat(5000)
    );
    let l = load_str(&text, None);
    assert!(l.objects.is_empty());
    assert!(l.errors[0].message.contains("nesting"), "{:?}", l.errors);
}

#[test]
fn lists_are_flattened_and_json_loads() {
    let text = r#"{
  "apiVersion": "v1",
  "kind": "List",
  "items": [
    {"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "p1"}, "spec": {"hostPID": true}},
    {"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "p2"}}
  ]
}"#;
    let l = load_str(text, Some("l.json"));
    assert!(l.errors.is_empty(), "{:?}", l.errors);
    assert_eq!(l.objects.len(), 2);
    assert_eq!(l.objects[1].name(), "p2");
    assert_eq!(l.objects[0].spans()["spec.hostPID"].start_line, 5);
    assert_eq!(l.objects[0].spans()[""].start_line, 5);
}

#[test]
fn scalars_resolve_like_kubernetes() {
    let l = load_str("apiVersion: v1\nkind: X\na: yes\nb: 'true'\nc: 0\nd: 1.5\ne: ~\nf: 010\ng: \"80\"\nh: !!str 5\ni: |\n  line1\n  line2\nj: 12345678901234567890\n", None);
    let v = &l.objects[0].value;
    assert_eq!(v["a"], json!(true));
    assert_eq!(v["b"], json!("true"));
    assert_eq!(v["c"], json!(0));
    assert_eq!(v["d"], json!(1.5));
    assert_eq!(v["e"], json!(null));
    assert_eq!(v["f"], json!(8));
    assert_eq!(v["g"], json!("80"));
    assert_eq!(v["h"], json!("5"));
    assert_eq!(v["i"], json!("line1\nline2\n"));
    assert!(v["j"].is_number());
    assert_eq!(l.objects[0].spans()["i"], span(11, 1, 13, 8));
}

#[test]
fn document_end_markers_and_directives() {
    let text = "%YAML 1.1\n---\napiVersion: v1\nkind: A\n...\n---\napiVersion: v1\nkind: B\n";
    let l = load_str(text, None);
    assert!(l.errors.is_empty(), "{:?}", l.errors);
    assert_eq!(l.objects.len(), 2);
    assert_eq!(l.objects[1].spans()["kind"], span(8, 1, 8, 8));
}

#[test]
fn lenient_layouts_kubectl_accepts_still_load() {
    let text = "apiVersion: v1\nkind: Pod\nmetadata: {name: p}\nspec:\n  containers:\n  - name: c\n    args: [\n        \"-a\", \"b\",\n    ]\n";
    let l = load_str(text, None);
    assert!(l.errors.is_empty(), "{:?}", l.errors);
    assert_eq!(
        l.objects[0].value["spec"]["containers"][0]["args"],
        json!(["-a", "b"])
    );
    assert_eq!(l.objects[0].span("spec.containers"), Some(span(1, 1, 9, 1)));
}

#[test]
fn json_with_tab_indentation_loads() {
    let text = "{\n\t\"apiVersion\": \"v1\",\n\t\"kind\": \"Pod\",\n\t\"metadata\": {\n\t\t\"name\": \"t\"\n\t}\n}\n";
    let l = load_str(text, Some("p.json"));
    assert!(l.errors.is_empty(), "{:?}", l.errors);
    assert_eq!(l.objects[0].name(), "t");
}

#[test]
fn non_ascii_chunks_count_columns_in_chars() {
    // A non-ASCII chunk is indexed by char, an ASCII one by byte: same spans for the
    // same layout.
    let doc = |e: &str| {
        format!(
            "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: x\ndata:\n  a: \"{e} x\"\n  b: |\n    {e}{e}\n    z\n  c: '{e}'\n  d: {e}{e}\n"
        )
    };
    let uni = load_str(&doc("é"), None);
    let ascii = load_str(&doc("e"), None);
    assert!(uni.errors.is_empty() && ascii.errors.is_empty());
    let (u, a) = (&uni.objects[0], &ascii.objects[0]);
    assert_eq!(u.spans(), a.spans());
    assert_eq!(u.value["data"]["a"], json!("é x"));
    assert_eq!(u.spans()["data.a"], span(6, 3, 6, 11));
    assert_eq!(u.spans()["data.b"], span(7, 3, 9, 6));
    assert_eq!(u.spans()["data.c"], span(10, 3, 10, 9));
    assert_eq!(u.spans()["data.d"], span(11, 3, 11, 8));
}

#[test]
fn crd_bodies_are_skimmed_on_request() {
    let text = "apiVersion: apiextensions.k8s.io/v1\nkind: CustomResourceDefinition\nmetadata:\n  name: widgets.example.com\nspec:\n  group: example.com\n  versions:\n  - name: v1\n    schema:\n      openAPIV3Schema:\n        type: object\n---\napiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: c\nspec:\n  x: 1\n";
    let full = load_str(text, Some("crd.yaml"));
    assert!(full.objects[0].value.get("spec").is_some());
    assert!(!full.objects[0].body_skipped());
    let limits = Limits {
        skim_crd_bodies: true,
        ..Limits::default()
    };
    let skim = load_str_with(text, Some("crd.yaml"), &limits);
    let crd = &skim.objects[0];
    assert!(crd.value.get("spec").is_none() && crd.body_skipped());
    assert_eq!(crd.name(), "widgets.example.com");
    // Spans still cover the whole document, the skipped body included.
    assert_eq!(crd.spans()["metadata.name"], span(4, 3, 4, 28));
    assert_eq!(crd.spans()["spec.group"].start_line, 6);
    // Other kinds are untouched.
    assert!(skim.objects[1].value.get("spec").is_some() && !skim.objects[1].body_skipped());
    // A malformed body is still an error (it is parsed, only not kept).
    let bad = text.replace("  group: example.com", "  group: [example.com");
    let l = load_str_with(&bad, Some("crd.yaml"), &limits);
    assert_eq!(l.errors.len(), 1, "{:?}", l.errors);
    assert_eq!(l.objects.len(), 1);
}

/// A quoted scalar continued at column 0: go-yaml (and libyaml) accept it, yaml-rust2
/// does not; the libyaml fallback loads it with a document span.
const LENIENT: &str = "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: lenient\nnote: \"a\n-----BEGIN X-----\n  b\"\ndata:\n  k: v\n";

#[test]
fn lenient_quoted_layout_loads_through_the_fallback() {
    let l = load_str(LENIENT, Some("c.yaml"));
    assert!(l.errors.is_empty(), "{:?}", l.errors);
    assert_eq!(l.objects.len(), 1);
    assert_eq!(l.objects[0].value["data"]["k"], json!("v"));
    assert_eq!(l.objects[0].span(""), Some(span(1, 1, 9, 1)));
}

/// The same layout ahead of 100,000 nested flow sequences: yaml-rust2 stops at the
/// layout, so the bounds must hold on the fallback too (libyaml took 43 s on it). An
/// error (yaml-rust2's, at the quoted scalar), quickly.
#[test]
fn deep_document_on_the_fallback_is_bounded() {
    let n = 100_000;
    let text = format!("{LENIENT}x: {}{}\n", "[".repeat(n), "]".repeat(n));
    let started = std::time::Instant::now();
    let l = load_str(&text, Some("c.yaml"));
    let took = started.elapsed();
    assert!(took < std::time::Duration::from_secs(2), "took {took:?}");
    assert!(l.objects.is_empty(), "{} objects", l.objects.len());
    assert_eq!(l.errors.len(), 1, "{:?}", l.errors);
    assert_eq!(l.errors[0].line, Some(5), "{:?}", l.errors);
}
