//! Link layers, from a capture's LINKTYPE to an IP packet: Ethernet II / IEEE 802.3 with LLC-SNAP
//! (IEEE 802), 802.1Q VLAN tags and 802.1ad / pre-standard 0x9100 QinQ stacks, Linux "cooked"
//! SLL and SLL2 (tcpdump.org linktypes 113 and 276), raw IP (101, 228, 229), BSD NULL (0) and
//! OpenBSD LOOP (108) loopback. Layouts: <https://www.tcpdump.org/linktypes.html>.
//!
//! The link layer only finds where the IP packet starts; Ethernet padding and trailers are trimmed
//! later by `ip`, which knows the packet's own length.

use super::wire::{be16, be32, le32};
use crate::capture::LinkType;
use std::fmt;

/// An EtherType (IEEE 802 numbers), also used by SLL/SLL2 protocol fields and GRE.
#[derive(Clone, Copy, PartialEq, Eq, Hash)]
pub struct EtherType(pub u16);

#[rustfmt::skip]
impl EtherType {
    pub const IPV4: EtherType          = EtherType(0x0800);
    pub const ARP: EtherType           = EtherType(0x0806);
    pub const ERSPAN_III: EtherType    = EtherType(0x22eb);
    pub const TEB: EtherType           = EtherType(0x6558); // transparent Ethernet bridging (GRE)
    pub const VLAN: EtherType          = EtherType(0x8100); // 802.1Q
    pub const IPV6: EtherType          = EtherType(0x86dd);
    pub const QINQ: EtherType          = EtherType(0x88a8); // 802.1ad service tag
    pub const ERSPAN_II: EtherType     = EtherType(0x88be); // also ERSPAN type I (no GRE sequence)
    pub const QINQ_LEGACY: EtherType   = EtherType(0x9100); // pre-802.1ad vendor QinQ

    pub fn name(self) -> Option<&'static str> {
        Some(match self {
            EtherType::IPV4 => "ipv4",
            EtherType::ARP => "arp",
            EtherType::ERSPAN_III => "erspan_iii",
            EtherType::TEB => "teb",
            EtherType::VLAN => "vlan",
            EtherType::IPV6 => "ipv6",
            EtherType::QINQ => "qinq",
            EtherType::ERSPAN_II => "erspan_ii",
            EtherType::QINQ_LEGACY => "qinq_legacy",
            _ => return None,
        })
    }

    fn is_vlan_tag(self) -> bool {
        matches!(self, EtherType::VLAN | EtherType::QINQ | EtherType::QINQ_LEGACY)
    }
}

impl fmt::Debug for EtherType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.name() {
            Some(name) => write!(f, "EtherType(0x{:04x}={name})", self.0),
            None => write!(f, "EtherType(0x{:04x})", self.0),
        }
    }
}

/// How many VLAN tags may be stacked before the frame is called malformed (real networks use two).
pub const MAX_VLAN_TAGS: usize = 4;

/// What a link layer carries.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum LinkPayload<'a> {
    /// An IPv4 or IPv6 packet (the version nibble decides), possibly followed by link padding.
    Ip(&'a [u8]),
    /// A protocol that is not IP (ARP, LLC without SNAP-IP, ...): counted, not decoded.
    NonIp(EtherType),
    /// A LINKTYPE this decoder does not know.
    UnknownLinkType,
    /// The link header is cut short or inconsistent.
    Malformed,
    /// More than [`MAX_VLAN_TAGS`] stacked VLAN tags.
    TooManyVlanTags,
}

/// Strips the link header of a captured frame. `vlan` receives the outermost VLAN id seen, if it
/// is still `None`. Inlined: every frame goes through it, twice with several workers (the flow
/// hash reads the addresses before the worker decodes the frame).
#[inline]
pub fn decode_link<'a>(link: LinkType, data: &'a [u8], vlan: &mut Option<u16>) -> LinkPayload<'a> {
    match link {
        LinkType::ETHERNET => decode_ethernet(data, vlan),
        LinkType::RAW | LinkType::IPV4 | LinkType::IPV6 => LinkPayload::Ip(data),
        LinkType::NULL => decode_null(data, false),
        LinkType::LOOP => decode_null(data, true),
        LinkType::LINUX_SLL => decode_sll(data, vlan),
        LinkType::LINUX_SLL2 => decode_sll2(data, vlan),
        _ => LinkPayload::UnknownLinkType,
    }
}

