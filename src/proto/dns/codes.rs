//! DNS protocol numbers (RFC 1035 §3.2.2/§4.1.1, RFC 3596, RFC 2782, RFC 6891, IANA "Domain Name
//! System (DNS) Parameters"). Each number is a newtype with named consts generated from one
//! table, so unknown values still decode and print as `TYPE65534`, `RCODE12`, `OPCODE9`.

use std::fmt;

/// One table per newtype: the consts and `name()` come from the same list and cannot drift.
macro_rules! code_table {
    ($(#[$meta:meta])* $ty:ident($int:ty), unknown = $prefix:literal, { $($name:ident = $val:expr),* $(,)? }) => {
        $(#[$meta])*
        #[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
        pub struct $ty(pub $int);

        impl $ty {
            $(pub const $name: $ty = $ty($val);)*

            /// The registered mnemonic, `None` for an unassigned number.
            pub fn name(self) -> Option<&'static str> {
                match self.0 {
                    $($val => Some(stringify!($name)),)*
                    _ => None,
                }
            }
        }

        impl fmt::Display for $ty {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                match self.name() {
                    Some(name) => f.write_str(name),
                    None => write!(f, concat!($prefix, "{}"), self.0),
                }
            }
        }

        impl fmt::Debug for $ty {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                fmt::Display::fmt(self, f)
            }
        }

        impl serde::Serialize for $ty {
            fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
                serializer.collect_str(self)
            }
        }

        /// Lets callers write `msg.rcode == "NXDOMAIN"`.
        impl PartialEq<&str> for $ty {
            fn eq(&self, other: &&str) -> bool {
                match self.name() {
                    Some(name) => name.eq_ignore_ascii_case(other),
                    None => self.to_string().eq_ignore_ascii_case(other),
                }
            }
        }
    };
}

code_table! {
    /// Resource record TYPE / question QTYPE (RFC 1035 §3.2.2-3, IANA registry).
    RrType(u16), unknown = "TYPE", {
        A = 1, NS = 2, CNAME = 5, SOA = 6, NULL = 10, WKS = 11, PTR = 12, HINFO = 13, MX = 15,
        TXT = 16, AAAA = 28, SRV = 33, NAPTR = 35, DNAME = 39, OPT = 41, DS = 43, SSHFP = 44,
        RRSIG = 46, NSEC = 47, DNSKEY = 48, NSEC3 = 50, NSEC3PARAM = 51, TLSA = 52, SVCB = 64,
        HTTPS = 65, TKEY = 249, TSIG = 250, IXFR = 251, AXFR = 252, ANY = 255, CAA = 257,
    }
}

code_table! {
    /// Header OPCODE (RFC 1035 §4.1.1, RFC 1996 NOTIFY, RFC 2136 UPDATE, RFC 8490 DSO).
    Opcode(u8), unknown = "OPCODE", {
        QUERY = 0, IQUERY = 1, STATUS = 2, NOTIFY = 4, UPDATE = 5, DSO = 6,
    }
}

code_table! {
    /// RCODE, 4 bits in the header, widened to 12 bits by an EDNS OPT record (RFC 6891 §6.1.3).
    Rcode(u16), unknown = "RCODE", {
        NOERROR = 0, FORMERR = 1, SERVFAIL = 2, NXDOMAIN = 3, NOTIMP = 4, REFUSED = 5,
        YXDOMAIN = 6, YXRRSET = 7, NXRRSET = 8, NOTAUTH = 9, NOTZONE = 10, DSOTYPENI = 11,
        BADVERS = 16, BADKEY = 17, BADTIME = 18, BADMODE = 19, BADNAME = 20, BADALG = 21,
        BADTRUNC = 22, BADCOOKIE = 23,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn known_and_unknown_names() {
        assert_eq!(RrType::CNAME.to_string(), "CNAME");
        assert_eq!(RrType(65).to_string(), "HTTPS");
        assert_eq!(RrType(65534).to_string(), "TYPE65534");
        assert_eq!(Rcode(3).to_string(), "NXDOMAIN");
        assert_eq!(Rcode(12).to_string(), "RCODE12");
        assert_eq!(Opcode(3).to_string(), "OPCODE3");
        assert!(Rcode::NXDOMAIN == "nxdomain");
        assert!(RrType(99) == "TYPE99");
        assert!(RrType::A != "AAAA");
        assert_eq!(
            serde_json::to_string(&RrType(4660)).ok().as_deref(),
            Some("\"TYPE4660\"")
        );
    }
}
