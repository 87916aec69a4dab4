//! Arbitrary bytes as the decoded header JSON, joined to the sample token's payload and
//! signature: reaches header policy, key selection and the signature check at the
//! rate of a structured fuzzer. Invariant: only the original header verifies.
#![no_main]
use libfuzzer_sys::fuzz_target;
use xconnauth_fuzz::{b64, sample_token, sample_verifier, NOW};

fuzz_target!(|data: &[u8]| {
    let token = sample_token();
    let d1 = token
        .iter()
        .position(|&b| b == b'.')
        .expect("sample has a header");
    let mut t = b64(data).into_bytes();
    t.extend_from_slice(&token[d1..]);
    let ok = sample_verifier().verify(&t, NOW).is_ok();
    assert!(!ok || t == token, "a token with another header verifies");
});
