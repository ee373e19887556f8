//! Pulls for `rampart image`: Rampart's one registry client
//! ([`rampart_net::registry`]) fetches the manifest (a multi-arch index resolved by
//! platform), the config and the layers, each verified against its digest, with the
//! runner's Docker credentials (`auths`, `credHelpers`, `credsStore`), redirects within
//! policy (never https → http; credentials only to the registry) and the trust store of
//! `--ca-file` or the system's. The registry is the one the user named, so any address
//! may be reached (loopback included).

use crate::error::ImageError;
use crate::oci::ImageConfig;
use crate::source::{
    BlobLoc, LayerBlob, OpenOptions, OpenedImage, SourceKind, Verify, MAX_DOCUMENT,
};
use rampart_core::ImageRef;
use rampart_net::egress::EgressPolicy;
use rampart_net::http::HttpClient;
use rampart_net::registry::{
    self, BlockingRegistry, CredentialSource, Descriptor, PlainHttp, RegistryClient, RegistryError,
    RegistryOptions,
};
use std::time::Duration;

/// Parse a registry reference with the one image-reference parser
/// ([`rampart_core::ImageRef`]: `[registry/]repo[:tag][@digest]`, Docker's normalisation).
pub fn parse_reference(s: &str) -> Result<ImageRef, ImageError> {
    ImageRef::parse(s)
        .map_err(|e| ImageError::Source(format!("invalid image reference `{s}`: {e}")))
}

/// The host the registry API of `r` is served from (Docker Hub's is
/// `registry-1.docker.io`).
pub fn api_host(r: &ImageRef) -> &str {
    registry::api_host(r)
}

/// Tag or digest to fetch the manifest by (`latest` when neither is written).
pub fn manifest_ref(r: &ImageRef) -> &str {
    r.digest().unwrap_or_else(|| r.tag_or_latest())
}

/// A registry error as an image error (digest mismatches, sizes and platforms keep their
/// own kinds).
fn image_err(r: &ImageRef, e: RegistryError) -> ImageError {
    match e {
        RegistryError::DigestMismatch {
            what,
            expected,
            actual,
        } => ImageError::DigestMismatch {
            what,
            expected,
            actual,
        },
        RegistryError::TooLarge { what, limit } => ImageError::TooLarge { what, limit },
        RegistryError::Platform {
            platform,
            available,
        } => ImageError::Platform {
            platform,
            available,
        },
        RegistryError::Http { url, message } => ImageError::Registry { url, message },
        RegistryError::Malformed(m) => ImageError::malformed("registry document", m),
        e => ImageError::Registry {
            url: r.to_string(),
            message: e.to_string(),
        },
    }
}

/// The registry client as pulls use it: the trust store of `ca_file` (`--ca-file`), else
/// the system's; any destination (the user names the registry); 15 s to connect and get
/// a document, 60 s without a byte of a layer; the runner's Docker credentials.
fn client(opts: &OpenOptions) -> Result<BlockingRegistry, ImageError> {
    let tls = rampart_net::tls::client_config(opts.ca_file.as_deref());
    // A CA file given but unusable is an error now, whatever the registry's scheme.
    if let (Some(_), Err(e)) = (&opts.ca_file, &tls) {
        return Err(ImageError::Source(format!("--ca-file: {e}")));
    }
    let mut http = HttpClient::new(tls, EgressPolicy::unrestricted());
    http.timeout = Duration::from_secs(15);
    let ropts = RegistryOptions {
        plain_http: if opts.insecure {
            PlainHttp::All
        } else {
            PlainHttp::Never
        },
        credentials: CredentialSource::DockerConfig(opts.docker_config.clone()),
        max_document: usize::try_from(MAX_DOCUMENT).unwrap_or(usize::MAX),
        read_timeout: Duration::from_secs(60),
        blob_timeout: Duration::from_secs(6 * 60 * 60),
        ..RegistryOptions::default()
    };
    BlockingRegistry::new(RegistryClient::new(http, ropts))
        .map_err(|e| ImageError::Source(format!("registry client: {e}")))
}

