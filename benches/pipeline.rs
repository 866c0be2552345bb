//! Criterion benchmarks per decoding stage and end to end, on a 64 MiB corpus generated in memory
//! by the same generator as `tools/bench.sh` (`tools/gencorpus`, seed 1) and on messages taken
//! from the lab captures:
//!
//! * `frame_walk`: `CaptureReader` over the corpus bytes (pcap records only).
//! * `tcp_reassembly`: `NetDecoder` + `TcpTable` over every frame, consuming all stream bytes.
//! * `kerberos`, `dns`: the pure decoders over every such message of the lab captures.
//! * `http_spnego`: HTTP head + `Authorization`/`WWW-Authenticate` parsing and the SPNEGO/krb5
//!   token decode of every lab HTTP message that carries one.
//! * `end_to_end`: `pipeline::dissect_reader_with` in analysis mode at 1 and 2 threads.
//!
//! `cargo bench --bench pipeline` (or `-- frame_walk` for one group).

#[path = "../tools/gencorpus/background.rs"]
mod background;
#[path = "../tools/gencorpus/corpus.rs"]
mod corpus;
#[path = "../tools/gencorpus/embed.rs"]
mod embed;
#[path = "../tools/gencorpus/packet.rs"]
mod packet;

use std::hint::black_box;
use std::path::{Path, PathBuf};

use criterion::{BatchSize, Criterion, Throughput, criterion_group, criterion_main};

use kerbscope::capture::{CaptureReader, Frame, Timestamp};
use kerbscope::net::{Direction, NetDecoder, NetLimits, TcpLimits, TcpTable, Transport};
use kerbscope::pipeline::{self, DissectOptions};
use kerbscope::proto::{dns, gss, http, kerberos};

const CORPUS_BYTES: u64 = 64 << 20;

fn lab_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("captures/lab")
}

fn corpus() -> Vec<u8> {
    let mut out = Vec::with_capacity(CORPUS_BYTES as usize + (1 << 20));
    if let Err(e) = corpus::generate(&mut out, CORPUS_BYTES, 1, &lab_dir()) {
        panic!("corpus generation failed: {e}");
    }
    out
}

/// Every frame of a capture as owned bytes with its number and time.
fn frames_of(bytes: Vec<u8>) -> Vec<(u64, Timestamp, kerbscope::capture::LinkType, Vec<u8>)> {
    let mut reader = CaptureReader::from_bytes(bytes).expect("corpus opens");
    let mut out = Vec::new();
    while let Ok(Some(f)) = reader.next_frame() {
        out.push((f.number, f.ts, f.link_type, f.data.to_vec()));
    }
    out
}

/// UDP payloads to or from `port` and TCP payloads of every lab capture.
struct LabMessages {
    kerberos: Vec<Vec<u8>>,
    dns: Vec<Vec<u8>>,
    http: Vec<Vec<u8>>,
}

fn lab_messages() -> LabMessages {
    let mut m = LabMessages {
        kerberos: Vec::new(),
        dns: Vec::new(),
        http: Vec::new(),
    };
    let mut paths: Vec<PathBuf> = std::fs::read_dir(lab_dir())
        .expect("lab captures")
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.extension().is_some_and(|x| x == "pcap"))
        .collect();
    paths.sort();
    for path in paths {
        let bytes = std::fs::read(&path).expect("lab capture reads");
        let mut net = NetDecoder::new(NetLimits::default());
        for (number, ts, link_type, data) in frames_of(bytes) {
            let frame = Frame {
                number,
                ts,
                link_type,
                data: &data,
                orig_len: data.len() as u32,
            };
            let Some(pkt) = net.decode(&frame) else {
                continue;
            };
            match pkt.transport {
                Transport::Udp { payload } if pkt.sport == 88 || pkt.dport == 88 => {
                    m.kerberos.push(payload.to_vec());
                }
                Transport::Udp { payload } if pkt.sport == 53 || pkt.dport == 53 => {
                    m.dns.push(payload.to_vec());
                }
                Transport::Tcp(seg)
                    if memchr::memmem::find(seg.payload, b"Negotiate ").is_some() =>
                {
                    m.http.push(seg.payload.to_vec());
                }
                _ => {}
            }
        }
    }
    m
}

