//! `rampart admission certs` through the real binary: the key is private from the moment
//! it exists, nothing is overwritten without `--force`, and links are never followed
//! (issue 13).
#![allow(clippy::unwrap_used, clippy::expect_used)]
#![cfg(unix)]

use std::os::unix::fs::PermissionsExt;
use std::path::Path;
use std::process::{Command, Output};

fn certs(out: &Path, extra: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_rampart"))
        .args(["admission", "certs", "--out"])
        .arg(out)
        .args(["--dns", "rampart-admission.rampart.svc"])
        .args(extra)
        .output()
        .unwrap()
}

fn mode(p: &Path) -> u32 {
    std::fs::symlink_metadata(p).unwrap().permissions().mode() & 0o777
}

#[test]
fn certs_refuses_to_overwrite_and_never_follows_links() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("c");
    let o = certs(&out, &[]);
    assert_eq!(o.status.code(), Some(0), "{o:?}");
    assert_eq!(mode(&out.join("tls.key")), 0o600);
    let key = std::fs::read(out.join("tls.key")).unwrap();

    let again = certs(&out, &[]);
    assert_eq!(again.status.code(), Some(2), "{again:?}");
    let err = String::from_utf8_lossy(&again.stderr);
    assert!(err.contains("exists") && err.contains("--force"), "{err}");
    assert_eq!(
        std::fs::read(out.join("tls.key")).unwrap(),
        key,
        "overwritten"
    );

    let forced = certs(&out, &["--force"]);
    assert_eq!(forced.status.code(), Some(0), "{forced:?}");
    assert_ne!(std::fs::read(out.join("tls.key")).unwrap(), key);
    assert_eq!(mode(&out.join("tls.key")), 0o600);

    // A link planted at tls.key (say, to a file the attacker will read) is not written
    // through, with or without --force.
    let victim = dir.path().join("victim");
    std::fs::write(&victim, "readable by all").unwrap();
    std::fs::set_permissions(&victim, std::fs::Permissions::from_mode(0o644)).unwrap();
    let trap = dir.path().join("trap");
    std::fs::create_dir(&trap).unwrap();
    std::os::unix::fs::symlink(&victim, trap.join("tls.key")).unwrap();
    assert_eq!(certs(&trap, &[]).status.code(), Some(2));
    assert_eq!(std::fs::read_to_string(&victim).unwrap(), "readable by all");
    assert_eq!(certs(&trap, &["--force"]).status.code(), Some(0));
    assert_eq!(std::fs::read_to_string(&victim).unwrap(), "readable by all");
    assert!(std::fs::symlink_metadata(trap.join("tls.key"))
        .unwrap()
        .file_type()
        .is_file());
    assert_eq!(mode(&trap.join("tls.key")), 0o600);
}

/// Every file the command creates in the output directory is opened 0600 (the key is
/// never on disk with a wider mode, even for a moment), seen in the system calls.
#[test]
fn every_file_is_created_private() {
    let strace = Command::new("strace").arg("-V").output();
    if strace.is_err() {
        assert!(
            std::env::var_os("RAMPART_REQUIRE_TOOLS").is_none(),
            "strace is required"
        );
        eprintln!("strace not found: skipping");
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("c");
    let log = dir.path().join("trace");
    let o = Command::new("strace")
        .args(["-f", "-e", "trace=open,openat,creat", "-o"])
        .arg(&log)
        .arg(env!("CARGO_BIN_EXE_rampart"))
        .args(["admission", "certs", "--out"])
        .arg(&out)
        .args(["--dns", "x.svc"])
        .output()
        .unwrap();
    assert_eq!(o.status.code(), Some(0), "{o:?}");
    let trace = std::fs::read_to_string(&log).unwrap();
    let out_dir = out.display().to_string();
    let creating: Vec<&str> = trace
        .lines()
        .filter(|l| l.contains(&out_dir) && l.contains("O_CREAT"))
        .collect();
    assert!(!creating.is_empty(), "{trace}");
    for l in &creating {
        assert!(l.contains(", 0600)"), "created with a wider mode: {l}");
    }
}
