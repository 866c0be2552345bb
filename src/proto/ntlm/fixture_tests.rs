//! `ntlm::decode` on real NTLMSSP messages cut from the public captures in
//! /work/shared/captures/public; expected values are what tshark shows for each frame.

use super::*;

// Raw NTLMSSP messages cut from the public captures with
// `tshark -T json -x` (the `ntlmssp_raw` bytes of the frame named in the file name).
const WEBDAV_F18: &str = include_str!("testdata/webdav_f18_ntlm1.hex");
const WEBDAV_F19: &str = include_str!("testdata/webdav_f19_ntlm2.hex");
const WEBDAV_F21: &str = include_str!("testdata/webdav_f21_ntlm3.hex");
const ARKIME_F58: &str = include_str!("testdata/arkime_f58_http6_negotiate_ntlm1.hex");
const ARKIME_F60: &str = include_str!("testdata/arkime_f60_http6_negotiate_ntlm2.hex");
const ARKIME_F62: &str = include_str!("testdata/arkime_f62_http6_negotiate_ntlm3.hex");
const UNHIDE_F8: &str = include_str!("testdata/unhide_f8_ntlm2_raw.hex");
const UNHIDE_F10: &str = include_str!("testdata/unhide_f10_ntlm3_raw.hex");
const ADUSER1_F10: &str = include_str!("testdata/aduser1_f10_ntlm2_raw.hex");
const ADUSER1_F11: &str = include_str!("testdata/aduser1_f11_ntlm3_anon_raw.hex");

const ALL: [&str; 10] = [
    WEBDAV_F18,
    WEBDAV_F19,
    WEBDAV_F21,
    ARKIME_F58,
    ARKIME_F60,
    ARKIME_F62,
    UNHIDE_F8,
    UNHIDE_F10,
    ADUSER1_F10,
    ADUSER1_F11,
];

fn dec(hex: &str) -> NtlmMessage {
    match decode(&from_hex(hex)) {
        Ok(m) => m,
        Err(e) => panic!("fixture does not decode: {e}"),
    }
}

#[test]
fn webdav_http_ntlm_exchange() {
    // ndpi__webdav.pcap frames 18/19/21 (HTTP Authorization / WWW-Authenticate: NTLM);
    // tshark: flags 0x028a8206 (OEM, not UNICODE), target DLP-TEST-R5, Version 10.0.20348,
    // user WebDAV, domain www.dlp-test.com, host ivan-Latitude-E6540, NTLMv2 response 168.
    let m1 = dec(WEBDAV_F18);
    assert_eq!((m1.message_type, m1.flags_raw.as_str()), (1, "0x00088206"));
    assert_eq!((m1.domain.clone(), m1.version.clone()), (None, None));

    let m2 = dec(WEBDAV_F19);
    assert_eq!(m2.message_type, 2);
    assert_eq!(m2.flags_raw, "0x028a8206");
    assert_eq!(m2.target_name.as_deref(), Some("DLP-TEST-R5"));
    let v = m2
        .version
        .as_ref()
        .map(|v| (v.major, v.minor, v.build, v.ntlm_revision));
    assert_eq!(v, Some((10, 0, 20348, 15)));
    let av = m2.av_pairs.clone().unwrap_or_default();
    assert_eq!(av.nb_domain.as_deref(), Some("DLP-TEST-R5"));
    assert_eq!(av.dns_computer.as_deref(), Some("DLP-TEST-R5"));
    assert!(av.timestamp_present && !av.truncated);

    let m3 = dec(WEBDAV_F21);
    assert_eq!(m3.message_type, 3);
    assert_eq!(m3.user.as_deref(), Some("WebDAV"));
    assert_eq!(m3.domain.as_deref(), Some("www.dlp-test.com"));
    assert_eq!(m3.workstation.as_deref(), Some("ivan-Latitude-E6540"));
    assert_eq!(m3.ntlm_version, Some("NTLMv2"));
    assert_eq!(
        (m3.lm_response_len, m3.nt_response_len),
        (Some(24), Some(168))
    );
    // Version flag set, but the payload starts at 64: no Version, no MIC, empty key.
    assert_eq!(m3.version, None);
    assert!(!m3.mic_present && !m3.session_key_present && !m3.lossy);
}

