//! The keys an analysis may use: long-term keys from keytabs and passwords (`Keyring`), and
//! ticket session keys learnt while reading a capture (`SessionKeys`).

use std::collections::{HashMap, VecDeque};
use std::fmt;
use std::path::Path;

use serde::Serialize;
use sha2::{Digest, Sha256};

use super::key::{Cipher, Key};
use super::keytab::{KeytabError, read_keytab_file};
use crate::proto::kerberos::EncryptionType;

/// Which key: enough to name it in a report, nothing that reveals it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct KeyRef {
    /// "HTTP/web1.lab.test@LAB.TEST", or "session key of <service>" for learnt keys.
    pub principal: String,
    /// `None` for password-derived and session keys.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub kvno: Option<u32>,
    pub etype: i32,
    pub etype_name: String,
    /// The keytab file name, "password", or "capture" for learnt keys.
    pub source: String,
}

/// One long-term key with its name.
#[derive(Clone, Debug)]
pub(super) struct Entry {
    pub principal: String,
    pub kvno: Option<u32>,
    pub source: String,
    pub key: Key,
}

impl Entry {
    pub fn key_ref(&self) -> KeyRef {
        KeyRef {
            principal: self.principal.clone(),
            kvno: self.kvno,
            etype: self.key.etype(),
            etype_name: EncryptionType(self.key.etype()).display(),
            source: self.source.clone(),
        }
    }
}

#[derive(Debug)]
pub enum PasswordError {
    /// No salt given and the principal has no "@REALM" to build the default salt from.
    NoRealm,
}

impl fmt::Display for PasswordError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            PasswordError::NoRealm => f.write_str("principal has no @REALM and no salt was given"),
        }
    }
}

impl std::error::Error for PasswordError {}

/// Long-term keys. `Debug` lists principals only.
#[derive(Clone, Debug, Default)]
pub struct Keyring {
    entries: Vec<Entry>,
    /// Keytab entries of types this tool cannot use (DES, ...): counted, for the report.
    pub unsupported: usize,
}

impl Keyring {
    pub fn new() -> Keyring {
        Keyring::default()
    }

    /// Read an MIT keytab (versions 1 and 2).
    pub fn load_keytab(path: &Path) -> Result<Keyring, KeytabError> {
        let source = path.file_name().map_or_else(
            || path.display().to_string(),
            |n| n.to_string_lossy().into_owned(),
        );
        let mut ring = Keyring::new();
        for e in read_keytab_file(path)? {
            match e.key {
                Some(key) => ring.entries.push(Entry {
                    principal: e.principal,
                    kvno: Some(e.kvno),
                    source: source.clone(),
                    key,
                }),
                None => ring.unsupported += 1,
            }
        }
        Ok(ring)
    }

    /// Derive keys for every supported type from a password. The salt defaults to the realm
    /// followed by the name components (RFC 4120 §4); Windows salts for computer accounts and
    /// enterprise names differ and must be given. Returns how many keys were added.
    pub fn add_password(
        &mut self,
        principal: &str,
        password: &str,
        salt: Option<&str>,
    ) -> Result<usize, PasswordError> {
        let salt = match salt {
            Some(s) => s.to_string(),
            None => default_salt(principal).ok_or(PasswordError::NoRealm)?,
        };
        let before = self.entries.len();
        for cipher in Cipher::ALL {
            if let Some(key) = Key::from_password(cipher, password, salt.as_bytes(), None) {
                self.entries.push(Entry {
                    principal: principal.to_string(),
                    kvno: None,
                    source: "password".to_string(),
                    key,
                });
            }
        }
        Ok(self.entries.len() - before)
    }

    pub fn merge(&mut self, other: Keyring) {
        self.entries.extend(other.entries);
        self.unsupported += other.unsupported;
    }

    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    pub fn len(&self) -> usize {
        self.entries.len()
    }

    /// What the ring holds, by name only.
    pub fn key_refs(&self) -> Vec<KeyRef> {
        self.entries.iter().map(Entry::key_ref).collect()
    }

    pub(super) fn entries(&self) -> &[Entry] {
        &self.entries
    }
}

/// RFC 4120 §4 default salt: realm then the name components, no separators.
fn default_salt(principal: &str) -> Option<String> {
    let (name, realm) = principal.rsplit_once('@')?;
    (!realm.is_empty()).then(|| format!("{realm}{}", name.replace('/', "")))
}

/// A session or sub-session key learnt from the capture, with what it belongs to.
#[derive(Clone, Debug)]
pub(super) struct Learnt {
    pub key: Key,
    /// The ticket's service ("HTTP/web1.lab.test@LAB.TEST"), for naming the key.
    pub service: String,
}

