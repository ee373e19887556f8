//! Rules for the cloud resources around a cluster (AWS, GCP, Azure), by service: object
//! storage, network, IAM, KMS, managed databases, registries, audit logging, load
//! balancers, secrets managers, block storage. Each carries the Checkov id(s) it
//! matches; `tests/it/checkov.rs` compares its per-resource verdicts with Checkov's own.
//!
//! A check returns a [`Verdict`]: `Unknown` when the value it needs is an unevaluated
//! expression (a variable without a default, another resource's attribute), so an
//! unknown value is never a finding and never counted as a pass.

use super::hcl::{is_expr, is_false, is_true, Block};
use super::{line_of, open_cidr, strings, Check, Hits, Module, Rule};
use crate::meta::MetaSpec;
use rampart_core::Severity;
use serde_json::Value;

/// A check's answer for one resource.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Verdict {
    /// Checked, nothing wrong.
    Pass,
    /// Checked, these problems.
    Fail(Hits),
    /// The value the check needs is not known (an unevaluated expression).
    Unknown,
    /// Nothing to check on this resource (an egress rule, an asymmetric key, no policy).
    NotApplicable,
}

impl Verdict {
    fn fail(line: usize, msg: impl Into<String>) -> Verdict {
        Verdict::Fail(vec![(line, msg.into())])
    }
}

macro_rules! cloud {
    ($slug:expr, $sev:ident, [$($res:expr),*], $title:expr, $desc:expr, $fix:expr, [$($r:expr),*], $check:expr) => {
        Rule {
            spec: MetaSpec {
                id: concat!("terraform/", $slug),
                severity: Severity::$sev,
                title: $title,
                description: $desc,
                remediation: $fix,
                references: &[$($r),*],
            },
            resources: &[$($res),*],
            check: Check::Cloud($check),
        }
    };
}

const S3: &str = "aws_s3_bucket";
const SG: &str = "aws_security_group";
const SG_RULE: &str = "aws_security_group_rule";
const SG_INGRESS: &str = "aws_vpc_security_group_ingress_rule";
const GCP_FW: &str = "google_compute_firewall";
const NSG: &str = "azurerm_network_security_group";
const NSG_RULE: &str = "azurerm_network_security_rule";

