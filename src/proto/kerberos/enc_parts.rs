//! Decrypted Kerberos parts (RFC 4120 §5.3 EncTicketPart, §5.4.2 EncKDCRepPart, §5.8.1
//! EncKrbCredPart, §5.2.6 AuthorizationData), read from plaintext `crate::crypto` produced.
//!
//! ```text
//! EncTicketPart ::= [APPLICATION 3] SEQUENCE { flags [0] TicketFlags, key [1] EncryptionKey,
//!     crealm [2] Realm, cname [3] PrincipalName, transited [4] TransitedEncoding,
//!     authtime [5] KerberosTime, starttime [6] OPTIONAL, endtime [7], renew-till [8] OPTIONAL,
//!     caddr [9] HostAddresses OPTIONAL, authorization-data [10] AuthorizationData OPTIONAL }
//! EncASRepPart ::= [APPLICATION 25] EncKDCRepPart   EncTGSRepPart ::= [APPLICATION 26] ...
//! EncKDCRepPart ::= SEQUENCE { key [0] EncryptionKey, last-req [1], nonce [2] UInt32,
//!     key-expiration [3] OPTIONAL, flags [4] TicketFlags, authtime [5], starttime [6] OPTIONAL,
//!     endtime [7], renew-till [8] OPTIONAL, srealm [9] Realm, sname [10] PrincipalName, ... }
//! EncKrbCredPart ::= [APPLICATION 29] SEQUENCE { ticket-info [0] SEQUENCE OF KrbCredInfo, ... }
//! KrbCredInfo ::= SEQUENCE { key [0] EncryptionKey, prealm [1] OPTIONAL, pname [2] OPTIONAL,
//!     flags [3] TicketFlags OPTIONAL, authtime [4] OPTIONAL, ..., srealm [8] OPTIONAL,
//!     sname [9] OPTIONAL, ... }
//! EncryptionKey ::= SEQUENCE { keytype [0] Int32, keyvalue [1] OCTET STRING }
//! AuthorizationData ::= SEQUENCE OF SEQUENCE { ad-type [0] Int32, ad-data [1] OCTET STRING }
//! ```
//! Keys read here are secrets: `KeyBlock` has no `Serialize` and its `Debug` shows no bytes.

use std::fmt;

use super::KrbDecodeError;
use super::fields::{self, Ctx, Elem};
use super::flags::{TICKET_FLAGS, flag_names};
use crate::proto::der::{self, Class};

/// AD-IF-RELEVANT (RFC 4120 §5.2.6.1): a container of further AuthorizationData.
const AD_IF_RELEVANT: i32 = 1;
/// AD-WIN2K-PAC (MS-PAC §2.3, RFC 4120 §7.5.4): the Privilege Attribute Certificate.
const AD_WIN2K_PAC: i32 = 128;
/// Containers nest; real tickets use one level, the bound stops a hostile loop.
const MAX_AD_DEPTH: usize = 4;

/// An EncryptionKey. The key bytes never leave the crate's crypto code in any output.
#[derive(Clone, PartialEq, Eq)]
pub struct KeyBlock {
    pub keytype: i32,
    pub keyvalue: Vec<u8>,
}

impl fmt::Debug for KeyBlock {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "KeyBlock {{ keytype: {}, keyvalue: <{} bytes redacted> }}",
            self.keytype,
            self.keyvalue.len()
        )
    }
}

/// What a decrypted ticket says.
#[derive(Clone, Debug)]
pub struct EncTicketPart {
    pub flags: Vec<&'static str>,
    pub key: KeyBlock,
    pub crealm: String,
    pub cname: String,
    pub authtime: String,
    /// The PAC (AD-WIN2K-PAC contents) when the ticket carries one.
    pub pac: Option<Vec<u8>>,
}

