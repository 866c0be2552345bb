//! SMB authentication commands (MS-SMB2 2.2.3-2.2.6, MS-SMB 2.2.4.5-2.2.4.6, MS-CIFS 2.2.3.1):
//! finds the GSS security blob and the NT status of NEGOTIATE and SESSION_SETUP in one SMB
//! message (the payload of one NetBIOS session message, RFC 1002 §4.3.6). Other commands are
//! counted, not decoded.
//!
//! ```text
//! SMB2 header (64): FE 'SMB' | @4 StructureSize | @8 Status u32 | @12 Command u16 | @16 Flags u32
//!                   (0x1 response) | @20 NextCommand u32 | @24 MessageId u64 | @40 SessionId u64
//!   SESSION_SETUP req  @64: StructureSize=25 | .. | @76 SecBufOffset u16 | @78 SecBufLength u16
//!   SESSION_SETUP resp @64: StructureSize=9  | @66 SessionFlags | @68 SecBufOffset | @70 SecBufLength
//!   NEGOTIATE resp     @64: StructureSize=65 | @68 Dialect | .. | @120 SecBufOffset | @122 SecBufLength
//!   (offsets of security buffers count from the start of the SMB2 header)
//! SMB1 header (32): FF 'SMB' | @4 Command u8 | @5 Status u32 | @9 Flags u8 (0x80 reply)
//!                   | @10 Flags2 u16 | .. | @28 UID u16 | @30 MID u16 | @32 WordCount u8, words, ByteCount
//!   SESSION_SETUP_ANDX (0x73) req, WordCount 12: word 7 = SecurityBlobLength; blob starts the bytes
//!   SESSION_SETUP_ANDX resp, WordCount 4: word 3 = SecurityBlobLength
//!   NEGOTIATE (0x72) resp, WordCount 17: bytes = ServerGUID(16) | SecurityBlob
//! FD 'SMB' = SMB3 transform (encrypted), FC 'SMB' = compression transform
//! ```
//!
//! An error status with an SMB2 ERROR response body (StructureSize 9 as well) carries no blob:
//! a SESSION_SETUP response's buffer is read only for success and MORE_PROCESSING_REQUIRED.

pub mod status;

use std::fmt;

use serde::Serialize;

pub use status::NtStatus;

const SMB2_MAGIC: &[u8; 4] = b"\xfeSMB";
const SMB1_MAGIC: &[u8; 4] = b"\xffSMB";
const TRANSFORM_MAGIC: &[u8; 4] = b"\xfdSMB";
const COMPRESSION_MAGIC: &[u8; 4] = b"\xfcSMB";
const SMB2_HEADER_LEN: usize = 64;
const SMB1_HEADER_LEN: usize = 32;
/// More compounded commands than this in one message is not traffic, it is an attack.
const MAX_COMPOUND: usize = 64;

const SMB2_NEGOTIATE: u16 = 0;
const SMB2_SESSION_SETUP: u16 = 1;
const SMB2_FLAG_RESPONSE: u32 = 0x1;
const SMB1_NEGOTIATE: u8 = 0x72;
const SMB1_SESSION_SETUP_ANDX: u8 = 0x73;
const SMB1_FLAG_REPLY: u8 = 0x80;

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum SmbVersion {
    Smb1,
    Smb2,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum AuthCommand {
    Negotiate,
    SessionSetup,
}

/// One NEGOTIATE or SESSION_SETUP found in a message.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SmbAuth<'a> {
    pub version: SmbVersion,
    pub command: AuthCommand,
    pub response: bool,
    /// NT status of a response (SMB1 with DOS error codes: the raw 32 bits).
    pub status: NtStatus,
    /// SMB2 SessionId, SMB1 UID.
    pub session_id: u64,
    /// SMB2 MessageId, SMB1 MID: pairs a response with its request.
    pub message_id: u64,
    /// SMB2 SessionFlags (0x1 guest, 0x2 null, 0x4 encrypt) or SMB1 Action (0x1 guest).
    pub session_flags: u16,
    /// NEGOTIATE response: the dialect chosen (SMB2 DialectRevision, SMB1 DialectIndex).
    pub dialect: Option<u16>,
    /// The security blob (a GSS / SPNEGO token or raw NTLMSSP); empty when there is none.
    pub blob: &'a [u8],
    /// Why the blob could not be taken, when its offset/length do not fit the message.
    pub blob_error: Option<&'static str>,
    /// SMB1 SESSION_SETUP_ANDX without extended security: LM/NT responses, no blob (not kept).
    pub legacy: bool,
}

