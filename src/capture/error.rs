//! Errors of the capture readers. Each `Display` is one line without the file path: the caller
//! prefixes the path (`kerbscope: trace.pcap: not a capture file: ...`).

use std::fmt;
use std::io;

/// Why a file could not be opened as a capture at all.
#[derive(Debug)]
pub enum OpenError {
    Io(io::Error),
    /// Zero bytes (after decompression, for gzip).
    Empty,
    /// The magic bytes are not those of any supported format.
    NotACapture {
        reason: String,
    },
    /// A capture format we recognise but do not read (NetMon 1.x, pcapng 2.x, ...), or a file
    /// beyond a reader limit.
    Unsupported {
        reason: String,
    },
    /// The file header is recognised but inconsistent (e.g. a NetMon frame table that points
    /// outside the file).
    Malformed {
        offset: u64,
        what: String,
    },
}

impl fmt::Display for OpenError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            OpenError::Io(e) => write!(f, "cannot read: {e}"),
            OpenError::Empty => f.write_str("empty file, not a capture"),
            OpenError::NotACapture { reason } => write!(f, "not a capture file: {reason}"),
            OpenError::Unsupported { reason } => write!(f, "unsupported capture: {reason}"),
            OpenError::Malformed { offset, what } => {
                write!(f, "malformed capture at byte {offset}: {what}")
            }
        }
    }
}

impl std::error::Error for OpenError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            OpenError::Io(e) => Some(e),
            _ => None,
        }
    }
}

impl From<io::Error> for OpenError {
    fn from(e: io::Error) -> Self {
        OpenError::Io(e)
    }
}

/// Why reading stopped before a clean end of file. Offsets are positions in the (decompressed)
/// capture stream where the offending record starts.
#[derive(Debug)]
pub enum CaptureError {
    /// The file ends inside a record; `what` says whether inside the header or the data.
    Truncated {
        offset: u64,
        what: String,
    },
    /// A record is inconsistent (lengths that disagree, unknown interface, oversize record, ...).
    Malformed {
        offset: u64,
        what: String,
    },
    Io(io::Error),
}

impl fmt::Display for CaptureError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            CaptureError::Truncated { offset, what } => {
                write!(
                    f,
                    "truncated capture: file ends inside {what} (record at byte {offset})"
                )
            }
            CaptureError::Malformed { offset, what } => {
                write!(f, "malformed record at byte {offset}: {what}")
            }
            CaptureError::Io(e) => write!(f, "read error: {e}"),
        }
    }
}

impl std::error::Error for CaptureError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            CaptureError::Io(e) => Some(e),
            _ => None,
        }
    }
}

impl CaptureError {
    pub fn is_truncated(&self) -> bool {
        matches!(self, CaptureError::Truncated { .. })
    }

    pub(crate) fn truncated(offset: u64, what: impl Into<String>) -> CaptureError {
        CaptureError::Truncated {
            offset,
            what: what.into(),
        }
    }

    pub(crate) fn malformed(offset: u64, what: impl Into<String>) -> CaptureError {
        CaptureError::Malformed {
            offset,
            what: what.into(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn display_is_one_line_without_path() {
        let errs: Vec<String> = vec![
            OpenError::Empty.to_string(),
            OpenError::NotACapture {
                reason: "starts with \"hell\"".into(),
            }
            .to_string(),
            CaptureError::truncated(24, "a record header (7 of 16 bytes)").to_string(),
            CaptureError::malformed(40, "captured length 300000 exceeds 262144").to_string(),
        ];
        for e in errs {
            assert!(!e.contains('\n'), "{e}");
        }
        assert_eq!(
            CaptureError::truncated(24, "packet data (5 of 60 bytes)").to_string(),
            "truncated capture: file ends inside packet data (5 of 60 bytes) (record at byte 24)"
        );
    }
}
