//! MIT keytab files, format versions 1 and 2 (as MIT krb5 `kt_file.c` and Heimdal read them).
//!
//! ```text
//! file    0x05 | version (0x01 or 0x02) | entry*
//! entry   size (i32; < 0: a hole of -size bytes to skip; 0: end) | body (size bytes)
//! body    count (u16; v1 counts the realm too) | realm (u16 len + bytes)
//!         | count × component (u16 len + bytes) | name_type (u32, v2 only) | timestamp (u32)
//!         | vno8 (u8) | keytype (u16) | key (u16 len + bytes) | [vno32 (u32), overrides if ≠ 0]
//! ```
//! Version 2 is big-endian; version 1 used the writing host's byte order, taken as little-endian
//! (the x86 hosts that wrote the surviving files).

use std::fmt;
use std::path::Path;

use super::key::Key;

/// Keytabs are small; a bigger file is not one (and is not read into memory whole).
const MAX_KEYTAB_LEN: u64 = 16 << 20;

#[derive(Debug)]
pub enum KeytabError {
    Io(String),
    TooLarge(u64),
    /// Not 0x05 0x01 / 0x05 0x02.
    BadHeader,
    /// An entry runs past the end of the file or its fields past the entry.
    Truncated {
        offset: usize,
    },
}

impl fmt::Display for KeytabError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            KeytabError::Io(e) => write!(f, "cannot read keytab: {e}"),
            KeytabError::TooLarge(n) => write!(f, "keytab of {n} bytes is too large"),
            KeytabError::BadHeader => f.write_str("not an MIT keytab (version 1 or 2)"),
            KeytabError::Truncated { offset } => write!(f, "keytab truncated at offset {offset}"),
        }
    }
}

impl std::error::Error for KeytabError {}

/// One keytab entry. `key` is `None` for an encryption type this tool cannot use (DES, ...):
/// the entry is still listed so a report can say that such a key existed.
#[derive(Clone, Debug)]
pub struct KeytabEntry {
    /// "comp1/comp2@REALM".
    pub principal: String,
    pub kvno: u32,
    pub etype: i32,
    pub timestamp: u32,
    pub key: Option<Key>,
}

struct Reader<'a> {
    bytes: &'a [u8],
    pos: usize,
    big_endian: bool,
}

impl<'a> Reader<'a> {
    fn take(&mut self, n: usize) -> Option<&'a [u8]> {
        let s = self.bytes.get(self.pos..self.pos.checked_add(n)?)?;
        self.pos += n;
        Some(s)
    }
    fn u8(&mut self) -> Option<u8> {
        self.take(1).and_then(|s| s.first().copied())
    }
    fn u16(&mut self) -> Option<u16> {
        let b: [u8; 2] = self.take(2)?.try_into().ok()?;
        Some(if self.big_endian {
            u16::from_be_bytes(b)
        } else {
            u16::from_le_bytes(b)
        })
    }
    fn u32(&mut self) -> Option<u32> {
        let b: [u8; 4] = self.take(4)?.try_into().ok()?;
        Some(if self.big_endian {
            u32::from_be_bytes(b)
        } else {
            u32::from_le_bytes(b)
        })
    }
    fn counted(&mut self) -> Option<&'a [u8]> {
        let n = usize::from(self.u16()?);
        self.take(n)
    }
}

pub fn read_keytab_file(path: &Path) -> Result<Vec<KeytabEntry>, KeytabError> {
    let len = std::fs::metadata(path)
        .map_err(|e| KeytabError::Io(format!("{}: {e}", path.display())))?
        .len();
    if len > MAX_KEYTAB_LEN {
        return Err(KeytabError::TooLarge(len));
    }
    let bytes =
        std::fs::read(path).map_err(|e| KeytabError::Io(format!("{}: {e}", path.display())))?;
    parse_keytab(&bytes)
}

/// Parse a whole keytab.
pub fn parse_keytab(bytes: &[u8]) -> Result<Vec<KeytabEntry>, KeytabError> {
    let version = match bytes {
        [0x05, v @ (0x01 | 0x02), ..] => *v,
        _ => return Err(KeytabError::BadHeader),
    };
    let mut r = Reader {
        bytes,
        pos: 2,
        big_endian: version == 2,
    };
    let mut out = Vec::new();
    while r.pos < bytes.len() {
        let at = r.pos;
        let Some(size) = r.u32().map(|s| s as i32) else {
            // Fewer than 4 trailing bytes: MIT treats this as the end too.
            break;
        };
        if size == 0 {
            break;
        }
        let len = usize::try_from(size.unsigned_abs())
            .map_err(|_| KeytabError::Truncated { offset: at })?;
        let body = r.take(len).ok_or(KeytabError::Truncated { offset: at })?;
        if size < 0 {
            continue; // a deleted entry's hole
        }
        let entry = parse_entry(body, version).ok_or(KeytabError::Truncated { offset: at })?;
        out.push(entry);
    }
    Ok(out)
}

