//! pcapng (draft-ietf-opsawg-pcapng): sections of either byte order, per-section interface
//! lists, Enhanced / Simple / obsolete Packet Blocks. Every other block (NRB, ISB, DSB, custom,
//! unknown) is skipped and is not a frame.
//!
//! ```text
//! every block:  u32 block_type | u32 total_length | body ... | u32 total_length (again)
//!               total_length counts all of it, is a multiple of 4 and at least 12
//! SHB 0x0A0D0D0A: u32 byte_order_magic 0x1A2B3C4D (its byte order is the section's)
//!                 u16 major (1) | u16 minor | i64 section_length | options
//! IDB 0x00000001: u16 link_type | u16 reserved | u32 snaplen | options
//!                 (if_tsresol = 9: 1 byte, bit 7 set → 2^-n s else 10^-n s, default 10^-6;
//!                  if_tsoffset = 14: i64 seconds added to every timestamp)
//! EPB 0x00000006: u32 interface_id | u32 ts_high | u32 ts_low | u32 caplen | u32 orig_len
//!                 | data padded to 4 | options
//! SPB 0x00000003: u32 orig_len | data (interface 0, caplen = min(orig_len, snaplen, room))
//! PB  0x00000002: u16 interface_id | u16 drops | u32 ts_high | u32 ts_low | u32 caplen
//!                 | u32 orig_len | data padded to 4 | options           (obsolete)
//! options:        u16 code | u16 length | value padded to 4 ... code 0 ends the list
//! ```

use super::bytes::Endian;
use super::error::CaptureError;
use super::window::{MAX_WINDOW, Window};
use super::{LinkType, RawRecord, Timestamp};

const SHB: u32 = 0x0A0D_0D0A;
const IDB: u32 = 0x0000_0001;
const PB: u32 = 0x0000_0002;
const SPB: u32 = 0x0000_0003;
const EPB: u32 = 0x0000_0006;
const BYTE_ORDER_MAGIC: u32 = 0x1A2B_3C4D;

const OPT_END: u16 = 0;
const OPT_IF_TSRESOL: u16 = 9;
const OPT_IF_TSOFFSET: u16 = 14;

/// Units of an interface's 64-bit timestamps.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum TsResolution {
    /// 10^-n seconds, n in 0..=19 (a u64 holds 10^19).
    Decimal(u32),
    /// 2^-n seconds, n in 0..=63.
    Binary(u32),
}

impl TsResolution {
    fn from_option(byte: u8) -> Option<TsResolution> {
        let n = u32::from(byte & 0x7f);
        if byte & 0x80 != 0 {
            (n <= 63).then_some(TsResolution::Binary(n))
        } else {
            (n <= 19).then_some(TsResolution::Decimal(n))
        }
    }

    /// Fractional digits worth printing: n for 10^-n (at most 9), 9 for binary fractions.
    fn digits(self) -> u8 {
        match self {
            TsResolution::Decimal(n) => n.min(9) as u8,
            TsResolution::Binary(0) => 0,
            TsResolution::Binary(_) => 9,
        }
    }

    #[inline]
    fn to_timestamp(self, units: u64, offset_secs: i64) -> Timestamp {
        let (secs, nanos) = match self {
            TsResolution::Decimal(6) => (units / 1_000_000, (units % 1_000_000) as u32 * 1_000),
            TsResolution::Decimal(n) => {
                let per_sec = 10u64.pow(n);
                let frac = units % per_sec;
                let nanos = if n <= 9 {
                    frac * 10u64.pow(9 - n)
                } else {
                    frac / 10u64.pow(n - 9)
                };
                (units / per_sec, nanos as u32)
            }
            TsResolution::Binary(n) => {
                let frac = units & ((1u64 << n) - 1);
                let nanos = ((u128::from(frac) * 1_000_000_000) >> n) as u32;
                (units >> n, nanos)
            }
        };
        Timestamp {
            secs: (secs as i64).saturating_add(offset_secs),
            nanos,
            digits: self.digits(),
        }
    }
}

#[derive(Clone, Copy, Debug)]
struct Interface {
    link_type: LinkType,
    snaplen: u32,
    resolution: TsResolution,
    offset_secs: i64,
}

pub struct PcapngReader {
    endian: Endian,
    /// Interfaces of the current section, in IDB order (their index is the interface id).
    interfaces: Vec<Interface>,
    /// Every link type any IDB declared, in the order first seen.
    pub declared: Vec<LinkType>,
    previous_ts: Option<Timestamp>,
    pub sections: u32,
    /// Simple Packet Blocks seen; they carry no timestamp (see `next`).
    pub simple_packets: u64,
    pub skipped_blocks: u64,
}

