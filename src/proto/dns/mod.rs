//! DNS messages (RFC 1035 §4, RFC 3596 AAAA, RFC 2782 SRV, RFC 6891 EDNS), as sent over UDP, in
//! TCP records (RFC 1035 §4.2.2), mDNS (RFC 6762) and LLMNR (RFC 4795).
//!
//! ```text
//! header (12 octets):
//!   ID(16) | QR(1) OPCODE(4) AA(1) TC(1) RD(1) | RA(1) Z(1) AD(1) CD(1) RCODE(4)
//!   QDCOUNT(16) ANCOUNT(16) NSCOUNT(16) ARCOUNT(16)
//! question:  QNAME<name> QTYPE(16) QCLASS(16)
//! record:    NAME<name> TYPE(16) CLASS(16) TTL(32) RDLENGTH(16) RDATA
//! ```
//!
//! Decoding is lenient: only a missing header fails. A bad name, cut record or count that
//! promises more than the bytes hold becomes an entry in `anomalies`, and everything before it
//! is kept. Header counts never size an allocation: sections grow only as records are read.

mod chain;
pub mod codes;
mod name;
mod rdata;

use serde::Serialize;

pub use codes::{Opcode, Rcode, RrType};
pub use name::MAX_POINTER_HOPS;
use rdata::{OptHeader, RawRecord};

const HEADER_LEN: usize = 12;
/// Smallest question: root name (1) + QTYPE + QCLASS.
const MIN_QUESTION_LEN: usize = 5;
/// Smallest record: root name (1) + TYPE + CLASS + TTL + RDLENGTH.
const MIN_RECORD_LEN: usize = 11;

#[derive(Clone, Debug, Serialize)]
pub struct DnsMessage {
    pub id: u16,
    pub response: bool,
    pub opcode: Opcode,
    /// With EDNS, the 12-bit extended RCODE (RFC 6891 §6.1.3).
    pub rcode: Rcode,
    /// Names of the header flags that are set: `aa`, `tc`, `rd`, `ra`, `z`, `ad`, `cd`.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub flags: Vec<&'static str>,
    /// Name and type of the first question.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub qname: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub qtype: Option<RrType>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub questions: Vec<Question>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub answers: Vec<Record>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub authority: Vec<Record>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub additional: Vec<Record>,
    /// What was odd or broken, each named once: `truncated`, `name_loop`,
    /// `name_pointer_limit` (more than `MAX_POINTER_HOPS` compression pointers), `name_too_long`,
    /// `label_limit`, `name_truncated`, `name_pointer_forward`, `name_pointer_out_of_range`,
    /// `bad_label_type`, `bad_rdata`, `rdata_overrun`, `trailing_bytes`, `multiple_opt`.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub anomalies: Vec<&'static str>,
}

#[derive(Clone, Debug, Serialize)]
pub struct Question {
    pub name: String,
    pub qtype: RrType,
    /// Raw QCLASS: 1 = IN; mDNS sets the top bit to ask for a unicast reply.
    pub qclass: u16,
}

#[derive(Clone, Debug, Serialize)]
pub struct Record {
    pub name: String,
    pub rtype: RrType,
    pub ttl: u32,
    /// Presentation form: an address, a target name, `pref target` (MX), `prio weight port
    /// target` (SRV), the SOA fields, quoted TXT strings, an OPT summary, or `<n bytes>`.
    pub data: String,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub enum DnsError {
    /// Shorter than the 12-octet header: `needed` more bytes would complete it.
    Truncated { needed: usize },
}

impl std::fmt::Display for DnsError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            DnsError::Truncated { needed } => {
                write!(f, "DNS header truncated: {needed} more bytes needed")
            }
        }
    }
}

impl std::error::Error for DnsError {}

/// Framing errors of a DNS-over-TCP record.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum RecordError {
    /// The stream must wait for `needed` more bytes.
    NeedMore {
        needed: usize,
    },
    Malformed {
        offset: usize,
        what: &'static str,
    },
}

