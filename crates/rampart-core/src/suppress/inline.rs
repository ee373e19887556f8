//! Inline suppressions: `rampart:ignore [RULE[,RULE…]] [-- reason]` in a comment on the
//! finding's line or the line above, in any comment syntax (`#`, `//`, `--`, `<!-- -->`).
//! `gitleaks:allow` on the line is honoured too, for secret rules.

use crate::finding::{Finding, Suppression, SuppressionKind};
use crate::report::StaleIgnore;
use crate::suppress::rule_matcher;

const MARKER: &[u8] = b"rampart:ignore";
const GITLEAKS_MARKER: &[u8] = b"gitleaks:allow";

/// How many bytes after a marker are read as its rules and reason.
const MAX_DIRECTIVE: usize = 256;
/// How many rules one directive may name.
const MAX_RULES: usize = 16;
/// How long a rule id or glob may be.
const MAX_RULE_LEN: usize = 128;
/// How many characters of a reason are kept.
const MAX_REASON: usize = 200;
/// Stale inline ignores listed per file; more are summarised in one entry.
pub const MAX_STALE_PER_FILE: usize = 20;

/// Comment openers anywhere on a line (outside string literals): the marker counts only
/// after one of these, so prose and string literals that mention `rampart:ignore` are
/// not directives.
const COMMENT_OPENERS: &[&[u8]] = &[
    b"#", b"//", b"/*", b"<!--", b"--", b";", b"%", b"{#", b"REM ", b"rem ",
];

/// How comments look in a file, from its name.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Syntax {
    /// Source code and configuration: any opener in [`COMMENT_OPENERS`] outside quotes,
    /// or `*` (a block-comment continuation) first on the line.
    Code,
    /// Markdown: only `<!-- … -->`, outside inline code.
    Markdown,
    /// reStructuredText: `..` first on the line.
    Rst,
    /// AsciiDoc: `//` first on the line.
    AsciiDoc,
}

impl Syntax {
    fn of(path: &str) -> Syntax {
        let name = path.rsplit(['/', '\\']).next().unwrap_or(path);
        let ext = name
            .rsplit_once('.')
            .map(|(_, e)| e.to_ascii_lowercase())
            .unwrap_or_default();
        match ext.as_str() {
            "md" | "markdown" | "mdx" | "mkd" => Syntax::Markdown,
            "rst" => Syntax::Rst,
            "adoc" | "asciidoc" => Syntax::AsciiDoc,
            _ => Syntax::Code,
        }
    }
}

/// Scans one line left to right, once, remembering whether a comment has opened (outside
/// a string literal) before the current position.
struct LineScanner {
    syntax: Syntax,
    line_start: usize,
    pos: usize,
    /// The first non-blank byte of the line.
    first: Option<usize>,
    quote: Option<u8>,
    escaped: bool,
    in_comment: bool,
}

impl LineScanner {
    fn new(syntax: Syntax, content: &[u8], line_start: usize) -> LineScanner {
        let first = content[line_start..]
            .iter()
            .position(|b| *b == b'\n' || !b.is_ascii_whitespace())
            .map(|i| line_start + i)
            .filter(|&i| content[i] != b'\n');
        LineScanner {
            syntax,
            line_start,
            pos: line_start,
            first,
            quote: None,
            escaped: false,
            in_comment: false,
        }
    }

    /// Whether a comment is open at `to` (advancing from the last position, so the work
    /// over one line is linear however many markers it holds).
    fn comment_open_at(&mut self, content: &[u8], to: usize) -> bool {
        if self.in_comment || to <= self.pos {
            return self.in_comment;
        }
        let first = self.first;
        match self.syntax {
            Syntax::Rst | Syntax::AsciiDoc => {
                let opener: &[u8] = if self.syntax == Syntax::Rst {
                    b".."
                } else {
                    b"//"
                };
                self.in_comment = first.is_some_and(|f| content[f..].starts_with(opener));
                self.pos = to;
                return self.in_comment;
            }
            Syntax::Code | Syntax::Markdown => {}
        }
        while self.pos < to {
            let i = self.pos;
            let b = content[i];
            if let Some(q) = self.quote {
                if self.escaped {
                    self.escaped = false;
                } else if b == b'\\' && self.syntax == Syntax::Code {
                    self.escaped = true;
                } else if b == q {
                    self.quote = None;
                }
                self.pos += 1;
                continue;
            }
            let rest = &content[i..];
            let opens = match self.syntax {
                Syntax::Markdown => rest.starts_with(b"<!--"),
                _ => {
                    COMMENT_OPENERS.iter().any(|o| rest.starts_with(o))
                        || (b == b'*' && first == Some(i))
                }
            };
            if opens {
                self.in_comment = true;
                self.pos = to;
                return true;
            }
            let prev = if i > self.line_start {
                Some(content[i - 1])
            } else {
                None
            };
            self.quote = match (self.syntax, b) {
                (Syntax::Markdown, b'`') => Some(b),
                (Syntax::Code, b'"' | b'`') => Some(b),
                // A `'` opens a literal only at the start of a token (not `don't`,
                // `&'static`, `<'a>`).
                (Syntax::Code, b'\'')
                    if prev
                        .is_none_or(|p| p.is_ascii_whitespace() || b"=([{,:+!?".contains(&p)) =>
                {
                    Some(b)
                }
                _ => None,
            };
            self.pos += 1;
        }
        self.in_comment
    }
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

/// Counts lines incrementally while positions only move forward.
struct LineCounter {
    pos: usize,
    line: usize,
    line_start: usize,
}

impl LineCounter {
    fn new() -> LineCounter {
        LineCounter {
            pos: 0,
            line: 1,
            line_start: 0,
        }
    }

