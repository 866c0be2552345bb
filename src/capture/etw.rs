//! ETW events inside NetMon "network event" records (NetMon media type 0xFFE0): the layout is
//! Windows' `EVENT_HEADER` + `ETW_BUFFER_CONTEXT` as NetMon 3.x stores them, and the event of
//! interest is the NDIS packet-capture provider's "packet fragment" (ndiscap, the provider
//! `netsh trace` and `pktmon`-era tools use), whose payload is a captured link-layer frame.
//!
//! ```text
//!  0 u16 size            2 u16 header_type     4 u16 flags          6 u16 event_property
//!  8 u32 thread_id      12 u32 process_id     16 u64 timestamp (FILETIME)
//! 24 GUID provider_id (16 bytes, first three fields little-endian)
//! 40 u16 event id      42 u8 version  43 u8 channel  44 u8 level  45 u8 opcode  46 u16 task
//! 48 u64 keyword       56 u64 processor time (or u32 kernel + u32 user time)
//! 64 GUID activity_id  80 u8 processor  81 u8 alignment  82 u16 logger_id
//! 84 u16 extended_data_count   86 u16 user_data_length   88 u8 reassembled
//! 89 extended data items: u16 reserved | u16 type | u16 linkage | u16 size | size bytes
//!    then user_data_length bytes of user data
//!
//! Microsoft-Windows-NDIS-PacketCapture {2ED6006E-4729-4609-B423-3EE7BCD678EF},
//! event 1001 (packet fragment) user data:
//!    u32 miniport_if_index | u32 lower_if_index | u32 fragment_size | fragment bytes
//! keyword bits: 0x1 802.3, 0x200 wireless WAN (raw IP), 0x8000 tunnel (raw IP),
//!               0x10000 native 802.11, 0x4000_0000 packet start, 0x8000_0000 packet end
//! ```

use super::LinkType;
use super::bytes::{le16, le32, le64};

/// The provider GUID as stored on disk (Data1..Data3 little-endian, Data4 as bytes).
const NDIS_PACKET_CAPTURE_PROVIDER: [u8; 16] = [
    0x6e, 0x00, 0xd6, 0x2e, 0x29, 0x47, 0x09, 0x46, 0xb4, 0x23, 0x3e, 0xe7, 0xbc, 0xd6, 0x78, 0xef,
];
const EVENT_PACKET_FRAGMENT: u16 = 1001;

const KW_MEDIA_WIRELESS_WAN: u64 = 0x200;
const KW_MEDIA_TUNNEL: u64 = 0x8000;
const KW_MEDIA_NATIVE_802_11: u64 = 0x1_0000;
const KW_PACKET_START: u64 = 0x4000_0000;

const FIXED_HEADER_LEN: usize = 89;
const EXTENDED_ITEM_HEAD_LEN: usize = 8;
const FRAGMENT_HEAD_LEN: usize = 12;

/// A link-layer frame found inside an ETW event.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct InnerFrame {
    pub link_type: LinkType,
    /// Offset of the frame within the event bytes.
    pub start: usize,
    pub len: usize,
    /// The fragment size the event declares (may exceed `len` if the record was cut).
    pub declared_len: u32,
}

