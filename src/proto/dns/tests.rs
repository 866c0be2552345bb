//! Tests on DNS payloads cut from the public captures with
//! `tshark -r FILE -Y frame.number==N -T fields -e udp.payload` (stored under `testdata/`),
//! asserting what tshark shows for the same frame (`dns.qry.name`, `dns.cname`, `dns.a`, ...).

use super::*;
use std::net::IpAddr;

/// zeek__pcapng-multi-interface.pcapng frame 2: the www.apple.com answer with a 3-step chain.
const APPLE: &[u8] = include_bytes!("testdata/apple_cname_chain.bin");
/// zeek__pcapng-multi-interface.pcapng frame 1: the query for it (with an OPT record).
const APPLE_QUERY: &[u8] = include_bytes!("testdata/apple_query.bin");
/// zeek__pcapng-multi-interface.pcapng frame 6: google.com AAAA answer.
const GOOGLE_AAAA: &[u8] = include_bytes!("testdata/google_aaaa.bin");
/// zeek__dns-two-responses.pcap frame 2: www.cmu.edu, CNAMEs, RRSIG, NS and glue, EDNS DO.
const CMU: &[u8] = include_bytes!("testdata/cmu_response.bin");
/// sv__dns-additionals-with-cname.pcap frame 2 (raw IPv4): a CNAME in the additional section.
const ADDITIONAL_CNAME: &[u8] = include_bytes!("testdata/additional_cname.bin");
/// pcapplusplus__null_loopback.pcap frame 3: one CNAME then 16 A records whose owner differs
/// in case from the CNAME target ("...L.google.com").
const GOOGLE_ANALYTICS: &[u8] = include_bytes!("testdata/google_analytics.bin");
/// zeek__ipv6-fragmented-dns.pcap frame 8: a 3230-byte TXT answer reassembled from IPv6
/// fragments (frames 6-8).
const TXT_REASSEMBLED: &[u8] = include_bytes!("testdata/txt_reassembled.bin");
/// pcapplusplus__raw_ip.pcap frames 52 and 71: two CNAME chains.
const CRL_MICROSOFT: &[u8] = include_bytes!("testdata/crl_microsoft.bin");
const YNET: &[u8] = include_bytes!("testdata/ynet.bin");

const ALL: [&[u8]; 9] = [
    APPLE,
    APPLE_QUERY,
    GOOGLE_AAAA,
    CMU,
    ADDITIONAL_CNAME,
    GOOGLE_ANALYTICS,
    TXT_REASSEMBLED,
    CRL_MICROSOFT,
    YNET,
];

fn decoded(bytes: &[u8]) -> DnsMessage {
    match decode(bytes) {
        Ok(msg) => msg,
        Err(e) => panic!("decode failed: {e}"),
    }
}

fn ip(text: &str) -> IpAddr {
    text.parse().unwrap_or(IpAddr::from([0, 0, 0, 0]))
}

/// tshark's `dns.cname` column: every CNAME target, comma-joined.
fn cname_column(msg: &DnsMessage) -> String {
    msg.cname_targets().join(",")
}

#[test]
fn apple_three_step_chain() {
    let msg = decoded(APPLE);
    assert_eq!(msg.id, 0x4fe8);
    assert!(msg.response);
    assert_eq!(msg.opcode, Opcode::QUERY);
    assert!(msg.rcode == "NOERROR");
    assert_eq!(msg.flags, vec!["rd", "ra"]);
    assert_eq!(msg.qname.as_deref(), Some("www.apple.com"));
    assert_eq!(msg.qtype, Some(RrType::A));
    assert_eq!(msg.answers.len(), 4);
    assert_eq!(
        cname_column(&msg),
        "www-apple-com.v.aaplimg.com,www.apple.com.edgekey.net,e6858.dsce9.akamaiedge.net"
    );
    let chain = msg.cname_chain();
    let expected = [
        ("www.apple.com", "www-apple-com.v.aaplimg.com"),
        ("www-apple-com.v.aaplimg.com", "www.apple.com.edgekey.net"),
        ("www.apple.com.edgekey.net", "e6858.dsce9.akamaiedge.net"),
    ];
    assert_eq!(chain.len(), 3);
    for ((alias, canonical), (want_alias, want_canonical)) in chain.iter().zip(expected) {
        assert_eq!(
            (alias.as_str(), canonical.as_str()),
            (want_alias, want_canonical)
        );
    }
    assert_eq!(msg.answers[0].ttl, 271);
    assert_eq!(msg.answers[3].ttl, 9);
    assert_eq!(
        msg.addresses_for("www.apple.com"),
        vec![ip("23.194.101.24")]
    );
    assert_eq!(
        msg.addresses_for("WWW.APPLE.COM."),
        vec![ip("23.194.101.24")]
    );
    assert_eq!(msg.additional.len(), 1);
    assert_eq!(msg.additional[0].rtype, RrType::OPT);
    assert_eq!(msg.additional[0].name, ".");
    assert_eq!(
        msg.additional[0].data,
        "udp_payload_size=1232 ext_rcode=0 version=0 do=0"
    );
    assert!(msg.anomalies.is_empty(), "{:?}", msg.anomalies);
}

