//! `pom.xml`: declared dependencies (`dependencies` and `dependencyManagement`) with
//! `${property}` interpolation (`properties`, `project.version`, `project.groupId`,
//! `project.parent.version` …). Versions managed by a parent or BOM outside this file
//! are unknown and those dependencies are skipped.

use super::{line_of, pkg, Out, ParseError};
use crate::inventory::Package;
use quick_xml::events::Event;
use quick_xml::Reader;
use std::collections::HashMap;

#[derive(Default, Clone)]
struct Dep {
    pos: usize,
    managed: bool,
    group: String,
    artifact: String,
    version: String,
    scope: String,
}

fn interpolate(s: &str, props: &HashMap<String, String>) -> String {
    let mut cur = s.to_string();
    for _ in 0..10 {
        let Some(a) = cur.find("${") else { break };
        let Some(b) = cur[a..].find('}') else { break };
        let key = &cur[a + 2..a + b];
        let Some(val) = props.get(key) else { break };
        cur = format!("{}{}{}", &cur[..a], val, &cur[a + b + 1..]);
    }
    cur
}

pub(crate) fn parse(text: &str) -> Result<Out, ParseError> {
    let mut reader = Reader::from_str(text);
    reader.config_mut().trim_text(true);
    let mut stack: Vec<String> = Vec::new();
    let mut props: HashMap<String, String> = HashMap::new();
    let mut deps: Vec<Dep> = Vec::new();
    let mut cur: Option<Dep> = None;
    loop {
        let ev = reader.read_event().map_err(|e| {
            let at = usize::try_from(reader.error_position()).unwrap_or(0);
            ParseError::new(Some(line_of(text, at)), format!("invalid XML: {e}"))
        })?;
        // Just after the event's last byte: for a start tag, on the tag's line.
        let pos = usize::try_from(reader.buffer_position())
            .unwrap_or(usize::MAX)
            .saturating_sub(1);
        match ev {
            Event::Start(e) => {
                let name = String::from_utf8_lossy(e.local_name().as_ref()).into_owned();
                stack.push(name);
                let path: Vec<&str> = stack.iter().map(String::as_str).collect();
                if let ["project", "dependencies", "dependency"]
                | ["project", "dependencyManagement", "dependencies", "dependency"] = path[..]
                {
                    cur = Some(Dep {
                        pos,
                        managed: path.len() == 4,
                        ..Dep::default()
                    });
                }
                if stack.len() > 64 {
                    return Err(ParseError::new(
                        Some(line_of(text, pos)),
                        "XML nested too deeply",
                    ));
                }
            }
            Event::End(_) => {
                let path: Vec<&str> = stack.iter().map(String::as_str).collect();
                if path.last() == Some(&"dependency") && path.len() <= 4 {
                    if let Some(d) = cur.take() {
                        deps.push(d);
                    }
                }
                stack.pop();
            }
            Event::Text(t) => {
                let val = t.unescape().map(|c| c.into_owned()).unwrap_or_default();
                let path: Vec<&str> = stack.iter().map(String::as_str).collect();
                match path[..] {
                    ["project", "properties", key] => {
                        props.insert(key.to_string(), val);
                    }
                    ["project", "version"] => {
                        props.insert("project.version".into(), val.clone());
                        props.insert("pom.version".into(), val.clone());
                        props.insert("version".into(), val);
                    }
                    ["project", "groupId"] => {
                        props.insert("project.groupId".into(), val.clone());
                        props.insert("pom.groupId".into(), val);
                    }
                    ["project", "artifactId"] => {
                        props.insert("project.artifactId".into(), val);
                    }
                    ["project", "parent", field @ ("version" | "groupId")] => {
                        props.insert(format!("project.parent.{field}"), val.clone());
                        props.insert(format!("parent.{field}"), val);
                    }
                    [.., "dependency", field] => {
                        if let Some(d) = cur.as_mut() {
                            match field {
                                "groupId" => d.group = val,
                                "artifactId" => d.artifact = val,
                                "version" => d.version = val,
                                "scope" => d.scope = val,
                                _ => {}
                            }
                        }
                    }
                    _ => {}
                }
            }
            Event::Eof => break,
            _ => {}
        }
    }
    // A child's own version/groupId default to the parent's.
    for (own, parent) in [
        ("project.version", "project.parent.version"),
        ("project.groupId", "project.parent.groupId"),
    ] {
        if !props.contains_key(own) {
            if let Some(v) = props.get(parent).cloned() {
                props.insert(own.into(), v);
            }
        }
    }
    let mut managed: HashMap<String, String> = HashMap::new();
    for d in deps.iter().filter(|d| d.managed) {
        managed.insert(
            format!(
                "{}:{}",
                interpolate(&d.group, &props),
                interpolate(&d.artifact, &props)
            ),
            interpolate(&d.version, &props),
        );
    }
    let mut out: Vec<Package> = Vec::new();
    for d in &deps {
        let name = format!(
            "{}:{}",
            interpolate(&d.group, &props),
            interpolate(&d.artifact, &props)
        );
        let mut version = interpolate(&d.version, &props);
        if version.is_empty() {
            version = managed.get(&name).cloned().unwrap_or_default();
        }
        // A range (`[1.0,2.0)`) or an unresolved property is not a version.
        if version.is_empty() || version.contains("${") || version.starts_with(['[', '(']) {
            continue;
        }
        if out.iter().any(|p| p.name == name && p.version == version) {
            continue;
        }
        let mut p = pkg(&name, &version, Some(line_of(text, d.pos)));
        p.direct = (!d.managed).then_some(true);
        p.dev = d.scope == "test";
        out.push(p);
    }
    Ok((None, out))
}
