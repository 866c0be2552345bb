//! Secrets never reach any output, and `--redact` leaves no original name behind.
//!
//! The secrets are found independently of kerbscope's decoders, by walking the raw bytes of
//! every frame of every committed capture (and the base64 tokens of HTTP auth headers in them):
//! * Kerberos `EncryptedData` ciphertext (RFC 4120 §5.2.9: `[0] etype, [1] kvno?, [2] cipher`),
//!   which covers ticket and authenticator enc-parts, KDC-REP enc-parts (session keys) and
//!   PA-ENC-TIMESTAMP;
//! * NTLMSSP AUTHENTICATE LM / NT responses and the encrypted session key (MS-NLMP §2.2.1.3);
//! * Basic-auth passwords;
//! * the keys in the lab's keytab files (MIT keytab format, version 0x502).
//!
//! Each secret is then searched in every output kerbscope can produce for these captures
//! (`events`, `analyze` in all five formats, with and without `--keytab`, and the events'
//! Debug form used in logs) as lowercase / uppercase hex, base64 (three alignments, standard and
//! URL-safe), a JSON / Debug array of byte values, and raw bytes. Windows of 8 bytes are
//! searched, so a partial leak (a "preview") is caught as well.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::process::Command;

use base64::Engine;
use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};
use kerbscope::capture::CaptureReader;

fn root() -> &'static Path {
    Path::new(env!("CARGO_MANIFEST_DIR"))
}

fn captures_in(dir: &Path) -> Vec<PathBuf> {
    let mut v: Vec<PathBuf> = std::fs::read_dir(dir)
        .into_iter()
        .flatten()
        .flatten()
        .map(|e| e.path())
        .filter(|p| {
            let n = p.file_name().and_then(|n| n.to_str()).unwrap_or_default();
            [".pcap", ".pcapng", ".cap", ".pcap.gz"]
                .iter()
                .any(|x| n.ends_with(x))
        })
        .collect();
    v.sort();
    v
}

fn all_captures() -> Vec<PathBuf> {
    let mut v = captures_in(&root().join("captures/lab"));
    v.extend(captures_in(&root().join("../shared/captures/public")));
    assert!(v.len() >= 20, "committed captures not found");
    v
}

// ---------------------------------------------------------------- independent secret walk

/// DER length at `b[i..]`: (length, header bytes).
fn der_len(b: &[u8], i: usize) -> Option<(usize, usize)> {
    let first = *b.get(i)?;
    if first < 0x80 {
        return Some((usize::from(first), 1));
    }
    let n = usize::from(first & 0x7F);
    if n == 0 || n > 3 {
        return None;
    }
    let mut len = 0usize;
    for k in 0..n {
        len = (len << 8) | usize::from(*b.get(i + 1 + k)?);
    }
    Some((len, 1 + n))
}

/// Every `[2] OCTET STRING` preceded within its SEQUENCE by `[0] INTEGER` (the etype): the
/// cipher of an EncryptedData.
fn kerberos_ciphers(b: &[u8], out: &mut BTreeSet<Vec<u8>>) {
    for i in 0..b.len() {
        if b[i] != 0xA2 {
            continue;
        }
        let Some((l, h)) = der_len(b, i + 1) else {
            continue;
        };
        let j = i + 1 + h;
        if b.get(j) != Some(&0x04) {
            continue;
        }
        let Some((cl, ch)) = der_len(b, j + 1) else {
            continue;
        };
        let start = j + 1 + ch;
        if cl < 16 || start + cl > b.len() || 1 + ch + cl != l {
            continue;
        }
        // `A0 03 02 01 xx` (etype) within the 12 bytes before, optionally followed by a kvno.
        let before = &b[i.saturating_sub(12)..i];
        if before.windows(4).any(|w| w == [0xA0, 0x03, 0x02, 0x01])
            || before.windows(3).any(|w| w == [0xA0, 0x04, 0x02])
        {
            out.insert(b[start..start + cl].to_vec());
        }
    }
}

/// LM / NT responses and the encrypted session key of each NTLMSSP AUTHENTICATE message.
fn ntlm_responses(b: &[u8], out: &mut BTreeSet<Vec<u8>>) {
    let sig = b"NTLMSSP\0\x03\0\0\0";
    for i in 0..b.len().saturating_sub(sig.len()) {
        if &b[i..i + sig.len()] != sig {
            continue;
        }
        let m = &b[i..];
        let field = |at: usize| -> Option<&[u8]> {
            let len = usize::from(u16::from_le_bytes([*m.get(at)?, *m.get(at + 1)?]));
            let off = u32::from_le_bytes(m.get(at + 4..at + 8)?.try_into().ok()?) as usize;
            m.get(off..off + len)
        };
        for (at, keep) in [(12, 24), (20, 16), (52, 16)] {
            // NTLMv2: the first 16 bytes (NTProofStr) are the secret; the rest repeats the
            // server's target info, which a report may show.
            if let Some(f) = field(at) {
                out.insert(f[..f.len().min(keep)].to_vec());
            }
        }
    }
}

