//! Fault sweeps over every committed capture (`captures/lab/` and `../shared/captures/public/`):
//! truncation at many offsets (file header, record headers, inside records), bit flips, record
//! duplication / loss / reordering, and length fields forced to 0 or their maximum, both in the
//! capture framing and inside packets (IP, UDP, TCP, Kerberos record marks, DER, DNS, HTTP).
//!
//! Every run must finish without a panic. The truth each sweep checks against is the unmutated
//! run of the same capture:
//! * a capture cut inside a record reports a warning; one cut at a record boundary does not;
//! * a cut capture still yields every event of the full run at or before the last whole frame
//!   (what a finding cites as evidence lies in those frames);
//! * damage inside packet bytes never becomes a capture warning and never loses a frame;
//! * a retransmitted (duplicated) record loses no message; reordering UDP datagrams loses none.
//!
//! Mutations are deterministic (fixed seeds), and offsets are sampled so the whole sweep runs in
//! seconds under `cargo test --release`.

use std::collections::HashMap;
use std::panic::{AssertUnwindSafe, catch_unwind};
use std::path::{Path, PathBuf};

use kerbscope::capture::{CaptureReader, LinkType, Timestamp};
use kerbscope::pipeline::{CaptureRun, dissect_reader};

// ---------------------------------------------------------------- captures and helpers

fn committed_captures() -> Vec<PathBuf> {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let mut files = Vec::new();
    for dir in [
        root.join("captures/lab"),
        root.join("../shared/captures/public"),
    ] {
        let Ok(entries) = std::fs::read_dir(&dir) else {
            println!("note: {} not found, skipped", dir.display());
            continue;
        };
        for e in entries.flatten() {
            let p = e.path();
            let name = p.file_name().and_then(|n| n.to_str()).unwrap_or_default();
            if [".pcap", ".pcapng", ".cap", ".pcap.gz"]
                .iter()
                .any(|x| name.ends_with(x))
            {
                files.push(p);
            }
        }
    }
    files.sort();
    assert!(files.len() >= 20, "committed captures not found");
    files
}

fn name(p: &Path) -> String {
    p.file_name().unwrap().to_string_lossy().into_owned()
}

/// Runs the whole pipeline on in-memory bytes; `Err` carries the panic message.
fn run(bytes: Vec<u8>) -> Result<Option<CaptureRun>, String> {
    catch_unwind(AssertUnwindSafe(|| {
        CaptureReader::from_bytes(bytes)
            .ok()
            .map(|r| dissect_reader(r, Path::new("mutated"), 0))
    }))
    .map_err(|p| {
        p.downcast_ref::<String>()
            .cloned()
            .or_else(|| p.downcast_ref::<&str>().map(|s| s.to_string()))
            .unwrap_or_default()
    })
}

fn must_run(bytes: Vec<u8>, what: &str) -> Option<CaptureRun> {
    match run(bytes) {
        Ok(r) => r,
        Err(msg) => panic!("{what}: pipeline panicked: {msg}"),
    }
}

/// An event as the user sees it (frame and time included).
fn ev_json(e: &kerbscope::event::Event) -> String {
    serde_json::to_string(e).unwrap()
}

/// The same without frame number and time, for runs whose frame numbering shifted.
fn ev_content(e: &kerbscope::event::Event) -> String {
    let mut v = serde_json::to_value(e).unwrap();
    if let Some(o) = v.as_object_mut() {
        o.remove("frame");
        o.remove("ts");
    }
    v.to_string()
}

fn multiset<'a>(items: impl Iterator<Item = String> + 'a) -> HashMap<String, usize> {
    let mut m = HashMap::new();
    for i in items {
        *m.entry(i).or_insert(0) += 1;
    }
    m
}

/// `big` holds every item of `small` at least as often.
fn missing_from(small: &HashMap<String, usize>, big: &HashMap<String, usize>) -> Option<String> {
    small
        .iter()
        .find(|(k, n)| big.get(*k).copied().unwrap_or(0) < **n)
        .map(|(k, _)| k.clone())
}