/// What a decrypted AS-REP / TGS-REP enc-part says about the ticket it came with.
#[derive(Clone, Debug)]
pub struct EncKdcRepPart {
    pub key: KeyBlock,
    pub flags: Vec<&'static str>,
    pub authtime: String,
    pub srealm: String,
    pub sname: String,
}

/// One KrbCredInfo of a decrypted KRB-CRED.
#[derive(Clone, Debug)]
pub struct KrbCredInfo {
    pub key: KeyBlock,
    pub client: Option<String>,
    pub service: Option<String>,
    pub flags: Vec<&'static str>,
    pub authtime: Option<String>,
}

fn malformed(at: usize, what: &'static str) -> KrbDecodeError {
    KrbDecodeError::Malformed { offset: at, what }
}

/// The `[APPLICATION tag]` element at the start of a plaintext (trailing bytes are padding).
fn application<'a>(plain: &'a [u8], tags: &[u32]) -> Result<Elem<'a>, KrbDecodeError> {
    let (e, _) = fields::read_inner(plain, 0)?;
    if e.tlv.class != Class::Application || !tags.contains(&e.tlv.tag) {
        return Err(malformed(0, "unexpected APPLICATION tag in plaintext"));
    }
    Ok(e)
}

fn key_block(e: Elem<'_>, ctx: &mut Ctx) -> Result<KeyBlock, KrbDecodeError> {
    let f = fields::sequence(e, 1, ctx)?;
    Ok(KeyBlock {
        keytype: fields::int32(f.required(0, "EncryptionKey without keytype")?)?,
        keyvalue: fields::octets(f.required(1, "EncryptionKey without keyvalue")?)?.to_vec(),
    })
}

