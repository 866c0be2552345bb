//! Reports: the JSON document of SPEC.md ("JSON report") and the other formats rendered from
//! the same [`Report`] value, so every format tells the same story.
//!
//! * [`write`] renders one format. `WriteOptions::min_severity` is applied here (findings below
//!   it are dropped and `summary` is recounted), so callers hand over the whole report.
//! * [`redact`] replaces user, host and realm names by stable tokens (see `redact.rs`).
//! * [`write_evidence`] writes the frames the findings cite as a pcapng (see `evidence.rs`).
//!
//! Every string that came from a capture (SPNs, host names, user names, evidence text) is
//! hostile: each writer neutralises it for its medium (terminal control characters, markdown
//! syntax, HTML/SVG markup).

use std::borrow::Cow;
use std::collections::BTreeMap;
use std::io;

use serde::Serialize;

use crate::analyze::finding::{Finding, Severity};
use crate::proto::kerberos::EncryptionType;

mod escape;
mod evidence;
mod html;
mod json;
mod markdown;
mod redact;
mod svg;
mod text;

pub use evidence::{EvidenceOptions, EvidenceSummary, write_evidence, write_evidence_with};
pub use redact::redact;

/// Output formats of `kerbscope analyze --format`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Format {
    Text,
    Json,
    Ndjson,
    Markdown,
    Html,
}

/// One capture file's facts (`captures[]`).
#[derive(Clone, Debug, Serialize)]
pub struct CaptureInfo {
    pub path: String,
    pub format: String,
    pub link_types: Vec<String>,
    pub packets: u64,
    pub bytes: u64,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub first_ts: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub last_ts: Option<String>,
    pub warnings: Vec<String>,
}

/// The whole report.
#[derive(Clone, Debug, Serialize)]
pub struct Report {
    pub kerbscope: String,
    pub captures: Vec<CaptureInfo>,
    /// Counters: kerberos_messages, dns_responses, http_auth_headers, tcp_streams, ... (summed
    /// over captures).
    pub stats: serde_json::Map<String, serde_json::Value>,
    /// Sorted by (capture, first frame, kind).
    pub findings: Vec<Finding>,
    /// Count of findings per kind.
    pub summary: std::collections::BTreeMap<String, u64>,
}

/// How to render.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct WriteOptions {
    /// ANSI colours (text format only; the others ignore it).
    pub color: bool,
    /// Findings below this severity are left out of every format, and `summary` is recounted.
    pub min_severity: Severity,
}

impl Default for WriteOptions {
    fn default() -> Self {
        WriteOptions {
            color: false,
            min_severity: Severity::Info,
        }
    }
}

/// Render `report` as `format` into `out`.
pub fn write(
    report: &Report,
    format: Format,
    opts: &WriteOptions,
    out: &mut dyn io::Write,
) -> io::Result<()> {
    let report = filter_severity(report, opts.min_severity);
    match format {
        Format::Json => json::write_json(&report, out),
        Format::Ndjson => json::write_ndjson(&report, out),
        Format::Text => text::write_text(&report, opts.color, out),
        Format::Markdown => markdown::write_markdown(&report, out),
        Format::Html => html::write_html(&report, out),
    }
}

/// Count of findings per kind, as `summary` holds it.
pub fn summarize(findings: &[Finding]) -> BTreeMap<String, u64> {
    let mut summary = BTreeMap::new();
    for f in findings {
        *summary.entry(f.kind.as_str().to_string()).or_insert(0) += 1;
    }
    summary
}

/// The report without findings below `min`; borrowed when nothing is dropped.
fn filter_severity(report: &Report, min: Severity) -> Cow<'_, Report> {
    if report.findings.iter().all(|f| f.severity >= min) {
        return Cow::Borrowed(report);
    }
    let mut r = report.clone();
    r.findings.retain(|f| f.severity >= min);
    r.summary = summarize(&r.findings);
    Cow::Owned(r)
}

/// Findings ordered for a person: most severe first, then by capture and first frame.
fn by_severity(findings: &[Finding]) -> Vec<&Finding> {
    let mut v: Vec<&Finding> = findings.iter().collect();
    v.sort_by(|a, b| {
        b.severity
            .cmp(&a.severity)
            .then_with(|| a.sort_key().cmp(&b.sort_key()))
    });
    v
}

/// "1 error", "2 warnings", ...
fn count_phrase(n: usize, one: &str) -> String {
    if n == 1 {
        format!("1 {one}")
    } else {
        format!("{n} {one}s")
    }
}

/// A counter of `stats`, 0 when absent or not a number.
fn stat(report: &Report, key: &str) -> u64 {
    report.stats.get(key).and_then(|v| v.as_u64()).unwrap_or(0)
}

/// What a clean run looked at: "12 Kerberos messages, 4 DNS responses, 3 HTTP auth headers".
fn examined(report: &Report) -> String {
    format!(
        "{}, {}, {}",
        count_phrase(
            stat(report, "kerberos_messages") as usize,
            "Kerberos message"
        ),
        count_phrase(stat(report, "dns_responses") as usize, "DNS response"),
        count_phrase(
            stat(report, "http_auth_headers") as usize,
            "HTTP auth header"
        ),
    )
}

/// "10, 23, 26-29, 33": ascending frame list with runs folded.
fn frame_ranges(frames: &[u64]) -> String {
    let mut parts: Vec<String> = Vec::new();
    let mut i = 0;
    while let Some(&start) = frames.get(i) {
        let mut end = start;
        let mut j = i + 1;
        while let Some(&next) = frames.get(j) {
            if Some(next) != end.checked_add(1) {
                break;
            }
            end = next;
            j += 1;
        }
        if end == start {
            parts.push(start.to_string());
        } else {
            parts.push(format!("{start}-{end}"));
        }
        i = j;
    }
    parts.join(", ")
}

