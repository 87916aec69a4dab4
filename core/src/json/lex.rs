//! Lexing: the byte-level reader of the validator ([`Validator`]) and the cursor over
//! validated text that the views walk ([`Cursor`], [`Members`]).

use super::*;

pub(super) fn is_ws(b: u8) -> bool {
    matches!(b, b' ' | b'\t' | b'\n' | b'\r')
}

pub(super) struct Validator<'a> {
    pub(super) b: &'a [u8],
    pub(super) i: usize,
}

impl<'a> Validator<'a> {
    pub(super) fn peek(&self) -> Option<u8> {
        self.b.get(self.i).copied()
    }

    pub(super) fn bump(&mut self) -> Option<u8> {
        let c = self.peek()?;
        self.i += 1;
        Some(c)
    }

    pub(super) fn ws(&mut self) {
        while let Some(c) = self.peek() {
            if !is_ws(c) {
                break;
            }
            self.i += 1;
        }
    }

    pub(super) fn expect(&mut self, want: u8) -> Result<(), JsonError> {
        match self.bump() {
            Some(c) if c == want => Ok(()),
            _ => Err(JsonError::Syntax),
        }
    }

    pub(super) fn literal(&mut self, lit: &[u8]) -> Result<(), JsonError> {
        let end = self.i.checked_add(lit.len()).ok_or(JsonError::Syntax)?;
        if self.b.get(self.i..end) == Some(lit) {
            self.i = end;
            Ok(())
        } else {
            Err(JsonError::Syntax)
        }
    }

    pub(super) fn digits(&mut self) -> usize {
        let start = self.i;
        while matches!(self.peek(), Some(b'0'..=b'9')) {
            self.i += 1;
        }
        self.i - start
    }

    pub(super) fn number(&mut self) -> Result<(), JsonError> {
        if self.peek() == Some(b'-') {
            self.i += 1;
        }
        match self.peek() {
            Some(b'0') => self.i += 1,
            Some(b'1'..=b'9') => {
                self.digits();
            }
            _ => return Err(JsonError::Syntax),
        }
        if self.peek() == Some(b'.') {
            self.i += 1;
            if self.digits() == 0 {
                return Err(JsonError::Syntax);
            }
        }
        if matches!(self.peek(), Some(b'e' | b'E')) {
            self.i += 1;
            if matches!(self.peek(), Some(b'+' | b'-')) {
                self.i += 1;
            }
            if self.digits() == 0 {
                return Err(JsonError::Syntax);
            }
        }
        Ok(())
    }

    pub(super) fn hex4(&mut self) -> Result<u16, JsonError> {
        let mut v: u16 = 0;
        for _ in 0..4 {
            let c = self.bump().ok_or(JsonError::Syntax)?;
            let d = hex_val(c).ok_or(JsonError::Syntax)?;
            v = (v << 4) | u16::from(d);
        }
        Ok(v)
    }

    /// Validates a string starting at the opening quote and returns its raw contents.
    // Inlined into its two callers on 64-bit hosts: the call and its returned value
    // cost ~90 instructions per string, about 6 % of a verification's non-RSA work.
    // Microcontrollers keep one copy (flash).
    #[cfg_attr(target_pointer_width = "64", inline(always))]
    pub(super) fn string(&mut self) -> Result<JsonStr<'a>, JsonError> {
        self.expect(b'"')?;
        let start = self.i;
        let mut escaped = false;
        loop {
            // Runs of plain ASCII are most of every document; the match below handles
            // the bytes that stop them (non-ASCII is checked as UTF-8 where it is met).
            let rest = self.b.get(self.i..).unwrap_or_default();
            self.i += rest
                .iter()
                .position(|&c| c == b'"' || c == b'\\' || !(0x20..0x80).contains(&c))
                .unwrap_or(rest.len());
            let c = self.bump().ok_or(JsonError::Syntax)?;
            match c {
                b'"' => break,
                b'\\' => {
                    escaped = true;
                    let e = self.bump().ok_or(JsonError::Syntax)?;
                    match e {
                        b'"' | b'\\' | b'/' | b'b' | b'f' | b'n' | b'r' | b't' => {}
                        b'u' => {
                            let hi = self.hex4()?;
                            let cp = match hi {
                                0xD800..=0xDBFF => {
                                    if self.bump() != Some(b'\\') || self.bump() != Some(b'u') {
                                        return Err(JsonError::Surrogate);
                                    }
                                    let lo = self.hex4()?;
                                    if !(0xDC00..=0xDFFF).contains(&lo) {
                                        return Err(JsonError::Surrogate);
                                    }
                                    0x10000
                                        + ((u32::from(hi) - 0xD800) << 10)
                                        + (u32::from(lo) - 0xDC00)
                                }
                                0xDC00..=0xDFFF => return Err(JsonError::Surrogate),
                                _ => u32::from(hi),
                            };
                            char::from_u32(cp).ok_or(JsonError::Surrogate)?;
                        }
                        _ => return Err(JsonError::Syntax),
                    }
                }
                // Raw control characters must be escaped (RFC 8259 §7).
                0x00..=0x1f => return Err(JsonError::Syntax),
                0x80..=0xff => {
                    // A run of non-ASCII bytes: UTF-8 sequences are made of such bytes
                    // only, so the document is UTF-8 exactly when every such run is.
                    let from = self.i - 1;
                    let tail = self.b.get(from..).unwrap_or_default();
                    let len = tail.iter().take_while(|&&b| b >= 0x80).count();
                    let run = tail.get(..len).unwrap_or_default();
                    if core::str::from_utf8(run).is_err() {
                        return Err(JsonError::Utf8);
                    }
                    self.i = from + len;
                }
                // Not reached: the run above stops only at the bytes handled here.
                _ => {}
            }
        }
        let raw = self.b.get(start..self.i - 1).ok_or(JsonError::Syntax)?;
        Ok(JsonStr { raw, escaped })
    }
}

