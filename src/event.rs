//! Typed events: one decoded protocol message each, in frame order. `kerbscope events` prints
//! them as NDJSON (SPEC.md "Events"); `analyze` correlates them into findings.
//!
//! Events carry summaries produced by the `proto` decoders, never raw ciphertext or NT/LM
//! responses, so printing an event cannot leak a secret.

use std::net::IpAddr;

use serde::Serialize;

use crate::capture::Timestamp;
use crate::proto::dns::DnsMessage;
use crate::proto::gss::GssToken;
use crate::proto::kerberos::KrbMessage;

/// Where a message was seen: frame, time and the endpoints of the packet that completed it.
#[derive(Clone, Debug, Serialize)]
pub struct Event {
    /// Index of the capture in the run (0 for the first file given).
    #[serde(skip)]
    pub capture: usize,
    pub frame: u64,
    #[serde(serialize_with = "ser_ts")]
    pub ts: Timestamp,
    pub src: IpAddr,
    pub dst: IpAddr,
    pub sport: u16,
    pub dport: u16,
    /// TCP connection the message rode on, for correlation (not printed).
    #[serde(skip)]
    pub conn: Option<u64>,
    #[serde(flatten)]
    pub body: EventBody,
}

fn ser_ts<S: serde::Serializer>(ts: &Timestamp, s: S) -> Result<S::Ok, S::Error> {
    s.serialize_str(&ts.to_rfc3339())
}

/// The decoded message; `proto` names the outermost decoder that produced it.
#[derive(Clone, Debug, Serialize)]
#[serde(tag = "proto", rename_all = "lowercase")]
pub enum EventBody {
    Kerberos(Box<KerberosEvent>),
    Dns(Box<DnsEvent>),
    Http(Box<HttpEvent>),
}

impl EventBody {
    pub fn proto(&self) -> &'static str {
        match self {
            EventBody::Kerberos(_) => "kerberos",
            EventBody::Dns(_) => "dns",
            EventBody::Http(_) => "http",
        }
    }
}

/// A Kerberos message sent to or from a KDC (UDP or TCP).
#[derive(Clone, Debug, Serialize)]
pub struct KerberosEvent {
    /// `udp` or `tcp`.
    pub transport: &'static str,
    /// The ticket's enc-part etype and kvno, repeated at top level as SPEC.md lists them.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub ticket_etype: Option<i32>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub ticket_kvno: Option<u32>,
    #[serde(flatten)]
    pub message: KrbMessage,
}

#[derive(Clone, Debug, Serialize)]
pub struct DnsEvent {
    /// `udp` or `tcp`.
    pub transport: &'static str,
    /// `mdns` (RFC 6762) or `llmnr` (RFC 4795) for those multicast variants of DNS.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub flavor: Option<&'static str>,
    #[serde(flatten)]
    pub message: DnsMessage,
}

/// An HTTP/1.x message, or one authentication header of it (a message with several auth headers
/// yields one event per header, each repeating the request/response line).
#[derive(Clone, Debug, Default, Serialize)]
pub struct HttpEvent {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub method: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub uri: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub status: Option<u16>,
    /// Host header of the request (for a response: of the request it answers).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub host: Option<String>,
    /// For a response: the method and URI of the request it answers (pipelining-aware).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub request_uri: Option<String>,
    /// `Authorization`, `WWW-Authenticate`, `Proxy-Authorization` or `Proxy-Authenticate`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub header: Option<String>,
    /// Scheme as written (`Negotiate`, `Kerberos`, `NTLM`, `CredSSP`, `Basic`, ...).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub scheme: Option<String>,
    /// Other schemes offered in the same header (a challenge list such as `Negotiate, NTLM`).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub also_offered: Vec<String>,
    /// Kind of the token: `spnego-init`, `spnego-resp`, `krb5-ap-req`, `ntlmssp-1`, ...
    #[serde(skip_serializing_if = "Option::is_none")]
    pub token: Option<&'static str>,
    /// Kind of the mechanism token wrapped by SPNEGO.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub inner_token: Option<&'static str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub token_len: Option<usize>,
    /// Basic authentication: the user name only; the password never leaves the decoder.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub basic_user: Option<String>,
    /// The decoded token (SPNEGO / krb5 / NTLMSSP), with any Kerberos message inside.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub gss: Option<GssToken>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub token_error: Option<String>,
    /// WinRM (WS-Management): `/wsman` target or a 5985/5986 port.
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    pub winrm: bool,
}

impl KerberosEvent {
    pub fn new(transport: &'static str, message: KrbMessage) -> Self {
        let ticket = message.ticket.as_ref();
        KerberosEvent {
            transport,
            ticket_etype: ticket.map(|t| t.etype),
            ticket_kvno: ticket.and_then(|t| t.kvno),
            message,
        }
    }
}

/// An event labelled with the capture it came from (runs over several captures).
#[derive(Serialize)]
pub struct CaptureEvent<'a> {
    pub capture: &'a str,
    #[serde(flatten)]
    pub event: &'a Event,
}

impl HttpEvent {
    /// The Kerberos message carried by this header's token, if any.
    pub fn kerberos(&self) -> Option<&KrbMessage> {
        self.gss.as_ref().and_then(GssToken::kerberos)
    }
}
