//! Decoder tests on real messages cut from `/work/shared/captures/public/` (one `.bin` per
//! message in `testdata/`, named below with its capture and frame). Every expected value is what
//! tshark 4.0 shows for that frame (`kerberos.msg_type`, `error_code`, `SNameString`, `realm`,
//! `crealm`, `CNameString`, `kdc_options`, `etype`, `kvno`, `e_text`, `name_type`,
//! `padata_type`, `ap_options`), i.e. truth independent of this decoder.
//!
//! UDP messages are the UDP payload; TCP ones are the reassembled record without its 4-byte
//! marker; GSS ones (SMB, LDAP) are the Kerberos message inside the SPNEGO/krb5 token.

use super::*;

macro_rules! fixture {
    ($name:literal) => {
        include_bytes!(concat!("testdata/", $name))
    };
}

/// (name, bytes) of every fixture, for the whole-set tests.
const FIXTURES: &[(&str, &[u8])] = &[
    ("as_req", fixture!("as_req.bin")),
    ("as_rep", fixture!("as_rep.bin")),
    ("tgs_req_kerberoast", fixture!("tgs_req_kerberoast.bin")),
    ("tgs_rep_kerberoast", fixture!("tgs_rep_kerberoast.bin")),
    (
        "tgs_req_forwarded_tgt",
        fixture!("tgs_req_forwarded_tgt.bin"),
    ),
    ("tgs_req_renew", fixture!("tgs_req_renew.bin")),
    ("tgs_req_pac_options", fixture!("tgs_req_pac_options.bin")),
    ("tgs_req_enterprise", fixture!("tgs_req_enterprise.bin")),
    ("tgs_req_fast", fixture!("tgs_req_fast.bin")),
    ("krb_error_7", fixture!("krb_error_7.bin")),
    (
        "krb_error_7_typed_data",
        fixture!("krb_error_7_typed_data.bin"),
    ),
    (
        "krb_error_13_nt_status",
        fixture!("krb_error_13_nt_status.bin"),
    ),
    ("krb_error_37_skew", fixture!("krb_error_37_skew.bin")),
    ("krb_error_52", fixture!("krb_error_52.bin")),
    ("krb_error_60", fixture!("krb_error_60.bin")),
    ("ap_req_smb", fixture!("ap_req_smb.bin")),
    ("ap_rep_smb", fixture!("ap_rep_smb.bin")),
    ("ap_req_ldap_3part", fixture!("ap_req_ldap_3part.bin")),
    ("ap_rep_apple_iakerb", fixture!("ap_rep_apple_iakerb.bin")),
];

fn ok(bytes: &[u8]) -> KrbMessage {
    match decode(bytes) {
        Ok(m) => m,
        Err(e) => panic!("decode failed: {e}"),
    }
}

fn s(v: &Option<String>) -> Option<&str> {
    v.as_deref()
}

#[test]
fn as_req_ndpi_kerberos_frame_1() {
    // ndpi__kerberos.pcap frame 1 (UDP): AS-REQ johnson-pc$ for krbtgt/happycraft.org, 40810010
    let m = ok(fixture!("as_req.bin"));
    assert_eq!(m.msg_type, "AS-REQ");
    assert_eq!(s(&m.sname), Some("krbtgt/happycraft.org"));
    assert_eq!(s(&m.realm), Some("happycraft.org"));
    assert_eq!(s(&m.cname), Some("johnson-pc$"));
    assert_eq!(s(&m.kdc_options_raw), Some("0x40810010"));
    assert_eq!(
        m.kdc_options,
        ["forwardable", "renewable", "canonicalize", "renewable-ok"]
    );
    // tshark name_type 1,2 (cname NT-PRINCIPAL, sname NT-SRV-INST); padata_type 128
    assert_eq!(s(&m.cname_type), Some("NT-PRINCIPAL"));
    assert_eq!(s(&m.sname_type), Some("NT-SRV-INST"));
    let types: Vec<i32> = m.padata.iter().map(|p| p.padata_type).collect();
    assert_eq!(types, [128]);
    assert_eq!(m.padata[0].name, Some("PA-PAC-REQUEST"));
    assert!(!m.etypes.is_empty() && m.etypes.len() == m.etype_names.len());
    assert_eq!(m.ticket, None);
}

