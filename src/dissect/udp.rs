//! Datagram protocols: Kerberos on UDP port 88 (RFC 4120 §7.2.1) and DNS on 53, plus mDNS 5353
//! and LLMNR 5355, which carry the same message format (RFC 6762, RFC 4795).

use crate::capture::Frame;
use crate::event::{DnsEvent, Event, EventBody, KerberosEvent};
use crate::net::L4Packet;
use crate::proto::{dns, kerberos};

use super::DissectStats;

pub const KERBEROS_PORT: u16 = 88;
const DNS_PORT: u16 = 53;
const MDNS_PORT: u16 = 5353;
const LLMNR_PORT: u16 = 5355;

pub(super) fn datagram(
    capture: usize,
    frame: &Frame<'_>,
    pkt: &L4Packet<'_>,
    payload: &[u8],
    keep_krb: bool,
    stats: &mut DissectStats,
    out: &mut Vec<Event>,
) {
    let body = if pkt.sport == KERBEROS_PORT || pkt.dport == KERBEROS_PORT {
        kerberos_body(payload, "udp", keep_krb, stats)
    } else if pkt.sport == DNS_PORT || pkt.dport == DNS_PORT {
        dns_body(payload, "udp", None, stats)
    } else if pkt.sport == LLMNR_PORT || pkt.dport == LLMNR_PORT {
        // Windows resolves single-label names (http://intranet) over LLMNR when DNS fails.
        dns_body(payload, "udp", Some("llmnr"), stats)
    } else if pkt.sport == MDNS_PORT || pkt.dport == MDNS_PORT {
        dns_body(payload, "udp", Some("mdns"), stats)
    } else {
        None
    };
    if let Some(body) = body {
        out.push(Event {
            capture,
            frame: frame.number,
            ts: frame.ts,
            src: pkt.src,
            dst: pkt.dst,
            sport: pkt.sport,
            dport: pkt.dport,
            conn: None,
            body,
        });
    }
}

/// A Kerberos message event; with `keep_krb` (a run with keys) it keeps the message's bytes
/// for the proof pass.
pub(super) fn kerberos_body(
    bytes: &[u8],
    transport: &'static str,
    keep_krb: bool,
    stats: &mut DissectStats,
) -> Option<EventBody> {
    match kerberos::decode(bytes) {
        Ok(message) => {
            stats.kerberos_messages += 1;
            let mut ev = KerberosEvent::new(transport, message);
            if keep_krb {
                ev.raw = super::keys::raw_krb(bytes);
            }
            Some(EventBody::Kerberos(Box::new(ev)))
        }
        Err(e) => {
            stats.kerberos_malformed += 1;
            // A complete datagram or record whose outer or inner length runs past its bytes.
            let overrun = match e {
                kerberos::KrbDecodeError::Truncated { .. } => true,
                kerberos::KrbDecodeError::NeedMore { .. } => matches!(
                    crate::proto::der::read_tlv(bytes),
                    Err(crate::proto::der::DerError::LengthBeyondInput { .. })
                ),
                _ => false,
            };
            if overrun {
                stats.asn1_length_overruns += 1;
            }
            None
        }
    }
}

pub(super) fn dns_body(
    bytes: &[u8],
    transport: &'static str,
    flavor: Option<&'static str>,
    stats: &mut DissectStats,
) -> Option<EventBody> {
    match dns::decode(bytes) {
        Ok(message) => {
            stats.dns_messages += 1;
            if message.anomalies.contains(&"name_pointer_limit") {
                stats.dns_pointer_limit_hits += 1;
            }
            if message.response {
                stats.dns_responses += 1;
            }
            Some(EventBody::Dns(Box::new(DnsEvent {
                transport,
                flavor,
                message,
            })))
        }
        Err(_) => {
            stats.dns_malformed += 1;
            None
        }
    }
}
