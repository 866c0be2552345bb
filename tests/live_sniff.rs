//! `kerbscope sniff` on a real interface: two network namespaces joined by a veth pair, the
//! committed lab captures (captures/lab, Ethernet ones) replayed into one end with `tcpreplay`,
//! kerbscope capturing on the other end. Needs root, `ip` and `tcpreplay` (CI installs them;
//! see .ci/run). The namespaces have no addresses and IPv6 is off, so the only frames on the
//! link are the replayed ones.
//!
//! What is checked, per scenario, against truths kerbscope does not produce live:
//! * the capture is complete: packets captured = the IP frames of the original file (counted
//!   here from the EtherType bytes), the kernel dropped none;
//! * the `-w` file holds those frames byte for byte, in order;
//! * the final report equals `kerbscope analyze` of the `-w` file (same traffic, same frame
//!   numbers), and its findings (kind, client, SPN, error code, number of frames) equal
//!   `analyze` of the original lab capture, whose findings the lab test holds against the
//!   scenario's ground truth;
//! * every finding was streamed (NDJSON) before the end, each identity once;
//! * `--evidence` holds every cited frame, byte-identical to the captured one.
//!
//! Plus: one run replaying every scenario 20 times at full speed (no drops, equal to analyze of
//! what was captured), and the one-line errors for a missing interface and missing privileges.
#![cfg(feature = "live")]

use std::collections::BTreeSet;
use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::sync::mpsc;
use std::time::Duration;

use kerbscope::capture::CaptureReader;
use serde_json::Value;

const BIN: &str = env!("CARGO_BIN_EXE_kerbscope");

fn lab_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("captures/lab")
}

fn sh(args: &[&str]) -> Output {
    Command::new(args[0])
        .args(&args[1..])
        .output()
        .unwrap_or_else(|e| panic!("{args:?}: {e}"))
}

fn ok(args: &[&str]) {
    let o = sh(args);
    assert!(
        o.status.success(),
        "{args:?}: {}",
        String::from_utf8_lossy(&o.stderr)
    );
}

/// Two namespaces and a veth pair between them: `va` in `a` (replay side), `vb` in `b`.
struct Link {
    a: String,
    b: String,
}

impl Link {
    /// None when this machine cannot run the test (not root, no `ip` / `tcpreplay`); in CI
    /// (`CI` set) that is a failure instead.
    fn new(tag: &str) -> Option<Link> {
        let root = sh(&["id", "-u"]).stdout == b"0\n";
        let tools = Command::new("tcpreplay").arg("-V").output().is_ok()
            && Command::new("ip").arg("-V").output().is_ok();
        if !(root && tools) {
            assert!(
                std::env::var_os("CI").is_none(),
                "CI must run the live test as root with ip and tcpreplay"
            );
            eprintln!("live_sniff: skipped (needs root, ip and tcpreplay)");
            return None;
        }
        let pid = std::process::id();
        let link = Link {
            a: format!("kslive-{tag}-a-{pid}"),
            b: format!("kslive-{tag}-b-{pid}"),
        };
        for ns in [&link.a, &link.b] {
            ok(&["ip", "netns", "add", ns]);
            for conf in ["all", "default"] {
                ok(&[
                    "ip",
                    "netns",
                    "exec",
                    ns,
                    "sysctl",
                    "-qw",
                    &format!("net.ipv6.conf.{conf}.disable_ipv6=1"),
                ]);
            }
        }
        ok(&[
            "ip", "-n", &link.a, "link", "add", "va", "mtu", "9000", "type", "veth", "peer",
            "name", "vb", "mtu", "9000", "netns", &link.b,
        ]);
        ok(&["ip", "-n", &link.a, "link", "set", "va", "up"]);
        ok(&["ip", "-n", &link.b, "link", "set", "vb", "up"]);
        Some(link)
    }

