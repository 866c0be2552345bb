//! Which DNS answers an analysis run keeps, decided while the capture is decoded so that memory
//! follows the authentication traffic, not the capture's length.
//!
//! The rules read a DNS answer (RFC 1035 §4.1.3) only together with a later Kerberos or
//! application-authentication event of the same client: the CNAME chain before a TGS-REQ, the
//! name a client resolved before it connected. On SPAN traffic most answers go to clients that
//! never authenticate within the capture, and keeping every one made memory grow with the file
//! (about 25 MiB per GB of the generated corpus). So an answer to client C, kept by the event
//! filter at decoding position F (the frame being decoded), is kept for the analysis only when
//! some other kept event from or to C has a decoding position in `F ..= F + HORIZON`, or when
//! the capture ends before `F + HORIZON` and C sends or receives a kept event anywhere in the
//! capture. The analysis reads no answer of a client without such an event (`Model::build`),
//! so a capture shorter than the horizon gives the findings of keeping every answer, as the
//! live engine's window does, while the answers of the last `HORIZON` frames to clients that
//! never authenticate (most of them, on SPAN traffic) no longer stay to the end.
//!
//! Waiting answers are also capped in number (`PENDING_CAP` per run, split between the
//! workers): on a capture made mostly of DNS (a resolver's mirror port) 2^20 frames of answers
//! took 630 MiB. Past the cap the oldest answers are decided at once with the evidence
//! published so far, and `dns_pending_cap_hits` counts them; like the other caps this is the
//! one case where the kept answers can differ between thread counts.
//!
//! The flows of one client are spread over the workers, so the evidence comes from all of them:
//! every worker publishes the addresses of its kept events and how far it has decoded
//! (`progress`, all frames up to it). An answer at F is decided once every worker is past
//! F + HORIZON, when the published evidence for that range is complete, so the decision is a
//! function of the capture alone and the same for every thread count and schedule. What is
//! undecided when the workers finish is decided by `settle`, with all the evidence.
//!
//! ```text
//! worker k:  events ──► DNS answer? ──yes──► pending (position, event) ──► decided at
//!                          │no                                            min(progress) ≥ F+H
//!                          ▼
//!                 kept, src/dst published ──► shared: address → positions
//! ```

use std::collections::{BTreeSet, HashMap, HashSet, VecDeque};
use std::net::IpAddr;
use std::sync::{Arc, RwLock, RwLockReadGuard, RwLockWriteGuard};

use crate::event::{Event, EventBody};

/// Decoding positions after an answer within which its client's authentication must show.
/// On the generated corpus 2^20 frames are about 1 GB; a client asks the KDC right after the
/// lookup that named the service, so this is generous, and it bounds what waits for a decision.
pub(super) const HORIZON: u64 = 1 << 20;
/// Positions between two checkpoints of a worker that sees every frame number.
pub(super) const CHECK_EVERY: u64 = 4096;
/// At most this many answers wait for a decision in one run, split evenly between the workers
/// (about 35 MiB): far above the generated corpus's 22 000 answers per 2^20 frames, well
/// below the 256 MiB budget on a capture of DNS answers only.
pub(super) const PENDING_CAP: usize = 1 << 16;
/// Answers decided at once when a worker's share of `PENDING_CAP` is full (one lock).
const EVICT_BATCH_DIVISOR: usize = 8;
/// Evidence older than every worker's decided position minus `HORIZON` is dropped this often.
const PRUNE_EVERY: u64 = HORIZON / 4;
/// The decoding position of events flushed at the end of input.
pub(super) const AT_END: u64 = u64::MAX;

struct State {
    /// Per worker: every frame up to here is decoded and its events published.
    progress: Vec<u64>,
    /// Per worker: its pending answers up to here minus `HORIZON` are decided.
    decided: Vec<u64>,
    /// Decoding positions of kept events, by the addresses they were from or to.
    seen: HashMap<IpAddr, BTreeSet<u64>>,
    /// Every address a kept event was from or to, never pruned: it decides the answers still
    /// undecided when the capture ends. It grows with the authenticating hosts, not with the
    /// capture.
    ever_seen: HashSet<IpAddr>,
    pruned_at: u64,
}

