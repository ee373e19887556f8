//! Image policy (allowed registries, digest pinning, no `latest`), the signature
//! verification hook. Registry lookups (tag → digest, image user) are in
//! [`crate::registry`], over Rampart's one registry client.

use crate::settings::ImagePolicy;
use crate::Violation;
use rampart_k8s::podspec::pod_spec;
use serde_json::Value;

/// The image reference type of every Rampart component (distribution/reference grammar,
/// Docker normalisation: `nginx` → `docker.io/library/nginx`).
pub use rampart_core::ImageRef;

/// Parse an image as the pod spec writes it (surrounding whitespace ignored); `None`
/// when it is not a valid reference.
fn parse(image: &str) -> Option<ImageRef> {
    ImageRef::parse(image.trim()).ok()
}

/// `*` matches any run of characters (including `/`); everything else literally. A
/// pattern without `/` and `*` names a whole registry.
pub fn pattern_matches(pattern: &str, name: &str) -> bool {
    if !pattern.contains('/') && !pattern.contains('*') {
        return name
            .split_once('/')
            .is_some_and(|(reg, _)| reg.eq_ignore_ascii_case(pattern));
    }
    glob(pattern.as_bytes(), name.as_bytes())
}

fn glob(p: &[u8], s: &[u8]) -> bool {
    // Iterative wildcard matching with backtracking to the last `*`.
    let (mut pi, mut si) = (0, 0);
    let mut star: Option<(usize, usize)> = None;
    while si < s.len() {
        if pi < p.len() && p[pi] == b'*' {
            star = Some((pi, si));
            pi += 1;
        } else if pi < p.len() && p[pi].eq_ignore_ascii_case(&s[si]) {
            pi += 1;
            si += 1;
        } else if let Some((sp, ss)) = star {
            pi = sp + 1;
            si = ss + 1;
            star = Some((sp, ss + 1));
        } else {
            return false;
        }
    }
    while pi < p.len() && p[pi] == b'*' {
        pi += 1;
    }
    pi == p.len()
}

/// What a signature verifier says about one image.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Verdict {
    /// A trusted signature covers the image.
    Verified,
    /// No trusted signature: the reason is shown in the denial.
    Unverified(String),
    /// The verifier has no opinion (no policy for this image).
    NotApplicable,
}

/// The hook for supply-chain verification (`rampart verify`): the webhook asks it about
/// every container image and turns [`Verdict::Unverified`] into an
/// `admission/image-signature` violation in the image policy's mode.
///
/// Implementations must be fast or cached (the call is inside the per-request deadline)
/// and must not panic (a panic is caught, but fails the request).
pub trait SignatureVerifier: Send + Sync {
    /// Verify `image` (its digest, when pinned, is in `image.digest`).
    fn verify(&self, image: &ImageRef) -> Verdict;
}

/// The default: no signature policy.
#[derive(Debug, Clone, Copy, Default)]
pub struct NoVerification;

impl SignatureVerifier for NoVerification {
    fn verify(&self, _image: &ImageRef) -> Verdict {
        Verdict::NotApplicable
    }
}

/// Treats every image as unsigned (a locked-down cluster until keys are configured).
#[derive(Debug, Clone, Copy, Default)]
pub struct DenyAll;

impl SignatureVerifier for DenyAll {
    fn verify(&self, image: &ImageRef) -> Verdict {
        Verdict::Unverified(format!("no trusted signature for {}", image.name()))
    }
}

/// Rule ids of the image policy.
pub const RULE_REGISTRY: &str = "admission/image-registry";
/// Digest required.
pub const RULE_DIGEST: &str = "admission/image-digest";
/// `latest` tag.
pub const RULE_LATEST: &str = "admission/image-latest";
/// Signature.
pub const RULE_SIGNATURE: &str = "admission/image-signature";
/// Unparseable reference.
pub const RULE_INVALID: &str = "admission/image-invalid";

/// Whether `/mutate` may look `image` up in its registry (tag → digest, image user): only
/// a valid reference from an allowed registry (any registry when no allow-list is set).
/// An image the policy denies is never resolved: the pod would make the webhook contact a
/// host of its choosing, for an image that is refused anyway.
pub fn lookup_allowed(image: &str, policy: &ImagePolicy) -> bool {
    let Some(r) = parse(image) else {
        return false;
    };
    policy.allowed_registries.is_empty()
        || policy
            .allowed_registries
            .iter()
            .any(|p| pattern_matches(p, r.name()))
}

