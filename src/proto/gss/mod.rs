//! GSS-API tokens as carried by HTTP `Negotiate`, SMB security blobs, LDAP SASL and DCE/RPC:
//! the initial-token framing of RFC 2743 §3.1, SPNEGO (RFC 4178, MS-SPNG), Kerberos context
//! tokens (RFC 4121 §4.1, IAKERB) and NTLMSSP (MS-NLMP, via `proto::ntlm`).
//!
//! ```text
//! InitialContextToken ::= [APPLICATION 0] IMPLICIT SEQUENCE {    -- 0x60
//!     thisMech            MechType (OID),
//!     innerContextToken   ANY DEFINED BY thisMech }
//! ```
//!
//! What `decode_token` accepts, by the first bytes:
//! `60` framed token (SPNEGO, krb5/IAKERB, NTLMSSP by OID); `a0`/`a1` a bare SPNEGO
//! NegTokenInit/NegTokenResp (responses never carry the framing); `6e`/`6f`/`7e`/... a bare
//! Kerberos message (Windows puts AP-REQ/AP-REP in SPNEGO and DCE/RPC unframed); `NTLMSSP\0`
//! raw NTLM (`Negotiate <NTLMSSP>` in HTTP, SMB1 extended security). Anything else is `Unknown`.
//! Nothing panics or fails: a broken token is `Malformed` with the offset (from the start of the
//! outermost token) and a reason.

pub mod krb5;
pub mod mech;
pub mod spnego;

use serde::{Serialize, Serializer};

use crate::proto::der::{self, Class, DerError, Tlv};
use crate::proto::kerberos::KrbMessage;
use crate::proto::ntlm::{self, NtlmError, NtlmMessage};

pub use krb5::{Krb5Token, TokId};
pub use mech::Mech;
pub use spnego::{NegState, NegTokenInit, NegTokenResp};

/// How many leading bytes of an unrecognised token are shown.
const UNKNOWN_PREVIEW_LEN: usize = 16;

/// One decoded token. Serialises as an object with `kind` (see [`GssToken::kind`]) followed by
/// the variant's fields.
#[derive(Clone, Debug)]
pub enum GssToken {
    SpnegoInit(NegTokenInit),
    SpnegoResp(NegTokenResp),
    Krb5(Krb5Token),
    Ntlm(NtlmMessage),
    Unknown {
        len: usize,
        first_bytes_hex: String,
    },
    /// `limit` is set when a resource limit stopped the decoder rather than a plain error.
    Malformed {
        offset: usize,
        what: String,
        limit: Option<LimitHit>,
    },
}

/// A resource limit that stopped decoding a token (each has a counter in the dissector stats).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum LimitHit {
    /// Tokens nested past [`der::MAX_DEPTH`] (SPNEGO inside SPNEGO ...).
    TooDeep,
    /// An ASN.1 length claims more bytes than the token holds ([`DerError::LengthBeyondInput`]).
    LengthBeyondInput,
}

/// Decode a GSS-API / SPNEGO / Kerberos / NTLMSSP token. Never fails.
pub fn decode_token(bytes: &[u8]) -> GssToken {
    Ctx {
        root: bytes,
        depth: 0,
    }
    .decode(bytes)
}

