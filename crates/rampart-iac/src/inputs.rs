//! Turn a file into the inputs custom (Rego) policies see, Conftest-style: a Dockerfile
//! as its instruction list, a `.tf` file as HCL JSON, each YAML document / a JSON file
//! as itself. Kubernetes objects (documents with `apiVersion` and `kind`) get an object
//! location.

use rampart_core::{K8sObjectRef, Location, ScanError, Span};
use serde_json::Value;

/// Largest YAML/JSON document handed to policies (bounds memory on hostile input).
pub const MAX_DOC_BYTES: usize = 8 * 1024 * 1024;

/// One policy input.
#[derive(Debug, Clone)]
pub struct PolicyInput {
    /// The value.
    pub value: Value,
    /// Where findings on it point.
    pub location: Location,
}

/// Whether a file is a candidate for policies (Dockerfile, `.tf`, `.yaml`/`.yml`, `.json`).
pub fn is_policy_file(path: &str) -> bool {
    let l = path.to_ascii_lowercase();
    crate::kind_of(path).is_some()
        || l.ends_with(".yaml")
        || l.ends_with(".yml")
        || l.ends_with(".json")
}

/// The inputs of one file, plus per-document errors (with lines).
pub fn policy_inputs(path: &str, content: &[u8]) -> (Vec<PolicyInput>, Vec<ScanError>) {
    let text = String::from_utf8_lossy(content);
    let err = |line: Option<usize>, message: String| ScanError {
        path: path.to_string(),
        line,
        message,
    };
    match crate::kind_of(path) {
        Some(crate::Kind::Dockerfile) => {
            let df = crate::dockerfile::parse::parse(&text);
            return (
                vec![PolicyInput {
                    value: crate::dockerfile::conftest_input(&df),
                    location: Location::file(path, None),
                }],
                Vec::new(),
            );
        }
        Some(crate::Kind::Terraform | crate::Kind::TerraformVars) => {
            return match crate::terraform::policy_input(&text) {
                Ok(v) => (
                    vec![PolicyInput {
                        value: v,
                        location: Location::file(path, None),
                    }],
                    Vec::new(),
                ),
                Err((line, m)) => (
                    Vec::new(),
                    vec![err(line, format!("cannot parse HCL: {m}"))],
                ),
            };
        }
        // `.tf.json` is JSON to policies, as in Conftest (it picks parsers by extension).
        Some(crate::Kind::TerraformJson) | None => {}
    }
    let lower = path.to_ascii_lowercase();
    if lower.ends_with(".json") {
        return match serde_json::from_str::<Value>(&text) {
            Ok(v) => (vec![input(path, v, 1)], Vec::new()),
            Err(e) => (
                Vec::new(),
                vec![err(Some(e.line()), format!("invalid JSON: {e}"))],
            ),
        };
    }
    let mut out = Vec::new();
    let mut errors = Vec::new();
    // Split and parsed by the one YAML loader: bounded in depth and alias expansion, and
    // `---` inside a block scalar does not split a document. YAML 1.2 core scalars, as
    // before (policies see `yes` as a string).
    let opts = rampart_yaml::Options {
        scalars: rampart_yaml::Scalars::Core,
        ..rampart_yaml::Options::default()
    };
    if text.len() > opts.limits.max_file_bytes {
        errors.push(err(
            None,
            format!(
                "file is larger than {} bytes; not given to policies",
                opts.limits.max_file_bytes
            ),
        ));
        return (out, errors);
    }
    for chunk in rampart_yaml::split_documents(&text) {
        // The document's first line after a bare `---` marker line.
        let marker_only = chunk
            .text
            .lines()
            .next()
            .is_some_and(|l| l.trim_end() == "---");
        let start_line = chunk.first_line + usize::from(marker_only);
        if chunk.text.len() > MAX_DOC_BYTES {
            errors.push(err(
                Some(start_line),
                format!("YAML document larger than {MAX_DOC_BYTES} bytes; not given to policies"),
            ));
            continue;
        }
        match rampart_yaml::parse_document_lenient(chunk.text, chunk.first_line, &opts) {
            Ok(None)
            | Ok(Some(rampart_yaml::Document {
                value: Value::Null, ..
            })) => {}
            Ok(Some(d)) => out.push(input(path, d.value, start_line)),
            Err(e) => errors.push(err(
                e.line.or(Some(start_line)),
                format!("invalid YAML: {}", e.message),
            )),
        }
    }
    (out, errors)
}

fn input(path: &str, value: Value, line: usize) -> PolicyInput {
    let s = |k: &str| value.get(k).and_then(Value::as_str).map(str::to_string);
    let location = match (s("apiVersion"), s("kind")) {
        (Some(api_version), Some(kind)) => {
            let md = value.get("metadata");
            let get = |k: &str| {
                md.and_then(|m| m.get(k))
                    .and_then(Value::as_str)
                    .map(str::to_string)
            };
            Location::K8sObject {
                object: K8sObjectRef {
                    api_version,
                    kind,
                    namespace: get("namespace"),
                    name: get("name").unwrap_or_default(),
                },
                field_path: None,
                path: Some(path.to_string()),
                span: Some(Span::line(line)),
            }
        }
        _ => Location::file(path, Some(Span::line(line))),
    };
    PolicyInput { value, location }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn yaml_documents_with_lines() {
        let (v, e) = policy_inputs(
            "m.yaml",
            b"apiVersion: v1\nkind: Pod\nmetadata:\n  name: a\n---\n# c\nkind: x\n---\nbad: [\n",
        );
        assert_eq!(v.len(), 2);
        assert_eq!(v[0].location.line(), Some(1));
        assert!(matches!(v[0].location, Location::K8sObject { .. }));
        assert_eq!(v[1].location.line(), Some(6));
        assert_eq!(e.len(), 1);
        assert!(e[0].line.unwrap() >= 9, "{e:?}");
    }

    #[test]
    fn dockerfile_and_terraform_shapes() {
        let (v, _) = policy_inputs("Dockerfile", b"FROM debian:12\nUSER app\n");
        assert_eq!(v[0].value[0]["Cmd"], "from");
        assert_eq!(v[0].value[1]["Value"][0], "app");
        let (v, _) = policy_inputs("main.tf", b"resource \"a\" \"b\" {\n  x = 1\n}\n");
        assert_eq!(v[0].value["resource"]["a"]["b"][0]["x"], 1);
    }
}
