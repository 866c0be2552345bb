//! Kerberos over TCP record marking (RFC 4120 §7.2.2) and a cheap "is this Kerberos?" probe.
//!
//! ```text
//! record marker: 4 bytes, big-endian; high bit reserved (RFC 5021 extensions), must be 0;
//!                low 31 bits = length of the Kerberos message that follows
//! ```

use std::fmt;

/// Largest record accepted: real messages stay far below (a TGS-REP with a large PAC is tens of
/// KiB); anything bigger is taken as a desynchronised stream rather than waited for.
pub const MAX_RECORD_LEN: usize = 1 << 20;

#[derive(Clone, Debug, PartialEq, Eq)]
pub enum RecordError {
    /// The stream must deliver `needed` more bytes before the record is complete.
    NeedMore { needed: usize },
    /// The bytes at `offset` cannot be a record marker.
    Malformed { offset: usize, what: &'static str },
}

impl fmt::Display for RecordError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            RecordError::NeedMore { needed } => write!(f, "need more bytes: {needed} more"),
            RecordError::Malformed { offset, what } => {
                write!(f, "malformed at offset {offset}: {what}")
            }
        }
    }
}

impl std::error::Error for RecordError {}

/// Split one record off the front of a TCP byte stream: `(message, bytes consumed)`.
pub fn tcp_record(buf: &[u8]) -> Result<(&[u8], usize), RecordError> {
    let Some((marker, body)) = buf.split_first_chunk::<4>() else {
        return Err(RecordError::NeedMore {
            needed: 4 - buf.len(),
        });
    };
    let marker = u32::from_be_bytes(*marker);
    if marker & 0x8000_0000 != 0 {
        return Err(RecordError::Malformed {
            offset: 0,
            what: "record marker has the reserved high bit set",
        });
    }
    let len = usize::try_from(marker).unwrap_or(usize::MAX);
    if len == 0 {
        return Err(RecordError::Malformed {
            offset: 0,
            what: "empty record",
        });
    }
    if len > MAX_RECORD_LEN {
        return Err(RecordError::Malformed {
            offset: 0,
            what: "record length above 1 MiB",
        });
    }
    match body.get(..len) {
        Some(message) => Ok((message, len + 4)),
        None => Err(RecordError::NeedMore {
            needed: len - body.len(),
        }),
    }
}

/// APPLICATION tags of the messages a probe accepts: AS/TGS/AP requests and replies, KRB-CRED,
/// KRB-ERROR.
const PROBE_TAGS: [u8; 8] = [10, 11, 12, 13, 14, 15, 22, 30];

/// Cheap probe: an `[APPLICATION n]` constructed header for a Kerberos message, a plausible
/// length, a SEQUENCE inside and, when those bytes are present, pvno 5. Works on a prefix.
pub fn looks_like_kerberos(bytes: &[u8]) -> bool {
    let Some(&first) = bytes.first() else {
        return false;
    };
    if first & 0xe0 != 0x60 || !PROBE_TAGS.contains(&(first & 0x1f)) {
        return false;
    }
    let Some((declared, header_len)) = length_header(bytes) else {
        return false;
    };
    if !(8..=MAX_RECORD_LEN).contains(&declared) {
        return false;
    }
    let inner = bytes.get(header_len..).unwrap_or_default();
    match inner.first() {
        None => return true,
        Some(0x30) => {}
        Some(_) => return false,
    }
    // SEQUENCE header, then the pvno field: [1] for KDC-REQ, [0] for the others.
    let Some((_, seq_header)) = length_header(inner) else {
        return inner.len() < 6;
    };
    let pvno_tag = if matches!(first & 0x1f, 10 | 12) {
        0xa1
    } else {
        0xa0
    };
    let field = inner.get(seq_header..).unwrap_or_default();
    let expected = [pvno_tag, 0x03, 0x02, 0x01, 0x05];
    field
        .iter()
        .zip(expected.iter())
        .all(|(got, want)| got == want)
}

/// (declared value length, header length) of the single-byte-tag TLV at the front, without
/// requiring its value to be present. `None` when the length octets are missing or not DER.
fn length_header(bytes: &[u8]) -> Option<(usize, usize)> {
    let len_byte = *bytes.get(1)?;
    if len_byte & 0x80 == 0 {
        return Some((usize::from(len_byte), 2));
    }
    let n = usize::from(len_byte & 0x7f);
    if n == 0 || n > 4 {
        return None;
    }
    let octets = bytes.get(2..2 + n)?;
    let len = octets
        .iter()
        .fold(0usize, |acc, &b| (acc << 8) | usize::from(b));
    Some((len, 2 + n))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn record_marker_cases() {
        assert_eq!(
            tcp_record(&[0, 0]),
            Err(RecordError::NeedMore { needed: 2 })
        );
        assert_eq!(
            tcp_record(&[0, 0, 0, 3, 0xaa]),
            Err(RecordError::NeedMore { needed: 2 })
        );
        let buf = [0, 0, 0, 2, 0xaa, 0xbb, 0xcc];
        assert_eq!(tcp_record(&buf), Ok((&buf[4..6], 6)));
        assert!(matches!(
            tcp_record(&[0x80, 0, 0, 1, 0]),
            Err(RecordError::Malformed { offset: 0, .. })
        ));
        assert!(matches!(
            tcp_record(&[0x00, 0x20, 0, 0]),
            Err(RecordError::Malformed { .. })
        ));
        assert!(matches!(
            tcp_record(&[0, 0, 0, 0]),
            Err(RecordError::Malformed { .. })
        ));
        assert_eq!(
            RecordError::NeedMore { needed: 3 }.to_string(),
            "need more bytes: 3 more"
        );
    }

    #[test]
    fn probe_accepts_message_headers_and_prefixes() {
        // AP-REP header from zeek__krb__smb_gssapi.pcap frame 8: 6f 6a 30 68 a0 03 02 01 05
        let ap_rep = [0x6f, 0x6a, 0x30, 0x68, 0xa0, 0x03, 0x02, 0x01, 0x05, 0xa1];
        assert!(looks_like_kerberos(&ap_rep));
        assert!(looks_like_kerberos(&ap_rep[..2]));
        // AS-REQ: pvno is [1]
        assert!(looks_like_kerberos(&[
            0x6a, 0x81, 0x8c, 0x30, 0x81, 0x89, 0xa1, 0x03, 0x02, 0x01, 0x05
        ]));
        // pvno 4, wrong inner tag, Ticket [APPLICATION 1], SPNEGO [APPLICATION 0], empty
        assert!(!looks_like_kerberos(&[
            0x6f, 0x6a, 0x30, 0x68, 0xa0, 0x03, 0x02, 0x01, 0x04
        ]));
        assert!(!looks_like_kerberos(&[0x6f, 0x6a, 0x31, 0x68]));
        assert!(!looks_like_kerberos(&[0x61, 0x6a, 0x30, 0x68]));
        assert!(!looks_like_kerberos(&[0x60, 0x6a, 0x06, 0x06]));
        assert!(!looks_like_kerberos(&[]));
        assert!(!looks_like_kerberos(b"GET / HTTP/1.1\r\n"));
    }
}
