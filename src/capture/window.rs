//! A sliding read window over a byte stream: large sequential reads into one reusable buffer, so
//! that record parsers see contiguous slices without a per-record allocation or copy.
//!
//! The buffer starts at [`INITIAL_WINDOW`] bytes and only grows when a single record does not fit;
//! it grows by doubling, and only after the current buffer is completely full of bytes that were
//! really read, so a lying length field can never make us allocate more than about twice the bytes
//! actually present (and never more than [`MAX_WINDOW`]).
//!
//! A plain file may instead be memory-mapped ([`Window::mapped`]): the whole file is then the
//! window, nothing is copied, and every worker of a parallel walk reads the same page-cache
//! pages (the read() copy was a fifth of a run on background traffic).

use std::io::{self, Read};
use std::sync::Arc;

use memmap2::Mmap;

/// Size of the first buffer; every refill asks the reader for up to this much.
pub const INITIAL_WINDOW: usize = 8 << 20;
/// The largest record the window will hold; callers treat a larger record as malformed.
pub const MAX_WINDOW: usize = 64 << 20;

pub struct Window {
    source: Box<dyn Read + Send>,
    buf: Vec<u8>,
    /// Set for a memory-mapped file: the bytes are `map`, `buf` stays empty and `eof` is true.
    map: Option<Arc<Mmap>>,
    /// Start of the unconsumed bytes in `buf`.
    pos: usize,
    /// End of the valid bytes in `buf`.
    end: usize,
    /// Stream offset of `buf[0]`.
    base: u64,
    eof: bool,
}

impl Window {
    /// A window whose first buffer holds `capacity` bytes (at least 64; callers size it to the
    /// file when that is small, tests make it tiny to exercise refills and growth).
    pub fn with_capacity(source: Box<dyn Read + Send>, capacity: usize) -> Window {
        Window {
            source,
            buf: vec![0; capacity.max(64)],
            map: None,
            pos: 0,
            end: 0,
            base: 0,
            eof: false,
        }
    }

    /// A window that is the whole mapped file.
    pub fn mapped(map: Arc<Mmap>) -> Window {
        let end = map.len();
        Window {
            source: Box::new(io::empty()),
            buf: Vec::new(),
            map: Some(map),
            pos: 0,
            end,
            base: 0,
            eof: true,
        }
    }

    /// The file map of a mapped window.
    pub fn map(&self) -> Option<&Arc<Mmap>> {
        self.map.as_ref()
    }

    #[inline]
    fn bytes(&self) -> &[u8] {
        match &self.map {
            Some(map) => map,
            None => &self.buf,
        }
    }

    /// The unconsumed bytes currently buffered.
    #[inline]
    pub fn available(&self) -> &[u8] {
        self.bytes().get(self.pos..self.end).unwrap_or(&[])
    }

    /// The whole buffer, for callers that turn a `(start, len)` range into a slice.
    #[inline]
    pub fn buffer(&self) -> &[u8] {
        self.bytes()
    }

    /// Index in [`Window::buffer`] of the first unconsumed byte.
    #[inline]
    pub fn pos(&self) -> usize {
        self.pos
    }

    /// Stream offset of the first unconsumed byte.
    #[inline]
    pub fn offset(&self) -> u64 {
        self.base + self.pos as u64
    }

    #[inline]
    pub fn consume(&mut self, n: usize) {
        self.pos = self.pos.saturating_add(n).min(self.end);
    }

    /// Makes at least `want` unconsumed bytes available if the stream has them, reading (and
    /// growing the buffer up to `MAX_WINDOW`) as needed. Returns how many are available, which is
    /// less than `want` only at end of stream. `want` above `MAX_WINDOW` is clamped.
    #[inline]
    pub fn fill_to(&mut self, want: usize) -> io::Result<usize> {
        let have = self.end - self.pos;
        if have >= want || self.eof {
            return Ok(have);
        }
        self.fill_slow(want.min(MAX_WINDOW))
    }

    #[cold]
    fn fill_slow(&mut self, want: usize) -> io::Result<usize> {
        // Slide the unconsumed tail to the front so the whole buffer is free for reading.
        if self.pos > 0 {
            self.buf.copy_within(self.pos..self.end, 0);
            self.base += self.pos as u64;
            self.end -= self.pos;
            self.pos = 0;
        }
        while self.end < want && !self.eof {
            if self.end == self.buf.len() {
                // Full of real bytes and still short: double (bounded by what is wanted).
                let grown = self.buf.len().saturating_mul(2).min(MAX_WINDOW);
                if grown <= self.buf.len() {
                    break;
                }
                self.buf.resize(grown, 0);
            }
            let free = match self.buf.get_mut(self.end..) {
                Some(free) => free,
                None => break,
            };
            match self.source.read(free) {
                Ok(0) => self.eof = true,
                Ok(n) => self.end += n,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(e) => return Err(e),
            }
        }
        Ok(self.end - self.pos)
    }

    /// Reads everything left in the stream (buffered bytes first) into one vector, failing with
    /// `None` if it would exceed `limit` bytes. Used by formats that need random access.
    pub fn read_all(mut self, limit: u64) -> io::Result<Option<Vec<u8>>> {
        let mut out = self.available().to_vec();
        if out.len() as u64 > limit {
            return Ok(None);
        }
        let allowed = limit - out.len() as u64;
        self.source
            .by_ref()
            .take(allowed.saturating_add(1))
            .read_to_end(&mut out)?;
        if out.len() as u64 > limit {
            return Ok(None);
        }
        Ok(Some(out))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Cursor;

    /// A reader that hands out at most 7 bytes per call, like a slow pipe.
    struct Trickle(Cursor<Vec<u8>>);
    impl Read for Trickle {
        fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
            let n = buf.len().min(7);
            self.0.read(buf.get_mut(..n).unwrap_or(&mut []))
        }
    }

    #[test]
    fn refills_across_short_reads_and_slides_offsets() {
        let data: Vec<u8> = (0..=255u8).cycle().take(1000).collect();
        let mut w = Window::with_capacity(Box::new(Trickle(Cursor::new(data.clone()))), 64);
        assert!(w.fill_to(60).unwrap() >= 60);
        w.consume(60);
        assert_eq!(w.offset(), 60);
        assert!(w.fill_to(50).unwrap() >= 50);
        assert_eq!(w.available().first(), Some(&60u8));
        // A record larger than the buffer grows it.
        assert!(w.fill_to(300).unwrap() >= 300);
        assert!(w.buffer().len() >= 300);
        assert_eq!(w.available().get(299), data.get(359));
        w.consume(300);
        assert_eq!(w.fill_to(1000).unwrap(), 640);
        w.consume(600);
        assert_eq!(
            w.fill_to(100).unwrap(),
            40,
            "only 40 bytes left at end of stream"
        );
        assert_eq!(w.offset(), 960);
    }

    #[test]
    fn lying_length_does_not_allocate_beyond_twice_the_data() {
        let mut w = Window::with_capacity(Box::new(Cursor::new(vec![1u8; 100])), 64);
        assert_eq!(w.fill_to(MAX_WINDOW * 4).unwrap(), 100);
        assert!(w.buffer().len() <= 128);
    }

    #[test]
    fn read_all_respects_limit() {
        let w = Window::with_capacity(Box::new(Cursor::new(vec![5u8; 100])), 64);
        assert_eq!(w.read_all(100).unwrap().map(|v| v.len()), Some(100));
        let mut w = Window::with_capacity(Box::new(Cursor::new(vec![5u8; 100])), 64);
        w.fill_to(10).unwrap();
        assert!(w.read_all(99).unwrap().is_none());
    }
}
