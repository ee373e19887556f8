//! Image sources: OCI layout directories, `docker save` archives, OCI archives and
//! registry references, recognised by themselves or forced with a prefix.

use crate::error::ImageError;
use crate::oci::{self, Descriptor, ImageConfig, Index, Manifest, Platform};
use sha2::{Digest, Sha256, Sha512};
use std::collections::HashMap;
use std::fs::File;
use std::io::{Read, Seek, SeekFrom};
use std::path::{Path, PathBuf};

/// Largest manifest / index / config document read (bytes).
pub const MAX_DOCUMENT: u64 = 8 * 1024 * 1024;

/// The kind of image source.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum SourceKind {
    /// An OCI image layout directory (`oci-layout`, `index.json`, `blobs/`).
    OciLayout,
    /// A `docker save` tar (`manifest.json`).
    DockerArchive,
    /// A tar of an OCI image layout.
    OciArchive,
    /// A registry reference pulled over the OCI distribution API.
    Registry,
}

impl SourceKind {
    /// The prefix that forces this kind.
    pub fn prefix(self) -> &'static str {
        match self {
            SourceKind::OciLayout => "oci",
            SourceKind::DockerArchive => "docker-archive",
            SourceKind::OciArchive => "oci-archive",
            SourceKind::Registry => "registry",
        }
    }
}

/// A source argument after detection: its kind, the path or reference, and the tag or
/// digest asked for inside a layout or archive.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SourceSpec {
    /// The kind.
    pub kind: SourceKind,
    /// Path (layout, archive) or reference (registry).
    pub location: String,
    /// Tag (layout ref name, archive RepoTag) to select, if any.
    pub selector: Option<String>,
}

/// Whether `path` is a container image Rampart can read (an OCI layout directory, a
/// `docker save` archive or an OCI archive), as opposed to a source tree.
pub fn looks_like_image(path: &Path) -> bool {
    if path.is_dir() {
        return is_layout_dir(path);
    }
    if path.is_file() {
        return archive_kind(path).is_some();
    }
    false
}

fn is_layout_dir(path: &Path) -> bool {
    path.join("oci-layout").is_file()
        || (path.join("index.json").is_file() && path.join("blobs").is_dir())
}

/// What kind of archive a tar file is, if it is an image archive.
fn archive_kind(path: &Path) -> Option<SourceKind> {
    let file = File::open(path).ok()?;
    let mut ar = tar::Archive::new(file);
    let mut oci = false;
    let mut docker = false;
    for e in ar.entries_with_seek().ok()?.take(100_000) {
        let e = e.ok()?;
        let name = e.path_bytes();
        let name = String::from_utf8_lossy(&name);
        match name.trim_start_matches("./") {
            "oci-layout" => oci = true,
            "manifest.json" => docker = true,
            _ => {}
        }
    }
    if oci {
        Some(SourceKind::OciArchive)
    } else if docker {
        Some(SourceKind::DockerArchive)
    } else {
        None
    }
}

/// Recognise what `arg` names. Prefixes (`oci:`, `docker-archive:`, `oci-archive:`,
/// `registry:`) force the kind; otherwise an existing directory is a layout, an existing
/// file an archive (by its contents), `DIR:tag` a layout with a tag, and anything else a
/// registry reference.
pub fn detect(arg: &str) -> Result<SourceSpec, ImageError> {
    for kind in [
        SourceKind::OciLayout,
        SourceKind::DockerArchive,
        SourceKind::OciArchive,
        SourceKind::Registry,
    ] {
        if let Some(rest) = arg
            .strip_prefix(kind.prefix())
            .and_then(|r| r.strip_prefix(':'))
        {
            if kind == SourceKind::Registry {
                return Ok(SourceSpec {
                    kind,
                    location: rest.trim_start_matches("//").to_string(),
                    selector: None,
                });
            }
            let (loc, sel) = split_selector(rest);
            return Ok(SourceSpec {
                kind,
                location: loc,
                selector: sel,
            });
        }
    }
    let p = Path::new(arg);
    if p.is_dir() {
        if is_layout_dir(p) {
            return Ok(SourceSpec {
                kind: SourceKind::OciLayout,
                location: arg.to_string(),
                selector: None,
            });
        }
        return Err(ImageError::Source(format!(
            "{arg}: a directory but not an OCI image layout (no oci-layout or index.json)"
        )));
    }
    if p.is_file() {
        return match archive_kind(p) {
            Some(kind) => Ok(SourceSpec {
                kind,
                location: arg.to_string(),
                selector: None,
            }),
            None => Err(ImageError::Source(format!(
                "{arg}: not a docker-archive or OCI archive tar (no manifest.json or oci-layout)"
            ))),
        };
    }
    if let Some((dir, tag)) = arg.rsplit_once(':') {
        let d = Path::new(dir);
        if d.is_dir() && is_layout_dir(d) {
            return Ok(SourceSpec {
                kind: SourceKind::OciLayout,
                location: dir.to_string(),
                selector: Some(tag.to_string()),
            });
        }
        if d.is_file() {
            if let Some(kind) = archive_kind(d) {
                return Ok(SourceSpec {
                    kind,
                    location: dir.to_string(),
                    selector: Some(tag.to_string()),
                });
            }
        }
    }
    if arg.starts_with('/') || arg.starts_with("./") || arg.starts_with("../") {
        return Err(ImageError::Source(format!(
            "{arg}: no such file or directory"
        )));
    }
    Ok(SourceSpec {
        kind: SourceKind::Registry,
        location: arg.to_string(),
        selector: None,
    })
}

