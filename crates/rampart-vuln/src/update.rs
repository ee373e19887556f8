//! `db update`: download osv.dev's per-ecosystem `all.zip` archives and import them.
//!
//! Each ecosystem is fetched from `{base}/{ecosystem}/all.zip` with the validators of
//! the previous download (`If-None-Match` with the stored ETag, `If-Modified-Since` with
//! the stored `Last-Modified`), so an unchanged ecosystem costs one `304 Not Modified`
//! and is not downloaded nor imported again. A downloaded archive is written to a
//! temporary file beside the database (bounded size, connect / per-read / overall
//! timeouts), read completely (a truncated or corrupt archive is refused before anything
//! is written) and imported atomically through the ordinary import path, together with
//! its new validators: one transaction per ecosystem. A failing ecosystem (HTTP error,
//! network error, size limit, bad archive) is reported and the others continue; the
//! database keeps what it had for it, and its validators are not changed, so the next
//! update retries it.
//!
//! The temporary archive is created with a random name and `O_EXCL` in the database's
//! directory (never a predictable name in a shared `/tmp`, never through a symlink) and
//! removed when done.
//!
//! Downloads go through Rampart's one HTTP client (`rampart_net::http`, keep-alive
//! connections reused across ecosystems), trusting the system's CA certificates or
//! [`UpdateOptions::ca_file`]'s. [`update_file`] builds a database that does not exist yet beside
//! its final path and renames it into place only when some ecosystem was imported: a
//! failed first update leaves no file behind.

use crate::db::{Db, ImportReport};
use crate::error::DbError;
use crate::import::{self, ImportOptions};
use rampart_net::egress::EgressPolicy;
use rampart_net::http::header::{self, HeaderValue};
use rampart_net::http::StatusCode;
use rampart_net::http::{BlockingClient, HttpClient, Url};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::io::{Read, Write as _};
use std::path::Path;
use std::time::{Duration, Instant};

/// The public OSV bucket.
pub const DEFAULT_BASE_URL: &str = "https://osv-vulnerabilities.storage.googleapis.com";

/// Language ecosystems: those of the lockfiles Rampart reads (`rampart deps`, `scan`,
/// and the language packages `rampart image` finds).
pub const LANGUAGE_ECOSYSTEMS: &[&str] = &[
    "crates.io",
    "Go",
    "Hex",
    "Maven",
    "npm",
    "NuGet",
    "Packagist",
    "Pub",
    "PyPI",
    "RubyGems",
];

/// Distributions `rampart image` recognises (`rampart_image::os::OsInfo::ecosystem`,
/// `fallback_ecosystem`) that osv.dev publishes: one `all.zip` per distribution holds
/// every release (`Debian:12`, `Alpine:v3.20`, `Ubuntu:22.04:LTS` …). Oracle Linux,
/// Amazon Linux, Fedora and CentOS are recognised too but osv.dev has no feed for
/// them: their packages are reported as not checked.
pub const DISTRO_ECOSYSTEMS: &[&str] = &[
    "AlmaLinux",
    "Alpine",
    "Azure Linux",
    "Chainguard",
    "Debian",
    "Photon OS",
    "Red Hat",
    "Rocky Linux",
    "SUSE",
    "Ubuntu",
    "Wolfi",
    "openSUSE",
];

/// Ecosystems fetched when none is named: what the scanners need, the language
/// ecosystems then the distributions.
pub fn default_ecosystems() -> Vec<String> {
    LANGUAGE_ECOSYSTEMS
        .iter()
        .chain(DISTRO_ECOSYSTEMS)
        .map(|s| s.to_string())
        .collect()
}

/// The bucket directory that holds an ecosystem's records: its base
/// ([`crate::ecosystem::base`]): `Debian:12` and `Debian:13` are both in
/// `Debian/all.zip`, `Ubuntu:22.04:LTS` in `Ubuntu/all.zip`.
pub fn archive_ecosystem(ecosystem: &str) -> &str {
    crate::ecosystem::base(ecosystem)
}

/// Default largest archive accepted (per ecosystem).
pub const DEFAULT_MAX_BYTES: u64 = 2 << 30;

const META_PREFIX: &str = "update:";

