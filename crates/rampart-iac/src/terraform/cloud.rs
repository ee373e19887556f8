//! Rules for the cloud resources around a cluster (AWS, GCP, Azure), by service: object
//! storage, network, IAM, KMS, managed databases, registries, audit logging, load
//! balancers, secrets managers, block storage. Each carries the Checkov id(s) it
//! matches; `tests/it/checkov.rs` compares its per-resource verdicts with Checkov's own.
//!
//! A check returns a [`Verdict`]: `Unknown` when the value it needs is an unevaluated
//! expression (a variable without a default, another resource's attribute), so an
//! unknown value is never a finding and never counted as a pass.

use super::hcl::{is_expr, is_false, is_true, Block};
use super::{line_of, open_cidr, refers_to, strings, Check, Hits, Module, Rule};
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
        cloud!("gcs-uniform-access", Medium, ["google_storage_bucket"], "Cloud Storage bucket without uniform bucket-level access",
            "Without `uniform_bucket_level_access = true` per-object ACLs apply next to IAM: one object can be made public without any IAM change, and access is hard to audit.",
            "Set `uniform_bucket_level_access = true` and grant access through IAM only.",
            ["CKV_GCP_29", "CIS GCP 5.2"], gcs_uniform),
        cloud!("gcs-public-access-prevention", Medium, ["google_storage_bucket"], "Cloud Storage bucket does not enforce public access prevention",
            "Without `public_access_prevention = \"enforced\"` (or an organization policy doing it) an IAM binding or ACL for `allUsers` makes the bucket public.",
            "Set `public_access_prevention = \"enforced\"`.",
            ["CKV_GCP_114"], gcs_pap),
        cloud!("gcs-public-iam", Critical, ["google_storage_bucket_iam_member", "google_storage_bucket_iam_binding"], "Cloud Storage bucket granted to allUsers/allAuthenticatedUsers",
            "An IAM member or binding for `allUsers` or `allAuthenticatedUsers` makes the bucket's objects readable (or writable) by anyone on the internet or any Google account.",
            "Grant the role to named users, groups or service accounts; serve public content through a load balancer with Cloud CDN and signed URLs.",
            ["CKV_GCP_28", "CIS GCP 5.1", "CWE-284"], gcs_public_iam),
        cloud!("azure-storage-public-blobs", High, ["azurerm_storage_account"], "Azure storage account allows public blob access",
            "`allow_nested_items_to_be_public = true` (the azurerm 3.x default; `allow_blob_public_access` before) lets any container be switched to anonymous read access.",
            "Set `allow_nested_items_to_be_public = false`.",
            ["CKV_AZURE_190", "CIS Azure 3.7"], azure_storage_public),
        // ---- network
        cloud!("sg-ssh-open", High, [SG, SG_RULE, SG_INGRESS], "Security group allows SSH (22) from anywhere",
            "An ingress rule from `0.0.0.0/0` or `::/0` covering port 22 exposes SSH to the whole internet: brute force and every future sshd vulnerability.",
            "Allow port 22 only from your VPN/bastion CIDRs or security groups, or use SSM Session Manager instead of SSH.",
            ["CKV_AWS_24", "CIS AWS 5.2", "CWE-284"], sg_22),
        cloud!("sg-rdp-open", High, [SG, SG_RULE, SG_INGRESS], "Security group allows RDP (3389) from anywhere",
            "An ingress rule from `0.0.0.0/0` or `::/0` covering port 3389 exposes Remote Desktop to the whole internet.",
            "Allow port 3389 only from your VPN/bastion CIDRs or security groups.",
            ["CKV_AWS_25", "CIS AWS 5.3", "CWE-284"], sg_3389),
        cloud!("sg-all-ports-open", Critical, [SG, SG_RULE, SG_INGRESS], "Security group allows every port from anywhere",
            "An ingress rule from `0.0.0.0/0` or `::/0` with protocol `-1`/`all` or a full port range exposes every service on the instances to the internet.",
            "Open only the ports the service needs, from the sources that need them.",
            ["CKV_AWS_277", "CWE-284"], sg_all),
        cloud!("vpc-flow-logs", Medium, ["aws_vpc"], "VPC without flow logs",
            "Without an `aws_flow_log` for the VPC there is no record of accepted and rejected connections for incident response.",
            "Add `aws_flow_log { vpc_id = aws_vpc.main.id traffic_type = \"ALL\" log_destination = ... }`.",
            ["CKV2_AWS_11", "CIS AWS 3.9"], vpc_flow_logs),
        cloud!("gcp-subnet-flow-logs", Low, ["google_compute_subnetwork"], "GCP subnet without VPC flow logs",
            "Without a `log_config` block the subnet's VPC flow logs are off.",
            "Add `log_config { aggregation_interval = \"INTERVAL_5_SEC\" flow_sampling = 0.5 metadata = \"INCLUDE_ALL_METADATA\" }`.",
            ["CKV_GCP_26", "CIS GCP 3.8"], gcp_subnet_flow_logs),
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
        // ---- IAM
        cloud!("iam-admin-policy", High, ["aws_iam_policy", "aws_iam_role_policy", "aws_iam_user_policy", "aws_iam_group_policy", "aws_ssoadmin_permission_set_inline_policy"], "IAM policy grants full administrator access (\"*\" on \"*\")",
            "A statement that allows `Action = \"*\"` on `Resource = \"*\"` makes whoever holds the policy an administrator of the account: one leaked credential is the whole account.",
            "Grant only the actions and resources the workload needs (IAM Access Analyzer can generate a policy from CloudTrail activity); keep administrator access to break-glass roles.",
            ["CKV_AWS_62", "CIS AWS 1.16", "CWE-269"], iam_admin_policy),
        cloud!("iam-managed-admin-policy", High, ["aws_iam_role", "aws_iam_policy_attachment", "aws_iam_role_policy_attachment", "aws_iam_user_policy_attachment", "aws_iam_group_policy_attachment", "aws_ssoadmin_managed_policy_attachment"], "AWS AdministratorAccess policy attached",
            "Attaching `arn:aws:iam::aws:policy/AdministratorAccess` to a role, user, group or permission set grants every action on every resource.",
            "Attach a least-privilege customer-managed policy instead; keep AdministratorAccess to a break-glass role with MFA.",
            ["CKV_AWS_274", "CWE-269"], iam_managed_admin),
        cloud!("iam-role-trust-any-principal", Critical, ["aws_iam_role"], "IAM role can be assumed by any AWS principal",
            "An `assume_role_policy` statement that allows `sts:AssumeRole` to `Principal = \"*\"` (or `{AWS = \"*\"}`) without a narrowing `Condition` lets any AWS account assume the role.",
            "Name the trusted accounts, roles or services in `Principal`, or add a `Condition` such as `aws:PrincipalOrgID` or `sts:ExternalId`.",
            ["CKV_AWS_60", "CWE-284"], iam_trust_any),
        cloud!("gcp-iam-basic-role", High, ["google_project_iam_member", "google_project_iam_binding", "google_folder_iam_member", "google_folder_iam_binding", "google_organization_iam_member", "google_organization_iam_binding"], "GCP basic role (owner/editor/viewer) granted",
            "The basic roles `roles/owner`, `roles/editor` and `roles/viewer` cover thousands of permissions across every service of the project, folder or organization.",
            "Grant predefined or custom roles scoped to what the member needs.",
            ["CKV_GCP_117", "CKV_GCP_116", "CKV_GCP_115", "CIS GCP 1.5"], gcp_basic_role),
        // ---- KMS (Google)
        cloud!("gcp-kms-rotation", Medium, ["google_kms_crypto_key"], "Cloud KMS key not rotated within 90 days",
            "A symmetric Cloud KMS key without `rotation_period` (or with one longer than 90 days) keeps the same key version for too long.",
            "Set `rotation_period = \"7776000s\"` (90 days) or shorter.",
            ["CKV_GCP_43", "CIS GCP 1.10"], gcp_kms_rotation),
        // ---- managed databases
        cloud!("rds-encryption", High, ["aws_db_instance"], "RDS instance storage not encrypted",
            "Without `storage_encrypted = true` the database files, automated backups, read replicas and snapshots are stored unencrypted.",
            "Set `storage_encrypted = true` (and `kms_key_id` for a customer-managed key); an existing instance needs a snapshot copy with encryption and a restore.",
            ["CKV_AWS_16", "CIS AWS 2.3.1", "CWE-311"], rds_encryption),
        cloud!("rds-public", Critical, ["aws_db_instance", "aws_rds_cluster_instance"], "RDS instance is publicly accessible",
            "`publicly_accessible = true` gives the instance a public DNS name and IP address: the database login is reachable from the internet when the security group allows it.",
            "Set `publicly_accessible = false` and reach the database from inside the VPC (or through a bastion/SSM tunnel).",
            ["CKV_AWS_17", "CIS AWS 2.3.3", "CWE-284"], rds_public),
        cloud!("rds-backup-retention", Medium, ["aws_db_instance", "aws_rds_cluster"], "RDS automated backups disabled",
            "`backup_retention_period = 0` turns automated backups and point-in-time recovery off.",
            "Set `backup_retention_period` to at least 7 days.",
            ["CKV_AWS_133"], rds_backup),
        cloud!("gcp-sql-public-ip", Medium, ["google_sql_database_instance"], "Cloud SQL instance has a public IP address",
            "`settings.ip_configuration.ipv4_enabled` defaults to `true`: the instance gets a public IP address and any authorized network (or misconfigured `0.0.0.0/0`) can reach it.",
            "Set `ip_configuration { ipv4_enabled = false private_network = google_compute_network.vpc.id }`.",
            ["CKV_GCP_60", "CIS GCP 6.6"], gcp_sql_public_ip),
        // ---- registries
        cloud!("ecr-public-policy", High, ["aws_ecr_repository_policy"], "ECR repository policy allows any principal",
            "A repository policy statement that allows `Principal = \"*\"` without a narrowing `Condition` lets anyone pull (or push) images.",
            "Name the accounts or roles in `Principal`, or add a `Condition` such as `aws:PrincipalOrgID`.",
            ["CKV_AWS_32", "CWE-284"], ecr_public_policy),
        cloud!("gcp-artifact-registry-public", High, ["google_artifact_registry_repository_iam_member", "google_artifact_registry_repository_iam_binding"], "Artifact Registry repository granted to allUsers/allAuthenticatedUsers",
            "An IAM member or binding for `allUsers` or `allAuthenticatedUsers` makes the repository's images readable (or writable) by anyone.",
            "Grant the role to named principals only.",
            ["CKV_GCP_101", "CWE-284"], gcp_public_iam_resource),
        cloud!("acr-public-network", Medium, ["azurerm_container_registry"], "Azure Container Registry reachable from the public internet",
            "`public_network_access_enabled` defaults to `true`: the registry endpoint accepts connections from any network.",
            "Set `public_network_access_enabled = false` and reach the registry through a private endpoint (Premium SKU).",
            ["CKV_AZURE_139"], acr_public_network),
        cloud!("ecr-immutable-tags", Medium, ["aws_ecr_repository"], "ECR repository tags are mutable",
            "With `image_tag_mutability = \"MUTABLE\"` (the default) anyone who can push can replace the image behind a tag that clusters already deploy.",
            "Set `image_tag_mutability = \"IMMUTABLE\"` and deploy by digest.",
            ["CKV_AWS_51"], ecr_immutable),
        cloud!("ecr-scan-on-push", Low, ["aws_ecr_repository"], "ECR repository does not scan images on push",
            "Without `image_scanning_configuration { scan_on_push = true }` (or enhanced registry scanning) pushed images are not checked for known vulnerabilities.",
            "Add `image_scanning_configuration { scan_on_push = true }` or turn on enhanced scanning for the registry.",
            ["CKV_AWS_163"], ecr_scan),
        cloud!("acr-admin-enabled", High, ["azurerm_container_registry"], "Azure Container Registry admin account enabled",
            "`admin_enabled = true` creates a shared username/password with push and pull rights on the whole registry, outside Entra ID and its audit.",
            "Set `admin_enabled = false` and use Entra ID identities (managed identity, service principal) with `AcrPull`/`AcrPush` roles.",
            ["CKV_AZURE_137"], acr_admin),
        // ---- audit logging
        cloud!("cloudtrail-kms", Medium, ["aws_cloudtrail"], "CloudTrail logs not encrypted with a KMS key",
            "Without `kms_key_id` the trail's log files are encrypted with S3-managed keys: anyone who can read the bucket can read the account's audit log.",
            "Set `kms_key_id = aws_kms_key.trail.arn` with a key policy that limits decryption.",
            ["CKV_AWS_35", "CIS AWS 3.5"], cloudtrail_kms),
        cloud!("cloudtrail-log-validation", Medium, ["aws_cloudtrail"], "CloudTrail log file validation disabled",
            "Without `enable_log_file_validation = true` a deleted or edited audit log file cannot be detected.",
            "Set `enable_log_file_validation = true`.",
            ["CKV_AWS_36", "CIS AWS 3.2"], cloudtrail_validation),
        cloud!("cloudtrail-multi-region", Medium, ["aws_cloudtrail"], "CloudTrail trail covers one region only",
            "Without `is_multi_region_trail = true` activity in the other regions (where an attacker would start resources) is not recorded by this trail.",
            "Set `is_multi_region_trail = true`.",
            ["CKV_AWS_67", "CIS AWS 3.1"], cloudtrail_multi_region),
        cloud!("cloudwatch-log-retention", Low, ["aws_cloudwatch_log_group"], "CloudWatch log group without a retention period",
            "Without `retention_in_days` the retention is left implicit (kept forever, at a cost) instead of a decision matching your audit requirements.",
            "Set `retention_in_days` (e.g. 365 for audit logs).",
            ["CKV_AWS_66"], log_retention),
        // ---- load balancers
        cloud!("lb-access-logs", Medium, ["aws_lb", "aws_alb"], "Load balancer access logs disabled",
            "Without `access_logs { enabled = true }` there is no record of the requests that reached the load balancer.",
            "Add `access_logs { bucket = aws_s3_bucket.lb_logs.id enabled = true }`.",
            ["CKV_AWS_91"], lb_access_logs),
        cloud!("lb-http-listener", Medium, ["aws_lb_listener", "aws_alb_listener"], "Load balancer listener serves plain HTTP",
            "A listener with `protocol = \"HTTP\"` whose default action is not a redirect to HTTPS sends traffic (cookies, tokens) unencrypted.",
            "Listen on HTTPS with a certificate and an `ssl_policy`, and make the HTTP listener a `redirect` to `HTTPS` with `status_code = \"HTTP_301\"`.",
            ["CKV_AWS_2", "CWE-319"], lb_http),
        // ---- secrets managers
        cloud!("secretsmanager-kms", Low, ["aws_secretsmanager_secret"], "Secrets Manager secret not encrypted with a customer-managed KMS key",
            "Without `kms_key_id` the secret is encrypted with the AWS-managed key `aws/secretsmanager`: every principal of the account allowed to call GetSecretValue can decrypt it, and the key policy cannot be narrowed.",
            "Set `kms_key_id = aws_kms_key.secrets.arn`.",
            ["CKV_AWS_149"], secret_kms),
        // ---- serverless
        cloud!("lambda-url-no-auth", High, ["aws_lambda_function_url"], "Lambda function URL without authentication",
            "`authorization_type = \"NONE\"` lets anyone on the internet invoke the function through its URL.",
            "Set `authorization_type = \"AWS_IAM\"` and sign requests, or put the function behind API Gateway with an authorizer.",
            ["CKV_AWS_258", "CWE-306"], lambda_url_auth),
        cloud!("lambda-permission-public", High, ["aws_lambda_permission"], "Lambda permission granted to any principal",
            "`principal = \"*\"` lets any AWS account (or anyone, through a public trigger) invoke the function.",
            "Name the service (`events.amazonaws.com`) or account in `principal`, with `source_arn`/`source_account`.",
            ["CKV_AWS_301", "CWE-284"], lambda_permission_public),
        cloud!("gcp-function-public", High, ["google_cloudfunctions_function_iam_member", "google_cloudfunctions_function_iam_binding", "google_cloudfunctions2_function_iam_member", "google_cloudfunctions2_function_iam_binding"], "Cloud Function invocable by allUsers/allAuthenticatedUsers",
            "An IAM grant for `allUsers` or `allAuthenticatedUsers` lets anyone invoke the function.",
            "Grant `roles/cloudfunctions.invoker` to named principals, or front the function with an authenticating proxy.",
            ["CKV_GCP_107", "CWE-306"], gcp_public_iam_resource),
        // ---- block storage
        cloud!("ebs-encryption", High, ["aws_ebs_volume"], "EBS volume not encrypted",
            "Without `encrypted = true` (and without account-level EBS encryption by default) the volume and its snapshots are stored unencrypted.",
            "Set `encrypted = true` (with `kms_key_id` for a customer-managed key), or turn on `aws_ebs_encryption_by_default`.",
            ["CKV_AWS_3", "CIS AWS 2.2.1", "CWE-311"], ebs_encryption),
        // ---- KMS
        cloud!("kms-key-policy-any-principal", High, ["aws_kms_key"], "KMS key policy allows any principal",
            "A key policy statement that allows `Principal = \"*\"` without a narrowing `Condition` lets any AWS principal use or manage the key.",
            "Name the account root or roles in `Principal`, or add a `Condition` such as `kms:CallerAccount`.",
            ["CKV_AWS_33", "CWE-284"], kms_any_principal),
        cloud!("gcp-kms-public-iam", Critical, ["google_kms_crypto_key_iam_member", "google_kms_crypto_key_iam_binding", "google_kms_crypto_key_iam_policy"], "Cloud KMS key granted to allUsers/allAuthenticatedUsers",
            "An IAM grant on a crypto key for `allUsers` or `allAuthenticatedUsers` lets anyone encrypt, decrypt or manage with it.",
            "Grant key roles to named service accounts only.",
            ["CKV_GCP_112", "CIS GCP 1.9", "CWE-284"], gcp_public_iam_resource),
        cloud!("keyvault-public-network", Medium, ["azurerm_key_vault"], "Azure Key Vault reachable from the public internet",
            "Without `public_network_access_enabled = false` or `network_acls { default_action = \"Deny\" }` the vault endpoint accepts connections from any network.",
            "Set `public_network_access_enabled = false` (private endpoint), or `network_acls { default_action = \"Deny\" bypass = \"AzureServices\" ip_rules = [...] }`.",
            ["CKV_AZURE_189"], keyvault_public_network),
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

