//! Container image references, parsed and normalised the way Docker and the
//! distribution `reference` grammar do it: the one parser every Rampart component uses
//! (admission, image pulls, Kubernetes and Dockerfile rules, runtime fields).
//!
//! ```text
//! reference  := name [ ":" tag ] [ "@" digest ]
//! name       := [ domain "/" ] path-component ( "/" path-component )*
//! domain     := host [ ":" port ]          host: DNS labels, or "[" IPv6 "]"
//! path-comp  := [a-z0-9]+ ( ( "." | "_" | "__" | "-"+ ) [a-z0-9]+ )*
//! tag        := [A-Za-z0-9_] [A-Za-z0-9_.-]{0,127}
//! digest     := algorithm ":" hex          sha256/64, sha384/96, sha512/128 lower-case hex
//! ```
//!
//! Normalisation: the first component is a registry only when it contains `.` or `:`,
//! is `localhost`, or has upper-case letters; otherwise the registry is `docker.io`.
//! `index.docker.io` is written `docker.io`, and a one-component Docker Hub name gets
//! `library/` (`nginx` → `docker.io/library/nginx`). The repository path must be
//! lower-case, and the canonical name (`docker.io/library/nginx`) at most 255 bytes.
//! A bare 64-hex string is refused (it would be an image id, not a name).
//!
//! Nothing here trims: callers that accept surrounding whitespace trim first.

use std::fmt;

/// Registry of unqualified names.
pub const DEFAULT_DOMAIN: &str = "docker.io";
/// The old spelling of [`DEFAULT_DOMAIN`], normalised away.
const LEGACY_DEFAULT_DOMAIN: &str = "index.docker.io";
/// Longest canonical name (`domain/path`).
pub const NAME_MAX: usize = 255;
/// Longest tag.
pub const TAG_MAX: usize = 128;
/// Longest input looked at: name, tag, and the longest digest, with separators.
pub const INPUT_MAX: usize = NAME_MAX + 1 + TAG_MAX + 1 + 7 + 128;

/// Why a string is not an image reference.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ImageRefError {
    /// Nothing written.
    #[error("empty image reference")]
    Empty,
    /// Longer than [`INPUT_MAX`] bytes.
    #[error("image reference longer than {INPUT_MAX} bytes")]
    TooLong,
    /// The canonical name is longer than [`NAME_MAX`] bytes.
    #[error("repository name longer than {NAME_MAX} bytes")]
    NameTooLong,
    /// A 64-hex string, which Docker reads as an image id.
    #[error("a 64-character hexadecimal string is an image id, not a repository name")]
    HexIdentifier,
    /// Upper-case letters in the repository path.
    #[error("repository name `{0}` must be lower-case")]
    Uppercase(String),
    /// The registry part does not follow the grammar.
    #[error("invalid registry `{0}`")]
    Domain(String),
    /// A path component does not follow the grammar.
    #[error("invalid repository name `{0}`")]
    Path(String),
    /// The tag does not follow the grammar.
    #[error("invalid tag `{0}`")]
    Tag(String),
    /// The digest is malformed or uses an unknown algorithm.
    #[error("invalid digest `{0}`")]
    Digest(String),
}

/// A parsed, normalised image reference (owned; accessors borrow). Equality and hashing
/// are on the canonical form: `nginx` equals `docker.io/library/nginx`.
#[derive(Debug, Clone)]
pub struct ImageRef {
    /// `domain/path`, canonical.
    name: String,
    /// Length of the domain in `name`.
    domain_len: usize,
    tag: Option<String>,
    digest: Option<String>,
    /// The name as written (before `:tag`/`@digest`), not normalised.
    written: String,
}

