//! Terraform (`.tf`, HCL) rules for managed Kubernetes clusters (EKS, GKE, AKS), the
//! cloud resources around them ([`cloud`]: object storage, networks, IAM, KMS, databases,
//! registries, audit logs, load balancers, secrets, disks) and the `kubernetes_*`
//! provider resources.
//!
//! The files of one directory are one module: its variables (defaults, `terraform.tfvars`,
//! `*.auto.tfvars`) and locals are evaluated ([`eval`]) before the rules run, and rules
//! that look at several resources (a bucket and its `aws_s3_bucket_acl`) see the whole
//! module. Module calls are not followed. A value that stays an expression
//! (`aws_kms_key.k.arn`, a variable without a default) is unknown: rules that need a
//! literal bad value do not fire on it, rules that need a setting to be present count it
//! as present.

pub mod eval;
pub mod hcl;
pub mod json;
pub mod k8s;

use crate::meta::{meta, MetaSpec};
use hcl::{is_expr, is_false, is_true, Attr, Block};
use rampart_core::fingerprint::fingerprint;
use rampart_core::{Finding, Location, RuleMeta, ScanError, Severity, Span};
use serde_json::{json, Value};

/// Problems a check found in one resource: (line, message) each.
pub type Hits = Vec<(usize, String)>;

/// How a rule looks at a resource.
#[derive(Clone, Copy)]
pub enum Check {
    /// The resource's own block.
    Resource(fn(&Block) -> Hits),
    /// The resource's block and the rest of its module (resources that refer to it),
    /// with a three-valued answer.
    Cloud(fn(&Block, &Module<'_>) -> cloud::Verdict),
}

impl Rule {
    /// This rule's verdict on one (evaluated) resource of `module`.
    pub fn verdict(&self, block: &Block, module: &Module<'_>) -> cloud::Verdict {
        match self.check {
            Check::Resource(f) => {
                let hits = f(block);
                if hits.is_empty() {
                    cloud::Verdict::Pass
                } else {
                    cloud::Verdict::Fail(hits)
                }
            }
            Check::Cloud(f) => f(block, module),
        }
    }
}

/// One rule's verdict on one resource ([`verdicts`]).
#[derive(Debug, Clone)]
pub struct RuleVerdict {
    /// `terraform/<slug>`.
    pub rule_id: String,
    /// File of the resource.
    pub path: String,
    /// `aws_s3_bucket.logs`.
    pub address: String,
    /// The answer.
    pub verdict: cloud::Verdict,
}

/// One Terraform rule.
pub struct Rule {
    /// Metadata (id `terraform/<slug>`).
    pub spec: MetaSpec,
    /// Resource types it applies to.
    pub resources: &'static [&'static str],
    /// The check.
    pub check: Check,
}

/// One resource (or data source) of a module, evaluated.
#[derive(Debug)]
pub struct Resource {
    /// File it is in.
    pub path: String,
    /// `resource` or `data`.
    pub mode: String,
    /// `aws_s3_bucket`.
    pub rtype: String,
    /// `logs`.
    pub name: String,
    /// The block, every attribute evaluated as far as it goes.
    pub block: Block,
}

/// The resources of one module (one directory), what [`Check::Module`] rules see.
#[derive(Debug, Default)]
pub struct Module<'a> {
    /// Every resource and data source.
    pub resources: &'a [Resource],
}

impl Module<'_> {
    /// Resources of one of `types` with an attribute `attr` that refers to `target`
    /// (`aws_s3_bucket.logs`): `${aws_s3_bucket.logs.id}` and the like, or the target's
    /// literal `name_attr` value (a bucket name) when `name_attr` is given.
    pub fn referring<'b>(
        &'b self,
        types: &'b [&'b str],
        attr: &'b str,
        target: &'b Block,
        name_attr: Option<&'b str>,
    ) -> impl Iterator<Item = &'b Resource> + 'b {
        let addr = match (target.labels.first(), target.labels.get(1)) {
            (Some(t), Some(n)) => format!("{t}.{n}"),
            _ => String::new(),
        };
        let literal = name_attr
            .and_then(|k| target.attr(k))
            .and_then(|a| a.value.as_str())
            .filter(|s| !s.starts_with("${"))
            .map(str::to_string);
        self.resources.iter().filter(move |r| {
            r.mode == "resource"
                && types.contains(&r.rtype.as_str())
                && r.block.attr(attr).is_some_and(|a| {
                    refers_to(&a.value, &addr) || literal.as_deref().is_some_and(|l| a.value == l)
                })
        })
    }
}

