//! Fuzz harnesses for kerbscope: one function per decoder entry point, shared by the AFL++
//! targets in `src/bin/fuzz_*.rs` and by the `replay` binary that reruns saved inputs without
//! instrumentation. Each harness feeds arbitrary bytes to one public entry point and serialises
//! what comes out (so the output path is exercised too); the only failure is a panic or abort.
//!
//! Target names (`TARGETS`) are what `tools/fuzz.sh` and `replay` accept.

use std::path::Path;

use kerbscope::capture::{CaptureReader, Frame, LinkType, Timestamp};
use kerbscope::dissect::Dissector;
use kerbscope::net::{NetDecoder, NetLimits, TcpLimits, TcpTable, Transport};
use kerbscope::proto::{der, dns, gss, http, kerberos, ntlm};

/// A harness: arbitrary bytes in, nothing out; a panic is the only failure.
pub type Harness = fn(&[u8]);

/// Every harness by name.
pub const TARGETS: &[(&str, Harness)] = &[
    ("capture", capture),
    ("net", net),
    ("kerberos", kerberos),
    ("dns", dns),
    ("http", http),
    ("spnego", spnego),
    ("ntlmssp", ntlmssp),
    ("der", der),
    ("packets", packets),
    ("analyze", analyze),
];

pub fn target(name: &str) -> Option<Harness> {
    TARGETS.iter().find(|(n, _)| *n == name).map(|(_, f)| *f)
}

fn sink<T: serde::Serialize>(v: &T) {
    // Serialising must not panic either; the string is dropped.
    let _ = serde_json::to_string(v);
}

/// Capture file readers: pcap, pcapng, NetMon, gzip, detected from magic bytes.
pub fn capture(data: &[u8]) {
    let Ok(mut r) = CaptureReader::from_bytes(data.to_vec()) else {
        return;
    };
    let mut n = 0u64;
    while let Ok(Some(f)) = r.next_frame() {
        n = n.wrapping_add(f.data.len() as u64 + u64::from(f.orig_len));
    }
    let _ = (r.link_types(), r.warnings(), r.bytes_consumed(), n);
}

/// Link types a packet-level input can select (first byte of each record, low nibble).
const LINKS: [LinkType; 10] = [
    LinkType::ETHERNET,
    LinkType::RAW,
    LinkType::NULL,
    LinkType::LOOP,
    LinkType::LINUX_SLL,
    LinkType::LINUX_SLL2,
    LinkType::IPV4,
    LinkType::IPV6,
    LinkType::IEEE802_11,
    LinkType::ETHERNET,
];

/// A sequence of frames without capture framing, so mutations reach the network layers:
/// records of `[selector u8][len u16 BE][data]`; selector low nibble = link type (`LINKS`),
/// high nibble = seconds elapsed since the previous frame (drives idle and fragment timeouts).
pub fn split_packets(data: &[u8]) -> Vec<(LinkType, Timestamp, &[u8])> {
    let mut out = Vec::new();
    let mut rest = data;
    let mut secs = 1_600_000_000i64;
    while let [sel, hi, lo, tail @ ..] = rest {
        let len = usize::from(u16::from_be_bytes([*hi, *lo])).min(tail.len());
        let (pkt, next) = tail.split_at(len);
        secs += i64::from(sel >> 4);
        let link = LINKS[usize::from(sel & 0x0F) % LINKS.len()];
        let ts = Timestamp {
            secs,
            nanos: 0,
            digits: 6,
        };
        out.push((link, ts, pkt));
        rest = next;
    }
    out
}

/// Encodes frames in the `split_packets` format (seed extraction).
pub fn join_packet(out: &mut Vec<u8>, link: LinkType, dsecs: u8, pkt: &[u8]) {
    let idx = LINKS.iter().position(|l| *l == link).unwrap_or(0) as u8;
    let len = pkt.len().min(usize::from(u16::MAX));
    out.push((dsecs.min(15) << 4) | idx);
    out.extend_from_slice(&(len as u16).to_be_bytes());
    out.extend_from_slice(&pkt[..len]);
}

