//! GRE tunnels (RFC 2784, with the key and sequence-number extensions of RFC 2890) and the ERSPAN
//! mirroring encapsulations carried in GRE (draft-foschiano-erspan, types I, II and III). Only
//! GRE version 0 is decoded; version 1 (PPTP, RFC 2637) carries PPP, which holds nothing for us.

use super::link::EtherType;
use super::wire::{be16, u8_at};

/// What a GRE packet carries.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum GrePayload<'a> {
    /// An Ethernet frame (transparent Ethernet bridging, or mirrored by ERSPAN).
    Ethernet(&'a [u8]),
    /// An IPv4 or IPv6 packet.
    Ip(&'a [u8]),
    /// A GRE version or protocol this decoder does not follow.
    Unsupported,
    /// Cut short or inconsistent.
    Malformed,
}

// GRE header (RFC 2784 §2.1, RFC 2890 §2):
//   C (1) | R (1) | K (1) | S (1) | reserved (9) | version (3) | protocol type (2)
//   [checksum (2) | reserved (2)]  if C or R      [key (4)] if K      [sequence (4)] if S
//   R (RFC 1701 source routing) adds routing entries after these; that form is obsolete and
//   treated as unsupported.
const GRE_BASE: usize = 4;
const FLAG_CHECKSUM: u16 = 0x8000;
const FLAG_ROUTING: u16 = 0x4000;
const FLAG_KEY: u16 = 0x2000;
const FLAG_SEQUENCE: u16 = 0x1000;
const VERSION_MASK: u16 = 0x0007;

pub fn decode_gre(data: &[u8]) -> GrePayload<'_> {
    let (Some(flags), Some(protocol)) = (be16(data, 0), be16(data, 2)) else {
        return GrePayload::Malformed;
    };
    if flags & VERSION_MASK != 0 || flags & FLAG_ROUTING != 0 {
        return GrePayload::Unsupported;
    }
    let mut header_len = GRE_BASE;
    for (flag, len) in [(FLAG_CHECKSUM, 4), (FLAG_KEY, 4), (FLAG_SEQUENCE, 4)] {
        if flags & flag != 0 {
            header_len += len;
        }
    }
    let Some(payload) = data.get(header_len..) else {
        return GrePayload::Malformed;
    };
    match EtherType(protocol) {
        EtherType::IPV4 | EtherType::IPV6 => GrePayload::Ip(payload),
        EtherType::TEB => GrePayload::Ethernet(payload),
        // Type I has no ERSPAN header and no GRE sequence number; type II has both.
        EtherType::ERSPAN_II if flags & FLAG_SEQUENCE == 0 => GrePayload::Ethernet(payload),
        EtherType::ERSPAN_II => decode_erspan_ii(payload),
        EtherType::ERSPAN_III => decode_erspan_iii(payload),
        _ => GrePayload::Unsupported,
    }
}

// ERSPAN type II header (8 bytes):
//   version (4) = 1 | VLAN (12) | CoS (3) | En (2) | T (1) | session id (10) | reserved (12) |
//   index (20)
// followed by the mirrored Ethernet frame.
const ERSPAN_II_HEADER: usize = 8;

fn decode_erspan_ii(data: &[u8]) -> GrePayload<'_> {
    match (u8_at(data, 0).map(|b| b >> 4), data.get(ERSPAN_II_HEADER..)) {
        (Some(1), Some(frame)) => GrePayload::Ethernet(frame),
        (Some(_), Some(_)) => GrePayload::Unsupported,
        _ => GrePayload::Malformed,
    }
}

// ERSPAN type III header (12 bytes, + 8 when O is set):
//   version (4) = 2 | VLAN (12) | CoS (3) | BSO (2) | T (1) | session id (10) | timestamp (32) |
//   SGT (16) | P (1) | frame type (5) | hw id (6) | D (1) | Gra (2) | O (1)
//   [platform-specific subheader (8)] if O
// Frame type 0 is an Ethernet frame, 2 an IP packet.
const ERSPAN_III_HEADER: usize = 12;
const ERSPAN_III_PLATFORM: usize = 8;

