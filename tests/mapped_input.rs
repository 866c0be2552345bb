//! Large plain captures are memory-mapped and their frames handed to the workers by offset
//! (`src/capture/reader.rs`, `src/pipeline/shard.rs`); small ones, and any with
//! `KERBSCOPE_NO_MMAP=1`, are read. Both paths and every `-j` must give the same bytes out.
//! The truth is the lab capture itself: a file made of N copies of it (plus filler datagrams
//! between hosts that carry nothing kerbscope decodes) holds N times its Kerberos messages.

use std::path::{Path, PathBuf};
use std::process::Command;

/// Above the mapping threshold (16 MiB).
const TARGET_LEN: usize = 18 << 20;
const FILLER_PAYLOAD: usize = 8000;

fn lab(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("captures/lab")
        .join(name)
}

fn u16be(v: usize) -> [u8; 2] {
    (v as u16).to_be_bytes()
}

/// Ethernet + IPv4 + UDP (discard port) between 10.77.a.b and 10.78.a.b: a flow per copy.
fn filler(copy: usize) -> Vec<u8> {
    let mut f = vec![0x02, 0, 0, 0, 0, 1, 0x02, 0, 0, 0, 0, 2, 0x08, 0x00];
    let ip_len = 20 + 8 + FILLER_PAYLOAD;
    let (a, b) = ((copy >> 8) as u8, copy as u8);
    let mut ip = vec![0x45, 0];
    ip.extend(u16be(ip_len));
    ip.extend([0, 0, 0x40, 0, 64, 17, 0, 0, 10, 77, a, b, 10, 78, a, b]);
    f.extend(ip);
    f.extend(u16be(40000 + copy % 1000));
    f.extend(u16be(9));
    f.extend(u16be(8 + FILLER_PAYLOAD));
    f.extend([0, 0]);
    f.extend(std::iter::repeat_n(0x5a, FILLER_PAYLOAD));
    f
}

fn record(ts: u32, frame: &[u8]) -> Vec<u8> {
    let mut r = Vec::with_capacity(16 + frame.len());
    r.extend(ts.to_le_bytes());
    r.extend(0u32.to_le_bytes());
    r.extend((frame.len() as u32).to_le_bytes());
    r.extend((frame.len() as u32).to_le_bytes());
    r.extend(frame);
    r
}

/// N copies of `src` (little-endian µs pcap) separated by fillers, until TARGET_LEN.
fn build(src: &Path, out: &Path) -> usize {
    let bytes = std::fs::read(src).unwrap();
    assert_eq!(&bytes[..4], &[0xd4, 0xc3, 0xb2, 0xa1], "expects LE µs pcap");
    let (header, records) = bytes.split_at(24);
    let mut file = header.to_vec();
    let mut copies = 0;
    while file.len() < TARGET_LEN {
        file.extend(records);
        for i in 0..8 {
            file.extend(record(1_700_000_000, &filler(copies * 8 + i)));
        }
        copies += 1;
    }
    std::fs::write(out, file).unwrap();
    copies
}

fn run(args: &[&str], no_mmap: bool) -> Vec<u8> {
    run_full(args, no_mmap).0
}

fn kerberos_events(ndjson: &[u8]) -> usize {
    String::from_utf8_lossy(ndjson)
        .lines()
        .filter(|l| l.contains("\"proto\":\"kerberos\"") || l.contains("\"proto\": \"kerberos\""))
        .count()
}

