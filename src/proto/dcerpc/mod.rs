//! Connection-oriented DCE/RPC PDUs (C706 chapter 12, MS-RPCE 2.2.2): the header, the fields
//! of the binding PDUs that tell how a bind went, and the authentication verifier that carries
//! the GSS token (MS-RPCE 2.2.2.11).
//!
//! ```text
//! header (16): rpc_vers=5 | rpc_vers_minor=0/1 | PTYPE | pfc_flags | drep[4]
//!              | frag_length u16 | auth_length u16 | call_id u32     (integers in drep order)
//! bind / alter_context   @16 max_xmit u16 | max_recv u16 | assoc_group u32 | n_context u8 ..
//!                        @28 p_cont_elem[]: cont_id u16 | n_transfer u8 | pad | abstract UUID ..
//! bind_ack / alter_ctx_resp @16 max_xmit | max_recv | assoc_group | sec_addr (u16 len + string)
//!                        | pad to 4 | n_results u8 | pad(3) | p_result[]: result u16 | reason u16 | syntax(20)
//! bind_nak               @16 provider_reject_reason u16
//! fault                  @24 status u32
//! auth verifier at frag_length - auth_length - 8:
//!   auth_type u8 | auth_level u8 | auth_pad_length u8 | reserved u8 | auth_context_id u32 | auth_value
//! ```
//!
//! The auth_value of bind, bind_ack, alter_context, alter_context_resp and auth3 is a context
//! token (SPNEGO for type 9, a Kerberos AP-REQ/AP-REP for 16, NTLMSSP for 10); on request and
//! response PDUs it is a per-message signature, which this decoder does not interpret.

use std::fmt;

use serde::Serialize;

pub const HEADER_LEN: usize = 16;
const SEC_TRAILER_LEN: usize = 8;
/// Contexts and results read from one PDU; more are counted but not listed.
const MAX_LISTED: usize = 16;

/// PDU type (C706 12.6.4.1).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct PacketType(pub u8);

impl PacketType {
    pub const REQUEST: PacketType = PacketType(0);
    pub const RESPONSE: PacketType = PacketType(2);
    pub const FAULT: PacketType = PacketType(3);
    pub const BIND: PacketType = PacketType(11);
    pub const BIND_ACK: PacketType = PacketType(12);
    pub const BIND_NAK: PacketType = PacketType(13);
    pub const ALTER_CONTEXT: PacketType = PacketType(14);
    pub const ALTER_CONTEXT_RESP: PacketType = PacketType(15);
    pub const AUTH3: PacketType = PacketType(16);
    pub const SHUTDOWN: PacketType = PacketType(17);
    pub const CO_CANCEL: PacketType = PacketType(18);
    pub const ORPHANED: PacketType = PacketType(19);

    pub fn name(self) -> &'static str {
        match self.0 {
            0 => "request",
            2 => "response",
            3 => "fault",
            11 => "bind",
            12 => "bind_ack",
            13 => "bind_nak",
            14 => "alter_context",
            15 => "alter_context_resp",
            16 => "auth3",
            17 => "shutdown",
            18 => "co_cancel",
            19 => "orphaned",
            _ => "unknown",
        }
    }

    /// The PDUs whose auth_value is a security-context token (not a per-message signature).
    pub fn carries_context_token(self) -> bool {
        matches!(self.0, 11 | 12 | 14 | 15 | 16)
    }

    /// Sent by the server (an answer to a client PDU).
    pub fn from_server(self) -> bool {
        matches!(self.0, 2 | 3 | 12 | 13 | 15 | 17)
    }
}

/// Authentication service (MS-RPCE 2.2.1.1.7).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct AuthType(pub u8);

impl AuthType {
    pub const NONE: AuthType = AuthType(0);
    pub const GSS_NEGOTIATE: AuthType = AuthType(9);
    pub const WINNT: AuthType = AuthType(10);
    pub const GSS_SCHANNEL: AuthType = AuthType(14);
    pub const GSS_KERBEROS: AuthType = AuthType(16);
    pub const NETLOGON: AuthType = AuthType(68);
    pub const DEFAULT: AuthType = AuthType(255);

    /// Short name: `spnego`, `ntlm`, `kerberos`, `schannel`, `netlogon`, ...
    pub fn name(self) -> &'static str {
        match self.0 {
            0 => "none",
            9 => "spnego",
            10 => "ntlm",
            14 => "schannel",
            16 => "kerberos",
            68 => "netlogon",
            255 => "default",
            _ => "unknown",
        }
    }

    /// The auth_value is a GSS-API / NTLMSSP token `gss::decode_token` understands.
    pub fn is_gss(self) -> bool {
        matches!(self.0, 9 | 10 | 16)
    }
}

