//! SemVer 2.0 as node-semver, Cargo and Go modules order it.
//!
//! Lenient like the tools: a leading `v` is ignored (`v1.2.3 = 1.2.3`), missing
//! components are zero, numeric components past the third are treated as build data,
//! and build metadata (`+…`) never affects order, so Go's `+incompatible` versions equal
//! their plain form. Go pseudo-versions (`v0.0.0-20191109021931-daa7c04131f5`) are
//! pre-releases and order by their timestamp.

use super::{
    cmp_components, cmp_semver_build, ord_via_cmp, Scheme, SemverLike, VersionError, VersionScheme,
};
use std::cmp::Ordering;

/// A SemVer version.
#[derive(Debug, Clone)]
pub struct SemVer {
    components: Vec<String>,
    build: String,
}

impl SemVer {
    /// Whether this is a pre-release (`1.0.0-rc.1`).
    pub fn is_prerelease(&self) -> bool {
        let b = self.build.split('+').next().unwrap_or("");
        !b.trim_start_matches('-').is_empty()
    }
}

impl VersionScheme for SemVer {
    const SCHEME: Scheme = Scheme::SemVer;
    fn parse(s: &str) -> Result<Self, VersionError> {
        let l = SemverLike::parse(s, Some(3));
        Ok(SemVer {
            components: l.components,
            build: l.build,
        })
    }
}

impl Ord for SemVer {
    fn cmp(&self, other: &Self) -> Ordering {
        cmp_components(&self.components, &other.components)
            .then_with(|| cmp_semver_build(&self.build, &other.build))
    }
}
ord_via_cmp!(SemVer);

#[cfg(test)]
mod tests {
    use super::*;

    fn v(s: &str) -> SemVer {
        SemVer::parse(s).unwrap()
    }

    #[test]
    fn go_forms() {
        assert_eq!(v("v2.0.0+incompatible"), v("v2.0.0"));
        assert!(v("v0.0.0-20191109021931-daa7c04131f5") < v("v0.0.0-20200101000000-aaaaaaaaaaaa"));
        assert!(v("v0.0.0-20191109021931-daa7c04131f5") < v("v0.0.1"));
        assert!(v("1.0.0-rc.1").is_prerelease());
        assert!(!v("1.0.0+build").is_prerelease());
    }
}
