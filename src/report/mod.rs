//! Reports: the JSON document of SPEC.md ("JSON report") and the other formats rendered from
//! the same [`Report`] value, so every format tells the same story.

use serde::Serialize;

use crate::analyze::finding::Finding;

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
