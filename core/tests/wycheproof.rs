//! The raw Wycheproof RSASSA-PKCS1-v1_5 / SHA-256 vectors against the RSA layer.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    clippy::panic
)]

use std::path::Path;

use serde_json::Value as Json;
use xconnauth::{Algorithm, Backend, RsaKey};

fn hex(s: &str) -> Vec<u8> {
    assert!(s.len().is_multiple_of(2), "odd hex");
    (0..s.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(&s[i..i + 2], 16).unwrap())
        .collect()
}

/// Runs the file once per compiled-in backend.
fn run(file: &str, expected_tests: usize) {
    for &backend in Backend::ALL {
        run_with(file, expected_tests, backend);
    }
}

fn run_with(file: &str, expected_tests: usize, backend: Backend) {
    let path = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../tests/vectors/wycheproof")
        .join(file);
    let doc: Json = serde_json::from_slice(
        &std::fs::read(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display())),
    )
    .unwrap();
    let mut seen = 0;
    let mut wrong = Vec::new();
    for group in doc["testGroups"].as_array().unwrap() {
        let key = &group["publicKey"];
        let n = hex(key["modulus"].as_str().unwrap());
        let e = hex(key["publicExponent"].as_str().unwrap());
        let key =
            RsaKey::from_components_with(&n, &e, None, Some(Algorithm::RS256), backend).unwrap();
        for t in group["tests"].as_array().unwrap() {
            seen += 1;
            let ok = xconnauth::dangerous::verify_signature(
                &key,
                Algorithm::RS256,
                &hex(t["msg"].as_str().unwrap()),
                &hex(t["sig"].as_str().unwrap()),
            );
            // "acceptable" is MissingNull: RS256 requires the DER NULL, so reject it.
            let want = t["result"] == "valid";
            if ok != want {
                wrong.push(format!(
                    "tcId {} ({}): verified={ok}",
                    t["tcId"], t["comment"]
                ));
            }
        }
    }
    assert_eq!(seen, expected_tests, "{file} [{backend}]: test count");
    assert!(
        wrong.is_empty(),
        "{file} [{backend}]:\n{}",
        wrong.join("\n")
    );
}

#[test]
fn rsa_2048_sha256() {
    run("rsa_signature_2048_sha256_test.json", 259);
}

#[test]
fn rsa_3072_sha256() {
    run("rsa_signature_3072_sha256_test.json", 259);
}

#[test]
fn rsa_4096_sha256() {
    run("rsa_signature_4096_sha256_test.json", 258);
}
