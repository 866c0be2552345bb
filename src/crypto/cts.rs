//! AES in CBC mode with ciphertext stealing as RFC 3962 §5 defines it for Kerberos (also used by
//! RFC 8009): the last two blocks are always swapped, even when the input is a whole number of
//! blocks, and a single block is plain CBC. The initial vector is zero for every Kerberos use.

use aes::cipher::{BlockCipherDecrypt, BlockCipherEncrypt, KeyInit};
use aes::{Aes128, Aes256};

pub const BLOCK: usize = 16;
type Block = [u8; BLOCK];

/// An AES key schedule of either size.
pub enum Aes {
    A128(Box<Aes128>),
    A256(Box<Aes256>),
}

impl Aes {
    pub fn new(key: &[u8]) -> Option<Aes> {
        match key.len() {
            16 => Aes128::new_from_slice(key)
                .ok()
                .map(|k| Aes::A128(Box::new(k))),
            32 => Aes256::new_from_slice(key)
                .ok()
                .map(|k| Aes::A256(Box::new(k))),
            _ => None,
        }
    }

    pub fn encrypt_block(&self, block: &mut Block) {
        let mut b = aes::Block::from(*block);
        match self {
            Aes::A128(k) => k.encrypt_block(&mut b),
            Aes::A256(k) => k.encrypt_block(&mut b),
        }
        *block = b.into();
    }

    fn decrypt_block(&self, block: &mut Block) {
        let mut b = aes::Block::from(*block);
        match self {
            Aes::A128(k) => k.decrypt_block(&mut b),
            Aes::A256(k) => k.decrypt_block(&mut b),
        }
        *block = b.into();
    }
}

fn xor(a: &mut Block, b: &Block) {
    for (x, y) in a.iter_mut().zip(b) {
        *x ^= y;
    }
}

fn block_at(data: &[u8], i: usize) -> Block {
    let mut b = [0u8; BLOCK];
    if let Some(src) = data.get(i * BLOCK..) {
        for (dst, byte) in b.iter_mut().zip(src) {
            *dst = *byte;
        }
    }
    b
}

/// Encrypt; `None` for inputs shorter than one block (Kerberos always prepends a confounder).
pub fn encrypt(aes: &Aes, data: &[u8]) -> Option<Vec<u8>> {
    if data.len() < BLOCK {
        return None;
    }
    let blocks = data.len().div_ceil(BLOCK);
    let mut out: Vec<Block> = Vec::with_capacity(blocks);
    let mut prev = [0u8; BLOCK];
    for i in 0..blocks {
        // The last partial block is zero-padded, which is what lets decryption recover it.
        let mut b = block_at(data, i);
        xor(&mut b, &prev);
        aes.encrypt_block(&mut b);
        out.push(b);
        prev = b;
    }
    if blocks > 1 {
        out.swap(blocks - 1, blocks - 2);
    }
    let mut flat: Vec<u8> = out.concat();
    flat.truncate(data.len());
    Some(flat)
}

/// Decrypt; `None` for inputs shorter than one block.
pub fn decrypt(aes: &Aes, data: &[u8]) -> Option<Vec<u8>> {
    if data.len() < BLOCK {
        return None;
    }
    let blocks = data.len().div_ceil(BLOCK);
    let mut out = Vec::with_capacity(data.len());
    let mut prev = [0u8; BLOCK];
    if blocks == 1 {
        let mut b = block_at(data, 0);
        aes.decrypt_block(&mut b);
        out.extend_from_slice(&b);
        return Some(out);
    }
    for i in 0..blocks - 2 {
        let c = block_at(data, i);
        let mut b = c;
        aes.decrypt_block(&mut b);
        xor(&mut b, &prev);
        out.extend_from_slice(&b);
        prev = c;
    }
    // Penultimate ciphertext block = encryption of the last (padded) plaintext block.
    let tail = data.len() - (blocks - 1) * BLOCK;
    let last_cipher = block_at(data, blocks - 2);
    let partial = block_at(data, blocks - 1);
    let mut d = last_cipher;
    aes.decrypt_block(&mut d);
    // d = padded last plaintext XOR the full previous ciphertext block, whose first `tail`
    // bytes are `partial` and whose rest is therefore d's rest (the padding was zero).
    let mut full_prev = d;
    full_prev
        .get_mut(..tail)?
        .copy_from_slice(partial.get(..tail)?);
    let mut last_plain = d;
    xor(&mut last_plain, &full_prev);
    let mut pen = full_prev;
    aes.decrypt_block(&mut pen);
    xor(&mut pen, &prev);
    out.extend_from_slice(&pen);
    out.extend_from_slice(last_plain.get(..tail)?);
    Some(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::crypto::hex;

    /// RFC 3962 Appendix B, AES 128-bit key "chicken teriyaki", IV zero.
    #[test]
    fn rfc3962_cts_vectors() {
        let aes = Aes::new(b"chicken teriyaki").unwrap();
        let plain = b"I would like the General Gau's Chicken, please, and wonton soup.";
        for (len, cipher) in [
            (17, "c6353568f2bf8cb4d8a580362da7ff7f97"),
            (
                31,
                "fc00783e0efdb2c1d445d4c8eff7ed2297687268d6ecccc0c07b25e25ecfe5",
            ),
            (
                32,
                "39312523a78662d5be7fcbcc98ebf5a897687268d6ecccc0c07b25e25ecfe584",
            ),
            (
                47,
                "97687268d6ecccc0c07b25e25ecfe584b3fffd940c16a18c1b5549d2f838029e\
                 39312523a78662d5be7fcbcc98ebf5",
            ),
            (
                64,
                "97687268d6ecccc0c07b25e25ecfe58439312523a78662d5be7fcbcc98ebf5a8\
                 4807efe836ee89a526730dbc2f7bc8409dad8bbb96c4cdc03bc103e1a194bbd8",
            ),
        ] {
            let expect = hex(cipher);
            assert_eq!(encrypt(&aes, &plain[..len]).unwrap(), expect, "len {len}");
            assert_eq!(decrypt(&aes, &expect).unwrap(), &plain[..len], "len {len}");
        }
        assert!(decrypt(&aes, &[0; 15]).is_none());
    }
}
