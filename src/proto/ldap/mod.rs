//! LDAP bind messages (RFC 4511 §4.2-4.2.2, BER per §5.1) with SASL (RFC 4513 §5.2, RFC 4752
//! GSSAPI, GSS-SPNEGO) and Microsoft's "sicily" NTLM binds (MS-ADTS 5.1.1.1.3): finds the
//! credentials token of a BindRequest and the resultCode and token of a BindResponse.
//!
//! ```text
//! LDAPMessage ::= SEQUENCE { messageID INTEGER, protocolOp CHOICE { .. }, controls [0] OPTIONAL }
//! BindRequest ::= [APPLICATION 0] SEQUENCE { version INTEGER, name OCTET STRING,
//!     authentication CHOICE { simple [0] OCTET STRING, sasl [3] SEQUENCE { mechanism OCTET
//!     STRING, credentials OCTET STRING OPTIONAL }, sicilyPackageDiscovery [9],
//!     sicilyNegotiate [10] (raw NTLMSSP NEGOTIATE), sicilyResponse [11] (raw NTLMSSP AUTHENTICATE) } }
//! BindResponse ::= [APPLICATION 1] SEQUENCE { resultCode ENUMERATED, matchedDN OCTET STRING,
//!     diagnosticMessage OCTET STRING, referral [3] OPTIONAL, serverSaslCreds [7] OPTIONAL }
//! ```
//!
//! A sicily server answers the NEGOTIATE with the NTLMSSP CHALLENGE in `matchedDN`. A simple
//! bind's password never leaves this module: only whether it was empty (RFC 4513 §5.1.2, an
//! unauthenticated bind) is kept.

use std::fmt;

use serde::Serialize;

use crate::proto::der::{self, Class, DerError, Tlv};

/// Longest name / diagnostic text kept.
const MAX_TEXT: usize = 512;

/// RFC 4511 §4.1.9 resultCode.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ResultCode(pub i64);

impl ResultCode {
    pub const SUCCESS: ResultCode = ResultCode(0);
    pub const SASL_BIND_IN_PROGRESS: ResultCode = ResultCode(14);
    pub const INVALID_CREDENTIALS: ResultCode = ResultCode(49);

    pub fn name(self) -> &'static str {
        match self.0 {
            0 => "success",
            1 => "operationsError",
            2 => "protocolError",
            3 => "timeLimitExceeded",
            4 => "sizeLimitExceeded",
            7 => "authMethodNotSupported",
            8 => "strongerAuthRequired",
            10 => "referral",
            11 => "adminLimitExceeded",
            12 => "unavailableCriticalExtension",
            13 => "confidentialityRequired",
            14 => "saslBindInProgress",
            32 => "noSuchObject",
            34 => "invalidDNSyntax",
            48 => "inappropriateAuthentication",
            49 => "invalidCredentials",
            50 => "insufficientAccessRights",
            51 => "busy",
            52 => "unavailable",
            53 => "unwillingToPerform",
            80 => "other",
            _ => "unknown",
        }
    }
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub enum BindAuth<'a> {
    Simple {
        password_empty: bool,
    },
    Sasl {
        mechanism: String,
        credentials: Option<&'a [u8]>,
    },
    SicilyDiscovery,
    /// NTLMSSP NEGOTIATE.
    SicilyNegotiate(&'a [u8]),
    /// NTLMSSP AUTHENTICATE.
    SicilyResponse(&'a [u8]),
    Other(u32),
}

impl BindAuth<'_> {
    pub fn name(&self) -> &'static str {
        match self {
            BindAuth::Simple { .. } => "simple",
            BindAuth::Sasl { .. } => "sasl",
            BindAuth::SicilyDiscovery => "sicily-discovery",
            BindAuth::SicilyNegotiate(_) => "sicily-negotiate",
            BindAuth::SicilyResponse(_) => "sicily-response",
            BindAuth::Other(_) => "other",
        }
    }

    /// The token carried, if any.
    pub fn token(&self) -> Option<&[u8]> {
        match self {
            BindAuth::Sasl { credentials, .. } => *credentials,
            BindAuth::SicilyNegotiate(t) | BindAuth::SicilyResponse(t) => Some(t),
            _ => None,
        }
    }
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct BindRequest<'a> {
    pub version: i64,
    pub name: String,
    pub auth: BindAuth<'a>,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct BindResponse<'a> {
    pub result: ResultCode,
    pub matched_dn: &'a [u8],
    pub diagnostic: String,
    pub server_sasl_creds: Option<&'a [u8]>,
}

