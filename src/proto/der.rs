//! A minimal, zero-copy reader for ASN.1 DER/BER tag-length-value headers (ITU-T X.690 §8.1),
//! enough to walk GSS-API / SPNEGO / Kerberos framing without trusting any length field.
//!
//! ```text
//! identifier: class(2 bits) | constructed(1 bit) | tag(5 bits, 31 = long form, base-128 follows)
//! length:     0xxxxxxx short form | 1nnnnnnn followed by n big-endian length bytes
//!             (0x80 = indefinite length, BER only: accepted for constructed values, see below)
//! value:      `length` bytes
//! ```

use std::fmt;

/// Nesting limit for recursive walkers built on this module (SPNEGO inside GSS inside HTTP).
/// A walker one level deeper reports [`DerError::TooDeep`] (see [`enter`]) and stops.
pub const MAX_DEPTH: usize = 32;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Class {
    Universal,
    Application,
    Context,
    Private,
}

/// One decoded TLV: `value` borrows from the input.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Tlv<'a> {
    pub class: Class,
    pub constructed: bool,
    pub tag: u32,
    /// Bytes taken by identifier + length octets.
    pub header_len: usize,
    pub value: &'a [u8],
}

impl Tlv<'_> {
    pub fn is(&self, class: Class, tag: u32) -> bool {
        self.class == class && self.tag == tag
    }
    /// Total encoded length (header + value).
    pub fn total_len(&self) -> usize {
        self.header_len + self.value.len()
    }
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub enum DerError {
    /// The identifier or length octets run past the end of the input: `needed` more bytes would
    /// complete the header (for a stream: wait; for a finished datagram or file: truncated).
    Incomplete { needed: usize },
    /// The header is complete but its length claims `needed` more bytes than the input holds.
    /// `offset` is where the length octets start. For a stream: wait (the caller's own cap on
    /// buffered bytes applies); for a complete datagram or token: a length past the remaining
    /// bytes. Never allocated for: the length is only compared with what is there.
    LengthBeyondInput { offset: usize, needed: usize },
    /// A recursive walker went deeper than [`MAX_DEPTH`] at `offset`.
    TooDeep { offset: usize },
    /// The bytes cannot be DER/BER at `offset` (relative to the slice given to the reader).
    Malformed { offset: usize, what: &'static str },
}

impl fmt::Display for DerError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            DerError::Incomplete { needed } => write!(f, "truncated: {needed} more bytes needed"),
            DerError::LengthBeyondInput { offset, needed } => write!(
                f,
                "length at offset {offset} runs {needed} bytes past the input"
            ),
            DerError::TooDeep { offset } => {
                write!(
                    f,
                    "nested deeper than {MAX_DEPTH} levels at offset {offset}"
                )
            }
            DerError::Malformed { offset, what } => {
                write!(f, "malformed at offset {offset}: {what}")
            }
        }
    }
}

impl std::error::Error for DerError {}

impl DerError {
    /// More bytes would help: the header is cut ([`DerError::Incomplete`]) or the value is
    /// ([`DerError::LengthBeyondInput`]). Stream readers wait for this many bytes.
    pub fn needed(&self) -> Option<usize> {
        match self {
            DerError::Incomplete { needed } | DerError::LengthBeyondInput { needed, .. } => {
                Some(*needed)
            }
            DerError::Malformed { .. } | DerError::TooDeep { .. } => None,
        }
    }
}

/// Guard for a recursive walker about to descend to `depth` (the outermost value is depth 0)
/// at `offset`: past [`MAX_DEPTH`] it must stop with [`DerError::TooDeep`].
pub fn enter(depth: usize, offset: usize) -> Result<(), DerError> {
    if depth > MAX_DEPTH {
        Err(DerError::TooDeep { offset })
    } else {
        Ok(())
    }
}

