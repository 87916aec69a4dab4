//! DESIGN §6: splitting, base64url, JSON and claims checks allocate nothing; a full
//! verify allocates exactly what the RSA arithmetic alone allocates.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    clippy::panic
)]

use std::alloc::{GlobalAlloc, Layout, System};
use std::cell::Cell;
use std::path::Path;

use serde_json::Value as Json;
use xconnauth::dangerous::{decode_unverified, verify_signature};
use xconnauth::{Algorithm, KeySet, Policy, Verifier};

struct Counting;

thread_local! {
    static ALLOCS: Cell<usize> = const { Cell::new(0) };
}

// SAFETY: forwards to the system allocator; only counts calls on the current thread.
#[allow(unsafe_code)]
unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        let _ = ALLOCS.try_with(|c| c.set(c.get() + 1));
        // SAFETY: same contract as the caller's.
        unsafe { System.alloc(layout) }
    }
    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        // SAFETY: same contract as the caller's.
        unsafe { System.dealloc(ptr, layout) }
    }
    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        let _ = ALLOCS.try_with(|c| c.set(c.get() + 1));
        // SAFETY: same contract as the caller's.
        unsafe { System.realloc(ptr, layout, new_size) }
    }
}

#[global_allocator]
static GLOBAL: Counting = Counting;

fn allocations<R>(f: impl FnOnce() -> R) -> (usize, R) {
    let before = ALLOCS.with(Cell::get);
    let r = f();
    (ALLOCS.with(Cell::get) - before, r)
}

/// The corpus' ~8 KB Keycloak token with many roles and groups.
fn big_case() -> (Verifier, String, u64) {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../tests/vectors/dev");
    let text = std::fs::read_to_string(dir.join("cases.jsonl")).unwrap();
    let case: Json = text
        .lines()
        .map(|l| serde_json::from_str::<Json>(l).unwrap())
        .find(|c| c["name"] == "valid_many_roles_8kb")
        .unwrap();
    let jwks = std::fs::read(dir.join(case["jwks_ref"].as_str().unwrap())).unwrap();
    let mut policy = Policy::from_json(&serde_json::to_vec(&case["options"]).unwrap()).unwrap();
    // Exercise every check, with names taken from the token itself.
    let claims = &case["claims"];
    policy.required_claims = vec!["exp".into(), "sub".into(), "iat".into()];
    policy.required_scopes = claims["scope"]
        .as_str()
        .unwrap()
        .split(' ')
        .map(String::from)
        .collect();
    policy.required_realm_roles = claims["realm_access"]["roles"]
        .as_array()
        .unwrap()
        .iter()
        .rev()
        .take(20)
        .map(|r| r.as_str().unwrap().to_string())
        .collect();
    // The header `typ` (`JWT`) through the escape-free path, prefix and case folded.
    policy.header_types = Some(vec!["at+jwt".into(), "Application/jwt".into()]);
    let verifier = Verifier::new(KeySet::from_jwks(&jwks).unwrap(), policy).unwrap();
    let token = case["token"].as_str().unwrap().to_string();
    assert!(
        token.len() > 6000,
        "want a large token, got {}",
        token.len()
    );
    (verifier, token, case["now"].as_u64().unwrap())
}

#[test]
fn parsing_and_claims_checks_allocate_nothing() {
    let (verifier, token, now) = big_case();
    let mut buf = vec![0u8; token.len()];
    let (n, ()) = allocations(|| {
        let u = decode_unverified(token.as_bytes(), &mut buf).unwrap();
        let claims = u.claims().unwrap();
        verifier.check_claims(&claims, now).unwrap();
        // Failing checks build their errors without allocating too.
        assert!(verifier.check_claims(&claims, u64::MAX / 2).is_err());
        assert!(claims.realm_roles().count() > 100);
    });
    assert_eq!(n, 0, "parsing and claims checks allocated {n} times");
}

