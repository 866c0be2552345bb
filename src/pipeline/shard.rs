//! Flow sharding of one capture over N threads: the calling thread reads frames, decodes the
//! flows of shard 0 itself (no copy) and copies every other frame into the batch of the helper
//! worker its IP address pair hashes to; each worker owns a `Dissector` and decodes its frames
//! in frame order. A symmetric hash of the (outermost) address pair keeps both directions of a
//! TCP connection, and every fragment of an IP datagram, on one worker, so reassembly never needs
//! another worker's state. Frames without IP (ARP, unknown link types) go to shard 0.
//!
//! Batches are owned copies in a fixed pool of reused buffers per helper, so the reader is never
//! more than `POOL_PER_WORKER` batches ahead of any worker and memory does not depend on the
//! input. With one thread every frame is decoded inline by the same `Worker`.

use std::path::Path;
use std::sync::Arc;
use std::sync::mpsc::{Receiver, Sender, channel};

use crate::capture::{CaptureFormat, CaptureReader, Frame, LinkType, OpenError, Timestamp};
use crate::dissect::{AllStats, Dissector};
use crate::event::Event;
use crate::net::defrag::DefragLimits;
use crate::net::{NetLimits, TcpLimits};

use super::dns_retention::{self, Pending, Retainer, SetAside, Shared};
use super::event_filter::EventFilter;
use super::merge;
use super::progress::Progress;
use super::segmented::{self, Segmented};
use super::split::{READ_COST, READ_COST_MAPPED, Split, even_shard};
use super::{CaptureRun, DissectOptions};

/// A batch is sent when its frame bytes reach this size ...
const BATCH_BYTES: usize = 512 << 10;
/// ... or it holds this many frames.
const BATCH_FRAMES: usize = 2048;
/// Batch buffers per helper worker (filling, queued, being decoded); the reader waits for a
/// returned one beyond this, so it is never far ahead of any worker.
const POOL_PER_WORKER: usize = 6;
/// A recycled buffer that grew past this (one huge frame) is shrunk back.
const BATCH_KEEP_CAPACITY: usize = 4 * BATCH_BYTES;
/// Frames between two progress updates.
const PROGRESS_EVERY: u64 = 8192;

/// The run's memory budget for decoder state, split evenly between the workers of one capture.
const TCP_BUFFER_BUDGET: usize = 128 << 20;
const TCP_CONNECTION_BUDGET: usize = 200_000;
const DEFRAG_BYTES_BUDGET: usize = 32 << 20;
const DEFRAG_DATAGRAM_BUDGET: usize = 4096;

/// Where one frame of a batch lies: in the batch's byte buffer, or (mapped file) in the map.
struct Meta {
    number: u64,
    ts: Timestamp,
    link_type: LinkType,
    orig_len: u32,
    start: usize,
    len: usize,
    in_map: bool,
}

#[derive(Default)]
struct Batch {
    data: Vec<u8>,
    frames: Vec<Meta>,
    /// The reader had walked every frame up to this number when it sent the batch.
    through: u64,
}

impl Batch {
    fn with_capacity() -> Batch {
        Batch {
            data: Vec::with_capacity(BATCH_BYTES + 2048),
            frames: Vec::with_capacity(BATCH_FRAMES),
            through: 0,
        }
    }

    fn push(&mut self, frame: &Frame<'_>) {
        let start = self.data.len();
        self.data.extend_from_slice(frame.data);
        self.frames.push(Meta {
            number: frame.number,
            ts: frame.ts,
            link_type: frame.link_type,
            orig_len: frame.orig_len,
            start,
            len: frame.data.len(),
            in_map: false,
        });
    }

    /// A frame of a mapped file: only where it lies in the map is queued, not its bytes.
    fn push_mapped(&mut self, frame: &Frame<'_>, start: usize) {
        self.frames.push(Meta {
            number: frame.number,
            ts: frame.ts,
            link_type: frame.link_type,
            orig_len: frame.orig_len,
            start,
            len: frame.data.len(),
            in_map: true,
        });
    }

    fn is_full(&self) -> bool {
        self.data.len() >= BATCH_BYTES || self.frames.len() >= BATCH_FRAMES
    }
}