/// MS-RPCE 2.2.1.1.8 authentication levels.
pub fn auth_level_name(level: u8) -> &'static str {
    match level {
        1 => "none",
        2 => "connect",
        3 => "call",
        4 => "pkt",
        5 => "pkt_integrity",
        6 => "pkt_privacy",
        _ => "unknown",
    }
}

/// C706 12.6.3.1 / MS-RPCE 2.2.2.5 p_reject_reason_t of a bind_nak.
pub fn reject_reason_name(reason: u16) -> &'static str {
    match reason {
        0 => "reason_not_specified",
        1 => "temporary_congestion",
        2 => "local_limit_exceeded",
        3 => "called_paddr_unknown",
        4 => "protocol_version_not_supported",
        5 => "default_context_not_supported",
        6 => "user_data_not_readable",
        7 => "no_psap_available",
        8 => "authentication_type_not_recognized",
        9 => "invalid_checksum",
        _ => "unknown",
    }
}

/// Fault status values that say something about authentication (C706 appendix E, MS-RPCE
/// 2.2.2.14 and the Win32 codes Windows servers put there).
pub fn fault_status_name(status: u32) -> Option<&'static str> {
    Some(match status {
        0x0000_0005 => "nca_s_fault_access_denied",
        0x0000_06d9 => "ept_s_not_registered",
        0x0000_06f7 => "rpc_x_bad_stub_data",
        0x0000_0721 => "rpc_s_sec_pkg_error",
        0x1c00_0001 => "nca_s_fault_int_div_by_zero",
        0x1c01_0002 => "nca_s_op_rng_error",
        0x1c01_0003 => "nca_s_unk_if",
        0x1c00_0009 => "nca_s_proto_error",
        0x1c00_0016 => "nca_s_fault_remote_no_memory",
        0x1c00_001a => "nca_s_invalid_checksum",
        0x1c00_001b => "nca_s_invalid_crc",
        0x1c01_0013 => "nca_s_unsupported_authn_level",
        0x1c01_0014 => "nca_s_invalid_pres_context_id",
        _ => return None,
    })
}

/// C706 12.6.3.1 p_cont_def_result_t of a bind_ack result.
pub fn context_result_name(result: u16) -> &'static str {
    match result {
        0 => "acceptance",
        1 => "user_rejection",
        2 => "provider_rejection",
        3 => "negotiate_ack",
        _ => "unknown",
    }
}

/// A few well-known interfaces, so a report can say which service the bind was for.
pub fn interface_name(uuid: &str) -> Option<&'static str> {
    Some(match uuid {
        "12345778-1234-abcd-ef00-0123456789ab" => "lsarpc",
        "12345778-1234-abcd-ef00-0123456789ac" => "samr",
        "12345678-1234-abcd-ef00-01234567cffb" => "netlogon",
        "e3514235-4b06-11d1-ab04-00c04fc2dcd2" => "drsuapi",
        "e1af8308-5d1f-11c9-91a4-08002b14a0fa" => "epmapper",
        "4b324fc8-1670-01d3-1278-5a47bf6ee188" => "srvsvc",
        "6bffd098-a112-3610-9833-46c3f87e345a" => "wkssvc",
        "367abb81-9844-35f1-ad32-98f038001003" => "svcctl",
        "338cd001-2244-31f1-aaaa-900038001003" => "winreg",
        "86d35949-83c9-4044-b424-db363231fd0c" => "ITaskSchedulerService",
        "000001a0-0000-0000-c000-000000000046" => "ISystemActivator",
        "99fcfec4-5260-101b-bbcb-00aa0021347a" => "IOXIDResolver",
        "00000143-0000-0000-c000-000000000046" => "IRemUnknown2",
        _ => return None,
    })
}

/// The authentication verifier of a PDU.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct AuthVerifier<'a> {
    pub auth_type: AuthType,
    pub auth_level: u8,
    pub context_id: u32,
    /// The token (binding PDUs) or signature (requests / responses).
    pub value: &'a [u8],
}

/// What the PDU type adds beyond the header.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct BindInfo {
    /// Abstract syntax UUIDs of the presentation contexts offered (bind / alter_context).
    pub interfaces: Vec<String>,
    /// Results of a bind_ack / alter_context_resp, one per context offered.
    pub results: Vec<u16>,
    /// bind_nak provider_reject_reason.
    pub reject_reason: Option<u16>,
    /// fault status.
    pub fault_status: Option<u32>,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Pdu<'a> {
    pub version_minor: u8,
    pub ptype: PacketType,
    pub flags: u8,
    pub frag_len: usize,
    pub call_id: u32,
    pub auth: Option<AuthVerifier<'a>>,
    /// Why the verifier could not be located (auth_length inconsistent with frag_length).
    pub auth_error: Option<&'static str>,
    pub info: BindInfo,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub enum DcerpcError {
    NotDcerpc,
    Truncated { needed: usize },
    Malformed { offset: usize, what: &'static str },
}

impl fmt::Display for DcerpcError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            DcerpcError::NotDcerpc => write!(f, "not a connection-oriented DCE/RPC PDU"),
            DcerpcError::Truncated { needed } => write!(f, "truncated: {needed} more bytes needed"),
            DcerpcError::Malformed { offset, what } => {
                write!(f, "malformed at offset {offset}: {what}")
            }
        }
    }
}

