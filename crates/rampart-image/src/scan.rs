//! Scanning an image end to end: open, read layers in parallel, apply whiteouts, read
//! package databases, match vulnerabilities, scan secrets, check configuration.

use crate::error::ImageError;
use crate::layer::{self, Capture, EntryKind, Hostile, LayerContext, LayerOutput, Limits};
use crate::oci::ImageConfig;
use crate::os::{self, OsInfo};
use crate::packages::{purl, ImagePackage, PackageKind};
use crate::rules::{self, ids};
use crate::source::{self, OpenOptions, OpenedImage, SourceKind};
use rampart_core::fingerprint::fingerprint;
use rampart_core::package::{Package, SourceRef};
use rampart_core::{Finding, Location, RuleMeta, ScanError, Severity};
use rayon::prelude::*;
use serde::Serialize;
use std::collections::{BTreeMap, BTreeSet, HashMap, HashSet};

/// Options of an image scan.
#[derive(Debug, Clone, Default)]
pub struct ScanOptions {
    /// How to open the source.
    pub open: OpenOptions,
    /// Layer reading limits.
    pub limits: Limits,
    /// Today's date (`YYYY-MM-DD`) for end-of-life checks (default: the clock).
    pub today: Option<String>,
}

/// One layer, as reported.
#[derive(Debug, Clone, Serialize)]
pub struct LayerInfo {
    /// Digest (as the manifest names it).
    pub digest: String,
    /// Uncompressed digest, when known.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub diff_id: Option<String>,
    /// Stored size.
    pub size: u64,
    /// Decompressed bytes read.
    pub uncompressed: u64,
    /// `gzip`, `zstd` or `none`.
    pub compression: &'static str,
    /// The instruction that made it.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub created_by: Option<String>,
    /// Entries in it.
    pub entries: usize,
    /// Whether it was read whole and matched its digests; an unverified layer's files,
    /// packages and secrets are not used (and the scan has an error saying why).
    pub verified: bool,
}

/// What the image is.
#[derive(Debug, Clone, Serialize)]
pub struct ImageInfo {
    /// The reference as given.
    pub reference: String,
    /// Source kind.
    pub kind: SourceKind,
    /// Tag.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub tag: Option<String>,
    /// Manifest digest.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub manifest_digest: Option<String>,
    /// Config digest (the image id).
    pub config_digest: String,
    /// `os/arch`.
    pub platform: String,
    /// Operating system, from `os-release`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub os: Option<OsInfo>,
    /// Layers, bottom first.
    pub layers: Vec<LayerInfo>,
}

/// Counters.
#[derive(Debug, Clone, Default, Serialize)]
pub struct ScanStats {
    /// Files in the final image.
    pub files: usize,
    /// Decompressed bytes read.
    pub bytes: u64,
    /// Files scanned for secrets.
    pub secret_files: u64,
    /// Files too large to analyse.
    pub too_large: u64,
}

/// Everything an image scan found.
#[derive(Debug, Clone, Serialize)]
pub struct ImageScan {
    /// The image.
    pub image: ImageInfo,
    /// Packages present in the final image.
    pub packages: Vec<ImagePackage>,
    /// Findings (rules, secrets, vulnerabilities).
    pub findings: Vec<Finding>,
    /// Problems met; the rest of the scan went on.
    pub errors: Vec<ScanError>,
    /// Counters.
    pub stats: ScanStats,
}

/// A file of the final image.
#[derive(Debug, Clone, Copy)]
struct FileInfo {
    layer: usize,
    kind: EntryKind,
    mode: u32,
}

/// Scan an image named by `arg` (see [`source::detect`]).
pub fn scan(
    arg: &str,
    opts: &ScanOptions,
    secrets: Option<&rampart_secrets::SecretScanner>,
    db: Option<&rampart_vuln::Db>,
) -> Result<ImageScan, ImageError> {
    let img = source::open(arg, &opts.open)?;
    Ok(scan_opened(&img, opts, secrets, db))
}

