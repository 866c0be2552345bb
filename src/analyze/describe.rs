//! One-line descriptions of events for evidence lists ("TGS-REQ for HTTP/web1.lab.test").

use crate::event::{Event, EventBody, GssEvent, HttpEvent};
use crate::proto::gss::GssToken;
use crate::proto::kerberos::{KrbMessage, error_info};
use crate::proto::ntlm::NtlmMessage;

pub fn describe(ev: &Event) -> String {
    match &ev.body {
        EventBody::Kerberos(k) => kerberos(&k.message),
        EventBody::Dns(d) => {
            let m = &d.message;
            let q = m.qname.as_deref().unwrap_or("?");
            if !m.response {
                return format!("DNS query for {q}");
            }
            let mut s = format!("DNS answer for {q}");
            for (alias, canonical) in m.cname_chain() {
                s.push_str(&format!(": {alias} CNAME {canonical}"));
            }
            let end = m
                .cname_chain()
                .last()
                .map(|(_, c)| c.clone())
                .unwrap_or_else(|| q.to_string());
            let addrs: Vec<String> = m
                .addresses_for(&end)
                .iter()
                .map(ToString::to_string)
                .collect();
            if !addrs.is_empty() {
                s.push_str(&format!(" → {}", addrs.join(", ")));
            }
            s
        }
        EventBody::Http(h) => http(h),
        EventBody::Spnego(g) | EventBody::Ntlm(g) => carrier(g),
    }
}

/// "SMB2 session-setup response (0xc000006d STATUS_LOGON_FAILURE) carrying KRB-ERROR 41 ...".
pub fn carrier(g: &GssEvent) -> String {
    let mut s = format!(
        "{} {}{}",
        g.transport.to_ascii_uppercase(),
        g.operation,
        if g.response { " response" } else { "" }
    );
    if let Some(o) = &g.outcome {
        match &o.name {
            Some(n) => s.push_str(&format!(" ({} {n})", o.code)),
            None => s.push_str(&format!(" ({})", o.code)),
        }
    }
    if let Some(inner) = g.gss.as_ref().and_then(token) {
        s.push_str(&format!(" carrying {inner}"));
    }
    s
}

pub fn error_name(code: i32) -> String {
    error_info(code)
        .map(|i| i.name.to_string())
        .unwrap_or_else(|| format!("error {code}"))
}

pub fn kerberos(m: &KrbMessage) -> String {
    let sname = m.sname.as_deref().unwrap_or("?");
    match m.msg_type.as_str() {
        "AS-REQ" | "TGS-REQ" => {
            let mut s = format!("{} for {sname}", m.msg_type);
            if let Some(c) = &m.cname {
                s.push_str(&format!(" (client {c})"));
            }
            let notable: Vec<&str> = m
                .kdc_options
                .iter()
                .copied()
                .filter(|o| {
                    matches!(
                        *o,
                        "forwarded"
                            | "forwardable"
                            | "cname-in-addl-tkt"
                            | "canonicalize"
                            | "enc-tkt-in-skey"
                    )
                })
                .collect();
            if !notable.is_empty() {
                s.push_str(&format!(" [{}]", notable.join(", ")));
            }
            if m.s4u2proxy {
                s.push_str(" S4U2Proxy");
            }
            s
        }
        "AS-REP" | "TGS-REP" => match &m.ticket {
            Some(t) => format!(
                "{}: ticket for {} ({}, kvno {})",
                m.msg_type,
                t.sname,
                t.etype_name,
                kvno(t.kvno)
            ),
            None => format!("{} for {sname}", m.msg_type),
        },
        "AP-REQ" => match &m.ticket {
            Some(t) => format!(
                "AP-REQ with a ticket for {} ({}, kvno {})",
                t.sname,
                t.etype_name,
                kvno(t.kvno)
            ),
            None => "AP-REQ".to_string(),
        },
        "KRB-ERROR" => {
            let code = m.error_code.unwrap_or(-1);
            let mut s = format!("KRB-ERROR {code} {} for {sname}", error_name(code));
            if let Some(t) = &m.e_text {
                s.push_str(&format!(" (\"{t}\")"));
            }
            s
        }
        other => other.to_string(),
    }
}

fn kvno(k: Option<u32>) -> String {
    k.map(|k| k.to_string()).unwrap_or_else(|| "?".into())
}

fn ntlm(n: &NtlmMessage) -> String {
    match n.message_type {
        1 => "NTLMSSP NEGOTIATE".to_string(),
        2 => "NTLMSSP CHALLENGE".to_string(),
        3 => {
            let user = match (&n.domain, &n.user) {
                (Some(d), Some(u)) if !d.is_empty() => format!("{d}\\{u}"),
                (_, Some(u)) => u.clone(),
                _ => "anonymous".to_string(),
            };
            format!("NTLMSSP AUTHENTICATE as {user}")
        }
        t => format!("NTLMSSP message {t}"),
    }
}

fn token(g: &GssToken) -> Option<String> {
    if let Some(k) = g.kerberos() {
        return Some(kerberos(k));
    }
    if let Some(n) = g.ntlm() {
        return Some(ntlm(n));
    }
    match g.kind() {
        "spnego-resp" => Some("SPNEGO response without a mechanism token".to_string()),
        _ => None,
    }
}

pub fn http(h: &HttpEvent) -> String {
    let line = match (&h.method, h.status) {
        (Some(m), _) => {
            let host = h.host.as_deref().unwrap_or("");
            format!("HTTP {m} http://{host}{}", h.uri.as_deref().unwrap_or(""))
        }
        (None, Some(s)) => format!("HTTP {s}"),
        _ => "HTTP".to_string(),
    };
    match (&h.header, &h.scheme) {
        (Some(hdr), Some(scheme)) => {
            let mut s = format!("{line}, {hdr}: {scheme}");
            for o in &h.also_offered {
                s.push_str(&format!(", {o}"));
            }
            if let Some(inner) = h.gss.as_ref().and_then(token) {
                s.push_str(&format!(" carrying {inner}"));
            }
            s
        }
        _ => line,
    }
}