fn basic_passwords(b: &[u8], out: &mut BTreeSet<Vec<u8>>) {
    let text = String::from_utf8_lossy(b);
    for line in text.lines() {
        let Some(at) = line.find("Basic ") else {
            continue;
        };
        if !line.to_ascii_lowercase().contains("authorization") {
            continue;
        }
        let b64 = line[at + 6..].split_whitespace().next().unwrap_or_default();
        if let Ok(cred) = STANDARD.decode(b64)
            && let Some(colon) = cred.iter().position(|c| *c == b':')
        {
            out.insert(cred[colon + 1..].to_vec());
        }
    }
}

/// Base64 tokens of HTTP auth headers in one frame, decoded.
fn http_tokens(b: &[u8]) -> Vec<Vec<u8>> {
    let text = String::from_utf8_lossy(b);
    let mut v = Vec::new();
    for line in text.lines() {
        for scheme in ["Negotiate ", "NTLM ", "Kerberos "] {
            if let Some(at) = line.find(scheme) {
                let b64 = line[at + scheme.len()..]
                    .split([' ', ','])
                    .next()
                    .unwrap_or_default();
                if let Ok(t) = STANDARD.decode(b64.trim()) {
                    v.push(t);
                }
            }
        }
    }
    v
}

#[derive(Default)]
struct Secrets {
    cipher: BTreeSet<Vec<u8>>,
    ntlm: BTreeSet<Vec<u8>>,
    passwords: BTreeSet<Vec<u8>>,
    keys: BTreeSet<Vec<u8>>,
}

impl Secrets {
    fn all(&self) -> impl Iterator<Item = &Vec<u8>> {
        self.cipher
            .iter()
            .chain(&self.ntlm)
            .chain(&self.passwords)
            .chain(&self.keys)
    }
}

fn secrets_of(captures: &[PathBuf]) -> Secrets {
    let mut s = Secrets::default();
    for path in captures {
        let mut r = CaptureReader::open(path).unwrap();
        while let Ok(Some(f)) = r.next_frame() {
            let mut bufs = vec![f.data.to_vec()];
            bufs.extend(http_tokens(f.data));
            for b in &bufs {
                kerberos_ciphers(b, &mut s.cipher);
                ntlm_responses(b, &mut s.ntlm);
                basic_passwords(b, &mut s.passwords);
            }
        }
    }
    for kt in std::fs::read_dir(root().join("captures/lab"))
        .unwrap()
        .flatten()
    {
        if kt.path().extension().is_some_and(|e| e == "keytab") {
            keytab_keys(&std::fs::read(kt.path()).unwrap(), &mut s.keys);
        }
    }
    s
}

/// Keys of an MIT keytab (0x0502): entries of `i32 size` + principal, timestamp, kvno, keyblock.
fn keytab_keys(b: &[u8], out: &mut BTreeSet<Vec<u8>>) {
    if b.get(..2) != Some(&[5, 2]) {
        return;
    }
    let mut i = 2;
    while let Some(sz) = b.get(i..i + 4) {
        let size = i32::from_be_bytes(sz.try_into().unwrap());
        i += 4;
        let entry_end = i + size.unsigned_abs() as usize;
        if size > 0 {
            let u16_at = |p: usize| {
                b.get(p..p + 2)
                    .map(|x| usize::from(u16::from_be_bytes([x[0], x[1]])))
            };
            let mut p = i;
            let comps = u16_at(p).unwrap_or(0);
            p += 2;
            for _ in 0..=comps {
                p += 2 + u16_at(p).unwrap_or(0); // realm, then each component
            }
            p += 4 + 4 + 1 + 2; // name type, timestamp, kvno8, key type
            if let Some(len) = u16_at(p)
                && let Some(key) = b.get(p + 2..p + 2 + len)
            {
                out.insert(key.to_vec());
            }
        }
        i = entry_end;
    }
}

// ---------------------------------------------------------------- searching outputs