impl std::fmt::Display for RecordError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            RecordError::NeedMore { needed } => write!(f, "{needed} more bytes needed"),
            RecordError::Malformed { offset, what } => {
                write!(f, "malformed at offset {offset}: {what}")
            }
        }
    }
}

impl std::error::Error for RecordError {}

/// Record an anomaly once.
fn note(anomalies: &mut Vec<&'static str>, what: &'static str) {
    if !anomalies.contains(&what) {
        anomalies.push(what);
    }
}

fn be16(bytes: &[u8], at: usize) -> Option<u16> {
    Some(u16::from_be_bytes([*bytes.get(at)?, *bytes.get(at + 1)?]))
}

fn be32(bytes: &[u8], at: usize) -> Option<u32> {
    let quad = bytes.get(at..at + 4)?;
    <[u8; 4]>::try_from(quad).ok().map(u32::from_be_bytes)
}

/// Flag bits of header octets 2-3, in the order they are listed.
const FLAG_BITS: [(u16, &str); 7] = [
    (0x0400, "aa"),
    (0x0200, "tc"),
    (0x0100, "rd"),
    (0x0080, "ra"),
    (0x0040, "z"),
    (0x0020, "ad"),
    (0x0010, "cd"),
];

/// Decode one DNS message (a UDP payload or the body of one TCP record).
pub fn decode(bytes: &[u8]) -> Result<DnsMessage, DnsError> {
    let (Some(id), Some(bits), Some(qdcount), Some(ancount), Some(nscount), Some(arcount)) = (
        be16(bytes, 0),
        be16(bytes, 2),
        be16(bytes, 4),
        be16(bytes, 6),
        be16(bytes, 8),
        be16(bytes, 10),
    ) else {
        return Err(DnsError::Truncated {
            needed: HEADER_LEN.saturating_sub(bytes.len()),
        });
    };
    let mut msg = DnsMessage {
        id,
        response: bits & 0x8000 != 0,
        // Masked to 4 bits, so the cast cannot lose anything.
        opcode: Opcode(((bits >> 11) & 0x0f) as u8),
        rcode: Rcode(bits & 0x000f),
        flags: FLAG_BITS
            .iter()
            .filter(|(bit, _)| bits & bit != 0)
            .map(|&(_, name)| name)
            .collect(),
        qname: None,
        qtype: None,
        questions: Vec::new(),
        answers: Vec::new(),
        authority: Vec::new(),
        additional: Vec::new(),
        anomalies: Vec::new(),
    };

    let mut pos = HEADER_LEN;
    let mut complete = read_questions(bytes, &mut pos, qdcount, &mut msg);
    let mut opt: Option<OptHeader> = None;
    for (count, section) in [(ancount, 0usize), (nscount, 1), (arcount, 2)] {
        if !complete {
            break;
        }
        let mut records = Vec::new();
        complete = read_records(
            bytes,
            &mut pos,
            count,
            &mut records,
            &mut msg.anomalies,
            &mut opt,
        );
        match section {
            0 => msg.answers = records,
            1 => msg.authority = records,
            _ => msg.additional = records,
        }
    }
    if !complete {
        note(&mut msg.anomalies, "truncated");
    } else if pos < bytes.len() {
        note(&mut msg.anomalies, "trailing_bytes");
    }
    if let Some(opt) = opt {
        msg.rcode = Rcode((u16::from(opt.extended_rcode) << 4) | msg.rcode.0);
    }
    if let Some(first) = msg.questions.first() {
        msg.qname = Some(first.name.clone());
        msg.qtype = Some(first.qtype);
    }
    Ok(msg)
}

/// Read up to `count` questions; `false` when the bytes ended first.
fn read_questions(bytes: &[u8], pos: &mut usize, count: u16, msg: &mut DnsMessage) -> bool {
    for _ in 0..count {
        if bytes.len().saturating_sub(*pos) < MIN_QUESTION_LEN {
            return false;
        }
        let Ok(name) = name::read_name(bytes, *pos, &mut msg.anomalies) else {
            return false;
        };
        let (Some(qtype), Some(qclass)) = (be16(bytes, name.end), be16(bytes, name.end + 2)) else {
            return false;
        };
        msg.questions.push(Question {
            name: name.text,
            qtype: RrType(qtype),
            qclass,
        });
        *pos = name.end + 4;
    }
    true
}

