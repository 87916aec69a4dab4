//! Byte searches eight bytes at a time in a `u64` ("SIMD within a register"), for the
//! scans that dominate parsing a token: long runs of base64url or of plain string
//! bytes in which nothing needs attention.
//!
//! Each function returns a mask with the high bit of a byte set for bytes that match.
//! A borrow can also set the bit of a byte *above* a true match, never below one, so
//! "is the mask non-zero" and "the lowest set bit" are exact; other bits are not.

const ONES: u64 = 0x0101_0101_0101_0101;
const HIGHS: u64 = 0x8080_8080_8080_8080;

/// Bytes of `x` below `n` (`n` at most 0x80).
#[inline]
pub(crate) fn any_below(x: u64, n: u8) -> u64 {
    x.wrapping_sub(ONES.wrapping_mul(u64::from(n))) & !x & HIGHS
}

/// Bytes of `x` equal to `b`.
#[inline]
pub(crate) fn any_equal(x: u64, b: u8) -> u64 {
    any_below(x ^ ONES.wrapping_mul(u64::from(b)), 1)
}

/// Length of the run of bytes at the front of `s` that are neither `"` nor `\\` nor a
/// control character: the plain content of a JSON string.
#[inline]
pub(crate) fn plain_string_run(s: &[u8]) -> usize {
    run::<false>(s)
}

/// As [`plain_string_run`], also stopping at non-ASCII bytes (the validator checks
/// UTF-8 where it meets them, instead of over the whole document first).
#[inline]
pub(crate) fn plain_ascii_run(s: &[u8]) -> usize {
    run::<true>(s)
}

#[inline]
fn run<const ASCII: bool>(s: &[u8]) -> usize {
    let stop = |c: u8| c == b'"' || c == b'\\' || c < 0x20 || (ASCII && c >= 0x80);
    let mut words = s.chunks_exact(8);
    let mut at = 0usize;
    for word in &mut words {
        let x = u64::from_le_bytes(word.try_into().unwrap_or_default());
        let mut hits = any_equal(x, b'"') | any_equal(x, b'\\') | any_below(x, 0x20);
        if ASCII {
            hits |= x & HIGHS;
        }
        if hits != 0 {
            // Little-endian load: the lowest set bit is the first matching byte.
            return at + (hits.trailing_zeros() / 8) as usize;
        }
        at += 8;
    }
    at + words
        .remainder()
        .iter()
        .position(|&c| stop(c))
        .unwrap_or(words.remainder().len())
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::indexing_slicing)]
mod tests {
    use super::*;
    use alloc::vec::Vec;

    fn naive(s: &[u8]) -> usize {
        s.iter()
            .position(|&c| c == b'"' || c == b'\\' || c < 0x20)
            .unwrap_or(s.len())
    }

    #[test]
    fn masks_are_exact_about_presence_and_the_first_match() {
        // Every byte value at every position, over backgrounds that provoke borrows.
        for background in [
            0u8, 0x01, 0x1f, 0x20, 0x21, b'"', b'.', b'a', 0x7f, 0x80, 0xff,
        ] {
            for pos in 0..8 {
                for v in 0..=255u8 {
                    let mut bytes = [background; 8];
                    bytes[pos] = v;
                    let x = u64::from_le_bytes(bytes);
                    let first = |p: &dyn Fn(u8) -> bool| bytes.iter().position(|&b| p(b));
                    for n in [1u8, 0x20, 0x21, 0x80] {
                        let m = any_below(x, n);
                        let want = first(&|b| b < n);
                        assert_eq!(m != 0, want.is_some());
                        if let Some(w) = want {
                            assert_eq!((m.trailing_zeros() / 8) as usize, w);
                        }
                    }
                    for b in [b'"', b'.', b'\\', 0u8, 0xff] {
                        let m = any_equal(x, b);
                        let want = first(&|c| c == b);
                        assert_eq!(m != 0, want.is_some());
                        if let Some(w) = want {
                            assert_eq!((m.trailing_zeros() / 8) as usize, w);
                        }
                    }
                }
            }
        }
    }

    #[test]
    fn plain_string_run_matches_a_byte_loop() {
        let mut next = crate::testutil::xorshift(0x2545_f491_4f6c_dd1d);
        for _ in 0..50_000 {
            let state = next();
            let len = (state % 40) as usize;
            let mut s: Vec<u8> = (0..len).map(|i| b'a' + (i % 26) as u8).collect();
            if len > 0 && state & 0x100 != 0 {
                let at = ((state >> 16) as usize) % len;
                s[at] = (state >> 32) as u8;
            }
            assert_eq!(plain_string_run(&s), naive(&s), "{s:?}");
            let ascii = s
                .iter()
                .position(|&c| c == b'"' || c == b'\\' || !(0x20..0x80).contains(&c))
                .unwrap_or(s.len());
            assert_eq!(plain_ascii_run(&s), ascii, "{s:?}");
        }
    }
}