/// splitmix64: deterministic mutations without a dependency.
struct Rng(u64);
impl Rng {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }
    fn below(&mut self, n: usize) -> usize {
        (self.next() % n.max(1) as u64) as usize
    }
}

// ---------------------------------------------------------------- re-serialisation as pcapng

/// One packet record, independent of the file format it came from.
#[derive(Clone)]
struct Record {
    ts: Timestamp,
    link: LinkType,
    data: Vec<u8>,
    orig_len: u32,
}

fn records_of(bytes: &[u8]) -> Vec<Record> {
    let mut r = CaptureReader::from_bytes(bytes.to_vec()).unwrap();
    let mut out = Vec::new();
    while let Ok(Some(f)) = r.next_frame() {
        out.push(Record {
            ts: f.ts,
            link: f.link_type,
            data: f.data.to_vec(),
            orig_len: f.orig_len,
        });
    }
    out
}

/// A pcapng file (one IDB per link type, nanosecond timestamps) and the byte span of each EPB.
/// NetMon event records have no pcapng link type and are left out.
fn to_pcapng(records: &[Record]) -> (Vec<u8>, Vec<(usize, usize)>) {
    let mut out = Vec::new();
    let block = |out: &mut Vec<u8>, kind: u32, body: &[u8]| {
        let total = (12 + body.len()) as u32;
        out.extend_from_slice(&kind.to_le_bytes());
        out.extend_from_slice(&total.to_le_bytes());
        out.extend_from_slice(body);
        out.extend_from_slice(&total.to_le_bytes());
    };
    // Section header: byte-order magic, version 1.0, section length unknown.
    let mut shb = Vec::new();
    shb.extend_from_slice(&0x1A2B_3C4Du32.to_le_bytes());
    shb.extend_from_slice(&[1, 0, 0, 0]);
    shb.extend_from_slice(&u64::MAX.to_le_bytes());
    block(&mut out, 0x0A0D_0D0A, &shb);
    let mut links: Vec<LinkType> = Vec::new();
    for r in records {
        if r.link.0 <= 0xFFFF && !links.contains(&r.link) {
            links.push(r.link);
            let mut idb = Vec::new();
            idb.extend_from_slice(&(r.link.0 as u16).to_le_bytes());
            idb.extend_from_slice(&[0, 0]);
            idb.extend_from_slice(&0u32.to_le_bytes()); // snaplen: none
            // if_tsresol = 9 (nanoseconds), end of options.
            idb.extend_from_slice(&[9, 0, 1, 0, 9, 0, 0, 0, 0, 0, 0, 0]);
            block(&mut out, 1, &idb);
        }
    }
    let mut spans = Vec::new();
    for r in records {
        let Some(ifid) = links.iter().position(|l| *l == r.link) else {
            continue;
        };
        let ns = (r.ts.secs.max(0) as u64) * 1_000_000_000 + u64::from(r.ts.nanos);
        let mut epb = Vec::new();
        epb.extend_from_slice(&(ifid as u32).to_le_bytes());
        epb.extend_from_slice(&((ns >> 32) as u32).to_le_bytes());
        epb.extend_from_slice(&(ns as u32).to_le_bytes());
        epb.extend_from_slice(&(r.data.len() as u32).to_le_bytes());
        epb.extend_from_slice(&r.orig_len.max(r.data.len() as u32).to_le_bytes());
        epb.extend_from_slice(&r.data);
        epb.resize(epb.len().div_ceil(4) * 4, 0);
        let start = out.len();
        block(&mut out, 6, &epb);
        spans.push((start, out.len()));
    }
    (out, spans)
}

/// Offset of the EPB's captured-length field from the block start.
const EPB_CAPLEN_AT: usize = 20;
/// Offset of packet data from the block start.
const EPB_DATA_AT: usize = 28;

/// A capture prepared for sweeping: its pcapng form, record spans and unmutated run.
struct Base {
    name: String,
    records: Vec<Record>,
    bytes: Vec<u8>,
    spans: Vec<(usize, usize)>,
    full: CaptureRun,
}

