//! A Dockerfile parser: parser directives (`# escape=`, `# syntax=`), comments, line
//! continuations, heredocs (`<<EOF`, `<<-EOF`, quoted delimiters), exec (JSON) and
//! shell forms, instruction flags (`--from=`, `--platform=`, `--mount=`), build-stage
//! names, and `ARG` substitution in `FROM`.
//!
//! The parser never fails: a line it cannot make sense of becomes an instruction with an
//! unknown keyword and a [`Problem`], and parsing goes on. Input is bounded by the caller
//! (file size); every loop advances at least one line.

use serde::Serialize;
use std::collections::BTreeMap;

/// One instruction (a logical line, continuations and heredoc bodies included).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Instruction {
    /// Upper-cased keyword (`RUN`, `FROM` …).
    pub keyword: String,
    /// Flags before the arguments: `--from=build` → (`from`, `build`).
    pub flags: Vec<(String, String)>,
    /// The arguments after the flags, continuations joined (escape + newline removed),
    /// comment lines inside continuations dropped.
    pub args: String,
    /// The exec-form (JSON array) arguments, when the arguments are one.
    pub exec: Option<Vec<String>>,
    /// Heredoc bodies, in order: (delimiter, body).
    pub heredocs: Vec<(String, String)>,
    /// First line (1-based).
    pub line: usize,
    /// Last line (1-based, heredocs included).
    pub end_line: usize,
    /// Index of the build stage it belongs to (`None` before the first `FROM`).
    pub stage: Option<usize>,
}

impl Instruction {
    /// Whether the arguments are in exec (JSON) form.
    pub fn is_exec_form(&self) -> bool {
        self.exec.is_some()
    }

    /// A flag's value.
    pub fn flag(&self, name: &str) -> Option<&str> {
        self.flags
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }

    /// The shell text a `RUN` executes: exec form joined by spaces, shell form as is,
    /// plus heredoc bodies (a `RUN <<EOF` runs its body).
    pub fn shell_text(&self) -> String {
        let mut s = match &self.exec {
            Some(v) => v.join(" "),
            None => self.args.clone(),
        };
        for (_, body) in &self.heredocs {
            s.push('\n');
            s.push_str(body);
        }
        s
    }
}

/// One build stage (from one `FROM` to the next).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Stage {
    /// The image as written (`${BASE}:1.2`).
    pub image_raw: String,
    /// The image with build arguments substituted (`debian:1.2`).
    pub image: String,
    /// `AS name`, lower-cased.
    pub name: Option<String>,
    /// `--platform` value.
    pub platform: Option<String>,
    /// Index of its `FROM` in [`Dockerfile::instructions`].
    pub from_index: usize,
    /// Line of its `FROM`.
    pub line: usize,
}

/// Something the parser could not understand (reported, never fatal).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Problem {
    /// Line (1-based).
    pub line: usize,
    /// What is wrong.
    pub message: String,
}

/// A parsed Dockerfile.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Default)]
pub struct Dockerfile {
    /// The escape character (`\` unless `# escape=` says otherwise).
    pub escape: char,
    /// Parser directives (`syntax`, `escape`, `check`), lower-cased keys.
    pub directives: BTreeMap<String, String>,
    /// Every instruction in order.
    pub instructions: Vec<Instruction>,
    /// Build stages in order.
    pub stages: Vec<Stage>,
    /// Lines the parser could not understand.
    pub problems: Vec<Problem>,
}

/// Every keyword Docker knows.
pub const KEYWORDS: &[&str] = &[
    "ADD",
    "ARG",
    "CMD",
    "COPY",
    "ENTRYPOINT",
    "ENV",
    "EXPOSE",
    "FROM",
    "HEALTHCHECK",
    "LABEL",
    "MAINTAINER",
    "ONBUILD",
    "RUN",
    "SHELL",
    "STOPSIGNAL",
    "USER",
    "VOLUME",
    "WORKDIR",
];