/// Whether a value is an expression referring to `addr` (`aws_s3_bucket.b`).
pub fn refers_to(v: &Value, addr: &str) -> bool {
    !addr.is_empty()
        && v.as_str().is_some_and(|s| {
            s.starts_with("${")
                && s.match_indices(addr).any(|(i, _)| {
                    let before = s[..i].chars().next_back();
                    let after = s[i + addr.len()..].chars().next();
                    !before.is_some_and(|c| c.is_alphanumeric() || c == '_' || c == '.')
                        && !after.is_some_and(|c| c.is_alphanumeric() || c == '_' || c == '-')
                })
        })
}

macro_rules! rule {
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
            check: Check::Resource($check),
        }
    };
}

pub mod cloud;

const EKS: &str = "aws_eks_cluster";
const GKE: &str = "google_container_cluster";
const GKE_POOL: &str = "google_container_node_pool";
const AKS: &str = "azurerm_kubernetes_cluster";
const AKS_POOL: &str = "azurerm_kubernetes_cluster_node_pool";

/// Every Terraform rule.
pub fn rules() -> Vec<Rule> {
    let mut v = cluster_rules();
    v.extend(cloud::rules());
    v
}

fn cluster_rules() -> Vec<Rule> {
    vec![
        // ---- EKS
        rule!("eks-public-endpoint", Medium, [EKS], "EKS API endpoint is public",
            "`vpc_config.endpoint_public_access` defaults to `true`: the cluster's API server is reachable from the internet.",
            "Set `endpoint_public_access = false` and `endpoint_private_access = true` (reach the API over VPN/bastion), or at least restrict `public_access_cidrs`.",
            ["CKV_AWS_39", "CIS EKS 5.4.2"], eks_public_endpoint),
        rule!("eks-public-cidr-open", High, [EKS], "EKS public endpoint open to 0.0.0.0/0",
            "With a public endpoint, `public_access_cidrs` defaults to `0.0.0.0/0`: anyone can reach the API server.",
            "List only your own CIDRs in `vpc_config.public_access_cidrs`, or disable the public endpoint.",
            ["CKV_AWS_38", "CIS EKS 5.4.2"], eks_public_cidr),
        rule!("eks-audit-logging", Medium, [EKS], "EKS control-plane audit logging disabled",
            "Without `audit` in `enabled_cluster_log_types` there is no record of who did what through the API server.",
            "Set `enabled_cluster_log_types = [\"api\", \"audit\", \"authenticator\", \"controllerManager\", \"scheduler\"]`.",
            ["CKV_AWS_37", "CIS EKS 2.1.1"], eks_audit_logging),
        rule!("eks-secrets-encryption", Medium, [EKS], "EKS secrets not encrypted with a KMS key",
            "Without an `encryption_config` for `secrets`, Kubernetes Secrets are stored in etcd without envelope encryption under your KMS key.",
            "Add `encryption_config { resources = [\"secrets\"] provider { key_arn = aws_kms_key.k.arn } }`.",
            ["CKV_AWS_58", "CIS EKS 5.3.1"], eks_secrets_encryption),
        // ---- GKE
        rule!("gke-private-nodes", Medium, [GKE, GKE_POOL], "GKE nodes have public IP addresses",
            "Without `private_cluster_config { enable_private_nodes = true }` every node gets a public IP address.",
            "Add `private_cluster_config { enable_private_nodes = true }` (and `enable_private_endpoint` where possible).",
            ["CKV_GCP_25", "CKV_GCP_64", "CIS GKE 5.6.5"], gke_private_nodes),
        rule!("gke-master-authorized-networks", Medium, [GKE], "GKE control plane reachable without authorized networks",
            "Without `master_authorized_networks_config` (or with 0.0.0.0/0 in it) and without a private endpoint, anyone can reach the API server.",
            "Add `master_authorized_networks_config` with your CIDRs, or set `private_cluster_config.enable_private_endpoint = true`.",
            ["CKV_GCP_20", "CKV_GCP_18", "CIS GKE 5.6.3"], gke_authorized_networks),
        rule!("gke-network-policy", Medium, [GKE], "GKE network policy enforcement disabled",
            "Without `network_policy { enabled = true }` (or Dataplane V2), NetworkPolicy objects are not enforced: every pod can reach every pod.",
            "Set `network_policy { enabled = true }` or `datapath_provider = \"ADVANCED_DATAPATH\"`.",
            ["CKV_GCP_12", "CIS GKE 5.6.7"], gke_network_policy),
        rule!("gke-legacy-abac", High, [GKE], "GKE legacy ABAC enabled",
            "`enable_legacy_abac = true` grants broad static permissions outside RBAC.",
            "Remove `enable_legacy_abac` or set it to `false`.",
            ["CKV_GCP_7", "CIS GKE 5.8.3"], gke_legacy_abac),
        rule!("gke-logging-disabled", Medium, [GKE], "GKE Cloud Logging disabled",
            "`logging_service = \"none\"` (or empty `logging_config.enable_components`) turns off cluster logs, including audit-relevant system logs.",
            "Remove the override or set `logging_service = \"logging.googleapis.com/kubernetes\"`.",
            ["CKV_GCP_1", "CIS GKE 5.7.1"], gke_logging),
        rule!("gke-monitoring-disabled", Low, [GKE], "GKE Cloud Monitoring disabled",
            "`monitoring_service = \"none\"` turns off cluster metrics.",
            "Remove the override or set `monitoring_service = \"monitoring.googleapis.com/kubernetes\"`.",
            ["CKV_GCP_8", "CIS GKE 5.7.1"], gke_monitoring),
        rule!("gke-node-auto-repair", Low, [GKE_POOL], "GKE node auto-repair disabled",
            "`management { auto_repair = false }` leaves unhealthy nodes in service.",
            "Set `management { auto_repair = true }` (the provider default).",
            ["CKV_GCP_9", "CIS GKE 5.5.2"], gke_auto_repair),
        rule!("gke-node-auto-upgrade", Medium, [GKE_POOL], "GKE node auto-upgrade disabled",
            "`management { auto_upgrade = false }` keeps nodes on old, vulnerable Kubernetes and OS versions.",
            "Set `management { auto_upgrade = true }` (the provider default).",
            ["CKV_GCP_10", "CIS GKE 5.5.3"], gke_auto_upgrade),
        rule!("gke-workload-identity", Medium, [GKE], "GKE Workload Identity not enabled",
            "Without `workload_identity_config`, pods use the node's service account and can read the instance metadata server (node credentials).",
            "Add `workload_identity_config { workload_pool = \"<project>.svc.id.goog\" }` and `node_config { workload_metadata_config { mode = \"GKE_METADATA\" } }`.",
            ["CKV_GCP_69", "CIS GKE 5.2.2"], gke_workload_identity),
        rule!("gke-shielded-nodes", Low, [GKE], "GKE Shielded Nodes disabled",
            "`enable_shielded_nodes = false` turns off secure boot and integrity monitoring for nodes.",
            "Remove the override (default `true`) or set `enable_shielded_nodes = true`.",
            ["CKV_GCP_71", "CIS GKE 5.5.5"], gke_shielded_nodes),
        rule!("gke-secrets-encryption", Medium, [GKE], "GKE secrets not encrypted with a Cloud KMS key",
            "Without `database_encryption { state = \"ENCRYPTED\" }`, Secrets in etcd are not envelope-encrypted with your key.",
            "Add `database_encryption { state = \"ENCRYPTED\" key_name = google_kms_crypto_key.k.id }`.",
            ["CIS GKE 5.3.1"], gke_secrets_encryption),
        rule!("gke-client-certificate", Medium, [GKE], "GKE issues a client certificate",
            "`master_auth.client_certificate_config.issue_client_certificate = true` creates a long-lived, non-revocable admin credential.",
            "Set `issue_client_certificate = false`.",
            ["CKV_GCP_13", "CIS GKE 5.8.2"], gke_client_cert),
        // ---- AKS
        rule!("aks-private-cluster", Medium, [AKS], "AKS API server is public",
            "Without `private_cluster_enabled = true` the API server has a public endpoint.",
            "Set `private_cluster_enabled = true`, or restrict `api_server_access_profile.authorized_ip_ranges`.",
            ["CKV_AZURE_115", "CIS AKS 5.4.2"], aks_private),
        rule!("aks-api-authorized-ranges", High, [AKS], "AKS public API server without authorized IP ranges",
            "A public AKS API server without `api_server_access_profile.authorized_ip_ranges` (or with 0.0.0.0/0) is reachable by anyone.",
            "Set `api_server_access_profile { authorized_ip_ranges = [\"<your CIDR>\"] }` or make the cluster private.",
            ["CKV_AZURE_6", "CIS AKS 5.4.1"], aks_authorized_ranges),
        rule!("aks-rbac-disabled", High, [AKS], "AKS Kubernetes RBAC disabled",
            "`role_based_access_control_enabled = false` disables authorization: every authenticated user is admin.",
            "Remove the override (default `true`).",
            ["CKV_AZURE_5"], aks_rbac),
        rule!("aks-aad-rbac", Low, [AKS], "AKS not integrated with Entra ID (Azure AD) RBAC",
            "Without `azure_active_directory_role_based_access_control`, access is managed with cluster-local credentials.",
            "Add `azure_active_directory_role_based_access_control { azure_rbac_enabled = true }` and set `local_account_disabled = true`.",
            ["CKV_AZURE_141", "CIS AKS 3.2"], aks_aad),
        rule!("aks-network-policy", Medium, [AKS], "AKS network policy not configured",
            "Without `network_profile.network_policy`, NetworkPolicy objects are not enforced.",
            "Set `network_profile { network_policy = \"azure\" }` (or `calico`, `cilium`).",
            ["CKV_AZURE_7", "CIS AKS 5.4.4"], aks_network_policy),
        rule!("aks-logging", Medium, [AKS], "AKS monitoring agent (Container Insights) not configured",
            "Without the `oms_agent` add-on there are no control-plane or container logs in Azure Monitor.",
            "Add `oms_agent { log_analytics_workspace_id = azurerm_log_analytics_workspace.w.id }`.",
            ["CKV_AZURE_4"], aks_logging),
        rule!("aks-node-public-ip", Medium, [AKS, AKS_POOL], "AKS nodes have public IP addresses",
            "`node_public_ip_enabled` / `enable_node_public_ip = true` gives every node a public address.",
            "Remove the setting (default `false`).",
            ["CKV_AZURE_143"], aks_node_public_ip),
        rule!("aks-upgrade-channel", Low, [AKS], "AKS automatic upgrade channel not set",
            "Without `automatic_upgrade_channel` (or with `none`) the cluster is never upgraded automatically and falls behind on security patches.",
            "Set `automatic_upgrade_channel = \"patch\"` (or `stable`).",
            ["CKV_AZURE_171"], aks_upgrade_channel),
    ]
}

