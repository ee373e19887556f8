//! Installed-package metadata: licences (and packages) from what a package manager left
//! on disk — `node_modules/**/package.json`, Python `*.dist-info/METADATA` and
//! `*.egg-info/PKG-INFO`, and `Cargo.toml` of crates unpacked in the cargo registry
//! (`$CARGO_HOME/registry/src/*/<name>-<version>/`).
//!
//! Every reader is bounded: files over [`MAX_METADATA_SIZE`] are skipped, the walk stops
//! after [`Limits::max_entries`] directory entries and [`Limits::max_depth`] levels, and
//! symbolic links are not followed (no cycles).

use crate::inventory::{Inventory, Lockfile, Package, SourceRef};
use crate::sbom::purl::pep503;
use rampart_core::ScanError;
use serde_json::Value;
use std::collections::HashMap;
use std::path::{Path, PathBuf};

/// Largest metadata file read (bytes).
pub const MAX_METADATA_SIZE: u64 = 4 * 1024 * 1024;

/// Bounds of the installed-metadata walk.
#[derive(Debug, Clone, Copy)]
pub struct Limits {
    /// Directory entries examined before giving up.
    pub max_entries: usize,
    /// Directory levels below the root.
    pub max_depth: usize,
}

impl Default for Limits {
    fn default() -> Limits {
        Limits {
            max_entries: 500_000,
            max_depth: 32,
        }
    }
}

/// One package from a `package.json` (`name`, `version`, `license` — a string or the
/// legacy `{type}` object — or the legacy `licenses` array, read as alternatives).
pub fn read_package_json(text: &str) -> Option<Package> {
    let v: Value = serde_json::from_str(text).ok()?;
    let name = v.get("name")?.as_str()?.trim();
    let version = v.get("version")?.as_str()?.trim();
    if name.is_empty() || version.is_empty() {
        return None;
    }
    let mut p = Package::new("npm", name, version);
    let one = |l: &Value| -> Option<String> {
        match l {
            Value::String(s) => Some(s.trim().to_string()),
            Value::Object(o) => o
                .get("type")
                .and_then(Value::as_str)
                .map(|s| s.trim().to_string()),
            _ => None,
        }
        .filter(|s| !s.is_empty())
    };
    if let Some(l) = v.get("license").and_then(one) {
        p.licenses.push(l);
    } else if let Some(arr) = v.get("licenses").and_then(Value::as_array) {
        let ls: Vec<String> = arr.iter().filter_map(one).collect();
        match ls.len() {
            0 => {}
            1 => p.licenses.extend(ls),
            _ => p.licenses.push(
                ls.iter()
                    .map(|l| {
                        if l.contains(' ') {
                            format!("({l})")
                        } else {
                            l.clone()
                        }
                    })
                    .collect::<Vec<_>>()
                    .join(" OR "),
            ),
        }
    }
    Some(p)
}

