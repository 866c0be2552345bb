//! Crafted segment sequences for `tcp` / `tcp_stream` (kept apart so each stays small): every
//! reassembly case of the policy in `tcp_stream` and every cap of `tcp`.

use super::tcp::*;
use super::{L4Packet, TcpFlags, TcpSegment, Transport};
use crate::capture::Timestamp;
use std::net::{IpAddr, Ipv4Addr};

const CLIENT: IpAddr = IpAddr::V4(Ipv4Addr::new(10, 0, 0, 1));
const SERVER: IpAddr = IpAddr::V4(Ipv4Addr::new(10, 0, 0, 2));
const S: u8 = 0x02;
const A: u8 = 0x10;
const F: u8 = 0x01;
const R: u8 = 0x04;
const C_ISN: u32 = 1000;
const S_ISN: u32 = 5000;

fn ts(secs: i64) -> Timestamp {
    Timestamp {
        secs,
        nanos: 0,
        digits: 6,
    }
}

/// One segment from `from` (true: client → server) through the table.
#[allow(clippy::too_many_arguments)]
fn send_ports(
    t: &mut TcpTable,
    from_client: bool,
    ports: (u16, u16),
    flags: u8,
    seq: u32,
    ack: u32,
    payload: &[u8],
    frame: u64,
    secs: i64,
) -> Option<(ConnId, Direction)> {
    let (src, dst, sport, dport) = if from_client {
        (CLIENT, SERVER, ports.0, ports.1)
    } else {
        (SERVER, CLIENT, ports.1, ports.0)
    };
    let seg = TcpSegment {
        seq,
        ack,
        flags: TcpFlags(flags),
        window: 1000,
        payload,
    };
    let pkt = L4Packet {
        src,
        dst,
        sport,
        dport,
        vlan: None,
        transport: Transport::Tcp(seg),
    };
    t.segment(&pkt, &seg, frame, ts(secs))
}

fn send(
    t: &mut TcpTable,
    from_client: bool,
    flags: u8,
    seq: u32,
    ack: u32,
    payload: &[u8],
    frame: u64,
) -> Option<(ConnId, Direction)> {
    send_ports(
        t,
        from_client,
        (40000, 88),
        flags,
        seq,
        ack,
        payload,
        frame,
        0,
    )
}

/// SYN, SYN+ACK, ACK; returns the connection.
fn handshake(t: &mut TcpTable) -> ConnId {
    let first = send(t, true, S, C_ISN, 0, b"", 1);
    send(t, false, S | A, S_ISN, C_ISN + 1, b"", 2);
    send(t, true, A, C_ISN + 1, S_ISN + 1, b"", 3);
    first.map_or(ConnId(u64::MAX), |(id, _)| id)
}

fn data(t: &mut TcpTable, id: ConnId, dir: Direction) -> Vec<u8> {
    t.half(id, dir)
        .map(|h| h.data().to_vec())
        .unwrap_or_default()
}

fn gap(t: &mut TcpTable, id: ConnId, dir: Direction) -> Option<u64> {
    t.half(id, dir).and_then(HalfStream::take_gap)
}

#[test]
fn in_order_with_handshake() {
    let mut t = TcpTable::new(TcpLimits::default());
    let id = handshake(&mut t);
    let got = send(&mut t, true, A, C_ISN + 1, S_ISN + 1, b"hello", 4);
    assert_eq!(got, Some((id, Direction::ToServer)));
    send(&mut t, true, A, C_ISN + 6, S_ISN + 1, b" world", 5);
    assert_eq!(data(&mut t, id, Direction::ToServer), b"hello world");
    let half = t.half(id, Direction::ToServer);
    let frames = half.map(|h| {
        (
            h.frame_at(5),
            h.frame_at(6),
            h.frame_at(11),
            h.stream_offset(),
        )
    });
    assert_eq!(frames, Some((4, 5, 5, 0)));
    let reply = send(&mut t, false, A, S_ISN + 1, C_ISN + 12, b"ok", 6);
    assert_eq!(reply, Some((id, Direction::ToClient)));
    assert_eq!(data(&mut t, id, Direction::ToClient), b"ok");
    let ends = t
        .endpoints(id)
        .map(|e| (e.client.to_string(), e.server.to_string()));
    assert_eq!(
        ends,
        Some(("10.0.0.1:40000".to_string(), "10.0.0.2:88".to_string()))
    );
    // Consuming moves the offsets and frame lookups along.
    if let Some(h) = t.half(id, Direction::ToServer) {
        h.consume(6);
        assert_eq!(
            (h.data(), h.frame_at(1), h.stream_offset()),
            (&b"world"[..], 5, 6)
        );
        h.consume(100);
        assert!(h.data().is_empty());
    }
    let s = t.stats();
    assert_eq!(
        (s.streams, s.gaps, s.retransmitted, s.midstream_pickups),
        (1, 0, 0, 0)
    );
}

