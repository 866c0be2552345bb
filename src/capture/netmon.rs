//! Microsoft Network Monitor 2.x capture files (NetMon 3.x help, "Capture File Format"; facts
//! cross-checked against Wireshark's wiretap reader). The whole file is held in memory because
//! frames are located through a frame table at the end of the file.
//!
//! ```text
//! file header (little-endian)
//!  0 "GMBU"   4 u8 minor  5 u8 major (2)   6 u16 media type (per file; 2.1+ stores it per frame)
//!  8 SYSTEMTIME capture start: u16 year, month, day-of-week, day, hour, minute, second, ms
//! 24 u32 frame_table_offset  28 u32 frame_table_length (bytes; 4 per frame)
//! 32.. user data, comment, process info, network info, conversation stats (offset, length)
//! frame table: u32 file offset of each record, in frame order
//! record:  u64 ts_delta (µs since start)  u32 orig_len  u32 incl_len  incl_len bytes
//!          trailer: 2.1: u16 media type; 2.2: + u32 process_info_index;
//!                   2.3: + u64 utc FILETIME (100 ns since 1601-01-01) + u8 timezone_index
//! ```
//!
//! Timestamps: 2.3 uses the per-record UTC FILETIME (reported with 9 digits, as capinfos does);
//! older versions add `ts_delta` to the header's SYSTEMTIME, read as UTC (Wireshark reads it as
//! local time of the reading machine; the two agree on a UTC machine), with 6 digits.
//!
//! Records whose media type is NetMon's payload header, network info or DNS cache (0xFFFC..0xFFFE)
//! are metadata that Wireshark does not number as frames; we skip them the same way.

use super::bytes::{le16, le32, le64};
use super::error::{CaptureError, OpenError};
use super::etw;
use super::{LinkType, RawRecord, Timestamp};

/// Largest NetMon file read into memory.
pub const MAX_NETMON_FILE: u64 = 2 << 30;
/// Wireshark's per-record ceiling for NetMon (`WTAP_MAX_PACKET_SIZE_STANDARD`).
const MAX_RECORD_DATA: u32 = 262_144;
const RECORD_HEADER_LEN: usize = 16;
/// Where the first record starts in the files we have seen (2.3: a 72-byte header). Used only to
/// walk records in file order when the frame table was cut off.
const FIRST_RECORD_GUESS: usize = 72;
/// FILETIME of 1970-01-01T00:00:00Z.
const FILETIME_UNIX_EPOCH: i64 = 116_444_736_000_000_000;

/// A NetMon media type: the per-file or per-record "network" field.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct MediaType(pub u16);

#[rustfmt::skip]
impl MediaType {
    pub const NDIS_UNSPECIFIED: MediaType = MediaType(0); // NetMon 3.4 VPN captures: Ethernet
    pub const ETHERNET: MediaType         = MediaType(1);
    pub const TOKEN_RING: MediaType       = MediaType(2);
    pub const FDDI: MediaType             = MediaType(3);
    pub const NDIS_WAN: MediaType         = MediaType(4); // ATM PDUs with a NetMon pseudo-header
    pub const IEEE1394: MediaType         = MediaType(5);
    pub const WIFI: MediaType             = MediaType(6); // 802.11 with NetMon radio metadata
    pub const TUNNEL: MediaType           = MediaType(7);
    pub const WIRELESS_WAN: MediaType     = MediaType(8);
    pub const RAW_IP: MediaType           = MediaType(9);
    pub const WIFI_MESSAGE: MediaType     = MediaType(0xE080); // plain 802.11
    pub const NETWORK_EVENT: MediaType    = MediaType(0xFFE0); // an ETW event
    pub const NETWORK_INFO_EX: MediaType  = MediaType(0xFFFB);
    pub const PAYLOAD_HEADER: MediaType   = MediaType(0xFFFC);
    pub const NETWORK_INFO: MediaType     = MediaType(0xFFFD);
    pub const DNS_CACHE: MediaType        = MediaType(0xFFFE);
    pub const NETMON_FILTER: MediaType    = MediaType(0xFFFF);