/// Offset of `data` inside `map`, when it is a slice of it (pointer arithmetic only: the
/// addresses are compared as integers, never dereferenced).
#[inline]
fn offset_in(map: &[u8], data: &[u8]) -> Option<usize> {
    let base = map.as_ptr() as usize;
    let at = (data.as_ptr() as usize).checked_sub(base)?;
    (at.checked_add(data.len())? <= map.len()).then_some(at)
}

impl Batch {
    fn recycle(mut self) -> Batch {
        self.data.clear();
        self.frames.clear();
        self.through = 0;
        if self.data.capacity() > BATCH_KEEP_CAPACITY {
            self.data.shrink_to(BATCH_BYTES);
        }
        self
    }
}

/// Decoder caps for one of `workers` shards.
fn limits(workers: usize) -> (NetLimits, TcpLimits) {
    let n = workers.max(1);
    let net = NetLimits {
        defrag: DefragLimits {
            max_pending_datagrams: (DEFRAG_DATAGRAM_BUDGET / n).max(64),
            max_pending_bytes: (DEFRAG_BYTES_BUDGET / n).max(1 << 20),
            ..DefragLimits::default()
        },
        ..NetLimits::default()
    };
    let tcp = TcpLimits {
        max_total_bytes: (TCP_BUFFER_BUDGET / n).max(8 << 20),
        max_connections: (TCP_CONNECTION_BUDGET / n).max(1024),
        ..TcpLimits::default()
    };
    (net, tcp)
}

/// One shard's decoder and the events it kept.
pub(super) struct Worker {
    dissector: Dissector,
    filter: EventFilter,
    retainer: Option<Retainer>,
    scratch: Vec<Event>,
    events: Vec<Event>,
    last_frame: u64,
}

/// The DNS-answer retention shared by the workers of one capture: none when every event is
/// kept (`keep_plain_http`, the `events` command).
pub(super) fn retention(opts: &DissectOptions, workers: usize) -> Option<Arc<Shared>> {
    (!opts.keep_plain_http).then(|| Shared::new(workers))
}

impl Worker {
    /// The decoder of shard `slot` of `workers`.
    pub(super) fn new(
        capture: usize,
        workers: usize,
        slot: usize,
        retention: Option<&Arc<Shared>>,
        opts: &DissectOptions,
    ) -> Worker {
        let (net, tcp) = limits(workers);
        let keep_plain_http = opts.keep_plain_http;
        let mut dissector = Dissector::with_limits(capture, net, tcp);
        dissector.keep_kerberos_bytes(opts.keys.is_some());
        Worker {
            dissector,
            filter: EventFilter::new(keep_plain_http),
            retainer: retention.map(|r| Retainer::new(r, slot)),
            scratch: Vec::new(),
            events: Vec::new(),
            last_frame: 0,
        }
    }

    #[inline]
    pub(super) fn frame(&mut self, frame: &Frame<'_>) {
        self.last_frame = frame.number;
        self.dissector.frame(frame, &mut self.scratch);
        if !self.scratch.is_empty() {
            let start = self.events.len();
            self.filter
                .keep(frame.number, &mut self.scratch, &mut self.events);
            if let Some(r) = &mut self.retainer {
                r.sort_new(frame.number, &mut self.events, start);
            }
        }
    }

    /// The reader of this worker has passed frame `number` (decoded here or not).
    #[inline]
    pub(super) fn passed(&mut self, number: u64) {
        if let Some(r) = &mut self.retainer {
            r.passed(number, &mut self.events);
        }
    }

    /// Every frame of this worker's shard up to `through` is decoded.
    pub(super) fn checkpoint(&mut self, through: u64) {
        if let Some(r) = &mut self.retainer {
            r.checkpoint(through, &mut self.events);
        }
    }

    /// End of input: flush held data, and return the kept events (not yet in frame order) with
    /// the DNS answers still waiting for their decision (`settle`).
    pub(super) fn finish(mut self) -> Output {
        self.dissector.finish(&mut self.scratch);
        let start = self.events.len();
        self.filter.keep(
            self.last_frame.saturating_add(1),
            &mut self.scratch,
            &mut self.events,
        );
        let mut stats = self.dissector.stats();
        let mut undecided = Vec::new();
        let mut set_aside = SetAside::default();
        if let Some(mut r) = self.retainer.take() {
            r.sort_new(dns_retention::AT_END, &mut self.events, start);
            let finished = r.finish();
            (undecided, set_aside) = (finished.undecided, finished.set_aside);
            stats.app.dns_answers_set_aside += set_aside.count;
            stats.app.dns_pending_cap_hits += finished.cap_hits;
        }
        Output {
            events: self.events,
            stats,
            undecided,
            set_aside,
        }
    }
}