/// How to update.
#[derive(Debug, Clone)]
pub struct UpdateOptions {
    /// Base URL; archives are at `{base}/{ecosystem}/all.zip`.
    pub base_url: String,
    /// OSV ecosystem names, as in the bucket (`crates.io`, `PyPI`, `Debian:12` …).
    pub ecosystems: Vec<String>,
    /// Largest archive accepted, in bytes.
    pub max_bytes: u64,
    /// Connecting (DNS + TCP + TLS) may take this long.
    pub connect_timeout: Duration,
    /// No byte received for this long fails the download.
    pub read_timeout: Duration,
    /// A whole download (headers and body) may take this long.
    pub total_timeout: Duration,
    /// Ignore stored validators: download everything again.
    pub force: bool,
    /// How archives are imported.
    pub import: ImportOptions,
    /// CA certificates (PEM) trusted for HTTPS instead of the system's (a corporate
    /// mirror); `None`: the system trust store (see `rampart_net::tls::client_roots`).
    pub ca_file: Option<std::path::PathBuf>,
}

impl Default for UpdateOptions {
    fn default() -> Self {
        UpdateOptions {
            base_url: DEFAULT_BASE_URL.to_string(),
            ecosystems: default_ecosystems(),
            max_bytes: DEFAULT_MAX_BYTES,
            connect_timeout: Duration::from_secs(30),
            read_timeout: Duration::from_secs(60),
            total_timeout: Duration::from_secs(30 * 60),
            force: false,
            import: ImportOptions::default(),
            ca_file: None,
        }
    }
}

/// What happened to one ecosystem.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum UpdateStatus {
    /// Downloaded and imported.
    Updated,
    /// The server said `304 Not Modified`: nothing downloaded or imported.
    NotModified,
    /// Download, archive or import failed; the database keeps its previous data.
    Failed,
}

/// One ecosystem's outcome.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct EcosystemUpdate {
    /// The ecosystem.
    pub ecosystem: String,
    /// The archive URL.
    pub url: String,
    /// The outcome.
    pub status: UpdateStatus,
    /// HTTP status code, when a response arrived.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub http_status: Option<u16>,
    /// Bytes downloaded.
    pub bytes: u64,
    /// What the import did (updated ecosystems).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub import: Option<ImportReport>,
    /// Why it failed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
    /// Seconds spent on this ecosystem.
    pub seconds: f64,
}

/// What an update did.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct UpdateReport {
    /// Per ecosystem, in the order asked.
    pub ecosystems: Vec<EcosystemUpdate>,
    /// Wall-clock seconds.
    pub seconds: f64,
}

impl UpdateReport {
    /// Ecosystems that failed.
    pub fn failed(&self) -> impl Iterator<Item = &EcosystemUpdate> {
        self.ecosystems
            .iter()
            .filter(|e| e.status == UpdateStatus::Failed)
    }
}

/// What the database remembers about an ecosystem's last download.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct FeedState {
    /// The URL last fetched.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub url: Option<String>,
    /// The `ETag` of the imported archive.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub etag: Option<String>,
    /// The `Last-Modified` of the imported archive.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_modified: Option<String>,
    /// When the archive was last imported (RFC 3339).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub imported: Option<String>,
    /// When the server was last asked (RFC 3339), including `304` answers.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub checked: Option<String>,
}

fn meta_key(eco: &str, field: &str) -> String {
    format!("{META_PREFIX}{eco}:{field}")
}

/// The archive URL of an ecosystem (the name is percent-encoded as one path segment).
pub fn archive_url(base: &str, ecosystem: &str) -> String {
    let mut seg = String::with_capacity(ecosystem.len());
    for b in ecosystem.bytes() {
        if b.is_ascii_alphanumeric() || b"-._~:".contains(&b) {
            seg.push(char::from(b));
        } else {
            seg.push_str(&format!("%{b:02X}"));
        }
    }
    format!("{}/{seg}/all.zip", base.trim_end_matches('/'))
}

fn now() -> String {
    chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Secs, true)
}

enum Fetched {
    NotModified,
    Downloaded {
        bytes: u64,
        etag: Option<String>,
        last_modified: Option<String>,
    },
}

struct FetchError {
    http_status: Option<u16>,
    bytes: u64,
    message: String,
}

fn fail(http_status: Option<u16>, message: impl Into<String>) -> FetchError {
    FetchError {
        http_status,
        bytes: 0,
        message: message.into(),
    }
}

