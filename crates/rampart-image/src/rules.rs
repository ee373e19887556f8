//! Image rules: configuration (user, env, tag, ports, history, healthcheck), file
//! system (setuid/setgid, world-writable), distro end of life and hostile layers.

use rampart_core::{RuleMeta, Severity};

/// Rule ids.
pub mod ids {
    /// End-of-life distro release.
    pub const EOL_DISTRO: &str = "image/eol-distro";
    /// Runs as root.
    pub const RUN_AS_ROOT: &str = "image/run-as-root";
    /// Secret in `Env`.
    pub const SECRET_IN_ENV: &str = "image/secret-in-env";
    /// `latest` tag.
    pub const LATEST_TAG: &str = "image/latest-tag";
    /// SSH port exposed.
    pub const SSH_PORT: &str = "image/ssh-port-exposed";
    /// `ADD` from a URL.
    pub const ADD_FROM_URL: &str = "image/add-from-url";
    /// No healthcheck.
    pub const NO_HEALTHCHECK: &str = "image/no-healthcheck";
    /// setuid/setgid file.
    pub const SETUID: &str = "image/setuid-binary";
    /// World-writable file.
    pub const WORLD_WRITABLE: &str = "image/world-writable-file";
    /// Hostile layer entry.
    pub const HOSTILE_ENTRY: &str = "image/suspicious-layer-entry";
    /// Layer over a size/ratio limit.
    pub const LAYER_LIMIT: &str = "image/layer-limit-exceeded";
    /// Package database Rampart cannot read.
    pub const UNSUPPORTED_DB: &str = "image/unsupported-package-db";
}

fn meta(
    id: &str,
    severity: Severity,
    title: &str,
    description: &str,
    remediation: &str,
    references: &[&str],
    peers: &[&str],
) -> RuleMeta {
    RuleMeta {
        id: id.to_string(),
        area: "image".to_string(),
        title: title.to_string(),
        severity,
        description: description.to_string(),
        remediation: remediation.to_string(),
        references: references.iter().map(|s| (*s).to_string()).collect(),
        peers: peers.iter().map(|s| (*s).to_string()).collect(),
        tags: vec!["image".to_string()],
    }
}

