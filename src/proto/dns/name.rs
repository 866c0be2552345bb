//! Domain names on the wire, with message compression (RFC 1035 §3.1, §4.1.4).
//!
//! ```text
//! name    = *label ( zero-octet / pointer )
//! label   = 00xxxxxx (length 1..63) followed by that many octets
//! pointer = 11xxxxxx xxxxxxxx: 14-bit offset from the start of the message
//!           (01 and 10 prefixes were the RFC 2671 extended label types, now unused)
//! ```
//!
//! A hostile message can build pointer loops, endless chains of forward pointers, or names far
//! longer than the RFC's 255 octets. Decoding stops at each of these and records an anomaly
//! instead of failing the message: one bad name should not hide the rest of a response.

use std::fmt::Write as _;

use super::note;

/// RFC 1035 §3.1: a name is at most 255 octets on the wire.
pub const MAX_WIRE_LEN: usize = 255;
/// Labels kept per name. 255 octets hold at most 127 labels, so this only matters for names
/// that are already over the RFC limit (padded or compressed to absurd lengths).
pub const MAX_LABELS: usize = 255;
/// Presentation-length tolerance past the RFC limit: real resolvers (dnsmasq, hence Suricata's
/// `MAX_NAME_LEN = 1025`) accept longer names, and an analyst wants to see them, not lose them.
pub const MAX_TEXT_LEN: usize = 1025;
/// Compression pointers followed per name. Legitimate compressors need a handful at most.
/// One more cuts the name and notes `name_pointer_limit` (a chain, legal but absurd); a pointer
/// met twice notes `name_loop` instead.
pub const MAX_POINTER_HOPS: usize = 64;

const POINTER_MASK: u8 = 0xc0;

/// A decoded name: its presentation text and the offset just past its in-place bytes (after the
/// terminating zero octet or the first compression pointer), where the record continues.
#[derive(Debug)]
pub struct DecodedName {
    pub text: String,
    pub end: usize,
}

/// The in-place bytes of the name ran past the end of the message, so where the record continues
/// is unknown: the caller must stop walking this message.
#[derive(Debug, PartialEq, Eq)]
pub struct NameTruncated;

/// Decode the name starting at `start` in `msg` (the whole DNS message, for pointers).
pub fn read_name(
    msg: &[u8],
    start: usize,
    anomalies: &mut Vec<&'static str>,
) -> Result<DecodedName, NameTruncated> {
    let mut text = String::new();
    let mut pos = start;
    // Start of the run of labels being read; a pointer must lead strictly before it.
    let mut segment_start = start;
    let mut end: Option<usize> = None;
    // Where each pointer followed so far sits: meeting one again is a loop. On the stack, so a
    // hostile chain costs no allocation.
    let mut pointers = [0usize; MAX_POINTER_HOPS];
    let mut hops = 0usize;
    let mut labels = 0usize;
    let mut wire_len = 1usize; // the terminating zero octet
    let mut keep_text = true;

    loop {
        let Some(&len_octet) = msg.get(pos) else {
            return match end {
                None => Err(NameTruncated),
                Some(end) => {
                    note(anomalies, "name_truncated");
                    Ok(finish(text, end))
                }
            };
        };
        match len_octet & POINTER_MASK {
            0x00 => {
                let len = usize::from(len_octet);
                if len == 0 {
                    let end = end.unwrap_or(pos + 1);
                    return Ok(finish(text, end));
                }
                let Some(label) = msg.get(pos + 1..pos + 1 + len) else {
                    return match end {
                        None => Err(NameTruncated),
                        Some(end) => {
                            note(anomalies, "name_truncated");
                            Ok(finish(text, end))
                        }
                    };
                };
                labels += 1;
                wire_len += len + 1;
                if wire_len > MAX_WIRE_LEN {
                    note(anomalies, "name_too_long");
                }
                if labels > MAX_LABELS {
                    note(anomalies, "label_limit");
                    keep_text = false;
                }
                if keep_text {
                    keep_text = append_label(&mut text, label);
                    if !keep_text {
                        note(anomalies, "name_too_long");
                    }
                }
                pos += 1 + len;
                // Once past the in-place part and the text is capped, nothing more is learnt.
                if !keep_text && end.is_some() {
                    return Ok(finish(text, end.unwrap_or(pos)));
                }
            }
            POINTER_MASK => {
                let Some(&low) = msg.get(pos + 1) else {
                    return match end {
                        None => Err(NameTruncated),
                        Some(end) => {
                            note(anomalies, "name_truncated");
                            Ok(finish(text, end))
                        }
                    };
                };
                let target = usize::from(u16::from_be_bytes([len_octet & !POINTER_MASK, low]));
                let here = pos;
                let end_here = *end.get_or_insert(pos + 2);
                if pointers
                    .get(..hops)
                    .is_some_and(|seen| seen.contains(&here))
                {
                    note(anomalies, "name_loop");
                    return Ok(finish(text, end_here));
                }
                let Some(slot) = pointers.get_mut(hops) else {
                    note(anomalies, "name_pointer_limit");
                    return Ok(finish(text, end_here));
                };
                *slot = here;
                hops += 1;
                if target >= segment_start && target <= here {
                    // Points back into the labels being read: following it would revisit them.
                    note(anomalies, "name_loop");
                    return Ok(finish(text, end_here));
                }
                if target > here {
                    // Not produced by any real compressor; allowed, but bounded by the hop limit.
                    note(anomalies, "name_pointer_forward");
                }
                if target >= msg.len() {
                    note(anomalies, "name_pointer_out_of_range");
                    return Ok(finish(text, end_here));
                }
                if !keep_text {
                    return Ok(finish(text, end_here));
                }
                pos = target;
                segment_start = target;
            }
            _ => {
                // Extended label types (RFC 2671 §3, deprecated by RFC 6891): length unknown.
                note(anomalies, "bad_label_type");
                return match end {
                    None => Err(NameTruncated),
                    Some(end) => Ok(finish(text, end)),
                };
            }
        }
    }
}

