//! IPv4 (RFC 791, fragmentation fields; RFC 6864 for the identification field) and IPv6
//! (RFC 8200) headers, including the IPv6 extension-header chain: hop-by-hop options, routing,
//! destination options, fragment (RFC 8200 §4.5), authentication header (RFC 4302). ESP (RFC 4303)
//! and "no next header" end the walk: what follows is opaque. Atomic fragments (offset 0, no more
//! fragments) are treated as whole packets (RFC 6946).
//!
//! Header checksums are not verified: capture hosts with checksum offload record wrong ones.

use super::wire::{be16, be32, bytes16, u8_at};
use std::fmt;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

/// An IP protocol / IPv6 next-header number (IANA "Assigned Internet Protocol Numbers").
#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct IpProto(pub u8);

#[rustfmt::skip]
impl IpProto {
    pub const HOPOPT: IpProto   = IpProto(0);
    pub const ICMP: IpProto     = IpProto(1);
    pub const IPIP: IpProto     = IpProto(4);  // IPv4 in IP (RFC 2003)
    pub const TCP: IpProto      = IpProto(6);
    pub const UDP: IpProto      = IpProto(17);
    pub const IPV6: IpProto     = IpProto(41); // IPv6 in IP (RFC 4213)
    pub const ROUTING: IpProto  = IpProto(43);
    pub const FRAGMENT: IpProto = IpProto(44);
    pub const GRE: IpProto      = IpProto(47);
    pub const ESP: IpProto      = IpProto(50);
    pub const AH: IpProto       = IpProto(51);
    pub const ICMPV6: IpProto   = IpProto(58);
    pub const NO_NEXT: IpProto  = IpProto(59);
    pub const DSTOPTS: IpProto  = IpProto(60);

    pub fn name(self) -> Option<&'static str> {
        Some(match self {
            IpProto::HOPOPT => "hopopt",
            IpProto::ICMP => "icmp",
            IpProto::IPIP => "ipip",
            IpProto::TCP => "tcp",
            IpProto::UDP => "udp",
            IpProto::IPV6 => "ipv6",
            IpProto::ROUTING => "ipv6_route",
            IpProto::FRAGMENT => "ipv6_frag",
            IpProto::GRE => "gre",
            IpProto::ESP => "esp",
            IpProto::AH => "ah",
            IpProto::ICMPV6 => "icmpv6",
            IpProto::NO_NEXT => "ipv6_nonxt",
            IpProto::DSTOPTS => "ipv6_opts",
            _ => return None,
        })
    }
}

impl fmt::Debug for IpProto {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.name() {
            Some(name) => write!(f, "IpProto({}={name})", self.0),
            None => write!(f, "IpProto({})", self.0),
        }
    }
}

/// Where a fragment sits in its original datagram.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct FragmentInfo {
    /// IPv4: the 16-bit identification; IPv6: the 32-bit one of the fragment header.
    pub id: u32,
    /// Byte offset of this fragment's data in the fragmentable part.
    pub offset: u32,
    /// The "more fragments" flag.
    pub more: bool,
}

/// A decoded IP header. `payload` is trimmed to the packet's own length (link padding removed).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct IpPacket<'a> {
    pub src: IpAddr,
    pub dst: IpAddr,
    /// The upper-layer protocol (for a fragment: of the datagram being fragmented).
    pub protocol: IpProto,
    /// Upper-layer bytes; for a fragment, this fragment's share of the fragmentable part.
    pub payload: &'a [u8],
    pub fragment: Option<FragmentInfo>,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum IpError {
    /// The capture holds fewer bytes than the header says the packet has (snap length).
    Truncated,
    /// The header is inconsistent at `offset` (from the start of the IP header).
    Malformed { offset: usize, what: &'static str },
}

/// Decodes an IPv4 or IPv6 header, chosen by the version nibble.
pub fn decode_ip(data: &[u8]) -> Result<IpPacket<'_>, IpError> {
    match u8_at(data, 0).map(|b| b >> 4) {
        Some(4) => decode_ipv4(data),
        Some(6) => decode_ipv6(data),
        Some(_) => Err(IpError::Malformed {
            offset: 0,
            what: "IP version is neither 4 nor 6",
        }),
        None => Err(IpError::Truncated),
    }
}

