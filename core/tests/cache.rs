//! The verified-token cache (`cache_entries`, DESIGN §4): a hit gives exactly the
//! uncached verdict, time claims are re-checked on every hit, a new key set starts
//! empty, a flood of distinct tokens stays within the bounds, hits are safe from many
//! threads, and the whole corpus keeps its verdicts with the cache on.
#![cfg(feature = "std")]
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    clippy::panic
)]

use std::path::{Path, PathBuf};
use std::sync::Arc;

use aws_lc_rs::{rand::SystemRandom, signature};
use base64ct::{Base64, Base64UrlUnpadded, Encoding};
use serde_json::Value as Json;
use xconnauth::{Backend, Error, KeySet, Policy, VerifiedToken, Verifier};

const ISSUER: &str = "https://kc.example/realms/cache";

fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("..")
}

/// Signs tokens with the bench key (`benches/data`, kid `bench-2048`).
struct Minter {
    key: signature::RsaKeyPair,
    rng: SystemRandom,
}

impl Minter {
    fn new() -> Minter {
        let pem = std::fs::read_to_string(root().join("benches/data/bench-rsa2048.pem")).unwrap();
        let b64: String = pem.lines().filter(|l| !l.starts_with("-----")).collect();
        let der = Base64::decode_vec(&b64).unwrap();
        Minter {
            key: signature::RsaKeyPair::from_pkcs8(&der).unwrap(),
            rng: SystemRandom::new(),
        }
    }

    fn mint(&self, claims: &Json) -> String {
        let header = r#"{"alg":"RS256","kid":"bench-2048","typ":"JWT"}"#;
        let input = format!(
            "{}.{}",
            Base64UrlUnpadded::encode_string(header.as_bytes()),
            Base64UrlUnpadded::encode_string(claims.to_string().as_bytes())
        );
        let mut sig = vec![0u8; self.key.public_modulus_len()];
        self.key
            .sign(
                &signature::RSA_PKCS1_SHA256,
                &self.rng,
                input.as_bytes(),
                &mut sig,
            )
            .unwrap();
        format!("{input}.{}", Base64UrlUnpadded::encode_string(&sig))
    }
}

fn keys() -> KeySet {
    let jwks = std::fs::read(root().join("benches/data/jwks-2048.json")).unwrap();
    KeySet::from_jwks_with(&jwks, Backend::RustCrypto).unwrap()
}

fn verifiers(cache_entries: usize) -> (Verifier, Verifier) {
    let mut policy = Policy::new([ISSUER]);
    policy.required_scopes = vec!["read".into()];
    let plain = Verifier::new(keys(), policy.clone()).unwrap();
    policy.cache_entries = cache_entries;
    (plain, Verifier::new(keys(), policy).unwrap())
}

fn claims(n: u64, exp: u64, nbf: Option<u64>, iat: Option<u64>) -> Json {
    let mut c = serde_json::json!({
        "iss": ISSUER, "sub": format!("user-{n}"), "typ": "Bearer", "exp": exp,
        "scope": "openid read", "aud": ["a", "b"], "azp": "client",
        "realm_access": {"roles": ["r1", "r2"]},
        "resource_access": {"client": {"roles": ["w"]}},
    });
    if let Some(nbf) = nbf {
        c["nbf"] = nbf.into();
    }
    if let Some(iat) = iat {
        c["iat"] = iat.into();
    }
    c
}

/// A verdict as comparable text: the category and message, or the decoded parts and
/// every typed claim.
fn verdict(r: &Result<VerifiedToken, Error>) -> String {
    match r {
        Ok(v) => {
            let c = v.claims();
            let roles: Vec<String> = c.realm_roles().map(|r| r.to_string()).collect();
            let client: Vec<String> = c.client_roles("client").map(|r| r.to_string()).collect();
            format!(
                "ok {} {} {:?} {:?} {:?} {:?} {:?} {roles:?} {client:?} {:?} {:?} {:?}",
                v.header_json(),
                v.payload_json(),
                c.exp(),
                c.nbf(),
                c.iat(),
                c.sub(),
                c.aud()
                    .map(|a| a.iter().map(|s| s.to_string()).collect::<Vec<_>>()),
                c.scope(),
                c.get("sub").map(|s| format!("{s:?}")),
                v.header().kid(),
            )
        }
        Err(e) => format!("{} {e}", e.code()),
    }
}

