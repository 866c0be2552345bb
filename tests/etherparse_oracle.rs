//! etherparse as an independent oracle for the network layer. kerbscope's own link/IP/TCP/UDP
//! decoder (`src/net/`) is used in the pipeline because it also covers what etherparse does not
//! (Linux SLL2, BSD loopback, GRE/ERSPAN, IP fragment and TCP reassembly, counted anomalies);
//! here, for every unfragmented Ethernet frame of every public capture that etherparse slices
//! down to TCP or UDP, both must agree on addresses, ports and payload length.

use std::net::IpAddr;
use std::path::Path;

use etherparse::{NetSlice, SlicedPacket, TransportSlice};
use kerbscope::capture::{CaptureReader, LinkType};
use kerbscope::net::{NetDecoder, NetLimits, Transport};

#[test]
fn net_layer_agrees_with_etherparse() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../shared/captures/public");
    let Ok(entries) = std::fs::read_dir(&dir) else {
        println!("skipped: {} not found", dir.display());
        return;
    };
    let mut paths: Vec<_> = entries
        .flatten()
        .map(|e| e.path())
        .filter(|p| {
            !p.to_string_lossy().ends_with(".txt")
                && !p.to_string_lossy().ends_with(".tsv")
                && !p.to_string_lossy().ends_with(".md")
        })
        .collect();
    paths.sort();
    let (mut compared, mut disagreements) = (0usize, Vec::new());
    for path in paths {
        let Ok(mut reader) = CaptureReader::open(&path) else {
            continue;
        };
        let mut net = NetDecoder::new(NetLimits::default());
        while let Ok(Some(frame)) = reader.next_frame() {
            let frame_no = frame.number;
            let oracle = if frame.link_type == LinkType::ETHERNET {
                SlicedPacket::from_ethernet(frame.data).ok()
            } else {
                None
            };
            let ours = net.decode(&frame).map(|p| {
                let len = match &p.transport {
                    Transport::Udp { payload } => Some(payload.len()),
                    Transport::Tcp(seg) => Some(seg.payload.len()),
                    Transport::Other { .. } => None,
                };
                (p.src, p.dst, p.sport, p.dport, len)
            });
            let Some(sp) = oracle else { continue };
            let (src, dst, fragmenting) = match &sp.net {
                Some(NetSlice::Ipv4(v4)) => (
                    IpAddr::V4(v4.header().source_addr()),
                    IpAddr::V4(v4.header().destination_addr()),
                    v4.is_payload_fragmented(),
                ),
                Some(NetSlice::Ipv6(v6)) => (
                    IpAddr::V6(v6.header().source_addr()),
                    IpAddr::V6(v6.header().destination_addr()),
                    v6.is_payload_fragmented(),
                ),
                _ => continue,
            };
            if fragmenting {
                continue;
            }
            let (sport, dport, len) = match &sp.transport {
                Some(TransportSlice::Udp(u)) => {
                    (u.source_port(), u.destination_port(), u.payload().len())
                }
                Some(TransportSlice::Tcp(t)) => {
                    (t.source_port(), t.destination_port(), t.payload().len())
                }
                _ => continue,
            };
            compared += 1;
            let want = Some((src, dst, sport, dport, Some(len)));
            if ours != want {
                disagreements.push(format!(
                    "{} frame {frame_no}: etherparse {want:?} kerbscope {ours:?}",
                    path.file_name().unwrap_or_default().to_string_lossy()
                ));
            }
        }
    }
    println!(
        "compared {compared} frames with etherparse, {} disagreements",
        disagreements.len()
    );
    for d in disagreements.iter().take(20) {
        println!("  {d}");
    }
    assert!(compared > 1000, "too few frames compared: {compared}");
    assert!(
        disagreements.is_empty(),
        "{} frames disagree with etherparse",
        disagreements.len()
    );
}
