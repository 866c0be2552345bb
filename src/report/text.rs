//! `--format text`: for a person at a terminal. A header per capture, then its findings (most
//! severe first, then by frame), each with its hosts, frames, evidence list, explanation
//! wrapped to ~100 columns and numbered fix steps; a closing count. ANSI colour only when
//! asked; every capture-derived string goes through `escape::one_line`, so it carries no ESC
//! byte and no newline of its own.

use std::io;

use super::escape::{one_line, wrap};
use super::{CaptureInfo, Report, by_severity, count_phrase, detail_pairs, examined, frame_ranges};
use crate::analyze::finding::{Finding, Severity};

const WIDTH: usize = 100;
/// Label column of the finding facts ("requested SPN" and a space).
const LABEL_W: usize = 14;

struct Style {
    color: bool,
}

impl Style {
    fn paint(&self, code: &str, s: &str) -> String {
        if self.color {
            format!("\x1b[{code}m{s}\x1b[0m")
        } else {
            s.to_string()
        }
    }
    fn severity(&self, sev: Severity) -> String {
        let (code, label) = match sev {
            Severity::Error => ("1;31", "ERROR"),
            Severity::Warning => ("1;33", "WARNING"),
            Severity::Info => ("1;36", "INFO"),
        };
        self.paint(code, label)
    }
    fn label(&self, s: &str) -> String {
        self.paint("2", &format!("{s:<LABEL_W$}"))
    }
}

pub fn write_text(report: &Report, color: bool, out: &mut dyn io::Write) -> io::Result<()> {
    let st = Style { color };
    writeln!(
        out,
        "{}",
        st.paint("1", &format!("kerbscope {}", one_line(&report.kerbscope)))
    )?;
    let ordered = by_severity(&report.findings);
    for cap in &report.captures {
        writeln!(out)?;
        write_capture_header(cap, &st, out)?;
        for f in ordered.iter().filter(|f| f.capture == cap.path) {
            writeln!(out)?;
            write_finding(f, &st, out)?;
        }
    }
    // Findings naming a capture the report does not list (should not happen) still print.
    let orphans: Vec<&&Finding> = ordered
        .iter()
        .filter(|f| !report.captures.iter().any(|c| c.path == f.capture))
        .collect();
    for f in orphans {
        writeln!(out)?;
        write_finding(f, &st, out)?;
    }
    writeln!(out)?;
    writeln!(out, "{}", closing_line(report, &st))
}

fn write_capture_header(cap: &CaptureInfo, st: &Style, out: &mut dyn io::Write) -> io::Result<()> {
    writeln!(out, "{} {}", st.paint("1", "Capture"), one_line(&cap.path))?;
    let mut facts = vec![one_line(&cap.format).into_owned()];
    if !cap.link_types.is_empty() {
        facts.push(one_line(&cap.link_types.join(", ")).into_owned());
    }
    facts.push(count_phrase(cap.packets as usize, "packet"));
    facts.push(human_bytes(cap.bytes));
    if let (Some(a), Some(b)) = (&cap.first_ts, &cap.last_ts) {
        facts.push(format!("{} … {}", one_line(a), one_line(b)));
    }
    writeln!(out, "  {}", facts.join(", "))?;
    for w in &cap.warnings {
        writeln!(out, "  {} {}", st.paint("33", "warning:"), one_line(w))?;
    }
    Ok(())
}

