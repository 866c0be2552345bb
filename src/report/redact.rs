//! `--redact`: user, host and realm names become stable tokens (`user-1`, `host-2`,
//! `REALM-1`) everywhere in a report, free text included, so a report can leave the
//! organisation. IP addresses stay (they locate the frames in the capture, and the capture
//! itself is not altered), and so do capture paths (the user's own arguments, which
//! `--evidence` needs to re-read the files).
//!
//! Names are harvested from the structured fields (user, realm, spn, alias, canonical, CNAME
//! chain, hops, NTLM server name) and from SPN-, principal-, `DOMAIN\account`- and FQDN-shaped
//! words of the free text. A host's first label (`web2` of `web2.lab.test`, as NetBIOS names
//! and short names appear) maps to the host's token too, unless it is a generic word (`www`,
//! `kdc`, ...). Replacement is case-insensitive, longest name first, on word boundaries (a
//! name never matches inside a longer word), in one pass per string so a token is never
//! re-replaced. Tokens are numbered per class in order of first appearance: the same report
//! always gives the same tokens.

use std::collections::HashMap;

use super::Report;
use crate::analyze::finding::Details;

#[derive(Clone, Copy, PartialEq, Eq)]
enum Class {
    User,
    Host,
    Realm,
}

/// Lower-case name → token, in registration order.
#[derive(Default)]
struct Names {
    tokens: HashMap<String, String>,
    counts: [usize; 3],
}

/// First labels that are words of the trade rather than names: left readable.
const GENERIC_LABELS: &[&str] = &[
    "www", "kdc", "dc", "dns", "mail", "http", "https", "host", "ldap", "cifs", "smtp", "ftp",
    "web", "api", "app", "server", "client", "proxy", "gc", "wsman",
];

/// File extensions that make `name.ext` a file, not a host.
const FILE_EXTENSIONS: &[&str] = &[
    "pcap", "pcapng", "cap", "gz", "json", "keytab", "conf", "cfg", "txt", "html", "htm", "md",
    "exe", "dll", "ps1", "sh", "toml", "log", "xml", "ini", "py", "so",
];

impl Names {
    fn add(&mut self, class: Class, name: &str) {
        let name = name.trim().trim_end_matches('.');
        if name.is_empty() || name.parse::<std::net::IpAddr>().is_ok() {
            return;
        }
        let key = name.to_lowercase();
        if self.tokens.contains_key(&key) {
            return;
        }
        let [users, hosts, realms] = &mut self.counts;
        let (count, prefix) = match class {
            Class::User => (users, "user"),
            Class::Host => (hosts, "host"),
            Class::Realm => (realms, "REALM"),
        };
        *count += 1;
        let token = format!("{prefix}-{count}");
        if class == Class::Host {
            // The parent domain first (it may equal a realm already known), then the short name.
            if let Some((first, parent)) = key.split_once('.') {
                let token_for_short = token.clone();
                self.tokens.insert(key.clone(), token);
                if !parent.is_empty() {
                    self.add_domain(parent);
                }
                if first.chars().count() >= 2 && !GENERIC_LABELS.contains(&first) {
                    self.tokens
                        .entry(first.to_string())
                        .or_insert(token_for_short);
                }
                return;
            }
        }
        self.tokens.insert(key, token);
    }

    /// A DNS domain that is not a realm gets a `domain-n` token.
    fn add_domain(&mut self, domain: &str) {
        if self.tokens.contains_key(domain) {
            return;
        }
        let n = self
            .tokens
            .values()
            .filter(|t| t.starts_with("domain-"))
            .count()
            + 1;
        self.tokens
            .insert(domain.to_string(), format!("domain-{n}"));
    }

    /// `SERVICE/host[:port][@REALM]`, `user@REALM`, or a bare name of `class`.
    fn add_principal(&mut self, p: &str, bare: Class) {
        let (name, realm) = match p.rsplit_once('@') {
            Some((n, r)) => (n, Some(r)),
            None => (p, None),
        };
        if let Some(r) = realm {
            self.add(Class::Realm, r);
        }
        match name.split_once('/') {
            Some((_service, rest)) => {
                let host = rest.split(['/', ':']).next().unwrap_or("");
                self.add(Class::Host, host);
            }
            None => self.add(bare, name),
        }
    }

