//! The carrier framing (SMB, DCE/RPC, LDAP) driven through the whole dissector with hand-built
//! TCP segments around real messages from the public captures: ports and content recognition,
//! skipping of large uninteresting messages without buffering them, resynchronisation after
//! garbage, and a capture gap inside a skipped message.

use std::net::Ipv4Addr;

use super::Dissector;
use crate::capture::{Frame, LinkType, Timestamp};
use crate::event::{Event, EventBody};

const CLIENT: Ipv4Addr = Ipv4Addr::new(10, 0, 0, 1);
const SERVER: Ipv4Addr = Ipv4Addr::new(10, 0, 0, 2);
const SYN: u8 = 0x02;
const ACK: u8 = 0x10;
const PSH_ACK: u8 = 0x18;

const SMB_SETUP: &[u8] = include_bytes!("../proto/smb/testdata/tso_f35_smb2_setup_req_apreq.bin");
const DCE_BIND: &[u8] = include_bytes!("../proto/dcerpc/testdata/ctxids_f11_bind_ntlm1.bin");
const LDAP_BIND: &[u8] =
    include_bytes!("../proto/ldap/testdata/aduser1_f46_bind_gss_spnego_apreq.bin");

#[allow(clippy::too_many_arguments)]
fn packet(
    src: Ipv4Addr,
    sport: u16,
    dst: Ipv4Addr,
    dport: u16,
    seq: u32,
    ack: u32,
    flags: u8,
    data: &[u8],
) -> Vec<u8> {
    let mut t = Vec::new();
    t.extend(sport.to_be_bytes());
    t.extend(dport.to_be_bytes());
    t.extend(seq.to_be_bytes());
    t.extend(ack.to_be_bytes());
    t.extend([0x50, flags, 0xff, 0xff, 0, 0, 0, 0]);
    t.extend(data);
    let mut p = vec![0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 0x08, 0x00, 0x45, 0];
    p.extend(((20 + t.len()) as u16).to_be_bytes());
    p.extend([0, 0, 0x40, 0, 64, 6, 0, 0]);
    p.extend(src.octets());
    p.extend(dst.octets());
    p.extend(t);
    p
}

/// One TCP connection fed to a dissector, segment by segment.
struct Conn {
    d: Dissector,
    sport: u16,
    dport: u16,
    /// Next sequence number, client and server.
    seq: [u32; 2],
    frame: u64,
    out: Vec<Event>,
}

impl Conn {
    fn open(dport: u16) -> Conn {
        let mut c = Conn {
            d: Dissector::new(0),
            sport: 50000,
            dport,
            seq: [1000, 5000],
            frame: 0,
            out: Vec::new(),
        };
        c.raw(true, SYN, &[], 0);
        c.seq[0] += 1;
        c.raw(false, SYN | ACK, &[], 0);
        c.seq[1] += 1;
        c.raw(true, ACK, &[], 0);
        c
    }

    /// Send `data` from the client (or server) starting `skip` bytes ahead of the stream
    /// position (bytes in between are never sent: a capture hole).
    fn raw(&mut self, from_client: bool, flags: u8, data: &[u8], skip: u32) {
        self.frame += 1;
        let (i, src, sport, dst, dport) = if from_client {
            (0, CLIENT, self.sport, SERVER, self.dport)
        } else {
            (1, SERVER, self.dport, CLIENT, self.sport)
        };
        let seq = self.seq[i] + skip;
        let bytes = packet(src, sport, dst, dport, seq, self.seq[1 - i], flags, data);
        let frame = Frame {
            number: self.frame,
            ts: Timestamp::default(),
            link_type: LinkType::ETHERNET,
            data: &bytes,
            orig_len: bytes.len() as u32,
        };
        self.d.frame(&frame, &mut self.out);
        self.seq[i] = seq + data.len() as u32;
    }

    fn send(&mut self, from_client: bool, data: &[u8]) {
        self.raw(from_client, PSH_ACK, data, 0);
    }

    fn finish(mut self) -> (Vec<Event>, super::AllStats) {
        self.d.finish(&mut self.out);
        let stats = self.d.stats();
        (self.out, stats)
    }
}

fn nbss(msg: &[u8]) -> Vec<u8> {
    let len = msg.len() as u32;
    let mut v = vec![0];
    v.extend(&len.to_be_bytes()[1..]);
    v.extend(msg);
    v
}