/// One package from Python core metadata (`METADATA` / `PKG-INFO`): `Name`, `Version`,
/// and the licence from `License-Expression` (PEP 639), else a short `License:` that
/// parses, else the `License ::` trove classifiers (alternatives), else the `License:`
/// text as written.
pub fn read_python_metadata(text: &str) -> Option<Package> {
    let mut name = None;
    let mut version = None;
    let mut expr = None;
    let mut license: Option<String> = None;
    let mut classifiers = Vec::new();
    let mut last_was_license = false;
    for line in text.lines() {
        if line.is_empty() {
            break; // end of headers; the body is the description
        }
        if line.starts_with(' ') || line.starts_with('\t') {
            // Continuation of the previous header (multi-line License text).
            if last_was_license {
                if let Some(l) = license.as_mut() {
                    if l.len() < 4096 {
                        l.push('\n');
                        l.push_str(line.trim());
                    }
                }
            }
            continue;
        }
        last_was_license = false;
        let Some((k, v)) = line.split_once(':') else {
            continue;
        };
        let v = v.trim();
        match k.trim().to_ascii_lowercase().as_str() {
            "name" => name = Some(v.to_string()),
            "version" => version = Some(v.to_string()),
            "license-expression" => expr = Some(v.to_string()),
            "license" => {
                license = Some(v.to_string());
                last_was_license = true;
            }
            "classifier" => {
                if let Some(rest) = v.strip_prefix("License ::") {
                    let last = rest.rsplit("::").next().unwrap_or(rest).trim();
                    if !last.is_empty() && last != "OSI Approved" {
                        classifiers.push(last.to_string());
                    }
                }
            }
            _ => {}
        }
    }
    let name = name.filter(|s| !s.is_empty())?;
    let version = version.filter(|s| !s.is_empty())?;
    let mut p = Package::new("PyPI", name, version);
    let license = license.filter(|l| {
        !l.trim().is_empty()
            && !["unknown", "none"].contains(&l.trim().to_ascii_lowercase().as_str())
    });
    let license_parses = license
        .as_deref()
        .is_some_and(|l| l.len() <= 200 && crate::license::parse(l).canonical().is_some());
    let chosen = if let Some(e) = expr.filter(|e| !e.is_empty()) {
        Some(e)
    } else if license_parses {
        license
    } else if !classifiers.is_empty() {
        let terms: Vec<String> = classifiers
            .iter()
            .map(|c| {
                crate::license::normalize(c)
                    .map(str::to_string)
                    .unwrap_or_else(|| c.clone())
            })
            .collect();
        Some(if terms.len() == 1 {
            terms.join("")
        } else {
            terms
                .iter()
                .map(|t| {
                    if t.contains(' ') {
                        format!("({t})")
                    } else {
                        t.clone()
                    }
                })
                .collect::<Vec<_>>()
                .join(" OR ")
        })
    } else {
        license
    };
    if let Some(c) = chosen {
        p.licenses.push(c);
    }
    Some(p)
}

/// One package from a crate's `Cargo.toml` (`[package] name`, `version`, `license`, or
/// `license-file` reported as free text).
pub fn read_cargo_toml(text: &str) -> Option<Package> {
    let v: toml::Value = toml::from_str(text).ok()?;
    let pkg = v.get("package")?;
    let name = pkg.get("name")?.as_str()?;
    let version = pkg.get("version")?.as_str()?;
    let mut p = Package::new("crates.io", name, version);
    if let Some(l) = pkg.get("license").and_then(toml::Value::as_str) {
        p.licenses.push(l.to_string());
    } else if let Some(f) = pkg.get("license-file").and_then(toml::Value::as_str) {
        p.licenses.push(format!("SEE LICENSE IN {f}"));
    }
    Some(p)
}

fn read_small(path: &Path) -> Result<String, String> {
    let meta = std::fs::metadata(path).map_err(|e| e.to_string())?;
    if meta.len() > MAX_METADATA_SIZE {
        return Err(format!("larger than {MAX_METADATA_SIZE} bytes, skipped"));
    }
    let bytes = std::fs::read(path).map_err(|e| e.to_string())?;
    Ok(String::from_utf8_lossy(&bytes).into_owned())
}

