//! The analysis keeps a DNS answer only when its client shows authentication traffic within
//! 2^20 frames after it (`pipeline::dns_retention`). A crafted capture puts answers on both sides
//! of that horizon, with more than 2^20 frames of noise between, so that decisions are taken
//! while the workers run and not only at the end; the truth is how the capture was built: which
//! answer has its client's HTTP authentication how many frames later. Every decoding path
//! (inline, segmented walk of the map, read() walk, gzip through one reader) and thread count
//! must keep exactly those answers.

use std::io::Write;
use std::net::Ipv4Addr;
use std::path::{Path, PathBuf};

use kerbscope::event::EventBody;
use kerbscope::pipeline::{DissectOptions, dissect_files};

#[path = "common/packets.rs"]
mod packets;
use packets::{pcap, tcp, udp};

const HORIZON: u64 = 1 << 20;
const DNS: Ipv4Addr = Ipv4Addr::new(10, 0, 0, 53);
const WEB: Ipv4Addr = Ipv4Addr::new(10, 0, 0, 80);

/// A DNS response (RFC 1035 §4.1) for `name` with one A record.
fn dns_answer(id: u16, name: &str, address: Ipv4Addr) -> Vec<u8> {
    let mut m = Vec::new();
    m.extend(id.to_be_bytes());
    m.extend([0x81, 0x80, 0, 1, 0, 1, 0, 0, 0, 0]);
    for label in name.split('.') {
        m.push(label.len() as u8);
        m.extend(label.as_bytes());
    }
    m.extend([0, 0, 1, 0, 1, 0xc0, 12, 0, 1, 0, 1, 0, 0, 0, 60, 0, 4]);
    m.extend(address.octets());
    m
}

/// The capture under construction, with the frame number the next frame gets.
struct Capture {
    frames: Vec<Vec<u8>>,
}

impl Capture {
    fn next_number(&self) -> u64 {
        self.frames.len() as u64 + 1
    }

    fn answer(&mut self, client: Ipv4Addr) -> u64 {
        let n = self.next_number();
        let payload = dns_answer(n as u16, "web.lab.test", WEB);
        self.frames.push(udp(DNS, 53, client, 40000, &payload));
        n
    }

    /// Handshake, then a request with an Authorization header whose data segment is frame
    /// `at` (the handshake takes the three frames before it).
    fn authenticate_at(&mut self, client: Ipv4Addr, port: u16, at: u64) {
        self.noise_until(at - 4);
        let (c, s) = (1000u32, 5000u32);
        self.frames
            .push(tcp((client, port), (WEB, 80), (c, 0), 0x02, &[]));
        self.frames
            .push(tcp((WEB, 80), (client, port), (s, c + 1), 0x12, &[]));
        self.frames
            .push(tcp((client, port), (WEB, 80), (c + 1, s + 1), 0x10, &[]));
        let request =
            b"GET / HTTP/1.1\r\nHost: web.lab.test\r\nAuthorization: Basic dXNlcjpwYXNz\r\n\r\n";
        assert_eq!(self.next_number(), at);
        self.frames.push(tcp(
            (client, port),
            (WEB, 80),
            (c + 1, s + 1),
            0x18,
            request,
        ));
    }

    /// UDP noise between many address pairs (spread over every shard) up to frame `last`.
    fn noise_until(&mut self, last: u64) {
        while self.next_number() <= last {
            let n = self.frames.len() as u32;
            let a = Ipv4Addr::from(0x0a09_0000 | (n % 251));
            let b = Ipv4Addr::from(0x0a0a_0000 | (n % 241));
            self.frames.push(udp(a, 9999, b, 9998, &[0u8; 16]));
        }
    }

    fn write(&self, path: &Path) {
        std::fs::write(path, pcap(&self.frames, 10)).expect("write the capture");
    }
}

/// Frames of the DNS answers an analysis run keeps, and the set-aside counter.
fn kept_answers(path: &Path, threads: usize) -> (Vec<u64>, u64) {
    let opts = DissectOptions {
        threads,
        keep_plain_http: false,
        ..Default::default()
    };
    let mut runs = dissect_files(&[path.to_path_buf()], &opts);
    let run = runs.pop().expect("one run").expect("the capture opens");
    assert!(run.warnings.is_empty(), "{:?}", run.warnings);
    let frames = run
        .events
        .iter()
        .filter(|e| matches!(e.body, EventBody::Dns(_)))
        .map(|e| e.frame)
        .collect();
    (frames, run.stats.app.dns_answers_set_aside)
}

#[test]
fn answers_are_kept_exactly_when_their_client_authenticates_within_the_horizon() {
    let kept_client = Ipv4Addr::new(10, 0, 0, 10);
    let late_client = Ipv4Addr::new(10, 0, 0, 11);
    let silent_client = Ipv4Addr::new(10, 0, 0, 12);
    let mut cap = Capture { frames: Vec::new() };
    let soon = cap.answer(kept_client);
    cap.authenticate_at(kept_client, 50001, soon + 10);
    // Just inside the horizon: the authentication's data frame is HORIZON frames later.
    let edge = cap.answer(kept_client);
    let never = cap.answer(silent_client);
    cap.noise_until(edge + 10);
    let late = cap.answer(late_client);
    cap.authenticate_at(kept_client, 50002, edge + HORIZON);
    // Just outside: one frame more.
    cap.authenticate_at(late_client, 50003, late + HORIZON + 1);
    // After its client's last authentication, less than the horizon before the capture ends:
    // the capture cannot tell whether the client authenticates later, so the answer is kept.
    let trailing = cap.answer(kept_client);
    // The same place, but its client authenticates nowhere in the capture: set aside.
    let trailing_silent = cap.answer(silent_client);
    cap.noise_until(trailing + 5000);

    let dir = std::env::temp_dir().join(format!("kerbscope-retention-{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("temp dir");
    let plain: PathBuf = dir.join("horizon.pcap");
    cap.write(&plain);
    let gz = dir.join("horizon.pcap.gz");
    {
        let data = std::fs::read(&plain).expect("read back");
        let mut enc = flate2::write::GzEncoder::new(
            std::fs::File::create(&gz).expect("create gz"),
            flate2::Compression::fast(),
        );
        enc.write_all(&data).expect("compress");
        enc.finish().expect("finish gz");
    }

    // `late`, `never` and `trailing_silent` are set aside; `never` was decided while the
    // workers ran, `trailing_silent` when they were done.
    let expected = (vec![soon, edge, trailing], 3);
    let _ = (never, trailing_silent);
    for threads in [1, 2, 3] {
        assert_eq!(
            kept_answers(&plain, threads),
            expected,
            "mapped, -j {threads}"
        );
        assert_eq!(kept_answers(&gz, threads), expected, "gzip, -j {threads}");
    }
    // SAFETY of the test: this binary holds one test, so no other thread reads the variable.
    unsafe { std::env::set_var("KERBSCOPE_NO_MMAP", "1") };
    for threads in [1, 2, 3] {
        assert_eq!(
            kept_answers(&plain, threads),
            expected,
            "read(), -j {threads}"
        );
    }
    let _ = std::fs::remove_dir_all(&dir);
}
