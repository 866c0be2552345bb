//! `wrong_spn_cname`: the client resolved an alias through a DNS CNAME chain and then asked the
//! KDC for `SERVICE/<canonical name>` instead of `SERVICE/<alias>`, the name the user typed.
//! Windows and MIT clients (with `dns_canonicalize_hostname = true`) build the SPN from the
//! CNAME target, so a service registered under the alias is never asked for.

use std::collections::BTreeMap;

use crate::analyze::draft::Draft;
use crate::analyze::finding::{Details, Finding, Kind, Severity};
use crate::analyze::model::{KdcExchange, Model, spn_host, spn_service};

use super::{domain_of, short_name};

struct Case<'m, 'a> {
    exchanges: Vec<&'m KdcExchange<'a>>,
    chain: Vec<String>,
}

pub fn run(m: &Model<'_>, out: &mut Vec<Finding>) {
    // (client, alias, requested SPN) → the TGS exchanges that show it.
    let mut cases: BTreeMap<(String, String, String), Case<'_, '_>> = BTreeMap::new();
    for x in m.kdc.iter().filter(|x| x.is_tgs()) {
        let Some(spn) = x.sname() else { continue };
        if spn.to_ascii_lowercase().starts_with("krbtgt/") {
            continue;
        }
        let Some(canonical) = spn_host(spn) else {
            continue;
        };
        let answers = m.chains_from(x.client, &canonical, x.first_frame());
        let Some(latest) = answers.last() else {
            continue;
        };
        let alias = latest.chain.first().cloned().unwrap_or_default();
        if alias == canonical {
            continue;
        }
        // The user typed the canonical name itself on some connection: nothing wrong.
        if m.conns
            .iter()
            .any(|c| c.client.ip() == x.client && c.host.as_deref() == Some(canonical.as_str()))
        {
            continue;
        }
        cases
            .entry((x.client.to_string(), alias, spn.to_string()))
            .or_insert_with(|| Case {
                exchanges: Vec::new(),
                chain: latest.chain.clone(),
            })
            .exchanges
            .push(x);
    }
    for ((_, alias, spn), case) in cases {
        // A case exists only once an exchange was pushed into it.
        if let Some(&first) = case.exchanges.first() {
            out.push(finding(m, &alias, &spn, &case, first));
        }
    }
}

fn finding(
    m: &Model<'_>,
    alias: &str,
    spn: &str,
    case: &Case<'_, '_>,
    first: &KdcExchange<'_>,
) -> Finding {
    let client = first.client;
    let canonical = case.chain.last().cloned().unwrap_or_default();
    let service = spn_service(spn).unwrap_or("HTTP");
    let expected_spn = format!("{service}/{alias}");
    let kdc_error = case.exchanges.iter().find_map(|x| x.error_code());

    // The application connections the client made to the alias (Host header), after the lookup.
    let conns: Vec<_> = m
        .conns
        .iter()
        .filter(|c| {
            c.client.ip() == client
                && c.host
                    .as_deref()
                    .is_some_and(|h| h == alias || h == short_name(alias))
        })
        .collect();
    let mut ap_error = false;
    let mut ntlm = false;
    for c in &conns {
        for s in &c.steps {
            let krb = s.kerberos();
            if s.from_client && s.ntlm().is_some() {
                ntlm = true;
            }
            if !s.from_client && krb.is_some_and(|k| k.msg_type == "KRB-ERROR") {
                ap_error = true;
            }
        }
    }
    // What happened next, most telling first: a fallback hides the failure from the user.
    let outcome = if ntlm {
        "ntlm_fallback"
    } else if ap_error {
        "ap_error"
    } else if kdc_error.is_some() {
        "kdc_error"
    } else {
        "succeeded"
    };
    let severity = if outcome == "succeeded" {
        Severity::Warning
    } else {
        Severity::Error
    };
    let realm = first
        .reply
        .and_then(|(_, r)| r.realm.clone())
        .or_else(|| m.realms.get(&client).cloned());
    let dom = domain_of(realm.as_deref());

    let mut d = Draft::new(
        Kind::WrongSpnCname,
        severity,
        Details::WrongSpnCname {
            alias: alias.to_string(),
            canonical: canonical.clone(),
            cname_chain: case.chain.clone(),
            requested_spn: spn.to_string(),
            expected_spn: expected_spn.clone(),
            outcome,
        },
    );
    let what_happened = match outcome {
        "ntlm_fallback" => "the client fell back to NTLM",
        "ap_error" => "the service rejected the ticket",
        "kdc_error" => "the KDC refused it",
        _ => "it worked, but against the account that holds the canonical name",
    };
    d.summary = format!(
        "{client} browsed {alias}, a CNAME of {canonical}, and asked for {spn} instead of {expected_spn}: {what_happened}"
    );
    d.client = Some(client);
    d.kdc = Some(first.kdc);
    d.server = conns.first().map(|c| c.server.to_string());
    d.spn = Some(spn.to_string());
    d.user = m.users.get(&client).cloned();
    d.realm = realm;
    d.explanation = format!(
        "DNS answered {alias} with a CNAME chain ({}). The client built the service principal name from the end of the chain, \
         as Windows clients and MIT clients with dns_canonicalize_hostname=true do, and asked the KDC for {spn} rather than \
         {expected_spn}. If the service is registered under the alias only, the KDC does not know {spn}; if another account \
         holds {spn}, the ticket is encrypted for that account and the service cannot decrypt it; either way Kerberos fails \
         or silently falls back to NTLM. Aliases resolved through CNAMEs are also a known Kerberos relay vector, so prefer A records for service names.",
        case.chain.join(" → ")
    );
    d.remediation = vec![
        format!("setspn -S {expected_spn} {dom}\\<account that runs the service>    # plus the short name: setspn -S {service}/{} {dom}\\<account>", short_name(alias)),
        format!("setspn -Q {spn}    # see which account holds the canonical SPN the clients ask for today"),
        format!("Or make {alias} an A record (address of {canonical}) instead of a CNAME, so clients keep the name the user typed."),
        "MIT/Heimdal clients: set dns_canonicalize_hostname = false (and rdns = false) in [libdefaults] of krb5.conf.".to_string(),
        "Older Internet Explorer/WinINet clients: FEATURE_USE_CNAME_FOR_SPN_KB911149 set to 0 makes them keep the alias.".to_string(),
    ];
    // Evidence: the DNS answers with the chain, the TGS exchanges, the connection's outcome.
    for a in m
        .dns
        .iter()
        .filter(|a| a.client == client && a.chain == case.chain && !a.addresses.is_empty())
    {
        d.cite(a.event);
    }
    for x in &case.exchanges {
        for (ev, _) in x.request.iter().chain(x.reply.iter()) {
            d.cite(ev);
        }
    }
    for c in &conns {
        for s in &c.steps {
            let krb = s.kerberos();
            let ap_req_for_spn = s.from_client
                && krb.is_some_and(|k| {
                    k.ticket
                        .as_ref()
                        .is_some_and(|t| t.sname.eq_ignore_ascii_case(spn))
                });
            let error = !s.from_client && krb.is_some_and(|k| k.msg_type == "KRB-ERROR");
            let ntlm_from_client =
                outcome == "ntlm_fallback" && s.from_client && s.ntlm().is_some();
            if ap_req_for_spn || error || ntlm_from_client {
                d.cite(s.event);
            }
        }
    }
    d.finish(m.capture)
}