/// Values with the line to report them on.
type Lined<'a, T> = Vec<(usize, &'a T)>;

/// The canned ACL of a bucket: its own `acl`, else an `aws_s3_bucket_acl` for it.
/// Returns each ACL value with its line, and the grants (blocks) that apply.
fn bucket_acls<'a>(b: &'a Block, m: &'a Module<'_>) -> (Lined<'a, Value>, Lined<'a, Block>) {
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
        Value::String(s) if s.trim().is_empty() => Some(serde_json::json!({})),
        Value::String(s) if !is_expr(v) => serde_json::from_str(s).ok(),
        Value::Object(_) => Some(v.clone()),
        _ => None,
    }
}

/// Whether a statement allows (an `Effect` other than `Deny`, as IAM reads a missing one
/// in `aws_iam_policy_document`, and as Checkov reads it everywhere).
fn allows(s: &Value) -> bool {
    s.get("Effect").and_then(Value::as_str) != Some("Deny")
}

/// The statements of a policy document (objects), and whether some part of the list is
/// unknown (`${…}`).
fn statements(doc: &Value) -> (Vec<&Value>, bool) {
    let all = doc.get("Statement").map(list).unwrap_or_default();
    let unknown = all.iter().any(|s| !s.is_object());
    (all.into_iter().filter(|s| s.is_object()).collect(), unknown)
}

