//! `krb_ap_err_modified`: a service could not decrypt the ticket it was given. Windows answers
//! KRB_AP_ERR_MODIFIED (41); MIT and Heimdal answer 31, 44, 35 or 45 for the same family of
//! faults. The error rides back inside the Negotiate token of a 401 (or any other carrier), so
//! it is paired with the AP-REQ on the same connection that it answers.

use std::collections::BTreeMap;

use crate::analyze::describe::error_name;
use crate::analyze::draft::Draft;
use crate::analyze::finding::{Details, Finding, Kind, Severity};
use crate::analyze::model::{AppConn, Model, spn_host, spn_service};

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
                new_draft(
                    m,
                    conn,
                    &spn,
                    code,
                    ticket.map(|t| t.etype),
                    ticket.and_then(|t| t.kvno),
                    realm,
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
                    code: 41,
                    code_name: error_name(41),
                    ticket_etype: None,
                    ticket_kvno: None,
                    transport: "kdc".into(),
                    likely_causes: vec![
                        "The KDC could not decrypt the ticket-granting ticket: it was issued with a krbtgt key this KDC does not have (read-only DC without the password cached, krbtgt reset, or a ticket from another realm/forest with a broken trust key).".into(),
                    ],
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

fn new_draft(
    m: &Model<'_>,
    conn: &AppConn<'_>,
    spn: &str,
    code: i32,
    etype: Option<i32>,
    kvno: Option<u32>,
    realm: Option<String>,
) -> Draft {
    let winrm = conn.winrm
        || conn.server.port() == WINRM_HTTP_PORT
        || conn.server.port() == WINRM_HTTP_PORT + 1;
    let transport = if winrm { "winrm" } else { "http" };
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
    match code {
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
            causes.push(format!("SPN on the wrong account: the service decrypts with another account's key. IIS with kernel-mode authentication decrypts with the computer account {}$; with a domain application-pool identity either set useAppPoolCredentials=true or move {spn} to the app-pool account.", short_name(&host).to_ascii_uppercase()));
            causes.push(format!("The service's key is out of date with the same key version {kv} (account deleted and re-created, or password reset without updating the service/keytab)."));
            if code == 41 {
                causes.push("Encryption types: the account's allowed encryption types (msDS-SupportedEncryptionTypes / 'Configure encryption types allowed for Kerberos' policy) differ between the KDC and the service.".into());
            }
        }
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
    } else {
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
            code_name: error_name(code),
            ticket_etype: etype,
            ticket_kvno: kvno,
            transport: transport.into(),
            likely_causes: causes,
        },
    );
    d.summary = format!(
        "{} could not decrypt the ticket for {spn} ({} {}), presented by {}",
        conn.server,
        code,
        error_name(code),
        conn.client.ip()
    );
    d.client = Some(conn.client.ip());
    d.server = Some(conn.server.to_string());
    d.spn = Some(spn.to_string());
    d.user = m.users.get(&conn.client.ip()).cloned();
    d.realm = realm;
    d.explanation = format!(
        "The KDC issued a ticket for {spn} encrypted with the key of the account that holds that SPN (key version {kv}). \
         The service at {} tried to decrypt it with its own key and failed ({} {}), so it rejected the authentication. \
         The ticket and the service disagree about which account, or which key of the account, {spn} belongs to.",
        conn.server,
        code,
        error_name(code)
    );
    d.remediation = rem;
    d
}
