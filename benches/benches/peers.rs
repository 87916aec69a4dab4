//! xconnauth next to other Rust JWT verifiers, in one criterion run.
//!
//! Same token, same keys, same policy for everyone: the RS256 Keycloak-style tokens of
//! `data/` and the policy of `examples/keycloak/policy.json`, each peer configured as
//! close to it as its API allows (benches/README.md lists what each one cannot check).
//! Keys are parsed once, outside every timed loop.
//!
//! Groups, per key size `<bits>`:
//!
//! * `peers-<bits>`: one end-to-end verification per iteration for every
//!   implementation in [`PEERS`], plus the two raw signature checks (SHA-256 of
//!   `header.payload` + RSA, key pre-parsed) that bound the backends from below;
//! * `cabi-<bits>`: `xca_verify` through the exported C function against the core
//!   API doing the same work (claims JSON copied into a caller buffer);
//! * `threads-2048`: verifications per second with 1, 2 and 4 threads sharing one
//!   verifier (wall time; 2048-bit keys only);
//!
//! and, before criterion, interleaved rounds (see [`interleaved`]): the ratios that
//! stay meaningful on a machine whose speed changes under other load.
//!
//! Before criterion runs, the counting global allocator measures allocations per
//! verification for every operation and prints them as a table.
//!
//! `cargo bench -p xconnauth-benches --bench peers -- --test` runs each measurement
//! once. `XCONNAUTH_BENCH_BITS` and `XCONNAUTH_BENCH_CLOCK` work as in `verify.rs`
//! (the thread groups always use wall time: CPU time of one thread says nothing about
//! throughput).

use std::collections::HashMap;
use std::hint::black_box;
use std::ptr::NonNull;
use std::sync::atomic::{AtomicBool, Ordering::Relaxed};
use std::sync::Barrier;
use std::time::{Duration, Instant};

use base64ct::{Base64UrlUnpadded, Encoding};
use criterion::measurement::{Measurement, WallTime};
use criterion::{Criterion, Throughput};
use serde::Deserialize;
use xconnauth::{Backend, KeySet, Policy, Verifier};

mod common;
use common::{allocs_per_call, config, cpu_clock_selected, read_data, ThreadCpuTime};

#[global_allocator]
static GLOBAL: common::Counting = common::Counting;

// ---------------------------------------------------------------------------------------
// The policy, and what the peers are told of it

const POLICY_JSON: &[u8] = include_bytes!("../../examples/keycloak/policy.json");
const ISSUER: &str = "https://sso.example.com/realms/demo";
const AUDIENCE: &str = "product-factory";
const LEEWAY_SECS: u64 = 30;
/// Unix time inside the tokens' validity (iat 1763999940, exp 4102444800).
const NOW: u64 = 1_764_000_000;

/// The Keycloak claims the JWT libraries do not check themselves; every peer
/// deserializes them and [`keycloak_rules`] checks them, as an application would.
#[derive(Deserialize)]
struct KeycloakExtra {
    typ: String,
    scope: String,
    resource_access: HashMap<String, Roles>,
}

#[derive(Deserialize)]
struct Roles {
    roles: Vec<String>,
}

/// The policy's `token_type`, `required_scopes` and `required_client_roles`.
fn keycloak_rules(typ: &str, scope: &str, access: &HashMap<String, Roles>) -> bool {
    let has_scope = |s: &str| scope.split(' ').any(|x| x == s);
    typ == "Bearer"
        && has_scope("openid")
        && has_scope("spark")
        && access
            .get(AUDIENCE)
            .is_some_and(|r| r.roles.iter().any(|x| x == "reader"))
}

impl KeycloakExtra {
    fn passes(&self) -> bool {
        keycloak_rules(&self.typ, &self.scope, &self.resource_access)
    }
}

// ---------------------------------------------------------------------------------------
// jsonwebtoken: both backends in one build

/// jsonwebtoken 10 picks its backend from a process-wide `CryptoProvider`, installable
/// once. The one installed here forwards each verifier to the backend chosen by this
/// flag, so both backends run in one binary from one copy of the crate. The flag is
/// set before each measurement, never inside a timed loop.
static JWT_RUST_CRYPTO: AtomicBool = AtomicBool::new(false);

fn jwt_verifier(
    alg: &jsonwebtoken::Algorithm,
    key: &jsonwebtoken::DecodingKey,
) -> jsonwebtoken::errors::Result<Box<dyn jsonwebtoken::crypto::JwtVerifier>> {
    use jsonwebtoken::crypto::{aws_lc, rust_crypto};
    if JWT_RUST_CRYPTO.load(Relaxed) {
        (rust_crypto::DEFAULT_PROVIDER.verifier_factory)(alg, key)
    } else {
        (aws_lc::DEFAULT_PROVIDER.verifier_factory)(alg, key)
    }
}