#[test]
fn apple_query() {
    let msg = decoded(APPLE_QUERY);
    assert_eq!(msg.id, 0x4fe8);
    assert!(!msg.response);
    assert_eq!(msg.qname.as_deref(), Some("www.apple.com"));
    assert!(msg.answers.is_empty());
    assert!(msg.cname_chain().is_empty());
    assert!(msg.anomalies.is_empty());
}

#[test]
fn google_aaaa_addresses() {
    let msg = decoded(GOOGLE_AAAA);
    assert_eq!(msg.qname.as_deref(), Some("google.com"));
    assert_eq!(msg.qtype, Some(RrType::AAAA));
    let want: Vec<IpAddr> = [
        "2607:f8b0:4023:2007::66",
        "2607:f8b0:4023:2007::8b",
        "2607:f8b0:4023:2007::71",
        "2607:f8b0:4023:2007::8a",
    ]
    .iter()
    .map(|a| ip(a))
    .collect();
    assert_eq!(msg.addresses_for("google.com"), want);
}

#[test]
fn cmu_chain_with_rrsig_ns_and_glue() {
    let msg = decoded(CMU);
    assert_eq!(msg.id, 0x5294);
    assert_eq!(msg.flags, vec!["aa", "cd"]); // tshark: flags 0x8410
    assert_eq!(
        cname_column(&msg),
        "WWW-CMU.ANDREW.cmu.edu,WWW-CMU-2.ANDREW.cmu.edu"
    );
    assert_eq!(msg.cname_chain().len(), 2);
    assert_eq!(msg.answers[1].rtype, RrType::RRSIG);
    assert!(msg.answers[1].data.ends_with(" bytes>"));
    assert_eq!(msg.answers[2].ttl, 5);
    assert_eq!(msg.addresses_for("www.cmu.edu"), vec![ip("128.2.10.163")]);
    let ns: Vec<&str> = msg.authority.iter().map(|r| r.data.as_str()).collect();
    assert_eq!(ns, vec!["NSAUTH1.NET.cmu.edu", "NSAUTH2.NET.cmu.edu"]);
    assert_eq!(msg.authority[0].name, "ANDREW.cmu.edu");
    assert_eq!(msg.additional.len(), 4);
    assert_eq!(msg.additional[1].data, "2607:fb28::4");
    // EDNS Z 0x8000: the DO bit.
    assert_eq!(
        msg.additional[3].data,
        "udp_payload_size=4096 ext_rcode=0 version=0 do=1"
    );
    assert!(msg.anomalies.is_empty(), "{:?}", msg.anomalies);
}

#[test]
fn cname_in_additional_section() {
    let msg = decoded(ADDITIONAL_CNAME);
    assert_eq!(msg.id, 0);
    assert_eq!(msg.qname.as_deref(), Some("example.com"));
    assert_eq!(cname_column(&msg), "internal-service.example.net");
    assert!(
        msg.cname_chain().is_empty(),
        "the CNAME is not for the qname"
    );
    let chain = msg.chain_from("service.example.com");
    assert_eq!(
        chain,
        vec![(
            "service.example.com".to_string(),
            "internal-service.example.net".to_string()
        )]
    );
    assert_eq!(msg.additional[0].ttl, 300);
    assert_eq!(msg.addresses_for("example.com"), vec![ip("192.168.1.1")]);
}

