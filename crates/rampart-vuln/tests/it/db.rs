//! End-to-end tests of the vulnerability database against the shared OSV corpus
//! (`shared/corpora/osv/`): import every record, the schema linter's good/bad cases,
//! the GHSA→OSV pairs (aliases), matching, the RustSec native form against its OSV
//! form, PyPI's explicit `versions` lists as an oracle for ECOSYSTEM ranges, and
//! import atomicity.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use rampart_core::{Location, Severity};
use rampart_vuln::osv::{Affected, RangeType, Record};
use rampart_vuln::{ecosystem, Db, DbError, ImportOptions, Package, Version};
use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

fn osv(rel: &str) -> Option<PathBuf> {
    rampart_testkit::corpus(&format!("osv/{rel}"))
}

fn json_files(dir: &Path) -> Vec<PathBuf> {
    let mut v: Vec<PathBuf> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "json"))
        .collect();
    v.sort();
    v
}

fn read_record(p: &Path) -> Record {
    serde_json::from_slice(&std::fs::read(p).unwrap()).unwrap()
}

#[test]
fn every_corpus_record_imports() {
    let Some(root) = osv("") else { return };
    let dir = tempfile::tempdir().unwrap();
    let mut db = Db::open(&dir.path().join("vuln.db")).unwrap();
    let report = db
        .import(std::slice::from_ref(&root), &ImportOptions::default())
        .unwrap();
    println!(
        "files {} records read {} imported {} withdrawn {} rejected {} warnings {} in {:.2} s",
        report.files,
        report.records_read,
        report.imported,
        report.withdrawn,
        report.rejected.len(),
        report.warnings.len(),
        report.seconds
    );
    for (e, n) in &report.per_ecosystem {
        println!("  {e}: {n}");
    }
    // Exactly the linter's RNG:001 case is rejected, with a reason; JSON that is not an
    // OSV record (the schema, the ecosystem list, the GitHub-API-shaped inputs of the
    // GHSA→OSV pairs) is skipped with a note.
    let mut rejected: Vec<String> = report
        .rejected
        .iter()
        .map(|p| {
            assert!(!p.message.is_empty());
            let file = Path::new(&p.source)
                .file_name()
                .unwrap()
                .to_string_lossy()
                .to_string();
            format!("{} {}", p.code, file)
        })
        .collect();
    rejected.sort();
    assert_eq!(rejected, ["RNG:001 nointroduced-CVE-2023-41045.json"]);
    let file_of = |s: &str| {
        Path::new(s)
            .file_name()
            .unwrap()
            .to_string_lossy()
            .to_string()
    };
    let mut skipped_json: Vec<String> = report
        .warnings
        .iter()
        .filter(|w| w.code == "SKIP" && w.source.ends_with(".json"))
        .map(|w| file_of(&w.source))
        .collect();
    skipped_json.sort();
    let mut expected: Vec<String> = vec!["ecosystems.json".into(), "schema.json".into()];
    for f in json_files(&root.join("osv-schema/ghsa-to-osv")) {
        let name = file_of(&f.to_string_lossy());
        if !name.ends_with(".osv.json") {
            expected.push(name);
        }
    }
    expected.sort();
    assert_eq!(skipped_json, expected);
    assert!(report
        .warnings
        .iter()
        .any(|w| w.message.contains("JSON Schema")));
    // RustSec's toolchain advisories (`rust/`: cargo, std …) are not crates.io packages.
    let skipped = report
        .warnings
        .iter()
        .filter(|w| w.code == "SKIP" && w.source.ends_with(".md"))
        .count();
    assert_eq!(skipped, 20);
    // (Alpine's `ALPINE-CVE-2019-16760` for its cargo package stays, found by alias.)
    assert_ne!(
        db.get("CVE-2019-16760").unwrap().map(|r| r.id).as_deref(),
        Some("CVE-2019-16760")
    );
    // Every record of every OSV JSON source is in the database unless withdrawn.
    let mut checked = 0;
    for sub in [
        "Go",
        "RustSec",
        "PyPI",
        "osv-schema/linter-testdata",
        "mixed-osv-dev-samples",
    ] {
        for f in json_files(&root.join(sub)) {
            let r = read_record(&f);
            if r.affected
                .iter()
                .flat_map(|a| &a.ranges)
                .any(|g| g.events.iter().all(|e| e.introduced.is_none()))
            {
                continue; // the RNG:001 case
            }
            let stored = db.get(&r.id).unwrap();
            if r.is_withdrawn() {
                assert!(
                    stored.is_none() || stored.is_some_and(|s| s.id != r.id),
                    "{} withdrawn but stored",
                    r.id
                );
            } else {
                let s = stored.unwrap_or_else(|| panic!("{} ({}) not imported", r.id, f.display()));
                assert_eq!(s.id, r.id);
                checked += 1;
            }
        }
    }
    println!("{checked} records verified present");
    assert!(checked > 8000);
    // Large inventories are matched in parallel (one connection per worker): same
    // answers as small sequential batches.
    let mut pkgs = Vec::new();
    for f in json_files(&root.join("Go")).into_iter().take(1500) {
        let r = read_record(&f);
        for a in &r.affected {
            if let Some(p) = &a.package {
                pkgs.push(Package::new(&p.ecosystem, &p.name, "0.0.1"));
            }
        }
    }
    assert!(pkgs.len() > 1024);
    let all = db.match_packages(&pkgs).unwrap();
    let mut seq = Vec::new();
    for chunk in pkgs.chunks(100) {
        seq.extend(db.match_packages(chunk).unwrap());
    }
    let ids = |r: &[rampart_vuln::PackageReport]| {
        r.iter()
            .map(|p| {
                (
                    p.package.name.clone(),
                    p.vulns.iter().map(|v| v.id.clone()).collect::<Vec<_>>(),
                )
            })
            .collect::<Vec<_>>()
    };
    assert_eq!(ids(&all), ids(&seq));
    assert!(all.iter().any(|r| !r.vulns.is_empty()));
    let st = db.status().unwrap();
    assert!(st.vulns as usize >= 10_000);
    assert!(st.ecosystems.contains_key("Go") && st.ecosystems.contains_key("PyPI"));
    assert!(st.age_seconds.is_some_and(|a| a < 600));
}

