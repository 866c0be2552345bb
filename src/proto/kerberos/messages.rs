//! The Kerberos V5 messages (RFC 4120 §5.4.1 KDC-REQ, §5.4.2 KDC-REP, §5.5.1 AP-REQ,
//! §5.5.2 AP-REP, §5.8.1 KRB-CRED, §5.9.1 KRB-ERROR), each read into a `KrbMessage`.
//!
//! ```text
//! AS-REQ ::= [APPLICATION 10] KDC-REQ        TGS-REQ ::= [APPLICATION 12] KDC-REQ
//! KDC-REQ ::= SEQUENCE { pvno [1] INTEGER (5), msg-type [2] INTEGER,
//!                        padata [3] SEQUENCE OF PA-DATA OPTIONAL, req-body [4] KDC-REQ-BODY }
//! KDC-REQ-BODY ::= SEQUENCE { kdc-options [0] KDCOptions, cname [1] PrincipalName OPTIONAL,
//!     realm [2] Realm, sname [3] PrincipalName OPTIONAL, from [4] KerberosTime OPTIONAL,
//!     till [5] KerberosTime, rtime [6] KerberosTime OPTIONAL, nonce [7] UInt32,
//!     etype [8] SEQUENCE OF Int32, addresses [9] HostAddresses OPTIONAL,
//!     enc-authorization-data [10] EncryptedData OPTIONAL,
//!     additional-tickets [11] SEQUENCE OF Ticket OPTIONAL }
//! AS-REP ::= [APPLICATION 11] KDC-REP        TGS-REP ::= [APPLICATION 13] KDC-REP
//! KDC-REP ::= SEQUENCE { pvno [0], msg-type [1], padata [2] OPTIONAL, crealm [3] Realm,
//!                        cname [4] PrincipalName, ticket [5] Ticket, enc-part [6] EncryptedData }
//! AP-REQ ::= [APPLICATION 14] SEQUENCE { pvno [0], msg-type [1], ap-options [2] APOptions,
//!                                        ticket [3] Ticket, authenticator [4] EncryptedData }
//! AP-REP ::= [APPLICATION 15] SEQUENCE { pvno [0], msg-type [1], enc-part [2] EncryptedData }
//! KRB-CRED ::= [APPLICATION 22] SEQUENCE { pvno [0], msg-type [1],
//!                                          tickets [2] SEQUENCE OF Ticket, enc-part [3] }
//! KRB-ERROR ::= [APPLICATION 30] SEQUENCE { pvno [0], msg-type [1], ctime [2] OPTIONAL,
//!     cusec [3] OPTIONAL, stime [4], susec [5], error-code [6] Int32, crealm [7] OPTIONAL,
//!     cname [8] OPTIONAL, realm [9], sname [10], e-text [11] OPTIONAL, e-data [12] OPTIONAL }
//! ```
//! Every message shares one field reader (`fields`), so a quirk is handled once for all.

use super::KrbDecodeError;
use super::constants::{EncryptionType, MessageType};
use super::error_codes::error_info;
use super::fields::{self, Ctx, Elem, Fields};
use super::flags::{AP_OPTIONS, KDC_OPTIONS, first_word_hex, flag_names};
use super::padata;
use super::summary::{KrbMessage, TicketSummary};
use crate::proto::der::{self, Class};

/// KDC option bit 14 (MS-SFU §2.2.1): the additional ticket's client is the one to impersonate.
const CNAME_IN_ADDL_TKT: usize = 14;

