//! DER building blocks shared by every Kerberos message (RFC 4120 §5.2, §5.3), over
//! `proto::der`, keeping absolute offsets so errors say where in the message they are.
//!
//! ```text
//! PrincipalName ::= SEQUENCE { name-type [0] Int32, name-string [1] SEQUENCE OF KerberosString }
//! KerberosString ::= GeneralString (IA5String)   -- UTF-8 in practice (Windows, MIT)
//! KerberosTime ::= GeneralizedTime               -- "YYYYMMDDHHMMSSZ"
//! EncryptedData ::= SEQUENCE { etype [0] Int32, kvno [1] UInt32 OPTIONAL, cipher [2] OCTET STRING }
//! Ticket ::= [APPLICATION 1] SEQUENCE { tkt-vno [0] INTEGER (5), realm [1] Realm,
//!                                       sname [2] PrincipalName, enc-part [3] EncryptedData }
//! ```
//! Leniency is deliberate and uniform: SEQUENCE fields with tags the ASN.1 does not define are
//! skipped and counted (Apple's IAKERB AP-REP adds a `[3]`), and names that are not valid UTF-8
//! decode with replacement characters and raise a flag instead of failing the message.

use super::KrbDecodeError;
use super::constants::{EncryptionType, NameType};
use super::summary::TicketSummary;
use crate::proto::der::{self, Class, DerError, Tlv};

/// Universal tags used here (X.690 §8.4).
const TAG_INTEGER: u32 = 2;
const TAG_BIT_STRING: u32 = 3;
const TAG_OCTET_STRING: u32 = 4;
const TAG_SEQUENCE: u32 = 16;
const TAG_GENERALIZED_TIME: u32 = 24;
/// Character-string tags accepted for KerberosString: GeneralString is the standard one; the
/// others appear in the wild and all carry bytes we decode as UTF-8.
const STRING_TAGS: &[u32] = &[12, 18, 19, 20, 22, 25, 26, 27, 28, 30];

/// Room for the highest context tag any Kerberos SEQUENCE defines (KRB-ERROR e-data is [12]).
const MAX_FIELD_TAG: usize = 15;

/// Anomalies noticed while decoding one message.
#[derive(Debug, Default)]
pub(super) struct Ctx {
    pub lossy_names: bool,
    pub unknown_fields: usize,
    pub undecodable_padata: usize,
}

/// A TLV together with the absolute offset of its first byte in the message.
#[derive(Clone, Copy, Debug)]
pub(super) struct Elem<'a> {
    pub tlv: Tlv<'a>,
    pub at: usize,
}

impl<'a> Elem<'a> {
    pub fn value(&self) -> &'a [u8] {
        self.tlv.value
    }
    /// Absolute offset of the first value byte.
    pub fn value_at(&self) -> usize {
        self.at + self.tlv.header_len
    }
    fn malformed(&self, what: &'static str) -> KrbDecodeError {
        KrbDecodeError::Malformed {
            offset: self.at,
            what,
        }
    }
}

/// Read one element inside a message: running past the enclosing bytes means the message was
/// cut inside (truncated), not that a stream should wait.
pub(super) fn read_inner(input: &[u8], at: usize) -> Result<(Elem<'_>, &[u8]), KrbDecodeError> {
    match der::read_tlv(input) {
        Ok((tlv, rest)) => Ok((Elem { tlv, at }, rest)),
        Err(DerError::Incomplete { .. } | DerError::LengthBeyondInput { .. }) => {
            Err(KrbDecodeError::Truncated { offset: at })
        }
        Err(DerError::TooDeep { offset }) => Err(KrbDecodeError::Malformed {
            offset: at.saturating_add(offset),
            what: "nested too deep",
        }),
        Err(DerError::Malformed { offset, what }) => Err(KrbDecodeError::Malformed {
            offset: at.saturating_add(offset),
            what,
        }),
    }
}

/// The elements inside a constructed value, in order.
pub(super) fn children<'a>(
    parent: Elem<'a>,
) -> impl Iterator<Item = Result<Elem<'a>, KrbDecodeError>> {
    let mut rest = parent.value();
    let mut at = parent.value_at();
    std::iter::from_fn(move || {
        if rest.is_empty() {
            return None;
        }
        match read_inner(rest, at) {
            Ok((elem, after)) => {
                at = at.saturating_add(elem.tlv.total_len());
                rest = after;
                Some(Ok(elem))
            }
            Err(e) => {
                rest = &[];
                Some(Err(e))
            }
        }
    })
}