impl std::error::Error for DcerpcError {}

/// Integers in the byte order the PDU's data representation label names.
#[derive(Clone, Copy)]
struct Order {
    little: bool,
}

impl Order {
    fn u16(self, b: &[u8], at: usize) -> Option<u16> {
        let raw: [u8; 2] = b.get(at..at + 2)?.try_into().ok()?;
        Some(if self.little {
            u16::from_le_bytes(raw)
        } else {
            u16::from_be_bytes(raw)
        })
    }
    fn u32(self, b: &[u8], at: usize) -> Option<u32> {
        let raw: [u8; 4] = b.get(at..at + 4)?.try_into().ok()?;
        Some(if self.little {
            u32::from_le_bytes(raw)
        } else {
            u32::from_be_bytes(raw)
        })
    }
}

/// From the first 16 bytes: the PDU's frag_length when they look like a CO DCE/RPC header
/// (version 5.0/5.1, a known PTYPE, a sane data representation); `None` otherwise or when
/// fewer than 16 bytes are given. Used to recognise DCE/RPC on dynamic ports by content.
pub fn header_frag_len(prefix: &[u8]) -> Option<usize> {
    let h: &[u8; HEADER_LEN] = prefix.get(..HEADER_LEN)?.try_into().ok()?;
    let (vers, minor, ptype, drep0) = (h[0], h[1], h[2], h[4]);
    // drep[0]: integer representation in the high nibble (0 big, 1 little), character set in
    // the low one (0 ASCII, 1 EBCDIC); drep[1] floating point 0-3.
    let sane_drep = drep0 & 0xee == 0 && h[5] <= 3;
    if vers != 5 || minor > 1 || ptype > 19 || ptype == 1 || !sane_drep {
        return None;
    }
    let order = Order {
        little: drep0 & 0x10 != 0,
    };
    let frag = usize::from(order.u16(h, 8)?);
    let auth = usize::from(order.u16(h, 10)?);
    (frag >= HEADER_LEN && (auth == 0 || auth + SEC_TRAILER_LEN + HEADER_LEN <= frag))
        .then_some(frag)
}

/// Decode one whole PDU (`pdu.len()` may exceed frag_length: the rest is ignored).
pub fn decode(pdu: &[u8]) -> Result<Pdu<'_>, DcerpcError> {
    if pdu.len() < HEADER_LEN {
        if pdu.first().is_some_and(|&v| v != 5) {
            return Err(DcerpcError::NotDcerpc);
        }
        return Err(DcerpcError::Truncated {
            needed: HEADER_LEN - pdu.len(),
        });
    }
    let frag_len = header_frag_len(pdu).ok_or(DcerpcError::NotDcerpc)?;
    let pdu = pdu.get(..frag_len).ok_or(DcerpcError::Truncated {
        needed: frag_len.saturating_sub(pdu.len()),
    })?;
    let order = Order {
        little: pdu.get(4).is_some_and(|d| d & 0x10 != 0),
    };
    let auth_len = usize::from(order.u16(pdu, 10).unwrap_or(0));
    let mut out = Pdu {
        version_minor: pdu.get(1).copied().unwrap_or(0),
        ptype: PacketType(pdu.get(2).copied().unwrap_or(0)),
        flags: pdu.get(3).copied().unwrap_or(0),
        frag_len,
        call_id: order.u32(pdu, 12).unwrap_or(0),
        auth: None,
        auth_error: None,
        info: BindInfo::default(),
    };
    // header_frag_len checked that the trailer and the value fit after the header.
    let body_end = if auth_len > 0 {
        frag_len.saturating_sub(auth_len + SEC_TRAILER_LEN)
    } else {
        frag_len
    };
    if auth_len > 0 {
        let trailer = pdu
            .get(body_end..body_end + SEC_TRAILER_LEN)
            .unwrap_or_default();
        let byte = |i: usize| trailer.get(i).copied().unwrap_or(0);
        out.auth = Some(AuthVerifier {
            auth_type: AuthType(byte(0)),
            auth_level: byte(1),
            context_id: order.u32(trailer, 4).unwrap_or(0),
            value: pdu.get(body_end + SEC_TRAILER_LEN..).unwrap_or_default(),
        });
        if usize::from(byte(2)) > body_end.saturating_sub(HEADER_LEN) {
            out.auth_error = Some("auth_pad_length runs into the header");
        }
    }
    let body = pdu.get(..body_end).unwrap_or_default();
    match out.ptype {
        PacketType::BIND | PacketType::ALTER_CONTEXT => contexts(body, order, &mut out.info)?,
        PacketType::BIND_ACK | PacketType::ALTER_CONTEXT_RESP => {
            results(body, order, &mut out.info)?
        }
        PacketType::BIND_NAK => out.info.reject_reason = order.u16(body, 16),
        PacketType::FAULT => out.info.fault_status = order.u32(body, 24),
        _ => {}
    }
    Ok(out)
}