/// Pull an image's manifest, config and layers into a temporary directory.
pub fn pull(reference: &str, opts: &OpenOptions) -> Result<OpenedImage, ImageError> {
    let r = parse_reference(reference)?;
    let reg = client(opts)?;
    let platform = registry::Platform {
        os: opts.platform.os.clone(),
        architecture: opts.platform.architecture.clone(),
        variant: opts.platform.variant.clone(),
    };
    let resolved = reg
        .resolve_image(&r, &platform)
        .map_err(|e| image_err(&r, e))?;
    let manifest = resolved.manifest;
    let config_bytes = reg
        .get_blob(
            &r,
            &manifest.config.digest,
            usize::try_from(MAX_DOCUMENT).unwrap_or(usize::MAX),
        )
        .map_err(|e| image_err(&r, e))?;
    let config: ImageConfig = serde_json::from_slice(&config_bytes)
        .map_err(|e| ImageError::malformed("image config", e))?;
    let total = total_size(&manifest.layers);
    if total.is_none_or(|t| t > opts.max_pull_bytes) {
        return Err(ImageError::TooLarge {
            what: match total {
                Some(t) => format!("image layers ({t} bytes)"),
                None => "image layers (sizes overflow 64 bits)".to_string(),
            },
            limit: opts.max_pull_bytes,
        });
    }
    let temp = match &opts.temp_dir {
        Some(d) => tempfile::Builder::new()
            .prefix("rampart-pull-")
            .tempdir_in(d),
        None => tempfile::Builder::new().prefix("rampart-pull-").tempdir(),
    }
    .map_err(|e| ImageError::io("temporary directory", e))?;
    let diff_ids = config
        .rootfs
        .as_ref()
        .map(|r| r.diff_ids.clone())
        .unwrap_or_default();
    let mut layers = Vec::new();
    let mut pulled = 0u64;
    for (i, l) in manifest.layers.iter().enumerate() {
        let path = temp.path().join(format!("layer-{i}"));
        let mut out = std::fs::File::create(&path).map_err(|e| ImageError::io(&path, e))?;
        let left = opts.max_pull_bytes.saturating_sub(pulled);
        let n = reg
            .download_blob(&r, &l.digest, left, &mut out)
            .map_err(|e| match e {
                RegistryError::TooLarge { .. } => ImageError::TooLarge {
                    what: "pulled blobs".into(),
                    limit: opts.max_pull_bytes,
                },
                e => image_err(&r, e),
            })?;
        pulled = pulled.saturating_add(n);
        layers.push(LayerBlob {
            digest: l.digest.clone(),
            diff_id: diff_ids.get(i).cloned(),
            media_type: l.media_type.clone(),
            size: l.size,
            loc: BlobLoc::File(path),
            verify: Verify::Done,
        });
    }
    Ok(OpenedImage {
        kind: SourceKind::Registry,
        reference: reference.to_string(),
        // No tag and no digest is `latest`, as before.
        tag: match (r.tag(), r.digest()) {
            (None, None) => Some("latest".to_string()),
            (t, _) => t.map(str::to_string),
        },
        manifest_digest: Some(resolved.digest),
        config_digest: manifest.config.digest.clone(),
        config,
        layers,
        _temp: Some(temp),
    })
}

/// The sum of the layers' declared sizes; `None` when it does not fit in 64 bits (a
/// crafted manifest, which must not wrap around under the pull limit).
fn total_size(layers: &[Descriptor]) -> Option<u64> {
    layers.iter().try_fold(0u64, |t, l| t.checked_add(l.size))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn layer_sizes_do_not_wrap() {
        let l = |size: u64| Descriptor {
            size,
            ..Descriptor::default()
        };
        assert_eq!(total_size(&[l(1), l(2)]), Some(3));
        // Two halves of 2^64 + 2 would wrap to 2 bytes, under any pull limit.
        assert_eq!(
            total_size(&[l(u64::MAX / 2 + 2), l(u64::MAX / 2 + 1)]),
            None
        );
    }

    #[test]
    fn references() {
        let r = parse_reference("debian").unwrap();
        assert_eq!(
            (r.domain(), r.path(), manifest_ref(&r)),
            ("docker.io", "library/debian", "latest")
        );
        assert_eq!(api_host(&r), "registry-1.docker.io");
        let r = parse_reference("127.0.0.1:5000/team/app:1.2").unwrap();
        assert_eq!(
            (r.domain(), r.path(), manifest_ref(&r)),
            ("127.0.0.1:5000", "team/app", "1.2")
        );
        let d = format!("sha256:{}", "b".repeat(64));
        let r = parse_reference(&format!("ghcr.io/o/r@{d}")).unwrap();
        assert_eq!((r.tag(), manifest_ref(&r)), (None, d.as_str()));
        assert!(parse_reference("Upper/Case").is_err());
        assert!(parse_reference("x@sha256:zz").is_err());
        // Docker Hub's old name is Docker Hub: its API host, `library/`, its credentials.
        let r = parse_reference("index.docker.io/debian:12").unwrap();
        assert_eq!(
            (r.domain(), r.path(), api_host(&r)),
            ("docker.io", "library/debian", "registry-1.docker.io")
        );
        // A registry part that is not a host[:port] never becomes part of a URL.
        for bad in [
            "ghcr.io#x/r:1",
            "ghcr.io?x=/r",
            "a.com%2f/r",
            "ghcr.io:/r",
            "-x.io/r",
        ] {
            assert!(parse_reference(bad).is_err(), "{bad}");
        }
    }
}
