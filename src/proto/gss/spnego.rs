//! SPNEGO negotiation tokens (RFC 4178 §4.2) with Microsoft's NegTokenInit2 (MS-SPNG 2.2.1).
//!
//! ```text
//! NegotiationToken ::= CHOICE { negTokenInit [0] NegTokenInit, negTokenResp [1] NegTokenResp }
//! NegTokenInit  ::= SEQUENCE { mechTypes [0] SEQUENCE OF OID, reqFlags [1] BIT STRING OPTIONAL,
//!                              mechToken [2] OCTET STRING OPTIONAL,
//!                              mechListMIC [3] OCTET STRING OPTIONAL }
//! NegTokenInit2 ::= SEQUENCE { mechTypes [0], reqFlags [1], mechToken [2],
//!                              negHints [3] SEQUENCE { hintName [0] GeneralString OPTIONAL,
//!                                                      hintAddress [1] OCTET STRING OPTIONAL },
//!                              mechListMIC [4] OCTET STRING OPTIONAL }
//! NegTokenResp  ::= SEQUENCE { negState [0] ENUMERATED OPTIONAL, supportedMech [1] OID OPTIONAL,
//!                              responseToken [2] OCTET STRING OPTIONAL,
//!                              mechListMIC [3] OCTET STRING OPTIONAL }
//! ```
//!
//! `[3]` is mechListMIC in RFC 4178 but negHints in NegTokenInit2; its contents tell them apart
//! (an OCTET STRING versus a SEQUENCE). Mechanism tokens are decoded recursively by the caller's
//! `decode_nested`, so a mechToken may be a framed krb5 token, a bare AP-REQ or NTLMSSP.

use serde::Serialize;

use super::mech::Mech;
use super::{Ctx, Fault, GssToken};
use crate::proto::der::{self, Class, Tlv};

/// RFC 4178 negState.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct NegState(pub i64);

impl NegState {
    pub const ACCEPT_COMPLETED: NegState = NegState(0);
    pub const ACCEPT_INCOMPLETE: NegState = NegState(1);
    pub const REJECT: NegState = NegState(2);
    pub const REQUEST_MIC: NegState = NegState(3);

    pub fn name(self) -> &'static str {
        match self {
            NegState::ACCEPT_COMPLETED => "accept-completed",
            NegState::ACCEPT_INCOMPLETE => "accept-incomplete",
            NegState::REJECT => "reject",
            NegState::REQUEST_MIC => "request-mic",
            _ => "unknown",
        }
    }
}

/// RFC 4178 ContextFlags, bit n → name.
const CONTEXT_FLAG_NAMES: [&str; 7] = [
    "deleg", "mutual", "replay", "sequence", "anon", "conf", "integ",
];

#[derive(Clone, Debug, Default, Serialize)]
pub struct NegTokenInit {
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub mech_types: Vec<Mech>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub req_flags: Vec<&'static str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub mech_token: Option<Box<GssToken>>,
    /// NegTokenInit2 hintName; Windows servers send "not_defined_in_RFC4178@please_ignore".
    #[serde(skip_serializing_if = "Option::is_none")]
    pub neg_hints_name: Option<String>,
    pub mech_list_mic: bool,
}

#[derive(Clone, Debug, Default, Serialize)]
pub struct NegTokenResp {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub neg_state: Option<&'static str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub supported_mech: Option<Mech>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub response_token: Option<Box<GssToken>>,
    pub mech_list_mic: bool,
}

/// The fields of a constructed value, each a context-tagged wrapper.
fn fields<'a>(ctx: &Ctx<'a>, seq: Tlv<'a>) -> Result<Vec<Tlv<'a>>, Fault> {
    if !seq.is(Class::Universal, 16) {
        return Err(ctx.fault_at(&seq, "expected a SEQUENCE"));
    }
    der::children(seq.value)
        .map(|r| r.map_err(|e| ctx.der_fault(seq.value, e)))
        .collect()
}

/// The single TLV inside an explicit `[n]` wrapper.
fn inner<'a>(ctx: &Ctx<'a>, wrapper: &Tlv<'a>) -> Result<Tlv<'a>, Fault> {
    ctx.read_tlv(wrapper.value)
}

