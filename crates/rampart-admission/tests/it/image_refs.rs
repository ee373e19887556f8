//! The image policy reads references with the distribution grammar
//! (`rampart_core::ImageRef`): a registry part that is not `host[:port]` cannot match an
//! allow-list glob and then send the webhook's registry lookup to another host.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use rampart_admission::images::{lookup_allowed, violations, NoVerification, RULE_INVALID};
use rampart_admission::settings::ImagePolicy;
use serde_json::json;

#[test]
fn a_fragment_or_query_in_the_registry_is_not_an_allowed_host() {
    let policy = ImagePolicy {
        allowed_registries: vec!["*.corp.example/*".into()],
        ..ImagePolicy::default()
    };
    assert!(lookup_allowed("r1.corp.example/team/app:1", &policy));
    // `https://evil.example#.corp.example/v2/x/...` is a request to evil.example.
    for image in [
        "evil.example#.corp.example/x:1",
        "evil.example?.corp.example/x:1",
        "evil.example%2f.corp.example/x:1",
    ] {
        assert!(!lookup_allowed(image, &policy), "{image}");
        let pod = json!({"kind": "Pod", "spec": {"containers": [{"name": "a", "image": image}]}});
        let ids: Vec<String> = violations(&pod, &policy, &NoVerification)
            .into_iter()
            .map(|v| v.rule_id)
            .collect();
        assert_eq!(ids, [RULE_INVALID], "{image}");
    }
}
