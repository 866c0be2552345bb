//! n-fold (RFC 3961 §5.1): stretches or shrinks a constant to a cipher's block size, used to
//! turn key-usage constants into the input of key derivation.
//!
//! The input is repeated up to the least common multiple of the two lengths, each copy rotated
//! right by 13 more bits than the one before; the result is cut into `n`-byte pieces that are
//! added together in ones' complement (end-around carry).

fn gcd(a: usize, b: usize) -> usize {
    if b == 0 { a } else { gcd(b, a % b) }
}

/// `input` n-folded to `n` bytes. An empty input or `n == 0` yields `n` zero bytes.
pub fn nfold(input: &[u8], n: usize) -> Vec<u8> {
    let mut acc = vec![0u8; n];
    if input.is_empty() || n == 0 {
        return acc;
    }
    let in_bits = input.len() * 8;
    let total = input.len() / gcd(input.len(), n) * n;
    let bit = |i: usize| input.get(i / 8).map_or(0, |b| (b >> (7 - i % 8)) & 1);
    let mut buf = vec![0u8; total];
    for (pos, byte) in buf.iter_mut().enumerate() {
        for b in 0..8 {
            let out_bit = pos * 8 + b;
            let copy = out_bit / in_bits;
            let within = out_bit % in_bits;
            // Rotating right by r moves source bit (j - r) to position j.
            let shift = (13 * copy) % in_bits;
            let src = (within + in_bits - shift) % in_bits;
            *byte |= bit(src) << (7 - b);
        }
    }
    for chunk in buf.chunks(n) {
        let mut carry = 0u16;
        for (a, c) in acc.iter_mut().zip(chunk).rev() {
            let s = u16::from(*a) + u16::from(*c) + carry;
            *a = (s & 0xff) as u8;
            carry = s >> 8;
        }
        // End-around carry: add it back at the least significant end.
        while carry != 0 {
            for a in acc.iter_mut().rev() {
                let s = u16::from(*a) + carry;
                *a = (s & 0xff) as u8;
                carry = s >> 8;
                if carry == 0 {
                    break;
                }
            }
        }
    }
    acc
}
