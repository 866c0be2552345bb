//! HTTP/1.x message heads (RFC 9112 §2-5): start line and header fields, borrowed from input.
//!
//! ```text
//! HTTP-message = start-line CRLF *( field-line CRLF ) CRLF [ message-body ]
//! field-line   = field-name ":" OWS field-value OWS
//! obs-fold     = OWS CRLF RWS            (continuation line, RFC 9112 §5.2)
//! ```
//! Lenient where real peers are sloppy (bare LF line ends, empty lines before a request, folded
//! values, spaces before the colon), each oddity named in `anomalies`; strict where being wrong
//! would desynchronise the stream (the start line).

use memchr::{memchr, memchr_iter};

use super::HeadError;
use super::is_tchar;
use super::probe::{MAX_REQUEST_LINE, looks_like_request_or_status};

/// Largest head accepted, start line to the empty line inclusive.
pub const MAX_HEAD_LEN: usize = 64 * 1024;
/// Header fields kept per head; later ones are dropped and counted.
pub const MAX_HEADERS: usize = 256;

#[derive(Clone, Debug, PartialEq, Eq)]
pub enum StartLine<'a> {
    Request {
        method: &'a str,
        target: &'a str,
        version: &'a str,
    },
    Response {
        version: &'a str,
        status: u16,
        reason: &'a str,
    },
}

#[derive(Clone, Debug)]
pub struct MessageHead<'a> {
    pub start: StartLine<'a>,
    /// Field name as written and value with surrounding whitespace removed, in order.
    pub headers: Vec<(&'a str, &'a str)>,
    /// Tolerated irregularities: `leading_empty_lines`, `bare_lf`, `obs_fold`,
    /// `space_before_colon`, `header_without_colon`, `bad_header_name`, `non_utf8_header`,
    /// `too_many_headers`, `invalid_content_length`, `te_and_cl`, `space_in_target`.
    pub anomalies: Vec<&'static str>,
}

fn note(anomalies: &mut Vec<&'static str>, what: &'static str) {
    if !anomalies.contains(&what) {
        anomalies.push(what);
    }
}

fn trim_ows(bytes: &[u8]) -> &[u8] {
    let start = bytes
        .iter()
        .position(|b| !matches!(b, b' ' | b'\t'))
        .unwrap_or(bytes.len());
    let end = bytes
        .iter()
        .rposition(|b| !matches!(b, b' ' | b'\t' | b'\r' | b'\n'))
        .map_or(start, |i| i + 1);
    bytes.get(start..end.max(start)).unwrap_or_default()
}

/// Parse the head at the front of `buf`. Returns it and its length including the empty line
/// (and any empty lines skipped before a request, RFC 9112 §2.2).
pub fn parse_head(buf: &[u8]) -> Result<(MessageHead<'_>, usize), HeadError> {
    let mut anomalies = Vec::new();
    let mut start = 0usize;
    while let Some(rest) = buf.get(start..) {
        let skip = if rest.starts_with(b"\r\n") {
            2
        } else if rest.starts_with(b"\n") {
            1
        } else {
            break;
        };
        start += skip;
        note(&mut anomalies, "leading_empty_lines");
        if start > MAX_HEAD_LEN {
            return Err(HeadError::TooLarge);
        }
    }
    let body = buf.get(start..).unwrap_or_default();

    // The start line decides early whether this is HTTP at all, so garbage fails at once
    // instead of waiting for 64 KiB.
    let Some(first_lf) = memchr(b'\n', body.get(..MAX_REQUEST_LINE + 2).unwrap_or(body)) else {
        if body.len() > MAX_REQUEST_LINE {
            return Err(HeadError::TooLarge);
        }
        if body.is_empty() || looks_like_request_or_status(body) || is_start_prefix(body) {
            return Err(HeadError::NeedMore);
        }
        return Err(HeadError::Malformed {
            offset: start,
            what: "not an HTTP/1.x start line",
        });
    };
    let start_line_bytes = body.get(..first_lf).unwrap_or_default();
    let start_line = parse_start_line(start_line_bytes, &mut anomalies).map_err(|what| {
        HeadError::Malformed {
            offset: start,
            what,
        }
    })?;

    let limit = MAX_HEAD_LEN.saturating_sub(start);
    let search = body.get(..limit).unwrap_or(body);
    let Some(head_len) = head_end(search, first_lf) else {
        return Err(if body.len() >= limit {
            HeadError::TooLarge
        } else {
            HeadError::NeedMore
        });
    };
    let fields = body.get(first_lf + 1..head_len).unwrap_or_default();
    let headers = parse_fields(fields, &mut anomalies);
    let mut head = MessageHead {
        start: start_line,
        headers,
        anomalies,
    };
    check_framing_headers(&mut head);
    Ok((head, start + head_len))
}

