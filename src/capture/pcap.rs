//! libpcap savefiles (draft-ietf-opsawg-pcap; tcpdump.org "pcap-savefile(5)"), including the
//! nanosecond variant (magic a1b23c4d) and Alexey Kuznetzov's "modified" format (magic a1b2cd34)
//! whose record headers carry 8 extra bytes. Either byte order; the magic decides.
//!
//! ```text
//! file header (24 bytes)            record header (16 bytes; 24 for the modified format)
//!  0  u32 magic                       0  u32 ts_sec
//!  4  u16 version_major (2)           4  u32 ts_usec (ts_nsec for a1b23c4d)
//!  6  u16 version_minor (4)           8  u32 incl_len   bytes stored in the file
//!  8  i32 thiszone (ignored, 0)      12  u32 orig_len   bytes on the wire
//! 12  u32 sigfigs  (ignored, 0)     [16  u32 ifindex, u16 protocol, u8 pkt_type, u8 pad]
//! 16  u32 snaplen                    then incl_len bytes of packet data
//! 20  u32 linktype (low 26 bits; high bits carry FCS flags)
//! ```

use super::bytes::Endian;
use super::error::CaptureError;
use super::prefetch::{WALK_AHEAD, prefetch};
use super::window::{MAX_WINDOW, Window};
use super::{CaptureFormat, LinkType, RawRecord, Timestamp};

pub const FILE_HEADER_LEN: usize = 24;

/// Wireshark's and libpcap's ceiling for an ordinary packet (`WTAP_MAX_PACKET_SIZE_STANDARD`).
/// A record above both this and the file's snap length is treated as corruption.
pub const MAX_STANDARD_PACKET: u32 = 262_144;

/// The format and byte order a libpcap magic number announces.
pub fn sniff_magic(magic: [u8; 4]) -> Option<(CaptureFormat, Endian)> {
    match u32::from_be_bytes(magic) {
        0xa1b2_c3d4 => Some((CaptureFormat::Pcap, Endian::Big)),
        0xd4c3_b2a1 => Some((CaptureFormat::Pcap, Endian::Little)),
        0xa1b2_3c4d => Some((CaptureFormat::PcapNs, Endian::Big)),
        0x4d3c_b2a1 => Some((CaptureFormat::PcapNs, Endian::Little)),
        0xa1b2_cd34 => Some((CaptureFormat::PcapModified, Endian::Big)),
        0x34cd_b2a1 => Some((CaptureFormat::PcapModified, Endian::Little)),
        _ => None,
    }
}

pub struct PcapReader {
    layout: PcapLayout,
    /// Records whose incl_len exceeds the declared snap length (libpcap accepts them too).
    pub over_snaplen: u64,
    /// Error found while reading the file header; reported by the first `next` call.
    pending: Option<CaptureError>,
}

impl PcapReader {
    /// Reads the file header. A header cut short is not an open error: the reader then reports
    /// `Truncated` from its first `next` call (zero frames, like any other cut file).
    pub fn open(
        win: &mut Window,
        format: CaptureFormat,
        endian: Endian,
    ) -> std::io::Result<PcapReader> {
        let avail = win.fill_to(FILE_HEADER_LEN)?;
        let mut reader = PcapReader {
            layout: PcapLayout {
                endian,
                record_header_len: if format == CaptureFormat::PcapModified {
                    24
                } else {
                    16
                },
                nanos: format == CaptureFormat::PcapNs,
                link_type: LinkType(0),
                snaplen: 0,
                max_incl: MAX_STANDARD_PACKET,
            },
            over_snaplen: 0,
            pending: None,
        };
        let header = win.available();
        match (endian.u32(header, 16), endian.u32(header, 20)) {
            (Some(snaplen), Some(network)) if avail >= FILE_HEADER_LEN => {
                let layout = &mut reader.layout;
                layout.snaplen = snaplen;
                layout.link_type = LinkType(network & 0x03ff_ffff).normalized();
                let cap = (MAX_WINDOW - layout.record_header_len) as u32;
                layout.max_incl = snaplen.min(cap).max(MAX_STANDARD_PACKET);
                win.consume(FILE_HEADER_LEN);
            }
            _ => {
                reader.pending = Some(CaptureError::truncated(
                    0,
                    format!("the pcap file header ({avail} of {FILE_HEADER_LEN} bytes)"),
                ));
            }
        }
        Ok(reader)
    }

