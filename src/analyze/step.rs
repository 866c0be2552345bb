//! One authentication step of an application connection, whatever carried it: the questions
//! the rules ask of it (Kerberos or NTLM inside, accepted, refused, what it offers) answered
//! the same way for HTTP and for the binary carriers.

use crate::crypto::TicketProof;
use crate::event::{Event, GssEvent, HttpEvent, OutcomeState};
use crate::proto::credssp::CredsspToken;
use crate::proto::gss::GssToken;
use crate::proto::kerberos::KrbMessage;
use crate::proto::ntlm::NtlmMessage;

/// What carried an authentication step: an HTTP message or a carrier exchange (SMB session
/// setup, LDAP bind, DCE/RPC bind, DNS TKEY).
#[derive(Clone, Copy)]
pub enum StepCarrier<'a> {
    Http(&'a HttpEvent),
    Gss(&'a GssEvent),
}

/// One authentication-relevant message on an application connection.
pub struct AuthStep<'a> {
    pub event: &'a Event,
    pub carrier: StepCarrier<'a>,
    /// True for client → server (requests).
    pub from_client: bool,
}

impl<'a> AuthStep<'a> {
    pub fn gss(&self) -> Option<&'a GssToken> {
        match self.carrier {
            StepCarrier::Http(h) => h.gss.as_ref(),
            StepCarrier::Gss(g) => g.gss.as_ref(),
        }
    }
    pub fn kerberos(&self) -> Option<&'a KrbMessage> {
        self.gss().and_then(GssToken::kerberos)
    }
    pub fn ntlm(&self) -> Option<&'a NtlmMessage> {
        self.gss().and_then(GssToken::ntlm)
    }
    /// With keys given: what they proved about this step's Kerberos message (empty otherwise).
    pub fn proofs(&self) -> &'a [TicketProof] {
        match self.carrier {
            StepCarrier::Http(h) => &h.proofs,
            StepCarrier::Gss(g) => &g.proofs,
        }
    }
    /// The proof about one part: `ticket`, `authenticator`, `enc-part`, `delegated-ticket`.
    pub fn proof(&self, what: &str) -> Option<&'a TicketProof> {
        self.proofs().iter().find(|p| p.what == what)
    }
    /// A carrier's failure in words: "LDAP bind-response 49 invalidCredentials",
    /// "SMB session-setup 0xc000006d STATUS_LOGON_FAILURE".
    pub fn refusal(&self) -> Option<String> {
        let StepCarrier::Gss(g) = self.carrier else {
            return None;
        };
        let o = g
            .outcome
            .as_ref()
            .filter(|o| o.state == OutcomeState::Failure)?;
        let name = o
            .name
            .as_deref()
            .map(|n| format!(" {n}"))
            .unwrap_or_default();
        Some(format!(
            "{} {} {}{name}",
            g.transport.to_ascii_uppercase(),
            g.operation,
            o.code
        ))
    }
    /// HTTP status of a response step (carriers have none).
    pub fn status(&self) -> Option<u16> {
        match self.carrier {
            StepCarrier::Http(h) => h.status,
            StepCarrier::Gss(_) => None,
        }
    }
    /// The server's final answer: an HTTP status of 200 or more, or a carrier verdict other
    /// than "continue".
    pub fn is_final_answer(&self) -> bool {
        if self.from_client {
            return false;
        }
        match self.carrier {
            StepCarrier::Http(h) => h.status.is_some_and(|s| s >= 200),
            StepCarrier::Gss(g) => g
                .outcome
                .as_ref()
                .is_some_and(|o| o.state != OutcomeState::Continue),
        }
    }
    /// A carrier answer that asks for another leg (SMB MORE_PROCESSING_REQUIRED, LDAP
    /// saslBindInProgress).
    pub fn continues(&self) -> bool {
        match self.carrier {
            StepCarrier::Http(_) => false,
            StepCarrier::Gss(g) => g
                .outcome
                .as_ref()
                .is_some_and(|o| o.state == OutcomeState::Continue),
        }
    }
    /// The server let the client in (HTTP 2xx/3xx, carrier success).
    pub fn accepted(&self) -> bool {
        if self.from_client {
            return false;
        }
        match self.carrier {
            StepCarrier::Http(h) => h.status.is_some_and(|s| (200..400).contains(&s)),
            StepCarrier::Gss(g) => g
                .outcome
                .as_ref()
                .is_some_and(|o| o.state == OutcomeState::Success),
        }
    }
    /// The server refused the client (HTTP 401/403, carrier failure).
    pub fn refused(&self) -> bool {
        if self.from_client {
            return false;
        }
        match self.carrier {
            StepCarrier::Http(h) => h.status.is_some_and(|s| s == 401 || s == 403),
            StepCarrier::Gss(g) => g
                .outcome
                .as_ref()
                .is_some_and(|o| o.state == OutcomeState::Failure),
        }
    }
    /// The HTTP message of this step (`None` on SMB, LDAP, DCE/RPC, DNS carriers).
    pub fn http(&self) -> Option<&'a HttpEvent> {
        match self.carrier {
            StepCarrier::Http(h) => Some(h),
            StepCarrier::Gss(_) => None,
        }
    }
    /// The header's scheme is CredSSP (MS-CSSP over WinRM): a client leg `Authorization:
    /// CredSSP <TLS records>` or a server's `WWW-Authenticate: CredSSP [<TLS records>]`.
    pub fn is_credssp(&self) -> bool {
        self.http()
            .and_then(|h| h.scheme.as_deref())
            .is_some_and(|s| s.eq_ignore_ascii_case("CredSSP"))
    }
    /// The TLS records of this step's CredSSP token (`None` without a CredSSP token).
    pub fn credssp(&self) -> Option<&'a CredsspToken> {
        self.http()
            .filter(|_| self.is_credssp())
            .and_then(|h| h.credssp.as_ref())
    }
    /// The schemes of a `WWW-Authenticate` / `Proxy-Authenticate` step: its scheme and the others
    /// offered in the same header (empty for requests and other headers).
    pub fn challenges(&self) -> Vec<&'a str> {
        let Some(h) = self.http().filter(|h| {
            !self.from_client
                && h.header
                    .as_deref()
                    .is_some_and(|x| x.ends_with("-Authenticate"))
        }) else {
            return Vec::new();
        };
        h.scheme
            .iter()
            .chain(h.also_offered.iter())
            .map(String::as_str)
            .collect()
    }
    /// The response offered `scheme` (a WWW-Authenticate challenge or the challenge list). On a
    /// carrier, a server token that is SPNEGO (SMB's negotiate hint, a SPNEGO reply) offers
    /// `Negotiate`.
    pub fn offers(&self, scheme: &str) -> bool {
        if self.from_client {
            return false;
        }
        match self.carrier {
            StepCarrier::Http(h) => {
                h.scheme
                    .as_deref()
                    .is_some_and(|s| s.eq_ignore_ascii_case(scheme))
                    || h.also_offered
                        .iter()
                        .any(|s| s.eq_ignore_ascii_case(scheme))
            }
            StepCarrier::Gss(g) => {
                scheme.eq_ignore_ascii_case("Negotiate")
                    && g.gss
                        .as_ref()
                        .is_some_and(|t| t.kind().starts_with("spnego"))
            }
        }
    }
}
