//! `CaptureReader`: opens a file or a byte vector, peels an optional gzip layer, recognises the
//! capture format from its magic bytes and hands out frames one at a time.
//!
//! pcap and pcapng stream through one reusable window (constant memory, no per-record
//! allocation); NetMon is read whole (up to `MAX_NETMON_FILE`) because its frame table sits at the
//! end of the file. A plain (not gzip) file of `MMAP_MIN_LEN` bytes or more is memory-mapped
//! instead of read: no copy out of the page cache, and the workers of a parallel walk share the
//! pages. Like ripgrep, we accept that a file truncated by another process while mapped can end
//! the run with SIGBUS; `KERBSCOPE_NO_MMAP=1` turns mapping off.

use std::fs::File;
use std::io::{self, Cursor, Read, Seek, SeekFrom};
use std::path::Path;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use flate2::read::MultiGzDecoder;
use memmap2::Mmap;

use super::error::{CaptureError, OpenError};
use super::netmon::{MAX_NETMON_FILE, NetMonReader};
use super::pcap::{self, PcapLayout, PcapReader};
use super::pcapng::PcapngReader;
use super::window::{INITIAL_WINDOW, Window};
use super::{CaptureFormat, Frame, LinkType, RawRecord};

const GZIP_MAGIC: [u8; 2] = [0x1f, 0x8b];
const PCAPNG_MAGIC: [u8; 4] = [0x0a, 0x0d, 0x0d, 0x0a];
const NETMON2_MAGIC: [u8; 4] = *b"GMBU";
const NETMON1_MAGIC: [u8; 4] = *b"RTSS";
/// Files below this size are read (mapping costs more than it saves on small files).
const MMAP_MIN_LEN: u64 = 16 << 20;

enum Body {
    Pcap {
        win: Window,
        reader: PcapReader,
    },
    Pcapng {
        win: Window,
        reader: PcapngReader,
    },
    NetMon {
        reader: NetMonReader,
        seen: Vec<LinkType>,
    },
}

/// Frames of one capture file, in file order (NetMon: frame-table order).
pub struct CaptureReader {
    format: CaptureFormat,
    gzip: bool,
    file_len: Option<u64>,
    /// Bytes pulled from the underlying file (compressed side for gzip).
    raw_read: Arc<AtomicU64>,
    body: Body,
    frames: u64,
    finished: bool,
}

impl std::fmt::Debug for CaptureReader {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("CaptureReader")
            .field("format", &self.format)
            .field("gzip", &self.gzip)
            .field("frames", &self.frames)
            .finish_non_exhaustive()
    }
}

/// The file or byte vector underneath, before any decompression.
enum Input {
    File(File),
    Bytes(Cursor<Vec<u8>>),
}

impl Read for Input {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        match self {
            Input::File(f) => f.read(buf),
            Input::Bytes(c) => c.read(buf),
        }
    }
}

impl Seek for Input {
    fn seek(&mut self, pos: SeekFrom) -> io::Result<u64> {
        match self {
            Input::File(f) => f.seek(pos),
            Input::Bytes(c) => c.seek(pos),
        }
    }
}

/// Counts bytes read from the input for `bytes_consumed`.
struct Counted {
    inner: Input,
    count: Arc<AtomicU64>,
}

impl Read for Counted {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let n = self.inner.read(buf)?;
        self.count.fetch_add(n as u64, Ordering::Relaxed);
        Ok(n)
    }
}

impl CaptureReader {
    pub fn open(path: &Path) -> Result<CaptureReader, OpenError> {
        let file = File::open(path)?;
        let meta = file.metadata()?;
        if meta.is_dir() {
            return Err(OpenError::NotACapture {
                reason: "it is a directory".into(),
            });
        }
        if let Some(map) = map_plain_file(&file, meta.len()) {
            let win = Window::mapped(Arc::new(map));
            return CaptureReader::from_window(win, false, Some(meta.len()), Arc::default());
        }
        CaptureReader::from_input(Input::File(file), Some(meta.len()))
    }

