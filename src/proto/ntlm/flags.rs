//! NTLMSSP NegotiateFlags (MS-NLMP 2.2.2.5): one table maps every bit to its name, so a message
//! with reserved or future bits still decodes and shows them.

/// The 32-bit NegotiateFlags field, little-endian on the wire.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub struct NegotiateFlags(pub u32);

impl NegotiateFlags {
    pub const UNICODE: NegotiateFlags = NegotiateFlags(0x0000_0001);
    pub const OEM: NegotiateFlags = NegotiateFlags(0x0000_0002);
    pub const REQUEST_TARGET: NegotiateFlags = NegotiateFlags(0x0000_0004);
    pub const SIGN: NegotiateFlags = NegotiateFlags(0x0000_0010);
    pub const SEAL: NegotiateFlags = NegotiateFlags(0x0000_0020);
    pub const DATAGRAM: NegotiateFlags = NegotiateFlags(0x0000_0040);
    pub const LM_KEY: NegotiateFlags = NegotiateFlags(0x0000_0080);
    pub const NTLM: NegotiateFlags = NegotiateFlags(0x0000_0200);
    pub const ANONYMOUS: NegotiateFlags = NegotiateFlags(0x0000_0800);
    pub const OEM_DOMAIN_SUPPLIED: NegotiateFlags = NegotiateFlags(0x0000_1000);
    pub const OEM_WORKSTATION_SUPPLIED: NegotiateFlags = NegotiateFlags(0x0000_2000);
    pub const ALWAYS_SIGN: NegotiateFlags = NegotiateFlags(0x0000_8000);
    pub const TARGET_TYPE_DOMAIN: NegotiateFlags = NegotiateFlags(0x0001_0000);
    pub const TARGET_TYPE_SERVER: NegotiateFlags = NegotiateFlags(0x0002_0000);
    pub const EXTENDED_SESSION_SECURITY: NegotiateFlags = NegotiateFlags(0x0008_0000);
    pub const IDENTIFY: NegotiateFlags = NegotiateFlags(0x0010_0000);
    pub const REQUEST_NON_NT_SESSION_KEY: NegotiateFlags = NegotiateFlags(0x0040_0000);
    pub const TARGET_INFO: NegotiateFlags = NegotiateFlags(0x0080_0000);
    pub const VERSION: NegotiateFlags = NegotiateFlags(0x0200_0000);
    pub const NEGOTIATE_128: NegotiateFlags = NegotiateFlags(0x2000_0000);
    pub const KEY_EXCH: NegotiateFlags = NegotiateFlags(0x4000_0000);
    pub const NEGOTIATE_56: NegotiateFlags = NegotiateFlags(0x8000_0000);

    pub fn contains(self, flag: NegotiateFlags) -> bool {
        self.0 & flag.0 == flag.0
    }

    /// Names of the set bits, lowest bit first.
    pub fn names(self) -> Vec<&'static str> {
        (0..32)
            .filter(|bit| self.0 & (1u32 << bit) != 0)
            .map(|bit| FLAG_NAMES.get(bit).copied().unwrap_or("unknown"))
            .collect()
    }

    /// The raw value as `0x` + 8 hex digits, the way MS-NLMP and Wireshark print it.
    pub fn hex(self) -> String {
        format!("0x{:08x}", self.0)
    }
}

/// Bit `n` (value `1 << n`) → name. MS-NLMP letters the bits; the reserved ones (r1..r10) are
/// named after their value so that a capture using them stays readable.
const FLAG_NAMES: [&str; 32] = [
    "unicode",                    // 0x00000001 A
    "oem",                        // 0x00000002 B
    "request-target",             // 0x00000004 C
    "reserved-0x00000008",        // r10
    "sign",                       // 0x00000010 D
    "seal",                       // 0x00000020 E
    "datagram",                   // 0x00000040 F
    "lm-key",                     // 0x00000080 G
    "reserved-0x00000100",        // r9
    "ntlm",                       // 0x00000200 H
    "reserved-0x00000400",        // r8
    "anonymous",                  // 0x00000800 J
    "oem-domain-supplied",        // 0x00001000 K
    "oem-workstation-supplied",   // 0x00002000 L
    "reserved-0x00004000",        // r7
    "always-sign",                // 0x00008000 M
    "target-type-domain",         // 0x00010000 N
    "target-type-server",         // 0x00020000 O
    "reserved-0x00040000",        // r6
    "extended-session-security",  // 0x00080000 P
    "identify",                   // 0x00100000 Q
    "reserved-0x00200000",        // r5
    "request-non-nt-session-key", // 0x00400000 R
    "target-info",                // 0x00800000 S
    "reserved-0x01000000",        // r4
    "version",                    // 0x02000000 T
    "reserved-0x04000000",        // r3
    "reserved-0x08000000",        // r2
    "reserved-0x10000000",        // r1
    "128",                        // 0x20000000 U
    "key-exch",                   // 0x40000000 V
    "56",                         // 0x80000000 W
];

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_follow_the_table() {
        // ndpi__webdav.pcap frame 19: tshark prints 0x028a8206 as Negotiate Version, Target Info,
        // Extended Security, Target Type Server, Always Sign, NTLM key, Request Target, OEM.
        let f = NegotiateFlags(0x028a_8206);
        assert_eq!(
            f.names(),
            vec![
                "oem",
                "request-target",
                "ntlm",
                "always-sign",
                "target-type-server",
                "extended-session-security",
                "target-info",
                "version"
            ]
        );
        assert_eq!(f.hex(), "0x028a8206");
        assert!(f.contains(NegotiateFlags::VERSION));
        assert!(!f.contains(NegotiateFlags::UNICODE));
        assert_eq!(
            NegotiateFlags(0x0000_0008).names(),
            vec!["reserved-0x00000008"]
        );
        assert_eq!(NegotiateFlags(u32::MAX).names().len(), 32);
    }
}
