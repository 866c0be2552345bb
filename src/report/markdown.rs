//! `--format markdown`: a report that pastes into a ticket (GitHub-flavoured Markdown): title,
//! capture table, summary table, then one section per finding with its evidence table and the
//! fix steps in fenced code blocks. Capture-derived text is backslash-escaped (`escape::md`);
//! code blocks use a fence longer than any backtick run they hold, so nothing can close them.

use std::io;

use super::escape::{md, md_fence, one_line};
use super::{Report, by_severity, count_phrase, detail_pairs, examined, frame_ranges};
use crate::analyze::finding::{Finding, Severity};

pub fn write_markdown(report: &Report, out: &mut dyn io::Write) -> io::Result<()> {
    writeln!(out, "# kerbscope report\n")?;
    writeln!(
        out,
        "kerbscope {} · {} · {}\n",
        md(&report.kerbscope),
        count_phrase(report.captures.len(), "capture"),
        totals(report)
    )?;

    writeln!(out, "## Captures\n")?;
    writeln!(
        out,
        "| capture | format | link types | packets | bytes | first | last | warnings |"
    )?;
    writeln!(out, "|---|---|---|---:|---:|---|---|---|")?;
    for c in &report.captures {
        writeln!(
            out,
            "| {} | {} | {} | {} | {} | {} | {} | {} |",
            md(&c.path),
            md(&c.format),
            md(&c.link_types.join(", ")),
            c.packets,
            c.bytes,
            md(c.first_ts.as_deref().unwrap_or("")),
            md(c.last_ts.as_deref().unwrap_or("")),
            md(&c.warnings.join("; "))
        )?;
    }
    writeln!(out)?;

    let ordered = by_severity(&report.findings);
    writeln!(out, "## Summary\n")?;
    if ordered.is_empty() {
        writeln!(
            out,
            "No authentication problem found. Examined {}.\n",
            examined(report),
        )?;
        return Ok(());
    }
    writeln!(out, "| # | severity | kind | summary | capture | frames |")?;
    writeln!(out, "|---:|---|---|---|---|---|")?;
    for (i, f) in ordered.iter().enumerate() {
        writeln!(
            out,
            "| {} | {} | {} | {} | {} | {} |",
            i + 1,
            severity_badge(f.severity),
            md(f.kind.as_str()),
            md(&f.summary),
            md(&f.capture),
            frame_ranges(&f.frames)
        )?;
    }
    writeln!(out)?;
    for (i, f) in ordered.iter().enumerate() {
        write_finding(i + 1, f, out)?;
    }
    Ok(())
}

fn totals(report: &Report) -> String {
    let count = |s: Severity| report.findings.iter().filter(|f| f.severity == s).count();
    format!(
        "{}, {}, {} info",
        count_phrase(count(Severity::Error), "error"),
        count_phrase(count(Severity::Warning), "warning"),
        count(Severity::Info)
    )
}

fn severity_badge(s: Severity) -> &'static str {
    match s {
        Severity::Error => "🔴 error",
        Severity::Warning => "🟠 warning",
        Severity::Info => "🔵 info",
    }
}

fn write_finding(n: usize, f: &Finding, out: &mut dyn io::Write) -> io::Result<()> {
    writeln!(out, "## {n}. {}\n", md(&f.summary))?;
    let mut facts: Vec<(String, String)> = vec![
        ("kind".into(), md(f.kind.as_str())),
        ("severity".into(), severity_badge(f.severity).into()),
        ("capture".into(), md(&f.capture)),
        (
            "frames".into(),
            format!(
                "{} ({} … {})",
                frame_ranges(&f.frames),
                md(&f.first_ts),
                md(&f.last_ts)
            ),
        ),
    ];
    if let Some(c) = f.client {
        facts.push(("client".into(), c.to_string()));
    }
    if let Some(s) = &f.server {
        facts.push(("server".into(), md(s)));
    }
    if let Some(k) = f.kdc {
        facts.push(("KDC".into(), k.to_string()));
    }
    for (label, v) in [("SPN", &f.spn), ("user", &f.user), ("realm", &f.realm)] {
        if let Some(v) = v {
            facts.push((label.into(), md(v)));
        }
    }
    for (label, v) in detail_pairs(&f.details) {
        facts.push((label.into(), md(&v)));
    }
    for (label, value) in facts {
        writeln!(out, "- **{label}:** {value}")?;
    }
    writeln!(out)?;

    if !f.evidence.is_empty() {
        writeln!(out, "### Evidence\n")?;
        writeln!(out, "| frame | from | to | what |")?;
        writeln!(out, "|---:|---|---|---|")?;
        for e in &f.evidence {
            let addr = |a: Option<std::net::IpAddr>| a.map(|a| a.to_string()).unwrap_or_default();
            writeln!(
                out,
                "| {} | {} | {} | {} |",
                e.frame,
                addr(e.src),
                addr(e.dst),
                md(&e.what)
            )?;
        }
        writeln!(out)?;
    }
    if !f.explanation.is_empty() {
        writeln!(out, "### Why\n")?;
        for para in f.explanation.split('\n').filter(|p| !p.trim().is_empty()) {
            writeln!(out, "{}\n", md(para.trim()))?;
        }
    }
    if !f.remediation.is_empty() {
        writeln!(out, "### Fix\n")?;
        for (i, step) in f.remediation.iter().enumerate() {
            // Control characters are made visible line by line; the fence outgrows every
            // backtick run of the result.
            let body: Vec<String> = step.split('\n').map(|l| one_line(l).into_owned()).collect();
            let fence = md_fence(&body.join("\n"));
            // A list item may open with the fence; its lines indent to the item's content.
            let num = format!("{}. ", i + 1);
            let pad = " ".repeat(num.len());
            writeln!(out, "{num}{fence}")?;
            for line in &body {
                writeln!(out, "{pad}{line}")?;
            }
            writeln!(out, "{pad}{fence}\n")?;
        }
    }
    Ok(())
}