/// Most heredocs per instruction (bounds work on hostile input).
const MAX_HEREDOCS: usize = 16;

/// Parse a Dockerfile. Never fails; see [`Dockerfile::problems`].
pub fn parse(text: &str) -> Dockerfile {
    let lines: Vec<&str> = text.lines().collect();
    let mut df = Dockerfile {
        escape: '\\',
        ..Dockerfile::default()
    };
    let mut i = 0;
    // Parser directives: `# key=value` lines at the very top.
    while i < lines.len() {
        let l = lines[i].trim();
        let Some(rest) = l.strip_prefix('#') else {
            break;
        };
        let Some((k, v)) = rest.split_once('=') else {
            break;
        };
        let k = k.trim().to_ascii_lowercase();
        if k.is_empty() || k.contains(char::is_whitespace) || df.directives.contains_key(&k) {
            break;
        }
        let v = v.trim().to_string();
        if k == "escape" {
            match v.as_str() {
                "`" => df.escape = '`',
                "\\" => df.escape = '\\',
                _ => df.problems.push(Problem {
                    line: i + 1,
                    message: format!("invalid escape directive `{v}` (use \\ or `)"),
                }),
            }
        }
        df.directives.insert(k, v);
        i += 1;
    }
    let esc = df.escape;
    let mut stage: Option<usize> = None;
    // `ARG`s before the first `FROM`, collected once at that `FROM` (once per `FROM`
    // was quadratic in a file of many `ARG`s and `FROM`s).
    let mut globals: Option<BTreeMap<String, String>> = None;
    while i < lines.len() {
        let first = lines[i];
        let t = first.trim_start();
        if t.is_empty() || t.starts_with('#') {
            i += 1;
            continue;
        }
        let start = i;
        // Join continuation lines.
        let mut logical = String::new();
        let mut cur = first;
        loop {
            let trimmed = cur.trim_end();
            if let Some(body) = trimmed.strip_suffix(esc) {
                logical.push_str(body);
                i += 1;
                // Skip comment lines and empty lines inside a continuation.
                while i < lines.len() {
                    let n = lines[i].trim_start();
                    if n.starts_with('#') || n.is_empty() {
                        i += 1;
                    } else {
                        break;
                    }
                }
                if i >= lines.len() {
                    break;
                }
                cur = lines[i];
            } else {
                logical.push_str(cur);
                i += 1;
                break;
            }
        }
        let end_of_logical = i; // index of the next line
        let logical = logical.trim();
        let (kw, rest) = match logical.find(char::is_whitespace) {
            Some(p) => (&logical[..p], logical[p..].trim_start()),
            None => (logical, ""),
        };
        let keyword = kw.to_ascii_uppercase();
        if !KEYWORDS.contains(&keyword.as_str()) {
            df.problems.push(Problem {
                line: start + 1,
                message: format!("unknown instruction `{kw}`"),
            });
        }
        let (flags, args) = split_flags(rest);
        // Heredocs: `<<EOF`, `<<-EOF`, `<<"EOF"`, `<<'EOF'` in RUN/COPY/ADD shell form.
        let mut heredocs = Vec::new();
        let mut next = end_of_logical;
        if matches!(keyword.as_str(), "RUN" | "COPY" | "ADD") && !args.starts_with('[') {
            for (delim, strip_tabs) in heredoc_markers(&args).into_iter().take(MAX_HEREDOCS) {
                let mut body = String::new();
                let mut closed = false;
                while next < lines.len() {
                    let l = lines[next];
                    next += 1;
                    let cmp = if strip_tabs {
                        l.trim_start_matches('\t')
                    } else {
                        l
                    };
                    if cmp == delim {
                        closed = true;
                        break;
                    }
                    body.push_str(if strip_tabs { cmp } else { l });
                    body.push('\n');
                }
                if !closed {
                    df.problems.push(Problem {
                        line: start + 1,
                        message: format!("heredoc `{delim}` is not terminated"),
                    });
                }
                heredocs.push((delim, body));
            }
        }
        i = next;
        let exec = if args.starts_with('[') {
            serde_json::from_str::<Vec<String>>(&args).ok()
        } else {
            None
        };
        if keyword == "FROM" {
            let idx = df.stages.len();
            stage = Some(idx);
            let words: Vec<&str> = args.split_whitespace().collect();
            let image_raw = words.first().copied().unwrap_or("").to_string();
            let name = match words.as_slice() {
                [_, as_kw, name, ..] if as_kw.eq_ignore_ascii_case("as") => {
                    Some(name.to_ascii_lowercase())
                }
                _ => None,
            };
            if image_raw.is_empty() {
                df.problems.push(Problem {
                    line: start + 1,
                    message: "FROM without an image".into(),
                });
            }
            let global_args = globals.get_or_insert_with(|| global_args(&df.instructions));
            df.stages.push(Stage {
                image: substitute(&image_raw, global_args),
                image_raw,
                name,
                platform: flags
                    .iter()
                    .find(|(k, _)| k == "platform")
                    .map(|(_, v)| v.clone()),
                from_index: df.instructions.len(),
                line: start + 1,
            });
        }
        df.instructions.push(Instruction {
            keyword,
            flags,
            args,
            exec,
            heredocs,
            line: start + 1,
            end_line: i.max(start + 1),
            stage,
        });
    }
    df
}

