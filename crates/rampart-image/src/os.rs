//! The operating system: `os-release`, the package databases of dpkg, apk and rpm, the
//! OSV distro ecosystem, and end-of-life dates.

use crate::packages::{ImagePackage, PackageKind};
use std::collections::BTreeMap;

/// What `os-release` says.
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Serialize)]
pub struct OsInfo {
    /// `ID` (`debian`, `ubuntu`, `alpine`, `rhel` …).
    pub id: String,
    /// `VERSION_ID`.
    pub version_id: String,
    /// `PRETTY_NAME`.
    pub pretty_name: String,
    /// `VERSION_CODENAME`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub codename: Option<String>,
    /// `ID_LIKE`.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub id_like: Vec<String>,
    /// `VERSION` (for Ubuntu's `LTS`).
    #[serde(skip_serializing_if = "String::is_empty")]
    pub version: String,
}

/// Parse `os-release` (`KEY=value`, values optionally quoted).
pub fn parse_os_release(text: &str) -> OsInfo {
    let mut m: BTreeMap<&str, String> = BTreeMap::new();
    for line in text.lines() {
        let line = line.trim();
        if line.starts_with('#') {
            continue;
        }
        let Some((k, v)) = line.split_once('=') else {
            continue;
        };
        let v = v.trim();
        let v = v
            .strip_prefix('"')
            .and_then(|x| x.strip_suffix('"'))
            .or_else(|| v.strip_prefix('\'').and_then(|x| x.strip_suffix('\'')))
            .unwrap_or(v);
        m.insert(k.trim(), v.replace("\\\"", "\""));
    }
    OsInfo {
        id: m
            .get("ID")
            .cloned()
            .unwrap_or_default()
            .to_ascii_lowercase(),
        version_id: m.get("VERSION_ID").cloned().unwrap_or_default(),
        pretty_name: m.get("PRETTY_NAME").cloned().unwrap_or_default(),
        codename: m.get("VERSION_CODENAME").cloned().filter(|s| !s.is_empty()),
        id_like: m
            .get("ID_LIKE")
            .map(|s| s.split_whitespace().map(str::to_string).collect())
            .unwrap_or_default(),
        version: m.get("VERSION").cloned().unwrap_or_default(),
    }
}

impl OsInfo {
    /// The OSV ecosystem of the distro's packages: `Debian:12`, `Ubuntu:22.04:LTS`,
    /// `Alpine:v3.20`, `Red Hat`, `Rocky Linux:9` … (`None` when unknown).
    pub fn ecosystem(&self) -> Option<String> {
        let major = self.version_id.split('.').next().unwrap_or("");
        let minor2 = {
            let mut it = self.version_id.split('.');
            match (it.next(), it.next()) {
                (Some(a), Some(b)) => format!("{a}.{b}"),
                _ => self.version_id.clone(),
            }
        };
        Some(match self.id.as_str() {
            "debian" => {
                if major.is_empty() {
                    "Debian".to_string()
                } else {
                    format!("Debian:{major}")
                }
            }
            "ubuntu" => {
                if self.version.contains("LTS") {
                    format!("Ubuntu:{}:LTS", self.version_id)
                } else {
                    format!("Ubuntu:{}", self.version_id)
                }
            }
            "alpine" => format!("Alpine:v{minor2}"),
            "wolfi" => "Wolfi".into(),
            "chainguard" => "Chainguard".into(),
            "rhel" => "Red Hat".into(),
            "rocky" => format!("Rocky Linux:{major}"),
            "almalinux" => format!("AlmaLinux:{major}"),
            "ol" => format!("Oracle Linux:{major}"),
            "amzn" => format!("Amazon Linux:{}", self.version_id),
            "opensuse-leap" => format!("openSUSE:Leap {}", self.version_id),
            "sles" => format!("SUSE:Linux Enterprise Server {major}"),
            "fedora" => format!("Fedora:{major}"),
            "centos" => "CentOS".into(),
            "photon" => format!("Photon OS:{minor2}"),
            "mariner" | "azurelinux" => format!("Azure Linux:{minor2}"),
            _ => return None,
        })
    }

    /// The default ecosystem of a package kind when `os-release` is missing.
    pub fn fallback_ecosystem(kind: PackageKind) -> &'static str {
        match kind {
            PackageKind::Apk => "Alpine",
            PackageKind::Rpm => "Red Hat",
            _ => "Debian",
        }
    }
}

