//! Published test vectors: RFC 3961 Appendix A.1 (n-fold), RFC 3962 Appendix B (AES
//! string-to-key), RFC 8009 Appendix A, and MIT krb5's known-answer vectors for encryption with
//! a fixed confounder (lib/crypto/crypto_tests, also carried by other implementations' tests) for
//! aes128/aes256-sha1 and rc4-hmac, plus RC4 string-to-key = MD4(UTF-16LE(password)).

use super::aes_sha2::Variant;
use super::hex;
use super::key::{Cipher, Key};
use super::nfold::nfold;

#[test]
fn rfc3961_nfold() {
    for (bits, input, out) in [
        (64, "012345", "be072631276b1955"),
        (56, "password", "78a07b6caf85fa"),
        (64, "Rough Consensus, and Running Code", "bb6ed30870b7f0e0"),
        (
            168,
            "password",
            "59e4a8ca7c0385c3c37b3f6d2000247cb6e6bd5b3e",
        ),
        (
            192,
            "MASSACHVSETTS INSTITVTE OF TECHNOLOGY",
            "db3b0d8f0b061e603282b308a50841229ad798fab9540c1b",
        ),
        (168, "Q", "518a54a215a8452a518a54a215a8452a518a54a215"),
        (168, "ba", "fb25d531ae8974499f52fd92ea9857c4ba24cf297e"),
        (64, "kerberos", "6b65726265726f73"),
        (128, "kerberos", "6b65726265726f737b9b5b2b93132b93"),
        (
            168,
            "kerberos",
            "8372c236344e5f1550cd0747e15d62ca7a5a3bcea4",
        ),
        (
            256,
            "kerberos",
            "6b65726265726f737b9b5b2b93132b935c9bdcdad95c9899c4cae4dee6d6cae4",
        ),
    ] {
        assert_eq!(
            nfold(input.as_bytes(), bits / 8),
            hex(out),
            "{bits}-fold {input}"
        );
    }
}

fn s2k(cipher: Cipher, pw: &str, salt: &[u8], iterations: u32) -> Vec<u8> {
    let params = iterations.to_be_bytes();
    Key::from_password(cipher, pw, salt, Some(&params))
        .unwrap()
        .bytes_for_test()
        .to_vec()
}

#[test]
fn rfc3962_string_to_key() {
    let x64 = "X".repeat(64);
    let x65 = "X".repeat(65);
    let cases: [(&str, &[u8], u32, &str, &str); 7] = [
        (
            "password",
            b"ATHENA.MIT.EDUraeburn",
            1,
            "42263c6e89f4fc28b8df68ee09799f15",
            "fe697b52bc0d3ce14432ba036a92e65bbb52280990a2fa27883998d72af30161",
        ),
        (
            "password",
            b"ATHENA.MIT.EDUraeburn",
            2,
            "c651bf29e2300ac27fa469d693bdda13",
            "a2e16d16b36069c135d5e9d2e25f896102685618b95914b467c67622225824ff",
        ),
        (
            "password",
            b"ATHENA.MIT.EDUraeburn",
            1200,
            "4c01cd46d632d01e6dbe230a01ed642a",
            "55a6ac740ad17b4846941051e1e8b0a7548d93b0ab30a8bc3ff16280382b8c2a",
        ),
        (
            "password",
            &[0x12, 0x34, 0x56, 0x78, 0x78, 0x56, 0x34, 0x12],
            5,
            "e9b23d52273747dd5c35cb55be619d8e",
            "97a4e786be20d81a382d5ebc96d5909cabcdadc87ca48f574504159f16c36e31",
        ),
        (
            &x64,
            b"pass phrase equals block size",
            1200,
            "59d1bb789a828b1aa54ef9c2883f69ed",
            "89adee3608db8bc71f1bfbfe459486b05618b70cbae22092534e56c553ba4b34",
        ),
        (
            &x65,
            b"pass phrase exceeds block size",
            1200,
            "cb8005dc5f90179a7f02104c0018751d",
            "d78c5c9cb872a8c9dad4697f0bb5b2d21496c82beb2caeda2112fceea057401b",
        ),
        (
            "\u{1d11e}",
            b"EXAMPLE.COMpianist",
            50,
            "f149c1f2e154a73452d43e7fe62a56e5",
            "4b6d9839f84406df1f09cc166db4b83c571848b784a3d6bdc346589a3e393f9e",
        ),
    ];
    for (pw, salt, iter, k128, k256) in cases {
        assert_eq!(
            s2k(Cipher::Aes128Sha1, pw, salt, iter),
            hex(k128),
            "{iter} {salt:?}"
        );
        assert_eq!(
            s2k(Cipher::Aes256Sha1, pw, salt, iter),
            hex(k256),
            "{iter} {salt:?}"
        );
    }
}