    /// Metadata records Wireshark neither shows nor numbers.
    pub fn is_hidden_metadata(self) -> bool {
        matches!(self, MediaType::PAYLOAD_HEADER | MediaType::NETWORK_INFO | MediaType::DNS_CACHE)
    }

    /// The LINKTYPE carrying the same framing. Media whose bytes need a NetMon-specific
    /// pseudo-header (ATM, NetMon 802.11), non-packet records and unknown values map to
    /// `LinkType::NETMON_EVENT`: numbered as frames, never decoded.
    pub fn link_type(self) -> LinkType {
        match self.0 {
            0 | 1 => LinkType::ETHERNET,
            2 => LinkType::IEEE802_5,
            3 => LinkType::FDDI,
            7..=9 => LinkType::RAW,
            0xE080 => LinkType::IEEE802_11,
            // A converted pcap: LINKTYPE = value with the 0xF000 nibble masked off.
            v if v & 0xF000 == 0xE000 && !(0xE080..=0xE08A).contains(&v) => {
                LinkType(u32::from(v & 0x0FFF))
            }
            _ => LinkType::NETMON_EVENT,
        }
    }
}

enum Walk {
    /// Frame `next` of the frame table.
    Table {
        table_start: usize,
        count: usize,
        next: usize,
    },
    /// The frame table is missing or cut: records in file order from `next` until `end`, then a
    /// `Truncated` error.
    Sequential { next: usize, end: usize },
}

pub struct NetMonReader {
    data: Vec<u8>,
    minor: u8,
    file_media: MediaType,
    start_ns: i128,
    walk: Walk,
    pending: Option<CaptureError>,
    pub hidden_metadata: u64,
}

impl NetMonReader {
    /// `data` is the whole (decompressed) file, starting with "GMBU".
    pub fn open(data: Vec<u8>) -> Result<NetMonReader, OpenError> {
        let major = data.get(5).copied().unwrap_or(0);
        if data.len() >= 6 && major != 2 {
            return Err(OpenError::Unsupported {
                reason: format!("NetMon file format version {major} (only 2.x is read)"),
            });
        }
        let minor = data.get(4).copied().unwrap_or(0);
        let header = (
            le16(&data, 6),
            start_time_ns(&data),
            le32(&data, 24),
            le32(&data, 28),
        );
        let (Some(media), Some(start_ns), Some(table_offset), Some(table_len)) = header else {
            let len = data.len();
            return Ok(NetMonReader {
                data,
                minor,
                file_media: MediaType(0),
                start_ns: 0,
                walk: Walk::Sequential { next: 0, end: 0 },
                pending: Some(CaptureError::truncated(
                    0,
                    format!("the NetMon file header ({len} of 32 bytes)"),
                )),
                hidden_metadata: 0,
            });
        };
        if table_len % 4 != 0 {
            return Err(OpenError::Malformed {
                offset: 28,
                what: format!("frame table length {table_len} is not a multiple of 4"),
            });
        }
        let table_start = table_offset as usize;
        let table_end = table_start.checked_add(table_len as usize);
        let walk = match table_end {
            Some(end) if end <= data.len() => Walk::Table {
                table_start,
                count: table_len as usize / 4,
                next: 0,
            },
            _ if table_start < FIRST_RECORD_GUESS => {
                return Err(OpenError::Malformed {
                    offset: 24,
                    what: format!("frame table offset {table_offset} lies inside the file header"),
                });
            }
            // The table is at the end of the file, so a cut file loses it first: walk the
            // records that precede it.
            _ => Walk::Sequential {
                next: FIRST_RECORD_GUESS,
                end: table_start.min(data.len()),
            },
        };
        Ok(NetMonReader {
            data,
            minor,
            file_media: MediaType(media),
            start_ns,
            walk,
            pending: None,
            hidden_metadata: 0,
        })
    }

    pub fn data(&self) -> &[u8] {
        &self.data
    }

    /// Link type declared by the header for files without per-record media types (before 2.1).
    pub fn file_link_type(&self) -> Option<LinkType> {
        (self.minor < 1 && self.pending.is_none()).then(|| self.file_media.link_type())
    }

