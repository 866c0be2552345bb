//! `--keytab` turns likely causes into proven ones, on the lab captures (captures/lab/README.md).
//! The truth is how each scenario was built: `<scenario>.expected.json` (`build_facts`: the
//! kvno in the service's keytab and on the KDC; `keytabs`: which file is the KDC's and which
//! the service's) and the README (spn_missing_from_keytab's keytab holds only HTTP/other,
//! wrong_spn_cname_other_account's only HTTP/intranet). Key bytes for the "no secret in any
//! output" checks come from a keytab reader written here, independent of kerbscope's.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::Arc;

use base64::Engine;
use kerbscope::analyze::analyze;
use kerbscope::crypto::Keyring;
use kerbscope::pipeline::{DissectOptions, dissect_file_with};
use kerbscope::report::{self, Format, Report, WriteOptions};
use serde_json::Value;

fn lab(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("captures/lab")
        .join(name)
}

fn expected(scenario: &str) -> Value {
    let text = std::fs::read_to_string(lab(&format!("{scenario}.expected.json"))).unwrap();
    serde_json::from_str(&text).unwrap()
}

/// The scenario's keytab file for `role` (`kdc`, `service-web1`, `service-hop1`, ...).
fn keytab_of(scenario: &str, role: &str) -> String {
    let base = scenario.split("__").next().unwrap();
    expected(base)["keytabs"][role]
        .as_str()
        .unwrap_or_else(|| panic!("{scenario}: no {role} keytab"))
        .to_string()
}

fn build_kvno(scenario: &str, fact: &str) -> u64 {
    expected(scenario)["build_facts"][fact]
        .as_str()
        .and_then(|s| s.parse().ok())
        .unwrap_or_else(|| panic!("{scenario}: build fact {fact}"))
}

fn keys(keytabs: &[&str]) -> Arc<Keyring> {
    let mut ring = Keyring::new();
    for k in keytabs {
        ring.merge(Keyring::load_keytab(&lab(k)).unwrap());
    }
    Arc::new(ring)
}

fn report_with(pcap: &str, keytabs: &[&str], threads: usize) -> Report {
    let opts = DissectOptions {
        threads,
        keep_plain_http: false,
        progress: false,
        keys: (!keytabs.is_empty()).then(|| keys(keytabs)),
    };
    let run = dissect_file_with(&lab(pcap), 0, &opts).unwrap();
    analyze(&[run])
}

fn json(report: &Report) -> Value {
    serde_json::to_value(report).unwrap()
}

/// The one finding of `kind` in the report.
fn finding(report: &Report, kind: &str) -> Value {
    let v = json(report);
    let found: Vec<Value> = v["findings"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|f| f["kind"] == kind)
        .cloned()
        .collect();
    assert_eq!(found.len(), 1, "{kind}: {found:#?}");
    found.into_iter().next().unwrap()
}

/// (principal, kvno, etype, source) of a serialised key.
fn key(v: &Value) -> (String, u64, u64, String) {
    (
        v["principal"].as_str().unwrap().to_string(),
        v["kvno"].as_u64().unwrap(),
        v["etype"].as_u64().unwrap(),
        v["source"].as_str().unwrap().to_string(),
    )
}

const WEB1: &str = "HTTP/web1.lab.test@LAB.TEST";
const AES256: u64 = 18;

