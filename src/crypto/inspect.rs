//! Opening the encrypted parts of one Kerberos message with the keys at hand, and turning what
//! they say into a `TicketProof` per part (RFC 4120 §7.5.1 key usages).
//!
//! ```text
//! usage 2  ticket (service key)              usage 3  AS-REP enc-part (client key)
//! usage 7  PA-TGS-REQ authenticator          usage 8  TGS-REP enc-part (TGT session key)
//! usage 9  TGS-REP enc-part (subkey)         usage 11 AP-REQ authenticator (session key)
//! usage 12 AP-REP enc-part (session key or subkey)
//! usage 14 KRB-CRED enc-part (session key or subkey; etype 0 = sent in the clear)
//! usage 52 KrbFastResponse (FAST armor key, RFC 6113); the FAST-armoured TGS-REP enc-part is
//!          then in KRB-FX-CF2(strengthen-key, subkey or session key)
//! ```
//! A proof names keys, never contains them: which key opened the part and which keys of the same
//! type did not.

use serde::Serialize;

use super::fast::{armor_key, strengthened_reply_key};
use super::key::Key;
use super::keyring::{Entry, KeyRef, Keyring, Learnt, SessionKeys, TgsRequestKeys};
use crate::proto::kerberos::EncryptionType;
use crate::proto::kerberos::authenticator::{self, Authenticator};
use crate::proto::kerberos::cipher_parts::{
    self, EncData, RawApReq, RawMessage, RawTicket, raw_krb_cred,
};
use crate::proto::kerberos::enc_parts::{self, EncTicketPart, KeyBlock};
use crate::proto::kerberos::pac::pac_summary;

const USAGE_TICKET: u32 = 2;
const USAGE_AS_REP: u32 = 3;
const USAGE_TGS_AUTHENTICATOR: u32 = 7;
const USAGE_TGS_REP_SESSION: u32 = 8;
const USAGE_TGS_REP_SUBKEY: u32 = 9;
const USAGE_AP_AUTHENTICATOR: u32 = 11;
const USAGE_AP_REP: u32 = 12;
const USAGE_KRB_CRED: u32 = 14;
const USAGE_FAST_REP: u32 = 52;
/// KRB-CRED enc-part "encrypted" with etype 0: the EncKrbCredPart is in the clear (RFC 4120
/// §5.8.1 allows it when the channel already protects it; Heimdal and Windows send it so).
const ETYPE_NULL: i32 = 0;
/// Bounds on work per message: a hostile message must not cost more than a real one.
const MAX_TICKETS_PER_MESSAGE: usize = 16;
const MAX_TRIED_LISTED: usize = 32;

/// What keys proved about one encrypted part.
#[derive(Clone, Debug, Default, Serialize)]
pub struct TicketProof {
    /// "ticket", "additional-ticket", "delegated-ticket" (in the authenticator's KRB-CRED),
    /// "authenticator" or "enc-part" (AS-REP, TGS-REP, AP-REP).
    pub what: &'static str,
    pub decrypted: bool,
    /// The key that opened it.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub key: Option<KeyRef>,
    /// Keys for the part's own principal that did NOT open it.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub tried: Vec<KeyRef>,
    /// How many keys of other principals (same type) were tried and failed too.
    #[serde(skip_serializing_if = "is_zero")]
    pub tried_other_principals: usize,
    /// The first of those, by name (what the keys given hold instead).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub tried_other: Vec<KeyRef>,
    /// The service the ticket (or the ticket behind this part) is for: "sname@realm".
    pub service: String,
    pub etype: i32,
    pub etype_name: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub kvno: Option<u32>,
    /// "cname@crealm" from the decrypted part.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub client: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub authtime: Option<String>,
    /// Ticket flags (from the ticket, or from the KDC reply about the ticket it carries).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub flags: Vec<&'static str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub pac_user: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub pac_groups: Option<usize>,
    /// RFC 4121 checksum flags of an authenticator: deleg, mutual, ...
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub gss_flags: Vec<&'static str>,
    /// An authenticator with a GSS checksum: whether it carries a KRB-CRED with a TGT.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub delegated_tgt: Option<bool>,
    /// The delegated TGT's flags, from the decrypted KRB-CRED (forwardable, forwarded, ...).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub delegated_flags: Vec<&'static str>,
    /// Why it could not be opened, in plain words.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub note: Option<String>,
}

