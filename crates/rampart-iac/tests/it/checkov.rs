//! The truth harness: Rampart's Terraform rules against Checkov's own verdicts.
//!
//! `../shared/corpora/terraform-checkov/expectations.jsonl` holds, for each Checkov check,
//! the upstream example folder and the resource addresses Checkov reports as PASSED and
//! FAILED. For every Rampart rule whose references carry that check id, this test scans
//! the folder (each directory one module, variables and locals evaluated, as
//! `rampart iac` does) and compares the per-resource verdicts: every passing address must
//! pass, every failing address must fail, and where upstream pins the whole list no other
//! address may get that verdict. An unknown value (Rampart's `Unknown`) is Checkov's
//! "no verdict".
//!
//! Deliberate differences are listed below with their reason (never by editing the data).
//! Any other disagreement fails the test, and so does a listed difference that no longer
//! occurs (the list stays honest).

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::print_stderr)]

use rampart_iac::terraform::cloud::Verdict;
use serde_json::Value;
use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;

/// (Checkov id, Rampart rule, address, expected verdict Checkov gives → why Rampart differs).
/// An address of `*` covers every address of that case.
const DIFFERENCES: &[(&str, &str, &str, &str)] = &[
    ("CKV_AWS_24", "terraform/sg-ssh-open", "aws_security_group.pass_self2",
        "the ingress lists 0.0.0.0/0 *and* self = true: AWS opens it to the world; Checkov lets `self` pass the whole rule"),
    ("CKV_AWS_24", "terraform/sg-ssh-open", "aws_security_group.not_self",
        "an ingress with no source at all (no CIDR, no security group, self = false) admits nobody; Checkov fails it as open"),
    ("CKV_AWS_24", "terraform/sg-ssh-open", "aws_vpc_security_group_ingress_rule.fail2",
        "a rule without cidr_ipv4/cidr_ipv6/referenced group/prefix list admits nobody (AWS rejects it); Checkov fails it as open"),
    ("CKV_AWS_37", "terraform/eks-audit-logging", "aws_eks_cluster.partially_enabled",
        "the rule is about the audit log: api+audit+authenticator pass; Checkov wants all five log types"),
    ("CKV_AWS_39", "terraform/eks-public-endpoint", "aws_eks_cluster.enabled",
        "`endpoint_public_access = True` (capitalised) is a reference to an undefined name, not a boolean, for Terraform (it fails to plan); Rampart keeps it unknown, Checkov reads it as true"),
    ("CKV_AWS_3", "terraform/ebs-encryption", "*",
        "`encrypted = True`/`False` (capitalised) are references to undefined names for Terraform, not booleans: Rampart gives no verdict, Checkov reads them as booleans"),
    ("CKV_AWS_16", "terraform/rds-encryption", "aws_db_instance.disabled",
        "`storage_encrypted = False` (capitalised) is not a boolean for Terraform: no verdict"),
    ("CKV_AWS_33", "terraform/kms-key-policy-any-principal", "aws_kms_key.fail_0",
        "the policy heredoc is not JSON (a trailing comma before `]`), which AWS rejects: no verdict; Checkov's lenient parser reads it"),
    ("CKV_AZURE_189", "terraform/keyvault-public-network", "*",
        "pass3/pass4/pass5 keep public network access on with `network_acls { default_action = \"Allow\" }`, which lets every network in (ip_rules only matter with Deny); Checkov passes any vault that has network_acls"),
    ("CKV_GCP_29", "terraform/gcs-uniform-access", "*",
        "`uniform_bucket_level_access = True`/`False` (capitalised) are not booleans for Terraform: no verdict"),
    ("CKV_GCP_60", "terraform/gcp-sql-public-ip", "*",
        "pass2/pass3/pass4 leave ipv4_enabled unset: the provider default (true) gives the instance a public IP, so Rampart fails them; Checkov only fails an explicit true"),
    ("CKV_AWS_21", "terraform/s3-versioning", "*",
        "main.tf does not parse (see PARSE_ERRORS): its buckets get no verdict"),
    ("CKV2_AWS_6", "terraform/s3-public-access-block", "aws_s3_bucket.bucket_good_1",
        "only block_public_acls and block_public_policy are set: ignore_public_acls and restrict_public_buckets (CKV_AWS_55/56) are still false, so existing public ACLs and policies keep working; Checkov's graph check looks at the first two only"),
    ("CKV_GCP_69", "terraform/gke-workload-identity", "*",
        "the rule asks for Workload Identity on the cluster (workload_identity_config), a superset of CKV_GCP_69's metadata-server mode, and does not look at node pools"),
    ("CKV_AZURE_141", "terraform/aks-aad-rbac", "*",
        "the rule asks for Entra ID RBAC integration; CKV_AZURE_141 only checks local_account_disabled"),
];

/// Corpus files Rampart reports as parse errors, with the reason.
const PARSE_ERRORS: &[(&str, &str)] = &[(
    "examples/graph/S3BucketVersioning/main.tf",
    "line 160 closes a multi-line block on an attribute's line (`status = \"Enabled\"}`): hcl-edit follows the HCL spec (an attribute ends at a newline), python-hcl2 accepts it; the file's resources get no verdict",
)];

