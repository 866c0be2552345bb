//! `weak_encryption`: tickets or KDC replies encrypted with DES or RC4 (RFC 6649, RFC 8429).
//! RC4 service tickets are also what Kerberoasting asks for.

use std::collections::BTreeMap;

use crate::analyze::draft::Draft;
use crate::analyze::finding::{Details, Finding, Kind, Severity};
use crate::analyze::model::Model;
use crate::event::Event;
use crate::proto::kerberos::EncryptionType;

pub fn run(m: &Model<'_>, out: &mut Vec<Finding>) {
    let mut groups: BTreeMap<(String, i32), Draft> = BTreeMap::new();
    let mut note = |ev: &Event,
                    spn: &str,
                    etype: i32,
                    etype_name: &str,
                    client: std::net::IpAddr| {
        if !EncryptionType(etype).is_weak() {
            return;
        }
        let d = groups.entry((spn.to_string(), etype)).or_insert_with(|| {
            let mut d = Draft::new(Kind::WeakEncryption, Severity::Warning, Details::WeakEncryption { etype: etype_name.to_string() });
            d.summary = format!("Tickets for {spn} use weak encryption {etype_name} ({etype})");
            d.spn = Some(spn.to_string());
            d.client = Some(client);
            d.explanation = format!(
                "The KDC issued a ticket for {spn} encrypted with {etype_name}. DES and RC4 keys are weak: RC4 tickets \
                 can be cracked offline (Kerberoasting), and recent Windows versions disable them. Usually the account has \
                 no AES keys (password not reset since AES was enabled) or msDS-SupportedEncryptionTypes excludes AES."
            );
            d.remediation = vec![
                format!("setspn -Q {spn}    # find the account, then allow AES: Set-ADUser <account> -KerberosEncryptionType AES128,AES256 (Set-ADComputer for computers)"),
                "Reset the account's password once after enabling AES so that AES keys exist.".into(),
            ];
            d
        });
        d.cite(ev);
    };
    for x in &m.kdc {
        if let Some((ev, r)) = x.reply
            && let Some(t) = &r.ticket
        {
            note(ev, &t.sname, t.etype, &t.etype_name, x.client);
        }
    }
    for c in &m.conns {
        for s in &c.steps {
            if let Some(t) = s
                .kerberos()
                .filter(|k| k.msg_type == "AP-REQ")
                .and_then(|k| k.ticket.as_ref())
            {
                note(s.event, &t.sname, t.etype, &t.etype_name, c.client.ip());
            }
        }
    }
    out.extend(groups.into_values().map(|d| d.finish(m.capture)));
}
