//! Runs captures through the whole decoding chain (capture → net → proto → events) and collects
//! what a report needs about each file: format, link types, packet and byte counts, first/last
//! timestamps and warnings (truncation, malformed records).
//!
//! One capture uses every core it is given. A memory-mapped libpcap file is cut into segments
//! that every thread walks at once, each frame then decoded by the worker its symmetric IP
//! address-pair hash names (`segmented`); other input (gzip, NetMon, pcapng, read()) goes through
//! one reader that hands frames out in batches or is walked by every worker (`shard`). Either
//! way a TCP connection (and every fragment of a datagram) stays on one worker with its own
//! `Dissector`. The workers' events are merged by frame number (`merge`); each frame's events
//! come from one worker, so the merged list is the same for every thread count. Several
//! captures run side by side (`dissect_files`).
//!
//! Memory is bounded by design: the reader's buffers and the batch queues are fixed in size, TCP
//! buffering, fragment reassembly and connection counts are capped (the run's budget is split
//! between the workers), and in analysis mode plain HTTP traffic without authentication is
//! dropped as it is decoded (`event_filter`) and a DNS answer is kept only when its client
//! authenticates within 2^20 frames after it, with at most 2^16 answers waiting for that
//! decision (`dns_retention`), so the kept events grow with the authentication traffic, not
//! with background traffic. Output is identical for every `-j` unless one of those caps is
//! reached.

mod dns_retention;
mod event_filter;
mod merge;
mod progress;
mod segmented;
mod shard;
mod split;

use std::io::{self, Read};
use std::path::{Path, PathBuf};
use std::sync::Arc;

use crate::capture::{CaptureReader, OpenError, Timestamp};
use crate::crypto::Keyring;
use crate::dissect::AllStats;
use crate::event::Event;

pub use progress::Progress;

/// What one capture produced.
#[derive(Debug)]
pub struct CaptureRun {
    pub path: PathBuf,
    pub format: &'static str,
    pub gzip: bool,
    pub link_types: Vec<String>,
    pub packets: u64,
    pub bytes: u64,
    pub first_ts: Option<Timestamp>,
    pub last_ts: Option<Timestamp>,
    /// The file ended early or a record was malformed: results are up to that point.
    pub warnings: Vec<String>,
    /// Sorted by frame; events of one frame in decoding order.
    pub events: Vec<Event>,
    pub stats: AllStats,
    /// The last frame of a DNS answer not kept in `events` (`dns_retention`; 0 when none):
    /// it still shows that the capture went on until there.
    pub set_aside_last_frame: u64,
}

/// How a run decodes its captures.
#[derive(Clone, Debug)]
pub struct DissectOptions {
    /// Worker threads for the whole run; 0 means one per core.
    pub threads: usize,
    /// Keep every HTTP event (`kerbscope events`). When false (analysis), only HTTP events of
    /// connections that carried an authentication header or a 401/407 are kept, plus a few
    /// plain messages around them; see `event_filter`.
    pub keep_plain_http: bool,
    /// Draw a progress bar on stderr when it is a terminal.
    pub progress: bool,
    /// Keys (`--keytab`, `--password`): Kerberos messages are opened after decoding and their
    /// events carry what the keys prove (`dissect::prove`). `None`: nothing is kept or tried.
    pub keys: Option<Arc<Keyring>>,
}

impl Default for DissectOptions {
    fn default() -> Self {
        DissectOptions {
            threads: 0,
            keep_plain_http: true,
            progress: false,
            keys: None,
        }
    }
}

impl DissectOptions {
    /// The thread count with 0 resolved to the number of cores.
    pub fn resolved_threads(&self) -> usize {
        match self.threads {
            0 => std::thread::available_parallelism().map_or(1, |n| n.get()),
            n => n,
        }
    }
}

/// Decode every frame of `path` on one thread, keeping every event. `index` identifies the
/// capture in a multi-file run.
pub fn dissect_file(path: &Path, index: usize) -> Result<CaptureRun, OpenError> {
    let reader = CaptureReader::open(path)?;
    Ok(dissect_reader(reader, path, index))
}

/// Decode every frame from an already opened reader (tests and fuzzing use in-memory bytes).
pub fn dissect_reader(reader: CaptureReader, path: &Path, index: usize) -> CaptureRun {
    let opts = DissectOptions {
        threads: 1,
        ..DissectOptions::default()
    };
    dissect_reader_with(reader, path, index, &opts, None)
}

/// Decode one capture with `opts.threads` workers (0: all cores).
pub fn dissect_file_with(
    path: &Path,
    index: usize,
    opts: &DissectOptions,
) -> Result<CaptureRun, OpenError> {
    let progress = opts
        .progress
        .then(|| Progress::start(std::fs::metadata(path).ok().map(|m| m.len())));
    let run = shard::run_file(path, index, opts, progress.as_ref()).map(|r| with_proofs(r, opts));
    if let Some(p) = progress {
        p.finish();
    }
    run
}

