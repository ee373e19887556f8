//! Lockfile and manifest parsers: each turns one file's text into a [`Lockfile`] of
//! [`Package`]s with the line of every package's entry.
//!
//! Parsers never panic on malformed input: they return a [`ParseError`] with the line
//! when the underlying parser (serde_json, toml, rampart-yaml, quick-xml) gives one.
//! Files a lockfile refers to (a `package.json` next to `yarn.lock`, `-r` includes of a
//! requirements file, `go.sum` next to `go.mod`) are read through a [`Sibling`] reader,
//! so parsers stay free of file-system access and are easy to fuzz.

mod cargo;
mod composer;
mod gomod;
mod gradle;
mod jsonidx;
mod maven;
mod mix;
mod npm;
mod nuget;
mod pnpm;
mod pubspec;
mod python;
mod requirements;
mod ruby;
mod yarn;

use crate::inventory::{Hash, Lockfile, Package, SourceRef};
pub use jsonidx::JsonIndex;

/// Largest lockfile read (bytes); bigger files are skipped with an error.
pub const MAX_LOCKFILE_SIZE: u64 = 64 * 1024 * 1024;

/// The formats understood.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Kind {
    /// `Cargo.lock`.
    CargoLock,
    /// `package-lock.json` / `npm-shrinkwrap.json` (v1, v2, v3).
    NpmLock,
    /// `yarn.lock` (classic v1 and berry v2+).
    YarnLock,
    /// `pnpm-lock.yaml` (v5, v6, v9).
    PnpmLock,
    /// `requirements*.txt`.
    Requirements,
    /// `poetry.lock`.
    PoetryLock,
    /// `Pipfile.lock`.
    PipfileLock,
    /// `uv.lock`.
    UvLock,
    /// `pdm.lock`.
    PdmLock,
    /// `go.mod`.
    GoMod,
    /// `Gemfile.lock` / `gems.locked`.
    GemfileLock,
    /// `composer.lock`.
    ComposerLock,
    /// `pom.xml`.
    Pom,
    /// `gradle.lockfile`.
    GradleLock,
    /// `packages.lock.json` (NuGet).
    NugetLock,
    /// `mix.lock`.
    MixLock,
    /// `pubspec.lock`.
    PubspecLock,
}

impl Kind {
    /// Every kind.
    pub const ALL: [Kind; 17] = [
        Kind::CargoLock,
        Kind::NpmLock,
        Kind::YarnLock,
        Kind::PnpmLock,
        Kind::Requirements,
        Kind::PoetryLock,
        Kind::PipfileLock,
        Kind::UvLock,
        Kind::PdmLock,
        Kind::GoMod,
        Kind::GemfileLock,
        Kind::ComposerLock,
        Kind::Pom,
        Kind::GradleLock,
        Kind::NugetLock,
        Kind::MixLock,
        Kind::PubspecLock,
    ];

    /// Short name (the base of [`Lockfile::kind`]).
    pub fn name(self) -> &'static str {
        match self {
            Kind::CargoLock => "cargo-lock",
            Kind::NpmLock => "npm-lock",
            Kind::YarnLock => "yarn-lock",
            Kind::PnpmLock => "pnpm-lock",
            Kind::Requirements => "requirements",
            Kind::PoetryLock => "poetry-lock",
            Kind::PipfileLock => "pipfile-lock",
            Kind::UvLock => "uv-lock",
            Kind::PdmLock => "pdm-lock",
            Kind::GoMod => "go-mod",
            Kind::GemfileLock => "gemfile-lock",
            Kind::ComposerLock => "composer-lock",
            Kind::Pom => "maven-pom",
            Kind::GradleLock => "gradle-lockfile",
            Kind::NugetLock => "nuget-lock",
            Kind::MixLock => "mix-lock",
            Kind::PubspecLock => "pubspec-lock",
        }
    }

    /// The OSV ecosystem of the packages.
    pub fn ecosystem(self) -> &'static str {
        match self {
            Kind::CargoLock => "crates.io",
            Kind::NpmLock | Kind::YarnLock | Kind::PnpmLock => "npm",
            Kind::Requirements
            | Kind::PoetryLock
            | Kind::PipfileLock
            | Kind::UvLock
            | Kind::PdmLock => "PyPI",
            Kind::GoMod => "Go",
            Kind::GemfileLock => "RubyGems",
            Kind::ComposerLock => "Packagist",
            Kind::Pom | Kind::GradleLock => "Maven",
            Kind::NugetLock => "NuGet",
            Kind::MixLock => "Hex",
            Kind::PubspecLock => "Pub",
        }
    }
}