/// A distro release's end of support.
#[derive(Debug, Clone, Copy)]
pub struct Eol {
    /// `ID`.
    pub id: &'static str,
    /// Version prefix (`11`, `22.04`, `3.18`).
    pub version: &'static str,
    /// Last day of (security) support, `YYYY-MM-DD`.
    pub until: &'static str,
}

/// End of standard security support (not paid extended support), from the distros'
/// published lifecycles.
pub const EOL: &[Eol] = &[
    Eol {
        id: "debian",
        version: "7",
        until: "2018-05-31",
    },
    Eol {
        id: "debian",
        version: "8",
        until: "2020-06-30",
    },
    Eol {
        id: "debian",
        version: "9",
        until: "2022-06-30",
    },
    Eol {
        id: "debian",
        version: "10",
        until: "2024-06-30",
    },
    Eol {
        id: "debian",
        version: "11",
        until: "2026-08-31",
    },
    Eol {
        id: "debian",
        version: "12",
        until: "2028-06-30",
    },
    Eol {
        id: "debian",
        version: "13",
        until: "2030-06-30",
    },
    Eol {
        id: "ubuntu",
        version: "14.04",
        until: "2019-04-30",
    },
    Eol {
        id: "ubuntu",
        version: "16.04",
        until: "2021-04-30",
    },
    Eol {
        id: "ubuntu",
        version: "18.04",
        until: "2023-05-31",
    },
    Eol {
        id: "ubuntu",
        version: "20.04",
        until: "2025-05-31",
    },
    Eol {
        id: "ubuntu",
        version: "22.04",
        until: "2027-06-01",
    },
    Eol {
        id: "ubuntu",
        version: "23.10",
        until: "2024-07-11",
    },
    Eol {
        id: "ubuntu",
        version: "24.04",
        until: "2029-05-31",
    },
    Eol {
        id: "ubuntu",
        version: "24.10",
        until: "2025-07-10",
    },
    Eol {
        id: "ubuntu",
        version: "25.04",
        until: "2026-01-15",
    },
    Eol {
        id: "alpine",
        version: "3.12",
        until: "2022-05-01",
    },
    Eol {
        id: "alpine",
        version: "3.13",
        until: "2022-11-01",
    },
    Eol {
        id: "alpine",
        version: "3.14",
        until: "2023-05-01",
    },
    Eol {
        id: "alpine",
        version: "3.15",
        until: "2023-11-01",
    },
    Eol {
        id: "alpine",
        version: "3.16",
        until: "2024-05-23",
    },
    Eol {
        id: "alpine",
        version: "3.17",
        until: "2024-11-22",
    },
    Eol {
        id: "alpine",
        version: "3.18",
        until: "2025-05-09",
    },
    Eol {
        id: "alpine",
        version: "3.19",
        until: "2025-11-01",
    },
    Eol {
        id: "alpine",
        version: "3.20",
        until: "2026-04-01",
    },
    Eol {
        id: "alpine",
        version: "3.21",
        until: "2026-11-01",
    },
    Eol {
        id: "alpine",
        version: "3.22",
        until: "2027-05-01",
    },
    Eol {
        id: "centos",
        version: "6",
        until: "2020-11-30",
    },
    Eol {
        id: "centos",
        version: "7",
        until: "2024-06-30",
    },
    Eol {
        id: "centos",
        version: "8",
        until: "2021-12-31",
    },
    Eol {
        id: "rhel",
        version: "7",
        until: "2024-06-30",
    },
    Eol {
        id: "rhel",
        version: "8",
        until: "2029-05-31",
    },
    Eol {
        id: "rhel",
        version: "9",
        until: "2032-05-31",
    },
    Eol {
        id: "amzn",
        version: "2018",
        until: "2023-12-31",
    },
    Eol {
        id: "amzn",
        version: "2",
        until: "2026-06-30",
    },
    Eol {
        id: "fedora",
        version: "38",
        until: "2024-05-21",
    },
    Eol {
        id: "fedora",
        version: "39",
        until: "2024-11-26",
    },
    Eol {
        id: "fedora",
        version: "40",
        until: "2025-05-13",
    },
];

/// The end-of-life entry for this release, when it ended before `today` (`YYYY-MM-DD`).
pub fn eol(os: &OsInfo, today: &str) -> Option<&'static Eol> {
    let v = os.version_id.as_str();
    EOL.iter()
        .filter(|e| {
            e.id == os.id
                && (v == e.version
                    || v.strip_prefix(e.version)
                        .is_some_and(|r| r.starts_with('.')))
        })
        .max_by_key(|e| e.version.len())
        .filter(|e| e.until < today)
}

