//! `--evidence FILE.pcapng`: the frames the findings cite, re-read from each capture and
//! written as pcapng (draft-ietf-opsawg-pcapng: one Section Header Block, one Interface
//! Description Block per distinct link type, Enhanced Packet Blocks with the original
//! timestamps (ns resolution) and bytes), so the proof can be attached to a ticket and opened
//! in Wireshark. Each EPB carries comments naming the original capture, frame number and what
//! the frame proves (frame numbers change in the evidence file).
//!
//! Besides the cited frames, for every TCP connection a cited frame belongs to (found by
//! 4-tuple with `net::NetDecoder`): its last SYN and SYN-ACK before that frame, and the
//! connection's other segments between the handshake and the cited frame (at most
//! `MAX_PREFIX` of them, the latest kept). Without them the evidence would open with a hole in
//! the stream: a message spanning several segments is cited at the segment that completes it,
//! and the AP-REQ of a keep-alive HTTP connection follows a 401 exchange; Wireshark (and
//! kerbscope) reassemble a stream only from its start. IP fragments other than the completing
//! one are not added.
//!
//! With redaction, only the text kerbscope writes (comments) is redacted: packet bytes are the
//! capture's own and still hold every name.

use std::collections::{BTreeMap, BTreeSet, HashMap, HashSet, VecDeque};
use std::fs::File;
use std::io::{self, BufWriter};
use std::net::IpAddr;
use std::path::Path;

use super::Report;
use crate::capture::{CaptureReader, Frame, PcapngWriter, TsResolution};
use crate::net::{NetDecoder, NetLimits, TcpFlags, Transport};

/// Earlier segments of one connection added before a cited frame (an authentication exchange
/// needs a handful; a long transfer keeps only its latest segments instead of growing the
/// evidence without bound).
const MAX_PREFIX: usize = 256;

#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct EvidenceOptions {
    /// Redact the comments written into the file (packet bytes are never changed).
    pub redact: bool,
}

/// What `write_evidence` wrote.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct EvidenceSummary {
    /// Captures re-read.
    pub captures: usize,
    /// Enhanced Packet Blocks written.
    pub frames: u64,
    /// Of which frames cited by a finding.
    pub cited: u64,
    /// Of which TCP handshake and earlier-segment frames added for dissection.
    pub context: u64,
    /// Cited frames not found (capture shorter than the frame number, or an unwritable link
    /// type), as (capture, frame).
    pub missing: Vec<(String, u64)>,
}

/// Write the evidence of `report` to `out` (comments unredacted).
pub fn write_evidence(report: &Report, out: &Path) -> io::Result<EvidenceSummary> {
    write_evidence_with(report, out, &EvidenceOptions::default())
}

/// Write the evidence of `report` to `out`; with `opts.redact`, the comments use the tokens
/// `redact` gives the report (calling this on an already redacted report works too: `redact`
/// keeps capture paths). Captures are re-read from `captures[].path` / `findings[].capture`.
/// Several captures go into one file, each capture's frames in order, one after the other.
pub fn write_evidence_with(
    report: &Report,
    out: &Path,
    opts: &EvidenceOptions,
) -> io::Result<EvidenceSummary> {
    let redacted;
    let text_report = if opts.redact {
        let mut r = report.clone();
        super::redact(&mut r);
        redacted = r;
        &redacted
    } else {
        report
    };

    // Capture path → frame → comments, captures in report order.
    let mut order: Vec<&str> = report.captures.iter().map(|c| c.path.as_str()).collect();
    let mut cited: HashMap<&str, BTreeMap<u64, Vec<String>>> = HashMap::new();
    for (f, shown) in report.findings.iter().zip(&text_report.findings) {
        if !order.contains(&f.capture.as_str()) {
            order.push(&f.capture);
        }
        let frames = cited.entry(f.capture.as_str()).or_default();
        for e in &shown.evidence {
            frames.entry(e.frame).or_default().push(format!(
                "{} frame {}: {}: {}",
                shown.capture,
                e.frame,
                f.kind.as_str(),
                e.what
            ));
        }
        for &n in &f.frames {
            let c = frames.entry(n).or_default();
            if c.is_empty() {
                c.push(format!(
                    "{} frame {n}: cited by {}",
                    shown.capture,
                    f.kind.as_str()
                ));
            }
        }
    }

    let comment = format!(
        "kerbscope evidence: {} findings from {} captures; packet bytes are unmodified",
        report.findings.len(),
        order.iter().filter(|c| cited.contains_key(*c)).count()
    );
    // Frames come from files of any resolution: nanoseconds keep every timestamp exact.
    let mut w = PcapngWriter::new(
        BufWriter::new(File::create(out)?),
        &comment,
        None,
        TsResolution::Nano,
    )?;
    let mut summary = EvidenceSummary::default();
    for path in order {
        let Some(frames) = cited.get(path) else {
            continue;
        };
        summary.captures += 1;
        write_capture(path, frames, &mut w, &mut summary)?;
    }
    w.flush()?;
    Ok(summary)
}

