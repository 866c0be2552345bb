//! Pre-authentication data and KRB-ERROR e-data (RFC 4120 §5.2.7 / §5.9.1, RFC 6113 FAST,
//! MS-SFU §2.2.1–2.2.2 S4U2Self, MS-KILE §2.2.1–2.2.2 KERB-ERROR-DATA, §2.2.10 PA-PAC-OPTIONS).
//!
//! ```text
//! PA-DATA      ::= SEQUENCE { padata-type [1] Int32, padata-value [2] OCTET STRING }
//! METHOD-DATA  ::= SEQUENCE OF PA-DATA
//! TYPED-DATA   ::= SEQUENCE SIZE (1..MAX) OF SEQUENCE { data-type [0] Int32,
//!                                                      data-value [1] OCTET STRING OPTIONAL }
//! KERB-ERROR-DATA ::= SEQUENCE { data-type [1] INTEGER, data-value [2] OCTET STRING OPTIONAL }
//! KERB-EXT-ERROR  ::= status (NTSTATUS, u32 LE), reserved (u32), flags (u32)   -- 12 bytes
//! PA-FOR-USER  ::= SEQUENCE { userName [0] PrincipalName, userRealm [1] Realm,
//!                             cksum [2] Checksum, auth-package [3] KerberosString }
//! PA-S4U-X509-USER ::= SEQUENCE { user-id [0] S4UUserID, checksum [1] Checksum }
//! S4UUserID    ::= SEQUENCE { nonce [0] UInt32, cname [1] PrincipalName OPTIONAL,
//!                             crealm [2] Realm, subject-certificate [3] OCTET STRING OPTIONAL, ... }
//! PA-PAC-OPTIONS ::= SEQUENCE { kerberos-flags [0] KerberosFlags }
//! ```
//! Only types and cleartext names are kept: encrypted values (PA-ENC-TIMESTAMP, PA-FX-FAST,
//! PA-ENCRYPTED-CHALLENGE) are never opened. A pre-authentication value that does not decode is
//! counted (`Ctx::undecodable_padata`) and does not cost the rest of the message.

use super::KrbDecodeError;
use super::constants::{NtStatus, PaDataType};
use super::fields::{self, Ctx, Elem};
use super::flags::{PAC_OPTIONS, flag_names};
use super::messages;
use super::summary::{EData, KrbMessage, PaDataEntry, S4uUser};
use crate::proto::der::Class;

/// KERB-ERROR-DATA data-type carrying a KERB-EXT-ERROR (MS-KILE §2.2.1).
const KERB_ERR_TYPE_EXTENDED: i32 = 3;

/// One PA-DATA (or TYPED-DATA) entry: its type and, when present, the OCTET STRING holding the
/// value.
#[derive(Clone, Copy, Debug)]
pub(super) struct PaData<'a> {
    pub padata_type: i32,
    pub value: Option<Elem<'a>>,
}

impl PaData<'_> {
    pub fn entry(&self) -> PaDataEntry {
        PaDataEntry {
            padata_type: self.padata_type,
            name: PaDataType(self.padata_type).name(),
        }
    }
}

/// SEQUENCE OF SEQUENCE { [type_tag] Int32, [value_tag] OCTET STRING }.
fn entry_list<'a>(
    list: Elem<'a>,
    type_tag: usize,
    value_tag: usize,
    ctx: &mut Ctx,
) -> Result<Vec<PaData<'a>>, KrbDecodeError> {
    if !list.tlv.is(Class::Universal, 16) {
        return Err(KrbDecodeError::Malformed {
            offset: list.at,
            what: "expected SEQUENCE OF PA-DATA",
        });
    }
    fields::children(list)
        .map(|item| {
            let f = fields::sequence(item?, type_tag.max(value_tag), ctx)?;
            Ok(PaData {
                padata_type: fields::int32(f.required(type_tag, "PA-DATA without type")?)?,
                value: f.get(value_tag),
            })
        })
        .collect()
}

/// METHOD-DATA (the padata of requests and replies).
pub(super) fn method_data<'a>(
    list: Elem<'a>,
    ctx: &mut Ctx,
) -> Result<Vec<PaData<'a>>, KrbDecodeError> {
    entry_list(list, 1, 2, ctx)
}

/// The single DER element inside a PA-DATA value.
fn value_element<'a>(pa: &PaData<'a>) -> Result<Elem<'a>, KrbDecodeError> {
    let octets = pa.value.ok_or(KrbDecodeError::Malformed {
        offset: 0,
        what: "PA-DATA without value",
    })?;
    let bytes = fields::octets(octets)?;
    fields::read_inner(bytes, octets.value_at()).map(|(e, _)| e)
}

