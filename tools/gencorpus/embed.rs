//! Transplants the real lab captures (captures/lab, see its README) into the corpus: every
//! Ethernet/IPv4 frame of a scenario is copied with its payload byte-exact (tickets,
//! authenticators and SPNEGO tokens stay real), but each embedding gets its own addresses
//! (198.51.100.N → 10.R.S.N, also inside DNS answers so names still resolve to the hosts that
//! are contacted), its own client ports and the corpus clock. TCP segments longer than
//! `SPLIT_ABOVE` bytes are cut in two so large tokens span segments as on real networks. The
//! lab's ground truth is rewritten with the new frame numbers and addresses.

use std::collections::{HashMap, VecDeque};
use std::path::Path;

use kerbscope::capture::{CaptureReader, LinkType};
use serde_json::Value;

/// TCP payloads longer than this are sent as two segments.
const SPLIT_ABOVE: usize = 600;
const LAB_NET: [u8; 3] = [198, 51, 100];

pub struct Scenario {
    pub name: String,
    /// (µs since the scenario's first frame, frame number in the lab capture, bytes).
    frames: Vec<(u64, u64, Vec<u8>)>,
    pub first_ts_us: u64,
    expected: Value,
}

/// Loads every Ethernet lab capture that is a main scenario or its VLAN variant.
pub fn load(dir: &Path) -> Result<Vec<Scenario>, String> {
    let mut names: Vec<_> = std::fs::read_dir(dir)
        .map_err(|e| format!("{}: {e}", dir.display()))?
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.extension().is_some_and(|x| x == "pcap"))
        .collect();
    names.sort();
    let mut out = Vec::new();
    for path in names {
        let stem = path
            .file_stem()
            .and_then(|s| s.to_str())
            .unwrap_or_default()
            .to_string();
        if stem.contains("__") && !stem.ends_with("__vlan") {
            continue;
        }
        let exp_path = dir.join(format!("{stem}.expected.json"));
        let Ok(text) = std::fs::read_to_string(&exp_path) else {
            continue;
        };
        let expected: Value =
            serde_json::from_str(&text).map_err(|e| format!("{}: {e}", exp_path.display()))?;
        let mut reader =
            CaptureReader::open(&path).map_err(|e| format!("{}: {e}", path.display()))?;
        let mut frames = Vec::new();
        let mut first = None;
        while let Ok(Some(f)) = reader.next_frame() {
            if f.link_type != LinkType::ETHERNET {
                break;
            }
            let us = f.ts.secs as u64 * 1_000_000 + u64::from(f.ts.nanos / 1000);
            let base = *first.get_or_insert(us);
            frames.push((us.saturating_sub(base), f.number, f.data.to_vec()));
        }
        if frames.is_empty() {
            continue;
        }
        out.push(Scenario {
            name: stem,
            frames,
            first_ts_us: first.unwrap_or(0),
            expected,
        });
    }
    Ok(out)
}

/// One placement of a scenario in the corpus.
pub struct Embedding<'a> {
    pub scenario: &'a Scenario,
    pub index: usize,
    pub round: usize,
    next: usize,
    /// Frames ready to be written (a split segment gives two), with their lab frame number.
    ready: VecDeque<(u64, Vec<u8>)>,
    /// Lab frame number → corpus frame number (the last piece of a split segment).
    pub frame_map: HashMap<u64, u64>,
    pub first_frame: u64,
    pub last_frame: u64,
}

impl<'a> Embedding<'a> {
    pub fn new(scenario: &'a Scenario, index: usize, round: usize) -> Self {
        Embedding {
            scenario,
            index,
            round,
            next: 0,
            ready: VecDeque::new(),
            frame_map: HashMap::new(),
            first_frame: 0,
            last_frame: 0,
        }
    }

    pub fn done(&self) -> bool {
        self.ready.is_empty() && self.next >= self.scenario.frames.len()
    }

    fn map_ip(&self, ip: [u8; 4]) -> [u8; 4] {
        if ip[..3] == LAB_NET {
            [
                10,
                (self.round % 250) as u8 + 1,
                self.index as u8 + 1,
                ip[3],
            ]
        } else {
            ip
        }
    }

    fn map_port(&self, p: u16) -> u16 {
        if p >= 32768 {
            32768
                + ((u32::from(p) - 32768 + self.round as u32 * 1237 + self.index as u32 * 331)
                    % 32768) as u16
        } else {
            p
        }
    }

    pub fn map_text(&self, s: &str) -> String {
        let mut out = s.to_string();
        for n in (0..=255u8).rev() {
            let from = format!("198.51.100.{n}");
            if out.contains(&from) {
                let m = self.map_ip([198, 51, 100, n]);
                out = out.replace(&from, &format!("{}.{}.{}.{}", m[0], m[1], m[2], m[3]));
            }
        }
        out
    }

    /// The next frame to write: (lab frame number, bytes), rewritten.
    pub fn next_frame(&mut self) -> Option<(u64, Vec<u8>)> {
        while self.ready.is_empty() {
            let (_, number, data) = self.scenario.frames.get(self.next)?;
            self.next += 1;
            for piece in self.rewrite(data) {
                self.ready.push_back((*number, piece));
            }
        }
        self.ready.pop_front()
    }

