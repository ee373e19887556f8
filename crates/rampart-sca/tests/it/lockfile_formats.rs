//! Every lockfile format on a realistic fixture: packages, versions, entry lines,
//! direct/dev flags, dependency paths, hashes, licences.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use rampart_sca::graph::Paths;
use rampart_sca::inventory::{Lockfile, Package};
use rampart_sca::lockfile::{detect, Parsed};
use rampart_sca::scan::parse_file;
use std::path::{Path, PathBuf};

fn fixture(rel: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures/lockfiles")
        .join(rel)
}

fn parse(rel: &str) -> Parsed {
    let path = fixture(rel);
    let name = path.file_name().unwrap().to_string_lossy().into_owned();
    let kind = detect(&name).unwrap_or_else(|| panic!("{name} not detected"));
    let content = std::fs::read(&path).unwrap();
    parse_file(kind, &path, rel, &content).unwrap_or_else(|e| panic!("{rel}: {e}"))
}

fn get<'a>(l: &'a Lockfile, name: &str, version: &str) -> &'a Package {
    l.packages
        .iter()
        .find(|p| p.name == name && p.version == version)
        .unwrap_or_else(|| {
            let all: Vec<String> = l.packages.iter().map(Package::key).collect();
            panic!("{name}@{version} not in {}: {all:?}", l.path)
        })
}

fn line(p: &Package) -> Option<usize> {
    p.source.as_ref().and_then(|s| s.line)
}

fn names(l: &Lockfile) -> Vec<String> {
    let mut v: Vec<String> = l.packages.iter().map(Package::key).collect();
    v.sort();
    v
}

#[test]
fn cargo_lock() {
    let l = parse("cargo/Cargo.lock").lockfile;
    assert_eq!(l.kind, "cargo-lock-v3");
    assert_eq!(
        l.packages.len(),
        10,
        "workspace member `app` is not a package"
    );
    let time = get(&l, "time", "0.1.43");
    assert_eq!(time.ecosystem, "crates.io");
    assert_eq!(line(time), Some(85));
    assert_eq!(time.source.as_ref().unwrap().path, "cargo/Cargo.lock");
    assert_eq!(time.direct, Some(false));
    assert_eq!(time.hashes[0].alg, "SHA-256");
    assert_eq!(get(&l, "tempdir", "0.3.7").direct, Some(true));
    assert_eq!(get(&l, "chrono", "0.4.19").direct, Some(true));
    let g = Paths::of(&l);
    assert_eq!(
        g.via("time@0.1.43").as_deref(),
        Some("chrono@0.4.19 → time@0.1.43")
    );
    assert_eq!(
        g.via("autocfg@1.1.0").as_deref(),
        Some("chrono@0.4.19 → num-integer@0.1.45 → autocfg@1.1.0")
    );
}

#[test]
fn package_lock_v3() {
    let l = parse("npm-v3/package-lock.json").lockfile;
    assert_eq!(l.kind, "npm-lock-v3");
    assert_eq!(
        names(&l),
        [
            "ansi-html@0.0.7",
            "express@4.17.1",
            "qs@6.5.2",
            "qs@6.7.0",
            "webpack-dev-server@3.11.0"
        ]
    );
    let a = get(&l, "ansi-html", "0.0.7");
    assert_eq!(line(a), Some(17));
    assert!(a.dev);
    assert_eq!(a.direct, Some(false));
    assert_eq!(a.licenses, ["Apache-2.0"]);
    assert_eq!(a.hashes[0].alg, "SHA-1");
    assert_eq!(
        a.resolved.as_deref(),
        Some("https://registry.npmjs.org/ansi-html/-/ansi-html-0.0.7.tgz")
    );
    let nested = get(&l, "qs", "6.5.2");
    assert_eq!(line(nested), Some(56));
    assert_eq!(nested.direct, Some(false));
    let wds = get(&l, "webpack-dev-server", "3.11.0");
    assert_eq!(wds.direct, Some(true));
    // Node resolution: the nested qs, not the top-level one.
    assert_eq!(wds.dependencies, ["ansi-html@0.0.7", "qs@6.5.2"]);
    assert!(!get(&l, "express", "4.17.1").dev);
    let g = Paths::of(&l);
    assert_eq!(
        g.via("ansi-html@0.0.7").as_deref(),
        Some("webpack-dev-server@3.11.0 → ansi-html@0.0.7")
    );
}

