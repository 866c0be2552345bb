//! `decode_token` on real tokens cut from the public captures in /work/shared/captures/public.
//! Each fixture is the token as its carrier hands it over (SMB security blob, LDAP SASL
//! credentials, DCE/RPC auth_verifier, HTTP header after base64), extracted with
//! `tshark -T json -x` (`gss-api_raw` / `spnego_raw` / `ntlmssp_raw` of the frame in the name).
//! Expected values are what tshark shows for that frame (spnego.* / kerberos.* / ntlmssp.*).

use super::*;
use crate::proto::ntlm::from_hex;

macro_rules! fixture {
    ($name:literal) => {
        ($name, include_str!(concat!("testdata/", $name, ".hex")))
    };
}

const TSO_F35: (&str, &str) = fixture!("tso_f35_init_apreq");
const TSO_F37: (&str, &str) = fixture!("tso_f37_resp_aprep");
const ADUSER1_F5: (&str, &str) = fixture!("aduser1_f5_init2_hints");
const ADUSER1_F9: (&str, &str) = fixture!("aduser1_f9_init_ntlm1");
const ADUSER1_F10: (&str, &str) = fixture!("aduser1_f10_resp_ntlm2");
const ADUSER1_F11: (&str, &str) = fixture!("aduser1_f11_resp_ntlm3_anon");
const ADUSER1_F12: (&str, &str) = fixture!("aduser1_f12_resp_done");
const ADUSER1_F46: (&str, &str) = fixture!("aduser1_f46_ldap_init_raw_apreq");
const ADUSER1_F47: (&str, &str) = fixture!("aduser1_f47_ldap_resp");
const DCE_F5: (&str, &str) = fixture!("dcerpc135_f5_init_apreq");
const DCE_F7: (&str, &str) = fixture!("dcerpc135_f7_resp_aprep");
const DCE_F8: (&str, &str) = fixture!("dcerpc135_f8_resp_aprep");
const DCE_F9: (&str, &str) = fixture!("dcerpc135_f9_resp_mic");
const SMBFRAGS_F6: (&str, &str) = fixture!("smbfrags_f6_init_apreq");
const SMBFRAGS_F7: (&str, &str) = fixture!("smbfrags_f7_resp_krberror");
const UNHIDE_F5: (&str, &str) = fixture!("unhide_f5_init_negoex");
const UNHIDE_F7: (&str, &str) = fixture!("unhide_f7_init_ntlm1");
const UNHIDE_F8: (&str, &str) = fixture!("unhide_f8_resp_ntlm2");
const UNHIDE_F10: (&str, &str) = fixture!("unhide_f10_resp_ntlm3");
const CTXIDS_F57: (&str, &str) = fixture!("ctxids_f57_init_u2u");
const CTXIDS_F58: (&str, &str) = fixture!("ctxids_f58_resp_request_mic");
const IAKERB_F8: (&str, &str) = fixture!("iakerb_f8_init");
const IAKERB_F9: (&str, &str) = fixture!("iakerb_f9_resp");
const SIGNSEAL_F10: (&str, &str) = fixture!("signseal_f10_wrap");
// HTTP tokens after base64, shared with the NTLM tests.
const WEBDAV_F21: (&str, &str) = (
    "webdav_f21_ntlm3",
    include_str!("../ntlm/testdata/webdav_f21_ntlm3.hex"),
);
const ARKIME_F58: (&str, &str) = (
    "arkime_f58_http6_negotiate_ntlm1",
    include_str!("../ntlm/testdata/arkime_f58_http6_negotiate_ntlm1.hex"),
);

const ALL: [(&str, &str); 26] = [
    TSO_F35,
    TSO_F37,
    ADUSER1_F5,
    ADUSER1_F9,
    ADUSER1_F10,
    ADUSER1_F11,
    ADUSER1_F12,
    ADUSER1_F46,
    ADUSER1_F47,
    DCE_F5,
    DCE_F7,
    DCE_F8,
    DCE_F9,
    SMBFRAGS_F6,
    SMBFRAGS_F7,
    UNHIDE_F5,
    UNHIDE_F7,
    UNHIDE_F8,
    UNHIDE_F10,
    CTXIDS_F57,
    CTXIDS_F58,
    IAKERB_F8,
    IAKERB_F9,
    SIGNSEAL_F10,
    WEBDAV_F21,
    ARKIME_F58,
];