/// Metadata of every Terraform rule.
pub fn metas() -> Vec<RuleMeta> {
    rules().iter().map(|r| meta(&r.spec, "terraform")).collect()
}

pub(crate) fn line_of(b: &Block, path: &str) -> usize {
    b.get(path).map_or_else(|| b.nearest(path).line, |a| a.line)
}

pub(crate) fn strings(v: &Value) -> Vec<&str> {
    match v {
        Value::Array(a) => a.iter().filter_map(Value::as_str).collect(),
        Value::String(s) => vec![s.as_str()],
        _ => Vec::new(),
    }
}

pub(crate) fn open_cidr(v: &Value) -> bool {
    strings(v).iter().any(|s| *s == "0.0.0.0/0" || *s == "::/0")
}

fn eks_public_endpoint(b: &Block) -> Vec<(usize, String)> {
    match b.get("vpc_config.endpoint_public_access") {
        Some(a) if is_true(&a.value) => vec![(a.line, "endpoint_public_access = true".into())],
        Some(_) => vec![],
        None => vec![(
            line_of(b, "vpc_config.endpoint_public_access"),
            "endpoint_public_access is not set (default true)".into(),
        )],
    }
}

fn eks_public_cidr(b: &Block) -> Vec<(usize, String)> {
    if b.get("vpc_config.endpoint_public_access")
        .is_some_and(|a| !is_true(&a.value))
    {
        return vec![];
    }
    match b.get("vpc_config.public_access_cidrs") {
        Some(a) if open_cidr(&a.value) => {
            vec![(a.line, "public_access_cidrs includes 0.0.0.0/0".into())]
        }
        Some(a) if a.value.as_array().is_some_and(Vec::is_empty) => vec![(
            a.line,
            "public_access_cidrs is empty (EKS then allows 0.0.0.0/0)".into(),
        )],
        Some(_) => vec![],
        None => vec![(
            line_of(b, "vpc_config.public_access_cidrs"),
            "public endpoint with public_access_cidrs unset (default 0.0.0.0/0)".into(),
        )],
    }
}

