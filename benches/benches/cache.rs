//! The verified-token cache (`cache_entries`, issue 19): a repeated token against the
//! same token verified in full, RS256-2048, the Keycloak-shaped bench token and the
//! policy of `verify.rs`.
//!
//! One criterion group, `cache-rs256-2048`:
//!
//! * `verify_uncached`: [`Verifier::verify`] with the cache off (default backend:
//!   aws-lc here, as this crate enables it; the pure-Rust road is in `verify.rs`);
//! * `verify_hit`: [`Verifier::verify`] of a token already in the cache (owned result:
//!   one allocation and a copy of the decoded JSON);
//! * `verify_into_hit`: [`Verifier::verify_into`] of a cached token into the caller's
//!   buffer (no allocation);
//! * `verify_hit_claims`: `verify_hit`, then `sub`, `scope` and a client role read from
//!   the result (parse once: the accessors do not re-validate the JSON).
//!
//! Goal (issue 19): a repeated token ≤ 1 µs. Before criterion runs, a counting global
//! allocator prints allocations per operation.
//!
//! `cargo bench -p xconnauth-benches --bench cache -- --measurement-time 3`

use std::hint::black_box;

use criterion::Criterion;
use xconnauth::{KeySet, Policy, Verifier};

// Only the allocator, `allocs_per_call`, `config` and `read_data` are needed here.
#[allow(dead_code)]
mod common;
use common::{allocs_per_call, config, read_data};

#[global_allocator]
static GLOBAL: common::Counting = common::Counting;

const ISSUER: &str = "https://sso.example.com/realms/demo";
/// Unix time inside the token's validity (iat 1763999940, exp 4102444800).
const NOW: u64 = 1_764_000_000;

/// The policy of `verify.rs` (and `examples/keycloak/policy.json`).
fn policy(cache_entries: usize) -> Policy {
    let mut p = Policy::new([ISSUER]);
    p.audiences = Some(vec!["product-factory".into()]);
    p.required_scopes = vec!["openid".into(), "spark".into()];
    p.required_client_roles
        .insert("product-factory".into(), vec!["reader".into()]);
    p.required_claims = vec!["exp".into(), "sub".into()];
    p.cache_entries = cache_entries;
    p
}

#[inline(never)] // one symbol per operation, for profilers
fn verify(v: &Verifier, token: &[u8]) -> bool {
    v.verify(black_box(token), NOW)
        .is_ok_and(|t| black_box(t).payload_json().len() > 2)
}

#[inline(never)] // one symbol per operation, for profilers
fn verify_into(v: &Verifier, token: &[u8], buf: &mut [u8]) -> bool {
    v.verify_into(black_box(token), NOW, buf)
        .is_ok_and(|t| black_box(t).payload_json().len() > 2)
}

#[inline(never)] // one symbol per operation, for profilers
fn verify_claims(v: &Verifier, token: &[u8]) -> bool {
    v.verify(black_box(token), NOW).is_ok_and(|t| {
        let c = t.claims();
        black_box(c.sub()).is_some()
            && black_box(c.scope()).is_some()
            && c.has_client_role("product-factory", "reader")
    })
}

fn main() {
    let jwks = read_data("jwks-2048.json");
    let token = read_data("token-2048.jwt");
    let keys = KeySet::from_jwks(&jwks).expect("JWKS parses");
    let plain = Verifier::new(keys.clone(), policy(0)).expect("verifier builds");
    let cached = Verifier::new(keys, policy(1024)).expect("verifier builds");
    let mut buf = vec![0u8; token.len()];
    // Every measured path is the success path, and the cached ones are hits.
    assert!(verify(&plain, &token) && verify(&cached, &token));
    assert_eq!(cached.cache_usage().map(|u| u.entries), Some(1));
    assert!(verify_into(&cached, &token, &mut buf) && verify_claims(&cached, &token));
    let expired = cached.verify(&token, 4_102_444_800 + 30);
    assert_eq!(expired.map(|_| ()).unwrap_err().code(), "expired");

    println!();
    println!("Allocations per operation (counting global allocator):");
    println!();
    println!("| operation | allocs | bytes |");
    println!("|---|---:|---:|");
    let rows: [(&str, (f64, f64)); 4] = [
        (
            "verify_uncached",
            allocs_per_call(20, || verify(&plain, &token)),
        ),
        (
            "verify_hit",
            allocs_per_call(20, || verify(&cached, &token)),
        ),
        (
            "verify_into_hit",
            allocs_per_call(20, || verify_into(&cached, &token, &mut buf)),
        ),
        (
            "verify_hit_claims",
            allocs_per_call(20, || verify_claims(&cached, &token)),
        ),
    ];
    for (name, (n, b)) in rows {
        println!("| {name} | {n} | {b} |");
    }
    println!();

    let mut c = config(Criterion::default());
    let mut g = c.benchmark_group("cache-rs256-2048");
    g.bench_function("verify_uncached", |b| b.iter(|| verify(&plain, &token)));
    g.bench_function("verify_hit", |b| b.iter(|| verify(&cached, &token)));
    g.bench_function("verify_into_hit", |b| {
        b.iter(|| verify_into(&cached, &token, &mut buf))
    });
    g.bench_function("verify_hit_claims", |b| {
        b.iter(|| verify_claims(&cached, &token))
    });
    g.finish();
    c.final_summary();
}
