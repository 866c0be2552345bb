//! `krb_ap_err_modified`: a service could not decrypt the ticket it was given. Windows answers
//! KRB_AP_ERR_MODIFIED (41); MIT and Heimdal answer 31, 44, 35 or 45 for the same family of
//! faults. The error rides back inside the Negotiate token of a 401 (or any other carrier), so
//! it is paired with the AP-REQ on the same connection that it answers.
//!
//! A service may also refuse the AP-REQ through its own protocol without any Kerberos error
//! (OpenLDAP answers invalidCredentials, Samba STATUS_LOGON_FAILURE): a carrier failure that
//! directly answers a client's AP-REQ on the same connection, with no AP-REP, is the same fault
//! inferred; the finding then has no `code` and says what the carrier answered.
//!
//! With keys (`--keytab`, `--password`) the AP-REQ's ticket proof turns the likely causes into
//! a proven one: which key given opens the ticket, and which keys given for the same principal
//! (another kvno: stale keytab; the same kvno: a different key) or for other principals only
//! (the SPN is not in the keytab) do not.

use std::collections::BTreeMap;

use crate::analyze::describe::error_name;
use crate::analyze::draft::Draft;
use crate::analyze::finding::{Details, Finding, KeyRef, Kind, Severity};
use crate::analyze::model::{AppConn, Model, spn_host, spn_service};
use crate::crypto::TicketProof;

use super::{TICKET_DECRYPT_ERRORS, domain_of, short_name};

const WINRM_HTTP_PORT: u16 = 5985;

pub fn run(m: &Model<'_>, out: &mut Vec<Finding>) {
    let mut groups: BTreeMap<(String, String, String, i32), Draft> = BTreeMap::new();
    for conn in &m.conns {
        for (i, step) in conn.steps.iter().enumerate() {
            let Some(err) = step
                .kerberos()
                .filter(|k| !step.from_client && k.msg_type == "KRB-ERROR")
            else {
                continue;
            };
            let Some(code) = err.error_code.filter(|c| TICKET_DECRYPT_ERRORS.contains(c)) else {
                continue;
            };
            // The AP-REQ this error answers: the client's last Kerberos token before it.
            let ap_req =
                conn.steps.iter().take(i).rev().find(|s| {
                    s.from_client && s.kerberos().is_some_and(|k| k.msg_type == "AP-REQ")
                });
            let ticket = ap_req
                .and_then(|s| s.kerberos())
                .and_then(|k| k.ticket.as_ref());
            let spn = ticket
                .map(|t| t.sname.clone())
                .or_else(|| err.sname.clone())
                .unwrap_or_else(|| "?".into());
            let key = (
                conn.client.ip().to_string(),
                conn.server.to_string(),
                spn.clone(),
                code,
            );
            let d = groups.entry(key).or_insert_with(|| {
                let realm = ticket
                    .map(|t| t.realm.clone())
                    .or_else(|| err.realm.clone());
                let proof = ap_req.and_then(|s| s.proof("ticket"));
                new_draft(
                    m,
                    conn,
                    &spn,
                    Some(code),
                    None,
                    ticket.map(|t| t.etype),
                    ticket.and_then(|t| t.kvno),
                    realm,
                    proof,
                )
            });
            if let Some(s) = ap_req {
                d.cite(s.event);
                // Context: how the client obtained that ticket.
                for x in m.tgs_for(conn.client.ip(), &spn, s.event.frame) {
                    for (ev, _) in x.request.iter().chain(x.reply.iter()) {
                        d.cite(ev);
                    }
                }
            }
            d.cite(step.event);
        }
    }
    // A carrier refusal answering an AP-REQ, with no Kerberos error in it.
    for conn in &m.conns {
        for (i, step) in conn.steps.iter().enumerate() {
            if !step.refused() || step.kerberos().is_some() || step.status().is_some() {
                continue;
            }
            // The client's token this refusal answers: the last one before it, which must be a
            // Kerberos AP-REQ (not NTLM) that no server token accepted in between.
            let answered = conn.steps.iter().take(i).rev().find(|s| s.from_client);
            let Some(ap_req) =
                answered.filter(|s| s.kerberos().is_some_and(|k| k.msg_type == "AP-REQ"))
            else {
                continue;
            };
            let Some(ticket) = ap_req.kerberos().and_then(|k| k.ticket.as_ref()) else {
                continue;
            };
            let spn = ticket.sname.clone();
            let refusal = step.refusal().unwrap_or_else(|| "a failure".into());
            let key = (
                conn.client.ip().to_string(),
                conn.server.to_string(),
                spn.clone(),
                0,
            );
            let d = groups.entry(key).or_insert_with(|| {
                new_draft(
                    m,
                    conn,
                    &spn,
                    None,
                    Some(refusal),
                    Some(ticket.etype),
                    ticket.kvno,
                    Some(ticket.realm.clone()),
                    ap_req.proof("ticket"),
                )
            });
            d.cite(ap_req.event);
            for x in m.tgs_for(conn.client.ip(), &spn, ap_req.event.frame) {
                for (ev, _) in x.request.iter().chain(x.reply.iter()) {
                    d.cite(ev);
                }
            }
            d.cite(step.event);
        }
    }
    // A KDC itself answering 41: it could not decrypt a ticket presented to it (a TGT encrypted
    // with a krbtgt key it does not have, e.g. a read-only DC or a reset krbtgt).
    for x in m.kdc.iter().filter(|x| x.error_code() == Some(41)) {
        let spn = x.sname().unwrap_or("?").to_string();
        let key = (x.client.to_string(), x.kdc.to_string(), spn.clone(), 41);
        let d = groups.entry(key).or_insert_with(|| {
            let mut d = Draft::new(
                Kind::KrbApErrModified,
                Severity::Error,
                Details::KrbApErrModified {
                    code: Some(41),
                    code_name: error_name(41),
                    ticket_etype: None,
                    ticket_kvno: None,
                    transport: "kdc".into(),
                    likely_causes: vec![
                        "The KDC could not decrypt the ticket-granting ticket: it was issued with a krbtgt key this KDC does not have (read-only DC without the password cached, krbtgt reset, or a ticket from another realm/forest with a broken trust key).".into(),
                    ],
                    ticket_decrypted_by: None,
                    keys_that_failed: Vec::new(),
                    key_proof: None,
                },
            );
            d.summary = format!("The KDC {} could not decrypt the ticket presented by {} (KRB_AP_ERR_MODIFIED)", x.kdc, x.client);
            d.client = Some(x.client);
            d.kdc = Some(x.kdc);
            d.spn = Some(spn.clone());
            d.explanation = "A KDC answered 41: the ticket the client presented in its TGS-REQ was encrypted with a key this KDC does not hold.".into();
            d.remediation = vec![
                "klist purge    # on the client, then log on again to get a fresh TGT".into(),
                "repadmin /showrepl and check krbtgt / trust password replication between domain controllers".into(),
            ];
            d
        });
        for (ev, _) in x.request.iter().chain(x.reply.iter()) {
            d.cite(ev);
        }
    }
    out.extend(groups.into_values().map(|d| d.finish(m.capture)));
}

