//! Per-connection application framing over reassembled TCP: Kerberos record marks (RFC 4120
//! §7.2.2) on port 88, DNS length prefixes (RFC 1035 §4.2.2) on port 53, HTTP/1.x on any
//! port, recognised by its request or status line rather than by the port, and the binary
//! carriers of GSS tokens: SMB on 445/139, LDAP on 389/3268, DCE/RPC on 135 and, recognised by
//! its header, on the dynamic ports the endpoint mapper hands out (SMB likewise by content).

use crate::event::{Event, EventBody};
use crate::net::{ConnId, Direction, Endpoints, HalfStream};
use crate::proto::{dcerpc, dns, http, kerberos};

use super::DissectStats;
use super::carrier::tkey_bodies;
use super::dcerpc_stream::DcerpcConn;
use super::http_stream::HttpConn;
use super::ldap_stream::LdapConn;
use super::smb_stream::{SmbConn, looks_like_smb};
use super::udp::{KERBEROS_PORT, dns_body, kerberos_body};

/// How many bytes of a connection we look at before deciding it is not HTTP. Enough for a
/// mid-stream pickup to reach the next message head in most keep-alive connections.
const HTTP_PROBE_LIMIT: usize = 16 * 1024;
/// Fewer bytes than this cannot tell an HTTP start line from something else; wait for more.
const HTTP_PROBE_MIN: usize = 8;
const SMB_PORTS: [u16; 2] = [445, 139];
const LDAP_PORTS: [u16; 2] = [389, 3268];
const EPMAP_PORT: u16 = 135;

enum AppKind {
    Undecided,
    Kerberos,
    Dns,
    Http(Box<HttpConn>),
    Smb(Box<SmbConn>),
    Dcerpc(Box<DcerpcConn>),
    Ldap(Box<LdapConn>),
    /// Not a protocol we decode: data is consumed as it arrives.
    Ignore,
}

pub(super) struct AppStream {
    kind: AppKind,
    /// After malformed framing in a direction, skip its bytes until the next gap lets us resync.
    skip: [bool; 2],
    /// See `Emitter::keep_krb`.
    keep_krb: bool,
}

pub(super) fn dir_index(dir: Direction) -> usize {
    match dir {
        Direction::ToServer => 0,
        Direction::ToClient => 1,
    }
}