fn frame_walk(c: &mut Criterion, bytes: &[u8]) {
    let mut g = c.benchmark_group("frame_walk");
    g.throughput(Throughput::Bytes(bytes.len() as u64));
    g.bench_function("pcap_64MiB", |b| {
        b.iter_batched(
            || bytes.to_vec(),
            |v| {
                let mut reader = CaptureReader::from_bytes(v).expect("opens");
                let mut n = 0u64;
                while let Ok(Some(f)) = reader.next_frame() {
                    n += f.data.len() as u64;
                }
                black_box(n)
            },
            BatchSize::PerIteration,
        )
    });
    g.finish();
}

fn tcp_reassembly(
    c: &mut Criterion,
    frames: &[(u64, Timestamp, kerbscope::capture::LinkType, Vec<u8>)],
    total: u64,
) {
    let mut g = c.benchmark_group("tcp_reassembly");
    g.throughput(Throughput::Bytes(total));
    g.bench_function("net_decode_and_tcp_table", |b| {
        b.iter(|| {
            let mut net = NetDecoder::new(NetLimits::default());
            let mut tcp = TcpTable::new(TcpLimits::default());
            let mut delivered = 0usize;
            for (number, ts, link_type, data) in frames {
                let frame = Frame {
                    number: *number,
                    ts: *ts,
                    link_type: *link_type,
                    data,
                    orig_len: data.len() as u32,
                };
                let Some(pkt) = net.decode(&frame) else {
                    continue;
                };
                if let Transport::Tcp(seg) = &pkt.transport
                    && let Some((conn, _)) = tcp.segment(&pkt, seg, *number, *ts)
                {
                    for d in [Direction::ToServer, Direction::ToClient] {
                        if let Some(half) = tcp.half(conn, d) {
                            let n = half.data().len();
                            delivered += n;
                            half.consume(n);
                        }
                    }
                    tcp.take_closed();
                }
            }
            black_box(delivered)
        })
    });
    g.finish();
}

fn decoders(c: &mut Criterion, m: &LabMessages) {
    let bytes = |v: &[Vec<u8>]| v.iter().map(|x| x.len() as u64).sum::<u64>();
    let mut g = c.benchmark_group("kerberos");
    g.throughput(Throughput::Bytes(bytes(&m.kerberos)));
    g.bench_function("decode_lab_messages", |b| {
        b.iter(|| {
            for msg in &m.kerberos {
                let _ = black_box(kerberos::decode(msg));
            }
        })
    });
    g.finish();

    let mut g = c.benchmark_group("dns");
    g.throughput(Throughput::Bytes(bytes(&m.dns)));
    g.bench_function("decode_lab_messages", |b| {
        b.iter(|| {
            for msg in &m.dns {
                let _ = black_box(dns::decode(msg));
            }
        })
    });
    g.finish();

    let mut g = c.benchmark_group("http_spnego");
    g.throughput(Throughput::Bytes(bytes(&m.http)));
    g.bench_function("head_auth_and_token", |b| {
        b.iter(|| {
            for msg in &m.http {
                let Ok((head, _)) = http::parse_head(msg) else {
                    continue;
                };
                for (name, value) in &head.headers {
                    if !http::AUTH_HEADERS
                        .iter()
                        .any(|h| h.eq_ignore_ascii_case(name))
                    {
                        continue;
                    }
                    for ch in http::parse_auth(value) {
                        if let Some(token) = &ch.token {
                            black_box(gss::decode_token(token));
                        }
                    }
                }
            }
        })
    });
    g.finish();
}

fn end_to_end(c: &mut Criterion, bytes: &[u8]) {
    let mut g = c.benchmark_group("end_to_end");
    g.throughput(Throughput::Bytes(bytes.len() as u64));
    g.sample_size(10);
    for threads in [1, 2] {
        let opts = DissectOptions {
            threads,
            keep_plain_http: false,
            progress: false,
            keys: None,
        };
        g.bench_function(format!("analysis_j{threads}"), |b| {
            b.iter_batched(
                || bytes.to_vec(),
                |v| {
                    let reader = CaptureReader::from_bytes(v).expect("opens");
                    let run =
                        pipeline::dissect_reader_with(reader, Path::new("corpus"), 0, &opts, None);
                    black_box(run.events.len())
                },
                BatchSize::PerIteration,
            )
        });
    }
    g.finish();
}

fn all(c: &mut Criterion) {
    let bytes = corpus();
    frame_walk(c, &bytes);
    let frames = frames_of(bytes.clone());
    let total = frames.iter().map(|f| f.3.len() as u64).sum();
    tcp_reassembly(c, &frames, total);
    drop(frames);
    decoders(c, &lab_messages());
    end_to_end(c, &bytes);
}

criterion_group!(benches, all);
criterion_main!(benches);
