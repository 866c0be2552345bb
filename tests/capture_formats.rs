//! Capture readers against the public captures and their TShark / capinfos ground truth
//! (`../shared/captures/public`, see SOURCES.md there): frame counts, every timestamp TShark
//! listed, first/last packet times, link types; the same files gzip-compressed; the same files cut
//! at many offsets; inputs that are not captures.
//!
//! Documented differences from TShark 4.0.17:
//! * pcapngtestgen__be_difficult_test202.pcapng: TShark numbers its 3 custom blocks as frames
//!   (1, 7, 10), so it shows 11 frames; capinfos and we count the 8 packet blocks (SPEC.md "Frame
//!   numbers"). Its 2 Simple Packet Blocks (TShark frames 5 and 8) have no timestamp: TShark
//!   prints an empty time, we give them the previous frame's time.
//! * NetMon files: records of media type 0xFFFC..0xFFFE are skipped as TShark does; our NetMon
//!   2.3 timestamps come from each record's UTC FILETIME, as TShark's.

use std::collections::HashMap;
use std::fs;
use std::io::Write;
use std::path::{Path, PathBuf};

use flate2::Compression;
use flate2::write::GzEncoder;
use kerbscope::capture::{CaptureError, CaptureFormat, CaptureReader, LinkType, OpenError};

fn public_dir() -> Option<PathBuf> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../shared/captures/public");
    if dir.is_dir() {
        Some(dir)
    } else {
        println!(
            "note: {} not found; public-capture tests skipped",
            dir.display()
        );
        None
    }
}

fn captures(dir: &Path) -> Vec<PathBuf> {
    let mut files: Vec<PathBuf> = fs::read_dir(dir)
        .expect("read public dir")
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| {
            let name = p.file_name().and_then(|n| n.to_str()).unwrap_or("");
            !(name.ends_with(".txt") || name.ends_with(".tsv") || name.ends_with(".md"))
        })
        .collect();
    files.sort();
    assert!(
        files.len() >= 40,
        "expected the public set, found {}",
        files.len()
    );
    files
}

/// One frame, owned, for comparisons between readings.
#[derive(Clone, Debug, PartialEq, Eq)]
struct Owned {
    number: u64,
    secs: i64,
    nanos: u32,
    digits: u8,
    link: LinkType,
    orig_len: u32,
    data: Vec<u8>,
}

/// All frames, then how reading ended (`None` = clean end).
fn read_all(mut r: CaptureReader) -> (Vec<Owned>, Option<CaptureError>) {
    read_all_borrowed(&mut r)
}

fn read_all_borrowed(r: &mut CaptureReader) -> (Vec<Owned>, Option<CaptureError>) {
    let mut out = Vec::new();
    loop {
        match r.next_frame() {
            Ok(Some(f)) => out.push(Owned {
                number: f.number,
                secs: f.ts.secs,
                nanos: f.ts.nanos,
                digits: f.ts.digits,
                link: f.link_type,
                orig_len: f.orig_len,
                data: f.data.to_vec(),
            }),
            Ok(None) => return (out, None),
            Err(e) => {
                // Finished after an error.
                assert!(matches!(r.next_frame(), Ok(None)));
                return (out, Some(e));
            }
        }
    }
}

fn file_name(p: &Path) -> String {
    p.file_name()
        .and_then(|n| n.to_str())
        .unwrap_or("?")
        .to_string()
}

fn sidecar(capture: &Path, suffix: &str) -> PathBuf {
    PathBuf::from(format!("{}{suffix}", capture.display()))
}

/// capinfos fields we check: packet count, first / last packet time.
fn capinfos(capture: &Path) -> (u64, Option<String>, Option<String>) {
    let text = fs::read_to_string(sidecar(capture, ".info.txt")).expect("info.txt");
    let field = |name: &str| {
        text.lines()
            .find_map(|l| l.strip_prefix(name))
            .map(|v| v.trim().to_string())
    };
    let packets = field("Number of packets:")
        .and_then(|v| v.parse().ok())
        .expect("Number of packets");
    (
        packets,
        field("First packet time:"),
        field("Last packet time:"),
    )
}