#[test]
fn linter_good_and_bad_cases() {
    let Some(dir) = osv("osv-schema/linter-testdata") else {
        return;
    };
    let strict = ImportOptions {
        strict: true,
        ..ImportOptions::default()
    };
    let mut db = Db::open_in_memory().unwrap();
    let r = db.import(std::slice::from_ref(&dir), &strict).unwrap();
    let bad: BTreeSet<(String, String)> = r
        .rejected
        .iter()
        .map(|p| {
            (
                Path::new(&p.source)
                    .file_name()
                    .unwrap()
                    .to_string_lossy()
                    .to_string(),
                p.code.clone(),
            )
        })
        .collect();
    for p in &r.rejected {
        println!("rejected: {} {}: {}", p.source, p.code, p.message);
    }
    assert_eq!(
        bad,
        BTreeSet::from([
            (
                "nointroduced-CVE-2023-41045.json".to_string(),
                "RNG:001".to_string()
            ),
            (
                "nondistinct-CVE-2018-5407.json".to_string(),
                "RNG:002".to_string()
            ),
        ])
    );
    // The clean records are all accepted. (`nopackage-*` names a PyPI package that does
    // not exist; that needs the registry and is out of scope offline: it imports.)
    for f in json_files(&dir) {
        let name = f.file_name().unwrap().to_string_lossy().to_string();
        if !name.starts_with("nointroduced") && !name.starts_with("nondistinct") {
            assert!(
                db.get(&read_record(&f).id).unwrap().is_some(),
                "{name} not accepted"
            );
        }
    }
    // Default mode: RNG:002 is a warning (real advisories have such ranges), RNG:001
    // still rejects.
    let mut db = Db::open_in_memory().unwrap();
    let r = db.import(&[dir], &ImportOptions::default()).unwrap();
    assert_eq!(r.rejected.len(), 1);
    assert_eq!(r.rejected[0].code, "RNG:001");
    assert!(r.warnings.iter().any(|w| w.code == "RNG:002"));
}

