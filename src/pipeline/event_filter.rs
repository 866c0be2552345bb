//! Keeps the events of an analysis run small on captures full of background traffic: an HTTP
//! event is kept when it carries an authentication header (RFC 9110 §11: `Authorization`,
//! `WWW-Authenticate`, `Proxy-*`) or a 401 / 407 status, together with up to `CONTEXT` plain
//! messages of the same connection just before it and just after it (the request a challenge
//! answers, the 200 that follows a successful AP-REQ). All other HTTP events are dropped as they
//! are decoded. DNS queries and answerless responses (NXDOMAIN, an empty AAAA) are dropped too:
//! the analysis reads only the names and addresses responses give, and on SPAN traffic those
//! two are most DNS events. Kerberos events and DNS responses with answers always pass, the
//! latter cut down to their names and addresses (`DnsMessage::retain_resolution`), which is all
//! the analysis reads of them and what it describes them by.
//!
//! The rule looks at one connection at a time and measures distance in frames being decoded,
//! never in wall time or in other connections' traffic, so it keeps the same events for every
//! thread count: context older than `WINDOW` frames is forgotten, which also bounds the state
//! to the connections active in the last `WINDOW` frames.

use std::collections::{HashMap, VecDeque};

use crate::event::{Event, EventBody};

/// Plain messages kept on each side of an authentication message.
const CONTEXT: usize = 4;
/// Frames after which a connection's context is forgotten.
const WINDOW: u64 = 50_000;
/// Frames between two sweeps of forgotten connections.
const SWEEP_EVERY: u64 = 65_536;

#[derive(Default)]
struct ConnState {
    /// Plain messages waiting for an authentication message (at most `CONTEXT`).
    before: VecDeque<Event>,
    /// Plain messages still to keep after the last authentication message.
    after: usize,
    /// Decoding position (frame number) of the connection's last HTTP event.
    last: u64,
}

pub(super) struct EventFilter {
    keep_all: bool,
    conns: HashMap<u64, ConnState>,
    last_sweep: u64,
}

impl EventFilter {
    pub(super) fn new(keep_plain_http: bool) -> EventFilter {
        EventFilter {
            keep_all: keep_plain_http,
            conns: HashMap::new(),
            last_sweep: 0,
        }
    }

