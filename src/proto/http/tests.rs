//! Tests on TCP streams cut from the public captures with
//! `tshark -r FILE -q -z follow,tcp,raw,STREAM` (client and server halves under `testdata/`),
//! asserting what tshark shows for the same frames (`http.authorization`,
//! `http.www_authenticate`, `http.content_length`, request methods and status codes).

use super::*;

/// ndpi__webdav.pcap tcp.stream 1 (frames 18-22): MKCOL with NTLM types 1 and 3, a 401 with
/// NTLM type 2 and a 405, on one keep-alive connection.
const WEBDAV_MKCOL_C: &[u8] = include_bytes!("testdata/webdav_mkcol.client.bin");
const WEBDAV_MKCOL_S: &[u8] = include_bytes!("testdata/webdav_mkcol.server.bin");
/// ndpi__webdav.pcap tcp.stream 0 (frames 4-9): two PROPFINDs, a 301 and a 207.
const WEBDAV_PROPFIND_C: &[u8] = include_bytes!("testdata/webdav_propfind.client.bin");
const WEBDAV_PROPFIND_S: &[u8] = include_bytes!("testdata/webdav_propfind.server.bin");
/// zeek__erspan.pcap tcp.stream 0 (GRE-encapsulated): NTLM to a SharePoint host, 7 GETs; the
/// server half has a capture gap inside a 38209-byte body (frame 260: "previous segment not
/// captured"), so the next response starts at stream offset 9894.
const ERSPAN_C: &[u8] = include_bytes!("testdata/erspan_ntlm.client.bin");
const ERSPAN_S: &[u8] = include_bytes!("testdata/erspan_ntlm.server.bin");
/// arkime__ntlm_synthetic.pcap tcp.stream 4 (IPv6, frames 58-64): "Negotiate <raw NTLMSSP>".
const ARKIME_C: &[u8] = include_bytes!("testdata/arkime_negotiate_v6.client.bin");
const ARKIME_S: &[u8] = include_bytes!("testdata/arkime_negotiate_v6.server.bin");
/// pcapplusplus__nanosecs_big_endian.pcap tcp.stream 0 (frames 4, 8): GET / and 200.
const NANOSECS_C: &[u8] = include_bytes!("testdata/nanosecs_get.client.bin");
const NANOSECS_S: &[u8] = include_bytes!("testdata/nanosecs_get.server.bin");
/// zeek__http-vlan-0.pcap tcp.stream 0 (frames 4, 9): plain GET and 200.
const VLAN0_C: &[u8] = include_bytes!("testdata/vlan0_get.client.bin");
const VLAN0_S: &[u8] = include_bytes!("testdata/vlan0_get.server.bin");

const ALL_STREAMS: [&[u8]; 12] = [
    WEBDAV_MKCOL_C,
    WEBDAV_MKCOL_S,
    WEBDAV_PROPFIND_C,
    WEBDAV_PROPFIND_S,
    ERSPAN_C,
    ERSPAN_S,
    ARKIME_C,
    ARKIME_S,
    NANOSECS_C,
    NANOSECS_S,
    VLAN0_C,
    VLAN0_S,
];

/// What one message in a walked stream looked like.
#[derive(Debug)]
struct Seen {
    /// Method or status code as text.
    start: String,
    host: Option<String>,
    /// (header name lower-cased, full value) of every auth header.
    auth: Vec<(String, String)>,
    framing: BodyFraming,
}

/// Walk one direction of a connection like the lead's per-connection code would: head, body,
/// head, ... `request_methods` pairs responses with requests. Returns the messages and the
/// offset where walking stopped.
fn walk(stream: &[u8], request_methods: &[String]) -> (Vec<Seen>, usize) {
    let mut seen = Vec::new();
    let mut pos = 0usize;
    while let Some(rest) = stream.get(pos..).filter(|r| !r.is_empty()) {
        let Ok((head, head_len)) = parse_head(rest) else {
            break;
        };
        let start = match head.start {
            StartLine::Request { method, .. } => method.to_string(),
            StartLine::Response { status, .. } => status.to_string(),
        };
        let method = request_methods.get(seen.len()).map(String::as_str);
        let framing = head.body_framing(method);
        let auth = head
            .headers
            .iter()
            .filter(|(name, _)| AUTH_HEADERS.iter().any(|a| a.eq_ignore_ascii_case(name)))
            .map(|(name, value)| (name.to_ascii_lowercase(), value.to_string()))
            .collect();
        seen.push(Seen {
            start,
            host: head.host().map(str::to_string),
            auth,
            framing,
        });
        pos += head_len;
        match framing {
            BodyFraming::None => {}
            BodyFraming::ContentLength(n) => {
                pos = pos.saturating_add(usize::try_from(n).unwrap_or(usize::MAX));
            }
            BodyFraming::Chunked => {
                let mut decoder = ChunkedDecoder::new();
                match decoder.feed(stream.get(pos..).unwrap_or_default()) {
                    Ok((used, true)) => pos += used,
                    _ => break,
                }
            }
            BodyFraming::UntilClose => pos = stream.len(),
        }
    }
    (seen, pos.min(stream.len()))
}

