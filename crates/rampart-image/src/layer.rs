//! Reading one layer as a stream: decompression (gzip, zstd or none, by magic bytes),
//! digest verification, size and ratio limits, path normalisation, whiteouts, and
//! the capture of the few files analysis needs. Nothing is written to disk.

use crate::source::{Hasher, LayerBlob, Verify};
use std::io::{self, BufRead, BufReader, Read};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};

/// Bounds applied while reading layers.
#[derive(Debug, Clone)]
pub struct Limits {
    /// Most decompressed bytes read from one layer.
    pub max_layer_bytes: u64,
    /// Most decompressed bytes per compressed byte, once over `ratio_floor` bytes.
    pub max_ratio: u64,
    /// Decompressed size under which the ratio is not checked.
    pub ratio_floor: u64,
    /// Most entries in one layer.
    pub max_entries: usize,
    /// Largest file read into memory for package analysis (JARs, binaries, rpmdb).
    pub max_analysis_file: u64,
    /// Largest file read for secret scanning.
    pub max_secret_file: u64,
    /// Most bytes of captured files (package databases and metadata) held from one layer.
    pub max_layer_captured_bytes: u64,
    /// Most captured files held from one layer.
    pub max_layer_captured_files: usize,
    /// Most decompressed bytes read from all layers together.
    pub max_image_bytes: u64,
    /// Most entries in all layers together.
    pub max_image_entries: usize,
    /// Most bytes of captured files held from all layers together.
    pub max_image_captured_bytes: u64,
    /// Most captured files held from all layers together.
    pub max_image_captured_files: usize,
    /// Bounds on each Java archive (nested archives included).
    pub archive: crate::java::ArchiveLimits,
}

impl Default for Limits {
    fn default() -> Limits {
        Limits {
            max_layer_bytes: 16 * 1024 * 1024 * 1024,
            max_ratio: 100,
            ratio_floor: 512 * 1024 * 1024,
            max_entries: 2_000_000,
            max_analysis_file: 128 * 1024 * 1024,
            max_secret_file: 10 * 1024 * 1024,
            max_layer_captured_bytes: 256 * 1024 * 1024,
            max_layer_captured_files: 200_000,
            max_image_bytes: 32 * 1024 * 1024 * 1024,
            max_image_entries: 4_000_000,
            max_image_captured_bytes: 512 * 1024 * 1024,
            max_image_captured_files: 500_000,
            archive: crate::java::ArchiveLimits::default(),
        }
    }
}

/// What all the layers of one image have used so far (layers are read in parallel).
#[derive(Debug, Default)]
pub struct ImageBudget {
    bytes: AtomicU64,
    entries: AtomicU64,
    captured_bytes: AtomicU64,
    captured_files: AtomicU64,
}

impl ImageBudget {
    /// Nothing used yet.
    pub fn new() -> ImageBudget {
        ImageBudget::default()
    }
}

/// Add `n` to a shared counter; whether the total is still within `max`.
fn charge(counter: &AtomicU64, n: u64, max: u64) -> bool {
    counter.fetch_add(n, Ordering::Relaxed).saturating_add(n) <= max
}

/// The type of a layer entry.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum EntryKind {
    /// Regular file.
    File,
    /// Directory.
    Dir,
    /// Symbolic link.
    Symlink,
    /// Hard link.
    Hardlink,
    /// Character or block device.
    Device,
    /// FIFO.
    Fifo,
    /// Anything else.
    Other,
}

/// One entry of a layer (after normalisation).
#[derive(Debug, Clone)]
pub struct Entry {
    /// Path without a leading `/`.
    pub path: String,
    /// Type.
    pub kind: EntryKind,
    /// Size in bytes (regular files).
    pub size: u64,
    /// Mode bits (permissions, setuid/setgid/sticky).
    pub mode: u32,
}

