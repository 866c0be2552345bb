//! A crafted capture whose names are hostile: the lab recording of the CNAME fault with every
//! `portal` (DNS alias, HTTP Host) replaced by the 6 bytes `<u>zz>` and every `web2` (CNAME
//! target, SPN in the TGS-REQ and KRB-ERROR) by the 4 bytes ESC `[2J` (clear screen). Same
//! lengths, so every length field and the DER stay valid. The finding must still come out, and
//! in every format the strings must be inert: no raw escape in text, no markup in markdown, and
//! in the HTML opened by headless Chromium no `<u>` element (the report never uses one itself).

mod common;

use std::path::{Path, PathBuf};
use std::process::Command;

const ALIAS: &[u8] = b"portal";
const HOSTILE_ALIAS: &[u8] = b"<u>zz>";
const TARGET: &[u8] = b"web2";
const HOSTILE_TARGET: &[u8] = b"\x1b[2J";

fn replace_all(data: &mut [u8], from: &[u8], to: &[u8]) -> usize {
    assert_eq!(from.len(), to.len());
    let mut n = 0;
    let mut i = 0;
    while i + from.len() <= data.len() {
        if &data[i..i + from.len()] == from {
            data[i..i + from.len()].copy_from_slice(to);
            n += 1;
            i += from.len();
        } else {
            i += 1;
        }
    }
    n
}

fn crafted() -> PathBuf {
    let src =
        Path::new(env!("CARGO_MANIFEST_DIR")).join("captures/lab/wrong_spn_cname_unknown.pcap");
    let mut bytes = std::fs::read(src).unwrap();
    assert!(replace_all(&mut bytes, ALIAS, HOSTILE_ALIAS) > 5);
    assert!(replace_all(&mut bytes, TARGET, HOSTILE_TARGET) > 5);
    let dir = std::env::temp_dir().join(format!("kerbscope-hostile-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let out = dir.join("hostile.pcap");
    std::fs::write(&out, bytes).unwrap();
    out
}

fn analyze(path: &Path, format: &str) -> String {
    let out = Command::new(env!("CARGO_BIN_EXE_kerbscope"))
        .args(["analyze", "--format", format])
        .arg(path)
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1), "findings expected: {out:?}");
    String::from_utf8(out.stdout).unwrap()
}

#[test]
fn hostile_names_from_a_capture_are_inert_in_every_format() {
    let path = crafted();
    let json: serde_json::Value = serde_json::from_str(&analyze(&path, "json")).unwrap();
    let f = json["findings"]
        .as_array()
        .unwrap()
        .iter()
        .find(|f| f["kind"] == "wrong_spn_cname")
        .expect("the CNAME finding survives hostile names");
    // JSON keeps the real bytes (escaped by JSON itself): the analysis saw the names.
    assert_eq!(f["alias"], "<u>zz>.lab.test");
    // Names are compared and reported in lower case (DNS names are case-insensitive).
    assert_eq!(f["canonical"], "\u{1b}[2j.lab.test");

    let text = analyze(&path, "text");
    assert!(!text.contains('\x1b'), "raw ESC in the text report");
    assert!(text.contains("\\x1b[2"), "the escape is shown, visibly");

    for format in ["markdown", "ndjson"] {
        let out = analyze(&path, format);
        assert!(!out.contains('\x1b'), "raw ESC in {format}");
    }
    // Markdown as a ticket system shows it: rendered by a CommonMark parser, the names must be
    // text (escaped, or inside code blocks), never an HTML element.
    let md = analyze(&path, "markdown");
    let mut rendered = String::new();
    pulldown_cmark::html::push_html(&mut rendered, pulldown_cmark::Parser::new(&md));
    assert!(
        !rendered.contains("<u>"),
        "the alias became markup in rendered markdown"
    );
    assert!(rendered.contains("&lt;u&gt;zz&gt;"), "alias shown as text");

    let html = analyze(&path, "html");
    assert!(!html.contains("<u>") && !html.contains('\x1b'));
    assert!(html.contains("&lt;u&gt;zz&gt;"), "escaped alias shown");

    let Some(chromium) = common::chromium() else {
        return;
    };
    let dir = path.parent().unwrap();
    let page = dir.join("report.html");
    std::fs::write(&page, &html).unwrap();
    let dom = Command::new(chromium)
        .args([
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--no-first-run",
        ])
        .arg(format!("--user-data-dir={}", dir.join("profile").display()))
        .arg("--dump-dom")
        .arg(format!("file://{}", page.display()))
        .output()
        .unwrap();
    let dom = String::from_utf8_lossy(&dom.stdout).to_string();
    assert!(
        dom.contains("</html>"),
        "chromium rendered nothing: {dom:.200}"
    );
    assert!(
        !dom.contains("<u>"),
        "the alias became markup in the browser"
    );
    assert!(
        dom.contains("&lt;u&gt;zz&gt;.lab.test"),
        "alias shown as text"
    );
    let _ = std::fs::remove_dir_all(dir);
}