/// The format of a file, from its name (not its path), if it is a lockfile.
pub fn detect(file_name: &str) -> Option<Kind> {
    Some(match file_name {
        "Cargo.lock" => Kind::CargoLock,
        "package-lock.json" | "npm-shrinkwrap.json" => Kind::NpmLock,
        "yarn.lock" => Kind::YarnLock,
        "pnpm-lock.yaml" => Kind::PnpmLock,
        "poetry.lock" => Kind::PoetryLock,
        "Pipfile.lock" => Kind::PipfileLock,
        "uv.lock" => Kind::UvLock,
        "pdm.lock" => Kind::PdmLock,
        "go.mod" => Kind::GoMod,
        "Gemfile.lock" | "gems.locked" => Kind::GemfileLock,
        "composer.lock" => Kind::ComposerLock,
        "pom.xml" => Kind::Pom,
        "gradle.lockfile" => Kind::GradleLock,
        "packages.lock.json" => Kind::NugetLock,
        "mix.lock" => Kind::MixLock,
        "pubspec.lock" => Kind::PubspecLock,
        n if is_requirements_name(n) => Kind::Requirements,
        _ => return None,
    })
}

/// `requirements.txt`, `requirements-dev.txt`, `dev-requirements.txt`,
/// `requirements.in`? no: only `*.txt` whose name contains `requirements`.
fn is_requirements_name(n: &str) -> bool {
    n.ends_with(".txt") && n.contains("requirements")
}

/// A lockfile that could not be parsed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{message}")]
pub struct ParseError {
    /// 1-based line, when known.
    pub line: Option<usize>,
    /// What is wrong.
    pub message: String,
}

impl ParseError {
    pub(crate) fn new(line: Option<usize>, message: impl Into<String>) -> ParseError {
        ParseError {
            line,
            message: message.into(),
        }
    }

    pub(crate) fn json(e: &serde_json::Error) -> ParseError {
        ParseError::new(
            (e.line() > 0).then_some(e.line()),
            format!("invalid JSON: {e}"),
        )
    }

    pub(crate) fn toml(text: &str, e: &toml::de::Error) -> ParseError {
        let line = e.span().map(|s| line_of(text, s.start));
        ParseError::new(line, format!("invalid TOML: {}", e.message()))
    }

    pub(crate) fn yaml(e: &rampart_yaml::YamlError) -> ParseError {
        let message = e
            .message
            .strip_prefix("invalid YAML: ")
            .unwrap_or(&e.message);
        ParseError::new(e.line, format!("invalid YAML: {message}"))
    }
}

/// Load a one-document YAML lockfile with the one YAML loader (its size, depth and
/// alias limits; scalars as written, so `1.10` stays a version, not a float; a span for
/// every entry, see [`yaml_key_line`]).
pub(crate) fn load_yaml(text: &str) -> Result<rampart_yaml::Document, ParseError> {
    // A large lockfile has many nodes without any alias: the node bound grows with the
    // input (an alias bomb is small text that expands), never below the default.
    let mut opts = rampart_yaml::Options {
        scalars: rampart_yaml::Scalars::Text,
        reject_duplicate_keys: true,
        ..rampart_yaml::Options::default()
    };
    opts.limits.max_nodes = opts.limits.max_nodes.max(text.len() / 8);
    rampart_yaml::load_one(text, &opts).map_err(|e| ParseError::yaml(&e))
}

/// Reads a file next to the lockfile (path relative to the lockfile's directory, may
/// contain `..`); `None` when it does not exist or cannot be read.
pub type Sibling<'a> = &'a dyn Fn(&str) -> Option<String>;

/// A sibling reader that finds nothing.
pub fn no_siblings(_: &str) -> Option<String> {
    None
}

/// What parsing one file produced.
#[derive(Debug, Clone, Default)]
pub struct Parsed {
    /// The packages.
    pub lockfile: Lockfile,
    /// Remarks that are not errors (unpinned requirements, GIT-only entries …), each
    /// with the file and line.
    pub notes: Vec<rampart_core::ScanError>,
}

