//! Explicit resource limits, each shown to hold on crafted input and to be counted in `stats`:
//! TCP bytes buffered per stream and in total, live TCP connections, pending IP fragments, DNS
//! compression-pointer chains, ASN.1 nesting depth and lengths past the remaining bytes, HTTP
//! header count and head size, and HTTP auth token size.
//!
//! The floods (a million half-open TCP connections, a million fragments of distinct datagrams)
//! run in a child process so that its peak RSS (`VmHWM` of /proc/self/status) measures only the
//! flood; the parent compares a flood with one four times smaller: past the limit, memory must
//! not keep growing with the input. Packets are generated in memory, frame by frame.

use std::net::Ipv4Addr;
use std::process::Command;

use kerbscope::capture::{Frame, LinkType, Timestamp};
use kerbscope::dissect::{AllStats, Dissector};
use kerbscope::event::Event;
use kerbscope::net::{NetDecoder, NetLimits, TcpLimits, TcpTable, Transport};
use kerbscope::proto::{der, dns, gss, http, kerberos};

// ---------------------------------------------------------------- packet builders

const SYN: u8 = 0x02;
const ACK: u8 = 0x10;
const PSH: u8 = 0x08;

fn ipv4(src: Ipv4Addr, dst: Ipv4Addr, proto: u8, id: u16, frag: u16, payload: &[u8]) -> Vec<u8> {
    // Ethernet II, then a 20-byte IPv4 header (checksum left 0: decoders do not verify it).
    let mut p = vec![0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 0x08, 0x00];
    let total = (20 + payload.len()) as u16;
    p.extend_from_slice(&[0x45, 0]);
    p.extend_from_slice(&total.to_be_bytes());
    p.extend_from_slice(&id.to_be_bytes());
    p.extend_from_slice(&frag.to_be_bytes());
    p.extend_from_slice(&[64, proto, 0, 0]);
    p.extend_from_slice(&src.octets());
    p.extend_from_slice(&dst.octets());
    p.extend_from_slice(payload);
    p
}

#[allow(clippy::too_many_arguments)]
fn tcp(
    src: Ipv4Addr,
    sport: u16,
    dst: Ipv4Addr,
    dport: u16,
    seq: u32,
    ack: u32,
    flags: u8,
    data: &[u8],
) -> Vec<u8> {
    let mut t = Vec::with_capacity(20 + data.len());
    t.extend_from_slice(&sport.to_be_bytes());
    t.extend_from_slice(&dport.to_be_bytes());
    t.extend_from_slice(&seq.to_be_bytes());
    t.extend_from_slice(&ack.to_be_bytes());
    t.extend_from_slice(&[0x50, flags, 0xFF, 0xFF, 0, 0, 0, 0]);
    t.extend_from_slice(data);
    ipv4(src, dst, 6, 0, 0x4000, &t)
}

fn udp(src: Ipv4Addr, sport: u16, dst: Ipv4Addr, dport: u16, data: &[u8]) -> Vec<u8> {
    let mut u = Vec::new();
    u.extend_from_slice(&sport.to_be_bytes());
    u.extend_from_slice(&dport.to_be_bytes());
    u.extend_from_slice(&((8 + data.len()) as u16).to_be_bytes());
    u.extend_from_slice(&[0, 0]);
    u.extend_from_slice(data);
    ipv4(src, dst, 17, 0, 0, &u)
}

/// Feeds generated Ethernet frames to a dissector, one second of capture time per 10 000 frames
/// (a million frames span 100 s: past the fragment timeout, inside the TCP idle timeout).
struct Feed {
    d: Dissector,
    n: u64,
    events: Vec<Event>,
}

impl Feed {
    fn new() -> Self {
        Feed {
            d: Dissector::new(0),
            n: 0,
            events: Vec::new(),
        }
    }
    fn push(&mut self, pkt: &[u8]) {
        self.n += 1;
        let frame = Frame {
            number: self.n,
            ts: Timestamp {
                secs: 1_700_000_000 + (self.n / 10_000) as i64,
                nanos: 0,
                digits: 6,
            },
            link_type: LinkType::ETHERNET,
            data: pkt,
            orig_len: pkt.len() as u32,
        };
        self.d.frame(&frame, &mut self.events);
    }
    fn finish(mut self) -> (AllStats, Vec<Event>) {
        self.d.finish(&mut self.events);
        (self.d.stats(), self.events)
    }
}

const CLIENT: Ipv4Addr = Ipv4Addr::new(192, 0, 2, 10);
const SERVER: Ipv4Addr = Ipv4Addr::new(192, 0, 2, 20);

