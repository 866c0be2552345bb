//! The decrypted Authenticator (RFC 4120 §5.5.1) and the Kerberos GSS-API checksum it carries
//! in an AP-REQ from a GSS initiator (RFC 4121 §4.1.1, checksum type 0x8003), whose flags say
//! whether the client asked for delegation and mutual authentication, and whose Deleg field
//! holds the KRB-CRED with the forwarded TGT.
//!
//! ```text
//! Authenticator ::= [APPLICATION 2] SEQUENCE { authenticator-vno [0] INTEGER (5),
//!     crealm [1] Realm, cname [2] PrincipalName, cksum [3] Checksum OPTIONAL,
//!     cusec [4] Microseconds, ctime [5] KerberosTime, subkey [6] EncryptionKey OPTIONAL,
//!     seq-number [7] UInt32 OPTIONAL, authorization-data [8] AuthorizationData OPTIONAL }
//! Checksum ::= SEQUENCE { cksumtype [0] Int32, checksum [1] OCTET STRING }
//! 0x8003 checksum: Lgth (4, LE, = 16) | Bnd (16) | Flags (4, LE)
//!                  [ DlgOpt (2, LE, = 1) | Dlgth (2, LE) | Deleg (KRB-CRED) ]  -- if GSS_C_DELEG_FLAG
//!                  [ Exts ]
//! ```

use super::KrbDecodeError;
use super::enc_parts::KeyBlock;
use super::fields::{self, Ctx};

/// RFC 4121 §4.1.1: the checksum type that carries GSS flags instead of a hash.
pub const GSS_CHECKSUM_TYPE: i32 = 0x8003;

/// GSS-API context flags (RFC 2744 §3.x values, RFC 4757 / MS-KILE additions), one name table.
pub const GSS_FLAGS: &[(u32, &str)] = &[
    (0x1, "deleg"),
    (0x2, "mutual"),
    (0x4, "replay"),
    (0x8, "sequence"),
    (0x10, "conf"),
    (0x20, "integ"),
    (0x40, "anon"),
    (0x1000, "dce-style"),
    (0x2000, "identify"),
    (0x4000, "extended-error"),
];

const GSS_C_DELEG_FLAG: u32 = 0x1;
/// Lgth + Bnd + Flags.
const GSS_CHECKSUM_FIXED: usize = 24;

