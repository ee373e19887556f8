//! SARIF 2.1.0, through a typed model of the part of the standard Rampart writes.
//!
//! Mapping (what GitHub code scanning and other SARIF viewers read):
//!
//! - `tool.driver.rules[]` comes from `report.rules` (the metadata of the rules that
//!   fired); a finding whose rule is missing there gets a descriptor built from the finding.
//! - severity → `level`: critical/high → `error`, medium → `warning`, low/info → `note`;
//!   `properties.security-severity` carries [`Severity::score`] as a string.
//! - file paths are relative to `%SRCROOT%`; `originalUriBaseIds` is written only when the
//!   report's target is an absolute path.
//! - Kubernetes objects add a logical location `Kind/ns/name`; URLs, packages and images
//!   without a file become logical locations only.
//! - `partialFingerprints["rampart/v1"]` is the finding's fingerprint (never line-based).
//! - suppressed findings carry `suppressions[]` (`inSource` for inline comments,
//!   `external` for ignore files and baselines).
//! - scan errors become `invocations[0].toolExecutionNotifications`; run `properties`
//!   carry `rampart/config` (the configuration file and what it set or was refused),
//!   `rampart/incomplete` (errors not allowed: the run exits 2) and
//!   `rampart/errorsAllowed`.
//!
//! Columns are Rampart's 1-based byte columns; SARIF's default unit is UTF-16 code units,
//! so columns after non-ASCII text on the same line can be off.

use crate::text::first_url;
use crate::RenderError;
use rampart_core::finding::SuppressionKind;
use rampart_core::{FailOnUnknown, Finding, Location, Report, RuleMeta, Severity, Span};
use serde::{Deserialize, Serialize};
use std::collections::{BTreeMap, HashMap};

/// The `$schema` written in every log.
pub const SARIF_SCHEMA: &str = "https://json.schemastore.org/sarif-2.1.0.json";
/// The SARIF version written.
pub const SARIF_VERSION: &str = "2.1.0";
/// Where the tool is documented (`tool.driver.informationUri`).
pub const INFORMATION_URI: &str = "https://example.invalid/rampart";
/// The base id that relative artifact URIs are resolved against.
pub const SRCROOT: &str = "%SRCROOT%";
/// The key of Rampart's fingerprint in `partialFingerprints`.
pub const FINGERPRINT_KEY: &str = "rampart/v1";

/// A SARIF log (`sarifLog`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SarifLog {
    /// Always [`SARIF_SCHEMA`].
    #[serde(rename = "$schema")]
    pub schema: String,
    /// Always [`SARIF_VERSION`].
    pub version: String,
    /// One run per log.
    pub runs: Vec<Run>,
}

/// One invocation of the tool (`run`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Run {
    /// The tool and its rules.
    pub tool: Tool,
    /// Where `%SRCROOT%` is, when known.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub original_uri_base_ids: Option<BTreeMap<String, ArtifactLocation>>,
    /// How the tool ran; Rampart writes exactly one.
    pub invocations: Vec<Invocation>,
    /// The findings.
    pub results: Vec<SarifResult>,
    /// `rampart/config`: the configuration file, its source, what it set and what it was
    /// refused; `rampart/errorsAllowed` when scan errors were accepted.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub properties: BTreeMap<String, serde_json::Value>,
}

/// `tool`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Tool {
    /// The driver component.
    pub driver: ToolComponent,
}

/// `toolComponent`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ToolComponent {
    /// `rampart`.
    pub name: String,
    /// Tool version.
    pub version: String,
    /// Same as `version` (SemVer).
    pub semantic_version: String,
    /// Documentation URL.
    pub information_uri: String,
    /// Rule descriptors; results point at them by `ruleIndex`.
    pub rules: Vec<ReportingDescriptor>,
}

/// A rule (`reportingDescriptor`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ReportingDescriptor {
    /// The rule id (`secret/aws-access-key`).
    pub id: String,
    /// PascalCase of the slug (`AwsAccessKey`), or the id.
    pub name: String,
    /// The rule's title.
    pub short_description: MultiformatMessage,
    /// The rule's description.
    pub full_description: MultiformatMessage,
    /// Remediation and references.
    pub help: MultiformatMessage,
    /// The first URL among the references.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub help_uri: Option<String>,
    /// Level from the rule's default severity.
    pub default_configuration: ReportingConfiguration,
    /// Tags, `security-severity`, `precision`.
    pub properties: RuleProperties,
}

