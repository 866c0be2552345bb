//! The pseudo-random function of each encryption type and KRB-FX-CF2 (RFC 6113 §5.1), which
//! FAST uses to combine keys: the armor key (from the armor ticket's session key and the armor
//! authenticator's subkey) and the strengthened reply key of a FAST-armoured KDC reply.
//!
//! ```text
//! PRF, aes-sha1   (RFC 3962 §4): AES(DK(key, "prf"), first 16 bytes of SHA-1(input))
//! PRF, aes-sha2   (RFC 8009 §5): KDF-HMAC-SHA2(key, "prf", input, 256 / 384)
//! PRF+(key, s)    = PRF(key, 0x01 | s) | PRF(key, 0x02 | s) | ...
//! KRB-FX-CF2(k1, k2, p1, p2) = random-to-key(PRF+(k1, p1) XOR PRF+(k2, p2))  -- k1's type
//! ```
//! rc4-hmac has no RFC PRF that FAST deployments use; it is not supported here.

use sha1::{Digest, Sha1};

use super::aes_sha1;
use super::aes_sha2::Variant;
use super::cts::Aes;
use super::key::{Cipher, Key};

impl Key {
    /// The encryption type's PRF over `input`.
    pub(super) fn prf(&self, input: &[u8]) -> Option<Vec<u8>> {
        match self.cipher() {
            Cipher::Aes128Sha1 | Cipher::Aes256Sha1 => {
                let dk = aes_sha1::derive(self.secret(), b"prf")?;
                let digest = Sha1::digest(input);
                let mut block: [u8; 16] = digest.get(..16)?.try_into().ok()?;
                Aes::new(&dk)?.encrypt_block(&mut block);
                Some(block.to_vec())
            }
            Cipher::Aes128Sha256 => {
                Variant::Aes128Sha256.kdf_with_context(self.secret(), b"prf", input, 256)
            }
            Cipher::Aes256Sha384 => {
                Variant::Aes256Sha384.kdf_with_context(self.secret(), b"prf", input, 384)
            }
            Cipher::Rc4Hmac => None,
        }
    }

    fn prf_plus(&self, pepper: &[u8], len: usize) -> Option<Vec<u8>> {
        let mut out = Vec::with_capacity(len + 48);
        let mut counter: u8 = 1;
        while out.len() < len {
            let mut input = vec![counter];
            input.extend_from_slice(pepper);
            out.extend(self.prf(&input)?);
            counter = counter.checked_add(1)?;
        }
        out.truncate(len);
        Some(out)
    }

    /// KRB-FX-CF2: a key of `k1`'s type from two keys and two peppers.
    pub(super) fn cf2(k1: &Key, k2: &Key, pepper1: &[u8], pepper2: &[u8]) -> Option<Key> {
        let len = k1.cipher().key_len();
        let a = k1.prf_plus(pepper1, len)?;
        let b = k2.prf_plus(pepper2, len)?;
        let bytes: Vec<u8> = a.iter().zip(&b).map(|(x, y)| x ^ y).collect();
        Key::new(k1.etype(), &bytes)
    }
}

/// RFC 6113 §5.4.1.1: the armor key from the armor authenticator's subkey and the armor
/// ticket's session key.
pub(super) fn armor_key(subkey: &Key, ticket_session: &Key) -> Option<Key> {
    Key::cf2(subkey, ticket_session, b"subkeyarmor", b"ticketarmor")
}

/// RFC 6113 §5.4.3: the key a FAST-armoured KDC reply's enc-part is encrypted in.
pub(super) fn strengthened_reply_key(strengthen: &Key, reply: &Key) -> Option<Key> {
    Key::cf2(strengthen, reply, b"strengthenkey", b"replykey")
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::crypto::hex;

    fn s2k(cipher: Cipher, pw: &str) -> Key {
        Key::from_password(cipher, pw, pw.as_bytes(), None).unwrap()
    }

    /// MIT krb5 known answers (lib/crypto/crypto_tests/t_prf.c, t_cf2.in).
    #[test]
    fn prf_and_cf2_known_answers() {
        let k1 = s2k(Cipher::Aes128Sha1, "key1");
        assert_eq!(
            k1.prf(&[0x01, 0x61]).unwrap(),
            hex("77B39A37A868920F2A51F9DD150C5717")
        );
        let k2 = s2k(Cipher::Aes256Sha1, "key2");
        assert_eq!(
            k2.prf(&[0x02, 0x62]).unwrap(),
            hex("0D674DD0F9A6806525A4D92E828BD15A")
        );
        let cf = Key::cf2(&k1, &s2k(Cipher::Aes128Sha1, "key2"), b"a", b"b").unwrap();
        assert_eq!(cf.bytes_for_test(), hex("97DF97E4B798B29EB31ED7280287A92A"));
        let cf = Key::cf2(&s2k(Cipher::Aes256Sha1, "key1"), &k2, b"a", b"b").unwrap();
        assert_eq!(
            cf.bytes_for_test(),
            hex("4D6CA4E629785C1F01BAF55E2E548566B9617AE3A96868C337CB93B5E72B1C7B")
        );
    }

    /// RFC 8009 Appendix A, PRF with input "test".
    #[test]
    fn rfc8009_prf() {
        let k = Key::new(19, &hex("3705D96080C17728A0E800EAB6E0D23C")).unwrap();
        assert_eq!(
            k.prf(b"test").unwrap(),
            hex("9D188616F63852FE86915BB840B4A886FF3E6BB0F819B49B893393D393854295")
        );
        let k = Key::new(
            20,
            &hex("6D404D37FAF79F9DF0D33568D320669800EB4836472EA8A026D16B7182460C52"),
        )
        .unwrap();
        assert_eq!(
            k.prf(b"test").unwrap(),
            hex(
                "9801F69A368C2BF675E59521E177D9A07F67EFE1CFDE8D3C8D6F6A0256E3B17DB3C1B62AD1B8553360D17367EB1514D2"
            )
        );
    }
}