/// A start line still arriving: a prefix of "HTTP/1.x" or of a method token.
fn is_start_prefix(bytes: &[u8]) -> bool {
    b"HTTP/1.".starts_with(bytes.get(..7).unwrap_or(bytes))
        || (bytes.len() <= 32 && bytes.iter().all(|&b| is_tchar(b)))
}

/// Offset just past the empty line that ends the head: the first LF followed by LF or CRLF.
fn head_end(bytes: &[u8], first_lf: usize) -> Option<usize> {
    let from = first_lf;
    for lf in memchr_iter(b'\n', bytes.get(from..)?) {
        let after = from + lf + 1;
        match bytes.get(after) {
            Some(b'\n') => return Some(after + 1),
            Some(b'\r') if bytes.get(after + 1) == Some(&b'\n') => return Some(after + 2),
            _ => {}
        }
    }
    None
}

fn parse_start_line<'a>(
    line: &'a [u8],
    anomalies: &mut Vec<&'static str>,
) -> Result<StartLine<'a>, &'static str> {
    let line = match line.strip_suffix(b"\r") {
        Some(line) => line,
        None => {
            note(anomalies, "bare_lf");
            line
        }
    };
    let text = std::str::from_utf8(line).map_err(|_| "start line is not UTF-8")?;
    if let Some(after_version) = text.strip_prefix("HTTP/") {
        let (version_number, rest) = after_version.split_once(' ').unwrap_or((after_version, ""));
        if !is_version_number(version_number) {
            return Err("bad HTTP version in status line");
        }
        let version = text.get(..5 + version_number.len()).unwrap_or(text);
        let (code, reason) = rest.split_once(' ').unwrap_or((rest, ""));
        if code.len() != 3 || !code.bytes().all(|b| b.is_ascii_digit()) {
            return Err("status code is not three digits");
        }
        let status = code
            .parse::<u16>()
            .map_err(|_| "status code is not three digits")?;
        return Ok(StartLine::Response {
            version,
            status,
            reason,
        });
    }
    let (method, rest) = text.split_once(' ').ok_or("request line without spaces")?;
    if method.is_empty() || !method.bytes().all(is_tchar) {
        return Err("method is not a token");
    }
    let (target, version) = rest
        .rsplit_once(' ')
        .ok_or("request line without version")?;
    let version_number = version
        .strip_prefix("HTTP/")
        .ok_or("request line without version")?;
    if !is_version_number(version_number) {
        return Err("bad HTTP version in request line");
    }
    let target = target.trim_matches(' ');
    if target.is_empty() {
        return Err("empty request target");
    }
    if target.bytes().any(|b| b < b' ' || b == 0x7f) {
        return Err("control character in request target");
    }
    if target.contains(' ') {
        note(anomalies, "space_in_target");
    }
    Ok(StartLine::Request {
        method,
        target,
        version,
    })
}

/// "1.0" or "1.1" (any 1.x digit); HTTP/2 and later never use this framing.
fn is_version_number(number: &str) -> bool {
    let bytes = number.as_bytes();
    bytes.len() == 3
        && bytes.first() == Some(&b'1')
        && bytes.get(1) == Some(&b'.')
        && bytes.get(2).is_some_and(u8::is_ascii_digit)
}