#[test]
fn ghsa_pairs_aliases_and_cvss() {
    let Some(dir) = osv("osv-schema/ghsa-to-osv") else {
        return;
    };
    let osv_files: Vec<PathBuf> = json_files(&dir)
        .into_iter()
        .filter(|p| p.to_string_lossy().ends_with(".osv.json"))
        .collect();
    let mut db = Db::open_in_memory().unwrap();
    let r = db.import(&osv_files, &ImportOptions::default()).unwrap();
    assert_eq!(r.withdrawn, 1);
    assert_eq!(r.imported, osv_files.len() - 1);
    for f in &osv_files {
        let rec = read_record(f);
        let api: serde_json::Value = serde_json::from_slice(
            &std::fs::read(f.to_string_lossy().replace(".osv.json", ".json")).unwrap(),
        )
        .unwrap();
        // The CVSS score we compute equals GitHub's.
        if let Some(vec) = api["cvss"]["vectorString"].as_str() {
            let ours = rampart_vuln::cvss::score(vec).unwrap().score;
            assert_eq!(ours, api["cvss"]["score"].as_f64().unwrap(), "{vec}");
        }
        // Every identifier of the advisory finds the record (aliases are indexed).
        for ident in api["identifiers"].as_array().unwrap() {
            let id = ident["value"].as_str().unwrap();
            let got = db.get(id).unwrap();
            if rec.is_withdrawn() {
                assert!(got.is_none(), "withdrawn {id} still found");
            } else {
                assert_eq!(got.map(|g| g.id), Some(rec.id.clone()), "{id}");
            }
        }
    }
    let reports = db
        .match_packages(&[
            Package::new("Maven", "com.typesafe.akka:akka-actor_2.12", "2.5.10"),
            Package::new("Maven", "com.typesafe.akka:akka-actor_2.12", "2.5.16"),
            Package::new("PyPI", "Products.PluggableAuthService", "2.6.0"),
            Package::new("npm", "mixin-deep", "1.3.1"),
            Package::new("npm", "mixin-deep", "2.0.0"),
            Package::new("npm", "mixin-deep", "1.3.2"),
            Package::new("RubyGems", "paranoid2", "1.1.6"),
            Package::new("RubyGems", "paranoid2", "1.1.7"),
            Package::new("RubyGems", "activesupport", "4.2.1"),
            Package::new("Maven", "org.xwiki.commons:xwiki-commons-core", "12.6.6"),
            Package::new("Maven", "org.xwiki.commons:xwiki-commons-core", "12.8"),
        ])
        .unwrap();
    let ids = |i: usize| {
        reports[i]
            .vulns
            .iter()
            .map(|v| v.id.clone())
            .collect::<Vec<_>>()
    };
    assert_eq!(ids(0), ["GHSA-mr95-9rr4-668f"]);
    assert_eq!(reports[0].vulns[0].aliases, ["CVE-2018-16115"]);
    assert_eq!(reports[0].vulns[0].fixed, ["2.5.16"]);
    assert_eq!(reports[0].smallest_fix.as_deref(), Some("2.5.16"));
    assert!(ids(1).is_empty());
    assert_eq!(
        ids(2),
        ["GHSA-p44j-xrqg-4xrr"],
        "PEP 503 name normalisation"
    );
    assert_eq!(ids(3), ["GHSA-fhjf-83wg-r2j9"]);
    assert_eq!(reports[3].smallest_fix.as_deref(), Some("1.3.2"));
    assert_eq!(ids(4), ["GHSA-fhjf-83wg-r2j9"]);
    assert_eq!(reports[4].smallest_fix.as_deref(), Some("2.0.1"));
    assert!(ids(5).is_empty());
    assert_eq!(ids(6), ["GHSA-4g4c-8gqh-m4vm"], "explicit versions list");
    assert!(ids(7).is_empty());
    assert!(ids(8).is_empty(), "withdrawn advisory must not match");
    assert_eq!(ids(9), ["GHSA-76mp-659p-rw65"]);
    assert!(ids(10).is_empty());
}