fn eks_audit_logging(b: &Block) -> Vec<(usize, String)> {
    match b.attr("enabled_cluster_log_types") {
        Some(a) if is_expr(&a.value) => vec![],
        Some(a) if !strings(&a.value).contains(&"audit") => vec![(
            a.line,
            "enabled_cluster_log_types does not include \"audit\"".into(),
        )],
        Some(_) => vec![],
        None => vec![(
            b.line,
            "enabled_cluster_log_types is not set: no control-plane logs".into(),
        )],
    }
}

fn eks_secrets_encryption(b: &Block) -> Vec<(usize, String)> {
    let ok = b.blocks_named("encryption_config").any(|e| {
        e.attr("resources")
            .is_some_and(|r| is_expr(&r.value) || strings(&r.value).contains(&"secrets"))
            && e.block("provider")
                .is_some_and(|p| p.attr("key_arn").is_some())
    });
    if ok {
        vec![]
    } else {
        let line = b.block("encryption_config").map_or(b.line, |e| e.line);
        vec![(
            line,
            "no encryption_config for secrets with a KMS key".into(),
        )]
    }
}

fn private_nodes_value(b: &Block) -> Option<&Attr> {
    b.get("private_cluster_config.enable_private_nodes")
}

fn gke_private_nodes(b: &Block) -> Vec<(usize, String)> {
    // Node pools only override the cluster setting through network_config.
    if b.labels.first().is_some_and(|t| t == GKE_POOL) {
        return match b.get("network_config.enable_private_nodes") {
            Some(a) if is_false(&a.value) => {
                vec![(a.line, "node pool sets enable_private_nodes = false".into())]
            }
            _ => vec![],
        };
    }
    if b.attr("enable_autopilot")
        .is_some_and(|a| is_true(&a.value))
        && private_nodes_value(b).is_none()
        && b.block("private_cluster_config").is_none()
    {
        return vec![(
            b.line,
            "Autopilot cluster without private_cluster_config: nodes get public IPs".into(),
        )];
    }
    match private_nodes_value(b) {
        Some(a) if is_true(&a.value) || is_expr(&a.value) => vec![],
        Some(a) => vec![(a.line, "enable_private_nodes is false".into())],
        None => vec![(
            line_of(b, "private_cluster_config.enable_private_nodes"),
            "private nodes are not enabled".into(),
        )],
    }
}