    /// The header's link type, or `None` if the header was cut short.
    pub fn link_type(&self) -> Option<LinkType> {
        self.pending.is_none().then_some(self.layout.link_type)
    }

    pub fn snaplen(&self) -> u32 {
        self.layout.snaplen
    }

    /// The file's record layout, for walking a mapped file from any record boundary
    /// (`PcapLayout::record_at`); the same decoding `next` does.
    pub fn layout(&self) -> PcapLayout {
        self.layout
    }

    /// The next record, with `data_start` an index into `win.buffer()` valid until the next call.
    #[inline]
    pub fn next(&mut self, win: &mut Window) -> Result<Option<RawRecord>, CaptureError> {
        if let Some(e) = self.pending.take() {
            return Err(e);
        }
        let hlen = self.layout.record_header_len;
        let mut avail = win.available().len();
        if avail < hlen {
            avail = win.fill_to(hlen).map_err(CaptureError::Io)?;
            if avail == 0 {
                return Ok(None);
            }
            if avail < hlen {
                return Err(CaptureError::truncated(
                    win.offset(),
                    format!("a record header ({avail} of {hlen} bytes)"),
                ));
            }
        }
        let header: [u8; 16] = match win.available().get(..16).and_then(|h| h.try_into().ok()) {
            Some(h) => h,
            None => return Err(CaptureError::truncated(win.offset(), "a record header")),
        };
        let (ts, incl_len, orig_len) = self.layout.decode_header(header, win.offset())?;
        if incl_len > self.layout.snaplen && self.layout.snaplen != 0 {
            self.over_snaplen += 1;
        }
        let total = hlen + incl_len as usize;
        if avail < total {
            avail = win.fill_to(total).map_err(CaptureError::Io)?;
            if avail < total {
                return Err(CaptureError::truncated(
                    win.offset(),
                    format!(
                        "packet data ({} of {incl_len} bytes)",
                        avail.saturating_sub(hlen)
                    ),
                ));
            }
        }
        let data_start = win.pos() + hlen;
        win.consume(total);
        prefetch(win.buffer(), win.pos().saturating_add(WALK_AHEAD));
        Ok(Some(RawRecord {
            ts,
            link_type: self.layout.link_type,
            orig_len,
            data_start,
            data_len: incl_len as usize,
        }))
    }
}

/// How the records of one pcap file are laid out: what `PcapReader::next` decodes each record
/// header with, and what walks a memory-mapped file from any record boundary in parallel.
#[derive(Clone, Copy, Debug)]
pub struct PcapLayout {
    endian: Endian,
    record_header_len: usize,
    nanos: bool,
    pub link_type: LinkType,
    pub snaplen: u32,
    /// Largest incl_len accepted: the snap length when it is sane, never below 256 KiB.
    max_incl: u32,
}

/// One record of a mapped pcap file: where its data lies and where the next record starts.
#[derive(Clone, Copy, Debug)]
pub struct MappedRecord {
    pub ts: Timestamp,
    pub orig_len: u32,
    pub data_start: usize,
    pub data_len: usize,
    pub next: usize,
    /// `incl_len` above the file's snap length (accepted, counted in the reader's warnings).
    pub over_snaplen: bool,
}

impl PcapLayout {
    /// The longest a record (header and data) can be.
    pub fn max_record_len(&self) -> usize {
        self.record_header_len + self.max_incl as usize
    }

