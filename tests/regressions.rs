//! Inputs that once crashed or hung a decoder, and hand-made inputs for the corners the fuzz
//! targets (fuzz/, `tools/fuzz.sh`) aim at. Each goes through the same entry point its fuzz
//! target uses, and the test states what the decoder must say about it.
//!
//! Adding a fuzz crash: copy the file from `fuzz/out/TARGET/default/crashes/` to
//! `fuzz/regressions/TARGET/NAME` (committed); `replayed_fuzz_findings_do_not_panic` replays
//! every such file through the entry point of TARGET. Then add a test here that states the
//! expected result for it, and fix the decoder.

use std::path::Path;

use kerbscope::capture::{CaptureReader, Frame, LinkType, Timestamp};
use kerbscope::dissect::Dissector;
use kerbscope::proto::{dns, gss, http, kerberos, ntlm};

fn capture_run(bytes: &[u8]) -> Option<kerbscope::pipeline::CaptureRun> {
    let r = CaptureReader::from_bytes(bytes.to_vec()).ok()?;
    Some(kerbscope::pipeline::dissect_reader(
        r,
        Path::new("regression"),
        0,
    ))
}

/// One raw-IP frame through the dissector.
fn dissect_raw_ip(pkts: &[&[u8]]) -> kerbscope::dissect::AllStats {
    let mut d = Dissector::new(0);
    let mut events = Vec::new();
    for (i, p) in pkts.iter().enumerate() {
        let frame = Frame {
            number: i as u64 + 1,
            ts: Timestamp::default(),
            link_type: LinkType::RAW,
            data: p,
            orig_len: p.len() as u32,
        };
        d.frame(&frame, &mut events);
    }
    d.finish(&mut events);
    d.stats()
}

/// Replays `fuzz/regressions/TARGET/*` through each target's entry point.
#[test]
fn replayed_fuzz_findings_do_not_panic() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("fuzz/regressions");
    let mut n = 0;
    for target in std::fs::read_dir(&dir).into_iter().flatten().flatten() {
        let name = target.file_name().to_string_lossy().into_owned();
        for f in std::fs::read_dir(target.path())
            .into_iter()
            .flatten()
            .flatten()
        {
            let data = std::fs::read(f.path()).unwrap();
            n += 1;
            match name.as_str() {
                "capture" | "analyze" => {
                    let _ = capture_run(&data);
                }
                "kerberos" => {
                    let _ = kerberos::decode(&data);
                }
                "dns" => {
                    let _ = dns::decode(&data);
                }
                "http" => {
                    let _ = http::parse_head(&data);
                }
                "spnego" => {
                    let _ = gss::decode_token(&data);
                }
                "ntlmssp" => {
                    let _ = ntlm::decode(&data);
                }
                other => panic!("unknown regression target {other}"),
            }
        }
    }
    println!("{n} saved fuzz inputs replayed");
}

/// pcap global header with a snap length of 0 and a record claiming 4 GiB: refused, not
/// allocated, reported.
#[test]
fn pcap_record_of_4_gib_is_malformed_not_allocated() {
    let mut f = vec![0xD4, 0xC3, 0xB2, 0xA1, 2, 0, 4, 0, 0, 0, 0, 0, 0, 0, 0, 0];
    f.extend_from_slice(&0u32.to_le_bytes()); // snaplen 0
    f.extend_from_slice(&1u32.to_le_bytes());
    f.extend_from_slice(&[0; 8]);
    f.extend_from_slice(&u32::MAX.to_le_bytes());
    f.extend_from_slice(&u32::MAX.to_le_bytes());
    f.extend_from_slice(&[0xAB; 64]);
    let run = capture_run(&f).unwrap();
    assert_eq!(run.packets, 0);
    assert_eq!(run.warnings.len(), 1, "{:?}", run.warnings);
}

/// pcapng block whose total length is smaller than a block header: malformed, no loop.
#[test]
fn pcapng_block_shorter_than_its_header_is_malformed() {
    let mut f = Vec::new();
    f.extend_from_slice(&0x0A0D_0D0Au32.to_le_bytes());
    f.extend_from_slice(&28u32.to_le_bytes());
    f.extend_from_slice(&0x1A2B_3C4Du32.to_le_bytes());
    f.extend_from_slice(&[1, 0, 0, 0]);
    f.extend_from_slice(&u64::MAX.to_le_bytes());
    f.extend_from_slice(&28u32.to_le_bytes());
    // An EPB claiming 4 bytes in total.
    f.extend_from_slice(&6u32.to_le_bytes());
    f.extend_from_slice(&4u32.to_le_bytes());
    f.extend_from_slice(&[0; 32]);
    let run = capture_run(&f).unwrap();
    assert_eq!(run.packets, 0);
    assert!(!run.warnings.is_empty());
}