fn gke_authorized_networks(b: &Block) -> Vec<(usize, String)> {
    if b.get("private_cluster_config.enable_private_endpoint")
        .is_some_and(|a| is_true(&a.value))
    {
        return vec![];
    }
    let Some(m) = b.block("master_authorized_networks_config") else {
        return vec![(
            b.line,
            "no master_authorized_networks_config and no private endpoint".into(),
        )];
    };
    let mut out = Vec::new();
    for c in m.blocks_named("cidr_blocks") {
        if let Some(a) = c.attr("cidr_block") {
            if open_cidr(&a.value) {
                out.push((
                    a.line,
                    "master authorized networks include 0.0.0.0/0".into(),
                ));
            }
        }
    }
    out
}

fn gke_network_policy(b: &Block) -> Vec<(usize, String)> {
    if b.attr("datapath_provider").and_then(|a| a.value.as_str()) == Some("ADVANCED_DATAPATH") {
        return vec![];
    }
    if b.attr("enable_autopilot")
        .is_some_and(|a| is_true(&a.value))
    {
        return vec![];
    }
    match b.get("network_policy.enabled") {
        Some(a) if is_true(&a.value) || is_expr(&a.value) => vec![],
        Some(a) => vec![(a.line, "network_policy.enabled is false".into())],
        None => vec![(
            line_of(b, "network_policy.enabled"),
            "network policy enforcement is not enabled".into(),
        )],
    }
}

fn gke_legacy_abac(b: &Block) -> Vec<(usize, String)> {
    match b.attr("enable_legacy_abac") {
        Some(a) if is_true(&a.value) => vec![(a.line, "enable_legacy_abac = true".into())],
        _ => vec![],
    }
}

fn gke_logging(b: &Block) -> Vec<(usize, String)> {
    let mut out = Vec::new();
    if let Some(a) = b.attr("logging_service") {
        if a.value.as_str() == Some("none") {
            out.push((a.line, "logging_service = \"none\"".into()));
        }
    }
    if let Some(a) = b.get("logging_config.enable_components") {
        if a.value.as_array().is_some_and(Vec::is_empty) {
            out.push((a.line, "logging_config.enable_components is empty".into()));
        }
    }
    out
}

fn gke_monitoring(b: &Block) -> Vec<(usize, String)> {
    match b.attr("monitoring_service") {
        Some(a) if a.value.as_str() == Some("none") => {
            vec![(a.line, "monitoring_service = \"none\"".into())]
        }
        _ => vec![],
    }
}

fn gke_auto_repair(b: &Block) -> Vec<(usize, String)> {
    match b.get("management.auto_repair") {
        Some(a) if is_false(&a.value) => vec![(a.line, "management.auto_repair = false".into())],
        _ => vec![],
    }
}

fn gke_auto_upgrade(b: &Block) -> Vec<(usize, String)> {
    match b.get("management.auto_upgrade") {
        Some(a) if is_false(&a.value) => vec![(a.line, "management.auto_upgrade = false".into())],
        _ => vec![],
    }
}

