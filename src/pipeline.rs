//! Runs one capture file through the whole decoding chain (capture → net → proto → events) and
//! collects what a report needs about the file itself: format, link types, packet and byte
//! counts, first/last timestamps and warnings (truncation, malformed records).

use std::path::{Path, PathBuf};

use crate::capture::{CaptureReader, OpenError, Timestamp};
use crate::dissect::{AllStats, Dissector};
use crate::event::Event;

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
    pub events: Vec<Event>,
    pub stats: AllStats,
}

/// Decode every frame of `path`. `index` identifies the capture in a multi-file run.
pub fn dissect_file(path: &Path, index: usize) -> Result<CaptureRun, OpenError> {
    let reader = CaptureReader::open(path)?;
    Ok(dissect_reader(reader, path, index))
}

/// Decode every frame from an already opened reader (tests and fuzzing use in-memory bytes).
pub fn dissect_reader(mut reader: CaptureReader, path: &Path, index: usize) -> CaptureRun {
    let mut dissector = Dissector::new(index);
    let mut events = Vec::new();
    let mut warnings = Vec::new();
    let (mut packets, mut bytes) = (0u64, 0u64);
    let (mut first_ts, mut last_ts) = (None, None);
    loop {
        match reader.next_frame() {
            Ok(Some(frame)) => {
                packets += 1;
                bytes += u64::from(frame.orig_len);
                if first_ts.is_none() {
                    first_ts = Some(frame.ts);
                }
                last_ts = Some(frame.ts);
                dissector.frame(&frame, &mut events);
            }
            Ok(None) => break,
            Err(e) => {
                warnings.push(format!("{e}; results cover the {packets} frames before it"));
                break;
            }
        }
    }
    dissector.finish(&mut events);
    // Messages completed while flushing, or by reassembly, may finish out of frame order.
    events.sort_by_key(|e| e.frame);
    CaptureRun {
        path: path.to_path_buf(),
        format: reader.format().name(),
        gzip: reader.is_gzip(),
        link_types: reader.link_types().into_iter().map(|l| l.name()).collect(),
        packets,
        bytes,
        first_ts,
        last_ts,
        warnings,
        events,
        stats: dissector.stats(),
    }
}