fn ticket_flags(e: Elem<'_>) -> Result<Vec<&'static str>, KrbDecodeError> {
    Ok(flag_names(fields::bit_string(e)?, TICKET_FLAGS))
}

fn name_at_realm(name: Elem<'_>, realm: &str, ctx: &mut Ctx) -> Result<String, KrbDecodeError> {
    Ok(format!("{}@{realm}", fields::principal(name, ctx)?.1))
}

/// EncTicketPart from a decrypted ticket.
pub fn enc_ticket_part(plain: &[u8]) -> Result<EncTicketPart, KrbDecodeError> {
    let mut ctx = Ctx::default();
    let f = fields::application_sequence(application(plain, &[3])?, 10, &mut ctx)?;
    let crealm = fields::string(f.required(2, "EncTicketPart without crealm")?, &mut ctx)?;
    let cname = name_at_realm(
        f.required(3, "EncTicketPart without cname")?,
        &crealm,
        &mut ctx,
    )?;
    let pac = match f.get(10) {
        Some(ad) => find_pac(ad, 0, &mut ctx)?.map(<[u8]>::to_vec),
        None => None,
    };
    Ok(EncTicketPart {
        flags: ticket_flags(f.required(0, "EncTicketPart without flags")?)?,
        key: key_block(f.required(1, "EncTicketPart without key")?, &mut ctx)?,
        crealm,
        cname,
        authtime: fields::time(f.required(5, "EncTicketPart without authtime")?)?,
        pac,
    })
}

/// EncASRepPart / EncTGSRepPart (either tag is accepted for either reply, as MIT and Windows
/// have both been seen to use 26 for AS replies).
pub fn enc_kdc_rep_part(plain: &[u8]) -> Result<EncKdcRepPart, KrbDecodeError> {
    let mut ctx = Ctx::default();
    let f = fields::application_sequence(application(plain, &[25, 26])?, 12, &mut ctx)?;
    let srealm = fields::string(f.required(9, "EncKDCRepPart without srealm")?, &mut ctx)?;
    Ok(EncKdcRepPart {
        key: key_block(f.required(0, "EncKDCRepPart without key")?, &mut ctx)?,
        flags: ticket_flags(f.required(4, "EncKDCRepPart without flags")?)?,
        authtime: fields::time(f.required(5, "EncKDCRepPart without authtime")?)?,
        sname: name_at_realm(
            f.required(10, "EncKDCRepPart without sname")?,
            &srealm,
            &mut ctx,
        )?,
        srealm,
    })
}

/// The KrbCredInfo list of a decrypted (or, with etype 0, plain) EncKrbCredPart.
pub fn enc_krb_cred_part(plain: &[u8]) -> Result<Vec<KrbCredInfo>, KrbDecodeError> {
    let mut ctx = Ctx::default();
    let f = fields::application_sequence(application(plain, &[29])?, 5, &mut ctx)?;
    let list = f.required(0, "EncKrbCredPart without ticket-info")?;
    let mut out = Vec::new();
    for info in fields::children(list) {
        let i = fields::sequence(info?, 10, &mut ctx)?;
        let realm = |tag: usize, ctx: &mut Ctx| i.get(tag).map(|r| fields::string(r, ctx));
        let prealm = realm(1, &mut ctx).transpose()?.unwrap_or_default();
        let srealm = realm(8, &mut ctx).transpose()?.unwrap_or_default();
        out.push(KrbCredInfo {
            key: key_block(i.required(0, "KrbCredInfo without key")?, &mut ctx)?,
            client: i
                .get(2)
                .map(|n| name_at_realm(n, &prealm, &mut ctx))
                .transpose()?,
            service: i
                .get(9)
                .map(|n| name_at_realm(n, &srealm, &mut ctx))
                .transpose()?,
            flags: i.get(3).map(ticket_flags).transpose()?.unwrap_or_default(),
            authtime: i.get(4).map(fields::time).transpose()?,
        });
    }
    Ok(out)
}

/// The PAC inside AuthorizationData, looking into AD-IF-RELEVANT containers.
fn find_pac<'a>(
    ad: Elem<'a>,
    depth: usize,
    ctx: &mut Ctx,
) -> Result<Option<&'a [u8]>, KrbDecodeError> {
    if depth > MAX_AD_DEPTH {
        return Ok(None);
    }
    for entry in fields::children(ad) {
        let f = fields::sequence(entry?, 1, ctx)?;
        let ad_type = fields::int32(f.required(0, "AuthorizationData without ad-type")?)?;
        let data = f.required(1, "AuthorizationData without ad-data")?;
        let bytes = fields::octets(data)?;
        match ad_type {
            AD_WIN2K_PAC => return Ok(Some(bytes)),
            AD_IF_RELEVANT => {
                let (inner, _) = fields::read_inner(bytes, data.value_at())?;
                if inner.tlv.is(Class::Universal, 16)
                    && let Some(pac) = find_pac(inner, depth + 1, ctx)?
                {
                    return Ok(Some(pac));
                }
            }
            _ => {}
        }
    }
    Ok(None)
}

/// Whether a plaintext starts like the DER element a correct key yields (a cheap sanity check
/// after a checksum already matched).
pub fn starts_with_application(plain: &[u8], tag: u32) -> bool {
    der::read_tlv(plain).is_ok_and(|(t, _)| t.is(Class::Application, tag))
}

/// KrbFastResponse (RFC 6113 §5.4.3), decrypted from a reply's PA-FX-FAST: its strengthen-key,
/// which with the request's reply key gives the key of the KDC-REP enc-part.
///
/// ```text
/// KrbFastResponse ::= SEQUENCE { padata [0] SEQUENCE OF PA-DATA,
///     strengthen-key [1] EncryptionKey OPTIONAL, finished [2] KrbFastFinished OPTIONAL,
///     nonce [3] UInt32 }
/// ```
pub fn fast_response_strengthen_key(plain: &[u8]) -> Result<Option<KeyBlock>, KrbDecodeError> {
    let mut ctx = Ctx::default();
    let (seq, _) = fields::read_inner(plain, 0)?;
    let f = fields::sequence(seq, 3, &mut ctx)?;
    f.get(1).map(|k| key_block(k, &mut ctx)).transpose()
}