/// frame.number → frame.time_epoch from both TSV files (rows with an empty time skipped).
fn tshark_times(capture: &Path) -> HashMap<u64, String> {
    let mut times = HashMap::new();
    for suffix in [".tshark.tsv", ".spnego-ntlm.tshark.tsv"] {
        let Ok(text) = fs::read_to_string(sidecar(capture, suffix)) else {
            continue;
        };
        for line in text.lines().skip(1) {
            let mut cols = line.split('\t');
            let (Some(n), Some(t)) = (cols.next(), cols.next()) else {
                continue;
            };
            if let Ok(n) = n.parse::<u64>()
                && !t.is_empty()
            {
                times.insert(n, t.to_string());
            }
        }
    }
    times
}

/// capinfos prints "YYYY-MM-DD HH:MM:SS.fff…" in UTC with the file's precision.
fn capinfos_form(f: &Owned, digits: usize) -> String {
    let ts = kerbscope::capture::Timestamp {
        secs: f.secs,
        nanos: f.nanos,
        digits: digits as u8,
    };
    ts.to_rfc3339()
        .replace('T', " ")
        .trim_end_matches('Z')
        .to_string()
}

#[test]
fn every_public_capture_matches_tshark_and_capinfos() {
    let Some(dir) = public_dir() else { return };
    let (mut files_checked, mut times_checked) = (0, 0);
    for path in captures(&dir) {
        let name = file_name(&path);
        let reader = CaptureReader::open(&path).unwrap_or_else(|e| panic!("{name}: {e}"));
        assert!(!reader.is_gzip());
        let format = reader.format();
        let mut reader = reader;
        let (frames, end) = read_all_borrowed(&mut reader);
        assert!(end.is_none(), "{name}: {end:?}");
        for w in reader.warnings() {
            println!("{name}: warning: {w}");
        }
        let (packets, first, last) = capinfos(&path);
        assert_eq!(
            frames.len() as u64,
            packets,
            "{name}: frame count vs capinfos"
        );
        for (i, f) in frames.iter().enumerate() {
            assert_eq!(f.number, i as u64 + 1, "{name}");
            assert!(f.data.len() <= 262_144 && f.nanos < 1_000_000_000, "{name}");
        }
        // Every timestamp TShark printed, digit for digit.
        let times = tshark_times(&path);
        for (number, epoch) in &times {
            let f = frames
                .get(*number as usize - 1)
                .unwrap_or_else(|| panic!("{name}: no frame {number}"));
            assert_eq!(
                &format!("{}.{:09}", f.secs, f.nanos),
                epoch,
                "{name} frame {number}"
            );
            let ours = kerbscope::capture::Timestamp {
                secs: f.secs,
                nanos: f.nanos,
                digits: f.digits,
            }
            .to_epoch_string();
            assert!(
                epoch.starts_with(&ours),
                "{name} frame {number}: {ours} vs {epoch}"
            );
            assert!(
                epoch[ours.len()..].bytes().all(|b| b == b'0'),
                "{name}: {ours} {epoch}"
            );
        }
        // First / last packet time (capinfos: earliest and latest), at capinfos' precision.
        for (label, want, pick) in [("first", &first, true), ("last", &last, false)] {
            let Some(want) = want else { continue };
            let digits = want.rsplit('.').next().map_or(0, str::len);
            let got = frames
                .iter()
                .map(|f| capinfos_form(f, digits))
                .reduce(|a, b| if (b < a) == pick { b } else { a })
                .unwrap_or_default();
            assert_eq!(&got, want, "{name}: {label} packet time");
        }
        println!(
            "{name}: {} {} frames = capinfos {packets}; {} tshark timestamps agree",
            format.name(),
            frames.len(),
            times.len()
        );
        files_checked += 1;
        times_checked += times.len();
    }
    println!("{files_checked} captures, {times_checked} tshark timestamps compared");
    assert!(times_checked > 300);
}

#[test]
fn formats_are_detected_from_magic_bytes() {
    let Some(dir) = public_dir() else { return };
    let expect = [
        ("sv__kerberoast.pcap", CaptureFormat::Pcap),
        (
            "pcapplusplus__nanosecs_big_endian.pcap",
            CaptureFormat::PcapNs,
        ),
        ("tcpdump__tcp-handshake-nano.pcap", CaptureFormat::PcapNs),
        (
            "pcapparser__modified-format.pcap",
            CaptureFormat::PcapModified,
        ),
        ("zeek__pcapng-multi-interface.pcapng", CaptureFormat::Pcapng),
        ("ntlmrawunhide__capture.cap", CaptureFormat::NetMon2),
        // Named .cap but big-endian libpcap.
        (
            "zeek__smb__dssetup_DsRoleGetPrimaryDomainInformation_standalone_workstation.cap",
            CaptureFormat::Pcap,
        ),
    ];
    for (name, format) in expect {
        let r = CaptureReader::open(&dir.join(name)).unwrap();
        assert_eq!(r.format(), format, "{name}");
        assert_eq!(
            r.file_len(),
            fs::metadata(dir.join(name)).ok().map(|m| m.len())
        );
    }
}