#[test]
fn smb2_ntlmv2_with_mic_and_target_spn() {
    // ntlmrawunhide__capture.pcap frames 8 and 10 (SMB2 SessionSetup, SPNEGO-wrapped);
    // tshark: target DESKTOP-O8EBV5I, Version 10.0.18362; AUTH WORKGROUP\mikeg from KALI,
    // NT response 310, session key, Version 6.1.0, MsvAvFlags 0x2, Target Name cifs/10.1.10.36.
    let m2 = dec(UNHIDE_F8);
    assert_eq!(m2.target_name.as_deref(), Some("DESKTOP-O8EBV5I"));
    assert_eq!(m2.version.as_ref().map(|v| v.build), Some(18362));

    let m3 = dec(UNHIDE_F10);
    assert_eq!(m3.flags_raw, "0x62088215");
    assert_eq!(
        (
            m3.domain.as_deref(),
            m3.user.as_deref(),
            m3.workstation.as_deref()
        ),
        (Some("WORKGROUP"), Some("mikeg"), Some("KALI"))
    );
    assert_eq!(
        (m3.ntlm_version, m3.nt_response_len),
        (Some("NTLMv2"), Some(310))
    );
    assert!(m3.mic_present && m3.session_key_present);
    let v = m3.version.as_ref().map(|v| (v.major, v.minor, v.build));
    assert_eq!(v, Some((6, 1, 0)));
    let av = m3.av_pairs.clone().unwrap_or_default();
    assert_eq!(av.target_spn.as_deref(), Some("cifs/10.1.10.36"));
    assert_eq!(av.av_flags, vec!["mic-present"]);
    assert!(av.timestamp_present && av.single_host_present);
    assert_eq!(av.channel_bindings_nonzero, Some(false));
    assert!(m3.flags.contains(&"key-exch") && m3.flags.contains(&"unicode"));
}

#[test]
fn anonymous_authenticate_and_domain_challenge() {
    // zeek__ldap__aduser1.pcap frames 10/11 (SMB2): tshark shows CHALLENGE target ADHACKING,
    // DNS tree ADHACKING.local, computer WIN-VGO56I95EAK.ADHACKING.local; the AUTH has
    // LM response 1 byte, NT response empty, NULL names and a 16-byte session key.
    let m2 = dec(ADUSER1_F10);
    assert_eq!(m2.target_name.as_deref(), Some("ADHACKING"));
    let av = m2.av_pairs.clone().unwrap_or_default();
    assert_eq!(av.dns_tree.as_deref(), Some("ADHACKING.local"));
    assert_eq!(
        av.dns_computer.as_deref(),
        Some("WIN-VGO56I95EAK.ADHACKING.local")
    );
    assert!(m2.flags.contains(&"target-type-domain"));

    let m3 = dec(ADUSER1_F11);
    assert_eq!(m3.ntlm_version, Some("anonymous"));
    assert_eq!((m3.lm_response_len, m3.nt_response_len), (Some(1), Some(0)));
    assert_eq!(
        (m3.user.clone(), m3.domain.clone(), m3.workstation.clone()),
        (None, None, None)
    );
    assert!(m3.session_key_present && !m3.mic_present && m3.av_pairs.is_none());
    assert_eq!(m3.flags_raw, "0xe0888235");
}

#[test]
fn negotiate_header_with_raw_ntlm_over_ipv6() {
    // arkime__ntlm_synthetic.pcap frames 58/60/62: "Negotiate <raw NTLMSSP>" over IPv6;
    // tshark: NEGOTIATE domain HTTP6DOM, host HTTP6HOST, Version 6.3.9600; CHALLENGE target
    // HTTP6TGT; AUTH HTTP6DOM\eve from HTTP6HOST with 24-byte responses and an all-zero MIC.
    let m1 = dec(ARKIME_F58);
    assert_eq!(
        (m1.domain.as_deref(), m1.workstation.as_deref()),
        (Some("HTTP6DOM"), Some("HTTP6HOST"))
    );
    assert_eq!(m1.version.as_ref().map(|v| v.build), Some(9600));
    let m2 = dec(ARKIME_F60);
    assert_eq!(m2.target_name.as_deref(), Some("HTTP6TGT"));
    assert_eq!(m2.av_pairs.as_ref().map(|a| a.truncated), Some(false));
    let m3 = dec(ARKIME_F62);
    assert_eq!(m3.user.as_deref(), Some("eve"));
    assert_eq!(m3.domain.as_deref(), Some("HTTP6DOM"));
    assert_eq!(m3.workstation.as_deref(), Some("HTTP6HOST"));
    assert_eq!(m3.ntlm_version, Some("NTLMv1"));
    assert!(!m3.mic_present && m3.session_key_present);
}

#[test]
fn no_secret_bytes_in_output() {
    // The unhide AUTH carries session key f8e7cede... and MIC ad679632...; neither may
    // reach the serialised form.
    let json = serde_json::to_string(&dec(UNHIDE_F10)).unwrap_or_default();
    assert!(json.contains("\"user\":\"mikeg\""));
    for secret in ["f8e7cede", "ad679632", "8e1f5a2c"] {
        assert!(!json.contains(secret), "{secret} leaked: {json}");
    }
}

#[test]
fn every_prefix_decodes_without_panic() {
    for hex in ALL {
        let full = from_hex(hex);
        for cut in 0..full.len() {
            // Shorter than the payload end must never succeed with a buffer past the end.
            let _ = decode(&full[..cut]);
        }
        assert!(decode(&full).is_ok());
    }
    assert_eq!(
        decode(b"NTLM").err(),
        Some(NtlmError::Truncated { needed: 8 })
    );
    assert_eq!(decode(b"HTTP/1.1").err(), Some(NtlmError::NotNtlmssp));
}
