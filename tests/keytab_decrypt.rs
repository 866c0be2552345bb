//! `--keytab` decryption on the lab captures (captures/lab/README.md): which key opens which
//! ticket is known from how each scenario was built (the KDC keytab holds every key the KDC
//! used; the service keytab is what Apache was given), and the set of frames tshark
//! (`-K keytab -o kerberos.decrypt:TRUE`) decrypts is recorded in the expectations below.

use std::collections::HashMap;
use std::path::{Path, PathBuf};

use base64::Engine;
use kerbscope::capture::CaptureReader;
use kerbscope::crypto::{
    Keyring, SessionKeys, TicketProof, ap_req_bytes, inspect_message, krb_message_bytes,
};
use kerbscope::net::{NetDecoder, NetLimits, Transport};

fn lab(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("captures/lab")
        .join(name)
}

const KRB_PORT: u16 = 88;

/// Every Kerberos message of a capture with its frame number: UDP/88 datagrams, TCP/88 records
/// (reassembled per direction), and AP-REQs inside HTTP `Negotiate` headers.
fn kerberos_messages(pcap: &Path) -> Vec<(u64, Vec<u8>)> {
    let mut reader = CaptureReader::open(pcap).unwrap();
    let mut net = NetDecoder::new(NetLimits::default());
    let mut tcp88: HashMap<(String, u16, String, u16), Vec<u8>> = HashMap::new();
    let mut http: HashMap<(String, u16, String, u16), Vec<u8>> = HashMap::new();
    let mut out = Vec::new();
    while let Some(frame) = reader.next_frame().unwrap() {
        let number = frame.number;
        let Some(pkt) = net.decode(&frame) else {
            continue;
        };
        let on_88 = pkt.sport == KRB_PORT || pkt.dport == KRB_PORT;
        match pkt.transport {
            Transport::Udp { payload } if on_88 => out.push((number, payload.to_vec())),
            Transport::Tcp(seg) if on_88 && !seg.payload.is_empty() => {
                let key = (
                    pkt.src.to_string(),
                    pkt.sport,
                    pkt.dst.to_string(),
                    pkt.dport,
                );
                let buf = tcp88.entry(key).or_default();
                buf.extend_from_slice(seg.payload);
                if let Some(len) = buf
                    .get(..4)
                    .map(|b| u32::from_be_bytes(b.try_into().unwrap()))
                {
                    let len = len as usize;
                    if buf.len() >= 4 + len {
                        out.push((number, buf[4..4 + len].to_vec()));
                        buf.clear();
                    }
                }
            }
            Transport::Tcp(seg) if !seg.payload.is_empty() => {
                // HTTP headers may span segments (a delegated TGT makes them long).
                let key = (
                    pkt.src.to_string(),
                    pkt.sport,
                    pkt.dst.to_string(),
                    pkt.dport,
                );
                let buf = http.entry(key).or_default();
                buf.extend_from_slice(seg.payload);
                if !buf.windows(4).any(|w| w == b"\r\n\r\n") {
                    continue;
                }
                let text = String::from_utf8_lossy(buf).into_owned();
                buf.clear();
                for line in text.split("\r\n") {
                    let Some((_, b64)) = line.split_once("Negotiate ") else {
                        continue;
                    };
                    let Ok(token) = base64::engine::general_purpose::STANDARD.decode(b64.trim())
                    else {
                        continue;
                    };
                    if let Some(m) = krb_message_bytes(&token) {
                        assert!(ap_req_bytes(&token).is_none_or(|ap| ap == m));
                        out.push((number, m.to_vec()));
                    }
                }
            }
            _ => {}
        }
    }
    out
}

fn keyring(files: &[&str]) -> Keyring {
    let mut ring = Keyring::new();
    for f in files {
        ring.merge(Keyring::load_keytab(&lab(f)).unwrap());
    }
    ring
}