    /// Timestamp, captured length and original length of a record header at file offset
    /// `offset`; a captured length above every sane limit is corruption.
    #[inline]
    fn decode_header(
        &self,
        header: [u8; 16],
        offset: u64,
    ) -> Result<(Timestamp, u32, u32), CaptureError> {
        let e = self.endian;
        let ts_sec = e.u32_of([header[0], header[1], header[2], header[3]]);
        let ts_frac = e.u32_of([header[4], header[5], header[6], header[7]]);
        let incl_len = e.u32_of([header[8], header[9], header[10], header[11]]);
        let orig_len = e.u32_of([header[12], header[13], header[14], header[15]]);
        if incl_len > self.max_incl {
            return Err(CaptureError::malformed(
                offset,
                format!(
                    "captured length {incl_len} exceeds the limit {} (snap length {})",
                    self.max_incl, self.snaplen
                ),
            ));
        }
        let ts = if self.nanos {
            split_fraction(ts_sec, ts_frac, 1_000_000_000, 1, 9)
        } else {
            split_fraction(ts_sec, ts_frac, 1_000_000, 1_000, 6)
        };
        Ok((ts, incl_len, orig_len))
    }

    /// The record at `offset` of the whole file `file`: `Ok(None)` exactly at the end, the same
    /// errors (and offsets) as `PcapReader::next` for a cut or corrupt record.
    #[inline]
    pub fn record_at(
        &self,
        file: &[u8],
        offset: usize,
    ) -> Result<Option<MappedRecord>, CaptureError> {
        let hlen = self.record_header_len;
        let rest = file.get(offset..).unwrap_or_default();
        if rest.is_empty() {
            return Ok(None);
        }
        let Some(header) = rest.get(..16).and_then(|h| <[u8; 16]>::try_from(h).ok()) else {
            return Err(CaptureError::truncated(
                offset as u64,
                format!("a record header ({} of {hlen} bytes)", rest.len()),
            ));
        };
        if rest.len() < hlen {
            return Err(CaptureError::truncated(
                offset as u64,
                format!("a record header ({} of {hlen} bytes)", rest.len()),
            ));
        }
        let (ts, incl_len, orig_len) = self.decode_header(header, offset as u64)?;
        let total = hlen + incl_len as usize;
        if rest.len() < total {
            return Err(CaptureError::truncated(
                offset as u64,
                format!(
                    "packet data ({} of {incl_len} bytes)",
                    rest.len().saturating_sub(hlen)
                ),
            ));
        }
        Ok(Some(MappedRecord {
            ts,
            orig_len,
            data_start: offset + hlen,
            data_len: incl_len as usize,
            next: offset + total,
            over_snaplen: incl_len > self.snaplen && self.snaplen != 0,
        }))
    }

    /// Whether `offset` looks like the start of a run of `count` records (or of records up to
    /// the end of the file): sane lengths, sub-second fields in range and timestamps within a
    /// day of each other. Used only to guess where a record starts inside a segment of a
    /// mapped file; every guess is checked against the walk of the segment before it.
    pub fn plausible_run(&self, file: &[u8], mut offset: usize, count: usize) -> bool {
        let per_sec = if self.nanos { 1_000_000_000 } else { 1_000_000 };
        let mut last_sec: Option<u32> = None;
        for _ in 0..count {
            let Some(header) = file
                .get(offset..offset.saturating_add(16))
                .and_then(|h| <[u8; 16]>::try_from(h).ok())
            else {
                return offset == file.len();
            };
            let e = self.endian;
            let sec = e.u32_of([header[0], header[1], header[2], header[3]]);
            let frac = e.u32_of([header[4], header[5], header[6], header[7]]);
            let incl = e.u32_of([header[8], header[9], header[10], header[11]]);
            let orig = e.u32_of([header[12], header[13], header[14], header[15]]);
            if frac >= per_sec || incl > self.max_incl || orig < incl || incl == 0 {
                return false;
            }
            if last_sec.is_some_and(|l| l.abs_diff(sec) > 86_400) {
                return false;
            }
            last_sec = Some(sec);
            offset = offset.saturating_add(self.record_header_len + incl as usize);
            if offset > file.len() {
                return false;
            }
        }
        true
    }
}

