//! One direction of a TCP connection (RFC 9293 §3.4 sequence numbers, RFC 1982-style serial
//! comparison for wrap-around): turns captured segments into contiguous in-order bytes for an
//! application parser, with gaps where bytes were never captured.
//!
//! Sequence numbers are mapped to 64-bit stream offsets (offset 0 = the byte after the SYN, or
//! the first byte seen when the handshake was missed) by signed 32-bit distance from the next
//! expected sequence number, so wrap-around needs no special case.
//!
//! Policies:
//! * Retransmission: a segment wholly before the next expected byte is dropped (counted).
//! * Overlap: the **first** copy of a byte wins, for bytes already delivered and for bytes held
//!   out of order alike; only the new part of a segment is used (counted).
//! * Out of order: segments beyond the next expected byte are held (bounded by count and bytes)
//!   until the hole fills. A gap is declared — the hole is skipped and `take_gap` reports its
//!   size — when the hold passes its cap, when the peer acknowledges bytes beyond the hole (they
//!   were sent but not captured), at FIN / RST, and at flush.
//! * A gap also discards the bytes still waiting in `data()` (the parser had seen them and could
//!   not complete a message from them), so `data()` is always contiguous after the gap.
//! * Memory: at most `max_stream_bytes` unconsumed bytes; passing it discards the unconsumed
//!   bytes as a gap (`stream_cap_hits`), so a parser waiting for a huge message resynchronises.

use super::tcp::{TcpLimits, TcpStats};
use crate::capture::Timestamp;
use std::collections::{BTreeMap, VecDeque};

/// Distances larger than this (in either direction) between a segment and the stream position
/// are taken as garbage, not as data a gigabyte away.
const MAX_SEQ_JUMP: i64 = 1 << 30;

/// Buffers that grew past this while a burst was waiting are shrunk back once drained.
const KEEP_CAPACITY: usize = 256 << 10;

/// Which segment made a run of bytes available.
#[derive(Clone, Copy, Debug)]
struct Delivery {
    /// Stream offset one past the last byte this delivery made available.
    end: u64,
    frame: u64,
    ts: Timestamp,
}

/// How the bytes of a tracked skip (`HalfStream::skip_tracked`) ended.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum SkipEnd {
    /// The segment of this frame, captured at this time, brought the last skipped byte.
    Arrived(u64, Timestamp),
    /// Some of the skipped bytes were lost to a capture gap.
    Lost,
}

/// Contiguous in-order bytes of one direction, plus what is held out of order.
#[derive(Debug, Default)]
pub struct HalfStream {
    initialized: bool,
    /// Sequence number of stream offset 0.
    base_seq: u32,
    /// The ISN when the SYN was seen (to tell a retransmitted SYN from a new connection).
    syn_seq: Option<u32>,
    /// Stream offset of the next byte expected.
    next_off: u64,
    /// Stream offset of the FIN once seen.
    fin_off: Option<u64>,
    closed: bool,
    /// Delivered bytes; `buf[start..]` is `data()`.
    buf: Vec<u8>,
    start: usize,
    deliveries: VecDeque<Delivery>,
    gap: Option<u64>,
    /// Out-of-order segments by stream offset: disjoint, all beyond `next_off`.
    held: BTreeMap<u64, Vec<u8>>,
    held_bytes: usize,
    /// Keep sequence tracking but drop the bytes (nobody parses this direction).
    discard: bool,
    /// Bytes the parser skips that have not arrived yet: dropped as they come, never copied
    /// (`skip`). While non-zero nothing is buffered.
    skip_pending: u64,
    /// The pending skip is tracked: its end is recorded in `skip_end`.
    skip_tracked: bool,
    skip_end: Option<SkipEnd>,
    /// Buffered bytes last added to the table's global total.
    pub(super) accounted: usize,
}

impl HalfStream {
    /// Contiguous in-order bytes not consumed yet.
    pub fn data(&self) -> &[u8] {
        self.buf.get(self.start..).unwrap_or(&[])
    }

    /// The application parser used `n` bytes of `data()` (clamped to its length).
    pub fn consume(&mut self, n: usize) {
        let n = n.min(self.buf.len().saturating_sub(self.start));
        self.start += n;
        if self.start >= self.buf.len() {
            self.buf.clear();
            self.start = 0;
            if self.buf.capacity() > KEEP_CAPACITY {
                self.buf.shrink_to(KEEP_CAPACITY / 4);
            }
        } else if self.start >= KEEP_CAPACITY / 4 && self.start * 2 >= self.buf.len() {
            self.buf.drain(..self.start);
            self.start = 0;
        }
        let head = self.head_offset();
        while self.deliveries.front().is_some_and(|d| d.end <= head) {
            self.deliveries.pop_front();
        }
    }