/// The forms a leaked 8-byte window could take in text output.
fn forms(window: &[u8]) -> Vec<Vec<u8>> {
    let hex: String = window.iter().map(|b| format!("{b:02x}")).collect();
    let dec: Vec<String> = window.iter().map(u8::to_string).collect();
    vec![
        hex.clone().into_bytes(),
        hex.to_uppercase().into_bytes(),
        dec.join(",").into_bytes(),
        dec.join(", ").into_bytes(),
        window.to_vec(),
    ]
}

fn needles(secret: &[u8]) -> Vec<Vec<u8>> {
    let mut v = Vec::new();
    let n = secret.len();
    if n >= 8 {
        for at in [0, n / 2 - 4, n - 8] {
            let w = &secret[at..at + 8];
            // Low-entropy windows (zeros of an anonymous LM response) prove nothing.
            if w.iter().collect::<BTreeSet<_>>().len() >= 6 {
                v.extend(forms(w));
            }
        }
    }
    if n >= 14 {
        for k in 0..3 {
            for enc in [
                STANDARD.encode(&secret[k..]),
                URL_SAFE_NO_PAD.encode(&secret[k..]),
            ] {
                v.push(enc.as_bytes()[..16].to_vec());
            }
        }
    } else if n >= 4 {
        // A short password: searched as written.
        v.push(secret.to_vec());
    }
    v
}