/// A `header_types` refusal (step 4, before any RSA work) allocates nothing either.
#[test]
fn header_type_refusal_allocates_nothing() {
    let (verifier, token, now) = big_case();
    let mut policy = verifier.policy().clone();
    policy.header_types = Some(vec!["at+jwt".into(), "x".repeat(100)]);
    let strict = Verifier::new(verifier_keys(), policy).unwrap();
    let mut buf = vec![0u8; token.len()];
    let (n, e) = allocations(|| {
        strict
            .verify_into(token.as_bytes(), now, &mut buf)
            .map(|_| ())
    });
    assert_eq!(e.unwrap_err().code(), "wrong_type");
    assert_eq!(n, 0, "a header_types refusal allocated {n} times");
    // `big_case` accepts `application/jwt`, which the header's `JWT` is.
    assert!(verifier
        .verify_into(token.as_bytes(), now, &mut buf)
        .is_ok());
}

fn verifier_keys() -> KeySet {
    KeySet::from_jwks(
        &std::fs::read(
            Path::new(env!("CARGO_MANIFEST_DIR")).join("../tests/vectors/dev/jwks/keycloak.json"),
        )
        .unwrap(),
    )
    .unwrap()
}

#[test]
fn full_verify_allocates_only_for_rsa() {
    let (verifier, token, now) = big_case();
    let mut buf = vec![0u8; token.len()];
    // Warm up lazily initialised state (CPU feature detection and the like).
    verifier
        .verify_into(token.as_bytes(), now, &mut buf)
        .unwrap();

    let (total, v) = allocations(|| {
        verifier
            .verify_into(token.as_bytes(), now, &mut buf)
            .map(|_| ())
    });
    v.unwrap();

    // The same RSA operation alone.
    let dot = token.rfind('.').unwrap();
    let sig = base64_decode(&token[dot + 1..]);
    let jwks = KeySet::from_jwks(
        &std::fs::read(
            Path::new(env!("CARGO_MANIFEST_DIR")).join("../tests/vectors/dev/jwks/keycloak.json"),
        )
        .unwrap(),
    )
    .unwrap();
    let rsa_only = jwks
        .iter()
        .map(|k| {
            allocations(|| verify_signature(k, Algorithm::RS256, &token.as_bytes()[..dot], &sig))
        })
        .find(|(_, ok)| *ok)
        .map(|(n, _)| n)
        .unwrap();
    assert_eq!(
        total, rsa_only,
        "verify allocated {total} times, RSA alone {rsa_only}"
    );
    println!("allocations per verify: {total} (all inside RSA arithmetic)");
}

fn base64_decode(s: &str) -> Vec<u8> {
    let alphabet = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
    let mut bits = 0u32;
    let mut nbits = 0;
    let mut out = Vec::new();
    for c in s.bytes() {
        let v = alphabet.iter().position(|&a| a == c).unwrap() as u32;
        bits = (bits << 6) | v;
        nbits += 6;
        if nbits >= 8 {
            nbits -= 8;
            out.push((bits >> nbits) as u8);
        }
    }
    out
}

/// Issue 17: the exact duplicate check of a large object (more names than the
/// validator's hash slots, or colliding hashes) works in the caller's buffer or on the
/// stack, never on the heap.
#[test]
fn a_payload_object_with_a_thousand_names_allocates_nothing() {
    use base64ct::{Base64UrlUnpadded, Encoding};
    let mut payload = String::from(r#"{"exp":2000000000"#);
    for i in 0..1000 {
        payload.push_str(&format!(",\"name{i}\":{i}"));
    }
    payload.push('}');
    let token = format!(
        "eyJhbGciOiJSUzI1NiJ9.{}.AAAA",
        Base64UrlUnpadded::encode_string(payload.as_bytes())
    );
    // With room to spare, and with exactly the token's length (the least allowed).
    for extra in [4096, 0] {
        let mut buf = vec![0u8; token.len() + extra];
        let (n, r) = allocations(|| {
            decode_unverified(token.as_bytes(), &mut buf).and_then(|u| u.claims().map(|c| c.exp()))
        });
        assert_eq!(r.unwrap(), Some(2_000_000_000));
        assert_eq!(n, 0, "the large-object check allocated {n} times");
    }
}
