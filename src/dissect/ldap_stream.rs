//! LDAP over TCP 389 / 3268 (RFC 4511 §5.1): one BER LDAPMessage after another. Binds are
//! decoded whole, other operations skipped unread. After a SASL bind that negotiated a security
//! layer, messages travel in SASL buffers (4-byte length + wrap token, RFC 4422 §3.7), and after
//! StartTLS in TLS records; both are skipped by their own lengths.

use crate::event::{Event, GssEvent, Outcome, OutcomeState};
use crate::net::HalfStream;
use crate::proto::ldap::{self, BindAuth, LdapDetails, LdapMessage, Op, ResultCode};

use super::DissectStats;
use super::carrier::{Framer, Next, set_token};
use super::tcp_app::{Emitter, dir_index};

/// Binds awaiting their response; more is a flood or lost track.
const MAX_PENDING: usize = 32;
/// A SASL buffer longer than this is not one (servers advertise at most 16 MiB).
const MAX_SASL_BUFFER: usize = 16 << 20;
/// Identifier octets of BindRequest / BindResponse.
const BIND_REQUEST: u8 = 0x60;
const BIND_RESPONSE: u8 = 0x61;

struct PendingBind {
    message_id: i64,
    /// A simple bind: its response is not an authentication token exchange.
    simple: bool,
    ntlm: bool,
}

#[derive(Default)]
pub(super) struct LdapConn {
    framer: Framer,
    pending: Vec<PendingBind>,
}

fn next(data: &[u8]) -> Next {
    let Some(&first) = data.first() else {
        return Next::Wait;
    };
    if first == 0x30 {
        return match ldap::message_len(data) {
            Err(_) => Next::Broken,
            Ok(None) => Next::Wait,
            Ok(Some(len)) => match ldap::peek_op(data) {
                None if data.len() < len => Next::Wait,
                Some(BIND_REQUEST | BIND_RESPONSE) | None => Next::Keep(len),
                Some(_) => Next::Skip(len),
            },
        };
    }
    // TLS record after StartTLS: type 20-23, version 3.x, u16 length.
    if matches!(first, 0x14..=0x17) && data.get(1) == Some(&3) {
        return match data.get(3..5).and_then(|l| <[u8; 2]>::try_from(l).ok()) {
            Some(l) => Next::Skip(5 + usize::from(u16::from_be_bytes(l))),
            None => Next::Wait,
        };
    }
    // SASL buffer: a 4-byte big-endian length.
    match data.get(..4).and_then(|l| <[u8; 4]>::try_from(l).ok()) {
        None => Next::Wait,
        Some(l) => {
            let len = u32::from_be_bytes(l) as usize;
            if len == 0 || len > MAX_SASL_BUFFER {
                Next::Broken
            } else {
                Next::Skip(4 + len)
            }
        }
    }
}

/// The first offset where an LDAPMessage plausibly starts (a SEQUENCE whose first element is a
/// short INTEGER followed by an APPLICATION tag): only SEQUENCE tags (0x30, found with memchr)
/// are tested.
fn find(data: &[u8]) -> Option<usize> {
    memchr::memchr_iter(0x30, data).find(|&i| {
        let rest = data.get(i..).unwrap_or_default();
        ldap::message_len(rest).is_ok_and(|l| l.is_some())
            && ldap::peek_op(rest).is_some_and(|op| op & 0xc0 == 0x40)
    })
}

impl LdapConn {
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
        let pending = &mut self.pending;
        self.framer
            .run(d, half, stats, next, find, |half, len, stats| {
                let bytes = half.data().get(..len).unwrap_or_default();
                match ldap::decode(bytes) {
                    Ok(msg) => {
                        stats.ldap_binds += 1;
                        if let Some(ev) = event_for(&msg, pending, emit.keep_krb, stats) {
                            out.push(emit.event(half, len, ev.into_body()));
                        }
                    }
                    Err(_) => stats.ldap_malformed += 1,
                }
            });
    }
}

fn event_for(
    msg: &LdapMessage<'_>,
    pending: &mut Vec<PendingBind>,
    keep_krb: bool,
    stats: &mut DissectStats,
) -> Option<GssEvent> {
    let mut details = LdapDetails {
        message_id: msg.message_id,
        ..LdapDetails::default()
    };
    let mut ev = GssEvent {
        transport: "ldap",
        ..GssEvent::default()
    };
    match &msg.op {
        Op::BindRequest(req) => {
            let simple = matches!(req.auth, BindAuth::Simple { .. });
            let ntlm = match &req.auth {
                BindAuth::SicilyNegotiate(_) | BindAuth::SicilyResponse(_) => true,
                BindAuth::Sasl { mechanism, .. } => mechanism.eq_ignore_ascii_case("NTLM"),
                _ => false,
            };
            pending.retain(|p| p.message_id != msg.message_id);
            if pending.len() >= MAX_PENDING {
                pending.remove(0);
            }
            pending.push(PendingBind {
                message_id: msg.message_id,
                simple,
                ntlm,
            });
            if simple {
                // A password bind carries no GSS token: counted, not reported.
                stats.ldap_simple_binds += 1;
                return None;
            }
            details.bind_name = Some(req.name.clone());
            details.auth = Some(req.auth.name());
            if let BindAuth::Sasl { mechanism, .. } = &req.auth {
                details.sasl_mechanism = Some(mechanism.clone());
            }
            ev.operation = "bind-request";
            ev.ntlm_carrier = ntlm;
            if let Some(token) = req.auth.token() {
                set_token(&mut ev, token, keep_krb, stats);
            }
        }
        Op::BindResponse(resp) => {
            let at = pending.iter().position(|p| p.message_id == msg.message_id);
            let request = at.map(|i| pending.remove(i));
            // A simple bind's answer is no token exchange, unless a sicily-style server put a
            // CHALLENGE in matchedDN anyway.
            if request.as_ref().is_some_and(|p| p.simple) && resp.token().is_none() {
                return None;
            }
            details.result_code = Some(resp.result.0);
            details.result_name = Some(resp.result.name());
            if !resp.diagnostic.is_empty() {
                details.diagnostic_message = Some(resp.diagnostic.clone());
            }
            ev.operation = "bind-response";
            ev.response = true;
            ev.ntlm_carrier = request.is_some_and(|p| p.ntlm || p.simple);
            ev.outcome = Some(Outcome {
                state: match resp.result {
                    ResultCode::SUCCESS => OutcomeState::Success,
                    ResultCode::SASL_BIND_IN_PROGRESS => OutcomeState::Continue,
                    _ => OutcomeState::Failure,
                },
                code: resp.result.0.to_string(),
                name: Some(resp.result.name().to_string()),
            });
            if let Some(token) = resp.token() {
                set_token(&mut ev, token, keep_krb, stats);
            }
        }
        Op::Other(_) => return None,
    }
    ev.ldap = Some(details);
    Some(ev)
}