/// Fail when a statement matches, unknown when none does but some are unknown.
fn policy_verdict(doc: &Value, line: usize, msg: &str, bad: impl Fn(&Value) -> bool) -> Verdict {
    let (stmts, unknown) = statements(doc);
    if stmts.into_iter().any(bad) {
        Verdict::fail(line, msg)
    } else if unknown {
        Verdict::Unknown
    } else {
        Verdict::Pass
    }
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

/// Condition keys that pin the caller to an account, organization, principal, network or
/// source (the keys AWS documents for limiting a `"*"` principal); `aws:username` and the
/// like do not: the same name exists in every account.
const RESTRICTING_KEYS: [&str; 18] = [
    "aws:principalarn",
    "aws:principalorgid",
    "aws:principalorgpaths",
    "aws:principalaccount",
    "aws:sourcearn",
    "aws:sourceaccount",
    "aws:sourceorgid",
    "aws:sourceorgpaths",
    "aws:sourcevpc",
    "aws:sourcevpce",
    "aws:sourceip",
    "aws:sourceowner",
    "aws:vpceaccount",
    "aws:vpcesourceip",
    "aws:userid",
    "kms:calleraccount",
    "kms:viaservice",
    "sts:externalid",
];

/// Whether a policy `Condition` narrows who matches: one of [`RESTRICTING_KEYS`] with a
/// value that is more than a wildcard (`*`, `arn:aws:iam::*` match every account). An
/// unknown value (`${local.org_ids}`) counts as narrowing.
fn restricts(c: &Value) -> bool {
    fn wildcard(s: &str) -> bool {
        s.split(':').all(|seg| {
            matches!(
                seg,
                "" | "*" | "arn" | "aws" | "iam" | "sts" | "root" | "*/*"
            )
        })
    }
    fn specific(v: &Value) -> bool {
        match v {
            Value::String(s) => !wildcard(s),
            Value::Bool(_) | Value::Number(_) => true,
            Value::Array(a) => a.iter().any(specific),
            _ => false,
        }
    }
    let Some(ops) = c.as_object() else {
        return false;
    };
    ops.values().filter_map(Value::as_object).any(|keys| {
        keys.iter().any(|(k, v)| {
            RESTRICTING_KEYS.contains(&k.to_ascii_lowercase().as_str()) && specific(v)
        })
    })
}

fn s3_any_principal(b: &Block, _m: &Module<'_>) -> Verdict {
    let Some(a) = b.attr("policy") else {
        return Verdict::NotApplicable;
    };
    let Some(doc) = policy_doc(&a.value) else {
        return Verdict::Unknown;
    };
    policy_verdict(
        &doc,
        a.line,
        "a statement allows Principal \"*\" without a Condition",
        |s| {
            allows(s)
                && s.get("Principal").is_some_and(principal_is_any)
                && s.get("Condition").is_none_or(|c| !restricts(c))
        },
    )
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

/// Whether an AWS rule (protocol, from, to) covers `port` (`ALL_PORTS`: every port).
/// `None`: unknown.
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
        // 0-0 and -1/-1 are how "every port" is written most of the time (and how
        // Checkov reads them).
        (Some(0), Some(0)) | (Some(-1), Some(-1)) => Some(true),
        (Some(f), Some(t)) if port == ALL_PORTS => Some(f <= 1 && t >= 65535),
        (Some(f), Some(t)) => Some(f <= port && port <= t),
        _ if from.is_some_and(is_expr) || to.is_some_and(is_expr) => None,
        _ => Some(false),
    }
}

