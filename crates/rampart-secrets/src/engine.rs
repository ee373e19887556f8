//! The matcher. For each buffer:
//! 1. one pass of a keyword DFA (ASCII case-insensitive) over every rule's keywords;
//! 2. each rule whose keyword occurred runs its regex only on windows around the hits
//!    (the hit's line plus one line either side, or 64 KiB either side for multi-line
//!    rules),
//!    merged so no byte is searched twice per rule;
//! 3. entropy, digit requirement, placeholders and allowlists filter the candidates last.

use crate::entropy::shannon;
use crate::placeholder::is_placeholder;
use crate::rules::{Allowlist, Candidate, CompiledRule, RuleSet};
use aho_corasick::{AhoCorasick, AhoCorasickKind, MatchKind};
use regex_automata::hybrid;
use regex_automata::Input;

/// How far a multi-line rule searches past its keyword hit.
const MULTILINE_WINDOW: usize = 64 * 1024;

/// One match of one rule, before it becomes a finding.
#[derive(Debug, Clone, PartialEq)]
pub struct RawMatch {
    /// Index of the rule in [`Engine::rules`].
    pub rule: usize,
    /// Byte range of the secret.
    pub start: usize,
    /// End of the secret (exclusive).
    pub end: usize,
    /// Byte range of the whole regex match.
    pub match_start: usize,
    /// End of the whole match (exclusive).
    pub match_end: usize,
    /// Shannon entropy of the secret.
    pub entropy: f64,
}

/// Compiled rules plus the keyword automaton.
#[derive(Debug)]
pub struct Engine {
    rules: Vec<CompiledRule>,
    global: Vec<Allowlist>,
    keywords: Option<Keywords>,
    /// Keyword pattern index → rules that use it.
    kw_rules: Vec<Vec<usize>>,
    /// Rules without keywords: run on every buffer.
    always: Vec<usize>,
}

impl Engine {
    /// Build the engine.
    pub fn new(set: RuleSet) -> Result<Engine, aho_corasick::BuildError> {
        let mut keywords: Vec<String> = Vec::new();
        let mut kw_rules: Vec<Vec<usize>> = Vec::new();
        let mut index = std::collections::HashMap::new();
        let mut always = Vec::new();
        for (i, r) in set.rules.iter().enumerate() {
            if r.keywords.is_empty() {
                always.push(i);
                continue;
            }
            for k in &r.keywords {
                let id = *index.entry(k.clone()).or_insert_with(|| {
                    keywords.push(k.clone());
                    kw_rules.push(Vec::new());
                    keywords.len() - 1
                });
                if !kw_rules[id].contains(&i) {
                    kw_rules[id].push(i);
                }
            }
        }
        // The automaton reports leftmost-longest, non-overlapping hits (much faster than
        // overlapping search); a keyword contained in a longer one that hit is implied by it.
        let direct = kw_rules.clone();
        for (i, outer) in keywords.iter().enumerate() {
            for (j, inner) in keywords.iter().enumerate() {
                if i != j && outer.contains(inner.as_str()) {
                    for &r in &direct[j] {
                        if !kw_rules[i].contains(&r) {
                            kw_rules[i].push(r);
                        }
                    }
                }
            }
        }
        let matcher = if keywords.is_empty() {
            None
        } else {
            Some(Keywords::new(&keywords)?)
        };
        Ok(Engine {
            rules: set.rules,
            global: set.global_allowlists,
            keywords: matcher,
            kw_rules,
            always,
        })
    }

    /// The rules, indexed by [`RawMatch::rule`].
    pub fn rules(&self) -> &[CompiledRule] {
        &self.rules
    }