fn install_jwt_provider() {
    let mut provider = jsonwebtoken::crypto::aws_lc::DEFAULT_PROVIDER.clone();
    provider.verifier_factory = jwt_verifier;
    // Leaked once: the provider must be 'static.
    let provider: &'static _ = Box::leak(Box::new(provider));
    if provider.install_default().is_err() {
        panic!("a jsonwebtoken CryptoProvider was installed already");
    }
}

// ---------------------------------------------------------------------------------------
// jwt-compact: only exp/nbf are built in, so iss/aud/sub are part of the claims type

#[derive(Deserialize)]
#[serde(untagged)]
enum OneOrMany {
    One(String),
    Many(Vec<String>),
}

#[derive(Deserialize)]
struct CompactClaims {
    iss: String,
    aud: OneOrMany,
    // Only required, as `required_claims` asks.
    #[allow(dead_code)]
    sub: String,
    typ: String,
    scope: String,
    resource_access: HashMap<String, Roles>,
}

// ---------------------------------------------------------------------------------------
// The C ABI handle

/// An `xca_verifier *` from `xca_verifier_new`.
struct CHandle(NonNull<xca::xca_verifier>);

// SAFETY: the C API documents `xca_verify` as callable from any number of threads on
// one handle; only `xca_verifier_free` (in Drop, with `&mut self`) needs exclusivity.
unsafe impl Sync for CHandle {}
// SAFETY: as above; the handle is a heap object not tied to the creating thread.
unsafe impl Send for CHandle {}

impl Drop for CHandle {
    fn drop(&mut self) {
        xca::xca_verifier_free(self.0.as_ptr());
    }
}

// ---------------------------------------------------------------------------------------
// Fixtures

struct Fixture {
    bits: u32,
    token: Vec<u8>,
    token_str: String,
    /// Length of `header.payload`, the signed octets at the front of `token`.
    signing_input_len: usize,
    signature: Vec<u8>,

    xca_rust: Verifier,
    xca_aws: Verifier,
    /// `KeySet::from_jwks` (the default backend) + `Policy::from_json`: exactly what
    /// `xca_verifier_new` builds, for the C ABI comparison.
    core_default: Verifier,
    c_handle: CHandle,

    jwt_key: jsonwebtoken::DecodingKey,
    jwt_validation: jsonwebtoken::Validation,
    compact_key: jwt_compact::alg::RsaPublicKey,
    compact_time: jwt_compact::TimeOptions<Box<dyn Fn() -> chrono::DateTime<chrono::Utc> + Sync>>,
    simple_key: jwt_simple::algorithms::RS256PublicKey,
    simple_options: jwt_simple::common::VerificationOptions,
    raw_rsa: rsa::RsaPublicKey,
    raw_aws: aws_lc_rs::signature::ParsedPublicKey,
}

impl Fixture {
    fn signing_input(&self) -> &[u8] {
        &self.token[..self.signing_input_len]
    }
}

#[derive(Deserialize)]
struct Jwks {
    keys: Vec<Jwk>,
}

#[derive(Deserialize)]
struct Jwk {
    n: String,
    e: String,
}

fn b64url(s: &str) -> Vec<u8> {
    Base64UrlUnpadded::decode_vec(s).expect("base64url")
}