    /// Reads a capture held in memory (tests, fuzzing).
    pub fn from_bytes(bytes: Vec<u8>) -> Result<CaptureReader, OpenError> {
        let len = bytes.len() as u64;
        CaptureReader::from_input(Input::Bytes(Cursor::new(bytes)), Some(len))
    }

    fn from_input(mut input: Input, file_len: Option<u64>) -> Result<CaptureReader, OpenError> {
        let mut first = [0u8; 2];
        let n = read_up_to(&mut input, &mut first)?;
        input.seek(SeekFrom::Start(0))?;
        if n == 0 {
            return Err(OpenError::Empty);
        }
        let gzip = n == 2 && first == GZIP_MAGIC;
        let raw_read = Arc::new(AtomicU64::new(0));
        let counted = Counted {
            inner: input,
            count: Arc::clone(&raw_read),
        };
        let source: Box<dyn Read + Send> = if gzip {
            Box::new(MultiGzDecoder::new(counted))
        } else {
            Box::new(counted)
        };
        // A small plain file needs no 8 MiB window; a gzip stream's size is unknown.
        let capacity = match file_len {
            Some(len) if !gzip => (len as usize).clamp(4096, INITIAL_WINDOW),
            _ => INITIAL_WINDOW,
        };
        let win = Window::with_capacity(source, capacity);
        CaptureReader::from_window(win, gzip, file_len, raw_read)
    }

    /// Recognises the format at the start of `win` and sets up its record reader.
    fn from_window(
        mut win: Window,
        gzip: bool,
        file_len: Option<u64>,
        raw_read: Arc<AtomicU64>,
    ) -> Result<CaptureReader, OpenError> {
        let avail = win.fill_to(4).map_err(|e| match gzip {
            true => OpenError::NotACapture {
                reason: format!("gzip data does not decompress: {e}"),
            },
            false => OpenError::Io(e),
        })?;
        let magic: [u8; 4] = match win.available().get(..4).and_then(|m| m.try_into().ok()) {
            Some(m) => m,
            None if avail == 0 && gzip => {
                return Err(OpenError::NotACapture {
                    reason: "gzip stream decompresses to nothing".into(),
                });
            }
            None => {
                return Err(OpenError::NotACapture {
                    reason: format!("only {avail} bytes, too short for any capture header"),
                });
            }
        };
        let (format, body) = if let Some((format, endian)) = pcap::sniff_magic(magic) {
            let reader = PcapReader::open(&mut win, format, endian)?;
            (format, Body::Pcap { win, reader })
        } else if magic == PCAPNG_MAGIC {
            let body = Body::Pcapng {
                win,
                reader: PcapngReader::new(),
            };
            (CaptureFormat::Pcapng, body)
        } else if magic == NETMON2_MAGIC {
            let data = win
                .read_all(MAX_NETMON_FILE)?
                .ok_or(OpenError::Unsupported {
                    reason: format!(
                        "NetMon file larger than {} GiB (read whole into memory)",
                        MAX_NETMON_FILE >> 30
                    ),
                })?;
            let body = Body::NetMon {
                reader: NetMonReader::open(data)?,
                seen: Vec::new(),
            };
            (CaptureFormat::NetMon2, body)
        } else {
            return Err(unknown_magic(magic, gzip, win.available()));
        };
        Ok(CaptureReader {
            format,
            gzip,
            file_len,
            raw_read,
            body,
            frames: 0,
            finished: false,
        })
    }

    pub fn format(&self) -> CaptureFormat {
        self.format
    }

    pub fn is_gzip(&self) -> bool {
        self.gzip
    }

    /// Frames returned so far (the number of the last frame).
    pub fn frames_read(&self) -> u64 {
        self.frames
    }