/// `multiformatMessageString`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct MultiformatMessage {
    /// Plain text.
    pub text: String,
    /// Markdown, when it differs from the text.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub markdown: Option<String>,
}

/// `reportingConfiguration`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ReportingConfiguration {
    /// Default level.
    pub level: Level,
}

/// Rule `properties` read by GitHub code scanning.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RuleProperties {
    /// `security`, the area and the rule's tags.
    pub tags: Vec<String>,
    /// CVSS-like score as a string (`"8.0"`).
    #[serde(rename = "security-severity")]
    pub security_severity: String,
    /// `very-high`, `high`, `medium` or `low`.
    pub precision: String,
    /// Rampart's own severity name.
    #[serde(rename = "rampart/severity")]
    pub severity: Severity,
    /// Equivalent ids in peer tools.
    #[serde(
        rename = "rampart/peers",
        default,
        skip_serializing_if = "Vec::is_empty"
    )]
    pub peers: Vec<String>,
}

/// SARIF `level`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Level {
    /// Critical and high.
    Error,
    /// Medium.
    Warning,
    /// Low and info.
    Note,
}

impl From<Severity> for Level {
    fn from(s: Severity) -> Level {
        match s {
            // Unknown: as the default gate counts it (high).
            Severity::Critical | Severity::High | Severity::Unknown => Level::Error,
            Severity::Medium => Level::Warning,
            Severity::Low | Severity::Info => Level::Note,
        }
    }
}

/// `invocation`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Invocation {
    /// Always true: scan errors do not stop a scan.
    pub execution_successful: bool,
    /// One notification per scan error.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub tool_execution_notifications: Vec<Notification>,
}

/// `notification`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Notification {
    /// `error`.
    pub level: Level,
    /// What went wrong.
    pub message: Message,
    /// The file concerned.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub locations: Vec<SarifLocation>,
}

/// `message`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Message {
    /// Plain text.
    pub text: String,
}

/// One finding (`result`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct SarifResult {
    /// The rule id.
    pub rule_id: String,
    /// Index into `tool.driver.rules`.
    pub rule_index: usize,
    /// From the finding's severity.
    pub level: Level,
    /// The finding's message.
    pub message: Message,
    /// Where it is.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub locations: Vec<SarifLocation>,
    /// `{"rampart/v1": fingerprint}`.
    pub partial_fingerprints: BTreeMap<String, String>,
    /// Present when the finding is suppressed.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub suppressions: Vec<SarifSuppression>,
    /// Severity, evidence (redacted), commit and the finding's own properties.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub properties: BTreeMap<String, serde_json::Value>,
}

/// `location`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct SarifLocation {
    /// File and region.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub physical_location: Option<PhysicalLocation>,
    /// Kubernetes object, package, URL or image.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub logical_locations: Vec<LogicalLocation>,
}

/// `physicalLocation`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct PhysicalLocation {
    /// The file.
    pub artifact_location: ArtifactLocation,
    /// The span, when known.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub region: Option<Region>,
}

/// `artifactLocation`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ArtifactLocation {
    /// Percent-encoded URI reference.
    pub uri: String,
    /// `%SRCROOT%` for paths relative to the scanned root.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub uri_base_id: Option<String>,
}

/// `region` (1-based; `endColumn` is exclusive).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Region {
    /// First line.
    pub start_line: usize,
    /// First column, omitted for whole-line spans.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub start_column: Option<usize>,
    /// Last line.
    pub end_line: usize,
    /// Column after the last character, omitted for whole-line spans.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub end_column: Option<usize>,
}