#[test]
fn retransmission_is_dropped() {
    let mut t = TcpTable::new(TcpLimits::default());
    let id = handshake(&mut t);
    send(&mut t, true, A, C_ISN + 1, S_ISN + 1, b"abc", 4);
    send(&mut t, true, A, C_ISN + 1, S_ISN + 1, b"abc", 5);
    send(&mut t, true, S, C_ISN, 0, b"", 6); // retransmitted SYN: same connection
    assert_eq!(data(&mut t, id, Direction::ToServer), b"abc");
    assert_eq!(
        (t.stats().retransmitted, t.stats().streams, t.stats().reused),
        (1, 1, 0)
    );
}

#[test]
fn reordered_segments_complete_at_the_filling_frame() {
    let mut t = TcpTable::new(TcpLimits::default());
    let id = handshake(&mut t);
    send(&mut t, true, A, C_ISN + 4, S_ISN + 1, b"def", 4);
    assert_eq!(data(&mut t, id, Direction::ToServer), b"");
    send(&mut t, true, A, C_ISN + 1, S_ISN + 1, b"abc", 5);
    assert_eq!(data(&mut t, id, Direction::ToServer), b"abcdef");
    assert_eq!(
        t.half(id, Direction::ToServer).map(|h| h.frame_at(6)),
        Some(5)
    );
    assert_eq!((t.stats().out_of_order, t.stats().gaps), (1, 0));
}

#[test]
fn overlaps_keep_the_first_copy() {
    let mut t = TcpTable::new(TcpLimits::default());
    let id = handshake(&mut t);
    send(&mut t, true, A, C_ISN + 1, S_ISN + 1, b"abcdef", 4);
    send(&mut t, true, A, C_ISN + 4, S_ISN + 1, b"XYZghi", 5);
    assert_eq!(data(&mut t, id, Direction::ToServer), b"abcdefghi");
    // Overlap among held segments: [12, 15) held, then [10, 18) arrives, then the hole fills.
    send(&mut t, true, A, C_ISN + 13, S_ISN + 1, b"mno", 6);
    send(&mut t, true, A, C_ISN + 11, S_ISN + 1, b"klMNOpqr", 7);
    send(&mut t, true, A, C_ISN + 10, S_ISN + 1, b"j", 8);
    assert_eq!(data(&mut t, id, Direction::ToServer), b"abcdefghijklmnopqr");
    // A held copy fully covered by what is held: a retransmission.
    send(&mut t, true, A, C_ISN + 30, S_ISN + 1, b"zz", 9);
    send(&mut t, true, A, C_ISN + 30, S_ISN + 1, b"zz", 10);
    let s = t.stats();
    assert_eq!((s.overlaps, s.retransmitted, s.gaps), (2, 1, 0));
}

#[test]
fn gap_when_out_of_order_hold_passes_its_cap() {
    let limits = TcpLimits {
        max_out_of_order_segments: 2,
        ..TcpLimits::default()
    };
    let mut t = TcpTable::new(limits);
    let id = handshake(&mut t);
    send(&mut t, true, A, C_ISN + 1, S_ISN + 1, b"ab", 4);
    if let Some(h) = t.half(id, Direction::ToServer) {
        h.consume(1); // "b" stays unconsumed: it is discarded with the gap
    }
    // Bytes 2..12 never arrive; three segments after the hole.
    send(&mut t, true, A, C_ISN + 13, S_ISN + 1, b"mn", 5);
    send(&mut t, true, A, C_ISN + 15, S_ISN + 1, b"op", 6);
    assert_eq!(gap(&mut t, id, Direction::ToServer), None);
    send(&mut t, true, A, C_ISN + 17, S_ISN + 1, b"qr", 7);
    assert_eq!(gap(&mut t, id, Direction::ToServer), Some(1 + 10));
    assert_eq!(gap(&mut t, id, Direction::ToServer), None);
    assert_eq!(data(&mut t, id, Direction::ToServer), b"mnopqr");
    assert_eq!(
        t.half(id, Direction::ToServer).map(|h| h.stream_offset()),
        Some(12)
    );
    let s = t.stats();
    assert_eq!((s.gaps, s.gap_bytes, s.ooo_cap_hits), (1, 10, 1));
    // The stream goes on after the resynchronisation.
    send(&mut t, true, A, C_ISN + 19, S_ISN + 1, b"s", 8);
    assert_eq!(data(&mut t, id, Direction::ToServer), b"mnopqrs");
}