    /// The parser is done with the next `n` bytes: what is buffered of them is consumed, the rest
    /// is dropped on arrival without being copied (a multi-megabyte SMB READ, an HTTP body).
    /// Bytes of it lost to a capture gap are not reported as a gap.
    pub fn skip(&mut self, n: u64) {
        let have = self.buf.len().saturating_sub(self.start) as u64;
        let now = n.min(have);
        self.consume(now as usize);
        self.skip_pending = self.skip_pending.saturating_add(n - now);
    }

    /// `skip`, for a parser that must know which segment ends the skipped bytes (an HTTP body:
    /// Wireshark reports the message at the frame that completes it). When every byte is
    /// already here, returns that end; otherwise `take_skip_end` gives it once they came.
    pub fn skip_tracked(&mut self, n: u64) -> Option<SkipEnd> {
        let have = self.buf.len().saturating_sub(self.start) as u64;
        if n <= have {
            let end = n as usize;
            let arrived = SkipEnd::Arrived(self.frame_at(end), self.ts_at(end));
            self.consume(end);
            return Some(arrived);
        }
        self.skip(n);
        self.skip_tracked = true;
        self.skip_end = None;
        None
    }

    /// How the last tracked skip ended, once (None while its bytes are still coming).
    pub fn take_skip_end(&mut self) -> Option<SkipEnd> {
        self.skip_end.take()
    }

    /// Some(n): n bytes were lost just before `data()`; the parser must resynchronise.
    pub fn take_gap(&mut self) -> Option<u64> {
        self.gap.take()
    }

    /// Frame number of the segment that made byte `data()[end - 1]` available (the segment that
    /// completes a message of `end` bytes). 0 when nothing is buffered.
    pub fn frame_at(&self, end: usize) -> u64 {
        self.delivery_at(end).map_or(0, |d| d.frame)
    }

    /// Timestamp of the segment that made byte `data()[end - 1]` available.
    pub fn ts_at(&self, end: usize) -> Timestamp {
        self.delivery_at(end)
            .map_or_else(Timestamp::default, |d| d.ts)
    }

    /// True once this direction ended: its FIN was reached, the connection was reset, evicted or
    /// timed out, or the capture was flushed.
    pub fn is_closed(&self) -> bool {
        self.closed
    }

    /// Stream offset of `data()[0]` (bytes since the SYN, gaps included).
    pub fn stream_offset(&self) -> u64 {
        self.head_offset()
    }

    /// Drop this direction's bytes from now on while still following its sequence numbers:
    /// for directions nobody parses (bulk transfers), this avoids copying them at all.
    pub fn set_discard(&mut self, discard: bool) {
        self.discard = discard;
        if discard {
            self.buf.clear();
            self.start = 0;
            self.deliveries.clear();
        }
    }

    fn head_offset(&self) -> u64 {
        let unconsumed = self.buf.len().saturating_sub(self.start) as u64;
        self.next_off.saturating_sub(unconsumed)
    }

    fn delivery_at(&self, end: usize) -> Option<&Delivery> {
        let target = self.head_offset().saturating_add(end.max(1) as u64);
        let at = self.deliveries.partition_point(|d| d.end < target);
        self.deliveries.get(at).or_else(|| self.deliveries.back())
    }

    /// Bytes held in memory for this direction.
    pub(super) fn buffered(&self) -> usize {
        self.buf.len().saturating_sub(self.start) + self.held_bytes
    }

    pub(super) fn is_initialized(&self) -> bool {
        self.initialized
    }

    pub(super) fn syn_seq(&self) -> Option<u32> {
        self.syn_seq
    }

    /// True while `data()` is the direction's very first byte after a SYN the capture shows:
    /// nothing before it was lost or consumed.
    pub fn at_stream_start(&self) -> bool {
        self.syn_seq.is_some() && self.head_offset() == 0
    }

    pub(super) fn fin_reached(&self) -> bool {
        self.fin_off.is_some_and(|f| self.next_off >= f)
    }

    pub(super) fn mark_closed(&mut self) {
        self.closed = true;
    }

    /// Starts the stream at `seq` (the byte after a SYN, or the first byte seen).
    pub(super) fn init(&mut self, seq: u32, syn: Option<u32>) {
        self.initialized = true;
        self.base_seq = seq;
        self.syn_seq = syn;
        self.next_off = 0;
    }

    /// Stream offset of sequence number `seq`, or None when it is implausibly far away.
    fn offset_of(&self, seq: u32) -> Option<u64> {
        let next_seq = self.base_seq.wrapping_add(self.next_off as u32);
        let distance = i64::from(seq.wrapping_sub(next_seq) as i32);
        if distance.abs() > MAX_SEQ_JUMP {
            return None;
        }
        u64::try_from(self.next_off as i64 + distance).ok()
    }

