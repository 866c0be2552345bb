//! Connection-oriented DCE/RPC over TCP (C706 chapter 12): port 135 and the dynamic ports the
//! endpoint mapper hands out, recognised by content. Each fragment carries its own length; the
//! binding PDUs (bind, bind_ack, bind_nak, alter_context, alter_context_resp, auth3) and faults
//! are decoded, requests and responses skipped unread.

use crate::event::{Event, GssEvent, Outcome, OutcomeState};
use crate::net::HalfStream;
use crate::proto::dcerpc::{self, AuthType, DcerpcDetails, PacketType, Pdu};

use super::DissectStats;
use super::carrier::{Framer, Next, set_token};
use super::tcp_app::{Emitter, dir_index};

#[derive(Default)]
pub(super) struct DcerpcConn {
    framer: Framer,
    /// The authentication service of the last authenticated binding PDU on this connection:
    /// answers without a verifier (bind_nak, fault, a bare bind_ack) are reported against it.
    auth_type: Option<AuthType>,
}

fn next(data: &[u8]) -> Next {
    match dcerpc::header_frag_len(data) {
        None if data.len() < dcerpc::HEADER_LEN => Next::Wait,
        None => Next::Broken,
        Some(len) => {
            let ptype = PacketType(data.get(2).copied().unwrap_or(0));
            if ptype.carries_context_token()
                || ptype == PacketType::BIND_NAK
                || ptype == PacketType::FAULT
            {
                Next::Keep(len)
            } else {
                Next::Skip(len)
            }
        }
    }
}

/// The first offset where a connection-oriented PDU header starts: only bytes equal to the
/// version (5, found with memchr) are tested.
fn find(data: &[u8]) -> Option<usize> {
    const RPC_VERSION: u8 = 5;
    memchr::memchr_iter(RPC_VERSION, data)
        .find(|&i| data.get(i..).and_then(dcerpc::header_frag_len).is_some())
}

impl DcerpcConn {
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
        let auth_type = &mut self.auth_type;
        self.framer
            .run(d, half, stats, next, find, |half, len, stats| {
                let bytes = half.data().get(..len).unwrap_or_default();
                match dcerpc::decode(bytes) {
                    Ok(pdu) => {
                        stats.dcerpc_binding_pdus += 1;
                        if let Some(ev) = event_for(&pdu, auth_type, emit.keep_krb, stats) {
                            out.push(emit.event(half, len, ev.into_body()));
                        }
                    }
                    Err(_) => stats.dcerpc_malformed += 1,
                }
            });
    }
}

fn event_for(
    pdu: &Pdu<'_>,
    conn_auth: &mut Option<AuthType>,
    keep_krb: bool,
    stats: &mut DissectStats,
) -> Option<GssEvent> {
    let verifier = pdu
        .auth
        .as_ref()
        .filter(|_| pdu.ptype.carries_context_token());
    if let Some(a) = verifier {
        *conn_auth = Some(a.auth_type);
    }
    // Unauthenticated binds and their answers say nothing about authentication.
    let auth_type = verifier.map(|a| a.auth_type).or(*conn_auth)?;
    let mut ev = GssEvent {
        transport: "dcerpc",
        operation: pdu.ptype.name(),
        response: pdu.ptype.from_server(),
        dcerpc: Some(DcerpcDetails::from_pdu(pdu)),
        ntlm_carrier: auth_type == AuthType::WINNT,
        ..GssEvent::default()
    };
    ev.outcome = outcome(pdu);
    if let Some(a) = verifier.filter(|a| a.auth_type.is_gss()) {
        set_token(&mut ev, a.value, keep_krb, stats);
    }
    Some(ev)
}

fn outcome(pdu: &Pdu<'_>) -> Option<Outcome> {
    let info = &pdu.info;
    match pdu.ptype {
        PacketType::BIND_ACK | PacketType::ALTER_CONTEXT_RESP => {
            // Bind-time feature negotiation (3) is not a rejection of a real context.
            let rejected =
                !info.results.is_empty() && info.results.iter().all(|&r| r == 1 || r == 2);
            let names: Vec<&str> = info
                .results
                .iter()
                .map(|&r| dcerpc::context_result_name(r))
                .collect();
            Some(Outcome {
                state: if rejected {
                    OutcomeState::Failure
                } else {
                    OutcomeState::Success
                },
                code: names.join(","),
                name: None,
            })
        }
        PacketType::BIND_NAK => {
            let reason = info.reject_reason.unwrap_or(0);
            Some(Outcome {
                state: OutcomeState::Failure,
                code: reason.to_string(),
                name: Some(dcerpc::reject_reason_name(reason).to_string()),
            })
        }
        PacketType::FAULT => {
            let status = info.fault_status.unwrap_or(0);
            Some(Outcome {
                state: OutcomeState::Failure,
                code: format!("0x{status:08x}"),
                name: dcerpc::fault_status_name(status).map(str::to_string),
            })
        }
        _ => None,
    }
}