/// A hit gives what the first, uncached verification gave, through `verify`,
/// `verify_header(_bytes)` and `verify_into`; the second call is served by the cache.
#[test]
fn hits_equal_misses_on_every_entry_point() {
    let m = Minter::new();
    let (plain, cached) = verifiers(8);
    let token = m.mint(&claims(1, 2_000, Some(1_000), Some(1_000)));
    let now = 1_500;
    let want = verdict(&plain.verify(token.as_bytes(), now));
    assert!(want.starts_with("ok "), "{want}");
    assert_eq!(cached.cache_usage().unwrap().entries, 0);
    assert_eq!(verdict(&cached.verify(token.as_bytes(), now)), want);
    assert_eq!(cached.cache_usage().unwrap().entries, 1);
    for _ in 0..2 {
        assert_eq!(verdict(&cached.verify(token.as_bytes(), now)), want);
        let header = format!("Bearer {token}");
        assert_eq!(verdict(&cached.verify_header(&header, now)), want);
        assert_eq!(
            verdict(&cached.verify_header_bytes(header.as_bytes(), now)),
            want
        );
        let mut buf = vec![0xa5u8; token.len()];
        let v = cached.verify_into(token.as_bytes(), now, &mut buf).unwrap();
        let mut buf2 = vec![0u8; token.len()];
        let w = plain.verify_into(token.as_bytes(), now, &mut buf2).unwrap();
        assert_eq!(v.header_json(), w.header_json());
        assert_eq!(v.payload_json(), w.payload_json());
        assert_eq!(format!("{:?}", v.claims()), format!("{:?}", w.claims()));
        assert_eq!(format!("{:?}", v.header()), format!("{:?}", w.header()));
        // The caller's buffer rules hold on a hit too.
        let mut small = vec![0u8; token.len() - 1];
        let e = cached.verify_into(token.as_bytes(), now, &mut small);
        assert_eq!(e.unwrap_err().code(), "too_large");
    }
    assert_eq!(cached.cache_usage().unwrap().entries, 1);
}

/// `exp`, `nbf` and `iat` are judged at each call's `now` with the policy's leeway:
/// around every boundary, in both directions (first call valid then not, and back),
/// the cached verifier gives the uncached verdict, messages included.
#[test]
fn time_claims_are_rechecked_on_every_hit() {
    let m = Minter::new();
    let (plain, cached) = verifiers(8);
    let (exp, nbf, iat) = (10_000u64, 5_000u64, 6_000u64);
    let token = m.mint(&claims(2, exp, Some(nbf), Some(iat)));
    let leeway = 30;
    let mut nows = vec![];
    for edge in [exp + leeway, nbf - leeway, iat + leeway, exp, nbf, iat] {
        nows.extend([edge - 1, edge, edge + 1]);
    }
    nows.extend([0, 1, u64::MAX]);
    // Valid first (so the entry is stored), then every time in order and reversed.
    let first = cached.verify(token.as_bytes(), 7_000);
    assert!(first.is_ok());
    let mut kinds = std::collections::BTreeSet::new();
    for now in nows.iter().chain(nows.iter().rev()) {
        let want = verdict(&plain.verify(token.as_bytes(), *now));
        assert_eq!(
            verdict(&cached.verify(token.as_bytes(), *now)),
            want,
            "{now}"
        );
        kinds.insert(want.split(' ').next().unwrap().to_string());
    }
    // Every category a time claim can give occurs, so no branch is vacuous.
    let all = ["expired", "issued_in_future", "not_yet_valid", "ok"];
    assert_eq!(kinds.into_iter().collect::<Vec<_>>(), all);
    // An expired hit stays an error and a later valid time is valid again: nothing
    // about the verdict is stored but the token's success.
    assert_eq!(
        cached
            .verify(token.as_bytes(), exp + leeway)
            .unwrap_err()
            .code(),
        "expired"
    );
    assert!(cached.verify(token.as_bytes(), exp - 1).is_ok());
    assert_eq!(cached.cache_usage().unwrap().entries, 1);
}