// Ethernet II / 802.3:
//   dst MAC (6) | src MAC (6) | EtherType or 802.3 length (2) | payload | [padding / FCS / trailer]
// A value ≤ 1500 is an 802.3 length: an LLC header follows, and LLC-SNAP (AA AA 03, OUI 00-00-00)
// carries an EtherType in its last two bytes.
const ETHERNET_HEADER: usize = 14;
const MAX_8023_LENGTH: u16 = 1500;
const SNAP_HEADER: usize = 8;

/// Decodes an Ethernet frame (also used for frames carried inside GRE / ERSPAN).
#[inline]
pub fn decode_ethernet<'a>(data: &'a [u8], vlan: &mut Option<u16>) -> LinkPayload<'a> {
    let (Some(type_or_len), Some(payload)) = (be16(data, 12), data.get(ETHERNET_HEADER..)) else {
        return LinkPayload::Malformed;
    };
    // Untagged IPv4 / IPv6, most of a SPAN capture: no tag to follow, no call.
    if matches!(EtherType(type_or_len), EtherType::IPV4 | EtherType::IPV6) {
        return LinkPayload::Ip(payload);
    }
    if type_or_len <= MAX_8023_LENGTH {
        return decode_llc(payload, vlan);
    }
    dispatch_ethertype(EtherType(type_or_len), payload, vlan)
}

fn decode_llc<'a>(payload: &'a [u8], vlan: &mut Option<u16>) -> LinkPayload<'a> {
    let is_snap = payload.get(..6) == Some(&[0xaa, 0xaa, 0x03, 0x00, 0x00, 0x00][..]);
    match (is_snap, be16(payload, 6), payload.get(SNAP_HEADER..)) {
        (true, Some(ethertype), Some(rest)) => dispatch_ethertype(EtherType(ethertype), rest, vlan),
        _ => LinkPayload::NonIp(EtherType(0)),
    }
}

// 802.1Q / 802.1ad tag, after the TPID that announced it:
//   PCP (3 bits) | DEI (1) | VLAN id (12) | inner EtherType (2)
const VLAN_TAG: usize = 4;

/// Follows VLAN tags from `ethertype` until a non-tag EtherType, then classifies the payload.
pub fn dispatch_ethertype<'a>(
    mut ethertype: EtherType,
    mut payload: &'a [u8],
    vlan: &mut Option<u16>,
) -> LinkPayload<'a> {
    let mut tags = 0;
    while ethertype.is_vlan_tag() {
        tags += 1;
        if tags > MAX_VLAN_TAGS {
            return LinkPayload::TooManyVlanTags;
        }
        let (Some(tci), Some(inner), Some(rest)) =
            (be16(payload, 0), be16(payload, 2), payload.get(VLAN_TAG..))
        else {
            return LinkPayload::Malformed;
        };
        if vlan.is_none() {
            *vlan = Some(tci & 0x0fff);
        }
        ethertype = EtherType(inner);
        payload = rest;
    }
    match ethertype {
        EtherType::IPV4 | EtherType::IPV6 => LinkPayload::Ip(payload),
        other => LinkPayload::NonIp(other),
    }
}

// BSD NULL: a 4-byte address family in the *capturing host's* byte order, then the packet.
// OpenBSD LOOP: the same in network byte order. AF_INET is 2 everywhere; AF_INET6 is 24 (NetBSD,
// OpenBSD), 28 (FreeBSD) or 30 (macOS). Family values are small, so a value that does not fit in
// 16 bits when read little-endian was written big-endian.
const NULL_HEADER: usize = 4;
const AF_INET: u32 = 2;
const AF_INET6_BSD: u32 = 24;
const AF_INET6_FREEBSD: u32 = 28;
const AF_INET6_DARWIN: u32 = 30;

//
// Some writers put an EtherType in the low 16 bits instead (pcapplusplus__null_loopback.pcap
// frame 3 starts 0f 00 08 00, which Wireshark shows as "Type: IPv4 (0x0800)"), so an IP EtherType
// there is accepted too; the IP version nibble is checked next anyway.
fn decode_null(data: &[u8], network_order: bool) -> LinkPayload<'_> {
    let (Some(le), Some(be), Some(low16), Some(payload)) = (
        le32(data, 0),
        be32(data, 0),
        be16(data, 2),
        data.get(NULL_HEADER..),
    ) else {
        return LinkPayload::Malformed;
    };
    let family = if network_order || le > 0xffff { be } else { le };
    match (family, EtherType(low16)) {
        (AF_INET | AF_INET6_BSD | AF_INET6_FREEBSD | AF_INET6_DARWIN, _) => {
            LinkPayload::Ip(payload)
        }
        (_, EtherType::IPV4 | EtherType::IPV6) => LinkPayload::Ip(payload),
        (_, other) => LinkPayload::NonIp(other),
    }
}

