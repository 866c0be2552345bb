//! aes128-cts-hmac-sha256-128 and aes256-cts-hmac-sha384-192 (RFC 8009).
//!
//! ```text
//! KDF-HMAC-SHA2(key, label, k) = first k bits of HMAC(key, 00000001 | label | 00 | k (32-bit BE))
//! string-to-key = KDF(PBKDF2-HMAC-SHA2(password, etype-name | 00 | salt, iterations
//!                     (default 32768), keylen), "kerberos", keylen bits)
//! Ke = KDF(key, usage | 0xAA, 128 / 256), Ki = KDF(key, usage | 0x55, 128 / 192)
//! ciphertext = C | H,  C = AES-CTS(Ke, confounder(16) | plaintext),
//!                      H = HMAC(Ki, IV (16 zero bytes) | C)[..16 / 24]
//! ```
//! SHA-256 goes with aes128, SHA-384 with aes256.

use hmac::{Hmac, KeyInit, Mac};
use sha2::{Sha256, Sha384};

use super::aes_sha1::usage_constant;
use super::cts::{self, Aes, BLOCK};

pub const DEFAULT_ITERATIONS: u32 = 32768;

/// The two RFC 8009 enctypes.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Variant {
    Aes128Sha256,
    Aes256Sha384,
}

impl Variant {
    fn key_len(self) -> usize {
        match self {
            Variant::Aes128Sha256 => 16,
            Variant::Aes256Sha384 => 32,
        }
    }
    fn mac_len(self) -> usize {
        match self {
            Variant::Aes128Sha256 => 16,
            Variant::Aes256Sha384 => 24,
        }
    }
    fn name(self) -> &'static [u8] {
        match self {
            Variant::Aes128Sha256 => b"aes128-cts-hmac-sha256-128",
            Variant::Aes256Sha384 => b"aes256-cts-hmac-sha384-192",
        }
    }

    fn hmac(self, key: &[u8], parts: &[&[u8]]) -> Option<Vec<u8>> {
        fn run<M: Mac + KeyInit>(key: &[u8], parts: &[&[u8]]) -> Option<Vec<u8>> {
            let mut m = <M as KeyInit>::new_from_slice(key).ok()?;
            for p in parts {
                m.update(p);
            }
            Some(m.finalize().into_bytes().to_vec())
        }
        match self {
            Variant::Aes128Sha256 => run::<Hmac<Sha256>>(key, parts),
            Variant::Aes256Sha384 => run::<Hmac<Sha384>>(key, parts),
        }
    }

    /// KDF-HMAC-SHA2 without context (RFC 8009 §3); `bits` is a multiple of 8.
    pub fn kdf(self, key: &[u8], label: &[u8], bits: u32) -> Option<Vec<u8>> {
        self.kdf_with_context(key, label, &[], bits)
    }

    /// KDF-HMAC-SHA2 with a context (the PRF passes its input as context).
    pub fn kdf_with_context(
        self,
        key: &[u8],
        label: &[u8],
        context: &[u8],
        bits: u32,
    ) -> Option<Vec<u8>> {
        let k = bits.to_be_bytes();
        let mut out = self.hmac(key, &[&1u32.to_be_bytes(), label, &[0], context, &k])?;
        out.truncate(usize::try_from(bits / 8).ok()?);
        Some(out)
    }

    fn ke_ki(self, key: &[u8], usage: u32) -> Option<(Vec<u8>, Vec<u8>)> {
        let ke_bits = u32::try_from(self.key_len() * 8).ok()?;
        let ki_bits = u32::try_from(self.mac_len() * 8).ok()?;
        Some((
            self.kdf(key, &usage_constant(usage, 0xaa), ke_bits)?,
            self.kdf(key, &usage_constant(usage, 0x55), ki_bits)?,
        ))
    }

    pub fn string_to_key(self, password: &[u8], salt: &[u8], iterations: u32) -> Option<Vec<u8>> {
        let mut saltp = self.name().to_vec();
        saltp.push(0);
        saltp.extend_from_slice(salt);
        let mut tkey = vec![0u8; self.key_len()];
        match self {
            Variant::Aes128Sha256 => {
                pbkdf2::pbkdf2_hmac::<Sha256>(password, &saltp, iterations, &mut tkey)
            }
            Variant::Aes256Sha384 => {
                pbkdf2::pbkdf2_hmac::<Sha384>(password, &saltp, iterations, &mut tkey)
            }
        }
        self.kdf(&tkey, b"kerberos", u32::try_from(self.key_len() * 8).ok()?)
    }

    pub fn decrypt(self, key: &[u8], usage: u32, ciphertext: &[u8]) -> Option<Vec<u8>> {
        let h = self.mac_len();
        if ciphertext.len() < BLOCK + h {
            return None;
        }
        let (body, mac) = ciphertext.split_at(ciphertext.len() - h);
        let (ke, ki) = self.ke_ki(key, usage)?;
        let expect = self.hmac(&ki, &[&[0u8; BLOCK], body])?;
        // Constant-time compare: the same trick as `Mac::verify`, without a second HMAC.
        let diff = expect
            .get(..h)?
            .iter()
            .zip(mac)
            .fold(0u8, |acc, (a, b)| acc | (a ^ b));
        if diff != 0 {
            return None;
        }
        let plain = cts::decrypt(&Aes::new(&ke)?, body)?;
        plain.get(BLOCK..).map(<[u8]>::to_vec)
    }

    pub fn encrypt(
        self,
        key: &[u8],
        usage: u32,
        confounder: &[u8; BLOCK],
        plain: &[u8],
    ) -> Option<Vec<u8>> {
        let (ke, ki) = self.ke_ki(key, usage)?;
        let mut data = confounder.to_vec();
        data.extend_from_slice(plain);
        let mut c = cts::encrypt(&Aes::new(&ke)?, &data)?;
        let mac = self.hmac(&ki, &[&[0u8; BLOCK], &c])?;
        c.extend_from_slice(mac.get(..self.mac_len())?);
        Some(c)
    }
}
