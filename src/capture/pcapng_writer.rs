//! Writing pcapng (draft-ietf-opsawg-pcapng), as `--evidence` and `sniff -w` do: one Section
//! Header Block, one Interface Description Block per link type (written on first use), Enhanced
//! Packet Blocks with optional comments. Little-endian, section length left unspecified.
//!
//! ```text
//! block:  type u32 | total length u32 | body | total length u32
//! SHB:    byte-order magic 0x1A2B3C4D | major 1 | minor 0 | section length -1 | options
//! IDB:    link type u16 | reserved u16 | snaplen u32 | options (if_name, if_tsresol)
//! EPB:    interface u32 | timestamp high u32 | low u32 | captured len | original len | data,
//!         padded to 32 bits | options (comments)
//! option: code u16 | length u16 | value padded to 32 bits; opt_endofopt closes the list
//! ```

use std::io::{self, Write};

use super::{Frame, LinkType};

const BT_SHB: u32 = 0x0A0D_0D0A;
const BT_IDB: u32 = 0x0000_0001;
const BT_EPB: u32 = 0x0000_0006;
const BYTE_ORDER_MAGIC: u32 = 0x1A2B_3C4D;
const OPT_ENDOFOPT: u16 = 0;
const OPT_COMMENT: u16 = 1;
const SHB_USERAPPL: u16 = 4;
const IF_NAME: u16 = 2;
const IF_TSRESOL: u16 = 9;

/// Timestamp resolution of the interfaces a writer creates (`if_tsresol`, a power of ten).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum TsResolution {
    /// 10^-6 s: live captures, whose timestamps are microseconds.
    Micro,
    /// 10^-9 s: frames re-read from files of any resolution.
    Nano,
}

impl TsResolution {
    fn digits(self) -> u8 {
        match self {
            TsResolution::Micro => 6,
            TsResolution::Nano => 9,
        }
    }
}

/// A pcapng file being written to `out`.
pub struct PcapngWriter<W: Write> {
    out: W,
    interfaces: Vec<LinkType>,
    if_name: Option<String>,
    resolution: TsResolution,
    written: u64,
}

impl<W: Write> PcapngWriter<W> {
    /// Starts the file: the section header with `comment` and kerbscope as the writing
    /// application. Interfaces get `if_name` when given.
    pub fn new(
        out: W,
        comment: &str,
        if_name: Option<&str>,
        resolution: TsResolution,
    ) -> io::Result<Self> {
        let mut w = PcapngWriter {
            out,
            interfaces: Vec::new(),
            if_name: if_name.map(str::to_string),
            resolution,
            written: 0,
        };
        let mut body = Vec::new();
        body.extend_from_slice(&BYTE_ORDER_MAGIC.to_le_bytes());
        body.extend_from_slice(&1u16.to_le_bytes());
        body.extend_from_slice(&0u16.to_le_bytes());
        body.extend_from_slice(&(-1i64).to_le_bytes()); // section length not given
        push_option(&mut body, OPT_COMMENT, comment.as_bytes());
        let appl = format!("kerbscope {}", env!("CARGO_PKG_VERSION"));
        push_option(&mut body, SHB_USERAPPL, appl.as_bytes());
        push_option(&mut body, OPT_ENDOFOPT, &[]);
        w.block(BT_SHB, &body)?;
        Ok(w)
    }

    /// Bytes written so far.
    pub fn written(&self) -> u64 {
        self.written
    }

    /// The interface id for `link`, writing its IDB the first time. None for link types a
    /// pcapng IDB cannot hold (kerbscope's NetMon event pseudo-type).
    fn interface(&mut self, link: LinkType) -> io::Result<Option<u32>> {
        if let Some(i) = self.interfaces.iter().position(|l| *l == link) {
            return Ok(u32::try_from(i).ok());
        }
        let Ok(code) = u16::try_from(link.0) else {
            return Ok(None);
        };
        let mut body = Vec::new();
        body.extend_from_slice(&code.to_le_bytes());
        body.extend_from_slice(&0u16.to_le_bytes());
        body.extend_from_slice(&0u32.to_le_bytes()); // snaplen: no limit
        if let Some(name) = &self.if_name {
            push_option(&mut body, IF_NAME, name.as_bytes());
        }
        push_option(&mut body, IF_TSRESOL, &[self.resolution.digits()]);
        push_option(&mut body, OPT_ENDOFOPT, &[]);
        self.block(BT_IDB, &body)?;
        self.interfaces.push(link);
        Ok(u32::try_from(self.interfaces.len() - 1).ok())
    }