/// `path:tag` → (`path`, `tag`) when the part before the last `:` exists.
fn split_selector(rest: &str) -> (String, Option<String>) {
    if Path::new(rest).exists() {
        return (rest.to_string(), None);
    }
    match rest.rsplit_once(':') {
        Some((p, t)) if Path::new(p).exists() => (p.to_string(), Some(t.to_string())),
        _ => (rest.to_string(), None),
    }
}

/// Where a blob's bytes are.
#[derive(Debug, Clone)]
pub enum BlobLoc {
    /// A whole file.
    File(PathBuf),
    /// A slice of a tar file.
    TarSlice {
        /// The archive.
        file: PathBuf,
        /// Offset of the data.
        offset: u64,
        /// Length.
        size: u64,
    },
}

impl BlobLoc {
    /// Open the blob for reading.
    pub fn open(&self) -> Result<Box<dyn Read + Send>, ImageError> {
        match self {
            BlobLoc::File(p) => Ok(Box::new(File::open(p).map_err(|e| ImageError::io(p, e))?)),
            BlobLoc::TarSlice { file, offset, size } => {
                let mut f = File::open(file).map_err(|e| ImageError::io(file, e))?;
                f.seek(SeekFrom::Start(*offset))
                    .map_err(|e| ImageError::io(file, e))?;
                Ok(Box::new(f.take(*size)))
            }
        }
    }

    /// Read a small blob whole (at most `limit` bytes).
    pub fn read_all(&self, limit: u64, what: &str) -> Result<Vec<u8>, ImageError> {
        let mut buf = Vec::new();
        self.open()?
            .take(limit + 1)
            .read_to_end(&mut buf)
            .map_err(|e| ImageError::io(what, e))?;
        if buf.len() as u64 > limit {
            return Err(ImageError::TooLarge {
                what: what.to_string(),
                limit,
            });
        }
        Ok(buf)
    }
}

/// What a layer's bytes are checked against.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Verify {
    /// The digest of the blob as stored (compressed).
    Raw(String),
    /// The digest of the uncompressed tar (`diff_id`).
    Uncompressed(String),
    /// Already checked (registry downloads are verified as they arrive).
    Done,
}

/// One layer of an opened image.
#[derive(Debug, Clone)]
pub struct LayerBlob {
    /// The layer's digest as the manifest names it (for archives: the diff id).
    pub digest: String,
    /// The uncompressed digest from the config, when known.
    pub diff_id: Option<String>,
    /// Media type, when known.
    pub media_type: String,
    /// Stored size.
    pub size: u64,
    /// Where the bytes are.
    pub loc: BlobLoc,
    /// What to verify while reading.
    pub verify: Verify,
}

/// An image opened for reading: config and layers; the layers are read later, as
/// streams.
#[derive(Debug)]
pub struct OpenedImage {
    /// The kind of source.
    pub kind: SourceKind,
    /// The reference as given (for reports).
    pub reference: String,
    /// The tag, when the reference has one.
    pub tag: Option<String>,
    /// Digest of the manifest, when known.
    pub manifest_digest: Option<String>,
    /// Digest of the config blob.
    pub config_digest: String,
    /// The parsed config.
    pub config: ImageConfig,
    /// Layers, bottom first.
    pub layers: Vec<LayerBlob>,
    /// Temporary storage of pulled blobs (deleted on drop).
    pub(crate) _temp: Option<tempfile::TempDir>,
}

