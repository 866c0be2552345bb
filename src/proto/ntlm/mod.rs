//! NTLMSSP messages (MS-NLMP 2.2.1): NEGOTIATE (type 1), CHALLENGE (type 2) and AUTHENTICATE
//! (type 3), as carried bare, inside SPNEGO, or in HTTP `NTLM` / `Negotiate` headers.
//!
//! ```text
//! every message:  Signature "NTLMSSP\0" (8) | MessageType u32 LE (4) | ...
//! field (security buffer): Len u16 | MaxLen u16 | BufferOffset u32  (all LE, offset from byte 0)
//!
//! NEGOTIATE     @12 NegotiateFlags | @16 DomainNameFields | @24 WorkstationFields | @32 Version?
//! CHALLENGE     @12 TargetNameFields | @20 NegotiateFlags | @24 ServerChallenge(8)
//!               | @32 Reserved(8) | @40 TargetInfoFields | @48 Version?
//! AUTHENTICATE  @12 LmChallengeResponseFields | @20 NtChallengeResponseFields
//!               | @28 DomainNameFields | @36 UserNameFields | @44 WorkstationFields
//!               | @52 EncryptedRandomSessionKeyFields | @60 NegotiateFlags | @64 Version? | @72 MIC?
//! ```
//!
//! Every buffer is checked against the message length, and must not point into the fixed
//! header, before it is sliced. Version and MIC are optional in practice (the flag alone does not
//! mean the bytes are there): they are read only when the payload starts after them. Responses,
//! the MIC and the session key are never copied: only their lengths or presence are kept.

pub mod av;
pub mod flags;
mod text;

use std::fmt;

use serde::Serialize;

pub use av::AvPairs;
pub use flags::NegotiateFlags;

/// The eight bytes every NTLMSSP message starts with.
pub const SIGNATURE: &[u8; 8] = b"NTLMSSP\0";

/// MS-NLMP MessageType.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct MessageType(pub u32);

impl MessageType {
    pub const NEGOTIATE: MessageType = MessageType(1);
    pub const CHALLENGE: MessageType = MessageType(2);
    pub const AUTHENTICATE: MessageType = MessageType(3);

    /// Bytes before the payload, without the optional Version and MIC.
    fn fixed_len(self) -> Option<usize> {
        match self {
            MessageType::NEGOTIATE => Some(32),
            MessageType::CHALLENGE => Some(48),
            MessageType::AUTHENTICATE => Some(64),
            _ => None,
        }
    }
}

/// Length of an NTLMv1 (or NTLM2 session) response, MS-NLMP 3.3.1.
const NTLMV1_RESPONSE_LEN: usize = 24;
/// NTProofStr (16) + NTLMv2_CLIENT_CHALLENGE up to its AV pairs (28), MS-NLMP 2.2.2.7.
const NTLMV2_AV_PAIRS_AT: usize = 44;
/// Size of the Version structure (MS-NLMP 2.2.2.10) and of the MIC.
const VERSION_LEN: usize = 8;
const MIC_LEN: usize = 16;
/// A legacy NEGOTIATE may stop right after its flags.
const SHORT_NEGOTIATE_LEN: usize = 16;

#[derive(Clone, Debug, PartialEq, Eq)]
pub enum NtlmError {
    /// The bytes do not start with "NTLMSSP\0".
    NotNtlmssp,
    /// The message ends early: `needed` more bytes would complete the header or a buffer.
    Truncated { needed: usize },
    /// The bytes cannot be this message at `offset`.
    Malformed { offset: usize, what: &'static str },
}

impl fmt::Display for NtlmError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            NtlmError::NotNtlmssp => write!(f, "not an NTLMSSP message"),
            NtlmError::Truncated { needed } => write!(f, "truncated: {needed} more bytes needed"),
            NtlmError::Malformed { offset, what } => {
                write!(f, "malformed at offset {offset}: {what}")
            }
        }
    }
}

impl std::error::Error for NtlmError {}

/// MS-NLMP 2.2.2.10 VERSION: the sender's Windows version, for diagnostics.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct NtlmVersion {
    pub major: u8,
    pub minor: u8,
    pub build: u16,
    pub ntlm_revision: u8,
}