/// Two records of one vulnerability (a GHSA record and the PYSEC record that lists it
/// as an alias) become one match, named by the GHSA id, with every id as alias.
#[test]
fn aliases_merge_into_one_match() {
    let Some(pysec) = osv("PyPI/PYSEC-2023-74.json") else {
        return;
    };
    let rec = read_record(&pysec);
    let a = rec
        .affected
        .iter()
        .find(|a| a.ranges.iter().any(|r| r.kind == RangeType::Ecosystem))
        .unwrap();
    let pkg = a.package.clone().unwrap();
    let introduced = a
        .ranges
        .iter()
        .flat_map(|r| &r.events)
        .filter_map(|e| e.introduced.clone())
        .find(|v| v != "0")
        .unwrap_or_else(|| a.versions[0].clone());
    let ghsa_id = rec
        .aliases
        .iter()
        .find(|x| x.starts_with("GHSA-"))
        .cloned()
        .unwrap_or_else(|| "GHSA-test-test-test".to_string());
    let mut ghsa = rec.clone();
    ghsa.id = ghsa_id.clone();
    ghsa.aliases = vec![rec.id.clone()];
    ghsa.severity = vec![rampart_vuln::osv::SeverityEntry {
        kind: "CVSS_V3".into(),
        score: "CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:H/A:H".into(),
    }];
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(
        dir.path().join("ghsa.json"),
        serde_json::to_vec(&ghsa).unwrap(),
    )
    .unwrap();
    std::fs::copy(&pysec, dir.path().join("pysec.json")).unwrap();
    let mut db = Db::open_in_memory().unwrap();
    db.import(&[dir.path().to_path_buf()], &ImportOptions::default())
        .unwrap();
    let rep = db
        .match_packages(&[Package::new(
            pkg.ecosystem.clone(),
            pkg.name.clone(),
            introduced.clone(),
        )])
        .unwrap();
    assert_eq!(rep[0].vulns.len(), 1, "{:?}", rep[0].vulns);
    let m = &rep[0].vulns[0];
    assert_eq!(m.id, ghsa_id);
    assert!(m.aliases.contains(&rec.id));
    assert_eq!(m.records.len(), 2);
    assert_eq!(
        m.severity.severity,
        Severity::Critical,
        "highest severity of the merged records"
    );
    let findings = rep[0].findings();
    assert_eq!(findings.len(), 1);
    let f = &findings[0];
    assert_eq!(f.rule_id, format!("vuln/{ghsa_id}"));
    assert_eq!(f.severity, Severity::Critical);
    assert!(
        matches!(&f.location, Location::Package { name, version, .. } if *name == pkg.name && *version == introduced)
    );
    assert!(f.message.contains(&rec.id));
    assert_eq!(f.fingerprint.len(), 64);
}

/// For every Go and RustSec SEMVER range: the `introduced` version matches, the
/// `fixed` version does not, `last_affected` matches and the patch after it does not.
#[test]
fn range_boundaries_match_through_the_db() {
    let Some(root) = osv("") else { return };
    let mut db = Db::open_in_memory().unwrap();
    db.import(
        &[root.join("Go"), root.join("RustSec")],
        &ImportOptions::default(),
    )
    .unwrap();
    let mut probes: Vec<(Package, String, bool)> = Vec::new();
    for sub in ["Go", "RustSec"] {
        for f in json_files(&root.join(sub)) {
            let r = read_record(&f);
            if r.is_withdrawn() {
                continue;
            }
            for a in &r.affected {
                let Some(p) = &a.package else { continue };
                for range in &a.ranges {
                    // Only single-interval ranges: boundaries of multi-interval ranges
                    // can be covered by another interval.
                    let intro: Vec<&String> = range
                        .events
                        .iter()
                        .filter_map(|e| e.introduced.as_ref())
                        .collect();
                    if intro.len() != 1
                        || r.affected
                            .iter()
                            .filter(|x| x.package.as_ref().map(|q| &q.name) == Some(&p.name))
                            .count()
                            != 1
                    {
                        continue;
                    }
                    let i = intro[0];
                    // The smallest SemVer is `0.0.0-0` (Go pseudo-versions such as
                    // `0.0.0-2020…` are below `0.0.0`).
                    let lo = if i == "0" { "0.0.0-0" } else { i.as_str() };
                    for e in &range.events {
                        if let Some(fx) = &e.fixed {
                            probes.push((
                                Package::new(&p.ecosystem, &p.name, lo),
                                r.id.clone(),
                                true,
                            ));
                            probes.push((
                                Package::new(&p.ecosystem, &p.name, fx),
                                r.id.clone(),
                                false,
                            ));
                        }
                        if let Some(la) = &e.last_affected {
                            probes.push((
                                Package::new(&p.ecosystem, &p.name, la),
                                r.id.clone(),
                                true,
                            ));
                        }
                    }
                }
            }
        }
    }
    let pkgs: Vec<Package> = probes.iter().map(|p| p.0.clone()).collect();
    let reports = db.match_packages(&pkgs).unwrap();
    let mut bad = Vec::new();
    for ((pkg, id, want), rep) in probes.iter().zip(&reports) {
        let got = rep.vulns.iter().any(|v| v.records.contains(id));
        if got != *want {
            bad.push(format!(
                "{id}: {} {} {}@{} expected {want}",
                pkg.ecosystem, pkg.name, pkg.name, pkg.version
            ));
        }
    }
    println!("{} boundary probes, {} wrong", probes.len(), bad.len());
    assert!(probes.len() > 4000);
    assert!(
        bad.is_empty(),
        "{}",
        bad.iter().take(20).cloned().collect::<Vec<_>>().join("\n")
    );
}

