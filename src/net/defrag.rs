//! IP fragment reassembly: IPv4 (RFC 791 §3.2; datagrams keyed by source, destination,
//! identification and protocol) and IPv6 (RFC 8200 §4.5; keyed by source, destination and
//! identification).
//!
//! Policy, chosen to match what Wireshark shows for the public captures:
//! * Fragments may arrive in any order; a datagram completes when the last fragment (MF = 0) has
//!   been seen and every byte before it is covered. It is delivered at the frame of the fragment
//!   that completes it.
//! * Overlaps: the **first** copy of a byte wins; later fragments only fill holes. A fragment
//!   wholly inside what is already held is a duplicate. Both are counted.
//! * Bytes beyond the end announced by the last fragment are cut off (counted as an overlap); a
//!   second, different last fragment is ignored.
//! * Memory: at most `max_pending_datagrams` datagrams and `max_pending_bytes` bytes wait at
//!   once; a fragment that would pass a cap is dropped (`fragments_dropped_limit`), and a datagram
//!   that outgrows the byte cap is dropped whole.
//! * Time: a datagram not completed `timeout_secs` of capture time after its first fragment is
//!   dropped (`fragments_timed_out` counts its fragments). Capture time, not wall time, so a
//!   capture replays the same way every run.

use super::NetStats;
use super::fxhash::FxHashMap;
use super::ip::{FragmentInfo, IpProto};
use crate::capture::Timestamp;
use std::net::IpAddr;

/// The largest fragmentable part an IP datagram can have (16-bit lengths and offsets).
pub const MAX_DATAGRAM: u32 = 65_535;

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct DefragLimits {
    pub max_pending_datagrams: usize,
    pub max_pending_bytes: usize,
    /// Seconds of capture time a datagram may wait for its missing fragments (Linux uses 30).
    pub timeout_secs: i64,
}

impl Default for DefragLimits {
    fn default() -> Self {
        DefragLimits {
            max_pending_datagrams: 4096,
            max_pending_bytes: 64 << 20,
            timeout_secs: 30,
        }
    }
}

#[derive(Clone, Copy, PartialEq, Eq, Hash, Debug)]
struct FragKey {
    src: IpAddr,
    dst: IpAddr,
    id: u32,
    /// The IPv4 protocol; 0 for IPv6, whose key has no protocol.
    protocol: u8,
}

#[derive(Debug)]
struct Pending {
    /// The fragmentable part, zero where nothing has arrived yet.
    buf: Vec<u8>,
    /// Byte ranges received so far: sorted, disjoint, not touching.
    have: Vec<(u32, u32)>,
    /// End of the datagram, known once the last fragment arrived.
    end: Option<u32>,
    protocol: IpProto,
    first_secs: i64,
    fragments: u64,
}

/// A completed datagram: its upper-layer protocol and the fragmentable part.
#[derive(Debug, PartialEq, Eq)]
pub struct Reassembled {
    pub protocol: IpProto,
    pub data: Vec<u8>,
}

#[derive(Debug, Default)]
pub struct Defragmenter {
    limits: DefragLimits,
    pending: FxHashMap<FragKey, Pending>,
    pending_bytes: usize,
    last_sweep_secs: i64,
}

impl Defragmenter {
    pub fn new(limits: DefragLimits) -> Self {
        Defragmenter {
            limits,
            ..Default::default()
        }
    }

    /// Datagrams still waiting for fragments.
    pub fn pending(&self) -> usize {
        self.pending.len()
    }

    /// Adds one fragment (`data` is its share of the fragmentable part). Returns the datagram when
    /// this fragment completes it.
    #[allow(clippy::too_many_arguments)]
    pub fn insert(
        &mut self,
        src: IpAddr,
        dst: IpAddr,
        protocol: IpProto,
        frag: FragmentInfo,
        data: &[u8],
        ts: Timestamp,
        stats: &mut NetStats,
    ) -> Option<Reassembled> {
        stats.fragments += 1;
        self.expire(ts, stats);
        let start = frag.offset;
        let Some(end) = u32::try_from(data.len())
            .ok()
            .and_then(|n| start.checked_add(n))
        else {
            stats.fragments_malformed += 1;
            return None;
        };
        if end > MAX_DATAGRAM || (data.is_empty() && frag.more) {
            stats.fragments_malformed += 1;
            return None;
        }
        let key = FragKey {
            src,
            dst,
            id: frag.id,
            protocol: if src.is_ipv4() { protocol.0 } else { 0 },
        };
        if !self.pending.contains_key(&key) {
            if self.pending.len() >= self.limits.max_pending_datagrams
                || self.pending_bytes.saturating_add(data.len()) > self.limits.max_pending_bytes
            {
                stats.fragments_dropped_limit += 1;
                return None;
            }
            let first_secs = ts.secs;
            let pending = Pending {
                buf: Vec::new(),
                have: Vec::new(),
                end: None,
                protocol,
                first_secs,
                fragments: 0,
            };
            self.pending.insert(key, pending);
        }
        let pending = self.pending.get_mut(&key)?;
        pending.fragments += 1;
        if start == 0 {
            // IPv6: the fragment at offset 0 names the first header of the fragmentable part.
            pending.protocol = protocol;
        }
        let end = pending.record_end(start, end, frag.more, stats);
        let before = pending.buf.len();
        pending.fill(start, end, data, stats);
        let grown = pending.buf.len().saturating_sub(before);
        self.pending_bytes = self.pending_bytes.saturating_add(grown);
        if self.pending_bytes > self.limits.max_pending_bytes {
            stats.fragments_dropped_limit += self.remove(&key).map_or(0, |p| p.fragments);
            return None;
        }
        if !self.pending.get(&key)?.is_complete() {
            return None;
        }
        let mut done = self.remove(&key)?;
        let total = done.end.and_then(|e| usize::try_from(e).ok()).unwrap_or(0);
        done.buf.truncate(total);
        stats.datagrams_reassembled += 1;
        Some(Reassembled {
            protocol: done.protocol,
            data: done.buf,
        })
    }

