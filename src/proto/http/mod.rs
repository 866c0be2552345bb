//! HTTP/1.x message framing (RFC 9112) and authentication headers (RFC 9110 §11, RFC 7617 Basic,
//! RFC 4559 Negotiate, MS-NTHT NTLM over HTTP).
//!
//! Pure functions over byte slices; the caller keeps per-connection state (which request a
//! response answers, how much body is left) and feeds them what arrived:
//!
//! * [`looks_like_request_or_status`] / [`find_message_start`]: recognise or resynchronise on a
//!   start line (for connections picked up mid-stream or after a capture gap);
//! * [`parse_head`]: start line + header fields, borrowed from the input;
//! * [`MessageHead::body_framing`] and [`ChunkedDecoder`]: how much body to skip (RFC 9112 §6-7);
//! * [`parse_auth`]: challenges and credentials of `Authorization`, `WWW-Authenticate` and their
//!   proxy twins, with Negotiate/NTLM tokens base64-decoded and Basic reduced to its user name.

mod auth;
mod body;
mod head;
mod probe;

pub use auth::{AUTH_HEADERS, AuthChallenge, MAX_TOKEN_DECODED, parse_auth};
pub use body::{BodyFraming, ChunkedDecoder};
pub use head::{MAX_HEAD_LEN, MAX_HEADERS, MessageHead, StartLine, parse_head};
pub use probe::{find_message_start, looks_like_request_or_status};

/// Why a head (or chunked framing) could not be read.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum HeadError {
    /// The bytes so far are a plausible beginning: wait for more.
    NeedMore,
    /// Not HTTP/1.x at `offset` (relative to the slice given).
    Malformed { offset: usize, what: &'static str },
    /// A limit was hit: head over [`MAX_HEAD_LEN`], a chunk-size or trailer line too long.
    TooLarge,
}

impl std::fmt::Display for HeadError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            HeadError::NeedMore => f.write_str("incomplete HTTP head: more bytes needed"),
            HeadError::Malformed { offset, what } => {
                write!(f, "malformed HTTP at offset {offset}: {what}")
            }
            HeadError::TooLarge => f.write_str("HTTP head or framing line over the size limit"),
        }
    }
}

impl std::error::Error for HeadError {}

/// RFC 9110 §5.6.2 token characters (method names, header names, auth schemes).
fn is_tchar(byte: u8) -> bool {
    byte.is_ascii_alphanumeric() || b"!#$%&'*+-.^_`|~".contains(&byte)
}

#[cfg(test)]
mod tests;
