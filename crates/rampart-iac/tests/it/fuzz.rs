//! Property tests: the Dockerfile parser/rules, the HCL tree, the `kubernetes_*`
//! conversion and the policy-input builders never panic, on random and on mutated
//! realistic input.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use proptest::prelude::*;

const DOCKER_SEED: &str = "# escape=\\\nARG BASE=debian\nFROM ${BASE}:12 AS b\nRUN <<EOF\napt-get update\nEOF\nRUN apt-get install -y \\\n  curl | sh\nENV A=\"b c\" TOKEN=x\nCOPY --from=b [\"/a\", \"/b\"]\nUSER root\nCMD [\"x\"]\n";
const TF_SEED: &str = "resource \"kubernetes_deployment\" \"d\" {\n  metadata { name = \"d\" }\n  spec {\n    template {\n      spec {\n        container {\n          image = \"x\"\n          security_context { privileged = true }\n        }\n      }\n    }\n  }\n}\nresource \"aws_eks_cluster\" \"c\" {\n  vpc_config { public_access_cidrs = [\"0.0.0.0/0\"] }\n}\n";

fn mutate(seed: &str, cuts: &[(usize, usize, String)]) -> String {
    let mut s: Vec<char> = seed.chars().collect();
    for (at, len, ins) in cuts {
        let at = at % (s.len() + 1);
        let end = (at + len).min(s.len());
        s.splice(at..end, ins.chars());
    }
    s.into_iter().collect()
}

fn tokens() -> impl Strategy<Value = String> {
    prop::collection::vec(
        prop_oneof![
            Just("\\\n".to_string()),
            Just("<<EOF\n".to_string()),
            Just("EOF\n".to_string()),
            Just("[\"".to_string()),
            Just("{".to_string()),
            Just("}".to_string()),
            Just("\"".to_string()),
            Just("${".to_string()),
            Just("|".to_string()),
            Just("\n".to_string()),
            Just("FROM ".to_string()),
            Just("container {".to_string()),
            "[ -~]{0,8}",
        ],
        0..6,
    )
    .prop_map(|v| v.concat())
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 400, .. ProptestConfig::default() })]

    #[test]
    fn dockerfile_never_panics(text in "\\PC{0,400}") {
        let _ = rampart_iac::scan_file("Dockerfile", text.as_bytes());
        let _ = rampart_iac::inputs::policy_inputs("Dockerfile", text.as_bytes());
    }

    #[test]
    fn mutated_dockerfile_never_panics(cuts in prop::collection::vec((0usize..400, 0usize..20, tokens()), 1..6)) {
        let text = mutate(DOCKER_SEED, &cuts);
        let r = rampart_iac::scan_file("Dockerfile", text.as_bytes()).unwrap();
        for f in r.findings {
            let line = f.location.line().unwrap();
            prop_assert!(line >= 1 && line <= text.lines().count().max(1));
        }
    }

    #[test]
    fn terraform_never_panics(text in "\\PC{0,400}") {
        let _ = rampart_iac::scan_file("main.tf", text.as_bytes());
        let _ = rampart_iac::inputs::policy_inputs("x.yaml", text.as_bytes());
        let _ = rampart_iac::inputs::policy_inputs("x.json", text.as_bytes());
    }

    #[test]
    fn mutated_terraform_never_panics(cuts in prop::collection::vec((0usize..500, 0usize..20, tokens()), 1..6)) {
        let text = mutate(TF_SEED, &cuts);
        let r = rampart_iac::scan_file("main.tf", text.as_bytes()).unwrap();
        for f in r.findings {
            if let Some(line) = f.location.line() {
                prop_assert!(line >= 1 && line <= text.lines().count().max(1));
            }
        }
        let _ = rampart_iac::inputs::policy_inputs("main.tf", text.as_bytes());
    }

    /// The same file in Terraform's JSON syntax, mutated: never a panic, and every
    /// finding's line is in the file.
    #[test]
    fn mutated_terraform_json_never_panics(cuts in prop::collection::vec((0usize..900, 0usize..20, tokens()), 1..6)) {
        let seed = rampart_iac::terraform::policy_input(TF_SEED).unwrap();
        let seed = serde_json::to_string_pretty(&seed).unwrap();
        let text = mutate(&seed, &cuts);
        let r = rampart_iac::scan_file("main.tf.json", text.as_bytes()).unwrap();
        for f in r.findings {
            if let Some(line) = f.location.line() {
                prop_assert!(line >= 1 && line <= text.lines().count().max(1));
            }
        }
        for e in r.errors {
            prop_assert!(e.line.is_some_and(|l| l >= 1 && l <= text.lines().count().max(1) + 1), "{e:?}");
        }
    }
}

#[test]
fn hostile_sizes_are_bounded() {
    // Deep nesting is refused before the recursive HCL parser sees it.
    let deep = format!("a = {}", "[".repeat(100_000));
    let r = rampart_iac::scan_file("main.tf", deep.as_bytes()).unwrap();
    assert_eq!(r.errors.len(), 1);
    let deep = format!("{{\"a\": {}", "[".repeat(100_000));
    let r = rampart_iac::scan_file("main.tf.json", deep.as_bytes()).unwrap();
    assert_eq!(r.errors.len(), 1);
    // Many heredocs, long continuations.
    let many = format!("FROM a:1\nRUN {}\n", "<<A ".repeat(10_000));
    let _ = rampart_iac::scan_file("Dockerfile", many.as_bytes());
    let cont = format!("FROM a:1\nRUN x{}\n", " \\\n y".repeat(50_000));
    let r = rampart_iac::scan_file("Dockerfile", cont.as_bytes()).unwrap();
    assert!(r.errors.is_empty());
}