/// What the workers of one capture share.
pub(super) struct Shared {
    state: RwLock<State>,
}

impl Shared {
    pub(super) fn new(workers: usize) -> Arc<Shared> {
        let n = workers.max(1);
        Arc::new(Shared {
            state: RwLock::new(State {
                progress: vec![0; n],
                decided: vec![0; n],
                seen: HashMap::new(),
                ever_seen: HashSet::new(),
                pruned_at: 0,
            }),
        })
    }

    /// A worker that panicked while holding the lock left consistent data behind (every update
    /// is a plain insert or store), so the state is used as is.
    fn lock(&self) -> RwLockWriteGuard<'_, State> {
        self.state.write().unwrap_or_else(|p| p.into_inner())
    }

    /// Read access for `settle`, which the workers run side by side once all are done.
    fn read(&self) -> RwLockReadGuard<'_, State> {
        self.state.read().unwrap_or_else(|p| p.into_inner())
    }

    /// A slot whose worker never runs (its thread could not start): it holds nothing back.
    pub(super) fn vacate(&self, slot: usize) {
        let mut s = self.lock();
        if let Some(p) = s.progress.get_mut(slot) {
            *p = AT_END;
        }
        if let Some(d) = s.decided.get_mut(slot) {
            *d = AT_END;
        }
    }

    /// Decides every answer still pending once all workers are done, in a capture of
    /// `frames` frames: (kept, set aside). An answer whose horizon reaches past the capture's
    /// end is kept when its client authenticates anywhere in the capture: the capture stopped
    /// before it could show whether the client authenticates later.
    pub(super) fn settle(&self, undecided: Vec<Pending>, frames: u64) -> (Vec<Event>, SetAside) {
        let s = self.read();
        let mut kept = Vec::new();
        let mut aside = SetAside::default();
        for (pos, event) in undecided {
            let cut_short = pos.saturating_add(HORIZON) > frames;
            if cut_short && s.ever_seen.contains(&event.dst) || relevant(&s.seen, event.dst, pos) {
                kept.push(event);
            } else {
                aside.add(&event);
            }
        }
        (kept, aside)
    }
}

/// A DNS answer waiting for a decision, with the position it was kept at.
pub(super) type Pending = (u64, Event);

/// The answers not kept: how many, and the last frame among them (the analysis still learns
/// from it that the capture went on until there).
#[derive(Clone, Copy, Debug, Default, PartialEq)]
pub(super) struct SetAside {
    pub(super) count: u64,
    pub(super) last_frame: u64,
}

impl SetAside {
    fn add(&mut self, event: &Event) {
        self.count += 1;
        self.last_frame = self.last_frame.max(event.frame);
    }

    pub(super) fn merge(&mut self, other: SetAside) {
        self.count += other.count;
        self.last_frame = self.last_frame.max(other.last_frame);
    }
}

fn relevant(seen: &HashMap<IpAddr, BTreeSet<u64>>, client: IpAddr, pos: u64) -> bool {
    seen.get(&client)
        .is_some_and(|s| s.range(pos..=pos.saturating_add(HORIZON)).next().is_some())
}

/// One worker's side: its answers waiting for a decision and the evidence not yet published.
pub(super) struct Retainer {
    shared: Arc<Shared>,
    slot: usize,
    unpublished: Vec<(IpAddr, u64)>,
    pending: VecDeque<Pending>,
    /// This worker's share of `PENDING_CAP`.
    cap: usize,
    /// Answers decided early because `pending` was full.
    cap_hits: u64,
    set_aside: SetAside,
    last_check: u64,
}

/// What a worker hands back at the end of its input.
pub(super) struct Finished {
    pub(super) undecided: Vec<Pending>,
    pub(super) set_aside: SetAside,
    pub(super) cap_hits: u64,
}