#[test]
fn chain_end_matches_case_insensitively() {
    let msg = decoded(GOOGLE_ANALYTICS);
    assert_eq!(msg.answers.len(), 17);
    assert_eq!(cname_column(&msg), "www-google-analytics.l.google.com");
    assert_eq!(msg.answers[1].name, "www-google-analytics.L.google.com");
    let addresses = msg.addresses_for("www.google-analytics.com");
    assert_eq!(addresses.len(), 16);
    assert_eq!(addresses.first(), Some(&ip("212.199.219.237")));
    assert_eq!(addresses.last(), Some(&ip("212.199.219.236")));
}

#[test]
fn reassembled_txt_answer() {
    let msg = decoded(TXT_REASSEMBLED);
    assert_eq!(msg.id, 0x9f91);
    assert_eq!(
        msg.qname.as_deref(),
        Some("txtpadding_3230.n1.netalyzr.icsi.berkeley.edu")
    );
    assert_eq!(msg.qtype, Some(RrType::TXT));
    assert_eq!(msg.answers.len(), 1);
    let txt = &msg.answers[0].data;
    assert!(
        txt.starts_with("\"This TXT record should be ignored\" \"As it is just padding\" \"XXX")
    );
    // tshark lists 18 strings (lengths 33, 21, 15 x 189, 192).
    assert_eq!(txt.matches("\" \"").count(), 17);
    assert_eq!(msg.authority.len(), 1);
    assert_eq!(msg.authority[0].data, "roland.icir.org");
    assert_eq!(msg.additional.len(), 2);
    assert!(msg.anomalies.is_empty(), "{:?}", msg.anomalies);
}

#[test]
fn raw_ip_chains() {
    let msg = decoded(CRL_MICROSOFT);
    assert_eq!(msg.qname.as_deref(), Some("crl.microsoft.com"));
    assert_eq!(
        cname_column(&msg),
        "crl.www.ms.akadns.net,a1363.dscg.akamai.net"
    );
    assert_eq!(msg.cname_chain().len(), 2);
    assert_eq!(
        msg.addresses_for("crl.microsoft.com"),
        vec![ip("82.102.152.19"), ip("82.102.152.18")]
    );
    let msg = decoded(YNET);
    assert_eq!(
        cname_column(&msg),
        "www.ynet.co.il.edgekey.net,e12476.b.akamaiedge.net"
    );
    assert_eq!(
        msg.addresses_for("www.ynet.co.il"),
        vec![ip("23.221.143.117")]
    );
}

#[test]
fn every_prefix_decodes_without_panic() {
    for fixture in ALL {
        for cut in 0..fixture.len() {
            let prefix = fixture.get(..cut).unwrap_or_default();
            match decode(prefix) {
                Err(DnsError::Truncated { needed }) => {
                    assert!(cut < HEADER_LEN);
                    assert_eq!(needed, HEADER_LEN - cut);
                }
                Ok(msg) => {
                    assert!(cut >= HEADER_LEN);
                    assert!(msg.anomalies.contains(&"truncated"), "cut {cut}");
                }
            }
        }
        assert!(!decoded(fixture).anomalies.contains(&"truncated"));
    }
}

#[test]
fn mutated_fixtures_never_panic() {
    // Deterministic xorshift so a failure reproduces.
    let mut state: u64 = 0x2545_f491_4f6c_dd1d;
    for fixture in ALL {
        for _ in 0..400 {
            let mut bytes = fixture.to_vec();
            for _ in 0..4 {
                state ^= state << 13;
                state ^= state >> 7;
                state ^= state << 17;
                let at = (state as usize) % bytes.len();
                if let Some(byte) = bytes.get_mut(at) {
                    *byte = (state >> 32) as u8;
                }
            }
            let _ = decode(&bytes).map(|m| (m.cname_chain(), m.addresses_for("x")));
            let _ = looks_like_dns(&bytes);
        }
    }
}

