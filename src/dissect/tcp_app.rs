//! Per-connection application framing over reassembled TCP: Kerberos record marks (RFC 4120
//! §7.2.2) on port 88, DNS length prefixes (RFC 1035 §4.2.2) on port 53, and HTTP/1.x on any
//! port, recognised by its request or status line rather than by the port.

use crate::event::{Event, EventBody};
use crate::net::{ConnId, Direction, Endpoints, HalfStream};
use crate::proto::{dns, http, kerberos};

use super::DissectStats;
use super::http_stream::HttpConn;
use super::udp::{KERBEROS_PORT, dns_body, kerberos_body};

/// How many bytes of a connection we look at before deciding it is not HTTP. Enough for a
/// mid-stream pickup to reach the next message head in most keep-alive connections.
const HTTP_PROBE_LIMIT: usize = 16 * 1024;
/// Fewer bytes than this cannot tell an HTTP start line from something else; wait for more.
const HTTP_PROBE_MIN: usize = 8;

enum AppKind {
    Undecided,
    Kerberos,
    Dns,
    Http(Box<HttpConn>),
    /// Not a protocol we decode: data is consumed as it arrives.
    Ignore,
}

pub(super) struct AppStream {
    kind: AppKind,
    /// After malformed framing in a direction, skip its bytes until the next gap lets us resync.
    skip: [bool; 2],
}

pub(super) fn dir_index(dir: Direction) -> usize {
    match dir {
        Direction::ToServer => 0,
        Direction::ToClient => 1,
    }
}

/// Source and destination of a segment travelling in `dir`.
pub(super) fn addresses(
    ep: &Endpoints,
    dir: Direction,
) -> (std::net::IpAddr, u16, std::net::IpAddr, u16) {
    match dir {
        Direction::ToServer => (
            ep.client.ip(),
            ep.client.port(),
            ep.server.ip(),
            ep.server.port(),
        ),
        Direction::ToClient => (
            ep.server.ip(),
            ep.server.port(),
            ep.client.ip(),
            ep.client.port(),
        ),
    }
}

/// Builds events for messages completed inside one direction of one connection.
pub(super) struct Emitter<'a> {
    pub capture: usize,
    pub conn: ConnId,
    pub dir: Direction,
    pub endpoints: &'a Endpoints,
}

impl Emitter<'_> {
    pub fn event(&self, half: &HalfStream, end: usize, body: EventBody) -> Event {
        let (src, sport, dst, dport) = addresses(self.endpoints, self.dir);
        Event {
            capture: self.capture,
            frame: half.frame_at(end),
            ts: half.ts_at(end),
            src,
            dst,
            sport,
            dport,
            conn: Some(self.conn.0),
            body,
        }
    }
}

impl AppStream {
    pub fn new(ep: &Endpoints, stats: &mut DissectStats) -> Self {
        let kind = if ep.server.port() == KERBEROS_PORT || ep.client.port() == KERBEROS_PORT {
            stats.tcp_connections_kerberos += 1;
            AppKind::Kerberos
        } else if ep.server.port() == 53 || ep.client.port() == 53 {
            stats.tcp_connections_dns += 1;
            AppKind::Dns
        } else {
            AppKind::Undecided
        };
        AppStream {
            kind,
            skip: [false; 2],
        }
    }

    #[allow(clippy::too_many_arguments)]
    pub fn on_data(
        &mut self,
        capture: usize,
        conn: ConnId,
        dir: Direction,
        endpoints: &Endpoints,
        half: &mut HalfStream,
        stats: &mut DissectStats,
        out: &mut Vec<Event>,
    ) {
        let emit = Emitter {
            capture,
            conn,
            dir,
            endpoints,
        };
        let d = dir_index(dir);
        if half.take_gap().is_some() {
            stats.tcp_gaps_seen += 1;
            self.skip[d] = false;
            if let AppKind::Http(http) = &mut self.kind {
                http.on_gap(dir, out);
            }
            if matches!(self.kind, AppKind::Kerberos | AppKind::Dns) {
                // A record boundary is lost with the missing bytes; try to find the next one.
                resync_records(&self.kind, half);
            }
        }
        if self.skip[d] {
            half.consume(half.data().len());
            return;
        }
        if let AppKind::Undecided = self.kind {
            self.kind = match probe_http(half) {
                Probe::Wait => return,
                Probe::Http { skip } => {
                    stats.tcp_connections_http += 1;
                    half.consume(skip);
                    AppKind::Http(Box::default())
                }
                Probe::NotHttp => AppKind::Ignore,
            };
        }
        match &mut self.kind {
            AppKind::Kerberos => {
                self.skip[d] = !records(half, RecordKind::Kerberos, &emit, stats, out);
            }
            AppKind::Dns => {
                self.skip[d] = !records(half, RecordKind::Dns, &emit, stats, out);
            }
            AppKind::Http(http) => http.on_data(&emit, half, stats, out),
            AppKind::Ignore => {
                // Nobody parses this connection: stop copying its bytes at all.
                half.set_discard(true);
                half.consume(half.data().len());
            }
            AppKind::Undecided => half.consume(half.data().len()),
        }
    }
}