/// A 300 KB SMB2 READ response header (command 8) whose body follows in later segments.
fn big_read_header(body_len: usize) -> Vec<u8> {
    let mut h = vec![0u8; 64];
    h[..4].copy_from_slice(b"\xfeSMB");
    h[4] = 64;
    h[12] = 8;
    let mut v = vec![0];
    v.extend(&((64 + body_len) as u32).to_be_bytes()[1..]);
    v.extend(h);
    v
}

/// 37 bytes that start no message, then `msg` in its NetBIOS frame.
fn garbage_then(msg: &[u8]) -> Vec<u8> {
    let mut data = vec![0x42; 37];
    data.extend(nbss(msg));
    data
}

fn carrier_events(
    events: &[Event],
) -> Vec<(u64, &'static str, &'static str, Option<&'static str>)> {
    events
        .iter()
        .filter_map(|e| match &e.body {
            EventBody::Spnego(g) | EventBody::Ntlm(g) => Some((
                e.frame,
                e.body.proto(),
                g.transport,
                g.inner_token.or(g.token),
            )),
            _ => None,
        })
        .collect()
}

#[test]
fn smb_skips_large_messages_and_keeps_session_setup() {
    let mut c = Conn::open(445);
    // 300 KB of READ data in 100 KB segments: skipped as it arrives.
    let body = 300 << 10;
    c.send(false, &big_read_header(body));
    for _ in 0..3 {
        c.send(false, &vec![0x55; 100 << 10]);
    }
    // SESSION_SETUP split across two segments: reported at the second.
    let setup = nbss(SMB_SETUP);
    let (a, b) = setup.split_at(700);
    c.send(true, a);
    c.send(true, b);
    let (events, stats) = c.finish();
    assert_eq!(
        carrier_events(&events),
        vec![(9, "spnego", "smb", Some("krb5-ap-req"))]
    );
    assert_eq!(
        (stats.app.tcp_connections_smb, stats.app.carrier_oversize),
        (1, 0)
    );
}

#[test]
fn smb_gap_inside_a_skipped_message_keeps_framing() {
    let mut c = Conn::open(445);
    let body = 3000;
    c.send(false, &big_read_header(body));
    c.send(false, &[0x55; 1000]);
    // 1000 bytes never captured, then the rest of the READ and a SESSION_SETUP response.
    let resp = nbss(include_bytes!(
        "../proto/smb/testdata/tso_f37_smb2_setup_resp_aprep.bin"
    ));
    c.raw(
        false,
        PSH_ACK,
        &[[0x55; 1000].as_slice(), &resp].concat(),
        1000,
    );
    // The client acknowledges everything: the hole becomes a gap.
    c.send(true, &[]);
    c.raw(true, ACK, &[], 0);
    let (events, stats) = c.finish();
    assert_eq!(
        carrier_events(&events).first().map(|e| e.3),
        Some(Some("krb5-ap-rep"))
    );
    // The hole lay inside bytes the parser had asked the stream to skip: the TCP layer counts
    // it, the parser never has to resynchronise.
    assert_eq!(
        (
            stats.tcp.gaps,
            stats.app.tcp_gaps_seen,
            stats.app.carrier_resyncs
        ),
        (1, 0, 0)
    );
}

#[test]
fn garbage_then_resync() {
    let mut c = Conn::open(445);
    c.send(true, &nbss(SMB_SETUP));
    c.send(true, &garbage_then(SMB_SETUP));
    let (events, stats) = c.finish();
    assert_eq!(
        carrier_events(&events),
        vec![
            (4, "spnego", "smb", Some("krb5-ap-req")),
            (5, "spnego", "smb", Some("krb5-ap-req"))
        ]
    );
    assert_eq!(
        (stats.app.carrier_malformed, stats.app.carrier_resyncs),
        (1, 1)
    );
}

/// Bulk data on port 445 from its SYN on: the first bytes are no NetBIOS/SMB message, so the
/// direction is given up at once (no megabyte of searching and copying), even if SMB-looking
/// bytes come later.
#[test]
fn a_stream_that_starts_as_no_smb_is_abandoned_at_once() {
    let mut c = Conn::open(445);
    for _ in 0..3 {
        c.send(true, &[0x42; 1000]);
    }
    c.send(true, &nbss(SMB_SETUP));
    let (events, stats) = c.finish();
    assert!(carrier_events(&events).is_empty());
    assert_eq!(
        (
            stats.app.carrier_malformed,
            stats.app.carrier_abandoned,
            stats.app.carrier_resyncs
        ),
        (1, 1, 0)
    );
}