/// Walk `root` for installed metadata: `package.json` of every package under a
/// `node_modules` directory, Python `*.dist-info/METADATA` and `*.egg-info/PKG-INFO`.
/// Returns one [`Lockfile`] per kind found (`node_modules`, `python-site-packages`);
/// unreadable files become errors, the rest continues.
pub fn scan_installed(root: &Path, limits: Limits) -> Inventory {
    let mut npm = Vec::new();
    let mut py = Vec::new();
    let mut errors = Vec::new();
    let mut entries = 0usize;
    let mut stack: Vec<(PathBuf, usize, bool)> = vec![(root.to_path_buf(), 0, false)];
    let rel = |p: &Path| rampart_core::location::relative_path(root, p);
    while let Some((dir, depth, in_node_modules)) = stack.pop() {
        let Ok(rd) = std::fs::read_dir(&dir) else {
            continue;
        };
        let mut children: Vec<(PathBuf, String)> = rd
            .filter_map(Result::ok)
            .filter(|e| e.file_type().is_ok_and(|t| t.is_dir()))
            .map(|e| (e.path(), e.file_name().to_string_lossy().into_owned()))
            .collect();
        children.sort();
        entries += children.len();
        if entries > limits.max_entries {
            errors.push(ScanError {
                line: None,
                path: rel(&dir),
                message: format!(
                    "installed metadata: stopped after {} directory entries",
                    limits.max_entries
                ),
            });
            break;
        }
        for (path, name) in children.into_iter().rev() {
            if name == ".git" || (depth == 0 && name == "target") {
                continue;
            }
            if in_node_modules && !name.starts_with('.') {
                let pj = path.join("package.json");
                if !name.starts_with('@') && pj.is_file() {
                    match read_small(&pj) {
                        Ok(t) => {
                            if let Some(mut p) = read_package_json(&t) {
                                p.source = Some(SourceRef {
                                    path: rel(&pj),
                                    line: None,
                                });
                                npm.push(p);
                            }
                        }
                        Err(message) => errors.push(ScanError {
                            line: None,
                            path: rel(&pj),
                            message,
                        }),
                    }
                }
            }
            if let Some(file) = if name.ends_with(".dist-info") {
                Some(path.join("METADATA"))
            } else if name.ends_with(".egg-info") {
                Some(path.join("PKG-INFO"))
            } else {
                None
            } {
                if file.is_file() {
                    match read_small(&file) {
                        Ok(t) => {
                            if let Some(mut p) = read_python_metadata(&t) {
                                p.source = Some(SourceRef {
                                    path: rel(&file),
                                    line: None,
                                });
                                py.push(p);
                            }
                        }
                        Err(message) => errors.push(ScanError {
                            line: None,
                            path: rel(&file),
                            message,
                        }),
                    }
                }
                continue;
            }
            if depth < limits.max_depth {
                // Inside node_modules, `@scope` dirs hold packages too.
                let child_nm = name == "node_modules" || (in_node_modules && name.starts_with('@'));
                stack.push((path, depth + 1, child_nm));
            }
        }
    }
    let mut lockfiles = Vec::new();
    if !npm.is_empty() {
        lockfiles.push(Lockfile {
            path: "node_modules".into(),
            kind: "node_modules".into(),
            packages: npm,
        });
    }
    if !py.is_empty() {
        lockfiles.push(Lockfile {
            path: "site-packages".into(),
            kind: "python-dist-info".into(),
            packages: py,
        });
    }
    Inventory { lockfiles, errors }
}

/// `$CARGO_HOME` (else `~/.cargo`), when it exists.
pub fn cargo_home() -> Option<PathBuf> {
    let p = std::env::var_os("CARGO_HOME")
        .map(PathBuf::from)
        .or_else(|| std::env::var_os("HOME").map(|h| PathBuf::from(h).join(".cargo")))?;
    p.is_dir().then_some(p)
}

/// Licences of `crates.io` packages without one, from `Cargo.toml` in
/// `<cargo_home>/registry/src/*/<name>-<version>/` (only looked up, never walked).
/// Returns how many packages got a licence.
pub fn fill_from_cargo_registry(inv: &mut Inventory, cargo_home: &Path) -> usize {
    let src = cargo_home.join("registry").join("src");
    let Ok(rd) = std::fs::read_dir(&src) else {
        return 0;
    };
    let mut indexes: Vec<PathBuf> = rd.filter_map(Result::ok).map(|e| e.path()).collect();
    indexes.sort();
    let mut n = 0;
    for lf in &mut inv.lockfiles {
        for p in &mut lf.packages {
            if p.ecosystem != "crates.io"
                || !p.licenses.is_empty()
                || p.name.contains(['/', '\\'])
                || p.version.contains(['/', '\\'])
                || p.name.starts_with('.')
            {
                continue;
            }
            let dir = format!("{}-{}", p.name, p.version);
            for idx in &indexes {
                let f = idx.join(&dir).join("Cargo.toml");
                let Ok(t) = read_small(&f) else { continue };
                if let Some(found) = read_cargo_toml(&t) {
                    if !found.licenses.is_empty() {
                        p.licenses = found.licenses;
                        n += 1;
                        break;
                    }
                }
            }
        }
    }
    n
}

fn match_key(p: &Package) -> (String, String, String) {
    let name = match p.ecosystem.as_str() {
        "PyPI" => pep503(&p.name),
        _ => p.name.clone(),
    };
    (p.ecosystem.clone(), name, p.version.clone())
}