/// Scan an opened image.
pub fn scan_opened(
    img: &OpenedImage,
    opts: &ScanOptions,
    secrets: Option<&rampart_secrets::SecretScanner>,
    db: Option<&rampart_vuln::Db>,
) -> ImageScan {
    let budget = layer::ImageBudget::new();
    let ctx = LayerContext {
        limits: &opts.limits,
        secrets,
        budget: &budget,
    };
    let outputs: Vec<LayerOutput> = img
        .layers
        .par_iter()
        .map(|l| layer::read_layer(l, &ctx))
        .collect();
    let instructions = img.config.layer_instructions(img.layers.len());
    let layer_digests: Vec<String> = img.layers.iter().map(|l| l.digest.clone()).collect();
    let mut errors = Vec::new();
    let mut findings = Vec::new();
    let mut stats = ScanStats::default();
    let reference = img.reference.clone();

    // The final file system: whiteouts remove from lower layers, then entries add.
    // A layer whose bytes were not all read and verified against its digests
    // contributes nothing: neither files nor whiteouts (which could hide a lower
    // layer's package database), packages or secrets.
    let mut index: BTreeMap<String, FileInfo> = BTreeMap::new();
    let mut devices: Vec<(usize, &layer::HostileEntry)> = Vec::new();
    for (i, out) in outputs.iter().enumerate() {
        if out.verified {
            for d in &out.opaque {
                remove_children(&mut index, d);
            }
            for w in &out.whiteouts {
                index.remove(w);
                remove_children(&mut index, w);
            }
            for e in &out.entries {
                index.insert(
                    e.path.clone(),
                    FileInfo {
                        layer: i,
                        kind: e.kind,
                        mode: e.mode,
                    },
                );
            }
        }
        stats.bytes += out.bytes;
        stats.secret_files += out.secret_files;
        stats.too_large += out.too_large;
        let lpath = format!("layer {} ({})", i, short(&layer_digests[i]));
        for e in &out.errors {
            errors.push(ScanError {
                path: lpath.clone(),
                line: None,
                message: e.clone(),
            });
        }
        if !out.verified && !out.errors.iter().any(|e| e.contains("digest mismatch")) {
            errors.push(ScanError {
                path: lpath.clone(),
                line: None,
                message: "not read to the end, so its digest was not verified: its files, packages and secrets were not used".into(),
            });
        }
        let loc = |path: Option<String>| Location::Image {
            image: reference.clone(),
            layer_digest: Some(layer_digests[i].clone()),
            path,
        };
        if let Some(why) = &out.limit_hit {
            errors.push(ScanError {
                path: lpath.clone(),
                line: None,
                message: format!("layer read stopped: {why}"),
            });
            if let Some(m) = rules::meta_of(ids::LAYER_LIMIT) {
                let mut f = Finding::new(
                    &m,
                    format!("Layer {i} stopped: {why}"),
                    loc(None),
                    fingerprint(&[ids::LAYER_LIMIT, &layer_digests[i]]),
                );
                add_layer_props(&mut f, i, &instructions);
                findings.push(f);
            }
        }
        if let Some(m) = rules::meta_of(ids::HOSTILE_ENTRY) {
            for h in &out.hostile {
                if h.what == Hostile::DeviceFile && out.verified {
                    // Decided below, once the package databases say who ships what.
                    devices.push((i, h));
                    continue;
                }
                let what = match h.what {
                    Hostile::PathTraversal => "path traversal",
                    Hostile::LinkEscape => "link escaping the root",
                    Hostile::DeviceFile => "device file",
                };
                let mut f = Finding::new(
                    &m,
                    format!("{what}: `{}`: {}", h.path, h.detail),
                    loc(Some(h.path.clone())),
                    fingerprint(&[ids::HOSTILE_ENTRY, &layer_digests[i], &h.path]),
                );
                add_layer_props(&mut f, i, &instructions);
                if h.what == Hostile::DeviceFile {
                    // Device nodes are harmless to Rampart (never extracted) and common
                    // in debootstrap-made images; worth knowing, not alarming.
                    f.severity = Severity::Low;
                }
                f.properties
                    .insert("kind".into(), serde_json::json!(h.what));
                findings.push(f);
            }
        }
    }
    stats.files = index.len();
    let present = |path: &str, layer: usize| index.get(path).is_some_and(|f| f.layer == layer);

    // OS.
    let mut os_info: Option<OsInfo> = None;
    for name in ["etc/os-release", "usr/lib/os-release"] {
        if os_info.is_some() {
            break;
        }
        for (i, out) in outputs.iter().enumerate().rev() {
            if let Some(c) = out
                .captured
                .iter()
                .rev()
                .find(|c| c.kind == Capture::OsRelease && c.path == name && present(&c.path, i))
            {
                os_info = Some(os::parse_os_release(&String::from_utf8_lossy(&c.data)));
                break;
            }
        }
    }
    let os_eco = os_info.as_ref().and_then(OsInfo::ecosystem);
    let distro = os_info
        .as_ref()
        .map(|o| (o.id.clone(), o.version_id.clone()));

    // Packages, and the files they own.
    let mut owners = Owners::default();
    let mut packages: Vec<ImagePackage> = Vec::new();
    for (i, out) in outputs.iter().enumerate() {
        for c in &out.captured {
            if !present(&c.path, i) {
                continue;
            }
            let text = || String::from_utf8_lossy(&c.data);
            let eco = |k: PackageKind| {
                os_eco
                    .clone()
                    .unwrap_or_else(|| OsInfo::fallback_ecosystem(k).to_string())
            };
            let mut found: Vec<ImagePackage> = match c.kind {
                Capture::DpkgStatus | Capture::DpkgStatusD => {
                    os::parse_dpkg(&text(), &c.path, &eco(PackageKind::Dpkg))
                }
                Capture::DpkgList => {
                    let name = c.path.rsplit('/').next().unwrap_or("");
                    let pkg = name.strip_suffix(".list").unwrap_or(name);
                    let pkg = pkg.split(':').next().unwrap_or(pkg);
                    for l in text().lines() {
                        let f = l.trim().trim_start_matches('/');
                        if !f.is_empty() && f != "." {
                            owners
                                .files
                                .insert(f.to_string(), (pkg.to_string(), Expect::Layer(i)));
                        }
                    }
                    Vec::new()
                }
                Capture::DpkgStatOverride => {
                    owners.overridden.extend(os::dpkg_statoverrides(&text()));
                    Vec::new()
                }
                Capture::ApkInstalled => {
                    let t = text();
                    for (f, pkg, mode) in os::apk_files(&t) {
                        let e = mode.map_or(Expect::NoSpecialBits, Expect::Mode);
                        owners.files.insert(f, (pkg, e));
                    }
                    os::parse_apk(&t, &c.path, &eco(PackageKind::Apk))
                }
                Capture::RpmSqlite => {
                    match os::read_rpm_sqlite(&c.data, &c.path, &eco(PackageKind::Rpm)) {
                        Ok((p, files)) => {
                            for (f, pkg, mode) in files {
                                owners.files.insert(f, (pkg, Expect::Mode(mode)));
                            }
                            p
                        }
                        Err(e) => {
                            errors.push(ScanError {
                                path: c.path.clone(),
                                line: None,
                                message: format!("rpm database: {e}"),
                            });
                            Vec::new()
                        }
                    }
                }
                Capture::RpmLegacy => {
                    if let Some(m) = rules::meta_of(ids::UNSUPPORTED_DB) {
                        let mut f = Finding::new(
                            &m,
                            format!("`{}` is a BerkeleyDB/ndb rpm database, which Rampart does not read: its packages are not in the inventory", c.path),
                            Location::Image { image: reference.clone(), layer_digest: Some(layer_digests[i].clone()), path: Some(c.path.clone()) },
                            fingerprint(&[ids::UNSUPPORTED_DB, &c.path]),
                        );
                        add_layer_props(&mut f, i, &instructions);
                        findings.push(f);
                    }
                    Vec::new()
                }
                Capture::PythonMetadata => crate::lang::parse_python(&text(), &c.path)
                    .into_iter()
                    .collect(),
                Capture::NodePackage => crate::lang::parse_node(&c.data, &c.path)
                    .into_iter()
                    .collect(),
                Capture::Gemspec => crate::lang::parse_gemspec(&text(), &c.path)
                    .into_iter()
                    .collect(),
                Capture::Jar | Capture::Binary => c.packages.clone(),
                Capture::OsRelease => Vec::new(),
            };
            for p in &mut found {
                p.layer = i;
                p.layer_digest = layer_digests[i].clone();
                p.created_by = instructions.get(i).cloned().flatten();
                p.purl = purl(p, distro.as_ref().map(|(a, b)| (a.as_str(), b.as_str())));
            }
            packages.extend(found);
        }
    }
    packages.sort_by(|a, b| {
        (a.kind, &a.name, &a.version, &a.path).cmp(&(b.kind, &b.name, &b.version, &b.path))
    });
    packages.dedup_by(|a, b| {
        a.kind == b.kind && a.name == b.name && a.version == b.version && a.path == b.path
    });

    // Vulnerabilities.
    if let Some(db) = db {
        match match_vulns(db, &packages, &reference) {
            Ok(f) => findings.extend(f),
            Err(e) => errors.push(ScanError {
                path: "vulnerability database".into(),
                line: None,
                message: e.to_string(),
            }),
        }
        errors.extend(unchecked_ecosystems(db, &packages));
    }

    // Secrets (in every verified layer, present or not).
    for (i, out) in outputs.iter().enumerate() {
        if !out.verified {
            continue;
        }
        for s in &out.secrets {
            let state = match index.get(&s.path) {
                Some(f) if f.layer == i => "present",
                Some(_) => "replaced",
                None => "deleted",
            };
            let mut f = s.finding.clone();
            let line = f.location.line();
            f.location = Location::Image {
                image: reference.clone(),
                layer_digest: Some(layer_digests[i].clone()),
                path: Some(s.path.clone()),
            };
            f.fingerprint = fingerprint(&[&f.fingerprint, &layer_digests[i]]);
            match state {
                "deleted" => f.message.push_str(&format!(
                    " (file deleted by a later layer, still readable in layer {i})"
                )),
                "replaced" => f.message.push_str(&format!(
                    " (file replaced by a later layer, still readable in layer {i})"
                )),
                _ => {}
            }
            if let Some(l) = line {
                f.properties.insert("line".into(), serde_json::json!(l));
            }
            f.properties
                .insert("file_state".into(), serde_json::json!(state));
            add_layer_props(&mut f, i, &instructions);
            findings.push(f);
        }
    }

    // Configuration and file-system rules.
    findings.extend(config_findings(
        img,
        &reference,
        &instructions,
        &layer_digests,
        secrets,
    ));
    findings.extend(file_findings(
        &index,
        &owners,
        &reference,
        &layer_digests,
        &instructions,
    ));
    if let Some(m) = rules::meta_of(ids::HOSTILE_ENTRY) {
        for (i, h) in devices {
            let shipped = index
                .get(&h.path)
                .filter(|f| f.layer == i && f.kind == EntryKind::Device)
                .and_then(|f| owners.expected(&h.path, f, &index));
            if shipped.is_some() {
                continue;
            }
            let mut f = Finding::new(
                &m,
                format!(
                    "device file: `{}`: {} that no package installed",
                    h.path, h.detail
                ),
                Location::Image {
                    image: reference.clone(),
                    layer_digest: Some(layer_digests[i].clone()),
                    path: Some(h.path.clone()),
                },
                fingerprint(&[ids::HOSTILE_ENTRY, &layer_digests[i], &h.path]),
            );
            add_layer_props(&mut f, i, &instructions);
            // Device nodes are harmless to Rampart (never extracted); worth knowing, not
            // alarming.
            f.severity = Severity::Low;
            f.properties
                .insert("kind".into(), serde_json::json!(h.what));
            findings.push(f);
        }
    }
    if let Some(o) = &os_info {
        let today = opts
            .today
            .clone()
            .unwrap_or_else(|| chrono::Utc::now().format("%Y-%m-%d").to_string());
        if let (Some(e), Some(m)) = (os::eol(o, &today), rules::meta_of(ids::EOL_DISTRO)) {
            let name = if o.pretty_name.is_empty() {
                format!("{} {}", o.id, o.version_id)
            } else {
                o.pretty_name.clone()
            };
            let mut f = Finding::new(
                &m,
                format!("{name} reached end of security support on {}", e.until),
                Location::Image {
                    image: reference.clone(),
                    layer_digest: None,
                    path: Some("etc/os-release".into()),
                },
                fingerprint(&[ids::EOL_DISTRO, &o.id, &o.version_id]),
            );
            f.properties
                .insert("eol_date".into(), serde_json::json!(e.until));
            findings.push(f);
        }
    }

    let layers = img
        .layers
        .iter()
        .zip(&outputs)
        .enumerate()
        .map(|(i, (l, o))| LayerInfo {
            digest: l.digest.clone(),
            diff_id: l.diff_id.clone(),
            size: l.size,
            uncompressed: o.bytes,
            compression: if o.compression.is_empty() {
                "none"
            } else {
                o.compression
            },
            created_by: instructions.get(i).cloned().flatten(),
            entries: o.entries.len(),
            verified: o.verified,
        })
        .collect();
    ImageScan {
        image: ImageInfo {
            reference: img.reference.clone(),
            kind: img.kind,
            tag: img.tag.clone(),
            manifest_digest: img.manifest_digest.clone(),
            config_digest: img.config_digest.clone(),
            platform: format!("{}/{}", img.config.os, img.config.architecture),
            os: os_info,
            layers,
        },
        packages,
        findings,
        errors,
        stats,
    }
}