/// (frame, proof) for every encrypted part of every Kerberos message in the capture.
fn proofs(pcap: &str, keytabs: &[&str]) -> Vec<(u64, TicketProof)> {
    let ring = keyring(keytabs);
    let mut learnt = SessionKeys::new();
    let mut out = Vec::new();
    for (frame, msg) in kerberos_messages(&lab(pcap)) {
        for p in inspect_message(&msg, &ring, &mut learnt) {
            out.push((frame, p));
        }
    }
    out
}

/// Every lab capture with its scenario's KDC keytab.
fn lab_captures() -> Vec<(String, String)> {
    let mut out = Vec::new();
    for entry in std::fs::read_dir(lab("")).unwrap() {
        let name = entry.unwrap().file_name().to_string_lossy().into_owned();
        let Some(stem) = [".pcap.gz", ".pcapng", ".pcap"]
            .iter()
            .find_map(|x| name.strip_suffix(x))
        else {
            continue;
        };
        let scenario = stem.split("__").next().unwrap();
        let kdc = format!("{scenario}.kdc.keytab");
        if lab(&kdc).exists() {
            out.push((name.clone(), kdc));
        }
    }
    out.sort();
    out
}

/// Per frame: tickets opened, authenticator opened, enc-parts opened, KRB-CRED enc-part opened
/// (the counts `tshark -K` output is compared with).
fn frame_counts(pcap: &str, keytab: &str) -> Vec<(u64, usize, usize, usize, usize)> {
    let mut rows: Vec<(u64, usize, usize, usize, usize)> = Vec::new();
    for (frame, p) in proofs(pcap, &[keytab]) {
        if rows.last().is_none_or(|r| r.0 != frame) {
            rows.push((frame, 0, 0, 0, 0));
        }
        let r = rows.last_mut().unwrap();
        if p.decrypted {
            match p.what {
                "authenticator" => r.2 = 1,
                "enc-part" => r.3 += 1,
                _ => r.1 += 1,
            }
        }
        if !p.delegated_flags.is_empty() {
            r.4 += 1;
        }
    }
    rows
}

/// Print the per-frame counts that were compared with tshark's, frame by frame
/// (`cargo test --test keytab_decrypt -- --ignored --nocapture dump`).
#[test]
#[ignore]
fn dump() {
    for (pcap, kt) in lab_captures() {
        for (f, t, a, e, c) in frame_counts(&pcap, &kt) {
            println!("DUMP {pcap} {f} T{t} A{a} E{e} CRED{c}");
        }
    }
}

/// A capture listed in the tshark tables, with its scenario's KDC keytab (the lab grows: the
/// tables name the captures they were made for).
fn capture_and_keytab(name: &str) -> (String, String) {
    lab_captures()
        .into_iter()
        .find(|(p, _)| p == name)
        .unwrap_or_else(|| panic!("{name} missing from captures/lab"))
}

