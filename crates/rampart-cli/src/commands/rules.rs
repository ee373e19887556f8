//! `rampart rules list|explain|check`.

use crate::args::RulesCmd;
use crate::commands::scan::load_rules;
use crate::exit;
use anyhow::{bail, Result};
use rampart_core::{Registry, RuleMeta};
use rampart_secrets::{ScanOptions, SecretScanner};
use std::fmt::Write as _;
use std::path::PathBuf;

/// `rules check --rules` checks only the given files; list and explain add them.
fn scanner(rules: &[PathBuf], with_builtin: bool) -> Result<SecretScanner> {
    Ok(SecretScanner::new(
        load_rules(rules, &[], with_builtin)?,
        ScanOptions::default(),
    )?)
}

fn registry(rules: &[PathBuf], with_builtin: bool) -> Result<(Registry, SecretScanner)> {
    let s = scanner(rules, with_builtin)?;
    let mut reg = Registry::new();
    reg.extend(s.metas()).map_err(anyhow::Error::msg)?;
    reg.extend(rampart_runtime::builtin_rule_metas()?)
        .map_err(anyhow::Error::msg)?;
    for metas in [
        crate::commands::k8s::metas(),
        rampart_iac::metas(),
        rampart_image::metas(),
        rampart_admission::metas(),
        rampart_sca::license::metas(),
    ] {
        reg.extend(metas).map_err(anyhow::Error::msg)?;
    }
    Ok((reg, s))
}

/// Every rule id Rampart knows (built-in rules of every area plus the secret rule
/// files `rules`), for checking `--skip-rule`, `disable:` and `severity:` patterns.
pub fn known_rule_ids(rules: &[PathBuf]) -> Result<Vec<String>> {
    // The secret rules' metadata only: no scanner (its automaton) is built.
    let set = load_rules(rules, &[], true)?;
    let mut ids: Vec<String> = set.metas().map(|m| m.id.clone()).collect();
    for metas in [
        rampart_runtime::builtin_rule_metas()?,
        crate::commands::k8s::metas(),
        rampart_iac::metas(),
        rampart_image::metas(),
        rampart_admission::metas(),
        rampart_sca::license::metas(),
    ] {
        ids.extend(metas.into_iter().map(|m| m.id));
    }
    Ok(ids)
}

/// Run a rules subcommand.
pub fn run(cmd: RulesCmd) -> Result<u8> {
    match cmd {
        RulesCmd::List {
            area,
            format,
            rules,
        } => {
            let (reg, _) = registry(&rules, true)?;
            if let Some(a) = area.as_deref() {
                let mut areas: Vec<&str> = reg.iter().map(|r| r.area.as_str()).collect();
                areas.push("vuln");
                areas.sort_unstable();
                areas.dedup();
                if a == "vuln" {
                    bail!(
                        "`vuln` rules are the advisories of the vulnerability database: \
                         `rampart rules explain vuln/<ID>` shows one"
                    );
                }
                if !areas.contains(&a) {
                    bail!("--area: unknown area `{a}` (areas: {})", areas.join(", "));
                }
            }
            let list: Vec<&RuleMeta> = reg
                .iter()
                .filter(|r| area.as_deref().is_none_or(|a| r.area == a))
                .collect();
            let text = match format.as_str() {
                "json" => serde_json::to_string_pretty(&list)?,
                "table" => {
                    let w = list.iter().map(|r| r.id.len()).max().unwrap_or(0);
                    let mut s = String::new();
                    for r in &list {
                        let _ =
                            writeln!(s, "{:<w$}  {:<8}  {}", r.id, r.severity.as_str(), r.title);
                    }
                    let _ = write!(
                        s,
                        "{}",
                        rampart_report::count(list.len() as u64, "rule", "rules")
                    );
                    s
                }
                other => bail!("--format: unknown `{other}` (expected table or json)"),
            };
            crate::stdout(&text)?;
            Ok(exit::CLEAN)
        }
        RulesCmd::Explain {
            id,
            db,
            format,
            rules,
        } => {
            let (reg, scanner) = registry(&rules, true)?;
            let Some(meta) = reg.get(&id) else {
                return explain_other(&reg, &id, &db, &format);
            };
            let compiled = scanner.engine().rules().iter().find(|r| r.meta.id == id);
            let text = match format.as_str() {
                "json" => {
                    let mut v = serde_json::to_value(meta)?;
                    if let (Some(c), Some(obj)) = (compiled, v.as_object_mut()) {
                        obj.insert("keywords".into(), serde_json::json!(c.keywords));
                        obj.insert(
                            "pattern".into(),
                            serde_json::json!(c.regex.as_ref().map(|r| r.as_str())),
                        );
                        obj.insert("entropy".into(), serde_json::json!(c.entropy));
                        obj.insert("source".into(), serde_json::json!(c.source));
                    }
                    serde_json::to_string_pretty(&v)?
                }
                "text" => explain_text(meta, compiled),
                other => bail!("--format: unknown `{other}` (expected text or json)"),
            };
            crate::stdout(&text)?;
            Ok(exit::CLEAN)
        }
        RulesCmd::Check { rules } => {
            let (reg, scanner) = registry(&rules, rules.is_empty())?;
            let problems = reg.problems();
            let (n, failures) = rampart_secrets::check::check(scanner.engine());
            let mut out = String::new();
            for p in &problems {
                let _ = writeln!(out, "problem: {p}");
            }
            for f in &failures {
                let _ = writeln!(
                    out,
                    "{}: {} ({}): {:?}",
                    f.kind, f.rule, f.source, f.example
                );
            }
            let _ = write!(
                out,
                "{} rules, {n} examples checked, {} failed, {} metadata problems",
                reg.len(),
                failures.len(),
                problems.len()
            );
            crate::stdout(&out)?;
            Ok(if failures.is_empty() && problems.is_empty() {
                exit::CLEAN
            } else {
                exit::GATE_FAILED
            })
        }
    }
}