#[test]
fn link_types_match_sources_md() {
    let Some(dir) = public_dir() else { return };
    let ids = |name: &str| -> Vec<u32> {
        let mut r = CaptureReader::open(&dir.join(name)).unwrap();
        while let Ok(Some(_)) = r.next_frame() {}
        r.link_types().into_iter().map(|l| l.0).collect()
    };
    assert_eq!(ids("zeek__linux_dlt_sll2.pcap"), [276]);
    assert_eq!(ids("pcapplusplus__raw_ip.pcap"), [101]);
    assert_eq!(ids("sv__dns-additionals-with-cname.pcap"), [228]);
    assert_eq!(ids("pcapplusplus__linktype_ipv6.pcap"), [229]);
    assert_eq!(ids("pcapplusplus__null_loopback.pcap"), [0]);
    assert_eq!(ids("pcapplusplus__sll.pcap"), [113]);
    // 11 IDBs: 8 Ethernet, 2 NULL, 1 raw IP.
    assert_eq!(ids("pcapplusplus__many_interfaces-1.pcapng"), [0, 1, 101]);
    // 126 IDBs: Ethernet, Linux SLL, IEEE 802.3br mPacket (274).
    assert_eq!(ids("zeek__ldap__modify-request.pcapng"), [1, 113, 274]);
    assert_eq!(ids("pcapngtestgen__be_difficult_test202.pcapng"), [0, 1]);
    assert_eq!(
        ids("ntlmrawunhide__capture.cap"),
        [LinkType::ETHERNET.0, LinkType::NETMON_EVENT.0]
    );
    assert_eq!(ids("ntlmrawunhide__PktMon.cap"), [LinkType::NETMON_EVENT.0]);
    // A pcap header declares its link type before any frame is read.
    let r = CaptureReader::open(&dir.join("zeek__linux_dlt_sll2.pcap")).unwrap();
    assert_eq!(r.link_types(), [LinkType::LINUX_SLL2]);
}

/// tshark: `-Y eth` on ntlmrawunhide__capture.cap lists frames 22 and 24..=66 (44 frames, the
/// NDIS packet-fragment events); frames 18 and 20 are other NDIS events (1016, 1011), 1..=3
/// system trace, the rest other ETW events.
#[test]
fn netmon_ndis_events_yield_inner_ethernet_frames() {
    let Some(dir) = public_dir() else { return };
    let (frames, end) =
        read_all(CaptureReader::open(&dir.join("ntlmrawunhide__capture.cap")).unwrap());
    assert!(end.is_none());
    let eth: Vec<u64> = frames
        .iter()
        .filter(|f| f.link == LinkType::ETHERNET)
        .map(|f| f.number)
        .collect();
    let mut want = vec![22];
    want.extend(24..=66);
    assert_eq!(eth, want);
    // Frame 22: 64-byte Ethernet frame, eth.src b0:c7:45:75:de:b4, IPv4.
    let f22 = &frames[21];
    assert_eq!((f22.data.len(), f22.orig_len), (64, 64));
    assert_eq!(&f22.data[6..12], &[0xb0, 0xc7, 0x45, 0x75, 0xde, 0xb4]);
    assert_eq!(&f22.data[12..14], &[0x08, 0x00]);
    // Frame 38 carries the NTLMSSP AUTHENTICATE (spnego-ntlm TSV): the token is in the bytes.
    let f38 = &frames[37];
    assert!(f38.data.windows(8).any(|w| w == b"NTLMSSP\0"));
    // Non-packet records keep their raw event bytes (frame 1: 441-byte system trace event).
    assert_eq!(
        (frames[0].link, frames[0].data.len()),
        (LinkType::NETMON_EVENT, 441)
    );
    // Same session in three containers: the SMB2 NTLMSSP frames' payloads agree with the pcap.
    let (pcap, _) =
        read_all(CaptureReader::open(&dir.join("ntlmrawunhide__capture.pcap")).unwrap());
    let has_ntlm = |f: &Owned| f.data.windows(8).any(|w| w == b"NTLMSSP\0");
    assert_eq!(
        frames.iter().filter(|f| has_ntlm(f)).count(),
        pcap.iter().filter(|f| has_ntlm(f)).count()
    );
}

