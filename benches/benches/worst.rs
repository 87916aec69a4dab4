//! Issue 17: the worst JSON each size limit admits beside a typical input of the same
//! size. A 16 KB token whose payload is nothing but distinct member names (up to the
//! 1,024-per-object cap) against a 16 KB Keycloak-like token (long role and group
//! lists), both signed with the 2048-bit bench key and verified end to end; and a
//! 1 MiB discovery document of distinct names against one of long strings.
//! Duplicate-name checking used to be quadratic: the worst token took 73 ms.
//!
//! `cargo bench -p xconnauth-benches --bench worst -- --test` runs each once (CI smoke).

use std::hint::black_box;

use aws_lc_rs::rand::SystemRandom;
use aws_lc_rs::signature::{RsaKeyPair, RSA_PKCS1_SHA256};
use base64ct::{Base64, Encoding};
use criterion::Criterion;
use xconnauth::{Backend, Discovery, KeySet, Policy, Verifier, MAX_OBJECT_NAMES};
use xconnauth_testkit::b64url;
use xconnauth_testkit::hostile::{discovery_with, keycloak_like, many_names};

// Only the allocator, `config` and `read_data` are needed here.
#[allow(dead_code)]
mod common;
use common::{config, read_data};

#[global_allocator]
static GLOBAL: common::Counting = common::Counting;

const ISSUER: &str = "https://sso.example.com/realms/demo";
const NOW: u64 = 1_764_000_000;
const CLAIMS: &str =
    r#""exp":4102444800,"iss":"https://sso.example.com/realms/demo","typ":"Bearer""#;

fn sign(key: &RsaKeyPair, payload: &str) -> Vec<u8> {
    let header = br#"{"alg":"RS256","typ":"JWT","kid":"bench-2048"}"#;
    let input = format!("{}.{}", b64url(header), b64url(payload.as_bytes()));
    let mut sig = vec![0u8; key.public_modulus_len()];
    key.sign(
        &RSA_PKCS1_SHA256,
        &SystemRandom::new(),
        input.as_bytes(),
        &mut sig,
    )
    .expect("signs");
    format!("{input}.{}", b64url(&sig)).into_bytes()
}

fn main() {
    let pem = String::from_utf8(read_data("bench-rsa2048.pem")).expect("PEM text");
    let body: String = pem.lines().filter(|l| !l.starts_with("-----")).collect();
    let der = Base64::decode_vec(&body).expect("PEM base64");
    let key = RsaKeyPair::from_pkcs8(&der).expect("PKCS#8 RSA key");
    let keys = KeySet::from_jwks_with(&read_data("jwks-2048.json"), Backend::RustCrypto)
        .expect("JWKS parses");
    let verifier = Verifier::new(keys, Policy::new([ISSUER])).expect("verifier builds");

    // The largest payload a 16 KB token carries (2048-bit signature, short header).
    // A few names short of the cap: the sibling objects' names count in the root too.
    let worst = sign(&key, &many_names(CLAIMS, 11_800, MAX_OBJECT_NAMES - 8));
    let usual = sign(&key, &keycloak_like(CLAIMS, 11_800));
    for t in [&worst, &usual] {
        assert!(t.len() <= 16384, "{} bytes", t.len());
        verifier.verify(t, NOW).expect("the bench tokens verify");
    }

    let doc = |body: &str| discovery_with(ISSUER, body);
    let mib = xconnauth::MAX_JWKS_BYTES - 200;
    let worst_doc = doc(&many_names(r#""x":0"#, mib, usize::MAX));
    let usual_doc = doc(&keycloak_like(r#""x":0"#, mib));
    for d in [&worst_doc, &usual_doc] {
        Discovery::parse(d).expect("the bench documents parse");
    }

    let mut c = config(Criterion::default());
    let mut g = c.benchmark_group("worst-16kb-token");
    let mut buf = vec![0u8; 16384];
    for (name, t) in [("typical", &usual), ("worst", &worst)] {
        g.bench_function(name, |b| {
            b.iter(|| verifier.verify_into(black_box(t), NOW, &mut buf).is_ok())
        });
    }
    g.finish();
    let mut g = c.benchmark_group("worst-1mib-discovery");
    for (name, d) in [("typical", &usual_doc), ("worst", &worst_doc)] {
        g.bench_function(name, |b| b.iter(|| Discovery::parse(black_box(d)).is_ok()));
    }
    g.finish();
    c.final_summary();
}
