//! Parallel walk of a memory-mapped libpcap file (draft-ietf-opsawg-pcap): every thread walks
//! its own stretch of the file, so reading the records (and the page faults of a cold map) runs
//! on every core instead of on one reader thread.
//!
//! The file after its header is cut into `SEGMENT_BYTES` segments. Segment 0 starts at the first
//! record; inside any other segment the first record boundary is guessed (`PcapLayout::
//! plausible_run`: several chained records with sane lengths and timestamps). A segment's walk
//! owns every record that starts before the segment's end, so the walk of segment k ends exactly
//! where the first record of segment k+1 starts. That is how each guess is checked: by
//! induction from segment 0, a segment is used only when it starts where the verified segment
//! before it ended; otherwise it is walked again from that offset. A wrong guess costs time,
//! never a frame, and the frames, their numbers and the read errors are those of the serial
//! reader.
//!
//! ```text
//! phase p:   thread t decodes, in file order, the frames of its shard in the
//!            N × SEGMENTS_PER_THREAD segments of round p-1  (from slot (p-1) mod 2)
//!            then walks the segments of round p that no thread has claimed yet
//!                                                           (into slot p mod 2)
//!            barrier
//! end:       every thread flushes its decoder, barrier, settles its own DNS answers
//! ```
//!
//! Walking is the part of a phase that any thread can do, so it is claimed segment by segment:
//! a thread whose shard had less to decode in a round walks more of the next one, and the
//! threads reach the barrier together instead of one waiting for the other.
//!
//! Each frame goes to the worker its IP address pair hashes to (`even_shard`), as in the other
//! paths, so a flow's frames are decoded by one `Dissector` in frame order and the merged
//! output is identical to every other thread count.

use std::panic::{AssertUnwindSafe, catch_unwind};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::mpsc::{Receiver, channel};
use std::sync::{Arc, Barrier, RwLock};

use memmap2::{Mmap, UncheckedAdvice};

use crate::capture::prefetch::{WALK_AHEAD, prefetch};
use crate::capture::{CaptureError, Frame, PcapLayout, Timestamp};

use super::DissectOptions;
use super::dns_retention::Shared;
use super::shard::{Output, ProgressFeed, Totals, Worker, read_error, retention, settle_output};
use super::split::even_shard;

/// Bytes of file per segment: large enough that the boundary guess costs nothing measurable,
/// small enough that the walks claimed by each thread even out what the threads decode.
const SEGMENT_BYTES: usize = 2 << 20;
/// Segments per round and thread: a round (what the slots hold twice) is 16 MiB for two
/// threads, so the barrier is rare next to the work of a phase.
const SEGMENTS_PER_THREAD: usize = 4;
/// Frames ahead of the one being decoded whose first bytes are requested from memory: the
/// shard's frames are scattered over the round's segments, walked one phase earlier (often by
/// the other core), so without the hint nearly every frame starts with a cache miss.
const PREFETCH_AHEAD: usize = 6;
/// Records a guessed boundary must chain through.
const SYNC_RUN: usize = 8;

/// One frame of a segment, by where its bytes lie in the map.
struct FrameRef {
    data_start: usize,
    data_len: u32,
    orig_len: u32,
    ts: Timestamp,
    /// Index of the record in its segment.
    local: u32,
}

/// What walking one segment found.
#[derive(Default)]
struct SegmentWalk {
    /// Where the walk began; `None` when no record boundary was found.
    start: Option<usize>,
    /// Offset after the last record walked, or of the record that stopped the walk.
    end: usize,
    records: u32,
    bytes: u64,
    first_ts: Option<Timestamp>,
    last_ts: Option<Timestamp>,
    over_snaplen: u64,
    error: Option<CaptureError>,
    /// Frames per shard, in file order.
    shards: Vec<Vec<FrameRef>>,
}

impl SegmentWalk {
    fn reset(&mut self, workers: usize) {
        self.start = None;
        self.end = 0;
        self.records = 0;
        self.bytes = 0;
        self.first_ts = None;
        self.last_ts = None;
        self.over_snaplen = 0;
        self.error = None;
        self.shards.resize_with(workers, Vec::new);
        for s in &mut self.shards {
            s.clear();
        }
    }
}

/// The mapped file and how to read it.
#[derive(Clone, Copy)]
struct FileView<'a> {
    map: &'a Mmap,
    file: &'a [u8],
    layout: PcapLayout,
    /// Offset of the first record.
    first: usize,
    workers: usize,
    /// Segments per round.
    per_round: usize,
}

