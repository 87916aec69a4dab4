//! Changing any single character of a valid token never yields a valid result.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    clippy::panic
)]

use std::path::Path;

use proptest::prelude::*;
use serde_json::Value as Json;
use xconnauth::{KeySet, Policy, Verifier};

/// Every valid case of the dev corpus, with its verifier.
fn valid_cases() -> Vec<(String, Verifier, Vec<u8>, u64)> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../tests/vectors/dev");
    let text = std::fs::read_to_string(dir.join("cases.jsonl")).unwrap();
    text.lines()
        .map(|l| serde_json::from_str::<Json>(l).unwrap())
        .filter(|c| c["expect"] == "ok")
        .map(|c| {
            let jwks = match c.get("jwks_ref").and_then(Json::as_str) {
                Some(r) => std::fs::read(dir.join(r)).unwrap(),
                None => serde_json::to_vec(&c["jwks"]).unwrap(),
            };
            let policy = Policy::from_json(&serde_json::to_vec(&c["options"]).unwrap()).unwrap();
            let verifier = Verifier::new(KeySet::from_jwks(&jwks).unwrap(), policy).unwrap();
            let token = c["token"].as_str().unwrap().as_bytes().to_vec();
            (
                c["name"].as_str().unwrap().to_string(),
                verifier,
                token,
                c["now"].as_u64().unwrap(),
            )
        })
        .collect()
}

#[test]
fn every_position_of_a_keycloak_token() {
    let cases = valid_cases();
    let (name, verifier, token, now) = cases.iter().find(|c| c.0 == "valid_aud_array").unwrap();
    assert!(verifier.verify(token, *now).is_ok(), "{name} must verify");
    let mut checked = 0;
    for i in 0..token.len() {
        for replacement in [b'A', b'_', b'.', b'0'] {
            if token[i] == replacement {
                continue;
            }
            let mut t = token.clone();
            t[i] = replacement;
            assert!(
                verifier.verify(&t, *now).is_err(),
                "{name}: byte {i} -> {:?} verified",
                replacement as char
            );
            checked += 1;
        }
    }
    assert!(checked > 3 * token.len());
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 3000, ..ProptestConfig::default() })]

    #[test]
    fn any_single_byte_change_is_rejected(case in 0usize..1000, pos in any::<proptest::sample::Index>(), byte in any::<u8>()) {
        thread_local! {
            static CASES: Vec<(String, Verifier, Vec<u8>, u64)> = valid_cases();
        }
        CASES.with(|cases| {
            let (name, verifier, token, now) = &cases[case % cases.len()];
            let i = pos.index(token.len());
            prop_assume!(token[i] != byte);
            let mut t = token.clone();
            t[i] = byte;
            prop_assert!(verifier.verify(&t, *now).is_err(), "{} byte {} -> {:#x} verified", name, i, byte);
            Ok(())
        })?;
    }
}