/// Decides the DNS answers the workers left undecided (all workers are done, so the evidence
/// is complete) and puts each output's events in frame order (stable: a frame's events stay
/// in decoding order, answers after the frame's other events, as a checkpoint adds them).
pub(super) fn settle(retention: Option<&Arc<Shared>>, outputs: &mut [Output], frames: u64) {
    for out in outputs.iter_mut() {
        settle_output(retention, out, frames);
    }
}

/// `settle` for one worker's output (the segmented path runs it on each worker's thread).
pub(super) fn settle_output(retention: Option<&Arc<Shared>>, out: &mut Output, frames: u64) {
    let undecided = std::mem::take(&mut out.undecided);
    if let Some(shared) = retention {
        let (kept, set_aside) = shared.settle(undecided, frames);
        out.events.extend(kept);
        out.stats.app.dns_answers_set_aside += set_aside.count;
        out.set_aside.merge(set_aside);
    }
    out.events.sort_by_key(|e| e.frame);
}

/// What the reader learns about the file while walking it.
#[derive(Default)]
pub(super) struct Totals {
    pub(super) packets: u64,
    pub(super) bytes: u64,
    pub(super) first_ts: Option<Timestamp>,
    pub(super) last_ts: Option<Timestamp>,
    pub(super) warnings: Vec<String>,
}

impl Totals {
    #[inline]
    fn add(&mut self, frame: &Frame<'_>) {
        self.packets += 1;
        self.bytes += u64::from(frame.orig_len);
        if self.first_ts.is_none() {
            self.first_ts = Some(frame.ts);
        }
        self.last_ts = Some(frame.ts);
    }
}

/// Reports bytes read to the progress bar as deltas (several files may share one bar).
pub(super) struct ProgressFeed<'a> {
    progress: Option<&'a Arc<Progress>>,
    reported_bytes: u64,
    reported_frames: u64,
}

impl<'a> ProgressFeed<'a> {
    pub(super) fn new(progress: Option<&'a Arc<Progress>>) -> Self {
        ProgressFeed {
            progress,
            reported_bytes: 0,
            reported_frames: 0,
        }
    }

    pub(super) fn update(&mut self, bytes: u64, frames: u64) {
        if let Some(p) = self.progress {
            p.add(
                bytes.saturating_sub(self.reported_bytes),
                frames.saturating_sub(self.reported_frames),
            );
            self.reported_bytes = self.reported_bytes.max(bytes);
            self.reported_frames = self.reported_frames.max(frames);
        }
    }
}

/// Decodes a capture file. Plain pcap and pcapng files are walked by every worker at once (see
/// `parallel_walk`); gzip and NetMon input, which are costly or memory-hungry to read twice, go
/// through one reader that hands frames out (`sharded`).
pub(super) fn run_file(
    path: &Path,
    index: usize,
    opts: &DissectOptions,
    progress: Option<&Arc<Progress>>,
) -> Result<CaptureRun, OpenError> {
    let mut reader = CaptureReader::open(path)?;
    let workers = opts.resolved_threads().max(1);
    // A mapped libpcap file is walked by every thread, each its own stretch (`segmented`).
    if workers > 1
        && let Some((map, layout, first)) = reader.mapped_pcap()
    {
        let mut feed = ProgressFeed::new(progress);
        if let Segmented::Done {
            outputs,
            totals,
            over_snaplen,
        } = segmented::run(&map, layout, first, index, workers, opts, &mut feed)
        {
            reader.walked_elsewhere(totals.packets, over_snaplen);
            return Ok(finish_run(reader, path, outputs, totals, &mut feed));
        }
    }
    // A mapped file is walked once and its frames handed to the workers by offset (`sharded`):
    // measured on the 1 GiB corpus, as fast as every worker walking the shared map and about a
    // tenth less CPU. A file read through read() is walked by every worker (`parallel_walk`),
    // which beats copying its frames into batches.
    let walkable = workers > 1
        && reader.mapped().is_none()
        && !reader.is_gzip()
        && matches!(
            reader.format(),
            CaptureFormat::Pcap
                | CaptureFormat::PcapNs
                | CaptureFormat::PcapModified
                | CaptureFormat::Pcapng
        );
    if walkable {
        let others: Result<Vec<CaptureReader>, _> =
            (1..workers).map(|_| CaptureReader::open(path)).collect();
        if let Ok(others) = others {
            let mut reader = reader;
            let mut feed = ProgressFeed::new(progress);
            let (outputs, totals) =
                parallel_walk(&mut reader, others, index, workers, opts, &mut feed);
            return Ok(finish_run(reader, path, outputs, totals, &mut feed));
        }
    }
    Ok(run(reader, path, index, opts, progress))
}

