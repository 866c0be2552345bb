//! The corpus writer: background flows interleaved with the embedded lab scenarios on one
//! clock, written as a pcap; returns the truth (every embedded finding, corpus frame numbers).

use std::io::Write;
use std::path::Path;

use crate::background::{self, ACTIVE_FLOWS, Filler, TcpFlow};
use crate::embed::{self, Embedding};
use crate::packet::{self, Rng};

/// One round of every scenario per this many bytes of corpus (at least one round).
const ROUND_BYTES: u64 = 200 << 20;
/// SPAN link speed the clock follows (bits per second): a busy gigabit uplink.
const LINK_BPS: u64 = 1_000_000_000;

/// Writes about `size` bytes of capture to `w` (deterministic for a seed and lab directory).
pub fn generate<W: Write>(
    w: &mut W,
    size: u64,
    seed: u64,
    lab: &Path,
) -> Result<serde_json::Value, String> {
    let scenarios = embed::load(lab)?;
    if scenarios.is_empty() {
        return Err(format!("no lab scenarios in {}", lab.display()));
    }
    let mut rng = Rng::new(seed);
    let fill = Filler::new(&mut rng);
    let rounds = (size / ROUND_BYTES).max(1) as usize;
    // Round-major schedule, scenario order shuffled per round.
    let mut schedule: Vec<(usize, usize)> = Vec::new();
    for round in 0..rounds {
        let mut order: Vec<usize> = (0..scenarios.len()).collect();
        for i in (1..order.len()).rev() {
            order.swap(i, (rng.next() % (i as u64 + 1)) as usize);
        }
        schedule.extend(order.into_iter().map(|s| (s, round)));
    }
    let total = schedule.len() as u64;
    let start_us = scenarios
        .iter()
        .map(|s| s.first_ts_us)
        .min()
        .unwrap_or(0)
        .saturating_sub(1_000_000);

    let io = |e: std::io::Error| e.to_string();
    w.write_all(&packet::pcap_header()).map_err(io)?;
    let mut written: u64 = 24;
    let mut frames: u64 = 0;
    let mut clock_ns: u64 = 0;
    let mut buf = Vec::with_capacity(2048);
    let mut buf2 = Vec::with_capacity(2048);
    let mut flow_n = 0u64;
    let mut flows: Vec<TcpFlow> = (0..ACTIVE_FLOWS)
        .map(|_| {
            flow_n += 1;
            TcpFlow::new(&mut rng, flow_n)
        })
        .collect();
    let mut next_embedding = 0usize;
    let mut active: Vec<Embedding> = Vec::new();
    let mut finished: Vec<Embedding> = Vec::new();
    let mut counts = [0u64; 4];

    let emit = |w: &mut W,
                data: &[u8],
                written: &mut u64,
                frames: &mut u64,
                clock_ns: &mut u64|
     -> Result<u64, String> {
        // Serialisation time on the link, at least a microsecond between frames.
        *clock_ns += (data.len() as u64 * 8 * 1_000_000_000 / LINK_BPS).max(1000);
        let ts = start_us + *clock_ns / 1000;
        w.write_all(&packet::record_header(ts, data.len()))
            .map_err(io)?;
        w.write_all(data).map_err(io)?;
        *written += 16 + data.len() as u64;
        *frames += 1;
        Ok(*frames)
    };

    loop {
        while next_embedding < schedule.len()
            && written >= (2 * next_embedding as u64 + 1) * size / (2 * total)
        {
            let (s, round) = schedule[next_embedding];
            active.push(Embedding::new(&scenarios[s], s, round));
            next_embedding += 1;
        }
        let background_left = written < size;
        if !background_left && active.is_empty() && next_embedding >= schedule.len() {
            break;
        }
        if !active.is_empty() && (!background_left || rng.chance(10)) {
            let i = (rng.next() % active.len() as u64) as usize;
            let e = &mut active[i];
            if let Some((old, data)) = e.next_frame() {
                let n = emit(w, &data, &mut written, &mut frames, &mut clock_ns)?;
                e.frame_map.insert(old, n);
                if e.first_frame == 0 {
                    e.first_frame = n;
                }
                e.last_frame = n;
                counts[3] += 1;
            }
            if active[i].done() {
                finished.push(active.swap_remove(i));
            }
            continue;
        }
        if !background_left {
            continue;
        }
        match rng.next() % 100 {
            0..=1 => {
                background::dns_pair(&mut rng, &mut buf, &mut buf2);
                emit(w, &buf, &mut written, &mut frames, &mut clock_ns)?;
                emit(w, &buf2, &mut written, &mut frames, &mut clock_ns)?;
                counts[0] += 2;
            }
            2..=5 => {
                background::udp_noise(&mut rng, &fill, &mut buf);
                emit(w, &buf, &mut written, &mut frames, &mut clock_ns)?;
                counts[1] += 1;
            }
            _ => {
                let i = (rng.next() % flows.len() as u64) as usize;
                flows[i].step(&mut rng, &fill, &mut buf);
                if !buf.is_empty() {
                    emit(w, &buf, &mut written, &mut frames, &mut clock_ns)?;
                    counts[2] += 1;
                }
                if flows[i].done() {
                    flow_n += 1;
                    flows[i] = TcpFlow::new(&mut rng, flow_n);
                }
            }
        }
    }
    w.flush().map_err(io)?;

    finished.sort_by_key(|e| e.first_frame);
    let embeddings: Vec<serde_json::Value> = finished.iter().map(Embedding::truth).collect();
    let mut findings = Vec::new();
    for t in &embeddings {
        for f in t["findings"].as_array().into_iter().flatten() {
            let mut f = f.clone();
            f["scenario"] = t["scenario"].clone();
            f["round"] = t["round"].clone();
            findings.push(f);
        }
    }
    let truth = serde_json::json!({
        "generator": "tools/gencorpus",
        "seed": seed,
        "size_requested": size,
        "bytes": written,
        "frames": frames,
        "frames_by_source": {"dns": counts[0], "udp_noise": counts[1], "tcp_background": counts[2], "embedded": counts[3]},
        "tcp_connections_background": flow_n,
        "note": "findings: every finding embedded (lab ground truth, frames renumbered); embeddings of one scenario in different rounds use the same names and SPNs with different addresses",
        "findings": findings,
        "embeddings": embeddings,
    });
    Ok(truth)
}
