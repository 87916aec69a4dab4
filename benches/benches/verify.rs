//! RS256 verification benchmarks for 2048-, 3072- and 4096-bit keys.
//!
//! Per key size, one criterion group `rs256-<bits>` with four measurements:
//!
//! * `verify_into`: [`Verifier::verify_into`] end to end, caller-provided buffer;
//! * `verify`: [`Verifier::verify`], the allocating convenience;
//! * `rsa_only`: [`xconnauth::dangerous::verify_signature`] (SHA-256 of `header.payload` + RSA PKCS#1 v1.5);
//! * `claims_only`: the non-RSA work, [`xconnauth::dangerous::decode_unverified`] +
//!   [`Unverified::claims`](xconnauth::dangerous::Unverified::claims) + [`Verifier::check_claims`].
//!
//! Keys use the pure-Rust backend ([`Backend::RustCrypto`]); `peers.rs` compares both
//! backends with other verifiers.
//!
//! Before criterion runs, a counting global allocator measures allocations per
//! operation and prints them as a table. Key sets are parsed once, outside every loop.
//!
//! `cargo bench -p xconnauth-benches -- --test` runs each measurement once (CI smoke).
//!
//! `XCONNAUTH_BENCH_CLOCK=cpu` measures this thread's CPU time
//! (`CLOCK_THREAD_CPUTIME_ID`) instead of wall-clock time: on a shared, busy machine
//! time spent descheduled then does not count. `XCONNAUTH_BENCH_BITS=2048,4096` limits
//! the key sizes (default: all three).

use std::hint::black_box;

use base64ct::{Base64UrlUnpadded, Encoding};
use criterion::measurement::Measurement;
use criterion::Criterion;
use xconnauth::dangerous::{decode_unverified, verify_signature};
use xconnauth::{Algorithm, Backend, KeySet, Policy, RsaKey, Verifier};

mod common;
use common::{allocs_per_call, config, cpu_clock_selected, read_data, ThreadCpuTime};

#[global_allocator]
static GLOBAL: common::Counting = common::Counting;

// ---------------------------------------------------------------------------------------
// Fixtures

const ISSUER: &str = "https://sso.example.com/realms/demo";
/// Unix time inside the tokens' validity (iat 1763999940, exp 4102444800).
const NOW: u64 = 1_764_000_000;

struct Fixture {
    bits: u32,
    token: Vec<u8>,
    verifier: Verifier,
    key: RsaKey,
    /// Length of `header.payload`, the signed octets at the front of `token`.
    signing_input_len: usize,
    signature: Vec<u8>,
}

impl Fixture {
    fn signing_input(&self) -> &[u8] {
        &self.token[..self.signing_input_len]
    }
}

/// The same policy as `examples/keycloak/policy.json`: every claim check does work.
fn policy() -> Policy {
    let mut p = Policy::new([ISSUER]);
    p.audiences = Some(vec!["product-factory".into()]);
    p.algorithms = vec![Algorithm::RS256];
    p.required_scopes = vec!["openid".into(), "spark".into()];
    p.required_client_roles
        .insert("product-factory".into(), vec!["reader".into()]);
    p.required_claims = vec!["exp".into(), "sub".into()];
    p
}

fn load(bits: u32) -> Fixture {
    let jwks = read_data(&format!("jwks-{bits}.json"));
    let token = read_data(&format!("token-{bits}.jwt"));

    // The pure-Rust backend, named: this crate enables core's `aws-lc` feature for
    // peers.rs, which makes aws-lc the default. peers.rs measures both backends.
    let keys = KeySet::from_jwks_with(&jwks, Backend::RustCrypto).expect("JWKS parses");
    let key = keys.iter().next().expect("one key").clone();
    assert_eq!(key.bits(), bits);
    assert_eq!(key.kid(), Some(format!("bench-{bits}").as_str()));
    let verifier = Verifier::new(keys, policy()).expect("verifier builds");

    let dot = token
        .iter()
        .rposition(|&b| b == b'.')
        .expect("three segments");
    let mut signature = vec![0u8; token.len() - dot];
    let sig_len = Base64UrlUnpadded::decode(&token[dot + 1..], &mut signature)
        .expect("signature is base64url")
        .len();
    signature.truncate(sig_len);

    let f = Fixture {
        bits,
        token,
        verifier,
        key,
        signing_input_len: dot,
        signature,
    };
    sanity_check(&f);
    f
}

