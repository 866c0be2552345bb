//! CredSSP (MS-CSSP) over WinRM, reported as `missing_delegation`: CredSSP is how PowerShell
//! remoting carries the user's credentials to a first hop for a second one, so a CredSSP
//! exchange that failed is a double hop that cannot carry the user's identity.
//!
//! A CredSSP exchange is a run of `Authorization: CredSSP <TLS records>` legs on one
//! connection, each answered by `401 WWW-Authenticate: CredSSP <TLS records>` until the last
//! one is answered 200 (MS-CSSP 3.1.5: TLS handshake, then TSRequests in TLS application data
//! carrying SPNEGO, the server's public key and finally the user's TSCredentials). Only the
//! record layer is visible, so the rule reads how far the exchange went and how it ended:
//!
//! - `credssp_not_offered`: the client sent CredSSP, the server's 401 challenge list on that
//!   connection did not offer it: CredSSP is disabled in the server's WinRM service.
//! - `credssp_refused`: CredSSP offered and started, then a leg was answered 401/403 without a
//!   CredSSP token (or with a TLS alert): the server refused the exchange.
//! - `credssp_incomplete`: the server asked for the next leg and the client never sent it while
//!   the capture goes on (a later event the analysis keeps: DNS, Kerberos, an authentication
//!   message; an exchange cut by the end of the capture is not reported): the client stopped by
//!   itself, which is what its credential-delegation policy does when the target is not in its
//!   AllowFreshCredentials list.
//!
//! [`delegated`] tells `missing_delegation` that a completed exchange (a 2xx after the client
//! reached the TLS application-data phase) handed the user's credentials to the first hop.

use std::net::{IpAddr, SocketAddr};

use crate::analyze::draft::Draft;
use crate::analyze::finding::{Details, Finding, Kind, Severity};
use crate::analyze::model::{AppConn, AuthStep, Model};