/// pcapngtestgen test202: TShark frames 5 and 8 are SPBs (no timestamp) = our frames 3 and 6
/// (TShark's count includes custom blocks 1, 7 and 10).
#[test]
fn test202_sections_spbs_and_custom_blocks() {
    let Some(dir) = public_dir() else { return };
    let path = dir.join("pcapngtestgen__be_difficult_test202.pcapng");
    let r = CaptureReader::open(&path).unwrap();
    let (frames, end) = read_all(r);
    assert!(end.is_none());
    // (caplen, orig_len, link) from tshark frames 2,3,4,5,6,8,9,11.
    let shape: Vec<(usize, u32, u32)> = frames
        .iter()
        .map(|f| (f.data.len(), f.orig_len, f.link.0))
        .collect();
    assert_eq!(
        shape,
        [
            (96, 314, 1),
            (96, 342, 1),
            (168, 168, 0),
            (128, 314, 1),
            (128, 342, 1),
            (128, 314, 1),
            (128, 342, 1),
            (168, 168, 0)
        ]
    );
    let epoch = |f: &Owned| format!("{}.{:09}", f.secs, f.nanos);
    assert_eq!(epoch(&frames[0]), "1340954905.298858000");
    assert_eq!(epoch(&frames[2]), "1340954905.301858000");
    // SPB: previous frame's time.
    assert_eq!(epoch(&frames[3]), epoch(&frames[2]));
    assert_eq!(epoch(&frames[7]), "1340954905.301858000");
    let mut r = CaptureReader::open(&path).unwrap();
    while let Ok(Some(_)) = r.next_frame() {}
    assert!(
        r.warnings()
            .iter()
            .any(|w| w.contains("2 simple packet blocks"))
    );
}

fn temp_dir() -> PathBuf {
    let dir = std::env::temp_dir().join(format!("kerbscope-capture-test-{}", std::process::id()));
    fs::create_dir_all(&dir).unwrap();
    dir
}

fn gzip(bytes: &[u8]) -> Vec<u8> {
    let mut enc = GzEncoder::new(Vec::new(), Compression::fast());
    enc.write_all(bytes).unwrap();
    enc.finish().unwrap()
}

#[test]
fn gzip_compressed_captures_yield_identical_frames() {
    let Some(dir) = public_dir() else { return };
    let tmp = temp_dir().join("gz");
    fs::create_dir_all(&tmp).unwrap();
    for path in captures(&dir) {
        let name = file_name(&path);
        let bytes = fs::read(&path).unwrap();
        let plain = CaptureReader::open(&path).unwrap();
        let format = plain.format();
        let (want, _) = read_all(plain);
        let gz_path = tmp.join(format!("{name}.gz"));
        let gz = gzip(&bytes);
        fs::write(&gz_path, &gz).unwrap();
        let mut r = CaptureReader::open(&gz_path).unwrap();
        assert!(r.is_gzip(), "{name}");
        assert_eq!(r.format(), format, "{name}");
        assert_eq!(r.file_len(), Some(gz.len() as u64));
        let mut got = Vec::new();
        while let Some(f) = r.next_frame().unwrap() {
            got.push((f.number, f.ts, f.link_type, f.orig_len, f.data.to_vec()));
        }
        assert_eq!(
            r.bytes_consumed(),
            gz.len() as u64,
            "{name}: whole gzip file read"
        );
        let want: Vec<_> = want
            .iter()
            .map(|f| {
                (
                    f.number,
                    f.secs,
                    f.nanos,
                    f.link,
                    f.orig_len,
                    f.data.clone(),
                )
            })
            .collect();
        let got: Vec<_> = got
            .into_iter()
            .map(|(n, ts, l, o, d)| (n, ts.secs, ts.nanos, l, o, d))
            .collect();
        assert_eq!(got, want, "{name}");
        // Two concatenated gzip members (as `cat a.gz b.gz` makes) are one stream.
        let half = bytes.len() / 2;
        let mut two = gzip(&bytes[..half]);
        two.extend(gzip(&bytes[half..]));
        let (got2, end) = read_all(CaptureReader::from_bytes(two).unwrap());
        assert!(end.is_none(), "{name}: {end:?}");
        assert_eq!(got2.len(), want.len(), "{name}: multi-member gzip");
        println!(
            "{name}: gzip ({} → {} bytes) gives the same {} frames",
            bytes.len(),
            gz.len(),
            want.len()
        );
    }
    let _ = fs::remove_dir_all(temp_dir());
}

