//! Bidirectional TCP connection tracking (RFC 9293): which side is the client, one
//! [`HalfStream`] per direction (reassembly policy documented in `tcp_stream`), connection end
//! (FIN both ways, RST), reuse of a 4-tuple by a new SYN, and bounded memory: per-stream and
//! global caps on buffered bytes, a cap on connections (the least recently active are evicted)
//! and an idle timeout in capture time. Every such event is counted in [`TcpStats`].
//!
//! Client and server: the sender of a SYN (without ACK) is the client; the sender of a SYN+ACK
//! the server. For a connection whose handshake was not captured ("mid-stream pickup"), the side
//! using a well-known port (< 1024) is the server when exactly one side does; otherwise the side
//! with the lower port; on equal ports, the destination of the first segment seen.
//!
//! Connection ends are reported by [`TcpTable::take_closed`]; the connection's streams stay
//! readable through [`TcpTable::half`] until the next `take_closed` call, so callers can parse
//! what the last segments (or a flush) released. Callers must call `take_closed` regularly.
//!
//! `segment` can release bytes in both directions (an ACK can turn the other direction's hole
//! into a gap and release held bytes), so callers should look at both halves after each call.

use super::fxhash::FxHashMap;
use super::tcp_stream::Ctx;
pub use super::tcp_stream::HalfStream;
use super::{L4Packet, TcpFlags, TcpSegment};
use crate::capture::Timestamp;
use std::net::{IpAddr, SocketAddr};

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TcpLimits {
    /// Unconsumed in-order bytes per direction.
    pub max_stream_bytes: usize,
    /// Out-of-order segments held per direction, and their bytes.
    pub max_out_of_order_segments: usize,
    pub max_out_of_order_bytes: usize,
    /// Buffered + held bytes over all connections.
    pub max_total_bytes: usize,
    /// Connections tracked at once (including ended ones not yet taken by `take_closed`).
    pub max_connections: usize,
    /// Seconds of capture time without a segment before a connection is dropped.
    pub idle_timeout_secs: i64,
}

impl Default for TcpLimits {
    fn default() -> Self {
        TcpLimits {
            max_stream_bytes: 4 << 20,
            max_out_of_order_segments: 256,
            max_out_of_order_bytes: 1 << 20,
            max_total_bytes: 512 << 20,
            max_connections: 200_000,
            idle_timeout_secs: 600,
        }
    }
}

#[derive(Default, Clone, Debug, PartialEq, Eq, serde::Serialize)]
pub struct TcpStats {
    /// Connections created.
    pub streams: u64,
    pub segments: u64,
    /// Pure ACK / FIN / RST segments of no tracked connection (nothing to start one with).
    pub untracked_segments: u64,
    pub retransmitted: u64,
    pub overlaps: u64,
    pub out_of_order: u64,
    pub gaps: u64,
    pub gap_bytes: u64,
    /// Gaps declared because the peer acknowledged bytes never captured.
    pub acked_unseen: u64,
    /// Segments whose sequence number lies implausibly far from the stream position.
    pub bad_seq: u64,
    pub stream_cap_hits: u64,
    pub ooo_cap_hits: u64,
    pub global_cap_hits: u64,
    pub conn_cap_hits: u64,
    pub conns_evicted: u64,
    pub idle_timeouts: u64,
    pub midstream_pickups: u64,
    /// A new SYN on a 4-tuple still tracked: a new connection.
    pub reused: u64,
    pub closed_fin: u64,
    pub closed_rst: u64,
}

/// A connection, unique for the run (never reused, even when its 4-tuple is).
#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Debug)]
pub struct ConnId(pub u64);

#[derive(Clone, Copy, PartialEq, Eq, Hash, Debug)]
pub enum Direction {
    ToServer,
    ToClient,
}

impl Direction {
    pub fn opposite(self) -> Direction {
        match self {
            Direction::ToServer => Direction::ToClient,
            Direction::ToClient => Direction::ToServer,
        }
    }
    fn index(self) -> usize {
        match self {
            Direction::ToServer => 0,
            Direction::ToClient => 1,
        }
    }
}

#[derive(Clone, Copy, PartialEq, Eq, Hash, Debug, serde::Serialize)]
pub struct Endpoints {
    pub client: SocketAddr,
    pub server: SocketAddr,
}

/// The 4-tuple with the smaller endpoint first, so both directions find the same entry.
#[derive(Clone, Copy, PartialEq, Eq, Hash, Debug)]
struct FlowKey {
    low: (IpAddr, u16),
    high: (IpAddr, u16),
}

impl FlowKey {
    fn new(a: (IpAddr, u16), b: (IpAddr, u16)) -> Self {
        if a <= b {
            FlowKey { low: a, high: b }
        } else {
            FlowKey { low: b, high: a }
        }
    }
}

