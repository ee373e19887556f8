//! Client construction: kubeconfig contexts, client certificates, token files (rotated),
//! exec credential plugins (bounded), an explicit server, IPv6.

use crate::fake::{self, Pki, State};
use rampart_cluster::list::{list_all, ListOptions};
use rampart_cluster::{ApiResource, Cluster, ClusterError, ClusterOptions, Source};
use serde_json::json;
use std::sync::Arc;
use std::time::Duration;

fn namespaces() -> ApiResource {
    ApiResource {
        group: String::new(),
        version: "v1".into(),
        api_version: "v1".into(),
        kind: "Namespace".into(),
        plural: "namespaces".into(),
    }
}

async fn list(c: &Cluster) -> Result<usize, ClusterError> {
    list_all(c, &namespaces(), None, &ListOptions::default())
        .await
        .map(|l| l.items.len())
}

fn kubeconfig_source(path: std::path::PathBuf, context: Option<&str>) -> ClusterOptions {
    ClusterOptions::new(Source::Kubeconfig {
        path: Some(path),
        context: context.map(str::to_string),
    })
}

async fn started(pki: &Pki, client_ca: bool) -> (Arc<State>, String) {
    let st = Arc::new(State::default());
    st.namespaces
        .lock()
        .unwrap()
        .insert("team".into(), json!({"a": "b"}));
    let addr = fake::serve(pki, "127.0.0.1:0".parse().unwrap(), client_ca, st.clone()).await;
    (st, format!("https://{addr}"))
}

/// A server that requires client certificates accepts the kubeconfig's client
/// certificate, and refuses the same kubeconfig without it.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn client_certificate_from_the_kubeconfig() {
    let pki = Pki::new();
    let (st, url) = started(&pki, true).await;
    let dir = tempfile::tempdir().unwrap();
    let kc = fake::kubeconfig(
        dir.path(),
        &pki,
        &url,
        &[
            (
                "cert",
                json!({"client-certificate": pki.path("client.crt"), "client-key": pki.path("client.key")}),
            ),
            ("token-only", json!({"token": "t"})),
        ],
    );
    let c = Cluster::connect(&kubeconfig_source(kc.clone(), None))
        .await
        .unwrap();
    assert_eq!(list(&c).await.unwrap(), 1);
    assert_eq!(st.requests("GET", "/api/v1/namespaces").len(), 1);
    // The same server without a client certificate: the TLS handshake fails, no request
    // reaches the handler.
    let c = Cluster::connect(&kubeconfig_source(kc, Some("token-only")))
        .await
        .unwrap();
    let e = list(&c).await.unwrap_err();
    assert!(matches!(e, ClusterError::Api(_)), "{e}");
    assert_eq!(st.requests("GET", "/api/v1/namespaces").len(), 1, "{e}");
}

/// The CA of the kubeconfig alone is trusted: a server whose certificate another CA
/// signed is refused (no system roots, no skipping).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn only_the_kubeconfig_ca_is_trusted() {
    let pki = Pki::new();
    let other = Pki::new();
    let (st, url) = started(&pki, false).await;
    let dir = tempfile::tempdir().unwrap();
    let kc = fake::kubeconfig(dir.path(), &other, &url, &[("a", json!({"token": "t"}))]);
    let c = Cluster::connect(&kubeconfig_source(kc, None))
        .await
        .unwrap();
    let e = list(&c).await.unwrap_err();
    assert!(
        e.to_string().contains("certificate") || e.to_string().contains("Unknown"),
        "{e}"
    );
    assert!(st.seen.lock().unwrap().is_empty());
}

/// Contexts select the user: the non-current context's token is sent when asked for.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_context_chooses_the_credentials() {
    let pki = Pki::new();
    let (st, url) = started(&pki, false).await;
    let dir = tempfile::tempdir().unwrap();
    let kc = fake::kubeconfig(
        dir.path(),
        &pki,
        &url,
        &[
            ("dev", json!({"token": "dev-token"})),
            ("prod", json!({"token": "prod-token"})),
        ],
    );
    let c = Cluster::connect(&kubeconfig_source(kc.clone(), None))
        .await
        .unwrap();
    list(&c).await.unwrap();
    let c = Cluster::connect(&kubeconfig_source(kc.clone(), Some("prod")))
        .await
        .unwrap();
    list(&c).await.unwrap();
    assert_eq!(st.auth(), vec!["Bearer dev-token", "Bearer prod-token"]);
    let e = Cluster::connect(&kubeconfig_source(kc, Some("nope")))
        .await
        .unwrap_err();
    assert!(e.to_string().contains("nope"), "{e}");
}