/// `--from=build --chown=a:b src dst` → flags, `src dst`.
fn split_flags(rest: &str) -> (Vec<(String, String)>, String) {
    let mut flags = Vec::new();
    let mut r = rest.trim_start();
    while let Some(f) = r.strip_prefix("--") {
        let end = f.find(char::is_whitespace).unwrap_or(f.len());
        let word = &f[..end];
        if word.is_empty() {
            break;
        }
        let (k, v) = word.split_once('=').unwrap_or((word, ""));
        flags.push((k.to_ascii_lowercase(), v.to_string()));
        r = f[end..].trim_start();
    }
    (flags, r.to_string())
}

/// The heredoc delimiters opened on an instruction line, with their `-` (strip tabs) flag.
fn heredoc_markers(args: &str) -> Vec<(String, bool)> {
    let mut out = Vec::new();
    let b = args.as_bytes();
    let mut i = 0;
    while i + 2 < b.len() {
        if b[i] == b'<' && b[i + 1] == b'<' && (i == 0 || b[i - 1] != b'<') {
            let mut j = i + 2;
            if j < b.len() && b[j] == b'<' {
                // `<<<` is a here-string, not a heredoc.
                i += 3;
                continue;
            }
            let strip = j < b.len() && b[j] == b'-';
            if strip {
                j += 1;
            }
            let quote = if j < b.len() && (b[j] == b'"' || b[j] == b'\'') {
                let q = b[j];
                j += 1;
                Some(q)
            } else {
                None
            };
            let s = j;
            while j < b.len() && (b[j].is_ascii_alphanumeric() || b[j] == b'_') {
                j += 1;
            }
            if j > s {
                let word = &args[s..j];
                if quote.is_some() && j < b.len() && Some(b[j]) == quote {
                    j += 1;
                }
                out.push((word.to_string(), strip));
            }
            i = j.max(i + 2);
        } else {
            i += 1;
        }
    }
    out
}

/// `ARG` defaults declared before the first `FROM`.
fn global_args(before_from: &[Instruction]) -> BTreeMap<String, String> {
    let mut m = BTreeMap::new();
    for ins in before_from.iter().filter(|i| i.stage.is_none()) {
        if ins.keyword != "ARG" {
            continue;
        }
        for w in ins.args.split_whitespace() {
            match w.split_once('=') {
                Some((k, v)) => {
                    m.insert(k.to_string(), unquote(v).to_string());
                }
                None => {
                    m.entry(w.to_string()).or_insert_with(String::new);
                }
            }
        }
    }
    m
}