    /// (1-based line, line start) of `pos`, which must not be before the last one asked.
    fn at(&mut self, content: &[u8], pos: usize) -> (usize, usize) {
        let pos = pos.min(content.len()).max(self.pos);
        let slice = &content[self.pos..pos];
        self.line += memchr::memchr_iter(b'\n', slice).count();
        if let Some(i) = memchr::memrchr(b'\n', slice) {
            self.line_start = self.pos + i + 1;
        }
        self.pos = pos;
        (self.line, self.line_start)
    }
}

/// Find every directive in `content`, treating it as source code.
pub fn directives(content: &[u8]) -> Vec<Directive> {
    directives_in("", content)
}

/// Find every directive in `content` of the file at `path` (its extension decides the
/// comment syntax: in Markdown only `<!-- -->` comments hold directives, so examples in
/// documentation are not directives). Linear in the size of `content`.
pub fn directives_in(path: &str, content: &[u8]) -> Vec<Directive> {
    let syntax = Syntax::of(path);
    let mut out = Vec::new();
    let mut lines = LineCounter::new();
    let mut scanner: Option<LineScanner> = None;
    let mut line_end = 0;
    let mut positions = memchr::memmem::find_iter(content, MARKER).peekable();
    while let Some(pos) = positions.next() {
        let (line, line_start) = lines.at(content, pos);
        if scanner.as_ref().is_none_or(|s| s.line_start != line_start) {
            scanner = Some(LineScanner::new(syntax, content, line_start));
            line_end = memchr::memchr(b'\n', &content[pos..]).map_or(content.len(), |i| pos + i);
        }
        let Some(sc) = scanner.as_mut() else { continue };
        if !sc.comment_open_at(content, pos) {
            continue;
        }
        let from = pos + MARKER.len();
        let mut to = line_end.min(from + MAX_DIRECTIVE);
        if let Some(&next) = positions.peek() {
            to = to.min(next.max(from));
        }
        let (rules, reason) = parse_directive(&content[from..to.max(from)]);
        out.push(Directive {
            line,
            rules,
            reason,
            gitleaks: false,
        });
    }
    let mut lines = LineCounter::new();
    let mut last_line = 0;
    for pos in memchr::memmem::find_iter(content, GITLEAKS_MARKER) {
        let (line, _) = lines.at(content, pos);
        if line == last_line {
            continue;
        }
        last_line = line;
        out.push(Directive {
            line,
            rules: vec!["secret/*".into()],
            reason: Some("gitleaks:allow".into()),
            gitleaks: true,
        });
    }
    out
}

/// `[RULE[,RULE…]] [-- reason]` after a marker: rule tokens until the first that does
/// not look like a rule id or glob, a bounded reason with control characters escaped.
fn parse_directive(bytes: &[u8]) -> (Vec<String>, Option<String>) {
    let text = String::from_utf8_lossy(bytes);
    let text = text
        .trim_end()
        .trim_end_matches("-->")
        .trim_end_matches("*/")
        .trim();
    let (rules_part, reason) = match text.split_once("--") {
        Some((r, why)) => (r, Some(why.trim()).filter(|s| !s.is_empty())),
        None => (text, None),
    };
    let is_rule_char = |c: char| c.is_ascii_alphanumeric() || "/_-.*?[]{}!".contains(c);
    let rules = rules_part
        .split([',', ' ', '\t'])
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .take_while(|t| t.len() <= MAX_RULE_LEN && t.chars().all(is_rule_char))
        .take(MAX_RULES)
        .map(str::to_string)
        .collect();
    let reason = reason.map(|r| {
        let mut out = String::new();
        for c in r.chars().take(MAX_REASON) {
            if c.is_control() {
                out.extend(c.escape_default());
            } else {
                out.push(c);
            }
        }
        if r.chars().nth(MAX_REASON).is_some() {
            out.push('…');
        }
        out
    });
    (rules, reason)
}

impl Directive {
    fn applies(&self, finding: &Finding, matchers: &[Option<globset::GlobMatcher>]) -> bool {
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
                || self.rules.iter().zip(matchers).any(|(r, m)| {
                    r == &finding.rule_id
                        || m.as_ref().is_some_and(|m| m.is_match(&finding.rule_id))
                }))
    }
}

