//! CredSSP (MS-CSSP) over WinRM in the findings, on captures crafted here byte by byte:
//! Ethernet/IPv4/TCP with HTTP/1.1 `POST /wsman` on port 5985, the CredSSP tokens built as TLS
//! records (RFC 5246 §6.2.1: content type, version 0x0303, length) in the order MS-CSSP 3.1.5
//! gives them: TLS handshake (ClientHello; ServerHello + Certificate + ServerHelloDone;
//! ClientKeyExchange + ChangeCipherSpec + encrypted Finished), then TSRequests in application
//! data (SPNEGO, pubKeyAuth, TSCredentials). The truth each test asserts is how its capture was
//! built: which schemes the server's 401 offered, where the exchange stopped, how it ended.
//!
//! No real CredSSP capture exists in the repository (a Windows client and server are needed), so
//! the encrypted parts are filler bytes of realistic length: the decoder reads the record layer
//! only, which is all a capture shows of CredSSP.

use std::net::Ipv4Addr;

use base64::Engine;
use serde_json::Value;

#[path = "common/packets.rs"]
mod packets;
use packets::{pcap, tcp, udp};

// ---------------------------------------------------------------- packets and pcap

const SYN: u8 = 0x02;
const ACK: u8 = 0x10;
const PSH: u8 = 0x08;

const CLIENT: Ipv4Addr = Ipv4Addr::new(192, 0, 2, 10);
const HOP1: Ipv4Addr = Ipv4Addr::new(192, 0, 2, 20);
const HOP2: Ipv4Addr = Ipv4Addr::new(192, 0, 2, 30);
const OTHER: Ipv4Addr = Ipv4Addr::new(192, 0, 2, 40);
const DNS: Ipv4Addr = Ipv4Addr::new(192, 0, 2, 53);
const HOP1_NAME: &str = "hop1.lab.test";
const HOP2_NAME: &str = "hop2.lab.test";

/// One TCP connection; its packets are appended to the capture in the order they are made.
struct Flow {
    c: Ipv4Addr,
    cport: u16,
    s: Ipv4Addr,
    sport: u16,
    cseq: u32,
    sseq: u32,
}

impl Flow {
    fn open(out: &mut Vec<Vec<u8>>, c: Ipv4Addr, cport: u16, s: Ipv4Addr, sport: u16) -> Flow {
        let mut f = Flow {
            c,
            cport,
            s,
            sport,
            cseq: 1000,
            sseq: 7000,
        };
        out.push(f.seg(true, SYN, &[]));
        out.push(f.seg(false, SYN | ACK, &[]));
        f.cseq += 1;
        f.sseq += 1;
        out.push(f.seg(true, ACK, &[]));
        f
    }
    fn seg(&self, from_client: bool, flags: u8, data: &[u8]) -> Vec<u8> {
        let (src, sp, dst, dp, seq, ack) = if from_client {
            (self.c, self.cport, self.s, self.sport, self.cseq, self.sseq)
        } else {
            (self.s, self.sport, self.c, self.cport, self.sseq, self.cseq)
        };
        tcp((src, sp), (dst, dp), (seq, ack), flags, data)
    }
    fn send(&mut self, out: &mut Vec<Vec<u8>>, from_client: bool, data: &[u8]) {
        for chunk in data.chunks(1400) {
            out.push(self.seg(from_client, ACK | PSH, chunk));
            let n = chunk.len() as u32;
            if from_client {
                self.cseq = self.cseq.wrapping_add(n);
            } else {
                self.sseq = self.sseq.wrapping_add(n);
            }
        }
    }
    fn client(&mut self, out: &mut Vec<Vec<u8>>, data: &[u8]) {
        self.send(out, true, data);
    }
    fn server(&mut self, out: &mut Vec<Vec<u8>>, data: &[u8]) {
        self.send(out, false, data);
    }
}

