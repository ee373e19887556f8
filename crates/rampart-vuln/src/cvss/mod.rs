//! CVSS base scores computed from vectors: v2, v3.0/v3.1 (the specification's
//! formulas) and v4.0 (the MacroVector lookup table with severity-distance
//! interpolation, as in the specification's reference calculator).
//!
//! Errors name the first problem (unknown version, missing or unknown metric); they
//! never panic.

mod v4_lookup;

use rampart_core::Severity;
use std::collections::HashMap;

/// Why a vector could not be scored.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum CvssError {
    /// Not a CVSS vector of a known version.
    #[error("not a CVSS v2/v3/v4 vector: `{0}`")]
    UnknownVersion(String),
    /// A required metric is missing.
    #[error("CVSS vector `{vector}` lacks the {metric} metric")]
    Missing {
        /// The vector.
        vector: String,
        /// The metric.
        metric: &'static str,
    },
    /// A metric has a value this version does not define.
    #[error("CVSS vector `{vector}`: bad value for {metric}")]
    BadValue {
        /// The vector.
        vector: String,
        /// The metric.
        metric: String,
    },
}

/// A scored vector.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct CvssScore {
    /// Major version: 2, 3 or 4.
    pub version: u8,
    /// Base score, 0.0–10.0.
    pub score: f64,
}

impl CvssScore {
    /// The qualitative rating (`None` 0.0 maps to `Info`; v2 has no `Critical`).
    pub fn severity(&self) -> Severity {
        rating(self.score, self.version)
    }
}

/// The rating for a score (CVSS v3/v4 bands; v2 tops out at High).
pub fn rating(score: f64, version: u8) -> Severity {
    if score <= 0.0 {
        Severity::Info
    } else if score < 4.0 {
        Severity::Low
    } else if score < 7.0 {
        Severity::Medium
    } else if score < 9.0 || version == 2 {
        Severity::High
    } else {
        Severity::Critical
    }
}

/// Score any CVSS vector (v2 bare or `(AV:…)`, `CVSS:3.x/…`, `CVSS:4.0/…`).
pub fn score(vector: &str) -> Result<CvssScore, CvssError> {
    let v = vector.trim();
    if v.starts_with("CVSS:3.") {
        Ok(CvssScore {
            version: 3,
            score: v3(v)?,
        })
    } else if v.starts_with("CVSS:4.") {
        Ok(CvssScore {
            version: 4,
            score: v4(v)?,
        })
    } else if v.trim_start_matches('(').starts_with("AV:") && v.contains("Au:") {
        Ok(CvssScore {
            version: 2,
            score: v2(v)?,
        })
    } else {
        Err(CvssError::UnknownVersion(vector.to_string()))
    }
}

fn metrics(vector: &str) -> HashMap<&str, &str> {
    vector
        .trim_matches(|c| c == '(' || c == ')')
        .split('/')
        .filter_map(|p| p.split_once(':'))
        .filter(|(k, _)| *k != "CVSS")
        .collect()
}

fn get<'a>(
    m: &HashMap<&str, &'a str>,
    vector: &str,
    metric: &'static str,
) -> Result<&'a str, CvssError> {
    m.get(metric).copied().ok_or_else(|| CvssError::Missing {
        vector: vector.to_string(),
        metric,
    })
}

fn bad(vector: &str, metric: &str) -> CvssError {
    CvssError::BadValue {
        vector: vector.to_string(),
        metric: metric.to_string(),
    }
}

/// CVSS v3.1 `Roundup`: the smallest one-decimal number >= x, robust to float noise.
fn roundup(x: f64) -> f64 {
    let i = (x * 100_000.0).round() as i64;
    if i % 10_000 == 0 {
        i as f64 / 100_000.0
    } else {
        ((i / 10_000) + 1) as f64 / 10.0
    }
}