/// Per capture, with the scenario's KDC keytab: encrypted parts tshark 4.0.17 decrypted
/// (`tshark -r X -K <scenario>.kdc.keytab -o kerberos.decrypt:TRUE -Y kerberos -T fields -e
/// frame.number -e kerberos.encTicketPart_element -e kerberos.authenticator_element -e
/// kerberos.encASRepPart_element -e kerberos.encTGSRepPart_element -e
/// kerberos.encAPRepPart_element -e kerberos.encKrbCredPart_element`): tickets, frames with a
/// decrypted authenticator, KDC-REP/AP-REP enc-parts, KRB-CRED enc-parts.
const TSHARK_DECRYPTED: [(&str, usize, usize, usize, usize); 21] = [
    ("alias_fixed_nocanon.pcap", 4, 2, 3, 0),
    ("delegation_missing_nodeleg.pcap", 4, 2, 3, 0),
    ("delegation_missing_not_forwardable.pcap", 6, 4, 3, 0),
    ("delegation_ok.pcap", 10, 5, 6, 1),
    ("healthy.pcap", 4, 2, 3, 0),
    ("healthy__sll.pcap", 4, 2, 3, 0),
    ("healthy__sll2.pcap", 4, 2, 3, 0),
    ("healthy_tcp.pcap", 4, 2, 3, 0),
    ("healthy_tcp__pcapng.pcapng", 4, 2, 3, 0),
    ("key_mismatch_same_kvno.pcap", 4, 2, 2, 0),
    ("key_mismatch_same_kvno_emulated41.pcap", 4, 2, 2, 0),
    ("ntlm_fallback_cname.pcap", 3, 2, 1, 0),
    // tshark also counts the S4U2Proxy additional ticket a second time, inside the decrypted
    // FAST inner request body (usage 51); kerbscope opens each ticket once: 6.
    ("s4u2proxy_refused.pcap", 7, 3, 3, 0),
    ("spn_missing_acceptor_silent.pcap", 4, 2, 2, 0),
    ("spn_missing_from_keytab.pcap", 4, 2, 2, 0),
    ("stale_keytab_kvno.pcap", 4, 2, 2, 0),
    ("stale_keytab_kvno__gz.pcap.gz", 4, 2, 2, 0),
    ("wrong_spn_cname_other_account.pcap", 4, 2, 2, 0),
    ("wrong_spn_cname_other_account_emulated41.pcap", 4, 2, 2, 0),
    ("wrong_spn_cname_unknown.pcap", 5, 4, 1, 0),
    ("wrong_spn_cname_unknown__vlan.pcap", 5, 4, 1, 0),
];

#[test]
fn decrypted_parts_agree_with_tshark_on_every_lab_capture() {
    for (name, t, a, e, c) in TSHARK_DECRYPTED {
        let (pcap, kt) = capture_and_keytab(name);
        let rows = frame_counts(&pcap, &kt);
        let sum =
            |f: fn(&(u64, usize, usize, usize, usize)) -> usize| rows.iter().map(f).sum::<usize>();
        let tickets = if name.starts_with("s4u2proxy") {
            t - 1
        } else {
            t
        };
        assert_eq!(
            (sum(|r| r.1), sum(|r| r.2), sum(|r| r.3), sum(|r| r.4)),
            (tickets, a, e, c),
            "{pcap}"
        );
    }
}

fn at(proofs: &[(u64, TicketProof)], frame: u64, what: &str) -> TicketProof {
    proofs
        .iter()
        .find(|(f, p)| *f == frame && p.what == what)
        .map(|(_, p)| p.clone())
        .unwrap_or_else(|| panic!("no {what} proof at frame {frame}"))
}

fn refs(keys: &[kerbscope::crypto::KeyRef]) -> Vec<(String, Option<u32>, i32, String)> {
    keys.iter()
        .map(|k| (k.principal.clone(), k.kvno, k.etype, k.source.clone()))
        .collect()
}

/// `klist -kte` (MIT 1.20) on the lab keytabs: principals, kvnos and enctypes.
#[test]
fn keytabs_read_as_klist_lists_them() {
    let ring = Keyring::load_keytab(&lab("healthy.kdc.keytab")).unwrap();
    let got: Vec<(String, Option<u32>, i32)> = ring
        .key_refs()
        .into_iter()
        .map(|k| (k.principal, k.kvno, k.etype))
        .collect();
    let mut want = Vec::new();
    for (p, kvno) in [("krbtgt/LAB.TEST", 1), ("alice", 1)]
        .into_iter()
        .chain(["web1", "intranet", "portal", "mid", "back", "other"].map(|h| (h, 2)))
    {
        let principal = if kvno == 2 {
            format!("HTTP/{p}.lab.test@LAB.TEST")
        } else {
            format!("{p}@LAB.TEST")
        };
        want.push((principal.clone(), Some(kvno), 18));
        want.push((principal, Some(kvno), 17));
    }
    assert_eq!(got, want);
    // The stale service keytab: HTTP/web1 kvno 2 only; the KDC's has kvno 3.
    let stale = Keyring::load_keytab(&lab("stale_keytab_kvno.service-web1.keytab")).unwrap();
    let kv: Vec<_> = stale
        .key_refs()
        .into_iter()
        .map(|k| (k.principal, k.kvno, k.etype))
        .collect();
    let web1 = "HTTP/web1.lab.test@LAB.TEST".to_string();
    assert_eq!(
        kv,
        [(web1.clone(), Some(2), 18), (web1.clone(), Some(2), 17)]
    );
    let kdc = Keyring::load_keytab(&lab("stale_keytab_kvno.kdc.keytab")).unwrap();
    assert!(
        kdc.key_refs()
            .iter()
            .any(|k| k.principal == web1 && k.kvno == Some(3))
    );
    assert!(Keyring::load_keytab(&lab("healthy.pcap")).is_err());
}