/// Boxed in the table (see `TcpTable::conns`); its flow key is derived from `client` and
/// `server` rather than stored.
#[derive(Debug)]
struct Conn {
    client: (IpAddr, u16),
    server: (IpAddr, u16),
    /// Indexed by `Direction::index`.
    halves: [HalfStream; 2],
    last_secs: i64,
    last_at: (u64, Timestamp),
    ended: bool,
}

impl Conn {
    fn key(&self) -> FlowKey {
        FlowKey::new(self.client, self.server)
    }

    fn direction_of(&self, src: (IpAddr, u16)) -> Direction {
        if src == self.client {
            Direction::ToServer
        } else {
            Direction::ToClient
        }
    }

    /// (the half of `dir`, the other half)
    fn halves_mut(&mut self, dir: Direction) -> (&mut HalfStream, &mut HalfStream) {
        let [to_server, to_client] = &mut self.halves;
        match dir {
            Direction::ToServer => (to_server, to_client),
            Direction::ToClient => (to_client, to_server),
        }
    }
}

pub struct TcpTable {
    limits: TcpLimits,
    stats: TcpStats,
    flows: FxHashMap<FlowKey, ConnId>,
    /// Boxed: a table of ~450-byte values wastes its empty slots (a quarter to a half of them)
    /// at that size and, while growing, holds the old and the new table at once. With boxes a
    /// slot is 16 bytes and only live connections cost their size (the SYN-flood peak).
    conns: FxHashMap<ConnId, Box<Conn>>,
    /// Ended since the last `take_closed`, in order.
    closed: Vec<ConnId>,
    /// Returned by the last `take_closed`; readable until the next one.
    retired: FxHashMap<ConnId, Box<Conn>>,
    next_id: u64,
    buffered_total: usize,
    last_sweep_secs: Option<i64>,
    /// Reused by `evict_oldest`: a fresh multi-megabyte list per eviction, interleaved with the
    /// boxed connections, fragments the heap and makes a flood's peak grow with its length.
    evict_scratch: Vec<(i64, ConnId)>,
}

impl TcpTable {
    pub fn new(limits: TcpLimits) -> Self {
        TcpTable {
            limits,
            stats: TcpStats::default(),
            flows: FxHashMap::default(),
            conns: FxHashMap::default(),
            closed: Vec::new(),
            retired: FxHashMap::default(),
            next_id: 0,
            buffered_total: 0,
            last_sweep_secs: None,
            evict_scratch: Vec::new(),
        }
    }

    /// Feed one segment (any payload, also pure ACK/SYN/FIN/RST). Returns the connection and the
    /// direction of this segment; None for a segment that belongs to no connection and cannot
    /// start one (a pure ACK, FIN or RST).
    pub fn segment(
        &mut self,
        pkt: &L4Packet<'_>,
        seg: &TcpSegment<'_>,
        frame: u64,
        ts: Timestamp,
    ) -> Option<(ConnId, Direction)> {
        self.stats.segments += 1;
        self.sweep_idle(ts);
        let src = (pkt.src, pkt.sport);
        let dst = (pkt.dst, pkt.dport);
        let key = FlowKey::new(src, dst);
        let syn = seg.flags.has(TcpFlags::SYN);
        let ack = seg.flags.has(TcpFlags::ACK);
        let mut id = self.flows.get(&key).copied();
        if let (Some(old), true, false) = (id, syn, ack) {
            let conn = self.conns.get(&old)?;
            let half = conn.halves.get(conn.direction_of(src).index())?;
            // A SYN with another ISN, or any SYN after the connection ended, is a new
            // connection. Without a known ISN (mid-stream pickup, or data captured before its
            // SYN) a SYN on a live connection is taken as reordering, not as reuse.
            let other_isn = half.syn_seq().is_some_and(|isn| isn != seg.seq);
            if conn.ended || other_isn {
                self.stats.reused += 1;
                self.end_conn(old);
                self.flows.remove(&key);
                id = None;
            }
        }
        let id = match id {
            Some(id) => id,
            None if syn || !seg.payload.is_empty() => self.open(key, src, dst, syn, ack, ts),
            None => {
                self.stats.untracked_segments += 1;
                return None;
            }
        };
        let at = (frame, ts);
        let TcpTable {
            limits,
            stats,
            conns,
            ..
        } = self;
        let conn = conns.get_mut(&id)?;
        conn.last_secs = ts.secs;
        conn.last_at = at;
        let dir = conn.direction_of(src);
        let (this, other) = conn.halves_mut(dir);
        let mut ctx = Ctx { limits, stats };
        feed(this, other, seg, at, &mut ctx);
        let rst = seg.flags.has(TcpFlags::RST);
        if rst {
            this.flush(at, &mut ctx);
            other.flush(at, &mut ctx);
        }
        let ended = !conn.ended && (rst || conn.halves.iter().all(HalfStream::fin_reached));
        if ended {
            if rst {
                self.stats.closed_rst += 1;
            } else {
                self.stats.closed_fin += 1;
            }
            self.end_conn(id);
        }
        self.account(id);
        Some((id, dir))
    }

