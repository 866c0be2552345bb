//! Finding the raw AP-REQ (or AP-REP, KRB-ERROR) inside a GSS-API token (RFC 2743 §3.1 framing, RFC 4121 §4.1 TOK_ID,
//! RFC 4178 SPNEGO), so its ticket and authenticator can be opened. `proto::gss` decodes the
//! same tokens into summaries without ciphertext; this walker only returns a slice.

use crate::proto::der::{self, Class, MAX_DEPTH};
use crate::proto::gss::mech::{Mech, SPNEGO_OID};

/// RFC 4121 §4.1 TOK_IDs of tokens whose body is a Kerberos message: AP-REQ, AP-REP, KRB-ERROR.
const TOK_IDS: [[u8; 2]; 3] = [[0x01, 0x00], [0x02, 0x00], [0x03, 0x00]];
/// APPLICATION tags below this are not messages (RFC 4120 §5.10).
const FIRST_MESSAGE_TAG: u32 = 10;
const AP_REQ_TAG: u32 = 14;
/// NegTokenInit / NegTokenResp field that holds the mechanism token.
const MECH_TOKEN_TAG: u32 = 2;

/// The AP-REQ (`[APPLICATION 14]` element, header included) inside a Negotiate / Kerberos GSS
/// token, or the token itself when it is a bare AP-REQ.
pub fn ap_req_bytes(token: &[u8]) -> Option<&[u8]> {
    krb_message_bytes(token)
        .filter(|m| der::read_tlv(m).is_ok_and(|(t, _)| t.is(Class::Application, AP_REQ_TAG)))
}

/// The Kerberos message (AP-REQ, AP-REP, KRB-ERROR, ...) inside a GSS token, header included.
pub fn krb_message_bytes(token: &[u8]) -> Option<&[u8]> {
    walk(token, 0)
}

fn walk(token: &[u8], depth: usize) -> Option<&[u8]> {
    if depth > MAX_DEPTH {
        return None;
    }
    let (tlv, _) = der::read_tlv(token).ok()?;
    match (tlv.class, tlv.tag) {
        (Class::Application, tag) if tag >= FIRST_MESSAGE_TAG => token.get(..tlv.total_len()),
        (Class::Application, 0) => {
            let (oid, rest) = der::read_tlv(tlv.value).ok()?;
            if !oid.is(Class::Universal, 6) {
                return None;
            }
            let oid = der::oid_to_string(oid.value)?;
            if oid == SPNEGO_OID {
                walk(rest, depth + 1)
            } else if Mech::from_oid(oid).is_kerberos() {
                let (id, body) = rest.split_first_chunk::<2>()?;
                if TOK_IDS.contains(id) {
                    walk(body, depth + 1)
                } else {
                    None
                }
            } else {
                None
            }
        }
        // NegTokenInit [0] / NegTokenResp [1]: SEQUENCE { ..., [2] OCTET STRING token, ... }
        (Class::Context, 0 | 1) => {
            let (seq, _) = der::read_tlv(tlv.value).ok()?;
            der::children(seq.value)
                .filter_map(Result::ok)
                .find(|f| f.is(Class::Context, MECH_TOKEN_TAG))
                .and_then(|f| der::read_tlv(f.value).ok())
                .filter(|(octets, _)| octets.is(Class::Universal, 4))
                .and_then(|(octets, _)| walk(octets.value, depth + 1))
        }
        _ => None,
    }
}