/// Read one TLV from the front of `input`; returns it and the bytes after it.
pub fn read_tlv(input: &[u8]) -> Result<(Tlv<'_>, &[u8]), DerError> {
    let (&id, _) = input
        .split_first()
        .ok_or(DerError::Incomplete { needed: 2 })?;
    let class = match id >> 6 {
        0 => Class::Universal,
        1 => Class::Application,
        2 => Class::Context,
        _ => Class::Private,
    };
    let constructed = id & 0x20 != 0;
    let mut pos = 1usize;
    let mut tag = u32::from(id & 0x1f);
    if tag == 0x1f {
        tag = 0;
        loop {
            let b = *input.get(pos).ok_or(DerError::Incomplete { needed: 1 })?;
            pos += 1;
            if tag > (u32::MAX >> 7) {
                return Err(DerError::Malformed {
                    offset: pos - 1,
                    what: "tag number too large",
                });
            }
            tag = (tag << 7) | u32::from(b & 0x7f);
            if b & 0x80 == 0 {
                break;
            }
        }
    }
    let length_at = pos;
    let first = *input.get(pos).ok_or(DerError::Incomplete { needed: 1 })?;
    pos += 1;
    let len: usize = if first & 0x80 == 0 {
        usize::from(first)
    } else {
        let n = usize::from(first & 0x7f);
        if n == 0 {
            return Err(DerError::Malformed {
                offset: pos - 1,
                what: "indefinite length",
            });
        }
        if n > 4 {
            return Err(DerError::Malformed {
                offset: pos - 1,
                what: "length of more than 4 octets",
            });
        }
        let bytes = input
            .get(pos..pos + n)
            .ok_or_else(|| DerError::Incomplete {
                needed: (pos + n).saturating_sub(input.len()),
            })?;
        pos += n;
        bytes
            .iter()
            .fold(0usize, |acc, &b| (acc << 8) | usize::from(b))
    };
    let end = pos.checked_add(len).ok_or(DerError::Malformed {
        offset: pos,
        what: "length overflows",
    })?;
    if end > input.len() {
        return Err(DerError::LengthBeyondInput {
            offset: length_at,
            needed: end - input.len(),
        });
    }
    // `end <= input.len()` was checked above; `get` keeps that proof local.
    let (Some(value), Some(rest)) = (input.get(pos..end), input.get(end..)) else {
        return Err(DerError::LengthBeyondInput {
            offset: length_at,
            needed: end.saturating_sub(input.len()),
        });
    };
    let tlv = Tlv {
        class,
        constructed,
        tag,
        header_len: pos,
        value,
    };
    Ok((tlv, rest))
}

/// Iterate over the TLVs that make up a constructed value's contents.
pub fn children(mut value: &[u8]) -> impl Iterator<Item = Result<Tlv<'_>, DerError>> {
    std::iter::from_fn(move || {
        if value.is_empty() {
            return None;
        }
        match read_tlv(value) {
            Ok((tlv, rest)) => {
                value = rest;
                Some(Ok(tlv))
            }
            Err(e) => {
                value = &[];
                Some(Err(e))
            }
        }
    })
}

/// Decode a DER OBJECT IDENTIFIER's contents to dotted form ("1.2.840.113554.1.2.2").
/// Returns `None` for an empty or unterminated encoding or an arc beyond u64.
pub fn oid_to_string(value: &[u8]) -> Option<String> {
    let mut arcs: Vec<u64> = Vec::new();
    let mut cur: u64 = 0;
    let mut in_arc = false;
    for &b in value {
        if cur > (u64::MAX >> 7) {
            return None;
        }
        cur = (cur << 7) | u64::from(b & 0x7f);
        in_arc = true;
        if b & 0x80 == 0 {
            if arcs.is_empty() {
                let first = (cur / 40).min(2);
                arcs.push(first);
                arcs.push(cur - first * 40);
            } else {
                arcs.push(cur);
            }
            cur = 0;
            in_arc = false;
        }
    }
    if in_arc || arcs.is_empty() {
        return None;
    }
    Some(
        arcs.iter()
            .map(u64::to_string)
            .collect::<Vec<_>>()
            .join("."),
    )
}

/// Read a DER INTEGER's contents as i64 (two's complement, at most 8 octets).
pub fn integer_i64(value: &[u8]) -> Option<i64> {
    if value.len() > 8 {
        return None;
    }
    let neg = value.first()? & 0x80 != 0;
    let mut v: i64 = if neg { -1 } else { 0 };
    for &b in value {
        v = (v << 8) | i64::from(b);
    }
    Some(v)
}

