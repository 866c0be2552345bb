//! Kerberos protocol numbers (RFC 4120 §7.5, RFC 6113, RFC 3961/3962/8009, MS-KILE, MS-SFU,
//! the IANA "Kerberos Parameters" registry): one newtype per number space, with named constants
//! and ONE name table each, so that unknown values still decode and print as numbers.

/// Declares a protocol-number newtype whose named constants and display names come from a single
/// list (so a constant can never disagree with its name).
macro_rules! number_table {
    ($(#[$meta:meta])* $ty:ident($inner:ty) { $($konst:ident = $val:expr => $name:expr,)* }) => {
        $(#[$meta])*
        #[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
        pub struct $ty(pub $inner);

        impl $ty {
            $(pub const $konst: $ty = $ty($val);)*

            /// Every named value, in table order.
            pub const ALL: &'static [($ty, &'static str)] = &[$(($ty($val), $name),)*];

            /// The registered name, `None` for a value this table does not know.
            pub fn name(self) -> Option<&'static str> {
                Self::ALL.iter().find(|(v, _)| *v == self).map(|(_, n)| *n)
            }

            /// Reverse lookup, ASCII case-insensitive.
            pub fn from_name(name: &str) -> Option<Self> {
                Self::ALL
                    .iter()
                    .find(|(_, n)| n.eq_ignore_ascii_case(name))
                    .map(|(v, _)| *v)
            }
        }
    };
}
number_table! {
    /// `msg-type` and the APPLICATION tag of each message (RFC 4120 §5.10).
    MessageType(i32) {
        AS_REQ = 10 => "AS-REQ",
        AS_REP = 11 => "AS-REP",
        TGS_REQ = 12 => "TGS-REQ",
        TGS_REP = 13 => "TGS-REP",
        AP_REQ = 14 => "AP-REQ",
        AP_REP = 15 => "AP-REP",
        // Non-standard user-to-user TGT request (draft-ietf-cat-user2user).
        TGT_REQ = 16 => "TGT-REQ",
        KRB_SAFE = 20 => "KRB-SAFE",
        KRB_PRIV = 21 => "KRB-PRIV",
        KRB_CRED = 22 => "KRB-CRED",
        KRB_ERROR = 30 => "KRB-ERROR",
    }
}

impl MessageType {
    /// The table name, or "APPLICATION-n" for an unknown tag.
    pub fn display(self) -> String {
        self.name()
            .map_or_else(|| format!("APPLICATION-{}", self.0), str::to_string)
    }
}

number_table! {
    /// Encryption types (IANA registry; names as MIT krb5 spells them, RC4 as "rc4-hmac").
    /// Negative values are Microsoft-private (kerberos.h `KERB_ETYPE_*`).
    EncryptionType(i32) {
        NULL = 0 => "null",
        DES_CBC_CRC = 1 => "des-cbc-crc",
        DES_CBC_MD4 = 2 => "des-cbc-md4",
        DES_CBC_MD5 = 3 => "des-cbc-md5",
        DES_CBC_RAW = 4 => "des-cbc-raw",
        DES3_CBC_MD5 = 5 => "des3-cbc-md5",
        DES3_CBC_RAW = 6 => "des3-cbc-raw",
        DES3_CBC_SHA1 = 7 => "des3-cbc-sha1",
        DSA_SHA1_CMS = 9 => "dsaWithSHA1-CmsOID",
        MD5_RSA_CMS = 10 => "md5WithRSAEncryption-CmsOID",
        SHA1_RSA_CMS = 11 => "sha1WithRSAEncryption-CmsOID",
        RC2_CBC_ENV = 12 => "rc2CBC-EnvOID",
        RSA_ENV = 13 => "rsaEncryption-EnvOID",
        RSA_OAEP_ENV = 14 => "rsaES-OAEP-ENV-OID",
        DES_EDE3_CBC_ENV = 15 => "des-ede3-cbc-Env-OID",
        DES3_CBC_SHA1_KD = 16 => "des3-cbc-sha1-kd",
        AES128_CTS_HMAC_SHA1_96 = 17 => "aes128-cts-hmac-sha1-96",
        AES256_CTS_HMAC_SHA1_96 = 18 => "aes256-cts-hmac-sha1-96",
        AES128_CTS_HMAC_SHA256_128 = 19 => "aes128-cts-hmac-sha256-128",
        AES256_CTS_HMAC_SHA384_192 = 20 => "aes256-cts-hmac-sha384-192",
        RC4_HMAC = 23 => "rc4-hmac",
        RC4_HMAC_EXP = 24 => "rc4-hmac-exp",
        CAMELLIA128_CTS_CMAC = 25 => "camellia128-cts-cmac",
        CAMELLIA256_CTS_CMAC = 26 => "camellia256-cts-cmac",
        SUBKEY_KEYMATERIAL = 65 => "subkey-keymaterial",
        RC4_MD4 = -128 => "rc4-md4",
        RC4_PLAIN2 = -129 => "rc4-plain2",
        RC4_LM = -130 => "rc4-lm",
        RC4_SHA = -131 => "rc4-sha",
        DES_PLAIN = -132 => "des-plain",
        RC4_HMAC_OLD = -133 => "rc4-hmac-old",
        RC4_PLAIN_OLD = -134 => "rc4-plain-old",
        RC4_HMAC_OLD_EXP = -135 => "rc4-hmac-old-exp",
        RC4_PLAIN_OLD_EXP = -136 => "rc4-plain-old-exp",
        RC4_PLAIN = -140 => "rc4-plain",
        RC4_PLAIN_EXP = -141 => "rc4-plain-exp",
    }
}

