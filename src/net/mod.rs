//! Network layers between a captured frame and application bytes: link layers (`link`), GRE /
//! ERSPAN tunnels (`gre`), IPv4 / IPv6 with extension headers (`ip`), IP fragment reassembly
//! (`defrag`), UDP / TCP headers (`l4`) and bidirectional TCP stream reassembly (`tcp`).
//! Anomalies are counted in [`NetStats`], never raised as errors.
//!
//! CONTRACT (used by `dissect/`; keep these names and signatures):
//!
//! ```ignore
//! let mut net = NetDecoder::new(NetLimits::default());
//! if let Some(pkt) = net.decode(&frame) {            // pkt: L4Packet<'_>
//!     match &pkt.transport {
//!         Transport::Udp { payload } => ...,          // payload: &[u8] (reassembled if fragmented)
//!         Transport::Tcp(seg) => ...,                 // seg: TcpSegment<'_>
//!         Transport::Other { protocol } => ...,
//!     }
//! }
//! let stats: &NetStats = net.stats();
//!
//! let mut tcp = TcpTable::new(TcpLimits::default());
//! let (conn, dir) = tcp.segment(&pkt, &seg, frame.number, frame.ts)?;  // ConnId, Direction
//! let half: &mut HalfStream = tcp.half(conn, dir)?;
//! half.take_gap()   // Some(n): n bytes were lost just before half.data(); resynchronise
//! half.data()       // contiguous in-order bytes not consumed yet
//! half.consume(n)   // the application parser used n bytes
//! tcp.take_closed() // ConnIds whose connection ended (FIN/RST both ways, evicted, idle)
//! ```
//!
//! Notes for callers: `segment` may release bytes in both directions (an ACK can turn a hole in
//! the other direction into a gap), so drain `half(conn, dir)` and `half(conn, dir.opposite())`.
//! A connection returned by `take_closed` stays readable through `half` until the next
//! `take_closed` call (parse what FIN/RST/flush released, then drop state); call `take_closed`
//! regularly. `tcp.flush_all()` at end of capture closes everything. `half.set_discard(true)`
//! stops buffering a direction nobody parses (sequence tracking continues, no copies).
//!
//! Encapsulations followed: Ethernet (+ VLAN / QinQ), SLL, SLL2, NULL, LOOP, raw IP; inside IP:
//! GRE (IP, transparent Ethernet bridging, ERSPAN I/II/III), IPv4-in-IP and IPv6-in-IP, each
//! level counted in `tunnels`, to at most `NetLimits::max_encapsulation_depth` levels. ICMP and
//! ICMPv6 are returned as `Transport::Other`: the IP header an ICMP error quotes is never decoded
//! as traffic of its own.

#[cfg(test)]
mod decode_tests;
pub mod defrag;
pub mod fxhash;
pub mod gre;
pub mod ip;
pub mod l4;
pub mod link;
pub mod tcp;
mod tcp_stream;
#[cfg(test)]
mod tcp_tests;
pub mod wire;

pub use l4::{TcpFlags, TcpSegment};
pub use tcp::{ConnId, Direction, Endpoints, HalfStream, TcpLimits, TcpStats, TcpTable};
pub use tcp_stream::SkipEnd;

use crate::capture::Frame;
use defrag::{DefragLimits, Defragmenter};
use gre::GrePayload;
use ip::{IpError, IpProto};
use link::LinkPayload;
use std::net::IpAddr;

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct NetLimits {
    /// Link + tunnel layers followed for one frame (an Ethernet frame in GRE in IP is 3).
    pub max_encapsulation_depth: usize,
    pub defrag: DefragLimits,
}

impl Default for NetLimits {
    fn default() -> Self {
        NetLimits {
            max_encapsulation_depth: 8,
            defrag: DefragLimits::default(),
        }
    }
}

