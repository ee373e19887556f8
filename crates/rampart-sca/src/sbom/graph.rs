//! The inventory as one deduplicated component graph, shared by both writers.

use super::purl::purl;
use crate::inventory::{Hash, Inventory, Package};
use crate::license::{parse, Parsed};
use std::collections::{BTreeSet, HashMap};

/// One unique package.
pub(crate) struct Node<'a> {
    pub pkg: &'a Package,
    /// purl, or `ecosystem/name@version` when no purl can be made.
    pub id: String,
    pub purl: Option<String>,
    /// Indices of the nodes this one depends on.
    pub deps: BTreeSet<usize>,
    /// Lockfiles it was found in.
    pub found_in: BTreeSet<String>,
    pub licenses: Vec<Licence>,
    pub hashes: Vec<&'a Hash>,
    pub dev: bool,
}

/// A declared licence, as SBOMs want it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Licence {
    /// A single SPDX id (possibly `LicenseRef-`).
    Id(String),
    /// A compound SPDX expression.
    Expression(String),
    /// Free text that is not SPDX.
    Name(String),
}

pub(crate) struct Graph<'a> {
    pub nodes: Vec<Node<'a>>,
    /// Direct dependencies of the root.
    pub roots: BTreeSet<usize>,
}

fn licence(text: &str) -> Option<Licence> {
    match parse(text) {
        Parsed::Spdx {
            expression,
            canonical,
        } => {
            let single = expression.requirements().count() == 1
                && expression.requirements().all(|r| r.req.addition.is_none())
                && !canonical.ends_with('+');
            Some(if single {
                Licence::Id(canonical)
            } else {
                Licence::Expression(canonical)
            })
        }
        Parsed::Unknown(t) => Some(Licence::Name(t)),
        Parsed::Missing => None,
    }
}

/// Hex digests of the lengths SBOM schemas accept.
fn good_hex(v: &str) -> bool {
    matches!(v.len(), 32 | 40 | 64 | 96 | 128) && v.bytes().all(|b| b.is_ascii_hexdigit())
}

pub(crate) fn build(inv: &Inventory) -> Graph<'_> {
    let mut nodes: Vec<Node<'_>> = Vec::new();
    let mut by_id: HashMap<String, usize> = HashMap::new();
    let mut global_key: HashMap<String, usize> = HashMap::new();
    let mut per_lock: Vec<Vec<usize>> = Vec::new();
    for lf in &inv.lockfiles {
        let mut idxs = Vec::with_capacity(lf.packages.len());
        for p in &lf.packages {
            let purl = purl(p);
            let id = purl
                .clone()
                .unwrap_or_else(|| format!("{}/{}@{}", p.ecosystem, p.name, p.version));
            let i = *by_id.entry(id.clone()).or_insert_with(|| {
                nodes.push(Node {
                    pkg: p,
                    id,
                    purl,
                    deps: BTreeSet::new(),
                    found_in: BTreeSet::new(),
                    licenses: Vec::new(),
                    hashes: Vec::new(),
                    dev: p.dev,
                });
                nodes.len() - 1
            });
            let n = &mut nodes[i];
            n.dev &= p.dev;
            n.found_in.insert(
                p.source
                    .as_ref()
                    .map_or_else(|| lf.path.clone(), |s| s.path.clone()),
            );
            for l in p.licenses.iter().filter_map(|t| licence(t)) {
                if !n.licenses.contains(&l) {
                    n.licenses.push(l);
                }
            }
            for h in &p.hashes {
                let v = h.value.to_ascii_lowercase();
                if good_hex(&v)
                    && !n
                        .hashes
                        .iter()
                        .any(|x| x.alg == h.alg && x.value.eq_ignore_ascii_case(&v))
                {
                    n.hashes.push(h);
                }
            }
            global_key.entry(p.key()).or_insert(i);
            idxs.push(i);
        }
        per_lock.push(idxs);
    }
    let mut roots = BTreeSet::new();
    for (lf, idxs) in inv.lockfiles.iter().zip(&per_lock) {
        let local: HashMap<String, usize> = lf
            .packages
            .iter()
            .zip(idxs)
            .map(|(p, i)| (p.key(), *i))
            .collect();
        let mut depended = BTreeSet::new();
        for (p, &i) in lf.packages.iter().zip(idxs) {
            for d in &p.dependencies {
                if let Some(&j) = local.get(d).or_else(|| global_key.get(d)) {
                    if j != i {
                        nodes[i].deps.insert(j);
                        depended.insert(j);
                    }
                }
            }
        }
        let has_direct = lf.packages.iter().any(|p| p.direct.is_some());
        let mut direct: Vec<usize> = lf
            .packages
            .iter()
            .zip(idxs)
            .filter(|(p, i)| {
                if has_direct {
                    p.direct == Some(true)
                } else {
                    !depended.contains(*i)
                }
            })
            .map(|(_, i)| *i)
            .collect();
        if direct.is_empty() {
            direct = idxs.clone();
        }
        roots.extend(direct);
    }
    Graph { nodes, roots }
}

/// A stable short digest of a string, for identifiers.
pub(crate) fn short_hash(s: &str) -> String {
    use sha2::{Digest, Sha256};
    hex::encode(&Sha256::digest(s.as_bytes())[..8])
}

/// A plain `http(s)://` or `git+…://` URL without spaces: what SPDX `downloadLocation`
/// and CycloneDX `distribution` references accept. Lockfile sources such as
/// `registry+https://…` (Cargo) are not download locations.
pub(crate) fn is_download_url(r: &str) -> bool {
    let rest = ["git+", "hg+", "svn+", "bzr+"]
        .iter()
        .find_map(|p| r.strip_prefix(p))
        .unwrap_or(r);
    [
        "https://", "http://", "ssh://", "ftp://", "sftp://", "svn://",
    ]
    .iter()
    .any(|p| rest.starts_with(p))
        && !r.contains(char::is_whitespace)
        && r.len() > 10
}