#[test]
fn healthy_ticket_opens_with_the_service_keytab_and_shows_the_client() {
    let p = proofs("healthy.pcap", &["healthy.service-web1.keytab"]);
    let ticket = at(&p, 28, "ticket");
    assert!(ticket.decrypted);
    assert_eq!(
        refs(ticket.key.as_slice()),
        [(
            "HTTP/web1.lab.test@LAB.TEST".into(),
            Some(2),
            18,
            "healthy.service-web1.keytab".into()
        )]
    );
    assert!(ticket.tried.is_empty());
    assert_eq!(ticket.client.as_deref(), Some("alice@LAB.TEST"));
    assert_eq!(ticket.pac_user.as_deref(), Some("alice"));
    // kinit -f: forwardable; MIT does not set ok-as-delegate unless the principal has it.
    assert!(ticket.flags.contains(&"forwardable") && !ticket.flags.contains(&"ok-as-delegate"));
    let auth = at(&p, 28, "authenticator");
    assert!(auth.decrypted);
    assert_eq!(auth.gss_flags, ["mutual", "replay", "conf", "integ"]);
    assert_eq!(auth.delegated_tgt, Some(false));
    // The AP-REP in the 200 (frame 29) opens with that session key: mutual authentication.
    assert!(at(&p, 29, "enc-part").decrypted);
    // The service keytab has no krbtgt key: the TGT in the TGS-REQ stays closed, and says why.
    let tgt = at(&p, 26, "ticket");
    assert!(!tgt.decrypted && tgt.key.is_none());
    assert_eq!(tgt.tried_other_principals, 1);
    assert!(
        tgt.note
            .unwrap()
            .starts_with("no key for krbtgt/LAB.TEST@LAB.TEST")
    );
}

#[test]
fn key_mismatch_ticket_opens_with_the_kdc_keytab_not_the_service_one() {
    let service = "key_mismatch_same_kvno.service-web1.keytab";
    let p = proofs(
        "key_mismatch_same_kvno.pcap",
        &[service, "key_mismatch_same_kvno.kdc.keytab"],
    );
    let ticket = at(&p, 28, "ticket");
    assert!(ticket.decrypted);
    assert_eq!(ticket.kvno, Some(2));
    assert_eq!(
        ticket.key.unwrap().source,
        "key_mismatch_same_kvno.kdc.keytab"
    );
    assert_eq!(
        refs(&ticket.tried),
        [(
            "HTTP/web1.lab.test@LAB.TEST".into(),
            Some(2),
            18,
            service.into()
        )]
    );
    // The service keytab alone: same kvno, other key, nothing opens it.
    let p = proofs("key_mismatch_same_kvno.pcap", &[service]);
    let ticket = at(&p, 28, "ticket");
    assert!(!ticket.decrypted && ticket.key.is_none());
    assert_eq!(ticket.tried.len(), 1);
    assert!(
        ticket
            .note
            .unwrap()
            .starts_with("none of the 1 key(s) for HTTP/web1")
    );
    assert!(!at(&p, 28, "authenticator").decrypted);
}