/// Apply the directives found in `content` to this file's `findings`. Returns the
/// directives that matched nothing (stale), described for the report: at most
/// [`MAX_STALE_PER_FILE`], then one entry counting the rest.
pub fn apply(content: &[u8], path: &str, findings: &mut [Finding]) -> Vec<StaleIgnore> {
    let dirs = directives_in(path, content);
    if dirs.is_empty() {
        return Vec::new();
    }
    let matchers: Vec<Vec<Option<globset::GlobMatcher>>> = dirs
        .iter()
        .map(|d| d.rules.iter().map(|r| rule_matcher(r)).collect())
        .collect();
    let mut by_line: std::collections::HashMap<usize, Vec<usize>> =
        std::collections::HashMap::new();
    for (i, d) in dirs.iter().enumerate() {
        by_line.entry(d.line).or_default().push(i);
    }
    let mut used = vec![false; dirs.len()];
    for f in findings.iter_mut() {
        let Some(line) = f.location.line() else {
            continue;
        };
        let near = [Some(line), line.checked_sub(1)];
        for l in near.into_iter().flatten() {
            for &i in by_line.get(&l).map(Vec::as_slice).unwrap_or_default() {
                let d = &dirs[i];
                if d.applies(f, &matchers[i]) {
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
    }
    let stale: Vec<&Directive> = dirs
        .iter()
        .zip(used)
        .filter(|(d, used)| !used && !d.gitleaks)
        .map(|(d, _)| d)
        .collect();
    let mut out: Vec<StaleIgnore> = stale
        .iter()
        .take(MAX_STALE_PER_FILE)
        .map(|d| StaleIgnore {
            kind: "inline".into(),
            source: format!("{path}:{}", d.line),
            rule: if d.rules.is_empty() {
                "*".into()
            } else {
                d.rules.join(",")
            },
            message: "inline ignore matched no finding".into(),
        })
        .collect();
    if let Some(first) = stale.get(MAX_STALE_PER_FILE) {
        let more = stale.len() - MAX_STALE_PER_FILE;
        out.push(StaleIgnore {
            kind: "inline".into(),
            source: format!("{path}:{}", first.line),
            rule: "*".into(),
            message: format!(
                "{more} more inline ignores in this file matched no finding (not listed)"
            ),
        });
    }
    out
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

    #[test]
    fn string_literals_and_docs_are_not_directives() {
        for code in [
            "HELP = \"add '# rampart:ignore RULE' to the line\"\n",
            "x = 'a // rampart:ignore'\n",
            "t = `<!-- rampart:ignore -->`\n",
        ] {
            assert!(directives(code.as_bytes()).is_empty(), "{code}");
        }
        assert_eq!(
            directives(b"s: &'static str = f(); // rampart:ignore secret/x\n")[0].rules,
            vec!["secret/x"]
        );
        assert_eq!(directives(b"  * rampart:ignore\n").len(), 1);
        let md = b"```python\nKEY = 1  # rampart:ignore\n```\nSee `# rampart:ignore`.\n<!-- rampart:ignore secret/jwt -->\n";
        let d = directives_in("docs/a.md", md);
        assert_eq!(d.len(), 1);
        assert_eq!(
            (d[0].line, d[0].rules.clone()),
            (5, vec!["secret/jwt".to_string()])
        );
        assert_eq!(
            directives_in("a.rst", b"text rampart:ignore\n.. rampart:ignore\n").len(),
            1
        );
    }

    #[test]
    fn directives_are_bounded_and_escaped() {
        let d = directives(b"# rampart:ignore a b $(rm) -- why\x1b[2J\n");
        assert_eq!(d[0].rules, vec!["a", "b"]);
        assert_eq!(d[0].reason.as_deref(), Some("why\\u{1b}[2J"));
        let long = format!("# rampart:ignore {}\n", "x".repeat(100_000));
        let d = directives(long.as_bytes());
        assert!(d[0].rules.is_empty());
    }

    #[test]
    fn many_markers_on_one_line_are_linear_and_capped() {
        let text = "# rampart:ignore ".repeat(50_000) + "\n";
        let started = std::time::Instant::now();
        let stale = apply(text.as_bytes(), "f", &mut []);
        assert!(started.elapsed() < std::time::Duration::from_secs(2));
        assert_eq!(stale.len(), MAX_STALE_PER_FILE + 1);
        assert!(stale[MAX_STALE_PER_FILE].message.starts_with("49980 more"));
        let gl = "x gitleaks:allow ".repeat(50_000);
        assert_eq!(directives(gl.as_bytes()).len(), 1);
    }
}
