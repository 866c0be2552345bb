//! Turns frames into events: runs `net` (link → IP → defrag → TCP reassembly), picks the
//! application protocol of each datagram or TCP connection, frames it (Kerberos record marks,
//! DNS length prefixes, HTTP heads and bodies) and hands the bytes to the pure `proto` decoders.
//!
//! All per-connection state lives here; decoders stay stateless. Every message is reported at
//! the frame whose segment completed it, as Wireshark does.

mod carrier;
#[cfg(test)]
mod carrier_tests;
mod dcerpc_stream;
mod http_stream;
mod keys;
mod ldap_stream;
mod smb_stream;
mod tcp_app;
mod udp;

use serde::Serialize;

pub use keys::prove;

use crate::capture::Frame;
use crate::event::Event;
use crate::net::fxhash::FxHashMap;
use crate::net::{
    ConnId, NetDecoder, NetLimits, NetStats, TcpLimits, TcpStats, TcpTable, Transport,
};

use tcp_app::AppStream;

/// Counters of what the application layer saw and skipped; they reach the report's `stats`.
#[derive(Clone, Debug, Default, Serialize)]
pub struct DissectStats {
    pub kerberos_messages: u64,
    pub kerberos_malformed: u64,
    pub dns_messages: u64,
    pub dns_responses: u64,
    pub dns_malformed: u64,
    /// DNS answers not kept for the analysis: their client showed no other kept event in the
    /// 2^20 frames after them (`pipeline::dns_retention`). Zero for the `events` command.
    pub dns_answers_set_aside: u64,
    /// DNS answers decided before their 2^20 frames had passed because too many answers were
    /// waiting (`pipeline::dns_retention::PENDING_CAP`).
    pub dns_pending_cap_hits: u64,
    pub http_messages: u64,
    pub http_auth_headers: u64,
    pub http_malformed: u64,
    pub http_resyncs: u64,
    pub tokens_malformed: u64,
    pub tcp_connections_kerberos: u64,
    pub tcp_connections_dns: u64,
    pub tcp_connections_http: u64,
    pub tcp_gaps_seen: u64,
    /// GSS carriers beyond HTTP: SMB NEGOTIATE / SESSION_SETUP messages decoded.
    pub smb_auth_messages: u64,
    pub smb_malformed: u64,
    /// DCE/RPC binding PDUs and faults decoded.
    pub dcerpc_binding_pdus: u64,
    pub dcerpc_malformed: u64,
    /// LDAP bind requests and responses decoded; simple (password) binds among them.
    pub ldap_binds: u64,
    pub ldap_simple_binds: u64,
    pub ldap_malformed: u64,
    /// Carrier framing lost (garbage or a gap) and found again; messages too large to keep.
    pub carrier_malformed: u64,
    pub carrier_resyncs: u64,
    pub carrier_oversize: u64,
    /// Directions given up after a long fruitless resync (not the carrier its port suggests).
    pub carrier_abandoned: u64,
    pub tcp_connections_smb: u64,
    pub tcp_connections_dcerpc: u64,
    pub tcp_connections_ldap: u64,
    /// Resource limits of the pure decoders (issue 8), each counted where it cut something:
    /// DNS names cut at `dns::MAX_POINTER_HOPS` compression pointers;
    pub dns_pointer_limit_hits: u64,
    /// GSS tokens nested past `der::MAX_DEPTH`;
    pub asn1_depth_limit_hits: u64,
    /// ASN.1 lengths past the remaining bytes of a complete datagram, record or token;
    pub asn1_length_overruns: u64,
    /// HTTP heads with more than `http::MAX_HEADERS` fields, or over `http::MAX_HEAD_LEN`;
    pub http_header_limit_hits: u64,
    pub http_head_size_limit_hits: u64,
    /// HTTP auth tokens over `http::MAX_TOKEN_DECODED`, refused before decoding.
    pub token_size_limit_hits: u64,
}

impl DissectStats {
    /// Count the decoder limit, if any, that stopped a GSS token.
    fn token_limit(&mut self, token: &crate::proto::gss::GssToken) {
        use crate::proto::gss::LimitHit;
        match token.limit_hit() {
            Some(LimitHit::TooDeep) => self.asn1_depth_limit_hits += 1,
            Some(LimitHit::LengthBeyondInput) => self.asn1_length_overruns += 1,
            None => {}
        }
    }
}