/// Every cloud rule.
pub fn rules() -> Vec<Rule> {
    vec![
        // ---- object storage
        cloud!("s3-public-read-acl", High, [S3], "S3 bucket ACL allows public read",
            "A canned ACL `public-read`, `public-read-write`, `website` or `authenticated-read` (on the bucket or its `aws_s3_bucket_acl`), or a grant to the AllUsers/AuthenticatedUsers groups, lets anyone on the internet (or any AWS account) list and read the bucket.",
            "Use `acl = \"private\"` (or no ACL, with `aws_s3_bucket_ownership_controls` set to `BucketOwnerEnforced`) and an `aws_s3_bucket_public_access_block` with all four settings `true`; serve public content through CloudFront.",
            ["CKV_AWS_20", "CWE-284", "https://docs.aws.amazon.com/AmazonS3/latest/userguide/acl-overview.html#canned-acl"], s3_public_read),
        cloud!("s3-public-write-acl", Critical, [S3], "S3 bucket ACL allows public write",
            "A `public-read-write` ACL or a WRITE/FULL_CONTROL grant to the AllUsers/AuthenticatedUsers groups lets anyone upload, overwrite and (with versioning off) destroy objects.",
            "Remove the public grant: `acl = \"private\"` and an `aws_s3_bucket_public_access_block` with all four settings `true`.",
            ["CKV_AWS_57", "CWE-284"], s3_public_write),
        cloud!("s3-policy-any-principal", High, [S3, "aws_s3_bucket_policy"], "S3 bucket policy allows any principal",
            "A bucket policy statement with `Effect = Allow` and `Principal = \"*\"` (or `{AWS = \"*\"}`) and no `Condition` grants its actions to everyone, including anonymous users.",
            "Name the principals (account or role ARNs), or add a `Condition` (e.g. `aws:SourceVpce`, `aws:PrincipalOrgID`) that limits who matches.",
            ["CKV_AWS_70", "CWE-284"], s3_any_principal),
        cloud!("s3-encryption", Medium, [S3], "S3 bucket encryption configuration without a valid algorithm",
            "A server-side encryption configuration (inline or `aws_s3_bucket_server_side_encryption_configuration`) whose rule has no `sse_algorithm`, or one that is not `AES256`, `aws:kms` or `aws:kms:dsse`, does not encrypt as intended. (A bucket without any configuration gets SSE-S3, S3's default since January 2023.)",
            "Set `apply_server_side_encryption_by_default { sse_algorithm = \"aws:kms\" kms_master_key_id = aws_kms_key.k.arn }`.",
            ["CKV_AWS_19", "CWE-311"], s3_encryption),
        cloud!("s3-versioning", Low, [S3], "S3 bucket versioning not enabled",
            "Without versioning an overwritten or deleted object (by mistake, or by ransomware with stolen credentials) cannot be recovered.",
            "Add `aws_s3_bucket_versioning` with `versioning_configuration { status = \"Enabled\" }` (or `versioning { enabled = true }` on provider v3).",
            ["CKV_AWS_21"], s3_versioning),
        cloud!("s3-access-logging", Low, [S3], "S3 bucket access logging not enabled",
            "Without server access logs there is no record of who read or changed objects.",
            "Add `aws_s3_bucket_logging` with a `target_bucket` (or a `logging` block on provider v3).",
            ["CKV_AWS_18"], s3_logging),
        cloud!("s3-public-access-block", Medium, [S3], "S3 bucket without a complete public access block",
            "Without an `aws_s3_bucket_public_access_block` that sets `block_public_acls`, `block_public_policy`, `ignore_public_acls` and `restrict_public_buckets` to `true`, a later ACL or policy change can make the bucket public.",
            "Add `aws_s3_bucket_public_access_block` for the bucket with all four settings `true`.",
            ["CKV2_AWS_6", "CKV_AWS_53", "CKV_AWS_54", "CKV_AWS_55", "CKV_AWS_56"], s3_public_access_block),
        // ---- network
        cloud!("sg-ssh-open", High, [SG, SG_RULE, SG_INGRESS], "Security group allows SSH (22) from anywhere",
            "An ingress rule from `0.0.0.0/0` or `::/0` covering port 22 exposes SSH to the whole internet: brute force and every future sshd vulnerability.",
            "Allow port 22 only from your VPN/bastion CIDRs or security groups, or use SSM Session Manager instead of SSH.",
            ["CKV_AWS_24", "CIS AWS 5.2", "CWE-284"], sg_22),
        cloud!("sg-rdp-open", High, [SG, SG_RULE, SG_INGRESS], "Security group allows RDP (3389) from anywhere",
            "An ingress rule from `0.0.0.0/0` or `::/0` covering port 3389 exposes Remote Desktop to the whole internet.",
            "Allow port 3389 only from your VPN/bastion CIDRs or security groups.",
            ["CKV_AWS_25", "CIS AWS 5.3", "CWE-284"], sg_3389),
        cloud!("gcp-firewall-ssh-open", High, [GCP_FW], "GCP firewall allows SSH (22) from anywhere",
            "An INGRESS firewall rule with `source_ranges` including `0.0.0.0/0` that allows port 22 (or all ports) exposes SSH to the whole internet.",
            "Restrict `source_ranges` to your CIDRs, or use IAP TCP forwarding (`35.235.240.0/20`).",
            ["CKV_GCP_2", "CIS GCP 3.6", "CWE-284"], gcp_fw_22),
        cloud!("gcp-firewall-rdp-open", High, [GCP_FW], "GCP firewall allows RDP (3389) from anywhere",
            "An INGRESS firewall rule with `source_ranges` including `0.0.0.0/0` that allows port 3389 (or all ports) exposes Remote Desktop to the whole internet.",
            "Restrict `source_ranges` to your CIDRs, or use IAP TCP forwarding.",
            ["CKV_GCP_3", "CIS GCP 3.7", "CWE-284"], gcp_fw_3389),
        cloud!("nsg-ssh-open", High, [NSG, NSG_RULE], "Azure NSG allows SSH (22) from the internet",
            "An inbound Allow rule from `*`, `0.0.0.0/0`, `Internet` or `any` covering port 22 exposes SSH to the whole internet.",
            "Restrict `source_address_prefix(es)` to your CIDRs, or use Azure Bastion.",
            ["CKV_AZURE_10", "CIS Azure 6.2", "CWE-284"], nsg_22),
        cloud!("nsg-rdp-open", High, [NSG, NSG_RULE], "Azure NSG allows RDP (3389) from the internet",
            "An inbound Allow rule from `*`, `0.0.0.0/0`, `Internet` or `any` covering port 3389 exposes Remote Desktop to the whole internet.",
            "Restrict `source_address_prefix(es)` to your CIDRs, or use Azure Bastion.",
            ["CKV_AZURE_9", "CIS Azure 6.1", "CWE-284"], nsg_3389),
        // ---- KMS
        cloud!("kms-key-rotation", Medium, ["aws_kms_key"], "KMS key rotation not enabled",
            "A symmetric customer-managed key without `enable_key_rotation = true` keeps the same key material forever.",
            "Set `enable_key_rotation = true` (asymmetric and HMAC keys cannot rotate: set `customer_master_key_spec` accordingly).",
            ["CKV_AWS_7", "CIS AWS 3.6"], kms_rotation),
    ]
}

