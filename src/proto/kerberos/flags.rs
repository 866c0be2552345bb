//! KerberosFlags bit names (RFC 4120 §5.2.8 / §5.4.1 / §5.5.1 / §5.3, MS-SFU §2.2.1,
//! MS-KILE §2.2.10, RFC 6112).
//!
//! ```text
//! KerberosFlags ::= BIT STRING (SIZE (32..MAX))
//! ```
//! Bits are numbered as RFC 4120 does: bit 0 is the most significant bit of the first byte after
//! the unused-bits octet (`der::bit_string_flag`). rasn-kerberos' own helpers get this wrong (see
//! `/work/shared/notes/rasn-kerberos-measured.md`), which is one reason this module exists.

use crate::proto::der::bit_string_flag;

/// One flag table: (bit number, name).
pub type FlagTable = &'static [(usize, &'static str)];

/// KDCOptions (RFC 4120 §5.4.1; 14 from MS-SFU, 15 from RFC 6806, 16 from RFC 6112).
pub const KDC_OPTIONS: FlagTable = &[
    (0, "reserved"),
    (1, "forwardable"),
    (2, "forwarded"),
    (3, "proxiable"),
    (4, "proxy"),
    (5, "allow-postdate"),
    (6, "postdated"),
    (8, "renewable"),
    // RFC 4120 numbers opt-hardware-auth 11 (bits 9, 10, 12, 13 are unused).
    (11, "opt-hardware-auth"),
    (14, "cname-in-addl-tkt"),
    (15, "canonicalize"),
    (16, "request-anonymous"),
    (26, "disable-transited-check"),
    (27, "renewable-ok"),
    (28, "enc-tkt-in-skey"),
    (30, "renew"),
    (31, "validate"),
];

/// APOptions (RFC 4120 §5.5.1).
pub const AP_OPTIONS: FlagTable = &[
    (0, "reserved"),
    (1, "use-session-key"),
    (2, "mutual-required"),
];

/// TicketFlags (RFC 4120 §5.3, RFC 6112 anonymous, MS-KILE enc-pa-rep): for ticket decryption.
pub const TICKET_FLAGS: FlagTable = &[
    (0, "reserved"),
    (1, "forwardable"),
    (2, "forwarded"),
    (3, "proxiable"),
    (4, "proxy"),
    (5, "may-postdate"),
    (6, "postdated"),
    (7, "invalid"),
    (8, "renewable"),
    (9, "initial"),
    (10, "pre-authent"),
    (11, "hw-authent"),
    (12, "transited-policy-checked"),
    (13, "ok-as-delegate"),
    (15, "enc-pa-rep"),
    (16, "anonymous"),
];

/// PA-PAC-OPTIONS flags (MS-KILE §2.2.10, MS-SFU §2.2.5).
pub const PAC_OPTIONS: FlagTable = &[
    (0, "claims"),
    (1, "branch-aware"),
    (2, "forward-to-full-dc"),
    (3, "resource-based-constrained-delegation"),
];

/// Names of the set bits of a BIT STRING's contents (unused-bits octet first), in bit order.
/// Set bits that the table does not name are left out; `first_word_hex` still shows them.
pub fn flag_names(bit_string: &[u8], table: FlagTable) -> Vec<&'static str> {
    table
        .iter()
        .filter(|(bit, _)| bit_string_flag(bit_string, *bit))
        .map(|(_, name)| *name)
        .collect()
}

/// The first 32 flag bits as "0x%08x", the way tshark prints `kerberos.kdc_options`
/// (missing bytes read as zero).
pub fn first_word_hex(bit_string: &[u8]) -> String {
    let word = (0..4).fold(0u32, |acc, i| {
        (acc << 8) | u32::from(bit_string.get(1 + i).copied().unwrap_or(0))
    });
    format!("0x{word:08x}")
}

#[cfg(test)]
mod tests {
    use super::*;

    // BIT STRING contents: unused-bits octet 0, then the 32 flag bits.
    fn bits(word: u32) -> Vec<u8> {
        let mut v = vec![0];
        v.extend(word.to_be_bytes());
        v
    }

    #[test]
    fn kdc_options_seen_in_public_captures() {
        // Values and their tshark decodes from SOURCES.md / the *.tshark.tsv files.
        assert_eq!(
            flag_names(&bits(0x4081_0010), KDC_OPTIONS),
            ["forwardable", "renewable", "canonicalize", "renewable-ok"]
        );
        assert_eq!(
            flag_names(&bits(0x6000_0000), KDC_OPTIONS),
            ["forwardable", "forwarded"]
        );
        assert_eq!(
            flag_names(&bits(0x0001_0002), KDC_OPTIONS),
            ["canonicalize", "renew"]
        );
        assert_eq!(
            flag_names(&bits(0x4083_0000), KDC_OPTIONS),
            [
                "forwardable",
                "renewable",
                "cname-in-addl-tkt",
                "canonicalize"
            ]
        );
        assert_eq!(first_word_hex(&bits(0x4081_0010)), "0x40810010");
    }

    #[test]
    fn short_and_empty_bit_strings_read_as_clear() {
        assert_eq!(flag_names(&[], KDC_OPTIONS), Vec::<&str>::new());
        assert_eq!(first_word_hex(&[0x00, 0x40]), "0x40000000");
        assert_eq!(first_word_hex(&[]), "0x00000000");
        assert_eq!(flag_names(&[0x00, 0x20], AP_OPTIONS), ["mutual-required"]);
        assert_eq!(
            flag_names(&[0x04, 0x10], PAC_OPTIONS),
            ["resource-based-constrained-delegation"]
        );
    }
}
