//! pcapng writing for `sniff` (draft-ietf-opsawg-pcapng): one Section Header Block, one
//! Interface Description Block per link type (microsecond `if_tsresol`, as live timestamps are),
//! Enhanced Packet Blocks with optional comments. [`Rotating`] spreads `-w` over files of
//! bounded size and count.

use std::collections::VecDeque;
use std::fs::File;
use std::io::{self, BufWriter, Write};
use std::path::{Path, PathBuf};

use kerbscope::capture::{Frame, LinkType};

const BT_SHB: u32 = 0x0A0D_0D0A;
const BT_IDB: u32 = 0x0000_0001;
const BT_EPB: u32 = 0x0000_0006;
const BYTE_ORDER_MAGIC: u32 = 0x1A2B_3C4D;
const OPT_ENDOFOPT: u16 = 0;
const OPT_COMMENT: u16 = 1;
const SHB_USERAPPL: u16 = 4;
const IF_NAME: u16 = 2;
const IF_TSRESOL: u16 = 9;

/// A little-endian pcapng file being written.
pub struct PcapngOut {
    out: BufWriter<File>,
    interfaces: Vec<LinkType>,
    if_name: String,
    written: u64,
}

impl PcapngOut {
    pub fn create(path: &Path, comment: &str, if_name: &str) -> io::Result<PcapngOut> {
        let mut w = PcapngOut {
            out: BufWriter::with_capacity(1 << 20, File::create(path)?),
            interfaces: Vec::new(),
            if_name: if_name.to_string(),
            written: 0,
        };
        let mut body = Vec::new();
        body.extend_from_slice(&BYTE_ORDER_MAGIC.to_le_bytes());
        body.extend_from_slice(&1u16.to_le_bytes());
        body.extend_from_slice(&0u16.to_le_bytes());
        body.extend_from_slice(&(-1i64).to_le_bytes()); // section length not known
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
        push_option(&mut body, IF_NAME, self.if_name.clone().as_bytes());
        push_option(&mut body, IF_TSRESOL, &[6]);
        push_option(&mut body, OPT_ENDOFOPT, &[]);
        self.block(BT_IDB, &body)?;
        self.interfaces.push(link);
        Ok(u32::try_from(self.interfaces.len() - 1).ok())
    }

    /// Write one EPB; false when the link type cannot be written.
    pub fn packet(&mut self, frame: &Frame<'_>, comments: &[&str]) -> io::Result<bool> {
        let Some(iface) = self.interface(frame.link_type)? else {
            return Ok(false);
        };
        let Ok(cap_len) = u32::try_from(frame.data.len()) else {
            return Ok(false);
        };
        let ts = u64::try_from(frame.ts.secs)
            .unwrap_or(0)
            .saturating_mul(1_000_000)
            .saturating_add(u64::from(frame.ts.nanos / 1000));
        let mut body = Vec::with_capacity(frame.data.len() + 32);
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

/// An option: code, length, value padded to 32 bits (values longer than an option holds are cut).
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

/// `-w FILE`: every captured frame. The first file is FILE itself; when it reaches `max_bytes`
/// the next is `STEM.<first frame number>.EXT`, so a frame's number in the live run is the
/// number in the file name plus its position minus one. At most `max_files` are kept; the
/// oldest is deleted.
pub struct Rotating {
    base: PathBuf,
    if_name: String,
    max_bytes: u64,
    max_files: usize,
    current: Option<PcapngOut>,
    files: VecDeque<PathBuf>,
}

impl Rotating {
    pub fn new(
        base: &Path,
        if_name: &str,
        max_bytes: u64,
        max_files: usize,
    ) -> io::Result<Rotating> {
        let mut r = Rotating {
            base: base.to_path_buf(),
            if_name: if_name.to_string(),
            max_bytes: max_bytes.max(1 << 16),
            max_files: max_files.max(1),
            current: None,
            files: VecDeque::new(),
        };
        r.open(1)?; // created now so an unwritable path fails before capturing starts
        Ok(r)
    }

    fn name_for(&self, first: u64) -> PathBuf {
        if first == 1 {
            return self.base.clone();
        }
        let stem = self
            .base
            .file_stem()
            .map(|s| s.to_string_lossy().into_owned())
            .unwrap_or_default();
        let name = match self.base.extension() {
            Some(ext) => format!("{stem}.{first}.{}", ext.to_string_lossy()),
            None => format!("{stem}.{first}"),
        };
        self.base.with_file_name(name)
    }

    fn open(&mut self, first: u64) -> io::Result<()> {
        if let Some(mut old) = self.current.take() {
            old.flush()?;
        }
        let path = self.name_for(first);
        let comment = format!(
            "kerbscope sniff on {}: frames from {first} on",
            self.if_name
        );
        self.current = Some(PcapngOut::create(&path, &comment, &self.if_name)?);
        self.files.push_back(path);
        while self.files.len() > self.max_files {
            if let Some(old) = self.files.pop_front() {
                let _ = std::fs::remove_file(old);
            }
        }
        Ok(())
    }

    pub fn write(&mut self, frame: &Frame<'_>) -> io::Result<()> {
        if self
            .current
            .as_ref()
            .is_some_and(|c| c.written() >= self.max_bytes)
        {
            self.open(frame.number)?;
        }
        if let Some(c) = self.current.as_mut() {
            c.packet(frame, &[])?;
        }
        Ok(())
    }

    pub fn flush(&mut self) -> io::Result<()> {
        match self.current.as_mut() {
            Some(c) => c.flush(),
            None => Ok(()),
        }
    }
}
