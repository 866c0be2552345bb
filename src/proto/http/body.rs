//! Message body length (RFC 9112 §6.3) and the chunked transfer coding (RFC 9112 §7.1).
//!
//! ```text
//! chunked-body = *chunk last-chunk trailer-section CRLF
//! chunk        = chunk-size [ chunk-ext ] CRLF chunk-data CRLF
//! chunk-size   = 1*HEXDIG ;  last-chunk = 1*("0") [ chunk-ext ] CRLF
//! chunk-ext    = *( BWS ";" BWS ext-name [ BWS "=" BWS ext-val ] )
//! trailer-section = *( field-line CRLF )
//! ```
//! The decoder is a byte-at-a-time state machine over the framing only: chunk data is skipped,
//! never copied, and every line it must read is bounded, so it needs no buffer of its own and
//! accepts input split at any byte.

use super::HeadError;
use super::head::{MessageHead, StartLine};

/// How the body that follows a head is delimited.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum BodyFraming {
    None,
    ContentLength(u64),
    Chunked,
    /// Ends when the connection closes (responses without length, unknown transfer codings).
    UntilClose,
}

impl MessageHead<'_> {
    /// RFC 9112 §6.3. `request_method` is the method of the request a response answers (a
    /// response to HEAD has no body). Transfer-Encoding wins over Content-Length; an invalid
    /// Content-Length (counted in `anomalies` by `parse_head`) ends a request's framing at the
    /// head, and reads a response to the close, as the RFC asks of a recipient.
    /// A 101 response has no body: what follows is another protocol, the caller's business.
    pub fn body_framing(&self, request_method: Option<&str>) -> BodyFraming {
        let chunked_last = self.transfer_coding_is_chunked();
        match self.start {
            StartLine::Response { status, .. } => {
                let method_is = |m: &str| request_method.is_some_and(|r| r.eq_ignore_ascii_case(m));
                if method_is("HEAD")
                    || (100..200).contains(&status)
                    || status == 204
                    || status == 304
                {
                    return BodyFraming::None;
                }
                if method_is("CONNECT") && (200..300).contains(&status) {
                    return BodyFraming::UntilClose; // a tunnel
                }
                match chunked_last {
                    Some(true) => BodyFraming::Chunked,
                    Some(false) => BodyFraming::UntilClose,
                    None => match self.content_length_checked() {
                        Ok(Some(length)) => BodyFraming::ContentLength(length),
                        Ok(None) | Err(()) => BodyFraming::UntilClose,
                    },
                }
            }
            StartLine::Request { .. } => match chunked_last {
                Some(true) => BodyFraming::Chunked,
                // RFC 9112 §6.3 item 4: the server cannot know the length and closes.
                Some(false) => BodyFraming::UntilClose,
                None => match self.content_length_checked() {
                    Ok(Some(0)) | Ok(None) | Err(()) => BodyFraming::None,
                    Ok(Some(length)) => BodyFraming::ContentLength(length),
                },
            },
        }
    }

    /// `None` without Transfer-Encoding; otherwise whether its final coding is `chunked`.
    fn transfer_coding_is_chunked(&self) -> Option<bool> {
        let last_value = self.headers_named("transfer-encoding").last()?;
        let last_coding = last_value
            .rsplit(',')
            .map(|c| c.trim_matches([' ', '\t']))
            .find(|c| !c.is_empty())
            .unwrap_or("");
        // Parameters (";q=...") are not allowed on chunked but tolerated.
        let name = last_coding.split(';').next().unwrap_or("").trim_end();
        Some(name.eq_ignore_ascii_case("chunked"))
    }
}