fn gke_workload_identity(b: &Block) -> Vec<(usize, String)> {
    if b.attr("enable_autopilot")
        .is_some_and(|a| is_true(&a.value))
    {
        return vec![];
    }
    if b.block("workload_identity_config").is_some() {
        if let Some(a) = b.get("node_config.workload_metadata_config.mode") {
            if a.value
                .as_str()
                .is_some_and(|m| m == "GCE_METADATA" || m == "EXPOSE")
            {
                return vec![(
                    a.line,
                    format!("workload_metadata_config.mode = {}", a.value),
                )];
            }
        }
        return vec![];
    }
    vec![(b.line, "no workload_identity_config".into())]
}

fn gke_shielded_nodes(b: &Block) -> Vec<(usize, String)> {
    match b.attr("enable_shielded_nodes") {
        Some(a) if is_false(&a.value) => vec![(a.line, "enable_shielded_nodes = false".into())],
        _ => vec![],
    }
}

fn gke_secrets_encryption(b: &Block) -> Vec<(usize, String)> {
    match b.get("database_encryption.state") {
        Some(a) if a.value.as_str() == Some("ENCRYPTED") || is_expr(&a.value) => vec![],
        Some(a) => vec![(a.line, format!("database_encryption.state = {}", a.value))],
        None => vec![(
            line_of(b, "database_encryption.state"),
            "no database_encryption with state ENCRYPTED".into(),
        )],
    }
}

fn gke_client_cert(b: &Block) -> Vec<(usize, String)> {
    match b.get("master_auth.client_certificate_config.issue_client_certificate") {
        Some(a) if is_true(&a.value) => vec![(a.line, "issue_client_certificate = true".into())],
        _ => vec![],
    }
}

fn aks_is_private(b: &Block) -> bool {
    b.attr("private_cluster_enabled")
        .is_some_and(|a| is_true(&a.value))
}

fn aks_private(b: &Block) -> Vec<(usize, String)> {
    match b.attr("private_cluster_enabled") {
        Some(a) if is_true(&a.value) || is_expr(&a.value) => vec![],
        Some(a) => vec![(a.line, "private_cluster_enabled = false".into())],
        None => vec![(
            b.line,
            "private_cluster_enabled is not set (default false)".into(),
        )],
    }
}

fn aks_authorized_ranges(b: &Block) -> Vec<(usize, String)> {
    if aks_is_private(b)
        || b.attr("private_cluster_enabled")
            .is_some_and(|a| is_expr(&a.value))
    {
        return vec![];
    }
    let ranges = b
        .attr("api_server_authorized_ip_ranges")
        .or_else(|| b.get("api_server_access_profile.authorized_ip_ranges"));
    match ranges {
        Some(a) if open_cidr(&a.value) => {
            vec![(a.line, "authorized IP ranges include 0.0.0.0/0".into())]
        }
        Some(a) if a.value.as_array().is_some_and(Vec::is_empty) => {
            vec![(a.line, "authorized IP ranges are empty".into())]
        }
        Some(_) => vec![],
        None => vec![(
            line_of(b, "api_server_access_profile.authorized_ip_ranges"),
            "public API server without authorized IP ranges".into(),
        )],
    }
}

fn aks_rbac(b: &Block) -> Vec<(usize, String)> {
    let a = b
        .attr("role_based_access_control_enabled")
        .or_else(|| b.get("role_based_access_control.enabled"));
    match a {
        Some(a) if is_false(&a.value) => vec![(a.line, "Kubernetes RBAC is disabled".into())],
        _ => vec![],
    }
}

fn aks_aad(b: &Block) -> Vec<(usize, String)> {
    let aad = b
        .block("azure_active_directory_role_based_access_control")
        .is_some()
        || b.get("role_based_access_control.azure_active_directory")
            .is_some()
        || b.block("role_based_access_control")
            .is_some_and(|r| r.block("azure_active_directory").is_some());
    if aad {
        vec![]
    } else {
        vec![(
            b.line,
            "no azure_active_directory_role_based_access_control".into(),
        )]
    }
}

fn aks_network_policy(b: &Block) -> Vec<(usize, String)> {
    match b.get("network_profile.network_policy") {
        Some(a)
            if a.value
                .as_str()
                .is_some_and(|s| s.is_empty() || s == "none") =>
        {
            vec![(a.line, "network_policy is empty".into())]
        }
        Some(_) => vec![],
        None => vec![(
            line_of(b, "network_profile.network_policy"),
            "network_profile.network_policy is not set".into(),
        )],
    }
}