    /// Start `kerbscope sniff -i vb ARGS` in namespace b; returns once it listens.
    fn sniff(&self, args: &[&str]) -> (Child, mpsc::Receiver<String>) {
        let mut child = Command::new("ip")
            .args([
                "netns",
                "exec",
                &self.b,
                BIN,
                "sniff",
                "-i",
                "vb",
                "--stats-interval",
                "0",
            ])
            .args(args)
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("kerbscope starts");
        let stderr = child.stderr.take().expect("stderr piped");
        let (tx, rx) = mpsc::channel();
        std::thread::spawn(move || {
            for line in BufReader::new(stderr).lines().map_while(Result::ok) {
                let _ = tx.send(line);
            }
        });
        let first = rx
            .recv_timeout(Duration::from_secs(20))
            .expect("sniff says something");
        assert!(
            first.contains("listening on vb"),
            "sniff did not start: {first}"
        );
        (child, rx)
    }

    fn replay(&self, files: &[&Path], extra: &[&str]) {
        let mut cmd = Command::new("ip");
        cmd.args(["netns", "exec", &self.a, "tcpreplay", "-q", "-i", "va"])
            .args(extra)
            .args(files);
        let o = cmd.output().expect("tcpreplay runs");
        assert!(
            o.status.success(),
            "tcpreplay: {}",
            String::from_utf8_lossy(&o.stderr)
        );
    }
}

impl Drop for Link {
    fn drop(&mut self) {
        for ns in [&self.a, &self.b] {
            let _ = sh(&["ip", "netns", "del", ns]);
        }
    }
}

/// SIGINT, then the exit status, stdout and the stderr lines after "listening".
fn interrupt(child: Child, rx: &mpsc::Receiver<String>) -> (i32, String, Vec<String>) {
    // Frames in a ring block the kernel has not closed yet must still be counted: kerbscope
    // waits for the block timer itself; this pause only lets tcpreplay's last frame land.
    std::thread::sleep(Duration::from_millis(200));
    ok(&["kill", "-INT", &child.id().to_string()]);
    let out = child.wait_with_output().expect("sniff ends");
    // The reader thread may not have passed on the last lines yet (the "final:" summary is the
    // very last): read until it sees end of file, which the child's exit makes come.
    let mut lines = Vec::new();
    while let Ok(line) = rx.recv_timeout(Duration::from_secs(10)) {
        lines.push(line);
    }
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        lines,
    )
}

