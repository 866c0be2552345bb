//! CredSSP tokens (MS-CSSP 3.1.5) as WinRM carries them in `Authorization: CredSSP <base64>`:
//! each token is a run of TLS records (RFC 5246 §6.2.1, RFC 8446 §5.1). Only the record layer
//! is readable: the handshake messages before ChangeCipherSpec, and the fact that application
//! data follows. The TSRequest (MS-CSSP 2.2.1) with its SPNEGO / Kerberos / NTLM token, and the
//! delegated credentials after it, travel inside TLS application data and stay encrypted, so a
//! capture shows whether the TLS channel came up, not how the inner authentication went; the
//! HTTP status that answers the last leg (200 or 401) tells that.
//!
//! ```text
//! TLSPlaintext: ContentType u8 (20 ccs, 21 alert, 22 handshake, 23 application_data)
//!               | ProtocolVersion u16 | length u16 | fragment
//! Handshake:    HandshakeType u8 | length u24 | body   (several may share one record)
//! ```

use serde::Serialize;

/// Records listed per token; more are counted.
const MAX_RECORDS: usize = 16;
/// Handshake messages listed per record.
const MAX_HANDSHAKES: usize = 8;

fn content_type_name(t: u8) -> &'static str {
    match t {
        20 => "change_cipher_spec",
        21 => "alert",
        22 => "handshake",
        23 => "application_data",
        _ => "unknown",
    }
}

fn handshake_name(t: u8) -> &'static str {
    match t {
        1 => "client_hello",
        2 => "server_hello",
        4 => "new_session_ticket",
        8 => "encrypted_extensions",
        11 => "certificate",
        12 => "server_key_exchange",
        13 => "certificate_request",
        14 => "server_hello_done",
        15 => "certificate_verify",
        16 => "client_key_exchange",
        20 => "finished",
        _ => "unknown",
    }
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct TlsRecord {
    pub content_type: &'static str,
    /// Record-layer version, `0x0303` for TLS 1.2 (and 1.3, which keeps that value).
    pub version: String,
    pub length: usize,
    /// Handshake messages of a plaintext handshake record; a handshake record after
    /// ChangeCipherSpec is encrypted (the Finished message) and lists none.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub handshake: Vec<&'static str>,
    /// Plaintext alert: level and description numbers (RFC 5246 §7.2).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub alert: Option<(u8, u8)>,
}

#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize)]
pub struct CredsspToken {
    /// `tls-handshake` (the channel is being set up), `tls-application-data` (TSRequest
    /// exchange, encrypted), `tls-alert` or `not-tls`.
    pub phase: &'static str,
    pub records: Vec<TlsRecord>,
    /// Records beyond the listed ones.
    #[serde(skip_serializing_if = "is_zero")]
    pub more_records: usize,
    /// The last record runs past the token (a cut or corrupted token).
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    pub truncated: bool,
}

fn is_zero(n: &usize) -> bool {
    *n == 0
}

/// Read the TLS records of one CredSSP token. Never fails.
pub fn decode(token: &[u8]) -> CredsspToken {
    let mut out = CredsspToken::default();
    let mut rest = token;
    let mut encrypted = false;
    while !rest.is_empty() {
        let Some(hdr) = rest.get(..5) else {
            out.truncated = true;
            break;
        };
        let (ctype, major) = (hdr.first().copied(), hdr.get(1).copied());
        let be16 = |at: usize| {
            hdr.get(at..at + 2)
                .and_then(|v| <[u8; 2]>::try_from(v).ok())
                .map_or(0, u16::from_be_bytes)
        };
        let (version, length) = (be16(1), usize::from(be16(3)));
        let (Some(ctype), Some(3)) = (ctype, major) else {
            if out.records.is_empty() {
                out.phase = "not-tls";
                return out;
            }
            out.truncated = true;
            break;
        };
        let Some(body) = rest.get(5..5 + length) else {
            out.truncated = true;
            break;
        };
        rest = rest.get(5 + length..).unwrap_or_default();
        if out.records.len() >= MAX_RECORDS {
            out.more_records += 1;
            continue;
        }
        let mut rec = TlsRecord {
            content_type: content_type_name(ctype),
            version: format!("0x{version:04x}"),
            length,
            handshake: Vec::new(),
            alert: None,
        };
        match ctype {
            20 => encrypted = true,
            21 if !encrypted && body.len() == 2 => {
                rec.alert = Some((
                    body.first().copied().unwrap_or(0),
                    body.get(1).copied().unwrap_or(0),
                ));
            }
            22 if !encrypted => rec.handshake = handshakes(body),
            _ => {}
        }
        out.records.push(rec);
    }
    let has = |t: &str| out.records.iter().any(|r| r.content_type == t);
    out.phase = if has("application_data") {
        "tls-application-data"
    } else if has("alert") {
        "tls-alert"
    } else if out.records.is_empty() {
        "not-tls"
    } else {
        "tls-handshake"
    };
    out
}

