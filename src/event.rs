//! Typed events: one decoded protocol message each, in frame order. `kerbscope events` prints
//! them as NDJSON (SPEC.md "Events"); `analyze` correlates them into findings.
//!
//! Events carry summaries produced by the `proto` decoders, never raw ciphertext or NT/LM
//! responses, so printing an event cannot leak a secret. A run with keys (`--keytab`) keeps each
//! Kerberos message's bytes on its event (`raw`, never serialised) until `dissect::prove` has
//! replaced them by `proofs`, which name keys and state facts only.

use std::net::IpAddr;

use serde::Serialize;

use crate::capture::Timestamp;
use crate::crypto::TicketProof;
use crate::proto::credssp::CredsspToken;
use crate::proto::dcerpc::DcerpcDetails;
use crate::proto::dns::DnsMessage;
use crate::proto::gss::GssToken;
use crate::proto::kerberos::KrbMessage;
use crate::proto::ldap::LdapDetails;
use crate::proto::smb::SmbDetails;
use crate::proto::tkey::TkeyDetails;

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
    /// A token outside HTTP that is SPNEGO or Kerberos (or none, on a Negotiate/Kerberos carrier).
    Spnego(Box<GssEvent>),
    /// A raw NTLMSSP token outside HTTP (or none, on an NTLM-only carrier).
    Ntlm(Box<GssEvent>),
}

impl EventBody {
    pub fn proto(&self) -> &'static str {
        match self {
            EventBody::Kerberos(_) => "kerberos",
            EventBody::Dns(_) => "dns",
            EventBody::Http(_) => "http",
            EventBody::Spnego(_) => "spnego",
            EventBody::Ntlm(_) => "ntlm",
        }
    }

    /// The carrier event (SMB, DCE/RPC, LDAP, DNS TKEY), whichever `proto` it was given.
    pub fn gss(&self) -> Option<&GssEvent> {
        match self {
            EventBody::Spnego(g) | EventBody::Ntlm(g) => Some(g),
            _ => None,
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
    /// With keys given: what they proved about each encrypted part (see `crypto::TicketProof`).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub proofs: Vec<TicketProof>,
    /// With keys given: the message's bytes, until the proofs are made (never printed).
    #[serde(skip)]
    pub raw: Option<RawKrb>,
}

/// The bytes of one Kerberos message, kept only while a run has keys, for the proof pass
/// (`dissect::prove`) that follows decoding. `Debug` shows the length only.
#[derive(Clone, Default)]
pub struct RawKrb(pub Box<[u8]>);

impl std::fmt::Debug for RawKrb {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "RawKrb({} bytes)", self.0.len())
    }
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
    /// CredSSP (`token` = `credssp-tls`): the TLS records of the token. Their `phase` tells the
    /// TLS handshake from the encrypted TSRequest exchange that follows it; the SPNEGO token and
    /// the delegated credentials inside are not visible in a capture.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub credssp: Option<CredsspToken>,
    /// WinRM (WS-Management): `/wsman` target or a 5985/5986 port.
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    pub winrm: bool,
    /// With keys given: what they proved about the token's ticket, authenticator or enc-part.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub proofs: Vec<TicketProof>,
    /// With keys given: the Kerberos message inside the token, until the proofs are made.
    #[serde(skip)]
    pub raw: Option<RawKrb>,
}

/// A GSS-API / NTLMSSP token carried outside HTTP, or the carrier's verdict on one: SMB
/// NEGOTIATE / SESSION_SETUP (NT status), DCE/RPC binding PDUs (bind_nak, fault), LDAP binds
/// (resultCode). `token`, `inner_token`, `token_len` and `gss` mean what they mean in
/// [`HttpEvent`], so analysis treats every carrier alike.
///
/// `proto` is `ntlm` when the token is raw NTLMSSP (SMB1 raw NTLM, DCE/RPC auth type 10, LDAP
/// sicily or SASL "NTLM"), or when there is no token and the carrier negotiated NTLM; `spnego`
/// otherwise (SPNEGO, a bare or framed Kerberos token, an unknown token, or none).
#[derive(Clone, Debug, Default, Serialize)]
pub struct GssEvent {
    /// `smb`, `dcerpc`, `ldap` or `dns` (TKEY over TCP).
    pub transport: &'static str,
    /// What carried the token: `negotiate`, `session-setup`, `bind`, `bind_ack`, `bind_nak`,
    /// `alter_context`, `alter_context_resp`, `auth3`, `fault`, `bind-request`, `bind-response`,
    /// `tkey`.
    pub operation: &'static str,
    /// Sent by the server.
    pub response: bool,
    /// The carrier's verdict on the exchange so far (responses only).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub outcome: Option<Outcome>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub token: Option<&'static str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub inner_token: Option<&'static str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub token_len: Option<usize>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub gss: Option<GssToken>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub smb: Option<SmbDetails>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub dcerpc: Option<DcerpcDetails>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub ldap: Option<LdapDetails>,
    /// DNS TKEY (RFC 3645 GSS-TSIG key negotiation).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub tkey: Option<TkeyDetails>,
    /// The carrier itself negotiated NTLM (DCE/RPC auth type 10, LDAP sicily / SASL NTLM).
    #[serde(skip)]
    pub ntlm_carrier: bool,
    /// With keys given: what they proved about the token's ticket, authenticator or enc-part.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub proofs: Vec<TicketProof>,
    /// With keys given: the Kerberos message inside the token, until the proofs are made.
    #[serde(skip)]
    pub raw: Option<RawKrb>,
}

/// How the carrier answered: `success`, `continue` (more legs to come) or `failure`, with the
/// carrier's own code (`0xc000006d`, `49`, `8`) and its name when known.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Outcome {
    pub state: OutcomeState,
    pub code: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum OutcomeState {
    Success,
    Continue,
    Failure,
}

impl GssEvent {
    /// The Kerberos message carried by the token, if any.
    pub fn kerberos(&self) -> Option<&KrbMessage> {
        self.gss.as_ref().and_then(GssToken::kerberos)
    }

    /// Wrap as an event body: `ntlm` for raw NTLMSSP, `spnego` otherwise (see the type docs).
    pub fn into_body(self) -> EventBody {
        let ntlm = match &self.gss {
            Some(GssToken::Ntlm(_)) => true,
            Some(_) => false,
            None => self.ntlm_carrier,
        };
        if ntlm {
            EventBody::Ntlm(Box::new(self))
        } else {
            EventBody::Spnego(Box::new(self))
        }
    }
}

impl KerberosEvent {
    pub fn new(transport: &'static str, message: KrbMessage) -> Self {
        let ticket = message.ticket.as_ref();
        KerberosEvent {
            transport,
            ticket_etype: ticket.map(|t| t.etype),
            ticket_kvno: ticket.and_then(|t| t.kvno),
            message,
            proofs: Vec::new(),
            raw: None,
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