fn bases() -> Vec<Base> {
    committed_captures()
        .iter()
        .map(|p| {
            let original = std::fs::read(p).unwrap();
            let records: Vec<Record> = records_of(&original)
                .into_iter()
                .filter(|r| r.link.0 <= 0xFFFF)
                .collect();
            let (bytes, spans) = to_pcapng(&records);
            let full = must_run(bytes.clone(), &name(p)).expect("re-serialised capture opens");
            assert!(full.warnings.is_empty(), "{}: {:?}", name(p), full.warnings);
            assert_eq!(full.packets as usize, records.len(), "{}", name(p));
            Base {
                name: name(p),
                records,
                bytes,
                spans,
                full,
            }
        })
        .collect()
}

/// Frames of the full run that completed a message, a few per capture.
fn event_frames(b: &Base, max: usize) -> Vec<usize> {
    let mut frames: Vec<usize> = b.full.events.iter().map(|e| e.frame as usize).collect();
    frames.dedup();
    let step = frames.len().div_ceil(max).max(1);
    frames.into_iter().step_by(step).take(max).collect()
}

// ---------------------------------------------------------------- the sweeps

/// Cuts of the original files (any format, gzip included) at sampled offsets: never a panic, and
/// every event the full reading put at or before the last whole frame is still there.
#[test]
fn original_files_cut_anywhere_keep_the_events_before_the_cut() {
    let mut runs = 0;
    for path in committed_captures() {
        let bytes = std::fs::read(&path).unwrap();
        let full = must_run(bytes.clone(), &name(&path)).unwrap();
        let mut rng = Rng(0xC0FFEE ^ bytes.len() as u64);
        let mut cuts: Vec<usize> = (0..64.min(bytes.len())).collect();
        cuts.extend((0..40).map(|_| rng.below(bytes.len())));
        for cut in cuts {
            let what = format!("{} cut at {cut}", name(&path));
            runs += 1;
            let Some(cut_run) = must_run(bytes[..cut].to_vec(), &what) else {
                continue; // too short to recognise: an open error, not a panic
            };
            assert!(cut_run.packets <= full.packets, "{what}");
            if cut_run.packets < full.packets && !path.to_string_lossy().ends_with(".gz") {
                // The cut fell before the last record ends: the file must say it is short.
                // (A cut exactly at a record boundary reads as a shorter, whole file; it can
                // only happen at a record boundary, which the pcapng sweep below checks.)
                let at_boundary = cut_run.warnings.is_empty();
                if at_boundary {
                    let again = must_run(bytes[..cut + 1].to_vec(), &what).unwrap();
                    assert!(
                        !again.warnings.is_empty() || again.packets > cut_run.packets,
                        "{what}: no warning one byte further either"
                    );
                }
            }
            assert_kept_prefix(&full, &cut_run, &what);
        }
    }
    println!("{runs} cut runs over the original files");
}

fn assert_kept_prefix(full: &CaptureRun, cut: &CaptureRun, what: &str) {
    let before = multiset(
        full.events
            .iter()
            .filter(|e| e.frame <= cut.packets)
            .map(ev_json),
    );
    let got = multiset(cut.events.iter().map(ev_json));
    if let Some(lost) = missing_from(&before, &got) {
        panic!("{what}: lost event {lost}");
    }
}

/// Cuts of the pcapng form at record boundaries, inside record headers and inside packet data.
#[test]
fn truncation_warns_inside_records_only_and_keeps_earlier_events() {
    let mut runs = 0;
    for b in bases() {
        let n = b.spans.len();
        let mut ks: Vec<usize> = event_frames(&b, 12).iter().map(|f| f - 1).collect();
        ks.extend([0, n / 3, n / 2, n.saturating_sub(1)]);
        ks.retain(|k| *k < n);
        for k in ks {
            let (start, end) = b.spans[k];
            for (cut, inside) in [
                (start, false),
                (start + 5, true),
                (start + EPB_DATA_AT + 2, true),
                (end - 3, true),
                (end, false),
            ] {
                let what = format!("{}: record {} cut at {cut}", b.name, k + 1);
                runs += 1;
                let r = must_run(b.bytes[..cut].to_vec(), &what).unwrap();
                let whole = if cut == end { k + 1 } else { k };
                assert_eq!(r.packets as usize, whole, "{what}");
                assert_eq!(!r.warnings.is_empty(), inside, "{what}: {:?}", r.warnings);
                assert_kept_prefix(&b.full, &r, &what);
            }
        }
    }
    println!("{runs} pcapng cut runs");
}