#[test]
fn as_rep_krb5_msg_type_frame_18() {
    // sv__krb5_msg_type.pcap frame 18: AS-REP robin@CYLERA.LAB, ticket krbtgt/CYLERA.LAB
    // etype 18 kvno 2, enc-part etype 18 kvno 2; padata_type 19
    let m = ok(fixture!("as_rep.bin"));
    assert_eq!(m.msg_type, "AS-REP");
    assert_eq!(
        (s(&m.cname), s(&m.crealm)),
        (Some("robin"), Some("CYLERA.LAB"))
    );
    let t = m.ticket.as_ref().unwrap();
    assert_eq!(
        (t.sname.as_str(), t.realm.as_str()),
        ("krbtgt/CYLERA.LAB", "CYLERA.LAB")
    );
    assert_eq!((t.etype, t.kvno), (18, Some(2)));
    assert_eq!(t.etype_name, "aes256-cts-hmac-sha1-96");
    assert_eq!((m.enc_part_etype, m.enc_part_kvno), (Some(18), Some(2)));
    assert_eq!(s(&m.sname), Some("krbtgt/CYLERA.LAB"));
    assert_eq!(m.padata[0].name, Some("PA-ETYPE-INFO2"));
}

#[test]
fn tgs_req_with_pa_tgs_req_kerberoast_frame_4() {
    // sv__kerberoast.pcap frame 4: TGS-REQ (12,14) for HTTP/dc-mantvydas.offense.local with the
    // TGT krbtgt/OFFENSE.LOCAL (etype 18, kvno 2) in PA-TGS-REQ; kdc_options 40810000.
    let m = ok(fixture!("tgs_req_kerberoast.bin"));
    assert_eq!(m.msg_type, "TGS-REQ");
    assert_eq!(s(&m.sname), Some("HTTP/dc-mantvydas.offense.local"));
    assert_eq!(s(&m.realm), Some("OFFENSE.LOCAL"));
    assert_eq!(s(&m.kdc_options_raw), Some("0x40810000"));
    let tgt = m.ticket.as_ref().unwrap();
    assert_eq!(tgt.sname, "krbtgt/OFFENSE.LOCAL");
    assert_eq!((tgt.etype, tgt.kvno), (18, Some(2)));
    assert_eq!(m.padata[0].name, Some("PA-TGS-REQ"));
    assert_eq!(m.cname, None);
    assert!(!m.s4u2proxy && !m.fast_armored);
}

#[test]
fn tgs_rep_kerberoast_frame_7() {
    // sv__kerberoast.pcap frame 7: TGS-REP spotless@OFFENSE.LOCAL, service ticket RC4 (23),
    // enc-part 18; kvno 2.
    let m = ok(fixture!("tgs_rep_kerberoast.bin"));
    assert_eq!(m.msg_type, "TGS-REP");
    assert_eq!(s(&m.cname), Some("spotless"));
    let t = m.ticket.as_ref().unwrap();
    assert_eq!(t.sname, "HTTP/dc-mantvydas.offense.local");
    assert_eq!((t.etype, t.kvno), (23, Some(2)));
    assert!(EncryptionType(t.etype).is_weak());
    assert_eq!(m.enc_part_etype, Some(18));
}

#[test]
fn forwarded_tgt_request_zeek_auth_frame_1() {
    // zeek__krb__auth.pcap frame 1: TGS-REQ krbtgt/VLADG.NET, kdc_options 60000000.
    let m = ok(fixture!("tgs_req_forwarded_tgt.bin"));
    assert_eq!(s(&m.kdc_options_raw), Some("0x60000000"));
    assert_eq!(m.kdc_options, ["forwardable", "forwarded"]);
    assert_eq!(s(&m.sname), Some("krbtgt/VLADG.NET"));
    assert_eq!(m.ticket.as_ref().map(|t| t.kvno), Some(Some(1)));
}

#[test]
fn renew_request_krb5_msg_type_frame_37() {
    // sv__krb5_msg_type.pcap frame 37: kdc_options 00010002 (canonicalize + renew).
    let m = ok(fixture!("tgs_req_renew.bin"));
    assert_eq!(s(&m.kdc_options_raw), Some("0x00010002"));
    assert_eq!(m.kdc_options, ["canonicalize", "renew"]);
}

#[test]
fn pac_options_krb5_msg_type_frame_26() {
    // sv__krb5_msg_type.pcap frame 26: TGS-REQ ldap/dc01, padata_type 1,167.
    let m = ok(fixture!("tgs_req_pac_options.bin"));
    assert_eq!(s(&m.sname), Some("ldap/dc01"));
    let types: Vec<i32> = m.padata.iter().map(|p| p.padata_type).collect();
    assert_eq!(types, [1, 167]);
    assert_eq!(m.pac_options, ["branch-aware"]);
}

