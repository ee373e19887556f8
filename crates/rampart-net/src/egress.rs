//! Where a client may connect: the defence against server-side request forgery.
//!
//! A destination named by scanned or received content (a registry in an admission
//! request, the realm in its `WWW-Authenticate` challenge, a redirect `Location`) must
//! not reach the pod's own loopback, the cloud metadata service (`169.254.169.254`) or
//! other private networks. [`EgressPolicy::resolve`] resolves the host, checks **every**
//! resolved address and returns them; the caller connects to exactly those addresses
//! (never resolving the name again), so a DNS answer that changes between the check and
//! the connection (rebinding) cannot slip through. If any address is forbidden the whole
//! host is refused.
//!
//! Forbidden unless allow-listed: unspecified, loopback, private (RFC 1918, IPv6 ULA),
//! link-local, shared address space (100.64/10), benchmarking, documentation, reserved,
//! multicast and broadcast ranges, and IPv4-mapped/compatible IPv6 forms of these.
//! Allow-list entries are a host (`registry.internal`), a host and port
//! (`127.0.0.1:5000`), or a network (`10.20.0.0/16`); a host entry matches the name as
//! requested, a network entry the resolved address.

use crate::NetError;
use ipnet::IpNet;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};

/// One allow-list entry.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Allow {
    Host(String),
    HostPort(String, u16),
    Net(IpNet),
}

/// Which non-public destinations are allowed (everything public always is).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct EgressPolicy {
    allow: Vec<Allow>,
    /// Skip every check (for operator-configured endpoints such as the API server, which
    /// is private by nature). Never for destinations chosen by content.
    unrestricted: bool,
}

fn bracketless(h: &str) -> &str {
    h.strip_prefix('[')
        .and_then(|h| h.strip_suffix(']'))
        .unwrap_or(h)
}

impl EgressPolicy {
    /// Public destinations only.
    pub fn public_only() -> EgressPolicy {
        EgressPolicy::default()
    }

    /// No checks at all: only for endpoints the operator configured (the API server).
    pub fn unrestricted() -> EgressPolicy {
        EgressPolicy {
            allow: Vec::new(),
            unrestricted: true,
        }
    }

    /// Public destinations plus these entries (`HOST`, `HOST:PORT`, `[V6]:PORT`, `CIDR`).
    pub fn with_allowed<S: AsRef<str>>(entries: &[S]) -> Result<EgressPolicy, NetError> {
        let mut p = EgressPolicy::default();
        for e in entries {
            p.allow.push(parse_entry(e.as_ref())?);
        }
        Ok(p)
    }

    /// True when no check is made.
    pub fn is_unrestricted(&self) -> bool {
        self.unrestricted
    }

    /// May `ip`, reached as `host:port`, be connected to?
    pub fn permits(&self, host: &str, port: u16, ip: IpAddr) -> bool {
        if self.unrestricted || is_public(ip) {
            return true;
        }
        let host = bracketless(host).to_ascii_lowercase();
        self.allow.iter().any(|a| match a {
            Allow::Host(h) => *h == host,
            Allow::HostPort(h, p) => *h == host && *p == port,
            Allow::Net(n) => n.contains(&ip),
        })
    }

    /// Resolve `host` and check every address; the addresses to connect to.
    pub async fn resolve(&self, host: &str, port: u16) -> Result<Vec<SocketAddr>, NetError> {
        let bare = bracketless(host);
        let addrs: Vec<SocketAddr> = match bare.parse::<IpAddr>() {
            Ok(ip) => vec![SocketAddr::new(ip, port)],
            Err(_) => tokio::net::lookup_host((bare, port))
                .await
                .map_err(|e| NetError::Request(format!("{host}:{port}: {e}")))?
                .collect(),
        };
        if addrs.is_empty() {
            return Err(NetError::Request(format!("{host}:{port}: no address")));
        }
        if let Some(bad) = addrs.iter().find(|a| !self.permits(host, port, a.ip())) {
            return Err(NetError::Refused {
                host: host.to_string(),
                port,
                reason: format!(
                    "{} is not a public address (allow-list it to reach it)",
                    bad.ip()
                ),
            });
        }
        Ok(addrs)
    }

    /// Resolve, check, and connect to the first checked address that answers.
    pub async fn connect(&self, host: &str, port: u16) -> Result<tokio::net::TcpStream, NetError> {
        let mut last = None;
        for addr in self.resolve(host, port).await? {
            match tokio::net::TcpStream::connect(addr).await {
                Ok(s) => return Ok(s),
                Err(e) => last = Some(e),
            }
        }
        Err(NetError::Request(format!(
            "{host}:{port}: {}",
            last.map(|e| e.to_string()).unwrap_or_default()
        )))
    }
}

fn parse_entry(e: &str) -> Result<Allow, NetError> {
    let bad = |m: &str| NetError::Url {
        url: e.to_string(),
        message: m.to_string(),
    };
    let e = e.trim();
    if e.is_empty() {
        return Err(bad("empty allow-list entry"));
    }
    if e.contains('/') {
        return e
            .parse::<IpNet>()
            .map(|n| Allow::Net(n.trunc()))
            .map_err(|_| bad("not a network (expected CIDR such as 10.0.0.0/8)"));
    }
    if let Ok(ip) = bracketless(e).parse::<IpAddr>() {
        return Ok(Allow::Net(IpNet::from(ip)));
    }
    if let Ok(sa) = e.parse::<SocketAddr>() {
        return Ok(Allow::HostPort(sa.ip().to_string(), sa.port()));
    }
    match e.rsplit_once(':') {
        Some((h, p)) if !h.contains(':') => {
            let port = p.parse::<u16>().map_err(|_| bad("bad port"))?;
            Ok(Allow::HostPort(h.to_ascii_lowercase(), port))
        }
        Some(_) => Err(bad("IPv6 with a port needs brackets: [::1]:5000")),
        None => Ok(Allow::Host(e.to_ascii_lowercase())),
    }
}