/// What a package database says a file's mode should be.
#[derive(Debug, Clone, Copy)]
enum Expect {
    /// rpm headers and apk's `a:` lines record the mode.
    Mode(u32),
    /// apk without an `a:` line: the default mode, no setuid/setgid/sticky bits.
    NoSpecialBits,
    /// dpkg records no modes: the file is as the package installed it when it comes
    /// from the layer that wrote the package's file list (a later `chmod u+s` is in a
    /// later layer) and no `dpkg-statoverride` names it.
    Layer(usize),
}

/// Files owned by the image's packages (from present package databases only).
#[derive(Debug, Default)]
struct Owners {
    files: HashMap<String, (String, Expect)>,
    overridden: HashSet<String>,
}

impl Owners {
    /// The package that ships `path` with the mode it has, if any.
    ///
    /// On a merged-`/usr` system (`bin`, `sbin`, `lib*` are symbolic links into `usr/`, as
    /// in Debian 12 and every current Fedora) packages still list `/bin/su`, while the file
    /// is stored at `usr/bin/su`: the listed alias is looked up too, but only when the
    /// image's top-level directory is a link.
    fn expected(
        &self,
        path: &str,
        f: &FileInfo,
        index: &BTreeMap<String, FileInfo>,
    ) -> Option<&str> {
        let (pkg, e) = match self.files.get(path) {
            Some(hit) => hit,
            None => {
                let alias = path.strip_prefix("usr/")?;
                let top = alias.split('/').next()?;
                let merged = matches!(top, "bin" | "sbin" | "lib" | "lib32" | "lib64" | "libx32")
                    && index.get(top).is_some_and(|d| d.kind == EntryKind::Symlink);
                if !merged {
                    return None;
                }
                self.files.get(alias)?
            }
        };
        let ok = match *e {
            Expect::Mode(m) => m & 0o7777 == f.mode & 0o7777,
            Expect::NoSpecialBits => f.mode & 0o7000 == 0,
            Expect::Layer(l) => {
                l == f.layer
                    && !self.overridden.contains(path)
                    && !path
                        .strip_prefix("usr/")
                        .is_some_and(|a| self.overridden.contains(a))
            }
        };
        ok.then_some(pkg.as_str())
    }
}

