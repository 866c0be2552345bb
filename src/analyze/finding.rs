//! The finding model: what `analyze` proved, with the frames that prove it, why it happens and
//! how to fix it. Field names and meanings are the JSON report contract of SPEC.md.

use std::net::IpAddr;

use serde::Serialize;

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
        code: i32,
        code_name: String,
        #[serde(skip_serializing_if = "Option::is_none")]
        ticket_etype: Option<i32>,
        #[serde(skip_serializing_if = "Option::is_none")]
        ticket_kvno: Option<u32>,
        /// `http`, `winrm`, `smb`, `ldap`, `kdc`, ...
        transport: String,
        /// Most likely first.
        likely_causes: Vec<String>,
    },
    MissingDelegation {
        first_hop: String,
        #[serde(skip_serializing_if = "Option::is_none")]
        second_hop: Option<String>,
        /// `no_forwarded_tgt`, `s4u2proxy_refused`, `unauthenticated_second_hop`, `ntlm_second_hop`, ...
        mechanism: &'static str,
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
