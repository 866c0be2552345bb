//! rasn-kerberos 0.30 as an independent oracle for the hand-written decoder (tests only).
//!
//! * Differential check: every fixture rasn-kerberos can read must give the same message type,
//!   names, realms, error code, KDC options and ticket etype/kvno as `decode`; the fixtures it
//!   cannot read are listed with the reason (they are why `decode` does not use it).
//! * Independent encoder: S4U2Self / S4U2Proxy / PA-PAC-OPTIONS requests, absent from the public
//!   captures, are built with rasn-kerberos' types and DER encoder, then decoded by `decode`.
//! * Throughput: `decode` against `rasn::der::decode` on the same messages (ignored test):
//!   `CARGO_TARGET_DIR=/work/target-krb cargo test --release --lib proto::kerberos::rasn_oracle
//!    -- --ignored --nocapture`

use rasn::prelude::*;
use rasn_kerberos as rk;

use super::*;

const FIXTURES: &[(&str, &[u8])] = &[
    ("as_req", include_bytes!("testdata/as_req.bin")),
    ("as_rep", include_bytes!("testdata/as_rep.bin")),
    (
        "tgs_req_kerberoast",
        include_bytes!("testdata/tgs_req_kerberoast.bin"),
    ),
    (
        "tgs_rep_kerberoast",
        include_bytes!("testdata/tgs_rep_kerberoast.bin"),
    ),
    (
        "tgs_req_forwarded_tgt",
        include_bytes!("testdata/tgs_req_forwarded_tgt.bin"),
    ),
    (
        "tgs_req_renew",
        include_bytes!("testdata/tgs_req_renew.bin"),
    ),
    (
        "tgs_req_pac_options",
        include_bytes!("testdata/tgs_req_pac_options.bin"),
    ),
    (
        "tgs_req_enterprise",
        include_bytes!("testdata/tgs_req_enterprise.bin"),
    ),
    ("tgs_req_fast", include_bytes!("testdata/tgs_req_fast.bin")),
    ("krb_error_7", include_bytes!("testdata/krb_error_7.bin")),
    (
        "krb_error_7_typed_data",
        include_bytes!("testdata/krb_error_7_typed_data.bin"),
    ),
    (
        "krb_error_13_nt_status",
        include_bytes!("testdata/krb_error_13_nt_status.bin"),
    ),
    (
        "krb_error_37_skew",
        include_bytes!("testdata/krb_error_37_skew.bin"),
    ),
    ("krb_error_52", include_bytes!("testdata/krb_error_52.bin")),
    ("krb_error_60", include_bytes!("testdata/krb_error_60.bin")),
    ("ap_req_smb", include_bytes!("testdata/ap_req_smb.bin")),
    ("ap_rep_smb", include_bytes!("testdata/ap_rep_smb.bin")),
    (
        "ap_req_ldap_3part",
        include_bytes!("testdata/ap_req_ldap_3part.bin"),
    ),
    (
        "ap_rep_apple_iakerb",
        include_bytes!("testdata/ap_rep_apple_iakerb.bin"),
    ),
];

/// Fixtures rasn-kerberos rejects, and why ("Unexpected extra data": the IAKERB `[3]`).
const RASN_CANNOT_READ: &[&str] = &["ap_rep_apple_iakerb"];

fn text(s: &rk::KerberosString) -> String {
    String::from_utf8_lossy(s.as_bytes()).into_owned()
}

fn name(p: &rk::PrincipalName) -> String {
    p.string.iter().map(text).collect::<Vec<_>>().join("/")
}

fn gs(s: &str) -> rk::KerberosString {
    rk::KerberosString::from_bytes(s.as_bytes()).unwrap()
}

/// The fields both decoders report, as rasn-kerberos reads them.
#[derive(Debug, Default, PartialEq)]
struct View {
    msg_type: String,
    realm: Option<String>,
    sname: Option<String>,
    cname: Option<String>,
    error_code: Option<i32>,
    kdc_options_raw: Option<String>,
    ticket: Option<(String, String, i32, Option<u32>)>,
}

fn ticket_view(t: &rk::Ticket) -> (String, String, i32, Option<u32>) {
    (
        text(&t.realm),
        name(&t.sname),
        t.enc_part.etype,
        t.enc_part.kvno,
    )
}