/// Encrypt with a fixed confounder, compare, decrypt back, and check that one flipped bit or
/// another usage is refused.
fn round_trip(key: &Key, usage: u32, confounder: &[u8], plain: &[u8], cipher: &str) {
    let mut conf = [0u8; 16];
    conf[..confounder.len()].copy_from_slice(confounder);
    let expect = hex(cipher);
    assert_eq!(key.encrypt(usage, &conf, plain).unwrap(), expect, "{key:?}");
    assert_eq!(key.decrypt(usage, &expect).unwrap(), plain, "{key:?}");
    assert!(key.decrypt(usage + 1, &expect).is_none());
    let mut bad = expect.clone();
    bad[5] ^= 1;
    assert!(key.decrypt(usage, &bad).is_none());
}

#[test]
fn mit_aes_sha1_and_rc4_known_answers() {
    let k = Key::new(17, &hex("9062430C8CDA3388922E6D6A509F5B7A")).unwrap();
    round_trip(
        &k,
        2,
        &hex("94B491F481485B9A0678CD3C4EA386AD"),
        b"9 bytesss",
        "68FB9679601F45C78857B2BF820FD6E53ECA8D42FD4B1D7024A09205ABB7CD2EC26C355D2F",
    );
    let k = Key::new(
        18,
        &hex("F1C795E9248A09338D82C3F8D5B567040B0110736845041347235B1404231398"),
    )
    .unwrap();
    round_trip(
        &k,
        4,
        &hex("E45CA518B42E266AD98E165E706FFB60"),
        b"30 bytes bytes bytes bytes byt",
        "D1137A4D634CFECE924DBC3BF6790648BD5CFF7DE0E7B99460211D0DAEF3D79A\
         295C688858F3B34B9CBD6EEBAE81DAF6B734D4D498B6714F1C1D",
    );
    let k = Key::new(23, &hex("68F263DB3FCE15D031C9EAB02D67107A")).unwrap();
    round_trip(
        &k,
        4,
        &hex("37245E73A45FBF72"),
        b"30 bytes bytes bytes bytes byt",
        "95F9047C3AD75891C2E9B04B16566DC8B6EB9CE4231AFB2542EF87A7B5A0F260\
         A99F0460508DE0CECC632D07C354124E46C5D2234EB8",
    );
}

#[test]
fn rc4_string_to_key_is_md4_of_utf16le() {
    let k = Key::from_password(Cipher::Rc4Hmac, "foo", b"ignored", None).unwrap();
    assert_eq!(k.bytes_for_test(), hex("AC8E657F83DF82BEEA5D43BDAF7800CC"));
    // The NT hash of "password" (MS-NLMP NTOWFv1 = MD4(UNICODE(password))).
    let k = Key::from_password(Cipher::Rc4Hmac, "password", b"", None).unwrap();
    assert_eq!(k.bytes_for_test(), hex("8846F7EAEE8FB117AD06BDD830B7586C"));
}

#[test]
fn rfc8009_string_to_key_and_derivation() {
    let salt = [
        hex("10DF9DD783E5BC8ACEA1730E74355F61"),
        b"ATHENA.MIT.EDUraeburn".to_vec(),
    ]
    .concat();
    assert_eq!(
        s2k(Cipher::Aes128Sha256, "password", &salt, 32768),
        hex("089BCA48B105EA6EA77CA5D2F39DC5E7")
    );
    assert_eq!(
        s2k(Cipher::Aes256Sha384, "password", &salt, 32768),
        hex("45BD806DBF6A833A9CFFC1C94589A222367A79BC21C413718906E9F578A78467")
    );
    let base = hex("3705D96080C17728A0E800EAB6E0D23C");
    let v = Variant::Aes128Sha256;
    assert_eq!(
        v.kdf(&base, &[0, 0, 0, 2, 0x99], 128).unwrap(),
        hex("B31A018A48F54776F403E9A396325DC3")
    );
    assert_eq!(
        v.kdf(&base, &[0, 0, 0, 2, 0xaa], 128).unwrap(),
        hex("9B197DD1E8C5609D6E67C3E37C62C72E")
    );
    assert_eq!(
        v.kdf(&base, &[0, 0, 0, 2, 0x55], 128).unwrap(),
        hex("9FDA0E56AB2D85E1569A688696C26A6C")
    );
    let base = hex("6D404D37FAF79F9DF0D33568D320669800EB4836472EA8A026D16B7182460C52");
    let v = Variant::Aes256Sha384;
    assert_eq!(
        v.kdf(&base, &[0, 0, 0, 2, 0x99], 192).unwrap(),
        hex("EF5718BE86CC84963D8BBB5031E9F5C4BA41F28FAF69E73D")
    );
    assert_eq!(
        v.kdf(&base, &[0, 0, 0, 2, 0xaa], 256).unwrap(),
        hex("56AB22BEE63D82D7BC5227F6773F8EA7A5EB1C825160C38312980C442E5C7E49")
    );
    assert_eq!(
        v.kdf(&base, &[0, 0, 0, 2, 0x55], 192).unwrap(),
        hex("69B16514E3CD8E56B82010D5C73012B622C4D00FFC23ED1F")
    );
}

