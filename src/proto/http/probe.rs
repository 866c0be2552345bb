//! Recognising HTTP/1.x start lines (RFC 9112 §3 request-line, §4 status-line) cheaply, on the
//! first bytes of every TCP connection and after capture gaps.
//!
//! ```text
//! request-line = method SP request-target SP HTTP-version CRLF   (method = token)
//! status-line  = HTTP-version SP status-code SP [ reason-phrase ] CRLF
//! HTTP-version = "HTTP/" DIGIT "." DIGIT                          (only 1.x accepted here)
//! ```
//! Both functions are allocation-free; [`find_message_start`] does one `memmem` pass plus a
//! bounded amount of work per line, so it stays linear on hostile input.

use memchr::{memchr, memmem, memrchr};

use super::is_tchar;

/// Longest method token considered (the IANA registry's longest is 18 bytes).
const MAX_METHOD_LEN: usize = 32;
/// Longest request line considered; servers commonly refuse past 8 KiB.
pub(super) const MAX_REQUEST_LINE: usize = 16 * 1024;
const VERSION_PREFIX: &[u8] = b"HTTP/1.";
/// "HTTP/1.1 200" — the shortest status line that can be judged.
const MIN_STATUS_LINE: usize = 12;

/// Methods recognised before their request line is complete, and inside garbage when a
/// connection is resynchronised (RFC 9110 §9, WebDAV RFC 4918, Outlook RPC over HTTP).
const KNOWN_METHODS: [&[u8]; 22] = [
    b"GET",
    b"POST",
    b"PUT",
    b"HEAD",
    b"DELETE",
    b"OPTIONS",
    b"PATCH",
    b"CONNECT",
    b"TRACE",
    b"PROPFIND",
    b"PROPPATCH",
    b"MKCOL",
    b"COPY",
    b"MOVE",
    b"LOCK",
    b"UNLOCK",
    b"SEARCH",
    b"REPORT",
    b"MERGE",
    b"RPC_IN_DATA",
    b"RPC_OUT_DATA",
    b"SSTP_DUPLEX_POST",
];

/// Does `buf` start with an HTTP/1.x request line or status line? A request line that is not
/// complete yet counts when its method is a well-known one and nothing seen contradicts it.
pub fn looks_like_request_or_status(buf: &[u8]) -> bool {
    if buf.starts_with(VERSION_PREFIX) {
        return status_line_ok(buf);
    }
    request_line_ok(buf, true)
}

/// `HTTP/1.x SSS` followed by SP, CR, LF or the end of the buffer.
fn status_line_ok(buf: &[u8]) -> bool {
    let Some(head) = buf.get(..MIN_STATUS_LINE) else {
        return false;
    };
    let version_ok = head.starts_with(VERSION_PREFIX)
        && head.get(7).is_some_and(u8::is_ascii_digit)
        && head.get(8) == Some(&b' ');
    let status_ok = head
        .get(9..12)
        .is_some_and(|s| s.iter().all(u8::is_ascii_digit));
    version_ok && status_ok && matches!(buf.get(MIN_STATUS_LINE), None | Some(b' ' | b'\r' | b'\n'))
}

/// `method SP target SP HTTP/1.x` up to the line end (or the buffer end). With
/// `allow_partial`, a line cut before its version passes if the method is well known.
fn request_line_ok(buf: &[u8], allow_partial: bool) -> bool {
    let window = buf.get(..MAX_REQUEST_LINE).unwrap_or(buf);
    let Some(method_end) = memchr(b' ', window.get(..=MAX_METHOD_LEN).unwrap_or(window)) else {
        return false;
    };
    let (method, rest) = window.split_at(method_end);
    if method.is_empty() || !method.iter().all(|&b| is_tchar(b)) {
        return false;
    }
    let rest = rest.get(1..).unwrap_or_default();
    let (line, complete) = match memchr(b'\n', rest) {
        Some(lf) => (rest.get(..lf).unwrap_or_default(), true),
        None => (rest, false),
    };
    let line = line.strip_suffix(b"\r").unwrap_or(line);
    let known = KNOWN_METHODS.contains(&method);
    let Some(sp) = memchr(b' ', line) else {
        // No version yet: only a cut line of a well-known method qualifies.
        return !complete && allow_partial && known && target_ok(line, true);
    };
    let (target, version) = line.split_at(sp);
    let version = version.get(1..).unwrap_or_default();
    if !target_ok(target, false) {
        return false;
    }
    if version.len() == 8 {
        return version.starts_with(VERSION_PREFIX)
            && version.get(7).is_some_and(u8::is_ascii_digit);
    }
    // A version still arriving: a prefix of "HTTP/1.".
    !complete && allow_partial && known && VERSION_PREFIX.starts_with(version)
}

/// Request-target: visible ASCII (or obs-text) without SP or controls; empty only while cut.
fn target_ok(target: &[u8], may_be_empty: bool) -> bool {
    (may_be_empty || !target.is_empty()) && target.iter().all(|&b| b > b' ' && b != 0x7f)
}