#[test]
fn package_lock_v1_nested() {
    let l = parse("npm-v1/package-lock.json").lockfile;
    assert_eq!(l.kind, "npm-lock-v1");
    assert_eq!(
        names(&l),
        ["debug@2.6.9", "lodash@4.17.20", "ms@2.0.0", "ms@2.1.2"]
    );
    assert_eq!(line(get(&l, "ms", "2.0.0")), Some(15));
    assert_eq!(line(get(&l, "ms", "2.1.2")), Some(28));
    assert_eq!(get(&l, "ms", "2.0.0").direct, Some(false));
    assert_eq!(get(&l, "ms", "2.1.2").direct, Some(true));
    assert!(get(&l, "lodash", "4.17.20").dev);
    assert_eq!(get(&l, "debug", "2.6.9").dependencies, ["ms@2.0.0"]);
}

#[test]
fn yarn_classic_and_berry() {
    let l = parse("yarn-classic/yarn.lock").lockfile;
    assert_eq!(l.kind, "yarn-lock-classic");
    assert_eq!(l.packages.len(), 4);
    let lodash = get(&l, "lodash", "4.17.19");
    assert_eq!(line(lodash), Some(24));
    assert_eq!((lodash.direct, lodash.dev), (Some(true), true));
    let js = get(&l, "js-tokens", "4.0.0");
    assert_eq!((line(js), js.direct), (Some(19), Some(false)));
    assert_eq!(
        Paths::of(&l).via("js-tokens@4.0.0").as_deref(),
        Some("@babel/code-frame@7.12.13 → @babel/highlight@7.13.10 → js-tokens@4.0.0")
    );

    let b = parse("yarn-berry/yarn.lock").lockfile;
    assert_eq!(b.kind, "yarn-lock-berry");
    assert_eq!(names(&b), ["ansi-regex@5.0.1", "strip-ansi@6.0.1"]);
    let sa = get(&b, "strip-ansi", "6.0.1");
    assert_eq!((line(sa), sa.direct), (Some(23), Some(true)));
    assert_eq!(sa.dependencies, ["ansi-regex@5.0.1"]);
    assert_eq!(sa.hashes[0].alg, "SHA-512");
    assert_eq!(get(&b, "ansi-regex", "5.0.1").direct, Some(false));
}

#[test]
fn pnpm_v6_and_v9() {
    let l = parse("pnpm-v6/pnpm-lock.yaml").lockfile;
    assert_eq!(l.kind, "pnpm-lock-v6");
    assert_eq!(l.packages.len(), 6);
    let rd = get(&l, "react-dom", "18.2.0");
    assert_eq!((line(rd), rd.direct), (Some(30), Some(true)));
    let ts = get(&l, "typescript", "5.0.4");
    assert_eq!((line(ts), ts.dev, ts.direct), (Some(53), true, Some(true)));
    assert_eq!(
        Paths::of(&l).via("js-tokens@4.0.0").as_deref(),
        Some("react-dom@18.2.0 → loose-envify@1.4.0 → js-tokens@4.0.0")
    );

    let l = parse("pnpm-v9/pnpm-lock.yaml").lockfile;
    assert_eq!(l.kind, "pnpm-lock-v9");
    let d = get(&l, "debug", "2.6.9");
    assert_eq!((line(d), d.direct), (Some(24), Some(false)));
    assert_eq!(
        get(&l, "send", "0.18.0").dependencies,
        ["debug@2.6.9", "ms@2.1.3"]
    );
    assert_eq!(
        Paths::of(&l).via("ms@2.0.0").as_deref(),
        Some("send@0.18.0 → debug@2.6.9 → ms@2.0.0")
    );
}

#[test]
fn requirements_with_includes_hashes_and_via() {
    let parsed = parse("requirements/requirements.txt");
    let l = parsed.lockfile;
    assert_eq!(
        names(&l),
        [
            "Jinja2@2.11.2",
            "PyYAML@5.3.1",
            "asgiref@3.4.1",
            "django@3.2.1",
            "sqlparse@0.4.1"
        ]
    );
    let dj = get(&l, "django", "3.2.1");
    assert_eq!(dj.ecosystem, "PyPI");
    assert_eq!((line(dj), dj.direct), (Some(12), Some(true)));
    assert_eq!(dj.hashes.len(), 1);
    assert_eq!(get(&l, "asgiref", "3.4.1").hashes.len(), 2);
    assert_eq!(get(&l, "sqlparse", "0.4.1").direct, Some(false));
    assert_eq!(
        Paths::of(&l).via("sqlparse@0.4.1").as_deref(),
        Some("django@3.2.1 → sqlparse@0.4.1")
    );
    // Included file: its own path and line.
    let y = get(&l, "PyYAML", "5.3.1");
    let src = y.source.as_ref().unwrap();
    assert_eq!(
        (src.path.as_str(), src.line),
        ("requirements/common/base.txt", Some(3))
    );
    // Unpinned lines, the editable install and the include cycle are notes.
    let notes: Vec<String> = parsed
        .notes
        .iter()
        .map(|n| format!("{}:{}: {}", n.path, n.line.unwrap_or(0), n.message))
        .collect();
    assert!(
        notes
            .iter()
            .any(|n| n.starts_with("requirements/requirements.txt:18: requests: not pinned")),
        "{notes:?}"
    );
    assert!(notes.iter().any(|n| n.contains("editable")), "{notes:?}");
    assert!(
        notes
            .iter()
            .any(|n| n.starts_with("requirements/common/base.txt:2:") && n.contains("cycle")),
        "{notes:?}"
    );
}

