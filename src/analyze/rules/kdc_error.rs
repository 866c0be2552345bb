//! `kdc_error`: every other KRB-ERROR a person should look at — clock skew, expired or revoked
//! accounts and tickets, no common encryption type, policy, bad options, wrong passwords —
//! whether the KDC sent it or a service did inside its Negotiate answer. Routine codes are not
//! findings: PREAUTH_REQUIRED (25) is the first step of every AS exchange, RESPONSE_TOO_BIG (52)
//! makes the client retry over TCP, WRONG_REALM (68) is a referral, MORE_PREAUTH_DATA_REQUIRED
//! (91) is the next leg of a multi-round pre-authentication (FAST, SPAKE, Apple's LKDC). A
//! service that reports an error yet lets the exchange continue (SMB's MORE_PROCESSING_REQUIRED
//! around a KRB_AP_ERR_SKEW, the client retrying with the server's time) or that later accepts
//! the client gets a warning, not an error. Codes with their own kind
//! (7, and the ticket-decryption family) are left to those rules.

use std::collections::BTreeMap;
use std::net::IpAddr;

use crate::analyze::describe::error_name;
use crate::analyze::draft::Draft;
use crate::analyze::finding::{Details, Finding, Kind, Severity};
use crate::analyze::model::Model;
use crate::proto::kerberos::{KrbMessage, error_info};

use super::{PRINCIPAL_UNKNOWN, TICKET_DECRYPT_ERRORS};

const ROUTINE: [i32; 4] = [25, 52, 68, 91];
const PREAUTH_FAILED: i32 = 24;
const BAD_INTEGRITY: i32 = 31;

pub fn run(m: &Model<'_>, out: &mut Vec<Finding>) {
    let mut groups: BTreeMap<(String, i32, String), Draft> = BTreeMap::new();
    for x in &m.kdc {
        let Some(code) = x.error_code() else { continue };
        // From a KDC, 31 answers pre-authentication (a wrong password), not a service ticket.
        let kdc_preauth_31 = code == BAD_INTEGRITY && x.is_as();
        if ROUTINE.contains(&code)
            || code == PRINCIPAL_UNKNOWN
            || (TICKET_DECRYPT_ERRORS.contains(&code) && !kdc_preauth_31)
        {
            continue;
        }
        let Some((reply_ev, reply)) = x.reply else {
            continue;
        };
        let d = entry(
            &mut groups,
            m,
            x.client,
            code,
            x.sname().unwrap_or("?"),
            reply,
            Some(x.kdc),
            None,
        );
        if let Some((ev, _)) = x.request {
            d.cite(ev);
        }
        d.cite(reply_ev);
    }
    for c in &m.conns {
        for (i, s) in c.steps.iter().enumerate().filter(|(_, s)| !s.from_client) {
            let Some(err) = s.kerberos().filter(|k| k.msg_type == "KRB-ERROR") else {
                continue;
            };
            let Some(code) = err.error_code else { continue };
            if ROUTINE.contains(&code)
                || code == PRINCIPAL_UNKNOWN
                || TICKET_DECRYPT_ERRORS.contains(&code)
            {
                continue;
            }
            let sname = err.sname.as_deref().unwrap_or("?");
            let d = entry(
                &mut groups,
                m,
                c.client.ip(),
                code,
                sname,
                err,
                None,
                Some(c.server.to_string()),
            );
            d.cite(s.event);
            let recovered =
                s.continues() || c.steps.iter().skip(i + 1).any(|later| later.accepted());
            if recovered && d.severity == Severity::Error {
                d.severity = Severity::Warning;
                d.explanation.push_str(
                    " The server did not end the exchange on this error (it asked for another leg or later accepted the client), so the client may have recovered; it still costs a round trip and shows a misconfiguration.",
                );
            }
        }
    }
    out.extend(groups.into_values().map(|d| d.finish(m.capture)));
}

#[allow(clippy::too_many_arguments)]
fn entry<'g>(
    groups: &'g mut BTreeMap<(String, i32, String), Draft>,
    m: &Model<'_>,
    client: IpAddr,
    code: i32,
    sname: &str,
    err: &KrbMessage,
    kdc: Option<IpAddr>,
    server: Option<String>,
) -> &'g mut Draft {
    groups.entry((client.to_string(), code, sname.to_string())).or_insert_with(|| {
        let name = error_name(code);
        let severity = match code {
            PREAUTH_FAILED | BAD_INTEGRITY | 6 | 13 | 60 => Severity::Warning,
            _ => Severity::Error,
        };
        let mut d = Draft::new(Kind::KdcError, severity, Details::KdcError { code, name: name.clone() });
        let from = server.clone().map(|s| format!("the service {s}")).unwrap_or_else(|| "the KDC".into());
        d.summary = format!("{from} answered {code} {name} for {sname} to {client}");
        if let Some(t) = &err.e_text {
            d.summary.push_str(&format!(" (\"{t}\")"));
        }
        d.client = Some(client);
        d.kdc = kdc;
        d.server = server;
        d.spn = Some(sname.to_string());
        d.realm = err.realm.clone();
        d.user = err.cname.clone().or_else(|| m.users.get(&client).cloned());
        let meaning = error_info(code).map(|i| i.meaning).unwrap_or("An error the Kerberos tables do not describe.");
        d.explanation = match (code, &err.e_data) {
            (_, Some(e)) if e.nt_status.is_some() => {
                format!("{meaning} The error carries Windows status {}.", e.nt_status.as_deref().unwrap_or(""))
            }
            (BAD_INTEGRITY, _) => "Pre-authentication failed: the client encrypted the timestamp with a key derived from a wrong password.".to_string(),
            _ => meaning.to_string(),
        };
        d.remediation = vec![format!("kerbscope explain {code}    # meaning and what to check")];
        match code {
            37 => d.remediation.push("Synchronise clocks: w32tm /resync on Windows, chronyc makestep on Linux; check the domain time hierarchy.".into()),
            14 => d.remediation.push(format!("setspn -Q {sname}    # then check msDS-SupportedEncryptionTypes of that account and the client's allowed encryption types")),
            24 | BAD_INTEGRITY => d.remediation.push("Check the password the client uses (cached credentials in services, scheduled tasks, mapped drives).".into()),
            18 | 23 => d.remediation.push("Enable / unlock the account or reset its expired password.".into()),
            13 => d.remediation.push("If this is a delegation request (S4U2Proxy or a forwarded TGT), see the missing_delegation finding; a renew request needs a renewable ticket (kinit -r).".into()),
            _ => {}
        }
        d
    })
}