/// Decode the message whose outer `[APPLICATION n]` element is `app`.
pub(super) fn message(app: Elem<'_>, ctx: &mut Ctx) -> Result<KrbMessage, KrbDecodeError> {
    let msg_type = MessageType(i32::try_from(app.tlv.tag).unwrap_or(i32::MAX));
    // KDC-REQ numbers its fields from 1; every other message from 0.
    let (pvno_tag, type_tag, last_tag) = match msg_type {
        MessageType::AS_REQ | MessageType::TGS_REQ => (1, 2, 4),
        MessageType::AS_REP | MessageType::TGS_REP => (0, 1, 6),
        MessageType::AP_REQ => (0, 1, 4),
        MessageType::AP_REP => (0, 1, 2),
        MessageType::KRB_CRED => (0, 1, 3),
        MessageType::KRB_ERROR => (0, 1, 12),
        _ => (0, 1, 15),
    };
    let f = fields::application_sequence(app, last_tag, ctx)?;
    let pvno = fields::integer(f.required(pvno_tag, "message without pvno")?)?;
    let declared = fields::integer(f.required(type_tag, "message without msg-type")?)?;
    if declared != i64::from(msg_type.0) {
        return Err(KrbDecodeError::Malformed {
            offset: app.at,
            what: "msg-type disagrees with the APPLICATION tag",
        });
    }
    let mut msg = KrbMessage {
        msg_type: msg_type.display(),
        unexpected_pvno: (pvno != 5).then_some(pvno),
        ..KrbMessage::default()
    };
    match msg_type {
        MessageType::AS_REQ | MessageType::TGS_REQ => kdc_req(&f, &mut msg, ctx)?,
        MessageType::AS_REP | MessageType::TGS_REP => kdc_rep(&f, &mut msg, ctx)?,
        MessageType::AP_REQ => {
            let ap = ap_req_fields(&f, ctx)?;
            set_service_from_ticket(&mut msg, &ap.ticket);
            msg.ap_options = ap.ap_options;
            msg.authenticator_etype = Some(ap.authenticator_etype);
            msg.ticket = Some(Box::new(ap.ticket));
        }
        MessageType::AP_REP => {
            let enc = fields::encrypted_data(f.required(2, "AP-REP without enc-part")?, ctx)?;
            msg.enc_part_etype = Some(enc.etype);
            msg.enc_part_kvno = enc.kvno;
        }
        MessageType::KRB_CRED => {
            msg.cred_tickets = fields::tickets(f.required(2, "KRB-CRED without tickets")?, ctx)?;
            let enc = fields::encrypted_data(f.required(3, "KRB-CRED without enc-part")?, ctx)?;
            msg.enc_part_etype = Some(enc.etype);
        }
        MessageType::KRB_ERROR => krb_error(&f, &mut msg, ctx)?,
        // KRB-SAFE, KRB-PRIV and unassigned tags: the type is all a summary needs.
        _ => {}
    }
    Ok(msg)
}

fn kdc_req(f: &Fields<'_>, msg: &mut KrbMessage, ctx: &mut Ctx) -> Result<(), KrbDecodeError> {
    let body = fields::sequence(f.required(4, "KDC-REQ without req-body")?, 11, ctx)?;
    let options = fields::bit_string(body.required(0, "KDC-REQ-BODY without kdc-options")?)?;
    msg.kdc_options = flag_names(options, KDC_OPTIONS);
    msg.kdc_options_raw = Some(first_word_hex(options));
    if let Some(cname) = body.get(1) {
        let (name_type, name) = fields::principal(cname, ctx)?;
        msg.cname = Some(name);
        msg.cname_type = Some(fields::name_type_display(name_type));
    }
    msg.realm = Some(fields::string(
        body.required(2, "KDC-REQ-BODY without realm")?,
        ctx,
    )?);
    if let Some(sname) = body.get(3) {
        let (name_type, name) = fields::principal(sname, ctx)?;
        msg.sname = Some(name);
        msg.sname_type = Some(fields::name_type_display(name_type));
    }
    msg.till = body.get(5).map(fields::time).transpose()?;
    if let Some(etypes) = body.get(8) {
        msg.etypes = fields::int32_list(etypes)?;
        msg.etype_names = msg
            .etypes
            .iter()
            .map(|&e| EncryptionType(e).display())
            .collect();
    }
    if let Some(extra) = body.get(11) {
        msg.additional_tickets = fields::tickets(extra, ctx)?;
    }
    msg.s4u2proxy =
        der::bit_string_flag(options, CNAME_IN_ADDL_TKT) && !msg.additional_tickets.is_empty();
    if let Some(list) = f.get(3) {
        let list = padata::method_data(list, ctx)?;
        msg.padata = list.iter().map(padata::PaData::entry).collect();
        padata::apply_request_padata(&list, msg, ctx);
    }
    Ok(())
}

