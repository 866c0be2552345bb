//! NTLMSSP AV_PAIR lists (MS-NLMP 2.2.2.1): the TargetInfo of a CHALLENGE message and the tail
//! of an NTLMv2 client challenge in an AUTHENTICATE message.
//!
//! ```text
//! AV_PAIR: AvId u16 LE | AvLen u16 LE | Value[AvLen]   ... repeated, ended by MsvAvEOL (0, 0)
//! ```
//!
//! Names are UTF-16LE. Only names, flags and presence survive decoding: channel-binding hashes
//! and MsvAvSingleHost restrictions are not copied.

use serde::Serialize;

use super::text::utf16le;

/// An AV_PAIR identifier (MS-NLMP 2.2.2.1 AvId).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct AvId(pub u16);

impl AvId {
    pub const EOL: AvId = AvId(0);
    pub const NB_COMPUTER_NAME: AvId = AvId(1);
    pub const NB_DOMAIN_NAME: AvId = AvId(2);
    pub const DNS_COMPUTER_NAME: AvId = AvId(3);
    pub const DNS_DOMAIN_NAME: AvId = AvId(4);
    pub const DNS_TREE_NAME: AvId = AvId(5);
    pub const FLAGS: AvId = AvId(6);
    pub const TIMESTAMP: AvId = AvId(7);
    pub const SINGLE_HOST: AvId = AvId(8);
    pub const TARGET_NAME: AvId = AvId(9);
    pub const CHANNEL_BINDINGS: AvId = AvId(10);
}

/// MsvAvFlags bits (MS-NLMP 2.2.2.1), value → name.
const AV_FLAG_NAMES: [(u32, &str); 3] = [
    (0x0000_0001, "account-authentication-constrained"),
    (0x0000_0002, "mic-present"),
    (0x0000_0004, "target-spn-from-untrusted-source"),
];

/// MsvAvFlags bit 0x2: the AUTHENTICATE message carries a MIC.
pub const AV_FLAG_MIC_PRESENT: u32 = 0x0000_0002;

/// What an AV_PAIR list says, without any hash or restriction bytes.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize)]
pub struct AvPairs {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub nb_computer: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub nb_domain: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub dns_computer: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub dns_domain: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub dns_tree: Option<String>,
    /// MsvAvTargetName: the SPN the client meant to authenticate to (AUTHENTICATE only).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub target_spn: Option<String>,
    pub timestamp_present: bool,
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    pub single_host_present: bool,
    /// MsvAvChannelBindings: `Some(false)` when present but all zero (no channel binding).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub channel_bindings_nonzero: Option<bool>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub av_flags: Vec<&'static str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub av_flags_raw: Option<u32>,
    /// The list ran past its buffer or lacked MsvAvEOL.
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    pub truncated: bool,
    /// A name was not valid UTF-16 and was decoded with replacement characters.
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    pub lossy: bool,
}

impl AvPairs {
    pub fn mic_present(&self) -> bool {
        self.av_flags_raw
            .is_some_and(|f| f & AV_FLAG_MIC_PRESENT != 0)
    }
}

fn name(value: &[u8], lossy: &mut bool) -> String {
    let (s, was_lossy) = utf16le(value);
    *lossy |= was_lossy;
    s
}

/// Walk an AV_PAIR list. Never fails: a list cut short is flagged `truncated`.
pub fn parse_av_pairs(mut rest: &[u8]) -> AvPairs {
    let mut out = AvPairs::default();
    loop {
        let Some((&[id0, id1, len0, len1], after)) = rest.split_first_chunk::<4>() else {
            out.truncated = true;
            return out;
        };
        let id = AvId(u16::from_le_bytes([id0, id1]));
        let len = usize::from(u16::from_le_bytes([len0, len1]));
        if id == AvId::EOL {
            return out;
        }
        let Some((value, after_value)) = after.split_at_checked(len) else {
            out.truncated = true;
            return out;
        };
        rest = after_value;
        let lossy = &mut out.lossy;
        match id {
            AvId::NB_COMPUTER_NAME => out.nb_computer = Some(name(value, lossy)),
            AvId::NB_DOMAIN_NAME => out.nb_domain = Some(name(value, lossy)),
            AvId::DNS_COMPUTER_NAME => out.dns_computer = Some(name(value, lossy)),
            AvId::DNS_DOMAIN_NAME => out.dns_domain = Some(name(value, lossy)),
            AvId::DNS_TREE_NAME => out.dns_tree = Some(name(value, lossy)),
            AvId::TARGET_NAME => out.target_spn = Some(name(value, lossy)),
            AvId::FLAGS => {
                if let Some(&[a, b, c, d]) = value.get(..4) {
                    let flags = u32::from_le_bytes([a, b, c, d]);
                    out.av_flags_raw = Some(flags);
                    out.av_flags = AV_FLAG_NAMES
                        .iter()
                        .filter(|(bit, _)| flags & bit != 0)
                        .map(|&(_, n)| n)
                        .collect();
                }
            }
            AvId::TIMESTAMP => out.timestamp_present = true,
            AvId::SINGLE_HOST => out.single_host_present = true,
            AvId::CHANNEL_BINDINGS => {
                out.channel_bindings_nonzero = Some(value.iter().any(|&b| b != 0));
            }
            _ => {}
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pair(id: u16, value: &[u8]) -> Vec<u8> {
        let mut v = id.to_le_bytes().to_vec();
        v.extend((value.len() as u16).to_le_bytes());
        v.extend(value);
        v
    }

    fn utf16(s: &str) -> Vec<u8> {
        s.encode_utf16().flat_map(u16::to_le_bytes).collect()
    }

    #[test]
    fn names_flags_and_presence() {
        let mut list = pair(2, &utf16("ADHACKING"));
        list.extend(pair(9, &utf16("cifs/10.1.10.36")));
        list.extend(pair(6, &[0x02, 0, 0, 0]));
        list.extend(pair(7, &[1; 8]));
        list.extend(pair(10, &[0; 16]));
        list.extend(pair(0x77, b"future"));
        list.extend(pair(0, &[]));
        let av = parse_av_pairs(&list);
        assert_eq!(av.nb_domain.as_deref(), Some("ADHACKING"));
        assert_eq!(av.target_spn.as_deref(), Some("cifs/10.1.10.36"));
        assert_eq!(av.av_flags, vec!["mic-present"]);
        assert!(av.mic_present() && av.timestamp_present && !av.truncated);
        assert_eq!(av.channel_bindings_nonzero, Some(false));
    }

    #[test]
    fn cut_lists_are_flagged_not_fatal() {
        let mut list = pair(1, &utf16("HOST"));
        list.extend([3, 0, 0xff, 0xff, b'x']); // claims 65535 bytes, has 1
        let av = parse_av_pairs(&list);
        assert_eq!(av.nb_computer.as_deref(), Some("HOST"));
        assert!(av.truncated);
        assert!(parse_av_pairs(&[1, 0]).truncated);
        // A lone high surrogate is kept lossily and flagged.
        let av = parse_av_pairs(&[&pair(5, &[0x00, 0xd8])[..], &[0, 0, 0, 0]].concat());
        assert_eq!((av.dns_tree.as_deref(), av.lossy), (Some("\u{fffd}"), true));
    }
}