/// Bit `n` of a BIT STRING's contents, numbered as RFC 4120 does: bit 0 is the most significant
/// bit of the first byte after the unused-bits octet. Missing bits read as clear.
pub fn bit_string_flag(value: &[u8], n: usize) -> bool {
    value
        .get(1 + n / 8)
        .is_some_and(|byte| byte & (0x80 >> (n % 8)) != 0)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_short_and_long_lengths() {
        let (t, rest) = read_tlv(&[0x30, 0x03, 0x02, 0x01, 0x05, 0xff]).unwrap();
        assert_eq!(
            (t.class, t.constructed, t.tag, t.value),
            (Class::Universal, true, 16, &[2u8, 1, 5][..])
        );
        assert_eq!(rest, &[0xff]);
        let mut long = vec![0x04, 0x82, 0x01, 0x00];
        long.extend(std::iter::repeat_n(0u8, 256));
        let (t, rest) = read_tlv(&long).unwrap();
        assert_eq!((t.header_len, t.value.len(), rest.len()), (4, 256, 0));
    }

    #[test]
    fn length_beyond_input_is_reported_not_allocated() {
        assert_eq!(
            read_tlv(&[0x04, 0x84, 0xff, 0xff, 0xff, 0xff]),
            Err(DerError::LengthBeyondInput {
                offset: 1,
                needed: 0xffff_ffff
            })
        );
        // A 0x7fffffff length on a 40-byte input: reported at its length octets, from the
        // lengths alone (nothing is sized by the claim).
        let mut forty = vec![0x30, 0x84, 0x7f, 0xff, 0xff, 0xff];
        forty.resize(40, 0);
        assert_eq!(
            read_tlv(&forty),
            Err(DerError::LengthBeyondInput {
                offset: 1,
                needed: 0x7fff_ffff + 6 - 40
            })
        );
        // Long-form tag: the length octets start after the three identifier octets.
        assert_eq!(
            read_tlv(&[0x7f, 0x81, 0x01, 0x05, 0x00]),
            Err(DerError::LengthBeyondInput {
                offset: 3,
                needed: 4
            })
        );
        assert_eq!(
            read_tlv(&[0x04, 0x84, 0xff]).map_err(|e| e.needed()),
            Err(Some(3))
        );
        // A cut header is not a length overrun.
        assert_eq!(read_tlv(&[0x04]), Err(DerError::Incomplete { needed: 1 }));
        assert_eq!(read_tlv(&[]), Err(DerError::Incomplete { needed: 2 }));
        assert!(matches!(
            read_tlv(&[0x30, 0x80, 0, 0]),
            Err(DerError::Malformed { .. })
        ));
    }

    #[test]
    fn depth_guard() {
        assert_eq!(enter(MAX_DEPTH, 7), Ok(()));
        assert_eq!(
            enter(MAX_DEPTH + 1, 7),
            Err(DerError::TooDeep { offset: 7 })
        );
        assert_eq!(DerError::TooDeep { offset: 7 }.needed(), None);
    }

    #[test]
    fn oid_and_integer_and_bits() {
        // 1.2.840.113554.1.2.2 (Kerberos V5 GSS mechanism)
        assert_eq!(
            oid_to_string(&[0x2a, 0x86, 0x48, 0x86, 0xf7, 0x12, 0x01, 0x02, 0x02]).as_deref(),
            Some("1.2.840.113554.1.2.2")
        );
        assert_eq!(integer_i64(&[0xff, 0x7f]), Some(-129));
        assert_eq!(integer_i64(&[0x29]), Some(41));
        // KDC options 0x40810010: forwardable(1), renewable(8), canonicalize(15), renewable-ok(27)
        let bits = [0x00, 0x40, 0x81, 0x00, 0x10];
        let set: Vec<usize> = (0..32).filter(|&n| bit_string_flag(&bits, n)).collect();
        assert_eq!(set, vec![1, 8, 15, 27]);
    }
}
