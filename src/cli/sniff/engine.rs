//! Incremental analysis for `kerbscope sniff`: the same `Dissector` and rules as `analyze`
//! (`analyze::findings_for`), fed one frame at a time.
//!
//! Events live in a sliding correlation window bounded in time (packet timestamps) and in
//! count, so memory stays flat however long the capture runs; the dissector's own state is
//! capped by its limits. A pass runs the rules over the window and reports the findings whose
//! identity (kind, client, SPN or else server, error code) was not reported before, so a retry
//! the rules fold into an existing finding never prints twice.
//!
//! The final report is the rules' verdict on the final window, exactly as `analyze` would give
//! on the same frames, plus the findings proven earlier whose evidence has since left the window.

use std::collections::{BTreeSet, HashMap, HashSet, VecDeque};
use std::net::IpAddr;
use std::path::PathBuf;

use kerbscope::analyze::finding::{Details, Finding, Kind};
use kerbscope::analyze::{analyze, findings_for};
use kerbscope::capture::{Frame, LinkType, Timestamp};
use kerbscope::dissect::Dissector;
use kerbscope::event::Event;
use kerbscope::pipeline::CaptureRun;
use kerbscope::report::{self, Report};

/// Bounds of the correlation window and of what is remembered.
#[derive(Clone, Copy, Debug)]
pub struct Limits {
    /// Events older than this (packet time) than the newest frame leave the window.
    pub window_secs: u64,
    /// At most this many events in the window.
    pub max_events: usize,
    /// At most this many distinct findings remembered (further ones are counted, not kept).
    pub max_findings: usize,
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            window_secs: 300,
            max_events: 200_000,
            max_findings: 10_000,
        }
    }
}

/// What makes two findings "the same" for the stream.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct Identity {
    kind: Kind,
    client: Option<IpAddr>,
    target: Option<String>,
    code: Option<i32>,
}

pub fn identity(f: &Finding) -> Identity {
    let code = match &f.details {
        Details::KrbApErrModified { code, .. } => *code,
        Details::KdcError { code, .. } => Some(*code),
        _ => None,
    };
    Identity {
        kind: f.kind,
        client: f.client,
        target: f.spn.clone().or_else(|| f.server.clone()),
        code,
    }
}

pub struct Engine {
    name: String,
    limits: Limits,
    dissector: Dissector,
    window: VecDeque<Event>,
    scratch: Vec<Event>,
    /// Latest version of every finding reported.
    known: HashMap<Identity, Finding>,
    /// Frames below this number had events evicted from the window (0: nothing evicted).
    evicted_below: u64,
    pub evicted_events: u64,
    pub findings_dropped: u64,
    events_since_pass: u64,
    pub packets: u64,
    pub bytes: u64,
    first_ts: Option<Timestamp>,
    last_ts: Option<Timestamp>,
    link_types: BTreeSet<String>,
    last_link: Option<LinkType>,
}

impl Engine {
    /// `name` is what findings give as their `capture` (e.g. `live:eth0`).
    pub fn new(name: &str, limits: Limits) -> Engine {
        Engine {
            name: name.to_string(),
            limits,
            dissector: Dissector::new(0),
            window: VecDeque::new(),
            scratch: Vec::new(),
            known: HashMap::new(),
            evicted_below: 0,
            evicted_events: 0,
            findings_dropped: 0,
            events_since_pass: 0,
            packets: 0,
            bytes: 0,
            first_ts: None,
            last_ts: None,
            link_types: BTreeSet::new(),
            last_link: None,
        }
    }

    /// Decode one frame; returns how many events it completed (see [`Engine::last_events`]).
    pub fn frame(&mut self, frame: &Frame<'_>) -> usize {
        self.packets += 1;
        self.bytes += frame.data.len() as u64;
        self.first_ts.get_or_insert(frame.ts);
        self.last_ts = Some(frame.ts);
        if self.last_link != Some(frame.link_type) {
            self.last_link = Some(frame.link_type);
            self.link_types.insert(frame.link_type.name());
        }
        self.dissector.frame(frame, &mut self.scratch);
        let n = self.scratch.len();
        self.absorb_scratch();
        self.evict(frame.ts);
        n.min(self.window.len())
    }

    fn absorb_scratch(&mut self) {
        self.events_since_pass += self.scratch.len() as u64;
        self.window.extend(self.scratch.drain(..));
    }