#[test]
fn ack_beyond_a_hole_declares_a_gap() {
    let mut t = TcpTable::new(TcpLimits::default());
    let id = handshake(&mut t);
    send(&mut t, true, A, C_ISN + 1, S_ISN + 1, b"abc", 4);
    if let Some(h) = t.half(id, Direction::ToServer) {
        h.consume(3);
    }
    // "def" (C_ISN+4..) is never captured; "ghi" is held; the server acknowledges all nine.
    send(&mut t, true, A, C_ISN + 7, S_ISN + 1, b"ghi", 5);
    assert_eq!(data(&mut t, id, Direction::ToServer), b"");
    send(&mut t, false, A, S_ISN + 1, C_ISN + 10, b"", 6);
    assert_eq!(gap(&mut t, id, Direction::ToServer), Some(3));
    assert_eq!(data(&mut t, id, Direction::ToServer), b"ghi");
    // Released by the ACK's frame.
    assert_eq!(
        t.half(id, Direction::ToServer).map(|h| h.frame_at(3)),
        Some(6)
    );
    // An ACK for bytes never seen with nothing held: the gap reaches the acknowledged byte.
    send(&mut t, false, A, S_ISN + 1, C_ISN + 15, b"", 7);
    assert_eq!(gap(&mut t, id, Direction::ToServer), Some(3 + 5));
    send(&mut t, true, A, C_ISN + 15, S_ISN + 1, b"p", 8);
    assert_eq!(data(&mut t, id, Direction::ToServer), b"p");
    let s = t.stats();
    assert_eq!((s.gaps, s.gap_bytes, s.acked_unseen), (2, 8, 2));
}

#[test]
fn sequence_numbers_wrap_around() {
    let mut t = TcpTable::new(TcpLimits::default());
    let isn = u32::MAX - 4;
    let id = send(&mut t, true, S, isn, 0, b"", 1).map(|(id, _)| id);
    let Some(id) = id else {
        panic!("SYN must open a connection")
    };
    send(&mut t, false, S | A, S_ISN, isn.wrapping_add(1), b"", 2);
    // Out of order across the wrap: bytes 4..8 (seq 0..4) first, then 0..4 (seq MAX-3..MAX).
    send(&mut t, true, A, isn.wrapping_add(5), S_ISN + 1, b"5678", 3);
    send(&mut t, true, A, isn.wrapping_add(1), S_ISN + 1, b"1234", 4);
    send(&mut t, true, A, 4, S_ISN + 1, b"9", 5);
    assert_eq!(data(&mut t, id, Direction::ToServer), b"123456789");
    // The server acknowledging across the wrap declares no gap.
    send(&mut t, false, A, S_ISN + 1, 5, b"", 6);
    assert_eq!((t.stats().gaps, t.stats().bad_seq), (0, 0));
    // A segment 2^31 away is garbage, not data.
    send(&mut t, true, A, 0x8000_0004, S_ISN + 1, b"x", 7);
    assert_eq!(t.stats().bad_seq, 1);
}

#[test]
fn midstream_pickup_guesses_the_server() {
    let mut t = TcpTable::new(TcpLimits::default());
    // First segment seen: server → client data, no handshake.
    let got = send_ports(&mut t, false, (50000, 88), A, 7000, 3000, b"rep", 1, 0);
    let Some((id, dir)) = got else {
        panic!("data must open a connection")
    };
    assert_eq!(dir, Direction::ToClient);
    assert_eq!(t.endpoints(id).map(|e| e.server.port()), Some(88));
    assert_eq!(data(&mut t, id, Direction::ToClient), b"rep");
    // Its ACK started the client direction at 3000: client data there is in order.
    send_ports(&mut t, true, (50000, 88), A, 3000, 7003, b"req", 2, 0);
    assert_eq!(data(&mut t, id, Direction::ToServer), b"req");
    // Two unprivileged ports: the lower one serves.
    let got = send_ports(&mut t, true, (60000, 50001), A, 1, 1, b"x", 3, 0);
    let server = got
        .and_then(|(id, _)| t.endpoints(id))
        .map(|e| e.server.port());
    assert_eq!(server, Some(50001));
    let got = send_ports(&mut t, false, (49999, 62000), A, 1, 1, b"x", 4, 0);
    let server = got
        .and_then(|(id, _)| t.endpoints(id))
        .map(|e| e.server.port());
    assert_eq!(server, Some(49999));
    // A pure ACK of no known connection starts nothing.
    assert_eq!(send_ports(&mut t, true, (1, 2), A, 1, 1, b"", 5, 0), None);
    let s = t.stats();
    assert_eq!(
        (s.midstream_pickups, s.untracked_segments, s.streams),
        (3, 1, 3)
    );
}