#[allow(clippy::too_many_arguments)]
fn new_draft(
    m: &Model<'_>,
    conn: &AppConn<'_>,
    spn: &str,
    code: Option<i32>,
    refusal: Option<String>,
    etype: Option<i32>,
    kvno: Option<u32>,
    realm: Option<String>,
    proof: Option<&TicketProof>,
) -> Draft {
    let winrm = conn.winrm
        || conn.server.port() == WINRM_HTTP_PORT
        || conn.server.port() == WINRM_HTTP_PORT + 1;
    let transport = if winrm { "winrm" } else { conn.transport() };
    // What the service said: "41 KRB_AP_ERR_MODIFIED", or its carrier's refusal.
    let answer = match (code, &refusal) {
        (Some(c), _) => format!("{c} {}", error_name(c)),
        (None, Some(r)) => format!("{r}, no Kerberos error"),
        (None, None) => "a refusal".to_string(),
    };
    let host = spn_host(spn).unwrap_or_else(|| conn.host.clone().unwrap_or_default());
    let service = spn_service(spn).unwrap_or("HTTP").to_string();
    let dom = domain_of(realm.as_deref());
    let kv = kvno.map(|k| k.to_string()).unwrap_or_else(|| "?".into());
    let mut causes: Vec<String> = Vec::new();
    if winrm {
        causes.push(format!(
            "WinRM: {spn} is registered on an IIS application-pool account rather than on the computer account {}$ that the WinRM service decrypts with, so tickets for {spn} are encrypted for the wrong account (Enter-PSSession fails with 0x80090322). Connecting with -IncludePortInSPN asks for {service}/{host}:{} instead, which only the computer account holds.",
            short_name(&host).to_ascii_uppercase(),
            conn.server.port()
        ));
    }
    match code.unwrap_or(0) {
        44 => {
            causes.push(format!("Stale keytab: the ticket is encrypted with key version {kv} of {spn}, and the service's keytab does not have that version (the account's password changed, or a new key was generated, and the keytab was not re-exported)."));
            causes.push(
                "The keytab has the key version but not the ticket's encryption type.".into(),
            );
        }
        35 | 45 => {
            causes.push(format!("{spn} is not in the service's keytab: the service runs under another principal, or its keytab was exported for a different SPN."));
            causes.push(format!("The client asked for the wrong SPN ({spn}), e.g. built from a DNS CNAME target, and the KDC issued a ticket for another service account."));
        }
        _ => {
            causes.push(format!("Duplicate SPN: {spn} is registered on more than one account, and the KDC encrypted the ticket for an account other than the one the service runs as."));
            if conn.carrier == "http" {
                causes.push(format!("SPN on the wrong account: the service decrypts with another account's key. IIS with kernel-mode authentication decrypts with the computer account {}$; with a domain application-pool identity either set useAppPoolCredentials=true or move {spn} to the app-pool account.", short_name(&host).to_ascii_uppercase()));
            } else {
                causes.push(format!("SPN on the wrong account: the service runs as (or its keytab holds the key of) another account than the one {spn} is registered on."));
            }
            causes.push(format!("The service's key is out of date with the same key version {kv} (account deleted and re-created, or password reset without updating the service/keytab)."));
            if code == Some(41) {
                causes.push("Encryption types: the account's allowed encryption types (msDS-SupportedEncryptionTypes / 'Configure encryption types allowed for Kerberos' policy) differ between the KDC and the service.".into());
            }
        }
    }
    let keys = proof.map(|p| KeyEvidence::of(p, code.unwrap_or(0)));
    if let Some(cause) = keys.as_ref().and_then(|k| k.cause.clone()) {
        causes.insert(0, cause);
    }
    let mut rem = vec![
        format!(
            "setspn -Q {spn}    # lists every account holding the SPN: exactly one must, the account that runs the service"
        ),
        "setspn -X    # finds duplicate SPNs across the domain".to_string(),
        format!(
            "setspn -D {spn} {dom}\\<wrong account>    # remove it from the account that does not run the service"
        ),
        format!(
            "setspn -S {spn} {dom}\\<service account>    # register it on the account that does"
        ),
    ];
    if winrm {
        rem.push(format!(
            "Enter-PSSession {host} -SessionOption (New-PSSessionOption -IncludePortInSPN)    # and register: setspn -S {service}/{host}:{} {}",
            conn.server.port(),
            short_name(&host).to_ascii_uppercase()
        ));
    } else if conn.carrier == "http" {
        rem.push("IIS: %windir%\\system32\\inetsrv\\appcmd.exe set config \"<site>\" -section:system.webServer/security/authentication/windowsAuthentication /useAppPoolCredentials:true /commit:apphost    # when the app pool runs as a domain account".into());
    }
    rem.push(format!("Keytab services: kvno {spn}    # key version the KDC uses now ({kv} in this ticket); compare with: klist -kte <service keytab>"));
    rem.push(format!(
        "Re-export the keytab after a password change: ktpass -princ {spn}@{} -mapuser {dom}\\<service account> -crypto AES256-SHA1 -ptype KRB5_NT_PRINCIPAL -pass * -out service.keytab    (MIT: kadmin -q \"ktadd -k <keytab> {spn}\")",
        realm.as_deref().unwrap_or("REALM")
    ));
    let mut d = Draft::new(
        Kind::KrbApErrModified,
        Severity::Error,
        Details::KrbApErrModified {
            code,
            code_name: match (code, &refusal) {
                (Some(c), _) => error_name(c),
                (None, Some(r)) => format!("none on the wire ({r})"),
                (None, None) => "none on the wire".to_string(),
            },
            ticket_etype: etype,
            ticket_kvno: kvno,
            transport: transport.into(),
            likely_causes: causes,
            ticket_decrypted_by: keys.as_ref().and_then(|k| k.decrypted_by.clone()),
            keys_that_failed: keys.as_ref().map(|k| k.failed.clone()).unwrap_or_default(),
            key_proof: keys.as_ref().map(|k| k.sentence.clone()),
        },
    );
    d.summary = match code {
        Some(_) => format!(
            "{} could not decrypt the ticket for {spn} ({answer}), presented by {}",
            conn.server,
            conn.client.ip()
        ),
        None => format!(
            "{} refused the Kerberos ticket for {spn} presented by {} ({answer}): most likely it could not decrypt it",
            conn.server,
            conn.client.ip()
        ),
    };
    d.client = Some(conn.client.ip());
    d.server = Some(conn.server.to_string());
    d.spn = Some(spn.to_string());
    d.user = m.users.get(&conn.client.ip()).cloned();
    d.realm = realm;
    d.explanation = format!(
        "The KDC issued a ticket for {spn} encrypted with the key of the account that holds that SPN (key version {kv}). \
         The service at {} tried to decrypt it with its own key and failed ({answer}), so it rejected the authentication. \
         The ticket and the service disagree about which account, or which key of the account, {spn} belongs to.",
        conn.server,
    );
    if code.is_none() {
        d.explanation.push_str(
            " The service answered through its own protocol without a Kerberos error, so the code is not on the wire: \
             this is inferred from a refusal that directly answers the AP-REQ. Its log (or --keytab) tells for certain.",
        );
    }
    if let Some(k) = &keys {
        d.explanation.push_str(" With the keys given: ");
        d.explanation.push_str(&k.sentence);
    }
    d.remediation = rem;
    d
}