    /// The next frame, `Ok(None)` at a clean end of file. After an error the reader is finished
    /// and further calls return `Ok(None)`.
    #[inline]
    pub fn next_frame(&mut self) -> Result<Option<Frame<'_>>, CaptureError> {
        if self.finished {
            return Ok(None);
        }
        let result = match &mut self.body {
            Body::Pcap { win, reader } => reader.next(win),
            Body::Pcapng { win, reader } => reader.next(win),
            Body::NetMon { reader, seen } => {
                let r = reader.next();
                if let Ok(Some(rec)) = &r
                    && !seen.contains(&rec.link_type)
                {
                    seen.push(rec.link_type);
                }
                r
            }
        };
        let record = match result {
            Ok(Some(record)) => record,
            Ok(None) => {
                self.finished = true;
                return Ok(None);
            }
            Err(e) => {
                self.finished = true;
                return Err(self.explain_gzip_eof(e));
            }
        };
        self.frames += 1;
        let number = self.frames;
        let buffer = match &self.body {
            Body::Pcap { win, .. } | Body::Pcapng { win, .. } => win.buffer(),
            Body::NetMon { reader, .. } => reader.data(),
        };
        let RawRecord {
            ts,
            link_type,
            orig_len,
            data_start,
            data_len,
        } = record;
        match buffer.get(data_start..data_start.saturating_add(data_len)) {
            Some(data) => Ok(Some(Frame {
                number,
                ts,
                link_type,
                data,
                orig_len,
            })),
            None => {
                self.finished = true;
                Err(CaptureError::malformed(
                    self.bytes_consumed(),
                    format!("internal: frame {number} lies outside the read buffer"),
                ))
            }
        }
    }

    /// A gzip stream that stops early surfaces as an I/O "unexpected end of file"; it is a
    /// truncated capture like any other cut file.
    fn explain_gzip_eof(&self, e: CaptureError) -> CaptureError {
        match e {
            CaptureError::Io(io) if self.gzip && io.kind() == io::ErrorKind::UnexpectedEof => {
                let offset = match &self.body {
                    Body::Pcap { win, .. } | Body::Pcapng { win, .. } => win.offset(),
                    Body::NetMon { .. } => 0,
                };
                CaptureError::truncated(offset, format!("the gzip stream ({io})"))
            }
            other => other,
        }
    }

    /// Every link type declared so far (pcap header, pcapng IDBs, NetMon per-frame media types
    /// and unwrapped ETW frames), sorted and deduplicated.
    pub fn link_types(&self) -> Vec<LinkType> {
        let mut all: Vec<LinkType> = match &self.body {
            Body::Pcap { reader, .. } => reader.link_type().into_iter().collect(),
            Body::Pcapng { reader, .. } => reader.declared.clone(),
            Body::NetMon { reader, seen } => seen
                .iter()
                .copied()
                .chain(reader.file_link_type())
                .collect(),
        };
        all.sort();
        all.dedup();
        all
    }

    /// Notes about oddities that did not stop reading, for the report's `warnings`.
    pub fn warnings(&self) -> Vec<String> {
        let mut w = Vec::new();
        match &self.body {
            Body::Pcap { reader, .. } if reader.over_snaplen > 0 => w.push(format!(
                "{} records are longer than the file's snap length {}",
                reader.over_snaplen,
                reader.snaplen()
            )),
            Body::Pcapng { reader, .. } if reader.simple_packets > 0 => w.push(format!(
                "{} simple packet blocks carry no timestamp; they are given the previous frame's time",
                reader.simple_packets
            )),
            _ => {}
        }
        w
    }

    /// Bytes read from the file so far (compressed bytes for gzip); for a progress bar.
    pub fn bytes_consumed(&self) -> u64 {
        match &self.body {
            Body::Pcap { win, .. } | Body::Pcapng { win, .. } if !self.gzip => win.offset(),
            _ => self.raw_read.load(Ordering::Relaxed),
        }
    }

    /// The memory map the frames are slices of, when the file is mapped: a frame's bytes can
    /// then be passed on as an offset into it instead of a copy.
    pub fn mapped(&self) -> Option<Arc<Mmap>> {
        match &self.body {
            Body::Pcap { win, .. } | Body::Pcapng { win, .. } => win.map().cloned(),
            Body::NetMon { .. } => None,
        }
    }

    /// A mapped libpcap file not yet read from: its map, record layout and the offset of its
    /// first record, so its records can be walked from several places at once
    /// (`pipeline`'s segmented walk). `None` for every other input.
    pub fn mapped_pcap(&self) -> Option<(Arc<Mmap>, PcapLayout, usize)> {
        match &self.body {
            Body::Pcap { win, reader } if !self.gzip && self.frames == 0 && !self.finished => {
                reader.link_type()?;
                let map = win.map()?.clone();
                let first = usize::try_from(win.offset()).ok()?;
                Some((map, reader.layout(), first))
            }
            _ => None,
        }
    }

    /// Records what a walk of the file outside this reader (`mapped_pcap`) read: the frame
    /// count and records over the snap length (for `warnings`). The reader is finished.
    pub fn walked_elsewhere(&mut self, frames: u64, over_snaplen: u64) {
        self.frames = frames;
        self.finished = true;
        if let Body::Pcap { reader, .. } = &mut self.body {
            reader.over_snaplen += over_snaplen;
        }
    }

    /// Size of the file (compressed size for gzip), when known.
    pub fn file_len(&self) -> Option<u64> {
        self.file_len
    }
}