fn parse_entry(body: &[u8], version: u8) -> Option<KeytabEntry> {
    let mut r = Reader {
        bytes: body,
        pos: 0,
        big_endian: version == 2,
    };
    let mut count = usize::from(r.u16()?);
    if version == 1 {
        count = count.checked_sub(1)?;
    }
    let realm = String::from_utf8_lossy(r.counted()?).into_owned();
    let mut components = Vec::new();
    for _ in 0..count {
        components.push(String::from_utf8_lossy(r.counted()?).into_owned());
    }
    if version == 2 {
        r.u32()?; // name type
    }
    let timestamp = r.u32()?;
    let vno8 = r.u8()?;
    let etype = i32::from(r.u16()?);
    let key_bytes = r.counted()?;
    let kvno = match r.u32() {
        Some(v) if v != 0 => v,
        _ => u32::from(vno8),
    };
    Some(KeytabEntry {
        principal: format!("{}@{realm}", components.join("/")),
        kvno,
        etype,
        timestamp,
        key: Key::new(etype, key_bytes),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn v2_entry(
        comps: &[&str],
        realm: &str,
        kvno8: u8,
        etype: u16,
        key: &[u8],
        kvno32: Option<u32>,
    ) -> Vec<u8> {
        let mut b = Vec::new();
        b.extend(u16::try_from(comps.len()).unwrap().to_be_bytes());
        b.extend(u16::try_from(realm.len()).unwrap().to_be_bytes());
        b.extend(realm.as_bytes());
        for c in comps {
            b.extend(u16::try_from(c.len()).unwrap().to_be_bytes());
            b.extend(c.as_bytes());
        }
        b.extend(1u32.to_be_bytes());
        b.extend(0x5000_0000u32.to_be_bytes());
        b.push(kvno8);
        b.extend(etype.to_be_bytes());
        b.extend(u16::try_from(key.len()).unwrap().to_be_bytes());
        b.extend(key);
        if let Some(k) = kvno32 {
            b.extend(k.to_be_bytes());
        }
        let mut e = i32::try_from(b.len()).unwrap().to_be_bytes().to_vec();
        e.extend(b);
        e
    }

    #[test]
    fn holes_kvno32_and_unknown_etypes() {
        let mut kt = vec![0x05, 0x02];
        kt.extend(v2_entry(
            &["HTTP", "web1.lab.test"],
            "LAB.TEST",
            2,
            18,
            &[7; 32],
            None,
        ));
        kt.extend((-6i32).to_be_bytes());
        kt.extend([0; 6]);
        // kvno 300 only fits the 32-bit field.
        kt.extend(v2_entry(
            &["alice"],
            "LAB.TEST",
            44,
            17,
            &[1; 16],
            Some(300),
        ));
        kt.extend(v2_entry(&["alice"], "LAB.TEST", 1, 3, &[1; 8], None));
        let e = parse_keytab(&kt).unwrap();
        let got: Vec<_> = e
            .iter()
            .map(|e| (e.principal.as_str(), e.kvno, e.etype, e.key.is_some()))
            .collect();
        assert_eq!(
            got,
            [
                ("HTTP/web1.lab.test@LAB.TEST", 2, 18, true),
                ("alice@LAB.TEST", 300, 17, true),
                ("alice@LAB.TEST", 1, 3, false)
            ]
        );
    }

    #[test]
    fn bad_header_and_truncation() {
        assert!(matches!(
            parse_keytab(b"\x05\x03"),
            Err(KeytabError::BadHeader)
        ));
        assert!(matches!(parse_keytab(b""), Err(KeytabError::BadHeader)));
        let mut kt = vec![0x05, 0x02];
        kt.extend(0x7fff_ffffi32.to_be_bytes());
        kt.extend([0; 10]);
        assert!(matches!(
            parse_keytab(&kt),
            Err(KeytabError::Truncated { offset: 2 })
        ));
        // A component count larger than the entry.
        let mut kt = vec![0x05, 0x02];
        kt.extend(4i32.to_be_bytes());
        kt.extend([0xff, 0xff, 0, 0]);
        assert!(matches!(
            parse_keytab(&kt),
            Err(KeytabError::Truncated { .. })
        ));
    }
}