impl Default for PcapngReader {
    fn default() -> Self {
        PcapngReader::new()
    }
}

impl PcapngReader {
    pub fn new() -> PcapngReader {
        PcapngReader {
            endian: Endian::Little,
            interfaces: Vec::new(),
            declared: Vec::new(),
            previous_ts: None,
            sections: 0,
            simple_packets: 0,
            skipped_blocks: 0,
        }
    }

    /// Reads blocks until the next packet block. `data_start` indexes `win.buffer()`.
    ///
    /// A Simple Packet Block has no timestamp; it gets the previous frame's timestamp (0 if it is
    /// the first frame). TShark shows such frames with an empty `frame.time_epoch`.
    pub fn next(&mut self, win: &mut Window) -> Result<Option<RawRecord>, CaptureError> {
        loop {
            let start = win.offset();
            let mut avail = win.available().len();
            if avail < 12 {
                avail = win.fill_to(12).map_err(CaptureError::Io)?;
                if avail == 0 {
                    return Ok(None);
                }
            }
            let head = win.available();
            let raw_type = Endian::Little.u32(head, 0);
            if raw_type == Some(SHB) {
                // The byte-order magic decides how to read everything else in the section,
                // starting with this block's own length.
                match Endian::Big.u32(head, 8) {
                    Some(BYTE_ORDER_MAGIC) => self.endian = Endian::Big,
                    Some(m) if m.swap_bytes() == BYTE_ORDER_MAGIC => self.endian = Endian::Little,
                    Some(m) => {
                        return Err(CaptureError::malformed(
                            start,
                            format!("section header byte-order magic {m:08x} is not 1a2b3c4d"),
                        ));
                    }
                    None => {
                        return Err(CaptureError::truncated(
                            start,
                            format!("{} ({avail} of 12 bytes)", shb_name(start)),
                        ));
                    }
                }
            } else if avail < 8 {
                return Err(CaptureError::truncated(
                    start,
                    format!("a block header ({avail} of 8 bytes)"),
                ));
            }
            let e = self.endian;
            let (Some(block_type), Some(total)) = (e.u32(head, 0), e.u32(head, 4)) else {
                return Err(CaptureError::truncated(start, "a block header"));
            };
            if total < 12 || total % 4 != 0 || total as usize > MAX_WINDOW {
                return Err(CaptureError::malformed(
                    start,
                    format!("block type {block_type:#x} has total length {total}"),
                ));
            }
            let total = total as usize;
            if avail < total {
                avail = win.fill_to(total).map_err(CaptureError::Io)?;
                if avail < total {
                    let inside = match block_type {
                        EPB | SPB | PB => "packet data",
                        SHB => shb_name(start),
                        _ => "a block body",
                    };
                    return Err(CaptureError::truncated(
                        start,
                        format!("{inside} (block type {block_type:#x}: {avail} of {total} bytes)"),
                    ));
                }
            }
            let Some(block) = win.available().get(..total) else {
                return Err(CaptureError::truncated(start, "a block"));
            };
            if e.u32(block, total - 4) != Some(total as u32) {
                return Err(CaptureError::malformed(
                    start,
                    format!(
                        "block type {block_type:#x}: trailing length {:?} differs from leading length {total}",
                        e.u32(block, total - 4)
                    ),
                ));
            }
            // Body without the 8-byte head and the 4-byte trailing length.
            let body = block.get(8..total - 4).unwrap_or(&[]);
            let record = match block_type {
                SHB => {
                    self.section_header(body, start)?;
                    None
                }
                IDB => {
                    self.interface(body, start)?;
                    None
                }
                EPB | PB => Some(self.packet(block_type, body, start, win.pos())?),
                SPB => Some(self.simple_packet(body, start, win.pos())?),
                _ => {
                    self.skipped_blocks += 1;
                    None
                }
            };
            win.consume(total);
            if let Some(record) = record {
                return Ok(Some(record));
            }
        }
    }

    fn section_header(&mut self, body: &[u8], start: u64) -> Result<(), CaptureError> {
        let e = self.endian;
        let (Some(major), Some(minor)) = (e.u16(body, 4), e.u16(body, 6)) else {
            return Err(CaptureError::malformed(
                start,
                "section header block too short",
            ));
        };
        if major != 1 {
            return Err(CaptureError::malformed(
                start,
                format!("pcapng version {major}.{minor} is not supported"),
            ));
        }
        self.interfaces.clear();
        self.sections += 1;
        Ok(())
    }

