//! Neutralising capture-derived strings for each output medium: terminals (control characters,
//! bidi overrides), CommonMark/GFM (inline syntax, table pipes, code fences) and HTML/SVG
//! (HTML Living Standard §13.1 text and attribute values).

use std::borrow::Cow;
use std::fmt::Write as _;

/// Characters a terminal or a reader could be fooled by: C0/C1 controls (ESC starts ANSI
/// sequences), DEL, and the Unicode bidi embeddings/overrides/isolates (Trojan Source).
fn is_unsafe_char(c: char) -> bool {
    c.is_control()
        || matches!(c, '\u{200e}' | '\u{200f}' | '\u{202a}'..='\u{202e}' | '\u{2066}'..='\u{2069}')
}

/// One line of plain text: unsafe characters (newlines included) become visible escapes such
/// as `\x1b`, `\n` or `\u{202e}`, so a string can neither colour the terminal nor forge a line.
pub fn one_line(s: &str) -> Cow<'_, str> {
    if !s.chars().any(is_unsafe_char) {
        return Cow::Borrowed(s);
    }
    let mut out = String::with_capacity(s.len() + 8);
    for c in s.chars() {
        match c {
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            c if is_unsafe_char(c) && (c as u32) < 0x100 => {
                let _ = write!(out, "\\x{:02x}", c as u32);
            }
            c if is_unsafe_char(c) => {
                let _ = write!(out, "\\u{{{:x}}}", c as u32);
            }
            c => out.push(c),
        }
    }
    Cow::Owned(out)
}

/// Text for HTML element content and (double- or single-quoted) attribute values.
pub fn html(s: &str) -> String {
    let mut out = String::with_capacity(s.len() + 16);
    for c in one_line(s).chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

/// Inline markdown text (also safe inside a GFM table cell): every ASCII punctuation character
/// with a meaning in CommonMark/GFM is backslash-escaped, control characters are made visible
/// first (so a newline cannot end a table row or start a heading).
pub fn md(s: &str) -> String {
    let mut out = String::with_capacity(s.len() + 16);
    for c in one_line(s).chars() {
        // `-`, `+`, `.` and `:` only matter at a line start (lists) and `md` output never
        // starts a line, so host names stay readable in the raw text.
        if matches!(
            c,
            '\\' | '`'
                | '*'
                | '_'
                | '['
                | ']'
                | '('
                | ')'
                | '#'
                | '<'
                | '>'
                | '|'
                | '!'
                | '~'
                | '&'
        ) {
            out.push('\\');
        }
        out.push(c);
    }
    out
}

/// A backtick fence longer than any backtick run in `content` (at least three), so the
/// content cannot close the code block it sits in.
pub fn md_fence(content: &str) -> String {
    let mut longest = 0usize;
    let mut run = 0usize;
    for c in content.chars() {
        if c == '`' {
            run += 1;
            longest = longest.max(run);
        } else {
            run = 0;
        }
    }
    "`".repeat((longest + 1).max(3))
}

/// Words of `text` wrapped to `width` columns (by characters), each line prefixed by
/// `indent`. Newlines in `text` start new paragraphs; a word longer than the width gets its
/// own line. The text is made terminal-safe first.
pub fn wrap(text: &str, width: usize, indent: &str) -> Vec<String> {
    let mut lines = Vec::new();
    for para in text.split('\n') {
        let para = one_line(para);
        let mut line = String::new();
        let mut cols = 0usize;
        for word in para.split_whitespace() {
            let n = word.chars().count();
            if cols > 0 && cols + 1 + n > width {
                lines.push(format!("{indent}{line}"));
                line.clear();
                cols = 0;
            }
            if cols > 0 {
                line.push(' ');
                cols += 1;
            }
            line.push_str(word);
            cols += n;
        }
        if !line.is_empty() {
            lines.push(format!("{indent}{line}"));
        }
    }
    lines
}

/// `s` cut to at most `max` characters, with an ellipsis when cut.
pub fn truncate(s: &str, max: usize) -> Cow<'_, str> {
    if s.chars().count() <= max {
        return Cow::Borrowed(s);
    }
    let mut out: String = s.chars().take(max.saturating_sub(1)).collect();
    out.push('…');
    Cow::Owned(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn one_line_makes_controls_visible() {
        assert_eq!(
            one_line("a\x1b[31mb\nc\u{202e}d"),
            "a\\x1b[31mb\\nc\\u{202e}d"
        );
        assert!(matches!(one_line("HTTP/web2.lab.test"), Cow::Borrowed(_)));
    }

    #[test]
    fn html_escapes_markup_and_quotes() {
        assert_eq!(
            html("\"><img src=x onerror='a'>&"),
            "&quot;&gt;&lt;img src=x onerror=&#39;a&#39;&gt;&amp;"
        );
    }

    #[test]
    fn md_escapes_links_and_code() {
        assert_eq!(
            md("[x](javascript:alert(1))"),
            "\\[x\\]\\(javascript:alert\\(1\\)\\)"
        );
        assert_eq!(md("a`b|c\\"), "a\\`b\\|c\\\\");
        assert_eq!(md("web2.lab.test"), "web2.lab.test");
    }

    #[test]
    fn fence_outgrows_backtick_runs() {
        assert_eq!(md_fence("kinit alice"), "```");
        assert_eq!(md_fence("a ```` b ``"), "`````");
    }

    #[test]
    fn wrap_respects_width() {
        let text = "one two three four five six seven eight nine ten";
        let lines = wrap(text, 14, "  ");
        assert!(lines.iter().all(|l| l.chars().count() <= 16), "{lines:?}");
        assert_eq!(lines.join(" ").split_whitespace().count(), 10);
    }
}