fn dec(fixture: (&str, &str)) -> GssToken {
    decode_token(&from_hex(fixture.1))
}

fn init(t: &GssToken) -> NegTokenInit {
    match t {
        GssToken::SpnegoInit(i) => i.clone(),
        other => panic!("expected spnego-init, got {other:?}"),
    }
}

fn resp(t: &GssToken) -> NegTokenResp {
    match t {
        GssToken::SpnegoResp(r) => r.clone(),
        other => panic!("expected spnego-resp, got {other:?}"),
    }
}

fn mech_oids(i: &NegTokenInit) -> Vec<&str> {
    i.mech_types.iter().map(|m| m.oid.as_str()).collect()
}

const MS_KRB5: &str = "1.2.840.48018.1.2.2";
const KRB5: &str = "1.2.840.113554.1.2.2";
const NEGOEX: &str = "1.3.6.1.4.1.311.2.2.30";
const NTLMSSP: &str = "1.3.6.1.4.1.311.2.2.10";

#[test]
fn smb2_spnego_init_with_framed_ap_req() {
    // zeek__krb__kerberos_tso.pcapng frame 35 (SMB2 Session Setup Request); tshark:
    // MechType ms-krb5,krb5,negoex,ntlmssp; krb5_tok_id 0x0001 (bytes 01 00); msg-type 14,
    // realm TEST.LOCAL, sname cifs/win7.test.local, etype 18.
    let t = dec(TSO_F35);
    assert_eq!(
        (t.kind(), t.inner_kind()),
        ("spnego-init", Some("krb5-ap-req"))
    );
    let i = init(&t);
    assert_eq!(mech_oids(&i), vec![MS_KRB5, KRB5, NEGOEX, NTLMSSP]);
    assert_eq!(i.mech_types[0].name, "ms-krb5");
    let k = t.krb5().cloned().unwrap_or_default();
    assert_eq!(k.mech.map(|m| m.oid), Some(KRB5.to_string()));
    assert_eq!(
        (k.tok_id, k.tok_id_hex.as_deref()),
        ("ap-req", Some("0100"))
    );
    let m = t.kerberos().cloned().unwrap_or_default();
    assert_eq!(m.msg_type, "AP-REQ");
    assert_eq!(m.realm.as_deref(), Some("TEST.LOCAL"));
    assert_eq!(m.sname.as_deref(), Some("cifs/win7.test.local"));
    assert!(t.ntlm().is_none());
}

#[test]
fn smb2_spnego_resp_with_framed_ap_rep() {
    // zeek__krb__kerberos_tso.pcapng frame 37; tshark: negResult 0, supportedMech ms-krb5,
    // krb5_tok_id 0x0002, msg-type 15, etype 18.
    let t = dec(TSO_F37);
    assert_eq!(
        (t.kind(), t.inner_kind()),
        ("spnego-resp", Some("krb5-ap-rep"))
    );
    let r = resp(&t);
    assert_eq!(r.neg_state, Some("accept-completed"));
    assert_eq!(r.supported_mech.map(|m| m.oid), Some(MS_KRB5.to_string()));
    assert_eq!(t.kerberos().map(|m| m.msg_type.as_str()), Some("AP-REP"));
    assert_eq!(t.kerberos().and_then(|m| m.enc_part_etype), Some(18));
}

#[test]
fn ldap_sasl_spnego_with_bare_ap_req() {
    // zeek__ldap__aduser1.pcap frame 46 (LDAP bindRequest, SASL GSS-SPNEGO): mechToken is an
    // AP-REQ without GSS framing; tshark: MechType ms-krb5, realm ADHACKING.LOCAL,
    // sname ldap/WIN-VGO56I95EAK. Frame 47: negResult 0, supportedMech ms-krb5.
    let t = dec(ADUSER1_F46);
    assert_eq!(
        (t.kind(), t.inner_kind()),
        ("spnego-init", Some("krb5-ap-req"))
    );
    assert_eq!(mech_oids(&init(&t)), vec![MS_KRB5]);
    let k = t.krb5().cloned().unwrap_or_default();
    assert!(k.mech.is_none() && k.tok_id_hex.is_none());
    let m = t.kerberos().cloned().unwrap_or_default();
    assert_eq!(m.realm.as_deref(), Some("ADHACKING.LOCAL"));
    assert_eq!(m.sname.as_deref(), Some("ldap/WIN-VGO56I95EAK"));

    let t = dec(ADUSER1_F47);
    let r = resp(&t);
    assert_eq!(r.neg_state, Some("accept-completed"));
    assert_eq!(r.supported_mech.map(|m| m.name), Some("ms-krb5"));
    assert_eq!((t.inner_kind(), r.mech_list_mic), (None, false));
}