// ---------------------------------------------------------------- helpers

/// A list-or-scalar value as a list.
fn list(v: &Value) -> Vec<&Value> {
    match v {
        Value::Array(a) => a.iter().collect(),
        Value::Null => Vec::new(),
        other => vec![other],
    }
}

/// The canned ACL of a bucket: its own `acl`, else an `aws_s3_bucket_acl` for it.
/// Returns each ACL value with its line, and the grants (blocks) that apply.
fn bucket_acls<'a>(
    b: &'a Block,
    m: &'a Module<'_>,
) -> (Vec<(usize, &'a Value)>, Vec<(usize, &'a Block)>) {
    let mut acls = Vec::new();
    // Grants of a separate `aws_s3_bucket_acl` (maybe in another file) are reported on
    // the bucket's line.
    let mut grants: Vec<(usize, &Block)> = b.blocks_named("grant").map(|g| (g.line, g)).collect();
    if let Some(a) = b.attr("acl") {
        acls.push((a.line, &a.value));
    }
    for r in m.referring(&["aws_s3_bucket_acl"], "bucket", b, Some("bucket")) {
        if let Some(a) = r.block.attr("acl") {
            acls.push((b.line, &a.value));
        }
        if let Some(p) = r.block.block("access_control_policy") {
            grants.extend(p.blocks_named("grant").map(|g| (b.line, g)));
        }
    }
    (acls, grants)
}

const ALL_USERS: &str = "http://acs.amazonaws.com/groups/global/AllUsers";
const AUTH_USERS: &str = "http://acs.amazonaws.com/groups/global/AuthenticatedUsers";

fn grant_is_public(g: &Block, perms: &[&str]) -> bool {
    let uri = g
        .attr("uri")
        .or_else(|| g.get("grantee.uri"))
        .and_then(|a| a.value.as_str());
    let public = uri.is_some_and(|u| u == ALL_USERS || u == AUTH_USERS);
    let perm = g
        .attr("permissions")
        .map(|a| strings(&a.value).into_iter().map(str::to_string).collect())
        .or_else(|| {
            g.attr("permission")
                .and_then(|a| a.value.as_str().map(|s| vec![s.to_string()]))
        })
        .unwrap_or_default();
    public && perm.iter().any(|p| perms.contains(&p.as_str()))
}

fn s3_acl_check(b: &Block, m: &Module<'_>, bad: &[&str], perms: &[&str]) -> Verdict {
    let (acls, grants) = bucket_acls(b, m);
    let mut hits = Vec::new();
    let mut unknown = false;
    for (line, v) in acls {
        match v.as_str() {
            Some(s) if is_expr(v) => unknown |= !s.is_empty(),
            Some(s) if bad.contains(&s) => hits.push((line, format!("acl = \"{s}\""))),
            _ => {}
        }
    }
    for (line, g) in grants {
        if grant_is_public(g, perms) {
            hits.push((
                line,
                "grant to a public group (AllUsers/AuthenticatedUsers)".into(),
            ));
        }
    }
    if !hits.is_empty() {
        Verdict::Fail(hits)
    } else if unknown {
        Verdict::Unknown
    } else {
        Verdict::Pass
    }
}