/// Files Terraform reads in `dir` and its subfolders, as (path relative to `dir`, text).
fn files(dir: &Path) -> Vec<(String, String)> {
    let mut out = Vec::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        for e in std::fs::read_dir(&d).unwrap() {
            let p = e.unwrap().path();
            if p.is_dir() {
                stack.push(p);
            } else {
                let rel = p
                    .strip_prefix(dir)
                    .unwrap()
                    .to_string_lossy()
                    .replace('\\', "/");
                if rampart_iac::kind_of(&rel).is_some() {
                    out.push((rel, std::fs::read_to_string(&p).unwrap()));
                }
            }
        }
    }
    out.sort();
    out
}

fn strings(v: &Value) -> BTreeSet<String> {
    v.as_array()
        .map(|a| {
            a.iter()
                .filter_map(|x| x.as_str().map(str::to_string))
                .collect()
        })
        .unwrap_or_default()
}

#[derive(Default)]
struct Tally {
    cases: usize,
    compared: usize,
    agree: usize,
    listed: usize,
}

#[test]
fn rule_verdicts_agree_with_checkov() {
    let Some(corpus) = rampart_testkit::corpus("terraform-checkov") else {
        return;
    };
    let text = std::fs::read_to_string(corpus.join("expectations.jsonl")).unwrap();
    // Checkov id → Rampart rule ids referencing it.
    let mut by_check: BTreeMap<String, Vec<String>> = BTreeMap::new();
    for r in rampart_iac::terraform::rules() {
        for reference in r.spec.references {
            by_check
                .entry(reference.to_string())
                .or_default()
                .push(r.spec.id.to_string());
        }
    }
    let mut problems = Vec::new();
    let mut used = BTreeSet::new();
    let mut tally = Tally::default();
    let mut mapped_ids = BTreeSet::new();
    for line in text.lines() {
        let case: Value = serde_json::from_str(line).unwrap();
        let id = case["check_id"].as_str().unwrap();
        let Some(rule_ids) = by_check.get(id) else {
            continue;
        };
        mapped_ids.insert(id.to_string());
        let mut cases = vec![case.clone()];
        if let Some(extra) = case["extra_cases"].as_array() {
            cases.extend(extra.iter().cloned());
        }
        for c in &cases {
            let dir = c["dir"].as_str().unwrap();
            let mut sources = Vec::new();
            for (rel, text) in files(&corpus.join(dir)) {
                let r = rampart_iac::prepare_file(&rel, text.as_bytes()).unwrap();
                let file = format!("{dir}/{rel}");
                if !r.errors.is_empty() && !PARSE_ERRORS.iter().any(|(f, _)| *f == file) {
                    problems.push(format!("{file}: {:?}", r.errors));
                }
                sources.extend(r.terraform);
            }
            let verdicts = rampart_iac::terraform::verdicts(sources);
            let exact = &c["lists_exact"];
            for rule in rule_ids {
                tally.cases += 1;
                let mut pass = BTreeSet::new();
                let mut fail = BTreeSet::new();
                for v in verdicts.iter().filter(|v| &v.rule_id == rule) {
                    match v.verdict {
                        Verdict::Pass => pass.insert(v.address.clone()),
                        Verdict::Fail(_) => fail.insert(v.address.clone()),
                        Verdict::Unknown | Verdict::NotApplicable => false,
                    };
                }
                let want_pass = strings(&c["passing"]);
                let want_fail = strings(&c["failing"]);
                let mut check = |addr: &str, want: &str, ok: bool| {
                    tally.compared += 1;
                    if ok {
                        tally.agree += 1;
                        return;
                    }
                    let listed = DIFFERENCES.iter().position(|(cid, rid, a, _)| {
                        *cid == id && rid == rule && (*a == addr || *a == "*")
                    });
                    match listed {
                        Some(i) => {
                            tally.listed += 1;
                            used.insert(i);
                        }
                        None => problems.push(format!(
                            "{id} {rule} {dir} ({}): {addr}: Checkov {want}, Rampart {}",
                            c["upstream_test"].as_str().unwrap_or(""),
                            if pass.contains(addr) {
                                "pass"
                            } else if fail.contains(addr) {
                                "fail"
                            } else {
                                "no verdict"
                            }
                        )),
                    }
                };
                for a in &want_pass {
                    check(a, "passes", pass.contains(a));
                }
                for a in &want_fail {
                    check(a, "fails", fail.contains(a));
                }
                if exact["passing"].as_bool() == Some(true) {
                    for a in pass.difference(&want_pass) {
                        check(a, "gives no pass", false);
                    }
                }
                if exact["failing"].as_bool() == Some(true) {
                    for a in fail.difference(&want_fail) {
                        check(a, "gives no fail", false);
                    }
                }
            }
        }
    }
    for (i, d) in DIFFERENCES.iter().enumerate() {
        if !used.contains(&i) {
            problems.push(format!("listed difference no longer occurs: {d:?}"));
        }
    }
    eprintln!(
        "checkov cross-check: {} Checkov ids mapped, {} rule x case comparisons, {} verdicts compared, {} agree, {} listed differences",
        mapped_ids.len(),
        tally.cases,
        tally.compared,
        tally.agree,
        tally.listed
    );
    assert!(
        problems.is_empty(),
        "{} disagreements with Checkov:\n{}",
        problems.len(),
        problems.join("\n")
    );
    assert!(tally.compared >= 100, "{}", tally.compared);
}