pub(super) fn hex_val(c: u8) -> Option<u8> {
    match c {
        b'0'..=b'9' => Some(c - b'0'),
        b'a'..=b'f' => Some(c - b'a' + 10),
        b'A'..=b'F' => Some(c - b'A' + 10),
        _ => None,
    }
}

/// A cursor over text that [`validate_with`] accepted. Methods return `None` rather than
/// panic if that promise is ever broken.
#[derive(Clone, Copy, Debug)]
pub(super) struct Cursor<'a> {
    pub(super) b: &'a [u8],
    pub(super) i: usize,
}

impl<'a> Cursor<'a> {
    pub(super) fn ws(&mut self) {
        while self.b.get(self.i).is_some_and(|&c| is_ws(c)) {
            self.i += 1;
        }
    }

    pub(super) fn peek(&self) -> Option<u8> {
        self.b.get(self.i).copied()
    }

    /// Moves to the closing quote of the string whose contents start here; true when
    /// the string has escapes.
    pub(super) fn string_body(&mut self) -> Option<bool> {
        let mut escaped = false;
        loop {
            let rest = self.b.get(self.i..)?;
            self.i += rest
                .iter()
                .position(|&c| c == b'"' || c == b'\\')
                .unwrap_or(rest.len());
            match self.peek()? {
                b'"' => return Some(escaped),
                b'\\' => {
                    escaped = true;
                    self.i += 2;
                }
                _ => self.i += 1,
            }
        }
    }

    /// Skips one value and returns it.
    pub(super) fn value(&mut self) -> Option<Value<'a>> {
        self.ws();
        let start = self.i;
        let first = self.peek()?;
        match first {
            b'"' => {
                self.i += 1;
                let s = self.i;
                let escaped = self.string_body()?;
                let raw = self.b.get(s..self.i)?;
                self.i += 1;
                Some(Value::String(JsonStr { raw, escaped }))
            }
            b'{' | b'[' => {
                let mut depth = 0usize;
                loop {
                    match self.peek()? {
                        b'{' | b'[' => depth += 1,
                        b'}' | b']' => {
                            depth = depth.checked_sub(1)?;
                            if depth == 0 {
                                self.i += 1;
                                break;
                            }
                        }
                        b'"' => {
                            // Skip the string so brackets inside it are not counted.
                            self.i += 1;
                            self.string_body()?;
                        }
                        _ => {}
                    }
                    self.i += 1;
                }
                let raw = self.b.get(start..self.i)?;
                Some(if first == b'{' {
                    Value::Object(Object { raw })
                } else {
                    Value::Array(Array { raw })
                })
            }
            _ => {
                while self
                    .peek()
                    .is_some_and(|c| c.is_ascii_alphanumeric() || matches!(c, b'+' | b'-' | b'.'))
                {
                    self.i += 1;
                }
                let raw = self.b.get(start..self.i)?;
                match raw {
                    // A closing bracket: the container has no more values.
                    b"" => None,
                    b"true" => Some(Value::Bool(true)),
                    b"false" => Some(Value::Bool(false)),
                    b"null" => Some(Value::Null),
                    _ => Some(Value::Number(Number { raw })),
                }
            }
        }
    }

    /// Consumes `c` (after whitespace) if it is next.
    pub(super) fn eat(&mut self, c: u8) -> bool {
        self.ws();
        if self.peek() == Some(c) {
            self.i += 1;
            true
        } else {
            false
        }
    }
}

/// Iterates `name: value` pairs of an object body (text after `{`).
pub(super) struct Members<'a> {
    pub(super) cur: Cursor<'a>,
}

impl<'a> Iterator for Members<'a> {
    type Item = (JsonStr<'a>, Value<'a>);

    fn next(&mut self) -> Option<Self::Item> {
        self.cur.eat(b',');
        let Value::String(name) = self.cur.value()? else {
            return None;
        };
        if !self.cur.eat(b':') {
            return None;
        }
        let value = self.cur.value()?;
        Some((name, value))
    }
}