fn write_finding(f: &Finding, st: &Style, out: &mut dyn io::Write) -> io::Result<()> {
    writeln!(
        out,
        "{}  {}",
        st.severity(f.severity),
        st.paint("1", &one_line(&f.summary))
    )?;
    writeln!(
        out,
        "  {}{} ({})",
        st.label("kind"),
        f.kind.as_str(),
        f.severity.as_str()
    )?;
    let mut hosts = Vec::new();
    match (&f.client, &f.server) {
        (Some(c), Some(s)) => hosts.push(format!("client {c} → server {}", one_line(s))),
        (Some(c), None) => hosts.push(format!("client {c}")),
        (None, Some(s)) => hosts.push(format!("server {}", one_line(s))),
        (None, None) => {}
    }
    if let Some(k) = f.kdc {
        hosts.push(format!("kdc {k}"));
    }
    if !hosts.is_empty() {
        writeln!(out, "  {}{}", st.label("hosts"), hosts.join(", "))?;
    }
    if let Some(spn) = &f.spn {
        writeln!(out, "  {}{}", st.label("SPN"), one_line(spn))?;
    }
    if let Some(u) = &f.user {
        writeln!(out, "  {}{}", st.label("user"), one_line(u))?;
    }
    if let Some(r) = &f.realm {
        writeln!(out, "  {}{}", st.label("realm"), one_line(r))?;
    }
    writeln!(
        out,
        "  {}{}  ({} … {})",
        st.label("frames"),
        frame_ranges(&f.frames),
        one_line(&f.first_ts),
        one_line(&f.last_ts)
    )?;
    let hang = " ".repeat(2 + LABEL_W);
    for (label, value) in detail_pairs(&f.details) {
        let mut lines = wrap(&value, WIDTH - 2 - LABEL_W, &hang).into_iter();
        writeln!(
            out,
            "  {}{}",
            st.label(label),
            lines.next().unwrap_or_default().trim_start()
        )?;
        for line in lines {
            writeln!(out, "{line}")?;
        }
    }
    if !f.evidence.is_empty() {
        writeln!(out, "  {}", st.paint("1", "Evidence"))?;
        let digits = f
            .evidence
            .iter()
            .map(|e| e.frame.to_string().len())
            .max()
            .unwrap_or(1);
        for e in &f.evidence {
            let arrow = match (e.src, e.dst) {
                (Some(s), Some(d)) => format!("  ({s} → {d})"),
                _ => String::new(),
            };
            writeln!(
                out,
                "    frame {:<digits$}  {}{}",
                e.frame,
                one_line(&e.what),
                st.paint("2", &arrow)
            )?;
        }
    }
    if !f.explanation.is_empty() {
        writeln!(out, "  {}", st.paint("1", "Why"))?;
        for line in wrap(&f.explanation, WIDTH - 4, "    ") {
            writeln!(out, "{line}")?;
        }
    }
    if !f.remediation.is_empty() {
        writeln!(out, "  {}", st.paint("1", "Fix"))?;
        for (i, step) in f.remediation.iter().enumerate() {
            let num = format!("{}.", i + 1);
            let mut lines = wrap(step, WIDTH - 8, "       ").into_iter();
            if let Some(first) = lines.next() {
                writeln!(out, "    {num:<3}{}", first.trim_start())?;
            }
            for line in lines {
                writeln!(out, "{line}")?;
            }
        }
    }
    Ok(())
}

fn closing_line(report: &Report, st: &Style) -> String {
    let n_caps = count_phrase(report.captures.len(), "capture");
    if report.findings.is_empty() {
        let packets: u64 = report.captures.iter().map(|c| c.packets).sum();
        return st.paint(
            "32",
            &format!(
                "No authentication problem found in {n_caps} ({}): examined {}.",
                count_phrase(packets as usize, "packet"),
                examined(report),
            ),
        );
    }
    let count = |s: Severity| report.findings.iter().filter(|f| f.severity == s).count();
    let mut parts = Vec::new();
    let (e, w, i) = (
        count(Severity::Error),
        count(Severity::Warning),
        count(Severity::Info),
    );
    if e > 0 {
        parts.push(st.paint("1;31", &count_phrase(e, "error")));
    }
    if w > 0 {
        parts.push(st.paint("1;33", &count_phrase(w, "warning")));
    }
    if i > 0 {
        parts.push(st.paint("1;36", &format!("{i} info")));
    }
    format!("{} in {n_caps}", parts.join(", "))
}

/// 5120 → "5.0 KiB".
fn human_bytes(n: u64) -> String {
    const UNITS: [&str; 4] = ["KiB", "MiB", "GiB", "TiB"];
    if n < 1024 {
        return format!("{n} bytes");
    }
    let mut v = n as f64 / 1024.0;
    let mut unit = UNITS[0];
    for u in UNITS.iter().skip(1) {
        if v < 1024.0 {
            break;
        }
        v /= 1024.0;
        unit = u;
    }
    format!("{v:.1} {unit}")
}
