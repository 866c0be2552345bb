//! Keys and the encryption types this tool can open (RFC 3961 framework): one `Key` type whose
//! bytes never leave this module tree in any output (`Debug` redacts, no `Serialize`).

use std::fmt;

use super::aes_sha2::Variant;
use super::{aes_sha1, aes_sha2, rc4_hmac};
use crate::proto::kerberos::EncryptionType;

/// Iteration counts beyond this in string-to-key parameters are refused: they would only come
/// from a hostile or broken PA-ETYPE-INFO2 and would stall the analysis.
const MAX_ITERATIONS: u32 = 1 << 20;

/// The supported encryption types.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Cipher {
    Aes128Sha1,
    Aes256Sha1,
    Aes128Sha256,
    Aes256Sha384,
    Rc4Hmac,
}

impl Cipher {
    pub const ALL: [Cipher; 5] = [
        Cipher::Aes256Sha1,
        Cipher::Aes128Sha1,
        Cipher::Aes256Sha384,
        Cipher::Aes128Sha256,
        Cipher::Rc4Hmac,
    ];

    pub fn from_etype(etype: i32) -> Option<Cipher> {
        Some(match EncryptionType(etype) {
            EncryptionType::AES128_CTS_HMAC_SHA1_96 => Cipher::Aes128Sha1,
            EncryptionType::AES256_CTS_HMAC_SHA1_96 => Cipher::Aes256Sha1,
            EncryptionType::AES128_CTS_HMAC_SHA256_128 => Cipher::Aes128Sha256,
            EncryptionType::AES256_CTS_HMAC_SHA384_192 => Cipher::Aes256Sha384,
            EncryptionType::RC4_HMAC => Cipher::Rc4Hmac,
            _ => return None,
        })
    }

    pub fn etype(self) -> EncryptionType {
        match self {
            Cipher::Aes128Sha1 => EncryptionType::AES128_CTS_HMAC_SHA1_96,
            Cipher::Aes256Sha1 => EncryptionType::AES256_CTS_HMAC_SHA1_96,
            Cipher::Aes128Sha256 => EncryptionType::AES128_CTS_HMAC_SHA256_128,
            Cipher::Aes256Sha384 => EncryptionType::AES256_CTS_HMAC_SHA384_192,
            Cipher::Rc4Hmac => EncryptionType::RC4_HMAC,
        }
    }

    pub fn key_len(self) -> usize {
        match self {
            Cipher::Aes128Sha1 | Cipher::Aes128Sha256 | Cipher::Rc4Hmac => 16,
            Cipher::Aes256Sha1 | Cipher::Aes256Sha384 => 32,
        }
    }
}

/// A Kerberos key of a supported type.
#[derive(Clone, PartialEq, Eq)]
pub struct Key {
    cipher: Cipher,
    bytes: Vec<u8>,
}

impl fmt::Debug for Key {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Key {{ {:?}, <redacted> }}", self.cipher)
    }
}

impl Key {
    /// A key of `etype`; `None` for an unsupported type or a wrong length.
    pub fn new(etype: i32, bytes: &[u8]) -> Option<Key> {
        let cipher = Cipher::from_etype(etype)?;
        (bytes.len() == cipher.key_len()).then(|| Key {
            cipher,
            bytes: bytes.to_vec(),
        })
    }

    pub fn cipher(&self) -> Cipher {
        self.cipher
    }

    pub fn etype(&self) -> i32 {
        self.cipher.etype().0
    }

    /// RFC 3961 string-to-key. `params` is the s2kparams (iteration count, 4 bytes big-endian)
    /// from PA-ETYPE-INFO2 when known; RC4 ignores salt and params.
    pub fn from_password(
        cipher: Cipher,
        password: &str,
        salt: &[u8],
        params: Option<&[u8]>,
    ) -> Option<Key> {
        let iterations = match params {
            Some(p) => u32::from_be_bytes(p.try_into().ok()?),
            None => match cipher {
                Cipher::Aes128Sha256 | Cipher::Aes256Sha384 => aes_sha2::DEFAULT_ITERATIONS,
                _ => aes_sha1::DEFAULT_ITERATIONS,
            },
        };
        if iterations == 0 || iterations > MAX_ITERATIONS {
            return None;
        }
        let pw = password.as_bytes();
        let bytes = match cipher {
            Cipher::Aes128Sha1 | Cipher::Aes256Sha1 => {
                aes_sha1::string_to_key(pw, salt, iterations, cipher.key_len())?
            }
            Cipher::Aes128Sha256 => Variant::Aes128Sha256.string_to_key(pw, salt, iterations)?,
            Cipher::Aes256Sha384 => Variant::Aes256Sha384.string_to_key(pw, salt, iterations)?,
            Cipher::Rc4Hmac => rc4_hmac::string_to_key(password),
        };
        Some(Key { cipher, bytes })
    }

    /// Decrypt and verify integrity; `None` means "not this key" (or damaged ciphertext).
    pub fn decrypt(&self, usage: u32, ciphertext: &[u8]) -> Option<Vec<u8>> {
        match self.cipher {
            Cipher::Aes128Sha1 | Cipher::Aes256Sha1 => {
                aes_sha1::decrypt(&self.bytes, usage, ciphertext)
            }
            Cipher::Aes128Sha256 => Variant::Aes128Sha256.decrypt(&self.bytes, usage, ciphertext),
            Cipher::Aes256Sha384 => Variant::Aes256Sha384.decrypt(&self.bytes, usage, ciphertext),
            Cipher::Rc4Hmac => rc4_hmac::decrypt(&self.bytes, usage, ciphertext),
        }
    }

    /// Encrypt with a chosen confounder (test fixtures; RC4 uses its first 8 bytes).
    pub fn encrypt(&self, usage: u32, confounder: &[u8; 16], plain: &[u8]) -> Option<Vec<u8>> {
        match self.cipher {
            Cipher::Aes128Sha1 | Cipher::Aes256Sha1 => {
                aes_sha1::encrypt(&self.bytes, usage, confounder, plain)
            }
            Cipher::Aes128Sha256 => {
                Variant::Aes128Sha256.encrypt(&self.bytes, usage, confounder, plain)
            }
            Cipher::Aes256Sha384 => {
                Variant::Aes256Sha384.encrypt(&self.bytes, usage, confounder, plain)
            }
            Cipher::Rc4Hmac => {
                let c8: &[u8; 8] = confounder.first_chunk()?;
                rc4_hmac::encrypt(&self.bytes, usage, c8, plain)
            }
        }
    }

    /// The key bytes, for the derivations in this module tree only.
    pub(super) fn secret(&self) -> &[u8] {
        &self.bytes
    }

    /// Test-only view of the bytes, to compare with published vectors.
    #[cfg(test)]
    pub(crate) fn bytes_for_test(&self) -> &[u8] {
        &self.bytes
    }
}