/// Strip one level of matching quotes.
pub fn unquote(v: &str) -> &str {
    let b = v.as_bytes();
    if b.len() >= 2 && (b[0] == b'"' || b[0] == b'\'') && b[b.len() - 1] == b[0] {
        &v[1..v.len() - 1]
    } else {
        v
    }
}

/// Substitute `$VAR`, `${VAR}`, `${VAR:-default}` and `${VAR:+alt}` from `vars`
/// (unset variables become empty, as in Docker; `${VAR:-x}` uses `x` when unset or empty).
pub fn substitute(s: &str, vars: &BTreeMap<String, String>) -> String {
    let mut out = String::new();
    let chars: Vec<char> = s.chars().collect();
    let mut i = 0;
    while i < chars.len() {
        let c = chars[i];
        if c != '$' || i + 1 >= chars.len() {
            out.push(c);
            i += 1;
            continue;
        }
        if chars[i + 1] == '{' {
            let Some(close) = chars[i + 2..].iter().position(|&c| c == '}') else {
                out.extend(&chars[i..]);
                break;
            };
            let inner: String = chars[i + 2..i + 2 + close].iter().collect();
            let (name, op, word) = if let Some((n, w)) = inner.split_once(":-") {
                (n, "-", w)
            } else if let Some((n, w)) = inner.split_once(":+") {
                (n, "+", w)
            } else {
                (inner.as_str(), "", "")
            };
            let val = vars.get(name).map(String::as_str).unwrap_or("");
            match op {
                "-" if val.is_empty() => out.push_str(word),
                "+" if !val.is_empty() => out.push_str(word),
                "+" => {}
                _ => out.push_str(val),
            }
            i += 3 + close;
        } else {
            let mut j = i + 1;
            while j < chars.len() && (chars[j].is_ascii_alphanumeric() || chars[j] == '_') {
                j += 1;
            }
            if j == i + 1 {
                out.push('$');
                i += 1;
                continue;
            }
            let name: String = chars[i + 1..j].iter().collect();
            out.push_str(vars.get(&name).map(String::as_str).unwrap_or(""));
            i = j;
        }
    }
    out
}

/// Split `ENV`/`ARG`/`LABEL` arguments into key/value pairs: `K=V K2="a b"` or the
/// legacy `ENV K value with spaces`.
pub fn key_values(keyword: &str, args: &str) -> Vec<(String, Option<String>)> {
    let words = shell_words(args);
    if keyword == "ENV" && !words.is_empty() && !words[0].contains('=') {
        let mut it = args.trim().splitn(2, char::is_whitespace);
        let k = it.next().unwrap_or("").to_string();
        let v = it.next().map(|v| v.trim().to_string());
        return vec![(k, v)];
    }
    words
        .into_iter()
        .map(|w| match w.split_once('=') {
            Some((k, v)) => (k.to_string(), Some(v.to_string())),
            None => (w, None),
        })
        .collect()
}