/// What kind of captured file this is (decides how analysis parses it).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Capture {
    /// `etc/os-release`, `usr/lib/os-release`.
    OsRelease,
    /// `var/lib/dpkg/status`.
    DpkgStatus,
    /// `var/lib/dpkg/status.d/*` (distroless).
    DpkgStatusD,
    /// `var/lib/dpkg/info/*.list`: the files each package installed.
    DpkgList,
    /// `var/lib/dpkg/statoverride`: modes the administrator overrode.
    DpkgStatOverride,
    /// `lib/apk/db/installed`.
    ApkInstalled,
    /// `rpmdb.sqlite`.
    RpmSqlite,
    /// BerkeleyDB / ndb rpm databases (unsupported; flagged).
    RpmLegacy,
    /// Python `*.dist-info/METADATA`, `*.egg-info/PKG-INFO` or an `.egg-info` file.
    PythonMetadata,
    /// `node_modules/**/package.json` (a package's own manifest).
    NodePackage,
    /// Ruby `specifications/*.gemspec`.
    Gemspec,
    /// Java archive (`.jar`, `.war`, `.ear`).
    Jar,
    /// A possible ELF executable (Go build info, cargo-auditable).
    Binary,
}

/// A file captured from a layer.
#[derive(Debug, Clone)]
pub struct Captured {
    /// Path in the image.
    pub path: String,
    /// Kind.
    pub kind: Capture,
    /// Content (small files) — binaries and JARs are analysed in the worker and carry
    /// their packages instead.
    pub data: Vec<u8>,
    /// Packages found inside a binary or archive.
    pub packages: Vec<crate::packages::ImagePackage>,
}

/// Why an entry is suspicious.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Hostile {
    /// A path that climbs above the root (`../`).
    PathTraversal,
    /// A link whose target climbs above the root.
    LinkEscape,
    /// A device node.
    DeviceFile,
}

/// A suspicious entry.
#[derive(Debug, Clone)]
pub struct HostileEntry {
    /// The raw path.
    pub path: String,
    /// Why.
    pub what: Hostile,
    /// Details (link target …).
    pub detail: String,
}

/// A secret found in a layer file (location filled in later).
#[derive(Debug, Clone)]
pub struct LayerSecret {
    /// Path in the image.
    pub path: String,
    /// The secret scanner's finding (file location).
    pub finding: rampart_core::Finding,
}

/// Everything read from one layer.
#[derive(Debug, Default)]
pub struct LayerOutput {
    /// Entries (whiteouts excluded), in archive order.
    pub entries: Vec<Entry>,
    /// Paths deleted by `.wh.` entries.
    pub whiteouts: Vec<String>,
    /// Directories made opaque by `.wh..wh..opq`.
    pub opaque: Vec<String>,
    /// Captured files.
    pub captured: Vec<Captured>,
    /// Secrets found.
    pub secrets: Vec<LayerSecret>,
    /// Suspicious entries.
    pub hostile: Vec<HostileEntry>,
    /// Problems (the layer may be partial).
    pub errors: Vec<String>,
    /// Whether the layer hit a limit (decompression bomb, too many entries).
    pub limit_hit: Option<String>,
    /// Whether every byte was read and matched the digests the image names for it.
    /// Entries, packages and secrets of an unverified layer are not used.
    pub verified: bool,
    /// Whether reading the layer's bytes failed (an I/O or format error).
    pub read_failed: bool,
    /// Whether a capture budget ran out (reported once in `errors`).
    pub capture_stopped: bool,
    /// Bytes of captured files held.
    pub captured_bytes: u64,
    /// Captured files held.
    pub captured_files: usize,
    /// Decompressed bytes read.
    pub bytes: u64,
    /// Files scanned for secrets.
    pub secret_files: u64,
    /// Files skipped because they were too large to read.
    pub too_large: u64,
    /// Compression found (`gzip`, `zstd`, `none`).
    pub compression: &'static str,
}

/// Digest check done while reading.
struct HashingReader<R> {
    inner: R,
    hasher: Arc<Mutex<Option<Hasher>>>,
}

impl<R: Read> Read for HashingReader<R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let n = self.inner.read(buf)?;
        if let Ok(mut g) = self.hasher.lock() {
            if let Some(h) = g.as_mut() {
                h.update(&buf[..n]);
            }
        }
        Ok(n)
    }
}

struct CountingReader<R> {
    inner: R,
    count: Arc<AtomicU64>,
}

impl<R: Read> Read for CountingReader<R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let n = self.inner.read(buf)?;
        self.count.fetch_add(n as u64, Ordering::Relaxed);
        Ok(n)
    }
}

/// Marker in the io error raised by [`BombGuard`].
const LIMIT_MARK: &str = "rampart-layer-limit:";

/// Stops reading when the decompressed size or ratio is over the limits.
struct BombGuard<'a, R> {
    inner: R,
    read: u64,
    compressed: Arc<AtomicU64>,
    limits: Limits,
    image: &'a ImageBudget,
}