/// A classic little-endian pcap (microseconds, Ethernet), frames 10 ms apart.
/// The JSON findings of the report for a crafted capture, decoded as `kerbscope analyze` does
/// (plain HTTP away from authentication dropped); keeping every event must not change them.
fn findings(frames: &[Vec<u8>]) -> Vec<Value> {
    let run = |keep_plain_http: bool| {
        let reader = kerbscope::capture::CaptureReader::from_bytes(pcap(frames, 10_000))
            .unwrap_or_else(|e| panic!("crafted pcap refused: {e}"));
        let opts = kerbscope::pipeline::DissectOptions {
            threads: 1,
            keep_plain_http,
            ..Default::default()
        };
        let run = kerbscope::pipeline::dissect_reader_with(
            reader,
            std::path::Path::new("crafted"),
            0,
            &opts,
            None,
        );
        assert!(run.warnings.is_empty(), "{:?}", run.warnings);
        let report = kerbscope::analyze::analyze(&[run]);
        let v = serde_json::to_value(&report.findings).unwrap_or_default();
        v.as_array().cloned().unwrap_or_default()
    };
    let analysed = run(false);
    assert_eq!(analysed, run(true), "the HTTP filter changed the findings");
    analysed
}

fn mechanisms(fs: &[Value]) -> Vec<(String, String)> {
    fs.iter()
        .map(|f| {
            (
                f["kind"].as_str().unwrap_or("").to_string(),
                f["mechanism"].as_str().unwrap_or("").to_string(),
            )
        })
        .collect()
}

fn remediation(f: &Value) -> String {
    f["remediation"]
        .as_array()
        .map(|r| {
            r.iter()
                .filter_map(Value::as_str)
                .collect::<Vec<_>>()
                .join("\n")
        })
        .unwrap_or_default()
}

// ---------------------------------------------------------------- TLS records (RFC 5246)

fn record(ctype: u8, body: &[u8]) -> Vec<u8> {
    let mut r = vec![ctype, 3, 3];
    r.extend((body.len() as u16).to_be_bytes());
    r.extend(body);
    r
}

fn handshake(ht: u8, body: &[u8]) -> Vec<u8> {
    let len = body.len() as u32;
    let mut h = vec![ht];
    h.extend(&len.to_be_bytes()[1..]);
    h.extend(body);
    h
}

fn filler(n: usize, seed: u8) -> Vec<u8> {
    (0..n)
        .map(|i| (i as u8).wrapping_mul(31).wrapping_add(seed))
        .collect()
}

/// Leg 1 (client): a TLS 1.2 ClientHello (version, random, no session, two suites, null
/// compression, no extensions).
fn client_hello() -> Vec<u8> {
    let mut b = vec![3, 3];
    b.extend(filler(32, 1));
    b.extend([0, 0, 4, 0xc0, 0x30, 0xc0, 0x2f, 1, 0]);
    record(22, &handshake(1, &b))
}

/// Leg 1 (server): ServerHello + Certificate + ServerHelloDone in one record.
fn server_hello() -> Vec<u8> {
    let mut sh = vec![3, 3];
    sh.extend(filler(32, 2));
    sh.extend([0, 0xc0, 0x30, 0]);
    let cert = filler(600, 3);
    let mut certs = Vec::new();
    certs.extend(&((cert.len() + 3) as u32).to_be_bytes()[1..]);
    certs.extend(&(cert.len() as u32).to_be_bytes()[1..]);
    certs.extend(cert);
    let body = [handshake(2, &sh), handshake(11, &certs), handshake(14, &[])].concat();
    record(22, &body)
}

/// Leg 2 (client): ClientKeyExchange, ChangeCipherSpec, encrypted Finished.
fn client_finished() -> Vec<u8> {
    let mut cke = vec![65];
    cke.extend(filler(65, 4));
    [
        record(22, &handshake(16, &cke)),
        record(20, &[1]),
        record(22, &filler(40, 5)),
    ]
    .concat()
}

/// Leg 2 (server): ChangeCipherSpec, encrypted Finished.
fn server_finished() -> Vec<u8> {
    [record(20, &[1]), record(22, &filler(40, 6))].concat()
}

/// An encrypted TSRequest (MS-CSSP 2.2.1) in TLS application data.
fn app_data(len: usize, seed: u8) -> Vec<u8> {
    record(23, &filler(len, seed))
}

// ---------------------------------------------------------------- HTTP (WinRM)

fn wsman_request(host: &str, auth: Option<(&str, &[u8])>) -> Vec<u8> {
    let auth = auth.map_or_else(String::new, |(scheme, token)| {
        format!(
            "Authorization: {scheme} {}\r\n",
            base64::engine::general_purpose::STANDARD.encode(token)
        )
    });
    format!(
        "POST /wsman HTTP/1.1\r\nConnection: Keep-Alive\r\nContent-Type: application/soap+xml;charset=UTF-8\r\n\
         {auth}User-Agent: Microsoft WinRM Client\r\nContent-Length: 0\r\nHost: {host}:5985\r\n\r\n"
    )
    .into_bytes()
}

