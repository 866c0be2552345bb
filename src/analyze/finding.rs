//! The finding model: what `analyze` proved, with the frames that prove it, why it happens and
//! how to fix it. Field names and meanings are the JSON report contract of SPEC.md.

use std::net::IpAddr;

use serde::Serialize;

pub use crate::crypto::KeyRef;

/// The kinds of fault kerbscope diagnoses (SPEC.md, "Kinds and their extra fields").
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Kind {
    WrongSpnCname,
    KrbApErrModified,
    MissingDelegation,
    SpnUnknown,
    KdcError,
    NtlmFallback,
    WeakEncryption,
}

impl Kind {
    pub const ALL: [Kind; 7] = [
        Kind::WrongSpnCname,
        Kind::KrbApErrModified,
        Kind::MissingDelegation,
        Kind::SpnUnknown,
        Kind::KdcError,
        Kind::NtlmFallback,
        Kind::WeakEncryption,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Kind::WrongSpnCname => "wrong_spn_cname",
            Kind::KrbApErrModified => "krb_ap_err_modified",
            Kind::MissingDelegation => "missing_delegation",
            Kind::SpnUnknown => "spn_unknown",
            Kind::KdcError => "kdc_error",
            Kind::NtlmFallback => "ntlm_fallback",
            Kind::WeakEncryption => "weak_encryption",
        }
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Severity {
    Info,
    Warning,
    Error,
}

impl Severity {
    pub fn as_str(self) -> &'static str {
        match self {
            Severity::Info => "info",
            Severity::Warning => "warning",
            Severity::Error => "error",
        }
    }
}

/// One piece of evidence: a frame and what it shows. `src`/`dst` let reports draw the exchange
/// as a sequence diagram.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Evidence {
    pub frame: u64,
    pub what: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub src: Option<IpAddr>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub dst: Option<IpAddr>,
}

/// A diagnosed fault.
#[derive(Clone, Debug, Serialize)]
pub struct Finding {
    pub kind: Kind,
    pub severity: Severity,
    /// One line a person reads first.
    pub summary: String,
    /// Path of the capture, as given on the command line.
    pub capture: String,
    /// Every evidence frame, ascending, without duplicates.
    pub frames: Vec<u64>,
    /// RFC 3339 UTC.
    pub first_ts: String,
    pub last_ts: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub client: Option<IpAddr>,
    /// IP or IP:port.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub server: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub kdc: Option<IpAddr>,
    /// The sname as sent, `SERVICE/host[:port]`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub spn: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub realm: Option<String>,
    /// Client principal, when seen.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub user: Option<String>,
    pub evidence: Vec<Evidence>,
    /// Why this happens, in plain words.
    pub explanation: String,
    /// Concrete steps and commands with the real names filled in.
    pub remediation: Vec<String>,
    #[serde(flatten)]
    pub details: Details,
}

/// Kind-specific fields, flattened into the finding's JSON object.
#[derive(Clone, Debug, Serialize)]
#[serde(untagged)]
pub enum Details {
    WrongSpnCname {
        alias: String,
        canonical: String,
        cname_chain: Vec<String>,
        requested_spn: String,
        expected_spn: String,
        /// `kdc_error`, `ap_error`, `ntlm_fallback` or `succeeded`.
        outcome: &'static str,
    },
    KrbApErrModified {
        /// The KRB-ERROR code; null when the service refused the AP-REQ through its own protocol
        /// (SMB STATUS_LOGON_FAILURE, LDAP invalidCredentials) without a Kerberos error.
        code: Option<i32>,
        /// The code's name, or the carrier's refusal when there is no code.
        code_name: String,
        #[serde(skip_serializing_if = "Option::is_none")]
        ticket_etype: Option<i32>,
        #[serde(skip_serializing_if = "Option::is_none")]
        ticket_kvno: Option<u32>,
        /// `http`, `winrm`, `smb`, `ldap`, `kdc`, ...
        transport: String,
        /// Most likely first; with keys, the cause they prove comes first.
        likely_causes: Vec<String>,
        /// With `--keytab` / `--password`: the key given that opened the AP-REQ's ticket.
        #[serde(skip_serializing_if = "Option::is_none")]
        ticket_decrypted_by: Option<KeyRef>,
        /// With keys: the keys given that were tried on the ticket and did not open it (the
        /// ticket's own principal first).
        #[serde(skip_serializing_if = "Vec::is_empty")]
        keys_that_failed: Vec<KeyRef>,
        /// With keys: what they prove, in one sentence naming the keys.
        #[serde(skip_serializing_if = "Option::is_none")]
        key_proof: Option<String>,
    },
    MissingDelegation {
        first_hop: String,
        #[serde(skip_serializing_if = "Option::is_none")]
        second_hop: Option<String>,
        /// `no_forwarded_tgt`, `s4u2proxy_refused`, `unauthenticated_second_hop`, `ntlm_second_hop`;
        /// for CredSSP over WinRM (no `second_hop`): `credssp_not_offered` (the server's 401 did
        /// not offer CredSSP: disabled on the server), `credssp_refused` (the server refused a
        /// CredSSP leg), `credssp_incomplete` (the client stopped before sending the credentials:
        /// its delegation policy).
        mechanism: &'static str,
        /// With keys: what the first hop's ticket and the client's authenticator prove.
        #[serde(skip_serializing_if = "Option::is_none")]
        delegation_proof: Option<DelegationProof>,
    },
    KdcError {
        code: i32,
        name: String,
    },
    NtlmFallback {
        server_name: String,
    },
    WeakEncryption {
        etype: String,
    },
    /// Kinds whose fields are all in the common part (`spn_unknown`).
    None {},
}

/// What keys proved about the AP-REQ that reached the first hop of a double hop.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize)]
pub struct DelegationProof {
    /// The key given that opened the ticket to the first hop.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub ticket_decrypted_by: Option<KeyRef>,
    /// The ticket's flags (opened ticket only): may it be forwarded, does the KDC vouch for the
    /// first hop as a delegate.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub ticket_flags: Vec<&'static str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub ticket_forwardable: Option<bool>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub ticket_ok_as_delegate: Option<bool>,
    /// The authenticator's GSS checksum flags (RFC 4121 §4.1.1) and whether `deleg` is one.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub gss_flags: Vec<&'static str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub deleg_requested: Option<bool>,
    /// The authenticator carried a KRB-CRED with a TGT, and that TGT's flags.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub delegated_tgt: Option<bool>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub delegated_tgt_flags: Vec<&'static str>,
    /// From the ticket's PAC (MS-PAC logon info), when there is one.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub pac_user: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub pac_groups: Option<usize>,
    /// The proof in one sentence.
    pub summary: String,
}

impl Finding {
    /// Sort key of the report: (capture, first frame, kind).
    pub fn sort_key(&self) -> (String, u64, Kind) {
        (
            self.capture.clone(),
            self.frames.first().copied().unwrap_or(0),
            self.kind,
        )
    }
}