/// One stanza of an RFC 822-style database, with the line it starts on.
fn stanzas(text: &str) -> Vec<(usize, Vec<(String, String)>)> {
    let mut out = Vec::new();
    let mut cur: Vec<(String, String)> = Vec::new();
    let mut start = 0;
    for (i, line) in text.lines().enumerate() {
        if line.trim().is_empty() {
            if !cur.is_empty() {
                out.push((start, std::mem::take(&mut cur)));
            }
            continue;
        }
        if cur.is_empty() {
            start = i + 1;
        }
        if line.starts_with(' ') || line.starts_with('\t') {
            continue; // continuation (descriptions, conffiles): not needed
        }
        if let Some((k, v)) = line.split_once(':') {
            cur.push((k.to_string(), v.trim().to_string()));
        }
    }
    if !cur.is_empty() {
        out.push((start, cur));
    }
    out
}

/// Packages of a dpkg `status` file (or one `status.d` file): installed ones only.
pub fn parse_dpkg(text: &str, path: &str, ecosystem: &str) -> Vec<ImagePackage> {
    let mut out = Vec::new();
    for (line, fields) in stanzas(text) {
        let get = |k: &str| {
            fields
                .iter()
                .find(|(key, _)| key == k)
                .map(|(_, v)| v.as_str())
        };
        let (Some(name), Some(version)) = (get("Package"), get("Version")) else {
            continue;
        };
        if let Some(status) = get("Status") {
            let installed = status.split_whitespace().nth(2);
            if !matches!(installed, Some("installed")) {
                continue;
            }
        }
        let mut p = ImagePackage::new(PackageKind::Dpkg, ecosystem, name, version, path);
        p.line = Some(line);
        p.arch = get("Architecture").map(str::to_string);
        if let Some(src) = get("Source") {
            // `Source: name` or `Source: name (version)`.
            let mut it = src.splitn(2, ' ');
            let sname = it.next().unwrap_or(name).to_string();
            let sver = it.next().map(|v| {
                v.trim()
                    .trim_start_matches('(')
                    .trim_end_matches(')')
                    .to_string()
            });
            p.source_name = Some(sname);
            p.source_version = sver.filter(|v| v != version);
        }
        out.push(p);
    }
    out
}

/// Packages of apk's `installed` database.
pub fn parse_apk(text: &str, path: &str, ecosystem: &str) -> Vec<ImagePackage> {
    let mut out = Vec::new();
    for (line, fields) in stanzas(text) {
        let get = |k: &str| {
            fields
                .iter()
                .find(|(key, _)| key == k)
                .map(|(_, v)| v.as_str())
        };
        let (Some(name), Some(version)) = (get("P"), get("V")) else {
            continue;
        };
        let mut p = ImagePackage::new(PackageKind::Apk, ecosystem, name, version, path);
        p.line = Some(line);
        p.arch = get("A").map(str::to_string);
        p.source_name = get("o").map(str::to_string);
        if let Some(l) = get("L") {
            p.licenses.push(l.to_string());
        }
        out.push(p);
    }
    out
}

/// Files of apk's `installed` database: (path, package, mode from `a:uid:gid:mode`,
/// `None` when the database records no mode for it).
pub fn apk_files(text: &str) -> Vec<(String, String, Option<u32>)> {
    let mut out: Vec<(String, String, Option<u32>)> = Vec::new();
    let (mut pkg, mut dir) = (String::new(), String::new());
    let mut last_file = false;
    for line in text.lines() {
        if line.trim().is_empty() {
            (pkg, dir, last_file) = (String::new(), String::new(), false);
            continue;
        }
        let Some((k, v)) = line.split_once(':') else {
            continue;
        };
        match k {
            "P" => pkg = v.to_string(),
            "F" => {
                dir = v.trim_matches('/').to_string();
                last_file = false;
            }
            "R" => {
                let path = if dir.is_empty() {
                    v.to_string()
                } else {
                    format!("{dir}/{v}")
                };
                out.push((path, pkg.clone(), None));
                last_file = true;
            }
            "a" if last_file => {
                let mode = v
                    .rsplit(':')
                    .next()
                    .and_then(|m| u32::from_str_radix(m, 8).ok());
                if let Some(last) = out.last_mut() {
                    last.2 = mode;
                }
            }
            _ => {}
        }
    }
    out
}

/// Paths in `var/lib/dpkg/statoverride` (`user group mode /path` lines).
pub fn dpkg_statoverrides(text: &str) -> Vec<String> {
    text.lines()
        .filter_map(|l| l.split_whitespace().nth(3))
        .map(|p| p.trim_start_matches('/').to_string())
        .collect()
}

