//! Assembling a [`Finding`] from the events that prove it: evidence lines, the frame list and
//! the time span are derived here so every rule cites evidence the same way.

use std::net::IpAddr;

use crate::capture::Timestamp;
use crate::event::Event;

use super::describe::describe;
use super::finding::{Details, Evidence, Finding, Kind, Severity};

pub struct Draft {
    pub kind: Kind,
    pub severity: Severity,
    pub summary: String,
    pub client: Option<IpAddr>,
    pub server: Option<String>,
    pub kdc: Option<IpAddr>,
    pub spn: Option<String>,
    pub realm: Option<String>,
    pub user: Option<String>,
    pub explanation: String,
    pub remediation: Vec<String>,
    pub details: Details,
    evidence: Vec<(Evidence, Timestamp)>,
}

impl Draft {
    pub fn new(kind: Kind, severity: Severity, details: Details) -> Self {
        Draft {
            kind,
            severity,
            summary: String::new(),
            client: None,
            server: None,
            kdc: None,
            spn: None,
            realm: None,
            user: None,
            explanation: String::new(),
            remediation: Vec::new(),
            details,
            evidence: Vec::new(),
        }
    }

    /// Cite an event with the standard description of what it shows.
    pub fn cite(&mut self, ev: &Event) {
        self.cite_as(ev, describe(ev));
    }

    /// Cite an event with a rule-specific description.
    pub fn cite_as(&mut self, ev: &Event, what: String) {
        if self
            .evidence
            .iter()
            .any(|(e, _)| e.frame == ev.frame && e.what == what)
        {
            return;
        }
        self.evidence.push((
            Evidence {
                frame: ev.frame,
                what,
                src: Some(ev.src),
                dst: Some(ev.dst),
            },
            ev.ts,
        ));
    }

    pub fn is_cited(&self, frame: u64) -> bool {
        self.evidence.iter().any(|(e, _)| e.frame == frame)
    }

    pub fn finish(mut self, capture: &str) -> Finding {
        self.evidence.sort_by_key(|(e, _)| e.frame);
        let mut frames: Vec<u64> = self.evidence.iter().map(|(e, _)| e.frame).collect();
        frames.dedup();
        let first = self
            .evidence
            .iter()
            .map(|(_, t)| *t)
            .min()
            .unwrap_or_default();
        let last = self
            .evidence
            .iter()
            .map(|(_, t)| *t)
            .max()
            .unwrap_or_default();
        Finding {
            kind: self.kind,
            severity: self.severity,
            summary: self.summary,
            capture: capture.to_string(),
            frames,
            first_ts: first.to_rfc3339(),
            last_ts: last.to_rfc3339(),
            client: self.client,
            server: self.server,
            kdc: self.kdc,
            spn: self.spn,
            realm: self.realm,
            user: self.user,
            evidence: self.evidence.into_iter().map(|(e, _)| e).collect(),
            explanation: self.explanation,
            remediation: self.remediation,
            details: self.details,
        }
    }
}