fn fetch(
    client: &BlockingClient,
    url: &str,
    prev: &FeedState,
    dest: &mut tempfile::NamedTempFile,
    max_bytes: u64,
) -> Result<(u16, Fetched), FetchError> {
    let parsed = Url::parse(url).map_err(|e| fail(None, e.to_string()))?;
    let mut headers = Vec::new();
    for (name, value) in [
        (header::IF_NONE_MATCH, &prev.etag),
        (header::IF_MODIFIED_SINCE, &prev.last_modified),
    ] {
        if let Some(v) = value.as_deref().and_then(|v| HeaderValue::from_str(v).ok()) {
            headers.push((name, v));
        }
    }
    let mut resp = client
        .get(&parsed, &headers)
        .map_err(|e| fail(None, e.to_string()))?;
    let code = resp.status;
    if code == 304 {
        return Ok((code, Fetched::NotModified));
    }
    if !(200..300).contains(&code) {
        let reason = StatusCode::from_u16(code)
            .ok()
            .and_then(|s| s.canonical_reason())
            .unwrap_or("");
        return Err(fail(
            Some(code),
            format!("HTTP {code} {reason}").trim_end().to_string(),
        ));
    }
    let etag = resp.header("etag").map(str::to_string);
    let last_modified = resp.header("last-modified").map(str::to_string);
    if let Some(len) = resp
        .header("content-length")
        .and_then(|v| v.trim().parse::<u64>().ok())
    {
        if len > max_bytes {
            return Err(fail(
                Some(code),
                format!("archive is {len} bytes, over the {max_bytes}-byte limit"),
            ));
        }
    }
    let shown = dest.path().display().to_string();
    let file = dest.as_file_mut();
    let mut body = (&mut resp).take(max_bytes.saturating_add(1));
    let bytes = std::io::copy(&mut body, file).map_err(|e| FetchError {
        http_status: Some(code),
        bytes: 0,
        message: format!("download interrupted: {e}"),
    })?;
    if bytes > max_bytes {
        return Err(FetchError {
            http_status: Some(code),
            bytes,
            message: format!("archive is over the {max_bytes}-byte limit"),
        });
    }
    file.flush()
        .map_err(|e| fail(Some(code), format!("{shown}: {e}")))?;
    Ok((
        code,
        Fetched::Downloaded {
            bytes,
            etag,
            last_modified,
        },
    ))
}

/// The one HTTP client (`rampart_net`) as `db update` uses it: the trust store of
/// [`UpdateOptions::ca_file`] (else the system's), any destination (the user names the
/// mirror), the timeouts of `opts`, no body limit of its own (archives are streamed to a
/// file under [`UpdateOptions::max_bytes`]).
fn client(opts: &UpdateOptions) -> Result<BlockingClient, String> {
    let tls = rampart_net::tls::client_config(opts.ca_file.as_deref());
    // A CA file given but unusable is an error now, whatever the mirror's scheme.
    if let (Some(_), Err(e)) = (&opts.ca_file, &tls) {
        return Err(format!("--ca-file: {e}"));
    }
    let mut http = HttpClient::new(tls, EgressPolicy::unrestricted());
    http.timeout = opts.connect_timeout;
    http.user_agent = concat!("rampart/", env!("CARGO_PKG_VERSION")).to_string();
    let mut c = BlockingClient::new(http).map_err(|e| e.to_string())?;
    c.read_timeout = opts.read_timeout;
    c.total_timeout = opts.total_timeout;
    Ok(c)
}

/// Download (when `path` exists) or build (when it does not) the database at `path`.
///
/// A new database is written to a temporary file beside `path` and renamed to `path`
/// only when at least one ecosystem was imported, so a failed first update (no network,
/// every download refused) leaves no empty database that later scans would take for a
/// clean one. An existing database is updated in place, one atomic import per ecosystem
/// (see [`Db::update`]): a failing ecosystem keeps its previous data.
pub fn update_file(
    path: &Path,
    opts: &UpdateOptions,
    progress: &mut dyn FnMut(&EcosystemUpdate),
) -> Result<UpdateReport, DbError> {
    with_new_or_existing(
        path,
        |db| db.update(opts, progress),
        |r| {
            r.ecosystems
                .iter()
                .any(|e| e.status == UpdateStatus::Updated)
        },
    )
}

/// `db import` into the database at `path`, with the same guarantee as [`update_file`]:
/// a database that does not exist yet appears only when something was imported (a
/// failed or empty import leaves no empty file behind).
pub fn import_file(
    path: &Path,
    sources: &[std::path::PathBuf],
    opts: &crate::ImportOptions,
) -> Result<crate::ImportReport, DbError> {
    with_new_or_existing(
        path,
        |db| db.import(sources, opts),
        |r| r.imported + r.withdrawn > 0,
    )
}