impl ImageRef {
    /// Parse and normalise `s` (no trimming).
    pub fn parse(s: &str) -> Result<ImageRef, ImageRefError> {
        if s.is_empty() {
            return Err(ImageRefError::Empty);
        }
        if s.len() > INPUT_MAX {
            return Err(ImageRefError::TooLong);
        }
        if s.len() == 64 && s.bytes().all(|b| matches!(b, b'0'..=b'9' | b'a'..=b'f')) {
            return Err(ImageRefError::HexIdentifier);
        }
        let (rest, digest) = match s.split_once('@') {
            Some((r, d)) => {
                check_digest(d)?;
                (r, Some(d.to_string()))
            }
            None => (s, None),
        };
        let after_slash = rest.rfind('/').map_or(0, |i| i + 1);
        let (written, tag) = match rest[after_slash..].rfind(':') {
            Some(i) => {
                let t = &rest[after_slash + i + 1..];
                if !valid_tag(t) {
                    return Err(ImageRefError::Tag(t.to_string()));
                }
                (&rest[..after_slash + i], Some(t.to_string()))
            }
            None => (rest, None),
        };
        let (domain, remainder) = split_domain(written);
        if remainder.bytes().any(|b| b.is_ascii_uppercase()) {
            return Err(ImageRefError::Uppercase(remainder.to_string()));
        }
        if !valid_domain(domain) {
            return Err(ImageRefError::Domain(domain.to_string()));
        }
        if remainder.is_empty() || !remainder.split('/').all(valid_path_component) {
            return Err(ImageRefError::Path(remainder.to_string()));
        }
        let (domain, path) = match domain {
            LEGACY_DEFAULT_DOMAIN => (DEFAULT_DOMAIN, remainder.to_string()),
            d => (d, remainder.to_string()),
        };
        let path = if domain == DEFAULT_DOMAIN && !path.contains('/') {
            format!("library/{path}")
        } else {
            path
        };
        let name = format!("{domain}/{path}");
        if name.len() > NAME_MAX {
            return Err(ImageRefError::NameTooLong);
        }
        Ok(ImageRef {
            domain_len: domain.len(),
            name,
            tag,
            digest,
            written: written.to_string(),
        })
    }

    /// Registry host (`docker.io`, `ghcr.io`, `127.0.0.1:5000`).
    pub fn domain(&self) -> &str {
        &self.name[..self.domain_len]
    }

    /// Repository path inside the registry (`library/nginx`).
    pub fn path(&self) -> &str {
        self.name.get(self.domain_len + 1..).unwrap_or("")
    }

    /// Canonical `domain/path` (`docker.io/library/nginx`).
    pub fn name(&self) -> &str {
        &self.name
    }

    /// The name as written, before normalisation (`nginx`, `index.docker.io/x/y`).
    pub fn written_name(&self) -> &str {
        &self.written
    }

    /// The tag, when written.
    pub fn tag(&self) -> Option<&str> {
        self.tag.as_deref()
    }

    /// The digest (`sha256:…`), when written.
    pub fn digest(&self) -> Option<&str> {
        self.digest.as_deref()
    }

    /// The tag a pull of this reference uses when no digest is written: the tag, or
    /// `latest` when none is written.
    pub fn tag_or_latest(&self) -> &str {
        self.tag.as_deref().unwrap_or("latest")
    }

    /// The short name users write: `docker.io/` and a lone `library/` dropped
    /// (`docker.io/library/nginx` → `nginx`, `docker.io/bitnami/redis` →
    /// `bitnami/redis`).
    pub fn familiar_name(&self) -> &str {
        if self.domain() != DEFAULT_DOMAIN {
            return &self.name;
        }
        let path = self.path();
        match path.strip_prefix("library/") {
            Some(p) if !p.contains('/') => p,
            _ => path,
        }
    }

    /// The short form of the whole reference (`nginx:1.25`).
    pub fn familiar(&self) -> String {
        let mut s = self.familiar_name().to_string();
        self.push_suffix(&mut s);
        s
    }

    fn push_suffix(&self, s: &mut String) {
        if let Some(t) = &self.tag {
            s.push(':');
            s.push_str(t);
        }
        if let Some(d) = &self.digest {
            s.push('@');
            s.push_str(d);
        }
    }
}

impl PartialEq for ImageRef {
    fn eq(&self, other: &ImageRef) -> bool {
        (&self.name, &self.tag, &self.digest) == (&other.name, &other.tag, &other.digest)
    }
}

impl Eq for ImageRef {}

impl std::hash::Hash for ImageRef {
    fn hash<H: std::hash::Hasher>(&self, h: &mut H) {
        (&self.name, &self.tag, &self.digest).hash(h);
    }
}

impl fmt::Display for ImageRef {
    /// The canonical form (`docker.io/library/nginx:1.25`).
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut s = self.name.clone();
        self.push_suffix(&mut s);
        f.write_str(&s)
    }
}

impl std::str::FromStr for ImageRef {
    type Err = ImageRefError;
    fn from_str(s: &str) -> Result<ImageRef, ImageRefError> {
        ImageRef::parse(s)
    }
}

/// Docker's split of a name into registry and remainder (before normalisation).
fn split_domain(name: &str) -> (&str, &str) {
    match name.split_once('/') {
        Some((first, rest))
            if first.contains(['.', ':'])
                || first == "localhost"
                || first.bytes().any(|b| b.is_ascii_uppercase()) =>
        {
            (first, rest)
        }
        _ => (DEFAULT_DOMAIN, name),
    }
}