/// Capture framing lengths set to 0 and to their maximum: a warning, no panic, and the events
/// of the records before the damaged one survive.
#[test]
fn record_lengths_zero_or_max_warn_and_keep_earlier_events() {
    let mut runs = 0;
    for b in bases() {
        for f in event_frames(&b, 4) {
            let (start, _) = b.spans[f - 1];
            for (at, value) in [
                (start + 4, 0u32),                 // block total length 0
                (start + 4, u32::MAX),             // block total length max
                (start + EPB_CAPLEN_AT, u32::MAX), // captured length max
                (start + EPB_CAPLEN_AT, 0x7FFF_FFF0),
            ] {
                let mut m = b.bytes.clone();
                m[at..at + 4].copy_from_slice(&value.to_le_bytes());
                let what = format!("{}: record {f} length at {at} = {value:#x}", b.name);
                runs += 1;
                let r = must_run(m, &what).unwrap();
                assert!(!r.warnings.is_empty(), "{what}: no warning");
                assert!(r.packets < f as u64, "{what}: damaged record was read");
                assert_kept_prefix(&b.full, &r, &what);
            }
            // Captured length 0 is a legal empty packet: read, no warning, frame count kept.
            let mut m = b.bytes.clone();
            let at = start + EPB_CAPLEN_AT;
            m[at..at + 4].copy_from_slice(&0u32.to_le_bytes());
            let what = format!("{}: record {f} captured length 0", b.name);
            runs += 1;
            let r = must_run(m, &what).unwrap();
            assert_eq!(r.packets, b.full.packets, "{what}");
            assert!(r.warnings.is_empty(), "{what}: {:?}", r.warnings);
        }
    }
    println!("{runs} length runs");
}

/// Length-like fields inside packets forced to 0 / max at sampled offsets of the frames that
/// carry messages, plus DER long-form and indefinite lengths: no panic, no capture warning, no
/// frame lost, and the messages of the other frames carried by UDP survive unchanged.
#[test]
fn packet_fields_zero_or_max_never_panic_nor_lose_frames() {
    let patterns: [&[u8]; 5] = [
        &[0, 0],
        &[0xFF, 0xFF],
        &[0xFF, 0xFF, 0xFF, 0xFF],
        &[0x84, 0xFF, 0xFF, 0xFF, 0xFF], // DER: 4-byte length, 4 GiB
        &[0x80],                         // DER: indefinite length (not DER)
    ];
    let mut runs = 0;
    for b in bases() {
        let per_capture = if b.bytes.len() > 100_000 { 1 } else { 3 };
        let mut rng = Rng(0x5EED ^ b.bytes.len() as u64);
        for f in event_frames(&b, per_capture) {
            let rec = &b.records[f - 1];
            let data_at = b.spans[f - 1].0 + EPB_DATA_AT;
            let len = rec.data.len();
            // Headers live in the first bytes; the rest of the frame is sampled.
            let mut offsets: Vec<usize> = (0..len.min(96)).step_by(2).collect();
            offsets.extend((0..24).map(|_| rng.below(len)));
            for off in offsets {
                for p in patterns {
                    let mut m = b.bytes.clone();
                    let end = (data_at + off + p.len()).min(data_at + len);
                    m[data_at + off..end].copy_from_slice(&p[..end - data_at - off]);
                    let what = format!("{}: frame {f} +{off} = {p:02x?}", b.name);
                    runs += 1;
                    let r = must_run(m, &what).unwrap();
                    assert_eq!(r.packets, b.full.packets, "{what}");
                    assert!(r.warnings.is_empty(), "{what}: {:?}", r.warnings);
                }
            }
        }
    }
    println!("{runs} in-packet length runs");
}