impl From<Span> for Region {
    fn from(s: Span) -> Region {
        let start_line = s.start_line.max(1);
        let end_line = s.end_line.max(start_line);
        // `Span::line` (and any empty single-line span) means "the line", not an
        // insertion point at column 1.
        let whole_line = end_line == start_line && s.end_column <= s.start_column;
        Region {
            start_line,
            start_column: (!whole_line).then_some(s.start_column.max(1)),
            end_line,
            end_column: (!whole_line).then_some(s.end_column.max(1)),
        }
    }
}

/// `logicalLocation`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct LogicalLocation {
    /// Short name (object name, package name …).
    pub name: String,
    /// Full name (`Kind/ns/name`, `ecosystem/name@version`, `METHOD url` …).
    pub fully_qualified_name: String,
    /// `object`, `package`, `resource` or `module`.
    pub kind: String,
}

/// `suppression`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SarifSuppression {
    /// `inSource` or `external`.
    pub kind: String,
    /// Always `accepted`: Rampart only applies suppressions it accepted.
    pub status: String,
    /// The reason given.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub justification: Option<String>,
    /// Where it is declared (`file:line`) and by which mechanism.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub properties: BTreeMap<String, serde_json::Value>,
}

/// Render the report as pretty SARIF 2.1.0 JSON, ending with a newline.
pub fn render(report: &Report) -> Result<String, RenderError> {
    let mut out = serde_json::to_string_pretty(&to_sarif(report))?;
    out.push('\n');
    Ok(out)
}

/// Build the SARIF model of a report.
pub fn to_sarif(report: &Report) -> SarifLog {
    let unknown = report.summary.fail_on_unknown;
    let mut rules: Vec<ReportingDescriptor> = Vec::new();
    let mut index: HashMap<String, usize> = HashMap::new();
    for meta in &report.rules {
        if !index.contains_key(&meta.id) {
            index.insert(meta.id.clone(), rules.len());
            rules.push(descriptor(meta, unknown));
        }
    }
    let mut results = Vec::with_capacity(report.findings.len());
    for f in &report.findings {
        let rule_index = match index.get(&f.rule_id) {
            Some(&i) => i,
            None => {
                // The lookup did not know the rule: describe it from the finding.
                let i = rules.len();
                index.insert(f.rule_id.clone(), i);
                rules.push(descriptor(&meta_from_finding(f), unknown));
                i
            }
        };
        results.push(result(f, rule_index, unknown));
    }
    let notifications = report
        .errors
        .iter()
        .map(|e| Notification {
            level: Level::Error,
            message: Message {
                text: e.message.clone(),
            },
            locations: vec![SarifLocation {
                physical_location: Some(PhysicalLocation {
                    artifact_location: artifact(&e.path),
                    region: e.line.map(|l| Region::from(Span::line(l))),
                }),
                logical_locations: Vec::new(),
            }],
        })
        .collect();
    SarifLog {
        schema: SARIF_SCHEMA.to_string(),
        version: SARIF_VERSION.to_string(),
        runs: vec![Run {
            tool: Tool {
                driver: ToolComponent {
                    name: report.tool.name.clone(),
                    version: report.tool.version.clone(),
                    semantic_version: report.tool.version.clone(),
                    information_uri: INFORMATION_URI.to_string(),
                    rules,
                },
            },
            original_uri_base_ids: srcroot(&report.target),
            invocations: vec![Invocation {
                execution_successful: true,
                tool_execution_notifications: notifications,
            }],
            results,
            properties: run_properties(report),
        }],
    }
}

fn run_properties(report: &Report) -> BTreeMap<String, serde_json::Value> {
    let mut props = BTreeMap::new();
    if let Some(c) = &report.summary.config {
        if let Ok(v) = serde_json::to_value(c) {
            props.insert("rampart/config".to_string(), v);
        }
    }
    if let Some(d) = &report.summary.display_filter {
        if let Ok(v) = serde_json::to_value(d) {
            props.insert("rampart/displayFilter".to_string(), v);
        }
    }
    if report.summary.errors_allowed {
        props.insert("rampart/errorsAllowed".to_string(), true.into());
    }
    if !report.errors.is_empty() && !report.summary.errors_allowed {
        props.insert("rampart/incomplete".to_string(), true.into());
    }
    props
}

