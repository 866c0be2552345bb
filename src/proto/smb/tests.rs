//! `decode` on SMB messages cut from the public captures (the NetBIOS session header removed),
//! checked against what tshark 4.0 shows for the same frame (smb.* / smb2.* / kerberos.* /
//! ntlmssp.*), plus truncated and corrupted variants.

use super::*;
use crate::proto::gss::{self, GssToken};

macro_rules! bin {
    ($name:literal) => {
        include_bytes!(concat!("testdata/", $name, ".bin")).as_slice()
    };
}

fn one(msg: &[u8]) -> SmbAuth<'_> {
    let m = decode(msg).unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(m.auth.len(), 1, "{m:?}");
    m.auth.into_iter().next().unwrap_or_else(|| unreachable!())
}

fn krb_type(blob: &[u8]) -> Option<String> {
    gss::decode_token(blob)
        .kerberos()
        .map(|k| k.msg_type.clone())
}

#[test]
fn smb2_kerberos_session_setup() {
    // zeek krb/kerberos_tso.pcapng frames 5, 35, 37.
    let neg = one(bin!("tso_f5_smb2_negotiate_resp"));
    assert_eq!(
        (neg.version, neg.command, neg.response),
        (SmbVersion::Smb2, AuthCommand::Negotiate, true)
    );
    assert_eq!(neg.dialect, Some(0x02ff));
    assert_eq!(gss::decode_token(neg.blob).kind(), "spnego-init");

    let req = one(bin!("tso_f35_smb2_setup_req_apreq"));
    assert_eq!(
        (req.command, req.response, req.message_id, req.session_id),
        (AuthCommand::SessionSetup, false, 2, 0)
    );
    let token = gss::decode_token(req.blob);
    let krb = token
        .kerberos()
        .map(|k| (k.msg_type.clone(), k.sname.clone()));
    assert!(
        krb.as_ref()
            .is_some_and(|(t, s)| t == "AP-REQ" && s.as_deref() == Some("cifs/win7.test.local")),
        "{krb:?}"
    );

    let resp = one(bin!("tso_f37_smb2_setup_resp_aprep"));
    assert_eq!(resp.status, NtStatus::STATUS_SUCCESS);
    assert_eq!(resp.session_id, 0x0000_0400_0000_0015);
    assert_eq!(resp.message_id, 2);
    assert!(krb_type(resp.blob).is_some_and(|t| t == "AP-REP"));
}

#[test]
fn smb2_ntlm_session_setup() {
    // NTLMRawUnHide capture.pcap frames 7, 8, 10, 11.
    let r7 = one(bin!("unhide_f7_smb2_setup_req_ntlm1"));
    assert_eq!(
        gss::decode_token(r7.blob).ntlm().map(|m| m.message_type),
        Some(1)
    );
    let r8 = one(bin!("unhide_f8_smb2_setup_resp_ntlm2"));
    assert_eq!(r8.status, NtStatus::STATUS_MORE_PROCESSING_REQUIRED);
    assert_eq!(r8.status.name(), Some("STATUS_MORE_PROCESSING_REQUIRED"));
    assert_eq!(r8.session_id, 0x0000_2400_0400_0011);
    assert_eq!(
        gss::decode_token(r8.blob).ntlm().map(|m| m.message_type),
        Some(2)
    );
    let r10 = one(bin!("unhide_f10_smb2_setup_req_ntlm3"));
    let t10 = gss::decode_token(r10.blob);
    assert_eq!(
        t10.ntlm().and_then(|m| m.user.clone()).as_deref(),
        Some("mikeg")
    );
    let r11 = one(bin!("unhide_f11_smb2_setup_resp_ok"));
    assert_eq!((r11.status, r11.message_id), (NtStatus::STATUS_SUCCESS, 2));
}