/// A handshake, then `data` from client to server in 1400-byte segments (each acknowledged).
fn one_stream(feed: &mut Feed, sport: u16, dport: u16, data: &[u8]) {
    for frame in stream_frames(sport, dport, data) {
        feed.push(&frame);
    }
}

// ---------------------------------------------------------------- TCP bytes

/// A Kerberos record mark announcing 1 MiB, then 6 MiB of bytes that never complete a parse
/// the application can consume... (the record is refused, the bytes skipped): the stream never
/// holds more than `max_stream_bytes`, and a stream whose parser waits is capped and counted.
#[test]
fn tcp_bytes_buffered_per_stream_are_capped_and_counted() {
    let limit = TcpLimits::default().max_stream_bytes;
    // HTTP whose head never ends: the parser waits for the empty line and consumes nothing.
    let mut data = b"GET / HTTP/1.1\r\nHost: a\r\nX: ".to_vec();
    data.resize(limit + (1 << 20), b'a');
    let mut feed = Feed::new();
    one_stream(&mut feed, 40000, 8080, &data);
    let (stats, _) = feed.finish();
    println!(
        "stream_cap_hits {}, http_malformed {}",
        stats.tcp.stream_cap_hits, stats.app.http_malformed
    );
    // Either the TCP layer capped the stream, or the HTTP parser gave up at MAX_HEAD_LEN first;
    // both are counted and neither buffers the 5 MiB.
    assert!(stats.tcp.stream_cap_hits > 0 || stats.app.http_malformed > 0);
}

/// The TCP table's own caps with small limits: per stream, out-of-order, and over all streams.
#[test]
fn tcp_table_caps_per_stream_out_of_order_and_total() {
    let limits = TcpLimits {
        max_stream_bytes: 8 << 10,
        max_out_of_order_segments: 4,
        max_out_of_order_bytes: 4 << 10,
        max_total_bytes: 20 << 10,
        max_connections: 1000,
        idle_timeout_secs: 600,
    };
    let mut net = NetDecoder::new(NetLimits::default());
    let mut table = TcpTable::new(limits.clone());
    let mut n = 0u64;
    let mut feed = |pkt: Vec<u8>, table: &mut TcpTable| {
        n += 1;
        let frame = Frame {
            number: n,
            ts: Timestamp::default(),
            link_type: LinkType::ETHERNET,
            data: &pkt,
            orig_len: pkt.len() as u32,
        };
        if let Some(l4) = net.decode(&frame)
            && let Transport::Tcp(seg) = &l4.transport
        {
            table.segment(&l4, seg, n, frame.ts);
        }
        // Nobody consumes: everything stays buffered unless a cap drops it.
        assert!(table.buffered_bytes() <= limits.max_total_bytes + 1400);
    };
    let payload = [b'x'; 1000];
    for s in 0..8u16 {
        let sport = 30000 + s;
        feed(tcp(CLIENT, sport, SERVER, 9, 1, 0, SYN, &[]), &mut table);
        // In order: 16 KiB per stream, past the 8 KiB stream cap.
        for i in 0..16u32 {
            feed(
                tcp(CLIENT, sport, SERVER, 9, 2 + i * 1000, 0, ACK, &payload),
                &mut table,
            );
        }
        // Out of order: a hole at the front, then 10 segments after it.
        for i in 0..10u32 {
            let seq = 1_000_000 + i * 1000;
            feed(
                tcp(CLIENT, sport, SERVER, 9, seq, 0, ACK, &payload),
                &mut table,
            );
        }
    }
    let st = table.stats();
    println!("{st:?}");
    assert!(st.stream_cap_hits > 0, "per-stream cap not counted");
    assert!(st.ooo_cap_hits > 0, "out-of-order cap not counted");
    assert!(st.global_cap_hits > 0, "total cap not counted");
    assert!(table.buffered_bytes() <= limits.max_total_bytes);
}

