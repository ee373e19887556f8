//! `/mutate`'s image-user lookup reads a manifest and a config named by digest: a
//! registry (or anyone on a plain-HTTP path to it) that serves other bytes under those
//! digests must not decide whether a pinned image runs as root. Before the one registry
//! client, the webhook parsed whatever it was served.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use axum::body::Body;
use axum::http::{Request, StatusCode};
use axum::response::IntoResponse;
use axum::Router;
use rampart_admission::mutate::ImageUser;
use rampart_admission::registry::Registry;
use serde_json::json;
use sha2::Digest as _;

fn sha(b: &[u8]) -> String {
    format!("sha256:{}", hex::encode(sha2::Sha256::digest(b)))
}

/// The image as built (`USER 65532`) and a root image the registry swaps in.
struct Docs {
    manifest: String,
    manifest_digest: String,
    config: String,
    config_digest: String,
}

fn docs(user: &str) -> Docs {
    let config =
        json!({"architecture": "amd64", "os": "linux", "config": {"User": user}}).to_string();
    let config_digest = sha(config.as_bytes());
    let manifest = json!({"schemaVersion": 2, "mediaType": "application/vnd.oci.image.manifest.v1+json",
        "config": {"mediaType": "application/vnd.oci.image.config.v1+json", "digest": config_digest, "size": config.len()},
        "layers": []})
    .to_string();
    Docs {
        manifest_digest: sha(manifest.as_bytes()),
        manifest,
        config,
        config_digest,
    }
}

/// `swap_manifest`: the pinned manifest's digest serves the root image's manifest;
/// else the manifest is genuine and its config digest serves the root config.
async fn lying_registry(swap_manifest: bool) -> String {
    let (good, root) = (docs("65532"), docs(""));
    let app = Router::new().fallback(move |req: Request<Body>| {
        let path = req.uri().path().to_string();
        let (good_m, good_md, good_cd) = (
            good.manifest.clone(),
            good.manifest_digest.clone(),
            good.config_digest.clone(),
        );
        let (root_m, root_c) = (root.manifest.clone(), root.config.clone());
        let good_c = good.config.clone();
        async move {
            let ct = [("content-type", "application/vnd.oci.image.manifest.v1+json")];
            if path == format!("/v2/team/app/manifests/{good_md}") {
                let body = if swap_manifest { root_m } else { good_m };
                return (StatusCode::OK, ct, body).into_response();
            }
            if path == format!("/v2/team/app/blobs/{good_cd}") {
                let body = if swap_manifest { good_c } else { root_c };
                return (StatusCode::OK, body).into_response();
            }
            if path.starts_with("/v2/team/app/blobs/") {
                return (StatusCode::OK, root_c).into_response();
            }
            (StatusCode::NOT_FOUND, "{}").into_response()
        }
    });
    let l = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = l.local_addr().unwrap();
    tokio::spawn(async move {
        let _ = axum::serve(l, app).await;
    });
    addr.to_string()
}

async fn lookup(swap_manifest: bool) -> Result<ImageUser, String> {
    let host = lying_registry(swap_manifest).await;
    let reg = Registry::new(vec![host.clone()])
        .with_egress(rampart_net::egress::EgressPolicy::with_allowed(&[host.as_str()]).unwrap());
    reg.user(&format!(
        "{host}/team/app@{}",
        docs("65532").manifest_digest
    ))
    .await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_manifest_swapped_under_a_pinned_digest_is_refused() {
    let err = lookup(true).await.unwrap_err();
    assert!(err.contains("digest mismatch"), "{err}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_config_swapped_under_its_digest_is_refused() {
    let err = lookup(false).await.unwrap_err();
    assert!(err.contains("digest mismatch"), "{err}");
}