/// The role an address plays in a finding: `client`, `kdc` or `server`.
fn role_of(f: &Finding, addr: std::net::IpAddr) -> Option<&'static str> {
    if f.client == Some(addr) {
        Some("client")
    } else if f.kdc == Some(addr) {
        Some("kdc")
    } else if f.server.as_deref().and_then(server_ip) == Some(addr) {
        Some("server")
    } else {
        None
    }
}

/// The IP of a `server` field: `IP`, `IP:port` or `[v6]:port`.
fn server_ip(s: &str) -> Option<std::net::IpAddr> {
    if let Ok(ip) = s.parse() {
        return Some(ip);
    }
    s.parse::<std::net::SocketAddr>().ok().map(|sa| sa.ip())
}

/// The kind-specific fields of a finding as (label, value) pairs for the human formats.
/// Values are raw (unescaped); each writer escapes them for its medium.
fn detail_pairs(d: &crate::analyze::finding::Details) -> Vec<(&'static str, String)> {
    use crate::analyze::finding::Details;
    let opt = |v: &Option<String>| v.clone().unwrap_or_else(|| "(not seen)".into());
    match d {
        Details::WrongSpnCname {
            alias,
            canonical,
            cname_chain,
            requested_spn,
            expected_spn,
            outcome,
        } => vec![
            ("alias", alias.clone()),
            ("canonical", canonical.clone()),
            ("CNAME chain", cname_chain.join(" → ")),
            ("requested SPN", requested_spn.clone()),
            ("expected SPN", expected_spn.clone()),
            ("outcome", (*outcome).to_string()),
        ],
        Details::KrbApErrModified {
            code,
            code_name,
            ticket_etype,
            ticket_kvno,
            transport,
            likely_causes,
            ticket_decrypted_by,
            keys_that_failed,
            key_proof: _,
        } => {
            // The key proof itself is part of the explanation.
            let mut v = vec![
                (
                    "error",
                    match code {
                        Some(c) => format!("{c} {code_name}"),
                        None => code_name.clone(),
                    },
                ),
                ("transport", transport.clone()),
            ];
            if let Some(e) = ticket_etype {
                v.push((
                    "ticket etype",
                    format!("{e} ({})", EncryptionType(*e).display()),
                ));
            }
            if let Some(k) = ticket_kvno {
                v.push(("ticket kvno", k.to_string()));
            }
            if let Some(k) = ticket_decrypted_by {
                v.push(("decrypted by", key_label(k)));
            }
            if !keys_that_failed.is_empty() {
                let names: Vec<String> = keys_that_failed.iter().map(key_label).collect();
                v.push(("failed keys", names.join("; ")));
            }
            for (i, c) in likely_causes.iter().enumerate() {
                v.push((if i == 0 { "likely cause" } else { "or" }, c.clone()));
            }
            v
        }
        Details::MissingDelegation {
            first_hop,
            second_hop,
            mechanism,
            delegation_proof,
        } => {
            let mut v = vec![
                ("first hop", first_hop.clone()),
                ("second hop", opt(second_hop)),
                ("mechanism", (*mechanism).to_string()),
            ];
            if let Some(p) = delegation_proof {
                if let Some(k) = &p.ticket_decrypted_by {
                    v.push(("decrypted by", key_label(k)));
                }
                if !p.ticket_flags.is_empty() {
                    v.push(("ticket flags", p.ticket_flags.join(", ")));
                }
                if let Some(d) = p.deleg_requested {
                    v.push(("deleg requested", d.to_string()));
                }
                if let Some(d) = p.delegated_tgt {
                    v.push(("forwarded TGT", d.to_string()));
                }
                if let (Some(u), Some(g)) = (&p.pac_user, p.pac_groups) {
                    v.push(("PAC", format!("{u}, {g} group(s)")));
                }
            }
            v
        }
        Details::KdcError { code, name } => vec![("error", format!("{code} {name}"))],
        Details::NtlmFallback { server_name } => vec![("server name", server_name.clone())],
        Details::WeakEncryption { etype } => vec![("etype", etype.clone())],
        Details::None {} => Vec::new(),
    }
}

/// A key by name: "HTTP/web1.lab.test@LAB.TEST kvno 2 aes256-cts-hmac-sha1-96 (web1.keytab)".
fn key_label(k: &crate::crypto::KeyRef) -> String {
    let kvno = k.kvno.map(|v| format!(" kvno {v}")).unwrap_or_default();
    format!("{}{kvno} {} ({})", k.principal, k.etype_name, k.source)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn frame_ranges_fold_runs() {
        assert_eq!(
            frame_ranges(&[10, 23, 26, 27, 28, 29, 33]),
            "10, 23, 26-29, 33"
        );
        assert_eq!(frame_ranges(&[]), "");
        assert_eq!(
            frame_ranges(&[u64::MAX - 1, u64::MAX]),
            format!("{}-{}", u64::MAX - 1, u64::MAX)
        );
    }

    #[test]
    fn server_ip_forms() {
        assert_eq!(server_ip("198.51.100.21:80"), "198.51.100.21".parse().ok());
        assert_eq!(server_ip("2001:db8::1"), "2001:db8::1".parse().ok());
        assert_eq!(server_ip("[2001:db8::1]:443"), "2001:db8::1".parse().ok());
        assert_eq!(server_ip("web2"), None);
    }
}