/// Offset just past the name at `start` without decoding it or following pointers; `None` when
/// the in-place bytes are cut or use an unknown label type. Allocation-free (for the probe).
pub fn skip_name(msg: &[u8], start: usize) -> Option<usize> {
    let mut pos = start;
    loop {
        let len_octet = *msg.get(pos)?;
        match len_octet & POINTER_MASK {
            0x00 if len_octet == 0 => return Some(pos + 1),
            0x00 => {
                pos += 1 + usize::from(len_octet);
                if pos - start > MAX_WIRE_LEN {
                    return None;
                }
            }
            POINTER_MASK => {
                msg.get(pos + 1)?;
                return Some(pos + 2);
            }
            _ => return None,
        }
    }
}

fn finish(text: String, end: usize) -> DecodedName {
    let text = if text.is_empty() {
        ".".to_string()
    } else {
        text
    };
    DecodedName { text, end }
}

/// Append one label in presentation form; `false` once the text limit is reached.
/// Bytes that would be ambiguous in text ('.', '\\', non-printables) are written as `\.`,
/// `\\` or `\DDD` (RFC 4343 §2.1 style) so a label holding a dot is not mistaken for two.
fn append_label(text: &mut String, label: &[u8]) -> bool {
    if !text.is_empty() {
        text.push('.');
    }
    for &byte in label {
        match byte {
            b'.' | b'\\' => {
                text.push('\\');
                text.push(char::from(byte));
            }
            0x21..=0x7e => text.push(char::from(byte)),
            _ => {
                let _ = write!(text, "\\{byte:03}");
            }
        }
        if text.len() >= MAX_TEXT_LEN {
            return false;
        }
    }
    true
}

#[cfg(test)]
mod tests {
    use super::*;

    fn read(msg: &[u8], start: usize) -> (Result<DecodedName, NameTruncated>, Vec<&'static str>) {
        let mut anomalies = Vec::new();
        let name = read_name(msg, start, &mut anomalies);
        (name, anomalies)
    }

    #[test]
    fn plain_and_compressed() {
        // 0: "www.example.com", 17: pointer to 4 ("example.com"), 19: "a" + pointer to 0.
        let msg = b"\x03www\x07example\x03com\x00\xc0\x04\x01a\xc0\x00";
        let (name, anomalies) = read(msg, 0);
        let name = name.ok();
        assert_eq!(
            name.as_ref().map(|n| n.text.as_str()),
            Some("www.example.com")
        );
        assert_eq!(name.map(|n| n.end), Some(17));
        let (name, _) = read(msg, 17);
        assert_eq!(
            name.ok().map(|n| (n.text, n.end)),
            Some(("example.com".into(), 19))
        );
        let (name, _) = read(msg, 19);
        assert_eq!(
            name.ok().map(|n| (n.text, n.end)),
            Some(("a.www.example.com".into(), 23))
        );
        assert!(anomalies.is_empty());
    }

    #[test]
    fn root_and_escapes() {
        let (name, _) = read(b"\x00", 0);
        assert_eq!(name.ok().map(|n| n.text), Some(".".into()));
        let (name, _) = read(b"\x03a.b\x02\x00\\\x00", 0);
        assert_eq!(name.ok().map(|n| n.text), Some("a\\.b.\\000\\\\".into()));
    }

    #[test]
    fn self_pointer_is_a_loop() {
        let (name, anomalies) = read(b"\x01a\xc0\x00", 0);
        assert_eq!(name.ok().map(|n| (n.text, n.end)), Some(("a".into(), 4)));
        assert_eq!(anomalies, vec!["name_loop"]);
        let (name, anomalies) = read(b"\xc0\x00", 0);
        assert_eq!(name.ok().map(|n| n.end), Some(2));
        assert_eq!(anomalies, vec!["name_loop"]);
    }

