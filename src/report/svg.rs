//! A finding's evidence drawn as a UML-style sequence diagram in inline SVG (SVG 1.1 basic
//! shapes and text): one lifeline per distinct address of `evidence[].src/dst`, labelled with
//! its role when the finding names it (client / kdc / server, or dns for an address that only
//! answers DNS), one arrow per evidence item labelled with the frame number and `what`.
//! Every string is HTML-escaped; labels too long for their arrow are cut with an ellipsis and
//! kept whole in a `<title>` tooltip.

use std::fmt::Write as _;
use std::net::IpAddr;

use super::escape::{html, truncate};
use super::{role_of, server_ip};
use crate::analyze::finding::Details;
use crate::analyze::finding::Finding;

const COL_W: usize = 250;
const MARGIN: usize = 20;
const HEAD_H: usize = 44;
const TOP: usize = 70;
const ROW_H: usize = 46;
/// Approximate advance of one 12 px monospace character.
const CHAR_W: f64 = 7.3;
/// More arrows than this are summarised in one closing note.
const MAX_ROWS: usize = 200;

/// The lifelines of a finding's diagram, left to right, with their labels.
pub fn participants(f: &Finding) -> Vec<(IpAddr, &'static str)> {
    let mut addrs: Vec<IpAddr> = Vec::new();
    let client = f.client.filter(|&c| {
        f.evidence
            .iter()
            .any(|e| e.src == Some(c) || e.dst == Some(c))
    });
    addrs.extend(client);
    for e in &f.evidence {
        for a in [e.src, e.dst].into_iter().flatten() {
            if !addrs.contains(&a) {
                addrs.push(a);
            }
        }
    }
    addrs
        .into_iter()
        .map(|a| {
            let role = role_of(f, a)
                .or_else(|| second_hop(f, a))
                .unwrap_or_else(|| {
                    let dns_only = f
                        .evidence
                        .iter()
                        .filter(|e| e.src == Some(a) || e.dst == Some(a))
                        .all(|e| {
                            e.what
                                .get(..3)
                                .is_some_and(|p| p.eq_ignore_ascii_case("dns"))
                        });
                    if dns_only { "dns" } else { "host" }
                });
            (a, role)
        })
        .collect()
}