fn kdc_rep(f: &Fields<'_>, msg: &mut KrbMessage, ctx: &mut Ctx) -> Result<(), KrbDecodeError> {
    if let Some(list) = f.get(2) {
        let list = padata::method_data(list, ctx)?;
        msg.padata = list.iter().map(padata::PaData::entry).collect();
    }
    msg.crealm = Some(fields::string(
        f.required(3, "KDC-REP without crealm")?,
        ctx,
    )?);
    let (name_type, cname) = fields::principal(f.required(4, "KDC-REP without cname")?, ctx)?;
    msg.cname = Some(cname);
    msg.cname_type = Some(fields::name_type_display(name_type));
    let ticket = fields::ticket(f.required(5, "KDC-REP without ticket")?, ctx)?;
    set_service_from_ticket(msg, &ticket);
    msg.ticket = Some(Box::new(ticket));
    let enc = fields::encrypted_data(f.required(6, "KDC-REP without enc-part")?, ctx)?;
    msg.enc_part_etype = Some(enc.etype);
    msg.enc_part_kvno = enc.kvno;
    Ok(())
}

fn krb_error(f: &Fields<'_>, msg: &mut KrbMessage, ctx: &mut Ctx) -> Result<(), KrbDecodeError> {
    msg.stime = f.get(4).map(fields::time).transpose()?;
    let code = fields::int32(f.required(6, "KRB-ERROR without error-code")?)?;
    msg.error_code = Some(code);
    msg.error_name = error_info(code).map(|i| i.name);
    msg.crealm = f.get(7).map(|r| fields::string(r, ctx)).transpose()?;
    if let Some(cname) = f.get(8) {
        let (name_type, name) = fields::principal(cname, ctx)?;
        msg.cname = Some(name);
        msg.cname_type = Some(fields::name_type_display(name_type));
    }
    // realm and sname are mandatory in RFC 4120, but a KRB-ERROR is still worth reporting
    // without them.
    msg.realm = f.get(9).map(|r| fields::string(r, ctx)).transpose()?;
    if let Some(sname) = f.get(10) {
        let (name_type, name) = fields::principal(sname, ctx)?;
        msg.sname = Some(name);
        msg.sname_type = Some(fields::name_type_display(name_type));
    }
    msg.e_text = f.get(11).map(|t| fields::string(t, ctx)).transpose()?;
    if let Some(data) = f.get(12) {
        let bytes = fields::octets(data)?;
        msg.e_data = Some(Box::new(padata::e_data(bytes, data.value_at(), ctx)));
    }
    Ok(())
}

/// AP-REQ and KDC replies report the service their ticket is for as the message's realm/sname.
fn set_service_from_ticket(msg: &mut KrbMessage, ticket: &TicketSummary) {
    msg.realm = Some(ticket.realm.clone());
    msg.sname = Some(ticket.sname.clone());
    msg.sname_type.clone_from(&ticket.sname_type);
}

/// What an AP-REQ says in the clear.
pub(super) struct ApReq {
    pub ap_options: Vec<&'static str>,
    pub ticket: TicketSummary,
    pub authenticator_etype: i32,
}

/// An AP-REQ given as its `[APPLICATION 14]` element (PA-TGS-REQ carries one).
pub(super) fn ap_req(app: Elem<'_>, ctx: &mut Ctx) -> Result<ApReq, KrbDecodeError> {
    if !app.tlv.is(Class::Application, 14) {
        return Err(KrbDecodeError::Malformed {
            offset: app.at,
            what: "expected AP-REQ [APPLICATION 14]",
        });
    }
    let f = fields::application_sequence(app, 4, ctx)?;
    ap_req_fields(&f, ctx)
}

fn ap_req_fields(f: &Fields<'_>, ctx: &mut Ctx) -> Result<ApReq, KrbDecodeError> {
    let options = fields::bit_string(f.required(2, "AP-REQ without ap-options")?)?;
    let ticket = fields::ticket(f.required(3, "AP-REQ without ticket")?, ctx)?;
    let auth = fields::encrypted_data(f.required(4, "AP-REQ without authenticator")?, ctx)?;
    Ok(ApReq {
        ap_options: flag_names(options, AP_OPTIONS),
        ticket,
        authenticator_etype: auth.etype,
    })
}
