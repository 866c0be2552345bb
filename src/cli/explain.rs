//! `kerbscope explain <CODE|NAME>`: what a Kerberos error means, who sends it, and what to
//! check first. Names and meanings come from the decoder's one error table; the checks below
//! are the administrator's view of the common codes.

use std::io::{self, Write};

use kerbscope::proto::kerberos::{self, ErrorInfo};

use super::Outcome;
use super::args::ExplainArgs;

pub fn run(args: &ExplainArgs) -> io::Result<Outcome> {
    let Some(info) = lookup(&args.code) else {
        eprintln!(
            "kerbscope: explain: '{}' is not a known Kerberos error code or name",
            args.code
        );
        return Ok(Outcome::InputError);
    };
    let mut out = io::stdout().lock();
    let code = info.code.0;
    writeln!(
        out,
        "{code} (0x{code:x})  {}  (MIT: {})",
        info.name, info.mit_name
    )?;
    writeln!(out, "sent by: {}", sender(code))?;
    writeln!(out, "meaning: {}", info.meaning)?;
    let checks = checks(code);
    if !checks.is_empty() {
        writeln!(out, "what to check:")?;
        for c in checks {
            writeln!(out, "  - {c}")?;
        }
    }
    Ok(Outcome::Clean)
}

fn lookup(text: &str) -> Option<ErrorInfo> {
    let t = text.trim();
    let number = match t.strip_prefix("0x").or_else(|| t.strip_prefix("0X")) {
        Some(hex) => i32::from_str_radix(hex, 16).ok(),
        None => t.parse::<i32>().ok(),
    };
    match number {
        Some(n) => kerberos::error_info(n),
        None => kerberos::error_info_by_name(t),
    }
}

/// RFC 4120 groups the codes: KDC_ERR_* (1–30 and the PKINIT/FAST ranges) come from the KDC,
/// KRB_AP_ERR_* (31–52) from the service that received an AP-REQ.
fn sender(code: i32) -> &'static str {
    match code {
        31..=52 => {
            "the service (application server) that received the ticket, e.g. inside an HTTP 401 Negotiate token"
        }
        60 | 61 => "either the KDC or a service (generic error)",
        _ => "the KDC, in answer to an AS-REQ or TGS-REQ",
    }
}

fn checks(code: i32) -> &'static [&'static str] {
    match code {
        7 => &[
            "Which SPN did the client ask for (TGS-REQ sname)? If the host part is the canonical name behind a DNS CNAME, the client built the SPN from the CNAME target.",
            "setspn -Q SERVICE/host and SERVICE/host.fqdn: is it registered at all, and on the account that runs the service?",
            "Register the missing SPN on the service account: setspn -S SERVICE/host DOMAIN\\account.",
        ],
        13 => &[
            "If the TGS-REQ carries an additional ticket with cname-in-addl-tkt (S4U2Proxy): the front-end account is not allowed to delegate to the target SPN. Configure constrained delegation or resource-based constrained delegation.",
            "Is the user's ticket forwardable? Accounts marked 'sensitive and cannot be delegated' or in Protected Users get non-forwardable tickets.",
        ],
        31 | 41 | 44 => &[
            "The ticket was encrypted with a key the service does not have: setspn -Q SERVICE/host lists every account holding the SPN; setspn -X finds duplicates.",
            "IIS: with kernel-mode authentication the ticket is decrypted with the machine account; with a domain app-pool identity set useAppPoolCredentials=true or move the SPN to the app-pool account.",
            "Keytab services: compare the ticket's kvno and etype with `klist -kte` of the keytab; re-export it after a password change (ktpass / kadmin ktadd).",
            "WinRM on 5985/5986: if HTTP/host belongs to an IIS app-pool account, use -IncludePortInSPN and register HTTP/host:5985 on the computer account.",
        ],
        35 | 45 => &[
            "The service's keytab has no key for the SPN in the ticket: add it (ktpass / kadmin ktadd) or point the client at the SPN the keytab holds.",
        ],
        37 => &[
            "Compare clocks of client, server and KDC (w32tm /stripchart, chronyc tracking); Kerberos allows 5 minutes by default.",
        ],
        6 => &[
            "Is the user or computer name spelled right, and in this realm? Disabled or deleted accounts also answer 6.",
        ],
        14 => &[
            "No encryption type is shared by client, KDC and the target account: check msDS-SupportedEncryptionTypes of the account and the 'Configure encryption types allowed for Kerberos' policy.",
        ],
        18 => &["The account is disabled, locked out or expired."],
        23 => &["The user's password has expired: change it."],
        24 | 25 => &[
            "25 before a successful AS exchange is routine pre-authentication. Repeated 24 means a wrong password (or a stale credential cached in a service or mapped drive).",
        ],
        32 | 33 => &[
            "The ticket is expired or not yet valid: clock skew, or a long-running client that did not renew; klist purge and retry.",
        ],
        12 => &[
            "A KDC policy refused the request (logon hours, workstation restrictions, authentication policy silos).",
        ],
        _ => &[],
    }
}