#[test]
fn dcerpc_three_leg_kerberos() {
    // zeek__dce-rpc__kerberos135_auth.pcapng frames 5/7/8/9 (ISystemActivator bind / alter
    // context); tshark: frame 5 AP-REQ realm SRT-AD.LOCAL sname RPCSS/BLACKCLOVER-DC.SRT-AD.local;
    // 7 negResult 1 supportedMech ms-krb5 AP-REP; 8 negResult 1 AP-REP (+ mechListMIC);
    // 9 negResult 0 with only a mechListMIC.
    let t = dec(DCE_F5);
    assert_eq!(t.inner_kind(), Some("krb5-ap-req"));
    assert_eq!(mech_oids(&init(&t)), vec![MS_KRB5, KRB5, NEGOEX, NTLMSSP]);
    let m = t.kerberos().cloned().unwrap_or_default();
    assert_eq!(m.realm.as_deref(), Some("SRT-AD.LOCAL"));
    assert_eq!(
        m.sname.as_deref(),
        Some("RPCSS/BLACKCLOVER-DC.SRT-AD.local")
    );

    let t7 = dec(DCE_F7);
    let r7 = resp(&t7);
    assert_eq!(
        (r7.neg_state, t7.inner_kind()),
        (Some("accept-incomplete"), Some("krb5-ap-rep"))
    );
    assert_eq!(r7.supported_mech.map(|m| m.name), Some("ms-krb5"));
    assert_eq!(t7.kerberos().map(|m| m.msg_type.as_str()), Some("AP-REP"));

    let t8 = dec(DCE_F8);
    let r8 = resp(&t8);
    assert_eq!(
        (r8.neg_state, t8.inner_kind()),
        (Some("accept-incomplete"), Some("krb5-ap-rep"))
    );
    assert!(r8.supported_mech.is_none() && r8.mech_list_mic);

    let r9 = resp(&dec(DCE_F9));
    assert_eq!(r9.neg_state, Some("accept-completed"));
    assert!(r9.mech_list_mic && r9.response_token.is_none());
}

#[test]
fn smb1_krb_error_37_inside_spnego() {
    // ndpi__smb_frags.pcap frame 6 (SMB1 Session Setup AndX, BER with non-minimal lengths such
    // as 06 82 00 06): tshark MechType krb5, realm CIVILPENSION.LOCAL,
    // sname cifs/hqdc-02.civilpension.local. Frame 7: negResult 1, supportedMech krb5,
    // krb5_tok_id 0x0003, msg-type 30, error_code 37, sname hqdc-02$.
    let t = dec(SMBFRAGS_F6);
    assert_eq!(t.inner_kind(), Some("krb5-ap-req"));
    assert_eq!(mech_oids(&init(&t)), vec![KRB5]);
    let m = t.kerberos().cloned().unwrap_or_default();
    assert_eq!(m.sname.as_deref(), Some("cifs/hqdc-02.civilpension.local"));

    let t = dec(SMBFRAGS_F7);
    assert_eq!(
        (t.kind(), t.inner_kind()),
        ("spnego-resp", Some("krb5-error"))
    );
    let r = resp(&t);
    assert_eq!(r.neg_state, Some("accept-incomplete"));
    assert_eq!(r.supported_mech.map(|m| m.oid), Some(KRB5.to_string()));
    assert_eq!(t.krb5().map(|k| k.tok_id), Some("error"));
    let m = t.kerberos().cloned().unwrap_or_default();
    assert_eq!((m.msg_type.as_str(), m.error_code), ("KRB-ERROR", Some(37)));
    assert_eq!(m.sname.as_deref(), Some("hqdc-02$"));
    assert_eq!(m.realm.as_deref(), Some("CIVILPENSION.LOCAL"));
}

