//! What kind of obligations a licence carries.

use spdx::{LicenseItem, LicenseReq};

/// Licence category, from least to most restrictive for a proprietary distributor.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Category {
    /// MIT, Apache-2.0, BSD, ISC, Zlib, public-domain dedications …
    Permissive,
    /// File- or library-level copyleft: LGPL, MPL, EPL, CDDL, GPL with a linking exception.
    WeakCopyleft,
    /// Whole-work copyleft on distribution: GPL, EUPL, OSL, CC-BY-SA.
    StrongCopyleft,
    /// Copyleft triggered by network use: AGPL, SSPL, RPL, CPAL.
    NetworkCopyleft,
    /// Not open source: non-commercial, source-available (BUSL, Elastic), `UNLICENSED`.
    Proprietary,
    /// An SPDX licence Rampart has no category for (neither OSI- nor FSF-approved and
    /// not in its tables), or a `LicenseRef-` it does not know.
    Unclassified,
}

impl Category {
    /// Config / report spelling: `strong-copyleft` …
    pub fn as_str(self) -> &'static str {
        match self {
            Category::Permissive => "permissive",
            Category::WeakCopyleft => "weak-copyleft",
            Category::StrongCopyleft => "strong-copyleft",
            Category::NetworkCopyleft => "network-copyleft",
            Category::Proprietary => "proprietary",
            Category::Unclassified => "unclassified",
        }
    }

    /// Parse the config spelling (also accepts `_` and upper case).
    pub fn from_name(s: &str) -> Option<Category> {
        let s = s.trim().to_ascii_lowercase().replace('_', "-");
        [
            Category::Permissive,
            Category::WeakCopyleft,
            Category::StrongCopyleft,
            Category::NetworkCopyleft,
            Category::Proprietary,
            Category::Unclassified,
        ]
        .into_iter()
        .find(|c| c.as_str() == s || (s == "unknown" && *c == Category::Unclassified))
    }
}

const NETWORK: &[&str] = &["AGPL-", "SSPL-", "RPL-", "CPAL-", "OSL-3.0", "Watcom-"];
const STRONG: &[&str] = &[
    "GPL-",
    "EUPL-",
    "OSL-",
    "CC-BY-SA-",
    "Sleepycat",
    "QPL-",
    "RPSL-",
    "CECILL-1",
    "CECILL-2",
    "Vim",
    "NPOSL-",
    "ODbL-",
    "CC-BY-NC-SA",
    "GFDL-",
    "APL-1.0",
    "copyleft-next-",
];
const WEAK: &[&str] = &[
    "LGPL-",
    "MPL-",
    "EPL-",
    "CDDL-",
    "CPL-",
    "MS-RL",
    "APSL-",
    "CECILL-C",
    "IPL-",
    "ErlPL-",
    "SPL-",
    "NPL-",
    "Nokia",
    "LGPLLR",
    "OFL-",
    "EPICS",
    "Motosoto",
    "SISSL",
    "gSOAP-",
    "YPL-",
    "MulanPSL-",
    "Artistic-1.0",
];
const PROPRIETARY: &[&str] = &[
    "BUSL-",
    "Elastic-",
    "CC-BY-NC",
    "CC-BY-ND",
    "Commons-Clause",
    "PolyForm-",
    "SSPL-",
    "JSON",
    "Parity-",
    "Prosperity-",
];
/// Exceptions that turn a strong copyleft into a weak one (linking is allowed).
const LINKING_EXCEPTIONS: &[&str] = &[
    "Classpath-exception-2.0",
    "GCC-exception-2.0",
    "GCC-exception-3.1",
    "LLVM-exception",
    "Autoconf-exception-2.0",
    "Autoconf-exception-3.0",
    "Bison-exception-2.2",
    "Font-exception-2.0",
    "Libtool-exception",
    "openvpn-openssl-exception",
    "OCaml-LGPL-linking-exception",
    "Linux-syscall-note",
    "Universal-FOSS-exception-1.0",
    "WxWindows-exception-3.1",
    "eCos-exception-2.0",
    "freertos-exception-2.0",
    "u-boot-exception-2.0",
    "mif-exception",
];

fn starts(name: &str, table: &[&str]) -> bool {
    table.iter().any(|p| {
        if p.ends_with('-') {
            name.starts_with(p)
        } else {
            name == *p || name.starts_with(&format!("{p}-"))
        }
    })
}