#[test]
fn fin_both_ways_closes_and_a_new_syn_starts_a_new_connection() {
    let mut t = TcpTable::new(TcpLimits::default());
    let id = handshake(&mut t);
    send(&mut t, true, A, C_ISN + 1, S_ISN + 1, b"req", 4);
    send(&mut t, true, A | F, C_ISN + 4, S_ISN + 1, b"", 5);
    assert_eq!(
        t.half(id, Direction::ToServer).map(|h| h.is_closed()),
        Some(true)
    );
    assert!(t.take_closed().is_empty());
    send(&mut t, false, A | F, S_ISN + 1, C_ISN + 5, b"rep", 6);
    let got = send(&mut t, true, A, C_ISN + 5, S_ISN + 5, b"", 7); // last ACK still maps
    assert_eq!(got, Some((id, Direction::ToServer)));
    assert_eq!(t.take_closed(), vec![id]);
    // Still readable until the next take_closed.
    assert_eq!(data(&mut t, id, Direction::ToClient), b"rep");
    let again = send(&mut t, true, S, 90_000, 0, b"", 8).map(|(id, _)| id);
    assert!(again.is_some_and(|new| new != id && new > id));
    assert!(t.take_closed().is_empty());
    assert_eq!(
        t.half(id, Direction::ToClient).map(|h| h.data().len()),
        None
    );
    assert_eq!(t.stats().closed_fin, 1);
}

#[test]
fn syn_captured_after_its_data_is_not_reuse() {
    let mut t = TcpTable::new(TcpLimits::default());
    let first = send(&mut t, true, A, C_ISN + 1, S_ISN + 1, b"abc", 1);
    let syn = send(&mut t, true, S, C_ISN, 0, b"", 2);
    assert_eq!(first.map(|(id, _)| id), syn.map(|(id, _)| id));
    assert_eq!((t.stats().streams, t.stats().reused), (1, 0));
}

#[test]
fn consumed_bytes_leave_the_global_count() {
    let mut t = TcpTable::new(TcpLimits::default());
    let id = handshake(&mut t);
    send(&mut t, true, A, C_ISN + 1, S_ISN + 1, b"abcdef", 4);
    assert_eq!(t.buffered_bytes(), 6);
    if let Some(h) = t.half(id, Direction::ToServer) {
        h.consume(4);
    }
    let _ = t.half(id, Direction::ToServer);
    assert_eq!(t.buffered_bytes(), 2);
}

#[test]
fn new_syn_on_a_live_tuple_is_reuse() {
    let mut t = TcpTable::new(TcpLimits::default());
    let id = handshake(&mut t);
    let again = send(&mut t, true, S, 777_777, 0, b"", 4).map(|(id, _)| id);
    assert!(again.is_some_and(|new| new != id));
    assert_eq!(t.take_closed(), vec![id]);
    assert_eq!(t.stats().reused, 1);
}

#[test]
fn fin_and_rst_turn_holes_into_gaps() {
    let mut t = TcpTable::new(TcpLimits::default());
    let id = handshake(&mut t);
    send(&mut t, true, A, C_ISN + 1, S_ISN + 1, b"ab", 4);
    send(&mut t, true, A | F, C_ISN + 6, S_ISN + 1, b"fg", 5); // 3 bytes missing before it
    assert_eq!(gap(&mut t, id, Direction::ToServer), Some(2 + 3));
    assert_eq!(data(&mut t, id, Direction::ToServer), b"fg");
    // Server: held data, then RST: released after a gap, connection over.
    send(&mut t, false, A, S_ISN + 11, C_ISN + 9, b"late", 6);
    send(&mut t, false, R, S_ISN + 15, 0, b"", 7);
    assert_eq!(gap(&mut t, id, Direction::ToClient), Some(10));
    assert_eq!(data(&mut t, id, Direction::ToClient), b"late");
    assert_eq!(t.take_closed(), vec![id]);
    assert_eq!(t.stats().closed_rst, 1);
}

