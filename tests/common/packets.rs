//! Frames and capture files built byte by byte for the integration tests that craft their own
//! traffic: Ethernet II + IPv4 (RFC 791; header checksum 0, which the decoders do not verify)
//! carrying UDP (RFC 768) or TCP (RFC 9293, no options), and little-endian microsecond
//! libpcap files (draft-ietf-opsawg-pcap).
//!
//! Included with `#[path = "common/packets.rs"] mod packets;` by the tests that use it.

use std::net::Ipv4Addr;

/// Ethernet II + a 20-byte IPv4 header around `payload` of protocol `proto`.
pub fn ipv4(src: Ipv4Addr, dst: Ipv4Addr, proto: u8, payload: &[u8]) -> Vec<u8> {
    let mut p = vec![0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 0x08, 0x00, 0x45, 0];
    p.extend(((20 + payload.len()) as u16).to_be_bytes());
    p.extend([0, 0, 0x40, 0, 64, proto, 0, 0]);
    p.extend(src.octets());
    p.extend(dst.octets());
    p.extend(payload);
    p
}

pub fn udp(src: Ipv4Addr, sport: u16, dst: Ipv4Addr, dport: u16, payload: &[u8]) -> Vec<u8> {
    let mut u = Vec::with_capacity(8 + payload.len());
    u.extend(sport.to_be_bytes());
    u.extend(dport.to_be_bytes());
    u.extend(((8 + payload.len()) as u16).to_be_bytes());
    u.extend([0, 0]);
    u.extend(payload);
    ipv4(src, dst, 17, &u)
}

/// A TCP segment from `src` to `dst` (address, port) with `(seq, ack)` and `flags` as sent.
pub fn tcp(
    (src, sport): (Ipv4Addr, u16),
    (dst, dport): (Ipv4Addr, u16),
    (seq, ack): (u32, u32),
    flags: u8,
    payload: &[u8],
) -> Vec<u8> {
    let mut t = Vec::with_capacity(20 + payload.len());
    t.extend(sport.to_be_bytes());
    t.extend(dport.to_be_bytes());
    t.extend(seq.to_be_bytes());
    t.extend(ack.to_be_bytes());
    t.extend([0x50, flags, 0xff, 0xff, 0, 0, 0, 0]);
    t.extend(payload);
    ipv4(src, dst, 6, &t)
}

/// A pcap file of `frames`, frame i at 1 700 000 000 s + i × `step_us` µs.
pub fn pcap(frames: &[Vec<u8>], step_us: u64) -> Vec<u8> {
    let mut out = Vec::with_capacity(24 + frames.iter().map(|f| 16 + f.len()).sum::<usize>());
    out.extend(0xa1b2_c3d4u32.to_le_bytes());
    out.extend(2u16.to_le_bytes());
    out.extend(4u16.to_le_bytes());
    out.extend([0; 8]);
    out.extend(262_144u32.to_le_bytes());
    out.extend(1u32.to_le_bytes());
    for (i, f) in frames.iter().enumerate() {
        let usecs = i as u64 * step_us;
        out.extend((1_700_000_000 + (usecs / 1_000_000) as u32).to_le_bytes());
        out.extend(((usecs % 1_000_000) as u32).to_le_bytes());
        out.extend((f.len() as u32).to_le_bytes());
        out.extend((f.len() as u32).to_le_bytes());
        out.extend(f);
    }
    out
}