/// Decodes an opened capture: inline with one thread, else through one reader (`sharded`).
pub(super) fn run(
    mut reader: CaptureReader,
    path: &Path,
    index: usize,
    opts: &DissectOptions,
    progress: Option<&Arc<Progress>>,
) -> CaptureRun {
    let workers = opts.resolved_threads().max(1);
    let mut feed = ProgressFeed::new(progress);
    let (outputs, totals) = if workers == 1 {
        inline(&mut reader, index, opts, &mut feed)
    } else {
        sharded(&mut reader, index, workers, opts, &mut feed)
    };
    finish_run(reader, path, outputs, totals, &mut feed)
}

fn finish_run(
    reader: CaptureReader,
    path: &Path,
    outputs: Vec<Output>,
    mut totals: Totals,
    feed: &mut ProgressFeed<'_>,
) -> CaptureRun {
    feed.update(reader.bytes_consumed(), totals.packets);
    totals.warnings.extend(reader.warnings());
    let mut set_aside = SetAside::default();
    for o in &outputs {
        set_aside.merge(o.set_aside);
    }
    let (events, stats) = merge::merge(outputs.into_iter().map(|o| (o.events, o.stats)).collect());
    CaptureRun {
        path: path.to_path_buf(),
        format: reader.format().name(),
        gzip: reader.is_gzip(),
        link_types: reader.link_types().into_iter().map(|l| l.name()).collect(),
        packets: totals.packets,
        bytes: totals.bytes,
        first_ts: totals.first_ts,
        last_ts: totals.last_ts,
        warnings: totals.warnings,
        events,
        stats,
        set_aside_last_frame: set_aside.last_frame,
    }
}

/// Every worker reads the whole file with its own reader and decodes only the frames that hash
/// to it: no copies, no queues, and the reading itself (the larger part of the work on
/// background traffic: page-cache copy and record walk) runs on every core instead of one. The
/// calling thread is worker 0 and also keeps the file's totals and the progress bar.
fn parallel_walk(
    reader: &mut CaptureReader,
    others: Vec<CaptureReader>,
    index: usize,
    workers: usize,
    opts: &DissectOptions,
    feed: &mut ProgressFeed<'_>,
) -> (Vec<Output>, Totals) {
    let mut totals = Totals::default();
    let retention = retention(opts, workers);
    let mut own = Worker::new(index, workers, 0, retention.as_ref(), opts);
    let outputs = std::thread::scope(|s| {
        let mut handles = Vec::with_capacity(workers - 1);
        // Shards whose thread could not be started are decoded here instead.
        let mut orphaned = vec![false; workers];
        for (i, mut r) in others.into_iter().enumerate() {
            let shard = i + 1;
            let retention = retention.as_ref();
            let spawned = std::thread::Builder::new()
                .name(format!("kerbscope-shard{shard}"))
                .spawn_scoped(s, move || {
                    let mut worker = Worker::new(index, workers, shard, retention, opts);
                    while let Ok(Some(frame)) = r.next_frame() {
                        if even_shard(&frame, workers) == shard {
                            worker.frame(&frame);
                        }
                        worker.passed(frame.number);
                    }
                    worker.finish()
                });
            match spawned {
                Ok(h) => handles.push((shard, h)),
                Err(_) => {
                    if let Some(o) = orphaned.get_mut(shard) {
                        *o = true;
                    }
                    if let Some(r) = &retention {
                        r.vacate(shard);
                    }
                }
            }
        }
        walk(reader, &mut totals, feed, |frame| {
            let shard = even_shard(frame, workers);
            if shard == 0 || orphaned.get(shard).copied().unwrap_or(true) {
                own.frame(frame);
            }
            own.passed(frame.number);
            true
        });
        let mut outputs = Vec::with_capacity(workers);
        for (shard, h) in handles {
            match h.join() {
                Ok(out) => outputs.push(out),
                Err(_) => {
                    totals.warnings.push(format!(
                        "internal: decoding worker {shard} failed; its flows are missing"
                    ));
                }
            }
        }
        outputs
    });
    let mut all = vec![own.finish()];
    all.extend(outputs);
    settle(retention.as_ref(), &mut all, totals.packets);
    (all, totals)
}