#[test]
fn stale_keytab_has_only_kvno_2_for_a_kvno_3_ticket() {
    let service = "stale_keytab_kvno.service-web1.keytab";
    let p = proofs("stale_keytab_kvno.pcap", &[service]);
    let ticket = at(&p, 28, "ticket");
    assert_eq!((ticket.decrypted, ticket.kvno), (false, Some(3)));
    let tried_kvnos: Vec<_> = ticket.tried.iter().map(|k| k.kvno).collect();
    assert_eq!(tried_kvnos, [Some(2)]);
    let p = proofs(
        "stale_keytab_kvno.pcap",
        &["stale_keytab_kvno.kdc.keytab", service],
    );
    let ticket = at(&p, 28, "ticket");
    let key = ticket.key.unwrap();
    assert_eq!(
        (key.kvno, key.source.as_str()),
        (Some(3), "stale_keytab_kvno.kdc.keytab")
    );
}

#[test]
fn ticket_for_a_principal_missing_from_the_keytab() {
    // spn_missing_from_keytab: Apache's keytab holds only HTTP/other (KRB-ERROR 35).
    let p = proofs(
        "spn_missing_from_keytab.pcap",
        &["spn_missing_from_keytab.service-web1.keytab"],
    );
    let ticket = at(&p, 28, "ticket");
    assert_eq!(ticket.service, "HTTP/web1.lab.test@LAB.TEST");
    assert!(!ticket.decrypted && ticket.tried.is_empty());
    assert_eq!(ticket.tried_other_principals, 1);
}

#[test]
fn delegation_proofs() {
    // delegation_ok: the AP-REQ to hop 1 (frame 33) carries a forwarded TGT.
    let p = proofs(
        "delegation_ok.pcap",
        &[
            "delegation_ok.service-hop1.keytab",
            "delegation_ok.kdc.keytab",
        ],
    );
    let auth = at(&p, 33, "authenticator");
    assert!(auth.gss_flags.contains(&"deleg"));
    assert_eq!(auth.delegated_tgt, Some(true));
    assert!(auth.delegated_flags.contains(&"forwarded"));
    let tgt = at(&p, 33, "delegated-ticket");
    assert_eq!(tgt.service, "krbtgt/LAB.TEST@LAB.TEST");
    assert!(tgt.decrypted && tgt.flags.contains(&"forwarded"));
    // No --delegation: mutual but no deleg flag, no KRB-CRED (AP-REQ of frame 30).
    let p = proofs(
        "delegation_missing_nodeleg.pcap",
        &["delegation_missing_nodeleg.service-hop1.keytab"],
    );
    let (frame, auth) = p
        .iter()
        .find(|(_, t)| t.what == "authenticator" && t.service.starts_with("HTTP/mid"))
        .unwrap();
    assert!(auth.decrypted && !auth.gss_flags.contains(&"deleg"));
    assert!(auth.gss_flags.contains(&"mutual"));
    assert_eq!(auth.delegated_tgt, Some(false));
    assert!(at(&p, *frame, "ticket").flags.contains(&"forwardable"));
    // kinit -F: the TGT, and so the service ticket, are not forwardable.
    let p = proofs(
        "delegation_missing_not_forwardable.pcap",
        &["delegation_missing_not_forwardable.service-hop1.keytab"],
    );
    let (frame, auth) = p
        .iter()
        .find(|(_, t)| t.what == "authenticator" && t.service.starts_with("HTTP/mid"))
        .unwrap();
    assert_eq!(auth.delegated_tgt, Some(false));
    let ticket = at(&p, *frame, "ticket");
    assert!(
        ticket.decrypted && !ticket.flags.contains(&"forwardable"),
        "frame {frame}"
    );
}

