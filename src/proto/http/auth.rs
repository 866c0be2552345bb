//! HTTP authentication fields (RFC 9110 §11.6-11.7): challenges in `WWW-Authenticate` /
//! `Proxy-Authenticate`, credentials in `Authorization` / `Proxy-Authorization`.
//!
//! ```text
//! challenge   = auth-scheme [ 1*SP ( token68 / #auth-param ) ]
//! credentials = auth-scheme [ 1*SP ( token68 / #auth-param ) ]
//! token68     = 1*( ALPHA / DIGIT / "-" / "." / "_" / "~" / "+" / "/" ) *"="
//! auth-param  = token BWS "=" BWS ( token / quoted-string )
//! WWW-Authenticate = #challenge      e.g. `Negotiate, NTLM`, `Negotiate oYG..., Basic realm="x"`
//! ```
//! Commas separate both challenges and parameters; an element after a comma is a parameter
//! when it reads `name =`, otherwise it starts a new challenge.
//!
//! Token68 of Negotiate (RFC 4559), Kerberos, NTLM (MS-NTHT) and CredSSP is base64-decoded for
//! the GSS/NTLM decoders. Basic credentials (RFC 7617) are decoded only to take the user name:
//! the password is wiped and never leaves this module. Other schemes' tokens (Bearer, ...) are
//! secrets of no diagnostic use and are not kept.

use std::borrow::Cow;
use std::fmt;

use base64::Engine as _;
use base64::alphabet;
use base64::engine::{DecodePaddingMode, GeneralPurpose, GeneralPurposeConfig};

use super::is_tchar;

/// Header fields (lower case) whose values [`parse_auth`] understands.
pub const AUTH_HEADERS: [&str; 4] = [
    "authorization",
    "www-authenticate",
    "proxy-authorization",
    "proxy-authenticate",
];

/// Largest decoded token kept: Windows' default Kerberos MaxTokenSize (48 000 bytes since
/// Windows Server 2012); an AP-REQ with a PAC is a few KiB. Its base64 form still fits a head
/// of [`super::MAX_HEAD_LEN`], so a larger token is refused here (`token_over_limit`) before
/// any decoding allocates, not only by the head limit.
pub const MAX_TOKEN_DECODED: usize = 48_000;
/// Base64 length that decodes to at most [`MAX_TOKEN_DECODED`].
const MAX_TOKEN_B64: usize = MAX_TOKEN_DECODED / 3 * 4 + 4;
/// Challenges read from one field value.
const MAX_CHALLENGES: usize = 16;

/// Schemes whose token68 is a GSS-API / SPNEGO / NTLMSSP / CredSSP blob worth decoding.
const TOKEN_SCHEMES: [&str; 5] = ["Negotiate", "Kerberos", "NTLM", "CredSSP", "Nego2"];

/// Sloppy clients drop padding or leave stray low bits; neither changes the token.
const LENIENT: GeneralPurposeConfig = GeneralPurposeConfig::new()
    .with_decode_padding_mode(DecodePaddingMode::Indifferent)
    .with_decode_allow_trailing_bits(true);
const STANDARD_LENIENT: GeneralPurpose = GeneralPurpose::new(&alphabet::STANDARD, LENIENT);
const URL_SAFE_LENIENT: GeneralPurpose = GeneralPurpose::new(&alphabet::URL_SAFE, LENIENT);

/// One challenge or one set of credentials.
#[derive(Clone, Default)]
pub struct AuthChallenge {
    /// As written, e.g. `Negotiate`, `NTLM`, `Basic`.
    pub scheme: String,
    /// Base64-decoded token68 of Negotiate / Kerberos / NTLM / CredSSP.
    pub token: Option<Vec<u8>>,
    /// Length of the token68 as sent (whitespace removed), for every scheme.
    pub token_b64_len: usize,
    /// auth-params such as `realm`; a Digest `response` keeps only its length.
    pub params: Vec<(String, String)>,
    /// Basic credentials: the user name (the password is discarded).
    pub basic_user: Option<String>,
    pub decode_error: Option<String>,
    /// The token68 was over [`MAX_TOKEN_DECODED`] and was not decoded (`decode_error` says so).
    pub token_over_limit: bool,
}

/// Shows the token's length, not its bytes: it may hold ticket ciphertext or NTLM responses.
impl fmt::Debug for AuthChallenge {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("AuthChallenge")
            .field("scheme", &self.scheme)
            .field("token_len", &self.token.as_ref().map(Vec::len))
            .field("token_b64_len", &self.token_b64_len)
            .field("params", &self.params)
            .field("basic_user", &self.basic_user)
            .field("decode_error", &self.decode_error)
            .field("token_over_limit", &self.token_over_limit)
            .finish()
    }
}