/// What the keys given prove about the rejected ticket.
struct KeyEvidence {
    decrypted_by: Option<KeyRef>,
    failed: Vec<KeyRef>,
    /// The facts, naming the keys.
    sentence: String,
    /// The cause those facts prove, when they prove one.
    cause: Option<String>,
}

/// "HTTP/web1.lab.test@LAB.TEST kvno 3 (aes256-cts-hmac-sha1-96) from web1.keytab".
fn key_name(k: &KeyRef) -> String {
    let kvno = k.kvno.map(|v| format!(" kvno {v}")).unwrap_or_default();
    format!("{}{kvno} ({}) from {}", k.principal, k.etype_name, k.source)
}

fn kvno_text(kvno: Option<u32>) -> String {
    kvno.map_or_else(|| "?".to_string(), |v| v.to_string())
}

/// The sources (keytab file names) of `keys`, each once, in order.
fn sources(keys: &[&KeyRef]) -> String {
    let mut out: Vec<&str> = Vec::new();
    for k in keys {
        if !out.contains(&k.source.as_str()) {
            out.push(&k.source);
        }
    }
    out.join(", ")
}

impl KeyEvidence {
    fn of(p: &TicketProof, code: i32) -> KeyEvidence {
        let svc = &p.service;
        let kv = kvno_text(p.kvno);
        let ticket = format!(
            "the ticket for {svc} is encrypted with kvno {kv} ({})",
            p.etype_name
        );
        let ticket_s = capitalized(&ticket);
        let own_failed: Vec<&KeyRef> = p.tried.iter().collect();
        let same_kvno: Vec<&KeyRef> = own_failed
            .iter()
            .copied()
            .filter(|k| k.kvno.is_none() || k.kvno == p.kvno)
            .collect();
        let other_kvno: Vec<&KeyRef> = own_failed
            .iter()
            .copied()
            .filter(|k| k.kvno.is_some() && k.kvno != p.kvno)
            .collect();
        let failed: Vec<KeyRef> = p
            .tried
            .iter()
            .chain(p.tried_other.iter())
            .cloned()
            .collect();
        let mut facts = Vec::new();
        let mut cause = None;
        match (&p.key, p.decrypted) {
            (Some(k), true) => {
                facts.push(format!("{ticket}, and it decrypts with {}", key_name(k)));
                if !same_kvno.is_empty() {
                    let names: Vec<String> = same_kvno.iter().map(|k| key_name(k)).collect();
                    facts.push(format!("{} does not decrypt it", names.join(" and ")));
                    cause = Some(format!(
                        "Proven with the keys given: key mismatch with the same kvno. {} holds kvno {kv} of {svc}, but a different key than the one the KDC encrypted the ticket with (the account was re-created or its password reset and the key changed while the kvno stayed {kv}); re-export the keytab.",
                        sources(&same_kvno)
                    ));
                } else if !other_kvno.is_empty() {
                    let kvnos: Vec<String> = other_kvno.iter().map(|k| kvno_text(k.kvno)).collect();
                    facts.push(format!(
                        "{} holds kvno {} of {svc}, which does not decrypt it",
                        sources(&other_kvno),
                        kvnos.join(", ")
                    ));
                    cause = Some(format!(
                        "Proven with the keys given: stale keytab. {ticket_s}; {} holds only kvno {} of {svc} — the key was changed on the KDC and the keytab was not re-exported.",
                        sources(&other_kvno),
                        kvnos.join(", ")
                    ));
                } else if !p.tried_other.is_empty() && k.principal.eq_ignore_ascii_case(svc) {
                    let (held, refs) = held_keys(&p.tried_other);
                    facts.push(format!(
                        "{} holds no key for {svc}, only {held}",
                        sources(&refs)
                    ));
                    cause = Some(format!(
                        "Proven with the keys given: {svc} is not in the service's keytab. The ticket is sound (it decrypts with {}); {} holds {held} and no key for {svc}: the service runs under another principal, or the client asked for the wrong SPN.",
                        key_name(k),
                        sources(&refs)
                    ));
                } else if !k.principal.eq_ignore_ascii_case(svc) {
                    cause = Some(format!(
                        "Proven with the keys given: the ticket for {svc} is encrypted with the key of {} — the KDC issued it for that account, not the one the service runs as.",
                        k.principal
                    ));
                } else {
                    facts.push(format!("no key given for {svc} fails to decrypt it"));
                    if matches!(code, 35 | 45) {
                        cause = Some(format!(
                            "Proven with the keys given: the ticket is sound (it decrypts with {}), so the service's keytab has no key for {svc}: it runs under another principal, or its keytab was exported for a different SPN.",
                            key_name(k)
                        ));
                    } else {
                        cause = Some(format!(
                            "Proven with the keys given: the ticket is sound (it decrypts with {}), so the key the service uses for {svc} differs from it; compare the service's keytab with it (klist -kte).",
                            key_name(k)
                        ));
                    }
                }
            }
            _ => {
                let n = p.tried.len() + p.tried_other_principals;
                facts.push(format!(
                    "{ticket}, and none of the {n} key(s) given of that type decrypts it"
                ));
                if !same_kvno.is_empty() {
                    facts.push(format!(
                        "{} holds kvno {kv} of {svc}, with a different key",
                        sources(&same_kvno)
                    ));
                    cause = Some(format!(
                        "Proven with the keys given: key mismatch with the same kvno. {ticket_s}; {} holds kvno {kv} of {svc} but that key does not decrypt it: the key changed (account re-created or password reset) while the kvno stayed {kv}, and the keytab kept the old key.",
                        sources(&same_kvno)
                    ));
                } else if !other_kvno.is_empty() {
                    let kvnos: Vec<String> = other_kvno.iter().map(|k| kvno_text(k.kvno)).collect();
                    facts.push(format!(
                        "{} holds kvno {} of {svc}",
                        sources(&other_kvno),
                        kvnos.join(", ")
                    ));
                    cause = Some(format!(
                        "Proven with the keys given: stale keytab. {ticket_s}; the keytab you gave ({}) holds kvno {} of {svc} — re-export it (the KDC's key is now kvno {kv}).",
                        sources(&other_kvno),
                        kvnos.join(", ")
                    ));
                } else if !p.tried_other.is_empty() {
                    let (held, refs) = held_keys(&p.tried_other);
                    facts.push(format!(
                        "the keys given hold no key for {svc}, only {held} ({})",
                        sources(&refs)
                    ));
                    cause = Some(format!(
                        "Proven with the keys given: {svc} is not in the keytab. {ticket_s}; the keytab you gave ({}) holds {held} and no key for {svc}: the service runs under another principal, or the client asked for the wrong SPN.",
                        sources(&refs),
                    ));
                } else if let Some(note) = &p.note {
                    facts.push(note.clone());
                }
            }
        }
        let sentence = format!("{}.", capitalized(&facts.join("; ")));
        KeyEvidence {
            decrypted_by: p.key.clone().filter(|_| p.decrypted),
            failed,
            sentence,
            cause,
        }
    }
}

/// "HTTP/other.lab.test@LAB.TEST kvno 2, ..." (each principal and kvno once) and the keys.
fn held_keys(keys: &[KeyRef]) -> (String, Vec<&KeyRef>) {
    let mut held: Vec<String> = Vec::new();
    for k in keys {
        let name = format!("{} kvno {}", k.principal, kvno_text(k.kvno));
        if !held.contains(&name) {
            held.push(name);
        }
    }
    (held.join(", "), keys.iter().collect())
}

fn capitalized(s: &str) -> String {
    let mut c = s.chars();
    c.next()
        .map(|f| f.to_uppercase().chain(c).collect())
        .unwrap_or_default()
}