/// CVSS v3.0 / v3.1 base score.
pub fn v3(vector: &str) -> Result<f64, CvssError> {
    let m = metrics(vector);
    let pick = |metric: &'static str, table: &[(&str, f64)]| -> Result<f64, CvssError> {
        let val = get(&m, vector, metric)?;
        table
            .iter()
            .find(|(k, _)| *k == val)
            .map(|(_, x)| *x)
            .ok_or_else(|| bad(vector, metric))
    };
    let scope_changed = match get(&m, vector, "S")? {
        "U" => false,
        "C" => true,
        _ => return Err(bad(vector, "S")),
    };
    let av = pick("AV", &[("N", 0.85), ("A", 0.62), ("L", 0.55), ("P", 0.2)])?;
    let ac = pick("AC", &[("L", 0.77), ("H", 0.44)])?;
    let pr = if scope_changed {
        pick("PR", &[("N", 0.85), ("L", 0.68), ("H", 0.5)])?
    } else {
        pick("PR", &[("N", 0.85), ("L", 0.62), ("H", 0.27)])?
    };
    let ui = pick("UI", &[("N", 0.85), ("R", 0.62)])?;
    let cia = [("H", 0.56), ("L", 0.22), ("N", 0.0)];
    let c = pick("C", &cia)?;
    let i = pick("I", &cia)?;
    let a = pick("A", &cia)?;
    let iss = 1.0 - (1.0 - c) * (1.0 - i) * (1.0 - a);
    let impact = if scope_changed {
        7.52 * (iss - 0.029) - 3.25 * (iss - 0.02).powi(15)
    } else {
        6.42 * iss
    };
    let exploitability = 8.22 * av * ac * pr * ui;
    if impact <= 0.0 {
        return Ok(0.0);
    }
    Ok(if scope_changed {
        roundup((1.08 * (impact + exploitability)).min(10.0))
    } else {
        roundup((impact + exploitability).min(10.0))
    })
}

/// CVSS v2 base score.
pub fn v2(vector: &str) -> Result<f64, CvssError> {
    let m = metrics(vector);
    let pick = |metric: &'static str, table: &[(&str, f64)]| -> Result<f64, CvssError> {
        let val = get(&m, vector, metric)?;
        table
            .iter()
            .find(|(k, _)| *k == val)
            .map(|(_, x)| *x)
            .ok_or_else(|| bad(vector, metric))
    };
    let av = pick("AV", &[("L", 0.395), ("A", 0.646), ("N", 1.0)])?;
    let ac = pick("AC", &[("H", 0.35), ("M", 0.61), ("L", 0.71)])?;
    let au = pick("Au", &[("M", 0.45), ("S", 0.56), ("N", 0.704)])?;
    let cia = [("N", 0.0), ("P", 0.275), ("C", 0.660)];
    let c = pick("C", &cia)?;
    let i = pick("I", &cia)?;
    let a = pick("A", &cia)?;
    let impact = 10.41 * (1.0 - (1.0 - c) * (1.0 - i) * (1.0 - a));
    let exploitability = 20.0 * av * ac * au;
    let f = if impact == 0.0 { 0.0 } else { 1.176 };
    let base = ((0.6 * impact) + (0.4 * exploitability) - 1.5) * f;
    Ok(((base * 10.0).round() / 10.0).max(0.0))
}

// ---- CVSS v4.0 --------------------------------------------------------------------

const V4_BASE: [(&str, &[&str]); 11] = [
    ("AV", &["N", "A", "L", "P"]),
    ("AC", &["L", "H"]),
    ("AT", &["N", "P"]),
    ("PR", &["N", "L", "H"]),
    ("UI", &["N", "P", "A"]),
    ("VC", &["H", "L", "N"]),
    ("VI", &["H", "L", "N"]),
    ("VA", &["H", "L", "N"]),
    ("SC", &["H", "L", "N"]),
    ("SI", &["H", "L", "N"]),
    ("SA", &["H", "L", "N"]),
];

struct V4<'a> {
    m: HashMap<&'a str, &'a str>,
}

