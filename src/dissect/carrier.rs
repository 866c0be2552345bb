//! Framing shared by the binary carriers of GSS tokens (SMB, DCE/RPC, LDAP): length-prefixed
//! messages of which only a few (the authentication ones) are worth buffering whole. The rest
//! are skipped as their bytes arrive, however large they claim to be, and framing lost to a
//! capture gap or garbage is found again by scanning for a plausible message start.

use crate::event::{EventBody, GssEvent, Outcome, OutcomeState};
use crate::net::HalfStream;
use crate::proto::gss::{self, GssToken};
use crate::proto::tkey::{self, TkeyDetails};

use super::DissectStats;

/// Authentication messages larger than this are skipped rather than buffered (SESSION_SETUP and
/// LDAP binds are a few KiB; a Kerberos ticket with a large PAC stays far below this).
pub(super) const MAX_KEEP: usize = 256 << 10;
/// After lost framing, bytes kept while no message start is found (one may straddle segments).
const RESYNC_TAIL: usize = 16;
/// Bytes searched in vain for a message start before the direction is given up as not this
/// carrier at all (bulk data on its port): every real message carries its magic, so a real
/// stream resynchronises within one message.
const RESYNC_GIVE_UP: u64 = 1 << 20;

/// What the carrier says about the bytes at the front of a direction.
pub(super) enum Next {
    /// The header is incomplete.
    Wait,
    /// A message of this many bytes (header included) that can be skipped unread.
    Skip(usize),
    /// A message of this many bytes that must be decoded whole.
    Keep(usize),
    /// Not a message start: framing is lost.
    Broken,
}

/// Per-direction framing state.
#[derive(Default)]
pub(super) struct Framer {
    /// Bytes of a skipped message still to come.
    skip_left: [u64; 2],
    /// Framing was lost: look for the next message start.
    resync: [bool; 2],
    /// Bytes searched since framing was lost.
    searched: [u64; 2],
}

impl Framer {
    /// `lost` bytes were lost before `data()` (a partial message waiting there is dropped with
    /// them). Inside a skipped message the loss is simply subtracted; anywhere else the next
    /// message start has to be searched for.
    pub fn on_gap(&mut self, d: usize, lost: u64) {
        let (Some(skip), Some(resync)) = (self.skip_left.get_mut(d), self.resync.get_mut(d)) else {
            return;
        };
        if *skip > 0 && lost <= *skip {
            *skip -= lost;
        } else {
            *skip = 0;
            *resync = true;
        }
    }

    /// Frame what `half` holds. `next` classifies the bytes at the front; `find` returns the
    /// offset of the first plausible message start in a slice; `on_msg` gets every complete
    /// message to keep (its bytes are `half.data()[..len]`).
    pub fn run(
        &mut self,
        d: usize,
        half: &mut HalfStream,
        stats: &mut DissectStats,
        next: impl Fn(&[u8]) -> Next,
        find: impl Fn(&[u8]) -> Option<usize>,
        mut on_msg: impl FnMut(&HalfStream, usize, &mut DissectStats),
    ) {
        let (Some(skip_left), Some(resync), Some(searched)) = (
            self.skip_left.get_mut(d),
            self.resync.get_mut(d),
            self.searched.get_mut(d),
        ) else {
            return;
        };
        loop {
            let data = half.data();
            if data.is_empty() {
                return;
            }
            if *skip_left > 0 {
                // The stream drops the rest of the message as it arrives, without copying it.
                half.skip(std::mem::take(skip_left));
                continue;
            }
            if *resync {
                match find(data) {
                    Some(off) => {
                        stats.carrier_resyncs += 1;
                        *resync = false;
                        *searched = 0;
                        half.consume(off);
                        continue;
                    }
                    None => {
                        let dropped = data.len().saturating_sub(RESYNC_TAIL);
                        *searched += dropped as u64;
                        if *searched > RESYNC_GIVE_UP {
                            // Not this carrier: stop copying the direction's bytes at all.
                            stats.carrier_abandoned += 1;
                            half.set_discard(true);
                        }
                        half.consume(dropped);
                        return;
                    }
                }
            }
            match next(data) {
                Next::Wait => return,
                Next::Skip(len) => *skip_left = len.max(1) as u64,
                Next::Keep(len) if len > MAX_KEEP => {
                    stats.carrier_oversize += 1;
                    *skip_left = len as u64;
                }
                Next::Keep(len) => {
                    if data.len() < len {
                        return;
                    }
                    on_msg(half, len, stats);
                    half.consume(len.max(1));
                }
                Next::Broken if half.at_stream_start() => {
                    // The direction's first bytes after its SYN are no message of this carrier:
                    // another protocol uses the port (bulk data on 445), framing was never
                    // there to lose. Stop copying its bytes now instead of searching
                    // `RESYNC_GIVE_UP` bytes for a message start that cannot come.
                    stats.carrier_malformed += 1;
                    stats.carrier_abandoned += 1;
                    let all = data.len();
                    half.set_discard(true);
                    half.consume(all);
                    return;
                }
                Next::Broken => {
                    stats.carrier_malformed += 1;
                    *resync = true;
                    // Step past this start so the search finds the next one.
                    half.consume(1);
                }
            }
        }
    }
}

/// Fill the token fields of `ev` from the carrier's token bytes; with `keep_krb` (a run with
/// keys) also keep the Kerberos message inside for the proof pass.
pub(super) fn set_token(ev: &mut GssEvent, bytes: &[u8], keep_krb: bool, stats: &mut DissectStats) {
    if bytes.is_empty() {
        return;
    }
    if keep_krb {
        ev.raw = super::keys::raw_krb_in_token(bytes);
    }
    let decoded = gss::decode_token(bytes);
    if matches!(decoded, GssToken::Malformed { .. }) {
        stats.tokens_malformed += 1;
    }
    stats.token_limit(&decoded);
    ev.token_len = Some(bytes.len());
    ev.token = Some(decoded.kind());
    ev.inner_token = decoded.inner_kind();
    ev.gss = Some(decoded);
}

/// Events for the GSS-TSIG TKEY records of one DNS message (RFC 3645 §3.1).
pub(super) fn tkey_bodies(msg: &[u8], keep_krb: bool, stats: &mut DissectStats) -> Vec<EventBody> {
    let (response, found) = tkey::find(msg);
    found
        .iter()
        .map(|t| {
            let mut ev = GssEvent {
                transport: "dns",
                operation: "tkey",
                response,
                tkey: Some(TkeyDetails::from_tkey(t)),
                ..GssEvent::default()
            };
            if response {
                ev.outcome = Some(Outcome {
                    state: if t.error == 0 {
                        OutcomeState::Success
                    } else {
                        OutcomeState::Failure
                    },
                    code: t.error.to_string(),
                    name: Some(tkey::error_name(t.error).to_string()),
                });
            }
            set_token(&mut ev, t.key, keep_krb, stats);
            ev.into_body()
        })
        .collect()
}
