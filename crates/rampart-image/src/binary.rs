//! Packages compiled into ELF binaries: Go build info (`.go.buildinfo`) and Rust crates
//! recorded by cargo-auditable (`.dep-v0`, zlib-compressed JSON).

use crate::packages::{ImagePackage, PackageKind};
use std::io::Read;

/// Packages recorded in an ELF binary held in memory.
pub fn packages(path: &str, data: &[u8]) -> Vec<ImagePackage> {
    let Some(elf) = Elf::parse(data) else {
        return Vec::new();
    };
    let mut out = Vec::new();
    if let Some(sec) = elf.section(data, ".go.buildinfo") {
        out.extend(go_packages(path, &elf, data, sec));
    }
    if let Some(sec) = elf.section(data, ".dep-v0") {
        out.extend(auditable_packages(path, sec));
    }
    out
}

/// The parts of an ELF file needed here.
struct Elf {
    is64: bool,
    le: bool,
    sections: Vec<(u32, u64, u64, u64)>, // name offset, addr, offset, size
    shstr: Option<(u64, u64)>,
    loads: Vec<(u64, u64, u64)>, // vaddr, offset, filesz
}

impl Elf {
    fn parse(d: &[u8]) -> Option<Elf> {
        if d.get(..4)? != b"\x7fELF" {
            return None;
        }
        let is64 = *d.get(4)? == 2;
        let le = *d.get(5)? == 1;
        let r16 = |o: usize| -> Option<u64> {
            let b = d.get(o..o.checked_add(2)?)?;
            Some(u64::from(if le {
                u16::from_le_bytes([b[0], b[1]])
            } else {
                u16::from_be_bytes([b[0], b[1]])
            }))
        };
        let r32 = |o: usize| -> Option<u64> {
            let b: [u8; 4] = d.get(o..o.checked_add(4)?)?.try_into().ok()?;
            Some(u64::from(if le {
                u32::from_le_bytes(b)
            } else {
                u32::from_be_bytes(b)
            }))
        };
        let r64 = |o: usize| -> Option<u64> {
            let b: [u8; 8] = d.get(o..o.checked_add(8)?)?.try_into().ok()?;
            Some(if le {
                u64::from_le_bytes(b)
            } else {
                u64::from_be_bytes(b)
            })
        };
        let (phoff, shoff, phentsize, phnum, shentsize, shnum, shstrndx) = if is64 {
            (
                r64(0x20)?,
                r64(0x28)?,
                r16(0x36)?,
                r16(0x38)?,
                r16(0x3A)?,
                r16(0x3C)?,
                r16(0x3E)?,
            )
        } else {
            (
                r32(0x1C)?,
                r32(0x20)?,
                r16(0x2A)?,
                r16(0x2C)?,
                r16(0x2E)?,
                r16(0x30)?,
                r16(0x32)?,
            )
        };
        let mut sections = Vec::new();
        for i in 0..shnum.min(4096) {
            let Some(b) = i
                .checked_mul(shentsize)
                .and_then(|o| shoff.checked_add(o))
                .and_then(|o| usize::try_from(o).ok())
            else {
                break;
            };
            let at = |k: usize| b.checked_add(k);
            let entry = if is64 {
                (
                    r32(b),
                    at(0x10).and_then(r64),
                    at(0x18).and_then(r64),
                    at(0x20).and_then(r64),
                )
            } else {
                (
                    r32(b),
                    at(0x0C).and_then(r32),
                    at(0x10).and_then(r32),
                    at(0x14).and_then(r32),
                )
            };
            if let (Some(n), Some(a), Some(o), Some(s)) = entry {
                sections.push((u32::try_from(n).ok()?, a, o, s));
            }
        }
        let shstr = sections
            .get(usize::try_from(shstrndx).ok()?)
            .map(|s| (s.2, s.3));
        let mut loads = Vec::new();
        for i in 0..phnum.min(4096) {
            let Some(b) = i
                .checked_mul(phentsize)
                .and_then(|o| phoff.checked_add(o))
                .and_then(|o| usize::try_from(o).ok())
            else {
                break;
            };
            if r32(b) != Some(1) {
                continue;
            }
            let at = |k: usize| b.checked_add(k);
            let e = if is64 {
                (
                    at(0x10).and_then(r64),
                    at(8).and_then(r64),
                    at(0x20).and_then(r64),
                )
            } else {
                (
                    at(8).and_then(r32),
                    at(4).and_then(r32),
                    at(0x10).and_then(r32),
                )
            };
            if let (Some(v), Some(o), Some(f)) = e {
                loads.push((v, o, f));
            }
        }
        Some(Elf {
            is64,
            le,
            sections,
            shstr,
            loads,
        })
    }