fn load(bits: u32) -> Fixture {
    let jwks = read_data(&format!("jwks-{bits}.json"));
    let token = read_data(&format!("token-{bits}.jwt"));
    let token_str = String::from_utf8(token.clone()).expect("token is ASCII");
    let policy = Policy::from_json(POLICY_JSON).expect("policy parses");
    assert_eq!(policy.issuers, [ISSUER]);
    assert_eq!(policy.leeway, LEEWAY_SECS);

    let verifier = |backend| {
        let keys = KeySet::from_jwks_with(&jwks, backend).expect("JWKS parses");
        Verifier::new(keys, policy.clone()).expect("verifier builds")
    };
    let xca_rust = verifier(Backend::RustCrypto);
    let xca_aws = verifier(Backend::AwsLc);
    let core_default = Verifier::new(
        KeySet::from_jwks(&jwks).expect("JWKS parses"),
        policy.clone(),
    )
    .expect("verifier builds");

    let mut handle = std::ptr::null_mut();
    let status = xca::xca_verifier_new(
        jwks.as_ptr(),
        jwks.len(),
        POLICY_JSON.as_ptr(),
        POLICY_JSON.len(),
        &mut handle,
    );
    assert_eq!(status, xca::XCA_OK, "xca_verifier_new");
    let c_handle = CHandle(NonNull::new(handle).expect("handle"));

    let dot = token
        .iter()
        .rposition(|&b| b == b'.')
        .expect("three segments");
    let signature = b64url(&token_str[dot + 1..]);

    let parsed: Jwks = serde_json::from_slice(&jwks).expect("JWKS JSON");
    let (n, e) = (b64url(&parsed.keys[0].n), b64url(&parsed.keys[0].e));

    let jwk_set: jsonwebtoken::jwk::JwkSet = serde_json::from_slice(&jwks).expect("JWKS");
    let jwt_key = jsonwebtoken::DecodingKey::from_jwk(&jwk_set.keys[0]).expect("jwt key");
    let mut jwt_validation = jsonwebtoken::Validation::new(jsonwebtoken::Algorithm::RS256);
    jwt_validation.set_issuer(&[ISSUER]);
    jwt_validation.set_audience(&[AUDIENCE]);
    jwt_validation.set_required_spec_claims(&["exp", "sub", "iss", "aud"]);
    jwt_validation.leeway = LEEWAY_SECS;

    let compact_jwk: jwt_compact::jwk::JsonWebKey<'_> =
        serde_json::from_slice(&jwks_first_key(&jwks)).expect("jwt-compact JWK");
    let compact_key =
        jwt_compact::alg::RsaPublicKey::try_from(&compact_jwk).expect("jwt-compact key");
    let now = chrono::DateTime::from_timestamp(NOW as i64, 0).expect("NOW");
    let compact_time = jwt_compact::TimeOptions::new(
        chrono::Duration::seconds(LEEWAY_SECS as i64),
        Box::new(move || now) as Box<dyn Fn() -> _ + Sync>,
    );

    let simple_key =
        jwt_simple::algorithms::RS256PublicKey::from_components(&n, &e).expect("jwt-simple key");
    let simple_options = jwt_simple::common::VerificationOptions {
        allowed_issuers: Some([ISSUER.to_string()].into()),
        allowed_audiences: Some([AUDIENCE.to_string()].into()),
        time_tolerance: Some(jwt_simple::prelude::Duration::from_secs(LEEWAY_SECS)),
        artificial_time: Some(jwt_simple::prelude::UnixTimeStamp::from_secs(NOW)),
        ..Default::default()
    };

    let raw_rsa = {
        use rsa::BoxedUint;
        let precision = u32::try_from(n.len() * 8).expect("size");
        let n = BoxedUint::from_be_slice(&n, precision).expect("n");
        let e = BoxedUint::from_be_slice(&e, 64).expect("e");
        rsa::RsaPublicKey::new(n, e).expect("rsa key")
    };
    let raw_aws = aws_lc_rs::signature::RsaPublicKeyComponents { n: &n, e: &e }
        .to_parsed_public_key(&aws_lc_rs::signature::RSA_PKCS1_2048_8192_SHA256)
        .expect("aws-lc key");

    Fixture {
        bits,
        token,
        token_str,
        signing_input_len: dot,
        signature,
        xca_rust,
        xca_aws,
        core_default,
        c_handle,
        jwt_key,
        jwt_validation,
        compact_key,
        compact_time,
        simple_key,
        simple_options,
        raw_rsa,
        raw_aws,
    }
}

/// The JSON text of the JWKS's first key (jwt-compact parses a single JWK).
fn jwks_first_key(jwks: &[u8]) -> Vec<u8> {
    let doc: serde_json::Value = serde_json::from_slice(jwks).expect("JWKS JSON");
    serde_json::to_vec(&doc["keys"][0]).expect("re-encode")
}

/// Every measured operation must succeed on the fixture, and fail once a signature
/// bit is flipped (so nobody is timed skipping the signature).
fn sanity_check(f: &Fixture) {
    let mut s = Scratch::new(f);
    for op in PEERS.iter().chain(CABI) {
        op.select();
        assert!(
            (op.run)(f, &mut s),
            "{} accepts the {}-bit token",
            op.name,
            f.bits
        );
    }
    let mut bad = load(f.bits);
    let mut token = bad.token_str.into_bytes();
    // Mid-signature: the last base64url character may carry only padding bits.
    let at = (f.signing_input_len + token.len()) / 2;
    token[at] = if token[at] == b'A' { b'B' } else { b'A' };
    bad.token_str = String::from_utf8(token.clone()).expect("ASCII");
    bad.signature = b64url(&bad.token_str[f.signing_input_len + 1..]);
    bad.token = token;
    for op in PEERS.iter().chain(CABI) {
        op.select();
        assert!(
            !(op.run)(&bad, &mut s),
            "{} rejects a bad signature",
            op.name
        );
    }
}