impl AuthChallenge {
    fn new(scheme: &str) -> Self {
        AuthChallenge {
            scheme: scheme.to_string(),
            ..Default::default()
        }
    }

    fn set_error(&mut self, error: impl Into<String>) {
        if self.decode_error.is_none() {
            self.decode_error = Some(error.into());
        }
    }
}

/// Cursor over a field value.
struct Cursor<'a> {
    text: &'a str,
    pos: usize,
}

impl<'a> Cursor<'a> {
    fn peek(&self) -> Option<u8> {
        self.text.as_bytes().get(self.pos).copied()
    }

    fn rest(&self) -> &'a str {
        self.text.get(self.pos..).unwrap_or("")
    }

    /// Skip whitespace (including CR/LF left by folded lines).
    fn skip_ws(&mut self) {
        while matches!(self.peek(), Some(b' ' | b'\t' | b'\r' | b'\n')) {
            self.pos += 1;
        }
    }

    fn skip_ws_and_commas(&mut self) {
        while matches!(self.peek(), Some(b' ' | b'\t' | b'\r' | b'\n' | b',')) {
            self.pos += 1;
        }
    }

    fn token(&mut self) -> &'a str {
        let start = self.pos;
        while self.peek().is_some_and(is_tchar) {
            self.pos += 1;
        }
        self.text.get(start..self.pos).unwrap_or("")
    }

    /// Move to the next top-level comma (or the end), honouring quoted strings.
    fn skip_element(&mut self) {
        let mut quoted = false;
        let mut escaped = false;
        while let Some(byte) = self.peek() {
            match byte {
                _ if escaped => escaped = false,
                b'\\' if quoted => escaped = true,
                b'"' => quoted = !quoted,
                b',' if !quoted => return,
                _ => {}
            }
            self.pos += 1;
        }
    }

    /// After a comma: does a parameter (`name =`) follow, rather than a new challenge?
    fn param_follows(&self) -> bool {
        let mut probe = Cursor {
            text: self.text,
            pos: self.pos,
        };
        probe.skip_ws_and_commas();
        if probe.token().is_empty() {
            return false;
        }
        probe.skip_ws();
        probe.peek() == Some(b'=')
    }

    /// A quoted-string (RFC 9110 §5.6.4) with its escapes resolved, or a token.
    fn param_value(&mut self) -> Result<Cow<'a, str>, &'static str> {
        if self.peek() != Some(b'"') {
            return Ok(Cow::Borrowed(self.token()));
        }
        self.pos += 1;
        let mut value = String::new();
        let mut chars = self.rest().char_indices();
        while let Some((i, c)) = chars.next() {
            match c {
                '"' => {
                    self.pos += i + 1;
                    return Ok(Cow::Owned(value));
                }
                '\\' => match chars.next() {
                    Some((_, escaped)) => value.push(escaped),
                    None => break,
                },
                _ => value.push(c),
            }
        }
        self.pos = self.text.len();
        Err("unterminated quoted string")
    }
}

/// Every challenge (or the one set of credentials) in one auth header value.
pub fn parse_auth(header_value: &str) -> Vec<AuthChallenge> {
    let mut out = Vec::new();
    let mut cursor = Cursor {
        text: header_value,
        pos: 0,
    };
    while out.len() < MAX_CHALLENGES {
        cursor.skip_ws_and_commas();
        if cursor.peek().is_none() {
            break;
        }
        let scheme = cursor.token();
        if scheme.is_empty() {
            // Not a scheme: skip this element rather than give up on the rest.
            let mut garbage = AuthChallenge::new("");
            garbage.set_error("auth scheme is not a token");
            cursor.pos += 1;
            cursor.skip_element();
            out.push(garbage);
            continue;
        }
        let mut challenge = AuthChallenge::new(scheme);
        cursor.skip_ws();
        if matches!(cursor.peek(), None | Some(b',')) {
            out.push(challenge);
            continue;
        }
        let element_end = cursor
            .rest()
            .find(',')
            .map_or(header_value.len(), |i| cursor.pos + i);
        let element = header_value.get(cursor.pos..element_end).unwrap_or("");
        if let Some(token68) = as_token68(element) {
            cursor.pos = element_end;
            take_token(&mut challenge, &token68);
        } else {
            read_params(&mut cursor, &mut challenge);
        }
        out.push(challenge);
    }
    out
}

/// The element as a token68 with any whitespace removed, if that is what it is: token68
/// characters, then only '=' padding.
fn as_token68(element: &str) -> Option<Cow<'_, str>> {
    let compact: Cow<'_, str> = if element.bytes().any(|b| b.is_ascii_whitespace()) {
        Cow::Owned(
            element
                .chars()
                .filter(|c| !c.is_ascii_whitespace())
                .collect(),
        )
    } else {
        Cow::Borrowed(element)
    };
    let body = compact.trim_end_matches('=');
    let is_token68 = !body.is_empty()
        && body
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"-._~+/".contains(&b));
    is_token68.then_some(compact)
}

