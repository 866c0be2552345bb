//! Kerberos cryptography for proving causes with keys: RFC 3961 (framework, n-fold, key
//! derivation), RFC 3962 (aes128/256-cts-hmac-sha1-96), RFC 8009 (aes128-cts-hmac-sha256-128,
//! aes256-cts-hmac-sha384-192) and RFC 4757 (rc4-hmac), on RustCrypto primitives; MIT keytabs;
//! and the inspection of tickets, authenticators and KDC replies that `--keytab` enables.
//!
//! ```text
//! Keyring (keytabs, passwords) ─┐
//!                               ├─ inspect_message(raw Kerberos message) → Vec<TicketProof>
//! SessionKeys (learnt) ─────────┘        (tickets → session keys → authenticators → KRB-CRED)
//! ```
//! Secrets stay inside: keys and plaintexts are never serialised or printed; `Debug` of every
//! key-holding type redacts. Proofs name keys (principal, kvno, etype, source) and state facts.

mod aes_sha1;
mod aes_sha2;
mod cts;
mod fast;
mod gss;
mod inspect;
mod key;
mod keyring;
mod keytab;
mod nfold;
mod rc4_hmac;

#[cfg(test)]
mod vectors;

pub use gss::{ap_req_bytes, krb_message_bytes};
pub use inspect::{TicketProof, inspect_message};
pub use key::{Cipher, Key};
pub use keyring::{KeyRef, Keyring, PasswordError, SessionKeys};
pub use keytab::{KeytabEntry, KeytabError, parse_keytab, read_keytab_file};

/// Hex to bytes for test vectors (whitespace ignored).
#[cfg(test)]
pub(crate) fn hex(s: &str) -> Vec<u8> {
    let digits: Vec<u8> = s.bytes().filter(u8::is_ascii_hexdigit).collect();
    digits
        .chunks(2)
        .map(|p| u8::from_str_radix(std::str::from_utf8(p).unwrap(), 16).unwrap())
        .collect()
}
