//! Which worker decodes a frame: a symmetric hash of its outermost IP address pair (both
//! directions of a flow, and every fragment of a datagram, land on one worker), split evenly
//! or with a smaller share for the thread that also reads the file.

use crate::capture::Frame;
use crate::net::link::{self, LinkPayload};

/// Shard of a frame when all workers carry the same load.
#[inline]
pub(super) fn even_shard(frame: &Frame<'_>, workers: usize) -> usize {
    ((u128::from(flow_hash(frame)) * workers as u128) >> 64) as usize
}

/// How frames are split between the reading thread (shard 0) and the helpers. The reader also
/// reads and walks the file, so it takes a smaller share of the flows: with `READ_COST` the
/// cost of reading a frame relative to decoding it, its share `s` balances
/// `READ_COST + s = (1 - s) / helpers`. Which flows go where never changes the output.
pub(super) struct Split {
    workers: usize,
    /// Hashes below this go to shard 0.
    own_below: u64,
}

/// Reading, walking and copying a frame costs about this multiple of decoding it (measured
/// with `perf` on the generated corpus, background traffic being cheap to decode): the reader
/// keeps no flows of its own from 2 threads up.
pub(super) const READ_COST: f64 = 1.5;
/// The same for a memory-mapped file, where a frame is walked and queued by offset only.
pub(super) const READ_COST_MAPPED: f64 = 0.65;

impl Split {
    pub(super) fn new(workers: usize, read_cost: f64) -> Split {
        let helpers = workers.saturating_sub(1).max(1) as f64;
        let share = ((1.0 - read_cost * helpers) / (helpers + 1.0)).clamp(0.0, 1.0);
        Split {
            workers,
            own_below: (share * u64::MAX as f64) as u64,
        }
    }

    #[inline]
    pub(super) fn shard(&self, frame: &Frame<'_>) -> usize {
        let h = flow_hash(frame);
        if h < self.own_below || self.workers <= 1 {
            return 0;
        }
        let helpers = (self.workers - 1) as u128;
        let span = u128::from(u64::MAX - self.own_below) + 1;
        1 + ((u128::from(h - self.own_below) * helpers / span) as usize)
    }
}

/// A symmetric hash of the frame's outermost IP address pair, so both directions of a flow and
/// all fragments of a datagram land on one worker. Frames without IP hash to 0 (shard 0).
/// Only the addresses are read; the full decode happens on the worker.
#[inline]
pub(super) fn flow_hash(frame: &Frame<'_>) -> u64 {
    let mut vlan = None;
    let LinkPayload::Ip(ip) = link::decode_link(frame.link_type, frame.data, &mut vlan) else {
        return 0;
    };
    let (a, b) = match ip.first().map(|v| v >> 4) {
        Some(4) => (ip.get(12..16), ip.get(16..20)),
        Some(6) => (ip.get(8..24), ip.get(24..40)),
        _ => return 0,
    };
    let (Some(a), Some(b)) = (a, b) else {
        return 0;
    };
    let (x, y) = (fold(a), fold(b));
    mix(x.min(y) ^ mix(x.max(y)))
}

/// Folds an address into 64 bits (IPv6: both halves).
#[inline]
fn fold(addr: &[u8]) -> u64 {
    addr.chunks(8).fold(0u64, |acc, chunk| {
        let mut word = [0u8; 8];
        if let Some(head) = word.get_mut(..chunk.len()) {
            head.copy_from_slice(chunk);
        }
        acc.rotate_left(29) ^ u64::from_le_bytes(word)
    })
}

/// SplitMix64 finaliser: spreads every input bit over the output.
#[inline]
fn mix(mut z: u64) -> u64 {
    z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
    z ^ (z >> 31)
}