fn aks_logging(b: &Block) -> Vec<(usize, String)> {
    if b.block("oms_agent").is_some() {
        return vec![];
    }
    match b.get("addon_profile.oms_agent.enabled") {
        Some(a) if is_false(&a.value) => {
            vec![(a.line, "addon_profile.oms_agent.enabled = false".into())]
        }
        Some(_) => vec![],
        None => vec![(b.line, "no oms_agent (Container Insights)".into())],
    }
}

fn aks_node_public_ip(b: &Block) -> Vec<(usize, String)> {
    let pool = if b.labels.first().is_some_and(|t| t == AKS_POOL) {
        Some(b)
    } else {
        b.block("default_node_pool")
    };
    let Some(p) = pool else { return vec![] };
    ["enable_node_public_ip", "node_public_ip_enabled"]
        .iter()
        .filter_map(|k| p.attr(k))
        .filter(|a| is_true(&a.value))
        .map(|a| (a.line, format!("{} = true", a.key)))
        .collect()
}

fn aks_upgrade_channel(b: &Block) -> Vec<(usize, String)> {
    let a = b
        .attr("automatic_upgrade_channel")
        .or_else(|| b.attr("automatic_channel_upgrade"));
    match a {
        Some(a) if a.value.as_str() == Some("none") => {
            vec![(a.line, format!("{} = \"none\"", a.key))]
        }
        Some(_) => vec![],
        None => vec![(b.line, "automatic_upgrade_channel is not set".into())],
    }
}

/// What kind of Terraform file a source is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SourceKind {
    /// `.tf` or `.tf.json`: configuration.
    Config,
    /// `.tfvars`: variable values (only `terraform.tfvars` and `*.auto.tfvars` are
    /// applied, as Terraform does without `-var-file`).
    Vars,
}

/// A parsed Terraform file waiting for the other files of its module.
#[derive(Debug)]
pub struct Source {
    /// Path relative to the scan root, `/`-separated.
    pub path: String,
    /// Configuration or variable values.
    pub kind: SourceKind,
    /// The parsed file.
    pub root: Block,
}

/// Parse one `.tf`, `.tf.json` or `.tfvars` file.
pub fn parse_source(path: &str, text: &str) -> Result<Source, ScanError> {
    let lower = path.to_ascii_lowercase();
    let (parsed, kind) = if lower.ends_with(".tf.json") {
        (
            json::parse(text).map_err(|(l, m)| (l, format!("cannot parse Terraform JSON: {m}"))),
            SourceKind::Config,
        )
    } else {
        (
            hcl::parse(text).map_err(|(l, m)| (l, format!("cannot parse HCL: {m}"))),
            if lower.ends_with(".tfvars") {
                SourceKind::Vars
            } else {
                SourceKind::Config
            },
        )
    };
    parsed
        .map(|root| Source {
            path: path.to_string(),
            kind,
            root,
        })
        .map_err(|(line, message)| ScanError {
            path: path.to_string(),
            line,
            message,
        })
}

/// Check one `.tf` file on its own (its own variables and locals are evaluated).
pub fn check(path: &str, text: &str) -> (Vec<Finding>, Vec<ScanError>) {
    match parse_source(path, text) {
        Ok(s) => (check_sources(vec![s]), Vec::new()),
        Err(e) => (Vec::new(), vec![e]),
    }
}

/// Check one `.tf.json` file (Terraform's JSON syntax) with the same rules.
pub fn check_json(path: &str, text: &str) -> (Vec<Finding>, Vec<ScanError>) {
    check(path, text)
}

fn dir_of(path: &str) -> &str {
    path.rsplit_once('/').map_or("", |(d, _)| d)
}

fn auto_vars(path: &str) -> Option<u8> {
    let name = path.rsplit('/').next().unwrap_or(path);
    if name == "terraform.tfvars" {
        Some(0)
    } else if name.ends_with(".auto.tfvars") {
        Some(1)
    } else {
        None
    }
}

/// Check parsed files: each directory is one module, evaluated on its own.
pub fn check_sources(mut sources: Vec<Source>) -> Vec<Finding> {
    sources.sort_by(|a, b| (dir_of(&a.path), &a.path).cmp(&(dir_of(&b.path), &b.path)));
    let rules = rules();
    let mut out = Vec::new();
    let mut rest: &[Source] = &sources;
    while let Some(first) = rest.first() {
        let dir = dir_of(&first.path);
        let n = rest.iter().take_while(|s| dir_of(&s.path) == dir).count();
        let (module, tail) = rest.split_at(n);
        rest = tail;
        out.extend(check_module(module, &rules, None));
    }
    out.sort_by(|a, b| {
        (a.location.path(), a.location.line(), &a.rule_id).cmp(&(
            b.location.path(),
            b.location.line(),
            &b.rule_id,
        ))
    });
    out
}

