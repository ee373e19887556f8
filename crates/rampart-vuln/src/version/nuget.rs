//! NuGet versions: SemVer with up to four numeric components (`1.0 = 1.0.0.0`) and
//! case-insensitive pre-release labels; metadata after `+` is ignored.

use super::{
    cmp_components, cmp_semver_build, ord_via_cmp, Scheme, SemverLike, VersionError, VersionScheme,
};
use std::cmp::Ordering;

/// A NuGet version.
#[derive(Debug, Clone)]
pub struct NuGetVersion {
    components: Vec<String>,
    build: String,
}

impl VersionScheme for NuGetVersion {
    const SCHEME: Scheme = Scheme::NuGet;
    fn parse(s: &str) -> Result<Self, VersionError> {
        let l = SemverLike::parse(s, Some(4));
        Ok(NuGetVersion {
            components: l.components,
            build: l.build.to_ascii_lowercase(),
        })
    }
}

impl Ord for NuGetVersion {
    fn cmp(&self, other: &Self) -> Ordering {
        cmp_components(&self.components, &other.components)
            .then_with(|| cmp_semver_build(&self.build, &other.build))
    }
}
ord_via_cmp!(NuGetVersion);