fn s3_public_read(b: &Block, m: &Module<'_>) -> Verdict {
    s3_acl_check(
        b,
        m,
        &[
            "public-read",
            "public-read-write",
            "website",
            "authenticated-read",
        ],
        &["READ", "FULL_CONTROL", "READ_ACP"],
    )
}

fn s3_public_write(b: &Block, m: &Module<'_>) -> Verdict {
    s3_acl_check(
        b,
        m,
        &["public-read-write"],
        &["WRITE", "FULL_CONTROL", "WRITE_ACP"],
    )
}

/// A policy document from an attribute: a JSON string (heredoc, `jsonencode(…)`) or an
/// object. `None` when it is an expression or not JSON.
fn policy_doc(v: &Value) -> Option<Value> {
    match v {
        Value::String(s) if !is_expr(v) => serde_json::from_str(s).ok(),
        Value::Object(_) => Some(v.clone()),
        _ => None,
    }
}

fn statements(doc: &Value) -> Vec<&Value> {
    doc.get("Statement").map(list).unwrap_or_default()
}

fn principal_is_any(p: &Value) -> bool {
    match p {
        Value::String(s) => s == "*",
        Value::Object(o) => o
            .get("AWS")
            .is_some_and(|a| list(a).iter().any(|x| x.as_str() == Some("*"))),
        Value::Array(a) => a.iter().any(principal_is_any),
        _ => false,
    }
}

/// Whether a policy `Condition` narrows who matches: some value in it is more than a
/// wildcard (`*`, `arn:aws:iam::*`, `arn:aws:iam::*:root` match every account).
fn restricts(c: &Value) -> bool {
    fn wildcard(s: &str) -> bool {
        s.split(':').all(|seg| {
            matches!(
                seg,
                "" | "*" | "arn" | "aws" | "iam" | "sts" | "root" | "*/*"
            )
        })
    }
    fn any_specific(v: &Value) -> bool {
        match v {
            Value::String(s) => !wildcard(s),
            Value::Bool(_) | Value::Number(_) => true,
            Value::Array(a) => a.iter().any(any_specific),
            Value::Object(o) => o.values().any(any_specific),
            Value::Null => false,
        }
    }
    any_specific(c)
}

fn s3_any_principal(b: &Block, _m: &Module<'_>) -> Verdict {
    let Some(a) = b.attr("policy") else {
        return Verdict::NotApplicable;
    };
    let Some(doc) = policy_doc(&a.value) else {
        return Verdict::Unknown;
    };
    let bad = statements(&doc).into_iter().any(|s| {
        s.get("Effect").and_then(Value::as_str) == Some("Allow")
            && s.get("Principal").is_some_and(principal_is_any)
            && s.get("Condition").is_none_or(|c| !restricts(c))
    });
    if bad {
        Verdict::fail(
            a.line,
            "a statement allows Principal \"*\" without a Condition",
        )
    } else {
        Verdict::Pass
    }
}

/// Nested blocks `name`, and the `content` of `dynamic "name"` blocks (present as
/// far as a scanner can tell: their `for_each` may be empty).
fn blocks_or_dynamic<'a>(b: &'a Block, name: &'a str) -> impl Iterator<Item = &'a Block> + 'a {
    b.blocks_named(name).chain(
        b.blocks_named("dynamic")
            .filter(move |d| d.labels.first().is_some_and(|l| l == name))
            .filter_map(|d| d.block("content")),
    )
}