/// Offset of the first line in `buf` that starts an HTTP/1.x request or status line, for
/// connections joined mid-stream or resuming after a gap. Offset 0 counts as a line start.
/// A message glued to the end of binary data on the same line (a body of unknown length) is
/// found too: a status line right after a non-printable byte, a request when its method is a
/// well-known one.
pub fn find_message_start(buf: &[u8]) -> Option<usize> {
    let mut line_start = 0usize;
    let mut searched_to = 0usize;
    let mut last_line_checked: Option<usize> = None;
    for pos in memmem::find_iter(buf, VERSION_PREFIX) {
        // Track the start of the line holding `pos`, scanning each byte once.
        if let Some(lf) = buf
            .get(searched_to..pos)
            .and_then(|gap| memrchr(b'\n', gap))
        {
            line_start = searched_to + lf + 1;
        }
        searched_to = pos;
        let before = pos.checked_sub(1).and_then(|i| buf.get(i)).copied();
        // A status line starts a line, or follows binary body bytes of unknown length.
        let after_binary = before.is_some_and(|b| !(b' '..=b'~').contains(&b) && b != b'\r');
        if pos == line_start || after_binary {
            if buf.get(pos..).is_some_and(status_line_ok) {
                return Some(pos);
            }
            continue;
        }
        // A request line's version follows a SP. Later hits on a line that already failed
        // would put a SP inside the target, so each line is judged once.
        if before != Some(b' ') || last_line_checked == Some(line_start) {
            continue;
        }
        last_line_checked = Some(line_start);
        if pos - line_start > MAX_REQUEST_LINE {
            continue;
        }
        if buf
            .get(line_start..)
            .is_some_and(|line| request_line_ok(line, false))
        {
            return Some(line_start);
        }
        if let Some(start) = embedded_request(buf, line_start, pos) {
            return Some(start);
        }
    }
    None
}

/// A well-known method immediately before the target whose version sits at `version_at`, with
/// binary or body bytes in front of it on the same line.
fn embedded_request(buf: &[u8], line_start: usize, version_at: usize) -> Option<usize> {
    let before_version = version_at.checked_sub(1)?;
    let target_sp = line_start + memrchr(b' ', buf.get(line_start..before_version)?)?;
    let prefix = buf.get(line_start..target_sp)?;
    let method = KNOWN_METHODS
        .iter()
        .filter(|m| prefix.ends_with(m))
        .max_by_key(|m| m.len())?;
    let start = target_sp - method.len();
    buf.get(start..)
        .is_some_and(|line| request_line_ok(line, false))
        .then_some(start)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn request_and_status_lines() {
        assert!(looks_like_request_or_status(
            b"GET / HTTP/1.1\r\nHost: a\r\n\r\n"
        ));
        assert!(looks_like_request_or_status(b"MKCOL /webdav HTTP/1.1\r\n"));
        assert!(looks_like_request_or_status(b"X-CUSTOM /a HTTP/1.0\n"));
        assert!(looks_like_request_or_status(
            b"HTTP/1.1 401 Unauthorized\r\n"
        ));
        assert!(looks_like_request_or_status(b"HTTP/1.0 200\r\n"));
        assert!(looks_like_request_or_status(b"HTTP/1.1 200"));
        // Cut lines of a known method are plausible; of an unknown one not yet.
        assert!(looks_like_request_or_status(b"GET /very/long"));
        assert!(looks_like_request_or_status(b"POST /x HTTP/"));
        assert!(!looks_like_request_or_status(b"FROB /x"));
        assert!(!looks_like_request_or_status(b"GET"));
    }

    #[test]
    fn not_http() {
        assert!(!looks_like_request_or_status(b""));
        assert!(!looks_like_request_or_status(
            b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n"
        ));
        assert!(!looks_like_request_or_status(b"HTTP/2 200\r\n"));
        assert!(!looks_like_request_or_status(b"HTTP/1.1 20x OK\r\n"));
        assert!(!looks_like_request_or_status(b"HTTP/1.1 2000 OK\r\n"));
        assert!(!looks_like_request_or_status(
            b"\x16\x03\x01\x02\x00\x01\x00\x01\xfc\x03\x03"
        ));
        assert!(!looks_like_request_or_status(b"GET / HTTP/1.1x\r\n"));
        assert!(!looks_like_request_or_status(b"GET  HTTP/1.1\r\n"));
        assert!(!looks_like_request_or_status(b"GET /a b HTTP/1.1\r\n"));
        assert!(!looks_like_request_or_status(b"G(T / HTTP/1.1\r\n"));
        assert!(!looks_like_request_or_status(b"GET /\x01 HTTP/1.1\r\n"));
        assert!(!looks_like_request_or_status(b"SSH-2.0-OpenSSH_9.6\r\n"));
    }

    #[test]
    fn finds_the_next_start_line() {
        assert_eq!(find_message_start(b"GET / HTTP/1.1\r\n"), Some(0));
        assert_eq!(
            find_message_start(b"tail of a body\r\nHTTP/1.1 200 OK\r\n"),
            Some(16)
        );
        assert_eq!(
            find_message_start(b"xx\nGET /HTTP/1.1 HTTP/1.1\r\n"),
            Some(3),
            "a target containing the version string"
        );
        assert_eq!(
            find_message_start(b"\x00\x17binaryPOST /upload HTTP/1.1\r\n"),
            Some(8)
        );
        assert_eq!(find_message_start(b"\x8b\x00HTTP/1.1 200 OK\r\n"), Some(2));
        assert_eq!(find_message_start(b"see HTTP/1.1 200 OK\r\n"), None);
        assert_eq!(find_message_start(b"no http here HTTP/1.1 at all"), None);
        assert_eq!(find_message_start(b"HTTP/1.1 HTTP/1.1 HTTP/1."), None);
        assert_eq!(find_message_start(b""), None);
    }

    #[test]
    fn hostile_repetition_is_linear_and_correct() {
        let mut buf = b" HTTP/1.".repeat(200_000);
        buf.extend_from_slice(b"\nHTTP/1.1 204 No Content\r\n");
        assert_eq!(find_message_start(&buf), Some(1_600_001));
    }
}