#[test]
fn stream_cap_discards_unconsumed_bytes_as_a_gap() {
    let limits = TcpLimits {
        max_stream_bytes: 10,
        ..TcpLimits::default()
    };
    let mut t = TcpTable::new(limits);
    let id = handshake(&mut t);
    send(&mut t, true, A, C_ISN + 1, S_ISN + 1, b"12345678", 4);
    send(&mut t, true, A, C_ISN + 9, S_ISN + 1, b"abcde", 5);
    assert_eq!(gap(&mut t, id, Direction::ToServer), Some(8));
    assert_eq!(data(&mut t, id, Direction::ToServer), b"abcde");
    let s = t.stats();
    assert_eq!((s.stream_cap_hits, s.gaps, s.gap_bytes), (1, 0, 0));
}

#[test]
fn global_cap_sheds_the_growing_connection() {
    let limits = TcpLimits {
        max_total_bytes: 10,
        ..TcpLimits::default()
    };
    let mut t = TcpTable::new(limits);
    let a = send_ports(&mut t, true, (40001, 88), A, 1, 1, b"aaaaaa", 1, 0);
    assert_eq!(t.buffered_bytes(), 6);
    let b = send_ports(&mut t, true, (40002, 88), A, 1, 1, b"bbbbbb", 2, 0);
    assert_eq!(t.stats().global_cap_hits, 1);
    assert_eq!(t.buffered_bytes(), 6);
    let (Some((a, _)), Some((b, _))) = (a, b) else {
        panic!("both connections open")
    };
    assert_eq!(data(&mut t, a, Direction::ToServer), b"aaaaaa");
    assert_eq!(gap(&mut t, b, Direction::ToServer), Some(6));
}

#[test]
fn connection_cap_evicts_the_least_recent() {
    let limits = TcpLimits {
        max_connections: 2,
        ..TcpLimits::default()
    };
    let mut t = TcpTable::new(limits);
    let a = send_ports(&mut t, true, (40001, 88), A, 1, 1, b"a", 1, 10);
    let b = send_ports(&mut t, true, (40002, 88), A, 1, 1, b"b", 2, 11);
    let c = send_ports(&mut t, true, (40003, 88), A, 1, 1, b"c", 3, 12);
    assert!(a.is_some() && b.is_some() && c.is_some());
    let evicted: Vec<ConnId> = a.map(|(id, _)| id).into_iter().collect();
    assert_eq!(t.take_closed(), evicted);
    assert_eq!(t.live_connections(), 2);
    let s = t.stats();
    assert_eq!((s.conn_cap_hits, s.conns_evicted), (1, 1));
}

#[test]
fn idle_connections_time_out_in_capture_time() {
    let limits = TcpLimits {
        idle_timeout_secs: 100,
        ..TcpLimits::default()
    };
    let mut t = TcpTable::new(limits);
    let a = send_ports(&mut t, true, (40001, 88), A, 1, 1, b"a", 1, 1000).map(|(id, _)| id);
    send_ports(&mut t, true, (40002, 88), A, 1, 1, b"b", 2, 1050);
    assert!(t.take_closed().is_empty());
    send_ports(&mut t, true, (40002, 88), A, 2, 1, b"b", 3, 1150);
    assert_eq!(t.take_closed(), a.into_iter().collect::<Vec<_>>());
    assert_eq!(t.stats().idle_timeouts, 1);
}

#[test]
fn flush_releases_held_bytes_and_reports_everything() {
    let mut t = TcpTable::new(TcpLimits::default());
    let id = handshake(&mut t);
    send(&mut t, true, A, C_ISN + 1, S_ISN + 1, b"ab", 4);
    send(&mut t, true, A, C_ISN + 5, S_ISN + 1, b"ef", 5);
    t.flush_all();
    assert_eq!(gap(&mut t, id, Direction::ToServer), Some(2 + 2));
    assert_eq!(data(&mut t, id, Direction::ToServer), b"ef");
    assert_eq!(
        t.half(id, Direction::ToServer).map(|h| h.frame_at(2)),
        Some(5)
    );
    assert_eq!(t.take_closed(), vec![id]);
    assert_eq!(data(&mut t, id, Direction::ToServer), b"ef");
}