fn s3_encryption(b: &Block, m: &Module<'_>) -> Verdict {
    const OK: [&str; 3] = ["AES256", "aws:kms", "aws:kms:dsse"];
    // (rule block, line to report: its own inline, the bucket's for a separate resource,
    // which may be in another file).
    let mut rules: Vec<(&Block, Option<usize>)> =
        blocks_or_dynamic(b, "server_side_encryption_configuration")
            .flat_map(|c| blocks_or_dynamic(c, "rule"))
            .map(|r| (r, None))
            .collect();
    for r in m.referring(
        &["aws_s3_bucket_server_side_encryption_configuration"],
        "bucket",
        b,
        Some("bucket"),
    ) {
        rules.extend(blocks_or_dynamic(&r.block, "rule").map(|x| (x, Some(b.line))));
    }
    if rules.is_empty() {
        // Since January 2023 S3 encrypts every new object with SSE-S3 by default.
        return Verdict::Pass;
    }
    let mut unknown = false;
    let mut bad = Vec::new();
    for (r, at) in rules {
        match r.get("apply_server_side_encryption_by_default.sse_algorithm") {
            Some(a) if a.value.as_str().is_some_and(|s| OK.contains(&s)) => return Verdict::Pass,
            Some(a) if is_expr(&a.value) => unknown = true,
            Some(a) => bad.push((
                at.unwrap_or(a.line),
                format!("sse_algorithm = {} is not an encryption algorithm", a.value),
            )),
            None => bad.push((
                at.unwrap_or(r.line),
                "encryption rule without sse_algorithm".to_string(),
            )),
        }
    }
    if unknown {
        Verdict::Unknown
    } else {
        Verdict::Fail(bad)
    }
}

fn s3_versioning(b: &Block, m: &Module<'_>) -> Verdict {
    let mut unknown = false;
    if let Some(a) = b.get("versioning.enabled") {
        if is_true(&a.value) {
            return Verdict::Pass;
        }
        unknown |= is_expr(&a.value);
    }
    for r in m.referring(&["aws_s3_bucket_versioning"], "bucket", b, Some("bucket")) {
        match r.block.get("versioning_configuration.status") {
            Some(s) if s.value.as_str() == Some("Enabled") => return Verdict::Pass,
            Some(s) if is_expr(&s.value) => unknown = true,
            _ => {}
        }
    }
    if unknown {
        Verdict::Unknown
    } else {
        let line = b.get("versioning.enabled").map_or(b.line, |a| a.line);
        Verdict::fail(line, "versioning is not enabled")
    }
}

fn s3_logging(b: &Block, m: &Module<'_>) -> Verdict {
    if b.block("logging").is_some()
        || m.referring(&["aws_s3_bucket_logging"], "bucket", b, Some("bucket"))
            .next()
            .is_some()
    {
        Verdict::Pass
    } else {
        Verdict::fail(b.line, "no access logging")
    }
}

fn s3_public_access_block(b: &Block, m: &Module<'_>) -> Verdict {
    const KEYS: [&str; 4] = [
        "block_public_acls",
        "block_public_policy",
        "ignore_public_acls",
        "restrict_public_buckets",
    ];
    let mut unknown = false;
    for r in m.referring(
        &["aws_s3_bucket_public_access_block"],
        "bucket",
        b,
        Some("bucket"),
    ) {
        let vals: Vec<Option<&Value>> = KEYS
            .iter()
            .map(|k| r.block.attr(k).map(|a| &a.value))
            .collect();
        if vals.iter().all(|v| v.is_some_and(is_true)) {
            return Verdict::Pass;
        }
        unknown |= vals.iter().any(|v| v.is_some_and(is_expr));
    }
    if unknown {
        Verdict::Unknown
    } else {
        Verdict::fail(
            b.line,
            "no aws_s3_bucket_public_access_block with all four settings true",
        )
    }
}

// ---------------------------------------------------------------- network

/// A number from a JSON number or numeric string.
fn num(v: &Value) -> Option<i64> {
    match v {
        Value::Number(n) => n.as_i64(),
        Value::String(s) => s.trim().parse().ok(),
        _ => None,
    }
}