fn kdc_req_view(msg_type: &str, req: &rk::KdcReq) -> Result<View, rasn::error::DecodeError> {
    let raw = req.req_body.kdc_options.0.as_raw_slice();
    let word = (0..4).fold(0u32, |acc, i| {
        (acc << 8) | u32::from(raw.get(i).copied().unwrap_or(0))
    });
    let mut tgt = None;
    for pa in req.padata.iter().flatten().filter(|pa| pa.r#type == 1) {
        tgt = Some(ticket_view(
            &rasn::der::decode::<rk::ApReq>(&pa.value)?.ticket,
        ));
    }
    Ok(View {
        msg_type: msg_type.into(),
        realm: Some(text(&req.req_body.realm)),
        sname: req.req_body.sname.as_ref().map(name),
        cname: req.req_body.cname.as_ref().map(name),
        kdc_options_raw: Some(format!("0x{word:08x}")),
        ticket: tgt,
        ..View::default()
    })
}

fn kdc_rep_view(msg_type: &str, rep: &rk::KdcRep) -> View {
    View {
        msg_type: msg_type.into(),
        realm: Some(text(&rep.ticket.realm)),
        sname: Some(name(&rep.ticket.sname)),
        cname: Some(name(&rep.cname)),
        ticket: Some(ticket_view(&rep.ticket)),
        ..View::default()
    }
}

fn rasn_view(bytes: &[u8]) -> Result<View, rasn::error::DecodeError> {
    use rasn::der::decode_with_remainder as d;
    Ok(match bytes.first() {
        Some(0x6a) => kdc_req_view("AS-REQ", &d::<rk::AsReq>(bytes)?.0.0)?,
        Some(0x6c) => kdc_req_view("TGS-REQ", &d::<rk::TgsReq>(bytes)?.0.0)?,
        Some(0x6b) => kdc_rep_view("AS-REP", &d::<rk::AsRep>(bytes)?.0.0),
        Some(0x6d) => kdc_rep_view("TGS-REP", &d::<rk::TgsRep>(bytes)?.0.0),
        Some(0x6e) => {
            let ap = d::<rk::ApReq>(bytes)?.0;
            View {
                msg_type: "AP-REQ".into(),
                realm: Some(text(&ap.ticket.realm)),
                sname: Some(name(&ap.ticket.sname)),
                ticket: Some(ticket_view(&ap.ticket)),
                ..View::default()
            }
        }
        Some(0x6f) => {
            d::<rk::ApRep>(bytes)?;
            View {
                msg_type: "AP-REP".into(),
                ..View::default()
            }
        }
        _ => {
            let e = d::<rk::KrbError>(bytes)?.0;
            View {
                msg_type: "KRB-ERROR".into(),
                realm: Some(text(&e.realm)),
                sname: Some(name(&e.sname)),
                cname: e.cname.as_ref().map(name),
                error_code: Some(e.error_code),
                ..View::default()
            }
        }
    })
}

fn our_view(m: &KrbMessage) -> View {
    View {
        msg_type: m.msg_type.clone(),
        realm: m.realm.clone(),
        sname: m.sname.clone(),
        cname: m.cname.clone(),
        error_code: m.error_code,
        kdc_options_raw: m.kdc_options_raw.clone(),
        ticket: m
            .ticket
            .as_ref()
            .map(|t| (t.realm.clone(), t.sname.clone(), t.etype, t.kvno)),
    }
}

#[test]
fn rasn_kerberos_agrees_on_every_fixture_it_can_read() {
    for (fixture, bytes) in FIXTURES {
        let ours = our_view(&decode(bytes).unwrap());
        match rasn_view(bytes) {
            Ok(theirs) => assert_eq!(ours, theirs, "{fixture}"),
            Err(e) => assert!(RASN_CANNOT_READ.contains(fixture), "{fixture}: {e}"),
        }
    }
    for fixture in RASN_CANNOT_READ {
        let (_, bytes) = FIXTURES.iter().find(|(n, _)| n == fixture).unwrap();
        assert!(
            rasn_view(bytes).is_err(),
            "{fixture} now decodes with rasn-kerberos"
        );
    }
}

/// ndpi__kerberos.pcap frame 1 with the cname "johnson-pc$" replaced by 11 other bytes.
fn as_req_with_cname(replacement: &[u8; 11]) -> Vec<u8> {
    let mut bytes = include_bytes!("testdata/as_req.bin").to_vec();
    let at = bytes.windows(11).position(|w| w == b"johnson-pc$").unwrap();
    bytes[at..at + 11].copy_from_slice(replacement);
    bytes
}

#[test]
fn non_ascii_names_rasn_rejects_decode_losslessly() {
    // "Рома-pc": UTF-8 d0 a0 ... — the 0xa0 byte fails rasn's GeneralString check.
    let cyrillic = as_req_with_cname(b"\xd0\xa0\xd0\xbe\xd0\xbc\xd0\xb0-pc");
    assert!(rasn_view(&cyrillic).is_err());
    let m = decode(&cyrillic).unwrap();
    assert_eq!(
        (m.cname.as_deref(), m.lossy_names),
        (Some("Рома-pc"), false)
    );
    // Not UTF-8 at all (Latin-1 "Jürgens-pc$"): replacement characters and the flag.
    let latin1 = as_req_with_cname(b"J\xfcrgens-pc$");
    let m = decode(&latin1).unwrap();
    assert_eq!(
        (m.cname.as_deref(), m.lossy_names),
        (Some("J\u{fffd}rgens-pc$"), true)
    );
}

