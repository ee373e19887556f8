//! Terraform (`.tf`, HCL) rules for managed Kubernetes clusters (EKS, GKE, AKS) and the
//! `kubernetes_*` provider resources.
//!
//! Each `.tf` file is checked on its own: modules are not resolved and variables are not
//! evaluated. An attribute set from an expression (`var.public`) is treated as unknown:
//! rules that need a literal bad value do not fire on it, rules that need a setting to
//! be present count it as present.

pub mod hcl;
pub mod json;
pub mod k8s;

use crate::meta::{meta, MetaSpec};
use hcl::{is_expr, is_false, is_true, Attr, Block};
use rampart_core::fingerprint::fingerprint;
use rampart_core::{Finding, Location, RuleMeta, ScanError, Severity, Span};
use serde_json::{json, Value};

/// One Terraform rule.
pub struct Rule {
    /// Metadata (id `terraform/<slug>`).
    pub spec: MetaSpec,
    /// Resource types it applies to.
    pub resources: &'static [&'static str],
    /// The check: (line, message) per problem.
    pub check: fn(&Block) -> Vec<(usize, String)>,
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
            check: $check,
        }
    };
}

const EKS: &str = "aws_eks_cluster";
const GKE: &str = "google_container_cluster";
const GKE_POOL: &str = "google_container_node_pool";
const AKS: &str = "azurerm_kubernetes_cluster";
const AKS_POOL: &str = "azurerm_kubernetes_cluster_node_pool";

/// Every Terraform rule.
pub fn rules() -> Vec<Rule> {
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

fn line_of(b: &Block, path: &str) -> usize {
    b.get(path).map_or_else(|| b.nearest(path).line, |a| a.line)
}

fn strings(v: &Value) -> Vec<&str> {
    match v {
        Value::Array(a) => a.iter().filter_map(Value::as_str).collect(),
        Value::String(s) => vec![s.as_str()],
        _ => Vec::new(),
    }
}

fn open_cidr(v: &Value) -> bool {
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

/// Check one `.tf` file: cluster rules, then `kubernetes_*` resources through
/// `rampart-k8s`.
pub fn check(path: &str, text: &str) -> (Vec<Finding>, Vec<ScanError>) {
    check_with(
        path,
        hcl::parse(text).map_err(|(l, m)| (l, format!("cannot parse HCL: {m}"))),
    )
}

/// Check one `.tf.json` file (Terraform's JSON syntax) with the same rules.
pub fn check_json(path: &str, text: &str) -> (Vec<Finding>, Vec<ScanError>) {
    check_with(
        path,
        json::parse(text).map_err(|(l, m)| (l, format!("cannot parse Terraform JSON: {m}"))),
    )
}

fn check_with(
    path: &str,
    parsed: Result<Block, (Option<usize>, String)>,
) -> (Vec<Finding>, Vec<ScanError>) {
    match parsed {
        Ok(root) => (check_parsed(path, &root), Vec::new()),
        Err((line, message)) => (
            Vec::new(),
            vec![ScanError {
                path: path.to_string(),
                line,
                message,
            }],
        ),
    }
}

/// Check a parsed file.
pub fn check_parsed(path: &str, root: &Block) -> Vec<Finding> {
    let rules = rules();
    let mut out = Vec::new();
    for res in root.blocks_named("resource") {
        let (Some(rtype), Some(rname)) = (res.labels.first(), res.labels.get(1)) else {
            continue;
        };
        for r in rules
            .iter()
            .filter(|r| r.resources.contains(&rtype.as_str()))
        {
            let hits = (r.check)(res);
            if hits.is_empty() {
                continue;
            }
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
        if let Some((value, spans)) = k8s::to_object(rtype, res) {
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
    out.sort_by(|a, b| (a.location.line(), &a.rule_id).cmp(&(b.location.line(), &b.rule_id)));
    out
}

/// The file as HCL JSON (the input custom policies see).
pub fn policy_input(text: &str) -> Result<Value, (Option<usize>, String)> {
    hcl::parse(text).map(|r| hcl::to_json(&r))
}