/// RPM header tags used.
const TAG_NAME: i32 = 1000;
const TAG_VERSION: i32 = 1001;
const TAG_RELEASE: i32 = 1002;
const TAG_EPOCH: i32 = 1003;
const TAG_LICENSE: i32 = 1014;
const TAG_ARCH: i32 = 1022;
const TAG_SOURCERPM: i32 = 1044;
const TAG_FILEMODES: i32 = 1030;
const TAG_DIRINDEXES: i32 = 1116;
const TAG_BASENAMES: i32 = 1117;
const TAG_DIRNAMES: i32 = 1118;
/// Most files read from one header.
const RPM_MAX_FILES: usize = 1_000_000;

/// The fields Rampart reads from an RPM header blob.
#[derive(Debug, Default, PartialEq, Eq)]
pub struct RpmHeader {
    /// Name.
    pub name: String,
    /// Version.
    pub version: String,
    /// Release.
    pub release: String,
    /// Epoch.
    pub epoch: Option<i32>,
    /// Arch.
    pub arch: Option<String>,
    /// Source RPM file name.
    pub source_rpm: Option<String>,
    /// Licence.
    pub license: Option<String>,
    /// Files (path without the leading `/`) and their modes (type and permission bits).
    pub files: Vec<(String, u32)>,
}

fn be32(b: &[u8], at: usize) -> Option<i32> {
    let s = b.get(at..at.checked_add(4)?)?;
    Some(i32::from_be_bytes([s[0], s[1], s[2], s[3]]))
}

/// Parse an RPM header blob as stored in `rpmdb.sqlite` (`il`, `dl`, index, data).
pub fn parse_rpm_header(blob: &[u8]) -> Option<RpmHeader> {
    let il = usize::try_from(be32(blob, 0)?).ok()?;
    let dl = usize::try_from(be32(blob, 4)?).ok()?;
    if il > 100_000 || dl > blob.len() {
        return None;
    }
    let data_start = 8usize.checked_add(il.checked_mul(16)?)?;
    let data = blob.get(data_start..data_start.checked_add(dl)?)?;
    let mut h = RpmHeader::default();
    let (mut modes, mut dirindexes, mut basenames, mut dirnames) = (None, None, None, None);
    for i in 0..il {
        let e = 8 + i * 16;
        let tag = be32(blob, e)?;
        let ty = be32(blob, e + 4)?;
        let off = usize::try_from(be32(blob, e + 8)?).ok()?;
        let string = || -> Option<String> {
            let s = data.get(off..)?;
            let end = s.iter().position(|&b| b == 0)?;
            Some(String::from_utf8_lossy(&s[..end]).into_owned())
        };
        match (tag, ty) {
            (TAG_NAME, 6 | 9) => h.name = string()?,
            (TAG_VERSION, 6 | 9) => h.version = string()?,
            (TAG_RELEASE, 6 | 9) => h.release = string()?,
            (TAG_EPOCH, 4) => h.epoch = be32(data, off),
            (TAG_ARCH, 6 | 9) => h.arch = string(),
            (TAG_SOURCERPM, 6 | 9) => h.source_rpm = string(),
            (TAG_LICENSE, 6 | 9) => h.license = string(),
            (TAG_FILEMODES, 3) => modes = Some((off, be32(blob, e + 12)?)),
            (TAG_DIRINDEXES, 4) => dirindexes = Some((off, be32(blob, e + 12)?)),
            (TAG_BASENAMES, 8) => basenames = Some((off, be32(blob, e + 12)?)),
            (TAG_DIRNAMES, 8) => dirnames = Some((off, be32(blob, e + 12)?)),
            _ => {}
        }
    }
    if let (Some(m), Some(di), Some(bn), Some(dn)) = (modes, dirindexes, basenames, dirnames) {
        h.files = rpm_files(data, m, di, bn, dn).unwrap_or_default();
    }
    (!h.name.is_empty()).then_some(h)
}

fn rpm_count(c: i32) -> Option<usize> {
    usize::try_from(c).ok().filter(|&c| c <= RPM_MAX_FILES)
}

fn rpm_strings(data: &[u8], (off, count): (usize, i32)) -> Option<Vec<&[u8]>> {
    let count = rpm_count(count)?;
    let mut out = Vec::with_capacity(count.min(4096));
    let mut rest = data.get(off..)?;
    for _ in 0..count {
        let end = rest.iter().position(|&b| b == 0)?;
        out.push(&rest[..end]);
        rest = &rest[end + 1..];
    }
    Some(out)
}

