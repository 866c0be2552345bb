//! `decode` on PDUs cut from the public captures, checked against tshark 4.0's dcerpc.* /
//! kerberos.* / ntlmssp.* fields for the same frame, plus truncated and corrupted variants.

use super::*;
use crate::proto::gss;

macro_rules! bin {
    ($name:literal) => {
        include_bytes!(concat!("testdata/", $name, ".bin")).as_slice()
    };
}

fn pdu(bytes: &[u8]) -> Pdu<'_> {
    decode(bytes).unwrap_or_else(|e| panic!("{e}"))
}

fn token_of(p: &Pdu<'_>) -> gss::GssToken {
    gss::decode_token(p.auth.as_ref().map(|a| a.value).unwrap_or_default())
}

#[test]
fn kerberos_over_spnego_on_135() {
    // zeek dce-rpc/kerberos135_auth.pcapng frames 5, 7, 8, 9: auth type 9, level 2 (connect).
    let bind = pdu(bin!("krb135_f5_bind_apreq"));
    assert_eq!(
        (bind.ptype, bind.frag_len, bind.call_id),
        (PacketType::BIND, 1972, 8)
    );
    let auth = bind
        .auth
        .as_ref()
        .map(|a| (a.auth_type, a.auth_level, a.context_id, a.value.len()));
    assert_eq!(auth, Some((AuthType::GSS_NEGOTIATE, 2, 0, 1848)));
    assert_eq!(
        bind.info.interfaces,
        vec!["000001a0-0000-0000-c000-000000000046"; 2]
    );
    assert_eq!(
        token_of(&bind).kerberos().map(|k| k.msg_type.as_str()),
        Some("AP-REQ")
    );

    let ack = pdu(bin!("krb135_f7_bind_ack_aprep"));
    assert_eq!(
        (ack.ptype.name(), ack.info.results.clone()),
        ("bind_ack", vec![0, 3])
    );
    assert_eq!(
        token_of(&ack).kerberos().map(|k| k.msg_type.as_str()),
        Some("AP-REP")
    );

    let alter = pdu(bin!("krb135_f8_alter_aprep"));
    assert_eq!(alter.ptype, PacketType::ALTER_CONTEXT);
    assert_eq!(
        token_of(&alter).kerberos().map(|k| k.msg_type.as_str()),
        Some("AP-REP")
    );
    let resp = pdu(bin!("krb135_f9_alter_resp"));
    assert_eq!(
        (resp.ptype, resp.info.results.clone()),
        (PacketType::ALTER_CONTEXT_RESP, vec![0])
    );
    assert_eq!(resp.auth.as_ref().map(|a| a.value.len()), Some(41));
    assert_eq!(token_of(&resp).kind(), "spnego-resp");
}

#[test]
fn ntlm_bind_auth3_and_alter_context() {
    // suricata-verify dcerpc-ctxids.pcap frames 11-13 (auth type 10, level 5) and 58, 61.
    let b = pdu(bin!("ctxids_f11_bind_ntlm1"));
    assert_eq!(
        b.auth
            .as_ref()
            .map(|a| (a.auth_type.name(), auth_level_name(a.auth_level))),
        Some(("ntlm", "pkt_integrity"))
    );
    assert_eq!(token_of(&b).ntlm().map(|m| m.message_type), Some(1));
    let a = pdu(bin!("ctxids_f12_bind_ack_ntlm2"));
    assert_eq!(token_of(&a).ntlm().map(|m| m.message_type), Some(2));
    let a3 = pdu(bin!("ctxids_f13_auth3_ntlm3"));
    assert_eq!(
        (a3.ptype.name(), a3.auth.as_ref().map(|a| a.value.len())),
        ("auth3", Some(454))
    );
    assert_eq!(
        token_of(&a3).ntlm().and_then(|m| m.user.clone()).as_deref(),
        Some("Administrator")
    );
    let ack = pdu(bin!("ctxids_f58_bind_ack_spnego"));
    assert_eq!(ack.info.results, vec![0, 2, 3]);
    assert_eq!(ack.auth.as_ref().map(|a| a.value.len()), Some(23));
    let alt = pdu(bin!("ctxids_f61_alter_ntlm3"));
    assert_eq!(
        alt.info.interfaces,
        vec!["00000143-0000-0000-c000-000000000046"]
    );
    assert_eq!(
        interface_name(&alt.info.interfaces[0]),
        Some("IRemUnknown2")
    );
    assert_eq!(
        token_of(&alt)
            .ntlm()
            .and_then(|m| m.user.clone())
            .as_deref(),
        Some("Administrator")
    );
    // Arkime synthetic: bind_ack with a challenge and no results, alter_context with ivy's AUTH.
    let ack = pdu(bin!("arkime_f116_bind_ack_ntlm2"));
    assert!(ack.info.results.is_empty());
    assert_eq!(token_of(&ack).ntlm().map(|m| m.message_type), Some(2));
    let alt = pdu(bin!("arkime_f126_alter_ntlm3"));
    assert_eq!(
        (alt.call_id, alt.auth.as_ref().map(|a| a.context_id)),
        (2, Some(1))
    );
    assert_eq!(
        token_of(&alt)
            .ntlm()
            .and_then(|m| m.user.clone())
            .as_deref(),
        Some("ivy")
    );
}