/// A response with one `WWW-Authenticate` header per challenge (as WinRM sends them).
fn response(status: &str, challenges: &[String]) -> Vec<u8> {
    let mut r = format!("HTTP/1.1 {status}\r\nServer: Microsoft-HTTPAPI/2.0\r\n");
    for c in challenges {
        r.push_str(&format!("WWW-Authenticate: {c}\r\n"));
    }
    r.push_str("Content-Length: 0\r\n\r\n");
    r.into_bytes()
}

fn credssp_challenge(token: &[u8]) -> String {
    format!(
        "CredSSP {}",
        base64::engine::general_purpose::STANDARD.encode(token)
    )
}

fn plain(list: &[&str]) -> Vec<String> {
    list.iter().map(|s| s.to_string()).collect()
}

/// A CredSSP exchange to HOP1 on `flow`: the legs in `legs` (client token, server answer), the
/// last answered `last_status` (with `last_challenges`).
fn credssp_legs(
    out: &mut Vec<Vec<u8>>,
    flow: &mut Flow,
    legs: &[(Vec<u8>, Option<Vec<u8>>)],
    last_status: &str,
    last_challenges: &[String],
) {
    for (i, (token, answer)) in legs.iter().enumerate() {
        flow.client(out, &wsman_request(HOP1_NAME, Some(("CredSSP", token))));
        match answer {
            Some(a) => flow.server(out, &response("401 Unauthorized", &[credssp_challenge(a)])),
            None if i + 1 == legs.len() => {
                flow.server(out, &response(last_status, last_challenges))
            }
            None => {}
        }
    }
}

/// MS-CSSP 3.1.5 with Kerberos inside: two handshake legs, then TSRequests (SPNEGO with the
/// AP-REQ; pubKeyAuth) each answered by the server's next token.
fn handshake_and_spnego() -> Vec<(Vec<u8>, Option<Vec<u8>>)> {
    vec![
        (client_hello(), Some(server_hello())),
        (client_finished(), Some(server_finished())),
        (app_data(1500, 7), Some(app_data(200, 8))),
        (app_data(330, 9), Some(app_data(330, 10))),
    ]
}

/// The first request of a WinRM session: no credentials, 401 with the server's challenge list.
fn probe(out: &mut Vec<Vec<u8>>, flow: &mut Flow, offered: &[&str]) {
    flow.client(out, &wsman_request(HOP1_NAME, None));
    flow.server(out, &response("401 Unauthorized", &plain(offered)));
}

/// Something else later in the capture (it goes on after the CredSSP exchange): the client
/// resolves another name (RFC 1035 query and answer).
fn later_traffic(out: &mut Vec<Vec<u8>>) {
    let mut q = vec![0x12, 0x34, 0x01, 0x00, 0, 1, 0, 0, 0, 0, 0, 0];
    for label in ["intranet", "lab", "test"] {
        q.push(label.len() as u8);
        q.extend(label.as_bytes());
    }
    q.extend([0, 0, 1, 0, 1]);
    let mut r = q.clone();
    r[2..8].copy_from_slice(&[0x81, 0x80, 0, 1, 0, 1]);
    r.extend([0xc0, 12, 0, 1, 0, 1, 0, 0, 0, 60, 0, 4]);
    r.extend(OTHER.octets());
    out.push(udp(CLIENT, 53000, DNS, 53, &q));
    out.push(udp(DNS, 53, CLIENT, 53000, &r));
}

// ---------------------------------------------------------------- Kerberos (for the double hop)

/// A DER TLV (definite length, short or long form).
fn tlv(tag: u8, content: &[u8]) -> Vec<u8> {
    let mut out = vec![tag];
    let n = content.len();
    if n < 0x80 {
        out.push(n as u8);
    } else if n < 0x100 {
        out.extend([0x81, n as u8]);
    } else {
        out.push(0x82);
        out.extend((n as u16).to_be_bytes());
    }
    out.extend(content);
    out
}

fn int(v: u8) -> Vec<u8> {
    tlv(0x02, &[v])
}

fn gstr(s: &str) -> Vec<u8> {
    tlv(0x1b, s.as_bytes())
}

