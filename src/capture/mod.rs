//! Capture files: libpcap (µs / ns / Kuznetzov "modified", either byte order), pcapng (several
//! sections of either byte order, several interfaces with their own link type and `if_tsresol`;
//! EPB, SPB and the obsolete PB), Microsoft Network Monitor 2.x `.cap` (frames in frame-table
//! order), each optionally gzip-compressed. The format is detected from magic bytes, never from
//! the file name.
//!
//! Frame numbers are 1-based and count every packet record in file order, as Wireshark does.
//!
//! ```ignore
//! let mut reader = CaptureReader::open(path)?;          // OpenError: not a capture, I/O, ...
//! while let Some(frame) = reader.next_frame()? {        // CaptureError: Truncated / Malformed
//!     // frame.data borrows the reader's buffer until the next call
//! }
//! ```
//!
//! Choices that differ from TShark 4.0 (tested in `tests/capture_formats.rs`):
//! * pcapng custom blocks are not frames (TShark 4.0 numbers them, e.g. in pcapng-test-generator
//!   test202); a Simple Packet Block, which has no timestamp (TShark prints none), gets the
//!   previous frame's timestamp (0 if it is the first frame) and a reader warning.
//! * NetMon ETW records of the NDIS packet-capture provider yield the inner link-layer frame;
//!   every other non-packet record is a `LinkType::NETMON_EVENT` frame with its raw bytes.
//! * A pcap record longer than the snap length is accepted (as libpcap does) and counted in
//!   `warnings()`; one above both the snap length and 256 KiB is `Malformed`.

use std::fmt;

mod bytes;
mod error;
mod etw;
#[cfg(feature = "live")]
pub mod live;
mod netmon;
mod pcap;
mod pcapng;
mod pcapng_writer;
pub(crate) mod prefetch;
mod reader;
mod window;

pub use error::{CaptureError, OpenError};
pub use netmon::MediaType as NetMonMediaType;
pub use pcap::{MappedRecord, PcapLayout};
pub use pcapng_writer::{PcapngWriter, TsResolution};
pub use reader::CaptureReader;

/// A link-layer type: the LINKTYPE_* value of a pcap header / pcapng IDB. NetMon media types are
/// mapped onto the equivalent LINKTYPE so that `net::link` sees one numbering.
#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct LinkType(pub u32);

#[rustfmt::skip]
impl LinkType {
    pub const NULL: LinkType        = LinkType(0);   // BSD loopback, 4-byte AF in host order
    pub const ETHERNET: LinkType    = LinkType(1);
    pub const IEEE802_5: LinkType   = LinkType(6);   // token ring (NetMon media type 2)
    pub const FDDI: LinkType        = LinkType(10);  // NetMon media type 3
    pub const RAW: LinkType         = LinkType(101); // raw IPv4 or IPv6, version nibble decides
    pub const IEEE802_11: LinkType  = LinkType(105); // 802.11 without radio header
    pub const LOOP: LinkType        = LinkType(108); // OpenBSD loopback, AF in network order
    pub const LINUX_SLL: LinkType   = LinkType(113);
    pub const IPV4: LinkType        = LinkType(228);
    pub const IPV6: LinkType        = LinkType(229);
    pub const LINUX_SLL2: LinkType  = LinkType(276);
    /// Not a real LINKTYPE: a NetMon record that is an ETW event or another non-packet record
    /// (Wireshark's "NetMon Network Event" / system trace). Numbered as a frame, never decoded.
    pub const NETMON_EVENT: LinkType = LinkType(0x8000_0001);

    /// Folds platform DLT values that some writers store instead of the LINKTYPE onto the
    /// LINKTYPE (as libpcap and Wireshark do): 12 and 14 are DLT_RAW on OpenBSD / BSD/OS.
    pub fn normalized(self) -> LinkType {
        match self.0 {
            12 | 14 => LinkType::RAW,
            _ => self,
        }
    }

    pub fn name(self) -> String {
        match self.0 {
            0 => "null".into(),
            1 => "ethernet".into(),
            6 => "ieee802_5".into(),
            10 => "fddi".into(),
            101 => "raw".into(),
            105 => "ieee802_11".into(),
            108 => "loop".into(),
            113 => "linux_sll".into(),
            228 => "ipv4".into(),
            229 => "ipv6".into(),
            276 => "linux_sll2".into(),
            0x8000_0001 => "netmon_event".into(),
            n => format!("linktype_{n}"),
        }
    }
}