fn read_params(cursor: &mut Cursor<'_>, challenge: &mut AuthChallenge) {
    loop {
        cursor.skip_ws();
        let name = cursor.token();
        cursor.skip_ws();
        if name.is_empty() || cursor.peek() != Some(b'=') {
            challenge.set_error("unparsable auth-param");
            cursor.skip_element();
            return;
        }
        cursor.pos += 1;
        cursor.skip_ws();
        let value = match cursor.param_value() {
            Ok(value) => value.into_owned(),
            Err(what) => {
                challenge.set_error(what);
                return;
            }
        };
        let value = if challenge.scheme.eq_ignore_ascii_case("Digest")
            && name.eq_ignore_ascii_case("response")
        {
            // A Digest response is a password hash: keep its size only.
            format!("<{} chars>", value.len())
        } else {
            value
        };
        challenge.params.push((name.to_string(), value));
        cursor.skip_ws();
        match cursor.peek() {
            None => return,
            Some(b',') if cursor.param_follows() => cursor.skip_ws_and_commas(),
            Some(b',') => return,
            Some(_) => {
                challenge.set_error("unexpected text after auth-param");
                cursor.skip_element();
                return;
            }
        }
    }
}

/// Record a token68: decode it for token schemes, take the user name for Basic.
fn take_token(challenge: &mut AuthChallenge, token68: &str) {
    challenge.token_b64_len = token68.len();
    let is_basic = challenge.scheme.eq_ignore_ascii_case("Basic");
    let is_token_scheme = TOKEN_SCHEMES
        .iter()
        .any(|s| s.eq_ignore_ascii_case(&challenge.scheme));
    if !is_basic && !is_token_scheme {
        return;
    }
    if token68.len() > MAX_TOKEN_B64 {
        challenge.token_over_limit = true;
        challenge.set_error(format!(
            "token of {} base64 characters is over the {MAX_TOKEN_DECODED}-byte limit",
            token68.len()
        ));
        return;
    }
    let decoded = STANDARD_LENIENT.decode(token68).or_else(|first_error| {
        if token68.contains(['-', '_']) {
            URL_SAFE_LENIENT.decode(token68)
        } else {
            Err(first_error)
        }
    });
    let mut bytes = match decoded {
        Ok(bytes) => bytes,
        Err(error) => {
            challenge.set_error(format!("bad base64: {error}"));
            return;
        }
    };
    if is_basic {
        match bytes.iter().position(|&b| b == b':') {
            Some(colon) => {
                let user = bytes.get(..colon).unwrap_or_default();
                challenge.basic_user = Some(String::from_utf8_lossy(user).into_owned());
            }
            None => challenge.set_error("Basic credentials without ':'"),
        }
        // The password sits in this buffer: wipe it before it is freed.
        bytes.fill(0);
        return;
    }
    challenge.token = Some(bytes);
}

#[cfg(test)]
mod tests {
    use super::*;

    fn schemes(value: &str) -> Vec<String> {
        parse_auth(value).into_iter().map(|c| c.scheme).collect()
    }

    #[test]
    fn challenge_lists() {
        assert_eq!(schemes("Negotiate, NTLM"), vec!["Negotiate", "NTLM"]);
        assert_eq!(
            schemes("Negotiate,NTLM,  Basic realm=\"x\""),
            vec!["Negotiate", "NTLM", "Basic"]
        );
        let list =
            parse_auth("Negotiate oYGhMIGeoAMKAQE=, Basic realm=\"intra, net\", charset=UTF-8");
        assert_eq!(list.len(), 2);
        assert_eq!(list[0].token.as_ref().map(Vec::len), Some(11));
        assert_eq!(list[0].token_b64_len, 16);
        assert_eq!(
            list[1].params,
            vec![
                ("realm".to_string(), "intra, net".to_string()),
                ("charset".to_string(), "UTF-8".to_string())
            ]
        );
        assert!(list.iter().all(|c| c.decode_error.is_none()));
    }