/// More connections than `max_connections`: the oldest are evicted and counted.
#[test]
fn live_tcp_connections_are_capped_and_counted() {
    let limits = TcpLimits {
        max_connections: 100,
        ..TcpLimits::default()
    };
    let mut net = NetDecoder::new(NetLimits::default());
    let mut table = TcpTable::new(limits);
    for i in 0..1000u32 {
        let pkt = tcp(
            Ipv4Addr::from(0x0A00_0000 + i),
            1234,
            SERVER,
            80,
            7,
            0,
            SYN,
            &[],
        );
        let frame = Frame {
            number: u64::from(i) + 1,
            ts: Timestamp::default(),
            link_type: LinkType::ETHERNET,
            data: &pkt,
            orig_len: pkt.len() as u32,
        };
        if let Some(l4) = net.decode(&frame)
            && let Transport::Tcp(seg) = &l4.transport
        {
            table.segment(&l4, seg, frame.number, frame.ts);
        }
        let _ = table.take_closed();
        assert!(table.live_connections() <= 100);
    }
    // At the cap the oldest sixteenth is evicted at once: every connection past the first 100
    // pushed an older one out.
    let st = table.stats();
    assert_eq!(st.streams, 1000);
    assert!(st.conn_cap_hits > 0 && st.conn_cap_hits < 900, "{st:?}");
    assert!(st.conns_evicted >= 900, "{st:?}");
}

// ---------------------------------------------------------------- IP fragments

/// First fragments of distinct datagrams that never complete: pending datagrams stay under the
/// limit and the refused ones are counted.
#[test]
fn pending_fragments_are_capped_and_counted() {
    let max = NetLimits::default().defrag.max_pending_datagrams;
    let mut net = NetDecoder::new(NetLimits::default());
    let body = [0u8; 512];
    for i in 0..(max as u32 + 500) {
        // MF set, offset 0, a new IP ID (and source) each time.
        let pkt = ipv4(
            Ipv4Addr::from(0x0A00_0000 + (i >> 16)),
            SERVER,
            17,
            i as u16,
            0x2000,
            &body,
        );
        let frame = Frame {
            number: u64::from(i) + 1,
            ts: Timestamp::default(),
            link_type: LinkType::ETHERNET,
            data: &pkt,
            orig_len: pkt.len() as u32,
        };
        assert!(net.decode(&frame).is_none());
        assert!(net.pending_fragments() <= max);
    }
    assert_eq!(net.stats().fragments_dropped_limit, 500);
    assert_eq!(net.pending_fragments(), max);
}

/// Fragments at the last offset make each pending datagram claim 64 KiB: the byte limit, not
/// the datagram count, stops them, and is counted.
#[test]
fn pending_fragment_bytes_are_capped_and_counted() {
    let limits = NetLimits::default();
    let mut net = NetDecoder::new(limits.clone());
    let body = [0u8; 64];
    // Offset 65464 (in 8-byte units: 8183) with MF: the datagram would end at 65528.
    for i in 0..2000u32 {
        let pkt = ipv4(CLIENT, SERVER, 17, i as u16, 0x2000 | 8183, &body);
        let frame = Frame {
            number: u64::from(i) + 1,
            ts: Timestamp::default(),
            link_type: LinkType::ETHERNET,
            data: &pkt,
            orig_len: pkt.len() as u32,
        };
        let _ = net.decode(&frame);
    }
    let pending = net.pending_fragments();
    println!(
        "pending {pending}, dropped {}",
        net.stats().fragments_dropped_limit
    );
    assert!(pending * 65_528 <= limits.defrag.max_pending_bytes);
    assert!(net.stats().fragments_dropped_limit >= 2000 - pending as u64);
}

// ---------------------------------------------------------------- DNS, ASN.1, HTTP, tokens
//
// Each limit is driven through a crafted pcap (written here from raw bytes), the library's
// pipeline and analysis, and its counter read from the report's `stats`; the pure decoder is
// also checked for the distinct flag and for allocating nothing in proportion to the claim.

/// Largest single allocation made by this thread since the last reset: a decoder that trusted
/// a length field would ask for that many bytes at once.
mod alloc_probe {
    use std::alloc::{GlobalAlloc, Layout, System};
    use std::cell::Cell;

    pub struct Probe;

    thread_local! {
        static LARGEST: Cell<usize> = const { Cell::new(0) };
    }

    unsafe impl GlobalAlloc for Probe {
        unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
            note(layout.size());
            // SAFETY: forwarded unchanged to the system allocator.
            unsafe { System.alloc(layout) }
        }
        unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
            // SAFETY: forwarded unchanged to the system allocator.
            unsafe { System.dealloc(ptr, layout) }
        }
        unsafe fn alloc_zeroed(&self, layout: Layout) -> *mut u8 {
            note(layout.size());
            // SAFETY: forwarded unchanged to the system allocator.
            unsafe { System.alloc_zeroed(layout) }
        }
        unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
            note(new_size);
            // SAFETY: forwarded unchanged to the system allocator.
            unsafe { System.realloc(ptr, layout, new_size) }
        }
    }

    fn note(size: usize) {
        let _ = LARGEST.try_with(|l| l.set(l.get().max(size)));
    }

    /// Runs `f` and returns the largest single allocation it made on this thread.
    pub fn largest<T>(f: impl FnOnce() -> T) -> usize {
        let _ = LARGEST.try_with(|l| l.set(0));
        let out = f();
        drop(out);
        LARGEST.try_with(Cell::get).unwrap_or(usize::MAX)
    }
}