fn methods(seen: &[Seen]) -> Vec<String> {
    seen.iter().map(|s| s.start.clone()).collect()
}

/// The NTLMSSP message type carried by an auth value's token (MS-NLMP §2.2: "NTLMSSP\0" then
/// a little-endian u32 type).
fn ntlm_type(value: &str) -> Option<u8> {
    let challenge = parse_auth(value).into_iter().next()?;
    let token = challenge.token?;
    if !token.starts_with(b"NTLMSSP\0") {
        return None;
    }
    token.get(8).copied()
}

#[test]
fn webdav_ntlm_keep_alive() {
    let (requests, used) = walk(WEBDAV_MKCOL_C, &[]);
    assert_eq!(used, WEBDAV_MKCOL_C.len());
    assert_eq!(methods(&requests), vec!["MKCOL", "MKCOL"]);
    assert_eq!(requests[0].host.as_deref(), Some("www.dlp-test.com"));
    // tshark frames 18 and 21: http.authorization of 49 and 401 characters.
    let auth: Vec<&(String, String)> = requests.iter().flat_map(|r| &r.auth).collect();
    assert_eq!(auth.len(), 2);
    assert_eq!(auth[0].0, "authorization");
    assert_eq!(
        auth[0].1,
        "NTLM TlRMTVNTUAABAAAABoIIAAAAAAAAAAAAAAAAAAAAAAA="
    );
    assert_eq!(auth[1].1.len(), 401);
    assert_eq!(ntlm_type(&auth[0].1), Some(1));
    assert_eq!(ntlm_type(&auth[1].1), Some(3));
    let type3 = parse_auth(&auth[1].1);
    assert_eq!(type3[0].token_b64_len, 396);

    let (responses, used) = walk(WEBDAV_MKCOL_S, &methods(&requests));
    assert_eq!(
        used,
        WEBDAV_MKCOL_S.len(),
        "bodies of 341 and 1293 bytes skipped exactly"
    );
    assert_eq!(methods(&responses), vec!["401", "405"]);
    assert_eq!(responses[0].framing, BodyFraming::ContentLength(341));
    assert_eq!(responses[1].framing, BodyFraming::ContentLength(1293));
    // tshark frame 19: http.www_authenticate of 257 characters, NTLM type 2.
    assert_eq!(responses[0].auth.len(), 1);
    assert_eq!(responses[0].auth[0].0, "www-authenticate");
    assert_eq!(responses[0].auth[0].1.len(), 257);
    assert_eq!(ntlm_type(&responses[0].auth[0].1), Some(2));
    assert!(responses[1].auth.is_empty());
}

#[test]
fn webdav_propfind_bodies() {
    let (requests, used) = walk(WEBDAV_PROPFIND_C, &[]);
    assert_eq!(used, WEBDAV_PROPFIND_C.len());
    assert_eq!(methods(&requests), vec!["PROPFIND", "PROPFIND"]);
    let (responses, used) = walk(WEBDAV_PROPFIND_S, &methods(&requests));
    assert_eq!(used, WEBDAV_PROPFIND_S.len());
    assert_eq!(methods(&responses), vec!["301", "207"]);
    assert_eq!(responses[0].framing, BodyFraming::ContentLength(315));
    assert_eq!(responses[1].framing, BodyFraming::ContentLength(838));
}