/// Run `work` on the database at `path`; when it does not exist, on a new one built in a
/// temporary file beside it, renamed to `path` only if `keep` says so (else removed).
fn with_new_or_existing<T>(
    path: &Path,
    work: impl FnOnce(&mut Db) -> Result<T, DbError>,
    keep: impl FnOnce(&T) -> bool,
) -> Result<T, DbError> {
    if path.exists() {
        let mut db = Db::open(path)?;
        return work(&mut db);
    }
    let dir = path
        .parent()
        .filter(|p| !p.as_os_str().is_empty())
        .unwrap_or(Path::new("."));
    std::fs::create_dir_all(dir).map_err(|e| DbError::io(dir, e))?;
    let tmp = tempfile::Builder::new()
        .prefix(".rampart-db-new-")
        .suffix(".db")
        .tempfile_in(dir)
        .map_err(|e| DbError::io(dir, e))?
        .into_temp_path();
    let out = {
        let mut db = Db::open(&tmp)?;
        work(&mut db)?
    };
    if keep(&out) {
        tmp.persist(path).map_err(|e| DbError::io(path, e.error))?;
    }
    Ok(out)
}

fn check_name(eco: &str) -> Result<(), String> {
    if eco.trim().is_empty()
        || eco.contains('/')
        || eco.contains('\\')
        || eco == "."
        || eco == ".."
        || eco.chars().any(char::is_control)
    {
        return Err(format!("`{eco}` is not an ecosystem name"));
    }
    Ok(())
}

impl Db {
    /// What the database remembers about each ecosystem's last update.
    pub fn feeds(&self) -> Result<BTreeMap<String, FeedState>, DbError> {
        let mut out: BTreeMap<String, FeedState> = BTreeMap::new();
        for (key, value) in self.meta_prefixed(META_PREFIX)? {
            let rest = &key[META_PREFIX.len()..];
            let Some((eco, field)) = rest.rsplit_once(':') else {
                continue;
            };
            let st = out.entry(eco.to_string()).or_default();
            let slot = match field {
                "url" => &mut st.url,
                "etag" => &mut st.etag,
                "last_modified" => &mut st.last_modified,
                "imported" => &mut st.imported,
                "checked" => &mut st.checked,
                _ => continue,
            };
            *slot = Some(value);
        }
        Ok(out)
    }

    /// Download and import the ecosystems of `opts`, skipping those the server reports
    /// unchanged. `progress` is called once per ecosystem, when it is done.
    ///
    /// Only an unusable database is an `Err`; a failing ecosystem is reported in its
    /// [`EcosystemUpdate`] and the others continue.
    pub fn update(
        &mut self,
        opts: &UpdateOptions,
        progress: &mut dyn FnMut(&EcosystemUpdate),
    ) -> Result<UpdateReport, DbError> {
        let start = Instant::now();
        // A client that cannot be built (a CA file that cannot be read) fails every
        // ecosystem with its reason; the database keeps what it had.
        let agent = client(opts);
        let feeds = self.feeds()?;
        // Beside the database (`vuln.db` alone: the working directory); in memory: the
        // system's temporary directory (random name, created exclusively either way).
        let tmp_dir = match self.path() {
            Some(p) => match p.parent().filter(|d| !d.as_os_str().is_empty()) {
                Some(d) => d.to_path_buf(),
                None => Path::new(".").to_path_buf(),
            },
            None => std::env::temp_dir(),
        };
        let mut report = UpdateReport::default();
        for eco in &opts.ecosystems {
            let t0 = Instant::now();
            let url = archive_url(&opts.base_url, eco);
            let mut out = EcosystemUpdate {
                ecosystem: eco.clone(),
                url: url.clone(),
                status: UpdateStatus::Failed,
                http_status: None,
                bytes: 0,
                import: None,
                error: None,
                seconds: 0.0,
            };
            if let Err(e) = check_name(eco) {
                out.error = Some(e);
            } else {
                let prev = match feeds.get(eco.as_str()) {
                    // Validators only apply to the same URL.
                    Some(f) if !opts.force && f.url.as_deref() == Some(url.as_str()) => f.clone(),
                    _ => FeedState::default(),
                };
                match (
                    &agent,
                    tempfile::Builder::new()
                        .prefix(".rampart-update-")
                        .suffix(".zip")
                        .tempfile_in(&tmp_dir),
                ) {
                    (Err(e), _) => out.error = Some(e.clone()),
                    (Ok(agent), Ok(mut dest)) => {
                        self.update_one(agent, opts, eco, &url, &prev, &mut dest, &mut out)?;
                    }
                    (_, Err(e)) => {
                        out.error = Some(format!(
                            "cannot create a temporary file in {}: {e}",
                            tmp_dir.display()
                        ));
                    }
                }
            }
            out.seconds = t0.elapsed().as_secs_f64();
            progress(&out);
            report.ecosystems.push(out);
        }
        report.seconds = start.elapsed().as_secs_f64();
        Ok(report)
    }