/// Read up to `count` resource records into `out`; `false` when the bytes ended first.
fn read_records(
    bytes: &[u8],
    pos: &mut usize,
    count: u16,
    out: &mut Vec<Record>,
    anomalies: &mut Vec<&'static str>,
    opt: &mut Option<OptHeader>,
) -> bool {
    for _ in 0..count {
        if bytes.len().saturating_sub(*pos) < MIN_RECORD_LEN {
            return false;
        }
        let Ok(owner) = name::read_name(bytes, *pos, anomalies) else {
            return false;
        };
        let at = owner.end;
        let (Some(rtype), Some(class), Some(ttl), Some(rdlength)) = (
            be16(bytes, at),
            be16(bytes, at + 2),
            be32(bytes, at + 4),
            be16(bytes, at + 8),
        ) else {
            return false;
        };
        let rdata_start = at + 10;
        let rdata_len = usize::from(rdlength);
        if bytes.len() < rdata_start + rdata_len {
            return false;
        }
        let raw = RawRecord {
            rtype: RrType(rtype),
            class,
            ttl,
            rdata_start,
            rdata_len,
        };
        if raw.rtype == RrType::OPT {
            if opt.is_some() {
                note(anomalies, "multiple_opt");
            } else {
                *opt = Some(OptHeader::from_record(&raw));
            }
        }
        let data = rdata::render(bytes, &raw, anomalies);
        out.push(Record {
            name: owner.text,
            rtype: raw.rtype,
            ttl,
            data,
        });
        *pos = rdata_start + rdata_len;
    }
    true
}

/// Split one DNS-over-TCP record off the front of `buf` (RFC 1035 §4.2.2: a 2-octet length,
/// then the message). Returns the message and the bytes consumed.
pub fn tcp_record(buf: &[u8]) -> Result<(&[u8], usize), RecordError> {
    let Some(len) = be16(buf, 0) else {
        return Err(RecordError::NeedMore {
            needed: 2 - buf.len().min(2),
        });
    };
    let len = usize::from(len);
    if len < HEADER_LEN {
        return Err(RecordError::Malformed {
            offset: 0,
            what: "record shorter than a DNS header",
        });
    }
    let total = 2 + len;
    match buf.get(2..total) {
        Some(message) => Ok((message, total)),
        None => Err(RecordError::NeedMore {
            needed: total - buf.len(),
        }),
    }
}

/// Cheap check that `bytes` could be a DNS message, for traffic on ports other than 53.
/// Allocation-free: reads the header and walks the first question name without decoding it.
pub fn looks_like_dns(bytes: &[u8]) -> bool {
    let (Some(bits), Some(qdcount), Some(ancount), Some(nscount), Some(arcount)) = (
        be16(bytes, 2),
        be16(bytes, 4),
        be16(bytes, 6),
        be16(bytes, 8),
        be16(bytes, 10),
    ) else {
        return false;
    };
    let opcode = Opcode(((bits >> 11) & 0x0f) as u8);
    let header_rcode = Rcode(bits & 0x000f);
    if opcode.name().is_none() || header_rcode.name().is_none() {
        return false;
    }
    let response = bits & 0x8000 != 0;
    let room = bytes.len().saturating_sub(HEADER_LEN);
    let promised = usize::from(qdcount) * MIN_QUESTION_LEN
        + (usize::from(ancount) + usize::from(nscount) + usize::from(arcount)) * MIN_RECORD_LEN;
    if promised > room || qdcount > 32 {
        return false;
    }
    if qdcount == 0 {
        // mDNS announcements carry answers and no question; a query with nothing is not DNS.
        return response && ancount > 0 && name::skip_name(bytes, HEADER_LEN).is_some();
    }
    match name::skip_name(bytes, HEADER_LEN) {
        Some(end) => end + 4 <= bytes.len(),
        None => false,
    }
}

#[cfg(test)]
mod tests;