/// Failures are not cached: a token refused at one time and valid at another is
/// verified in full when it becomes valid; a forged one never gets in.
#[test]
fn failures_are_not_cached() {
    let m = Minter::new();
    let (_, cached) = verifiers(8);
    let token = m.mint(&claims(3, 10_000, None, None));
    assert_eq!(
        cached.verify(token.as_bytes(), 20_000).unwrap_err().code(),
        "expired"
    );
    assert_eq!(cached.cache_usage().unwrap().entries, 0);
    let mut forged = token.clone().into_bytes();
    let last = forged.len() - 2;
    forged[last] = if forged[last] == b'A' { b'B' } else { b'A' };
    for _ in 0..3 {
        let e = cached.verify(&forged, 5_000).unwrap_err();
        assert_eq!(e.code(), "bad_signature");
    }
    assert_eq!(cached.cache_usage().unwrap().entries, 0);
    assert!(cached.verify(token.as_bytes(), 5_000).is_ok());
    assert_eq!(cached.cache_usage().unwrap().entries, 1);
}

/// Every key change empties the cache: `with_keys` builds a new verifier whose cache
/// starts empty, so a token of the retired key is refused at once, not served.
#[test]
fn a_new_key_set_starts_empty() {
    let m = Minter::new();
    let (_, cached) = verifiers(8);
    let token = m.mint(&claims(4, 10_000, None, None));
    assert!(cached.verify(token.as_bytes(), 5_000).is_ok());
    assert!(cached.verify(token.as_bytes(), 5_000).is_ok());
    assert_eq!(cached.cache_usage().unwrap().entries, 1);
    let other = std::fs::read(root().join("examples/keycloak/jwks.json")).unwrap();
    let rotated = cached
        .with_keys(KeySet::from_jwks(&other).unwrap())
        .unwrap();
    assert_eq!(rotated.cache_usage().unwrap().entries, 0);
    assert_eq!(
        rotated.verify(token.as_bytes(), 5_000).unwrap_err().code(),
        "unknown_kid"
    );
    // The same keys again: verified in full, then cached in the new verifier.
    let back = rotated.with_keys(keys()).unwrap();
    assert_eq!(back.cache_usage().unwrap().entries, 0);
    assert!(back.verify(token.as_bytes(), 5_000).is_ok());
    assert_eq!(back.cache_usage().unwrap().entries, 1);
    // The old verifier is untouched (callers holding it keep their verdicts).
    assert_eq!(cached.cache_usage().unwrap().entries, 1);
}

/// A flood of distinct valid tokens evicts: never more entries than `cache_entries`,
/// never more bytes than the budget, every verdict right, and the latest tokens hit.
/// (The 100 000-token flood on the cache itself is `cache::tests::flood_stays_bounded`:
/// minting needs an RSA signature per token, about a millisecond each.)
#[test]
fn a_flood_of_distinct_tokens_stays_bounded() {
    let m = Minter::new();
    let (_, cached) = verifiers(16);
    let usage = cached.cache_usage().unwrap();
    assert_eq!(usage.max_entries, 16);
    assert_eq!(usage.max_bytes, 16 * xconnauth::CACHE_BYTES_PER_ENTRY);
    let tokens: Vec<String> = (0..600)
        .map(|n| m.mint(&claims(n, 10_000, None, None)))
        .collect();
    for (n, t) in tokens.iter().enumerate() {
        let v = cached.verify(t.as_bytes(), 5_000).unwrap();
        assert!(v.claims().sub().unwrap().eq_str(&format!("user-{n}")));
        let u = cached.cache_usage().unwrap();
        assert!(
            u.entries <= u.max_entries && u.bytes <= u.max_bytes,
            "{u:?}"
        );
    }
    let u = cached.cache_usage().unwrap();
    assert!(u.entries >= 8, "a flood fills most slots: {u:?}");
    // Every token still verifies, hit or miss, each giving its own claims.
    for (n, t) in tokens.iter().enumerate().rev() {
        let v = cached.verify(t.as_bytes(), 5_000).unwrap();
        assert!(v.claims().sub().unwrap().eq_str(&format!("user-{n}")));
    }
    // Big tokens: the byte budget binds before the entry count.
    let pad = "x".repeat(6_000);
    for n in 0..64 {
        let mut c = claims(n, 10_000, None, None);
        c["pad"] = pad.clone().into();
        let t = m.mint(&c);
        assert!(cached.verify(t.as_bytes(), 5_000).is_ok());
        let u = cached.cache_usage().unwrap();
        assert!(u.bytes <= u.max_bytes, "{u:?}");
    }
}