impl BindResponse<'_> {
    /// The server's token: serverSaslCreds, or a sicily CHALLENGE in matchedDN.
    pub fn token(&self) -> Option<&[u8]> {
        self.server_sasl_creds.or_else(|| {
            self.matched_dn
                .starts_with(b"NTLMSSP\0")
                .then_some(self.matched_dn)
        })
    }
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Op<'a> {
    BindRequest(BindRequest<'a>),
    BindResponse(BindResponse<'a>),
    /// Any other operation, by its [APPLICATION n] tag.
    Other(u32),
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct LdapMessage<'a> {
    pub message_id: i64,
    pub op: Op<'a>,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub enum LdapError {
    Truncated { needed: usize },
    Malformed { offset: usize, what: &'static str },
}

impl fmt::Display for LdapError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            LdapError::Truncated { needed } => write!(f, "truncated: {needed} more bytes needed"),
            LdapError::Malformed { offset, what } => {
                write!(f, "malformed at offset {offset}: {what}")
            }
        }
    }
}

impl std::error::Error for LdapError {}

/// From the front of a stream: `Ok(Some(n))` when an LDAPMessage of `n` bytes (header
/// included) starts here, `Ok(None)` when the header itself is incomplete, `Err` when the bytes
/// are not an LDAPMessage header. Only the header is read: `n` may be far larger than `prefix`.
pub fn message_len(prefix: &[u8]) -> Result<Option<usize>, LdapError> {
    let Some(&id) = prefix.first() else {
        return Ok(None);
    };
    if id != 0x30 {
        return Err(malformed(0, "LDAPMessage is not a SEQUENCE"));
    }
    let Some(&first) = prefix.get(1) else {
        return Ok(None);
    };
    if first & 0x80 == 0 {
        return Ok(Some(2 + usize::from(first)));
    }
    let n = usize::from(first & 0x7f);
    if n == 0 || n > 4 {
        return Err(malformed(
            1,
            "LDAPMessage length is indefinite or over 4 octets",
        ));
    }
    let Some(bytes) = prefix.get(2..2 + n) else {
        return Ok(None);
    };
    let len = bytes
        .iter()
        .fold(0usize, |acc, &b| (acc << 8) | usize::from(b));
    Ok(Some(2 + n + len))
}

/// The protocolOp identifier octet (0x60 BindRequest, 0x61 BindResponse, ...) of a message
/// whose first bytes are `prefix`, once enough of them are there.
pub fn peek_op(prefix: &[u8]) -> Option<u8> {
    let hdr = match prefix.get(1)? {
        b if b & 0x80 == 0 => 2,
        b => 2 + usize::from(b & 0x7f),
    };
    let id_tag = *prefix.get(hdr)?;
    let id_len = *prefix.get(hdr + 1)?;
    if id_tag != 0x02 || id_len & 0x80 != 0 {
        return Some(0);
    }
    prefix.get(hdr + 2 + usize::from(id_len)).copied()
}

fn malformed(offset: usize, what: &'static str) -> LdapError {
    LdapError::Malformed { offset, what }
}

/// Offsets in errors count from the start of the message.
struct Reader<'a> {
    root: &'a [u8],
}

impl<'a> Reader<'a> {
    fn at(&self, sub: &[u8]) -> usize {
        (sub.as_ptr() as usize).saturating_sub(self.root.as_ptr() as usize)
    }

    fn tlv(&self, input: &'a [u8]) -> Result<(Tlv<'a>, &'a [u8]), LdapError> {
        der::read_tlv(input).map_err(|e| match e {
            DerError::Incomplete { needed } | DerError::LengthBeyondInput { needed, .. } => {
                LdapError::Truncated { needed }
            }
            DerError::Malformed { offset, what } => malformed(self.at(input) + offset, what),
            DerError::TooDeep { offset } => malformed(self.at(input) + offset, "nested too deep"),
        })
    }

    fn expect(
        &self,
        input: &'a [u8],
        id: u8,
        what: &'static str,
    ) -> Result<(Tlv<'a>, &'a [u8]), LdapError> {
        let (tlv, rest) = self.tlv(input)?;
        if input.first() != Some(&id) {
            return Err(malformed(self.at(input), what));
        }
        Ok((tlv, rest))
    }
}