impl GssToken {
    /// `spnego-init`, `spnego-resp`, `krb5-ap-req`, `krb5-ap-rep`, `krb5-error`, `krb5-other`,
    /// `ntlmssp-1`, `ntlmssp-2`, `ntlmssp-3`, `unknown` or `malformed`.
    pub fn kind(&self) -> &'static str {
        match self {
            GssToken::SpnegoInit(_) => "spnego-init",
            GssToken::SpnegoResp(_) => "spnego-resp",
            GssToken::Krb5(t) => t.kind(),
            GssToken::Ntlm(m) => match m.message_type {
                1 => "ntlmssp-1",
                2 => "ntlmssp-2",
                3 => "ntlmssp-3",
                _ => "ntlmssp-other",
            },
            GssToken::Unknown { .. } => "unknown",
            GssToken::Malformed { .. } => "malformed",
        }
    }

    /// The mechanism token wrapped by SPNEGO, if any.
    pub fn inner(&self) -> Option<&GssToken> {
        match self {
            GssToken::SpnegoInit(t) => t.mech_token.as_deref(),
            GssToken::SpnegoResp(t) => t.response_token.as_deref(),
            _ => None,
        }
    }

    /// Kind of the mechanism token wrapped by SPNEGO.
    pub fn inner_kind(&self) -> Option<&'static str> {
        self.inner().map(GssToken::kind)
    }

    /// The Kerberos message inside, at any depth.
    pub fn kerberos(&self) -> Option<&KrbMessage> {
        match self {
            GssToken::Krb5(t) => t.message.as_deref(),
            _ => self.inner().and_then(GssToken::kerberos),
        }
    }

    /// The Kerberos context token inside, at any depth (TOK_ID, decode error, IAKERB realm).
    pub fn krb5(&self) -> Option<&Krb5Token> {
        match self {
            GssToken::Krb5(t) => Some(t),
            _ => self.inner().and_then(GssToken::krb5),
        }
    }

    /// The resource limit that stopped decoding this token or one nested in it, if any.
    pub fn limit_hit(&self) -> Option<LimitHit> {
        match self {
            GssToken::Malformed { limit, .. } => *limit,
            GssToken::Krb5(t) => t.limit,
            _ => self.inner().and_then(GssToken::limit_hit),
        }
    }

    /// The NTLMSSP message inside, at any depth.
    pub fn ntlm(&self) -> Option<&NtlmMessage> {
        match self {
            GssToken::Ntlm(m) => Some(m),
            _ => self.inner().and_then(GssToken::ntlm),
        }
    }
}

impl Serialize for GssToken {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        #[derive(Serialize)]
        struct Tagged<'a, T: Serialize> {
            kind: &'static str,
            #[serde(flatten)]
            body: &'a T,
        }
        #[derive(Serialize)]
        struct UnknownBody<'a> {
            len: usize,
            first_bytes_hex: &'a str,
        }
        #[derive(Serialize)]
        struct MalformedBody<'a> {
            offset: usize,
            what: &'a str,
            #[serde(skip_serializing_if = "Option::is_none")]
            limit: Option<LimitHit>,
        }
        let kind = self.kind();
        match self {
            GssToken::SpnegoInit(t) => Tagged { kind, body: t }.serialize(serializer),
            GssToken::SpnegoResp(t) => Tagged { kind, body: t }.serialize(serializer),
            GssToken::Krb5(t) => Tagged { kind, body: t }.serialize(serializer),
            GssToken::Ntlm(m) => Tagged { kind, body: m }.serialize(serializer),
            GssToken::Unknown {
                len,
                first_bytes_hex,
            } => Tagged {
                kind,
                body: &UnknownBody {
                    len: *len,
                    first_bytes_hex,
                },
            }
            .serialize(serializer),
            GssToken::Malformed {
                offset,
                what,
                limit,
            } => Tagged {
                kind,
                body: &MalformedBody {
                    offset: *offset,
                    what,
                    limit: *limit,
                },
            }
            .serialize(serializer),
        }
    }
}

/// Why a token could not be decoded, at an offset from the start of the outermost token.
pub(crate) struct Fault {
    offset: usize,
    what: String,
    limit: Option<LimitHit>,
}

/// Decoding context: the outermost token (for absolute offsets) and the nesting depth.
pub(crate) struct Ctx<'a> {
    root: &'a [u8],
    depth: usize,
}

impl<'a> Ctx<'a> {
    /// Where `sub` (a slice of `root`) starts within `root`.
    fn offset_of(&self, sub: &[u8]) -> usize {
        (sub.as_ptr() as usize).saturating_sub(self.root.as_ptr() as usize)
    }

    fn fault(&self, at: &[u8], what: &'static str) -> Fault {
        Fault {
            offset: self.offset_of(at),
            what: what.to_string(),
            limit: None,
        }
    }

    /// A fault at the identifier octet of `tlv`.
    fn fault_at(&self, tlv: &Tlv<'_>, what: &'static str) -> Fault {
        Fault {
            offset: self.offset_of(tlv.value).saturating_sub(tlv.header_len),
            what: what.to_string(),
            limit: None,
        }
    }