/// What one SMB message held.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct SmbMessage<'a> {
    pub auth: Vec<SmbAuth<'a>>,
    /// Commands seen (compound SMB2 messages hold several).
    pub commands: usize,
    /// SMB3 transform header: the content is encrypted.
    pub encrypted: bool,
    pub compressed: bool,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub enum SmbError {
    /// Neither FE/FF/FD/FC 'SMB'.
    NotSmb,
    Truncated {
        needed: usize,
    },
    Malformed {
        offset: usize,
        what: &'static str,
    },
}

impl fmt::Display for SmbError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            SmbError::NotSmb => write!(f, "not an SMB message"),
            SmbError::Truncated { needed } => write!(f, "truncated: {needed} more bytes needed"),
            SmbError::Malformed { offset, what } => {
                write!(f, "malformed at offset {offset}: {what}")
            }
        }
    }
}

impl std::error::Error for SmbError {}

/// From the first bytes of a message: `Some(true)` when it is a NEGOTIATE or SESSION_SETUP that
/// the decoder needs whole, `Some(false)` when it can be skipped unread, `None` when more than
/// `prefix.len()` bytes are needed to tell.
pub fn is_auth_message(prefix: &[u8]) -> Option<bool> {
    let magic = prefix.get(..4)?;
    if magic == SMB2_MAGIC {
        let cmd = le16(prefix, 12)?;
        Some(cmd == SMB2_NEGOTIATE || cmd == SMB2_SESSION_SETUP)
    } else if magic == SMB1_MAGIC {
        let cmd = *prefix.get(4)?;
        Some(cmd == SMB1_NEGOTIATE || cmd == SMB1_SESSION_SETUP_ANDX)
    } else {
        Some(false)
    }
}

/// Decode one SMB message (without its 4-byte NetBIOS header).
pub fn decode(msg: &[u8]) -> Result<SmbMessage<'_>, SmbError> {
    let magic = msg.get(..4).ok_or(SmbError::Truncated {
        needed: 4usize.saturating_sub(msg.len()),
    })?;
    let mut out = SmbMessage::default();
    if magic == TRANSFORM_MAGIC {
        out.encrypted = true;
        return Ok(out);
    }
    if magic == COMPRESSION_MAGIC {
        out.compressed = true;
        return Ok(out);
    }
    if magic == SMB1_MAGIC {
        out.commands = 1;
        if let Some(auth) = smb1(msg)? {
            out.auth.push(auth);
        }
        return Ok(out);
    }
    if magic != SMB2_MAGIC {
        return Err(SmbError::NotSmb);
    }
    // Compound chain: each NextCommand is relative to the start of its own header.
    let mut at = 0usize;
    loop {
        let cmd = msg.get(at..).unwrap_or_default();
        out.commands += 1;
        if let Some(auth) = smb2(cmd, at)? {
            out.auth.push(auth);
        }
        let next = le32(cmd, 20).unwrap_or(0) as usize;
        if next == 0 {
            return Ok(out);
        }
        if next < SMB2_HEADER_LEN || !next.is_multiple_of(8) || out.commands >= MAX_COMPOUND {
            return Err(SmbError::Malformed {
                offset: at + 20,
                what: "bad NextCommand in compound message",
            });
        }
        at += next;
        if at + SMB2_HEADER_LEN > msg.len() {
            return Err(SmbError::Truncated {
                needed: at + SMB2_HEADER_LEN - msg.len(),
            });
        }
    }
}

fn truncated(buf: &[u8], need: usize) -> SmbError {
    SmbError::Truncated {
        needed: need.saturating_sub(buf.len()),
    }
}