/// The file list of a header: `DIRNAMES[DIRINDEXES[i]] + BASENAMES[i]`, `FILEMODES[i]`.
fn rpm_files(
    data: &[u8],
    modes: (usize, i32),
    dirindexes: (usize, i32),
    basenames: (usize, i32),
    dirnames: (usize, i32),
) -> Option<Vec<(String, u32)>> {
    let names = rpm_strings(data, basenames)?;
    let dirs = rpm_strings(data, dirnames)?;
    let n = names.len();
    if rpm_count(modes.1)? != n || rpm_count(dirindexes.1)? != n {
        return None;
    }
    let mut out = Vec::with_capacity(n);
    for (i, name) in names.iter().enumerate() {
        let mo = modes.0.checked_add(i.checked_mul(2)?)?;
        let m = data.get(mo..mo.checked_add(2)?)?;
        let mode = u32::from(u16::from_be_bytes([m[0], m[1]]));
        let di = usize::try_from(be32(data, dirindexes.0.checked_add(i.checked_mul(4)?)?)?).ok()?;
        let dir = String::from_utf8_lossy(dirs.get(di)?);
        let full = format!("{dir}{}", String::from_utf8_lossy(name));
        out.push((full.trim_start_matches('/').to_string(), mode));
    }
    Some(out)
}

/// `openssl-3.0.7-27.el9.src.rpm` → (`openssl`, `3.0.7-27.el9`).
pub fn split_source_rpm(s: &str) -> Option<(String, String)> {
    let base = s
        .strip_suffix(".src.rpm")
        .or_else(|| s.strip_suffix(".nosrc.rpm"))?;
    let (rest, release) = base.rsplit_once('-')?;
    let (name, version) = rest.rsplit_once('-')?;
    Some((name.to_string(), format!("{version}-{release}")))
}

/// Most rows read from an image's `Packages` table (real databases hold a few thousand).
pub const RPMDB_MAX_ROWS: usize = 200_000;
/// SQLite virtual-machine steps allowed for reading an image's rpm database, counted by
/// the progress handler in units of [`RPMDB_STEP_UNIT`].
pub const RPMDB_MAX_STEPS: u64 = 50_000;
/// VM instructions per progress-handler call.
const RPMDB_STEP_UNIT: i32 = 10_000;

/// Open an image's `rpmdb.sqlite` as untrusted data: read-only and immutable (no
/// journal, no locks, no WAL), the defensive flag on, triggers and views off, schema
/// functions untrusted, and a progress handler that stops any statement past
/// [`RPMDB_MAX_STEPS`].
fn open_untrusted_sqlite(
    path: &std::path::Path,
    max_steps: u64,
) -> Result<rusqlite::Connection, String> {
    use rusqlite::config::DbConfig;
    let mut uri = String::from("file:");
    for c in path.to_string_lossy().chars() {
        match c {
            '?' | '#' | '%' => uri.push_str(&format!("%{:02X}", c as u32)),
            c => uri.push(c),
        }
    }
    uri.push_str("?immutable=1");
    let conn = rusqlite::Connection::open_with_flags(
        &uri,
        rusqlite::OpenFlags::SQLITE_OPEN_READ_ONLY
            | rusqlite::OpenFlags::SQLITE_OPEN_NO_MUTEX
            | rusqlite::OpenFlags::SQLITE_OPEN_URI,
    )
    .map_err(|e| e.to_string())?;
    for (flag, on) in [
        (DbConfig::SQLITE_DBCONFIG_DEFENSIVE, true),
        (DbConfig::SQLITE_DBCONFIG_TRUSTED_SCHEMA, false),
        (DbConfig::SQLITE_DBCONFIG_ENABLE_TRIGGER, false),
        (DbConfig::SQLITE_DBCONFIG_ENABLE_VIEW, false),
    ] {
        conn.set_db_config(flag, on)
            .map_err(|e| format!("cannot harden the sqlite connection: {e}"))?;
    }
    conn.execute_batch("PRAGMA trusted_schema = OFF; PRAGMA query_only = ON;")
        .map_err(|e| format!("cannot harden the sqlite connection: {e}"))?;
    let mut steps = 0u64;
    conn.progress_handler(
        RPMDB_STEP_UNIT,
        Some(move || {
            steps += 1;
            steps > max_steps
        }),
    );
    Ok(conn)
}