fn handshakes(mut body: &[u8]) -> Vec<&'static str> {
    let mut names = Vec::new();
    while let Some(h) = body.get(..4) {
        if names.len() >= MAX_HANDSHAKES {
            break;
        }
        names.push(handshake_name(h.first().copied().unwrap_or(0)));
        let len = h.get(1..4).map_or(0, |l| {
            l.iter().fold(0usize, |acc, &b| acc << 8 | usize::from(b))
        });
        body = body.get(4 + len..).unwrap_or_default();
    }
    names
}

#[cfg(test)]
mod tests {
    use super::*;

    fn record(ctype: u8, body: &[u8]) -> Vec<u8> {
        let mut r = vec![ctype, 3, 3];
        r.extend((body.len() as u16).to_be_bytes());
        r.extend(body);
        r
    }

    #[test]
    fn handshake_then_application_data() {
        // Leg 1: ClientHello. Leg 2: ServerHello + Certificate + ServerHelloDone in one record.
        let hello = record(22, &[1, 0, 0, 2, 0xaa, 0xbb]);
        let t = decode(&hello);
        assert_eq!(
            (t.phase, t.records[0].handshake.clone()),
            ("tls-handshake", vec!["client_hello"])
        );
        let server = record(22, &[2, 0, 0, 1, 0, 11, 0, 0, 0, 14, 0, 0, 0]);
        assert_eq!(
            decode(&server).records[0].handshake,
            vec!["server_hello", "certificate", "server_hello_done"]
        );
        // Leg 3: ClientKeyExchange, ChangeCipherSpec, encrypted Finished: no names after CCS.
        let leg3 = [
            record(22, &[16, 0, 0, 0]),
            record(20, &[1]),
            record(22, &[0x99; 40]),
        ]
        .concat();
        let t = decode(&leg3);
        assert_eq!(t.records.len(), 3);
        assert!(t.records[2].handshake.is_empty());
        // Leg 4: application data (the encrypted TSRequest).
        let t = decode(&record(23, &[0x55; 100]));
        assert_eq!(
            (t.phase, t.records[0].length),
            ("tls-application-data", 100)
        );
    }

    #[test]
    fn alerts_cuts_and_garbage() {
        let t = decode(&record(21, &[2, 40]));
        assert_eq!((t.phase, t.records[0].alert), ("tls-alert", Some((2, 40))));
        let full = record(23, &[0x55; 100]);
        for cut in 1..full.len() {
            let t = decode(&full[..cut]);
            assert!(t.truncated && t.records.is_empty(), "cut {cut}");
        }
        assert_eq!(decode(b"NTLMSSP\0\x01\0\0\0").phase, "not-tls");
        assert_eq!(decode(&[]).phase, "not-tls");
        let many: Vec<u8> = (0..40).flat_map(|_| record(23, &[1])).collect();
        let t = decode(&many);
        assert_eq!(
            (t.records.len(), t.more_records),
            (MAX_RECORDS, 40 - MAX_RECORDS)
        );
    }
}
