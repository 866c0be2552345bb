//! Frame building for the corpus: Ethernet II (RFC 894) with an optional 802.1Q tag, IPv4
//! (RFC 791) or IPv6 (RFC 8200), TCP (RFC 9293) or UDP (RFC 768), with real checksums
//! (RFC 1071), plus a small deterministic PRNG. Everything writes into one reused buffer.

use std::net::IpAddr;

/// SplitMix64: tiny, fast, and the same sequence on every platform for a given seed.
pub struct Rng(u64);

impl Rng {
    pub fn new(seed: u64) -> Rng {
        Rng(seed ^ 0x9e37_79b9_7f4a_7c15)
    }
    pub fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }
    /// Uniform in lo..hi (hi exclusive, hi > lo).
    pub fn range(&mut self, lo: u64, hi: u64) -> u64 {
        lo + self.next() % (hi - lo).max(1)
    }
    pub fn chance(&mut self, percent: u64) -> bool {
        self.next() % 100 < percent
    }
}

pub const TCP_FIN: u8 = 0x01;
pub const TCP_SYN: u8 = 0x02;
pub const TCP_PSH: u8 = 0x08;
pub const TCP_ACK: u8 = 0x10;

/// One end of a flow as it appears on the wire.
#[derive(Clone, Copy, Debug)]
pub struct Hosts {
    pub src: IpAddr,
    pub dst: IpAddr,
    pub src_mac: [u8; 6],
    pub dst_mac: [u8; 6],
    pub vlan: Option<u16>,
}

impl Hosts {
    pub fn reversed(&self) -> Hosts {
        Hosts {
            src: self.dst,
            dst: self.src,
            src_mac: self.dst_mac,
            dst_mac: self.src_mac,
            vlan: self.vlan,
        }
    }
}

pub enum L4<'a> {
    Tcp {
        sport: u16,
        dport: u16,
        seq: u32,
        ack: u32,
        flags: u8,
        payload: &'a [u8],
    },
    Udp {
        sport: u16,
        dport: u16,
        payload: &'a [u8],
    },
}

/// Builds one frame into `out` (cleared first).
pub fn build(out: &mut Vec<u8>, h: &Hosts, ip_id: u16, l4: &L4<'_>) {
    out.clear();
    out.extend_from_slice(&h.dst_mac);
    out.extend_from_slice(&h.src_mac);
    if let Some(vid) = h.vlan {
        out.extend_from_slice(&[0x81, 0x00]);
        out.extend_from_slice(&(vid & 0x0fff).to_be_bytes());
    }
    let (proto, l4_len) = match l4 {
        L4::Tcp { payload, .. } => (6u8, 20 + payload.len()),
        L4::Udp { payload, .. } => (17u8, 8 + payload.len()),
    };
    let ip_start;
    match (h.src, h.dst) {
        (IpAddr::V4(s), IpAddr::V4(d)) => {
            out.extend_from_slice(&[0x08, 0x00]);
            ip_start = out.len();
            out.extend_from_slice(&[0x45, 0]);
            out.extend_from_slice(&((20 + l4_len) as u16).to_be_bytes());
            out.extend_from_slice(&ip_id.to_be_bytes());
            out.extend_from_slice(&[0x40, 0, 64, proto, 0, 0]);
            out.extend_from_slice(&s.octets());
            out.extend_from_slice(&d.octets());
            let c = checksum(0, &out[ip_start..ip_start + 20]);
            out[ip_start + 10..ip_start + 12].copy_from_slice(&c.to_be_bytes());
        }
        (s, d) => {
            let (s, d) = (v6(s), v6(d));
            out.extend_from_slice(&[0x86, 0xdd]);
            ip_start = out.len();
            out.extend_from_slice(&[0x60, 0, 0, 0]);
            out.extend_from_slice(&(l4_len as u16).to_be_bytes());
            out.extend_from_slice(&[proto, 64]);
            out.extend_from_slice(&s);
            out.extend_from_slice(&d);
        }
    }
    let l4_start = out.len();
    match l4 {
        L4::Tcp {
            sport,
            dport,
            seq,
            ack,
            flags,
            payload,
        } => {
            out.extend_from_slice(&sport.to_be_bytes());
            out.extend_from_slice(&dport.to_be_bytes());
            out.extend_from_slice(&seq.to_be_bytes());
            out.extend_from_slice(&ack.to_be_bytes());
            out.extend_from_slice(&[0x50, *flags, 0xfa, 0xf0, 0, 0, 0, 0]);
            out.extend_from_slice(payload);
        }
        L4::Udp {
            sport,
            dport,
            payload,
        } => {
            out.extend_from_slice(&sport.to_be_bytes());
            out.extend_from_slice(&dport.to_be_bytes());
            out.extend_from_slice(&((8 + payload.len()) as u16).to_be_bytes());
            out.extend_from_slice(&[0, 0]);
            out.extend_from_slice(payload);
        }
    }
    fix_l4_checksum(out, ip_start, l4_start, proto);
}