// Linux cooked capture v1 (16 bytes):
//   packet type (2) | ARPHRD type (2) | address length (2) | address (8) | protocol (2)
// Linux cooked capture v2 (20 bytes):
//   protocol (2) | reserved (2) | interface index (4) | ARPHRD type (2) | packet type (1) |
//   address length (1) | address (8)
// The protocol is an EtherType for Ethernet-like devices; values below 0x0600 name non-IP
// framings (802.2 LLC, CAN, ...).
const SLL_HEADER: usize = 16;
const SLL2_HEADER: usize = 20;
const ARPHRD_NETLINK: u16 = 824;

fn decode_sll<'a>(data: &'a [u8], vlan: &mut Option<u16>) -> LinkPayload<'a> {
    let (Some(hatype), Some(protocol), Some(payload)) =
        (be16(data, 2), be16(data, 14), data.get(SLL_HEADER..))
    else {
        return LinkPayload::Malformed;
    };
    decode_cooked(hatype, protocol, payload, vlan)
}

fn decode_sll2<'a>(data: &'a [u8], vlan: &mut Option<u16>) -> LinkPayload<'a> {
    let (Some(protocol), Some(hatype), Some(payload)) =
        (be16(data, 0), be16(data, 8), data.get(SLL2_HEADER..))
    else {
        return LinkPayload::Malformed;
    };
    decode_cooked(hatype, protocol, payload, vlan)
}