    /// Writes one EPB; false when the frame's link type cannot be written.
    pub fn packet(&mut self, frame: &Frame<'_>, comments: &[&str]) -> io::Result<bool> {
        let Some(iface) = self.interface(frame.link_type)? else {
            return Ok(false);
        };
        let Ok(cap_len) = u32::try_from(frame.data.len()) else {
            return Ok(false);
        };
        let ts = match self.resolution {
            TsResolution::Micro => u64::try_from(frame.ts.secs)
                .unwrap_or(0)
                .saturating_mul(1_000_000)
                .saturating_add(u64::from(frame.ts.nanos / 1000)),
            TsResolution::Nano => u64::try_from(frame.ts.secs)
                .unwrap_or(0)
                .saturating_mul(1_000_000_000)
                .saturating_add(u64::from(frame.ts.nanos)),
        };
        let mut body = Vec::with_capacity(frame.data.len() + 64);
        body.extend_from_slice(&iface.to_le_bytes());
        body.extend_from_slice(&((ts >> 32) as u32).to_le_bytes());
        body.extend_from_slice(&(ts as u32).to_le_bytes());
        body.extend_from_slice(&cap_len.to_le_bytes());
        body.extend_from_slice(&frame.orig_len.max(cap_len).to_le_bytes());
        body.extend_from_slice(frame.data);
        pad4(&mut body);
        if !comments.is_empty() {
            for c in comments {
                push_option(&mut body, OPT_COMMENT, c.as_bytes());
            }
            push_option(&mut body, OPT_ENDOFOPT, &[]);
        }
        self.block(BT_EPB, &body)?;
        Ok(true)
    }

    fn block(&mut self, block_type: u32, body: &[u8]) -> io::Result<()> {
        let total = u32::try_from(body.len() + 12)
            .map_err(|_| io::Error::other("pcapng block too large"))?;
        self.out.write_all(&block_type.to_le_bytes())?;
        self.out.write_all(&total.to_le_bytes())?;
        self.out.write_all(body)?;
        self.out.write_all(&total.to_le_bytes())?;
        self.written += u64::from(total);
        Ok(())
    }

    pub fn flush(&mut self) -> io::Result<()> {
        self.out.flush()
    }
}

/// An option: code, length, value padded to 32 bits. Values longer than an option can hold
/// are cut (comments only).
fn push_option(body: &mut Vec<u8>, code: u16, value: &[u8]) {
    let value = value.get(..usize::from(u16::MAX) - 3).unwrap_or(value);
    let len = u16::try_from(value.len()).unwrap_or(u16::MAX - 3);
    body.extend_from_slice(&code.to_le_bytes());
    body.extend_from_slice(&len.to_le_bytes());
    body.extend_from_slice(value);
    pad4(body);
}

fn pad4(body: &mut Vec<u8>) {
    while !body.len().is_multiple_of(4) {
        body.push(0);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::capture::{CaptureReader, Timestamp};

    /// What the writer produces, our own reader (tested against tshark on the public pcapng
    /// files) reads back: link types, timestamps at both resolutions, bytes, lengths.
    #[test]
    fn written_files_read_back() {
        for resolution in [TsResolution::Micro, TsResolution::Nano] {
            let mut w = PcapngWriter::new(Vec::new(), "test", Some("eth0"), resolution).unwrap();
            let data = [0xabu8; 61];
            let frames = [
                (LinkType(1), 1_700_000_000, 123_456_000),
                (LinkType(113), 1_700_000_001, 999_999_000),
                (LinkType(1), 1_700_000_002, 0),
            ];
            for (link, secs, nanos) in frames {
                let frame = Frame {
                    number: 0,
                    ts: Timestamp {
                        secs,
                        nanos,
                        digits: 9,
                    },
                    link_type: link,
                    data: &data,
                    orig_len: 100,
                };
                assert!(w.packet(&frame, &["a comment"]).unwrap());
            }
            let bytes = w.out;
            assert_eq!(w.written, bytes.len() as u64);
            let mut r = CaptureReader::from_bytes(bytes).unwrap();
            for (link, secs, nanos) in frames {
                let f = r.next_frame().unwrap().unwrap();
                assert_eq!(
                    (f.link_type, f.ts.secs, f.ts.nanos, f.data, f.orig_len),
                    (link, secs, nanos, &data[..], 100)
                );
            }
            assert!(r.next_frame().unwrap().is_none());
        }
    }
}