/// Metadata of every image rule.
pub fn metas() -> Vec<RuleMeta> {
    vec![
        meta(ids::EOL_DISTRO, Severity::High,
            "Base image distro release is end of life",
            "The image's operating system release (from `/etc/os-release`) is past the end of its security support: new vulnerabilities in its packages are no longer fixed, so a vulnerability scan of it understates the risk.",
            "Rebuild the image on a supported release of the distribution (or a distroless / minimal base that is maintained).",
            &["https://endoflife.date", "CIS Docker Benchmark 4.3"],
            &["trivy:OS-EOL"]),
        meta(ids::RUN_AS_ROOT, Severity::Medium,
            "Image runs as root",
            "The image config has no `USER`, or the user is `root` / `0`: a container started from it runs its process as root unless the runtime overrides it, so a compromise of the process is a compromise of root inside the container (and a step closer to the host).",
            "Add a non-root user in the Dockerfile and switch to it with `USER <name or uid>` (numeric uids let Kubernetes enforce `runAsNonRoot`).",
            &["CIS Docker Benchmark 4.1", "https://docs.docker.com/build/building/best-practices/#user"],
            &["dockle:CIS-DI-0001", "trivy:DS002", "hadolint:DL3002"]),
        meta(ids::SECRET_IN_ENV, Severity::High,
            "Secret in the image environment",
            "An `ENV` variable of the image config has a credential-like name (password, secret, token, API key …) and a value. Image configs are readable by anyone who can pull the image, and the value is kept in its history.",
            "Remove the value from the image; pass secrets at run time (Kubernetes Secrets, a secrets manager) or use build secrets (`RUN --mount=type=secret`). Rotate the exposed value.",
            &["CIS Docker Benchmark 4.10", "CWE-798"],
            &["dockle:CIS-DI-0010", "trivy:DS031"]),
        meta(ids::LATEST_TAG, Severity::Low,
            "Image referenced by the `latest` tag",
            "The image was referenced with the `latest` tag (or no tag). `latest` moves: what is scanned now may not be what is deployed later.",
            "Reference images by an explicit version tag, or better by digest (`repo@sha256:…`).",
            &["https://kubernetes.io/docs/concepts/containers/images/#image-names"],
            &["dockle:DKL-DI-0006", "hadolint:DL3007"]),
        meta(ids::SSH_PORT, Severity::Medium,
            "Image exposes the SSH port",
            "The image config exposes port 22: running an SSH daemon in a container widens the attack surface and bypasses the orchestrator's access control.",
            "Remove `EXPOSE 22` and the SSH server; use `kubectl exec` / `docker exec` for access.",
            &["CIS Docker Benchmark 5.7"],
            &["trivy:DS004", "hadolint:DL3011"]),
        meta(ids::ADD_FROM_URL, Severity::Low,
            "Layer made by `ADD` from a URL",
            "The image history shows `ADD` of a remote URL: the download is not verified by checksum and its content can change between builds.",
            "Download with `RUN curl … && sha256sum -c`, or `ADD --checksum=sha256:…`, or `COPY` from the build context.",
            &["CIS Docker Benchmark 4.9"],
            &["dockle:CIS-DI-0009", "trivy:DS005", "hadolint:DL3020"]),
        meta(ids::NO_HEALTHCHECK, Severity::Low,
            "Image has no HEALTHCHECK",
            "The image config has no `HEALTHCHECK`, so Docker cannot tell a hung container from a healthy one. (Kubernetes ignores it and uses probes: set liveness/readiness probes there.)",
            "Add a `HEALTHCHECK` instruction, or make sure the workload defines Kubernetes probes.",
            &["CIS Docker Benchmark 4.6"],
            &["dockle:CIS-DI-0006", "trivy:DS026"]),
        meta(ids::SETUID, Severity::Low,
            "setuid/setgid file in the image",
            "A file in the final image has the setuid or setgid bit: whoever runs it gets the file owner's (usually root's) privileges. Standard tools (su, passwd, mount) are expected in full distros; shells, interpreters and file tools with the bit are a privilege escalation (GTFOBins) and rated high.",
            "Remove the bits unless the container needs them: `RUN find / -xdev -perm /6000 -type f -exec chmod a-s {} +`, and run with `allowPrivilegeEscalation: false`.",
            &["CIS Docker Benchmark 4.8", "https://gtfobins.github.io/#+suid"],
            &["dockle:CIS-DI-0008"]),
        meta(ids::WORLD_WRITABLE, Severity::Medium,
            "World-writable file in the image",
            "A file (or a directory without the sticky bit) outside the temporary directories is writable by every user: any process in the container can change it.",
            "Fix the permissions in the Dockerfile (`chmod o-w`).",
            &["CWE-732"],
            &["trivy:DS-world-writable"]),
        meta(ids::HOSTILE_ENTRY, Severity::High,
            "Layer holds a path-traversal, escaping link or device entry",
            "A layer tar has an entry whose path or link target climbs above the image root (`../`), or a device node. Such entries attack the tools that extract images; Rampart never extracts, skips them, and reports them.",
            "Rebuild the image from a trusted base; do not extract it with tools that follow such entries.",
            &["CWE-22", "CWE-59"],
            &[]),
        meta(ids::LAYER_LIMIT, Severity::High,
            "Layer exceeds the decompression limits",
            "A layer decompresses to more than the size limit or at a ratio that only a decompression bomb reaches; reading stopped there, so the rest of that layer was not analysed.",
            "Inspect the image's origin; raise the limits only for images you trust.",
            &["CWE-409"],
            &[]),
        meta(ids::UNSUPPORTED_DB, Severity::Info,
            "Package database Rampart cannot read",
            "The image has an rpm database in the BerkeleyDB (`Packages`) or ndb (`Packages.db`) format, which Rampart does not read: its packages are missing from the inventory and were not checked for vulnerabilities.",
            "Use an image whose rpm database is sqlite (RHEL/UBI 9, Fedora 33+, Amazon Linux 2023), or convert it (`rpmdb --rebuilddb` with sqlite backend).",
            &[],
            &[]),
    ]
}

/// The rule's metadata.
pub fn meta_of(id: &str) -> Option<RuleMeta> {
    metas().into_iter().find(|m| m.id == id)
}

/// setuid tools that give a shell or arbitrary file access (GTFOBins): high severity.
pub const DANGEROUS_SETUID: &[&str] = &[
    "bash", "sh", "dash", "zsh", "ksh", "csh", "tcsh", "fish", "busybox", "python", "python2",
    "python3", "perl", "ruby", "php", "node", "lua", "awk", "gawk", "mawk", "find", "vim", "vi",
    "nano", "less", "more", "cp", "mv", "chmod", "chown", "env", "tar", "zip", "dd", "nmap", "tee",
    "xargs", "rsync", "docker", "strace", "gdb", "curl", "wget", "nc", "socat",
];

/// Whether an env var name looks like it holds a credential (the shared heuristic,
/// [`rampart_core::secret_name::looks_like_secret_name`]).
pub fn secret_env_name(name: &str) -> bool {
    rampart_core::secret_name::looks_like_secret_name(name)
}

/// Whether a path is in a temporary directory (world-writable is expected there).
pub fn tmp_like(path: &str) -> bool {
    [
        "tmp", "var/tmp", "dev/shm", "run/lock", "var/lock", "dev", "proc", "sys",
    ]
    .iter()
    .any(|d| path == *d || path.starts_with(&format!("{d}/")))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn metas_are_complete() {
        let mut reg = rampart_core::Registry::new();
        reg.extend(metas()).unwrap();
        assert!(reg.problems().is_empty(), "{:?}", reg.problems());
        assert!(meta_of(ids::SETUID).is_some());
    }

    #[test]
    fn env_names() {
        assert!(secret_env_name("DB_PASSWORD"));
        assert!(secret_env_name("github_token"));
        assert!(!secret_env_name("DB_PASSWORD_FILE"));
        assert!(!secret_env_name("PATH"));
        assert!(tmp_like("tmp/x") && !tmp_like("tmpx/y"));
    }
}