fn v4_public(ip: Ipv4Addr) -> bool {
    let o = ip.octets();
    !(ip.is_unspecified()
        || ip.is_loopback()
        || ip.is_private()
        || ip.is_link_local()
        || ip.is_broadcast()
        || ip.is_multicast()
        || ip.is_documentation()
        || o[0] == 0
        || (o[0] == 100 && (o[1] & 0xC0) == 64) // 100.64.0.0/10 shared (CGNAT)
        || (o[0] == 192 && o[1] == 0 && o[2] == 0) // 192.0.0.0/24 protocol assignments
        || (o[0] == 198 && (o[1] & 0xFE) == 18) // 198.18.0.0/15 benchmarking
        || o[0] >= 240) // reserved
}

fn v6_public(ip: Ipv6Addr) -> bool {
    if let Some(v4) = ip.to_ipv4_mapped() {
        return v4_public(v4);
    }
    let s = ip.segments();
    // ::a.b.c.d (deprecated IPv4-compatible), and NAT64 64:ff9b::/96.
    if s[..6] == [0, 0, 0, 0, 0, 0] || s[..6] == [0x64, 0xff9b, 0, 0, 0, 0] {
        let v4 = Ipv4Addr::new((s[6] >> 8) as u8, s[6] as u8, (s[7] >> 8) as u8, s[7] as u8);
        return v4_public(v4) && !ip.is_loopback() && !ip.is_unspecified();
    }
    !(ip.is_unspecified()
        || ip.is_loopback()
        || ip.is_multicast()
        || (s[0] & 0xfe00) == 0xfc00 // fc00::/7 unique local
        || (s[0] & 0xffc0) == 0xfe80 // fe80::/10 link-local
        || (s[0] & 0xffc0) == 0xfec0 // fec0::/10 site-local (deprecated)
        || (s[0] == 0x2001 && s[1] == 0x0db8) // documentation
        || s[0] == 0x0100 && s[1..4] == [0, 0, 0]) // discard-only 100::/64
}

/// True for addresses on the public internet (see the module documentation).
pub fn is_public(ip: IpAddr) -> bool {
    match ip {
        IpAddr::V4(v4) => v4_public(v4),
        IpAddr::V6(v6) => v6_public(v6),
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    fn ip(s: &str) -> IpAddr {
        s.parse().unwrap()
    }

    #[test]
    fn private_and_special_ranges_are_not_public() {
        for a in [
            "127.0.0.1",
            "10.1.2.3",
            "172.16.0.1",
            "192.168.1.1",
            "169.254.169.254",
            "100.100.100.200",
            "0.0.0.0",
            "255.255.255.255",
            "224.0.0.1",
            "::1",
            "::",
            "fe80::1",
            "fd00:ec2::254",
            "::ffff:169.254.169.254",
            "::ffff:127.0.0.1",
            "::127.0.0.1",
            "64:ff9b::a9fe:a9fe",
        ] {
            assert!(!is_public(ip(a)), "{a}");
        }
        for a in [
            "8.8.8.8",
            "1.1.1.1",
            "2606:4700:4700::1111",
            "::ffff:8.8.8.8",
        ] {
            assert!(is_public(ip(a)), "{a}");
        }
    }

    #[test]
    fn allow_list_entries() {
        let p = EgressPolicy::with_allowed(&[
            "127.0.0.1:5000",
            "registry.local",
            "10.0.0.0/8",
            "[::1]:443",
        ])
        .unwrap();
        assert!(p.permits("127.0.0.1", 5000, ip("127.0.0.1")));
        assert!(!p.permits("127.0.0.1", 5001, ip("127.0.0.1")));
        assert!(p.permits("Registry.Local", 80, ip("192.168.0.1")));
        assert!(p.permits("x", 1, ip("10.9.9.9")));
        assert!(p.permits("[::1]", 443, ip("::1")));
        assert!(!p.permits("x", 1, ip("169.254.169.254")));
        assert!(EgressPolicy::with_allowed(&["a:b:5000"]).is_err());
        assert!(EgressPolicy::with_allowed(&["10.0.0.0/99"]).is_err());
        assert!(EgressPolicy::with_allowed(&["h:port"]).is_err());
        assert!(EgressPolicy::unrestricted().permits("x", 1, ip("127.0.0.1")));
    }

    #[tokio::test]
    async fn resolution_checks_every_address() {
        let p = EgressPolicy::public_only();
        let e = p.resolve("169.254.169.254", 80).await.unwrap_err();
        assert!(matches!(e, NetError::Refused { .. }), "{e}");
        // A name is checked on what it resolves to, not on its spelling.
        let e = p.resolve("localhost", 80).await.unwrap_err();
        assert!(matches!(e, NetError::Refused { .. }), "{e}");
        let allowed = EgressPolicy::with_allowed(&["127.0.0.1:80"]).unwrap();
        assert_eq!(
            allowed.resolve("127.0.0.1", 80).await.unwrap(),
            vec!["127.0.0.1:80".parse::<SocketAddr>().unwrap()]
        );
    }
}
