//! Work per input stays linear: many keys in one Secret, many secrets on one line.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use base64::Engine as _;
use rampart_secrets::{RuleSet, ScanOptions, SecretScanner};
use std::time::{Duration, Instant};

fn scanner() -> SecretScanner {
    SecretScanner::new(RuleSet::builtin().unwrap(), ScanOptions::default()).unwrap()
}

fn key(i: usize) -> String {
    // Distinct, high-entropy AWS-shaped ids.
    const A: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZ234567";
    let mut x = (i as u64 + 1).wrapping_mul(0x9E37_79B9_7F4A_7C15);
    let mut s = String::from("AKIA");
    for _ in 0..16 {
        s.push(char::from(A[(x % 32) as usize]));
        x = x.rotate_left(5) ^ 0x5DEE_CE66;
    }
    s
}

fn secret_manifest(n: usize) -> String {
    let mut s = String::from("apiVersion: v1\nkind: Secret\nmetadata:\n  name: s\ndata:\n");
    for i in 0..n {
        let v = base64::engine::general_purpose::STANDARD.encode(format!("AWS={}", key(i)));
        s.push_str(&format!("  k{i}: {v}\n"));
    }
    s
}

fn time(f: impl FnOnce()) -> Duration {
    let t = Instant::now();
    f();
    t.elapsed()
}

/// A Secret with 4x the keys takes about 4x the time, not 16x (each key's line was
/// searched from the top of the document: 20,000 keys took 20 s).
#[test]
fn many_keys_in_one_secret_are_linear() {
    let s = scanner();
    let small = secret_manifest(2_000);
    let big = secret_manifest(8_000);
    let mut n_small = 0;
    let t_small = time(|| n_small = s.findings_in("s.yaml", small.as_bytes(), None).len());
    let mut found = Vec::new();
    let t_big = time(|| found = s.findings_in("s.yaml", big.as_bytes(), None));
    assert!(n_small > 1_900, "{n_small}");
    assert!(found.len() > 7_900, "{}", found.len());
    assert!(
        t_big < t_small * 8 + Duration::from_millis(200),
        "2,000 keys {t_small:?}, 8,000 keys {t_big:?}"
    );
    let manifest = found
        .iter()
        .find(|f| f.rule_id == "secret/kubernetes-secret-manifest")
        .unwrap();
    // The message names a bounded number of keys (it quoted all 8,000 back: 100 KB).
    assert!(
        manifest.message.len() < 400,
        "{} bytes",
        manifest.message.len()
    );
    assert!(manifest.message.contains("more"), "{}", manifest.message);
}

#[test]
fn many_secrets_on_one_line_are_linear() {
    let s = scanner();
    let line = |n: usize| (0..n).map(key).collect::<Vec<_>>().join(" ") + "\n";
    let (small, big) = (line(5_000), line(20_000));
    let mut n = 0;
    let t_small = time(|| n = s.findings_in("k.txt", small.as_bytes(), None).len());
    assert!(n > 4_900, "{n}");
    let t_big = time(|| n = s.findings_in("k.txt", big.as_bytes(), None).len());
    assert!(n > 19_900, "{n}");
    assert!(
        t_big < t_small * 8 + Duration::from_millis(200),
        "5,000 on a line {t_small:?}, 20,000 {t_big:?}"
    );
}