/// An exec credential plugin (a shell script printing an ExecCredential) supplies the
/// token.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn exec_credential_plugin() {
    use std::os::unix::fs::PermissionsExt as _;
    let pki = Pki::new();
    let (st, url) = started(&pki, false).await;
    let dir = tempfile::tempdir().unwrap();
    let plugin = dir.path().join("cred.sh");
    std::fs::write(
        &plugin,
        "#!/bin/sh\n[ \"$1\" = get-token ] || exit 3\necho '{\"apiVersion\":\"client.authentication.k8s.io/v1\",\"kind\":\"ExecCredential\",\"status\":{\"token\":\"exec-token\"}}'\n",
    )
    .unwrap();
    std::fs::set_permissions(&plugin, std::fs::Permissions::from_mode(0o755)).unwrap();
    let exec = |cmd: &std::path::Path| {
        json!({"exec": {"apiVersion": "client.authentication.k8s.io/v1", "command": cmd,
            "args": ["get-token"], "interactiveMode": "Never"}})
    };
    let kc = fake::kubeconfig(dir.path(), &pki, &url, &[("exec", exec(&plugin))]);
    let c = Cluster::connect(&kubeconfig_source(kc, None))
        .await
        .unwrap();
    list(&c).await.unwrap();
    assert_eq!(st.auth(), vec!["Bearer exec-token"]);
}

/// A hanging exec plugin is bounded by the setup timeout, and neither blocks the caller
/// nor the runtime's shutdown (it ran on Tokio's blocking pool at first, and dropping the
/// runtime waited the 30 s for the plugin).
#[test]
fn a_hanging_exec_plugin_is_bounded() {
    use std::os::unix::fs::PermissionsExt as _;
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    let pki = Pki::new();
    let dir = tempfile::tempdir().unwrap();
    let hang = dir.path().join("hang.sh");
    std::fs::write(&hang, "#!/bin/sh\nexec sleep 30\n").unwrap();
    std::fs::set_permissions(&hang, std::fs::Permissions::from_mode(0o755)).unwrap();
    let kc = fake::kubeconfig(
        dir.path(),
        &pki,
        "https://127.0.0.1:1",
        &[(
            "hang",
            json!({"exec": {"apiVersion": "client.authentication.k8s.io/v1", "command": hang,
                "interactiveMode": "Never"}}),
        )],
    );
    let mut opts = kubeconfig_source(kc, None);
    opts.setup_timeout = Duration::from_millis(500);
    let started = std::time::Instant::now();
    let e = rt.block_on(Cluster::connect(&opts)).unwrap_err();
    assert!(e.to_string().contains("not ready after"), "{e}");
    drop(rt);
    assert!(
        started.elapsed() < Duration::from_secs(5),
        "connect + runtime shutdown took {:?}",
        started.elapsed()
    );
}

/// A rotated token file is picked up (kube re-reads it at least once a minute, as
/// client-go does), through a kubeconfig `tokenFile`.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_rotated_token_file_is_used() {
    let pki = Pki::new();
    let (st, url) = started(&pki, false).await;
    let dir = tempfile::tempdir().unwrap();
    let token = dir.path().join("token");
    std::fs::write(&token, "first-token").unwrap();
    let kc = fake::kubeconfig(
        dir.path(),
        &pki,
        &url,
        &[("a", json!({"tokenFile": token}))],
    );
    let c = Cluster::connect(&kubeconfig_source(kc, None))
        .await
        .unwrap();
    list(&c).await.unwrap();
    // The kubelet rotates projected tokens by renaming a new file into place.
    std::fs::write(dir.path().join("token.new"), "second-token").unwrap();
    std::fs::rename(dir.path().join("token.new"), &token).unwrap();
    let mut rotated = false;
    for _ in 0..(75 * 4) {
        let _ = list(&c).await;
        if st.auth().last().map(String::as_str) == Some("Bearer second-token") {
            rotated = true;
            break;
        }
        tokio::time::sleep(Duration::from_millis(250)).await;
    }
    let seen = st.auth();
    assert!(rotated, "{:?}", &seen[seen.len().saturating_sub(3)..]);
    assert_eq!(seen[0], "Bearer first-token");
}