impl EncryptionType {
    /// DES, triple-DES (both deprecated by RFC 6649 / RFC 8429), RC4 (RFC 8429) and the
    /// 40-bit export and Microsoft-private variants: anything a `weak_encryption` finding names.
    pub fn is_weak(self) -> bool {
        matches!(self.0, 1..=7 | 15 | 16 | 23 | 24) || (-141..=-128).contains(&self.0)
    }

    /// The table name, or "etype-n" for an unknown value.
    pub fn display(self) -> String {
        self.name()
            .map_or_else(|| format!("etype-{}", self.0), str::to_string)
    }
}

number_table! {
    /// PA-DATA / TYPED-DATA types (IANA "Pre-authentication and Typed Data"; MS-KILE, MS-SFU).
    PaDataType(i32) {
        TGS_REQ = 1 => "PA-TGS-REQ",
        ENC_TIMESTAMP = 2 => "PA-ENC-TIMESTAMP",
        PW_SALT = 3 => "PA-PW-SALT",
        ENC_UNIX_TIME = 5 => "PA-ENC-UNIX-TIME",
        SANDIA_SECUREID = 6 => "PA-SANDIA-SECUREID",
        SESAME = 7 => "PA-SESAME",
        OSF_DCE = 8 => "PA-OSF-DCE",
        CYBERSAFE_SECUREID = 9 => "PA-CYBERSAFE-SECUREID",
        AFS3_SALT = 10 => "PA-AFS3-SALT",
        ETYPE_INFO = 11 => "PA-ETYPE-INFO",
        SAM_CHALLENGE = 12 => "PA-SAM-CHALLENGE",
        SAM_RESPONSE = 13 => "PA-SAM-RESPONSE",
        PK_AS_REQ_OLD = 14 => "PA-PK-AS-REQ-OLD",
        PK_AS_REP_OLD = 15 => "PA-PK-AS-REP-OLD",
        PK_AS_REQ = 16 => "PA-PK-AS-REQ",
        PK_AS_REP = 17 => "PA-PK-AS-REP",
        PK_OCSP_RESPONSE = 18 => "PA-PK-OCSP-RESPONSE",
        ETYPE_INFO2 = 19 => "PA-ETYPE-INFO2",
        SVR_REFERRAL_INFO = 20 => "PA-SVR-REFERRAL-INFO",
        SAM_REDIRECT = 21 => "PA-SAM-REDIRECT",
        GET_FROM_TYPED_DATA = 22 => "PA-GET-FROM-TYPED-DATA",
        SAM_ETYPE_INFO = 23 => "PA-SAM-ETYPE-INFO",
        ALT_PRINC = 24 => "PA-ALT-PRINC",
        SERVER_REFERRAL = 25 => "PA-SERVER-REFERRAL",
        SAM_CHALLENGE2 = 30 => "PA-SAM-CHALLENGE2",
        SAM_RESPONSE2 = 31 => "PA-SAM-RESPONSE2",
        EXTRA_TGT = 41 => "PA-EXTRA-TGT",
        TD_PKINIT_CMS_CERTIFICATES = 101 => "TD-PKINIT-CMS-CERTIFICATES",
        TD_KRB_PRINCIPAL = 102 => "TD-KRB-PRINCIPAL",
        TD_KRB_REALM = 103 => "TD-KRB-REALM",
        TD_TRUSTED_CERTIFIERS = 104 => "TD-TRUSTED-CERTIFIERS",
        TD_CERTIFICATE_INDEX = 105 => "TD-CERTIFICATE-INDEX",
        TD_APP_DEFINED_ERROR = 106 => "TD-APP-DEFINED-ERROR",
        TD_REQ_NONCE = 107 => "TD-REQ-NONCE",
        TD_REQ_SEQ = 108 => "TD-REQ-SEQ",
        TD_DH_PARAMETERS = 109 => "TD-DH-PARAMETERS",
        TD_CMS_DIGEST_ALGORITHMS = 111 => "TD-CMS-DIGEST-ALGORITHMS",
        TD_CERT_DIGEST_ALGORITHMS = 112 => "TD-CERT-DIGEST-ALGORITHMS",
        PAC_REQUEST = 128 => "PA-PAC-REQUEST",
        FOR_USER = 129 => "PA-FOR-USER",
        S4U_X509_USER = 130 => "PA-S4U-X509-USER",
        FOR_CHECK_DUPS = 131 => "PA-FOR-CHECK-DUPS",
        AS_CHECKSUM = 132 => "PA-AS-CHECKSUM",
        FX_COOKIE = 133 => "PA-FX-COOKIE",
        AUTHENTICATION_SET = 134 => "PA-AUTHENTICATION-SET",
        AUTH_SET_SELECTED = 135 => "PA-AUTH-SET-SELECTED",
        FX_FAST = 136 => "PA-FX-FAST",
        FX_ERROR = 137 => "PA-FX-ERROR",
        ENCRYPTED_CHALLENGE = 138 => "PA-ENCRYPTED-CHALLENGE",
        OTP_CHALLENGE = 141 => "PA-OTP-CHALLENGE",
        OTP_REQUEST = 142 => "PA-OTP-REQUEST",
        OTP_CONFIRM = 143 => "PA-OTP-CONFIRM",
        OTP_PIN_CHANGE = 144 => "PA-OTP-PIN-CHANGE",
        EPAK_AS_REQ = 145 => "PA-EPAK-AS-REQ",
        EPAK_AS_REP = 146 => "PA-EPAK-AS-REP",
        PKINIT_KX = 147 => "PA-PKINIT-KX",
        PKU2U_NAME = 148 => "PA-PKU2U-NAME",
        REQ_ENC_PA_REP = 149 => "PA-REQ-ENC-PA-REP",
        AS_FRESHNESS = 150 => "PA-AS-FRESHNESS",
        SPAKE = 151 => "PA-SPAKE",
        REDHAT_IDP_OAUTH2 = 152 => "PA-REDHAT-IDP-OAUTH2",
        REDHAT_PASSKEY = 153 => "PA-REDHAT-PASSKEY",
        SUPPORTED_ETYPES = 165 => "PA-SUPPORTED-ETYPES",
        EXTENDED_ERROR = 166 => "PA-EXTENDED-ERROR",
        PAC_OPTIONS = 167 => "PA-PAC-OPTIONS",
        KEY_LIST_REQ = 161 => "KERB-KEY-LIST-REQ",
        KEY_LIST_REP = 162 => "KERB-KEY-LIST-REP",
    }
}