/// Options for opening a source.
#[derive(Debug, Clone)]
pub struct OpenOptions {
    /// Platform to select from a multi-arch index.
    pub platform: Platform,
    /// Use plain HTTP for the registry.
    pub insecure: bool,
    /// Largest total of blobs pulled from a registry (bytes).
    pub max_pull_bytes: u64,
    /// Docker config file with `auths` (default `$DOCKER_CONFIG/config.json` or
    /// `~/.docker/config.json`).
    pub docker_config: Option<PathBuf>,
    /// Directory for pulled blobs (default: the system temp dir).
    pub temp_dir: Option<PathBuf>,
    /// CA certificates (PEM) trusted for registry HTTPS instead of the system's.
    pub ca_file: Option<PathBuf>,
}

impl Default for OpenOptions {
    fn default() -> OpenOptions {
        OpenOptions {
            platform: Platform {
                os: "linux".into(),
                architecture: "amd64".into(),
                variant: None,
            },
            insecure: false,
            max_pull_bytes: 8 * 1024 * 1024 * 1024,
            docker_config: None,
            temp_dir: None,
            ca_file: None,
        }
    }
}

/// Open an image from a source argument (see [`detect`]).
pub fn open(arg: &str, opts: &OpenOptions) -> Result<OpenedImage, ImageError> {
    let spec = detect(arg)?;
    open_spec(&spec, arg, opts)
}

/// Open a detected source.
pub fn open_spec(
    spec: &SourceSpec,
    display: &str,
    opts: &OpenOptions,
) -> Result<OpenedImage, ImageError> {
    let mut img = match spec.kind {
        SourceKind::OciLayout => {
            let root = PathBuf::from(&spec.location);
            let store = Store::Dir(root);
            open_layout(&store, spec.selector.as_deref(), &opts.platform)?
        }
        SourceKind::OciArchive => {
            let store = Store::Tar(TarIndex::build(Path::new(&spec.location))?);
            open_layout(&store, spec.selector.as_deref(), &opts.platform)?
        }
        SourceKind::DockerArchive => {
            let idx = TarIndex::build(Path::new(&spec.location))?;
            open_docker_archive(&idx, spec.selector.as_deref())?
        }
        SourceKind::Registry => crate::registry::pull(&spec.location, opts)?,
    };
    img.kind = spec.kind;
    img.reference = display.to_string();
    if img.tag.is_none() {
        img.tag = spec.selector.clone();
    }
    Ok(img)
}

/// Check a digest's form (`sha256:` + 64 hex or `sha512:` + 128 hex), which also keeps
/// blob paths inside `blobs/`.
pub fn check_digest(d: &str) -> Result<(&str, &str), ImageError> {
    let (alg, hex) = d
        .split_once(':')
        .ok_or_else(|| ImageError::malformed("digest", format!("`{d}` has no algorithm")))?;
    let len = match alg {
        "sha256" => 64,
        "sha512" => 128,
        _ => {
            return Err(ImageError::malformed(
                "digest",
                format!("`{d}`: unsupported algorithm {alg}"),
            ))
        }
    };
    if hex.len() != len || !hex.bytes().all(|b| matches!(b, b'0'..=b'9' | b'a'..=b'f')) {
        return Err(ImageError::malformed(
            "digest",
            format!("`{d}` is malformed"),
        ));
    }
    Ok((alg, hex))
}

/// Incremental digest of `sha256:`/`sha512:` form.
#[derive(Clone)]
pub enum Hasher {
    /// SHA-256.
    Sha256(Sha256),
    /// SHA-512.
    Sha512(Sha512),
}

impl Hasher {
    /// A hasher for the algorithm of `digest`.
    pub fn for_digest(digest: &str) -> Result<Hasher, ImageError> {
        let (alg, _) = check_digest(digest)?;
        Ok(if alg == "sha512" {
            Hasher::Sha512(Sha512::new())
        } else {
            Hasher::Sha256(Sha256::new())
        })
    }

    /// Feed bytes.
    pub fn update(&mut self, b: &[u8]) {
        match self {
            Hasher::Sha256(h) => h.update(b),
            Hasher::Sha512(h) => h.update(b),
        }
    }

    /// `alg:hex`.
    pub fn finish(self) -> String {
        match self {
            Hasher::Sha256(h) => format!("sha256:{}", hex::encode(h.finalize())),
            Hasher::Sha512(h) => format!("sha512:{}", hex::encode(h.finalize())),
        }
    }
}