/// Frames of a capture file, as (bytes) in order.
fn frames(path: &Path) -> Vec<Vec<u8>> {
    let mut r = CaptureReader::open(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    let mut v = Vec::new();
    while let Ok(Some(f)) = r.next_frame() {
        v.push(f.data.to_vec());
    }
    v
}

/// Frames whose EtherType (after one 802.1Q tag) is IPv4: what the default filter keeps of
/// the lab captures (all their IPv4 traffic is TCP, UDP/88 or UDP/53).
fn ip_frames(path: &Path) -> Vec<Vec<u8>> {
    frames(path)
        .into_iter()
        .filter(|f| {
            let et = |i: usize| f.get(i..i + 2).map(|b| u16::from_be_bytes([b[0], b[1]]));
            match et(12) {
                Some(0x8100) => et(16) == Some(0x0800),
                t => t == Some(0x0800),
            }
        })
        .collect()
}

fn analyze(path: &Path) -> Vec<Value> {
    let o = sh(&[
        BIN,
        "analyze",
        "--format",
        "ndjson",
        &path.to_string_lossy(),
    ]);
    assert!(
        o.status.code().is_some_and(|c| c <= 1),
        "analyze {}: {}",
        path.display(),
        String::from_utf8_lossy(&o.stderr)
    );
    ndjson(&String::from_utf8_lossy(&o.stdout))
}

fn ndjson(s: &str) -> Vec<Value> {
    s.lines()
        .filter(|l| !l.trim().is_empty())
        .map(|l| serde_json::from_str(l).expect("NDJSON line"))
        .collect()
}

/// A finding without what legitimately differs between a live run and a file (capture name,
/// and nothing else).
fn strip(mut f: Value) -> Value {
    if let Some(o) = f.as_object_mut() {
        o.remove("capture");
    }
    f
}

/// Kind, client, SPN, error code and number of frames: what must not depend on frame numbers.
fn shape(f: &Value) -> String {
    format!(
        "{} {} {} {} {}",
        f["kind"],
        f["client"],
        f["spn"],
        f["code"],
        f["frames"].as_array().map_or(0, Vec::len)
    )
}

fn identity(f: &Value) -> String {
    format!(
        "{} {} {} {}",
        f["kind"],
        f["client"],
        if f["spn"].is_null() {
            &f["server"]
        } else {
            &f["spn"]
        },
        f["code"]
    )
}

fn scenarios() -> Vec<PathBuf> {
    let mut v: Vec<PathBuf> = std::fs::read_dir(lab_dir())
        .expect("captures/lab")
        .flatten()
        .map(|e| e.path())
        .filter(|p| {
            let n = p.to_string_lossy();
            // tcpreplay writes frames onto Ethernet: the Linux-cooked variants do not apply.
            (n.ends_with(".pcap") || n.ends_with(".pcapng")) && !n.contains("__sll")
        })
        .collect();
    v.sort();
    v
}

#[test]
fn lab_scenarios_live_equal_offline() {
    let Some(link) = Link::new("lab") else { return };
    let tmp = std::env::temp_dir().join(format!("kslive-{}", std::process::id()));
    std::fs::create_dir_all(&tmp).expect("tmp dir");
    let mut checked = 0;
    let mut with_findings = 0;
    for capture in scenarios() {
        let name = capture
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default();
        let all = tmp.join(format!("{name}.all.pcapng"));
        let fin = tmp.join(format!("{name}.final.ndjson"));
        let ev = tmp.join(format!("{name}.evidence.pcapng"));
        let (child, rx) = link.sniff(&[
            "--format",
            "ndjson",
            "-o",
            &fin.to_string_lossy(),
            "-w",
            &all.to_string_lossy(),
            "--evidence",
            &ev.to_string_lossy(),
        ]);
        link.replay(&[&capture], &["--topspeed"]);
        let (code, stdout, stderr) = interrupt(child, &rx);
        assert!(code == 0 || code == 1, "{name}: exit {code}: {stderr:?}");
        let last = stderr
            .iter()
            .rev()
            .find(|l| l.contains("final:"))
            .cloned()
            .unwrap_or_default();
        assert!(
            last.contains(" 0 dropped, 0 dropped by the interface"),
            "{name}: {last}"
        );

        // Complete capture, byte for byte.
        let want = ip_frames(&capture);
        let got = frames(&all);
        assert_eq!(got.len(), want.len(), "{name}: frames captured");
        assert!(
            got == want,
            "{name}: captured bytes differ from the replayed ones"
        );

        // Final report = analyze of the same frames; findings = analyze of the lab capture.
        let live: Vec<Value> = ndjson(&std::fs::read_to_string(&fin).expect("final report"));
        let same: Vec<Value> = analyze(&all).into_iter().map(strip).collect();
        assert_eq!(
            live.iter().cloned().map(strip).collect::<Vec<_>>(),
            same,
            "{name}: live vs analyze -w file"
        );
        let lab: BTreeSet<String> = analyze(&capture).iter().map(shape).collect();
        let live_shapes: BTreeSet<String> = live.iter().map(shape).collect();
        assert_eq!(
            live_shapes, lab,
            "{name}: live vs analyze of the lab capture"
        );

        // Streamed: each final identity once, nothing else.
        let streamed = ndjson(&stdout);
        let ids: Vec<String> = streamed.iter().map(identity).collect();
        let unique: BTreeSet<&String> = ids.iter().collect();
        assert_eq!(
            unique.len(),
            ids.len(),
            "{name}: an identity streamed twice"
        );
        let final_ids: BTreeSet<String> = live.iter().map(identity).collect();
        assert_eq!(
            unique.into_iter().cloned().collect::<BTreeSet<_>>(),
            final_ids,
            "{name}: streamed vs final"
        );

        // Evidence: every cited frame, same bytes as captured.
        let evidence = frames(&ev);
        for f in &live {
            for n in f["frames"]
                .as_array()
                .into_iter()
                .flatten()
                .filter_map(Value::as_u64)
            {
                let cited = got
                    .get(usize::try_from(n).unwrap_or(usize::MAX).wrapping_sub(1))
                    .expect("cited frame exists");
                assert!(
                    evidence.contains(cited),
                    "{name}: frame {n} missing from the evidence"
                );
            }
        }
        if !live.is_empty() {
            with_findings += 1;
        }
        checked += 1;
    }
    assert!(checked >= 17, "only {checked} scenarios");
    assert!(
        with_findings >= 9,
        "only {with_findings} scenarios had findings"
    );
    let _ = std::fs::remove_dir_all(&tmp);
}

#[test]
fn full_speed_replay_drops_nothing_and_matches_analyze() {
    let Some(link) = Link::new("load") else {
        return;
    };
    let tmp = std::env::temp_dir().join(format!("kslive-load-{}", std::process::id()));
    std::fs::create_dir_all(&tmp).expect("tmp dir");
    let all = tmp.join("all.pcapng");
    let fin = tmp.join("final.ndjson");
    let (child, rx) = link.sniff(&[
        "--format",
        "ndjson",
        "-o",
        &fin.to_string_lossy(),
        "-w",
        &all.to_string_lossy(),
    ]);
    let files = scenarios();
    let refs: Vec<&Path> = files.iter().map(PathBuf::as_path).collect();
    link.replay(&refs, &["--topspeed", "--loop", "20"]);
    let (_, _, stderr) = interrupt(child, &rx);
    let want: usize = files.iter().map(|f| ip_frames(f).len()).sum::<usize>() * 20;
    let got = frames(&all).len();
    let last = stderr
        .iter()
        .rev()
        .find(|l| l.contains("final:"))
        .cloned()
        .unwrap_or_default();
    assert_eq!(got, want, "{last}");
    assert!(
        last.contains(" 0 dropped, 0 dropped by the interface"),
        "{last}"
    );
    let live: Vec<Value> = ndjson(&std::fs::read_to_string(&fin).expect("final report"))
        .into_iter()
        .map(strip)
        .collect();
    let same: Vec<Value> = analyze(&all).into_iter().map(strip).collect();
    assert!(!same.is_empty());
    assert_eq!(live, same);
    let _ = std::fs::remove_dir_all(&tmp);
}

#[test]
fn one_line_errors() {
    let Some(link) = Link::new("err") else { return };
    let o = sh(&[
        "ip", "netns", "exec", &link.b, BIN, "sniff", "-i", "nosuch0",
    ]);
    let err = String::from_utf8_lossy(&o.stderr);
    assert_eq!(o.status.code(), Some(2));
    assert_eq!(err.lines().count(), 1, "{err}");
    assert!(err.contains("no interface named \"nosuch0\""), "{err}");

    let o = sh(&[
        "ip",
        "netns",
        "exec",
        &link.b,
        BIN,
        "sniff",
        "--list-interfaces",
    ]);
    assert!(
        String::from_utf8_lossy(&o.stdout)
            .lines()
            .any(|l| l.starts_with("vb\t"))
    );

    // An unprivileged user (no CAP_NET_RAW) cannot open a capture.
    let o = sh(&[
        "ip",
        "netns",
        "exec",
        &link.b,
        "setpriv",
        "--reuid=65534",
        "--regid=65534",
        "--clear-groups",
        "--inh-caps=-all",
        BIN,
        "sniff",
        "-i",
        "vb",
    ]);
    let err = String::from_utf8_lossy(&o.stderr);
    assert_eq!(o.status.code(), Some(2), "{err}");
    assert_eq!(err.lines().count(), 1, "{err}");
    assert!(
        err.contains("no permission to capture on vb")
            && err.contains("setcap cap_net_raw,cap_net_admin"),
        "{err}"
    );

    let o = sh(&[
        "ip",
        "netns",
        "exec",
        &link.b,
        BIN,
        "sniff",
        "-i",
        "vb",
        "-f",
        "port port",
    ]);
    assert_eq!(o.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&o.stderr).contains("bad capture filter"));
}