impl Retainer {
    pub(super) fn new(shared: &Arc<Shared>, slot: usize) -> Retainer {
        let workers = shared.read().progress.len().max(1);
        Retainer {
            shared: Arc::clone(shared),
            slot,
            unpublished: Vec::new(),
            pending: VecDeque::new(),
            cap: (PENDING_CAP / workers).max(EVICT_BATCH_DIVISOR),
            cap_hits: 0,
            set_aside: SetAside::default(),
            last_check: 0,
        }
    }

    /// Takes the events kept at position `pos` (those of `events` from `start` on): DNS
    /// answers wait for their decision, every other event stays and becomes evidence.
    pub(super) fn sort_new(&mut self, pos: u64, events: &mut Vec<Event>, start: usize) {
        let Some(new) = events.get(start..) else {
            return;
        };
        if !new.iter().any(|e| matches!(e.body, EventBody::Dns(_))) {
            for e in new {
                self.unpublished.push((e.src, pos));
                self.unpublished.push((e.dst, pos));
            }
            return;
        }
        for e in events.split_off(start) {
            if matches!(e.body, EventBody::Dns(_)) {
                self.pending.push_back((pos, e));
            } else {
                self.unpublished.push((e.src, pos));
                self.unpublished.push((e.dst, pos));
                events.push(e);
            }
        }
        if self.pending.len() > self.cap {
            self.decide_oldest(events);
        }
    }

    /// `pending` is over this worker's cap: decides its oldest eighth now, with the evidence
    /// every worker has published so far.
    #[cold]
    fn decide_oldest(&mut self, events: &mut Vec<Event>) {
        let mut s = self.shared.lock();
        publish(&mut s, &mut self.unpublished);
        for _ in 0..self.cap / EVICT_BATCH_DIVISOR {
            let Some((pos, event)) = self.pending.pop_front() else {
                break;
            };
            self.cap_hits += 1;
            if relevant(&s.seen, event.dst, pos) {
                events.push(event);
            } else {
                self.set_aside.add(&event);
            }
        }
    }

    /// Called for every frame number this worker's reader passes, after the frame's events:
    /// a checkpoint every `CHECK_EVERY` frames.
    #[inline]
    pub(super) fn passed(&mut self, number: u64, events: &mut Vec<Event>) {
        if number >= self.last_check.saturating_add(CHECK_EVERY) {
            self.checkpoint(number, events);
        }
    }

    /// Every frame up to `through` is decoded: publishes the evidence, and moves the answers
    /// that can now be decided into `events` (kept) or the count of those set aside.
    pub(super) fn checkpoint(&mut self, through: u64, events: &mut Vec<Event>) {
        self.last_check = through;
        let mut s = self.shared.lock();
        publish(&mut s, &mut self.unpublished);
        if let Some(p) = s.progress.get_mut(self.slot) {
            *p = (*p).max(through);
        }
        let everyone = s.progress.iter().copied().min().unwrap_or(0);
        while let Some((pos, _)) = self.pending.front()
            && pos.saturating_add(HORIZON) <= everyone
        {
            let Some((pos, event)) = self.pending.pop_front() else {
                break;
            };
            if relevant(&s.seen, event.dst, pos) {
                events.push(event);
            } else {
                self.set_aside.add(&event);
            }
        }
        if let Some(d) = s.decided.get_mut(self.slot) {
            *d = (*d).max(everyone);
        }
        let floor = s.decided.iter().copied().min().unwrap_or(0);
        if floor >= s.pruned_at.saturating_add(PRUNE_EVERY) {
            // Pending answers all sit above `floor - HORIZON`: older evidence can never count.
            let cut = floor.saturating_sub(HORIZON);
            s.seen.retain(|_, positions| {
                *positions = positions.split_off(&cut);
                !positions.is_empty()
            });
            s.pruned_at = floor;
        }
    }

    /// End of this worker's input (after its final flush): publishes what is left and hands
    /// back the answers still undecided, for `Shared::settle`, and the counts.
    pub(super) fn finish(mut self) -> Finished {
        Finished {
            undecided: std::mem::take(&mut self.pending).into(),
            set_aside: self.set_aside,
            cap_hits: self.cap_hits,
        }
    }
}