/// The level of a severity, `Unknown` as the run's gate counted it (`fail_on_unknown`):
/// `error` by default, `note` when ignored.
fn as_gated(s: Severity, unknown: FailOnUnknown) -> Level {
    match (s, unknown) {
        (Severity::Unknown, FailOnUnknown::As(k)) => k.into(),
        (Severity::Unknown, FailOnUnknown::Ignore) => Level::Note,
        (s, _) => s.into(),
    }
}

/// `security-severity` with `Unknown` read as [`as_gated`] does.
fn gated_score(s: Severity, unknown: FailOnUnknown) -> f32 {
    match (s, unknown) {
        (Severity::Unknown, FailOnUnknown::As(k)) => k.score(),
        (Severity::Unknown, FailOnUnknown::Ignore) => 0.0,
        (s, _) => s.score(),
    }
}

fn descriptor(meta: &RuleMeta, unknown: FailOnUnknown) -> ReportingDescriptor {
    let mut tags = vec!["security".to_string()];
    for t in std::iter::once(&meta.area).chain(&meta.tags) {
        if !t.is_empty() && !tags.contains(t) {
            tags.push(t.clone());
        }
    }
    let mut help_md = meta.remediation.clone();
    if !meta.references.is_empty() {
        help_md.push_str("\n\n**References**\n");
        for r in &meta.references {
            help_md.push_str(&format!("\n- {r}"));
        }
    }
    ReportingDescriptor {
        id: meta.id.clone(),
        name: rule_name(&meta.id),
        short_description: MultiformatMessage {
            text: meta.title.clone(),
            markdown: None,
        },
        full_description: MultiformatMessage {
            text: meta.description.clone(),
            markdown: Some(meta.description.clone()),
        },
        help: MultiformatMessage {
            text: meta.remediation.clone(),
            markdown: Some(help_md),
        },
        help_uri: first_url(&meta.references).map(str::to_string),
        default_configuration: ReportingConfiguration {
            level: as_gated(meta.severity, unknown),
        },
        properties: RuleProperties {
            tags,
            security_severity: format!("{:.1}", gated_score(meta.severity, unknown)),
            precision: "high".to_string(),
            severity: meta.severity,
            peers: meta.peers.clone(),
        },
    }
}

fn meta_from_finding(f: &Finding) -> RuleMeta {
    RuleMeta {
        id: f.rule_id.clone(),
        area: f
            .rule_id
            .split_once('/')
            .map(|(a, _)| a.to_string())
            .unwrap_or_default(),
        title: f.title.clone(),
        severity: f.severity,
        description: f.title.clone(),
        remediation: f.remediation.clone(),
        references: f.references.clone(),
        peers: Vec::new(),
        tags: Vec::new(),
    }
}

/// `secret/aws-access-key` → `AwsAccessKey`; the id itself when the slug has no letters
/// or digits.
pub fn rule_name(id: &str) -> String {
    let slug = id.split_once('/').map_or(id, |(_, s)| s);
    let mut out = String::new();
    for word in slug.split(|c: char| !c.is_ascii_alphanumeric()) {
        let mut chars = word.chars();
        if let Some(first) = chars.next() {
            out.push(first.to_ascii_uppercase());
            out.extend(chars);
        }
    }
    if out.is_empty() {
        id.to_string()
    } else {
        out
    }
}