#[test]
fn mapped_and_read_input_agree_for_every_thread_count() {
    let dir = std::env::temp_dir().join(format!("kerbscope-mapped-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let big = dir.join("copies.pcap");
    let src = lab("delegation_ok.pcap");
    let copies = build(&src, &big);
    let big_s = big.to_str().unwrap();

    let once = kerberos_events(&run(&["events", src.to_str().unwrap()], false));
    assert!(once > 0);
    println!(
        "{copies} copies of {} ({once} Kerberos messages each)",
        src.display()
    );
    let read = run(&["events", "-j", "1", big_s], true);
    assert_eq!(kerberos_events(&read), once * copies, "{copies} copies");
    for j in ["1", "2", "3"] {
        let mapped = run(&["events", "-j", j, big_s], false);
        assert!(mapped == read, "events -j {j}: mapped differs from read");
    }
    let report_read = run(&["analyze", "--format", "json", "-j", "1", big_s], true);
    for j in ["1", "2"] {
        let mapped = run(&["analyze", "--format", "json", "-j", j, big_s], false);
        assert!(
            mapped == report_read,
            "analyze -j {j}: mapped differs from read"
        );
    }
    let _ = std::fs::remove_dir_all(&dir);
}

/// A filler whose payload is a chain of fake pcap records (plausible timestamps and lengths),
/// so a boundary guessed inside it (`src/pipeline/segmented.rs`) chains through eight
/// "records" and is wrong: the walk must notice and walk that segment again.
fn decoy_filler(copy: usize) -> Vec<u8> {
    let mut f = filler(copy);
    let payload_at = 14 + 20 + 8;
    let mut decoy = Vec::new();
    while decoy.len() + 116 <= FILLER_PAYLOAD {
        decoy.extend(1_700_000_000u32.to_le_bytes());
        decoy.extend(5u32.to_le_bytes());
        decoy.extend(100u32.to_le_bytes());
        decoy.extend(100u32.to_le_bytes());
        decoy.extend(std::iter::repeat_n(0x11, 100));
    }
    f[payload_at..payload_at + decoy.len()].copy_from_slice(&decoy);
    f
}

/// Records of `src` and decoy fillers until `len`; optionally a record in the middle whose
/// captured length is corrupt, and the last record cut short.
fn build_hostile(src: &Path, out: &Path, len: usize, corrupt_middle: bool) {
    let bytes = std::fs::read(src).unwrap();
    let (header, records) = bytes.split_at(24);
    let mut file = header.to_vec();
    let mut copy = 0;
    let mut corrupted = !corrupt_middle;
    while file.len() < len {
        file.extend(records);
        for _ in 0..8 {
            file.extend(record(1_700_000_000, &decoy_filler(copy)));
            copy += 1;
        }
        if !corrupted && file.len() > len / 2 {
            // incl_len far above the snap length and 256 KiB: a malformed record.
            let mut bad = record(1_700_000_000, &decoy_filler(copy));
            bad[8..12].copy_from_slice(&0x7fff_0000u32.to_le_bytes());
            file.extend(bad);
            corrupted = true;
        }
    }
    file.truncate(file.len() - 3);
    std::fs::write(out, file).unwrap();
}

/// stdout and stderr of kerbscope with `args`, mapped or (`no_mmap`) read.
fn run_full(args: &[&str], no_mmap: bool) -> (Vec<u8>, String) {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_kerbscope"));
    cmd.args(args);
    if no_mmap {
        cmd.env("KERBSCOPE_NO_MMAP", "1");
    } else {
        cmd.env_remove("KERBSCOPE_NO_MMAP");
    }
    let out = cmd.output().unwrap();
    assert!(out.status.code().is_some_and(|c| c <= 1), "{out:?}");
    (
        out.stdout,
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

/// The serial reader (read path, one thread) is the truth: the parallel segmented walk of the
/// mapped file must give the same events, the same frame numbers and the same warnings, also
/// when boundary guesses land on decoys, a record in the middle is corrupt and the file is cut.
#[test]
fn segmented_walk_matches_the_serial_reader_on_hostile_layouts() {
    let dir = std::env::temp_dir().join(format!("kerbscope-hostile-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let src = lab("delegation_ok.pcap");
    for (name, corrupt) in [("decoys.pcap", false), ("corrupt.pcap", true)] {
        let path = dir.join(name);
        build_hostile(&src, &path, 41 << 20, corrupt);
        let p = path.to_str().unwrap();
        let (truth, truth_err) = run_full(&["events", "-j", "1", p], true);
        assert!(kerberos_events(&truth) > 0);
        assert!(truth_err.contains("warning"), "{name}: {truth_err}");
        for j in ["2", "3", "4"] {
            let (mapped, mapped_err) = run_full(&["events", "-j", j, p], false);
            assert!(
                mapped == truth,
                "{name} events -j {j}: differs from the serial reader"
            );
            assert_eq!(mapped_err, truth_err, "{name} -j {j}: warnings differ");
        }
        let (report_truth, _) = run_full(&["analyze", "--format", "json", "-j", "1", p], true);
        let (report, _) = run_full(&["analyze", "--format", "json", "-j", "2", p], false);
        assert!(report == report_truth, "{name} analyze -j 2 differs");
    }
    let _ = std::fs::remove_dir_all(&dir);
}