/// Packages of an `rpmdb.sqlite` (written to a temporary file to be opened). The file
/// comes from the image, so it is data, not a program: `Packages` must be a plain table
/// (not a view, whose recursive CTE could run forever), and reading it is bounded in
/// rows and SQLite steps.
pub fn parse_rpm_sqlite(
    bytes: &[u8],
    path: &str,
    ecosystem: &str,
) -> Result<Vec<ImagePackage>, String> {
    Ok(read_rpm_sqlite(bytes, path, ecosystem)?.0)
}

/// A file a package owns: path without the leading `/`, package name, mode.
pub type OwnedFile = (String, String, u32);

/// Packages of an `rpmdb.sqlite` and the files they own.
pub fn read_rpm_sqlite(
    bytes: &[u8],
    path: &str,
    ecosystem: &str,
) -> Result<(Vec<ImagePackage>, Vec<OwnedFile>), String> {
    let tmp = tempfile::Builder::new()
        .prefix("rampart-rpmdb-")
        .tempfile()
        .map_err(|e| format!("temporary file: {e}"))?;
    std::fs::write(tmp.path(), bytes).map_err(|e| format!("temporary file: {e}"))?;
    let conn = open_untrusted_sqlite(tmp.path(), RPMDB_MAX_STEPS)?;
    let interrupted = |e: rusqlite::Error| {
        if e.sqlite_error_code() == Some(rusqlite::ErrorCode::OperationInterrupted) {
            format!("{path}: reading the database took more than the step budget ({RPMDB_MAX_STEPS} x {RPMDB_STEP_UNIT} SQLite steps): a hostile database?")
        } else {
            format!("not an rpm sqlite database: {e}")
        }
    };
    let kind: Option<String> = conn
        .query_row(
            "SELECT type FROM sqlite_master WHERE name = 'Packages' COLLATE NOCASE",
            [],
            |r| r.get(0),
        )
        .map_or_else(
            |e| match e {
                rusqlite::Error::QueryReturnedNoRows => Ok(None),
                e => Err(interrupted(e)),
            },
            |k| Ok(Some(k)),
        )?;
    match kind.as_deref() {
        Some("table") => {
            // `blob` must be stored data, not an expression evaluated per row.
            let hidden: Option<i64> = conn
                .query_row(
                    "SELECT hidden FROM pragma_table_xinfo('Packages') WHERE name = 'blob' COLLATE NOCASE",
                    [],
                    |r| r.get(0),
                )
                .map_or_else(
                    |e| match e {
                        rusqlite::Error::QueryReturnedNoRows => Ok(None),
                        e => Err(interrupted(e)),
                    },
                    |h| Ok(Some(h)),
                )?;
            match hidden {
                Some(0) => {}
                Some(_) => {
                    return Err(format!(
                        "{path}: `Packages.blob` is a generated (computed) column, not stored data: refusing to evaluate SQL the image supplies"
                    ))
                }
                None => return Err(format!("{path}: `Packages` has no `blob` column")),
            }
        }
        Some(other) => {
            return Err(format!(
            "{path}: `Packages` is a {other}, not a table: refusing to run SQL the image supplies"
        ))
        }
        None => return Err(format!("{path}: no `Packages` table")),
    }
    let mut stmt = conn
        .prepare("SELECT blob FROM Packages")
        .map_err(interrupted)?;
    let mut rows = stmt.query([]).map_err(interrupted)?;
    let mut out = Vec::new();
    let mut files = Vec::new();
    let mut n = 0usize;
    while let Some(row) = rows.next().map_err(interrupted)? {
        n += 1;
        if n > RPMDB_MAX_ROWS {
            return Err(format!(
                "{path}: more than {RPMDB_MAX_ROWS} rows in `Packages`"
            ));
        }
        let Ok(blob) = row.get_ref(0).and_then(|v| Ok(v.as_blob()?)) else {
            continue;
        };
        let Some(h) = parse_rpm_header(blob) else {
            continue;
        };
        if h.name == "gpg-pubkey" {
            continue;
        }
        for (f, mode) in &h.files {
            files.push((f.clone(), h.name.clone(), *mode));
        }
        let version = match h.epoch {
            Some(e) if e > 0 => format!("{e}:{}-{}", h.version, h.release),
            _ => format!("{}-{}", h.version, h.release),
        };
        let mut p = ImagePackage::new(PackageKind::Rpm, ecosystem, &h.name, version, path);
        p.arch = h.arch.clone();
        if let Some((sn, sv)) = h.source_rpm.as_deref().and_then(split_source_rpm) {
            p.source_name = Some(sn);
            let full = match h.epoch {
                Some(e) if e > 0 => format!("{e}:{sv}"),
                _ => sv,
            };
            if full != p.version {
                p.source_version = Some(full);
            }
        }
        p.licenses.extend(h.license.clone());
        out.push(p);
    }
    Ok((out, files))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn os_release() {
        let o = parse_os_release("PRETTY_NAME=\"Debian GNU/Linux 12 (bookworm)\"\nID=debian\nVERSION_ID=\"12\"\nVERSION_CODENAME=bookworm\n");
        assert_eq!(o.ecosystem().as_deref(), Some("Debian:12"));
        let a = parse_os_release("ID=alpine\nVERSION_ID=3.20.3\n");
        assert_eq!(a.ecosystem().as_deref(), Some("Alpine:v3.20"));
        let u = parse_os_release(
            "ID=ubuntu\nVERSION_ID=\"22.04\"\nVERSION=\"22.04.4 LTS (Jammy Jellyfish)\"\n",
        );
        assert_eq!(u.ecosystem().as_deref(), Some("Ubuntu:22.04:LTS"));
        assert!(eol(&a, "2026-11-23").is_some());
        assert!(eol(&a, "2025-01-01").is_none());
        assert!(eol(&o, "2026-11-23").is_none());
        let d10 = parse_os_release("ID=debian\nVERSION_ID=\"10\"\n");
        assert_eq!(eol(&d10, "2026-11-23").map(|e| e.until), Some("2024-06-30"));
        let d1 = parse_os_release("ID=debian\nVERSION_ID=\"1\"\n");
        assert!(
            eol(&d1, "2026-11-23").is_none(),
            "10 is not a prefix match of 1"
        );
    }

    #[test]
    fn dpkg() {
        let s = "Package: libssl3\nStatus: install ok installed\nArchitecture: amd64\nSource: openssl (3.0.11-1~deb12u2)\nVersion: 3.0.11-1~deb12u2\nDescription: x\n more\n\nPackage: gone\nStatus: deinstall ok config-files\nVersion: 1\n\nPackage: bash\nStatus: install ok installed\nVersion: 5.2.15-2+b2\nSource: bash (5.2.15-2)\n";
        let p = parse_dpkg(s, "var/lib/dpkg/status", "Debian:12");
        assert_eq!(p.len(), 2);
        assert_eq!(p[0].source_name.as_deref(), Some("openssl"));
        assert_eq!(p[0].source_version, None);
        assert_eq!(p[0].line, Some(1));
        assert_eq!(p[1].source_version.as_deref(), Some("5.2.15-2"));
        assert_eq!(p[1].line, Some(13));
    }

    #[test]
    fn apk() {
        let s = "C:Q1abc=\nP:musl\nV:1.2.5-r0\nA:x86_64\nL:MIT\no:musl\n\nP:busybox-binsh\nV:1.36.1-r29\no:busybox\n";
        let p = parse_apk(s, "lib/apk/db/installed", "Alpine:v3.20");
        assert_eq!(p.len(), 2);
        assert_eq!(p[1].source_name.as_deref(), Some("busybox"));
        assert_eq!(p[0].licenses, vec!["MIT".to_string()]);
    }

    /// The progress handler stops SQL that runs too long, whatever the schema checks
    /// let through; writes are refused.
    #[test]
    fn untrusted_sqlite_is_bounded_and_read_only() {
        let dir = tempfile::tempdir().unwrap();
        let db = dir.path().join("x.sqlite");
        rusqlite::Connection::open(&db)
            .unwrap()
            .execute_batch("CREATE TABLE t (x);")
            .unwrap();
        let conn = open_untrusted_sqlite(&db, 20).unwrap();
        let t = std::time::Instant::now();
        let e = conn
            .query_row(
                "WITH RECURSIVE n(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM n) SELECT count(*) FROM n",
                [],
                |r| r.get::<_, i64>(0),
            )
            .unwrap_err();
        assert_eq!(
            e.sqlite_error_code(),
            Some(rusqlite::ErrorCode::OperationInterrupted),
            "{e}"
        );
        assert!(t.elapsed() < std::time::Duration::from_secs(5));
        let conn = open_untrusted_sqlite(&db, RPMDB_MAX_STEPS).unwrap();
        assert!(conn.execute("INSERT INTO t VALUES (1)", []).is_err());
    }

    #[test]
    fn rpm_header() {
        // Build a header: NAME, VERSION, RELEASE, EPOCH, SOURCERPM.
        let strings: Vec<(i32, &str)> = vec![
            (TAG_NAME, "openssl-libs"),
            (TAG_VERSION, "3.0.7"),
            (TAG_RELEASE, "27.el9"),
            (TAG_SOURCERPM, "openssl-3.0.7-27.el9.src.rpm"),
        ];
        let mut data = Vec::new();
        let mut index = Vec::new();
        for (tag, s) in &strings {
            index.push((*tag, 6, data.len() as i32));
            data.extend_from_slice(s.as_bytes());
            data.push(0);
        }
        while data.len() % 4 != 0 {
            data.push(0);
        }
        index.push((TAG_EPOCH, 4, data.len() as i32));
        data.extend_from_slice(&1i32.to_be_bytes());
        let mut blob = Vec::new();
        blob.extend_from_slice(&(index.len() as i32).to_be_bytes());
        blob.extend_from_slice(&(data.len() as i32).to_be_bytes());
        for (tag, ty, off) in &index {
            for v in [*tag, *ty, *off, 1] {
                blob.extend_from_slice(&v.to_be_bytes());
            }
        }
        blob.extend_from_slice(&data);
        let h = parse_rpm_header(&blob).unwrap();
        assert_eq!(h.name, "openssl-libs");
        assert_eq!(h.epoch, Some(1));
        assert_eq!(
            split_source_rpm(h.source_rpm.as_deref().unwrap()),
            Some(("openssl".into(), "3.0.7-27.el9".into()))
        );
        assert!(parse_rpm_header(&blob[..10]).is_none());
        assert!(h.files.is_empty());

        // File lists: DIRNAMES[DIRINDEXES[i]] + BASENAMES[i], FILEMODES[i].
        let mut data = Vec::new();
        let mut index: Vec<(i32, i32, i32, i32)> = Vec::new();
        index.push((TAG_NAME, 6, 0, 1));
        data.extend_from_slice(b"util-linux\0");
        index.push((TAG_BASENAMES, 8, data.len() as i32, 2));
        data.extend_from_slice(b"su\0mount\0");
        index.push((TAG_DIRNAMES, 8, data.len() as i32, 1));
        data.extend_from_slice(b"/usr/bin/\0");
        while data.len() % 4 != 0 {
            data.push(0);
        }
        index.push((TAG_DIRINDEXES, 4, data.len() as i32, 2));
        data.extend_from_slice(&0i32.to_be_bytes());
        data.extend_from_slice(&0i32.to_be_bytes());
        index.push((TAG_FILEMODES, 3, data.len() as i32, 2));
        data.extend_from_slice(&0o104755u16.to_be_bytes());
        data.extend_from_slice(&0o100755u16.to_be_bytes());
        let mut fb = Vec::new();
        fb.extend_from_slice(&(index.len() as i32).to_be_bytes());
        fb.extend_from_slice(&(data.len() as i32).to_be_bytes());
        for (tag, ty, off, count) in &index {
            for v in [*tag, *ty, *off, *count] {
                fb.extend_from_slice(&v.to_be_bytes());
            }
        }
        fb.extend_from_slice(&data);
        let fh = parse_rpm_header(&fb).unwrap();
        assert_eq!(
            fh.files,
            vec![
                ("usr/bin/su".to_string(), 0o104755),
                ("usr/bin/mount".to_string(), 0o100755)
            ]
        );
        // A count past the data is no file list, not a panic.
        let mut bad = fb.clone();
        bad[8 + 16 + 12..8 + 16 + 16].copy_from_slice(&i32::MAX.to_be_bytes());
        assert!(parse_rpm_header(&bad).unwrap().files.is_empty());
        assert!(parse_rpm_header(&[0xff; 32]).is_none());

        // And through a real sqlite file.
        let dir = tempfile::tempdir().unwrap();
        let db = dir.path().join("rpmdb.sqlite");
        let c = rusqlite::Connection::open(&db).unwrap();
        c.execute_batch(
            "CREATE TABLE Packages (hnum INTEGER PRIMARY KEY AUTOINCREMENT, blob BLOB NOT NULL);",
        )
        .unwrap();
        c.execute("INSERT INTO Packages (blob) VALUES (?1)", [&blob])
            .unwrap();
        drop(c);
        let bytes = std::fs::read(&db).unwrap();
        let pk = parse_rpm_sqlite(&bytes, "var/lib/rpm/rpmdb.sqlite", "Red Hat").unwrap();
        assert_eq!(pk.len(), 1);
        assert_eq!(pk[0].version, "1:3.0.7-27.el9");
        assert_eq!(pk[0].source_name.as_deref(), Some("openssl"));
        assert!(parse_rpm_sqlite(b"not sqlite", "x", "Red Hat").is_err());
    }
}
