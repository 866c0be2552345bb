//! RDATA rendered as one line of text per record (RFC 1035 §3.3, RFC 3596 AAAA, RFC 2782 SRV,
//! RFC 6672 DNAME, RFC 6891 §6.1 OPT).
//!
//! ```text
//! A      4 octets                      AAAA  16 octets
//! CNAME / NS / PTR / DNAME   <name>     MX    PREFERENCE(16) EXCHANGE<name>
//! SRV    PRIORITY(16) WEIGHT(16) PORT(16) TARGET<name>
//! SOA    MNAME<name> RNAME<name> SERIAL(32) REFRESH(32) RETRY(32) EXPIRE(32) MINIMUM(32)
//! TXT    1*( LEN(8) LEN octets )
//! OPT    *( OPTION-CODE(16) OPTION-LENGTH(16) OPTION-DATA ), with CLASS = UDP payload size and
//!        TTL = EXTENDED-RCODE(8) VERSION(8) DO(1) Z(15)
//! ```
//! Names inside RDATA may be compressed, so they are read against the whole message.

use std::fmt::Write as _;
use std::net::{Ipv4Addr, Ipv6Addr};

use super::codes::RrType;
use super::name::read_name;
use super::note;

/// Longest rendered TXT; the rest is summarised, as a TXT record can hold 64 KiB.
const MAX_TXT_TEXT: usize = 8192;

/// The fixed fields of one resource record; its RDATA is `msg[rdata_start..rdata_start + rdata_len]`
/// (the caller has checked those bytes are present).
pub struct RawRecord {
    pub rtype: RrType,
    pub class: u16,
    pub ttl: u32,
    pub rdata_start: usize,
    pub rdata_len: usize,
}

/// EDNS fields carried in the OPT pseudo-record's CLASS and TTL (RFC 6891 §6.1.3).
pub struct OptHeader {
    pub udp_payload_size: u16,
    pub extended_rcode: u8,
    pub version: u8,
    pub dnssec_ok: bool,
}

impl OptHeader {
    pub fn from_record(rr: &RawRecord) -> Self {
        let [extended_rcode, version, flags_high, _] = rr.ttl.to_be_bytes();
        OptHeader {
            udp_payload_size: rr.class,
            extended_rcode,
            version,
            dnssec_ok: flags_high & 0x80 != 0,
        }
    }
}

/// Render the RDATA of `rr`; layout errors become anomalies and a `<n bytes>` fallback.
pub fn render(msg: &[u8], rr: &RawRecord, anomalies: &mut Vec<&'static str>) -> String {
    let start = rr.rdata_start;
    let end = start + rr.rdata_len;
    let rdata = msg.get(start..end).unwrap_or_default();
    let rendered = match rr.rtype {
        RrType::A => <[u8; 4]>::try_from(rdata)
            .ok()
            .map(|octets| Ipv4Addr::from(octets).to_string()),
        RrType::AAAA => <[u8; 16]>::try_from(rdata)
            .ok()
            .map(|octets| Ipv6Addr::from(octets).to_string()),
        RrType::CNAME | RrType::NS | RrType::PTR | RrType::DNAME => {
            name_at(msg, start, end, anomalies).map(|(name, _)| name)
        }
        RrType::MX => u16_at(rdata, 0).and_then(|preference| {
            name_at(msg, start + 2, end, anomalies).map(|(name, _)| format!("{preference} {name}"))
        }),
        RrType::SRV => match (u16_at(rdata, 0), u16_at(rdata, 2), u16_at(rdata, 4)) {
            (Some(priority), Some(weight), Some(port)) => name_at(msg, start + 6, end, anomalies)
                .map(|(target, _)| format!("{priority} {weight} {port} {target}")),
            _ => None,
        },
        RrType::SOA => soa(msg, start, end, anomalies),
        RrType::TXT => txt(rdata),
        RrType::OPT => opt(rr, rdata),
        _ => Some(format!("<{} bytes>", rdata.len())),
    };
    rendered.unwrap_or_else(|| {
        note(anomalies, "bad_rdata");
        format!("<{} bytes>", rdata.len())
    })
}

fn u16_at(bytes: &[u8], at: usize) -> Option<u16> {
    let pair = bytes.get(at..at + 2)?;
    Some(u16::from_be_bytes([*pair.first()?, *pair.get(1)?]))
}

fn u32_at(bytes: &[u8], at: usize) -> Option<u32> {
    let quad = bytes.get(at..at + 4)?;
    <[u8; 4]>::try_from(quad).ok().map(u32::from_be_bytes)
}

/// A (possibly compressed) name at `at` whose in-place bytes must stay inside the RDATA.
fn name_at(
    msg: &[u8],
    at: usize,
    rdata_end: usize,
    anomalies: &mut Vec<&'static str>,
) -> Option<(String, usize)> {
    if at >= rdata_end {
        return None;
    }
    let name = read_name(msg, at, anomalies).ok()?;
    if name.end > rdata_end {
        note(anomalies, "rdata_overrun");
    }
    Some((name.text, name.end))
}

fn soa(msg: &[u8], start: usize, end: usize, anomalies: &mut Vec<&'static str>) -> Option<String> {
    let (mname, after_mname) = name_at(msg, start, end, anomalies)?;
    let (rname, after_rname) = name_at(msg, after_mname, end, anomalies)?;
    let numbers = msg.get(after_rname..end)?;
    let field = |i: usize| u32_at(numbers, i * 4);
    Some(format!(
        "{mname} {rname} {} {} {} {} {}",
        field(0)?,
        field(1)?,
        field(2)?,
        field(3)?,
        field(4)?
    ))
}