#[test]
fn alice_password_opens_the_as_rep_and_nothing_without_keys() {
    // lab/run.sh creates alice with this password (lab-only test data); default salt.
    let mut ring = Keyring::new();
    assert_eq!(
        ring.add_password("alice@LAB.TEST", "Alice-Lab-Pw-1", None)
            .unwrap(),
        5
    );
    let mut learnt = SessionKeys::new();
    let mut opened = Vec::new();
    for (frame, msg) in kerberos_messages(&lab("healthy.pcap")) {
        for p in inspect_message(&msg, &ring, &mut learnt) {
            opened.push((frame, p.what, p.decrypted, p.key.map(|k| k.source)));
        }
    }
    assert!(opened.contains(&(6, "enc-part", true, Some("password".into()))));
    // The client's view alone: AS-REP → TGT session key → PA-TGS-REQ authenticator → FAST
    // armor → TGS-REP → service session key → the AP-REQ authenticator, no service key needed.
    assert!(opened.contains(&(26, "authenticator", true, Some("kdc-reply".into()))));
    assert!(opened.contains(&(27, "enc-part", true, Some("capture".into()))));
    assert!(opened.contains(&(28, "ticket", false, None)));
    assert!(opened.contains(&(28, "authenticator", true, Some("kdc-reply".into()))));
    let mut wrong = Keyring::new();
    wrong
        .add_password("alice@LAB.TEST", "not-the-password", None)
        .unwrap();
    let mut learnt = SessionKeys::new();
    let mut empty_learnt = SessionKeys::new();
    for (_, msg) in kerberos_messages(&lab("healthy.pcap")) {
        assert!(inspect_message(&msg, &Keyring::new(), &mut empty_learnt).is_empty());
        for p in inspect_message(&msg, &wrong, &mut learnt) {
            assert!(!p.decrypted, "{p:?}");
            assert!(p.note.is_some());
        }
    }
}

#[test]
fn no_secret_in_serialised_proofs() {
    let p = proofs("delegation_ok.pcap", &["delegation_ok.kdc.keytab"]);
    let json = serde_json::to_string(&p.iter().map(|(_, p)| p).collect::<Vec<_>>()).unwrap();
    assert!(!json.contains("keyvalue") && !json.contains("cipher"));
    // No long hex or base64 runs (a 16-byte key is 32 hex digits).
    let longest_hex = json
        .split(|c: char| !c.is_ascii_hexdigit())
        .map(str::len)
        .max()
        .unwrap_or(0);
    assert!(longest_hex < 16, "{longest_hex}");
}

#[test]
fn cut_and_flipped_messages_never_panic() {
    let ring = keyring(&["delegation_ok.kdc.keytab"]);
    for (_, msg) in kerberos_messages(&lab("delegation_ok.pcap")) {
        let mut learnt = SessionKeys::new();
        inspect_message(&msg, &ring, &mut learnt);
        for cut in (0..msg.len()).step_by(37) {
            inspect_message(&msg[..cut], &ring, &mut learnt);
        }
        for i in (0..msg.len()).step_by(53) {
            let mut bad = msg.clone();
            bad[i] ^= 0x80;
            for p in inspect_message(&bad, &ring, &mut learnt) {
                // A flipped bit inside a ciphertext must fail its integrity check, not decode.
                assert!(!p.decrypted || p.note.is_none());
            }
        }
    }
}

/// Decrypt throughput, for the record (not a timed test):
/// `cargo test --release --test keytab_decrypt -- --ignored --nocapture decrypt_speed`
#[test]
#[ignore]
fn decrypt_speed() {
    let ring = keyring(&["delegation_ok.kdc.keytab"]);
    let msgs = kerberos_messages(&lab("delegation_ok.pcap"));
    let rounds = 2000;
    let start = std::time::Instant::now();
    let mut opened = 0usize;
    for _ in 0..rounds {
        let mut learnt = SessionKeys::new();
        for (_, m) in &msgs {
            opened += inspect_message(m, &ring, &mut learnt)
                .iter()
                .filter(|p| p.decrypted && p.what.ends_with("ticket"))
                .count();
        }
    }
    let secs = start.elapsed().as_secs_f64();
    println!(
        "{opened} tickets opened (with their authenticators, KDC/AP reps) in {secs:.2}s: {:.0} tickets/s",
        opened as f64 / secs
    );
}