/// Counters for everything `NetDecoder::decode` saw or refused.
#[derive(Default, Clone, Debug, PartialEq, Eq, serde::Serialize)]
pub struct NetStats {
    pub frames: u64,
    /// Frames whose LINKTYPE is not decoded.
    pub unknown_link_type: u64,
    /// ARP, LLC and other non-IP link payloads.
    pub non_ip: u64,
    /// Link headers cut short, or more stacked VLAN tags than allowed.
    pub link_malformed: u64,
    /// IP headers decoded, at every encapsulation level.
    pub ipv4: u64,
    pub ipv6: u64,
    pub ip_malformed: u64,
    /// Packets whose captured bytes end before their IP length (snap length).
    pub ip_truncated: u64,
    pub fragments: u64,
    pub fragments_malformed: u64,
    pub fragments_duplicate: u64,
    pub fragments_overlap: u64,
    pub datagrams_reassembled: u64,
    pub fragments_dropped_limit: u64,
    pub fragments_timed_out: u64,
    pub udp: u64,
    /// UDP length field disagreeing with the IP payload (payload kept as captured).
    pub udp_bad_length: u64,
    pub tcp: u64,
    /// UDP / TCP headers cut short or inconsistent.
    pub l4_malformed: u64,
    /// ICMP and ICMPv6 packets (returned as `Transport::Other`, quoted headers not decoded).
    pub icmp: u64,
    /// Other IP protocols (ESP, SCTP, ...), returned as `Transport::Other`.
    pub other_protocol: u64,
    /// Tunnel layers followed (GRE, ERSPAN, IP-in-IP).
    pub tunnels: u64,
    /// GRE versions / protocols not followed.
    pub tunnel_unsupported: u64,
    pub encapsulation_too_deep: u64,
}

