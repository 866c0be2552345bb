//! HTTP/1.x message framing on one connection (RFC 9112): heads are parsed, bodies skipped by
//! Content-Length, chunked coding or connection close, requests matched to responses in order
//! (keep-alive and pipelining), and every authentication header turned into an event with its
//! decoded token (RFC 4559 Negotiate, NTLM, Kerberos, CredSSP, Basic).

use std::collections::VecDeque;

use crate::event::{Event, EventBody, HttpEvent};
use crate::net::{Direction, HalfStream, SkipEnd};
use crate::proto::http::{
    self, AUTH_HEADERS, BodyFraming, ChunkedDecoder, HeadError, MessageHead, StartLine,
};
use crate::proto::{credssp, gss};

use super::DissectStats;
use super::tcp_app::{Emitter, dir_index, side};

/// Requests waiting for their response; more than this means we lost track (or a flood).
const MAX_PENDING_REQUESTS: usize = 64;
const WINRM_PORTS: [u16; 2] = [5985, 5986];

#[derive(Default)]
enum BodyState {
    #[default]
    Head,
    /// A Content-Length body: skipped in the stream (`HalfStream::skip_tracked`), never copied.
    Fixed(u64),
    /// The rest of a `Fixed` body is being skipped as it arrives.
    Skipping,
    Chunked(ChunkedDecoder),
    UntilClose,
}

#[derive(Default)]
struct HalfState {
    body: BodyState,
    /// Framing was lost: skip to the next start line.
    resync: bool,
    /// Events of the message whose body is still arriving: Wireshark reports an HTTP message at
    /// the frame that completes its body, so they wait for that frame.
    held: Vec<Event>,
}

impl HalfState {
    /// The body ended with byte `end` of `half.data()`: release the held events at that frame.
    fn release(&mut self, half: &HalfStream, end: usize, out: &mut Vec<Event>) {
        self.release_at(SkipEnd::Arrived(half.frame_at(end), half.ts_at(end)), out);
    }

    /// The skipped body ended: release the held events at the frame that completed it, or,
    /// when its end was lost, where they are (the frame of the head, as after a gap).
    fn release_at(&mut self, end: SkipEnd, out: &mut Vec<Event>) {
        for mut ev in self.held.drain(..) {
            if let SkipEnd::Arrived(frame, ts) = end {
                ev.frame = frame;
                ev.ts = ts;
            }
            out.push(ev);
        }
    }
}

struct PendingRequest {
    method: String,
    uri: String,
    host: Option<String>,
}

#[derive(Default)]
pub(super) struct HttpConn {
    halves: [HalfState; 2],
    pending: VecDeque<PendingRequest>,
}

impl HttpConn {
    /// Bytes were lost: a body in progress cannot complete; report its message at the frame
    /// where its head was seen.
    pub fn on_gap(&mut self, dir: Direction, out: &mut Vec<Event>) {
        let half = side(&mut self.halves, dir_index(dir));
        out.append(&mut half.held);
        half.body = BodyState::Head;
        half.resync = true;
    }

    /// The connection is gone: report messages still waiting for their body.
    pub fn drain(&mut self, out: &mut Vec<Event>) {
        for half in &mut self.halves {
            out.append(&mut half.held);
        }
    }

