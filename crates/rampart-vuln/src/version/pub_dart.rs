//! Dart pub versions: SemVer, except that build metadata does order versions
//! (`1.0.0 < 1.0.0+build`, compared as text after the pre-release).

use super::{
    cmp_components, cmp_semver_build, ord_via_cmp, Scheme, SemverLike, VersionError, VersionScheme,
};
use std::cmp::Ordering;

/// A pub version.
#[derive(Debug, Clone)]
pub struct PubVersion {
    components: Vec<String>,
    build: String,
}

impl VersionScheme for PubVersion {
    const SCHEME: Scheme = Scheme::Pub;
    fn parse(s: &str) -> Result<Self, VersionError> {
        let l = SemverLike::parse(s, Some(3));
        Ok(PubVersion {
            components: l.components,
            build: l.build,
        })
    }
}

fn metadata(b: &str) -> &str {
    b.split_once('+').map_or("", |(_, m)| m)
}

impl Ord for PubVersion {
    fn cmp(&self, other: &Self) -> Ordering {
        cmp_components(&self.components, &other.components)
            .then_with(|| cmp_semver_build(&self.build, &other.build))
            .then_with(|| metadata(&self.build).cmp(metadata(&other.build)))
    }
}
ord_via_cmp!(PubVersion);
