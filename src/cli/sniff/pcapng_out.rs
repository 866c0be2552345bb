//! pcapng files of `sniff` (the writer is `capture::PcapngWriter`, microsecond `if_tsresol`
//! as live timestamps are). [`Rotating`] spreads `-w` over files of bounded size and count.

use std::collections::VecDeque;
use std::fs::File;
use std::io::{self, BufWriter};
use std::path::{Path, PathBuf};

use kerbscope::capture::{Frame, PcapngWriter, TsResolution};

/// The `-w` file being written: live timestamps are microseconds.
pub type PcapngOut = PcapngWriter<BufWriter<File>>;

/// Creates `path` and writes its section header; interfaces are named `if_name`.
pub fn create(path: &Path, comment: &str, if_name: &str) -> io::Result<PcapngOut> {
    PcapngWriter::new(
        BufWriter::with_capacity(1 << 20, File::create(path)?),
        comment,
        Some(if_name),
        TsResolution::Micro,
    )
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
        self.current = Some(create(&path, &comment, &self.if_name)?);
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
