//! Strings: [`JsonStr`], borrowed and still escaped; comparisons unescape on the fly.

use super::*;

/// A JSON string borrowed from validated text, still escaped. Comparisons and iteration
/// see the unescaped value; nothing is copied.
#[derive(Clone, Copy)]
pub struct JsonStr<'a> {
    pub(super) raw: &'a [u8],
    pub(super) escaped: bool,
}

impl fmt::Debug for JsonStr<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("\"")?;
        fmt::Display::fmt(self, f)?;
        f.write_str("\"")
    }
}

impl fmt::Display for JsonStr<'_> {
    /// Writes the unescaped value.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.as_str() {
            Some(s) => f.write_str(s),
            None => self.chars().try_for_each(|c| fmt::Write::write_char(f, c)),
        }
    }
}

impl<'a> JsonStr<'a> {
    /// The value without copying, when it contains no escapes.
    #[must_use]
    pub fn as_str(&self) -> Option<&'a str> {
        if self.escaped {
            None
        } else {
            core::str::from_utf8(self.raw).ok()
        }
    }

    /// The escaped text between the quotes.
    #[must_use]
    pub fn raw(&self) -> &'a str {
        core::str::from_utf8(self.raw).unwrap_or_default()
    }

    /// The unescaped characters.
    pub fn chars(&self) -> impl Iterator<Item = char> + 'a {
        let mut rest = self.raw();
        core::iter::from_fn(move || {
            let mut it = rest.chars();
            let c = it.next()?;
            if c != '\\' {
                rest = it.as_str();
                return Some(c);
            }
            let e = it.next()?;
            let out = match e {
                'b' => '\u{8}',
                'f' => '\u{c}',
                'n' => '\n',
                'r' => '\r',
                't' => '\t',
                'u' => {
                    let s = it.as_str();
                    let hi = u32::from_str_radix(s.get(..4)?, 16).ok()?;
                    let mut tail = s.get(4..)?;
                    let cp = if (0xD800..0xDC00).contains(&hi) {
                        let lo = u32::from_str_radix(tail.get(2..6)?, 16).ok()?;
                        tail = tail.get(6..)?;
                        0x10000 + ((hi - 0xD800) << 10) + (lo.checked_sub(0xDC00)?)
                    } else {
                        hi
                    };
                    rest = tail;
                    return char::from_u32(cp);
                }
                other => other,
            };
            rest = it.as_str();
            Some(out)
        })
    }

    /// The text between the quotes, escapes as written.
    pub(crate) fn raw_bytes(&self) -> &'a [u8] {
        self.raw
    }

    /// True when the text between the quotes has escapes.
    pub(crate) fn is_escaped(&self) -> bool {
        self.escaped
    }

    /// The unescaped value as UTF-8 bytes.
    pub(crate) fn unescaped_bytes(&self) -> impl Iterator<Item = u8> + 'a {
        self.bytes()
    }

    /// The unescaped value as UTF-8 bytes.
    pub(super) fn bytes(&self) -> impl Iterator<Item = u8> + 'a {
        self.chars().flat_map(|c| {
            let mut buf = [0u8; 4];
            let len = c.encode_utf8(&mut buf).len();
            buf.into_iter().take(len)
        })
    }

    /// True when the unescaped value equals `s`.
    #[must_use]
    pub fn eq_str(&self, s: &str) -> bool {
        if !self.escaped {
            return self.raw == s.as_bytes();
        }
        // An escape is 2 to 12 raw bytes for 1 to 4 unescaped bytes: cheap length bounds
        // reject most names before decoding anything.
        if s.len() > self.raw.len() || s.len().saturating_mul(6) < self.raw.len() {
            return false;
        }
        self.bytes().eq(s.bytes())
    }

    /// True when `word` is one of the space-separated words of the value
    /// (RFC 6749 §3.3 scope syntax: whole words, case-sensitive).
    #[must_use]
    pub fn has_word(&self, word: &str) -> bool {
        if word.is_empty() {
            return false;
        }
        if let Some(s) = self.as_str() {
            return s.split(' ').any(|w| w == word);
        }
        let want = word.as_bytes();
        // Match position inside `want`, or None once the current word has diverged.
        let mut pos: Option<usize> = Some(0);
        for b in self.bytes() {
            if b == b' ' {
                if pos == Some(want.len()) {
                    return true;
                }
                pos = Some(0);
            } else {
                pos = match pos {
                    Some(p) if want.get(p) == Some(&b) => Some(p + 1),
                    _ => None,
                };
            }
        }
        pos == Some(want.len())
    }
}

impl<'a> JsonStr<'a> {
    /// A string view over text validated earlier (see `Object::from_validated`).
    pub(crate) fn from_validated(raw: &'a [u8], escaped: bool) -> Self {
        JsonStr { raw, escaped }
    }
}
