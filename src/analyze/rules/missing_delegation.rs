//! `missing_delegation`: the double hop. A client authenticated to a first-hop service with
//! Kerberos; that service then called a second hop on the user's behalf and could not carry the
//! user's identity: the client never forwarded a TGT (or the KDC refused to issue a forwardable
//! one), the KDC refused S4U2Proxy (constrained delegation not allowed), or the second call went
//! out unauthenticated or with NTLM.
//!
//! With keys (`--keytab` of the first hop, `--password` of the user) the AP-REQ to the first
//! hop proves more: whether the client asked to delegate (the `deleg` flag of the
//! authenticator's GSS checksum), whether a forwarded TGT rode along, and whether the ticket
//! was forwardable and ok-as-delegate.
//!
//! A completed CredSSP exchange from the client to the first hop before the second call
//! delegates the user's credentials (see `credssp`): no finding then. Failed CredSSP
//! exchanges are reported by the `credssp` rule under this kind.

use crate::analyze::draft::Draft;
use crate::analyze::finding::{DelegationProof, Details, Finding, Kind, Severity};
use crate::analyze::model::{AppConn, AuthStep, KdcExchange, Model};

use super::{BAD_OPTION, domain_of, short_name};

/// How long after the user's request the first hop's own calls still count as made for it,
/// in seconds of capture time.
const SECOND_HOP_WINDOW_SECS: i64 = 60;

pub fn run(m: &Model<'_>, out: &mut Vec<Finding>) {
    for first in &m.conns {
        for (i, ap) in first.steps.iter().enumerate() {
            if !(ap.from_client && ap.kerberos().is_some_and(|k| k.msg_type == "AP-REQ")) {
                continue;
            }
            if let Some(f) = check(m, first, i, ap) {
                out.push(f);
                break;
            }
        }
    }
}

