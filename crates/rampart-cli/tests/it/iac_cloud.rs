//! `rampart iac` on cloud Terraform, as a new user tries it: a public-read S3 bucket and
//! SSH open to the world are findings, and values come from the whole module (variables
//! in another file, `terraform.tfvars`, locals), as Terraform evaluates them.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use serde_json::Value;
use std::path::Path;
use std::process::{Command, Output};

fn run(args: &[&str], dir: &Path) -> Output {
    Command::new(env!("CARGO_BIN_EXE_rampart"))
        .env("NO_COLOR", "1")
        .args(args)
        .current_dir(dir)
        .output()
        .unwrap()
}

/// (rule id, path, line, resource) of every terraform/ finding.
fn hits(o: &Output) -> Vec<(String, String, u64, String)> {
    let report: Value = serde_json::from_slice(&o.stdout).unwrap_or_else(|e| {
        panic!(
            "not JSON ({e}): {}\nstderr: {}",
            String::from_utf8_lossy(&o.stdout),
            String::from_utf8_lossy(&o.stderr)
        )
    });
    let mut v: Vec<_> = report["findings"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|f| f["rule_id"].as_str().unwrap().starts_with("terraform/"))
        .map(|f| {
            (
                f["rule_id"].as_str().unwrap().to_string(),
                f["location"]["path"].as_str().unwrap_or("").to_string(),
                f["location"]["span"]["start_line"].as_u64().unwrap_or(0),
                f["properties"]["resource"]
                    .as_str()
                    .unwrap_or("")
                    .to_string(),
            )
        })
        .collect();
    v.sort();
    v
}

fn h(rule: &str, path: &str, line: u64, res: &str) -> (String, String, u64, String) {
    (rule.into(), path.into(), line, res.into())
}

#[test]
fn public_bucket_and_open_ssh_are_findings() {
    let t = tempfile::tempdir().unwrap();
    std::fs::write(
        t.path().join("main.tf"),
        r#"resource "aws_s3_bucket" "assets" {
  bucket = "acme-assets"
  acl    = "public-read"
}

resource "aws_security_group" "ssh" {
  name = "ssh"
  ingress {
    from_port   = 22
    to_port     = 22
    protocol    = "tcp"
    cidr_blocks = ["0.0.0.0/0"]
  }
}
"#,
    )
    .unwrap();
    let o = run(&["iac", ".", "--no-config", "-f", "json"], t.path());
    let got = hits(&o);
    assert!(
        got.contains(&h(
            "terraform/s3-public-read-acl",
            "main.tf",
            3,
            "aws_s3_bucket.assets"
        )),
        "{got:#?}"
    );
    assert!(
        got.contains(&h(
            "terraform/sg-ssh-open",
            "main.tf",
            8,
            "aws_security_group.ssh"
        )),
        "{got:#?}"
    );
    assert_eq!(o.status.code(), Some(1), "the gate (high) fails");
}

#[test]
fn values_come_from_the_whole_module() {
    let t = tempfile::tempdir().unwrap();
    let infra = t.path().join("infra");
    std::fs::create_dir_all(&infra).unwrap();
    std::fs::write(
        infra.join("variables.tf"),
        "variable \"assets_acl\" {\n  default = \"private\"\n}\n\nvariable \"admin_port\" {\n  default = 22\n}\n\nvariable \"unset\" {}\n",
    )
    .unwrap();
    std::fs::write(
        infra.join("locals.tf"),
        "locals {\n  admin_cidrs = [\"10.0.0.0/8\", local.anywhere]\n  anywhere    = \"0.0.0.0/0\"\n}\n",
    )
    .unwrap();
    // terraform.tfvars overrides the default, as `terraform plan` would.
    std::fs::write(
        infra.join("terraform.tfvars"),
        "assets_acl = \"public-read\"\n",
    )
    .unwrap();
    std::fs::write(
        infra.join("main.tf"),
        r#"resource "aws_s3_bucket" "assets" {
  bucket = "acme-assets"
  acl    = var.assets_acl
}

resource "aws_security_group_rule" "admin" {
  type              = "ingress"
  from_port         = var.admin_port
  to_port           = var.admin_port
  protocol          = "tcp"
  cidr_blocks       = local.admin_cidrs
  security_group_id = aws_security_group.x.id
}

resource "aws_s3_bucket" "unknown" {
  bucket = "acme-unknown"
  acl    = var.unset
}
"#,
    )
    .unwrap();
    // Another directory is another module: its variables do not leak.
    std::fs::create_dir_all(t.path().join("other")).unwrap();
    std::fs::write(
        t.path().join("other/main.tf"),
        "resource \"aws_s3_bucket\" \"b\" {\n  bucket = \"b\"\n  acl    = var.assets_acl\n}\n",
    )
    .unwrap();
    let o = run(&["iac", ".", "--no-config", "-f", "json"], t.path());
    let got: Vec<_> = hits(&o)
        .into_iter()
        .filter(|h| h.0 == "terraform/s3-public-read-acl" || h.0 == "terraform/sg-ssh-open")
        .collect();
    assert_eq!(
        got,
        vec![
            h(
                "terraform/s3-public-read-acl",
                "infra/main.tf",
                3,
                "aws_s3_bucket.assets"
            ),
            h(
                "terraform/sg-ssh-open",
                "infra/main.tf",
                11,
                "aws_security_group_rule.admin"
            ),
        ]
    );
    assert_eq!(o.status.code(), Some(1));
}