/// Everything the dissector counted, for `stats` in reports.
#[derive(Clone, Debug, Default, Serialize)]
pub struct AllStats {
    #[serde(flatten)]
    pub app: DissectStats,
    pub net: NetStats,
    pub tcp: TcpStats,
}

/// Frame-in, events-out. One instance per capture (or per flow shard).
pub struct Dissector {
    capture: usize,
    net: NetDecoder,
    tcp: TcpTable,
    /// Keyed by the table's own sequential ids, never by packet bytes, so the fast hasher is
    /// safe here; SipHash on this lookup was 7 % of all instructions on the corpus.
    apps: FxHashMap<ConnId, AppStream>,
    stats: DissectStats,
    /// A run with keys: Kerberos messages keep their bytes until `prove` has read them.
    keep_krb: bool,
}

impl Dissector {
    pub fn new(capture: usize) -> Self {
        Dissector::with_limits(capture, NetLimits::default(), TcpLimits::default())
    }

    /// A dissector with its own memory caps (a flow shard gets a share of the run's budget).
    pub fn with_limits(capture: usize, net: NetLimits, tcp: TcpLimits) -> Self {
        Dissector {
            capture,
            net: NetDecoder::new(net),
            tcp: TcpTable::new(tcp),
            apps: FxHashMap::default(),
            stats: DissectStats::default(),
            keep_krb: false,
        }
    }

    /// Keep the bytes of every Kerberos message (on port 88 or inside a GSS token) on its
    /// event, for `prove` to open with the run's keys. Off by default: without keys nothing is
    /// copied.
    pub fn keep_kerberos_bytes(&mut self, on: bool) {
        self.keep_krb = on;
    }

    /// Decode one frame; events it completes are appended to `out` in decoding order.
    pub fn frame(&mut self, frame: &Frame<'_>, out: &mut Vec<Event>) {
        let Some(pkt) = self.net.decode(frame) else {
            return;
        };
        match &pkt.transport {
            Transport::Udp { payload } => {
                udp::datagram(
                    self.capture,
                    frame,
                    &pkt,
                    payload,
                    self.keep_krb,
                    &mut self.stats,
                    out,
                );
            }
            Transport::Tcp(seg) => {
                let Some((conn, dir)) = self.tcp.segment(&pkt, seg, frame.number, frame.ts) else {
                    return;
                };
                let Some(endpoints) = self.tcp.endpoints(conn) else {
                    return;
                };
                let app = self
                    .apps
                    .entry(conn)
                    .or_insert_with(|| AppStream::new(&endpoints, self.keep_krb, &mut self.stats));
                // This segment's ACK can turn a hole in the other direction into a gap and
                // release bytes held there, so both directions are read, this one first.
                for d in [dir, dir.opposite()] {
                    if let Some(half) = self.tcp.half(conn, d) {
                        app.on_data(
                            self.capture,
                            conn,
                            d,
                            &endpoints,
                            half,
                            &mut self.stats,
                            out,
                        );
                    }
                }
                for closed in self.tcp.take_closed() {
                    if let Some(mut app) = self.apps.remove(&closed) {
                        app.drain(out);
                    }
                }
            }
            Transport::Other { .. } => {}
        }
    }

    /// End of capture: release data held for missing segments and parse what is left.
    pub fn finish(&mut self, out: &mut Vec<Event>) {
        self.tcp.flush_all();
        let mut conns: Vec<ConnId> = self.apps.keys().copied().collect();
        conns.sort();
        // Closed connections stay readable until the next take_closed(): parse, then drop.
        for conn in conns {
            let Some(endpoints) = self.tcp.endpoints(conn) else {
                continue;
            };
            let Some(app) = self.apps.get_mut(&conn) else {
                continue;
            };
            for dir in [
                crate::net::Direction::ToServer,
                crate::net::Direction::ToClient,
            ] {
                if let Some(half) = self.tcp.half(conn, dir) {
                    app.on_data(
                        self.capture,
                        conn,
                        dir,
                        &endpoints,
                        half,
                        &mut self.stats,
                        out,
                    );
                }
            }
            app.drain(out);
        }
        self.apps.clear();
        self.tcp.take_closed();
    }

    pub fn stats(&self) -> AllStats {
        AllStats {
            app: self.stats.clone(),
            net: self.net.stats().clone(),
            tcp: self.tcp.stats().clone(),
        }
    }
}
