//! aes128-cts-hmac-sha1-96 and aes256-cts-hmac-sha1-96 (RFC 3962 on the RFC 3961 §5.3
//! simplified profile).
//!
//! ```text
//! DK(base, constant) = DR(base, constant)       -- random-to-key is the identity for AES
//! DR: K1 = E(base, n-fold(constant, 16)), K2 = E(base, K1), ... until the key length
//! string-to-key = DK(PBKDF2-HMAC-SHA1(password, salt, iterations (default 4096), keylen), "kerberos")
//! Ke = DK(key, usage | 0xAA), Ki = DK(key, usage | 0x55)
//! ciphertext = AES-CTS(Ke, confounder(16) | plaintext) | HMAC-SHA1(Ki, confounder | plaintext)[..12]
//! ```

use hmac::{Hmac, KeyInit, Mac};
use sha1::Sha1;

use super::cts::{self, Aes, BLOCK};
use super::nfold::nfold;

const MAC_LEN: usize = 12;
pub const DEFAULT_ITERATIONS: u32 = 4096;

/// RFC 3961 §5.1 DK for an AES key (16 or 32 bytes).
pub fn derive(base: &[u8], constant: &[u8]) -> Option<Vec<u8>> {
    let aes = Aes::new(base)?;
    let mut block: [u8; BLOCK] = nfold(constant, BLOCK).try_into().ok()?;
    let mut out = Vec::with_capacity(base.len() + BLOCK);
    while out.len() < base.len() {
        aes.encrypt_block(&mut block);
        out.extend_from_slice(&block);
    }
    out.truncate(base.len());
    Some(out)
}

pub fn usage_constant(usage: u32, kind: u8) -> [u8; 5] {
    let u = usage.to_be_bytes();
    [u[0], u[1], u[2], u[3], kind]
}

pub fn string_to_key(
    password: &[u8],
    salt: &[u8],
    iterations: u32,
    key_len: usize,
) -> Option<Vec<u8>> {
    let mut tkey = vec![0u8; key_len];
    pbkdf2::pbkdf2_hmac::<Sha1>(password, salt, iterations, &mut tkey);
    derive(&tkey, b"kerberos")
}

fn hmac(key: &[u8], data: &[u8]) -> Option<Hmac<Sha1>> {
    let mut mac = <Hmac<Sha1> as KeyInit>::new_from_slice(key).ok()?;
    mac.update(data);
    Some(mac)
}

/// Decrypt and verify; `None` when the integrity check fails (wrong key or damaged data).
pub fn decrypt(key: &[u8], usage: u32, ciphertext: &[u8]) -> Option<Vec<u8>> {
    if ciphertext.len() < BLOCK + MAC_LEN {
        return None;
    }
    let (body, mac) = ciphertext.split_at(ciphertext.len() - MAC_LEN);
    let ke = derive(key, &usage_constant(usage, 0xaa))?;
    let ki = derive(key, &usage_constant(usage, 0x55))?;
    let plain = cts::decrypt(&Aes::new(&ke)?, body)?;
    hmac(&ki, &plain)?.verify_truncated_left(mac).ok()?;
    plain.get(BLOCK..).map(<[u8]>::to_vec)
}

/// Encrypt with a given confounder (tests and fixtures: real confounders are random).
pub fn encrypt(key: &[u8], usage: u32, confounder: &[u8; BLOCK], plain: &[u8]) -> Option<Vec<u8>> {
    let ke = derive(key, &usage_constant(usage, 0xaa))?;
    let ki = derive(key, &usage_constant(usage, 0x55))?;
    let mut data = confounder.to_vec();
    data.extend_from_slice(plain);
    let mut out = cts::encrypt(&Aes::new(&ke)?, &data)?;
    let tag = hmac(&ki, &data)?.finalize().into_bytes();
    out.extend_from_slice(tag.get(..MAC_LEN)?);
    Some(out)
}