#[test]
fn huge_counts_do_not_allocate_or_fail() {
    let msg = decoded(b"\x12\x34\x81\x80\xff\xff\xff\xff\xff\xff\xff\xff");
    assert!(msg.questions.is_empty());
    assert_eq!(msg.anomalies, vec!["truncated"]);
    // Counts of zero and trailing garbage.
    let msg = decoded(b"\x12\x34\x81\x80\x00\x00\x00\x00\x00\x00\x00\x00junk");
    assert_eq!(msg.anomalies, vec!["trailing_bytes"]);
}

#[test]
fn name_loop_in_question_keeps_the_answers() {
    // Question name = pointer to itself (offset 12); one answer A record owned by the question.
    let mut msg = b"\xab\xcd\x81\x80\x00\x01\x00\x01\x00\x00\x00\x00".to_vec();
    msg.extend_from_slice(b"\xc0\x0c\x00\x01\x00\x01");
    msg.extend_from_slice(b"\xc0\x0c\x00\x01\x00\x01\x00\x00\x00\x3c\x00\x04\x0a\x01\x02\x03");
    let decoded = decoded(&msg);
    assert_eq!(decoded.anomalies, vec!["name_loop"]);
    assert_eq!(decoded.qname.as_deref(), Some("."));
    assert_eq!(decoded.answers.len(), 1);
    assert_eq!(decoded.answers[0].data, "10.1.2.3");
    assert_eq!(decoded.answers[0].ttl, 60);
}

#[test]
fn cname_loop_is_safe() {
    // a.x CNAME b.x, b.x CNAME a.x (crafted; same header as a response with 2 answers).
    let mut msg = b"\x00\x01\x81\x80\x00\x01\x00\x02\x00\x00\x00\x00".to_vec();
    msg.extend_from_slice(b"\x01a\x01x\x00\x00\x05\x00\x01"); // question at 12: a.x
    msg.extend_from_slice(b"\xc0\x0c\x00\x05\x00\x01\x00\x00\x00\x01\x00\x04\x01b\xc0\x0e");
    msg.extend_from_slice(b"\x01b\xc0\x0e\x00\x05\x00\x01\x00\x00\x00\x01\x00\x02\xc0\x0c");
    let decoded = decoded(&msg);
    assert!(decoded.anomalies.is_empty(), "{:?}", decoded.anomalies);
    let chain = decoded.cname_chain();
    assert_eq!(
        chain,
        vec![
            ("a.x".to_string(), "b.x".to_string()),
            ("b.x".to_string(), "a.x".to_string())
        ]
    );
    assert!(decoded.addresses_for("a.x").is_empty());
}

#[test]
fn extended_rcode_from_opt() {
    // NOERROR in the header, ext_rcode 1 in OPT: BADVERS (16).
    let mut msg = b"\x00\x02\x81\x80\x00\x00\x00\x00\x00\x00\x00\x01".to_vec();
    msg.extend_from_slice(b"\x00\x00\x29\x04\xd0\x01\x00\x00\x00\x00\x00");
    let decoded = decoded(&msg);
    assert_eq!(decoded.rcode, Rcode::BADVERS);
    assert_eq!(decoded.rcode.to_string(), "BADVERS");
    let nx = decoded_rcode(b"\x00\x02\x81\x83\x00\x00\x00\x00\x00\x00\x00\x00");
    assert!(nx == "NXDOMAIN");
}

fn decoded_rcode(bytes: &[u8]) -> Rcode {
    decoded(bytes).rcode
}

#[test]
fn serialises_names_and_skips_empty() {
    let json = serde_json::to_value(decoded(APPLE_QUERY)).unwrap_or_default();
    assert_eq!(json["rcode"], "NOERROR");
    assert_eq!(json["opcode"], "QUERY");
    assert_eq!(json["qtype"], "A");
    assert_eq!(json["response"], false);
    assert!(json.get("answers").is_none());
    assert!(json.get("anomalies").is_none());
    let json = serde_json::to_value(decoded(APPLE)).unwrap_or_default();
    assert_eq!(json["answers"][0]["rtype"], "CNAME");
    assert_eq!(json["answers"][0]["data"], "www-apple-com.v.aaplimg.com");
}