fn is_zero(n: &usize) -> bool {
    *n == 0
}

impl TicketProof {
    fn new(what: &'static str, service: String, enc: &EncData<'_>) -> TicketProof {
        TicketProof {
            what,
            service,
            etype: enc.etype,
            etype_name: EncryptionType(enc.etype).display(),
            kvno: enc.kvno,
            ..TicketProof::default()
        }
    }
}

/// Open what can be opened in one Kerberos message (the bytes `proto::kerberos::decode` takes,
/// or the AP-REQ from `ap_req_bytes`). Without any key this returns at once, empty.
pub fn inspect_message(raw: &[u8], keys: &Keyring, learnt: &mut SessionKeys) -> Vec<TicketProof> {
    let mut out = Vec::new();
    if keys.is_empty() && learnt.is_empty() {
        return out;
    }
    let Ok(msg) = cipher_parts::encrypted_parts(raw) else {
        return out;
    };
    let mut ctx = Inspect {
        keys,
        learnt,
        out: &mut out,
    };
    match msg {
        RawMessage::ApReq(ap) => {
            if let Some(opened) = ctx.ap_req(&ap, USAGE_AP_AUTHENTICATOR, true) {
                let service = opened.service;
                for key in opened
                    .subkey
                    .into_iter()
                    .chain(std::iter::once(opened.session))
                {
                    let service = service.clone();
                    ctx.learnt.learn_ap_session(Learnt { key, service });
                }
            }
        }
        RawMessage::TgsReq {
            pa_tgs_req,
            fast_armor,
            additional_tickets,
        } => {
            let opened = pa_tgs_req.and_then(|ap| ctx.ap_req(&ap, USAGE_TGS_AUTHENTICATOR, true));
            if let Some(opened) = opened {
                // RFC 6113 §5.4.1.1: explicit armor if sent, else the PA-TGS-REQ's keys.
                let armor = match fast_armor {
                    Some(a) => ctx
                        .ap_req(&a, USAGE_AP_AUTHENTICATOR, false)
                        .and_then(|o| armor_key(o.subkey.as_ref()?, &o.session)),
                    None => opened
                        .subkey
                        .as_ref()
                        .and_then(|sk| armor_key(sk, &opened.session)),
                };
                ctx.learnt.learn_request(TgsRequestKeys {
                    service: opened.service,
                    session: opened.session,
                    subkey: opened.subkey,
                    armor,
                });
            }
            for t in additional_tickets.iter().take(MAX_TICKETS_PER_MESSAGE) {
                ctx.ticket(t, "additional-ticket", true);
            }
        }
        RawMessage::KdcRep {
            as_rep,
            crealm,
            cname,
            ticket,
            enc_part,
            fast_rep,
        } => {
            ctx.ticket(&ticket, "ticket", true);
            let client = format!("{cname}@{crealm}");
            ctx.kdc_rep_part(as_rep, &client, &ticket, &enc_part, fast_rep.as_ref());
        }
        RawMessage::ApRep { enc_part } => ctx.ap_rep(&enc_part),
        RawMessage::KrbCred { tickets, .. } => {
            for t in tickets.iter().take(MAX_TICKETS_PER_MESSAGE) {
                ctx.ticket(t, "ticket", true);
            }
        }
        RawMessage::Other => {}
    }
    out
}

struct Inspect<'k, 'o> {
    keys: &'k Keyring,
    learnt: &'o mut SessionKeys,
    out: &'o mut Vec<TicketProof>,
}

/// The keys an opened AP-REQ yields.
struct OpenedApReq {
    service: String,
    session: Key,
    subkey: Option<Key>,
}

/// Result of trying long-term keys on one part.
struct Opened<'k> {
    entry: &'k Entry,
    plain: Vec<u8>,
}

fn same_principal(a: &str, b: &str) -> bool {
    a.eq_ignore_ascii_case(b)
}

fn session_ref(service: &str, etype: i32, source: &str) -> KeyRef {
    KeyRef {
        principal: format!("session key of {service}"),
        kvno: None,
        etype,
        etype_name: EncryptionType(etype).display(),
        source: source.to_string(),
    }
}