// ---------------------------------------------------------------------------------------
// The measured operations

/// Per-thread buffers, allocated outside the timed loops.
struct Scratch {
    /// `verify_into`'s decode buffer: the token's length.
    decode: Vec<u8>,
    /// The caller's claims buffer of the C ABI comparison.
    claims: Vec<u8>,
}

impl Scratch {
    fn new(f: &Fixture) -> Scratch {
        Scratch {
            decode: vec![0; f.token.len()],
            claims: vec![0; f.token.len()],
        }
    }
}

struct Op {
    name: &'static str,
    run: fn(&Fixture, &mut Scratch) -> bool,
    /// jsonwebtoken's backend for this operation, if it uses jsonwebtoken.
    jwt_rust_crypto: Option<bool>,
}

impl Op {
    fn select(&self) {
        if let Some(rc) = self.jwt_rust_crypto {
            JWT_RUST_CRYPTO.store(rc, Relaxed);
        }
    }
}

const fn op(name: &'static str, run: fn(&Fixture, &mut Scratch) -> bool) -> Op {
    Op {
        name,
        run,
        jwt_rust_crypto: None,
    }
}

/// The `peers-<bits>` group, in the order of the README table.
const PEERS: &[Op] = &[
    op("xconnauth-aws-lc", xconnauth_aws),
    op("xconnauth-rust", xconnauth_rust),
    Op {
        jwt_rust_crypto: Some(false),
        ..op("jsonwebtoken-aws-lc", jsonwebtoken_aws)
    },
    Op {
        jwt_rust_crypto: Some(true),
        ..op("jsonwebtoken-rust-crypto", jsonwebtoken_rust_crypto)
    },
    op("jwt-compact", jwt_compact),
    op("jwt-simple", jwt_simple),
    op("raw-aws-lc", raw_aws_lc),
    op("raw-rsa", raw_rsa),
];

/// The `cabi-<bits>` group.
const CABI: &[Op] = &[
    op("xca_verify", c_abi),
    op("xca_verify-verdict", c_abi_verdict),
    op("core-verify-copy", core_verify_copy),
    op("core-verify_into-copy", core_verify_into_copy),
];

#[inline(never)] // one symbol per operation, for profilers
fn xconnauth_aws(f: &Fixture, s: &mut Scratch) -> bool {
    f.xca_aws
        .verify_into(black_box(&f.token), NOW, &mut s.decode)
        .is_ok_and(|v| black_box(v).payload_json().len() > 2)
}

#[inline(never)] // one symbol per operation, for profilers
fn xconnauth_rust(f: &Fixture, s: &mut Scratch) -> bool {
    f.xca_rust
        .verify_into(black_box(&f.token), NOW, &mut s.decode)
        .is_ok_and(|v| black_box(v).payload_json().len() > 2)
}

#[inline(never)] // one symbol per operation, for profilers
fn jsonwebtoken_aws(f: &Fixture, s: &mut Scratch) -> bool {
    // The tag keeps the two wrappers from being folded into one symbol.
    jsonwebtoken(f, s, black_box(0))
}

#[inline(never)] // one symbol per operation, for profilers
fn jsonwebtoken_rust_crypto(f: &Fixture, s: &mut Scratch) -> bool {
    jsonwebtoken(f, s, black_box(1))
}

/// The backend is whichever [`Op::select`] chose.
#[inline(always)]
fn jsonwebtoken(f: &Fixture, _: &mut Scratch, _tag: u8) -> bool {
    jsonwebtoken::decode::<KeycloakExtra>(black_box(&f.token), &f.jwt_key, &f.jwt_validation)
        .is_ok_and(|t| black_box(t).claims.passes())
}

#[inline(never)] // one symbol per operation, for profilers
fn jwt_compact(f: &Fixture, _: &mut Scratch) -> bool {
    use jwt_compact::AlgorithmExt as _;
    let Ok(untrusted) = jwt_compact::UntrustedToken::new(black_box(&f.token_str)) else {
        return false;
    };
    let Ok(token) = jwt_compact::alg::Rsa::rs256()
        .validator::<CompactClaims>(&f.compact_key)
        .validate(&untrusted)
    else {
        return false;
    };
    let token = black_box(token);
    let claims = token.claims();
    let c = &claims.custom;
    let aud_ok = match &c.aud {
        OneOrMany::One(a) => a == AUDIENCE,
        OneOrMany::Many(list) => list.iter().any(|a| a == AUDIENCE),
    };
    // validate_expiration fails without `exp`, as required_claims asks; `nbf` is
    // optional but checked when present.
    claims.validate_expiration(&f.compact_time).is_ok()
        && (claims.not_before.is_none() || claims.validate_maturity(&f.compact_time).is_ok())
        && c.iss == ISSUER
        && aud_ok
        && keycloak_rules(&c.typ, &c.scope, &c.resource_access)
}