/// Parse `text` as `kind`. `rel` is the file's path relative to the scan root
/// (`/`-separated); it is recorded in every package's [`SourceRef`].
pub fn parse(
    kind: Kind,
    rel: &str,
    text: &str,
    sibling: Sibling<'_>,
) -> Result<Parsed, ParseError> {
    let mut notes = Vec::new();
    let (sub, packages) = match kind {
        Kind::CargoLock => cargo::parse(text)?,
        Kind::NpmLock => npm::parse(text, sibling)?,
        Kind::YarnLock => yarn::parse(text, sibling)?,
        Kind::PnpmLock => pnpm::parse(text)?,
        Kind::Requirements => requirements::parse(rel, text, sibling, &mut notes)?,
        Kind::PoetryLock => python::poetry(text, sibling)?,
        Kind::PipfileLock => python::pipfile(text, sibling)?,
        Kind::UvLock => python::uv(text)?,
        Kind::PdmLock => python::pdm(text, sibling)?,
        Kind::GoMod => gomod::parse(text, sibling, &mut notes)?,
        Kind::GemfileLock => ruby::parse(text)?,
        Kind::ComposerLock => composer::parse(text, sibling)?,
        Kind::Pom => maven::parse(text)?,
        Kind::GradleLock => gradle::parse(text)?,
        Kind::NugetLock => nuget::parse(text)?,
        Kind::MixLock => mix::parse(text)?,
        Kind::PubspecLock => pubspec::parse(text)?,
    };
    let mut packages: Vec<Package> = packages
        .into_iter()
        .map(|mut p| {
            p.ecosystem = kind.ecosystem().to_string();
            let src = p.source.get_or_insert_with(SourceRef::default);
            if src.path.is_empty() {
                src.path = rel.to_string();
            }
            p
        })
        .collect();
    packages.retain(|p| !p.name.is_empty() && !p.version.is_empty());
    let packages = dedupe(packages);
    for n in &mut notes {
        if n.path.is_empty() {
            n.path = rel.to_string();
        }
    }
    let kind_name = match sub {
        Some(s) => format!("{}-{s}", kind.name()),
        None => kind.name().to_string(),
    };
    Ok(Parsed {
        lockfile: Lockfile {
            path: rel.to_string(),
            kind: kind_name,
            packages,
        },
        notes,
    })
}

/// One package per `name@version` (nested npm copies, several target frameworks …):
/// the first entry's line, direct if any copy is, dev only if every copy is.
fn dedupe(packages: Vec<Package>) -> Vec<Package> {
    let mut index: std::collections::HashMap<String, usize> = std::collections::HashMap::new();
    let mut out: Vec<Package> = Vec::with_capacity(packages.len());
    for p in packages {
        match index.get(&p.key()) {
            Some(&i) => {
                let q = &mut out[i];
                q.direct = match (q.direct, p.direct) {
                    (Some(a), Some(b)) => Some(a || b),
                    (a, b) => a.or(b),
                };
                q.dev = q.dev && p.dev;
                for d in p.dependencies {
                    if !q.dependencies.contains(&d) {
                        q.dependencies.push(d);
                    }
                }
            }
            None => {
                index.insert(p.key(), out.len());
                out.push(p);
            }
        }
    }
    out
}