/// PyPI records list every affected release in `versions`; the ECOSYSTEM ranges alone
/// must agree with that list (the lists are generated from the ranges upstream).
#[test]
fn pypi_versions_lists_agree_with_ranges() {
    let Some(dir) = osv("PyPI") else { return };
    let (mut agree, mut total) = (0usize, 0usize);
    let mut bad = Vec::new();
    for f in json_files(&dir) {
        let r = read_record(&f);
        for a in &r.affected {
            if !a.ranges.iter().any(|g| g.kind == RangeType::Ecosystem) || a.versions.is_empty() {
                continue;
            }
            let ranges_only = Affected {
                versions: Vec::new(),
                ranges: a
                    .ranges
                    .iter()
                    .filter(|g| g.kind == RangeType::Ecosystem)
                    .cloned()
                    .collect(),
                ..a.clone()
            };
            for v in &a.versions {
                total += 1;
                let parsed = Version::parse(rampart_vuln::Scheme::Pep440, v).ok();
                if ranges_only.evaluate(v, parsed.as_ref()).affected {
                    agree += 1;
                } else {
                    bad.push(format!("{} {v}", r.id));
                }
            }
        }
    }
    println!("PyPI: {agree}/{total} listed versions are inside the ECOSYSTEM ranges");
    for b in bad.iter().take(10) {
        println!("  outside: {b}");
    }
    assert!(total > 50_000);
    // A few upstream lists contain versions outside the ranges (ranges edited later);
    // keep the disagreement well under 1%.
    assert!(agree * 1000 >= total * 995, "{agree}/{total}");
}

/// The RustSec native advisories (Markdown + TOML), converted by Rampart, affect the
/// same versions as the upstream OSV export of the same advisories.
#[test]
fn rustsec_native_matches_osv_export() {
    let (Some(native), Some(osvdir)) = (osv("RustSec-native/crates"), osv("RustSec")) else {
        return;
    };
    let mut nat_db = Db::open_in_memory().unwrap();
    let rep = nat_db.import(&[native], &ImportOptions::default()).unwrap();
    assert!(rep.rejected.is_empty(), "{:?}", rep.rejected.first());
    let (mut same, mut compared) = (0usize, 0usize);
    let mut diffs = Vec::new();
    for f in json_files(&osvdir) {
        let o = read_record(&f);
        if o.is_withdrawn() {
            continue;
        }
        let Some(n) = nat_db.get(&o.id).unwrap() else {
            continue;
        };
        let (Some(oa), Some(na)) = (o.affected.first(), n.affected.first()) else {
            continue;
        };
        compared += 1;
        let mut probes: BTreeSet<String> = ["0.0.0", "0.0.1", "0.1.0", "1.0.0", "99.0.0"]
            .map(String::from)
            .into();
        for e in oa.ranges.iter().chain(&na.ranges).flat_map(|r| &r.events) {
            for v in [&e.introduced, &e.fixed, &e.last_affected]
                .into_iter()
                .flatten()
            {
                if v != "0" && !v.contains('-') {
                    probes.insert(v.clone());
                    let mut parts: Vec<u64> = v.split('.').filter_map(|x| x.parse().ok()).collect();
                    if parts.len() == 3 {
                        parts[2] += 1;
                        probes.insert(format!("{}.{}.{}", parts[0], parts[1], parts[2]));
                        if parts[2] >= 2 {
                            probes.insert(format!("{}.{}.{}", parts[0], parts[1], parts[2] - 2));
                        }
                    }
                }
            }
        }
        let ok = probes.iter().all(|v| {
            let p = Version::parse(rampart_vuln::Scheme::SemVer, v).ok();
            oa.evaluate(v, p.as_ref()).affected == na.evaluate(v, p.as_ref()).affected
        });
        if ok {
            same += 1;
        } else {
            diffs.push(o.id.clone());
        }
    }
    println!("RustSec native vs OSV: {same}/{compared} advisories affect the same versions; differ: {:?}", diffs.iter().take(10).collect::<Vec<_>>());
    assert!(compared > 1100);
    assert!(same * 100 >= compared * 99, "{same}/{compared}");
}