    fn evict(&mut self, now: Timestamp) {
        let horizon = now
            .secs
            .saturating_sub(i64::try_from(self.limits.window_secs).unwrap_or(i64::MAX));
        while let Some(front) = self.window.front() {
            if front.ts.secs >= horizon && self.window.len() <= self.limits.max_events {
                break;
            }
            self.evicted_below = self.evicted_below.max(front.frame.saturating_add(1));
            self.evicted_events += 1;
            self.window.pop_front();
        }
    }

    /// The `n` newest events.
    pub fn last_events(&self, n: usize) -> impl Iterator<Item = &Event> {
        self.window.range(self.window.len().saturating_sub(n)..)
    }

    /// Frames below this number may have lost their events to the window bound.
    pub fn evicted_below(&self) -> u64 {
        self.evicted_below
    }

    /// Events in the window now.
    pub fn window_len(&self) -> usize {
        self.window.len()
    }

    /// True when events arrived since the last pass.
    pub fn pass_due(&self) -> bool {
        self.events_since_pass > 0
    }

    /// Run the rules over the window. Returns (findings of this pass, those among them whose
    /// identity is new).
    pub fn pass(&mut self) -> (Vec<Finding>, Vec<Finding>) {
        if self.events_since_pass == 0 {
            return (Vec::new(), Vec::new());
        }
        self.events_since_pass = 0;
        let found = findings_for(&self.name, self.window.make_contiguous());
        let mut new = Vec::new();
        for f in &found {
            let id = identity(f);
            let full = self.known.len() >= self.limits.max_findings;
            match self.known.get_mut(&id) {
                Some(old) => merge(old, f),
                None if full => self.findings_dropped += 1,
                None => {
                    self.known.insert(id, f.clone());
                    new.push(f.clone());
                }
            }
        }
        (found, new)
    }

    /// End of capture: release what the dissector holds and run a last pass.
    pub fn finish(&mut self) -> (Vec<Finding>, Vec<Finding>) {
        self.dissector.finish(&mut self.scratch);
        self.absorb_scratch();
        self.events_since_pass = self.events_since_pass.max(1);
        self.pass()
    }

    /// The final report: what `analyze` says about the window, plus findings reported earlier
    /// whose evidence left the window since. `extra_stats` are added to `stats`.
    pub fn into_report(mut self, warnings: Vec<String>, extra_stats: &[(&str, u64)]) -> Report {
        let run = CaptureRun {
            path: PathBuf::from(&self.name),
            format: "live",
            gzip: false,
            link_types: self.link_types.iter().cloned().collect(),
            packets: self.packets,
            bytes: self.bytes,
            first_ts: self.first_ts,
            last_ts: self.last_ts,
            warnings,
            events: self.window.drain(..).collect(),
            stats: self.dissector.stats(),
            set_aside_last_frame: 0,
        };
        let mut report = analyze(&[run]);
        let present: HashSet<Identity> = report.findings.iter().map(identity).collect();
        for (id, f) in self.known.drain() {
            let gone = f
                .frames
                .first()
                .is_some_and(|&first| first < self.evicted_below);
            if gone && !present.contains(&id) {
                report.findings.push(f);
            }
        }
        report.findings.sort_by_key(|f| f.sort_key());
        report.summary = report::summarize(&report.findings);
        for (k, v) in extra_stats {
            report.stats.insert((*k).to_string(), (*v).into());
        }
        report
    }
}

/// Fold a later version of a finding into the remembered one: a version that starts no later
/// replaces it (it saw at least as much); one that starts later was cut by the window, so its
/// frames and evidence are added to what is remembered.
fn merge(old: &mut Finding, new: &Finding) {
    let first = |f: &Finding| f.frames.first().copied().unwrap_or(0);
    if first(new) <= first(old) {
        *old = new.clone();
        return;
    }
    old.frames.extend(new.frames.iter().copied());
    old.frames.sort_unstable();
    old.frames.dedup();
    for e in &new.evidence {
        if !old
            .evidence
            .iter()
            .any(|o| o.frame == e.frame && o.what == e.what)
        {
            old.evidence.push(e.clone());
        }
    }
    old.evidence.sort_by_key(|e| e.frame);
    old.last_ts.clone_from(&new.last_ts);
}

#[cfg(test)]
mod tests {
    use super::*;
    use kerbscope::capture::CaptureReader;
    use std::path::Path;

    fn lab(name: &str) -> PathBuf {
        Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("captures/lab")
            .join(name)
    }