    /// Takes the payload of one segment whose first byte has sequence number `seq`.
    pub(super) fn accept(
        &mut self,
        seq: u32,
        payload: &[u8],
        at: (u64, Timestamp),
        ctx: &mut Ctx<'_>,
    ) {
        if payload.is_empty() {
            return;
        }
        let Some(start) = self.offset_of(seq) else {
            ctx.stats.bad_seq += 1;
            return;
        };
        let end = start + payload.len() as u64;
        if end <= self.next_off || self.fin_off.is_some_and(|f| start >= f) {
            ctx.stats.retransmitted += 1;
            return;
        }
        if start < self.next_off {
            ctx.stats.overlaps += 1;
            let skip = (self.next_off - start) as usize;
            self.deliver(payload.get(skip..).unwrap_or(&[]), at, ctx);
        } else if start == self.next_off {
            self.deliver(payload, at, ctx);
        } else {
            ctx.stats.out_of_order += 1;
            self.hold(start, payload, ctx.stats);
            while self.held.len() > ctx.limits.max_out_of_order_segments
                || self.held_bytes > ctx.limits.max_out_of_order_bytes
            {
                ctx.stats.ooo_cap_hits += 1;
                let Some(first) = self.held.keys().next().copied() else {
                    break;
                };
                self.skip_to(first, at, ctx);
            }
            return;
        }
        self.release_contiguous(at, ctx);
    }

    /// The peer acknowledged everything before `ack`: bytes we never saw become a gap.
    pub(super) fn acknowledged(&mut self, ack: u32, at: (u64, Timestamp), ctx: &mut Ctx<'_>) {
        let Some(mut target) = self.offset_of(ack) else {
            return;
        };
        if let Some(fin) = self.fin_off {
            target = target.min(fin);
        }
        if target > self.next_off {
            ctx.stats.acked_unseen += 1;
            self.skip_to(target, at, ctx);
        }
    }

    /// A FIN at sequence number `seq`: holes before it are gaps now.
    pub(super) fn fin(&mut self, seq: u32, at: (u64, Timestamp), ctx: &mut Ctx<'_>) {
        let Some(fin) = self.offset_of(seq) else {
            ctx.stats.bad_seq += 1;
            return;
        };
        if self.fin_off.is_none() {
            self.fin_off = Some(fin);
        }
        self.skip_to(fin, at, ctx);
        if self.fin_reached() {
            self.closed = true;
        }
    }

    /// Declares every remaining hole a gap and releases all held bytes.
    pub(super) fn flush(&mut self, at: (u64, Timestamp), ctx: &mut Ctx<'_>) {
        let last = self
            .held
            .iter()
            .next_back()
            .map(|(off, d)| off + d.len() as u64);
        if let Some(last) = last {
            self.skip_to(last, at, ctx);
        }
    }

    /// Drops everything buffered or held (memory pressure), as one gap.
    pub(super) fn shed(&mut self, stats: &mut TcpStats) {
        let last = self
            .held
            .iter()
            .next_back()
            .map(|(off, d)| off + d.len() as u64);
        let skipped = last.map_or(0, |l| l.saturating_sub(self.next_off));
        self.held.clear();
        self.held_bytes = 0;
        self.next_off += skipped;
        self.gap(skipped, stats);
    }

    /// Moves the stream position to `target`, delivering held bytes on the way and declaring
    /// the holes between them gaps; then releases what became contiguous.
    fn skip_to(&mut self, target: u64, at: (u64, Timestamp), ctx: &mut Ctx<'_>) {
        while self.next_off < target {
            let first = self
                .held
                .first_key_value()
                .map(|(off, d)| (*off, d.len() as u64));
            match first {
                Some((off, _)) if off <= self.next_off => {
                    self.release_contiguous(at, ctx);
                }
                Some((off, _)) if off < target => {
                    let missing = off - self.next_off;
                    self.next_off = off;
                    self.gap(missing, ctx.stats);
                }
                _ => {
                    let missing = target - self.next_off;
                    self.next_off = target;
                    self.gap(missing, ctx.stats);
                }
            }
        }
        self.release_contiguous(at, ctx);
    }

    /// Records `missing` bytes lost from the capture at the current position.
    fn gap(&mut self, missing: u64, stats: &mut TcpStats) {
        stats.gaps += 1;
        stats.gap_bytes += missing;
        self.discard_unconsumed_into_gap(missing);
    }

