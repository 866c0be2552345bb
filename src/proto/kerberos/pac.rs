//! The Privilege Attribute Certificate of a decrypted ticket (MS-PAC §2.3–2.7): only who it names
//! and how many groups it grants, never its signatures or keys.
//!
//! ```text
//! PACTYPE           cBuffers (u32 LE) | Version (u32 LE, 0) | cBuffers × PAC_INFO_BUFFER
//! PAC_INFO_BUFFER   ulType (u32) | cbBufferSize (u32) | Offset (u64, from the PAC start)
//! type 1  KERB_VALIDATION_INFO (NDR: common header 8, private header 8, referent id 4, then the
//!         216-byte fixed part: 6 FILETIMEs, 6 RPC_UNICODE_STRINGs, LogonCount, BadPasswordCount,
//!         UserId, PrimaryGroupId, GroupCount @108, ..., SidCount @196, ...; deferred data
//!         follows, the first string being EffectiveName: MaxCount | Offset | ActualCount | UTF-16)
//! type 10 PAC_CLIENT_INFO   ClientId (FILETIME) | NameLength (u16, bytes) | Name (UTF-16LE)
//! ```
//! MIT KDCs without a PAC-issuing database module put only PAC_CLIENT_INFO and signatures in the
//! PAC, so the client-info name is the fallback for the user.

const PAC_LOGON_INFO: u32 = 1;
const PAC_CLIENT_INFO: u32 = 10;
/// A PAC with more buffers than this is not one (Windows uses fewer than 20).
const MAX_BUFFERS: u32 = 64;

/// NDR layout of KERB_VALIDATION_INFO (MS-PAC §2.5) inside the LOGON_INFO buffer.
const LOGON_FIXED_START: usize = 8 + 8 + 4;
const LOGON_FIXED_LEN: usize = 216;
/// EffectiveName's RPC_UNICODE_STRING: Length, MaximumLength, then the buffer pointer.
const EFFECTIVE_NAME_PTR: usize = 48 + 4;
const GROUP_COUNT: usize = 108;

#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct PacSummary {
    /// LOGON_INFO EffectiveName, else PAC_CLIENT_INFO's name.
    pub user: Option<String>,
    /// LOGON_INFO GroupCount (absent without a LOGON_INFO buffer).
    pub groups: Option<usize>,
}

fn u16_at(b: &[u8], at: usize) -> Option<u16> {
    b.get(at..at.checked_add(2)?)
        .and_then(|s| s.try_into().ok())
        .map(u16::from_le_bytes)
}

fn u32_at(b: &[u8], at: usize) -> Option<u32> {
    b.get(at..at.checked_add(4)?)
        .and_then(|s| s.try_into().ok())
        .map(u32::from_le_bytes)
}

fn u64_at(b: &[u8], at: usize) -> Option<u64> {
    b.get(at..at.checked_add(8)?)
        .and_then(|s| s.try_into().ok())
        .map(u64::from_le_bytes)
}

fn utf16(bytes: &[u8]) -> String {
    let units = bytes.chunks_exact(2).map(|c| match c {
        [lo, hi] => u16::from_le_bytes([*lo, *hi]),
        _ => 0,
    });
    char::decode_utf16(units)
        .map(|c| c.unwrap_or(char::REPLACEMENT_CHARACTER))
        .collect()
}

/// The user and group count a PAC states; fields that do not parse are left out.
pub fn pac_summary(pac: &[u8]) -> PacSummary {
    let mut out = PacSummary::default();
    let Some(count) = u32_at(pac, 0).filter(|&n| n <= MAX_BUFFERS) else {
        return out;
    };
    let mut client_name = None;
    for i in 0..count as usize {
        let at = 8 + i * 16;
        let (Some(kind), Some(size), Some(offset)) =
            (u32_at(pac, at), u32_at(pac, at + 4), u64_at(pac, at + 8))
        else {
            break;
        };
        let buffer = usize::try_from(offset).ok().and_then(|start| {
            let end = start.checked_add(usize::try_from(size).ok()?)?;
            pac.get(start..end)
        });
        let Some(buffer) = buffer else { continue };
        match kind {
            PAC_LOGON_INFO => {
                let (user, groups) = logon_info(buffer);
                out.user = user.or(out.user);
                out.groups = groups.or(out.groups);
            }
            PAC_CLIENT_INFO => {
                let len = u16_at(buffer, 8).map(usize::from);
                client_name = len.and_then(|l| buffer.get(10..10 + l)).map(utf16);
            }
            _ => {}
        }
    }
    if out.user.is_none() {
        out.user = client_name;
    }
    out
}

