//! Canonical unpadded base64url for token segments, table-driven.
//!
//! A token's segments are public (the header and payload are readable by anyone who
//! holds the token, the signature is useless without the signing key), so decoding them
//! gains nothing from constant time. base64ct's constant-time decoder cost about 26
//! instructions per character, a third of all non-RSA work of a verification; this
//! one costs about 3. It accepts exactly what `base64ct::Base64UrlUnpadded` accepts
//! (the tests below and the `token` fuzz target compare the two), and key material in
//! JWKS documents is still decoded by base64ct.

/// Marks a byte outside the alphabet; the high bit survives OR-ing decoded values.
const INVALID: u8 = 0x80;

/// Value of every base64url character; [`INVALID`] for everything else, `=` included.
static DECODE: [u8; 256] = table();

// Evaluated at compile time: an index out of range would fail the build, not panic.
#[allow(clippy::indexing_slicing)]
const fn table() -> [u8; 256] {
    let mut t = [INVALID; 256];
    let mut i = 0u8;
    while i < 26 {
        t[(b'A' + i) as usize] = i;
        t[(b'a' + i) as usize] = 26 + i;
        i += 1;
    }
    let mut d = 0u8;
    while d < 10 {
        t[(b'0' + d) as usize] = 52 + d;
        d += 1;
    }
    t[b'-' as usize] = 62;
    t[b'_' as usize] = 63;
    t
}

fn val(c: u8) -> u32 {
    u32::from(DECODE.get(usize::from(c)).copied().unwrap_or(INVALID))
}

/// Decoded size of canonical unpadded base64url of `len` characters, `None` when no
/// canonical encoding has that length.
pub(crate) fn decoded_len(len: usize) -> Option<usize> {
    match len % 4 {
        1 => None,
        rem => Some(len / 4 * 3 + rem.saturating_sub(1)),
    }
}

/// Marks a byte outside the alphabet in [`SHIFTED`]; above the 24 bits of a quad.
#[cfg(any(test, target_pointer_width = "64"))]
const SHIFTED_INVALID: u32 = 1 << 31;

/// [`DECODE`] pre-shifted to each of the four places of a character in a quad, so a
/// quad's 24 bits are four loads and three ORs. 4 KB: worth it where a table that size
/// is cheap (64-bit hosts); microcontrollers keep the 256-byte table, whose shifts
/// their ORs do for free.
#[cfg(any(test, target_pointer_width = "64"))]
static SHIFTED: [[u32; 256]; 4] = shifted();

// Evaluated at compile time: an index out of range would fail the build, not panic.
#[cfg(any(test, target_pointer_width = "64"))]
#[allow(clippy::indexing_slicing)]
const fn shifted() -> [[u32; 256]; 4] {
    let plain = table();
    let mut t = [[SHIFTED_INVALID; 256]; 4];
    let mut c = 0;
    while c < 256 {
        let v = plain[c];
        if v != INVALID {
            let v = v as u32;
            t[0][c] = v << 18;
            t[1][c] = v << 12;
            t[2][c] = v << 6;
            t[3][c] = v;
        }
        c += 1;
    }
    t
}

/// The 24 bits of a quad, [`SHIFTED_INVALID`] set if a character is not base64url.
#[cfg(any(test, target_pointer_width = "64"))]
#[inline]
fn quad_shifted(c0: u8, c1: u8, c2: u8, c3: u8) -> u32 {
    let [t0, t1, t2, t3] = &SHIFTED;
    let at = |t: &[u32; 256], c: u8| t.get(usize::from(c)).copied().unwrap_or(SHIFTED_INVALID);
    at(t0, c0) | at(t1, c1) | at(t2, c2) | at(t3, c3)
}

/// Decodes one 8-character chunk into 6 bytes (pre-shifted tables); false if a
/// character is not base64url (`dst` then holds garbage).
#[cfg(any(test, target_pointer_width = "64"))]
#[inline]
fn octet_shifted(oct: &[u8], dst: &mut [u8]) -> bool {
    let &[c0, c1, c2, c3, c4, c5, c6, c7] = oct else {
        return false;
    };
    let hi = quad_shifted(c0, c1, c2, c3);
    let lo = quad_shifted(c4, c5, c6, c7);
    let n = (u64::from(hi) << 24) | u64::from(lo);
    // Both sides are six bytes long: chunks_exact_mut(6) and bytes 2..8 of a u64.
    if let Some(bytes) = n.to_be_bytes().get(2..) {
        dst.copy_from_slice(bytes);
    }
    (hi | lo) & SHIFTED_INVALID == 0
}