#[test]
fn stale_keytab_names_kvno_of_ticket_and_of_keytab() {
    for pcap in ["stale_keytab_kvno.pcap", "stale_keytab_kvno__gz.pcap.gz"] {
        let scenario = "stale_keytab_kvno";
        let (kdc_kvno, kt_kvno) = (
            build_kvno(scenario, "kdc_kvno"),
            build_kvno(scenario, "keytab_kvno"),
        );
        let service = keytab_of(scenario, "service-web1");
        let kdc = keytab_of(scenario, "kdc");
        // The service's keytab alone: nothing opens the ticket; its kvno-2 key is named.
        let f = finding(&report_with(pcap, &[&service], 2), "krb_ap_err_modified");
        assert_eq!(f["code"], 44);
        assert!(f.get("ticket_decrypted_by").is_none());
        let failed: Vec<_> = f["keys_that_failed"]
            .as_array()
            .unwrap()
            .iter()
            .map(key)
            .collect();
        assert_eq!(failed, [(WEB1.into(), kt_kvno, AES256, service.clone())]);
        let cause = f["likely_causes"][0].as_str().unwrap();
        assert!(
            cause.starts_with("Proven with the keys given: stale keytab"),
            "{cause}"
        );
        assert!(
            cause.contains(&format!("encrypted with kvno {kdc_kvno}"))
                && cause.contains(&format!("holds kvno {kt_kvno} of {WEB1}"))
                && cause.contains(&service),
            "{cause}"
        );
        assert!(
            f["explanation"]
                .as_str()
                .unwrap()
                .contains(f["key_proof"].as_str().unwrap())
        );
        // With the KDC's keytab too: kvno 3 from it opens the ticket, the service's kvno 2 fails.
        let f = finding(
            &report_with(pcap, &[&service, &kdc], 2),
            "krb_ap_err_modified",
        );
        assert_eq!(
            key(&f["ticket_decrypted_by"]),
            (WEB1.into(), kdc_kvno, AES256, kdc.clone())
        );
        let failed: Vec<_> = f["keys_that_failed"]
            .as_array()
            .unwrap()
            .iter()
            .map(key)
            .collect();
        assert_eq!(failed, [(WEB1.into(), kt_kvno, AES256, service.clone())]);
        let cause = f["likely_causes"][0].as_str().unwrap();
        assert!(cause.contains("stale keytab"), "{cause}");
    }
}

#[test]
fn key_mismatch_names_the_same_kvno_with_another_key() {
    for scenario in [
        "key_mismatch_same_kvno",
        "key_mismatch_same_kvno_emulated41",
    ] {
        let pcap = format!("{scenario}.pcap");
        let kvno = build_kvno(scenario, "kdc_kvno");
        assert_eq!(kvno, build_kvno(scenario, "keytab_kvno"));
        let service = keytab_of(scenario, "service-web1");
        let kdc = keytab_of(scenario, "kdc");
        for keytabs in [vec![service.as_str()], vec![service.as_str(), kdc.as_str()]] {
            let f = finding(&report_with(&pcap, &keytabs, 1), "krb_ap_err_modified");
            let failed: Vec<_> = f["keys_that_failed"]
                .as_array()
                .unwrap()
                .iter()
                .map(key)
                .collect();
            assert_eq!(failed, [(WEB1.into(), kvno, AES256, service.clone())]);
            let cause = f["likely_causes"][0].as_str().unwrap();
            assert!(
                cause.starts_with("Proven with the keys given: key mismatch with the same kvno")
                    && cause.contains(&format!("kvno {kvno}")),
                "{cause}"
            );
            match keytabs.len() {
                1 => assert!(f.get("ticket_decrypted_by").is_none()),
                _ => assert_eq!(
                    key(&f["ticket_decrypted_by"]),
                    (WEB1.into(), kvno, AES256, kdc.clone())
                ),
            }
        }
    }
}

#[test]
fn principal_missing_from_keytab_names_what_the_keytab_holds() {
    for (scenario, holds) in [
        ("spn_missing_from_keytab", "HTTP/other.lab.test@LAB.TEST"),
        (
            "wrong_spn_cname_other_account",
            "HTTP/intranet.lab.test@LAB.TEST",
        ),
        (
            "wrong_spn_cname_other_account_emulated41",
            "HTTP/intranet.lab.test@LAB.TEST",
        ),
    ] {
        let pcap = format!("{scenario}.pcap");
        let service = keytab_of(scenario, "service-web1");
        let kvno = build_kvno(scenario, "kdc_kvno");
        let f = finding(&report_with(&pcap, &[&service], 2), "krb_ap_err_modified");
        assert!(f.get("ticket_decrypted_by").is_none());
        let failed: Vec<_> = f["keys_that_failed"]
            .as_array()
            .unwrap()
            .iter()
            .map(key)
            .collect();
        assert_eq!(failed, [(holds.into(), 2, AES256, service.clone())]);
        let cause = f["likely_causes"][0].as_str().unwrap();
        assert!(
            cause.starts_with(&format!(
                "Proven with the keys given: {WEB1} is not in the keytab"
            )) && cause.contains(holds),
            "{cause}"
        );
        // The KDC's keytab proves the ticket itself is sound.
        let kdc = keytab_of(scenario, "kdc");
        let f = finding(
            &report_with(&pcap, &[&service, &kdc], 2),
            "krb_ap_err_modified",
        );
        assert_eq!(
            key(&f["ticket_decrypted_by"]),
            (WEB1.into(), kvno, AES256, kdc.clone())
        );
        let cause = f["likely_causes"][0].as_str().unwrap();
        assert!(
            cause.starts_with(&format!(
                "Proven with the keys given: {WEB1} is not in the service's keytab"
            )) && cause.contains(holds)
                && cause.contains(&service),
            "{cause}"
        );
    }
}