// IPv4 (RFC 791 §3.1):
//    0: version (4) | IHL (4, in 32-bit words)   1: DSCP/ECN
//    2: total length (16)                         4: identification (16)
//    6: flags (3: reserved, DF, MF) | fragment offset (13, in 8-byte units)
//    8: TTL   9: protocol   10: header checksum   12: source   16: destination   20: options
const IPV4_MIN_HEADER: usize = 20;
const IPV4_MORE_FRAGMENTS: u16 = 0x2000;
const IPV4_OFFSET_MASK: u16 = 0x1fff;

pub fn decode_ipv4(data: &[u8]) -> Result<IpPacket<'_>, IpError> {
    let (Some(first), Some(total_len), Some(id), Some(flags_offset), Some(protocol)) = (
        u8_at(data, 0),
        be16(data, 2),
        be16(data, 4),
        be16(data, 6),
        u8_at(data, 9),
    ) else {
        return Err(IpError::Truncated);
    };
    let (Some(src), Some(dst)) = (be32(data, 12), be32(data, 16)) else {
        return Err(IpError::Truncated);
    };
    if first >> 4 != 4 {
        return Err(IpError::Malformed {
            offset: 0,
            what: "version is not 4",
        });
    }
    let header_len = usize::from(first & 0x0f) * 4;
    if header_len < IPV4_MIN_HEADER {
        return Err(IpError::Malformed {
            offset: 0,
            what: "header length below 20",
        });
    }
    // Total length 0 is what segmentation offload (TSO/LRO) writes on the capturing host:
    // the packet is then as long as the bytes captured, as Wireshark assumes.
    let total_len = match usize::from(total_len) {
        0 => data.len(),
        n if n < header_len => {
            return Err(IpError::Malformed {
                offset: 2,
                what: "total length below header length",
            });
        }
        n => n,
    };
    let packet = data.get(..total_len).ok_or(IpError::Truncated)?;
    let payload = packet.get(header_len..).ok_or(IpError::Truncated)?;
    let more = flags_offset & IPV4_MORE_FRAGMENTS != 0;
    let offset = u32::from(flags_offset & IPV4_OFFSET_MASK) * 8;
    let fragment = (more || offset != 0).then_some(FragmentInfo {
        id: u32::from(id),
        offset,
        more,
    });
    Ok(IpPacket {
        src: IpAddr::V4(Ipv4Addr::from(src)),
        dst: IpAddr::V4(Ipv4Addr::from(dst)),
        protocol: IpProto(protocol),
        payload,
        fragment,
    })
}

// IPv6 (RFC 8200 §3):
//    0: version (4) | traffic class (8) | flow label (20)
//    4: payload length (16)   6: next header   7: hop limit   8: source (16)   24: destination (16)
const IPV6_HEADER: usize = 40;

pub fn decode_ipv6(data: &[u8]) -> Result<IpPacket<'_>, IpError> {
    let (Some(first), Some(payload_len), Some(next), Some(src), Some(dst)) = (
        u8_at(data, 0),
        be16(data, 4),
        u8_at(data, 6),
        bytes16(data, 8),
        bytes16(data, 24),
    ) else {
        return Err(IpError::Truncated);
    };
    if first >> 4 != 6 {
        return Err(IpError::Malformed {
            offset: 0,
            what: "version is not 6",
        });
    }
    let rest = data.get(IPV6_HEADER..).ok_or(IpError::Truncated)?;
    // Payload length 0: a jumbogram (RFC 2675) or offload; the captured bytes are the packet.
    let payload = match usize::from(payload_len) {
        0 => rest,
        n => rest.get(..n).ok_or(IpError::Truncated)?,
    };
    let chain = walk_ipv6_extensions(IpProto(next), payload)?;
    Ok(IpPacket {
        src: IpAddr::V6(Ipv6Addr::from(src)),
        dst: IpAddr::V6(Ipv6Addr::from(dst)),
        protocol: chain.protocol,
        payload: chain.payload,
        fragment: chain.fragment,
    })
}

