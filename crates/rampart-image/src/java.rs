//! Java archives: `META-INF/maven/**/pom.properties`, else the manifest; nested JARs
//! (WAR/EAR/Spring Boot `lib/`) read one at a time, to a depth limit, within a budget of
//! decompressed bytes and entries per top-level archive. Going over a budget is an
//! error naming the archive, never a silent truncation.

use crate::packages::{ImagePackage, PackageKind};
use std::io::{Cursor, Read};

/// Largest metadata file read.
const MAX_META: u64 = 1024 * 1024;

/// Bounds on one top-level archive, nested archives included.
#[derive(Debug, Clone, Copy)]
pub struct ArchiveLimits {
    /// Most decompressed bytes read from the archive and everything nested in it.
    pub max_bytes: u64,
    /// Most zip entries, over the archive and everything nested in it.
    pub max_entries: usize,
    /// Most levels of archives inside archives (1: a WAR's `WEB-INF/lib/*.jar`).
    pub max_depth: usize,
}

impl Default for ArchiveLimits {
    fn default() -> ArchiveLimits {
        ArchiveLimits {
            max_bytes: 256 * 1024 * 1024,
            max_entries: 200_000,
            max_depth: 3,
        }
    }
}

/// What reading one archive found, and why it stopped early (if it did).
#[derive(Debug, Default)]
pub struct ArchiveScan {
    /// Packages, the archive's own first, then each nested archive's.
    pub packages: Vec<ImagePackage>,
    /// Budget or depth errors, each naming the archive path (`a.war!/WEB-INF/lib/b.jar`).
    pub errors: Vec<String>,
}

/// Packages in a JAR/WAR/EAR held in memory, with the default limits.
pub fn packages(path: &str, bytes: &[u8]) -> Vec<ImagePackage> {
    scan_archive(path, bytes, &ArchiveLimits::default()).packages
}

/// Packages in a JAR/WAR/EAR held in memory, and the budget errors met.
pub fn scan_archive(path: &str, bytes: &[u8], limits: &ArchiveLimits) -> ArchiveScan {
    let mut budget = Budget {
        bytes: limits.max_bytes,
        entries: limits.max_entries,
        limits: *limits,
        stopped: false,
    };
    let mut out = ArchiveScan::default();
    scan(path, bytes, 0, &mut budget, &mut out);
    out
}

struct Budget {
    bytes: u64,
    entries: usize,
    limits: ArchiveLimits,
    stopped: bool,
}

impl Budget {
    /// Read one entry whole, charging it to the budget; `Err` names what ran out.
    fn read<R: Read>(&mut self, f: R, cap: u64, at: &str) -> Result<Option<Vec<u8>>, String> {
        let limit = cap.min(self.bytes);
        let mut buf = Vec::new();
        if f.take(limit.saturating_add(1))
            .read_to_end(&mut buf)
            .is_err()
        {
            return Ok(None); // a corrupt entry: skipped like a non-zip file
        }
        let n = buf.len() as u64;
        if n > limit {
            if limit < cap {
                return Err(format!(
                    "`{at}`: archive budget of {} decompressed bytes exhausted (a zip bomb?): the rest of the archive was not read",
                    self.limits.max_bytes
                ));
            }
            return Ok(None); // over the per-entry cap: reported by the caller
        }
        self.bytes -= n;
        Ok(Some(buf))
    }
}

fn scan(path: &str, bytes: &[u8], depth: usize, budget: &mut Budget, out: &mut ArchiveScan) {
    let Ok(mut zip) = zip::ZipArchive::new(Cursor::new(bytes)) else {
        return;
    };
    let n = zip.len();
    if n > budget.entries {
        out.errors.push(format!(
            "`{path}`: more than the {} zip entries allowed per archive: not read",
            budget.limits.max_entries
        ));
        budget.stopped = true;
        return;
    }
    budget.entries -= n;
    let mut poms = Vec::new();
    let mut manifest = None;
    let mut nested = Vec::new();
    for i in 0..n {
        let Ok(f) = zip.by_index(i) else { continue };
        let name = f.name().to_string();
        if name.starts_with("META-INF/maven/") && name.ends_with("/pom.properties") {
            match budget.read(f, MAX_META, &format!("{path}!/{name}")) {
                Ok(Some(b)) => poms.push(b),
                Ok(None) => {}
                Err(e) => {
                    out.errors.push(e);
                    budget.stopped = true;
                    return;
                }
            }
        } else if name == "META-INF/MANIFEST.MF" {
            match budget.read(f, MAX_META, &format!("{path}!/{name}")) {
                Ok(b) => manifest = b,
                Err(e) => {
                    out.errors.push(e);
                    budget.stopped = true;
                    return;
                }
            }
        } else if is_archive(&name) {
            nested.push(i);
        }
    }
    let mut own = Vec::new();
    for b in poms {
        let text = String::from_utf8_lossy(&b);
        let get = |k: &str| {
            text.lines()
                .filter_map(|l| l.split_once('='))
                .find(|(key, _)| key.trim() == k)
                .map(|(_, v)| v.trim().to_string())
        };
        if let (Some(g), Some(a), Some(v)) = (get("groupId"), get("artifactId"), get("version")) {
            own.push(ImagePackage::new(
                PackageKind::Java,
                "Maven",
                format!("{g}:{a}"),
                v,
                path,
            ));
        }
    }
    if own.is_empty() {
        if let Some(m) = manifest {
            own.extend(from_manifest(&String::from_utf8_lossy(&m), path));
        }
    }
    out.packages.extend(own);
    // Nested archives one at a time: read, scan, drop.
    for i in nested {
        if budget.stopped {
            return;
        }
        let Ok(f) = zip.by_index(i) else { continue };
        let inner = format!("{path}!/{}", f.name());
        if depth + 1 > budget.limits.max_depth {
            out.errors.push(format!(
                "`{inner}`: archive nested more than {} levels deep: not read",
                budget.limits.max_depth
            ));
            continue;
        }
        match budget.read(f, u64::MAX, &inner) {
            Ok(Some(b)) => scan(&inner, &b, depth + 1, budget, out),
            Ok(None) => {}
            Err(e) => {
                out.errors.push(e);
                budget.stopped = true;
                return;
            }
        }
    }
}