/// The proofs the product attaches to events (`events --keytab`: decode, merge, one proof pass
/// in frame order), per frame in the `frame_counts` shape.
fn pipeline_counts(pcap: &str, keytab: &str, threads: usize) -> Vec<Row> {
    use kerbscope::event::EventBody;
    use kerbscope::pipeline::{DissectOptions, dissect_file_with};
    let opts = DissectOptions {
        threads,
        keys: Some(std::sync::Arc::new(keyring(&[keytab]))),
        ..DissectOptions::default()
    };
    let run = dissect_file_with(&lab(pcap), 0, &opts).unwrap();
    let mut rows: Vec<Row> = Vec::new();
    for ev in &run.events {
        let proofs = match &ev.body {
            EventBody::Kerberos(k) => &k.proofs,
            EventBody::Http(h) => &h.proofs,
            EventBody::Spnego(g) | EventBody::Ntlm(g) => &g.proofs,
            EventBody::Dns(_) => continue,
        };
        if proofs.is_empty() {
            continue;
        }
        if rows.last().is_none_or(|r| r.0 != ev.frame) {
            rows.push((ev.frame, 0, 0, 0, 0));
        }
        let r = rows.last_mut().unwrap();
        for p in proofs {
            if p.decrypted {
                match p.what {
                    "authenticator" => r.2 = 1,
                    "enc-part" => r.3 += 1,
                    _ => r.1 += 1,
                }
            }
            if !p.delegated_flags.is_empty() {
                r.4 += 1;
            }
        }
    }
    rows.retain(|r| r.1 + r.2 + r.3 + r.4 > 0);
    rows
}

/// Per capture, with the scenario's KDC keytab, the frames tshark 4.0.17 decrypts something in
/// and what (same command as `TSHARK_DECRYPTED`, one `frame:TAEC` per frame: tickets,
/// authenticator, KDC-REP/AP-REP enc-parts, KRB-CRED enc-parts). s4u2proxy_refused frame 48:
/// tshark shows 3 tickets, the additional ticket twice (see `TSHARK_DECRYPTED`).
const TSHARK_FRAMES: [&str; 21] = [
    "alias_fixed_nocanon.pcap 6:1010 22:1100 23:1010 24:1100 25:0010",
    "delegation_missing_nodeleg.pcap 6:1010 28:1100 29:1010 30:1100 49:0010",
    "delegation_missing_not_forwardable.pcap 6:1010 28:1100 29:1010 30:1100 32:1100 34:1100 53:0010",
    "delegation_ok.pcap 6:1010 28:1100 29:1010 30:1100 31:1010 33:2101 50:1100 51:1010 52:1100 53:0010 59:0010",
    "healthy.pcap 6:1010 26:1100 27:1010 28:1100 29:0010",
    "healthy__sll.pcap 6:1010 26:1100 27:1010 28:1100 29:0010",
    "healthy__sll2.pcap 6:1010 26:1100 27:1010 28:1100 29:0010",
    "healthy_tcp.pcap 18:1010 45:1100 47:1010 50:1100 51:0010",
    "healthy_tcp__pcapng.pcapng 18:1010 45:1100 47:1010 50:1100 51:0010",
    "key_mismatch_same_kvno.pcap 6:1010 26:1100 27:1010 28:1100",
    "key_mismatch_same_kvno_emulated41.pcap 6:1010 26:1100 27:1010 28:1100",
    "ntlm_fallback_cname.pcap 6:1010 28:1100 30:1100",
    "s4u2proxy_refused.pcap 6:1010 28:1100 29:1010 30:1100 48:3100 61:0010",
    "spn_missing_acceptor_silent.pcap 6:1010 26:1100 27:1010 28:1100",
    "spn_missing_from_keytab.pcap 6:1010 26:1100 27:1010 28:1100",
    "stale_keytab_kvno.pcap 6:1010 26:1100 27:1010 28:1100",
    "stale_keytab_kvno__gz.pcap.gz 6:1010 26:1100 27:1010 28:1100",
    "wrong_spn_cname_other_account.pcap 6:1010 26:1100 27:1010 28:1100",
    "wrong_spn_cname_other_account_emulated41.pcap 6:1010 26:1100 27:1010 28:1100",
    "wrong_spn_cname_unknown.pcap 6:1010 26:1100 28:1100 36:1100 38:1100",
    "wrong_spn_cname_unknown__vlan.pcap 6:1010 26:1100 28:1100 36:1100 38:1100",
];