fn check_module(
    files: &[Source],
    rules: &[Rule],
    mut verdicts: Option<&mut Vec<RuleVerdict>>,
) -> Vec<Finding> {
    let configs: Vec<&Block> = files
        .iter()
        .filter(|s| s.kind == SourceKind::Config)
        .map(|s| &s.root)
        .collect();
    let mut vars: Vec<(u8, &Source)> = files
        .iter()
        .filter_map(|s| auto_vars(&s.path).map(|o| (o, s)))
        .filter(|(_, s)| s.kind == SourceKind::Vars)
        .collect();
    vars.sort_by(|a, b| (a.0, &a.1.path).cmp(&(b.0, &b.1.path)));
    let tfvars: Vec<&Block> = vars.iter().map(|(_, s)| &s.root).collect();
    let scope = eval::Scope::new(&configs, &tfvars);
    let mut resources = Vec::new();
    for s in files.iter().filter(|s| s.kind == SourceKind::Config) {
        for b in s.root.blocks.iter() {
            if b.ident != "resource" && b.ident != "data" {
                continue;
            }
            let (Some(rtype), Some(name)) = (b.labels.first(), b.labels.get(1)) else {
                continue;
            };
            for inst in scope.instances(b) {
                resources.push(Resource {
                    path: s.path.clone(),
                    mode: b.ident.clone(),
                    rtype: rtype.clone(),
                    name: format!("{name}{}", inst.index),
                    block: inst.block,
                });
            }
        }
    }
    let module = Module {
        resources: &resources,
    };
    let mut out = Vec::new();
    for res in resources.iter().filter(|r| r.mode == "resource") {
        let (path, rtype, rname) = (res.path.as_str(), res.rtype.as_str(), res.name.as_str());
        for r in rules.iter().filter(|r| r.resources.contains(&rtype)) {
            let verdict = r.verdict(&res.block, &module);
            if let Some(v) = verdicts.as_deref_mut() {
                v.push(RuleVerdict {
                    rule_id: r.spec.id.to_string(),
                    path: path.to_string(),
                    address: format!("{rtype}.{rname}"),
                    verdict: verdict.clone(),
                });
            }
            let cloud::Verdict::Fail(hits) = verdict else {
                continue;
            };
            let m = meta(&r.spec, "terraform");
            for (line, msg) in hits {
                let fp = fingerprint(&[&m.id, path, rtype, rname]);
                let mut f = Finding::new(
                    &m,
                    format!("{rtype}.{rname}: {msg}"),
                    Location::file(path, Some(Span::line(line))),
                    fp,
                );
                f.properties
                    .insert("resource".into(), json!(format!("{rtype}.{rname}")));
                out.push(f);
            }
        }
        if let Some((value, spans)) = k8s::to_object(rtype, &res.block) {
            let mut obj = rampart_k8s::Object::from_value(value);
            obj.path = Some(path.to_string());
            obj.set_spans(spans);
            for mut f in rampart_k8s::check_object(&obj, &rampart_k8s::Context::default()) {
                f.properties
                    .insert("resource".into(), json!(format!("{rtype}.{rname}")));
                out.push(f);
            }
        }
    }
    out
}

/// Every rule's verdict on every resource it applies to (pass, fail or unknown), module
/// by module as [`check_sources`] does: what the Checkov cross-check compares.
pub fn verdicts(mut sources: Vec<Source>) -> Vec<RuleVerdict> {
    sources.sort_by(|a, b| (dir_of(&a.path), &a.path).cmp(&(dir_of(&b.path), &b.path)));
    let rules = rules();
    let mut out = Vec::new();
    let mut rest: &[Source] = &sources;
    while let Some(first) = rest.first() {
        let dir = dir_of(&first.path);
        let n = rest.iter().take_while(|s| dir_of(&s.path) == dir).count();
        let (module, tail) = rest.split_at(n);
        rest = tail;
        check_module(module, &rules, Some(&mut out));
    }
    out
}

/// Check a parsed file on its own.
pub fn check_parsed(path: &str, root: &Block) -> Vec<Finding> {
    check_sources(vec![Source {
        path: path.to_string(),
        kind: SourceKind::Config,
        root: root.clone(),
    }])
}

/// The file as HCL JSON (the input custom policies see).
pub fn policy_input(text: &str) -> Result<Value, (Option<usize>, String)> {
    hcl::parse(text).map(|r| hcl::to_json(&r))
}
