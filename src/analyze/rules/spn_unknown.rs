//! `spn_unknown`: the KDC answered KDC_ERR_S_PRINCIPAL_UNKNOWN (7): no account holds the SPN the
//! client asked for. Retries (MIT asks twice, clients retry) fold into one finding per client
//! and SPN.

use std::collections::BTreeMap;

use crate::analyze::draft::Draft;
use crate::analyze::finding::{Details, Finding, Kind, Severity};
use crate::analyze::model::{Model, spn_host};

use super::{PRINCIPAL_UNKNOWN, domain_of, short_name};

pub fn run(m: &Model<'_>, out: &mut Vec<Finding>) {
    let mut groups: BTreeMap<(String, String), Draft> = BTreeMap::new();
    for x in m
        .kdc
        .iter()
        .filter(|x| x.error_code() == Some(PRINCIPAL_UNKNOWN))
    {
        let spn = x.sname().unwrap_or("?").to_string();
        let d = groups.entry((x.client.to_string(), spn.clone())).or_insert_with(|| {
            let mut d = Draft::new(Kind::SpnUnknown, Severity::Error, Details::None {});
            let realm = x.reply.and_then(|(_, r)| r.realm.clone()).or_else(|| m.realms.get(&x.client).cloned());
            d.summary = format!("The KDC has no account for {spn} (KDC_ERR_S_PRINCIPAL_UNKNOWN), requested by {}", x.client);
            d.client = Some(x.client);
            d.kdc = Some(x.kdc);
            d.user = m.users.get(&x.client).cloned();
            d.explanation = format!(
                "The client asked the KDC for a service ticket for {spn}, and the KDC answered that no account in {} \
                 holds that service principal name. Without a ticket the client cannot use Kerberos for this service: it \
                 fails or falls back to NTLM. Usually the SPN was never registered, is registered under a different host \
                 name (short name vs FQDN, alias vs canonical name), or the client built it from the target of a DNS CNAME.",
                realm.as_deref().unwrap_or("the realm")
            );
            let dom = domain_of(realm.as_deref());
            d.remediation = vec![format!("setspn -Q {spn}    # confirm no account holds it")];
            if let Some(host) = spn_host(&spn) {
                let service = spn.split('/').next().unwrap_or("HTTP");
                d.remediation.push(format!(
                    "setspn -S {service}/{host} {dom}\\<account that runs the service>    # and the short form: setspn -S {service}/{} {dom}\\<account>",
                    short_name(&host)
                ));
                d.remediation.push(format!(
                    "If {host} is the canonical name behind a DNS alias the users type, register the alias instead (see wrong_spn_cname) or replace the CNAME with an A record."
                ));
            }
            d.spn = Some(spn.clone());
            d.realm = realm;
            d
        });
        if let Some((ev, _)) = x.request {
            d.cite(ev);
        }
        if let Some((ev, _)) = x.reply {
            d.cite(ev);
        }
    }
    out.extend(groups.into_values().map(|d| d.finish(m.capture)));
}