impl FileView<'_> {
    fn rounds(&self) -> usize {
        self.segments().div_ceil(self.per_round)
    }

    /// The segments of round `round`.
    fn round_segments(&self, round: usize) -> std::ops::Range<usize> {
        let start = round.saturating_mul(self.per_round).min(self.segments());
        start..start.saturating_add(self.per_round).min(self.segments())
    }

    fn segments(&self) -> usize {
        self.file
            .len()
            .saturating_sub(self.first)
            .div_ceil(SEGMENT_BYTES)
            .max(1)
    }

    fn segment_start(&self, seg: usize) -> usize {
        self.first
            .saturating_add(seg.saturating_mul(SEGMENT_BYTES))
            .min(self.file.len())
    }

    /// First record boundary at or after the start of segment `seg` (segment 0: the first
    /// record, no guessing).
    fn guess_start(&self, seg: usize) -> Option<usize> {
        let from = self.segment_start(seg);
        if seg == 0 {
            return Some(from);
        }
        // Some record starts within one maximal record after any offset inside the records.
        let to = from
            .saturating_add(self.layout.max_record_len())
            .min(self.file.len());
        (from..to).find(|&at| self.layout.plausible_run(self.file, at, SYNC_RUN))
    }

    /// Walks the records starting at `start` that begin before the end of segment `seg`.
    fn walk(&self, seg: usize, start: usize, out: &mut SegmentWalk) {
        out.reset(self.workers);
        out.start = Some(start);
        let seg_end = self.segment_start(seg.saturating_add(1));
        let last = seg.saturating_add(1) >= self.segments();
        let mut at = start;
        while last || at < seg_end {
            match self.layout.record_at(self.file, at) {
                Ok(Some(r)) => {
                    let Some(data) = self
                        .file
                        .get(r.data_start..r.data_start.saturating_add(r.data_len))
                    else {
                        break;
                    };
                    let frame = Frame {
                        number: 0,
                        ts: r.ts,
                        link_type: self.layout.link_type,
                        data,
                        orig_len: r.orig_len,
                    };
                    let shard = even_shard(&frame, self.workers);
                    if let Some(list) = out.shards.get_mut(shard) {
                        list.push(FrameRef {
                            data_start: r.data_start,
                            data_len: r.data_len as u32,
                            orig_len: r.orig_len,
                            ts: r.ts,
                            local: out.records,
                        });
                    }
                    out.records += 1;
                    out.bytes += u64::from(r.orig_len);
                    out.first_ts.get_or_insert(r.ts);
                    out.last_ts = Some(r.ts);
                    out.over_snaplen += u64::from(r.over_snaplen);
                    at = r.next;
                    prefetch(self.file, at.saturating_add(WALK_AHEAD));
                }
                Ok(None) => break,
                Err(e) => {
                    out.error = Some(e);
                    break;
                }
            }
        }
        out.end = at;
    }

    fn walk_guessed(&self, seg: usize, out: &mut SegmentWalk) {
        match self.guess_start(seg) {
            Some(start) => self.walk(seg, start, out),
            None => out.reset(self.workers),
        }
    }
}

/// Where the verified walk stands: every thread computes the same from the same segments.
struct Chain {
    /// Where the next segment must start.
    expected: usize,
    /// Frames before the next segment.
    frames: u64,
    /// A read error ended the file: later segments are ignored.
    stopped: bool,
}

/// What thread 0 (the calling thread) learns about the file while decoding.
struct Bookkeeping<'f, 'p> {
    totals: Totals,
    over_snaplen: u64,
    feed: &'f mut ProgressFeed<'p>,
}