/// Where each frame's record starts and ends in the file, for choosing cut points.
fn record_spans(bytes: &[u8], frames: usize) -> Vec<(usize, usize)> {
    let mut r = CaptureReader::from_bytes(bytes.to_vec()).unwrap();
    if r.format() == CaptureFormat::NetMon2 {
        // Frame table (little-endian offsets); records are in file order in our files.
        let le32 = |at: usize| u32::from_le_bytes(bytes[at..at + 4].try_into().unwrap()) as usize;
        let (table, len) = (le32(24), le32(28));
        let starts: Vec<usize> = (0..len / 4).map(|i| le32(table + 4 * i)).collect();
        let mut ends: Vec<usize> = starts.iter().skip(1).copied().collect();
        ends.push(table);
        return starts.into_iter().zip(ends).collect();
    }
    let mut spans = Vec::new();
    let mut prev_end = 0;
    while let Ok(Some(_)) = r.next_frame() {
        let end = r.bytes_consumed() as usize;
        spans.push((prev_end, end));
        prev_end = end;
    }
    assert_eq!(spans.len(), frames);
    spans
}

#[test]
fn cut_captures_yield_the_frames_before_the_cut_then_truncated() {
    let Some(dir) = public_dir() else { return };
    for path in captures(&dir) {
        let name = file_name(&path);
        let bytes = fs::read(&path).unwrap();
        let (all, _) = read_all(CaptureReader::from_bytes(bytes.clone()).unwrap());
        let spans = record_spans(&bytes, all.len());
        let mut cuts: Vec<(usize, usize, &str)> = vec![(10, 0, "file header")];
        // Frame k (0-based) record: [start, end). A cut inside its data leaves k frames; a cut in
        // the header of the record after frame k leaves k + 1 frames.
        for k in [0, all.len() / 2, all.len().saturating_sub(1)] {
            let Some(&(start, end)) = spans.get(k) else {
                continue;
            };
            cuts.push((end - 3, k, "packet data"));
            if k + 1 < spans.len() {
                cuts.push((end + 5, k + 1, "header"));
            } else if start + 5 < end {
                cuts.push((start + 5, k, "header"));
            }
        }
        for (cut, expect_frames, inside) in cuts {
            let r = CaptureReader::from_bytes(bytes[..cut].to_vec())
                .unwrap_or_else(|e| panic!("{name} cut at {cut}: {e}"));
            let (frames, end) = read_all(r);
            let err = end.unwrap_or_else(|| panic!("{name} cut at {cut}: no error"));
            assert!(err.is_truncated(), "{name} cut at {cut}: {err}");
            // pcapng: a cut after a packet block may fall in a non-packet block.
            let msg = err.to_string();
            assert!(
                msg.contains(inside) || (inside == "header" && msg.contains("block")),
                "{name} cut at {cut}: {msg}"
            );
            assert_eq!(frames.len(), expect_frames, "{name} cut at {cut}: {msg}");
            assert_eq!(frames[..], all[..expect_frames], "{name} cut at {cut}");
        }
        println!(
            "{name}: cuts at file header, record headers and packet data all reported as truncated"
        );
    }
}

/// Every cut of the first bytes of each file (and a sample further in): never a panic, frames
/// are a prefix of the full reading, and the end is clean only at a record boundary.
#[test]
fn every_cut_offset_is_safe() {
    let Some(dir) = public_dir() else { return };
    for path in captures(&dir) {
        let bytes = fs::read(&path).unwrap();
        let (all, _) = read_all(CaptureReader::from_bytes(bytes.clone()).unwrap());
        let step = if bytes.len() > 20_000 { 251 } else { 1 };
        let mut cut = 0;
        while cut < bytes.len() {
            match CaptureReader::from_bytes(bytes[..cut].to_vec()) {
                Err(e) => assert!(cut < 4, "{}: cut {cut}: {e}", file_name(&path)),
                Ok(r) => {
                    let (frames, _) = read_all(r);
                    assert!(frames.len() <= all.len());
                    assert_eq!(
                        frames[..],
                        all[..frames.len()],
                        "{} cut {cut}",
                        file_name(&path)
                    );
                }
            }
            cut += if cut < 3000 { 1 } else { step };
        }
    }
}