/// Picked up mid-stream (no SYN in the capture): garbage before the first message start is
/// lost framing, searched through as before.
#[test]
fn a_stream_picked_up_midway_still_resynchronises() {
    let mut c = Conn::open(445);
    // A fresh connection whose SYN the capture missed.
    c.sport = 50001;
    c.send(true, &garbage_then(SMB_SETUP));
    let (events, stats) = c.finish();
    assert_eq!(
        carrier_events(&events),
        vec![(4, "spnego", "smb", Some("krb5-ap-req"))]
    );
    assert_eq!(
        (stats.app.carrier_resyncs, stats.app.carrier_abandoned),
        (1, 0)
    );
}

fn http_events(events: &[Event]) -> Vec<(u64, Option<u16>, Option<String>)> {
    events
        .iter()
        .filter_map(|e| match &e.body {
            EventBody::Http(h) => Some((e.frame, h.status, h.method.clone())),
            _ => None,
        })
        .collect()
}

/// A Content-Length body is skipped in the stream, not copied, and its message is still
/// reported at the frame that brings its last byte, as Wireshark reports a reassembled HTTP
/// message; the next message in the same segment follows.
#[test]
fn http_body_skipped_and_reported_at_the_frame_that_completes_it() {
    let mut c = Conn::open(80);
    c.send(true, b"GET / HTTP/1.1\r\nHost: web\r\n\r\n");
    let head =
        b"HTTP/1.1 401 Unauthorized\r\nWWW-Authenticate: Negotiate\r\nContent-Length: 3000\r\n\r\n";
    c.send(false, &[head.as_slice(), &[b'a'; 500]].concat());
    c.send(false, &[b'b'; 1500]);
    c.send(
        false,
        &[
            [b'c'; 1000].as_slice(),
            b"HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n",
        ]
        .concat(),
    );
    let (events, stats) = c.finish();
    assert_eq!(
        http_events(&events),
        vec![
            (4, None, Some("GET".to_string())),
            (7, Some(401), None),
            (7, Some(200), None)
        ]
    );
    assert_eq!(stats.app.http_messages, 3);
}

/// A capture hole inside a skipped body: the body's end is still known from the sequence
/// numbers, so the next message parses without a resync; the message with the hole is
/// reported at its head's frame (it never arrived whole).
#[test]
fn http_gap_inside_a_skipped_body_keeps_framing() {
    let mut c = Conn::open(80);
    c.send(true, b"GET / HTTP/1.1\r\nHost: web\r\n\r\n");
    let head = b"HTTP/1.1 200 OK\r\nContent-Length: 3000\r\n\r\n";
    c.send(false, &[head.as_slice(), &[b'a'; 1000]].concat());
    // 1000 body bytes never captured, then the rest of the body and the next response.
    c.raw(
        false,
        PSH_ACK,
        &[
            [b'c'; 1000].as_slice(),
            b"HTTP/1.1 404 Not Found\r\nContent-Length: 0\r\n\r\n",
        ]
        .concat(),
        1000,
    );
    // The client acknowledges everything: the hole becomes a gap.
    c.send(true, &[]);
    c.raw(true, ACK, &[], 0);
    let (events, stats) = c.finish();
    let statuses: Vec<_> = http_events(&events)
        .into_iter()
        .filter_map(|(frame, status, _)| status.map(|s| (frame, s)))
        .collect();
    // The 404's bytes wait behind the hole until frame 7's ACK turns it into a gap.
    assert_eq!(statuses, vec![(5, 200), (7, 404)]);
    assert_eq!(
        (
            stats.tcp.gaps,
            stats.app.tcp_gaps_seen,
            stats.app.http_resyncs
        ),
        (1, 0, 0)
    );
}

#[test]
fn dcerpc_on_a_dynamic_port_by_content() {
    let mut c = Conn::open(49733);
    // The first segment is too short to tell: the decision waits for the header.
    c.send(true, &DCE_BIND[..10]);
    c.send(true, &DCE_BIND[10..]);
    let (events, stats) = c.finish();
    assert_eq!(
        carrier_events(&events),
        vec![(5, "ntlm", "dcerpc", Some("ntlmssp-1"))]
    );
    assert_eq!(stats.app.tcp_connections_dcerpc, 1);
}