fn check(
    m: &Model<'_>,
    first: &AppConn<'_>,
    ap_index: usize,
    ap: &AuthStep<'_>,
) -> Option<Finding> {
    let hop1 = first.server.ip();
    let t0 = ap.event.ts.secs;
    // The first hop's answer to the user's request, and its own outgoing connections meanwhile.
    let answer = first
        .steps
        .iter()
        .skip(ap_index + 1)
        .find(|s| s.is_final_answer());
    let seconds: Vec<&AppConn<'_>> = m
        .conns
        .iter()
        .filter(|c| {
            c.client.ip() == hop1
                && c.steps.first().is_some_and(|s| {
                    s.event.frame > ap.event.frame && s.event.ts.secs - t0 <= SECOND_HOP_WINDOW_SECS
                })
                && answer.is_none_or(|a| s_first_frame(c) < a.event.frame)
        })
        .collect();
    let second = seconds.first()?;
    let kerberos_second = second
        .steps
        .iter()
        .any(|s| s.from_client && s.kerberos().is_some_and(|k| k.msg_type == "AP-REQ"));
    let ntlm_second = second
        .steps
        .iter()
        .any(|s| s.from_client && s.ntlm().is_some());
    let refused = second.steps.iter().any(|s| s.refused());
    let accepted = second.steps.iter().any(|s| s.accepted());
    if kerberos_second && accepted {
        return None; // the user's identity reached the second hop
    }
    if !(refused || ntlm_second || !kerberos_second) {
        return None;
    }
    // A completed CredSSP exchange to the first hop handed it the user's credentials: the
    // second hop's call can carry the user whatever became of the Kerberos ticket.
    if super::credssp::delegated(m, first.client.ip(), hop1, s_first_frame(second)) {
        return None;
    }
    // Why: S4U2Proxy refused, no forwarded TGT, NTLM, or simply no credentials.
    let client = first.client.ip();
    let s4u: Vec<&KdcExchange<'_>> = m
        .kdc
        .iter()
        .filter(|x| x.client == hop1 && x.is_s4u2proxy() && x.first_frame() > ap.event.frame)
        .collect();
    let s4u_refused: Vec<_> = s4u
        .iter()
        .copied()
        .filter(|x| x.error_code() == Some(BAD_OPTION))
        .collect();
    let forwarded: Vec<&KdcExchange<'_>> = m
        .kdc
        .iter()
        .filter(|x| {
            x.client == client && x.is_forwarded_tgt_request() && x.first_frame() < ap.event.frame
        })
        .collect();
    let forwarded_ok = forwarded.iter().any(|x| x.succeeded());
    let mechanism = if !s4u_refused.is_empty() {
        "s4u2proxy_refused"
    } else if !forwarded_ok && s4u.is_empty() {
        "no_forwarded_tgt"
    } else if ntlm_second {
        "ntlm_second_hop"
    } else {
        "unauthenticated_second_hop"
    };

    let hop1_name = m.server_name(first).unwrap_or_else(|| hop1.to_string());
    let hop2_name = m
        .server_name(second)
        .unwrap_or_else(|| second.server.ip().to_string());
    let hop2_spn = format!("{}/{hop2_name}", second.service_class());
    let hop1_spn = ap
        .kerberos()
        .and_then(|k| k.ticket.as_ref())
        .map(|t| t.sname.clone())
        .unwrap_or_else(|| format!("{}/{hop1_name}", first.service_class()));
    let realm = ap
        .kerberos()
        .and_then(|k| k.ticket.as_ref())
        .map(|t| t.realm.clone());
    let dom = domain_of(realm.as_deref());
    let hop1_account = account_of(&hop1_name);
    let hop2_account = account_of(&hop2_name);

    let proof = delegation_proof(ap, &hop1_spn);
    let mut d = Draft::new(
        Kind::MissingDelegation,
        Severity::Error,
        Details::MissingDelegation {
            first_hop: first.server.to_string(),
            second_hop: Some(second.server.to_string()),
            mechanism,
            delegation_proof: proof.clone(),
        },
    );
    let proven = proof.as_ref().and_then(|p| proven_why(p, &hop1_spn));
    let why = match mechanism {
        "no_forwarded_tgt" if proven.is_some() => proven.clone().unwrap_or_default(),
        "s4u2proxy_refused" => format!("the KDC refused S4U2Proxy (KDC_ERR_BADOPTION): {hop1_name} may not delegate to {hop2_spn}"),
        "no_forwarded_tgt" if !forwarded.is_empty() => "the client asked for a forwarded TGT but the KDC refused it (the user's TGT is not forwardable)".to_string(),
        "no_forwarded_tgt" => "the client never forwarded a TGT to the first hop".to_string(),
        "ntlm_second_hop" => "the first hop authenticated to the second hop with NTLM, which cannot carry the user".to_string(),
        _ => "the first hop called the second hop without the user's credentials".to_string(),
    };
    d.summary =
        format!("Double hop {client} → {hop1_name} → {hop2_name} lost the user's identity: {why}");
    d.client = Some(client);
    d.server = Some(first.server.to_string());
    d.spn = Some(hop1_spn.clone());
    d.user = ap
        .kerberos()
        .and_then(|k| k.cname.clone())
        .or_else(|| m.users.get(&client).cloned());
    d.realm = realm.clone();
    d.explanation = format!(
        "{client} authenticated to {hop1_name} with Kerberos ({hop1_spn}). To reach {hop2_name} as that user, {hop1_name} needs \
         either a forwarded TGT from the client (unconstrained delegation), or permission from the KDC to ask for a ticket to \
         {hop2_spn} on the user's behalf (S4U2Proxy: constrained or resource-based constrained delegation). Here {why}, so \
         {hop2_name} saw the call as anonymous or as {hop1_name}'s own account and refused it; the user gets 'Access denied' or \
         an error page from {hop1_name}."
    );
    if let Some(p) = &proof {
        d.explanation.push_str(" With the keys given: ");
        d.explanation.push_str(&p.summary);
    }
    d.remediation = vec![
        format!(
            "Resource-based constrained delegation (preferred): Set-ADComputer {hop2_account} -PrincipalsAllowedToDelegateToAccount (Get-ADComputer {hop1_account})    # or Set-ADUser for a service account running {hop1_name}"
        ),
        format!(
            "Constrained delegation: in 'Active Directory Users and Computers' → {hop1_account} → Delegation → 'Trust this computer for delegation to specified services only' → add {hop2_spn}; or Set-ADComputer {hop1_account} -Add @{{'msDS-AllowedToDelegateTo'='{hop2_spn}'}}"
        ),
        format!(
            "Check the user can be delegated: not in Protected Users and not 'Account is sensitive and cannot be delegated' ({dom}\\<user>)."
        ),
        format!(
            "MIT KDC: kadmin -q \"modprinc +ok_as_delegate {hop1_spn}\" and let clients delegate (kinit -f; curl --delegation policy)."
        ),
        format!(
            "PowerShell remoting: CredSSP sends the user's password to {hop1_name} (a compromised first hop can reuse it): Enable-WSManCredSSP -Role Client -DelegateComputer {hop1_name} on the client and Enable-WSManCredSSP -Role Server on {hop1_name} — prefer resource-based delegation."
        ),
    ];
    d.cite(ap.event);
    for x in forwarded.iter().chain(s4u.iter()) {
        for (ev, _) in x.request.iter().chain(x.reply.iter()) {
            d.cite(ev);
        }
    }
    for s in &second.steps {
        d.cite(s.event);
    }
    if let Some(a) = answer {
        d.cite(a.event);
    }
    Some(d.finish(m.capture))
}