    /// `e` came from reading `input`.
    fn der_fault(&self, input: &[u8], e: DerError) -> Fault {
        let start = self.offset_of(input);
        match e {
            DerError::Malformed { offset, what } => Fault {
                offset: start + offset,
                what: what.to_string(),
                limit: None,
            },
            DerError::Incomplete { needed } => Fault {
                offset: start + input.len(),
                what: format!("truncated: {needed} more bytes needed"),
                limit: None,
            },
            DerError::LengthBeyondInput { offset, needed } => Fault {
                offset: start + offset,
                what: format!("length runs {needed} bytes past the token"),
                limit: Some(LimitHit::LengthBeyondInput),
            },
            DerError::TooDeep { offset } => Fault {
                offset: start + offset,
                what: "tokens nested too deep".to_string(),
                limit: Some(LimitHit::TooDeep),
            },
        }
    }

    fn read_tlv(&self, input: &'a [u8]) -> Result<Tlv<'a>, Fault> {
        der::read_tlv(input)
            .map(|(tlv, _)| tlv)
            .map_err(|e| self.der_fault(input, e))
    }

    /// Decode a token found inside this one (a mechToken or responseToken).
    fn decode_nested(&self, bytes: &'a [u8]) -> GssToken {
        Ctx {
            root: self.root,
            depth: self.depth + 1,
        }
        .decode(bytes)
    }

    fn decode(&self, bytes: &'a [u8]) -> GssToken {
        let result = match der::enter(self.depth, 0) {
            Err(e) => Err(self.der_fault(bytes, e)),
            Ok(()) => self.try_decode(bytes),
        };
        result.unwrap_or_else(|f| GssToken::Malformed {
            offset: f.offset,
            what: f.what,
            limit: f.limit,
        })
    }

    fn try_decode(&self, bytes: &'a [u8]) -> Result<GssToken, Fault> {
        let Some(&first) = bytes.first() else {
            return Err(self.fault(bytes, "empty token"));
        };
        if ntlm::is_ntlmssp(bytes) {
            return self.ntlm(bytes);
        }
        match first {
            0x60 => self.framed(bytes),
            0xa0 | 0xa1 => self.negotiation_token(bytes),
            b if krb5::is_bare_kerberos(b) => Ok(GssToken::Krb5(krb5::bare(bytes))),
            _ => Ok(unknown(bytes)),
        }
    }

    /// RFC 2743 §3.1 framing; bytes after the framed token (SMB padding) are ignored.
    fn framed(&self, bytes: &'a [u8]) -> Result<GssToken, Fault> {
        let token = self.read_tlv(bytes)?;
        if !token.constructed {
            return Err(self.fault_at(&token, "[APPLICATION 0] token is not constructed"));
        }
        let (oid, inner) =
            der::read_tlv(token.value).map_err(|e| self.der_fault(token.value, e))?;
        if !oid.is(Class::Universal, 6) {
            return Err(self.fault_at(&oid, "thisMech is not an OBJECT IDENTIFIER"));
        }
        let oid_text = der::oid_to_string(oid.value)
            .ok_or_else(|| self.fault(oid.value, "bad thisMech OBJECT IDENTIFIER"))?;
        let mech = Mech::from_oid(oid_text);
        if mech.oid == mech::SPNEGO_OID {
            return self.negotiation_token(inner);
        }
        if mech.is_kerberos() {
            return krb5::framed(mech, inner)
                .map(GssToken::Krb5)
                .map_err(|what| self.fault(inner, what));
        }
        if ntlm::is_ntlmssp(inner) {
            return self.ntlm(inner);
        }
        Ok(unknown(bytes))
    }

    /// SPNEGO NegotiationToken: `[0]` NegTokenInit or `[1]` NegTokenResp.
    fn negotiation_token(&self, bytes: &'a [u8]) -> Result<GssToken, Fault> {
        let choice = self.read_tlv(bytes)?;
        match (choice.class, choice.tag) {
            (Class::Context, 0) => {
                spnego::neg_token_init(self, choice.value).map(GssToken::SpnegoInit)
            }
            (Class::Context, 1) => {
                spnego::neg_token_resp(self, choice.value).map(GssToken::SpnegoResp)
            }
            _ => Err(self.fault_at(&choice, "SPNEGO token is neither [0] nor [1]")),
        }
    }

    fn ntlm(&self, bytes: &'a [u8]) -> Result<GssToken, Fault> {
        let start = self.offset_of(bytes);
        ntlm::decode(bytes).map(GssToken::Ntlm).map_err(|e| Fault {
            offset: match e {
                NtlmError::Malformed { offset, .. } => start + offset,
                _ => start + bytes.len(),
            },
            what: format!("NTLMSSP {e}"),
            limit: None,
        })
    }
}

fn unknown(bytes: &[u8]) -> GssToken {
    GssToken::Unknown {
        len: bytes.len(),
        first_bytes_hex: bytes
            .iter()
            .take(UNKNOWN_PREVIEW_LEN)
            .map(|b| format!("{b:02x}"))
            .collect(),
    }
}

#[cfg(test)]
mod fixture_tests;

#[cfg(test)]
mod tests {
    use super::*;

