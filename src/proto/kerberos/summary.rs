//! The decoded, serialisable summary of one Kerberos message: the `kerberos` event of SPEC.md
//! "Events". It keeps names, numbers, flags and lengths only: never ticket, authenticator or
//! enc-part ciphertext, keys, or encrypted pre-authentication values.

use serde::Serialize;

fn is_false(b: &bool) -> bool {
    !*b
}

/// One Kerberos message (RFC 4120 §5.4–5.9), flattened to what diagnosis needs.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize)]
pub struct KrbMessage {
    /// "AS-REQ", "AS-REP", "TGS-REQ", "TGS-REP", "AP-REQ", "AP-REP", "KRB-CRED", "KRB-ERROR",
    /// or "APPLICATION-n".
    pub msg_type: String,
    /// Requests: req-body realm. KRB-ERROR: the server's realm. AP-REQ and KDC replies: the
    /// realm of the ticket carried.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub realm: Option<String>,
    /// Components joined with "/" ("HTTP/iis01.test.com"). Requests: req-body sname.
    /// KRB-ERROR: the server's name. AP-REQ and KDC replies: the ticket's sname.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub sname: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub sname_type: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub cname: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub cname_type: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub crealm: Option<String>,

    /// Requests: names of the set KDC options, by RFC 4120 bit number.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub kdc_options: Vec<&'static str>,
    /// Requests: the first 32 KDC option bits as "0x40810010" (tshark `kerberos.kdc_options`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub kdc_options_raw: Option<String>,
    /// Requests: encryption types in the client's order of preference.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub etypes: Vec<i32>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub etype_names: Vec<String>,
    /// Requests and KDC replies: the pre-authentication data types present.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub padata: Vec<PaDataEntry>,
    /// Requests: requested end time, RFC 3339.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub till: Option<String>,

    /// AP-REQ: its ticket. TGS-REQ: the TGT inside PA-TGS-REQ. AS-REP / TGS-REP: the new ticket.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub ticket: Option<Box<TicketSummary>>,
    /// TGS-REQ additional-tickets: the S4U2Proxy evidence ticket, or the U2U TGT.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub additional_tickets: Vec<TicketSummary>,
    /// KRB-CRED: the tickets being forwarded.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub cred_tickets: Vec<TicketSummary>,

    /// S4U2Self: the user a service asks a ticket for (PA-FOR-USER / PA-S4U-X509-USER).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub s4u2self: Option<S4uUser>,
    /// Which padata carried `s4u2self`: "PA-FOR-USER" or "PA-S4U-X509-USER".
    #[serde(skip_serializing_if = "Option::is_none")]
    pub s4u_padata: Option<&'static str>,
    /// Constrained delegation: cname-in-addl-tkt set and an evidence ticket attached.
    #[serde(skip_serializing_if = "is_false")]
    pub s4u2proxy: bool,
    /// PA-PAC-OPTIONS flag names (resource-based-constrained-delegation, ...).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub pac_options: Vec<&'static str>,
    /// PA-FX-FAST present: the real request is armoured (RFC 6113).
    #[serde(skip_serializing_if = "is_false")]
    pub fast_armored: bool,

    /// KDC replies and AP-REP: enc-part encryption type and key version.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub enc_part_etype: Option<i32>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub enc_part_kvno: Option<u32>,
    /// AP-REQ: names of the set AP options.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub ap_options: Vec<&'static str>,
    /// AP-REQ: authenticator encryption type (the session key's type).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub authenticator_etype: Option<i32>,

    /// KRB-ERROR fields.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error_code: Option<i32>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error_name: Option<&'static str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub e_text: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub e_data: Option<Box<EData>>,
    /// KRB-ERROR: server time, RFC 3339.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub stime: Option<String>,

    /// A name or text field was not valid UTF-8 and was decoded with replacement characters.
    #[serde(skip_serializing_if = "is_false")]
    pub lossy_names: bool,
    /// Bytes after the end of the message (a datagram padded, or a token with extra data).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub trailing_bytes: Option<usize>,
    /// SEQUENCE fields the ASN.1 does not define and that were skipped (Apple IAKERB AP-REP `[3]`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub unknown_fields: Option<usize>,
    /// Pre-authentication values of a known type that did not decode (the message still did).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub undecodable_padata: Option<usize>,
    /// pvno when it is not 5.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub unexpected_pvno: Option<i64>,
}

/// One PA-DATA (or TYPED-DATA) entry: its type only, never its value.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct PaDataEntry {
    #[serde(rename = "type")]
    pub padata_type: i32,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub name: Option<&'static str>,
}

/// A Ticket's cleartext part plus the shape of its enc-part (RFC 4120 §5.3).
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize)]
pub struct TicketSummary {
    pub realm: String,
    pub sname: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub sname_type: Option<String>,
    pub etype: i32,
    pub etype_name: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub kvno: Option<u32>,
    /// Length of the enc-part ciphertext (the bytes themselves are not kept).
    pub cipher_len: usize,
    /// With `--keytab` / `--password` only: whether a key given opened the ticket. Set after
    /// decoding, from the `crypto` proofs; the decoder itself never sees keys.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub decrypted: Option<bool>,
    /// The key that opened it, by name (principal, kvno, etype, source): never its bytes.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub key: Option<crate::crypto::KeyRef>,
    /// What the opened ticket proves: the client ("alice@LAB.TEST"), authtime and ticket flags.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub client: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub authtime: Option<String>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub flags: Vec<&'static str>,
}

/// The user named by S4U2Self padata.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize)]
pub struct S4uUser {
    /// Absent when PA-S4U-X509-USER identifies the user by certificate only.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub user: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub realm: Option<String>,
}

/// KRB-ERROR e-data, classified.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize)]
pub struct EData {
    /// "method-data" (SEQUENCE OF PA-DATA), "typed-data" (SEQUENCE OF TYPED-DATA),
    /// "kerb-ext-error" (Microsoft KERB-ERROR-DATA) or "unknown".
    pub kind: &'static str,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub padata: Vec<PaDataEntry>,
    /// KERB-ERROR-DATA data-type (3 = KERB_ERR_TYPE_EXTENDED, 2 = skew recovery).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub data_type: Option<i32>,
    /// Windows NTSTATUS from KERB-EXT-ERROR, "0xC00000BB".
    #[serde(skip_serializing_if = "Option::is_none")]
    pub nt_status: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub nt_status_name: Option<&'static str>,
    /// Length of e-data.
    pub len: usize,
}
