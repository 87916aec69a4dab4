//! Numbers: [`Number`], kept as validated text, and its NumericDate reading.

/// A JSON number, kept as its (validated) text.
#[derive(Clone, Copy, Debug)]
pub struct Number<'a> {
    pub(super) raw: &'a [u8],
}

impl<'a> Number<'a> {
    /// The number's JSON text.
    #[must_use]
    pub fn as_json(&self) -> &'a str {
        core::str::from_utf8(self.raw).unwrap_or_default()
    }

    /// The value as a NumericDate (RFC 7519 §2): `floor(value)` when the value lies in
    /// `0..=2^53`, computed exactly from the decimal text (no float rounding).
    #[must_use]
    pub fn as_numeric_date(&self) -> Option<u64> {
        const MAX: u64 = 1 << 53;
        // The usual case, a plain integer of at most 15 digits, is below 10^15 < 2^53.
        if (1..=15).contains(&self.raw.len()) && self.raw.iter().all(u8::is_ascii_digit) {
            return Some(
                self.raw
                    .iter()
                    .fold(0u64, |v, &d| v * 10 + u64::from(d - b'0')),
            );
        }
        let mut s = self.raw;
        let negative = s.first() == Some(&b'-');
        if negative {
            s = s.get(1..)?;
        }
        let mantissa_end = s
            .iter()
            .position(|&c| c == b'e' || c == b'E')
            .unwrap_or(s.len());
        let (mantissa, exp_part) = s.split_at(mantissa_end);
        // Decimal exponent, saturated: anything beyond ±10^6 already decides the answer.
        let mut exp: i64 = 0;
        if let Some(rest) = exp_part.get(1..) {
            let (neg, digits) = match rest.first() {
                Some(b'-') => (true, rest.get(1..)?),
                Some(b'+') => (false, rest.get(1..)?),
                _ => (false, rest),
            };
            for &d in digits {
                exp = (exp * 10 + i64::from(d - b'0')).min(1_000_000);
            }
            if neg {
                exp = -exp;
            }
        }
        let int_len = mantissa
            .iter()
            .position(|&c| c == b'.')
            .unwrap_or(mantissa.len());
        // Position of the decimal point within the digit string, after the exponent.
        let point = i64::try_from(int_len).ok()? + exp;
        let mut value: u64 = 0;
        let mut fraction = false;
        let mut pos: i64 = 0;
        for &c in mantissa {
            if c == b'.' {
                continue;
            }
            let d = u64::from(c - b'0');
            if pos < point {
                value = value.checked_mul(10)?.checked_add(d)?;
                if value > MAX {
                    return None;
                }
            } else if d != 0 {
                fraction = true;
            }
            pos += 1;
        }
        // Trailing zeros implied by a large exponent.
        while pos < point {
            if value == 0 {
                break;
            }
            value = value.checked_mul(10)?;
            if value > MAX {
                return None;
            }
            pos += 1;
        }
        if negative && (value != 0 || fraction) {
            return None;
        }
        if value == MAX && fraction {
            return None;
        }
        Some(value)
    }
}
