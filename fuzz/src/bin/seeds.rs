//! Builds the seed corpora from committed captures: `seeds OUT_DIR CAPTURE...`.
//!
//! * `capture`, `analyze`: the capture files themselves (large ones cut to their first 32 KiB:
//!   a cut file is a valid input too, and small seeds keep AFL fast);
//! * `packets`, `net`: each capture's frames in the `split_packets` record format;
//! * `kerberos`, `dns`: UDP payloads and TCP streams of ports 88 / 53 (5353, 5355);
//! * `http`: the first bytes of each TCP stream direction that starts like HTTP/1.x;
//! * `spnego`, `ntlmssp`, `der`: GSS tokens found base64-encoded in HTTP auth headers and raw in
//!   any payload (SMB, LDAP, DCE/RPC), located by the SPNEGO OID and the NTLMSSP signature.
//!
//! Seeds are deduplicated by content; at most `MAX_PER_TARGET` per target.

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::path::PathBuf;

use base64::Engine;
use kerbscope::capture::CaptureReader;
use kerbscope::net::{ConnId, Direction, NetDecoder, NetLimits, TcpLimits, TcpTable, Transport};
use kerbscope::proto::{der, http};

const MAX_PER_TARGET: usize = 400;
const MAX_SEED: usize = 32 << 10;
const SPNEGO_OID: &[u8] = &[0x06, 0x06, 0x2b, 0x06, 0x01, 0x05, 0x05, 0x02];

#[derive(Default)]
struct Corpus(BTreeMap<&'static str, BTreeSet<Vec<u8>>>);

impl Corpus {
    fn add(&mut self, target: &'static str, seed: &[u8]) {
        if seed.is_empty() {
            return;
        }
        let set = self.0.entry(target).or_default();
        if set.len() < MAX_PER_TARGET {
            set.insert(seed[..seed.len().min(MAX_SEED)].to_vec());
        }
    }

    /// GSS tokens and NTLMSSP messages anywhere in `bytes`.
    fn scan_tokens(&mut self, bytes: &[u8]) {
        for i in memchr::memmem::find_iter(bytes, kerbscope::proto::ntlm::SIGNATURE) {
            self.add("ntlmssp", &bytes[i..bytes.len().min(i + 4096)]);
        }
        for i in memchr::memmem::find_iter(bytes, SPNEGO_OID) {
            // The InitialContextToken's 0x60 header sits 2..6 bytes before the OID.
            for back in 2..=6 {
                let Some(start) = i.checked_sub(back) else {
                    continue;
                };
                if bytes[start] == 0x60
                    && let Ok((tlv, _)) = der::read_tlv(&bytes[start..])
                {
                    let tok = &bytes[start..start + tlv.total_len()];
                    self.add("spnego", tok);
                    self.add("der", tok);
                    break;
                }
            }
        }
    }
}

fn main() {
    let args: Vec<PathBuf> = std::env::args_os().skip(1).map(PathBuf::from).collect();
    let Some((out, captures)) = args.split_first() else {
        eprintln!("usage: seeds OUT_DIR CAPTURE...");
        std::process::exit(2);
    };
    let mut corpus = Corpus::default();
    for path in captures {
        let Ok(bytes) = std::fs::read(path) else {
            continue;
        };
        corpus.add("capture", &bytes);
        corpus.add("analyze", &bytes);
        from_frames(&bytes, &mut corpus);
    }
    for (target, seeds) in &corpus.0 {
        let dir = out.join(target);
        let _ = std::fs::create_dir_all(&dir);
        for (i, s) in seeds.iter().enumerate() {
            let _ = std::fs::write(dir.join(format!("seed{i:04}")), s);
        }
        println!("{target}: {} seeds", seeds.len());
    }
}

fn from_frames(bytes: &[u8], corpus: &mut Corpus) {
    let Ok(mut reader) = CaptureReader::from_bytes(bytes.to_vec()) else {
        return;
    };
    let mut net = NetDecoder::new(NetLimits::default());
    let mut tcp = TcpTable::new(TcpLimits::default());
    let mut packets = Vec::new();
    let mut last_secs = None;
    let mut streams: HashMap<(ConnId, Direction), (u16, u16, Vec<u8>)> = HashMap::new();
    while let Ok(Some(frame)) = reader.next_frame() {
        let dsecs = last_secs.map_or(0, |l: i64| (frame.ts.secs - l).clamp(0, 15) as u8);
        last_secs = Some(frame.ts.secs);
        if packets.len() < MAX_SEED {
            kerbscope_fuzz::join_packet(&mut packets, frame.link_type, dsecs, frame.data);
        }
        corpus.scan_tokens(frame.data);
        let Some(pkt) = net.decode(&frame) else {
            continue;
        };
        let ports = [pkt.sport, pkt.dport];
        match &pkt.transport {
            Transport::Udp { payload } => {
                if ports.contains(&88) {
                    corpus.add("kerberos", payload);
                    corpus.add("der", payload);
                }
                if ports.iter().any(|p| [53, 5353, 5355].contains(p)) {
                    corpus.add("dns", payload);
                }
            }
            Transport::Tcp(seg) => {
                let Some((conn, dir)) = tcp.segment(&pkt, seg, frame.number, frame.ts) else {
                    continue;
                };
                for d in [dir, dir.opposite()] {
                    if let Some(half) = tcp.half(conn, d) {
                        let data = half.data().to_vec();
                        half.consume(data.len());
                        let e =
                            streams
                                .entry((conn, d))
                                .or_insert((pkt.sport, pkt.dport, Vec::new()));
                        if e.2.len() < MAX_SEED {
                            e.2.extend_from_slice(&data);
                        }
                    }
                }
                let _ = tcp.take_closed();
            }
            Transport::Other { .. } => {}
        }
    }
    corpus.add("packets", &packets);
    corpus.add("net", &packets);
    let mut keys: Vec<_> = streams.keys().copied().collect();
    keys.sort_by_key(|(c, d)| (*c, *d == Direction::ToClient));
    for k in keys {
        let (sport, dport, data) = &streams[&k];
        let ports = [*sport, *dport];
        if ports.contains(&88) {
            corpus.add("kerberos", data);
            if let Some(body) = data.get(4..) {
                corpus.add("der", body);
            }
        } else if ports.contains(&53) {
            corpus.add("dns", data);
        } else if http::looks_like_request_or_status(data) {
            corpus.add("http", &data[..data.len().min(4096)]);
            http_tokens(data, corpus);
        }
        corpus.scan_tokens(data);
    }
}

/// Base64 tokens after the auth schemes of HTTP headers.
fn http_tokens(stream: &[u8], corpus: &mut Corpus) {
    let text = String::from_utf8_lossy(stream);
    for line in text.lines() {
        for scheme in ["Negotiate ", "NTLM ", "Kerberos "] {
            let Some(at) = line.find(scheme) else {
                continue;
            };
            let b64 = line[at + scheme.len()..].trim();
            let b64 = b64.split([',', ' ']).next().unwrap_or_default();
            if let Ok(tok) = base64::engine::general_purpose::STANDARD.decode(b64) {
                corpus.add("spnego", &tok);
                corpus.add("der", &tok);
                corpus.scan_tokens(&tok);
            }
        }
    }
}
