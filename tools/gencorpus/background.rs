//! Synthetic SPAN-port background: TLS sessions, bulk TCP transfers and plain HTTP/1.1
//! keep-alive connections (full handshakes, real sequence numbers, delayed ACKs, FIN closes),
//! DNS queries and answers, and UDP noise (NTP, syslog, RTP-like). Some flows are IPv6, some
//! 802.1Q-tagged. None of it carries authentication, so none of it may cause a finding.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

use crate::packet::{Hosts, L4, Rng, TCP_ACK, TCP_FIN, TCP_PSH, TCP_SYN};

/// Largest TCP payload per segment (Ethernet MTU minus IPv4 and TCP headers, with timestamps).
const MSS: usize = 1448;
/// Connections open at once; their packets interleave.
pub const ACTIVE_FLOWS: usize = 48;

#[derive(Clone, Copy, PartialEq)]
enum Kind {
    Tls,
    Bulk,
    Http,
}

#[derive(Clone, Copy, PartialEq)]
enum Stage {
    Syn,
    SynAck,
    Ack,
    Data,
    Fin1,
    Fin2,
    LastAck,
    Done,
}

pub struct TcpFlow {
    kind: Kind,
    client: Hosts,
    cport: u16,
    sport: u16,
    cseq: u32,
    sseq: u32,
    stage: Stage,
    /// Bytes the client still has to send in its current message, then the server.
    to_server: Vec<u8>,
    to_client_left: usize,
    /// Index into `to_client` of the head being sent (HTTP responses are head + body).
    head: Vec<u8>,
    head_sent: usize,
    /// Server segments since the client's last ACK.
    unacked: u32,
    /// Request/response exchanges left on this connection.
    exchanges: u32,
    ip_id: u16,
    n: u64,
}

/// A bank of pseudo-random bytes that payloads are sliced from (no per-byte RNG cost).
pub struct Filler {
    random: Vec<u8>,
    text: Vec<u8>,
}

impl Filler {
    pub fn new(rng: &mut Rng) -> Filler {
        let random: Vec<u8> = (0..(1 << 18)).map(|_| rng.next() as u8).collect();
        let words = [
            "<div class=\"row\">",
            "lorem",
            "ipsum",
            "dolor",
            "sit",
            "amet",
            "</div>\n",
            "<p>",
            "consectetur",
            "adipiscing",
            "elit",
            "</p>\n",
            "<a href=\"/x\">",
            "link</a>",
        ];
        let mut text = Vec::with_capacity(1 << 18);
        while text.len() < 1 << 18 {
            text.extend_from_slice(words[(rng.next() % words.len() as u64) as usize].as_bytes());
            text.push(b' ');
        }
        Filler { random, text }
    }
    fn slice(&self, text: bool, rng: &mut Rng, len: usize) -> &[u8] {
        let bank = if text { &self.text } else { &self.random };
        let start = rng.range(0, (bank.len() - len) as u64) as usize;
        &bank[start..start + len]
    }
}

fn mac(n: u64) -> [u8; 6] {
    let b = n.to_be_bytes();
    [0x02, 0x42, b[4], b[5], b[6], b[7]]
}

/// A client and server pair; `v6` picks IPv6 documentation space, otherwise RFC 1918 space
/// that never overlaps the embedded scenarios' 10.0.0.0/8.
pub fn host_pair(rng: &mut Rng, v6: bool, vlan: Option<u16>) -> Hosts {
    let c = rng.next();
    let s = rng.next();
    let (src, dst) = if v6 {
        (
            IpAddr::V6(Ipv6Addr::new(
                0x2001,
                0xdb8,
                1,
                0,
                0,
                0,
                (c >> 16) as u16,
                c as u16,
            )),
            IpAddr::V6(Ipv6Addr::new(
                0x2001,
                0xdb8,
                2,
                0,
                0,
                0,
                0,
                (s % 512) as u16 + 1,
            )),
        )
    } else {
        (
            IpAddr::V4(Ipv4Addr::new(
                172,
                16 + (c % 4) as u8,
                (c >> 8) as u8,
                (c >> 16) as u8 | 1,
            )),
            IpAddr::V4(Ipv4Addr::new(
                192,
                168,
                (s % 8) as u8,
                (s >> 8) as u8 % 250 + 2,
            )),
        )
    };
    Hosts {
        src,
        dst,
        src_mac: mac(c),
        dst_mac: mac(s),
        vlan,
    }
}

fn vlan_and_v6(rng: &mut Rng) -> (Option<u16>, bool) {
    let vlan = rng
        .chance(12)
        .then(|| [10, 20, 30][(rng.next() % 3) as usize]);
    (vlan, rng.chance(15))
}

