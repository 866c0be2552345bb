//! NTSTATUS values (MS-ERREF 2.3.1) that SMB SESSION_SETUP answers with: the outcome of the
//! authentication carried in its security blob, named as Windows and Wireshark print them.

use serde::{Serialize, Serializer};

/// A 32-bit NTSTATUS: severity in the top two bits (`0b11` error, `0b10` warning, `0b00` success).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct NtStatus(pub u32);

macro_rules! status_table {
    ($($konst:ident = $val:expr;)*) => {
        impl NtStatus {
            $(pub const $konst: NtStatus = NtStatus($val);)*
        }
        /// Every named status.
        const STATUS_NAMES: &[(u32, &str)] = &[$(($val, stringify!($konst)),)*];
    };
}

status_table! {
    STATUS_SUCCESS = 0x0000_0000;
    STATUS_PENDING = 0x0000_0103;
    STATUS_BUFFER_OVERFLOW = 0x8000_0005;
    STATUS_INVALID_PARAMETER = 0xC000_000D;
    STATUS_MORE_PROCESSING_REQUIRED = 0xC000_0016;
    STATUS_ACCESS_DENIED = 0xC000_0022;
    STATUS_NO_LOGON_SERVERS = 0xC000_005E;
    STATUS_NO_SUCH_LOGON_SESSION = 0xC000_005F;
    STATUS_NO_SUCH_USER = 0xC000_0064;
    STATUS_WRONG_PASSWORD = 0xC000_006A;
    STATUS_PASSWORD_RESTRICTION = 0xC000_006C;
    STATUS_LOGON_FAILURE = 0xC000_006D;
    STATUS_ACCOUNT_RESTRICTION = 0xC000_006E;
    STATUS_INVALID_LOGON_HOURS = 0xC000_006F;
    STATUS_INVALID_WORKSTATION = 0xC000_0070;
    STATUS_PASSWORD_EXPIRED = 0xC000_0071;
    STATUS_ACCOUNT_DISABLED = 0xC000_0072;
    STATUS_INSUFFICIENT_RESOURCES = 0xC000_009A;
    STATUS_NOT_SUPPORTED = 0xC000_00BB;
    STATUS_NETWORK_ACCESS_DENIED = 0xC000_00CA;
    STATUS_BAD_NETWORK_NAME = 0xC000_00CC;
    STATUS_REQUEST_NOT_ACCEPTED = 0xC000_00D0;
    STATUS_TIME_DIFFERENCE_AT_DC = 0xC000_0133;
    STATUS_LOGON_TYPE_NOT_GRANTED = 0xC000_015B;
    STATUS_NO_TRUST_SAM_ACCOUNT = 0xC000_018B;
    STATUS_TRUSTED_DOMAIN_FAILURE = 0xC000_018C;
    STATUS_TRUSTED_RELATIONSHIP_FAILURE = 0xC000_018D;
    STATUS_ACCOUNT_EXPIRED = 0xC000_0193;
    STATUS_USER_SESSION_DELETED = 0xC000_0203;
    STATUS_PASSWORD_MUST_CHANGE = 0xC000_0224;
    STATUS_ACCOUNT_LOCKED_OUT = 0xC000_0234;
    STATUS_NETWORK_SESSION_EXPIRED = 0xC000_035C;
    STATUS_DOWNGRADE_DETECTED = 0xC000_0388;
    STATUS_AUTHENTICATION_FIREWALL_FAILED = 0xC000_0413;
}

impl NtStatus {
    /// The Windows name, if the value is one SESSION_SETUP is known to return.
    pub fn name(self) -> Option<&'static str> {
        STATUS_NAMES
            .iter()
            .find(|(v, _)| *v == self.0)
            .map(|(_, n)| *n)
    }

    /// Severity "error" (the top two bits set).
    pub fn is_error(self) -> bool {
        self.0 >> 30 == 0b11
    }

    /// `0xc000006d` form, as Wireshark prints NT status values.
    pub fn hex(self) -> String {
        format!("0x{:08x}", self.0)
    }
}

impl Serialize for NtStatus {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&self.hex())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_and_severity() {
        assert_eq!(NtStatus(0xc000_006d).name(), Some("STATUS_LOGON_FAILURE"));
        assert_eq!(
            NtStatus::STATUS_MORE_PROCESSING_REQUIRED.hex(),
            "0xc0000016"
        );
        assert!(NtStatus::STATUS_LOGON_FAILURE.is_error());
        assert!(!NtStatus::STATUS_SUCCESS.is_error());
        assert!(!NtStatus::STATUS_BUFFER_OVERFLOW.is_error());
        assert_eq!(NtStatus(0xc0ff_0000).name(), None);
    }
}
