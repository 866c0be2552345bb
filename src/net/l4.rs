//! Transport headers: UDP (RFC 768) and the TCP fixed header (RFC 9293 §3.1). Options are
//! skipped; checksums are not verified (offload makes captured checksums unreliable).

use super::wire::{be16, be32, u8_at};
use std::fmt;

/// TCP control bits (RFC 9293 §3.1, ECN bits from RFC 3168).
#[derive(Clone, Copy, PartialEq, Eq, Hash, Default)]
pub struct TcpFlags(pub u8);

#[rustfmt::skip]
impl TcpFlags {
    pub const FIN: TcpFlags = TcpFlags(0x01);
    pub const SYN: TcpFlags = TcpFlags(0x02);
    pub const RST: TcpFlags = TcpFlags(0x04);
    pub const PSH: TcpFlags = TcpFlags(0x08);
    pub const ACK: TcpFlags = TcpFlags(0x10);
    pub const URG: TcpFlags = TcpFlags(0x20);
    pub const ECE: TcpFlags = TcpFlags(0x40);
    pub const CWR: TcpFlags = TcpFlags(0x80);

    const NAMES: [(TcpFlags, &'static str); 8] = [
        (TcpFlags::FIN, "FIN"), (TcpFlags::SYN, "SYN"), (TcpFlags::RST, "RST"),
        (TcpFlags::PSH, "PSH"), (TcpFlags::ACK, "ACK"), (TcpFlags::URG, "URG"),
        (TcpFlags::ECE, "ECE"), (TcpFlags::CWR, "CWR"),
    ];
}

impl TcpFlags {
    /// True when every bit of `f` is set.
    #[inline]
    pub fn has(self, f: TcpFlags) -> bool {
        self.0 & f.0 == f.0
    }
}

impl fmt::Debug for TcpFlags {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let names: Vec<&str> = TcpFlags::NAMES
            .iter()
            .filter(|(flag, _)| self.has(*flag))
            .map(|(_, n)| *n)
            .collect();
        write!(f, "TcpFlags({})", names.join("|"))
    }
}

/// One TCP segment as captured.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct TcpSegment<'a> {
    pub seq: u32,
    pub ack: u32,
    pub flags: TcpFlags,
    pub window: u16,
    pub payload: &'a [u8],
}

/// Why a transport header could not be decoded.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum L4Error {
    Truncated,
    Malformed { offset: usize, what: &'static str },
}

/// A decoded UDP header and its payload.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct UdpDatagram<'a> {
    pub sport: u16,
    pub dport: u16,
    pub payload: &'a [u8],
    /// The length field disagreed with the IP payload (the payload was then cut to what exists).
    pub bad_length: bool,
}

// UDP: source port (2) | destination port (2) | length incl. header (2) | checksum (2) | data
const UDP_HEADER: usize = 8;

pub fn decode_udp(data: &[u8]) -> Result<UdpDatagram<'_>, L4Error> {
    let (Some(sport), Some(dport), Some(length)) = (be16(data, 0), be16(data, 2), be16(data, 4))
    else {
        return Err(L4Error::Truncated);
    };
    let body = data.get(UDP_HEADER..).ok_or(L4Error::Truncated)?;
    // The UDP length trims IP padding; 0 is legal for IPv6 jumbograms (RFC 2675) and offload.
    let length = usize::from(length);
    let (payload, bad_length) = match length.checked_sub(UDP_HEADER) {
        _ if length == 0 => (body, false),
        Some(n) if n <= body.len() => (body.get(..n).unwrap_or(body), false),
        _ => (body, true),
    };
    Ok(UdpDatagram {
        sport,
        dport,
        payload,
        bad_length,
    })
}

/// A decoded TCP header with its ports.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct TcpHeader<'a> {
    pub sport: u16,
    pub dport: u16,
    pub segment: TcpSegment<'a>,
}

// TCP (RFC 9293 §3.1):
//    0: source port (2)   2: destination port (2)   4: sequence number (4)   8: ack number (4)
//   12: data offset (4 bits, 32-bit words) | reserved (4)   13: flags (8)   14: window (2)
//   16: checksum (2)   18: urgent pointer (2)   20: options, up to data offset * 4
const TCP_MIN_HEADER: usize = 20;