impl<R: Read> Read for BombGuard<'_, R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let n = self.inner.read(buf)?;
        self.read += n as u64;
        if !charge(&self.image.bytes, n as u64, self.limits.max_image_bytes) {
            return Err(io::Error::other(format!(
                "{LIMIT_MARK} the image's layers decompress to more than {} bytes together",
                self.limits.max_image_bytes
            )));
        }
        if self.read > self.limits.max_layer_bytes {
            return Err(io::Error::other(format!(
                "{LIMIT_MARK} decompressed size over {} bytes",
                self.limits.max_layer_bytes
            )));
        }
        if self.read > self.limits.ratio_floor {
            let c = self.compressed.load(Ordering::Relaxed).max(1);
            if self.read / c > self.limits.max_ratio {
                return Err(io::Error::other(format!(
                    "{LIMIT_MARK} decompression ratio over {}:1 ({} bytes from {c}): a decompression bomb",
                    self.limits.max_ratio, self.read
                )));
            }
        }
        Ok(n)
    }
}

/// Normalise a tar path: no leading `/` or `./`, `.` and `..` resolved. `None` when it
/// climbs above the root.
pub fn normalize(raw: &str) -> Option<String> {
    let mut parts: Vec<&str> = Vec::new();
    for c in raw.split('/') {
        match c {
            "" | "." => {}
            ".." => {
                parts.pop()?;
            }
            c => parts.push(c),
        }
    }
    Some(parts.join("/"))
}

/// Whether a link target (relative to the link's directory, or absolute = image root)
/// climbs above the root.
fn link_escapes(link_path: &str, target: &str) -> bool {
    if target.starts_with('/') {
        return normalize(target).is_none();
    }
    let dir = link_path.rsplit_once('/').map_or("", |(d, _)| d);
    normalize(&format!("{dir}/{target}")).is_none()
}

/// Directories whose text is documentation or data, not configuration: not scanned for
/// secrets.
const SECRET_SKIP_PREFIXES: &[&str] = &[
    "usr/share/doc/",
    "usr/share/man/",
    "usr/share/info/",
    "usr/share/locale/",
    "usr/share/i18n/",
    "usr/share/zoneinfo/",
    "usr/share/common-licenses/",
    "usr/share/perl/",
    "usr/share/perl5/",
    "usr/lib/x86_64-linux-gnu/perl",
    "usr/share/mime/",
    "usr/include/",
    "var/lib/dpkg/",
    "var/cache/debconf/",
    "var/lib/apt/lists/",
    "proc/",
    "sys/",
];

/// Which captured kind a path is, if any.
pub fn capture_kind(path: &str, mode: u32, size: u64) -> Option<Capture> {
    let name = path.rsplit('/').next().unwrap_or(path);
    match path {
        "etc/os-release" | "usr/lib/os-release" => return Some(Capture::OsRelease),
        "var/lib/dpkg/status" => return Some(Capture::DpkgStatus),
        "lib/apk/db/installed" => return Some(Capture::ApkInstalled),
        _ => {}
    }
    if path == "var/lib/dpkg/statoverride" {
        return Some(Capture::DpkgStatOverride);
    }
    if let Some(rest) = path.strip_prefix("var/lib/dpkg/info/") {
        if !rest.contains('/') && rest.ends_with(".list") {
            return Some(Capture::DpkgList);
        }
    }
    if let Some(rest) = path.strip_prefix("var/lib/dpkg/status.d/") {
        if !rest.contains('/') && !rest.ends_with(".md5sums") {
            return Some(Capture::DpkgStatusD);
        }
    }
    if name == "rpmdb.sqlite" && path.contains("lib/rpm") {
        return Some(Capture::RpmSqlite);
    }
    if (name == "Packages" || name == "Packages.db") && path.starts_with("var/lib/rpm") {
        return Some(Capture::RpmLegacy);
    }
    if (name == "METADATA" && parent_name(path).is_some_and(|p| p.ends_with(".dist-info")))
        || (name == "PKG-INFO" && parent_name(path).is_some_and(|p| p.ends_with(".egg-info")))
        || (name.ends_with(".egg-info")
            && (path.contains("-packages/") || path.contains("site-packages")))
    {
        return Some(Capture::PythonMetadata);
    }
    if name == "package.json" && is_node_package_manifest(path) {
        return Some(Capture::NodePackage);
    }
    if name.ends_with(".gemspec") && parent_name(path) == Some("specifications") {
        return Some(Capture::Gemspec);
    }
    let lower = name.to_ascii_lowercase();
    if lower.ends_with(".jar") || lower.ends_with(".war") || lower.ends_with(".ear") {
        return Some(Capture::Jar);
    }
    if mode & 0o111 != 0 && size >= 1024 {
        return Some(Capture::Binary);
    }
    None
}

