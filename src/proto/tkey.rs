//! DNS TKEY records (RFC 2930 §2) in GSS-API mode (mode 3, RFC 3645 §3.1): the key data of a
//! TKEY query or response is a GSS token (SPNEGO / Kerberos / NTLMSSP), which is how Windows
//! secure dynamic updates (GSS-TSIG) authenticate. This walks a DNS message for TKEY records
//! only; `proto::dns` renders every other record.
//!
//! ```text
//! RR:    owner name | TYPE=249 | CLASS | TTL | RDLENGTH | RDATA
//! RDATA: Algorithm (uncompressed name, "gss-tsig." / "gss.microsoft.com.") | Inception u32
//!        | Expiration u32 | Mode u16 | Error u16 | Key Size u16 | Key Data | Other Size u16 | Other
//! ```

use serde::Serialize;

const HEADER_LEN: usize = 12;
const TYPE_TKEY: u16 = 249;
/// TKEY records looked at per message.
const MAX_TKEYS: usize = 4;
/// RFC 1035 §2.3.4.
const MAX_NAME_WIRE: usize = 255;

/// One TKEY record; `key` borrows the GSS token from the message.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Tkey<'a> {
    pub algorithm: String,
    pub mode: u16,
    pub error: u16,
    pub key: &'a [u8],
}

/// RFC 2930 §2.5 modes.
pub fn mode_name(mode: u16) -> &'static str {
    match mode {
        1 => "server-assignment",
        2 => "diffie-hellman",
        3 => "gss-api",
        4 => "resolver-assignment",
        5 => "key-deletion",
        _ => "unknown",
    }
}

/// RFC 2845 / RFC 2930 extended RCODEs carried in the TKEY Error field.
pub fn error_name(error: u16) -> &'static str {
    match error {
        0 => "NOERROR",
        16 => "BADSIG",
        17 => "BADKEY",
        18 => "BADTIME",
        19 => "BADMODE",
        20 => "BADNAME",
        21 => "BADALG",
        _ => "unknown",
    }
}

/// Carrier details for an event.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct TkeyDetails {
    pub algorithm: String,
    pub mode: &'static str,
    pub error: u16,
    pub error_name: &'static str,
}

impl TkeyDetails {
    pub fn from_tkey(t: &Tkey<'_>) -> Self {
        TkeyDetails {
            algorithm: t.algorithm.clone(),
            mode: mode_name(t.mode),
            error: t.error,
            error_name: error_name(t.error),
        }
    }
}

/// The TKEY records of a DNS message, with whether it is a response. Stops quietly at the first
/// thing that does not parse: what was found before it is returned.
pub fn find(msg: &[u8]) -> (bool, Vec<Tkey<'_>>) {
    let mut out = Vec::new();
    let be16 = |at: usize| {
        msg.get(at..at + 2)
            .and_then(|b| <[u8; 2]>::try_from(b).ok())
            .map(u16::from_be_bytes)
    };
    let (Some(flags), Some(qd), Some(an), Some(ns), Some(ar)) =
        (be16(2), be16(4), be16(6), be16(8), be16(10))
    else {
        return (false, out);
    };
    let response = flags & 0x8000 != 0;
    let mut pos = HEADER_LEN;
    for _ in 0..qd {
        let Some(end) = skip_name(msg, pos) else {
            return (response, out);
        };
        pos = end + 4;
    }
    let records = u32::from(an) + u32::from(ns) + u32::from(ar);
    for _ in 0..records {
        let Some(end) = skip_name(msg, pos) else {
            break;
        };
        let (Some(rtype), Some(rdlen)) = (be16(end), be16(end + 8)) else {
            break;
        };
        let rdata_at = end + 10;
        let Some(rdata) = msg.get(rdata_at..rdata_at + usize::from(rdlen)) else {
            break;
        };
        pos = rdata_at + usize::from(rdlen);
        if rtype == TYPE_TKEY
            && out.len() < MAX_TKEYS
            && let Some(t) = rdata_fields(rdata)
        {
            out.push(t);
        }
    }
    (response, out)
}