/// Character-strings as `"one" "two"` (dig's style), non-printables as `\DDD`.
fn txt(rdata: &[u8]) -> Option<String> {
    let mut text = String::new();
    let mut rest = rdata;
    while let Some((&len, tail)) = rest.split_first() {
        let (string, after) = tail.split_at_checked(usize::from(len))?;
        if text.len() >= MAX_TXT_TEXT {
            let _ = write!(text, " ...<{} more bytes>", rest.len());
            return Some(text);
        }
        if !text.is_empty() {
            text.push(' ');
        }
        text.push('"');
        for &byte in string {
            match byte {
                b'"' | b'\\' => {
                    text.push('\\');
                    text.push(char::from(byte));
                }
                0x20..=0x7e => text.push(char::from(byte)),
                _ => {
                    let _ = write!(text, "\\{byte:03}");
                }
            }
        }
        text.push('"');
        rest = after;
    }
    Some(text)
}

/// EDNS option codes worth naming (IANA "DNS EDNS0 Option Codes").
fn edns_option_name(code: u16) -> Option<&'static str> {
    Some(match code {
        3 => "NSID",
        8 => "CLIENT_SUBNET",
        9 => "EXPIRE",
        10 => "COOKIE",
        11 => "TCP_KEEPALIVE",
        12 => "PADDING",
        15 => "EDE",
        _ => return None,
    })
}

fn opt(rr: &RawRecord, rdata: &[u8]) -> Option<String> {
    let header = OptHeader::from_record(rr);
    let mut text = format!(
        "udp_payload_size={} ext_rcode={} version={} do={}",
        header.udp_payload_size,
        header.extended_rcode,
        header.version,
        u8::from(header.dnssec_ok)
    );
    let mut rest = rdata;
    let mut first = true;
    while !rest.is_empty() {
        let code = u16_at(rest, 0)?;
        let len = usize::from(u16_at(rest, 2)?);
        rest = rest.get(4 + len..)?;
        text.push_str(if first { " options=" } else { "," });
        first = false;
        match edns_option_name(code) {
            Some(name) => text.push_str(name),
            None => {
                let _ = write!(text, "{code}");
            }
        }
    }
    Some(text)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rendered(msg: &[u8], rtype: RrType, start: usize) -> (String, Vec<&'static str>) {
        let rr = RawRecord {
            rtype,
            class: 1,
            ttl: 0,
            rdata_start: start,
            rdata_len: msg.len() - start,
        };
        let mut anomalies = Vec::new();
        let text = render(msg, &rr, &mut anomalies);
        (text, anomalies)
    }

    #[test]
    fn fixed_layouts() {
        assert_eq!(rendered(b"\x0a\x00\x00\x01", RrType::A, 0).0, "10.0.0.1");
        assert_eq!(
            rendered(
                b"\x20\x01\x0d\xb8\0\0\0\0\0\0\0\0\0\0\0\x01",
                RrType::AAAA,
                0
            )
            .0,
            "2001:db8::1"
        );
        assert_eq!(
            rendered(b"\x00\x0a\x04mail\x00", RrType::MX, 0).0,
            "10 mail"
        );
        assert_eq!(
            rendered(
                b"\x00\x00\x00\x64\x00\x58\x03dc1\x03lab\x00",
                RrType::SRV,
                0
            )
            .0,
            "0 100 88 dc1.lab"
        );
        assert_eq!(
            rendered(b"\x02hi\x03a\"b", RrType::TXT, 0).0,
            "\"hi\" \"a\\\"b\""
        );
        assert_eq!(rendered(b"\x01\x02\x03", RrType(99), 0).0, "<3 bytes>");
    }

    #[test]
    fn soa_with_compressed_names() {
        // 0: "ns.x" ; 6: rdata = pointer to 0, "h" + pointer to 3 ("x"), five numbers.
        let mut msg = b"\x02ns\x01x\x00\xc0\x00\x01h\xc0\x03".to_vec();
        for n in [2024u32, 3600, 600, 86400, 300] {
            msg.extend_from_slice(&n.to_be_bytes());
        }
        let (text, anomalies) = rendered(&msg, RrType::SOA, 6);
        assert_eq!(text, "ns.x h.x 2024 3600 600 86400 300");
        assert!(anomalies.is_empty());
    }

    #[test]
    fn bad_layouts_fall_back() {
        let (text, anomalies) = rendered(b"\x0a\x00\x00", RrType::A, 0);
        assert_eq!(text, "<3 bytes>");
        assert_eq!(anomalies, vec!["bad_rdata"]);
        assert_eq!(rendered(b"\x05ab", RrType::TXT, 0).0, "<3 bytes>");
        assert_eq!(rendered(b"\x00\x0a", RrType::MX, 0).0, "<2 bytes>");
        assert_eq!(
            rendered(b"\x00\x0a\x00\x04ab", RrType::OPT, 0).0,
            "<6 bytes>"
        );
    }

    #[test]
    fn opt_summary() {
        let rr = RawRecord {
            rtype: RrType::OPT,
            class: 1232,
            ttl: 0x0100_8000,
            rdata_start: 0,
            rdata_len: 12,
        };
        let msg = b"\x00\x0a\x00\x02ab\x00\x0c\x00\x00\x00\x63";
        let mut anomalies = Vec::new();
        let text = render(&msg[..], &rr, &mut anomalies);
        assert_eq!(text, "<12 bytes>"); // the last option header is cut: 2 of 4 bytes
        let rr = RawRecord {
            rdata_len: 10,
            ..rr
        };
        let text = render(&msg[..], &rr, &mut anomalies);
        assert_eq!(
            text,
            "udp_payload_size=1232 ext_rcode=1 version=0 do=1 options=COOKIE,PADDING"
        );
    }
}