fn run_cli(args: &[&str]) -> Vec<u8> {
    let out = Command::new(env!("CARGO_BIN_EXE_kerbscope"))
        .args(args)
        .output()
        .unwrap();
    assert!(
        out.status.code().is_some_and(|c| c <= 1),
        "kerbscope {args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let mut all = out.stdout;
    all.extend_from_slice(&out.stderr);
    all
}

fn find(hay: &[u8], needle: &[u8]) -> bool {
    memchr::memmem::find(hay, needle).is_some()
}

#[test]
fn no_secret_in_any_output_of_any_capture() {
    let captures = all_captures();
    let secrets = secrets_of(&captures);
    println!(
        "secrets: {} kerberos ciphers, {} NTLM responses/keys, {} Basic passwords, {} keytab keys",
        secrets.cipher.len(),
        secrets.ntlm.len(),
        secrets.passwords.len(),
        secrets.keys.len()
    );
    // The walk must find what the captures are known to hold (tshark: kerberos.cipher in the
    // lab and public Kerberos captures, ntlmssp.ntlmv2_response in the NTLM ones).
    assert!(secrets.cipher.len() >= 100, "cipher walk broken");
    assert!(secrets.ntlm.len() >= 10, "NTLM walk broken");
    assert!(secrets.keys.len() >= 10, "keytab walk broken");

    let paths: Vec<String> = captures.iter().map(|p| p.display().to_string()).collect();
    let keytabs: Vec<String> = std::fs::read_dir(root().join("captures/lab"))
        .unwrap()
        .flatten()
        .map(|e| e.path())
        .filter(|p| p.extension().is_some_and(|e| e == "keytab"))
        .map(|p| p.display().to_string())
        .collect();
    let mut outputs: Vec<(String, Vec<u8>)> = Vec::new();
    let with = |head: &[&str], extra: &[String]| -> Vec<String> {
        head.iter()
            .map(|s| s.to_string())
            .chain(extra.iter().cloned())
            .chain(paths.iter().cloned())
            .collect()
    };
    let keytab_args: Vec<String> = keytabs
        .iter()
        .flat_map(|k| ["--keytab".to_string(), k.clone()])
        .collect();
    let mut runs: Vec<Vec<String>> = vec![with(&["events"], &[])];
    for fmt in ["text", "json", "ndjson", "markdown", "html"] {
        runs.push(with(&["analyze", "--format", fmt], &[]));
    }
    runs.push(with(&["analyze", "--format", "json"], &keytab_args));
    runs.push(with(&["analyze", "--format", "text"], &keytab_args));
    for args in runs {
        let a: Vec<&str> = args.iter().map(String::as_str).collect();
        outputs.push((a[..3.min(a.len())].join(" "), run_cli(&a)));
    }
    // Events as a log line would print them.
    let mut debug = Vec::new();
    for p in &captures {
        let run = kerbscope::pipeline::dissect_file(p, 0).unwrap();
        debug.extend(format!("{:?}\n{:?}", run.events, run.stats).into_bytes());
    }
    outputs.push(("events Debug".into(), debug));
    for (what, out) in &outputs {
        assert!(!out.is_empty(), "{what}: no output");
    }

    let mut checked = 0;
    for secret in secrets.all() {
        for needle in needles(secret) {
            checked += 1;
            for (what, out) in &outputs {
                assert!(
                    !find(out, &needle),
                    "{what} leaks a secret: {} found ({} bytes secret)",
                    String::from_utf8_lossy(&needle),
                    secret.len()
                );
            }
        }
    }
    println!("{checked} needles searched in {} outputs", outputs.len());
}

/// The needle search itself works: a secret planted in an output is found in each form.
#[test]
fn needle_forms_find_planted_secrets() {
    let secret: Vec<u8> = (0u8..40)
        .map(|i| i.wrapping_mul(37).wrapping_add(11))
        .collect();
    let planted = [
        format!("{{\"x\":\"{}\"}}", STANDARD.encode(&secret)),
        format!("cipher {secret:?}"),
        serde_json::to_string(&secret).unwrap(),
        secret
            .iter()
            .map(|b| format!("{b:02x}"))
            .collect::<String>(),
    ];
    for p in planted {
        let hit = needles(&secret).iter().any(|n| find(p.as_bytes(), n));
        assert!(hit, "not found in {p}");
    }
}

// ---------------------------------------------------------------- --redact

/// Names a capture carries according to TShark (`.tshark.tsv` next to each lab capture):
/// realms, client names, service hosts, DNS query names and CNAME targets.
fn tshark_names(tsv: &Path) -> BTreeSet<String> {
    let text = std::fs::read_to_string(tsv).unwrap();
    let mut lines = text.lines();
    let header: Vec<&str> = lines.next().unwrap().split('\t').collect();
    let col = |name: &str| header.iter().position(|h| *h == name);
    let wanted = [
        "kerberos.realm",
        "kerberos.CNameString",
        "kerberos.SNameString",
        "dns.qry.name",
        "dns.cname",
    ];
    let cols: Vec<(usize, &str)> = wanted.iter().filter_map(|w| Some((col(w)?, *w))).collect();
    let mut names = BTreeSet::new();
    for line in lines {
        let fields: Vec<&str> = line.split('\t').collect();
        for (c, what) in &cols {
            for v in fields.get(*c).unwrap_or(&"").split(',') {
                let v = v.trim().to_ascii_lowercase();
                // Service names (HTTP, krbtgt, host) are protocol words, not user data; they
                // also appear as client names (a service asking for S4U tickets).
                // So are RFC 8062's well-known names (WELLKNOWN/ANONYMOUS@WELLKNOWN:ANONYMOUS,
                // which MIT clients use to armour requests with anonymous PKINIT).
                let service = what.starts_with("kerberos.")
                    && [
                        "http",
                        "krbtgt",
                        "host",
                        "ldap",
                        "cifs",
                        "wellknown",
                        "anonymous",
                        "wellknown:anonymous",
                    ]
                    .contains(&v.as_str());
                if v.len() >= 4 && !service {
                    // A host's first label alone (`intranet`) is as telling as the name.
                    if let Some((label, _)) = v.split_once('.')
                        && label.len() >= 5
                    {
                        names.insert(label.to_string());
                    }
                    names.insert(v);
                }
            }
        }
    }
    names
}

#[test]
fn redact_leaves_no_user_host_or_realm() {
    let lab = root().join("captures/lab");
    let mut names = BTreeSet::new();
    let mut paths = Vec::new();
    for p in captures_in(&lab) {
        let n = p.file_name().unwrap().to_string_lossy().into_owned();
        let base = n.trim_end_matches(".gz");
        let tsv = lab.join(format!(
            "{}.tshark.tsv",
            base.rsplit_once('.').map_or(base, |(b, _)| b)
        ));
        if tsv.exists() {
            names.extend(tshark_names(&tsv));
        }
        paths.push(p.display().to_string());
    }
    // The realm and user each scenario was built with.
    for e in std::fs::read_dir(&lab).unwrap().flatten() {
        if e.path().to_string_lossy().ends_with(".expected.json") {
            let v: serde_json::Value =
                serde_json::from_slice(&std::fs::read(e.path()).unwrap()).unwrap();
            for k in ["realm", "user"] {
                if let Some(s) = v[k].as_str() {
                    names.insert(s.to_ascii_lowercase());
                }
            }
        }
    }
    println!("{} names: {names:?}", names.len());
    assert!(names.contains("lab.test") && names.contains("alice"));
    let args = |fmt: &'static str, redact: bool| {
        let mut a: Vec<String> = vec!["analyze".into(), "--format".into(), fmt.into()];
        if redact {
            a.push("--redact".into());
        }
        a.extend(paths.iter().cloned());
        a
    };
    // Unredacted, the report does name them (so the check below can fail).
    let plain = run_cli(
        &args("json", false)
            .iter()
            .map(String::as_str)
            .collect::<Vec<_>>(),
    );
    let plain = String::from_utf8_lossy(&plain).to_ascii_lowercase();
    let shown: Vec<&String> = names
        .iter()
        .filter(|n| plain.contains(n.as_str()))
        .collect();
    assert!(shown.len() >= 5, "report names too few: {shown:?}");
    for fmt in ["text", "json", "ndjson", "markdown", "html"] {
        let a = args(fmt, true);
        let out = run_cli(&a.iter().map(String::as_str).collect::<Vec<_>>());
        // Capture paths are the user's own file names, not data from the capture.
        let mut text = String::from_utf8_lossy(&out).to_ascii_lowercase();
        for p in &paths {
            text = text.replace(&p.to_ascii_lowercase(), "");
        }
        for n in &names {
            assert!(
                !text.contains(n.as_str()),
                "--redact --format {fmt} leaks {n:?}"
            );
        }
    }
}