/// The element of a per-direction pair for direction index `d` (0 to the server, 1 to the
/// client); any other index counts as the client side, so no index can panic.
pub(super) fn side<T>(pair: &mut [T; 2], d: usize) -> &mut T {
    let [to_server, to_client] = pair;
    if d == 0 { to_server } else { to_client }
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
    /// The run has keys: Kerberos messages keep their bytes for the proof pass.
    pub keep_krb: bool,
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
    pub fn new(ep: &Endpoints, keep_krb: bool, stats: &mut DissectStats) -> Self {
        let kind = if ep.server.port() == KERBEROS_PORT || ep.client.port() == KERBEROS_PORT {
            stats.tcp_connections_kerberos += 1;
            AppKind::Kerberos
        } else if ep.server.port() == 53 || ep.client.port() == 53 {
            stats.tcp_connections_dns += 1;
            AppKind::Dns
        } else if let Some(kind) = carrier_by_port(ep, stats) {
            kind
        } else {
            AppKind::Undecided
        };
        AppStream {
            kind,
            skip: [false; 2],
            keep_krb,
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
            keep_krb: self.keep_krb,
        };
        let d = dir_index(dir);
        if let Some(lost) = half.take_gap() {
            stats.tcp_gaps_seen += 1;
            *side(&mut self.skip, d) = false;
            match &mut self.kind {
                AppKind::Http(http) => http.on_gap(dir, out),
                AppKind::Smb(c) => c.on_gap(d, lost),
                AppKind::Dcerpc(c) => c.on_gap(d, lost),
                AppKind::Ldap(c) => c.on_gap(d, lost),
                _ => {}
            }
            if matches!(self.kind, AppKind::Kerberos | AppKind::Dns) {
                // A record boundary is lost with the missing bytes; try to find the next one.
                resync_records(&self.kind, half);
            }
        }
        if *side(&mut self.skip, d) {
            half.consume(half.data().len());
            return;
        }
        if let AppKind::Undecided = self.kind {
            match probe_carrier(half.data()) {
                Probe::Wait => return,
                Probe::Carrier(kind) => {
                    match kind {
                        AppKind::Smb(_) => stats.tcp_connections_smb += 1,
                        _ => stats.tcp_connections_dcerpc += 1,
                    }
                    self.kind = kind;
                }
                _ => {}
            }
        }
        if let AppKind::Undecided = self.kind {
            self.kind = match probe_http(half) {
                Probe::Wait => return,
                Probe::Http { skip } => {
                    stats.tcp_connections_http += 1;
                    half.consume(skip);
                    AppKind::Http(Box::default())
                }
                Probe::NotHttp | Probe::Carrier(_) => AppKind::Ignore,
            };
        }
        match &mut self.kind {
            AppKind::Kerberos => {
                *side(&mut self.skip, d) = !records(half, RecordKind::Kerberos, &emit, stats, out);
            }
            AppKind::Dns => {
                *side(&mut self.skip, d) = !records(half, RecordKind::Dns, &emit, stats, out);
            }
            AppKind::Http(http) => http.on_data(&emit, half, stats, out),
            AppKind::Smb(c) => c.on_data(&emit, half, stats, out),
            AppKind::Dcerpc(c) => c.on_data(&emit, half, stats, out),
            AppKind::Ldap(c) => c.on_data(&emit, half, stats, out),
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
    Carrier(AppKind),
}

fn carrier_by_port(ep: &Endpoints, stats: &mut DissectStats) -> Option<AppKind> {
    let either =
        |ports: &[u16]| ports.contains(&ep.server.port()) || ports.contains(&ep.client.port());
    if either(&SMB_PORTS) {
        stats.tcp_connections_smb += 1;
        Some(AppKind::Smb(Box::default()))
    } else if either(&LDAP_PORTS) {
        stats.tcp_connections_ldap += 1;
        Some(AppKind::Ldap(Box::default()))
    } else if either(&[EPMAP_PORT]) {
        stats.tcp_connections_dcerpc += 1;
        Some(AppKind::Dcerpc(Box::default()))
    } else {
        None
    }
}

/// A DCE/RPC header or a NetBIOS-framed SMB message at the start of a connection on a port
/// that says nothing. `NotHttp` here means "not a carrier": HTTP probing follows.
fn probe_carrier(data: &[u8]) -> Probe {
    if data.first() == Some(&5) && data.len() < dcerpc::HEADER_LEN {
        return Probe::Wait;
    }
    if dcerpc::header_frag_len(data).is_some() {
        return Probe::Carrier(AppKind::Dcerpc(Box::default()));
    }
    if looks_like_smb(data) {
        return Probe::Carrier(AppKind::Smb(Box::default()));
    }
    Probe::NotHttp
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
                Ok((msg, used)) => Ok((kerberos_body(msg, "tcp", emit.keep_krb, stats), used)),
                Err(kerberos::RecordError::NeedMore { .. }) => return true,
                Err(kerberos::RecordError::Malformed { .. }) => Err(()),
            },
            RecordKind::Dns => match dns::tcp_record(data) {
                Ok((msg, used)) => {
                    // GSS-TSIG key negotiation rides DNS over TCP (tokens exceed UDP sizes).
                    let bodies = dns_body(msg, "tcp", None, stats)
                        .into_iter()
                        .chain(tkey_bodies(msg, emit.keep_krb, stats));
                    for b in bodies {
                        out.push(emit.event(half, used, b));
                    }
                    Ok((None, used))
                }
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
