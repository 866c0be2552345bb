//! GSS-API mechanism OIDs seen in SPNEGO mechanism lists and GSS framing (RFC 4121 §1,
//! RFC 4178 §4.1, MS-SPNG 1.9, MS-NLMP 1.9, MS-NEGOEX, draft-ietf-kitten-iakerb).

use serde::Serialize;

/// SPNEGO itself (RFC 4178 §3).
pub const SPNEGO_OID: &str = "1.3.6.1.5.5.2";

/// Dotted OID → short name; anything else is "unknown" and keeps its OID.
const MECH_NAMES: [(&str, &str); 8] = [
    ("1.2.840.113554.1.2.2", "krb5"),
    // The OID Windows 2000 sent by mistake (bytes of 113554 truncated to 16 bits); still sent
    // first by every Windows client.
    ("1.2.840.48018.1.2.2", "ms-krb5"),
    // Kerberos user-to-user (draft-swift-win2k-krb-user2user).
    ("1.2.840.113554.1.2.2.3", "krb5-u2u"),
    ("1.3.6.1.5.2.5", "iakerb"),
    ("1.3.6.1.4.1.311.2.2.10", "ntlmssp"),
    ("1.3.6.1.4.1.311.2.2.30", "negoex"),
    (SPNEGO_OID, "spnego"),
    ("1.3.6.1.5.2.7", "pku2u"),
];

/// One mechanism: its OID in dotted form and a short name.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Mech {
    pub oid: String,
    pub name: &'static str,
}

impl Mech {
    pub fn from_oid(oid: String) -> Mech {
        let name = MECH_NAMES
            .iter()
            .find(|(known, _)| *known == oid)
            .map_or("unknown", |&(_, name)| name);
        Mech { oid, name }
    }

    /// Kerberos V5 under any of its OIDs, whose tokens carry an RFC 4121 TOK_ID.
    pub fn is_kerberos(&self) -> bool {
        matches!(self.name, "krb5" | "ms-krb5" | "krb5-u2u" | "iakerb")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_from_one_table() {
        let m = Mech::from_oid("1.2.840.48018.1.2.2".to_string());
        assert_eq!((m.name, m.is_kerberos()), ("ms-krb5", true));
        assert_eq!(Mech::from_oid("1.3.6.1.5.2.5".into()).name, "iakerb");
        assert_eq!(
            Mech::from_oid("1.3.6.1.4.1.311.2.2.10".into()).name,
            "ntlmssp"
        );
        assert!(!Mech::from_oid("1.3.6.1.4.1.311.2.2.30".into()).is_kerberos());
        let odd = Mech::from_oid("1.2.752.43.14.3".into());
        assert_eq!((odd.name, odd.oid.as_str()), ("unknown", "1.2.752.43.14.3"));
    }
}