/// p_cont_list_t of a bind / alter_context.
fn contexts(body: &[u8], order: Order, info: &mut BindInfo) -> Result<(), DcerpcError> {
    // An alter_context may omit the list's contents in practice (n_context 0).
    let Some(&n) = body.get(24) else {
        return Err(DcerpcError::Malformed {
            offset: body.len(),
            what: "bind body shorter than its fixed fields",
        });
    };
    let mut at = 28;
    for _ in 0..usize::from(n) {
        let n_transfer = usize::from(*body.get(at + 2).ok_or(DcerpcError::Malformed {
            offset: at,
            what: "presentation context runs past the PDU",
        })?);
        let uuid = body.get(at + 4..at + 20).ok_or(DcerpcError::Malformed {
            offset: at + 4,
            what: "abstract syntax runs past the PDU",
        })?;
        if info.interfaces.len() < MAX_LISTED {
            info.interfaces.push(uuid_text(uuid, order));
        }
        at += 4 + 20 + 20 * n_transfer;
    }
    Ok(())
}

/// p_result_list_t of a bind_ack / alter_context_resp, after the secondary address.
fn results(body: &[u8], order: Order, info: &mut BindInfo) -> Result<(), DcerpcError> {
    let addr_len = usize::from(order.u16(body, 24).ok_or(DcerpcError::Malformed {
        offset: body.len(),
        what: "bind_ack body shorter than its fixed fields",
    })?);
    // The result list is 4-byte aligned from the start of the PDU.
    let list = (26 + addr_len + 3) & !3;
    let n = usize::from(*body.get(list).ok_or(DcerpcError::Malformed {
        offset: list,
        what: "result list runs past the PDU",
    })?);
    for i in 0..n.min(MAX_LISTED) {
        let r = order
            .u16(body, list + 4 + 24 * i)
            .ok_or(DcerpcError::Malformed {
                offset: list + 4 + 24 * i,
                what: "result runs past the PDU",
            })?;
        info.results.push(r);
    }
    Ok(())
}

/// A UUID in its text form; the first three fields follow the PDU's integer order.
fn uuid_text(b: &[u8], order: Order) -> String {
    let d1 = order.u32(b, 0).unwrap_or(0);
    let d2 = order.u16(b, 4).unwrap_or(0);
    let d3 = order.u16(b, 6).unwrap_or(0);
    let rest: String = b.iter().skip(8).map(|x| format!("{x:02x}")).collect();
    let (d4, d5) = rest.split_at(4.min(rest.len()));
    format!("{d1:08x}-{d2:04x}-{d3:04x}-{d4}-{d5}")
}

/// Carrier details for an event: what the binding PDU said, without any token bytes.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize)]
pub struct DcerpcDetails {
    pub ptype: &'static str,
    pub call_id: u32,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub auth_type: Option<&'static str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub auth_level: Option<&'static str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub auth_context_id: Option<u32>,
    /// First interface of a bind / alter_context, with its name when well known.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub interface: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub interface_name: Option<&'static str>,
    /// bind_ack / alter_context_resp: one name per context result.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub results: Vec<&'static str>,
}

impl DcerpcDetails {
    pub fn from_pdu(pdu: &Pdu<'_>) -> Self {
        let interface = pdu.info.interfaces.first().cloned();
        DcerpcDetails {
            ptype: pdu.ptype.name(),
            call_id: pdu.call_id,
            auth_type: pdu.auth.as_ref().map(|a| a.auth_type.name()),
            auth_level: pdu.auth.as_ref().map(|a| auth_level_name(a.auth_level)),
            auth_context_id: pdu.auth.as_ref().map(|a| a.context_id),
            interface_name: interface.as_deref().and_then(interface_name),
            interface,
            results: pdu
                .info
                .results
                .iter()
                .map(|&r| context_result_name(r))
                .collect(),
        }
    }
}

#[cfg(test)]
mod tests;