impl PaDataType {
    /// Whether the value is ciphertext (or an armoured FAST request wrapping ciphertext): such
    /// values are never interpreted beyond their type.
    pub fn is_encrypted(self) -> bool {
        matches!(
            self,
            Self::ENC_TIMESTAMP | Self::ENCRYPTED_CHALLENGE | Self::FX_FAST
        )
    }
}

number_table! {
    /// Principal name types (RFC 4120 §6.2, RFC 6111, RFC 6806, MS-KILE §2.2.3 / 3.1.5.11).
    NameType(i32) {
        UNKNOWN = 0 => "NT-UNKNOWN",
        PRINCIPAL = 1 => "NT-PRINCIPAL",
        SRV_INST = 2 => "NT-SRV-INST",
        SRV_HST = 3 => "NT-SRV-HST",
        SRV_XHST = 4 => "NT-SRV-XHST",
        UID = 5 => "NT-UID",
        X500_PRINCIPAL = 6 => "NT-X500-PRINCIPAL",
        SMTP_NAME = 7 => "NT-SMTP-NAME",
        ENTERPRISE = 10 => "NT-ENTERPRISE",
        WELLKNOWN = 11 => "NT-WELLKNOWN",
        SRV_HST_DOMAIN = 12 => "NT-SRV-HST-DOMAIN",
        MS_PRINCIPAL = -128 => "NT-MS-PRINCIPAL",
        MS_PRINCIPAL_AND_ID = -129 => "NT-MS-PRINCIPAL-AND-ID",
        ENT_PRINCIPAL_AND_ID = -130 => "NT-ENT-PRINCIPAL-AND-ID",
    }
}

impl NameType {
    /// The table name, or "NT-n" for an unknown value.
    pub fn display(self) -> String {
        self.name()
            .map_or_else(|| format!("NT-{}", self.0), str::to_string)
    }
}

