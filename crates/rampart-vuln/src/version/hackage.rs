//! Hackage (Haskell PVP) versions: any number of numeric components; trailing zeros
//! matter (`1.0.0 > 1.0`). Anything but digits and dots is rejected.

use super::{cmp_components, ord_via_cmp, Scheme, SemverLike, VersionError, VersionScheme};
use std::cmp::Ordering;

/// A Hackage version.
#[derive(Debug, Clone)]
pub struct HackageVersion {
    components: Vec<String>,
}

impl VersionScheme for HackageVersion {
    const SCHEME: Scheme = Scheme::Hackage;
    fn parse(s: &str) -> Result<Self, VersionError> {
        let l = SemverLike::parse(s, None);
        if !l.build.is_empty() || l.components.is_empty() {
            return Err(VersionError::invalid(
                Scheme::Hackage,
                s,
                "only digits separated by dots are allowed",
            ));
        }
        Ok(HackageVersion {
            components: l.components,
        })
    }
}

impl Ord for HackageVersion {
    fn cmp(&self, other: &Self) -> Ordering {
        cmp_components(&self.components, &other.components)
            .then_with(|| self.components.len().cmp(&other.components.len()))
    }
}
ord_via_cmp!(HackageVersion);
