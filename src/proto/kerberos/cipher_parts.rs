//! The encrypted parts of a Kerberos message (RFC 4120 §5.3 Ticket, §5.4.1 PA-TGS-REQ and
//! additional-tickets, §5.4.2 KDC-REP enc-part, §5.5.1 AP-REQ authenticator, §5.8.1 KRB-CRED),
//! located in the raw bytes for `crate::crypto` to open with keys.
//!
//! ```text
//! EncryptedData ::= SEQUENCE { etype [0] Int32, kvno [1] UInt32 OPTIONAL, cipher [2] OCTET STRING }
//! PA-TGS-REQ padata-value ::= AP-REQ       (its authenticator uses key usage 7, not 11)
//! PA-FX-FAST (136) in a request ::= [0] KrbFastArmoredReq          (RFC 6113 §5.4.2)
//! KrbFastArmoredReq ::= SEQUENCE { armor [0] KrbFastArmor OPTIONAL, req-checksum [1] Checksum,
//!                                  enc-fast-req [2] EncryptedData }
//! KrbFastArmor ::= SEQUENCE { armor-type [0] Int32 (1 = AP-REQ), armor-value [1] OCTET STRING }
//! PA-FX-FAST in a reply ::= [0] KrbFastArmoredRep ::= SEQUENCE { enc-fast-rep [0] EncryptedData }
//! ```
//! `decode` deliberately keeps no ciphertext in its summaries; this walker borrows the
//! ciphertext from the caller's buffer only for as long as decryption needs it.

use super::KrbDecodeError;
use super::constants::{MessageType, PaDataType};
use super::fields::{self, Ctx, Elem};
use super::flags::{AP_OPTIONS, flag_names};
use super::padata;
use crate::proto::der::{self, Class};

/// One EncryptedData, borrowing its ciphertext.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct EncData<'a> {
    pub etype: i32,
    pub kvno: Option<u32>,
    pub cipher: &'a [u8],
}

/// A Ticket: who it is for, and its encrypted part.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RawTicket<'a> {
    pub realm: String,
    /// Name components joined with "/".
    pub sname: String,
    pub enc: EncData<'a>,
}

impl RawTicket<'_> {
    /// "sname@realm", the form keytab principals are compared in.
    pub fn principal(&self) -> String {
        format!("{}@{}", self.sname, self.realm)
    }
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RawApReq<'a> {
    pub ap_options: Vec<&'static str>,
    pub ticket: RawTicket<'a>,
    pub authenticator: EncData<'a>,
}

/// What a message carries that a key can open.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum RawMessage<'a> {
    ApReq(RawApReq<'a>),
    TgsReq {
        /// The TGT and authenticator of PA-TGS-REQ.
        pa_tgs_req: Option<RawApReq<'a>>,
        /// An explicit FAST armor (absent: the TGS armor key comes from PA-TGS-REQ).
        fast_armor: Option<RawApReq<'a>>,
        additional_tickets: Vec<RawTicket<'a>>,
    },
    KdcRep {
        as_rep: bool,
        crealm: String,
        cname: String,
        ticket: RawTicket<'a>,
        enc_part: EncData<'a>,
        /// The FAST reply (KrbFastResponse, encrypted in the armor key).
        fast_rep: Option<EncData<'a>>,
    },
    KrbCred {
        tickets: Vec<RawTicket<'a>>,
        enc_part: EncData<'a>,
    },
    /// Encrypted in the AP-REQ's session key or subkey (usage 12).
    ApRep {
        enc_part: EncData<'a>,
    },
    /// AS-REQ, KRB-ERROR, ...: nothing a long-term or ticket key opens here.
    Other,
}

fn outer(bytes: &[u8]) -> Result<Elem<'_>, KrbDecodeError> {
    let (tlv, _) = der::read_tlv(bytes).map_err(super::outer_error)?;
    if tlv.class != Class::Application || !tlv.constructed {
        return Err(KrbDecodeError::NotKerberos);
    }
    Ok(Elem { tlv, at: 0 })
}

