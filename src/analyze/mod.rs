//! Correlation and findings: each capture's events become a [`model::Model`] (KDC exchanges,
//! DNS answers, application connections with their authentication steps), the rules in
//! [`rules`] turn it into [`finding::Finding`]s, and the findings of all captures become one
//! [`Report`], sorted by (capture, first frame, kind).

pub mod describe;
pub mod draft;
pub mod finding;
pub mod model;
pub mod names;
pub mod rules;
pub mod step;

use std::collections::BTreeMap;

use crate::pipeline::CaptureRun;
use crate::report::{CaptureInfo, Report};

use finding::Severity;

/// The findings one capture's events prove (sorted by first frame, kind). Live capture calls
/// this on its sliding window of events.
pub fn findings_for(capture: &str, events: &[crate::event::Event]) -> Vec<finding::Finding> {
    findings_until(capture, events, 0)
}

/// `findings_for`, knowing that the capture has events at least until frame `last_frame`
/// (events decoded but not kept for the analysis).
pub fn findings_until(
    capture: &str,
    events: &[crate::event::Event],
    last_frame: u64,
) -> Vec<finding::Finding> {
    let mut model = model::Model::build(capture, events);
    model.last_frame = model.last_frame.max(last_frame);
    let mut findings = rules::run_all(&model);
    findings.sort_by_key(|f| f.sort_key());
    findings
}

/// Analyse decoded captures into one report.
pub fn analyze(runs: &[CaptureRun]) -> Report {
    let mut findings = Vec::new();
    let mut captures = Vec::new();
    let mut stats: serde_json::Map<String, serde_json::Value> = serde_json::Map::new();
    for run in runs {
        let path = run.path.display().to_string();
        findings.extend(findings_until(&path, &run.events, run.set_aside_last_frame));
        captures.push(CaptureInfo {
            path: path.clone(),
            format: if run.gzip {
                format!("{}+gzip", run.format)
            } else {
                run.format.to_string()
            },
            link_types: run.link_types.clone(),
            packets: run.packets,
            bytes: run.bytes,
            first_ts: run.first_ts.map(|t| t.to_rfc3339()),
            last_ts: run.last_ts.map(|t| t.to_rfc3339()),
            warnings: run.warnings.clone(),
        });
        add_stats(&mut stats, &run.stats);
    }
    findings.sort_by_key(|f| f.sort_key());
    let mut summary = BTreeMap::new();
    for f in &findings {
        *summary.entry(f.kind.as_str().to_string()).or_insert(0u64) += 1;
    }
    Report {
        kerbscope: env!("CARGO_PKG_VERSION").to_string(),
        captures,
        stats,
        findings,
        summary,
    }
}

/// Sum every numeric counter of `stats` into `into` (nested objects are flattened with `.`).
fn add_stats(
    into: &mut serde_json::Map<String, serde_json::Value>,
    stats: &crate::dissect::AllStats,
) {
    let Ok(serde_json::Value::Object(obj)) = serde_json::to_value(stats) else {
        return;
    };
    let mut flat = Vec::new();
    flatten("", &serde_json::Value::Object(obj), &mut flat);
    for (k, v) in flat {
        let sum = into
            .get(&k)
            .and_then(serde_json::Value::as_u64)
            .unwrap_or(0)
            + v;
        into.insert(k, sum.into());
    }
}

fn flatten(prefix: &str, v: &serde_json::Value, out: &mut Vec<(String, u64)>) {
    match v {
        serde_json::Value::Object(map) => {
            for (k, v) in map {
                let key = if prefix.is_empty()
                    || prefix == "net"
                    || prefix == "tcp" && !k.starts_with("tcp")
                {
                    if prefix == "tcp" {
                        format!("tcp_{k}")
                    } else {
                        k.clone()
                    }
                } else {
                    format!("{prefix}_{k}")
                };
                flatten(&key, v, out);
            }
        }
        serde_json::Value::Number(n) => {
            if let Some(n) = n.as_u64() {
                out.push((prefix.to_string(), n));
            }
        }
        _ => {}
    }
}

/// True when the report has a finding at or above `warning` (exit status 1).
pub fn has_problems(report: &Report) -> bool {
    report
        .findings
        .iter()
        .any(|f| f.severity >= Severity::Warning)
}