/// With keys: open the run's Kerberos messages, in frame order (see `dissect::prove`).
fn with_proofs(mut run: CaptureRun, opts: &DissectOptions) -> CaptureRun {
    if let Some(keys) = &opts.keys {
        crate::dissect::prove(&mut run.events, keys);
    }
    run
}

/// Decode an opened capture with `opts.threads` workers, reporting to `progress` if given.
pub fn dissect_reader_with(
    reader: CaptureReader,
    path: &Path,
    index: usize,
    opts: &DissectOptions,
    progress: Option<&Arc<Progress>>,
) -> CaptureRun {
    with_proofs(shard::run(reader, path, index, opts, progress), opts)
}

/// Decode several captures in one run, in parallel, results in the order of `paths` (capture
/// index = position). The run's threads go to whole files when there are at least as many files
/// as threads, otherwise each file is sharded over its share of them.
pub fn dissect_files(
    paths: &[PathBuf],
    opts: &DissectOptions,
) -> Vec<Result<CaptureRun, OpenError>> {
    let threads = opts.resolved_threads().max(1);
    let progress = opts.progress.then(|| {
        let total = paths
            .iter()
            .map(|p| std::fs::metadata(p).map_or(0, |m| m.len()))
            .sum();
        Progress::start(Some(total))
    });
    let open_and_run = |i: usize, path: &PathBuf, file_threads: usize| {
        let file_opts = DissectOptions {
            threads: file_threads,
            ..opts.clone()
        };
        shard::run_file(path, i, &file_opts, progress.as_ref()).map(|r| with_proofs(r, opts))
    };
    let results = if paths.len() >= threads {
        use rayon::prelude::*;
        match rayon::ThreadPoolBuilder::new().num_threads(threads).build() {
            Ok(pool) => pool.install(|| {
                paths
                    .par_iter()
                    .enumerate()
                    .map(|(i, p)| open_and_run(i, p, 1))
                    .collect()
            }),
            Err(_) => paths
                .iter()
                .enumerate()
                .map(|(i, p)| open_and_run(i, p, 1))
                .collect(),
        }
    } else {
        // Fewer files than threads: each file gets threads / files workers (the first ones one
        // more), and the files run side by side.
        let n = paths.len().max(1);
        std::thread::scope(|s| {
            let handles: Vec<_> = paths
                .iter()
                .enumerate()
                .map(|(i, p)| {
                    let share = threads / n + usize::from(i < threads % n);
                    let run = &open_and_run;
                    s.spawn(move || run(i, p, share.max(1)))
                })
                .collect();
            handles
                .into_iter()
                .map(|h| {
                    h.join().unwrap_or_else(|_| {
                        Err(OpenError::Io(io::Error::other(
                            "a decoding thread panicked",
                        )))
                    })
                })
                .collect()
        })
    };
    if let Some(p) = progress {
        p.finish();
    }
    results
}

/// Expands the command line's inputs: a file stays as given; a directory contributes every file
/// below it (sorted, hidden entries skipped) whose first bytes are a capture or gzip magic
/// number, so notes and ground-truth files next to captures are passed over.
pub fn capture_paths(inputs: &[PathBuf]) -> io::Result<Vec<PathBuf>> {
    let mut out = Vec::new();
    for input in inputs {
        if input.is_dir() {
            let mut found = Vec::new();
            walk_dir(input, &mut found, 0)?;
            found.sort();
            out.extend(found);
        } else {
            out.push(input.clone());
        }
    }
    Ok(out)
}

/// Directory levels followed below a directory argument (symlink loops end here).
const MAX_DIR_DEPTH: usize = 16;

fn walk_dir(dir: &Path, found: &mut Vec<PathBuf>, depth: usize) -> io::Result<()> {
    if depth > MAX_DIR_DEPTH {
        return Ok(());
    }
    for entry in std::fs::read_dir(dir)? {
        let path = entry?.path();
        let hidden = path
            .file_name()
            .and_then(|n| n.to_str())
            .is_some_and(|n| n.starts_with('.'));
        if hidden {
            continue;
        }
        if path.is_dir() {
            walk_dir(&path, found, depth + 1)?;
        } else if has_capture_magic(&path) {
            found.push(path);
        }
    }
    Ok(())
}

/// pcap (all four byte-order / resolution magics), pcapng, NetMon 2 or gzip.
fn has_capture_magic(path: &Path) -> bool {
    let mut head = [0u8; 4];
    let Ok(mut f) = std::fs::File::open(path) else {
        return false;
    };
    if f.read_exact(&mut head).is_err() {
        return false;
    }
    matches!(
        head,
        [0xd4, 0xc3, 0xb2, 0xa1]
            | [0xa1, 0xb2, 0xc3, 0xd4]
            | [0x4d, 0x3c, 0xb2, 0xa1]
            | [0xa1, 0xb2, 0x3c, 0x4d]
            | [0x34, 0xcd, 0xb2, 0xa1]
            | [0xa1, 0xb2, 0xcd, 0x34]
            | [0x0a, 0x0d, 0x0d, 0x0a]
            | [b'G', b'M', b'B', b'U']
            | [0x1f, 0x8b, _, _]
    )
}

#[cfg(test)]
mod tests;