/// Seconds plus a sub-second count in `per_sec` units; an out-of-range fraction (seen in some
/// broken writers) carries into the seconds instead of producing an invalid `nanos`.
#[inline]
fn split_fraction(
    secs: u32,
    frac: u32,
    per_sec: u32,
    nanos_per_unit: u32,
    digits: u8,
) -> Timestamp {
    let (carry, frac) = if frac < per_sec {
        (0, frac)
    } else {
        (frac / per_sec, frac % per_sec)
    };
    Timestamp {
        secs: i64::from(secs) + i64::from(carry),
        nanos: frac * nanos_per_unit,
        digits,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Cursor;

    fn window(bytes: &[u8]) -> Window {
        Window::with_capacity(Box::new(Cursor::new(bytes.to_vec())), 64)
    }

    /// pcapparser__modified-format.pcap, whole file (146 bytes): modified-pcap header, then one
    /// 24-byte record header for frame 1 (tshark: 98 bytes, epoch 1712763541.734807000, ICMP).
    const MODIFIED_HEAD: [u8; 48] = [
        0x34, 0xcd, 0xb2, 0xa1, 0x02, 0x00, 0x04, 0x00, 0, 0, 0, 0, 0, 0, 0, 0, 0x00, 0x00, 0x04,
        0x00, 0x01, 0x00, 0x00, 0x00, 0x95, 0xb2, 0x16, 0x66, 0x57, 0x36, 0x0b, 0x00, 0x62, 0x00,
        0x00, 0x00, 0x62, 0x00, 0x00, 0x00, 0, 0, 0, 0, 0, 0, 0, 0,
    ];

    fn modified_file() -> Vec<u8> {
        let mut f = MODIFIED_HEAD.to_vec();
        f.extend(std::iter::repeat_n(0xabu8, 98));
        f
    }

    #[test]
    fn modified_format_record_header_is_24_bytes() {
        let bytes = modified_file();
        let mut w = window(&bytes);
        let (fmt, endian) = sniff_magic([0x34, 0xcd, 0xb2, 0xa1]).unwrap();
        assert_eq!(fmt, CaptureFormat::PcapModified);
        let mut r = PcapReader::open(&mut w, fmt, endian).unwrap();
        assert_eq!(r.link_type(), Some(LinkType::ETHERNET));
        assert_eq!(r.snaplen(), 262_144);
        let rec = r.next(&mut w).unwrap().unwrap();
        assert_eq!(
            (rec.ts.secs, rec.ts.nanos, rec.ts.digits),
            (1_712_763_541, 734_807_000, 6)
        );
        assert_eq!((rec.orig_len, rec.data_len), (98, 98));
        // The window slid its unread bytes to the front to fit the record.
        assert_eq!(
            w.buffer().get(rec.data_start..rec.data_start + 98),
            Some(&[0xab; 98][..])
        );
        assert_eq!(w.buffer().get(rec.data_start - 1), Some(&0));
        assert!(r.next(&mut w).unwrap().is_none());
    }

    #[test]
    fn cut_inside_header_and_data_are_told_apart() {
        let bytes = modified_file();
        for (cut, expect) in [
            (10, "file header"),
            (30, "record header"),
            (100, "packet data"),
        ] {
            let mut w = window(bytes.get(..cut).unwrap());
            let mut r =
                PcapReader::open(&mut w, CaptureFormat::PcapModified, Endian::Little).unwrap();
            let err = r.next(&mut w).unwrap_err();
            assert!(err.is_truncated(), "{err}");
            assert!(err.to_string().contains(expect), "{cut}: {err}");
        }
    }

    #[test]
    fn oversize_record_is_malformed_not_allocated() {
        let mut bytes = MODIFIED_HEAD.to_vec();
        // incl_len = 0x7fffffff at offset 32.
        bytes.splice(32..36, [0xff, 0xff, 0xff, 0x7f]);
        let mut w = window(&bytes);
        let mut r = PcapReader::open(&mut w, CaptureFormat::PcapModified, Endian::Little).unwrap();
        let err = r.next(&mut w).unwrap_err();
        assert!(
            matches!(err, CaptureError::Malformed { offset: 24, .. }),
            "{err}"
        );
        assert!(w.buffer().len() <= 128);
    }

    #[test]
    fn fraction_overflow_carries() {
        let ts = split_fraction(10, 2_500_000, 1_000_000, 1_000, 6);
        assert_eq!((ts.secs, ts.nanos), (12, 500_000_000));
    }
}