    fn remove(&mut self, key: &FragKey) -> Option<Pending> {
        let pending = self.pending.remove(key)?;
        self.pending_bytes = self.pending_bytes.saturating_sub(pending.buf.len());
        Some(pending)
    }

    /// Drops datagrams older than the timeout; runs at most once per second of capture time.
    fn expire(&mut self, ts: Timestamp, stats: &mut NetStats) {
        if ts.secs == self.last_sweep_secs || self.pending.is_empty() {
            return;
        }
        self.last_sweep_secs = ts.secs;
        let deadline = ts.secs.saturating_sub(self.limits.timeout_secs);
        let mut freed = 0usize;
        self.pending.retain(|_, p| {
            let keep = p.first_secs >= deadline;
            if !keep {
                stats.fragments_timed_out += p.fragments;
                freed += p.buf.len();
            }
            keep
        });
        self.pending_bytes = self.pending_bytes.saturating_sub(freed);
    }
}

impl Pending {
    /// Notes the datagram end from a last fragment and returns this fragment's end clipped to it.
    fn record_end(&mut self, start: u32, end: u32, more: bool, stats: &mut NetStats) -> u32 {
        if !more {
            match self.end {
                None => {
                    self.end = Some(end);
                    if self.have.last().is_some_and(|&(_, e)| e > end) {
                        // Bytes already held lie past the end: cut them off.
                        stats.fragments_overlap += 1;
                        self.have.retain(|&(s, _)| s < end);
                        if let Some(last) = self.have.last_mut() {
                            last.1 = last.1.min(end);
                        }
                        self.buf.truncate(end as usize);
                    }
                }
                Some(known) if known != end => stats.fragments_overlap += 1,
                Some(_) => {}
            }
        }
        match self.end {
            Some(known) if end > known => {
                stats.fragments_overlap += 1;
                known.max(start)
            }
            _ => end,
        }
    }

    /// Copies the parts of `data` (which starts at `start`) that are not held yet.
    fn fill(&mut self, start: u32, end: u32, data: &[u8], stats: &mut NetStats) {
        if end <= start {
            return;
        }
        let mut new_ranges: Vec<(u32, u32)> = Vec::with_capacity(2);
        let mut cursor = start;
        for &(s, e) in &self.have {
            if e <= cursor {
                continue;
            }
            if s >= end {
                break;
            }
            if s > cursor {
                new_ranges.push((cursor, s));
            }
            cursor = cursor.max(e);
            if cursor >= end {
                break;
            }
        }
        if cursor < end {
            new_ranges.push((cursor, end));
        }
        let fresh: u32 = new_ranges.iter().map(|&(s, e)| e - s).sum();
        if fresh == 0 {
            stats.fragments_duplicate += 1;
            return;
        }
        if fresh < end - start {
            stats.fragments_overlap += 1;
        }
        if self.buf.len() < end as usize {
            self.buf.resize(end as usize, 0);
        }
        for (s, e) in new_ranges {
            let from = (s - start) as usize..(e - start) as usize;
            if let (Some(src), Some(dst)) =
                (data.get(from), self.buf.get_mut(s as usize..e as usize))
            {
                dst.copy_from_slice(src);
            }
            self.add_range(s, e);
        }
    }

    fn add_range(&mut self, s: u32, e: u32) {
        let at = self.have.partition_point(|&(hs, _)| hs < s);
        self.have.insert(at, (s, e));
        // Merge neighbours that touch or overlap so `have` stays short.
        let mut merged: Vec<(u32, u32)> = Vec::with_capacity(self.have.len());
        for &(rs, re) in &self.have {
            match merged.last_mut() {
                Some(last) if rs <= last.1 => last.1 = last.1.max(re),
                _ => merged.push((rs, re)),
            }
        }
        self.have = merged;
    }