/// A decoded NTLMSSP message; which fields are set depends on `message_type`.
#[derive(Clone, Debug, Default, Serialize)]
pub struct NtlmMessage {
    pub message_type: u32,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub flags: Vec<&'static str>,
    pub flags_raw: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub domain: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub user: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub workstation: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub version: Option<NtlmVersion>,
    /// CHALLENGE: the server's domain or name.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub target_name: Option<String>,
    /// CHALLENGE: TargetInfo; AUTHENTICATE: the AV pairs of the NTLMv2 client challenge.
    /// Boxed to keep `NtlmMessage` (and `GssToken`) small.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub av_pairs: Option<Box<AvPairs>>,
    /// AUTHENTICATE: `NTLMv2`, `NTLMv1`, `NTLMv1-ESS`, `LM`, `anonymous` or `unknown`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub ntlm_version: Option<&'static str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub lm_response_len: Option<usize>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub nt_response_len: Option<usize>,
    pub mic_present: bool,
    pub session_key_present: bool,
    /// Some string had to be decoded with replacement characters.
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    pub lossy: bool,
}

/// Whether `bytes` starts with the NTLMSSP signature.
pub fn is_ntlmssp(bytes: &[u8]) -> bool {
    bytes.starts_with(SIGNATURE)
}

/// Decode one NTLMSSP message (`bytes` starts with "NTLMSSP\0").
pub fn decode(bytes: &[u8]) -> Result<NtlmMessage, NtlmError> {
    if !is_ntlmssp(bytes) {
        return Err(if SIGNATURE.starts_with(bytes) {
            NtlmError::Truncated {
                needed: 12 - bytes.len(),
            }
        } else {
            NtlmError::NotNtlmssp
        });
    }
    let message_type = MessageType(read_u32(bytes, 8)?);
    let fixed_len = message_type.fixed_len().ok_or(NtlmError::Malformed {
        offset: 8,
        what: "unknown NTLMSSP message type",
    })?;
    let short_negotiate =
        message_type == MessageType::NEGOTIATE && bytes.len() == SHORT_NEGOTIATE_LEN;
    if bytes.len() < fixed_len && !short_negotiate {
        return Err(NtlmError::Truncated {
            needed: fixed_len - bytes.len(),
        });
    }
    let reader = Reader {
        msg: bytes,
        fixed_len,
    };
    let mut out = NtlmMessage {
        message_type: message_type.0,
        ..NtlmMessage::default()
    };
    let layout = match message_type {
        MessageType::NEGOTIATE => decode_negotiate(&reader, &mut out)?,
        MessageType::CHALLENGE => decode_challenge(&reader, &mut out)?,
        _ => decode_authenticate(&reader, &mut out)?,
    };
    out.flags = layout.flags.names();
    out.flags_raw = layout.flags.hex();
    if layout.flags.contains(NegotiateFlags::VERSION)
        && layout.payload_start >= fixed_len + VERSION_LEN
    {
        out.version = read_version(bytes, fixed_len);
    }
    Ok(out)
}

/// Bounds-checked access to one message; `fixed_len` is where the payload may begin.
struct Reader<'a> {
    msg: &'a [u8],
    fixed_len: usize,
}

/// What the common tail of `decode` needs from each message type.
struct Layout {
    flags: NegotiateFlags,
    /// Lowest offset of a non-empty buffer (or the message length): Version and MIC exist only
    /// if they end before it.
    payload_start: usize,
}

impl<'a> Reader<'a> {
    /// The buffer described by the 8-byte field at `at`; empty when its length is zero.
    fn field(&self, at: usize) -> Result<(&'a [u8], usize), NtlmError> {
        let len = usize::from(read_u16(self.msg, at)?);
        let offset = usize::try_from(read_u32(self.msg, at + 4)?).unwrap_or(usize::MAX);
        if len == 0 {
            return Ok((&[], usize::MAX));
        }
        if offset < self.fixed_len {
            return Err(NtlmError::Malformed {
                offset: at + 4,
                what: "buffer offset points into the fixed header",
            });
        }
        let end = offset.saturating_add(len);
        match self.msg.get(offset..end) {
            Some(buf) => Ok((buf, offset)),
            None => Err(NtlmError::Truncated {
                needed: end - self.msg.len(),
            }),
        }
    }

    /// A name field: UTF-16LE when `unicode`, else OEM. `None` when empty.
    fn string(
        &self,
        at: usize,
        unicode: bool,
        out: &mut NtlmMessage,
    ) -> Result<(Option<String>, usize), NtlmError> {
        let (buf, offset) = self.field(at)?;
        if buf.is_empty() {
            return Ok((None, offset));
        }
        let (s, lossy) = if unicode {
            text::utf16le(buf)
        } else {
            text::oem(buf)
        };
        out.lossy |= lossy;
        Ok((Some(s), offset))
    }
}