fn parent_name(path: &str) -> Option<&str> {
    let (dir, _) = path.rsplit_once('/')?;
    Some(dir.rsplit('/').next().unwrap_or(dir))
}

/// `…/node_modules/<name>/package.json` or `…/node_modules/@scope/<name>/package.json`.
fn is_node_package_manifest(path: &str) -> bool {
    let parts: Vec<&str> = path.split('/').collect();
    let n = parts.len();
    (n >= 3 && parts[n - 3] == "node_modules" && !parts[n - 2].starts_with('@'))
        || (n >= 4 && parts[n - 4] == "node_modules" && parts[n - 3].starts_with('@'))
}

/// Context a layer worker needs.
pub struct LayerContext<'a> {
    /// Limits.
    pub limits: &'a Limits,
    /// Secret scanner, unless secrets are skipped.
    pub secrets: Option<&'a rampart_secrets::SecretScanner>,
    /// What the image's layers have used together.
    pub budget: &'a ImageBudget,
}

/// Read one layer.
pub fn read_layer(blob: &LayerBlob, ctx: &LayerContext<'_>) -> LayerOutput {
    let mut out = LayerOutput::default();
    let raw = match blob.loc.open() {
        Ok(r) => r,
        Err(e) => {
            out.errors.push(e.to_string());
            return out;
        }
    };
    // The uncompressed tar is checked against the config's diff_id too: the image id
    // (the config digest) commits to it.
    let tar_digest = match &blob.verify {
        Verify::Uncompressed(d) => Some(d.clone()),
        _ => blob.diff_id.clone(),
    };
    let tar_hash = Arc::new(Mutex::new(match &tar_digest {
        Some(d) => match Hasher::for_digest(d) {
            Ok(h) => Some(h),
            Err(e) => {
                out.errors.push(format!("diff_id: {e}"));
                return out;
            }
        },
        None => None,
    }));
    let raw_hash = match &blob.verify {
        Verify::Raw(d) => match Hasher::for_digest(d) {
            Ok(h) => Arc::new(Mutex::new(Some(h))),
            Err(e) => {
                out.errors.push(format!("layer digest: {e}"));
                return out;
            }
        },
        _ => Arc::new(Mutex::new(None)),
    };
    let compressed = Arc::new(AtomicU64::new(0));
    let counted = CountingReader {
        inner: HashingReader {
            inner: raw,
            hasher: raw_hash.clone(),
        },
        count: compressed.clone(),
    };
    let mut buffered = BufReader::with_capacity(256 * 1024, counted);
    let magic = match buffered.fill_buf() {
        Ok(b) => b.get(..4).map(<[u8]>::to_vec).unwrap_or_else(|| b.to_vec()),
        Err(e) => {
            out.errors.push(format!("cannot read layer: {e}"));
            return out;
        }
    };
    let decoded: Box<dyn Read> = if magic.starts_with(&[0x1f, 0x8b]) {
        out.compression = "gzip";
        Box::new(flate2::bufread::MultiGzDecoder::new(buffered))
    } else if magic.starts_with(&[0x28, 0xb5, 0x2f, 0xfd]) {
        out.compression = "zstd";
        match ruzstd::decoding::StreamingDecoder::new(buffered) {
            Ok(d) => Box::new(d),
            Err(e) => {
                out.errors.push(format!("invalid zstd stream: {e}"));
                return out;
            }
        }
    } else {
        out.compression = "none";
        Box::new(buffered)
    };
    let guarded = BombGuard {
        inner: HashingReader {
            inner: decoded,
            hasher: tar_hash.clone(),
        },
        read: 0,
        compressed: compressed.clone(),
        limits: ctx.limits.clone(),
        image: ctx.budget,
    };
    let mut archive = tar::Archive::new(guarded);
    let complete = walk_entries(&mut archive, ctx, &mut out);
    // Read to the end so the digest covers every byte (the tar may have padding after
    // its end-of-archive blocks).
    let mut guard = archive.into_inner();
    if complete {
        if let Err(e) = io::copy(&mut guard, &mut io::sink()) {
            note_read_error(&e, &mut out);
        }
    }
    out.bytes = guard.read;
    let raw_digest = match &blob.verify {
        Verify::Raw(d) => Some(d.clone()),
        _ => None,
    };
    // Budget errors about package files (JAR bombs, capture budgets) do not make the
    // bytes untrustworthy; read failures and limits do (the digest was not computed).
    let mut verified = complete
        && out.limit_hit.is_none()
        && !out.read_failed
        && (raw_digest.is_some() || tar_digest.is_some() || blob.verify == Verify::Done);
    if complete && out.limit_hit.is_none() {
        for (slot, expected, what) in [
            (&raw_hash, &raw_digest, "blob"),
            (&tar_hash, &tar_digest, "uncompressed tar (diff_id)"),
        ] {
            let h = slot.lock().ok().and_then(|mut g| g.take());
            let (Some(h), Some(d)) = (h, expected) else {
                continue;
            };
            let actual = h.finish();
            if &actual != d {
                verified = false;
                out.errors.push(format!(
                    "digest mismatch of the {what}: expected {d}, got {actual}: the layer's content is not what the image names, so its files, packages and secrets were not used"
                ));
            }
        }
    }
    out.verified = verified;
    out
}