/// A parser's result: an optional sub-kind (`v3`, `berry` …) and the packages (the
/// ecosystem and the source path are filled in by [`parse`]).
pub(crate) type Out = (Option<&'static str>, Vec<Package>);

/// 1-based line of byte offset `pos` in `text`.
pub(crate) fn line_of(text: &str, pos: usize) -> usize {
    let pos = pos.min(text.len());
    text.as_bytes()[..pos]
        .iter()
        .filter(|&&b| b == b'\n')
        .count()
        + 1
}

/// A package with a line.
pub(crate) fn pkg(name: &str, version: &str, line: Option<usize>) -> Package {
    let mut p = Package::new("", name, version);
    if line.is_some() {
        p.source = Some(SourceRef {
            path: String::new(),
            line,
        });
    }
    p
}

/// Decode an SRI integrity string (`sha512-<base64>`, several separated by spaces).
pub(crate) fn sri_hashes(integrity: &str) -> Vec<Hash> {
    use base64::Engine as _;
    integrity
        .split_whitespace()
        .filter_map(|part| {
            let (alg, b64) = part.split_once('-')?;
            let alg = match alg {
                "sha1" => "SHA-1",
                "sha256" => "SHA-256",
                "sha384" => "SHA-384",
                "sha512" => "SHA-512",
                "md5" => "MD5",
                _ => return None,
            };
            let bytes = base64::engine::general_purpose::STANDARD.decode(b64).ok()?;
            Some(Hash {
                alg: alg.to_string(),
                value: hex::encode(bytes),
            })
        })
        .collect()
}

/// `sha256:<hex>` / `sha256=<hex>` → a hash.
pub(crate) fn prefixed_hash(s: &str) -> Option<Hash> {
    let (alg, v) = s.split_once(':').or_else(|| s.split_once('='))?;
    let alg = match alg.trim().to_ascii_lowercase().as_str() {
        "sha1" => "SHA-1",
        "sha256" => "SHA-256",
        "sha384" => "SHA-384",
        "sha512" => "SHA-512",
        "md5" => "MD5",
        _ => return None,
    };
    let v = v.trim();
    if v.is_empty() || !v.bytes().all(|b| b.is_ascii_hexdigit()) {
        return None;
    }
    Some(Hash {
        alg: alg.to_string(),
        value: v.to_ascii_lowercase(),
    })
}

/// Set each package's dependency keys from `(name → key)` resolution where the
/// lockfile names dependencies without versions and each name has one version.
pub(crate) fn resolve_by_name(packages: &mut [Package], deps: &[Vec<String>]) {
    let mut by_name: std::collections::HashMap<String, Option<String>> =
        std::collections::HashMap::new();
    for p in packages.iter() {
        by_name
            .entry(p.name.to_ascii_lowercase())
            .and_modify(|e| {
                if e.as_deref() != Some(&p.key()) {
                    *e = None;
                }
            })
            .or_insert_with(|| Some(p.key()));
    }
    for (p, ds) in packages.iter_mut().zip(deps) {
        for d in ds {
            if let Some(Some(k)) = by_name.get(&d.to_ascii_lowercase()) {
                if !p.dependencies.contains(k) {
                    p.dependencies.push(k.clone());
                }
            }
        }
    }
}

/// PEP 503 normalisation (`Foo_Bar.baz` → `foo-bar-baz`), for comparing Python names.
pub fn pep503(name: &str) -> String {
    let mut out = String::with_capacity(name.len());
    let mut sep = false;
    for c in name.chars() {
        if matches!(c, '-' | '_' | '.') {
            sep = true;
        } else {
            if sep && !out.is_empty() {
                out.push('-');
            }
            sep = false;
            out.push(c.to_ascii_lowercase());
        }
    }
    out
}

/// The line of `section`'s entry `key` in a document loaded by [`load_yaml`].
pub(crate) fn yaml_key_line(
    doc: &rampart_yaml::Document,
    section: &str,
    key: &str,
) -> Option<usize> {
    let path = rampart_yaml::join_key(section, key);
    doc.spans.get(&path).map(|s| s.start_line)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn detects_names() {
        assert_eq!(detect("Cargo.lock"), Some(Kind::CargoLock));
        assert_eq!(detect("requirements-dev.txt"), Some(Kind::Requirements));
        assert_eq!(detect("dev-requirements.txt"), Some(Kind::Requirements));
        assert_eq!(detect("npm-shrinkwrap.json"), Some(Kind::NpmLock));
        assert_eq!(detect("README.md"), None);
        assert_eq!(detect("package.json"), None);
    }

    #[test]
    fn sri_and_prefixed() {
        let h = sri_hashes("sha1-AAAA");
        assert_eq!(h[0].alg, "SHA-1");
        assert_eq!(h[0].value, "000000");
        assert_eq!(
            prefixed_hash("sha256:ABCD").map(|h| h.value),
            Some("abcd".into())
        );
        assert!(prefixed_hash("sha256:xyz").is_none());
    }

    #[test]
    fn pep503_normalises() {
        assert_eq!(pep503("Foo_Bar.baz"), "foo-bar-baz");
        assert_eq!(pep503("a--b"), "a-b");
    }
}
