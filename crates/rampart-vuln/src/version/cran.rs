//! R package versions (CRAN): integers separated by `.` or `-`; trailing zeros matter
//! (`1.0.0 > 1.0`). Non-numeric parts are ignored, as in R's `package_version`.

use super::{
    cmp_components, is_digits, norm_digits, ord_via_cmp, Scheme, VersionError, VersionScheme,
};
use std::cmp::Ordering;

/// A CRAN version.
#[derive(Debug, Clone)]
pub struct CranVersion {
    components: Vec<String>,
}

impl VersionScheme for CranVersion {
    const SCHEME: Scheme = Scheme::Cran;
    fn parse(s: &str) -> Result<Self, VersionError> {
        let components: Vec<String> = s
            .split(['.', '-'])
            .filter(|p| is_digits(p))
            .map(norm_digits)
            .collect();
        if components.is_empty() {
            return Err(VersionError::invalid(
                Scheme::Cran,
                s,
                "no numeric component",
            ));
        }
        Ok(CranVersion { components })
    }
}

impl Ord for CranVersion {
    fn cmp(&self, other: &Self) -> Ordering {
        cmp_components(&self.components, &other.components)
            .then_with(|| self.components.len().cmp(&other.components.len()))
    }
}
ord_via_cmp!(CranVersion);