    /// Moves the events of `new` (decoded while at frame `pos`) that are kept into `out`.
    pub(super) fn keep(&mut self, pos: u64, new: &mut Vec<Event>, out: &mut Vec<Event>) {
        if self.keep_all {
            out.append(new);
            return;
        }
        for mut event in new.drain(..) {
            let (auth, conn) = match &mut event.body {
                EventBody::Http(h) => (
                    h.header.is_some() || matches!(h.status, Some(401 | 407)),
                    event.conn,
                ),
                EventBody::Dns(d) if !d.message.response || d.message.answers.is_empty() => {
                    continue;
                }
                EventBody::Dns(d) => {
                    d.message.retain_resolution();
                    out.push(event);
                    continue;
                }
                _ => {
                    out.push(event);
                    continue;
                }
            };
            let Some(conn) = conn else {
                out.push(event);
                continue;
            };
            let state = self.conns.entry(conn).or_default();
            if state.last.saturating_add(WINDOW) < pos {
                // Forgotten: behave exactly as a sweep would have.
                *state = ConnState::default();
            }
            state.last = pos;
            if auth {
                out.extend(state.before.drain(..));
                out.push(event);
                state.after = CONTEXT;
            } else if state.after > 0 {
                state.after -= 1;
                out.push(event);
            } else {
                if state.before.len() >= CONTEXT {
                    state.before.pop_front();
                }
                state.before.push_back(event);
            }
        }
        if pos >= self.last_sweep.saturating_add(SWEEP_EVERY) {
            self.last_sweep = pos;
            self.conns
                .retain(|_, s| s.last.saturating_add(WINDOW) >= pos);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::capture::Timestamp;
    use crate::event::{DnsEvent, HttpEvent};
    use std::net::{IpAddr, Ipv4Addr};

    fn http(frame: u64, conn: u64, status: Option<u16>, header: bool) -> Event {
        Event {
            capture: 0,
            frame,
            ts: Timestamp::default(),
            src: IpAddr::V4(Ipv4Addr::LOCALHOST),
            dst: IpAddr::V4(Ipv4Addr::LOCALHOST),
            sport: 1,
            dport: 80,
            conn: Some(conn),
            body: EventBody::Http(Box::new(HttpEvent {
                status,
                header: header.then(|| "WWW-Authenticate".to_string()),
                ..HttpEvent::default()
            })),
        }
    }

    fn run(filter: &mut EventFilter, events: Vec<Event>) -> Vec<u64> {
        let mut out = Vec::new();
        for e in events {
            let pos = e.frame;
            filter.keep(pos, &mut vec![e], &mut out);
        }
        out.iter().map(|e| e.frame).collect()
    }

    #[test]
    fn plain_connection_is_dropped_auth_connection_keeps_context() {
        let mut f = EventFilter::new(false);
        let mut events: Vec<Event> = (1..=10).map(|i| http(i, 7, Some(200), false)).collect();
        // Connection 9: six plain messages, a 401, then six more plain ones.
        events.extend((11..=16).map(|i| http(i, 9, Some(200), false)));
        events.push(http(17, 9, Some(401), false));
        events.extend((18..=23).map(|i| http(i, 9, Some(200), false)));
        let kept = run(&mut f, events);
        // CONTEXT = 4 before (13..=16), the 401, CONTEXT after (18..=21).
        assert_eq!(kept, vec![13, 14, 15, 16, 17, 18, 19, 20, 21]);
    }

    #[test]
    fn auth_header_counts_and_other_protocols_pass() {
        let mut f = EventFilter::new(false);
        let dns = |frame: u64, wire: &[u8]| Event {
            body: EventBody::Dns(Box::new(DnsEvent {
                transport: "udp",
                flavor: None,
                message: crate::proto::dns::decode(wire).unwrap(),
            })),
            conn: None,
            ..http(frame, 0, None, false)
        };
        // A one-question query for "a" (RFC 1035 §4.1): the analysis never reads queries.
        let query = dns(
            1,
            &[
                0x12, 0x34, 1, 0, 0, 1, 0, 0, 0, 0, 0, 0, 1, b'a', 0, 0, 1, 0, 1,
            ],
        );
        // Its response with one A record (name by compression pointer to offset 12).
        let answer = dns(
            4,
            &[
                0x12, 0x34, 0x81, 0x80, 0, 1, 0, 1, 0, 0, 0, 0, 1, b'a', 0, 0, 1, 0, 1, 0xc0, 0x0c,
                0, 1, 0, 1, 0, 0, 0, 60, 0, 4, 10, 0, 0, 1,
            ],
        );
        // The same response without answers (an empty AAAA, NXDOMAIN): nothing to correlate.
        let empty = dns(
            5,
            &[
                0x12, 0x34, 0x81, 0x83, 0, 1, 0, 0, 0, 0, 0, 0, 1, b'a', 0, 0, 1, 0, 1,
            ],
        );
        let kept = run(
            &mut f,
            vec![
                query,
                http(2, 3, None, true),
                http(3, 4, None, false),
                answer,
                empty,
            ],
        );
        assert_eq!(kept, vec![2, 4]);
    }

    #[test]
    fn context_is_forgotten_after_the_window() {
        let mut f = EventFilter::new(false);
        let far = WINDOW + 10;
        let kept = run(
            &mut f,
            vec![http(1, 5, Some(200), false), http(far, 5, Some(401), false)],
        );
        assert_eq!(
            kept,
            vec![far],
            "a message WINDOW frames earlier is not context"
        );
    }

    #[test]
    fn keep_all_passes_everything() {
        let mut f = EventFilter::new(true);
        let kept = run(
            &mut f,
            (1..=5).map(|i| http(i, 1, Some(200), false)).collect(),
        );
        assert_eq!(kept, vec![1, 2, 3, 4, 5]);
    }
}