#[test]
fn enterprise_sname_ndpi_kerberos_frame_28() {
    // ndpi__kerberos.pcap frame 28: TGS-REQ sname johnson-pc$@HAPPYCRAFT.ORG, name_type 10.
    let m = ok(fixture!("tgs_req_enterprise.bin"));
    assert_eq!(s(&m.sname), Some("johnson-pc$@HAPPYCRAFT.ORG"));
    assert_eq!(s(&m.sname_type), Some("NT-ENTERPRISE"));
    assert_eq!(s(&m.kdc_options_raw), Some("0x40810000"));
}

#[test]
fn fast_armored_tgs_req_kerberos_login_frame_31() {
    // ndpi__kerberos-login.pcap frame 31: TGS-REQ ldap/dc (name_type 3), padata 1,136.
    let m = ok(fixture!("tgs_req_fast.bin"));
    assert!(m.fast_armored);
    assert_eq!(s(&m.sname), Some("ldap/dc"));
    assert_eq!(s(&m.sname_type), Some("NT-SRV-HST"));
    assert_eq!(s(&m.kdc_options_raw), Some("0x00810000"));
    assert_eq!(
        m.ticket.as_ref().map(|t| t.sname.as_str()),
        Some("krbtgt/TESTBED1.CA")
    );
}

#[test]
fn krb_error_7_zeek_kinit_frame_175() {
    // zeek__krb__kinit.pcap frame 175: error 7, e-text SERVER_NOT_FOUND,
    // sname invalid_service_principal/test.vladg.net, cname valid_client_principal.
    let m = ok(fixture!("krb_error_7.bin"));
    assert_eq!(m.msg_type, "KRB-ERROR");
    assert_eq!(m.error_code, Some(7));
    assert_eq!(m.error_name, Some("KDC_ERR_S_PRINCIPAL_UNKNOWN"));
    assert_eq!(s(&m.e_text), Some("SERVER_NOT_FOUND"));
    assert_eq!(
        s(&m.sname),
        Some("invalid_service_principal/test.vladg.net")
    );
    assert_eq!(s(&m.realm), Some("VLADG.NET"));
    assert_eq!(
        (s(&m.cname), s(&m.crealm)),
        (Some("valid_client_principal"), Some("VLADG.NET"))
    );
    assert_eq!(s(&m.stime), Some("2015-01-19T22:54:12Z"));
}

#[test]
fn krb_error_7_ms_principal_dcerpc_ctxids_frame_53() {
    // sv__dcerpc-ctxids.pcap frame 53: error 7 for sname Administrator (name_type -128).
    let m = ok(fixture!("krb_error_7_typed_data.bin"));
    assert_eq!(m.error_code, Some(7));
    assert_eq!(s(&m.sname), Some("Administrator"));
    assert_eq!(s(&m.sname_type), Some("NT-MS-PRINCIPAL"));
    assert_eq!(m.e_data.as_ref().map(|d| d.kind), Some("typed-data"));
}

#[test]
fn krb_error_13_with_nt_status_ndpi_kerberos_frame_32() {
    // ndpi__kerberos.pcap frame 32: KDC_ERR_BADOPTION, e-data NT Status STATUS_NOT_SUPPORTED
    // (0xc00000bb), sname johnson-pc$@HAPPYCRAFT.ORG (name_type 10).
    let m = ok(fixture!("krb_error_13_nt_status.bin"));
    assert_eq!(m.error_code, Some(13));
    assert_eq!(m.error_name, Some("KDC_ERR_BADOPTION"));
    let d = m.e_data.as_ref().unwrap();
    assert_eq!(d.kind, "kerb-ext-error");
    assert_eq!(d.nt_status.as_deref(), Some("0xC00000BB"));
    assert_eq!(d.nt_status_name, Some("STATUS_NOT_SUPPORTED"));
    assert_eq!(s(&m.sname_type), Some("NT-ENTERPRISE"));
}

#[test]
fn krb_error_37_skew_smb_frags_frame_7() {
    // ndpi__smb_frags.pcap frame 7: KRB_AP_ERR_SKEW from a service, sname hqdc-02$,
    // realm CIVILPENSION.LOCAL; e-data is KERB-ERROR-DATA type 2 (skew recovery).
    let m = ok(fixture!("krb_error_37_skew.bin"));
    assert_eq!(m.error_code, Some(37));
    assert_eq!(m.error_name, Some("KRB_AP_ERR_SKEW"));
    assert_eq!(s(&m.sname), Some("hqdc-02$"));
    assert_eq!(s(&m.realm), Some("CIVILPENSION.LOCAL"));
    let d = m.e_data.as_ref().unwrap();
    assert_eq!(
        (d.kind, d.data_type, d.nt_status.as_deref()),
        ("kerb-ext-error", Some(2), None)
    );
}