fn v6(a: IpAddr) -> [u8; 16] {
    match a {
        IpAddr::V4(v) => v.to_ipv6_mapped().octets(),
        IpAddr::V6(v) => v.octets(),
    }
}

/// Recomputes the TCP or UDP checksum of the segment at `l4_start` (pseudo-header from the IP
/// header at `ip_start`).
pub fn fix_l4_checksum(frame: &mut [u8], ip_start: usize, l4_start: usize, proto: u8) {
    let l4_len = frame.len() - l4_start;
    let off = if proto == 6 { 16 } else { 6 };
    if l4_len < off + 2 {
        return;
    }
    frame[l4_start + off] = 0;
    frame[l4_start + off + 1] = 0;
    let mut sum = if frame[ip_start] >> 4 == 4 {
        sum16(0, &frame[ip_start + 12..ip_start + 20])
    } else {
        sum16(0, &frame[ip_start + 8..ip_start + 40])
    };
    sum += u32::from(proto) + l4_len as u32;
    let mut c = checksum(sum, &frame[l4_start..]);
    if proto == 17 && c == 0 {
        c = 0xffff;
    }
    frame[l4_start + off..l4_start + off + 2].copy_from_slice(&c.to_be_bytes());
}

fn sum16(mut sum: u32, data: &[u8]) -> u32 {
    let mut chunks = data.chunks_exact(2);
    for c in &mut chunks {
        sum += u32::from(u16::from_be_bytes([c[0], c[1]]));
        sum = (sum & 0xffff) + (sum >> 16);
    }
    if let [last] = chunks.remainder() {
        sum += u32::from(*last) << 8;
    }
    sum
}

/// RFC 1071 Internet checksum of `data` on top of a partial `sum`.
pub fn checksum(sum: u32, data: &[u8]) -> u16 {
    let mut s = sum16(sum, data);
    while s > 0xffff {
        s = (s & 0xffff) + (s >> 16);
    }
    !(s as u16)
}

/// The classic pcap file header (µs timestamps, Ethernet).
pub fn pcap_header() -> [u8; 24] {
    let mut h = [0u8; 24];
    h[0..4].copy_from_slice(&0xa1b2_c3d4u32.to_le_bytes());
    h[4..6].copy_from_slice(&2u16.to_le_bytes());
    h[6..8].copy_from_slice(&4u16.to_le_bytes());
    h[16..20].copy_from_slice(&262_144u32.to_le_bytes());
    h[20..24].copy_from_slice(&1u32.to_le_bytes());
    h
}

/// A pcap record header for a frame of `len` bytes at `ts_us` microseconds since the epoch.
pub fn record_header(ts_us: u64, len: usize) -> [u8; 16] {
    let mut h = [0u8; 16];
    h[0..4].copy_from_slice(&((ts_us / 1_000_000) as u32).to_le_bytes());
    h[4..8].copy_from_slice(&((ts_us % 1_000_000) as u32).to_le_bytes());
    h[8..12].copy_from_slice(&(len as u32).to_le_bytes());
    h[12..16].copy_from_slice(&(len as u32).to_le_bytes());
    h
}