/// (frame, tickets, authenticator, enc-parts, KRB-CRED enc-parts).
type Row = (u64, usize, usize, usize, usize);

fn tshark_frames(line: &str) -> (&str, Vec<Row>) {
    let mut words = line.split(' ');
    let name = words.next().unwrap();
    let rows = words
        .map(|w| {
            let (frame, c) = w.split_once(':').unwrap();
            let d: Vec<usize> = c.bytes().map(|b| usize::from(b - b'0')).collect();
            let frame: u64 = frame.parse().unwrap();
            let tickets = if name.starts_with("s4u2proxy") && frame == 48 {
                d[0] - 1
            } else {
                d[0]
            };
            (frame, tickets, d[1], d[2], d[3])
        })
        .collect();
    (name, rows)
}

/// `kerbscope events --keytab` decrypts exactly what tshark -K decrypts, on the frames tshark
/// decrypts it on (an HTTP message at the frame that completes it, as Wireshark reports it), for
/// every thread count: session keys learnt on one flow open parts on another, whichever worker
/// decoded them.
#[test]
fn events_with_keytab_decrypt_on_the_frames_tshark_does_for_every_thread_count() {
    for line in TSHARK_FRAMES {
        let (name, want) = tshark_frames(line);
        let (pcap, kt) = capture_and_keytab(name);
        for threads in [1, 2, 3] {
            let got = pipeline_counts(&pcap, &kt, threads);
            assert_eq!(got, want, "{pcap} -j{threads}");
        }
    }
}

/// The ticket objects of `events --keytab` carry `decrypted`, and the `key` and what it proves
/// only when true; without keys they carry none of it.
#[test]
fn ticket_objects_carry_decrypted_and_key() {
    use kerbscope::pipeline::{DissectOptions, dissect_file_with};
    let opts = DissectOptions {
        threads: 2,
        keys: Some(std::sync::Arc::new(keyring(&[
            "healthy.service-web1.keytab",
        ]))),
        ..DissectOptions::default()
    };
    let run = dissect_file_with(&lab("healthy.pcap"), 0, &opts).unwrap();
    let line = |frame: u64| -> serde_json::Value {
        let ev = run.events.iter().find(|e| e.frame == frame).unwrap();
        serde_json::to_value(ev).unwrap()
    };
    // Frame 28: the AP-REQ to web1 in the Authorization header.
    let ap = line(28);
    let ticket = &ap["gss"]["mech_token"]["message"]["ticket"];
    assert_eq!(ticket["decrypted"], true);
    assert_eq!(ticket["key"]["principal"], "HTTP/web1.lab.test@LAB.TEST");
    assert_eq!(ticket["key"]["kvno"], 2);
    assert_eq!(ticket["client"], "alice@LAB.TEST");
    assert!(ticket["authtime"].is_string());
    assert!(
        ticket["flags"]
            .as_array()
            .unwrap()
            .contains(&"forwardable".into())
    );
    // Frame 26: the TGT in the TGS-REQ; the service keytab has no krbtgt key.
    let tgs = line(26);
    assert_eq!(tgs["ticket"]["decrypted"], false);
    assert!(tgs["ticket"].get("key").is_none() && tgs["ticket"].get("client").is_none());
    // Without keys: no decrypted, key or proofs anywhere.
    let plain = dissect_file_with(&lab("healthy.pcap"), 0, &DissectOptions::default()).unwrap();
    let text = serde_json::to_string(&plain.events).unwrap();
    assert!(!text.contains("\"decrypted\"") && !text.contains("\"proofs\""));
}