/// The computer account name for a host name ("back.lab.test" → "BACK"); a placeholder when
/// the capture gave only an address.
fn account_of(name: &str) -> String {
    if name.parse::<std::net::IpAddr>().is_ok() {
        format!("<computer account of {name}>")
    } else {
        short_name(name).to_ascii_uppercase()
    }
}

/// What the proofs of the AP-REQ to the first hop show (`None` without keys).
fn delegation_proof(ap: &AuthStep<'_>, hop1_spn: &str) -> Option<DelegationProof> {
    let ticket = ap.proof("ticket");
    let auth = ap.proof("authenticator");
    if ticket.is_none() && auth.is_none() {
        return None;
    }
    let mut p = DelegationProof::default();
    let mut facts = Vec::new();
    if let Some(t) = ticket {
        if t.decrypted {
            p.ticket_decrypted_by = t.key.clone();
            p.ticket_flags = t.flags.clone();
            p.ticket_forwardable = Some(t.flags.contains(&"forwardable"));
            p.ticket_ok_as_delegate = Some(t.flags.contains(&"ok-as-delegate"));
            p.pac_user = t.pac_user.clone();
            p.pac_groups = t.pac_groups;
            let key = t.key.as_ref().map_or_else(String::new, |k| {
                format!(" (opened with {} from {})", k.principal, k.source)
            });
            facts.push(format!(
                "the ticket for {} is {}forwardable and {}ok-as-delegate{key}",
                t.service,
                if p.ticket_forwardable == Some(true) {
                    ""
                } else {
                    "NOT "
                },
                if p.ticket_ok_as_delegate == Some(true) {
                    ""
                } else {
                    "NOT "
                },
            ));
            if let (Some(u), Some(g)) = (&p.pac_user, p.pac_groups) {
                facts.push(format!("its PAC names {u} with {g} group(s)"));
            }
        } else {
            facts.push(format!(
                "the ticket for {} does not open with the keys given ({})",
                t.service,
                t.note.as_deref().unwrap_or("no key decrypts it")
            ));
        }
    }
    if let Some(a) = auth.filter(|a| a.decrypted) {
        p.gss_flags = a.gss_flags.clone();
        p.deleg_requested = a.delegated_tgt.map(|_| a.gss_flags.contains(&"deleg"));
        p.delegated_tgt = a.delegated_tgt;
        p.delegated_tgt_flags = a.delegated_flags.clone();
        match (p.deleg_requested, p.delegated_tgt) {
            (Some(true), Some(true)) => facts.push(format!(
                "the client's authenticator asked to delegate and carried a forwarded TGT to {hop1_spn}"
            )),
            (Some(true), _) => facts.push(
                "the client's authenticator asked to delegate but carried no forwarded TGT"
                    .to_string(),
            ),
            (_, Some(true)) => {
                facts.push("the client's authenticator carried a forwarded TGT".to_string())
            }
            _ => facts.push(format!(
                "the client's authenticator did not ask to delegate (no deleg flag in its GSS checksum: {}) and carried no TGT",
                if p.gss_flags.is_empty() { "none".to_string() } else { p.gss_flags.join(", ") }
            )),
        }
    } else if auth.is_some() {
        facts.push("the authenticator could not be opened (its session key is unknown)".into());
    }
    let mut summary = facts.join("; ");
    if let Some(first) = summary.get(..1) {
        summary = format!(
            "{}{}.",
            first.to_ascii_uppercase(),
            summary.get(1..).unwrap_or("")
        );
    }
    p.summary = summary;
    Some(p)
}

/// The reason the proof establishes for a missing forwarded TGT, if it establishes one.
fn proven_why(p: &DelegationProof, hop1_spn: &str) -> Option<String> {
    if p.delegated_tgt == Some(true) {
        return None;
    }
    if p.ticket_forwardable == Some(false) {
        return Some(format!(
            "the user's tickets are not forwardable (proven: the ticket for {hop1_spn} lacks the forwardable flag), so no TGT could be forwarded"
        ));
    }
    if p.deleg_requested == Some(false) {
        let ok = if p.ticket_ok_as_delegate == Some(false) {
            "; the ticket is not ok-as-delegate, so clients that delegate by policy will not either"
                .to_string()
        } else {
            String::new()
        };
        return Some(format!(
            "the client did not ask to delegate to {hop1_spn} (proven: no deleg flag in its authenticator){ok}"
        ));
    }
    None
}

fn s_first_frame(c: &AppConn<'_>) -> u64 {
    c.steps.first().map(|s| s.event.frame).unwrap_or(u64::MAX)
}