    /// Scan one buffer. `path` feeds path filters and allowlists; `commit` feeds commit
    /// allowlists in history scans.
    pub fn scan(&self, path: &str, content: &[u8], commit: Option<&str>) -> Vec<RawMatch> {
        let mut windows: Vec<Vec<(usize, usize)>> = vec![Vec::new(); self.rules.len()];
        if let Some(kw) = &self.keywords {
            let mut lines = LineCache::default();
            kw.for_each(content, |pattern, start, end| {
                let mut single = None;
                let mut multi = None;
                for &ri in &self.kw_rules[pattern] {
                    let (ws, we) = if self.rules[ri].multiline {
                        *multi.get_or_insert_with(|| window(content, start, end, true))
                    } else {
                        *single.get_or_insert_with(|| lines.window(content, start, end))
                    };
                    push_window(&mut windows[ri], ws, we);
                }
            });
        }
        for &ri in &self.always {
            windows[ri].push((0, content.len()));
        }
        let mut out = Vec::new();
        for (ri, ws) in windows.iter().enumerate() {
            if ws.is_empty() {
                continue;
            }
            let rule = &self.rules[ri];
            if let Some(p) = &rule.path {
                if !p.is_match(path.as_bytes()) {
                    continue;
                }
            }
            let Some(re) = &rule.regex else {
                continue;
            };
            for &(ws, we) in ws {
                let hay = &content[ws..we];
                for caps in re.captures_iter(hay) {
                    let Some(full) = caps.get(0) else { continue };
                    let secret = match rule.secret_group {
                        Some(g) => caps.get(g),
                        None => (1..caps.len())
                            .filter_map(|g| caps.get(g))
                            .find(|m| !m.is_empty())
                            .or(Some(full)),
                    };
                    let Some(secret) = secret else { continue };
                    let cand = RawMatch {
                        rule: ri,
                        start: ws + secret.start(),
                        end: ws + secret.end(),
                        match_start: ws + full.start(),
                        match_end: ws + full.end(),
                        entropy: shannon(secret.as_bytes()),
                    };
                    if self.keep(rule, &cand, content, path, commit) {
                        out.push(cand);
                    }
                }
            }
        }
        // Path-only rules (gitleaks allows a rule with `path` and no regex).
        for (ri, rule) in self.rules.iter().enumerate() {
            if rule.regex.is_none() {
                if let Some(p) = &rule.path {
                    if p.is_match(path.as_bytes()) {
                        out.push(RawMatch {
                            rule: ri,
                            start: 0,
                            end: 0,
                            match_start: 0,
                            match_end: 0,
                            entropy: 0.0,
                        });
                    }
                }
            }
        }
        out.sort_by_key(|m| (m.start, m.end, m.rule));
        out.dedup_by(|a, b| a.rule == b.rule && a.start == b.start && a.end == b.end);
        out
    }

    fn keep(
        &self,
        rule: &CompiledRule,
        m: &RawMatch,
        content: &[u8],
        path: &str,
        commit: Option<&str>,
    ) -> bool {
        let secret = &content[m.start..m.end];
        if secret.is_empty() {
            return false;
        }
        if let Some(min) = rule.entropy {
            if m.entropy <= min {
                return false;
            }
        }
        if rule.require_digit && !secret.iter().any(u8::is_ascii_digit) {
            return false;
        }
        if rule.placeholders && is_placeholder(secret) {
            return false;
        }
        let line_start = memchr::memrchr(b'\n', &content[..m.match_start]).map_or(0, |i| i + 1);
        let line_end = memchr::memchr(b'\n', &content[m.match_end..])
            .map_or(content.len(), |i| m.match_end + i);
        let cand = Candidate {
            secret,
            full: &content[m.match_start..m.match_end],
            line: &content[line_start..line_end],
            path,
            commit,
        };
        !rule.allowlists.iter().any(|a| a.allows(&cand))
            && !self.global.iter().any(|a| a.allows(&cand))
    }
}