    #[test]
    fn two_pointer_cycle_is_a_loop() {
        // 0: forward pointer to 4; 4: label "x" then a pointer back to 0, and round again.
        let msg = b"\xc0\x04\x00\x00\x01x\xc0\x00";
        let (name, anomalies) = read(msg, 0);
        assert_eq!(name.ok().map(|n| n.end), Some(2));
        assert!(anomalies.contains(&"name_loop"), "{anomalies:?}");
        assert!(anomalies.contains(&"name_pointer_forward"));
    }

    #[test]
    fn forward_pointer_chain_is_bounded() {
        // Every pointer leads 2 bytes further on: 100 hops, more than the limit.
        let mut msg = Vec::new();
        for i in 0..100u16 {
            msg.extend_from_slice(&(0xc000 | ((i + 1) * 2)).to_be_bytes());
        }
        msg.push(0);
        let (name, anomalies) = read(&msg, 0);
        // Cut, and the record continues right after the name's own (first) pointer.
        assert_eq!(name.ok().map(|n| n.end), Some(2));
        assert!(anomalies.contains(&"name_pointer_limit"), "{anomalies:?}");
        assert!(!anomalies.contains(&"name_loop"));
    }

    #[test]
    fn pointer_chain_limit_is_exact() {
        // A chain of `n` backward pointers ending at "a": label at 0, pointer k at 3 + 2k
        // points to the one before it; the name is read from the last pointer.
        let chain = |n: usize| {
            let mut msg = b"\x01a\x00".to_vec();
            let mut prev = 0u16;
            for _ in 0..n {
                let here = msg.len() as u16;
                msg.extend_from_slice(&(0xc000 | prev).to_be_bytes());
                prev = here;
            }
            (msg, usize::from(prev))
        };
        let (msg, start) = chain(MAX_POINTER_HOPS);
        let (name, anomalies) = read(&msg, start);
        assert_eq!(
            name.ok().map(|n| (n.text, n.end)),
            Some(("a".into(), start + 2))
        );
        assert!(anomalies.is_empty(), "{anomalies:?}");
        let (msg, start) = chain(MAX_POINTER_HOPS + 1);
        let (name, anomalies) = read(&msg, start);
        assert_eq!(
            name.ok().map(|n| (n.text, n.end)),
            Some((".".into(), start + 2))
        );
        assert_eq!(anomalies, vec!["name_pointer_limit"]);
    }

    #[test]
    fn long_names_are_flagged_and_capped() {
        // 200 labels of 63 bytes: 12 800 wire bytes, far over both limits.
        let mut msg = Vec::new();
        for _ in 0..200 {
            msg.push(63);
            msg.extend_from_slice(&[b'x'; 63]);
        }
        msg.push(0);
        let (name, anomalies) = read(&msg, 0);
        let name = name.ok();
        assert_eq!(name.as_ref().map(|n| n.end), Some(msg.len()));
        assert!(
            name.map(|n| n.text.len() <= MAX_TEXT_LEN + 4)
                .unwrap_or(false)
        );
        assert!(anomalies.contains(&"name_too_long"));
        // 300 one-byte labels: over the label limit.
        let mut msg = Vec::new();
        for _ in 0..300 {
            msg.extend_from_slice(b"\x01a");
        }
        msg.push(0);
        let (_, anomalies) = read(&msg, 0);
        assert!(anomalies.contains(&"label_limit"));
    }

    #[test]
    fn truncation_in_place_and_behind_a_pointer() {
        assert_eq!(read(b"\x03ww", 0).0.err(), Some(NameTruncated));
        assert_eq!(read(b"\x03www", 0).0.err(), Some(NameTruncated));
        assert_eq!(read(b"\xc0", 0).0.err(), Some(NameTruncated));
        assert_eq!(read(b"", 0).0.err(), Some(NameTruncated));
        let (name, anomalies) = read(b"\x05ab\xc0\x00", 3);
        // Pointer to 0, whose label claims 5 bytes that overlap and run off the end.
        assert_eq!(name.ok().map(|n| n.end), Some(5));
        assert!(anomalies.contains(&"name_truncated"));
        let (name, anomalies) = read(b"\x01a\xc0\x40", 0);
        assert_eq!(name.ok().map(|n| n.text), Some("a".into()));
        assert!(anomalies.contains(&"name_pointer_out_of_range"));
    }

    #[test]
    fn extended_label_type_stops_the_name() {
        let (name, anomalies) = read(b"\x40\x01", 0);
        assert!(name.is_err());
        assert_eq!(anomalies, vec!["bad_label_type"]);
    }

    #[test]
    fn skip_name_matches_read_name() {
        let msg = b"\x03www\x07example\x03com\x00\xc0\x04";
        assert_eq!(skip_name(msg, 0), Some(17));
        assert_eq!(skip_name(msg, 17), Some(19));
        assert_eq!(skip_name(b"\x03ww", 0), None);
        assert_eq!(skip_name(b"\x80", 0), None);
    }
}