/// One error per ecosystem whose packages the database has no advisory for at all:
/// they were not checked, which is not the same as clean.
fn unchecked_ecosystems(db: &rampart_vuln::Db, packages: &[ImagePackage]) -> Vec<ScanError> {
    let mut by_eco: BTreeMap<&str, Vec<&ImagePackage>> = BTreeMap::new();
    for p in packages {
        by_eco.entry(p.ecosystem.as_str()).or_default().push(p);
    }
    let mut out = Vec::new();
    for (eco, pk) in by_eco {
        let message = match db.has_ecosystem(eco) {
            Ok(true) => continue,
            Ok(false) => {
                let examples: Vec<String> = pk
                    .iter()
                    .take(3)
                    .map(|p| format!("{} {}", p.name, p.version))
                    .collect();
                format!(
                    "no advisories for ecosystem `{eco}` in the database: its {} package(s) ({}{}) were not checked for vulnerabilities; import that ecosystem (`rampart db update`) or pass --skip-vulns",
                    pk.len(),
                    examples.join(", "),
                    if pk.len() > 3 { ", …" } else { "" }
                )
            }
            Err(e) => format!("cannot tell whether ecosystem `{eco}` is covered: {e}"),
        };
        out.push(ScanError {
            path: "vulnerability database".into(),
            line: None,
            message,
        });
    }
    out
}