#[derive(AsnType, Encode)]
struct PaForUser {
    #[rasn(tag(explicit(0)))]
    user_name: rk::PrincipalName,
    #[rasn(tag(explicit(1)))]
    user_realm: rk::Realm,
    #[rasn(tag(explicit(2)))]
    cksum: rk::Checksum,
    #[rasn(tag(explicit(3)))]
    auth_package: rk::KerberosString,
}

#[derive(AsnType, Encode)]
struct S4uUserId {
    #[rasn(tag(explicit(0)))]
    nonce: u32,
    #[rasn(tag(explicit(1)))]
    cname: Option<rk::PrincipalName>,
    #[rasn(tag(explicit(2)))]
    crealm: rk::Realm,
}

#[derive(AsnType, Encode)]
struct PaS4uX509User {
    #[rasn(tag(explicit(0)))]
    user_id: S4uUserId,
    #[rasn(tag(explicit(1)))]
    checksum: rk::Checksum,
}

#[derive(AsnType, Encode)]
struct PaPacOptions {
    #[rasn(tag(explicit(0)))]
    flags: rk::KerberosFlags,
}

fn principal(name_type: i32, parts: &[&str]) -> rk::PrincipalName {
    rk::PrincipalName {
        r#type: name_type,
        string: parts.iter().map(|p| gs(p)).collect(),
    }
}

fn ticket(parts: &[&str], etype: i32, kvno: u32) -> rk::Ticket {
    rk::Ticket {
        tkt_vno: 5.into(),
        realm: gs("EXAMPLE.COM"),
        sname: principal(2, parts),
        enc_part: rk::EncryptedData {
            etype,
            kvno: Some(kvno),
            cipher: vec![0x5a; 48].into(),
        },
    }
}

fn pa(padata_type: i32, value: Vec<u8>) -> rk::PaData {
    rk::PaData {
        r#type: padata_type,
        value: value.into(),
    }
}

fn checksum() -> rk::Checksum {
    rk::Checksum {
        r#type: 16,
        checksum: vec![1; 12].into(),
    }
}

/// A TGS-REQ from service `svc_web`: PA-TGS-REQ with its TGT, then `extra` padata.
fn tgs_req(
    options: u32,
    sname: &[&str],
    extra: Vec<rk::PaData>,
    tickets: Vec<rk::Ticket>,
) -> Vec<u8> {
    let ap_req = rk::ApReq {
        pvno: 5.into(),
        msg_type: 14.into(),
        ap_options: rk::ApOptions(rk::KerberosFlags::from_vec(vec![0; 4])),
        ticket: ticket(&["krbtgt", "EXAMPLE.COM"], 18, 7),
        authenticator: rk::EncryptedData {
            etype: 18,
            kvno: None,
            cipher: vec![0xa5; 64].into(),
        },
    };
    let mut padata = vec![pa(1, rasn::der::encode(&ap_req).unwrap())];
    padata.extend(extra);
    let till = rasn::der::decode::<rasn::types::GeneralizedTime>(b"\x18\x0f20370913024805Z");
    let req = rk::TgsReq(rk::KdcReq {
        pvno: 5.into(),
        msg_type: 12.into(),
        padata: Some(padata),
        req_body: rk::KdcReqBody {
            kdc_options: rk::KdcOptions(rk::KerberosFlags::from_vec(
                options.to_be_bytes().to_vec(),
            )),
            cname: None,
            realm: gs("EXAMPLE.COM"),
            sname: Some(principal(2, sname)),
            from: None,
            till: rk::KerberosTime(till.unwrap()),
            rtime: None,
            nonce: 12345,
            etype: vec![18, 17, 23],
            addresses: None,
            enc_authorization_data: None,
            additional_tickets: (!tickets.is_empty()).then_some(tickets),
        },
    });
    rasn::der::encode(&req).unwrap()
}