    fn trailer_len(&self) -> usize {
        match self.minor {
            0 => 0,
            1 => 2,
            2 => 6,
            _ => 15,
        }
    }

    pub fn next(&mut self) -> Result<Option<RawRecord>, CaptureError> {
        if let Some(e) = self.pending.take() {
            return Err(e);
        }
        loop {
            let offset = match &mut self.walk {
                Walk::Table {
                    table_start,
                    count,
                    next,
                } => {
                    if *next >= *count {
                        return Ok(None);
                    }
                    let entry = *table_start + *next * 4;
                    *next += 1;
                    match le32(&self.data, entry) {
                        Some(o) => o as usize,
                        None => return Err(CaptureError::malformed(entry as u64, "frame table")),
                    }
                }
                Walk::Sequential { next, end } => {
                    if *next >= *end {
                        let at = *end as u64;
                        *end = 0;
                        if at == 0 {
                            return Ok(None);
                        }
                        return Err(CaptureError::truncated(
                            at,
                            "the NetMon frame table (file cut)",
                        ));
                    }
                    *next
                }
            };
            let record = self.record_at(offset)?;
            if let Walk::Sequential { next, .. } = &mut self.walk {
                *next = record.end;
            }
            match record.frame {
                Some(frame) => return Ok(Some(frame)),
                None => self.hidden_metadata += 1,
            }
        }
    }

    fn record_at(&self, offset: usize) -> Result<Located, CaptureError> {
        let at = offset as u64;
        let sequential = matches!(self.walk, Walk::Sequential { .. });
        let problem = |what: String| {
            if sequential {
                CaptureError::truncated(at, what)
            } else {
                CaptureError::malformed(at, format!("frame table points to {what}"))
            }
        };
        let head = self
            .data
            .get(offset..offset.saturating_add(RECORD_HEADER_LEN))
            .ok_or_else(|| problem("a record header beyond the end of the file".into()))?;
        let (Some(ts_delta), Some(orig_len), Some(incl_len)) =
            (le64(head, 0), le32(head, 8), le32(head, 12))
        else {
            return Err(problem("a short record header".into()));
        };
        if incl_len > MAX_RECORD_DATA {
            return Err(CaptureError::malformed(
                at,
                format!("record of {incl_len} bytes exceeds {MAX_RECORD_DATA}"),
            ));
        }
        let data_start = offset + RECORD_HEADER_LEN;
        let data_end = data_start + incl_len as usize;
        let end = data_end + self.trailer_len();
        if end > self.data.len() {
            return Err(problem(format!(
                "packet data beyond the end of the file ({} of {} bytes)",
                self.data.len().saturating_sub(data_start),
                end - data_start
            )));
        }
        let trailer = self.data.get(data_end..end).unwrap_or(&[]);
        let media = if self.minor >= 1 {
            le16(trailer, 0).map_or(self.file_media, MediaType)
        } else {
            self.file_media
        };
        if media.is_hidden_metadata() {
            return Ok(Located { frame: None, end });
        }
        let ts = match le64(trailer, 6) {
            Some(filetime) if self.minor >= 3 => filetime_to_timestamp(filetime),
            _ => delta_timestamp(self.start_ns, ts_delta),
        };
        let mut frame = RawRecord {
            ts,
            link_type: media.link_type(),
            orig_len,
            data_start,
            data_len: incl_len as usize,
        };
        if media == MediaType::NETWORK_EVENT {
            let event = self.data.get(data_start..data_end).unwrap_or(&[]);
            if let Some(inner) = etw::ndis_packet(event) {
                frame.link_type = inner.link_type;
                frame.orig_len = inner.declared_len;
                frame.data_start = data_start + inner.start;
                frame.data_len = inner.len;
            }
        }
        Ok(Located {
            frame: Some(frame),
            end,
        })
    }
}

struct Located {
    frame: Option<RawRecord>,
    end: usize,
}