/// A TCP connection, endpoints in canonical order.
type ConnKey = ((IpAddr, u16), (IpAddr, u16));

/// The TCP connection of a frame and the segment's flags.
fn tcp_conn(net: &mut NetDecoder, frame: &Frame<'_>) -> Option<(ConnKey, TcpFlags)> {
    let pkt = net.decode(frame)?;
    let Transport::Tcp(seg) = pkt.transport else {
        return None;
    };
    let a = (pkt.src, pkt.sport);
    let b = (pkt.dst, pkt.dport);
    Some((if a <= b { (a, b) } else { (b, a) }, seg.flags))
}

fn open(path: &str) -> io::Result<CaptureReader> {
    CaptureReader::open(Path::new(path)).map_err(|e| io::Error::other(format!("{path}: {e}")))
}

#[derive(Default)]
struct ConnState {
    syn: Option<u64>,
    syn_ack: Option<u64>,
    /// Segments after the handshake not yet added to the evidence, oldest first.
    prefix: VecDeque<u64>,
}

fn write_capture(
    path: &str,
    cited: &BTreeMap<u64, Vec<String>>,
    w: &mut PcapngWriter<BufWriter<File>>,
    summary: &mut EvidenceSummary,
) -> io::Result<()> {
    // Pass 1: the TCP connections the cited frames belong to.
    let mut keys: HashSet<ConnKey> = HashSet::new();
    let mut reader = open(path)?;
    let mut net = NetDecoder::new(NetLimits::default());
    while let Ok(Some(frame)) = reader.next_frame() {
        let hit = tcp_conn(&mut net, &frame);
        if let (true, Some((key, _))) = (cited.contains_key(&frame.number), hit) {
            keys.insert(key);
        }
    }

    // Pass 2: handshakes and earlier segments of the flights those frames complete.
    let mut context: BTreeMap<u64, String> = BTreeMap::new();
    if !keys.is_empty() {
        let mut state: HashMap<ConnKey, ConnState> = HashMap::new();
        let mut reader = open(path)?;
        let mut net = NetDecoder::new(NetLimits::default());
        while let Ok(Some(frame)) = reader.next_frame() {
            let Some((key, flags)) = tcp_conn(&mut net, &frame) else {
                continue;
            };
            if !keys.contains(&key) {
                continue;
            }
            let st = state.entry(key).or_default();
            let n = frame.number;
            if flags.has(TcpFlags::SYN) && !flags.has(TcpFlags::ACK) {
                *st = ConnState {
                    syn: Some(n),
                    ..ConnState::default()
                };
            } else if flags.has(TcpFlags::SYN) {
                st.syn_ack = Some(n);
            } else if !cited.contains_key(&n) {
                if st.prefix.len() >= MAX_PREFIX {
                    st.prefix.pop_front();
                }
                st.prefix.push_back(n);
            }
            if cited.contains_key(&n) {
                for h in [st.syn, st.syn_ack].into_iter().flatten() {
                    context.entry(h).or_insert_with(|| {
                        format!("{path} frame {h}: TCP handshake of the connection of frame {n}")
                    });
                }
                for p in st.prefix.drain(..) {
                    context.entry(p).or_insert_with(|| {
                        format!("{path} frame {p}: earlier segment of the connection of frame {n}")
                    });
                }
            }
        }
    }

    // Pass 3: write, in capture order.
    let mut reader = open(path)?;
    let mut found: BTreeSet<u64> = BTreeSet::new();
    let last_wanted = cited
        .keys()
        .chain(context.keys())
        .copied()
        .max()
        .unwrap_or(0);
    while let Ok(Some(frame)) = reader.next_frame() {
        let n = frame.number;
        if n > last_wanted {
            break;
        }
        let comments: Vec<&str> = match (cited.get(&n), context.get(&n)) {
            (Some(c), _) => c.iter().map(String::as_str).collect(),
            (None, Some(c)) => vec![c.as_str()],
            (None, None) => continue,
        };
        if !w.packet(&frame, &comments)? {
            continue;
        }
        found.insert(n);
        summary.frames += 1;
        if cited.contains_key(&n) {
            summary.cited += 1;
        } else {
            summary.context += 1;
        }
    }
    for &n in cited.keys() {
        if !found.contains(&n) {
            summary.missing.push((path.to_string(), n));
        }
    }
    Ok(())
}
