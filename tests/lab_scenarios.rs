//! Every lab scenario (captures/lab, recorded from a real MIT KDC, dnsmasq and Apache; its
//! `.expected.json` written from how the scenario was built) yields exactly its expected
//! findings: same kind, SPN, error code, outcome / mechanism, and every frame the scenario's
//! construction fixes (roles not marked `context_`) among the finding's frames. No finding of a
//! kind the scenario lists under `must_not_find`, and nothing unexpected beyond
//! `optional_findings`.

use std::path::{Path, PathBuf};

use kerbscope::analyze::analyze;
use kerbscope::pipeline;
use serde_json::Value;

fn lab_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("captures/lab")
}

fn required_frames(expected: &Value) -> Vec<u64> {
    let mut frames = Vec::new();
    if let Some(roles) = expected["frames_by_role"].as_object() {
        for (role, list) in roles {
            if role.starts_with("context_") {
                continue;
            }
            frames.extend(
                list.as_array()
                    .into_iter()
                    .flatten()
                    .filter_map(Value::as_u64),
            );
        }
    } else {
        frames.extend(
            expected["frames"]
                .as_array()
                .into_iter()
                .flatten()
                .filter_map(Value::as_u64),
        );
    }
    frames
}

/// Why `ours` does not match `want`, or None when it does.
fn mismatch(want: &Value, ours: &Value) -> Option<String> {
    if want["kind"] != ours["kind"] {
        return Some("kind".into());
    }
    if let Some(spn) = want["spn"].as_str()
        && !ours["spn"]
            .as_str()
            .is_some_and(|s| s.eq_ignore_ascii_case(spn))
    {
        return Some(format!("spn {spn} vs {}", ours["spn"]));
    }
    let kind = want["kind"].as_str().unwrap_or_default();
    if matches!(kind, "krb_ap_err_modified" | "kdc_error")
        && want["code"].is_i64()
        && want["code"] != ours["code"]
    {
        return Some(format!("code {} vs {}", want["code"], ours["code"]));
    }
    for field in [
        "outcome",
        "mechanism",
        "alias",
        "canonical",
        "requested_spn",
        "expected_spn",
        "first_hop",
        "second_hop",
        "server_name",
    ] {
        if !want[field].is_null() && want[field] != ours[field] {
            return Some(format!("{field} {} vs {}", want[field], ours[field]));
        }
    }
    let have: Vec<u64> = ours["frames"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(Value::as_u64)
        .collect();
    let missing: Vec<u64> = required_frames(want)
        .into_iter()
        .filter(|f| !have.contains(f))
        .collect();
    if !missing.is_empty() {
        return Some(format!("frames {missing:?} not cited (have {have:?})"));
    }
    None
}

#[test]
fn every_lab_scenario_yields_exactly_its_expected_findings() {
    let mut files: Vec<PathBuf> = std::fs::read_dir(lab_dir())
        .expect("captures/lab exists")
        .flatten()
        .map(|e| e.path())
        .filter(|p| p.to_string_lossy().ends_with(".expected.json"))
        .collect();
    files.sort();
    assert!(files.len() >= 15, "lab scenarios missing: {}", files.len());
    let mut failures = Vec::new();
    for file in &files {
        let expected: Value =
            serde_json::from_str(&std::fs::read_to_string(file).unwrap()).unwrap();
        let capture = lab_dir().join(expected["capture"].as_str().unwrap());
        let run = pipeline::dissect_file(&capture, 0)
            .unwrap_or_else(|e| panic!("{}: {e}", capture.display()));
        let report = analyze(&[run]);
        let ours: Vec<Value> = report
            .findings
            .iter()
            .map(|f| serde_json::to_value(f).unwrap())
            .collect();
        let wants = expected["findings"].as_array().cloned().unwrap_or_default();
        let optional: Vec<&str> = expected["optional_findings"]
            .as_array()
            .into_iter()
            .flatten()
            .filter_map(|o| o["kind"].as_str().or(o.as_str()))
            .collect();
        let forbidden: Vec<&str> = expected["must_not_find"]
            .as_array()
            .into_iter()
            .flatten()
            .filter_map(Value::as_str)
            .collect();
        let mut used = vec![false; ours.len()];
        let mut problems = Vec::new();
        for want in &wants {
            let mut why = Vec::new();
            let hit = ours.iter().enumerate().position(|(i, o)| {
                if used[i] {
                    return false;
                }
                match mismatch(want, o) {
                    None => true,
                    Some(w) => {
                        if o["kind"] == want["kind"] {
                            why.push(w);
                        }
                        false
                    }
                }
            });
            match hit {
                Some(i) => used[i] = true,
                None => problems.push(format!(
                    "missing {} {} ({})",
                    want["kind"],
                    want["spn"],
                    why.join("; ")
                )),
            }
        }
        for (i, o) in ours.iter().enumerate() {
            let kind = o["kind"].as_str().unwrap_or_default();
            if used[i] {
                continue;
            }
            if forbidden.contains(&kind) || !optional.contains(&kind) {
                problems.push(format!("unexpected {kind}: {}", o["summary"]));
            }
        }
        let name = file
            .file_name()
            .unwrap()
            .to_string_lossy()
            .replace(".expected.json", "");
        println!(
            "{:<45} expected {} found {} {}",
            name,
            wants.len(),
            ours.len(),
            if problems.is_empty() { "OK" } else { "FAIL" }
        );
        for p in &problems {
            println!("    {p}");
        }
        if !problems.is_empty() {
            failures.push(name);
        }
    }
    assert!(
        failures.is_empty(),
        "scenarios not matching their ground truth: {failures:?}"
    );
}