/// The keyword prefilter: a lazy DFA over every keyword (ASCII case-insensitive,
/// leftmost-first with longer keywords first). Its states are built on demand and cached
/// per thread, and its search loop runs about twice as fast as an Aho-Corasick automaton;
/// Aho-Corasick is the fallback if the DFA cannot be built.
#[derive(Debug)]
enum Keywords {
    Dfa {
        dfa: Box<hybrid::dfa::DFA>,
        /// Lazy-DFA caches, one per concurrent search (taken and returned per buffer).
        caches: std::sync::Mutex<Vec<hybrid::dfa::Cache>>,
        /// DFA pattern index → (keyword index, keyword length).
        patterns: Vec<(usize, usize)>,
        fallback: AhoCorasick,
    },
    Ac(AhoCorasick),
}

impl Keywords {
    fn new(keywords: &[String]) -> Result<Keywords, aho_corasick::BuildError> {
        let ac = AhoCorasick::builder()
            .ascii_case_insensitive(true)
            .match_kind(MatchKind::LeftmostLongest)
            .kind(Some(AhoCorasickKind::DFA))
            .build(keywords)
            .or_else(|_| {
                AhoCorasick::builder()
                    .ascii_case_insensitive(true)
                    .match_kind(MatchKind::LeftmostLongest)
                    .build(keywords)
            })?;
        let mut order: Vec<usize> = (0..keywords.len()).collect();
        order.sort_by_key(|&i| std::cmp::Reverse(keywords[i].len()));
        let pats: Vec<String> = order
            .iter()
            .map(|&i| regex_syntax::escape(&keywords[i]))
            .collect();
        let built = hybrid::dfa::DFA::builder()
            .configure(
                hybrid::dfa::DFA::config()
                    .match_kind(regex_automata::MatchKind::LeftmostFirst)
                    .cache_capacity(8 << 20),
            )
            .syntax(
                regex_automata::util::syntax::Config::new()
                    .case_insensitive(true)
                    .unicode(false)
                    .utf8(false),
            )
            .build_many(&pats);
        Ok(match built {
            Ok(dfa) => Keywords::Dfa {
                dfa: Box::new(dfa),
                caches: std::sync::Mutex::new(Vec::new()),
                patterns: order.iter().map(|&i| (i, keywords[i].len())).collect(),
                fallback: ac,
            },
            Err(_) => Keywords::Ac(ac),
        })
    }

    /// Call `f(keyword index, start, end)` for each non-overlapping hit.
    fn for_each(&self, content: &[u8], mut f: impl FnMut(usize, usize, usize)) {
        let ac_all = |ac: &AhoCorasick, from: usize, f: &mut dyn FnMut(usize, usize, usize)| {
            for m in ac.find_iter(&content[from..]) {
                f(m.pattern().as_usize(), from + m.start(), from + m.end());
            }
        };
        match self {
            Keywords::Ac(ac) => ac_all(ac, 0, &mut f),
            Keywords::Dfa {
                dfa,
                caches,
                patterns,
                fallback,
            } => {
                let mut cache = caches
                    .lock()
                    .ok()
                    .and_then(|mut c| c.pop())
                    .unwrap_or_else(|| dfa.create_cache());
                let mut input = Input::new(content);
                loop {
                    match dfa.try_search_fwd(&mut cache, &input) {
                        Ok(Some(hm)) => {
                            let (kw, len) = patterns[hm.pattern().as_usize()];
                            let end = hm.offset();
                            f(kw, end.saturating_sub(len), end);
                            if end >= content.len() || end <= input.start() {
                                break;
                            }
                            input.set_start(end);
                        }
                        Ok(None) => break,
                        Err(_) => {
                            // Cannot happen without quit bytes; stay correct anyway.
                            ac_all(fallback, input.start(), &mut f);
                            break;
                        }
                    }
                }
                if let Ok(mut c) = caches.lock() {
                    c.push(cache);
                }
            }
        }
    }
}