impl Drop for Retainer {
    /// Finished or unwound by a decoder panic, the worker no longer holds the others'
    /// decisions back. Its `decided` stays where it was: the answers `finish` handed back are
    /// settled later, and the evidence they need must not be pruned meanwhile.
    fn drop(&mut self) {
        let mut s = self.shared.lock();
        publish(&mut s, &mut self.unpublished);
        if let Some(p) = s.progress.get_mut(self.slot) {
            *p = AT_END;
        }
    }
}

fn publish(s: &mut State, unpublished: &mut Vec<(IpAddr, u64)>) {
    for (address, pos) in unpublished.drain(..) {
        s.ever_seen.insert(address);
        s.seen.entry(address).or_default().insert(pos);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::capture::Timestamp;
    use crate::event::{DnsEvent, HttpEvent};
    use std::net::Ipv4Addr;

    const CLIENT: IpAddr = IpAddr::V4(Ipv4Addr::new(10, 0, 0, 5));
    const OTHER: IpAddr = IpAddr::V4(Ipv4Addr::new(10, 0, 0, 6));
    const SERVER: IpAddr = IpAddr::V4(Ipv4Addr::new(10, 0, 0, 1));

    fn event(frame: u64, src: IpAddr, dst: IpAddr, body: EventBody) -> Event {
        Event {
            capture: 0,
            frame,
            ts: Timestamp::default(),
            src,
            dst,
            sport: 53,
            dport: 5353,
            conn: None,
            body,
        }
    }

    /// A DNS response with one A record (RFC 1035 §4.1), from the DNS server to `client`.
    fn answer(frame: u64, client: IpAddr) -> Event {
        let wire = [
            0x12, 0x34, 0x81, 0x80, 0, 1, 0, 1, 0, 0, 0, 0, 1, b'a', 0, 0, 1, 0, 1, 0xc0, 0x0c, 0,
            1, 0, 1, 0, 0, 0, 60, 0, 4, 10, 0, 0, 1,
        ];
        let message = crate::proto::dns::decode(&wire).expect("a valid DNS response");
        let body = EventBody::Dns(Box::new(DnsEvent {
            transport: "udp",
            flavor: None,
            message,
        }));
        event(frame, SERVER, client, body)
    }

    /// An HTTP request with an Authorization header from `client` (any kept event counts).
    fn auth(frame: u64, client: IpAddr) -> Event {
        let body = EventBody::Http(Box::new(HttpEvent {
            header: Some("Authorization".to_string()),
            ..HttpEvent::default()
        }));
        event(frame, client, SERVER, body)
    }

    /// Feeds `events` (already in the worker it belongs to) at their frame numbers.
    fn feed(r: &mut Retainer, kept: &mut Vec<Event>, events: Vec<Event>) {
        for e in events {
            let pos = e.frame;
            let start = kept.len();
            kept.push(e);
            r.sort_new(pos, kept, start);
            r.passed(pos, kept);
        }
    }

    fn frames(events: &[Event]) -> Vec<u64> {
        let mut f: Vec<u64> = events.iter().map(|e| e.frame).collect();
        f.sort_unstable();
        f
    }

    #[test]
    fn an_answer_is_kept_only_when_its_client_authenticates_within_the_horizon() {
        let shared = Shared::new(1);
        let mut r = Retainer::new(&shared, 0);
        let mut kept = Vec::new();
        let late = 100 + HORIZON + 1;
        feed(
            &mut r,
            &mut kept,
            vec![
                answer(10, CLIENT),  // auth at 20: kept
                answer(11, OTHER),   // OTHER never authenticates: set aside
                auth(20, CLIENT),    // evidence
                answer(100, CLIENT), // next CLIENT event is past the horizon: set aside
                auth(late, CLIENT),
                answer(late + 5, CLIENT), // followed by nothing: set aside
            ],
        );
        r.checkpoint(late + 10 + HORIZON, &mut kept);
        let Finished {
            undecided,
            set_aside: aside,
            ..
        } = r.finish();
        let (settled, aside_at_end) = shared.settle(undecided, late + 20 + HORIZON);
        kept.extend(settled);
        assert_eq!(frames(&kept), vec![10, 20, late]);
        assert_eq!(aside.count + aside_at_end.count, 3);
        let mut all = aside;
        all.merge(aside_at_end);
        assert_eq!(all.last_frame, late + 5);
    }

    #[test]
    fn evidence_from_another_worker_counts_and_decisions_wait_for_it() {
        let shared = Shared::new(2);
        let mut dns_worker = Retainer::new(&shared, 0);
        let mut krb_worker = Retainer::new(&shared, 1);
        let (mut a, mut b) = (Vec::new(), Vec::new());
        // Worker 0 races far ahead: its answer must not be decided before worker 1 has
        // published the Kerberos event at 50, even though 0's own progress passed 5 + HORIZON.
        feed(&mut dns_worker, &mut a, vec![answer(5, CLIENT)]);
        dns_worker.checkpoint(10 * HORIZON, &mut a);
        assert!(a.is_empty(), "decided before the other worker caught up");
        feed(&mut krb_worker, &mut b, vec![auth(50, CLIENT)]);
        krb_worker.checkpoint(10 * HORIZON, &mut b);
        dns_worker.checkpoint(10 * HORIZON + 1, &mut a);
        assert_eq!(frames(&a), vec![5]);
    }

    #[test]
    fn evidence_is_pruned_only_below_every_pending_answer() {
        let shared = Shared::new(1);
        let mut r = Retainer::new(&shared, 0);
        let mut kept = Vec::new();
        feed(&mut r, &mut kept, vec![auth(1, CLIENT)]);
        // Far later: the old evidence is pruned, a new answer and its evidence still meet.
        let far = 5 * HORIZON;
        r.checkpoint(far, &mut kept);
        assert!(
            !shared.lock().seen.contains_key(&CLIENT),
            "stale evidence kept"
        );
        feed(
            &mut r,
            &mut kept,
            vec![answer(far + 1, CLIENT), auth(far + 2, CLIENT)],
        );
        kept.extend(shared.settle(r.finish().undecided, far + 2).0);
        assert_eq!(frames(&kept), vec![1, far + 1, far + 2]);
    }

    #[test]
    fn a_vacated_or_dropped_worker_does_not_hold_decisions_back() {
        let shared = Shared::new(3);
        shared.vacate(2);
        let mut r = Retainer::new(&shared, 0);
        drop(Retainer::new(&shared, 1));
        let mut kept = Vec::new();
        feed(&mut r, &mut kept, vec![answer(1, CLIENT)]);
        r.checkpoint(HORIZON + 1, &mut kept);
        assert!(r.pending.is_empty(), "answer still waiting");
        assert!(kept.is_empty());
        assert_eq!(r.set_aside.count, 1);
    }

    #[test]
    fn a_full_queue_decides_its_oldest_answers_early_with_the_evidence_so_far() {
        let shared = Shared::new(1);
        let mut r = Retainer::new(&shared, 0);
        assert_eq!(r.cap, PENDING_CAP);
        r.cap = 16;
        let mut kept = Vec::new();
        // CLIENT's answer at 1 is followed by its authentication at 2; OTHER never
        // authenticates. 40 answers are more than the cap: the oldest are decided at once.
        let mut events = vec![answer(1, CLIENT), auth(2, CLIENT)];
        events.extend((3..43).map(|f| answer(f, OTHER)));
        feed(&mut r, &mut kept, events);
        assert!(r.pending.len() <= 16, "{} answers wait", r.pending.len());
        assert_eq!(r.cap_hits, 40 + 1 - r.pending.len() as u64);
        assert_eq!(
            frames(&kept),
            vec![1, 2],
            "the answer with evidence is kept"
        );
        assert_eq!(r.set_aside.count, r.cap_hits - 1);
    }
}