#[test]
fn s4u2self_with_pa_for_user_encoded_by_rasn() {
    let for_user = PaForUser {
        user_name: principal(1, &["alice"]),
        user_realm: gs("EXAMPLE.COM"),
        cksum: checksum(),
        auth_package: gs("Kerberos"),
    };
    let bytes = tgs_req(
        0x4081_0000,
        &["svc_web"],
        vec![pa(129, rasn::der::encode(&for_user).unwrap())],
        vec![],
    );
    let m = decode(&bytes).unwrap();
    let user = m.s4u2self.as_ref().unwrap();
    assert_eq!(
        (user.user.as_deref(), user.realm.as_deref()),
        (Some("alice"), Some("EXAMPLE.COM"))
    );
    assert_eq!(m.s4u_padata, Some("PA-FOR-USER"));
    assert!(!m.s4u2proxy);
    assert_eq!(m.till.as_deref(), Some("2037-09-13T02:48:05Z"));
    assert_eq!(
        m.etype_names,
        [
            "aes256-cts-hmac-sha1-96",
            "aes128-cts-hmac-sha1-96",
            "rc4-hmac"
        ]
    );
}

#[test]
fn s4u2self_with_x509_user_encoded_by_rasn() {
    let x509 = PaS4uX509User {
        user_id: S4uUserId {
            nonce: 1,
            cname: Some(principal(10, &["bob@example.com"])),
            crealm: gs("EXAMPLE.COM"),
        },
        checksum: checksum(),
    };
    let bytes = tgs_req(
        0x4081_0000,
        &["svc_web"],
        vec![pa(130, rasn::der::encode(&x509).unwrap())],
        vec![],
    );
    let m = decode(&bytes).unwrap();
    assert_eq!(m.s4u_padata, Some("PA-S4U-X509-USER"));
    assert_eq!(
        m.s4u2self.as_ref().and_then(|u| u.user.as_deref()),
        Some("bob@example.com")
    );
}

#[test]
fn s4u2proxy_with_evidence_ticket_and_rbcd_pac_option_encoded_by_rasn() {
    // forwardable, renewable, cname-in-addl-tkt, canonicalize = 0x40830000; PAC option bit 3.
    let pac = PaPacOptions {
        flags: rk::KerberosFlags::from_vec(vec![0x10, 0, 0, 0]),
    };
    let bytes = tgs_req(
        0x4083_0000,
        &["cifs", "fs01.example.com"],
        vec![pa(167, rasn::der::encode(&pac).unwrap())],
        vec![ticket(&["svc_web"], 23, 4)],
    );
    let m = decode(&bytes).unwrap();
    assert!(m.s4u2proxy);
    assert_eq!(m.kdc_options_raw.as_deref(), Some("0x40830000"));
    assert!(m.kdc_options.contains(&"cname-in-addl-tkt"));
    assert_eq!(m.pac_options, ["resource-based-constrained-delegation"]);
    assert_eq!(m.sname.as_deref(), Some("cifs/fs01.example.com"));
    let evidence = &m.additional_tickets[0];
    assert_eq!(
        (evidence.sname.as_str(), evidence.etype, evidence.kvno),
        ("svc_web", 23, Some(4))
    );
    assert_eq!(
        m.ticket.as_ref().map(|t| t.sname.as_str()),
        Some("krbtgt/EXAMPLE.COM")
    );
    // The same request without cname-in-addl-tkt (user-to-user style) is not S4U2Proxy.
    let u2u = tgs_req(
        0x4081_0008,
        &["cifs", "fs01.example.com"],
        vec![],
        vec![ticket(&["x"], 18, 1)],
    );
    assert!(!decode(&u2u).unwrap().s4u2proxy);
}

#[test]
fn a_broken_padata_value_costs_only_that_padata() {
    let bytes = tgs_req(
        0x4081_0000,
        &["svc_web"],
        vec![pa(129, vec![0x30, 0x03, 0x02])],
        vec![],
    );
    let m = decode(&bytes).unwrap();
    assert_eq!(m.undecodable_padata, Some(1));
    assert_eq!(m.sname.as_deref(), Some("svc_web"));
    assert_eq!(m.s4u2self, None);
}

#[test]
#[ignore = "throughput measurement; run with --release -- --ignored --nocapture"]
fn throughput_against_rasn_kerberos() {
    use std::hint::black_box;
    use std::time::Instant;
    let rounds = 20_000;
    let count = FIXTURES.len() * rounds;
    let start = Instant::now();
    for _ in 0..rounds {
        for (_, bytes) in FIXTURES {
            let _ = black_box(decode(black_box(bytes)));
        }
    }
    let ours = count as f64 / start.elapsed().as_secs_f64();
    let start = Instant::now();
    for _ in 0..rounds {
        for (_, bytes) in FIXTURES {
            let _ = black_box(rasn_view(black_box(bytes)));
        }
    }
    let theirs = count as f64 / start.elapsed().as_secs_f64();
    println!(
        "{} fixtures x {rounds}: kerbscope decode {ours:.0} msg/s, rasn-kerberos (decode + same fields) {theirs:.0} msg/s",
        FIXTURES.len()
    );
}