/// SPNEGO NegTokenInit (RFC 4178) around a krb5 AP-REQ (RFC 4120 §5.5.1) for HTTP/`host`
/// without a forwarded TGT: the ticket and authenticator are filler ciphertext.
fn spnego_ap_req(host: &str) -> Vec<u8> {
    const SPNEGO: [u8; 6] = [0x2b, 0x06, 0x01, 0x05, 0x05, 0x02];
    const KRB5: [u8; 9] = [0x2a, 0x86, 0x48, 0x86, 0xf7, 0x12, 0x01, 0x02, 0x02];
    let enc = |kvno: Option<u8>, len: usize, seed: u8| {
        let mut e = tlv(0xa0, &int(18));
        if let Some(k) = kvno {
            e.extend(tlv(0xa1, &int(k)));
        }
        e.extend(tlv(0xa2, &tlv(0x04, &filler(len, seed))));
        tlv(0x30, &e)
    };
    let sname = tlv(
        0x30,
        &[
            tlv(0xa0, &int(2)),
            tlv(0xa1, &tlv(0x30, &[gstr("HTTP"), gstr(host)].concat())),
        ]
        .concat(),
    );
    let ticket = tlv(
        0x61,
        &tlv(
            0x30,
            &[
                tlv(0xa0, &int(5)),
                tlv(0xa1, &gstr("LAB.TEST")),
                tlv(0xa2, &sname),
                tlv(0xa3, &enc(Some(2), 900, 11)),
            ]
            .concat(),
        ),
    );
    let ap_req = tlv(
        0x6e,
        &tlv(
            0x30,
            &[
                tlv(0xa0, &int(5)),
                tlv(0xa1, &int(14)),
                tlv(0xa2, &tlv(0x03, &[0, 0x20, 0, 0, 0])),
                tlv(0xa3, &ticket),
                tlv(0xa4, &enc(None, 180, 12)),
            ]
            .concat(),
        ),
    );
    let krb5 = tlv(0x60, &[tlv(0x06, &KRB5), vec![1, 0], ap_req].concat());
    let mechs = tlv(0xa0, &tlv(0x30, &tlv(0x06, &KRB5)));
    let init = tlv(
        0xa0,
        &tlv(0x30, &[mechs, tlv(0xa2, &tlv(0x04, &krb5))].concat()),
    );
    tlv(0x60, &[tlv(0x06, &SPNEGO), init].concat())
}

/// A standard NTLMSSP NEGOTIATE (MS-NLMP 2.2.1.1) with version, as Windows sends it raw in a
/// `Negotiate` header.
const NTLM_NEGOTIATE: &str = "TlRMTVNTUAABAAAAB4IIogAAAAAAAAAAAAAAAAAAAAAKAGFKAAAADw==";

/// The double hop: the client calls HOP1 with Kerberos (no forwarded TGT) and, before HOP1
/// answers, HOP1 calls HOP2 first without credentials, then with NTLM, and is refused. With
/// `credssp_first`, a CredSSP exchange from the client to HOP1 completes (final 200) before.
fn double_hop(credssp_first: bool) -> Vec<Vec<u8>> {
    let mut out = Vec::new();
    if credssp_first {
        let mut a = Flow::open(&mut out, CLIENT, 50001, HOP1, 5985);
        probe(&mut out, &mut a, &["Negotiate", "Kerberos", "CredSSP"]);
        let mut legs = handshake_and_spnego();
        legs.push((app_data(250, 13), None)); // TSCredentials
        credssp_legs(&mut out, &mut a, &legs, "200 OK", &[]);
    }
    let mut b = Flow::open(&mut out, CLIENT, 50002, HOP1, 5985);
    let ap = base64::engine::general_purpose::STANDARD.encode(spnego_ap_req(HOP1_NAME));
    b.client(
        &mut out,
        format!(
            "POST /wsman HTTP/1.1\r\nAuthorization: Negotiate {ap}\r\nContent-Length: 0\r\nHost: {HOP1_NAME}:5985\r\n\r\n"
        )
        .as_bytes(),
    );
    let mut c = Flow::open(&mut out, HOP1, 51000, HOP2, 5985);
    let hop2 = |auth: &str| {
        format!("POST /wsman HTTP/1.1\r\n{auth}Content-Length: 0\r\nHost: {HOP2_NAME}:5985\r\n\r\n")
    };
    c.client(&mut out, hop2("").as_bytes());
    c.server(
        &mut out,
        &response("401 Unauthorized", &plain(&["Negotiate", "Kerberos"])),
    );
    c.client(
        &mut out,
        hop2(&format!("Authorization: Negotiate {NTLM_NEGOTIATE}\r\n")).as_bytes(),
    );
    c.server(
        &mut out,
        &response("401 Unauthorized", &plain(&["Negotiate"])),
    );
    b.server(&mut out, &response("500 Internal Server Error", &[]));
    out
}

