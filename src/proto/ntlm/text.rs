//! String fields of NTLMSSP messages (MS-NLMP 2.2): UTF-16LE when NTLMSSP_NEGOTIATE_UNICODE is
//! set, otherwise the OEM code page. Both decoders are lossy and say so, because a capture can
//! carry any bytes at all.

/// Decode UTF-16LE; returns the text and whether anything had to be replaced (a lone surrogate
/// or an odd trailing byte).
pub fn utf16le(bytes: &[u8]) -> (String, bool) {
    let (pairs, odd) = bytes.as_chunks::<2>();
    let units = pairs.iter().map(|&pair| u16::from_le_bytes(pair));
    let mut lossy = !odd.is_empty();
    let text = char::decode_utf16(units)
        .map(|r| {
            r.unwrap_or_else(|_| {
                lossy = true;
                char::REPLACEMENT_CHARACTER
            })
        })
        .collect();
    (text, lossy)
}

/// Decode an OEM string. The code page is not on the wire, so only ASCII is trusted; any other
/// byte becomes U+FFFD and marks the result lossy.
pub fn oem(bytes: &[u8]) -> (String, bool) {
    let mut lossy = false;
    let text = bytes
        .iter()
        .map(|&b| {
            if b.is_ascii() {
                char::from(b)
            } else {
                lossy = true;
                char::REPLACEMENT_CHARACTER
            }
        })
        .collect();
    (text, lossy)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn utf16_and_oem() {
        assert_eq!(utf16le(b"m\0i\0k\0e\0g\0"), ("mikeg".to_string(), false));
        assert_eq!(utf16le(b"a\0b"), ("a".to_string(), true));
        assert_eq!(
            utf16le(&[0x3d, 0xd8, 0x00, 0xde]),
            ("\u{1f600}".to_string(), false)
        );
        assert_eq!(utf16le(&[0x00, 0xdc]), ("\u{fffd}".to_string(), true));
        assert_eq!(oem(b"WebDAV"), ("WebDAV".to_string(), false));
        assert_eq!(oem(&[b'A', 0xe9]), ("A\u{fffd}".to_string(), true));
    }
}