/// Locate the encrypted parts of one Kerberos message (the bytes `kerberos::decode` takes).
pub fn encrypted_parts(bytes: &[u8]) -> Result<RawMessage<'_>, KrbDecodeError> {
    let app = outer(bytes)?;
    let mut ctx = Ctx::default();
    let tag = i32::try_from(app.tlv.tag).unwrap_or(i32::MAX);
    match MessageType(tag) {
        MessageType::AP_REQ => ap_req(app, &mut ctx).map(RawMessage::ApReq),
        MessageType::TGS_REQ => tgs_req(app, &mut ctx),
        MessageType::AS_REP | MessageType::TGS_REP => kdc_rep(app, &mut ctx),
        MessageType::KRB_CRED => krb_cred(app, &mut ctx),
        MessageType::AP_REP => {
            let f = fields::application_sequence(app, 2, &mut ctx)?;
            let enc_part = enc_data(f.required(2, "AP-REP without enc-part")?, &mut ctx)?;
            Ok(RawMessage::ApRep { enc_part })
        }
        _ => Ok(RawMessage::Other),
    }
}

/// An AP-REQ given as its `[APPLICATION 14]` bytes.
pub fn raw_ap_req(bytes: &[u8]) -> Result<RawApReq<'_>, KrbDecodeError> {
    let app = outer(bytes)?;
    ap_req(app, &mut Ctx::default())
}

/// A KRB-CRED given as its `[APPLICATION 22]` bytes (the GSS delegation field carries one).
pub fn raw_krb_cred(bytes: &[u8]) -> Result<(Vec<RawTicket<'_>>, EncData<'_>), KrbDecodeError> {
    match krb_cred(outer(bytes)?, &mut Ctx::default())? {
        RawMessage::KrbCred { tickets, enc_part } => Ok((tickets, enc_part)),
        _ => Err(KrbDecodeError::NotKerberos),
    }
}

pub(super) fn enc_data<'a>(e: Elem<'a>, ctx: &mut Ctx) -> Result<EncData<'a>, KrbDecodeError> {
    let f = fields::sequence(e, 2, ctx)?;
    Ok(EncData {
        etype: fields::int32(f.required(0, "EncryptedData without etype")?)?,
        kvno: f.get(1).map(fields::uint32).transpose()?,
        cipher: fields::octets(f.required(2, "EncryptedData without cipher")?)?,
    })
}

fn ticket<'a>(e: Elem<'a>, ctx: &mut Ctx) -> Result<RawTicket<'a>, KrbDecodeError> {
    if !e.tlv.is(Class::Application, 1) {
        return Err(KrbDecodeError::Malformed {
            offset: e.at,
            what: "expected Ticket [APPLICATION 1]",
        });
    }
    let f = fields::application_sequence(e, 3, ctx)?;
    Ok(RawTicket {
        realm: fields::string(f.required(1, "Ticket without realm")?, ctx)?,
        sname: fields::principal(f.required(2, "Ticket without sname")?, ctx)?.1,
        enc: enc_data(f.required(3, "Ticket without enc-part")?, ctx)?,
    })
}

fn tickets<'a>(e: Elem<'a>, ctx: &mut Ctx) -> Result<Vec<RawTicket<'a>>, KrbDecodeError> {
    fields::children(e).map(|t| ticket(t?, ctx)).collect()
}

fn ap_req<'a>(app: Elem<'a>, ctx: &mut Ctx) -> Result<RawApReq<'a>, KrbDecodeError> {
    if !app.tlv.is(Class::Application, 14) {
        return Err(KrbDecodeError::Malformed {
            offset: app.at,
            what: "expected AP-REQ [APPLICATION 14]",
        });
    }
    let f = fields::application_sequence(app, 4, ctx)?;
    let options = fields::bit_string(f.required(2, "AP-REQ without ap-options")?)?;
    Ok(RawApReq {
        ap_options: flag_names(options, AP_OPTIONS),
        ticket: ticket(f.required(3, "AP-REQ without ticket")?, ctx)?,
        authenticator: enc_data(f.required(4, "AP-REQ without authenticator")?, ctx)?,
    })
}