fn note_read_error(e: &io::Error, out: &mut LayerOutput) {
    let msg = e.to_string();
    if let Some(i) = msg.find(LIMIT_MARK) {
        out.limit_hit = Some(msg[i + LIMIT_MARK.len()..].trim().to_string());
    } else {
        out.read_failed = true;
        out.errors.push(format!("layer read failed: {msg}"));
    }
}

/// Walk the tar entries; false when reading stopped early.
fn walk_entries<R: Read>(
    archive: &mut tar::Archive<R>,
    ctx: &LayerContext<'_>,
    out: &mut LayerOutput,
) -> bool {
    let entries = match archive.entries() {
        Ok(e) => e,
        Err(e) => {
            note_read_error(&e, out);
            return false;
        }
    };
    for (n, entry) in entries.enumerate() {
        if n >= ctx.limits.max_entries {
            out.limit_hit = Some(format!("more than {} entries", ctx.limits.max_entries));
            return false;
        }
        if !charge(&ctx.budget.entries, 1, ctx.limits.max_image_entries as u64) {
            out.limit_hit = Some(format!(
                "the image's layers hold more than {} entries together",
                ctx.limits.max_image_entries
            ));
            return false;
        }
        let mut entry = match entry {
            Ok(e) => e,
            Err(e) => {
                note_read_error(&e, out);
                return false;
            }
        };
        let raw_path = String::from_utf8_lossy(&entry.path_bytes()).into_owned();
        let Some(path) = normalize(&raw_path) else {
            out.hostile.push(HostileEntry {
                path: raw_path,
                what: Hostile::PathTraversal,
                detail: "entry path climbs above the image root".into(),
            });
            continue;
        };
        if path.is_empty() {
            continue;
        }
        let header = entry.header();
        let mode = header.mode().unwrap_or(0);
        let size = header.size().unwrap_or(0);
        let et = header.entry_type();
        let kind = match et {
            tar::EntryType::Regular | tar::EntryType::Continuous => EntryKind::File,
            tar::EntryType::Directory => EntryKind::Dir,
            tar::EntryType::Symlink => EntryKind::Symlink,
            tar::EntryType::Link => EntryKind::Hardlink,
            tar::EntryType::Char | tar::EntryType::Block => EntryKind::Device,
            tar::EntryType::Fifo => EntryKind::Fifo,
            _ => EntryKind::Other,
        };
        let name = path.rsplit('/').next().unwrap_or(&path);
        if let Some(target) = name.strip_prefix(".wh.") {
            let dir = path.rsplit_once('/').map_or("", |(d, _)| d);
            if target == ".wh..opq" {
                out.opaque.push(dir.to_string());
            } else if !target.is_empty() {
                out.whiteouts.push(if dir.is_empty() {
                    target.to_string()
                } else {
                    format!("{dir}/{target}")
                });
            }
            continue;
        }
        match kind {
            EntryKind::Symlink | EntryKind::Hardlink => {
                let target = entry
                    .link_name_bytes()
                    .map(|b| String::from_utf8_lossy(&b).into_owned())
                    .unwrap_or_default();
                let escapes = if kind == EntryKind::Hardlink {
                    normalize(&target).is_none()
                } else {
                    link_escapes(&path, &target)
                };
                if escapes {
                    out.hostile.push(HostileEntry {
                        path: path.clone(),
                        what: Hostile::LinkEscape,
                        detail: format!("link target `{target}` climbs above the image root"),
                    });
                }
            }
            EntryKind::Device => {
                let (maj, min) = (
                    header.device_major().ok().flatten().unwrap_or(0),
                    header.device_minor().ok().flatten().unwrap_or(0),
                );
                out.hostile.push(HostileEntry {
                    path: path.clone(),
                    what: Hostile::DeviceFile,
                    detail: format!(
                        "{} device {maj}:{min}",
                        if et == tar::EntryType::Char {
                            "character"
                        } else {
                            "block"
                        }
                    ),
                });
            }
            _ => {}
        }
        if kind == EntryKind::File {
            if let Err(e) = read_file(&mut entry, &path, mode, size, ctx, out) {
                note_read_error(&e, out);
                out.entries.push(Entry {
                    path,
                    kind,
                    size,
                    mode,
                });
                return false;
            }
        }
        out.entries.push(Entry {
            path,
            kind,
            size,
            mode,
        });
    }
    true
}

