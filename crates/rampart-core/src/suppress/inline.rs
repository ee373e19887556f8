//! Inline suppressions: `rampart:ignore [RULE[,RULE…]] [-- reason]` in a comment on the
//! finding's line or the line above, in any comment syntax (`#`, `//`, `--`, `<!-- -->`).
//! `gitleaks:allow` on the line is honoured too, for secret rules.

use crate::finding::{Finding, Suppression, SuppressionKind};
use crate::report::StaleIgnore;
use crate::suppress::rule_matcher;

const MARKER: &[u8] = b"rampart:ignore";
const GITLEAKS_MARKER: &[u8] = b"gitleaks:allow";

/// Comment openers: the marker counts only after one of these on its line, so prose
/// that mentions `rampart:ignore` (in Markdown back-ticks, say) is not a directive.
const COMMENT_OPENERS: &[&[u8]] = &[
    b"#", b"//", b"/*", b"<!--", b"--", b";", b"%", b"'", b"*", b"{#", b"REM ", b"rem ",
];

fn in_comment(before: &[u8]) -> bool {
    COMMENT_OPENERS
        .iter()
        .any(|o| memchr::memmem::find(before, o).is_some())
}

/// One inline directive.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Directive {
    /// 1-based line of the comment.
    pub line: usize,
    /// Rule ids or globs; empty means every rule.
    pub rules: Vec<String>,
    /// Reason after `--`.
    pub reason: Option<String>,
    /// A `gitleaks:allow` marker (same line only, secret rules only).
    pub gitleaks: bool,
}

/// Find every directive in `content`.
pub fn directives(content: &[u8]) -> Vec<Directive> {
    let mut out = Vec::new();
    let finder = memchr::memmem::Finder::new(MARKER);
    for pos in finder.find_iter(content) {
        let line_start = memchr::memrchr(b'\n', &content[..pos]).map_or(0, |i| i + 1);
        let line_end = memchr::memchr(b'\n', &content[pos..]).map_or(content.len(), |i| pos + i);
        if !in_comment(&content[line_start..pos]) {
            continue;
        }
        let line = 1 + memchr::memchr_iter(b'\n', &content[..line_start]).count();
        let rest = String::from_utf8_lossy(&content[pos + MARKER.len()..line_end]);
        let rest = rest
            .trim_end()
            .trim_end_matches("-->")
            .trim_end_matches("*/")
            .trim();
        let (rules_part, reason) = match rest.split_once("--") {
            Some((r, why)) => (r, Some(why.trim().to_string()).filter(|s| !s.is_empty())),
            None => (rest, None),
        };
        let rules = rules_part
            .split([',', ' '])
            .map(str::trim)
            .filter(|s| !s.is_empty())
            .map(str::to_string)
            .collect();
        out.push(Directive {
            line,
            rules,
            reason,
            gitleaks: false,
        });
    }
    for pos in memchr::memmem::find_iter(content, GITLEAKS_MARKER) {
        let line = 1 + memchr::memchr_iter(b'\n', &content[..pos]).count();
        out.push(Directive {
            line,
            rules: vec!["secret/*".into()],
            reason: Some("gitleaks:allow".into()),
            gitleaks: true,
        });
    }
    out
}

impl Directive {
    fn applies(&self, finding: &Finding) -> bool {
        let Some(line) = finding.location.line() else {
            return false;
        };
        let line_ok = if self.gitleaks {
            line == self.line
        } else {
            line == self.line || line == self.line + 1
        };
        line_ok
            && (self.rules.is_empty()
                || self.rules.iter().any(|r| {
                    r == &finding.rule_id
                        || rule_matcher(r).is_some_and(|m| m.is_match(&finding.rule_id))
                }))
    }
}

/// Apply the directives found in `content` to this file's `findings`. Returns the
/// directives that matched nothing (stale), described for the report.
pub fn apply(content: &[u8], path: &str, findings: &mut [Finding]) -> Vec<StaleIgnore> {
    let dirs = directives(content);
    if dirs.is_empty() {
        return Vec::new();
    }
    let mut used = vec![false; dirs.len()];
    for f in findings.iter_mut() {
        for (i, d) in dirs.iter().enumerate() {
            if d.applies(f) {
                used[i] = true;
                if f.suppression.is_none() {
                    f.suppression = Some(Suppression {
                        kind: SuppressionKind::Inline,
                        reason: d.reason.clone(),
                        source: Some(format!("{path}:{}", d.line)),
                    });
                }
            }
        }
    }
    dirs.iter()
        .zip(used)
        .filter(|(d, used)| !used && !d.gitleaks)
        .map(|(d, _)| StaleIgnore {
            kind: "inline".into(),
            source: format!("{path}:{}", d.line),
            rule: if d.rules.is_empty() {
                "*".into()
            } else {
                d.rules.join(",")
            },
            message: "inline ignore matched no finding".into(),
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn finding(rule: &str, line: usize) -> Finding {
        crate::finding::test_finding(rule, "f", line)
    }

    #[test]
    fn prose_is_not_a_directive() {
        assert!(directives(b"Use `rampart:ignore RULE` in a comment.\n").is_empty());
        assert_eq!(directives(b"x = 1 ; rampart:ignore\n").len(), 1);
    }

    #[test]
    fn parses_directives() {
        let d = directives(
            b"x\n# rampart:ignore secret/aws-access-key -- test key\n<!-- rampart:ignore -->\n",
        );
        assert_eq!(d.len(), 2);
        assert_eq!(d[0].line, 2);
        assert_eq!(d[0].rules, vec!["secret/aws-access-key"]);
        assert_eq!(d[0].reason.as_deref(), Some("test key"));
        assert!(d[1].rules.is_empty());
    }

    #[test]
    fn applies_same_line_and_line_above_and_reports_stale() {
        let content =
            b"key = AKIA # rampart:ignore secret/aws-* -- fixture\n// rampart:ignore secret/jwt\nkey2\n\n// rampart:ignore secret/none\n";
        let mut fs = vec![
            finding("secret/aws-access-key", 1),
            finding("secret/jwt", 3),
            finding("secret/jwt", 4),
        ];
        let stale = apply(content, "f", &mut fs);
        assert!(fs[0].is_suppressed());
        assert!(fs[1].is_suppressed());
        assert!(!fs[2].is_suppressed());
        assert_eq!(stale.len(), 1);
        assert_eq!(stale[0].source, "f:5");
    }
}