/// What a decrypted Authenticator says.
#[derive(Clone, Debug)]
pub struct Authenticator {
    /// "cname@crealm".
    pub client: String,
    pub cksum_type: Option<i32>,
    /// Present when the checksum is the GSS 0x8003 form.
    pub gss: Option<GssChecksum>,
    pub subkey: Option<KeyBlock>,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct GssChecksum {
    pub flags_raw: u32,
    pub flags: Vec<&'static str>,
    /// The Deleg field (a KRB-CRED), when the delegation flag and DlgOpt 1 are present.
    pub deleg: Option<Vec<u8>>,
    /// The delegation flag was set but the Deleg field is missing or cut short.
    pub deleg_malformed: bool,
}

fn le_u16(b: &[u8], at: usize) -> Option<u16> {
    b.get(at..at + 2)
        .and_then(|s| s.try_into().ok())
        .map(u16::from_le_bytes)
}

fn le_u32(b: &[u8], at: usize) -> Option<u32> {
    b.get(at..at + 4)
        .and_then(|s| s.try_into().ok())
        .map(u32::from_le_bytes)
}

/// Read an RFC 4121 §4.1.1 checksum value; `None` when shorter than its fixed part.
pub fn gss_checksum(value: &[u8]) -> Option<GssChecksum> {
    let flags_raw = le_u32(value, 20)?;
    if value.len() < GSS_CHECKSUM_FIXED {
        return None;
    }
    let flags = GSS_FLAGS
        .iter()
        .filter(|(bit, _)| flags_raw & bit != 0)
        .map(|(_, name)| *name)
        .collect();
    let mut deleg = None;
    let mut deleg_malformed = false;
    if flags_raw & GSS_C_DELEG_FLAG != 0 {
        let opt = le_u16(value, GSS_CHECKSUM_FIXED);
        let len = le_u16(value, GSS_CHECKSUM_FIXED + 2).map(usize::from);
        let start = GSS_CHECKSUM_FIXED + 4;
        match (opt, len) {
            (Some(1), Some(len)) => match value.get(start..start + len) {
                Some(cred) => deleg = Some(cred.to_vec()),
                None => deleg_malformed = true,
            },
            _ => deleg_malformed = true,
        }
    }
    Some(GssChecksum {
        flags_raw,
        flags,
        deleg,
        deleg_malformed,
    })
}

/// Decode a decrypted Authenticator.
pub fn authenticator(plain: &[u8]) -> Result<Authenticator, KrbDecodeError> {
    let mut ctx = Ctx::default();
    let (app, _) = fields::read_inner(plain, 0)?;
    if !app.tlv.is(crate::proto::der::Class::Application, 2) {
        return Err(KrbDecodeError::Malformed {
            offset: 0,
            what: "expected Authenticator [APPLICATION 2]",
        });
    }
    let f = fields::application_sequence(app, 8, &mut ctx)?;
    let crealm = fields::string(f.required(1, "Authenticator without crealm")?, &mut ctx)?;
    let (_, cname) = fields::principal(f.required(2, "Authenticator without cname")?, &mut ctx)?;
    let mut cksum_type = None;
    let mut gss = None;
    if let Some(ck) = f.get(3) {
        let c = fields::sequence(ck, 1, &mut ctx)?;
        let t = fields::int32(c.required(0, "Checksum without cksumtype")?)?;
        cksum_type = Some(t);
        if t == GSS_CHECKSUM_TYPE {
            gss = gss_checksum(fields::octets(c.required(1, "Checksum without value")?)?);
        }
    }
    let subkey = match f.get(6) {
        Some(k) => {
            let s = fields::sequence(k, 1, &mut ctx)?;
            Some(KeyBlock {
                keytype: fields::int32(s.required(0, "subkey without keytype")?)?,
                keyvalue: fields::octets(s.required(1, "subkey without keyvalue")?)?.to_vec(),
            })
        }
        None => None,
    };
    Ok(Authenticator {
        client: format!("{cname}@{crealm}"),
        cksum_type,
        gss,
        subkey,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn checksum(flags: u32, deleg: Option<&[u8]>) -> Vec<u8> {
        let mut v = 16u32.to_le_bytes().to_vec();
        v.extend([0u8; 16]);
        v.extend(flags.to_le_bytes());
        if let Some(d) = deleg {
            v.extend(1u16.to_le_bytes());
            v.extend(u16::try_from(d.len()).unwrap().to_le_bytes());
            v.extend(d);
        }
        v
    }

    #[test]
    fn flags_and_delegation_field() {
        // MIT's flags for curl --negotiate: mutual | sequence | conf | integ (0x3a), + deleg.
        let g = gss_checksum(&checksum(0x3b, Some(&[0x76, 0x00]))).unwrap();
        assert_eq!(g.flags, ["deleg", "mutual", "sequence", "conf", "integ"]);
        assert_eq!(g.deleg.as_deref(), Some(&[0x76, 0x00][..]));
        let g = gss_checksum(&checksum(0x3a, None)).unwrap();
        assert_eq!((g.deleg, g.deleg_malformed), (None, false));
    }

    #[test]
    fn short_or_cut_checksums_do_not_panic() {
        assert!(gss_checksum(&[0; 23]).is_none());
        let mut cut = checksum(0x3b, Some(&[1, 2, 3, 4]));
        cut.truncate(cut.len() - 2);
        let g = gss_checksum(&cut).unwrap();
        assert!(g.deleg.is_none() && g.deleg_malformed);
        // Delegation flag without any DlgOpt.
        assert!(gss_checksum(&checksum(0x1, None)).unwrap().deleg_malformed);
    }
}