// ---------------------------------------------------------------- tests

/// (a) The client starts CredSSP; the server's 401 offers only Negotiate and Kerberos: CredSSP
/// is disabled on the server, and the finding says so with the server-side command.
#[test]
fn credssp_not_offered_names_the_server_and_its_fix() {
    let mut out = Vec::new();
    let mut a = Flow::open(&mut out, CLIENT, 50001, HOP1, 5985);
    a.client(
        &mut out,
        &wsman_request(HOP1_NAME, Some(("CredSSP", &client_hello()))),
    );
    a.server(
        &mut out,
        &response("401 Unauthorized", &plain(&["Negotiate", "Kerberos"])),
    );
    let fs = findings(&out);
    assert_eq!(
        mechanisms(&fs),
        vec![(
            "missing_delegation".to_string(),
            "credssp_not_offered".to_string()
        )],
        "{fs:#?}"
    );
    let f = &fs[0];
    assert_eq!(f["first_hop"], "192.0.2.20:5985");
    assert_eq!(f["client"], "192.0.2.10");
    assert!(f.get("second_hop").is_none());
    let summary = f["summary"].as_str().unwrap_or("");
    assert!(summary.contains(HOP1_NAME), "{summary}");
    assert!(summary.contains("Negotiate, Kerberos"), "{summary}");
    let fix = remediation(f);
    assert!(
        fix.contains(&format!("On {HOP1_NAME}: Enable-WSManCredSSP -Role Server")),
        "{fix}"
    );
    assert!(!fix.contains("-Role Client -DelegateComputer"), "{fix}");
    assert!(fix.contains("password"), "trade-off stated: {fix}");
    // Evidence: the client's ClientHello leg and the 401 that lacks CredSSP (frames 4 and 5).
    let frames: Vec<u64> = f["frames"]
        .as_array()
        .map(|a| a.iter().filter_map(Value::as_u64).collect())
        .unwrap_or_default();
    assert_eq!(frames, vec![4, 5]);
    let ev = f["evidence"].to_string();
    assert!(ev.contains("client_hello"), "{ev}");
}

/// Same, with the 401 challenge list sent to an unauthenticated first request (the usual WinRM
/// session start) and a second 401 without challenges answering the CredSSP leg.
#[test]
fn credssp_not_offered_from_the_first_challenge_list() {
    let mut out = Vec::new();
    let mut a = Flow::open(&mut out, CLIENT, 50001, HOP1, 5985);
    probe(&mut out, &mut a, &["Negotiate", "Kerberos"]);
    a.client(
        &mut out,
        &wsman_request(HOP1_NAME, Some(("CredSSP", &client_hello()))),
    );
    a.server(&mut out, &response("401 Unauthorized", &[]));
    let fs = findings(&out);
    assert_eq!(
        mechanisms(&fs),
        vec![(
            "missing_delegation".to_string(),
            "credssp_not_offered".to_string()
        )],
        "{fs:#?}"
    );
}

/// (b) CredSSP offered, the TLS handshake and two TSRequest legs go through, the credentials
/// leg is answered 401 without a CredSSP token: refused, with the client-side fix.
#[test]
fn credssp_refused_after_the_credentials_leg() {
    let mut out = Vec::new();
    let mut a = Flow::open(&mut out, CLIENT, 50001, HOP1, 5985);
    probe(&mut out, &mut a, &["Negotiate", "Kerberos", "CredSSP"]);
    let mut legs = handshake_and_spnego();
    legs.push((app_data(250, 13), None));
    credssp_legs(
        &mut out,
        &mut a,
        &legs,
        "401 Unauthorized",
        &plain(&["Negotiate", "Kerberos", "CredSSP"]),
    );
    let fs = findings(&out);
    assert_eq!(
        mechanisms(&fs),
        vec![(
            "missing_delegation".to_string(),
            "credssp_refused".to_string()
        )],
        "{fs:#?}"
    );
    let f = &fs[0];
    let fix = remediation(f);
    assert!(
        fix.contains(&format!(
            "Enable-WSManCredSSP -Role Client -DelegateComputer {HOP1_NAME}"
        )),
        "{fix}"
    );
    assert!(fix.contains(&format!("WSMAN/{HOP1_NAME}")), "{fix}");
    assert!(fix.contains("Allow delegating fresh credentials"), "{fix}");
    assert!(fix.contains("password"), "trade-off stated: {fix}");
    let text = format!("{} {}", f["summary"], f["explanation"]);
    assert!(text.contains("5 leg(s)"), "{text}");
    assert!(text.contains("3 leg(s) of encrypted TSRequests"), "{text}");
}

