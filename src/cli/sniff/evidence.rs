//! `sniff --evidence FILE.pcapng`: the frames the findings cite, kept from the live stream
//! (there is no file to re-read them from, unlike `report::write_evidence`).
//!
//! Three bounded stores: a ring of the most recent frames; candidates (every frame that
//! completed an event, plus, for a Kerberos-over-TCP or HTTP-authentication message, the TCP
//! handshake and the earlier segments of its flight found in the ring at that moment, because
//! a message is cited at the segment that completes it and a reader needs all of them to
//! reassemble it); and pinned frames, copied from the candidates when a finding cites them.
//! Candidates leave with the correlation window; pinned frames stay until the end.

use std::collections::{BTreeMap, VecDeque};
use std::io;
use std::path::Path;

use kerbscope::analyze::finding::Finding;
use kerbscope::capture::{Frame, LinkType, Timestamp};
use kerbscope::event::{Event, EventBody};
use kerbscope::net::{NetDecoder, NetLimits, TcpFlags, Transport};

use super::pcapng_out;

/// Bytes of recent frames kept for TCP context.
const RING_BYTES: usize = 16 << 20;
/// Frames looked at, newest first, when collecting a message's context.
const CONTEXT_SCAN: usize = 4096;
/// Earlier segments of one flight kept as context.
const MAX_FLIGHT: usize = 64;
/// Candidate bytes (frames that completed an event, and their context).
const CANDIDATE_BYTES: usize = 64 << 20;
/// Pinned bytes (frames findings cited).
const PINNED_BYTES: usize = 128 << 20;

#[derive(Clone)]
struct Stored {
    number: u64,
    ts: Timestamp,
    link: LinkType,
    orig_len: u32,
    data: Vec<u8>,
}

impl Stored {
    fn frame(&self) -> Frame<'_> {
        Frame {
            number: self.number,
            ts: self.ts,
            link_type: self.link,
            data: &self.data,
            orig_len: self.orig_len,
        }
    }
}

/// A candidate frame with the context frames it needs.
struct Candidate {
    frame: Stored,
    context: Vec<u64>,
}

pub struct EvidenceKeeper {
    name: String,
    ring: VecDeque<Stored>,
    ring_bytes: usize,
    candidates: BTreeMap<u64, Candidate>,
    context: BTreeMap<u64, Stored>,
    candidate_bytes: usize,
    /// Frame → (frame, comments).
    pinned: BTreeMap<u64, (Stored, Vec<String>)>,
    pinned_bytes: usize,
    /// Cited frames that were no longer held when their finding was proven.
    pub missing: u64,
    net: NetDecoder,
}

impl EvidenceKeeper {
    pub fn new(name: &str) -> EvidenceKeeper {
        EvidenceKeeper {
            name: name.to_string(),
            ring: VecDeque::new(),
            ring_bytes: 0,
            candidates: BTreeMap::new(),
            context: BTreeMap::new(),
            candidate_bytes: 0,
            pinned: BTreeMap::new(),
            pinned_bytes: 0,
            missing: 0,
            net: NetDecoder::new(NetLimits::default()),
        }
    }