/// The image-policy violations of every container of `obj`.
pub fn violations(
    obj: &Value,
    policy: &ImagePolicy,
    verifier: &dyn SignatureVerifier,
) -> Vec<Violation> {
    let mut out = Vec::new();
    let Some(ps) = pod_spec(obj) else {
        return out;
    };
    for c in ps.containers() {
        let field = format!("{}.image", c.path);
        let image = c.value.get("image").and_then(Value::as_str).unwrap_or("");
        let mut push = |rule: &str, message: String| {
            out.push(Violation {
                rule_id: rule.to_string(),
                field: field.clone(),
                message,
            });
        };
        let Some(r) = parse(image) else {
            if policy.any() {
                push(
                    RULE_INVALID,
                    format!(
                        "container {:?}: image {image:?} is not a valid reference",
                        c.name
                    ),
                );
            }
            continue;
        };
        if !policy.allowed_registries.is_empty()
            && !policy
                .allowed_registries
                .iter()
                .any(|p| pattern_matches(p, r.name()))
        {
            push(
                RULE_REGISTRY,
                format!(
                    "container {:?}: image {} is not from an allowed registry ({})",
                    c.name,
                    r.name(),
                    policy.allowed_registries.join(", ")
                ),
            );
        }
        if policy.require_digest && r.digest().is_none() {
            push(
                RULE_DIGEST,
                format!(
                    "container {:?}: image {image} is not pinned by digest",
                    c.name
                ),
            );
        }
        if policy.deny_latest && r.digest().is_none() && r.tag_or_latest() == "latest" {
            push(
                RULE_LATEST,
                format!("container {:?}: image {image} uses the latest tag", c.name),
            );
        }
        if let Verdict::Unverified(why) = verifier.verify(&r) {
            push(
                RULE_SIGNATURE,
                format!("container {:?}: image {image}: {why}", c.name),
            );
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn parse_references() {
        let r = parse(" nginx ").unwrap();
        assert_eq!(r.name(), "docker.io/library/nginx");
        assert_eq!(r.tag_or_latest(), "latest");
        let d = format!("sha256:{}", "a".repeat(64));
        let r = parse(&format!("127.0.0.1:5000/team/app:1.2@{d}")).unwrap();
        assert_eq!(r.domain(), "127.0.0.1:5000");
        assert_eq!(r.path(), "team/app");
        assert_eq!(r.tag(), Some("1.2"));
        assert_eq!(r.digest(), Some(d.as_str()));
        assert_eq!(
            parse("bitnami/redis:7").unwrap().name(),
            "docker.io/bitnami/redis"
        );
        assert_eq!(
            parse("index.docker.io/x").unwrap().name(),
            "docker.io/library/x"
        );
        assert_eq!(parse("localhost/x").unwrap().domain(), "localhost");
        assert!(parse("").is_none());
        assert!(parse("a b").is_none());
        assert!(parse("nginx:").is_none());
        assert!(parse("nginx@sha256:abc").is_none());
    }

    #[test]
    fn patterns() {
        assert!(pattern_matches("ghcr.io/acme/*", "ghcr.io/acme/app"));
        assert!(!pattern_matches("ghcr.io/acme/*", "ghcr.io/evil/app"));
        assert!(pattern_matches("ghcr.io", "ghcr.io/evil/app"));
        assert!(!pattern_matches("ghcr.io", "ghcr.io.evil.com/app"));
        assert!(pattern_matches("*.corp.example/*", "r1.corp.example/x/y"));
        assert!(!pattern_matches(
            "docker.io/library/*",
            "docker.io/bitnami/redis"
        ));
    }

    #[test]
    fn policy_fires_and_stays_quiet() {
        let policy = ImagePolicy {
            allowed_registries: vec!["ghcr.io/acme/*".into()],
            require_digest: true,
            deny_latest: true,
            ..ImagePolicy::default()
        };
        let bad = json!({"kind": "Pod", "spec": {"containers": [{"name": "a", "image": "nginx"}]}});
        let ids: Vec<String> = violations(&bad, &policy, &NoVerification)
            .into_iter()
            .map(|v| v.rule_id)
            .collect();
        assert_eq!(ids, [RULE_REGISTRY, RULE_DIGEST, RULE_LATEST]);
        let good = json!({"kind": "Pod", "spec": {"containers": [{"name": "a",
            "image": format!("ghcr.io/acme/app:1@sha256:{}", "0".repeat(64))}]}});
        assert!(violations(&good, &policy, &NoVerification).is_empty());
        let v = violations(&good, &policy, &DenyAll);
        assert_eq!(v.len(), 1);
        assert_eq!(v[0].rule_id, RULE_SIGNATURE);
        assert_eq!(v[0].field, "spec.containers[0].image");
    }
}