fn read_u16(b: &[u8], at: usize) -> Result<u16, NtlmError> {
    match b.get(at..at + 2) {
        Some(&[x, y]) => Ok(u16::from_le_bytes([x, y])),
        _ => Err(NtlmError::Truncated {
            needed: (at + 2).saturating_sub(b.len()),
        }),
    }
}

fn read_u32(b: &[u8], at: usize) -> Result<u32, NtlmError> {
    match b.get(at..at + 4) {
        Some(&[w, x, y, z]) => Ok(u32::from_le_bytes([w, x, y, z])),
        _ => Err(NtlmError::Truncated {
            needed: (at + 4).saturating_sub(b.len()),
        }),
    }
}

fn read_version(b: &[u8], at: usize) -> Option<NtlmVersion> {
    match *b.get(at..at + VERSION_LEN)? {
        [0, 0, 0, 0, 0, 0, 0, 0] => None,
        [major, minor, b0, b1, _, _, _, ntlm_revision] => Some(NtlmVersion {
            major,
            minor,
            build: u16::from_le_bytes([b0, b1]),
            ntlm_revision,
        }),
        _ => None,
    }
}

// NEGOTIATE: names are always OEM (MS-NLMP 2.2.1.1). Returns where the payload starts.
fn decode_negotiate(r: &Reader<'_>, out: &mut NtlmMessage) -> Result<Layout, NtlmError> {
    let flags = NegotiateFlags(read_u32(r.msg, 12)?);
    if r.msg.len() < r.fixed_len {
        return Ok(Layout {
            flags,
            payload_start: r.msg.len(),
        });
    }
    let (domain, d_at) = r.string(16, false, out)?;
    let (workstation, w_at) = r.string(24, false, out)?;
    out.domain = domain;
    out.workstation = workstation;
    Ok(Layout {
        flags,
        payload_start: d_at.min(w_at).min(r.msg.len()),
    })
}

// CHALLENGE: the server challenge is not kept (it is of no diagnostic use).
fn decode_challenge(r: &Reader<'_>, out: &mut NtlmMessage) -> Result<Layout, NtlmError> {
    let flags = NegotiateFlags(read_u32(r.msg, 20)?);
    let (target_name, t_at) = r.string(12, flags.contains(NegotiateFlags::UNICODE), out)?;
    out.target_name = target_name;
    let (info, i_at) = r.field(40)?;
    if !info.is_empty() {
        let av = av::parse_av_pairs(info);
        out.lossy |= av.lossy;
        out.av_pairs = Some(Box::new(av));
    }
    Ok(Layout {
        flags,
        payload_start: t_at.min(i_at).min(r.msg.len()),
    })
}

// AUTHENTICATE: lengths of the responses and key, names, and the NTLMv2 AV pairs.
fn decode_authenticate(r: &Reader<'_>, out: &mut NtlmMessage) -> Result<Layout, NtlmError> {
    let flags = NegotiateFlags(read_u32(r.msg, 60)?);
    let unicode = flags.contains(NegotiateFlags::UNICODE);
    let (lm, lm_at) = r.field(12)?;
    let (nt, nt_at) = r.field(20)?;
    let (domain, d_at) = r.string(28, unicode, out)?;
    let (user, u_at) = r.string(36, unicode, out)?;
    let (workstation, w_at) = r.string(44, unicode, out)?;
    let (key, k_at) = r.field(52)?;
    out.domain = domain;
    out.user = user;
    out.workstation = workstation;
    out.lm_response_len = Some(lm.len());
    out.nt_response_len = Some(nt.len());
    out.session_key_present = !key.is_empty();
    out.ntlm_version = Some(classify_response(lm.len(), nt, flags));
    if out.ntlm_version == Some("NTLMv2") {
        let av = av::parse_av_pairs(nt.get(NTLMV2_AV_PAIRS_AT..).unwrap_or_default());
        out.lossy |= av.lossy;
        out.av_pairs = Some(Box::new(av));
    }
    let payload_start = [lm_at, nt_at, d_at, u_at, w_at, k_at]
        .into_iter()
        .min()
        .unwrap_or(usize::MAX)
        .min(r.msg.len());
    let mic_at = r.fixed_len + VERSION_LEN;
    let mic_room = payload_start >= mic_at + MIC_LEN;
    let declared = out.av_pairs.as_deref().is_some_and(AvPairs::mic_present);
    // A MIC slot of zeros (a client that reserved the space but did not sign) is not a MIC.
    let nonzero_slot = mic_room
        && r.msg
            .get(mic_at..mic_at + MIC_LEN)
            .is_some_and(|m| m.iter().any(|&b| b != 0));
    out.mic_present = (declared && mic_room) || nonzero_slot;
    Ok(Layout {
        flags,
        payload_start,
    })
}