#[test]
fn failed_imports_leave_the_database_intact() {
    let Some(go) = osv("Go") else { return };
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("vuln.db");
    let mut db = Db::open(&path).unwrap();
    // A first import from a zip made of 200 Go records.
    let zip_path = dir.path().join("all.zip");
    {
        let f = std::fs::File::create(&zip_path).unwrap();
        let mut z = zip::ZipWriter::new(f);
        let opts = zip::write::SimpleFileOptions::default()
            .compression_method(zip::CompressionMethod::Deflated);
        for p in json_files(&go).into_iter().take(200) {
            z.start_file(p.file_name().unwrap().to_string_lossy(), opts)
                .unwrap();
            std::io::Write::write_all(&mut z, &std::fs::read(&p).unwrap()).unwrap();
        }
        z.finish().unwrap();
    }
    let r = db
        .import(std::slice::from_ref(&zip_path), &ImportOptions::default())
        .unwrap();
    assert_eq!(r.files, 200);
    let before = db.status().unwrap();
    assert!(before.vulns >= 195);
    // A truncated copy of the archive: the import fails, nothing changes.
    let bytes = std::fs::read(&zip_path).unwrap();
    let bad = dir.path().join("truncated.zip");
    std::fs::write(&bad, &bytes[..bytes.len() / 2]).unwrap();
    let err = db
        .import(&[go.clone(), bad], &ImportOptions::default())
        .unwrap_err();
    assert!(matches!(err, DbError::Zip { .. }), "{err}");
    assert!(err.to_string().contains("truncated.zip"));
    // A missing path: same.
    let err = db
        .import(&[dir.path().join("nope")], &ImportOptions::default())
        .unwrap_err();
    assert!(matches!(err, DbError::NotFound(_)));
    let after = db.status().unwrap();
    assert_eq!(before.vulns, after.vulns);
    // Reopening the file gives the same contents, and no temporary file is left.
    drop(db);
    let db = Db::open_existing(&path).unwrap();
    assert_eq!(db.status().unwrap().vulns, before.vulns);
    let leftovers: Vec<_> = std::fs::read_dir(dir.path())
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().to_string())
        .filter(|n| n.contains(".import-"))
        .collect();
    assert!(leftovers.is_empty(), "{leftovers:?}");
    // Importing the same records again replaces them (no duplicates).
    let mut db = Db::open(&path).unwrap();
    db.import(&[zip_path], &ImportOptions::default()).unwrap();
    assert_eq!(db.status().unwrap().vulns, before.vulns);
}

