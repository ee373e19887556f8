//! Lenient licence parsing: SPDX expressions as written, plus the free-text spellings found
//! in package metadata (`Apache 2.0`, `MIT/Apache-2.0`, `BSD License`, Python trove
//! classifiers …), mapped onto SPDX ids.

use spdx::expression::{ExprNode, Operator};
use spdx::{Expression, ParseMode};

/// Longest licence text considered an expression; longer text is a licence body pasted
/// into a metadata field (common in Python `License:`) and is reported as unknown.
const MAX_EXPRESSION_LEN: usize = 512;

/// A declared licence after parsing.
#[derive(Debug, Clone)]
pub enum Parsed {
    /// A valid SPDX expression; `canonical` is its normalised text.
    Spdx {
        /// The parsed expression.
        expression: Box<Expression>,
        /// Normalised SPDX text (`MIT OR Apache-2.0`), valid for SBOMs.
        canonical: String,
    },
    /// Text that is not an SPDX expression and has no known mapping.
    Unknown(String),
    /// Nothing declared (`""`, `UNKNOWN`, `NOASSERTION`, `NONE`).
    Missing,
}

impl Parsed {
    /// The normalised SPDX text, when the licence is understood.
    pub fn canonical(&self) -> Option<&str> {
        match self {
            Parsed::Spdx { canonical, .. } => Some(canonical),
            _ => None,
        }
    }
}

