//! The shared dev corpus (`tests/vectors/dev`), every case with its exact category
//! and, for valid tokens, the exact decoded claims.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    clippy::panic
)]

use std::path::{Path, PathBuf};

use serde_json::Value as Json;
use xconnauth::{Backend, KeySet, Policy, Verifier};

fn vectors_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../tests/vectors/dev")
}

struct Outcome {
    name: String,
    expected: String,
    got: String,
}

fn run_file(file: &str, backend: Backend) -> (usize, Vec<Outcome>) {
    let dir = vectors_dir();
    let path = dir.join(file);
    let text = std::fs::read_to_string(&path)
        .unwrap_or_else(|e| panic!("corpus file {} is required: {e}", path.display()));
    let mut failures = Vec::new();
    let mut count = 0;
    for line in text.lines().filter(|l| !l.trim().is_empty()) {
        count += 1;
        let case: Json = serde_json::from_str(line).unwrap();
        let name = case["name"].as_str().unwrap().to_string();
        let jwks = match case.get("jwks_ref").and_then(Json::as_str) {
            Some(r) => std::fs::read(dir.join(r)).unwrap(),
            None => serde_json::to_vec(&case["jwks"]).unwrap(),
        };
        let options = serde_json::to_vec(&case["options"]).unwrap();
        let policy = Policy::from_json(&options).unwrap_or_else(|e| panic!("{name}: policy: {e}"));
        let keys =
            KeySet::from_jwks_with(&jwks, backend).unwrap_or_else(|e| panic!("{name}: jwks: {e}"));
        let verifier = Verifier::new(keys, policy).unwrap_or_else(|e| panic!("{name}: {e}"));
        let token = case["token"].as_str().unwrap();
        let now = case["now"].as_u64().unwrap();
        let expected = match &case["expect"] {
            Json::String(s) if s == "ok" => "ok".to_string(),
            other => other["error"].as_str().unwrap().to_string(),
        };
        let got = match verifier.verify(token.as_bytes(), now) {
            Ok(v) => {
                let claims: Json = serde_json::from_str(v.payload_json()).unwrap();
                if claims == case["claims"] {
                    "ok".to_string()
                } else {
                    format!("ok but claims differ: {claims}")
                }
            }
            Err(e) => {
                // Messages must never echo the token.
                assert!(token.len() < 16 || !e.to_string().contains(token), "{name}");
                e.code().to_string()
            }
        };
        if got != expected {
            failures.push(Outcome {
                name: format!("{name} [{backend}]"),
                expected,
                got,
            });
        }
    }
    (count, failures)
}

/// Every compiled-in backend must give every case the same, expected verdict.
fn assert_all(file: &str, min_cases: usize) {
    let mut count = 0;
    let mut failures = Vec::new();
    for &backend in Backend::ALL {
        let (n, mut f) = run_file(file, backend);
        count = n;
        failures.append(&mut f);
    }
    assert!(count >= min_cases, "{file}: only {count} cases");
    let report: Vec<String> = failures
        .iter()
        .map(|f| format!("  {}: expected {}, got {}", f.name, f.expected, f.got))
        .collect();
    assert!(
        failures.is_empty(),
        "{file}: {} of {count} cases fail:\n{}",
        failures.len(),
        report.join("\n")
    );
}

#[test]
fn dev_cases() {
    assert_all("cases.jsonl", 158);
}

#[test]
fn wycheproof_jwt_cases() {
    assert_all("wycheproof_jwt.jsonl", 245);
}

/// A header is parsed before the signature is checked: its cost must stay bounded.
#[test]
fn header_with_too_many_names_is_too_large() {
    use std::fmt::Write;
    let jwks =
        std::fs::read(Path::new(env!("CARGO_MANIFEST_DIR")).join("../examples/keycloak/jwks.json"))
            .unwrap();
    let verifier = Verifier::new(KeySet::from_jwks(&jwks).unwrap(), Policy::new(["x"])).unwrap();
    let mut header = String::from("{\"alg\":\"RS256\"");
    for i in 0..xconnauth::MAX_HEADER_NAMES {
        write!(header, ",\"\\u0041{i}\":0").unwrap();
    }
    header.push('}');
    let b64 = |s: &str| {
        let alphabet = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
        let mut out = String::new();
        for chunk in s.as_bytes().chunks(3) {
            let n = chunk
                .iter()
                .enumerate()
                .fold(0u32, |acc, (i, &b)| acc | (u32::from(b) << (16 - 8 * i)));
            for i in 0..=chunk.len() {
                out.push(alphabet[((n >> (18 - 6 * i)) & 63) as usize] as char);
            }
        }
        out
    };
    let token = format!("{}.{}.AAAA", b64(&header), b64("{}"));
    let err = verifier.verify(token.as_bytes(), 0).unwrap_err();
    assert_eq!(err.code(), "too_large", "{err}");
}