#[inline(never)] // one symbol per operation, for profilers
fn jwt_simple(f: &Fixture, _: &mut Scratch) -> bool {
    use jwt_simple::algorithms::RSAPublicKeyLike as _;
    // The API takes the options by value.
    f.simple_key
        .verify_token::<KeycloakExtra>(black_box(&f.token_str), Some(f.simple_options.clone()))
        .is_ok_and(|c| {
            let c = black_box(c);
            c.subject.is_some() && c.expires_at.is_some() && c.custom.passes()
        })
}

#[inline(never)] // one symbol per operation, for profilers
fn raw_aws_lc(f: &Fixture, _: &mut Scratch) -> bool {
    f.raw_aws
        .verify_sig(black_box(f.signing_input()), black_box(&f.signature))
        .is_ok()
}

#[inline(never)] // one symbol per operation, for profilers
fn raw_rsa(f: &Fixture, _: &mut Scratch) -> bool {
    use rsa::pkcs1v15::Pkcs1v15Sign;
    use sha2::{Digest, Sha256};
    let digest = Sha256::digest(black_box(f.signing_input()));
    f.raw_rsa
        .verify(
            Pkcs1v15Sign::new::<Sha256>(),
            &digest,
            black_box(&f.signature),
        )
        .is_ok()
}

#[inline(never)] // one symbol per operation, for profilers
fn c_abi(f: &Fixture, s: &mut Scratch) -> bool {
    let token = black_box(&f.token);
    let mut len = 0usize;
    let status = xca::xca_verify(
        f.c_handle.0.as_ptr(),
        token.as_ptr(),
        token.len(),
        NOW as i64,
        s.claims.as_mut_ptr(),
        s.claims.len(),
        &mut len,
    );
    status == xca::XCA_OK && black_box(len) > 2
}

/// `xca_verify` asked for the verdict only (NULL, 0, NULL): what a proxy calls.
#[inline(never)] // one symbol per operation, for profilers
fn c_abi_verdict(f: &Fixture, _: &mut Scratch) -> bool {
    let token = black_box(&f.token);
    let status = xca::xca_verify(
        f.c_handle.0.as_ptr(),
        token.as_ptr(),
        token.len(),
        NOW as i64,
        std::ptr::null_mut(),
        0,
        std::ptr::null_mut(),
    );
    status == xca::XCA_OK
}

/// What `xca_verify` does inside, minus the C ABI layer: `verify`, then the payload
/// copied into the caller's buffer.
#[inline(never)] // one symbol per operation, for profilers
fn core_verify_copy(f: &Fixture, s: &mut Scratch) -> bool {
    let Ok(v) = f.core_default.verify(black_box(&f.token), NOW) else {
        return false;
    };
    copy_out(v.payload_json().as_bytes(), &mut s.claims)
}

/// The allocation-free core path, payload then copied to the caller's buffer.
#[inline(never)] // one symbol per operation, for profilers
fn core_verify_into_copy(f: &Fixture, s: &mut Scratch) -> bool {
    let Ok(v) = f
        .core_default
        .verify_into(black_box(&f.token), NOW, &mut s.decode)
    else {
        return false;
    };
    copy_out(v.payload_json().as_bytes(), &mut s.claims)
}

fn copy_out(payload: &[u8], out: &mut [u8]) -> bool {
    match out.get_mut(..payload.len()) {
        Some(dst) => {
            dst.copy_from_slice(payload);
            black_box(payload.len()) > 2
        }
        None => false,
    }
}

// ---------------------------------------------------------------------------------------

// aws-lc allocates with C `malloc`, which the Rust global allocator never sees. Its
// `CRYPTO_set_mem_functions` hook sees those calls, but only if set before aws-lc's
// first allocation, and it replaces the default free path (which zeroizes): so the
// table is made by a child process with the hook installed, and the timed process
// keeps aws-lc's default allocator.
mod c_allocs {
    use std::ffi::{c_char, c_int, c_void};
    use std::sync::atomic::{AtomicU64, Ordering::Relaxed};

    static CALLS: AtomicU64 = AtomicU64::new(0);
    static BYTES: AtomicU64 = AtomicU64::new(0);