/// As [`octet_shifted`], with the 256-byte table.
#[cfg(any(test, not(target_pointer_width = "64")))]
#[inline]
fn octet_plain(oct: &[u8], dst: &mut [u8]) -> bool {
    let &[c0, c1, c2, c3, c4, c5, c6, c7] = oct else {
        return false;
    };
    let (v0, v1, v2, v3) = (val(c0), val(c1), val(c2), val(c3));
    let (v4, v5, v6, v7) = (val(c4), val(c5), val(c6), val(c7));
    let seen = v0 | v1 | v2 | v3 | v4 | v5 | v6 | v7;
    let hi = (v0 << 18) | (v1 << 12) | (v2 << 6) | v3;
    let lo = (v4 << 18) | (v5 << 12) | (v6 << 6) | v7;
    let n = (u64::from(hi) << 24) | u64::from(lo);
    if let Some(bytes) = n.to_be_bytes().get(2..) {
        dst.copy_from_slice(bytes);
    }
    seen & u32::from(INVALID) == 0
}

#[cfg(not(target_pointer_width = "64"))]
use octet_plain as octet;
#[cfg(target_pointer_width = "64")]
use octet_shifted as octet;

/// Decodes every 8-character chunk of `octs` into the 6-byte chunks of `sixes`; false
/// if any character was invalid. Leaves the remainders.
fn octets(
    octs: &mut core::slice::ChunksExact<'_, u8>,
    sixes: &mut core::slice::ChunksExactMut<'_, u8>,
) -> bool {
    let mut ok = true;
    for (oct, dst) in octs.zip(sixes) {
        ok &= octet(oct, dst);
    }
    ok
}

/// Decodes canonical unpadded base64url `src` into the front of `out`: no padding, no
/// whitespace, only `A-Z a-z 0-9 - _`, and the unused bits of the last character zero.
/// `None` when `src` is not such an encoding or `out` is too small.
pub(crate) fn decode<'o>(src: &[u8], out: &'o mut [u8]) -> Option<&'o mut [u8]> {
    let len = decoded_len(src.len())?;
    let out = out.get_mut(..len)?;
    let (full_out, tail_out) = out.split_at_mut(src.len() / 4 * 3);
    let (full_src, _) = src.split_at(src.len() / 4 * 4);
    // Eight characters (48 bits, six bytes) per step, then at most one quad.
    let mut octs = full_src.chunks_exact(8);
    let mut sixes = full_out.chunks_exact_mut(6);
    let octets_ok = octets(&mut octs, &mut sixes);
    // OR of every decoded value: INVALID's bit shows up if any character was invalid.
    let mut seen = if octets_ok { 0 } else { u32::from(INVALID) };
    if let (&[a, b, c, d], [x, y, z]) = (octs.remainder(), sixes.into_remainder()) {
        let (a, b, c, d) = (val(a), val(b), val(c), val(d));
        seen |= a | b | c | d;
        let n = (a << 18) | (b << 12) | (c << 6) | d;
        let [_, hi, mid, lo] = n.to_be_bytes();
        (*x, *y, *z) = (hi, mid, lo);
    }
    let quads = src.chunks_exact(4);
    match (quads.remainder(), tail_out) {
        (&[], []) => {}
        (&[a, b], [x]) => {
            let (a, b) = (val(a), val(b));
            // 12 bits carry 8: the low 4 bits of the last character must be zero.
            seen |= a | b | if b & 0x0f != 0 { u32::from(INVALID) } else { 0 };
            *x = ((a << 2) | (b >> 4)) as u8;
        }
        (&[a, b, c], [x, y]) => {
            let (a, b, c) = (val(a), val(b), val(c));
            // 18 bits carry 16: the low 2 bits of the last character must be zero.
            seen |= a | b | c | if c & 0x03 != 0 { u32::from(INVALID) } else { 0 };
            let n = (a << 10) | (b << 4) | (c >> 2);
            let [_, _, hi, lo] = n.to_be_bytes();
            (*x, *y) = (hi, lo);
        }
        _ => return None,
    }
    if seen & u32::from(INVALID) != 0 {
        return None;
    }
    Some(out)
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::indexing_slicing)]
mod tests {
    use super::*;
    use alloc::{string::String, vec, vec::Vec};
    use base64ct::{Base64UrlUnpadded, Encoding};