/// The single element an EXPLICIT tag wraps.
fn explicit_inner(tagged: Elem<'_>) -> Result<Elem<'_>, KrbDecodeError> {
    if !tagged.tlv.constructed {
        return Err(tagged.malformed("explicit tag is not constructed"));
    }
    read_inner(tagged.value(), tagged.value_at()).map(|(inner, _)| inner)
}

/// The `[n]`-tagged fields of a SEQUENCE, unwrapped, by tag number.
pub(super) struct Fields<'a> {
    slots: [Option<Elem<'a>>; MAX_FIELD_TAG + 1],
    at: usize,
}

impl<'a> Fields<'a> {
    pub fn get(&self, tag: usize) -> Option<Elem<'a>> {
        self.slots.get(tag).copied().flatten()
    }
    pub fn required(&self, tag: usize, what: &'static str) -> Result<Elem<'a>, KrbDecodeError> {
        self.get(tag).ok_or(KrbDecodeError::Malformed {
            offset: self.at,
            what,
        })
    }
}

/// Split a SEQUENCE of EXPLICIT context-tagged fields whose ASN.1 defines tags up to
/// `last_tag`. Other elements and repeated tags are skipped and counted in `ctx.unknown_fields`.
pub(super) fn sequence<'a>(
    seq: Elem<'a>,
    last_tag: usize,
    ctx: &mut Ctx,
) -> Result<Fields<'a>, KrbDecodeError> {
    if !(seq.tlv.is(Class::Universal, TAG_SEQUENCE) && seq.tlv.constructed) {
        return Err(seq.malformed("expected SEQUENCE"));
    }
    let mut fields = Fields {
        slots: [None; MAX_FIELD_TAG + 1],
        at: seq.at,
    };
    for child in children(seq) {
        let child = child?;
        let slot = usize::try_from(child.tlv.tag)
            .ok()
            .filter(|&tag| child.tlv.class == Class::Context && tag <= last_tag)
            .and_then(|tag| fields.slots.get_mut(tag))
            .filter(|slot| slot.is_none());
        match slot {
            Some(slot) => *slot = Some(explicit_inner(child)?),
            None => ctx.unknown_fields += 1,
        }
    }
    Ok(fields)
}

/// The contents of `[APPLICATION n] SEQUENCE`: the SEQUENCE inside an application wrapper.
pub(super) fn application_sequence<'a>(
    app: Elem<'a>,
    last_tag: usize,
    ctx: &mut Ctx,
) -> Result<Fields<'a>, KrbDecodeError> {
    if !app.tlv.constructed {
        return Err(app.malformed("APPLICATION tag is not constructed"));
    }
    let (seq, _) = read_inner(app.value(), app.value_at())?;
    sequence(seq, last_tag, ctx)
}

fn expect(e: Elem<'_>, tag: u32, what: &'static str) -> Result<(), KrbDecodeError> {
    if e.tlv.is(Class::Universal, tag) {
        Ok(())
    } else {
        Err(e.malformed(what))
    }
}

pub(super) fn integer(e: Elem<'_>) -> Result<i64, KrbDecodeError> {
    expect(e, TAG_INTEGER, "expected INTEGER")?;
    der::integer_i64(e.value()).ok_or(e.malformed("INTEGER empty or wider than 64 bits"))
}

pub(super) fn int32(e: Elem<'_>) -> Result<i32, KrbDecodeError> {
    i32::try_from(integer(e)?).map_err(|_| e.malformed("Int32 out of range"))
}

/// UInt32 (kvno): some implementations encode values with the top bit set as negative Int32,
/// so those are read back as the same 32 bits.
pub(super) fn uint32(e: Elem<'_>) -> Result<u32, KrbDecodeError> {
    let v = integer(e)?;
    u32::try_from(v)
        .or_else(|_| i32::try_from(v).map(|s| s as u32))
        .map_err(|_| e.malformed("UInt32 out of range"))
}

pub(super) fn octets<'a>(e: Elem<'a>) -> Result<&'a [u8], KrbDecodeError> {
    expect(e, TAG_OCTET_STRING, "expected OCTET STRING")?;
    Ok(e.value())
}

