//! rc4-hmac (RFC 4757 §4–5), kept for reading captures from Windows domains that still use it.
//!
//! ```text
//! string-to-key = MD4(UTF-16LE(password))                    -- no salt
//! K1 = HMAC-MD5(key, usage (32-bit LE, translated as below))
//! ciphertext = checksum(16) | RC4(K3, confounder(8) | plaintext)
//!   checksum = HMAC-MD5(K1, confounder | plaintext),  K3 = HMAC-MD5(K1, checksum)
//! ```
//! Usage translation (RFC 4757 §3, as Windows and MIT implement it): the AS-REP enc-part (3) and
//! the TGS-REP enc-part with a subkey (9) use 8; 23 (AP-REP in some profiles) uses 13.

use hmac::{Hmac, KeyInit, Mac};
use md4::{Digest, Md4};
use md5::Md5;
use rc4::{Rc4, StreamCipher};

const CHECKSUM_LEN: usize = 16;
const CONFOUNDER_LEN: usize = 8;

fn translate(usage: u32) -> u32 {
    match usage {
        3 | 9 => 8,
        23 => 13,
        u => u,
    }
}

fn hmac_md5(key: &[u8], data: &[u8]) -> Option<[u8; 16]> {
    let mut m = <Hmac<Md5> as KeyInit>::new_from_slice(key).ok()?;
    m.update(data);
    m.finalize().into_bytes().as_slice().try_into().ok()
}

pub fn string_to_key(password: &str) -> Vec<u8> {
    let utf16: Vec<u8> = password.encode_utf16().flat_map(u16::to_le_bytes).collect();
    Md4::digest(&utf16).to_vec()
}

fn rc4(key: &[u8], data: &mut [u8]) -> Option<()> {
    let mut c = <Rc4 as rc4::KeyInit>::new_from_slice(key).ok()?;
    c.apply_keystream(data);
    Some(())
}

pub fn decrypt(key: &[u8], usage: u32, ciphertext: &[u8]) -> Option<Vec<u8>> {
    if ciphertext.len() < CHECKSUM_LEN + CONFOUNDER_LEN {
        return None;
    }
    let (checksum, body) = ciphertext.split_at(CHECKSUM_LEN);
    let k1 = hmac_md5(key, &translate(usage).to_le_bytes())?;
    let k3 = hmac_md5(&k1, checksum)?;
    let mut plain = body.to_vec();
    rc4(&k3, &mut plain)?;
    let mut m = <Hmac<Md5> as KeyInit>::new_from_slice(&k1).ok()?;
    m.update(&plain);
    m.verify_slice(checksum).ok()?;
    plain.get(CONFOUNDER_LEN..).map(<[u8]>::to_vec)
}

pub fn encrypt(key: &[u8], usage: u32, confounder: &[u8; 8], plain: &[u8]) -> Option<Vec<u8>> {
    let k1 = hmac_md5(key, &translate(usage).to_le_bytes())?;
    let mut data = confounder.to_vec();
    data.extend_from_slice(plain);
    let checksum = hmac_md5(&k1, &data)?;
    let k3 = hmac_md5(&k1, &checksum)?;
    rc4(&k3, &mut data)?;
    let mut out = checksum.to_vec();
    out.extend(data);
    Some(out)
}