/// Apply what a KDC-REQ's padata tells: the TGT (PA-TGS-REQ), S4U2Self user, PAC options, FAST.
pub(super) fn apply_request_padata(list: &[PaData<'_>], msg: &mut KrbMessage, ctx: &mut Ctx) {
    for pa in list {
        let outcome = match PaDataType(pa.padata_type) {
            PaDataType::TGS_REQ => value_element(pa)
                .and_then(|e| messages::ap_req(e, ctx))
                .map(|ap| msg.ticket = Some(Box::new(ap.ticket))),
            PaDataType::FOR_USER if msg.s4u2self.is_none() => value_element(pa)
                .and_then(|e| for_user(e, ctx))
                .map(|user| {
                    msg.s4u2self = Some(user);
                    msg.s4u_padata = PaDataType::FOR_USER.name();
                }),
            PaDataType::S4U_X509_USER if msg.s4u2self.is_none() => value_element(pa)
                .and_then(|e| s4u_x509_user(e, ctx))
                .map(|user| {
                    msg.s4u2self = Some(user);
                    msg.s4u_padata = PaDataType::S4U_X509_USER.name();
                }),
            PaDataType::PAC_OPTIONS => value_element(pa)
                .and_then(|e| pac_options(e, ctx))
                .map(|names| msg.pac_options = names),
            PaDataType::FX_FAST => {
                msg.fast_armored = true;
                Ok(())
            }
            _ => Ok(()),
        };
        if outcome.is_err() {
            ctx.undecodable_padata += 1;
        }
    }
}

fn for_user(e: Elem<'_>, ctx: &mut Ctx) -> Result<S4uUser, KrbDecodeError> {
    let f = fields::sequence(e, 3, ctx)?;
    let (_, user) = fields::principal(f.required(0, "PA-FOR-USER without userName")?, ctx)?;
    let realm = fields::string(f.required(1, "PA-FOR-USER without userRealm")?, ctx)?;
    Ok(S4uUser {
        user: Some(user),
        realm: Some(realm),
    })
}

fn s4u_x509_user(e: Elem<'_>, ctx: &mut Ctx) -> Result<S4uUser, KrbDecodeError> {
    let outer = fields::sequence(e, 1, ctx)?;
    // S4UUserID is extensible ("..."): later tags are legal, not anomalies.
    let id = fields::sequence(
        outer.required(0, "PA-S4U-X509-USER without user-id")?,
        15,
        ctx,
    )?;
    let user = id
        .get(1)
        .map(|p| fields::principal(p, ctx).map(|(_, n)| n))
        .transpose()?;
    let realm = id.get(2).map(|r| fields::string(r, ctx)).transpose()?;
    Ok(S4uUser { user, realm })
}

fn pac_options(e: Elem<'_>, ctx: &mut Ctx) -> Result<Vec<&'static str>, KrbDecodeError> {
    let f = fields::sequence(e, 0, ctx)?;
    let bits = fields::bit_string(f.required(0, "PA-PAC-OPTIONS without flags")?)?;
    Ok(flag_names(bits, PAC_OPTIONS))
}

/// Classify KRB-ERROR e-data (`bytes` = the OCTET STRING contents, starting at offset `at`).
/// Never fails: what cannot be read is reported as kind "unknown".
pub(super) fn e_data(bytes: &[u8], at: usize, ctx: &mut Ctx) -> EData {
    let mut out = EData {
        kind: "unknown",
        len: bytes.len(),
        ..EData::default()
    };
    // Classification looks at the first element: KERB-ERROR-DATA starts with its [1] data-type;
    // METHOD-DATA and TYPED-DATA start with an inner SEQUENCE whose first tag is [1] or [0].
    let Ok((outer, _)) = fields::read_inner(bytes, at) else {
        return out;
    };
    let first = fields::children(outer).next().and_then(Result::ok);
    let first_inner = first
        .filter(|f| f.tlv.is(Class::Universal, 16))
        .and_then(|f| fields::children(f).next().and_then(Result::ok));
    match (first, first_inner) {
        (Some(f), _) if f.tlv.is(Class::Context, 1) => {
            if let Ok(fields) = fields::sequence(outer, 2, ctx) {
                let data_type = fields.get(1).and_then(|t| fields::int32(t).ok());
                let value = fields.get(2).and_then(|v| fields::octets(v).ok());
                out.kind = "kerb-ext-error";
                out.data_type = data_type;
                if data_type == Some(KERB_ERR_TYPE_EXTENDED) {
                    set_nt_status(&mut out, value.and_then(kerb_ext_error_status));
                }
            }
        }
        (Some(_), Some(inner)) if inner.tlv.is(Class::Context, 1) => {
            if let Ok(list) = method_data(outer, ctx) {
                out.kind = "method-data";
                out.padata = list.iter().map(PaData::entry).collect();
                // Windows also returns KERB-EXT-ERROR as the value of a PA-PW-SALT entry.
                let status = list
                    .iter()
                    .filter(|pa| pa.padata_type == PaDataType::PW_SALT.0)
                    .filter_map(|pa| pa.value.and_then(|v| fields::octets(v).ok()))
                    .find_map(kerb_ext_error_status);
                set_nt_status(&mut out, status);
            }
        }
        (Some(_), Some(inner)) if inner.tlv.is(Class::Context, 0) => {
            if let Ok(list) = entry_list(outer, 0, 1, ctx) {
                out.kind = "typed-data";
                out.padata = list.iter().map(PaData::entry).collect();
            }
        }
        (None, _) if outer.tlv.is(Class::Universal, 16) => out.kind = "method-data",
        _ => {}
    }
    out
}

fn set_nt_status(out: &mut EData, status: Option<u32>) {
    if let Some(status) = status {
        out.nt_status = Some(format!("0x{status:08X}"));
        out.nt_status_name = NtStatus(status).name();
    }
}

/// The NTSTATUS of a 12-byte KERB-EXT-ERROR, when it looks like one: reserved word zero and the
/// status an error or warning (severity bits 11 or 10), so an ordinary 12-byte salt is not taken
/// for a status.
fn kerb_ext_error_status(value: &[u8]) -> Option<u32> {
    let (status, rest) = value.split_first_chunk::<4>()?;
    let (reserved, flags) = rest.split_first_chunk::<4>()?;
    let status = u32::from_le_bytes(*status);
    (flags.len() == 4 && *reserved == [0; 4] && status >> 31 == 1).then_some(status)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn kerb_error_data_with_extended_error() {
        // ndpi__kerberos.pcap frame 32 e-data (tshark: NT Status STATUS_NOT_SUPPORTED 0xc00000bb).
        let bytes = [
            0x30, 0x15, 0xa1, 0x03, 0x02, 0x01, 0x03, 0xa2, 0x0e, 0x04, 0x0c, 0xbb, 0x00, 0x00,
            0xc0, 0x00, 0x00, 0x00, 0x00, 0x03, 0x00, 0x00, 0x00,
        ];
        let d = e_data(&bytes, 0, &mut Ctx::default());
        assert_eq!(d.kind, "kerb-ext-error");
        assert_eq!(d.data_type, Some(3));
        assert_eq!(d.nt_status.as_deref(), Some("0xC00000BB"));
        assert_eq!(d.nt_status_name, Some("STATUS_NOT_SUPPORTED"));
    }

    #[test]
    fn typed_data_and_garbage() {
        // TYPED-DATA { { [0] 107 } }  (TD-REQ-NONCE, no value)
        let typed = [0x30, 0x07, 0x30, 0x05, 0xa0, 0x03, 0x02, 0x01, 0x6b];
        let d = e_data(&typed, 0, &mut Ctx::default());
        assert_eq!((d.kind, d.padata.len()), ("typed-data", 1));
        assert_eq!(d.padata[0].name, Some("TD-REQ-NONCE"));
        assert_eq!(
            e_data(&[0x04, 0x01, 0x00], 0, &mut Ctx::default()).kind,
            "unknown"
        );
        assert_eq!(
            e_data(&[0x30, 0x05], 0, &mut Ctx::default()).kind,
            "unknown"
        );
        assert_eq!(e_data(&[], 0, &mut Ctx::default()).kind, "unknown");
    }

    #[test]
    fn a_salt_is_not_an_nt_status() {
        assert_eq!(kerb_ext_error_status(b"EXAMPLE.COMu"), None);
        assert_eq!(
            kerb_ext_error_status(&[0x72, 0, 0, 0xc0, 0, 0, 0, 0, 1, 0, 0, 0]),
            Some(0xC000_0072)
        );
        assert_eq!(kerb_ext_error_status(&[0x72, 0, 0, 0xc0]), None);
    }
}