fn decode_erspan_iii(data: &[u8]) -> GrePayload<'_> {
    let (Some(first), Some(p_ft_hw), Some(last)) =
        (u8_at(data, 0), be16(data, 10), u8_at(data, 11))
    else {
        return GrePayload::Malformed;
    };
    if first >> 4 != 2 {
        return GrePayload::Unsupported;
    }
    let header_len = ERSPAN_III_HEADER
        + if last & 1 != 0 {
            ERSPAN_III_PLATFORM
        } else {
            0
        };
    let Some(frame) = data.get(header_len..) else {
        return GrePayload::Malformed;
    };
    match (p_ft_hw >> 10) & 0x1f {
        0 => GrePayload::Ethernet(frame),
        2 => GrePayload::Ip(frame),
        _ => GrePayload::Unsupported,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn transparent_ethernet_with_key() {
        // zeek__erspan.pcap frame 1, from offset 34 (after Ethernet + IPv4): flags 0x2000 (K:
        // a 4-byte key follows), protocol 0x6558, key 0, then the inner frame 00 50 56 ...
        // (tshark: gre.flags_and_version 0x2000, gre.proto 0x6558).
        let gre = [0x20, 0x00, 0x65, 0x58, 0, 0, 0, 0, 0x00, 0x50, 0x56];
        assert_eq!(decode_gre(&gre), GrePayload::Ethernet(&[0x00, 0x50, 0x56]));
    }

    #[test]
    fn erspan_types() {
        // Type II: GRE S bit, protocol 0x88be, sequence, 8-byte ERSPAN header with version 1.
        let mut ii = vec![
            0x10, 0x00, 0x88, 0xbe, 0, 0, 0, 7, 0x10, 0x64, 0, 1, 0, 0, 0, 0,
        ];
        ii.extend_from_slice(&[0xaa, 0xbb]);
        assert_eq!(decode_gre(&ii), GrePayload::Ethernet(&[0xaa, 0xbb]));
        // Type I: same protocol without the S bit: the frame follows the 4-byte GRE header.
        assert_eq!(
            decode_gre(&[0x00, 0x00, 0x88, 0xbe, 0xaa]),
            GrePayload::Ethernet(&[0xaa])
        );
        // Type III with the O bit: 12 + 8 header bytes before the frame.
        let mut iii = vec![
            0x00, 0x00, 0x22, 0xeb, 0x20, 0x64, 0, 1, 0, 0, 0, 0, 0, 0, 0, 0x01,
        ];
        iii.extend_from_slice(&[0; 8]);
        iii.push(0xcc);
        assert_eq!(decode_gre(&iii), GrePayload::Ethernet(&[0xcc]));
        // Type III, frame type 2 (IP), no platform subheader.
        let iii_ip = [
            0x00, 0x00, 0x22, 0xeb, 0x20, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0x08, 0x00, 0x45,
        ];
        assert_eq!(decode_gre(&iii_ip), GrePayload::Ip(&[0x45]));
    }

    #[test]
    fn malformed_and_unsupported() {
        assert_eq!(decode_gre(&[0x20, 0x00]), GrePayload::Malformed);
        // Key flag announced but only 2 key bytes present.
        assert_eq!(
            decode_gre(&[0x20, 0x00, 0x65, 0x58, 0, 0]),
            GrePayload::Malformed
        );
        // PPTP (version 1).
        assert_eq!(
            decode_gre(&[0x30, 0x01, 0x88, 0x0b, 0, 0, 0, 0]),
            GrePayload::Unsupported
        );
        // Routing present (RFC 1701).
        assert_eq!(
            decode_gre(&[0x40, 0x00, 0x08, 0x00, 0, 0, 0, 0]),
            GrePayload::Unsupported
        );
        // ERSPAN II header cut short.
        assert_eq!(
            decode_gre(&[0x10, 0, 0x88, 0xbe, 0, 0, 0, 1, 0x10]),
            GrePayload::Malformed
        );
        // Unknown protocol type.
        assert_eq!(decode_gre(&[0, 0, 0x12, 0x34]), GrePayload::Unsupported);
    }
}