    #[test]
    fn negotiate_credentials() {
        // "YIIB" + ... : first bytes of a GSS InitialContextToken (0x60 0x82 0x01 ...).
        let c = parse_auth("Negotiate YIIBhQYGKwYBBQUCoIIBeTCC");
        assert_eq!(c.len(), 1);
        assert_eq!(c[0].token.as_ref().and_then(|t| t.first()), Some(&0x60));
        // Unpadded, with whitespace from a folded line, and lower-case scheme.
        let c = parse_auth("negotiate TlRMTVNT\r\n UAABAAAA");
        assert_eq!(c[0].scheme, "negotiate");
        assert_eq!(c[0].token.as_deref(), Some(&b"NTLMSSP\0\x01\0\0\0"[..]));
        assert_eq!(c[0].token_b64_len, 16);
        let c = parse_auth("NTLM TlRMTVNTUAABAAAABoIIAAAAAAAAAAAAAAAAAAAAAAA");
        assert_eq!(c[0].token.as_ref().map(Vec::len), Some(32));
        // URL-safe alphabet.
        let c = parse_auth("Negotiate -_-_");
        assert_eq!(c[0].token.as_deref(), Some(&[0xfb, 0xff, 0xbf][..]));
    }

    #[test]
    fn basic_keeps_only_the_user() {
        // "alice:s3cret!" in base64.
        let c = parse_auth("Basic YWxpY2U6czNjcmV0IQ==");
        assert_eq!(c[0].basic_user.as_deref(), Some("alice"));
        assert!(c[0].token.is_none());
        let shown = format!("{:?}", c[0]);
        assert!(!shown.contains("s3cret"), "{shown}");
        assert!(!shown.contains("YWxpY2U6czNjcmV0IQ"), "{shown}");
        let c = parse_auth("Basic bm9jb2xvbg"); // "nocolon", unpadded
        assert_eq!(c[0].basic_user, None);
        assert_eq!(
            c[0].decode_error.as_deref(),
            Some("Basic credentials without ':'")
        );
        assert_eq!(parse_auth("Basic realm=\"WallyWorld\"")[0].params.len(), 1);
    }

    #[test]
    fn debug_hides_token_bytes() {
        let c = parse_auth("Negotiate TlRMTVNTUAABAAAA");
        let shown = format!("{c:?}");
        assert!(shown.contains("token_len: Some(12)"), "{shown}");
        assert!(!shown.contains("78, 84, 76, 77"), "{shown}");
    }

    #[test]
    fn digest_response_is_reduced_to_its_length() {
        let c = parse_auth(
            "Digest username=\"Mufasa\", realm=\"x\", response=\"6629fae49393a05397450978507c4ef1\"",
        );
        assert_eq!(c.len(), 1);
        assert_eq!(
            c[0].params[0],
            ("username".to_string(), "Mufasa".to_string())
        );
        assert_eq!(
            c[0].params[2],
            ("response".to_string(), "<32 chars>".to_string())
        );
    }

    #[test]
    fn bearer_tokens_are_not_kept() {
        let c = parse_auth("Bearer eyJhbGciOi.JIUzI1Ni.IsInR5cCI6");
        assert_eq!(c[0].token, None);
        assert_eq!(c[0].token_b64_len, 30);
        assert_eq!(c[0].decode_error, None);
    }

    #[test]
    fn oversize_and_bad_tokens() {
        let huge = format!("Negotiate {}", "A".repeat(MAX_TOKEN_B64 + 4));
        let c = parse_auth(&huge);
        assert!(c[0].token.is_none() && c[0].token_over_limit);
        assert!(c[0].decode_error.as_deref().unwrap_or("").contains("limit"));
        // Exactly at the limit: decoded, not flagged.
        let full = format!("Negotiate {}", "A".repeat(MAX_TOKEN_DECODED / 3 * 4));
        let c = parse_auth(&full);
        assert_eq!(c[0].token.as_ref().map(Vec::len), Some(MAX_TOKEN_DECODED));
        assert!(!c[0].token_over_limit && c[0].decode_error.is_none());
        // An over-limit token still fits a head, so HTTP can deliver it.
        const { assert!(MAX_TOKEN_B64 + 100 < super::super::MAX_HEAD_LEN) };
        let c = parse_auth("Negotiate A");
        assert!(
            c[0].decode_error
                .as_deref()
                .unwrap_or("")
                .starts_with("bad base64")
        );
    }

    #[test]
    fn garbage_never_panics() {
        let inputs = [
            "",
            ",,,",
            " ",
            "\"",
            "=",
            "Basic",
            "Basic ",
            "Basic =",
            "Basic realm=\"unterminated",
            "Basic realm=\"a\\",
            "Negotiate ==",
            "NTLM, , ,",
            "é Negotiate",
            "Digest a=b c",
            "Digest a=\"b\"x, NTLM",
            "Negotiate a=b=c",
            "Negotiate \u{feff}",
        ];
        for input in inputs {
            let _ = parse_auth(input);
        }
        assert_eq!(schemes("Digest a=\"b\"x, NTLM"), vec!["Digest", "NTLM"]);
        assert_eq!(schemes(&"NTLM, ".repeat(100)).len(), MAX_CHALLENGES);
        let odd = parse_auth("é Negotiate");
        assert_eq!(odd.first().map(|c| c.scheme.as_str()), Some(""));
    }
}