/// Whether an AWS rule (protocol, from, to) covers `port`. `None`: unknown.
fn aws_covers(
    protocol: Option<&Value>,
    from: Option<&Value>,
    to: Option<&Value>,
    port: i64,
) -> Option<bool> {
    let proto = protocol.and_then(Value::as_str).unwrap_or("tcp");
    if protocol.is_some_and(is_expr) {
        return None;
    }
    if proto == "-1" || proto.eq_ignore_ascii_case("all") {
        return Some(true);
    }
    if !(proto.eq_ignore_ascii_case("tcp") || proto == "6") {
        return Some(false);
    }
    let (f, t) = (from.and_then(num), to.and_then(num));
    match (f, t) {
        // 0-0 is how "every port" is written most of the time (and how Checkov reads it).
        (Some(0), Some(0)) => Some(true),
        (Some(f), Some(t)) => Some(f <= port && port <= t),
        _ if from.is_some_and(is_expr) || to.is_some_and(is_expr) => None,
        _ => Some(false),
    }
}

fn aws_sg_open(b: &Block, port: i64) -> Verdict {
    let what = format!("ingress from 0.0.0.0/0 or ::/0 to port {port}");
    let rtype = b.labels.first().map(String::as_str).unwrap_or_default();
    let mut unknown = false;
    let mut hits = Vec::new();
    let mut judge = |line: usize, covers: Option<bool>, open: Option<bool>| match (covers, open) {
        (Some(true), Some(true)) => hits.push((line, what.clone())),
        (None, Some(true)) | (Some(true), None) | (None, None) => unknown = true,
        _ => {}
    };
    let open_of = |cidrs: &[Option<&Value>]| -> Option<bool> {
        if cidrs.iter().flatten().any(|v| open_cidr(v)) {
            Some(true)
        } else if cidrs.iter().flatten().any(|v| is_expr(v)) {
            None
        } else {
            Some(false)
        }
    };
    match rtype {
        SG => {
            for i in b.blocks_named("ingress") {
                let open = open_of(&[
                    i.attr("cidr_blocks").map(|a| &a.value),
                    i.attr("ipv6_cidr_blocks").map(|a| &a.value),
                ]);
                let covers = aws_covers(
                    i.attr("protocol").map(|a| &a.value),
                    i.attr("from_port").map(|a| &a.value),
                    i.attr("to_port").map(|a| &a.value),
                    port,
                );
                judge(i.line, covers, open);
            }
            if let Some(a) = b.attr("ingress") {
                if is_expr(&a.value) {
                    judge(a.line, None, None);
                }
                for i in list(&a.value) {
                    let open = open_of(&[i.get("cidr_blocks"), i.get("ipv6_cidr_blocks")]);
                    let covers = aws_covers(
                        i.get("protocol"),
                        i.get("from_port"),
                        i.get("to_port"),
                        port,
                    );
                    judge(a.line, covers, open);
                }
            }
        }
        SG_RULE => {
            match b.attr("type").map(|a| &a.value) {
                Some(Value::String(t)) if t == "ingress" => {}
                Some(v) if is_expr(v) => return Verdict::Unknown,
                _ => return Verdict::NotApplicable,
            }
            let open = open_of(&[
                b.attr("cidr_blocks").map(|a| &a.value),
                b.attr("ipv6_cidr_blocks").map(|a| &a.value),
            ]);
            let covers = aws_covers(
                b.attr("protocol").map(|a| &a.value),
                b.attr("from_port").map(|a| &a.value),
                b.attr("to_port").map(|a| &a.value),
                port,
            );
            let line = b
                .attr("cidr_blocks")
                .or(b.attr("ipv6_cidr_blocks"))
                .map_or(b.line, |a| a.line);
            judge(line, covers, open);
        }
        _ => {
            // aws_vpc_security_group_ingress_rule: one source per rule.
            let open = open_of(&[
                b.attr("cidr_ipv4").map(|a| &a.value),
                b.attr("cidr_ipv6").map(|a| &a.value),
            ]);
            let covers = aws_covers(
                b.attr("ip_protocol").map(|a| &a.value),
                b.attr("from_port").map(|a| &a.value),
                b.attr("to_port").map(|a| &a.value),
                port,
            );
            let line = b
                .attr("cidr_ipv4")
                .or(b.attr("cidr_ipv6"))
                .map_or(b.line, |a| a.line);
            judge(line, covers, open);
        }
    }
    if !hits.is_empty() {
        Verdict::Fail(hits)
    } else if unknown {
        Verdict::Unknown
    } else {
        Verdict::Pass
    }
}