    fn is_complete(&self) -> bool {
        matches!((self.end, self.have.as_slice()), (Some(end), [(0, e)]) if *e >= end)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::net::Ipv4Addr;

    const SRC: IpAddr = IpAddr::V4(Ipv4Addr::new(192, 0, 2, 1));
    const DST: IpAddr = IpAddr::V4(Ipv4Addr::new(192, 0, 2, 2));

    fn at(secs: i64) -> Timestamp {
        Timestamp {
            secs,
            nanos: 0,
            digits: 6,
        }
    }

    fn frag(
        d: &mut Defragmenter,
        stats: &mut NetStats,
        id: u32,
        offset: u32,
        more: bool,
        data: &[u8],
        secs: i64,
    ) -> Option<Vec<u8>> {
        let info = FragmentInfo { id, offset, more };
        d.insert(SRC, DST, IpProto::UDP, info, data, at(secs), stats)
            .map(|r| r.data)
    }

    #[test]
    fn out_of_order_duplicates_and_overlaps() {
        let mut d = Defragmenter::new(DefragLimits::default());
        let mut s = NetStats::default();
        assert_eq!(frag(&mut d, &mut s, 1, 16, false, b"cccccccc", 0), None);
        assert_eq!(frag(&mut d, &mut s, 1, 0, true, b"aaaaaaaa", 0), None);
        assert_eq!(frag(&mut d, &mut s, 1, 0, true, b"aaaaaaaa", 0), None); // duplicate
        // Overlaps [8, 24): only [8, 16) is new; the first copy of [16, 24) wins.
        let done = frag(&mut d, &mut s, 1, 8, true, b"bbbbbbbbXXXXXXXX", 0);
        assert_eq!(done.as_deref(), Some(&b"aaaaaaaabbbbbbbbcccccccc"[..]));
        assert_eq!(
            (s.fragments, s.fragments_duplicate, s.fragments_overlap),
            (4, 1, 1)
        );
        assert_eq!((s.datagrams_reassembled, d.pending()), (1, 0));
    }

    #[test]
    fn separate_ids_do_not_mix() {
        let mut d = Defragmenter::new(DefragLimits::default());
        let mut s = NetStats::default();
        assert_eq!(frag(&mut d, &mut s, 1, 0, true, b"11111111", 0), None);
        assert_eq!(frag(&mut d, &mut s, 2, 8, false, b"2", 0), None);
        assert_eq!(d.pending(), 2);
        assert_eq!(
            frag(&mut d, &mut s, 1, 8, false, b"1", 0).map(|v| v.len()),
            Some(9)
        );
    }

    #[test]
    fn caps_timeouts_and_malformed() {
        let limits = DefragLimits {
            max_pending_datagrams: 1,
            max_pending_bytes: 32,
            timeout_secs: 30,
        };
        let mut d = Defragmenter::new(limits);
        let mut s = NetStats::default();
        assert_eq!(frag(&mut d, &mut s, 1, 0, true, b"aaaaaaaa", 100), None);
        assert_eq!(frag(&mut d, &mut s, 2, 0, true, b"bbbbbbbb", 100), None); // second datagram
        assert_eq!(s.fragments_dropped_limit, 1);
        // Datagram 1 outgrows 32 bytes: dropped whole (its 2 fragments).
        assert_eq!(frag(&mut d, &mut s, 1, 64, true, b"cccccccc", 101), None);
        assert_eq!((s.fragments_dropped_limit, d.pending()), (3, 0));
        // Timeout: the first fragment at t=200, the rest 31 s later: the old one is gone.
        assert_eq!(frag(&mut d, &mut s, 3, 0, true, b"dddddddd", 200), None);
        assert_eq!(frag(&mut d, &mut s, 3, 8, false, b"e", 231), None);
        assert_eq!(s.fragments_timed_out, 1);
        assert_eq!(d.pending(), 1);
        // Past 65535 bytes, and an empty non-final fragment.
        assert_eq!(
            frag(&mut d, &mut s, 4, 65_528, true, b"ffffffff", 231),
            None
        );
        assert_eq!(frag(&mut d, &mut s, 5, 0, true, b"", 231), None);
        assert_eq!(s.fragments_malformed, 2);
    }

    #[test]
    fn bytes_past_the_announced_end_are_cut() {
        // The shape of zeek__ipv4__fragmented-1.pcap: [0, 18) MF, [48, 164) last, then [0, 304).
        let mut d = Defragmenter::new(DefragLimits::default());
        let mut s = NetStats::default();
        assert_eq!(frag(&mut d, &mut s, 0xf2, 0, true, &[1; 18], 0), None);
        assert_eq!(frag(&mut d, &mut s, 0xf2, 48, false, &[2; 116], 0), None);
        let done = frag(&mut d, &mut s, 0xf2, 0, true, &[3; 304], 0);
        assert_eq!(done.as_ref().map(Vec::len), Some(164));
        let bytes = done.unwrap_or_default();
        assert_eq!(
            (bytes[0], bytes[17], bytes[18], bytes[47], bytes[48]),
            (1, 1, 3, 3, 2)
        );
    }
}
