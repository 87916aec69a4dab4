//! Arbitrary bytes as an OIDC discovery document (up to 1 MiB, issue 17).
//! Invariants: nothing panics; a parsed document's `issuer` and `jwks_uri` are the
//! document's string members (after unescaping), it matches its own issuer and no
//! other; a document the strict JSON reader refuses is refused.
#![no_main]
use libfuzzer_sys::fuzz_target;
use xconnauth::{parse_object, Discovery, Value, MAX_JWKS_BYTES};

fuzz_target!(|data: &[u8]| {
    let parsed = Discovery::parse(data);
    let member = |doc: &xconnauth::Object<'_>, name: &str| match doc.get(name) {
        Some(Value::String(s)) => Some(s.to_string()),
        _ => None,
    };
    match (parse_object(data), parsed) {
        (Some(doc), Ok(d)) => {
            assert!(data.len() <= MAX_JWKS_BYTES);
            assert_eq!(Some(&d.issuer), member(&doc, "issuer").as_ref());
            assert_eq!(Some(&d.jwks_uri), member(&doc, "jwks_uri").as_ref());
            assert!(d.check_issuer(&d.issuer).is_ok());
            assert!(d.check_issuer(&format!("{}/", d.issuer)).is_err());
        }
        (Some(doc), Err(_)) => assert!(
            data.len() > MAX_JWKS_BYTES
                || member(&doc, "issuer").is_none()
                || member(&doc, "jwks_uri").is_none(),
            "a strict document with both members was refused"
        ),
        (None, Ok(_)) => panic!("a document the JSON reader refuses was accepted"),
        (None, Err(_)) => {}
    }
});
