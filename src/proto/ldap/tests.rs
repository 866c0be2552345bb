//! `decode` on LDAP messages cut from the public captures, checked against tshark 4.0's ldap.* /
//! kerberos.* / ntlmssp.* fields for the same frame, plus truncated and corrupted variants.

use super::*;
use crate::proto::gss;

macro_rules! bin {
    ($name:literal) => {
        include_bytes!(concat!("testdata/", $name, ".bin")).as_slice()
    };
}

fn msg(bytes: &[u8]) -> LdapMessage<'_> {
    assert_eq!(message_len(bytes), Ok(Some(bytes.len())));
    decode(bytes).unwrap_or_else(|e| panic!("{e}"))
}

fn request(bytes: &[u8]) -> BindRequest<'_> {
    match msg(bytes).op {
        Op::BindRequest(b) => b,
        other => panic!("{other:?}"),
    }
}

fn response(bytes: &[u8]) -> BindResponse<'_> {
    match msg(bytes).op {
        Op::BindResponse(b) => b,
        other => panic!("{other:?}"),
    }
}

fn ntlm_of(token: Option<&[u8]>) -> Option<(u32, Option<String>)> {
    gss::decode_token(token.unwrap_or_default())
        .ntlm()
        .map(|m| (m.message_type, m.user.clone()))
}

#[test]
fn gss_spnego_kerberos_binds() {
    // zeek ldap/aduser1.pcap frames 46, 47.
    let m = msg(bin!("aduser1_f46_bind_gss_spnego_apreq"));
    assert_eq!(m.message_id, 1_440_128_865);
    let Op::BindRequest(b) = m.op else {
        panic!("not a bind")
    };
    assert_eq!(
        (b.version, b.name.as_str(), b.auth.name()),
        (3, "User1", "sasl")
    );
    assert!(matches!(&b.auth, BindAuth::Sasl { mechanism, .. } if mechanism == "GSS-SPNEGO"));
    let t = gss::decode_token(b.auth.token().unwrap_or_default());
    assert_eq!(
        t.kerberos()
            .map(|k| (k.msg_type.as_str(), k.sname.as_deref())),
        Some(("AP-REQ", Some("ldap/WIN-VGO56I95EAK")))
    );
    let r = response(bin!("aduser1_f47_bind_resp_success"));
    assert_eq!(
        (r.result, r.result.name()),
        (ResultCode::SUCCESS, "success")
    );
    // zeek ldap/krb5-sign-seal-01.pcap frames 8, 9: the response carries the AP-REP.
    let b = request(bin!("signseal_f8_bind_gss_spnego"));
    assert_eq!(b.name, "");
    let r = response(bin!("signseal_f9_bind_resp"));
    let t = gss::decode_token(r.token().unwrap_or_default());
    assert_eq!(t.kerberos().map(|k| k.msg_type.as_str()), Some("AP-REP"));
}

#[test]
fn simple_sicily_and_sasl_ntlm_binds() {
    // Arkime ntlm_synthetic.pcap, frames 72-106.
    let b = request(bin!("arkime_f72_simple_bind"));
    assert_eq!(
        (b.name.as_str(), &b.auth),
        (
            "cn=anon",
            &BindAuth::Simple {
                password_empty: true
            }
        )
    );
    assert_eq!(
        response(bin!("arkime_f74_simple_resp")).result,
        ResultCode::SUCCESS
    );
    let b = request(bin!("arkime_f76_sicily_negotiate"));
    assert_eq!(b.auth.name(), "sicily-negotiate");
    assert_eq!(ntlm_of(b.auth.token()), Some((1, None)));
    let r = response(bin!("arkime_f78_sicily_resp"));
    assert_eq!(
        (r.result.name(), r.diagnostic.as_str(), r.token()),
        ("saslBindInProgress", "continue", None)
    );
    let b = request(bin!("arkime_f80_sicily_response_ntlm3"));
    assert_eq!(ntlm_of(b.auth.token()), Some((3, Some("frank".into()))));
    let b = request(bin!("arkime_f90_sasl_ntlm1"));
    assert!(matches!(&b.auth, BindAuth::Sasl { mechanism, .. } if mechanism == "NTLM"));
    assert_eq!(ntlm_of(b.auth.token()).map(|n| n.0), Some(1));
    let r = response(bin!("arkime_f92_sasl_resp"));
    assert_eq!(r.result, ResultCode::SASL_BIND_IN_PROGRESS);
    // The CHALLENGE rides serverSaslCreds; tshark 4.0 does not decode it for mechanism "NTLM".
    assert_eq!(ntlm_of(r.token()).map(|n| n.0), Some(2));
    let b = request(bin!("arkime_f94_sasl_ntlm3"));
    assert_eq!(ntlm_of(b.auth.token()), Some((3, Some("grace".into()))));
    // A CHALLENGE in matchedDN, with invalidCredentials as the result (frame 106).
    let r = response(bin!("arkime_f106_resp_matcheddn_ntlm2"));
    assert_eq!(r.result.name(), "invalidCredentials");
    assert_eq!(ntlm_of(r.token()).map(|n| n.0), Some(2));
    // suricata-verify krb5-frag.pcap frame 6: sicily CHALLENGE with success.
    let r = response(bin!("krb5frag_f6_bind_resp_ntlm2"));
    assert_eq!(
        (r.result, ntlm_of(r.token()).map(|n| n.0)),
        (ResultCode::SUCCESS, Some(2))
    );
}

#[test]
fn framing_helpers() {
    let m = bin!("aduser1_f46_bind_gss_spnego_apreq");
    assert_eq!(peek_op(m), Some(0x60));
    assert_eq!(peek_op(bin!("arkime_f74_simple_resp")), Some(0x61));
    assert_eq!(message_len(&m[..1]), Ok(None));
    assert_eq!(message_len(&m[..3]), Ok(None));
    assert_eq!(message_len(&m[..6]), Ok(Some(m.len())));
    assert!(message_len(b"\x00\x00\x00\x10").is_err());
    assert!(message_len(b"\x30\x80").is_err());
    assert_eq!(peek_op(&m[..4]), None);
}

#[test]
fn truncated_and_corrupted() {
    for bytes in [
        bin!("aduser1_f46_bind_gss_spnego_apreq"),
        bin!("arkime_f106_resp_matcheddn_ntlm2"),
        bin!("arkime_f90_sasl_ntlm1"),
    ] {
        for cut in 0..bytes.len() {
            assert!(decode(&bytes[..cut]).is_err(), "cut {cut} decoded");
        }
    }
    // The simple bind password is never kept: only emptiness.
    let mut v = bin!("arkime_f72_simple_bind").to_vec();
    v.truncate(v.len() - 1);
    v.extend(b"\x07hunter2");
    v[1] += 7;
    v[6] += 7;
    let m = msg(&v);
    assert!(
        matches!(&m.op, Op::BindRequest(b) if b.auth == BindAuth::Simple { password_empty: false })
    );
    assert!(!format!("{m:?}").contains("hunter2"));
    // messageID that is not an INTEGER.
    v[2] = 0x04;
    assert!(matches!(
        decode(&v),
        Err(LdapError::Malformed { offset: 2, .. })
    ));
    // A resultCode that is not ENUMERATED.
    let mut v = bin!("arkime_f74_simple_resp").to_vec();
    let at = v.iter().position(|&b| b == 0x0a).unwrap_or(0);
    v[at] = 0x02;
    assert!(matches!(decode(&v), Err(LdapError::Malformed { .. })));
}