    fn rewrite(&self, data: &[u8]) -> Vec<Vec<u8>> {
        let mut eth = 14;
        if data.get(12..14) == Some(&[0x81, 0x00]) {
            eth = 18;
        }
        if data.get(eth - 2..eth) != Some(&[0x08, 0x00]) || data.len() < eth + 20 {
            return Vec::new();
        }
        let mut f = data.to_vec();
        let ihl = usize::from(f[eth] & 0x0f) * 4;
        let total = usize::from(u16::from_be_bytes([f[eth + 2], f[eth + 3]]));
        f.truncate(eth + total);
        for at in [eth + 12, eth + 16] {
            let m = self.map_ip([f[at], f[at + 1], f[at + 2], f[at + 3]]);
            f[at..at + 4].copy_from_slice(&m);
        }
        let proto = f[eth + 9];
        let frag = u16::from_be_bytes([f[eth + 6], f[eth + 7]]) & 0x3fff != 0;
        let l4 = eth + ihl;
        if frag || f.len() < l4 + 8 || !(proto == 6 || proto == 17) {
            ip_checksum(&mut f, eth);
            return vec![f];
        }
        for at in [l4, l4 + 2] {
            let p = self.map_port(u16::from_be_bytes([f[at], f[at + 1]]));
            f[at..at + 2].copy_from_slice(&p.to_be_bytes());
        }
        if proto == 17 {
            let dns = f[l4..l4 + 4].chunks(2).any(|p| p == [0, 53]);
            if dns {
                for i in l4 + 8..f.len().saturating_sub(3) {
                    if f[i..i + 3] == LAB_NET {
                        let m = self.map_ip([f[i], f[i + 1], f[i + 2], f[i + 3]]);
                        f[i..i + 4].copy_from_slice(&m);
                    }
                }
            }
            ip_checksum(&mut f, eth);
            crate::packet::fix_l4_checksum(&mut f, eth, l4, 17);
            return vec![f];
        }
        let doff = usize::from(f[l4 + 12] >> 4) * 4;
        let payload_at = l4 + doff;
        let payload_len = f.len().saturating_sub(payload_at);
        if payload_len <= SPLIT_ABOVE {
            ip_checksum(&mut f, eth);
            crate::packet::fix_l4_checksum(&mut f, eth, l4, 6);
            return vec![f];
        }
        // Two segments: the first without PSH/FIN, the second continues the sequence.
        let cut = payload_len / 2;
        let seq = u32::from_be_bytes([f[l4 + 4], f[l4 + 5], f[l4 + 6], f[l4 + 7]]);
        let flags = f[l4 + 13];
        let mut a = f[..payload_at + cut].to_vec();
        let mut b = f[..payload_at].to_vec();
        b.extend_from_slice(&f[payload_at + cut..]);
        a[l4 + 13] = flags & !(0x01 | 0x08);
        b[l4 + 4..l4 + 8].copy_from_slice(&seq.wrapping_add(cut as u32).to_be_bytes());
        let id = u16::from_be_bytes([f[eth + 4], f[eth + 5]]);
        b[eth + 4..eth + 6].copy_from_slice(&id.wrapping_add(0x4000).to_be_bytes());
        for g in [&mut a, &mut b] {
            let len = (g.len() - eth) as u16;
            g[eth + 2..eth + 4].copy_from_slice(&len.to_be_bytes());
            ip_checksum(g, eth);
            crate::packet::fix_l4_checksum(g, eth, l4, 6);
        }
        vec![a, b]
    }

    /// The lab's ground truth with corpus frame numbers and addresses.
    pub fn truth(&self) -> Value {
        let e = &self.scenario.expected;
        let mut t = serde_json::json!({
            "scenario": self.scenario.name,
            "lab_capture": e.get("capture"),
            "round": self.round,
            "first_frame": self.first_frame,
            "last_frame": self.last_frame,
        });
        for key in ["client", "kdc", "server", "first_hop", "second_hop"] {
            if let Some(v) = e.get(key) {
                t[key] = self.remap(v);
            }
        }
        for key in ["findings", "optional_findings"] {
            t[key] = self.remap(e.get(key).unwrap_or(&Value::Array(Vec::new())));
        }
        t["must_not_find"] = e.get("must_not_find").cloned().unwrap_or(Value::Null);
        t
    }

    fn remap(&self, v: &Value) -> Value {
        match v {
            Value::String(s) => Value::String(self.map_text(s)),
            Value::Array(items) => Value::Array(items.iter().map(|x| self.remap(x)).collect()),
            Value::Object(map) => Value::Object(
                map.iter()
                    .map(|(k, x)| {
                        let is_frames = k == "frames" || k == "frames_by_role";
                        (
                            k.clone(),
                            if is_frames {
                                self.remap_frames(x)
                            } else {
                                self.remap(x)
                            },
                        )
                    })
                    .collect(),
            ),
            other => other.clone(),
        }
    }

    fn remap_frames(&self, v: &Value) -> Value {
        match v {
            Value::Number(n) => n
                .as_u64()
                .and_then(|old| self.frame_map.get(&old))
                .map_or(Value::Null, |new| Value::from(*new)),
            Value::Array(items) => {
                let mut nums: Vec<Value> = items
                    .iter()
                    .map(|x| self.remap_frames(x))
                    .filter(|x| !x.is_null())
                    .collect();
                nums.sort_by_key(|x| x.as_u64());
                Value::Array(nums)
            }
            Value::Object(map) => Value::Object(
                map.iter()
                    .map(|(k, x)| (k.clone(), self.remap_frames(x)))
                    .collect(),
            ),
            other => other.clone(),
        }
    }
}

fn ip_checksum(f: &mut [u8], eth: usize) {
    let ihl = usize::from(f[eth] & 0x0f) * 4;
    f[eth + 10] = 0;
    f[eth + 11] = 0;
    let c = crate::packet::checksum(0, &f[eth..eth + ihl]);
    f[eth + 10..eth + 12].copy_from_slice(&c.to_be_bytes());
}