/// Split on unquoted whitespace, removing quotes (enough for `K="a b"` pairs and
/// shell commands; no expansion).
pub fn shell_words(s: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut cur = String::new();
    let mut has = false;
    let mut quote: Option<char> = None;
    let mut chars = s.chars().peekable();
    while let Some(c) = chars.next() {
        match quote {
            Some(q) if c == q => quote = None,
            Some('"') if c == '\\' => {
                if let Some(n) = chars.next() {
                    cur.push(n);
                }
            }
            Some(_) => cur.push(c),
            None => match c {
                '"' | '\'' => {
                    quote = Some(c);
                    has = true;
                }
                '\\' => {
                    if let Some(n) = chars.next() {
                        cur.push(n);
                        has = true;
                    }
                }
                c if c.is_whitespace() => {
                    if has || !cur.is_empty() {
                        out.push(std::mem::take(&mut cur));
                        has = false;
                    }
                }
                _ => {
                    cur.push(c);
                    has = true;
                }
            },
        }
    }
    if has || !cur.is_empty() {
        out.push(cur);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn continuations_comments_and_lines() {
        let df = parse(
            "# syntax=docker/dockerfile:1\nFROM debian:12 AS base\n\n# comment\nRUN apt-get update && \\\n    # inner comment\n    apt-get install -y curl\nUSER app\n",
        );
        assert_eq!(
            df.directives.get("syntax").map(String::as_str),
            Some("docker/dockerfile:1")
        );
        assert_eq!(df.instructions.len(), 3);
        let run = &df.instructions[1];
        assert_eq!(run.keyword, "RUN");
        assert_eq!((run.line, run.end_line), (5, 7));
        assert_eq!(run.args, "apt-get update &&     apt-get install -y curl");
        assert_eq!(df.instructions[2].line, 8);
        assert_eq!(df.stages[0].name.as_deref(), Some("base"));
    }

    #[test]
    fn escape_directive() {
        let df = parse(
            "# escape=`\nFROM mcr.microsoft.com/windows:ltsc2022\nRUN dir `\n  c:\\\nUSER x\n",
        );
        assert_eq!(df.escape, '`');
        assert_eq!(df.instructions[1].args, "dir   c:\\");
        assert_eq!(df.instructions[2].line, 5);
    }

    #[test]
    fn heredocs() {
        let df = parse("FROM alpine:3\nRUN <<EOF\napk add curl\nEOF\nCOPY <<-'A' <<B /x\n\thello\nA\nworld\nB\nUSER 1000\n");
        let run = &df.instructions[1];
        assert_eq!(
            run.heredocs,
            vec![("EOF".to_string(), "apk add curl\n".to_string())]
        );
        assert_eq!((run.line, run.end_line), (2, 4));
        let copy = &df.instructions[2];
        assert_eq!(copy.heredocs.len(), 2);
        assert_eq!(copy.heredocs[0].1, "hello\n");
        assert_eq!(copy.heredocs[1].1, "world\n");
        assert_eq!(df.instructions[3].line, 10);
    }

    #[test]
    fn exec_form_and_flags() {
        let df = parse("FROM --platform=linux/amd64 golang:1.22 AS build\nCOPY --from=build --chown=1:1 /a /b\nCMD [\"/app\", \"--x\"]\nCMD [bad json\n");
        assert_eq!(df.stages[0].platform.as_deref(), Some("linux/amd64"));
        assert_eq!(df.instructions[1].flag("from"), Some("build"));
        assert_eq!(df.instructions[1].args, "/a /b");
        assert_eq!(
            df.instructions[2].exec,
            Some(vec!["/app".into(), "--x".into()])
        );
        assert_eq!(df.instructions[3].exec, None);
    }

    #[test]
    fn arg_substitution_in_from() {
        let df = parse("ARG BASE=debian\nARG TAG\nARG REG=\"docker.io\"\nFROM ${REG}/${BASE}:${TAG:-12}\nFROM $BASE\n");
        assert_eq!(df.stages[0].image, "docker.io/debian:12");
        assert_eq!(df.stages[0].image_raw, "${REG}/${BASE}:${TAG:-12}");
        assert_eq!(df.stages[1].image, "debian");
    }

    #[test]
    fn key_values_forms() {
        assert_eq!(
            key_values("ENV", "A=1 B=\"two words\""),
            vec![
                ("A".into(), Some("1".into())),
                ("B".into(), Some("two words".into()))
            ]
        );
        assert_eq!(
            key_values("ENV", "PATH /usr/bin:/bin"),
            vec![("PATH".into(), Some("/usr/bin:/bin".into()))]
        );
        assert_eq!(key_values("ARG", "VERSION"), vec![("VERSION".into(), None)]);
    }

    #[test]
    fn garbage_is_reported_not_fatal() {
        let df = parse("FORM debian\nRUN x \\");
        assert_eq!(df.problems.len(), 1);
        assert_eq!(df.instructions.len(), 2);
        let df = parse("RUN <<EOF\nnever closed\n");
        assert_eq!(df.problems.len(), 1);
    }
}
