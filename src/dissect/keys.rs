//! The proof pass of a run with keys (`--keytab`, `--password`): the dissectors keep the bytes
//! of every Kerberos message they decode (on port 88, or inside a GSS token of HTTP, SMB, LDAP,
//! DCE/RPC or DNS TKEY) and, once a capture's events are merged in frame order, `prove` opens
//! them with the keys and attaches what they prove (`crypto::TicketProof`) to each event, then
//! drops the bytes.
//!
//! Why after the merge: a session key learnt from one exchange (the TGT session key in an
//! AS-REP, the service session key in a TGS-REP) opens parts of another exchange on another
//! flow (the PA-TGS-REQ authenticator, the AP-REQ authenticator to the service). Flows are
//! sharded by address pair over the workers, so per-worker session keys would make the proofs
//! depend on `-j`. One pass over the merged events, in frame order, with one `SessionKeys`, is
//! what `tshark -K` does too, and its output is the same for every thread count.

use crate::crypto::{Keyring, SessionKeys, TicketProof, inspect_message, krb_message_bytes};
use crate::event::{Event, EventBody, RawKrb};
use crate::proto::gss::GssToken;
use crate::proto::kerberos::{KrbMessage, MAX_RECORD_LEN, TicketSummary};

/// A copy of one Kerberos message's bytes (bounded like a TCP record).
pub(super) fn raw_krb(bytes: &[u8]) -> Option<RawKrb> {
    (bytes.len() <= MAX_RECORD_LEN).then(|| RawKrb(bytes.into()))
}

/// A copy of the Kerberos message inside a GSS token (AP-REQ, AP-REP, KRB-ERROR), if any.
pub(super) fn raw_krb_in_token(token: &[u8]) -> Option<RawKrb> {
    krb_message_bytes(token).and_then(raw_krb)
}

/// Open the kept Kerberos messages of `events` (one capture, in frame order) with `keys`,
/// attach the proofs, mark the tickets `decrypted`, and drop the bytes.
pub fn prove(events: &mut [Event], keys: &Keyring) {
    let mut learnt = SessionKeys::new();
    for ev in events {
        match &mut ev.body {
            EventBody::Kerberos(k) => {
                if let Some(raw) = k.raw.take() {
                    k.proofs = inspect_message(&raw.0, keys, &mut learnt);
                    mark_tickets(&mut k.message, &k.proofs);
                }
            }
            EventBody::Http(h) => {
                if let Some(raw) = h.raw.take() {
                    h.proofs = inspect_message(&raw.0, keys, &mut learnt);
                    if let Some(m) = h.gss.as_mut().and_then(kerberos_mut) {
                        mark_tickets(m, &h.proofs);
                    }
                }
            }
            EventBody::Spnego(g) | EventBody::Ntlm(g) => {
                if let Some(raw) = g.raw.take() {
                    g.proofs = inspect_message(&raw.0, keys, &mut learnt);
                    if let Some(m) = g.gss.as_mut().and_then(kerberos_mut) {
                        mark_tickets(m, &g.proofs);
                    }
                }
            }
            EventBody::Dns(_) => {}
        }
    }
}

/// The Kerberos message inside a decoded token, for marking its ticket.
fn kerberos_mut(token: &mut GssToken) -> Option<&mut KrbMessage> {
    match token {
        GssToken::Krb5(t) => t.message.as_deref_mut(),
        GssToken::SpnegoInit(t) => t.mech_token.as_deref_mut().and_then(kerberos_mut),
        GssToken::SpnegoResp(t) => t.response_token.as_deref_mut().and_then(kerberos_mut),
        _ => None,
    }
}

/// Copy each ticket proof onto the ticket object it is about: the message's `ticket` (AP-REQ,
/// the TGT of a TGS-REQ, the new ticket of a KDC reply), its `additional_tickets` (TGS-REQ)
/// and `cred_tickets` (KRB-CRED), in order, each checked by service name.
fn mark_tickets(msg: &mut KrbMessage, proofs: &[TicketProof]) {
    let mut tickets = proofs.iter().filter(|p| p.what == "ticket");
    if msg.msg_type == "KRB-CRED" {
        for (t, p) in msg.cred_tickets.iter_mut().zip(tickets) {
            mark(t, p);
        }
    } else if let (Some(t), Some(p)) = (msg.ticket.as_mut(), tickets.next()) {
        mark(t, p);
    }
    let additional = proofs.iter().filter(|p| p.what == "additional-ticket");
    for (t, p) in msg.additional_tickets.iter_mut().zip(additional) {
        mark(t, p);
    }
}

fn mark(t: &mut TicketSummary, p: &TicketProof) {
    let name = format!("{}@{}", t.sname, t.realm);
    if p.service != name {
        return;
    }
    t.decrypted = Some(p.decrypted);
    if p.decrypted {
        t.key = p.key.clone();
        t.client = p.client.clone();
        t.authtime = p.authtime.clone();
        t.flags = p.flags.clone();
    }
}