pub fn decode_tcp(data: &[u8]) -> Result<TcpHeader<'_>, L4Error> {
    if data.len() < TCP_MIN_HEADER {
        return Err(L4Error::Truncated);
    }
    let (Some(sport), Some(dport), Some(seq), Some(ack)) =
        (be16(data, 0), be16(data, 2), be32(data, 4), be32(data, 8))
    else {
        return Err(L4Error::Truncated);
    };
    let (Some(offset_byte), Some(flags), Some(window)) =
        (u8_at(data, 12), u8_at(data, 13), be16(data, 14))
    else {
        return Err(L4Error::Truncated);
    };
    let header_len = usize::from(offset_byte >> 4) * 4;
    if header_len < TCP_MIN_HEADER {
        return Err(L4Error::Malformed {
            offset: 12,
            what: "data offset below 5 words",
        });
    }
    let payload = data.get(header_len..).ok_or(L4Error::Malformed {
        offset: 12,
        what: "data offset beyond the segment",
    })?;
    let segment = TcpSegment {
        seq,
        ack,
        flags: TcpFlags(flags),
        window,
        payload,
    };
    Ok(TcpHeader {
        sport,
        dport,
        segment,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tcp_header_from_krb5_frag() {
        // sv__krb5-frag.pcap frame 14, the 40-byte TCP header at offset 34 (after Ethernet and
        // IPv4). tshark: 55284 → 88, seq_raw 1579618514, hdr_len 40, window 29200, flags SYN.
        let hdr = [
            0xd7, 0xf4, 0x00, 0x58, 0x5e, 0x27, 0x10, 0xd2, 0x00, 0x00, 0x00, 0x00, 0xa0, 0x02,
            0x72, 0x10, 0xe9, 0x70, 0x00, 0x00, 0x02, 0x04, 0x05, 0xb4, 0x04, 0x02, 0x08, 0x0a,
            0xe0, 0x5a, 0x8a, 0x27, 0x00, 0x00, 0x00, 0x00, 0x01, 0x03, 0x03, 0x07,
        ];
        let tcp = decode_tcp(&hdr).map(|t| {
            let s = t.segment;
            (t.sport, t.dport, s.seq, s.window, s.payload.len(), s.flags)
        });
        assert_eq!(tcp, Ok((55284, 88, 1_579_618_514, 29200, 0, TcpFlags::SYN)));
        assert_eq!(format!("{:?}", TcpFlags(0x12)), "TcpFlags(SYN|ACK)");
        assert!(TcpFlags(0x12).has(TcpFlags::ACK) && !TcpFlags(0x12).has(TcpFlags::FIN));
        // Header length 40 announced, 39 bytes present.
        assert!(matches!(
            decode_tcp(&hdr[..39]),
            Err(L4Error::Malformed { offset: 12, .. })
        ));
    }

    #[test]
    fn tcp_malformed() {
        assert_eq!(decode_tcp(&[0; 19]), Err(L4Error::Truncated));
        let mut hdr = [0u8; 20];
        hdr[12] = 0x40; // 4 words
        assert!(matches!(
            decode_tcp(&hdr),
            Err(L4Error::Malformed { offset: 12, .. })
        ));
        hdr[12] = 0x60; // 24 bytes announced, 20 present
        assert!(matches!(
            decode_tcp(&hdr),
            Err(L4Error::Malformed { offset: 12, .. })
        ));
    }

    #[test]
    fn udp_length_trims_and_flags() {
        let mut d = vec![0, 53, 0xca, 0x8a, 0, 10, 0, 0, 0xaa, 0xbb, 0xcc, 0xdd];
        let udp = decode_udp(&d);
        assert_eq!(
            udp.map(|u| (u.sport, u.dport, u.payload)),
            Ok((53, 51850, &[0xaa, 0xbb][..]))
        );
        d[5] = 40; // longer than present
        assert_eq!(
            decode_udp(&d).map(|u| (u.payload.len(), u.bad_length)),
            Ok((4, true))
        );
        d[5] = 3; // shorter than the header
        assert_eq!(decode_udp(&d).map(|u| u.bad_length), Ok(true));
        assert_eq!(decode_udp(&d[..7]), Err(L4Error::Truncated));
    }
}