    unsafe extern "C" fn malloc(size: usize, _: *const c_char, _: c_int) -> *mut c_void {
        CALLS.fetch_add(1, Relaxed);
        BYTES.fetch_add(size as u64, Relaxed);
        // SAFETY: plain libc malloc; aws-lc frees the result through `free` below.
        unsafe { libc::malloc(size) }
    }

    unsafe extern "C" fn realloc(
        ptr: *mut c_void,
        size: usize,
        _: *const c_char,
        _: c_int,
    ) -> *mut c_void {
        CALLS.fetch_add(1, Relaxed);
        BYTES.fetch_add(size as u64, Relaxed);
        // SAFETY: `ptr` is NULL or came from `malloc`/`realloc` above.
        unsafe { libc::realloc(ptr, size) }
    }

    unsafe extern "C" fn free(ptr: *mut c_void, _: *const c_char, _: c_int) {
        // SAFETY: `ptr` is NULL or came from `malloc`/`realloc` above.
        unsafe { libc::free(ptr) }
    }

    /// As [`crate::allocs_per_call`], for aws-lc's allocations.
    pub(crate) fn per_call<R>(runs: u32, mut f: impl FnMut() -> R) -> (f64, f64) {
        std::hint::black_box(f());
        let (c0, b0) = (CALLS.load(Relaxed), BYTES.load(Relaxed));
        for _ in 0..runs {
            std::hint::black_box(f());
        }
        let (c1, b1) = (CALLS.load(Relaxed), BYTES.load(Relaxed));
        let n = f64::from(runs);
        ((c1 - c0) as f64 / n, (b1 - b0) as f64 / n)
    }

    /// Routes aws-lc's allocations through the counters; `false` if aws-lc refused.
    pub(crate) fn install() -> bool {
        // SAFETY: called first thing in the process, before aws-lc allocates anything;
        // the three functions are a consistent malloc/realloc/free family.
        unsafe {
            aws_lc_sys::CRYPTO_set_mem_functions(Some(malloc), Some(realloc), Some(free)) == 1
        }
    }
}

/// Child-process mode of the allocation table.
const ALLOC_TABLE_ENV: &str = "XCONNAUTH_BENCH_ALLOC_TABLE";

/// Prints the allocation table from a child process with aws-lc's allocation hook
/// installed (see [`c_allocs`]), or from this one (without C counts) if that fails.
fn alloc_table_via_child() {
    let child = std::env::current_exe().and_then(|exe| {
        std::process::Command::new(exe)
            .env(ALLOC_TABLE_ENV, "1")
            .stdin(std::process::Stdio::null())
            .status()
    });
    match child {
        Ok(status) if status.success() => {}
        other => {
            println!("(allocation table child failed: {other:?}; Rust allocations only)");
            let fixtures: Vec<Fixture> = common::selected_sizes().into_iter().map(load).collect();
            print_alloc_table(&fixtures, false);
        }
    }
}

/// Rust (global allocator) and, with `c_counted`, C (aws-lc) allocation calls and bytes
/// per verification.
fn print_alloc_table(fixtures: &[Fixture], c_counted: bool) {
    const RUNS: u32 = 20;
    println!();
    println!(
        "Allocations per verification: Rust = counting global allocator (alloc, alloc_zeroed, realloc calls / bytes requested); C = aws-lc's OPENSSL_malloc/realloc{}",
        if c_counted { "" } else { " (not counted in this run)" }
    );
    println!();
    println!("| operation | key bits | Rust allocs | Rust bytes | C allocs | C bytes |");
    println!("|---|---:|---:|---:|---:|---:|");
    for op in PEERS.iter().chain(CABI) {
        op.select();
        for f in fixtures {
            let mut s = Scratch::new(f);
            let rust = allocs_per_call(RUNS, || (op.run)(f, &mut s));
            let c = if c_counted {
                c_allocs::per_call(RUNS, || (op.run)(f, &mut s))
            } else {
                (f64::NAN, f64::NAN)
            };
            println!(
                "| {} | {} | {} | {} | {} | {} |",
                op.name, f.bits, rust.0, rust.1, c.0, c.1
            );
        }
    }
    println!();
}

// ---------------------------------------------------------------------------------------