#[test]
fn neg_token_init2_from_smb_negotiate() {
    // zeek__ldap__aduser1.pcap frame 5 (SMB2 Negotiate Protocol Response); tshark: MechType
    // negoex,ms-krb5,krb5,krb5-u2u,ntlmssp and hintName not_defined_in_RFC4178@please_ignore.
    let t = dec(ADUSER1_F5);
    let i = init(&t);
    let names: Vec<_> = i.mech_types.iter().map(|m| m.name).collect();
    assert_eq!(
        names,
        vec!["negoex", "ms-krb5", "krb5", "krb5-u2u", "ntlmssp"]
    );
    assert_eq!(
        i.neg_hints_name.as_deref(),
        Some("not_defined_in_RFC4178@please_ignore")
    );
    assert!(i.mech_token.is_none() && !i.mech_list_mic);
}

#[test]
fn smb2_ntlm_in_spnego() {
    // zeek__ldap__aduser1.pcap frames 9-12 (anonymous SMB2 session): tshark ntlmssp.messagetype
    // 1, 2 (negResult 1, supportedMech ntlmssp), 3 with NULL names, then negResult 0.
    let t9 = dec(ADUSER1_F9);
    assert_eq!(
        (t9.kind(), t9.inner_kind()),
        ("spnego-init", Some("ntlmssp-1"))
    );
    assert_eq!(mech_oids(&init(&t9)), vec![NTLMSSP]);
    let t10 = dec(ADUSER1_F10);
    assert_eq!(t10.inner_kind(), Some("ntlmssp-2"));
    assert_eq!(resp(&t10).supported_mech.map(|m| m.name), Some("ntlmssp"));
    assert_eq!(
        t10.ntlm().and_then(|m| m.target_name.clone()).as_deref(),
        Some("ADHACKING")
    );
    let t11 = dec(ADUSER1_F11);
    let m = t11.ntlm().cloned().unwrap_or_default();
    assert_eq!((m.message_type, m.ntlm_version), (3, Some("anonymous")));
    assert_eq!(m.user, None);
    assert!(t11.kerberos().is_none());
    let r12 = resp(&dec(ADUSER1_F12));
    assert_eq!(
        (r12.neg_state, r12.response_token.is_none()),
        (Some("accept-completed"), true)
    );

    // ntlmrawunhide__capture.pcap frames 5/7/8/10: NEGOEX first (mechToken "NEGOEXTS..."),
    // then NTLMSSP 1, 2 and 3 as WORKGROUP\mikeg from KALI.
    let t5 = dec(UNHIDE_F5);
    assert_eq!(mech_oids(&init(&t5)), vec![NEGOEX, NTLMSSP]);
    assert_eq!(t5.inner_kind(), Some("unknown"));
    assert_eq!(dec(UNHIDE_F7).inner_kind(), Some("ntlmssp-1"));
    assert_eq!(dec(UNHIDE_F8).inner_kind(), Some("ntlmssp-2"));
    let t10 = dec(UNHIDE_F10);
    let m = t10.ntlm().cloned().unwrap_or_default();
    assert_eq!(
        (
            m.domain.as_deref(),
            m.user.as_deref(),
            m.workstation.as_deref()
        ),
        (Some("WORKGROUP"), Some("mikeg"), Some("KALI"))
    );
    assert_eq!(m.ntlm_version, Some("NTLMv2"));
    assert!(resp(&t10).mech_list_mic);
}

#[test]
fn http_ntlm_and_negotiate_with_raw_ntlmssp() {
    // ndpi__webdav.pcap frame 21 ("Authorization: NTLM"), arkime__ntlm_synthetic.pcap frame
    // 58 ("Authorization: Negotiate <raw NTLMSSP>" over IPv6); tshark: WebDAV at
    // www.dlp-test.com from ivan-Latitude-E6540; NEGOTIATE from HTTP6DOM / HTTP6HOST.
    let t = dec(WEBDAV_F21);
    assert_eq!((t.kind(), t.inner_kind()), ("ntlmssp-3", None));
    let m = t.ntlm().cloned().unwrap_or_default();
    assert_eq!(m.user.as_deref(), Some("WebDAV"));
    assert_eq!(m.domain.as_deref(), Some("www.dlp-test.com"));
    assert_eq!(m.workstation.as_deref(), Some("ivan-Latitude-E6540"));
    let t = dec(ARKIME_F58);
    assert_eq!(t.kind(), "ntlmssp-1");
    assert_eq!(
        t.ntlm().and_then(|m| m.domain.clone()).as_deref(),
        Some("HTTP6DOM")
    );
}