/// Check bytes against a digest.
pub fn verify_bytes(bytes: &[u8], digest: &str, what: &str) -> Result<(), ImageError> {
    let mut h = Hasher::for_digest(digest)?;
    h.update(bytes);
    let actual = h.finish();
    if actual != digest {
        return Err(ImageError::DigestMismatch {
            what: what.to_string(),
            expected: digest.to_string(),
            actual,
        });
    }
    Ok(())
}

/// The entries of a tar archive, by name, for random access without extraction.
#[derive(Debug)]
pub struct TarIndex {
    path: PathBuf,
    entries: HashMap<String, (u64, u64)>,
}

impl TarIndex {
    /// Index an archive's regular files.
    pub fn build(path: &Path) -> Result<TarIndex, ImageError> {
        let file = File::open(path).map_err(|e| ImageError::io(path, e))?;
        let mut ar = tar::Archive::new(file);
        let mut entries = HashMap::new();
        let iter = ar
            .entries_with_seek()
            .map_err(|e| ImageError::io(path, e))?;
        for e in iter {
            let e = e.map_err(|e| ImageError::io(path, e))?;
            if !matches!(
                e.header().entry_type(),
                tar::EntryType::Regular | tar::EntryType::Continuous
            ) {
                continue;
            }
            let name = String::from_utf8_lossy(&e.path_bytes()).into_owned();
            let name = name.trim_start_matches("./").to_string();
            entries.insert(name, (e.raw_file_position(), e.size()));
            if entries.len() > 1_000_000 {
                return Err(ImageError::Source(format!(
                    "{}: more than a million entries",
                    path.display()
                )));
            }
        }
        Ok(TarIndex {
            path: path.to_path_buf(),
            entries,
        })
    }

    /// Where an entry's bytes are.
    pub fn get(&self, name: &str) -> Option<BlobLoc> {
        let name = name.trim_start_matches("./");
        self.entries
            .get(name)
            .map(|(offset, size)| BlobLoc::TarSlice {
                file: self.path.clone(),
                offset: *offset,
                size: *size,
            })
    }
}

/// Blob storage of a layout (directory or tar).
enum Store {
    Dir(PathBuf),
    Tar(TarIndex),
}

impl Store {
    fn file(&self, name: &str) -> Option<BlobLoc> {
        match self {
            Store::Dir(root) => {
                let p = root.join(name);
                p.is_file().then_some(BlobLoc::File(p))
            }
            Store::Tar(idx) => idx.get(name),
        }
    }

    fn blob(&self, digest: &str) -> Result<BlobLoc, ImageError> {
        let (alg, hex) = check_digest(digest)?;
        self.file(&format!("blobs/{alg}/{hex}"))
            .ok_or_else(|| ImageError::Source(format!("blob {digest} is missing from the layout")))
    }

    fn document(&self, digest: &str, what: &str) -> Result<Vec<u8>, ImageError> {
        let bytes = self.blob(digest)?.read_all(MAX_DOCUMENT, what)?;
        verify_bytes(&bytes, digest, what)?;
        Ok(bytes)
    }
}

fn parse_json<T: serde::de::DeserializeOwned>(bytes: &[u8], what: &str) -> Result<T, ImageError> {
    serde_json::from_slice(bytes).map_err(|e| ImageError::malformed(what, e))
}

const REF_NAME: &str = "org.opencontainers.image.ref.name";

