//! The valid sample token with byte edits (replace, insert, delete) applied, verified
//! at the time it is valid. This reaches the signature check with near-valid input.
//! Invariant: only the unmodified token verifies.
#![no_main]
use libfuzzer_sys::fuzz_target;
use xconnauth_fuzz::{sample_token, sample_verifier, NOW};

fuzz_target!(|data: &[u8]| {
    let original = sample_token();
    let mut t = original.to_vec();
    // Each edit is 4 bytes: op, position (u16 BE, modulo the length), byte.
    for e in data.chunks_exact(4) {
        let pos = usize::from(u16::from_be_bytes([e[1], e[2]])) % (t.len() + 1);
        match e[0] % 4 {
            0 | 1 if pos < t.len() => t[pos] = e[3],
            2 => t.insert(pos, e[3]),
            3 if pos < t.len() => {
                t.remove(pos);
            }
            _ => {}
        }
    }
    if t == original {
        return;
    }
    let result = sample_verifier().verify(&t, NOW);
    assert!(
        result.is_err(),
        "a modified token verifies: {:?}",
        String::from_utf8_lossy(&t)
    );
});