/// Aes256 keys in an MIT keytab, by this file's own reader.
fn aes256_entries(keytab: &str) -> usize {
    read_keytab(&lab(keytab))
        .iter()
        .filter(|e| e.2 == AES256 as u16)
        .count()
}

#[test]
fn wrong_keys_are_said_plainly() {
    // Lab keys are random per run: the healthy run's KDC keytab opens nothing of another run.
    let other = "healthy.kdc.keytab";
    let n = aes256_entries(other);
    let f = finding(
        &report_with("key_mismatch_same_kvno.pcap", &[other], 2),
        "krb_ap_err_modified",
    );
    assert!(f.get("ticket_decrypted_by").is_none());
    let proof = f["key_proof"].as_str().unwrap();
    assert!(
        proof.contains(&format!(
            "none of the {n} key(s) given of that type decrypts it"
        )),
        "{proof}"
    );
}

#[test]
fn delegation_findings_say_what_the_authenticator_and_ticket_prove() {
    // No --delegation: the client did not set deleg, sent no TGT; the ticket is forwardable.
    let s = "delegation_missing_nodeleg";
    let hop1 = keytab_of(s, "service-hop1");
    let f = finding(
        &report_with(&format!("{s}.pcap"), &[&hop1], 2),
        "missing_delegation",
    );
    assert_eq!(f["mechanism"], "no_forwarded_tgt");
    let p = &f["delegation_proof"];
    assert_eq!(p["deleg_requested"], false);
    assert_eq!(p["delegated_tgt"], false);
    assert_eq!(p["ticket_forwardable"], true);
    assert_eq!(p["pac_user"], "alice");
    assert_eq!(
        key(&p["ticket_decrypted_by"]).0,
        "HTTP/mid.lab.test@LAB.TEST"
    );
    assert!(
        f["summary"]
            .as_str()
            .unwrap()
            .contains("did not ask to delegate")
    );
    // kinit -F: the ticket to hop 1 is not forwardable.
    let s = "delegation_missing_not_forwardable";
    let hop1 = keytab_of(s, "service-hop1");
    let f = finding(
        &report_with(&format!("{s}.pcap"), &[&hop1], 2),
        "missing_delegation",
    );
    assert_eq!(f["mechanism"], "no_forwarded_tgt");
    assert_eq!(f["delegation_proof"]["ticket_forwardable"], false);
    assert_eq!(f["delegation_proof"]["delegated_tgt"], false);
    assert!(f["summary"].as_str().unwrap().contains("not forwardable"));
    // S4U2Proxy refused: the mechanism stays what the wire shows.
    let s = "s4u2proxy_refused";
    let hop1 = keytab_of(s, "service-hop1");
    let f = finding(
        &report_with(&format!("{s}.pcap"), &[&hop1], 2),
        "missing_delegation",
    );
    assert_eq!(f["mechanism"], "s4u2proxy_refused");
    // delegation_ok: no finding, with keys either.
    let s = "delegation_ok";
    let r = report_with(
        &format!("{s}.pcap"),
        &[&keytab_of(s, "service-hop1"), &keytab_of(s, "kdc")],
        2,
    );
    assert!(r.findings.is_empty(), "{:#?}", r.findings);
}