    fn reference(src: &[u8]) -> Option<Vec<u8>> {
        let mut out = vec![0u8; src.len()];
        Base64UrlUnpadded::decode(src, &mut out)
            .ok()
            .map(<[u8]>::to_vec)
    }

    fn ours(src: &[u8]) -> Option<Vec<u8>> {
        let mut out = vec![0u8; src.len()];
        decode(src, &mut out).map(|s| s.to_vec())
    }

    /// Every string of up to 3 characters over the alphabet plus its near misses, and
    /// every such string after a valid quad: every tail and every invalid position.
    #[test]
    fn agrees_with_base64ct_exhaustively_on_short_inputs() {
        let mut chars: Vec<u8> = (b'A'..=b'Z')
            .chain(b'a'..=b'z')
            .chain(b'0'..=b'9')
            .collect();
        chars.extend_from_slice(b"-_+/= .\n\0\x7f\x80\xff@[`{");
        let mut checked = 0;
        for prefix in [&b""[..], b"eyJh"] {
            for n in 0..=3usize {
                let mut idx = vec![0usize; n];
                loop {
                    let mut s = prefix.to_vec();
                    s.extend(idx.iter().map(|&i| chars[i]));
                    assert_eq!(ours(&s), reference(&s), "{:?}", String::from_utf8_lossy(&s));
                    checked += 1;
                    // next index vector (odometer)
                    let mut k = 0;
                    while k < n {
                        idx[k] += 1;
                        if idx[k] < chars.len() {
                            break;
                        }
                        idx[k] = 0;
                        k += 1;
                    }
                    if k == n {
                        break;
                    }
                }
            }
        }
        let c = chars.len();
        assert_eq!(checked, 2 * (1 + c + c * c + c * c * c));
    }

    /// Encodings of random bytes, each also with one character replaced, cut or added.
    #[test]
    fn agrees_with_base64ct_on_random_and_mutated_inputs() {
        let mut next = crate::testutil::xorshift(0x9e37_79b9_7f4a_7c15u64);
        for round in 0..20_000 {
            let len = (next() % 300) as usize;
            let bytes: Vec<u8> = (0..len).map(|_| next() as u8).collect();
            let mut text = Base64UrlUnpadded::encode_string(&bytes).into_bytes();
            assert_eq!(ours(&text).as_deref(), Some(&bytes[..]));
            match round % 3 {
                0 if !text.is_empty() => {
                    let at = (next() as usize) % text.len();
                    text[at] = next() as u8;
                }
                1 => text.truncate(text.len().saturating_sub(1 + (next() % 3) as usize)),
                _ => text.push(next() as u8),
            }
            assert_eq!(
                ours(&text),
                reference(&text),
                "{:?}",
                String::from_utf8_lossy(&text)
            );
        }
    }

    /// Both octet decoders (the host uses one, 32-bit targets the other) agree with each
    /// other and with base64ct for every byte value at every place of an octet.
    #[test]
    fn both_octet_loops_agree_on_every_byte_at_every_place() {
        let valid = b"eyJhbGciOiJSUzI1NiJ9abcd";
        for place in 0..16 {
            for byte in 0..=255u8 {
                let mut src = valid.to_vec();
                src[place] = byte;
                let run = |f: fn(&[u8], &mut [u8]) -> bool| {
                    let mut out = [0u8; 18];
                    let mut ok = true;
                    for (oct, dst) in src.chunks_exact(8).zip(out.chunks_exact_mut(6)) {
                        ok &= f(oct, dst);
                    }
                    (ok, out)
                };
                let (ok_s, out_s) = run(octet_shifted);
                let (ok_p, out_p) = run(octet_plain);
                assert_eq!(ok_s, ok_p, "byte {byte:#x} at {place}");
                assert_eq!(ok_s, reference(&src).is_some(), "byte {byte:#x} at {place}");
                if ok_s {
                    assert_eq!(out_s, out_p);
                    assert_eq!(&out_s[..], &reference(&src).unwrap()[..]);
                }
            }
        }
    }

    #[test]
    fn needs_room_and_a_possible_length() {
        let mut small = [0u8; 2];
        assert!(decode(b"eyJh", &mut small).is_none());
        let mut out = [0u8; 8];
        assert!(decode(b"eyJhb", &mut out).is_none());
        assert_eq!(decode(b"", &mut out).map(|s| s.len()), Some(0));
        assert_eq!(decoded_len(5), None);
        assert_eq!(decoded_len(6), Some(4));
    }
}