/// Whole-text spellings (compared after [`squash`]) that are not SPDX but common, mapped
/// to an SPDX expression. Checked before the `spdx` crate's own imprecise names, because
/// some of those are wrong (`GNU GPL v2` → GPL-3.0) or too eager (`apache` prefixes).
const ALIASES: &[(&str, &str)] = &[
    ("apache 2.0", "Apache-2.0"),
    ("apache 2", "Apache-2.0"),
    ("apache-2", "Apache-2.0"),
    ("apache2", "Apache-2.0"),
    ("apache v2", "Apache-2.0"),
    ("apache license 2.0", "Apache-2.0"),
    ("apache license v2.0", "Apache-2.0"),
    ("apache license version 2.0", "Apache-2.0"),
    ("apache license, version 2.0", "Apache-2.0"),
    ("the apache license, version 2.0", "Apache-2.0"),
    ("the apache software license, version 2.0", "Apache-2.0"),
    ("apache software license", "Apache-2.0"),
    ("apache software license 2.0", "Apache-2.0"),
    ("asl 2.0", "Apache-2.0"),
    ("mit license", "MIT"),
    ("the mit license", "MIT"),
    ("mit/x11", "MIT"),
    ("expat", "MIT"),
    ("bsd", "BSD-3-Clause"),
    ("bsd license", "BSD-3-Clause"),
    ("new bsd", "BSD-3-Clause"),
    ("new bsd license", "BSD-3-Clause"),
    ("modified bsd", "BSD-3-Clause"),
    ("bsd-3", "BSD-3-Clause"),
    ("3-clause bsd", "BSD-3-Clause"),
    ("bsd 3-clause", "BSD-3-Clause"),
    ("bsd-style", "BSD-3-Clause"),
    ("simplified bsd", "BSD-2-Clause"),
    ("bsd-2", "BSD-2-Clause"),
    ("2-clause bsd", "BSD-2-Clause"),
    ("isc license", "ISC"),
    ("isc license (iscl)", "ISC"),
    ("mozilla public license 2.0 (mpl 2.0)", "MPL-2.0"),
    ("mozilla public license 2.0", "MPL-2.0"),
    ("mpl 2.0", "MPL-2.0"),
    ("mpl-2", "MPL-2.0"),
    ("gnu general public license v2 (gplv2)", "GPL-2.0-only"),
    (
        "gnu general public license v2 or later (gplv2+)",
        "GPL-2.0-or-later",
    ),
    ("gnu general public license v3 (gplv3)", "GPL-3.0-only"),
    (
        "gnu general public license v3 or later (gplv3+)",
        "GPL-3.0-or-later",
    ),
    ("gnu general public license (gpl)", "GPL-2.0-or-later"),
    ("gnu gpl v2", "GPL-2.0-only"),
    ("gnu gpl v3", "GPL-3.0-only"),
    ("gplv2", "GPL-2.0-only"),
    ("gplv2+", "GPL-2.0-or-later"),
    ("gplv3", "GPL-3.0-only"),
    ("gplv3+", "GPL-3.0-or-later"),
    ("gpl", "GPL-2.0-or-later"),
    (
        "gnu lesser general public license v2 (lgplv2)",
        "LGPL-2.0-only",
    ),
    (
        "gnu lesser general public license v2 or later (lgplv2+)",
        "LGPL-2.0-or-later",
    ),
    (
        "gnu lesser general public license v3 (lgplv3)",
        "LGPL-3.0-only",
    ),
    (
        "gnu lesser general public license v3 or later (lgplv3+)",
        "LGPL-3.0-or-later",
    ),
    (
        "gnu library or lesser general public license (lgpl)",
        "LGPL-2.0-or-later",
    ),
    ("lgpl", "LGPL-2.0-or-later"),
    ("lgplv3", "LGPL-3.0-only"),
    ("lgplv2.1", "LGPL-2.1-only"),
    ("gnu affero general public license v3", "AGPL-3.0-only"),
    (
        "gnu affero general public license v3 or later (agplv3+)",
        "AGPL-3.0-or-later",
    ),
    ("agplv3", "AGPL-3.0-only"),
    ("agpl", "AGPL-3.0-only"),
    ("eclipse public license 1.0", "EPL-1.0"),
    ("eclipse public license 2.0", "EPL-2.0"),
    ("eclipse public license v2.0", "EPL-2.0"),
    ("epl 2.0", "EPL-2.0"),
    ("python software foundation license", "PSF-2.0"),
    ("psf", "PSF-2.0"),
    ("psfl", "PSF-2.0"),
    ("zlib/libpng", "Zlib"),
    ("zlib license", "Zlib"),
    ("the unlicense (unlicense)", "Unlicense"),
    ("the unlicense", "Unlicense"),
    (
        "cc0 1.0 universal (cc0 1.0) public domain dedication",
        "CC0-1.0",
    ),
    ("cc0", "CC0-1.0"),
    ("boost software license 1.0 (bsl-1.0)", "BSL-1.0"),
    ("boost", "BSL-1.0"),
    ("wtfpl", "WTFPL"),
    ("public domain", "LicenseRef-Public-Domain"),
    ("eupl 1.2", "EUPL-1.2"),
    ("european union public licence 1.2 (eupl 1.2)", "EUPL-1.2"),
    ("server side public license", "SSPL-1.0"),
    ("sspl", "SSPL-1.0"),
    ("elastic license 2.0", "Elastic-2.0"),
    ("business source license 1.1", "BUSL-1.1"),
];

/// Lower-case, single spaces, trimmed.
fn squash(s: &str) -> String {
    s.split_whitespace()
        .collect::<Vec<_>>()
        .join(" ")
        .to_ascii_lowercase()
}

/// The SPDX expression for a known free-text spelling (whole text), if any. Python trove
/// classifiers (`License :: OSI Approved :: MIT License`) use their last segment.
pub fn normalize(text: &str) -> Option<&'static str> {
    let last = text.rsplit("::").next().unwrap_or(text);
    let key = squash(last);
    let key = key.trim_end_matches('.');
    ALIASES.iter().find(|(k, _)| *k == key).map(|(_, v)| *v)
}

fn strict_or_lax(text: &str) -> Option<Expression> {
    Expression::parse_mode(text, ParseMode::LAX)
        .ok()
        .or_else(|| Expression::parse_mode(&fix_case(text), ParseMode::LAX).ok())
}