fn open_layout(
    store: &Store,
    selector: Option<&str>,
    platform: &Platform,
) -> Result<OpenedImage, ImageError> {
    let index_bytes = store
        .file("index.json")
        .ok_or_else(|| ImageError::Source("OCI layout has no index.json".into()))?
        .read_all(MAX_DOCUMENT, "index.json")?;
    let index: Index = parse_json(&index_bytes, "index.json")?;
    let desc: Descriptor = match selector {
        Some(sel) if sel.starts_with("sha256:") || sel.starts_with("sha512:") => index
            .manifests
            .iter()
            .find(|d| d.digest == sel)
            .cloned()
            .unwrap_or(Descriptor {
                digest: sel.to_string(),
                ..Descriptor::default()
            }),
        Some(tag) => index
            .manifests
            .iter()
            .find(|d| d.annotations.get(REF_NAME).map(String::as_str) == Some(tag))
            .cloned()
            .ok_or_else(|| {
                let tags: Vec<&str> = index
                    .manifests
                    .iter()
                    .filter_map(|d| d.annotations.get(REF_NAME).map(String::as_str))
                    .collect();
                ImageError::Source(format!(
                    "no image tagged `{tag}` in the layout (tags: {})",
                    if tags.is_empty() {
                        "none".into()
                    } else {
                        tags.join(", ")
                    }
                ))
            })?,
        None => {
            let distinct: std::collections::BTreeSet<&str> =
                index.manifests.iter().map(|d| d.digest.as_str()).collect();
            if distinct.len() == 1 {
                index.manifests[0].clone()
            } else if index.manifests.iter().all(|d| d.platform.is_none()) {
                let tags: Vec<&str> = index
                    .manifests
                    .iter()
                    .filter_map(|d| d.annotations.get(REF_NAME).map(String::as_str))
                    .collect();
                return Err(ImageError::Source(format!(
                    "the layout holds {} images: pick one with DIR:tag (tags: {})",
                    distinct.len(),
                    if tags.is_empty() {
                        "none".into()
                    } else {
                        tags.join(", ")
                    }
                )));
            } else {
                oci::select_platform(&index, platform)?.clone()
            }
        }
    };
    let tag = desc.annotations.get(REF_NAME).cloned();
    let (manifest_digest, manifest) = resolve_manifest(store, desc, platform, 0)?;
    let config_bytes = store.document(&manifest.config.digest, "image config")?;
    let config: ImageConfig = parse_json(&config_bytes, "image config")?;
    let diff_ids = config
        .rootfs
        .as_ref()
        .map(|r| r.diff_ids.clone())
        .unwrap_or_default();
    let mut layers = Vec::new();
    for (i, l) in manifest.layers.iter().enumerate() {
        layers.push(LayerBlob {
            digest: l.digest.clone(),
            diff_id: diff_ids.get(i).cloned(),
            media_type: l.media_type.clone(),
            size: l.size,
            loc: store.blob(&l.digest)?,
            verify: Verify::Raw(l.digest.clone()),
        });
    }
    Ok(OpenedImage {
        kind: SourceKind::OciLayout,
        reference: String::new(),
        tag,
        manifest_digest: Some(manifest_digest),
        config_digest: manifest.config.digest.clone(),
        config,
        layers,
        _temp: None,
    })
}

fn resolve_manifest(
    store: &Store,
    desc: Descriptor,
    platform: &Platform,
    depth: usize,
) -> Result<(String, Manifest), ImageError> {
    if depth > 4 {
        return Err(ImageError::malformed("index", "indexes nested too deeply"));
    }
    let bytes = store.document(&desc.digest, "manifest")?;
    let doc: serde_json::Value = parse_json(&bytes, "manifest")?;
    let mt = doc
        .get("mediaType")
        .and_then(|v| v.as_str())
        .map(str::to_string)
        .or(Some(desc.media_type.clone()).filter(|s| !s.is_empty()));
    if oci::is_index(mt.as_deref(), &doc) {
        let idx: Index =
            serde_json::from_value(doc).map_err(|e| ImageError::malformed("index", e))?;
        let d = oci::select_platform(&idx, platform)?.clone();
        return resolve_manifest(store, d, platform, depth + 1);
    }
    let m: Manifest =
        serde_json::from_value(doc).map_err(|e| ImageError::malformed("manifest", e))?;
    Ok((desc.digest, m))
}

#[derive(serde::Deserialize)]
struct DockerManifestEntry {
    #[serde(rename = "Config")]
    config: String,
    #[serde(rename = "RepoTags", default)]
    repo_tags: Option<Vec<String>>,
    #[serde(rename = "Layers", default)]
    layers: Vec<String>,
}

/// The tag of a docker-archive `RepoTags` entry (`localhost:5000/app:1` → `1`; none for
/// `localhost:5000/app` or an entry that is not a reference).
fn repo_tag(t: &str) -> Option<String> {
    rampart_core::ImageRef::parse(t)
        .ok()
        .and_then(|r| r.tag().map(str::to_string))
}