fn short(d: &str) -> &str {
    let d = d.split_once(':').map_or(d, |(_, h)| h);
    d.get(..12).unwrap_or(d)
}

fn remove_children(index: &mut BTreeMap<String, FileInfo>, dir: &str) {
    if dir.is_empty() {
        index.clear();
        return;
    }
    let prefix = format!("{dir}/");
    let keys: Vec<String> = index
        .range(prefix.clone()..)
        .take_while(|(k, _)| k.starts_with(&prefix))
        .map(|(k, _)| k.clone())
        .collect();
    for k in keys {
        index.remove(&k);
    }
}

fn add_layer_props(f: &mut Finding, layer: usize, instructions: &[Option<String>]) {
    f.properties
        .insert("layer".into(), serde_json::json!(layer));
    if let Some(Some(c)) = instructions.get(layer) {
        f.properties
            .insert("created_by".into(), serde_json::json!(c));
    }
}

/// The package to match: OS packages by their source package (Debian, Alpine and Red
/// Hat advisories are keyed by it), language packages as they are.
fn match_key(p: &ImagePackage) -> (String, String, String) {
    if p.kind.is_os() {
        (
            p.ecosystem.clone(),
            p.source_name.clone().unwrap_or_else(|| p.name.clone()),
            p.source_version
                .clone()
                .unwrap_or_else(|| p.version.clone()),
        )
    } else {
        (p.ecosystem.clone(), p.name.clone(), p.version.clone())
    }
}