/// `rules explain` for an id that is not a Rampart rule: a peer tool's id (the
/// Rampart rules that declare it), else a vulnerability from the database.
fn explain_other(
    reg: &Registry,
    id: &str,
    db: &crate::commands::db::DbPath,
    format: &str,
) -> Result<u8> {
    if !matches!(format, "text" | "json") {
        bail!("--format: unknown `{format}` (expected text or json)");
    }
    let wanted = id.to_ascii_lowercase();
    let peers: Vec<&RuleMeta> = reg
        .iter()
        .filter(|r| {
            r.peers.iter().any(|p| {
                let p = p.to_ascii_lowercase();
                p == wanted || p.rsplit_once(':').is_some_and(|(_, tail)| tail == wanted)
            })
        })
        .collect();
    if !peers.is_empty() {
        let text = if format == "json" {
            serde_json::to_string_pretty(&peers)?
        } else {
            let ids: Vec<&str> = peers.iter().map(|r| r.id.as_str()).collect();
            let mut s = format!(
                "`{id}` is a peer tool's id; Rampart's matching rule(s): {}\n\n",
                ids.join(", ")
            );
            for r in &peers {
                s.push_str(&explain_text(r, None));
                s.push('\n');
            }
            s
        };
        crate::stdout(&text)?;
        return Ok(exit::CLEAN);
    }
    let advisory = id.strip_prefix("vuln/").unwrap_or(id);
    // Advisory ids are `PREFIX-…` (GHSA-, CVE-, RUSTSEC-, PYSEC-, GO- …).
    let looks_like_advisory = id.starts_with("vuln/") || (!id.contains('/') && id.contains('-'));
    if !looks_like_advisory && !id.contains('/') {
        bail!("no rule `{id}`, and no Rampart rule declares it as a peer id (see `rampart rules list`)");
    }
    if !looks_like_advisory {
        let known: Vec<&str> = reg.iter().map(|r| r.id.as_str()).collect();
        let hint = rampart_core::rule::did_you_mean(id, &known)
            .map(|m| format!(" (did you mean `{m}`?)"))
            .unwrap_or_default();
        bail!("no rule `{id}`{hint} (see `rampart rules list`)");
    }
    let path = db.resolve();
    let database = rampart_vuln::Db::open_existing(&path).map_err(|e| {
        anyhow::anyhow!(
            "no rule `{id}`, and it cannot be looked up as a vulnerability: {e} \
             (`rampart db update`, or --db PATH)"
        )
    })?;
    let Some(record) = database.get(advisory)? else {
        bail!(
            "no rule `{id}`, and no vulnerability `{advisory}` in {} (see `rampart rules list`)",
            path.display()
        );
    };
    let text = if format == "json" {
        serde_json::to_string_pretty(&record)?
    } else {
        vuln_text(&record)
    };
    crate::stdout(&text)?;
    Ok(exit::CLEAN)
}

fn vuln_text(r: &rampart_vuln::osv::Record) -> String {
    let sev = rampart_vuln::severity::resolve(r, None);
    let mut s = String::new();
    let _ = writeln!(s, "vuln/{}  [{}]", r.id, sev.severity);
    if let Some(summary) = r.summary.as_deref().filter(|t| !t.trim().is_empty()) {
        let _ = writeln!(s, "{}", summary.trim());
    }
    let _ = writeln!(s, "\nSeverity: {}", sev.describe());
    if !r.aliases.is_empty() {
        let _ = writeln!(s, "Aliases: {}", r.aliases.join(", "));
    }
    if let Some(w) = &r.withdrawn {
        let _ = writeln!(s, "Withdrawn: {w}");
    }
    let mut pkgs: Vec<String> = r
        .affected
        .iter()
        .filter_map(|a| a.package.as_ref())
        .map(|p| format!("{} ({})", p.name, p.ecosystem))
        .collect();
    pkgs.dedup();
    if !pkgs.is_empty() {
        let _ = writeln!(s, "Affects: {}", pkgs.join(", "));
    }
    if let Some(d) = r.details.as_deref().filter(|t| !t.trim().is_empty()) {
        let _ = writeln!(s, "\n{}", d.trim());
    }
    if !r.references.is_empty() {
        let _ = writeln!(s, "\nReferences:");
        for x in &r.references {
            let _ = writeln!(s, "  - {}", x.url);
        }
    }
    s
}

fn explain_text(meta: &RuleMeta, compiled: Option<&rampart_secrets::CompiledRule>) -> String {
    let mut s = String::new();
    let _ = writeln!(s, "{}  [{}]", meta.id, meta.severity);
    let _ = writeln!(s, "{}\n", meta.title);
    let _ = writeln!(s, "{}\n", meta.description);
    let _ = writeln!(s, "Remediation:\n  {}", meta.remediation);
    if !meta.references.is_empty() {
        let _ = writeln!(s, "\nReferences:");
        for r in &meta.references {
            let _ = writeln!(s, "  - {r}");
        }
    }
    if !meta.peers.is_empty() {
        let _ = writeln!(s, "\nSame as: {}", meta.peers.join(", "));
    }
    if let Some(c) = compiled {
        let _ = writeln!(s, "\nKeywords: {}", c.keywords.join(", "));
        if let Some(re) = &c.regex {
            let _ = writeln!(s, "Pattern:  {}", re.as_str());
        }
        if let Some(e) = c.entropy {
            let _ = writeln!(s, "Entropy:  > {e}");
        }
        let _ = writeln!(s, "Defined in: {}", c.source);
    }
    s
}