/// Random bit flips anywhere in the file (framing included): never a panic.
#[test]
fn bit_flips_never_panic() {
    let mut runs = 0;
    for path in committed_captures() {
        let bytes = std::fs::read(&path).unwrap();
        let mut rng = Rng(0xB17F ^ bytes.len() as u64);
        let tries = if bytes.len() > 100_000 { 4 } else { 24 };
        for t in 0..tries {
            let mut m = bytes.clone();
            let flips = 1 + t % 8;
            for _ in 0..flips {
                let i = rng.below(m.len());
                m[i] ^= 1 << rng.below(8);
            }
            runs += 1;
            must_run(m, &format!("{} flip set {t}", name(&path)));
        }
    }
    println!("{runs} bit-flip runs");
}

/// Bit flips confined to packet data: the framing is intact, so no frame is lost and the
/// capture reports no warning whatever the packets contain.
#[test]
fn bit_flips_in_packets_keep_every_frame() {
    let mut runs = 0;
    for b in bases().into_iter().filter(|b| !b.spans.is_empty()) {
        let mut rng = Rng(0xF11B ^ b.bytes.len() as u64);
        let tries = if b.bytes.len() > 100_000 { 3 } else { 20 };
        for t in 0..tries {
            let mut m = b.bytes.clone();
            for _ in 0..(1 + t % 16) {
                let k = rng.below(b.spans.len());
                let len = b.records[k].data.len();
                if len == 0 {
                    continue;
                }
                let i = b.spans[k].0 + EPB_DATA_AT + rng.below(len);
                m[i] ^= 1 << rng.below(8);
            }
            let what = format!("{}: packet flip set {t}", b.name);
            runs += 1;
            let r = must_run(m, &what).unwrap();
            assert_eq!(r.packets, b.full.packets, "{what}");
            assert!(r.warnings.is_empty(), "{what}: {:?}", r.warnings);
        }
    }
    println!("{runs} in-packet bit-flip runs");
}

/// Every record repeated right after itself (a capture taken on two taps, or retransmissions):
/// no message of the original is lost.
#[test]
fn duplicated_records_lose_no_message() {
    for b in bases() {
        let doubled: Vec<Record> = b
            .records
            .iter()
            .flat_map(|r| [r.clone(), r.clone()])
            .collect();
        let (bytes, _) = to_pcapng(&doubled);
        let what = format!("{}: every record doubled", b.name);
        let r = must_run(bytes, &what).unwrap();
        assert_eq!(r.packets, 2 * b.full.packets, "{what}");
        let before = multiset(b.full.events.iter().map(ev_content));
        let after = multiset(r.events.iter().map(ev_content));
        if let Some(lost) = missing_from(&before, &after) {
            panic!("{what}: lost {lost}");
        }
    }
}

/// Records dropped (each in turn for small captures, sampled for large): no panic, and every
/// message carried by UDP in a record that was kept is still decoded.
#[test]
fn dropped_records_keep_other_udp_messages() {
    let mut runs = 0;
    for b in bases() {
        let mut rng = Rng(0xD509 ^ b.bytes.len() as u64);
        let n = b.records.len();
        let drops: Vec<usize> = if n <= 40 {
            (0..n).collect()
        } else {
            event_frames(&b, 6)
                .iter()
                .map(|f| f - 1)
                .chain((0..6).map(|_| rng.below(n)))
                .collect()
        };
        for d in drops {
            let kept: Vec<Record> = b
                .records
                .iter()
                .enumerate()
                .filter(|(i, _)| *i != d)
                .map(|(_, r)| r.clone())
                .collect();
            let what = format!("{}: record {} dropped", b.name, d + 1);
            runs += 1;
            let r = must_run(to_pcapng(&kept).0, &what).unwrap();
            assert_eq!(r.packets as usize, n - 1, "{what}");
            let udp_single = single_frame_udp_events(&b, |f| f != d + 1);
            let after = multiset(r.events.iter().map(ev_content));
            if let Some(lost) = missing_from(&udp_single, &after) {
                panic!("{what}: lost {lost}");
            }
        }
    }
    println!("{runs} drop runs");
}

