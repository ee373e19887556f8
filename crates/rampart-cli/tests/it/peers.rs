//! `rampart rules explain <peer id>` through the real binary: a peer tool's id (Checkov
//! `CKV_K8S_*`, `trivy:KSV-*`) finds the Pod Security Standards rules that check the
//! same thing (issue 12).
#![allow(clippy::unwrap_used, clippy::expect_used)]

use serde_json::Value;
use std::process::Command;

fn explain(id: &str, format: &str) -> (i32, String) {
    let dir = tempfile::tempdir().unwrap();
    let out = Command::new(env!("CARGO_BIN_EXE_rampart"))
        .args(["rules", "explain", id, "--format", format])
        .current_dir(dir.path())
        .output()
        .unwrap();
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stdout).into_owned(),
    )
}

/// The ids of the rules `rules explain <id> --format json` returns.
fn matching(id: &str) -> Vec<String> {
    let (code, stdout) = explain(id, "json");
    assert_eq!(code, 0, "{id}: {stdout}");
    let v: Value = serde_json::from_str(&stdout).unwrap();
    v.as_array()
        .unwrap()
        .iter()
        .map(|r| r["id"].as_str().unwrap().to_string())
        .collect()
}

#[test]
fn checkov_privileged_id_names_the_pss_rule() {
    let (code, text) = explain("CKV_K8S_16", "text");
    assert_eq!(code, 0, "{text}");
    assert!(text.contains("k8s/pss-privileged"), "{text}");
    assert!(text.contains("Privileged container"), "{text}");
    assert_eq!(matching("ckv_k8s_16"), ["k8s/pss-privileged"]);
}

#[test]
fn pss_peers_cover_each_host_namespace_and_trivy_ids() {
    for id in ["CKV_K8S_17", "CKV_K8S_18", "CKV_K8S_19"] {
        assert!(
            matching(id).contains(&"k8s/pss-host-namespaces".to_string()),
            "{id}"
        );
    }
    // `tool:ID` peers are found by the full id and by the tool's own id alone.
    assert!(matching("trivy:KSV-0017").contains(&"k8s/pss-privileged".to_string()));
    assert!(matching("KSV-0023").contains(&"k8s/pss-host-path-volumes".to_string()));
    assert!(matching("CKV_K8S_20").contains(&"k8s/pss-allow-privilege-escalation".to_string()));
}