    fn section<'a>(&self, d: &'a [u8], name: &str) -> Option<&'a [u8]> {
        let (so, ss) = self.shstr?;
        let strtab =
            d.get(usize::try_from(so).ok()?..usize::try_from(so.checked_add(ss)?).ok()?)?;
        for &(n, _, off, size) in &self.sections {
            let s = strtab.get(usize::try_from(n).ok()?..)?;
            let end = s.iter().position(|&b| b == 0)?;
            if &s[..end] == name.as_bytes() {
                let start = usize::try_from(off).ok()?;
                return d.get(start..start.checked_add(usize::try_from(size).ok()?)?);
            }
        }
        None
    }

    /// File bytes at a virtual address.
    fn at_vaddr<'a>(&self, d: &'a [u8], addr: u64, len: u64) -> Option<&'a [u8]> {
        for &(v, o, f) in &self.loads {
            if addr >= v && addr.checked_add(len)? <= v.checked_add(f)? {
                let start = usize::try_from(o.checked_add(addr - v)?).ok()?;
                return d.get(start..start.checked_add(usize::try_from(len).ok()?)?);
            }
        }
        None
    }

    fn ptr(&self, b: &[u8], size: usize) -> Option<u64> {
        let s = b.get(..size)?;
        Some(match (size, self.le) {
            (8, true) => u64::from_le_bytes(s.try_into().ok()?),
            (8, false) => u64::from_be_bytes(s.try_into().ok()?),
            (4, true) => u64::from(u32::from_le_bytes(s.try_into().ok()?)),
            (4, false) => u64::from(u32::from_be_bytes(s.try_into().ok()?)),
            _ => return None,
        })
    }
}

const GO_MAGIC: &[u8] = b"\xff Go buildinf:";

fn uvarint(b: &[u8]) -> Option<(u64, usize)> {
    let mut x = 0u64;
    for (i, &byte) in b.iter().enumerate().take(10) {
        x |= u64::from(byte & 0x7f) << (7 * i);
        if byte & 0x80 == 0 {
            return Some((x, i + 1));
        }
    }
    None
}

/// The Go version and module info strings of a `.go.buildinfo` section.
fn go_buildinfo(elf: &Elf, d: &[u8], sec: &[u8]) -> Option<(String, String)> {
    let start = (0..sec.len().saturating_sub(32))
        .step_by(16)
        .find(|&i| sec[i..].starts_with(GO_MAGIC))?;
    let h = &sec[start..];
    let ptr_size = usize::from(*h.get(14)?);
    let flags = *h.get(15)?;
    if flags & 2 != 0 {
        // Go 1.18+: inline varint-prefixed strings after the 32-byte header.
        let mut rest = h.get(32..)?;
        let mut read = || -> Option<String> {
            let (n, used) = uvarint(rest)?;
            let n = usize::try_from(n).ok()?;
            let s = rest.get(used..used.checked_add(n)?)?;
            rest = rest.get(used.checked_add(n)?..)?;
            Some(String::from_utf8_lossy(s).into_owned())
        };
        let version = read()?;
        let modinfo = read()?;
        return Some((version, modinfo));
    }
    // Older: pointers to Go string headers (data pointer, length).
    if ptr_size != 4 && ptr_size != 8 {
        return None;
    }
    let _ = elf.is64;
    let read_str = |hdr_addr: u64| -> Option<String> {
        let hdr = elf.at_vaddr(d, hdr_addr, 2 * ptr_size as u64)?; // ptr_size is 4 or 8
        let data = elf.ptr(hdr, ptr_size)?;
        let len = elf.ptr(hdr.get(ptr_size..)?, ptr_size)?;
        if len > 1 << 20 {
            return None;
        }
        Some(String::from_utf8_lossy(elf.at_vaddr(d, data, len)?).into_owned())
    };
    let vptr = elf.ptr(h.get(16..)?, ptr_size)?;
    let mptr = elf.ptr(h.get(16 + ptr_size..)?, ptr_size)?; // ptr_size is 4 or 8
    Some((read_str(vptr)?, read_str(mptr).unwrap_or_default()))
}