/// The diagram, or None when no evidence item names an address.
pub fn sequence_diagram(f: &Finding, id: usize) -> Option<String> {
    let parts = participants(f);
    if parts.is_empty() {
        return None;
    }
    let col_x = |i: usize| MARGIN + COL_W / 2 + i * COL_W;
    let index = |a: Option<IpAddr>| a.and_then(|a| parts.iter().position(|(p, _)| *p == a));
    let rows = f.evidence.len().min(MAX_ROWS) + usize::from(f.evidence.len() > MAX_ROWS);
    let width = 2 * MARGIN + parts.len() * COL_W;
    let height = TOP + rows * ROW_H + 20;
    let bottom = height - 10;

    let mut s = String::new();
    let _ = write!(
        s,
        r##"<svg xmlns="http://www.w3.org/2000/svg" class="seq" width="{width}" height="{height}" viewBox="0 0 {width} {height}" role="img" aria-label="sequence diagram of finding {id}" font-family="DejaVu Sans Mono, monospace" font-size="12">"##
    );
    let _ = write!(
        s,
        r##"<defs><marker id="ah{id}" viewBox="0 0 10 10" refX="9" refY="5" markerWidth="8" markerHeight="8" orient="auto-start-reverse"><path d="M0,0 L10,5 L0,10 z" fill="#333"/></marker><marker id="ahe{id}" viewBox="0 0 10 10" refX="9" refY="5" markerWidth="8" markerHeight="8" orient="auto-start-reverse"><path d="M0,0 L10,5 L0,10 z" fill="#c0392b"/></marker></defs>"##
    );
    let _ = write!(
        s,
        r##"<rect x="0" y="0" width="{width}" height="{height}" fill="#ffffff"/>"##
    );
    for (i, (addr, role)) in parts.iter().enumerate() {
        let x = col_x(i);
        let bx = x - (COL_W - 30) / 2;
        let fill = match *role {
            "client" => "#dbeafe",
            "kdc" => "#fde68a",
            "server" => "#d1fae5",
            "dns" => "#e9d5ff",
            _ => "#e5e7eb",
        };
        let _ = write!(
            s,
            r##"<line x1="{x}" y1="{}" x2="{x}" y2="{bottom}" stroke="#888" stroke-width="1.5" stroke-dasharray="5,4"/>"##,
            10 + HEAD_H
        );
        let _ = write!(
            s,
            r##"<rect x="{bx}" y="10" width="{}" height="{HEAD_H}" rx="6" fill="{fill}" stroke="#333"/>"##,
            COL_W - 30
        );
        let _ = write!(
            s,
            r##"<text x="{x}" y="28" text-anchor="middle" font-weight="bold">{}</text><text x="{x}" y="45" text-anchor="middle">{}</text>"##,
            html(role),
            html(&truncate(&addr.to_string(), 30))
        );
    }
    for (row, e) in f.evidence.iter().take(MAX_ROWS).enumerate() {
        let y = TOP + row * ROW_H + ROW_H / 2;
        let label = format!("frame {}  {}", e.frame, e.what);
        let is_error = {
            let w = e.what.to_ascii_lowercase();
            w.contains("error") || w.contains(" 401") || w.starts_with("401")
        };
        let (color, marker) = if is_error {
            ("#c0392b", "ahe")
        } else {
            ("#333", "ah")
        };
        let _ = write!(s, "<g><title>{}</title>", html(&label));
        match (index(e.src), index(e.dst)) {
            (Some(a), Some(b)) if a != b => {
                let (x1, x2) = (col_x(a), col_x(b));
                // The label starts at the arrow's left end and may run over the lifelines to
                // its right; an arrow near the right edge anchors its label at its right end.
                let (lo, hi) = (x1.min(x2), x1.max(x2));
                let room_right = width.saturating_sub(lo + MARGIN);
                let room_left = hi.saturating_sub(MARGIN);
                let (anchor, tx, room) = if room_right >= room_left {
                    ("start", lo + 6, room_right)
                } else {
                    ("end", hi - 6, room_left)
                };
                let max_chars = ((room as f64 - 12.0) / CHAR_W).max(8.0) as usize;
                let _ = write!(
                    s,
                    r##"<line x1="{x1}" y1="{y}" x2="{x2}" y2="{y}" stroke="{color}" stroke-width="1.6" marker-end="url(#{marker}{id})"/>"##
                );
                for (i, line) in label_lines(&label, max_chars).iter().enumerate() {
                    if line.is_empty() {
                        continue;
                    }
                    let _ = write!(
                        s,
                        r##"<text x="{tx}" y="{}" text-anchor="{anchor}" fill="{color}" stroke="#fff" stroke-width="4" paint-order="stroke">{}</text>"##,
                        y - 6 - 14 * (1 - i),
                        html(line)
                    );
                }
            }
            (Some(a), Some(_)) => {
                // A message to itself: a small loop on the right of the lifeline.
                let x = col_x(a);
                let max_chars = ((COL_W as f64 - 50.0) / CHAR_W) as usize;
                let _ = write!(
                    s,
                    r##"<path d="M{x},{} h30 v12 h-30" fill="none" stroke="{color}" stroke-width="1.6" marker-end="url(#{marker}{id})"/><text x="{}" y="{}" fill="{color}" stroke="#fff" stroke-width="4" paint-order="stroke">{}</text>"##,
                    y - 8,
                    x + 36,
                    y + 2,
                    html(&truncate(&label, max_chars))
                );
            }
            _ => {
                // No addresses: a note across the diagram.
                let max_chars = ((width - 2 * MARGIN - 16) as f64 / CHAR_W) as usize;
                let _ = write!(
                    s,
                    r##"<rect x="{MARGIN}" y="{}" width="{}" height="22" fill="#fffbe6" stroke="#caa"/><text x="{}" y="{}">{}</text>"##,
                    y - 14,
                    width - 2 * MARGIN,
                    MARGIN + 8,
                    y + 1,
                    html(&truncate(&label, max_chars))
                );
            }
        }
        s.push_str("</g>");
    }
    if f.evidence.len() > MAX_ROWS {
        let y = TOP + MAX_ROWS * ROW_H + ROW_H / 2;
        let _ = write!(
            s,
            r##"<text x="{MARGIN}" y="{y}">… {} more evidence frames (see the table)</text>"##,
            f.evidence.len() - MAX_ROWS
        );
    }
    s.push_str("</svg>");
    Some(s)
}

/// A label in at most two lines of `max` characters: the second ends with an ellipsis when
/// the text goes on. When it fits one line, the single line sits just above the arrow.
fn label_lines(label: &str, max: usize) -> Vec<String> {
    let chars: Vec<char> = label.chars().collect();
    if chars.len() <= max {
        return vec![String::new(), label.to_string()];
    }
    // Break at the last space within the first line when there is one.
    let head = chars.get(..max).unwrap_or(&chars);
    let cut = head
        .iter()
        .rposition(|c| *c == ' ')
        .filter(|&p| p > max / 2)
        .unwrap_or(max);
    let first: String = chars.get(..cut).unwrap_or(&chars).iter().collect();
    let rest: String = chars.get(cut..).unwrap_or(&[]).iter().collect();
    vec![first, truncate(rest.trim_start(), max).into_owned()]
}

/// The second hop of a delegation finding is a server of its own.
fn second_hop(f: &Finding, a: IpAddr) -> Option<&'static str> {
    match &f.details {
        Details::MissingDelegation {
            second_hop: Some(h),
            ..
        } if server_ip(h) == Some(a) => Some("second hop"),
        _ => None,
    }
}