fn expect<'a>(
    ctx: &Ctx<'a>,
    tlv: Tlv<'a>,
    class: Class,
    tag: u32,
    what: &'static str,
) -> Result<Tlv<'a>, Fault> {
    if tlv.is(class, tag) {
        Ok(tlv)
    } else {
        Err(ctx.fault_at(&tlv, what))
    }
}

fn mech_of(ctx: &Ctx<'_>, oid: Tlv<'_>) -> Result<Mech, Fault> {
    let oid = expect(
        ctx,
        oid,
        Class::Universal,
        6,
        "expected an OBJECT IDENTIFIER",
    )?;
    der::oid_to_string(oid.value)
        .map(Mech::from_oid)
        .ok_or_else(|| ctx.fault(oid.value, "bad OBJECT IDENTIFIER"))
}

/// `body` is the contents of the `[0]` NegotiationToken choice.
pub(super) fn neg_token_init<'a>(ctx: &Ctx<'a>, body: &'a [u8]) -> Result<NegTokenInit, Fault> {
    let seq = ctx.read_tlv(body)?;
    let mut out = NegTokenInit::default();
    for field in fields(ctx, seq)? {
        if field.class != Class::Context {
            continue;
        }
        let value = inner(ctx, &field)?;
        match field.tag {
            0 => {
                let list = expect(
                    ctx,
                    value,
                    Class::Universal,
                    16,
                    "mechTypes is not a SEQUENCE",
                )?;
                for oid in der::children(list.value) {
                    let oid = oid.map_err(|e| ctx.der_fault(list.value, e))?;
                    out.mech_types.push(mech_of(ctx, oid)?);
                }
            }
            1 => {
                let bits = expect(
                    ctx,
                    value,
                    Class::Universal,
                    3,
                    "reqFlags is not a BIT STRING",
                )?;
                out.req_flags = (0..CONTEXT_FLAG_NAMES.len())
                    .filter(|&n| der::bit_string_flag(bits.value, n))
                    .filter_map(|n| CONTEXT_FLAG_NAMES.get(n).copied())
                    .collect();
            }
            2 => {
                let token = expect(
                    ctx,
                    value,
                    Class::Universal,
                    4,
                    "mechToken is not an OCTET STRING",
                )?;
                out.mech_token = Some(Box::new(ctx.decode_nested(token.value)));
            }
            3 if value.is(Class::Universal, 16) => {
                out.neg_hints_name = hint_name(value.value);
            }
            3 | 4 => out.mech_list_mic = true,
            _ => {}
        }
    }
    Ok(out)
}

fn hint_name(hints: &[u8]) -> Option<String> {
    der::children(hints)
        .map_while(Result::ok)
        .find(|t| t.is(Class::Context, 0))
        .and_then(|t| der::read_tlv(t.value).ok())
        .map(|(name, _)| String::from_utf8_lossy(name.value).into_owned())
}

/// `body` is the contents of the `[1]` NegotiationToken choice.
pub(super) fn neg_token_resp<'a>(ctx: &Ctx<'a>, body: &'a [u8]) -> Result<NegTokenResp, Fault> {
    let seq = ctx.read_tlv(body)?;
    let mut out = NegTokenResp::default();
    for field in fields(ctx, seq)? {
        if field.class != Class::Context {
            continue;
        }
        let value = inner(ctx, &field)?;
        match field.tag {
            0 => {
                let state = expect(
                    ctx,
                    value,
                    Class::Universal,
                    10,
                    "negState is not ENUMERATED",
                )?;
                let n = der::integer_i64(state.value)
                    .ok_or_else(|| ctx.fault(state.value, "bad negState"))?;
                out.neg_state = Some(NegState(n).name());
            }
            1 => out.supported_mech = Some(mech_of(ctx, value)?),
            2 => {
                let token = expect(
                    ctx,
                    value,
                    Class::Universal,
                    4,
                    "responseToken is not an OCTET STRING",
                )?;
                out.response_token = Some(Box::new(ctx.decode_nested(token.value)));
            }
            3 => out.mech_list_mic = true,
            _ => {}
        }
    }
    Ok(out)
}