    pub fn on_data(
        &mut self,
        emit: &Emitter<'_>,
        half: &mut HalfStream,
        stats: &mut DissectStats,
        out: &mut Vec<Event>,
    ) {
        let d = dir_index(emit.dir);
        if let Some(end) = half.take_skip_end() {
            let state = side(&mut self.halves, d);
            if matches!(state.body, BodyState::Skipping) {
                state.body = BodyState::Head;
                state.release_at(end, out);
            }
        }
        loop {
            let data = half.data();
            if data.is_empty() {
                return;
            }
            let state = side(&mut self.halves, d);
            match &mut state.body {
                BodyState::Fixed(left) => {
                    let body = *left;
                    match half.skip_tracked(body) {
                        Some(end) => {
                            state.body = BodyState::Head;
                            state.release_at(end, out);
                            continue;
                        }
                        None => {
                            state.body = BodyState::Skipping;
                            return;
                        }
                    }
                }
                // The skip drops the body's bytes before they reach `data()`.
                BodyState::Skipping => return,
                BodyState::Chunked(dec) => match dec.feed(data) {
                    Ok((used, done)) => {
                        if done {
                            state.body = BodyState::Head;
                            state.release(half, used, out);
                        }
                        if used == 0 && !done {
                            return;
                        }
                        half.consume(used);
                        continue;
                    }
                    Err(HeadError::NeedMore) => return,
                    Err(_) => {
                        stats.http_malformed += 1;
                        out.append(&mut state.held);
                        state.body = BodyState::Head;
                        state.resync = true;
                        continue;
                    }
                },
                BodyState::UntilClose => {
                    half.consume(data.len());
                    return;
                }
                BodyState::Head => {}
            }
            if state.resync {
                match http::find_message_start(data) {
                    Some(off) => {
                        stats.http_resyncs += 1;
                        state.resync = false;
                        half.consume(off);
                        continue;
                    }
                    None => {
                        // Keep a short tail: a start line may straddle the next segment.
                        half.consume(data.len().saturating_sub(16));
                        return;
                    }
                }
            }
            let parsed = match http::parse_head(data) {
                Ok((head, len)) => {
                    if head.anomalies.contains(&"too_many_headers") {
                        stats.http_header_limit_hits += 1;
                    }
                    Ok(self.on_head(emit, half, &head, len, stats, out))
                }
                Err(HeadError::NeedMore) => return,
                Err(e) => {
                    if e == HeadError::TooLarge {
                        stats.http_head_size_limit_hits += 1;
                    }
                    Err(())
                }
            };
            match parsed {
                Ok(len) => half.consume(len),
                Err(()) => {
                    stats.http_malformed += 1;
                    side(&mut self.halves, d).resync = true;
                    // Step past the bad start so the resync search finds the next head.
                    half.consume(1);
                }
            }
        }
    }

    /// Record a parsed head: emit its events, set up body skipping. Returns the head length.
    fn on_head(
        &mut self,
        emit: &Emitter<'_>,
        half: &HalfStream,
        head: &MessageHead<'_>,
        len: usize,
        stats: &mut DissectStats,
        out: &mut Vec<Event>,
    ) -> usize {
        stats.http_messages += 1;
        let d = dir_index(emit.dir);
        let mut base = HttpEvent::default();
        let mut request_method = None;
        let mut tunnel = false;
        match &head.start {
            StartLine::Request { method, target, .. } => {
                base.method = Some((*method).to_string());
                base.uri = Some(truncate(target, 2048));
                base.host = head.host().map(|h| truncate(h, 512));
                if self.pending.len() < MAX_PENDING_REQUESTS {
                    self.pending.push_back(PendingRequest {
                        method: (*method).to_string(),
                        uri: truncate(target, 2048),
                        host: base.host.clone(),
                    });
                }
            }
            StartLine::Response { status, .. } => {
                base.status = Some(*status);
                // 1xx (other than 101) are interim: the request still awaits its final answer.
                let interim = (100..200).contains(status) && *status != 101;
                let request = if interim {
                    None
                } else {
                    self.pending.pop_front()
                };
                if let Some(req) = &request {
                    base.host = req.host.clone();
                    base.request_uri = Some(req.uri.clone());
                    tunnel = *status == 101
                        || (req.method.eq_ignore_ascii_case("CONNECT")
                            && (200..300).contains(status));
                    request_method = Some(req.method.clone());
                } else if *status == 101 {
                    tunnel = true;
                }
            }
        }
        base.winrm = base
            .uri
            .as_deref()
            .or(base.request_uri.as_deref())
            .is_some_and(|u| {
                u.as_bytes()
                    .get(..6)
                    .is_some_and(|p| p.eq_ignore_ascii_case(b"/wsman"))
            })
            || WINRM_PORTS.contains(&emit.endpoints.server.port());

        let mut events = Vec::new();
        let mut any_auth = false;
        for (name, value) in head.headers.iter() {
            let Some(canonical) = AUTH_HEADERS.iter().find(|h| h.eq_ignore_ascii_case(name)) else {
                continue;
            };
            any_auth = true;
            stats.http_auth_headers += 1;
            let ev = auth_event(&base, canonical, value, emit.keep_krb, stats);
            events.push(emit.event(half, len, EventBody::Http(Box::new(ev))));
        }
        if !any_auth {
            events.push(emit.event(half, len, EventBody::Http(Box::new(base))));
        }

        let framing = head.body_framing(request_method.as_deref());
        side(&mut self.halves, d).body = if tunnel {
            BodyState::UntilClose
        } else {
            match framing {
                BodyFraming::None => BodyState::Head,
                BodyFraming::ContentLength(0) => BodyState::Head,
                BodyFraming::ContentLength(n) => BodyState::Fixed(n),
                BodyFraming::Chunked => BodyState::Chunked(ChunkedDecoder::new()),
                BodyFraming::UntilClose => BodyState::UntilClose,
            }
        };
        if tunnel {
            side(&mut self.halves, d ^ 1).body = BodyState::UntilClose;
        }
        let half = side(&mut self.halves, d);
        match half.body {
            BodyState::Fixed(_) | BodyState::Chunked(_) | BodyState::Skipping => {
                half.held = events;
            }
            BodyState::Head | BodyState::UntilClose => out.append(&mut events),
        }
        len
    }
}