    pub fn half(&mut self, conn: ConnId, dir: Direction) -> Option<&mut HalfStream> {
        if let Some(live) = self.conns.get_mut(&conn) {
            let half = live.halves.get_mut(dir.index())?;
            // Bytes consumed since the last call leave the global count here.
            let now = half.buffered();
            self.buffered_total = self.buffered_total.saturating_sub(half.accounted) + now;
            half.accounted = now;
            return Some(half);
        }
        self.retired.get_mut(&conn)?.halves.get_mut(dir.index())
    }

    /// Client ip/port and server ip/port.
    pub fn endpoints(&self, conn: ConnId) -> Option<Endpoints> {
        let conn = self.conns.get(&conn).or_else(|| self.retired.get(&conn))?;
        Some(Endpoints {
            client: SocketAddr::new(conn.client.0, conn.client.1),
            server: SocketAddr::new(conn.server.0, conn.server.1),
        })
    }

    /// Connections that ended since the last call (FIN/RST both ways, evicted by a cap, idle
    /// timeout, flush), so callers drop their per-connection state. Their streams stay readable
    /// through `half` until the next call.
    pub fn take_closed(&mut self) -> Vec<ConnId> {
        self.retired.clear();
        let ids = std::mem::take(&mut self.closed);
        for id in &ids {
            if let Some(conn) = self.conns.remove(id) {
                let key = conn.key();
                if self.flows.get(&key) == Some(id) {
                    self.flows.remove(&key);
                }
                let held: usize = conn.halves.iter().map(|h| h.accounted).sum();
                self.buffered_total = self.buffered_total.saturating_sub(held);
                self.retired.insert(*id, conn);
            }
        }
        ids
    }

    /// End of capture: declare remaining holes as gaps and release held out-of-order data so
    /// callers can parse what is left. Every connection is then reported by `take_closed`.
    pub fn flush_all(&mut self) {
        let mut ids: Vec<ConnId> = self.conns.keys().copied().collect();
        ids.sort_unstable();
        for id in ids {
            self.end_conn(id);
            self.account(id);
        }
    }

    pub fn stats(&self) -> &TcpStats {
        &self.stats
    }

    /// Connections tracked (live, or ended and not yet taken).
    pub fn live_connections(&self) -> usize {
        self.conns.len()
    }

    /// Bytes buffered over all connections (as of their last segment).
    pub fn buffered_bytes(&self) -> usize {
        self.buffered_total
    }

    fn open(
        &mut self,
        key: FlowKey,
        src: (IpAddr, u16),
        dst: (IpAddr, u16),
        syn: bool,
        ack: bool,
        ts: Timestamp,
    ) -> ConnId {
        if self.conns.len() >= self.limits.max_connections {
            if self.stats.conn_cap_hits == 0 {
                // From now on connections come and go at the cap. Near that load, the deleted
                // slots they leave make the tables double later on, at a moment that depends on
                // the traffic; doubling once here, where the live count is at most half the
                // slots, lets every later clean-up rehash in place: memory stops growing at the
                // cap (resource_limits: a million SYNs peak as high as a quarter million).
                let room = self.limits.max_connections;
                self.conns.reserve(room);
                self.flows.reserve(room);
            }
            self.stats.conn_cap_hits += 1;
            self.evict_oldest();
        }
        let (client, server) = match (syn, ack) {
            (true, false) => (src, dst),
            (true, true) => (dst, src),
            _ => {
                self.stats.midstream_pickups += 1;
                if server_is_destination(src.1, dst.1) {
                    (src, dst)
                } else {
                    (dst, src)
                }
            }
        };
        let id = ConnId(self.next_id);
        self.next_id += 1;
        self.stats.streams += 1;
        let conn = Box::new(Conn {
            client,
            server,
            halves: Default::default(),
            last_secs: ts.secs,
            last_at: (0, ts),
            ended: false,
        });
        self.conns.insert(id, conn);
        self.flows.insert(key, id);
        id
    }

    /// Marks a connection ended: releases held bytes, closes both halves, queues it for
    /// `take_closed`. Its flow entry stays until then, so late segments still find it.
    fn end_conn(&mut self, id: ConnId) {
        let TcpTable {
            limits,
            stats,
            conns,
            closed,
            ..
        } = self;
        let Some(conn) = conns.get_mut(&id) else {
            return;
        };
        if conn.ended {
            return;
        }
        conn.ended = true;
        let at = conn.last_at;
        let mut ctx = Ctx { limits, stats };
        for half in &mut conn.halves {
            half.flush(at, &mut ctx);
            half.mark_closed();
        }
        closed.push(id);
    }