fn sg_22(b: &Block, _m: &Module<'_>) -> Verdict {
    aws_sg_open(b, 22)
}

fn sg_3389(b: &Block, _m: &Module<'_>) -> Verdict {
    aws_sg_open(b, 3389)
}

/// Whether a port spec (`"22"`, `"20-25"`, `22`, `"*"`) covers `port`. `None`: unknown.
fn port_spec_covers(v: &Value, port: i64) -> Option<bool> {
    if is_expr(v) {
        return None;
    }
    if let Some(n) = num(v) {
        return Some(n == port);
    }
    let s = v.as_str()?.trim();
    if s == "*" {
        return Some(true);
    }
    if let Some((a, b)) = s.split_once('-') {
        let (a, b) = (a.trim().parse::<i64>().ok()?, b.trim().parse::<i64>().ok()?);
        return Some(a <= port && port <= b);
    }
    Some(false)
}

fn gcp_fw_open(b: &Block, port: i64) -> Verdict {
    if b.attr("direction")
        .and_then(|a| a.value.as_str())
        .is_some_and(|d| d.eq_ignore_ascii_case("EGRESS"))
        || b.attr("disabled").is_some_and(|a| is_true(&a.value))
    {
        return Verdict::Pass;
    }
    let Some(src) = b.attr("source_ranges") else {
        return Verdict::Pass;
    };
    if is_expr(&src.value) {
        return Verdict::Unknown;
    }
    if !open_cidr(&src.value) {
        return Verdict::Pass;
    }
    let mut unknown = b.attr("allow").is_some();
    for a in blocks_or_dynamic(b, "allow") {
        let proto = a.attr("protocol").map(|p| &p.value);
        let proto_s = proto.and_then(Value::as_str).unwrap_or_default();
        if proto.is_some_and(is_expr) {
            unknown = true;
            continue;
        }
        if !(proto_s == "tcp" || proto_s == "all" || proto_s == "6") {
            continue;
        }
        let covers = match a.attr("ports") {
            None => Some(true),
            Some(p) if is_expr(&p.value) => None,
            Some(p) => {
                let each: Vec<Option<bool>> = list(&p.value)
                    .into_iter()
                    .map(|v| port_spec_covers(v, port))
                    .collect();
                if each.contains(&Some(true)) {
                    Some(true)
                } else if each.contains(&None) {
                    None
                } else {
                    Some(false)
                }
            }
        };
        match covers {
            Some(true) => {
                return Verdict::fail(
                    src.line,
                    format!("source_ranges include 0.0.0.0/0 and port {port} is allowed"),
                )
            }
            None => unknown = true,
            Some(false) => {}
        }
    }
    if unknown {
        Verdict::Unknown
    } else {
        Verdict::Pass
    }
}

fn gcp_fw_22(b: &Block, _m: &Module<'_>) -> Verdict {
    gcp_fw_open(b, 22)
}

fn gcp_fw_3389(b: &Block, _m: &Module<'_>) -> Verdict {
    gcp_fw_open(b, 3389)
}

/// Whether an Azure address prefix means "the internet".
fn azure_any(s: &str) -> bool {
    matches!(
        s.to_ascii_lowercase().as_str(),
        "*" | "0.0.0.0" | "0.0.0.0/0" | "internet" | "any" | "<nw>/0" | "/0" | "::/0"
    )
}

