//! Bounds-checked integer reads for the capture readers. Every read returns `None` instead of
//! panicking when the slice is too short.

/// Byte order of a pcap file or pcapng section.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Endian {
    Little,
    Big,
}

impl Endian {
    #[inline]
    pub fn u16(self, b: &[u8], at: usize) -> Option<u16> {
        let a: [u8; 2] = b.get(at..at.checked_add(2)?)?.try_into().ok()?;
        Some(match self {
            Endian::Little => u16::from_le_bytes(a),
            Endian::Big => u16::from_be_bytes(a),
        })
    }

    #[inline]
    pub fn u32(self, b: &[u8], at: usize) -> Option<u32> {
        Some(self.u32_of(b.get(at..at.checked_add(4)?)?.try_into().ok()?))
    }

    #[inline]
    pub fn u64(self, b: &[u8], at: usize) -> Option<u64> {
        let a: [u8; 8] = b.get(at..at.checked_add(8)?)?.try_into().ok()?;
        Some(match self {
            Endian::Little => u64::from_le_bytes(a),
            Endian::Big => u64::from_be_bytes(a),
        })
    }

    #[inline]
    pub fn u32_of(self, a: [u8; 4]) -> u32 {
        match self {
            Endian::Little => u32::from_le_bytes(a),
            Endian::Big => u32::from_be_bytes(a),
        }
    }
}

/// Little-endian reads (NetMon and ETW are always little-endian).
#[inline]
pub fn le16(b: &[u8], at: usize) -> Option<u16> {
    Endian::Little.u16(b, at)
}

#[inline]
pub fn le32(b: &[u8], at: usize) -> Option<u32> {
    Endian::Little.u32(b, at)
}

#[inline]
pub fn le64(b: &[u8], at: usize) -> Option<u64> {
    Endian::Little.u64(b, at)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_both_orders_and_refuses_short_slices() {
        let b = [0x0a, 0x0d, 0x0d, 0x0a, 0x1a, 0x2b, 0x3c, 0x4d];
        assert_eq!(Endian::Big.u32(&b, 4), Some(0x1a2b_3c4d));
        assert_eq!(Endian::Little.u32(&b, 4), Some(0x4d3c_2b1a));
        assert_eq!(Endian::Big.u16(&b, 6), Some(0x3c4d));
        assert_eq!(Endian::Big.u64(&b, 0), Some(0x0a0d_0d0a_1a2b_3c4d));
        assert_eq!(Endian::Big.u32(&b, 5), None);
        assert_eq!(le16(&b, 7), None);
        assert_eq!(le64(&b, 1), None);
        assert_eq!(le32(&b, usize::MAX - 1), None);
    }
}