/// Correct the case of licence and exception ids (`apache-2.0` → `Apache-2.0`), which
/// SPDX matches case-sensitively but package metadata often does not respect.
fn fix_case(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut word = String::new();
    let flush = |word: &mut String, out: &mut String| {
        if word.is_empty() {
            return;
        }
        let w = word.as_str();
        let upper = w.to_ascii_uppercase();
        let fixed = if ["AND", "OR", "WITH"].contains(&upper.as_str()) {
            upper
        } else if spdx::license_id(w).is_some() || spdx::exception_id(w).is_some() {
            w.to_string()
        } else {
            let (base, plus) = match w.strip_suffix('+') {
                Some(b) => (b, "+"),
                None => (w, ""),
            };
            spdx::identifiers::LICENSES
                .iter()
                .map(|l| l.name)
                .chain(spdx::identifiers::EXCEPTIONS.iter().map(|e| e.name))
                .find(|n| n.eq_ignore_ascii_case(base))
                .map_or_else(|| w.to_string(), |n| format!("{n}{plus}"))
        };
        out.push_str(&fixed);
        word.clear();
    };
    for c in text.chars() {
        if c.is_whitespace() || c == '(' || c == ')' || c == '/' {
            flush(&mut word, &mut out);
            out.push(c);
        } else {
            word.push(c);
        }
    }
    flush(&mut word, &mut out);
    out
}

/// Parse a declared licence: an SPDX expression (leniently), a known free-text name, or a
/// list of those separated by `,` `;` or ` | ` (read as alternatives, `OR`).
pub fn parse(text: &str) -> Parsed {
    let t = text.trim().trim_matches(|c| c == '"' || c == '\'').trim();
    if t.is_empty()
        || [
            "unknown",
            "noassertion",
            "none",
            "n/a",
            "undefined",
            "unlicensed-unknown",
        ]
        .contains(&t.to_ascii_lowercase().as_str())
    {
        return Parsed::Missing;
    }
    if t.len() > MAX_EXPRESSION_LEN || t.contains('\n') && t.lines().count() > 3 {
        return Parsed::Unknown(summarize(t));
    }
    // npm's "SEE LICENSE IN <file>" and "UNLICENSED" (proprietary) are not expressions.
    if t.eq_ignore_ascii_case("UNLICENSED") {
        return finish(t, "LicenseRef-UNLICENSED");
    }
    if let Some(alias) = normalize(t) {
        return finish(t, alias);
    }
    if let Some(e) = strict_or_lax(t) {
        return from_expression(&e, t);
    }
    // `A, B` / `A; B` / `A | B` / `A or B` with free-text terms.
    let parts: Vec<&str> = t
        .split([',', ';', '|'])
        .flat_map(|p| p.split(" or "))
        .flat_map(|p| p.split(" OR "))
        .map(str::trim)
        .filter(|p| !p.is_empty())
        .collect();
    if parts.len() > 1 {
        let mut terms = Vec::new();
        for p in &parts {
            match normalize(p)
                .map(str::to_string)
                .or_else(|| strict_or_lax(p).map(|e| canonical_text(&e)))
            {
                Some(s) => terms.push(paren(&s)),
                None => return Parsed::Unknown(summarize(t)),
            }
        }
        let joined = terms.join(" OR ");
        if let Some(e) = strict_or_lax(&joined) {
            return from_expression(&e, t);
        }
    }
    Parsed::Unknown(summarize(t))
}

fn finish(original: &str, spdx_text: &str) -> Parsed {
    match strict_or_lax(spdx_text) {
        Some(e) => from_expression(&e, original),
        None => Parsed::Unknown(summarize(original)),
    }
}

