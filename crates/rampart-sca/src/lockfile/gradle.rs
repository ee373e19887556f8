//! `gradle.lockfile`: `group:artifact:version=configuration,…` lines.

use super::{pkg, Out, ParseError};

pub(crate) fn parse(text: &str) -> Result<Out, ParseError> {
    let mut out = Vec::new();
    for (i, raw) in text.lines().enumerate() {
        let l = raw.trim();
        if l.is_empty() || l.starts_with('#') || l.starts_with("empty=") {
            continue;
        }
        let (coord, confs) = l.split_once('=').unwrap_or((l, ""));
        let parts: Vec<&str> = coord.split(':').collect();
        let [group, artifact, version] = parts[..] else {
            return Err(ParseError::new(
                Some(i + 1),
                format!("expected `group:artifact:version=configurations`, found `{l}`"),
            ));
        };
        let mut p = pkg(&format!("{group}:{artifact}"), version, Some(i + 1));
        let confs: Vec<&str> = confs.split(',').filter(|c| !c.is_empty()).collect();
        p.dev = !confs.is_empty()
            && confs
                .iter()
                .all(|c| c.to_ascii_lowercase().starts_with("test"));
        out.push(p);
    }
    Ok((None, out))
}