/// Field lines between the start line and the empty line.
fn parse_fields<'a>(
    fields: &'a [u8],
    anomalies: &mut Vec<&'static str>,
) -> Vec<(&'a str, &'a str)> {
    let mut headers: Vec<(&'a str, &'a str)> = Vec::new();
    // Byte range of the last kept field's value, to extend over folded continuation lines.
    let mut last_value: Option<(usize, usize)> = None;
    let mut line_start = 0usize;
    while line_start < fields.len() {
        let line_end = memchr(b'\n', fields.get(line_start..).unwrap_or_default())
            .map_or(fields.len(), |lf| line_start + lf);
        let raw = fields.get(line_start..line_end).unwrap_or_default();
        let next = line_end + 1;
        let line = match raw.strip_suffix(b"\r") {
            Some(line) => line,
            None => {
                note(anomalies, "bare_lf");
                raw
            }
        };
        if line.is_empty() {
            break;
        }
        if matches!(line.first(), Some(b' ' | b'\t')) {
            note(anomalies, "obs_fold");
            if let (Some((value_start, _)), Some(last)) = (last_value, headers.last_mut()) {
                let value_end = line_start + line.len();
                if let Some(value) = fields
                    .get(value_start..value_end)
                    .and_then(|v| std::str::from_utf8(trim_ows(v)).ok())
                {
                    last.1 = value;
                    last_value = Some((value_start, value_end));
                }
            }
            line_start = next;
            continue;
        }
        last_value = None;
        let this_line = line_start;
        line_start = next;
        let Some(colon) = memchr(b':', line) else {
            note(anomalies, "header_without_colon");
            continue;
        };
        let raw_name = line.get(..colon).unwrap_or_default();
        let name_bytes = trim_ows(raw_name);
        if name_bytes.len() != raw_name.len() {
            note(anomalies, "space_before_colon");
        }
        if name_bytes.is_empty() || !name_bytes.iter().all(|&b| is_tchar(b)) {
            note(anomalies, "bad_header_name");
            continue;
        }
        let raw_value = line.get(colon + 1..).unwrap_or_default();
        let value_bytes = trim_ows(raw_value);
        let (Ok(name), Ok(value)) = (
            std::str::from_utf8(name_bytes),
            std::str::from_utf8(value_bytes),
        ) else {
            note(anomalies, "non_utf8_header");
            continue;
        };
        if headers.len() >= MAX_HEADERS {
            note(anomalies, "too_many_headers");
            continue;
        }
        headers.push((name, value));
        let value_start = this_line + colon + 1;
        last_value = Some((value_start, value_start + raw_value.len()));
    }
    headers
}

/// Note framing headers that make the body length ambiguous (RFC 9112 §6.3 items 3-5).
fn check_framing_headers(head: &mut MessageHead<'_>) {
    let has_te = head.header("transfer-encoding").is_some();
    let has_cl = head.header("content-length").is_some();
    if has_cl && head.content_length_checked().is_err() {
        note(&mut head.anomalies, "invalid_content_length");
    }
    if has_te && has_cl {
        note(&mut head.anomalies, "te_and_cl");
    }
}

impl<'a> MessageHead<'a> {
    /// First value of the field `name` (case-insensitive).
    pub fn header(&self, name: &str) -> Option<&'a str> {
        self.headers
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|&(_, v)| v)
    }

    /// Every value of the field `name`, in order (a 401 may carry several WWW-Authenticate).
    pub fn headers_named<'b>(&'b self, name: &'b str) -> impl Iterator<Item = &'b str> {
        self.headers
            .iter()
            .filter(move |(n, _)| n.eq_ignore_ascii_case(name))
            .map(|&(_, v)| v)
    }

    /// The Host field (RFC 9110 §7.2), or the authority of an absolute-form target.
    pub fn host(&self) -> Option<&'a str> {
        if let Some(host) = self.header("host") {
            return Some(host);
        }
        let StartLine::Request { target, .. } = self.start else {
            return None;
        };
        let after_scheme = target.split_once("://")?.1;
        let authority = after_scheme.split(['/', '?', '#']).next()?;
        (!authority.is_empty()).then_some(authority)
    }

    /// Content-Length when present and valid; repeated identical values ("5, 5") are accepted.
    pub fn content_length(&self) -> Option<u64> {
        self.content_length_checked().ok().flatten()
    }

    /// `Ok(None)` without the field, `Err` when a value is not digits or values disagree.
    pub(super) fn content_length_checked(&self) -> Result<Option<u64>, ()> {
        let mut length: Option<u64> = None;
        for value in self.headers_named("content-length") {
            for part in value.split(',') {
                let part = part.trim_matches([' ', '\t']);
                if part.is_empty() || part.len() > 19 || !part.bytes().all(|b| b.is_ascii_digit()) {
                    return Err(());
                }
                let n = part.parse::<u64>().map_err(|_| ())?;
                match length {
                    Some(previous) if previous != n => return Err(()),
                    _ => length = Some(n),
                }
            }
        }
        Ok(length)
    }
}