/// UDP-borne events of the full run that one unfragmented frame carried by itself, restricted
/// to frames `keep` accepts. (A reassembled datagram's event sits at its last fragment.)
fn single_frame_udp_events(b: &Base, keep: impl Fn(usize) -> bool) -> HashMap<String, usize> {
    multiset(
        b.full
            .events
            .iter()
            .filter(|e| e.conn.is_none() && keep(e.frame as usize))
            .filter(|e| !is_fragment(&b.records[e.frame as usize - 1]))
            .map(ev_content),
    )
}

/// A frame whose IPv4 header has MF set or a fragment offset, or that carries an IPv6 fragment
/// header right after the fixed header: found by scanning for the IP header after the link layer.
fn is_fragment(r: &Record) -> bool {
    let d = &r.data;
    (0..d.len().min(64)).any(|i| {
        let v4 = d.get(i).is_some_and(|b| *b == 0x45)
            && d.get(i + 6..i + 8)
                .is_some_and(|f| (u16::from_be_bytes([f[0], f[1]]) & 0x3FFF) != 0);
        let v6 = d.get(i).is_some_and(|b| b >> 4 == 6) && d.get(i + 6) == Some(&44);
        v4 || v6
    })
}

/// Record order shuffled (timestamps travel with their record): no panic, and every message a
/// single UDP datagram carried is still decoded.
#[test]
fn shuffled_records_keep_udp_messages() {
    for b in bases() {
        for seed in 0..3u64 {
            let mut rng = Rng(seed ^ 0x5_4FF1E);
            let mut recs = b.records.clone();
            for i in (1..recs.len()).rev() {
                let j = rng.below(i + 1);
                recs.swap(i, j);
            }
            let what = format!("{}: shuffle {seed}", b.name);
            let r = must_run(to_pcapng(&recs).0, &what).unwrap();
            assert_eq!(r.packets, b.full.packets, "{what}");
            let udp_single = single_frame_udp_events(&b, |_| true);
            let after = multiset(r.events.iter().map(ev_content));
            if let Some(lost) = missing_from(&udp_single, &after) {
                panic!("{what}: lost {lost}");
            }
        }
    }
}

/// Findings as (kind, frames): what a cut capture must still prove.
fn findings_of(run: &CaptureRun) -> Vec<(String, Vec<u64>)> {
    kerbscope::analyze::findings_for("capture", &run.events)
        .iter()
        .map(|f| {
            let v = serde_json::to_value(f).unwrap();
            let frames = v["frames"]
                .as_array()
                .map(|a| a.iter().filter_map(|x| x.as_u64()).collect())
                .unwrap_or_default();
            (v["kind"].as_str().unwrap_or_default().to_string(), frames)
        })
        .collect()
}

/// A capture cut right after the last frame a finding cites, or inside the record after it,
/// still yields that finding with the same evidence frames.
#[test]
fn truncated_captures_keep_findings_whose_evidence_precedes_the_cut() {
    let mut checked = 0;
    for b in bases() {
        let full = findings_of(&b.full);
        for (kind, frames) in &full {
            let Some(&last) = frames.last() else {
                continue;
            };
            let (_, end) = b.spans[last as usize - 1];
            let mut cuts = vec![end];
            if let Some(&(next_start, _)) = b.spans.get(last as usize) {
                cuts.push(next_start + EPB_DATA_AT + 1);
            }
            for cut in cuts {
                let what = format!("{}: {kind} {frames:?}, cut at {cut}", b.name);
                let r = must_run(b.bytes[..cut].to_vec(), &what).unwrap();
                let got = findings_of(&r);
                assert!(
                    got.iter().any(|(k, f)| k == kind && f == frames),
                    "{what}: finding lost; cut run found {got:?}"
                );
                checked += 1;
            }
        }
    }
    assert!(checked >= 10, "too few findings to check: {checked}");
    println!("{checked} finding/cut pairs checked");
}