    /// Brings the global byte count up to date for one connection and enforces its cap.
    fn account(&mut self, id: ConnId) {
        let TcpTable {
            limits,
            stats,
            conns,
            buffered_total,
            ..
        } = self;
        let Some(conn) = conns.get_mut(&id) else {
            return;
        };
        for half in &mut conn.halves {
            let now = half.buffered();
            *buffered_total = buffered_total.saturating_sub(half.accounted) + now;
            half.accounted = now;
        }
        if *buffered_total > limits.max_total_bytes {
            stats.global_cap_hits += 1;
            for half in &mut conn.halves {
                half.shed(stats);
                let now = half.buffered();
                *buffered_total = buffered_total.saturating_sub(half.accounted) + now;
                half.accounted = now;
            }
        }
    }

    /// Evicts the least recently active sixteenth of the connections (at least one).
    fn evict_oldest(&mut self) {
        let mut ages = std::mem::take(&mut self.evict_scratch);
        ages.clear();
        ages.extend(self.conns.iter().map(|(id, c)| (c.last_secs, *id)));
        let count = (ages.len() / 16).max(1).min(ages.len());
        if count > 0 {
            ages.select_nth_unstable(count - 1);
            for &(_, id) in ages.iter().take(count) {
                self.stats.conns_evicted += 1;
                self.remove_now(id);
            }
        }
        self.evict_scratch = ages;
    }

    /// Drops connections idle longer than the timeout; runs once per tenth of the timeout.
    fn sweep_idle(&mut self, ts: Timestamp) {
        let interval = (self.limits.idle_timeout_secs / 10).max(1);
        match self.last_sweep_secs {
            None => {
                self.last_sweep_secs = Some(ts.secs);
                return;
            }
            Some(last) if ts.secs < last.saturating_add(interval) => return,
            Some(_) => self.last_sweep_secs = Some(ts.secs),
        }
        let deadline = ts.secs.saturating_sub(self.limits.idle_timeout_secs);
        let idle: Vec<ConnId> = self
            .conns
            .iter()
            .filter(|(_, c)| !c.ended && c.last_secs < deadline)
            .map(|(id, _)| *id)
            .collect();
        for id in idle {
            self.stats.idle_timeouts += 1;
            self.end_conn(id);
            self.account(id);
        }
    }

    /// Ends a connection and frees it at once (cap eviction): the caller still learns of it
    /// from `take_closed`, but its streams are gone.
    fn remove_now(&mut self, id: ConnId) {
        self.end_conn(id);
        if let Some(conn) = self.conns.remove(&id) {
            let key = conn.key();
            if self.flows.get(&key) == Some(&id) {
                self.flows.remove(&key);
            }
            let held: usize = conn.halves.iter().map(|h| h.accounted).sum();
            self.buffered_total = self.buffered_total.saturating_sub(held);
        }
    }
}

/// Applies one segment to its direction (`this`) and its acknowledgement to the other.
fn feed(
    this: &mut HalfStream,
    other: &mut HalfStream,
    seg: &TcpSegment<'_>,
    at: (u64, Timestamp),
    ctx: &mut Ctx<'_>,
) {
    let syn = seg.flags.has(TcpFlags::SYN);
    if syn {
        if !this.is_initialized() {
            this.init(seg.seq.wrapping_add(1), Some(seg.seq));
        }
    } else if !this.is_initialized() {
        this.init(seg.seq, None);
    }
    if seg.flags.has(TcpFlags::ACK) {
        if other.is_initialized() {
            other.acknowledged(seg.ack, at, ctx);
        } else {
            // The other direction has sent nothing we saw: it continues at the acknowledged byte.
            other.init(seg.ack, None);
        }
    }
    let data_seq = if syn {
        seg.seq.wrapping_add(1)
    } else {
        seg.seq
    };
    this.accept(data_seq, seg.payload, at, ctx);
    if seg.flags.has(TcpFlags::FIN) {
        let fin_seq = data_seq.wrapping_add(seg.payload.len() as u32);
        this.fin(fin_seq, at, ctx);
    }
}

/// Mid-stream pickup heuristic: is the destination of the first segment seen the server?
fn server_is_destination(sport: u16, dport: u16) -> bool {
    const WELL_KNOWN: u16 = 1024;
    match (sport < WELL_KNOWN, dport < WELL_KNOWN) {
        (false, true) => true,
        (true, false) => false,
        _ => dport <= sport,
    }
}