fn go_packages(path: &str, elf: &Elf, d: &[u8], sec: &[u8]) -> Vec<ImagePackage> {
    let Some((version, modinfo)) = go_buildinfo(elf, d, sec) else {
        return Vec::new();
    };
    // The module info is framed by 16-byte sentinels.
    let info = if modinfo.len() >= 33 && modinfo.as_bytes().get(modinfo.len() - 17) == Some(&b'\n')
    {
        modinfo.get(16..modinfo.len() - 16).unwrap_or(&modinfo)
    } else {
        modinfo.as_str()
    };
    let mut out: Vec<ImagePackage> = Vec::new();
    for line in info.lines() {
        let f: Vec<&str> = line.split('\t').collect();
        match f.as_slice() {
            ["mod", m, v, ..] | ["dep", m, v, ..] => {
                out.push(ImagePackage::new(PackageKind::Go, "Go", *m, *v, path));
            }
            ["=>", m, v, ..] => {
                if let Some(last) = out.last_mut() {
                    last.name = (*m).to_string();
                    last.version = (*v).to_string();
                }
            }
            _ => {}
        }
    }
    if let Some(v) = version.strip_prefix("go") {
        let v = v.split([' ', '-']).next().unwrap_or(v);
        if !v.is_empty() {
            out.push(ImagePackage::new(
                PackageKind::Go,
                "Go",
                "stdlib",
                format!("v{v}"),
                path,
            ));
        }
    }
    out
}