/// A read-only map of a regular, uncompressed file worth mapping; None means "read it".
#[allow(unsafe_code)]
fn map_plain_file(file: &File, len: u64) -> Option<Mmap> {
    if len < MMAP_MIN_LEN || std::env::var_os("KERBSCOPE_NO_MMAP").is_some_and(|v| v != "0") {
        return None;
    }
    // SAFETY: the map is read-only and private to this process; the file could still be
    // changed by another process while mapped (see the module docs for why that is accepted).
    let map = unsafe { Mmap::map(file) }.ok()?;
    #[cfg(unix)]
    let _ = map.advise(memmap2::Advice::Sequential);
    match map.get(..2) {
        Some(head) if head != GZIP_MAGIC => Some(map),
        _ => None,
    }
}

impl From<CaptureError> for OpenError {
    fn from(e: CaptureError) -> Self {
        match e {
            CaptureError::Io(io) => OpenError::Io(io),
            CaptureError::Truncated { offset, what } | CaptureError::Malformed { offset, what } => {
                OpenError::Malformed { offset, what }
            }
        }
    }
}

fn read_up_to(input: &mut Input, buf: &mut [u8]) -> io::Result<usize> {
    let mut filled = 0;
    while let Some(rest) = buf.get_mut(filled..) {
        if rest.is_empty() {
            break;
        }
        match input.read(rest) {
            Ok(0) => break,
            Ok(n) => filled += n,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(e) => return Err(e),
        }
    }
    Ok(filled)
}

/// An `OpenError` that says what the file looks like instead.
fn unknown_magic(magic: [u8; 4], gzip: bool, head: &[u8]) -> OpenError {
    let inside = if gzip { "gzip data whose content " } else { "" };
    if magic == NETMON1_MAGIC {
        return OpenError::Unsupported {
            reason: "Network Monitor 1.x file (only 2.x is read)".into(),
        };
    }
    let sample = head.get(..head.len().min(64)).unwrap_or(&[]);
    let text = sample
        .iter()
        .all(|&b| b.is_ascii_graphic() || b.is_ascii_whitespace());
    let reason = if text {
        let line: String = String::from_utf8_lossy(sample)
            .lines()
            .next()
            .unwrap_or("")
            .chars()
            .take(32)
            .collect();
        format!("{inside}starts with text {line:?}, not a pcap, pcapng or NetMon magic number")
    } else {
        format!(
            "{inside}starts with bytes {:02x}{:02x}{:02x}{:02x}, not a pcap, pcapng or NetMon magic number",
            magic[0], magic[1], magic[2], magic[3]
        )
    };
    OpenError::NotACapture { reason }
}