/// `host[:port]`, host a DNS name (labels of letters, digits and inner `-`) or `[IPv6]`.
fn valid_domain(d: &str) -> bool {
    let (host, port) = if let Some(v6) = d.strip_prefix('[') {
        let Some((addr, after)) = v6.split_once(']') else {
            return false;
        };
        if addr.is_empty() || !addr.bytes().all(|b| b.is_ascii_hexdigit() || b == b':') {
            return false;
        }
        match after {
            "" => return true,
            a => match a.strip_prefix(':') {
                Some(p) => ("", Some(p)),
                None => return false,
            },
        }
    } else {
        match d.split_once(':') {
            Some((h, p)) => (h, Some(p)),
            None => (d, None),
        }
    };
    if let Some(p) = port {
        if p.is_empty() || !p.bytes().all(|b| b.is_ascii_digit()) {
            return false;
        }
    }
    if d.starts_with('[') {
        return true;
    }
    !host.is_empty()
        && host.split('.').all(|label| {
            let b = label.as_bytes();
            !b.is_empty()
                && b[0].is_ascii_alphanumeric()
                && b[b.len() - 1].is_ascii_alphanumeric()
                && b.iter().all(|c| c.is_ascii_alphanumeric() || *c == b'-')
        })
}

/// `[a-z0-9]+ ((. | _ | __ | -+) [a-z0-9]+)*`.
fn valid_path_component(c: &str) -> bool {
    let b = c.as_bytes();
    let alnum = |x: u8| x.is_ascii_lowercase() || x.is_ascii_digit();
    let mut i = 0;
    loop {
        let start = i;
        while i < b.len() && alnum(b[i]) {
            i += 1;
        }
        if i == start {
            return false;
        }
        if i == b.len() {
            return true;
        }
        let sep = i;
        while i < b.len() && !alnum(b[i]) {
            i += 1;
        }
        let ok = match &b[sep..i] {
            b"." | b"_" | b"__" => true,
            s => s.iter().all(|x| *x == b'-'),
        };
        if !ok {
            return false;
        }
    }
}

/// `[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}`.
fn valid_tag(t: &str) -> bool {
    let b = t.as_bytes();
    let word = |x: u8| x.is_ascii_alphanumeric() || x == b'_';
    !b.is_empty()
        && b.len() <= TAG_MAX
        && word(b[0])
        && b.iter().all(|x| word(*x) || matches!(x, b'.' | b'-'))
}