fn auditable_packages(path: &str, sec: &[u8]) -> Vec<ImagePackage> {
    let mut json = Vec::new();
    if flate2::read::ZlibDecoder::new(sec)
        .take(8 * 1024 * 1024)
        .read_to_end(&mut json)
        .is_err()
    {
        return Vec::new();
    }
    let Ok(v) = serde_json::from_slice::<serde_json::Value>(&json) else {
        return Vec::new();
    };
    let mut out = Vec::new();
    for p in v
        .get("packages")
        .and_then(|p| p.as_array())
        .into_iter()
        .flatten()
    {
        let (Some(n), Some(ver)) = (
            p.get("name").and_then(|x| x.as_str()),
            p.get("version").and_then(|x| x.as_str()),
        ) else {
            continue;
        };
        if p.get("kind").and_then(|k| k.as_str()) == Some("build") {
            continue;
        }
        out.push(ImagePackage::new(
            PackageKind::Rust,
            "crates.io",
            n,
            ver,
            path,
        ));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Write;

    /// A minimal ELF64 LE with the given sections (name, data).
    pub(crate) fn elf_with(sections: &[(&str, &[u8])]) -> Vec<u8> {
        let mut shstr = vec![0u8];
        let mut names = Vec::new();
        for (n, _) in sections {
            names.push(shstr.len() as u32);
            shstr.extend_from_slice(n.as_bytes());
            shstr.push(0);
        }
        let mut d = vec![0u8; 64];
        d[..4].copy_from_slice(b"\x7fELF");
        d[4] = 2;
        d[5] = 1;
        let mut offs = Vec::new();
        for (_, data) in sections {
            offs.push(d.len() as u64);
            d.extend_from_slice(data);
        }
        let shstr_off = d.len() as u64;
        d.extend_from_slice(&shstr);
        while !d.len().is_multiple_of(8) {
            d.push(0);
        }
        let shoff = d.len() as u64;
        d.extend_from_slice(&[0u8; 64]); // null section
        for (i, (_, data)) in sections.iter().enumerate() {
            let mut sh = [0u8; 64];
            sh[0..4].copy_from_slice(&names[i].to_le_bytes());
            sh[0x18..0x20].copy_from_slice(&offs[i].to_le_bytes());
            sh[0x20..0x28].copy_from_slice(&(data.len() as u64).to_le_bytes());
            d.extend_from_slice(&sh);
        }
        let mut sh = [0u8; 64];
        sh[0x18..0x20].copy_from_slice(&shstr_off.to_le_bytes());
        sh[0x20..0x28].copy_from_slice(&(shstr.len() as u64).to_le_bytes());
        d.extend_from_slice(&sh);
        let shnum = sections.len() as u16 + 2;
        d[0x28..0x30].copy_from_slice(&shoff.to_le_bytes());
        d[0x3A..0x3C].copy_from_slice(&64u16.to_le_bytes());
        d[0x3C..0x3E].copy_from_slice(&shnum.to_le_bytes());
        d[0x3E..0x40].copy_from_slice(&(shnum - 1).to_le_bytes());
        d
    }

    #[test]
    fn go_build_info() {
        let modinfo = "path\texample.com/app\nmod\texample.com/app\t(devel)\t\ndep\tgolang.org/x/net\tv0.17.0\th1:abc=\ndep\tgithub.com/old/x\tv1.0.0\th1:x=\n=>\tgithub.com/new/x\tv1.2.0\th1:y=\n";
        let framed = format!("{}{modinfo}{}", "0".repeat(16), "1".repeat(16));
        let mut sec = Vec::new();
        sec.extend_from_slice(GO_MAGIC);
        sec.push(8);
        sec.push(2);
        sec.resize(32, 0);
        for s in ["go1.21.3", framed.as_str()] {
            let mut n = s.len();
            while n >= 0x80 {
                sec.push((n as u8) | 0x80);
                n >>= 7;
            }
            sec.push(n as u8);
            sec.extend_from_slice(s.as_bytes());
        }
        let elf = elf_with(&[(".text", b"abc"), (".go.buildinfo", &sec)]);
        let p = packages("usr/local/bin/app", &elf);
        let got: Vec<(&str, &str)> = p
            .iter()
            .map(|p| (p.name.as_str(), p.version.as_str()))
            .collect();
        assert_eq!(
            got,
            vec![
                ("example.com/app", "(devel)"),
                ("golang.org/x/net", "v0.17.0"),
                ("github.com/new/x", "v1.2.0"),
                ("stdlib", "v1.21.3")
            ]
        );
    }

    /// A valid Go binary (Go 1.18+ inline build info) for the mutation tests.
    fn go_elf() -> Vec<u8> {
        let mut sec = Vec::new();
        sec.extend_from_slice(GO_MAGIC);
        sec.push(8);
        sec.push(2);
        sec.resize(32, 0);
        for s in ["go1.21.3", "path\tx\nmod\tx\t(devel)\t\n"] {
            sec.push(s.len() as u8);
            sec.extend_from_slice(s.as_bytes());
        }
        elf_with(&[(".text", b"abc"), (".go.buildinfo", &sec)])
    }

    fn put_u64(d: &mut [u8], at: usize, v: u64) {
        d[at..at + 8].copy_from_slice(&v.to_le_bytes());
    }

    /// Offsets near `u64::MAX` in the ELF header, section and program headers: they
    /// used to overflow (a panic with overflow checks, wrapped reads without).
    #[test]
    fn crafted_offsets_do_not_overflow() {
        let base = go_elf();
        assert!(!packages("x", &base).is_empty());
        for (at, v) in [
            (0x28usize, u64::MAX - 8), // e_shoff
            (0x28, u64::MAX - 0x40),   // e_shoff, plus i * shentsize
            (0x20, u64::MAX - 2),      // e_phoff
        ] {
            let mut d = base.clone();
            put_u64(&mut d, at, v);
            if at == 0x20 {
                d[0x36..0x38].copy_from_slice(&56u16.to_le_bytes());
                d[0x38..0x3A].copy_from_slice(&4u16.to_le_bytes());
            }
            let _ = packages("x", &d);
        }
        // Section offsets and sizes near the top of the range.
        let shoff = u64::from_le_bytes(base[0x28..0x30].try_into().unwrap()) as usize;
        for field in [0x18usize, 0x20] {
            for sec in 1..4 {
                let mut d = base.clone();
                put_u64(&mut d, shoff + sec * 64 + field, u64::MAX - 1);
                let _ = packages("x", &d);
            }
        }
        // A PT_LOAD segment whose offset + (addr - vaddr) overflows, with an old-style
        // (pointer) build info pointing into it.
        let mut sec = Vec::new();
        sec.extend_from_slice(GO_MAGIC);
        sec.push(8);
        sec.push(0);
        sec.extend_from_slice(&0x1000u64.to_le_bytes());
        sec.extend_from_slice(&0x1000u64.to_le_bytes());
        sec.resize(48, 0);
        let mut d = elf_with(&[(".go.buildinfo", &sec)]);
        let phoff = d.len() as u64;
        let mut ph = [0u8; 56];
        ph[0..4].copy_from_slice(&1u32.to_le_bytes());
        ph[8..16].copy_from_slice(&(u64::MAX - 0x10).to_le_bytes()); // p_offset
        ph[0x10..0x18].copy_from_slice(&0u64.to_le_bytes()); // p_vaddr
        ph[0x20..0x28].copy_from_slice(&0x10000u64.to_le_bytes()); // p_filesz
        d.extend_from_slice(&ph);
        put_u64(&mut d, 0x20, phoff);
        d[0x36..0x38].copy_from_slice(&56u16.to_le_bytes());
        d[0x38..0x3A].copy_from_slice(&1u16.to_le_bytes());
        assert!(packages("x", &d).is_empty());
    }

    proptest::proptest! {
        #![proptest_config(proptest::prelude::ProptestConfig::with_cases(512))]
        /// Mutated Go and cargo-auditable binaries: never a panic, always quick.
        #[test]
        fn mutated_binaries_never_panic(
            muts in proptest::collection::vec((0usize..4096, proptest::prelude::any::<u8>()), 1..24),
            wide in proptest::collection::vec((0usize..512, proptest::prelude::any::<u64>()), 0..4),
            cut in 0usize..4096,
        ) {
            let mut d = go_elf();
            for (at, b) in muts {
                let n = d.len();
                d[at % n] = b;
            }
            for (at, v) in wide {
                let at = (at * 8) % d.len().saturating_sub(8).max(1);
                if at + 8 <= d.len() {
                    put_u64(&mut d, at, v);
                }
            }
            if cut < d.len() && cut % 3 == 0 {
                d.truncate(cut);
            }
            let t = std::time::Instant::now();
            let _ = packages("x", &d);
            proptest::prop_assert!(t.elapsed() < std::time::Duration::from_secs(2));
        }
    }

    #[test]
    fn cargo_auditable() {
        let json = br#"{"packages":[{"name":"app","version":"0.1.0","source":"local","root":true},{"name":"serde","version":"1.0.190","source":"crates.io"},{"name":"cc","version":"1.0.0","source":"crates.io","kind":"build"}]}"#;
        let mut z = flate2::write::ZlibEncoder::new(Vec::new(), flate2::Compression::default());
        z.write_all(json).unwrap();
        let elf = elf_with(&[(".dep-v0", &z.finish().unwrap())]);
        let p = packages("usr/bin/app", &elf);
        let got: Vec<&str> = p.iter().map(|p| p.name.as_str()).collect();
        assert_eq!(got, vec!["app", "serde"]);
        assert!(packages("x", b"\x7fELF\x02\x01garbage").is_empty());
        assert!(packages("x", &[0x7f, b'E', b'L', b'F']).is_empty());
    }
}