fn is_archive(name: &str) -> bool {
    let l = name.to_ascii_lowercase();
    l.ends_with(".jar") || l.ends_with(".war") || l.ends_with(".ear")
}

fn from_manifest(text: &str, path: &str) -> Option<ImagePackage> {
    let get = |k: &str| {
        text.lines()
            .filter_map(|l| l.split_once(':'))
            .find(|(key, _)| key.trim() == k)
            .map(|(_, v)| v.trim().to_string())
            .filter(|v| !v.is_empty())
    };
    let version = get("Implementation-Version").or_else(|| get("Bundle-Version"))?;
    let artifact = get("Implementation-Title")
        .or_else(|| {
            get("Bundle-SymbolicName").map(|s| s.split(';').next().unwrap_or("").to_string())
        })
        .filter(|s| !s.is_empty())?;
    let name = match get("Implementation-Vendor-Id").or_else(|| {
        get("Automatic-Module-Name").and_then(|m| m.rsplit_once('.').map(|(g, _)| g.to_string()))
    }) {
        Some(g) if !artifact.contains(':') => format!("{g}:{artifact}"),
        _ => artifact,
    };
    Some(ImagePackage::new(
        PackageKind::Java,
        "Maven",
        name,
        version,
        path,
    ))
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Write;

    fn jar(files: &[(&str, &[u8])]) -> Vec<u8> {
        let mut w = zip::ZipWriter::new(Cursor::new(Vec::new()));
        for (n, b) in files {
            w.start_file(*n, zip::write::SimpleFileOptions::default())
                .unwrap();
            w.write_all(b).unwrap();
        }
        w.finish().unwrap().into_inner()
    }

    #[test]
    fn nesting_and_budgets_are_errors() {
        let pom = b"groupId=g\nartifactId=a\nversion=1\n".as_slice();
        let mut j = jar(&[("META-INF/maven/g/a/pom.properties", pom)]);
        for i in 0..4 {
            let name = format!("lib/level{i}.jar");
            j = jar(&[(name.as_str(), &j)]);
        }
        let s = scan_archive("x.ear", &j, &ArchiveLimits::default());
        assert!(s.packages.is_empty());
        assert_eq!(s.errors.len(), 1, "{:?}", s.errors);
        assert!(
            s.errors[0].contains("nested more than 3 levels")
                && s.errors[0].starts_with(
                    "`x.ear!/lib/level3.jar!/lib/level2.jar!/lib/level1.jar!/lib/level0.jar`"
                ),
            "{:?}",
            s.errors
        );
        let deep = ArchiveLimits {
            max_depth: 4,
            ..ArchiveLimits::default()
        };
        let s = scan_archive("x.ear", &j, &deep);
        assert!(s.errors.is_empty(), "{:?}", s.errors);
        assert_eq!(s.packages.len(), 1);
        let few = ArchiveLimits {
            max_entries: 2,
            max_depth: 4,
            ..ArchiveLimits::default()
        };
        let s = scan_archive("x.ear", &j, &few);
        assert!(s.errors[0].contains("zip entries"), "{:?}", s.errors);
        let small = ArchiveLimits {
            max_bytes: 100,
            max_depth: 4,
            ..ArchiveLimits::default()
        };
        let s = scan_archive("x.ear", &j, &small);
        assert!(s.errors[0].contains("budget"), "{:?}", s.errors);
    }

    #[test]
    fn pom_manifest_nested() {
        let inner = jar(&[(
            "META-INF/maven/org.apache.logging.log4j/log4j-core/pom.properties",
            b"groupId=org.apache.logging.log4j\nartifactId=log4j-core\nversion=2.14.1\n",
        )]);
        let war = jar(&[
            (
                "META-INF/MANIFEST.MF",
                b"Manifest-Version: 1.0\nImplementation-Title: shop\nImplementation-Version: 1.0\n",
            ),
            ("WEB-INF/lib/log4j-core-2.14.1.jar", &inner),
        ]);
        let p = packages("app/shop.war", &war);
        let names: Vec<(&str, &str)> = p
            .iter()
            .map(|p| (p.name.as_str(), p.version.as_str()))
            .collect();
        assert_eq!(
            names,
            vec![
                ("shop", "1.0"),
                ("org.apache.logging.log4j:log4j-core", "2.14.1")
            ]
        );
        assert_eq!(p[1].path, "app/shop.war!/WEB-INF/lib/log4j-core-2.14.1.jar");
        assert!(packages("x.jar", b"not a zip").is_empty());
    }
}