#[test]
fn poetry_pipfile_uv_pdm() {
    let l = parse("poetry/poetry.lock").lockfile;
    let r = get(&l, "requests", "2.26.0");
    assert_eq!((line(r), r.direct), (Some(22), Some(true)));
    assert_eq!(r.dependencies, ["certifi@2021.10.8", "urllib3@1.26.7"]);
    assert_eq!(get(&l, "certifi", "2021.10.8").hashes.len(), 2);
    assert_eq!(get(&l, "urllib3", "1.26.7").direct, Some(false));

    let l = parse("pipfile/Pipfile.lock").lockfile;
    let f = get(&l, "flask", "1.1.2");
    assert_eq!((line(f), f.direct, f.dev), (Some(19), Some(true), false));
    let c = get(&l, "coverage", "5.5");
    assert_eq!((line(c), c.dev), (Some(33), true));
    assert_eq!(get(&l, "markupsafe", "2.0.1").direct, Some(false));

    let l = parse("uv/uv.lock").lockfile;
    assert_eq!(
        names(&l),
        ["anyio@4.6.2", "idna@3.10", "pytest@8.3.3", "sniffio@1.3.1"]
    );
    let a = get(&l, "anyio", "4.6.2");
    assert_eq!((line(a), a.direct), (Some(4), Some(true)));
    assert_eq!(a.dependencies, ["idna@3.10", "sniffio@1.3.1"]);
    let p = get(&l, "pytest", "8.3.3");
    assert_eq!((p.direct, p.dev), (Some(true), true));
    assert_eq!(get(&l, "idna", "3.10").direct, Some(false));

    let l = parse("pdm/pdm.lock").lockfile;
    let p = get(&l, "pytest", "7.4.0");
    assert_eq!((p.direct, p.dev), (Some(true), true));
    assert_eq!(get(&l, "iniconfig", "2.0.0").direct, Some(false));
    assert!(!get(&l, "certifi", "2023.7.22").dev);
}

#[test]
fn go_mod() {
    let parsed = parse("gomod/go.mod");
    let l = parsed.lockfile;
    assert_eq!(
        names(&l),
        [
            "github.com/gin-gonic/gin@v1.9.1",
            "golang.org/x/sys@v0.0.0-20210330210617-4fbd30eecc44",
            "gopkg.in/yaml.v3@v3.0.2",
            "stdlib@1.21.3"
        ]
    );
    let gin = get(&l, "github.com/gin-gonic/gin", "v1.9.1");
    assert_eq!((line(gin), gin.direct), (Some(8), Some(true)));
    assert_eq!(gin.hashes.len(), 1, "h1 hash from go.sum");
    let sys = get(&l, "golang.org/x/sys", "v0.0.0-20210330210617-4fbd30eecc44");
    assert_eq!((line(sys), sys.direct), (Some(9), Some(false)));
    assert_eq!(line(get(&l, "gopkg.in/yaml.v3", "v3.0.2")), Some(17));
    assert!(parsed
        .notes
        .iter()
        .any(|n| n.message.contains("local directory ../internal")));
}