/// The captured frame inside an NDIS packet-capture "packet fragment" event, or `None` for any
/// other event (those stay opaque `NETMON_EVENT` frames). Only a fragment that starts a packet
/// is unwrapped: a continuation fragment does not begin with a link-layer header.
pub fn ndis_packet(event: &[u8]) -> Option<InnerFrame> {
    if event.get(24..40)? != NDIS_PACKET_CAPTURE_PROVIDER
        || le16(event, 40)? != EVENT_PACKET_FRAGMENT
    {
        return None;
    }
    let keyword = le64(event, 48)?;
    if keyword & KW_PACKET_START == 0 {
        return None;
    }
    let extended_items = le16(event, 84)?;
    let user_len = usize::from(le16(event, 86)?);
    let mut user_start = FIXED_HEADER_LEN;
    for _ in 0..extended_items {
        let size = usize::from(le16(event, user_start + 6)?);
        user_start = user_start.checked_add(EXTENDED_ITEM_HEAD_LEN + size)?;
    }
    let user = event.get(user_start..)?;
    let user = user.get(..user_len.min(user.len()))?;
    let fragment_size = le32(user, 8)?;
    let available = user.len().checked_sub(FRAGMENT_HEAD_LEN)?;
    let link_type = if keyword & KW_MEDIA_NATIVE_802_11 != 0 {
        LinkType::IEEE802_11
    } else if keyword & (KW_MEDIA_WIRELESS_WAN | KW_MEDIA_TUNNEL) != 0 {
        LinkType::RAW
    } else {
        LinkType::ETHERNET
    };
    Some(InnerFrame {
        link_type,
        start: user_start + FRAGMENT_HEAD_LEN,
        len: (fragment_size as usize).min(available),
        declared_len: fragment_size,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    /// ntlmrawunhide__capture.cap frame 22 (record at file offset 0x1fea, 181 bytes of event):
    /// tshark shows netmon_event:etw.ndis:eth, event 1001, keyword 0x80000602c0000001, user data
    /// length 92, fragment size 64, eth.src b0:c7:45:75:de:b4. Only the first 128 bytes are kept
    /// here; the fragment is cut accordingly.
    const FRAME22_HEAD: [u8; 128] = [
        0xac, 0x00, 0x00, 0x00, 0x40, 0x02, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
        0x00, 0x7f, 0xb7, 0xae, 0x92, 0x7e, 0x3e, 0xd6, 0x01, 0x6e, 0x00, 0xd6, 0x2e, 0x29, 0x47,
        0x09, 0x46, 0xb4, 0x23, 0x3e, 0xe7, 0xbc, 0xd6, 0x78, 0xef, 0xe9, 0x03, 0x00, 0x10, 0x04,
        0x00, 0x00, 0x00, 0x01, 0x00, 0x00, 0xc0, 0x02, 0x06, 0x00, 0x80, 0x92, 0x6d, 0x10, 0x00,
        0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
        0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x5c, 0x00, 0x00, 0x0d,
        0x00, 0x00, 0x00, 0x0d, 0x00, 0x00, 0x00, 0x40, 0x00, 0x00, 0x00, 0x00, 0x0c, 0x29, 0x09,
        0x26, 0x98, 0xb0, 0xc7, 0x45, 0x75, 0xde, 0xb4, 0x08, 0x00, 0x45, 0x00, 0x00, 0x28, 0x3e,
        0x71, 0x40, 0x00, 0x33, 0x06, 0xa9, 0x0c, 0x03,
    ];

    #[test]
    fn unwraps_ethernet_from_real_ndis_event() {
        let inner = ndis_packet(&FRAME22_HEAD).unwrap();
        assert_eq!(inner.link_type, LinkType::ETHERNET);
        assert_eq!(inner.start, 101);
        assert_eq!(inner.declared_len, 64);
        assert_eq!(inner.len, 128 - 101);
        let frame = FRAME22_HEAD
            .get(inner.start..inner.start + inner.len)
            .unwrap();
        // eth.src at bytes 6..12 of the frame.
        assert_eq!(
            frame.get(6..12),
            Some(&[0xb0, 0xc7, 0x45, 0x75, 0xde, 0xb4][..])
        );
        assert_eq!(frame.get(12..14), Some(&[0x08, 0x00][..]));
    }

    #[test]
    fn other_events_and_continuations_stay_opaque() {
        // Event 1011 (frame 20 of the same file is such an event): not a packet.
        let mut other = FRAME22_HEAD;
        other[40] = 0xf3;
        assert_eq!(ndis_packet(&other), None);
        // Another provider.
        let mut other = FRAME22_HEAD;
        other[24] = 0x91;
        assert_eq!(ndis_packet(&other), None);
        // A continuation fragment (packet-start bit clear).
        let mut cont = FRAME22_HEAD;
        cont[51] = 0x80;
        assert_eq!(ndis_packet(&cont), None);
    }

    #[test]
    fn media_keywords_choose_the_link_type() {
        let mut wwan = FRAME22_HEAD;
        wwan[49] = 0x02; // keyword |= 0x200
        assert_eq!(ndis_packet(&wwan).map(|f| f.link_type), Some(LinkType::RAW));
        let mut wifi = FRAME22_HEAD;
        wifi[50] = 0x01; // keyword |= 0x10000
        assert_eq!(
            ndis_packet(&wifi).map(|f| f.link_type),
            Some(LinkType::IEEE802_11)
        );
    }

    #[test]
    fn hostile_lengths_never_panic() {
        // Huge extended-data count and sizes.
        let mut ext = FRAME22_HEAD;
        ext[84] = 0xff;
        ext[85] = 0xff;
        assert_eq!(ndis_packet(&ext), None);
        for cut in 0..FRAME22_HEAD.len() {
            let r = ndis_packet(FRAME22_HEAD.get(..cut).unwrap());
            if let Some(f) = r {
                assert!(f.start + f.len <= cut);
            }
        }
    }
}