#[test]
fn gzip_cut_short_is_truncated() {
    let Some(dir) = public_dir() else { return };
    let bytes = fs::read(dir.join("sv__krb5-frag.pcap")).unwrap();
    let gz = gzip(&bytes);
    let (frames, end) = read_all(CaptureReader::from_bytes(gz[..gz.len() / 2].to_vec()).unwrap());
    let err = end.expect("error");
    assert!(err.is_truncated(), "{err}");
    assert!(!frames.is_empty() && frames.len() < 52);
}

#[test]
fn inputs_that_are_not_captures_fail_at_open_with_a_reason() {
    let open = |b: &[u8]| CaptureReader::from_bytes(b.to_vec()).unwrap_err();
    assert!(matches!(open(b""), OpenError::Empty));
    assert_eq!(open(b"").to_string(), "empty file, not a capture");
    let text = open(b"GET / HTTP/1.1\r\nHost: example\r\n\r\n");
    assert!(matches!(text, OpenError::NotACapture { .. }));
    assert!(
        text.to_string().contains("text \"GET / HTTP/1.1\""),
        "{text}"
    );
    let short = open(&[0xd4, 0xc3, 0xb2]);
    assert!(short.to_string().contains("only 3 bytes"), "{short}");
    // Deterministic pseudo-random bytes.
    let mut x: u32 = 0x1234_5678;
    let random: Vec<u8> = (0..4096)
        .map(|_| {
            x ^= x << 13;
            x ^= x >> 17;
            x ^= x << 5;
            (x >> 24) as u8
        })
        .collect();
    let rnd = open(&random);
    assert!(
        rnd.to_string()
            .contains("not a pcap, pcapng or NetMon magic"),
        "{rnd}"
    );
    let gz_text = open(&gzip(b"just some text\n"));
    assert!(
        gz_text
            .to_string()
            .contains("gzip data whose content starts with text"),
        "{gz_text}"
    );
    let gz_empty = open(&gzip(b""));
    assert!(
        gz_empty.to_string().contains("decompresses to nothing"),
        "{gz_empty}"
    );
    let bad_gz = open(&[
        0x1f, 0x8b, 8, 0, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff,
    ]);
    assert!(matches!(bad_gz, OpenError::NotACapture { .. }), "{bad_gz}");
    let netmon1 = open(b"RTSS\x01\x01\x00\x00 and the rest");
    assert!(
        matches!(netmon1, OpenError::Unsupported { .. }),
        "{netmon1}"
    );
    for e in [text, short, rnd, gz_text, netmon1] {
        assert!(!e.to_string().contains('\n'));
    }
    let dir = CaptureReader::open(Path::new(env!("CARGO_MANIFEST_DIR")));
    assert!(dir.is_err());
    let missing = CaptureReader::open(Path::new("/nonexistent/x.pcap")).unwrap_err();
    assert!(matches!(missing, OpenError::Io(_)));
}

/// Throughput: `KERBSCOPE_BENCH_FILE=/tmp/big.pcap cargo test --release --test capture_formats
/// -- --ignored --nocapture walk_speed`.
#[test]
#[ignore]
fn walk_speed() {
    let Ok(path) = std::env::var("KERBSCOPE_BENCH_FILE") else {
        println!("set KERBSCOPE_BENCH_FILE");
        return;
    };
    let start = std::time::Instant::now();
    let mut r = CaptureReader::open(Path::new(&path)).unwrap();
    let (mut frames, mut bytes, mut check) = (0u64, 0u64, 0u64);
    while let Some(f) = r.next_frame().unwrap() {
        frames += 1;
        bytes += f.data.len() as u64;
        check = check.wrapping_add(u64::from(f.data.first().copied().unwrap_or(0)));
    }
    let secs = start.elapsed().as_secs_f64();
    let file_mb = r.file_len().unwrap_or(0) as f64 / 1e6;
    println!(
        "{path}: {frames} frames, {bytes} data bytes in {secs:.3} s: {:.1} M frames/s, {:.0} MB/s of file (check {check})",
        frames as f64 / secs / 1e6,
        file_mb / secs
    );
}