    /// Every captured frame passes here, with the events it completed.
    pub fn frame<'e>(&mut self, frame: &Frame<'_>, events: impl Iterator<Item = &'e Event>) {
        let mut wants_context = None;
        let mut is_candidate = false;
        for e in events {
            is_candidate = true;
            let auth = match &e.body {
                EventBody::Kerberos(k) => k.transport == "tcp",
                EventBody::Http(h) => h.header.is_some() || matches!(h.status, Some(401 | 407)),
                EventBody::Dns(_) => false,
                // GSS / NTLM tokens of other application protocols (SMB, LDAP, ...) ride on TCP.
                #[allow(unreachable_patterns)]
                _ => e.conn.is_some(),
            };
            if auth {
                wants_context = Some(((e.src, e.sport), (e.dst, e.dport)));
            }
        }
        if is_candidate {
            let context = match wants_context {
                Some(key) => self.collect_context(key),
                None => Vec::new(),
            };
            self.candidate_bytes += frame.data.len();
            self.candidates.insert(
                frame.number,
                Candidate {
                    frame: store(frame, None),
                    context,
                },
            );
            self.trim_candidates(0);
        }
        // The ring reuses the buffer of the frame it drops.
        let mut reuse = None;
        while self.ring_bytes + frame.data.len() > RING_BYTES {
            let Some(old) = self.ring.pop_front() else {
                break;
            };
            self.ring_bytes -= old.data.len();
            reuse = Some(old.data);
        }
        self.ring_bytes += frame.data.len();
        self.ring.push_back(store(frame, reuse));
    }

    /// Frame numbers of the handshake and earlier same-direction segments of the connection
    /// `key` (source, destination of the completing segment), copied into `context`.
    fn collect_context(
        &mut self,
        key: ((std::net::IpAddr, u16), (std::net::IpAddr, u16)),
    ) -> Vec<u64> {
        let mut picked = Vec::new();
        let mut flight_open = true;
        for s in self.ring.iter().rev().take(CONTEXT_SCAN) {
            let Some(pkt) = self.net.decode(&s.frame()) else {
                continue;
            };
            let Transport::Tcp(seg) = pkt.transport else {
                continue;
            };
            let a = (pkt.src, pkt.sport);
            let b = (pkt.dst, pkt.dport);
            let same_dir = (a, b) == key;
            if !same_dir && (b, a) != key {
                continue;
            }
            if seg.flags.has(TcpFlags::SYN) {
                picked.push(s.clone());
                if !seg.flags.has(TcpFlags::ACK) {
                    break; // the connection's first packet: nothing older belongs to it
                }
                continue;
            }
            if !seg.payload.is_empty() {
                if !same_dir {
                    flight_open = false;
                } else if flight_open && picked.len() < MAX_FLIGHT {
                    picked.push(s.clone());
                }
            }
        }
        let numbers = picked.iter().map(|s| s.number).collect();
        for s in picked {
            self.candidate_bytes += s.data.len();
            self.context.entry(s.number).or_insert(s);
        }
        numbers
    }

    /// Drop candidates below frame `below` (they left the correlation window) and the oldest
    /// ones while over budget.
    pub fn trim_candidates(&mut self, below: u64) {
        let mut dropped = false;
        while let Some((&n, _)) = self.candidates.first_key_value() {
            if n >= below && self.candidate_bytes <= CANDIDATE_BYTES {
                break;
            }
            if let Some((_, c)) = self.candidates.pop_first() {
                self.candidate_bytes = self.candidate_bytes.saturating_sub(c.frame.data.len());
                dropped = true;
            }
        }
        if !dropped {
            return;
        }
        let oldest = self
            .candidates
            .first_key_value()
            .map_or(u64::MAX, |(&n, _)| n);
        // Context frames are older than their candidate; keep those a remaining one may need.
        let keep_from = self
            .candidates
            .values()
            .flat_map(|c| c.context.iter().copied())
            .min()
            .unwrap_or(oldest)
            .min(oldest);
        while let Some((&n, _)) = self.context.first_key_value() {
            if n >= keep_from {
                break;
            }
            if let Some((_, s)) = self.context.pop_first() {
                self.candidate_bytes = self.candidate_bytes.saturating_sub(s.data.len());
            }
        }
    }

    /// Keep the frames `findings` cite, with comments saying what they prove.
    pub fn pin(&mut self, findings: &[Finding]) {
        for f in findings {
            for &n in &f.frames {
                let whats: Vec<String> = f
                    .evidence
                    .iter()
                    .filter(|e| e.frame == n)
                    .map(|e| format!("{} frame {n}: {}: {}", self.name, f.kind.as_str(), e.what))
                    .collect();
                let comments = if whats.is_empty() {
                    vec![format!(
                        "{} frame {n}: cited by {}",
                        self.name,
                        f.kind.as_str()
                    )]
                } else {
                    whats
                };
                if let Some((_, c)) = self.pinned.get_mut(&n) {
                    for w in comments {
                        if !c.contains(&w) {
                            c.push(w);
                        }
                    }
                    continue;
                }
                let Some(cand) = self.candidates.get(&n) else {
                    self.missing += 1;
                    continue;
                };
                if self.pinned_bytes + cand.frame.data.len() > PINNED_BYTES {
                    self.missing += 1;
                    continue;
                }
                let ctx: Vec<Stored> = cand
                    .context
                    .iter()
                    .filter_map(|c| self.context.get(c).cloned())
                    .collect();
                self.pinned_bytes += cand.frame.data.len();
                self.pinned.insert(n, (cand.frame.clone(), comments));
                for s in ctx {
                    let note = format!(
                        "{} frame {}: TCP handshake or earlier segment of frame {n}",
                        self.name, s.number
                    );
                    self.pinned_bytes += s.data.len();
                    self.pinned.entry(s.number).or_insert((s, vec![note]));
                }
            }
        }
    }

    /// Write the pinned frames, in frame order. Returns (frames written, cited frames missing).
    pub fn write(&self, path: &Path, findings: usize) -> io::Result<(u64, u64)> {
        let comment = format!(
            "kerbscope sniff evidence: {findings} findings from {}; packet bytes are unmodified; \
             comments give the live frame numbers",
            self.name
        );
        let mut out = pcapng_out::create(path, &comment, &self.name)?;
        let mut written = 0;
        for (s, comments) in self.pinned.values() {
            let refs: Vec<&str> = comments.iter().map(String::as_str).collect();
            if out.packet(&s.frame(), &refs)? {
                written += 1;
            }
        }
        out.flush()?;
        Ok((written, self.missing))
    }
}

fn store(frame: &Frame<'_>, reuse: Option<Vec<u8>>) -> Stored {
    let mut data = reuse.unwrap_or_default();
    data.clear();
    data.extend_from_slice(frame.data);
    Stored {
        number: frame.number,
        ts: frame.ts,
        link: frame.link_type,
        orig_len: frame.orig_len,
        data,
    }
}