fn result(f: &Finding, rule_index: usize, unknown: FailOnUnknown) -> SarifResult {
    let mut properties = BTreeMap::new();
    properties.insert("severity".to_string(), f.severity.as_str().into());
    if let Some(ev) = &f.evidence {
        properties.insert("evidence".to_string(), ev.clone().into());
    }
    if let Location::File {
        commit: Some(c), ..
    } = &f.location
    {
        if let Ok(v) = serde_json::to_value(c) {
            properties.insert("commit".to_string(), v);
        }
    }
    for (k, v) in &f.properties {
        properties.entry(k.clone()).or_insert_with(|| v.clone());
    }
    let suppressions = f
        .suppression
        .iter()
        .map(|s| {
            let mut props = BTreeMap::new();
            props.insert("rampart/kind".to_string(), s.kind.as_str().into());
            if let Some(src) = &s.source {
                props.insert("rampart/source".to_string(), src.clone().into());
            }
            SarifSuppression {
                kind: match s.kind {
                    SuppressionKind::Inline => "inSource",
                    SuppressionKind::IgnoreFile
                    | SuppressionKind::Baseline
                    | SuppressionKind::Vex
                    | SuppressionKind::Config => "external",
                }
                .to_string(),
                status: "accepted".to_string(),
                justification: s.reason.clone(),
                properties: props,
            }
        })
        .collect();
    SarifResult {
        rule_id: f.rule_id.clone(),
        rule_index,
        level: as_gated(f.severity, unknown),
        message: Message {
            text: f.message.clone(),
        },
        locations: vec![location(&f.location)],
        partial_fingerprints: BTreeMap::from([(
            FINGERPRINT_KEY.to_string(),
            f.fingerprint.clone(),
        )]),
        suppressions,
        properties,
    }
}

fn location(loc: &Location) -> SarifLocation {
    let physical = |path: &str, span: Option<Span>| PhysicalLocation {
        artifact_location: artifact(path),
        region: span.map(Region::from),
    };
    match loc {
        Location::File { path, span, .. } => SarifLocation {
            physical_location: Some(physical(path, *span)),
            logical_locations: Vec::new(),
        },
        Location::K8sObject {
            object, path, span, ..
        } => SarifLocation {
            physical_location: path.as_deref().map(|p| physical(p, *span)),
            logical_locations: vec![LogicalLocation {
                name: object.name.clone(),
                fully_qualified_name: object.display(),
                kind: "object".to_string(),
            }],
        },
        Location::Image { image, path, .. } => SarifLocation {
            // A path inside the image is not under the source root: no `%SRCROOT%`.
            physical_location: path.as_deref().map(|p| PhysicalLocation {
                artifact_location: ArtifactLocation {
                    uri: encode_path(p.trim_start_matches('/')),
                    uri_base_id: None,
                },
                region: None,
            }),
            logical_locations: vec![LogicalLocation {
                name: image.clone(),
                fully_qualified_name: loc.display(),
                kind: "module".to_string(),
            }],
        },
        Location::Package {
            name,
            found_in,
            span,
            ..
        } => SarifLocation {
            physical_location: found_in.as_deref().map(|p| physical(p, *span)),
            logical_locations: vec![LogicalLocation {
                name: name.clone(),
                fully_qualified_name: loc.display(),
                kind: "package".to_string(),
            }],
        },
        Location::Url { url, .. } => SarifLocation {
            physical_location: None,
            logical_locations: vec![LogicalLocation {
                name: url.clone(),
                fully_qualified_name: loc.display(),
                kind: "resource".to_string(),
            }],
        },
    }
}

/// The artifact location of a report path: relative paths under `%SRCROOT%`, absolute
/// ones as `file://` URIs.
fn artifact(path: &str) -> ArtifactLocation {
    let path = path.replace('\\', "/");
    if let Some(abs) = absolute(&path) {
        return ArtifactLocation {
            uri: format!("file://{}", encode_path(&abs)),
            uri_base_id: None,
        };
    }
    let rel = path.trim_start_matches("./");
    ArtifactLocation {
        uri: encode_path(rel),
        uri_base_id: Some(SRCROOT.to_string()),
    }
}

/// `/a/b` → `/a/b`, `C:/a` → `/C:/a`; `None` for a relative path.
fn absolute(path: &str) -> Option<String> {
    if path.starts_with('/') {
        return Some(path.to_string());
    }
    let b = path.as_bytes();
    if b.len() >= 3 && b[0].is_ascii_alphabetic() && b[1] == b':' && b[2] == b'/' {
        return Some(format!("/{path}"));
    }
    None
}

