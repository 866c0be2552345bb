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
    let Some(ip) = ip_payload(frame) else {
        return 0;
    };
    let pair =
        match ip.first().map(|v| v >> 4) {
            Some(4) => ip.get(12..16).zip(ip.get(16..20)).and_then(|(a, b)| {
                Some((fold_v4(a.try_into().ok()?), fold_v4(b.try_into().ok()?)))
            }),
            Some(6) => ip.get(8..24).zip(ip.get(24..40)).and_then(|(a, b)| {
                Some((fold_v6(a.try_into().ok()?), fold_v6(b.try_into().ok()?)))
            }),
            _ => None,
        };
    let Some((x, y)) = pair else {
        return 0;
    };
    mix(x.min(y) ^ mix(x.max(y)))
}

/// The outermost IP header and what follows.
#[inline]
fn ip_payload<'a>(frame: &Frame<'a>) -> Option<&'a [u8]> {
    let mut vlan = None;
    match link::decode_link(frame.link_type, frame.data, &mut vlan) {
        LinkPayload::Ip(ip) => Some(ip),
        _ => None,
    }
}

/// An IPv4 address as 64 bits. Fixed-size reads: a slice copy of a run-time length becomes a
/// `memcpy` call per address, measured at 2 % of the walk's instructions.
#[inline]
fn fold_v4(addr: [u8; 4]) -> u64 {
    u64::from(u32::from_le_bytes(addr))
}

/// An IPv6 address folded into 64 bits: its first half rotated, xor its second half.
#[inline]
fn fold_v6(addr: [u8; 16]) -> u64 {
    let v = u128::from_le_bytes(addr);
    let (first, second) = (v as u64, (v >> 64) as u64);
    first.rotate_left(29) ^ second
}

/// SplitMix64 finaliser: spreads every input bit over the output.
#[inline]
fn mix(mut z: u64) -> u64 {
    z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
    z ^ (z >> 31)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::capture::{LinkType, Timestamp};

    fn frame(link_type: LinkType, data: &[u8]) -> Frame<'_> {
        Frame {
            number: 1,
            ts: Timestamp::default(),
            link_type,
            data,
            orig_len: data.len() as u32,
        }
    }

    /// Ethernet II header (RFC 894) with `ethertype`, then `rest`.
    fn ethernet(ethertype: &[u8], rest: &[u8]) -> Vec<u8> {
        let mut f = vec![0x02, 0, 0, 0, 0, 1, 0x02, 0, 0, 0, 0, 2];
        f.extend_from_slice(ethertype);
        f.extend_from_slice(rest);
        f
    }

    /// An IPv4 header (RFC 791) from `src` to `dst`, protocol UDP, no options.
    fn ipv4(src: [u8; 4], dst: [u8; 4]) -> Vec<u8> {
        let mut h = vec![0x45, 0, 0, 20, 0, 0, 0, 0, 64, 17, 0, 0];
        h.extend_from_slice(&src);
        h.extend_from_slice(&dst);
        h
    }

    /// An IPv6 header (RFC 8200) from `src` to `dst`, next header UDP.
    fn ipv6(src: [u8; 16], dst: [u8; 16]) -> Vec<u8> {
        let mut h = vec![0x60, 0, 0, 0, 0, 0, 17, 64];
        h.extend_from_slice(&src);
        h.extend_from_slice(&dst);
        h
    }

    #[test]
    fn both_directions_hash_alike_and_tags_do_not_matter() {
        let a = [192, 0, 2, 1];
        let b = [198, 51, 100, 7];
        let there = ethernet(&[0x08, 0x00], &ipv4(a, b));
        let back = ethernet(&[0x08, 0x00], &ipv4(b, a));
        let mut tagged_payload = vec![0x00, 0x2a, 0x08, 0x00];
        tagged_payload.extend_from_slice(&ipv4(b, a));
        let tagged = ethernet(&[0x81, 0x00], &tagged_payload);
        let h = flow_hash(&frame(LinkType::ETHERNET, &there));
        assert_ne!(h, 0);
        assert_eq!(h, flow_hash(&frame(LinkType::ETHERNET, &back)));
        assert_eq!(h, flow_hash(&frame(LinkType::ETHERNET, &tagged)));
        assert_eq!(h, flow_hash(&frame(LinkType::RAW, &ipv4(a, b))));
        let other = ethernet(&[0x08, 0x00], &ipv4(a, [198, 51, 100, 8]));
        assert_ne!(h, flow_hash(&frame(LinkType::ETHERNET, &other)));

        let (x, y) = ([0x20; 16], [0x30; 16]);
        let v6 = flow_hash(&frame(
            LinkType::ETHERNET,
            &ethernet(&[0x86, 0xdd], &ipv6(x, y)),
        ));
        assert_ne!(v6, 0);
        assert_eq!(
            v6,
            flow_hash(&frame(
                LinkType::ETHERNET,
                &ethernet(&[0x86, 0xdd], &ipv6(y, x))
            ))
        );
    }
}