#[test]
fn smb1_extended_security() {
    // zeek krb/smb_gssapi.pcap frames 5, 7, 8.
    let neg = one(bin!("gssapi_f5_smb1_negotiate_resp"));
    assert_eq!((neg.version, neg.dialect), (SmbVersion::Smb1, Some(5)));
    assert_eq!(gss::decode_token(neg.blob).kind(), "spnego-init");
    let req = one(bin!("gssapi_f7_smb1_setup_req"));
    assert_eq!(req.blob.len(), 1391);
    assert_eq!((req.message_id, req.session_id), (14464, 0));
    let k = gss::decode_token(req.blob);
    assert_eq!(
        k.kerberos().and_then(|m| m.sname.clone()).as_deref(),
        Some("cifs/EDISK03A.housing.hksarg")
    );
    let resp = one(bin!("gssapi_f8_smb1_setup_resp"));
    assert_eq!(
        (resp.response, resp.session_id, resp.blob.len()),
        (true, 2048, 267)
    );
    assert!(krb_type(resp.blob).is_some_and(|t| t == "AP-REP"));

    // nDPI smb_frags.pcap frames 6, 7: the AP-REQ is answered by KRB-ERROR 37 (clock skew).
    let req = one(bin!("frags_f6_smb1_setup_req_apreq"));
    assert_eq!(req.blob.len(), 1455);
    let resp = one(bin!("frags_f7_smb1_setup_resp_krberror"));
    assert_eq!(resp.status, NtStatus::STATUS_MORE_PROCESSING_REQUIRED);
    assert_eq!((resp.session_id, resp.blob.len()), (43008, 144));
    let token = gss::decode_token(resp.blob);
    assert_eq!(token.kerberos().and_then(|k| k.error_code), Some(37));

    // Arkime synthetic: raw NTLMSSP (no SPNEGO) in SMB1 frames 8 and 20.
    let r8 = one(bin!("arkime_f8_smb1_setup_req_raw_ntlm3"));
    assert!(
        matches!(gss::decode_token(r8.blob), GssToken::Ntlm(ref m) if m.user.as_deref() == Some("alice1"))
    );
    let r20 = one(bin!("arkime_f20_smb1_ntlm2"));
    assert_eq!(r20.blob.len(), 80);
    let t20 = gss::decode_token(r20.blob);
    assert_eq!(
        (t20.kind(), t20.ntlm().map(|m| m.message_type)),
        ("spnego-resp", Some(2))
    );
}

#[test]
fn prefix_decides_what_to_keep() {
    assert_eq!(is_auth_message(b"\xfeSMB"), None);
    assert_eq!(
        is_auth_message(
            bin!("tso_f35_smb2_setup_req_apreq")
                .get(..16)
                .unwrap_or_default()
        ),
        Some(true)
    );
    let mut read = bin!("unhide_f11_smb2_setup_resp_ok").to_vec();
    read[12] = 8; // READ
    assert_eq!(is_auth_message(&read), Some(false));
    assert_eq!(
        decode(&read).map(|m| (m.auth.len(), m.commands)),
        Ok((0, 1))
    );
    assert_eq!(is_auth_message(b"\xffSMB\x2e"), Some(false));
    assert_eq!(is_auth_message(b"\xfdSMB"), Some(false));
    assert_eq!(decode(b"\xfdSMBxxxx").map(|m| m.encrypted), Ok(true));
    assert_eq!(decode(b"GET / HTTP/1.1"), Err(SmbError::NotSmb));
}

#[test]
fn truncated_and_corrupted() {
    for msg in [
        bin!("tso_f35_smb2_setup_req_apreq"),
        bin!("unhide_f8_smb2_setup_resp_ntlm2"),
        bin!("gssapi_f7_smb1_setup_req"),
        bin!("frags_f7_smb1_setup_resp_krberror"),
        bin!("gssapi_f5_smb1_negotiate_resp"),
    ] {
        // Every cut either errors or keeps no blob that runs past the cut.
        for cut in 0..msg.len() {
            let short = &msg[..cut];
            if let Ok(m) = decode(short) {
                for a in &m.auth {
                    assert!(a.blob.len() <= cut);
                }
            }
        }
    }
    // SMB2 security buffer length past the end.
    let mut bad = bin!("unhide_f8_smb2_setup_resp_ntlm2").to_vec();
    bad[70] = 0xff;
    bad[71] = 0xff;
    let a = one(&bad);
    assert_eq!(
        (a.blob, a.blob_error),
        (&[][..], Some("security buffer runs past the message"))
    );
    // Offset into the fixed header.
    let mut bad = bin!("unhide_f8_smb2_setup_resp_ntlm2").to_vec();
    bad[68] = 8;
    bad[69] = 0;
    assert_eq!(
        one(&bad).blob_error,
        Some("security buffer overlaps the fixed fields")
    );
    // An error status: an ERROR body, no blob is read.
    let mut bad = bin!("unhide_f8_smb2_setup_resp_ntlm2").to_vec();
    bad[8..12].copy_from_slice(&0xc000_006du32.to_le_bytes());
    let a = one(&bad);
    assert_eq!(
        (a.status.name(), a.blob.len()),
        (Some("STATUS_LOGON_FAILURE"), 0)
    );
    // A compound chain pointing backwards or looping is refused, not followed.
    let mut bad = bin!("unhide_f11_smb2_setup_resp_ok").to_vec();
    bad[20] = 8;
    assert!(matches!(
        decode(&bad),
        Err(SmbError::Malformed { offset: 20, .. })
    ));
    // SMB1 blob length beyond ByteCount.
    let mut bad = bin!("frags_f7_smb1_setup_resp_krberror").to_vec();
    bad[33 + 6] = 0xff;
    bad[33 + 7] = 0xff;
    assert_eq!(
        one(&bad).blob_error,
        Some("security blob runs past ByteCount")
    );
}
