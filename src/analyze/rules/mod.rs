//! One rule per file. Each reads the correlated [`Model`](super::model::Model) of a capture and
//! appends the findings it can prove; none of them looks at bytes.

pub mod ap_err_modified;
pub mod credssp;
pub mod kdc_error;
pub mod missing_delegation;
pub mod ntlm_fallback;
pub mod spn_unknown;
pub mod weak_encryption;
pub mod wrong_spn_cname;

use super::finding::Finding;
use super::model::Model;

/// Run every rule on one capture.
pub fn run_all(model: &Model<'_>) -> Vec<Finding> {
    let mut out = Vec::new();
    wrong_spn_cname::run(model, &mut out);
    ap_err_modified::run(model, &mut out);
    missing_delegation::run(model, &mut out);
    credssp::run(model, &mut out);
    spn_unknown::run(model, &mut out);
    kdc_error::run(model, &mut out);
    ntlm_fallback::run(model, &mut out);
    weak_encryption::run(model, &mut out);
    out
}

/// KRB-ERROR codes with which a service says it could not decrypt the ticket it was given:
/// Windows sends 41; MIT/Heimdal send 31 (right kvno, wrong key), 44 (kvno/enctype missing),
/// 35 (ticket for another principal) or 45 (no key for the principal).
pub const TICKET_DECRYPT_ERRORS: [i32; 5] = [41, 31, 44, 35, 45];

/// KRB-ERROR 7 KDC_ERR_S_PRINCIPAL_UNKNOWN.
pub const PRINCIPAL_UNKNOWN: i32 = 7;
/// KRB-ERROR 13 KDC_ERR_BADOPTION.
pub const BAD_OPTION: i32 = 13;

/// The NetBIOS-style short name of a host (`web1.lab.test` → `web1`).
pub fn short_name(host: &str) -> &str {
    host.split('.').next().unwrap_or(host)
}

/// The DNS domain of a realm as administrators type it in commands.
pub fn domain_of(realm: Option<&str>) -> String {
    realm
        .map(|r| r.split('.').next().unwrap_or(r).to_ascii_uppercase())
        .unwrap_or_else(|| "DOMAIN".into())
}
