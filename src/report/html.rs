//! `--format html`: one self-contained page (inline CSS, inline SVG, no script, no external
//! resource) with a Content-Security-Policy that forbids scripts and every fetch, so even a
//! string that slipped through escaping could not run or call out. Summary table, then one
//! section per finding with its sequence diagram (`svg.rs`), evidence table, explanation and
//! fix steps. Every capture-derived string is HTML-escaped for text and attributes alike.

use std::io;

use super::escape::html;
use super::{Report, by_severity, count_phrase, detail_pairs, examined, frame_ranges, svg};
use crate::analyze::finding::{Finding, Severity};

/// No script, no fetch of any kind; only the inline stylesheet and inline SVG.
pub const CSP: &str = "default-src 'none'; style-src 'unsafe-inline'; img-src data:; base-uri 'none'; form-action 'none'";

const STYLE: &str = r#"
body { font-family: "DejaVu Sans", Arial, sans-serif; margin: 24px; color: #1f2937; max-width: 1200px; }
h1 { margin-bottom: 4px; } .meta { color: #555; margin-top: 0; }
table { border-collapse: collapse; margin: 8px 0 16px; }
th, td { border: 1px solid #d1d5db; padding: 4px 8px; text-align: left; vertical-align: top; }
th { background: #f3f4f6; } td.num { text-align: right; }
.sev { font-weight: bold; padding: 1px 6px; border-radius: 4px; color: #fff; }
.sev-error { background: #c0392b; } .sev-warning { background: #d97706; } .sev-info { background: #2563eb; }
section.finding { border-top: 3px solid #e5e7eb; margin-top: 24px; padding-top: 8px; }
dl { display: grid; grid-template-columns: max-content auto; gap: 2px 16px; }
dt { font-weight: bold; color: #374151; } dd { margin: 0; font-family: "DejaVu Sans Mono", monospace; }
pre { background: #f3f4f6; padding: 8px; overflow-x: auto; white-space: pre-wrap; word-break: break-all; }
.diagram { overflow-x: auto; border: 1px solid #e5e7eb; }
.ok { color: #166534; font-weight: bold; }
"#;

pub fn write_html(report: &Report, out: &mut dyn io::Write) -> io::Result<()> {
    let mut s = String::with_capacity(16 * 1024);
    s.push_str("<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n");
    s.push_str(&format!(
        "<meta http-equiv=\"Content-Security-Policy\" content=\"{CSP}\">\n"
    ));
    s.push_str("<meta name=\"referrer\" content=\"no-referrer\">\n");
    s.push_str("<title>kerbscope report</title>\n<style>");
    s.push_str(STYLE);
    s.push_str("</style>\n</head>\n<body>\n<h1>kerbscope report</h1>\n");
    let count = |sev: Severity| report.findings.iter().filter(|f| f.severity == sev).count();
    s.push_str(&format!(
        "<p class=\"meta\">kerbscope {} · {} · {}, {}, {} info</p>\n",
        html(&report.kerbscope),
        count_phrase(report.captures.len(), "capture"),
        count_phrase(count(Severity::Error), "error"),
        count_phrase(count(Severity::Warning), "warning"),
        count(Severity::Info)
    ));

    s.push_str("<h2>Captures</h2>\n<table>\n<tr><th>capture</th><th>format</th><th>link types</th><th>packets</th><th>bytes</th><th>time span (UTC)</th><th>warnings</th></tr>\n");
    for c in &report.captures {
        s.push_str(&format!(
            "<tr><td>{}</td><td>{}</td><td>{}</td><td class=\"num\">{}</td><td class=\"num\">{}</td><td>{}<br>{}</td><td>{}</td></tr>\n",
            html(&c.path),
            html(&c.format),
            html(&c.link_types.join(", ")),
            c.packets,
            c.bytes,
            html(c.first_ts.as_deref().unwrap_or("")),
            html(c.last_ts.as_deref().unwrap_or("")),
            c.warnings.iter().map(|w| html(w)).collect::<Vec<_>>().join("<br>")
        ));
    }
    s.push_str("</table>\n<h2>Summary</h2>\n");

    let ordered = by_severity(&report.findings);
    if ordered.is_empty() {
        s.push_str(&format!(
            "<p class=\"ok\">No authentication problem found. Examined {}.</p>\n",
            examined(report),
        ));
    } else {
        s.push_str("<table>\n<tr><th>#</th><th>severity</th><th>kind</th><th>summary</th><th>capture</th><th>frames</th></tr>\n");
        for (i, f) in ordered.iter().enumerate() {
            s.push_str(&format!(
                "<tr><td class=\"num\"><a href=\"#finding-{n}\">{n}</a></td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td></tr>\n",
                severity_badge(f.severity),
                f.kind.as_str(),
                html(&f.summary),
                html(&f.capture),
                frame_ranges(&f.frames),
                n = i + 1,
            ));
        }
        s.push_str("</table>\n");
        for (i, f) in ordered.iter().enumerate() {
            write_finding(&mut s, i + 1, f);
        }
    }
    s.push_str("</body>\n</html>\n");
    out.write_all(s.as_bytes())
}

fn severity_badge(sev: Severity) -> String {
    format!("<span class=\"sev sev-{0}\">{0}</span>", sev.as_str())
}

fn write_finding(s: &mut String, n: usize, f: &Finding) {
    s.push_str(&format!(
        "<section class=\"finding\" id=\"finding-{n}\">\n<h2>{n}. {} {}</h2>\n<dl>\n",
        severity_badge(f.severity),
        html(&f.summary)
    ));
    let mut facts: Vec<(String, String)> = vec![
        ("kind".into(), f.kind.as_str().into()),
        ("capture".into(), f.capture.clone()),
        (
            "frames".into(),
            format!(
                "{} ({} … {})",
                frame_ranges(&f.frames),
                f.first_ts,
                f.last_ts
            ),
        ),
    ];
    if let Some(c) = f.client {
        facts.push(("client".into(), c.to_string()));
    }
    if let Some(v) = &f.server {
        facts.push(("server".into(), v.clone()));
    }
    if let Some(k) = f.kdc {
        facts.push(("KDC".into(), k.to_string()));
    }
    for (label, v) in [("SPN", &f.spn), ("user", &f.user), ("realm", &f.realm)] {
        if let Some(v) = v {
            facts.push((label.into(), v.clone()));
        }
    }
    for (label, v) in detail_pairs(&f.details) {
        facts.push((label.into(), v));
    }
    for (label, v) in facts {
        s.push_str(&format!("<dt>{}</dt><dd>{}</dd>\n", html(&label), html(&v)));
    }
    s.push_str("</dl>\n");

    if let Some(diagram) = svg::sequence_diagram(f, n) {
        s.push_str("<h3>Sequence</h3>\n<div class=\"diagram\">");
        s.push_str(&diagram);
        s.push_str("</div>\n");
    }
    if !f.evidence.is_empty() {
        s.push_str("<h3>Evidence</h3>\n<table>\n<tr><th>frame</th><th>from</th><th>to</th><th>what</th></tr>\n");
        for e in &f.evidence {
            let addr = |a: Option<std::net::IpAddr>| a.map(|a| a.to_string()).unwrap_or_default();
            s.push_str(&format!(
                "<tr><td class=\"num\">{}</td><td>{}</td><td>{}</td><td>{}</td></tr>\n",
                e.frame,
                addr(e.src),
                addr(e.dst),
                html(&e.what)
            ));
        }
        s.push_str("</table>\n");
    }
    if !f.explanation.is_empty() {
        s.push_str("<h3>Why</h3>\n");
        for para in f.explanation.split('\n').filter(|p| !p.trim().is_empty()) {
            s.push_str(&format!("<p>{}</p>\n", html(para.trim())));
        }
    }
    if !f.remediation.is_empty() {
        s.push_str("<h3>Fix</h3>\n<ol>\n");
        for step in &f.remediation {
            let lines: Vec<String> = step.split('\n').map(html).collect();
            s.push_str(&format!(
                "<li><pre><code>{}</code></pre></li>\n",
                lines.join("\n")
            ));
        }
        s.push_str("</ol>\n");
    }
    s.push_str("</section>\n");
}