#[test]
fn recognises_by_content() {
    assert_eq!(header_frag_len(bin!("krb135_f5_bind_apreq")), Some(1972));
    assert_eq!(header_frag_len(b"GET / HTTP/1.1\r\nHost: x\r\n"), None);
    assert_eq!(header_frag_len(&bin!("krb135_f5_bind_apreq")[..15]), None);
    // Version 4 (connectionless) or a PTYPE past 19 is not a CO PDU.
    let mut v = bin!("ctxids_f11_bind_ntlm1").to_vec();
    v[0] = 4;
    assert_eq!(decode(&v), Err(DcerpcError::NotDcerpc));
    let mut v = bin!("ctxids_f11_bind_ntlm1").to_vec();
    v[2] = 42;
    assert_eq!(header_frag_len(&v), None);
    // Big-endian data representation: frag_length read the other way round.
    let mut v = bin!("ctxids_f11_bind_ntlm1").to_vec();
    v[4] = 0x00;
    v.swap(8, 9);
    v.swap(10, 11);
    assert_eq!(header_frag_len(&v), Some(120));
}

#[test]
fn truncated_and_corrupted() {
    for bytes in [
        bin!("krb135_f5_bind_apreq"),
        bin!("krb135_f7_bind_ack_aprep"),
        bin!("ctxids_f13_auth3_ntlm3"),
        bin!("arkime_f116_bind_ack_ntlm2"),
    ] {
        for cut in 0..bytes.len() {
            assert!(decode(&bytes[..cut]).is_err(), "cut {cut} decoded");
        }
    }
    // auth_length larger than the PDU: not a plausible header.
    let mut v = bin!("ctxids_f11_bind_ntlm1").to_vec();
    v[10] = 0xff;
    assert_eq!(decode(&v), Err(DcerpcError::NotDcerpc));
    // A context count past the end of the body.
    let mut v = bin!("ctxids_f11_bind_ntlm1").to_vec();
    v[24] = 200;
    assert!(matches!(decode(&v), Err(DcerpcError::Malformed { .. })));
    // A secondary address longer than the body.
    let mut v = bin!("krb135_f7_bind_ack_aprep").to_vec();
    v[24] = 0xf0;
    assert!(matches!(decode(&v), Err(DcerpcError::Malformed { .. })));
    // A fault and a bind_nak made from a header: status and reason come out in drep order.
    let mut fault = bin!("ctxids_f11_bind_ntlm1")[..16].to_vec();
    fault[2] = 3;
    fault[8] = 32;
    fault[10] = 0;
    fault.extend([0u8; 8]);
    fault.extend(0x0000_0005u32.to_le_bytes());
    fault.extend([0u8; 4]);
    let f = pdu(&fault);
    assert_eq!(
        f.info.fault_status.and_then(fault_status_name),
        Some("nca_s_fault_access_denied")
    );
    let mut nak = fault.clone();
    nak[2] = 13;
    nak[16] = 8;
    assert_eq!(
        pdu(&nak).info.reject_reason.map(reject_reason_name),
        Some("authentication_type_not_recognized")
    );
}