impl fmt::Debug for LinkType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "LinkType({}={})", self.0, self.name())
    }
}

/// A capture timestamp, kept at the capture's own resolution so it prints without rounding.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Default)]
pub struct Timestamp {
    /// Seconds since the Unix epoch (UTC).
    pub secs: i64,
    /// Nanoseconds within the second, 0..1_000_000_000.
    pub nanos: u32,
    /// Decimal digits of sub-second resolution the capture records (6 for µs, 9 for ns, ...).
    pub digits: u8,
}

impl Timestamp {
    /// RFC 3339 UTC with exactly `digits` fractional digits, e.g. `2016-11-23T10:00:01.123456Z`.
    pub fn to_rfc3339(&self) -> String {
        let days = self.secs.div_euclid(86_400);
        let sod = self.secs.rem_euclid(86_400);
        let (y, m, d) = civil_from_days(days);
        let mut s = format!(
            "{y:04}-{m:02}-{d:02}T{:02}:{:02}:{:02}",
            sod / 3600,
            (sod / 60) % 60,
            sod % 60
        );
        let digits = self.digits.min(9) as usize;
        if digits > 0 {
            let frac = format!("{:09}", self.nanos.min(999_999_999));
            s.push('.');
            s.push_str(&frac[..digits]);
        }
        s.push('Z');
        s
    }
}

impl Timestamp {
    /// Seconds since the epoch with exactly `digits` fractional digits, e.g.
    /// `1534673004.597580` (TShark's `frame.time_epoch` always prints 9 digits).
    pub fn to_epoch_string(&self) -> String {
        let total = i128::from(self.secs) * 1_000_000_000 + i128::from(self.nanos.min(999_999_999));
        let sign = if total < 0 { "-" } else { "" };
        let abs = total.unsigned_abs();
        let (int, frac) = (abs / 1_000_000_000, abs % 1_000_000_000);
        let digits = usize::from(self.digits.min(9));
        if digits == 0 {
            return format!("{sign}{int}");
        }
        let frac = format!("{frac:09}");
        format!("{sign}{int}.{}", frac.get(..digits).unwrap_or(&frac))
    }
}

/// Days since 1970-01-01 to (year, month, day) in the proleptic Gregorian calendar
/// (Howard Hinnant's `civil_from_days`).
fn civil_from_days(z: i64) -> (i64, u32, u32) {
    let z = z + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let y = yoe + era * 400;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = (doy - (153 * mp + 2) / 5 + 1) as u32;
    let m = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
    (if m <= 2 { y + 1 } else { y }, m, d)
}

/// One packet record of a capture, borrowed from the reader's buffer.
#[derive(Clone, Copy, Debug)]
pub struct Frame<'a> {
    /// 1-based, as Wireshark numbers frames.
    pub number: u64,
    pub ts: Timestamp,
    pub link_type: LinkType,
    /// The captured bytes (may be shorter than `orig_len` when a snap length cut the packet).
    pub data: &'a [u8],
    pub orig_len: u32,
}

/// A record located by a format reader: `data_start..data_start + data_len` indexes the
/// reader's buffer.
#[derive(Clone, Copy, Debug)]
pub(crate) struct RawRecord {
    pub ts: Timestamp,
    pub link_type: LinkType,
    pub orig_len: u32,
    pub data_start: usize,
    pub data_len: usize,
}

/// The container format found from the magic bytes.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum CaptureFormat {
    /// libpcap with microsecond timestamps.
    Pcap,
    /// libpcap with nanosecond timestamps (magic a1b23c4d).
    PcapNs,
    /// Kuznetzov's modified libpcap (magic a1b2cd34, 24-byte record headers).
    PcapModified,
    Pcapng,
    /// Microsoft Network Monitor 2.x.
    NetMon2,
}

impl CaptureFormat {
    pub fn name(self) -> &'static str {
        match self {
            CaptureFormat::Pcap => "pcap",
            CaptureFormat::PcapNs => "pcap-ns",
            CaptureFormat::PcapModified => "pcap-modified",
            CaptureFormat::Pcapng => "pcapng",
            CaptureFormat::NetMon2 => "netmon2",
        }
    }
}