pub fn run(m: &Model<'_>, out: &mut Vec<Finding>) {
    let last_frame = m.last_frame;
    // Failed exchanges folded per (client, server, mechanism), in order of first appearance.
    type Key = (IpAddr, SocketAddr, &'static str);
    let mut folded: Vec<(Key, &AppConn<'_>, Vec<Exchange<'_, '_>>)> = Vec::new();
    for conn in &m.conns {
        for x in exchanges(conn) {
            let Some(mechanism) = x.mechanism(last_frame) else {
                continue;
            };
            // A later exchange between the same ends that completed: the failure was a retry.
            let end = x.last_frame();
            let recovered = m
                .conns
                .iter()
                .filter(|c| c.client.ip() == conn.client.ip() && c.server == conn.server)
                .flat_map(exchanges)
                .any(|y| y.completed().is_some_and(|s| s.event.frame > end));
            if recovered {
                continue;
            }
            let key = (conn.client.ip(), conn.server, mechanism);
            match folded.iter_mut().find(|(k, _, _)| *k == key) {
                Some((_, _, xs)) => xs.push(x),
                None => folded.push((key, conn, vec![x])),
            }
        }
    }
    for ((_, _, mechanism), conn, xs) in folded {
        out.push(finding(m, conn, mechanism, &xs));
    }
}

/// A completed CredSSP exchange from `client` to `hop1` (any port) whose final 2xx came at or
/// before `by_frame`: the user's credentials were delegated to `hop1`, which can then act as the
/// user on a second hop.
pub fn delegated(m: &Model<'_>, client: IpAddr, hop1: IpAddr, by_frame: u64) -> bool {
    m.conns
        .iter()
        .filter(|c| c.client.ip() == client && c.server.ip() == hop1)
        .flat_map(exchanges)
        .any(|x| x.completed().is_some_and(|s| s.event.frame <= by_frame))
}

/// How an exchange ended.
#[derive(Clone, Copy)]
enum End<'c, 'a> {
    /// 2xx/3xx to a leg.
    Accepted(&'c AuthStep<'a>),
    /// 401 to a leg with a challenge list that lacks CredSSP, CredSSP never offered.
    NotOffered(&'c AuthStep<'a>),
    /// 401/403 (or another error status) without a CredSSP token, or a TLS alert.
    Refused(&'c AuthStep<'a>),
    /// The client sent no further leg after this CredSSP continuation.
    Abandoned(&'c AuthStep<'a>),
    /// The last leg has no answer in the capture.
    Open,
}

/// One CredSSP exchange on one connection.
struct Exchange<'c, 'a> {
    /// The client's CredSSP legs, in order.
    legs: Vec<&'c AuthStep<'a>>,
    /// The server's answers to them (one step per response).
    answers: Vec<&'c AuthStep<'a>>,
    /// Legs carrying TLS application data (the encrypted TSRequests, MS-CSSP 3.1.5 step 3 on).
    app_data_legs: usize,
    /// A server response on the connection that offered CredSSP (challenge list or token).
    offered: Option<&'c AuthStep<'a>>,
    /// The last 401 challenge list on the connection that did not offer CredSSP, with its schemes.
    other_list: Option<(&'c AuthStep<'a>, Vec<String>)>,
    end: End<'c, 'a>,
}

impl<'c, 'a> Exchange<'c, 'a> {
    fn completed(&self) -> Option<&'c AuthStep<'a>> {
        match self.end {
            End::Accepted(s) if self.app_data_legs > 0 => Some(s),
            _ => None,
        }
    }

    fn last_frame(&self) -> u64 {
        self.legs
            .iter()
            .chain(self.answers.iter())
            .map(|s| s.event.frame)
            .max()
            .unwrap_or(0)
    }

    /// The finding's mechanism, `None` when the exchange did not fail (or its end is not in
    /// the capture).
    fn mechanism(&self, last_frame: u64) -> Option<&'static str> {
        match self.end {
            End::NotOffered(_) => Some("credssp_not_offered"),
            End::Refused(_) => Some("credssp_refused"),
            End::Abandoned(s) if s.event.frame < last_frame => Some("credssp_incomplete"),
            _ => None,
        }
    }

    /// The schemes the server offered instead, as the capture shows them.
    fn offered_instead(&self) -> Vec<String> {
        self.other_list
            .as_ref()
            .map(|(_, l)| l.clone())
            .unwrap_or_default()
    }
}

/// One HTTP message: the steps of one frame and direction (one step per auth header).
struct Message<'c, 'a> {
    from_client: bool,
    steps: Vec<&'c AuthStep<'a>>,
}

impl<'c, 'a> Message<'c, 'a> {
    fn first(&self) -> Option<&'c AuthStep<'a>> {
        self.steps.first().copied()
    }
    fn status(&self) -> Option<u16> {
        self.first().and_then(|s| s.status())
    }
    fn credssp_leg(&self) -> Option<&'c AuthStep<'a>> {
        self.steps
            .iter()
            .copied()
            .find(|s| s.is_credssp() && s.credssp().is_some())
    }
    fn offers_credssp(&self) -> Option<&'c AuthStep<'a>> {
        self.steps.iter().copied().find(|s| s.offers("CredSSP"))
    }
    fn challenges(&self) -> Vec<String> {
        self.steps
            .iter()
            .flat_map(|s| s.challenges())
            .map(str::to_string)
            .collect()
    }
}

fn messages<'c, 'a>(conn: &'c AppConn<'a>) -> Vec<Message<'c, 'a>> {
    let mut out: Vec<Message<'c, 'a>> = Vec::new();
    for s in conn.steps.iter().filter(|s| s.http().is_some()) {
        match out.last_mut() {
            Some(msg)
                if msg.from_client == s.from_client
                    && msg.first().is_some_and(|f| f.event.frame == s.event.frame) =>
            {
                msg.steps.push(s)
            }
            _ => out.push(Message {
                from_client: s.from_client,
                steps: vec![s],
            }),
        }
    }
    out
}

/// The CredSSP exchanges of one connection, in order.
fn exchanges<'c, 'a>(conn: &'c AppConn<'a>) -> Vec<Exchange<'c, 'a>> {
    let mut done = Vec::new();
    let mut cur: Option<Exchange<'c, 'a>> = None;
    // A client leg awaits its answer / the last answer asked for another leg.
    let mut awaiting = false;
    let mut continued: Option<&'c AuthStep<'a>> = None;
    let mut offered: Option<&'c AuthStep<'a>> = None;
    let mut other_list: Option<(&'c AuthStep<'a>, Vec<String>)> = None;
    for msg in messages(conn) {
        if msg.from_client {
            let Some(leg) = msg.credssp_leg() else {
                // The client went on without CredSSP: an exchange waiting for a leg ends here.
                if let Some(c) = continued.take()
                    && let Some(mut x) = cur.take()
                {
                    x.end = End::Abandoned(c);
                    done.push(x);
                }
                continue;
            };
            let x = cur.get_or_insert_with(|| Exchange {
                legs: Vec::new(),
                answers: Vec::new(),
                app_data_legs: 0,
                offered,
                other_list: other_list.clone(),
                end: End::Open,
            });
            x.legs.push(leg);
            if leg
                .credssp()
                .is_some_and(|t| t.phase == "tls-application-data")
            {
                x.app_data_legs += 1;
            }
            awaiting = true;
            continued = None;
            continue;
        }
        let Some(answer) = msg.first() else { continue };
        let status = msg.status().unwrap_or(0);
        if (100..200).contains(&status) {
            continue; // interim: the request still awaits its answer
        }
        let challenges = msg.challenges();
        let offers = msg.offers_credssp();
        if offers.is_some() {
            offered = offers;
        } else if status == 401 && !challenges.is_empty() {
            other_list = Some((answer, challenges.clone()));
        }
        let Some(x) = cur.as_mut().filter(|_| awaiting) else {
            continue;
        };
        awaiting = false;
        x.answers.push(msg.credssp_leg().unwrap_or(answer));
        if offers.is_some() {
            x.offered = offers;
        }
        if status == 401 && !challenges.is_empty() && offers.is_none() {
            x.other_list = Some((answer, challenges.clone()));
        }
        let token = msg.credssp_leg().and_then(|s| s.credssp());
        let end = if answer.accepted() {
            End::Accepted(answer)
        } else if token.is_some_and(|t| t.phase == "tls-alert") {
            End::Refused(msg.credssp_leg().unwrap_or(answer))
        } else if status == 401 && token.is_some() {
            continued = msg.credssp_leg();
            continue;
        } else if status == 401 && x.offered.is_none() && x.other_list.is_some() {
            End::NotOffered(answer)
        } else {
            End::Refused(answer)
        };
        if let Some(mut x) = cur.take() {
            x.end = end;
            done.push(x);
        }
        continued = None;
    }
    if let Some(mut x) = cur {
        if let Some(c) = continued.filter(|_| !awaiting) {
            x.end = End::Abandoned(c);
        }
        done.push(x);
    }
    done
}

/// "handshake (client_hello)", "application_data ×2", ... for one CredSSP token.
fn records(step: &AuthStep<'_>) -> String {
    let Some(t) = step.credssp() else {
        return String::new();
    };
    let mut parts: Vec<String> = Vec::new();
    for r in &t.records {
        let mut p = r.content_type.to_string();
        if !r.handshake.is_empty() {
            p = format!("{p} ({})", r.handshake.join(", "));
        } else if r.content_type == "handshake" {
            p.push_str(" (encrypted)");
        }
        if let Some((level, desc)) = r.alert {
            p = format!("{p} (level {level}, description {desc})");
        }
        parts.push(p);
    }
    if t.more_records > 0 {
        parts.push(format!("{} more", t.more_records));
    }
    format!(" carrying TLS {}", parts.join(" + "))
}

fn cite(d: &mut Draft, s: &AuthStep<'_>) {
    let what = format!(
        "{}{}",
        crate::analyze::describe::describe(s.event),
        records(s)
    );
    d.cite_as(s.event, what);
}

fn finding(
    m: &Model<'_>,
    conn: &AppConn<'_>,
    mechanism: &'static str,
    xs: &[Exchange<'_, '_>],
) -> Finding {
    let client = conn.client.ip();
    let host = m
        .server_name(conn)
        .unwrap_or_else(|| conn.server.ip().to_string());
    let by_address = host.parse::<IpAddr>().is_ok();
    let spn = format!("WSMAN/{host}");
    let legs: usize = xs.iter().map(|x| x.legs.len()).sum();
    let app_data = xs.iter().map(|x| x.app_data_legs).max().unwrap_or(0);
    let reached = if app_data > 0 {
        format!("the TLS channel came up and {app_data} leg(s) of encrypted TSRequests followed")
    } else {
        "the TLS handshake did not finish (no leg carried application data)".to_string()
    };
    let instead = xs
        .iter()
        .rev()
        .map(Exchange::offered_instead)
        .find(|l| !l.is_empty())
        .unwrap_or_default();
    let end_step = xs.last().and_then(|x| match x.end {
        End::NotOffered(s) | End::Refused(s) | End::Abandoned(s) | End::Accepted(s) => Some(s),
        End::Open => None,
    });
    let end_status = end_step
        .and_then(AuthStep::status)
        .map_or_else(|| "no answer".to_string(), |s| s.to_string());

    let trade_off = format!(
        "Security trade-off: CredSSP hands the user's password (not a ticket) to {host}; anyone who controls {host} \
         (an administrator or malware there) can reuse it wherever the user can log on until the password changes. \
         Prefer Kerberos delegation to the second hop (resource-based constrained delegation: Set-ADComputer <second hop> \
         -PrincipalsAllowedToDelegateToAccount (Get-ADComputer <first hop>)); if CredSSP stays, name the hosts in \
         -DelegateComputer (no wildcards) and turn it off when done (Disable-WSManCredSSP -Role Client / -Role Server)."
    );
    let client_fix = format!(
        "On the client {client}: Enable-WSManCredSSP -Role Client -DelegateComputer {host}    # sets WSMan:\\localhost\\Client\\Auth\\CredSSP and adds WSMAN/{host} to the 'Allow delegating fresh credentials' policy"
    );
    let gpo_fix = format!(
        "Or by Group Policy on the client: Computer Configuration → Administrative Templates → System → Credentials Delegation → 'Allow delegating fresh credentials' → enabled, server list contains {spn}{}; then gpupdate /force.",
        if by_address {
            format!(
                " — {host} is an address, so Kerberos cannot authenticate the server: also 'Allow delegating fresh credentials with NTLM-only server authentication' with {spn}, or connect by host name"
            )
        } else {
            String::new()
        }
    );
    let server_fix = format!(
        "On {host}: Enable-WSManCredSSP -Role Server    # or Set-Item WSMan:\\localhost\\Service\\Auth\\CredSSP $true; by Group Policy: Computer Configuration → Administrative Templates → Windows Components → Windows Remote Management (WinRM) → WinRM Service → 'Allow CredSSP authentication'"
    );

    let (summary, why, remediation) = match mechanism {
        "credssp_not_offered" => (
            format!(
                "CredSSP to {host} over {}: the server does not offer CredSSP ({}), so the user's credentials cannot be delegated through {host}",
                conn.transport(),
                if instead.is_empty() {
                    "its 401 names no CredSSP".to_string()
                } else {
                    format!("its 401 offers only {}", instead.join(", "))
                }
            ),
            format!(
                "The client sent 'Authorization: CredSSP' (a TLS ClientHello, MS-CSSP) but {host} answered 401 with a challenge list \
                 without CredSSP{}: CredSSP is disabled in the WinRM service of {host} (the server side). The client's CredSSP \
                 settings are not in question: it did start CredSSP.",
                if instead.is_empty() {
                    String::new()
                } else {
                    format!(" ({})", instead.join(", "))
                }
            ),
            vec![server_fix, trade_off],
        ),
        "credssp_refused" => (
            format!(
                "CredSSP to {host} over {} was refused after {legs} leg(s) ({end_status}): the user's credentials were not delegated to {host}",
                conn.transport()
            ),
            format!(
                "{host} offers CredSSP and the client started it ({reached}), but {host} then answered {end_status} without a CredSSP \
                 token. The inner SPNEGO authentication and the credentials travel encrypted inside TLS, so the capture cannot show \
                 which step failed: most often the client's delegation policy does not name {spn} (the client then sends no usable \
                 credentials), or the inner Kerberos/NTLM authentication or the user's logon on {host} was refused."
            ),
            vec![
                client_fix,
                gpo_fix,
                format!(
                    "If the policy is right: check the account can log on to {host} (password, lockout, 'Access this computer from the network') and the Security log of {host} (events 4625) at the time of the refusal."
                ),
                trade_off,
            ],
        ),
        _ => (
            format!(
                "CredSSP to {host} over {} stopped after {legs} leg(s): the client never sent the credentials, so the user's identity was not delegated to {host}",
                conn.transport()
            ),
            format!(
                "{host} offers CredSSP and answered every leg with the next CredSSP token, but the client stopped ({reached}) and never \
                 sent the next leg, though the capture goes on. A CredSSP client gives up by itself when its credential-delegation \
                 policy does not allow sending the user's password to {spn}: the client side has CredSSP delegation disabled for \
                 {host} (PowerShell reports 'A computer policy does not allow the delegation of the user credentials to the target \
                 computer')."
            ),
            vec![client_fix, gpo_fix, trade_off],
        ),
    };

    let mut d = Draft::new(
        Kind::MissingDelegation,
        Severity::Error,
        Details::MissingDelegation {
            first_hop: conn.server.to_string(),
            second_hop: None,
            mechanism,
            delegation_proof: None,
        },
    );
    d.summary = summary;
    d.client = Some(client);
    d.server = Some(conn.server.to_string());
    d.user = m.users.get(&client).cloned();
    d.realm = m.realms.get(&client).cloned();
    d.explanation = format!(
        "{client} used CredSSP to reach {host} over {}: CredSSP (MS-CSSP) sends the user's password to {host} inside a TLS \
         channel so that {host} can act as the user on a second hop (PowerShell remoting's answer to the double hop). {why}",
        conn.transport()
    );
    d.remediation = remediation;
    for x in xs {
        if let Some(s) = x.offered {
            cite(&mut d, s);
        }
        if let Some((s, _)) = &x.other_list {
            cite(&mut d, s);
        }
        for s in x.legs.iter().chain(x.answers.iter()) {
            cite(&mut d, s);
        }
    }
    d.finish(m.capture)
}
