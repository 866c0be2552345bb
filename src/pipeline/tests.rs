//! The sharded pipeline against the single-threaded one on the lab captures (whose decoding is
//! checked against tshark elsewhere): the same events in the same order for every thread count.

use std::path::{Path, PathBuf};

use super::*;

fn lab(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("captures/lab")
        .join(name)
}

fn ndjson(run: &CaptureRun) -> Vec<String> {
    run.events
        .iter()
        .map(|e| {
            format!(
                "{} {:?} {}",
                e.frame,
                e.conn,
                serde_json::to_string(e).unwrap_or_default()
            )
        })
        .collect()
}

#[test]
fn every_thread_count_gives_the_same_events() {
    for name in [
        "delegation_ok.pcap",
        "healthy_tcp.pcap",
        "wrong_spn_cname_unknown__vlan.pcap",
        "stale_keytab_kvno__gz.pcap.gz",
    ] {
        let one = dissect_file(&lab(name), 0).unwrap();
        assert!(!one.events.is_empty(), "{name}");
        for threads in [2, 3, 8] {
            let opts = DissectOptions {
                threads,
                ..DissectOptions::default()
            };
            let many = dissect_file_with(&lab(name), 0, &opts).unwrap();
            assert_eq!(ndjson(&one), ndjson(&many), "{name} -j{threads}");
            assert_eq!(one.packets, many.packets);
            assert_eq!(one.bytes, many.bytes);
            assert_eq!(
                serde_json::to_string(&one.stats).unwrap_or_default(),
                serde_json::to_string(&many.stats).unwrap_or_default(),
                "{name} -j{threads}"
            );
        }
    }
}

#[test]
fn several_files_keep_their_order_and_index() {
    let paths = vec![
        lab("healthy.pcap"),
        lab("delegation_ok.pcap"),
        lab("healthy_tcp.pcap"),
    ];
    for threads in [1, 2, 5] {
        let opts = DissectOptions {
            threads,
            ..DissectOptions::default()
        };
        let runs = dissect_files(&paths, &opts);
        assert_eq!(runs.len(), 3);
        for (i, (run, path)) in runs.iter().zip(&paths).enumerate() {
            let run = run.as_ref().unwrap();
            assert_eq!(&run.path, path);
            assert!(run.events.iter().all(|e| e.capture == i));
            let alone = dissect_file(path, i).unwrap();
            assert_eq!(
                ndjson(run),
                ndjson(&alone),
                "{} -j{threads}",
                path.display()
            );
        }
    }
}

#[test]
fn directory_argument_lists_only_captures() {
    let paths = capture_paths(&[lab("")]).unwrap();
    assert!(paths.iter().any(|p| p.ends_with("healthy.pcap")));
    assert!(
        paths
            .iter()
            .any(|p| p.ends_with("stale_keytab_kvno__gz.pcap.gz"))
    );
    assert!(
        paths
            .iter()
            .any(|p| p.ends_with("healthy_tcp__pcapng.pcapng"))
    );
    assert!(
        !paths
            .iter()
            .any(|p| p.extension().is_some_and(|e| e == "json" || e == "tsv"))
    );
    let mut sorted = paths.clone();
    sorted.sort();
    assert_eq!(paths, sorted);
}

#[test]
fn analysis_mode_keeps_every_authentication_event() {
    // The lab's HTTP traffic is all authentication: nothing of it may be filtered out.
    let path = lab("delegation_ok.pcap");
    let all = dissect_file(&path, 0).unwrap();
    let opts = DissectOptions {
        threads: 2,
        keep_plain_http: false,
        progress: false,
        keys: None,
    };
    let analysis = dissect_file_with(&path, 0, &opts).unwrap();
    let auth = |run: &CaptureRun| {
        run.events
            .iter()
            .filter(|e| match &e.body {
                crate::event::EventBody::Http(h) => {
                    h.header.is_some() || matches!(h.status, Some(401 | 407))
                }
                // DNS: only responses that answer something reach the analysis.
                crate::event::EventBody::Dns(d) => {
                    d.message.response && !d.message.answers.is_empty()
                }
                _ => true,
            })
            .map(|e| e.frame)
            .collect::<Vec<_>>()
    };
    assert_eq!(auth(&all), auth(&analysis));
    assert!(analysis.events.len() <= all.events.len());
}