#[global_allocator]
static PROBE: alloc_probe::Probe = alloc_probe::Probe;

/// A classic little-endian pcap (microseconds, Ethernet) holding `frames`, 10 ms apart.
fn pcap(frames: &[Vec<u8>]) -> Vec<u8> {
    let mut out = Vec::new();
    out.extend_from_slice(&0xa1b2_c3d4u32.to_le_bytes());
    out.extend_from_slice(&2u16.to_le_bytes());
    out.extend_from_slice(&4u16.to_le_bytes());
    out.extend_from_slice(&[0; 8]);
    out.extend_from_slice(&262_144u32.to_le_bytes());
    out.extend_from_slice(&1u32.to_le_bytes());
    for (i, f) in frames.iter().enumerate() {
        let usecs = i as u32 * 10_000;
        out.extend_from_slice(&(1_700_000_000 + usecs / 1_000_000).to_le_bytes());
        out.extend_from_slice(&(usecs % 1_000_000).to_le_bytes());
        out.extend_from_slice(&(f.len() as u32).to_le_bytes());
        out.extend_from_slice(&(f.len() as u32).to_le_bytes());
        out.extend_from_slice(f);
    }
    out
}

/// The report's `stats` for a capture of `frames`, decoded and analysed by the library.
fn report_stats(frames: &[Vec<u8>]) -> serde_json::Map<String, serde_json::Value> {
    let reader = kerbscope::capture::CaptureReader::from_bytes(pcap(frames))
        .unwrap_or_else(|e| panic!("crafted pcap refused: {e}"));
    let run = kerbscope::pipeline::dissect_reader(reader, std::path::Path::new("crafted"), 0);
    assert!(run.warnings.is_empty(), "{:?}", run.warnings);
    assert_eq!(run.packets, frames.len() as u64);
    kerbscope::analyze::analyze(&[run]).stats
}

fn stat(stats: &serde_json::Map<String, serde_json::Value>, key: &str) -> u64 {
    stats
        .get(key)
        .and_then(serde_json::Value::as_u64)
        .unwrap_or_else(|| panic!("no counter {key} in {stats:?}"))
}

/// The frames of `one_stream`, for a capture file.
fn stream_frames(sport: u16, dport: u16, data: &[u8]) -> Vec<Vec<u8>> {
    let mut frames = vec![
        tcp(CLIENT, sport, SERVER, dport, 1000, 0, SYN, &[]),
        tcp(SERVER, dport, CLIENT, sport, 5000, 1001, SYN | ACK, &[]),
    ];
    let mut seq = 1001u32;
    for chunk in data.chunks(1400) {
        frames.push(tcp(
            CLIENT,
            sport,
            SERVER,
            dport,
            seq,
            5001,
            ACK | PSH,
            chunk,
        ));
        seq = seq.wrapping_add(chunk.len() as u32);
        frames.push(tcp(SERVER, dport, CLIENT, sport, 5001, seq, ACK, &[]));
    }
    frames
}

/// A DNS response whose second answer's name is a chain of `hops` compression pointers, each to
/// the one before (RFC 1035 §4.1.4 only allows earlier targets, so the chain is legal but
/// absurd), plus the answer's own pointer: `hops + 1` pointers to follow. The chain sits in the
/// RDATA of a first answer of type NULL, where no parser looks.
fn dns_pointer_chain(hops: usize) -> Vec<u8> {
    let mut m = vec![0x12, 0x34, 0x81, 0x80, 0, 1, 0, 2, 0, 0, 0, 0];
    // Question: "a." A IN at offset 12.
    m.extend_from_slice(&[1, b'a', 0, 0, 1, 0, 1]);
    // Answer 1: name -> "a.", type NULL (10), class IN, TTL 60, RDATA = the chain.
    m.extend_from_slice(&[0xC0, 12, 0, 10, 0, 1, 0, 0, 0, 60]);
    m.extend_from_slice(&((2 * hops) as u16).to_be_bytes());
    let mut prev = 12u16;
    for _ in 0..hops {
        let here = m.len() as u16;
        m.extend_from_slice(&(0xC000 | prev).to_be_bytes());
        prev = here;
    }
    // Answer 2: name = the last pointer, type A, class IN, TTL 60, 192.0.2.1.
    m.extend_from_slice(&(0xC000 | prev).to_be_bytes());
    m.extend_from_slice(&[0, 1, 0, 1, 0, 0, 0, 60, 0, 4, 192, 0, 2, 1]);
    m
}

