//! Which characters of an untrusted string may reach a terminal as they are.
//!
//! A token is attacker-chosen. Control characters (Unicode `Cc`: C0, DEL, C1) can drive
//! the terminal (ESC sequences, CSI `U+009B`), and format characters (`Cf`: bidi
//! embeddings, overrides and isolates, the Arabic letter mark, zero-width characters,
//! the soft hyphen, tag characters, ...) are invisible yet reorder or hide what is
//! shown, so `INVALID` could read as `VALID` or one `sub` pass for another. Line and
//! paragraph separators (`Zl`, `Zp`) break a one-line result. Every human-readable
//! output of token data escapes all of them.
//!
//! The table is the complete `Cc`, `Cf`, `Zl` and `Zp` list of Unicode 15.1 (no
//! character of these categories was added in Unicode 16.0). A test compares it, over
//! every code point, with a list generated from Python's `unicodedata`
//! (`cli/tests/data/unicode-cc-cf-zl-zp.txt`), so no Unicode tables crate is needed.

/// Inclusive ranges, sorted, of the code points that must never reach a terminal raw.
const UNSAFE: [(u32, u32); 23] = [
    (0x0000, 0x001F),   // Cc: C0 controls
    (0x007F, 0x009F),   // Cc: DEL and C1 controls (CSI is U+009B)
    (0x00AD, 0x00AD),   // Cf: soft hyphen
    (0x0600, 0x0605),   // Cf: Arabic number signs
    (0x061C, 0x061C),   // Cf: Arabic letter mark (bidi)
    (0x06DD, 0x06DD),   // Cf: Arabic end of ayah
    (0x070F, 0x070F),   // Cf: Syriac abbreviation mark
    (0x0890, 0x0891),   // Cf: Arabic pound and piastre marks above
    (0x08E2, 0x08E2),   // Cf: Arabic disputed end of ayah
    (0x180E, 0x180E),   // Cf: Mongolian vowel separator
    (0x200B, 0x200F),   // Cf: zero-width space, (non-)joiner, LRM, RLM
    (0x2028, 0x202E),   // Zl, Zp; Cf: bidi embeddings and overrides
    (0x2060, 0x2064),   // Cf: word joiner, invisible operators
    (0x2066, 0x206F),   // Cf: bidi isolates, deprecated format characters
    (0xFEFF, 0xFEFF),   // Cf: zero-width no-break space (BOM)
    (0xFFF9, 0xFFFB),   // Cf: interlinear annotation characters
    (0x110BD, 0x110BD), // Cf: Kaithi number sign
    (0x110CD, 0x110CD), // Cf: Kaithi number sign above
    (0x13430, 0x1343F), // Cf: Egyptian hieroglyph format controls
    (0x1BCA0, 0x1BCA3), // Cf: shorthand format controls
    (0x1D173, 0x1D17A), // Cf: musical symbol beam, tie, slur and phrase controls
    (0xE0001, 0xE0001), // Cf: language tag
    (0xE0020, 0xE007F), // Cf: tag characters
];

/// True when `c` is a control, format, line separator or paragraph separator
/// character (Unicode `Cc`, `Cf`, `Zl`, `Zp`).
pub(crate) fn is_unsafe(c: char) -> bool {
    let cp = u32::from(c);
    // The ranges are sorted and disjoint: the last one starting at or before `cp`.
    let i = UNSAFE.partition_point(|&(first, _)| first <= cp);
    i > 0 && UNSAFE.get(i - 1).is_some_and(|&(_, last)| cp <= last)
}

/// `s` with every [`is_unsafe`] character written as a visible `\u{...}` escape.
pub(crate) fn escaped(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        if is_unsafe(c) {
            out.extend(c.escape_unicode());
        } else {
            out.push(c);
        }
    }
    out
}

#[cfg(test)]
#[allow(clippy::indexing_slicing, clippy::panic)]
mod tests {
    use super::*;

    /// The table against the generated list, over all of Unicode.
    #[test]
    fn the_table_is_exactly_cc_cf_zl_zp() {
        let data = include_str!("../tests/data/unicode-cc-cf-zl-zp.txt");
        let mut want = vec![false; 0x11_0000];
        for line in data
            .lines()
            .filter(|l| !l.starts_with('#') && !l.is_empty())
        {
            let mut parts = line.split(' ');
            let mut next = || u32::from_str_radix(parts.next().unwrap_or(""), 16);
            let (Ok(first), Ok(last)) = (next(), next()) else {
                panic!("bad line {line:?}");
            };
            for cp in first..=last {
                want[cp as usize] = true;
            }
        }
        assert!(
            UNSAFE.windows(2).all(|w| w[0].1 < w[1].0),
            "sorted, disjoint"
        );
        let mut count = 0;
        for cp in 0..0x11_0000u32 {
            let Some(c) = char::from_u32(cp) else {
                continue; // surrogates
            };
            assert_eq!(is_unsafe(c), want[cp as usize], "U+{cp:04X}");
            count += usize::from(want[cp as usize]);
        }
        // 65 Cc + 170 Cf + 1 Zl + 1 Zp.
        assert_eq!(count, 237);
    }

    #[test]
    fn escapes_are_visible_and_the_rest_is_kept() {
        assert_eq!(
            escaped("a\u{61c}b\u{202e}c\u{1b}[31m\u{e0041}é"),
            "a\\u{61c}b\\u{202e}c\\u{1b}[31m\\u{e0041}é"
        );
        assert_eq!(
            escaped("plain ascii, ünïcödé, 日本"),
            "plain ascii, ünïcödé, 日本"
        );
    }
}