fn read_file<R: Read>(
    entry: &mut R,
    path: &str,
    mode: u32,
    size: u64,
    ctx: &LayerContext<'_>,
    out: &mut LayerOutput,
) -> io::Result<()> {
    let mut capture = capture_kind(path, mode, size);
    if capture.is_some() && !capture_allowed(out, ctx, path, capture, size) {
        capture = None;
    }
    let scan_secrets = ctx.secrets.is_some()
        && size > 0
        && size <= ctx.limits.max_secret_file
        && !SECRET_SKIP_PREFIXES.iter().any(|p| path.starts_with(p));
    if capture.is_none() && !scan_secrets {
        return Ok(());
    }
    let cap_limit = match capture {
        Some(Capture::Binary | Capture::Jar | Capture::RpmSqlite) => ctx.limits.max_analysis_file,
        Some(Capture::RpmLegacy) => 0,
        Some(_) => 64 * 1024 * 1024,
        None => 0,
    };
    let limit = cap_limit.max(if scan_secrets {
        ctx.limits.max_secret_file
    } else {
        0
    });
    if size > limit {
        if capture.is_some() {
            out.too_large += 1;
        }
        if let Some(k) = capture.filter(|k| !matches!(k, Capture::Binary | Capture::RpmLegacy)) {
            // A package database or archive that is not read leaves its packages
            // unchecked: say so (a binary over the limit may not even be an ELF file).
            out.errors.push(format!(
                "`{path}` ({size} bytes) is over the {cap_limit} byte limit for {}: not read, its packages were not checked",
                if k == Capture::Jar { "Java archives" } else { "package files" }
            ));
        }
        if capture == Some(Capture::RpmLegacy) {
            out.captured.push(Captured {
                path: path.to_string(),
                kind: Capture::RpmLegacy,
                data: Vec::new(),
                packages: Vec::new(),
            });
        }
        return Ok(());
    }
    // A binary is only worth reading whole when it is an ELF file; peek first.
    let mut data = Vec::with_capacity(size.min(16 * 1024 * 1024) as usize);
    if capture == Some(Capture::Binary) && !scan_secrets {
        let mut head = [0u8; 4];
        let mut got = 0;
        while got < 4 {
            let n = entry.read(&mut head[got..])?;
            if n == 0 {
                break;
            }
            got += n;
        }
        data.extend_from_slice(&head[..got]);
        if &head[..got] != b"\x7fELF" {
            return Ok(());
        }
    }
    entry
        .take(limit.saturating_sub(data.len() as u64))
        .read_to_end(&mut data)?;
    if scan_secrets && !rampart_core::walk::is_binary(&data) {
        if let Some(scanner) = ctx.secrets {
            out.secret_files += 1;
            let (findings, _, problems) = scanner.scan_buffer_checked(path, &data, false);
            // A Secret manifest that could not be parsed was not checked: say so.
            out.errors
                .extend(problems.into_iter().map(|p| p.to_string()));
            for f in findings {
                out.secrets.push(LayerSecret {
                    path: path.to_string(),
                    finding: f,
                });
            }
        }
    }
    match capture {
        Some(Capture::Binary) if data.starts_with(b"\x7fELF") => {
            let pkgs = crate::binary::packages(path, &data);
            if !pkgs.is_empty() {
                out.captured.push(Captured {
                    path: path.to_string(),
                    kind: Capture::Binary,
                    data: Vec::new(),
                    packages: pkgs,
                });
            }
        }
        Some(Capture::Binary) => {}
        Some(Capture::Jar) => {
            let found = crate::java::scan_archive(path, &data, &ctx.limits.archive);
            out.errors.extend(found.errors);
            out.captured.push(Captured {
                path: path.to_string(),
                kind: Capture::Jar,
                data: Vec::new(),
                packages: found.packages,
            });
        }
        Some(k) => out.captured.push(Captured {
            path: path.to_string(),
            kind: k,
            data,
            packages: Vec::new(),
        }),
        None => {}
    }
    Ok(())
}