fn key_of(block: &KeyBlock) -> Option<Key> {
    Key::new(block.keytype, &block.keyvalue)
}

impl<'k> Inspect<'k, '_> {
    /// Try the ring's keys of the part's type: the part's own principal first (matching kvno
    /// first), then everyone else's. `accept` checks the plaintext parses as the expected part.
    fn try_long_term(
        &self,
        principal: &str,
        enc: &EncData<'_>,
        usage: u32,
        proof: &mut TicketProof,
        accept: impl Fn(&[u8]) -> bool,
    ) -> Option<Opened<'k>> {
        let keys: &'k Keyring = self.keys;
        let mut candidates: Vec<&'k Entry> = keys
            .entries()
            .iter()
            .filter(|e| e.key.etype() == enc.etype)
            .collect();
        candidates.sort_by_key(|e| {
            (
                !same_principal(&e.principal, principal),
                enc.kvno.is_some() && e.kvno.is_some() && e.kvno != enc.kvno,
            )
        });
        let mut opened: Option<Opened<'k>> = None;
        for e in candidates {
            let own = same_principal(&e.principal, principal);
            // Once open, the part's own principal's remaining keys are still tried, and so are
            // the keys of the other sources (keytabs) than the one that opened it, so a proof
            // also names the keys given that would NOT open it: the stale or mismatched keytab
            // beside the right one, or the service keytab that holds other principals only.
            if let Some(o) = &opened
                && !own
                && o.entry.source == e.source
            {
                continue;
            }
            if let Some(plain) = e.key.decrypt(usage, enc.cipher).filter(|p| accept(p)) {
                if opened.is_none() {
                    opened = Some(Opened { entry: e, plain });
                }
                continue;
            }
            if own {
                if proof.tried.len() < MAX_TRIED_LISTED {
                    proof.tried.push(e.key_ref());
                }
            } else {
                if proof.tried_other.len() < MAX_TRIED_LISTED {
                    proof.tried_other.push(e.key_ref());
                }
                proof.tried_other_principals += 1;
            }
        }
        if opened.is_some() {
            return opened;
        }
        let own = proof.tried.len();
        let others = proof.tried_other_principals;
        let mut note = if own == 0 {
            let other_types: Vec<String> = keys
                .entries()
                .iter()
                .filter(|e| same_principal(&e.principal, principal))
                .map(|e| EncryptionType(e.key.etype()).display())
                .collect();
            if other_types.is_empty() {
                format!("no key for {principal} of type {}", proof.etype_name)
            } else {
                format!(
                    "no {} key for {principal} (have: {})",
                    proof.etype_name,
                    other_types.join(", ")
                )
            }
        } else {
            format!("none of the {own} key(s) for {principal} decrypts it")
        };
        if others > 0 {
            note.push_str(&format!(
                "; {others} key(s) of other principals tried, none decrypts it"
            ));
        }
        proof.note = Some(note);
        None
    }

    /// Open a ticket with the service keys; returns the session key when known (from the
    /// ticket, or learnt earlier from the KDC reply that delivered it).
    fn ticket(
        &mut self,
        t: &RawTicket<'_>,
        what: &'static str,
        emit: bool,
    ) -> Option<(Key, KeyRef)> {
        let service = t.principal();
        let mut proof = TicketProof::new(what, service.clone(), &t.enc);
        let opened = self.try_long_term(&service, &t.enc, USAGE_TICKET, &mut proof, |p| {
            enc_parts::starts_with_application(p, 3)
        });
        let part: Option<EncTicketPart> = opened.as_ref().and_then(|o| {
            proof.key = Some(o.entry.key_ref());
            enc_parts::enc_ticket_part(&o.plain).ok()
        });
        let mut session = None;
        if let Some(part) = part {
            proof.decrypted = true;
            proof.note = None;
            proof.client = Some(part.cname.clone());
            proof.authtime = Some(part.authtime.clone());
            proof.flags = part.flags.clone();
            if let Some(pac) = &part.pac {
                let s = pac_summary(pac);
                proof.pac_user = s.user;
                proof.pac_groups = s.groups;
            }
            if let Some(k) = key_of(&part.key) {
                self.learnt.learn_ticket(
                    t.enc.cipher,
                    Learnt {
                        key: k.clone(),
                        service: service.clone(),
                    },
                );
                session = Some((k, session_ref(&service, part.key.keytype, "ticket")));
            }
        } else if opened.is_some() {
            proof.note = Some("decrypted, but the plaintext is not an EncTicketPart".into());
        }
        if session.is_none()
            && let Some(l) = self.learnt.for_ticket(t.enc.cipher)
        {
            session = Some((
                l.key.clone(),
                session_ref(&l.service, l.key.etype(), "kdc-reply"),
            ));
            if !proof.decrypted {
                let note = proof.note.take().unwrap_or_default();
                proof.note = Some(format!(
                    "{note}; its session key is known from the KDC reply"
                ));
            }
        }
        if emit {
            self.out.push(proof);
        }
        session
    }

    /// Open an AP-REQ's ticket and authenticator; `emit` false opens a FAST armor silently.
    fn ap_req(&mut self, ap: &RawApReq<'_>, usage: u32, emit: bool) -> Option<OpenedApReq> {
        let service = ap.ticket.principal();
        let session = self.ticket(&ap.ticket, "ticket", emit);
        let mut proof = TicketProof::new("authenticator", service.clone(), &ap.authenticator);
        let Some((key, key_ref)) = session else {
            proof.note = Some("the ticket's session key is unknown".into());
            if emit {
                self.out.push(proof);
            }
            return None;
        };
        let Some(auth) = key
            .decrypt(usage, ap.authenticator.cipher)
            .and_then(|p| authenticator::authenticator(&p).ok())
        else {
            proof.note = Some("the ticket's session key does not decrypt it".into());
            proof.tried.push(key_ref);
            if emit {
                self.out.push(proof);
            }
            return None;
        };
        proof.decrypted = true;
        proof.key = Some(key_ref);
        proof.client = Some(auth.client.clone());
        let subkey = auth.subkey.as_ref().and_then(key_of);
        self.gss(&auth, &key, subkey.as_ref(), &mut proof);
        if emit {
            self.out.push(proof);
            // The forwarded TGT itself: the KDC keytab proves its flags first-hand.
            let cred = auth.gss.as_ref().and_then(|g| g.deleg.as_deref());
            if let Some((tickets, _)) = cred.and_then(|c| raw_krb_cred(c).ok()) {
                for t in tickets.iter().take(MAX_TICKETS_PER_MESSAGE) {
                    self.ticket(t, "delegated-ticket", true);
                }
            }
        }
        Some(OpenedApReq {
            service,
            session: key,
            subkey,
        })
    }

    /// AP-REP: opened with the session key or subkey of a recent AP-REQ; proves the service
    /// could read the ticket (mutual authentication).
    fn ap_rep(&mut self, enc: &EncData<'_>) {
        let mut proof = TicketProof::new("enc-part", String::new(), enc);
        let found = self.learnt.ap_sessions().find_map(|l| {
            (l.key.etype() == enc.etype)
                .then(|| l.key.decrypt(USAGE_AP_REP, enc.cipher))
                .flatten()
                .filter(|p| enc_parts::starts_with_application(p, 27))
                .map(|_| l.service.clone())
        });
        match found {
            Some(service) => {
                proof.decrypted = true;
                proof.key = Some(session_ref(&service, enc.etype, "capture"));
                proof.service = service;
            }
            None if self.learnt.ap_sessions().next().is_none() => return,
            None => proof.note = Some("no session key of a preceding AP-REQ decrypts it".into()),
        }
        self.out.push(proof);
    }

    /// GSS checksum flags and the delegated KRB-CRED.
    fn gss(
        &self,
        auth: &Authenticator,
        session: &Key,
        subkey: Option<&Key>,
        proof: &mut TicketProof,
    ) {
        let Some(gss) = &auth.gss else { return };
        proof.gss_flags = gss.flags.clone();
        let Some(cred) = &gss.deleg else {
            proof.delegated_tgt = Some(false);
            return;
        };
        let Ok((tickets, enc)) = raw_krb_cred(cred) else {
            proof.delegated_tgt = Some(false);
            proof.note = Some("delegation field is not a KRB-CRED".into());
            return;
        };
        proof.delegated_tgt = Some(tickets.iter().any(|t| t.sname.starts_with("krbtgt/")));
        let plain = if enc.etype == ETYPE_NULL {
            Some(enc.cipher.to_vec())
        } else {
            subkey
                .into_iter()
                .chain(std::iter::once(session))
                .find_map(|k| k.decrypt(USAGE_KRB_CRED, enc.cipher))
        };
        if let Some(info) = plain.and_then(|p| enc_parts::enc_krb_cred_part(&p).ok())
            && let Some(first) = info.first()
        {
            proof.delegated_flags = first.flags.clone();
        }
    }

    fn kdc_rep_part(
        &mut self,
        as_rep: bool,
        client: &str,
        ticket: &RawTicket<'_>,
        enc: &EncData<'_>,
        fast_rep: Option<&EncData<'_>>,
    ) {
        let service = ticket.principal();
        let mut proof = TicketProof::new("enc-part", service.clone(), enc);
        let accept = |p: &[u8]| {
            enc_parts::starts_with_application(p, 25) || enc_parts::starts_with_application(p, 26)
        };
        let mut opened: Option<(Vec<u8>, KeyRef)> = None;
        if as_rep {
            if let Some(o) = self.try_long_term(client, enc, USAGE_AS_REP, &mut proof, accept) {
                opened = Some((o.plain, o.entry.key_ref()));
            }
        } else {
            opened = self
                .learnt
                .requests()
                .find_map(|req| open_tgs_rep(req, enc, fast_rep, &accept));
            if opened.is_none() {
                proof.note = Some(
                    "no key of a preceding TGS-REQ (session key, subkey, FAST-strengthened key) \
                     decrypts it"
                        .into(),
                );
            }
        }
        let Some((plain, key_ref)) = opened else {
            self.out.push(proof);
            return;
        };
        proof.key = Some(key_ref);
        match enc_parts::enc_kdc_rep_part(&plain) {
            Ok(rep) => {
                proof.decrypted = true;
                proof.note = None;
                proof.client = Some(client.to_string());
                proof.authtime = Some(rep.authtime);
                proof.flags = rep.flags;
                if let Some(k) = key_of(&rep.key) {
                    self.learnt.learn_ticket(
                        ticket.enc.cipher,
                        Learnt {
                            key: k,
                            service: service.clone(),
                        },
                    );
                }
            }
            Err(_) => proof.note = Some("decrypted, but not an EncKDCRepPart".into()),
        }
        self.out.push(proof);
    }
}