/// Longest chunk-size line (size + extensions) accepted.
const MAX_CHUNK_LINE: usize = 4096;
/// Longest single trailer field line and whole trailer section accepted.
const MAX_TRAILER_LINE: usize = 8192;
const MAX_TRAILER_SECTION: usize = 64 * 1024;
/// 16 hex digits fill a u64.
const MAX_SIZE_DIGITS: u8 = 16;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum State {
    /// Reading `chunk-size [chunk-ext] CRLF`.
    SizeLine {
        size: u64,
        digits: u8,
        in_extension: bool,
        line_len: usize,
    },
    Data {
        remaining: u64,
    },
    /// The CRLF after chunk data; `seen_cr` once its CR went by.
    DataEnd {
        seen_cr: bool,
    },
    Trailer {
        line_len: usize,
        section_len: usize,
    },
    Done,
    Failed,
}

const NEW_SIZE_LINE: State = State::SizeLine {
    size: 0,
    digits: 0,
    in_extension: false,
    line_len: 0,
};

/// Streaming reader for a chunked body: feed it whatever arrived, it reports how many bytes
/// belonged to the body and whether the body ended (the rest of the buffer is the next message).
#[derive(Clone, Debug)]
pub struct ChunkedDecoder {
    state: State,
    data_bytes: u64,
}

impl Default for ChunkedDecoder {
    fn default() -> Self {
        Self::new()
    }
}

impl ChunkedDecoder {
    pub fn new() -> Self {
        ChunkedDecoder {
            state: NEW_SIZE_LINE,
            data_bytes: 0,
        }
    }

    /// Chunk data bytes seen so far (the decoded body length).
    pub fn data_bytes(&self) -> u64 {
        self.data_bytes
    }

    pub fn is_finished(&self) -> bool {
        self.state == State::Done
    }

    /// Consume framing and data from `buf`; returns (bytes consumed, body finished). Until the
    /// body ends every byte is consumed. After an error the decoder stays failed.
    pub fn feed(&mut self, buf: &[u8]) -> Result<(usize, bool), HeadError> {
        let mut pos = 0usize;
        while pos < buf.len() {
            match self.state {
                State::Done => return Ok((pos, true)),
                State::Failed => {
                    return Err(HeadError::Malformed {
                        offset: pos,
                        what: "chunked body already failed",
                    });
                }
                State::Data { remaining } => {
                    let available = (buf.len() - pos) as u64;
                    let take = remaining.min(available);
                    // take <= available, which came from a usize.
                    pos += take as usize;
                    self.data_bytes = self.data_bytes.saturating_add(take);
                    self.state = if take == remaining {
                        State::DataEnd { seen_cr: false }
                    } else {
                        State::Data {
                            remaining: remaining - take,
                        }
                    };
                }
                _ => {
                    let byte = buf.get(pos).copied().unwrap_or_default();
                    if let Err(error) = self.step(byte, pos) {
                        self.state = State::Failed;
                        return Err(error);
                    }
                    pos += 1;
                    if self.state == State::Done {
                        return Ok((pos, true));
                    }
                }
            }
        }
        Ok((pos, self.state == State::Done))
    }

    /// One framing byte (size line, data CRLF or trailer).
    fn step(&mut self, byte: u8, offset: usize) -> Result<(), HeadError> {
        let malformed = |what| HeadError::Malformed { offset, what };
        self.state = match self.state {
            State::SizeLine {
                size,
                digits,
                in_extension,
                line_len,
            } => {
                if line_len >= MAX_CHUNK_LINE {
                    return Err(HeadError::TooLarge);
                }
                let line_len = line_len + 1;
                match byte {
                    b'\n' if digits == 0 => return Err(malformed("chunk size missing")),
                    b'\n' if size == 0 => State::Trailer {
                        line_len: 0,
                        section_len: 0,
                    },
                    b'\n' => State::Data { remaining: size },
                    _ if in_extension => State::SizeLine {
                        size,
                        digits,
                        in_extension,
                        line_len,
                    },
                    b';' | b' ' | b'\t' | b'\r' if digits > 0 => State::SizeLine {
                        size,
                        digits,
                        in_extension: true,
                        line_len,
                    },
                    _ => {
                        let nibble = hex_value(byte).ok_or(malformed("chunk size is not hex"))?;
                        if digits >= MAX_SIZE_DIGITS {
                            return Err(malformed("chunk size over 64 bits"));
                        }
                        State::SizeLine {
                            size: (size << 4) | u64::from(nibble),
                            digits: digits + 1,
                            in_extension,
                            line_len,
                        }
                    }
                }
            }
            State::DataEnd { seen_cr } => match byte {
                b'\r' if !seen_cr => State::DataEnd { seen_cr: true },
                b'\n' => NEW_SIZE_LINE,
                _ => return Err(malformed("chunk data not followed by CRLF")),
            },
            State::Trailer {
                line_len,
                section_len,
            } => match byte {
                b'\n' if line_len == 0 => State::Done,
                b'\n' => State::Trailer {
                    line_len: 0,
                    section_len,
                },
                b'\r' => State::Trailer {
                    line_len,
                    section_len,
                },
                _ => {
                    if line_len >= MAX_TRAILER_LINE || section_len >= MAX_TRAILER_SECTION {
                        return Err(HeadError::TooLarge);
                    }
                    State::Trailer {
                        line_len: line_len + 1,
                        section_len: section_len + 1,
                    }
                }
            },
            other => other,
        };
        Ok(())
    }
}