#[test]
fn bad_records_are_reported_and_the_rest_imports() {
    let dir = tempfile::tempdir().unwrap();
    let w = |n: &str, s: &str| std::fs::write(dir.path().join(n), s).unwrap();
    w(
        "good.json",
        r#"{"id":"x_TEST-1","modified":"2024-01-01T00:00:00Z","affected":[{"package":{"ecosystem":"npm","name":"left-pad"},"ranges":[{"type":"SEMVER","events":[{"introduced":"0"},{"fixed":"1.3.0"}]}]}]}"#,
    );
    w("broken.json", "{ not json");
    w("noid.json", r#"{"affected":[]}"#);
    w(
        "badtype.json",
        r#"{"id":"x_TEST-2","modified":"2024-01-01T00:00:00Z","aliases":"CVE-1"}"#,
    );
    w(
        "schema.json",
        r#"{"id":"x_TEST-3","modified":"not a date","affected":[{"package":{"ecosystem":"NotAnEcosystem","name":"x"}}]}"#,
    );
    w(
        "withdrawn.json",
        r#"{"id":"x_TEST-4","modified":"2024-01-01T00:00:00Z","withdrawn":"2024-02-01T00:00:00Z"}"#,
    );
    w("notes.txt", "ignored");
    w("package.json", r#"{"name":"app","version":"1.0.0"}"#);
    let mut db = Db::open_in_memory().unwrap();
    let r = db
        .import(&[dir.path().to_path_buf()], &ImportOptions::default())
        .unwrap();
    for p in &r.rejected {
        println!("{}: {} {}", p.source, p.code, p.message);
    }
    let codes: BTreeSet<(String, String)> = r
        .rejected
        .iter()
        .map(|p| {
            (
                Path::new(&p.source)
                    .file_name()
                    .unwrap()
                    .to_string_lossy()
                    .to_string(),
                p.code.clone(),
            )
        })
        .collect();
    assert_eq!(
        codes,
        BTreeSet::from([
            ("broken.json".into(), "JSON".into()),
            ("noid.json".into(), "OSV:000".into()),
            ("badtype.json".into(), "OSV:001".into()),
            ("schema.json".into(), "SCHEMA".into()),
        ])
    );
    assert_eq!((r.imported, r.withdrawn), (1, 1));
    // JSON that is not an OSV record at all is skipped with a note, not rejected.
    assert!(r
        .warnings
        .iter()
        .any(|w| w.code == "SKIP" && w.source.ends_with("package.json")));
    let rep = db
        .match_packages(&[
            Package::new("npm", "left-pad", "1.2.0"),
            Package::new("npm", "left-pad", "garbage version"),
        ])
        .unwrap();
    assert_eq!(rep[0].vulns[0].id, "x_TEST-1");
    // No severity anywhere: unknown (never a silent medium).
    assert_eq!(rep[0].vulns[0].severity.severity, Severity::Unknown);
    assert!(rep[0].findings()[0].message.contains("severity unknown"));
    assert!(rep[1].vulns.is_empty() || !rep[1].notes.is_empty());
    assert_eq!(ecosystem::normalize_name("PyPI", "A_B"), "a-b");
}

/// Rule ids keep the advisory's own spelling (`vuln/GHSA-…`, `vuln/RHSA-2024:6220`) and
/// pass the registry's metadata check, even for records without a summary.
#[test]
fn finding_rule_ids_keep_advisory_casing() {
    let dir = tempfile::tempdir().unwrap();
    let w = |n: &str, s: &str| std::fs::write(dir.path().join(n), s).unwrap();
    w(
        "a.json",
        r#"{"id":"GHSA-abcd-efgh-ijkl","modified":"2024-01-01T00:00:00Z","summary":"\n  Bad thing\nmore","affected":[{"package":{"ecosystem":"npm","name":"Left-Pad"},"ranges":[{"type":"SEMVER","events":[{"introduced":"0"},{"fixed":"1.3.0"}]}]}]}"#,
    );
    w(
        "b.json",
        r#"{"id":"RHSA-2024:6220","modified":"2024-01-01T00:00:00Z","affected":[{"package":{"ecosystem":"Red Hat:rhel_aus:8.6::appstream","name":"PyYAML"},"ranges":[{"type":"ECOSYSTEM","events":[{"introduced":"0"},{"fixed":"0:5.4.1-1.el8"}]}]}]}"#,
    );
    let mut db = Db::open_in_memory().unwrap();
    db.import(&[dir.path().to_path_buf()], &ImportOptions::default())
        .unwrap();
    let reps = db
        .match_packages(&[
            Package::new("npm", "Left-Pad", "1.0.0"),
            Package::new("Red Hat:rhel_aus:8.6::appstream", "PyYAML", "0:5.1-1.el8"),
        ])
        .unwrap();
    let mut ids = Vec::new();
    for r in &reps {
        let metas = r.rule_metas();
        assert_eq!(metas.len(), r.findings().len());
        for (m, f) in metas.iter().zip(r.findings()) {
            assert_eq!(m.id, f.rule_id);
            assert_eq!(m.problems(), Vec::<String>::new(), "{}", m.id);
            ids.push(f.rule_id.clone());
        }
    }
    assert_eq!(ids, ["vuln/GHSA-abcd-efgh-ijkl", "vuln/RHSA-2024:6220"]);
    assert_eq!(reps[0].rule_metas()[0].title, "Bad thing");
}