#[test]
fn krb_error_52_and_60() {
    // ndpi__kerberos-error.pcap frame 2: 52 for krbtgt/LINUX.SHELL.COM.
    let m = ok(fixture!("krb_error_52.bin"));
    assert_eq!(m.error_code, Some(52));
    assert_eq!(m.error_name, Some("KRB_ERR_RESPONSE_TOO_BIG"));
    assert_eq!(s(&m.sname), Some("krbtgt/LINUX.SHELL.COM"));
    // zeek__krb__optional-service-name.pcap frame 4 (TCP, 802.1Q): 60 for krbtgt/HEC.NET.
    let m = ok(fixture!("krb_error_60.bin"));
    assert_eq!(m.error_code, Some(60));
    assert_eq!(m.error_name, Some("KRB_ERR_GENERIC"));
    assert_eq!(
        (s(&m.sname), s(&m.realm)),
        (Some("krbtgt/HEC.NET"), Some("HEC.NET"))
    );
}

#[test]
fn ap_req_and_ap_rep_from_smb_spnego_zeek_smb_gssapi() {
    // zeek__krb__smb_gssapi.pcap frame 7: AP-REQ for cifs/EDISK03A.housing.hksarg, realm
    // HOUSING.HKSARG, ticket etype 23 (no kvno), authenticator 23, ap_options 20000000.
    let m = ok(fixture!("ap_req_smb.bin"));
    assert_eq!(m.msg_type, "AP-REQ");
    assert_eq!(s(&m.sname), Some("cifs/EDISK03A.housing.hksarg"));
    assert_eq!(s(&m.realm), Some("HOUSING.HKSARG"));
    let t = m.ticket.as_ref().unwrap();
    assert_eq!((t.etype, t.kvno), (23, None));
    assert_eq!(m.authenticator_etype, Some(23));
    assert_eq!(m.ap_options, ["mutual-required"]);
    // frame 8: AP-REP, enc-part etype 23.
    let m = ok(fixture!("ap_rep_smb.bin"));
    assert_eq!(
        (m.msg_type.as_str(), m.enc_part_etype),
        ("AP-REP", Some(23))
    );
    assert_eq!(m.unknown_fields, None);
}

#[test]
fn three_component_spn_ldap_sign_seal_frame_8() {
    // zeek__ldap__krb5-sign-seal-01.pcap frame 8: AP-REQ for
    // ldap/w2k3-101.w2k3.vmnet1.vm.base/w2k3.vmnet1.vm.base, ticket kvno 8.
    let m = ok(fixture!("ap_req_ldap_3part.bin"));
    assert_eq!(
        s(&m.sname),
        Some("ldap/w2k3-101.w2k3.vmnet1.vm.base/w2k3.vmnet1.vm.base")
    );
    assert_eq!(s(&m.realm), Some("W2K3.VMNET1.VM.BASE"));
    assert_eq!(m.ticket.as_ref().and_then(|t| t.kvno), Some(8));
}

#[test]
fn apple_iakerb_ap_rep_with_extra_field_smb_length_5786_frame_19() {
    // sv__smb-length-5786.pcap frame 19: AP-REP etype 18 with an extra [3] that rasn-kerberos
    // rejects; decoded, with the extra field counted.
    let m = ok(fixture!("ap_rep_apple_iakerb.bin"));
    assert_eq!(
        (m.msg_type.as_str(), m.enc_part_etype),
        ("AP-REP", Some(18))
    );
    assert_eq!(m.unknown_fields, Some(1));
}

#[test]
fn every_truncation_prefix_is_an_error_never_a_panic() {
    for (name, bytes) in FIXTURES {
        assert!(decode(bytes).is_ok(), "{name}");
        let header_len = der::read_tlv(bytes).map_or(0, |(t, _)| t.header_len);
        for cut in 0..bytes.len() {
            match decode(&bytes[..cut]) {
                // Once the header is complete, the stream is told exactly how much is missing.
                Err(KrbDecodeError::NeedMore { needed }) => assert!(
                    cut < header_len || needed == bytes.len() - cut,
                    "{name} cut {cut}: {needed}"
                ),
                Err(_) => {}
                Ok(_) => panic!("{name}: prefix of {cut} bytes decoded"),
            }
        }
    }
}