/// Four threads hitting the same tokens while a fifth floods the cache with new ones:
/// every verdict is right and carries its own token's claims.
#[test]
fn concurrent_hits_from_four_threads() {
    let m = Minter::new();
    let (_, cached) = verifiers(4);
    let cached = Arc::new(cached);
    let hot: Arc<Vec<String>> = Arc::new(
        (0..4)
            .map(|n| m.mint(&claims(n, 10_000, None, None)))
            .collect(),
    );
    let flood: Vec<String> = (100..160)
        .map(|n| m.mint(&claims(n, 10_000, None, None)))
        .collect();
    let mut threads = vec![];
    for t in 0..4 {
        let (v, hot) = (cached.clone(), hot.clone());
        threads.push(std::thread::spawn(move || {
            for i in 0..4_000 {
                let n = (t + i) % hot.len();
                let now = if i % 7 == 0 { 10_030 } else { 5_000 };
                match v.verify(hot[n].as_bytes(), now) {
                    Ok(ok) => {
                        assert_eq!(now, 5_000);
                        assert!(ok.claims().sub().unwrap().eq_str(&format!("user-{n}")));
                    }
                    Err(e) => assert_eq!((now, e.code()), (10_030, "expired")),
                }
            }
        }));
    }
    let v = cached.clone();
    threads.push(std::thread::spawn(move || {
        for _ in 0..5 {
            for t in &flood {
                assert!(v.verify(t.as_bytes(), 5_000).is_ok());
            }
        }
    }));
    for t in threads {
        t.join().unwrap();
    }
    let u = cached.cache_usage().unwrap();
    assert!(u.entries <= 4 && u.bytes <= u.max_bytes, "{u:?}");
}

/// Every corpus case, twice with the cache on (the second a hit when the first was
/// valid), gives exactly the verdict of the uncached verifier.
#[test]
fn the_corpus_keeps_its_verdicts_with_the_cache_on() {
    let dir = root().join("tests/vectors/dev");
    let mut cases = 0;
    let mut valid = 0;
    for file in ["cases.jsonl", "wycheproof_jwt.jsonl"] {
        let text = std::fs::read_to_string(dir.join(file)).unwrap();
        for line in text.lines().filter(|l| !l.trim().is_empty()) {
            let case: Json = serde_json::from_str(line).unwrap();
            let name = case["name"].as_str().unwrap();
            let jwks = match case.get("jwks_ref").and_then(Json::as_str) {
                Some(r) => std::fs::read(dir.join(r)).unwrap(),
                None => serde_json::to_vec(&case["jwks"]).unwrap(),
            };
            let mut policy =
                Policy::from_json(&serde_json::to_vec(&case["options"]).unwrap()).unwrap();
            let keys = KeySet::from_jwks(&jwks).unwrap();
            let plain = Verifier::new(keys.clone(), policy.clone()).unwrap();
            // A byte budget (512 KiB) above every corpus token, the raised-limit ones too.
            policy.cache_entries = 64;
            let cached = Verifier::new(keys, policy).unwrap();
            let token = case["token"].as_str().unwrap().as_bytes();
            let now = case["now"].as_u64().unwrap();
            let want = verdict(&plain.verify(token, now));
            for round in 0..2 {
                let got = verdict(&cached.verify(token, now));
                assert_eq!(got, want, "{name} round {round}");
            }
            // Other times on the hit path too.
            for later in [now.saturating_sub(100_000), now + 100_000] {
                let want = verdict(&plain.verify(token, later));
                assert_eq!(
                    verdict(&cached.verify(token, later)),
                    want,
                    "{name} {later}"
                );
            }
            let held = cached.cache_usage().unwrap().entries;
            assert_eq!(held, usize::from(want.starts_with("ok ")), "{name}");
            valid += held;
            cases += 1;
        }
    }
    assert!(cases > 400 && valid > 20, "{cases} {valid}");
}