#[test]
fn rfc8009_encryption() {
    let k = Key::new(19, &hex("3705D96080C17728A0E800EAB6E0D23C")).unwrap();
    let p = hex("000102030405060708090A0B0C0D0E0F1011121314");
    for (plain, conf, cipher) in [
        (
            &p[..0],
            "7E5895EAF2672435BAD817F545A37148",
            "EF85FB890BB8472F4DAB20394DCA781DAD877EDA39D50C870C0D5A0A8E48C718",
        ),
        (
            &p[..6],
            "7BCA285E2FD4130FB55B1A5C83BC5B24",
            "84D7F30754ED987BAB0BF3506BEB09CFB55402CEF7E6877CE99E247E52D16ED4421DFDF8976C",
        ),
        (
            &p[..16],
            "56AB21713FF62C0A1457200F6FA9948F",
            "3517D640F50DDC8AD3628722B3569D2AE07493FA8263254080EA65C1008E8FC295FB4852E7D83E1E7C48C37EEBE6B0D3",
        ),
        (
            &p[..],
            "A7A4E29A4728CE10664FB64E49AD3FAC",
            "720F73B18D9859CD6CCB4346115CD336C70F58EDC0C4437C5573544C31C813BCE1E6D072C186B39A413C2F92CA9B8334A287FFCBFC",
        ),
    ] {
        round_trip(&k, 2, &hex(conf), plain, cipher);
    }
    let k = Key::new(
        20,
        &hex("6D404D37FAF79F9DF0D33568D320669800EB4836472EA8A026D16B7182460C52"),
    )
    .unwrap();
    for (plain, conf, cipher) in [
        (
            &p[..0],
            "F764E9FA15C276478B2C7D0C4E5F58E4",
            "41F53FA5BFE7026D91FAF9BE959195A058707273A96A40F0A01960621AC612748B9BBFBE7EB4CE3C",
        ),
        (
            &p[..6],
            "B80D3251C1F6471494256FFE712D0B9A",
            "4ED7B37C2BCAC8F74F23C1CF07E62BC7B75FB3F637B9F559C7F664F69EAB7B6092237526EA0D1F61CB20D69D10F2",
        ),
        (
            &p[..16],
            "53BF8A0D105265D4E276428624CE5E63",
            "BC47FFEC7998EB91E8115CF8D19DAC4BBBE2E163E87DD37F49BECA92027764F68CF51F14D798C2273F35DF574D1F932E40C4FF255B36A266",
        ),
        (
            &p[..],
            "763E65367E864F02F55153C7E3B58AF1",
            "40013E2DF58E8751957D2878BCD2D6FE101CCFD556CB1EAE79DB3C3EE86429F2B2A602AC86FEF6ECB647D6295FAE077A1FEB517508D2C16B4192E01F62",
        ),
    ] {
        round_trip(&k, 2, &hex(conf), plain, cipher);
    }
}

#[test]
fn wrong_lengths_and_types_are_refused_not_panicking() {
    assert!(Key::new(18, &[0; 16]).is_none());
    assert!(Key::new(3, &[0; 8]).is_none());
    let k = Key::new(18, &[1; 32]).unwrap();
    for len in 0..40 {
        assert!(k.decrypt(2, &vec![0xa5; len]).is_none());
    }
    let k = Key::new(23, &[1; 16]).unwrap();
    assert!(k.decrypt(2, &[0; 23]).is_none());
    assert!(Key::from_password(Cipher::Aes256Sha1, "x", b"s", Some(&[0xff; 4])).is_none());
    assert_eq!(
        format!("{:?}", Key::new(17, &[0x42; 16]).unwrap()),
        "Key { Aes128Sha1, <redacted> }"
    );
}