fn rdata_fields(rdata: &[u8]) -> Option<Tkey<'_>> {
    let (algorithm, at) = inline_name(rdata)?;
    let be16 = |o: usize| {
        rdata
            .get(at + o..at + o + 2)
            .and_then(|b| <[u8; 2]>::try_from(b).ok())
            .map(u16::from_be_bytes)
    };
    // Inception and expiration (8 bytes) precede mode, error and key size.
    let (mode, error, key_len) = (be16(8)?, be16(10)?, usize::from(be16(12)?));
    let key = rdata.get(at + 14..at + 14 + key_len)?;
    Some(Tkey {
        algorithm,
        mode,
        error,
        key,
    })
}

/// Offset past the name at `start` (labels or a compression pointer), without following it.
fn skip_name(msg: &[u8], start: usize) -> Option<usize> {
    let mut pos = start;
    loop {
        let len = *msg.get(pos)?;
        match len {
            0 => return Some(pos + 1),
            l if l & 0xc0 == 0xc0 => return msg.get(pos + 1).map(|_| pos + 2),
            l if l & 0xc0 == 0 => {
                pos += 1 + usize::from(l);
                if pos - start > MAX_NAME_WIRE {
                    return None;
                }
            }
            _ => return None,
        }
    }
}

/// The algorithm name, which RFC 2930 forbids compressing: labels only.
fn inline_name(b: &[u8]) -> Option<(String, usize)> {
    let mut text = String::new();
    let mut pos = 0;
    loop {
        let len = usize::from(*b.get(pos)?);
        if len == 0 {
            return Some((text, pos + 1));
        }
        if len & 0xc0 != 0 || pos + len > MAX_NAME_WIRE {
            return None;
        }
        let label = b.get(pos + 1..pos + 1 + len)?;
        text.push_str(&String::from_utf8_lossy(label));
        text.push('.');
        pos += 1 + len;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A TKEY query as Windows sends it for GSS-TSIG: question `<ctx>. TKEY`, the TKEY record
    /// in the additional section with algorithm gss.microsoft.com and `key` as key data.
    fn query(response: bool, key: &[u8], error: u16) -> Vec<u8> {
        let mut m = vec![
            0x12,
            0x34,
            if response { 0x80 } else { 0 },
            0,
            0,
            1,
            0,
            0,
            0,
            0,
            0,
            1,
        ];
        let ctx = b"\x0d1234-ms-7.1-0\x00";
        m.extend(ctx);
        m.extend([0, 249, 0, 255]);
        m.extend([0xc0, 12]); // owner: pointer to the question name
        m.extend([0, 249, 0, 255, 0, 0, 0, 0]);
        let mut rdata = b"\x03gss\x09microsoft\x03com\x00".to_vec();
        rdata.extend([0x5f, 0, 0, 0, 0x5f, 0, 0x0e, 0x10]);
        rdata.extend(3u16.to_be_bytes());
        rdata.extend(error.to_be_bytes());
        rdata.extend((key.len() as u16).to_be_bytes());
        rdata.extend(key);
        rdata.extend([0, 0]);
        m.extend((rdata.len() as u16).to_be_bytes());
        m.extend(rdata);
        m
    }

    #[test]
    fn finds_the_gss_token() {
        let token = b"NTLMSSP\0\x01\0\0\0\x07\x82\x08\xa2";
        let msg = query(false, token, 0);
        let (response, found) = find(&msg);
        assert!(!response);
        assert_eq!(found.len(), 1);
        assert_eq!(found[0].algorithm, "gss.microsoft.com.");
        assert_eq!(
            (mode_name(found[0].mode), found[0].key),
            ("gss-api", &token[..])
        );
        let msg = query(true, b"", 17);
        let (response, found) = find(&msg);
        assert!(response);
        assert_eq!(found.first().map(|t| error_name(t.error)), Some("BADKEY"));
    }

    #[test]
    fn cut_and_corrupted_messages() {
        let full = query(false, &[0x60; 40], 0);
        for cut in 0..full.len() {
            let (_, found) = find(&full[..cut]);
            assert!(found.is_empty(), "cut {cut}");
        }
        // A key size past the RDATA: the record is dropped.
        let mut bad = full.clone();
        let at = bad.len() - 2 - 40 - 2;
        bad[at] = 0xff;
        assert!(find(&bad).1.is_empty());
        // A compressed algorithm name is refused (RFC 2930 §2).
        let mut bad = full;
        let at = bad.iter().position(|&b| b == 3).unwrap_or(0);
        bad[at] = 0xc0;
        assert!(find(&bad).1.is_empty());
    }
}
