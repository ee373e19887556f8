//! Java archives: `META-INF/maven/**/pom.properties`, else the manifest; nested JARs
//! (WAR/EAR/Spring Boot `lib/`) one level deep.

use crate::packages::{ImagePackage, PackageKind};
use std::io::{Cursor, Read};

/// Largest nested archive read into memory.
const MAX_NESTED: u64 = 64 * 1024 * 1024;
/// Largest metadata file read.
const MAX_META: u64 = 1024 * 1024;

/// Packages in a JAR/WAR/EAR held in memory.
pub fn packages(path: &str, bytes: &[u8]) -> Vec<ImagePackage> {
    let mut out = Vec::new();
    scan(path, bytes, 0, &mut out);
    out
}

fn read_entry<R: Read>(f: R, limit: u64) -> Option<Vec<u8>> {
    let mut buf = Vec::new();
    f.take(limit + 1).read_to_end(&mut buf).ok()?;
    (buf.len() as u64 <= limit).then_some(buf)
}

fn scan(path: &str, bytes: &[u8], depth: usize, out: &mut Vec<ImagePackage>) {
    let Ok(mut zip) = zip::ZipArchive::new(Cursor::new(bytes)) else {
        return;
    };
    let mut poms = Vec::new();
    let mut manifest = None;
    let mut nested = Vec::new();
    for i in 0..zip.len().min(100_000) {
        let Ok(f) = zip.by_index(i) else { continue };
        let name = f.name().to_string();
        if name.starts_with("META-INF/maven/") && name.ends_with("/pom.properties") {
            if let Some(b) = read_entry(f, MAX_META) {
                poms.push(b);
            }
        } else if name == "META-INF/MANIFEST.MF" {
            manifest = read_entry(f, MAX_META);
        } else if depth == 0
            && name.to_ascii_lowercase().ends_with(".jar")
            && f.size() <= MAX_NESTED
        {
            if let Some(b) = read_entry(f, MAX_NESTED) {
                nested.push((name, b));
            }
        }
    }
    let before = out.len();
    for b in poms {
        let text = String::from_utf8_lossy(&b);
        let get = |k: &str| {
            text.lines()
                .filter_map(|l| l.split_once('='))
                .find(|(key, _)| key.trim() == k)
                .map(|(_, v)| v.trim().to_string())
        };
        if let (Some(g), Some(a), Some(v)) = (get("groupId"), get("artifactId"), get("version")) {
            out.push(ImagePackage::new(
                PackageKind::Java,
                "Maven",
                format!("{g}:{a}"),
                v,
                path,
            ));
        }
    }
    if out.len() == before {
        if let Some(m) = manifest {
            if let Some(p) = from_manifest(&String::from_utf8_lossy(&m), path) {
                out.push(p);
            }
        }
    }
    for (name, b) in nested {
        scan(&format!("{path}!/{name}"), &b, depth + 1, out);
    }
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