/// Category of a licence id (`MIT`, `GPL-3.0-only`, `LicenseRef-…`).
pub fn category_of_id(name: &str) -> Category {
    if name.starts_with("LicenseRef-") || name.starts_with("DocumentRef-") {
        return match name {
            "LicenseRef-Public-Domain" => Category::Permissive,
            "LicenseRef-UNLICENSED" => Category::Proprietary,
            _ => Category::Unclassified,
        };
    }
    // Order matters: LGPL before GPL, AGPL before GPL, proprietary (SSPL) before network.
    if starts(name, PROPRIETARY) && !name.starts_with("SSPL-") {
        return Category::Proprietary;
    }
    if starts(name, NETWORK) {
        return Category::NetworkCopyleft;
    }
    if starts(name, WEAK) {
        return Category::WeakCopyleft;
    }
    if starts(name, STRONG) {
        return Category::StrongCopyleft;
    }
    match spdx::license_id(name) {
        Some(id) if id.is_copyleft() => Category::StrongCopyleft,
        Some(id) if id.is_osi_approved() || id.is_fsf_free_libre() => Category::Permissive,
        Some(_) if PERMISSIVE_UNAPPROVED.contains(&name) => Category::Permissive,
        _ => Category::Unclassified,
    }
}

/// Permissive licences that are neither OSI- nor FSF-approved but common in packages.
const PERMISSIVE_UNAPPROVED: &[&str] = &[
    "0BSD",
    "CC0-1.0",
    "Unlicense",
    "BSD-2-Clause-Views",
    "MIT-0",
    "curl",
    "libpng-2.0",
    "BlueOak-1.0.0",
    "CC-BY-3.0",
    "CC-BY-4.0",
    "PSF-2.0",
    "Python-2.0",
    "Unicode-DFS-2016",
    "Unicode-3.0",
    "bzip2-1.0.6",
    "MIT-CMU",
    "X11",
    "Beerware",
    "ISC",
    "OpenSSL",
    "SSLeay-standalone",
];

/// Category of one licence term (licence plus optional `WITH` exception).
pub fn category_of(req: &LicenseReq) -> Category {
    let base = match &req.license {
        LicenseItem::Spdx { id, .. } => category_of_id(id.name),
        LicenseItem::Other(r) => category_of_id(&r.to_string()),
    };
    match &req.addition {
        Some(add) if base == Category::StrongCopyleft => {
            let name = add.to_string();
            if LINKING_EXCEPTIONS.contains(&name.as_str()) {
                Category::WeakCopyleft
            } else {
                base
            }
        }
        _ => base,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cat(expr: &str) -> Category {
        let e = spdx::Expression::parse_mode(expr, spdx::ParseMode::LAX).unwrap();
        let r = e.requirements().next().unwrap();
        category_of(&r.req)
    }

    #[test]
    fn categories() {
        for (e, c) in [
            ("MIT", Category::Permissive),
            ("Apache-2.0", Category::Permissive),
            ("BSD-3-Clause", Category::Permissive),
            ("ISC", Category::Permissive),
            ("0BSD", Category::Permissive),
            ("CC0-1.0", Category::Permissive),
            ("Unlicense", Category::Permissive),
            ("Zlib", Category::Permissive),
            ("Apache-2.0 WITH LLVM-exception", Category::Permissive),
            ("LGPL-2.1-only", Category::WeakCopyleft),
            ("LGPL-3.0-or-later", Category::WeakCopyleft),
            ("MPL-2.0", Category::WeakCopyleft),
            ("EPL-2.0", Category::WeakCopyleft),
            ("CDDL-1.0", Category::WeakCopyleft),
            (
                "GPL-2.0-only WITH Classpath-exception-2.0",
                Category::WeakCopyleft,
            ),
            ("GPL-2.0-only", Category::StrongCopyleft),
            ("GPL-3.0-or-later", Category::StrongCopyleft),
            ("GPL-2.0+", Category::StrongCopyleft),
            ("CC-BY-SA-4.0", Category::StrongCopyleft),
            ("EUPL-1.1", Category::StrongCopyleft),
            ("AGPL-3.0-only", Category::NetworkCopyleft),
            ("AGPL-3.0-or-later", Category::NetworkCopyleft),
            ("SSPL-1.0", Category::NetworkCopyleft),
            ("BUSL-1.1", Category::Proprietary),
            ("CC-BY-NC-4.0", Category::Proprietary),
            ("Elastic-2.0", Category::Proprietary),
            ("LicenseRef-UNLICENSED", Category::Proprietary),
            ("LicenseRef-acme", Category::Unclassified),
        ] {
            assert_eq!(cat(e), c, "{e}");
        }
        assert_eq!(
            Category::from_name("strong_copyleft"),
            Some(Category::StrongCopyleft)
        );
        assert_eq!(Category::from_name("bogus"), None);
    }
}