#[test]
fn user_to_user_iakerb_and_wrap_tokens() {
    // sv__dcerpc-ctxids.pcap frame 57: mechToken with OID 1.2.840.113554.1.2.2.3 and
    // krb5_tok_id 0x0004 (bytes 04 00, TGT-REQ), tshark msg-type 16 realm PURP; frame 58:
    // negResult 3 (request-mic), supportedMech ntlmssp (the fallback to NTLM).
    let t = dec(CTXIDS_F57);
    assert_eq!(t.inner_kind(), Some("krb5-other"));
    let k = t.krb5().cloned().unwrap_or_default();
    assert_eq!(
        (k.tok_id, k.mech.map(|m| m.name)),
        ("tgt-req", Some("krb5-u2u"))
    );
    let r = resp(&dec(CTXIDS_F58));
    assert_eq!(r.neg_state, Some("request-mic"));
    assert_eq!(r.supported_mech.map(|m| m.oid), Some(NTLMSSP.to_string()));

    // sv__smb-length-5786.pcap frames 8/9: IAKERB (1.3.6.1.5.2.5), tshark krb5_tok_id 0x0105
    // (bytes 05 01). The IAKERB-HEADER realm is WELLKNOWN:COM.APPLE.LKDC and the KDC message
    // after it starts 6a (AS-REQ); tshark does not decode it further.
    let t = dec(IAKERB_F8);
    assert_eq!(mech_oids(&init(&t)), vec!["1.3.6.1.5.2.5"]);
    let k = t.krb5().cloned().unwrap_or_default();
    assert_eq!(
        (k.tok_id, k.tok_id_hex.as_deref()),
        ("iakerb-proxy", Some("0501"))
    );
    assert_eq!(
        k.iakerb_target_realm.as_deref(),
        Some("WELLKNOWN:COM.APPLE.LKDC")
    );
    assert_eq!(t.kerberos().map(|m| m.msg_type.as_str()), Some("AS-REQ"));
    let t = dec(IAKERB_F9);
    assert_eq!(resp(&t).supported_mech.map(|m| m.name), Some("iakerb"));
    assert_eq!(t.inner_kind(), Some("krb5-other"));

    // zeek__ldap__krb5-sign-seal-01.pcap frame 10: an RFC 1964 Wrap token in an LDAP SASL
    // buffer of 98 bytes; tshark krb5_tok_id 0x0102 (bytes 02 01).
    let t = dec(SIGNSEAL_F10);
    assert_eq!(t.kind(), "krb5-other");
    let k = t.krb5().cloned().unwrap_or_default();
    assert_eq!(
        (k.tok_id, k.message.is_none(), k.decode_error),
        ("wrap-rfc1964", true, None)
    );
}

#[test]
fn serialises_with_kind_tags() {
    let json = serde_json::to_value(dec(SMBFRAGS_F7)).unwrap_or_default();
    assert_eq!(json["kind"], "spnego-resp");
    assert_eq!(json["neg_state"], "accept-incomplete");
    assert_eq!(json["response_token"]["kind"], "krb5-error");
    assert_eq!(json["response_token"]["message"]["error_code"], 37);
    let json = serde_json::to_value(dec(WEBDAV_F21)).unwrap_or_default();
    assert_eq!(
        (json["kind"].as_str(), json["user"].as_str()),
        (Some("ntlmssp-3"), Some("WebDAV"))
    );
    let json = serde_json::to_value(decode_token(b"\x05\x00")).unwrap_or_default();
    assert_eq!(
        (json["kind"].as_str(), json["len"].as_u64()),
        (Some("unknown"), Some(2))
    );
}

#[test]
fn every_prefix_decodes_without_panic() {
    for (name, hex) in ALL {
        let full = from_hex(hex);
        assert_ne!(decode_token(&full).kind(), "malformed", "{name}");
        for cut in 0..full.len() {
            let t = decode_token(&full[..cut]);
            // A DER-framed token cut anywhere is incomplete at its outer TLV.
            if matches!(full.first(), Some(0x60 | 0xa0 | 0xa1)) {
                assert_eq!(t.kind(), "malformed", "{name} cut at {cut}");
            }
            if let GssToken::Malformed { offset, .. } = t {
                assert!(offset <= cut, "{name} cut at {cut}: offset {offset}");
            }
        }
    }
}