fn match_vulns(
    db: &rampart_vuln::Db,
    packages: &[ImagePackage],
    reference: &str,
) -> Result<Vec<Finding>, rampart_vuln::DbError> {
    let mut groups: BTreeMap<(String, String, String, String), Vec<&ImagePackage>> =
        BTreeMap::new();
    for p in packages {
        let (e, n, v) = match_key(p);
        let found = p.path.clone();
        groups.entry((e, n, v, found)).or_default().push(p);
    }
    let keys: Vec<_> = groups.keys().cloned().collect();
    let query: Vec<Package> = keys
        .iter()
        .map(|(e, n, v, f)| Package::new(e.clone(), n.clone(), v.clone()).with_found_in(f.clone()))
        .collect();
    let reports = db.match_packages(&query)?;
    let mut out = Vec::new();
    for (key, report) in keys.iter().zip(reports) {
        if report.vulns.is_empty() {
            continue;
        }
        let members = &groups[key];
        let first = members[0];
        for mut f in report.findings() {
            f.properties
                .insert("image".into(), serde_json::json!(reference));
            f.properties
                .insert("layer_digest".into(), serde_json::json!(first.layer_digest));
            f.properties
                .insert("layer".into(), serde_json::json!(first.layer));
            if let Some(c) = &first.created_by {
                f.properties
                    .insert("created_by".into(), serde_json::json!(c));
            }
            f.properties.insert(
                "package_type".into(),
                serde_json::json!(first.kind.as_str()),
            );
            if first.kind.is_os() {
                let bins: BTreeSet<String> = members
                    .iter()
                    .map(|p| format!("{} {}", p.name, p.version))
                    .collect();
                f.properties
                    .insert("binary_packages".into(), serde_json::json!(bins));
                f.message.push_str(&format!(
                    " (installed as {})",
                    bins.into_iter().collect::<Vec<_>>().join(", ")
                ));
            }
            if let Some(l) = first.line {
                if let Location::Package { span, .. } = &mut f.location {
                    *span = Some(rampart_core::Span::line(l));
                }
            }
            out.push(f);
        }
    }
    Ok(out)
}