/// One NSG rule, as attributes of a block or keys of an object.
fn nsg_rule_open(get: &dyn Fn(&str) -> Option<Value>, port: i64) -> Option<bool> {
    let s = |k: &str| get(k).and_then(|v| v.as_str().map(str::to_ascii_lowercase));
    let dir = get("direction");
    let access = get("access");
    if dir.as_ref().is_some_and(is_expr) || access.as_ref().is_some_and(is_expr) {
        return None;
    }
    if s("direction").as_deref() != Some("inbound") || s("access").as_deref() != Some("allow") {
        return Some(false);
    }
    let proto = s("protocol").unwrap_or_else(|| "*".into());
    if !(proto == "tcp" || proto == "*") {
        return Some(false);
    }
    let mut srcs: Vec<Value> = Vec::new();
    if let Some(v) = get("source_address_prefix") {
        srcs.push(v);
    }
    if let Some(v) = get("source_address_prefixes") {
        srcs.extend(list(&v).into_iter().cloned());
    }
    let open = if srcs
        .iter()
        .any(|v| v.as_str().is_some_and(azure_any) && !is_expr(v))
    {
        Some(true)
    } else if srcs.iter().any(is_expr) {
        None
    } else {
        Some(false)
    };
    let mut ports: Vec<Value> = Vec::new();
    if let Some(v) = get("destination_port_range") {
        ports.push(v);
    }
    if let Some(v) = get("destination_port_ranges") {
        ports.extend(list(&v).into_iter().cloned());
    }
    let each: Vec<Option<bool>> = ports.iter().map(|v| port_spec_covers(v, port)).collect();
    let covers = if each.contains(&Some(true)) {
        Some(true)
    } else if each.contains(&None) {
        None
    } else {
        Some(false)
    };
    match (open, covers) {
        (Some(false), _) | (_, Some(false)) => Some(false),
        (Some(true), Some(true)) => Some(true),
        _ => None,
    }
}

fn nsg_open(b: &Block, port: i64) -> Verdict {
    let rtype = b.labels.first().map(String::as_str).unwrap_or_default();
    let msg = format!("inbound Allow from the internet to port {port}");
    let mut unknown = false;
    if rtype == NSG_RULE {
        let get = |k: &str| b.attr(k).map(|a| a.value.clone());
        let line = b
            .attr("source_address_prefix")
            .or(b.attr("source_address_prefixes"))
            .map_or(b.line, |a| a.line);
        return match nsg_rule_open(&get, port) {
            Some(true) => Verdict::fail(line, msg),
            Some(false) => Verdict::Pass,
            None => Verdict::Unknown,
        };
    }
    let mut hits = Vec::new();
    for r in b.blocks_named("security_rule") {
        let get = |k: &str| r.attr(k).map(|a| a.value.clone());
        match nsg_rule_open(&get, port) {
            Some(true) => hits.push((r.line, msg.clone())),
            None => unknown = true,
            Some(false) => {}
        }
    }
    if let Some(a) = b.attr("security_rule") {
        if is_expr(&a.value) {
            unknown = true;
        }
        for r in list(&a.value) {
            let get = |k: &str| r.get(k).cloned();
            match nsg_rule_open(&get, port) {
                Some(true) => hits.push((a.line, msg.clone())),
                None => unknown = true,
                Some(false) => {}
            }
        }
    }
    if !hits.is_empty() {
        Verdict::Fail(hits)
    } else if unknown {
        Verdict::Unknown
    } else {
        Verdict::Pass
    }
}

fn nsg_22(b: &Block, _m: &Module<'_>) -> Verdict {
    nsg_open(b, 22)
}

fn nsg_3389(b: &Block, _m: &Module<'_>) -> Verdict {
    nsg_open(b, 3389)
}

// ---------------------------------------------------------------- KMS

fn kms_rotation(b: &Block, _m: &Module<'_>) -> Verdict {
    if let Some(spec) = b.attr("customer_master_key_spec").or(b.attr("key_spec")) {
        match spec.value.as_str() {
            _ if is_expr(&spec.value) => return Verdict::Unknown,
            Some(s) if s != "SYMMETRIC_DEFAULT" => return Verdict::NotApplicable,
            _ => {}
        }
    }
    match b.attr("enable_key_rotation") {
        Some(a) if is_true(&a.value) => Verdict::Pass,
        Some(a) if is_expr(&a.value) => Verdict::Unknown,
        Some(a) if is_false(&a.value) => Verdict::fail(a.line, "enable_key_rotation = false"),
        _ => Verdict::fail(
            line_of(b, "enable_key_rotation"),
            "enable_key_rotation is not set (default false)",
        ),
    }
}
