//! The Kerberos V5 GSS-API mechanism's context tokens (RFC 4121 §4.1, RFC 1964 §1.2) and
//! IAKERB proxy tokens (draft-ietf-kitten-iakerb §3), plus bare Kerberos messages that
//! Windows puts in SPNEGO and DCE/RPC without any GSS framing.
//!
//! ```text
//! framed:  [APPLICATION 0] { thisMech OID, TOK_ID (2 bytes, big-endian), body }
//!          TOK_ID 01 00 AP-REQ | 02 00 AP-REP | 03 00 KRB-ERROR      (RFC 4121 §4.1)
//!                 04 00 TGT-REQ | 04 01 TGT-REP                      (user-to-user)
//!                 01 01 MIC | 02 01 Wrap | 01 02 delete              (RFC 1964, framed)
//!                 04 04 MIC | 05 04 Wrap                              (RFC 4121 §4.2, unframed)
//!                 05 01 IAKERB proxy: IAKERB-HEADER then a KDC message
//! IAKERB-HEADER ::= SEQUENCE { target-realm [1] UTF8String, cookie [2] OCTET STRING OPTIONAL, ... }
//! bare:    an AP-REQ [APPLICATION 14], AP-REP [APPLICATION 15], KRB-ERROR [APPLICATION 30], ...
//! ```

use serde::Serialize;

use super::mech::Mech;
use crate::proto::der::{self, Class};
use crate::proto::kerberos::{self, KrbMessage};

/// RFC 4121 TOK_ID, the two bytes read big-endian (`01 00` is 0x0100).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct TokId(pub u16);

impl TokId {
    pub const AP_REQ: TokId = TokId(0x0100);
    pub const AP_REP: TokId = TokId(0x0200);
    pub const ERROR: TokId = TokId(0x0300);
    pub const TGT_REQ: TokId = TokId(0x0400);
    pub const TGT_REP: TokId = TokId(0x0401);
    pub const MIC_RFC1964: TokId = TokId(0x0101);
    pub const WRAP_RFC1964: TokId = TokId(0x0201);
    pub const DELETE_RFC1964: TokId = TokId(0x0102);
    pub const MIC: TokId = TokId(0x0404);
    pub const WRAP: TokId = TokId(0x0504);
    pub const IAKERB_PROXY: TokId = TokId(0x0501);

    pub fn name(self) -> &'static str {
        TOK_ID_NAMES
            .iter()
            .find(|(id, _)| *id == self)
            .map_or("unknown", |&(_, name)| name)
    }

    /// Tokens whose body is a Kerberos message for `kerberos::decode`.
    fn carries_krb_message(self) -> bool {
        matches!(
            self,
            TokId::AP_REQ | TokId::AP_REP | TokId::ERROR | TokId::IAKERB_PROXY
        )
    }
}

const TOK_ID_NAMES: [(TokId, &str); 11] = [
    (TokId::AP_REQ, "ap-req"),
    (TokId::AP_REP, "ap-rep"),
    (TokId::ERROR, "error"),
    (TokId::TGT_REQ, "tgt-req"),
    (TokId::TGT_REP, "tgt-rep"),
    (TokId::MIC_RFC1964, "mic-rfc1964"),
    (TokId::WRAP_RFC1964, "wrap-rfc1964"),
    (TokId::DELETE_RFC1964, "delete-context"),
    (TokId::MIC, "mic"),
    (TokId::WRAP, "wrap"),
    (TokId::IAKERB_PROXY, "iakerb-proxy"),
];

/// Kerberos message types by their APPLICATION tag (RFC 4120 §5.10), for bare messages.
const BARE_MESSAGE_NAMES: [(u32, &str); 10] = [
    (10, "as-req"),
    (11, "as-rep"),
    (12, "tgs-req"),
    (13, "tgs-rep"),
    (14, "ap-req"),
    (15, "ap-rep"),
    (20, "krb-safe"),
    (21, "krb-priv"),
    (22, "krb-cred"),
    (30, "error"),
];

/// A Kerberos context token, framed or bare.
#[derive(Clone, Debug, Default, Serialize)]
pub struct Krb5Token {
    /// The GSS mechanism; `None` for a bare Kerberos message without GSS framing.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub mech: Option<Mech>,
    /// The TOK_ID name (`ap-req`, `ap-rep`, `error`, `tgt-req`, `iakerb-proxy`, `wrap-rfc1964`,
    /// ...); for a bare message, its Kerberos message type in the same spelling.
    pub tok_id: &'static str,
    /// The TOK_ID bytes as hex (`0100`), framed tokens only.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub tok_id_hex: Option<String>,
    /// IAKERB: the realm the client asked the proxy to reach.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub iakerb_target_realm: Option<String>,
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    pub iakerb_cookie: bool,
    /// Boxed: a Kerberos summary is far larger than the other token variants.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub message: Option<Box<KrbMessage>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub decode_error: Option<String>,
    /// The message's outer length runs past the token (counted, not shown).
    #[serde(skip)]
    pub limit: Option<super::LimitHit>,
}