/// One SMB2 command starting at `cmd[0]` (`base` = its offset in the message, for errors).
fn smb2(cmd: &[u8], base: usize) -> Result<Option<SmbAuth<'_>>, SmbError> {
    if cmd.len() < SMB2_HEADER_LEN {
        return Err(truncated(cmd, SMB2_HEADER_LEN));
    }
    if cmd.get(..4) != Some(SMB2_MAGIC.as_slice()) {
        return Err(SmbError::Malformed {
            offset: base,
            what: "compound command without FE 'SMB'",
        });
    }
    let command = le16(cmd, 12).unwrap_or(u16::MAX);
    let command = match command {
        SMB2_NEGOTIATE => AuthCommand::Negotiate,
        SMB2_SESSION_SETUP => AuthCommand::SessionSetup,
        _ => return Ok(None),
    };
    let response = le32(cmd, 16).unwrap_or(0) & SMB2_FLAG_RESPONSE != 0;
    let status = NtStatus(le32(cmd, 8).unwrap_or(0));
    let mut auth = SmbAuth {
        version: SmbVersion::Smb2,
        command,
        response,
        status: if response {
            status
        } else {
            NtStatus::STATUS_SUCCESS
        },
        session_id: le64(cmd, 40).unwrap_or(0),
        message_id: le64(cmd, 24).unwrap_or(0),
        session_flags: 0,
        dialect: None,
        blob: &[],
        blob_error: None,
        legacy: false,
    };
    let body_ok = !response
        || status == NtStatus::STATUS_SUCCESS
        || status == NtStatus::STATUS_MORE_PROCESSING_REQUIRED;
    if !body_ok {
        return Ok(Some(auth));
    }
    // (StructureSize, where the security buffer's offset/length pair sits)
    let (size, buf_at) = match (command, response) {
        (AuthCommand::SessionSetup, false) => (25, 76),
        (AuthCommand::SessionSetup, true) => (9, 68),
        (AuthCommand::Negotiate, true) => (65, 120),
        (AuthCommand::Negotiate, false) => return Ok(Some(auth)),
    };
    let Some(structure) = le16(cmd, 64) else {
        return Err(truncated(cmd, 66));
    };
    if structure != size {
        auth.blob_error = Some("unexpected StructureSize");
        return Ok(Some(auth));
    }
    if response {
        match command {
            AuthCommand::SessionSetup => auth.session_flags = le16(cmd, 66).unwrap_or(0),
            AuthCommand::Negotiate => auth.dialect = le16(cmd, 68),
        }
    }
    let (Some(off), Some(len)) = (le16(cmd, buf_at), le16(cmd, buf_at + 2)) else {
        return Err(truncated(cmd, buf_at + 4));
    };
    take_blob(
        &mut auth,
        cmd,
        usize::from(off),
        usize::from(len),
        buf_at + 4,
    );
    Ok(Some(auth))
}

/// Slice the security buffer, which must lie after the fixed part and inside the message.
fn take_blob<'a>(auth: &mut SmbAuth<'a>, msg: &'a [u8], off: usize, len: usize, fixed: usize) {
    if len == 0 {
        return;
    }
    if off < fixed {
        auth.blob_error = Some("security buffer overlaps the fixed fields");
        return;
    }
    match msg.get(off..off + len) {
        Some(blob) => auth.blob = blob,
        None => auth.blob_error = Some("security buffer runs past the message"),
    }
}

fn smb1(msg: &[u8]) -> Result<Option<SmbAuth<'_>>, SmbError> {
    if msg.len() < SMB1_HEADER_LEN + 1 {
        return Err(truncated(msg, SMB1_HEADER_LEN + 1));
    }
    let cmd = msg.get(4).copied().unwrap_or(0);
    let command = match cmd {
        SMB1_NEGOTIATE => AuthCommand::Negotiate,
        SMB1_SESSION_SETUP_ANDX => AuthCommand::SessionSetup,
        _ => return Ok(None),
    };
    let response = msg.get(9).copied().unwrap_or(0) & SMB1_FLAG_REPLY != 0;
    let mut auth = SmbAuth {
        version: SmbVersion::Smb1,
        command,
        response,
        status: NtStatus(if response {
            le32(msg, 5).unwrap_or(0)
        } else {
            0
        }),
        session_id: u64::from(le16(msg, 28).unwrap_or(0)),
        message_id: u64::from(le16(msg, 30).unwrap_or(0)),
        session_flags: 0,
        dialect: None,
        blob: &[],
        blob_error: None,
        legacy: false,
    };
    let wc = usize::from(msg.get(SMB1_HEADER_LEN).copied().unwrap_or(0));
    let words_at = SMB1_HEADER_LEN + 1;
    let bytes_at = words_at + 2 * wc + 2;
    let word = |i: usize| le16(msg, words_at + 2 * i);
    if wc == 0 {
        // Error responses carry no parameters.
        return Ok(Some(auth));
    }
    if msg.len() < bytes_at {
        return Err(truncated(msg, bytes_at));
    }
    let byte_count = usize::from(le16(msg, bytes_at - 2).unwrap_or(0));
    let bytes_end = (bytes_at + byte_count).min(msg.len());
    let bytes = msg.get(bytes_at..bytes_end).unwrap_or_default();
    match (command, response, wc) {
        (AuthCommand::SessionSetup, false, 12) => {
            let len = usize::from(word(7).unwrap_or(0));
            blob_in_bytes(&mut auth, bytes, 0, len);
        }
        (AuthCommand::SessionSetup, true, 4) => {
            auth.session_flags = word(2).unwrap_or(0);
            let len = usize::from(word(3).unwrap_or(0));
            blob_in_bytes(&mut auth, bytes, 0, len);
        }
        (AuthCommand::SessionSetup, false, 13) | (AuthCommand::SessionSetup, true, 3) => {
            auth.legacy = true;
        }
        (AuthCommand::Negotiate, true, 17) => {
            auth.dialect = word(0);
            // Capabilities (words 9-10) bit 31: extended security; the blob follows the GUID.
            let caps = le32(msg, words_at + 19).unwrap_or(0);
            if caps & 0x8000_0000 != 0 {
                let len = bytes.len().saturating_sub(16);
                blob_in_bytes(&mut auth, bytes, 16, len);
            } else {
                auth.legacy = true;
            }
        }
        (AuthCommand::Negotiate, false, _) => {}
        _ => auth.blob_error = Some("unexpected WordCount"),
    }
    Ok(Some(auth))
}