/// Decode one whole LDAPMessage.
pub fn decode(msg: &[u8]) -> Result<LdapMessage<'_>, LdapError> {
    let r = Reader { root: msg };
    let (seq, _) = r.expect(msg, 0x30, "LDAPMessage is not a SEQUENCE")?;
    let (id, rest) = r.expect(seq.value, 0x02, "messageID is not an INTEGER")?;
    let message_id =
        der::integer_i64(id.value).ok_or_else(|| malformed(r.at(id.value), "bad messageID"))?;
    let (op, _) = r.tlv(rest)?;
    if op.class != Class::Application {
        return Err(malformed(
            r.at(rest),
            "protocolOp is not an APPLICATION tag",
        ));
    }
    let op = match op.tag {
        0 => Op::BindRequest(bind_request(&r, op.value)?),
        1 => Op::BindResponse(bind_response(&r, op.value)?),
        t => Op::Other(t),
    };
    Ok(LdapMessage { message_id, op })
}

fn text(bytes: &[u8]) -> String {
    let s = String::from_utf8_lossy(bytes.get(..MAX_TEXT).unwrap_or(bytes));
    s.into_owned()
}

fn bind_request<'a>(r: &Reader<'a>, body: &'a [u8]) -> Result<BindRequest<'a>, LdapError> {
    let (version, rest) = r.expect(body, 0x02, "version is not an INTEGER")?;
    let version = der::integer_i64(version.value).unwrap_or(-1);
    let (name, rest) = r.expect(rest, 0x04, "name is not an OCTET STRING")?;
    let (auth, _) = r.tlv(rest)?;
    if auth.class != Class::Context {
        return Err(malformed(r.at(rest), "authentication is not a context tag"));
    }
    let auth = match auth.tag {
        0 => BindAuth::Simple {
            password_empty: auth.value.is_empty(),
        },
        3 => {
            let (mech, creds) =
                r.expect(auth.value, 0x04, "SASL mechanism is not an OCTET STRING")?;
            let credentials = if creds.is_empty() {
                None
            } else {
                Some(
                    r.expect(creds, 0x04, "SASL credentials are not an OCTET STRING")?
                        .0
                        .value,
                )
            };
            BindAuth::Sasl {
                mechanism: text(mech.value),
                credentials,
            }
        }
        9 => BindAuth::SicilyDiscovery,
        10 => BindAuth::SicilyNegotiate(auth.value),
        11 => BindAuth::SicilyResponse(auth.value),
        t => BindAuth::Other(t),
    };
    Ok(BindRequest {
        version,
        name: text(name.value),
        auth,
    })
}

fn bind_response<'a>(r: &Reader<'a>, body: &'a [u8]) -> Result<BindResponse<'a>, LdapError> {
    let (code, rest) = r.expect(body, 0x0a, "resultCode is not ENUMERATED")?;
    let result = ResultCode(
        der::integer_i64(code.value)
            .ok_or_else(|| malformed(r.at(code.value), "bad resultCode"))?,
    );
    let (dn, rest) = r.expect(rest, 0x04, "matchedDN is not an OCTET STRING")?;
    let (diag, mut rest) = r.expect(rest, 0x04, "diagnosticMessage is not an OCTET STRING")?;
    let mut server_sasl_creds = None;
    while !rest.is_empty() {
        let (field, after) = r.tlv(rest)?;
        if field.is(Class::Context, 7) {
            server_sasl_creds = Some(field.value);
        }
        rest = after;
    }
    Ok(BindResponse {
        result,
        matched_dn: dn.value,
        diagnostic: text(diag.value),
        server_sasl_creds,
    })
}

/// Carrier details for an event (no token bytes, no password).
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize)]
pub struct LdapDetails {
    pub message_id: i64,
    /// Bind DN or user name of a BindRequest.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub bind_name: Option<String>,
    /// `simple`, `sasl`, `sicily-negotiate`, ...
    #[serde(skip_serializing_if = "Option::is_none")]
    pub auth: Option<&'static str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub sasl_mechanism: Option<String>,
    /// Simple bind: an empty password makes it an unauthenticated bind (RFC 4513 §5.1.2).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub password_empty: Option<bool>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub result_code: Option<i64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub result_name: Option<&'static str>,
    /// Active Directory explains failures here ("80090308: LdapErr: ... data 52e").
    #[serde(skip_serializing_if = "Option::is_none")]
    pub diagnostic_message: Option<String>,
}

#[cfg(test)]
mod tests;