#[test]
fn tcp_record_framing() {
    assert_eq!(tcp_record(b""), Err(RecordError::NeedMore { needed: 2 }));
    assert_eq!(
        tcp_record(b"\x00"),
        Err(RecordError::NeedMore { needed: 1 })
    );
    assert!(matches!(
        tcp_record(b"\x00\x05hello"),
        Err(RecordError::Malformed { offset: 0, .. })
    ));
    let mut stream = Vec::new();
    for message in [APPLE, CMU] {
        stream.extend_from_slice(&(message.len() as u16).to_be_bytes());
        stream.extend_from_slice(message);
    }
    let (first, used) = tcp_record(&stream).unwrap_or((&[], 0));
    assert_eq!((first, used), (APPLE, APPLE.len() + 2));
    let rest = stream.get(used..).unwrap_or_default();
    assert_eq!(
        tcp_record(rest).map(|(m, n)| (m.len(), n)),
        Ok((CMU.len(), CMU.len() + 2))
    );
    let partial = rest.get(..100).unwrap_or_default();
    assert_eq!(
        tcp_record(partial),
        Err(RecordError::NeedMore {
            needed: CMU.len() + 2 - 100
        })
    );
}

#[test]
fn probe() {
    for fixture in ALL {
        assert!(looks_like_dns(fixture));
    }
    assert!(!looks_like_dns(b"GET / HTTP/1.1\r\nHost: x\r\n\r\n"));
    assert!(!looks_like_dns(
        b"\x16\x03\x01\x02\x00\x01\x00\x01\xfc\x03\x03\x00"
    ));
    assert!(!looks_like_dns(APPLE.get(..11).unwrap_or_default()));
    assert!(!looks_like_dns(&[0u8; 40]));
    // Header promising far more records than the bytes hold.
    assert!(!looks_like_dns(
        b"\x00\x01\x01\x00\x00\x01\x00\x20\x00\x00\x00\x00\x01a\x00\x00\x01\x00\x01"
    ));
}

/// What `retain_resolution` keeps answers every resolution question exactly as the full
/// message did (chains from the qname and from any name, addresses at every chain end), and
/// drops the records tshark shows that do not resolve a name (RRSIG, NS, OPT here).
#[test]
fn retain_resolution_keeps_chains_and_addresses() {
    for bytes in [
        APPLE,
        CMU,
        ADDITIONAL_CNAME,
        GOOGLE_AAAA,
        GOOGLE_ANALYTICS,
        CRL_MICROSOFT,
        YNET,
    ] {
        let full = decoded(bytes);
        let mut small = full.clone();
        small.retain_resolution();
        assert_eq!(small.qname, full.qname);
        assert_eq!(small.cname_chain(), full.cname_chain());
        let mut names: Vec<&str> = full.answers.iter().map(|r| r.name.as_str()).collect();
        names.extend(full.additional.iter().map(|r| r.name.as_str()));
        names.extend(full.qname.as_deref());
        for name in names {
            assert_eq!(small.chain_from(name), full.chain_from(name), "{name}");
            assert_eq!(
                small.addresses_for(name),
                full.addresses_for(name),
                "{name}"
            );
        }
        let kept = |m: &DnsMessage| {
            m.answers
                .iter()
                .chain(&m.authority)
                .chain(&m.additional)
                .filter(|r| matches!(r.rtype, RrType::A | RrType::AAAA | RrType::CNAME))
                .map(|r| (r.name.clone(), r.data.clone()))
                .collect::<Vec<_>>()
        };
        assert_eq!(kept(&small), kept(&full));
        assert!(small.questions.is_empty() && small.flags.is_empty());
    }
    let mut cmu = decoded(CMU);
    cmu.retain_resolution();
    assert!(cmu.authority.is_empty(), "NS records: {:?}", cmu.authority);
    assert!(cmu.answers.iter().all(|r| r.rtype != RrType::RRSIG));
    let additional: Vec<RrType> = cmu.additional.iter().map(|r| r.rtype).collect();
    assert_eq!(
        additional,
        vec![RrType::A, RrType::AAAA, RrType::A],
        "glue stays, OPT goes"
    );
}