    /// One DER TLV with a short or two-byte long length.
    fn tlv(id: u8, content: &[u8]) -> Vec<u8> {
        let mut out = vec![id];
        match u8::try_from(content.len()) {
            Ok(n) if n < 0x80 => out.push(n),
            _ => {
                out.push(0x82);
                out.extend((content.len() as u16).to_be_bytes());
            }
        }
        out.extend(content);
        out
    }

    const SPNEGO: [u8; 6] = [0x2b, 0x06, 0x01, 0x05, 0x05, 0x02];
    const KRB5: [u8; 9] = [0x2a, 0x86, 0x48, 0x86, 0xf7, 0x12, 0x01, 0x02, 0x02];

    /// A framed NegTokenInit offering krb5 and carrying `mech_token`.
    fn spnego_init(mech_token: &[u8]) -> Vec<u8> {
        let mechs = tlv(0xa0, &tlv(0x30, &tlv(0x06, &KRB5)));
        let token = tlv(0xa2, &tlv(0x04, mech_token));
        let init = tlv(0xa0, &tlv(0x30, &[mechs, token].concat()));
        tlv(0x60, &[tlv(0x06, &SPNEGO), init].concat())
    }

    fn malformed(t: &GssToken) -> (usize, &str) {
        match t {
            GssToken::Malformed { offset, what, .. } => (*offset, what.as_str()),
            other => panic!("expected malformed, got {other:?}"),
        }
    }

    #[test]
    fn empty_garbage_and_foreign_mechs() {
        assert_eq!(malformed(&decode_token(&[])), (0, "empty token"));
        let t = decode_token(b"\x05\x01garbage");
        assert_eq!(t.kind(), "unknown");
        // A framed token for a mechanism we do not decode (SPKM 1.3.6.1.5.5.1.1).
        let spkm = tlv(
            0x60,
            &[tlv(0x06, &[0x2b, 6, 1, 5, 5, 1, 1]), vec![1, 2, 3]].concat(),
        );
        assert!(matches!(
            decode_token(&spkm),
            GssToken::Unknown { len: 14, .. }
        ));
        // thisMech must be an OID.
        let bad = tlv(0x60, &tlv(0x04, b"x"));
        assert_eq!(
            malformed(&decode_token(&bad)),
            (2, "thisMech is not an OBJECT IDENTIFIER")
        );
        // A krb5 token that stops inside TOK_ID.
        let short = tlv(0x60, &[tlv(0x06, &KRB5), vec![0x01]].concat());
        assert_eq!(
            malformed(&decode_token(&short)).1,
            "krb5 token shorter than its TOK_ID"
        );
        // SPNEGO choice [2] does not exist.
        let bad_choice = tlv(0x60, &[tlv(0x06, &SPNEGO), tlv(0xa2, &[])].concat());
        assert_eq!(
            malformed(&decode_token(&bad_choice)).1,
            "SPNEGO token is neither [0] nor [1]"
        );
    }