/// The canonical capitalisation of an auth header name, for reports.
fn display_header(lower: &str) -> &'static str {
    match lower {
        "authorization" => "Authorization",
        "www-authenticate" => "WWW-Authenticate",
        "proxy-authorization" => "Proxy-Authorization",
        _ => "Proxy-Authenticate",
    }
}

fn auth_event(
    base: &HttpEvent,
    header: &str,
    value: &str,
    keep_krb: bool,
    stats: &mut DissectStats,
) -> HttpEvent {
    let mut ev = base.clone();
    ev.header = Some(display_header(header).to_string());
    let challenges = http::parse_auth(value);
    let primary = challenges
        .iter()
        .position(|c| c.token.is_some())
        .unwrap_or(0);
    for (i, ch) in challenges.iter().enumerate() {
        if ch.token_over_limit {
            stats.token_size_limit_hits += 1;
        }
        if i != primary {
            ev.also_offered.push(truncate(&ch.scheme, 64));
            continue;
        }
        ev.scheme = Some(truncate(&ch.scheme, 64));
        ev.basic_user = ch.basic_user.clone();
        ev.token_error = ch.decode_error.clone();
        if let Some(token) = &ch.token {
            ev.token_len = Some(token.len());
            if ch.scheme.eq_ignore_ascii_case("CredSSP") {
                // CredSSP carries TLS records (MS-CSSP), not a GSS token.
                ev.token = Some("credssp-tls");
                ev.credssp = Some(credssp::decode(token));
            } else {
                if keep_krb {
                    ev.raw = super::keys::raw_krb_in_token(token);
                }
                let decoded = gss::decode_token(token);
                if matches!(decoded, gss::GssToken::Malformed { .. }) {
                    stats.tokens_malformed += 1;
                }
                stats.token_limit(&decoded);
                ev.token = Some(decoded.kind());
                ev.inner_token = decoded.inner_kind();
                ev.gss = Some(decoded);
            }
        }
    }
    ev
}

fn truncate(s: &str, max: usize) -> String {
    if s.len() <= max {
        return s.to_string();
    }
    let mut end = max;
    while !s.is_char_boundary(end) {
        end -= 1;
    }
    s[..end].to_string()
}