/// A digest of a known algorithm with lower-case hex of its length.
fn check_digest(d: &str) -> Result<(), ImageRefError> {
    let bad = || ImageRefError::Digest(d.to_string());
    let (alg, hex) = d.split_once(':').ok_or_else(bad)?;
    let len = match alg {
        "sha256" => 64,
        "sha384" => 96,
        "sha512" => 128,
        _ => return Err(bad()),
    };
    if hex.len() == len && hex.bytes().all(|b| matches!(b, b'0'..=b'9' | b'a'..=b'f')) {
        Ok(())
    } else {
        Err(bad())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const D256: &str = "sha256:dbcc1c35ac38df41fd2f5e4130b32ffdb93ebae8b3dbe638c23575912276fc9c";

    fn ok(s: &str) -> ImageRef {
        match ImageRef::parse(s) {
            Ok(r) => r,
            Err(e) => panic!("{s:?} should parse: {e}"),
        }
    }

    /// Names the distribution/reference tests accept (normalize_test.go
    /// TestValidateReferenceName, TestValidateRemoteName) and those they refuse.
    #[test]
    fn reference_name_table() {
        let valid = [
            "docker/docker",
            "library/debian",
            "debian",
            "docker.io/docker/docker",
            "docker.io/library/debian",
            "docker.io/debian",
            "index.docker.io/docker/docker",
            "index.docker.io/library/debian",
            "index.docker.io/debian",
            "127.0.0.1:5000/docker/docker",
            "127.0.0.1:5000/library/debian",
            "127.0.0.1:5000/debian",
            "192.168.0.1",
            "192.168.0.1:80",
            "192.168.0.1:8/debian",
            "192.168.0.2:25000/debian",
            "thisisthesongthatneverendsitgoesonandonandonthisisthesongthatnev",
            "[fc00::1]:5000/docker",
            "[fc00::1]:5000/docker/docker",
            "[fc00:1:2:3:4:5:6:7]:5000/library/debian",
            "docker.io/1a3f5e7d9c1b3a5f7e9d1c3b5a7f9e1d3c5b7a9f1e3d5d7c9b1a3f5e7d9c1b3a",
            "Docker/docker",
            "DOCKER/docker",
            "docker-rules/docker",
            "docker---rules/docker",
            "doc/docker",
            "d/docker",
            "jess/t",
            "dock__er/docker",
            "localhost/library/debian",
            "LOCALDOMAIN/debian",
            "lowercase:Uppercase",
            "foo_bar.com:8080",
            "foo/foo_bar.com:8080",
            "sub-dom1.foo.com/bar/baz/quux:some-long-tag",
            "b.gcr.io/test.example.com/my-app:test.example.com",
            "xn--n3h.com/myimage:xn--n3h.com",
            // reference_test.go TestReferenceParse.
            "test_com",
            "test.com:tag",
            "test.com:5000",
            "test:5000/repo:tag",
            "192.168.1.1:5000/repo:5050",
            "[2001:db8::1]/repo",
            "[2001:db8:1:2:3:4:5:6]/repo:tag",
            "[2001:db8::1]:5000/repo:tag@sha256:ffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff",
            "[2001:db8::]:5000/repo",
            "[::1]:5000/repo",
        ];
        for s in valid {
            let r = ok(s);
            // The canonical and the familiar forms read back as the same reference.
            assert_eq!(ok(&r.to_string()), r, "{s}");
            // (Except a familiar name of 64 hex, which Docker reads as an image id too.)
            match ImageRef::parse(&r.familiar()) {
                Ok(f) => assert_eq!(f, r, "{s}"),
                Err(e) => assert_eq!(e, ImageRefError::HexIdentifier, "{s}"),
            }
            // Any one-byte edit parses or is refused, never panics (multi-byte too).
            for i in 0..=s.len() {
                for c in ["@", ":", "/", ".", "-", "_", "[", "]", "A", "é", " "] {
                    if s.is_char_boundary(i) {
                        let mut m = s.to_string();
                        m.insert_str(i, c);
                        let _ = ImageRef::parse(&m);
                    }
                }
            }
        }
        let invalid = [
            "",
            "https://github.com/docker/docker",
            "docker/Docker",
            "-docker",
            "-docker/docker",
            "-docker.io/docker/docker",
            "docker///docker",
            "docker.io/docker/Docker",
            "docker.io/docker///docker",
            "[fc00::1]",
            "[fc00::1]:5000",
            "fc00::1:5000/debian",
            "[fe80::1%eth0]:5000/debian",
            "[2001:db8:3:4::192.0.2.33]:5000/debian",
            "1a3f5e7d9c1b3a5f7e9d1c3b5a7f9e1d3c5b7a9f1e3d5d7c9b1a3f5e7d9c1b3a",
            "docker-/docker",
            "-docker-/docker",
            "____/____",
            "_docker/_docker",
            "dock..er/docker",
            "dock_.er/docker",
            "dock-.er/docker",
            "docker/",
            "docker___x/y",
            ":justtag",
            "@sha256:ffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff",
            "[2001:db8::1]",
            "[2001:db8::1]:5000",
            "[2001:db8::1]:tag",
            "[fe80::1%@invalidzone]:5000/repo",
            "Uppercase:tag",
            "test:5000/Uppercase/lowercase:tag",
            "aa/asdf$$^/aa",
            "a b",
            " nginx",
            "nginx:",
            "nginx:-tag",
            "nginx@",
            "nginx@sha256:abc",
            "nginx@md5:0123456789abcdef0123456789abcdef",
            "validname@invaliddigest:ecc4cbec05bd1ff2d5e52883b06a8b3a",
            "repo@sha256:ffffffffffffffffffffffffffffffffff",
            &format!("nginx@{}", D256.to_uppercase()),
            &format!("a@{D256}@{D256}"),
        ];
        for s in invalid {
            assert!(ImageRef::parse(s).is_err(), "{s:?} should be refused");
        }
    }

    #[test]
    fn lengths() {
        let tag = "t".repeat(TAG_MAX);
        ok(&format!("nginx:{tag}"));
        assert!(matches!(
            ImageRef::parse(&format!("nginx:{tag}t")),
            Err(ImageRefError::Tag(_))
        ));
        // `example.com/` + path of 243 = 255.
        let path = format!("{}a", "a/".repeat(121));
        ok(&format!("example.com/{path}"));
        assert_eq!(
            ImageRef::parse(&format!("example.com/{path}a")),
            Err(ImageRefError::NameTooLong)
        );
        // The canonical form counts: `docker.io/` is added to unqualified names.
        let long = format!("{}a", "a/".repeat(127));
        assert_eq!(ImageRef::parse(&long), Err(ImageRefError::NameTooLong));
        assert_eq!(
            ImageRef::parse(&"a".repeat(10_000)),
            Err(ImageRefError::TooLong)
        );
    }

    /// TestParseRepositoryInfo / TestNormalizedSplitHostname: (input, familiar name,
    /// canonical name, domain, path).
    #[test]
    fn normalisation_table() {
        let cases = [
            (
                "fooo/bar",
                "fooo/bar",
                "docker.io/fooo/bar",
                "docker.io",
                "fooo/bar",
            ),
            (
                "index.docker.io/fooo/bar",
                "fooo/bar",
                "docker.io/fooo/bar",
                "docker.io",
                "fooo/bar",
            ),
            (
                "ubuntu",
                "ubuntu",
                "docker.io/library/ubuntu",
                "docker.io",
                "library/ubuntu",
            ),
            (
                "library/ubuntu",
                "ubuntu",
                "docker.io/library/ubuntu",
                "docker.io",
                "library/ubuntu",
            ),
            (
                "docker.io/foo",
                "foo",
                "docker.io/library/foo",
                "docker.io",
                "library/foo",
            ),
            (
                "other/library",
                "other/library",
                "docker.io/other/library",
                "docker.io",
                "other/library",
            ),
            (
                "127.0.0.1:8000/private/moonbase",
                "127.0.0.1:8000/private/moonbase",
                "127.0.0.1:8000/private/moonbase",
                "127.0.0.1:8000",
                "private/moonbase",
            ),
            (
                "example.com:8000/privatebasee",
                "example.com:8000/privatebasee",
                "example.com:8000/privatebasee",
                "example.com:8000",
                "privatebasee",
            ),
            (
                "docker.io/library/foo/bar",
                "library/foo/bar",
                "docker.io/library/foo/bar",
                "docker.io",
                "library/foo/bar",
            ),
            ("Foo/bar", "Foo/bar", "Foo/bar", "Foo", "bar"),
            (
                "test_com/foo",
                "test_com/foo",
                "docker.io/test_com/foo",
                "docker.io",
                "test_com/foo",
            ),
            (
                "test-com:8080/foo",
                "test-com:8080/foo",
                "test-com:8080/foo",
                "test-com:8080",
                "foo",
            ),
            (
                "localhost/x",
                "localhost/x",
                "localhost/x",
                "localhost",
                "x",
            ),
            (
                "registry-1.docker.io/library/nginx",
                "registry-1.docker.io/library/nginx",
                "registry-1.docker.io/library/nginx",
                "registry-1.docker.io",
                "library/nginx",
            ),
        ];
        for (input, familiar, full, domain, path) in cases {
            let r = ok(input);
            assert_eq!(r.familiar_name(), familiar, "{input}");
            assert_eq!(r.name(), full, "{input}");
            assert_eq!(r.to_string(), full, "{input}");
            assert_eq!(r.domain(), domain, "{input}");
            assert_eq!(r.path(), path, "{input}");
            assert_eq!(r.written_name(), input, "{input}");
        }
    }

    #[test]
    fn tags_and_digests() {
        let short = format!("busybox:latest@{D256}");
        let r = ok(&short);
        assert_eq!(r.to_string(), format!("docker.io/library/{short}"));
        assert_eq!(r.familiar(), short);
        assert_eq!((r.tag(), r.digest()), (Some("latest"), Some(D256)));
        let r = ok(&format!("redis@{D256}"));
        assert_eq!((r.tag(), r.tag_or_latest()), (None, "latest"));
        let r = ok("127.0.0.1:5000/team/app:1.2");
        assert_eq!(
            (r.domain(), r.path(), r.tag(), r.written_name()),
            (
                "127.0.0.1:5000",
                "team/app",
                Some("1.2"),
                "127.0.0.1:5000/team/app"
            )
        );
        let r = ok("localhost:5000/a");
        assert_eq!((r.domain(), r.tag()), ("localhost:5000", None));
        let sha512 = format!("sha512:{}", "e".repeat(128));
        let r = ok(&format!("xn--7o8h.com/myimage:xn--7o8h.com@{sha512}"));
        assert_eq!(r.digest(), Some(sha512.as_str()));
        ok(&format!("a@sha384:{}", "0".repeat(96)));
        assert_eq!(ok("docker.io/redis:7").familiar(), "redis:7");
        assert_eq!(ok("redis:7"), ok("index.docker.io/library/redis:7"));
        assert_ne!(ok("redis:7"), ok("redis:8"));
    }
}