#[test]
fn dns_compression_pointer_chains_are_cut_and_counted() {
    let hops = dns::MAX_POINTER_HOPS;
    // Exactly at the limit: decoded in full, nothing flagged.
    let at = dns_pointer_chain(hops - 1);
    let ok = dns::decode(&at).unwrap();
    assert_eq!(ok.answers.len(), 2);
    assert_eq!(ok.answers[1].name, "a");
    assert!(ok.anomalies.is_empty(), "{:?}", ok.anomalies);
    // One pointer more: the name is cut and flagged as the limit (not as a loop), the message
    // still decodes, and the decoder allocated nothing like the chain's length.
    let over = dns_pointer_chain(hops);
    let m = dns::decode(&over).unwrap();
    assert_eq!(m.answers.len(), 2);
    assert_eq!(m.anomalies, vec!["name_pointer_limit"]);
    let long = dns_pointer_chain(hops * 100);
    assert!(alloc_probe::largest(|| dns::decode(&long)) < 1024);
    // Through a capture: the over-limit response is counted once, the other not at all.
    let stats = report_stats(&[
        udp(SERVER, 53, CLIENT, 5555, &at),
        udp(SERVER, 53, CLIENT, 5556, &over),
        udp(SERVER, 53, CLIENT, 5557, &long),
    ]);
    assert_eq!(stat(&stats, "dns_responses"), 3);
    assert_eq!(stat(&stats, "dns_pointer_limit_hits"), 2, "{stats:?}");
}

/// One DER TLV with a short or two-byte long length.
fn tlv(id: u8, content: &[u8]) -> Vec<u8> {
    let mut out = vec![id];
    match u8::try_from(content.len()) {
        Ok(n) if n < 0x80 => out.push(n),
        _ => {
            out.push(0x82);
            out.extend((content.len() as u16).to_be_bytes());
        }
    }
    out.extend(content);
    out
}

/// `levels` framed SPNEGO NegTokenInits, each carrying the next as its mechToken, around an
/// NTLMSSP NEGOTIATE: the NTLM message sits at nesting depth `levels`.
fn nested_spnego(levels: usize) -> Vec<u8> {
    const SPNEGO: [u8; 6] = [0x2b, 0x06, 0x01, 0x05, 0x05, 0x02];
    const KRB5: [u8; 9] = [0x2a, 0x86, 0x48, 0x86, 0xf7, 0x12, 0x01, 0x02, 0x02];
    let mut token = b"NTLMSSP\0\x01\0\0\0\0\0\0\0".to_vec();
    for _ in 0..levels {
        let mechs = tlv(0xa0, &tlv(0x30, &tlv(0x06, &KRB5)));
        let inner = tlv(0xa2, &tlv(0x04, &token));
        let init = tlv(0xa0, &tlv(0x30, &[mechs, inner].concat()));
        token = tlv(0x60, &[tlv(0x06, &SPNEGO), init].concat());
    }
    token
}

fn negotiate_request(token: &[u8]) -> Vec<u8> {
    let b64 = base64::Engine::encode(&base64::engine::general_purpose::STANDARD, token);
    format!("GET / HTTP/1.1\r\nHost: a\r\nAuthorization: Negotiate {b64}\r\n\r\n").into_bytes()
}

/// Deep ASN.1 nesting is refused at `der::MAX_DEPTH` without recursing further (no stack
/// overflow at 100 000 levels) and counted in `asn1_depth_limit_hits`.
#[test]
fn asn1_depth_limit_is_refused_and_counted() {
    // The deepest allowed nesting decodes down to the NTLM message; one more level is refused.
    let at = nested_spnego(der::MAX_DEPTH);
    assert_eq!(
        gss::decode_token(&at).ntlm().map(|m| m.message_type),
        Some(1)
    );
    assert_eq!(gss::decode_token(&at).limit_hit(), None);
    let over = nested_spnego(der::MAX_DEPTH + 1);
    let t = gss::decode_token(&over);
    assert!(t.ntlm().is_none());
    assert_eq!(t.limit_hit(), Some(gss::LimitHit::TooDeep));
    assert_eq!(
        der::enter(der::MAX_DEPTH + 1, 5),
        Err(der::DerError::TooDeep { offset: 5 })
    );
    // 100 000 nested [APPLICATION 0] elements, each with a 4-byte length: no recursion.
    let depth = 100_000usize;
    let mut deep = Vec::with_capacity(depth * 6);
    for i in 0..depth {
        deep.push(0x60);
        deep.push(0x84);
        deep.extend_from_slice(&(((depth - i - 1) * 6) as u32).to_be_bytes());
    }
    let decoded = gss::decode_token(&deep);
    assert_eq!(decoded.kind(), "malformed");
    assert!(kerberos::decode(&deep).is_err());
    // Over HTTP: the over-deep token is counted once, the deepest allowed one not.
    let mut frames = stream_frames(40010, 80, &negotiate_request(&at));
    frames.extend(stream_frames(40011, 80, &negotiate_request(&over)));
    let stats = report_stats(&frames);
    assert_eq!(stat(&stats, "http_auth_headers"), 2);
    assert_eq!(stat(&stats, "asn1_depth_limit_hits"), 1, "{stats:?}");
}