impl TcpFlow {
    pub fn new(rng: &mut Rng, n: u64) -> TcpFlow {
        let kind = match rng.next() % 10 {
            0..=3 => Kind::Tls,
            4..=6 => Kind::Bulk,
            _ => Kind::Http,
        };
        let (vlan, v6) = vlan_and_v6(rng);
        let client = host_pair(rng, v6, vlan);
        let sport = match kind {
            Kind::Tls => 443,
            Kind::Http => [80, 8080, 80, 80][(rng.next() % 4) as usize],
            Kind::Bulk => [445, 22, 3260, 9000][(rng.next() % 4) as usize],
        };
        let exchanges = match kind {
            Kind::Http => rng.range(1, 6) as u32,
            _ => 1,
        };
        TcpFlow {
            kind,
            client,
            cport: rng.range(32768, 61000) as u16,
            sport,
            cseq: rng.next() as u32,
            sseq: rng.next() as u32,
            stage: Stage::Syn,
            to_server: Vec::new(),
            to_client_left: 0,
            head: Vec::new(),
            head_sent: 0,
            unacked: 0,
            exchanges,
            ip_id: rng.next() as u16,
            n,
        }
    }

    pub fn done(&self) -> bool {
        self.stage == Stage::Done
    }

    /// Sets up the next request and response of the connection.
    fn next_exchange(&mut self, rng: &mut Rng) {
        self.exchanges -= 1;
        self.head.clear();
        self.head_sent = 0;
        match self.kind {
            Kind::Tls => {
                self.to_server = vec![
                    0x16, 0x03, 0x01, 0x01, 0x00, 0x01, 0x00, 0x00, 0xfc, 0x03, 0x03,
                ];
                self.to_server.resize(300, 0x5a);
                self.head = vec![0x16, 0x03, 0x03, 0x0b, 0xb8, 0x02];
                self.to_client_left = rng.range(20_000, 3_000_000) as usize;
            }
            Kind::Bulk => {
                self.to_server = vec![0x00, 0x00, 0x00, 0x44, 0xfe, b'S', b'M', b'B'];
                self.to_server.resize(72, 0);
                self.to_client_left = rng.range(100_000, 8_000_000) as usize;
            }
            Kind::Http => {
                let path = rng.next() % 100_000;
                let host = rng.next() % 500;
                self.to_server = format!(
                    "GET /static/page{path}.html HTTP/1.1\r\nHost: www{host}.example.com\r\nUser-Agent: Mozilla/5.0 (X11; Linux x86_64)\r\nAccept: text/html,*/*\r\nConnection: keep-alive\r\n\r\n"
                )
                .into_bytes();
                let body = rng.range(500, 400_000) as usize;
                self.head = format!(
                    "HTTP/1.1 200 OK\r\nServer: nginx\r\nContent-Type: text/html; charset=utf-8\r\nContent-Length: {body}\r\nCache-Control: max-age=60\r\n\r\n"
                )
                .into_bytes();
                self.to_client_left = body;
            }
        }
    }

    /// Writes the flow's next packet into `out`.
    pub fn step(&mut self, rng: &mut Rng, fill: &Filler, out: &mut Vec<u8>) {
        let c2s = self.client;
        let s2c = self.client.reversed();
        self.ip_id = self.ip_id.wrapping_add(1);
        let id = self.ip_id;
        let (cport, sport) = (self.cport, self.sport);
        let tcp =
            |out: &mut Vec<u8>, to_server: bool, seq: u32, ack: u32, flags: u8, payload: &[u8]| {
                let (h, sp, dp) = if to_server {
                    (&c2s, cport, sport)
                } else {
                    (&s2c, sport, cport)
                };
                crate::packet::build(
                    out,
                    h,
                    id,
                    &L4::Tcp {
                        sport: sp,
                        dport: dp,
                        seq,
                        ack,
                        flags,
                        payload,
                    },
                );
            };
        match self.stage {
            Stage::Syn => {
                tcp(out, true, self.cseq, 0, TCP_SYN, &[]);
                self.cseq = self.cseq.wrapping_add(1);
                self.stage = Stage::SynAck;
            }
            Stage::SynAck => {
                tcp(out, false, self.sseq, self.cseq, TCP_SYN | TCP_ACK, &[]);
                self.sseq = self.sseq.wrapping_add(1);
                self.stage = Stage::Ack;
            }
            Stage::Ack => {
                tcp(out, true, self.cseq, self.sseq, TCP_ACK, &[]);
                self.next_exchange(rng);
                self.stage = Stage::Data;
            }
            Stage::Data => {
                if !self.to_server.is_empty() {
                    let n = self.to_server.len().min(MSS);
                    let chunk: Vec<u8> = self.to_server.drain(..n).collect();
                    tcp(out, true, self.cseq, self.sseq, TCP_ACK | TCP_PSH, &chunk);
                    self.cseq = self.cseq.wrapping_add(n as u32);
                } else if self.unacked >= 2
                    || (self.to_client_left == 0
                        && self.head_sent == self.head.len()
                        && self.unacked > 0)
                {
                    tcp(out, true, self.cseq, self.sseq, TCP_ACK, &[]);
                    self.unacked = 0;
                } else if self.head_sent < self.head.len() || self.to_client_left > 0 {
                    let mut seg = Vec::with_capacity(MSS);
                    let head_left = &self.head[self.head_sent..];
                    let h = head_left.len().min(MSS);
                    seg.extend_from_slice(&head_left[..h]);
                    self.head_sent += h;
                    let b = (MSS - h).min(self.to_client_left);
                    seg.extend_from_slice(fill.slice(self.kind == Kind::Http, rng, b));
                    self.to_client_left -= b;
                    let flags = if self.to_client_left == 0 {
                        TCP_ACK | TCP_PSH
                    } else {
                        TCP_ACK
                    };
                    tcp(out, false, self.sseq, self.cseq, flags, &seg);
                    self.sseq = self.sseq.wrapping_add(seg.len() as u32);
                    self.unacked += 1;
                } else if self.exchanges > 0 {
                    self.next_exchange(rng);
                    return self.step(rng, fill, out);
                } else {
                    tcp(out, true, self.cseq, self.sseq, TCP_ACK | TCP_FIN, &[]);
                    self.cseq = self.cseq.wrapping_add(1);
                    self.stage = Stage::Fin1;
                }
            }
            Stage::Fin1 => {
                tcp(out, false, self.sseq, self.cseq, TCP_ACK | TCP_FIN, &[]);
                self.sseq = self.sseq.wrapping_add(1);
                self.stage = Stage::Fin2;
            }
            Stage::Fin2 => {
                tcp(out, true, self.cseq, self.sseq, TCP_ACK, &[]);
                self.stage = Stage::LastAck;
            }
            Stage::LastAck | Stage::Done => {
                self.stage = Stage::Done;
                out.clear();
            }
        }
        let _ = self.n;
    }
}