    /// Name-shaped words of free text: with `realms_only`, just the shapes that name a realm
    /// (`user@REALM`, `DOMAIN\\account`), so realms get their tokens before a host's parent
    /// domain could claim the same name.
    fn harvest(&mut self, text: &str, realms_only: bool) {
        for word in text.split(|c: char| {
            c.is_whitespace()
                || matches!(
                    c,
                    ',' | ';' | '(' | ')' | '"' | '\'' | '<' | '>' | '[' | ']' | '`'
                )
        }) {
            let word = word.trim_matches(|c: char| matches!(c, '.' | ':' | '!' | '?'));
            if word.is_empty() {
                continue;
            }
            if realms_only {
                if let Some((dom, acct)) = word.split_once('\\') {
                    let acct = acct.trim_end_matches('$');
                    if is_name(dom) && is_name(acct) && !word.contains('/') {
                        self.add(Class::Realm, dom);
                        self.add(Class::User, acct);
                    }
                } else if word.contains('@') && !word.contains('/') && word.split('@').all(is_name)
                {
                    self.add_principal(word, Class::User);
                }
                continue;
            }
            if let Some((svc, _)) = word.split_once('/') {
                let svc_ok = svc.chars().next().is_some_and(|c| c.is_ascii_alphabetic())
                    && svc.chars().all(|c| c.is_ascii_alphanumeric() || c == '-');
                if svc_ok && !word.contains("//") {
                    self.add_principal(word, Class::Host);
                }
            } else if !word.contains('\\') && !word.contains('@') && looks_like_fqdn(word) {
                self.add(Class::Host, word);
            }
        }
    }

    /// Names sorted longest first (ties by name, for determinism).
    fn sorted(&self) -> Vec<(&str, &str)> {
        let mut v: Vec<(&str, &str)> = self
            .tokens
            .iter()
            .map(|(k, t)| (k.as_str(), t.as_str()))
            .collect();
        v.sort_by(|a, b| b.0.len().cmp(&a.0.len()).then(a.0.cmp(b.0)));
        v
    }
}

fn is_name(s: &str) -> bool {
    !s.is_empty()
        && s.chars()
            .all(|c| c.is_alphanumeric() || matches!(c, '-' | '_' | '.' | '$'))
}

fn looks_like_fqdn(w: &str) -> bool {
    let labels: Vec<&str> = w.split('.').collect();
    let Some(last) = labels.last() else {
        return false;
    };
    labels.len() >= 2
        && labels
            .iter()
            .all(|l| !l.is_empty() && l.chars().all(|c| c.is_ascii_alphanumeric() || c == '-'))
        && last.len() >= 2
        && last.chars().all(|c| c.is_ascii_alphabetic())
        && !FILE_EXTENSIONS.contains(&last.to_ascii_lowercase().as_str())
}

/// Characters that continue a name: a match must not be preceded or followed by one.
fn is_name_char(c: char) -> bool {
    c.is_alphanumeric() || c == '-' || c == '_'
}

fn replace(s: &str, names: &[(&str, &str)]) -> String {
    let bytes = s.as_bytes();
    let mut out = String::with_capacity(s.len());
    let mut prev: Option<char> = None;
    let mut i = 0;
    while i < s.len() {
        let at_boundary = !prev.is_some_and(is_name_char);
        let mut matched = None;
        if at_boundary {
            for (name, token) in names {
                let end = i + name.len();
                let Some(candidate) = bytes.get(i..end) else {
                    continue;
                };
                if candidate.eq_ignore_ascii_case(name.as_bytes())
                    && s.is_char_boundary(end)
                    && !s
                        .get(end..)
                        .and_then(|r| r.chars().next())
                        .is_some_and(is_name_char)
                {
                    matched = Some((end, *token));
                    break;
                }
            }
        }
        if let Some((end, token)) = matched {
            out.push_str(token);
            prev = s.get(..end).and_then(|h| h.chars().next_back());
            i = end;
        } else {
            let Some(c) = s.get(i..).and_then(|r| r.chars().next()) else {
                break;
            };
            out.push(c);
            prev = Some(c);
            i += c.len_utf8();
        }
    }
    out
}