fn open_docker_archive(idx: &TarIndex, selector: Option<&str>) -> Result<OpenedImage, ImageError> {
    let bytes = idx
        .get("manifest.json")
        .ok_or_else(|| ImageError::Source("docker archive has no manifest.json".into()))?
        .read_all(MAX_DOCUMENT, "manifest.json")?;
    let entries: Vec<DockerManifestEntry> = parse_json(&bytes, "manifest.json")?;
    let entry = match selector {
        Some(sel) => entries
            .iter()
            .find(|e| {
                e.repo_tags
                    .iter()
                    .flatten()
                    .any(|t| t == sel || repo_tag(t).is_some_and(|tag| tag == sel))
            })
            .ok_or_else(|| ImageError::Source(format!("no image tagged `{sel}` in the archive")))?,
        None => entries
            .first()
            .ok_or_else(|| ImageError::malformed("manifest.json", "no images"))?,
    };
    let config_loc = idx.get(&entry.config).ok_or_else(|| {
        ImageError::Source(format!("config {} missing from archive", entry.config))
    })?;
    let config_bytes = config_loc.read_all(MAX_DOCUMENT, "image config")?;
    let mut h = Sha256::new();
    h.update(&config_bytes);
    let config_digest = format!("sha256:{}", hex::encode(h.finalize()));
    // The config's file name is its digest (`<hex>.json` or `blobs/sha256/<hex>`).
    let stem = entry
        .config
        .rsplit('/')
        .next()
        .unwrap_or("")
        .trim_end_matches(".json");
    if stem.len() == 64
        && stem.bytes().all(|b| b.is_ascii_hexdigit())
        && !config_digest.ends_with(stem)
    {
        return Err(ImageError::DigestMismatch {
            what: format!("image config {}", entry.config),
            expected: format!("sha256:{stem}"),
            actual: config_digest,
        });
    }
    let config: ImageConfig = parse_json(&config_bytes, "image config")?;
    let diff_ids = config
        .rootfs
        .as_ref()
        .map(|r| r.diff_ids.clone())
        .unwrap_or_default();
    if diff_ids.len() != entry.layers.len() {
        return Err(ImageError::malformed(
            "image config",
            format!(
                "{} diff_ids for {} layers",
                diff_ids.len(),
                entry.layers.len()
            ),
        ));
    }
    let mut layers = Vec::new();
    for (name, diff) in entry.layers.iter().zip(&diff_ids) {
        check_digest(diff)?;
        let loc = idx
            .get(name)
            .ok_or_else(|| ImageError::Source(format!("layer {name} missing from archive")))?;
        let size = match &loc {
            BlobLoc::TarSlice { size, .. } => *size,
            BlobLoc::File(_) => 0,
        };
        layers.push(LayerBlob {
            digest: diff.clone(),
            diff_id: Some(diff.clone()),
            media_type: String::new(),
            size,
            loc,
            verify: Verify::Uncompressed(diff.clone()),
        });
    }
    let tag = entry
        .repo_tags
        .iter()
        .flatten()
        .next()
        .and_then(|t| repo_tag(t));
    Ok(OpenedImage {
        kind: SourceKind::DockerArchive,
        reference: String::new(),
        tag,
        manifest_digest: None,
        config_digest,
        config,
        layers,
        _temp: None,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn digests_are_checked() {
        assert!(check_digest("sha256:../../etc/passwd").is_err());
        assert!(check_digest("md5:abcd").is_err());
        assert!(check_digest(&format!("sha256:{}", "a".repeat(64))).is_ok());
        assert!(check_digest(&format!("sha256:{}", "A".repeat(64))).is_err());
        let d = "sha256:2cf24dba5fb0a30e26e83b2ac5b9e29e1b161e5c1fa7425e73043362938b9824";
        assert!(verify_bytes(b"hello", d, "x").is_ok());
        assert!(matches!(
            verify_bytes(b"hellO", d, "x"),
            Err(ImageError::DigestMismatch { .. })
        ));
    }

    #[test]
    fn detection() {
        let s = detect("registry:localhost:5000/a/b:1").unwrap();
        assert_eq!(s.kind, SourceKind::Registry);
        assert_eq!(s.location, "localhost:5000/a/b:1");
        assert_eq!(detect("debian:12").unwrap().kind, SourceKind::Registry);
        assert!(detect("/no/such/dir").is_err());
        let dir = tempfile::tempdir().unwrap();
        assert!(detect(dir.path().to_str().unwrap()).is_err());
        std::fs::write(dir.path().join("oci-layout"), "{}").unwrap();
        std::fs::write(dir.path().join("index.json"), "{}").unwrap();
        let p = dir.path().to_str().unwrap();
        assert_eq!(detect(p).unwrap().kind, SourceKind::OciLayout);
        let s = detect(&format!("{p}:v1")).unwrap();
        assert_eq!(
            (s.kind, s.selector.as_deref()),
            (SourceKind::OciLayout, Some("v1"))
        );
        let s = detect(&format!("oci:{p}:v1")).unwrap();
        assert_eq!(s.selector.as_deref(), Some("v1"));
        assert!(looks_like_image(dir.path()));
    }
}
