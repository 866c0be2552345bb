//! Bounds-checked big-endian readers shared by the header decoders of `net` (network byte order,
//! RFC 1700). Every read returns `None` past the end of the slice instead of panicking.

/// The byte at `at`.
#[inline]
pub fn u8_at(data: &[u8], at: usize) -> Option<u8> {
    data.get(at).copied()
}

/// The big-endian `u16` starting at `at`.
#[inline]
pub fn be16(data: &[u8], at: usize) -> Option<u16> {
    let bytes = data.get(at..at.checked_add(2)?)?;
    Some(u16::from_be_bytes([*bytes.first()?, *bytes.get(1)?]))
}

/// The big-endian `u32` starting at `at`.
#[inline]
pub fn be32(data: &[u8], at: usize) -> Option<u32> {
    let bytes: [u8; 4] = data.get(at..at.checked_add(4)?)?.try_into().ok()?;
    Some(u32::from_be_bytes(bytes))
}

/// The little-endian `u32` starting at `at`.
#[inline]
pub fn le32(data: &[u8], at: usize) -> Option<u32> {
    let bytes: [u8; 4] = data.get(at..at.checked_add(4)?)?.try_into().ok()?;
    Some(u32::from_le_bytes(bytes))
}

/// The 16 bytes starting at `at`.
#[inline]
pub fn bytes16(data: &[u8], at: usize) -> Option<[u8; 16]> {
    data.get(at..at.checked_add(16)?)?.try_into().ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_stop_at_the_end() {
        let d = [0x12, 0x34, 0x56, 0x78, 0x9a];
        assert_eq!(be16(&d, 0), Some(0x1234));
        assert_eq!(be16(&d, 3), Some(0x789a));
        assert_eq!(be16(&d, 4), None);
        assert_eq!(be32(&d, 1), Some(0x3456_789a));
        assert_eq!(be32(&d, 2), None);
        assert_eq!(le32(&d, 0), Some(0x7856_3412));
        assert_eq!(u8_at(&d, 5), None);
        assert_eq!(be16(&d, usize::MAX), None);
        assert_eq!(bytes16(&d, 0), None);
    }
}
