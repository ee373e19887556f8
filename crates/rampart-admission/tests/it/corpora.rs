//! Real AdmissionReview bodies through the real TLS server: Kubewarden's 281 policy test
//! requests (every one gets a well-formed answer, never a 5xx) and the Pod Security
//! Admission fixtures (the webhook's verdict equals the library's).
#![allow(clippy::unwrap_used, clippy::expect_used)]

use crate::common;

use common::*;
use rampart_admission::engine::Engine;
use rampart_admission::namespaces::StaticNamespaces;
use rampart_admission::settings::Settings;
use rampart_k8s::pss::{allowed, Level, PssVersion};
use rampart_k8s::Object;
use serde_json::{json, Value};
use std::sync::Arc;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn kubewarden_requests_all_get_well_formed_answers() {
    let Some(root) = rampart_testkit::corpus("admission") else {
        return;
    };
    let s = start(Engine::new(Settings::default())).await;
    let lines = std::fs::read_to_string(root.join("kubewarden-expectations.jsonl")).unwrap();
    let cases: Vec<Value> = lines
        .lines()
        .filter(|l| !l.trim().is_empty())
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(cases.len(), 281);
    let mut bodies = Vec::new();
    let mut shapes = Vec::new();
    let mut uids = Vec::new();
    for c in &cases {
        let file = root.join(c["request_file"].as_str().unwrap());
        let raw = std::fs::read(&file).unwrap();
        let shape = c["request_shape"].as_str().unwrap().to_string();
        let body = match shape.as_str() {
            "AdmissionRequest" => {
                let mut req: Value = serde_json::from_slice(&raw).unwrap();
                // A few captured requests lack a uid; the API server always sends one.
                if req
                    .get("uid")
                    .and_then(Value::as_str)
                    .unwrap_or("")
                    .is_empty()
                {
                    req["uid"] = json!("generated-uid");
                }
                review(req).to_string().into_bytes()
            }
            _ => raw,
        };
        let sent: Value = serde_json::from_slice(&body).unwrap_or(Value::Null);
        uids.push(sent["request"]["uid"].as_str().unwrap_or("").to_string());
        bodies.push(body);
        shapes.push(shape);
    }
    let mut all = bodies.clone();
    all.extend(bodies.iter().cloned());
    let n = bodies.len();
    let validate = send_all(&s, "/validate", bodies, 4).await;
    let mutate = send_all(&s, "/mutate", all.split_off(n), 4).await;
    let (mut ok, mut bad_request, mut denied) = (0, 0, 0);
    let mut privileged_agree = 0;
    for (i, ((code, text), (mcode, mtext))) in validate.iter().zip(&mutate).enumerate() {
        let case = &cases[i];
        assert!(
            *code < 500 && *mcode < 500,
            "{}: HTTP {code}/{mcode}: {text}",
            case["test"]
        );
        assert_eq!(code, mcode, "{}", case["test"]);
        match *code {
            200 => {
                ok += 1;
                let r = response(text);
                assert_eq!(r["uid"], json!(uids[i]), "{}", case["test"]);
                assert!(r["allowed"].is_boolean());
                if r["allowed"] == false {
                    denied += 1;
                    assert_eq!(r["status"]["code"], 403);
                    assert!(r["status"]["message"]
                        .as_str()
                        .unwrap()
                        .contains("rampart: "));
                }
                let m = response(mtext);
                assert_eq!(m["allowed"], true, "mutate never denies");
                // Kubewarden's pod-privileged policy without settings is PSS baseline's
                // privileged control: same verdict as our default enforce-baseline.
                if case["policy"] == "pod-privileged-policy"
                    && case["settings"].is_null()
                    && case["settings_file"].is_null()
                {
                    assert_eq!(r["allowed"], case["expect_allowed"], "{}", case["test"]);
                    privileged_agree += 1;
                }
            }
            400 => {
                bad_request += 1;
                assert_ne!(shapes[i], "AdmissionRequest", "{}: {text}", case["test"]);
            }
            other => panic!("{}: unexpected HTTP {other}", case["test"]),
        }
    }
    eprintln!("kubewarden corpus: {ok} answered ({denied} denied), {bad_request} refused with 400 (raw/non-v1 payloads), pod-privileged agreement {privileged_agree}");
    assert!(ok >= 260, "{ok}");
    assert!(privileged_agree >= 4, "{privileged_agree}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn psa_fixtures_get_the_library_verdict() {
    let Some(root) = rampart_testkit::corpus("psa-fixtures") else {
        return;
    };
    let index = std::fs::read_to_string(root.join("index.jsonl")).unwrap();
    let ns = Arc::new(StaticNamespaces::new());
    let mut bodies = Vec::new();
    let mut expected = Vec::new();
    let mut fixture_expect = Vec::new();
    for (i, line) in index.lines().filter(|l| !l.trim().is_empty()).enumerate() {
        let e: Value = serde_json::from_str(line).unwrap();
        let level: Level = e["level"].as_str().unwrap().parse().unwrap();
        let version_s = e["version"].as_str().unwrap();
        let version: PssVersion = version_s.parse().unwrap();
        let text = std::fs::read_to_string(root.join(e["path"].as_str().unwrap())).unwrap();
        let obj: Value = rampart_yaml::from_str(&text).unwrap();
        let nsname = format!("{level}-{}", version_s.replace('.', "-"));
        ns.insert(
            &nsname,
            [
                ("rampart.dev/enforce".to_string(), level.to_string()),
                (
                    "rampart.dev/enforce-version".to_string(),
                    version_s.to_string(),
                ),
                ("rampart.dev/warn".to_string(), "privileged".to_string()),
            ]
            .into(),
        );
        let lib = allowed(&Object::from_value(obj.clone()), level, &version);
        expected.push(lib);
        fixture_expect.push(e["expect"] == "pass");
        bodies.push(
            create(&format!("psa-{i}"), &nsname, obj)
                .to_string()
                .into_bytes(),
        );
    }
    assert!(bodies.len() > 4000, "{}", bodies.len());
    let s = start(Engine::new(Settings::default()).with_namespaces(ns)).await;
    let answers = send_all(&s, "/validate", bodies, 4).await;
    let mut upstream_agree = 0;
    for (i, (code, text)) in answers.iter().enumerate() {
        assert_eq!(*code, 200, "fixture {i}: {text}");
        let r = response(text);
        assert_eq!(r["uid"], format!("psa-{i}"));
        assert_eq!(r["allowed"], json!(expected[i]), "fixture {i}: {r}");
        if expected[i] == fixture_expect[i] {
            upstream_agree += 1;
        }
    }
    eprintln!(
        "psa fixtures: {} requests, webhook == library for all; library == upstream expectation for {upstream_agree}",
        answers.len()
    );
}

/// Every Kubewarden request, with fields replaced by values of the wrong type (null,
/// numbers, strings, arrays, objects) at random depths: the engine never panics and
/// always answers (validate and mutate), without the server's panic guard.
#[test]
fn mangled_requests_never_panic_the_engine() {
    use rampart_admission::mutate::Lookups;
    use rampart_admission::review;
    use rampart_admission::settings::Mutations;
    let Some(root) = rampart_testkit::corpus("admission") else {
        return;
    };
    let settings = Settings {
        mutations: Mutations {
            seccomp_runtime_default: true,
            disallow_privilege_escalation: true,
            drop_all_capabilities: true,
            run_as_non_root: true,
        },
        ..Settings::default()
    };
    let engine = Engine::new(settings);
    let mut seed: u64 = 0x9e37_79b9_7f4a_7c15;
    let mut next = move || {
        seed ^= seed << 13;
        seed ^= seed >> 7;
        seed ^= seed << 17;
        seed
    };
    let junk = [
        Value::Null,
        json!(0),
        json!(-1),
        json!("x"),
        json!([]),
        json!({}),
        json!([1, "a", null]),
        json!(true),
    ];
    let lines = std::fs::read_to_string(root.join("kubewarden-expectations.jsonl")).unwrap();
    let mut runs = 0;
    for l in lines.lines().filter(|l| !l.trim().is_empty()) {
        let c: Value = serde_json::from_str(l).unwrap();
        if c["request_shape"] != "AdmissionRequest" {
            continue;
        }
        let raw = std::fs::read(root.join(c["request_file"].as_str().unwrap())).unwrap();
        let mut base: Value = serde_json::from_slice(&raw).unwrap();
        base["uid"] = json!("fuzz");
        for _ in 0..20 {
            let mut req = base.clone();
            // Walk down a random path and replace what is there.
            let mut cur = &mut req;
            let depth = next() % 8;
            for _ in 0..depth {
                let keys: Vec<String> = match cur {
                    Value::Object(m) => m.keys().cloned().collect(),
                    Value::Array(a) => (0..a.len()).map(|i| i.to_string()).collect(),
                    _ => break,
                };
                if keys.is_empty() {
                    break;
                }
                let k = keys[(next() as usize) % keys.len()].clone();
                cur = match cur {
                    Value::Object(m) => m.get_mut(&k).unwrap(),
                    Value::Array(a) => &mut a[k.parse::<usize>().unwrap()],
                    _ => unreachable!(),
                };
            }
            *cur = junk[(next() as usize) % junk.len()].clone();
            let body = review(req).to_string();
            if let Ok(r) = review::parse(body.as_bytes()) {
                let v = engine.validate(&r);
                assert!(v.response.allowed || !v.response.message.is_empty());
                let _ = engine.mutate(&r, &Lookups::default());
                runs += 1;
            }
        }
    }
    assert!(runs > 3000, "{runs}");
}