/// Lengths past the remaining bytes are reported as such, at the offset of the length octets,
/// never allocated for, and counted in `asn1_length_overruns`.
#[test]
fn asn1_lengths_beyond_the_input_are_refused_and_counted() {
    // A DER length of 0x7fffffff on a 40-byte input.
    let mut forty = vec![0x30, 0x84, 0x7f, 0xff, 0xff, 0xff];
    forty.resize(40, 0x30);
    assert_eq!(
        der::read_tlv(&forty),
        Err(der::DerError::LengthBeyondInput {
            offset: 1,
            needed: 0x7fff_ffff + 6 - 40
        })
    );
    // An AS-REQ claiming 2 GiB (outer), one whose first field claims 2 GiB (inner), and a GSS
    // token claiming 2 GiB: each refused with a tiny footprint.
    let mut outer = vec![0x6A, 0x84, 0x7F, 0xFF, 0xFF, 0xFF];
    outer.resize(40, 0x30);
    let inner = [0x6A, 0x06, 0x30, 0x84, 0x7F, 0xFF, 0xFF, 0xFF];
    let mut tok = vec![0x60, 0x84, 0x7F, 0xFF, 0xFF, 0xFF];
    tok.resize(12_000, b'A');
    assert!(matches!(
        kerberos::decode(&outer),
        Err(kerberos::KrbDecodeError::NeedMore { .. })
    ));
    assert!(kerberos::decode(&inner).is_err());
    let t = gss::decode_token(&tok);
    assert_eq!(t.limit_hit(), Some(gss::LimitHit::LengthBeyondInput));
    assert!(
        matches!(t, gss::GssToken::Malformed { offset: 1, .. }),
        "{t:?}"
    );
    for input in [&outer[..], &inner[..], &tok[..]] {
        assert!(alloc_probe::largest(|| kerberos::decode(input)) < 4096);
        assert!(alloc_probe::largest(|| gss::decode_token(input)) < 4096);
    }
    // Through a capture: both Kerberos datagrams and the HTTP token count; a datagram cut
    // inside its header (not a length claim) and a good-length one do not.
    let mut frames = vec![
        udp(CLIENT, 5555, SERVER, 88, &outer),
        udp(CLIENT, 5556, SERVER, 88, &inner),
        udp(CLIENT, 5557, SERVER, 88, &[0x6A, 0x84, 0x7F]),
    ];
    frames.extend(stream_frames(40012, 80, &negotiate_request(&tok)));
    let stats = report_stats(&frames);
    assert_eq!(stat(&stats, "kerberos_malformed"), 3, "{stats:?}");
    assert_eq!(stat(&stats, "tokens_malformed"), 1, "{stats:?}");
    assert_eq!(stat(&stats, "asn1_length_overruns"), 3, "{stats:?}");
    // A TCP record mark above MAX_RECORD_LEN is refused before any buffering.
    let mark = ((kerberos::MAX_RECORD_LEN + 1) as u32).to_be_bytes();
    assert!(kerberos::tcp_record(&mark).is_err());
}

/// A request with `n` header fields.
fn request_with_headers(n: usize) -> Vec<u8> {
    let mut head = b"GET / HTTP/1.1\r\n".to_vec();
    for i in 0..n {
        head.extend_from_slice(format!("X-{i}: v\r\n").as_bytes());
    }
    head.extend_from_slice(b"\r\n");
    head
}