/// Replace user, host and realm names in every string of `report` by stable tokens.
pub fn redact(report: &mut Report) {
    let mut names = Names::default();
    // Structured fields first (they name things for sure), realms before hosts so a DNS
    // domain equal to the realm takes the realm's token.
    for f in &report.findings {
        if let Some(r) = &f.realm {
            names.add(Class::Realm, r);
        }
        if let Some(u) = &f.user {
            names.add_principal(u, Class::User);
        }
        if let Some(spn) = &f.spn {
            names.add_principal(spn, Class::Host);
        }
        match &f.details {
            Details::WrongSpnCname {
                alias,
                canonical,
                cname_chain,
                requested_spn,
                expected_spn,
                ..
            } => {
                names.add(Class::Host, canonical);
                names.add(Class::Host, alias);
                for n in cname_chain {
                    names.add(Class::Host, n);
                }
                names.add_principal(requested_spn, Class::Host);
                names.add_principal(expected_spn, Class::Host);
            }
            Details::MissingDelegation {
                first_hop,
                second_hop,
                ..
            } => {
                names.add_principal(first_hop, Class::Host);
                if let Some(h) = second_hop {
                    names.add_principal(h, Class::Host);
                }
            }
            Details::NtlmFallback { server_name } => names.add(Class::Host, server_name),
            _ => {}
        }
        // Keys named by `--keytab` proofs: their principals are hosts (SPNs) or users.
        for k in key_refs(&f.details) {
            let class = if k.principal.contains('/') {
                Class::Host
            } else {
                Class::User
            };
            names.add_principal(&k.principal, class);
        }
        if let Some(s) = f.server.as_ref().filter(|s| super::server_ip(s).is_none()) {
            names.add(
                Class::Host,
                s.rsplit_once(':').map_or(s.as_str(), |(h, _)| h),
            );
        }
    }
    for realms_only in [true, false] {
        for f in &report.findings {
            names.harvest(&f.summary, realms_only);
            for e in &f.evidence {
                names.harvest(&e.what, realms_only);
            }
            names.harvest(&f.explanation, realms_only);
            match &f.details {
                Details::KrbApErrModified {
                    key_proof: Some(p), ..
                } => names.harvest(p, realms_only),
                Details::MissingDelegation {
                    delegation_proof: Some(p),
                    ..
                } => names.harvest(&p.summary, realms_only),
                _ => {}
            }
            for r in &f.remediation {
                names.harvest(r, realms_only);
            }
        }
    }
    let sorted = names.sorted();
    let r = |s: &mut String| *s = replace(s, &sorted);
    // Capture paths are the user's own command-line arguments, kept as given so that
    // `--evidence` and the reader can still find the files.
    for c in &mut report.captures {
        c.warnings.iter_mut().for_each(r);
    }
    for f in &mut report.findings {
        r(&mut f.summary);
        r(&mut f.explanation);
        f.remediation.iter_mut().for_each(r);
        for s in [&mut f.server, &mut f.spn, &mut f.realm, &mut f.user]
            .into_iter()
            .flatten()
        {
            r(s);
        }
        for e in &mut f.evidence {
            r(&mut e.what);
        }
        match &mut f.details {
            Details::WrongSpnCname {
                alias,
                canonical,
                cname_chain,
                requested_spn,
                expected_spn,
                ..
            } => {
                r(alias);
                r(canonical);
                cname_chain.iter_mut().for_each(r);
                r(requested_spn);
                r(expected_spn);
            }
            Details::KrbApErrModified {
                likely_causes,
                ticket_decrypted_by,
                keys_that_failed,
                key_proof,
                ..
            } => {
                likely_causes.iter_mut().for_each(r);
                key_proof.iter_mut().for_each(r);
                for k in ticket_decrypted_by
                    .iter_mut()
                    .chain(keys_that_failed.iter_mut())
                {
                    r(&mut k.principal);
                }
            }
            Details::MissingDelegation {
                first_hop,
                second_hop,
                delegation_proof,
                ..
            } => {
                r(first_hop);
                if let Some(h) = second_hop {
                    r(h);
                }
                if let Some(p) = delegation_proof {
                    r(&mut p.summary);
                    p.pac_user.iter_mut().for_each(r);
                    if let Some(k) = &mut p.ticket_decrypted_by {
                        r(&mut k.principal);
                    }
                }
            }
            Details::NtlmFallback { server_name } => r(server_name),
            Details::KdcError { .. } | Details::WeakEncryption { .. } | Details::None {} => {}
        }
    }
}

/// The keys a finding names (`--keytab` proofs).
fn key_refs(d: &Details) -> Vec<&crate::crypto::KeyRef> {
    match d {
        Details::KrbApErrModified {
            ticket_decrypted_by,
            keys_that_failed,
            ..
        } => ticket_decrypted_by
            .iter()
            .chain(keys_that_failed.iter())
            .collect(),
        Details::MissingDelegation {
            delegation_proof: Some(p),
            ..
        } => p.ticket_decrypted_by.iter().collect(),
        _ => Vec::new(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn replace_is_case_insensitive_longest_first_on_word_boundaries() {
        let mut n = Names::default();
        n.add(Class::Realm, "LAB.TEST");
        n.add(Class::Host, "web2.lab.test");
        n.add(Class::User, "alice");
        let sorted = n.sorted();
        assert_eq!(
            replace(
                "HTTP/WEB2.lab.test@LAB.TEST for alice (malice, alice2) web2 lab.test",
                &sorted
            ),
            "HTTP/host-1@REALM-1 for user-1 (malice, alice2) host-1 REALM-1"
        );
    }

    #[test]
    fn harvest_finds_spns_principals_and_accounts() {
        let mut n = Names::default();
        let text = "Run: setspn -S HTTP/portal.corp.example CORP\\svc-web$ then kinit bob@CORP.EXAMPLE; see x.pcap, e.g. file.";
        n.harvest(text, true);
        n.harvest(text, false);
        let sorted = n.sorted();
        let out = replace(
            "HTTP/portal.corp.example CORP\\svc-web bob@CORP.EXAMPLE x.pcap e.g.",
            &sorted,
        );
        assert!(
            !out.contains("portal") && !out.contains("svc-web") && !out.contains("bob"),
            "{out}"
        );
        assert!(out.contains("x.pcap") && out.ends_with("e.g."), "{out}");
        assert_eq!(
            out,
            "HTTP/host-1 REALM-1\\user-1 user-2@REALM-2 x.pcap e.g."
        );
    }
}