#[test]
fn erspan_ntlm_and_gap_resync() {
    let (requests, used) = walk(ERSPAN_C, &[]);
    assert_eq!(used, ERSPAN_C.len());
    assert_eq!(requests.len(), 7);
    assert!(requests.iter().all(|r| r.start == "GET"));
    // tshark frames 100 and 102: http.authorization of 61 and 589 characters.
    assert_eq!(requests[0].auth[0].1.len(), 61);
    assert_eq!(requests[1].auth[0].1.len(), 589);
    assert_eq!(ntlm_type(&requests[0].auth[0].1), Some(1));
    assert_eq!(ntlm_type(&requests[1].auth[0].1), Some(3));

    let (responses, _) = walk(ERSPAN_S, &methods(&requests));
    assert_eq!(
        methods(&responses).get(..3),
        Some(&["401", "302", "200"].map(String::from)[..])
    );
    // tshark frame 101: http.www_authenticate of 233 characters, NTLM type 2; Content-Length 0.
    assert_eq!(responses[0].auth[0].1.len(), 233);
    assert_eq!(ntlm_type(&responses[0].auth[0].1), Some(2));
    assert_eq!(responses[0].framing, BodyFraming::ContentLength(0));
    assert_eq!(responses[1].framing, BodyFraming::ContentLength(162));
    assert_eq!(responses[2].framing, BodyFraming::ContentLength(38209));

    // The 38209-byte body is cut by the gap: resynchronise on the next status line. (tshark's
    // follow output marks the gap with "[102162 bytes missing in capture file]\0", so the
    // status line sits right after a NUL, as it would after binary body bytes.)
    let after_third_head = 1095 + 20;
    let next = find_message_start(ERSPAN_S.get(after_third_head..).unwrap_or_default());
    assert_eq!(next.map(|n| n + after_third_head), Some(9894));
    let (resumed, used) = walk(ERSPAN_S.get(9894..).unwrap_or_default(), &[]);
    assert_eq!(methods(&resumed), vec!["200"]);
    // tshark frame 260: http.content_length 7325, and the stream ends with that body.
    assert_eq!(resumed[0].framing, BodyFraming::ContentLength(7325));
    assert_eq!(9894 + used, ERSPAN_S.len());
}

#[test]
fn arkime_negotiate_carrying_raw_ntlm_over_ipv6() {
    let (requests, _) = walk(ARKIME_C, &[]);
    assert_eq!(methods(&requests), vec!["GET", "GET"]);
    // tshark frames 58 and 62: "Negotiate TlRM..." of 86 and 266 characters.
    let first = &requests[0].auth[0].1;
    assert_eq!(first.len(), 86);
    let parsed = parse_auth(first);
    assert_eq!(parsed[0].scheme, "Negotiate");
    assert_eq!(parsed[0].token_b64_len, 76);
    assert_eq!(ntlm_type(first), Some(1));
    assert_eq!(ntlm_type(&requests[1].auth[0].1), Some(3));
    assert_eq!(requests[1].auth[0].1.len(), 266);

    let (responses, used) = walk(ARKIME_S, &methods(&requests));
    assert_eq!(used, ARKIME_S.len());
    assert_eq!(methods(&responses), vec!["401", "200"]);
    // tshark frame 60: http.www_authenticate "Negotiate TlRM..." of 114 characters.
    assert_eq!(responses[0].auth[0].1.len(), 114);
    assert_eq!(ntlm_type(&responses[0].auth[0].1), Some(2));
    assert_eq!(responses[1].framing, BodyFraming::ContentLength(3));
}

#[test]
fn plain_get_and_200() {
    for (client, server, host, length) in [
        (NANOSECS_C, NANOSECS_S, "127.0.0.1:8000", 1256),
        (VLAN0_C, VLAN0_S, "bro.org", 4705),
    ] {
        let (requests, used) = walk(client, &[]);
        assert_eq!(used, client.len());
        assert_eq!(methods(&requests), vec!["GET"]);
        assert_eq!(requests[0].host.as_deref(), Some(host));
        assert!(requests[0].auth.is_empty());
        let (responses, used) = walk(server, &methods(&requests));
        assert_eq!(used, server.len());
        assert_eq!(methods(&responses), vec!["200"]);
        assert_eq!(responses[0].framing, BodyFraming::ContentLength(length));
    }
    assert!(looks_like_request_or_status(NANOSECS_C));
    assert!(looks_like_request_or_status(VLAN0_S));
}