/// Give packages of `inv` without a licence the licence of the same installed package
/// (same ecosystem, name — PEP 503-normalised for PyPI — and version), and append the
/// installed packages no lockfile lists as their own lockfiles. Returns how many
/// packages got a licence.
pub fn merge(inv: &mut Inventory, installed: Inventory) -> usize {
    let mut lic: HashMap<(String, String, String), Vec<String>> = HashMap::new();
    for p in installed.packages() {
        if !p.licenses.is_empty() {
            lic.entry(match_key(p))
                .or_insert_with(|| p.licenses.clone());
        }
    }
    let mut known = std::collections::HashSet::new();
    let mut n = 0;
    for lf in &mut inv.lockfiles {
        for p in &mut lf.packages {
            let k = match_key(p);
            if p.licenses.is_empty() {
                if let Some(l) = lic.get(&k) {
                    p.licenses = l.clone();
                    n += 1;
                }
            }
            known.insert(k);
        }
    }
    for mut lf in installed.lockfiles {
        lf.packages.retain(|p| !known.contains(&match_key(p)));
        if !lf.packages.is_empty() {
            inv.lockfiles.push(lf);
        }
    }
    inv.errors.extend(installed.errors);
    n
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn package_json_forms() {
        let p = read_package_json(r#"{"name":"a","version":"1.0.0","license":"MIT"}"#).unwrap();
        assert_eq!(p.licenses, vec!["MIT"]);
        let p = read_package_json(
            r#"{"name":"a","version":"1.0.0","license":{"type":"ISC","url":"x"}}"#,
        )
        .unwrap();
        assert_eq!(p.licenses, vec!["ISC"]);
        let p = read_package_json(
            r#"{"name":"@s/a","version":"1.0.0","licenses":[{"type":"MIT"},{"type":"Apache 2.0"}]}"#,
        )
        .unwrap();
        assert_eq!(p.name, "@s/a");
        assert_eq!(p.licenses, vec!["MIT OR (Apache 2.0)"]);
        assert_eq!(
            crate::license::parse(&p.licenses[0]).canonical(),
            Some("MIT OR Apache-2.0")
        );
        assert!(read_package_json(r#"{"name":"a"}"#).is_none());
        assert!(read_package_json("{not json").is_none());
    }

    #[test]
    fn python_metadata_forms() {
        let p = read_python_metadata(
            "Metadata-Version: 2.4\nName: Foo_Bar\nVersion: 1.2\nLicense-Expression: MIT OR Apache-2.0\nLicense: BSD\n\nbody License: GPL\n",
        )
        .unwrap();
        assert_eq!(p.licenses, vec!["MIT OR Apache-2.0"]);
        let p = read_python_metadata(
            "Name: x\nVersion: 1\nLicense: UNKNOWN\nClassifier: License :: OSI Approved :: MIT License\nClassifier: License :: OSI Approved :: Apache Software License\n",
        )
        .unwrap();
        assert_eq!(p.licenses, vec!["MIT OR Apache-2.0"]);
        let p = read_python_metadata(
            "Name: x\nVersion: 1\nLicense: Copyright (c) 2020 someone\n        Permission is hereby granted\nClassifier: License :: OSI Approved :: BSD License\n",
        )
        .unwrap();
        assert_eq!(p.licenses, vec!["BSD-3-Clause"]);
        let p = read_python_metadata("Name: x\nVersion: 1\nLicense: Apache 2.0\n").unwrap();
        assert_eq!(p.licenses, vec!["Apache 2.0"]);
        assert!(read_python_metadata("Version: 1\n").is_none());
    }

    #[test]
    fn cargo_toml_forms() {
        let p = read_cargo_toml(
            "[package]\nname = \"a\"\nversion = \"0.1.0\"\nlicense = \"MIT/Apache-2.0\"\n",
        )
        .unwrap();
        assert_eq!(p.licenses, vec!["MIT/Apache-2.0"]);
        let p = read_cargo_toml(
            "[package]\nname = \"a\"\nversion = \"0.1.0\"\nlicense-file = \"LICENSE\"\n",
        )
        .unwrap();
        assert_eq!(p.licenses, vec!["SEE LICENSE IN LICENSE"]);
        assert!(read_cargo_toml("[workspace]\n").is_none());
    }
}