#[test]
fn http_header_count_is_capped_and_counted() {
    let at = request_with_headers(http::MAX_HEADERS);
    let over = request_with_headers(http::MAX_HEADERS + 1);
    assert!(over.len() < http::MAX_HEAD_LEN);
    let (h, _) = http::parse_head(&at).unwrap();
    assert!(!h.anomalies.contains(&"too_many_headers"));
    let (h, _) = http::parse_head(&over).unwrap();
    assert_eq!(h.headers.len(), http::MAX_HEADERS);
    assert!(h.anomalies.contains(&"too_many_headers"));
    // Kept fields borrow from the input: nothing grows with the field count.
    let many = request_with_headers(5000);
    assert!(
        alloc_probe::largest(|| http::parse_head(&many).map(|(h, _)| h.headers.len())) < 16 * 1024
    );
    let mut frames = stream_frames(40020, 80, &at);
    frames.extend(stream_frames(40021, 80, &over));
    let stats = report_stats(&frames);
    assert_eq!(stat(&stats, "http_messages"), 2, "{stats:?}");
    assert_eq!(stat(&stats, "http_header_limit_hits"), 1, "{stats:?}");
    assert_eq!(stat(&stats, "http_head_size_limit_hits"), 0, "{stats:?}");
}

#[test]
fn http_head_size_is_capped_and_counted() {
    // A head longer than MAX_HEAD_LEN is refused as TooLarge, even unfinished.
    let mut big = b"GET / HTTP/1.1\r\n".to_vec();
    while big.len() <= http::MAX_HEAD_LEN + 100 {
        big.extend_from_slice(b"X-Pad: aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa\r\n");
    }
    assert_eq!(
        http::parse_head(&big).err(),
        Some(http::HeadError::TooLarge)
    );
    let mut unfinished = b"GET / HTTP/1.1\r\nX: ".to_vec();
    unfinished.resize(http::MAX_HEAD_LEN, b'a');
    assert_eq!(
        http::parse_head(&unfinished).err(),
        Some(http::HeadError::TooLarge)
    );
    assert!(alloc_probe::largest(|| http::parse_head(&big).is_err()) < 1024);
    let stats = report_stats(&stream_frames(40022, 80, &big));
    assert!(stat(&stats, "http_head_size_limit_hits") >= 1, "{stats:?}");
    assert!(stat(&stats, "http_malformed") >= 1, "{stats:?}");
    assert_eq!(stat(&stats, "http_auth_headers"), 0, "{stats:?}");
}

#[test]
fn auth_tokens_above_the_size_limit_are_refused_and_counted() {
    // Base64 for a token over MAX_TOKEN_DECODED, yet small enough for the head to be read.
    let b64 = "A".repeat((http::MAX_TOKEN_DECODED / 3 + 100) * 4);
    let value = format!("Negotiate {b64}");
    let ch = http::parse_auth(&value);
    assert_eq!(ch.len(), 1);
    assert!(ch[0].token.is_none() && ch[0].token_over_limit);
    assert!(ch[0].decode_error.is_some());
    // Refused before decoding: nothing near the token's size is allocated.
    assert!(alloc_probe::largest(|| http::parse_auth(&value)) < 4096);
    // At the limit: decoded.
    let at = "A".repeat(http::MAX_TOKEN_DECODED / 3 * 4);
    let ch = http::parse_auth(&format!("Negotiate {at}"));
    assert!(!ch[0].token_over_limit && ch[0].token.is_some());

    let over_req = format!("GET / HTTP/1.1\r\nHost: a\r\nAuthorization: Negotiate {b64}\r\n\r\n");
    assert!(over_req.len() <= http::MAX_HEAD_LEN);
    let at_req = format!("GET / HTTP/1.1\r\nHost: a\r\nAuthorization: Negotiate {at}\r\n\r\n");
    let mut frames = stream_frames(40030, 80, over_req.as_bytes());
    frames.extend(stream_frames(40031, 80, at_req.as_bytes()));
    let stats = report_stats(&frames);
    assert_eq!(stat(&stats, "http_auth_headers"), 2, "{stats:?}");
    assert_eq!(stat(&stats, "token_size_limit_hits"), 1, "{stats:?}");
    assert_eq!(stat(&stats, "http_head_size_limit_hits"), 0, "{stats:?}");
}

// ---------------------------------------------------------------- floods, in a child process

/// Runs `kind` with `n` packets in a fresh test process and returns its stats line and peak RSS.
fn child(kind: &str, n: u32) -> (serde_json::Value, u64) {
    let out = Command::new(std::env::current_exe().unwrap())
        .args(["flood_child", "--exact", "--ignored", "--nocapture"])
        .env("KERBSCOPE_FLOOD", format!("{kind}:{n}"))
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&out.stdout);
    let line = text
        .lines()
        .find_map(|l| l.strip_prefix("FLOOD "))
        .unwrap_or_else(|| {
            panic!(
                "child failed: {text}\n{}",
                String::from_utf8_lossy(&out.stderr)
            )
        });
    let v: serde_json::Value = serde_json::from_str(line).unwrap();
    let peak = v["peak_kib"].as_u64().unwrap();
    (v, peak)
}