impl V4<'_> {
    /// The effective value: environmental `M*` overrides base; unset threat and
    /// requirement metrics take their worst case (E:A, CR/IR/AR:H).
    fn m(&self, metric: &str) -> &str {
        let sel = self.m.get(metric).copied().unwrap_or("X");
        match (metric, sel) {
            ("E", "X") => return "A",
            ("CR" | "IR" | "AR", "X") => return "H",
            _ => {}
        }
        let key = format!("M{metric}");
        if let Some(mv) = self.m.get(key.as_str()) {
            if *mv != "X" {
                return mv;
            }
        }
        sel
    }

    fn macro_vector(&self) -> [u8; 6] {
        let m = |k| self.m(k);
        let eq1 = if m("AV") == "N" && m("PR") == "N" && m("UI") == "N" {
            0
        } else if (m("AV") == "N" || m("PR") == "N" || m("UI") == "N") && m("AV") != "P" {
            1
        } else {
            2
        };
        let eq2 = if m("AC") == "L" && m("AT") == "N" {
            0
        } else {
            1
        };
        let eq3 = if m("VC") == "H" && m("VI") == "H" {
            0
        } else if m("VC") == "H" || m("VI") == "H" || m("VA") == "H" {
            1
        } else {
            2
        };
        let eq4 = if m("MSI") == "S" || m("MSA") == "S" {
            0
        } else if m("SC") == "H" || m("SI") == "H" || m("SA") == "H" {
            1
        } else {
            2
        };
        let eq5 = match m("E") {
            "P" => 1,
            "U" => 2,
            _ => 0,
        };
        let eq6 = if (m("CR") == "H" && m("VC") == "H")
            || (m("IR") == "H" && m("VI") == "H")
            || (m("AR") == "H" && m("VA") == "H")
        {
            0
        } else {
            1
        };
        [eq1, eq2, eq3, eq4, eq5, eq6]
    }
}

fn level(metric: &str, value: &str) -> f64 {
    let table: &[(&str, f64)] = match metric {
        "AV" => &[("N", 0.0), ("A", 0.1), ("L", 0.2), ("P", 0.3)],
        "PR" => &[("N", 0.0), ("L", 0.1), ("H", 0.2)],
        "UI" => &[("N", 0.0), ("P", 0.1), ("A", 0.2)],
        "AC" => &[("L", 0.0), ("H", 0.1)],
        "AT" => &[("N", 0.0), ("P", 0.1)],
        "VC" | "VI" | "VA" => &[("H", 0.0), ("L", 0.1), ("N", 0.2)],
        "SC" => &[("H", 0.1), ("L", 0.2), ("N", 0.3)],
        "SI" | "SA" => &[("S", 0.0), ("H", 0.1), ("L", 0.2), ("N", 0.3)],
        "CR" | "IR" | "AR" => &[("H", 0.0), ("M", 0.1), ("L", 0.2)],
        _ => &[],
    };
    table
        .iter()
        .find(|(k, _)| *k == value)
        .map_or(0.0, |(_, x)| *x)
}

fn lookup(mv: [u8; 6]) -> Option<f64> {
    if mv.iter().any(|d| *d > 9) {
        return None;
    }
    let key: String = mv.iter().map(|d| char::from(b'0' + d)).collect();
    v4_lookup::LOOKUP
        .iter()
        .find(|(k, _)| *k == key)
        .map(|(_, s)| f64::from(*s) / 10.0)
}

fn max_composed(eq: usize, level: u8, eq6: u8) -> &'static [&'static str] {
    match (eq, level, eq6) {
        (1, 0, _) => &["AV:N/PR:N/UI:N/"],
        (1, 1, _) => &["AV:A/PR:N/UI:N/", "AV:N/PR:L/UI:N/", "AV:N/PR:N/UI:P/"],
        (1, 2, _) => &["AV:P/PR:N/UI:N/", "AV:A/PR:L/UI:P/"],
        (2, 0, _) => &["AC:L/AT:N/"],
        (2, 1, _) => &["AC:H/AT:N/", "AC:L/AT:P/"],
        (3, 0, 0) => &["VC:H/VI:H/VA:H/CR:H/IR:H/AR:H/"],
        (3, 0, 1) => &[
            "VC:H/VI:H/VA:L/CR:M/IR:M/AR:H/",
            "VC:H/VI:H/VA:H/CR:M/IR:M/AR:M/",
        ],
        (3, 1, 0) => &[
            "VC:L/VI:H/VA:H/CR:H/IR:H/AR:H/",
            "VC:H/VI:L/VA:H/CR:H/IR:H/AR:H/",
        ],
        (3, 1, 1) => &[
            "VC:L/VI:H/VA:L/CR:H/IR:M/AR:H/",
            "VC:L/VI:H/VA:H/CR:H/IR:M/AR:M/",
            "VC:H/VI:L/VA:H/CR:M/IR:H/AR:M/",
            "VC:H/VI:L/VA:L/CR:M/IR:H/AR:H/",
            "VC:L/VI:L/VA:H/CR:H/IR:H/AR:M/",
        ],
        (3, 2, _) => &["VC:L/VI:L/VA:L/CR:H/IR:H/AR:H/"],
        (4, 0, _) => &["SC:H/SI:S/SA:S/"],
        (4, 1, _) => &["SC:H/SI:H/SA:H/"],
        (4, 2, _) => &["SC:L/SI:L/SA:L/"],
        (5, 0, _) => &["E:A/"],
        (5, 1, _) => &["E:P/"],
        (5, 2, _) => &["E:U/"],
        _ => &[],
    }
}

