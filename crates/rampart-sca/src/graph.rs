//! Dependency paths: for every package of a lockfile, the shortest chain from a direct
//! dependency to it ("via a → b → c"), by breadth-first search over the dependency keys
//! (cycles are harmless: each package is visited once).

use crate::inventory::{Lockfile, Package};
use std::collections::{HashMap, VecDeque};

/// Shortest paths of one lockfile: package key → keys from a direct dependency to the
/// package itself (a direct dependency's path is just itself).
#[derive(Debug, Clone, Default)]
pub struct Paths {
    /// Breadth-first parent of every reachable package (`None` for a root).
    parent: HashMap<String, Option<String>>,
}

impl Paths {
    /// Compute the paths of `lockfile`. Roots are the direct dependencies; when the
    /// lockfile does not say which are direct, the packages nothing depends on.
    pub fn of(lockfile: &Lockfile) -> Paths {
        Paths::from_packages(&lockfile.packages)
    }

    /// As [`Paths::of`], from a package list.
    pub fn from_packages(packages: &[Package]) -> Paths {
        let by_key: HashMap<String, &Package> = packages.iter().map(|p| (p.key(), p)).collect();
        let mut roots: Vec<&Package> = packages.iter().filter(|p| p.direct == Some(true)).collect();
        if roots.is_empty() && packages.iter().all(|p| p.direct.is_none()) {
            let mut has_parent: std::collections::HashSet<&str> = Default::default();
            for p in packages {
                for d in &p.dependencies {
                    if d != &p.key() {
                        has_parent.insert(d.as_str());
                    }
                }
            }
            if !has_parent.is_empty() {
                roots = packages
                    .iter()
                    .filter(|p| !has_parent.contains(p.key().as_str()))
                    .collect();
            }
        }
        // Non-dev roots first, so a package reachable from both gets a production path.
        roots.sort_by_key(|p| p.dev);
        let mut parent: HashMap<String, Option<String>> = HashMap::new();
        let mut queue: VecDeque<String> = VecDeque::new();
        for r in roots {
            let k = r.key();
            if !parent.contains_key(&k) {
                parent.insert(k.clone(), None);
                queue.push_back(k);
            }
        }
        while let Some(k) = queue.pop_front() {
            let Some(p) = by_key.get(&k) else { continue };
            for d in &p.dependencies {
                if !parent.contains_key(d) && by_key.contains_key(d) {
                    parent.insert(d.clone(), Some(k.clone()));
                    queue.push_back(d.clone());
                }
            }
        }
        Paths { parent }
    }

    /// The path to `key` (`name@version`) from a root to the package itself, if it is
    /// reachable from a root.
    pub fn path(&self, key: &str) -> Option<Vec<String>> {
        let mut cur = self.parent.get_key_value(key)?;
        let mut chain = vec![cur.0.clone()];
        while let Some(up) = cur.1 {
            let Some(next) = self.parent.get_key_value(up.as_str()) else {
                break;
            };
            chain.push(next.0.clone());
            cur = next;
            if chain.len() > self.parent.len() {
                break;
            }
        }
        chain.reverse();
        Some(chain)
    }

    /// "a@1 → b@2 → c@3" for a transitive package; `None` for a direct or unreachable one.
    pub fn via(&self, key: &str) -> Option<String> {
        let p = self.path(key)?;
        (p.len() > 1).then(|| display_path(&p))
    }
}

/// `a → b → c`; paths longer than 8 show the first 2 and the last 5 around `…`.
pub fn display_path(p: &[String]) -> String {
    if p.len() <= 8 {
        return p.join(" → ");
    }
    format!(
        "{} → … → {}",
        p[..2].join(" → "),
        p[p.len() - 5..].join(" → ")
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    fn p(name: &str, direct: Option<bool>, deps: &[&str]) -> Package {
        let mut p = Package::new("npm", name, "1");
        p.direct = direct;
        p.dependencies = deps.iter().map(|d| format!("{d}@1")).collect();
        p
    }

    #[test]
    fn shortest_paths_with_cycle() {
        let pk = vec![
            p("a", Some(true), &["b"]),
            p("b", Some(false), &["c", "a"]),
            p("c", Some(false), &["b", "d"]),
            p("d", Some(false), &[]),
            p("e", Some(true), &["d"]),
            p("orphan", Some(false), &[]),
        ];
        let g = Paths::from_packages(&pk);
        assert_eq!(g.via("c@1").as_deref(), Some("a@1 → b@1 → c@1"));
        assert_eq!(g.via("d@1").as_deref(), Some("e@1 → d@1"));
        assert_eq!(g.via("a@1"), None);
        assert_eq!(g.path("a@1").map(|p| p.len()), Some(1));
        assert_eq!(g.path("orphan@1"), None);
    }

    #[test]
    fn long_paths_are_shortened_for_display() {
        let names: Vec<String> = (0..12).map(|i| format!("p{i}@1")).collect();
        assert_eq!(
            display_path(&names),
            "p0@1 → p1@1 → … → p7@1 → p8@1 → p9@1 → p10@1 → p11@1"
        );
    }

    #[test]
    fn roots_inferred_when_unknown() {
        let pk = vec![
            p("x", None, &["y"]),
            p("y", None, &["z"]),
            p("z", None, &[]),
        ];
        let g = Paths::from_packages(&pk);
        assert_eq!(g.via("z@1").as_deref(), Some("x@1 → y@1 → z@1"));
    }
}