fn peak_kib() -> u64 {
    let status = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
    status
        .lines()
        .find_map(|l| l.strip_prefix("VmHWM:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
        .unwrap_or(0)
}

#[test]
#[ignore = "run by the flood tests in a child process"]
fn flood_child() {
    let Ok(spec) = std::env::var("KERBSCOPE_FLOOD") else {
        return;
    };
    let (kind, n) = spec.split_once(':').unwrap();
    let n: u32 = n.parse().unwrap();
    let mut feed = Feed::new();
    match kind {
        // Half-open: one SYN from a distinct client address/port each, never answered.
        "syn" => {
            for i in 0..n {
                let src = Ipv4Addr::from(0x0A00_0000 + (i >> 8));
                feed.push(&tcp(
                    src,
                    1024 + (i & 0xFF) as u16,
                    SERVER,
                    80,
                    i,
                    0,
                    SYN,
                    &[],
                ));
            }
        }
        // First fragments of distinct datagrams (1400 bytes each, offset 0, MF), never completed.
        "frag" => {
            let body = [0u8; 1400];
            for i in 0..n {
                let src = Ipv4Addr::from(0x0A00_0000 + (i >> 16));
                feed.push(&ipv4(src, SERVER, 17, i as u16, 0x2000, &body));
            }
        }
        // Fragments at the highest offset: each pending datagram claims 64 KiB.
        "fraghigh" => {
            let body = [0u8; 64];
            for i in 0..n {
                let src = Ipv4Addr::from(0x0A00_0000 + (i >> 16));
                feed.push(&ipv4(src, SERVER, 17, i as u16, 0x2000 | 8183, &body));
            }
        }
        _ => panic!("unknown flood {kind}"),
    }
    let (stats, events) = feed.finish();
    let v = serde_json::json!({
        "peak_kib": peak_kib(),
        "events": events.len(),
        "streams": stats.tcp.streams,
        "conn_cap_hits": stats.tcp.conn_cap_hits,
        "conns_evicted": stats.tcp.conns_evicted,
        "fragments": stats.net.fragments,
        "fragments_dropped_limit": stats.net.fragments_dropped_limit,
        "fragments_timed_out": stats.net.fragments_timed_out,
    });
    println!("FLOOD {v}");
}

/// A million half-open TCP connections: the connection cap holds (counted in `conn_cap_hits`)
/// and peak memory is the same as for a quarter of a million, which already fills the table.
#[test]
fn million_half_open_tcp_flows_run_in_bounded_memory() {
    let cap = TcpLimits::default().max_connections as u64;
    let (small, small_peak) = child("syn", 250_000);
    let (big, big_peak) = child("syn", 1_000_000);
    println!("250k SYNs: {small} \n1M SYNs: {big}");
    assert_eq!(big["streams"], 1_000_000);
    assert!(big["conns_evicted"].as_u64().unwrap() >= 1_000_000 - cap);
    assert!(small["conns_evicted"].as_u64().unwrap() >= 250_000 - cap);
    // Four times the input, at most 15% more memory (the table is full in both runs).
    assert!(
        big_peak * 100 <= small_peak * 115,
        "peak grows with flows: {small_peak} KiB for 250k, {big_peak} KiB for 1M"
    );
}

/// A million fragments of distinct datagrams, at offset 0 and at the last offset: pending
/// datagrams and bytes stay under their limits (counted in `fragments_dropped_limit`), peak
/// memory does not grow with the storm.
#[test]
fn fragment_storms_run_in_bounded_memory() {
    for kind in ["frag", "fraghigh"] {
        let (small, small_peak) = child(kind, 250_000);
        let (big, big_peak) = child(kind, 1_000_000);
        println!("{kind} 250k: {small}\n{kind} 1M: {big}");
        assert_eq!(big["fragments"], 1_000_000);
        // 1M frames span 100 s: a few timeout windows each admit one limit's worth.
        assert!(big["fragments_dropped_limit"].as_u64().unwrap() > 900_000);
        assert!(small["fragments_dropped_limit"].as_u64().unwrap() > 200_000);
        assert!(
            big_peak * 100 <= small_peak * 115,
            "{kind}: peak grows with the storm: {small_peak} KiB vs {big_peak} KiB"
        );
    }
}