/// Try one TGS-REQ's keys on a TGS-REP enc-part: subkey (usage 9) and TGT session key (8),
/// each strengthened by the FAST reply's strengthen-key when the reply is armoured.
fn open_tgs_rep(
    req: &TgsRequestKeys,
    enc: &EncData<'_>,
    fast_rep: Option<&EncData<'_>>,
    accept: &impl Fn(&[u8]) -> bool,
) -> Option<(Vec<u8>, KeyRef)> {
    let strengthen = fast_rep.and_then(|f| {
        let armor = req.armor.as_ref()?;
        let plain = armor.decrypt(USAGE_FAST_REP, f.cipher)?;
        key_of(&enc_parts::fast_response_strengthen_key(&plain).ok()??)
    });
    let bases = req
        .subkey
        .iter()
        .map(|k| (k, USAGE_TGS_REP_SUBKEY, "subkey"))
        .chain(std::iter::once((
            &req.session,
            USAGE_TGS_REP_SESSION,
            "session key",
        )));
    for (base, usage, name) in bases {
        let (key, label) = match &strengthen {
            Some(s) => (
                strengthened_reply_key(s, base)?,
                format!("FAST-strengthened {name}"),
            ),
            None => (base.clone(), name.to_string()),
        };
        if key.etype() != enc.etype {
            continue;
        }
        if let Some(p) = key.decrypt(usage, enc.cipher).filter(|p| accept(p)) {
            let principal = format!("{label} of the TGS-REQ with {}", req.service);
            let key_ref = KeyRef {
                principal,
                kvno: None,
                etype: key.etype(),
                etype_name: EncryptionType(key.etype()).display(),
                source: "capture".into(),
            };
            return Some((p, key_ref));
        }
    }
    None
}