#[test]
fn ldap_skips_sasl_buffers_and_other_operations() {
    let mut c = Conn::open(389);
    // A SASL-wrapped buffer (after a sign/seal bind) and a search request, then a bind.
    let mut data = 100u32.to_be_bytes().to_vec();
    data.extend([0x05; 100]);
    data.extend([0x30, 0x05, 0x02, 0x01, 0x07, 0x63, 0x00]);
    data.extend(LDAP_BIND);
    c.send(true, &data);
    let (events, stats) = c.finish();
    assert_eq!(
        carrier_events(&events),
        vec![(4, "spnego", "ldap", Some("krb5-ap-req"))]
    );
    assert_eq!((stats.app.ldap_binds, stats.app.carrier_malformed), (1, 0));
    let ev = events.iter().find_map(|e| e.body.gss());
    assert_eq!(
        ev.and_then(|g| g.kerberos())
            .and_then(|k| k.sname.as_deref()),
        Some("ldap/WIN-VGO56I95EAK")
    );
}

#[test]
fn dns_tkey_over_tcp() {
    // A GSS-TSIG TKEY query whose key data is an NTLMSSP NEGOTIATE, length-prefixed on TCP/53.
    let mut m = vec![0x12, 0x34, 0, 0, 0, 1, 0, 0, 0, 0, 0, 1];
    m.extend(b"\x03ctx\x00\x00\xf9\x00\xff");
    m.extend([0xc0, 12, 0, 249, 0, 255, 0, 0, 0, 0]);
    let token = b"NTLMSSP\0\x01\0\0\0\x07\x82\x08\xa2";
    let mut rdata = b"\x08gss-tsig\x00".to_vec();
    rdata.extend([0; 8]);
    rdata.extend([0, 3, 0, 0]);
    rdata.extend((token.len() as u16).to_be_bytes());
    rdata.extend(token);
    rdata.extend([0, 0]);
    m.extend((rdata.len() as u16).to_be_bytes());
    m.extend(rdata);
    let mut data = (m.len() as u16).to_be_bytes().to_vec();
    data.extend(m);
    let mut c = Conn::open(53);
    c.send(true, &data);
    let (events, _) = c.finish();
    assert_eq!(
        carrier_events(&events),
        vec![(4, "ntlm", "dns", Some("ntlmssp-1"))]
    );
    assert!(matches!(
        events.first().map(|e| &e.body),
        Some(EventBody::Dns(_))
    ));
}

#[test]
fn winrm_credssp_records() {
    use base64::Engine;
    let b64 = |b: &[u8]| base64::engine::general_purpose::STANDARD.encode(b);
    // Leg 1: a TLS ClientHello record; leg 4: application data (the encrypted TSRequest).
    let hello = [22, 3, 3, 0, 6, 1, 0, 0, 2, 0xaa, 0xbb];
    let app = [23, 3, 3, 0, 4, 9, 9, 9, 9];
    let mut c = Conn::open(5985);
    let req = |token: &[u8]| {
        format!(
            "POST /wsman HTTP/1.1\r\nHost: win1\r\nAuthorization: CredSSP {}\r\nContent-Length: 0\r\n\r\n",
            b64(token)
        )
    };
    c.send(true, req(&hello).as_bytes());
    c.send(
        false,
        b"HTTP/1.1 401 \r\nWWW-Authenticate: Negotiate\r\nWWW-Authenticate: CredSSP\r\nContent-Length: 0\r\n\r\n",
    );
    c.send(true, req(&app).as_bytes());
    c.send(false, b"HTTP/1.1 200 \r\nContent-Length: 0\r\n\r\n");
    let (events, _) = c.finish();
    let http: Vec<_> = events
        .iter()
        .filter_map(|e| match &e.body {
            EventBody::Http(h) => Some(h),
            _ => None,
        })
        .collect();
    let phases: Vec<_> = http
        .iter()
        .filter_map(|h| h.credssp.as_ref().map(|c| c.phase))
        .collect();
    assert_eq!(phases, vec!["tls-handshake", "tls-application-data"]);
    assert!(http.iter().all(|h| h.winrm));
    let offered: Vec<_> = http
        .iter()
        .filter(|h| h.status == Some(401))
        .filter_map(|h| h.scheme.as_deref())
        .collect();
    assert_eq!(offered, vec!["Negotiate", "CredSSP"]);
    assert_eq!(http.last().and_then(|h| h.status), Some(200));
}