    #[test]
    fn inner_faults_report_absolute_offsets() {
        // NTLMSSP AUTHENTICATE whose user name points into its fixed header.
        let mut ntlm = b"NTLMSSP\0\x03\0\0\0".to_vec();
        ntlm.resize(64, 0);
        ntlm[36] = 2; // UserNameFields.Len
        ntlm[40] = 8; // UserNameFields.BufferOffset
        let token = spnego_init(&ntlm);
        let t = decode_token(&token);
        assert_eq!(t.kind(), "spnego-init");
        let ntlm_at = token.len() - ntlm.len();
        let inner = t.inner().map(malformed).unwrap_or_default();
        assert_eq!(inner.0, ntlm_at + 40);
        assert!(inner.1.starts_with("NTLMSSP malformed"), "{}", inner.1);
        // mechToken that is not an OCTET STRING.
        let mechs = tlv(0xa0, &tlv(0x30, &tlv(0x06, &KRB5)));
        let init = tlv(
            0xa0,
            &tlv(0x30, &[mechs, tlv(0xa2, &tlv(0x02, &[1]))].concat()),
        );
        let token = tlv(0x60, &[tlv(0x06, &SPNEGO), init].concat());
        let t = decode_token(&token);
        let expected = (token.len() - 3, "mechToken is not an OCTET STRING");
        assert_eq!(malformed(&t), expected);
        // A bare AP-REQ that is not a Kerberos message keeps the kind but records the error.
        let t = decode_token(&spnego_init(&[0x6e, 0x02, 0x05, 0x00]));
        assert_eq!(t.inner_kind(), Some("krb5-ap-req"));
        assert!(
            t.krb5()
                .is_some_and(|k| k.decode_error.is_some() && k.message.is_none())
        );
    }

    #[test]
    fn lengths_beyond_the_token_are_flagged_at_their_offset() {
        // A framed token claiming 0x7fffffff bytes, 40 bytes long: length octets at offset 1.
        let mut tok = vec![0x60, 0x84, 0x7f, 0xff, 0xff, 0xff];
        tok.resize(40, 0);
        let t = decode_token(&tok);
        assert_eq!(malformed(&t).0, 1);
        assert_eq!(t.limit_hit(), Some(LimitHit::LengthBeyondInput));
        // Inside SPNEGO: the mechToken OCTET STRING claims 1000 bytes and holds 3.
        let mechs = tlv(0xa0, &tlv(0x30, &tlv(0x06, &KRB5)));
        let bad = [&[0x04u8, 0x82, 0x03, 0xe8][..], b"abc"].concat();
        let init = tlv(0xa0, &tlv(0x30, &[mechs, tlv(0xa2, &bad)].concat()));
        let token = tlv(0x60, &[tlv(0x06, &SPNEGO), init].concat());
        let t = decode_token(&token);
        assert_eq!(t.limit_hit(), Some(LimitHit::LengthBeyondInput));
        // The fault points at the OCTET STRING's length octets.
        assert_eq!(malformed(&t).0, token.len() - bad.len() + 1);
        // A plain truncated header is not a limit.
        assert_eq!(decode_token(&[0x60]).limit_hit(), None);
    }

    #[test]
    fn nesting_is_bounded() {
        let mut token = b"NTLMSSP\0\x01\0\0\0\0\0\0\0".to_vec();
        // levels[k]: the token after k wrappings; mechToken is the last field, so each nested
        // token ends where the outermost one does.
        let mut levels = vec![token.clone()];
        for _ in 0..(der::MAX_DEPTH + 8) {
            token = spnego_init(&token);
            levels.push(token.clone());
        }
        let too_deep = levels
            .get(levels.len() - 1 - (der::MAX_DEPTH + 1))
            .map_or(0, Vec::len);
        let mut t = &decode_token(&token);
        let mut depth = 0;
        while let Some(inner) = t.inner() {
            t = inner;
            depth += 1;
        }
        assert_eq!(depth, der::MAX_DEPTH + 1);
        assert_eq!(
            malformed(t),
            (token.len() - too_deep, "tokens nested too deep")
        );
        assert_eq!(t.limit_hit(), Some(LimitHit::TooDeep));
        assert_eq!(decode_token(&token).limit_hit(), Some(LimitHit::TooDeep));
        // Shallow nesting still reaches the NTLM message.
        assert_eq!(
            decode_token(&spnego_init(&spnego_init(b"NTLMSSP\0\x01\0\0\0\0\0\0\0")))
                .ntlm()
                .map(|m| m.message_type),
            Some(1)
        );
    }
}