#[test]
fn every_prefix_needs_more_never_fails() {
    for stream in ALL_STREAMS {
        let (_, first_head_len) = parse_head(stream).unwrap_or_else(|e| panic!("{e}"));
        for cut in 0..first_head_len {
            let prefix = stream.get(..cut).unwrap_or_default();
            assert_eq!(
                parse_head(prefix).err(),
                Some(HeadError::NeedMore),
                "cut {cut}"
            );
        }
        assert!(looks_like_request_or_status(stream));
        assert_eq!(find_message_start(stream), Some(0));
    }
}

#[test]
fn pipelined_requests_in_one_buffer() {
    let buf = b"GET /a HTTP/1.1\r\nHost: x\r\n\r\nPOST /b HTTP/1.1\r\nHost: x\r\nContent-Length: 3\r\n\r\nabcHEAD /c HTTP/1.1\r\nHost: y\r\n\r\n";
    let (seen, used) = walk(buf, &[]);
    assert_eq!(used, buf.len());
    assert_eq!(methods(&seen), vec!["GET", "POST", "HEAD"]);
    assert_eq!(seen[2].host.as_deref(), Some("y"));
}

#[test]
fn chunked_response_then_next() {
    let buf = b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n0\r\n\r\nHTTP/1.1 204 No Content\r\n\r\n";
    let (seen, used) = walk(buf, &["GET".into(), "GET".into()]);
    assert_eq!(used, buf.len());
    assert_eq!(methods(&seen), vec!["200", "204"]);
    assert_eq!(seen[0].framing, BodyFraming::Chunked);
    assert_eq!(seen[1].framing, BodyFraming::None);
}

#[test]
fn two_www_authenticate_headers() {
    let buf = b"HTTP/1.1 401 Unauthorized\r\nWWW-Authenticate: Negotiate\r\nwww-authenticate: NTLM\r\nWWW-Authenticate: Basic realm=\"corp\"\r\nContent-Length: 0\r\n\r\n";
    let (head, len) = parse_head(buf).unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(len, buf.len());
    let schemes: Vec<String> = head
        .headers_named("WWW-Authenticate")
        .flat_map(parse_auth)
        .map(|c| c.scheme)
        .collect();
    assert_eq!(schemes, vec!["Negotiate", "NTLM", "Basic"]);
    assert_eq!(head.header("www-authenticate"), Some("Negotiate"));
    assert_eq!(
        head.start,
        StartLine::Response {
            version: "HTTP/1.1",
            status: 401,
            reason: "Unauthorized"
        }
    );
}

#[test]
fn bare_lf_fold_and_leading_empty_lines() {
    let buf = b"\r\n\nGET http://proxy.example:8080/x?y HTTP/1.0\nX-Long: one\n  two\nAuthorization : Negotiate YII=\n\nrest";
    let (head, len) = parse_head(buf).unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(len, buf.len() - 4);
    assert_eq!(head.host(), Some("proxy.example:8080"));
    assert_eq!(head.header("x-long"), Some("one\n  two"));
    assert_eq!(head.header("authorization"), Some("Negotiate YII="));
    for anomaly in [
        "leading_empty_lines",
        "bare_lf",
        "obs_fold",
        "space_before_colon",
    ] {
        assert!(
            head.anomalies.contains(&anomaly),
            "{anomaly}: {:?}",
            head.anomalies
        );
    }
    let (head, _) = parse_head(b"HTTP/1.0 200\n\n").unwrap_or_else(|e| panic!("{e}"));
    assert!(matches!(
        head.start,
        StartLine::Response {
            status: 200,
            reason: "",
            ..
        }
    ));
}

#[test]
fn limits() {
    let mut big = b"GET / HTTP/1.1\r\nX: ".to_vec();
    big.extend(std::iter::repeat_n(b'a', MAX_HEAD_LEN));
    assert_eq!(parse_head(&big).err(), Some(HeadError::TooLarge));
    big.truncate(MAX_HEAD_LEN - 10);
    assert_eq!(parse_head(&big).err(), Some(HeadError::NeedMore));

    let mut many = b"GET / HTTP/1.1\r\n".to_vec();
    for i in 0..300 {
        many.extend_from_slice(format!("H{i}: v\r\n").as_bytes());
    }
    many.extend_from_slice(b"\r\n");
    let (head, len) = parse_head(&many).unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(len, many.len());
    assert_eq!(head.headers.len(), MAX_HEADERS);
    assert!(head.anomalies.contains(&"too_many_headers"));

    let long_line = [b"GET /".as_slice(), &[b'a'; 20_000]].concat();
    assert_eq!(parse_head(&long_line).err(), Some(HeadError::TooLarge));
}