/// An explicit server (the webhook's --kube-server) on an IPv6 address, with its CA and
/// a token file; https without a CA is refused before any request.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn explicit_server_on_ipv6() {
    let pki = Pki::new();
    let st = Arc::new(State::default());
    let addr = fake::serve(&pki, "[::1]:0".parse().unwrap(), false, st.clone()).await;
    let url = format!("https://[::1]:{}", addr.port());
    let dir = tempfile::tempdir().unwrap();
    let token = dir.path().join("token");
    std::fs::write(&token, "v6-token").unwrap();
    let c = Cluster::connect(&ClusterOptions::new(Source::Server {
        url: url.clone(),
        ca_file: Some(pki.path("ca.crt")),
        token_file: Some(token),
    }))
    .await
    .unwrap();
    assert_eq!(c.server(), url);
    assert_eq!(list(&c).await.unwrap(), 0);
    assert_eq!(st.auth(), vec!["Bearer v6-token"]);
    // A kubeconfig naming the IPv6 server works the same.
    let kc = fake::kubeconfig(dir.path(), &pki, &url, &[("a", json!({"token": "kc6"}))]);
    let c = Cluster::connect(&kubeconfig_source(kc, None))
        .await
        .unwrap();
    list(&c).await.unwrap();
    assert_eq!(st.auth().last().unwrap(), "Bearer kc6");

    let e = Cluster::connect(&ClusterOptions::new(Source::Server {
        url,
        ca_file: None,
        token_file: None,
    }))
    .await
    .unwrap_err();
    assert!(e.to_string().contains("CA file is needed"), "{e}");
}

/// A malformed kubeconfig is a clear error naming the file, not a panic.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn malformed_kubeconfig_is_an_error() {
    let dir = tempfile::tempdir().unwrap();
    let kc = dir.path().join("kubeconfig");
    std::fs::write(&kc, "clusters: [ {{{ not yaml").unwrap();
    let e = Cluster::connect(&kubeconfig_source(kc.clone(), None))
        .await
        .unwrap_err();
    assert!(e.to_string().contains(&kc.display().to_string()), "{e}");
    let e = Cluster::connect(&kubeconfig_source(dir.path().join("missing"), None))
        .await
        .unwrap_err();
    assert!(e.to_string().contains("missing"), "{e}");
}

/// Lists follow `continue` tokens page by page and stop at the item bound.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn lists_are_paginated_and_bounded() {
    let pki = Pki::new();
    let (st, url) = started(&pki, false).await;
    {
        let mut ns = st.namespaces.lock().unwrap();
        for i in 0..1200 {
            ns.insert(format!("ns-{i:04}"), json!({}));
        }
    }
    *st.list_rv.lock().unwrap() = "42".into();
    let dir = tempfile::tempdir().unwrap();
    let kc = fake::kubeconfig(dir.path(), &pki, &url, &[("a", json!({"token": "t"}))]);
    let c = Cluster::connect(&kubeconfig_source(kc, None))
        .await
        .unwrap();
    let l = list_all(&c, &namespaces(), None, &ListOptions::default())
        .await
        .unwrap();
    assert_eq!(l.items.len(), 1201);
    assert_eq!(l.pages, 3);
    assert_eq!(l.resource_version, "42");
    let reqs = st.requests("GET", "/api/v1/namespaces");
    assert!(
        reqs[0].contains("limit=500") && !reqs[0].contains("continue="),
        "{reqs:?}"
    );
    assert!(reqs[1].contains("continue=500"), "{reqs:?}");
    assert!(reqs[2].contains("continue=1000"), "{reqs:?}");
    let e = list_all(
        &c,
        &namespaces(),
        None,
        &ListOptions {
            max_items: 1000,
            ..ListOptions::default()
        },
    )
    .await
    .unwrap_err();
    assert!(matches!(e, ClusterError::TooLarge(_)), "{e}");
}

/// A token file ending in a newline (`echo $TOKEN > file`) would make `kube` fail every
/// request with "invalid bearer token" (seen: `ServiceError: invalid bearer token: failed
/// to parse header value`); it is refused when the client is built, naming the file and
/// never the token.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn token_file_with_a_trailing_newline_is_a_clear_error() {
    let pki = Pki::new();
    let (st, url) = started(&pki, false).await;
    let dir = tempfile::tempdir().unwrap();
    let token = dir.path().join("token");
    std::fs::write(&token, "nl-token\n").unwrap();
    let e = Cluster::connect(&ClusterOptions::new(Source::Server {
        url,
        ca_file: Some(pki.path("ca.crt")),
        token_file: Some(token.clone()),
    }))
    .await
    .unwrap_err();
    let msg = e.to_string();
    assert!(
        msg.contains(&token.display().to_string()) && msg.contains("newline"),
        "{msg}"
    );
    assert!(!msg.contains("nl-token"), "{msg}");
    assert!(st.seen.lock().unwrap().is_empty());
}
