//! Severity levels, ordered from `Unknown` (no information) and `Info` (lowest) to
//! `Critical`. `Unknown` is never compared like a level by the gate: [`FailOnUnknown`]
//! says which level it counts as (default: high), so a finding whose severity nobody
//! knows fails closed.

use serde::{Deserialize, Serialize};
use std::fmt;
use std::str::FromStr;

/// How serious a finding is. Ordered: `Unknown < Info < Low < Medium < High < Critical`
/// (so that the highest *known* severity of merged records wins); the gate does not use
/// this order for `Unknown` (see [`FailOnUnknown`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Severity {
    /// No severity anywhere (e.g. an advisory without CVSS vector or rating): shown as
    /// UNKNOWN, gated as `fail_on_unknown` says (default: as high).
    Unknown,
    /// Informational.
    Info,
    /// Low.
    Low,
    /// Medium.
    Medium,
    /// High.
    High,
    /// Critical.
    Critical,
}

impl Severity {
    /// All severities in display order, highest first; `Unknown` next to `High`, where
    /// the default gate counts it.
    pub const ALL_DESC: [Severity; 6] = [
        Severity::Critical,
        Severity::High,
        Severity::Unknown,
        Severity::Medium,
        Severity::Low,
        Severity::Info,
    ];

    /// Lower-case name.
    pub fn as_str(self) -> &'static str {
        match self {
            Severity::Unknown => "unknown",
            Severity::Info => "info",
            Severity::Low => "low",
            Severity::Medium => "medium",
            Severity::High => "high",
            Severity::Critical => "critical",
        }
    }

    /// A CVSS-like score used for SARIF `security-severity` (`Unknown`: as high, the
    /// default gate's reading).
    pub fn score(self) -> f32 {
        match self {
            Severity::Critical => 9.5,
            Severity::High | Severity::Unknown => 8.0,
            Severity::Medium => 5.5,
            Severity::Low => 3.0,
            Severity::Info => 0.0,
        }
    }
}

impl fmt::Display for Severity {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for Severity {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s.to_ascii_lowercase().as_str() {
            "info" | "informational" | "note" => Ok(Severity::Info),
            "low" => Ok(Severity::Low),
            "medium" | "moderate" | "warning" => Ok(Severity::Medium),
            "high" | "error" => Ok(Severity::High),
            "critical" => Ok(Severity::Critical),
            "unknown" => Ok(Severity::Unknown),
            other => Err(format!(
                "unknown severity `{other}` (expected critical, high, medium, low, info or unknown)"
            )),
        }
    }
}

/// The gate threshold: `--fail-on <severity>|none`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub enum FailOn {
    /// Fail when any unsuppressed finding is at or above this severity.
    AtLeast(Severity),
    /// Never fail on findings.
    None,
}

impl Default for FailOn {
    fn default() -> Self {
        FailOn::AtLeast(Severity::High)
    }
}

impl FailOn {
    /// Whether a finding of this severity trips the gate, `Unknown` counted as high
    /// (the default of [`FailOnUnknown`]; see [`FailOn::trips_with`]).
    pub fn trips(self, severity: Severity) -> bool {
        self.trips_with(severity, FailOnUnknown::default())
    }

    /// Whether a finding of this severity trips the gate, `Unknown` read as `unknown`
    /// says.
    pub fn trips_with(self, severity: Severity, unknown: FailOnUnknown) -> bool {
        let severity = match (severity, unknown) {
            (Severity::Unknown, FailOnUnknown::As(s)) => s,
            (Severity::Unknown, FailOnUnknown::Ignore) => return false,
            (s, _) => s,
        };
        match self {
            FailOn::AtLeast(min) => severity >= min,
            FailOn::None => false,
        }
    }
}

/// How the gate treats findings of `Unknown` severity: `fail_on_unknown:` /
/// `--fail-on-unknown` `critical|high|medium|low|info|ignore` (default `high`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub enum FailOnUnknown {
    /// Count it as this (known) severity.
    As(Severity),
    /// Never fail on it (it is still reported).
    Ignore,
}

impl Default for FailOnUnknown {
    fn default() -> Self {
        FailOnUnknown::As(Severity::High)
    }
}

impl FailOnUnknown {
    /// Whether this is the default (`high`).
    pub fn is_default(&self) -> bool {
        *self == FailOnUnknown::default()
    }
}

impl FromStr for FailOnUnknown {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        if s.eq_ignore_ascii_case("ignore") || s.eq_ignore_ascii_case("none") {
            return Ok(FailOnUnknown::Ignore);
        }
        match s.parse::<Severity>() {
            Ok(Severity::Unknown) | Err(_) => Err(format!(
                "fail_on_unknown `{s}`: expected critical, high, medium, low, info or ignore"
            )),
            Ok(sev) => Ok(FailOnUnknown::As(sev)),
        }
    }
}

impl TryFrom<String> for FailOnUnknown {
    type Error = String;
    fn try_from(s: String) -> Result<Self, Self::Error> {
        s.parse()
    }
}

impl From<FailOnUnknown> for String {
    fn from(f: FailOnUnknown) -> String {
        match f {
            FailOnUnknown::As(s) => s.as_str().to_string(),
            FailOnUnknown::Ignore => "ignore".to_string(),
        }
    }
}

impl FromStr for FailOn {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        if s.eq_ignore_ascii_case("none") {
            return Ok(FailOn::None);
        }
        match s.parse() {
            Ok(Severity::Unknown) => Err(
                "fail_on `unknown`: not a threshold (use fail_on_unknown to say how unknown \
                 severities are gated)"
                    .to_string(),
            ),
            other => other.map(FailOn::AtLeast),
        }
    }
}

impl TryFrom<String> for FailOn {
    type Error = String;
    fn try_from(s: String) -> Result<Self, Self::Error> {
        s.parse()
    }
}

impl From<FailOn> for String {
    fn from(f: FailOn) -> String {
        match f {
            FailOn::AtLeast(s) => s.as_str().to_string(),
            FailOn::None => "none".to_string(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ordering_and_parse() {
        assert!(Severity::Critical > Severity::High);
        assert!(Severity::Info < Severity::Low);
        assert_eq!("HIGH".parse::<Severity>(), Ok(Severity::High));
        assert!("bogus".parse::<Severity>().is_err());
        let gate: FailOn = "medium".parse().unwrap();
        assert!(gate.trips(Severity::High));
        assert!(!gate.trips(Severity::Low));
        assert!(!FailOn::None.trips(Severity::Critical));
    }

    #[test]
    fn unknown_fails_closed_unless_told() {
        let high = FailOn::default();
        assert!(
            high.trips(Severity::Unknown),
            "unknown counts as high by default"
        );
        assert!(!high.trips_with(Severity::Unknown, FailOnUnknown::Ignore));
        let low: FailOnUnknown = "low".parse().unwrap();
        assert!(!high.trips_with(Severity::Unknown, low));
        assert!(FailOn::AtLeast(Severity::Low).trips_with(Severity::Unknown, low));
        assert!(FailOn::AtLeast(Severity::Critical)
            .trips_with(Severity::Unknown, "critical".parse().unwrap()));
        assert!("unknown".parse::<FailOnUnknown>().is_err());
        assert!("bogus".parse::<FailOnUnknown>().is_err());
        assert_eq!(Severity::Unknown.to_string(), "unknown");
    }
}