#[test]
fn limits_are_exact() {
    // A head of exactly MAX_HEAD_LEN bytes is read; one byte more is TooLarge.
    let head_of = |len: usize| {
        let mut h = b"GET / HTTP/1.1\r\nX: ".to_vec();
        h.resize(len - 4, b'a');
        h.extend_from_slice(b"\r\n\r\n");
        h
    };
    let exact = head_of(MAX_HEAD_LEN);
    assert_eq!(parse_head(&exact).map(|(_, n)| n).ok(), Some(MAX_HEAD_LEN));
    assert_eq!(
        parse_head(&head_of(MAX_HEAD_LEN + 1)).err(),
        Some(HeadError::TooLarge)
    );
    // MAX_HEADERS fields are all kept; one more is dropped and flagged.
    let fields = |n: usize| {
        let mut h = b"GET / HTTP/1.1\r\n".to_vec();
        for i in 0..n {
            h.extend_from_slice(format!("H{i}: v\r\n").as_bytes());
        }
        h.extend_from_slice(b"\r\n");
        h
    };
    let at = fields(MAX_HEADERS);
    let (head, _) = parse_head(&at).unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(head.headers.len(), MAX_HEADERS);
    assert!(!head.anomalies.contains(&"too_many_headers"));
    let over = fields(MAX_HEADERS + 1);
    let (head, _) = parse_head(&over).unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(head.headers.len(), MAX_HEADERS);
    let last = format!("H{}", MAX_HEADERS - 1);
    assert_eq!(head.headers.last().map(|h| h.0), Some(last.as_str()));
    assert!(head.anomalies.contains(&"too_many_headers"));
}

#[test]
fn garbage_is_malformed_at_once() {
    let cases: [&[u8]; 7] = [
        b"\x16\x03\x01\x00\xa5\x01\x00\x00\xa1\x03\x03",
        b"SSH-2.0-OpenSSH_9.6\r\n",
        b"PRI * HTTP/2.0\r\n\r\n",
        b"HTTP/1.1 OK\r\n\r\n",
        b"GET /\r\n\r\n",
        b"GET / HTTP/1.1 \xff\r\n\r\n",
        b"GET /\x01 HTTP/1.1\r\n\r\n",
    ];
    for case in cases {
        assert!(
            matches!(parse_head(case), Err(HeadError::Malformed { .. })),
            "{case:?} -> {:?}",
            parse_head(case).map(|(h, n)| (h.start, n))
        );
    }
    // Header lines that are not fields are skipped and counted, not fatal.
    let (head, _) =
        parse_head(b"GET / HTTP/1.1\r\nno colon\r\n(bad): x\r\nH: \xff\r\nOk: 1\r\n\r\n")
            .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(head.headers, vec![("Ok", "1")]);
    for anomaly in ["header_without_colon", "bad_header_name", "non_utf8_header"] {
        assert!(head.anomalies.contains(&anomaly), "{anomaly}");
    }
}

#[test]
fn mutated_streams_never_panic() {
    let mut state: u64 = 0x9e37_79b9_7f4a_7c15;
    for stream in ALL_STREAMS {
        let sample = stream.get(..stream.len().min(1500)).unwrap_or_default();
        for _ in 0..200 {
            let mut bytes = sample.to_vec();
            for _ in 0..6 {
                state ^= state << 13;
                state ^= state >> 7;
                state ^= state << 17;
                let at = (state as usize) % bytes.len();
                if let Some(byte) = bytes.get_mut(at) {
                    *byte = [b'\r', b'\n', b':', b' ', b',', b'"', (state >> 40) as u8]
                        [(state >> 56) as usize % 7];
                }
            }
            let _ = walk(&bytes, &[]);
            let _ = find_message_start(&bytes);
            let _ = looks_like_request_or_status(&bytes);
            if let Ok((head, _)) = parse_head(&bytes) {
                for value in AUTH_HEADERS.iter().flat_map(|h| head.headers_named(h)) {
                    let _ = parse_auth(value);
                }
            }
        }
    }
}