/// Which response the client sent, from the lengths (MS-NLMP 3.3.1, 3.3.2, 3.2.5.1.2).
fn classify_response(lm_len: usize, nt: &[u8], flags: NegotiateFlags) -> &'static str {
    match nt.len() {
        0 if lm_len <= 1 => "anonymous",
        0 => "LM",
        NTLMV1_RESPONSE_LEN if flags.contains(NegotiateFlags::EXTENDED_SESSION_SECURITY) => {
            "NTLMv1-ESS"
        }
        NTLMV1_RESPONSE_LEN => "NTLMv1",
        // NTLMv2_CLIENT_CHALLENGE starts with RespType = HiRespType = 1.
        n if n >= NTLMV2_AV_PAIRS_AT && nt.get(16..18) == Some(&[1, 1]) => "NTLMv2",
        _ => "unknown",
    }
}

/// Test helper shared with the GSS tests: hex text (whitespace ignored) to bytes.
#[cfg(test)]
pub(crate) fn from_hex(text: &str) -> Vec<u8> {
    let digits: Vec<u8> = text
        .bytes()
        .filter(u8::is_ascii_hexdigit)
        .map(|c| char::from(c).to_digit(16).map_or(0, |d| d as u8))
        .collect();
    digits
        .chunks(2)
        .map(|p| p.iter().fold(0, |acc, d| acc << 4 | d))
        .collect()
}

#[cfg(test)]
mod fixture_tests;

#[cfg(test)]
mod tests {
    use super::*;

    /// An AUTHENTICATE header with every field empty, flags UNICODE.
    fn crafted_authenticate() -> Vec<u8> {
        let mut m = SIGNATURE.to_vec();
        m.extend(3u32.to_le_bytes());
        m.resize(64, 0);
        m[60] = 0x01;
        m
    }

    fn set_field(m: &mut [u8], at: usize, len: u16, offset: u32) {
        m[at..at + 2].copy_from_slice(&len.to_le_bytes());
        m[at + 2..at + 4].copy_from_slice(&len.to_le_bytes());
        m[at + 4..at + 8].copy_from_slice(&offset.to_le_bytes());
    }

    #[test]
    fn crafted_offsets_are_errors_not_panics() {
        let mut m = crafted_authenticate();
        m.extend("bob".encode_utf16().flat_map(u16::to_le_bytes));
        set_field(&mut m, 36, 6, 64);
        assert_eq!(
            decode(&m).ok().and_then(|x| x.user),
            Some("bob".to_string())
        );

        // User name pointing into the fixed header.
        set_field(&mut m, 36, 6, 8);
        assert_eq!(
            decode(&m).err(),
            Some(NtlmError::Malformed {
                offset: 40,
                what: "buffer offset points into the fixed header"
            })
        );
        // Past the end, and an offset near u32::MAX that must not overflow.
        set_field(&mut m, 36, 6, 68);
        assert_eq!(decode(&m).err(), Some(NtlmError::Truncated { needed: 4 }));
        set_field(&mut m, 36, 0xffff, u32::MAX);
        assert!(matches!(decode(&m), Err(NtlmError::Truncated { .. })));
        // An NT response of NTLMv2 shape whose AV list claims more than it has.
        let mut m = crafted_authenticate();
        let mut nt = vec![0u8; 16];
        nt.extend([1, 1]);
        nt.resize(NTLMV2_AV_PAIRS_AT, 0);
        nt.extend([9, 0, 0xff, 0x7f]);
        m.extend(&nt);
        set_field(&mut m, 20, nt.len() as u16, 64);
        let msg = decode(&m).ok().unwrap_or_default();
        assert_eq!(msg.ntlm_version, Some("NTLMv2"));
        assert_eq!(msg.av_pairs.map(|a| a.truncated), Some(true));
        // Unknown message type and a CHALLENGE shorter than its header.
        let mut t = SIGNATURE.to_vec();
        t.extend(7u32.to_le_bytes());
        assert!(matches!(
            decode(&t),
            Err(NtlmError::Malformed { offset: 8, .. })
        ));
        t[8] = 2;
        assert_eq!(decode(&t).err(), Some(NtlmError::Truncated { needed: 36 }));
    }
}
