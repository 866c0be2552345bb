//! SMB over TCP 445 (MS-SMB2 2.1) and NetBIOS session service 139 (RFC 1002 §4.3): each
//! message has a 4-byte header (type, 24-bit length). NEGOTIATE and SESSION_SETUP messages are
//! decoded whole; everything else (reads, writes, encrypted traffic) is skipped unread.

use crate::event::{Event, GssEvent, Outcome, OutcomeState};
use crate::net::HalfStream;
use crate::proto::smb::{self, AuthCommand, NtStatus, SmbAuth, SmbDetails};

use super::DissectStats;
use super::carrier::{Framer, Next, set_token};
use super::tcp_app::{Emitter, dir_index};

const NBSS_HEADER_LEN: usize = 4;
const NBSS_SESSION_MESSAGE: u8 = 0x00;
/// Session request / positive / negative response / retarget / keep-alive (RFC 1002 §4.3.1).
const NBSS_CONTROL: [u8; 5] = [0x81, 0x82, 0x83, 0x84, 0x85];
/// Bytes of the SMB header needed to tell its command (SMB2 Command is at offset 12).
const PEEK_LEN: usize = 16;

#[derive(Default)]
pub(super) struct SmbConn {
    framer: Framer,
}

/// NetBIOS header + SMB magic at the front of `data` (content-based recognition).
pub(super) fn looks_like_smb(data: &[u8]) -> bool {
    data.first() == Some(&NBSS_SESSION_MESSAGE)
        && data
            .get(NBSS_HEADER_LEN + 1..NBSS_HEADER_LEN + 4)
            .is_some_and(|m| m == b"SMB")
        && data
            .get(NBSS_HEADER_LEN)
            .is_some_and(|b| matches!(b, 0xfc..=0xff))
}

fn next(data: &[u8]) -> Next {
    let Some(hdr) = data
        .get(..NBSS_HEADER_LEN)
        .and_then(|h| <[u8; NBSS_HEADER_LEN]>::try_from(h).ok())
    else {
        return Next::Wait;
    };
    let len = NBSS_HEADER_LEN
        + (usize::from(hdr[1]) << 16 | usize::from(hdr[2]) << 8 | usize::from(hdr[3]));
    if NBSS_CONTROL.contains(&hdr[0]) {
        return Next::Skip(len);
    }
    if hdr[0] != NBSS_SESSION_MESSAGE {
        return Next::Broken;
    }
    let body = data
        .get(NBSS_HEADER_LEN..len.min(NBSS_HEADER_LEN + PEEK_LEN))
        .unwrap_or_default();
    if body.len() >= 4 && !looks_like_smb(data) {
        return Next::Broken;
    }
    match smb::is_auth_message(body) {
        Some(true) => Next::Keep(len),
        Some(false) => Next::Skip(len),
        // A message shorter than the peek is kept whole (it is tiny).
        None if body.len() == len - NBSS_HEADER_LEN => Next::Keep(len),
        None => Next::Wait,
    }
}

/// The first offset where a NetBIOS header + SMB magic starts: memchr's search for "SMB" (the
/// protocol id sits 5 bytes into a message), then the full check there, so a resync over bulk
/// data does not test every byte.
fn find(data: &[u8]) -> Option<usize> {
    const MAGIC_AT: usize = NBSS_HEADER_LEN + 1;
    // Built once: constructing the searcher per call showed up in profiles of bulk port-445 data.
    static SMB_MAGIC: std::sync::LazyLock<memchr::memmem::Finder<'static>> =
        std::sync::LazyLock::new(|| memchr::memmem::Finder::new(b"SMB"));
    SMB_MAGIC
        .find_iter(data)
        .filter_map(|at| at.checked_sub(MAGIC_AT))
        .find(|&start| data.get(start..).is_some_and(looks_like_smb))
}

impl SmbConn {
    pub fn on_gap(&mut self, d: usize, lost: u64) {
        self.framer.on_gap(d, lost);
    }

    pub fn on_data(
        &mut self,
        emit: &Emitter<'_>,
        half: &mut HalfStream,
        stats: &mut DissectStats,
        out: &mut Vec<Event>,
    ) {
        let d = dir_index(emit.dir);
        self.framer
            .run(d, half, stats, next, find, |half, len, stats| {
                let msg = half.data().get(NBSS_HEADER_LEN..len).unwrap_or_default();
                match smb::decode(msg) {
                    Ok(m) => {
                        stats.smb_auth_messages += 1;
                        for auth in &m.auth {
                            if let Some(ev) = event_for(auth, emit.keep_krb, stats) {
                                out.push(emit.event(half, len, ev.into_body()));
                            }
                        }
                    }
                    Err(_) => stats.smb_malformed += 1,
                }
            });
    }
}

fn event_for(auth: &SmbAuth<'_>, keep_krb: bool, stats: &mut DissectStats) -> Option<GssEvent> {
    let negotiate = auth.command == AuthCommand::Negotiate;
    // A NEGOTIATE matters only for the mechanisms its response offers.
    if negotiate && auth.blob.is_empty() {
        return None;
    }
    let mut ev = GssEvent {
        transport: "smb",
        operation: if negotiate {
            "negotiate"
        } else {
            "session-setup"
        },
        response: auth.response,
        smb: Some(SmbDetails::from_auth(auth)),
        ..GssEvent::default()
    };
    if auth.response && !negotiate {
        let state = match auth.status {
            NtStatus::STATUS_SUCCESS => OutcomeState::Success,
            NtStatus::STATUS_MORE_PROCESSING_REQUIRED => OutcomeState::Continue,
            _ => OutcomeState::Failure,
        };
        ev.outcome = Some(Outcome {
            state,
            code: auth.status.hex(),
            name: auth.status.name().map(str::to_string),
        });
    }
    set_token(&mut ev, auth.blob, keep_krb, stats);
    Some(ev)
}