/// The keys of one TGS-REQ that may open its TGS-REP: the TGT session key (usage 8), the
/// authenticator subkey (usage 9), and the FAST armor key that opens the reply's KrbFastResponse.
#[derive(Clone, Debug)]
pub(super) struct TgsRequestKeys {
    pub service: String,
    pub session: Key,
    pub subkey: Option<Key>,
    pub armor: Option<Key>,
}

/// How many ticket session keys are remembered, and how many recent requests (TGS-REQ keys for
/// the TGS-REP, AP-REQ keys for the AP-REP) whose reply may still come.
const MAX_TICKETS: usize = 4096;
const MAX_RECENT: usize = 64;

/// Session keys learnt during one capture, bounded in size (oldest forgotten first).
/// `Debug` shows counts only.
#[derive(Default)]
pub struct SessionKeys {
    by_ticket: HashMap<[u8; 16], Learnt>,
    order: VecDeque<[u8; 16]>,
    requests: VecDeque<TgsRequestKeys>,
    ap_sessions: VecDeque<Learnt>,
}

impl fmt::Debug for SessionKeys {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "SessionKeys {{ tickets: {}, requests: {}, ap: {} }}",
            self.by_ticket.len(),
            self.requests.len(),
            self.ap_sessions.len()
        )
    }
}

/// Tickets are recognised by a digest of their ciphertext, which is unique per ticket.
fn fingerprint(ticket_cipher: &[u8]) -> [u8; 16] {
    let d = Sha256::digest(ticket_cipher);
    let mut out = [0u8; 16];
    out.copy_from_slice(d.get(..16).unwrap_or(&[0; 16]));
    out
}

impl SessionKeys {
    pub fn new() -> SessionKeys {
        SessionKeys::default()
    }

    pub fn len(&self) -> usize {
        self.by_ticket.len()
    }

    pub fn is_empty(&self) -> bool {
        self.by_ticket.is_empty() && self.requests.is_empty() && self.ap_sessions.is_empty()
    }

    pub(super) fn learn_ticket(&mut self, ticket_cipher: &[u8], learnt: Learnt) {
        let fp = fingerprint(ticket_cipher);
        if self.by_ticket.insert(fp, learnt).is_none() {
            self.order.push_back(fp);
            if self.order.len() > MAX_TICKETS
                && let Some(old) = self.order.pop_front()
            {
                self.by_ticket.remove(&old);
            }
        }
    }

    pub(super) fn for_ticket(&self, ticket_cipher: &[u8]) -> Option<&Learnt> {
        self.by_ticket.get(&fingerprint(ticket_cipher))
    }

    pub(super) fn learn_request(&mut self, req: TgsRequestKeys) {
        push_bounded(&mut self.requests, req);
    }

    /// Most recent first: a reply follows its request closely.
    pub(super) fn requests(&self) -> impl Iterator<Item = &TgsRequestKeys> {
        self.requests.iter().rev()
    }

    /// An AP-REQ's session key or subkey, for the AP-REP that may answer it.
    pub(super) fn learn_ap_session(&mut self, learnt: Learnt) {
        if !self.ap_sessions.iter().any(|l| l.key == learnt.key) {
            push_bounded(&mut self.ap_sessions, learnt);
        }
    }

    pub(super) fn ap_sessions(&self) -> impl Iterator<Item = &Learnt> {
        self.ap_sessions.iter().rev()
    }
}

fn push_bounded<T>(q: &mut VecDeque<T>, item: T) {
    q.push_back(item);
    if q.len() > MAX_RECENT {
        q.pop_front();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn default_salt_is_realm_then_components() {
        assert_eq!(
            default_salt("alice@LAB.TEST").as_deref(),
            Some("LAB.TESTalice")
        );
        assert_eq!(
            default_salt("HTTP/web1.lab.test@LAB.TEST").as_deref(),
            Some("LAB.TESTHTTPweb1.lab.test")
        );
        assert_eq!(default_salt("alice"), None);
    }

    #[test]
    fn session_keys_are_bounded_and_debug_shows_no_key() {
        let mut s = SessionKeys::new();
        let key = Key::new(17, &[9; 16]).unwrap();
        for i in 0..(MAX_TICKETS + 10) {
            let learnt = Learnt {
                key: key.clone(),
                service: "x".into(),
            };
            s.learn_ticket(&i.to_be_bytes(), learnt);
        }
        assert_eq!(s.len(), MAX_TICKETS);
        assert!(s.for_ticket(&0usize.to_be_bytes()).is_none());
        assert!(s.for_ticket(&(MAX_TICKETS + 9).to_be_bytes()).is_some());
        let dbg = format!("{s:?} {key:?}");
        assert!(!dbg.contains("9, 9") && dbg.contains("<redacted>"), "{dbg}");
    }
}