fn config_findings(
    img: &OpenedImage,
    reference: &str,
    instructions: &[Option<String>],
    layer_digests: &[String],
    secrets: Option<&rampart_secrets::SecretScanner>,
) -> Vec<Finding> {
    let cfg: &ImageConfig = &img.config;
    let run = cfg.config.clone().unwrap_or_default();
    let mut out = Vec::new();
    let loc = |path: &str| Location::Image {
        image: reference.to_string(),
        layer_digest: None,
        path: Some(path.to_string()),
    };
    let id = &img.config_digest;
    let mut push = |rule: &str, message: String, path: &str, key: &str, sev: Option<Severity>| {
        if let Some(m) = rules::meta_of(rule) {
            let mut f = Finding::new(&m, message, loc(path), fingerprint(&[rule, reference, key]));
            if let Some(s) = sev {
                f.severity = s;
            }
            out.push(f);
        }
    };
    let user = run.user.clone().unwrap_or_default();
    let uname = user.split(':').next().unwrap_or("").trim();
    if uname.is_empty() || uname == "root" || uname == "0" {
        push(
            ids::RUN_AS_ROOT,
            if uname.is_empty() {
                "The image config sets no USER: containers run as root".into()
            } else {
                format!("The image config runs as `{user}`")
            },
            "config.User",
            "",
            None,
        );
    }
    for (n, kv) in run.env.iter().flatten().enumerate() {
        let (k, v) = kv.split_once('=').unwrap_or((kv, ""));
        if rules::secret_env_name(k) && !v.trim().is_empty() && !v.starts_with('$') {
            push(
                ids::SECRET_IN_ENV,
                // Not even the value's length: it narrows a guess at a short secret.
                format!("ENV {k} has a value in the image config"),
                &format!("config.Env[{n}]"),
                k,
                None,
            );
        }
    }
    if let Some(s) = secrets {
        let text = run
            .env
            .iter()
            .flatten()
            .cloned()
            .collect::<Vec<_>>()
            .join("\n");
        for mut f in s.findings_in("config.Env", text.as_bytes(), None) {
            let line = f.location.line();
            f.location = loc("config.Env");
            if let Some(l) = line {
                f.properties.insert("line".into(), serde_json::json!(l));
            }
            f.fingerprint = fingerprint(&[&f.fingerprint, id]);
            out.push(f);
        }
    }
    let tag_latest = match img.kind {
        SourceKind::Registry => img.tag.as_deref() == Some("latest"),
        _ => img.tag.as_deref() == Some("latest"),
    };
    if tag_latest {
        if let Some(m) = rules::meta_of(ids::LATEST_TAG) {
            out.push(Finding::new(
                &m,
                format!("`{reference}` is the `latest` tag"),
                loc("tag"),
                fingerprint(&[ids::LATEST_TAG, reference]),
            ));
        }
    }
    for port in run.exposed_ports.iter().flat_map(|m| m.keys()) {
        let num = port.split('/').next().unwrap_or("");
        if num == "22" {
            if let Some(m) = rules::meta_of(ids::SSH_PORT) {
                out.push(Finding::new(
                    &m,
                    format!("The image exposes {port}"),
                    loc("config.ExposedPorts"),
                    fingerprint(&[ids::SSH_PORT, reference, port]),
                ));
            }
        }
    }
    let has_health = run
        .healthcheck
        .as_ref()
        .and_then(|h| h.get("Test"))
        .and_then(|t| t.as_array())
        .is_some_and(|t| t.first().and_then(|x| x.as_str()) != Some("NONE"));
    if !has_health {
        if let Some(m) = rules::meta_of(ids::NO_HEALTHCHECK) {
            out.push(Finding::new(
                &m,
                "The image config has no HEALTHCHECK".to_string(),
                loc("config.Healthcheck"),
                fingerprint(&[ids::NO_HEALTHCHECK, reference]),
            ));
        }
    }
    for (i, h) in cfg.history.iter().enumerate() {
        let Some(c) = &h.created_by else { continue };
        if let Some(url) = add_url(c) {
            if let Some(m) = rules::meta_of(ids::ADD_FROM_URL) {
                let layer = cfg.history[..i].iter().filter(|h| !h.empty_layer).count();
                let mut f = Finding::new(
                    &m,
                    format!("History entry {i} adds {url}"),
                    Location::Image {
                        image: reference.to_string(),
                        layer_digest: layer_digests.get(layer).cloned(),
                        path: Some(format!("history[{i}]")),
                    },
                    fingerprint(&[ids::ADD_FROM_URL, reference, url]),
                );
                add_layer_props(&mut f, layer, instructions);
                out.push(f);
            }
        }
    }
    out
}

/// The URL of an `ADD https://…` history entry.
fn add_url(created_by: &str) -> Option<&str> {
    let c = created_by.trim();
    let c = c.strip_prefix("/bin/sh -c #(nop) ").unwrap_or(c).trim();
    let rest = c.strip_prefix("ADD ")?;
    rest.split_whitespace()
        .filter(|w| !w.starts_with("--"))
        .find(|w| w.starts_with("http://") || w.starts_with("https://"))
}