/// Every lab capture: the same findings (kinds, frames, spn) with and without keys; without keys
/// no key field appears; with keys the report is the same for every thread count.
#[test]
fn keys_add_proofs_and_change_nothing_else() {
    let mut names: Vec<String> = std::fs::read_dir(lab(""))
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .filter(|n| n.ends_with(".pcap") || n.ends_with(".pcapng") || n.ends_with(".pcap.gz"))
        .filter(|n| {
            let base = n.split("__").next().unwrap().split('.').next().unwrap();
            lab(&format!("{base}.kdc.keytab")).exists()
        })
        .collect();
    names.sort();
    assert!(names.len() >= 21);
    for pcap in &names {
        let base = pcap.split("__").next().unwrap().split('.').next().unwrap();
        let kdc = keytab_of(base, "kdc");
        let plain = json(&report_with(pcap, &[], 2));
        let text = plain.to_string();
        for field in [
            "ticket_decrypted_by",
            "keys_that_failed",
            "key_proof",
            "delegation_proof",
            "Proven with",
        ] {
            assert!(!text.contains(field), "{pcap}: {field} without keys");
        }
        let with: Vec<Value> = [1, 2, 3]
            .iter()
            .map(|&j| json(&report_with(pcap, &[&kdc], j)))
            .collect();
        assert_eq!(with[0], with[1], "{pcap} -j1 vs -j2");
        assert_eq!(with[0], with[2], "{pcap} -j1 vs -j3");
        let shape = |v: &Value| -> Vec<(Value, Value, Value)> {
            v["findings"]
                .as_array()
                .unwrap()
                .iter()
                .map(|f| (f["kind"].clone(), f["frames"].clone(), f["spn"].clone()))
                .collect()
        };
        assert_eq!(shape(&plain), shape(&with[0]), "{pcap}");
    }
}

/// (principal, kvno, etype, key bytes) of every entry of an MIT keytab (format 0x0502, the one
/// kadmin writes): written from the format description, independent of `kerbscope::crypto`.
fn read_keytab(path: &Path) -> Vec<(String, u32, u16, Vec<u8>)> {
    let b = std::fs::read(path).unwrap();
    assert_eq!(&b[..2], &[5, 2]);
    let mut out = Vec::new();
    let mut at = 2;
    let u16_at = |i: usize| u16::from_be_bytes([b[i], b[i + 1]]) as usize;
    let u32_at = |i: usize| u32::from_be_bytes([b[i], b[i + 1], b[i + 2], b[i + 3]]);
    while at + 4 <= b.len() {
        let size = u32_at(at) as i32;
        at += 4;
        if size <= 0 {
            at += size.unsigned_abs() as usize;
            continue;
        }
        let end = at + size as usize;
        let mut i = at;
        let components = u16_at(i);
        i += 2;
        let realm_len = u16_at(i);
        let realm = String::from_utf8_lossy(&b[i + 2..i + 2 + realm_len]).into_owned();
        i += 2 + realm_len;
        let mut parts = Vec::new();
        for _ in 0..components {
            let l = u16_at(i);
            parts.push(String::from_utf8_lossy(&b[i + 2..i + 2 + l]).into_owned());
            i += 2 + l;
        }
        i += 4 + 4; // name type, timestamp
        let vno8 = u32::from(b[i]);
        i += 1;
        let etype = u16_at(i) as u16;
        let key_len = u16_at(i + 2);
        let key = b[i + 4..i + 4 + key_len].to_vec();
        i += 4 + key_len;
        let kvno = if i + 4 <= end { u32_at(i) } else { vno8 };
        out.push((format!("{}@{realm}", parts.join("/")), kvno, etype, key));
        at = end;
    }
    out
}

#[test]
fn own_keytab_reader_agrees_on_the_lab_keytabs() {
    let entries = read_keytab(&lab("stale_keytab_kvno.service-web1.keytab"));
    let names: Vec<(String, u32, u16, usize)> = entries
        .iter()
        .map(|e| (e.0.clone(), e.1, e.2, e.3.len()))
        .collect();
    assert_eq!(names, [(WEB1.into(), 2, 18, 32), (WEB1.into(), 2, 17, 16)]);
}

/// Every way a key's bytes could be written out.
fn encodings(key: &[u8]) -> Vec<String> {
    let hex: String = key.iter().map(|b| format!("{b:02x}")).collect();
    let mut out = vec![hex.to_uppercase(), hex.clone()];
    // A run of 8 bytes is enough to give a key away, in any alignment of base64.
    for window in key.windows(12).step_by(4) {
        let b64 = base64::engine::general_purpose::STANDARD.encode(window);
        out.push(b64[..12].to_string());
    }
    out.push(hex[..16].to_string());
    out
}