/// Decodes the frames of shard `shard` in the segments of one round, in file order.
#[allow(clippy::too_many_arguments)]
fn decode_round(
    view: FileView<'_>,
    slots: &[RwLock<SegmentWalk>],
    round: usize,
    shard: usize,
    chain: &mut Chain,
    worker: &mut Option<Worker>,
    rewalk: &mut SegmentWalk,
    mut book: Option<&mut Bookkeeping<'_, '_>>,
) {
    for (seg, slot) in view.round_segments(round).zip(slots) {
        if chain.stopped {
            return;
        }
        let Ok(guard) = slot.read() else {
            chain.stopped = true;
            return;
        };
        let walked: &SegmentWalk = if guard.start == Some(chain.expected) {
            &guard
        } else {
            // The guess was wrong (or found nothing): walk again from the verified offset.
            view.walk(seg, chain.expected, rewalk);
            rewalk
        };
        if let Some(w) = worker.as_mut()
            && let Some(frames) = walked.shards.get(shard)
        {
            let done = catch_unwind(AssertUnwindSafe(|| {
                for (i, f) in frames.iter().enumerate() {
                    if let Some(ahead) = frames.get(i + PREFETCH_AHEAD) {
                        prefetch(view.file, ahead.data_start);
                    }
                    let Some(data) = view
                        .file
                        .get(f.data_start..f.data_start.saturating_add(f.data_len as usize))
                    else {
                        continue;
                    };
                    w.frame(&Frame {
                        number: chain.frames + u64::from(f.local) + 1,
                        ts: f.ts,
                        link_type: view.layout.link_type,
                        data,
                        orig_len: f.orig_len,
                    });
                }
            }));
            if done.is_err() {
                // A decoder bug: this shard's flows are missing, the other shards go on.
                *worker = None;
            }
        }
        chain.frames += u64::from(walked.records);
        chain.expected = walked.end;
        if let Some(book) = book.as_deref_mut() {
            let t = &mut book.totals;
            t.packets += u64::from(walked.records);
            t.bytes += walked.bytes;
            if t.first_ts.is_none() {
                t.first_ts = walked.first_ts;
            }
            if walked.last_ts.is_some() {
                t.last_ts = walked.last_ts;
            }
            book.over_snaplen += walked.over_snaplen;
            book.feed.update(walked.end as u64, t.packets);
            if let Some(e) = &walked.error {
                read_error(t, e);
            }
        }
        if walked.error.is_some() {
            chain.stopped = true;
        }
    }
}

/// What the threads share: the walks of two rounds, the next unclaimed segment, the barrier.
struct Rounds {
    slots: [Vec<RwLock<SegmentWalk>>; 2],
    /// The next segment no thread has claimed for walking.
    next_walk: AtomicUsize,
    barrier: Barrier,
    /// The capture's DNS-answer retention, settled by every thread for its own output.
    retention: Option<Arc<Shared>>,
}

impl Rounds {
    /// Claims the next segment of `round` not walked yet (each one goes to exactly one thread).
    fn claim(&self, round: &std::ops::Range<usize>) -> Option<usize> {
        self.next_walk
            .fetch_update(Ordering::AcqRel, Ordering::Acquire, |seg| {
                (round.contains(&seg)).then_some(seg + 1)
            })
            .ok()
    }
}

/// One thread's part: decode its shard of the previous round, then walk what is left of this
/// round.
fn thread_loop(
    view: FileView<'_>,
    shared: &Rounds,
    shard: usize,
    mut worker: Option<Worker>,
    mut book: Option<&mut Bookkeeping<'_, '_>>,
) -> Option<Output> {
    let n = view.workers;
    let rounds = view.rounds();
    let mut chain = Chain {
        expected: view.first,
        frames: 0,
        stopped: false,
    };
    let mut rewalk = SegmentWalk::default();
    for phase in 0..=rounds {
        // Round phase-2 was decoded in the previous phase, before its barrier.
        if let Some(done) = phase.checked_sub(2) {
            release_share(view, done, shard);
        }
        if phase >= 1 {
            decode_round(
                view,
                shared.slots.get((phase - 1) % 2).map_or(&[], Vec::as_slice),
                phase - 1,
                shard,
                &mut chain,
                &mut worker,
                &mut rewalk,
                book.as_deref_mut(),
            );
            if let Some(w) = worker.as_mut() {
                w.checkpoint(chain.frames);
            }
        }
        if phase < rounds {
            let round = view.round_segments(phase);
            let slots = shared.slots.get(phase % 2).map_or(&[][..], Vec::as_slice);
            while let Some(seg) = shared.claim(&round) {
                if let Some(slot) = slots.get(seg - round.start)
                    && let Ok(mut out) = slot.write()
                {
                    if chain.stopped {
                        out.reset(n);
                    } else {
                        view.walk_guessed(seg, &mut out);
                    }
                }
            }
        }
        shared.barrier.wait();
    }
    if let Some(last) = rounds.checked_sub(1) {
        release_share(view, last, shard);
    }
    let output = worker.and_then(|w| catch_unwind(AssertUnwindSafe(|| w.finish())).ok());
    // Past this barrier every worker has published its last evidence, so each one decides
    // its own waiting DNS answers, side by side with the others.
    shared.barrier.wait();
    output.map(|mut out| {
        settle_output(shared.retention.as_ref(), &mut out, chain.frames);
        out
    })
}