fn from_expression(e: &Expression, _original: &str) -> Parsed {
    let canonical = canonical_text(e);
    // Re-parse the canonical text so the expression's spans refer to it.
    match Expression::parse_mode(&canonical, ParseMode::LAX) {
        Ok(expression) => Parsed::Spdx {
            expression: Box::new(expression),
            canonical,
        },
        Err(_) => Parsed::Unknown(canonical),
    }
}

fn paren(s: &str) -> String {
    if s.contains(' ') && !s.contains(" WITH ") {
        format!("({s})")
    } else {
        s.to_string()
    }
}

/// One line, at most 120 characters, for messages.
fn summarize(t: &str) -> String {
    let one: String = t.split_whitespace().collect::<Vec<_>>().join(" ");
    if one.chars().count() > 120 {
        let cut: String = one.chars().take(117).collect();
        format!("{cut}…")
    } else {
        one
    }
}

/// Infix SPDX text of an expression, with the minimum parentheses (AND binds tighter than
/// OR).
pub(crate) fn canonical_text(e: &Expression) -> String {
    // Stack of (text, top-level operator).
    let mut stack: Vec<(String, Option<Operator>)> = Vec::new();
    for node in e.iter() {
        match node {
            ExprNode::Req(r) => stack.push((r.req.to_string(), None)),
            ExprNode::Op(op) => {
                let (Some(b), Some(a)) = (stack.pop(), stack.pop()) else {
                    return e.as_ref().to_string();
                };
                let wrap = |(s, o): (String, Option<Operator>)| {
                    if *op == Operator::And && o == Some(Operator::Or) {
                        format!("({s})")
                    } else {
                        s
                    }
                };
                let word = if *op == Operator::And { "AND" } else { "OR" };
                stack.push((format!("{} {word} {}", wrap(a), wrap(b)), Some(*op)));
            }
        }
    }
    match stack.pop() {
        Some((s, _)) if stack.is_empty() => s,
        _ => e.as_ref().to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn canon(s: &str) -> String {
        match parse(s) {
            Parsed::Spdx { canonical, .. } => canonical,
            other => panic!("{s}: {other:?}"),
        }
    }

    #[test]
    fn spdx_and_free_text() {
        assert_eq!(canon("MIT"), "MIT");
        assert_eq!(canon("MIT OR Apache-2.0"), "MIT OR Apache-2.0");
        assert_eq!(
            canon("(MIT OR Apache-2.0) AND BSD-3-Clause"),
            "(MIT OR Apache-2.0) AND BSD-3-Clause"
        );
        assert_eq!(canon("MIT/Apache-2.0"), "MIT OR Apache-2.0");
        assert_eq!(canon("Apache 2.0"), "Apache-2.0");
        assert_eq!(canon("Apache License, Version 2.0"), "Apache-2.0");
        assert_eq!(canon("License :: OSI Approved :: MIT License"), "MIT");
        assert_eq!(canon("BSD"), "BSD-3-Clause");
        assert_eq!(canon("GNU GPL v2"), "GPL-2.0-only");
        assert_eq!(canon("MIT, Apache 2.0"), "MIT OR Apache-2.0");
        assert_eq!(
            canon("GPL-2.0-only WITH Classpath-exception-2.0"),
            "GPL-2.0-only WITH Classpath-exception-2.0"
        );
        assert_eq!(canon("mit or apache-2.0"), "MIT OR Apache-2.0");
        assert!(matches!(parse(""), Parsed::Missing));
        assert!(matches!(parse("UNKNOWN"), Parsed::Missing));
        assert!(matches!(parse("NOASSERTION"), Parsed::Missing));
        assert!(matches!(
            parse("SEE LICENSE IN LICENSE.txt"),
            Parsed::Unknown(_)
        ));
        assert!(matches!(
            parse("Totally Custom License"),
            Parsed::Unknown(_)
        ));
        let body = "Permission is hereby granted, free of charge, ".repeat(30);
        match parse(&body) {
            Parsed::Unknown(s) => assert!(s.chars().count() <= 120),
            other => panic!("{other:?}"),
        }
    }
}
