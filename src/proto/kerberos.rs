//! PLACEHOLDER: the Kerberos decoder is being written. Keep `decode`, `KrbMessage` and
//! `KrbDecodeError` (names and signatures) when replacing this file.
use serde::Serialize;

#[derive(Clone, Debug, Default, Serialize)]
pub struct KrbMessage {
    pub msg_type: String,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub enum KrbDecodeError {
    NotKerberos,
}

pub fn decode(_bytes: &[u8]) -> Result<KrbMessage, KrbDecodeError> {
    Err(KrbDecodeError::NotKerberos)
}