/// Charge a captured file to the layer's and the image's budgets. The first file over
/// a budget is reported (naming it) and nothing more is captured from this layer.
fn capture_allowed(
    out: &mut LayerOutput,
    ctx: &LayerContext<'_>,
    path: &str,
    capture: Option<Capture>,
    size: u64,
) -> bool {
    if out.capture_stopped {
        return false;
    }
    // Binaries and archives are analysed in place and keep only their packages.
    let held = match capture {
        Some(Capture::Binary | Capture::Jar | Capture::RpmLegacy) | None => 0,
        Some(_) => size,
    };
    let l = ctx.limits;
    out.captured_files += 1;
    out.captured_bytes = out.captured_bytes.saturating_add(held);
    let why = if out.captured_files > l.max_layer_captured_files {
        Some(format!(
            "more than {} package files in this layer",
            l.max_layer_captured_files
        ))
    } else if out.captured_bytes > l.max_layer_captured_bytes {
        Some(format!(
            "package files in this layer over the {} byte budget",
            l.max_layer_captured_bytes
        ))
    } else if !charge(
        &ctx.budget.captured_files,
        1,
        l.max_image_captured_files as u64,
    ) {
        Some(format!(
            "more than {} package files in the image",
            l.max_image_captured_files
        ))
    } else if !charge(&ctx.budget.captured_bytes, held, l.max_image_captured_bytes) {
        Some(format!(
            "package files in the image over the {} byte budget",
            l.max_image_captured_bytes
        ))
    } else {
        None
    };
    match why {
        None => true,
        Some(why) => {
            out.capture_stopped = true;
            out.errors.push(format!(
                "capture budget exhausted at `{path}`: {why}; package files after it in this layer were not read"
            ));
            false
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn normalising() {
        assert_eq!(normalize("./etc/passwd").as_deref(), Some("etc/passwd"));
        assert_eq!(normalize("/a/./b/../c").as_deref(), Some("a/c"));
        assert_eq!(normalize("../../etc/shadow"), None);
        assert_eq!(normalize("a/../../x"), None);
        assert!(link_escapes("a/b", "../../../etc"));
        assert!(!link_escapes("usr/bin/x", "../lib/y"));
        assert!(!link_escapes("etc/alternatives/x", "/usr/bin/x"));
    }

    #[test]
    fn captures() {
        assert_eq!(
            capture_kind("var/lib/dpkg/status", 0o644, 10),
            Some(Capture::DpkgStatus)
        );
        assert_eq!(
            capture_kind(
                "usr/lib/python3/dist-packages/requests-2.0.dist-info/METADATA",
                0o644,
                10
            ),
            Some(Capture::PythonMetadata)
        );
        assert_eq!(
            capture_kind("app/node_modules/@types/node/package.json", 0o644, 10),
            Some(Capture::NodePackage)
        );
        assert_eq!(
            capture_kind("app/node_modules/lodash/package.json", 0o644, 10),
            Some(Capture::NodePackage)
        );
        assert_eq!(
            capture_kind("app/node_modules/lodash/fp/package.json", 0o644, 10),
            None
        );
        assert_eq!(capture_kind("app/package.json", 0o644, 10), None);
        assert_eq!(
            capture_kind("usr/bin/ls", 0o755, 100_000),
            Some(Capture::Binary)
        );
        assert_eq!(
            capture_kind("opt/app/lib/x.JAR", 0o644, 10),
            Some(Capture::Jar)
        );
    }
}