#[test]
fn discarded_direction_keeps_sequence_but_no_bytes() {
    let mut t = TcpTable::new(TcpLimits::default());
    let id = handshake(&mut t);
    if let Some(h) = t.half(id, Direction::ToServer) {
        h.set_discard(true);
    }
    send(&mut t, true, A, C_ISN + 1, S_ISN + 1, b"bulk", 4);
    send(&mut t, true, A, C_ISN + 5, S_ISN + 1, b"more", 5);
    assert_eq!(data(&mut t, id, Direction::ToServer), b"");
    assert_eq!(
        t.half(id, Direction::ToServer).map(|h| h.stream_offset()),
        Some(8)
    );
    assert_eq!((t.stats().gaps, t.buffered_bytes()), (0, 0));
    assert_eq!(Direction::ToServer.opposite(), Direction::ToClient);
}

#[test]
fn random_segments_never_panic_and_stay_bounded() {
    let limits = TcpLimits {
        max_stream_bytes: 64,
        max_out_of_order_segments: 4,
        max_out_of_order_bytes: 32,
        max_total_bytes: 256,
        max_connections: 8,
        idle_timeout_secs: 5,
    };
    let mut t = TcpTable::new(limits);
    let mut rng = 0x1234_5678_9abc_def0u64;
    let mut next = || super::decode_tests::xorshift(&mut rng);
    let payload = [0x55u8; 40];
    for frame in 1..50_000u64 {
        let from_client = next().is_multiple_of(2);
        let port = 40000 + (next() % 12) as u16;
        let flags = (next() % 32) as u8 | if next().is_multiple_of(3) { 0 } else { A };
        let seq = C_ISN.wrapping_add((next() % 400) as u32);
        let ack = S_ISN.wrapping_add((next() % 400) as u32);
        let len = (next() % 41) as usize;
        let secs = (frame / 1000) as i64;
        let body = payload.get(..len).unwrap_or(&[]);
        let got = send_ports(
            &mut t,
            from_client,
            (port, 88),
            flags,
            seq,
            ack,
            body,
            frame,
            secs,
        );
        if let Some((id, dir)) = got
            && let Some(h) = t.half(id, dir)
        {
            let n = h.data().len();
            let _ = (h.take_gap(), h.frame_at(n), h.ts_at(n));
            h.consume(n / 2);
        }
        if frame.is_multiple_of(100) {
            t.take_closed();
        }
        assert!(t.live_connections() <= 8);
        assert!(t.buffered_bytes() <= 256 + 2 * 64 + 2 * 32);
    }
    t.flush_all();
    assert!(!t.take_closed().is_empty());
    let s = t.stats();
    assert!(s.gaps > 0 && s.retransmitted > 0 && s.out_of_order > 0 && s.conns_evicted > 0);
}

#[test]
fn skipped_bytes_are_dropped_on_arrival_and_absorb_gaps_inside_them() {
    let mut t = TcpTable::new(TcpLimits::default());
    let id = handshake(&mut t);
    send(&mut t, true, A, C_ISN + 1, S_ISN + 1, b"head", 4);
    // The parser is done with "head" and the next 10 bytes, of which none has arrived.
    if let Some(h) = t.half(id, Direction::ToServer) {
        h.skip(4 + 10);
        assert!(h.data().is_empty());
    }
    // 6 of the 10 arrive and vanish; 4 more are never captured (the ACK makes them a gap inside
    // the skipped range: no gap for the parser); then 3 bytes the parser wants.
    send(&mut t, true, A, C_ISN + 5, S_ISN + 1, b"xxxxxx", 5);
    assert_eq!(data(&mut t, id, Direction::ToServer), b"");
    send(&mut t, true, A, C_ISN + 15, S_ISN + 1, b"abc", 6);
    send(&mut t, false, A, S_ISN + 1, C_ISN + 18, b"", 7);
    assert_eq!(gap(&mut t, id, Direction::ToServer), None);
    assert_eq!(data(&mut t, id, Direction::ToServer), b"abc");
    // A skip whose end is lost with more than it: only the excess is a gap for the parser.
    if let Some(h) = t.half(id, Direction::ToServer) {
        h.skip(3 + 2);
    }
    send(&mut t, true, A, C_ISN + 25, S_ISN + 1, b"z", 8);
    send(&mut t, false, A, S_ISN + 1, C_ISN + 26, b"", 9);
    assert_eq!(gap(&mut t, id, Direction::ToServer), Some(7 - 2));
    assert_eq!(data(&mut t, id, Direction::ToServer), b"z");
    let s = t.stats();
    // The TCP layer counts every missing byte, skipped or not.
    assert_eq!((s.gaps, s.gap_bytes), (2, 4 + 7));
}