/// The end of an IPv6 extension-header chain.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Ipv6Chain<'a> {
    pub protocol: IpProto,
    pub payload: &'a [u8],
    pub fragment: Option<FragmentInfo>,
}

/// At most this many extension headers are walked (RFC 8200 recommends each appear at most once
/// or twice; more is an evasion attempt).
pub const MAX_IPV6_EXTENSIONS: usize = 8;

// Extension headers (RFC 8200 §4):
//   hop-by-hop (0), routing (43), destination options (60):
//       next header (1) | length in 8-byte units, not counting the first 8 (1) | ...
//   fragment (44), always 8 bytes:
//       next header (1) | reserved (1) | offset (13 bits, 8-byte units) | res (2) | M (1) | id (4)
//   AH (51, RFC 4302 §2.2): next header (1) | length in 4-byte units minus 2 (1) | ...
const IPV6_FRAGMENT_HEADER: usize = 8;

/// Walks extension headers starting with `next` over `data` (the bytes after the IPv6 header, or
/// a reassembled fragmentable part). Stops at the upper-layer header, ESP, no-next-header or a
/// non-atomic fragment header (whose data cannot be walked before reassembly).
pub fn walk_ipv6_extensions(mut next: IpProto, mut data: &[u8]) -> Result<Ipv6Chain<'_>, IpError> {
    for _ in 0..=MAX_IPV6_EXTENSIONS {
        let header_len = match next {
            IpProto::HOPOPT | IpProto::ROUTING | IpProto::DSTOPTS => {
                u8_at(data, 1).map(|units| (usize::from(units) + 1) * 8)
            }
            IpProto::AH => u8_at(data, 1).map(|units| (usize::from(units) + 2) * 4),
            IpProto::FRAGMENT => Some(IPV6_FRAGMENT_HEADER),
            _ => {
                return Ok(Ipv6Chain {
                    protocol: next,
                    payload: data,
                    fragment: None,
                });
            }
        };
        let (Some(header_len), Some(following)) = (header_len, u8_at(data, 0)) else {
            return Err(IpError::Malformed {
                offset: 0,
                what: "extension header cut short",
            });
        };
        let (header, rest) = data
            .split_at_checked(header_len)
            .ok_or(IpError::Malformed {
                offset: 0,
                what: "extension header longer than the packet",
            })?;
        if next == IpProto::FRAGMENT {
            let (Some(offset_flags), Some(id)) = (be16(header, 2), be32(header, 4)) else {
                return Err(IpError::Malformed {
                    offset: 0,
                    what: "fragment header cut short",
                });
            };
            let offset = u32::from(offset_flags & 0xfff8);
            let more = offset_flags & 1 != 0;
            if offset != 0 || more {
                let fragment = Some(FragmentInfo { id, offset, more });
                return Ok(Ipv6Chain {
                    protocol: IpProto(following),
                    payload: rest,
                    fragment,
                });
            }
        }
        next = IpProto(following);
        data = rest;
    }
    Err(IpError::Malformed {
        offset: 0,
        what: "too many IPv6 extension headers",
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    /// zeek__ipv4__fragmented-1.pcap frame 1, the IPv4 header at offset 14 and its 18 bytes of
    /// payload. tshark: ip.len 38, ip.id 0x00f2, MF set, offset 0, 164.1.123.163 → 164.1.123.61.
    const FRAG1_IP: [u8; 38] = [
        0x45, 0x00, 0x00, 0x26, 0x00, 0xf2, 0x20, 0x00, 0x40, 0x11, 0x1a, 0xf2, 0xa4, 0x01, 0x7b,
        0xa3, 0xa4, 0x01, 0x7b, 0x3d, 0x00, 0x7b, 0x00, 0x89, 0x00, 0x12, 0xbf, 0xe2, 0x00, 0x00,
        0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
    ];

    #[test]
    fn ipv4_fragment_fields() {
        let mut padded = FRAG1_IP.to_vec();
        padded.extend_from_slice(&[0; 8]); // Ethernet padding is trimmed by the total length
        let p = decode_ip(&padded);
        let frag = FragmentInfo {
            id: 0xf2,
            offset: 0,
            more: true,
        };
        assert_eq!(
            p.map(|p| (p.protocol, p.payload.len(), p.fragment)),
            Ok((IpProto::UDP, 18, Some(frag)))
        );
        assert_eq!(
            p.map(|p| p.src.to_string()),
            Ok("164.1.123.163".to_string())
        );
        // Offset 6 (48 bytes), last fragment: as in frame 2 (ip.frag_offset 48, MF clear).
        let mut last = FRAG1_IP;
        last[6..8].copy_from_slice(&[0x00, 0x06]);
        let frag = decode_ip(&last).map(|p| p.fragment);
        assert_eq!(
            frag,
            Ok(Some(FragmentInfo {
                id: 0xf2,
                offset: 48,
                more: false
            }))
        );
    }

    #[test]
    fn ipv4_header_checks() {
        assert_eq!(decode_ip(&FRAG1_IP[..37]), Err(IpError::Truncated));
        assert_eq!(decode_ip(&FRAG1_IP[..19]), Err(IpError::Truncated));
        assert_eq!(decode_ip(&[]), Err(IpError::Truncated));
        let mut v = FRAG1_IP;
        v[0] = 0x55;
        assert!(matches!(
            decode_ip(&v),
            Err(IpError::Malformed { offset: 0, .. })
        ));
        v[0] = 0x4f; // 60-byte header in a 38-byte packet
        assert!(matches!(
            decode_ip(&v),
            Err(IpError::Malformed { offset: 2, .. })
        ));
        v[0] = 0x46; // 24-byte header: options skipped
        assert_eq!(decode_ip(&v).map(|p| p.payload.len()), Ok(14));
        v[0] = 0x45;
        v[2..4].copy_from_slice(&[0, 10]); // total length below the header
        assert!(matches!(
            decode_ip(&v),
            Err(IpError::Malformed { offset: 2, .. })
        ));
        v[2..4].copy_from_slice(&[0, 0]); // offload: captured length used
        assert_eq!(decode_ip(&v).map(|p| p.payload.len()), Ok(18));
    }

    #[test]
    fn ipv6_extension_walk_is_bounded() {
        // Nine hop-by-hop headers in a row.
        let mut chain = Vec::new();
        for _ in 0..9 {
            chain.extend_from_slice(&[0, 0, 0, 0, 0, 0, 0, 0]);
        }
        assert!(matches!(
            walk_ipv6_extensions(IpProto::HOPOPT, &chain),
            Err(IpError::Malformed {
                what: "too many IPv6 extension headers",
                ..
            })
        ));
        // AH: length (2 + 2) * 4 = 16 bytes, then TCP.
        let mut ah = vec![6, 2, 0, 0];
        ah.extend_from_slice(&[0; 12]);
        ah.push(0xaa);
        let end = walk_ipv6_extensions(IpProto::AH, &ah);
        assert_eq!(
            end.map(|c| (c.protocol, c.payload)),
            Ok((IpProto::TCP, &[0xaa][..]))
        );
        // zeek__ipv6-fragmented-dns.pcap frame 7's fragment header: next header UDP,
        // offset 179 * 8 = 1432, M set, id 2 (tshark: ipv6.fraghdr.offset 179, ident 0x00000002).
        let frag = [17, 0, 0x05, 0x99, 0, 0, 0, 2, 0xbb];
        let chain = walk_ipv6_extensions(IpProto::FRAGMENT, &frag);
        let info = FragmentInfo {
            id: 2,
            offset: 1432,
            more: true,
        };
        assert_eq!(
            chain.map(|c| (c.protocol, c.fragment)),
            Ok((IpProto::UDP, Some(info)))
        );
        assert!(walk_ipv6_extensions(IpProto::FRAGMENT, &frag[..7]).is_err());
        assert_eq!(format!("{:?}", IpProto(6)), "IpProto(6=tcp)");
        assert_eq!(format!("{:?}", IpProto(200)), "IpProto(200)");
    }
}
