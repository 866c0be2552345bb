//! `ntlm_fallback`: the server offered Negotiate, yet the client authenticated with NTLM, so
//! Kerberos was expected and did not happen (no SPN, wrong SPN, no KDC, or an IP address as the
//! host name).

use crate::analyze::draft::Draft;
use crate::analyze::finding::{Details, Finding, Kind, Severity};
use crate::analyze::model::{AppConn, Model};

use super::PRINCIPAL_UNKNOWN;

/// How long before the NTLM attempt a KDC refusal still explains it, in seconds.
const REFUSAL_WINDOW_SECS: i64 = 120;

pub fn run(m: &Model<'_>, out: &mut Vec<Finding>) {
    for conn in &m.conns {
        let negotiate_offered = conn.steps.iter().any(|s| s.offers("Negotiate"));
        let ntlm_steps: Vec<_> = conn.steps.iter().filter(|s| s.ntlm().is_some()).collect();
        if !negotiate_offered || !ntlm_steps.iter().any(|s| s.from_client) {
            continue;
        }
        if conn
            .steps
            .iter()
            .any(|s| s.from_client && s.kerberos().is_some_and(|k| k.msg_type == "AP-REQ"))
        {
            continue;
        }
        out.push(finding(m, conn, &ntlm_steps));
    }
}

fn finding(
    m: &Model<'_>,
    conn: &AppConn<'_>,
    ntlm_steps: &[&crate::analyze::model::AuthStep<'_>],
) -> Finding {
    let server_name = m
        .server_name(conn)
        .unwrap_or_else(|| conn.server.ip().to_string());
    let client = conn.client.ip();
    let mut d = Draft::new(
        Kind::NtlmFallback,
        Severity::Warning,
        Details::NtlmFallback {
            server_name: server_name.clone(),
        },
    );
    d.client = Some(client);
    d.server = Some(conn.server.to_string());
    d.user = ntlm_steps
        .iter()
        .filter_map(|s| s.ntlm())
        .find(|n| n.message_type == 3)
        .and_then(|n| n.user.clone().filter(|u| !u.is_empty()))
        .or_else(|| m.users.get(&client).cloned());
    let spn = format!("{}/{server_name}", conn.service_class());
    // Did the KDC refuse a service ticket to this client shortly before? That is the usual
    // reason.
    let first_ntlm = ntlm_steps.first().map(|s| s.event);
    let refused: Vec<_> = m
        .kdc
        .iter()
        .filter(|x| {
            x.client == client
                && x.error_code() == Some(PRINCIPAL_UNKNOWN)
                && first_ntlm.is_some_and(|e| {
                    x.first_frame() <= e.frame
                        && e.ts.secs - x.first_ts().secs <= REFUSAL_WINDOW_SECS
                })
        })
        .collect();
    // Only an HTTP Host header tells which name the client typed; carriers say nothing of it.
    let by_ip = conn.host.is_some() && server_name.parse::<std::net::IpAddr>().is_ok();
    let reason = if let Some(x) = refused.last() {
        format!(
            "the KDC refused the service ticket ({} unknown)",
            x.sname().unwrap_or("SPN")
        )
    } else if by_ip {
        format!(
            "the client addressed the server by IP address ({server_name}), and Kerberos needs a host name to build an SPN"
        )
    } else {
        "the client could not get a service ticket (no SPN, no KDC reachable, the server addressed by IP address, or a policy forcing NTLM)".to_string()
    };
    d.summary = format!(
        "{client} fell back to NTLM with {server_name} although it offered Negotiate: {reason}"
    );
    d.explanation = format!(
        "The server at {} offered Negotiate, which prefers Kerberos, but the client answered with NTLM: {reason}. \
         NTLM works for one hop only (no delegation), is weaker, and hides the Kerberos fault from the user.",
        conn.server
    );
    d.remediation = vec![
        format!("setspn -Q {spn}    # the SPN must exist on the account that runs the service"),
        format!("On the client: klist get {spn}    # shows the Kerberos error the client gets"),
        "Use the server's DNS name, not its IP address, in URLs and connection strings."
            .to_string(),
    ];
    d.spn = refused.last().and_then(|x| x.sname()).map(str::to_string);
    for x in &refused {
        for (ev, _) in x.request.iter().chain(x.reply.iter()) {
            d.cite(ev);
        }
    }
    for s in ntlm_steps {
        d.cite(s.event);
    }
    d.finish(m.capture)
}