fn tgs_req<'a>(app: Elem<'a>, ctx: &mut Ctx) -> Result<RawMessage<'a>, KrbDecodeError> {
    let f = fields::application_sequence(app, 4, ctx)?;
    let body = fields::sequence(f.required(4, "KDC-REQ without req-body")?, 11, ctx)?;
    let additional_tickets = body
        .get(11)
        .map(|t| tickets(t, ctx))
        .transpose()?
        .unwrap_or_default();
    let mut pa_tgs_req = None;
    let mut fast_armor = None;
    if let Some(list) = f.get(3) {
        for pa in padata::method_data(list, ctx)? {
            let Some(value) = pa.value else { continue };
            let bytes = fields::octets(value)?;
            let (inner, _) = fields::read_inner(bytes, value.value_at())?;
            match PaDataType(pa.padata_type) {
                PaDataType::TGS_REQ => pa_tgs_req = Some(ap_req(inner, ctx)?),
                PaDataType::FX_FAST => fast_armor = fast_request_armor(inner, ctx)?,
                _ => {}
            }
        }
    }
    Ok(RawMessage::TgsReq {
        pa_tgs_req,
        fast_armor,
        additional_tickets,
    })
}

/// FAST armor type 1: an AP-REQ (RFC 6113 §5.4.1).
const FX_FAST_ARMOR_AP_REQUEST: i32 = 1;

/// The explicit armor AP-REQ of a PA-FX-FAST request, if any.
fn fast_request_armor<'a>(
    choice: Elem<'a>,
    ctx: &mut Ctx,
) -> Result<Option<RawApReq<'a>>, KrbDecodeError> {
    if !choice.tlv.is(Class::Context, 0) {
        return Ok(None);
    }
    let (req, _) = fields::read_inner(choice.value(), choice.value_at())?;
    let f = fields::sequence(req, 2, ctx)?;
    let Some(armor) = f.get(0) else {
        return Ok(None);
    };
    let a = fields::sequence(armor, 1, ctx)?;
    if fields::int32(a.required(0, "KrbFastArmor without armor-type")?)? != FX_FAST_ARMOR_AP_REQUEST
    {
        return Ok(None);
    }
    let value = a.required(1, "KrbFastArmor without armor-value")?;
    let (inner, _) = fields::read_inner(fields::octets(value)?, value.value_at())?;
    ap_req(inner, ctx).map(Some)
}

/// The enc-fast-rep of a reply's PA-FX-FAST.
fn fast_reply<'a>(list: Elem<'a>, ctx: &mut Ctx) -> Result<Option<EncData<'a>>, KrbDecodeError> {
    for pa in padata::method_data(list, ctx)? {
        if PaDataType(pa.padata_type) != PaDataType::FX_FAST {
            continue;
        }
        let Some(value) = pa.value else { continue };
        let (choice, _) = fields::read_inner(fields::octets(value)?, value.value_at())?;
        if !choice.tlv.is(Class::Context, 0) {
            continue;
        }
        let (rep, _) = fields::read_inner(choice.value(), choice.value_at())?;
        let f = fields::sequence(rep, 0, ctx)?;
        return enc_data(
            f.required(0, "KrbFastArmoredRep without enc-fast-rep")?,
            ctx,
        )
        .map(Some);
    }
    Ok(None)
}

fn kdc_rep<'a>(app: Elem<'a>, ctx: &mut Ctx) -> Result<RawMessage<'a>, KrbDecodeError> {
    let f = fields::application_sequence(app, 6, ctx)?;
    let fast_rep = match f.get(2) {
        Some(list) => fast_reply(list, ctx)?,
        None => None,
    };
    Ok(RawMessage::KdcRep {
        fast_rep,
        as_rep: app.tlv.tag == 11,
        crealm: fields::string(f.required(3, "KDC-REP without crealm")?, ctx)?,
        cname: fields::principal(f.required(4, "KDC-REP without cname")?, ctx)?.1,
        ticket: ticket(f.required(5, "KDC-REP without ticket")?, ctx)?,
        enc_part: enc_data(f.required(6, "KDC-REP without enc-part")?, ctx)?,
    })
}

fn krb_cred<'a>(app: Elem<'a>, ctx: &mut Ctx) -> Result<RawMessage<'a>, KrbDecodeError> {
    if !app.tlv.is(Class::Application, 22) {
        return Err(KrbDecodeError::NotKerberos);
    }
    let f = fields::application_sequence(app, 3, ctx)?;
    Ok(RawMessage::KrbCred {
        tickets: tickets(f.required(2, "KRB-CRED without tickets")?, ctx)?,
        enc_part: enc_data(f.required(3, "KRB-CRED without enc-part")?, ctx)?,
    })
}