/// The header's SYSTEMTIME as nanoseconds since the Unix epoch (read as UTC).
fn start_time_ns(data: &[u8]) -> Option<i128> {
    let field = |i: usize| le16(data, 8 + 2 * i).map(i64::from);
    let (year, month, day) = (field(0)?, field(1)?, field(3)?);
    let (hour, minute, second, ms) = (field(4)?, field(5)?, field(6)?, field(7)?);
    let days = days_from_civil(year, month.clamp(1, 12), day.clamp(1, 31));
    let secs = days * 86_400 + hour * 3600 + minute * 60 + second;
    Some(i128::from(secs) * 1_000_000_000 + i128::from(ms) * 1_000_000)
}

/// Days since 1970-01-01 of a proleptic Gregorian date (inverse of `civil_from_days`).
fn days_from_civil(y: i64, m: i64, d: i64) -> i64 {
    let y = if m <= 2 { y - 1 } else { y };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let mp = (m + 9) % 12;
    let doy = (153 * mp + 2) / 5 + d - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

/// Start time plus `ts_delta` µs. The delta is documented as unsigned µs but writers store
/// negative offsets; like Wireshark, scale by 10 in 64 bits and read the result as signed 100 ns.
fn delta_timestamp(start_ns: i128, ts_delta: u64) -> Timestamp {
    let delta_100ns = ts_delta.wrapping_mul(10) as i64;
    let ns = start_ns + i128::from(delta_100ns) * 100;
    Timestamp {
        secs: ns.div_euclid(1_000_000_000) as i64,
        nanos: ns.rem_euclid(1_000_000_000) as u32,
        digits: 6,
    }
}

fn filetime_to_timestamp(filetime: u64) -> Timestamp {
    let since_epoch = i128::from(filetime) - i128::from(FILETIME_UNIX_EPOCH);
    Timestamp {
        secs: since_epoch.div_euclid(10_000_000) as i64,
        nanos: (since_epoch.rem_euclid(10_000_000) * 100) as u32,
        digits: 9,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// ntlmrawunhide__capture.cap, bytes 0..72: NetMon 2.3 header (frame table at 63618,
    /// 380 bytes = 95 frames; start 2020-06-09 (Tuesday) 12:54:00.132).
    const HEADER: [u8; 32] = [
        b'G', b'M', b'B', b'U', 0x03, 0x02, 0x01, 0x00, 0xe4, 0x07, 0x06, 0x00, 0x02, 0x00, 0x09,
        0x00, 0x0c, 0x00, 0x36, 0x00, 0x00, 0x00, 0x84, 0x00, 0x82, 0xf8, 0x00, 0x00, 0x7c, 0x01,
        0x00, 0x00,
    ];

    /// Builds a 2.3 file: header, records (media, FILETIME, payload), frame table.
    fn file(minor: u8, records: &[(u16, u64, &[u8])]) -> Vec<u8> {
        let mut f = HEADER.to_vec();
        f[4] = minor;
        f.resize(FIRST_RECORD_GUESS, 0);
        let mut table = Vec::new();
        for (media, filetime, payload) in records {
            table.push(f.len() as u32);
            f.extend(5u64.to_le_bytes());
            f.extend((payload.len() as u32).to_le_bytes());
            f.extend((payload.len() as u32).to_le_bytes());
            f.extend(*payload);
            if minor >= 1 {
                f.extend(media.to_le_bytes());
            }
            if minor >= 2 {
                f.extend(u32::MAX.to_le_bytes());
            }
            if minor >= 3 {
                f.extend(filetime.to_le_bytes());
                f.push(0);
            }
        }
        let table_offset = f.len() as u32;
        for t in &table {
            f.extend(t.to_le_bytes());
        }
        f.splice(24..28, table_offset.to_le_bytes());
        f.splice(28..32, (table.len() as u32 * 4).to_le_bytes());
        f
    }

    #[test]
    fn filetime_of_frame_22_matches_tshark() {
        // Frame 22 trailer FILETIME 132361952401733503; tshark epoch 1591721640.173350300.
        let ts = filetime_to_timestamp(132_361_952_401_733_503);
        assert_eq!(
            (ts.secs, ts.nanos, ts.digits),
            (1_591_721_640, 173_350_300, 9)
        );
    }

    #[test]
    fn header_start_time_is_read_as_utc() {
        // 2020-06-09 12:54:00.132 UTC.
        assert_eq!(start_time_ns(&HEADER), Some(1_591_707_240_132_000_000));
        let ts = delta_timestamp(1_591_707_240_132_000_000, 1_500_000);
        assert_eq!(
            (ts.secs, ts.nanos, ts.digits),
            (1_591_707_241, 632_000_000, 6)
        );
        // A "negative" delta.
        let ts = delta_timestamp(1_000_000_000, (-1_000_000i64) as u64);
        assert_eq!((ts.secs, ts.nanos), (0, 0));
    }

    #[test]
    fn media_types_map_and_metadata_is_not_numbered() {
        let eth = [0u8; 20];
        let f = file(
            3,
            &[
                (1, 132_361_952_401_733_503, &eth),
                (0xFFFD, 0, b"netinfo"),
                (9, 132_361_952_401_733_504, b"\x45"),
                (0xE000 | 276, 0, b"sll2"),
                (0xFFFF, 0, b"filter"),
            ],
        );
        let mut r = NetMonReader::open(f).unwrap();
        let mut got = Vec::new();
        while let Some(rec) = r.next().unwrap() {
            got.push((rec.link_type, rec.data_len));
        }
        assert_eq!(
            got,
            vec![
                (LinkType::ETHERNET, 20),
                (LinkType::RAW, 1),
                (LinkType::LINUX_SLL2, 4),
                (LinkType::NETMON_EVENT, 6)
            ]
        );
        assert_eq!(r.hidden_metadata, 1);
    }

    #[test]
    fn version_2_0_uses_header_media_and_delta_times() {
        let f = file(0, &[(0, 0, b"abc")]);
        let mut r = NetMonReader::open(f).unwrap();
        assert_eq!(r.file_link_type(), Some(LinkType::ETHERNET));
        let rec = r.next().unwrap().unwrap();
        assert_eq!(
            (rec.ts.secs, rec.ts.nanos, rec.ts.digits),
            (1_591_707_240, 132_005_000, 6)
        );
        assert!(r.next().unwrap().is_none());
    }

    #[test]
    fn cut_file_walks_records_then_reports_truncation() {
        let f = file(
            3,
            &[
                (1, 132_361_952_401_733_503, &[1u8; 30]),
                (1, 132_361_952_401_733_503, &[2u8; 30]),
            ],
        );
        // First record spans 72..72+16+30+15 = 133; cut inside the second record's data.
        let cut = f.get(..133 + 20).unwrap().to_vec();
        let mut r = NetMonReader::open(cut).unwrap();
        assert_eq!(r.next().unwrap().map(|x| x.data_len), Some(30));
        let err = r.next().unwrap_err();
        assert!(err.is_truncated(), "{err}");
        assert!(err.to_string().contains("packet data"), "{err}");
        // Cut inside the frame table: all records, then truncated.
        let cut = f.get(..f.len() - 2).unwrap().to_vec();
        let mut r = NetMonReader::open(cut).unwrap();
        assert!(r.next().unwrap().is_some());
        assert!(r.next().unwrap().is_some());
        assert!(r.next().unwrap_err().to_string().contains("frame table"));
    }

    #[test]
    fn hostile_tables_are_errors_not_panics() {
        let mut f = file(3, &[(1, 0, b"abcd")]);
        // Frame table entry pointing past the end.
        let n = f.len();
        f.splice(n - 4.., u32::MAX.to_le_bytes());
        let err = NetMonReader::open(f).unwrap().next().unwrap_err();
        assert!(matches!(err, CaptureError::Malformed { .. }), "{err}");
        let mut f = file(3, &[(1, 0, b"abcd")]);
        f.splice(28..32, 3u32.to_le_bytes());
        assert!(NetMonReader::open(f).is_err());
        let mut f = file(3, &[(1, 0, b"abcd")]);
        f[5] = 1;
        assert!(matches!(
            NetMonReader::open(f),
            Err(OpenError::Unsupported { .. })
        ));
    }
}