    fn interface(&mut self, body: &[u8], start: u64) -> Result<(), CaptureError> {
        let e = self.endian;
        let (Some(link), Some(snaplen)) = (e.u16(body, 0), e.u32(body, 4)) else {
            return Err(CaptureError::malformed(
                start,
                "interface description block too short",
            ));
        };
        let mut iface = Interface {
            link_type: LinkType(u32::from(link)).normalized(),
            snaplen,
            resolution: TsResolution::Decimal(6),
            offset_secs: 0,
        };
        for (code, value) in options(e, body.get(8..).unwrap_or(&[])) {
            match code {
                OPT_IF_TSRESOL => {
                    let byte = value.first().copied().unwrap_or(6);
                    iface.resolution = TsResolution::from_option(byte).ok_or_else(|| {
                        CaptureError::malformed(start, format!("if_tsresol {byte:#04x} too fine"))
                    })?;
                }
                OPT_IF_TSOFFSET => {
                    if let Some(v) = e.u64(value, 0) {
                        iface.offset_secs = v as i64;
                    }
                }
                _ => {}
            }
        }
        if !self.declared.contains(&iface.link_type) {
            self.declared.push(iface.link_type);
        }
        self.interfaces.push(iface);
        Ok(())
    }

    /// An EPB or an obsolete PB; they differ only in the width of the interface id.
    fn packet(
        &mut self,
        block_type: u32,
        body: &[u8],
        start: u64,
        block_pos: usize,
    ) -> Result<RawRecord, CaptureError> {
        let e = self.endian;
        let id = if block_type == PB {
            e.u16(body, 0).map(u32::from)
        } else {
            e.u32(body, 0)
        };
        let fields = (
            id,
            e.u32(body, 4),
            e.u32(body, 8),
            e.u32(body, 12),
            e.u32(body, 16),
        );
        let (Some(id), Some(hi), Some(lo), Some(caplen), Some(orig_len)) = fields else {
            return Err(CaptureError::malformed(
                start,
                "packet block shorter than its fields",
            ));
        };
        let Some(iface) = self.interfaces.get(id as usize).copied() else {
            return Err(CaptureError::malformed(
                start,
                format!(
                    "packet block names interface {id}, the section has {}",
                    self.interfaces.len()
                ),
            ));
        };
        let room = body.len().saturating_sub(20);
        if caplen as usize > room {
            return Err(CaptureError::malformed(
                start,
                format!("captured length {caplen} exceeds the block's {room} data bytes"),
            ));
        }
        let ts = iface
            .resolution
            .to_timestamp((u64::from(hi) << 32) | u64::from(lo), iface.offset_secs);
        self.previous_ts = Some(ts);
        Ok(RawRecord {
            ts,
            link_type: iface.link_type,
            orig_len,
            data_start: block_pos + 28,
            data_len: caplen as usize,
        })
    }

    fn simple_packet(
        &mut self,
        body: &[u8],
        start: u64,
        block_pos: usize,
    ) -> Result<RawRecord, CaptureError> {
        let Some(iface) = self.interfaces.first().copied() else {
            return Err(CaptureError::malformed(
                start,
                "simple packet block before any interface",
            ));
        };
        let Some(orig_len) = self.endian.u32(body, 0) else {
            return Err(CaptureError::malformed(
                start,
                "simple packet block too short",
            ));
        };
        let room = body.len().saturating_sub(4);
        let mut caplen = (orig_len as usize).min(room);
        if iface.snaplen != 0 {
            caplen = caplen.min(iface.snaplen as usize);
        }
        self.simple_packets += 1;
        let ts = self.previous_ts.unwrap_or(Timestamp {
            secs: 0,
            nanos: 0,
            digits: iface.resolution.digits(),
        });
        Ok(RawRecord {
            ts,
            link_type: iface.link_type,
            orig_len,
            data_start: block_pos + 12,
            data_len: caplen,
        })
    }
}

/// How a cut inside a section header is described: the first one is the file header.
fn shb_name(start: u64) -> &'static str {
    if start == 0 {
        "the pcapng file header (section header block)"
    } else {
        "a section header block"
    }
}