fn decode_cooked<'a>(
    hatype: u16,
    protocol: u16,
    payload: &'a [u8],
    vlan: &mut Option<u16>,
) -> LinkPayload<'a> {
    if hatype == ARPHRD_NETLINK || protocol <= MAX_8023_LENGTH {
        return LinkPayload::NonIp(EtherType(protocol));
    }
    dispatch_ethertype(EtherType(protocol), payload, vlan)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn link(link_type: LinkType, data: &[u8]) -> (LinkPayload<'_>, Option<u16>) {
        let mut vlan = None;
        (decode_link(link_type, data, &mut vlan), vlan)
    }

    #[test]
    fn null_and_loop_families() {
        // pcapplusplus__null_loopback.pcap frame 1: 1e 00 00 00 (AF 30, macOS IPv6, little-endian)
        // then 60 ...; frame 2: 02 00 00 00 then 45 ...; frame 3: 0f 00 08 00 then 45 ...
        // (tshark: null.family 30, null.family 2, null.type 0x0800).
        let v6 = [0x1e, 0, 0, 0, 0x60];
        assert_eq!(link(LinkType::NULL, &v6).0, LinkPayload::Ip(&[0x60]));
        assert_eq!(
            link(LinkType::NULL, &[2, 0, 0, 0, 0x45]).0,
            LinkPayload::Ip(&[0x45])
        );
        assert_eq!(
            link(LinkType::NULL, &[0x0f, 0, 8, 0, 0x45]).0,
            LinkPayload::Ip(&[0x45])
        );
        // Big-endian writer, and LOOP (always network order).
        assert_eq!(
            link(LinkType::NULL, &[0, 0, 0, 28, 0x60]).0,
            LinkPayload::Ip(&[0x60])
        );
        assert_eq!(
            link(LinkType::LOOP, &[0, 0, 0, 24, 0x60]).0,
            LinkPayload::Ip(&[0x60])
        );
        assert_eq!(
            link(LinkType::LOOP, &[24, 0, 0, 0, 0x60]).0,
            LinkPayload::NonIp(EtherType(0))
        );
        assert_eq!(
            link(LinkType::NULL, &[7, 0, 0, 0, 0x45]).0,
            LinkPayload::NonIp(EtherType(0))
        );
        assert_eq!(link(LinkType::NULL, &[2, 0, 0]).0, LinkPayload::Malformed);
    }

    #[test]
    fn untagged_ethernet_ipv4_and_ipv6_start_at_byte_14() {
        // Ethernet II (RFC 894): two MACs, the EtherType, then the IP header.
        let mut v4 = vec![0u8; 12];
        v4.extend_from_slice(&[0x08, 0x00, 0x45, 0x00]);
        assert_eq!(
            link(LinkType::ETHERNET, &v4),
            (LinkPayload::Ip(&[0x45, 0x00]), None)
        );
        let mut v6 = vec![0u8; 12];
        v6.extend_from_slice(&[0x86, 0xdd, 0x60]);
        assert_eq!(
            link(LinkType::ETHERNET, &v6),
            (LinkPayload::Ip(&[0x60]), None)
        );
        // The EtherType cut short, and an IPv4 EtherType with nothing after it.
        assert_eq!(
            link(LinkType::ETHERNET, &v4[..13]).0,
            LinkPayload::Malformed
        );
        assert_eq!(link(LinkType::ETHERNET, &v4[..14]).0, LinkPayload::Ip(&[]));
    }

    #[test]
    fn ethernet_vlan_snap_and_padding_left_to_ip() {
        // ndpi__kerberos-error.pcap frame 1, bytes 12..18: 81 00 07 d8 08 00 (tshark: vlan.id 2008).
        let mut frame = vec![0u8; 12];
        frame.extend_from_slice(&[0x81, 0x00, 0x07, 0xd8, 0x08, 0x00, 0x45, 0x00]);
        assert_eq!(
            link(LinkType::ETHERNET, &frame),
            (LinkPayload::Ip(&[0x45, 0x00]), Some(2008))
        );
        // 802.1ad outer tag 100, 802.1Q inner 200: the outermost id is kept.
        let mut qinq = vec![0u8; 12];
        qinq.extend_from_slice(&[
            0x88, 0xa8, 0x00, 0x64, 0x81, 0x00, 0x00, 0xc8, 0x86, 0xdd, 0x60,
        ]);
        assert_eq!(
            link(LinkType::ETHERNET, &qinq),
            (LinkPayload::Ip(&[0x60]), Some(100))
        );
        // 802.3 length + LLC/SNAP carrying IPv4; plain LLC is not IP.
        let mut snap = vec![0u8; 12];
        snap.extend_from_slice(&[0x00, 0x30, 0xaa, 0xaa, 0x03, 0, 0, 0, 0x08, 0x00, 0x45]);
        assert_eq!(link(LinkType::ETHERNET, &snap).0, LinkPayload::Ip(&[0x45]));
        let mut llc = vec![0u8; 12];
        llc.extend_from_slice(&[0x00, 0x30, 0x42, 0x42, 0x03]);
        assert_eq!(
            link(LinkType::ETHERNET, &llc).0,
            LinkPayload::NonIp(EtherType(0))
        );
        // ARP, a tag cut short, too many tags.
        let mut arp = vec![0u8; 12];
        arp.extend_from_slice(&[0x08, 0x06, 0, 1]);
        assert_eq!(
            link(LinkType::ETHERNET, &arp).0,
            LinkPayload::NonIp(EtherType::ARP)
        );
        let mut cut = vec![0u8; 12];
        cut.extend_from_slice(&[0x81, 0x00, 0x00]);
        assert_eq!(link(LinkType::ETHERNET, &cut).0, LinkPayload::Malformed);
        let mut deep = vec![0u8; 12];
        for _ in 0..=MAX_VLAN_TAGS {
            deep.extend_from_slice(&[0x91, 0x00, 0x00, 0x01]);
        }
        deep.extend_from_slice(&[0x08, 0x00, 0x45]);
        assert_eq!(
            link(LinkType::ETHERNET, &deep).0,
            LinkPayload::TooManyVlanTags
        );
    }

    #[test]
    fn cooked_captures() {
        // zeek__linux_dlt_sll2.pcap frame 1, first 20 bytes: protocol 0x0800, ifindex 1,
        // ARPHRD 772 (loopback), packet type 0, address length 6 (tshark: sll.etype 0x0800).
        let sll2 = [
            0x08, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x01, 0x03, 0x04, 0x00, 0x06, 0x00, 0x00,
            0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x45,
        ];
        assert_eq!(
            link(LinkType::LINUX_SLL2, &sll2).0,
            LinkPayload::Ip(&[0x45])
        );
        assert_eq!(
            link(LinkType::LINUX_SLL2, &sll2[..19]).0,
            LinkPayload::Malformed
        );
        // SLL v1: protocol at 14; 0x0004 (802.2 LLC) is not IP.
        let mut sll = [0u8; 17];
        sll[14..17].copy_from_slice(&[0x86, 0xdd, 0x60]);
        assert_eq!(link(LinkType::LINUX_SLL, &sll).0, LinkPayload::Ip(&[0x60]));
        sll[14..16].copy_from_slice(&[0x00, 0x04]);
        assert_eq!(
            link(LinkType::LINUX_SLL, &sll).0,
            LinkPayload::NonIp(EtherType(4))
        );
        assert_eq!(link(LinkType(12345), &sll).0, LinkPayload::UnknownLinkType);
    }
}