/// What one worker hands back.
#[derive(Default)]
pub(super) struct Output {
    pub(super) events: Vec<Event>,
    pub(super) stats: AllStats,
    /// DNS answers whose decision needs every worker's evidence (`settle`).
    pub(super) undecided: Vec<Pending>,
    pub(super) set_aside: SetAside,
}

/// Reads every frame into `each`, keeping the file's totals and the progress bar; stops at the
/// end of the file, at a read error (kept as a warning), or when `each` returns false.
fn walk(
    reader: &mut CaptureReader,
    totals: &mut Totals,
    feed: &mut ProgressFeed<'_>,
    mut each: impl FnMut(&Frame<'_>) -> bool,
) {
    loop {
        match reader.next_frame() {
            Ok(Some(frame)) => {
                totals.add(&frame);
                if !each(&frame) {
                    break;
                }
            }
            Ok(None) => break,
            Err(e) => {
                read_error(totals, e);
                break;
            }
        }
        if totals.packets.is_multiple_of(PROGRESS_EVERY) {
            feed.update(reader.bytes_consumed(), totals.packets);
        }
    }
}

pub(super) fn read_error(totals: &mut Totals, e: impl std::fmt::Display) {
    totals.warnings.push(format!(
        "{e}; results cover the {} frames before it",
        totals.packets
    ));
}

fn inline(
    reader: &mut CaptureReader,
    index: usize,
    opts: &DissectOptions,
    feed: &mut ProgressFeed<'_>,
) -> (Vec<Output>, Totals) {
    let retention = retention(opts, 1);
    let mut worker = Worker::new(index, 1, 0, retention.as_ref(), opts);
    let mut totals = Totals::default();
    walk(reader, &mut totals, feed, |frame| {
        worker.frame(frame);
        worker.passed(frame.number);
        true
    });
    let mut outputs = vec![worker.finish()];
    settle(retention.as_ref(), &mut outputs, totals.packets);
    (outputs, totals)
}

fn sharded(
    reader: &mut CaptureReader,
    index: usize,
    workers: usize,
    opts: &DissectOptions,
    feed: &mut ProgressFeed<'_>,
) -> (Vec<Output>, Totals) {
    let mut totals = Totals::default();
    let map = reader.mapped();
    let split = Split::new(
        workers,
        if map.is_some() {
            READ_COST_MAPPED
        } else {
            READ_COST
        },
    );
    // Shard 0 is decoded by this thread, between reads, without a copy.
    let retention = retention(opts, workers);
    let mut own = Worker::new(index, workers, 0, retention.as_ref(), opts);
    let helpers = workers - 1;
    let mut outputs = std::thread::scope(|s| {
        let mut lanes = Vec::with_capacity(helpers);
        let mut handles = Vec::with_capacity(helpers);
        for i in 0..helpers {
            let (tx, rx) = channel::<Batch>();
            let (back_tx, back_rx) = channel::<Batch>();
            let helper_map = map.clone();
            let retention_ref = retention.as_ref();
            let spawned = std::thread::Builder::new()
                .name(format!("kerbscope-shard{}", i + 1))
                .spawn_scoped(s, move || {
                    let worker = Worker::new(index, workers, i + 1, retention_ref, opts);
                    helper(rx, back_tx, worker, helper_map.as_deref().map(|m| &m[..]))
                });
            let Ok(handle) = spawned else {
                // No thread to be had: the flows of the missing helpers are decoded by this
                // thread (same events; only the stats' cap counters could differ).
                totals
                    .warnings
                    .push("internal: could not start every decoding thread".into());
                if let Some(r) = &retention {
                    (i + 1..workers).for_each(|slot| r.vacate(slot));
                }
                break;
            };
            handles.push(handle);
            lanes.push(Lane {
                tx,
                back: back_rx,
                current: Batch::with_capacity(),
                allocated: 1,
            });
        }
        walk(reader, &mut totals, feed, |frame| {
            // Now and then every helper hears how far the reader is, even one whose shard is
            // quiet, so that the DNS-answer decisions waiting on it go on (`dns_retention`).
            if retention.is_some() && frame.number.is_multiple_of(dns_retention::CHECK_EVERY) {
                for lane in &mut lanes {
                    lane.current.through = frame.number.saturating_sub(1);
                    if !lane.send() {
                        return false;
                    }
                }
            }
            let Some(lane) = split
                .shard(frame)
                .checked_sub(1)
                .and_then(|n| lanes.get_mut(n))
            else {
                // Shard 0, or a helper that could not be started: decoded here.
                own.frame(frame);
                own.passed(frame.number);
                return true;
            };
            own.passed(frame.number);
            match map.as_deref().and_then(|m| offset_in(m, frame.data)) {
                Some(start) => lane.current.push_mapped(frame, start),
                None => lane.current.push(frame),
            }
            lane.current.through = frame.number;
            // A send fails only if that worker died; stop reading, keep what was decoded.
            !lane.current.is_full() || lane.send()
        });
        let mut flushed = Vec::with_capacity(helpers);
        for lane in lanes {
            if !lane.current.frames.is_empty() {
                let _ = lane.tx.send(lane.current);
            }
            // Dropping the sender ends the worker's loop.
            flushed.push(lane.back);
        }
        let mut outputs = Vec::with_capacity(workers);
        for (i, h) in handles.into_iter().enumerate() {
            match h.join() {
                Ok(out) => outputs.push(out),
                Err(_) => {
                    totals.warnings.push(format!(
                        "internal: decoding worker {} failed; its flows are missing",
                        i + 1
                    ));
                    outputs.push(Output::default());
                }
            }
        }
        drop(flushed);
        outputs
    });
    outputs.insert(0, own.finish());
    settle(retention.as_ref(), &mut outputs, totals.packets);
    (outputs, totals)
}

/// A helper thread: decodes the batches it is sent, in order, and returns the buffers.
fn helper(
    rx: Receiver<Batch>,
    back: Sender<Batch>,
    mut worker: Worker,
    map: Option<&[u8]>,
) -> Output {
    for batch in rx {
        for m in &batch.frames {
            let source = match (m.in_map, map) {
                (true, Some(map)) => map,
                _ => &batch.data[..],
            };
            let Some(data) = source.get(m.start..m.start.saturating_add(m.len)) else {
                continue;
            };
            worker.frame(&Frame {
                number: m.number,
                ts: m.ts,
                link_type: m.link_type,
                data,
                orig_len: m.orig_len,
            });
        }
        worker.checkpoint(batch.through);
        // The reader may be gone already; an unreturned buffer is simply freed.
        let _ = back.send(batch.recycle());
    }
    worker.finish()
}

/// The reader's side of one helper worker: the batch being filled and a fixed pool of buffers.
struct Lane {
    tx: Sender<Batch>,
    back: Receiver<Batch>,
    current: Batch,
    allocated: usize,
}

impl Lane {
    /// Hands the full batch over and takes an empty one: a recycled buffer if one is back, a
    /// new one while the pool is below its size, otherwise waits for the worker to return one
    /// (this is the back-pressure that bounds memory).
    fn send(&mut self) -> bool {
        let fresh = match self.back.try_recv() {
            Ok(b) => b,
            Err(_) if self.allocated < POOL_PER_WORKER => {
                self.allocated += 1;
                Batch::with_capacity()
            }
            Err(_) => match self.back.recv() {
                Ok(b) => b,
                Err(_) => return false,
            },
        };
        let full = std::mem::replace(&mut self.current, fresh);
        self.tx.send(full).is_ok()
    }
}