/// BIT STRING contents including the unused-bits octet (what `der::bit_string_flag` reads).
pub(super) fn bit_string<'a>(e: Elem<'a>) -> Result<&'a [u8], KrbDecodeError> {
    expect(e, TAG_BIT_STRING, "expected BIT STRING")?;
    if e.value().is_empty() {
        return Err(e.malformed("BIT STRING without unused-bits octet"));
    }
    Ok(e.value())
}

/// A KerberosString as UTF-8; invalid bytes become U+FFFD and set `ctx.lossy_names`.
pub(super) fn string(e: Elem<'_>, ctx: &mut Ctx) -> Result<String, KrbDecodeError> {
    if !(e.tlv.class == Class::Universal && STRING_TAGS.contains(&e.tlv.tag)) {
        return Err(e.malformed("expected a character string"));
    }
    Ok(match std::str::from_utf8(e.value()) {
        Ok(s) => s.to_string(),
        Err(_) => {
            ctx.lossy_names = true;
            String::from_utf8_lossy(e.value()).into_owned()
        }
    })
}

/// KerberosTime as RFC 3339 ("2019-02-05T03:38:49Z"). A value not in the DER form
/// "YYYYMMDDHHMMSSZ" (fractions, offsets) is returned as sent.
pub(super) fn time(e: Elem<'_>) -> Result<String, KrbDecodeError> {
    expect(e, TAG_GENERALIZED_TIME, "expected GeneralizedTime")?;
    let raw = e.value();
    let digits_ok = raw.len() == 15
        && raw
            .get(..14)
            .is_some_and(|d| d.iter().all(u8::is_ascii_digit))
        && raw.get(14) == Some(&b'Z');
    if !digits_ok {
        return Ok(String::from_utf8_lossy(raw).into_owned());
    }
    let part = |r: std::ops::Range<usize>| raw.get(r).map(String::from_utf8_lossy);
    match (
        part(0..4),
        part(4..6),
        part(6..8),
        part(8..10),
        part(10..12),
        part(12..14),
    ) {
        (Some(y), Some(mo), Some(d), Some(h), Some(mi), Some(s)) => {
            Ok(format!("{y}-{mo}-{d}T{h}:{mi}:{s}Z"))
        }
        _ => Ok(String::from_utf8_lossy(raw).into_owned()),
    }
}

/// PrincipalName: (name-type, components joined with "/").
pub(super) fn principal(e: Elem<'_>, ctx: &mut Ctx) -> Result<(i32, String), KrbDecodeError> {
    let f = sequence(e, 1, ctx)?;
    let name_type = int32(f.required(0, "PrincipalName without name-type")?)?;
    let strings = f.required(1, "PrincipalName without name-string")?;
    expect(strings, TAG_SEQUENCE, "name-string is not a SEQUENCE OF")?;
    let mut joined = String::new();
    for (i, component) in children(strings).enumerate() {
        if i > 0 {
            joined.push('/');
        }
        joined.push_str(&string(component?, ctx)?);
    }
    Ok((name_type, joined))
}

pub(super) fn name_type_display(name_type: i32) -> String {
    NameType(name_type).display()
}

/// The shape of an EncryptedData: never its ciphertext.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) struct EncInfo {
    pub etype: i32,
    pub kvno: Option<u32>,
    pub cipher_len: usize,
}

pub(super) fn encrypted_data(e: Elem<'_>, ctx: &mut Ctx) -> Result<EncInfo, KrbDecodeError> {
    let f = sequence(e, 2, ctx)?;
    let etype = int32(f.required(0, "EncryptedData without etype")?)?;
    let kvno = f.get(1).map(uint32).transpose()?;
    let cipher = octets(f.required(2, "EncryptedData without cipher")?)?;
    Ok(EncInfo {
        etype,
        kvno,
        cipher_len: cipher.len(),
    })
}

/// Ticket ::= [APPLICATION 1] ... : realm, sname and the enc-part's shape.
pub(super) fn ticket(e: Elem<'_>, ctx: &mut Ctx) -> Result<TicketSummary, KrbDecodeError> {
    if !e.tlv.is(Class::Application, 1) {
        return Err(e.malformed("expected Ticket [APPLICATION 1]"));
    }
    let f = application_sequence(e, 3, ctx)?;
    let realm = string(f.required(1, "Ticket without realm")?, ctx)?;
    let (name_type, sname) = principal(f.required(2, "Ticket without sname")?, ctx)?;
    let enc = encrypted_data(f.required(3, "Ticket without enc-part")?, ctx)?;
    Ok(TicketSummary {
        realm,
        sname,
        sname_type: Some(name_type_display(name_type)),
        etype: enc.etype,
        etype_name: EncryptionType(enc.etype).display(),
        kvno: enc.kvno,
        cipher_len: enc.cipher_len,
        ..TicketSummary::default()
    })
}