/// EffectiveName and GroupCount of a KERB_VALIDATION_INFO.
fn logon_info(b: &[u8]) -> (Option<String>, Option<usize>) {
    let fixed = LOGON_FIXED_START;
    let groups = u32_at(b, fixed + GROUP_COUNT).and_then(|g| usize::try_from(g).ok());
    let has_name = u32_at(b, fixed + EFFECTIVE_NAME_PTR).is_some_and(|p| p != 0);
    let deferred = fixed + LOGON_FIXED_LEN;
    let user = has_name
        .then(|| u32_at(b, deferred + 8))
        .flatten()
        .and_then(|chars| usize::try_from(chars).ok()?.checked_mul(2))
        .and_then(|len| b.get(deferred + 12..(deferred + 12).checked_add(len)?))
        .map(utf16);
    (user, groups)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pac(buffers: &[(u32, Vec<u8>)]) -> Vec<u8> {
        let mut head = Vec::new();
        head.extend(u32::try_from(buffers.len()).unwrap().to_le_bytes());
        head.extend(0u32.to_le_bytes());
        let mut offset = 8 + 16 * buffers.len();
        let mut body: Vec<u8> = Vec::new();
        for (kind, data) in buffers {
            head.extend(kind.to_le_bytes());
            head.extend(u32::try_from(data.len()).unwrap().to_le_bytes());
            head.extend((offset as u64).to_le_bytes());
            body.extend(data);
            offset += data.len();
        }
        head.extend(body);
        head
    }

    fn utf16le(s: &str) -> Vec<u8> {
        s.encode_utf16().flat_map(u16::to_le_bytes).collect()
    }

    #[test]
    fn client_info_name_when_no_logon_info() {
        let mut ci = vec![0u8; 8];
        ci.extend(10u16.to_le_bytes());
        ci.extend(utf16le("alice"));
        let p = pac(&[(PAC_CLIENT_INFO, ci), (6, vec![0; 20])]);
        assert_eq!(
            pac_summary(&p),
            PacSummary {
                user: Some("alice".into()),
                groups: None
            }
        );
    }

    #[test]
    fn logon_info_effective_name_and_groups() {
        // Built by hand from the MS-PAC §2.5 layout: 3 groups, EffectiveName "bob".
        let mut li = vec![0u8; LOGON_FIXED_START + LOGON_FIXED_LEN];
        li[LOGON_FIXED_START + EFFECTIVE_NAME_PTR..][..4]
            .copy_from_slice(&0x20004u32.to_le_bytes());
        li[LOGON_FIXED_START + GROUP_COUNT..][..4].copy_from_slice(&3u32.to_le_bytes());
        for v in [3u32, 0, 3] {
            li.extend(v.to_le_bytes());
        }
        li.extend(utf16le("bob"));
        let s = pac_summary(&pac(&[(PAC_LOGON_INFO, li)]));
        assert_eq!((s.user.as_deref(), s.groups), (Some("bob"), Some(3)));
    }

    #[test]
    fn hostile_counts_and_offsets() {
        assert_eq!(pac_summary(&[0xff; 8]), PacSummary::default());
        let mut p = pac(&[(PAC_CLIENT_INFO, vec![0; 4])]);
        p[16..24].copy_from_slice(&u64::MAX.to_le_bytes());
        assert_eq!(pac_summary(&p), PacSummary::default());
        // Logon info claiming a huge name length.
        let mut li = vec![0u8; LOGON_FIXED_START + LOGON_FIXED_LEN + 12];
        li[LOGON_FIXED_START + EFFECTIVE_NAME_PTR] = 4;
        let n = li.len();
        li[n - 4..].copy_from_slice(&u32::MAX.to_le_bytes());
        assert_eq!(pac_summary(&pac(&[(PAC_LOGON_INFO, li)])).user, None);
    }
}
