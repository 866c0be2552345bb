//! Pure protocol decoders: `&[u8]` in, typed summaries out, no state kept between calls.
//!
//! Every decoder distinguishes "need more bytes" (a stream must wait), "truncated" (the bytes
//! ended inside a message) and "malformed at offset X"; none allocates a buffer sized by a length
//! field read from the wire, and none keeps ticket/authenticator ciphertext or NT/LM responses:
//! only their lengths and encryption types survive decoding.

pub mod credssp;
pub mod dcerpc;
pub mod der;
pub mod dns;
pub mod gss;
pub mod http;
pub mod kerberos;
pub mod ldap;
pub mod ntlm;
pub mod smb;
pub mod tkey;