impl Krb5Token {
    /// The token kind used in events (`krb5-ap-req`, `krb5-ap-rep`, `krb5-error`, `krb5-other`).
    pub fn kind(&self) -> &'static str {
        match self.tok_id {
            "ap-req" => "krb5-ap-req",
            "ap-rep" => "krb5-ap-rep",
            "error" => "krb5-error",
            _ => "krb5-other",
        }
    }
}

/// Whether `first` opens a bare Kerberos message ([APPLICATION n] constructed, known n).
pub fn is_bare_kerberos(first: u8) -> bool {
    first & 0xe0 == 0x60 && bare_name(u32::from(first & 0x1f)).is_some()
}

fn bare_name(tag: u32) -> Option<&'static str> {
    BARE_MESSAGE_NAMES
        .iter()
        .find(|(t, _)| *t == tag)
        .map(|&(_, name)| name)
}

/// A bare Kerberos message (the caller checked `is_bare_kerberos`).
pub fn bare(bytes: &[u8]) -> Krb5Token {
    let tag = bytes.first().map_or(0, |b| u32::from(b & 0x1f));
    let mut token = Krb5Token {
        tok_id: bare_name(tag).unwrap_or("unknown"),
        ..Krb5Token::default()
    };
    decode_message(&mut token, bytes);
    token
}

/// A framed token: `inner` is what follows thisMech. Errors only when TOK_ID is missing.
pub fn framed(mech: Mech, inner: &[u8]) -> Result<Krb5Token, &'static str> {
    let Some((&[hi, lo], body)) = inner.split_first_chunk::<2>() else {
        return Err("krb5 token shorter than its TOK_ID");
    };
    let tok_id = TokId(u16::from_be_bytes([hi, lo]));
    let mut token = Krb5Token {
        mech: Some(mech),
        tok_id: tok_id.name(),
        tok_id_hex: Some(format!("{hi:02x}{lo:02x}")),
        ..Krb5Token::default()
    };
    if !tok_id.carries_krb_message() {
        return Ok(token);
    }
    let mut message = body;
    if tok_id == TokId::IAKERB_PROXY {
        match der::read_tlv(body) {
            Ok((header, rest)) if header.is(Class::Universal, 16) => {
                read_iakerb_header(&mut token, header.value);
                message = rest;
            }
            Ok(_) => {
                token.decode_error = Some("IAKERB-HEADER is not a SEQUENCE".to_string());
                return Ok(token);
            }
            Err(e) => {
                token.decode_error = Some(format!("IAKERB-HEADER: {e}"));
                return Ok(token);
            }
        }
    }
    decode_message(&mut token, message);
    Ok(token)
}

fn read_iakerb_header(token: &mut Krb5Token, fields: &[u8]) {
    for field in der::children(fields).map_while(Result::ok) {
        match (field.class, field.tag) {
            (Class::Context, 1) => {
                if let Ok((realm, _)) = der::read_tlv(field.value) {
                    token.iakerb_target_realm =
                        Some(String::from_utf8_lossy(realm.value).into_owned());
                }
            }
            (Class::Context, 2) => token.iakerb_cookie = true,
            _ => {}
        }
    }
}

fn decode_message(token: &mut Krb5Token, bytes: &[u8]) {
    if bytes.is_empty() {
        token.decode_error = Some("no Kerberos message after the TOK_ID".to_string());
        return;
    }
    match kerberos::decode(bytes) {
        Ok(message) => token.message = Some(Box::new(message)),
        Err(e) => {
            if matches!(
                der::read_tlv(bytes),
                Err(der::DerError::LengthBeyondInput { .. })
            ) {
                token.limit = Some(super::LimitHit::LengthBeyondInput);
            }
            token.decode_error = Some(e.to_string());
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tok_ids_and_bare_tags() {
        assert_eq!(TokId(0x0100).name(), "ap-req");
        assert_eq!(TokId(0x0300).name(), "error");
        assert_eq!(TokId(0x0501).name(), "iakerb-proxy");
        assert_eq!(TokId(0x7777).name(), "unknown");
        assert!(is_bare_kerberos(0x6e) && is_bare_kerberos(0x6f) && is_bare_kerberos(0x7e));
        assert!(!is_bare_kerberos(0x60) && !is_bare_kerberos(0x30) && !is_bare_kerberos(0x7f));
        assert_eq!(bare(&[0x7e, 0x00]).kind(), "krb5-error");
        let mech = Mech::from_oid("1.2.840.113554.1.2.2".into());
        assert_eq!(
            framed(mech.clone(), &[0x01]).err(),
            Some("krb5 token shorter than its TOK_ID")
        );
        let wrap = framed(mech, &[0x02, 0x01, 0x11, 0x00]).unwrap_or_default();
        assert_eq!(
            (wrap.kind(), wrap.tok_id, wrap.decode_error),
            ("krb5-other", "wrap-rfc1964", None)
        );
    }
}