fn hex_value(byte: u8) -> Option<u8> {
    match byte {
        b'0'..=b'9' => Some(byte - b'0'),
        b'a'..=b'f' => Some(byte - b'a' + 10),
        b'A'..=b'F' => Some(byte - b'A' + 10),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::proto::http::parse_head;

    const BODY: &[u8] =
        b"4;name=val\r\nWiki\r\n5\r\npedia\r\nE\r\n in\r\n\r\nchunks.\r\n0\r\nExpires: never\r\n\r\n";
    const NEXT: &[u8] = b"HTTP/1.1 200 OK\r\n";

    /// Feed `pieces` in order; returns (bytes consumed in total, finished, data bytes).
    fn feed_all(pieces: &[&[u8]]) -> Result<(usize, bool, u64), HeadError> {
        let mut decoder = ChunkedDecoder::new();
        let mut consumed = 0;
        for piece in pieces {
            let (used, done) = decoder.feed(piece)?;
            consumed += used;
            if done {
                return Ok((consumed, true, decoder.data_bytes()));
            }
            assert_eq!(used, piece.len(), "an unfinished body consumes everything");
        }
        Ok((consumed, false, decoder.data_bytes()))
    }

    #[test]
    fn whole_body_then_next_message() {
        let mut stream = BODY.to_vec();
        stream.extend_from_slice(NEXT);
        assert_eq!(feed_all(&[&stream]), Ok((BODY.len(), true, 23)));
    }

    #[test]
    fn split_at_every_byte_boundary() {
        let mut stream = BODY.to_vec();
        stream.extend_from_slice(NEXT);
        for cut in 0..=stream.len() {
            let (a, b) = stream.split_at(cut);
            assert_eq!(
                feed_all(&[a, b]),
                Ok((BODY.len(), true, 23)),
                "cut at {cut}"
            );
        }
        // And one byte at a time.
        let singles: Vec<&[u8]> = stream.chunks(1).collect();
        assert_eq!(feed_all(&singles), Ok((BODY.len(), true, 23)));
    }

    #[test]
    fn every_truncation_waits() {
        for cut in 0..BODY.len() {
            let prefix = BODY.get(..cut).unwrap_or_default();
            assert_eq!(feed_all(&[prefix]).map(|r| r.1), Ok(false), "cut at {cut}");
        }
    }

    #[test]
    fn bare_lf_and_uppercase_hex() {
        assert_eq!(feed_all(&[b"A\nabcdefghij\n0\n\n"]), Ok((16, true, 10)));
        assert_eq!(feed_all(&[b"00\r\n\r\n"]), Ok((6, true, 0)));
    }

    #[test]
    fn malformed_framing() {
        let bad: [&[u8]; 5] = [
            b"xyz\r\n",
            b"\r\n",
            b"3\r\nabcX\r\n",
            b"11111111111111111\r\n",
            b";ext\r\n",
        ];
        for input in bad {
            assert!(
                matches!(feed_all(&[input]), Err(HeadError::Malformed { .. })),
                "{input:?}"
            );
        }
        let mut decoder = ChunkedDecoder::new();
        assert!(decoder.feed(b"zz").is_err());
        assert!(decoder.feed(b"0\r\n\r\n").is_err(), "stays failed");
    }

    #[test]
    fn overlong_lines() {
        let mut line = b"1;".to_vec();
        line.extend(std::iter::repeat_n(b'x', MAX_CHUNK_LINE));
        assert_eq!(feed_all(&[&line]), Err(HeadError::TooLarge));
        let mut trailer = b"0\r\nX-T: ".to_vec();
        trailer.extend(std::iter::repeat_n(b'y', MAX_TRAILER_LINE));
        assert_eq!(feed_all(&[&trailer]), Err(HeadError::TooLarge));
    }

    #[test]
    fn huge_chunk_size_is_skipped_not_allocated() {
        let mut decoder = ChunkedDecoder::new();
        assert_eq!(decoder.feed(b"FFFFFFFFFFFFFFFF\r\nabc"), Ok((21, false)));
        assert_eq!(decoder.data_bytes(), 3);
    }

    fn framing(head: &[u8], method: Option<&str>) -> BodyFraming {
        match parse_head(head) {
            Ok((head, _)) => head.body_framing(method),
            Err(e) => panic!("{e}"),
        }
    }

    #[test]
    fn framing_rules() {
        use BodyFraming as F;
        const NO_REQUEST: Option<&str> = None;
        let ok_cl = b"HTTP/1.1 200 OK\r\nContent-Length: 12\r\n\r\n";
        assert_eq!(framing(ok_cl, Some("GET")), F::ContentLength(12));
        assert_eq!(framing(ok_cl, Some("HEAD")), F::None);
        assert_eq!(framing(ok_cl, Some("head")), F::None);
        for status in [
            "100 Continue",
            "101 Switching",
            "204 No Content",
            "304 Not Modified",
        ] {
            let head = format!("HTTP/1.1 {status}\r\nContent-Length: 5\r\n\r\n");
            assert_eq!(framing(head.as_bytes(), Some("GET")), F::None, "{status}");
        }
        assert_eq!(
            framing(b"HTTP/1.1 200 OK\r\n\r\n", Some("GET")),
            F::UntilClose
        );
        assert_eq!(
            framing(b"HTTP/1.1 200 OK\r\n\r\n", Some("CONNECT")),
            F::UntilClose
        );
        let te_and_cl =
            b"HTTP/1.1 200 OK\r\nContent-Length: 5\r\nTransfer-Encoding: gzip, chunked\r\n\r\n";
        assert_eq!(framing(te_and_cl, Some("GET")), F::Chunked);
        assert_eq!(
            framing(
                b"HTTP/1.1 200 OK\r\nTransfer-Encoding: gzip\r\n\r\n",
                NO_REQUEST
            ),
            F::UntilClose
        );
        assert_eq!(
            framing(b"GET / HTTP/1.1\r\nHost: a\r\n\r\n", NO_REQUEST),
            F::None
        );
        assert_eq!(
            framing(
                b"POST / HTTP/1.1\r\nContent-Length: 7, 7\r\n\r\n",
                NO_REQUEST
            ),
            F::ContentLength(7)
        );
        assert_eq!(
            framing(
                b"POST / HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n",
                NO_REQUEST
            ),
            F::Chunked
        );
        // Invalid Content-Length: counted, and framed conservatively.
        let bad = b"POST / HTTP/1.1\r\nContent-Length: 7, 8\r\n\r\n";
        assert_eq!(framing(bad, NO_REQUEST), F::None);
        let anomalies = parse_head(bad)
            .map(|(h, _)| h.anomalies)
            .unwrap_or_default();
        assert_eq!(anomalies, vec!["invalid_content_length"]);
        assert_eq!(
            framing(
                b"HTTP/1.1 200 OK\r\nContent-Length: -1\r\n\r\n",
                Some("GET")
            ),
            F::UntilClose
        );
    }
}