/// Iterates `(code, value)` over an options list, stopping at opt_endofopt or at the first option
/// whose declared length runs past the end (a damaged option list ends the list, not the file).
fn options(e: Endian, mut rest: &[u8]) -> impl Iterator<Item = (u16, &[u8])> {
    std::iter::from_fn(move || {
        let code = e.u16(rest, 0)?;
        let len = usize::from(e.u16(rest, 2)?);
        if code == OPT_END {
            return None;
        }
        let value = rest.get(4..4 + len)?;
        let padded = 4 + len.checked_add(3)? / 4 * 4;
        rest = rest.get(padded..).unwrap_or(&[]);
        Some((code, value))
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Cursor;

    fn window(bytes: &[u8]) -> Window {
        Window::with_capacity(Box::new(Cursor::new(bytes.to_vec())), 64)
    }

    fn block(e: Endian, block_type: u32, body: &[u8]) -> Vec<u8> {
        let total = (12 + body.len()).div_ceil(4) * 4;
        let put = |v: u32| match e {
            Endian::Little => v.to_le_bytes(),
            Endian::Big => v.to_be_bytes(),
        };
        let mut b = Vec::new();
        b.extend(put(block_type));
        b.extend(put(total as u32));
        b.extend(body);
        b.resize(total - 4, 0);
        b.extend(put(total as u32));
        b
    }

    fn shb(e: Endian) -> Vec<u8> {
        let body = match e {
            Endian::Little => [
                0x4d, 0x3c, 0x2b, 0x1a, 1, 0, 0, 0, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff,
            ],
            Endian::Big => [
                0x1a, 0x2b, 0x3c, 0x4d, 0, 1, 0, 0, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff,
            ],
        };
        block(e, SHB, &body)
    }

    /// Little-endian IDB with the given options bytes.
    fn idb(link: u16, snaplen: u32, options: &[u8]) -> Vec<u8> {
        let mut body = link.to_le_bytes().to_vec();
        body.extend([0, 0]);
        body.extend(snaplen.to_le_bytes());
        body.extend(options);
        block(Endian::Little, IDB, &body)
    }

    fn epb(iface: u32, ts: u64, data: &[u8]) -> Vec<u8> {
        let mut body = iface.to_le_bytes().to_vec();
        body.extend(((ts >> 32) as u32).to_le_bytes());
        body.extend((ts as u32).to_le_bytes());
        body.extend((data.len() as u32).to_le_bytes());
        body.extend((data.len() as u32 + 10).to_le_bytes());
        body.extend(data);
        block(Endian::Little, EPB, &body)
    }

    /// pcapngtestgen__be_difficult_test202.pcapng, bytes 0x1c0..0x240: frame 2, an EPB in the
    /// big-endian first section (interface 0 Ethernet, snaplen 96; tshark: epoch
    /// 1340954905.298858000, 314 bytes on wire, 96 captured), with its options cut off (we
    /// rebuild the block with a correct length around the fixed part).
    #[test]
    fn test202_style_big_endian_epb() {
        let e = Endian::Big;
        let mut file = shb(e);
        let mut idb_body = vec![0, 1, 0, 0, 0, 0, 0, 96];
        idb_body.extend([0, 0, 0, 0]);
        file.extend(block(e, IDB, &idb_body));
        // interface 0, ts 1340954905298858 µs = 0x0004c3 4c:2e d7 6f aa... built from the value.
        let ts: u64 = 1_340_954_905_298_858;
        let mut body = vec![0, 0, 0, 0];
        body.extend(((ts >> 32) as u32).to_be_bytes());
        body.extend((ts as u32).to_be_bytes());
        body.extend(96u32.to_be_bytes());
        body.extend(314u32.to_be_bytes());
        body.extend([0x5a; 96]);
        file.extend(block(e, EPB, &body));
        let mut w = window(&file);
        let mut r = PcapngReader::new();
        let rec = r.next(&mut w).unwrap().unwrap();
        assert_eq!(
            (rec.ts.secs, rec.ts.nanos, rec.ts.digits),
            (1_340_954_905, 298_858_000, 6)
        );
        assert_eq!(
            (rec.orig_len, rec.data_len, rec.link_type),
            (314, 96, LinkType::ETHERNET)
        );
        assert_eq!(w.buffer().get(rec.data_start), Some(&0x5a));
        assert!(r.next(&mut w).unwrap().is_none());
    }

    #[test]
    fn tsresol_and_tsoffset_apply_per_interface() {
        let mut file = shb(Endian::Little);
        file.extend(idb(1, 0, &[9, 0, 1, 0, 9, 0, 0, 0, 0, 0, 0, 0])); // 10^-9
        // 2^-10 with offset +100 s.
        let mut opts = vec![9, 0, 1, 0, 0x8a, 0, 0, 0, 14, 0, 8, 0];
        opts.extend(100i64.to_le_bytes());
        opts.extend([0, 0, 0, 0]);
        file.extend(idb(101, 0, &opts));
        file.extend(epb(0, 1_500_000_000_123_456_789, b"abcd"));
        file.extend(epb(1, (7 << 10) | 512, b"ef"));
        let mut w = window(&file);
        let mut r = PcapngReader::new();
        let a = r.next(&mut w).unwrap().unwrap();
        assert_eq!(
            (a.ts.secs, a.ts.nanos, a.ts.digits),
            (1_500_000_000, 123_456_789, 9)
        );
        let b = r.next(&mut w).unwrap().unwrap();
        assert_eq!(
            (b.ts.secs, b.ts.nanos, b.link_type),
            (107, 500_000_000, LinkType::RAW)
        );
        assert_eq!(r.declared, vec![LinkType::ETHERNET, LinkType::RAW]);
    }

    #[test]
    fn spb_uses_previous_timestamp_and_snaplen() {
        let mut file = shb(Endian::Little);
        file.extend(idb(1, 8, &[]));
        file.extend(epb(0, 5_000_001, b"x"));
        let mut spb = 100u32.to_le_bytes().to_vec();
        spb.extend([7u8; 12]);
        file.extend(block(Endian::Little, SPB, &spb));
        let mut w = window(&file);
        let mut r = PcapngReader::new();
        r.next(&mut w).unwrap().unwrap();
        let s = r.next(&mut w).unwrap().unwrap();
        assert_eq!((s.ts.secs, s.ts.nanos), (5, 1_000));
        assert_eq!((s.orig_len, s.data_len), (100, 8));
        assert_eq!(r.simple_packets, 1);
    }

    #[test]
    fn unknown_and_custom_blocks_are_not_frames() {
        let mut file = shb(Endian::Little);
        file.extend(idb(1, 0, &[]));
        file.extend(block(
            Endian::Little,
            0x0000_0BAD,
            &[1, 2, 3, 4, 0xa6, 0x2c, 0, 0],
        ));
        file.extend(block(Endian::Little, 0x4000_0BAD, &[1, 2, 3, 4]));
        file.extend(block(Endian::Little, 0x0000_0005, &[0; 12])); // ISB
        file.extend(epb(0, 1, b"only"));
        let mut w = window(&file);
        let mut r = PcapngReader::new();
        assert_eq!(r.next(&mut w).unwrap().unwrap().data_len, 4);
        assert!(r.next(&mut w).unwrap().is_none());
        assert_eq!(r.skipped_blocks, 3);
    }

    #[test]
    fn inconsistent_blocks_are_malformed() {
        let base = {
            let mut f = shb(Endian::Little);
            f.extend(idb(1, 0, &[]));
            f
        };
        // Trailing length differs.
        let mut f = base.clone();
        let mut b = epb(0, 1, b"abcd");
        let n = b.len();
        b.splice(n - 4.., 99u32.to_le_bytes());
        f.extend(b);
        let err = PcapngReader::new().next(&mut window(&f)).unwrap_err();
        assert!(err.to_string().contains("trailing length"), "{err}");
        // Unknown interface.
        let mut f = base.clone();
        f.extend(epb(3, 1, b"abcd"));
        let err = PcapngReader::new().next(&mut window(&f)).unwrap_err();
        assert!(err.to_string().contains("interface 3"), "{err}");
        // Captured length beyond the block.
        let mut f = base.clone();
        let mut b = epb(0, 1, b"abcd");
        b.splice(20..24, 1000u32.to_le_bytes());
        f.extend(b);
        let err = PcapngReader::new().next(&mut window(&f)).unwrap_err();
        assert!(matches!(err, CaptureError::Malformed { .. }), "{err}");
        // Total length not a multiple of 4, and absurdly large.
        for bad in [13u32, 0xffff_fff0] {
            let mut f = base.clone();
            let mut b = epb(0, 1, b"abcd");
            b.splice(4..8, bad.to_le_bytes());
            f.extend(b);
            let err = PcapngReader::new().next(&mut window(&f)).unwrap_err();
            assert!(matches!(err, CaptureError::Malformed { .. }), "{err}");
        }
        // A bad byte-order magic.
        let mut f = shb(Endian::Little);
        f.splice(8..12, [1, 2, 3, 4]);
        let err = PcapngReader::new().next(&mut window(&f)).unwrap_err();
        assert!(err.to_string().contains("byte-order"), "{err}");
    }

    #[test]
    fn damaged_option_list_ends_quietly() {
        let opts = [9u8, 0, 200, 0, 5];
        assert_eq!(options(Endian::Little, &opts).count(), 0);
        let opts = [2u8, 0, 1, 0, b'x', 0, 0, 0, 9, 0];
        assert_eq!(
            options(Endian::Little, &opts).collect::<Vec<_>>(),
            vec![(2, &b"x"[..])]
        );
    }
}