#[test]
fn gemfile_composer_maven_gradle() {
    let l = parse("gemfile/Gemfile.lock").lockfile;
    assert_eq!(l.packages.len(), 6, "GIT gems are skipped");
    let n = get(&l, "nokogiri", "1.11.7");
    assert_eq!((line(n), n.direct), (Some(11), Some(true)));
    assert_eq!(n.dependencies, ["racc@1.5.2"]);
    assert_eq!(get(&l, "rack", "2.2.3").direct, Some(false));

    let l = parse("composer/composer.lock").lockfile;
    let f = get(&l, "league/flysystem", "1.1.3");
    assert_eq!((line(f), f.direct, f.dev), (Some(7), Some(true), false));
    assert_eq!(f.licenses, ["MIT"]);
    assert_eq!(f.dependencies, ["league/mime-type-detection@1.7.0"]);
    let pu = get(&l, "phpunit/phpunit", "9.5.4");
    assert!(pu.dev);
    assert_eq!(
        get(&l, "league/mime-type-detection", "1.7.0").direct,
        Some(false)
    );

    let l = parse("maven/pom.xml").lockfile;
    assert_eq!(
        names(&l),
        [
            "com.acme:acme-common@2.3.0",
            "com.fasterxml.jackson.core:jackson-databind@2.12.3",
            "junit:junit@4.13.1",
            "org.apache.logging.log4j:log4j-core@2.14.1"
        ]
    );
    let log4j = get(&l, "org.apache.logging.log4j:log4j-core", "2.14.1");
    assert_eq!((line(log4j), log4j.direct), (Some(29), Some(true)));
    assert!(get(&l, "junit:junit", "4.13.1").dev);
    assert_eq!(line(get(&l, "com.acme:acme-common", "2.3.0")), Some(38));

    let l = parse("gradle/gradle.lockfile").lockfile;
    assert_eq!(l.packages.len(), 4);
    let s = get(&l, "org.springframework:spring-core", "5.3.18");
    assert_eq!((line(s), s.dev), (Some(7), false));
    assert!(get(&l, "junit:junit", "4.12").dev);
}

#[test]
fn nuget_mix_pubspec() {
    let l = parse("nuget/packages.lock.json").lockfile;
    assert_eq!(
        names(&l),
        ["Newtonsoft.Json@12.0.1", "System.Text.Encodings.Web@4.5.0"]
    );
    let n = get(&l, "Newtonsoft.Json", "12.0.1");
    assert_eq!((line(n), n.direct), (Some(5), Some(true)));
    assert_eq!(n.dependencies, ["System.Text.Encodings.Web@4.5.0"]);
    assert_eq!(
        line(get(&l, "System.Text.Encodings.Web", "4.5.0")),
        Some(14)
    );

    let l = parse("mix/mix.lock").lockfile;
    assert_eq!(names(&l), ["cowboy@2.9.0", "cowlib@2.11.0", "ranch@1.8.0"]);
    let c = get(&l, "cowboy", "2.9.0");
    assert_eq!(c.ecosystem, "Hex");
    assert_eq!(line(c), Some(2));
    assert_eq!(c.dependencies, ["cowlib@2.11.0", "ranch@1.8.0"]);
    assert_eq!(line(get(&l, "ranch", "1.8.0")), Some(5));

    let l = parse("pubspec/pubspec.lock").lockfile;
    assert_eq!(names(&l), ["async@2.11.0", "http@0.13.6", "lints@2.1.1"]);
    let h = get(&l, "http", "0.13.6");
    assert_eq!((line(h), h.direct, h.dev), (Some(17), Some(true), false));
    let li = get(&l, "lints", "2.1.1");
    assert_eq!((line(li), li.dev), (Some(25), true));
    assert_eq!(get(&l, "async", "2.11.0").direct, Some(false));
}

#[test]
fn malformed_files_give_a_line() {
    for (rel, want) in [
        ("malformed/package-lock.json", Some(6)),
        ("malformed/Cargo.lock", Some(5)),
        ("malformed/pubspec.lock", None),
    ] {
        let path = fixture(rel);
        let name = path.file_name().unwrap().to_string_lossy().into_owned();
        let content = std::fs::read(&path).unwrap();
        let err = parse_file(detect(&name).unwrap(), &path, rel, &content).unwrap_err();
        assert_eq!(err.path, rel);
        assert!(err.message.contains("cannot parse"), "{err}");
        if want.is_some() {
            assert_eq!(err.line, want, "{rel}: {err}");
        } else {
            assert!(err.line.is_some(), "{rel}: {err}");
        }
    }
}

#[test]
fn scan_dir_finds_every_fixture_and_reports_bad_ones() {
    let out = rampart_sca::scan::scan_dir_detailed(
        &fixture(""),
        &rampart_core::walk::WalkOptions::default(),
    )
    .unwrap();
    let kinds: Vec<&str> = out
        .inventory
        .lockfiles
        .iter()
        .map(|l| l.kind.as_str())
        .collect();
    assert_eq!(out.inventory.lockfiles.len(), 20, "{kinds:?}");
    assert_eq!(out.inventory.errors.len(), 3, "{:?}", out.inventory.errors);
    // `base.txt` is not a requirements file name: read only through the `-r` include.
    assert!(!out
        .inventory
        .lockfiles
        .iter()
        .any(|l| l.path == "requirements/common/base.txt"));
    assert!(!out.notes.is_empty());
}