    #[allow(clippy::too_many_arguments)]
    fn update_one(
        &mut self,
        agent: &BlockingClient,
        opts: &UpdateOptions,
        eco: &str,
        url: &str,
        prev: &FeedState,
        dest: &mut tempfile::NamedTempFile,
        out: &mut EcosystemUpdate,
    ) -> Result<(), DbError> {
        let (code, fetched) = match fetch(agent, url, prev, dest, opts.max_bytes) {
            Ok(x) => x,
            Err(e) => {
                out.http_status = e.http_status;
                out.bytes = e.bytes;
                out.error = Some(e.message);
                return Ok(());
            }
        };
        out.http_status = Some(code);
        let checked = now();
        match fetched {
            Fetched::NotModified => {
                out.status = UpdateStatus::NotModified;
                self.conn.execute(
                    "INSERT OR REPLACE INTO meta (key, value) VALUES (?1, ?2)",
                    [&meta_key(eco, "checked"), &checked],
                )?;
            }
            Fetched::Downloaded {
                bytes,
                etag,
                last_modified,
            } => {
                out.bytes = bytes;
                let dest = dest.path();
                let t = Instant::now();
                let mut collected = match import::collect(&[dest.to_path_buf()], &opts.import) {
                    Ok(c) => c,
                    Err(e) => {
                        out.error = Some(format!("{url}: {}", bad_archive(&e, dest)));
                        return Ok(());
                    }
                };
                relabel(&mut collected, dest, url);
                let mut meta = vec![
                    (meta_key(eco, "url"), url.to_string()),
                    (meta_key(eco, "imported"), checked.clone()),
                    (meta_key(eco, "checked"), checked),
                ];
                // A validator the server no longer sends must not be kept.
                meta.push((meta_key(eco, "etag"), etag.unwrap_or_default()));
                meta.push((
                    meta_key(eco, "last_modified"),
                    last_modified.unwrap_or_default(),
                ));
                match self.import_collected(collected, &[url.to_string()], &meta, t) {
                    Ok(r) => {
                        out.status = UpdateStatus::Updated;
                        out.import = Some(r);
                    }
                    Err(e) => out.error = Some(format!("import failed: {e}")),
                }
                // Empty validators are stored as empty strings: drop them.
                self.conn.execute(
                    "DELETE FROM meta WHERE substr(key, 1, length(?1)) = ?1 AND value = ''",
                    [META_PREFIX],
                )?;
            }
        }
        Ok(())
    }
}

fn bad_archive(e: &DbError, dest: &Path) -> String {
    let msg = e.to_string();
    let shown = dest.display().to_string();
    let msg = msg.replace(&format!("{shown}: "), "");
    format!("{msg}; nothing imported for this ecosystem")
}

/// Sources read from the temporary file are named after the URL instead.
fn relabel(c: &mut import::Collected, dest: &Path, url: &str) {
    let tmp = dest.display().to_string();
    let fix = |s: &mut String| {
        if let Some(rest) = s.strip_prefix(&tmp) {
            *s = format!("{url}{rest}");
        }
    };
    for r in &mut c.records {
        fix(&mut r.source);
    }
    for p in c.rejected.iter_mut().chain(c.warnings.iter_mut()) {
        fix(&mut p.source);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn urls_encode_the_ecosystem_as_one_segment() {
        assert_eq!(
            archive_url("https://x/", "crates.io"),
            "https://x/crates.io/all.zip"
        );
        assert_eq!(
            archive_url("http://h:1", "Red Hat:rhel_aus:8.6"),
            "http://h:1/Red%20Hat:rhel_aus:8.6/all.zip"
        );
        assert!(check_name("../etc").is_err());
        assert!(check_name("").is_err());
        assert!(check_name("Debian:12").is_ok());
    }

    #[test]
    fn distro_releases_live_in_the_distro_archive() {
        assert_eq!(archive_ecosystem("Debian:12"), "Debian");
        assert_eq!(archive_ecosystem("Ubuntu:22.04:LTS"), "Ubuntu");
        assert_eq!(archive_ecosystem("openSUSE:Leap 15.5"), "openSUSE");
        assert_eq!(archive_ecosystem("crates.io"), "crates.io");
        // Every default is its own archive name.
        for e in default_ecosystems() {
            assert_eq!(archive_ecosystem(&e), e);
        }
    }
}