/// (b') CredSSP offered, the server answers every leg with its next token, and the client
/// stops after pubKeyAuth (never sends TSCredentials) while the capture goes on: incomplete,
/// the client's delegation policy.
#[test]
fn credssp_incomplete_when_the_client_stops_before_the_credentials() {
    let mut out = Vec::new();
    let mut a = Flow::open(&mut out, CLIENT, 50001, HOP1, 5985);
    probe(&mut out, &mut a, &["Negotiate", "Kerberos", "CredSSP"]);
    credssp_legs(&mut out, &mut a, &handshake_and_spnego(), "", &[]);
    later_traffic(&mut out);
    let fs = findings(&out);
    assert_eq!(
        mechanisms(&fs),
        vec![(
            "missing_delegation".to_string(),
            "credssp_incomplete".to_string()
        )],
        "{fs:#?}"
    );
    let fix = remediation(&fs[0]);
    assert!(
        fix.contains(&format!(
            "Enable-WSManCredSSP -Role Client -DelegateComputer {HOP1_NAME}"
        )),
        "{fix}"
    );
    assert!(!fix.contains("Enable-WSManCredSSP -Role Server"), "{fix}");

    // The same exchange at the very end of the capture: it may just have been cut, no finding.
    let mut out = Vec::new();
    let mut a = Flow::open(&mut out, CLIENT, 50001, HOP1, 5985);
    probe(&mut out, &mut a, &["Negotiate", "Kerberos", "CredSSP"]);
    credssp_legs(&mut out, &mut a, &handshake_and_spnego(), "", &[]);
    assert_eq!(mechanisms(&findings(&out)), vec![]);
}

/// A completed CredSSP exchange (final 200 after the credentials leg) is routine: no finding.
/// A failed first attempt followed by a completed one is a retry: no finding either.
#[test]
fn completed_credssp_is_not_a_finding() {
    let mut out = Vec::new();
    let mut a = Flow::open(&mut out, CLIENT, 50001, HOP1, 5985);
    probe(&mut out, &mut a, &["Negotiate", "Kerberos", "CredSSP"]);
    let mut legs = handshake_and_spnego();
    legs.push((app_data(250, 13), None));
    credssp_legs(&mut out, &mut a, &legs, "200 OK", &[]);
    later_traffic(&mut out);
    assert_eq!(mechanisms(&findings(&out)), vec![]);

    let mut out = Vec::new();
    let mut a = Flow::open(&mut out, CLIENT, 50001, HOP1, 5985);
    probe(&mut out, &mut a, &["Negotiate", "Kerberos", "CredSSP"]);
    credssp_legs(
        &mut out,
        &mut a,
        &legs,
        "401 Unauthorized",
        &plain(&["CredSSP"]),
    );
    let mut b = Flow::open(&mut out, CLIENT, 50003, HOP1, 5985);
    credssp_legs(&mut out, &mut b, &legs, "200 OK", &[]);
    assert_eq!(mechanisms(&findings(&out)), vec![]);
}

/// (c) The double hop without CredSSP: Kerberos to HOP1 without a forwarded TGT, HOP1's calls to
/// HOP2 without credentials and with NTLM are refused → missing_delegation. With a completed
/// CredSSP exchange from the client to HOP1 first, HOP1 holds the user's credentials: delegation
/// is present and there is no finding.
#[test]
fn completed_credssp_to_the_first_hop_is_delegation() {
    // HOP1's NTLM call to HOP2 is also an ntlm_fallback, with or without CredSSP: not asserted.
    let delegation = |fs: Vec<Value>| -> Vec<Value> {
        fs.into_iter()
            .filter(|f| f["kind"] == "missing_delegation")
            .collect()
    };
    let without = delegation(findings(&double_hop(false)));
    assert_eq!(
        mechanisms(&without),
        vec![(
            "missing_delegation".to_string(),
            "no_forwarded_tgt".to_string()
        )],
        "{without:#?}"
    );
    assert_eq!(without[0]["second_hop"], "192.0.2.30:5985");

    let with = delegation(findings(&double_hop(true)));
    assert_eq!(mechanisms(&with), vec![], "{with:#?}");
}