#[test]
fn inner_cuts_with_patched_outer_length_are_truncated_or_malformed() {
    // Keep the outer header honest about the shorter body, so the cut lands inside an element.
    for (name, bytes) in FIXTURES {
        let Ok((outer, _)) = der::read_tlv(bytes) else {
            panic!("{name}");
        };
        let header = outer.header_len;
        for body_len in (0..outer.value.len()).step_by(7) {
            let mut cut = vec![bytes[0], 0x84];
            cut.extend(u32::try_from(body_len).unwrap().to_be_bytes());
            cut.extend(&bytes[header..header + body_len]);
            match decode(&cut) {
                Err(KrbDecodeError::Truncated { .. } | KrbDecodeError::Malformed { .. }) => {}
                other => panic!("{name} body {body_len}: {other:?}"),
            }
        }
    }
}

#[test]
fn byte_flips_never_panic() {
    // Deterministic corruption of every fixture: flip each byte to a few values.
    let mut decoded = 0usize;
    for (_, bytes) in FIXTURES {
        for i in 0..bytes.len() {
            for x in [0x00u8, 0x80, 0xff, 0x1b, 0x30] {
                let mut b = bytes.to_vec();
                b[i] = x;
                decoded += usize::from(decode(&b).is_ok());
            }
        }
    }
    assert!(decoded > 0);
}

#[test]
fn trailing_bytes_are_reported_not_fatal() {
    let mut b = fixture!("krb_error_60.bin").to_vec();
    b.extend([0, 0, 0]);
    assert_eq!(ok(&b).trailing_bytes, Some(3));
    assert_eq!(ok(fixture!("krb_error_60.bin")).trailing_bytes, None);
}

#[test]
fn not_kerberos_and_error_display() {
    assert_eq!(
        decode(b"GET / HTTP/1.1\r\n"),
        Err(KrbDecodeError::NotKerberos)
    );
    // A bare Ticket [APPLICATION 1] (tcpdump__afs.pcap carries these) is not a message.
    assert_eq!(
        decode(&[0x61, 0x03, 0x30, 0x01, 0x00]),
        Err(KrbDecodeError::NotKerberos)
    );
    assert_eq!(decode(&[]), Err(KrbDecodeError::NeedMore { needed: 2 }));
    assert_eq!(
        KrbDecodeError::NotKerberos.to_string(),
        "not a Kerberos message"
    );
    assert_eq!(
        KrbDecodeError::Malformed {
            offset: 7,
            what: "expected SEQUENCE"
        }
        .to_string(),
        "malformed at offset 7: expected SEQUENCE"
    );
    assert!(
        decode(&fixture!("krb_error_7.bin")[..100])
            .unwrap_err()
            .to_string()
            .starts_with("need more bytes")
    );
}

#[test]
fn probe_agrees_with_decoder_on_fixtures() {
    for (name, bytes) in FIXTURES {
        assert!(looks_like_kerberos(bytes), "{name}");
        assert!(looks_like_kerberos(&bytes[..12]), "{name} prefix");
    }
}

#[test]
fn tcp_record_then_decode() {
    let msg = fixture!("krb_error_60.bin");
    let mut stream = u32::try_from(msg.len()).unwrap().to_be_bytes().to_vec();
    stream.extend(msg);
    stream.extend([0, 0]);
    let (record, used) = tcp_record(&stream).unwrap();
    assert_eq!((record, used), (&msg[..], msg.len() + 4));
    assert_eq!(ok(record).error_code, Some(60));
    assert_eq!(
        tcp_record(&stream[used..]),
        Err(RecordError::NeedMore { needed: 2 })
    );
}

#[test]
fn json_uses_snake_case_and_skips_empty_fields() {
    let v = serde_json::to_value(ok(fixture!("krb_error_13_nt_status.bin"))).unwrap();
    assert_eq!(v["msg_type"], "KRB-ERROR");
    assert_eq!(v["error_code"], 13);
    assert_eq!(v["e_data"]["nt_status"], "0xC00000BB");
    for absent in [
        "cname",
        "ticket",
        "kdc_options",
        "etypes",
        "s4u2proxy",
        "lossy_names",
    ] {
        assert!(v.get(absent).is_none(), "{absent} should be skipped");
    }
    let v = serde_json::to_value(ok(fixture!("tgs_req_kerberoast.bin"))).unwrap();
    assert_eq!(
        v["padata"][0],
        serde_json::json!({"type": 1, "name": "PA-TGS-REQ"})
    );
    assert_eq!(v["ticket"]["etype_name"], "aes256-cts-hmac-sha1-96");
    assert!(v["ticket"].get("cipher").is_none());
}