const NAMES: [&str; 12] = [
    "www.example.com",
    "cdn.example.net",
    "mail.corp.example",
    "api.example.org",
    "updates.vendor.example",
    "fileserver.corp.example",
    "wpad.corp.example",
    "time.example.net",
    "login.example.com",
    "intranet.corp.example",
    "static.example.org",
    "printer7.corp.example",
];

/// A DNS query and its answer (RFC 1035 §4.1) for a random name: two frames.
pub fn dns_pair(rng: &mut Rng, q: &mut Vec<u8>, r: &mut Vec<u8>) {
    let (vlan, v6) = vlan_and_v6(rng);
    let h = host_pair(rng, v6, vlan);
    let name = NAMES[(rng.next() % NAMES.len() as u64) as usize];
    let aaaa = rng.chance(30);
    let id = rng.next() as u16;
    let mut msg = Vec::with_capacity(128);
    msg.extend_from_slice(&id.to_be_bytes());
    msg.extend_from_slice(&[0x01, 0x00, 0, 1, 0, 0, 0, 0, 0, 0]);
    for label in name.split('.') {
        msg.push(label.len() as u8);
        msg.extend_from_slice(label.as_bytes());
    }
    msg.push(0);
    msg.extend_from_slice(&[0, if aaaa { 28 } else { 1 }, 0, 1]);
    let cport = rng.range(1024, 65535) as u16;
    crate::packet::build(
        q,
        &h,
        id,
        &L4::Udp {
            sport: cport,
            dport: 53,
            payload: &msg,
        },
    );
    msg[2] = 0x81;
    msg[3] = 0x80;
    msg[7] = 1;
    msg.extend_from_slice(&[
        0xc0,
        12,
        0,
        if aaaa { 28 } else { 1 },
        0,
        1,
        0,
        0,
        0x0e,
        0x10,
    ]);
    if aaaa {
        msg.extend_from_slice(&[
            0, 16, 0x20, 0x01, 0x0d, 0xb8, 0, 9, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1,
        ]);
    } else {
        msg.extend_from_slice(&[0, 4, 192, 0, 2, (rng.next() % 250) as u8 + 1]);
    }
    crate::packet::build(
        r,
        &h.reversed(),
        id,
        &L4::Udp {
            sport: 53,
            dport: cport,
            payload: &msg,
        },
    );
}

/// A datagram of a protocol nobody decodes.
pub fn udp_noise(rng: &mut Rng, fill: &Filler, out: &mut Vec<u8>) {
    let (vlan, v6) = vlan_and_v6(rng);
    let h = host_pair(rng, v6, vlan);
    let (port, len) = match rng.next() % 3 {
        0 => (123, 48),
        1 => (514, rng.range(60, 400) as usize),
        _ => (5004, rng.range(160, 1200) as usize),
    };
    let payload = fill.slice(port == 514, rng, len);
    let sport = rng.range(1024, 65535) as u16;
    crate::packet::build(
        out,
        &h,
        rng.next() as u16,
        &L4::Udp {
            sport,
            dport: port,
            payload,
        },
    );
}