fn main() {
    if std::env::var_os(ALLOC_TABLE_ENV).is_some() {
        let c_counted = c_allocs::install();
        install_jwt_provider();
        let fixtures: Vec<Fixture> = common::selected_sizes().into_iter().map(load).collect();
        print_alloc_table(&fixtures, c_counted);
        return;
    }
    install_jwt_provider();
    let fixtures: Vec<Fixture> = common::selected_sizes().into_iter().map(load).collect();
    if let Some(n) = std::env::var_os(REPEAT_ENV) {
        let n: u32 = n.to_str().and_then(|n| n.parse().ok()).expect("a count");
        repeat(&fixtures, n);
        return;
    }
    fixtures.iter().for_each(sanity_check);
    alloc_table_via_child();

    // `--test` (CI) runs everything once: one round is enough to exercise the code.
    let smoke = std::env::args().any(|a| a == "--test");
    let rounds = match std::env::var(ROUNDS_ENV) {
        Ok(n) => n.parse().expect("XCONNAUTH_BENCH_ROUNDS: a count"),
        Err(_) if smoke => 1,
        Err(_) => DEFAULT_ROUNDS,
    };
    if rounds > 0 {
        let report = interleaved(&fixtures, rounds);
        if !smoke {
            let home = criterion_home();
            let path = home.join("peers-interleaved.json");
            let written = std::fs::create_dir_all(&home)
                .and_then(|()| std::fs::write(&path, report.to_string()));
            if let Err(e) = written {
                println!("(could not write {}: {e})", path.display());
            }
        }
    }

    if cpu_clock_selected() {
        println!("Clock: thread CPU time (XCONNAUTH_BENCH_CLOCK=cpu)\n");
        run_single(
            &mut config(Criterion::default().with_measurement(ThreadCpuTime)),
            &fixtures,
        );
    } else {
        run_single(&mut config(Criterion::default()), &fixtures);
    }
    let mut wall = config(Criterion::default());
    run_threads(&mut wall, &fixtures);
    wall.final_summary();
}

/// For instruction counts under callgrind: runs every operation `XCONNAUTH_BENCH_REPEAT`
/// times, nothing else (no self-check, no criterion), so an operation's inclusive cost
/// divided by that count is the cost of one call.
const REPEAT_ENV: &str = "XCONNAUTH_BENCH_REPEAT";

fn repeat(fixtures: &[Fixture], n: u32) {
    for f in fixtures {
        let mut s = Scratch::new(f);
        for op in PEERS.iter().chain(CABI) {
            op.select();
            for _ in 0..n {
                assert!((op.run)(f, &mut s), "{}", op.name);
            }
        }
    }
}

// ---------------------------------------------------------------------------------------
// Interleaved rounds

/// On a shared 2-vCPU machine the speed of this core changes by tens of percent
/// within seconds, with what the other vCPU runs. Criterion measures one operation
/// after the other, so such changes land on the ratios. Here every round times a short
/// batch (~2 ms) of every operation back to back, and each ratio is the median over
/// rounds of (operation ÷ reference) within one round: the two saw the same load.
const ROUNDS_ENV: &str = "XCONNAUTH_BENCH_ROUNDS";
const DEFAULT_ROUNDS: usize = 150;
const BATCH: Duration = Duration::from_millis(2);
/// The references of the ratios, each for the operations of its group.
const REFERENCES: [&str; 3] = ["jsonwebtoken-aws-lc", "raw-aws-lc", "core-verify-copy"];

fn median(v: &mut [f64]) -> f64 {
    v.sort_by(f64::total_cmp);
    v[v.len() / 2]
}

fn interleaved(fixtures: &[Fixture], rounds: usize) -> serde_json::Value {
    let ops: Vec<&Op> = PEERS.iter().chain(CABI).collect();
    let mut report = serde_json::Map::new();
    println!("Interleaved rounds ({rounds} rounds of one ~{BATCH:?} batch per operation; median µs per verification; ratio = median over rounds of operation ÷ reference in the same round):");
    println!();
    println!("| operation | key bits | median µs | ÷ jsonwebtoken-aws-lc | ÷ raw-aws-lc | ÷ core-verify-copy |");
    println!("|---|---:|---:|---:|---:|---:|");
    for f in fixtures {
        let mut s = Scratch::new(f);
        // Calls per batch, from one timed call (after a warm-up call).
        let batch: Vec<u32> = ops
            .iter()
            .map(|op| {
                op.select();
                black_box((op.run)(f, &mut s));
                let t = Instant::now();
                black_box((op.run)(f, &mut s));
                let one = t.elapsed().max(Duration::from_nanos(1));
                (BATCH.as_nanos() / one.as_nanos()).clamp(1, 10_000) as u32
            })
            .collect();
        // times[op][round], ns per call.
        let mut times = vec![Vec::with_capacity(rounds); ops.len()];
        for round in 0..rounds {
            // A different starting operation each round: no operation always follows
            // the same one.
            for i in (0..ops.len()).map(|i| (i + round) % ops.len()) {
                let op = ops[i];
                op.select();
                let t = Instant::now();
                for _ in 0..batch[i] {
                    black_box((op.run)(f, &mut s));
                }
                times[i].push(t.elapsed().as_nanos() as f64 / f64::from(batch[i]));
            }
        }
        let index = |name: &str| ops.iter().position(|op| op.name == name);
        let mut per_bits = serde_json::Map::new();
        for (i, op) in ops.iter().enumerate() {
            let mut entry = serde_json::Map::new();
            let med = median(&mut times[i].clone());
            entry.insert("median_ns".into(), med.into());
            let mut cells = Vec::new();
            for reference in REFERENCES {
                let same_group = PEERS.iter().any(|p| p.name == reference)
                    == PEERS.iter().any(|p| p.name == op.name);
                let ratio = index(reference).filter(|_| same_group).map(|r| {
                    let mut q: Vec<f64> =
                        times[i].iter().zip(&times[r]).map(|(a, b)| a / b).collect();
                    median(&mut q)
                });
                if let Some(q) = ratio {
                    entry.insert(format!("ratio_{reference}"), q.into());
                }
                cells.push(ratio.map_or("–".to_string(), |q| format!("{q:.3}")));
            }
            println!(
                "| {} | {} | {:.1} | {} |",
                op.name,
                f.bits,
                med / 1000.0,
                cells.join(" | ")
            );
            per_bits.insert(op.name.into(), entry.into());
        }
        report.insert(f.bits.to_string(), per_bits.into());
    }
    println!();
    report.into()
}