    /// Feed a capture frame by frame with a pass every `every` frames; returns the streamed
    /// findings and the final report.
    fn live_run(path: &Path, every: u64, limits: Limits) -> (Vec<Finding>, Report) {
        let mut reader = CaptureReader::open(path).expect("lab capture opens");
        let mut engine = Engine::new(&path.display().to_string(), limits);
        let mut streamed = Vec::new();
        while let Ok(Some(frame)) = reader.next_frame() {
            engine.frame(&frame);
            if frame.number % every == 0 {
                streamed.extend(engine.pass().1);
            }
        }
        streamed.extend(engine.finish().1);
        (streamed, engine.into_report(Vec::new(), &[]))
    }

    fn offline(path: &Path) -> Report {
        let run = kerbscope::pipeline::dissect_file(path, 0).expect("lab capture decodes");
        analyze(&[run])
    }

    fn json(fs: &[Finding]) -> String {
        serde_json::to_string(fs).unwrap_or_default()
    }

    /// Every lab scenario, analysed incrementally with a pass every 3 frames (so findings are
    /// proven on partial traffic), ends with exactly the findings `analyze` gives, and streams
    /// each identity once.
    #[test]
    fn incremental_equals_offline_on_every_lab_capture() {
        let mut checked = 0;
        let mut entries: Vec<_> = std::fs::read_dir(lab(""))
            .expect("lab dir")
            .flatten()
            .map(|e| e.path())
            .collect();
        entries.sort();
        for path in entries {
            let name = path.to_string_lossy().into_owned();
            if !(name.ends_with(".pcap") || name.ends_with(".pcapng") || name.ends_with(".pcap.gz"))
            {
                continue;
            }
            let want = offline(&path);
            let (streamed, got) = live_run(&path, 3, Limits::default());
            assert_eq!(json(&got.findings), json(&want.findings), "{name}");
            assert_eq!(got.summary, want.summary, "{name}");
            let ids: Vec<Identity> = streamed.iter().map(identity).collect();
            let unique: HashSet<&Identity> = ids.iter().collect();
            assert_eq!(
                unique.len(),
                ids.len(),
                "{name}: an identity streamed twice"
            );
            let final_ids: HashSet<Identity> = got.findings.iter().map(identity).collect();
            assert!(
                final_ids.iter().all(|i| unique.contains(i)),
                "{name}: a final finding was never streamed"
            );
            checked += 1;
        }
        assert!(checked >= 20, "only {checked} lab captures found");
    }

    /// MIT asks the KDC four times for HTTP/web2 in this scenario (README of captures/lab):
    /// the rules fold the retries, so with a pass after every frame spn_unknown streams once.
    #[test]
    fn folded_retries_stream_once() {
        let (streamed, got) = live_run(&lab("wrong_spn_cname_unknown.pcap"), 1, Limits::default());
        let n = streamed
            .iter()
            .filter(|f| f.kind == Kind::SpnUnknown)
            .count();
        assert_eq!(n, 1);
        let f = got
            .findings
            .iter()
            .find(|f| f.kind == Kind::SpnUnknown)
            .expect("spn_unknown");
        assert!(
            f.frames.len() >= 4,
            "final version cites every retry: {:?}",
            f.frames
        );
    }

    /// A window of 2 events cannot correlate DNS with the TGS exchange, but a finding proven
    /// before its events were evicted stays in the final report, and the window never grows.
    #[test]
    fn window_is_bounded_and_keeps_reported_findings() {
        let limits = Limits {
            window_secs: 300,
            max_events: 2,
            max_findings: 100,
        };
        let path = lab("stale_keytab_kvno.pcap");
        let mut reader = CaptureReader::open(&path).expect("opens");
        let mut engine = Engine::new("x", limits);
        let mut streamed = Vec::new();
        while let Ok(Some(frame)) = reader.next_frame() {
            engine.frame(&frame);
            assert!(engine.window_len() <= 2);
            streamed.extend(engine.pass().1);
        }
        streamed.extend(engine.finish().1);
        assert!(engine.evicted_events > 0);
        let report = engine.into_report(Vec::new(), &[]);
        for s in &streamed {
            assert!(
                report.findings.iter().any(|f| identity(f) == identity(s)),
                "{:?} lost",
                s.kind
            );
        }
        assert!(
            streamed.iter().any(|f| f.kind == Kind::KrbApErrModified),
            "44 is visible in one exchange"
        );
    }
}