/// Link → IP → defragmentation → UDP/TCP headers → TCP stream reassembly, with small limits so
/// the eviction and cap paths are reachable by short inputs.
pub fn net(data: &[u8]) {
    let mut limits = NetLimits::default();
    limits.defrag.max_pending_datagrams = 4;
    limits.defrag.max_pending_bytes = 4096;
    let mut net = NetDecoder::new(limits);
    let mut tcp = TcpTable::new(TcpLimits {
        max_stream_bytes: 2048,
        max_out_of_order_segments: 4,
        max_out_of_order_bytes: 2048,
        max_total_bytes: 8192,
        max_connections: 4,
        idle_timeout_secs: 30,
    });
    for (i, (link, ts, pkt)) in split_packets(data).into_iter().enumerate() {
        let frame = Frame {
            number: i as u64 + 1,
            ts,
            link_type: link,
            data: pkt,
            orig_len: pkt.len() as u32,
        };
        let Some(l4) = net.decode(&frame) else {
            continue;
        };
        if let Transport::Tcp(seg) = &l4.transport
            && let Some((conn, dir)) = tcp.segment(&l4, seg, frame.number, frame.ts)
        {
            for d in [dir, dir.opposite()] {
                if let Some(half) = tcp.half(conn, d) {
                    let _ = half.take_gap();
                    let n = half.data().len() / 2 + 1;
                    half.consume(n.min(half.data().len()));
                }
            }
            let _ = tcp.take_closed();
        }
    }
    tcp.flush_all();
    let _ = tcp.take_closed();
    sink(net.stats());
    sink(tcp.stats());
}

/// Kerberos messages (DER, RFC 4120) and TCP record marks.
pub fn kerberos(data: &[u8]) {
    if let Ok(m) = kerberos::decode(data) {
        sink(&m);
    }
    if let Ok((msg, _)) = kerberos::tcp_record(data)
        && let Ok(m) = kerberos::decode(msg)
    {
        sink(&m);
    }
    let _ = kerberos::looks_like_kerberos(data);
}

/// DNS messages (RFC 1035 + compression pointers) and TCP length prefixes.
pub fn dns(data: &[u8]) {
    if let Ok(m) = dns::decode(data) {
        sink(&m);
    }
    if let Ok((msg, _)) = dns::tcp_record(data) {
        let _ = dns::decode(msg);
    }
    let _ = dns::looks_like_dns(data);
}

/// HTTP/1.x heads, auth header values, chunked bodies and resynchronisation.
pub fn http(data: &[u8]) {
    if let Ok((head, used)) = http::parse_head(data) {
        for name in http::AUTH_HEADERS {
            for v in head.headers_named(name) {
                http_auth(v);
            }
        }
        let _ = (head.host(), head.content_length());
        let mut chunked = http::ChunkedDecoder::new();
        let mut body = data.get(used..).unwrap_or_default();
        while let Ok((n, done)) = chunked.feed(body) {
            if done || n == 0 {
                break;
            }
            body = body.get(n..).unwrap_or_default();
        }
    }
    if let Ok(text) = std::str::from_utf8(data) {
        http_auth(text);
    }
    let _ = http::find_message_start(data);
    let _ = http::looks_like_request_or_status(data);
}

/// An auth header value, and the token it carries decoded as the dissector would.
fn http_auth(value: &str) {
    for c in http::parse_auth(value) {
        if let Some(tok) = &c.token {
            sink(&gss::decode_token(tok));
        }
        let _ = (c.scheme.len(), c.params.len(), c.basic_user, c.decode_error);
    }
}

/// GSS-API tokens: SPNEGO NegTokenInit/Resp, krb5 framing, bare Kerberos and NTLMSSP inside.
pub fn spnego(data: &[u8]) {
    sink(&gss::decode_token(data));
}

/// NTLMSSP NEGOTIATE / CHALLENGE / AUTHENTICATE messages (MS-NLMP).
pub fn ntlmssp(data: &[u8]) {
    if let Ok(m) = ntlm::decode(data) {
        sink(&m);
    }
}

/// Raw DER TLV walking, recursing into constructed values (bounded by `der::MAX_DEPTH`).
pub fn der(data: &[u8]) {
    fn walk(mut input: &[u8], depth: usize) {
        while let Ok((tlv, rest)) = der::read_tlv(input) {
            let _ = (der::oid_to_string(tlv.value), der::integer_i64(tlv.value));
            if depth < der::MAX_DEPTH {
                for child in der::children(tlv.value).flatten() {
                    walk(child.value, depth + 1);
                }
            }
            if rest.len() >= input.len() {
                break;
            }
            input = rest;
        }
    }
    walk(data, 0);
}

/// The whole dissector (net + TCP + application framing + decoders) over framed packets.
pub fn packets(data: &[u8]) {
    let mut d = Dissector::new(0);
    let mut events = Vec::new();
    for (i, (link, ts, pkt)) in split_packets(data).into_iter().enumerate() {
        let frame = Frame {
            number: i as u64 + 1,
            ts,
            link_type: link,
            data: pkt,
            orig_len: pkt.len() as u32,
        };
        d.frame(&frame, &mut events);
    }
    d.finish(&mut events);
    sink(&events);
    sink(&d.stats());
}

/// A whole capture file through everything `kerbscope` runs on it.
pub fn analyze(data: &[u8]) {
    let Ok(reader) = CaptureReader::from_bytes(data.to_vec()) else {
        return;
    };
    let run = kerbscope::pipeline::dissect_reader(reader, Path::new("fuzz.pcap"), 0);
    sink(&run.events);
    sink(&run.stats);
}