/// Where criterion writes (`CRITERION_HOME`, else `<target dir>/criterion`), so that
/// plot.py finds the interleaved results next to criterion's.
fn criterion_home() -> std::path::PathBuf {
    if let Some(home) = std::env::var_os("CRITERION_HOME") {
        return home.into();
    }
    let target = std::env::var_os("CARGO_TARGET_DIR")
        .map(std::path::PathBuf::from)
        .unwrap_or_else(|| concat!(env!("CARGO_MANIFEST_DIR"), "/../target").into());
    target.join("criterion")
}

fn run_single<M: Measurement>(c: &mut Criterion<M>, fixtures: &[Fixture]) {
    for f in fixtures {
        let mut s = Scratch::new(f);
        for (group, ops) in [("peers", PEERS), ("cabi", CABI)] {
            let mut g = c.benchmark_group(format!("{group}-{}", f.bits));
            for op in ops {
                op.select();
                g.bench_function(op.name, |b| b.iter(|| (op.run)(f, &mut s)));
            }
            g.finish();
        }
    }
}

/// The operations of the thread-scaling group: both xconnauth backends, the fastest
/// peer, and the C ABI (its handle loads the current keys through arc-swap: a guard in
/// the calling thread's own slot, no shared count; a shared write would only show with
/// several threads).
const THREADED: [&str; 4] = [
    "xconnauth-aws-lc",
    "xconnauth-rust",
    "jsonwebtoken-aws-lc",
    "xca_verify",
];
const THREAD_BITS: u32 = 2048;

fn run_threads(c: &mut Criterion<WallTime>, fixtures: &[Fixture]) {
    let Some(f) = fixtures.iter().find(|f| f.bits == THREAD_BITS) else {
        return;
    };
    let mut g = c.benchmark_group(format!("threads-{THREAD_BITS}"));
    g.throughput(Throughput::Elements(1));
    for op in PEERS
        .iter()
        .chain(CABI)
        .filter(|op| THREADED.contains(&op.name))
    {
        op.select();
        // 4 on a 2-core machine shows oversubscription costs nothing either.
        for threads in [1u64, 2, 4] {
            g.bench_function(format!("{}/{threads}", op.name), |b| {
                b.iter_custom(|iters| parallel(f, op, threads, iters))
            });
        }
    }
    g.finish();
}

/// Wall time for `iters` verifications split over `threads` threads sharing `f`,
/// from the moment all threads are ready until the last one finishes.
fn parallel(f: &Fixture, op: &Op, threads: u64, iters: u64) -> Duration {
    let per_thread = iters.div_ceil(threads);
    let ready = Barrier::new(threads as usize + 1);
    let elapsed = std::thread::scope(|scope| {
        let workers: Vec<_> = (0..threads)
            .map(|_| {
                scope.spawn(|| {
                    let mut s = Scratch::new(f);
                    ready.wait();
                    for _ in 0..per_thread {
                        black_box((op.run)(f, &mut s));
                    }
                })
            })
            .collect();
        ready.wait();
        let start = Instant::now();
        for w in workers {
            w.join().expect("worker");
        }
        start.elapsed()
    });
    // Rounding up may have run a few more than `iters`: scale back.
    elapsed.mul_f64(iters as f64 / (per_thread * threads) as f64)
}
