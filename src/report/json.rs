//! `--format json` (the SPEC.md "JSON report" document, pretty-printed; field order is the
//! struct order, `stats` keys sorted) and `--format ndjson` (one finding per line, each line a
//! complete object carrying its `capture`, nothing else: a SIEM ingests it line by line).

use std::io;

use super::Report;

pub fn write_json(report: &Report, out: &mut dyn io::Write) -> io::Result<()> {
    serde_json::to_writer_pretty(&mut *out, report)?;
    out.write_all(b"\n")
}

pub fn write_ndjson(report: &Report, out: &mut dyn io::Write) -> io::Result<()> {
    for f in &report.findings {
        // serde_json escapes control characters and U+2028/9 stay literal: both are valid in
        // one JSON line, and a raw newline can never appear inside a string.
        serde_json::to_writer(&mut *out, f)?;
        out.write_all(b"\n")?;
    }
    Ok(())
}