/// Gives back thread `shard`'s share of the pages of round `round` once no thread reads it any
/// more: the page-table teardown then runs on every thread along the way instead of in one
/// `munmap` at the end (about 60 ms per GiB on one core), and the run's resident size stays
/// small. Each thread gives back its own `1/N` of the round.
fn release_share(view: FileView<'_>, round: usize, shard: usize) {
    // One contiguous stretch per thread: each `madvise` call interrupts the other cores to
    // flush their TLBs, so fewer, larger calls cost less than one per segment.
    let segs = view.round_segments(round);
    let from = view.segment_start(segs.start);
    let to = view.segment_start(segs.end);
    let n = view.workers.max(1);
    let part = (to - from).div_ceil(n);
    let start = from.saturating_add(part.saturating_mul(shard)).min(to);
    let end = start.saturating_add(part).min(to);
    if end > start {
        discard_pages(view.map, start, end - start);
    }
}

/// The result of a segmented run, or why it could not start (then nothing was read).
pub(super) enum Segmented {
    Done {
        outputs: Vec<Output>,
        totals: Totals,
        over_snaplen: u64,
    },
    NoThreads,
}

/// Decodes a mapped pcap file with `workers` threads (the caller's included).
pub(super) fn run(
    map: &Arc<Mmap>,
    layout: PcapLayout,
    first: usize,
    index: usize,
    workers: usize,
    opts: &DissectOptions,
    feed: &mut ProgressFeed<'_>,
) -> Segmented {
    let n = workers.max(1);
    let view = FileView {
        map,
        file: map.as_ref(),
        layout,
        first,
        workers: n,
        per_round: n.saturating_mul(SEGMENTS_PER_THREAD),
    };
    let round_slots = || {
        (0..view.per_round)
            .map(|_| RwLock::new(SegmentWalk::default()))
            .collect::<Vec<_>>()
    };
    let shared = Rounds {
        slots: [round_slots(), round_slots()],
        next_walk: AtomicUsize::new(0),
        barrier: Barrier::new(n),
        retention: retention(opts, n),
    };
    let mut book = Bookkeeping {
        totals: Totals::default(),
        over_snaplen: 0,
        feed,
    };
    let result = std::thread::scope(|s| {
        // Helpers wait for a go-ahead, so that if one cannot be started none enters the
        // barrier and the file is decoded by the other path instead.
        let mut handles = Vec::with_capacity(n - 1);
        let mut gates = Vec::with_capacity(n - 1);
        for shard in 1..n {
            let (go, wait) = channel::<bool>();
            let shared = &shared;
            let spawned = std::thread::Builder::new()
                .name(format!("kerbscope-seg{shard}"))
                .spawn_scoped(s, move || {
                    if !started(&wait) {
                        return None;
                    }
                    let worker = Worker::new(index, n, shard, shared.retention.as_ref(), opts);
                    thread_loop(view, shared, shard, Some(worker), None)
                });
            match spawned {
                Ok(h) => {
                    handles.push(h);
                    gates.push(go);
                }
                Err(_) => {
                    for g in &gates {
                        let _ = g.send(false);
                    }
                    return None;
                }
            }
        }
        for g in &gates {
            let _ = g.send(true);
        }
        let own = Worker::new(index, n, 0, shared.retention.as_ref(), opts);
        let mut outputs = vec![thread_loop(view, &shared, 0, Some(own), Some(&mut book))];
        outputs.extend(handles.into_iter().map(|h| h.join().ok().flatten()));
        Some(outputs)
    });
    let Some(outputs) = result else {
        return Segmented::NoThreads;
    };
    let mut totals = book.totals;
    let outputs: Vec<Output> = outputs
        .into_iter()
        .enumerate()
        .map(|(shard, out)| {
            out.unwrap_or_else(|| {
                totals.warnings.push(format!(
                    "internal: decoding worker {shard} failed; its flows are missing"
                ));
                Output::default()
            })
        })
        .collect();
    Segmented::Done {
        outputs,
        totals,
        over_snaplen: book.over_snaplen,
    }
}

fn started(wait: &Receiver<bool>) -> bool {
    wait.recv().unwrap_or(false)
}

/// `madvise(MADV_DONTNEED)` over `len` bytes of the map at `offset` (widened to whole pages).
#[allow(unsafe_code)]
fn discard_pages(map: &Mmap, offset: usize, len: usize) {
    // SAFETY: the map is a read-only shared mapping of a file: after MADV_DONTNEED the pages
    // are simply faulted in again from the file on the next access, with the same contents
    // (the same assumption every read of the map makes: the file is not changed while it is
    // analysed). Nothing is freed that a reference could still point to. A failure only means
    // the pages stay mapped until the map is dropped.
    let _ = unsafe { map.unchecked_advise_range(UncheckedAdvice::DontNeed, offset, len) };
}