/// Every measured path must be the success path, and a bad signature must fail.
fn sanity_check(f: &Fixture) {
    let mut buf = vec![0u8; f.token.len()];
    let v = f
        .verifier
        .verify_into(&f.token, NOW, &mut buf)
        .expect("verify_into accepts the token");
    assert_eq!(
        v.claims().iss().map(|s| s.to_string()).as_deref(),
        Some(ISSUER)
    );
    f.verifier.verify(&f.token, NOW).expect("verify accepts");
    assert!(verify_signature(
        &f.key,
        Algorithm::RS256,
        f.signing_input(),
        &f.signature
    ));
    let mut bad = f.signature.clone();
    let mid = bad.len() / 2;
    bad[mid] ^= 1;
    assert!(!verify_signature(
        &f.key,
        Algorithm::RS256,
        f.signing_input(),
        &bad
    ));
    claims_only(f, &mut buf);
}

// ---------------------------------------------------------------------------------------
// The measured operations

#[inline(never)] // one symbol per operation, for profilers
fn verify_into(f: &Fixture, buf: &mut [u8]) -> bool {
    f.verifier
        .verify_into(black_box(&f.token), NOW, buf)
        .is_ok_and(|v| black_box(v).payload_json().len() > 2)
}

#[inline(never)] // one symbol per operation, for profilers
fn verify(f: &Fixture) -> bool {
    f.verifier
        .verify(black_box(&f.token), NOW)
        .is_ok_and(|v| black_box(v).payload_json().len() > 2)
}

#[inline(never)] // one symbol per operation, for profilers
fn rsa_only(f: &Fixture) -> bool {
    verify_signature(
        &f.key,
        Algorithm::RS256,
        black_box(f.signing_input()),
        black_box(&f.signature),
    )
}

/// Everything except the signature: split + base64url + strict JSON of header and
/// payload, claim typing, then the policy's claim checks.
#[inline(never)] // one symbol per operation, for profilers
fn claims_only(f: &Fixture, buf: &mut [u8]) {
    let u = decode_unverified(black_box(&f.token), buf).expect("decodes");
    let claims = u.claims().expect("claims parse");
    f.verifier
        .check_claims(&claims, NOW)
        .expect("claims pass the policy");
}

// ---------------------------------------------------------------------------------------

fn print_alloc_table(fixtures: &[Fixture]) {
    const RUNS: u32 = 20;
    println!();
    println!("Allocations per operation (counting global allocator, alloc+alloc_zeroed+realloc calls; bytes requested):");
    println!();
    println!("| key bits | verify_into allocs | verify_into bytes | raw RSA allocs | raw RSA bytes | verify allocs | verify bytes | claims_only allocs |");
    println!("|---:|---:|---:|---:|---:|---:|---:|---:|");
    for f in fixtures {
        let mut buf = vec![0u8; f.token.len()];
        let (vi_n, vi_b) = allocs_per_call(RUNS, || verify_into(f, &mut buf));
        let (rsa_n, rsa_b) = allocs_per_call(RUNS, || rsa_only(f));
        let (v_n, v_b) = allocs_per_call(RUNS, || verify(f));
        let (c_n, _) = allocs_per_call(RUNS, || claims_only(f, &mut buf));
        println!(
            "| {} | {vi_n} | {vi_b} | {rsa_n} | {rsa_b} | {v_n} | {v_b} | {c_n} |",
            f.bits
        );
    }
    println!();
}

// ---------------------------------------------------------------------------------------

fn main() {
    let fixtures: Vec<Fixture> = common::selected_sizes().into_iter().map(load).collect();
    print_alloc_table(&fixtures);

    if cpu_clock_selected() {
        println!("Clock: thread CPU time (XCONNAUTH_BENCH_CLOCK=cpu)\n");
        run(
            &mut config(Criterion::default().with_measurement(ThreadCpuTime)),
            &fixtures,
        );
    } else {
        run(&mut config(Criterion::default()), &fixtures);
    }
}

fn run<M: Measurement>(c: &mut Criterion<M>, fixtures: &[Fixture]) {
    for f in fixtures {
        let mut g = c.benchmark_group(format!("rs256-{}", f.bits));
        let mut buf = vec![0u8; f.token.len()];
        g.bench_function("verify_into", |b| b.iter(|| verify_into(f, &mut buf)));
        g.bench_function("verify", |b| b.iter(|| verify(f)));
        g.bench_function("rsa_only", |b| b.iter(|| rsa_only(f)));
        g.bench_function("claims_only", |b| b.iter(|| claims_only(f, &mut buf)));
        g.finish();
    }
    c.final_summary();
}