/// Percent-encode everything but unreserved characters and `/` (so `:` in a first
/// segment can never read as a scheme). A Windows drive `/C:` keeps its colon.
pub fn encode_path(path: &str) -> String {
    let mut out = String::with_capacity(path.len());
    let drive = {
        let b = path.as_bytes();
        b.len() >= 3 && b[0] == b'/' && b[1].is_ascii_alphabetic() && b[2] == b':'
    };
    for (i, byte) in path.bytes().enumerate() {
        let keep = byte.is_ascii_alphanumeric()
            || matches!(byte, b'-' | b'.' | b'_' | b'~' | b'/')
            || (drive && i == 2);
        if keep {
            out.push(char::from(byte));
        } else {
            out.push_str(&format!("%{byte:02X}"));
        }
    }
    out
}

/// `originalUriBaseIds` for an absolute target directory; `None` otherwise (`.`, `-`,
/// `git-history:PATH` …), since renderers do not touch the file system to resolve it.
fn srcroot(target: &str) -> Option<BTreeMap<String, ArtifactLocation>> {
    let abs = absolute(&target.replace('\\', "/"))?;
    let mut uri = format!("file://{}", encode_path(&abs));
    if !uri.ends_with('/') {
        uri.push('/');
    }
    Some(BTreeMap::from([(
        SRCROOT.to_string(),
        ArtifactLocation {
            uri,
            uri_base_id: None,
        },
    )]))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::fixture;

    #[test]
    fn rule_names() {
        assert_eq!(rule_name("secret/aws-access-key"), "AwsAccessKey");
        assert_eq!(rule_name("k8s/run_as.root"), "RunAsRoot");
        assert_eq!(rule_name("weird/--"), "weird/--");
        assert_eq!(rule_name("noslash"), "Noslash");
    }

    #[test]
    fn uris() {
        assert_eq!(encode_path("src/my file#1.rs"), "src/my%20file%231.rs");
        assert_eq!(encode_path("a:b/ü"), "a%3Ab/%C3%BC");
        let a = artifact("./dir\\x y.txt");
        assert_eq!(a.uri, "dir/x%20y.txt");
        assert_eq!(a.uri_base_id.as_deref(), Some(SRCROOT));
        let a = artifact("/etc/passwd");
        assert_eq!(
            (a.uri.as_str(), a.uri_base_id),
            ("file:///etc/passwd", None)
        );
        assert_eq!(artifact("C:\\x\\y").uri, "file:///C:/x/y");
        assert_eq!(
            srcroot("/work/repo").unwrap()[SRCROOT].uri,
            "file:///work/repo/"
        );
        assert!(srcroot(".").is_none());
        assert!(srcroot("git-history:/x").is_none());
    }

    #[test]
    fn whole_line_spans_have_no_columns() {
        let r = Region::from(Span::line(7));
        assert_eq!(
            (r.start_line, r.start_column, r.end_column),
            (7, None, None)
        );
        let r = Region::from(Span {
            start_line: 2,
            start_column: 5,
            end_line: 2,
            end_column: 9,
        });
        assert_eq!((r.start_column, r.end_column), (Some(5), Some(9)));
    }

    #[test]
    fn results_point_at_their_rules() {
        let report = fixture::report();
        let log = to_sarif(&report);
        let run = &log.runs[0];
        assert_eq!(run.results.len(), report.findings.len());
        for r in &run.results {
            assert_eq!(run.tool.driver.rules[r.rule_index].id, r.rule_id);
            assert_eq!(r.partial_fingerprints.len(), 1);
        }
        let suppressed: Vec<_> = run
            .results
            .iter()
            .filter(|r| !r.suppressions.is_empty())
            .collect();
        assert_eq!(suppressed.len(), 1);
        assert_eq!(suppressed[0].suppressions[0].kind, "inSource");
        assert_eq!(
            run.invocations[0].tool_execution_notifications.len(),
            report.errors.len()
        );
    }

    #[test]
    fn unknown_rule_gets_a_descriptor_from_the_finding() {
        let mut report = fixture::report();
        report.rules.clear();
        let log = to_sarif(&report);
        let run = &log.runs[0];
        let mut ids: Vec<_> = report.findings.iter().map(|f| f.rule_id.as_str()).collect();
        ids.sort_unstable();
        ids.dedup();
        assert_eq!(run.tool.driver.rules.len(), ids.len());
        for r in &run.results {
            assert_eq!(run.tool.driver.rules[r.rule_index].id, r.rule_id);
        }
    }
}