/// The search window around a keyword hit at `start..end`.
fn window(content: &[u8], start: usize, end: usize, multiline: bool) -> (usize, usize) {
    let line_start = memchr::memrchr(b'\n', &content[..start]).map_or(0, |i| i + 1);
    if multiline {
        // Either side: a multi-line match may also end at the keyword (gitleaks'
        // `kubernetes-secret-yaml` matches `data: … kind: Secret`).
        let back = start.saturating_sub(MULTILINE_WINDOW);
        let from = memchr::memrchr(b'\n', &content[..back]).map_or(0, |i| i + 1);
        return (from, (end + MULTILINE_WINDOW).min(content.len()));
    }
    let prev_start = if line_start == 0 {
        0
    } else {
        memchr::memrchr(b'\n', &content[..line_start - 1]).map_or(0, |i| i + 1)
    };
    let line_end = memchr::memchr(b'\n', &content[end..]).map_or(content.len(), |i| end + i);
    let next_end = if line_end >= content.len() {
        content.len()
    } else {
        memchr::memchr(b'\n', &content[line_end + 1..]).map_or(content.len(), |i| line_end + 1 + i)
    };
    (prev_start, next_end)
}

/// The last single-line window computed: hits on the same line (common on minified files
/// with megabyte-long lines) reuse it instead of scanning the line again.
#[derive(Default)]
struct LineCache {
    /// (line start, line end, window start, window end)
    last: Option<(usize, usize, usize, usize)>,
}

impl LineCache {
    fn window(&mut self, content: &[u8], start: usize, end: usize) -> (usize, usize) {
        if let Some((ls, le, ws, we)) = self.last {
            if start >= ls && end <= le {
                return (ws, we);
            }
        }
        let (ws, we) = window(content, start, end, false);
        let ls = memchr::memrchr(b'\n', &content[ws..start]).map_or(ws, |i| ws + i + 1);
        let le = memchr::memchr(b'\n', &content[end..we]).map_or(we, |i| end + i);
        self.last = Some((ls, le, ws, we));
        (ws, we)
    }
}

fn push_window(ws: &mut Vec<(usize, usize)>, start: usize, end: usize) {
    if let Some(last) = ws.last_mut() {
        if start <= last.1 {
            last.1 = last.1.max(end);
            return;
        }
    }
    ws.push((start, end));
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::rules::load_yaml;

    const RULES: &str = r#"
provider: Test
rules:
  - id: secret/test-token
    title: Test token
    severity: high
    description: d
    remediation: r
    keywords: [tst_]
    pattern: '\b(tst_[a-z0-9]{16})\b'
    entropy: 2.5
    allowlist:
      stopwords: [fake]
"#;

    fn engine() -> Engine {
        let rules = load_yaml(RULES, "test.yaml").unwrap();
        Engine::new(RuleSet {
            rules,
            global_allowlists: vec![],
        })
        .unwrap()
    }

    #[test]
    fn finds_only_around_keywords_and_filters() {
        let e = engine();
        let text = b"line one\nTOKEN=tst_a1b2c3d4e5f6g7h8\nother\n";
        let m = e.scan("x", text, None);
        assert_eq!(m.len(), 1);
        assert_eq!(&text[m[0].start..m[0].end], b"tst_a1b2c3d4e5f6g7h8");
        assert!(
            e.scan("x", b"tst_aaaaaaaaaaaaaaaa", None).is_empty(),
            "low entropy"
        );
        assert!(
            e.scan("x", b"tst_fakea1b2c3d4e5f6", None).is_empty(),
            "stopword"
        );
        assert!(e.scan("x", b"nothing here", None).is_empty());
    }

    #[test]
    fn windows_merge() {
        let mut ws = Vec::new();
        push_window(&mut ws, 0, 10);
        push_window(&mut ws, 5, 20);
        push_window(&mut ws, 30, 40);
        assert_eq!(ws, vec![(0, 20), (30, 40)]);
        let c = b"a\nb\nc key\nd\ne";
        assert_eq!(window(c, 6, 9, false), (2, 11));
    }

    #[test]
    fn many_hits_on_one_long_line() {
        let e = engine();
        let mut text = "tst_ ".repeat(20_000);
        text.push_str("tst_a1b2c3d4e5f6g7h8");
        assert_eq!(e.scan("x", text.as_bytes(), None).len(), 1);
    }
}