impl AppStream {
    /// The connection ended: release messages still waiting for more bytes.
    pub fn drain(&mut self, out: &mut Vec<Event>) {
        if let AppKind::Http(http) = &mut self.kind {
            http.drain(out);
        }
    }
}

enum Probe {
    Wait,
    Http { skip: usize },
    NotHttp,
}

fn probe_http(half: &HalfStream) -> Probe {
    let data = half.data();
    if data.len() < HTTP_PROBE_MIN {
        return Probe::Wait;
    }
    if http::looks_like_request_or_status(data) {
        return Probe::Http { skip: 0 };
    }
    // Picked up mid-stream (or the start was lost): look for the next message head.
    let window = data.get(..HTTP_PROBE_LIMIT.min(data.len())).unwrap_or(data);
    match http::find_message_start(window) {
        Some(off) => Probe::Http { skip: off },
        None if data.len() < HTTP_PROBE_LIMIT && !looks_binary(data) => Probe::Wait,
        None => Probe::NotHttp,
    }
}

/// TLS, SMB and other binary protocols show control bytes at once; text protocols do not.
fn looks_binary(data: &[u8]) -> bool {
    data.iter()
        .take(64)
        .any(|&b| b < 0x09 || (b > 0x0d && b < 0x20) || b == 0x7f)
}

#[derive(Clone, Copy)]
enum RecordKind {
    Kerberos,
    Dns,
}

/// Parse every complete length-prefixed record in `half`. Returns false when the framing is
/// broken (the rest of this direction is skipped until a gap allows a resync).
fn records(
    half: &mut HalfStream,
    kind: RecordKind,
    emit: &Emitter<'_>,
    stats: &mut DissectStats,
    out: &mut Vec<Event>,
) -> bool {
    loop {
        let data = half.data();
        if data.is_empty() {
            return true;
        }
        let framed = match kind {
            RecordKind::Kerberos => match kerberos::tcp_record(data) {
                Ok((msg, used)) => Ok((kerberos_body(msg, "tcp", stats), used)),
                Err(kerberos::RecordError::NeedMore { .. }) => return true,
                Err(kerberos::RecordError::Malformed { .. }) => Err(()),
            },
            RecordKind::Dns => match dns::tcp_record(data) {
                Ok((msg, used)) => Ok((dns_body(msg, "tcp", None, stats), used)),
                Err(dns::RecordError::NeedMore { .. }) => return true,
                Err(dns::RecordError::Malformed { .. }) => Err(()),
            },
        };
        match framed {
            Ok((body, used)) => {
                if let Some(body) = body {
                    out.push(emit.event(half, used, body));
                }
                half.consume(used.max(1));
            }
            Err(()) => {
                match kind {
                    RecordKind::Kerberos => stats.kerberos_malformed += 1,
                    RecordKind::Dns => stats.dns_malformed += 1,
                }
                half.consume(half.data().len());
                return false;
            }
        }
    }
}

/// After a gap, drop bytes up to the first offset that starts a plausible record.
fn resync_records(kind: &AppKind, half: &mut HalfStream) {
    let data = half.data();
    let limit = data.len().min(64 * 1024);
    let start = (0..limit).find(|&i| {
        let rest = data.get(i..).unwrap_or_default();
        match kind {
            AppKind::Kerberos => match kerberos::tcp_record(rest) {
                Ok((msg, _)) => kerberos::looks_like_kerberos(msg),
                Err(kerberos::RecordError::NeedMore { .. }) => {
                    rest.get(4..).is_some_and(kerberos::looks_like_kerberos)
                }
                Err(_) => false,
            },
            AppKind::Dns => {
                matches!(dns::tcp_record(rest), Ok((msg, _)) if dns::looks_like_dns(msg))
            }
            _ => true,
        }
    });
    half.consume(start.unwrap_or(data.len()));
}