/// IPv4 header with IHL 15 and total length 20 (shorter than its own header): malformed. Total
/// length 0 is what TCP segmentation offload leaves in captures: the captured length is used
/// (as Wireshark does), so that datagram's UDP header is decoded.
#[test]
fn ipv4_lengths_inconsistent_with_header_are_counted() {
    let mut a = vec![
        0x4F, 0, 0, 20, 0, 0, 0, 0, 64, 17, 0, 0, 10, 0, 0, 1, 10, 0, 0, 2,
    ];
    a.extend_from_slice(&[0; 40]);
    let mut b = vec![
        0x45, 0, 0, 0, 0, 0, 0, 0, 64, 17, 0, 0, 10, 0, 0, 1, 10, 0, 0, 2,
    ];
    b.extend_from_slice(&[0; 8]);
    let st = dissect_raw_ip(&[&a, &b]);
    assert_eq!(st.net.ip_malformed, 1, "{:?}", st.net);
    assert_eq!(st.net.udp, 1, "{:?}", st.net);
}

/// UDP length field 0 and 0xFFFF on a Kerberos datagram: counted, never read past the packet.
#[test]
fn udp_length_zero_or_max_is_counted() {
    let mut pkts = Vec::new();
    for len in [0u16, 0xFFFF] {
        let mut p = vec![
            0x45, 0, 0, 48, 0, 0, 0, 0, 64, 17, 0, 0, 10, 0, 0, 1, 10, 0, 0, 2,
        ];
        p.extend_from_slice(&1234u16.to_be_bytes());
        p.extend_from_slice(&88u16.to_be_bytes());
        p.extend_from_slice(&len.to_be_bytes());
        p.extend_from_slice(&[0, 0]);
        p.extend_from_slice(&[
            0x6A, 0x82, 0xFF, 0xFF, 0x30, 0x80, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
        ]);
        pkts.push(p);
    }
    let refs: Vec<&[u8]> = pkts.iter().map(Vec::as_slice).collect();
    let st = dissect_raw_ip(&refs);
    assert_eq!(st.app.kerberos_messages, 0);
    assert!(st.net.udp_bad_length >= 1, "{:?}", st.net);
}

/// Kerberos: indefinite length (BER, not DER) and a zero-length outer element.
#[test]
fn kerberos_indefinite_and_empty_lengths_are_errors() {
    assert!(kerberos::decode(&[0x6A, 0x80, 0x30, 0x80, 0, 0, 0, 0]).is_err());
    assert!(kerberos::decode(&[0x6A, 0x00]).is_err());
    assert!(kerberos::decode(&[]).is_err());
    assert!(kerberos::tcp_record(&[0, 0, 0, 0]).is_err());
    assert!(kerberos::tcp_record(&[0x80, 0, 0, 1, 0]).is_err());
}

/// DNS: a pointer to itself and a pointer past the end; the message decodes with the name
/// flagged, not an endless loop or a panic.
#[test]
fn dns_self_pointer_and_pointer_past_end_are_flagged() {
    // Header with one question whose name is a pointer to offset 12 (itself).
    let mut m = vec![0, 1, 0x01, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0xC0, 12, 0, 1, 0, 1];
    let d = dns::decode(&m).unwrap();
    assert!(!d.anomalies.is_empty(), "{:?}", d.anomalies);
    m[13] = 0xFF;
    let d = dns::decode(&m).unwrap();
    assert!(!d.anomalies.is_empty(), "{:?}", d.anomalies);
}

/// NTLMSSP AUTHENTICATE whose fields point outside the message and overflow offset + length.
#[test]
fn ntlm_fields_out_of_bounds_are_refused() {
    let mut m = b"NTLMSSP\0\x03\0\0\0".to_vec();
    for _ in 0..6 {
        m.extend_from_slice(&0xFFFFu16.to_le_bytes());
        m.extend_from_slice(&0xFFFFu16.to_le_bytes());
        m.extend_from_slice(&0xFFFF_FFF0u32.to_le_bytes());
    }
    m.extend_from_slice(&[0; 24]);
    match ntlm::decode(&m) {
        Err(_) => {}
        Ok(msg) => assert!(
            serde_json::to_string(&msg)
                .unwrap()
                .contains("\"lossy\":true")
        ),
    }
}

/// SPNEGO wrapping itself 64 times: refused at the depth limit, reported as malformed.
#[test]
fn spnego_nested_in_itself_stops_at_the_depth_limit() {
    let oid = [0x06, 0x06, 0x2B, 0x06, 0x01, 0x05, 0x05, 0x02];
    let mut tok: Vec<u8> = vec![0x05, 0x00];
    for _ in 0..64 {
        let mut inner = oid.to_vec();
        inner.extend_from_slice(&tok);
        let mut t = vec![0x60, 0x82];
        t.extend_from_slice(&(inner.len() as u16).to_be_bytes());
        t.extend_from_slice(&inner);
        tok = t;
    }
    let out = serde_json::to_string(&gss::decode_token(&tok)).unwrap();
    assert!(out.len() < 64 * 1024);
}

/// HTTP: a chunk size of 2^64 and a negative Content-Length.
#[test]
fn http_absurd_body_lengths_are_refused() {
    let mut c = http::ChunkedDecoder::new();
    assert!(c.feed(b"FFFFFFFFFFFFFFFFFF\r\n").is_err());
    let (h, _) = http::parse_head(b"HTTP/1.1 200 OK\r\nContent-Length: -1\r\n\r\n").unwrap();
    assert_eq!(h.content_length(), None);
    assert!(h.anomalies.contains(&"invalid_content_length"));
}
