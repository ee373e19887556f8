//! AFL++ fuzz targets for every parser of untrusted input, on the stable toolchain.
//!
//! One binary, the target named by its first argument (one link instead of twenty):
//!
//! ```sh
//! cd fuzz && cargo afl build --release
//! cargo afl fuzz -i seeds/yaml -o out/yaml -V 600 -- target/release/rampart-fuzz yaml
//! ```
//!
//! `bench/fuzz.sh` seeds each target from the repository's fixtures and the shared corpora,
//! runs them for a set time and prints executions, coverage, crashes and hangs. A target
//! must never panic, whatever the input: panics are crashes.

use std::path::Path;

/// Every target: name and what it feeds.
const TARGETS: &[&str] = &[
    "yaml",
    "k8s",
    "cargo-lock",
    "npm-lock",
    "yarn-lock",
    "pnpm-lock",
    "requirements",
    "poetry-lock",
    "go-mod",
    "gemfile-lock",
    "composer-lock",
    "pom",
    "gradle-lock",
    "nuget-lock",
    "pubspec-lock",
    "dockerfile",
    "hcl",
    "tf-json",
    "falco-rules",
    "gitleaks",
    "admission-review",
    "audit-events",
    "osv",
    "rustsec",
    "elf",
    "jar",
    "dpkg",
    "apk",
    "rpm-header",
];

fn lockfile(name: &str, data: &[u8]) {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let Some(kind) = rampart_sca::lockfile::detect(name) else {
        return;
    };
    let _ = rampart_sca::lockfile::parse(kind, name, text, &rampart_sca::lockfile::no_siblings);
}

fn text_of(data: &[u8]) -> Option<&str> {
    std::str::from_utf8(data).ok()
}

fn run(target: &str, data: &[u8]) {
    match target {
        "yaml" => {
            if let Some(t) = text_of(data) {
                let _ = rampart_yaml::load_str(t, &rampart_yaml::Options::default());
            }
        }
        "k8s" => {
            if let Some(t) = text_of(data) {
                let _ = rampart_k8s::load::load_str(t, Some("fuzz.yaml"));
            }
        }
        "cargo-lock" => lockfile("Cargo.lock", data),
        "npm-lock" => lockfile("package-lock.json", data),
        "yarn-lock" => lockfile("yarn.lock", data),
        "pnpm-lock" => lockfile("pnpm-lock.yaml", data),
        "requirements" => lockfile("requirements.txt", data),
        "poetry-lock" => lockfile("poetry.lock", data),
        "go-mod" => lockfile("go.mod", data),
        "gemfile-lock" => lockfile("Gemfile.lock", data),
        "composer-lock" => lockfile("composer.lock", data),
        "pom" => lockfile("pom.xml", data),
        "gradle-lock" => lockfile("gradle.lockfile", data),
        "nuget-lock" => lockfile("packages.lock.json", data),
        "pubspec-lock" => lockfile("pubspec.lock", data),
        "dockerfile" => {
            let _ = rampart_iac::scan_file("Dockerfile", data);
        }
        "hcl" => {
            let _ = rampart_iac::scan_file("main.tf", data);
        }
        "tf-json" => {
            let _ = rampart_iac::scan_file("main.tf.json", data);
        }
        "falco-rules" => {
            if let Some(t) = text_of(data) {
                let mut rs = rampart_runtime::Ruleset::new();
                if rs.load_str("fuzz.yaml", t).is_ok() {
                    let opts = rampart_runtime::EngineOptions {
                        hostname: "fuzz".into(),
                        cluster: None,
                    };
                    let _ = rampart_runtime::Engine::compile(&rs, opts);
                }
            }
        }
        "gitleaks" => {
            if let Some(t) = text_of(data) {
                let _ = rampart_secrets::gitleaks::load_str(t, "fuzz.toml", None);
            }
        }
        "admission-review" => {
            let _ = rampart_admission::review::parse(data);
        }
        "audit-events" => {
            if let Some(t) = text_of(data) {
                let _ = rampart_runtime::event::decode_events(t);
            }
        }
        "osv" => {
            let _ = serde_json::from_slice::<rampart_vuln::osv::Record>(data);
        }
        "rustsec" => {
            if let Some(t) = text_of(data) {
                let _ = rampart_vuln::rustsec::parse_advisory(t);
            }
        }
        "elf" => {
            let _ = rampart_image::binary::packages("usr/bin/fuzz", data);
        }
        "jar" => {
            let _ = rampart_image::java::packages("app/fuzz.jar", data);
        }
        "dpkg" => {
            if let Some(t) = text_of(data) {
                let _ = rampart_image::os::parse_dpkg(t, "var/lib/dpkg/status", "Debian:12");
            }
        }
        "apk" => {
            if let Some(t) = text_of(data) {
                let _ = rampart_image::os::parse_apk(t, "lib/apk/db/installed", "Alpine:v3.20");
                let _ = rampart_image::os::apk_files(t);
            }
        }
        "rpm-header" => {
            let _ = rampart_image::os::parse_rpm_header(data);
        }
        _ => {}
    }
}

fn main() {
    let target = std::env::args().nth(1).unwrap_or_default();
    if !TARGETS.contains(&target.as_str()) {
        let me = std::env::args().next().unwrap_or_default();
        let name = Path::new(&me)
            .file_name()
            .and_then(|n| n.to_str())
            .unwrap_or("rampart-fuzz");
        #[allow(clippy::print_stderr)]
        {
            eprintln!("usage: {name} TARGET  (targets: {})", TARGETS.join(" "));
        }
        std::process::exit(2);
    }
    if std::env::var_os("RAMPART_FUZZ_LIST").is_some() {
        return;
    }
    afl::fuzz(true, |data: &[u8]| run(&target, data));
}
