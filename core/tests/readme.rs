//! The README's Rust snippet ("Using the core from Rust") is the body of `snippet` below,
//! line for line, and it runs: a reader who copies it gets code that compiles.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing)]

use std::path::Path;

#[rustfmt::skip]
fn snippet(
    jwks_bytes: Vec<u8>,
    authorization_value: &str,
    respond: &mut dyn FnMut(u16, String),
) -> Result<(), Box<dyn std::error::Error>> {
    // README-START
    use xconnauth::{KeySet, Policy, Verifier};

    let keys = KeySet::from_jwks(&jwks_bytes)?;                 // parsed once, keys precomputed
    let mut policy = Policy::new(["https://sso.example.com/realms/demo"]);
    policy.audiences = Some(vec!["product-factory".into()]);
    policy.required_scopes = vec!["spark".into()];
    let verifier = Verifier::new(keys, policy)?;                // immutable, Send + Sync

    // A clock before 1970 must not become "time 0", when nothing expires: fail closed.
    let now = xconnauth::now().ok_or("the system clock reads before 1970")?;
    match verifier.verify_header(authorization_value, now) {
        Ok(token) => println!("hello {}", token.claims().sub().unwrap()),
        Err(e) => {
            // e.code() is one of the categories of docs/contract.md; build the HTTP answer from it
            let problem = xconnauth::http::ProblemDetails::new(&e).to_json();
            respond(e.http_status(), problem);
        }
    }
    // README-END
    Ok(())
}

#[test]
fn the_readme_snippet_is_this_code() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("..");
    let readme = std::fs::read_to_string(root.join("README.md")).unwrap();
    let section = readme
        .split("## Using the core from Rust")
        .nth(1)
        .expect("the README has its Rust section");
    let block = section
        .split("```rust\n")
        .nth(1)
        .and_then(|b| b.split("\n```").next())
        .expect("a rust block");
    let me = std::fs::read_to_string(Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/readme.rs"))
        .unwrap();
    let body = me
        .split("// README-START\n")
        .nth(1)
        .and_then(|b| b.split("    // README-END").next())
        .unwrap();
    let dedented: Vec<&str> = body
        .lines()
        .map(|l| l.strip_prefix("    ").unwrap_or(l))
        .collect();
    assert_eq!(
        block,
        dedented.join("\n"),
        "README.md and core/tests/readme.rs differ"
    );
}

#[test]
fn the_readme_snippet_runs() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("../examples/keycloak");
    let jwks = std::fs::read(root.join("jwks.json")).unwrap();
    let token = std::fs::read_to_string(root.join("token.jwt")).unwrap();
    // The sample token expired long before the system clock's now: a 401 answer.
    let mut answers = Vec::new();
    snippet(
        jwks.clone(),
        &format!("Bearer {}", token.trim()),
        &mut |status, body| {
            answers.push((status, body));
        },
    )
    .unwrap();
    assert_eq!(answers.len(), 1);
    assert_eq!(answers[0].0, 401);
    assert!(answers[0].1.contains("\"status\":401"), "{}", answers[0].1);
    // A value without the Bearer scheme: malformed, also a 401.
    answers.clear();
    snippet(jwks, "Basic dXNlcjpwdw==", &mut |status, body| {
        answers.push((status, body));
    })
    .unwrap();
    assert_eq!(answers[0].0, 401);
}