/// SEQUENCE OF Ticket.
pub(super) fn tickets(e: Elem<'_>, ctx: &mut Ctx) -> Result<Vec<TicketSummary>, KrbDecodeError> {
    expect(e, TAG_SEQUENCE, "expected SEQUENCE OF Ticket")?;
    children(e).map(|t| ticket(t?, ctx)).collect()
}

/// SEQUENCE OF Int32 (the etype list).
pub(super) fn int32_list(e: Elem<'_>) -> Result<Vec<i32>, KrbDecodeError> {
    expect(e, TAG_SEQUENCE, "expected SEQUENCE OF INTEGER")?;
    children(e).map(|i| int32(i?)).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn elem(bytes: &[u8]) -> Elem<'_> {
        read_inner(bytes, 0).unwrap().0
    }

    #[test]
    fn principal_joins_components_and_flags_lossy_bytes() {
        // SEQUENCE { [0] INTEGER 2, [1] SEQUENCE { "HTTP", "a\xffb" } }
        let bytes = [
            0x30, 0x15, 0xa0, 0x03, 0x02, 0x01, 0x02, 0xa1, 0x0e, 0x30, 0x0c, 0x1b, 0x04, b'H',
            b'T', b'T', b'P', 0x1b, 0x04, b'a', 0xff, b'b', b'c',
        ];
        let mut ctx = Ctx::default();
        let (t, name) = principal(elem(&bytes), &mut ctx).unwrap();
        assert_eq!((t, name.as_str()), (2, "HTTP/a\u{fffd}bc"));
        assert!(ctx.lossy_names);
    }

    #[test]
    fn cyrillic_utf8_that_rasn_rejects_is_kept_exactly() {
        // "Р" = d0 a0: the 0xa0 byte is what rasn-kerberos' GeneralString check refuses.
        let bytes = [0x1b, 0x04, 0xd0, 0xa0, 0xc4, 0x9f];
        let mut ctx = Ctx::default();
        assert_eq!(string(elem(&bytes), &mut ctx).unwrap(), "Рğ");
        assert!(!ctx.lossy_names);
    }

    #[test]
    fn unknown_and_repeated_fields_are_counted_not_fatal() {
        // SEQUENCE { [0] 5, [0] 6, [20] 7 }
        let bytes = [
            0x30, 0x0f, 0xa0, 0x03, 0x02, 0x01, 0x05, 0xa0, 0x03, 0x02, 0x01, 0x06, 0xb4, 0x03,
            0x02, 0x01, 0x07,
        ];
        let mut ctx = Ctx::default();
        let f = sequence(elem(&bytes), 15, &mut ctx).unwrap();
        assert_eq!(integer(f.get(0).unwrap()).unwrap(), 5);
        assert_eq!(ctx.unknown_fields, 2);
    }

    #[test]
    fn times_and_kvno_edges() {
        let t = b"\x18\x0f20190205033849Z";
        assert_eq!(time(elem(t)).unwrap(), "2019-02-05T03:38:49Z");
        let odd = b"\x18\x0520190";
        assert_eq!(time(elem(odd)).unwrap(), "20190");
        // kvno 0xffffffff sent as INTEGER -1
        assert_eq!(uint32(elem(&[0x02, 0x01, 0xff])).unwrap(), u32::MAX);
        assert!(matches!(
            uint32(elem(&[0x02, 0x05, 0x01, 0, 0, 0, 0])),
            Err(KrbDecodeError::Malformed { .. })
        ));
    }

    #[test]
    fn inner_overrun_is_truncated_with_offset() {
        // SEQUENCE claims 3 bytes but its [0] claims 5.
        let bytes = [0x30, 0x03, 0xa0, 0x05, 0x02];
        let mut ctx = Ctx::default();
        assert_eq!(
            sequence(elem(&bytes), 15, &mut ctx).err(),
            Some(KrbDecodeError::Truncated { offset: 2 })
        );
    }
}