/// `port` value meaning "every port".
const ALL_PORTS: i64 = -1;

fn aws_sg_open(b: &Block, port: i64) -> Verdict {
    let what = if port == ALL_PORTS {
        "ingress from 0.0.0.0/0 or ::/0 to every port".to_string()
    } else {
        format!("ingress from 0.0.0.0/0 or ::/0 to port {port}")
    };
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

fn sg_all(b: &Block, _m: &Module<'_>) -> Verdict {
    aws_sg_open(b, ALL_PORTS)
}

fn vpc_flow_logs(b: &Block, m: &Module<'_>) -> Verdict {
    if m.referring(&["aws_flow_log"], "vpc_id", b, None)
        .next()
        .is_some()
    {
        Verdict::Pass
    } else {
        Verdict::fail(b.line, "no aws_flow_log for this VPC")
    }
}

fn gcp_subnet_flow_logs(b: &Block, _m: &Module<'_>) -> Verdict {
    if b.attr("purpose")
        .and_then(|a| a.value.as_str())
        .is_some_and(|p| {
            matches!(
                p,
                "REGIONAL_MANAGED_PROXY"
                    | "GLOBAL_MANAGED_PROXY"
                    | "INTERNAL_HTTPS_LOAD_BALANCER"
                    | "PRIVATE_SERVICE_CONNECT"
            )
        })
    {
        // Proxy-only and PSC subnets cannot have flow logs.
        return Verdict::NotApplicable;
    }
    if blocks_or_dynamic(b, "log_config").next().is_some() {
        Verdict::Pass
    } else {
        Verdict::fail(b.line, "no log_config: VPC flow logs are off")
    }
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

// ---------------------------------------------------------------- object storage (GCP, Azure)

fn gcs_uniform(b: &Block, _m: &Module<'_>) -> Verdict {
    let a = b
        .attr("uniform_bucket_level_access")
        .or_else(|| b.get("bucket_policy_only"));
    match a {
        Some(a) if is_true(&a.value) => Verdict::Pass,
        Some(a) if is_expr(&a.value) => Verdict::Unknown,
        Some(a) => Verdict::fail(
            a.line,
            "uniform_bucket_level_access = false: object ACLs apply",
        ),
        None => Verdict::fail(
            b.line,
            "uniform_bucket_level_access is not set (default false)",
        ),
    }
}

fn gcs_pap(b: &Block, _m: &Module<'_>) -> Verdict {
    match b.attr("public_access_prevention") {
        Some(a) if a.value.as_str() == Some("enforced") => Verdict::Pass,
        Some(a) if is_expr(&a.value) => Verdict::Unknown,
        Some(a) => Verdict::fail(a.line, format!("public_access_prevention = {}", a.value)),
        None => Verdict::fail(b.line, "public_access_prevention is not set (inherited)"),
    }
}

fn gcp_public_members(b: &Block) -> Verdict {
    let mut vals: Vec<(usize, &Value)> = Vec::new();
    for k in ["member", "members"] {
        if let Some(a) = b.attr(k) {
            vals.extend(list(&a.value).into_iter().map(|v| (a.line, v)));
        }
    }
    let mut unknown = false;
    for (line, v) in vals {
        match v.as_str() {
            Some(m) if is_expr(v) => unknown |= !m.is_empty(),
            Some(m @ ("allUsers" | "allAuthenticatedUsers")) => {
                return Verdict::fail(line, format!("granted to {m}"))
            }
            _ => {}
        }
    }
    if unknown {
        Verdict::Unknown
    } else {
        Verdict::Pass
    }
}

fn gcs_public_iam(b: &Block, _m: &Module<'_>) -> Verdict {
    gcp_public_members(b)
}

fn azure_storage_public(b: &Block, _m: &Module<'_>) -> Verdict {
    let a = b
        .attr("allow_nested_items_to_be_public")
        .or(b.attr("allow_blob_public_access"));
    match a {
        Some(a) if is_false(&a.value) => Verdict::Pass,
        Some(a) if is_expr(&a.value) => Verdict::Unknown,
        Some(a) => Verdict::fail(a.line, format!("{} = {}", a.key, a.value)),
        None => Verdict::fail(
            b.line,
            "allow_nested_items_to_be_public is not set (true in azurerm 3.x)",
        ),
    }
}

// ---------------------------------------------------------------- IAM

/// The policy document an attribute holds: JSON text or an object, or a reference to a
/// `data "aws_iam_policy_document"` of the module (its `statement` blocks).
fn policy_of(v: &Value, m: &Module<'_>) -> Option<Value> {
    if let Some(doc) = policy_doc(v) {
        return Some(doc);
    }
    let s = v.as_str()?;
    let r = m.resources.iter().find(|r| {
        r.mode == "data"
            && r.rtype == "aws_iam_policy_document"
            && refers_to(v, &format!("data.aws_iam_policy_document.{}", r.name))
    })?;
    let _ = s;
    let mut statements = Vec::new();
    for st in r.block.blocks_named("statement") {
        let mut o = serde_json::Map::new();
        let effect = st
            .attr("effect")
            .map_or(Value::String("Allow".into()), |a| a.value.clone());
        o.insert("Effect".into(), effect);
        for (k, key) in [
            ("actions", "Action"),
            ("not_actions", "NotAction"),
            ("resources", "Resource"),
            ("not_resources", "NotResource"),
        ] {
            if let Some(a) = st.attr(k) {
                o.insert(key.into(), a.value.clone());
            }
        }
        let mut principal = serde_json::Map::new();
        for p in st.blocks_named("principals") {
            if let (Some(t), Some(ids)) = (p.attr("type"), p.attr("identifiers")) {
                let key = t.value.as_str().unwrap_or("AWS").to_string();
                let ids = if t.value.as_str() == Some("*") {
                    Value::String("*".into())
                } else {
                    ids.value.clone()
                };
                principal.insert(key, ids);
            }
        }
        if let Some(star) = principal.get("*").cloned() {
            o.insert("Principal".into(), star);
        } else if !principal.is_empty() {
            o.insert("Principal".into(), Value::Object(principal));
        }
        let mut cond = serde_json::Map::new();
        for c in st.blocks_named("condition") {
            if let (Some(t), Some(var), Some(vals)) =
                (c.attr("test"), c.attr("variable"), c.attr("values"))
            {
                let mut inner = serde_json::Map::new();
                inner.insert(
                    var.value.as_str().unwrap_or_default().into(),
                    vals.value.clone(),
                );
                cond.insert(
                    t.value.as_str().unwrap_or_default().into(),
                    Value::Object(inner),
                );
            }
        }
        if !cond.is_empty() {
            o.insert("Condition".into(), Value::Object(cond));
        }
        statements.push(Value::Object(o));
    }
    Some(serde_json::json!({ "Statement": statements }))
}

fn has_star(v: Option<&Value>) -> bool {
    v.is_some_and(|v| list(v).iter().any(|x| x.as_str() == Some("*")))
}

fn iam_admin_policy(b: &Block, m: &Module<'_>) -> Verdict {
    let Some(a) = b.attr("policy").or(b.attr("inline_policy")) else {
        return Verdict::NotApplicable;
    };
    let Some(doc) = policy_of(&a.value, m) else {
        return Verdict::Unknown;
    };
    policy_verdict(
        &doc,
        a.line,
        "a statement allows Action \"*\" on Resource \"*\"",
        |s| allows(s) && has_star(s.get("Action")) && has_star(s.get("Resource")),
    )
}

const ADMIN_ARN_SUFFIX: &str = ":policy/AdministratorAccess";

fn iam_managed_admin(b: &Block, _m: &Module<'_>) -> Verdict {
    let attr = b
        .attr("policy_arn")
        .or(b.attr("managed_policy_arn"))
        .or(b.attr("managed_policy_arns"));
    let Some(a) = attr else {
        return Verdict::Pass;
    };
    let vals = list(&a.value);
    if vals.iter().any(|v| {
        v.as_str()
            .is_some_and(|s| !is_expr(v) && s.ends_with(ADMIN_ARN_SUFFIX))
    }) {
        Verdict::fail(a.line, "the AWS AdministratorAccess policy is attached")
    } else if vals.iter().any(|v| is_expr(v)) {
        Verdict::Unknown
    } else {
        Verdict::Pass
    }
}

fn iam_trust_any(b: &Block, m: &Module<'_>) -> Verdict {
    let Some(a) = b.attr("assume_role_policy") else {
        return Verdict::NotApplicable;
    };
    let Some(doc) = policy_of(&a.value, m) else {
        return Verdict::Unknown;
    };
    policy_verdict(
        &doc,
        a.line,
        "the trust policy allows Principal \"*\" without a Condition",
        |s| {
            allows(s)
                && s.get("Principal").is_some_and(principal_is_any)
                && s.get("Condition").is_none_or(|c| !restricts(c))
        },
    )
}

fn gcp_basic_role(b: &Block, _m: &Module<'_>) -> Verdict {
    match b.attr("role") {
        Some(a) if is_expr(&a.value) => Verdict::Unknown,
        Some(a) => match a.value.as_str() {
            Some(r @ ("roles/owner" | "roles/editor" | "roles/viewer")) => {
                Verdict::fail(a.line, format!("role = \"{r}\" is a basic role"))
            }
            _ => Verdict::Pass,
        },
        None => Verdict::NotApplicable,
    }
}

// ---------------------------------------------------------------- KMS (Google)

fn gcp_kms_rotation(b: &Block, _m: &Module<'_>) -> Verdict {
    if let Some(p) = b.attr("purpose") {
        match p.value.as_str() {
            _ if is_expr(&p.value) => return Verdict::Unknown,
            Some(s) if s != "ENCRYPT_DECRYPT" => return Verdict::NotApplicable,
            _ => {}
        }
    }
    const MAX: f64 = 90.0 * 24.0 * 3600.0;
    match b.attr("rotation_period") {
        None => Verdict::fail(b.line, "rotation_period is not set: the key never rotates"),
        Some(a) if is_expr(&a.value) => Verdict::Unknown,
        Some(a) => {
            let secs = a
                .value
                .as_str()
                .and_then(|s| s.strip_suffix('s'))
                .and_then(|s| s.parse::<f64>().ok());
            match secs {
                Some(n) if n <= MAX => Verdict::Pass,
                _ => Verdict::fail(
                    a.line,
                    format!("rotation_period = {} is longer than 90 days", a.value),
                ),
            }
        }
    }
}

// ---------------------------------------------------------------- simple settings

/// A boolean setting that must be `true`; `default` is the provider default.
fn must_be_true(b: &Block, path: &str, default: bool, msg: &str) -> Verdict {
    match b.get(path) {
        Some(a) if is_true(&a.value) => Verdict::Pass,
        Some(a) if is_expr(&a.value) => Verdict::Unknown,
        Some(a) => Verdict::fail(a.line, format!("{msg} ({path} = {})", a.value)),
        None if default => Verdict::Pass,
        None => Verdict::fail(line_of(b, path), format!("{msg} ({path} is not set)")),
    }
}

/// A boolean setting that must not be `true`; `default` is the provider default.
fn must_not_be_true(b: &Block, path: &str, default: bool, msg: &str) -> Verdict {
    match b.get(path) {
        Some(a) if is_true(&a.value) => Verdict::fail(a.line, format!("{msg} ({path} = true)")),
        Some(a) if is_expr(&a.value) => Verdict::Unknown,
        Some(_) => Verdict::Pass,
        None if default => {
            Verdict::fail(line_of(b, path), format!("{msg} ({path} defaults to true)"))
        }
        None => Verdict::Pass,
    }
}

/// An attribute that must be set (to anything but null or an empty string).
fn must_be_set(b: &Block, path: &str, msg: &str) -> Verdict {
    match b.get(path) {
        Some(a) if a.value.is_null() || a.value.as_str() == Some("") => {
            Verdict::fail(a.line, format!("{msg} ({path} is empty)"))
        }
        Some(_) => Verdict::Pass,
        None => Verdict::fail(line_of(b, path), format!("{msg} ({path} is not set)")),
    }
}

fn rds_encryption(b: &Block, _m: &Module<'_>) -> Verdict {
    must_be_true(b, "storage_encrypted", false, "storage is not encrypted")
}

fn rds_public(b: &Block, _m: &Module<'_>) -> Verdict {
    must_not_be_true(
        b,
        "publicly_accessible",
        false,
        "the instance is publicly accessible",
    )
}

fn rds_backup(b: &Block, _m: &Module<'_>) -> Verdict {
    match b.attr("backup_retention_period") {
        Some(a) if is_expr(&a.value) => Verdict::Unknown,
        Some(a) => match num(&a.value) {
            Some(0) => Verdict::fail(
                a.line,
                "backup_retention_period = 0: automated backups are off",
            ),
            Some(1..=35) => Verdict::Pass,
            _ => Verdict::fail(
                a.line,
                format!("backup_retention_period = {} is not 1 to 35 days", a.value),
            ),
        },
        // The provider leaves it to RDS, which keeps backups (1 or 7 days).
        None => Verdict::Pass,
    }
}

fn gcp_sql_public_ip(b: &Block, _m: &Module<'_>) -> Verdict {
    must_not_be_true(
        b,
        "settings.ip_configuration.ipv4_enabled",
        true,
        "the instance has a public IP address",
    )
}

fn ecr_immutable(b: &Block, _m: &Module<'_>) -> Verdict {
    match b.attr("image_tag_mutability") {
        Some(a) if is_expr(&a.value) => Verdict::Unknown,
        Some(a) if a.value.as_str().is_some_and(|s| s.starts_with("IMMUTABLE")) => Verdict::Pass,
        Some(a) => Verdict::fail(a.line, format!("image_tag_mutability = {}", a.value)),
        None => Verdict::fail(b.line, "image_tag_mutability is not set (default MUTABLE)"),
    }
}

fn ecr_scan(b: &Block, _m: &Module<'_>) -> Verdict {
    must_be_true(
        b,
        "image_scanning_configuration.scan_on_push",
        false,
        "images are not scanned on push",
    )
}

fn acr_admin(b: &Block, _m: &Module<'_>) -> Verdict {
    must_not_be_true(b, "admin_enabled", false, "the admin account is enabled")
}

fn cloudtrail_kms(b: &Block, _m: &Module<'_>) -> Verdict {
    must_be_set(b, "kms_key_id", "no KMS key")
}

fn cloudtrail_validation(b: &Block, _m: &Module<'_>) -> Verdict {
    must_be_true(
        b,
        "enable_log_file_validation",
        false,
        "log file validation is off",
    )
}

fn cloudtrail_multi_region(b: &Block, _m: &Module<'_>) -> Verdict {
    must_be_true(
        b,
        "is_multi_region_trail",
        false,
        "the trail covers one region",
    )
}

fn log_retention(b: &Block, _m: &Module<'_>) -> Verdict {
    must_be_set(b, "retention_in_days", "no retention period")
}

fn lb_access_logs(b: &Block, _m: &Module<'_>) -> Verdict {
    if b.attr("load_balancer_type")
        .and_then(|a| a.value.as_str())
        .is_some_and(|t| t == "gateway")
    {
        return Verdict::NotApplicable;
    }
    must_be_true(b, "access_logs.enabled", false, "access logs are off")
}

fn lb_http(b: &Block, _m: &Module<'_>) -> Verdict {
    match b.attr("protocol") {
        Some(a) if is_expr(&a.value) => return Verdict::Unknown,
        Some(a)
            if a.value
                .as_str()
                .is_some_and(|p| p.eq_ignore_ascii_case("HTTP")) => {}
        _ => return Verdict::Pass,
    }
    let redirects = b.blocks_named("default_action").any(|d| {
        d.attr("type").and_then(|t| t.value.as_str()) == Some("redirect")
            && d.get("redirect.protocol")
                .is_some_and(|p| p.value.as_str() == Some("HTTPS") || is_expr(&p.value))
    });
    if redirects {
        Verdict::Pass
    } else {
        let line = b.attr("protocol").map_or(b.line, |a| a.line);
        Verdict::fail(line, "HTTP listener without a redirect to HTTPS")
    }
}

fn secret_kms(b: &Block, _m: &Module<'_>) -> Verdict {
    if let Some(a) = b.attr("kms_key_id") {
        if a.value.as_str().is_some_and(|k| {
            k == "alias/aws/secretsmanager" || k.ends_with(":alias/aws/secretsmanager")
        }) {
            return Verdict::fail(
                a.line,
                "kms_key_id is the AWS-managed key aws/secretsmanager",
            );
        }
    }
    must_be_set(b, "kms_key_id", "no customer-managed KMS key")
}

fn ebs_encryption(b: &Block, _m: &Module<'_>) -> Verdict {
    if b.attr("snapshot_id").is_some() && b.attr("encrypted").is_none() {
        // Encryption follows the snapshot's.
        return Verdict::Unknown;
    }
    must_be_true(b, "encrypted", false, "the volume is not encrypted")
}

// ---------------------------------------------------------------- public resource policies

fn policy_any_principal(b: &Block, m: &Module<'_>, what: &str) -> Verdict {
    let Some(a) = b.attr("policy") else {
        return Verdict::NotApplicable;
    };
    let Some(doc) = policy_of(&a.value, m) else {
        return Verdict::Unknown;
    };
    let msg = format!("the {what} allows Principal \"*\" without a Condition");
    policy_verdict(&doc, a.line, &msg, |s| {
        allows(s)
            && s.get("Principal").is_some_and(principal_is_any)
            && s.get("Condition").is_none_or(|c| !restricts(c))
    })
}

fn ecr_public_policy(b: &Block, m: &Module<'_>) -> Verdict {
    policy_any_principal(b, m, "repository policy")
}

fn kms_any_principal(b: &Block, m: &Module<'_>) -> Verdict {
    policy_any_principal(b, m, "key policy")
}

/// A GCP IAM member/binding, or an `*_iam_policy` whose `policy_data` is a
/// `data "google_iam_policy"` of the module, granting to the public.
fn gcp_public_iam_resource(b: &Block, m: &Module<'_>) -> Verdict {
    let Some(p) = b.attr("policy_data") else {
        return gcp_public_members(b);
    };
    if let Some(doc) = policy_doc(&p.value) {
        let members = doc
            .get("bindings")
            .map(list)
            .unwrap_or_default()
            .into_iter()
            .filter_map(|b| b.get("members"))
            .flat_map(list);
        let mut unknown = false;
        for m in members {
            match m.as_str() {
                Some("allUsers" | "allAuthenticatedUsers") => {
                    return Verdict::fail(
                        p.line,
                        "the policy grants a role to allUsers/allAuthenticatedUsers",
                    )
                }
                _ if is_expr(m) => unknown = true,
                _ => {}
            }
        }
        return if unknown {
            Verdict::Unknown
        } else {
            Verdict::Pass
        };
    }
    let Some(r) = m.resources.iter().find(|r| {
        r.mode == "data"
            && r.rtype == "google_iam_policy"
            && refers_to(&p.value, &format!("data.google_iam_policy.{}", r.name))
    }) else {
        return Verdict::Unknown;
    };
    let mut unknown = false;
    for binding in r.block.blocks_named("binding") {
        match gcp_public_members(binding) {
            Verdict::Fail(_) => {
                return Verdict::fail(
                    p.line,
                    "the policy grants a role to allUsers/allAuthenticatedUsers",
                )
            }
            Verdict::Unknown => unknown = true,
            _ => {}
        }
    }
    if unknown {
        Verdict::Unknown
    } else {
        Verdict::Pass
    }
}

fn acr_public_network(b: &Block, _m: &Module<'_>) -> Verdict {
    must_not_be_true(
        b,
        "public_network_access_enabled",
        true,
        "the registry accepts connections from any network",
    )
}

fn keyvault_public_network(b: &Block, _m: &Module<'_>) -> Verdict {
    if let Some(a) = b.get("network_acls.default_action") {
        if a.value.as_str() == Some("Deny") {
            return Verdict::Pass;
        }
        if is_expr(&a.value) {
            return Verdict::Unknown;
        }
    }
    must_not_be_true(
        b,
        "public_network_access_enabled",
        true,
        "the vault accepts connections from any network",
    )
}

fn lambda_url_auth(b: &Block, _m: &Module<'_>) -> Verdict {
    match b.attr("authorization_type") {
        Some(a) if a.value.as_str() == Some("NONE") => {
            Verdict::fail(a.line, "authorization_type = \"NONE\"")
        }
        Some(a) if is_expr(&a.value) => Verdict::Unknown,
        _ => Verdict::Pass,
    }
}

fn lambda_permission_public(b: &Block, _m: &Module<'_>) -> Verdict {
    match b.attr("principal") {
        Some(a) if a.value.as_str() == Some("*") => Verdict::fail(a.line, "principal = \"*\""),
        Some(a) if is_expr(&a.value) => Verdict::Unknown,
        Some(_) => Verdict::Pass,
        None => Verdict::NotApplicable,
    }
}