fn max_severity(eq: usize, level: u8, eq6: u8) -> f64 {
    let depth = match (eq, level, eq6) {
        (1, 0, _) => 1,
        (1, 1, _) => 4,
        (1, 2, _) => 5,
        (2, 0, _) => 1,
        (2, 1, _) => 2,
        (3, 0, 0) => 7,
        (3, 0, 1) => 6,
        (3, 1, _) => 8,
        (3, 2, _) => 10,
        (4, 0, _) => 6,
        (4, 1, _) => 5,
        (4, 2, _) => 4,
        _ => 1,
    };
    f64::from(depth) * 0.1
}

/// CVSS v4.0 score (base, with threat and environmental metrics when present).
pub fn v4(vector: &str) -> Result<f64, CvssError> {
    let m = metrics(vector);
    for (metric, values) in V4_BASE {
        let v = get(&m, vector, metric)?;
        if !values.contains(&v) {
            return Err(bad(vector, metric));
        }
    }
    let x = V4 { m };
    if ["VC", "VI", "VA", "SC", "SI", "SA"]
        .iter()
        .all(|k| x.m(k) == "N")
    {
        return Ok(0.0);
    }
    let mv = x.macro_vector();
    let Some(value) = lookup(mv) else {
        return Err(bad(vector, "macro vector"));
    };
    let [eq1, eq2, eq3, eq4, eq5, eq6] = mv;
    let with = |i: usize, d: u8| {
        let mut n = mv;
        n[i] += d;
        n
    };
    let lower_eq1 = lookup(with(0, 1));
    let lower_eq2 = lookup(with(1, 1));
    let lower_eq3eq6 = match (eq3, eq6) {
        (1, 1) | (0, 1) => lookup(with(2, 1)),
        (1, 0) => lookup(with(5, 1)),
        (0, 0) => {
            let l = lookup(with(5, 1));
            let r = lookup(with(2, 1));
            match (l, r) {
                (Some(a), Some(b)) => Some(a.max(b)),
                (a, b) => a.or(b),
            }
        }
        _ => None,
    };
    let lower_eq4 = lookup(with(3, 1));
    let lower_eq5 = lookup(with(4, 1));

    // Find the highest-severity vector of this macro vector that dominates ours.
    let metric_of = |max: &str, k: &str| -> String {
        max.split('/')
            .filter_map(|p| p.split_once(':'))
            .find(|(mk, _)| *mk == k)
            .map(|(_, v)| v.to_string())
            .unwrap_or_default()
    };
    let names = [
        "AV", "PR", "UI", "AC", "AT", "VC", "VI", "VA", "SC", "SI", "SA", "CR", "IR", "AR",
    ];
    let mut dist: HashMap<&str, f64> = HashMap::new();
    'outer: for a in max_composed(1, eq1, eq6) {
        for b in max_composed(2, eq2, eq6) {
            for c in max_composed(3, eq3, eq6) {
                for d in max_composed(4, eq4, eq6) {
                    for e in max_composed(5, eq5, eq6) {
                        let max = format!("{a}{b}{c}{d}{e}");
                        dist.clear();
                        for k in names {
                            dist.insert(k, level(k, x.m(k)) - level(k, &metric_of(&max, k)));
                        }
                        if dist.values().all(|v| *v >= 0.0) {
                            break 'outer;
                        }
                    }
                }
            }
        }
    }
    let d = |k: &str| dist.get(k).copied().unwrap_or(0.0);
    let cur = [
        d("AV") + d("PR") + d("UI"),
        d("AC") + d("AT"),
        d("VC") + d("VI") + d("VA") + d("CR") + d("IR") + d("AR"),
        d("SC") + d("SI") + d("SA"),
        0.0,
    ];
    let lowers = [lower_eq1, lower_eq2, lower_eq3eq6, lower_eq4, lower_eq5];
    let depths = [
        max_severity(1, eq1, eq6),
        max_severity(2, eq2, eq6),
        max_severity(3, eq3, eq6),
        max_severity(4, eq4, eq6),
        1.0,
    ];
    let mut n = 0u32;
    let mut total = 0.0;
    for i in 0..5 {
        if let Some(lower) = lowers[i] {
            n += 1;
            let available = value - lower;
            let pct = if i == 4 { 0.0 } else { cur[i] / depths[i] };
            total += available * pct;
        }
    }
    let mean = if n == 0 { 0.0 } else { total / f64::from(n) };
    let s = (value - mean).clamp(0.0, 10.0);
    Ok((s * 10.0).round() / 10.0)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn v3_known() {
        for (v, s) in [
            ("CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:H/A:H", 9.8),
            ("CVSS:3.1/AV:N/AC:L/PR:N/UI:R/S:C/C:L/I:L/A:N", 6.1),
            ("CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:N/I:N/A:H", 7.5),
            ("CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:C/C:H/I:H/A:H", 10.0),
            ("CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:N/I:L/A:N", 5.3),
            ("CVSS:3.0/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:H/A:N", 9.1),
            ("CVSS:3.1/AV:L/AC:L/PR:L/UI:N/S:U/C:H/I:H/A:H", 7.8),
            ("CVSS:3.1/AV:N/AC:H/PR:N/UI:N/S:U/C:N/I:N/A:N", 0.0),
        ] {
            assert_eq!(score(v).unwrap().score, s, "{v}");
        }
    }

    #[test]
    fn v2_known() {
        assert_eq!(score("AV:N/AC:L/Au:N/C:P/I:P/A:P").unwrap().score, 7.5);
        assert_eq!(score("AV:N/AC:M/Au:N/C:N/I:P/A:N").unwrap().score, 4.3);
    }

    #[test]
    fn v4_known() {
        for (v, s) in [
            (
                "CVSS:4.0/AV:N/AC:L/AT:N/PR:N/UI:N/VC:H/VI:H/VA:H/SC:N/SI:N/SA:N",
                9.3,
            ),
            (
                "CVSS:4.0/AV:N/AC:L/AT:N/PR:N/UI:N/VC:H/VI:H/VA:H/SC:H/SI:H/SA:H",
                10.0,
            ),
            (
                "CVSS:4.0/AV:N/AC:L/AT:N/PR:N/UI:N/VC:N/VI:N/VA:H/SC:N/SI:N/SA:N",
                8.7,
            ),
            // Macro vector 102201 (5.3) is its own highest-severity vector here.
            (
                "CVSS:4.0/AV:N/AC:L/AT:N/PR:N/UI:P/VC:N/VI:N/VA:N/SC:L/SI:L/SA:N",
                5.3,
            ),
            (
                "CVSS:4.0/AV:L/AC:L/AT:N/PR:L/UI:N/VC:H/VI:H/VA:H/SC:N/SI:N/SA:N",
                8.5,
            ),
            (
                "CVSS:4.0/AV:N/AC:L/AT:N/PR:N/UI:N/VC:N/VI:N/VA:N/SC:N/SI:N/SA:N",
                0.0,
            ),
        ] {
            assert_eq!(score(v).unwrap().score, s, "{v}");
        }
    }

    #[test]
    fn errors_not_panics() {
        assert!(score("CVSS:3.1/AV:N").is_err());
        assert!(score("CVSS:4.0/AV:Q/AC:L/AT:N/PR:N/UI:N/VC:H/VI:H/VA:H/SC:N/SI:N/SA:N").is_err());
        assert!(score("garbage").is_err());
        assert!(score("").is_err());
    }
}