/// No key byte, session key or plaintext in any report format (with and without --redact) or
/// in `events`: the keytabs' own key bytes are searched for in hex and base64, and no long hex
/// run (a session key is 16 or 32 bytes) appears in a report.
#[test]
fn no_key_bytes_in_any_output() {
    let formats = [
        Format::Text,
        Format::Json,
        Format::Ndjson,
        Format::Markdown,
        Format::Html,
    ];
    for scenario in [
        "stale_keytab_kvno",
        "key_mismatch_same_kvno",
        "delegation_ok",
        "delegation_missing_nodeleg",
    ] {
        let pcap = format!("{scenario}.pcap");
        let mut keytabs = vec![keytab_of(scenario, "kdc")];
        for role in ["service-web1", "service-hop1"] {
            if let Some(k) = expected(scenario)["keytabs"][role].as_str() {
                keytabs.push(k.to_string());
            }
        }
        let refs: Vec<&str> = keytabs.iter().map(String::as_str).collect();
        let secrets: Vec<String> = keytabs
            .iter()
            .flat_map(|k| read_keytab(&lab(k)))
            .flat_map(|e| encodings(&e.3))
            .collect();
        let mut outputs = Vec::new();
        let report = report_with(&pcap, &refs, 2);
        for redact in [false, true] {
            let mut r = report.clone();
            if redact {
                report::redact(&mut r);
            }
            for format in formats {
                let mut buf = Vec::new();
                let opts = WriteOptions {
                    color: false,
                    min_severity: kerbscope::analyze::finding::Severity::Info,
                };
                report::write(&r, format, &opts, &mut buf).unwrap();
                let text = String::from_utf8(buf).unwrap();
                let longest_hex = text
                    .split(|c: char| !c.is_ascii_hexdigit())
                    .map(str::len)
                    .max()
                    .unwrap_or(0);
                assert!(
                    longest_hex < 32,
                    "{scenario} {format:?}: hex run {longest_hex}"
                );
                outputs.push(text);
            }
        }
        let opts = DissectOptions {
            threads: 2,
            keys: Some(keys(&refs)),
            ..DissectOptions::default()
        };
        let run = dissect_file_with(&lab(&pcap), 0, &opts).unwrap();
        outputs.push(serde_json::to_string(&run.events).unwrap());
        for out in &outputs {
            for s in &secrets {
                assert!(
                    !out.contains(s.as_str()),
                    "{scenario}: key bytes {s} in output"
                );
            }
            assert!(!out.contains("keyvalue") && !out.contains("cipher\""));
        }
    }
}

fn kerbscope() -> Command {
    Command::new(env!("CARGO_BIN_EXE_kerbscope"))
}

#[test]
fn cli_bad_keytab_is_one_line_and_exit_2() {
    for bad in [lab("missing.keytab"), lab("healthy.pcap")] {
        for sub in ["analyze", "events"] {
            let out = kerbscope()
                .arg(sub)
                .arg(lab("healthy.pcap"))
                .arg("--keytab")
                .arg(&bad)
                .output()
                .unwrap();
            assert_eq!(out.status.code(), Some(2), "{sub} {}", bad.display());
            let err = String::from_utf8_lossy(&out.stderr);
            assert_eq!(err.lines().count(), 1, "{err}");
            assert!(err.contains(&bad.display().to_string()), "{err}");
            assert!(out.stdout.is_empty());
        }
    }
}

#[test]
fn cli_keytab_and_password_prove_on_events_and_analyze() {
    let out = kerbscope()
        .args(["analyze", "--format", "json", "-j", "2"])
        .arg(lab("stale_keytab_kvno.pcap"))
        .arg("--keytab")
        .arg(lab("stale_keytab_kvno.service-web1.keytab"))
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    let v: Value = serde_json::from_slice(&out.stdout).unwrap();
    let cause = v["findings"][0]["likely_causes"][0].as_str().unwrap();
    assert!(cause.contains("stale keytab"), "{cause}");
    // --password: read from KERBSCOPE_PASSWORD (lab/run.sh creates alice with this password);
    // it opens alice's AS-REP (frame 6), never from argv.
    let out = kerbscope()
        .args(["events", "--password", "alice@LAB.TEST"])
        .arg(lab("healthy.pcap"))
        .env("KERBSCOPE_PASSWORD", "Alice-Lab-Pw-1")
        .output()
        .unwrap();
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let text = String::from_utf8(out.stdout).unwrap();
    assert!(!text.contains("Alice-Lab-Pw-1"));
    let as_rep: Value = text
        .lines()
        .map(|l| serde_json::from_str::<Value>(l).unwrap())
        .find(|e| e["frame"] == 6)
        .unwrap();
    let proof = &as_rep["proofs"][1];
    assert_eq!(proof["what"], "enc-part");
    assert_eq!(proof["decrypted"], true);
    assert_eq!(proof["key"]["source"], "password");
    assert_eq!(proof["key"]["principal"], "alice@LAB.TEST");
}