fn blob_in_bytes<'a>(auth: &mut SmbAuth<'a>, bytes: &'a [u8], off: usize, len: usize) {
    if len == 0 {
        return;
    }
    match bytes.get(off..off + len) {
        Some(blob) => auth.blob = blob,
        None => auth.blob_error = Some("security blob runs past ByteCount"),
    }
}

/// Carrier details for an event (no blob bytes).
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct SmbDetails {
    pub version: SmbVersion,
    pub command: AuthCommand,
    /// Responses only: the NT status (`0xc000006d`) and its name when known.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub nt_status: Option<NtStatus>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub nt_status_name: Option<&'static str>,
    /// SMB2 SessionId / SMB1 UID, hex.
    pub session_id: String,
    pub message_id: u64,
    /// SESSION_SETUP response: `guest`, `null`, `encrypt`.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub session_flags: Vec<&'static str>,
    /// NEGOTIATE response: SMB2 dialect (`0x0311`) or SMB1 dialect index.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub dialect: Option<String>,
    /// SMB1 without extended security (LM/NT challenge-response, no GSS token).
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    pub legacy: bool,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub blob_error: Option<&'static str>,
}

impl SmbDetails {
    pub fn from_auth(a: &SmbAuth<'_>) -> Self {
        let mut flags = Vec::new();
        if a.response && a.command == AuthCommand::SessionSetup {
            let names: &[(u16, &str)] = match a.version {
                SmbVersion::Smb2 => &[(0x1, "guest"), (0x2, "null"), (0x4, "encrypt")],
                SmbVersion::Smb1 => &[(0x1, "guest")],
            };
            flags.extend(
                names
                    .iter()
                    .filter(|(b, _)| a.session_flags & b != 0)
                    .map(|(_, n)| *n),
            );
        }
        SmbDetails {
            version: a.version,
            command: a.command,
            nt_status: a.response.then_some(a.status),
            nt_status_name: if a.response { a.status.name() } else { None },
            session_id: format!("0x{:016x}", a.session_id),
            message_id: a.message_id,
            session_flags: flags,
            dialect: a.dialect.map(|d| match a.version {
                SmbVersion::Smb2 => format!("0x{d:04x}"),
                SmbVersion::Smb1 => d.to_string(),
            }),
            legacy: a.legacy,
            blob_error: a.blob_error,
        }
    }
}

fn le16(b: &[u8], at: usize) -> Option<u16> {
    Some(u16::from_le_bytes(b.get(at..at + 2)?.try_into().ok()?))
}

fn le32(b: &[u8], at: usize) -> Option<u32> {
    Some(u32::from_le_bytes(b.get(at..at + 4)?.try_into().ok()?))
}

fn le64(b: &[u8], at: usize) -> Option<u64> {
    Some(u64::from_le_bytes(b.get(at..at + 8)?.try_into().ok()?))
}

#[cfg(test)]
mod tests;