/// A Basic-auth request (no committed capture has one): the user name may be shown, the
/// password never.
#[test]
fn basic_auth_password_never_printed() {
    let password = "Tr0ub4dor&3-horse";
    let cred = STANDARD.encode(format!("bob:{password}"));
    let http = format!("GET /x HTTP/1.1\r\nHost: w\r\nAuthorization: Basic {cred}\r\n\r\n");
    // pcap, Ethernet: SYN, SYN/ACK, the request (checksums 0: not verified).
    let tcp = |sport: u16, dport: u16, seq: u32, ack: u32, flags: u8, data: &[u8]| {
        let (src, dst) = if sport == 80 {
            ([192, 0, 2, 2], [192, 0, 2, 1])
        } else {
            ([192, 0, 2, 1], [192, 0, 2, 2])
        };
        let mut p = vec![0u8; 12];
        p.extend_from_slice(&[0x08, 0x00, 0x45, 0]);
        p.extend_from_slice(&((40 + data.len()) as u16).to_be_bytes());
        p.extend_from_slice(&[0, 0, 0x40, 0, 64, 6, 0, 0]);
        p.extend_from_slice(&src);
        p.extend_from_slice(&dst);
        p.extend_from_slice(&sport.to_be_bytes());
        p.extend_from_slice(&dport.to_be_bytes());
        p.extend_from_slice(&seq.to_be_bytes());
        p.extend_from_slice(&ack.to_be_bytes());
        p.extend_from_slice(&[0x50, flags, 0xFF, 0xFF, 0, 0, 0, 0]);
        p.extend_from_slice(data);
        p
    };
    let frames = [
        tcp(40000, 80, 1, 0, 0x02, b""),
        tcp(80, 40000, 9, 2, 0x12, b""),
        tcp(40000, 80, 2, 10, 0x18, http.as_bytes()),
    ];
    let mut pcap = vec![0xD4, 0xC3, 0xB2, 0xA1, 2, 0, 4, 0, 0, 0, 0, 0, 0, 0, 0, 0];
    pcap.extend_from_slice(&65535u32.to_le_bytes());
    pcap.extend_from_slice(&1u32.to_le_bytes());
    for (i, f) in frames.iter().enumerate() {
        pcap.extend_from_slice(&(1_700_000_000u32 + i as u32).to_le_bytes());
        pcap.extend_from_slice(&0u32.to_le_bytes());
        pcap.extend_from_slice(&(f.len() as u32).to_le_bytes());
        pcap.extend_from_slice(&(f.len() as u32).to_le_bytes());
        pcap.extend_from_slice(f);
    }
    let path = std::env::temp_dir().join(format!("kerbscope-basic-{}.pcap", std::process::id()));
    std::fs::write(&path, &pcap).unwrap();
    let p = path.display().to_string();
    let events = run_cli(&["events", &p]);
    assert!(
        find(&events, b"\"basic_user\":\"bob\""),
        "{}",
        String::from_utf8_lossy(&events)
    );
    let mut outs = vec![events];
    for fmt in ["text", "json", "ndjson", "markdown", "html"] {
        outs.push(run_cli(&["analyze", "--format", fmt, &p]));
    }
    let _ = std::fs::remove_file(&path);
    for out in outs {
        assert!(!find(&out, password.as_bytes()));
        assert!(!find(&out, cred.as_bytes()));
        assert!(!find(&out, STANDARD.encode(password).as_bytes()));
    }
}