number_table! {
    /// Windows NTSTATUS values a KDC puts in KERB-EXT-ERROR (MS-KILE §2.2.1, MS-ERREF §2.3):
    /// only the ones that explain Kerberos failures; others print as hex.
    NtStatus(u32) {
        SUCCESS = 0x0000_0000 => "STATUS_SUCCESS",
        NO_LOGON_SERVERS = 0xC000_005E => "STATUS_NO_LOGON_SERVERS",
        NO_SUCH_USER = 0xC000_0064 => "STATUS_NO_SUCH_USER",
        WRONG_PASSWORD = 0xC000_006A => "STATUS_WRONG_PASSWORD",
        LOGON_FAILURE = 0xC000_006D => "STATUS_LOGON_FAILURE",
        ACCOUNT_RESTRICTION = 0xC000_006E => "STATUS_ACCOUNT_RESTRICTION",
        INVALID_LOGON_HOURS = 0xC000_006F => "STATUS_INVALID_LOGON_HOURS",
        INVALID_WORKSTATION = 0xC000_0070 => "STATUS_INVALID_WORKSTATION",
        PASSWORD_EXPIRED = 0xC000_0071 => "STATUS_PASSWORD_EXPIRED",
        ACCOUNT_DISABLED = 0xC000_0072 => "STATUS_ACCOUNT_DISABLED",
        NOT_SUPPORTED = 0xC000_00BB => "STATUS_NOT_SUPPORTED",
        TIME_DIFFERENCE_AT_DC = 0xC000_0133 => "STATUS_TIME_DIFFERENCE_AT_DC",
        ACCOUNT_EXPIRED = 0xC000_0193 => "STATUS_ACCOUNT_EXPIRED",
        PASSWORD_MUST_CHANGE = 0xC000_0224 => "STATUS_PASSWORD_MUST_CHANGE",
        ACCOUNT_LOCKED_OUT = 0xC000_0234 => "STATUS_ACCOUNT_LOCKED_OUT",
        NO_MATCH = 0xC000_0272 => "STATUS_NO_MATCH",
        AUTHENTICATION_FIREWALL_FAILED = 0xC000_0413 => "STATUS_AUTHENTICATION_FIREWALL_FAILED",
        DOWNGRADE_DETECTED = 0xC000_0388 => "STATUS_DOWNGRADE_DETECTED",
        USER_DELETE_TRUST_NOT_ALLOWED = 0xC000_0412 => "STATUS_USER_DELETE_TRUST_NOT_ALLOWED",
        KDC_CERT_REVOKED = 0xC000_040C => "STATUS_KDC_CERT_REVOKED",
        PKINIT_FAILURE = 0xC000_0320 => "STATUS_PKINIT_FAILURE",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_round_trip_and_unknowns_still_print() {
        assert_eq!(MessageType(30).display(), "KRB-ERROR");
        assert_eq!(MessageType(99).display(), "APPLICATION-99");
        assert_eq!(
            MessageType::from_name("tgs-req"),
            Some(MessageType::TGS_REQ)
        );
        assert_eq!(EncryptionType(18).display(), "aes256-cts-hmac-sha1-96");
        assert_eq!(EncryptionType(99).display(), "etype-99");
        assert_eq!(PaDataType::FOR_USER.name(), Some("PA-FOR-USER"));
        assert_eq!(NameType(-128).display(), "NT-MS-PRINCIPAL");
        assert_eq!(NtStatus(0xC000_00BB).name(), Some("STATUS_NOT_SUPPORTED"));
    }

    #[test]
    fn weak_etypes_are_des_3des_rc4_and_export_only() {
        let weak: Vec<i32> = [1, 3, 16, 17, 18, 19, 20, 23, 24, 25, 26, -128, -135]
            .into_iter()
            .filter(|&e| EncryptionType(e).is_weak())
            .collect();
        assert_eq!(weak, vec![1, 3, 16, 23, 24, -128, -135]);
    }

    #[test]
    fn tables_have_no_duplicate_numbers() {
        fn dupes<T: Copy + Ord>(all: &[(T, &str)]) -> usize {
            let mut v: Vec<T> = all.iter().map(|(t, _)| *t).collect();
            v.sort();
            let n = v.len();
            v.dedup();
            n - v.len()
        }
        assert_eq!(dupes(MessageType::ALL), 0);
        assert_eq!(dupes(EncryptionType::ALL), 0);
        assert_eq!(dupes(PaDataType::ALL), 0);
        assert_eq!(dupes(NameType::ALL), 0);
        assert_eq!(dupes(NtStatus::ALL), 0);
    }
}