fn file_findings(
    index: &BTreeMap<String, FileInfo>,
    owners: &Owners,
    reference: &str,
    layer_digests: &[String],
    instructions: &[Option<String>],
) -> Vec<Finding> {
    let mut out = Vec::new();
    let (Some(suid), Some(ww)) = (
        rules::meta_of(ids::SETUID),
        rules::meta_of(ids::WORLD_WRITABLE),
    ) else {
        return out;
    };
    for (path, f) in index {
        let loc = || Location::Image {
            image: reference.to_string(),
            layer_digest: layer_digests.get(f.layer).cloned(),
            path: Some(path.clone()),
        };
        if f.kind == EntryKind::File
            && f.mode & 0o6000 != 0
            && owners.expected(path, f, index).is_none()
        {
            let name = path.rsplit('/').next().unwrap_or(path);
            let base = name.trim_end_matches(|c: char| c.is_ascii_digit() || c == '.');
            let dangerous =
                rules::DANGEROUS_SETUID.contains(&name) || rules::DANGEROUS_SETUID.contains(&base);
            let bits = match (f.mode & 0o4000 != 0, f.mode & 0o2000 != 0) {
                (true, true) => "setuid+setgid",
                (true, false) => "setuid",
                _ => "setgid",
            };
            let mut fi = Finding::new(
                &suid,
                format!(
                    "/{path} is {bits} (mode {:o}){}",
                    f.mode & 0o7777,
                    if dangerous {
                        ": gives a shell or arbitrary file access"
                    } else {
                        ""
                    }
                ),
                loc(),
                fingerprint(&[ids::SETUID, path]),
            );
            if dangerous {
                fi.severity = Severity::High;
            }
            fi.properties.insert(
                "mode".into(),
                serde_json::json!(format!("{:o}", f.mode & 0o7777)),
            );
            add_layer_props(&mut fi, f.layer, instructions);
            out.push(fi);
        }
        let writable = f.mode & 0o002 != 0
            && match f.kind {
                EntryKind::File => true,
                EntryKind::Dir => f.mode & 0o1000 == 0,
                _ => false,
            };
        if writable && !rules::tmp_like(path) {
            let mut fi = Finding::new(
                &ww,
                format!("/{path} is world-writable (mode {:o})", f.mode & 0o7777),
                loc(),
                fingerprint(&[ids::WORLD_WRITABLE, path]),
            );
            add_layer_props(&mut fi, f.layer, instructions);
            out.push(fi);
        }
    }
    out
}

/// Every rule an image scan can report besides secrets and vulnerabilities.
pub fn metas() -> Vec<RuleMeta> {
    rules::metas()
}

/// Group the packages by kind (for summaries).
pub fn package_counts(packages: &[ImagePackage]) -> BTreeMap<&'static str, usize> {
    let mut m = BTreeMap::new();
    for p in packages {
        *m.entry(p.kind.as_str()).or_insert(0) += 1;
    }
    m
}

/// The image's packages as a `rampart-sca` inventory: one "lockfile" per package
/// database or metadata file, packages with their OSV ecosystem (`Debian:12` …),
/// licences and the path/line they were read from.
pub fn to_inventory(scan: &ImageScan) -> rampart_sca::inventory::Inventory {
    let mut by_file: HashMap<(String, PackageKind), Vec<&ImagePackage>> = HashMap::new();
    for p in &scan.packages {
        by_file.entry((p.path.clone(), p.kind)).or_default().push(p);
    }
    let mut keys: Vec<_> = by_file.keys().cloned().collect();
    keys.sort();
    let mut inv = rampart_sca::inventory::Inventory::default();
    for k in keys {
        let pk = &by_file[&k];
        inv.lockfiles.push(rampart_sca::inventory::Lockfile {
            path: k.0.clone(),
            kind: format!("image-{}", k.1.as_str()),
            packages: pk
                .iter()
                .map(|p| {
                    let mut q = Package::new(&p.ecosystem, &p.name, &p.version);
                    q.source = Some(SourceRef {
                        path: p.path.clone(),
                        line: p.line,
                    });
                    q.licenses = p.licenses.clone();
                    q
                })
                .collect(),
        });
    }
    inv.errors = scan.errors.clone();
    inv
}

/// Open and read an image (no secrets, no vulnerabilities) and return its packages as a
/// `rampart-sca` inventory: the seam for `rampart sbom IMAGE`.
pub fn inventory(
    arg: &str,
    opts: &ScanOptions,
) -> Result<rampart_sca::inventory::Inventory, ImageError> {
    let s = scan(arg, opts, None, None)?;
    Ok(to_inventory(&s))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn add_urls() {
        assert_eq!(
            add_url("/bin/sh -c #(nop) ADD https://x.example/a.tgz /opt/"),
            Some("https://x.example/a.tgz")
        );
        assert_eq!(add_url("ADD --chown=1 http://h/a /a"), Some("http://h/a"));
        assert_eq!(add_url("/bin/sh -c #(nop) ADD file:abc in / "), None);
        assert_eq!(add_url("RUN curl https://x"), None);
    }
}