/// A UDP datagram, TCP segment or other IP packet, with its addresses.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct L4Packet<'a> {
    pub src: IpAddr,
    pub dst: IpAddr,
    /// 0 for `Transport::Other`.
    pub sport: u16,
    pub dport: u16,
    /// The outermost VLAN id.
    pub vlan: Option<u16>,
    pub transport: Transport<'a>,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Transport<'a> {
    Udp { payload: &'a [u8] },
    Tcp(TcpSegment<'a>),
    Other { protocol: u8 },
}

/// IP fragments may nest once (a fragment of a tunnelled packet inside a reassembled outer
/// datagram); each nesting level needs its own output buffer.
const REASSEMBLY_LEVELS: usize = 2;

pub struct NetDecoder {
    limits: NetLimits,
    stats: NetStats,
    defrag: Defragmenter,
    /// Reassembled datagrams handed out by the last `decode` call, one per nesting level.
    reassembled: [Vec<u8>; REASSEMBLY_LEVELS],
}

/// A layer still to be decoded.
enum Layer<'a> {
    Ethernet(&'a [u8]),
    Ip(&'a [u8]),
}

impl NetDecoder {
    pub fn new(limits: NetLimits) -> Self {
        let defrag = Defragmenter::new(limits.defrag.clone());
        NetDecoder {
            limits,
            stats: NetStats::default(),
            defrag,
            reassembled: Default::default(),
        }
    }

    /// Link → IP (→ defragment) → UDP/TCP. None when the frame carries nothing for us (non-IP,
    /// ARP, a fragment still waiting, malformed); every such case bumps a counter in NetStats.
    pub fn decode<'s>(&'s mut self, frame: &Frame<'s>) -> Option<L4Packet<'s>> {
        let NetDecoder {
            limits,
            stats,
            defrag,
            reassembled,
        } = self;
        stats.frames += 1;
        let mut vlan = None;
        let mut free_buffers = reassembled.iter_mut();
        let mut layer = link_layer(
            link::decode_link(frame.link_type, frame.data, &mut vlan),
            stats,
        )?;
        for _ in 0..limits.max_encapsulation_depth {
            let data = match layer {
                Layer::Ethernet(data) => {
                    layer = link_layer(link::decode_ethernet(data, &mut vlan), stats)?;
                    continue;
                }
                Layer::Ip(data) => data,
            };
            let packet = match ip::decode_ip(data) {
                Ok(packet) => packet,
                Err(IpError::Truncated) => {
                    stats.ip_truncated += 1;
                    return None;
                }
                Err(IpError::Malformed { .. }) => {
                    stats.ip_malformed += 1;
                    return None;
                }
            };
            if packet.src.is_ipv4() {
                stats.ipv4 += 1;
            } else {
                stats.ipv6 += 1;
            }
            let (protocol, payload): (IpProto, &'s [u8]) = match packet.fragment {
                None => (packet.protocol, packet.payload),
                Some(frag) => {
                    let done = defrag.insert(
                        packet.src,
                        packet.dst,
                        packet.protocol,
                        frag,
                        packet.payload,
                        frame.ts,
                        stats,
                    )?;
                    let Some(buffer) = free_buffers.next() else {
                        stats.encapsulation_too_deep += 1;
                        return None;
                    };
                    *buffer = done.data;
                    let whole: &'s [u8] = buffer.as_slice();
                    if packet.src.is_ipv4() {
                        (done.protocol, whole)
                    } else {
                        // The fragmentable part may open with more extension headers.
                        match ip::walk_ipv6_extensions(done.protocol, whole) {
                            Ok(chain) if chain.fragment.is_none() => {
                                (chain.protocol, chain.payload)
                            }
                            _ => {
                                stats.ip_malformed += 1;
                                return None;
                            }
                        }
                    }
                }
            };
            let (src, dst) = (packet.src, packet.dst);
            match protocol {
                IpProto::UDP => return udp_packet(src, dst, vlan, payload, stats),
                IpProto::TCP => return tcp_packet(src, dst, vlan, payload, stats),
                IpProto::GRE => {
                    stats.tunnels += 1;
                    layer = match gre::decode_gre(payload) {
                        GrePayload::Ethernet(inner) => Layer::Ethernet(inner),
                        GrePayload::Ip(inner) => Layer::Ip(inner),
                        GrePayload::Unsupported => {
                            stats.tunnel_unsupported += 1;
                            return None;
                        }
                        GrePayload::Malformed => {
                            stats.l4_malformed += 1;
                            return None;
                        }
                    };
                }
                IpProto::IPIP | IpProto::IPV6 => {
                    stats.tunnels += 1;
                    layer = Layer::Ip(payload);
                }
                other => {
                    if matches!(other, IpProto::ICMP | IpProto::ICMPV6) {
                        stats.icmp += 1;
                    } else {
                        stats.other_protocol += 1;
                    }
                    let transport = Transport::Other { protocol: other.0 };
                    return Some(L4Packet {
                        src,
                        dst,
                        sport: 0,
                        dport: 0,
                        vlan,
                        transport,
                    });
                }
            }
        }
        stats.encapsulation_too_deep += 1;
        None
    }

    pub fn stats(&self) -> &NetStats {
        &self.stats
    }

    /// IP datagrams still waiting for fragments.
    pub fn pending_fragments(&self) -> usize {
        self.defrag.pending()
    }
}

fn link_layer<'a>(payload: LinkPayload<'a>, stats: &mut NetStats) -> Option<Layer<'a>> {
    match payload {
        LinkPayload::Ip(data) => return Some(Layer::Ip(data)),
        LinkPayload::NonIp(_) => stats.non_ip += 1,
        LinkPayload::UnknownLinkType => stats.unknown_link_type += 1,
        LinkPayload::Malformed | LinkPayload::TooManyVlanTags => stats.link_malformed += 1,
    }
    None
}

fn udp_packet<'a>(
    src: IpAddr,
    dst: IpAddr,
    vlan: Option<u16>,
    data: &'a [u8],
    stats: &mut NetStats,
) -> Option<L4Packet<'a>> {
    let Ok(udp) = l4::decode_udp(data) else {
        stats.l4_malformed += 1;
        return None;
    };
    stats.udp += 1;
    if udp.bad_length {
        stats.udp_bad_length += 1;
    }
    let transport = Transport::Udp {
        payload: udp.payload,
    };
    Some(L4Packet {
        src,
        dst,
        sport: udp.sport,
        dport: udp.dport,
        vlan,
        transport,
    })
}

fn tcp_packet<'a>(
    src: IpAddr,
    dst: IpAddr,
    vlan: Option<u16>,
    data: &'a [u8],
    stats: &mut NetStats,
) -> Option<L4Packet<'a>> {
    let Ok(tcp) = l4::decode_tcp(data) else {
        stats.l4_malformed += 1;
        return None;
    };
    stats.tcp += 1;
    let transport = Transport::Tcp(tcp.segment);
    Some(L4Packet {
        src,
        dst,
        sport: tcp.sport,
        dport: tcp.dport,
        vlan,
        transport,
    })
}