    /// Starts `data()` afresh after a gap of `missing` bytes. Unconsumed bytes are discarded with
    /// them so `data()` stays contiguous after the gap.
    fn discard_unconsumed_into_gap(&mut self, missing: u64) {
        let unconsumed = self.buf.len().saturating_sub(self.start) as u64;
        self.buf.clear();
        self.start = 0;
        self.deliveries.clear();
        // Lost bytes the parser meant to skip anyway are no loss to it.
        let mut lost = unconsumed + missing;
        let absorbed = lost.min(self.skip_pending);
        self.skip_pending -= absorbed;
        lost -= absorbed;
        // Bytes of a tracked skip were lost: whatever segment brings its last byte, the skipped
        // message did not arrive whole (Wireshark cannot reassemble it either), so its end is
        // reported as lost now; the rest is still dropped on arrival, keeping the framing.
        if self.skip_tracked && absorbed > 0 {
            self.skip_tracked = false;
            self.skip_end = Some(SkipEnd::Lost);
        }
        if lost > 0 {
            self.gap = Some(self.gap.unwrap_or(0) + lost);
        }
    }

    /// Appends in-order bytes at `next_off`.
    fn deliver(&mut self, bytes: &[u8], (frame, ts): (u64, Timestamp), ctx: &mut Ctx<'_>) {
        let mut bytes = match self.fin_off {
            // Nothing after the FIN belongs to the stream.
            Some(fin) => bytes
                .get(..(fin.saturating_sub(self.next_off) as usize).min(bytes.len()))
                .unwrap_or(&[]),
            None => bytes,
        };
        if self.skip_pending > 0 {
            let dropped = self.skip_pending.min(bytes.len() as u64);
            self.skip_pending -= dropped;
            self.next_off += dropped;
            bytes = bytes.get(dropped as usize..).unwrap_or(&[]);
            if self.skip_tracked && self.skip_pending == 0 {
                self.skip_tracked = false;
                self.skip_end = Some(SkipEnd::Arrived(frame, ts));
            }
        }
        if bytes.is_empty() {
            return;
        }
        if self.discard {
            self.next_off += bytes.len() as u64;
            return;
        }
        let unconsumed = self.buf.len().saturating_sub(self.start);
        if unconsumed + self.held_bytes + bytes.len() > ctx.limits.max_stream_bytes {
            // Counted as a cap hit, not as bytes missing from the capture.
            ctx.stats.stream_cap_hits += 1;
            self.discard_unconsumed_into_gap(0);
        }
        self.buf.extend_from_slice(bytes);
        self.next_off += bytes.len() as u64;
        match self.deliveries.back_mut() {
            Some(last) if last.frame == frame => last.end = self.next_off,
            _ => self.deliveries.push_back(Delivery {
                end: self.next_off,
                frame,
                ts,
            }),
        }
    }

    /// Delivers held segments that now start at or before `next_off`.
    fn release_contiguous(&mut self, at: (u64, Timestamp), ctx: &mut Ctx<'_>) {
        while let Some(entry) = self.held.first_entry() {
            let off = *entry.key();
            if off > self.next_off {
                break;
            }
            let data = entry.remove();
            self.held_bytes = self.held_bytes.saturating_sub(data.len());
            let skip = (self.next_off - off) as usize;
            if let Some(rest) = data.get(skip..) {
                self.deliver(rest, at, ctx);
            }
        }
    }

    /// Holds an out-of-order segment, keeping only bytes not already held (first copy wins).
    fn hold(&mut self, start: u64, payload: &[u8], stats: &mut TcpStats) {
        let end = start + payload.len() as u64;
        let mut covered: Vec<(u64, u64)> = Vec::new();
        if let Some((off, d)) = self.held.range(..start).next_back() {
            let e = off + d.len() as u64;
            if e > start {
                covered.push((start, e.min(end)));
            }
        }
        for (off, d) in self.held.range(start..end) {
            covered.push((*off, (off + d.len() as u64).min(end)));
        }
        if covered.is_empty() {
            self.held_bytes += payload.len();
            self.held.insert(start, payload.to_vec());
            return;
        }
        let mut cursor = start;
        let mut pieces: Vec<(u64, u64)> = Vec::new();
        for (s, e) in covered {
            if s > cursor {
                pieces.push((cursor, s));
            }
            cursor = cursor.max(e);
        }
        if cursor < end {
            pieces.push((cursor, end));
        }
        if pieces.is_empty() {
            stats.retransmitted += 1;
            return;
        }
        stats.overlaps += 1;
        for (s, e) in pieces {
            let range = (s - start) as usize..(e - start) as usize;
            if let Some(bytes) = payload.get(range) {
                self.held_bytes += bytes.len();
                self.held.insert(s, bytes.to_vec());
            }
        }
    }
}

/// Limits and counters passed down from the table.
pub(super) struct Ctx<'a> {
    pub limits: &'a TcpLimits,
    pub stats: &'a mut TcpStats,
}
